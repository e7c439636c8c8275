"""Observability evidence: what the repository says about metrics, logs, traces and alerts.

Reads Prometheus alerting and recording rules (plain rule files, Kubernetes
``PrometheusRule`` objects and rule groups embedded in Helm values), Alertmanager
routing (``alertmanager.yml``, ``AlertmanagerConfig`` objects, embedded configs),
Grafana dashboards (JSON files, ``grafana_dashboard`` ConfigMaps), OpenTelemetry
collector configs, log shippers, scrape registrations, cloud alarms and paging
resources in Terraform, the metrics/tracing libraries in dependency manifests and
the metric names that code defines. It knows nothing of checklists: checks decide
what the facts mean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import PurePosixPath
from typing import Any, ClassVar

from prr.collectors.base import CollectContext, Collector, register
from prr.collectors.files import FileEntry
from prr.errors import CollectorError
from prr.model.yamlsource import YamlDocument, YamlProblem, load_yaml_documents

NAME = "observability"

# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class Threshold:
    """The literal a rule compares against, e.g. ``> 0.05``; ``percent`` when ``* 100`` is used."""

    op: str
    value: float
    percent_scale: bool = False


@dataclass(frozen=True)
class Alert:
    """One alerting rule (Prometheus rule, cloud alarm or monitor) and how it was classified."""

    name: str
    expr: str
    path: str
    line: int | None
    group: str = ""
    for_duration: str | None = None
    severity: str | None = None
    team: str | None = None
    runbook_url: str | None = None
    summary: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    classes: frozenset[str] = frozenset()
    """Any of ``error-rate``, ``latency``, ``availability``, ``saturation``, ``slo-burn``."""
    metrics: frozenset[str] = frozenset()
    threshold: Threshold | None = None
    source: str = "prometheus"
    """``prometheus`` (rule file / PrometheusRule) or the Terraform resource type."""

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class RecordingRule:
    """A Prometheus recording rule; ``slo`` when it belongs to SLO tooling (sloth, pyrra …)."""

    record: str
    expr: str
    path: str
    line: int | None
    slo: bool = False
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Route:
    """One node of an Alertmanager route tree (depth 0 is the root)."""

    receiver: str | None
    """The receiver named on this route; None when it inherits its parent's."""
    effective_receiver: str | None
    matchers: tuple[str, ...]
    group_by: tuple[str, ...]
    continue_matching: bool
    depth: int
    line: int | None


@dataclass(frozen=True)
class Receiver:
    """An Alertmanager receiver and its integration types.

    Types are the config keys without ``_configs`` (``pagerduty``, ``slack`` …); a
    webhook that posts to a paging tool is ``webhook:<tool>``.
    """

    name: str
    integrations: tuple[str, ...]
    line: int | None
    paging_keys: tuple[str, ...] = ()
    """How each paging integration gets its key: ``secret-ref`` (a Secret key selector),
    ``file`` (``*_file``), ``placeholder`` (``${VAR}``, ``{{ … }}`` filled at deploy time),
    ``global`` (the config's ``global`` section), ``literal`` (written into the file) or
    ``none``. Values are never kept."""
    schedules: tuple[str, ...] = ()
    """On-call schedules named as responders (Opsgenie ``responders: [{type: schedule}]``)."""
    escalations: tuple[str, ...] = ()
    """Escalation policies named as responders."""


PAGING_INTEGRATIONS = frozenset({"pagerduty", "opsgenie", "victorops", "pushover"})
CHAT_INTEGRATIONS = frozenset(
    {"slack", "msteams", "msteamsv2", "discord", "telegram", "webex", "wechat", "rocketchat"}
)


def integration_class(integration: str) -> str:
    """``paging``, ``chat``, ``email``, ``ticket`` or ``other`` for an integration type."""
    if integration in PAGING_INTEGRATIONS or integration.startswith("webhook:"):
        return "paging"
    if integration in CHAT_INTEGRATIONS:
        return "chat"
    if integration == "email":
        return "email"
    if integration == "jira":
        return "ticket"
    return "other"


@dataclass(frozen=True)
class AlertmanagerConfig:
    """An Alertmanager routing configuration and what it routes where."""

    path: str
    line: int | None
    source: str
    """``alertmanager`` (a config file or embedded config) or ``AlertmanagerConfig``."""
    routes: tuple[Route, ...]
    receivers: tuple[Receiver, ...]
    inhibit_rules: int = 0

    @property
    def root(self) -> Route | None:
        return self.routes[0] if self.routes else None

    def receiver(self, name: str | None) -> Receiver | None:
        for receiver in self.receivers:
            if receiver.name == name:
                return receiver
        return None

    def receiver_class(self, name: str | None) -> str:
        """The strongest integration class of a receiver: paging > chat > email > ticket."""
        receiver = self.receiver(name)
        if receiver is None or not receiver.integrations:
            return "none"
        classes = {integration_class(i) for i in receiver.integrations}
        for candidate in ("paging", "chat", "email", "ticket"):
            if candidate in classes:
                return candidate
        return "other"

    @property
    def severity_routes(self) -> tuple[Route, ...]:
        """Routes that match on severity/priority/urgency labels."""
        keys = ("severity", "priority", "urgency", "level")
        return tuple(
            r for r in self.routes if r.depth > 0 and any(m.startswith(keys) for m in r.matchers)
        )

    @property
    def escalation_levels(self) -> bool:
        """True when severity-matched routes send some alerts to paging and others elsewhere."""
        classes = {self.receiver_class(r.effective_receiver) for r in self.severity_routes}
        root = self.root
        if root is not None:
            classes.add(self.receiver_class(root.effective_receiver))
        return "paging" in classes and len(classes - {"none"}) >= 2


@dataclass(frozen=True)
class Dashboard:
    """A dashboard stored as code and what its panels query."""

    title: str
    path: str
    line: int | None
    panels: int
    metrics: frozenset[str]
    signals: frozenset[str]
    """Golden signals its queries show (``traffic``, ``error-rate``, ``latency`` …)."""
    slo: bool
    """Shows SLIs/SLOs, error budget or burn rate."""
    source: str = "grafana"


@dataclass(frozen=True)
class Signal:
    """One piece of telemetry evidence found by name in a file (a library, agent, exporter …).

    ``kind`` is one of :data:`SIGNAL_KINDS`.
    """

    kind: str
    name: str
    path: str
    line: int | None
    detail: str = ""

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


SIGNAL_KINDS = (
    "metrics-library",
    "tracing-library",
    "log-library",
    "error-tracking",
    "otel-collector",
    "otel-env",
    "auto-instrumentation",
    "tracing-backend",
    "log-agent",
    "log-store",
    "scrape",
    "infra-exporter",
    "synthetic",
    "paging",
    "escalation-policy",
    "dashboard-resource",
    "status-page",
    "workload",
)


@dataclass(frozen=True)
class MetricDefinition:
    """A metric that code defines; ``business`` when its name is not a generic technical one."""

    name: str
    type: str
    path: str
    line: int | None
    business: bool


@dataclass(frozen=True)
class Unreadable:
    """A file of a known kind (``rules``, ``alertmanager``, ``dashboard`` …) not readable."""

    path: str
    kind: str
    reason: str
    line: int | None = None


@dataclass(frozen=True)
class OnCallSchedule:
    """An on-call schedule kept as code (Terraform, a schedule file) and what it states."""

    name: str
    tool: str
    """``pagerduty``, ``opsgenie``, ``grafana-oncall`` or ``file``."""
    path: str
    line: int | None
    members: int = 0
    """People (or user references) taking turns; 0 when this definition names none."""
    shift: str | None = None
    """Turn length or cadence as written (``weekly``, ``7d``, ``12h``)."""
    layers: int = 0

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    @property
    def rotates(self) -> bool:
        """Whether it describes a rotation: people taking turns at a stated cadence."""
        return self.members >= 1 and self.shift is not None


@dataclass(frozen=True)
class ObservabilityFacts:
    """Everything the repository shows about monitoring, logging, tracing and alerting."""

    alerts: tuple[Alert, ...] = ()
    recording_rules: tuple[RecordingRule, ...] = ()
    rule_files: tuple[str, ...] = ()
    alertmanagers: tuple[AlertmanagerConfig, ...] = ()
    dashboards: tuple[Dashboard, ...] = ()
    signals: tuple[Signal, ...] = ()
    metrics: tuple[MetricDefinition, ...] = ()
    manifests: tuple[str, ...] = ()
    """Dependency manifests that were read (requirements.txt, go.mod, package.json …)."""
    unreadable: tuple[Unreadable, ...] = ()
    schedules: tuple[OnCallSchedule, ...] = ()

    def signals_of(self, *kinds: str) -> list[Signal]:
        return [s for s in self.signals if s.kind in kinds]

    def unreadable_of(self, *kinds: str) -> list[Unreadable]:
        return [u for u in self.unreadable if u.kind in kinds]

    def alerts_of(self, cls: str) -> list[Alert]:
        return [a for a in self.alerts if cls in a.classes]


# ------------------------------------------------------------------ classification


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Patterns on the lower-cased expression and on the lower-cased alert/panel name.
# An expression or name may match several classes.
CLASS_PATTERNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "error-rate": (
        (
            r"(status|code|status_code|http_status|response_code|statuscode)\s*(=~|=)\s*\"\^?\(?5",
            r"grpc_(code|status)\s*(=~|!~|!=|=)\s*\"[^\"]*(internal|unavailable|unknown|deadlineexceeded|dataloss|ok)",
            r"outcome\s*=~?\s*\"(server_error|failure)",
            r"_errors?(_total|_count)?\b",
            r"_failures?(_total|_count)?\b",
            r"_failed(_total|_count)?\b",
            r"exceptions?_total",
            r"error_?(rate|ratio)",
            r"sli_error",
            r"5xx",
            r"\berrors\b",
        ),
        (r"error", r"5xx", r"(?<!readiness)(?<!readiness )fail", r"exception"),
    ),
    "latency": (
        (
            r"histogram_quantile",
            r"_duration(_seconds|_ms|_milliseconds)?",
            r"latency",
            r"response_?time",
            r"_seconds_bucket",
        ),
        (r"latency", r"slow(?! ?burn)", r"duration", r"response ?time"),
    ),
    "availability": (
        (
            r"\bup\s*(==|<)\s*[01]\b",
            r"\babsent(_over_time)?\s*\(",
            r"probe_success",
            r"blackbox",
            r"probe_http_status_code",
            r"availab",
            r"healthyhostcount",
            r"statuscheckfailed",
            r"healthcheckstatus",
            r"uptime_check",
            r"synthetics",
        ),
        (
            r"down(?![a-z])",
            r"unavailable",
            r"unreachable",
            r"availability",
            r"absent",
            r"uptime",
            r"probe ?fail",
            r"endpoint ?down",
            r"readiness ?fail",
            r"not ?ready",
        ),
    ),
    "saturation": (
        (
            r"cpu",
            r"memory",
            r"node_filesystem",
            r"disk",
            r"container_memory_working_set_bytes",
            r"kube_pod_container_status_restarts",
            r"restarts",
            r"oom",
            r"pool",
            r"connections",
            r"queue",
            r"throttl",
            r"inode",
            r"file_?descriptors|open_fds|max_fds",
            r"kube_persistentvolume|kubelet_volume_stats",
            r"heap",
            r"saturation",
            r"utili[sz]ation",
            r"storage",
            r"consumergroup_lag|consumer_lag",
            r"approximatenumberofmessages|approximateageofoldestmessage",
            r"swapusage|freeablememory",
        ),
        (
            r"cpu",
            r"memory",
            r"disk",
            r"oom",
            r"restart",
            r"crashloop",
            r"saturat",
            r"throttl",
            r"pool",
            r"queue",
            r"lag",
            r"full",
            r"space",
            r"inode",
            r"heap",
            r"volume",
            r"utili[sz]",
            r"connections",
        ),
    ),
    "traffic": (
        (
            r"_requests?_(total|count)",
            r"http_server_requests",
            r"requests_per_second|\brps\b|\bqps\b",
            r"throughput",
        ),
        (r"request", r"traffic", r"\brps\b", r"\bqps\b", r"throughput"),
    ),
}
_COMPILED_CLASSES = {
    cls: (
        tuple(re.compile(p) for p in exprs),
        tuple(re.compile(p) for p in names),
    )
    for cls, (exprs, names) in CLASS_PATTERNS.items()
}
_BURN = re.compile(r"burn|error_?budget|slo:|sloth_|pyrra")


def classify(expr: str, name: str = "", extra: str = "") -> frozenset[str]:
    """The signal classes of a query and its name (``extra`` is searched like the name)."""
    low_expr = expr.lower()
    low_name = f"{name} {extra}".lower()
    found = set()
    for cls, (expr_patterns, name_patterns) in _COMPILED_CLASSES.items():
        if any(p.search(low_expr) for p in expr_patterns) or any(
            p.search(low_name) for p in name_patterns
        ):
            found.add(cls)
    if _BURN.search(low_expr) or _BURN.search(low_name):
        found.add("slo-burn")
        if "latency" not in found:
            found.add("error-rate")
        if re.search(r"availab|uptime", low_expr + " " + low_name):
            found.add("availability")
    return frozenset(found)


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_BRACES = re.compile(r"\{[^{}]*\}")
_BRACKETS = re.compile(r"\[[^\[\]]*\]")
_CLAUSES = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENT = re.compile(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w(])")
_PROMQL_WORDS = _words(
    "by without on ignoring group_left group_right bool and or unless offset inf nan sum min "
    "max avg count stddev stdvar topk bottomk quantile count_values group le s m h d w y ms "
)
_NUMBER = r"-?\d+(?:\.\d+)?(?:e-?\d+)?"
_COMPARISON = re.compile(
    rf"(==|!=|>=|<=|>|<)\s*(?:bool\s+)?(\(\s*{_NUMBER}\s*\*\s*{_NUMBER}\s*\)|{_NUMBER})(?![\w.])"
)


def promql_metrics(expr: str) -> frozenset[str]:
    """Metric names a PromQL expression reads (label matchers, functions and keywords removed)."""
    text = _STRINGS.sub(" ", expr)
    for _ in range(3):
        text = _BRACES.sub(" ", text)
    text = _BRACKETS.sub(" ", text)
    text = _CLAUSES.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        word = match.group(1)
        if word.lower() in _PROMQL_WORDS or word.replace(".", "").isdigit():
            continue
        names.add(word)
    return frozenset(names)


def _inside_call(text: str) -> list[bool]:
    """For each character: is it inside a function call's parentheses (``absent(up == 1)``)?"""
    flags: list[bool] = []
    stack: list[bool] = []
    calls = 0
    last = ""
    for char in text:
        if char == "(":
            is_call = last.isalnum() or last in {"_", ":"}
            stack.append(is_call)
            calls += is_call
        elif char == ")" and stack:
            calls -= stack.pop()
        flags.append(calls > 0)
        if not char.isspace():
            last = char
    return flags


def promql_threshold(expr: str) -> Threshold | None:
    """The last literal comparison of an expression (``> 0.05``, ``> (14.4 * 0.001)``)."""
    text = _STRINGS.sub(" ", expr)
    text = _BRACES.sub(" ", text)
    text = _BRACKETS.sub(" ", text)
    inside_call = _inside_call(text)
    matches = [m for m in _COMPARISON.finditer(text) if not inside_call[m.start()]]
    if not matches:
        return None
    op, literal = matches[-1].group(1), matches[-1].group(2)
    try:
        if literal.startswith("("):
            left, right = literal.strip("() ").split("*")
            value = float(left) * float(right)
        else:
            value = float(literal)
    except ValueError:
        return None
    scaled = bool(re.search(r"\*\s*100\b|\b100\s*\*", text))
    return Threshold(op, value, scaled)


# ------------------------------------------------------------- name-based signals

# Dependency manifests and what a matching line means: (pattern, kinds, display name).
LIBRARY_PATTERNS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (r"prometheus[-_]client\b", ("metrics-library",), "prometheus-client"),
    (
        r"prometheus[-_](flask[-_]exporter|fastapi[-_]instrumentator)|django[-_]prometheus|"
        r"starlette[-_]exporter|aioprometheus",
        ("metrics-library",),
        "prometheus instrumentation",
    ),
    (r"\bprom-client\b|express-prom-bundle", ("metrics-library",), "prom-client"),
    (r"github\.com/prometheus/client_golang", ("metrics-library",), "client_golang"),
    (r"io\.micrometer|micrometer-registry", ("metrics-library",), "micrometer"),
    (r"io\.prometheus|simpleclient", ("metrics-library",), "prometheus simpleclient"),
    (r"prometheus-net", ("metrics-library",), "prometheus-net"),
    (r"^\s*prometheus\s*=|metrics-exporter-prometheus", ("metrics-library",), "prometheus (Rust)"),
    (
        r"\bstatsd\b|hot-shots|datadog/datadog-go|dogstatsd|\bdatadog\b",
        ("metrics-library",),
        "statsd/datadog",
    ),
    (
        r"opentelemetry[-_](sdk|distro)\b|@opentelemetry/sdk-node|go\.opentelemetry\.io/otel/sdk\b|"
        r"io\.opentelemetry|^\s*opentelemetry(_sdk)?\s*=",
        ("tracing-library", "metrics-library"),
        "opentelemetry sdk",
    ),
    (
        r"opentelemetry[-_](api|instrumentation|exporter)|@opentelemetry/|go\.opentelemetry\.io/otel|"
        r"opentelemetry-otlp",
        ("tracing-library",),
        "opentelemetry",
    ),
    (r"jaeger[-_]client|jaegertracing|jaeger-client-go", ("tracing-library",), "jaeger"),
    (r"zipkin", ("tracing-library",), "zipkin"),
    (r"\bddtrace\b|dd-trace|dd-java-agent", ("tracing-library",), "datadog ddtrace"),
    (r"elastic-apm|elasticapm|co\.elastic\.apm", ("tracing-library",), "elastic-apm"),
    (r"\bnewrelic\b", ("tracing-library",), "newrelic"),
    (r"spring-cloud-starter-sleuth|micrometer-tracing", ("tracing-library",), "spring tracing"),
    (r"aws-xray-sdk|aws-xray", ("tracing-library",), "aws x-ray"),
    (r"honeycomb|beeline", ("tracing-library",), "honeycomb"),
    (r"sentry[-_]sdk|@sentry/|sentry-go|io\.sentry|\bsentry\b", ("error-tracking",), "sentry"),
    (
        r"\bstructlog\b|python-json-logger|go\.uber\.org/zap|sirupsen/logrus|rs/zerolog|\bpino\b|"
        r"\bwinston\b|\bbunyan\b|logstash-logback-encoder|\bserilog\b|\blograge\b",
        ("log-library",),
        "structured logging",
    ),
)
_LIBRARIES = tuple(
    (re.compile(p, re.IGNORECASE | re.MULTILINE), k, n) for p, k, n in LIBRARY_PATTERNS
)

