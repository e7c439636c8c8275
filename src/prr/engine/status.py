"""The readiness rules: which gaps block a launch and what the verdict is.

- a **blocker** is a failing item whose severity (at the launch stage) is
  critical and that has no accepted risk;
- an **issue** is any other failing item without an accepted risk, or a
  critical item whose status is unknown (an unknown critical item is never a pass);
- a category is Blocked with a blocker, has Issues with an issue, else is Ready;
- the verdict is NOT READY with any blocker, CONDITIONAL with issues or
  accepted risks, READY otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from prr.model.checklist import ItemRef, Severity
from prr.model.evidence import Result, Source, Status


class CategoryStatus(StrEnum):
    """A category's state in the executive summary."""

    READY = "Ready"
    ISSUES = "Issues"
    BLOCKED = "Blocked"

    @property
    def icon(self) -> str:
        return {"Ready": "🟢", "Issues": "🟡", "Blocked": "🔴"}[self.value]


class Verdict(StrEnum):
    """The overall answer: may this service take live traffic?"""

    READY = "READY"
    CONDITIONAL = "CONDITIONAL"
    NOT_READY = "NOT READY"

    @property
    def icon(self) -> str:
        return {"READY": "🟢", "CONDITIONAL": "🟡", "NOT READY": "🔴"}[self.value]


@dataclass(frozen=True)
class AppliedWaiver:
    """A waiver (accepted risk) that covers an item in this assessment."""

    id: str
    reason: str
    source: str
    owner: str | None = None
    expires: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class ItemAssessment:
    """One checklist item in an assessment: status, where it came from, and why."""

    ref: ItemRef
    severity: Severity
    status: Status
    source: Source
    message: str
    results: list[Result] = field(default_factory=list)
    waiver: AppliedWaiver | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.ref.id

    @property
    def is_blocker(self) -> bool:
        return (
            self.status is Status.FAIL
            and self.severity is Severity.CRITICAL
            and self.waiver is None
        )

    @property
    def is_issue(self) -> bool:
        if self.waiver is not None:
            return False
        if self.status is Status.FAIL:
            return self.severity is not Severity.CRITICAL
        return self.status is Status.UNKNOWN and self.severity is Severity.CRITICAL

    @property
    def is_accepted_risk(self) -> bool:
        return self.waiver is not None and self.status in (Status.FAIL, Status.UNKNOWN)


def combine(results: Iterable[Result]) -> Status | None:
    """One status from several checks: any fail, else any unknown, else any pass, else N/A.

    An item passes only when every check that looked at it passed (or found it
    not applicable); one unreadable piece of evidence keeps it unknown.
    """
    statuses = {r.status for r in results}
    if not statuses:
        return None
    for status in (Status.FAIL, Status.UNKNOWN, Status.PASS):
        if status in statuses:
            return status
    return Status.NOT_APPLICABLE


def category_status(items: Iterable[ItemAssessment]) -> CategoryStatus:
    listed = list(items)
    if any(i.is_blocker for i in listed):
        return CategoryStatus.BLOCKED
    if any(i.is_issue for i in listed):
        return CategoryStatus.ISSUES
    return CategoryStatus.READY


def verdict(items: Iterable[ItemAssessment]) -> Verdict:
    listed = list(items)
    if any(i.is_blocker for i in listed):
        return Verdict.NOT_READY
    if any(i.is_issue or i.is_accepted_risk for i in listed):
        return Verdict.CONDITIONAL
    return Verdict.READY
