"""The production library: blueprints → designs → readiness reviews, kept as docs-as-code.

A library is a folder (usually its own repository) reviewed in merge requests:

- ``blueprints/`` define and scope a problem and give options for approaching it;
- ``designs/`` flesh out the chosen approach: technical design and operations;
- ``readiness/`` hold the production readiness reviews — point-in-time snapshots
  written by ``prr assess`` or ``prr review export``;
- ``templates/`` hold the team's templates for each kind of document;
- ``README.md`` says how the library works and carries the generated index.

Every document starts with YAML front matter naming its ``service``; the index
groups documents by service so each service's path from problem to launch is
one table. This module does the file work and knows nothing of terminals.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from prr.errors import Problem, PrrError
from prr.model.yamlsource import YamlProblem, load_yaml_text

FOLDERS = {"blueprint": "blueprints", "design": "designs", "readiness": "readiness"}
"""Document kind → the folder holding documents of that kind."""
KINDS = ("blueprint", "design")
"""The kinds ``new`` scaffolds (readiness reviews are written by prr itself)."""
TEMPLATES = "templates"
README = "README.md"
INDEX_FILE = "INDEX.md"
INDEX_START = "<!-- prr:library-index:start -->"
INDEX_END = "<!-- prr:library-index:end -->"
UNASSIGNED = "(no service)"

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$\n?", re.S | re.M)
_HEADER_SERVICE = re.compile(
    r"^\s*(?:\*\*|__)?(Application|Service)\s*(?::\s*(?:\*\*|__)|(?:\*\*|__)\s*:|:)\s*(.+?)\s*$",
    re.I | re.M,
)


class LibraryError(PrrError):
    """A library folder is missing, or a document cannot be written."""


def slug(text: str) -> str:
    """A file-name-safe slug: ``Payments: rate limiting`` → ``payments-rate-limiting``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9.]+", "-", ascii_text.lower()).strip("-.") or "untitled"


# -- templates ---------------------------------------------------------------------------------

_BLUEPRINT = """\
---
title: {{title}}
service: {{service}}
author: {{author}}
date: {{date}}
status: draft
---

# Blueprint: {{title}}

A blueprint defines and scopes a problem and gives options for approaching it.
It is reviewed in a merge request; once merged it is a snapshot of our thinking,
not a living document.

## Problem

What is wrong or missing today, for whom, and how do we know (incidents, metrics,
requests)? What happens if we do nothing?

## Scope

In scope:

- …

Out of scope:

- …

Constraints (deadlines, budget, compliance, dependencies):

- …

## Options

### Option 1: …

How it works, what it costs, what it risks, how it would be operated.

### Option 2: …

### Do nothing

## Recommendation

Which option, and why. Open questions for reviewers.

## Reviewers

| Role | Name | Approved |
|------|------|----------|
| Engineering Lead | | ☐ |
| Operations | | ☐ |
"""

_DESIGN = """\
---
title: {{title}}
service: {{service}}
author: {{author}}
date: {{date}}
status: draft
blueprint:
---

# Design: {{title}}

A design fleshes out the approach chosen in the blueprint and gives the
technical design of the solution. When it has been executed, a production
readiness review (readiness/) follows before the change takes production traffic.

## Approach

The option chosen from the blueprint, and what changed since.

## Technical design

### Architecture

Components, data flow, dependencies (with a diagram).

### Data

Stores, schemas, volumes, retention, personal data.

### Interfaces

APIs, events, contracts; versioning and compatibility.

### Security

Authentication, authorization, secrets, network exposure.

### Capacity

Expected and peak traffic, growth, limits, cost.

## Operations

- Deployment and rollback:
- Monitoring, alerting and SLOs:
- Backups and recovery:
- On-call and runbooks:
- Failure modes and how we find out:

## Readiness

Items of the production readiness checklist this design already answers, and
those that will need work before launch (`prr checklist show service`).

## Reviewers

| Role | Name | Approved |
|------|------|----------|
| Engineering Lead | | ☐ |
| Security | | ☐ |
| Operations | | ☐ |
"""

