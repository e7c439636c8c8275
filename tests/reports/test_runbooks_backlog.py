"""Runbooks filled from the example service's facts, and the backlog for GitHub and GitLab."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prr.cli.report import ReportFormat, ReportType, app, render
from prr.model.evidence import Status
from prr.reports.backlog import backlog_csv, backlog_items
from prr.reports.model import WEEKS, to_markdown
from prr.reports.runbooks import runbooks, write_markdown
from tests.reports.test_assessment import (
    CLI_ARGS,
    GOLDEN,
    SHOP,
    check_golden,
    key,
    shop_assessment,
    shop_model,
    with_items,
)

RUNBOOK_FILES = [
    "README.md",
    "database-restoration.md",
    "incident-response.md",
    "on-call-handover.md",
    "rollback.md",
]


def test_runbooks_golden(tmp_path: Path) -> None:
    written = write_markdown(shop_model(), tmp_path / "runbooks")
    assert sorted(p.name for p in written) == RUNBOOK_FILES
    for path in written:
        check_golden(f"shop-api/runbooks/{path.name}", path.read_text(encoding="utf-8"))
    rendered = render(shop_model(), ReportType.RUNBOOKS, ReportFormat.JSON)
    assert isinstance(rendered, str)
    check_golden("shop-api/runbooks.json", rendered)
    data = json.loads(rendered)
    assert "items" not in data
    assert [r["file"] for r in data["runbooks"]] == [
        "database-restoration.md",
        "rollback.md",
        "incident-response.md",
        "on-call-handover.md",
    ]


def test_runbooks_are_filled_with_the_facts_found() -> None:
    books = {b.filename: to_markdown(b.document) for b in runbooks(shop_model())}
    restore = books["database-restoration.md"]
    assert "| RDS database (postgres) `aws_db_instance.shop` | `infra/terraform/main.tf:176` |" in (
        restore
    )
    assert "--source-db-instance-identifier shop-api-production" in restore
    assert "- Recovery time objective (RTO): 4h" in restore
    for check in ("Row counts match", "Recent data present", "Application can connect"):
        assert f"- [ ] {check}" in restore
    assert "Run `prr drill backup-restore`" in restore
    rollback = books["rollback.md"]
    assert "kubectl rollout undo deployment/shop-api -n shop\n" in rollback
    assert "kubectl rollout status deployment/shop-api -n shop --timeout=10m" in rollback
    assert "kubectl rollout undo deployment/shop-api -n shop-staging" in rollback
    assert rollback.index("-n shop\n") < rollback.index("-n shop-staging")  # production first
    assert "- `kubectl -n shop rollout undo deployment/shop-api`" in rollback
    incident = books["incident-response.md"]
    assert "| ShopApiHighErrorRate | critical |" in incident
    assert "[high-error-rate.md](<https://github.com/example-shop/" in incident
    handover = books["on-call-handover.md"]
    assert "| BLOCK-001 | All endpoints protected | team-checkout | — |" in handover
    assert "Target launch 2027-01-03 (Sunday, 41 day(s) from 2026-11-23)" in handover


def test_runbooks_without_facts_say_what_is_missing() -> None:
    scanned = with_items(
        shop_assessment(),
        **{
            key("reliability.backup-recovery.backup-restoration-tested"): {
                "status": Status.PASS,
                "fields": {"last_restore_test": "2026-11-02", "restore_duration": "47m"},
            }
        },
    )
    books = {
        b.filename: to_markdown(b.document) for b in runbooks(shop_model(scanned, facts=False))
    }
    assert "kubectl rollout undo deployment/shop-api -n <namespace>" in books["rollback.md"]
    restore = books["database-restoration.md"]
    assert "**Last restore test:** 2026-11-02, took 47m (RTO 4h)." in restore
    assert "--source-db-instance-identifier <identifier of aws_db_instance.shop>" in restore


def test_cli_writes_the_runbook_folder(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "runbooks"
    result = CliRunner().invoke(
        app, ["--path", str(SHOP), "--type", "runbooks", "-o", str(out), *CLI_ARGS]
    )
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == RUNBOOK_FILES
    for name in RUNBOOK_FILES:
        golden = (GOLDEN / "shop-api" / "runbooks" / name).read_text(encoding="utf-8")
        assert (out / name).read_text(encoding="utf-8") == golden, name


def test_runbooks_never_overwrite_files_prr_did_not_write(tmp_path: Path) -> None:
    model = shop_model()
    write_markdown(model, tmp_path)
    write_markdown(model, tmp_path)  # regenerating its own files is fine
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "rollback.md").write_text("# Our hand-written rollback notes\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["--path", str(SHOP), "--type", "runbooks", "-o", str(theirs), *CLI_ARGS]
    )
    assert result.exit_code == 2 and "was not written by prr" in result.stderr
    assert [p.name for p in theirs.iterdir()] == ["rollback.md"]
    assert "hand-written" in (theirs / "rollback.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", [ReportFormat.MD, ReportFormat.JSON, ReportFormat.CSV])
def test_backlog_golden(fmt: ReportFormat) -> None:
    rendered = render(shop_model(), ReportType.BACKLOG, fmt)
    assert isinstance(rendered, str)
    check_golden(f"shop-api/backlog.{fmt.value}", rendered)


def test_backlog_items_for_github() -> None:
    model = shop_model()
    works = backlog_items(model)
    assert len(works) == len(model.blockers) + len(model.issues)
    first = works[0]
    assert first.title == "[shop-api] BLOCK-001: All endpoints protected"
    assert first.labels == ("prr", "blocker", "severity:critical", "category:security")
    assert first.milestone in WEEKS and first.assignees == ()
    assert "### Current state" in first.body and "### Acceptance criteria" in first.body
    assert "`docs/api/openapi.yaml:157`" in first.body
    data = json.loads(str(render(model, ReportType.BACKLOG, ReportFormat.JSON)))
    issue = data["backlog"][0]
    # Exactly what `gh issue create` takes, plus the gap's identity.
    assert {"title", "body", "labels", "milestone", "assignees"} <= set(issue)
    assert data["milestones"] == list(WEEKS) and "items" not in data
    medium = next(w for w in works if w.severity == "medium")
    assert medium.milestone == WEEKS[2] and medium.kind == "issue"


def test_backlog_owner_handles_become_assignees() -> None:
    scanned = shop_assessment()
    model = shop_model(scanned)
    model.blockers[0].owner = "@backend-team"
    model.issues[0].owner = "team checkout"
    works = backlog_items(model)
    assert works[0].assignees == ("backend-team",) and works[len(model.blockers)].assignees == ()


def test_gitlab_csv_import_format() -> None:
    model = shop_model()
    rows = list(csv.reader(io.StringIO(backlog_csv(model))))
    assert rows[0] == ["title", "description", "due_date", "milestone"]
    assert len(rows) == 1 + len(model.gaps)
    title, description, due, milestone = rows[1]
    assert title.startswith("[shop-api] BLOCK-001")
    assert description.rstrip().endswith(
        '/label ~"prr" ~"blocker" ~"severity::critical" ~"category::security"'
    )
    assert due == "" and milestone in WEEKS


def test_csv_cells_cannot_start_formulas() -> None:
    model = shop_model()
    model.blockers[0].item.title = '=HYPERLINK("http://x")'
    model.blockers[0].item.message = "+cmd|' /C calc'!A0"
    for text in (backlog_csv(model), str(render(model, ReportType.PRD, ReportFormat.CSV))):
        for row in csv.reader(io.StringIO(text)):
            assert not any(cell[:1] in ("=", "+", "@") for cell in row), row
