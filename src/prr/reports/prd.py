"""The Readiness PRD: every gap with its current state, fix and acceptance criteria.

Follows the PRD template for gaps: header, executive summary, blockers and
issues (category, severity, risk, current state from the evidence, required
fix, acceptance criteria, effort, owner), the implementation timeline, the
go/no-go criteria (ticked when the evidence says they hold), the launch
checklist with real dates, and the appendices: full checklist results, load
test results, security scan results and the architecture diagram.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from prr.model.evidence import Status
from prr.reports import charts
from prr.reports.assessment import (
    gap_dict,
    report_dict,
    shorten,
    status_badge,
    summary_figures,
    verdict_badge,
    write_csv,
)
from prr.reports.model import (
    EFFORT_NAMES,
    LOAD_TESTING,
    NONE,
    POST_LAUNCH,
    WEEK_1,
    WEEK_2,
    WEEKS,
    Code,
    Document,
    EvidenceRef,
    Figure,
    Gap,
    ReportItem,
    ReportModel,
    Strong,
    format_value,
    rich,
    spans,
)

HARDCODED_SECRETS = "security.secrets-management.no-hardcoded-secrets-in-code"
BACKUP_RESTORE = "reliability.backup-recovery.backup-restoration-tested"
LOAD_TEST = "performance.load-testing.load-test-executed"
MAX_EVIDENCE = 10

LAUNCH_PHASES: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    (
        "T-1 Week",
        -7,
        (
            "All blockers resolved",
            "Final security review",
            "Load test at 2x expected traffic",
            "Stakeholder communication sent",
        ),
    ),
    (
        "T-1 Day",
        -1,
        (
            "Staging deployment successful",
            "Smoke tests passing",
            "On-call schedule confirmed",
            "War room scheduled",
        ),
    ),
    (
        "T-0 (Launch Day)",
        0,
        (
            "Final go/no-go meeting",
            "Deploy to production",
            "Smoke tests on production",
            "Monitor for 2 hours",
            "Announce success/rollback",
        ),
    ),
    ("T+1 Day", 1, ("Review metrics", "Address any issues", "Post-launch retrospective scheduled")),
)


@dataclass(frozen=True)
class Criterion:
    """One go/no-go criterion and whether the evidence says it holds."""

    label: str
    met: bool
    note: str


@dataclass(frozen=True)
class LaunchPhase:
    """A step of the launch checklist, dated from the target launch."""

    name: str
    date: dt.date | None
    tasks: tuple[tuple[bool, str], ...]


def launch_schedule(launch: dt.date) -> list[tuple[str, dt.date]]:
    """The launch checklist's dates: T-1 week, T-1 day, T-0 and T+1 day."""
    return [(name, launch + dt.timedelta(days=days)) for name, days, _ in LAUNCH_PHASES]


def launch_checklist(model: ReportModel) -> list[LaunchPhase]:
    done = {
        "All blockers resolved": not model.blockers,
        "Final security review": model.signed("Security"),
    }
    return [
        LaunchPhase(
            name,
            model.launch_date + dt.timedelta(days=days) if model.launch_date else None,
            tuple((done.get(task, False), task) for task in tasks),
        )
        for name, days, tasks in LAUNCH_PHASES
    ]


def _all_pass(model: ReportModel, prefix: str) -> tuple[bool, str]:
    items = [i for i in model.items if i.id.startswith(prefix)]
    if not items:
        return False, "not in this checklist"
    open_items = [i for i in items if i.status not in (Status.PASS, Status.NOT_APPLICABLE)]
    if not open_items:
        return True, f"{len(items)} item(s) pass or do not apply"
    return False, f"{len(open_items)} of {len(items)} item(s) not passing"


def _passes(model: ReportModel, *item_ids: str) -> tuple[bool, str]:
    found = [model.item(i) for i in item_ids]
    present = [i for i in found if i is not None]
    if not present:
        return False, "not in this checklist"
    open_items = [i for i in present if i.status is not Status.PASS]
    if not open_items:
        return True, "passing"
    return False, ", ".join(f"{i.title.lower()}: {i.status.value}" for i in open_items)


def go_no_go(model: ReportModel) -> list[tuple[str, list[Criterion]]]:
    """The three lists of the go/no-go criteria, ticked from the evidence."""
    high = [g for g in model.issues if g.priority == "High"]
    rest = [g for g in model.issues if g.priority != "High"]

    def signoff(role: str) -> Criterion:
        entry = next((s for s in model.signoffs if s.role == role), None)
        if entry is None:
            return Criterion(f"{role} sign-off", False, "not a sign-off role of the policy")
        if entry.decision == "approve":
            note = f"{entry.name}, {entry.date.isoformat() if entry.date else ''}".strip(", ")
            return Criterion(f"{role} sign-off", True, note)
        return Criterion(
            f"{role} sign-off", False, "rejected" if entry.decision == "reject" else "not signed"
        )

    load_ok, load_note = _passes(model, LOAD_TEST)
    backup_ok, backup_note = _passes(model, BACKUP_RESTORE)
    dash_ok, dash_note = _passes(
        model,
        "reliability.monitoring.dashboards-created",
        "reliability.sla-slo.sli-dashboards-created",
    )
    runbooks_ok, runbooks_note = _passes(
        model, "operations.documentation.runbook-for-common-issues"
    )
    oncall_ok, oncall_note = _passes(
        model,
        "operations.on-call.on-call-rotation-defined",
        "operations.documentation.on-call-documentation",
        "operations.on-call.escalation-path-defined",
    )
    perf_ok, perf_note = _all_pass(model, "performance.optimization.")
    auto_ok, auto_note = _all_pass(model, "deployment.ci-cd.")
    return [
        (
            "Must Have (Launch Blockers)",
            [
                Criterion(
                    "All BLOCK items resolved",
                    not model.blockers,
                    f"{len(model.blockers)} open" if model.blockers else "none open",
                ),
                signoff("Security"),
                signoff("Operations"),
                Criterion("Load test passed", load_ok, load_note),
                Criterion("Backup restoration verified", backup_ok, backup_note),
            ],
        ),
        (
            "Should Have (Launch with Risk)",
            [
                Criterion(
                    "All high-priority issues resolved",
                    not high,
                    f"{len(high)} open" if high else "none open",
                ),
                Criterion("Monitoring dashboards complete", dash_ok, dash_note),
                Criterion("Runbooks documented", runbooks_ok, runbooks_note),
                Criterion("On-call trained", oncall_ok, oncall_note),
            ],
        ),
        (
            "Nice to Have (Post-Launch OK)",
            [
                Criterion(
                    "Medium/low issues", not rest, f"{len(rest)} open" if rest else "none open"
                ),
                Criterion("Performance optimizations", perf_ok, perf_note),
                Criterion("Additional automation", auto_ok, auto_note),
            ],
        ),
    ]


def prd_status(model: ReportModel) -> str:
    return {"approved": "Approved", "drifted": "Drifted"}.get(model.review_state or "", "Draft")


def prd_priority(model: ReportModel) -> str:
    if model.blockers:
        return "Critical"
    if any(g.priority == "High" for g in model.issues):
        return "High"
    return "Medium" if model.issues else "Low"


def risk_text(item: ReportItem) -> str:
    """The risk of leaving the gap open: the common blocker it is, and why it matters."""
    parts = []
    if item.common_blocker:
        group = f" {item.common_blocker_group}" if item.common_blocker_group else ""
        parts.append(f"{item.common_blocker} — a common{group} launch blocker.")
    if item.critical_reason:
        parts.append(" ".join(item.critical_reason.split()))
    else:
        parts.append("Until fixed, this does not hold: " + " ".join(item.expected.split()))
    return " ".join(parts)


def snippet_language(snippet: str) -> str:
    head = "\n".join(snippet.splitlines()[:3])
    if re.search(r"\.tf\b|\bresource \"", head):
        return "hcl"
    if re.search(r"\.ya?ml\b|^\s*apiVersion:|^\s*[a-z_-]+:\s", head, re.M):
        return "yaml"
    if re.search(r"^\s*(\$ |kubectl |helm |aws |gcloud |az |git )", head, re.M):
        return "sh"
    return ""


def _source_line(item: ReportItem) -> str:
    where = {
        "verified": "decided by automated checks",
        "attested": "answered by a person",
        "unknown": "not verified: no evidence and no answer yet",
    }[item.evidence_class]
    return f"Status {item.status.value}, {where}."


