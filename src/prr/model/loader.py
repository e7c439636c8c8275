"""Read checklist files: the built-ins, and organisation files that extend them.

Every problem is reported with ``file:line:column`` and the offending key, all
problems of a file at once, never a traceback. An organisation file may
``extends:`` a built-in or another file, override item fields, disable items
(with a reason) and add categories, sections and items.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from prr.errors import ChecklistError, Problem, UnknownChecklistError
from prr.model.checklist import (
    SCHEMA,
    Category,
    Checklist,
    CommonBlocker,
    Disabled,
    Item,
    Phase,
    Section,
    Severity,
)
from prr.model.yamlsource import Path_, YamlDocument, YamlProblem, load_yaml

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "checklists"
BUILTINS = ("service", "platform")
CHECKLIST_PATH_ENV = "PRR_CHECKLIST_PATH"

_TOP_KEYS = {
    "schema",
    "name",
    "version",
    "title",
    "description",
    "phases",
    "common_blockers",
    "categories",
    "extends",
    "overrides",
    "disable",
}
_ITEM_KEYS = set(Item.model_fields)
_OVERRIDE_KEYS = _ITEM_KEYS - {"id"}


def builtin_names() -> tuple[str, ...]:
    """Names of the checklists that ship with prr."""
    return BUILTINS


def is_path_like(ref: str) -> bool:
    return ref.endswith((".yaml", ".yml")) or "/" in ref or os.sep in ref


def load_checklist(ref: str | Path) -> Checklist:
    """Load a built-in checklist by name, or a checklist file by path."""
    if isinstance(ref, str) and not is_path_like(ref):
        if ref in BUILTINS:
            return _load_builtin(ref)
        found = _find_on_search_path(ref)
        if found is None:
            known = ", ".join(BUILTINS)
            hint = difflib.get_close_matches(ref, BUILTINS, n=1)
            extra = f" Did you mean {hint[0]!r}?" if hint else ""
            raise UnknownChecklistError(
                [
                    Problem(
                        f"unknown checklist {ref!r}: built-ins are {known}; "
                        f"a file path must end in .yaml.{extra}",
                        ref,
                    )
                ]
            )
        ref = found
    return _Reader().read(Path(ref).resolve(), display=str(ref))


def search_path() -> list[Path]:
    """Folders named by ``PRR_CHECKLIST_PATH`` where organisation checklists live."""
    raw = os.environ.get(CHECKLIST_PATH_ENV, "")
    return [Path(p) for p in raw.split(os.pathsep) if p]


def _find_on_search_path(name: str) -> Path | None:
    for folder in search_path():
        for suffix in (".yaml", ".yml"):
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


@cache
def _load_builtin(name: str) -> Checklist:
    path = BUILTIN_DIR / f"{name}.yaml"
    return _Reader().read(path, display=f"<builtin>/{name}.yaml")


@dataclass
class _Origin:
    doc: YamlDocument
    path: Path_

    def problem(self, message: str, *sub: str | int, key: bool = False) -> Problem:
        return self.doc.problem((*self.path, *sub), message, key=key)


def _describe(error: ErrorDetails) -> str:
    kind = error["type"]
    loc = [str(p) for p in error["loc"] if not str(p).startswith("function-")]
    name = loc[-1] if loc else "value"
    if len(loc) >= 2 and loc[-1].isdigit():
        name = f"{loc[-2]}[{loc[-1]}]"
    if kind == "extra_forbidden":
        return f"unknown key {name!r}"
    if kind == "missing":
        return f"missing required key {name!r}"
    message = str(error["msg"]).removeprefix("Value error, ")
    given = error.get("input")
    if kind in {
        "literal_error",
        "enum",
        "string_pattern_mismatch",
        "int_parsing",
        "int_type",
        "string_type",
        "too_short",
    } and not isinstance(given, dict | list):
        return f"{name}: {message} (got {given!r})"
    if kind == "string_type" and isinstance(given, dict):
        return f"{name}: expected text but got a mapping (quote text that contains ': ')"
    return f"{name}: {message}" if loc else message


def _suggest(key: str, allowed: set[str]) -> str:
    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(sorted(allowed))}"


def _validation_problems(exc: ValidationError, origin: _Origin, allowed: set[str]) -> list[Problem]:
    errors = [
        (tuple(p for p in e["loc"] if not str(p).startswith("function-")), e) for e in exc.errors()
    ]
    missing = {(loc[:-1], str(loc[-1])) for loc, e in errors if e["type"] == "missing" and loc}
    explained: set[tuple[Any, str]] = set()
    problems = []
    for loc, error in errors:
        if error["type"] != "extra_forbidden" or not loc:
            continue
        siblings = {name for parent, name in missing if parent == loc[:-1]}
        close = difflib.get_close_matches(str(loc[-1]), sorted(siblings or allowed), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        if close and close[0] in siblings:
            explained.add((loc[:-1], close[0]))
        elif not close and len(loc) == 1:
            hint = f"; allowed: {', '.join(sorted(allowed))}"
        problems.append((loc, origin.problem(_describe(error) + hint, *loc, key=True)))
    for loc, error in errors:
        if error["type"] == "extra_forbidden":
            continue
        if error["type"] == "missing":
            if (loc[:-1], str(loc[-1])) in explained:
                continue
            problems.append((loc, origin.problem(_describe(error), *loc[:-1])))
        else:
            problems.append((loc, origin.problem(_describe(error), *loc)))
    problems.sort(key=lambda pair: (pair[1].line or 0, pair[1].column or 0))
    return [problem for _, problem in problems]


class _Reader:
    """Reads one checklist file and whatever it extends, collecting problems."""

    def __init__(self, stack: tuple[Path, ...] = ()) -> None:
        self.stack = stack
        self.problems: list[Problem] = []
        self.origins: dict[str, _Origin] = {}

    def read(self, path: Path, *, display: str) -> Checklist:
        if path in self.stack:
            chain = " -> ".join(str(p) for p in (*self.stack, path))
            raise ChecklistError([Problem(f"cyclic extends: {chain}", display)])
        try:
            doc = load_yaml(path, display=display)
        except YamlProblem as exc:
            raise ChecklistError([exc.problem]) from None
        checklist = self._from_document(doc, path)
        if self.problems:
            raise ChecklistError(self.problems)
        return checklist

    # -- top level -----------------------------------------------------------------
    def _from_document(self, doc: YamlDocument, path: Path) -> Checklist:
        data = doc.data
        if not isinstance(data, dict):
            raise ChecklistError([doc.problem((), "a checklist file must be a YAML mapping")])
        for key in data:
            if key not in _TOP_KEYS:
                self.problems.append(
                    doc.problem(
                        (key,), f"unknown key {key!r}" + _suggest(str(key), _TOP_KEYS), key=True
                    )
                )
        if data.get("schema") != SCHEMA:
            self.problems.append(
                doc.problem(
                    ("schema",), f"'schema' must be {SCHEMA!r} (got {data.get('schema')!r})"
                )
            )
        if "extends" in data:
            checklist = self._extend(doc, data, path)
        else:
            for key in ("overrides", "disable"):
                if key in data:
                    self.problems.append(doc.problem((key,), f"{key!r} needs 'extends:'", key=True))
            checklist = self._standalone(doc, data)
        if checklist is not None:
            self._cross_check(checklist)
        if self.problems:
            raise ChecklistError(self.problems)
        assert checklist is not None
        return checklist

    def _standalone(self, doc: YamlDocument, data: dict[str, Any]) -> Checklist | None:
        body = {
            k: v for k, v in data.items() if k in _TOP_KEYS - {"extends", "overrides", "disable"}
        }
        body["schema"] = SCHEMA
        for key in ("name", "version", "title"):
            if key not in body:
                self.problems.append(doc.problem((), f"missing required key {key!r}"))
        if self.problems:
            return None
        try:
            checklist = Checklist.model_validate(body)
        except ValidationError as exc:
            self.problems.extend(_validation_problems(exc, _Origin(doc, ()), _TOP_KEYS))
            return None
        self._record_origins(checklist.categories, doc, ("categories",))
        return checklist

    def _record_origins(
        self, categories: tuple[Category, ...], doc: YamlDocument, path: Path_
    ) -> None:
        for ci, category in enumerate(categories):
            cpath = (*path, ci)
            self.origins.setdefault(category.id, _Origin(doc, cpath))
            for si, section in enumerate(category.sections):
                spath = (*cpath, "sections", si)
                self.origins.setdefault(f"{category.id}.{section.id}", _Origin(doc, spath))
                for ii, item in enumerate(section.items):
                    key = f"{category.id}.{section.id}.{item.id}"
                    self.origins.setdefault(key, _Origin(doc, (*spath, "items", ii)))

    # -- extends ---------------------------------------------------------------------
    def _resolve_base(self, doc: YamlDocument, ref: Any, path: Path) -> Checklist | None:
        if not isinstance(ref, str) or not ref.strip():
            self.problems.append(
                doc.problem(("extends",), "'extends' must name a checklist or a file")
            )
            return None
        if not is_path_like(ref) and ref in BUILTINS:
            base_path = BUILTIN_DIR / f"{ref}.yaml"
            display = f"<builtin>/{ref}.yaml"
        elif is_path_like(ref):
            base_path = (path.parent / ref).resolve()
            display = str(base_path)
            if not base_path.is_file():
                self.problems.append(
                    doc.problem(("extends",), f"extends {ref!r}: no such file ({base_path})")
                )
                return None
        else:
            self.problems.append(
                doc.problem(
                    ("extends",),
                    f"extends {ref!r}: not a built-in checklist ({', '.join(BUILTINS)}) "
                    "and not a file path (paths end in .yaml)",
                )
            )
            return None
        reader = _Reader((*self.stack, path))
        try:
            base = reader.read(base_path, display=display)
        except ChecklistError as exc:
            line, column = doc.where(("extends",))
            self.problems.append(
                Problem(f"extends {ref!r}, which has errors:", doc.source, line, column, "extends")
            )
            self.problems.extend(exc.problems)
            return None
        self.origins.update(reader.origins)
        return base

    def _extend(self, doc: YamlDocument, data: dict[str, Any], path: Path) -> Checklist | None:
        base = self._resolve_base(doc, data.get("extends"), path)
        for key in ("name", "version"):
            if key not in data:
                self.problems.append(doc.problem((), f"missing required key {key!r}"))
        if base is None:
            return None
        categories = [c.model_dump(mode="json", by_alias=True) for c in base.categories]
        disabled = list(base.disabled)
        self._apply_overrides(doc, data.get("overrides"), base, categories)
        self._apply_additions(doc, data.get("categories"), categories)
        disabled += self._apply_disable(doc, data.get("disable"), categories)
        header: dict[str, Any] = {
            "schema": SCHEMA,
            "name": data.get("name", base.name),
            "version": data.get("version", base.version),
            "title": data.get("title", base.title),
            "description": data.get("description", base.description),
            "phases": data.get("phases", [p.model_dump(mode="json") for p in base.phases]),
            "common_blockers": [b.model_dump(mode="json") for b in base.common_blockers],
            "categories": [],
            "disabled": [d.model_dump(mode="json") for d in disabled],
            "lineage": [*base.lineage, base.ref],
        }
        extra_blockers = data.get("common_blockers")
        if extra_blockers is not None:
            if isinstance(extra_blockers, list):
                header["common_blockers"] += extra_blockers
            else:
                self.problems.append(
                    doc.problem(("common_blockers",), "'common_blockers' must be a list")
                )
        try:
            shell = Checklist.model_validate(header)
        except ValidationError as exc:
            origin = _Origin(doc, ())
            for problem in _validation_problems(exc, origin, _TOP_KEYS):
                self.problems.append(problem)
            return None
        if self.problems:
            return None
        try:
            return shell.model_copy(
                update={"categories": tuple(Category.model_validate(c) for c in categories)}
            )
        except ValidationError as exc:  # pragma: no cover - pieces were validated one by one
            raise ChecklistError([Problem(f"internal merge error: {exc}", doc.source)]) from exc

    def _apply_overrides(
        self, doc: YamlDocument, overrides: Any, base: Checklist, categories: list[dict[str, Any]]
    ) -> None:
        if overrides is None:
            return
        if not isinstance(overrides, dict):
            self.problems.append(
                doc.problem(("overrides",), "'overrides' must map item ids to fields")
            )
            return
        for item_id, changes in overrides.items():
            where = ("overrides", item_id)
            if item_id not in base:
                hint = difflib.get_close_matches(str(item_id), [r.id for r in base], n=1)
                extra = f"; did you mean {hint[0]!r}?" if hint else ""
                self.problems.append(
                    doc.problem(where, f"override of unknown item {item_id!r}{extra}", key=True)
                )
                continue
            if not isinstance(changes, dict):
                self.problems.append(
                    doc.problem(where, "an override must be a mapping of item fields")
                )
                continue
            bad = [k for k in changes if k not in _OVERRIDE_KEYS]
            for key in bad:
                message = (
                    "an override cannot change an item's 'id'"
                    if key == "id"
                    else f"unknown key {key!r}" + _suggest(str(key), _OVERRIDE_KEYS)
                )
                self.problems.append(doc.problem((*where, key), message, key=True))
            if bad:
                continue
            ref = base.item(item_id)
            merged = {**ref.item.model_dump(mode="json"), **changes}
            try:
                item = Item.model_validate(merged)
            except ValidationError as exc:
                self.problems.extend(_validation_problems(exc, _Origin(doc, where), _OVERRIDE_KEYS))
                continue
            self._replace_item(categories, ref.category.id, ref.section.id, item)
            self.origins[item_id] = _Origin(doc, where)

    @staticmethod
    def _replace_item(categories: list[dict[str, Any]], cat: str, sec: str, item: Item) -> None:
        for category in categories:
            if category["id"] != cat:
                continue
            for section in category["sections"]:
                if section["id"] != sec:
                    continue
                section["items"] = [
                    item.model_dump(mode="json") if i["id"] == item.id else i
                    for i in section["items"]
                ]

    def _apply_additions(
        self, doc: YamlDocument, additions: Any, categories: list[dict[str, Any]]
    ) -> None:
        if additions is None:
            return
        if not isinstance(additions, list):
            self.problems.append(doc.problem(("categories",), "'categories' must be a list"))
            return
        by_id = {c["id"]: c for c in categories}
        for ci, raw in enumerate(additions):
            cpath: Path_ = ("categories", ci)
            if not isinstance(raw, dict) or "id" not in raw:
                self.problems.append(doc.problem(cpath, "each category needs an 'id'"))
                continue
            existing = by_id.get(raw["id"])
            if existing is None:
                try:
                    category = Category.model_validate(raw)
                except ValidationError as exc:
                    self.problems.extend(
                        _validation_problems(exc, _Origin(doc, cpath), set(Category.model_fields))
                    )
                    continue
                categories.append(category.model_dump(mode="json"))
                by_id[category.id] = categories[-1]
                self._record_origins((category,), doc, ("categories",))
                self.origins[category.id] = _Origin(doc, cpath)
                for si, section in enumerate(category.sections):
                    self.origins[f"{category.id}.{section.id}"] = _Origin(
                        doc, (*cpath, "sections", si)
                    )
                    for ii, item in enumerate(section.items):
                        self.origins[f"{category.id}.{section.id}.{item.id}"] = _Origin(
                            doc, (*cpath, "sections", si, "items", ii)
                        )
                continue
            for key in raw:
                if key not in {"id", "title", "phase", "sections"}:
                    self.problems.append(
                        doc.problem((*cpath, key), f"unknown key {key!r}", key=True)
                    )
            for key in ("title", "phase"):
                if key in raw:
                    existing[key] = raw[key]
            self._merge_sections(doc, cpath, existing, raw.get("sections") or [])

    def _merge_sections(
        self, doc: YamlDocument, cpath: Path_, category: dict[str, Any], sections: Any
    ) -> None:
        if not isinstance(sections, list):
            self.problems.append(doc.problem((*cpath, "sections"), "'sections' must be a list"))
            return
        by_id = {s["id"]: s for s in category["sections"]}
        for si, raw in enumerate(sections):
            spath: Path_ = (*cpath, "sections", si)
            if not isinstance(raw, dict) or "id" not in raw:
                self.problems.append(doc.problem(spath, "each section needs an 'id'"))
                continue
            target = by_id.get(raw["id"])
            if target is None:
                try:
                    section = Section.model_validate(raw)
                except ValidationError as exc:
                    self.problems.extend(
                        _validation_problems(exc, _Origin(doc, spath), set(Section.model_fields))
                    )
                    continue
                category["sections"].append(section.model_dump(mode="json"))
                by_id[section.id] = category["sections"][-1]
                self.origins[f"{category['id']}.{section.id}"] = _Origin(doc, spath)
                for ii, item in enumerate(section.items):
                    self.origins[f"{category['id']}.{section.id}.{item.id}"] = _Origin(
                        doc, (*spath, "items", ii)
                    )
                continue
            for key in raw:
                if key not in {"id", "title", "phase", "items"}:
                    self.problems.append(
                        doc.problem((*spath, key), f"unknown key {key!r}", key=True)
                    )
            for key in ("title", "phase"):
                if key in raw:
                    target[key] = raw[key]
            items = raw.get("items") or []
            if not isinstance(items, list):
                self.problems.append(doc.problem((*spath, "items"), "'items' must be a list"))
                continue
            existing_ids = {i["id"] for i in target["items"]}
            for ii, raw_item in enumerate(items):
                ipath: Path_ = (*spath, "items", ii)
                try:
                    item = Item.model_validate(raw_item)
                except ValidationError as exc:
                    self.problems.extend(_validation_problems(exc, _Origin(doc, ipath), _ITEM_KEYS))
                    continue
                full = f"{category['id']}.{target['id']}.{item.id}"
                if item.id in existing_ids:
                    self.problems.append(
                        doc.problem(
                            (*ipath, "id"),
                            f"duplicate item id {full!r}: it already exists "
                            "(use 'overrides:' to change it)",
                        )
                    )
                    continue
                existing_ids.add(item.id)
                target["items"].append(item.model_dump(mode="json"))
                self.origins[full] = _Origin(doc, ipath)

    def _apply_disable(
        self, doc: YamlDocument, entries: Any, categories: list[dict[str, Any]]
    ) -> list[Disabled]:
        if entries is None:
            return []
        if not isinstance(entries, list):
            self.problems.append(
                doc.problem(("disable",), "'disable' must be a list of {id, reason}")
            )
            return []
        result: list[Disabled] = []
        for i, entry in enumerate(entries):
            path: Path_ = ("disable", i)
            if not isinstance(entry, dict):
                self.problems.append(doc.problem(path, "each entry needs 'id' and 'reason'"))
                continue
            for key in entry:
                if key not in {"id", "reason"}:
                    self.problems.append(
                        doc.problem((*path, key), f"unknown key {key!r}", key=True)
                    )
            target = entry.get("id")
            reason = entry.get("reason")
            if not isinstance(target, str) or not target:
                self.problems.append(doc.problem(path, "missing required key 'id'"))
                continue
            if not isinstance(reason, str) or not reason.strip():
                self.problems.append(
                    doc.problem(
                        path, f"disabling {target!r} needs a 'reason' (why it does not apply)"
                    )
                )
                continue
            title = self._remove(categories, target)
            if title is None:
                self.problems.append(
                    doc.problem(
                        (*path, "id"),
                        f"cannot disable {target!r}: no such item, section or category",
                    )
                )
                continue
            line, _ = doc.where(path)
            result.append(
                Disabled(
                    id=target, reason=reason.strip(), title=title, source=f"{doc.source}:{line}"
                )
            )
        return result

    @staticmethod
    def _remove(categories: list[dict[str, Any]], target: str) -> str | None:
        parts = target.split(".")
        for ci, category in enumerate(categories):
            if category["id"] != parts[0]:
                continue
            if len(parts) == 1:
                del categories[ci]
                return str(category["title"])
            for si, section in enumerate(category["sections"]):
                if section["id"] != parts[1]:
                    continue
                if len(parts) == 2:
                    del category["sections"][si]
                    return str(section["title"])
                for ii, item in enumerate(section["items"]):
                    if len(parts) == 3 and item["id"] == parts[2]:
                        del section["items"][ii]
                        return str(item["title"])
        return None

    # -- whole-checklist rules -------------------------------------------------------
    def _problem_at(self, key: str, message: str, *sub: str | int) -> Problem:
        origin = self.origins.get(key)
        if origin is None:
            return Problem(message, "<checklist>")
        return origin.problem(message, *sub, key=True)

    def _cross_check(self, checklist: Checklist) -> None:
        blocker_ids = {b.id for b in checklist.common_blockers}
        seen_blockers: set[str] = set()
        for blocker in checklist.common_blockers:
            if blocker.id in seen_blockers:
                self.problems.append(
                    Problem(f"duplicate common blocker id {blocker.id!r}", "<checklist>")
                )
            seen_blockers.add(blocker.id)
        phase_numbers = {p.number for p in checklist.phases}
        seen_categories: set[str] = set()
        for category in checklist.categories:
            if category.id in seen_categories:
                self.problems.append(
                    self._problem_at(category.id, f"duplicate category id {category.id!r}")
                )
            seen_categories.add(category.id)
            seen_sections: set[str] = set()
            for section in category.sections:
                if section.id in seen_sections:
                    self.problems.append(
                        self._problem_at(
                            f"{category.id}.{section.id}", f"duplicate section id {section.id!r}"
                        )
                    )
                seen_sections.add(section.id)
                seen_items: set[str] = set()
                for item in section.items:
                    full = f"{category.id}.{section.id}.{item.id}"
                    if item.id in seen_items:
                        self.problems.append(
                            self._problem_at(full, f"duplicate item id {full!r}", "id")
                        )
                    seen_items.add(item.id)
                    self._check_item(full, item, blocker_ids, phase_numbers)
                    phase = item.phase or section.phase or category.phase
                    if phase_numbers and phase is not None and phase not in phase_numbers:
                        self.problems.append(
                            self._problem_at(full, f"phase {phase} is not defined")
                        )

    def _check_item(self, full: str, item: Item, blocker_ids: set[str], phases: set[int]) -> None:
        if item.blocker is not None and item.blocker not in blocker_ids:
            self.problems.append(
                self._problem_at(
                    full, f"blocker {item.blocker!r} is not a common blocker id", "blocker"
                )
            )
        if item.is_critical_at_any_stage() and not (item.blocker or item.critical_reason):
            self.problems.append(
                self._problem_at(
                    full,
                    f"{full} is critical: name the common blocker it guards against ('blocker:') "
                    "or say why it is critical ('critical_reason:')",
                )
            )
        if (
            item.severity is not Severity.CRITICAL
            and item.critical_reason
            and not any(s is Severity.CRITICAL for s in item.severity_by_stage.values())
        ):
            self.problems.append(
                self._problem_at(
                    full,
                    "'critical_reason' is set but the item is never critical",
                    "critical_reason",
                )
            )


def _dump_model(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


__all__ = [
    "BUILTINS",
    "Category",
    "Checklist",
    "CommonBlocker",
    "Phase",
    "Section",
    "builtin_names",
    "load_checklist",
    "search_path",
]
