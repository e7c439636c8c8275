"""One model behind every report, and the document layout the reports render to.

:func:`from_assessment` (a scan) and :func:`from_review` (a review read from
the store) build the same :class:`ReportModel`: the items with their evidence,
the gaps numbered as the readiness template numbers them (``BLOCK-001``,
``ISSUE-001``), accepted risks, the metrics baseline, sign-offs, the share of
items verified by evidence, the architecture found in the collector facts and
the trend of past scans. The verdict, blockers and issues come from
:mod:`prr.engine.status`; nothing here decides readiness.

The second half of the module is the layout: a :class:`Document` of blocks
(headings, paragraphs, tables, lists, code, figures) whose text is kept as
typed spans, so that Markdown (:func:`to_markdown`) and HTML
(:mod:`prr.reports.html`) escape untrusted text in exactly one place each.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from prr._version import __version__
from prr.engine.status import (
    AppliedWaiver,
    CategoryStatus,
    ItemAssessment,
    Verdict,
    category_status,
    verdict,
)
from prr.model.checklist import Checklist, Effort, Severity
from prr.model.evidence import Source, Status
from prr.model.fields import format_duration, parse_duration
from prr.review.policy import DEFAULT_ROLES

if TYPE_CHECKING:
    from prr.collectors.base import Facts
    from prr.engine.scan import Assessment
    from prr.review.reviews import ReviewView
    from prr.store.db import Store

# --------------------------------------------------------------------------- constants

WEEK_1 = "Week 1: Critical Blockers"
WEEK_2 = "Week 2: Remaining Blockers + High Issues"
POST_LAUNCH = "Post-Launch: Medium/Low Issues"
WEEKS = (WEEK_1, WEEK_2, POST_LAUNCH)

EFFORT_NAMES = {Effort.S: "Small", Effort.M: "Medium", Effort.L: "Large"}
NONE = "—"

# Review context keys the reports read (docs/reports.md lists them).
CONTEXT_LAUNCH = ("launch_date", "launch")
CONTEXT_UPTIME = ("uptime_target", "availability_target")
CONTEXT_P95 = ("latency_target_p95", "latency_p95_target", "p95_target", "latency_target")
CONTEXT_ERROR_RATE = ("error_rate_target",)
CONTEXT_EXPECTED_RPS = ("expected_rps",)
CONTEXT_PEAK_RPS = ("peak_rps",)

# Item fields that hold measurements (a drill or a live reading), searched in this order.
CURRENT_AVAILABILITY = ("measured_availability", "current_availability", "availability")
CURRENT_P95 = ("measured_p95", "p95_latency", "latency_p95")
CURRENT_ERROR_RATE = ("measured_error_rate", "error_rate")
CURRENT_RPS = ("achieved_rps", "measured_rps", "max_rps", "tested_rps")

LOAD_TESTING = "performance.load-testing."
RESPONSE_TIMES = "performance.load-testing.response-times-acceptable"
PEAK_TRAFFIC = "performance.load-testing.peak-traffic-handled"
EXPECTED_TRAFFIC = "performance.load-testing.expected-traffic-handled"
AVAILABILITY_TARGET = "reliability.sla-slo.availability-target-defined"
LATENCY_TARGETS = "reliability.sla-slo.latency-targets-defined"
ERROR_BUDGET = "reliability.sla-slo.error-budget-defined"

_FINGERPRINT = re.compile(r",?\s*fingerprint\s+[0-9a-fA-F]+")


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class EvidenceRef:
    """One piece of evidence behind an item: what was found, where, by which check."""

    summary: str
    location: str | None = None
    check: str | None = None
    status: str | None = None
    """The status of the check result it belongs to, when known."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "location": self.location,
            "check": self.check,
            "status": self.status,
        }


@dataclass
class ReportItem:
    """A checklist item as the reports show it: status, source, evidence, fix."""

    id: str
    title: str
    category_id: str
    category: str
    section: str
    phase: int
    severity: Severity
    status: Status
    source: Source
    message: str
    expected: str
    effort: Effort
    remediation: tuple[str, ...]
    acceptance: tuple[str, ...]
    fixes: list[str]
    """Concrete remediation for this repository (snippets from failing checks)."""
    evidence: list[EvidenceRef]
    checks: list[str]
    """Repository checks that decide the item; those still failing first."""
    live_checks: list[str]
    """Checks of live systems (``prr scan --live``) that decide it."""
    fields: dict[str, Any]
    blocker: bool
    issue: bool
    accepted_risk: bool
    common_blocker: str | None = None
    common_blocker_group: str | None = None
    critical_reason: str | None = None
    owner: str | None = None
    eta: dt.date | None = None
    notes: str | None = None
    na_reason: str | None = None
    waiver: AppliedWaiver | None = None

    @property
    def evidence_class(self) -> str:
        """``verified`` (checks, drills), ``attested`` (a person) or ``unknown``."""
        if self.source in (Source.VERIFIED, Source.DRILL):
            return "verified"
        if self.source is Source.ATTESTED:
            return "attested"
        return "unknown"

    @property
    def open_evidence(self) -> list[EvidenceRef]:
        """Evidence of what is wrong: from failing or undecided checks when known."""
        wrong = [e for e in self.evidence if e.status in (None, "fail", "unknown")]
        return wrong or self.evidence


@dataclass
class Gap:
    """A blocker or an issue, numbered for the reports."""

    key: str
    kind: str
    """``blocker`` or ``issue``."""
    item: ReportItem
    owner: str
    eta: str
    priority: str
    """Critical for blockers; High, Medium or Low for issues."""
    week: str
    """The implementation timeline's bucket (:data:`WEEKS`)."""


@dataclass(frozen=True)
class CategoryRow:
    """A line of the executive summary."""

    id: str
    title: str
    status: CategoryStatus
    blockers: int
    issues: int
    counts: dict[str, int]


@dataclass(frozen=True)
class Metric:
    """A line of the metrics baseline."""

    name: str
    target: str
    current: str
    state: str
    """``ok``, ``bad`` or ``unknown``."""
    target_source: str | None = None
    current_source: str | None = None

    @property
    def icon(self) -> str:
        return {"ok": "🟢", "bad": "🔴"}.get(self.state, "🟡")


@dataclass(frozen=True)
class RiskRow:
    """An accepted risk: a gap that stays open on purpose, with who accepted it."""

    item_id: str
    risk: str
    mitigation: str
    accepted_by: str
    expires: str | None


@dataclass(frozen=True)
class SignoffRow:
    """A role of the sign-off table and its decision, if any."""

    role: str
    name: str | None = None
    decision: str | None = None
    """``approve``, ``reject`` or None (not signed)."""
    date: dt.date | None = None
    comment: str | None = None


