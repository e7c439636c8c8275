"""Review pages: the list, one review with its items, answers, N/A, waivers, sign-offs, reports.

Every change goes through :class:`prr.review.reviews.Reviews`, so the web pages
hold reviews to the same rules as the CLI and the API: a refusal (N/A without a
reason, a waiver the policy does not allow, an approval while a blocker is open)
comes back as an error notice naming why, after a 303 to the review.

The role and the service scope are checked here, server-side, whatever the page
showed: viewers read and download; contributors start reviews, answer, mark N/A
and request waivers; reviewers decide waivers and sign off, only as the sign-off
roles they hold.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from prr.engine.scan import Assessment
from prr.engine.status import ItemAssessment
from prr.errors import (
    ChecklistError,
    FieldValueError,
    PrrError,
    ReviewStateError,
    UnknownItemError,
)
from prr.model.checklist import Checklist, Severity, Stage
from prr.model.evidence import Evidence, Result, Source, Status
from prr.model.fields import FieldSpec, FieldType
from prr.model.target import Target
from prr.review.document import format_value
from prr.review.library import slug as file_slug
from prr.review.reviews import (
    ApprovalRefused,
    ReviewConflict,
    ReviewItemView,
    Reviews,
    ReviewView,
    WaiverView,
)
from prr.server.pages.common import PageUser, form_of, page_user, redirect, render, require, slug
from prr.store.db import Store
from prr.store.schema import AuditEvent, Review, Scan, Service, Waiver
from prr.store.users import Role

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
AUDIT_LIMIT = 50
STATES = ("open", "approved", "drifted")
STATUSES = ("fail", "unknown", "pass", "not_applicable")
PHASES = tuple(str(n) for n in range(1, 10))
STATUS_LABELS = {"pass": "pass", "fail": "fail", "unknown": "unknown", "not_applicable": "n/a"}
SOURCE_LABELS = {"verified": "verified", "drill": "drill", "attested": "answer", "none": "none"}
REPORTS: dict[str, tuple[str, str]] = {
    f"{kind}.{fmt}": (kind, fmt)
    for kind, formats in (
        ("assessment", ("md", "html", "csv", "json")),
        ("prd", ("md", "html", "csv", "json")),
        ("runbooks", ("md", "html", "json")),
        ("backlog", ("csv", "md", "html", "json")),
    )
    for fmt in formats
}
CONTENT_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
REPORT_TITLES = {
    "assessment": "Readiness Assessment",
    "prd": "Readiness PRD",
    "runbooks": "Runbooks",
    "backlog": "Backlog",
}
ReviewId = Annotated[int, Path(ge=1, le=2**31 - 1)]
User = Annotated[PageUser, Depends(page_user)]


# -- shared helpers ------------------------------------------------------------------------
def _reviews(request: Request) -> Reviews:
    reviews: Reviews = request.app.state.reviews
    return reviews


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _guard(request: Request, user: PageUser, review_id: int, role: Role = Role.VIEWER) -> str:
    """The review's service after checking role and service scope (404 for no such review)."""
    require(user, role)
    with _store(request).transaction() as session:
        service = session.scalars(
            select(Service.name).join(Review).where(Review.id == review_id)
        ).first()
    if service is None:
        raise HTTPException(404, f"there is no review {review_id}")
    if not user.principal.may_access(service):
        raise HTTPException(403, f"you may not access service {service!r}")
    return service


def _signoff_role(user: PageUser, role: str) -> str:
    if role not in user.principal.signoff_roles:
        held = ", ".join(user.principal.signoff_roles) or "none"
        raise HTTPException(403, f"you do not hold the sign-off role {role!r} (yours: {held})")
    return role


def _review_url(
    review_id: int, fields: dict[str, str] | None = None, item: str | None = None
) -> str:
    """The review page, keeping the status/phase filter it was posted from, ``item`` open."""
    fields = fields or {}
    query: dict[str, str] = {}
    if fields.get("view_status") in STATUSES:
        query["status"] = fields["view_status"]
    if fields.get("view_phase") in PHASES:
        query["phase"] = fields["view_phase"]
    if item:
        query["open"] = item
    url = f"/reviews/{review_id}" + (f"?{urlencode(query)}" if query else "")
    return url + (f"#item-{slug(item)}" if item else "")


