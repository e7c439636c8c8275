"""Monitoring and alerting: metrics, logs, traces, dashboards, alert rules and routing.

Every decision rests on files the observability collector read: client
libraries in dependency manifests, ServiceMonitors and scrape configs, alert
rules with their expressions, Alertmanager routes and receivers, dashboards as
code. When none of a kind of evidence exists the check stays silent.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

from prr.checks.operations.docs import MAX_EVIDENCE, escalation_evidence, is_paging, template
from prr.checks.registry import CheckContext, check
from prr.collectors.docs import DocsFacts
from prr.collectors.docs import Unreadable as DocUnreadable
from prr.collectors.observability import (
    Alert,
    AlertmanagerConfig,
    ObservabilityFacts,
    Signal,
    Unreadable,
    integration_class,
)
from prr.model.evidence import Evidence, Result
from prr.model.fields import format_duration


def _sig(signal: Signal) -> Evidence:
    label = f"{signal.kind}: {signal.name}" + (f" ({signal.detail})" if signal.detail else "")
    return Evidence(label, signal.path, signal.line)


def _names(signals: Iterable[Signal], limit: int = 4) -> str:
    seen: dict[str, str] = {}
    for signal in signals:
        seen.setdefault(signal.name, signal.location)
    shown = [f"{name} ({where})" for name, where in list(seen.items())[:limit]]
    more = len(seen) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _unknown(
    ctx: CheckContext, item: str, what: str, problems: Sequence[Unreadable | DocUnreadable]
) -> Result:
    return ctx.unknown(
        item,
        f"{what} could not be read: " + "; ".join(f"{p.path}: {p.reason}" for p in problems[:3]),
        *(Evidence(p.reason, p.path, p.line) for p in problems[:MAX_EVIDENCE]),
    )


# ------------------------------------------------------------------ metrics


@check(
    "reliability.application-metrics",
    items=["reliability.monitoring.application-metrics-collected"],
    needs=[ObservabilityFacts],
)
def application_metrics(ctx: CheckContext) -> Iterator[Result]:
    """The service is instrumented with a metrics library and something scrapes or receives it."""
    item = "reliability.monitoring.application-metrics-collected"
    obs = ctx.get(ObservabilityFacts)
    libraries = obs.signals_of("metrics-library")
    collection = obs.signals_of("scrape", "otel-collector") + [
        s for s in obs.signals_of("otel-env") if "OTLP" in s.name
    ]
    workloads = obs.signals_of("workload")
    if libraries and collection:
        yield ctx.passed(
            item,
            f"Instrumented with {_names(libraries)}; collected by {_names(collection)}",
            *(_sig(s) for s in libraries[:4]),
            *(_sig(s) for s in collection[:4]),
        )
        return
    problems = obs.unreadable_of("manifest", "scrape")
    if problems:
        yield _unknown(ctx, item, "Dependency manifests or scrape configs", problems)
        return
    if libraries and workloads:
        first = workloads[0]
        yield ctx.failed(
            item,
            f"{_names(libraries)} is a dependency, but nothing collects the metrics: no "
            f"ServiceMonitor, PodMonitor, prometheus.io/scrape annotation, scrape config or OTLP "
            f"exporter for the workloads ({_names(workloads)})",
            *(_sig(s) for s in libraries[:4]),
            *(_sig(s) for s in workloads[:4]),
            remediation=(
                f"Register the workload with Prometheus, e.g. next to {first.path}:\n\n"
                "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n"
                "  name: <app>\nspec:\n  selector:\n    matchLabels:\n      app: <app>\n"
                "  endpoints:\n    - port: http\n      path: /metrics\n      interval: 30s\n"
            ),
        )
        return
    if obs.manifests and not libraries and not obs.signals_of("tracing-library"):
        yield ctx.failed(
            item,
            "No metrics library (Prometheus client, OpenTelemetry SDK, Micrometer, StatsD) in "
            f"the dependency manifests: {', '.join(obs.manifests[:4])}",
            *(
                Evidence("dependency manifest without a metrics library", m)
                for m in obs.manifests[:4]
            ),
            remediation=_library_snippet(obs.manifests[0]),
        )


def _library_snippet(manifest: str) -> str:
    name = manifest.rsplit("/", 1)[-1].lower()
    if name.startswith("requirements") or name in {"pyproject.toml", "pipfile"}:
        add = "prometheus-client>=0.20"
    elif name == "package.json":
        add = '"prom-client": "^15.1.0"'
    elif name == "go.mod":
        add = "require github.com/prometheus/client_golang v1.19.0"
    elif name in {"pom.xml", "build.gradle", "build.gradle.kts"}:
        add = "io.micrometer:micrometer-registry-prometheus"
    elif name == "gemfile":
        add = "gem 'prometheus-client'"
    elif name == "cargo.toml":
        add = 'prometheus = "0.13"'
    else:
        add = "a Prometheus or OpenTelemetry metrics client"
    return (
        f"Add {add} to {manifest}, expose request count, errors and a latency histogram per "
        "endpoint on /metrics, and register the workload with a ServiceMonitor or scrape config."
    )


_INFRA_METRIC = re.compile(r"^(node_|container_|kube_|kubelet_|machine_|cadvisor)")


@check(
    "reliability.infrastructure-metrics",
    items=["reliability.monitoring.infrastructure-metrics-collected"],
    needs=[ObservabilityFacts],
)
def infrastructure_metrics(ctx: CheckContext) -> Iterator[Result]:
    """Node, container and managed-service metrics are collected (exporters, agents, alarms)."""
    item = "reliability.monitoring.infrastructure-metrics-collected"
    obs = ctx.get(ObservabilityFacts)
    exporters = obs.signals_of("infra-exporter")
    infra_alerts = [a for a in obs.alerts if any(_INFRA_METRIC.match(m) for m in a.metrics)]
    if exporters or infra_alerts:
        parts = []
        if exporters:
            parts.append(f"collected by {_names(exporters)}")
        if infra_alerts:
            parts.append(
                "alerted on by " + ", ".join(f"{a.name} ({a.location})" for a in infra_alerts[:4])
            )
        yield ctx.passed(
            item,
            "Infrastructure metrics " + "; ".join(parts),
            *(_sig(s) for s in exporters[:MAX_EVIDENCE]),
            *(
                Evidence(f"alert {a.name} on {sorted(a.metrics)[0]}", a.path, a.line)
                for a in infra_alerts[:4]
            ),
        )
        return
    problems = obs.unreadable_of("scrape", "rules", "otel")
    if problems:
        yield _unknown(ctx, item, "Monitoring configuration", problems)
        return
    monitoring = obs.signals_of("scrape") + [
        s for s in obs.signals_of("otel-collector") if "metrics" in s.detail
    ]
    if monitoring or obs.alerts:
        shown = monitoring[:4]
        yield ctx.failed(
            item,
            "Monitoring is configured ("
            + (_names(monitoring) if monitoring else f"{len(obs.alerts)} alert rule(s)")
            + "), but nothing collects node or container metrics: no node-exporter, "
            "kube-state-metrics, cAdvisor/kubelet job, cloud agent, or alert on node_/container_ "
            "metrics",
            *(_sig(s) for s in shown),
            *(Evidence(f"alert {a.name}", a.path, a.line) for a in obs.alerts[: 4 - len(shown)]),
            remediation=(
                "Install the node and container exporters, e.g. with Helm:\n\n"
                "helm upgrade --install monitoring prometheus-community/kube-prometheus-stack "
                "--namespace monitoring --set nodeExporter.enabled=true "
                "--set kubeStateMetrics.enabled=true\n\n"
                "or, outside Kubernetes, add a scrape job for node_exporter on every host."
            ),
        )


@check(
    "reliability.business-metrics",
    items=["reliability.monitoring.custom-business-metrics"],
    needs=[ObservabilityFacts],
)
def business_metrics(ctx: CheckContext) -> Iterator[Result]:
    """Code defines metrics for business events, not only technical ones."""
    item = "reliability.monitoring.custom-business-metrics"
    obs = ctx.get(ObservabilityFacts)
    business = [m for m in obs.metrics if m.business]
    if business:
        yield ctx.passed(
            item,
            f"{len(business)} business metric(s) defined in code: "
            + ", ".join(f"{m.name} ({m.path}:{m.line})" for m in business[:5]),
            *(Evidence(f"{m.type} {m.name}", m.path, m.line) for m in business[:MAX_EVIDENCE]),
        )
        return
    if obs.metrics:
        first = obs.metrics[0]
        yield ctx.failed(
            item,
            f"The {len(obs.metrics)} metric(s) defined in code are all technical: "
            + ", ".join(f"{m.name} ({m.path}:{m.line})" for m in obs.metrics[:5]),
            *(Evidence(f"{m.type} {m.name}", m.path, m.line) for m in obs.metrics[:MAX_EVIDENCE]),
            remediation=(
                f"Next to the existing metrics in {first.path}, count the key business events, "
                'e.g. with prometheus_client: ORDERS = Counter("orders_created_total", '
                '"Orders created", ["payment_method"]) and ORDERS.labels(method).inc() where an '
                "order is committed."
            ),
        )


# --------------------------------------------------------------- dashboards

_GOLDEN = ("traffic", "error-rate", "latency", "saturation")


@check(
    "reliability.dashboards",
    items=["reliability.monitoring.dashboards-created"],
    needs=[ObservabilityFacts],
)
def dashboards(ctx: CheckContext) -> Iterator[Result]:
    """A dashboard as code shows traffic, errors and latency (and ideally saturation)."""
    item = "reliability.monitoring.dashboards-created"
    obs = ctx.get(ObservabilityFacts)
    boards = sorted(obs.dashboards, key=lambda d: -len(set(_GOLDEN) & d.signals))
    service = [d for d in boards if {"error-rate", "latency"} <= d.signals]
    resources = obs.signals_of("dashboard-resource")
    if service:
        board = service[0]
        covered = [g for g in _GOLDEN if g in board.signals]
        missing = [g for g in _GOLDEN if g not in board.signals]
        yield ctx.passed(
            item,
            f"Dashboard {board.title!r} ({board.path}:{board.line or 1}) has {board.panels} "
            f"panel(s) showing {', '.join(covered)}"
            + (f"; not shown: {', '.join(missing)}" if missing else ""),
            *(
                Evidence(f"dashboard {d.title!r}: {', '.join(sorted(d.signals))}", d.path, d.line)
                for d in service[:MAX_EVIDENCE]
            ),
        )
        return
    problems = obs.unreadable_of("dashboard")
    if problems:
        yield _unknown(ctx, item, "Dashboards", problems)
        return
    if boards and resources:
        yield ctx.unknown(
            item,
            f"The dashboard JSON files ({', '.join(d.path for d in boards[:3])}) show no errors "
            f"and latency; the dashboards defined in Terraform ({_names(resources)}) were not "
            "inspected",
            *(Evidence(f"dashboard {d.title!r}", d.path, d.line) for d in boards[:4]),
            *(_sig(s) for s in resources[:4]),
        )
        return
    if boards:
        yield ctx.failed(
            item,
            "No dashboard shows the service's errors and latency: "
            + "; ".join(
                f"{d.title!r} ({d.path}) shows {', '.join(sorted(d.signals)) or 'no known signal'}"
                for d in boards[:4]
            ),
            *(Evidence(f"dashboard {d.title!r}", d.path, d.line) for d in boards[:MAX_EVIDENCE]),
            remediation=(
                f"Add panels to {boards[0].path} for the golden signals, e.g.:\n"
                '  errors:  sum(rate(http_requests_total{job="<app>",code=~"5.."}[5m])) / '
                'sum(rate(http_requests_total{job="<app>"}[5m]))\n'
                "  latency: histogram_quantile(0.99, sum by (le) "
                '(rate(http_request_duration_seconds_bucket{job="<app>"}[5m])))\n'
                '  traffic: sum(rate(http_requests_total{job="<app>"}[5m]))\n'
                '  saturation: container_memory_working_set_bytes{container="<app>"}'
            ),
        )
        return
    if resources:
        yield ctx.passed(
            item,
            f"Dashboards defined as code: {_names(resources)} (their panels were not inspected)",
            *(_sig(s) for s in resources[:MAX_EVIDENCE]),
        )


@check(
    "reliability.sli-dashboards",
    items=["reliability.sla-slo.sli-dashboards-created"],
    needs=[ObservabilityFacts, DocsFacts],
)
def sli_dashboards(ctx: CheckContext) -> Iterator[Result]:
    """A dashboard shows SLIs against their SLOs, error budget and burn rate."""
    item = "reliability.sla-slo.sli-dashboards-created"
    obs = ctx.get(ObservabilityFacts)
    docs = ctx.get(DocsFacts)
    slo_boards = [d for d in obs.dashboards if d.slo]
    pyrra = [s for s in docs.slos if s.source == "pyrra"]
    if slo_boards:
        board = slo_boards[0]
        yield ctx.passed(
            item,
            f"SLO dashboard {board.title!r} ({board.path}:{board.line or 1})"
            + (f" and {len(slo_boards) - 1} more" if len(slo_boards) > 1 else ""),
            *(
                Evidence(f"SLO dashboard {d.title!r}", d.path, d.line)
                for d in slo_boards[:MAX_EVIDENCE]
            ),
        )
        return
    if pyrra:
        yield ctx.passed(
            item,
            f"Pyrra ServiceLevelObjective {pyrra[0].name!r} ({pyrra[0].location}): Pyrra's UI "
            "shows the SLI against the objective with error budget and burn rate",
            *(Evidence(f"Pyrra SLO {s.name}", s.path, s.line) for s in pyrra[:MAX_EVIDENCE]),
        )
        return
    problems = obs.unreadable_of("dashboard")
    if problems:
        yield _unknown(ctx, item, "Dashboards", problems)
        return
    slo_rules = [r for r in obs.recording_rules if r.slo]
    burn = [a for a in obs.alerts if "slo-burn" in a.classes]
    if obs.dashboards and (docs.slos or slo_rules or burn):
        slos = docs.slos
        yield ctx.failed(
            item,
            f"None of the {len(obs.dashboards)} dashboard(s) shows an SLI against its SLO, error "
            "budget or burn rate"
            + (f" although {len(slos)} SLO(s) are defined ({slos[0].location})" if slos else "")
            + (f"; SLO rules exist ({(slo_rules or burn)[0].path})" if not slos else ""),
            *(Evidence(f"dashboard {d.title!r}", d.path, d.line) for d in obs.dashboards[:4]),
            *(Evidence(f"SLO {s.name}", s.path, s.line) for s in slos[:2]),
            remediation=(
                f"Add an SLO row to {obs.dashboards[0].path} with the SLI, the objective, the "
                "remaining error budget and burn rate, e.g. using sloth's recording rules:\n"
                '  SLI:          1 - slo:sli_error:ratio_rate30d{sloth_service="<svc>"}\n'
                '  objective:    slo:objective:ratio{sloth_service="<svc>"}\n'
                '  budget left:  slo:period_error_budget_remaining:ratio{sloth_service="<svc>"}\n'
                '  burn rate:    slo:current_burn_rate:ratio{sloth_service="<svc>"}'
            ),
        )


# ---------------------------------------------------------------- logs, traces


@check(
    "reliability.log-aggregation",
    items=["reliability.monitoring.log-aggregation-configured"],
    needs=[ObservabilityFacts],
)
def log_aggregation(ctx: CheckContext) -> Iterator[Result]:
    """Logs are shipped to a central store (Fluent Bit, Vector, Promtail, OTel, cloud logging)."""
    item = "reliability.monitoring.log-aggregation-configured"
    obs = ctx.get(ObservabilityFacts)
    shippers = obs.signals_of("log-agent")
    stores = obs.signals_of("log-store")
    if shippers or stores:
        fields: dict[str, str] = {}
        for store in stores:
            retention = _retention(store.detail)
            if retention:
                fields["log_retention"] = retention
                break
        parts = []
        if shippers:
            parts.append(f"shipped by {_names(shippers)}")
        if stores:
            parts.append(f"stored in {_names(stores)}")
        if fields:
            parts.append(f"retention {fields['log_retention']}")
        yield ctx.passed(
            item,
            "Logs " + "; ".join(parts),
            *(_sig(s) for s in (shippers + stores)[:MAX_EVIDENCE]),
            fields=fields,
        )
        return
    problems = obs.unreadable_of("otel")
    if problems:
        yield _unknown(ctx, item, "Telemetry collector configs", problems)


def _retention(detail: str) -> str | None:
    match = re.search(r"retention (\d+)d\b", detail)
    if match:
        return (
            format_duration(dt.timedelta(days=int(match.group(1))))
            if match.group(1) != "0"
            else None
        )
    match = re.search(r"retention (\d+)([hdwm])\b", detail)
    if match:
        hours = {"h": 1, "d": 24, "w": 168}.get(match.group(2))
        if hours:
            return format_duration(dt.timedelta(hours=int(match.group(1)) * hours))
    return None


@check(
    "reliability.tracing",
    items=["reliability.monitoring.distributed-tracing"],
    needs=[ObservabilityFacts],
)
def tracing(ctx: CheckContext) -> Iterator[Result]:
    """Requests produce traces: a tracing SDK/agent and an exporter or collector pipeline."""
    item = "reliability.monitoring.distributed-tracing"
    obs = ctx.get(ObservabilityFacts)
    disabled = [
        s
        for s in obs.signals_of("otel-env")
        if s.name == "OTEL_TRACES_EXPORTER" and s.detail == "none"
    ]
    sdk = obs.signals_of("tracing-library", "auto-instrumentation")
    export = obs.signals_of("tracing-backend") + [
        s
        for s in obs.signals_of("otel-env")
        if s.name.startswith(("OTEL_EXPORTER_OTLP", "OTEL_TRACES"))
    ]
    if disabled:
        first = disabled[0]
        yield ctx.failed(
            item,
            f"Tracing is switched off: OTEL_TRACES_EXPORTER=none at {first.location}",
            _sig(first),
            remediation=(
                f"In {first.path}, set OTEL_TRACES_EXPORTER=otlp and "
                "OTEL_EXPORTER_OTLP_ENDPOINT=http://<collector>:4317."
            ),
        )
        return
    if sdk:
        yield ctx.passed(
            item,
            f"Tracing instrumentation: {_names(sdk)}"
            + (f"; exported via {_names(export)}" if export else ""),
            *(_sig(s) for s in (sdk + export)[:MAX_EVIDENCE]),
        )
        return
    problems = obs.unreadable_of("manifest")
    if problems:
        yield _unknown(ctx, item, "Dependency manifests", problems)
        return
    if obs.manifests:
        yield ctx.failed(
            item,
            "No tracing instrumentation: none of "
            + ", ".join(obs.manifests[:4])
            + " includes an OpenTelemetry, Jaeger, Zipkin or APM tracing library, and no "
            "auto-instrumentation (OTel operator annotation, -javaagent) is configured",
            *(_sig(s) for s in export[:2]),
            *(Evidence("manifest without a tracing library", m) for m in obs.manifests[:4]),
            remediation=(
                f"Add OpenTelemetry to {obs.manifests[0]} (e.g. opentelemetry-distro and "
                "opentelemetry-exporter-otlp for Python, @opentelemetry/sdk-node for Node.js, "
                "go.opentelemetry.io/otel for Go), propagate W3C traceparent, and set "
                "OTEL_EXPORTER_OTLP_ENDPOINT on the workload."
            ),
        )


# ------------------------------------------------------------------ alerting


def _percent(alert: Alert) -> float | None:
    """The threshold of a ratio-shaped alert as a percentage, or None."""
    threshold = alert.threshold
    if threshold is None or threshold.op not in {">", ">="}:
        return None
    if threshold.percent_scale:
        return round(threshold.value, 4) if 0 <= threshold.value <= 100 else None
    if alert.source != "prometheus":
        return None
    ratio = "/" in alert.expr or re.search(r"ratio|rate5m|percent|utili", alert.expr.lower())
    if ratio and 0 <= threshold.value <= 1:
        return round(threshold.value * 100, 4)
    return None


def _latency(alert: Alert) -> str | None:
    threshold = alert.threshold
    if threshold is None or threshold.op not in {">", ">="}:
        return None
    names = " ".join(alert.metrics)
    if re.search(r"_milliseconds|_ms\b|_ms_", names):
        seconds = threshold.value / 1000
    elif "_seconds" in names:
        seconds = threshold.value
    else:
        return None
    return format_duration(dt.timedelta(seconds=seconds))


def _describe(alert: Alert, extra: str = "") -> str:
    parts = [f"{alert.name} ({alert.location})"]
    details = []
    if alert.threshold:
        details.append(f"{alert.threshold.op} {alert.threshold.value:g}{extra}")
    if alert.for_duration:
        details.append(f"for {alert.for_duration}")
    if alert.severity:
        details.append(f"severity {alert.severity}")
    if details:
        parts.append("[" + ", ".join(details) + "]")
    return " ".join(parts)


def _alert_evidence(alerts: list[Alert]) -> list[Evidence]:
    return [
        Evidence(
            f"alert {a.name}: {a.expr[:160]}"
            + (f" for {a.for_duration}" if a.for_duration else ""),
            a.path,
            a.line,
        )
        for a in alerts[:MAX_EVIDENCE]
    ]


def _runbook_note(alerts: list[Alert]) -> str:
    missing = [a.name for a in alerts if not a.runbook_url and a.source == "prometheus"]
    if not missing:
        return ""
    return f"; without runbook_url: {', '.join(missing[:4])}" + ("…" if len(missing) > 4 else "")


_ALERT_SNIPPETS = {
    "error-rate": (
        "- alert: HighErrorRate\n"
        '  expr: sum(rate(http_requests_total{job="<app>",code=~"5.."}[5m]))\n'
        '      / sum(rate(http_requests_total{job="<app>"}[5m])) > 0.01\n'
        "  for: 5m\n  labels:\n    severity: critical\n  annotations:\n"
        '    summary: "More than 1% of requests fail"\n'
        "    runbook_url: <link to docs/runbooks/high-error-rate.md>\n"
    ),
    "latency": (
        "- alert: HighLatencyP99\n"
        "  expr: histogram_quantile(0.99, sum by (le) (rate(\n"
        '      http_request_duration_seconds_bucket{job="<app>"}[5m]))) > 0.5\n'
        "  for: 10m\n  labels:\n    severity: warning\n  annotations:\n"
        "    runbook_url: <link to docs/runbooks/high-latency.md>\n"
    ),
    "saturation": (
        "- alert: ContainerMemoryNearLimit\n"
        '  expr: max by (pod) (container_memory_working_set_bytes{container="<app>"}\n'
        '      / container_spec_memory_limit_bytes{container="<app>"}) > 0.9\n'
        "  for: 15m\n  labels:\n    severity: warning\n"
        "- alert: PersistentVolumeFillingUp\n"
        "  expr: kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes < 0.1\n"
        "  for: 15m\n"
    ),
    "availability": (
        "- alert: EndpointDown\n"
        '  expr: avg_over_time(probe_success{job="blackbox",instance="https://<host>/healthz"}[5m])'
        " < 0.9\n"
        "  for: 2m\n  labels:\n    severity: critical\n  annotations:\n"
        "    runbook_url: <link to docs/runbooks/endpoint-down.md>\n"
        "(with a blackbox-exporter scrape job or a Probe object probing the public URL)\n"
    ),
}


_CLOUDWATCH_SNIPPETS = {
    "error-rate": (
        'resource "aws_cloudwatch_metric_alarm" "api_5xx" {\n'
        '  alarm_name          = "<service>-5xx-ratio"\n'
        '  comparison_operator = "GreaterThanThreshold"\n  threshold = 1\n'
        "  evaluation_periods  = 5\n"
        '  metric_query {\n    id = "ratio"\n'
        '    expression  = "100 * errors / requests"\n    return_data = true\n  }\n'
        "  # metric_query blocks 'errors' (HTTPCode_Target_5XX_Count) and 'requests'\n"
        "  # (RequestCount) on the load balancer, period 60\n"
        "  alarm_actions = [aws_sns_topic.pager.arn]\n}\n"
    ),
    "latency": (
        'resource "aws_cloudwatch_metric_alarm" "api_p99" {\n'
        '  alarm_name          = "<service>-p99-latency"\n'
        '  namespace           = "AWS/ApplicationELB"\n'
        '  metric_name         = "TargetResponseTime"\n  extended_statistic = "p99"\n'
        '  comparison_operator = "GreaterThanThreshold"\n  threshold = 0.5\n'
        "  period = 60\n  evaluation_periods = 10\n"
        "  alarm_actions = [aws_sns_topic.pager.arn]\n}\n"
    ),
    "saturation": (
        'resource "aws_cloudwatch_metric_alarm" "db_storage" {\n'
        '  alarm_name          = "<service>-db-free-storage-low"\n'
        '  namespace           = "AWS/RDS"\n  metric_name = "FreeStorageSpace"\n'
        '  comparison_operator = "LessThanThreshold"\n  threshold = 10737418240\n'
        '  statistic = "Minimum"\n  period = 300\n  evaluation_periods = 3\n}\n'
        "(and CPUUtilization > 80 and DatabaseConnections alarms in the same way)\n"
    ),
    "availability": (
        'resource "aws_synthetics_canary" "api" {\n  name = "<service>-health"\n'
        '  runtime_version = "syn-nodejs-puppeteer-9.1"\n'
        '  schedule { expression = "rate(1 minute)" }\n  # script: GET https://<host>/healthz\n'
        "}\n"
        "plus an aws_cloudwatch_metric_alarm on CloudWatchSynthetics SuccessPercent < 90\n"
    ),
}


def _snippet(cls: str, obs: ObservabilityFacts) -> str:
    if obs.rule_files:
        return f"Add to a rule group in {obs.rule_files[0]}:\n\n{_ALERT_SNIPPETS[cls]}"
    cloudwatch = [a for a in obs.alerts if a.source == "aws_cloudwatch_metric_alarm"]
    if cloudwatch:
        return f"Add next to {cloudwatch[0].path}:\n\n{_CLOUDWATCH_SNIPPETS[cls]}"
    return f"Add a Prometheus alerting rule:\n\n{_ALERT_SNIPPETS[cls]}"


_PROBE = re.compile(r"probe_|blackbox|synthetics|uptime_check|healthyhostcount|healthcheckstatus")
_SELF_ALERTING_SYNTHETICS = (
    "datadog_synthetics_test",
    "pingdom_check",
    "checkly_check",
    "uptimerobot_monitor",
    "newrelic_synthetics",
    "betteruptime_monitor",
    "grafana_synthetic_monitoring_check",
)


@check(
    "reliability.alert-rules",
    items=[
        "reliability.alerting.error-rate-alerts",
        "reliability.alerting.latency-alerts",
        "reliability.alerting.resource-utilization-alerts",
        "reliability.alerting.availability-alerts",
    ],
    needs=[ObservabilityFacts],
)
def alert_rules(ctx: CheckContext) -> Iterator[Result]:
    """Alert rules cover error rate, latency, resource saturation and availability."""
    obs = ctx.get(ObservabilityFacts)
    problems = obs.unreadable_of("rules")
    if not obs.alerts and not obs.rule_files and not problems:
        return
    total = len(obs.alerts)
    yield from _class_item(
        ctx,
        obs,
        "reliability.alerting.error-rate-alerts",
        "error-rate",
        "error-rate",
        "error_rate_threshold",
        _percent,
        "%",
        problems,
        total,
    )
    yield from _class_item(
        ctx,
        obs,
        "reliability.alerting.latency-alerts",
        "latency",
        "latency",
        "latency_threshold",
        _latency,
        "",
        problems,
        total,
    )
    yield from _class_item(
        ctx,
        obs,
        "reliability.alerting.resource-utilization-alerts",
        "saturation",
        "resource utilization",
        "utilization_threshold",
        _percent,
        "%",
        problems,
        total,
    )
    yield from _availability(ctx, obs, problems, total)


def _class_item(
    ctx: CheckContext,
    obs: ObservabilityFacts,
    item: str,
    cls: str,
    label: str,
    field: str,
    measure: Callable[[Alert], float | str | None],
    unit: str,
    problems: list[Unreadable],
    total: int,
) -> Iterator[Result]:
    alerts = obs.alerts_of(cls)
    if alerts:
        values = [v for a in alerts if (v := measure(a)) is not None]
        fields: dict[str, float | str] = {}
        threshold = ""
        if values:
            fields[field] = min(values, key=_sort_key)
            threshold = f"; lowest threshold {fields[field]}{unit}"
        shown = "; ".join(_describe(a) for a in alerts[:4])
        more = f" and {len(alerts) - 4} more" if len(alerts) > 4 else ""
        yield ctx.passed(
            item,
            f"{len(alerts)} {label} alert(s): {shown}{more}{threshold}{_runbook_note(alerts)}",
            *_alert_evidence(alerts),
            fields=fields,
        )
        return
    if problems:
        yield _unknown(ctx, item, "Alert rule files", problems)
        return
    yield ctx.failed(
        item,
        f"None of the {total} alert rule(s) watches {label}"
        + (f" (rule files: {', '.join(obs.rule_files[:3])})" if obs.rule_files else ""),
        *_where_alerts_are(obs, f"alert rules without a {label} alert"),
        remediation=_snippet(cls, obs),
    )


def _where_alerts_are(obs: ObservabilityFacts, summary: str) -> list[Evidence]:
    """Evidence for a missing kind of alert: the rule files, or the alerts that do exist."""
    if obs.rule_files:
        return [Evidence(summary, path) for path in obs.rule_files[:3]]
    return [Evidence(f"{summary}: {a.name}", a.path, a.line) for a in obs.alerts[:3]]


def _sort_key(value: object) -> float:
    if isinstance(value, float | int):
        return float(value)
    text = str(value)
    match = re.match(r"([\d.]+)(ms|s|m|h|d|w)$", text)
    if not match:
        return 0.0
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]
    return float(match.group(1)) * scale


def _availability(
    ctx: CheckContext, obs: ObservabilityFacts, problems: list[Unreadable], total: int
) -> Iterator[Result]:
    item = "reliability.alerting.availability-alerts"
    alerts = obs.alerts_of("availability")
    paging = [a for a in alerts if is_paging(a)]
    probes = [a for a in paging if _PROBE.search(a.expr.lower()) or "slo-burn" in a.classes]
    alerting_synthetics = [
        s for s in obs.signals_of("synthetic") if s.name.startswith(_SELF_ALERTING_SYNTHETICS)
    ]
    if probes or alerting_synthetics:
        values = []
        for alert in probes:
            t = alert.threshold
            if t and t.op in {"<", "<="} and "probe_success" in alert.expr and 0 < t.value <= 1:
                values.append(round(t.value * 100, 4))
        fields = {"availability_threshold": max(values)} if values else {}
        described = [_describe(a) for a in probes[:4]] + [
            f"{s.name} ({s.location})" for s in alerting_synthetics[:3]
        ]
        yield ctx.passed(
            item,
            "The public endpoint is probed and unavailability pages: "
            + "; ".join(described)
            + _runbook_note(probes),
            *_alert_evidence(probes),
            *(_sig(s) for s in alerting_synthetics[:4]),
            fields=fields,
        )
        return
    if paging:
        probes_without_alert = obs.signals_of("synthetic")
        note = (
            "; the external probe "
            + ", ".join(f"{s.name} ({s.location})" for s in probes_without_alert[:2])
            + " has no alert of its own"
            if probes_without_alert
            else "; nothing probes the public endpoint from outside"
        )
        yield ctx.passed(
            item,
            "Unavailability pages: "
            + "; ".join(_describe(a) for a in paging[:4])
            + note
            + _runbook_note(paging),
            *_alert_evidence(paging),
            *(_sig(s) for s in probes_without_alert[:2]),
        )
        return
    if problems:
        yield _unknown(ctx, item, "Alert rule files", problems)
        return
    if alerts:
        yield ctx.failed(
            item,
            "Availability alerts do not page: "
            + "; ".join(_describe(a) for a in alerts[:4])
            + " (no critical/page severity)",
            *_alert_evidence(alerts),
            remediation=_snippet("availability", obs),
        )
        return
    yield ctx.failed(
        item,
        f"None of the {total} alert rule(s) watches availability (no probe, up == 0, absent() or "
        "SLO burn-rate alert)",
        *_where_alerts_are(obs, "alert rules without an availability alert"),
        remediation=_snippet("availability", obs),
    )


# ------------------------------------------------------------------- routing


def _route_text(config: AlertmanagerConfig) -> str:
    parts = []
    for route in config.routes:
        receiver = config.receiver(route.effective_receiver)
        kinds = ",".join(receiver.integrations) if receiver and receiver.integrations else "nothing"
        where = " & ".join(route.matchers) if route.matchers else "default"
        parts.append(f"{where} → {route.effective_receiver} ({kinds})")
    return "; ".join(parts[:5])


def _routing_faults(config: AlertmanagerConfig) -> list[str]:
    faults = []
    names = {r.name for r in config.receivers}
    root = config.root
    if root is None or not root.receiver:
        faults.append("the root route names no receiver")
    elif root.receiver not in names:
        faults.append(f"the default receiver {root.receiver!r} is not defined")
    elif config.receiver_class(root.receiver) == "none":
        faults.append(
            f"the default receiver {root.receiver!r} has no integration, so alerts no route "
            "matches are dropped"
        )
    for route in config.routes[1:]:
        if route.receiver and route.receiver not in names:
            faults.append(
                f"route {' & '.join(route.matchers) or '(no matchers)'} sends to "
                f"undefined receiver {route.receiver!r} (line {route.line})"
            )
    return faults


@check(
    "reliability.alert-routing",
    items=[
        "reliability.alerting.alert-routing-configured",
        "reliability.alerting.pagerduty-opsgenie-setup",
    ],
    needs=[ObservabilityFacts],
)
def alert_routing(ctx: CheckContext) -> Iterator[Result]:
    """Alertmanager routes every alert to a real receiver, and urgent ones reach a paging tool."""
    obs = ctx.get(ObservabilityFacts)
    configs = obs.alertmanagers
    problems = obs.unreadable_of("alertmanager")
    yield from _routing(ctx, configs, problems)
    yield from _paging(ctx, obs, configs, problems)


def _routing(
    ctx: CheckContext, configs: tuple[AlertmanagerConfig, ...], problems: list[Unreadable]
) -> Iterator[Result]:
    item = "reliability.alerting.alert-routing-configured"
    if not configs:
        if problems:
            yield _unknown(ctx, item, "Alertmanager configuration", problems)
        return
    faults = [(c, f) for c in configs for f in _routing_faults(c)]
    evidence = [
        Evidence(f"route tree: {_route_text(c)}", c.path, c.line) for c in configs[:MAX_EVIDENCE]
    ]
    if faults:
        config = faults[0][0]
        yield ctx.failed(
            item,
            "Alert routing loses alerts: " + "; ".join(f"{c.path}: {f}" for c, f in faults[:4]),
            *evidence,
            remediation=(
                f"In {config.path}, send unmatched alerts to a team receiver that notifies:\n\n"
                "route:\n  receiver: <team>-chat\n  group_by: [alertname, service]\n  routes:\n"
                "    - matchers: ['severity=\"critical\"']\n      receiver: <team>-pager\n"
                "receivers:\n  - name: <team>-chat\n    slack_configs:\n"
                "      - channel: '#<team>-alerts'\n  - name: <team>-pager\n"
                "    pagerduty_configs:\n      - routing_key_file: /etc/alertmanager/pd-key\n"
            ),
        )
        return
    if problems:
        yield _unknown(ctx, item, "Alertmanager configuration", problems)
        return
    yield ctx.passed(
        item,
        "Alerts are routed: " + " | ".join(f"{c.path}: {_route_text(c)}" for c in configs[:3]),
        *evidence,
    )


def _paging(
    ctx: CheckContext,
    obs: ObservabilityFacts,
    configs: tuple[AlertmanagerConfig, ...],
    problems: list[Unreadable],
) -> Iterator[Result]:
    item = "reliability.alerting.pagerduty-opsgenie-setup"
    routed: list[tuple[AlertmanagerConfig, str, str]] = []
    unrouted: list[tuple[AlertmanagerConfig, str, int | None]] = []
    for config in configs:
        used = {r.effective_receiver for r in config.routes}
        for receiver in config.receivers:
            kinds = [i for i in receiver.integrations if integration_class(i) == "paging"]
            if not kinds:
                continue
            if receiver.name in used:
                routes = [
                    " & ".join(r.matchers) or "default"
                    for r in config.routes
                    if r.effective_receiver == receiver.name
                ]
                routed.append(
                    (config, receiver.name, f"{'/'.join(kinds)} for {', '.join(routes[:3])}")
                )
            else:
                unrouted.append((config, receiver.name, receiver.line))
    tf = [s for s in obs.signals_of("paging") if s.name != "reference"]
    tf += obs.signals_of("escalation-policy")
    if routed or tf:
        parts = [f"receiver {name} ({what}) in {c.path}" for c, name, what in routed[:3]]
        parts += [f"{s.name} ({s.location})" for s in tf[:3]]
        yield ctx.passed(
            item,
            "Alerts reach a paging tool: " + "; ".join(parts),
            *(
                Evidence(f"paging receiver {name}: {what}", c.path, c.line)
                for c, name, what in routed[:4]
            ),
            *(_sig(s) for s in tf[:4]),
        )
        return
    if unrouted:
        config, name, _ = unrouted[0]
        yield ctx.failed(
            item,
            f"Paging receiver {name!r} in {config.path} is defined but no route sends alerts to it",
            *(Evidence(f"unrouted paging receiver {n}", c.path, ln) for c, n, ln in unrouted[:4]),
            remediation=(
                f"In {config.path}, route urgent alerts to it:\n\nroute:\n  routes:\n"
                f"    - matchers: ['severity=\"critical\"']\n      receiver: {name}\n"
            ),
        )
        return
    if problems:
        yield _unknown(ctx, item, "Alertmanager configuration", problems)
        return
    if configs:
        kinds = sorted({i for c in configs for r in c.receivers for i in r.integrations})
        config = configs[0]
        yield ctx.failed(
            item,
            f"No paging tool: Alertmanager receivers only use {', '.join(kinds) or 'nothing'} "
            f"({', '.join(c.path for c in configs[:3])})",
            *(Evidence(f"route tree: {_route_text(c)}", c.path, c.line) for c in configs[:4]),
            remediation=(
                f"In {config.path}, add a PagerDuty (or Opsgenie) receiver and route critical "
                "alerts to it:\n\nreceivers:\n  - name: <team>-pager\n    pagerduty_configs:\n"
                "      - routing_key_file: /etc/alertmanager/secrets/pagerduty-key\n"
                "route:\n  routes:\n    - matchers: ['severity=\"critical\"']\n"
                "      receiver: <team>-pager\n"
            ),
        )


@check(
    "reliability.escalation-policy",
    items=["reliability.alerting.escalation-policies-defined"],
    needs=[ObservabilityFacts, DocsFacts],
)
def escalation_policy(ctx: CheckContext) -> Iterator[Result]:
    """An unacknowledged page escalates to a secondary and a manager after stated delays."""
    item = "reliability.alerting.escalation-policies-defined"
    obs = ctx.get(ObservabilityFacts)
    docs = ctx.get(DocsFacts)
    good, shows, weak, wrong = escalation_evidence(docs, obs)
    if good:
        yield ctx.passed(item, "Escalation policy: " + "; ".join(shows[:3]), *good[:MAX_EVIDENCE])
        return
    problems = docs.unreadable_of("escalation") + obs.unreadable_of("alertmanager")
    if problems:
        yield _unknown(ctx, item, "Escalation evidence", problems)
        return
    if weak:
        yield ctx.failed(
            item,
            "Escalation policy is incomplete: " + "; ".join(wrong[:3]),
            *weak[:MAX_EVIDENCE],
            remediation=_escalation_snippet(docs),
        )
        return
    configs = obs.alertmanagers
    pages = any(
        integration_class(i) == "paging"
        for c in configs
        for r in c.receivers
        for i in r.integrations
    )
    tf_paging = [s for s in obs.signals_of("paging") if s.name != "reference"]
    if configs and not pages and not tf_paging:
        kinds = sorted({i for c in configs for r in c.receivers for i in r.integrations})
        yield ctx.failed(
            item,
            f"Nothing can escalate: alerts only reach {', '.join(kinds) or 'no integration'} "
            f"({', '.join(c.path for c in configs[:3])}), no paging tool with an escalation policy",
            *(Evidence("receivers without a paging tool", c.path, c.line) for c in configs[:4]),
            remediation=_escalation_snippet(docs),
        )


def _escalation_snippet(docs: DocsFacts) -> str:
    return (
        "Define the escalation in the paging tool, e.g. with Terraform:\n\n"
        'resource "pagerduty_escalation_policy" "<team>" {\n  name      = "<team>"\n'
        "  num_loops = 2\n  rule {\n    escalation_delay_in_minutes = 15\n"
        '    target { type = "schedule_reference"  id = pagerduty_schedule.primary.id }\n  }\n'
        "  rule {\n    escalation_delay_in_minutes = 15\n"
        '    target { type = "schedule_reference"  id = pagerduty_schedule.secondary.id }\n  }\n'
        "  rule {\n    escalation_delay_in_minutes = 30\n"
        '    target { type = "user_reference"  id = pagerduty_user.manager.id }\n  }\n}\n\n'
        + template("escalation", docs)
    )
