"""Reviews: create, answer, accept risks, sign off, freeze, detect drift, gate deploys.

All rules live here, in one place, for the CLI, the interactive assessment,
Markdown import and the server alike:

- N/A needs a justification; answers are validated against the item's typed fields;
- a risk acceptance needs a reason, a risk owner and an expiry, and only the
  roles the policy names may approve it; critical items are never waivable
  unless the policy says so;
- approval is refused while any blocker is open, naming the blockers;
- a review is approved when every required role approved; it is then frozen;
- a later scan whose verdicts differ marks an approved review as drifted.

Every write is one transaction with its audit event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from prr.engine.scan import Assessment
from prr.engine.status import AppliedWaiver, ItemAssessment, Verdict, category_status, verdict
from prr.errors import FieldValueError, ReviewStateError, UnknownItemError
from prr.model.checklist import Checklist, ItemRef, Severity, Stage
from prr.model.evidence import Source, Status
from prr.review import audit
from prr.review.policy import Policy
from prr.store.db import Store
from prr.store.schema import (
    TREND_POINTS,
    Review,
    ReviewItem,
    Scan,
    Service,
    ServiceStatus,
    Signoff,
    Waiver,
)
from prr.store.schema import utcnow as _now

T = TypeVar("T")

OPEN, APPROVED, DRIFTED = "open", "approved", "drifted"
WAIVER_STATES = ("requested", "approved", "denied", "expired", "revoked")


class ReviewConflict(ReviewStateError):
    """Someone else changed the review at the same moment; nothing was written."""


class ApprovalRefused(ReviewStateError):
    """A sign-off or waiver decision the policy does not allow, and why."""

    def __init__(self, message: str, blockers: list[str] | None = None) -> None:
        self.blockers = blockers or []
        super().__init__(message)


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite gives back naive datetimes (stored as UTC); compare them as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class ScanRecord:
    """What the store keeps of a scan besides its JSON: from an Assessment or a pushed document."""

    service: str
    owner: str | None
    tier: str | int | None
    started_at: dt.datetime
    commit: str | None
    environments: list[str]
    checklist_ref: str
    stage: str
    verdict: str
    blockers: int
    issues: int
    verified_share: float
    statuses: dict[str, str]
    """Item id → status, for the items some check or drill decided (drift compares these)."""
    categories: list[dict[str, Any]]

    @classmethod
    def from_assessment(cls, assessment: Assessment) -> ScanRecord:
        return cls(
            service=assessment.target.service,
            owner=assessment.target.owner,
            tier=assessment.target.tier,
            started_at=assessment.started_at,
            commit=assessment.commit,
            environments=list(assessment.environments),
            checklist_ref=assessment.checklist.ref,
            stage=assessment.stage.value,
            verdict=assessment.verdict.value,
            blockers=len(assessment.blockers),
            issues=len(assessment.issues),
            verified_share=assessment.verified_share,
            statuses={
                i.id: i.status.value for i in assessment.items if i.source is not Source.NONE
            },
            categories=[
                {
                    "id": c.category.id,
                    "title": c.category.title,
                    "status": c.status.value,
                    "blockers": len(c.blockers),
                    "issues": len(c.issues),
                }
                for c in assessment.categories
            ],
        )

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> ScanRecord:
        """From a validated ``prr/scan/v1`` document (the JSON of ``prr scan --format json``)."""
        target = doc["target"]
        summary = doc["summary"]
        started = doc["started_at"]
        if isinstance(started, str):
            started = dt.datetime.fromisoformat(started)
        return cls(
            service=target["service"],
            owner=target.get("owner"),
            tier=target.get("tier"),
            started_at=started,
            commit=target.get("commit"),
            environments=[str(e) for e in doc.get("environments") or []],
            checklist_ref=str(doc["checklist"]),
            stage=str(doc["stage"]),
            verdict=str(doc["verdict"]),
            blockers=int(summary["blockers"]),
            issues=int(summary["issues"]),
            verified_share=float(summary["verified_share"]),
            statuses={
                str(i["id"]): str(i["status"])
                for i in doc["items"]
                if i.get("source", "none") != "none"
            },
            categories=[
                {k: c.get(k) for k in ("id", "title", "status", "blockers", "issues")}
                for c in doc.get("categories") or []
                if isinstance(c, dict)
            ],
        )


@dataclass(frozen=True)
class WaiverView:
    id: int
    item_id: str
    reason: str
    risk_owner: str
    mitigation: str | None
    requested_by: str
    state: str
    decided_by: str | None
    decided_role: str | None
    expires: dt.date | None


@dataclass(frozen=True)
class SignoffView:
    role: str
    person: str
    decision: str
    comment: str | None
    at: dt.datetime


@dataclass
class ReviewItemView:
    """An item of a review: its assessment plus the people's part."""

    assessment: ItemAssessment
    owner: str | None = None
    eta: dt.date | None = None
    notes: str | None = None
    na_reason: str | None = None
    answered_by: str | None = None
    answered_at: dt.datetime | None = None
    expired: bool = False
    evidence: list[dict[str, Any]] = field(default_factory=list)
    """Evidence recorded for the item (from the scan the review was opened on)."""

    @property
    def id(self) -> str:
        return self.assessment.id

    @property
    def ref(self) -> ItemRef:
        return self.assessment.ref


