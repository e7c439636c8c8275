"""The Readiness Assessment of the bundled example service, golden, plus the shared fixtures.

Goldens live in tests/reports/golden/; regenerate them with ``PRR_UPDATE_GOLDEN=1``
after a deliberate change and review the diff. Dates are frozen (``TODAY``), the
commit and the tool version are blanked, so the files only change when the
reports or the evidence do.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from prr.cli.report import ReportFormat, ReportType, app, render
from prr.collectors.base import Facts, load_builtin_collectors
from prr.engine.scan import Assessment, ScanOptions, collect_facts, run_scan
from prr.model.evidence import Source, Status
from prr.reports.assessment import assessment_document, report_dict
from prr.reports.model import ReportModel, from_assessment, to_markdown

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "examples" / "shop-api"
GOLDEN = Path(__file__).parent / "golden"
TODAY = dt.date(2026, 11, 23)
LAUNCH = "2027-01-03"
ASSESSOR = "alice@example.com"
VERSION = "1.4.0"
CONTEXT = {"launch_date": LAUNCH}
CLI_ARGS = ["--as", ASSESSOR, "--date", TODAY.isoformat(), "--version", VERSION]
CLI_ARGS += ["--launch-date", LAUNCH]


# -- shared by every report test module (plain functions: computed once per process) --------


@functools.cache
def shop_assessment(root: Path = SHOP) -> Assessment:
    """A scan of the example service, with the commit blanked (it changes with every commit)."""
    scanned = run_scan(ScanOptions(root=root, today=TODAY))
    return dataclasses.replace(scanned, commit=None)


@functools.cache
def shop_facts(root: Path = SHOP) -> Facts:
    collectors = sorted(load_builtin_collectors().values(), key=lambda c: c.name)
    facts, _ = collect_facts(root, shop_assessment(root).target, collectors)
    return facts


def shop_model(
    assessment: Assessment | None = None, *, facts: Facts | bool = True, **overrides: Any
) -> ReportModel:
    """The report model the CLI builds for the example service, with frozen dates.

    ``facts``: True for the example's collector facts, False for none, or the facts to use.
    """
    scanned = assessment or shop_assessment()
    if facts is False:
        scanned = copy.copy(scanned)
        scanned.facts = None  # as if the engine had handed no facts over
    options: dict[str, Any] = {
        "today": TODAY,
        "assessor": ASSESSOR,
        "version": VERSION,
        "context": CONTEXT,
        "facts": shop_facts() if facts is True else (facts or None),
    }
    options.update(overrides)
    model = from_assessment(scanned, **options)
    model.tool_version = "TEST"
    return model


def with_items(assessment: Assessment, **changes: Any) -> Assessment:
    """A copy of ``assessment`` with some items changed (``item_id={"status": …}``)."""
    copied = copy.copy(assessment)
    items = []
    for item in assessment.items:
        change = changes.get(item.id.replace(".", "__").replace("-", "_"))
        items.append(dataclasses.replace(item, **change) if change else item)
    copied.items = items
    return copied


def key(item_id: str) -> str:
    """An item id as a keyword for :func:`with_items`."""
    return item_id.replace(".", "__").replace("-", "_")


def check_golden(name: str, text: str) -> None:
    """Compare ``text`` with the golden file; rewrite it when PRR_UPDATE_GOLDEN=1."""
    path = GOLDEN / name
    if os.environ.get("PRR_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run the tests with PRR_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from its golden file (PRR_UPDATE_GOLDEN=1 to update)"


def secret_values() -> list[str]:
    """The planted credentials of the example service (they must never appear in a report)."""
    text = (SHOP / "app" / "settings_local.py").read_text(encoding="utf-8")
    found = re.findall(r"AKIA[0-9A-Z]{16}", text)
    found += re.findall(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])", text)
    assert found, "the example's planted key is gone; update this test"
    return found


# -- the assessment --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [ReportFormat.MD, ReportFormat.JSON, ReportFormat.CSV])
def test_golden(fmt: ReportFormat) -> None:
    rendered = render(shop_model(), ReportType.ASSESSMENT, fmt)
    assert isinstance(rendered, str)
    check_golden(f"shop-api/assessment.{fmt.value}", rendered)


def test_follows_the_template() -> None:
    model = shop_model()
    text = to_markdown(assessment_document(model))
    headings = re.findall(r"^#{2,3} (.+)$", text, re.M)
    assert headings[:8] == [
        "Production Readiness Assessment",
        "Executive Summary",
        "Blockers (Must Fix Before Launch)",
        "Issues (Should Fix, Can Launch)",
        "Risks Accepted",
        "Metrics Baseline",
        "Sign-Off",
        "Evidence",
    ]
    for line in (
        "**Application:** shop-api",
        f"**Version:** {VERSION}",
        f"**Assessment Date:** {TODAY.isoformat()}",
        f"**Assessor:** {ASSESSOR}",
        "**Overall Status:** 🔴 NOT READY",
        "| Category | Status | Blockers |",
        "| Security | 🔴 Blocked | 3 |",
        "| Launch Coordination | 🟢 Ready | 0 |",
        "| ID | Category | Issue | Owner | ETA |",
        "| ID | Category | Issue | Owner | Priority |",
        "| Metric | Target | Current | Status |",
        "| Availability | 99.9% | N/A | 🟡 |",
        "| p95 Latency | <500ms | N/A | 🟡 |",
        "| Role | Name | Approved | Date |",
        "| Engineering Lead |   | ☐ |   |",
    ):
        assert line in text, line
    assert [row.title for row in model.categories] == [
        "Infrastructure",
        "Security",
        "Reliability",
        "Performance",
        "Deployment",
        "Operations",
        "Launch Coordination",
    ]


def test_blockers_and_issues_are_numbered_from_the_rules() -> None:
    model = shop_model()
    assert [g.key for g in model.blockers] == ["BLOCK-001", "BLOCK-002", "BLOCK-003", "BLOCK-004"]
    assert {g.item.id for g in model.blockers} == {
        "security.authorization.all-endpoints-protected",
        "security.authorization.api-rate-limiting-enabled",
        "security.secrets-management.no-hardcoded-secrets-in-code",
        "deployment.environment-parity.staging-mirrors-production",
    }
    assert all(g.owner == "team-checkout" and g.eta == "—" for g in model.blockers)
    priorities = {g.item.id: g.priority for g in model.issues}
    assert priorities["infrastructure.compute.production-environment-provisioned"] == "High"
    assert priorities["infrastructure.networking.firewall-rules-reviewed"] == "High"
    assert priorities["security.secrets-management.secrets-rotation-plan"] == "Medium"
    assert [g.key for g in model.issues][:2] == ["ISSUE-001", "ISSUE-002"]
    order = ["High", "Medium", "Low"]
    assert [order.index(g.priority) for g in model.issues] == sorted(
        order.index(g.priority) for g in model.issues
    )


def test_evidence_share_counts_every_item() -> None:
    model = shop_model()
    share = model.share
    assert share.total == len(model.items) == 158
    assert share.verified == sum(
        1 for i in shop_assessment().items if i.source in (Source.VERIFIED, Source.DRILL)
    )
    assert share.attested == 0 and share.unknown == model.count(Status.UNKNOWN)


def test_metrics_from_context_and_measurements() -> None:
    scanned = with_items(
        shop_assessment(),
        **{
            key("performance.load-testing.response-times-acceptable"): {
                "status": Status.PASS,
                "fields": {"p95": "320ms", "error_rate": 0.2},
            },
            key("performance.load-testing.peak-traffic-handled"): {
                "status": Status.PASS,
                "fields": {"peak_rps": 1500},
            },
        },
    )
    model = shop_model(
        scanned,
        context={
            "uptime_target": "99.95",
            "latency_target_p95": "300ms",
            "error_rate_target": 1,
            "peak_rps": 1000,
        },
    )
    rows = {m.name: (m.target, m.current, m.icon) for m in model.metrics}
    assert rows == {
        "Availability": ("99.95%", "N/A", "🟡"),
        "p95 Latency": ("<300ms", "320ms", "🔴"),
        "Error Rate": ("<1%", "0.2%", "🟢"),
        "RPS Capacity": ("1000", "1500 tested", "🟢"),
    }


def test_cli_matches_the_golden_and_writes_files(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--path", str(SHOP), *CLI_ARGS])
    assert result.exit_code == 0, result.stderr
    expected = (GOLDEN / "shop-api" / "assessment.md").read_text(encoding="utf-8")
    assert result.stdout.rstrip("\n") == expected.rstrip("\n")
    out = tmp_path / "a.json"
    result = runner.invoke(
        app, ["--path", str(SHOP), "-f", "json", "-o", str(out), "-c", "uptime_target=99.95"]
    )
    assert result.exit_code == 0 and f"wrote {out}" in result.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["schema"] == "prr/report/v1" and data["context"]["uptime_target"] == 99.95
    assert data["assessor"] and data["assessor"] != "prr"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "23/11/2026"], "not a date"),
        (["--launch-date", "soon"], "not a date"),
        (["-c", "uptime"], "KEY=VALUE"),
        (["--type", "runbooks", "--format", "csv"], "no CSV"),
        (["--type", "runbooks"], "--output DIR"),
        (["--type", "nonsense"], "nonsense"),
    ],
)
def test_cli_usage_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["--path", str(SHOP), *args])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_cli_config_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--path", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "not a directory" in result.stderr
    (tmp_path / "prr.yaml").write_text("service: x\nunknown_key: 1\n", encoding="utf-8")
    result = runner.invoke(app, ["--path", str(tmp_path)])
    assert result.exit_code == 2 and "prr.yaml" in result.stderr
    result = runner.invoke(app, ["7", "--database", f"sqlite:///{tmp_path / 'prr.db'}"])
    assert result.exit_code == 2 and "no review 7" in result.stderr


def test_json_keys_are_documented() -> None:
    text = (ROOT / "docs" / "reports.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.M))
    data = report_dict(shop_model())
    nested = [
        data,
        data["application"],
        data["summary"],
        data["evidence_share"],
        data["categories"][0],
        data["blockers"][0],
        data["metrics"][0],
        data["signoffs"][0],
        data["items"][0],
        data["items"][1]["evidence"][0],
    ]
    from prr.reports.backlog import backlog_dict
    from prr.reports.prd import prd_dict
    from prr.reports.runbooks import runbooks_dict

    prd, backlog = prd_dict(shop_model()), backlog_dict(shop_model())
    nested += [prd, prd["prd"], backlog, backlog["backlog"][0], runbooks_dict(shop_model())]
    missing = {k for part in nested for k in part} - documented
    assert not missing, f"undocumented JSON keys: {sorted(missing)}"


def test_no_secret_value_in_any_output() -> None:
    model = shop_model()
    for kind in ReportType:
        for fmt in (ReportFormat.MD, ReportFormat.JSON, ReportFormat.CSV, ReportFormat.HTML):
            if kind is ReportType.RUNBOOKS and fmt is ReportFormat.CSV:
                continue
            rendered = render(model, kind, fmt)
            assert isinstance(rendered, str)
            for value in secret_values():
                assert value not in rendered, (kind, fmt)
            assert "fingerprint" not in rendered, (kind, fmt)
