"""The five-phase readiness assessment: what to show and ask in each phase, and where answers go.

The checklist's own workflow, for a person at a terminal (``prr assess``) or a CI
job (``prr assess --answers FILE``):

- first, the opening question — "What's your target launch date and expected
  traffic?" — launch date, expected and peak requests per second, kept in the
  review's context;
- then each phase of ``checklist.phases`` in order: the automated results of the
  phase's items (status, source, one line of evidence), a question for every item
  still unknown (pass / fail / n/a with a required reason / skip, optional notes
  and values for the item's typed fields), the phase's status (category statuses,
  blockers), and the phase's stop question, whose answer is kept in the context
  (an uptime or availability question takes a percentage, kept as
  ``uptime_target``; a "Ready for …?" question takes yes/no, and *no* stops
  before the report);
- the last phase writes the Readiness Assessment and the PRD.

Nothing here talks to a terminal: a :class:`Terminal` shows lines and tables and
reads answers. Every answer is written through :class:`~prr.review.reviews.Reviews`
the moment it is given and the phase reached is saved with ``set_phase``, so an
interrupted assessment resumes at its saved phase and asks only what is still
unknown.

Answers file (YAML; every mistake is reported as ``file:line:column``)::

    context:                      # the opening question (required for a new review)
      launch_date: 2026-12-01
      expected_rps: 200
      peak_rps: 800
    items:                        # by full item id; only items not decided by the scan
      infrastructure.compute.auto-scaling-configured:
        status: pass              # pass | fail | n/a | skip
        notes: HPA, 3 to 12 replicas
        fields: {min_instances: 3, max_instances: 12}   # validated by field type
      launch.pre-launch.marketing-aligned:
        status: n/a
        reason: Internal service, no marketing launch    # required with n/a
      security.authorization.api-rate-limiting-enabled:
        status: fail
        owner: "@backend"         # optional with fail (and pass)
        eta: 2026-11-20
    stop:                         # stop-question answers by phase number
      1: No concerns
      2: PCI DSS does not apply
      3: 99.9                     # the uptime target, a percentage
      4: yes                      # no: stop before writing the report

Context keys: ``launch_date`` (ISO date), ``expected_rps``, ``peak_rps``,
``uptime_target`` (percent) and ``stop_answers`` (phase number → question, answer).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import importlib
import importlib.util
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, TypeVar

from prr.engine.scan import Assessment
from prr.engine.status import ItemAssessment, category_status, verdict
from prr.errors import FieldValueError, Problem, PrrError, ReviewStateError
from prr.model.checklist import Checklist, ItemRef, Stage
from prr.model.evidence import Source, Status
from prr.model.fields import FieldSpec, FieldType
from prr.model.yamlsource import YamlDocument, YamlProblem, load_yaml
from prr.reports.scan_json import plain, scan_dict
from prr.review.library import slug
from prr.review.reviews import OPEN, ReviewItemView, Reviews, ReviewView

T = TypeVar("T")

OPENING_QUESTION = "What's your target launch date and expected traffic?"
"""Asked before anything else (the checklist's "Begin" step)."""

LAUNCH_DATE, EXPECTED_RPS, PEAK_RPS = "launch_date", "expected_rps", "peak_rps"
UPTIME_TARGET, STOP_ANSWERS = "uptime_target", "stop_answers"

OPENING_FIELDS = (
    FieldSpec(id=LAUNCH_DATE, label="Target launch date", type=FieldType.DATE),
    FieldSpec(
        id=EXPECTED_RPS, label="Expected traffic", type=FieldType.NUMBER, unit="requests/s", min=0
    ),
    FieldSpec(id=PEAK_RPS, label="Peak traffic", type=FieldType.NUMBER, unit="requests/s", min=0),
)
UPTIME_FIELD = FieldSpec(id=UPTIME_TARGET, label="Uptime target", type=FieldType.PERCENT)
_YES_NO = FieldSpec(id="answer", label="yes or no", type=FieldType.BOOLEAN)
_DATE = FieldSpec(id="eta", label="ETA", type=FieldType.DATE)


class AnswersError(PrrError):
    """An answers file is unreadable or does not fit the checklist; ``problems`` says where."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Terminal(Protocol):
    """What the assessment needs from a terminal (or from a CI log, which never reads)."""

    def say(self, text: str = "", style: str | None = None) -> None:
        """Show a line; ``style`` is heading, error, warning, success or muted."""

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """Show a table."""

    def read(self, prompt: str) -> str:
        """Ask and return the line typed; raises KeyboardInterrupt or EOFError to stop."""


# -- phases ------------------------------------------------------------------------------------


class StopKind(StrEnum):
    """How a stop question is answered."""

    TEXT = "text"
    PERCENT = "percent"
    CONFIRM = "confirm"
    NOTICE = "notice"
    """The last phase's "question" is a notice (e.g. "Present PRD for review")."""


@dataclass(frozen=True)
class PhasePlan:
    """One phase of the assessment, from the checklist's data."""

    number: int
    name: str
    activities: tuple[str, ...]
    stop_question: str | None
    last: bool

    @property
    def stop_kind(self) -> StopKind:
        question = (self.stop_question or "").strip().lower()
        if self.last:
            return StopKind.NOTICE
        if re.search(r"\b(uptime|availability)\b", question):
            return StopKind.PERCENT
        if re.match(r"(ready|proceed|continue)\b", question):
            return StopKind.CONFIRM
        return StopKind.TEXT


def phase_plans(checklist: Checklist) -> list[PhasePlan]:
    """The checklist's phases in order; one unnamed phase when it defines none."""
    phases = sorted(checklist.phases, key=lambda p: p.number)
    if not phases:
        return [PhasePlan(1, "Assessment", (), None, True)]
    return [
        PhasePlan(p.number, p.name, p.activities, p.stop_question, i == len(phases) - 1)
        for i, p in enumerate(phases)
    ]


class Choice(StrEnum):
    """A person's answer for an unknown item."""

    PASS = "pass"
    FAIL = "fail"
    NA = "n/a"
    SKIP = "skip"


_CHOICES = {
    "p": Choice.PASS,
    "pass": Choice.PASS,
    "f": Choice.FAIL,
    "fail": Choice.FAIL,
    "n": Choice.NA,
    "na": Choice.NA,
    "n/a": Choice.NA,
    "not_applicable": Choice.NA,
    "s": Choice.SKIP,
    "skip": Choice.SKIP,
    "": Choice.SKIP,
}


@dataclass
class ItemAnswer:
    """An answer for one item: from a prompt or from an answers file."""

    choice: Choice
    reason: str | None = None
    notes: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    owner: str | None = None
    eta: dt.date | None = None


@dataclass(frozen=True)
class ResultRow:
    """An item already decided, as shown at the start of its phase."""

    id: str
    title: str
    status: str
    source: str
    evidence: str


@dataclass
class CategoryLine:
    title: str
    status: str
    blockers: int
    issues: int
    unknown: int


@dataclass
class PhaseStatus:
    """Where a phase (or, for the last phase, the whole review) stands."""

    categories: list[CategoryLine]
    blockers: list[ItemAssessment]
    issues: list[ItemAssessment]
    unknown: int
    verdict: str


@dataclass
class Outcome:
    """How a run of the assessment ended."""

    review_id: int
    finished: bool
    phase: int
    reports: list[Path] = field(default_factory=list)
    stopped: str = ""
    ignored: list[str] = field(default_factory=list)


# -- starting and finding reviews ----------------------------------------------------------------


def find_review(
    reviews: Reviews, *, service: str, version: str | None, review_id: int | None
) -> ReviewView | None:
    """The review to continue: ``review_id``, else the latest open one of service/version."""
    if review_id is not None:
        view = reviews.get(review_id)
        if view.frozen:
            raise ReviewStateError(
                f"review {review_id} is {view.state} and frozen: it records what was approved; "
                f"start a new one with --version"
            )
        return view
    open_reviews = [
        s
        for s in reviews.list_reviews(service)
        if s.state == OPEN and (version is None or s.version == version)
    ]
    if not open_reviews:
        return None
    return reviews.get(max(s.id for s in open_reviews))


def begin_review(
    reviews: Reviews,
    assessment: Assessment,
    *,
    service: str,
    version: str,
    actor: str,
    context: dict[str, Any],
    stage: Stage | None = None,
) -> int:
    """Store the scan and open a review of ``service`` ``version`` on it."""
    if service != assessment.target.service:
        target = assessment.target.model_copy(update={"service": service})
        assessment = dataclasses.replace(assessment, target=target)
    scan_id = reviews.record_scan(assessment, scan_dict(assessment))
    return reviews.create(
        service,
        version,
        checklist=assessment.checklist,
        actor=actor,
        stage=stage or assessment.stage,
        context=context,
        assessment=assessment,
        owner=assessment.target.owner,
        scan_id=scan_id,
    )


def parse_context(raw: dict[str, Any]) -> dict[str, Any]:
    """Validate the opening answers; JSON-safe values (dates as ISO strings, rates as floats)."""
    values: dict[str, Any] = {}
    for spec in OPENING_FIELDS:
        if spec.id in raw:
            value = spec.parse(raw[spec.id])
            values[spec.id] = value.isoformat() if isinstance(value, dt.date) else value
    expected, peak = values.get(EXPECTED_RPS), values.get(PEAK_RPS)
    if expected is not None and peak is not None and peak < expected:
        raise FieldValueError(
            PEAK_RPS, f"peak traffic ({peak:g}) is below the expected traffic ({expected:g})"
        )
    return values


# -- the assessment over one review --------------------------------------------------------------


def _place(entry: ReviewItemView) -> str | None:
    """Where the item's first piece of evidence is: ``path:line`` or a URL."""
    for evidence in entry.evidence:
        if evidence.get("path"):
            line = evidence.get("line")
            return f"{evidence['path']}:{line}" if line else str(evidence["path"])
        if evidence.get("url"):
            return str(evidence["url"])
    return None


def _one_line(text: str, limit: int = 110) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class Assessor:
    """The assessment of one review: reads it, writes answers through Reviews."""

    def __init__(self, reviews: Reviews, review_id: int, *, actor: str) -> None:
        self.reviews = reviews
        self.review_id = review_id
        self.actor = actor

    def view(self) -> ReviewView:
        return self.reviews.get(self.review_id)

    def plans(self, view: ReviewView) -> list[PhasePlan]:
        return phase_plans(view.checklist)

    @staticmethod
    def needs_context(view: ReviewView) -> bool:
        return any(spec.id not in view.context for spec in OPENING_FIELDS)

    def save_context(self, values: dict[str, Any]) -> None:
        self.reviews.set_context(self.review_id, values, actor=self.actor)

    def start(self, view: ReviewView) -> PhasePlan:
        """The phase to continue at (the last one again when every phase was done)."""
        plans = self.plans(view)
        return next((p for p in plans if p.number >= view.phase), plans[-1])

    @staticmethod
    def entries(view: ReviewView, plan: PhasePlan) -> list[ReviewItemView]:
        if plan.stop_question is None:  # a checklist without phases: one phase of everything
            return list(view.items)
        return [i for i in view.items if i.ref.phase == plan.number]

    def results(self, view: ReviewView, plan: PhasePlan) -> list[ResultRow]:
        """The phase's items that are already decided (by the scan or an earlier answer)."""
        rows = []
        for entry in self.entries(view, plan):
            item = entry.assessment
            if item.status is Status.UNKNOWN:
                continue
            line = item.message or ""
            if entry.notes and entry.notes not in line:
                line = f"{line} — {entry.notes}" if line else entry.notes
            place = _place(entry)
            if place:
                line = f"{place}: {line}" if line else place
            status = "n/a" if item.status is Status.NOT_APPLICABLE else item.status.value
            rows.append(ResultRow(item.id, item.ref.title, status, item.source.value, line))
        return rows

    def pending(self, view: ReviewView, plan: PhasePlan) -> list[ReviewItemView]:
        """The phase's items still unknown: the only ones a person is asked about."""
        return [e for e in self.entries(view, plan) if e.assessment.status is Status.UNKNOWN]

    def status(self, view: ReviewView, plan: PhasePlan) -> PhaseStatus:
        """Category statuses and blockers over the phase's items (all items for the last)."""
        entries = list(view.items) if plan.last else self.entries(view, plan)
        items = [e.assessment for e in entries]
        lines = []
        for category in view.checklist.categories:
            mine = [i for i in items if i.ref.category.id == category.id]
            if not mine:
                continue
            lines.append(
                CategoryLine(
                    category.title,
                    category_status(mine).value,
                    sum(1 for i in mine if i.is_blocker),
                    sum(1 for i in mine if i.is_issue),
                    sum(1 for i in mine if i.status is Status.UNKNOWN),
                )
            )
        return PhaseStatus(
            lines,
            [i for i in items if i.is_blocker],
            [i for i in items if i.is_issue],
            sum(1 for i in items if i.status is Status.UNKNOWN),
            verdict(view.assessments).value,
        )

    # -- writes ----------------------------------------------------------------------------

    def answer_status(self, item_id: str, choice: Choice, notes: str | None) -> None:
        """Record pass or fail (with notes) at once."""
        status = Status.PASS if choice is Choice.PASS else Status.FAIL
        self.reviews.answer(self.review_id, item_id, actor=self.actor, status=status, notes=notes)

    def answer_details(
        self,
        item_id: str,
        fields: dict[str, Any],
        owner: str | None = None,
        eta: dt.date | None = None,
    ) -> None:
        """Record field values, owner and ETA for an item already answered."""
        if fields or owner or eta:
            self.reviews.answer(
                self.review_id, item_id, actor=self.actor, fields=fields, owner=owner, eta=eta
            )

    def mark_na(self, item_id: str, reason: str) -> None:
        self.reviews.mark_na(self.review_id, item_id, reason=reason, actor=self.actor)

    def apply(self, item_id: str, answer: ItemAnswer) -> None:
        """Record a whole answer in one write (answers files)."""
        if answer.choice is Choice.SKIP:
            return
        if answer.choice is Choice.NA:
            self.mark_na(item_id, answer.reason or "")
            return
        status = Status.PASS if answer.choice is Choice.PASS else Status.FAIL
        self.reviews.answer(
            self.review_id,
            item_id,
            actor=self.actor,
            status=status,
            fields=answer.fields,
            notes=answer.notes,
            owner=answer.owner,
            eta=answer.eta,
        )

    def save_stop(self, view: ReviewView, plan: PhasePlan, value: Any) -> None:
        """Keep a stop question's answer in the context (the uptime target under its own key)."""
        answers = dict(view.context.get(STOP_ANSWERS) or {})
        answers[str(plan.number)] = {"question": plan.stop_question, "answer": value}
        update: dict[str, Any] = {STOP_ANSWERS: answers}
        if plan.stop_kind is StopKind.PERCENT and value is not None:
            update[UPTIME_TARGET] = value
        self.reviews.set_context(self.review_id, update, actor=self.actor)

    def advance(self, view: ReviewView, plan: PhasePlan) -> None:
        """Save that ``plan`` is done: the next run starts after it."""
        if view.phase <= plan.number:
            self.reviews.set_phase(self.review_id, plan.number + 1, actor=self.actor)

    def write_reports(self, out_dir: Path, warn: Callable[[str], None] | None = None) -> list[Path]:
        return write_reports(self.reviews, self.view(), out_dir, warn)


# -- talking to a person -----------------------------------------------------------------------


def ask(term: Terminal, prompt: str, parse: Callable[[str], T]) -> T:
    """Ask until ``parse`` accepts the answer; each refusal is shown with its reason."""
    while True:
        raw = term.read(prompt).strip()
        try:
            return parse(raw)
        except (ValueError, PrrError) as exc:
            term.say(f"  ✗ {exc}", "error")


def field_hint(spec: FieldSpec) -> str:
    """How to write a value of ``spec``'s type, e.g. ``integer ≥ 1`` or ``YYYY-MM-DD``."""
    hints = {
        FieldType.DATE: "YYYY-MM-DD",
        FieldType.DATETIME: "YYYY-MM-DDTHH:MM",
        FieldType.DURATION: "e.g. 15m, 4h, 30d",
        FieldType.SIZE: "e.g. 500GB",
        FieldType.PERCENT: "percent, e.g. 99.9",
        FieldType.BOOLEAN: "yes/no",
        FieldType.INTEGER: "whole number",
        FieldType.NUMBER: "number",
        FieldType.MONEY: "amount",
        FieldType.TEXT: "text",
    }
    hint = "/".join(spec.choices or ()) if spec.type is FieldType.ENUM else hints[spec.type]
    if spec.unit:
        hint += f" {spec.unit}" if spec.type is not FieldType.NUMBER else f", {spec.unit}"
    if spec.min is not None:
        hint += f", ≥ {spec.min:g}"
    if spec.max is not None:
        hint += f", ≤ {spec.max:g}"
    return hint


def _optional(spec: FieldSpec) -> Callable[[str], Any]:
    return lambda raw: spec.parse(raw) if raw else None


def ask_opening(term: Terminal, known: dict[str, Any] | None = None) -> dict[str, Any]:
    """The opening question: launch date, expected and peak traffic (validated)."""
    term.say(OPENING_QUESTION, "heading")
    raw: dict[str, Any] = dict(known or {})
    for spec in OPENING_FIELDS:
        if spec.id in raw:
            continue

        def accept(text: str, spec: FieldSpec = spec) -> Any:
            value = spec.parse(text)
            parse_context({**raw, spec.id: value})
            return value

        raw[spec.id] = ask(term, f"  {spec.label} ({field_hint(spec)}): ", accept)
    return parse_context(raw)


def _choice(text: str) -> Choice | str:
    lowered = text.lower()
    if lowered in {"r", "rest"}:
        return "rest"
    if lowered in {"q", "quit"}:
        return "quit"
    if lowered in _CHOICES:
        return _CHOICES[lowered]
    raise ValueError(f"{text!r}: answer pass, fail, n/a or skip (or rest, quit)")


def _required(what: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if not text:
            raise ValueError(f"{what} is required")
        return text

    return parse


_STATUS_WORD = {"pass": "pass", "fail": "FAIL", "n/a": "n/a", "not_applicable": "n/a"}


def _show_header(term: Terminal, plan: PhasePlan, total: int) -> None:
    term.say()
    term.say(f"── Phase {plan.number} of {total}: {plan.name} ──", "heading")
    if plan.activities:
        term.say("   " + " · ".join(plan.activities), "muted")


def _show_results(term: Terminal, rows: list[ResultRow], plan: PhasePlan) -> None:
    if not rows:
        term.say("No automated results for this phase yet.", "muted")
        return
    term.table(
        f"Automated results — phase {plan.number} ({len(rows)} decided)",
        ("Item", "Status", "Source", "Evidence"),
        [
            (r.id, _STATUS_WORD.get(r.status, r.status), r.source, _one_line(r.evidence))
            for r in rows
        ],
    )


def show_status(term: Terminal, status: PhaseStatus, title: str) -> None:
    """The phase's category statuses, blockers and open issues."""
    term.say()
    if not status.categories:
        term.say(f"{title}: no checklist items in this phase.")
        return
    term.table(
        title,
        ("Category", "Status", "Blockers", "Issues", "Unknown"),
        [
            (c.title, c.status, str(c.blockers), str(c.issues), str(c.unknown))
            for c in status.categories
        ],
    )
    for blocker in status.blockers:
        term.say(f"  BLOCKER {blocker.id} — {blocker.ref.title}: {blocker.message}", "error")
    failing = [i for i in status.issues if i.status is Status.FAIL]
    for issue in failing:
        term.say(f"  issue {issue.id} — {issue.ref.title}: {issue.message}", "warning")
    unverified = len(status.issues) - len(failing)
    if unverified:
        term.say(f"  {unverified} critical item(s) not yet verified (issues until answered)")
    term.say(
        f"Blockers: {len(status.blockers)} · issues: {len(status.issues)} · "
        f"unknown: {status.unknown} · overall so far: {status.verdict}"
    )


def _ask_item(
    term: Terminal, assessor: Assessor, entry: ReviewItemView, index: int, count: int
) -> str | None:
    """Ask about one unknown item and record the answer; returns "rest"/"quit" to stop."""
    item = entry.assessment
    spec_item = item.ref.item
    term.say()
    term.say(f"[{index}/{count}] {item.id} · {item.severity.value}", "heading")
    term.say(f"  {item.ref.title}")
    term.say(f"  Expected: {_one_line(spec_item.expected, 400)}", "muted")
    if item.message:
        term.say(f"  Now: {_one_line(item.message, 300)}", "muted")
    choice = ask(term, "  pass / fail / n/a / skip? (rest: skip the phase, quit) [skip]: ", _choice)
    if not isinstance(choice, Choice):  # "rest" or "quit"
        return choice
    if choice is Choice.SKIP:
        term.say("  → skipped (still unknown)", "muted")
        return None
    if choice is Choice.NA:
        reason = ask(term, "  Why does it not apply? (required): ", _required("a reason"))
        assessor.mark_na(item.id, reason)
        term.say("  → recorded n/a", "success")
        return None
    notes = term.read("  Notes (optional): ").strip() or None
    assessor.answer_status(item.id, choice, notes)
    values: dict[str, Any] = {}
    for spec in spec_item.fields:
        value = ask(term, f"  {spec.label} ({field_hint(spec)}, optional): ", _optional(spec))
        if value is not None:
            values[spec.id] = value
    owner: str | None = None
    eta: dt.date | None = None
    if choice is Choice.FAIL:
        owner = term.read("  Owner of the fix (optional, e.g. @team): ").strip() or None
        eta = ask(term, "  ETA (YYYY-MM-DD, optional): ", _optional(_DATE))
    assessor.answer_details(item.id, values, owner, eta)
    term.say(f"  → recorded {choice.value}", "success")
    return None


def _stop_parse(plan: PhasePlan) -> Callable[[str], Any]:
    kind = plan.stop_kind
    if kind is StopKind.PERCENT:
        return _optional(UPTIME_FIELD)
    if kind is StopKind.CONFIRM:
        return lambda raw: _YES_NO.parse(raw) if raw else True
    return lambda raw: raw


def _stop_prompt(plan: PhasePlan) -> str:
    question = plan.stop_question or ""
    kind = plan.stop_kind
    if kind is StopKind.PERCENT:
        return f"{question} (percent, e.g. 99.9; Enter to leave open): "
    if kind is StopKind.CONFIRM:
        return f"{question} [Y/n]: "
    return f"{question} (Enter for none): "


def _finish(
    term: Terminal, assessor: Assessor, view: ReviewView, plan: PhasePlan, out_dir: Path
) -> list[Path]:
    paths = assessor.write_reports(out_dir, lambda text: term.say(text, "warning"))
    assessor.advance(view, plan)
    term.say()
    term.say(f"{plan.stop_question or 'Reports written'}:", "heading")
    for path in paths:
        term.say(f"  {path}")
    return paths


def run_interactive(assessor: Assessor, term: Terminal, out_dir: Path) -> Outcome:
    """The five phases with a person: ask what is unknown, write every answer at once."""
    view = assessor.view()
    if assessor.needs_context(view):
        assessor.save_context(ask_opening(term, view.context))
        view = assessor.view()
    plans = assessor.plans(view)
    start = assessor.start(view)
    for plan in plans:
        if plan.number < start.number:
            continue
        view = assessor.view()
        _show_header(term, plan, len(plans))
        if assessor.entries(view, plan) or not plan.last:
            _show_results(term, assessor.results(view, plan), plan)
        pending = assessor.pending(view, plan)
        if pending:
            term.say(f"{len(pending)} item(s) are still unknown; answer what you know.")
        for index, entry in enumerate(pending, 1):
            stop = _ask_item(term, assessor, entry, index, len(pending))
            if stop == "quit":
                return Outcome(assessor.review_id, False, plan.number, stopped="quit")
            if stop == "rest":
                term.say("  → the rest of this phase stays unknown", "muted")
                break
        view = assessor.view()
        title = "Readiness summary" if plan.last else f"Phase {plan.number} status"
        show_status(term, assessor.status(view, plan), title)
        if plan.last:
            paths = _finish(term, assessor, view, plan, out_dir)
            return Outcome(assessor.review_id, True, plan.number, paths)
        value = ask(term, _stop_prompt(plan), _stop_parse(plan))
        assessor.save_stop(view, plan, value)
        if plan.stop_kind is StopKind.CONFIRM and value is False:
            return Outcome(assessor.review_id, False, plan.number, stopped="not ready for report")
        assessor.advance(assessor.view(), plan)
    raise AssertionError("unreachable: the last phase returns")  # pragma: no cover


# -- answers files -----------------------------------------------------------------------------

_TOP_KEYS = ("context", "items", "stop")
_ITEM_KEYS = ("status", "reason", "notes", "fields", "owner", "eta")


@dataclass
class Answers:
    """A validated answers file."""

    source: str
    context: dict[str, Any]
    items: dict[str, ItemAnswer]
    stop: dict[int, Any]


def _text_value(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


def load_answers(path: Path, checklist: Checklist, *, need_context: bool) -> Answers:
    """Read and validate an answers file against ``checklist``; all problems at once."""
    try:
        doc = load_yaml(path)
    except YamlProblem as exc:
        raise AnswersError([exc.problem]) from None
    problems: list[Problem] = []
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise AnswersError([doc.problem((), "an answers file is a mapping: context, items, stop")])
    for key in data:
        if key not in _TOP_KEYS:
            problems.append(
                doc.problem(
                    (key,), f"unknown key {key!r}; expected {', '.join(_TOP_KEYS)}", key=True
                )
            )
    context = _answers_context(doc, data.get("context"), problems, need_context)
    items = _answers_items(doc, data.get("items"), checklist, problems)
    stop = _answers_stop(doc, data.get("stop"), checklist, problems)
    if problems:
        raise AnswersError(problems)
    return Answers(doc.source, context, items, stop)


def _answers_context(
    doc: YamlDocument, raw: Any, problems: list[Problem], need: bool
) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.append(doc.problem(("context",), "context is a mapping"))
        return {}
    known = {spec.id: spec for spec in OPENING_FIELDS}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        spec = known.get(str(key))
        if spec is None:
            names = ", ".join(known)
            problems.append(
                doc.problem(("context", key), f"unknown context key {key!r}; expected {names}")
            )
            continue
        try:
            values.update(parse_context({spec.id: value}))
        except PrrError as exc:
            problems.append(doc.problem(("context", key), f"context.{exc}"))
    if EXPECTED_RPS in values and PEAK_RPS in values:
        try:
            parse_context(values)
        except PrrError as exc:
            problems.append(doc.problem(("context", PEAK_RPS), f"context.{exc}"))
    if need:
        for spec in OPENING_FIELDS:
            if spec.id not in raw:
                problems.append(
                    doc.problem(
                        ("context",),
                        f"context.{spec.id} is required ({OPENING_QUESTION})",
                    )
                )
    return values


def _answers_items(
    doc: YamlDocument, raw: Any, checklist: Checklist, problems: list[Problem]
) -> dict[str, ItemAnswer]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(doc.problem(("items",), "items is a mapping of item id → answer"))
        return {}
    out: dict[str, ItemAnswer] = {}
    ids = [ref.id for ref in checklist]
    for item_id, body in raw.items():
        where: tuple[str | int, ...] = ("items", item_id)
        if str(item_id) not in checklist:
            close = difflib.get_close_matches(str(item_id), ids, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                doc.problem(
                    where, f"no item {item_id!r} in checklist {checklist.name!r}{hint}", key=True
                )
            )
            continue
        if not isinstance(body, dict):
            problems.append(doc.problem(where, "an answer is a mapping: status, notes, fields …"))
            continue
        answer = _answers_item(doc, where, body, checklist.item(str(item_id)), problems)
        if answer is not None:
            out[str(item_id)] = answer
    return out


def _answers_item(
    doc: YamlDocument,
    where: tuple[str | int, ...],
    body: dict[str, Any],
    ref: ItemRef,
    problems: list[Problem],
) -> ItemAnswer | None:
    start = len(problems)
    for key in body:
        if key not in _ITEM_KEYS:
            problems.append(
                doc.problem(
                    (*where, key),
                    f"unknown key {key!r}; expected {', '.join(_ITEM_KEYS)}",
                    key=True,
                )
            )
    raw_status = body.get("status")
    choice = _CHOICES.get(str(raw_status).strip().lower()) if raw_status is not None else None
    if choice is None or raw_status == "":
        problems.append(
            doc.problem(
                (*where, "status") if "status" in body else where,
                "status is one of pass, fail, n/a, skip",
            )
        )
        return None
    reason = _text_value(body.get("reason"))
    if choice is Choice.NA and reason is None:
        problems.append(
            doc.problem(where, f"{ref.id}: n/a needs a reason (why the item does not apply)")
        )
    if choice is not Choice.NA and "reason" in body:
        problems.append(doc.problem((*where, "reason"), "reason goes with n/a; use notes"))
    fields: dict[str, Any] = {}
    raw_fields = body.get("fields")
    if raw_fields is not None and not isinstance(raw_fields, dict):
        problems.append(doc.problem((*where, "fields"), "fields is a mapping of field id → value"))
    elif raw_fields:
        if choice in (Choice.NA, Choice.SKIP):
            problems.append(
                doc.problem((*where, "fields"), f"fields go with pass or fail, not {choice.value}")
            )
        for key, value in raw_fields.items():
            try:
                spec = ref.item.field(str(key))
            except KeyError as exc:
                problems.append(doc.problem((*where, "fields", key), str(exc.args[0]), key=True))
                continue
            try:
                spec.parse(value)
            except PrrError as exc:
                problems.append(doc.problem((*where, "fields", key), f"{ref.id}: {exc}"))
                continue
            fields[str(key)] = value
    eta: dt.date | None = None
    if body.get("eta") is not None:
        try:
            eta = _DATE.parse(body["eta"])
        except PrrError as exc:
            problems.append(doc.problem((*where, "eta"), str(exc)))
    if len(problems) > start:
        return None
    return ItemAnswer(
        choice,
        reason,
        _text_value(body.get("notes")),
        fields,
        _text_value(body.get("owner")),
        eta,
    )


def _answers_stop(
    doc: YamlDocument, raw: Any, checklist: Checklist, problems: list[Problem]
) -> dict[int, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(doc.problem(("stop",), "stop is a mapping of phase number → answer"))
        return {}
    plans = {p.number: p for p in phase_plans(checklist) if not p.last and p.stop_question}
    out: dict[int, Any] = {}
    for key, value in raw.items():
        number = int(key) if isinstance(key, int) or str(key).isdigit() else None
        plan = plans.get(number) if number is not None else None
        if plan is None:
            asked = ", ".join(f"{n} ({p.stop_question})" for n, p in plans.items())
            problems.append(
                doc.problem(
                    ("stop", key), f"no stop question for phase {key!r}; phases: {asked}", key=True
                )
            )
            continue
        if isinstance(value, bool) and plan.stop_kind is StopKind.TEXT:
            value = "yes" if value else "no"
        text = "" if value is None else str(value).strip()
        try:
            if plan.stop_kind is StopKind.PERCENT:
                out[plan.number] = UPTIME_FIELD.parse(value) if text else None
            elif plan.stop_kind is StopKind.CONFIRM:
                out[plan.number] = _YES_NO.parse(value) if text else True
            else:
                out[plan.number] = text
        except PrrError as exc:
            problems.append(doc.problem(("stop", key), f"phase {plan.number}: {exc}"))
    return out


def _unchanged(entry: ReviewItemView, answer: ItemAnswer) -> bool:
    """Whether recording ``answer`` would change nothing (keeps CI re-runs quiet)."""
    item = entry.assessment
    if answer.choice is Choice.NA:
        return item.status is Status.NOT_APPLICABLE and entry.na_reason == answer.reason
    status = Status.PASS if answer.choice is Choice.PASS else Status.FAIL
    if item.status is not status or item.source is not Source.ATTESTED:
        return False
    if answer.notes is not None and entry.notes != answer.notes:
        return False
    if answer.owner is not None and entry.owner != answer.owner:
        return False
    if answer.eta is not None and entry.eta != answer.eta:
        return False
    for key, raw in answer.fields.items():
        if item.fields.get(key) != plain(item.ref.item.field(key).parse(raw)):
            return False
    return True


def apply_answers(assessor: Assessor, answers: Answers, term: Terminal, out_dir: Path) -> Outcome:
    """Run every phase from an answers file; items decided by the scan keep their result."""
    view = assessor.view()
    changed = {k: v for k, v in answers.context.items() if view.context.get(k) != v}
    if changed:
        assessor.save_context(changed)
    ignored: list[str] = []
    plans = assessor.plans(view)
    for plan in plans:
        view = assessor.view()
        recorded = 0
        for entry in assessor.entries(view, plan):
            answer = answers.items.get(entry.id)
            if answer is None or answer.choice is Choice.SKIP:
                continue
            item = entry.assessment
            if item.source in (Source.VERIFIED, Source.DRILL) and item.status is not Status.UNKNOWN:
                ignored.append(entry.id)
                term.say(
                    f"  {entry.id}: decided by the scan ({item.status.value}); answer ignored",
                    "warning",
                )
                continue
            if _unchanged(entry, answer):
                continue
            assessor.apply(entry.id, answer)
            recorded += 1
        view = assessor.view()
        status = assessor.status(view, plan)
        term.say(
            f"Phase {plan.number} {plan.name}: {recorded} answer(s) recorded · "
            f"{len(status.blockers)} blocker(s) · {len(status.issues)} issue(s) · "
            f"{status.unknown} unknown",
            "heading",
        )
        if plan.last:
            paths = _finish(term, assessor, view, plan, out_dir)
            return Outcome(assessor.review_id, True, plan.number, paths, ignored=ignored)
        if plan.number in answers.stop:
            value = answers.stop[plan.number]
            previous = (view.context.get(STOP_ANSWERS) or {}).get(str(plan.number))
            if not previous or previous.get("answer") != value:
                assessor.save_stop(view, plan, value)
            if plan.stop_kind is StopKind.CONFIRM and value is False:
                return Outcome(
                    assessor.review_id,
                    False,
                    plan.number,
                    stopped="not ready for report",
                    ignored=ignored,
                )
        assessor.advance(assessor.view(), plan)
    raise AssertionError("unreachable: the last phase returns")  # pragma: no cover


# -- reports -----------------------------------------------------------------------------------


def _module(name: str) -> Any:
    """Module ``name`` if it exists and imports (other report modules are optional)."""
    try:
        if importlib.util.find_spec(name) is None:
            return None
        return importlib.import_module(name)
    except ImportError:
        return None


def _report_markdown(reviews: Reviews, view: ReviewView, kind: str) -> str | None:
    """The review rendered by ``prr.reports`` (``assessment`` or ``prd``), when available."""
    model = _module("prr.reports.model")
    layout = _module(f"prr.reports.{kind}")
    if model is None or layout is None:
        return None
    build = getattr(model, "from_review", None)
    to_markdown = getattr(model, "to_markdown", None)
    document = getattr(layout, f"{kind}_document", None)
    if not (callable(build) and callable(to_markdown) and callable(document)):
        return None
    return str(to_markdown(document(build(view, store=reviews.store))))


def _document_markdown(reviews: Reviews, view: ReviewView) -> str | None:
    """The review's Markdown document (``prr review export``), when available."""
    module = _module("prr.review.document")
    export = getattr(module, "export_document", None) if module is not None else None
    return str(export(reviews, view.id)) if callable(export) else None


def _attempt(
    render: Callable[[], str | None], what: str, warn: Callable[[str], None] | None
) -> str | None:
    """``render()``, or None (with a warning) when that renderer fails: answers are saved
    already, so a broken optional renderer must not lose the report."""
    try:
        return render()
    except PrrError:
        raise
    except Exception as exc:
        if warn is not None:
            warn(f"the {what} renderer failed ({type(exc).__name__}); using a simpler one")
        return None


def write_reports(
    reviews: Reviews,
    view: ReviewView,
    out_dir: Path,
    warn: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write the Readiness Assessment and the PRD into ``out_dir``; returns the files.

    The renderers of ``prr.reports`` are used when they exist; otherwise the
    review's Markdown export, else :func:`summary_markdown`, as SERVICE-VERSION.md.
    """
    stem = f"{slug(view.service)}-{slug(view.version)}"
    assessment = (
        _attempt(lambda: _report_markdown(reviews, view, "assessment"), "assessment", warn)
        or _attempt(lambda: _document_markdown(reviews, view), "review document", warn)
        or summary_markdown(view)
    )
    texts = [(out_dir / f"{stem}.md", _with_front_matter(view, "assessment", assessment))]
    prd = _attempt(lambda: _report_markdown(reviews, view, "prd"), "PRD", warn)
    if prd is not None:
        texts.append((out_dir / f"{stem}-prd.md", _with_front_matter(view, "prd", prd)))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for path, text in texts:
            path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:
        raise ReviewStateError(f"cannot write the reports to {out_dir}: {exc}") from None
    return [path for path, _ in texts]


def _with_front_matter(view: ReviewView, kind: str, text: str) -> str:
    """``text`` under YAML front matter naming the service, so the library index finds it."""
    if text.startswith("---\n"):
        return text
    lines = [
        "---",
        f"service: {_yaml_scalar(view.service)}",
        f"version: {_yaml_scalar(view.version)}",
        f"document: {kind}",
        f"review: {view.id}",
        f"state: {view.state}",
        f"verdict: {view.verdict.value}",
        f"checklist: {_yaml_scalar(view.checklist.ref)}",
        f"stage: {view.stage.value}",
        f"date: {dt.date.today().isoformat()}",
        "---",
        "",
    ]
    return "\n".join(lines) + text


def _cell(text: Any) -> str:
    return " ".join(str(text if text is not None else "").split()).replace("|", "\\|")


def summary_markdown(view: ReviewView) -> str:
    """A short Readiness Assessment of a review: verdict, blockers, issues, N/A, sign-off."""
    context = view.context
    entries = {e.id: e for e in view.items}
    when = dt.date.today().isoformat()
    verdict_now = view.verdict
    lines = [
        "## Production Readiness Assessment",
        "",
        f"**Application:** {view.service}",
        f"**Version:** {view.version}",
        f"**Assessment Date:** {when}",
        f"**Assessor:** {view.created_by}",
        "",
    ]
    facts = []
    if context.get(LAUNCH_DATE):
        facts.append(f"- Target launch: {context[LAUNCH_DATE]}")
    if context.get(EXPECTED_RPS) is not None:
        peak = context.get(PEAK_RPS)
        facts.append(
            f"- Expected traffic: {context[EXPECTED_RPS]:g} requests/s"
            + (f", peak {peak:g} requests/s" if peak is not None else "")
        )
    if context.get(UPTIME_TARGET) is not None:
        facts.append(f"- Uptime target: {context[UPTIME_TARGET]:g}%")
    for number, entry in sorted((context.get(STOP_ANSWERS) or {}).items()):
        if isinstance(entry, dict) and entry.get("answer") not in (None, ""):
            facts.append(f'- Phase {number} — "{entry.get("question")}" {entry["answer"]}')
    if facts:
        lines += ["### Context", "", *facts, ""]
    lines += ["### Executive Summary", "", "| Category | Status | Blockers |"]
    lines.append("|----------|--------|----------|")
    for category in view.checklist.categories:
        items = [i for i in view.assessments if i.ref.category.id == category.id]
        if items:
            status = category_status(items)
            blockers = sum(1 for i in items if i.is_blocker)
            lines.append(f"| {category.title} | {status.icon} {status.value} | {blockers} |")
    verified = sum(1 for i in view.assessments if i.source in (Source.VERIFIED, Source.DRILL))
    attested = sum(1 for i in view.assessments if i.source is Source.ATTESTED)
    lines += [
        "",
        f"**Overall Status:** {verdict_now.icon} {verdict_now.value}",
        "",
        f"{len(view.items)} items: {verified} verified from evidence, {attested} answered by "
        f"people, {sum(1 for i in view.assessments if i.status is Status.UNKNOWN)} unknown.",
        "",
        "### Blockers (Must Fix Before Launch)",
        "",
        "| ID | Category | Issue | Owner | ETA |",
        "|----|----------|-------|-------|-----|",
    ]
    for n, item in enumerate(view.blockers, 1):
        entry = entries[item.id]
        lines.append(
            f"| BLOCK-{n:03d} | {item.ref.category.title} | {_cell(item.ref.title)}: "
            f"{_cell(item.message)} (`{item.id}`) | {_cell(entry.owner)} | "
            f"{entry.eta.isoformat() if entry.eta else ''} |"
        )
    lines += [
        "",
        "### Issues (Should Fix, Can Launch)",
        "",
        "| ID | Category | Issue | Owner | Priority |",
        "|----|----------|-------|-------|----------|",
    ]
    for n, item in enumerate(view.issues, 1):
        what = item.message if item.status is Status.FAIL else "not verified yet"
        lines.append(
            f"| ISSUE-{n:03d} | {item.ref.category.title} | {_cell(item.ref.title)}: "
            f"{_cell(what)} (`{item.id}`) | {_cell(entries[item.id].owner)} | "
            f"{item.severity.value.title()} |"
        )
    accepted = [i for i in view.assessments if i.is_accepted_risk and i.waiver]
    if accepted:
        lines += ["", "### Risks Accepted", "", "| Risk | Mitigation | Accepted By |"]
        lines.append("|------|------------|-------------|")
        mitigations = {w.item_id: w for w in view.waivers if w.state == "approved"}
        for item in accepted:
            waiver = mitigations.get(item.id)
            lines.append(
                f"| {_cell(item.ref.title)}: {_cell(item.waiver.reason if item.waiver else '')} | "
                f"{_cell(waiver.mitigation if waiver else '')} | "
                f"{_cell(waiver.decided_by if waiver else '')} |"
            )
    na = [e for e in view.items if e.assessment.status is Status.NOT_APPLICABLE]
    if na:
        lines += ["", "### Not Applicable", "", "| Item | Why it does not apply |"]
        lines.append("|------|-----------------------|")
        for entry in na:
            why = entry.na_reason or entry.assessment.message
            lines.append(f"| {_cell(entry.ref.title)} (`{entry.id}`) | {_cell(why)} |")
    lines += ["", "### Sign-Off", "", "| Role | Name | Approved | Date |"]
    lines.append("|------|------|----------|------|")
    decided = {s.role: s for s in view.signoffs}
    for role in view.required_roles:
        signoff = decided.get(role)
        if signoff is None:
            lines.append(f"| {role} | | ☐ | |")
        else:
            mark = "☑" if signoff.decision == "approve" else "☒"
            lines.append(
                f"| {role} | {_cell(signoff.person)} | {mark} | {signoff.at.date().isoformat()} |"
            )
    return "\n".join(lines) + "\n"


def _yaml_scalar(text: str) -> str:
    """``text`` as a YAML string: bare when it reads back as itself, else quoted."""
    import json

    import yaml

    try:
        bare = re.fullmatch(r"[A-Za-z0-9_.@/+-]+", text) and yaml.safe_load(text) == text
    except yaml.YAMLError:
        bare = False
    return text if bare else json.dumps(text)


__all__ = [
    "OPENING_QUESTION",
    "Answers",
    "AnswersError",
    "Assessor",
    "Choice",
    "ItemAnswer",
    "Outcome",
    "PhasePlan",
    "Terminal",
    "apply_answers",
    "begin_review",
    "find_review",
    "load_answers",
    "phase_plans",
    "run_interactive",
    "summary_markdown",
    "write_reports",
]