@dataclass(frozen=True)
class EvidenceShare:
    """How many items were verified by evidence, attested by a person, or are unknown."""

    verified: int
    attested: int
    unknown: int

    @property
    def total(self) -> int:
        return self.verified + self.attested + self.unknown

    def percent(self, count: int) -> float:
        return round(100.0 * count / self.total, 1) if self.total else 0.0


@dataclass(frozen=True)
class TrendPoint:
    """Blockers and issues of one past scan."""

    date: dt.date
    blockers: int
    issues: int


@dataclass(frozen=True)
class Workload:
    """A deployed workload found in the evidence (a Kubernetes Deployment …)."""

    kind: str
    name: str
    namespace: str | None
    environment: str | None
    location: str | None


@dataclass(frozen=True)
class DataStore:
    """A database, cache or bucket found in Terraform or Compose files."""

    kind: str
    """``database``, ``cache``, ``object_storage``, ``queue`` or ``search``."""
    label: str
    address: str
    location: str | None
    environment: str | None = None
    settings: tuple[tuple[str, str], ...] = ()
    """Literal settings relevant to backups and restores (engine, retention …)."""


@dataclass(frozen=True)
class AlertRef:
    """An alert rule found in the repository."""

    name: str
    severity: str | None
    summary: str | None
    runbook: str | None
    location: str | None


@dataclass(frozen=True)
class Node:
    """A box of the architecture diagram: what it is (``label``) and its name (``detail``)."""

    id: str
    label: str
    layer: str
    """``entry``, ``lb``, ``edge``, ``service``, ``workload`` or ``data``."""
    group: str | None = None
    detail: str | None = None

    @property
    def text(self) -> str:
        return f"{self.label} {self.detail}" if self.detail else self.label


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    assumed: bool = False
    """The connection is inferred, not read from configuration."""


@dataclass
class Architecture:
    """The production architecture found in the evidence, as nodes and edges."""

    nodes: list[Node]
    edges: list[Edge]
    origin: str
    """How it was found: ``facts`` (collector facts) or ``evidence`` (evidence messages)."""
    environment: str | None = None

    def mermaid(self) -> str:
        """The architecture as a Mermaid flowchart; labels are entity-encoded."""
        lines = ["flowchart LR"]
        shapes = {
            "entry": ('(["', '"])'),
            "lb": ('["', '"]'),
            "edge": ('["', '"]'),
            "service": ('(["', '"])'),
            "workload": ('["', '"]'),
            "data": ('[("', '")]'),
        }
        groups: dict[str | None, list[Node]] = {}
        for node in self.nodes:
            groups.setdefault(node.group, []).append(node)
        for number, (group, members) in enumerate(groups.items(), start=1):
            indent = "  "
            if group:
                lines.append(f'  subgraph g{number}["{_mermaid_text(group)}"]')
                indent = "    "
            for node in members:
                left, right = shapes.get(node.layer, ('["', '"]'))
                lines.append(f"{indent}{node.id}{left}{_mermaid_text(node.text)}{right}")
            if group:
                lines.append("  end")
        for edge in self.edges:
            arrow = "-.->" if edge.assumed else "-->"
            lines.append(f"  {edge.source} {arrow} {edge.target}")
        return "\n".join(lines)


def _mermaid_text(text: str) -> str:
    """Entity-encode everything outside a small safe set (quotes, brackets, markup)."""
    safe = re.compile(r"[A-Za-z0-9 ._:/@,+=()'-]")
    return "".join(ch if safe.match(ch) else f"#{ord(ch)};" for ch in text.replace("\n", " "))


@dataclass
class ReportModel:
    """Everything the reports show about one service at one point in time."""

    service: str
    owner: str | None
    tier: str | None
    version: str
    stage: str
    checklist: str
    assessment_date: dt.date
    assessor: str
    origin: str
    """``scan`` or ``review``."""
    verdict: Verdict
    categories: list[CategoryRow]
    items: list[ReportItem]
    blockers: list[Gap]
    issues: list[Gap]
    risks: list[RiskRow]
    metrics: list[Metric]
    signoffs: list[SignoffRow]
    share: EvidenceShare
    context: dict[str, Any] = field(default_factory=dict)
    launch_date: dt.date | None = None
    review_id: int | None = None
    review_state: str | None = None
    root: str | None = None
    commit: str | None = None
    environments: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    trend: list[TrendPoint] = field(default_factory=list)
    architecture: Architecture | None = None
    workloads: list[Workload] = field(default_factory=list)
    datastores: list[DataStore] = field(default_factory=list)
    alerts: list[AlertRef] = field(default_factory=list)
    oncall_links: list[tuple[str, str]] = field(default_factory=list)
    prd_number: int = 1
    facts_available: bool = False
    tool_version: str = __version__

    @property
    def gaps(self) -> list[Gap]:
        return [*self.blockers, *self.issues]

    @property
    def prd_id(self) -> str:
        return f"PRD-PROD-{self.prd_number:03d}"

    def item(self, item_id: str) -> ReportItem | None:
        for entry in self.items:
            if entry.id == item_id:
                return entry
        return None

    def passed(self, item_id: str) -> bool:
        found = self.item(item_id)
        return found is not None and found.status is Status.PASS

    def count(self, status: Status) -> int:
        return sum(1 for i in self.items if i.status is status)

    def signed(self, role: str) -> bool:
        return any(s.role == role and s.decision == "approve" for s in self.signoffs)


# --------------------------------------------------------------------------- builders


def _safe_summary(text: str) -> str:
    """Evidence text without secret-finding fingerprints: findings carry path, line and rule."""
    return _FINGERPRINT.sub("", text)


def _location(path: Any, line: Any, url: Any) -> str | None:
    if path:
        return f"{path}:{line}" if line else str(path)
    return str(url) if url else None


def _registry() -> dict[str, list[tuple[str, bool]]]:
    """Item id → (check id, reads live systems) of the built-in checks that decide it."""
    from prr.checks.registry import load_builtin_checks

    deciding: dict[str, list[tuple[str, bool]]] = {}
    for registered in load_builtin_checks().values():
        for item_id in registered.items:
            deciding.setdefault(item_id, []).append(
                (registered.id, registered.scope != "repository")
            )
    return deciding


@dataclass
class _Stored:
    """What a review stored about an item beyond its status: evidence and concrete fixes."""

    evidence: list[EvidenceRef] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    checks: dict[str, str] = field(default_factory=dict)
    """Check id → its status in the scan the review came from."""


