"""Live Alertmanager: the routing actually loaded, its receivers, silences and cluster state.

Reads the v2 API of ``environments.NAME.alertmanager.url`` with GET requests only:
``/api/v2/status`` (version, cluster and peers, and the loaded configuration,
parsed here into the route tree, receivers with their integration types and
inhibit rules), ``/api/v2/receivers``, the active silences and the service's
alerts as Alertmanager holds them (silenced or inhibited). The configuration
holds credentials (routing keys, API keys, webhook URLs, SMTP passwords): only
names, matchers, timings and integration *types* are kept; nothing else of it
leaves the parser. Routes can then be resolved for any label set with
Alertmanager's own semantics (anchored regexes, ``continue``, default route).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import yaml

from prr.collectors.live.base import LiveCollector, LiveContext, ParityView, register_live
from prr.collectors.live.guard import redact_url
from prr.collectors.live.prometheus import (
    LabelMatcher,
    MonitoringApi,
    matchers_match,
    now_iso,
    parse_matchers,
    scrub,
)
from prr.collectors.observability import integration_class
from prr.errors import CollectorError
from prr.model.target import Monitoring

NAME = "alertmanager"
PARTS = ("status", "config", "receivers", "silences", "alerts")
MAX_ROUTES = 500
MAX_DEPTH = 20
MAX_SILENCES = 500
DEFAULT_TIMINGS = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}
_INTEGRATION_KEY = re.compile(r"^([a-z0-9]+?)_configs$")
# Webhooks that post to a paging tool count as paging; only the tool's name is kept.
_PAGING_HOSTS = (
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


# ------------------------------------------------------------------------ facts


@dataclass(frozen=True)
class Receiver:
    """A receiver and the types of its integrations (``pagerduty``, ``slack`` …)."""

    name: str
    integrations: tuple[str, ...] = ()

    @property
    def delivers(self) -> bool:
        """False for a null/blackhole receiver: alerts routed here reach nobody."""
        return bool(self.integrations)

    @property
    def classes(self) -> frozenset[str]:
        """``paging``, ``chat``, ``email``, ``ticket``, ``other``."""
        return frozenset(integration_class(i) for i in self.integrations)


@dataclass(frozen=True)
class Route:
    """One node of the route tree, with the receiver and timings it inherits."""

    path: str
    receiver: str
    matchers: tuple[LabelMatcher, ...] = ()
    continue_matching: bool = False
    group_by: tuple[str, ...] = ()
    group_wait: str = DEFAULT_TIMINGS["group_wait"]
    group_interval: str = DEFAULT_TIMINGS["group_interval"]
    repeat_interval: str = DEFAULT_TIMINGS["repeat_interval"]
    mute_time_intervals: tuple[str, ...] = ()
    routes: tuple[Route, ...] = ()
    problem: str | None = None

    def matches(self, labels: dict[str, str]) -> bool:
        return self.problem is None and matchers_match(self.matchers, labels)

    def resolve(self, labels: dict[str, str]) -> list[Route]:
        """The routes an alert with ``labels`` ends in (Alertmanager's ``Route.Match``).

        A child that matches stops the search unless it has ``continue: true``;
        when no child matches, this route itself is the match.
        """
        if not self.matches(labels):
            return []
        found: list[Route] = []
        for child in self.routes:
            matched = child.resolve(labels)
            found.extend(matched)
            if matched and not child.continue_matching:
                break
        return found or [self]

    def walk(self) -> list[Route]:
        out = [self]
        for child in self.routes:
            out.extend(child.walk())
        return out

    @property
    def where(self) -> str:
        return " & ".join(str(m) for m in self.matchers) or "default route"


@dataclass(frozen=True)
class InhibitRule:
    source: tuple[LabelMatcher, ...]
    target: tuple[LabelMatcher, ...]
    equal: tuple[str, ...] = ()


@dataclass(frozen=True)
class Silence:
    """An active silence: its matchers and until when it mutes (no comment kept)."""

    id: str
    matchers: tuple[LabelMatcher, ...]
    starts_at: str
    ends_at: str
    created_by: str = ""

    def matches(self, labels: dict[str, str]) -> bool:
        return bool(self.matchers) and matchers_match(self.matchers, labels)

    @property
    def text(self) -> str:
        return "{" + ", ".join(str(m) for m in self.matchers) + "}"


@dataclass(frozen=True)
class HeldAlert:
    """An alert of the service that Alertmanager holds, and what suppresses it."""

    name: str
    state: str
    """``active``, ``suppressed`` or ``unprocessed``."""
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class AlertmanagerFacts(ParityView):
    """What one environment's Alertmanager does with alerts; ``problems`` per part."""

    configured: bool = False
    url: str = ""
    read_at: str = ""
    selector: str = ""
    selector_defaulted: bool = False
    service_labels: tuple[tuple[str, str], ...] = ()
    """Equality labels from the selector: what every alert of the service carries."""
    version: str | None = None
    cluster_status: str | None = None
    peers: int = 0
    route: Route | None = None
    receivers: tuple[Receiver, ...] = ()
    receiver_names: tuple[str, ...] = ()
    """Receivers as listed by ``/api/v2/receivers``."""
    inhibit_rules: tuple[InhibitRule, ...] = ()
    silences: tuple[Silence, ...] = ()
    alerts: tuple[HeldAlert, ...] = ()
    problems: tuple[tuple[str, str], ...] = ()
    asked: tuple[tuple[str, str], ...] = ()

    def problem(self, *parts: str) -> str | None:
        for name, reason in self.problems:
            if name in parts:
                return reason
        return None

    def request_of(self, part: str) -> str:
        return next((asked for name, asked in self.asked if name == part), "")

    def receiver(self, name: str) -> Receiver | None:
        return next((r for r in self.receivers if r.name == name), None)

    def resolve(self, labels: dict[str, str]) -> list[Route]:
        return self.route.resolve(labels) if self.route is not None else []

    def receivers_for(self, labels: dict[str, str]) -> list[tuple[str, Receiver | None]]:
        """``(name, receiver)`` for every receiver an alert with ``labels`` is sent to."""
        names = dict.fromkeys(r.receiver for r in self.resolve(labels))
        return [(n, self.receiver(n)) for n in names]

    def silences_for(self, labels: dict[str, str]) -> list[Silence]:
        return [s for s in self.silences if s.matches(labels)]

    def probe_labels(self, severity: str, alertname: str = "") -> dict[str, str]:
        """Labels of a representative alert of the service at ``severity``."""
        labels = dict(self.service_labels)
        labels["severity"] = severity
        labels["alertname"] = alertname or f"PrrProbe{severity.title()}"
        return labels

    @property
    def clustered(self) -> bool:
        return self.cluster_status not in {None, "disabled"} and self.peers >= 2

    def parity(self) -> dict[str, Any]:
        if not self.configured:
            return {}
        view: dict[str, Any] = {}
        if self.version:
            view["alertmanager.version"] = self.version
        if self.route is not None:
            view["alertmanager.integrations"] = sorted(
                {i for r in self.receivers for i in r.integrations}
            )
            for severity in ("critical", "warning"):
                reached = self.receivers_for(self.probe_labels(severity))
                view[f"alertmanager.{severity}.integrations"] = sorted(
                    {i for _, r in reached if r is not None for i in r.integrations}
                )
            view["alertmanager.inhibit_rules"] = len(self.inhibit_rules)
        return view


# ------------------------------------------------------------------- config parser


def _webhook_kind(entry: Any) -> str:
    url = entry.get("url") if isinstance(entry, dict) else None
    host = (urlsplit(url).hostname or "") if isinstance(url, str) and "://" in url else ""
    tool = next((t for needle, t in _PAGING_HOSTS if needle in host.lower()), None)
    return f"webhook:{tool}" if tool else "webhook"


def _receiver(node: dict[str, Any]) -> Receiver:
    """Only the name and integration types: URLs, keys and passwords are not read at all."""
    kinds: list[str] = []
    for key, value in node.items():
        match = _INTEGRATION_KEY.match(str(key))
        if not match or not isinstance(value, list) or not value:
            continue
        kind = match.group(1)
        if kind == "webhook":
            kinds.extend(_webhook_kind(entry) for entry in value)
        else:
            kinds.extend(kind for _ in value)
    return Receiver(str(node.get("name")), tuple(dict.fromkeys(kinds)))


def _matchers(
    node: dict[str, Any], prefix: str = ""
) -> tuple[tuple[LabelMatcher, ...], str | None]:
    found: list[LabelMatcher] = []
    problem = None
    for key, op in ((f"{prefix}match", "="), (f"{prefix}match_re", "=~")):
        value = node.get(key)
        if isinstance(value, dict):
            found.extend(LabelMatcher(str(k), op, str(v)) for k, v in value.items())
    value = node.get(f"{prefix}matchers")
    for item in value if isinstance(value, list) else []:
        try:
            found.extend(parse_matchers(str(item)))
        except ValueError as exc:
            problem = f"matcher {scrub(str(item), 80)!r} cannot be read: {exc}"
    invalid = [m for m in found if not m.valid]
    if invalid and problem is None:
        problem = f"regex {invalid[0].value!r} cannot be compiled here"
    return tuple(found), problem


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _route(node: dict[str, Any], path: str, parent: Route | None, budget: list[int]) -> Route:
    budget[0] -= 1
    matchers, problem = _matchers(node)

    def timing(key: str) -> str:
        own = node.get(key)
        if own is not None:
            return str(own)
        return str(getattr(parent, key)) if parent is not None else DEFAULT_TIMINGS[key]

    group_by = node.get("group_by")
    route = Route(
        path=path,
        receiver=str(node.get("receiver") or (parent.receiver if parent else "")),
        matchers=matchers,
        continue_matching=bool(node.get("continue")),
        group_by=_strings(group_by)
        if group_by is not None
        else (parent.group_by if parent else ()),
        group_wait=timing("group_wait"),
        group_interval=timing("group_interval"),
        repeat_interval=timing("repeat_interval"),
        mute_time_intervals=_strings(node.get("mute_time_intervals")),
        problem=problem,
    )
    children: list[Route] = []
    depth = path.count(".routes[")
    for index, child in enumerate(node.get("routes") or []):
        if not isinstance(child, dict) or budget[0] <= 0 or depth >= MAX_DEPTH:
            continue
        children.append(_route(child, f"{path}.routes[{index}]", route, budget))
    return replace(route, routes=tuple(children))


@dataclass
class ParsedConfig:
    route: Route | None
    receivers: tuple[Receiver, ...]
    inhibit_rules: tuple[InhibitRule, ...]


def parse_config(text: str, source: str) -> ParsedConfig:
    """The routing parts of an Alertmanager configuration; credentials are never kept."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # The parser's message can quote the line, which may hold a key: give only the line.
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise CollectorError(
            f"the loaded configuration is not valid YAML{where}", source=source
        ) from None
    if not isinstance(config, dict):
        raise CollectorError("the loaded configuration is not a mapping", source=source)
    receivers = tuple(
        _receiver(r) for r in config.get("receivers") or [] if isinstance(r, dict) and r.get("name")
    )
    root = config.get("route")
    route = _route(root, "route", None, [MAX_ROUTES]) if isinstance(root, dict) else None
    inhibit: list[InhibitRule] = []
    for rule in config.get("inhibit_rules") or []:
        if isinstance(rule, dict):
            source_matchers, _ = _matchers(rule, "source_")
            target_matchers, _ = _matchers(rule, "target_")
            inhibit.append(
                InhibitRule(source_matchers, target_matchers, _strings(rule.get("equal")))
            )
    return ParsedConfig(route, receivers, tuple(inhibit))


# --------------------------------------------------------------------- collector


def _api_matchers(value: Any) -> tuple[LabelMatcher, ...]:
    found: list[LabelMatcher] = []
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, dict) or "name" not in item:
            continue
        regex = bool(item.get("isRegex"))
        equal = item.get("isEqual", True) is not False
        op = ("=~" if regex else "=") if equal else ("!~" if regex else "!=")
        found.append(LabelMatcher(str(item["name"]), op, str(item.get("value", ""))))
    return tuple(found)


def _selector(ctx: LiveContext, spec: Monitoring) -> tuple[str, bool]:
    for candidate in (spec.selector, ctx.spec.prometheus.selector if ctx.spec.prometheus else None):
        if candidate and candidate.strip():
            return candidate.strip(), False
    return f'job="{ctx.target.service}"', True


@dataclass
class _Reading:
    problems: dict[str, str] = field(default_factory=dict)
    asked: dict[str, str] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    receiver_names: tuple[str, ...] = ()
    silences: tuple[Silence, ...] = ()
    alerts: tuple[HeldAlert, ...] = ()


@register_live
class AlertmanagerCollector(LiveCollector):
    """Reads Alertmanager's loaded routing, receivers, silences and cluster state."""

    name = NAME
    facts_type = AlertmanagerFacts

    async def collect(self, ctx: LiveContext) -> AlertmanagerFacts:
        spec = ctx.spec.alertmanager
        if spec is None:
            return AlertmanagerFacts()
        selector, defaulted = _selector(ctx, spec)
        base = AlertmanagerFacts(
            configured=True,
            url=redact_url(spec.url),
            read_at=now_iso(),
            selector=selector,
            selector_defaulted=defaulted,
        )
        try:
            matchers = parse_matchers(selector)
        except ValueError as exc:
            return self._failed(ctx, base, f"selector {selector!r} is not a label selector: {exc}")
        labels = tuple((m.name, m.value) for m in matchers if m.op == "=")
        base = replace(base, service_labels=labels)
        reading = _Reading()
        try:
            async with asyncio.timeout(ctx.limits.total_timeout_s):
                async with MonitoringApi(ctx, spec, "Alertmanager v2") as api:
                    await self._read(api, matchers, reading)
        except CollectorError as exc:
            base = replace(base, asked=tuple(sorted(reading.asked.items())))
            return self._failed(ctx, base, str(exc).removeprefix(f"{exc.source}: "))
        except TimeoutError:
            reason = f"did not finish within {ctx.limits.total_timeout_s:g}s"
            for part in PARTS:
                reading.problems.setdefault(part, reason)
        return self._facts(ctx, base, reading)

    def _failed(self, ctx: LiveContext, base: AlertmanagerFacts, reason: str) -> AlertmanagerFacts:
        ctx.error(base.url, reason, NAME)
        return replace(base, problems=tuple((part, reason) for part in PARTS))

    async def _read(
        self, api: MonitoringApi, matchers: tuple[LabelMatcher, ...], reading: _Reading
    ) -> None:
        reading.asked["status"] = api.asked("/api/v2/status")
        status = await api.get_json("/api/v2/status")
        if not isinstance(status, dict) or not isinstance(status.get("config"), dict):
            raise CollectorError(
                "answered JSON without config/versionInfo: not the Alertmanager v2 API",
                source=f"{api.shown}/api/v2/status",
            )
        reading.status = status

        async def guarded(part: str, path: str, params: dict[str, str | list[str]]) -> Any:
            reading.asked[part] = api.asked(path, params or None)
            try:
                return await api.get_json(path, params or None)
            except CollectorError as exc:
                reading.problems[part] = str(exc).removeprefix(f"{exc.source}: ")
                return None

        wanted = [str(m) for m in matchers]
        receivers, silences, alerts = await asyncio.gather(
            guarded("receivers", "/api/v2/receivers", {}),
            guarded("silences", "/api/v2/silences", {}),
            guarded(
                "alerts",
                "/api/v2/alerts",
                {"active": "true", "silenced": "true", "inhibited": "true", "filter": wanted},
            ),
        )
        if isinstance(receivers, list):
            reading.receiver_names = tuple(
                str(r["name"]) for r in receivers if isinstance(r, dict) and r.get("name")
            )
        elif "receivers" not in reading.problems:
            reading.problems["receivers"] = "the receivers answer is not a list"
        if isinstance(silences, list):
            reading.silences = tuple(_active_silences(silences))
        elif "silences" not in reading.problems:
            reading.problems["silences"] = "the silences answer is not a list"
        if isinstance(alerts, list):
            reading.alerts = tuple(_held(a) for a in alerts[:200] if isinstance(a, dict))
        elif "alerts" not in reading.problems:
            reading.problems["alerts"] = "the alerts answer is not a list"

    def _facts(
        self, ctx: LiveContext, base: AlertmanagerFacts, reading: _Reading
    ) -> AlertmanagerFacts:
        status = reading.status
        version_info = status.get("versionInfo")
        cluster = status.get("cluster")
        peers = cluster.get("peers") if isinstance(cluster, dict) else None
        facts = replace(
            base,
            version=str(version_info.get("version")) if isinstance(version_info, dict) else None,
            cluster_status=str(cluster.get("status")) if isinstance(cluster, dict) else None,
            peers=len(peers) if isinstance(peers, list) else 0,
            receiver_names=reading.receiver_names,
            silences=reading.silences,
            alerts=reading.alerts,
        )
        config = status.get("config")
        original = config.get("original") if isinstance(config, dict) else None
        if not status:
            pass  # the total time ran out before the status was read: problems say so
        elif not isinstance(original, str) or not original.strip():
            reading.problems["config"] = "the status answer holds no loaded configuration"
        else:
            try:
                parsed = parse_config(original, f"{base.url}/api/v2/status")
            except CollectorError as exc:
                reading.problems["config"] = str(exc).removeprefix(f"{exc.source}: ")
            else:
                reading.asked.setdefault("config", reading.asked.get("status", ""))
                facts = replace(
                    facts,
                    route=parsed.route,
                    receivers=parsed.receivers,
                    inhibit_rules=parsed.inhibit_rules,
                )
        for part, reason in reading.problems.items():
            ctx.error(f"{base.url} ({part})", reason, NAME)
        return replace(
            facts,
            problems=tuple(sorted(reading.problems.items())),
            asked=tuple(sorted(reading.asked.items())),
        )


def _active_silences(items: list[Any]) -> list[Silence]:
    found: list[Silence] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        state = (
            item.get("status", {}).get("state") if isinstance(item.get("status"), dict) else None
        )
        if state != "active":
            continue
        found.append(
            Silence(
                id=str(item.get("id") or ""),
                matchers=_api_matchers(item.get("matchers")),
                starts_at=str(item.get("startsAt") or ""),
                ends_at=str(item.get("endsAt") or ""),
                created_by=scrub(str(item.get("createdBy") or ""), 80),
            )
        )
        if len(found) >= MAX_SILENCES:
            break
    return found


def _held(alert: dict[str, Any]) -> HeldAlert:
    raw_status, raw_labels = alert.get("status"), alert.get("labels")
    status: dict[str, Any] = raw_status if isinstance(raw_status, dict) else {}
    labels: dict[str, Any] = raw_labels if isinstance(raw_labels, dict) else {}
    return HeldAlert(
        name=str(labels.get("alertname", "")),
        state=str(status.get("state") or ""),
        silenced_by=tuple(str(s) for s in status.get("silencedBy") or []),
        inhibited_by=tuple(str(s) for s in status.get("inhibitedBy") or []),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
    )
