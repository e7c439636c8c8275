"""The JSON API under ``/api/v1``: scans in, services and reviews out, review actions.

Every rule of the review workflow is :class:`prr.review.reviews.Reviews`'s; this
module only authenticates, checks the caller's role and service scope, and maps
the workflow's errors onto HTTP statuses (see ``app.py``).

The OpenAPI document is part of the interface: each operation declares its success
shape and every error status it can answer (always ``{"detail": …}``), and
tests/server/test_openapi_fuzz.py holds the server to it. Inputs are bounded to
what the store can hold (ids, lengths, dates, text without NUL), so a request can
be refused but never reaches the database as an error.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import func, select

from prr.engine.status import CategoryStatus, Verdict
from prr.model.checklist import Stage
from prr.model.evidence import Source, Status
from prr.reports.review_json import item_dict, review_dict
from prr.server import auth
from prr.store.schema import Review, Scan, Service, Waiver
from prr.store.users import ALL_SERVICES, AccountError, Accounts, Principal, Role

if TYPE_CHECKING:
    from prr.review.reviews import Reviews, ReviewView
    from prr.server.metrics import Metrics
    from prr.server.settings import ServerSettings
    from prr.store.db import Store


router = APIRouter(prefix="/api/v1")
Caller = Annotated[Principal, Depends(auth.current_principal)]

MAX_ID = 2**31 - 1
"""The largest id the store's integer keys hold (PostgreSQL ``integer``)."""
MAX_COUNT = 100_000
"""More items than any checklist has; bounds the counts a pushed scan may claim."""
LONG_TEXT = 20_000
"""Free text (notes, reasons, comments): ample for prose, bounded for the store."""
NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"
"""Names (services): no control characters, which would garble logs and pages."""

Limit = Annotated[int | None, Query(ge=1, le=200, description="Page size (default 50).")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=24,
        pattern=r"^[A-Za-z0-9_-]*={0,2}$",
        description="next_cursor of the previous page.",
    ),
]
ReviewId = Annotated[int, Path(ge=1, le=MAX_ID, description="A review's id.")]
WaiverId = Annotated[int, Path(ge=1, le=MAX_ID, description="A risk acceptance's id.")]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID, description="An API token's id.")]
ServiceName = Annotated[
    str, Path(min_length=1, max_length=200, pattern=NAME_PATTERN, description="A service.")
]
ServiceFilter = Annotated[
    str | None,
    Query(min_length=1, max_length=200, pattern=NAME_PATTERN, description="Only this service."),
]
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


NonBlank = Annotated[str, AfterValidator(_non_blank)]


