"""prr — production readiness reviews with evidence.

The public API is what ``__all__`` lists; everything else may move between
releases. Names are imported on first use so that the command line starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from prr._version import __version__

if TYPE_CHECKING:
    from prr.errors import (
        CheckError,
        ChecklistError,
        CollectorError,
        CollectorTimeout,
        CollectorUnreachable,
        FieldValueError,
        Problem,
        PrrError,
        ReviewStateError,
        UnknownChecklistError,
        UnknownItemError,
    )
    from prr.model.checklist import (
        Category,
        Checklist,
        CommonBlocker,
        Effort,
        Item,
        ItemRef,
        Phase,
        Section,
        Severity,
        Stage,
        Trait,
    )
    from prr.model.diff import (
        ChecklistDiff,
        diff_checklists,
    )
    from prr.model.fields import (
        FieldSpec,
        FieldType,
        parse_value,
    )
    from prr.model.loader import (
        builtin_names,
        load_checklist,
    )

_LAZY: dict[str, str] = {
    "Category": "prr.model.checklist",
    "CheckError": "prr.errors",
    "Checklist": "prr.model.checklist",
    "ChecklistDiff": "prr.model.diff",
    "ChecklistError": "prr.errors",
    "CollectorError": "prr.errors",
    "CollectorTimeout": "prr.errors",
    "CollectorUnreachable": "prr.errors",
    "CommonBlocker": "prr.model.checklist",
    "Effort": "prr.model.checklist",
    "FieldSpec": "prr.model.fields",
    "FieldType": "prr.model.fields",
    "FieldValueError": "prr.errors",
    "Item": "prr.model.checklist",
    "ItemRef": "prr.model.checklist",
    "Phase": "prr.model.checklist",
    "Problem": "prr.errors",
    "PrrError": "prr.errors",
    "ReviewStateError": "prr.errors",
    "Section": "prr.model.checklist",
    "Severity": "prr.model.checklist",
    "Stage": "prr.model.checklist",
    "Trait": "prr.model.checklist",
    "UnknownChecklistError": "prr.errors",
    "UnknownItemError": "prr.errors",
    "builtin_names": "prr.model.loader",
    "diff_checklists": "prr.model.diff",
    "load_checklist": "prr.model.loader",
    "parse_value": "prr.model.fields",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'prr' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Category",
    "CheckError",
    "Checklist",
    "ChecklistDiff",
    "ChecklistError",
    "CollectorError",
    "CollectorTimeout",
    "CollectorUnreachable",
    "CommonBlocker",
    "Effort",
    "FieldSpec",
    "FieldType",
    "FieldValueError",
    "Item",
    "ItemRef",
    "Phase",
    "Problem",
    "PrrError",
    "ReviewStateError",
    "Section",
    "Severity",
    "Stage",
    "Trait",
    "UnknownChecklistError",
    "UnknownItemError",
    "__version__",
    "builtin_names",
    "diff_checklists",
    "load_checklist",
    "parse_value",
]