MANIFEST_NAMES = (
    "requirements*.txt",
    "requirements/*.txt",
    "pipfile",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "package.json",
    "go.mod",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "gemfile",
    "cargo.toml",
    "*.csproj",
    "composer.json",
    "mix.exs",
)

# Container images and Helm charts, by substring of the image/chart name.
COMPONENTS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("node-exporter", ("infra-exporter",), "node-exporter"),
    ("node_exporter", ("infra-exporter",), "node-exporter"),
    ("kube-state-metrics", ("infra-exporter",), "kube-state-metrics"),
    ("kube-prometheus-stack", ("infra-exporter", "scrape"), "kube-prometheus-stack"),
    ("prometheus-operator", ("scrape",), "prometheus-operator"),
    ("cadvisor", ("infra-exporter",), "cadvisor"),
    ("cloudwatch-agent", ("infra-exporter",), "cloudwatch-agent"),
    ("amazon-cloudwatch", ("infra-exporter",), "cloudwatch-agent"),
    ("datadog/agent", ("infra-exporter",), "datadog-agent"),
    ("datadoghq/agent", ("infra-exporter",), "datadog-agent"),
    ("datadog", ("infra-exporter",), "datadog"),
    ("ops-agent", ("infra-exporter",), "google-ops-agent"),
    ("fluent-bit", ("log-agent",), "fluent-bit"),
    ("fluentbit", ("log-agent",), "fluent-bit"),
    ("fluentd", ("log-agent",), "fluentd"),
    ("timberio/vector", ("log-agent",), "vector"),
    ("/vector:", ("log-agent",), "vector"),
    ("promtail", ("log-agent",), "promtail"),
    ("filebeat", ("log-agent",), "filebeat"),
    ("grafana/agent", ("log-agent",), "grafana-agent"),
    ("grafana/alloy", ("log-agent",), "grafana-alloy"),
    ("loki", ("log-store",), "loki"),
    ("opentelemetry-collector", ("otel-collector",), "opentelemetry-collector"),
    ("otel/opentelemetry", ("otel-collector",), "opentelemetry-collector"),
    ("opentelemetry-operator", ("otel-collector",), "opentelemetry-operator"),
    ("jaegertracing", ("tracing-backend",), "jaeger"),
    ("jaeger", ("tracing-backend",), "jaeger"),
    ("grafana/tempo", ("tracing-backend",), "tempo"),
    ("tempo", ("tracing-backend",), "tempo"),
    ("zipkin", ("tracing-backend",), "zipkin"),
    ("blackbox-exporter", ("synthetic",), "blackbox-exporter"),
    ("blackbox_exporter", ("synthetic",), "blackbox-exporter"),
)

# Line patterns in configuration files: (pattern, kind, name).
_PAGING_NEEDLES = ("pagerduty", "opsgenie", "victorops", "splunk", "oncall", "squadcast")
# Patterns in configuration files: (lower-case substrings one of which must occur, pattern,
# kind, name). The substrings gate the regex, which is searched once per file.
CONFIG_PATTERNS: tuple[tuple[tuple[str, ...], str, str, str], ...] = (
    (
        ("prometheus.io/scrape",),
        r"prometheus\.io/scrape[\"']?\s*[:=]\s*[\"']?true",
        "scrape",
        "prometheus.io/scrape annotation",
    ),
    (
        ("instrumentation.opentelemetry.io",),
        r"instrumentation\.opentelemetry\.io/inject-\w+",
        "auto-instrumentation",
        "otel operator",
    ),
    (
        ("-javaagent",),
        r"-javaagent:\S*(opentelemetry|dd-java-agent|elastic-apm|newrelic|applicationinsights)",
        "auto-instrumentation",
        "java agent",
    ),
    (
        ("dd_logs_enabled", "logs_enabled"),
        r"DD_LOGS_ENABLED[\"']?\s*[:=]\s*[\"']?true|^\s*logs_enabled:\s*true",
        "log-agent",
        "datadog",
    ),
    (
        ("dd_trace_enabled", "dd_agent_host"),
        r"DD_TRACE_ENABLED[\"']?\s*[:=]\s*[\"']?true|DD_AGENT_HOST",
        "tracing-library",
        "datadog",
    ),
    (
        ("driver",),
        r"log_?driver[\"']?\s*[:=]\s*[\"']?(awslogs|fluentd|splunk|gelf|awsfirelens|loki)|"
        r"^\s*driver:\s*[\"']?(fluentd|loki|gelf|splunk|awslogs)",
        "log-agent",
        "container logging driver",
    ),
    (
        (*_PAGING_NEEDLES, "incident.io", "firehydrant"),
        r"pagerduty|opsgenie|victorops|splunk[-_ ]?on[-_ ]?call|grafana[-_ ]?oncall|squadcast|"
        r"incident\.io|firehydrant",
        "paging",
        "reference",
    ),
    (("remote_write",), r"prometheus_remote_write|remote_write:", "scrape", "remote_write"),
)
_CONFIG = tuple(
    (needles, re.compile(p, re.IGNORECASE | re.MULTILINE), k, n)
    for needles, p, k, n in CONFIG_PATTERNS
)
_OTEL_ENV = re.compile(r"\b(OTEL_[A-Z_]+)\b(?:[\"']?\s*[:=]\s*[\"']?([a-z_,]+))?")
_IMAGE = re.compile(r"\bimage[\"']?\s*[:=]\s*[\"']?([^\s\"'}]+)", re.IGNORECASE)
_CHART = re.compile(r"\bchart[\"']?\s*[:=]\s*[\"']?(?:[\w.:-]+/)*([\w.-]+)", re.IGNORECASE)
_CHART_DEP = re.compile(r"^\s*-?\s*name:\s*[\"']?([\w.-]+)", re.MULTILINE)
_WORKLOAD = re.compile(r"^kind:\s*(Deployment|StatefulSet)\s*$", re.MULTILINE)
_PAGING_TOOLS = (
    ("pagerduty", "pagerduty"),
    ("opsgenie", "opsgenie"),
    ("victorops", "victorops"),
    ("splunk", "victorops"),
    ("oncall", "grafana-oncall"),
    ("squadcast", "squadcast"),
    ("incident.io", "incident.io"),
    ("firehydrant", "firehydrant"),
    ("ilert", "ilert"),
    ("zenduty", "zenduty"),
    ("rootly", "rootly"),
)

# Terraform resource types and what they are evidence of.
TF_ALERTS = (
    "aws_cloudwatch_metric_alarm",
    "datadog_monitor",
    "google_monitoring_alert_policy",
    "azurerm_monitor_metric_alert",
    "newrelic_nrql_alert_condition",
)
TF_SIGNALS: dict[str, str] = {
    "pagerduty_service": "paging",
    "pagerduty_service_integration": "paging",
    "pagerduty_schedule": "paging",
    "opsgenie_team": "paging",
    "opsgenie_schedule": "paging",
    "opsgenie_api_integration": "paging",
    "grafana_oncall_integration": "paging",
    "grafana_oncall_schedule": "paging",
    "pagerduty_escalation_policy": "escalation-policy",
    "opsgenie_escalation": "escalation-policy",
    "grafana_oncall_escalation_chain": "escalation-policy",
    "datadog_synthetics_test": "synthetic",
    "aws_synthetics_canary": "synthetic",
    "google_monitoring_uptime_check_config": "synthetic",
    "pingdom_check": "synthetic",
    "checkly_check": "synthetic",
    "uptimerobot_monitor": "synthetic",
    "newrelic_synthetics_monitor": "synthetic",
    "newrelic_synthetics_script_monitor": "synthetic",
    "azurerm_application_insights_standard_web_test": "synthetic",
    "azurerm_application_insights_web_test": "synthetic",
    "grafana_synthetic_monitoring_check": "synthetic",
    "betteruptime_monitor": "synthetic",
    "aws_route53_health_check": "synthetic",
    "grafana_dashboard": "dashboard-resource",
    "datadog_dashboard": "dashboard-resource",
    "datadog_dashboard_json": "dashboard-resource",
    "aws_cloudwatch_dashboard": "dashboard-resource",
    "google_monitoring_dashboard": "dashboard-resource",
    "newrelic_one_dashboard": "dashboard-resource",
    "azurerm_portal_dashboard": "dashboard-resource",
    "aws_cloudwatch_log_group": "log-store",
    "google_logging_project_sink": "log-store",
    "google_logging_project_bucket_config": "log-store",
    "azurerm_log_analytics_workspace": "log-store",
    "datadog_logs_index": "log-store",
    "datadog_logs_archive": "log-store",
    "aws_opensearch_domain": "log-store",
    "aws_xray_sampling_rule": "tracing-backend",
    "statuspage_component": "status-page",
    "statuspage_component_group": "status-page",
    "betteruptime_status_page": "status-page",
    "aws_ecs_task_definition": "workload",
}
_TF_RESOURCE = re.compile(r'^[ \t]*resource\s+"([\w-]+)"\s+"([\w-]+)"\s*\{', re.MULTILINE)
_TF_STRING_ATTR = r'^\s*{key}\s*=\s*"((?:[^"\\]|\\.)*)"'
_TF_NUMBER_ATTR = r"^\s*{key}\s*=\s*(-?\d+(?:\.\d+)?)"

_CW_OPS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}