def _text(fields: dict[str, str], name: str, limit: int = 2000) -> str:
    return fields.get(name, "").strip()[:limit]


def _date(value: str, what: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise FieldValueError(what, f"{value!r} is not a date (use YYYY-MM-DD)") from None


def _refusal(reviews: Reviews, review_id: int, exc: PrrError) -> str:
    """The notice for a refusal: the policy's reason, with the blocking items' titles."""
    titles = (
        [b.ref.title for b in reviews.get(review_id).blockers]
        if isinstance(exc, ApprovalRefused) and exc.blockers
        else []
    )
    if titles:
        shown: list[str] = []
        for title in titles:
            if len("; ".join([*shown, title])) > 380:
                break
            shown.append(title)
        more = f"; and {len(titles) - len(shown)} more" if len(shown) < len(titles) else ""
        count = len(titles)
        return (
            f"Approval refused: {count} blocker{'s' if count != 1 else ''} "
            f"{'are' if count != 1 else 'is'} open — " + "; ".join(shown) + more
        )
    if isinstance(exc, ReviewConflict):
        return f"Not saved: {exc}"
    return f"Refused: {exc}"


def _attempt(
    request: Request, reviews: Reviews, review_id: int, url: str, action: Callable[[], str]
) -> Response:
    """Run a review action; a domain refusal becomes an error notice on the review page."""
    try:
        message = action()
    except (ReviewStateError, FieldValueError, UnknownItemError) as exc:
        return redirect(request, url, _refusal(reviews, review_id, exc), kind="error")
    return redirect(request, url, message)


# -- the list and starting a review ----------------------------------------------------------
def checklist_names() -> list[str]:
    """Checklist names a review may start from: built-ins, then those on PRR_CHECKLIST_PATH."""
    from prr.model.loader import builtin_names, search_path

    names = list(builtin_names())
    for folder in search_path():
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            if path.stem not in names:
                names.append(path.stem)
    return names


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


@dataclass(frozen=True)
class ReviewRow:
    """A review's line in the list."""

    id: int
    service: str
    version: str
    stage: str
    state: str
    verdict: str
    phase: int
    blockers: int
    missing: tuple[str, ...]
    created_at: dt.datetime
    created_by: str


@lru_cache(maxsize=4096)
def _row(reviews: Reviews, review_id: int, revision: int, today: dt.date) -> ReviewRow:
    """The list line of one revision of a review on one day.

    Every change to a review bumps its revision, and expiries depend only on the
    day, so a line is computed (from the full view, by the domain's rules) once.
    """
    view = reviews.get(review_id)
    return ReviewRow(
        view.id,
        view.service,
        view.version,
        view.stage.value,
        view.state,
        view.verdict.value,
        view.phase,
        len(view.blockers),
        tuple(view.missing_roles()),
        view.created_at,
        view.created_by,
    )


def list_data(
    reviews: Reviews, store: Store, state: str | None, service: str | None, page: int
) -> dict[str, Any]:
    """One page of reviews, newest first, each with its verdict, blockers and missing roles."""
    query = select(Review.id, Review.revision).join(Service)
    if state:
        query = query.where(Review.state == state)
    if service:
        query = query.where(func.lower(Service.name).like(_like(service), escape="\\"))
    with store.transaction() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        found = session.execute(
            query.order_by(Review.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
        ).all()
    today = reviews.today
    return {
        "rows": [_row(reviews, i, revision or 0, today) for i, revision in found],
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
    }


@router.get("/reviews")
def review_list(
    request: Request,
    user: User,
    state: Annotated[str | None, Query(max_length=20)] = None,
    service: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    state = state if state in STATES else None
    service = (service or "").strip() or None
    data = list_data(_reviews(request), _store(request), state, service, page)
    data["rows"] = [r for r in data["rows"] if user.principal.may_access(r.service)]

    def query(**override: Any) -> str:
        values = {"state": state, "service": service, **override}
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})

    return render(
        request,
        "review_list.html",
        {
            **data,
            "state": state or "",
            "service": service or "",
            "states": STATES,
            "stages": [s.value for s in Stage],
            "checklists": checklist_names(),
            "query": query,
            "quote": _quote,
        },
        user=user,
    )


def _quote(value: str) -> str:
    return quote(value, safe="")


@dataclass(frozen=True)
class _Started:
    review_id: int
    message: str


def _latest_scan(store: Store, service: str) -> tuple[int, dt.datetime, str, str, Any] | None:
    """The service's newest scan: id, start, checklist ref, stage and (only its) payload."""
    with store.transaction() as session:
        row = session.execute(
            select(Scan.id, Scan.started_at, Scan.checklist_ref, Scan.stage)
            .join(Service)
            .where(Service.name == service)
            .order_by(Scan.started_at.desc(), Scan.id.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        payload = session.scalar(select(Scan.payload).where(Scan.id == row.id))
    return row.id, row.started_at, row.checklist_ref, row.stage, payload


def _evidence(raw: dict[str, Any]) -> Evidence:
    def text(key: str) -> str | None:
        value = raw.get(key)
        return None if value is None else str(value)

    line = raw.get("line")
    return Evidence(
        str(raw.get("summary") or ""),
        path=text("path"),
        line=line if isinstance(line, int) and not isinstance(line, bool) else None,
        url=text("url"),
        query=text("query"),
        value=raw.get("value"),
    )


def _status(value: Any, default: Status = Status.UNKNOWN) -> Status:
    try:
        return Status(value)
    except ValueError:
        return default


def _results(item_id: str, raw: dict[str, Any]) -> list[Result]:
    """A scanned item's check results (with evidence) as the scan document recorded them."""
    checks = [c for c in raw.get("checks") or [] if isinstance(c, dict)]
    if not checks:  # an older or slimmer document: evidence carries its check's id
        checks = [
            {"check": e.get("check") or "scan", "evidence": [e]}
            for e in raw.get("evidence") or []
            if isinstance(e, dict)
        ]
    return [
        Result(
            item_id,
            str(check.get("check") or "scan"),
            _status(check.get("status")),
            str(check.get("message") or ""),
            tuple(_evidence(e) for e in check.get("evidence") or [] if isinstance(e, dict)),
        )
        for check in checks
    ]


def scan_assessment(
    service: str,
    checklist: Checklist,
    stage: Stage,
    started_at: dt.datetime,
    payload: Any,
) -> Assessment:
    """The decided items of a stored scan document, as the Assessment a review opens on.

    A pushed document is data from elsewhere: entries that are not for this checklist
    or do not parse are left out (the review then shows those items as unknown).
    """
    items: list[ItemAssessment] = []
    entries = payload.get("items") if isinstance(payload, dict) else None
    for raw in entries or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            continue
        item_id = raw["id"]
        if item_id not in checklist:
            continue
        try:
            status, source = Status(str(raw.get("status"))), Source(str(raw.get("source")))
        except ValueError:
            continue
        if source is Source.NONE:
            continue
        ref = checklist.item(item_id)
        values = raw.get("fields")
        items.append(
            ItemAssessment(
                ref,
                ref.item.severity_at(stage),
                status,
                source,
                str(raw.get("message") or ""),
                results=_results(item_id, raw),
                fields=dict(values) if isinstance(values, dict) else {},
            )
        )
    return Assessment(
        target=Target(service=service),
        checklist=checklist,
        stage=stage,
        root="",
        items=items,
        errors=[],
        started_at=started_at,
        duration_s=0.0,
    )


def start_review(
    reviews: Reviews, store: Store, fields: dict[str, str], actor: str
) -> _Started | str:
    """Open a review on the service's latest scan (when its checklist matches); else why not."""
    from prr.model.loader import load_checklist

    service, version = _text(fields, "service", 300), _text(fields, "version", 300)
    name, stage_text = _text(fields, "checklist", 200) or "service", _text(fields, "stage", 20)
    if not service or not version:
        return "Give the service and the version the review decides on."
    if len(service) > 200 or len(version) > 100:
        return "The service name may have at most 200 characters, the version 100."
    if name not in checklist_names():
        return f"There is no checklist {name!r} in the library."
    if stage_text and stage_text not in {s.value for s in Stage}:
        return f"{stage_text!r} is not a launch stage (experiment, beta or ga)."
    with store.transaction() as session:
        known = session.scalar(select(Service.id).where(Service.name == service))
    if known is None:
        return (
            f"There is no service {service!r} yet: push a scan of it first (prr push), "
            "or start the review from a terminal (prr review new)."
        )
    try:
        checklist = load_checklist(name)
    except ChecklistError as exc:
        return f"The checklist {name!r} cannot be loaded: {exc.problems[0].message}"
    stage = Stage(stage_text) if stage_text else None
    latest = _latest_scan(store, service)
    assessment, scan_id, note = None, None, "no scan of the service yet"
    if latest is not None:
        scan_id_found, started_at, ref, scan_stage, payload = latest
        if ref == checklist.ref:
            at = stage or (Stage(scan_stage) if scan_stage in {s.value for s in Stage} else None)
            assessment = scan_assessment(service, checklist, at or Stage.GA, started_at, payload)
            stage = at
            scan_id, note = scan_id_found, f"with the results of scan {scan_id_found}"
        else:
            note = (
                f"without scan results: the latest scan (scan {scan_id_found}) used "
                f"checklist {ref}, not {checklist.ref}"
            )
    review_id = reviews.create(
        service,
        version,
        checklist=checklist,
        actor=actor,
        stage=stage,
        assessment=assessment,
        scan_id=scan_id,
    )
    at_stage = (stage or Stage.GA).value
    return _Started(
        review_id,
        f"Review {review_id} opened for {service} {version} ({checklist.ref}, {at_stage}), {note}.",
    )


@router.post("/reviews")
async def post_review(request: Request, user: User) -> Response:
    require(user, Role.CONTRIBUTOR)
    fields = await form_of(request, user)
    service = _text(fields, "service", 300)
    if service and not user.principal.may_access(service):
        raise HTTPException(403, f"you may not access service {service!r}")

    def act() -> Response:
        try:
            started = start_review(_reviews(request), _store(request), fields, user.name)
        except (ReviewStateError, FieldValueError) as exc:
            return redirect(request, "/reviews", f"Refused: {exc}", kind="error")
        if isinstance(started, str):
            return redirect(request, "/reviews", started, kind="error")
        return redirect(request, f"/reviews/{started.review_id}", started.message)

    return await run_in_threadpool(act)


# -- one review ----------------------------------------------------------------------------------
@dataclass
class FieldInput:
    """One typed field of an item: how it shows and how the answer form asks for it."""

    spec: FieldSpec
    shown: str
    name: str
    kind: str  # number, date, text, select
    value: str
    step: str | None = None
    low: float | None = None
    high: float | None = None
    hint: str | None = None
    options: tuple[str, ...] = ()


_HINTS = {
    FieldType.DURATION: "e.g. 300ms, 15m, 4h, 30d",
    FieldType.SIZE: "e.g. 500MB, 2GB, 1TiB",
    FieldType.DATETIME: "YYYY-MM-DDTHH:MM",
    FieldType.MONEY: "amount",
}


def _number_text(value: float) -> str:
    """A number as an HTML number input takes it: ``1500000``, ``99.9`` (never ``1.5e+06``)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def field_input(spec: FieldSpec, stored: Any) -> FieldInput:
    """The answer form's input for ``spec``, pre-filled with the stored value."""
    has = stored is not None and stored != ""
    shown = format_value(spec, stored) if has else ""
    name = f"field.{spec.id}"
    kind, value, step = "text", shown, None
    low = high = None
    options: tuple[str, ...] = ()
    if spec.type in (FieldType.INTEGER, FieldType.NUMBER, FieldType.PERCENT, FieldType.MONEY):
        kind, step = "number", "1" if spec.type is FieldType.INTEGER else "any"
        low, high = spec.min, spec.max
        if spec.type is FieldType.PERCENT:
            low = 0 if low is None else low
            high = 100 if high is None else high
        try:
            value = _number_text(spec.parse(stored)) if has else ""
        except FieldValueError:
            value = str(stored)
    elif spec.type is FieldType.DATE:
        kind = "date"
    elif spec.type is FieldType.BOOLEAN:
        kind, options = "select", ("yes", "no")
    elif spec.type is FieldType.ENUM:
        kind, options = "select", tuple(spec.choices or ())
    return FieldInput(
        spec, shown, name, kind, value, step, low, high, _HINTS.get(spec.type), options
    )


@dataclass
class ItemRow:
    """An item of the review as the page shows it."""

    entry: ReviewItemView
    anchor: str
    status: str
    source: str
    severity: str
    blocker: bool
    issue: bool
    waived: bool
    evidence: list[dict[str, Any]]
    inputs: list[FieldInput]
    extra_fields: list[tuple[str, str]]
    waivers: list[WaiverView]
    approvers: tuple[str, ...]
    """Sign-off roles that may approve a waiver of this item (empty: never waivable)."""
    is_open: bool = False

    @property
    def assessment(self) -> ItemAssessment:
        return self.entry.assessment


def _where(raw: dict[str, Any]) -> str | None:
    path, line, url = raw.get("path"), raw.get("line"), raw.get("url")
    if path:
        return f"{path}:{line}" if line else str(path)
    return str(url) if url else None


def _value_text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 300 else text[:299] + "…"


def item_row(entry: ReviewItemView, reviews: Reviews, waivers: list[WaiverView]) -> ItemRow:
    a = entry.assessment
    specs = {spec.id: spec for spec in entry.ref.item.fields}
    return ItemRow(
        entry=entry,
        anchor=f"item-{slug(entry.id)}",
        status=a.status.value,
        source=a.source.value,
        severity=a.severity.value,
        blocker=a.is_blocker,
        issue=a.is_issue,
        waived=a.waiver is not None,
        evidence=[
            {
                "summary": str(e.get("summary") or ""),
                "where": _where(e),
                "query": e.get("query"),
                "value": _value_text(e.get("value")),
                "check": e.get("check"),
            }
            for e in entry.evidence
            if isinstance(e, dict)
        ],
        inputs=[field_input(spec, a.fields.get(spec.id)) for spec in specs.values()],
        extra_fields=[
            (key, _value_text(value) or "")
            for key, value in a.fields.items()
            if key not in specs and value is not None
        ],
        waivers=[w for w in waivers if w.item_id == entry.id],
        approvers=reviews.policy.approvers_for(a.severity),
    )


@dataclass
class CategoryGroup:
    id: str
    title: str
    items: list[ItemRow] = field(default_factory=list)


@dataclass
class PhaseGroup:
    number: int | None
    name: str
    stop_question: str | None
    categories: list[CategoryGroup] = field(default_factory=list)


def group_items(view: ReviewView, rows: list[ItemRow], only: int | None) -> list[PhaseGroup]:
    """Items by the checklist's phases (each with its stop question), then by category.

    Every phase is listed (phase 5 has no items: it is the PRD), unless one is chosen.
    """
    phases = {p.number: p for p in view.checklist.phases}
    groups: dict[int | None, PhaseGroup] = {
        n: PhaseGroup(n, phases[n].name, phases[n].stop_question)
        for n in sorted(phases)
        if only is None or n == only
    }
    for row in rows:
        number = row.entry.ref.phase if row.entry.ref.phase in phases else None
        group = groups.setdefault(number, PhaseGroup(None, "Other items", None))
        category = row.entry.ref.category
        found = next((c for c in group.categories if c.id == category.id), None)
        if found is None:
            found = CategoryGroup(category.id, category.title)
            group.categories.append(found)
        found.items.append(row)
    return list(groups.values())


def audit_trail(store: Store, review_id: int) -> list[dict[str, Any]]:
    """The review's last :data:`AUDIT_LIMIT` events, newest first."""
    with store.transaction() as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.review_id == review_id)
            .order_by(AuditEvent.seq.desc())
            .limit(AUDIT_LIMIT)
        ).all()
        return [
            {
                "seq": e.seq,
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "subject": e.subject,
                "after": _value_text(e.after) if e.after else None,
            }
            for e in events
        ]


@router.get("/reviews/{review_id}")
def review_page(
    request: Request,
    review_id: ReviewId,
    user: User,
    status: Annotated[str | None, Query(max_length=20)] = None,
    phase: Annotated[int | None, Query(ge=1, le=9)] = None,
    open_item: Annotated[str | None, Query(alias="open", max_length=200)] = None,
) -> Response:
    _guard(request, user, review_id)
    reviews = _reviews(request)
    view = reviews.get(review_id)
    status = status if status in STATUSES else None
    rows = [item_row(entry, reviews, view.waivers) for entry in view.items]
    counts = {s: sum(1 for r in rows if r.status == s) for s in STATUSES}
    phase_counts = {
        p.number: sum(1 for r in rows if r.entry.ref.phase == p.number)
        for p in view.checklist.phases
    }
    shown = [
        r
        for r in rows
        if (status is None or r.status == status) and (phase is None or r.entry.ref.phase == phase)
    ]
    for row in shown:
        row.is_open = row.entry.id == open_item
    decided = {s.role: s for s in view.signoffs}

    def query(**override: Any) -> str:
        values = {"status": status, "phase": phase, **override}
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})

    return render(
        request,
        "review.html",
        {
            "view": view,
            "service_url": "/services/" + _quote(view.service),
            "groups": group_items(view, shown, phase),
            "shown": len(shown),
            "counts": counts,
            "phase_counts": phase_counts,
            "status": status or "",
            "phase": phase,
            "query": query,
            "status_labels": STATUS_LABELS,
            "source_labels": SOURCE_LABELS,
            "blockers": [r for r in rows if r.blocker],
            "pending": sum(1 for w in view.waivers if w.state == "requested"),
            "signoffs": [(role, decided.get(role)) for role in view.required_roles],
            "my_roles": [r for r in user.principal.signoff_roles if r in view.required_roles],
            "waiver_roles": list(user.principal.signoff_roles),
            "may_answer": user.can(Role.CONTRIBUTOR) and not view.frozen,
            "may_decide": user.can(Role.REVIEWER) and not view.frozen,
            "audit": audit_trail(_store(request), review_id),
            "downloads": _downloads(review_id),
            "critical": Severity.CRITICAL.value,
            "max_waiver_days": reviews.policy.max_waiver_days,
            "today": reviews.today.isoformat(),
        },
        user=user,
    )


