"""A service's page: its latest assessment with evidence, its history, drills, reviews and scans.

Only the latest scan's full JSON (``Scan.payload``) is read, one row; the history
chart, the scan list, drills and reviews come from narrow column queries, so the
page costs the same after one scan or after years of them. The payload was pushed
by a client, so every part of it is read defensively: a missing or odd field shows
as empty, never as an error page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from prr.drills.evidence import DEFAULT_MAX_AGE_DAYS
from prr.server.pages.common import PageUser, page_user, render
from prr.store.db import Store
from prr.store.schema import Drill, Review, Scan, Service, ServiceStatus

router = APIRouter(include_in_schema=False)

STATUSES = ("fail", "unknown", "pass", "not_applicable")
SEVERITIES = ("critical", "high", "medium", "low")
HISTORY_SCANS = 52
LISTED_SCANS = 20
LISTED_DRILLS = 50
LISTED_REVIEWS = 100
EVIDENCE_SHOWN = 20
"""Evidence rows shown per item; a secrets finding can carry hundreds."""
TEXT_LIMIT = 4000


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes (stored as UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _text(value: Any, limit: int = TEXT_LIMIT) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(_text(v) for v in value if v is not None)


@dataclass(frozen=True)
class EvidenceRow:
    summary: str
    location: str
    check: str


@dataclass(frozen=True)
class ItemRow:
    """One item of the latest scan, as the page shows it."""

    id: str
    title: str
    severity: str
    status: str
    source: str
    blocker: bool
    issue: bool
    waived: bool
    message: str
    evidence: tuple[EvidenceRow, ...]
    more_evidence: int
    for_repository: tuple[str, ...]
    steps: tuple[str, ...]
    acceptance: tuple[str, ...]

    @property
    def order(self) -> tuple[int, int, int, int]:
        """Blockers first, then issues, then by status and severity."""
        return (
            0 if self.blocker else 1,
            0 if self.issue else 1,
            STATUSES.index(self.status) if self.status in STATUSES else len(STATUSES),
            SEVERITIES.index(self.severity) if self.severity in SEVERITIES else len(SEVERITIES),
        )


@dataclass
class CategoryBlock:
    id: str
    title: str
    status: str
    blockers: int
    issues: int
    counts: dict[str, int]
    items: list[ItemRow] = field(default_factory=list)


def _evidence(raw: Any) -> EvidenceRow | None:
    if not isinstance(raw, dict):
        return None
    path, line, url = raw.get("path"), raw.get("line"), raw.get("url")
    if path:
        location = f"{path}:{line}" if line else str(path)
    else:
        location = _text(url or raw.get("query") or "", 500)
    return EvidenceRow(
        _text(raw.get("summary")), _text(location, 500), _text(raw.get("check"), 200)
    )


def _item(raw: dict[str, Any]) -> ItemRow:
    evidence = [e for e in (_evidence(r) for r in raw.get("evidence") or []) if e is not None]
    remediation = raw.get("remediation")
    remediation = remediation if isinstance(remediation, dict) else {}
    return ItemRow(
        id=_text(raw.get("id"), 300),
        title=_text(raw.get("title"), 500),
        severity=_text(raw.get("severity"), 20),
        status=_text(raw.get("status"), 20),
        source=_text(raw.get("source"), 20),
        blocker=raw.get("blocker") is True,
        issue=raw.get("issue") is True,
        waived=raw.get("waived") is True,
        message=_text(raw.get("message")),
        evidence=tuple(evidence[:EVIDENCE_SHOWN]),
        more_evidence=max(0, len(evidence) - EVIDENCE_SHOWN),
        for_repository=_texts(remediation.get("for_this_repository")),
        steps=_texts(remediation.get("steps")),
        acceptance=_texts(raw.get("acceptance_criteria")),
    )


def assessment(
    payload: dict[str, Any], status: str | None
) -> tuple[list[CategoryBlock], dict[str, int]]:
    """The scan's categories with their items (only ``status`` ones when given), and counts."""
    blocks: dict[str, CategoryBlock] = {}
    for raw in payload.get("categories") or []:
        if not isinstance(raw, dict) or not raw.get("id"):
            continue
        counts = raw["counts"] if isinstance(raw.get("counts"), dict) else {}
        blocks[str(raw["id"])] = CategoryBlock(
            id=_text(raw["id"], 100),
            title=_text(raw.get("title") or raw["id"], 200),
            status=_text(raw.get("status"), 20),
            blockers=_int(raw.get("blockers")),
            issues=_int(raw.get("issues")),
            counts={s: _int(counts.get(s)) for s in STATUSES},
        )
    totals = dict.fromkeys(STATUSES, 0)
    for raw in payload.get("items") or []:
        if not isinstance(raw, dict):
            continue
        item = _item(raw)
        totals[item.status] = totals.get(item.status, 0) + 1
        if status and item.status != status:
            continue
        category = _text(raw.get("category") or item.id.split(".", 1)[0], 100)
        block = blocks.get(category)
        if block is None:
            block = blocks[category] = CategoryBlock(
                category, category, "", 0, 0, dict.fromkeys(STATUSES, 0)
            )
        block.items.append(item)
    for block in blocks.values():
        block.items.sort(key=lambda i: i.order)
    return list(blocks.values()), totals


