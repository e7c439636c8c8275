"""Live Prometheus: the service's scrape targets, its metrics, the rules loaded for it, its alerts.

Reads the HTTP API of ``environments.NAME.prometheus.url`` with GET requests only:
scrape targets matching the service's selector (``job="shop-api"``), the metric
names and label names stored for it, the alerting and recording rules actually
loaded (with their health) that cover the service, the alerts firing for it now,
and Prometheus' own version and runtime. Every request is bounded in time, count
and size; a server that cannot be read makes each part say "could not read" with
the reason. Also home of two pieces the Alertmanager collector shares: label
matchers with Prometheus/Alertmanager semantics, and the bounded JSON client.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx
import yaml

from prr.collectors.live.base import LiveCollector, LiveContext, ParityView, register_live
from prr.collectors.live.guard import redact_url
from prr.collectors.observability import Threshold, classify, promql_metrics, promql_threshold
from prr.errors import CollectorError, CollectorTimeout, CollectorUnreachable
from prr.model.fields import format_duration
from prr.model.target import ENV_REF, Monitoring, resolve_secret

NAME = "prometheus"
CA_BUNDLE_ENV = "PRR_CA_BUNDLE"
MAX_RULES = 5000
MAX_ALERTS = 200
MAX_TEXT = 240

# ------------------------------------------------------------------- label matchers


@lru_cache(maxsize=512)
def _anchored(pattern: str) -> re.Pattern[str] | None:
    """A Prometheus/Alertmanager regex, fully anchored; None when Python cannot compile it."""
    try:
        return re.compile(f"(?:{pattern})", re.DOTALL)
    except re.error:
        return None


@dataclass(frozen=True)
class LabelMatcher:
    """``name op "value"`` with ``=``, ``!=``, ``=~``, ``!~``; regexes are fully anchored.

    A label that is absent matches as the empty string, as in Prometheus and Alertmanager.
    """

    name: str
    op: str
    value: str

    @property
    def negative(self) -> bool:
        return self.op in {"!=", "!~"}

    @property
    def valid(self) -> bool:
        return self.op in {"=", "!="} or _anchored(self.value) is not None

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        pattern = _anchored(self.value)
        if pattern is None:
            return False
        found = pattern.fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{json.dumps(self.value, ensure_ascii=False)}"


_MATCHER = re.compile(
    r"\s*([A-Za-z_][A-Za-z0-9_.:]*|\"(?:[^\"\\]|\\.)*\")\s*(=~|!~|!=|=)\s*"
    r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^,}\"']*)\s*"
)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        inner = text[1:-1]
        if text[0] == '"':
            try:
                value = json.loads(text)
                return value if isinstance(value, str) else inner
            except ValueError:
                pass
        return re.sub(r"\\(.)", r"\1", inner)
    return text.strip()


def parse_matchers(text: str) -> tuple[LabelMatcher, ...]:
    """Parse ``job="a", severity=~"crit.*"`` (optionally in braces); ValueError when malformed."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    found: list[LabelMatcher] = []
    pos = 0
    while pos < len(body):
        if not body[pos:].strip():
            break
        match = _MATCHER.match(body, pos)
        if not match:
            raise ValueError(f"cannot read a label matcher at {body[pos : pos + 30]!r}")
        name = _unquote(match.group(1))
        found.append(LabelMatcher(name, match.group(2), _unquote(match.group(3))))
        pos = match.end()
        if pos < len(body):
            if body[pos] != ",":
                raise ValueError(f"expected ',' at {body[pos : pos + 30]!r}")
            pos += 1
    return tuple(found)


def matchers_match(matchers: tuple[LabelMatcher, ...], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


def series_selector(matchers: tuple[LabelMatcher, ...], *extra: LabelMatcher) -> str:
    """``{job="shop-api",__name__=~"…"}`` for ``match[]`` and queries."""
    return "{" + ",".join(str(m) for m in (*matchers, *extra)) + "}"


# ------------------------------------------------------------------- bounded client

_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")


def scrub(text: str, limit: int = MAX_TEXT) -> str:
    """Text from a server or a library, with every URL redacted, on one line, truncated."""
    cleaned = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), str(text))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes (anyio hides the refusal a few levels down)."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found and len(found) < 10:
        found.append(current)
        found.extend(getattr(current, "exceptions", ()))
        current = current.__cause__ or current.__context__
    return found


def _connect_reason(exc: BaseException, where: str) -> str:
    chain = _chain(exc)
    text = " ".join(f"{type(e).__name__} {e}" for e in chain).lower()
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
        return f"connection refused by {where}"
    if "certificate verify failed" in text:
        return f"TLS handshake with {where} failed: certificate verify failed"
    if "ssl" in text or "tls" in text or "handshake" in text:
        return f"TLS handshake with {where} failed"
    if "name or service" in text or "nodename" in text or "resolution" in text:
        return f"cannot resolve {where}"
    if "unreachable" in text:
        return f"{where} is unreachable"
    return f"cannot connect to {where}"


def auth_headers(spec: Monitoring, source: str) -> dict[str, str]:
    """The header named by ``auth_header: env:VAR`` (a whole ``Name: value`` line), never shown."""
    if spec.auth_header is None:
        return {}
    reference = ENV_REF.match(spec.auth_header)
    if reference is None:
        raise CollectorError(
            "auth_header must reference an environment variable (env:VAR); "
            "a credential written into prr.yaml is not used",
            source=source,
        )
    line = resolve_secret(spec.auth_header)
    if not line:
        raise CollectorError(
            f"auth_header refers to {reference.group(1)}, which is not set", source=source
        )
    name, sep, value = line.partition(":")
    if sep and re.fullmatch(r"[A-Za-z0-9-]+", name.strip()):
        return {name.strip(): value.strip()}
    return {"Authorization": line.strip()}


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    bundle = os.environ.get(CA_BUNDLE_ENV)
    if bundle:
        context.load_verify_locations(bundle)
    return context


Params = Mapping[str, str | list[str]]


@dataclass
class Answer:
    """One HTTP answer: status, content type and the (capped) body."""

    status: int
    content_type: str
    body: bytes