_READINESS = """\
---
title: {{title}}
service: {{service}}
version:
author: {{author}}
date: {{date}}
status: draft
---

## Production Readiness Assessment

**Application:** {{service}}
**Version:** [Version]
**Assessment Date:** {{date}}
**Assessor:** {{author}}

Usually written by `prr assess` or `prr review export`, from the recorded
review; this template is for a review done by hand. Note every non-applicable
section and why it does not apply.

---

### Executive Summary

| Category | Status | Blockers |
|----------|--------|----------|
| Infrastructure | 🟢 Ready / 🟡 Issues / 🔴 Blocked | [count] |
| Security | 🟢 Ready / 🟡 Issues / 🔴 Blocked | [count] |
| Reliability | 🟢 Ready / 🟡 Issues / 🔴 Blocked | [count] |
| Performance | 🟢 Ready / 🟡 Issues / 🔴 Blocked | [count] |
| Deployment | 🟢 Ready / 🟡 Issues / 🔴 Blocked | [count] |
| Operations | 🟢 Ready / 🟡 Issues / 🔴 Blocked | [count] |

**Overall Status:** 🟢 READY / 🟡 CONDITIONAL / 🔴 NOT READY

---

### Blockers (Must Fix Before Launch)

| ID | Category | Issue | Owner | ETA |
|----|----------|-------|-------|-----|

### Issues (Should Fix, Can Launch)

| ID | Category | Issue | Owner | Priority |
|----|----------|-------|-------|----------|

### Risks Accepted

| Risk | Mitigation | Accepted By |
|------|------------|-------------|

### Not Applicable

| Item | Why it does not apply |
|------|-----------------------|

---

### Sign-Off

| Role | Name | Approved | Date |
|------|------|----------|------|
| Engineering Lead | | ☐ | |
| Security | | ☐ | |
| Operations | | ☐ | |
| Product | | ☐ | |
"""

BUILTIN_TEMPLATES = {"blueprint": _BLUEPRINT, "design": _DESIGN, "readiness": _READINESS}

_README = f"""\
# Production library

This library holds a snapshot in time of our thinking about the problems we
solve, and the production readiness reviews that follow from it.

## How the library works

1. **Blueprints** (`blueprints/`) define and scope a problem and give options
   for approaching it.
2. **Designs** (`designs/`) flesh out the chosen approach and give the
   technical design of the solution, including how it will be operated.
3. **Readiness reviews** (`readiness/`) follow once the design has been
   executed, whenever there is a significant change: a new service, a new
   feature, or a major infrastructure change. After the review, update the
   relevant architecture and operations documentation.

Every document is reviewed in a merge request: inline comments, threaded
discussions and explicit reviewers. A review may go through several rounds,
including merges to the main branch; send the first round to the people
closest to the service. Note every section that does not apply, and why.

A readiness review is approved by all required reviewers (Engineering Lead,
Security, Operations, Product by default) before the change takes production
traffic. Start it early — during development and design — and engage the
operations team in the design phase when it is unclear what the service needs
to run at production scale. Once approved, a review is a snapshot of what was
deployed and the discussions around it; it is not updated afterwards — a
later change gets a new review.

## Working with prr

```sh
prr library new blueprint "Rate limiting" --service payments   # scaffold from templates/
prr library new design "Rate limiting" --service payments
prr assess ../payments --version 1.4.0     # the five-phase review; writes readiness/
prr review export REVIEW_ID               # a recorded review as a Markdown snapshot
prr library index                         # regenerate the index below
prr library index --check                 # in CI: fail when the index is stale
```

Every document starts with front matter (`service`, `author`, `date`,
`status`); the index groups documents by `service`. Edit `templates/` to
change what new documents start from.

## Index

{INDEX_START}
{INDEX_END}
"""


def template_text(root: Path, kind: str) -> str:
    """The library's template for ``kind`` (``templates/KIND.md``), else the built-in one."""
    path = root / TEMPLATES / f"{kind}.md"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    return BUILTIN_TEMPLATES[kind]


# -- init and new ------------------------------------------------------------------------------


def is_library(root: Path) -> bool:
    """Whether ``root`` has the library's folders."""
    return all((root / folder).is_dir() for folder in FOLDERS.values())


def init_library(root: Path) -> list[tuple[Path, bool]]:
    """Create the folders, README and templates; existing files are kept.

    Returns every path with whether it was created (False: it existed and was left alone).
    """
    done: list[tuple[Path, bool]] = []
    try:
        root.mkdir(parents=True, exist_ok=True)
        for folder in (*FOLDERS.values(), TEMPLATES):
            path = root / folder
            done.append((path, not path.exists()))
            path.mkdir(exist_ok=True)
            keep = path / ".gitkeep"
            if folder != TEMPLATES and not any(path.iterdir()):
                keep.touch()
        files = {root / README: _README}
        files |= {root / TEMPLATES / f"{k}.md": t for k, t in BUILTIN_TEMPLATES.items()}
        for path, text in files.items():
            if path.exists():
                done.append((path, False))
                continue
            path.write_text(text, encoding="utf-8")
            done.append((path, True))
    except OSError as exc:
        raise LibraryError(f"cannot create the library in {root}: {exc.strerror or exc}") from None
    return done


