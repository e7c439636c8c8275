"""Tables of the store (SQLAlchemy 2 declarative). Migrations live in ``migrations/``.

Every change to a review is also written to ``audit_event``: append-only, one
sequence per review, each row holding the hash of the one before it so that an
edited or deleted row is detectable.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Service(Base):
    """A service known to the store."""

    __tablename__ = "service"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    owner: Mapped[str | None] = mapped_column(String(200))
    tier: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    scans: Mapped[list[Scan]] = relationship(back_populates="service", order_by="Scan.id")
    reviews: Mapped[list[Review]] = relationship(back_populates="service", order_by="Review.id")


class Scan(Base):
    """One scan's results (the JSON of ``prr scan --format json``)."""

    __tablename__ = "scan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    commit: Mapped[str | None] = mapped_column(String(64))
    environments: Mapped[list[Any]] = mapped_column(default=list)
    checklist_ref: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(20))
    verdict: Mapped[str] = mapped_column(String(20))
    blockers: Mapped[int] = mapped_column(Integer)
    issues: Mapped[int] = mapped_column(Integer)
    verified_share: Mapped[float] = mapped_column(Float)
    payload: Mapped[dict[str, Any]] = mapped_column()
    source: Mapped[str] = mapped_column(String(20), default="local")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    categories: Mapped[list[Any] | None] = mapped_column(JSON)
    """Per category: {id, title, status, blockers, issues} — pages never read ``payload`` for it."""

    service: Mapped[Service] = relationship(back_populates="scans")


class ServiceStatus(Base):
    """The latest scan of each service, kept at ingest so the scoreboard reads one small row each.

    ``trend`` holds the last :data:`TREND_POINTS` scans as ``[date, blockers, issues]``
    for the scoreboard's sparkline.
    """

    __tablename__ = "service_status"

    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scan.id"))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    stage: Mapped[str] = mapped_column(String(20), index=True)
    verdict: Mapped[str] = mapped_column(String(20))
    blockers: Mapped[int] = mapped_column(Integer)
    issues: Mapped[int] = mapped_column(Integer)
    verified_share: Mapped[float] = mapped_column(Float)
    categories: Mapped[list[Any]] = mapped_column(default=list)
    trend: Mapped[list[Any]] = mapped_column(default=list)


TREND_POINTS = 12


class Review(Base):
    """A production readiness review of one version of a service."""

    __tablename__ = "review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    version: Mapped[str] = mapped_column(String(100))
    checklist_ref: Mapped[str] = mapped_column(String(200))
    checklist_snapshot: Mapped[dict[str, Any]] = mapped_column()
    stage: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="open")
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("scan.id"))
    phase: Mapped[int] = mapped_column(Integer, default=1)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    drift: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    # Optimistic concurrency: two writers of one review cannot both win silently.
    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012

    service: Mapped[Service] = relationship(back_populates="reviews")
    items: Mapped[list[ReviewItem]] = relationship(
        back_populates="review", order_by="ReviewItem.id"
    )
    waivers: Mapped[list[Waiver]] = relationship(back_populates="review", order_by="Waiver.id")
    signoffs: Mapped[list[Signoff]] = relationship(back_populates="review", order_by="Signoff.id")


class ReviewItem(Base):
    """One checklist item's state within a review."""

    __tablename__ = "review_item"
    __table_args__ = (UniqueConstraint("review_id", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    item_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="unknown")
    source: Mapped[str] = mapped_column(String(20), default="none")
    message: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    owner: Mapped[str | None] = mapped_column(String(200))
    eta: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    na_reason: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    review: Mapped[Review] = relationship(back_populates="items")


class Waiver(Base):
    """A risk acceptance for one item of a review."""

    __tablename__ = "waiver"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    item_id: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    risk_owner: Mapped[str] = mapped_column(String(200))
    mitigation: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_role: Mapped[str | None] = mapped_column(String(100))
    expires: Mapped[dt.date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default="requested")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    review: Mapped[Review] = relationship(back_populates="waivers")


class Signoff(Base):
    """A decision by one role on a review."""

    __tablename__ = "signoff"
    __table_args__ = (UniqueConstraint("review_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    role: Mapped[str] = mapped_column(String(100))
    person: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    review: Mapped[Review] = relationship(back_populates="signoffs")


class AuditEvent(Base):
    """One change to a review; hash-chained per review, never updated or deleted."""

    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("review_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    action: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str | None] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Drill(Base):
    """The outcome of a failure-scenario drill, as evidence with a date."""

    __tablename__ = "drill"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    environment: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(50))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    measurements: Mapped[dict[str, Any]] = mapped_column(default=dict)
    results: Mapped[list[Any]] = mapped_column(default=list)