class MonitoringApi:
    """GET-only JSON reads from one monitoring server, bounded in time, count, size, redirects.

    Every connection is checked by the address guard first; the auth header is
    dropped when a redirect leaves the host. Library exceptions become prr's
    own errors without their text.
    """

    def __init__(self, ctx: LiveContext, spec: Monitoring, kind: str) -> None:
        self.ctx = ctx
        self.kind = kind
        self.base = spec.url.rstrip("/")
        self.shown = redact_url(self.base)
        self.headers = auth_headers(spec, self.shown)
        self.requests = 0
        self._semaphore = asyncio.Semaphore(max(1, ctx.limits.concurrency))
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> MonitoringApi:
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.ctx.limits.timeout_s),
            follow_redirects=False,
            trust_env=False,
            verify=_tls_context(),
            headers={"Accept": "application/json", "User-Agent": "prr-live"},
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    def asked(self, path: str, params: Params | None = None) -> str:
        """What was asked, for evidence: ``GET <redacted base><path>?<params>``."""
        query = f"?{urlencode(dict(params), doseq=True)}" if params else ""
        return f"GET {self.shown}{path}{query}"

    async def get(self, path: str, params: Params | None = None) -> Answer:
        async with self._semaphore:
            return await self._get(self.base + path, params, f"{self.shown}{path}")

    async def _get(self, url: str, params: Params | None, source: str) -> Answer:
        limits = self.ctx.limits
        headers = dict(self.headers)
        origin = urlsplit(url).netloc
        current: str = url
        query: Params | None = params
        for _hop in range(limits.max_redirects + 1):
            if self.requests >= limits.max_requests:
                raise CollectorError(
                    f"request budget of {limits.max_requests} exhausted", source=source
                )
            self.requests += 1
            await self.ctx.guard.check_url(current, timeout=limits.timeout_s)
            answer, location = await self._fetch(current, query, headers, source)
            if location is None:
                return answer
            following = urljoin(current, location)
            if urlsplit(following).scheme not in {"http", "https"}:
                raise CollectorError("redirected to a non-HTTP location", source=source)
            if urlsplit(following).netloc != origin:
                headers = {}
            current, query = following, None
        raise CollectorError(
            f"more than {limits.max_redirects} redirects (a redirect loop?)", source=source
        )

    async def _fetch(
        self,
        url: str,
        params: Params | None,
        headers: dict[str, str],
        source: str,
    ) -> tuple[Answer, str | None]:
        assert self._client is not None, "use MonitoringApi as an async context manager"
        limits = self.ctx.limits
        parts = urlsplit(url)
        where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        try:
            async with asyncio.timeout(limits.timeout_s):
                request = self._client.build_request(
                    "GET", url, params=dict(params) if params else None, headers=headers
                )
                response = await self._client.send(request, stream=True)
                try:
                    if response.is_redirect and response.headers.get("location"):
                        return Answer(response.status_code, "", b""), response.headers["location"]
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > limits.max_body_bytes:
                        raise CollectorError(
                            f"answer of {int(declared)} bytes exceeds the limit of "
                            f"{limits.max_body_bytes} bytes",
                            source=source,
                        )
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > limits.max_body_bytes:
                            raise CollectorError(
                                f"answer exceeds the limit of {limits.max_body_bytes} bytes",
                                source=source,
                            )
                    content_type = response.headers.get("content-type", "")
                    return Answer(response.status_code, content_type, bytes(body)), None
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            raise CollectorTimeout(
                f"no answer within {limits.timeout_s:g}s", source=source
            ) from None
        except httpx.ConnectError as exc:
            raise CollectorUnreachable(_connect_reason(exc, where), source=source) from None
        except httpx.HTTPError as exc:
            raise CollectorError(
                f"the request failed ({type(exc).__name__})", source=source
            ) from None

    async def get_json(self, path: str, params: Params | None = None) -> Any:
        """The decoded JSON of a 2xx answer; a clear error for anything else."""
        source = f"{self.shown}{path}"
        answer = await self.get(path, params)
        if answer.status in {401, 403}:
            who = "the configured credentials" if self.headers else "access without credentials"
            raise CollectorError(
                f"HTTP {answer.status}: the server refused {who}"
                + ("" if self.headers else " (set auth_header: env:VAR)"),
                source=source,
            )
        try:
            data = json.loads(answer.body)
        except (ValueError, UnicodeDecodeError):
            if answer.status >= 400:
                hint = (
                    f" (no {self.kind} API here: check the URL and any path prefix)"
                    if answer.status == 404
                    else ""
                )
                raise CollectorError(f"HTTP {answer.status}{hint}", source=source) from None
            raise CollectorError(
                f"the answer is not JSON ({answer.content_type or 'no content type'}, "
                f"HTTP {answer.status}): this URL does not serve the {self.kind} API",
                source=source,
            ) from None
        if answer.status >= 400:
            message = data.get("error") if isinstance(data, dict) else None
            detail = f": {scrub(str(message))}" if message else ""
            raise CollectorError(f"HTTP {answer.status}{detail}", source=source)
        return data


# ------------------------------------------------------------------------ facts

PARTS = ("build", "runtime", "config", "targets", "metrics", "series", "uptime", "rules", "alerts")


@dataclass(frozen=True)
class ScrapeTarget:
    """One active scrape target of the service."""

    job: str
    instance: str
    health: str
    """``up``, ``down`` or ``unknown``."""
    last_error: str = ""
    scrape_interval: str = ""
    last_scrape: str = ""
    scrape_url: str = ""


@dataclass(frozen=True)
class LoadedRule:
    """An alerting or recording rule loaded in Prometheus that covers the service."""

    name: str
    kind: str
    """``alerting`` or ``recording``."""
    expr: str
    group: str
    file: str
    coverage: str
    """``service`` (names the service) or ``fleet-wide`` (no service filter, reads its metrics)."""
    for_duration: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    health: str = "unknown"
    last_error: str = ""
    state: str = ""
    classes: frozenset[str] = frozenset()
    threshold: Threshold | None = None
    metrics: frozenset[str] = frozenset()
    runbook_url: str | None = None

    @property
    def severity(self) -> str | None:
        return dict(self.labels).get("severity")

    @property
    def healthy(self) -> bool:
        return self.health != "err"


@dataclass(frozen=True)
class ActiveAlert:
    """An alert for the service that is pending or firing right now."""

    name: str
    state: str
    labels: tuple[tuple[str, str], ...]
    active_at: str = ""
    value: str = ""


