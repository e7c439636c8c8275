"""The review workflow end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text

from prr.errors import FieldValueError, ReviewStateError
from prr.model.evidence import Source, Status
from prr.model.loader import load_checklist
from prr.review.reviews import ApprovalRefused, Reviews
from prr.store.db import Store
from tests.engine.test_scan import CDN, RATE, Flags, scan

ROLES = ("Engineering Lead", "Security", "Operations", "Product")
HIGH_ITEM = "infrastructure.compute.auto-scaling-configured"


def _new(store: Store, tmp_path: Path, **kw) -> tuple[Reviews, int]:
    reviews = Reviews(store, **kw)
    assessment = scan(tmp_path, Flags(False, True))  # rate limiting fails: a blocker
    review_id = reviews.create(
        "shop",
        "1.4.0",
        checklist=assessment.checklist,
        actor="alice",
        assessment=assessment,
        context={"launch": "2026-12-01"},
    )
    return reviews, review_id


def test_full_review_flow(store: Store, tmp_path: Path) -> None:
    reviews, rid = _new(store, tmp_path)
    view = reviews.get(rid)
    assert view.checklist.ref == "service@1.0.0" and len(view.items) == 158
    rate = view.item(RATE)
    assert rate.assessment.status is Status.FAIL and rate.assessment.source is Source.VERIFIED
    assert [b.id for b in view.blockers] == [RATE]

    reviews.answer(
        rid,
        HIGH_ITEM,
        actor="bob",
        status=Status.PASS,
        fields={"min_instances": "3", "max_instances": 12},
        notes="HPA 3..12",
    )
    assert reviews.get(rid).item(HIGH_ITEM).assessment.fields == {
        "min_instances": 3,
        "max_instances": 12,
    }
    with pytest.raises(FieldValueError, match="min_instances"):
        reviews.answer(rid, HIGH_ITEM, actor="bob", fields={"min_instances": "many"})
    with pytest.raises(ReviewStateError, match="justification"):
        reviews.mark_na(rid, "launch.pre-launch.marketing-aligned", reason=" ", actor="bob")
    reviews.mark_na(
        rid, "launch.pre-launch.marketing-aligned", reason="internal service", actor="bob"
    )

    with pytest.raises(ApprovalRefused, match="blocker") as refused:
        reviews.signoff(rid, role="Security", person="sam", approve=True)
    assert refused.value.blockers == [f"{RATE} (API rate limiting enabled)"]

    # a high item may be risk-accepted by a permitted role; a critical one never
    waiver = reviews.request_waiver(
        rid,
        CDN,
        reason="no static assets",
        risk_owner="@lead",
        actor="bob",
        mitigation="storefront CDN",
    )
    with pytest.raises(ApprovalRefused, match="may not accept"):
        reviews.decide_waiver(waiver, approve=True, actor="pat", role="Intern")
    reviews.decide_waiver(waiver, approve=True, actor="lee", role="Engineering Lead")
    assert reviews.get(rid).item(CDN).assessment.waiver is not None
    with pytest.raises(ApprovalRefused, match="does not allow accepting"):
        reviews.request_waiver(rid, RATE, reason="later", risk_owner="@x", actor="bob")

    # fix the blocker (the team re-verified it), then every role approves
    reviews.answer(
        rid, RATE, actor="bob", status=Status.PASS, notes="limit_req added, drill passed"
    )
    for number, role in enumerate(ROLES):
        state = reviews.signoff(rid, role=role, person=f"person{number}", approve=True)
    assert state == "approved"
    assert reviews.gate("shop", "1.4.0") == (
        True,
        f"review {rid} approved {dt.date.today().isoformat()}",
    )
    assert reviews.gate("shop", "1.5.0")[0] is False

    with pytest.raises(ReviewStateError, match="frozen"):
        reviews.answer(rid, HIGH_ITEM, actor="bob", notes="late edit")
    with pytest.raises(ReviewStateError, match="frozen"):
        reviews.signoff(rid, role="Security", person="sam", approve=False)
    assert reviews.verify(rid) == []


def test_partial_signoff_and_rejection(store: Store, tmp_path: Path) -> None:
    reviews, rid = _new(store, tmp_path)
    reviews.answer(rid, RATE, actor="bob", status=Status.PASS)
    assert (
        reviews.signoff(rid, role="Security", person="sam", approve=False, comment="pen test first")
        == "open"
    )
    assert reviews.signoff(rid, role="Operations", person="oli", approve=True) == "open"
    ok, why = reviews.gate("shop", "1.4.0")
    assert not ok and "Engineering Lead" in why and "Security" in why
    with pytest.raises(ApprovalRefused, match="not a sign-off role"):
        reviews.signoff(rid, role="CTO", person="c", approve=True)


def test_tampering_is_detected(store: Store, tmp_path: Path) -> None:
    reviews, rid = _new(store, tmp_path)
    reviews.mark_na(rid, "launch.pre-launch.marketing-aligned", reason="internal", actor="bob")
    reviews.answer(rid, HIGH_ITEM, actor="bob", status=Status.PASS)
    assert reviews.verify(rid) == []
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_event SET actor = 'mallory' WHERE review_id = :r AND seq = 2"),
            {"r": rid},
        )
    problems = reviews.verify(rid)
    assert problems and "event 2" in problems[0] and "altered" in problems[0]


def test_answers_expire(store: Store, tmp_path: Path) -> None:
    reviews, rid = _new(store, tmp_path)
    item = "reliability.backup-recovery.backup-restoration-tested"
    reviews.answer(
        rid, item, actor="bob", status=Status.PASS, fields={"last_restore_test": "2026-11-01"}
    )
    assert reviews.get(rid).item(item).assessment.status is Status.PASS
    later = Reviews(store, today=dt.date.today() + dt.timedelta(days=120))
    expired = later.get(rid).item(item)
    assert expired.expired and expired.assessment.status is Status.UNKNOWN
    assert "expired" in expired.assessment.message


def test_waivers_expire_and_are_bounded(store: Store, tmp_path: Path) -> None:
    reviews, rid = _new(store, tmp_path)
    with pytest.raises(ApprovalRefused, match="at most 180 days"):
        reviews.request_waiver(
            rid,
            CDN,
            reason="r",
            risk_owner="o",
            actor="a",
            expires=dt.date.today() + dt.timedelta(days=400),
        )
    waiver = reviews.request_waiver(
        rid,
        CDN,
        reason="r",
        risk_owner="o",
        actor="a",
        expires=dt.date.today() + dt.timedelta(days=10),
    )
    reviews.decide_waiver(waiver, approve=True, actor="l", role="Security")
    assert reviews.get(rid).item(CDN).assessment.waiver is not None
    later = Reviews(store, today=dt.date.today() + dt.timedelta(days=11)).get(rid)
    assert later.item(CDN).assessment.waiver is None
    assert later.waivers[0].state == "expired"


def test_drift_after_approval(store: Store, tmp_path: Path) -> None:
    from prr.reports.scan_json import scan_dict

    reviews = Reviews(store)
    (tmp_path / "prr.yaml").write_text("service: shop\n")
    good = scan(tmp_path, Flags(True, True))
    rid = reviews.create("shop", "2.0.0", checklist=good.checklist, actor="a", assessment=good)
    for role in ROLES:
        reviews.signoff(rid, role=role, person=role, approve=True)
    assert reviews.gate("shop", "2.0.0")[0]
    same = scan(tmp_path, Flags(True, True))
    reviews.record_scan(same, scan_dict(same))
    assert reviews.get(rid).state == "approved"
    worse = scan(tmp_path, Flags(False, True))
    reviews.record_scan(worse, scan_dict(worse))
    view = reviews.get(rid)
    assert view.state == "drifted" and RATE in (view.drift or {})["items"]
    ok, why = reviews.gate("shop", "2.0.0")
    assert not ok and "drifted" in why


def test_diff_flags_items_unknown_twice(store: Store, tmp_path: Path) -> None:
    reviews, first = _new(store, tmp_path)
    reviews.answer(first, HIGH_ITEM, actor="b", status=Status.FAIL)
    checklist = load_checklist("service")
    second = reviews.create("shop", "1.5.0", checklist=checklist, actor="a")
    reviews.answer(second, HIGH_ITEM, actor="b", status=Status.PASS)
    result = reviews.diff(first, second)
    assert any(
        d.id == HIGH_ITEM and (d.before, d.after) == ("fail", "pass") for d in result.changed
    )
    assert any(d.id == "reliability.alerting.error-rate-alerts" for d in result.unknown_twice)
    assert [s.id for s in reviews.list_reviews("shop")] == [first, second]


def _sign_in_process(
    url: str, review_id: int, role: str, barrier, results
) -> None:  # pragma: no cover - child
    store = Store(url, migrate=False)
    try:
        barrier.wait(timeout=30)
        state = Reviews(store).signoff(review_id, role=role, person=role, approve=True)
        results.put((role, "ok", state))
    except Exception as exc:
        results.put((role, type(exc).__name__, str(exc)))
    finally:
        store.close()


def test_concurrent_signoffs_both_land(store: Store, store_url: str, tmp_path: Path) -> None:
    import multiprocessing

    reviews = Reviews(store)
    good = scan(tmp_path, Flags(True, True))
    rid = reviews.create("shop", "3.0.0", checklist=good.checklist, actor="a", assessment=good)
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    results = context.Queue()
    workers = [
        context.Process(target=_sign_in_process, args=(store_url, rid, role, barrier, results))
        for role in ROLES
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert all(kind == "ok" for _, kind, _ in outcomes), outcomes
    view = reviews.get(rid)
    assert {s.role for s in view.signoffs} == set(ROLES)
    assert view.state == "approved"
    assert reviews.verify(rid) == []
