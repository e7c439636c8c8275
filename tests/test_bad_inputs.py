"""A repository full of broken files is scanned without a crash, and nothing broken passes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from prr.engine.scan import ScanOptions, run_scan
from prr.model.evidence import Status

BOMB = "\n".join(
    ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    + [
        f"{n}: &{n} [" + ",".join([f"*{p}"] * 10) + "]"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)


@pytest.fixture
def broken_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "k8s").mkdir(parents=True)
    (root / "infra").mkdir()
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / "monitoring").mkdir()
    (root / "prr.yaml").write_text("service: broken\n")
    (root / "k8s" / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: [oops\n"
    )
    (root / "k8s" / "bomb.yaml").write_text(BOMB)
    (root / "k8s" / "latin1.yaml").write_bytes(
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n"
    )
    (root / "k8s" / "binary.yaml").write_bytes(b"\x00\x01\x02\x03" * 64)
    (root / "k8s" / "huge.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\n" + "# pad\n" * 600_000
    )
    (root / "infra" / "main.tf").write_text(
        'resource "aws_db_instance" "db" {\n  engine = "postgres"\n  multi_az = \n'
    )
    (root / "infra" / "broken.tf.json").write_text('{"resource": {"aws_s3_bucket": ')
    (root / ".github" / "workflows" / "ci.yml").write_text("on: [push\njobs:\n")
    (root / "monitoring" / "alerts.yml").write_text(
        "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: up == 0\n      - alert\n"
    )
    (root / "monitoring" / "dashboard.json").write_text('{"panels": [}')
    (root / "docs").mkdir()
    (root / "docs" / "runbook.md").write_bytes(b"# Runbook\n\xff\xfe broken bytes\n")
    os.symlink(root / "k8s", root / "k8s" / "loop")
    os.symlink(root / "x", root / "y")
    os.symlink(root / "y", root / "x")
    return root


def test_scan_survives_every_bad_input(broken_repo: Path) -> None:
    assessment = run_scan(ScanOptions(root=broken_repo))
    crashed = [str(e) for e in assessment.errors if "crashed" in e.reason]
    assert not crashed, crashed
    sources = {e.source for e in assessment.errors}
    for expected in (
        "k8s/deploy.yaml",
        "k8s/bomb.yaml",
        "k8s/huge.yaml",
        "infra/main.tf",
        "infra/broken.tf.json",
        ".github/workflows/ci.yml",
        "x",
        "y",
    ):
        assert expected in sources, f"{expected} not reported; errors: {sorted(sources)}"
    reasons = " ".join(e.reason for e in assessment.errors).lower()
    assert "symlink loop" in reasons


def test_items_with_unreadable_evidence_never_pass(broken_repo: Path) -> None:
    assessment = run_scan(ScanOptions(root=broken_repo))
    by_id = {i.id: i for i in assessment.items}
    for item_id in (
        "infrastructure.compute.health-checks-configured",
        "infrastructure.compute.resource-limits-set",
        "infrastructure.database.production-database-provisioned",
        "deployment.ci-cd.automated-tests-in-pipeline",
    ):
        assert by_id[item_id].status is not Status.PASS, item_id


def test_errors_are_in_every_output_format(broken_repo: Path, cli) -> None:
    for fmt in ("json", "sarif", "junit", "markdown", "table"):
        run = cli("scan", str(broken_repo), "--format", fmt, "--fail-on", "never")
        assert run.exit_code == 0, (fmt, run.stderr)
        assert "k8s/deploy.yaml" in run.stdout, fmt
    data = json.loads(cli("scan", str(broken_repo), "-f", "json", "--fail-on", "never").stdout)
    assert any(e["source"] == "infra/main.tf" for e in data["errors"])