_SLO_RECORD = re.compile(r"^(slo|sli):|burn_?rate|error_?budget|errorbudget|sloth|pyrra", re.I)
_STATUS_LABELS = frozenset(
    {
        "code",
        "status",
        "status_code",
        "http_status",
        "http_status_code",
        "response_code",
        "http_response_status_code",
        "grpc_code",
        "rpc_grpc_status_code",
        "outcome",
        "result",
    }
)
_REQUEST_COUNTER = re.compile(
    r"(requests?(_handled)?_total|_server_handled_total|requests?(_duration)?"
    r"(_seconds|_milliseconds|_ms)?_count)$"
)
_RUNTIME_PREFIXES = ("go_", "process_", "scrape_", "promhttp_", "python_", "jvm_", "nodejs_")
_LATENCY = re.compile(r"duration|latency|response_?time")
INFRA_KINDS: dict[str, re.Pattern[str]] = {
    "cpu": re.compile(r"^(process_cpu_seconds_total|container_cpu_usage_seconds_total|node_cpu)"),
    "memory": re.compile(
        r"^(process_resident_memory_bytes|container_memory_working_set_bytes|node_memory_|"
        r"jvm_memory_used_bytes)"
    ),
    "file-descriptors": re.compile(r"^process_(open|max)_fds$"),
    "network": re.compile(r"^(container_network_|node_network_)"),
    "disk": re.compile(r"^(container_fs_|node_filesystem_|node_disk_|kubelet_volume_stats_)"),
    "restarts": re.compile(
        r"^(kube_pod_container_status_restarts_total|process_start_time_seconds)$"
    ),
}
_IDENTITY_LABELS = frozenset(
    {
        "job",
        "service",
        "namespace",
        "app",
        "application",
        "app_kubernetes_io_name",
        "pod",
        "container",
        "instance",
        "deployment",
    }
)
_EXPR_MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*\"((?:[^\"\\]|\\.)*)\"")