def _downloads(review_id: int) -> list[tuple[str, list[tuple[str, str]]]]:
    labels = {"md": "Markdown", "html": "HTML", "csv": "CSV", "json": "JSON"}
    out: list[tuple[str, list[tuple[str, str]]]] = []
    for kind, title in REPORT_TITLES.items():
        links = [
            (f"/reviews/{review_id}/{name}", labels[fmt])
            for name, (k, fmt) in REPORTS.items()
            if k == kind
        ]
        out.append((title, links))
    return out


# -- item actions --------------------------------------------------------------------------------
def _answer(
    reviews: Reviews, review_id: int, item_id: str, fields: dict[str, str], actor: str
) -> str:
    """Save what changed in the answer form; the form is pre-filled with the current values."""
    entry = reviews.get(review_id).item(item_id)
    raw_status = fields.get("status", "")
    if raw_status not in ("", "pass", "fail"):
        raise FieldValueError("status", "answer pass or fail (N/A has its own form, with a reason)")
    status = Status(raw_status) if raw_status else None
    values: dict[str, str] = {}
    for spec in entry.ref.item.fields:
        given = _text(fields, f"field.{spec.id}", 500)
        if given and given != field_input(spec, entry.assessment.fields.get(spec.id)).value:
            values[spec.id] = given
    notes = _text(fields, "notes", 5000)
    owner = _text(fields, "owner", 200)
    eta = _date(_text(fields, "eta", 20), "eta")
    changes: dict[str, Any] = {
        "notes": notes if notes != (entry.notes or "") else None,
        "owner": owner if owner and owner != (entry.owner or "") else None,
        "eta": eta if eta and eta != entry.eta else None,
    }
    if status is None and not values and all(v is None for v in changes.values()):
        return "Nothing changed."
    reviews.answer(review_id, item_id, actor=actor, status=status, fields=values or None, **changes)
    what = f"answered {status.value}" if status else "updated"
    return f"{entry.ref.title}: {what}."