# -- history chart ---------------------------------------------------------------------
@dataclass(frozen=True)
class Bar:
    kind: str
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str


def history_chart(
    points: list[tuple[dt.datetime, int, int]], width: int = 720, height: int = 160
) -> dict[str, Any] | None:
    """Bars of blockers and issues per scan, oldest first, as SVG geometry (no script)."""
    if not points:
        return None
    left, right, top_pad, bottom = 30.0, 6.0, 8.0, 18.0
    plot_h = height - top_pad - bottom
    peak = max(max(b, i) for _, b, i in points) or 1
    slot = (width - left - right) / len(points)
    bar_w = max(1.0, min(14.0, slot * 0.4))
    bars: list[Bar] = []
    for n, (when, blockers, issues) in enumerate(points):
        day = _aware(when).date().isoformat()
        x = left + n * slot + (slot - 2 * bar_w) / 2
        for offset, kind, value in ((0.0, "blockers", blockers), (bar_w, "issues", issues)):
            h = plot_h * value / peak
            bars.append(
                Bar(
                    kind,
                    round(x + offset, 1),
                    round(top_pad + plot_h - h, 1),
                    round(bar_w, 1),
                    round(h, 1),
                    value,
                    f"{day}: {value} {kind}",
                )
            )
    first, last = points[0], points[-1]
    summary = (
        f"Blockers and issues of the last {len(points)} scans, "
        f"{_aware(first[0]).date().isoformat()} to {_aware(last[0]).date().isoformat()}: "
        f"blockers {first[1]} then {last[1]} (highest {max(p[1] for p in points)}), "
        f"issues {first[2]} then {last[2]} (highest {max(p[2] for p in points)})"
    )
    return {
        "width": width,
        "height": height,
        "bars": bars,
        "peak": peak,
        "left": left,
        "top": top_pad,
        "baseline": round(top_pad + plot_h, 1),
        "right": width - right,
        "first": _aware(first[0]).date().isoformat(),
        "last": _aware(last[0]).date().isoformat(),
        "summary": summary,
    }


# -- reading the store -----------------------------------------------------------------
def _latest_scan(session: Session, service_id: int, status: ServiceStatus | None) -> Scan | None:
    if status is not None:
        return session.get(Scan, status.scan_id)
    return session.scalars(
        select(Scan).where(Scan.service_id == service_id).order_by(Scan.id.desc()).limit(1)
    ).first()


