"""JUnit XML output: one test suite per category, one test case per item.

CI systems show failing items as failed tests. Not-applicable and waived items
are skipped; unknown items are skipped with the reason, except unknown
critical items, which fail (an unknown critical item is an issue).
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from prr.engine.scan import Assessment
from prr.model.evidence import Status


def _evidence_text(lines: list[str]) -> str:
    return "\n".join(lines)


def render_junit(assessment: Assessment) -> str:
    suites = ET.Element(
        "testsuites", name=f"prr {assessment.target.service}", tests=str(len(assessment.items))
    )
    total_failures = 0
    for summary in assessment.categories:
        failures = sum(1 for i in summary.items if i.is_blocker or i.is_issue)
        skipped = sum(
            1
            for i in summary.items
            if not (i.is_blocker or i.is_issue) and i.status is not Status.PASS
        )
        total_failures += failures
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=summary.category.title,
            tests=str(len(summary.items)),
            failures=str(failures),
            errors="0",
            skipped=str(skipped),
        )
        for item in summary.items:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"prr.{item.ref.category.id}.{item.ref.section.id}",
                name=f"{item.ref.title} [{item.ref.id}]",
            )
            details = [
                f"{e.location or ''} {e.summary}".strip() for r in item.results for e in r.evidence
            ]
            if item.is_blocker or item.is_issue:
                kind = "blocker" if item.is_blocker else "issue"
                node = ET.SubElement(
                    case,
                    "failure",
                    type=kind,
                    message=f"{kind} ({item.severity.value}): {item.message}",
                )
                node.text = _evidence_text(details)
            elif item.status is not Status.PASS:
                reason = (
                    f"waived: {item.waiver.reason}"
                    if item.waiver
                    else f"{item.status.value}: {item.message}"
                )
                ET.SubElement(case, "skipped", message=reason)
            if details:
                ET.SubElement(case, "system-out").text = _evidence_text(details)
    suites.set("failures", str(total_failures))
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )
