"""Monitoring and alerting as they actually run: live Prometheus and Alertmanager.

Files say which rules and routes were intended; these checks read what each
environment's Prometheus has loaded and scrapes, and where its Alertmanager
really sends the service's alerts. Each runs once per environment. An
environment without a Prometheus/Alertmanager gets no opinion; one whose server
could not be read gets ``unknown`` with the reason, never a pass.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from prr.checks.operations.docs import PAGING_SEVERITIES
from prr.checks.registry import CheckContext, check
from prr.collectors.live.alertmanager import AlertmanagerFacts, Receiver, Route, Silence
from prr.collectors.live.prometheus import LoadedRule, PrometheusFacts
from prr.model.evidence import Evidence, Result
from prr.model.fields import format_duration

APP = "reliability.monitoring.application-metrics-collected"
INFRA = "reliability.monitoring.infrastructure-metrics-collected"
ERROR_RATE = "reliability.alerting.error-rate-alerts"
LATENCY = "reliability.alerting.latency-alerts"
SATURATION = "reliability.alerting.resource-utilization-alerts"
AVAILABILITY = "reliability.alerting.availability-alerts"
ROUTING = "reliability.alerting.alert-routing-configured"
PAGING = "reliability.alerting.pagerduty-opsgenie-setup"
ESCALATION = "reliability.alerting.escalation-policies-defined"
AVAILABILITY_TARGET = "reliability.sla-slo.availability-target-defined"
MAX_EVIDENCE = 8
LONG_SILENCE = dt.timedelta(days=7)

Facts = PrometheusFacts | AlertmanagerFacts


# ------------------------------------------------------------------- evidence


def _asked(facts: Facts, part: str, summary: str, value: Any = None) -> Evidence:
    """Evidence of one read: what was asked (URL, query), when, and what answered."""
    asked = facts.request_of(part).removeprefix("GET ")
    url, _, query = asked.partition("?")
    return Evidence(
        f"{summary} (read {facts.read_at})",
        url=url or facts.url,
        query=unquote_plus(query) or None,
        value=value,
    )


def _could_not_read(ctx: CheckContext, item: str, facts: Facts, part: str, what: str) -> Result:
    reason = facts.problem(part) or "not read"
    return ctx.unknown(
        item,
        f"{what} could not be read from {facts.url}: {reason}",
        _asked(facts, part, f"could not read: {reason}"),
    )


def _selector_note(p: PrometheusFacts | AlertmanagerFacts) -> str:
    if p.selector_defaulted:
        return f" (no selector in prr.yaml; assumed {p.selector})"
    return ""


def _service(p: PrometheusFacts) -> str:
    value = next((m.value for m in p.matchers if m.op == "="), "service")
    return value


def _camel(name: str) -> str:
    return "".join(part.title() for part in re.split(r"[^A-Za-z0-9]+", name) if part) or "Service"


def _inner(p: PrometheusFacts, *extra: str) -> str:
    return ",".join([*(str(m) for m in p.matchers), *extra])


def _firing(p: PrometheusFacts) -> tuple[str, list[Evidence]]:
    """A message note and evidence for the service's alerts pending or firing right now."""
    if p.problem("alerts") or not p.alerts:
        return "", []
    firing = [a for a in p.alerts if a.state == "firing"]
    shown = ", ".join(
        f"{a.name} ({dict(a.labels).get('severity', 'no severity')}, {a.state})"
        for a in p.alerts[:4]
    )
    note = f"; {len(firing)} alert(s) firing and {len(p.alerts) - len(firing)} pending now: {shown}"
    evidence = [
        _asked(
            p,
            "alerts",
            f"alert {a.name} {a.state} since {a.active_at or '?'}",
            {"labels": dict(a.labels), "value": a.value},
        )
        for a in p.alerts[:4]
    ]
    return note, evidence


# ------------------------------------------------------------------- metrics


@check(
    "live.monitoring.prometheus-metrics",
    items=[APP, INFRA],
    needs=[PrometheusFacts],
    scope="environment",
)
def prometheus_metrics(ctx: CheckContext) -> Iterator[Result]:
    """Prometheus scrapes every target of the service and stores its RED and resource metrics."""
    p = ctx.get(PrometheusFacts)
    if not p.configured:
        return
    yield _application(ctx, p)
    yield _infrastructure(ctx, p)


def _target_evidence(p: PrometheusFacts) -> Evidence:
    shown = "; ".join(f"{t.instance} {t.health}" for t in p.targets[:6]) or "none"
    return _asked(
        p,
        "targets",
        f"{len(p.targets)} active target(s) match {p.selector}: {shown}",
        [
            {
                "job": t.job,
                "instance": t.instance,
                "health": t.health,
                "last_error": t.last_error,
                "scrape_interval": t.scrape_interval,
                "last_scrape": t.last_scrape,
            }
            for t in p.targets[:20]
        ],
    )


def _scrape_note(p: PrometheusFacts) -> tuple[str, list[Evidence]]:
    if p.problem("uptime") or not p.scrape_success:
        return "", []
    gaps = [(i, s) for i, s in p.scrape_success if s < 0.99]
    note = (
        "; scrape success over the last day: "
        + ", ".join(f"{i or '?'} {s * 100:.1f}%" for i, s in gaps[:4])
        if gaps
        else ""
    )
    evidence = _asked(
        p,
        "uptime",
        "share of successful scrapes per instance over the last day",
        dict(p.scrape_success),
    )
    return note, [evidence]


def _application(ctx: CheckContext, p: PrometheusFacts) -> Result:
    for part in ("targets", "metrics"):
        if p.problem(part):
            return _could_not_read(ctx, APP, p, part, f"The scrape {part} of {p.selector}")
    targets = p.targets
    firing_note, firing = _firing(p)
    scrape_note, scrape = _scrape_note(p)
    service = _service(p)
    if not targets:
        return ctx.failed(
            APP,
            f"No active scrape target matches {p.selector}{_selector_note(p)} in {p.url}: "
            "Prometheus does not collect the service's metrics",
            _target_evidence(p),
            remediation=(
                "Register the service's /metrics endpoint with Prometheus, e.g. in "
                f"prometheus.yml:\n\nscrape_configs:\n  - job_name: {service}\n"
                "    kubernetes_sd_configs: [{role: pod}]\n    relabel_configs:\n"
                "      - source_labels: [__meta_kubernetes_pod_label_app]\n"
                f"        regex: {service}\n        action: keep\n\n"
                "or a ServiceMonitor/PodMonitor selecting its pods, so that "
                f"up{{{_inner(p)}}} has a series per instance."
            ),
        )
    down = [t for t in targets if t.health != "up"]
    if down:
        shown = "; ".join(
            f"{t.instance} ({t.health}: {t.last_error or 'no error reported'})" for t in down[:4]
        )
        return ctx.failed(
            APP,
            f"{len(down)} of {len(targets)} scrape target(s) of {p.selector} are not up: {shown}"
            + scrape_note
            + firing_note,
            _target_evidence(p),
            *scrape,
            *firing,
            remediation=(
                f"Make each instance answer on its scrape URL (e.g. curl -s {down[0].scrape_url}"
                " from the Prometheus host), fix the network policy or port in the scrape "
                "config, or remove the stale target; then up"
                f"{{{_inner(p)}}} must be 1 for every instance."
            ),
        )
    counters = p.request_counters
    labelled = [(c, p.status_labels(c)) for c in counters if p.status_labels(c)]
    if counters and not labelled and p.problem("series"):
        return _could_not_read(ctx, APP, p, "series", f"The labels of {counters[0]}")
    latency = p.latency_metrics
    metrics = _asked(
        p,
        "metrics",
        f"{len(p.metric_names)} metric name(s) stored for {p.selector}",
        {
            "request_counters": {c: list(dict(p.metric_labels).get(c, ())) for c in counters[:5]},
            "latency": latency[:5],
        },
    )
    missing = []
    if not counters:
        missing.append("request counter (e.g. http_requests_total)")
    elif not labelled:
        missing.append(f"status/code label on {', '.join(counters[:3])}")
    if not latency:
        missing.append("latency histogram (e.g. http_request_duration_seconds_bucket)")
    if missing:
        return ctx.failed(
            APP,
            f"{len(targets)} target(s) of {p.selector} are up, but the service exposes no "
            + " and no ".join(missing)
            + firing_note,
            _target_evidence(p),
            metrics,
            *firing,
            remediation=(
                "Instrument the request handler with RED metrics, e.g. with prometheus_client:\n\n"
                "REQUESTS = Counter('http_requests_total', 'Requests', ['method', 'route', "
                "'code'])\nLATENCY = Histogram('http_request_duration_seconds', 'Latency', "
                "['method', 'route'])\n\n(or the framework's exporter: "
                "prometheus-fastapi-instrumentator, micrometer, promhttp …)"
            ),
        )
    counter, labels = labelled[0]
    intervals = sorted({t.scrape_interval for t in targets if t.scrape_interval})
    return ctx.passed(
        APP,
        f"{len(targets)} target(s) of {p.selector} up"
        + (f", scraped every {'/'.join(intervals)}" if intervals else "")
        + f"; requests {counter}{{{','.join(labels)}}} and latency {latency[0]} are stored"
        + scrape_note
        + firing_note,
        _target_evidence(p),
        metrics,
        *scrape,
        *firing,
    )


_PLACEMENT = frozenset({"namespace", "pod", "container"})


def _infrastructure(ctx: CheckContext, p: PrometheusFacts) -> Result:
    if p.problem("metrics"):
        return _could_not_read(ctx, INFRA, p, "metrics", f"The metric names of {p.selector}")
    kinds = p.infra
    not_seen = [k for k in ("cpu", "memory", "network", "disk", "restarts") if k not in kinds]
    evidence = _asked(
        p,
        "metrics",
        f"resource metrics stored for {p.selector}: "
        + (", ".join(f"{k} ({v[0]})" for k, v in kinds.items()) or "none"),
        {k: v[:5] for k, v in kinds.items()},
    )
    if "cpu" in kinds and "memory" in kinds:
        return ctx.passed(
            INFRA,
            f"CPU and memory of {p.selector} are collected ("
            + ", ".join(v[0] for k, v in kinds.items() if k in {"cpu", "memory"})
            + ")"
            + (f"; not seen under this selector: {', '.join(not_seen)}" if not_seen else ""),
            evidence,
        )
    placed = any(m.name in _PLACEMENT for m in p.matchers)
    if not kinds and not placed:
        return ctx.unknown(
            INFRA,
            f"No process_* metrics under {p.selector}; container and node metrics are labelled "
            'by namespace/pod rather than the job, so add namespace="…" (and pod=~"…") to '
            "the prometheus selector in prr.yaml to look them up",
            evidence,
        )
    return ctx.failed(
        INFRA,
        f"Resource metrics of {p.selector} are incomplete: "
        + (", ".join(kinds) or "none")
        + f" collected, {', '.join(k for k in ('cpu', 'memory') if k not in kinds)} missing",
        evidence,
        remediation=(
            "Collect resource metrics for every instance: keep the client library's default "
            "process collector (process_cpu_seconds_total, process_resident_memory_bytes), and "
            "scrape the kubelet's cAdvisor (container_cpu_usage_seconds_total, "
            "container_memory_working_set_bytes) and node-exporter on every node."
        ),
    )


# ------------------------------------------------------------------ alert rules


def _percent(rule: LoadedRule) -> float | None:
    """The threshold of a ratio-shaped rule as a percentage, or None."""
    t = rule.threshold
    if t is None or t.op not in {">", ">="}:
        return None
    if t.percent_scale:
        return round(t.value, 4) if 0 <= t.value <= 100 else None
    ratio = "/" in rule.expr or re.search(r"ratio|percent|utili", rule.expr.lower())
    return round(t.value * 100, 4) if ratio and 0 <= t.value <= 1 else None


def _latency(rule: LoadedRule) -> str | None:
    t = rule.threshold
    if t is None or t.op not in {">", ">="}:
        return None
    names = " ".join(rule.metrics)
    if re.search(r"_milliseconds|_ms\b|_ms_", names):
        seconds = t.value / 1000
    elif "_seconds" in names:
        seconds = t.value
    else:
        return None
    return format_duration(dt.timedelta(seconds=seconds))


def _availability_percent(rule: LoadedRule) -> float | None:
    t = rule.threshold
    if t is None or t.op not in {"<", "<="} or not 0 < t.value <= 1:
        return None
    if re.search(r"probe_success|avg_over_time|/", rule.expr):
        return round(t.value * 100, 4)
    return None


def _paging(severity: str | None) -> bool:
    return severity is None or severity.lower() in PAGING_SEVERITIES


def _describe(rule: LoadedRule) -> str:
    details = []
    if rule.threshold:
        details.append(f"{rule.threshold.op} {rule.threshold.value:g}")
    if rule.for_duration:
        details.append(f"for {rule.for_duration}")
    details.append(f"severity {rule.severity or 'none'}")
    if not rule.healthy:
        details.append("failing")
    scope = " fleet-wide" if rule.coverage == "fleet-wide" else ""
    return f"{rule.name}{scope} [{', '.join(details)}]"


def _rule_evidence(p: PrometheusFacts, rules: list[LoadedRule]) -> list[Evidence]:
    return [
        _asked(
            p,
            "rules",
            f"{r.coverage} rule {r.name} (group {r.group}, {r.file}): {r.expr[:200]}",
            {
                "health": r.health,
                "state": r.state,
                "for": r.for_duration,
                "labels": dict(r.labels),
                **({"last_error": r.last_error} if r.last_error else {}),
            },
        )
        for r in rules[:MAX_EVIDENCE]
    ]


