"""The checklist library pages: every checklist the server knows, its items, and diffs.

The board every team can read. Built-in checklists ship with prr; organisation
checklists are the files on ``PRR_CHECKLIST_PATH``, as for ``prr checklist list``;
a version a review froze is read back from that review's snapshot, so it stays
readable after the file has moved on. References are ``NAME`` or
``NAME@VERSION`` only, never paths: a URL cannot make the server read a file.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from prr.errors import ChecklistError
from prr.model.checklist import Checklist, ItemRef, Severity
from prr.model.diff import diff_checklists
from prr.model.loader import builtin_names, load_checklist, search_path
from prr.server.pages.common import PageUser, page_user, render
from prr.store.db import Store
from prr.store.schema import Review, Scan

router = APIRouter(include_in_schema=False)

REF = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:@[A-Za-z0-9][A-Za-z0-9._+-]{0,80})?$")
"""``name`` or ``name@version``; anything else (a path, a URL) is not a reference."""


@dataclass(frozen=True)
class Entry:
    """A checklist of the library, where it comes from."""

    checklist: Checklist
    source: str
    """``built-in`` or the organisation file's name."""
    stem: str

    @property
    def critical(self) -> int:
        return sum(1 for r in self.checklist if r.item.severity is Severity.CRITICAL)


@dataclass(frozen=True)
class Broken:
    """An organisation file that does not load, and its first problem."""

    file: str
    problem: str


@dataclass(frozen=True)
class Catalog:
    entries: tuple[Entry, ...]
    broken: tuple[Broken, ...]

    def find(self, name: str) -> Checklist | None:
        """By checklist name, else by file stem; built-ins win over files of the same name."""
        for entry in self.entries:
            if entry.checklist.name == name:
                return entry.checklist
        for entry in self.entries:
            if entry.stem == name:
                return entry.checklist
        return None


_org_lock = threading.Lock()
_org_cache: dict[
    tuple[tuple[str, int, int], ...], tuple[tuple[Entry, ...], tuple[Broken, ...]]
] = {}


def _org_files() -> list[Path]:
    files: list[Path] = []
    for folder in search_path():
        files += sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    return files


def _problem_text(exc: ChecklistError, path: Path) -> str:
    """The first problem, located by file name only (the server's folders stay private)."""
    problem = exc.problems[0]
    where = path.name
    if problem.line is not None:
        where += f":{problem.line}"
        if problem.column is not None:
            where += f":{problem.column}"
    return f"{where}: {problem.message}"


def _organisation() -> tuple[tuple[Entry, ...], tuple[Broken, ...]]:
    """Organisation checklists, loaded again only when a file on the path changed."""
    files = _org_files()
    signature: list[tuple[str, int, int]] = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue
        signature.append((str(path), stat.st_mtime_ns, stat.st_size))
    key = tuple(signature)
    with _org_lock:
        cached = _org_cache.get(key)
    if cached is not None:
        return cached
    entries: list[Entry] = []
    broken: list[Broken] = []
    for path in files:
        try:
            entries.append(Entry(load_checklist(path), path.name, path.stem))
        except ChecklistError as exc:
            broken.append(Broken(path.name, _problem_text(exc, path)))
        except OSError as exc:
            broken.append(Broken(path.name, f"{path.name}: cannot be read ({exc.strerror})"))
    result = (tuple(entries), tuple(broken))
    with _org_lock:
        _org_cache.clear()
        _org_cache[key] = result
    return result


def catalog() -> Catalog:
    """The built-in checklists, then the organisation's."""
    builtins = tuple(Entry(load_checklist(n), "built-in", n) for n in builtin_names())
    org, broken = _organisation()
    return Catalog(builtins + org, broken)


def _frozen(store: Store, ref: str) -> Checklist | None:
    """The checklist a review froze under ``ref`` (``name@version``, or the newest of a name)."""
    with store.transaction() as session:
        query = select(Review.checklist_snapshot)
        if "@" in ref:
            query = query.where(Review.checklist_ref == ref)
        else:  # a slug: no LIKE wildcards in it
            query = query.where(Review.checklist_ref.like(f"{ref}@%"))
        snapshot = session.scalars(query.order_by(Review.id.desc()).limit(1)).first()
    if not isinstance(snapshot, dict):
        return None
    try:
        return Checklist.model_validate(snapshot)
    except ValueError:
        return None


