"""``alert-fires``: break a dependency, watch the health check, the alert and its route, restore.

With a user-supplied pair of commands that break and restore a dependency
(``kill -STOP``/``kill -CONT`` of a cache, a firewall rule …) and the alert
expected to fire, the drill checks the starting state (health endpoint 200, the
alert quiet), runs ``break_command``, then measures how long the health endpoint
takes to report the failure, the alert to fire in Prometheus (within its rule's
``for:`` plus a margin) and to reach Alertmanager, and which receiver the loaded
route tree sends it to. ``restore_command`` always runs afterwards — on
failure and on interruption too — and recovery (health 200, alert resolved) is
confirmed. Prometheus and Alertmanager are only read (GET); every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import re
import shlex
import shutil
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import ValidationError

from prr.collectors.live.alertmanager import Receiver, Route, parse_config
from prr.collectors.live.base import LiveContext, LiveLimits
from prr.collectors.live.guard import redact_url
from prr.collectors.live.prometheus import (
    LabelMatcher,
    MonitoringApi,
    matchers_match,
    parse_matchers,
    scrub,
)
from prr.collectors.observability import classify
from prr.drills.base import (
    Drill,
    DrillContext,
    DrillOption,
    DrillOutcome,
    DrillPlan,
    DrillRefused,
    register_drill,
)
from prr.errors import CollectorError
from prr.model.evidence import Evidence, Result, Status
from prr.model.target import Monitoring

AVAILABILITY = "reliability.alerting.availability-alerts"
ERROR_RATE = "reliability.alerting.error-rate-alerts"
LATENCY = "reliability.alerting.latency-alerts"
RESOURCE = "reliability.alerting.resource-utilization-alerts"
ROUTING = "reliability.alerting.alert-routing-configured"
HEALTH = "infrastructure.compute.health-checks-configured"
# The classifier's classes, most specific to a broken dependency first.
CLASS_ITEMS = (
    ("availability", AVAILABILITY),
    ("error-rate", ERROR_RATE),
    ("latency", LATENCY),
    ("saturation", RESOURCE),
)
MAX_ALERTS = 500
MAX_RULES = 5000
MAX_INTERRUPTS = 100
STDERR_BYTES = 2000
_NEEDS_SHELL = re.compile(r"[|&;<>()$`*?\[\]{}~#\n\\]|^\s*[A-Za-z_][A-Za-z0-9_]*=")
_PROM_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_PROM_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")
_DOWN_WORDS = frozenset(
    {
        "down",
        "fail",
        "failed",
        "failing",
        "failure",
        "unhealthy",
        "error",
        "critical",
        "unavailable",
        "unreachable",
        "disconnected",
        "out_of_service",
        "ko",
        "dead",
    }
)
_STATUS_KEYS = frozenset({"status", "state", "health", "result", "outcome"})
_FLAG_KEYS = frozenset({"healthy", "up", "ok", "available", "alive", "connected", "reachable"})
_GROUP_KEYS = frozenset(
    {"dependencies", "checks", "components", "services", "details", "deps", "backends"}
)


# ----------------------------------------------------------------------- commands


def shown_command(command: str) -> str:
    """The command as written, except passwords inside URLs (``redis://:***@…``)."""

    def mask(match: re.Match[str]) -> str:
        url = match.group(0)
        return redact_url(url) if "@" in url else url

    return _URL_IN_TEXT.sub(mask, command)


def command_argv(command: str) -> list[str]:
    """``argv`` for a command: split like a shell, or ``/bin/sh -c`` when it needs one."""
    if _NEEDS_SHELL.search(command):
        return ["/bin/sh", "-c", command]
    argv = shlex.split(command)
    if not argv:
        raise ValueError("the command is empty")
    return argv


@dataclass(frozen=True)
class CommandRun:
    """How one command ended: exit code (None when it did not), time taken, stderr excerpt."""

    shown: str
    exit_code: int | None
    seconds: float
    problem: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def describe(self) -> str:
        text = f"`{self.shown}` "
        if self.exit_code is None:
            return text + self.problem
        text += f"exited {self.exit_code} after {self.seconds:.2f}s"
        return text + (f" ({self.stderr})" if self.stderr and not self.ok else "")


async def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), timeout=5.0)


async def run_command(command: str, timeout: float) -> CommandRun:
    """Run ``command`` in its own session; kill its process group on timeout or cancellation.

    Only on those: a restore that starts a daemon must leave it running. Stdout is
    discarded, the first bytes of stderr kept (scrubbed of URLs) for the reason.
    """
    shown = shown_command(command)
    started = time.monotonic()
    with tempfile.TemporaryFile() as errors:
        try:
            process = await asyncio.create_subprocess_exec(
                *command_argv(command),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,
            )
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            return CommandRun(shown, None, 0.0, f"could not be started: {reason}")
        try:
            async with asyncio.timeout(timeout):
                code = await process.wait()
        except TimeoutError:
            await _kill_group(process)
            return CommandRun(
                shown,
                None,
                time.monotonic() - started,
                f"did not finish within {timeout:g}s and was killed",
            )
        except asyncio.CancelledError:
            await _kill_group(process)
            raise
        errors.seek(0)
        text = errors.read(STDERR_BYTES).decode("utf-8", errors="replace")
    return CommandRun(shown, code, time.monotonic() - started, stderr=scrub(text, 200))


