"""``prr scan`` and ``prr init`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "prr.yaml").write_text("service: demo\nowner: team-demo\ntraits: [http_api]\n")
    (tmp_path / "README.md").write_text("# demo\n")
    return tmp_path


def test_scan_formats_and_output_file(cli, repo: Path, tmp_path: Path) -> None:
    run = cli("scan", str(repo), "--format", "json", "--fail-on", "never")
    assert run.exit_code == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["target"]["service"] == "demo" and data["summary"]["items"] == 158
    out = tmp_path / "scan.sarif"
    run = cli("scan", str(repo), "-f", "sarif", "-o", str(out), "--fail-on", "never")
    assert run.exit_code == 0 and json.loads(out.read_text())["version"] == "2.1.0"
    run = cli("scan", str(repo), "-f", "junit", "--fail-on", "never")
    assert ET.fromstring(run.stdout).tag == "testsuites"
    run = cli("scan", str(repo), "-f", "markdown", "--fail-on", "never")
    assert run.stdout.startswith("## Production readiness: demo")
    run = cli("scan", str(repo), "--fail-on", "never", "--all")
    assert "Executive summary" in run.stdout and "Overall status" in run.stdout


def test_fail_on_thresholds(cli, repo: Path) -> None:
    # with nothing to verify, critical items are unknown: issues but no blockers
    assert cli("scan", str(repo), "--fail-on", "blocker").exit_code == 0
    assert cli("scan", str(repo), "--fail-on", "issue").exit_code == 1
    assert cli("scan", str(repo), "--fail-on", "never").exit_code == 0


def test_configuration_errors_exit_2(cli, tmp_path: Path) -> None:
    (tmp_path / "prr.yaml").write_text("service: s\nstage: alpha\n")
    run = cli("scan", str(tmp_path))
    assert run.exit_code == 2 and "prr.yaml:2" in run.stderr
    assert cli("scan", str(tmp_path / "missing")).exit_code == 2
    (tmp_path / "prr.yaml").write_text("service: s\nchecklist: nosuch\n")
    run = cli("scan", str(tmp_path))
    assert run.exit_code == 2 and "unknown checklist 'nosuch'" in run.stderr
    (tmp_path / "prr.yaml").write_text("service: s\n")
    assert cli("scan", str(tmp_path), "--stage", "alpha").exit_code == 2


def test_stage_option_changes_the_verdict_inputs(cli, repo: Path) -> None:
    ga = json.loads(cli("scan", str(repo), "-f", "json", "--fail-on", "never").stdout)
    exp = json.loads(
        cli("scan", str(repo), "-f", "json", "--fail-on", "never", "--stage", "experiment").stdout
    )
    assert exp["stage"] == "experiment"
    assert exp["summary"]["issues"] < ga["summary"]["issues"]


def test_init_writes_a_target_file_from_what_it_detects(cli, tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "fastapi==0.110.0\npsycopg[binary]==3.1.18\nredis==5.0.1\n"
    )
    (tmp_path / "CODEOWNERS").write_text("# owners\n* @acme/checkout\n")
    (tmp_path / "deploy" / "overlays" / "staging").mkdir(parents=True)
    run = cli("init", str(tmp_path), "--no-interactive")
    assert run.exit_code == 0, run.stderr
    text = (tmp_path / "prr.yaml").read_text()
    assert "owner: '@acme/checkout'" in text
    assert "#   database: found in requirements.txt" in text
    from prr.model.target import load_target

    target = load_target(tmp_path)
    assert {t.value for t in target.traits or ()} == {"database", "cache", "http_api"}
    assert "staging" in target.environments and "production" in target.environments
    assert cli("init", str(tmp_path), "--no-interactive").exit_code == 2, (
        "never overwrites silently"
    )
    assert cli("init", str(tmp_path), "--no-interactive", "--force").exit_code == 0


def test_init_asks_when_interactive(cli, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from prr.cli import app

    answers = "svc\nteam-x\n1\nalpha\nbeta\ndatabase,bogus\n"
    result = CliRunner().invoke(app, ["init", str(tmp_path), "--interactive"], input=answers)
    assert result.exit_code == 0, result.output
    assert "choose one of" in result.output and "ignoring unknown traits: bogus" in result.output
    from prr.model.target import load_target

    target = load_target(tmp_path)
    assert (target.service, target.owner, target.tier, target.stage.value) == (
        "svc",
        "team-x",
        1,
        "beta",
    )
    assert [t.value for t in target.traits or ()] == ["database"]