def _report_item(
    assessment: ItemAssessment,
    checklist: Checklist,
    deciding: Mapping[str, list[tuple[str, bool]]],
    stored: _Stored | None = None,
    *,
    owner: str | None = None,
    eta: dt.date | None = None,
    notes: str | None = None,
    na_reason: str | None = None,
) -> ReportItem:
    ref = assessment.ref
    item = ref.item
    evidence: list[EvidenceRef] = []
    fixes: list[str] = []
    statuses: dict[str, str] = {}
    for result in assessment.results:
        statuses[result.check_id] = result.status.value
        if result.remediation and result.status is Status.FAIL:
            fixes.append(result.remediation)
        for found in result.evidence:
            evidence.append(
                EvidenceRef(
                    _safe_summary(found.summary),
                    found.location,
                    result.check_id,
                    result.status.value,
                )
            )
    if stored is not None:
        evidence = evidence or stored.evidence
        fixes = fixes or stored.fixes
        statuses = statuses or dict(stored.checks)
    failing = [c for c, s in statuses.items() if s in ("fail", "unknown")]
    registered = deciding.get(ref.id, [])
    live = {c for c, is_live in registered if is_live} | {
        r.check_id for r in assessment.results if r.live
    }
    ran = list(dict.fromkeys([*failing, *statuses])) or [c for c, _ in registered]
    checks = [c for c in ran if c not in live]
    live_checks = [c for c in ran if c in live]
    common = checklist.blocker(item.blocker) if item.blocker else None
    return ReportItem(
        id=ref.id,
        title=ref.title,
        category_id=ref.category.id,
        category=ref.category.title,
        section=ref.section.title,
        phase=ref.phase,
        severity=assessment.severity,
        status=assessment.status,
        source=assessment.source,
        message=_safe_summary(assessment.message),
        expected=item.expected.strip(),
        effort=item.effort,
        remediation=item.remediation,
        acceptance=item.acceptance_criteria,
        fixes=list(dict.fromkeys(fixes)),
        evidence=evidence,
        checks=checks,
        live_checks=live_checks,
        fields=dict(assessment.fields),
        blocker=assessment.is_blocker,
        issue=assessment.is_issue,
        accepted_risk=assessment.is_accepted_risk,
        common_blocker=common.title if common else None,
        common_blocker_group=common.group if common else None,
        critical_reason=item.critical_reason,
        owner=owner,
        eta=eta,
        notes=notes,
        na_reason=na_reason,
        waiver=assessment.waiver,
    )


def issue_priority(item: ReportItem) -> str:
    """The issues table's priority: critical (unknown) and high → High, medium, low."""
    if item.severity in (Severity.CRITICAL, Severity.HIGH):
        return "High"
    return "Medium" if item.severity is Severity.MEDIUM else "Low"


def _blocker_week(item: ReportItem, today: dt.date) -> str:
    """Week 1 unless the fix is large or its ETA is more than a week away."""
    if item.eta is not None and item.eta > today + dt.timedelta(days=7):
        return WEEK_2
    return WEEK_2 if item.effort is Effort.L else WEEK_1


def _gaps(
    items: Sequence[ReportItem], default_owner: str | None, today: dt.date
) -> tuple[list[Gap], list[Gap]]:
    blockers = [i for i in items if i.blocker]
    issues = sorted((i for i in items if i.issue), key=lambda i: i.severity.rank)
    out_blockers = [
        Gap(
            f"BLOCK-{number:03d}",
            "blocker",
            item,
            item.owner or default_owner or NONE,
            item.eta.isoformat() if item.eta else NONE,
            "Critical",
            _blocker_week(item, today),
        )
        for number, item in enumerate(blockers, start=1)
    ]
    out_issues = []
    for number, item in enumerate(issues, start=1):
        priority = issue_priority(item)
        out_issues.append(
            Gap(
                f"ISSUE-{number:03d}",
                "issue",
                item,
                item.owner or default_owner or NONE,
                item.eta.isoformat() if item.eta else NONE,
                priority,
                WEEK_2 if priority == "High" else POST_LAUNCH,
            )
        )
    return out_blockers, out_issues


def _categories(checklist: Checklist, assessments: Sequence[ItemAssessment]) -> list[CategoryRow]:
    rows = []
    for category in checklist.categories:
        members = [a for a in assessments if a.ref.category.id == category.id]
        if not members:
            continue
        rows.append(
            CategoryRow(
                category.id,
                category.title,
                category_status(members),
                sum(1 for a in members if a.is_blocker),
                sum(1 for a in members if a.is_issue),
                {s.value: sum(1 for a in members if a.status is s) for s in Status},
            )
        )
    return rows


def _share(items: Sequence[ReportItem]) -> EvidenceShare:
    classes = [i.evidence_class for i in items]
    return EvidenceShare(
        classes.count("verified"), classes.count("attested"), classes.count("unknown")
    )


# -- values: dates, durations, percents --------------------------------------------------


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            return None
    return None


def _duration(value: Any) -> dt.timedelta | None:
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return parse_duration(value)
        except ValueError:
            return None
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip().rstrip("%").replace(",", "").strip()
        try:
            return float(text)
        except ValueError:
            return None
    return None


def _pct(value: float) -> str:
    return f"{value:g}%"


def _first(mapping: Mapping[str, Any], keys: Iterable[str]) -> Any:
    for key in keys:
        value = mapping.get(key)
        if value not in (None, ""):
            return value
    return None


def launch_date_of(context: Mapping[str, Any], items: Sequence[ReportItem] = ()) -> dt.date | None:
    """The target launch date: context ``launch_date``, else the launch window item's field."""
    found = _date(_first(context, CONTEXT_LAUNCH))
    if found is not None:
        return found
    for item in items:
        if item.id == "launch.pre-launch.launch-window-scheduled":
            return _date(item.fields.get("launch_window"))
    return None


def format_value(value: Any) -> str:
    """A field value as text: durations in their largest unit, dates in ISO form."""
    if isinstance(value, dt.timedelta):
        return format_duration(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str) and re.fullmatch(r"\d+(?:\.\d+)?s", value):
        # Durations stored as plain seconds (how reviews keep them): 2820s → 47m.
        return format_duration(parse_duration(value))
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def _measured(
    items: Sequence[ReportItem], keys: Iterable[str], prefer: str = LOAD_TESTING
) -> tuple[Any, str | None]:
    """A measured value from item fields (load-testing items first) and the item it came from."""
    wanted = tuple(keys)
    ordered = sorted(items, key=lambda i: not i.id.startswith(prefer))
    for item in ordered:
        value = _first(item.fields, wanted)
        if value is not None:
            return value, item.id
    return None, None