def resolve(store: Store, ref: str, known: Catalog | None = None) -> Checklist:
    """The checklist ``ref`` names: current from the library, else a review's snapshot; 404."""
    if not REF.match(ref):
        raise HTTPException(404, "a checklist is named NAME or NAME@VERSION")
    name, _, version = ref.partition("@")
    current = (known or catalog()).find(name)
    if current is not None and (not version or current.version == version):
        return current
    frozen = _frozen(store, ref)
    if frozen is not None:
        return frozen
    raise HTTPException(404, f"no checklist {ref!r} in the library or in any review")


def used_versions(store: Store) -> list[dict[str, Any]]:
    """Checklist versions reviews and scans were made with, and how often."""
    with store.transaction() as session:
        reviews: dict[str, int] = {
            ref: count
            for ref, count in session.execute(
                select(Review.checklist_ref, func.count(Review.id)).group_by(Review.checklist_ref)
            )
        }
        scans: dict[str, int] = {
            ref: count
            for ref, count in session.execute(
                select(Scan.checklist_ref, func.count(Scan.id)).group_by(Scan.checklist_ref)
            )
        }
    return [
        {"ref": ref, "reviews": reviews.get(ref, 0), "scans": scans.get(ref, 0)}
        for ref in sorted(set(reviews) | set(scans))
    ]


# -- pages -----------------------------------------------------------------------------
@router.get("/checklists")
def checklists(request: Request, user: Annotated[PageUser, Depends(page_user)]) -> Response:
    known = catalog()
    current = {e.checklist.ref for e in known.entries}
    versions = used_versions(request.app.state.store)
    for row in versions:
        row["current"] = row["ref"] in current
        row["readable"] = row["current"] or row["reviews"] > 0
    return render(
        request,
        "checklists.html",
        {
            "entries": known.entries,
            "broken": known.broken,
            "versions": versions,
            "path_set": bool(search_path()),
        },
        user=user,
    )


def _matches(ref: ItemRef, words: list[str]) -> bool:
    text = " ".join(
        (
            ref.id,
            ref.title,
            ref.item.expected,
            ref.section.title,
            ref.category.title,
            *ref.item.tags,
        )
    ).lower()
    return all(w in text for w in words)


def _choices(store: Store, known: Catalog) -> list[str]:
    """References worth offering in the compare form."""
    refs = [e.checklist.name for e in known.entries]
    refs += [r["ref"] for r in used_versions(store) if r["reviews"] and r["ref"] not in refs]
    return refs


@router.get("/checklists/{ref}")
def checklist_page(
    request: Request,
    ref: str,
    user: Annotated[PageUser, Depends(page_user)],
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    store: Store = request.app.state.store
    known = catalog()
    checklist = resolve(store, ref, known)
    words = (q or "").lower().split()
    refs = [r for r in checklist if not words or _matches(r, words)]
    categories: list[dict[str, Any]] = []
    for category in checklist.categories:
        sections: list[dict[str, Any]] = []
        count = 0
        for section in category.sections:
            items = [r for r in refs if r.category.id == category.id and r.section.id == section.id]
            if items:
                sections.append({"section": section, "items": items})
                count += len(items)
        if sections:
            categories.append({"category": category, "sections": sections, "count": count})
    return render(
        request,
        "checklist.html",
        {
            "ref": ref,
            "checklist": checklist,
            "categories": categories,
            "q": q or "",
            "shown": len(refs),
            "total": len(checklist),
            "choices": [c for c in _choices(store, known) if c not in (ref, checklist.name)],
        },
        user=user,
    )


def _short(value: Any, limit: int = 240) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@router.get("/checklists/{ref}/diff")
def checklist_diff(
    request: Request,
    ref: str,
    user: Annotated[PageUser, Depends(page_user)],
    against: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    store: Store = request.app.state.store
    known = catalog()
    new = resolve(store, ref, known)
    context: dict[str, Any] = {
        "ref": ref,
        "checklist": new,
        "against": against or "",
        "choices": [c for c in _choices(store, known) if c not in (ref, new.name)],
        "diff": None,
    }
    if against:
        old = resolve(store, against, known)
        result = diff_checklists(old, new)
        context["diff"] = result
        context["changes"] = [
            {
                "id": c.id,
                "title": c.title,
                "fields": [(k, _short(a), _short(b)) for k, (a, b) in c.changes.items()],
            }
            for c in result.changed
        ]
    return render(request, "checklist_diff.html", context, user=user)
