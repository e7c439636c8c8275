"""A Markdown summary of a scan, sized for a merge-request comment."""

from __future__ import annotations

from prr.engine.scan import Assessment
from prr.engine.status import ItemAssessment


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def _where(item: ItemAssessment) -> str:
    places = [e.location for r in item.results for e in r.evidence if e.location]
    return ", ".join(f"`{_cell(p)}`" for p in list(dict.fromkeys(places))[:3])


def render_markdown(assessment: Assessment) -> str:
    target = assessment.target
    verdict = assessment.verdict
    out = [
        f"## Production readiness: {target.service} — {verdict.icon} **{verdict.value}**",
        "",
        f"Checklist `{assessment.checklist.ref}` · stage `{assessment.stage.value}` · "
        f"{len(assessment.blockers)} blockers · {len(assessment.issues)} issues · "
        f"{len(assessment.accepted_risks)} accepted risks · "
        f"{len(assessment.decided)}/{len(assessment.items)} items verified from evidence",
        "",
        "| Category | Status | Blockers | Issues |",
        "|----------|--------|----------|--------|",
    ]
    for summary in assessment.categories:
        out.append(
            f"| {summary.category.title} | {summary.status.icon} {summary.status.value} "
            f"| {len(summary.blockers)} | {len(summary.issues)} |"
        )
    sections = (
        ("Blockers (must fix before launch)", assessment.blockers),
        ("Issues (should fix)", [i for i in assessment.issues if i.status.value == "fail"]),
    )
    for title, items in sections:
        if not items:
            continue
        out += [
            "",
            f"### {title}",
            "",
            "| ID | Item | Finding | Where |",
            "|----|------|---------|-------|",
        ]
        for item in items:
            cells = [f"`{item.ref.id}`", _cell(item.ref.title), _cell(item.message), _where(item)]
            out.append("| " + " | ".join(cells) + " |")
    unknown_critical = [i for i in assessment.issues if i.status.value == "unknown"]
    if unknown_critical:
        out += ["", "### Critical items not yet verified", ""]
        out += [
            f"- `{i.ref.id}` {_cell(i.ref.title)}: {_cell(i.message)}" for i in unknown_critical
        ]
    if assessment.accepted_risks:
        out += [
            "",
            "### Risks accepted",
            "",
            "| Item | Reason | Owner | Expires |",
            "|---|---|---|---|",
        ]
        for item in assessment.accepted_risks:
            waiver = item.waiver
            assert waiver is not None
            out.append(
                f"| {_cell(item.ref.title)} | {_cell(waiver.reason)} | {_cell(waiver.owner or '')} "
                f"| {waiver.expires or ''} |"
            )
    if assessment.errors:
        out += ["", f"### Evidence that could not be read ({len(assessment.errors)})", ""]
        out += [f"- `{_cell(str(e))}`" for e in assessment.errors[:50]]
    return "\n".join(out) + "\n"
