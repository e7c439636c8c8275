"""SARIF 2.1.0 output for code-scanning dashboards (GitHub, GitLab, Azure DevOps).

Each checklist item with a finding becomes a rule; each failing or unknown
check result becomes a result at the file and line of its evidence. Blockers
are ``error``, issues ``warning``, unknown critical items ``note``.
"""

from __future__ import annotations

from typing import Any

from prr.engine.scan import Assessment
from prr.engine.status import ItemAssessment
from prr.model.checklist import Severity
from prr.model.evidence import Result, Status

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.0",
    Severity.HIGH: "7.0",
    Severity.MEDIUM: "5.0",
    Severity.LOW: "3.0",
}


def _level(item: ItemAssessment) -> str:
    if item.waiver is not None:
        return "none"
    if item.is_blocker:
        return "error"
    if item.status is Status.FAIL:
        return "warning"
    return "note"


def _rule(item: ItemAssessment) -> dict[str, Any]:
    ref = item.ref
    steps = "\n".join(f"{n}. {step}" for n, step in enumerate(ref.item.remediation, start=1))
    criteria = "\n".join(f"- [ ] {c}" for c in ref.item.acceptance_criteria)
    return {
        "id": ref.id,
        "name": ref.item.id,
        "shortDescription": {"text": ref.title},
        "fullDescription": {"text": ref.item.expected},
        "help": {
            "text": f"{ref.item.expected}\n\nRemediation:\n{steps}\n\nAcceptance criteria:\n"
            f"{criteria}",
            "markdown": f"{ref.item.expected}\n\n**Remediation**\n\n{steps}\n\n"
            f"**Acceptance criteria**\n\n{criteria}",
        },
        "defaultConfiguration": {
            "level": "error" if item.severity is Severity.CRITICAL else "warning"
        },
        "properties": {
            "tags": ["production-readiness", ref.category.id, ref.section.id],
            "precision": "high",
            "security-severity": _SECURITY_SEVERITY[item.severity],
            "severity": item.severity.value,
            "category": ref.category.title,
        },
    }


def _location(path: str, line: int | None) -> dict[str, Any]:
    region = {"startLine": line} if line else {}
    physical: dict[str, Any] = {"artifactLocation": {"uri": path, "uriBaseId": "SRCROOT"}}
    if region:
        physical["region"] = region
    return {"physicalLocation": physical}


def sarif_dict(assessment: Assessment) -> dict[str, Any]:
    """The scan as a SARIF 2.1.0 log."""
    flagged = [
        i
        for i in assessment.items
        if i.status is Status.FAIL or (i.status is Status.UNKNOWN and i.is_issue)
    ]
    rules = [_rule(item) for item in flagged]
    index = {item.ref.id: n for n, item in enumerate(flagged)}
    results: list[dict[str, Any]] = []
    for item in flagged:
        level = _level(item)
        findings: list[Result | None] = [
            r for r in item.results if r.status in (Status.FAIL, Status.UNKNOWN)
        ] or [None]
        for finding in findings:
            text = finding.message if finding else item.message
            placed = [e for e in finding.evidence if e.path] if finding else []
            locations = [_location(e.path or "prr.yaml", e.line) for e in placed[:1]]
            locations = locations or [_location("prr.yaml", None)]
            # Every other place of the same finding (e.g. each committed credential) is kept
            # as a related location with its own message, none dropped.
            related = [
                _location(e.path or "prr.yaml", e.line)
                | {"id": number, "message": {"text": e.summary}}
                for number, e in enumerate(placed[1:], start=1)
            ]
            result: dict[str, Any] = {
                "ruleId": item.ref.id,
                "ruleIndex": index[item.ref.id],
                "level": level,
                "kind": "fail" if item.status is Status.FAIL else "review",
                "message": {"text": f"{item.ref.title}: {text}"},
                "locations": locations,
                "properties": {"status": item.status.value, "blocker": item.is_blocker},
            }
            if related:
                result["relatedLocations"] = related
            if finding:
                result["properties"]["check"] = finding.check_id
                if finding.remediation:
                    result["properties"]["remediation"] = finding.remediation
            if item.waiver is not None:
                result["suppressions"] = [{"kind": "external", "justification": item.waiver.reason}]
            results.append(result)
    notifications = [
        {
            "level": "warning",
            "message": {"text": str(error)},
            "locations": [_location(error.source, error.line)]
            if "/" in error.source or "." in error.source
            else [],
        }
        for error in assessment.errors
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "prr",
                        "version": assessment.tool_version,
                        "informationUri": "https://pypi.org/project/prr/",
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {
                    "SRCROOT": {"uri": "file://" + assessment.root.rstrip("/") + "/"}
                },
                "invocations": [
                    {"executionSuccessful": True, "toolExecutionNotifications": notifications}
                ],
                "results": results,
                "properties": {
                    "verdict": assessment.verdict.value,
                    "checklist": assessment.checklist.ref,
                    "stage": assessment.stage.value,
                },
            }
        ],
    }
