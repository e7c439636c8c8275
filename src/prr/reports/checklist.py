"""Render a checklist as JSON data, YAML or the seed-style Markdown board.

The JSON shape is a documented, stable interface (docs/json-checklist.md):
other tools read it, so fields are only ever added, never renamed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prr.model.checklist import Checklist, ItemRef, Severity, Stage
from prr.model.fields import FieldSpec, FieldType

EXPORT_SCHEMA = "prr/checklist-export/v1"


def select(
    checklist: Checklist,
    *,
    categories: Iterable[str] = (),
    severities: Iterable[Severity] = (),
    stage: Stage = Stage.GA,
) -> list[ItemRef]:
    """Items of ``checklist`` in the given categories and (stage) severities."""
    wanted_categories = set(categories)
    wanted_severities = set(severities)
    return [
        ref
        for ref in checklist
        if (not wanted_categories or ref.category.id in wanted_categories)
        and (not wanted_severities or ref.item.severity_at(stage) in wanted_severities)
    ]


def field_dict(spec: FieldSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json", exclude_none=True)


def item_dict(ref: ItemRef, stage: Stage = Stage.GA) -> dict[str, Any]:
    """One item in the export shape."""
    item = ref.item
    by_stage = {s.value: item.severity_at(s).value for s in Stage}
    return {
        "id": ref.id,
        "title": item.title,
        "category": ref.category.id,
        "category_title": ref.category.title,
        "section": ref.section.id,
        "section_title": ref.section.title,
        "severity": item.severity_at(stage).value,
        "severity_by_stage": by_stage,
        "blocker": item.blocker,
        "critical_reason": item.critical_reason,
        "phase": ref.phase,
        "applies_when": [t.value for t in item.applies_when],
        "expected": item.expected,
        "fields": [field_dict(f) for f in item.fields],
        "remediation": list(item.remediation),
        "acceptance_criteria": list(item.acceptance_criteria),
        "effort": item.effort.value,
        "freshness_days": item.freshness_days,
        "references": [r.model_dump(mode="json") for r in item.references],
        "tags": list(item.tags),
    }


def checklist_dict(
    checklist: Checklist, refs: list[ItemRef] | None = None, stage: Stage = Stage.GA
) -> dict[str, Any]:
    """The whole checklist (or the selected ``refs``) in the export shape."""
    refs = checklist.items() if refs is None else refs
    shown = {ref.id for ref in refs}
    categories = []
    for category in checklist.categories:
        sections = []
        for section in category.sections:
            count = sum(1 for i in section.items if f"{category.id}.{section.id}.{i.id}" in shown)
            if count:
                sections.append({"id": section.id, "title": section.title, "items": count})
        if sections:
            categories.append({"id": category.id, "title": category.title, "sections": sections})
    return {
        "schema": EXPORT_SCHEMA,
        "name": checklist.name,
        "version": checklist.version,
        "title": checklist.title,
        "description": checklist.description,
        "lineage": list(checklist.lineage),
        "stage": stage.value,
        "counts": {
            "items": len(refs),
            "categories": len(categories),
            "sections": sum(len(c["sections"]) for c in categories),
            "by_severity": {
                s.value: sum(1 for r in refs if r.item.severity_at(stage) is s) for s in Severity
            },
        },
        "phases": [p.model_dump(mode="json") for p in checklist.phases],
        "common_blockers": [b.model_dump(mode="json") for b in checklist.common_blockers],
        "categories": categories,
        "items": [item_dict(ref, stage) for ref in refs],
        "disabled": [d.model_dump(mode="json", exclude_none=True) for d in checklist.disabled],
    }


def notes_hint(ref: ItemRef) -> str:
    """The Notes column of the seed's tables, from the item's typed fields."""
    parts = []
    for spec in ref.item.fields:
        if spec.type is FieldType.ENUM and spec.choices:
            parts.append(
                "/".join(c.replace("-", " ").title().replace(" ", "-") for c in spec.choices)
            )
        else:
            parts.append(f"{spec.label}:")
    return " · ".join(parts)


_SEVERITY_MARK = {
    Severity.CRITICAL: "🔴 critical",
    Severity.HIGH: "🟠 high",
    Severity.MEDIUM: "🟡 medium",
    Severity.LOW: "⚪ low",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(checklist: Checklist, refs: list[ItemRef], stage: Stage = Stage.GA) -> str:
    """The seed-style board: one table per section with ☐ boxes and Notes hints."""
    shown = {ref.id for ref in refs}
    by_id = {ref.id: ref for ref in refs}
    out = [f"# {checklist.title}", ""]
    out.append(f"Checklist `{checklist.ref}` · stage `{stage.value}` · {len(refs)} items")
    if checklist.lineage:
        out.append(f" · extends {', '.join(f'`{x}`' for x in checklist.lineage)}")
    out.append("")
    number = 0
    for category in checklist.categories:
        section_blocks = []
        for section in category.sections:
            rows = [
                by_id[f"{category.id}.{section.id}.{i.id}"]
                for i in section.items
                if f"{category.id}.{section.id}.{i.id}" in shown
            ]
            if not rows:
                continue
            block = [
                f"### {section.title}",
                "",
                "| Item | Severity | Status | Notes |",
                "|------|----------|--------|-------|",
            ]
            for ref in rows:
                block.append(
                    f"| {_cell(ref.title)} | {_SEVERITY_MARK[ref.item.severity_at(stage)]} "
                    f"| ☐ | {_cell(notes_hint(ref))} |"
                )
            section_blocks.append("\n".join(block))
        if not section_blocks:
            continue
        number += 1
        out.append(f"## {number}. {category.title}")
        out.append("")
        out.append("\n\n".join(section_blocks))
        out.append("")
    if checklist.disabled:
        out += ["## Not applicable in this checklist", "", "| Item | Reason |", "|------|--------|"]
        out += [
            f"| {_cell(d.title or d.id)} (`{d.id}`) | {_cell(d.reason)} |"
            for d in checklist.disabled
        ]
        out.append("")
    return "\n".join(out).rstrip() + "\n"