def _gap_section(doc: Document, gap: Gap) -> None:
    item = gap.item
    severity = item.severity.value.capitalize()
    if item.status is Status.UNKNOWN:
        severity += " (not verified: an open issue until evidence or an answer decides it)"
    state = "not verified" if item.status is Status.UNKNOWN else "not met"
    doc.heading(3, f"{gap.key}: {item.title} — {state}")
    doc.para(Strong("Item:"), " ", Code(item.id))
    doc.para(Strong("Category:"), f" {item.category} › {item.section}")
    doc.para(Strong("Severity:"), f" {severity}")
    doc.para(Strong("Risk:"), f" {risk_text(item)}")
    doc.heading(4, "Current State")
    doc.para(item.message or "No finding recorded.")
    evidence = [e for e in item.open_evidence if e.summary or e.location]
    if evidence:
        entries = []
        for found in evidence[:MAX_EVIDENCE]:
            parts: list[Any] = []
            if found.location:
                parts += [Code(found.location), " — "]
            parts.append(found.summary or "")
            if found.check:
                parts += [" (", Code(found.check), ")"]
            entries.append(spans(*parts))
        if len(evidence) > MAX_EVIDENCE:
            entries.append(spans(f"… and {len(evidence) - MAX_EVIDENCE} more"))
        doc.bullets(entries)
    doc.para(_source_line(item))
    if item.notes:
        doc.para(Strong("Notes:"), " ", item.notes)
    doc.heading(4, "Required Fix")
    number = 0
    for fix in item.fixes:
        number += 1
        doc.para(Strong(f"{number}. For this repository"))
        doc.code(fix, snippet_language(fix))
    number += 1
    doc.para(Strong(f"{number}. Remediation steps"))
    doc.bullets([rich(step) for step in item.remediation], ordered=True)
    doc.heading(4, "Acceptance Criteria")
    entries_ac: list[tuple[bool, Any]] = [(False, rich(c)) for c in item.acceptance]
    for command, ids in (("prr scan", item.checks), ("prr scan --live", item.live_checks)):
        if ids:
            entries_ac.append((False, rerun(command, ids)))
    if not (item.checks or item.live_checks):
        entries_ac.append(
            (
                False,
                spans(
                    "No automated check decides this item: record the evidence in the review (",
                    Code("prr review answer"),
                    ")",
                ),
            )
        )
    doc.checks(entries_ac)
    doc.heading(4, f"Effort: {EFFORT_NAMES[item.effort]}")
    doc.heading(4, f"Owner: {gap.owner}")
    if gap.eta != NONE:
        doc.para(Strong("ETA:"), f" {gap.eta}")
    doc.rule()


def rerun(command: str, checks: list[str]) -> tuple[Any, ...]:
    """ "Re-run `prr scan` and check `a`, `b` pass" as spans."""
    parts: list[Any] = ["Re-run ", Code(command), " and check "]
    for number, check in enumerate(checks):
        if number:
            parts.append(", ")
        parts.append(Code(check))
    parts.append(" pass" if len(checks) > 1 else " passes")
    return spans(*parts)


def load_test_rows(model: ReportModel) -> list[ReportItem]:
    """Load-testing items that carry measurements."""
    return [i for i in model.items if i.id.startswith(LOAD_TESTING) and i.fields]


_RULE = re.compile(r"\(([A-Za-z0-9_.:-]+)\)")


def security_findings(model: ReportModel) -> dict[str, list[tuple[str, str, str]]]:
    """Failing security evidence by kind: (location, finding, item id).

    Secret findings carry only where and which rule, never a value.
    """
    groups: dict[str, list[tuple[str, str, str]]] = {
        "secrets": [],
        "dependencies": [],
        "iac": [],
        "other": [],
    }
    for item in model.items:
        if item.status is not Status.FAIL or not (
            item.category_id == "security" or item.id == HARDCODED_SECRETS
        ):
            continue
        failing = [e for e in item.evidence if e.status in (None, "fail")]
        if item.id == HARDCODED_SECRETS:
            for secret in failing:
                rules = _RULE.findall(secret.summary)
                groups["secrets"].append(
                    (secret.location or NONE, rules[-1] if rules else "secret", item.id)
                )
            continue
        candidates: list[EvidenceRef | None] = list(failing) or [None]
        for found in candidates:
            check = (found.check if found else None) or ""
            text = found.summary if found else item.message
            where = (found.location if found else None) or NONE
            if "dependenc" in item.id or re.search(r"dependenc|vulnerab|\bsca\b", check):
                kind = "dependencies"
            elif re.search("terraform|kubernetes|container|docker|helm|iac", check):
                kind = "iac"
            else:
                kind = "other"
            groups[kind].append((where, text, item.id))
    return groups


