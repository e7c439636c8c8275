"""Service level objectives and disaster recovery, from specs and documents.

Availability and latency targets come from SLO specs (OpenSLO, Sloth, Pyrra,
Terraform SLO resources), from sloth's generated ``slo:objective:ratio`` rules,
or from values stated in an SLO document. RTO and RPO are read from the
sentences that state them ("RTO: 4 hours").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from prr.checks.operations.docs import (
    MAX_EVIDENCE,
    best,
    describe,
    doc_item,
    shortfall,
    template,
    unit_evidence,
)
from prr.checks.registry import CheckContext, check
from prr.collectors.docs import DocsFacts, DocUnit, SloObjective, StatedValue, Unreadable
from prr.collectors.observability import ObservabilityFacts
from prr.model.evidence import Evidence, Result

_SLO_SNIPPET = """\
Write the SLO as a spec next to the service, e.g. for sloth (slos/<svc>.yaml):

version: "prometheus/v1"
service: "<svc>"
slos:
  - name: requests-availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="<svc>",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="<svc>"}[{{.window}}]))
    alerting:
      page_alert: {labels: {severity: critical}}
  - name: requests-latency
    objective: 99
    sli:
      events:
        error_query: >-
          sum(rate(http_request_duration_seconds_count{job="<svc>"}[{{.window}}]))
          - sum(rate(http_request_duration_seconds_bucket{job="<svc>",le="0.3"}[{{.window}}]))
        total_query: sum(rate(http_request_duration_seconds_count{job="<svc>"}[{{.window}}]))
