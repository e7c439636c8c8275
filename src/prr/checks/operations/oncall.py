"""On-call: the rotation that carries the pager, and the tools that page it.

A rotation counts when it is written down with a schedule (an on-call guide's
rotation section, or a schedule kept as code with members and a shift length)
*and* pages escalate; a file called ``on-call.md`` proves neither. Paging tools
count when the catalog links the service to one, or when Alertmanager sends
critical alerts to a PagerDuty/Opsgenie receiver whose key comes from a Secret
or a file — a key written into the configuration is a leaked credential, not a
set-up.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from prr.checks.operations.docs import (
    MAX_EVIDENCE,
    best,
    describe,
    escalation_evidence,
    shortfall,
    template,
    unit_evidence,
)
from prr.checks.registry import CheckContext, check
from prr.collectors.base import MissingFacts
from prr.collectors.catalog import CatalogFacts
from prr.collectors.docs import DocsFacts, DocUnit
from prr.collectors.observability import (
    AlertmanagerConfig,
    ObservabilityFacts,
    OnCallSchedule,
    Receiver,
    Route,
    integration_class,
)
from prr.model.evidence import Evidence, Result

ROTATION = "operations.on-call.on-call-rotation-defined"
TOOLS = "operations.on-call.on-call-tools-configured"

T = TypeVar("T")


def _optional(ctx: CheckContext, facts_type: type[T]) -> T | None:
    """Facts that only add evidence: their absence must not silence the check."""
    try:
        return ctx.get(facts_type)
    except MissingFacts:
        return None


# ------------------------------------------------------------- alert routing

_SEVERITY_LABELS = ("severity", "priority", "urgency", "level")
_URGENT = re.compile(r"critical|page|paging|pager|urgent|emergency|^p[01]$|^sev-?[01]$")
_MATCHER = re.compile(r'^([\w.]+)(=~|!~|!=|=)"?(.*?)"?$')


def _matches(route: Route, labels: dict[str, str]) -> bool | None:
    """True when ``labels`` surely match the route, False when surely not, None when the
    route also matches on labels the alert is not known to carry (team, namespace …)."""
    sure = True
    for matcher in route.matchers:
        parsed = _MATCHER.match(matcher)
        if parsed is None:
            sure = False
            continue
        name, op, value = parsed.groups()
        if name not in labels:
            sure = False
            continue
        actual = labels[name]
        if op in {"=~", "!~"}:
            try:
                hit = re.fullmatch(value, actual) is not None
            except re.error:
                sure = False
                continue
            ok = hit if op == "=~" else not hit
        else:
            ok = (actual == value) if op == "=" else (actual != value)
        if not ok:
            return False
    return True if sure else None


def receivers_reached(config: AlertmanagerConfig, labels: dict[str, str]) -> set[str]:
    """Receivers an alert with ``labels`` may reach, walking the route tree as Alertmanager
    does (first match wins unless ``continue``; a parent only gets unmatched alerts)."""
    routes = config.routes
    if not routes:
        return set()
    children: dict[int, list[int]] = {i: [] for i in range(len(routes))}
    stack: list[int] = []
    for index, route in enumerate(routes):
        while stack and routes[stack[-1]].depth >= route.depth:
            stack.pop()
        if stack:
            children[stack[-1]].append(index)
        stack.append(index)
    reached: set[str] = set()

    def visit(index: int) -> None:
        surely_taken = False
        for child in children[index]:
            match = _matches(routes[child], labels)
            if match is False:
                continue
            visit(child)
            if match:
                surely_taken = True
                if not routes[child].continue_matching:
                    break
        if not surely_taken and routes[index].effective_receiver:
            reached.add(str(routes[index].effective_receiver))

    visit(0)
    return reached


def urgent_severities(obs: ObservabilityFacts) -> list[str]:
    """``critical`` plus the paging severities the alert rules use (``page``, ``P1`` …)."""
    found = {"critical"}
    found |= {a.severity for a in obs.alerts if a.severity and _URGENT.search(a.severity.lower())}
    return sorted(found)


@dataclass(frozen=True)
class PagingReceiver:
    """A receiver with a paging integration, and whether urgent alerts reach it."""

    config: AlertmanagerConfig
    receiver: Receiver
    urgent: tuple[str, ...]
    """The urgent severities routed to it."""

    @property
    def kinds(self) -> list[str]:
        return [i for i in self.receiver.integrations if integration_class(i) == "paging"]

    @property
    def literal(self) -> bool:
        return "literal" in self.receiver.paging_keys

    @property
    def keyless(self) -> bool:
        return "none" in self.receiver.paging_keys

    def describe(self) -> str:
        keys = ", ".join(sorted(set(self.receiver.paging_keys))) or "url"
        routed = f"routed for {'/'.join(self.urgent)} alerts" if self.urgent else "no urgent alert"
        return f"receiver {self.receiver.name} ({'/'.join(self.kinds)}, key: {keys}, {routed})"

    def evidence(self) -> Evidence:
        return Evidence(
            f"paging {self.describe()}", self.config.path, self.receiver.line or self.config.line
        )


def paging_receivers(obs: ObservabilityFacts) -> list[PagingReceiver]:
    """Every receiver with a paging integration, with the urgent severities that reach it."""
    severities = urgent_severities(obs)
    out: list[PagingReceiver] = []
    for config in obs.alertmanagers:
        reached = {
            severity: receivers_reached(config, {label: severity for label in _SEVERITY_LABELS})
            for severity in severities
        }
        for receiver in config.receivers:
            if not any(integration_class(i) == "paging" for i in receiver.integrations):
                continue
            urgent = tuple(s for s in severities if receiver.name in reached[s])
            out.append(PagingReceiver(config, receiver, urgent))
    return out


_AM_SNIPPET = (
    "receivers:\n  - name: <team>-pager\n    pagerduty_configs:\n"
    "      - routing_key_file: /etc/alertmanager/secrets/pagerduty-routing-key\n"
    "route:\n  routes:\n    - matchers: ['severity=\"critical\"']\n"
    "      receiver: <team>-pager\n      continue: true\n\n"
    "(in an AlertmanagerConfig: pagerdutyConfigs: [{routingKey: {name: <secret>, key: <key>}}])"
)


# ------------------------------------------------------------------ on-call tools


@check("operations.oncall-tools", items=[TOOLS], needs=[ObservabilityFacts])
def oncall_tools(ctx: CheckContext) -> Iterator[Result]:
    """Critical alerts page through a paging tool wired by reference, or the catalog links one."""
    obs = ctx.get(ObservabilityFacts)
    catalog = _optional(ctx, CatalogFacts)
    receivers = paging_receivers(obs)
    leaked = [r for r in receivers if r.literal]
    if leaked:
        first = leaked[0]
        yield ctx.failed(
            TOOLS,
            "Paging key written into the Alertmanager configuration: "
            + "; ".join(f"{r.describe()} in {r.config.path}" for r in leaked[:3])
            + ". Anyone who can read the repository can page (or silence) the rotation.",
            *(r.evidence() for r in leaked[:MAX_EVIDENCE]),
            remediation=(
                f"In {first.config.path}, revoke the key in the paging tool, then read the new "
                "one from a mounted file or a Secret:\n\n" + _AM_SNIPPET
            ),
        )
        return
    good = [r for r in receivers if r.urgent and not r.keyless]
    links = catalog.oncall if catalog is not None and catalog.present else {}
    integrations = [
        s
        for s in obs.signals_of("paging")
        if s.name.split(".", 1)[0].endswith(("_integration", "_service_integration"))
    ]
    if good or (not receivers and (links or integrations)):
        parts = [f"{r.describe()} in {r.config.path}" for r in good[:3]]
        if links and catalog is not None:
            parts.append(f"catalog entry links paging: {', '.join(sorted(links))}")
        parts += [f"{s.name} ({s.location})" for s in integrations[:2]]
        evidence = [r.evidence() for r in good[:MAX_EVIDENCE]]
        if links and catalog is not None:
            evidence.append(Evidence(f"annotations {', '.join(sorted(links))}", catalog.path))
        evidence += [Evidence(f"paging: {s.name}", s.path, s.line) for s in integrations[:2]]
        yield ctx.passed(
            TOOLS, "Alerts reach the on-call paging tool: " + "; ".join(parts), *evidence
        )
        return
    if receivers:
        # Alertmanager shows where alerts go: a pager they do not reach is not set up,
        # whatever the catalog links.
        first = receivers[0]
        problem = (
            "has no routing/service key"
            if first.keyless
            else "is not routed for " + "/".join(urgent_severities(obs)) + " alerts"
        )
        yield ctx.failed(
            TOOLS,
            f"Paging receiver {first.receiver.name!r} in {first.config.path} {problem}; "
            "critical alerts do not reach the on-call engineer's phone",
            *(r.evidence() for r in receivers[:MAX_EVIDENCE]),
            remediation=f"In {first.config.path}:\n\n" + _AM_SNIPPET,
        )
        return
    problems = obs.unreadable_of("alertmanager")
    if problems:
        yield ctx.unknown(
            TOOLS,
            "Alertmanager configuration could not be read: "
            + "; ".join(f"{p.path}: {p.reason}" for p in problems[:3]),
            *(Evidence(p.reason, p.path, p.line) for p in problems[:MAX_EVIDENCE]),
        )
        return
    configs = obs.alertmanagers
    if configs:
        kinds = sorted({i for c in configs for r in c.receivers for i in r.integrations})
        yield ctx.failed(
            TOOLS,
            f"No paging tool: Alertmanager sends alerts only to {', '.join(kinds) or 'nothing'} "
            f"({', '.join(c.path for c in configs[:3])})",
            *(Evidence("receivers without a paging tool", c.path, c.line) for c in configs[:4]),
            remediation=f"In {configs[0].path}, add a paging receiver:\n\n" + _AM_SNIPPET,
        )
        return
    if catalog is not None and catalog.present:
        yield ctx.failed(
            TOOLS,
            "the catalog entry has no paging-tool annotation and no Alertmanager receiver "
            "pages: alerts cannot reach an on-call service",
            Evidence("no pagerduty.com/ or opsgenie.com/ annotation", catalog.path),
            remediation=(
                f"Add the paging integration to {catalog.path}:\n"
                "metadata:\n  annotations:\n    pagerduty.com/service-id: <PagerDuty service id>"
            ),
        )


# --------------------------------------------------------------- on-call rotation


def _schedule_evidence(schedule: OnCallSchedule) -> Evidence:
    what = f"{schedule.members} member(s)" if schedule.members else "no members here"
    shift = f", shift {schedule.shift}" if schedule.shift else ""
    layers = f", {schedule.layers} layer(s)" if schedule.layers > 1 else ""
    return Evidence(
        f"{schedule.tool} schedule {schedule.name}: {what}{shift}{layers}",
        schedule.path,
        schedule.line,
    )


def _references(
    obs: ObservabilityFacts, catalog: CatalogFacts | None
) -> tuple[list[str], list[Evidence]]:
    """Schedules named elsewhere (catalog, Opsgenie responders, schedules without members)."""
    shown: list[str] = []
    evidence: list[Evidence] = []
    if catalog is not None and catalog.present:
        for ref in catalog.schedules:
            shown.append(f"catalog {ref}")
            evidence.append(Evidence(f"schedule reference: {ref}", catalog.path))
    for config in obs.alertmanagers:
        for receiver in config.receivers:
            for name in receiver.schedules:
                shown.append(f"Opsgenie schedule {name!r} (receiver {receiver.name})")
                evidence.append(Evidence(f"responder schedule {name}", config.path, receiver.line))
    for schedule in obs.schedules:
        if not schedule.members and not schedule.shift:
            shown.append(f"{schedule.name} ({schedule.location})")
            evidence.append(_schedule_evidence(schedule))
    return shown, evidence


def _escalations(
    docs: DocsFacts, obs: ObservabilityFacts, rotation: Sequence[DocUnit]
) -> tuple[list[str], list[Evidence]]:
    good, shows, _, _ = escalation_evidence(docs, obs)
    for config in obs.alertmanagers:
        for receiver in config.receivers:
            for name in receiver.escalations:
                shows.append(f"Opsgenie escalation {name!r} (receiver {receiver.name})")
                good.append(Evidence(f"responder escalation {name}", config.path, receiver.line))
    for unit in rotation:
        if "escalation" in unit.topics:
            shows.append(f"the rotation at {describe(unit)} names its escalation policy")
            good.append(unit_evidence(unit))
    return shows, good


@check(
    "operations.oncall-rotation",
    items=[ROTATION],
    needs=[DocsFacts, ObservabilityFacts],
)
def oncall_rotation(ctx: CheckContext) -> Iterator[Result]:
    """A rotation is written down with its schedule (or kept as code), and pages escalate.

    Never decided by a file name: the rotation text must state a cadence (weekly
    shifts, hand-over day and time …) and who takes turns; a schedule as code must
    list members and a shift length. Otherwise the item stays unknown — a person
    answers it from the paging tool.
    """
    docs = ctx.get(DocsFacts)
    obs = ctx.get(ObservabilityFacts)
    catalog = _optional(ctx, CatalogFacts)
    units = best(docs.of("on-call-rotation"))
    documented = [u for u in units if u.substantive]
    as_code = [s for s in obs.schedules if s.rotates]
    references, reference_evidence = _references(obs, catalog)
    escalation, escalation_ev = _escalations(docs, obs, documented)
    rotation_ev = [unit_evidence(u) for u in documented[:3]]
    rotation_ev += [_schedule_evidence(s) for s in as_code[:3]]
    if documented or as_code:
        rotation = [f"{describe(u)} ({', '.join(sorted(u.topics))})" for u in documented[:2]] + [
            f"{s.name} at {s.location} ({s.members} member(s), {s.shift})" for s in as_code[:2]
        ]
        if escalation:
            yield ctx.passed(
                ROTATION,
                "On-call rotation: "
                + "; ".join(rotation)
                + (f"; referenced: {', '.join(references[:2])}" if references else "")
                + "; escalation: "
                + "; ".join(escalation[:2]),
                *rotation_ev,
                *escalation_ev[:3],
                *reference_evidence[:2],
            )
            return
        yield ctx.unknown(
            ROTATION,
            "A rotation is described ("
            + "; ".join(rotation)
            + ") but no escalation is: nothing shows who is paged when the on-call engineer "
            "does not acknowledge",
            *rotation_ev,
            remediation=template("escalation", docs),
        )
        return
    problems = docs.unreadable_of("on-call", "on-call-rotation") + obs.unreadable_of("schedule")
    if problems:
        yield ctx.unknown(
            ROTATION,
            "On-call documents or schedules could not be read: "
            + "; ".join(f"{p.path}: {p.reason}" for p in problems[:3]),
            *(Evidence(p.reason, p.path, p.line) for p in problems[:MAX_EVIDENCE]),
        )
        return
    thin = [u for u in units if not u.substantive]
    partial = [s for s in obs.schedules if not s.rotates and (s.members or s.shift)]
    if thin or partial or references:
        reasons = [f"{describe(u)} {shortfall(u)}" for u in thin[:2]]
        reasons += [
            f"{s.name} at {s.location} lists "
            + (f"{s.members} member(s) but no shift length" if s.members else "no members")
            for s in partial[:2]
        ]
        if references:
            reasons.append(
                "schedules are referenced ("
                + ", ".join(references[:3])
                + ") but their members and shifts are not visible here"
            )
        yield ctx.unknown(
            ROTATION,
            "The on-call rotation cannot be verified: " + "; ".join(reasons),
            *(unit_evidence(u) for u in thin[:3]),
            *(_schedule_evidence(s) for s in partial[:3]),
            *reference_evidence[:4],
            remediation=template("on-call", docs),
        )
