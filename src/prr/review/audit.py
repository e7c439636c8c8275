"""The audit trail: every change to a review, hash-chained so tampering shows.

Each event stores the hash of the previous event of the same review; the
event's own hash covers its content and that link. Editing, deleting or
reordering a row breaks the chain, and :func:`verify_chain` says where.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from prr.store.schema import AuditEvent

GENESIS = "0" * 64


def _digest(event: AuditEvent) -> str:
    at = event.at if event.at.tzinfo else event.at.replace(tzinfo=dt.UTC)
    body = {
        "review": event.review_id,
        "seq": event.seq,
        "actor": event.actor,
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "action": event.action,
        "subject": event.subject,
        "before": event.before,
        "after": event.after,
        "prev": event.prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def append(
    session: Session,
    review_id: int,
    actor: str,
    action: str,
    subject: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one event after the review's last one (in the caller's transaction)."""
    last = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.review_id == review_id)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    event = AuditEvent(
        review_id=review_id,
        seq=(last.seq + 1) if last else 1,
        actor=actor,
        at=dt.datetime.now(dt.UTC),
        action=action,
        subject=subject,
        before=before,
        after=after,
        prev_hash=last.hash if last else GENESIS,
        hash="",
    )
    event.hash = _digest(event)
    session.add(event)
    session.flush()
    return event


def verify_chain(session: Session, review_id: int) -> list[str]:
    """Problems in a review's audit chain; empty when it is intact."""
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.review_id == review_id).order_by(AuditEvent.seq)
    ).all()
    problems = []
    previous = GENESIS
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            problems.append(f"event {expected_seq} is missing (found seq {event.seq})")
            expected_seq = event.seq
        if event.prev_hash != previous:
            problems.append(
                f"event {event.seq} ({event.action}) does not follow event {event.seq - 1}"
            )
        if _digest(event) != event.hash:
            problems.append(f"event {event.seq} ({event.action} by {event.actor}) was altered")
        previous = event.hash
    if not events:
        problems.append("the review has no audit trail")
    return problems