# Metric definitions in code: (substrings one of which must occur, pattern, type group or
# fixed type, name group). The substrings are a cheap gate before the regex runs.
_PROM_TYPES = ("Counter(", "Gauge(", "Histogram(", "Summary(")
METRIC_DEFINITIONS: tuple[tuple[tuple[str, ...], str, str | int, int], ...] = (
    # Python prometheus_client: Counter("signups_total", "Signups", ...)
    (
        _PROM_TYPES,
        r"\b(Counter|Gauge|Histogram|Summary)\(\s*[\"']([a-zA-Z_:][\w:]*)[\"']\s*,\s*[\"']",
        1,
        2,
    ),
    # OpenTelemetry (Python, JS, Go, Java)
    (
        (".create_",),
        r"\.create_(counter|up_down_counter|histogram|observable_gauge|observable_counter|gauge)"
        r"\(\s*(?:name\s*=\s*)?[\"']([\w.:-]+)[\"']",
        1,
        2,
    ),
    (
        (
            ".createCounter",
            ".createHistogram",
            ".createUpDown",
            ".createObservable",
            ".createGauge",
        ),
        r"\.create(Counter|Histogram|UpDownCounter|ObservableGauge|ObservableCounter|Gauge)"
        r"\(\s*[\"']([\w.:-]+)[\"']",
        1,
        2,
    ),
    (
        ("Int64", "Float64"),
        r"\.(?:Int64|Float64)(Counter|Histogram|UpDownCounter|ObservableGauge|Gauge)\(\s*\"([\w.:-]+)\"",
        1,
        2,
    ),
    (("Builder(",), r"\.(counter|histogram|gauge|upDownCounter)Builder\(\s*\"([\w.:-]+)\"", 1, 2),
    # Go prometheus: prometheus.CounterOpts{Namespace: ..., Name: "orders_total"}
    (
        ("Opts",),
        r"prometheus\.(Counter|Gauge|Histogram|Summary)Opts\s*\{[^}]{0,400}?\bName:\s*\"([\w:]+)\"",
        1,
        2,
    ),
    # prom-client: new client.Counter({ name: "orders_total", ... })
    (
        _PROM_TYPES,
        r"new\s+(?:\w+\.)?(Counter|Gauge|Histogram|Summary)\(\s*\{[^}]{0,400}?\bname\s*:\s*[\"'`]([\w:]+)",
        1,
        2,
    ),
    # Micrometer
    (
        (".builder(",),
        r"\b(Counter|Timer|Gauge|DistributionSummary|LongTaskTimer)\.builder\(\s*\"([\w.:-]+)\"",
        1,
        2,
    ),
    (
        ("egistry.", "Metrics."),
        r"\b(?:meterRegistry|registry|Metrics)\.(counter|timer|gauge|summary)\(\s*\"([\w.:-]+)\"",
        1,
        2,
    ),
    # Java simpleclient
    (
        (".build()",),
        r"\b(Counter|Gauge|Histogram|Summary)\.build\(\)\s*\.name\(\s*\"([\w:]+)\"",
        1,
        2,
    ),
    (('.build("',), r"\b(Counter|Gauge|Histogram|Summary)\.build\(\s*\"([\w:]+)\"\s*,", 1, 2),
    # Ruby
    (("docstring",), r"\.(counter|gauge|histogram|summary)\(\s*:(\w+)\s*,\s*docstring", 1, 2),
    (
        ("Prometheus::Client::",),
        r"Prometheus::Client::(Counter|Gauge|Histogram|Summary)\.new\(\s*:(\w+)",
        1,
        2,
    ),
    # Rust
    (
        ("register_",),
        r"register_(?:int_)?(counter|gauge|histogram)(?:_vec)?!\(\s*\"([\w:]+)\"",
        1,
        2,
    ),
    (("opts!(",), r"opts!\(\s*\"([\w:]+)\"", "metric", 1),
    # .NET prometheus-net
    (
        ("Metrics.Create",),
        r"Metrics\.Create(Counter|Gauge|Histogram|Summary)\(\s*\"([\w:]+)\"",
        1,
        2,
    ),
    # StatsD / DogStatsD
    (
        ("statsd.",),
        r"\bstatsd\.(increment|incr|gauge|histogram|timing|distribution|count)\(\s*[\"']([\w.:-]+)",
        1,
        2,
    ),
)
_METRIC_DEFS = tuple((n, re.compile(p, re.DOTALL), t, g) for n, p, t, g in METRIC_DEFINITIONS)
MAX_CODE_BYTES = 512 * 1024
"""Larger source files are generated or vendored; they define no metrics worth reading."""
CODE_SUFFIXES = frozenset(
    {".py", ".go", ".js", ".mjs", ".cjs", ".ts", ".java", ".kt", ".rb", ".rs", ".cs", ".scala"}
)

# Name tokens of technical (non-business) metrics.
TECHNICAL_TOKENS = _words(
    "http https grpc rpc request requests response responses latency duration process go python "
    "jvm runtime gc heap memory cpu thread threads goroutine goroutines db sql query queries "
    "cache redis connection connections pool disk network socket fd fds build info version up "
    "scrape exception exceptions panic panics health uptime nodejs node system os promhttp "
    "hikaricp tomcat jetty executor kafka queue bytes io open file files "
)


def is_business_metric(name: str) -> bool:
    """True when no token of the metric's name is a generic technical word."""
    tokens = {t for t in re.split(r"[^a-z0-9]+", name.lower()) if t}
    tokens -= {"total", "count", "sum", "bucket", "seconds", "ms", "created"}
    return bool(tokens) and not tokens & TECHNICAL_TOKENS


# ----------------------------------------------------------------------- helpers

_SKIP_DIRS = frozenset(
    {"vendor", "third_party", "third-party", "testdata", "fixtures", "__fixtures__", "dist"}
)
_TEST_DIRS = frozenset({"test", "tests", "spec", "__tests__", "e2e"})
_YAML = frozenset({".yaml", ".yml"})
_CONFIG_SUFFIXES = frozenset(
    {".yaml", ".yml", ".json", ".toml", ".conf", ".tf", ".hcl", ".env", ".properties", ".ini"}
    | {".alloy", ".river", ".cfg", ".xml", ".tpl"}
)
_JSON_SKIP = frozenset({"package.json", "package-lock.json", "composer.json", "composer.lock"})
_TEMPLATE_LINE = re.compile(r"^\s*\{\{-?.*-?\}\}\s*$")
_TEMPLATE_EXPR = re.compile(r"\{\{.*?\}\}")


def _parts(path: str) -> tuple[str, ...]:
    return tuple(path.lower().split("/"))


def _skipped_dir(path: str) -> bool:
    return bool(set(_parts(path)[:-1]) & _SKIP_DIRS)