async def run_to_completion(command: str, timeout: float) -> tuple[CommandRun, bool]:
    """Run ``command`` and see it finish even if the caller is cancelled meanwhile.

    Returns the run and whether a cancellation arrived (the caller re-raises it).
    The command is bounded by ``timeout``, so the wait is too.
    """
    task = asyncio.ensure_future(run_command(command, timeout))
    interrupted = False
    for _ in range(MAX_INTERRUPTS):
        try:
            return await asyncio.shield(task), interrupted
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            interrupted = True
    task.cancel()
    raise asyncio.CancelledError


# ------------------------------------------------------------------- health bodies


def down_marker(body: bytes) -> str | None:
    """Where a JSON health body marks something down (``checks.redis.status=down``), or None."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    budget = [2000]

    def walk(node: Any, path: str, grouped: bool, depth: int) -> str | None:
        budget[0] -= 1
        if depth > 8 or budget[0] <= 0:
            return None
        if isinstance(node, list):
            for index, item in enumerate(node[:200]):
                found = walk(item, f"{path}[{index}]", grouped, depth + 1)
                if found:
                    return found
            return None
        if not isinstance(node, dict):
            return None
        for key, value in list(node.items())[:200]:
            name = str(key)
            low = name.lower()
            here = f"{path}.{name}" if path else name
            if isinstance(value, str) and (low in _STATUS_KEYS or grouped):
                if value.strip().lower().replace(" ", "_") in _DOWN_WORDS:
                    return f"{here}={value.strip()[:40]}"
            elif isinstance(value, bool) and not value and low in _FLAG_KEYS:
                return f"{here}=false"
            elif isinstance(value, dict | list):
                found = walk(value, here, low in _GROUP_KEYS, depth + 1)
                if found:
                    return found
        return None

    return walk(data, "", False, 0)


# ----------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """The drill's options, checked, and what they point at."""

    break_command: str
    restore_command: str
    matchers: tuple[LabelMatcher, ...]
    expected_receiver: str
    hold_for_notification: bool
    health_within: float
    margin: float
    recover_within: float
    command_timeout: float
    poll_interval: float
    request_timeout: float
    health: Monitoring
    health_path: str
    prometheus: Monitoring
    alertmanager: Monitoring

    @property
    def wanted(self) -> str:
        return "{" + ", ".join(str(m) for m in self.matchers) + "}"

    @property
    def health_url(self) -> str:
        return redact_url(self.health.url.rstrip("/") + self.health_path)


@dataclass(frozen=True)
class AlertRule:
    """An alerting rule loaded in Prometheus that produces the drilled alert."""

    name: str
    query: str
    for_s: float
    group: str
    labels: dict[str, str]
    health: str = ""
    last_error: str = ""

    @property
    def classes(self) -> frozenset[str]:
        return classify(self.query, self.name)


def prometheus_seconds(text: str) -> float | None:
    """``1m30s`` → 90.0 (Prometheus/Alertmanager duration syntax); None when unreadable."""
    parts = _PROM_DURATION.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        return None
    return sum(float(n) * _PROM_UNITS[u] for n, u in parts)