def _metrics(items: Sequence[ReportItem], context: Mapping[str, Any]) -> list[Metric]:
    by_id = {i.id: i for i in items}

    def field_of(item_id: str, key: str) -> Any:
        entry = by_id.get(item_id)
        return entry.fields.get(key) if entry else None

    metrics: list[Metric] = []
    # Availability
    target_raw, target_src = _first(context, CONTEXT_UPTIME), "review context"
    if target_raw is None:
        target_raw, target_src = (
            field_of(AVAILABILITY_TARGET, "availability_target"),
            (AVAILABILITY_TARGET),
        )
    target = _number(target_raw)
    current_raw, current_src = _measured(items, CURRENT_AVAILABILITY, "reliability.")
    current = _number(current_raw)
    metrics.append(
        Metric(
            "Availability",
            _pct(target) if target is not None else "not set",
            _pct(current) if current is not None else "N/A",
            _compare(current, target, higher_is_better=True),
            target_src if target is not None else None,
            current_src,
        )
    )
    # p95 latency
    p95_raw: Any = _first(context, CONTEXT_P95)
    p95_src = "review context"
    if isinstance(p95_raw, Mapping):
        p95_raw = p95_raw.get("p95")
    if p95_raw is None:
        p95_raw, p95_src = field_of(LATENCY_TARGETS, "p95"), LATENCY_TARGETS
    p95 = _duration(p95_raw)
    if p95 is None and _number(p95_raw) is not None:
        p95 = dt.timedelta(milliseconds=_number(p95_raw) or 0)
    now_raw, now_src = None, None
    response = by_id.get(RESPONSE_TIMES)
    if response is not None and response.fields.get("p95") is not None:
        now_raw, now_src = response.fields["p95"], RESPONSE_TIMES
    if now_raw is None:
        now_raw, now_src = _measured(items, CURRENT_P95)
    now = _duration(now_raw)
    metrics.append(
        Metric(
            "p95 Latency",
            f"<{format_duration(p95)}" if p95 is not None else "not set",
            format_duration(now) if now is not None else "N/A",
            _compare(
                now.total_seconds() if now else None,
                p95.total_seconds() if p95 else None,
                higher_is_better=False,
            ),
            p95_src if p95 is not None else None,
            now_src if now is not None else None,
        )
    )
    # Error rate
    err_raw, err_src = _first(context, CONTEXT_ERROR_RATE), "review context"
    if err_raw is None:
        err_raw, err_src = field_of(ERROR_BUDGET, "error_budget"), ERROR_BUDGET
    err = _number(err_raw)
    cur_raw, cur_src = _measured(items, CURRENT_ERROR_RATE)
    cur = _number(cur_raw)
    metrics.append(
        Metric(
            "Error Rate",
            f"<{_pct(err)}" if err is not None else "not set",
            _pct(cur) if cur is not None else "N/A",
            _compare(cur, err, higher_is_better=False),
            err_src if err is not None else None,
            cur_src,
        )
    )
    # RPS capacity
    rps_raw, rps_src = _first(context, CONTEXT_PEAK_RPS), "review context"
    if rps_raw is None:
        rps_raw = _first(context, CONTEXT_EXPECTED_RPS)
    if rps_raw is None:
        rps_raw, rps_src = field_of(PEAK_TRAFFIC, "peak_rps"), PEAK_TRAFFIC
        if rps_raw is None:
            rps_raw, rps_src = field_of(EXPECTED_TRAFFIC, "target_rps"), EXPECTED_TRAFFIC
    rps = _number(rps_raw)
    tested_raw, tested_src = None, None
    peak = by_id.get(PEAK_TRAFFIC)
    if peak is not None and peak.status is Status.PASS and peak.fields.get("peak_rps") is not None:
        tested_raw, tested_src = peak.fields["peak_rps"], PEAK_TRAFFIC
    if tested_raw is None:
        tested_raw, tested_src = _measured(items, CURRENT_RPS)
    tested = _number(tested_raw)
    metrics.append(
        Metric(
            "RPS Capacity",
            f"{rps:g}" if rps is not None else "not set",
            f"{tested:g} tested" if tested is not None else "N/A",
            _compare(tested, rps, higher_is_better=True),
            rps_src if rps is not None else None,
            tested_src if tested is not None else None,
        )
    )
    return metrics


def _compare(current: float | None, target: float | None, *, higher_is_better: bool) -> str:
    if current is None or target is None:
        return "unknown"
    good = current >= target if higher_is_better else current <= target
    return "ok" if good else "bad"


# -- facts: architecture, workloads, data stores, alerts --------------------------------

_DATASTORE_TYPES: dict[str, tuple[str, str]] = {
    "aws_db_instance": ("database", "RDS database"),
    "aws_rds_cluster": ("database", "Aurora cluster"),
    "aws_docdb_cluster": ("database", "DocumentDB cluster"),
    "aws_dynamodb_table": ("database", "DynamoDB table"),
    "aws_elasticache_replication_group": ("cache", "ElastiCache"),
    "aws_elasticache_cluster": ("cache", "ElastiCache"),
    "aws_memorydb_cluster": ("cache", "MemoryDB"),
    "aws_s3_bucket": ("object_storage", "S3 bucket"),
    "aws_sqs_queue": ("queue", "SQS queue"),
    "aws_msk_cluster": ("queue", "MSK (Kafka)"),
    "aws_opensearch_domain": ("search", "OpenSearch"),
    "google_sql_database_instance": ("database", "Cloud SQL"),
    "google_redis_instance": ("cache", "Memorystore"),
    "google_storage_bucket": ("object_storage", "Cloud Storage bucket"),
    "azurerm_postgresql_flexible_server": ("database", "Azure PostgreSQL"),
    "azurerm_mssql_database": ("database", "Azure SQL"),
    "azurerm_redis_cache": ("cache", "Azure Cache for Redis"),
    "azurerm_storage_account": ("object_storage", "Azure Storage"),
}
_LOAD_BALANCER_TYPES = {
    "aws_lb": "Load balancer",
    "aws_alb": "Load balancer",
    "aws_elb": "Load balancer",
    "google_compute_global_forwarding_rule": "Load balancer",
    "azurerm_lb": "Load balancer",
    "azurerm_application_gateway": "Application gateway",
}
_COMPOSE_STORES = {
    "postgres": "database",
    "mysql": "database",
    "mariadb": "database",
    "mongo": "database",
    "redis": "cache",
    "valkey": "cache",
    "memcached": "cache",
    "rabbitmq": "queue",
    "kafka": "queue",
    "elasticsearch": "search",
    "opensearch": "search",
    "minio": "object_storage",
}
_BACKUP_SETTINGS = (
    "engine",
    "engine_version",
    "identifier",
    "instance_class",
    "multi_az",
    "backup_retention_period",
    "backup_window",
    "snapshot_retention_limit",
    "snapshot_window",
    "deletion_protection",
)
_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Rollout")


def _literal(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str) and str(value).strip():
        return str(value)
    return None


@dataclass
class _FactsView:
    workloads: list[Workload] = field(default_factory=list)
    datastores: list[DataStore] = field(default_factory=list)
    alerts: list[AlertRef] = field(default_factory=list)
    oncall_links: list[tuple[str, str]] = field(default_factory=list)
    architecture: Architecture | None = None