def _split_front_matter(text: str) -> tuple[str | None, str, int]:
    """(front matter text or None, body, line number where the front matter starts)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return None, text, 0
    return match.group(1), text[match.end() :], 2


def render_document(template: str, values: dict[str, str]) -> str:
    """Fill a template: set its front matter keys and replace ``{{key}}`` in its body."""
    front, body, _ = _split_front_matter(template)
    for key, value in values.items():
        body = body.replace("{{" + key + "}}", value)
    if front is None:
        meta: dict[str, Any] = {}
    else:
        try:
            loaded = yaml.safe_load(re.sub(r"\{\{\s*\w+\s*\}\}", "", front))
        except yaml.YAMLError as exc:
            raise LibraryError(f"the template's front matter is not valid YAML: {exc}") from None
        meta = dict(loaded) if isinstance(loaded, dict) else {}
    for key in ("title", "service", "author", "date"):
        meta[key] = values[key]
    with contextlib.suppress(ValueError):  # a date, not a string that looks like one
        meta["date"] = dt.date.fromisoformat(values["date"])
    meta.setdefault("status", values.get("status", "draft"))
    if values.get("blueprint"):
        meta["blueprint"] = values["blueprint"]
    dumped = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    dumped = re.sub(r"^([\w-]+): null$", r"\1:", dumped, flags=re.M)
    return f"---\n{dumped}---\n{body if body.startswith(chr(10)) else chr(10) + body}"


def new_document(
    root: Path,
    kind: str,
    title: str,
    *,
    service: str,
    author: str,
    today: dt.date | None = None,
    status: str = "draft",
) -> Path:
    """Scaffold ``blueprints/SLUG.md`` or ``designs/SLUG.md`` from the library's template.

    A design links the service's blueprint in its front matter when there is
    exactly one. An existing file is never overwritten.
    """
    if kind not in KINDS:
        raise LibraryError(f"unknown document kind {kind!r}; choose one of {', '.join(KINDS)}")
    if not is_library(root):
        raise LibraryError(
            f"{root} is not a library (it needs {', '.join(f + '/' for f in FOLDERS.values())}); "
            "run prr library init"
        )
    if not title.strip():
        raise LibraryError("a document needs a name")
    path = root / FOLDERS[kind] / f"{slug(title)}.md"
    if path.exists():
        raise LibraryError(f"{path} exists; choose another name or edit it")
    values = {
        "title": title.strip(),
        "service": service.strip(),
        "author": author,
        "date": (today or dt.date.today()).isoformat(),
        "status": status,
    }
    if kind == "design":
        blueprints = [
            d for d in read_documents(root)[0] if d.kind == "blueprint" and d.service == service
        ]
        if len(blueprints) == 1:
            values["blueprint"] = blueprints[0].path
    text = render_document(template_text(root, kind), values)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LibraryError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


# -- reading and the index ---------------------------------------------------------------------


@dataclass
class Document:
    """One document of the library as the index sees it."""

    kind: str
    path: str
    """Relative to the library root, with ``/``."""
    title: str
    service: str | None
    status: str | None = None
    date: str | None = None
    version: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


_REPORT_TITLES = {"assessment": "Readiness Assessment", "prd": "Readiness PRD"}
"""Titles of the reports ``prr assess`` writes (front matter ``document:``)."""


def read_document(root: Path, path: Path, kind: str) -> tuple[Document, list[Problem]]:
    """A document's title, service, status and date from its front matter or header."""
    relative = path.relative_to(root).as_posix()
    problems: list[Problem] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(f"cannot read: {exc}", relative))
        return Document(kind, relative, path.stem, None), problems
    front, body, first_line = _split_front_matter(text)
    meta: dict[str, Any] = {}
    if front is not None:
        try:
            data = load_yaml_text(front, relative).data
        except YamlProblem as exc:
            problem = exc.problem
            line = problem.line + first_line - 1 if problem.line else None
            problems.append(Problem(problem.message, relative, line, problem.column))
            data = None
        if isinstance(data, dict):
            meta = {str(k): v for k, v in data.items()}
        elif data is not None:
            problems.append(Problem("front matter is not a mapping", relative, first_line))
    service = _text(meta.get("service")) or _text(meta.get("application"))
    if service is None:
        header = _HEADER_SERVICE.search("\n".join(body.splitlines()[:40]))
        if header:
            service = header.group(2).strip("*_ ") or None
    if service is None and kind != "readiness":
        problems.append(Problem("no 'service' in the front matter", relative, first_line or 1))
    heading = re.search(r"^#{1,3}\s+(.+?)\s*#*\s*$", body, re.M)
    title = _text(meta.get("title")) or _REPORT_TITLES.get(str(meta.get("document")))
    title = title or (heading.group(1) if heading else path.stem)
    status = _text(meta.get("status")) or _text(meta.get("verdict"))
    state = _text(meta.get("state"))
    if state and status and state != status:
        status = f"{status} ({state})"
    status = status or state
    return (
        Document(
            kind,
            relative,
            title,
            service,
            status,
            _text(meta.get("date")),
            _text(meta.get("version")),
            meta,
        ),
        problems,
    )


