"""The review as a Markdown document, reviewed in a merge request: export, edit, import.

The document has the readiness assessment's shape: a hidden header naming the
review, the context, one seed-style ``| Item | Status | Notes |`` table per
section with ☐ (open), ☑ (pass), ☒ (fail) and ``N/A`` boxes, the risks
accepted and the ``| Role | Name | Approved | Date |`` sign-off table.

Every editable row carries a hidden marker ``<!-- prr:KIND KEY DIGEST -->``:
KEY says which item, context entry, risk acceptance or role the row is, and
DIGEST is a hash of the row as exported. An import therefore knows which rows
a person edited (all others are left alone, so an unedited document changes
nothing) and which edited rows the review changed meanwhile (a conflict).

Importing re-implements no rule: the edits become calls on
:class:`~prr.review.reviews.Reviews`, first rehearsed on a scratch copy of the
review so that every refusal is found before anything is written, then applied.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import insert, select

from prr.engine.status import CategoryStatus
from prr.errors import FieldValueError, Problem, PrrError
from prr.model.checklist import ItemRef
from prr.model.evidence import Source, Status
from prr.model.fields import FieldSpec, FieldType, format_duration
from prr.review.reviews import ReviewItemView, Reviews, ReviewView, SignoffView, WaiverView
from prr.store.db import Store
from prr.store.schema import Base, ReviewItem

HEADER_START = "<!-- prr-review"
BOXES = {"☐": Status.UNKNOWN, "☑": Status.PASS, "☒": Status.FAIL, "N/A": Status.NOT_APPLICABLE}
BOX_OF = {status: box for box, status in BOXES.items()}
SIGNOFF_BOXES = ("☐", "☑", "☒")
CONTEXT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(id="launch_date", label="Target launch date", type=FieldType.DATE),
    FieldSpec(
        id="expected_rps", label="Expected traffic", type=FieldType.NUMBER, unit="requests/s", min=0
    ),
    FieldSpec(id="peak_rps", label="Peak traffic", type=FieldType.NUMBER, unit="requests/s", min=0),
    FieldSpec(id="uptime_target", label="Uptime target", type=FieldType.PERCENT),
    FieldSpec(id="security_requirements", label="Security requirements", type=FieldType.TEXT),
    FieldSpec(id="compliance_requirements", label="Compliance requirements", type=FieldType.TEXT),
    FieldSpec(id="known_limitations", label="Known limitations", type=FieldType.TEXT),
    FieldSpec(id="cost_projection", label="Cost projection", type=FieldType.TEXT),
    FieldSpec(id="monitoring_plan", label="Post-launch monitoring plan", type=FieldType.TEXT),
)
"""Context entries every document shows (the seed's launch questions), in this order.

The keys are those the interactive assessment writes (``launch_date``,
``expected_rps``, ``peak_rps``, ``uptime_target``); values are typed like item fields.
"""
STOP_ANSWERS = "stop_answers"
"""Context key of the stop questions' answers (phase → question, answer): shown, not edited."""

# What prr writes at the end of a Notes cell; everything from the first of these is ignored.
_MARKS = ("🔎", "✍", "⌛", "⚖")
_SEPARATOR = " · "
_SPLIT = re.compile(r"\s+·\s+")
_MARKER = re.compile(r"<!--\s*prr:([a-z]+)\s+(\S+)(?:\s+([0-9a-f]{6,64}))?\s*-->")
_LABEL = re.compile(r"^([^:]{1,80}):(?:\s+(.*)|\s*)$", re.DOTALL)
_RULE = re.compile(r"\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_HEADER_KEYS = ("review", "service", "version", "checklist", "stage", "hash", "seal")
_TABLES = {
    ("item", "status", "notes"): "item",
    ("context", "value"): "context",
    ("item", "reason", "risk owner", "mitigation", "expires", "state"): "waiver",
    ("role", "name", "approved", "date"): "signoff",
}
_EDITABLE = {"item": (1, 2), "context": (1,), "waiver": (0, 1, 2, 3, 4, 5), "signoff": (1, 2, 3)}
_HEADINGS = {
    "item": "| Item | Status | Notes |",
    "context": "| Context | Value |",
    "waiver": "| Item | Reason | Risk owner | Mitigation | Expires | State |",
    "signoff": "| Role | Name | Approved | Date |",
}


class DocumentError(PrrError):
    """A review document that cannot be imported, with every located problem."""

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise RuntimeError("DocumentError needs at least one problem")
        self.problems = problems
        super().__init__(str(problems[0]))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class ImportRefused(DocumentError):
    """The review's rules refuse some of the edits; nothing was written."""


# -- cells -----------------------------------------------------------------------------------
def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>").strip()


def _unescape(text: str) -> str:
    return _BR.sub("\n", text.replace("\\|", "|")).strip()


def _norm(text: str) -> str:
    return " ".join(text.split())


def _split_row(line: str) -> list[str]:
    """The cells of a Markdown table row (``\\|`` stays inside its cell, still escaped)."""
    body = line.strip()
    cells, current, i = [], [], 1 if body.startswith("|") else 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            current.append("\\|")
            i += 2
            continue
        if char == "|":
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    tail = "".join(current).strip()
    if tail or not body.endswith("|"):
        cells.append(tail)
    return cells


def _digest(kind: str, key: str, cells: Sequence[str]) -> str:
    editable = "\x1f".join(_norm(cells[i]) for i in _EDITABLE[kind] if i < len(cells))
    return hashlib.sha256(f"{kind}\x1e{key}\x1e{editable}".encode()).hexdigest()[:12]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


# -- field values ----------------------------------------------------------------------------
def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _size_text(size: int) -> str:
    for unit, factor in (
        ("PB", 10**15),
        ("TB", 10**12),
        ("GB", 10**9),
        ("MB", 10**6),
        ("kB", 10**3),
        ("PiB", 2**50),
        ("TiB", 2**40),
        ("GiB", 2**30),
        ("MiB", 2**20),
        ("KiB", 2**10),
    ):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


def format_value(spec: FieldSpec, stored: Any) -> str:
    """A stored field value as a person writes it (``15m``, ``99.9%``, ``500GB``, ``3``)."""
    try:
        value = spec.parse(stored)
    except FieldValueError:
        return str(stored)
    kind = spec.type
    if kind is FieldType.DURATION:
        return format_duration(value)
    if kind in (FieldType.DATE, FieldType.DATETIME):
        return str(value.isoformat())
    if kind is FieldType.SIZE:
        return _size_text(int(value))
    if kind is FieldType.BOOLEAN:
        return "yes" if value else "no"
    if kind is FieldType.PERCENT:
        return f"{_number_text(value)}%"
    if kind in (FieldType.INTEGER, FieldType.NUMBER, FieldType.MONEY):
        text = _number_text(value)
        return f"{text} {spec.unit}" if spec.unit else text
    return str(value)


def _raw_value(spec: FieldSpec, text: str) -> str:
    """What a person wrote, without the unit prr adds for display (``1500 rps`` → ``1500``)."""
    numeric = spec.type in (FieldType.INTEGER, FieldType.NUMBER, FieldType.MONEY)
    if spec.unit and numeric and text.lower().endswith(spec.unit.lower()):
        return text[: -len(spec.unit)].strip()
    return text


_EXAMPLES = {
    FieldType.INTEGER: "a whole number, e.g. 3",
    FieldType.NUMBER: "a number, e.g. 1500",
    FieldType.PERCENT: "a percentage, e.g. 99.9%",
    FieldType.DURATION: "a duration, e.g. 300ms, 15m, 4h or 30d",
    FieldType.DATE: "a date, e.g. 2026-12-01",
    FieldType.DATETIME: "a date and time, e.g. 2026-12-01T09:00",
    FieldType.SIZE: "a size, e.g. 500GB",
    FieldType.MONEY: "an amount, e.g. 4200",
    FieldType.BOOLEAN: "yes or no",
    FieldType.TEXT: "some text",
}


def _fits(spec: FieldSpec) -> str:
    if spec.type is FieldType.ENUM and spec.choices:
        return "one of " + ", ".join(spec.choices)
    return _EXAMPLES[spec.type]


def _context_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_context_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


# -- rendering ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Row:
    """One editable row as prr writes it: cells are escaped Markdown, the marker goes first."""

    kind: str
    key: str
    cells: tuple[str, ...]

    @property
    def digest(self) -> str:
        return _digest(self.kind, self.key, self.cells)

    @property
    def token(self) -> str:
        return f"{self.kind} {self.key} {self.digest}"

    def markdown(self) -> str:
        marker = f"<!-- prr:{self.kind} {quote(self.key, safe='.@-_')} {self.digest} -->"
        first = f"{self.cells[0]} {marker}".strip()
        return "| " + " | ".join((first, *self.cells[1:])) + " |"


def _evidence(store: Store, review_id: int) -> dict[str, list[str]]:
    """Where each verified item's evidence is (``path:line`` or URL), up to three places."""
    with store.transaction() as session:
        rows = session.execute(
            select(ReviewItem.item_id, ReviewItem.evidence).where(ReviewItem.review_id == review_id)
        ).all()
    places: dict[str, list[str]] = {}
    for item_id, evidence in rows:
        found: list[str] = []
        for entry in evidence or []:
            if not isinstance(entry, dict):
                continue
            if entry.get("path"):
                line = entry.get("line")
                found.append(f"{entry['path']}:{line}" if line else str(entry["path"]))
            elif entry.get("url"):
                found.append(str(entry["url"]))
        if found:
            places[item_id] = list(dict.fromkeys(found))[:3]
    return places


def _tail(entry: ReviewItemView, places: list[str]) -> str:
    """The part of a Notes cell prr writes and an import ignores: source, evidence, waiver."""
    assessment = entry.assessment
    parts: list[str] = []
    if entry.expired:
        parts.append(f"⌛ {assessment.message}")
    elif assessment.source in (Source.VERIFIED, Source.DRILL):
        text = f"🔎 {assessment.source.value}: {assessment.message}".rstrip(": ")
        if places:
            text += " — " + ", ".join(places)
        known = {spec.id for spec in entry.ref.item.fields}
        extra = {k: v for k, v in assessment.fields.items() if k not in known}
        if extra:
            text += " — measured " + ", ".join(f"{k}={v}" for k, v in sorted(extra.items()))
        parts.append(text)
    elif assessment.source is Source.ATTESTED:
        who = entry.answered_by or "someone"
        when = f" on {entry.answered_at.date().isoformat()}" if entry.answered_at else ""
        parts.append(f"✍ attested by {who}{when}")
    if assessment.waiver is not None:
        until = f" until {assessment.waiver.expires}" if assessment.waiver.expires else ""
        parts.append(f"⚖ risk accepted{until} ({assessment.waiver.id})")
    return _SEPARATOR.join(parts)


def _dot(text: str) -> str:
    """A person's text inside a Notes cell: '·' separates parts, so it is written as an entity."""
    return text.replace("·", "&middot;")


def _undot(text: str) -> str:
    return text.replace("&middot;", "·")


def _notes(entry: ReviewItemView, places: list[str]) -> str:
    parts: list[str] = []
    status = entry.assessment.status
    if status is Status.NOT_APPLICABLE and entry.na_reason:
        parts.append(f"N/A: {_dot(entry.na_reason)}")
    values = entry.assessment.fields
    for spec in entry.ref.item.fields:
        stored = values.get(spec.id)
        parts.append(
            f"{spec.label}:"
            if stored is None
            else f"{spec.label}: {_dot(format_value(spec, stored))}"
        )
    if entry.owner:
        parts.append(f"Owner: {_dot(entry.owner)}")
    if entry.eta:
        parts.append(f"ETA: {entry.eta.isoformat()}")
    if entry.notes:
        parts.append(_dot(entry.notes))
    tail = _tail(entry, places)
    if tail:
        parts.append(tail)
    return _escape(_SEPARATOR.join(parts))


def _item_row(entry: ReviewItemView, places: list[str]) -> _Row:
    title = _escape(entry.ref.title)
    if entry.assessment.severity.value == "critical":
        title += " _(critical)_"
    return _Row("item", entry.id, (title, BOX_OF[entry.assessment.status], _notes(entry, places)))


def _context_spec(key: str) -> FieldSpec | None:
    return next((spec for spec in CONTEXT_FIELDS if spec.id == key), None)


def _context_value(key: str, value: Any) -> str:
    spec = _context_spec(key)
    if value is None or value == "":
        return ""
    return format_value(spec, value) if spec is not None else _context_text(value)


def _context_rows(context: dict[str, Any]) -> list[_Row]:
    known = [spec.id for spec in CONTEXT_FIELDS]
    others = sorted(k for k in context if k not in known and k != STOP_ANSWERS)
    rows = []
    for key in known + others:
        spec = _context_spec(key)
        label = spec.label if spec is not None else key
        rows.append(
            _Row("context", key, (_escape(label), _escape(_context_value(key, context.get(key)))))
        )
    return rows


def _stop_answers(context: dict[str, Any]) -> list[str]:
    answers = context.get(STOP_ANSWERS)
    if not isinstance(answers, dict) or not answers:
        return []
    out = ["", "**Stop questions** (answered during the assessment):", ""]
    for phase in sorted(answers, key=lambda k: (len(str(k)), str(k))):
        entry = answers[phase]
        if isinstance(entry, dict):
            question, answer = entry.get("question", ""), entry.get("answer")
        else:
            question, answer = "", entry
        out.append(f"- Phase {phase}: {question} — {_context_text(answer) or '—'}")
    return out


def _waiver_state(waiver: WaiverView) -> str:
    if waiver.state == "requested":
        return f"requested by {waiver.requested_by}"
    if waiver.state in ("approved", "denied") and waiver.decided_role:
        return f"{waiver.state} by {waiver.decided_role} ({waiver.decided_by})"
    return waiver.state


def _waiver_row(view: ReviewView, waiver: WaiverView) -> _Row:
    ref = view.checklist.item(waiver.item_id) if waiver.item_id in view.checklist else None
    title = f"{ref.title} " if ref else ""
    cells = (
        _escape(f"{title}`{waiver.item_id}`"),
        _escape(waiver.reason),
        _escape(waiver.risk_owner),
        _escape(waiver.mitigation or ""),
        waiver.expires.isoformat() if waiver.expires else "",
        _escape(_waiver_state(waiver)),
    )
    return _Row("waiver", str(waiver.id), cells)


def _signoff_roles(view: ReviewView) -> list[str]:
    roles = list(view.required_roles)
    return roles + [s.role for s in view.signoffs if s.role not in roles]


def _signoff_row(role: str, signoff: SignoffView | None) -> _Row:
    if signoff is None:
        return _Row("signoff", _slug(role), (_escape(role), "", "☐", ""))
    box = "☑" if signoff.decision == "approve" else "☒"
    return _Row(
        "signoff",
        _slug(role),
        (_escape(role), _escape(signoff.person), box, signoff.at.date().isoformat()),
    )


@dataclass
class _Rendered:
    """A review's editable rows, keyed by (kind, key), in document order."""

    rows: dict[tuple[str, str], _Row]
    content_hash: str


def _rows(view: ReviewView, places: dict[str, list[str]]) -> _Rendered:
    rows: dict[tuple[str, str], _Row] = {}
    for row in _context_rows(view.context):
        rows[(row.kind, row.key)] = row
    for entry in view.items:
        row = _item_row(entry, places.get(entry.id, []))
        rows[(row.kind, row.key)] = row
    for waiver in view.waivers:
        row = _waiver_row(view, waiver)
        rows[(row.kind, row.key)] = row
    by_role = {s.role: s for s in view.signoffs}
    for role in _signoff_roles(view):
        row = _signoff_row(role, by_role.get(role))
        rows[(row.kind, row.key)] = row
    head = _header_values(view)
    body = "\n".join(
        [*(f"{k}={head[k]}" for k in _HEADER_KEYS[:5]), *(r.token for r in rows.values())]
    )
    return _Rendered(rows, "sha256:" + hashlib.sha256(body.encode()).hexdigest())


def _header_values(view: ReviewView) -> dict[str, str]:
    return {
        "review": str(view.id),
        "service": view.service,
        "version": view.version,
        "checklist": view.checklist.ref,
        "stage": view.stage.value,
    }


def _seal(values: dict[str, str]) -> str:
    text = "\n".join(f"{k}={values.get(k, '')}" for k in _HEADER_KEYS[:6])
    return hashlib.sha256(("prr-review-seal\n" + text).encode()).hexdigest()[:16]


def _table(kind: str, rows: Iterable[_Row]) -> list[str]:
    heading = _HEADINGS[kind]
    separator = "|" + "|".join("-" * (len(c) + 2) for c in _split_row(heading)) + "|"
    return [heading, separator, *(r.markdown() for r in rows)]


def render_document(view: ReviewView, evidence: dict[str, list[str]] | None = None) -> str:
    """The review as a Markdown document; the same review state always gives the same text."""
    places = evidence or {}
    rendered = _rows(view, places)
    head = _header_values(view)
    head["hash"] = rendered.content_hash
    out = [HEADER_START]
    out += [f"{key}: {head[key]}" for key in _HEADER_KEYS[:6]]
    out += [
        f"seal: {_seal(head)}",
        f"state: {view.state}",
        "How to edit: set a Status box to ☐ (open), ☑ (pass), ☒ (fail) or N/A (and write",
        "'N/A: why' in Notes); write field values in Notes as 'Label: value'; add rows to",
        "Risks Accepted; tick your Sign-Off row and write your name. Leave the hidden prr",
        "markers alone. Then run: prr review import FILE (--dry-run to preview).",
        "-->",
    ]
    verdict = view.verdict
    out += [
        f"# Production Readiness Review: {view.service} {view.version}",
        "",
        f"**Application:** {view.service}  ",
        f"**Version:** {view.version}  ",
        f"**Owner:** {view.owner or '—'}  ",
        f"**Checklist:** `{view.checklist.ref}` · **Stage:** {view.stage.value}  ",
        f"**Review:** {view.id} ({view.state}) · opened {view.created_at.date().isoformat()} "
        f"by {view.created_by}",
        "",
        "---",
        "",
        "### Executive Summary",
        "",
        "| Category | Status | Blockers |",
        "|----------|--------|----------|",
    ]
    for category in view.checklist.categories:
        status = CategoryStatus(view.category_status(category.id))
        count = sum(1 for b in view.blockers if b.ref.category.id == category.id)
        out.append(f"| {category.title} | {status.icon} {status.value} | {count} |")
    missing = ", ".join(view.missing_roles()) or "none"
    out += [
        "",
        f"**Overall Status:** {verdict.icon} {verdict.value} · {len(view.blockers)} blocker(s) · "
        f"{len(view.issues)} issue(s) · sign-off missing from {missing}",
        "",
    ]
    if view.blockers:
        out += [
            "### Blockers (Must Fix Before Launch)",
            "",
            "| ID | Category | Issue | Owner | ETA |",
            "|----|----------|-------|-------|-----|",
        ]
        for number, blocker in enumerate(view.blockers, start=1):
            entry = view.item(blocker.id)
            out.append(
                f"| BLOCK-{number:03d} | {blocker.ref.category.title} | "
                f"{_escape(blocker.ref.title)} (`{blocker.id}`) | {_escape(entry.owner or '')} | "
                f"{entry.eta.isoformat() if entry.eta else ''} |"
            )
        out += ["", "_Computed from the items below; set Owner and ETA in an item's Notes._", ""]
    out += ["---", "", "### Context", ""]
    out += _table("context", (r for r in rendered.rows.values() if r.kind == "context"))
    out += _stop_answers(view.context)
    out.append("")
    by_id = {row.key: row for row in rendered.rows.values() if row.kind == "item"}
    for category in view.checklist.categories:
        status = CategoryStatus(view.category_status(category.id))
        out += ["---", "", f"## {category.title} Checklist — {status.icon} {status.value}", ""]
        for section in category.sections:
            refs = [f"{category.id}.{section.id}.{item.id}" for item in section.items]
            rows = [by_id[r] for r in refs if r in by_id]
            if rows:
                out += [f"### {section.title}", "", *_table("item", rows), ""]
    out += ["---", "", "### Risks Accepted", ""]
    out += _table("waiver", (r for r in rendered.rows.values() if r.kind == "waiver"))
    out += [
        "",
        "_To ask for a risk acceptance add a row: the item id, the reason, the risk owner, the "
        "compensating control, an expiry date (YYYY-MM-DD) and `requested`. A permitted role "
        "then decides it (`prr review accept-risk`). Set State to `revoked` to revoke one._",
        "",
        "---",
        "",
        "### Sign-Off",
        "",
    ]
    out += _table("signoff", (r for r in rendered.rows.values() if r.kind == "signoff"))
    out.append("")
    return "\n".join(out)


def export_document(reviews: Reviews, review_id: int) -> str:
    """Render review ``review_id`` (with its evidence locations) as a Markdown document."""
    view = reviews.get(review_id)
    return render_document(view, _evidence(reviews.store, review_id))


# -- parsing -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DocRow:
    """A table row of a document: its line, cells (escaped) and hidden marker."""

    line: int
    cells: tuple[str, ...]
    kind: str | None = None
    key: str | None = None
    digest: str | None = None

    def text(self, index: int) -> str:
        return _unescape(self.cells[index]) if index < len(self.cells) else ""


@dataclass
class ParsedDocument:
    """What a review document says, with line numbers, before it is compared to a review."""

    source: str
    header: dict[str, tuple[str, int]]
    header_line: int
    rows: dict[str, list[DocRow]] = field(default_factory=dict)


def parse_document(text: str, source: str = "<document>") -> ParsedDocument:
    """Read a review document's header and tables; malformed rows raise :class:`DocumentError`."""
    lines = text.splitlines()
    problems: list[Problem] = []
    header: dict[str, tuple[str, int]] = {}
    header_line = 0
    for number, line in enumerate(lines, start=1):
        if line.strip().startswith(HEADER_START):
            header_line = number
            break
    if not header_line:
        raise DocumentError(
            [
                Problem(
                    "not a prr review document: the '<!-- prr-review' header is missing; "
                    "export one with 'prr review export ID'",
                    source,
                    1,
                )
            ]
        )
    number = header_line
    while number < len(lines):
        line = lines[number]
        number += 1
        if "-->" in line:
            break
        key, sep, value = line.partition(":")
        if sep and key.strip() in _HEADER_KEYS:
            header[key.strip()] = (value.strip(), number)
    for key in _HEADER_KEYS:
        if key not in header:
            problems.append(
                Problem(
                    f"the header has no '{key}:' line; restore the header as exported "
                    "(or export the review again)",
                    source,
                    header_line,
                )
            )
    document = ParsedDocument(source, header, header_line, {k: [] for k in _EDITABLE})
    fence = False
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith(("```", "~~~")):
            fence = not fence
        if fence or not line.startswith("|"):
            i += 1
            continue
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if not _RULE.fullmatch(following):
            problems.append(
                Problem(
                    "this table row belongs to no table (is a blank line separating it from "
                    "the table above?); put it directly under the table's last row",
                    source,
                    i + 1,
                )
            )
            i += 1
            continue
        heading = tuple(_norm(c).lower() for c in _split_row(line))
        kind = _TABLES.get(heading)
        i += 2
        while i < len(lines) and lines[i].strip().startswith("|"):
            if kind is not None:
                row = _doc_row(lines[i], i + 1, kind, len(heading), source, problems)
                if row is not None:
                    document.rows[kind].append(row)
            i += 1
    if problems:
        raise DocumentError(problems)
    return document


def _doc_row(
    line: str, number: int, kind: str, width: int, source: str, problems: list[Problem]
) -> DocRow | None:
    cells = _split_row(line)
    if len(cells) != width:
        problems.append(
            Problem(
                f"this row has {len(cells)} cells but the table has {width} "
                f"({_HEADINGS[kind]}); write a '|' inside a cell as '\\|'",
                source,
                number,
            )
        )
        return None
    if all(not c for c in cells):
        return None
    for index, cell in enumerate(cells):
        match = _MARKER.search(cell)
        if match:
            cleaned = list(cells)
            cleaned[index] = (cell[: match.start()] + cell[match.end() :]).strip()
            return DocRow(
                number,
                tuple(cleaned),
                match.group(1),
                unquote(match.group(2)),
                match.group(3),
            )
    return DocRow(number, tuple(cells))


# -- planning ------------------------------------------------------------------------------------
_ORDER = {"context": 0, "answer": 1, "na": 1, "waiver": 2, "revoke": 2, "signoff": 3}


@dataclass
class Change:
    """One edit found in a document, as the :class:`Reviews` call that makes it."""

    line: int
    action: str
    """context · answer · na · waiver · revoke · signoff"""
    subject: str
    description: str
    arguments: dict[str, Any] = field(default_factory=dict)
    note: str | None = None

    def apply(self, reviews: Reviews, review_id: int, actor: str) -> None:
        """Make this change through the review workflow (which enforces every rule)."""
        args = self.arguments
        if self.action == "context":
            reviews.set_context(review_id, args["context"], actor=actor)
        elif self.action == "answer":
            reviews.answer(review_id, self.subject, actor=actor, **args)
        elif self.action == "na":
            reviews.mark_na(review_id, self.subject, reason=args["reason"], actor=actor)
        elif self.action == "waiver":
            reviews.request_waiver(review_id, self.subject, actor=actor, **args)
        elif self.action == "revoke":
            reviews.revoke_waiver(args["waiver_id"], actor=actor)
        elif self.action == "signoff":
            reviews.signoff(
                review_id, role=args["role"], person=args["person"], approve=args["approve"]
            )
        else:  # pragma: no cover - planning only makes the actions above
            raise RuntimeError(f"unknown change {self.action}")


@dataclass
class ImportPlan:
    """The changes a document asks for, checked against the review's current state."""

    source: str
    review_id: int
    changes: list[Change]
    warnings: list[Problem]
    stale: bool
    """The review changed after the document was exported (edited rows were compared)."""


@dataclass
class _Planner:
    view: ReviewView
    current: _Rendered
    doc: ParsedDocument
    actor: str
    trust_markers: bool
    problems: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    edited_lines: list[int] = field(default_factory=list)

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(message, self.doc.source, line))

    def edited(self, row: DocRow) -> bool:
        """Whether a person changed this row since it was exported."""
        if not self.trust_markers or row.kind is None or row.key is None or not row.digest:
            return True
        return _digest(row.kind, row.key, row.cells) != row.digest

    def conflicts(self, row: DocRow) -> bool:
        """Whether the review changed this row after the export (so the edit may be stale)."""
        if not row.digest or row.kind is None or row.key is None:
            return False
        now = self.current.rows.get((row.kind, row.key))
        return now is not None and now.digest != row.digest

    def conflict(self, row: DocRow, what: str) -> None:
        self.problem(
            row.line,
            f"{what} changed in the review after this document was exported and was edited "
            "here too; export the review again (prr review export "
            f"{self.view.id}) and redo this edit",
        )

    def add(self, row: DocRow, change: Change) -> None:
        self.changes.append(change)
        if row.line not in self.edited_lines:
            self.edited_lines.append(row.line)


def _header_problems(doc: ParsedDocument, view: ReviewView, reviews: Reviews) -> list[Problem]:
    """Whether the header still names the review it was exported from; where it was edited."""
    values = {k: v for k, (v, _) in doc.header.items()}
    expected = _header_values(view)
    sealed = doc.header["seal"][0] == _seal(values)
    if not sealed:
        origins = [
            s.id
            for s in reviews.list_reviews(values.get("service"))
            if s.version == values.get("version")
            and doc.header["seal"][0] == _seal({**values, "review": str(s.id)})
        ]
        if origins and origins[0] != view.id:
            return [
                Problem(
                    f"review: the id was changed: this document was exported from review "
                    f"{origins[0]} ({values['service']} {values['version']}), not {view.id}; "
                    f"restore 'review: {origins[0]}', or export review {view.id} and edit that",
                    doc.source,
                    doc.header["review"][1],
                )
            ]
    problems = [
        Problem(
            f"{key}: the document says {values.get(key)!r} but review {view.id} has "
            f"{expected[key]!r}; the header must stay as exported",
            doc.source,
            doc.header[key][1],
        )
        for key in ("service", "version", "checklist", "stage")
        if values.get(key) != expected[key]
    ]
    if not problems and not sealed:
        problems.append(
            Problem(
                f"the header was edited: review {values['review']} is not the review this "
                "document was exported from (or its hash or seal was changed); restore the "
                "header as exported, or export the review you mean and edit that",
                doc.source,
                doc.header["review"][1],
            )
        )
    return problems


def plan_import(
    reviews: Reviews, doc: ParsedDocument, *, actor: str, trust_markers: bool = True
) -> ImportPlan:
    """Compare a parsed document with its review; every problem raises with its line.

    Rows a person did not edit (their marker's digest still matches) are skipped,
    so an exported document imported unchanged asks for nothing.
    ``trust_markers=False`` compares every row with the review instead.
    """
    raw_id, id_line = doc.header["review"]
    if not raw_id.isdigit():
        raise DocumentError(
            [Problem(f"review: {raw_id!r} is not a review id (a number)", doc.source, id_line)]
        )
    try:
        view = reviews.get(int(raw_id))
    except PrrError as exc:
        raise DocumentError(
            [
                Problem(
                    f"review: {exc}; restore the id this document was exported from",
                    doc.source,
                    id_line,
                )
            ]
        ) from None
    header_problems = _header_problems(doc, view, reviews)
    if header_problems:
        raise DocumentError(header_problems)
    current = _rows(view, _evidence(reviews.store, view.id))
    planner = _Planner(view, current, doc, actor, trust_markers)
    _plan_context(planner)
    _plan_items(planner)
    _plan_waivers(planner)
    _plan_signoffs(planner)
    if view.frozen and (planner.changes or planner.problems):
        lines = ", ".join(
            str(n)
            for n in sorted({*planner.edited_lines, *(p.line or 0 for p in planner.problems)})
        )
        raise DocumentError(
            [
                Problem(
                    f"review {view.id} is {view.state} and frozen: it records what was "
                    f"approved, so the edits on lines {lines} cannot be applied; start a new "
                    f"review (prr review new {view.service} VERSION) for further changes",
                    doc.source,
                    id_line,
                )
            ]
        )
    if planner.problems:
        raise DocumentError(sorted(planner.problems, key=lambda p: p.line or 0))
    warnings = []
    seen = {row.key for row in doc.rows["item"] if row.key}
    missing = [e.id for e in view.items if e.id not in seen]
    if missing:
        warnings.append(
            Problem(
                f"{len(missing)} item(s) of the review are not in the document and are left "
                f"unchanged (first: {missing[0]})",
                doc.source,
                doc.header_line,
            )
        )
    stale = doc.header["hash"][0] != current.content_hash
    changes = sorted(planner.changes, key=lambda c: (_ORDER[c.action], c.line))
    return ImportPlan(doc.source, view.id, changes, warnings, stale)


def _plan_context(p: _Planner) -> None:
    by_label = {spec.label.lower(): spec.id for spec in CONTEXT_FIELDS}
    for row in p.doc.rows["context"]:
        if row.kind == "context" and row.key:
            key = row.key
        else:  # a row a person added: a known label, or a new entry named by its label
            label = _norm(row.text(0))
            if not label:
                p.problem(row.line, "a context row needs a name in its first cell")
                continue
            key = by_label.get(label.lower()) or _slug(label).replace("-", "_")
        if key == STOP_ANSWERS:
            p.problem(row.line, "the stop questions' answers are kept by 'prr assess'")
            continue
        now = p.current.rows.get(("context", key))
        before = _unescape(now.cells[1]) if now else ""
        after = row.text(1)
        if (row.digest and not p.edited(row)) or _norm(after) == _norm(before):
            continue
        spec = _context_spec(key)
        value: Any = after or None
        if spec is not None and after:
            try:
                parsed = spec.parse(_raw_value(spec, after))
            except FieldValueError as exc:
                detail = str(exc).split(": ", 1)[-1]
                p.problem(row.line, f"{spec.label}: {detail} — write {_fits(spec)}")
                continue
            value = parsed.isoformat() if isinstance(parsed, dt.date) else parsed
            if now is not None and before:
                try:
                    if spec.parse(_raw_value(spec, before)) == parsed:
                        continue
                except FieldValueError:
                    pass
        if now is not None and p.conflicts(row):
            p.conflict(row, f"context {key!r}")
            continue
        label = spec.label if spec is not None else key
        p.add(
            row,
            Change(
                row.line,
                "context",
                key,
                f"{label}: {before or '—'} → {after or '—'}",
                {"context": {key: value}},
            ),
        )


@dataclass
class _Notes:
    na_reason: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    owner: str | None = None
    eta: str | None = None
    free: str = ""
    tail: str = ""


def _read_notes(text: str, ref: ItemRef, line: int, report: list[tuple[int, str]] | None) -> _Notes:
    """Split a Notes cell into N/A reason, field values, owner, ETA, free text and prr's tail."""
    notes = _Notes()
    specs = ref.item.fields
    by_name: dict[str, FieldSpec] = {}
    for spec in specs:
        by_name[_norm(spec.label).lower()] = spec
        by_name[spec.id.lower()] = spec
    free: list[str] = []
    parts = _SPLIT.split(text.strip()) if text.strip() else []
    for index, part in enumerate(parts):
        if part.startswith(_MARKS):
            notes.tail = _SEPARATOR.join(parts[index:])
            break
        match = _LABEL.match(part)
        label = _norm(match.group(1)).lower() if match else ""
        value = _undot((match.group(2) or "").strip()) if match else ""
        if match and label in by_name:
            spec = by_name[label]
            if spec.id in notes.fields and report is not None:
                report.append((line, f"{spec.label} is given twice; keep one value"))
            notes.fields[spec.id] = value
        elif match and label in ("n/a", "na"):
            notes.na_reason = value
        elif match and label == "owner":
            notes.owner = value
        elif match and label == "eta":
            notes.eta = value
        else:
            close = (
                difflib.get_close_matches(label, list(by_name), n=1, cutoff=0.85) if match else []
            )
            if close and report is not None:
                known = ", ".join(s.label for s in specs)
                report.append(
                    (
                        line,
                        f"unknown field {part.split(':', 1)[0].strip()!r} for {ref.id} "
                        f"(did you mean {by_name[close[0]].label!r}? fields: {known})",
                    )
                )
            free.append(_undot(part))
    notes.free = _SEPARATOR.join(free)
    return notes


def _box(text: str) -> Status | None:
    cleaned = text.strip().strip("`").strip()
    if cleaned.upper() in ("N/A", "NA"):
        return Status.NOT_APPLICABLE
    return BOXES.get(cleaned)


def _plan_items(p: _Planner) -> None:
    seen: dict[str, int] = {}
    for row in p.doc.rows["item"]:
        if row.kind != "item" or not row.key:
            p.problem(
                row.line,
                "this row has no item marker (<!-- prr:item ID … -->): rows cannot be added to "
                "a checklist table; restore the marker as exported or remove the row",
            )
            continue
        if row.key not in p.view.checklist:
            close = difflib.get_close_matches(row.key, [r.id for r in p.view.checklist], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            p.problem(
                row.line,
                f"unknown item id {row.key!r} in checklist {p.view.checklist.ref}{hint}; "
                "restore the marker as exported",
            )
            continue
        if row.key in seen:
            p.problem(
                row.line,
                f"item {row.key} appears twice (also on line {seen[row.key]}); keep one row",
            )
            continue
        seen[row.key] = row.line
        if not p.edited(row):
            continue
        _plan_item(p, row, p.view.item(row.key))


def _plan_item(p: _Planner, row: DocRow, entry: ReviewItemView) -> None:
    ref = entry.ref
    now_row = p.current.rows[("item", entry.id)]
    found: list[tuple[int, str]] = []
    status = _box(row.text(1))
    if status is None:
        p.problem(
            row.line,
            f"Status {row.text(1)!r} of {entry.id} is not a box: write ☐ (open), ☑ (pass), "
            "☒ (fail) or N/A",
        )
        return
    wanted = _read_notes(row.text(2), ref, row.line, found)
    have = _read_notes(_unescape(now_row.cells[2]), ref, row.line, None)
    for line, message in found:
        p.problem(line, message)
    if found:
        return
    before = entry.assessment.status
    errors_before = len(p.problems)
    changes: list[Change] = []
    verified = entry.assessment.source in (Source.VERIFIED, Source.DRILL)

    # the box
    status_change: Status | None = None
    na_reason: str | None = None
    if wanted.na_reason is not None and status is not Status.NOT_APPLICABLE:
        p.problem(
            row.line,
            f"'N/A: …' is written in Notes but the box of {entry.id} is {BOX_OF[status]}; "
            "set the box to N/A or remove the 'N/A: …' note",
        )
    elif status is Status.NOT_APPLICABLE:
        reason = (wanted.na_reason or "").strip()
        if not reason and not (before is Status.NOT_APPLICABLE and verified):
            p.problem(
                row.line,
                f"N/A for {entry.id} needs a reason: write 'N/A: why it does not apply' in Notes",
            )
        elif reason and (before is not Status.NOT_APPLICABLE or reason != (entry.na_reason or "")):
            na_reason = reason
    elif status is Status.UNKNOWN:
        if before is not Status.UNKNOWN:
            p.problem(
                row.line,
                f"{entry.id} is {BOX_OF[before]}: an answer cannot be withdrawn by clearing the "
                "box; keep it, or tick ☒ (fail) / N/A with a reason",
            )
    elif status is not before:
        status_change = status

    # field values, owner, ETA, notes
    fields: dict[str, str] = {}
    for spec in ref.item.fields:
        new = wanted.fields.get(spec.id)
        old = have.fields.get(spec.id, "")
        if new is None or not new.strip():
            if old:
                p.problem(
                    row.line,
                    f"{spec.label} of {entry.id} had the value {old!r}; a recorded value cannot "
                    f"be removed, write the new value ({_fits(spec)})",
                )
            continue
        if _norm(new) == _norm(old):
            continue
        try:
            value = spec.parse(_raw_value(spec, new))
        except FieldValueError as exc:
            detail = str(exc).split(": ", 1)[-1]
            p.problem(
                row.line,
                f"{spec.label}: {detail} — write {_fits(spec)} (e.g. '{spec.label}: …')",
            )
            continue
        stored = entry.assessment.fields.get(spec.id)
        try:
            unchanged = stored is not None and spec.parse(stored) == value
        except FieldValueError:
            unchanged = False
        if not unchanged:
            fields[spec.id] = _raw_value(spec, new)
    owner: str | None = None
    if (wanted.owner or "") != (have.owner or ""):
        if not (wanted.owner or "").strip():
            p.problem(row.line, f"the owner of {entry.id} cannot be removed; write a new owner")
        else:
            owner = (wanted.owner or "").strip()
    eta: dt.date | None = None
    if (wanted.eta or "") != (have.eta or ""):
        if not (wanted.eta or "").strip():
            p.problem(row.line, f"the ETA of {entry.id} cannot be removed; write a new date")
        else:
            try:
                eta = dt.date.fromisoformat((wanted.eta or "").strip())
            except ValueError:
                p.problem(
                    row.line,
                    f"ETA {wanted.eta!r} of {entry.id} is not a date; write 'ETA: YYYY-MM-DD'",
                )
    notes = wanted.free if _norm(wanted.free) != _norm(have.free) else None
    if len(p.problems) > errors_before:
        return

    answer: dict[str, Any] = {}
    if status_change is not None:
        answer["status"] = status_change
    if fields:
        answer["fields"] = fields
    if notes is not None:
        answer["notes"] = notes
    if owner is not None:
        answer["owner"] = owner
    if eta is not None:
        answer["eta"] = eta
    if na_reason is not None:
        changes.append(
            Change(
                row.line,
                "na",
                entry.id,
                f"{BOX_OF[before]} → N/A: {na_reason}",
                {"reason": na_reason},
                _attested_note(entry, p) if verified else None,
            )
        )
    if answer:
        what = []
        if status_change is not None:
            what.append(f"{BOX_OF[before]} → {BOX_OF[status_change]}")
        what += [f"{ref.item.field(k).label}: {v}" for k, v in fields.items()]
        if owner is not None:
            what.append(f"Owner: {owner}")
        if eta is not None:
            what.append(f"ETA: {eta.isoformat()}")
        if notes is not None:
            what.append(f"notes: {notes!r}" if notes else "notes cleared")
        note = _attested_note(entry, p) if verified and status_change is not None else None
        changes.append(Change(row.line, "answer", entry.id, " · ".join(what), answer, note))
    if not changes:
        return
    if p.conflicts(row):
        p.conflict(row, f"item {entry.id}")
        return
    if wanted.tail and _norm(wanted.tail) != _norm(have.tail):
        p.problem(
            row.line,
            f"the end of the Notes of {entry.id} from '{wanted.tail[:2]}' on is written by prr "
            "and ignored on import; move your text before it",
        )
        return
    for change in changes:
        p.add(row, change)


def _attested_note(entry: ReviewItemView, p: _Planner) -> str:
    return (
        f"was {entry.assessment.source.value} by a check; becomes an answer attested by {p.actor}"
    )


def _plan_waivers(p: _Planner) -> None:
    existing = {str(w.id): w for w in p.view.waivers}
    for row in p.doc.rows["waiver"]:
        if row.kind == "waiver" and row.key:
            waiver = existing.get(row.key)
            if waiver is None:
                p.problem(
                    row.line,
                    f"risk acceptance {row.key} does not exist in review {p.view.id}; restore "
                    "the row as exported, or remove its marker to ask for a new one",
                )
                continue
            if not p.edited(row):
                continue
            _plan_waiver_edit(p, row, waiver)
        else:
            _plan_new_waiver(p, row)


def _plan_waiver_edit(p: _Planner, row: DocRow, waiver: WaiverView) -> None:
    now = p.current.rows[("waiver", str(waiver.id))]
    state = row.text(5).split(" ", 1)[0].lower() if row.text(5) else ""
    same = all(_norm(row.cells[i]) == _norm(now.cells[i]) for i in range(5))
    if state == waiver.state and same:
        return
    if state == "revoked" and same:
        if p.conflicts(row):
            p.conflict(row, f"risk acceptance {waiver.id}")
            return
        p.add(
            row,
            Change(
                row.line,
                "revoke",
                waiver.item_id,
                f"revoke risk acceptance {waiver.id} ({waiver.state} → revoked)",
                {"waiver_id": waiver.id},
            ),
        )
        return
    p.problem(
        row.line,
        f"risk acceptance {waiver.id} cannot be edited here; only its State can be set to "
        "'revoked'. To change it, revoke it and add a new row",
    )


def _plan_new_waiver(p: _Planner, row: DocRow) -> None:
    cell = row.text(0)
    found = re.search(r"`([^`]+)`", cell)
    item_id = (found.group(1) if found else cell).strip()
    if item_id not in p.view.checklist:
        close = difflib.get_close_matches(item_id, [r.id for r in p.view.checklist], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        p.problem(
            row.line,
            f"unknown item id {item_id!r}{hint}: a new risk acceptance names the item by its id, "
            "e.g. `infrastructure.networking.cdn-configured`",
        )
        return
    reason, owner, mitigation = row.text(1), row.text(2), row.text(3)
    expires_text, state = row.text(4), row.text(5).strip().lower()
    bad = False
    if not reason.strip() or not owner.strip():
        p.problem(row.line, "a risk acceptance needs a Reason and a Risk owner")
        bad = True
    expires: dt.date | None = None
    if expires_text.strip():
        try:
            expires = dt.date.fromisoformat(expires_text.strip())
        except ValueError:
            p.problem(row.line, f"Expires {expires_text!r} is not a date; write YYYY-MM-DD")
            bad = True
    if state and not state.startswith("requested"):
        p.problem(
            row.line,
            f"a new risk acceptance starts as 'requested', not {state!r}; a permitted role "
            "approves it afterwards (prr review accept-risk)",
        )
        bad = True
    if bad:
        return
    for waiver in p.view.waivers:
        if (
            waiver.item_id == item_id
            and waiver.reason == reason.strip()
            and waiver.risk_owner == owner.strip()
            and waiver.state in ("requested", "approved")
        ):
            return  # already asked for (a document imported twice)
    p.add(
        row,
        Change(
            row.line,
            "waiver",
            item_id,
            f"ask to accept the risk: {reason.strip()} (owner {owner.strip()}"
            + (f", until {expires.isoformat()}" if expires else "")
            + ")",
            {
                "reason": reason.strip(),
                "risk_owner": owner.strip(),
                "mitigation": mitigation.strip() or None,
                "expires": expires,
            },
        ),
    )


def _plan_signoffs(p: _Planner) -> None:
    roles = {_slug(role): role for role in _signoff_roles(p.view)}
    by_role = {s.role: s for s in p.view.signoffs}
    for row in p.doc.rows["signoff"]:
        key = row.key if row.kind == "signoff" and row.key else _slug(row.text(0))
        role = roles.get(key)
        if role is None:
            p.problem(
                row.line,
                f"{row.text(0)!r} is not a sign-off role of this review; roles: "
                + ", ".join(roles.values()),
            )
            continue
        if not p.edited(row):
            continue
        box, name = row.text(2).strip(), row.text(1).strip()
        if box not in SIGNOFF_BOXES:
            p.problem(
                row.line,
                f"Approved {box!r} for {role} is not a box: write ☐ (not yet), ☑ (approve) "
                "or ☒ (reject)",
            )
            continue
        existing = by_role.get(role)
        if box == "☐":
            if existing is not None:
                p.problem(
                    row.line,
                    f"{role} was signed by {existing.person}; a sign-off cannot be withdrawn "
                    "by clearing the box; tick ☒ to reject instead",
                )
            continue
        approve = box == "☑"
        if not name:
            p.problem(row.line, f"the {role} sign-off is ticked but has no Name; write your name")
            continue
        if (
            existing is not None
            and existing.person.lower() == name.lower()
            and (existing.decision == "approve") == approve
        ):
            continue
        if name.lower() != p.actor.lower():
            p.problem(
                row.line,
                f"the {role} sign-off names {name!r} but this import runs as {p.actor!r}: only "
                f"{name} can sign as themselves; run the import as them "
                f"(prr review import FILE --as {name!r})",
            )
            continue
        if p.conflicts(row):
            p.conflict(row, f"the {role} sign-off")
            continue
        p.add(
            row,
            Change(
                row.line,
                "signoff",
                role,
                f"{'approved' if approve else 'rejected'} by {name}",
                {"role": role, "person": name, "approve": approve},
            ),
        )


# -- applying ------------------------------------------------------------------------------------
@dataclass
class ImportResult:
    """What an import did (or, with ``dry_run``, would do)."""

    plan: ImportPlan
    applied: list[Change]
    dry_run: bool
    view: ReviewView
    failed: Problem | None = None
    """Set when writing stopped part-way (someone changed the review at the same moment)."""


def _scratch_copy(store: Store, review_id: int) -> Store:
    """A throwaway in-memory store holding only this review (and its service)."""
    scratch = Store("sqlite://", migrate=False)
    Base.metadata.create_all(scratch.engine)
    tables = Base.metadata.tables
    with store.engine.connect() as source:
        review = source.execute(
            select(tables["review"]).where(tables["review"].c.id == review_id)
        ).one()
        chosen = {
            "service": [tables["service"].c.id == review.service_id],
            "review": [tables["review"].c.id == review_id],
        }
        for name, table in tables.items():
            if name not in chosen and "review_id" in table.c:
                chosen[name] = [table.c.review_id == review_id]
        with scratch.engine.begin() as target:
            for table in Base.metadata.sorted_tables:
                if table.name not in chosen:
                    continue
                rows = [
                    dict(r._mapping)
                    for r in source.execute(select(table).where(*chosen[table.name]))
                ]
                for data in rows:
                    for fk in table.foreign_keys:
                        if fk.column.table.name not in chosen:
                            data[fk.parent.name] = None
                if rows:
                    target.execute(insert(table), rows)
    return scratch


def rehearse(reviews: Reviews, plan: ImportPlan, actor: str) -> list[Problem]:
    """Apply the plan to a scratch copy of the review; every refusal, with its line."""
    if not plan.changes:
        return []
    scratch = _scratch_copy(reviews.store, plan.review_id)
    try:
        trial = Reviews(scratch, reviews.policy, today=reviews.today)
        problems = []
        for change in plan.changes:
            try:
                change.apply(trial, plan.review_id, actor)
            except PrrError as exc:
                problems.append(Problem(f"{change.subject}: {exc}", plan.source, change.line))
        return problems
    finally:
        scratch.close()


def import_document(
    reviews: Reviews,
    text: str,
    *,
    actor: str,
    source: str = "<document>",
    dry_run: bool = False,
    trust_markers: bool = True,
) -> ImportResult:
    """Import an edited review document: parse, validate everything, then apply.

    Raises :class:`DocumentError` (malformed, stale or frozen) or
    :class:`ImportRefused` (the review's rules refuse an edit) before anything
    is written. ``dry_run`` stops after validation.
    """
    doc = parse_document(text, source)
    plan = plan_import(reviews, doc, actor=actor, trust_markers=trust_markers)
    refused = rehearse(reviews, plan, actor)
    if refused:
        raise ImportRefused(refused)
    applied: list[Change] = []
    failed: Problem | None = None
    if not dry_run:
        for change in plan.changes:
            try:
                change.apply(reviews, plan.review_id, actor)
            except PrrError as exc:
                failed = Problem(f"{change.subject}: {exc}", source, change.line)
                break
            applied.append(change)
    return ImportResult(plan, applied, dry_run, reviews.get(plan.review_id), failed)


__all__ = [
    "CONTEXT_FIELDS",
    "Change",
    "DocumentError",
    "ImportPlan",
    "ImportRefused",
    "ImportResult",
    "ParsedDocument",
    "export_document",
    "format_value",
    "import_document",
    "parse_document",
    "plan_import",
    "rehearse",
    "render_document",
]