@router.post("/reviews/{review_id}/items/{item_id}/answer")
async def post_answer(request: Request, review_id: ReviewId, item_id: str, user: User) -> Response:
    require(user, Role.CONTRIBUTOR)
    fields = await form_of(request, user)

    def act() -> Response:
        _guard(request, user, review_id, Role.CONTRIBUTOR)
        reviews = _reviews(request)
        url = _review_url(review_id, fields, item_id)
        return _attempt(
            request,
            reviews,
            review_id,
            url,
            lambda: _answer(reviews, review_id, item_id, fields, user.name),
        )

    return await run_in_threadpool(act)


@router.post("/reviews/{review_id}/items/{item_id}/na")
async def post_na(request: Request, review_id: ReviewId, item_id: str, user: User) -> Response:
    require(user, Role.CONTRIBUTOR)
    fields = await form_of(request, user)

    def act() -> Response:
        _guard(request, user, review_id, Role.CONTRIBUTOR)
        reviews = _reviews(request)

        def mark() -> str:
            reviews.mark_na(
                review_id, item_id, reason=_text(fields, "reason", 2000), actor=user.name
            )
            return f"{reviews.get(review_id).item(item_id).ref.title}: marked not applicable."

        return _attempt(request, reviews, review_id, _review_url(review_id, fields, item_id), mark)

    return await run_in_threadpool(act)