def prd_document(model: ReportModel) -> Document:
    """The Readiness PRD laid out as the template has it."""
    doc = Document(f"{model.prd_id}: Production Readiness Gaps — {model.service}")
    doc.heading(1, f"{model.prd_id}: Production Readiness Gaps")
    for label, value in (
        ("Status", prd_status(model)),
        ("Author", model.assessor),
        ("Date", model.assessment_date.isoformat()),
        ("Type", "Production Readiness"),
        ("Priority", prd_priority(model)),
        ("Target Launch", model.launch_date.isoformat() if model.launch_date else "not set"),
        ("Application", f"{model.service} {model.version}"),
    ):
        doc.para(Strong(f"{label}:"), f" {value}")
    doc.rule()
    doc.heading(2, "Executive Summary")
    doc.para(
        "This PRD documents gaps that must be addressed before production launch of ",
        Strong(model.service),
        ". Items are categorized as Blockers (must fix) or Issues (should fix).",
    )
    doc.para(Strong("Assessment Results:"))
    doc.bullets(
        [
            f"Checklist items: {len(model.items)}",
            f"Passed: {model.count(Status.PASS)}",
            f"Blockers: {len(model.blockers)}",
            f"Issues: {len(model.issues)}",
            f"Not applicable: {model.count(Status.NOT_APPLICABLE)}",
            f"Risks accepted: {len(model.risks)}",
            f"Verified by evidence: {model.share.verified} "
            f"({model.share.percent(model.share.verified):g}%), attested: {model.share.attested}, "
            f"unknown: {model.share.unknown}",
        ]
    )
    doc.para(Strong("Overall Status:"), " ", verdict_badge(model.verdict))
    for figure in summary_figures(model):
        doc.add(figure)
    doc.rule()
    doc.heading(2, "Blockers")
    if not model.blockers:
        doc.para("None: no critical item is failing.")
        doc.rule()
    for gap in model.blockers:
        _gap_section(doc, gap)
    doc.heading(2, "Issues (Should Fix)")
    if not model.issues:
        doc.para("None.")
        doc.rule()
    for gap in model.issues:
        _gap_section(doc, gap)
    _timeline(doc, model)
    doc.heading(2, "Go/No-Go Criteria")
    for title, criteria in go_no_go(model):
        doc.heading(3, title)
        doc.checks([(c.met, f"{c.label} — {c.note}") for c in criteria])
    doc.rule()
    doc.heading(2, "Launch Checklist")
    if model.launch_date is None:
        doc.para(
            "The target launch date is not set (review context ",
            Code("launch_date"),
            "); the checklist is undated.",
        )
    for phase in launch_checklist(model):
        when = f" — {phase.date.strftime('%a')} {phase.date.isoformat()}" if phase.date else ""
        doc.heading(3, f"{phase.name}{when}")
        doc.checks([(done, task) for done, task in phase.tasks])
    doc.rule()
    _appendix(doc, model)
    return doc


def _timeline(doc: Document, model: ReportModel) -> None:
    doc.heading(2, "Implementation Timeline")
    for week in WEEKS:
        doc.heading(3, week)
        gaps = [g for g in model.gaps if g.week == week]
        if gaps:
            doc.table(
                ("Item", "Owner", "Status"),
                [(f"{g.key}: {g.item.title}", g.owner, "☐") for g in gaps],
            )
        else:
            doc.para("Nothing scheduled.")
    doc.rule()