def _from_facts(facts: Facts) -> _FactsView:
    """Plain data for the reports from collector facts (Kubernetes, Terraform, Compose …)."""
    from prr.collectors.catalog import CatalogFacts
    from prr.collectors.containers import ContainerFacts
    from prr.collectors.kubernetes import K8sObject, KubernetesFacts
    from prr.collectors.observability import ObservabilityFacts
    from prr.collectors.terraform import TerraformFacts

    view = _FactsView()
    nodes: list[Node] = []
    edges: list[Edge] = []
    ids: dict[tuple[str, str, str | None], str] = {}

    def node(
        key: tuple[str, str, str | None],
        label: str,
        detail: str | None,
        layer: str,
        group: str | None,
    ) -> str:
        if key not in ids:
            ids[key] = f"n{len(ids) + 1}"
            nodes.append(Node(ids[key], label, layer, group, detail))
        return ids[key]

    environment: str | None = None
    k8s_objects: list[K8sObject] = []
    if facts.has(KubernetesFacts):
        k8s = facts.get(KubernetesFacts)
        k8s_objects = list(k8s.scope())
        stages = {k8s.stage(o) for o in k8s_objects if o.environment}
        environment = next(iter(sorted(s for s in stages if s)), None)
        for obj in k8s.objects:
            if obj.kind in _WORKLOAD_KINDS:
                view.workloads.append(
                    Workload(
                        obj.kind,
                        obj.name,
                        obj.namespace,
                        k8s.stage(obj) or obj.environment,
                        _location(obj.path, obj.line, None),
                    )
                )
    stores: list[DataStore] = []
    balancers: list[tuple[str, str]] = []
    if facts.has(TerraformFacts):
        terraform = facts.get(TerraformFacts)
        envs = {r.environment for r in terraform.resources}
        wanted_env = "production" if "production" in envs else None
        seen: set[str] = set()
        for resource in terraform.resources:
            if wanted_env and resource.environment not in (wanted_env, None):
                continue
            if resource.address in seen:
                continue
            if resource.type in _DATASTORE_TYPES:
                seen.add(resource.address)
                kind, label = _DATASTORE_TYPES[resource.type]
                engine = _literal(resource.get("engine"))
                settings = tuple(
                    (key, text)
                    for key in _BACKUP_SETTINGS
                    if (text := _literal(resource.get(key))) is not None
                )
                stores.append(
                    DataStore(
                        kind,
                        f"{label} ({engine})" if engine else label,
                        resource.address,
                        _location(resource.path, resource.line, None),
                        resource.environment,
                        settings,
                    )
                )
            elif resource.type in _LOAD_BALANCER_TYPES:
                seen.add(resource.address)
                balancers.append((resource.address, _LOAD_BALANCER_TYPES[resource.type]))
    compose_services: list[tuple[str, str]] = []
    if facts.has(ContainerFacts):
        containers = facts.get(ContainerFacts)
        for compose in containers.compose_files:
            for service in compose.services:
                image = service.image.name.rsplit("/", 1)[-1] if service.image else ""
                store_kind = _COMPOSE_STORES.get(image)
                if store_kind and not stores:
                    view.datastores.append(
                        DataStore(
                            store_kind,
                            f"{service.name} ({image}, Compose)",
                            f"compose:{service.name}",
                            _location(compose.path, service.line, None),
                            compose.environment,
                        )
                    )
                elif not store_kind and not compose.non_production:
                    compose_services.append((service.name, compose.path))
    view.datastores = stores or view.datastores
    if facts.has(ObservabilityFacts):
        for alert in facts.get(ObservabilityFacts).alerts:
            view.alerts.append(
                AlertRef(
                    alert.name,
                    alert.severity,
                    alert.summary,
                    alert.runbook_url,
                    _location(alert.path, alert.line, None),
                )
            )
    if facts.has(CatalogFacts):
        catalog = facts.get(CatalogFacts)
        view.oncall_links = [
            *((f"{k}", v) for k, v in sorted(catalog.oncall.items())),
            *catalog.links_about("oncall", "on-call", "pager", "slack", "status", "runbook"),
        ]

    # The diagram: entry → load balancers → ingresses → services → workloads → data stores.
    ingresses = [o for o in k8s_objects if o.kind == "Ingress"]
    services = [o for o in k8s_objects if o.kind == "Service"]
    workloads = [o for o in k8s_objects if o.kind in _WORKLOAD_KINDS]
    if not (ingresses or services or workloads or balancers or view.datastores):
        return view
    entry = node(("entry", "internet", None), "Users", "(internet)", "entry", None)
    fronts = [node(("lb", a, None), label, a, "lb", "Cloud") for a, label in balancers]
    for front in fronts:
        edges.append(Edge(entry, front))
    ingress_ids = {}
    for ing in ingresses:
        group = f"namespace {ing.namespace}" if ing.namespace else "Kubernetes"
        ingress_ids[ing.name] = node(
            ("Ingress", ing.name, ing.namespace), "Ingress", ing.name, "edge", group
        )
        for front in fronts or [entry]:
            edges.append(Edge(front, ingress_ids[ing.name]))
    service_ids = {}
    for svc in services:
        group = f"namespace {svc.namespace}" if svc.namespace else "Kubernetes"
        service_ids[svc.name] = node(
            ("Service", svc.name, svc.namespace), "Service", svc.name, "service", group
        )
    for ing in ingresses:
        for backend in _ingress_backends(ing):
            if backend in service_ids:
                edges.append(Edge(ingress_ids[ing.name], service_ids[backend]))
    workload_ids = []
    for work in workloads:
        group = f"namespace {work.namespace}" if work.namespace else "Kubernetes"
        wid = node((work.kind, work.name, work.namespace), work.kind, work.name, "workload", group)
        workload_ids.append(wid)
        labels = work.get("spec", "template", "metadata", "labels")
        for svc in services:
            selector = svc.get("spec", "selector")
            if (
                isinstance(selector, Mapping)
                and selector
                and isinstance(labels, Mapping)
                and all(labels.get(k) == v for k, v in selector.items())
            ):
                edges.append(Edge(service_ids[svc.name], wid))
    if not workloads:
        for name, path in compose_services:
            wid = node(("compose", name, path), "Compose service", name, "workload", "Compose")
            workload_ids.append(wid)
            for front in fronts or [entry]:
                edges.append(Edge(front, wid, assumed=True))
    for store in view.datastores:
        sid = node(("data", store.address, None), store.label, store.address, "data", "Data stores")
        for wid in workload_ids:
            edges.append(Edge(wid, sid, assumed=True))
    view.architecture = Architecture(nodes, edges, "facts", environment)
    return view


