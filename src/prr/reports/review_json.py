"""A review as JSON data: the stable ``prr/review/v1`` shape (docs/json-review.md).

The CLI (``prr review show --format json``) and the server's API write the
same shape from here, so the two can never drift apart.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prr.engine.status import category_status
from prr.model.evidence import Source, Status
from prr.reports.scan_json import plain
from prr.review.reviews import ReviewItemView, ReviewView

REVIEW_SCHEMA = "prr/review/v1"


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def item_dict(entry: ReviewItemView) -> dict[str, Any]:
    """One item of a review as JSON-ready data (see the module docstring)."""
    item = entry.assessment
    return {
        "id": item.id,
        "title": item.ref.title,
        "category": item.ref.category.id,
        "section": item.ref.section.id,
        "phase": item.ref.phase,
        "severity": item.severity.value,
        "status": item.status.value,
        "source": item.source.value,
        "blocker": item.is_blocker,
        "issue": item.is_issue,
        "waived": item.waiver is not None,
        "message": item.message,
        "fields": plain(item.fields),
        "owner": entry.owner,
        "eta": _iso(entry.eta),
        "notes": entry.notes,
        "na_reason": entry.na_reason,
        "answered_by": entry.answered_by,
        "answered_at": _iso(entry.answered_at),
        "expired": entry.expired,
    }


def review_dict(view: ReviewView, items: list[ReviewItemView] | None = None) -> dict[str, Any]:
    """The review as JSON-ready data: the stable ``prr/review/v1`` shape."""

    assessments = view.assessments
    counts: dict[str, Any] = {"items": len(assessments)}
    counts |= {s.value: sum(1 for i in assessments if i.status is s) for s in Status}
    counts |= {
        "blockers": len(view.blockers),
        "issues": len(view.issues),
        "accepted_risks": sum(1 for i in assessments if i.is_accepted_risk),
        "verified": sum(1 for i in assessments if i.source in (Source.VERIFIED, Source.DRILL)),
        "attested": sum(1 for i in assessments if i.source is Source.ATTESTED),
    }
    categories = []
    for category in view.checklist.categories:
        members = [i for i in assessments if i.ref.category.id == category.id]
        if members:
            categories.append(
                {
                    "id": category.id,
                    "title": category.title,
                    "status": category_status(members).value,
                    "blockers": sum(1 for i in members if i.is_blocker),
                    "issues": sum(1 for i in members if i.is_issue),
                }
            )
    return {
        "schema": REVIEW_SCHEMA,
        "id": view.id,
        "service": view.service,
        "owner": view.owner,
        "version": view.version,
        "state": view.state,
        "frozen": view.frozen,
        "stage": view.stage.value,
        "checklist": view.checklist.ref,
        "phase": view.phase,
        "scan_id": view.scan_id,
        "created_by": view.created_by,
        "created_at": _iso(view.created_at),
        "approved_at": _iso(view.approved_at),
        "context": plain(view.context),
        "drift": view.drift,
        "verdict": view.verdict.value,
        "blockers": [b.id for b in view.blockers],
        "issues": [i.id for i in view.issues],
        "required_roles": list(view.required_roles),
        "missing_roles": view.missing_roles(),
        "summary": counts,
        "categories": categories,
        "items": [item_dict(e) for e in (view.items if items is None else items)],
        "waivers": [
            {
                "id": w.id,
                "item": w.item_id,
                "state": w.state,
                "reason": w.reason,
                "risk_owner": w.risk_owner,
                "mitigation": w.mitigation,
                "requested_by": w.requested_by,
                "decided_by": w.decided_by,
                "decided_role": w.decided_role,
                "expires": _iso(w.expires),
            }
            for w in view.waivers
        ],
        "signoffs": [
            {
                "role": s.role,
                "person": s.person,
                "decision": s.decision,
                "comment": s.comment,
                "at": _iso(s.at),
            }
            for s in view.signoffs
        ],
    }