@dataclass
class ReviewView:
    """A review as read: items with their status, waivers, sign-offs, verdict."""

    id: int
    service: str
    owner: str | None
    version: str
    state: str
    stage: Stage
    checklist: Checklist
    context: dict[str, Any]
    items: list[ReviewItemView]
    waivers: list[WaiverView]
    signoffs: list[SignoffView]
    required_roles: tuple[str, ...]
    created_by: str
    created_at: dt.datetime
    approved_at: dt.datetime | None
    phase: int
    scan_id: int | None
    drift: dict[str, Any] | None = None

    @property
    def assessments(self) -> list[ItemAssessment]:
        return [i.assessment for i in self.items]

    @property
    def verdict(self) -> Verdict:
        return verdict(self.assessments)

    @property
    def blockers(self) -> list[ItemAssessment]:
        return [i for i in self.assessments if i.is_blocker]

    @property
    def issues(self) -> list[ItemAssessment]:
        return [i for i in self.assessments if i.is_issue]

    @property
    def frozen(self) -> bool:
        return self.state in (APPROVED, DRIFTED)

    def item(self, item_id: str) -> ReviewItemView:
        for entry in self.items:
            if entry.id == item_id:
                return entry
        raise UnknownItemError(item_id, self.checklist.name)

    def category_status(self, category_id: str) -> str:
        return category_status(
            i for i in self.assessments if i.ref.category.id == category_id
        ).value

    def missing_roles(self) -> list[str]:
        approved = {s.role for s in self.signoffs if s.decision == "approve"}
        return [r for r in self.required_roles if r not in approved]


@dataclass
class ReviewSummary:
    id: int
    service: str
    version: str
    state: str
    stage: str
    checklist: str
    created_at: dt.datetime
    approved_at: dt.datetime | None
    blockers: int = 0
    issues: int = 0
    verdict: str = ""


@dataclass
class ItemDelta:
    id: str
    title: str
    before: str
    after: str


@dataclass
class ReviewDiff:
    """What changed between two reviews of a service, item by item."""

    a: int
    b: int
    changed: list[ItemDelta] = field(default_factory=list)
    unknown_twice: list[ItemDelta] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _snapshot(checklist: Checklist) -> dict[str, Any]:
    return checklist.model_dump(mode="json", by_alias=True)