def _ingress_backends(ingress: Any) -> list[str]:
    names: list[str] = []
    default = ingress.get("spec", "defaultBackend", "service", "name") or ingress.get(
        "spec", "backend", "serviceName"
    )
    if isinstance(default, str):
        names.append(default)
    rules = ingress.get("spec", "rules")
    for rule in rules if isinstance(rules, list) else []:
        paths = rule.get("http", {}).get("paths") if isinstance(rule, Mapping) else None
        for path in paths if isinstance(paths, list) else []:
            backend = path.get("backend") if isinstance(path, Mapping) else None
            if not isinstance(backend, Mapping):
                continue
            service = backend.get("service")
            name = service.get("name") if isinstance(service, Mapping) else None
            name = name or backend.get("serviceName")
            if isinstance(name, str):
                names.append(name)
    return list(dict.fromkeys(names))


# "Deployment shop-api [overlay]", "Service shop-api (path:line)": a kind, a name, then a
# bracket or punctuation — not prose such as "Service accounts have …".
_K8S_REF = re.compile(
    r"\b(Ingress|Service|Deployment|StatefulSet|DaemonSet|Rollout) ([a-z0-9][a-z0-9.-]*[a-z0-9])"
    r"(?=\s*[\[(,;:]|\.?\s*$)"
)
_TF_REF = re.compile(r"\b(" + "|".join(sorted(_DATASTORE_TYPES)) + r")\.([A-Za-z0-9_-]+)")


def _from_evidence(items: Sequence[ReportItem]) -> _FactsView:
    """What the evidence messages name, when no collector facts were given."""
    view = _FactsView()
    found: dict[str, list[str]] = {}
    stores: dict[str, str | None] = {}
    for item in items:
        texts = [(item.message, None)] + [(e.summary, e.location) for e in item.evidence]
        for text, where in texts:
            for kind, name in _K8S_REF.findall(text):
                found.setdefault(kind, [])
                if name not in found[kind]:
                    found[kind].append(name)
            for tf_type, name in _TF_REF.findall(text):
                address = f"{tf_type}.{name}"
                if stores.get(address) is None:
                    stores[address] = where
    for kind in _WORKLOAD_KINDS:
        for name in found.get(kind, []):
            view.workloads.append(Workload(kind, name, None, None, None))
    for address, where in stores.items():
        kind, label = _DATASTORE_TYPES[address.split(".", 1)[0]]
        view.datastores.append(DataStore(kind, label, address, where))
    nodes: list[Node] = []
    edges: list[Edge] = []
    layers = [
        ("edge", found.get("Ingress", [])),
        ("service", found.get("Service", [])),
        ("workload", [w.name for w in view.workloads]),
    ]
    if not any(names for _, names in layers) and not view.datastores:
        return view
    nodes.append(Node("n1", "Users", "entry", None, "(internet)"))
    previous = ["n1"]
    kinds = {"edge": "Ingress", "service": "Service"}
    for layer, names in layers:
        if not names:
            continue
        current = []
        for name in names:
            nid = f"n{len(nodes) + 1}"
            label = (
                kinds[layer]
                if layer in kinds
                else next(w.kind for w in view.workloads if w.name == name)
            )
            nodes.append(Node(nid, label, layer, "Kubernetes", name))
            current.append(nid)
            edges.extend(Edge(p, nid, assumed=True) for p in previous)
        previous = current
    for store in view.datastores:
        nid = f"n{len(nodes) + 1}"
        nodes.append(Node(nid, store.label, "data", "Data stores", store.address))
        edges.extend(Edge(p, nid, assumed=True) for p in previous)
    view.architecture = Architecture(nodes, edges, "evidence")
    return view


# -- the store: evidence of review items, scans of the service ----------------------------


def _stored_items(store: Store, review_id: int, scan_id: int | None) -> dict[str, _Stored]:
    """Evidence and concrete fixes a review's items carry (from its rows and its scan)."""
    from sqlalchemy import select

    from prr.store.schema import ReviewItem, Scan

    out: dict[str, _Stored] = {}
    with store.transaction() as session:
        rows = session.execute(
            select(ReviewItem.item_id, ReviewItem.evidence).where(ReviewItem.review_id == review_id)
        ).all()
        payload: dict[str, Any] = {}
        if scan_id is not None:
            payload = session.scalars(select(Scan.payload).where(Scan.id == scan_id)).first() or {}
    for item_id, evidence in rows:
        entry = out.setdefault(item_id, _Stored())
        for found in evidence or []:
            if isinstance(found, Mapping):
                entry.evidence.append(_evidence_ref(found, None))
    for item in payload.get("items", []) if isinstance(payload, Mapping) else []:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            continue
        entry = out.setdefault(item["id"], _Stored())
        remediation = item.get("remediation")
        if isinstance(remediation, Mapping):
            entry.fixes = [str(f) for f in remediation.get("for_this_repository") or []]
        checks = [c for c in item.get("checks") or [] if isinstance(c, Mapping)]
        if checks:
            entry.checks = {str(c.get("check")): str(c.get("status")) for c in checks}
            entry.evidence = [
                _evidence_ref(e, c)
                for c in checks
                for e in c.get("evidence") or []
                if isinstance(e, Mapping)
            ] or entry.evidence
    return out


def _evidence_ref(found: Mapping[str, Any], result: Mapping[str, Any] | None) -> EvidenceRef:
    check = result.get("check") if result else found.get("check")
    status = result.get("status") if result else None
    return EvidenceRef(
        _safe_summary(str(found.get("summary", ""))),
        _location(found.get("path"), found.get("line"), found.get("url")),
        str(check) if check else None,
        str(status) if status else None,
    )


def trend_from_store(store: Store, service: str) -> list[TrendPoint]:
    """Blockers and issues of every stored scan of ``service``, oldest first."""
    from sqlalchemy import select

    from prr.store.schema import Scan
    from prr.store.schema import Service as ServiceRow

    with store.transaction() as session:
        rows = session.execute(
            select(Scan.started_at, Scan.blockers, Scan.issues)
            .join(ServiceRow, Scan.service_id == ServiceRow.id)
            .where(ServiceRow.name == service)
            .order_by(Scan.started_at, Scan.id)
        ).all()
    return [TrendPoint(started.date(), blockers, issues) for started, blockers, issues in rows]


# -- the two entry points ------------------------------------------------------------------


def _finish(model: ReportModel, items: Sequence[ReportItem], facts: Facts | None) -> ReportModel:
    view = _from_facts(facts) if facts is not None else _from_evidence(items)
    model.workloads = view.workloads
    model.datastores = view.datastores
    model.alerts = view.alerts
    model.oncall_links = view.oncall_links
    model.architecture = view.architecture
    model.facts_available = facts is not None
    return model