@dataclass(frozen=True)
class PrometheusFacts(ParityView):
    """What one environment's Prometheus shows about the service; ``problems`` per part."""

    configured: bool = False
    url: str = ""
    selector: str = ""
    selector_defaulted: bool = False
    matchers: tuple[LabelMatcher, ...] = ()
    read_at: str = ""
    version: str | None = None
    runtime: tuple[tuple[str, str], ...] = ()
    external_labels: tuple[tuple[str, str], ...] = ()
    targets: tuple[ScrapeTarget, ...] = ()
    metric_names: tuple[str, ...] = ()
    metric_labels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Label names of the request counters (``http_requests_total`` → ``code``, ``method`` …)."""
    scrape_success: tuple[tuple[str, float], ...] = ()
    """Per instance, the share of successful scrapes over the last day (``avg_over_time(up)``)."""
    rules: tuple[LoadedRule, ...] = ()
    rules_total: int = 0
    alerts: tuple[ActiveAlert, ...] = ()
    problems: tuple[tuple[str, str], ...] = ()
    asked: tuple[tuple[str, str], ...] = ()

    def problem(self, *parts: str) -> str | None:
        """Why one of ``parts`` could not be read, or None."""
        for name, reason in self.problems:
            if name in parts:
                return reason
        return None

    def request_of(self, part: str) -> str:
        return next((asked for name, asked in self.asked if name == part), "")

    @property
    def readable(self) -> bool:
        return self.configured and len(self.problems) < len(PARTS)

    @property
    def alerting_rules(self) -> list[LoadedRule]:
        return [r for r in self.rules if r.kind == "alerting"]

    @property
    def slo_rules(self) -> list[LoadedRule]:
        return [r for r in self.rules if r.kind == "recording" and is_slo_record(r)]

    def rules_of(self, cls: str) -> list[LoadedRule]:
        return [r for r in self.alerting_rules if cls in r.classes]

    @property
    def request_counters(self) -> list[str]:
        return [
            n
            for n in self.metric_names
            if _REQUEST_COUNTER.search(n) and not n.startswith(_RUNTIME_PREFIXES)
        ]

    def status_labels(self, metric: str) -> list[str]:
        labels = dict(self.metric_labels).get(metric, ())
        return sorted(set(labels) & _STATUS_LABELS)

    @property
    def latency_metrics(self) -> list[str]:
        """Histograms first (``*_bucket``), then summaries and gauges named for latency."""
        found = [
            n
            for n in self.metric_names
            if _LATENCY.search(n) and not n.startswith(_RUNTIME_PREFIXES)
        ]
        return sorted(found, key=lambda n: (not n.endswith("_bucket"), n))

    @property
    def infra(self) -> dict[str, list[str]]:
        """Infrastructure metric names stored for the service, by kind."""
        return {
            kind: names
            for kind, pattern in INFRA_KINDS.items()
            if (names := [n for n in self.metric_names if pattern.search(n)])
        }

    def parity(self) -> dict[str, Any]:
        if not self.configured:
            return {}
        view: dict[str, Any] = {}
        if self.version:
            view["prometheus.version"] = self.version
        if self.problem("rules") is None:
            view["prometheus.alert_rules"] = sorted({r.name for r in self.alerting_rules})
            view["prometheus.alert_classes"] = sorted(
                {c for r in self.alerting_rules if r.healthy for c in r.classes}
            )
            view["prometheus.slo_rules"] = sorted({r.name for r in self.slo_rules})
        return view


def is_slo_record(rule: LoadedRule) -> bool:
    text = f"{rule.name} {rule.group} {' '.join(f'{k}={v}' for k, v in rule.labels)}"
    return bool(_SLO_RECORD.search(text))


def rule_coverage(
    expr: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    matchers: tuple[LabelMatcher, ...],
    service: str,
    service_metrics: frozenset[str],
) -> str | None:
    """``service`` when a rule names the service, ``fleet-wide`` when it watches every job
    (no identity label filter) through a metric the service has, else None."""
    positive = [m for m in matchers if not m.negative]
    values = {m.value for m in positive if m.op == "="} | {service}
    expr_matchers = list(_EXPR_MATCHER.finditer(expr))
    for found in expr_matchers:
        name, op, value = found.group(1), found.group(2), _unquote(f'"{found.group(3)}"')
        if op in {"!=", "!~"}:
            continue
        for wanted in positive:
            if name != wanted.name or wanted.op != "=":
                continue
            if (op == "=" and value == wanted.value) or (
                op == "=~" and LabelMatcher(name, op, value).matches({name: wanted.value})
            ):
                return "service"
        if name in _IDENTITY_LABELS and op == "=" and value == service:
            return "service"
    if any(v in values for v in labels.values()):
        return "service"
    words = [re.compile(rf"(?<![\w-]){re.escape(v)}(?![\w-])") for v in values if v]
    if any(w.search(text) for w in words for text in annotations.values()):
        return "service"
    filtered = {found.group(1) for found in expr_matchers}
    wanted_names = {m.name for m in matchers} | _IDENTITY_LABELS
    if not filtered & wanted_names and promql_metrics(expr) & service_metrics:
        return "fleet-wide"
    return None


# --------------------------------------------------------------------- collector


def _prom_data(payload: Any, source: str) -> Any:
    if not isinstance(payload, dict) or "status" not in payload:
        raise CollectorError(
            "answered JSON without the Prometheus API envelope (status/data): not a "
            "Prometheus server",
            source=source,
        )
    if payload.get("status") != "success":
        raise CollectorError(
            f"API error {payload.get('errorType', '')}: {scrub(str(payload.get('error', '')))}",
            source=source,
        )
    return payload.get("data")


def _seconds(value: Any) -> str | None:
    if isinstance(value, int | float) and value > 0:
        return format_duration(dt.timedelta(seconds=float(value)))
    return None


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if v is not None}


@dataclass
class _Reading:
    """What one collection has read so far (filled part by part, concurrently)."""

    problems: dict[str, str] = field(default_factory=dict)
    asked: dict[str, str] = field(default_factory=dict)
    version: str | None = None
    runtime: tuple[tuple[str, str], ...] = ()
    external_labels: tuple[tuple[str, str], ...] = ()
    targets: tuple[ScrapeTarget, ...] = ()
    metric_names: tuple[str, ...] = ()
    metric_labels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    scrape_success: tuple[tuple[str, float], ...] = ()
    raw_rules: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    rules_total: int = 0
    raw_alerts: list[dict[str, Any]] = field(default_factory=list)


def _default_selector(ctx: LiveContext, spec: Monitoring) -> tuple[str, bool]:
    if spec.selector and spec.selector.strip():
        return spec.selector.strip(), False
    return f'job="{ctx.target.service}"', True


@register_live
class PrometheusCollector(LiveCollector):
    """Reads the service's targets, metrics, loaded rules and alerts from Prometheus."""

    name = NAME
    facts_type = PrometheusFacts

    async def collect(self, ctx: LiveContext) -> PrometheusFacts:
        spec = ctx.spec.prometheus
        if spec is None:
            return PrometheusFacts()
        url = redact_url(spec.url)
        selector, defaulted = _default_selector(ctx, spec)
        read_at = now_iso()
        base = PrometheusFacts(
            configured=True,
            url=url,
            selector=selector,
            selector_defaulted=defaulted,
            read_at=read_at,
        )
        try:
            matchers = parse_matchers(selector)
            if not matchers or not all(m.valid for m in matchers):
                raise ValueError("no usable label matcher")
        except ValueError as exc:
            return self._failed(ctx, base, f"selector {selector!r} is not a label selector: {exc}")
        base = replace(base, matchers=matchers)
        reading = _Reading()
        try:
            async with asyncio.timeout(ctx.limits.total_timeout_s):
                async with MonitoringApi(ctx, spec, "Prometheus") as api:
                    await self._read(api, matchers, reading)
        except CollectorError as exc:
            base = replace(base, asked=tuple(sorted(reading.asked.items())))
            return self._failed(ctx, base, str(exc).removeprefix(f"{exc.source}: "))
        except TimeoutError:
            reason = f"did not finish within {ctx.limits.total_timeout_s:g}s"
            for part in PARTS:
                reading.problems.setdefault(part, reason)
        for part, reason in reading.problems.items():
            ctx.error(f"{url} ({part})", reason, NAME)
        return self._facts(ctx, base, reading)

    def _failed(self, ctx: LiveContext, base: PrometheusFacts, reason: str) -> PrometheusFacts:
        ctx.error(base.url, reason, NAME)
        return replace(base, problems=tuple((part, reason) for part in PARTS))

    async def _read(
        self, api: MonitoringApi, matchers: tuple[LabelMatcher, ...], reading: _Reading
    ) -> None:
        # One cheap request first: when the server is unreachable, not Prometheus or refuses
        # the credentials, stop here instead of repeating the failure for every part.
        await self._build(api, reading)

        async def guarded(part: str, read: Callable[[], Awaitable[None]]) -> None:
            try:
                await read()
            except CollectorError as exc:
                reading.problems[part] = str(exc).removeprefix(f"{exc.source}: ")

        selector = series_selector(matchers)

        async def names_then_series() -> None:
            await guarded("metrics", lambda: self._names(api, matchers, reading))
            if "metrics" not in reading.problems:
                await guarded("series", lambda: self._series(api, matchers, reading))

        await asyncio.gather(
            guarded("runtime", lambda: self._runtime(api, reading)),
            guarded("config", lambda: self._config(api, reading)),
            guarded("targets", lambda: self._targets(api, matchers, reading)),
            names_then_series(),
            guarded("uptime", lambda: self._uptime(api, selector, reading)),
            guarded("rules", lambda: self._rules(api, reading)),
            guarded("alerts", lambda: self._alerts(api, reading)),
        )

    async def _api(
        self, api: MonitoringApi, reading: _Reading, part: str, path: str, **params: str
    ) -> Any:
        reading.asked[part] = api.asked(path, params or None)
        payload = await api.get_json(path, params or None)
        return _prom_data(payload, f"{api.shown}{path}")

    async def _build(self, api: MonitoringApi, reading: _Reading) -> None:
        data = await self._api(api, reading, "build", "/api/v1/status/buildinfo")
        if isinstance(data, dict) and data.get("version"):
            reading.version = str(data["version"])

    async def _runtime(self, api: MonitoringApi, reading: _Reading) -> None:
        data = _str_map(await self._api(api, reading, "runtime", "/api/v1/status/runtimeinfo"))
        keep = ("storageRetention", "startTime", "reloadConfigSuccess", "lastConfigTime")
        reading.runtime = tuple((k, data[k]) for k in keep if k in data)

    async def _config(self, api: MonitoringApi, reading: _Reading) -> None:
        data = await self._api(api, reading, "config", "/api/v1/status/config")
        text = data.get("yaml") if isinstance(data, dict) else None
        if not isinstance(text, str):
            raise CollectorError("the config answer holds no YAML", source=api.shown)
        try:
            config = yaml.safe_load(text)
        except yaml.YAMLError:
            # The error text could quote the configuration: say only that it failed.
            raise CollectorError("the configuration is not valid YAML", source=api.shown) from None
        glob = config.get("global") if isinstance(config, dict) else None
        labels = _str_map(glob.get("external_labels") if isinstance(glob, dict) else None)
        reading.external_labels = tuple(sorted(labels.items()))

    async def _targets(
        self, api: MonitoringApi, matchers: tuple[LabelMatcher, ...], reading: _Reading
    ) -> None:
        data = await self._api(api, reading, "targets", "/api/v1/targets", state="active")
        active = data.get("activeTargets") if isinstance(data, dict) else None
        if not isinstance(active, list):
            raise CollectorError("the targets answer has no activeTargets", source=api.shown)
        found: list[ScrapeTarget] = []
        for entry in active:
            if not isinstance(entry, dict):
                continue
            labels = _str_map(entry.get("labels"))
            if not matchers_match(matchers, labels):
                continue
            found.append(
                ScrapeTarget(
                    job=labels.get("job", ""),
                    instance=labels.get("instance", ""),
                    health=str(entry.get("health") or "unknown"),
                    last_error=scrub(str(entry.get("lastError") or "")),
                    scrape_interval=str(entry.get("scrapeInterval") or ""),
                    last_scrape=str(entry.get("lastScrape") or ""),
                    scrape_url=redact_url(str(entry.get("scrapeUrl") or "")),
                )
            )
        reading.targets = tuple(sorted(found, key=lambda t: (t.job, t.instance)))

    async def _names(
        self, api: MonitoringApi, matchers: tuple[LabelMatcher, ...], reading: _Reading
    ) -> None:
        path = "/api/v1/label/__name__/values"
        data = await self._api(
            api, reading, "metrics", path, **{"match[]": series_selector(matchers)}
        )
        if not isinstance(data, list):
            raise CollectorError("the label values answer is not a list", source=api.shown)
        names = {str(n) for n in data}
        # Container metrics carry namespace/pod/container, not the job: look them up by those.
        placement = tuple(
            m for m in matchers if m.name in {"namespace", "pod", "container"} and not m.negative
        )
        if placement:
            infra = LabelMatcher("__name__", "=~", "container_.*|kube_pod_container_.*")
            extra = await api.get_json(path, {"match[]": series_selector(placement, infra)})
            more = _prom_data(extra, f"{api.shown}{path}")
            if isinstance(more, list):
                names |= {str(n) for n in more}
        reading.metric_names = tuple(sorted(names))

    async def _series(
        self, api: MonitoringApi, matchers: tuple[LabelMatcher, ...], reading: _Reading
    ) -> None:
        facts = PrometheusFacts(metric_names=reading.metric_names)
        counters = sorted(facts.request_counters, key=lambda n: ("http" not in n, n))[:3]
        found: list[tuple[str, tuple[str, ...]]] = []
        for metric in counters:
            name = LabelMatcher("__name__", "=", metric)
            data = await self._api(
                api,
                reading,
                "series",
                "/api/v1/labels",
                **{"match[]": series_selector(matchers, name)},
            )
            if isinstance(data, list):
                found.append((metric, tuple(sorted(str(x) for x in data))))
        reading.metric_labels = tuple(found)

    async def _uptime(self, api: MonitoringApi, selector: str, reading: _Reading) -> None:
        query = f"avg_over_time(up{selector}[1d])"
        data = await self._api(api, reading, "uptime", "/api/v1/query", query=query)
        result = data.get("result") if isinstance(data, dict) else None
        shares: list[tuple[str, float]] = []
        for series in result if isinstance(result, list) else []:
            if not isinstance(series, dict):
                continue
            metric = _str_map(series.get("metric"))
            value = series.get("value")
            try:
                share = float(value[1]) if isinstance(value, list) else None
            except (TypeError, ValueError, IndexError):
                share = None
            if share is not None:
                shares.append((metric.get("instance", ""), round(share, 6)))
        reading.scrape_success = tuple(sorted(shares))

    async def _rules(self, api: MonitoringApi, reading: _Reading) -> None:
        data = await self._api(api, reading, "rules", "/api/v1/rules")
        groups = data.get("groups") if isinstance(data, dict) else None
        if not isinstance(groups, list):
            raise CollectorError("the rules answer has no groups", source=api.shown)
        for group in groups:
            if not isinstance(group, dict) or not isinstance(group.get("rules"), list):
                continue
            for rule in group["rules"]:
                if isinstance(rule, dict) and reading.rules_total < MAX_RULES:
                    reading.rules_total += 1
                    reading.raw_rules.append(
                        (str(group.get("name") or ""), str(group.get("file") or ""), rule)
                    )

    async def _alerts(self, api: MonitoringApi, reading: _Reading) -> None:
        data = await self._api(api, reading, "alerts", "/api/v1/alerts")
        alerts = data.get("alerts") if isinstance(data, dict) else None
        if not isinstance(alerts, list):
            raise CollectorError("the alerts answer has no alerts list", source=api.shown)
        reading.raw_alerts = [a for a in alerts if isinstance(a, dict)]

    def _facts(self, ctx: LiveContext, base: PrometheusFacts, reading: _Reading) -> PrometheusFacts:
        metrics = frozenset(reading.metric_names)
        rules: list[LoadedRule] = []
        for group, file, rule in reading.raw_rules:
            loaded = _loaded_rule(group, file, rule, base.matchers, ctx.target.service, metrics)
            if loaded is not None:
                rules.append(loaded)
        named = {r.name for r in rules if r.kind == "alerting" and r.coverage == "service"}
        alerts: list[ActiveAlert] = []
        for alert in reading.raw_alerts:
            labels = _str_map(alert.get("labels"))
            name = labels.get("alertname", "")
            if not (matchers_match(base.matchers, labels) or name in named):
                continue
            alerts.append(
                ActiveAlert(
                    name=name,
                    state=str(alert.get("state") or ""),
                    labels=tuple(sorted(labels.items())),
                    active_at=str(alert.get("activeAt") or ""),
                    value=str(alert.get("value") or ""),
                )
            )
            if len(alerts) >= MAX_ALERTS:
                break
        return replace(
            base,
            version=reading.version,
            runtime=reading.runtime,
            external_labels=reading.external_labels,
            targets=reading.targets,
            metric_names=reading.metric_names,
            metric_labels=reading.metric_labels,
            scrape_success=reading.scrape_success,
            rules=tuple(rules),
            rules_total=reading.rules_total,
            alerts=tuple(alerts),
            problems=tuple(sorted(reading.problems.items())),
            asked=tuple(sorted(reading.asked.items())),
        )


