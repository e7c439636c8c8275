"""The JSON form of a scan (``prr scan --format json``), documented in docs/json-scan.md.

This is the interchange format: ``prr push`` uploads it and the server ingests
it, so keys are only ever added. Field values that are dates or durations are
written as ISO strings.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prr.engine.scan import Assessment
from prr.engine.status import ItemAssessment
from prr.model.evidence import Status

SCAN_SCHEMA = "prr/scan/v1"


def plain(value: Any) -> Any:
    """JSON-safe form of a measured field value."""
    if isinstance(value, dt.timedelta):
        return f"{value.total_seconds():g}s"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    return value


def item_dict(item: ItemAssessment) -> dict[str, Any]:
    ref = item.ref
    concrete = [r.remediation for r in item.results if r.remediation and r.status is Status.FAIL]
    evidence = [e.to_dict() | {"check": r.check_id} for r in item.results for e in r.evidence]
    return {
        "id": ref.id,
        "title": ref.title,
        "category": ref.category.id,
        "section": ref.section.id,
        "phase": ref.phase,
        "severity": item.severity.value,
        "status": item.status.value,
        "source": item.source.value,
        "blocker": item.is_blocker,
        "issue": item.is_issue,
        "waived": item.waiver is not None,
        "waiver": item.waiver.to_dict() if item.waiver else None,
        "message": item.message,
        "evidence": plain(evidence),
        "fields": plain(item.fields),
        "remediation": {"for_this_repository": concrete, "steps": list(ref.item.remediation)},
        "acceptance_criteria": list(ref.item.acceptance_criteria),
        "checks": [r.to_dict() | {"fields": plain(r.fields)} for r in item.results],
    }


def scan_dict(assessment: Assessment) -> dict[str, Any]:
    """The whole scan as JSON-ready data."""
    target = assessment.target
    counts = {status.value: assessment.count(status) for status in Status}
    return {
        "schema": SCAN_SCHEMA,
        "tool": {"name": "prr", "version": assessment.tool_version},
        "target": {
            "service": target.service,
            "owner": target.owner,
            "tier": target.tier,
            "root": assessment.root,
            "commit": assessment.commit,
            "traits": sorted(assessment.traits),
        },
        "checklist": assessment.checklist.ref,
        "stage": assessment.stage.value,
        "started_at": assessment.started_at.isoformat(),
        "duration_s": round(assessment.duration_s, 3),
        "verdict": assessment.verdict.value,
        "summary": {
            "items": len(assessment.items),
            **counts,
            "blockers": len(assessment.blockers),
            "issues": len(assessment.issues),
            "accepted_risks": len(assessment.accepted_risks),
            "verified": len(assessment.decided),
            "verified_share": round(assessment.verified_share, 4),
            "files_indexed": assessment.files_indexed,
            "checks_run": assessment.checks_run,
            "errors": len(assessment.errors),
        },
        "categories": [
            {
                "id": c.category.id,
                "title": c.category.title,
                "status": c.status.value,
                "blockers": len(c.blockers),
                "issues": len(c.issues),
                "counts": {status.value: c.count(status) for status in Status},
            }
            for c in assessment.categories
        ],
        "items": [item_dict(item) for item in assessment.items],
        "errors": [e.to_dict() for e in assessment.errors],
        "notes": list(assessment.notes),
        "waivers": {
            "expired": [w.model_dump(mode="json") for w in assessment.expired_waivers],
            "unused": [w.model_dump(mode="json") for w in assessment.unused_waivers],
        },
    }
