"""The Readiness Assessment: the readiness template filled from evidence.

Header, executive summary per category, overall status, blockers, issues,
accepted risks, metrics baseline, sign-off, and how much of it was verified
by evidence rather than attested or unknown. :func:`assessment_document` lays
it out for Markdown, HTML and PDF; :func:`report_dict` is the JSON every
report type starts from (docs/reports.md); :func:`assessment_csv` lists every item.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from prr.engine.status import CategoryStatus, Verdict
from prr.model.evidence import Status
from prr.reports import charts
from prr.reports.model import (
    NONE,
    Badge,
    Code,
    Document,
    Figure,
    Gap,
    ReportItem,
    ReportModel,
    Strong,
    format_value,
    spans,
)
from prr.reports.scan_json import plain

REPORT_SCHEMA = "prr/report/v1"
ISSUE_TEXT_LIMIT = 220

_CATEGORY_TONE = {
    CategoryStatus.READY: "ok",
    CategoryStatus.ISSUES: "warn",
    CategoryStatus.BLOCKED: "bad",
}
_VERDICT_TONE = {Verdict.READY: "ok", Verdict.CONDITIONAL: "warn", Verdict.NOT_READY: "bad"}
_METRIC_TONE = {"ok": "ok", "bad": "bad", "unknown": "warn"}
STATUS_TONE = {"pass": "ok", "fail": "bad", "unknown": "warn", "not_applicable": "none"}
STATUS_LABEL = {"pass": "pass", "fail": "fail", "unknown": "unknown", "not_applicable": "n/a"}


def category_badge(status: CategoryStatus) -> Badge:
    return Badge(status.value, _CATEGORY_TONE[status])


def verdict_badge(value: Verdict) -> Badge:
    return Badge(value.value, _VERDICT_TONE[value])


def status_badge(status: Status) -> Badge:
    return Badge(STATUS_LABEL[status.value], STATUS_TONE[status.value])


def shorten(text: str, limit: int = ISSUE_TEXT_LIMIT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def gap_summary(gap: Gap) -> str:
    """The "Issue" cell: the item and what was found."""
    return shorten(f"{gap.item.title}: {gap.item.message}")


def header_lines(model: ReportModel) -> list[tuple[str, str]]:
    return [
        ("Application", model.service),
        ("Version", model.version),
        ("Assessment Date", model.assessment_date.isoformat()),
        ("Assessor", model.assessor),
    ]


def share_rows(model: ReportModel) -> list[tuple[str, int, float]]:
    share = model.share
    return [
        ("Verified by evidence (checks, drills)", share.verified, share.percent(share.verified)),
        ("Attested (answered by a person)", share.attested, share.percent(share.attested)),
        ("Unknown (no evidence, no answer)", share.unknown, share.percent(share.unknown)),
    ]


def summary_figures(model: ReportModel) -> list[Figure]:
    """The charts of the executive summary (HTML and PDF)."""
    figures = [
        Figure(
            charts.category_status_chart(model.categories),
            "Items per category by status",
            "category-status",
        ),
        Figure(
            charts.evidence_share_chart(model.share),
            "Verified by evidence vs attested vs unknown",
            "evidence-share",
        ),
    ]
    if model.trend:
        figures.append(
            Figure(
                charts.trend_chart(model.trend),
                "Blockers and issues over past scans",
                "trend",
            )
        )
    return figures


def assessment_document(model: ReportModel) -> Document:
    """The Readiness Assessment, section by section as the template has it."""
    doc = Document(f"Production Readiness Assessment — {model.service}")
    doc.heading(2, "Production Readiness Assessment")
    for label, value in header_lines(model):
        doc.para(Strong(f"{label}:"), " ", value)
    doc.rule()
    doc.heading(3, "Executive Summary")
    doc.table(
        ("Category", "Status", "Blockers"),
        [(row.title, category_badge(row.status), str(row.blockers)) for row in model.categories],
    )
    doc.para(Strong("Overall Status:"), " ", verdict_badge(model.verdict))
    for figure in summary_figures(model):
        doc.add(figure)
    doc.rule()
    doc.heading(3, "Blockers (Must Fix Before Launch)")
    if model.blockers:
        doc.table(
            ("ID", "Category", "Issue", "Owner", "ETA"),
            [(g.key, g.item.category, gap_summary(g), g.owner, g.eta) for g in model.blockers],
        )
    else:
        doc.para("None: no critical item is failing.")
    doc.heading(3, "Issues (Should Fix, Can Launch)")
    if model.issues:
        doc.table(
            ("ID", "Category", "Issue", "Owner", "Priority"),
            [(g.key, g.item.category, gap_summary(g), g.owner, g.priority) for g in model.issues],
        )
    else:
        doc.para("None.")
    doc.heading(3, "Risks Accepted")
    if model.risks:
        doc.table(
            ("Risk", "Mitigation", "Accepted By", "Expires"),
            [(r.risk, r.mitigation, r.accepted_by, r.expires or NONE) for r in model.risks],
        )
    else:
        doc.para("None: no open gap is covered by an accepted risk.")
    doc.rule()
    doc.heading(3, "Metrics Baseline")
    doc.table(
        ("Metric", "Target", "Current", "Status"),
        [(m.name, m.target, m.current, Badge("", _METRIC_TONE[m.state])) for m in model.metrics],
    )
    sources = [
        f"{m.name}: target from {m.target_source}"
        + (f", current from {m.current_source}" if m.current_source else "")
        for m in model.metrics
        if m.target_source or m.current_source
    ]
    if sources:
        doc.para("Sources — " + "; ".join(sources) + ".")
    doc.rule()
    doc.heading(3, "Sign-Off")
    doc.table(
        ("Role", "Name", "Approved", "Date"),
        [
            (
                s.role,
                s.name or "",
                {"approve": "☑", "reject": "☒ rejected"}.get(s.decision or "", "☐"),
                s.date.isoformat() if s.date else "",
            )
            for s in model.signoffs
        ],
    )
    doc.rule()
    doc.heading(3, "Evidence")
    doc.table(
        ("Source", "Items", "Share"),
        [(label, str(count), f"{pct:g}%") for label, count, pct in share_rows(model)],
    )
    doc.para(
        f"{model.share.total} checklist items (checklist ",
        Code(model.checklist),
        f", stage {model.stage}); {model.count(Status.PASS)} pass, "
        f"{model.count(Status.FAIL)} fail, {model.count(Status.UNKNOWN)} unknown, "
        f"{model.count(Status.NOT_APPLICABLE)} not applicable.",
    )
    if model.errors:
        doc.heading(3, f"Evidence that could not be read ({len(model.errors)})")
        doc.bullets([spans(Code(e)) for e in model.errors[:50]])
    return doc


# -- JSON and CSV ----------------------------------------------------------------------------


def item_dict(item: ReportItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "category": item.category_id,
        "section": item.section,
        "phase": item.phase,
        "severity": item.severity.value,
        "status": item.status.value,
        "source": item.source.value,
        "evidence_class": item.evidence_class,
        "blocker": item.blocker,
        "issue": item.issue,
        "accepted_risk": item.accepted_risk,
        "message": item.message,
        "evidence": [e.to_dict() for e in item.evidence],
        "fields": plain(item.fields),
        "checks": item.checks,
        "owner": item.owner,
        "eta": item.eta.isoformat() if item.eta else None,
        "notes": item.notes,
        "na_reason": item.na_reason,
    }


def gap_dict(gap: Gap) -> dict[str, Any]:
    item = gap.item
    return {
        "key": gap.key,
        "kind": gap.kind,
        "item": item.id,
        "title": item.title,
        "category": item.category,
        "severity": item.severity.value,
        "status": item.status.value,
        "priority": gap.priority,
        "owner": gap.owner,
        "eta": None if gap.eta == NONE else gap.eta,
        "week": gap.week,
        "effort": item.effort.value,
        "message": item.message,
        "locations": list(dict.fromkeys(e.location for e in item.open_evidence if e.location)),
        "fixes": item.fixes,
        "remediation": list(item.remediation),
        "acceptance_criteria": list(item.acceptance),
        "checks": item.checks,
    }


def report_dict(
    model: ReportModel, report_type: str = "assessment", *, items: bool = True
) -> dict[str, Any]:
    """The JSON of the Readiness Assessment; other report types add their own keys.

    ``items=False`` leaves out the per-item list (runbooks and backlog do not need it).
    """
    data: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "type": report_type,
        "tool": {"name": "prr", "version": model.tool_version},
        "origin": model.origin,
        "review": (
            {"id": model.review_id, "state": model.review_state}
            if model.review_id is not None
            else None
        ),
        "application": {
            "service": model.service,
            "version": model.version,
            "owner": model.owner,
            "tier": model.tier,
            "stage": model.stage,
            "checklist": model.checklist,
            "commit": model.commit,
        },
        "assessment_date": model.assessment_date.isoformat(),
        "assessor": model.assessor,
        "launch_date": model.launch_date.isoformat() if model.launch_date else None,
        "context": plain(model.context),
        "verdict": model.verdict.value,
        "summary": {
            "items": len(model.items),
            "pass": model.count(Status.PASS),
            "fail": model.count(Status.FAIL),
            "unknown": model.count(Status.UNKNOWN),
            "not_applicable": model.count(Status.NOT_APPLICABLE),
            "blockers": len(model.blockers),
            "issues": len(model.issues),
            "accepted_risks": len(model.risks),
        },
        "evidence_share": {
            "verified": model.share.verified,
            "attested": model.share.attested,
            "unknown": model.share.unknown,
            "verified_percent": model.share.percent(model.share.verified),
        },
        "categories": [
            {
                "id": row.id,
                "title": row.title,
                "status": row.status.value,
                "blockers": row.blockers,
                "issues": row.issues,
                "counts": row.counts,
            }
            for row in model.categories
        ],
        "blockers": [gap_dict(g) for g in model.blockers],
        "issues": [gap_dict(g) for g in model.issues],
        "risks_accepted": [
            {
                "item": r.item_id,
                "risk": r.risk,
                "mitigation": r.mitigation,
                "accepted_by": r.accepted_by,
                "expires": r.expires,
            }
            for r in model.risks
        ],
        "metrics": [
            {
                "name": m.name,
                "target": m.target,
                "current": m.current,
                "state": m.state,
                "target_source": m.target_source,
                "current_source": m.current_source,
            }
            for m in model.metrics
        ],
        "signoffs": [
            {
                "role": s.role,
                "name": s.name,
                "decision": s.decision,
                "date": s.date.isoformat() if s.date else None,
                "comment": s.comment,
            }
            for s in model.signoffs
        ],
        "trend": [
            {"date": p.date.isoformat(), "blockers": p.blockers, "issues": p.issues}
            for p in model.trend
        ],
        "items": [item_dict(i) for i in model.items],
        "errors": model.errors,
    }
    if not items:
        del data["items"]
    return data


CSV_COLUMNS = (
    "id",
    "title",
    "category",
    "severity",
    "status",
    "source",
    "blocker",
    "issue",
    "accepted_risk",
    "owner",
    "eta",
    "message",
    "locations",
    "fields",
)


def _csv_safe(value: str) -> str:
    """Neutralise spreadsheet formulas in untrusted text (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def write_csv(header: tuple[str, ...], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_safe(cell) for cell in row])
    return out.getvalue()


def assessment_csv(model: ReportModel) -> str:
    """Every item, one row each."""
    rows = []
    for item in model.items:
        rows.append(
            [
                item.id,
                item.title,
                item.category,
                item.severity.value,
                item.status.value,
                item.source.value,
                str(item.blocker).lower(),
                str(item.issue).lower(),
                str(item.accepted_risk).lower(),
                item.owner or "",
                item.eta.isoformat() if item.eta else "",
                item.message,
                " ".join(dict.fromkeys(e.location for e in item.evidence if e.location)),
                "; ".join(f"{k}={format_value(v)}" for k, v in sorted(item.fields.items())),
            ]
        )
    return write_csv(CSV_COLUMNS, rows)
