"""The review as a Markdown document: export, edit, import — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from prr.cli.review_doc import app
from prr.errors import Problem
from prr.model.evidence import Source, Status
from prr.review.document import (
    DocumentError,
    ImportRefused,
    export_document,
    import_document,
    parse_document,
)
from prr.review.reviews import Reviews
from prr.store.db import Store
from tests.engine.test_scan import CDN, PROBES, RATE, Flags, scan

ROLES = ("Engineering Lead", "Security", "Operations", "Product")
HIGH = "infrastructure.compute.auto-scaling-configured"
DNS = "infrastructure.networking.dns-configured"
COST = "performance.capacity-planning.cost-projections-done"
STRATEGY = "deployment.deployment-strategy.deployment-strategy-defined"
NA_ITEM = "launch.pre-launch.marketing-aligned"
SOURCE = "readiness/shop.md"


def _new(store: Store, tmp_path: Path, flags: Flags = Flags(False, True)) -> tuple[Reviews, int]:
    reviews = Reviews(store)
    assessment = scan(tmp_path, flags)  # with rate limiting failing: one verified blocker
    review_id = reviews.create(
        "shop",
        "1.4.0",
        checklist=assessment.checklist,
        actor="alice",
        assessment=assessment,
        context={"launch_date": "2026-12-01", "expected_rps": 300.0},
    )
    return reviews, review_id


def _audit(store: Store, review_id: int) -> int:
    with store.engine.connect() as conn:
        query = text("SELECT count(*) FROM audit_event WHERE review_id = :r")
        return int(conn.execute(query, {"r": review_id}).scalar_one())


def _line(doc: str, needle: str) -> int:
    """1-based number of the first line containing ``needle``."""
    return next(n for n, line in enumerate(doc.splitlines(), 1) if needle in line)


def _edit(doc: str, needle: str, change: Callable[[list[str]], list[str]]) -> str:
    """Rewrite the cells of the table row containing ``needle``."""
    lines = doc.splitlines()
    number = _line(doc, needle) - 1
    cells = [c.strip() for c in lines[number].strip().strip("|").split("|")]
    lines[number] = "| " + " | ".join(change(cells)) + " |"
    return "\n".join(lines) + "\n"


def _item(doc: str, item_id: str, box: str | None = None, notes: str | None = None) -> str:
    def change(cells: list[str]) -> list[str]:
        return [
            cells[0],
            box if box is not None else cells[1],
            notes if notes is not None else cells[2],
        ]

    return _edit(doc, f"prr:item {item_id} ", change)


def _signoff(doc: str, role_key: str, name: str, box: str = "☑") -> str:
    return _edit(doc, f"prr:signoff {role_key} ", lambda c: [c[0], name, box, c[3]])


def _add_waiver(doc: str, row: str) -> str:
    lines = doc.splitlines()
    at = _line(doc, "| Item | Reason | Risk owner |") + 1  # below the separator
    lines.insert(at, row)
    return "\n".join(lines) + "\n"


def _problems(error: DocumentError) -> list[str]:
    return [str(p) for p in error.problems]


def test_round_trip_is_lossless(store: Store, tmp_path: Path) -> None:
    reviews, rid = _new(store, tmp_path)
    reviews.answer(
        rid,
        HIGH,
        actor="bob",
        status=Status.PASS,
        fields={"min_instances": 3, "max_instances": "12"},
        notes="HPA 3..12 | see the chart · values.yaml\nsecond line",
        owner="@ops",
        eta=dt.date(2026, 11, 30),
    )
    reviews.answer(rid, DNS, actor="bob", status=Status.PASS, fields={"dns_ttl": "300s"})
    reviews.answer(rid, COST, actor="bob", status=Status.FAIL, fields={"monthly_cost": "4200.5"})
    reviews.answer(rid, STRATEGY, actor="bob", status=Status.PASS, fields={"strategy": "Canary"})
    reviews.mark_na(rid, NA_ITEM, reason="internal service · no launch event", actor="bob")
    waiver = reviews.request_waiver(
        rid,
        CDN,
        reason="no static assets | yet",
        risk_owner="@lead",
        actor="bob",
        mitigation="edge cache",
    )
    reviews.decide_waiver(waiver, approve=True, actor="lee", role="Engineering Lead")
    reviews.request_waiver(rid, HIGH, reason="HPA tuning", risk_owner="@ops", actor="bob")
    reviews.signoff(rid, role="Security", person="sam", approve=False, comment="pen test first")
    stops = {"3": {"question": "What's your uptime target?", "answer": 99.9}}
    context = {"data residency": ["EU", "UK"], "uptime_target": 99.9, "stop_answers": stops}
    reviews.set_context(rid, context, actor="bob")
    events = _audit(store, rid)

    doc = export_document(reviews, rid)
    assert "| Role | Name | Approved | Date |" in doc and "| Item | Status | Notes |" in doc
    assert "Min instances: 3 · Max instances: 12" in doc and "DNS TTL: 5m" in doc
    assert "Monthly: 4200.5 USD" in doc and "N/A: internal service &middot; no launch event" in doc
    assert "🔎 verified: no rate limiting on the ingress — k8s/ingress.yaml:4" in doc
    assert "✍ attested by bob" in doc and "| sam | ☒ |" in doc
    assert "| 300 requests/s |" in doc and "| 99.9% |" in doc and "| EU, UK |" in doc
    assert "- Phase 3: What's your uptime target? — 99.9" in doc

    result = import_document(reviews, doc, actor="bob", source=SOURCE)
    assert result.plan.changes == [] and result.applied == [] and not result.plan.stale
    # every row compared with the review, ignoring the markers: still nothing to change
    strict = import_document(reviews, doc, actor="bob", source=SOURCE, trust_markers=False)
    assert strict.plan.changes == []
    assert _audit(store, rid) == events
    assert export_document(reviews, rid) == doc  # deterministic: no churn in the merge request


def test_edits_are_applied_through_the_review(store: Store, tmp_path: Path) -> None:
    reviews, rid = _new(store, tmp_path)
    doc = export_document(reviews, rid)
    events = _audit(store, rid)
    expires = (dt.date.today() + dt.timedelta(days=30)).isoformat()

    doc = _item(doc, HIGH, "☑", "Min instances: 3 · Max instances: 12 · HPA 3..12")
    doc = _item(doc, RATE, "☑", "limit_req added, drill passed")
    doc = _item(doc, NA_ITEM, "N/A", "N/A: internal service")
    doc = _item(
        doc, DNS, "☒", "DNS TTL: 1h · Owner: @net · ETA: 2026-11-30 · too long for the cutover"
    )
    doc = _item(doc, PROBES, notes="probes checked by hand · 🔎 verified: probes — d.yaml")
    doc = _edit(doc, "prr:context expected_rps ", lambda c: [c[0], "500 requests/s"])
    doc = _add_waiver(
        doc, f"| `{CDN}` | no static assets | @lead | storefront CDN | {expires} | requested |"
    )
    doc = _signoff(doc, "security", "sam")

    result = import_document(reviews, doc, actor="sam", source=SOURCE)
    assert [(c.action, c.subject) for c in result.applied] == [
        ("context", "expected_rps"),
        ("answer", HIGH),
        ("answer", PROBES),
        ("answer", DNS),
        ("answer", RATE),
        ("na", NA_ITEM),
        ("waiver", CDN),
        ("signoff", "Security"),
    ]
    rate_change = next(c for c in result.applied if c.subject == RATE)
    assert rate_change.note and "attested by sam" in rate_change.note
    assert rate_change.line == _line(doc, f"prr:item {RATE} ")

    view = reviews.get(rid)
    high = view.item(HIGH)
    assert high.assessment.status is Status.PASS and high.notes == "HPA 3..12"
    assert high.assessment.fields == {"min_instances": 3, "max_instances": 12}
    rate = view.item(RATE).assessment
    assert rate.status is Status.PASS and rate.source is Source.ATTESTED and not view.blockers
    probes = view.item(PROBES)
    assert probes.assessment.source is Source.VERIFIED and probes.notes == "probes checked by hand"
    dns = view.item(DNS)
    assert dns.assessment.status is Status.FAIL and dns.assessment.fields == {"dns_ttl": "3600s"}
    assert dns.notes == "too long for the cutover"
    assert (dns.owner, dns.eta) == ("@net", dt.date(2026, 11, 30))
    assert view.item(NA_ITEM).na_reason == "internal service"
    assert view.context["expected_rps"] == 500.0
    assert [
        (w.item_id, w.state, w.expires.isoformat() if w.expires else None) for w in view.waivers
    ] == [(CDN, "requested", expires)]
    assert [(s.role, s.person, s.decision) for s in view.signoffs] == [
        ("Security", "sam", "approve")
    ]
    assert _audit(store, rid) == events + 8
    assert reviews.verify(rid) == []

    # importing the same edited document again changes nothing (its edits are in already)
    again = import_document(reviews, doc, actor="sam", source=SOURCE)
    assert again.plan.changes == [] and _audit(store, rid) == events + 8


def test_malformed_edits_name_the_exact_line(store: Store, tmp_path: Path) -> None:
    reviews, rid = _new(store, tmp_path)
    other = reviews.create("shop", "1.5.0", checklist=reviews.get(rid).checklist, actor="alice")
    doc = export_document(reviews, rid)
    high, na, rate = (_line(doc, f"prr:item {i} ") for i in (HIGH, NA_ITEM, RATE))
    cases: list[tuple[str, int, str]] = [
        (
            doc.replace(f"prr:item {HIGH} ", f"prr:item {HIGH}x "),
            high,
            f"unknown item id '{HIGH}x'",
        ),
        (_item(doc, HIGH, "✓"), high, "is not a box: write ☐ (open), ☑ (pass), ☒ (fail) or N/A"),
        (
            _item(doc, HIGH, "☑", "Min instances: many"),
            high,
            "Min instances: 'many' is not a number",
        ),
        (_item(doc, HIGH, "☑", "Min instances: 0"), high, "below the minimum"),
        (_item(doc, HIGH, "☑", "Min instance: 3"), high, "did you mean 'Min instances'"),
        (_item(doc, NA_ITEM, "N/A", ""), na, "needs a reason"),
        (_item(doc, NA_ITEM, "☑", "N/A: internal"), na, "set the box to N/A or remove"),
        (
            _edit(doc, f"prr:item {HIGH} ", lambda c: [*c, "extra"]),
            high,
            "has 4 cells but the table has 3",
        ),
        (_item(doc, RATE, "☐"), rate, "cannot be withdrawn"),
        (
            _edit(doc, "prr:context peak_rps ", lambda c: [c[0], "lots"]),
            _line(doc, "prr:context peak_rps "),
            "Peak traffic: 'lots' is not a number — write a number",
        ),
        (doc.replace(f"review: {rid}\n", f"review: {other}\n"), 2, f"exported from review {rid}"),
        (doc.replace(f"review: {rid}\n", "review: 999\n"), 2, "no review 999"),
        (
            doc.replace("version: 1.4.0\n", "version: 1.4.1\n"),
            4,
            "version: the document says '1.4.1'",
        ),
        (_signoff(doc, "security", "sam"), _line(doc, "prr:signoff security "), "runs as 'bob'"),
        (
            _add_waiver(doc, "| `no.such.item` | r | o |  |  | requested |"),
            _line(doc, "| Item | Reason |") + 2,
            "unknown item id 'no.such.item'",
        ),
        (
            _add_waiver(doc, f"| `{CDN}` | r | o |  | soon | requested |"),
            _line(doc, "| Item | Reason |") + 2,
            "Expires 'soon' is not a date",
        ),
        (
            doc.replace(
                "| Item | Reason | Risk owner |",
                f"| `{CDN}` | r | o |  |  |  |\n\n| Item | Reason | Risk owner |",
            ),
            _line(doc, "| Item | Reason |"),
            "belongs to no table",
        ),
    ]
    for edited, line, message in cases:
        with pytest.raises(DocumentError) as caught:
            import_document(reviews, edited, actor="bob", source=SOURCE)
        found = _problems(caught.value)
        assert any(p.startswith(f"{SOURCE}:{line}: ") and message in p for p in found), (
            message,
            found,
        )

    # several mistakes at once: all of them, each on its own line; nothing written
    events = _audit(store, rid)
    both = _item(_item(doc, HIGH, "?"), NA_ITEM, "N/A", "")
    with pytest.raises(DocumentError) as caught:
        import_document(reviews, both, actor="bob", source=SOURCE)
    assert [p.line for p in caught.value.problems] == [high, na]
    assert _audit(store, rid) == events

    with pytest.raises(DocumentError) as caught:
        parse_document("# just notes\n", "x.md")
    assert caught.value.problems == [Problem(caught.value.problems[0].message, "x.md", 1)]


def test_frozen_review_refuses_edits(store: Store, tmp_path: Path) -> None:
    reviews, rid = _new(store, tmp_path, Flags(True, True))  # no blocker
    for role in ROLES:
        reviews.signoff(rid, role=role, person=role.lower(), approve=True)
    doc = export_document(reviews, rid)
    assert import_document(reviews, doc, actor="bob").plan.changes == []
    edited = _item(doc, HIGH, "☑")
    with pytest.raises(DocumentError) as caught:
        import_document(reviews, edited, actor="bob", source=SOURCE)
    assert _problems(caught.value) == [
        f"{SOURCE}:2: review {rid} is approved and frozen: it records what was approved, so the "
        f"edits on lines {_line(doc, f'prr:item {HIGH} ')} cannot be applied; start a new review "
        "(prr review new shop VERSION) for further changes"
    ]


def test_signoff_with_an_open_blocker_is_refused_and_nothing_is_applied(
    store: Store, tmp_path: Path
) -> None:
    reviews, rid = _new(store, tmp_path)
    events = _audit(store, rid)
    doc = export_document(reviews, rid)
    edited = _signoff(
        _item(doc, HIGH, "☑", "Min instances: 2 · Max instances: 4"), "security", "sam"
    )
    edited = _add_waiver(edited, f"| `{RATE}` | later | @dev |  |  | requested |")
    with pytest.raises(ImportRefused) as caught:
        import_document(reviews, edited, actor="sam", source=SOURCE)
    found = _problems(caught.value)
    waiver_line = _line(edited, f"| `{RATE}` | later |")
    assert found[0].startswith(f"{SOURCE}:{waiver_line}: {RATE}: ")
    assert "does not allow accepting its risk" in found[0]
    signoff_line = _line(edited, "prr:signoff security ")
    assert found[1].startswith(f"{SOURCE}:{signoff_line}: Security: approval refused: 1 blocker(s)")
    assert RATE in found[1]
    view = reviews.get(rid)
    assert view.item(HIGH).assessment.status is Status.UNKNOWN and not view.signoffs
    assert not view.waivers and _audit(store, rid) == events


def test_stale_document_applies_untouched_rows_and_flags_conflicts(
    store: Store, tmp_path: Path
) -> None:
    reviews, rid = _new(store, tmp_path)
    doc = export_document(reviews, rid)
    reviews.answer(rid, HIGH, actor="carol", status=Status.FAIL, notes="no HPA yet")
    conflicting = _item(_item(doc, HIGH, "☑"), DNS, "☑")
    with pytest.raises(DocumentError) as caught:
        import_document(reviews, conflicting, actor="bob", source=SOURCE)
    assert _problems(caught.value)[0].startswith(f"{SOURCE}:{_line(doc, f'prr:item {HIGH} ')}: ")
    assert "changed in the review after this document was exported" in _problems(caught.value)[0]

    result = import_document(reviews, _item(doc, DNS, "☑"), actor="bob", source=SOURCE)
    assert result.plan.stale and [c.subject for c in result.applied] == [DNS]
    view = reviews.get(rid)
    assert view.item(HIGH).assessment.status is Status.FAIL  # carol's answer was not reverted
    assert view.item(DNS).assessment.status is Status.PASS


def test_risk_acceptance_can_be_revoked_in_the_document(store: Store, tmp_path: Path) -> None:
    reviews, rid = _new(store, tmp_path)
    waiver = reviews.request_waiver(rid, CDN, reason="r", risk_owner="o", actor="bob")
    reviews.decide_waiver(waiver, approve=True, actor="lee", role="Security")
    doc = export_document(reviews, rid)
    revoked = _edit(doc, f"prr:waiver {waiver} ", lambda c: [*c[:5], "revoked"])
    result = import_document(reviews, revoked, actor="bob", source=SOURCE)
    assert [c.action for c in result.applied] == ["revoke"]
    assert reviews.get(rid).waivers[0].state == "revoked"
    changed = _edit(doc, f"prr:waiver {waiver} ", lambda c: [c[0], "other reason", *c[2:]])
    with pytest.raises(DocumentError, match="only its State can be set to 'revoked'"):
        import_document(reviews, changed, actor="bob", source=SOURCE)


def test_cli_export_dry_run_and_import(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = Store(store_url)
    try:
        _, rid = _new(store, tmp_path)
        events = _audit(store, rid)
        runner = CliRunner()
        exported = runner.invoke(
            app, ["export", str(rid), "--database", store_url], catch_exceptions=False
        )
        assert exported.exit_code == 0, exported.stderr
        path = tmp_path / "readiness" / f"shop-1.4.0-review-{rid}.md"
        assert path.is_file() and f"wrote {Path('readiness') / path.name}" in exported.stderr
        shown = runner.invoke(app, ["export", str(rid), "--database", store_url, "--output", "-"])
        assert shown.stdout == path.read_text(encoding="utf-8")

        same = runner.invoke(app, ["import", str(path), "--database", store_url, "--as", "sam"])
        assert same.exit_code == 0 and "no changes" in same.stdout

        doc = _item(path.read_text(encoding="utf-8"), HIGH, "☑", "Min instances: 3")
        doc = _item(doc, RATE, "☑")
        path.write_text(doc, encoding="utf-8")
        args = ["import", str(path), "--database", store_url, "--as", "sam"]
        dry = runner.invoke(app, [*args, "--dry-run"], catch_exceptions=False)
        assert dry.exit_code == 0, dry.stderr
        assert "would apply 2 change(s) (dry run: nothing written)" in dry.stdout
        assert (
            f"{path}:{_line(doc, f'prr:item {HIGH} ')}  answer  {HIGH}: ☐ → ☑ · Min instances: 3"
            in dry.stdout
        )
        assert "was verified by a check; becomes an answer attested by sam" in dry.stdout
        assert _audit(store, rid) == events

        applied = runner.invoke(app, args, catch_exceptions=False)
        assert applied.exit_code == 0 and "applied 2 change(s)" in applied.stdout
        assert _audit(store, rid) == events + 2

        bad = _item(doc, DNS, "☑", "DNS TTL: soon")
        path.write_text(bad, encoding="utf-8")
        malformed = runner.invoke(app, args, catch_exceptions=False)
        assert malformed.exit_code == 2
        assert (
            f"{path}:{_line(bad, f'prr:item {DNS} ')}: DNS TTL: 'soon' is not a duration"
            in malformed.stderr
        )
        assert "Traceback" not in malformed.stderr + malformed.stdout

        path.write_text(_signoff(_item(doc, PROBES, "☒"), "security", "sam"), encoding="utf-8")
        refused = runner.invoke(app, args, catch_exceptions=False)
        assert refused.exit_code == 1 and "approval refused" in refused.stderr
        assert "Nothing was written." in refused.stderr and _audit(store, rid) == events + 2

        missing = runner.invoke(app, ["import", str(tmp_path / "nope.md"), "--database", store_url])
        assert missing.exit_code == 2 and "cannot read" in missing.stderr
    finally:
        store.close()