def _is_test_code(path: str) -> bool:
    parts = _parts(path)
    name = parts[-1]
    return (
        bool(set(parts[:-1]) & _TEST_DIRS)
        or name.startswith("test_")
        or re.search(r"(_test|\.test|\.spec|_spec|tests?)\.\w+$", name) is not None
    )


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _walk_dicts(
    data: Any, path: tuple[str | int, ...], depth: int = 0
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Every mapping inside ``data`` (depth-limited) with its path."""
    if depth > 8:
        return
    if isinstance(data, dict):
        yield path, data
        for key, value in data.items():
            if isinstance(value, dict | list):
                yield from _walk_dicts(value, (*path, key), depth + 1)
    elif isinstance(data, list):
        for index, value in enumerate(data[:500]):
            if isinstance(value, dict | list):
                yield from _walk_dicts(value, (*path, index), depth + 1)


def _is_rule_groups(node: dict[str, Any]) -> bool:
    groups = node.get("groups")
    return isinstance(groups, list) and any(
        isinstance(g, dict) and isinstance(g.get("rules"), list) for g in groups
    )


def _is_alertmanager(node: dict[str, Any]) -> bool:
    return isinstance(node.get("route"), dict) and isinstance(node.get("receivers"), list)


def _is_otel_collector(node: dict[str, Any]) -> bool:
    service = node.get("service")
    return (
        isinstance(node.get("receivers"), dict)
        and isinstance(node.get("exporters"), dict)
        and isinstance(service, dict)
        and isinstance(service.get("pipelines"), dict)
    )


def _kind_hint(text: str) -> str | None:
    """What kind of observability file a text that failed to parse probably is."""
    if "route:" in text and "receivers:" in text:
        return "alertmanager"
    if "PrometheusRule" in text or ("groups:" in text and ("alert:" in text or "record:" in text)):
        return "rules"
    if "grafana_dashboard" in text or "GrafanaDashboard" in text:
        return "dashboard"
    if "scrape_configs" in text and "clients:" not in text:
        return "scrape"
    if "pipelines:" in text and "exporters:" in text:
        return "otel"
    return None


_NAME_KIND_HINTS = (
    (("alertmanager",), "alertmanager"),
    (("rule", "alert", "prometheusrule"), "rules"),
    (("dashboard", "grafana"), "dashboard"),
    (("prometheus",), "scrape"),
    (("otel", "opentelemetry"), "otel"),
)


def _name_kind(path: str) -> str | None:
    low = path.lower()
    for words, kind in _NAME_KIND_HINTS:
        if any(w in low for w in words):
            return kind
    return None


# --------------------------------------------------------------------- collector


@dataclass
class _State:
    """Mutable accumulators while one collection runs."""

    ctx: CollectContext
    alerts: list[Alert] = field(default_factory=list)
    records: list[RecordingRule] = field(default_factory=list)
    rule_files: list[str] = field(default_factory=list)
    alertmanagers: list[AlertmanagerConfig] = field(default_factory=list)
    dashboards: list[Dashboard] = field(default_factory=list)
    signals: dict[tuple[str, str, str], Signal] = field(default_factory=dict)
    metrics: dict[tuple[str, str], MetricDefinition] = field(default_factory=dict)
    manifests: list[str] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    schedules: list[OnCallSchedule] = field(default_factory=list)

    def signal(self, kind: str, name: str, path: str, line: int | None, detail: str = "") -> None:
        key = (kind, name, path)
        if key not in self.signals:
            self.signals[key] = Signal(kind, name, path, line, detail)

    def problem(self, path: str, kind: str, reason: str, line: int | None = None) -> None:
        self.unreadable.append(Unreadable(path, kind, reason, line))
        self.ctx.error(path, reason, NAME, line)


@register
class ObservabilityCollector(Collector):
    """Reads alert rules, routing, dashboards and telemetry set-up from the repository."""

    name: ClassVar[str] = NAME
    facts_type: ClassVar[type] = ObservabilityFacts

    def collect(self, ctx: CollectContext) -> ObservabilityFacts:
        state = _State(ctx)
        for entry in ctx.files:
            if _skipped_dir(entry.path):
                continue
            handler = self._handler(entry)
            if handler is None:
                continue
            if not entry.readable:
                kind = self._unreadable_kind(entry)
                if kind:
                    state.problem(entry.path, kind, entry.skipped or "binary file")
                continue
            try:
                text = ctx.files.read_text(entry)
            except CollectorError as exc:
                kind = self._unreadable_kind(entry)
                if kind:
                    state.problem(entry.path, kind, str(exc).removeprefix(f"{entry.path}: "))
                continue
            handler(state, entry, text)
        return ObservabilityFacts(
            alerts=tuple(state.alerts),
            recording_rules=tuple(state.records),
            rule_files=tuple(dict.fromkeys(state.rule_files)),
            alertmanagers=tuple(state.alertmanagers),
            dashboards=tuple(state.dashboards),
            signals=tuple(state.signals.values()),
            metrics=tuple(state.metrics.values()),
            manifests=tuple(state.manifests),
            unreadable=tuple(state.unreadable),
            schedules=tuple(state.schedules),
        )

    # ------------------------------------------------------------------ dispatch

    def _handler(self, entry: FileEntry) -> Callable[[_State, FileEntry, str], None] | None:
        name = entry.path.rsplit("/", 1)[-1].lower()
        dot = name.rfind(".")
        suffix = name[dot:] if dot > 0 else ""
        if _matches_manifest(entry.path):
            return _read_manifest
        if suffix in _YAML:
            return _read_yaml
        if suffix == ".json" and name not in _JSON_SKIP and not name.endswith(".lock.json"):
            return _read_json
        if suffix == ".tf":
            return _read_terraform
        if suffix in CODE_SUFFIXES:
            if entry.size > MAX_CODE_BYTES or _is_test_code(entry.path) or ".min." in name:
                return None
            return _read_code
        if suffix in _CONFIG_SUFFIXES or name.startswith(("dockerfile", ".env", "containerfile")):
            return _read_config
        return None

    @staticmethod
    def _unreadable_kind(entry: FileEntry) -> str | None:
        if _matches_manifest(entry.path):
            return "manifest"
        if entry.suffix in _YAML or entry.suffix == ".json":
            return _name_kind(entry.path)
        return None


def _matches_manifest(path: str) -> bool:
    parts = _parts(path)
    name = parts[-1]
    tail = "/".join(parts[-2:])
    return any(fnmatchcase(tail if "/" in pattern else name, pattern) for pattern in MANIFEST_NAMES)


# ------------------------------------------------------------------ manifests


def _read_manifest(state: _State, entry: FileEntry, text: str) -> None:
    state.manifests.append(entry.path)
    # Blank out comment lines (keeping line numbers) so that commented-out packages do not count.
    code = "\n".join(
        "" if line.lstrip().startswith(("#", "//", "--")) else line for line in text.splitlines()
    )
    for pattern, kinds, name in _LIBRARIES:
        match = pattern.search(code)
        if match:
            for kind in kinds:
                state.signal(kind, name, entry.path, _line_of(code, match.start()))


# ------------------------------------------------------------------ config text


def _scan_config_text(state: _State, entry: FileEntry, text: str) -> None:
    """Name patterns for any configuration file: env vars, images, charts, references.

    Signals are kept once per file, so each pattern needs only its first match.
    """
    low = text.lower()
    for needles, pattern, kind, name in _CONFIG:
        if not any(needle in low for needle in needles):
            continue
        match = pattern.search(text)
        if match:
            state.signal(kind, name, entry.path, _line_of(text, match.start()))
    if "OTEL_" in text:
        for match in _OTEL_ENV.finditer(text):
            var, value = match.group(1), (match.group(2) or "")
            detail = value if var.endswith("EXPORTER") else ""
            state.signal("otel-env", var, entry.path, _line_of(text, match.start()), detail)
    for needle, regex in (("image", _IMAGE), ("chart", _CHART)):
        if needle not in low:
            continue
        for match in regex.finditer(text):
            _component(state, match.group(1), entry.path, _line_of(text, match.start()))
    if entry.name.lower() in {"chart.yaml", "requirements.yaml", "helmfile.yaml"}:
        for match in _CHART_DEP.finditer(text):
            _component(state, match.group(1), entry.path, _line_of(text, match.start()))
    for match in _WORKLOAD.finditer(text) if "kind:" in text else ():
        state.signal("workload", match.group(1), entry.path, _line_of(text, match.start()))


def _component(state: _State, ref: str, path: str, line: int) -> None:
    low = ref.lower()
    for needle, kinds, name in COMPONENTS:
        if needle in low:
            for kind in kinds:
                state.signal(kind, name, path, line)
            return


def _read_config(state: _State, entry: FileEntry, text: str) -> None:
    _scan_config_text(state, entry, text)
    name = entry.name.lower()
    low = text.lower()
    # Log shippers with their own config syntax.
    if "[output]" in low and "[input]" in low:
        state.signal("log-agent", "fluent-bit", entry.path, 1)
    elif "<match" in low and "<source>" in low:
        state.signal("log-agent", "fluentd", entry.path, 1)
    elif re.search(r"^\s*\[sinks\.", text, re.MULTILINE) and "[sources." in text:
        state.signal("log-agent", "vector", entry.path, 1)
    elif re.search(r"^\s*output\s*\{", text, re.MULTILINE) and re.search(
        r"^\s*input\s*\{", text, re.MULTILINE
    ):
        state.signal("log-agent", "logstash", entry.path, 1)
    if entry.suffix in {".alloy", ".river"}:
        if "loki.write" in text or "otelcol.exporter" in text:
            state.signal("log-agent", "grafana-alloy", entry.path, 1)
        if "prometheus.scrape" in text or "prometheus.remote_write" in text:
            state.signal("scrape", "grafana-alloy", entry.path, 1)
        if "prometheus.exporter.unix" in text:
            state.signal("infra-exporter", "node-exporter (alloy)", entry.path, 1)
    if name.endswith(".conf") and "fluent" in name and "fluent-bit" not in low:
        state.signal("log-agent", "fluent", entry.path, 1)


# ------------------------------------------------------------------------ YAML


def _sanitize_helm(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if _TEMPLATE_LINE.match(line):
            lines.append("")
        else:
            lines.append(_TEMPLATE_EXPR.sub("templated", line))
    return "\n".join(lines)


_PARSE_TOKENS = (
    "groups:",
    "alert:",
    "record:",
    "receivers:",
    "scrape_configs",
    "ServiceMonitor",
    "PodMonitor",
    "kind: Probe",
    "grafana_dashboard",
    "GrafanaDashboard",
    "pipelines:",
    "Instrumentation",
    "OpenTelemetryCollector",
    "sinks:",
    "filebeat.inputs",
    "clients:",
    "retention_period",
    "upptime",
)


def _read_yaml(state: _State, entry: FileEntry, text: str) -> None:
    _scan_config_text(state, entry, text)
    if entry.name.lower() in {".upptimerc.yml", ".upptimerc.yaml"}:
        state.signal("status-page", "upptime", entry.path, 1)
    if _SCHEDULE_NAME.search(entry.path.lower()):
        _read_schedule_file(state, entry, text)
    if not any(token in text for token in _PARSE_TOKENS):
        return
    try:
        documents = load_yaml_documents(text, entry.path)
    except YamlProblem as first:
        documents = []
        if "{{" in text and "/templates/" in f"/{entry.path}":
            try:
                documents = load_yaml_documents(_sanitize_helm(text), entry.path)
            except YamlProblem:
                documents = []
        if not documents:
            hint = _kind_hint(text) or _name_kind(entry.path)
            if hint:
                state.problem(entry.path, hint, first.problem.message, first.problem.line)
            return
    alerts, records, problems = len(state.alerts), len(state.records), len(state.unreadable)
    for document in documents:
        _read_yaml_document(state, entry, document)
    if any(u.kind == "rules" for u in state.unreadable[problems:]):
        # Prometheus refuses a rule file with a malformed rule: none of its rules run.
        del state.alerts[alerts:]
        del state.records[records:]


def _read_yaml_document(state: _State, entry: FileEntry, doc: YamlDocument) -> None:
    data = doc.data
    if not isinstance(data, dict):
        return
    kind = data.get("kind")
    if isinstance(kind, str):
        _read_object(state, entry, doc, kind)
    if kind == "AlertmanagerConfig":
        return
    for path, node in _walk_dicts(data, ()):
        if _is_rule_groups(node):
            _read_rule_groups(state, entry, doc, path, node)
        elif _is_alertmanager(node):
            _read_alertmanager(state, entry, doc, path, node, "alertmanager")
        elif _is_otel_collector(node):
            _read_otel(state, entry, doc, path, node)
        elif isinstance(node.get("scrape_configs"), list):
            _read_scrape(state, entry, doc, path, node)
        elif isinstance(node.get("sinks"), dict) and isinstance(node.get("sources"), dict):
            state.signal("log-agent", "vector", entry.path, doc.where(path)[0])
        elif "filebeat.inputs" in node:
            state.signal("log-agent", "filebeat", entry.path, doc.where(path)[0])
        elif isinstance(node.get("pipeline"), dict) and "outputs" in node["pipeline"]:
            state.signal("log-agent", "fluent-bit", entry.path, doc.where(path)[0])
        if "retention_period" in node and ("limits_config" in path or "compactor" in path):
            value = _str(node.get("retention_period"))
            if value:
                line = doc.where((*path, "retention_period"))[0]
                state.signal("log-store", "loki", entry.path, line, f"retention {value}")


def _read_object(state: _State, entry: FileEntry, doc: YamlDocument, kind: str) -> None:
    data = doc.data
    line = doc.where(("kind",))[0]
    meta = _dict(data.get("metadata"))
    name = str(meta.get("name") or kind)
    spec = _dict(data.get("spec"))
    if kind in {"ServiceMonitor", "PodMonitor"}:
        state.signal("scrape", f"{kind} {name}", entry.path, line)
    elif kind == "Probe" and "monitoring.coreos.com" in str(data.get("apiVersion", "")):
        state.signal("synthetic", f"Probe {name}", entry.path, line)
    elif kind == "Instrumentation":
        state.signal("auto-instrumentation", f"Instrumentation {name}", entry.path, line)
    elif kind == "OpenTelemetryCollector":
        state.signal("otel-collector", f"OpenTelemetryCollector {name}", entry.path, line)
        config = spec.get("config")
        pipelines = _pipelines_in_text(config) if isinstance(config, str) else set()
        if isinstance(config, dict) and _is_otel_collector(config):
            _read_otel(state, entry, doc, ("spec", "config"), config)
        else:
            _otel_pipeline_signals(state, entry.path, line, pipelines)
    elif kind == "AlertmanagerConfig":
        _read_alertmanager(state, entry, doc, ("spec",), spec, "AlertmanagerConfig")
    elif kind == "GrafanaDashboard":
        raw = spec.get("json")
        if isinstance(raw, str):
            _dashboard_from_string(
                state, entry, raw, doc.where(("spec", "json"))[0], "GrafanaDashboard"
            )
    elif kind == "ConfigMap":
        labels = _dict(meta.get("labels"))
        if "grafana_dashboard" in labels:
            body = _dict(data.get("data"))
            for key, raw in body.items():
                if isinstance(raw, str) and str(key).endswith(".json"):
                    _dashboard_from_string(
                        state, entry, raw, doc.where(("data", key))[0], "configmap"
                    )


def _pipelines_in_text(config: str) -> set[str]:
    return set(re.findall(r"^\s+(traces|metrics|logs)(?:/[\w-]+)?:\s*$", config, re.MULTILINE))


# ------------------------------------------------------------------ rule groups


def _read_rule_groups(
    state: _State,
    entry: FileEntry,
    doc: YamlDocument,
    base: tuple[str | int, ...],
    node: dict[str, Any],
) -> None:
    state.rule_files.append(entry.path)
    for gi, group in enumerate(node.get("groups") or []):
        if not isinstance(group, dict) or not isinstance(group.get("rules"), list):
            continue
        group_name = str(group.get("name") or "")
        for ri, rule in enumerate(group["rules"]):
            path = (*base, "groups", gi, "rules", ri)
            if not isinstance(rule, dict) or (
                rule.get("alert") is None and rule.get("record") is None
            ):
                reason = f"rule {ri + 1} of group {group_name!r} is neither an alert nor a record"
                state.problem(entry.path, "rules", reason, doc.where(path)[0])
                continue
            if rule.get("expr") is None:
                name = rule.get("alert") or rule.get("record")
                reason = f"rule {name!r} of group {group_name!r} has no expr"
                state.problem(entry.path, "rules", reason, doc.where(path)[0])
                continue
            expr = str(rule.get("expr") if rule.get("expr") is not None else "")
            labels = _dict(rule.get("labels"))
            label_pairs = tuple((str(k), str(v)) for k, v in labels.items() if _str(v) is not None)
            if rule.get("alert") is not None:
                name = str(rule["alert"])
                annotations = _dict(rule.get("annotations"))
                runbook = next(
                    (
                        _str(annotations[k])
                        for k in (
                            "runbook_url",
                            "runbook",
                            "runbookURL",
                            "runbook_link",
                            "playbook",
                        )
                        if _str(annotations.get(k))
                    ),
                    None,
                )
                summary = _str(annotations.get("summary")) or _str(annotations.get("description"))
                label_text = " ".join(f"{k}={v}" for k, v in label_pairs)
                state.alerts.append(
                    Alert(
                        name=name,
                        expr=expr,
                        path=entry.path,
                        line=doc.where((*path, "alert"), key=True)[0],
                        group=group_name,
                        for_duration=_str(rule.get("for")),
                        severity=_str(labels.get("severity")),
                        team=_str(labels.get("team")) or _str(labels.get("owner")),
                        runbook_url=runbook,
                        summary=summary,
                        labels=label_pairs,
                        classes=classify(expr, name, f"{group_name} {label_text}"),
                        metrics=promql_metrics(expr),
                        threshold=promql_threshold(expr),
                    )
                )
            elif rule.get("record") is not None:
                record = str(rule["record"])
                text = f"{record} {group_name} {' '.join(v for _, v in label_pairs)}".lower()
                slo = bool(
                    re.search(
                        r"^slo:|:burnrate|burn_rate|error_budget|errorbudget|sloth|pyrra", text
                    )
                    or record.lower().startswith(("slo:", "sli:"))
                )
                state.records.append(
                    RecordingRule(
                        record,
                        expr,
                        entry.path,
                        doc.where((*path, "record"), key=True)[0],
                        slo,
                        label_pairs,
                    )
                )


# ---------------------------------------------------------------- Alertmanager

_INTEGRATION_KEYS = re.compile(r"^(\w+?)(_configs|Configs)$")


def _matchers(route: dict[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for key, op in (("match", "="), ("match_re", "=~")):
        value = route.get(key)
        if isinstance(value, dict):
            found.extend(f'{k}{op}"{v}"' for k, v in value.items())
    value = route.get("matchers")
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                found.append(item.replace(" ", ""))
            elif isinstance(item, dict) and "name" in item:
                op = str(item.get("matchType") or ("=~" if item.get("regex") else "="))
                found.append(f'{item["name"]}{op}"{item.get("value", "")}"')
    return tuple(found)


# Where each paging integration takes its key from: (literal keys, file keys, CRD selector keys).
_KEY_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "pagerduty": (
        ("routing_key", "service_key"),
        ("routing_key_file", "service_key_file"),
        ("routingKey", "serviceKey"),
    ),
    "opsgenie": (("api_key",), ("api_key_file",), ("apiKey",)),
    "victorops": (("api_key",), ("api_key_file",), ("apiKey",)),
    "pushover": (("token", "user_key"), ("token_file", "user_key_file"), ("token", "userKey")),
}
_GLOBAL_KEYS = {
    "opsgenie": ("opsgenie_api_key", "opsgenie_api_key_file"),
    "victorops": ("victorops_api_key", "victorops_api_key_file"),
}
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|\{\{.*\}\}|^\$[A-Za-z_]\w*$|^<[^>]+>$|^\(\(.*\)\)$")


def _key_source(kind: str, entry: Any, global_node: dict[str, Any]) -> str:
    """How one paging integration gets its key (see :attr:`Receiver.paging_keys`)."""
    literal, files, selectors = _KEY_FIELDS.get(kind, ((), (), ()))
    entry = _dict(entry)
    for key in selectors:
        value = entry.get(key)
        if isinstance(value, dict) and value.get("name") and value.get("key"):
            return "secret-ref"
    if any(isinstance(entry.get(k), str) and entry[k].strip() for k in files):
        return "file"
    for key in literal:
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return "placeholder" if _PLACEHOLDER.search(value.strip()) else "literal"
        if isinstance(value, int | float) and not isinstance(value, bool):
            return "literal"
    global_literal, global_file = _GLOBAL_KEYS.get(kind, ("", ""))
    if global_file and isinstance(global_node.get(global_file), str):
        return "file"
    value = global_node.get(global_literal) if global_literal else None
    if isinstance(value, str) and value.strip():
        return "placeholder" if _PLACEHOLDER.search(value.strip()) else "literal"
    return "none" if literal else "unknown"


def _responders(entries: Any, wanted: str) -> list[str]:
    """Names of Opsgenie responders of one type (``schedule``, ``escalation``)."""
    names: list[str] = []
    for entry in entries if isinstance(entries, list) else [entries]:
        for responder in _dict(entry).get("responders") or []:
            responder = _dict(responder)
            if str(responder.get("type", "")).lower() == wanted:
                name = responder.get("name") or responder.get("id") or responder.get("username")
                if name:
                    names.append(str(name))
    return names


def _read_alertmanager(
    state: _State,
    entry: FileEntry,
    doc: YamlDocument,
    base: tuple[str | int, ...],
    node: dict[str, Any],
    source: str,
) -> None:
    routes: list[Route] = []

    def walk(route: Any, path: tuple[str | int, ...], depth: int, inherited: str | None) -> None:
        if not isinstance(route, dict) or depth > 20:
            return
        own = _str(route.get("receiver"))
        effective = own or inherited
        group_by = route.get("group_by", route.get("groupBy"))
        routes.append(
            Route(
                receiver=own,
                effective_receiver=effective,
                matchers=_matchers(route),
                group_by=tuple(str(g) for g in group_by) if isinstance(group_by, list) else (),
                continue_matching=bool(route.get("continue")),
                depth=depth,
                line=doc.where(path)[0],
            )
        )
        children = route.get("routes")
        if isinstance(children, list):
            for index, child in enumerate(children):
                walk(child, (*path, "routes", index), depth + 1, effective)

    walk(node.get("route"), (*base, "route"), 0, None)
    global_node = _dict(node.get("global"))
    receivers: list[Receiver] = []
    for index, receiver in enumerate(node.get("receivers") or []):
        if not isinstance(receiver, dict) or receiver.get("name") is None:
            continue
        integrations: list[str] = []
        keys: list[str] = []
        schedules: list[str] = []
        escalations: list[str] = []
        for key, value in receiver.items():
            match = _INTEGRATION_KEYS.match(str(key))
            if not match or not value:
                continue
            kind = match.group(1).lower()
            if kind == "webhook":
                integrations.extend(_webhook_kinds(value))
                continue
            integrations.append(kind)
            if kind in PAGING_INTEGRATIONS:
                entries = value if isinstance(value, list) else [value]
                keys.extend(_key_source(kind, e, global_node) for e in entries)
                schedules += _responders(value, "schedule")
                escalations += _responders(value, "escalation")
        receivers.append(
            Receiver(
                str(receiver["name"]),
                tuple(integrations),
                doc.where((*base, "receivers", index))[0],
                tuple(keys),
                tuple(schedules),
                tuple(escalations),
            )
        )
    inhibit = node.get("inhibit_rules", node.get("inhibitRules"))
    state.alertmanagers.append(
        AlertmanagerConfig(
            path=entry.path,
            line=doc.where((*base, "route"), key=True)[0],
            source=source,
            routes=tuple(routes),
            receivers=tuple(receivers),
            inhibit_rules=len(inhibit) if isinstance(inhibit, list) else 0,
        )
    )


def _webhook_kinds(value: Any) -> list[str]:
    """``webhook:<tool>`` for webhooks to a paging tool, else ``webhook``; URLs are not kept."""
    kinds: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        url = ""
        if isinstance(item, dict):
            url = str(item.get("url") or item.get("url_file") or "").lower()
        tool = next((t for needle, t in _PAGING_TOOLS if needle in url), None)
        kinds.append(f"webhook:{tool}" if tool else "webhook")
    return kinds


# ---------------------------------------------------------- OTel and scraping


def _read_otel(
    state: _State,
    entry: FileEntry,
    doc: YamlDocument,
    base: tuple[str | int, ...],
    node: dict[str, Any],
) -> None:
    line = doc.where((*base, "service", "pipelines"), key=True)[0]
    pipelines = {str(p).split("/")[0] for p in node["service"]["pipelines"]}
    state.signal(
        "otel-collector", "opentelemetry-collector", entry.path, line, ",".join(sorted(pipelines))
    )
    _otel_pipeline_signals(state, entry.path, line, pipelines)
    receivers = " ".join(str(r) for r in node.get("receivers", {}))
    if re.search(r"hostmetrics|kubeletstats|k8s_cluster|awscontainerinsight", receivers):
        state.signal("infra-exporter", "otel host/kubelet metrics", entry.path, line)
    if "prometheus" in receivers:
        state.signal("scrape", "otel prometheus receiver", entry.path, line)
    if "filelog" in receivers:
        state.signal("log-agent", "otel filelog", entry.path, line)


def _otel_pipeline_signals(
    state: _State, path: str, line: int | None, pipelines: Iterable[str]
) -> None:
    names = set(pipelines)
    if "traces" in names:
        state.signal("tracing-backend", "otel traces pipeline", path, line)
    if "logs" in names:
        state.signal("log-agent", "otel logs pipeline", path, line)
    if "metrics" in names:
        state.signal("scrape", "otel metrics pipeline", path, line)


_INFRA_JOB = re.compile(r"node|kubelet|cadvisor|kube-state|kube_state|ksm")


def _read_scrape(
    state: _State,
    entry: FileEntry,
    doc: YamlDocument,
    base: tuple[str | int, ...],
    node: dict[str, Any],
) -> None:
    promtail = "clients" in node or "positions" in node
    for index, job in enumerate(node["scrape_configs"]):
        if not isinstance(job, dict):
            continue
        name = str(job.get("job_name") or f"job {index}")
        line = doc.where((*base, "scrape_configs", index))[0]
        if promtail:
            state.signal("log-agent", "promtail", entry.path, line)
            return
        state.signal("scrape", f"scrape job {name}", entry.path, line)
        if _INFRA_JOB.search(name.lower()):
            state.signal("infra-exporter", f"scrape job {name}", entry.path, line)
        if "blackbox" in name.lower() or job.get("metrics_path") == "/probe":
            state.signal("synthetic", f"scrape job {name}", entry.path, line)


# ------------------------------------------------------------------ dashboards


def _read_json(state: _State, entry: FileEntry, text: str) -> None:
    _scan_config_text(state, entry, text)
    if '"panels"' not in text and '"rows"' not in text:
        return
    try:
        data = json.loads(text)
    except ValueError as exc:
        if '"panels"' in text:
            line = getattr(exc, "lineno", None)
            state.problem(
                entry.path, "dashboard", f"invalid JSON: {getattr(exc, 'msg', exc)}", line
            )
        return
    _dashboard(state, entry.path, text, data, 0, "grafana")


def _dashboard_from_string(
    state: _State, entry: FileEntry, raw: str, line: int | None, source: str
) -> None:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        reason = f"invalid dashboard JSON: {getattr(exc, 'msg', exc)}"
        state.problem(entry.path, "dashboard", reason, line)
        return
    _dashboard(state, entry.path, raw, data, (line or 1), source)


def _panels(node: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 4 or not isinstance(node, dict):
        return
    for key in ("panels", "rows"):
        children = node.get(key)
        if isinstance(children, list):
            for child in children:
                if isinstance(child, dict):
                    if "targets" in child or "title" in child:
                        yield child
                    yield from _panels(child, depth + 1)


def _dashboard(
    state: _State, path: str, text: str, data: Any, line_offset: int, source: str
) -> None:
    if not isinstance(data, dict):
        return
    board = _dict(data.get("dashboard")) or data
    if "panels" not in board and "rows" not in board:
        return
    title = str(board.get("title") or PurePosixPath(path).stem)
    metrics: set[str] = set()
    signals: set[str] = set()
    slo = bool(re.search(r"\bslo|\bsli|error budget|burn", title.lower()))
    count = 0
    for panel in _panels(board):
        if panel.get("type") == "row":
            continue
        count += 1
        panel_title = str(panel.get("title") or "")
        targets = panel.get("targets")
        targets = targets if isinstance(targets, list) else []
        for target in targets:
            if not isinstance(target, dict):
                continue
            query = next(
                (
                    str(target[k])
                    for k in ("expr", "query", "expression", "rawSql", "target")
                    if isinstance(target.get(k), str)
                ),
                "",
            )
            if not query:
                continue
            metrics |= promql_metrics(query)
            signals |= classify(query, panel_title)
            if re.search(r"slo:|sli:|sloth_|pyrra|error_budget|burnrate|burn_rate", query.lower()):
                slo = True
        if not targets and panel_title:
            signals |= classify("", panel_title)
        if re.search(r"\bslo|\bsli|error budget|burn rate", panel_title.lower()):
            slo = True
    signals.discard("slo-burn")
    line = _title_line(text, title)
    state.dashboards.append(
        Dashboard(
            title=title,
            path=path,
            line=(line_offset + line - 1)
            if line and line_offset
            else (line or line_offset or None),
            panels=count,
            metrics=frozenset(metrics),
            signals=frozenset(signals),
            slo=slo,
            source=source,
        )
    )


def _title_line(text: str, title: str) -> int | None:
    """Line of the dashboard's own ``"title"`` (the least indented one)."""
    best: tuple[int, int] | None = None
    for match in re.finditer(
        r'^([ \t]*)"title"\s*:\s*' + re.escape(json.dumps(title)), text, re.MULTILINE
    ):
        indent = len(match.group(1))
        if best is None or indent < best[0]:
            best = (indent, match.start())
    return _line_of(text, best[1]) if best else None


# ------------------------------------------------------------------- Terraform


def _tf_blocks(text: str) -> Iterator[tuple[str, str, int, str]]:
    """``(type, name, line, body)`` for every resource block."""
    for match in _TF_RESOURCE.finditer(text):
        start = match.end()
        depth, index, in_string = 1, start, False
        while index < len(text) and depth:
            char = text[index]
            if char == '"' and text[index - 1] != "\\":
                in_string = not in_string
            elif not in_string:
                if char == "{":
                    depth += 1
                elif char == "}":
                    depth -= 1
            index += 1
        yield match.group(1), match.group(2), _line_of(text, match.start()), text[start:index]


def _tf_attr(body: str, key: str) -> str | None:
    match = re.search(_TF_STRING_ATTR.format(key=key), body, re.MULTILINE) or re.search(
        _TF_NUMBER_ATTR.format(key=key), body, re.MULTILINE
    )
    return match.group(1) if match else None


# ---------------------------------------------------------------- on-call schedules

_SCHEDULE_NAME = re.compile(r"(^|/)[^/]*(schedule|rotation|on-?call|on_call)[^/]*\.ya?ml$")
_MEMBER_KEYS = ("members", "users", "participants", "engineers", "people", "rotation", "roster")
_SHIFT_KEYS = (
    "shift",
    "shift_length",
    "rotation_length",
    "turn_length",
    "length",
    "frequency",
    "cadence",
    "every",
    "period",
    "interval",
    "type",
    "handoff",
    "handoff_time",
    "handover",
)
_SHIFT_VALUE = re.compile(
    r"^(hourly|daily|weekly|fortnightly|bi-?weekly|monthly|\d+\s*[hdw]|\d+\s*(hours?|days?|weeks?)|"
    r"(mon|tues|wednes|thurs|fri|satur|sun)day\b.*|\d{1,2}:\d{2}.*)$",
    re.IGNORECASE,
)


def _read_schedule_file(state: _State, entry: FileEntry, text: str) -> None:
    """A schedule kept as a YAML file: a list of members and a shift length or hand-off time."""
    try:
        documents = load_yaml_documents(text, entry.path)
    except YamlProblem as exc:
        if re.search(r"^\s*(members|participants|rotation)\s*:", text, re.MULTILINE):
            state.problem(entry.path, "schedule", exc.problem.message, exc.problem.line)
        return
    for doc in documents:
        if not isinstance(doc.data, dict):
            continue
        for path, node in _walk_dicts(doc.data, ()):
            members = next(
                (
                    node[k]
                    for k in _MEMBER_KEYS
                    if isinstance(node.get(k), list)
                    and len([m for m in node[k] if isinstance(m, str | dict) and m]) >= 2
                ),
                None,
            )
            if members is None:
                continue
            shift = next(
                (
                    str(node[k]).strip()
                    for k in _SHIFT_KEYS
                    if isinstance(node.get(k), str | int)
                    and _SHIFT_VALUE.match(str(node[k]).strip())
                ),
                None,
            )
            name = _str(node.get("name")) or (str(path[-1]) if path else entry.name)
            state.schedules.append(
                OnCallSchedule(
                    name,
                    "file",
                    entry.path,
                    doc.where(path)[0] if path else 1,
                    members=len(members),
                    shift=shift,
                )
            )


_TF_SCHEDULES = {
    "pagerduty_schedule": "pagerduty",
    "opsgenie_schedule": "opsgenie",
    "opsgenie_schedule_rotation": "opsgenie",
    "grafana_oncall_schedule": "grafana-oncall",
    "grafana_oncall_on_call_shift": "grafana-oncall",
}


def _list_items(body: str, key: str) -> int:
    """How many entries the ``key = [ … ]`` lists of a Terraform block hold."""
    count = 0
    for match in re.finditer(rf"^\s*{key}\s*=\s*\[", body, re.MULTILINE):
        depth, index, start = 1, match.end(), match.end()
        while index < len(body) and depth:
            depth += {"[": 1, "]": -1}.get(body[index], 0)
            index += 1
        inner = re.sub(r"[\[\]\s]", "", body[start : index - 1])
        count += len([part for part in inner.split(",") if part])
    return count


def _tf_schedule(rtype: str, rname: str, path: str, line: int, body: str) -> OnCallSchedule:
    name = _tf_attr(body, "name") or rname
    members, shift, layers = 0, None, 0
    if rtype == "pagerduty_schedule":
        layers = len(re.findall(r"^\s*layer\s*\{", body, re.MULTILINE))
        members = _list_items(body, "users")
        seconds = _tf_attr(body, "rotation_turn_length_seconds")
        if seconds and seconds.isdigit() and int(seconds) > 0:
            hours = int(seconds) // 3600
            shift = f"{hours // 24}d" if hours and hours % 24 == 0 else f"{hours}h"
    elif rtype == "opsgenie_schedule_rotation":
        members = len(re.findall(r"^\s*participant\s*\{", body, re.MULTILINE))
        kind, length = _tf_attr(body, "type"), _tf_attr(body, "length")
        shift = f"{kind} x{length}" if kind and length and length != "1" else kind
        layers = 1
    elif rtype == "grafana_oncall_on_call_shift":
        members = _list_items(body, "rolling_users") or _list_items(body, "users")
        shift = _tf_attr(body, "frequency")
        layers = 1
    return OnCallSchedule(
        f"{rtype}.{rname} ({name})",
        _TF_SCHEDULES[rtype],
        path,
        line,
        members=members,
        shift=shift,
        layers=layers,
    )


def _read_terraform(state: _State, entry: FileEntry, text: str) -> None:
    _scan_config_text(state, entry, text)
    if "resource" not in text:
        return
    for rtype, rname, line, body in _tf_blocks(text):
        if rtype in _TF_SCHEDULES:
            state.schedules.append(_tf_schedule(rtype, rname, entry.path, line, body))
        kind = TF_SIGNALS.get(rtype)
        if kind == "escalation-policy":
            levels = len(re.findall(r"^\s*rule\s*\{", body, re.MULTILINE))
            delays = re.findall(r"escalation_delay_in_minutes\s*=\s*(\d+)", body)
            detail = f"{levels} level(s)" + (f", delays {'/'.join(delays)} min" if delays else "")
            state.signal(kind, f"{rtype}.{rname}", entry.path, line, detail)
        elif kind == "log-store":
            retention = _tf_attr(body, "retention_in_days") or _tf_attr(body, "retention_days")
            state.signal(
                kind,
                f"{rtype}.{rname}",
                entry.path,
                line,
                f"retention {retention}d" if retention else "",
            )
        elif kind:
            state.signal(kind, f"{rtype}.{rname}", entry.path, line)
        if rtype in TF_ALERTS:
            _tf_alert(state, entry.path, rtype, rname, line, body)


def _tf_alert(state: _State, path: str, rtype: str, rname: str, line: int, body: str) -> None:
    threshold: Threshold | None = None
    if rtype == "aws_cloudwatch_metric_alarm":
        name = _tf_attr(body, "alarm_name") or rname
        metric = _tf_attr(body, "metric_name") or ""
        namespace = _tf_attr(body, "namespace") or ""
        op = _CW_OPS.get(_tf_attr(body, "comparison_operator") or "", "")
        value = _tf_attr(body, "threshold")
        expr = f"{namespace}/{metric} {op} {value}".strip()
        if op and value:
            try:
                threshold = Threshold(op, float(value), percent_scale="Utilization" in metric)
            except ValueError:
                threshold = None
        if re.search(r"CPUUtilization|Memory|Disk|FreeStorage|Swap|Connections", metric):
            state.signal("infra-exporter", f"CloudWatch {metric}", path, line)
        description = _tf_attr(body, "alarm_description") or ""
    elif rtype == "datadog_monitor":
        name = _tf_attr(body, "name") or rname
        expr = _tf_attr(body, "query") or ""
        threshold = promql_threshold(expr)
        description = _tf_attr(body, "message") or ""
    elif rtype == "google_monitoring_alert_policy":
        name = _tf_attr(body, "display_name") or rname
        expr = " ".join(re.findall(r'filter\s*=\s*"((?:[^"\\]|\\.)*)"', body))
        description = ""
    elif rtype == "newrelic_nrql_alert_condition":
        name = _tf_attr(body, "name") or rname
        expr = _tf_attr(body, "query") or ""
        description = _tf_attr(body, "runbook_url") or ""
    else:
        name = _tf_attr(body, "name") or rname
        expr = f"{_tf_attr(body, 'metric_namespace') or ''}/{_tf_attr(body, 'metric_name') or ''}"
        description = _tf_attr(body, "description") or ""
    runbook = re.search(r"https?://\S*runbook\S*", description, re.IGNORECASE)
    state.alerts.append(
        Alert(
            name=name,
            expr=expr,
            path=path,
            line=line,
            runbook_url=runbook.group(0) if runbook else None,
            classes=classify(expr, name),
            metrics=frozenset(),
            threshold=threshold,
            source=rtype,
        )
    )


# ------------------------------------------------------------------------ code


# A file that defines metrics names its metrics library; per language, one of these occurs.
LIBRARY_GATES: dict[str, tuple[str, ...]] = {
    ".py": ("prometheus_client", "opentelemetry", "statsd", "datadog"),
    ".go": ("prometheus", "otel"),
    ".js": ("prom-client", "opentelemetry", "statsd", "hot-shots"),
    ".java": ("micrometer", "io.prometheus", "opentelemetry", "statsd"),
    ".rb": ("prometheus", "statsd"),
    ".rs": ("prometheus", "opentelemetry", "metrics"),
    ".cs": ("Prometheus", "OpenTelemetry", "StatsD", "statsd"),
}
for _alias, _same in ((".mjs", ".js"), (".cjs", ".js"), (".ts", ".js"), (".kt", ".java")):
    LIBRARY_GATES[_alias] = LIBRARY_GATES[_same]
LIBRARY_GATES[".scala"] = LIBRARY_GATES[".java"]


def _read_code(state: _State, entry: FileEntry, text: str) -> None:
    gate = LIBRARY_GATES.get(entry.path[entry.path.rfind(".") :].lower(), ())
    if not any(needle in text for needle in gate):
        return
    for needles, pattern, type_ref, name_group in _METRIC_DEFS:
        if not any(needle in text for needle in needles):
            continue
        for match in pattern.finditer(text):
            name = match.group(name_group)
            kind = match.group(type_ref).lower() if isinstance(type_ref, int) else type_ref
            key = (name, entry.path)
            if key not in state.metrics:
                state.metrics[key] = MetricDefinition(
                    name, kind, entry.path, _line_of(text, match.start()), is_business_metric(name)
                )