"""


def _slo_snippet(docs: DocsFacts) -> str:
    service = next((s.service for s in docs.slos if s.service), "<service>")
    return _SLO_SNIPPET.replace("<svc>", service)


def _slo_evidence(slo: SloObjective) -> Evidence:
    target = f"{slo.target_percent:g}%" if slo.target_percent is not None else "no target"
    extra = f" under {slo.latency_threshold}" if slo.latency_threshold else ""
    return Evidence(
        f"{slo.source} SLO {slo.name!r} ({slo.kind}): {target}{extra}", slo.path, slo.line
    )


def _value_evidence(value: StatedValue) -> Evidence:
    return Evidence(f"{value.kind}: {value.value} — {value.text}", value.path, value.line)


_OBJECTIVE_RULE = re.compile(r"vector\(\s*([\d.]+)\s*\)")


def _availability_targets(
    docs: DocsFacts, obs: ObservabilityFacts
) -> list[tuple[float, str, Evidence]]:
    """(percent, description, evidence) for every availability target found, best source first."""
    found: list[tuple[float, str, Evidence]] = []
    for slo in docs.slos:
        if slo.kind == "availability" and slo.target_percent is not None:
            found.append(
                (
                    slo.target_percent,
                    f"{slo.source} SLO {slo.name!r} at {slo.location}",
                    _slo_evidence(slo),
                )
            )
    for rule in obs.recording_rules:
        match = _OBJECTIVE_RULE.search(rule.expr)
        labels = " ".join(v for _, v in rule.labels).lower()
        if rule.record == "slo:objective:ratio" and match and "latency" not in labels:
            ratio = float(match.group(1))
            if 0 < ratio <= 1:
                where = f"{rule.path}:{rule.line}" if rule.line else rule.path
                found.append(
                    (
                        round(ratio * 100, 4),
                        f"recording rule slo:objective:ratio at {where}",
                        Evidence(f"slo:objective:ratio = {ratio:g}", rule.path, rule.line),
                    )
                )
    for stated in docs.values_of("availability"):
        if isinstance(stated.value, float):
            found.append((stated.value, f"stated at {stated.location}", _value_evidence(stated)))
    return found


@check(
    "reliability.slo-targets",
    items=[
        "reliability.sla-slo.availability-target-defined",
        "reliability.sla-slo.latency-targets-defined",
        "reliability.sla-slo.error-budget-defined",
    ],
    needs=[DocsFacts, ObservabilityFacts],
)
def slo_targets(ctx: CheckContext) -> Iterator[Result]:
    """Availability and latency objectives are stated; the error budget is tracked and governed."""
    docs = ctx.get(DocsFacts)
    obs = ctx.get(ObservabilityFacts)
    problems = docs.unreadable_of("slo")
    slo_docs = [u for u in docs.of("slo") if not u.stub]
    stubs = [u for u in docs.of("slo") if u.stub]
    targets = _availability_targets(docs, obs)
    evidence_exists = bool(docs.slos or slo_docs or stubs or targets)
    if not evidence_exists and not problems:
        return
    yield from _availability(ctx, docs, targets, slo_docs + stubs, problems)
    yield from _latency(ctx, docs, slo_docs + stubs, problems)
    yield from _error_budget(ctx, docs, obs, targets)


def _availability(
    ctx: CheckContext,
    docs: DocsFacts,
    targets: list[tuple[float, str, Evidence]],
    units: list[DocUnit],
    problems: list[Unreadable],
) -> Iterator[Result]:
    item = "reliability.sla-slo.availability-target-defined"
    if targets:
        percent, where, _ = targets[0]
        others = sorted({t[0] for t in targets[1:]} - {percent})
        yield ctx.passed(
            item,
            f"Availability target {percent:g}% ({where})"
            + (f"; other stated targets: {', '.join(f'{o:g}%' for o in others)}" if others else ""),
            *(t[2] for t in targets[:MAX_EVIDENCE]),
            fields={"availability_target": percent},
        )
        return
    if problems:
        yield ctx.unknown(
            item,
            "SLO specs could not be read: "
            + "; ".join(f"{p.path}: {p.reason}" for p in problems[:3]),
            *(Evidence(p.reason, p.path, p.line) for p in problems[:MAX_EVIDENCE]),
        )
        return
    evidence = [_slo_evidence(s) for s in docs.slos] + [unit_evidence(u) for u in units]
    described = [f"{s.source} SLO {s.name!r} ({s.kind}) at {s.location}" for s in docs.slos] + [
        describe(u) for u in units
    ]
    yield ctx.failed(
        item,
        "No availability target: the SLO evidence found ("
        + "; ".join(described[:4])
        + ") states no availability percentage",
        *evidence[:MAX_EVIDENCE],
        remediation=_slo_snippet(docs),
    )


_PERCENTILES = {50.0: "p50", 95.0: "p95", 99.0: "p99"}


def _latency(
    ctx: CheckContext, docs: DocsFacts, units: list[DocUnit], problems: list[Unreadable]
) -> Iterator[Result]:
    item = "reliability.sla-slo.latency-targets-defined"
    fields: dict[str, str] = {}
    evidence: list[Evidence] = []
    described: list[str] = []
    for slo in docs.slos:
        if slo.kind != "latency":
            continue
        evidence.append(_slo_evidence(slo))
        if slo.latency_threshold and slo.target_percent is not None:
            key = _PERCENTILES.get(slo.target_percent)
            if key:
                fields.setdefault(key, slo.latency_threshold)
            described.append(
                f"{slo.target_percent:g}% of requests under {slo.latency_threshold} "
                f"({slo.source} SLO {slo.name!r}, {slo.location})"
            )
        else:
            described.append(f"{slo.source} latency SLO {slo.name!r} at {slo.location}")
    for value in docs.values_of("p50", "p90", "p95", "p99", "p99.9"):
        if isinstance(value.value, str):
            if value.kind in {"p50", "p95", "p99"}:
                fields.setdefault(value.kind, value.value)
            evidence.append(_value_evidence(value))
            described.append(f"{value.kind} {value.value} ({value.location})")
    if described:
        yield ctx.passed(
            item,
            "Latency objectives: " + "; ".join(list(dict.fromkeys(described))[:5]),
            *evidence[:MAX_EVIDENCE],
            fields=fields,
        )
        return
    if problems:
        yield ctx.unknown(
            item,
            "SLO specs could not be read: "
            + "; ".join(f"{p.path}: {p.reason}" for p in problems[:3]),
            *(Evidence(p.reason, p.path, p.line) for p in problems[:MAX_EVIDENCE]),
        )
        return
    where = [_slo_evidence(s) for s in docs.slos] + [unit_evidence(u) for u in units]
    yield ctx.failed(
        item,
        "No latency objective: the SLOs found ("
        + "; ".join(
            [f"{s.name!r} ({s.kind}) at {s.location}" for s in docs.slos]
            + [describe(u) for u in units]
        )[:300]
        + ") state no p50/p95/p99 target",
        *where[:MAX_EVIDENCE],
        remediation=_slo_snippet(docs),
    )


def _error_budget(
    ctx: CheckContext,
    docs: DocsFacts,
    obs: ObservabilityFacts,
    targets: list[tuple[float, str, Evidence]],
) -> Iterator[Result]:
    item = "reliability.sla-slo.error-budget-defined"
    if not targets:
        return
    percent, where, target_evidence = targets[0]
    budget = round(100 - percent, 6)
    tracking: list[Evidence] = []
    tracked_by: list[str] = []
    burn = [a for a in obs.alerts if "slo-burn" in a.classes]
    rules = [r for r in obs.recording_rules if r.slo]
    pyrra = [s for s in docs.slos if s.source == "pyrra"]
    boards = [d for d in obs.dashboards if d.slo]
    if burn:
        tracked_by.append(f"burn-rate alert {burn[0].name} ({burn[0].location})")
        tracking.append(Evidence(f"burn-rate alert {burn[0].name}", burn[0].path, burn[0].line))
    if rules:
        tracked_by.append(f"{len(rules)} SLO recording rule(s) ({rules[0].path})")
        tracking.append(
            Evidence(f"SLO recording rule {rules[0].record}", rules[0].path, rules[0].line)
        )
    if pyrra:
        tracked_by.append(f"Pyrra SLO {pyrra[0].name!r}")
        tracking.append(_slo_evidence(pyrra[0]))
    if boards:
        tracked_by.append(f"dashboard {boards[0].title!r}")
        tracking.append(
            Evidence(f"SLO dashboard {boards[0].title!r}", boards[0].path, boards[0].line)
        )
    policies = best(docs.of("error-budget-policy"))
    policy = next((u for u in policies if u.substantive), None)
    fields = {"error_budget": budget}
    if tracked_by and policy:
        yield ctx.passed(
            item,
            f"Error budget {budget:g}% (target {percent:g}%, {where}); consumption tracked by "
            f"{'; '.join(tracked_by[:3])}; policy at {describe(policy)}",
            target_evidence,
            *tracking[:4],
            unit_evidence(policy),
            fields=fields,
        )
        return
    missing = []
    if not tracked_by:
        missing.append(
            "its consumption is not tracked (no burn-rate alert, SLO recording rule or SLO "
            "dashboard)"
        )
    if policy is None and policies:
        missing.append(f"the error budget policy {describe(policies[0])} {shortfall(policies[0])}")
    elif policy is None:
        missing.append("no written policy says what happens when it is spent")
    yield ctx.failed(
        item,
        f"Error budget {budget:g}% follows from the {percent:g}% target ({where}), but "
        + " and ".join(missing),
        target_evidence,
        *tracking[:4],
        *(unit_evidence(u) for u in policies[:2]),
        remediation=template("error-budget-policy", docs)
        if policy is None
        else (
            "Generate burn-rate alerts and recording rules from the SLO (e.g. `sloth generate -i "
            "slos/<service>.yaml -o prometheus/slo-rules.yaml`) and load them into Prometheus."
        ),
        fields=fields,
    )


# ---------------------------------------------------------- disaster recovery


@check(
    "reliability.disaster-recovery-docs",
    items=[
        "reliability.disaster-recovery.dr-plan-documented",
        "reliability.disaster-recovery.rto-defined",
        "reliability.disaster-recovery.rpo-defined",
        "reliability.disaster-recovery.failover-procedure-documented",
    ],
    needs=[DocsFacts],
)
def disaster_recovery(ctx: CheckContext) -> Iterator[Result]:
    """The DR plan is written, states RTO and RPO, and failover has step-by-step procedures."""
    docs = ctx.get(DocsFacts)
    plans = best(docs.of("dr-plan"))
    yield from doc_item(
        ctx, "reliability.disaster-recovery.dr-plan-documented", docs, "dr-plan", "DR plan"
    )
    yield from _objective(
        ctx, docs, "rto", "reliability.disaster-recovery.rto-defined", "rto_target", plans
    )
    yield from _objective(
        ctx, docs, "rpo", "reliability.disaster-recovery.rpo-defined", "rpo_target", plans
    )
    yield from doc_item(
        ctx,
        "reliability.disaster-recovery.failover-procedure-documented",
        docs,
        "failover",
        "Failover procedure",
        context=[p for p in plans if not p.stub] or None,
    )


_OBJECTIVE_NAMES = {"rto": "RTO (recovery time objective)", "rpo": "RPO (recovery point objective)"}


def _objective(
    ctx: CheckContext,
    docs: DocsFacts,
    kind: str,
    item: str,
    field: str,
    plans: list[DocUnit],
) -> Iterator[Result]:
    values = docs.values_of(kind)
    stated = [v for v in values if isinstance(v.value, str)]
    name = _OBJECTIVE_NAMES[kind]
    if stated:
        first = stated[0]
        others = sorted({str(v.value) for v in stated[1:]} - {str(first.value)})
        yield ctx.passed(
            item,
            f"{kind.upper()} {first.value} stated at {first.location}"
            + (f"; elsewhere also {', '.join(others)}" if others else ""),
            *(_value_evidence(v) for v in stated[:MAX_EVIDENCE]),
            fields={field: first.value},
        )
        return
    problems = docs.unreadable_of("dr-plan")
    if problems:
        yield ctx.unknown(
            item,
            "DR plan could not be read: " + ", ".join(p.path for p in problems[:3]),
            *(Evidence(p.reason, p.path, p.line) for p in problems[:MAX_EVIDENCE]),
        )
        return
    remediation = (
        f"State the {name} as a duration agreed with the business in "
        f"{plans[0].path if plans else 'the DR plan'}, e.g. '{kind.upper()}: "
        f"{'4 hours' if kind == 'rto' else '15 minutes'}', and check the backups or replication "
        "meet it."
    )
    if values:
        yield ctx.failed(
            item,
            f"{kind.upper()} is named without a duration: "
            + "; ".join(f"{v.text!r} ({v.location})" for v in values[:3]),
            *(_value_evidence(v) for v in values[:MAX_EVIDENCE]),
            remediation=remediation,
        )
        return
    if plans:
        yield ctx.failed(
            item,
            f"The DR plan {describe(plans[0])} states no {name}",
            unit_evidence(plans[0]),
            remediation=remediation,
        )