@dataclass(frozen=True)
class _Kind:
    item: str
    cls: str
    label: str
    field: str
    measure: Callable[[LoadedRule], float | str | None]
    unit: str


_KINDS = (
    _Kind(ERROR_RATE, "error-rate", "error rate", "error_rate_threshold", _percent, "%"),
    _Kind(LATENCY, "latency", "latency", "latency_threshold", _latency, ""),
    _Kind(
        SATURATION,
        "saturation",
        "resource utilization",
        "utilization_threshold",
        _percent,
        "%",
    ),
    _Kind(
        AVAILABILITY,
        "availability",
        "availability",
        "availability_threshold",
        _availability_percent,
        "%",
    ),
)


@check(
    "live.alerting.prometheus-rules",
    items=[ERROR_RATE, LATENCY, SATURATION, AVAILABILITY],
    needs=[PrometheusFacts],
    scope="environment",
)
def prometheus_rules(ctx: CheckContext) -> Iterator[Result]:
    """Prometheus has healthy alerting rules loaded for the service's errors, latency,
    saturation and availability."""
    p = ctx.get(PrometheusFacts)
    if not p.configured:
        return
    for kind in _KINDS:
        if p.problem("rules"):
            yield _could_not_read(ctx, kind.item, p, "rules", "The loaded alerting rules")
        else:
            yield _rule_item(ctx, p, kind)


def _threshold_key(value: float | str) -> float:
    if isinstance(value, float | int):
        return float(value)
    match = re.match(r"([\d.]+)(ms|s|m|h|d|w)$", value)
    if not match:
        return 0.0
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]
    return float(match.group(1)) * scale


def _rule_item(ctx: CheckContext, p: PrometheusFacts, kind: _Kind) -> Result:
    rules = p.rules_of(kind.cls)
    healthy = [r for r in rules if r.healthy]
    broken = [r for r in rules if not r.healthy]
    firing_note, firing = _firing(p) if kind.cls == "availability" else ("", [])
    broken_note = (
        "; failing to evaluate: " + ", ".join(f"{r.name} ({r.last_error})" for r in broken[:3])
        if broken
        else ""
    )
    pages = [r for r in healthy if _paging(r.severity)] if kind.cls == "availability" else healthy
    if pages:
        values = [v for r in pages if (v := kind.measure(r)) is not None]
        fields: dict[str, float | str] = {}
        note = ""
        if values:
            pick = max if kind.cls == "availability" else min
            fields[kind.field] = pick(values, key=_threshold_key)
            note = f"; threshold {fields[kind.field]}{kind.unit}"
        return ctx.passed(
            kind.item,
            f"{len(pages)} {kind.label} alert rule(s) loaded for {p.selector}: "
            + "; ".join(_describe(r) for r in pages[:4])
            + (f" and {len(pages) - 4} more" if len(pages) > 4 else "")
            + note
            + broken_note
            + firing_note,
            *_rule_evidence(p, pages + broken),
            *firing,
            fields=fields,
        )
    if healthy:
        return ctx.failed(
            kind.item,
            f"The {kind.label} rules loaded for {p.selector} do not page: "
            + "; ".join(_describe(r) for r in healthy[:4])
            + " (no critical/page severity)"
            + firing_note,
            *_rule_evidence(p, healthy),
            *firing,
            remediation=_rule_snippet(kind.cls, p),
        )
    if broken:
        return ctx.failed(
            kind.item,
            f"The {kind.label} rule(s) loaded for {p.selector} fail to evaluate, so they can "
            "never fire: " + "; ".join(f"{r.name}: {r.last_error}" for r in broken[:3]),
            *_rule_evidence(p, broken),
            remediation=(
                f"Fix the expression of {broken[0].name} in {broken[0].file or 'its rule file'} "
                "until `promtool check rules` passes and the rule's health on /rules is ok; "
                "a working rule looks like:\n\n" + _rule_snippet(kind.cls, p, intro=False)
            ),
        )
    covering = len(p.alerting_rules)
    return ctx.failed(
        kind.item,
        f"None of the {covering} alerting rule(s) loaded for {p.selector}{_selector_note(p)} "
        f"watches {kind.label} ({p.rules_total} rule(s) loaded in {p.url} in total)" + firing_note,
        _asked(
            p,
            "rules",
            f"{covering} alerting rule(s) cover {p.selector}",
            sorted(r.name for r in p.alerting_rules)[:20],
        ),
        *firing,
        remediation=_rule_snippet(kind.cls, p),
    )