def unstorable(value: Any) -> str | None:
    """Why a parsed JSON value cannot be stored as sent, or None when it can.

    PostgreSQL refuses NUL in text and NaN/Infinity in JSON; an unpaired surrogate
    is stored but cannot be encoded when read back, so every later answer that
    includes it would fail. Such input is refused up front (422). Iterative, so
    deep nesting cannot overflow the stack.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "text must not contain NUL characters"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "text must not contain unpaired surrogates"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "numbers must be finite (no NaN or Infinity)"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


class _Storable(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        problem = unstorable(data)
        if problem:
            raise ValueError(problem)
        return data


# -- request bodies ----------------------------------------------------------------------
class _Body(_Storable):
    model_config = ConfigDict(extra="forbid")


class LoginBody(_Body):
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class TokenBody(LoginBody):
    label: str | None = Field(default=None, max_length=200)
    services: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=lambda: [ALL_SERVICES], min_length=1, max_length=1000
    )
    expires_days: int | None = Field(default=90, ge=1, le=3650)


class AnswerBody(_Body):
    item: str = Field(min_length=1, max_length=200)
    status: Literal["pass", "fail"] | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    notes: str | None = Field(default=None, max_length=LONG_TEXT)
    owner: str | None = Field(default=None, max_length=200)
    eta: dt.date | None = None


class NaBody(_Body):
    item: str = Field(min_length=1, max_length=200)
    reason: NonBlank = Field(max_length=LONG_TEXT)


class WaiverBody(_Body):
    item: str = Field(min_length=1, max_length=200)
    reason: NonBlank = Field(max_length=LONG_TEXT)
    risk_owner: NonBlank = Field(max_length=200)
    mitigation: str | None = Field(default=None, max_length=LONG_TEXT)
    expires: dt.date | None = None


class DecisionBody(_Body):
    approve: bool
    role: str = Field(
        min_length=1, max_length=100, description="The sign-off role the decision is made as."
    )


class SignoffBody(_Body):
    role: str = Field(min_length=1, max_length=100)
    approve: bool
    comment: str | None = Field(default=None, max_length=LONG_TEXT)


class ScanTarget(BaseModel):
    service: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    owner: str | None = Field(default=None, max_length=200)
    tier: (
        Annotated[str, Field(max_length=50)] | Annotated[int, Field(ge=-(10**18), le=10**18)] | None
    ) = None
    commit: str | None = Field(default=None, max_length=64)


class ScanTotals(BaseModel):
    blockers: int = Field(ge=0, le=MAX_COUNT)
    issues: int = Field(ge=0, le=MAX_COUNT)
    verified_share: float = Field(ge=0, le=1)


class ScanCategory(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=200)
    title: str = Field(max_length=1000)
    status: CategoryStatus
    blockers: int = Field(ge=0, le=MAX_COUNT)
    issues: int = Field(ge=0, le=MAX_COUNT)


class ScanItem(BaseModel):
    id: str = Field(min_length=1, max_length=200)
    status: Status
    source: Source
    blocker: bool = False


class ScanPayload(_Storable):
    """The parts of a ``prr/scan/v1`` document the server relies on (others are kept as sent)."""

    model_config = ConfigDict(extra="allow")

    schema_: Literal["prr/scan/v1"] = Field(alias="schema")
    target: ScanTarget
    checklist: str = Field(min_length=1, max_length=200)
    stage: Stage
    started_at: dt.datetime = Field(
        description="When the scan ran; a time without offset is UTC. Not before 1970, "
        "not more than a day ahead of the server's clock."
    )
    verdict: Verdict
    summary: ScanTotals
    categories: list[ScanCategory] = Field(default_factory=list, max_length=1000)
    items: list[ScanItem] = Field(min_length=1, max_length=MAX_COUNT)
    environments: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=100
    )

    @field_validator("started_at")
    @classmethod
    def _plausible(cls, value: dt.datetime) -> dt.datetime:
        # A scan from the future would stay the service's "latest" for ever.
        value = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
        if not EPOCH <= value <= dt.datetime.now(dt.UTC) + dt.timedelta(days=1):
            raise ValueError("must lie between 1970 and now (a day of clock skew is allowed)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ScanPayload:
        flagged = sum(1 for i in self.items if i.blocker)
        if flagged != self.summary.blockers:
            raise ValueError(
                f"summary.blockers is {self.summary.blockers} but {flagged} item(s) are blockers"
            )
        if self.summary.blockers + self.summary.issues > len(self.items):
            raise ValueError("summary counts more blockers and issues than there are items")
        return self


# -- answers -----------------------------------------------------------------------------
class Problem(BaseModel):
    """Every error answer: ``detail`` says what is wrong (a list of problems for bad input)."""

    model_config = ConfigDict(extra="forbid")

    detail: str | list[str]
    blockers: list[str] | None = Field(
        default=None, description="409 on a refused approval: the open blockers."
    )
    retryable: bool | None = Field(
        default=None, description="409 on a concurrent change: trying again may succeed."
    )


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Open(BaseModel):
    """Part of the stable ``prr/review/v1`` shape, which may gain keys (docs/json-review.md)."""

    model_config = ConfigDict(extra="allow")


class ScanSummary(_Out):
    id: int
    started_at: dt.datetime
    commit: str | None
    checklist: str
    stage: Stage
    verdict: Verdict
    blockers: int
    issues: int
    verified_share: float
    source: str = Field(description="`local` (recorded by the CLI) or `push` (over this API).")


class ServiceEntry(_Out):
    name: str
    owner: str | None
    tier: str | None
    latest_scan: ScanSummary | None


class ServicePage(_Out):
    items: list[ServiceEntry]
    next_cursor: str | None


class ServiceReview(_Out):
    id: int
    version: str
    state: Literal["open", "approved", "drifted"]
    stage: Stage
    checklist: str
    created_at: dt.datetime
    approved_at: dt.datetime | None
    verdict: Verdict
    blockers: int
    issues: int


class ServiceDetail(_Out):
    name: str
    owner: str | None
    tier: str | None
    latest_scan: ScanSummary | None
    categories: list[dict[str, Any]] = Field(description="The latest scan's categories, as sent.")
    reviews: list[ServiceReview]


class ScanPage(_Out):
    items: list[ScanSummary]
    next_cursor: str | None


class ReviewEntry(ServiceReview):
    service: str
    missing_roles: list[str]


class ReviewPage(_Out):
    items: list[ReviewEntry]
    next_cursor: str | None


class ReviewItem(_Open):
    id: str
    title: str
    category: str
    section: str
    phase: int
    severity: str
    status: Status
    source: Source
    blocker: bool
    issue: bool
    waived: bool
    message: str
    fields: dict[str, Any]
    owner: str | None
    eta: dt.date | None
    notes: str | None
    na_reason: str | None
    answered_by: str | None
    answered_at: str | None
    expired: bool


class ReviewCategory(_Open):
    id: str
    title: str
    status: CategoryStatus
    blockers: int
    issues: int


class ReviewWaiver(_Open):
    id: int
    item: str
    state: str
    reason: str
    risk_owner: str
    mitigation: str | None
    requested_by: str
    decided_by: str | None
    decided_role: str | None
    expires: dt.date | None


class ReviewSignoff(_Open):
    role: str
    person: str
    decision: str
    comment: str | None
    at: str


class ReviewDocument(_Open):
    """A review as ``prr review show --format json`` prints it (docs/json-review.md)."""

    schema_: Literal["prr/review/v1"] = Field(alias="schema")
    id: int
    service: str
    owner: str | None
    version: str
    state: Literal["open", "approved", "drifted"]
    frozen: bool
    stage: Stage
    checklist: str
    phase: int
    scan_id: int | None
    created_by: str
    created_at: str
    approved_at: str | None
    context: dict[str, Any]
    drift: dict[str, Any] | None
    verdict: Verdict
    blockers: list[str]
    issues: list[str]
    required_roles: list[str]
    missing_roles: list[str]
    summary: dict[str, int]
    categories: list[ReviewCategory]
    items: list[ReviewItem]
    waivers: list[ReviewWaiver]
    signoffs: list[ReviewSignoff]


class ScanStored(_Out):
    id: int
    service: str
    verdict: Verdict
    blockers: int
    issues: int
    drifted_reviews: list[int] = Field(description="Approved reviews this scan made drift.")


class WaiverState(_Out):
    id: int
    state: Literal["requested", "approved", "denied"]


class SignoffState(_Out):
    review: int
    role: str
    state: Literal["open", "approved", "drifted"] = Field(
        description="The review's state after this decision."
    )


class SessionStarted(_Out):
    user: str
    role: Role
    signoff_roles: list[str]
    csrf_token: str


class TokenIssued(_Out):
    id: int
    token: str = Field(description="The secret: shown once, never stored in clear.")
    services: list[str]
    expires_at: dt.datetime | None


class TokenEntry(_Out):
    id: int
    user: str
    kind: str
    label: str | None
    services: list[str]
    expires_at: dt.datetime | None
    revoked: bool
    created_at: dt.datetime
    last_used_at: dt.datetime | None


class TokenList(_Out):
    items: list[TokenEntry]


class Me(_Out):
    user: str
    role: Role
    signoff_roles: list[str]
    services: list[str]
    token_id: int | None


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
_ERRORS: dict[int, dict[str, Any]] = {
    400: {"description": "The body could not be read as JSON text (for example, not UTF-8)."},
    401: {
        "description": "No valid, unexpired API token.",
        "headers": {
            "WWW-Authenticate": {
                "description": "`Bearer`.",
                "required": True,
                "schema": {"type": "string"},
            }
        },
    },
    403: {"description": "The token's role or service scope does not allow this."},
    404: {"description": "No such resource."},
    409: {"description": "The review refuses this now: frozen, blockers open, or changed."},
    413: {"description": "The request body is larger than the server accepts."},
    422: {"description": "The request is invalid; `detail` lists the problems."},
    423: {"description": "Account locked after repeated failed logins.", "headers": _RETRY_AFTER},
    429: {"description": "Too many attempts; slow down.", "headers": _RETRY_AFTER},
}
_WRONG_PASSWORD = {"description": "Wrong name or password."}


def _documented(
    success: type[BaseModel] | None,
    *errors: int,
    status: int = 200,
    body: bool = False,
    bearer: bool = True,
) -> dict[str, Any]:
    """Route keywords declaring the success shape and every error status of an operation.

    Handlers return plain dicts (so nothing is dropped or re-validated on the way
    out); these declarations document them, and the fuzz test checks they agree.
    """
    responses: dict[int | str, dict[str, Any]] = {}
    if success is not None:
        responses[status] = {"model": success}
    codes = {*errors, *((401,) if bearer else ()), *((400, 413, 422) if body else ())}
    for code in sorted(codes):
        info = _ERRORS[code] if bearer or code != 401 else _WRONG_PASSWORD
        responses[code] = {"model": Problem, **info}
    return {"status_code": status, "response_model": None, "responses": responses}


# -- helpers -----------------------------------------------------------------------------
def _reviews(request: Request) -> Reviews:
    return cast("Reviews", request.app.state.reviews)


def _store(request: Request) -> Store:
    return cast("Store", request.app.state.store)


def _page(request: Request, limit: int | None) -> int:
    settings: ServerSettings = request.app.state.settings
    return min(limit or settings.page_limit, settings.max_page_limit)


def _after(cursor: str | None) -> int:
    """The id a cursor points after; 422 unless it is one this API handed out."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
    except (ValueError, binascii.Error, UnicodeError):
        raise HTTPException(422, "invalid cursor") from None
    if not (text.isdigit() and len(text) <= 10 and int(text) <= MAX_ID):
        raise HTTPException(422, "invalid cursor")
    return int(text)


