"""Organisation checklists: extends, overrides, disable, additions, and clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prr.errors import ChecklistError
from prr.model.checklist import Severity, Stage
from prr.model.loader import load_checklist

ORG = Path(__file__).parent / "data" / "org"
BAD = sorted((ORG / "bad").glob("*.yaml"))


def test_extending_file_overrides_disables_and_adds() -> None:
    acme = load_checklist(ORG / "good" / "acme.yaml")
    base = load_checklist("service")
    assert acme.ref == "acme-service@2026.11"
    assert acme.lineage == ("service@1.0.0",)
    rate = acme.item("security.authorization.api-rate-limiting-enabled").item
    assert rate.severity_at(Stage.BETA) is Severity.CRITICAL
    assert rate.remediation == ("Put the service behind the shared ACME rate-limit middleware.",)
    assert (
        rate.expected == base.item("security.authorization.api-rate-limiting-enabled").item.expected
    )
    assert acme.item("infrastructure.networking.cdn-configured").item.severity is Severity.LOW
    assert "launch.pre-launch.marketing-aligned" not in acme
    assert not any(r.section.id == "compliance" for r in acme)
    disabled = {d.id: d for d in acme.disabled}
    assert disabled["security.compliance"].reason.startswith("Compliance is reviewed")
    assert disabled["security.compliance"].title == "Compliance"
    assert "images-signed" in acme.item("security.supply-chain.images-signed").id
    assert "security.authorization.audit-of-admin-actions" in acme
    finops = acme.item("finops.tagging.cost-center-tagged")
    assert finops.phase == 4 and finops.item.fields[0].id == "cost_center"
    assert len(acme) == 158 - 1 - 5 + 3
    assert acme.blocker("acme.unsigned-images") is not None


def test_extends_chains_through_files() -> None:
    team = load_checklist(ORG / "good" / "team.yaml")
    assert team.lineage == ("service@1.0.0", "acme-service@2026.11")
    assert team.item("finops.tagging.cost-center-tagged").item.severity is Severity.MEDIUM
    assert not any(r.category.id == "infrastructure" and r.section.id == "caching" for r in team)
    assert {d.id for d in team.disabled} >= {"security.compliance", "infrastructure.caching"}


def test_validate_command_accepts_good_files(cli) -> None:
    run = cli(
        "checklist", "validate", str(ORG / "good" / "acme.yaml"), str(ORG / "good" / "team.yaml")
    )
    assert run.exit_code == 0, run.stderr
    assert "ok:" in run.stdout and "extends service@1.0.0" in run.stdout


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_malformed_file_gives_one_clear_located_error(path: Path, cli) -> None:
    header = path.read_text(encoding="utf-8").splitlines()[0]
    match = re.match(r"# expect: (\d+): (.+)$", header)
    assert match, f"{path.name} needs an '# expect: LINE: text' header"
    line, fragment = int(match.group(1)), match.group(2)
    with pytest.raises(ChecklistError) as info:
        load_checklist(path)
    first = info.value.problems[0]
    assert first.line == line, str(info.value)
    assert fragment in str(info.value), str(info.value)
    run = cli("checklist", "validate", str(path))
    assert run.exit_code == 2
    assert "Traceback" not in run.stderr
    assert f"{path}:{line}:" in run.stderr


def test_corpus_has_at_least_ten_cases() -> None:
    assert len(BAD) >= 10


def test_invalid_utf8_and_binary_files(tmp_path: Path, cli) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_bytes(b"schema: prr/checklist/v1\nname: \xff\xfe\n")
    run = cli("checklist", "validate", str(broken))
    assert run.exit_code == 2
    assert f"{broken}:2: invalid UTF-8" in run.stderr
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    run = cli("checklist", "validate", str(binary))
    assert run.exit_code == 2 and "binary file" in run.stderr


def test_missing_file_and_directory(tmp_path: Path, cli) -> None:
    run = cli("checklist", "validate", str(tmp_path / "absent.yaml"))
    assert run.exit_code == 2 and "file not found" in run.stderr
    folder = tmp_path / "dir.yaml"
    folder.mkdir()
    assert "is a directory" in cli("checklist", "validate", str(folder)).stderr


def test_all_problems_of_a_file_are_reported(write) -> None:
    path = write(
        "many.yaml",
        """
        schema: prr/checklist/v1
        name: x
        version: "1"
        extends: service
        overrides:
          infrastructure.networking.cdn-configured: {severity: urgent}
          no.such.item: {severity: low}
        disable:
          - id: launch.pre-launch.marketing-aligned
        """,
    )
    with pytest.raises(ChecklistError) as info:
        load_checklist(path)
    lines = [p.line for p in info.value.problems]
    assert lines == [6, 7, 9]


def test_search_path_finds_org_checklists_by_name(monkeypatch, cli) -> None:
    monkeypatch.setenv("PRR_CHECKLIST_PATH", str(ORG / "good"))
    assert load_checklist("acme").name == "acme-service"
    run = cli("checklist", "list", "--format", "json")
    names = [row["name"] for row in __import__("json").loads(run.stdout)]
    assert names[:2] == ["service", "platform"] and "acme-service" in names