def _rule_snippet(cls: str, p: PrometheusFacts, intro: bool = True) -> str:
    """A Prometheus rule for this class, written for the service's own selector and metrics."""
    service = _service(p)
    name = _camel(service)
    counters = p.request_counters
    counter = next(
        (c for c in counters if p.status_labels(c)),
        next((c for c in counters if c.endswith("_total")), "http_requests_total"),
    )
    status = next(iter(p.status_labels(counter)), "code")
    failed = (
        f'{status}=~"Internal|Unavailable|Unknown|DeadlineExceeded"'
        if status.startswith(("grpc", "rpc"))
        else f'{status}=~"5.."'
    )
    histogram = next(
        (n for n in p.latency_metrics if n.endswith("_bucket")),
        "http_request_duration_seconds_bucket",
    )
    rules = {
        "error-rate": (
            f"      - alert: {name}HighErrorRate\n        expr: |\n"
            f"          sum(rate({counter}{{{_inner(p, failed)}}}[5m]))\n"
            f"            / sum(rate({counter}{{{_inner(p)}}}[5m])) > 0.01\n"
            "        for: 5m\n        labels:\n          severity: critical\n"
            f"        annotations:\n          summary: More than 1% of {service} requests fail\n"
            "          runbook_url: <link to the runbook>\n"
        ),
        "latency": (
            f"      - alert: {name}HighLatencyP99\n        expr: |\n"
            "          histogram_quantile(0.99, sum by (le) (rate(\n"
            f"            {histogram}{{{_inner(p)}}}[5m]))) > 0.5\n"
            "        for: 10m\n        labels:\n          severity: warning\n"
            "        annotations:\n          runbook_url: <link to the runbook>\n"
        ),
        "saturation": (
            f"      - alert: {name}MemoryNearLimit\n        expr: |\n"
            f"          max by (pod) (container_memory_working_set_bytes{{{_inner(p)}}}\n"
            f"            / container_spec_memory_limit_bytes{{{_inner(p)}}}) > 0.9\n"
            "        for: 15m\n        labels:\n          severity: warning\n"
            f"      - alert: {name}FileDescriptorsNearLimit\n"
            f"        expr: process_open_fds{{{_inner(p)}}} / process_max_fds{{{_inner(p)}}}"
            " > 0.8\n        for: 15m\n        labels:\n          severity: warning\n"
        ),
        "availability": (
            f"      - alert: {name}Down\n"
            f"        expr: up{{{_inner(p)}}} == 0 or absent(up{{{_inner(p)}}})\n"
            "        for: 2m\n        labels:\n          severity: critical\n"
            "        annotations:\n          runbook_url: <link to the runbook>\n"
            "      # and probe the public endpoint from outside (blackbox exporter):\n"
            f"      - alert: {name}EndpointDown\n"
            f'        expr: avg_over_time(probe_success{{instance="https://<host>/healthz"}}[5m])'
            " < 0.9\n        for: 2m\n        labels:\n          severity: critical\n"
        ),
    }
    head = (
        f"Load a rule group like this into the Prometheus at {p.url} (rule_files or a "
        "PrometheusRule object):\n\n"
        if intro
        else ""
    )
    return f"{head}groups:\n  - name: {service}\n    rules:\n" + rules[cls]


# --------------------------------------------------------------------- routing


@dataclass(frozen=True)
class _Case:
    """A label set an alert of the service carries, and where Alertmanager sends it."""

    labels: dict[str, str]
    source: str
    critical: bool
    reached: tuple[tuple[str, Receiver | None], ...]
    routes: tuple[Route, ...]

    @property
    def delivered(self) -> list[Receiver]:
        return [r for _, r in self.reached if r is not None and r.delivers]

    @property
    def pages(self) -> bool:
        return any("paging" in r.classes for r in self.delivered)

    def where(self) -> str:
        parts = []
        for name, receiver in self.reached:
            kinds = ",".join(receiver.integrations) if receiver and receiver.integrations else ""
            parts.append(f"{name} ({kinds or 'no integration'})")
        return ", ".join(parts) or "nothing"

    def text(self) -> str:
        shown = ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()))
        return f"{self.source} {{{shown}}}"

    def short(self) -> str:
        return f"{self.source} (severity {self.labels.get('severity') or 'none'})"