def _cursor(rows: list[Any], limit: int) -> str | None:
    if len(rows) <= limit:
        return None
    return base64.urlsafe_b64encode(str(rows[limit - 1].id).encode("ascii")).decode("ascii")


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    """ISO 8601; a stored time without offset is UTC (SQLite keeps none) and says so."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat() if value else None


def _scan_summary(scan: Scan | None) -> dict[str, Any] | None:
    if scan is None:
        return None
    return {
        "id": scan.id,
        "started_at": _iso(scan.started_at),
        "commit": scan.commit,
        "checklist": scan.checklist_ref,
        "stage": scan.stage,
        "verdict": scan.verdict,
        "blockers": scan.blockers,
        "issues": scan.issues,
        "verified_share": scan.verified_share,
        "source": scan.source,
    }


def _review_service(request: Request, review_id: int) -> str:
    with _store(request).transaction() as session:
        name = session.scalars(
            select(Service.name).join(Review).where(Review.id == review_id)
        ).first()
    if name is None:
        raise HTTPException(404, f"no review {review_id}")
    return name


def _may_act(caller: Principal, role: Role, request: Request, review_id: int) -> None:
    auth.require_role(caller, role)
    auth.require_service(caller, _review_service(request, review_id))


def _at_least(role: Role) -> Callable[[Principal], Principal]:
    """A dependency refusing (403) callers below ``role`` before the body is looked at."""

    def check(caller: Caller) -> Principal:
        auth.require_role(caller, role)
        return caller

    return check


def review_summary(view: ReviewView) -> dict[str, Any]:
    return {
        "id": view.id,
        "service": view.service,
        "version": view.version,
        "state": view.state,
        "stage": view.stage.value,
        "checklist": view.checklist.ref,
        "created_at": _iso(view.created_at),
        "approved_at": _iso(view.approved_at),
        "verdict": view.verdict.value,
        "blockers": len(view.blockers),
        "issues": len(view.issues),
        "missing_roles": view.missing_roles(),
    }


# -- scans -------------------------------------------------------------------------------
def record_pushed_scan(reviews: Reviews, scan: ScanPayload, payload: dict[str, Any]) -> int:
    """Store a pushed scan through :meth:`Reviews.record_scan`, so drift marking is the same.

    The record is made from the validated document (times normalised to UTC); the
    payload is stored as sent.
    """
    from prr.review.reviews import ScanRecord

    record = ScanRecord.from_document(scan.model_dump(mode="json", by_alias=True))
    return reviews.record_scan(record, payload, source="push")


async def _raw_json(request: Request) -> Any:
    """The body as sent (parsed once: Starlette caches it); None when it is not JSON at all."""
    try:
        return await request.json()
    except (ValueError, RecursionError):  # the scan parameter is refused (422) in that case
        return None


@router.post("/scans", tags=["scans"], **_documented(ScanStored, 403, status=201, body=True))
def post_scan(
    scan: ScanPayload,
    request: Request,
    caller: Annotated[Principal, Depends(_at_least(Role.CONTRIBUTOR))],
    payload: Annotated[Any, Depends(_raw_json)],
) -> dict[str, Any]:
    """Store a scan (the JSON of ``prr scan --format json``); approved reviews may drift."""
    auth.require_service(caller, scan.target.service)
    scan_id = record_pushed_scan(_reviews(request), scan, payload)
    metrics: Metrics = request.app.state.metrics
    metrics.scans.labels(scan.verdict.value).inc()
    with _store(request).transaction() as session:
        drifted = [
            r.id
            for r in session.scalars(select(Review).where(Review.state == "drifted")).all()
            if (r.drift or {}).get("scan") == scan_id
        ]
    return {
        "id": scan_id,
        "service": scan.target.service,
        "verdict": scan.verdict.value,
        "blockers": scan.summary.blockers,
        "issues": scan.summary.issues,
        "drifted_reviews": drifted,
    }


# -- services ----------------------------------------------------------------------------
@router.get("/services", tags=["services"], **_documented(ServicePage, 422))
def list_services(
    request: Request, caller: Caller, limit: Limit = None, cursor: Cursor = None
) -> dict[str, Any]:
    """Services the caller may see, each with its latest scan."""
    size = _page(request, limit)
    with _store(request).transaction() as session:
        query = select(Service).where(Service.id > _after(cursor)).order_by(Service.id)
        if ALL_SERVICES not in caller.services:
            query = query.where(Service.name.in_(caller.services))
        rows = list(session.scalars(query.limit(size + 1)).all())
        page = rows[:size]
        latest_ids = (
            select(func.max(Scan.id))
            .where(Scan.service_id.in_([s.id for s in page]))
            .group_by(Scan.service_id)
        )
        scans = {
            s.service_id: s for s in session.scalars(select(Scan).where(Scan.id.in_(latest_ids)))
        }
        items = [
            {
                "name": s.name,
                "owner": s.owner,
                "tier": s.tier,
                "latest_scan": _scan_summary(scans.get(s.id)),
            }
            for s in page
        ]
    return {"items": items, "next_cursor": _cursor(rows, size)}


def _service(request: Request, caller: Caller, name: str) -> Service:
    auth.require_service(caller, name)
    with _store(request).transaction() as session:
        service = session.scalars(select(Service).where(Service.name == name)).first()
    if service is None:
        raise HTTPException(404, f"no service {name!r}")
    return service


@router.get("/services/{name}", tags=["services"], **_documented(ServiceDetail, 403, 404, 422))
def get_service(name: ServiceName, request: Request, caller: Caller) -> dict[str, Any]:
    """A service: its latest scan (with categories) and its reviews."""
    service = _service(request, caller, name)
    with _store(request).transaction() as session:
        scan = session.scalars(
            select(Scan).where(Scan.service_id == service.id).order_by(Scan.id.desc()).limit(1)
        ).first()
        categories = list((scan.payload or {}).get("categories", [])) if scan else []
        latest = _scan_summary(scan)
    reviews = _reviews(request)
    return {
        "name": service.name,
        "owner": service.owner,
        "tier": service.tier,
        "latest_scan": latest,
        "categories": categories,
        "reviews": [
            {
                "id": r.id,
                "version": r.version,
                "state": r.state,
                "stage": r.stage,
                "checklist": r.checklist,
                "created_at": _iso(r.created_at),
                "approved_at": _iso(r.approved_at),
                "verdict": r.verdict,
                "blockers": r.blockers,
                "issues": r.issues,
            }
            for r in reviews.list_reviews(service.name)
        ],
    }


@router.get("/services/{name}/scans", tags=["services"], **_documented(ScanPage, 403, 404, 422))
def list_scans(
    name: ServiceName,
    request: Request,
    caller: Caller,
    limit: Limit = None,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """A service's scans, newest first."""
    service = _service(request, caller, name)
    size = _page(request, limit)
    after = _after(cursor)
    with _store(request).transaction() as session:
        query = select(Scan).where(Scan.service_id == service.id)
        if after:
            query = query.where(Scan.id < after)
        rows = list(session.scalars(query.order_by(Scan.id.desc()).limit(size + 1)).all())
        items = [_scan_summary(s) for s in rows[:size]]
    return {"items": items, "next_cursor": _cursor(rows, size)}