def from_assessment(
    assessment: Assessment,
    *,
    facts: Facts | None = None,
    today: dt.date | None = None,
    assessor: str | None = None,
    version: str | None = None,
    context: Mapping[str, Any] | None = None,
    roles: Sequence[str] | None = None,
    trend: Sequence[TrendPoint] = (),
    prd_number: int = 1,
) -> ReportModel:
    """The report model of a scan.

    ``facts`` are the collector facts of the scan (for the architecture diagram
    and the runbooks); when not given, ``assessment.facts`` is used if the engine
    provides it, else only what the evidence messages name.
    """
    if facts is None:
        facts = getattr(assessment, "facts", None)
    target = assessment.target
    date = today or assessment.started_at.date()
    deciding = _registry()
    items = [_report_item(a, assessment.checklist, deciding) for a in assessment.items]
    ctx = dict(context or {})
    blockers, issues = _gaps(items, target.owner, date)
    risks = [
        RiskRow(
            a.id,
            f"{a.ref.title}: {a.waiver.reason}",
            a.waiver.reason,
            a.waiver.owner or NONE,
            a.waiver.expires,
        )
        for a in assessment.items
        if a.is_accepted_risk and a.waiver is not None
    ]
    commit = assessment.commit
    model = ReportModel(
        service=target.service,
        owner=target.owner,
        tier=None if target.tier is None else str(target.tier),
        version=version or (f"commit {commit[:12]}" if commit else NONE),
        stage=assessment.stage.value,
        checklist=assessment.checklist.ref,
        assessment_date=date,
        assessor=assessor or NONE,
        origin="scan",
        verdict=assessment.verdict,
        categories=_categories(assessment.checklist, assessment.items),
        items=items,
        blockers=blockers,
        issues=issues,
        risks=risks,
        metrics=_metrics(items, ctx),
        signoffs=[SignoffRow(role) for role in (roles or DEFAULT_ROLES)],
        share=_share(items),
        context=ctx,
        launch_date=launch_date_of(ctx, items),
        root=assessment.root,
        commit=commit,
        environments=list(assessment.environments),
        errors=[str(e) for e in assessment.errors],
        trend=list(trend),
        prd_number=prd_number,
    )
    return _finish(model, items, facts)


def from_review(
    view: ReviewView,
    *,
    store: Store | None = None,
    facts: Facts | None = None,
    today: dt.date | None = None,
    assessor: str | None = None,
    context: Mapping[str, Any] | None = None,
    trend: Sequence[TrendPoint] | None = None,
    prd_number: int | None = None,
) -> ReportModel:
    """The report model of a review; ``store`` adds stored evidence, past scans and numbering."""
    stored = _stored_items(store, view.id, view.scan_id) if store is not None else {}
    date = today or dt.date.today()
    deciding = _registry()
    items = [
        _report_item(
            entry.assessment,
            view.checklist,
            deciding,
            stored.get(entry.id),
            owner=entry.owner,
            eta=entry.eta,
            notes=entry.notes,
            na_reason=entry.na_reason,
        )
        for entry in view.items
    ]
    ctx = {**view.context, **(context or {})}
    blockers, issues = _gaps(items, view.owner, date)
    waivers = {w.item_id: w for w in view.waivers if w.state == "approved"}
    risks = []
    for entry in view.items:
        applied = entry.assessment
        if not applied.is_accepted_risk or applied.waiver is None:
            continue
        found = waivers.get(entry.id)
        accepted_by = NONE
        if found is not None and found.decided_by:
            role = f" ({found.decided_role})" if found.decided_role else ""
            accepted_by = f"{found.decided_by}{role}"
        risks.append(
            RiskRow(
                entry.id,
                f"{entry.ref.title}: {applied.waiver.reason}",
                (found.mitigation if found and found.mitigation else NONE),
                accepted_by,
                applied.waiver.expires,
            )
        )
    decided = {s.role: s for s in view.signoffs}
    signoffs = [
        SignoffRow(
            role,
            decided[role].person if role in decided else None,
            decided[role].decision if role in decided else None,
            decided[role].at.date() if role in decided else None,
            decided[role].comment if role in decided else None,
        )
        for role in view.required_roles
    ]
    number = prd_number
    if number is None and store is not None:
        from prr.review.reviews import Reviews

        earlier = [r for r in Reviews(store).list_reviews(view.service) if r.id <= view.id]
        number = max(len(earlier), 1)
    model = ReportModel(
        service=view.service,
        owner=view.owner,
        tier=None,
        version=view.version,
        stage=view.stage.value,
        checklist=view.checklist.ref,
        assessment_date=date,
        assessor=assessor or view.created_by,
        origin="review",
        verdict=verdict(view.assessments),
        categories=_categories(view.checklist, view.assessments),
        items=items,
        blockers=blockers,
        issues=issues,
        risks=risks,
        metrics=_metrics(items, ctx),
        signoffs=signoffs,
        share=_share(items),
        context=ctx,
        launch_date=launch_date_of(ctx, items),
        review_id=view.id,
        review_state=view.state,
        trend=list(trend)
        if trend is not None
        else (trend_from_store(store, view.service) if store is not None else []),
        prd_number=number or 1,
    )
    return _finish(model, items, facts)


# =========================================================================== layout


@dataclass(frozen=True)
class Text:
    """Plain text (escaped by every renderer)."""

    text: str
    kind: ClassVar[str] = "text"


@dataclass(frozen=True)
class Strong:
    text: str
    kind: ClassVar[str] = "strong"


@dataclass(frozen=True)
class Code:
    """Inline code: ids, paths, commands."""

    text: str
    kind: ClassVar[str] = "code"


@dataclass(frozen=True)
class Link:
    """A link; only http(s) URLs are rendered as links, anything else as text."""

    text: str
    url: str
    kind: ClassVar[str] = "link"

    @property
    def safe(self) -> bool:
        return bool(re.match(r"^https?://[^\s\"'<>]+$", self.url))


@dataclass(frozen=True)
class Badge:
    """A status marker: an emoji in Markdown, a coloured label in HTML."""

    text: str
    tone: str
    """``ok``, ``warn``, ``bad`` or ``none``."""
    kind: ClassVar[str] = "badge"

    @property
    def icon(self) -> str:
        return {"ok": "🟢", "warn": "🟡", "bad": "🔴"}.get(self.tone, "⚪")


Inline = Text | Strong | Code | Link | Badge
Spans = tuple[Inline, ...]


def spans(*parts: str | Inline) -> Spans:
    """Spans from strings (plain text) and inline elements."""
    return tuple(Text(p) if isinstance(p, str) else p for p in parts)


def rich(text: str) -> Spans:
    """Checklist prose with ``backticked`` code as code spans, everything else as text."""
    out: list[Inline] = []
    for number, part in enumerate(re.split(r"`([^`]+)`", text)):
        if number % 2:
            out.append(Code(part))
        elif part:
            out.append(Text(part))
    return tuple(out)


