"""The Readiness PRD: golden output, launch dates, evidence, and reports of stored reviews."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prr.cli.report import ReportFormat, ReportType, app, render
from prr.model.evidence import Status
from prr.reports.model import ReportModel, from_review, to_markdown
from prr.reports.prd import go_no_go, launch_schedule, prd_document, security_findings
from prr.reports.scan_json import scan_dict
from prr.review.reviews import ApprovalRefused, Reviews
from prr.store.db import Store
from tests.reports.test_assessment import (
    TODAY,
    check_golden,
    key,
    shop_assessment,
    shop_model,
    with_items,
)
from tests.review import conftest as review_fixtures

# The review tests' stores (SQLite and a throwaway PostgreSQL), as fixtures of this module too.
pg_url = review_fixtures.pg_url
store_url = review_fixtures.store_url
store = review_fixtures.store

RATE = "security.authorization.api-rate-limiting-enabled"
FIREWALL = "infrastructure.networking.firewall-rules-reviewed"
RESPONSE = "performance.load-testing.response-times-acceptable"
PEAK = "performance.load-testing.peak-traffic-handled"
RESTORE = "reliability.backup-recovery.backup-restoration-tested"


@pytest.mark.parametrize("fmt", [ReportFormat.MD, ReportFormat.JSON, ReportFormat.CSV])
def test_golden(fmt: ReportFormat) -> None:
    rendered = render(shop_model(), ReportType.PRD, fmt)
    assert isinstance(rendered, str)
    check_golden(f"shop-api/prd.{fmt.value}", rendered)


def test_follows_the_template() -> None:
    text = to_markdown(prd_document(shop_model()))
    assert text.startswith("# PRD-PROD-001: Production Readiness Gaps\n")
    for line in (
        "**Status:** Draft",
        "**Author:** alice@example.com",
        f"**Date:** {TODAY.isoformat()}",
        "**Type:** Production Readiness",
        "**Priority:** Critical",
        "**Target Launch:** 2027-01-03",
        "- Checklist items: 158",
        "- Blockers: 4",
        "## Blockers",
        "## Issues (Should Fix)",
        "## Implementation Timeline",
        "### Week 1: Critical Blockers",
        "### Week 2: Remaining Blockers + High Issues",
        "### Post-Launch: Medium/Low Issues",
        "## Go/No-Go Criteria",
        "### Must Have (Launch Blockers)",
        "- [ ] All BLOCK items resolved — 4 open",
        "- [x] Runbooks documented — passing",
        "## Launch Checklist",
        "### T-1 Week — Sun 2026-12-27",
        "### T-1 Day — Sat 2027-01-02",
        "### T-0 (Launch Day) — Sun 2027-01-03",
        "### T+1 Day — Mon 2027-01-04",
        "### A. Full Checklist Results",
        "### B. Load Test Results",
        "Not yet run: `prr drill load` (no load-test measurements in the evidence).",
        "### C. Security Scan Results",
        "| `app/settings_local.py:12` | aws-access-key-id |",
        "### D. Architecture Diagram",
        "```mermaid",
    ):
        assert line in text, line
    # Authorless tool names never sign a PRD.
    assert "@claude" not in text and "**Author:** prr" not in text


def test_blocker_sections_come_from_the_evidence() -> None:
    text = to_markdown(prd_document(shop_model()))
    section = text.split("### BLOCK-002: API rate limiting enabled", 1)[1].split("\n---\n", 1)[0]
    assert "**Category:** Security › Authorization" in section
    assert "**Severity:** Critical" in section
    assert "**Risk:** No rate limiting — a common Security launch blocker." in section
    assert "- `deploy/k8s/base/ingress.yaml:3` — Ingress shop-api" in section
    # The concrete fix for this repository comes before the item's generic steps.
    assert section.index("nginx.ingress.kubernetes.io/limit-rpm") < section.index(
        "**2. Remediation steps**"
    )
    assert "- [ ] 429 is returned with a Retry-After header when the limit is exceeded" in section
    assert "- [ ] Re-run `prr scan` and check `security.kubernetes.rate-limiting` passes" in section
    assert "#### Effort: Medium" in section and "#### Owner: team-checkout" in section
    secrets = text.split("### BLOCK-003", 1)[1].split("\n---\n", 1)[0]
    assert "fingerprint" not in secrets and "(aws-access-key-id)" in secrets


@pytest.mark.parametrize(
    ("launch", "expected"),
    [
        ("2027-01-03", ["2026-12-27", "2027-01-02", "2027-01-03", "2027-01-04"]),
        ("2026-03-01", ["2026-02-22", "2026-02-28", "2026-03-01", "2026-03-02"]),
        ("2028-03-01", ["2028-02-23", "2028-02-29", "2028-03-01", "2028-03-02"]),
        ("2024-03-05", ["2024-02-27", "2024-03-04", "2024-03-05", "2024-03-06"]),
        ("2025-12-31", ["2025-12-24", "2025-12-30", "2025-12-31", "2026-01-01"]),
        ("2028-02-28", ["2028-02-21", "2028-02-27", "2028-02-28", "2028-02-29"]),
    ],
)
def test_launch_checklist_dates(launch: str, expected: list[str]) -> None:
    day = dt.date.fromisoformat(launch)
    assert [d.isoformat() for _, d in launch_schedule(day)] == expected
    text = to_markdown(prd_document(shop_model(context={"launch_date": launch})))
    headings = re.findall(r"^### (T[-+0].*)$", text, re.M)
    assert [h.rsplit(" ", 1)[1] for h in headings] == expected
    assert f"**Target Launch:** {launch}" in text


def test_without_a_launch_date_the_checklist_is_undated() -> None:
    text = to_markdown(prd_document(shop_model(context={})))
    assert "**Target Launch:** not set" in text
    assert "### T-1 Week\n" in text and "the checklist is undated" in text


def test_architecture_from_facts_and_from_evidence() -> None:
    with_facts = shop_model().architecture
    assert with_facts is not None and with_facts.origin == "facts"
    mermaid = with_facts.mermaid()
    labels = {n.text: n.id for n in with_facts.nodes}
    chain = [
        "Load balancer aws_lb.api",
        "Ingress shop-api",
        "Service shop-api",
        "Deployment shop-api",
    ]
    for source, target in itertools.pairwise(chain):
        assert f"{labels[source]} --> {labels[target]}" in mermaid, (source, target)
    database = labels["RDS database (postgres) aws_db_instance.shop"]
    assert f"{labels['Deployment shop-api']} -.-> {database}" in mermaid
    assert 'subgraph g3["namespace shop"]' in mermaid
    # Without collector facts (a scan loaded from JSON), the evidence messages are used.
    inferred = shop_model(facts=False).architecture
    assert inferred is not None and inferred.origin == "evidence"
    assert {"Ingress shop-api", "Deployment shop-api"} <= {n.text for n in inferred.nodes}


def test_measurements_fill_appendix_b_and_the_go_no_go() -> None:
    scanned = with_items(
        shop_assessment(),
        **{
            key(RESPONSE): {"status": Status.PASS, "fields": {"p95": "320ms"}},
            key("performance.load-testing.load-test-executed"): {"status": Status.PASS},
        },
    )
    model = shop_model(scanned)
    text = to_markdown(prd_document(model))
    appendix = text.split("### B. Load Test Results", 1)[1].split("### C.", 1)[0]
    assert "| Response times acceptable | 🟢 pass | p95 320ms |" in appendix
    must = dict(go_no_go(model))["Must Have (Launch Blockers)"]
    assert [(c.label, c.met) for c in must][3] == ("Load test passed", True)


def test_security_findings_carry_no_secret_values() -> None:
    findings = security_findings(shop_model())
    assert [(w, r) for w, r, _ in findings["secrets"]] == [
        ("app/settings_local.py:12", "aws-access-key-id"),
        ("app/settings_local.py:13", "aws-secret-access-key"),
    ]
    assert any(w == "infra/terraform/main.tf:105" for w, _, _ in findings["iac"])


# -- reports of reviews in the store (SQLite and PostgreSQL) ----------------------------------


def _review(store: Store) -> tuple[Reviews, int]:
    """A review of the example service with answers, a risk acceptance and a rejection."""
    assessment = shop_assessment()
    reviews = Reviews(store, today=TODAY)
    scan_id = reviews.record_scan(assessment, scan_dict(assessment))
    rid = reviews.create(
        "shop-api",
        "1.4.0",
        checklist=assessment.checklist,
        actor="alice@example.com",
        assessment=assessment,
        owner="team-checkout",
        scan_id=scan_id,
        context={"launch_date": "2026-03-01", "uptime_target": 99.95},
    )
    reviews.answer(
        rid, RATE, actor="bob", owner="@backend", eta=dt.date(2026, 11, 30), notes="limit-rpm <b>"
    )
    reviews.answer(rid, RESPONSE, actor="bob", status=Status.PASS, fields={"p95": "320ms"})
    reviews.answer(rid, PEAK, actor="bob", status=Status.PASS, fields={"peak_rps": 1500})
    reviews.answer(
        rid,
        RESTORE,
        actor="ops",
        status=Status.PASS,
        fields={"last_restore_test": "2026-11-02", "restore_duration": "47m"},
    )
    waiver = reviews.request_waiver(
        rid,
        FIREWALL,
        reason="Bastion needed for the migration",
        risk_owner="cto@example.com",
        mitigation="SSH only from the VPN range after 2026-12-15",
        expires=dt.date(2027, 3, 1),
        actor="bob",
    )
    reviews.decide_waiver(waiver, approve=True, actor="sec@example.com", role="Security")
    with pytest.raises(ApprovalRefused):
        reviews.signoff(rid, role="Security", person="sec@example.com", approve=True)
    reviews.signoff(rid, role="Security", person="sec@example.com", approve=False, comment="no")
    return reviews, rid


def test_report_of_a_stored_review(store: Store) -> None:
    reviews, rid = _review(store)
    model: ReportModel = from_review(reviews.get(rid), store=store, today=TODAY)
    assert model.origin == "review" and model.review_id == rid and model.prd_id == "PRD-PROD-001"
    assert model.assessor == "alice@example.com" and model.version == "1.4.0"
    rate = next(g for g in model.blockers if g.item.id == RATE)
    assert (rate.owner, rate.eta) == ("@backend", "2026-11-30")
    # Evidence and concrete fixes survive the trip through the store.
    assert "deploy/k8s/base/ingress.yaml:3" in [e.location for e in rate.item.open_evidence]
    assert any("limit-rpm" in fix for fix in rate.item.fixes)
    assert rate.item.checks == ["security.kubernetes.rate-limiting"]
    risks = [(r.item_id, r.mitigation, r.accepted_by, r.expires) for r in model.risks]
    assert risks == [
        (
            FIREWALL,
            "SSH only from the VPN range after 2026-12-15",
            "sec@example.com (Security)",
            "2027-03-01",
        )
    ]
    metrics = {m.name: (m.target, m.current, m.icon) for m in model.metrics}
    assert metrics["Availability"] == ("99.95%", "N/A", "🟡")
    assert metrics["p95 Latency"] == ("<500ms", "320ms", "🟢")
    assert metrics["RPS Capacity"][1:] == ("1500 tested", "🟢")
    security = next(s for s in model.signoffs if s.role == "Security")
    assert security.decision == "reject" and security.name == "sec@example.com"
    assert [(p.blockers, p.issues) for p in model.trend] == [(4, 16)]

    text = to_markdown(prd_document(model))
    assert "| Security | sec@example.com | ☒ rejected |" in render(
        model, ReportType.ASSESSMENT, ReportFormat.MD
    )
    assert "**Notes:** limit-rpm &lt;b>" in text
    assert "### T-1 Day — Sat 2026-02-28" in text
    assert "- [ ] Security sign-off — rejected" in text
    assert "- [x] Backup restoration verified — passing" in text
    runbook = render(model, ReportType.RUNBOOKS, ReportFormat.MD)
    assert "**Last restore test:** 2026-11-02, took 47m (RTO 4h)." in str(runbook)

    second = reviews.create(
        "shop-api", "1.5.0", checklist=shop_assessment().checklist, actor="alice@example.com"
    )
    assert from_review(reviews.get(second), store=store, today=TODAY).prd_id == "PRD-PROD-002"


def test_cli_reports_a_stored_review(store: Store, tmp_path: Path) -> None:
    _, rid = _review(store)
    out = tmp_path / "prd.md"
    result = CliRunner().invoke(
        app,
        [
            str(rid),
            "--database",
            store.url,
            "--type",
            "prd",
            "--date",
            "2026-11-23",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# PRD-PROD-001: Production Readiness Gaps")
    assert "**Author:** alice@example.com" in text and "#### Owner: @backend" in text