def service_data(store: Store, name: str, status: str | None) -> dict[str, Any] | None:
    """Everything the service page shows; None when the service is unknown."""
    now = dt.datetime.now(dt.UTC)
    with store.transaction() as session:
        service = session.scalars(select(Service).where(Service.name == name)).first()
        if service is None:
            return None
        current = session.get(ServiceStatus, service.id)
        latest = _latest_scan(session, service.id, current)
        payload = latest.payload if latest is not None and isinstance(latest.payload, dict) else {}
        recent = [
            dict(r._mapping)
            for r in session.execute(
                select(
                    Scan.id,
                    Scan.started_at,
                    Scan.commit,
                    Scan.verdict,
                    Scan.blockers,
                    Scan.issues,
                    Scan.source,
                    Scan.checklist_ref,
                )
                .where(Scan.service_id == service.id)
                .order_by(Scan.started_at.desc(), Scan.id.desc())
                .limit(HISTORY_SCANS)
            )
        ]
        drills = [
            dict(r._mapping)
            for r in session.execute(
                select(
                    Drill.kind,
                    Drill.environment,
                    Drill.outcome,
                    Drill.summary,
                    Drill.started_at,
                    Drill.finished_at,
                )
                .where(Drill.service_id == service.id)
                .order_by(Drill.finished_at.desc(), Drill.id.desc())
                .limit(LISTED_DRILLS)
            )
        ]
        reviews = [
            dict(r._mapping)
            for r in session.execute(
                select(
                    Review.id,
                    Review.version,
                    Review.state,
                    Review.stage,
                    Review.checklist_ref,
                    Review.created_at,
                    Review.approved_at,
                )
                .where(Review.service_id == service.id)
                .order_by(Review.id.desc())
                .limit(LISTED_REVIEWS)
            )
        ]
        header = {
            "name": service.name,
            "owner": service.owner,
            "tier": service.tier,
            "stage": latest.stage if latest else None,
            "verdict": latest.verdict if latest else None,
            "blockers": latest.blockers if latest else None,
            "issues": latest.issues if latest else None,
            "verified_share": latest.verified_share if latest else None,
            "started_at": latest.started_at if latest else None,
            "commit": latest.commit if latest else None,
            "checklist": latest.checklist_ref if latest else None,
            "environments": [str(e) for e in (latest.environments or [])] if latest else [],
            "source": latest.source if latest else None,
        }
    stale_after = dt.timedelta(days=DEFAULT_MAX_AGE_DAYS)
    for drill in drills:
        drill["stale"] = now - _aware(drill["finished_at"]) > stale_after
        drill["summary"] = _text(drill["summary"], 500)
    categories, totals = assessment(payload, status)
    errors = [e for e in payload.get("errors") or [] if isinstance(e, dict)][:50]
    return {
        "service": header,
        "categories": categories,
        "totals": totals,
        "shown": sum(len(c.items) for c in categories),
        "status": status,
        "statuses": STATUSES,
        "scan_errors": [
            {
                "where": _text(
                    f"{e.get('source', '')}:{e['line']}" if e.get("line") else e.get("source"), 500
                ),
                "reason": _text(e.get("reason"), 1000),
            }
            for e in errors
        ],
        "chart": history_chart(
            [(r["started_at"], r["blockers"], r["issues"]) for r in reversed(recent)]
        ),
        "history": list(reversed(recent)),
        "scans": recent[:LISTED_SCANS],
        "drills": drills,
        "drill_stale_days": DEFAULT_MAX_AGE_DAYS,
        "reviews": reviews,
    }


@router.get("/services/{name:path}")
def service_page(
    request: Request,
    name: str,
    user: Annotated[PageUser, Depends(page_user)],
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    if not user.principal.may_access(name):
        raise HTTPException(403, "your account is not allowed to see this service")
    if status and status not in STATUSES:
        raise HTTPException(400, f"unknown status filter; use one of {', '.join(STATUSES)}")
    data = service_data(request.app.state.store, name, status or None)
    if data is None:
        raise HTTPException(404, f"no service named {name!r}; push a scan of it with prr push")
    return render(request, "service.html", data, user=user)