@dataclass(frozen=True)
class Heading:
    level: int
    content: Spans
    anchor: str | None = None
    kind: ClassVar[str] = "heading"


@dataclass(frozen=True)
class Para:
    content: Spans
    kind: ClassVar[str] = "para"


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Spans, ...], ...]
    kind: ClassVar[str] = "table"


@dataclass(frozen=True)
class ListBlock:
    entries: tuple[Spans, ...]
    ordered: bool = False
    kind: ClassVar[str] = "list"


@dataclass(frozen=True)
class Checks:
    """A task list: ``- [ ]`` / ``- [x]``."""

    entries: tuple[tuple[bool, Spans], ...]
    kind: ClassVar[str] = "checks"


@dataclass(frozen=True)
class CodeBlock:
    text: str
    lang: str = ""
    kind: ClassVar[str] = "code"


@dataclass(frozen=True)
class Rule:
    kind: ClassVar[str] = "rule"


@dataclass(frozen=True)
class Figure:
    """An SVG chart (HTML and PDF only); ``svg`` is built by :mod:`prr.reports.charts`."""

    svg: str
    caption: str
    name: str
    kind: ClassVar[str] = "figure"


Block = Heading | Para | Table | ListBlock | Checks | CodeBlock | Rule | Figure


@dataclass
class Document:
    """A report laid out as blocks, rendered by :func:`to_markdown` and the HTML renderer."""

    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> Document:
        self.blocks.extend(blocks)
        return self

    def heading(self, level: int, *parts: str | Inline) -> Document:
        return self.add(Heading(level, spans(*parts), _anchor(parts)))

    def para(self, *parts: str | Inline) -> Document:
        return self.add(Para(spans(*parts)))

    def table(
        self, header: Sequence[str], rows: Iterable[Sequence[str | Inline | Spans]]
    ) -> Document:
        built = tuple(
            tuple(cell if isinstance(cell, tuple) else spans(cell) for cell in row) for row in rows
        )
        return self.add(Table(tuple(header), built))

    def bullets(self, entries: Iterable[Spans | str], ordered: bool = False) -> Document:
        listed = tuple(e if isinstance(e, tuple) else spans(e) for e in entries)
        return self.add(ListBlock(listed, ordered))

    def checks(self, entries: Iterable[tuple[bool, Spans | str]]) -> Document:
        listed = tuple((done, e if isinstance(e, tuple) else spans(e)) for done, e in entries)
        return self.add(Checks(listed))

    def code(self, text: str, lang: str = "") -> Document:
        return self.add(CodeBlock(text, lang))

    def rule(self) -> Document:
        return self.add(Rule())


def _anchor(parts: Sequence[str | Inline]) -> str:
    text = "".join(p if isinstance(p, str) else p.text for p in parts)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "section"


# -- Markdown ------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*\[\]|~])")
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_TAG = re.compile(r"<(?=[A-Za-z/!?])")
_MD_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def md_text(text: str) -> str:
    """Text safe in Markdown: no HTML, entities, emphasis, links or table breaks from it.

    ``<`` is escaped where it could open a tag or autolink, ``&`` where it could
    start an entity; other characters stay readable in the Markdown source.
    """
    flat = re.sub(r"\s+", " ", text)
    flat = _MD_ENTITY.sub("&amp;", flat)
    flat = _MD_TAG.sub("&lt;", flat)
    flat = _MD_SPECIAL.sub(r"\\\1", flat)
    return _MD_UNDERSCORE.sub(r"\\_", flat)


def md_code(text: str, *, in_table: bool = False) -> str:
    """An inline code span that no backtick in ``text`` can close early."""
    flat = " ".join(text.split())
    if in_table:
        flat = flat.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def md_inline(content: Spans, *, in_table: bool = False) -> str:
    out = []
    for span in content:
        if isinstance(span, Strong):
            out.append(f"**{md_text(span.text)}**")
        elif isinstance(span, Code):
            out.append(md_code(span.text, in_table=in_table))
        elif isinstance(span, Link):
            if span.safe:
                out.append(f"[{md_text(span.text)}](<{span.url}>)")
            else:
                out.append(md_text(span.text))
        elif isinstance(span, Badge):
            out.append(f"{span.icon} {md_text(span.text)}".rstrip())
        else:
            out.append(md_text(span.text))
    return "".join(out)


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    return "`" * (longest + 1)


def to_markdown(document: Document) -> str:
    """The document as GitHub-flavoured Markdown; figures are left out."""
    out: list[str] = []
    for block in document.blocks:
        if isinstance(block, Heading):
            out.append("#" * block.level + " " + md_inline(block.content))
        elif isinstance(block, Para):
            out.append(md_inline(block.content))
        elif isinstance(block, Table):
            lines = [
                "| " + " | ".join(md_text(h) for h in block.header) + " |",
                "|" + "|".join("-" * (len(h) + 2) for h in block.header) + "|",
            ]
            for row in block.rows:
                cells = [md_inline(cell, in_table=True) or " " for cell in row]
                lines.append("| " + " | ".join(cells) + " |")
            out.append("\n".join(lines))
        elif isinstance(block, ListBlock):
            out.append(
                "\n".join(
                    (f"{n}. " if block.ordered else "- ") + md_inline(entry)
                    for n, entry in enumerate(block.entries, start=1)
                )
            )
        elif isinstance(block, Checks):
            out.append(
                "\n".join(
                    f"- [{'x' if done else ' '}] " + md_inline(entry)
                    for done, entry in block.entries
                )
            )
        elif isinstance(block, CodeBlock):
            fence = _fence(block.text)
            out.append(f"{fence}{block.lang}\n{block.text.rstrip()}\n{fence}")
        elif isinstance(block, Rule):
            out.append("---")
    return "\n\n".join(out) + "\n"


__all__ = [
    "POST_LAUNCH",
    "WEEKS",
    "WEEK_1",
    "WEEK_2",
    "Architecture",
    "Badge",
    "Block",
    "CategoryRow",
    "Checks",
    "Code",
    "CodeBlock",
    "DataStore",
    "Document",
    "EvidenceRef",
    "EvidenceShare",
    "Figure",
    "Gap",
    "Heading",
    "Link",
    "ListBlock",
    "Metric",
    "Para",
    "ReportItem",
    "ReportModel",
    "RiskRow",
    "Rule",
    "SignoffRow",
    "Strong",
    "Table",
    "Text",
    "TrendPoint",
    "Workload",
    "format_value",
    "from_assessment",
    "from_review",
    "issue_priority",
    "launch_date_of",
    "md_text",
    "rich",
    "spans",
    "to_markdown",
    "trend_from_store",
]