@router.post("/reviews/{review_id}/items/{item_id}/waivers")
async def post_waiver(request: Request, review_id: ReviewId, item_id: str, user: User) -> Response:
    require(user, Role.CONTRIBUTOR)
    fields = await form_of(request, user)

    def act() -> Response:
        _guard(request, user, review_id, Role.CONTRIBUTOR)
        reviews = _reviews(request)

        def ask() -> str:
            waiver_id = reviews.request_waiver(
                review_id,
                item_id,
                reason=_text(fields, "reason", 2000),
                risk_owner=_text(fields, "risk_owner", 200),
                mitigation=_text(fields, "mitigation", 2000) or None,
                expires=_date(_text(fields, "expires", 20), "expires"),
                actor=user.name,
            )
            return f"Waiver {waiver_id} requested; a reviewer with a permitted role decides it."

        return _attempt(request, reviews, review_id, _review_url(review_id, fields, item_id), ask)

    return await run_in_threadpool(act)


@router.post("/reviews/{review_id}/waivers/{waiver_id}/decision")
async def post_waiver_decision(
    request: Request,
    review_id: ReviewId,
    waiver_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    user: User,
) -> Response:
    require(user, Role.REVIEWER)
    fields = await form_of(request, user)
    role = _signoff_role(user, fields.get("role", ""))
    decision = fields.get("decision", "")
    if decision not in ("approve", "deny"):
        raise HTTPException(422, "decide approve or deny")

    def act() -> Response:
        _guard(request, user, review_id, Role.REVIEWER)
        reviews = _reviews(request)
        with _store(request).transaction() as session:
            waiver = session.get(Waiver, waiver_id)
            item_id = waiver.item_id if waiver is not None else None
            if waiver is None or waiver.review_id != review_id:
                raise HTTPException(404, f"there is no waiver {waiver_id} in review {review_id}")

        def decide() -> str:
            reviews.decide_waiver(
                waiver_id, approve=decision == "approve", actor=user.name, role=role
            )
            done = "approved" if decision == "approve" else "denied"
            return f"Waiver {waiver_id} {done} as {role}."

        return _attempt(
            request, reviews, review_id, _review_url(review_id, fields, item_id), decide
        )

    return await run_in_threadpool(act)


