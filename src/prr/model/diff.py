"""What changed between two versions of a checklist, item by item."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prr.model.checklist import Checklist


@dataclass(frozen=True)
class ItemChange:
    """One item present in both checklists whose fields differ."""

    id: str
    title: str
    changes: dict[str, tuple[Any, Any]]


@dataclass(frozen=True)
class ChecklistDiff:
    """Items added, removed and changed from ``old`` to ``new``."""

    old: str
    new: str
    added: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    changed: list[ItemChange] = field(default_factory=list)
    moved: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.moved)

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "added": [{"id": i, "title": t} for i, t in self.added],
            "removed": [{"id": i, "title": t} for i, t in self.removed],
            "changed": [
                {
                    "id": c.id,
                    "title": c.title,
                    "changes": {k: {"old": a, "new": b} for k, (a, b) in c.changes.items()},
                }
                for c in self.changed
            ],
            "phase_changes": [{"id": i, "old": a, "new": b} for i, a, b in self.moved],
        }


def diff_checklists(old: Checklist, new: Checklist) -> ChecklistDiff:
    """Compare two checklists by full item id."""
    result = ChecklistDiff(old=old.ref, new=new.ref)
    old_items = {ref.id: ref for ref in old}
    new_items = {ref.id: ref for ref in new}
    for item_id, ref in new_items.items():
        if item_id not in old_items:
            result.added.append((item_id, ref.title))
    for item_id, ref in old_items.items():
        if item_id not in new_items:
            result.removed.append((item_id, ref.title))
            continue
        after = new_items[item_id]
        a = ref.item.model_dump(mode="json")
        b = after.item.model_dump(mode="json")
        changes = {k: (a[k], b[k]) for k in a if a[k] != b.get(k)}
        if changes:
            result.changed.append(ItemChange(item_id, after.title, changes))
        if ref.phase != after.phase:
            result.moved.append((item_id, ref.phase, after.phase))
    return result