class Reviews:
    """The review workflow over a store."""

    def __init__(
        self, store: Store, policy: Policy | None = None, *, today: dt.date | None = None
    ) -> None:
        self.store = store
        self.policy = policy or Policy()
        self._today = today
        self._checklists: dict[tuple[int, str, str], Checklist] = {}

    @property
    def today(self) -> dt.date:
        return self._today or dt.date.today()

    # -- transactions ------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[Session]:
        try:
            with self.store.transaction() as session:
                yield session
        except (StaleDataError, IntegrityError) as exc:
            raise ReviewConflict(
                "the review changed while this change was being written; "
                f"nothing was saved ({type(exc).__name__}); try again"
            ) from None
        except OperationalError as exc:
            if "locked" in str(exc).lower():
                raise ReviewConflict(
                    "the store is busy (locked); nothing was saved; try again"
                ) from None
            raise

    def _retry(self, action: Callable[[], T], attempts: int = 3) -> T:
        for attempt in range(attempts):
            try:
                return action()
            except ReviewConflict:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def _review(self, session: Session, review_id: int, *, for_update: bool = True) -> Review:
        query = select(Review).where(Review.id == review_id)
        if for_update:
            query = query.with_for_update()
        review = session.scalars(query).first()
        if review is None:
            raise ReviewStateError(f"no review {review_id}")
        return review

    def _editable(self, session: Session, review_id: int) -> Review:
        review = self._review(session, review_id)
        if review.state in (APPROVED, DRIFTED):
            raise ReviewStateError(
                f"review {review_id} is {review.state} and frozen: it records what was approved. "
                f"Start a new review (prr review new {review.service.name} VERSION) to change it."
            )
        return review

    @staticmethod
    def _touch(review: Review) -> None:
        review.revision = (review.revision or 0) + 1

    # -- services and scans ------------------------------------------------------------
    @staticmethod
    def _service(
        session: Session, name: str, owner: str | None = None, tier: Any = None
    ) -> Service:
        service = session.scalars(select(Service).where(Service.name == name)).first()
        if service is None:
            service = Service(name=name, owner=owner, tier=None if tier is None else str(tier))
            session.add(service)
            session.flush()
        elif owner and service.owner != owner:
            service.owner = owner
        return service

    def record_scan(
        self, scan: Assessment | ScanRecord, payload: dict[str, Any], source: str = "local"
    ) -> int:
        """Store a scan; approved reviews of the service whose verdicts it changes drift.

        Also keeps the service's latest status and trend (the scoreboard's row) current;
        an older scan arriving late is stored but does not replace a newer status.
        """
        record = scan if isinstance(scan, ScanRecord) else ScanRecord.from_assessment(scan)
        with self._tx() as session:
            service = self._service(session, record.service, record.owner, record.tier)
            row = Scan(
                service_id=service.id,
                started_at=record.started_at,
                commit=record.commit,
                environments=list(record.environments),
                checklist_ref=record.checklist_ref,
                stage=record.stage,
                verdict=record.verdict,
                blockers=record.blockers,
                issues=record.issues,
                verified_share=record.verified_share,
                payload=payload,
                source=source,
                categories=record.categories,
            )
            session.add(row)
            session.flush()
            self._update_status(session, service.id, row)
            for review in session.scalars(
                select(Review).where(Review.service_id == service.id, Review.state == APPROVED)
            ).all():
                changed = {
                    item.item_id: {"review": item.status, "scan": record.statuses[item.item_id]}
                    for item in review.items
                    if item.source in (Source.VERIFIED.value, Source.DRILL.value)
                    and item.item_id in record.statuses
                    and record.statuses[item.item_id] != item.status
                }
                if changed:
                    review.state = DRIFTED
                    review.drift = {"scan": row.id, "items": changed}
                    self._touch(review)
                    audit.append(
                        session,
                        review.id,
                        "prr",
                        "drift",
                        f"scan {row.id}",
                        None,
                        {"items": changed},
                    )
            return row.id

    @staticmethod
    def _update_status(session: Session, service_id: int, scan: Scan) -> None:
        status = session.get(ServiceStatus, service_id)
        point = [scan.started_at.date().isoformat(), scan.blockers, scan.issues]
        if status is None:
            session.add(
                ServiceStatus(
                    service_id=service_id,
                    scan_id=scan.id,
                    started_at=scan.started_at,
                    stage=scan.stage,
                    verdict=scan.verdict,
                    blockers=scan.blockers,
                    issues=scan.issues,
                    verified_share=scan.verified_share,
                    categories=scan.categories or [],
                    trend=[point],
                )
            )
            return
        if _aware(scan.started_at) < _aware(status.started_at):
            return
        status.scan_id = scan.id
        status.started_at = scan.started_at
        status.stage = scan.stage
        status.verdict = scan.verdict
        status.blockers = scan.blockers
        status.issues = scan.issues
        status.verified_share = scan.verified_share
        status.categories = scan.categories or []
        status.trend = [*list(status.trend or []), point][-TREND_POINTS:]

    # -- creating and reading ------------------------------------------------------------
    def create(
        self,
        service: str,
        version: str,
        *,
        checklist: Checklist,
        actor: str,
        stage: Stage | None = None,
        context: dict[str, Any] | None = None,
        assessment: Assessment | None = None,
        owner: str | None = None,
        scan_id: int | None = None,
    ) -> int:
        """Open a review; the checklist (and its version) is frozen into it."""
        at_stage = stage or (assessment.stage if assessment else Stage.GA)
        results = {i.id: i for i in assessment.items} if assessment else {}
        with self._tx() as session:
            record = self._service(session, service, owner)
            review = Review(
                service_id=record.id,
                version=version,
                checklist_ref=checklist.ref,
                checklist_snapshot=_snapshot(checklist),
                stage=at_stage.value,
                state=OPEN,
                context=dict(context or {}),
                created_by=actor,
                scan_id=scan_id,
            )
            session.add(review)
            session.flush()
            for ref in checklist:
                found = results.get(ref.id)
                row = ReviewItem(review_id=review.id, item_id=ref.id)
                if found is not None and found.source is not Source.NONE:
                    row.status = found.status.value
                    row.source = found.source.value
                    row.message = found.message
                    row.evidence = [
                        e.to_dict() | {"check": r.check_id}
                        for r in found.results
                        for e in r.evidence
                    ]
                    row.fields = _plain(found.fields)
                session.add(row)
            audit.append(
                session,
                review.id,
                actor,
                "create",
                f"{service} {version}",
                None,
                {"checklist": checklist.ref, "stage": at_stage.value, "scan": scan_id},
            )
            return review.id

    def get(self, review_id: int) -> ReviewView:
        with self.store.transaction() as session:
            return self._view(self._review(session, review_id, for_update=False))

    def latest(self, service: str, version: str | None = None) -> ReviewView | None:
        with self.store.transaction() as session:
            query = select(Review).join(Service).where(Service.name == service)
            if version is not None:
                query = query.where(Review.version == version)
            review = session.scalars(query.order_by(Review.id.desc()).limit(1)).first()
            return self._view(review) if review else None

    def list_reviews(self, service: str | None = None) -> list[ReviewSummary]:
        with self.store.transaction() as session:
            query = select(Review).join(Service).order_by(Review.id)
            if service:
                query = query.where(Service.name == service)
            out = []
            for review in session.scalars(query).all():
                view = self._view(review)
                out.append(
                    ReviewSummary(
                        review.id,
                        review.service.name,
                        review.version,
                        review.state,
                        review.stage,
                        review.checklist_ref,
                        review.created_at,
                        review.approved_at,
                        len(view.blockers),
                        len(view.issues),
                        view.verdict.value,
                    )
                )
            return out

    def _checklist(self, review: Review) -> Checklist:
        """The review's frozen checklist, validated once per review (snapshots never change)."""
        key = (review.id, review.checklist_ref, str(review.created_at))
        cached = self._checklists.get(key)
        if cached is None:
            cached = Checklist.model_validate(review.checklist_snapshot)
            if len(self._checklists) >= 512:
                self._checklists.pop(next(iter(self._checklists)))
            self._checklists[key] = cached
        return cached

    def _view(self, review: Review) -> ReviewView:
        checklist = self._checklist(review)
        stage = Stage(review.stage)
        today = self.today
        active: dict[str, Waiver] = {}
        for waiver in review.waivers:
            if waiver.state == "approved" and not (waiver.expires and waiver.expires < today):
                active[waiver.item_id] = waiver
        rows = {row.item_id: row for row in review.items}
        items = []
        for ref in checklist:
            row = rows.get(ref.id)
            status = Status(row.status) if row else Status.UNKNOWN
            source = Source(row.source) if row else Source.NONE
            message = row.message if row else ""
            expired = False
            if row and row.expires_at and source is Source.ATTESTED:
                expires = (
                    row.expires_at
                    if row.expires_at.tzinfo
                    else row.expires_at.replace(tzinfo=dt.UTC)
                )
                if expires.date() < today:
                    expired = True
                    message = (
                        f"answer expired on {expires.date().isoformat()}; needs a fresh answer"
                    )
                    status, source = Status.UNKNOWN, Source.NONE
            if row and row.na_reason and status is Status.NOT_APPLICABLE:
                message = f"not applicable: {row.na_reason}"
            accepted = active.get(ref.id)
            applied = None
            if accepted is not None:
                applied = AppliedWaiver(
                    f"waiver {accepted.id}",
                    accepted.reason,
                    f"review {review.id}",
                    accepted.risk_owner,
                    accepted.expires.isoformat() if accepted.expires else None,
                )
            assessment = ItemAssessment(
                ref,
                ref.item.severity_at(stage),
                status,
                source,
                message,
                waiver=applied,
                fields=dict(row.fields) if row else {},
            )
            items.append(
                ReviewItemView(
                    assessment,
                    row.owner if row else None,
                    row.eta if row else None,
                    row.notes if row else None,
                    row.na_reason if row else None,
                    row.answered_by if row else None,
                    row.answered_at if row else None,
                    expired,
                    list(row.evidence or []) if row else [],
                )
            )
        return ReviewView(
            id=review.id,
            service=review.service.name,
            owner=review.service.owner,
            version=review.version,
            state=review.state,
            stage=stage,
            checklist=checklist,
            context=dict(review.context or {}),
            items=items,
            waivers=[
                WaiverView(
                    w.id,
                    w.item_id,
                    w.reason,
                    w.risk_owner,
                    w.mitigation,
                    w.requested_by,
                    self._waiver_state(w),
                    w.decided_by,
                    w.decided_role,
                    w.expires,
                )
                for w in review.waivers
            ],
            signoffs=[
                SignoffView(s.role, s.person, s.decision, s.comment, s.at) for s in review.signoffs
            ],
            required_roles=self.policy.required_roles,
            created_by=review.created_by,
            created_at=review.created_at,
            approved_at=review.approved_at,
            phase=review.phase,
            scan_id=review.scan_id,
            drift=review.drift,
        )

    def _waiver_state(self, waiver: Waiver) -> str:
        if waiver.state == "approved" and waiver.expires and waiver.expires < self.today:
            return "expired"
        return waiver.state

    # -- answers -------------------------------------------------------------------------
    def _item(self, session: Session, review: Review, item_id: str) -> tuple[ReviewItem, ItemRef]:
        checklist = self._checklist(review)
        ref = checklist.item(item_id)
        row = session.scalars(
            select(ReviewItem).where(
                ReviewItem.review_id == review.id, ReviewItem.item_id == item_id
            )
        ).first()
        if row is None:
            row = ReviewItem(review_id=review.id, item_id=item_id)
            session.add(row)
        return row, ref

    @staticmethod
    def _state(row: ReviewItem) -> dict[str, Any]:
        return {
            "status": row.status,
            "source": row.source,
            "fields": row.fields,
            "notes": row.notes,
            "na_reason": row.na_reason,
            "owner": row.owner,
            "eta": row.eta.isoformat() if row.eta else None,
        }

    def answer(
        self,
        review_id: int,
        item_id: str,
        *,
        actor: str,
        status: Status | None = None,
        fields: dict[str, Any] | None = None,
        notes: str | None = None,
        owner: str | None = None,
        eta: dt.date | None = None,
    ) -> None:
        """Record a person's answer for an item (pass/fail, field values, notes, owner, ETA)."""
        if status is Status.NOT_APPLICABLE:
            raise ReviewStateError("use mark_na (prr review na) with a justification for N/A")
        with self._tx() as session:
            review = self._editable(session, review_id)
            row, ref = self._item(session, review, item_id)
            before = self._state(row)
            values = dict(row.fields or {})
            for key, raw in (fields or {}).items():
                try:
                    spec = ref.item.field(key)
                except KeyError as exc:
                    raise FieldValueError(key, str(exc.args[0])) from None
                values[key] = _plain(spec.parse(raw))
            row.fields = values
            if status is not None:
                row.status = status.value
                row.source = Source.ATTESTED.value
                row.message = notes or f"answered {status.value} by {actor}"
                row.na_reason = None
                days = ref.item.freshness_days or self.policy.default_freshness_days
                row.expires_at = _now() + dt.timedelta(days=days) if days else None
            if notes is not None:
                row.notes = notes
            if owner is not None:
                row.owner = owner
            if eta is not None:
                row.eta = eta
            row.answered_by, row.answered_at = actor, _now()
            self._touch(review)
            session.flush()
            audit.append(session, review.id, actor, "answer", item_id, before, self._state(row))

    def mark_na(self, review_id: int, item_id: str, *, reason: str, actor: str) -> None:
        """Mark an item not applicable; a justification is required."""
        if not reason or not reason.strip():
            raise ReviewStateError(
                f"N/A for {item_id} needs a justification (why it does not apply)"
            )
        with self._tx() as session:
            review = self._editable(session, review_id)
            row, _ = self._item(session, review, item_id)
            before = self._state(row)
            row.status, row.source = Status.NOT_APPLICABLE.value, Source.ATTESTED.value
            row.na_reason, row.message = reason.strip(), f"not applicable: {reason.strip()}"
            row.answered_by, row.answered_at, row.expires_at = actor, _now(), None
            self._touch(review)
            session.flush()
            audit.append(session, review.id, actor, "na", item_id, before, self._state(row))

    def set_context(self, review_id: int, context: dict[str, Any], *, actor: str) -> None:
        """Merge review context: launch date, traffic, uptime target, requirements …"""
        with self._tx() as session:
            review = self._editable(session, review_id)
            before = dict(review.context or {})
            review.context = {**before, **{k: _plain(v) for k, v in context.items()}}
            self._touch(review)
            audit.append(session, review.id, actor, "context", None, before, review.context)

    def set_phase(self, review_id: int, phase: int, *, actor: str) -> None:
        """Remember how far the interactive assessment got (resumable)."""
        with self._tx() as session:
            review = self._editable(session, review_id)
            before = {"phase": review.phase}
            review.phase = phase
            self._touch(review)
            audit.append(session, review.id, actor, "phase", str(phase), before, {"phase": phase})

    # -- risk acceptance -------------------------------------------------------------------
    def request_waiver(
        self,
        review_id: int,
        item_id: str,
        *,
        reason: str,
        risk_owner: str,
        actor: str,
        mitigation: str | None = None,
        expires: dt.date | None = None,
    ) -> int:
        """Ask to accept the risk of an open gap; it applies once a permitted role approves it."""
        if not reason.strip() or not risk_owner.strip():
            raise ReviewStateError("a risk acceptance needs a reason and a risk owner")
        limit = self.today + dt.timedelta(days=self.policy.max_waiver_days)
        expiry = expires or limit
        if expiry > limit:
            raise ApprovalRefused(
                f"a risk acceptance may last at most {self.policy.max_waiver_days} days "
                f"(until {limit.isoformat()})"
            )
        if expiry < self.today:
            raise ReviewStateError("the expiry date is in the past")
        with self._tx() as session:
            review = self._editable(session, review_id)
            _, ref = self._item(session, review, item_id)
            severity = ref.item.severity_at(Stage(review.stage))
            if not self.policy.approvers_for(severity):
                raise ApprovalRefused(
                    f"{item_id} is {severity.value}: the policy does not allow accepting its risk; "
                    "it must be fixed before launch"
                )
            waiver = Waiver(
                review_id=review.id,
                item_id=item_id,
                reason=reason.strip(),
                risk_owner=risk_owner.strip(),
                mitigation=mitigation,
                requested_by=actor,
                expires=expiry,
                state="requested",
            )
            session.add(waiver)
            self._touch(review)
            session.flush()
            audit.append(
                session,
                review.id,
                actor,
                "waiver-request",
                item_id,
                None,
                {
                    "waiver": waiver.id,
                    "reason": waiver.reason,
                    "risk_owner": waiver.risk_owner,
                    "expires": expiry.isoformat(),
                },
            )
            return waiver.id

    def decide_waiver(self, waiver_id: int, *, approve: bool, actor: str, role: str) -> None:
        """Approve or deny a requested risk acceptance, as a role the policy permits."""
        with self._tx() as session:
            waiver = session.get(Waiver, waiver_id)
            if waiver is None:
                raise ReviewStateError(f"no waiver {waiver_id}")
            review = self._editable(session, waiver.review_id)
            if waiver.state != "requested":
                raise ReviewStateError(f"waiver {waiver_id} is already {waiver.state}")
            _, ref = self._item(session, review, waiver.item_id)
            severity = ref.item.severity_at(Stage(review.stage))
            allowed = self.policy.approvers_for(severity)
            if approve and role not in allowed:
                names = ", ".join(allowed) or "no role"
                raise ApprovalRefused(
                    f"{role} may not accept the risk of a {severity.value} item; allowed: {names}"
                )
            waiver.state = "approved" if approve else "denied"
            waiver.decided_by, waiver.decided_role, waiver.decided_at = actor, role, _now()
            self._touch(review)
            audit.append(
                session,
                review.id,
                actor,
                "waiver-" + waiver.state,
                waiver.item_id,
                {"state": "requested"},
                {"state": waiver.state, "role": role},
            )

    def revoke_waiver(self, waiver_id: int, *, actor: str) -> None:
        with self._tx() as session:
            waiver = session.get(Waiver, waiver_id)
            if waiver is None:
                raise ReviewStateError(f"no waiver {waiver_id}")
            review = self._editable(session, waiver.review_id)
            before = {"state": waiver.state}
            waiver.state = "revoked"
            self._touch(review)
            audit.append(
                session,
                review.id,
                actor,
                "waiver-revoked",
                waiver.item_id,
                before,
                {"state": "revoked"},
            )

    # -- sign-off ------------------------------------------------------------------------------
    def signoff(
        self, review_id: int, *, role: str, person: str, approve: bool, comment: str | None = None
    ) -> str:
        """Record a role's decision; returns the review's state afterwards.

        Approval is refused while any blocker is open. When every required role
        has approved, the review becomes approved and frozen.
        """
        if role not in self.policy.required_roles:
            raise ApprovalRefused(
                f"{role!r} is not a sign-off role; roles: {', '.join(self.policy.required_roles)}"
            )
        return self._retry(lambda: self._signoff(review_id, role, person, approve, comment))

    def _signoff(
        self, review_id: int, role: str, person: str, approve: bool, comment: str | None
    ) -> str:
        with self._tx() as session:
            review = self._editable(session, review_id)
            view = self._view(review)
            if approve and view.blockers:
                names = [f"{b.id} ({b.ref.title})" for b in view.blockers]
                raise ApprovalRefused(
                    f"approval refused: {len(names)} blocker(s) open — " + "; ".join(names), names
                )
            existing = session.scalars(
                select(Signoff).where(Signoff.review_id == review.id, Signoff.role == role)
            ).first()
            before = (
                {"person": existing.person, "decision": existing.decision} if existing else None
            )
            if existing is None:
                existing = Signoff(
                    review_id=review.id,
                    role=role,
                    person=person,
                    decision="approve" if approve else "reject",
                    comment=comment,
                )
                session.add(existing)
            else:
                existing.person, existing.comment = person, comment
                existing.decision = "approve" if approve else "reject"
                existing.at = _now()
            session.flush()
            audit.append(
                session,
                review.id,
                person,
                "signoff",
                role,
                before,
                {"person": person, "decision": existing.decision, "comment": comment},
            )
            approved_roles = {
                s.role
                for s in session.scalars(
                    select(Signoff).where(Signoff.review_id == review.id)
                ).all()
                if s.decision == "approve"
            }
            if all(r in approved_roles for r in self.policy.required_roles):
                review.state, review.approved_at = APPROVED, _now()
                audit.append(
                    session,
                    review.id,
                    person,
                    "approved",
                    None,
                    {"state": OPEN},
                    {"state": APPROVED},
                )
            self._touch(review)
            return review.state

    # -- verification and gates -----------------------------------------------------------------
    def verify(self, review_id: int) -> list[str]:
        """Problems in the review's audit chain (empty when intact)."""
        with self.store.transaction() as session:
            self._review(session, review_id, for_update=False)
            return audit.verify_chain(session, review_id)

    def gate(self, service: str, version: str) -> tuple[bool, str]:
        """Whether an approved, non-drifted review covers this version (for deploy pipelines)."""
        with self.store.transaction() as session:
            reviews = session.scalars(
                select(Review)
                .join(Service)
                .where(Service.name == service, Review.version == version)
                .order_by(Review.id.desc())
            ).all()
            if not reviews:
                return False, f"no review of {service} {version}"
            for review in reviews:
                if review.state == APPROVED:
                    if audit.verify_chain(session, review.id):
                        return False, f"review {review.id} fails audit verification"
                    when = review.approved_at.date().isoformat() if review.approved_at else "?"
                    return True, f"review {review.id} approved {when}"
            latest = reviews[0]
            if latest.state == DRIFTED:
                why = "a later scan changed verdicts; start a new review"
                return False, f"review {latest.id} drifted: {why}"
            view = self._view(latest)
            missing = ", ".join(view.missing_roles()) or "none"
            return False, (
                f"review {latest.id} is {latest.state}: {len(view.blockers)} blocker(s), "
                f"sign-off missing from {missing}"
            )

    def diff(self, a: int, b: int) -> ReviewDiff:
        """Items whose status changed from review ``a`` to ``b``; unknown in both is flagged."""
        first, second = self.get(a), self.get(b)
        result = ReviewDiff(a, b)
        before = {i.id: i for i in first.items}
        after = {i.id: i for i in second.items}
        for item_id, entry in after.items():
            old = before.get(item_id)
            if old is None:
                result.added.append(item_id)
                continue
            s1, s2 = old.assessment.status.value, entry.assessment.status.value
            if s1 != s2:
                result.changed.append(ItemDelta(item_id, entry.ref.title, s1, s2))
            elif s1 == Status.UNKNOWN.value:
                result.unknown_twice.append(ItemDelta(item_id, entry.ref.title, s1, s2))
        result.removed = [i for i in before if i not in after]
        return result


def _plain(value: Any) -> Any:
    """JSON-safe form of a field value (dates and durations as ISO strings)."""
    if isinstance(value, dt.timedelta):
        return f"{value.total_seconds():g}s"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


__all__ = ["ApprovalRefused", "ReviewConflict", "ReviewView", "Reviews", "Severity"]