def _loaded_rule(
    group: str,
    file: str,
    rule: dict[str, Any],
    matchers: tuple[LabelMatcher, ...],
    service: str,
    metrics: frozenset[str],
) -> LoadedRule | None:
    kind = str(rule.get("type") or "")
    name = str(rule.get("name") or "")
    expr = str(rule.get("query") or "")
    if kind not in {"alerting", "recording"} or not name:
        return None
    labels = _str_map(rule.get("labels"))
    annotations = _str_map(rule.get("annotations"))
    coverage = rule_coverage(expr, labels, annotations, matchers, service, metrics)
    if coverage is None:
        return None
    label_text = " ".join(f"{k}={v}" for k, v in sorted(labels.items()))
    runbook = next(
        (annotations[k] for k in ("runbook_url", "runbook", "runbookURL") if annotations.get(k)),
        None,
    )
    return LoadedRule(
        name=name,
        kind=kind,
        expr=expr,
        group=group,
        file=file,
        coverage=coverage,
        for_duration=_seconds(rule.get("duration")),
        labels=tuple(sorted(labels.items())),
        health=str(rule.get("health") or "unknown"),
        last_error=scrub(str(rule.get("lastError") or "")),
        state=str(rule.get("state") or ""),
        classes=classify(expr, name, f"{group} {label_text}")
        if kind == "alerting"
        else frozenset(),
        threshold=promql_threshold(expr),
        metrics=promql_metrics(expr),
        runbook_url=redact_url(runbook) if runbook and "://" in runbook else runbook,
    )