def _appendix(doc: Document, model: ReportModel) -> None:
    doc.heading(2, "Appendix")
    doc.heading(3, "A. Full Checklist Results")
    doc.table(
        ("ID", "Item", "Severity", "Status", "Source"),
        [
            (Code(i.id), i.title, i.severity.value, status_badge(i.status), i.source.value)
            for i in model.items
        ],
    )
    doc.heading(3, "B. Load Test Results")
    measured = load_test_rows(model)
    if measured:
        doc.table(
            ("Item", "Status", "Measured", "Evidence"),
            [
                (
                    i.title,
                    status_badge(i.status),
                    "; ".join(f"{k} {format_value(v)}" for k, v in sorted(i.fields.items())),
                    shorten(i.message, 160),
                )
                for i in measured
            ],
        )
    else:
        doc.para(
            "Not yet run: ",
            Code("prr drill load"),
            " (no load-test measurements in the evidence).",
        )
    doc.heading(3, "C. Security Scan Results")
    findings = security_findings(model)
    doc.heading(4, "Secrets")
    if findings["secrets"]:
        doc.table(
            ("Location", "Rule"),
            [(Code(where), rule) for where, rule, _ in findings["secrets"]],
        )
    else:
        doc.para("No hard-coded secrets found.")
    for key, title in (
        ("dependencies", "Dependencies"),
        ("iac", "Infrastructure as code"),
        ("other", "Other security findings"),
    ):
        doc.heading(4, title)
        if findings[key]:
            doc.table(
                ("Location", "Finding", "Item"),
                [
                    (Code(where), shorten(text, 200), Code(item))
                    for where, text, item in findings[key]
                ],
            )
        else:
            doc.para("None.")
    doc.heading(3, "D. Architecture Diagram")
    architecture = model.architecture
    if architecture is None:
        doc.para("No architecture evidence: no Kubernetes, Terraform or Compose files describe it.")
        return
    if architecture.origin == "facts":
        where = f" ({architecture.environment})" if architecture.environment else ""
        doc.para(
            f"Generated from the Kubernetes, Terraform and Compose files{where}; dotted lines "
            "are assumed connections (workloads to data stores)."
        )
    else:
        doc.para(
            "Inferred from the evidence messages only (no collector facts were given); "
            "connections are assumed."
        )
    doc.add(Figure(charts.architecture_chart(architecture), "Architecture", "architecture"))
    doc.code(architecture.mermaid(), "mermaid")


# -- JSON and CSV ------------------------------------------------------------------------------


def prd_dict(model: ReportModel) -> dict[str, Any]:
    data = report_dict(model, "prd")
    architecture = model.architecture
    data["prd"] = {
        "id": model.prd_id,
        "status": prd_status(model),
        "author": model.assessor,
        "date": model.assessment_date.isoformat(),
        "type": "Production Readiness",
        "priority": prd_priority(model),
        "target_launch": model.launch_date.isoformat() if model.launch_date else None,
        "timeline": {week: [g.key for g in model.gaps if g.week == week] for week in WEEKS},
        "go_no_go": [
            {
                "group": title,
                "criteria": [{"label": c.label, "met": c.met, "note": c.note} for c in criteria],
            }
            for title, criteria in go_no_go(model)
        ],
        "launch_checklist": [
            {
                "phase": p.name,
                "date": p.date.isoformat() if p.date else None,
                "tasks": [{"task": t, "done": d} for d, t in p.tasks],
            }
            for p in launch_checklist(model)
        ],
        "load_tests": [
            {
                "item": i.id,
                "status": i.status.value,
                "fields": {k: format_value(v) for k, v in sorted(i.fields.items())},
            }
            for i in load_test_rows(model)
        ],
        "security_findings": {
            key: [{"location": w, "finding": t, "item": i} for w, t, i in rows]
            for key, rows in security_findings(model).items()
        },
        "architecture": None
        if architecture is None
        else {
            "origin": architecture.origin,
            "environment": architecture.environment,
            "mermaid": architecture.mermaid(),
            "nodes": [
                {"id": n.id, "label": n.label, "layer": n.layer, "group": n.group}
                for n in architecture.nodes
            ],
            "edges": [
                {"from": e.source, "to": e.target, "assumed": e.assumed} for e in architecture.edges
            ],
        },
    }
    data["gaps"] = [gap_dict(g) for g in model.gaps]
    return data


PRD_CSV_COLUMNS = (
    "key",
    "kind",
    "item",
    "title",
    "category",
    "severity",
    "priority",
    "owner",
    "eta",
    "week",
    "effort",
    "message",
    "locations",
)


def prd_csv(model: ReportModel) -> str:
    """The gaps of the PRD, one row each."""
    rows = []
    for gap in model.gaps:
        item = gap.item
        rows.append(
            [
                gap.key,
                gap.kind,
                item.id,
                item.title,
                item.category,
                item.severity.value,
                gap.priority,
                gap.owner,
                "" if gap.eta == NONE else gap.eta,
                gap.week,
                EFFORT_NAMES[item.effort],
                item.message,
                " ".join(dict.fromkeys(e.location for e in item.open_evidence if e.location)),
            ]
        )
    return write_csv(PRD_CSV_COLUMNS, rows)


def milestone_order(week: str) -> int:
    return {WEEK_1: 1, WEEK_2: 2, POST_LAUNCH: 3}.get(week, 9)


__all__ = [
    "Criterion",
    "LaunchPhase",
    "go_no_go",
    "launch_checklist",
    "launch_schedule",
    "milestone_order",
    "prd_csv",
    "prd_dict",
    "prd_document",
    "risk_text",
    "security_findings",
]