def _cases(ctx: CheckContext, a: AlertmanagerFacts) -> list[_Case]:
    prom = ctx.facts.get(PrometheusFacts) if ctx.facts.has(PrometheusFacts) else None
    base: dict[str, str] = {}
    label_sets: list[tuple[dict[str, str], str, bool]] = []
    if prom is not None and prom.configured:
        base.update(prom.external_labels)
    base.update(a.service_labels)
    if prom is not None and prom.configured and not prom.problem("rules"):
        for rule in prom.alerting_rules[:40]:
            labels = {**base, **{k: v for k, v in rule.labels if "{{" not in v}}
            labels["alertname"] = rule.name
            label_sets.append((labels, f"rule {rule.name}", _paging(rule.severity)))
    if not any(critical for _, _, critical in label_sets):
        label_sets.append(
            ({**base, **a.probe_labels("critical")}, "a critical alert of the service", True)
        )
    if all(critical for _, _, critical in label_sets):
        label_sets.append(
            ({**base, **a.probe_labels("warning")}, "a warning of the service", False)
        )
    return [
        _Case(labels, source, critical, tuple(a.receivers_for(labels)), tuple(a.resolve(labels)))
        for labels, source, critical in label_sets
    ]


def _tree(a: AlertmanagerFacts) -> list[str]:
    lines = []
    for route in a.route.walk() if a.route else []:
        receiver = a.receiver(route.receiver)
        kinds = ",".join(receiver.integrations) if receiver and receiver.integrations else "none"
        flags = " continue" if route.continue_matching else ""
        lines.append(f"{route.path}: {route.where} → {route.receiver} ({kinds}){flags}")
    return lines


def _routing_evidence(a: AlertmanagerFacts, cases: list[_Case]) -> list[Evidence]:
    evidence = [
        _asked(
            a,
            "status",
            f"Alertmanager {a.version or '?'} routing tree ({len(a.receivers)} receivers, "
            f"{len(a.inhibit_rules)} inhibit rule(s))",
            _tree(a)[:30],
        )
    ]
    for case in cases[:MAX_EVIDENCE]:
        evidence.append(
            Evidence(
                f"{case.text()} is routed to {case.where()} (resolved at {a.read_at})",
                url=a.url,
                value=[r.path for r in case.routes],
            )
        )
    return evidence


def _cluster_note(ctx: CheckContext, a: AlertmanagerFacts) -> tuple[str, list[Evidence]]:
    if not ctx.production or a.problem("status") or a.clustered:
        return "", []
    note = (
        f"; Alertmanager runs as a single instance in production (cluster "
        f"{a.cluster_status or 'unknown'}, {a.peers} peer(s)): when it is down no alert "
        "reaches anyone"
    )
    evidence = _asked(a, "status", "cluster state", {"status": a.cluster_status, "peers": a.peers})
    return note, [evidence]