# -- reviews -----------------------------------------------------------------------------
@router.get("/reviews", tags=["reviews"], **_documented(ReviewPage, 403, 422))
def list_reviews(
    request: Request,
    caller: Caller,
    service: ServiceFilter = None,
    state: Literal["open", "approved", "drifted"] | None = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Reviews the caller may see, oldest first; filter by service and state."""
    if service is not None:
        auth.require_service(caller, service)
    size = _page(request, limit)
    with _store(request).transaction() as session:
        query = select(Review.id).join(Service).where(Review.id > _after(cursor))
        if service is not None:
            query = query.where(Service.name == service)
        if state is not None:
            query = query.where(Review.state == state)
        if ALL_SERVICES not in caller.services:
            query = query.where(Service.name.in_(caller.services))
        ids = list(session.scalars(query.order_by(Review.id).limit(size + 1)).all())
    reviews = _reviews(request)
    items = [review_summary(reviews.get(i)) for i in ids[:size]]
    rows = [_Id(i) for i in ids]
    return {"items": items, "next_cursor": _cursor(rows, size)}


@dataclass(frozen=True)
class _Id:
    id: int


@router.get("/reviews/{review_id}", tags=["reviews"], **_documented(ReviewDocument, 403, 404, 422))
def get_review(review_id: ReviewId, request: Request, caller: Caller) -> dict[str, Any]:
    """A review, as ``prr review show --format json`` prints it."""
    _may_act(caller, Role.VIEWER, request, review_id)
    return review_dict(_reviews(request).get(review_id))


@router.post(
    "/reviews/{review_id}/answers",
    tags=["reviews"],
    **_documented(ReviewItem, 403, 404, 409, body=True),
)
def post_answer(
    review_id: ReviewId, body: AnswerBody, request: Request, caller: Caller
) -> dict[str, Any]:
    """Answer an item: pass/fail, typed field values, notes, owner, ETA."""
    _may_act(caller, Role.CONTRIBUTOR, request, review_id)
    reviews = _reviews(request)
    reviews.answer(
        review_id,
        body.item,
        actor=caller.name,
        status=Status(body.status) if body.status else None,
        fields=body.fields,
        notes=body.notes,
        owner=body.owner,
        eta=body.eta,
    )
    return item_dict(reviews.get(review_id).item(body.item))


@router.post(
    "/reviews/{review_id}/na", tags=["reviews"], **_documented(ReviewItem, 403, 404, 409, body=True)
)
def post_na(review_id: ReviewId, body: NaBody, request: Request, caller: Caller) -> dict[str, Any]:
    """Mark an item not applicable, with the justification."""
    _may_act(caller, Role.CONTRIBUTOR, request, review_id)
    reviews = _reviews(request)
    reviews.mark_na(review_id, body.item, reason=body.reason, actor=caller.name)
    return item_dict(reviews.get(review_id).item(body.item))


@router.post(
    "/reviews/{review_id}/waivers",
    tags=["reviews"],
    **_documented(WaiverState, 403, 404, 409, status=201, body=True),
)
def post_waiver(
    review_id: ReviewId, body: WaiverBody, request: Request, caller: Caller
) -> dict[str, Any]:
    """Request a risk acceptance for an item; it applies once a permitted role approves."""
    _may_act(caller, Role.CONTRIBUTOR, request, review_id)
    waiver_id = _reviews(request).request_waiver(
        review_id,
        body.item,
        reason=body.reason,
        risk_owner=body.risk_owner,
        actor=caller.name,
        mitigation=body.mitigation,
        expires=body.expires,
    )
    return {"id": waiver_id, "state": "requested"}


@router.post(
    "/reviews/{review_id}/waivers/{waiver_id}/decision",
    tags=["reviews"],
    **_documented(WaiverState, 403, 404, 409, body=True),
)
def post_waiver_decision(
    review_id: ReviewId,
    waiver_id: WaiverId,
    body: DecisionBody,
    request: Request,
    caller: Caller,
) -> dict[str, Any]:
    """Approve or deny a requested risk acceptance as one of the caller's sign-off roles."""
    _may_act(caller, Role.REVIEWER, request, review_id)
    auth.require_signoff_role(caller, body.role)
    with _store(request).transaction() as session:
        waiver = session.get(Waiver, waiver_id)
        if waiver is None or waiver.review_id != review_id:
            raise HTTPException(404, f"no waiver {waiver_id} in review {review_id}")
    _reviews(request).decide_waiver(
        waiver_id, approve=body.approve, actor=caller.name, role=body.role
    )
    return {"id": waiver_id, "state": "approved" if body.approve else "denied"}


@router.post(
    "/reviews/{review_id}/signoffs",
    tags=["reviews"],
    **_documented(SignoffState, 403, 404, 409, body=True),
)
def post_signoff(
    review_id: ReviewId, body: SignoffBody, request: Request, caller: Caller
) -> dict[str, Any]:
    """Sign off as one of the caller's sign-off roles; refused (409) while a blocker is open."""
    _may_act(caller, Role.REVIEWER, request, review_id)
    auth.require_signoff_role(caller, body.role)
    state = _reviews(request).signoff(
        review_id, role=body.role, person=caller.name, approve=body.approve, comment=body.comment
    )
    return {"review": review_id, "role": body.role, "state": state}


# -- accounts ----------------------------------------------------------------------------
def _accounts(request: Request) -> Accounts:
    return cast("Accounts", request.app.state.accounts)


def _password_login(request: Request, body: LoginBody) -> Principal:
    from prr.store.users import LockedOut

    auth.limit(request, body.name)
    try:
        return _accounts(request).login(body.name, body.password)
    except LockedOut as exc:
        raise HTTPException(
            423,
            "account locked after repeated failed logins; try again later",
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    except AccountError:
        raise HTTPException(401, "wrong name or password") from None


@router.post(
    "/auth/login",
    tags=["auth"],
    **_documented(SessionStarted, 401, 423, 429, body=True, bearer=False),
)
def login(body: LoginBody, request: Request, response: Response) -> dict[str, Any]:
    """Sign in with a password: sets the session cookie (for the web pages)."""
    principal = _password_login(request, body)
    request.state.user = principal.name
    settings = request.app.state.settings
    cookie, session = auth.issue_session(principal.name, settings.session_secret)
    auth.set_session_cookie(response, request, cookie, settings.session_timeout_s)
    return {
        "user": principal.name,
        "role": principal.role.value,
        "signoff_roles": list(principal.signoff_roles),
        "csrf_token": session.csrf,
    }


@router.post(
    "/auth/tokens",
    tags=["auth"],
    **_documented(TokenIssued, 401, 423, 429, status=201, body=True, bearer=False),
)
def create_token(body: TokenBody, request: Request) -> dict[str, Any]:
    """Exchange a password for a personal API token, shown once in this answer."""
    principal = _password_login(request, body)
    request.state.user = principal.name
    token_id, secret = _accounts(request).create_token(
        principal.name,
        services=body.services,
        expires_in=dt.timedelta(days=body.expires_days) if body.expires_days else None,
        label=body.label,
    )
    info = next(t for t in _accounts(request).tokens(principal.name) if t.id == token_id)
    return {
        "id": token_id,
        "token": secret,
        "services": list(info.services),
        "expires_at": _iso(info.expires_at),
    }


@router.get("/auth/tokens", tags=["auth"], **_documented(TokenList))
def list_tokens(request: Request, caller: Caller) -> dict[str, Any]:
    """The caller's tokens (every user's for an admin); never the secrets."""
    owner = None if caller.role is Role.ADMIN else caller.name
    return {
        "items": [
            {
                "id": t.id,
                "user": t.user,
                "kind": t.kind,
                "label": t.label,
                "services": list(t.services),
                "expires_at": _iso(t.expires_at),
                "revoked": t.revoked,
                "created_at": _iso(t.created_at),
                "last_used_at": _iso(t.last_used_at),
            }
            for t in _accounts(request).tokens(owner)
        ]
    }


@router.delete(
    "/auth/tokens/{token_id}", tags=["auth"], **_documented(None, 404, 422, 429, status=204)
)
def revoke_token(token_id: TokenId, request: Request, caller: Caller) -> Response:
    """Revoke one of the caller's tokens (any token, for an admin)."""
    auth.limit(request, caller.name)
    owner = None if caller.role is Role.ADMIN else caller.name
    try:
        _accounts(request).revoke_token(token_id, owner=owner)
    except AccountError:
        raise HTTPException(404, f"no token {token_id}") from None
    return Response(status_code=204)


@router.get("/me", tags=["auth"], **_documented(Me))
def me(caller: Caller) -> dict[str, Any]:
    """Who the token belongs to and what it allows."""
    return {
        "user": caller.name,
        "role": caller.role.value,
        "signoff_roles": list(caller.signoff_roles),
        "services": list(caller.services),
        "token_id": caller.token_id,
    }
