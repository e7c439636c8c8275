"""The seed's status rules: blockers, issues, category status and the verdict."""

from __future__ import annotations

import pytest

from prr.engine.status import (
    AppliedWaiver,
    CategoryStatus,
    ItemAssessment,
    Verdict,
    category_status,
    combine,
    verdict,
)
from prr.model.checklist import Severity
from prr.model.evidence import Result, Source, Status
from prr.model.loader import load_checklist

REF = load_checklist("service").item("security.authorization.api-rate-limiting-enabled")


def item(status: Status, severity: Severity, waived: bool = False) -> ItemAssessment:
    waiver = AppliedWaiver("x", "accepted", "prr.yaml") if waived else None
    return ItemAssessment(REF, severity, status, Source.VERIFIED, "", waiver=waiver)


def result(status: Status) -> Result:
    return Result("i", "c", status, "m")


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], None),
        ([Status.PASS], Status.PASS),
        ([Status.PASS, Status.FAIL], Status.FAIL),
        ([Status.PASS, Status.UNKNOWN], Status.UNKNOWN),
        ([Status.UNKNOWN, Status.FAIL], Status.FAIL),
        ([Status.NOT_APPLICABLE, Status.PASS], Status.PASS),
        ([Status.NOT_APPLICABLE], Status.NOT_APPLICABLE),
    ],
)
def test_combine(statuses: list[Status], expected: Status | None) -> None:
    assert combine(result(s) for s in statuses) == expected


def test_blocker_and_issue_rules() -> None:
    assert item(Status.FAIL, Severity.CRITICAL).is_blocker
    assert not item(Status.FAIL, Severity.CRITICAL).is_issue
    assert item(Status.FAIL, Severity.HIGH).is_issue
    assert item(Status.FAIL, Severity.LOW).is_issue
    assert item(Status.UNKNOWN, Severity.CRITICAL).is_issue, "an unknown critical item is an issue"
    assert not item(Status.UNKNOWN, Severity.HIGH).is_issue
    assert not item(Status.PASS, Severity.CRITICAL).is_blocker
    waived = item(Status.FAIL, Severity.CRITICAL, waived=True)
    assert not waived.is_blocker and not waived.is_issue and waived.is_accepted_risk


def test_category_status_and_verdict() -> None:
    ready = [item(Status.PASS, Severity.CRITICAL), item(Status.NOT_APPLICABLE, Severity.HIGH)]
    issues = [*ready, item(Status.FAIL, Severity.MEDIUM)]
    blocked = [*issues, item(Status.FAIL, Severity.CRITICAL)]
    assert category_status(ready) is CategoryStatus.READY
    assert category_status(issues) is CategoryStatus.ISSUES
    assert category_status(blocked) is CategoryStatus.BLOCKED
    assert verdict(ready) is Verdict.READY
    assert verdict(issues) is Verdict.CONDITIONAL
    assert verdict(blocked) is Verdict.NOT_READY
    assert (
        verdict([*ready, item(Status.FAIL, Severity.CRITICAL, waived=True)]) is Verdict.CONDITIONAL
    )
