"""The JSON API under ``/api/v1``: scans in, services and reviews out, review actions.

Every rule of the review workflow is :class:`prr.review.reviews.Reviews`'s; this
module only authenticates, checks the caller's role and service scope, and maps
the workflow's errors onto HTTP statuses (see ``app.py``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select

from prr.engine.status import Verdict
from prr.model.checklist import Stage
from prr.model.evidence import Source, Status
from prr.reports.review_json import item_dict, review_dict
from prr.reports.scan_json import SCAN_SCHEMA
from prr.server import auth
from prr.store.schema import Review, Scan, Service, Waiver
from prr.store.users import ALL_SERVICES, AccountError, Accounts, Principal, Role

if TYPE_CHECKING:
    from prr.engine.scan import Assessment
    from prr.review.reviews import Reviews, ReviewView
    from prr.server.metrics import Metrics
    from prr.server.settings import ServerSettings
    from prr.store.db import Store


router = APIRouter(prefix="/api/v1")
Caller = Annotated[Principal, Depends(auth.current_principal)]
Limit = Annotated[int | None, Query(ge=1, le=200, description="Page size (default 50).")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page.")]


# -- request bodies ----------------------------------------------------------------------
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginBody(_Body):
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class TokenBody(LoginBody):
    label: str | None = Field(default=None, max_length=200)
    services: list[str] = Field(default_factory=lambda: [ALL_SERVICES], min_length=1)
    expires_days: int | None = Field(default=90, ge=1, le=3650)


class AnswerBody(_Body):
    item: str
    status: Literal["pass", "fail"] | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    notes: str | None = None
    owner: str | None = None
    eta: dt.date | None = None


class NaBody(_Body):
    item: str
    reason: str


class WaiverBody(_Body):
    item: str
    reason: str
    risk_owner: str
    mitigation: str | None = None
    expires: dt.date | None = None


class DecisionBody(_Body):
    approve: bool
    role: str = Field(description="The sign-off role the decision is made as.")


class SignoffBody(_Body):
    role: str
    approve: bool
    comment: str | None = None


class _Target(BaseModel):
    service: str = Field(min_length=1, max_length=200)
    owner: str | None = None
    tier: str | int | None = None
    commit: str | None = Field(default=None, max_length=64)


class _Summary(BaseModel):
    blockers: int = Field(ge=0)
    issues: int = Field(ge=0)
    verified_share: float = Field(ge=0, le=1)


class _Item(BaseModel):
    id: str = Field(min_length=1, max_length=200)
    status: Status
    source: Source
    blocker: bool = False


class ScanPayload(BaseModel):
    """The parts of a ``prr/scan/v1`` document the server relies on (others are kept as sent)."""

    model_config = ConfigDict(extra="allow")

    schema_: Literal["prr/scan/v1"] = Field(alias="schema")
    target: _Target
    checklist: str = Field(min_length=1, max_length=200)
    stage: Stage
    started_at: dt.datetime
    verdict: Verdict
    summary: _Summary
    categories: list[dict[str, Any]] = Field(default_factory=list)
    items: list[_Item] = Field(min_length=1)
    environments: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> ScanPayload:
        flagged = sum(1 for i in self.items if i.blocker)
        if flagged != self.summary.blockers:
            raise ValueError(
                f"summary.blockers is {self.summary.blockers} but {flagged} item(s) are blockers"
            )
        return self


# -- helpers -----------------------------------------------------------------------------
def _reviews(request: Request) -> Reviews:
    return cast("Reviews", request.app.state.reviews)


def _store(request: Request) -> Store:
    return cast("Store", request.app.state.store)


def _page(request: Request, limit: int | None) -> int:
    settings: ServerSettings = request.app.state.settings
    return min(limit or settings.page_limit, settings.max_page_limit)


def _after(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii"))
    except (ValueError, binascii.Error, UnicodeError):
        raise HTTPException(422, "invalid cursor") from None


def _cursor(rows: list[Any], limit: int) -> str | None:
    if len(rows) <= limit:
        return None
    return base64.urlsafe_b64encode(str(rows[limit - 1].id).encode("ascii")).decode("ascii")


def _iso(value: dt.date | dt.datetime | None) -> str | None:
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
@dataclass(frozen=True)
class _PushedTarget:
    service: str
    owner: str | None
    tier: str | int | None


@dataclass(frozen=True)
class _PushedItem:
    id: str
    status: Status
    source: Source


@dataclass(frozen=True)
class _Named:
    ref: str


@dataclass(frozen=True)
class _PushedScan:
    """What :meth:`Reviews.record_scan` reads of an Assessment, taken from a pushed JSON scan."""

    target: _PushedTarget
    started_at: dt.datetime
    commit: str | None
    environments: list[str]
    checklist: _Named
    stage: Stage
    verdict: Verdict
    blockers: list[str]
    issues: list[None]
    verified_share: float
    items: list[_PushedItem] = field(default_factory=list)


def record_pushed_scan(reviews: Reviews, scan: ScanPayload, payload: dict[str, Any]) -> int:
    """Store a pushed scan through :meth:`Reviews.record_scan`, so drift marking is the same."""
    pushed = _PushedScan(
        target=_PushedTarget(scan.target.service, scan.target.owner, scan.target.tier),
        started_at=scan.started_at,
        commit=scan.target.commit,
        environments=list(scan.environments),
        checklist=_Named(scan.checklist),
        stage=scan.stage,
        verdict=scan.verdict,
        blockers=[i.id for i in scan.items if i.blocker],
        issues=[None] * scan.summary.issues,
        verified_share=scan.summary.verified_share,
        items=[_PushedItem(i.id, i.status, i.source) for i in scan.items],
    )
    return reviews.record_scan(cast("Assessment", pushed), payload, source="push")


@router.post("/scans", status_code=201, tags=["scans"])
def post_scan(payload: dict[str, Any], request: Request, caller: Caller) -> dict[str, Any]:
    """Store a scan (the JSON of ``prr scan --format json``); approved reviews may drift."""
    from pydantic import ValidationError

    auth.require_role(caller, Role.CONTRIBUTOR)
    if payload.get("schema") != SCAN_SCHEMA:
        raise HTTPException(422, f"expected a {SCAN_SCHEMA} document (schema: {SCAN_SCHEMA})")
    try:
        scan = ScanPayload.model_validate(payload)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:20]]
        raise HTTPException(422, problems) from None
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
@router.get("/services", tags=["services"])
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


@router.get("/services/{name}", tags=["services"])
def get_service(name: str, request: Request, caller: Caller) -> dict[str, Any]:
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


@router.get("/services/{name}/scans", tags=["services"])
def list_scans(
    name: str, request: Request, caller: Caller, limit: Limit = None, cursor: Cursor = None
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
@router.get("/reviews", tags=["reviews"])
def list_reviews(
    request: Request,
    caller: Caller,
    service: str | None = None,
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


@router.get("/reviews/{review_id}", tags=["reviews"])
def get_review(review_id: int, request: Request, caller: Caller) -> dict[str, Any]:
    """A review, as ``prr review show --format json`` prints it."""
    _may_act(caller, Role.VIEWER, request, review_id)
    return review_dict(_reviews(request).get(review_id))


@router.post("/reviews/{review_id}/answers", tags=["reviews"])
def post_answer(
    review_id: int, body: AnswerBody, request: Request, caller: Caller
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


@router.post("/reviews/{review_id}/na", tags=["reviews"])
def post_na(review_id: int, body: NaBody, request: Request, caller: Caller) -> dict[str, Any]:
    """Mark an item not applicable, with the justification."""
    _may_act(caller, Role.CONTRIBUTOR, request, review_id)
    reviews = _reviews(request)
    reviews.mark_na(review_id, body.item, reason=body.reason, actor=caller.name)
    return item_dict(reviews.get(review_id).item(body.item))


@router.post("/reviews/{review_id}/waivers", status_code=201, tags=["reviews"])
def post_waiver(
    review_id: int, body: WaiverBody, request: Request, caller: Caller
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


@router.post("/reviews/{review_id}/waivers/{waiver_id}/decision", tags=["reviews"])
def post_waiver_decision(
    review_id: int, waiver_id: int, body: DecisionBody, request: Request, caller: Caller
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


@router.post("/reviews/{review_id}/signoffs", tags=["reviews"])
def post_signoff(
    review_id: int, body: SignoffBody, request: Request, caller: Caller
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


@router.post("/auth/login", tags=["auth"])
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


@router.post("/auth/tokens", status_code=201, tags=["auth"])
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


@router.get("/auth/tokens", tags=["auth"])
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


@router.delete("/auth/tokens/{token_id}", status_code=204, tags=["auth"])
def revoke_token(token_id: int, request: Request, caller: Caller) -> Response:
    """Revoke one of the caller's tokens (any token, for an admin)."""
    auth.limit(request, caller.name)
    owner = None if caller.role is Role.ADMIN else caller.name
    try:
        _accounts(request).revoke_token(token_id, owner=owner)
    except AccountError:
        raise HTTPException(404, f"no token {token_id}") from None
    return Response(status_code=204)


@router.get("/me", tags=["auth"])
def me(caller: Caller) -> dict[str, Any]:
    """Who the token belongs to and what it allows."""
    return {
        "user": caller.name,
        "role": caller.role.value,
        "signoff_roles": list(caller.signoff_roles),
        "services": list(caller.services),
        "token_id": caller.token_id,
    }