def read_documents(root: Path) -> tuple[list[Document], list[Problem]]:
    """Every blueprint, design and readiness review under ``root``, with reading problems."""
    documents: list[Document] = []
    problems: list[Problem] = []
    for kind, folder in FOLDERS.items():
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.md")):
            if path.name.lower() in {"readme.md", "index.md"} or not path.is_file():
                continue
            document, found = read_document(root, path, kind)
            documents.append(document)
            problems.extend(found)
    return documents, problems


def _readiness_service(document: Document, services: Iterable[str]) -> str | None:
    """A readiness file without a service in it: match its file name against known services."""
    stem = Path(document.path).stem
    matches = [s for s in services if stem == slug(s) or stem.startswith(slug(s) + "-")]
    return max(matches, key=len) if matches else None


def _cell(text: str | None) -> str:
    escaped = (text or "").replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return escaped.replace("[", "\\[").replace("]", "\\]")


_NOUNS = {"blueprint": "blueprint", "design": "design", "readiness": "readiness document"}


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def render_index(documents: list[Document]) -> str:
    """The index: one table per service, blueprints → designs → readiness reviews."""
    services = sorted({d.service for d in documents if d.service})
    by_service: dict[str, list[Document]] = {}
    for document in documents:
        owner = document.service
        if owner is None and document.kind == "readiness":
            owner = _readiness_service(document, services)
        by_service.setdefault(owner or UNASSIGNED, []).append(document)
    if not documents:
        return "_No documents yet: `prr library new blueprint NAME --service SERVICE`._\n"
    order = {kind: i for i, kind in enumerate(FOLDERS)}
    names = {"blueprint": "Blueprint", "design": "Design", "readiness": "Readiness review"}
    lines: list[str] = []
    for service in sorted(by_service, key=lambda s: (s == UNASSIGNED, s.lower())):
        docs = sorted(
            by_service[service],
            key=lambda d: (
                order[d.kind],
                d.date or "",
                d.version or "",
                d.meta.get("document") == "prd",
                d.path,
            ),
        )
        counts = " · ".join(
            _count(sum(1 for d in docs if d.kind == k), _NOUNS[k])
            for k in FOLDERS
            if any(d.kind == k for d in docs)
        )
        lines += [f"### {service}", "", counts, ""]
        lines += ["| Stage | Document | Status | Date |", "|---|---|---|---|"]
        for doc in docs:
            title = _cell(doc.title)
            if doc.kind == "readiness" and doc.version and doc.version not in doc.title:
                title += f" ({_cell(doc.version)})"
            link = f"[{title}]({doc.path.replace(' ', '%20')})"
            lines.append(
                f"| {names[doc.kind]} | {link} | {_cell(doc.status) or '—'} | "
                f"{_cell(doc.date) or '—'} |"
            )
        lines.append("")
    return "\n".join(lines)


def index_target(root: Path) -> Path:
    """Where the index goes: the README's index section if it has one, else INDEX.md."""
    readme = root / README
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        if INDEX_START in text and INDEX_END in text:
            return readme
    return root / INDEX_FILE


def indexed_text(root: Path, index: str) -> tuple[Path, str]:
    """The index file's path and its full new text with ``index`` in place."""
    target = index_target(root)
    block = f"{INDEX_START}\n<!-- Generated by `prr library index`; do not edit. -->\n\n{index}"
    block = block.rstrip("\n") + f"\n{INDEX_END}"
    if target.name == README:
        text = target.read_text(encoding="utf-8")
        start = text.index(INDEX_START)
        end = text.index(INDEX_END, start) + len(INDEX_END)
        return target, text[:start] + block + text[end:]
    return target, f"# Library index\n\n{block}\n"


def update_index(root: Path, *, write: bool = True) -> tuple[Path, bool, list[Problem]]:
    """Regenerate the index; returns (file, whether it changed, reading problems).

    With ``write=False`` nothing is written (``--check``: is the index current?).
    """
    if not is_library(root):
        raise LibraryError(f"{root} is not a library; run prr library init")
    documents, problems = read_documents(root)
    target, text = indexed_text(root, render_index(documents))
    current = target.read_text(encoding="utf-8") if target.is_file() else None
    changed = current != text
    if changed and write:
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise LibraryError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target, changed, problems


__all__ = [
    "Document",
    "LibraryError",
    "init_library",
    "new_document",
    "read_documents",
    "render_index",
    "slug",
    "update_index",
]