@router.post("/reviews/{review_id}/signoffs")
async def post_signoff(request: Request, review_id: ReviewId, user: User) -> Response:
    require(user, Role.REVIEWER)
    fields = await form_of(request, user)
    role = _signoff_role(user, fields.get("role", ""))
    decision = fields.get("decision", "")
    if decision not in ("approve", "reject"):
        raise HTTPException(422, "decide approve or reject")

    def act() -> Response:
        _guard(request, user, review_id, Role.REVIEWER)
        reviews = _reviews(request)

        def sign() -> str:
            state = reviews.signoff(
                review_id,
                role=role,
                person=user.name,
                approve=decision == "approve",
                comment=_text(fields, "comment", 2000) or None,
            )
            done = "Approved" if decision == "approve" else "Rejected"
            after = (
                " Every required role approved: the review is approved and frozen."
                if state == "approved"
                else ""
            )
            return f"{done} as {role}.{after}"

        return _attempt(request, reviews, review_id, _review_url(review_id, fields), sign)

    return await run_in_threadpool(act)


# -- reports ---------------------------------------------------------------------------------
def render_report(view: ReviewView, store: Store, kind: str, fmt: str) -> str:
    """One report of a review, as ``prr report REVIEW --type KIND --format FMT`` writes it."""
    from prr.reports import assessment, backlog, prd, runbooks
    from prr.reports.html import banner_for, render_html
    from prr.reports.model import Document, from_review, to_markdown

    with store.transaction() as session:  # as from_review numbers it, without reading every view
        earlier = session.scalar(
            select(func.count(Review.id))
            .join(Service)
            .where(Service.name == view.service, Review.id <= view.id)
        )
    model = from_review(view, store=store, prd_number=max(earlier or 0, 1))
    if fmt == "json":
        data = {
            "assessment": assessment.report_dict,
            "prd": prd.prd_dict,
            "runbooks": runbooks.runbooks_dict,
            "backlog": backlog.backlog_dict,
        }[kind](model)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return {
            "assessment": assessment.assessment_csv,
            "prd": prd.prd_csv,
            "backlog": backlog.backlog_csv,
        }[kind](model)
    documents: list[Document]
    if kind == "runbooks":
        documents = [book.document for book in runbooks.runbooks(model)]
    else:
        documents = [
            {
                "assessment": assessment.assessment_document,
                "prd": prd.prd_document,
                "backlog": backlog.backlog_document,
            }[kind](model)
        ]
    if fmt == "md":
        return "\n".join(to_markdown(d) for d in documents)
    title = REPORT_TITLES[kind]
    return render_html(
        documents,
        title=f"{title} — {model.service}",
        banner=banner_for(model, title),
        tool_version=model.tool_version,
    )


@router.get("/reviews/{review_id}/{filename}")
def download(request: Request, review_id: ReviewId, filename: str, user: User) -> Response:
    if filename not in REPORTS:
        raise HTTPException(404, f"there is no report {filename!r}")
    service = _guard(request, user, review_id)
    kind, fmt = REPORTS[filename]
    view = _reviews(request).get(review_id)
    body = render_report(view, _store(request), kind, fmt)
    name = f"{file_slug(service)}-{file_slug(view.version)}-review-{review_id}-{kind}.{fmt}"
    return Response(
        body,
        media_type=CONTENT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