def _labels(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# ------------------------------------------------------------------- what was seen


@dataclass
class Watch:
    """What the drill measured; times in seconds after the break (or after the restore)."""

    rules: list[AlertRule] = field(default_factory=list)
    broke: CommandRun | None = None
    restored: CommandRun | None = None
    t0: float = 0.0
    health_window: float = 0.0
    health_failed_after: float | None = None
    health_report: str = ""
    health_last: str = ""
    firing_window: float = 0.0
    firing_cut: bool = False
    pending_after: float | None = None
    fired_after: float | None = None
    fired_labels: dict[str, str] = field(default_factory=dict)
    prometheus_last: str = ""
    am_window: float = 0.0
    am_cut: bool = False
    am_after: float | None = None
    am_labels: dict[str, str] = field(default_factory=dict)
    am_state: str = ""
    am_suppressed_by: tuple[str, ...] = ()
    am_receivers: tuple[str, ...] = ()
    am_last: str = ""
    routes: tuple[Route, ...] = ()
    receivers: dict[str, Receiver | None] = field(default_factory=dict)
    route_problem: str = ""
    held_s: float | None = None
    recover_window: float = 0.0
    health_back_after: float | None = None
    resolved_after: float | None = None
    recover_last: str = ""

    def since_break(self) -> float:
        return time.monotonic() - self.t0

    @property
    def rule(self) -> AlertRule:
        """The rule of the alert that fired (the first matching rule before that)."""
        fired = self.fired_labels.get("alertname")
        return next((r for r in self.rules if r.name == fired), self.rules[0])

    @property
    def rule_for_s(self) -> float:
        return max((r.for_s for r in self.rules), default=0.0)

    @property
    def recovered_after(self) -> float | None:
        if self.health_back_after is None or self.resolved_after is None:
            return None
        return max(self.health_back_after, self.resolved_after)


# -------------------------------------------------------------------------- drill


@register_drill
class AlertFiresDrill(Drill):
    """Break a dependency and check that the health check, the alert and its routing react."""

    name = "alert-fires"
    title = "Break a dependency; the health check reports it, the alert fires and is routed"
    items: ClassVar[tuple[str, ...]] = (
        AVAILABILITY,
        ERROR_RATE,
        LATENCY,
        RESOURCE,
        ROUTING,
        HEALTH,
    )
    options: ClassVar[tuple[DrillOption, ...]] = (
        DrillOption("break_command", str, "", "command that breaks the dependency (required)"),
        DrillOption("restore_command", str, "", "command that restores it (required)"),
        DrillOption("alert", str, "", "name of the alert expected to fire"),
        DrillOption("matcher", str, "", 'label matcher of the alert, e.g. severity="critical"'),
        DrillOption("expected_receiver", str, "", "Alertmanager receiver it must reach"),
        DrillOption(
            "hold_for_notification",
            bool,
            True,
            "keep the dependency broken for the route's group_wait so the notification is sent",
        ),
        DrillOption("health_within", float, 30.0, "seconds for the health check to fail"),
        DrillOption(
            "margin",
            float,
            60.0,
            "seconds allowed beyond the rule's for: window, and for Alertmanager",
        ),
        DrillOption("recover_within", float, 120.0, "seconds to recover after the restore"),
        DrillOption("command_timeout", float, 30.0, "seconds before a command is killed"),
        DrillOption("poll_interval", float, 1.0, "seconds between polls"),
        DrillOption("request_timeout", float, 5.0, "seconds per HTTP request"),
    )

    # ------------------------------------------------------------------- settings

    def settings(self, ctx: DrillContext) -> Settings:
        """The options merged with their defaults; DrillRefused when something is missing."""
        raw = {o.name: o.default for o in self.options} | dict(ctx.options)
        problems: list[str] = []
        commands: dict[str, str] = {}
        for key in ("break_command", "restore_command"):
            text = str(raw.get(key) or "").strip()
            if not text:
                problems.append(f"{key} is required (-o {key}='…')")
                continue
            try:
                argv = command_argv(text)
            except ValueError as exc:
                problems.append(f"{key} cannot be read: {exc}")
                continue
            if shutil.which(argv[0]) is None:
                problems.append(f"{key}: {argv[0]!r} is not an executable on PATH")
            commands[key] = text
        matchers: list[LabelMatcher] = []
        alert = str(raw.get("alert") or "").strip()
        if alert:
            matchers.append(LabelMatcher("alertname", "=", alert))
        matcher = str(raw.get("matcher") or "").strip()
        if matcher:
            try:
                matchers.extend(parse_matchers(matcher))
            except ValueError as exc:
                problems.append(f"matcher {matcher!r} is not a label matcher: {exc}")
        if not alert and not matcher:
            problems.append("name the alert expected to fire: -o alert=NAME or -o matcher='…'")
        if any(not m.valid for m in matchers):
            problems.append(f"matcher {matcher!r} holds a regex that cannot be compiled")
        numbers: dict[str, float] = {}
        for key in (
            "health_within",
            "margin",
            "recover_within",
            "command_timeout",
            "poll_interval",
            "request_timeout",
        ):
            try:
                value = float(raw.get(key, 0.0))
            except (TypeError, ValueError):
                value = math.nan
            if not math.isfinite(value) or value <= 0:
                problems.append(f"{key} must be a positive number of seconds")
            numbers[key] = value
        spec = ctx.spec
        health: Monitoring | None = None
        if not spec.endpoints:
            problems.append(f"environment {ctx.environment} has no endpoints (for /healthz)")
        else:
            endpoint = spec.endpoints[0]
            try:
                health = Monitoring(url=endpoint.url, auth_header=endpoint.auth_header)
            except ValidationError:
                problems.append(f"endpoint {endpoint.name}: its URL cannot be used")
        if spec.prometheus is None:
            problems.append(f"environment {ctx.environment} has no prometheus.url")
        if spec.alertmanager is None:
            problems.append(f"environment {ctx.environment} has no alertmanager.url")
        if problems or health is None or spec.prometheus is None or spec.alertmanager is None:
            raise DrillRefused("; ".join(problems))
        return Settings(
            break_command=commands["break_command"],
            restore_command=commands["restore_command"],
            matchers=tuple(matchers),
            expected_receiver=str(raw.get("expected_receiver") or "").strip(),
            hold_for_notification=bool(raw.get("hold_for_notification", True)),
            health_within=numbers["health_within"],
            margin=numbers["margin"],
            recover_within=numbers["recover_within"],
            command_timeout=numbers["command_timeout"],
            poll_interval=max(numbers["poll_interval"], 0.05),
            request_timeout=numbers["request_timeout"],
            health=health,
            health_path=spec.endpoints[0].health_path,
            prometheus=spec.prometheus,
            alertmanager=spec.alertmanager,
        )

    def _budget(self, ctx: DrillContext, s: Settings) -> int:
        """Requests per server: one per poll for the whole time limit, plus a few."""
        return int(ctx.timeout_s / s.poll_interval) + 20

    # ----------------------------------------------------------------------- plan

    def plan(self, ctx: DrillContext) -> DrillPlan:
        s = self.settings(ctx)
        prom = redact_url(s.prometheus.url.rstrip("/"))
        am = redact_url(s.alertmanager.url.rstrip("/"))
        breaking = shown_command(s.break_command)
        restoring = shown_command(s.restore_command)

        def how(command: str) -> str:
            shell = command_argv(command)[0] == "/bin/sh"
            return "with /bin/sh -c" if shell else "without a shell"

        expected = f" (expected: {s.expected_receiver})" if s.expected_receiver else ""
        return DrillPlan(
            self.name,
            ctx.environment,
            (
                f"the dependency: break_command `{breaking}`, restore_command `{restoring}`",
                f"GET {s.health_url}",
                f"GET {prom}/api/v1/rules and /api/v1/alerts (read-only)",
                f"GET {am}/api/v2/status and /api/v2/alerts (read-only)",
            ),
            (
                f"check the starting state: {s.health_url} answers 200 and {s.wanted} is "
                "neither pending nor firing; refuse otherwise",
                f"break the dependency: run `{breaking}` {how(s.break_command)}, "
                f"killed after {s.command_timeout:g}s",
                f"watch {s.health_url} report the failure (not 200, or a dependency marked "
                f"down in its JSON) within {s.health_within:g}s",
                f"poll {prom}/api/v1/alerts every {s.poll_interval:g}s until {s.wanted} fires, "
                f"within its rule's for: (read from /api/v1/rules) + {s.margin:g}s",
                f"poll {am}/api/v2/alerts until Alertmanager holds it (within {s.margin:g}s) "
                f"and resolve its receiver from the loaded route tree{expected}",
                f"always, also when failing or interrupted: run `{restoring}` "
                f"{how(s.restore_command)}, then wait up to {s.recover_within:g}s for health "
                "200 and the alert to resolve",
            ),
            ctx.timeout_s,
            3 * self._budget(ctx, s),
            True,
        )

    # ------------------------------------------------------------------------ run

    async def run(self, ctx: DrillContext) -> DrillOutcome:
        s = self.settings(ctx)
        started = dt.datetime.now(dt.UTC)
        end = time.monotonic() + ctx.timeout_s
        limits = LiveLimits(
            timeout_s=s.request_timeout,
            total_timeout_s=ctx.timeout_s,
            max_requests=self._budget(ctx, s),
        )
        live = LiveContext(ctx.environment, ctx.spec, ctx.target, limits)
        try:
            apis = (
                MonitoringApi(live, s.health, "health endpoint"),
                MonitoringApi(live, s.prometheus, "Prometheus"),
                MonitoringApi(live, s.alertmanager, "Alertmanager v2"),
            )
        except CollectorError as exc:
            raise DrillRefused(str(exc)) from None
        watch = Watch()
        async with apis[0] as health, apis[1] as prom, apis[2] as am:
            await self._preflight(ctx, s, watch, health, prom, am)
            # Keep time for the restore and the recovery check within the drill's limit.
            limit = end - s.command_timeout - min(s.recover_within, ctx.timeout_s / 4)
            cancelled = False
            try:
                ctx.note(f"breaking the dependency: `{shown_command(s.break_command)}`")
                watch.t0 = time.monotonic()
                watch.broke = await run_command(s.break_command, s.command_timeout)
                watch.t0 = time.monotonic()
                ctx.note(f"break_command {watch.broke.describe()}")
                if watch.broke.ok:
                    async with asyncio.TaskGroup() as group:
                        group.create_task(self._watch_health(ctx, s, watch, health, limit))
                        group.create_task(self._watch_alert(ctx, s, watch, prom, am, limit))
            except asyncio.CancelledError:
                cancelled = True
                ctx.note("interrupted: restoring the dependency before stopping")
                raise
            finally:
                watch.restored, interrupted = await run_to_completion(
                    s.restore_command, s.command_timeout
                )
                ctx.note(f"restore_command {watch.restored.describe()}")
                if interrupted:
                    ctx.note("interrupted: the restore finished first")
                    raise asyncio.CancelledError
                if not cancelled:
                    await self._recover(ctx, s, watch, health, prom, end)
        return self._outcome(ctx, s, watch, started)

    async def _preflight(
        self,
        ctx: DrillContext,
        s: Settings,
        watch: Watch,
        health: MonitoringApi,
        prom: MonitoringApi,
        am: MonitoringApi,
    ) -> None:
        """Refuse unless the rule is loaded, the service healthy and the alert quiet."""
        try:
            watch.rules = await self._rules(prom, s)
            if not watch.rules:
                raise DrillRefused(
                    f"no alerting rule for {s.wanted} is loaded in {prom.shown}: "
                    "nothing could fire; check the alert name (GET /api/v1/rules)"
                )
            healthy, seen = await self._health(health, s)
            if not healthy:
                raise DrillRefused(
                    f"{s.health_url} is not healthy before the drill ({seen}); "
                    "it must answer 200 first"
                )
            active = await self._prometheus_alerts(prom, s)
            if active:
                states = sorted({str(a.get("state")) for a in active})
                raise DrillRefused(
                    f"{s.wanted} is already {' and '.join(states)} in Prometheus "
                    f"({len(active)} alert(s)); the drill needs it quiet at the start"
                )
            await am.get_json("/api/v2/status")
        except CollectorError as exc:
            raise DrillRefused(f"cannot check the starting state: {exc}") from None
        names = ", ".join(f"{r.name} (for {r.for_s:g}s)" for r in watch.rules[:5])
        ctx.note(f"starting state: {s.health_url} healthy; {s.wanted} quiet; rule {names}")

    # ---------------------------------------------------------------------- reads

    async def _rules(self, prom: MonitoringApi, s: Settings) -> list[AlertRule]:
        data = await prom.get_json("/api/v1/rules", {"type": "alert"})
        groups = data.get("data", {}).get("groups") if isinstance(data, dict) else None
        found: list[AlertRule] = []
        seen = 0
        for group in groups if isinstance(groups, list) else []:
            rules = group.get("rules") if isinstance(group, dict) else None
            for rule in rules if isinstance(rules, list) else []:
                seen += 1
                if seen > MAX_RULES:
                    return found
                if not isinstance(rule, dict) or rule.get("type", "alerting") != "alerting":
                    continue
                labels = _labels(rule.get("labels")) | {"alertname": str(rule.get("name", ""))}
                # A rule's own labels (and its name) must agree with the matchers it knows of;
                # labels of the series (job, instance …) are only known once it fires.
                known = tuple(m for m in s.matchers if m.name in labels)
                if not known or not matchers_match(known, labels):
                    continue
                try:
                    for_s = float(rule.get("duration") or 0.0)
                except (TypeError, ValueError):
                    for_s = 0.0
                found.append(
                    AlertRule(
                        name=labels["alertname"],
                        query=str(rule.get("query", "")),
                        for_s=for_s,
                        group=str(group.get("name", "")),
                        labels=labels,
                        health=str(rule.get("health", "")),
                        last_error=scrub(str(rule.get("lastError") or ""), 160),
                    )
                )
        return found

    async def _health(self, api: MonitoringApi, s: Settings) -> tuple[bool | None, str]:
        """True when healthy, False when it reports a failure, None when it did not answer."""
        try:
            answer = await api.get(s.health_path)
        except CollectorError as exc:
            return None, str(exc.args[0]) if exc.args else "no answer"
        if answer.status != 200:
            return False, f"HTTP {answer.status}"
        marker = down_marker(answer.body)
        if marker:
            return False, f"HTTP 200 with {marker}"
        return True, "HTTP 200"

    async def _prometheus_alerts(self, prom: MonitoringApi, s: Settings) -> list[dict[str, Any]]:
        data = await prom.get_json("/api/v1/alerts")
        alerts = data.get("data", {}).get("alerts") if isinstance(data, dict) else None
        return [
            a
            for a in (alerts if isinstance(alerts, list) else [])[:MAX_ALERTS]
            if isinstance(a, dict) and matchers_match(s.matchers, _labels(a.get("labels")))
        ]

    async def _alertmanager_alerts(self, am: MonitoringApi, s: Settings) -> list[dict[str, Any]]:
        params: dict[str, str | list[str]] = {
            "active": "true",
            "silenced": "true",
            "inhibited": "true",
            "unprocessed": "true",
            "filter": [str(m) for m in s.matchers],
        }
        alerts = await am.get_json("/api/v2/alerts", params)
        return [
            a
            for a in (alerts if isinstance(alerts, list) else [])[:MAX_ALERTS]
            if isinstance(a, dict) and matchers_match(s.matchers, _labels(a.get("labels")))
        ]

    # -------------------------------------------------------------------- watches

    async def _poll(
        self, deadline: float, interval: float, probe: Callable[[], Awaitable[bool]]
    ) -> bool:
        """Call ``probe`` every ``interval`` until it returns True or ``deadline`` passes."""
        rounds = int(max(deadline - time.monotonic(), 0.0) / interval) + 2
        for _ in range(rounds):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(deadline - time.monotonic(), 0.2)):
                    if await probe():
                        return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(interval, remaining))
        return False

    async def _watch_health(
        self, ctx: DrillContext, s: Settings, watch: Watch, health: MonitoringApi, limit: float
    ) -> None:
        watch.health_window = s.health_within
        deadline = min(watch.t0 + s.health_within, limit)

        async def probe() -> bool:
            healthy, seen = await self._health(health, s)
            watch.health_last = seen
            if healthy is False:
                watch.health_failed_after = watch.since_break()
                watch.health_report = seen
                return True
            return False

        if await self._poll(deadline, s.poll_interval, probe):
            ctx.note(
                f"health endpoint reported the failure after {watch.health_failed_after:.2f}s: "
                f"{watch.health_report}"
            )
        else:
            ctx.note(f"health endpoint did not report the failure; last seen: {watch.health_last}")

    async def _watch_alert(
        self,
        ctx: DrillContext,
        s: Settings,
        watch: Watch,
        prom: MonitoringApi,
        am: MonitoringApi,
        limit: float,
    ) -> None:
        watch.firing_window = watch.rule_for_s + s.margin
        deadline = watch.t0 + watch.firing_window
        if deadline > limit:
            deadline, watch.firing_cut = limit, True

        async def firing() -> bool:
            try:
                alerts = await self._prometheus_alerts(prom, s)
            except CollectorError as exc:
                watch.prometheus_last = str(exc)
                return False
            states = {str(a.get("state")) for a in alerts}
            watch.prometheus_last = ", ".join(sorted(states)) or "inactive"
            if "pending" in states and watch.pending_after is None:
                watch.pending_after = watch.since_break()
            fired = [a for a in alerts if a.get("state") == "firing"]
            if fired:
                watch.fired_after = watch.since_break()
                watch.fired_labels = _labels(fired[0].get("labels"))
                return True
            return False

        if not await self._poll(deadline, s.poll_interval, firing):
            ctx.note(f"{s.wanted} did not fire; last state: {watch.prometheus_last}")
            return
        ctx.note(f"{s.wanted} firing in Prometheus after {watch.fired_after:.2f}s")
        watch.am_window = s.margin
        am_deadline = time.monotonic() + s.margin
        if am_deadline > limit:
            am_deadline, watch.am_cut = limit, True

        async def received() -> bool:
            try:
                held = await self._alertmanager_alerts(am, s)
            except CollectorError as exc:
                watch.am_last = str(exc)
                return False
            watch.am_last = f"{len(held)} matching alert(s)"
            if not held:
                return False
            alert = held[0]
            status = alert.get("status")
            status = status if isinstance(status, dict) else {}
            watch.am_after = watch.since_break()
            watch.am_labels = _labels(alert.get("labels"))
            watch.am_state = str(status.get("state") or "")
            watch.am_suppressed_by = tuple(
                str(x)
                for key in ("silencedBy", "inhibitedBy")
                for x in (status.get(key) or [])[:20]
            )
            receivers = alert.get("receivers")
            watch.am_receivers = tuple(
                str(r.get("name"))
                for r in (receivers if isinstance(receivers, list) else [])
                if isinstance(r, dict) and r.get("name")
            )
            return True

        if not await self._poll(am_deadline, s.poll_interval, received):
            ctx.note(f"Alertmanager did not receive it; last seen: {watch.am_last}")
            return
        ctx.note(
            f"Alertmanager received it after {watch.am_after:.2f}s "
            f"(receivers: {', '.join(watch.am_receivers) or 'none listed'})"
        )
        await self._resolve_route(s, watch, am)
        if s.hold_for_notification:
            await self._hold(ctx, s, watch, limit)

    async def _hold(self, ctx: DrillContext, s: Settings, watch: Watch, limit: float) -> None:
        """Stay broken for the route's ``group_wait``: restoring sooner may cancel the page."""
        waits = [w for r in watch.routes if (w := prometheus_seconds(r.group_wait)) is not None]
        if not waits:
            return
        started = time.monotonic()
        until = min(started + max(waits) + s.poll_interval, limit)
        ctx.note(
            f"keeping the dependency broken {max(until - started, 0):.1f}s for the route's "
            f"group_wait ({max(waits):g}s) so Alertmanager sends the notification"
        )
        await asyncio.sleep(max(until - started, 0.0))
        watch.held_s = time.monotonic() - started

    async def _resolve_route(self, s: Settings, watch: Watch, am: MonitoringApi) -> None:
        """Where the loaded route tree sends the alert (Alertmanager's own matching rules)."""
        try:
            status = await am.get_json("/api/v2/status")
            config = status.get("config") if isinstance(status, dict) else None
            original = config.get("original") if isinstance(config, dict) else None
            if not isinstance(original, str) or not original.strip():
                watch.route_problem = "the status answer holds no loaded configuration"
                return
            parsed = parse_config(original, f"{am.shown}/api/v2/status")
        except CollectorError as exc:
            watch.route_problem = str(exc)
            return
        if parsed.route is None:
            watch.route_problem = "the loaded configuration has no route"
            return
        watch.routes = tuple(parsed.route.resolve(watch.am_labels))
        by_name = {r.name: r for r in parsed.receivers}
        for name in [*watch.am_receivers, *(r.receiver for r in watch.routes)]:
            watch.receivers.setdefault(name, by_name.get(name))

    async def _recover(
        self,
        ctx: DrillContext,
        s: Settings,
        watch: Watch,
        health: MonitoringApi,
        prom: MonitoringApi,
        end: float,
    ) -> None:
        """After the restore: wait for health 200 and the alert to be neither pending nor firing."""
        restored_at = time.monotonic()
        watch.recover_window = s.recover_within
        deadline = min(restored_at + s.recover_within, end - 0.5)

        async def recovered() -> bool:
            if watch.health_back_after is None:
                healthy, seen = await self._health(health, s)
                if healthy:
                    watch.health_back_after = time.monotonic() - restored_at
                else:
                    watch.recover_last = f"health {seen}"
            if watch.resolved_after is None:
                try:
                    active = await self._prometheus_alerts(prom, s)
                except CollectorError as exc:
                    watch.recover_last = str(exc)
                else:
                    if not active:
                        watch.resolved_after = time.monotonic() - restored_at
                    else:
                        states = ", ".join(sorted({str(a.get("state")) for a in active}))
                        watch.recover_last = f"{s.wanted} still {states}"
            return watch.recovered_after is not None

        if await self._poll(deadline, s.poll_interval, recovered):
            ctx.note(f"recovered {watch.recovered_after:.2f}s after the restore")
        else:
            ctx.note(f"not recovered within {s.recover_within:g}s: {watch.recover_last}")

    # -------------------------------------------------------------------- outcome

    def _alert_item(self, watch: Watch) -> tuple[str, str]:
        classes = frozenset().union(*(r.classes for r in watch.rules))
        for cls, item in CLASS_ITEMS:
            if cls in classes:
                return item, cls
        return AVAILABILITY, "unclassified (a broken dependency: availability)"

    def _outcome(
        self, ctx: DrillContext, s: Settings, watch: Watch, started: dt.datetime
    ) -> DrillOutcome:
        env = ctx.environment
        prom = redact_url(s.prometheus.url.rstrip("/"))
        am = redact_url(s.alertmanager.url.rstrip("/"))
        item, cls = self._alert_item(watch)
        rule = watch.rule
        results: list[Result] = []
        problems: list[str] = []
        broke, restored = watch.broke, watch.restored
        assert broke is not None and restored is not None
        commands = Evidence(
            f"break_command {broke.describe()}; restore_command {restored.describe()}",
            value={"break_exit": broke.exit_code, "restore_exit": restored.exit_code},
        )
        rule_evidence = Evidence(
            f"rule {rule.name} (group {rule.group}, for {rule.for_s:g}s, class {cls}"
            + (f", failing to evaluate: {rule.last_error}" if rule.health == "err" else "")
            + ")",
            url=f"{prom}/api/v1/rules",
            query=rule.query[:500],
            value={"for_s": rule.for_s, "labels": rule.labels},
        )
        reacted = watch.health_failed_after is not None or watch.fired_after is not None
        if not broke.ok:
            problems.append(f"break_command {broke.describe()}: nothing was measured")
        elif not reacted and not watch.firing_cut:
            problems.append(
                "neither the health endpoint nor the alert reacted: check that break_command "
                "actually breaks the dependency (nothing decided)"
            )
        else:
            results.extend(self._health_results(env, s, watch))
            results.extend(self._alert_results(env, s, watch, item, prom, am, rule_evidence))
            results.extend(self._routing_results(env, s, watch, am))
        results = [
            Result(
                r.item_id,
                r.check_id,
                r.status,
                r.message,
                (*r.evidence, commands),
                r.remediation,
                r.fields,
                environment=r.environment,
            )
            for r in results
        ]
        if watch.firing_cut and watch.fired_after is None and broke.ok:
            problems.append(
                f"the drill's time limit ended the wait for the alert before its window of "
                f"{watch.firing_window:g}s: raise --timeout"
            )
        if not restored.ok:
            problems.append(
                f"restore_command {restored.describe()}: the dependency may still be broken"
            )
        if watch.recovered_after is None:
            problems.append(
                f"not recovered within {s.recover_within:g}s of the restore "
                f"({watch.recover_last or 'no answer'})"
            )
        failed = [r for r in results if r.status is not Status.PASS]
        passed = bool(results) and not failed and not problems
        summary = "; ".join(problems + [r.message.split("drill: ", 1)[-1] for r in failed])
        if passed:
            summary = self._success_summary(s, watch)
        return DrillOutcome(
            self.name,
            env,
            passed,
            summary or "failed",
            started,
            dt.datetime.now(dt.UTC),
            self._measurements(s, watch, cls),
            results,
            list(ctx.log),
        )

    def _success_summary(self, s: Settings, watch: Watch) -> str:
        receivers = ", ".join(watch.receivers) or ", ".join(watch.am_receivers)
        return (
            f"health reported the failure after {watch.health_failed_after or 0:.1f}s; "
            f"{watch.rule.name} fired after {watch.fired_after or 0:.1f}s "
            f"(for {watch.rule_for_s:g}s), reached Alertmanager after {watch.am_after or 0:.1f}s "
            f"and routes to {receivers}; recovered {watch.recovered_after or 0:.1f}s after "
            "the restore"
        )

    def _measurements(self, s: Settings, watch: Watch, cls: str) -> dict[str, Any]:
        broke, restored = watch.broke, watch.restored
        return {
            "alert": s.wanted,
            "rule": watch.rule.name,
            "rule_for_s": watch.rule_for_s,
            "alert_class": cls,
            "break_exit_code": broke.exit_code if broke else None,
            "time_to_health_failure_s": _seconds(watch.health_failed_after),
            "health_failure": watch.health_report or None,
            "time_to_pending_s": _seconds(watch.pending_after),
            "time_to_firing_s": _seconds(watch.fired_after),
            "firing_window_s": watch.firing_window,
            "time_to_alertmanager_s": _seconds(watch.am_after),
            "receiver": ", ".join(watch.receivers or dict.fromkeys(watch.am_receivers)) or None,
            "route": ", ".join(r.path for r in watch.routes) or None,
            "held_for_notification_s": _seconds(watch.held_s),
            "restore_exit_code": restored.exit_code if restored else None,
            "time_to_health_recovery_s": _seconds(watch.health_back_after),
            "time_to_alert_resolved_s": _seconds(watch.resolved_after),
            "time_to_recovery_s": _seconds(watch.recovered_after),
        }

    def _health_results(self, env: str, s: Settings, watch: Watch) -> list[Result]:
        if watch.health_failed_after is not None:
            return [
                self.result(
                    HEALTH,
                    True,
                    f"{s.health_url} reported the broken dependency "
                    f"({watch.health_report}) {watch.health_failed_after:.1f}s after the break",
                    Evidence(
                        f"GET {s.health_url}: {watch.health_report}",
                        url=s.health_url,
                        value={"seconds": _seconds(watch.health_failed_after)},
                    ),
                    environment=env,
                )
            ]
        if watch.fired_after is None:
            return []  # nothing showed the break took effect: cannot tell
        return [
            self.result(
                HEALTH,
                False,
                f"{s.health_url} kept answering ({watch.health_last or 'no answer'}) for "
                f"{watch.health_window:g}s while the dependency was broken (the alert fired, "
                "so the break took effect)",
                Evidence(f"GET {s.health_url}: {watch.health_last}", url=s.health_url),
                environment=env,
                remediation=(
                    "Make the readiness endpoint check its critical dependencies and answer "
                    "503 (or mark the dependency down) when one fails."
                ),
            )
        ]

    def _alert_results(
        self,
        env: str,
        s: Settings,
        watch: Watch,
        item: str,
        prom: str,
        am: str,
        rule_evidence: Evidence,
    ) -> list[Result]:
        name = watch.rule.name
        if watch.fired_after is None:
            if watch.firing_cut or watch.health_failed_after is None:
                return []  # the wait was cut short, or nothing showed the break: cannot tell
            return [
                self.result(
                    item,
                    False,
                    f"{s.wanted} did not fire within {watch.firing_window:g}s of the break "
                    f"(for {watch.rule_for_s:g}s + margin {s.margin:g}s) although "
                    f"{s.health_url} reported the failure after {watch.health_failed_after:.1f}s; "
                    f"last state in Prometheus: {watch.prometheus_last or 'unknown'}",
                    rule_evidence,
                    Evidence(
                        f"polled {prom}/api/v1/alerts for {watch.firing_window:g}s",
                        url=f"{prom}/api/v1/alerts",
                        value={"waited_s": watch.firing_window, "last": watch.prometheus_last},
                    ),
                    environment=env,
                    remediation=(
                        "Alert on the failure the drill caused: a rule on the dependency's "
                        "health metric or on the health endpoint (blackbox probe_success), "
                        "with a for: short enough to page within minutes."
                    ),
                )
            ]
        fired = Evidence(
            f"{name} firing in Prometheus {watch.fired_after:.1f}s after the break",
            url=f"{prom}/api/v1/alerts",
            value={
                "seconds": _seconds(watch.fired_after),
                "pending_s": _seconds(watch.pending_after),
                "labels": watch.fired_labels,
            },
        )
        if watch.am_after is None:
            if watch.am_cut:
                return []
            return [
                self.result(
                    item,
                    False,
                    f"{name} fired in Prometheus after {watch.fired_after:.1f}s but Alertmanager "
                    f"did not receive it within {watch.am_window:g}s ({watch.am_last})",
                    rule_evidence,
                    fired,
                    environment=env,
                    remediation=(
                        "Point Prometheus at this Alertmanager (alerting.alertmanagers) and "
                        "check its notification queue (prometheus_notifications_errors_total)."
                    ),
                )
            ]
        return [
            self.result(
                item,
                True,
                f"{name} fired {watch.fired_after:.1f}s after the break (for "
                f"{watch.rule_for_s:g}s) and reached Alertmanager after {watch.am_after:.1f}s",
                rule_evidence,
                fired,
                Evidence(
                    f"Alertmanager holds {name} ({watch.am_state or 'state unknown'})",
                    url=f"{am}/api/v2/alerts",
                    value={"seconds": _seconds(watch.am_after), "labels": watch.am_labels},
                ),
                environment=env,
            )
        ]

    def _routing_results(self, env: str, s: Settings, watch: Watch, am: str) -> list[Result]:
        if watch.am_after is None:
            return []
        names = list(dict.fromkeys([*watch.am_receivers, *watch.receivers]))
        route_text = "; ".join(f"{r.path} ({r.where}) → {r.receiver}" for r in watch.routes)
        evidence = Evidence(
            f"Alertmanager routes it to {', '.join(names) or 'no receiver'}"
            + (f" via {route_text}" if route_text else "")
            + (f" (route tree not read: {watch.route_problem})" if watch.route_problem else ""),
            url=f"{am}/api/v2/alerts",
            value={
                "receivers": names,
                "reported_by_alertmanager": list(watch.am_receivers),
                "integrations": {
                    n: list(r.integrations) if r else None for n, r in watch.receivers.items()
                },
                "state": watch.am_state,
                "held_for_notification_s": _seconds(watch.held_s),
            },
        )
        reached = [n for n in names if (r := watch.receivers.get(n)) is not None and r.delivers]
        null = [n for n in names if (r := watch.receivers.get(n)) is not None and not r.delivers]
        passed, reason = False, ""
        if watch.am_state == "suppressed" or watch.am_suppressed_by:
            reason = (
                f"Alertmanager holds it suppressed (by {', '.join(watch.am_suppressed_by)}): "
                "no notification is sent"
            )
        elif s.expected_receiver and s.expected_receiver not in names:
            reason = (
                f"routed to {', '.join(names) or 'no receiver'}, not to the expected "
                f"receiver {s.expected_receiver}"
            )
        elif s.expected_receiver and s.expected_receiver in null:
            reason = f"the expected receiver {s.expected_receiver} has no integrations"
        elif s.expected_receiver:
            passed = True
            reason = f"routed to the expected receiver {s.expected_receiver}"
        elif not watch.receivers:
            reason = f"routed to {', '.join(names) or 'no receiver'}; " + (
                f"its integrations could not be read ({watch.route_problem}): "
                "name the receiver with -o expected_receiver=NAME"
            )
        elif not reached:
            reason = f"routed only to receivers without integrations ({', '.join(null)})"
        elif watch.routes and all(r.path == "route" for r in watch.routes):
            reason = (
                f"it ends in the default route's receiver {watch.routes[0].receiver}; route it "
                "to its team, or confirm with -o expected_receiver=NAME"
            )
        else:
            passed = True
            reason = "routed to " + ", ".join(
                f"{n} ({', '.join(r.integrations)})"
                for n in reached
                if (r := watch.receivers.get(n)) is not None
            )
        return [
            self.result(
                ROUTING,
                passed,
                f"{watch.rule.name}: {reason}",
                evidence,
                environment=env,
                remediation=None
                if passed
                else (
                    "Route the alert by its labels (team, severity) to a receiver with a "
                    "paging or chat integration; keep catch-all and null receivers for "
                    "nothing that matters."
                ),
            )
        ]


__all__ = ["AlertFiresDrill", "CommandRun", "command_argv", "down_marker", "run_command"]