def _parse_time(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@check(
    "live.alerting.alertmanager-routing",
    items=[ROUTING, PAGING, ESCALATION],
    needs=[AlertmanagerFacts],
    scope="environment",
)
def alertmanager_routing(ctx: CheckContext) -> Iterator[Result]:
    """Alertmanager delivers the service's alerts: critical ones to a paging tool, the rest to
    chat, and no active silence hides them."""
    a = ctx.get(AlertmanagerFacts)
    if not a.configured:
        return
    if a.problem("status", "config") or a.route is None:
        part = "status" if a.problem("status") else "config"
        for item in (ROUTING, PAGING, ESCALATION):
            yield _could_not_read(ctx, item, a, part, "The loaded Alertmanager configuration")
        return
    cases = _cases(ctx, a)
    evidence = _routing_evidence(a, cases)
    yield _routing(ctx, a, cases, evidence)
    yield _paging_result(ctx, a, cases, evidence)
    escalation = _escalation(ctx, a, cases, evidence)
    if escalation is not None:
        yield escalation


def _route_yaml(a: AlertmanagerFacts, case: _Case) -> str:
    """Alertmanager YAML sending the service's alerts at this case's severity to a pager."""
    severity = case.labels.get("severity", "critical")
    service_matchers = ", ".join(f"'{k}=\"{v}\"'" for k, v in a.service_labels)
    ahead = next((r.path for r in case.routes if r.path != "route"), None)
    order = f"    # keep this above {ahead}: the first matching route wins\n" if ahead else ""
    return (
        "route:\n  routes:\n"
        + order
        + f"    - matchers: [{service_matchers + ', ' if service_matchers else ''}"
        f"'severity=\"{severity}\"']\n      receiver: <team>-pager\n"
        "receivers:\n  - name: <team>-pager\n    pagerduty_configs:\n"
        "      - routing_key_file: /etc/alertmanager/secrets/pagerduty-key\n"
    )


_QUIET = frozenset({"info", "informational", "none", "debug"})


def _routing(
    ctx: CheckContext, a: AlertmanagerFacts, cases: list[_Case], evidence: list[Evidence]
) -> Result:
    notes, cluster = _cluster_note(ctx, a)
    unrouted = [c for c in cases if not c.delivered]
    # Sending informational alerts nowhere is a common, deliberate choice: noted, not failed.
    quiet = [c for c in unrouted if c.labels.get("severity", "").lower() in _QUIET]
    dead = [c for c in unrouted if c not in quiet]
    notes = (
        "; informational alerts go nowhere: " + ", ".join(c.short() for c in quiet[:3])
        if quiet
        else ""
    ) + notes
    if dead:
        shown = "; ".join(f"{c.short()} ends in {c.where()}" for c in dead[:3])
        return ctx.failed(
            ROUTING,
            f"Alerts of {a.selector}{_selector_note(a)} reach nobody: {shown}" + notes,
            *evidence,
            *cluster,
            remediation=(
                "Route the service's alerts to receivers that notify someone, in the "
                "Alertmanager configuration:\n\n" + _route_yaml(a, dead[0])
            ),
        )
    silences: dict[str, Silence] = {}
    for case in cases:
        for silence in a.silences_for(case.labels):
            silences.setdefault(silence.id, silence)
    held = [h for h in a.alerts if h.silenced_by]
    for alert in held:
        for silence_id in alert.silenced_by:
            found = next((s for s in a.silences if s.id == silence_id), None)
            if found is not None:
                silences.setdefault(found.id, found)
    reached = "; ".join(f"{c.short()} → {c.where()}" for c in cases[:3])
    if silences or held:
        now = dt.datetime.now(dt.UTC)
        listed = list(silences.values())
        long = [
            s
            for s in listed
            if (end := _parse_time(s.ends_at)) is not None and end - now > LONG_SILENCE
        ]
        shown = "; ".join(
            f"{s.id} {s.text} until {s.ends_at}" + (f" by {s.created_by}" if s.created_by else "")
            for s in listed[:4]
        )
        message = (
            f"Routing delivers the alerts of {a.selector} ({reached}), but active silence(s) "
            f"hide them: {shown or ', '.join(h.name for h in held[:4])}"
        )
        silence_evidence = [
            _asked(
                a,
                "silences",
                f"active silence {s.id} matches the service's alerts until {s.ends_at}",
                {"matchers": [str(m) for m in s.matchers], "ends_at": s.ends_at},
            )
            for s in listed[:4]
        ]
        remediation = (
            "Expire the silence(s) once the work they cover is over, e.g.\n\n"
            + "\n".join(
                f"amtool silence expire {s.id} --alertmanager.url={a.url}" for s in listed[:4]
            )
            + "\n\nand give maintenance silences an end time of hours, not weeks."
        )
        if long:
            return ctx.failed(
                ROUTING,
                message + f" (longer than {LONG_SILENCE.days} days)" + notes,
                *silence_evidence,
                *evidence,
                *cluster,
                remediation=remediation,
            )
        return ctx.unknown(
            ROUTING,
            message + "; delivery can be confirmed when they expire" + notes,
            *silence_evidence,
            *evidence,
            *cluster,
            remediation=remediation,
        )
    default_only = [c for c in cases if c.critical and all(r.path == "route" for r in c.routes)]
    note = f"; {default_only[0].source} only reaches the default receiver" if default_only else ""
    return ctx.passed(
        ROUTING,
        f"Alertmanager {a.version or ''} delivers the alerts of {a.selector}: {reached}"
        + note
        + notes,
        *evidence,
        *cluster,
    )


def _paging_result(
    ctx: CheckContext, a: AlertmanagerFacts, cases: list[_Case], evidence: list[Evidence]
) -> Result:
    critical = [c for c in cases if c.critical]
    not_paging = [c for c in critical if not c.pages]
    if not not_paging:
        tools = sorted(
            {
                i
                for c in critical
                for r in c.delivered
                for i in r.integrations
                if "paging" in r.classes
            }
        )
        return ctx.passed(
            PAGING,
            f"Critical alerts of {a.selector} reach a paging tool ({', '.join(tools)}): "
            + "; ".join(f"{c.short()} → {c.where()}" for c in critical[:3]),
            *evidence,
        )
    kinds = sorted({i for r in a.receivers for i in r.integrations})
    return ctx.failed(
        PAGING,
        f"Critical alerts of {a.selector} do not reach a paging tool: "
        + "; ".join(f"{c.short()} → {c.where()}" for c in not_paging[:3])
        + f" (integrations configured: {', '.join(kinds) or 'none'})",
        *evidence,
        remediation=(
            "Add a PagerDuty (or Opsgenie) receiver and route the service's critical alerts to "
            "it:\n\n" + _route_yaml(a, not_paging[0])
        ),
    )


def _escalation(
    ctx: CheckContext, a: AlertmanagerFacts, cases: list[_Case], evidence: list[Evidence]
) -> Result | None:
    critical = [c for c in cases if c.critical]
    if not all(c.pages for c in critical):
        reached = sorted({i for c in critical for r in c.delivered for i in r.integrations})
        return ctx.failed(
            ESCALATION,
            f"Nothing can escalate: critical alerts of {a.selector} reach "
            f"{', '.join(reached) or 'no integration'}, no paging tool with an escalation policy",
            *evidence,
            remediation=(
                "Send critical alerts to a paging tool and define the escalation there "
                "(primary on-call → secondary after 15 minutes → manager after 30), e.g. a "
                "pagerduty_escalation_policy in Terraform, and route:\n\n"
                + _route_yaml(a, critical[0])
            ),
        )
    lower = [c for c in cases if not c.critical]
    tiers = [c for c in lower if c.delivered and not c.pages]
    if not tiers:
        return None
    paging_routes = [
        r
        for c in critical
        for r in c.routes
        if (receiver := a.receiver(r.receiver)) is not None and "paging" in receiver.classes
    ]
    repeat = sorted({r.repeat_interval for r in paging_routes})
    return ctx.passed(
        ESCALATION,
        f"Severity tiers in Alertmanager: critical alerts of {a.selector} page via "
        + ", ".join(
            sorted({r.name for c in critical for r in c.delivered if "paging" in r.classes})
        )
        + (f" (repeated every {'/'.join(repeat)} while unresolved)" if repeat else "")
        + ", lower severities go to "
        + ", ".join(sorted({r.name for c in tiers for r in c.delivered}))
        + "; the escalation inside the paging tool (secondary, manager) is not visible here",
        *evidence,
    )


# ------------------------------------------------------------------------ SLOs

_VECTOR = re.compile(r"^\s*(?:vector\(\s*)?(1\s*-\s*)?(\d*\.?\d+(?:e-?\d+)?)\s*\)?\s*$")


def _objective(rule: LoadedRule) -> float | None:
    """The SLO objective a recording rule states as a literal (``slo:objective:ratio``)."""
    name = rule.name.lower()
    if not re.search(r"objective|target|error_?budget", name) or "remaining" in name:
        return None
    match = _VECTOR.match(rule.expr)
    if not match:
        return None
    value = float(match.group(2))
    if "budget" in name:
        value = value if match.group(1) else 1 - value
    return round(value, 6) if 0 < value < 1 else None


@check(
    "live.sla-slo.prometheus-slo-rules",
    items=[AVAILABILITY_TARGET],
    needs=[PrometheusFacts],
    scope="environment",
)
def prometheus_slo_rules(ctx: CheckContext) -> Iterator[Result]:
    """An availability objective is loaded in Prometheus as an SLO recording rule.

    Only a pass is given: an SLO can be stated without recording rules, so their
    absence proves nothing. The error budget item is not decided here because its
    written policy cannot be seen in Prometheus; the budget is shown in the message.
    """
    p = ctx.get(PrometheusFacts)
    if not p.configured or p.problem("rules"):
        return
    slo = [r for r in p.slo_rules if r.healthy]
    objectives = [
        (r, v)
        for r in slo
        if (v := _objective(r)) is not None
        and not re.search(r"latency|duration", " ".join(v2 for _, v2 in r.labels).lower())
    ]
    if not objectives:
        return
    rule, ratio = objectives[0]
    percent = round(ratio * 100, 4)
    tracking = [r for r in slo if re.search(r"burn|error_?budget|sli_error", r.name.lower())]
    budget = (
        f"; error budget {round(100 - percent, 4):g}% tracked by "
        + ", ".join(sorted({r.name for r in tracking})[:3])
        if tracking
        else ""
    )
    yield ctx.passed(
        AVAILABILITY_TARGET,
        f"Availability objective {percent:g}% is loaded in {p.url} as {rule.name}"
        + (f" {{{', '.join(f'{k}={v}' for k, v in rule.labels)}}}" if rule.labels else "")
        + budget,
        *_rule_evidence(p, [rule, *tracking[:3]]),
        fields={"availability_target": percent},
    )
