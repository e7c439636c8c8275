"""Drill outcomes in the store, and which of them still count.

A drill result is evidence with a date: "verified by drill on 2026-11-20".
It goes stale after ``max_age_days`` (default 90); a stale result no longer
decides its items, which become unknown again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from prr.drills.base import DrillOutcome
from prr.model.evidence import Evidence, Result, Status
from prr.store.db import Store
from prr.store.schema import Drill, Service

DEFAULT_MAX_AGE_DAYS = 90


def _evidence_dict(evidence: Evidence) -> dict[str, Any]:
    return evidence.to_dict()


def save_outcome(store: Store, service: str, outcome: DrillOutcome) -> int:
    """Store a drill outcome as evidence; returns its id."""
    with store.transaction() as session:
        record = session.scalars(select(Service).where(Service.name == service)).first()
        if record is None:
            record = Service(name=service)
            session.add(record)
            session.flush()
        row = Drill(
            service_id=record.id,
            environment=outcome.environment,
            kind=outcome.drill,
            started_at=outcome.started_at,
            finished_at=outcome.finished_at,
            outcome="pass" if outcome.passed else "fail",
            summary=outcome.summary,
            measurements=outcome.measurements,
            results=[
                {
                    "item": r.item_id,
                    "check": r.check_id,
                    "status": r.status.value,
                    "message": r.message,
                    "evidence": [_evidence_dict(e) for e in r.evidence],
                    "fields": r.fields,
                    "remediation": r.remediation,
                    "environment": r.environment,
                }
                for r in outcome.results
            ],
        )
        session.add(row)
        session.flush()
        return row.id


def fresh_results(
    store: Store,
    service: str,
    *,
    today: dt.date | None = None,
    max_age_days: int = DEFAULT_MAX_AGE_DAYS,
) -> tuple[list[Result], list[str]]:
    """Results of the latest drill of each kind and environment that is not stale.

    Returns the results and notes about stale drills that no longer count.
    """
    now = today or dt.date.today()
    results: list[Result] = []
    stale: list[str] = []
    with store.transaction() as session:
        rows = session.scalars(
            select(Drill)
            .join(Service)
            .where(Service.name == service)
            .order_by(Drill.finished_at.desc())
        ).all()
        seen: set[tuple[str, str]] = set()
        for row in rows:
            key = (row.kind, row.environment)
            if key in seen:
                continue
            seen.add(key)
            finished = (
                row.finished_at
                if row.finished_at.tzinfo
                else row.finished_at.replace(tzinfo=dt.UTC)
            )
            age = (now - finished.date()).days
            if age > max_age_days:
                stale.append(
                    f"drill {row.kind} on {row.environment} ran {finished.date().isoformat()} "
                    f"({age} days ago, older than {max_age_days}): no longer counts"
                )
                continue
            on = finished.date().isoformat()
            for data in row.results:
                evidence = tuple(
                    Evidence(
                        f"{e.get('summary', '')} (drill on {on})",
                        path=e.get("path"),
                        line=e.get("line"),
                        url=e.get("url"),
                        query=e.get("query"),
                        value=e.get("value"),
                    )
                    for e in data.get("evidence", [])
                ) or (Evidence(f"verified by drill {row.kind} on {on}", value=row.measurements),)
                results.append(
                    Result(
                        data["item"],
                        data["check"],
                        Status(data["status"]),
                        f"{data['message']} (verified by drill on {on})",
                        evidence,
                        data.get("remediation"),
                        dict(data.get("fields") or {}),
                        environment=data.get("environment") or row.environment,
                    )
                )
    return results, stale
