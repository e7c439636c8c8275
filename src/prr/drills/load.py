"""``load``: load the service at its expected rate and at the peak (2×), and measure.

Two stages, each ``duration`` seconds: the expected request rate (``rps``) and
``peak_factor`` times it. Each reports the achieved rate, p50/p90/p95/p99 and
the error rate (answers other than 2xx/3xx, timeouts, connection failures).

Engines:

* ``builtin`` (default): an open-loop, rate-controlled HTTP/1.1 client on
  asyncio streams. Request *i* is sent at ``start + i / rate`` whatever the
  earlier ones are doing (no coordinated omission), on kept-alive
  connections, at about 0.05 ms of CPU per request — it holds 4,000 rps
  exactly on one core, where httpx saturates near 500 (docs/benchmarks.md).
* ``wrk`` (Debian package ``wrk``): paced to the rate by a Lua ``delay()`` that
  reserves send slots on a monotonic clock (as wrk2 does); its ``done`` hook
  prints the figures as JSON, and wrk's own text summary is kept.

Or results produced elsewhere are read instead of sending anything
(``results_file`` / ``peak_results_file``: a k6 JSON summary, a Locust stats CSV,
a JMeter JTL CSV or wrk's text output).

With the environment's Prometheus URL and selector, the service's memory
(``process_resident_memory_bytes``, else ``container_memory_working_set_bytes``)
is read before and after each stage; only then is "No memory leaks under load"
decided. The database item is not decided: the drill does not observe the
database.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import json
import math
import os
import re
import resource
import shutil
import signal
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

from prr.collectors.live import tls
from prr.collectors.live.base import LiveContext, LiveLimits
from prr.collectors.live.guard import AddressGuard, redact_url
from prr.collectors.live.prometheus import MonitoringApi, parse_matchers, series_selector
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
from prr.model.evidence import Evidence, Result
from prr.model.fields import format_duration, parse_duration
from prr.model.target import ENV_REF, Endpoint, resolve_secret

EXECUTED = "performance.load-testing.load-test-executed"
EXPECTED = "performance.load-testing.expected-traffic-handled"
PEAK = "performance.load-testing.peak-traffic-handled"
RESPONSE_TIMES = "performance.load-testing.response-times-acceptable"
MEMORY = "performance.load-testing.no-memory-leaks-under-load"

MAX_RPS = 10_000.0
MAX_DURATION_S = 300
MAX_CONNECTIONS = 2000
MAX_TIMEOUT_S = 60.0
MAX_BODY_BYTES = 8 * 1024 * 1024
HEAD_LIMIT = 64 * 1024
MAX_RESULTS_BYTES = 200 * 1024 * 1024
MAX_JTL_ROWS = 5_000_000
LAG_WARNING_MS = 10.0
RATE_SHORTFALL = 0.95
"""A stage reached its rate when it achieved at least 95 % of it."""
ENGINES = ("builtin", "wrk")
MEMORY_METRICS = ("process_resident_memory_bytes", "container_memory_working_set_bytes")
ERROR_KINDS = ("status", "timeout", "connect", "read", "unsent")


# ------------------------------------------------------------------ measurements


class LatencyHistogram:
    """Latencies in logarithmic buckets 0.1 % wide: exact enough, bounded memory."""

    _RATIO = math.log(1.001)
    _FLOOR_MS = 0.001

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.count = 0
        self.max_ms = 0.0

    def add(self, ms: float) -> None:
        key = math.ceil(math.log(max(ms, self._FLOOR_MS) / self._FLOOR_MS) / self._RATIO)
        self.counts[key] = self.counts.get(key, 0) + 1
        self.count += 1
        self.max_ms = max(self.max_ms, ms)

    def percentile(self, p: float) -> float | None:
        """Nearest-rank percentile (the bucket's upper edge, capped by the maximum)."""
        if not self.count:
            return None
        rank = max(1, math.ceil(p / 100 * self.count))
        seen = 0
        for key in sorted(self.counts):
            seen += self.counts[key]
            if seen >= rank:
                return min(self._FLOOR_MS * math.exp(key * self._RATIO), self.max_ms)
        return self.max_ms


@dataclass
class Stage:
    """What one load stage (or one results file) measured."""

    label: str
    engine: str
    requested_rps: float | None
    duration_s: float
    responses: int
    ok: int
    """Answers with status 2xx or 3xx."""
    errors: dict[str, int] = field(default_factory=dict)
    """``status`` (not 2xx/3xx), ``timeout``, ``connect``, ``read``, ``unsent``."""
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    scheduled: int | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    source: str | None = None
    engine_summary: str | None = None
    notes: list[str] = field(default_factory=list)
    memory_before: float | None = None
    memory_after: float | None = None
    interrupted: bool = False
    send_lag_p99_ms: float | None = None
    """How late the built-in engine sent (p99): large when the client itself is saturated."""

    @property
    def achieved_rps(self) -> float:
        return self.responses / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def attempts(self) -> int:
        failed = sum(v for k, v in self.errors.items() if k != "status")
        return max(self.scheduled or 0, self.responses + failed)

    @property
    def error_rate(self) -> float:
        """Share of attempts that did not get a 2xx/3xx answer."""
        attempts = self.attempts
        if not attempts:
            return 1.0
        return min(1.0, max(0, attempts - self.ok) / attempts)

    def to_dict(self, *, engine_output: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "stage": self.label,
            "engine": self.engine,
            "requested_rps": self.requested_rps,
            "achieved_rps": round(self.achieved_rps, 2),
            "duration_s": round(self.duration_s, 3),
            "requests": self.attempts,
            "responses": self.responses,
            "ok": self.ok,
            "error_rate": round(self.error_rate, 5),
            "errors": {k: v for k, v in self.errors.items() if v},
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
        }
        keys = ("scheduled", "send_lag_p99_ms", "source", "memory_before", "memory_after")
        for key in (*keys, "engine_summary") if engine_output else keys:
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.statuses:
            data["statuses"] = dict(self.statuses)
        if self.notes:
            data["notes"] = list(self.notes)
        if self.interrupted:
            data["interrupted"] = True
        return data


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def show_ms(value: float) -> str:
    return format_duration(dt.timedelta(milliseconds=round(value, 2)))


# ---------------------------------------------------------------------- results files


class ResultsError(ValueError):
    """A results file that cannot be read as the format it claims to be."""


_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_WRK_TIME = r"([\d.]+)(us|ms|s|m|h)"


def _wrk_time(number: str, unit: str) -> float:
    return float(number) * _TIME_UNITS_MS[unit]


def parse_wrk_text(text: str) -> Stage:
    """wrk's (or wrk2's) text summary: requests, duration, rate, latency distribution, errors."""
    done = re.search(rf"^\s*(\d+) requests in {_WRK_TIME}", text, re.M)
    if done is None:
        raise ResultsError("no 'N requests in T' line: not wrk output")
    requests = int(done.group(1))
    duration_s = _wrk_time(done.group(2), done.group(3)) / 1000
    stage = Stage("results", "wrk", None, duration_s, requests, requests)
    latency = re.search(r"^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    if latency:
        found = re.fullmatch(_WRK_TIME, latency.group(3))
        if found:
            stage.max_ms = _ms(_wrk_time(found.group(1), found.group(2)))
    for number, value, unit in re.findall(rf"^\s*(\d+(?:\.\d+)?)%\s+{_WRK_TIME}\s*$", text, re.M):
        key = {50.0: "p50_ms", 90.0: "p90_ms", 95.0: "p95_ms", 99.0: "p99_ms"}.get(float(number))
        if key:
            setattr(stage, key, _ms(_wrk_time(value, unit)))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if non_2xx:
        stage.errors["status"] = int(non_2xx.group(1))
        stage.ok = requests - int(non_2xx.group(1))
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    if sockets:
        connect, read, write, timeout = (int(g) for g in sockets.groups())
        stage.errors.update(connect=connect, read=read + write, timeout=timeout)
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if rate and float(rate.group(1)) > 0 and requests:
        stage.duration_s = requests / float(rate.group(1))
    if stage.p50_ms is None:
        stage.notes.append("no latency distribution (run wrk with --latency)")
    return stage


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def parse_k6_summary(text: str) -> Stage:
    """A k6 end-of-test summary: ``--summary-export`` or ``handleSummary``'s JSON."""
    try:
        data = json.loads(text)
    except ValueError:
        raise ResultsError("not JSON") from None
    metrics = data.get("metrics") if isinstance(data, dict) else None
    if not isinstance(metrics, dict) or "http_reqs" not in metrics:
        raise ResultsError(
            "no metrics.http_reqs: not a k6 summary (use --summary-export or handleSummary; "
            "--out json is a stream of points, not a summary)"
        )

    def values(name: str) -> dict[str, Any]:
        metric = metrics.get(name)
        if not isinstance(metric, dict):
            return {}
        inner = metric.get("values")
        return inner if isinstance(inner, dict) else metric

    reqs, trend, failed = (
        values("http_reqs"),
        values("http_req_duration"),
        values("http_req_failed"),
    )
    count = _number(reqs.get("count"))
    rate = _number(reqs.get("rate"))
    if count is None:
        raise ResultsError("metrics.http_reqs has no count")
    state = data.get("state") if isinstance(data.get("state"), dict) else {}
    run_ms = _number(state.get("testRunDurationMs")) if state else None
    duration = run_ms / 1000 if run_ms else (count / rate if rate else 0.0)
    requests = int(count)
    stage = Stage("results", "k6", None, duration, requests, requests)
    # k6 counts a request as failed when its status is outside 200-399 or it got none; the
    # Rate metric's "passes" are the samples that were true (failed).
    failures = _number(failed.get("passes"))
    share = _number(failed.get("rate", failed.get("value")))
    if failures is None and share is not None:
        failures = round(share * requests)
    if failures is not None:
        stage.errors["status"] = int(failures)
        stage.ok = requests - int(failures)
    elif failed == {}:
        stage.notes.append("no http_req_failed metric: errors unknown")
    stage.p50_ms = _ms(_number(trend.get("med", trend.get("p(50)"))))
    stage.p90_ms = _ms(_number(trend.get("p(90)")))
    stage.p95_ms = _ms(_number(trend.get("p(95)")))
    stage.p99_ms = _ms(_number(trend.get("p(99)")))
    stage.max_ms = _ms(_number(trend.get("max")))
    return stage


def parse_locust_csv(text: str) -> Stage:
    """Locust's ``--csv PREFIX`` ``PREFIX_stats.csv``: its Aggregated row."""
    reader = csv.DictReader(io.StringIO(text))
    fields = set(reader.fieldnames or ())
    if not {"Name", "Request Count", "Failure Count", "Requests/s"} <= fields:
        raise ResultsError("no Name/Request Count/Failure Count/Requests/s columns: not Locust")
    row = next((r for r in reader if (r.get("Name") or "").strip() == "Aggregated"), None)
    if row is None:
        raise ResultsError("no Aggregated row in the Locust stats")
    requests = int(_number(row["Request Count"]) or 0)
    failures = int(_number(row["Failure Count"]) or 0)
    rate = _number(row["Requests/s"]) or 0.0
    stage = Stage(
        "results",
        "locust",
        None,
        requests / rate if rate else 0.0,
        requests,
        requests - failures,
        {"status": failures},
    )
    for column, key in (("50%", "p50_ms"), ("90%", "p90_ms"), ("95%", "p95_ms"), ("99%", "p99_ms")):
        setattr(stage, key, _ms(_number(row.get(column))))
    stage.max_ms = _ms(_number(row.get("Max Response Time")))
    stage.notes.append("Locust counts 4xx/5xx and connection errors as failures")
    return stage


def parse_jmeter_jtl(text: str) -> Stage:
    """A JMeter JTL results file in CSV with its header row (one row per sample)."""
    reader = csv.DictReader(io.StringIO(text))
    fields = set(reader.fieldnames or ())
    if not {"timeStamp", "elapsed"} <= fields:
        raise ResultsError("no timeStamp/elapsed columns: not a JMeter JTL CSV with a header")
    histogram = LatencyHistogram()
    first: float | None = None
    last = 0.0
    requests = ok = 0
    statuses: dict[str, int] = {}
    for number, row in enumerate(reader):
        if number >= MAX_JTL_ROWS:
            raise ResultsError(f"more than {MAX_JTL_ROWS} samples")
        try:
            start = float(row["timeStamp"])
            elapsed = float(row["elapsed"])
        except (TypeError, ValueError):
            raise ResultsError(
                f"row {number + 2}: timeStamp/elapsed are not numbers "
                "(save timestamps as epoch milliseconds)"
            ) from None
        requests += 1
        histogram.add(elapsed)
        first = start if first is None else min(first, start)
        last = max(last, start + elapsed)
        code = (row.get("responseCode") or "").strip()
        success = (row.get("success") or "true").strip().lower() == "true"
        good = success and code[:1] in {"2", "3"} and code.isdigit()
        ok += good
        key = code if code.isdigit() else "error"
        statuses[key] = statuses.get(key, 0) + 1
    if not requests or first is None:
        raise ResultsError("no samples")
    stage = Stage(
        "results",
        "jmeter",
        None,
        max(0.001, (last - first) / 1000),
        requests,
        ok,
        {"status": requests - ok},
        statuses=statuses,
    )
    stage.p50_ms, stage.p90_ms, stage.p95_ms, stage.p99_ms = (
        _ms(histogram.percentile(p)) for p in (50, 90, 95, 99)
    )
    stage.max_ms = _ms(histogram.max_ms)
    return stage


PARSERS = {
    "k6": parse_k6_summary,
    "locust": parse_locust_csv,
    "jmeter": parse_jmeter_jtl,
    "wrk": parse_wrk_text,
}


def detect_format(text: str) -> str:
    """Which tool wrote ``text``: k6, locust, jmeter or wrk."""
    head = text.lstrip()[:4096]
    if head.startswith("{"):
        return "k6"
    first = head.splitlines()[0] if head else ""
    if "Request Count" in first and "Requests/s" in first:
        return "locust"
    if "timeStamp" in first and "elapsed" in first:
        return "jmeter"
    if re.search(r"requests in [\d.]+(us|ms|s|m|h)", text) and "Requests/sec" in text:
        return "wrk"
    raise ResultsError("not a k6 JSON summary, Locust stats CSV, JMeter JTL CSV or wrk output")


def read_results(path: Path, fmt: str = "auto") -> Stage:
    """Parse a results file (format detected unless given)."""
    size = path.stat().st_size
    if size > MAX_RESULTS_BYTES:
        raise ResultsError(f"{size} bytes, more than the limit of {MAX_RESULTS_BYTES}")
    text = path.read_text(encoding="utf-8", errors="replace")
    kind = detect_format(text) if fmt == "auto" else fmt
    if kind not in PARSERS:
        raise ResultsError(f"unknown format {fmt!r} (k6, locust, jmeter, wrk or auto)")
    stage = PARSERS[kind](text)
    if stage.responses <= 0:
        raise ResultsError("it records no requests")
    return stage


# ------------------------------------------------------------------- builtin engine


class _BadResponse(Exception):
    """The server's answer is not HTTP/1.x as expected."""


@dataclass(frozen=True)
class Origin:
    """Where the load goes: the checked address, TLS settings and the request bytes."""

    address: str
    port: int
    ssl_context: ssl.SSLContext | None
    server_hostname: str | None
    request: bytes
    shown: str


def build_request(url: str, auth: tuple[str, str] | None = None) -> bytes:
    """The GET request for ``url`` as bytes (HTTP/1.1, kept alive)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    name = f"[{host}]" if ":" in host else host
    default = 443 if parts.scheme == "https" else 80
    if parts.port and parts.port != default:
        name = f"{name}:{parts.port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: {name}",
        "User-Agent: prr-drill-load",
        "Accept: */*",
    ]
    if auth:
        lines.append(f"{auth[0]}: {auth[1]}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _discard(reader: asyncio.StreamReader, size: int, budget: list[int]) -> None:
    left = size
    while left > 0:
        chunk = await reader.readexactly(min(left, 65536))
        left -= len(chunk)
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise _BadResponse("body larger than the limit")


async def read_response(
    reader: asyncio.StreamReader, started: list[bool] | None = None
) -> tuple[int, bool]:
    """Read one HTTP/1.x answer, discarding its body; returns (status, keep the connection).

    ``started`` (if given) is set to ``[True]`` once the first byte of an answer arrived.
    """
    for _ in range(5):  # a few 1xx interim answers at most
        head = await reader.readuntil(b"\r\n\r\n")
        if started is not None:
            started[:] = [True]
        lines = head.decode("latin-1").split("\r\n")
        status_line = lines[0].split(" ", 2)
        if len(status_line) < 2 or not status_line[0].startswith("HTTP/1."):
            raise _BadResponse("not an HTTP/1.x status line")
        status = int(status_line[1])
        if 100 <= status < 200 and status != 101:
            continue
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        keep = (
            "keep-alive" in connection
            if status_line[0] == "HTTP/1.0"
            else "close" not in connection
        )
        budget = [MAX_BODY_BYTES]
        if status in (101, 204, 304):
            return status, keep and status != 101
        if "chunked" in headers.get("transfer-encoding", "").lower():
            for _chunk in range(1_000_000):
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    for _trailer in range(100):
                        if await reader.readuntil(b"\r\n") == b"\r\n":
                            return status, keep
                    raise _BadResponse("too many trailer lines")
                await _discard(reader, size + 2, budget)
            raise _BadResponse("too many chunks")
        if "content-length" in headers:
            await _discard(reader, int(headers["content-length"]), budget)
            return status, keep
        while chunk := await reader.read(65536):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise _BadResponse("body larger than the limit")
        return status, False
    raise _BadResponse("too many interim answers")


class _Phase(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class LoadClient:
    """Kept-alive HTTP/1.1 connections to one origin; every connection closed on exit."""

    def __init__(self, origin: Origin, timeout_s: float) -> None:
        self.origin = origin
        self.timeout_s = timeout_s
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.writers: set[asyncio.StreamWriter] = set()
        self.connections_opened = 0

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            reader, writer = await asyncio.open_connection(
                self.origin.address,
                self.origin.port,
                ssl=self.origin.ssl_context,
                server_hostname=self.origin.server_hostname if self.origin.ssl_context else None,
                limit=HEAD_LIMIT,
            )
        except (OSError, ssl.SSLError, ValueError):
            raise _Phase("connect") from None
        self.writers.add(writer)
        self.connections_opened += 1
        return reader, writer

    def _close(self, writer: asyncio.StreamWriter) -> None:
        self.writers.discard(writer)
        writer.close()

    async def fetch(self) -> int:
        """One GET; the status. Raises :class:`_Phase` (connect/read) on failure."""
        for attempt in range(2):
            reused = bool(self.idle)
            reader, writer = self.idle.pop() if reused else await self._connect()
            answered = [False]
            try:
                writer.write(self.origin.request)
                status, keep = await read_response(reader, answered)
            except BaseException as exc:
                self._close(writer)
                # A kept-alive connection the server closed meanwhile: retry once, fresh.
                silent = isinstance(exc, asyncio.IncompleteReadError) and not exc.partial
                stale = silent or isinstance(exc, ConnectionError)
                if stale and reused and not answered[0] and attempt == 0:
                    continue
                if isinstance(exc, Exception) and not isinstance(exc, _Phase):
                    raise _Phase("read") from None
                raise
            if keep:
                self.idle.append((reader, writer))
            else:
                self._close(writer)
            return status
        raise _Phase("read")

    async def aclose(self) -> None:
        writers = list(self.writers)
        self.writers.clear()
        self.idle.clear()
        for writer in writers:
            writer.close()
        if not writers:
            return
        waits = [asyncio.ensure_future(w.wait_closed()) for w in writers]
        _, pending = await asyncio.wait(waits, timeout=2.0)
        for wait in pending:
            wait.cancel()
        # Retrieve every outcome (a reset peer is no news here).
        await asyncio.gather(*waits, return_exceptions=True)


class _Recorder:
    def __init__(self) -> None:
        self.histogram = LatencyHistogram()
        self.responses = 0
        self.ok = 0
        self.statuses: dict[str, int] = {}
        self.errors = dict.fromkeys(ERROR_KINDS, 0)
        self.last_done = 0.0


async def _one(client: LoadClient, rec: _Recorder) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        async with asyncio.timeout(client.timeout_s):
            status = await client.fetch()
    except TimeoutError:
        rec.errors["timeout"] += 1
        return
    except _Phase as exc:
        rec.errors[exc.kind] += 1
        return
    finally:
        rec.last_done = max(rec.last_done, loop.time())
    rec.histogram.add((loop.time() - started) * 1000)
    rec.responses += 1
    key = str(status)
    rec.statuses[key] = rec.statuses.get(key, 0) + 1
    if 200 <= status < 400:
        rec.ok += 1
    else:
        rec.errors["status"] += 1


async def builtin_stage(
    client: LoadClient, label: str, rate: float, duration_s: float, max_in_flight: int
) -> Stage:
    """Send ``rate × duration`` GETs on an exact schedule; wait for the last answers."""
    loop = asyncio.get_running_loop()
    total = max(1, round(rate * duration_s))
    rec = _Recorder()
    lag = LatencyHistogram()
    tasks: set[asyncio.Task[None]] = set()
    start = loop.time() + 0.005
    sent = 0
    stage = Stage(label, "builtin", rate, duration_s, 0, 0, scheduled=total)
    try:
        for index in range(total):
            due = start + index / rate
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            lag.add((loop.time() - due) * 1000)
            if len(tasks) >= max_in_flight:
                rec.errors["unsent"] += 1
                continue
            task = asyncio.create_task(_one(client, rec))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        if tasks:
            await asyncio.wait(set(tasks), timeout=client.timeout_s + 1.0)
    except asyncio.CancelledError:
        stage.interrupted = True
        raise
    finally:
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        elapsed = max(rec.last_done, loop.time() if stage.interrupted else 0.0) - start
        stage.duration_s = max(elapsed, (sent - 1) / rate if sent > 1 else 0.0, 0.001)
        stage.responses, stage.ok = rec.responses, rec.ok
        stage.errors = dict(rec.errors)
        stage.statuses = dict(sorted(rec.statuses.items()))
        stage.p50_ms, stage.p90_ms, stage.p95_ms, stage.p99_ms = (
            _ms(rec.histogram.percentile(p)) for p in (50, 90, 95, 99)
        )
        stage.max_ms = _ms(rec.histogram.max_ms) if rec.histogram.count else None
        stage.send_lag_p99_ms = _ms(lag.percentile(99))
        if stage.interrupted:
            stage.scheduled = sent + rec.errors["unsent"]
    if (stage.send_lag_p99_ms or 0) > LAG_WARNING_MS:
        stage.notes.append(
            f"the client sent late (p99 {stage.send_lag_p99_ms} ms behind schedule): it is "
            "saturated and its latencies include its own delay; use engine=wrk at this rate"
        )
    if rec.errors["unsent"]:
        stage.notes.append(
            f"{rec.errors['unsent']} requests not sent: {max_in_flight} were already in flight"
        )
    return stage


# ----------------------------------------------------------------------- wrk engine

WRK_SCRIPT = r"""
-- prr load drill: pace wrk to PRR_RPS (per-thread send slots on a monotonic clock) and
-- print the figures as JSON when done.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } prr_timespec;
int clock_gettime(int clk, prr_timespec *tp);
]]
local ts = ffi.new("prr_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local threads = tonumber(os.getenv("PRR_THREADS") or "1")
local interval = 1000 * threads / tonumber(os.getenv("PRR_RPS") or "1")
local next_at = nil
local auth_name = os.getenv("PRR_AUTH_NAME")
if auth_name and auth_name ~= "" then
  wrk.headers[auth_name] = os.getenv("PRR_AUTH_VALUE")
end
wrk.headers["User-Agent"] = "prr-drill-load (wrk)"
function delay()
  local now = now_ms()
  if next_at == nil or next_at < now - 1000 then next_at = now end
  local at = next_at
  next_at = next_at + interval
  if at <= now then return 0 end
  return math.floor(at - now + 0.5)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nPRR-JSON {"duration_us":%d,"requests":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p95":%d,"p99":%d,"max":%d}\n',
    summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max))
end
"""


def find_wrk() -> str | None:
    return shutil.which("wrk") or next(
        (p for p in ("/usr/bin/wrk", "/usr/local/bin/wrk") if os.access(p, os.X_OK)), None
    )


async def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), timeout=5.0)


async def wrk_stage(
    wrk: str,
    url: str,
    shown: str,
    label: str,
    rate: float,
    duration_s: int,
    connections: int,
    timeout_s: float,
    auth: tuple[str, str] | None,
) -> Stage:
    """Run wrk paced to ``rate`` for ``duration_s``; figures from its JSON, its text kept."""
    threads = 2 if connections >= 2 and rate > 2000 else 1
    folder = tempfile.mkdtemp(prefix="prr-load-")
    script = Path(folder) / "pace.lua"
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PRR_RPS": repr(float(rate)),
        "PRR_THREADS": str(threads),
    }
    if auth:
        env["PRR_AUTH_NAME"], env["PRR_AUTH_VALUE"] = auth  # the environment, never argv
    argv = [
        wrk,
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{duration_s}s",
        "--timeout",
        f"{max(1, math.ceil(timeout_s))}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    # No "scheduled": wrk does not count the requests still in flight when it stops.
    stage = Stage(label, "wrk", rate, float(duration_s), 0, 0)
    process: asyncio.subprocess.Process | None = None
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            out, _ = await asyncio.wait_for(
                process.communicate(), timeout=duration_s + timeout_s + 15
            )
        except TimeoutError:
            stage.notes.append("wrk did not finish in time and was killed")
            return stage
        text = out[:200_000].decode("utf-8", errors="replace").replace(url, shown)
    except asyncio.CancelledError:
        stage.interrupted = True
        raise
    finally:
        if process is not None and process.returncode is None:
            await _kill(process)
        shutil.rmtree(folder, ignore_errors=True)
    found = re.search(r"^PRR-JSON (\{.*\})\s*$", text, re.M)
    stage.engine_summary = re.sub(r"\n?PRR-JSON .*\n?", "\n", text).strip()
    if process.returncode != 0 or found is None:
        stage.notes.append(f"wrk exited with {process.returncode}: {stage.engine_summary[-300:]}")
        return stage
    data = json.loads(found.group(1))
    requests = int(data["requests"])
    stage.duration_s = max(0.001, data["duration_us"] / 1e6)
    stage.responses = requests
    stage.ok = requests - int(data["status"])
    stage.errors = {
        "status": int(data["status"]),
        "timeout": int(data["timeout"]),
        "connect": int(data["connect"]),
        "read": int(data["read"]) + int(data["write"]),
    }
    if requests:
        stage.p50_ms, stage.p90_ms, stage.p95_ms, stage.p99_ms, stage.max_ms = (
            _ms(data[k] / 1000) for k in ("p50", "p90", "p95", "p99", "max")
        )
    return stage


# --------------------------------------------------------------------------- memory


async def sample_memory(api: MonitoringApi, selector: str) -> tuple[str, float] | None:
    """(metric, total bytes) of the service's memory now, from the first metric that has data."""
    for metric in MEMORY_METRICS:
        query = f"sum({metric}{selector})"
        try:
            data = await api.get_json("/api/v1/query", {"query": query})
        except CollectorError:
            return None
        result = data.get("data", {}).get("result") if isinstance(data, dict) else None
        if isinstance(result, list) and result:
            value = result[0].get("value") if isinstance(result[0], dict) else None
            number = _number(value[1]) if isinstance(value, list) and len(value) == 2 else None
            if number is not None:
                return metric, number
    return None


# ---------------------------------------------------------------------------- drill


def _option(ctx: DrillContext, name: str) -> Any:
    option = next(o for o in LoadDrill.options if o.name == name)
    return ctx.options.get(name, option.default)


def pick_endpoint(ctx: DrillContext, name: str) -> Endpoint:
    """The endpoint named ``name`` (or the first); DrillRefused when there is none."""
    endpoints = ctx.spec.endpoints
    if not endpoints:
        raise DrillRefused(f"{ctx.environment} has no endpoints in prr.yaml")
    if not name:
        return endpoints[0]
    for endpoint in endpoints:
        if endpoint.name == name:
            return endpoint
    known = ", ".join(e.name for e in endpoints)
    raise DrillRefused(f"{ctx.environment} has no endpoint {name!r} (known: {known})")


def auth_line(endpoint: Endpoint) -> tuple[str, str]:
    """The endpoint's ``auth_header`` (``env:VAR`` holding ``Name: value``); refused if unset."""
    reference = endpoint.auth_header
    match = ENV_REF.match(reference or "")
    if not reference or not match:
        raise DrillRefused(f"auth=true but endpoint {endpoint.name} has no auth_header")
    line = resolve_secret(reference) or ""
    name, sep, value = line.partition(":")
    if not sep or not re.fullmatch(r"[A-Za-z0-9-]+", name.strip()) or not value.strip():
        raise DrillRefused(
            f"{match.group(1)} is unset or does not hold a header line like "
            "'Authorization: Bearer …'"
        )
    return name.strip(), value.strip()


def target_url(endpoint: Endpoint, path: str) -> str:
    """``path`` against the endpoint URL (the URL itself when empty), without user info."""
    url = urljoin(endpoint.url, path) if path else endpoint.url
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise DrillRefused(f"{redact_url(url)} is not an http(s) URL")
    netloc = parts.netloc.rpartition("@")[2]
    if netloc != urlsplit(endpoint.url).netloc.rpartition("@")[2]:
        raise DrillRefused(f"path {path!r} leaves the endpoint {redact_url(endpoint.url)}")
    return parts._replace(netloc=netloc, fragment="").geturl()


async def make_origin(
    url: str, auth: tuple[str, str] | None, timeout_s: float
) -> tuple[Origin, list[str]]:
    """Check the URL's host with the address guard and pin the connection to its address."""
    addresses = await AddressGuard().check_url(url, timeout=min(timeout_s, 10.0))
    parts = urlsplit(url)
    https = parts.scheme == "https"
    host = parts.hostname or ""
    context = tls.verifying_context(True, tls.ca_bundle()) if https else None
    origin = Origin(
        addresses[0],
        parts.port or (443 if https else 80),
        context,
        host,
        build_request(url, auth),
        redact_url(url),
    )
    return origin, addresses


@dataclass
class _Settings:
    rps: float
    peak_factor: float
    duration: int
    engine: str
    timeout: float
    connections: int
    p95_target_ms: float
    max_error_rate: float
    memory_growth_max: float
    url: str | None
    shown: str | None
    auth: bool
    endpoint: Endpoint | None
    results: list[tuple[str, Path]]
    results_format: str
    wrk: str | None

    @property
    def rates(self) -> tuple[float, float]:
        return self.rps, self.rps * self.peak_factor

    def connections_for(self, rate: float) -> int:
        return connections_for(self.engine, self.connections, self.timeout, rate)


def connections_for(engine: str, configured: int, timeout_s: float, rate: float) -> int:
    """Most connections at ``rate``: as configured, else enough for answers as slow as the
    timeout (builtin, opened on demand) or for 0.5 s answers (wrk opens them all at start)."""
    if configured:
        return configured
    if engine == "wrk":
        return int(min(1000, max(8, math.ceil(rate * 0.5))))
    return int(min(MAX_CONNECTIONS, max(16, math.ceil(rate * timeout_s))))


def _settings(ctx: DrillContext) -> _Settings:
    rps = float(_option(ctx, "rps") or 0)
    if rps <= 0:
        raise DrillRefused(
            "rps is required: the expected request rate, e.g. -o rps=200 "
            "(the peak stage runs at peak_factor × rps)"
        )
    peak_factor = float(_option(ctx, "peak_factor"))
    if not 1.0 <= peak_factor <= 10.0:
        raise DrillRefused("peak_factor must be between 1 and 10")
    duration = int(_option(ctx, "duration"))
    if not 1 <= duration <= MAX_DURATION_S:
        raise DrillRefused(f"duration must be between 1 and {MAX_DURATION_S} seconds")
    timeout = float(_option(ctx, "timeout"))
    if not 0 < timeout <= MAX_TIMEOUT_S:
        raise DrillRefused(f"timeout must be between 0 and {MAX_TIMEOUT_S:g} seconds")
    connections = int(_option(ctx, "connections"))
    if not 0 <= connections <= MAX_CONNECTIONS:
        raise DrillRefused(f"connections must be between 0 (automatic) and {MAX_CONNECTIONS}")
    try:
        p95 = parse_duration(str(_option(ctx, "p95_target"))).total_seconds() * 1000
    except ValueError as exc:
        raise DrillRefused(f"p95_target: {exc}") from None
    engine = str(_option(ctx, "engine"))
    if engine not in ENGINES:
        raise DrillRefused(f"engine must be one of {', '.join(ENGINES)}")
    root = Path(ctx.target.root or ".")
    files = {key: str(_option(ctx, key) or "") for key in ("results_file", "peak_results_file")}
    if files["peak_results_file"] and not files["results_file"]:
        raise DrillRefused("peak_results_file needs results_file (the run at the expected rate)")
    results: list[tuple[str, Path]] = []
    for (key, raw), label in zip(files.items(), ("1x", "peak"), strict=True):
        if raw:
            path = Path(raw) if Path(raw).is_absolute() else root / raw
            if not path.is_file():
                raise DrillRefused(f"{key}: {raw} is not a file")
            results.append((label, path))
    endpoint = url = shown = None
    wrk = None
    if not results:
        endpoint = pick_endpoint(ctx, str(_option(ctx, "endpoint") or ""))
        url = target_url(endpoint, str(_option(ctx, "path") or ""))
        shown = redact_url(url)
        if bool(_option(ctx, "auth")):
            auth_line(endpoint)  # refuse now when the variable is missing
        if engine == "wrk":
            wrk = find_wrk()
            if wrk is None:
                raise DrillRefused("engine=wrk but wrk is not installed (Debian package wrk)")
    if not results and rps * peak_factor > MAX_RPS:
        raise DrillRefused(f"the peak rate {rps * peak_factor:g} rps is above {MAX_RPS:g} rps")
    if not results:
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        most = connections_for(engine, connections, timeout, rps * peak_factor)
        if limit != resource.RLIM_INFINITY and most + 64 > limit:
            raise DrillRefused(
                f"up to {most} connections need more open files than the limit of {limit} "
                "(ulimit -n), or set connections lower"
            )
    return _Settings(
        rps=rps,
        peak_factor=peak_factor,
        duration=duration,
        engine=engine,
        timeout=timeout,
        connections=connections,
        p95_target_ms=p95,
        max_error_rate=float(_option(ctx, "max_error_rate")) / 100,
        memory_growth_max=float(_option(ctx, "memory_growth_max")) / 100,
        url=url,
        shown=shown,
        auth=bool(_option(ctx, "auth")),
        endpoint=endpoint,
        results=results,
        results_format=str(_option(ctx, "results_format") or "auto"),
        wrk=wrk,
    )


def _memory_selector(ctx: DrillContext) -> str | None:
    spec = ctx.spec.prometheus
    if spec is None or not (spec.selector or "").strip():
        return None
    return series_selector(parse_matchers(spec.selector or ""))


@register_drill
class LoadDrill(Drill):
    """Load at the expected rate and at the peak; or read a load test's results."""

    name = "load"
    title = "Load test at the expected rate and at 2× (the peak)"
    items: ClassVar[tuple[str, ...]] = (EXECUTED, EXPECTED, PEAK, RESPONSE_TIMES, MEMORY)
    options: ClassVar[tuple[DrillOption, ...]] = (
        DrillOption("rps", float, 0.0, "expected requests per second (required)"),
        DrillOption("peak_factor", float, 2.0, "the peak stage's rate is peak_factor × rps"),
        DrillOption("duration", int, 20, f"seconds per stage (at most {MAX_DURATION_S})"),
        DrillOption("path", str, "", "path against the endpoint URL; empty: the URL itself"),
        DrillOption("endpoint", str, "", "endpoint name; empty: the first"),
        DrillOption("engine", str, "builtin", "builtin (rate-controlled asyncio) or wrk"),
        DrillOption("p95_target", str, "500ms", "p95 latency target"),
        DrillOption("max_error_rate", float, 1.0, "percent of requests allowed to fail"),
        DrillOption("timeout", float, 5.0, "seconds per request"),
        DrillOption("connections", int, 0, "most connections (0: automatic from the rate)"),
        DrillOption("auth", bool, False, "send the endpoint's auth_header with every request"),
        DrillOption(
            "memory_growth_max", float, 20.0, "percent memory growth over the run that fails"
        ),
        DrillOption("results_file", str, "", "read this run (k6/Locust/JMeter/wrk) instead"),
        DrillOption("peak_results_file", str, "", "results of the peak run (with results_file)"),
        DrillOption("results_format", str, "auto", "auto, k6, locust, jmeter or wrk"),
    )

    def plan(self, ctx: DrillContext) -> DrillPlan:
        s = _settings(ctx)
        low, high = s.rates
        if s.results:
            for _, path in s.results:
                try:
                    read_results(path, s.results_format)
                except (ResultsError, OSError) as exc:
                    raise DrillRefused(f"{path.name}: {exc}") from None
            files = tuple(f"results file {path}" for _, path in s.results)
            return DrillPlan(
                self.name,
                ctx.environment,
                files,
                (
                    *(f"read {path.name} ({s.results_format})" for _, path in s.results),
                    f"judge against {low:g} rps (expected) and {high:g} rps (peak), "
                    f"p95 under {show_ms(s.p95_target_ms)}, errors at most "
                    f"{s.max_error_rate:.2%}",
                ),
                10.0,
                0,
            )
        assert s.shown is not None
        needed = 2 * s.duration + 2 * s.timeout + 30
        if needed > ctx.timeout_s:
            raise DrillRefused(
                f"two stages of {s.duration}s need about {needed:g}s, more than the drill's "
                f"time limit of {ctx.timeout_s:g}s: raise --timeout or lower duration"
            )
        touches = [f"GET {s.shown}"]
        selector = _memory_selector(ctx)
        if ctx.spec.prometheus and selector:
            touches.append(f"Prometheus {redact_url(ctx.spec.prometheus.url)} (read memory)")
        engine = (
            "wrk paced by a Lua script"
            if s.engine == "wrk"
            else "the built-in rate-controlled client"
        )
        steps = [
            "one GET to check the URL answers"
            + (" (certificate verified)" if s.shown.startswith("https:") else "")
            + f", then load with {engine}",
            f"{s.duration}s at {low:g} rps (expected)",
            f"{s.duration}s at {high:g} rps (peak, {s.peak_factor:g}×)",
            f"each request times out after {s.timeout:g}s; p95 target {show_ms(s.p95_target_ms)},"
            f" errors at most {s.max_error_rate:.2%}",
        ]
        if selector:
            steps.append(f"memory of {selector} before and after each stage")
        requests = 1 + math.ceil(low * s.duration) + math.ceil(high * s.duration)
        if s.engine == "wrk":
            requests += s.connections_for(low) + s.connections_for(high)
        return DrillPlan(
            self.name,
            ctx.environment,
            tuple(touches),
            tuple(steps),
            2 * s.duration + 2 * s.timeout + 30,
            requests,
        )

    async def run(self, ctx: DrillContext) -> DrillOutcome:
        s = _settings(ctx)
        started = dt.datetime.now(dt.UTC)
        if s.results:
            stages = []
            for label, path in s.results:
                try:
                    stage = await asyncio.to_thread(read_results, path, s.results_format)
                except (ResultsError, OSError) as exc:
                    raise DrillRefused(f"{path.name}: {exc}") from None
                stage.label = label
                stage.source = str(path)
                stage.requested_rps = s.rps if label == "1x" else s.rps * s.peak_factor
                ctx.note(
                    f"read {path.name} ({stage.engine}): {stage.responses} requests, "
                    f"{stage.achieved_rps:.1f} rps"
                )
                stages.append(stage)
            return self._judge(ctx, s, stages, None, started)
        return await self._load(ctx, s, started)

    async def _load(self, ctx: DrillContext, s: _Settings, started: dt.datetime) -> DrillOutcome:
        assert s.url is not None and s.shown is not None and s.endpoint is not None
        auth = auth_line(s.endpoint) if s.auth else None
        stages: list[Stage] = []
        memory: dict[str, Any] | None = None
        selector = _memory_selector(ctx)
        current = "the preflight request"
        async with contextlib.AsyncExitStack() as stack:
            try:
                try:
                    origin, addresses = await make_origin(s.url, auth, s.timeout)
                except CollectorError as exc:
                    return self._failed(ctx, s, started, f"{s.shown}: {exc.args[0]}")
                ctx.note(f"{s.shown} resolves to {', '.join(addresses)}")
                client = LoadClient(origin, s.timeout)
                stack.push_async_callback(client.aclose)
                try:
                    async with asyncio.timeout(s.timeout):
                        status = await client.fetch()
                except (TimeoutError, _Phase) as exc:
                    why = "no answer in time" if isinstance(exc, TimeoutError) else f"{exc} failed"
                    if origin.ssl_context and isinstance(exc, _Phase) and exc.kind == "connect":
                        why += " (refused, or its certificate did not verify)"
                    return self._failed(ctx, s, started, f"{s.shown}: {why}")
                ctx.note(f"preflight GET {s.shown}: {status}")
                api: MonitoringApi | None = None
                if ctx.spec.prometheus and selector:
                    live = LiveContext(
                        ctx.environment,
                        ctx.spec,
                        ctx.target,
                        LiveLimits(timeout_s=min(10.0, s.timeout * 2), max_requests=12),
                    )
                    try:
                        api = await stack.enter_async_context(
                            MonitoringApi(live, ctx.spec.prometheus, "Prometheus")
                        )
                    except CollectorError as exc:
                        ctx.note(f"memory not sampled: {exc}")
                    memory = {"selector": selector, "samples": []}
                before = await self._memory(api, selector, memory, "before")
                for label, rate in zip(("1x", "peak"), s.rates, strict=True):
                    current = f"stage {label}"
                    ctx.note(f"stage {label}: {rate:g} rps for {s.duration}s ({s.engine})")
                    if s.engine == "wrk":
                        assert s.wrk is not None
                        stage = await wrk_stage(
                            s.wrk,
                            s.url,
                            s.shown,
                            label,
                            rate,
                            s.duration,
                            s.connections_for(rate),
                            s.timeout,
                            auth,
                        )
                    else:
                        stage = await builtin_stage(
                            client, label, rate, float(s.duration), s.connections_for(rate)
                        )
                    stage.memory_before = before
                    before = await self._memory(api, selector, memory, f"after {label}")
                    stage.memory_after = before
                    stages.append(stage)
                    ctx.note(
                        f"stage {label}: {stage.achieved_rps:.1f} rps achieved, "
                        f"p95 {stage.p95_ms} ms, errors {stage.error_rate:.2%}"
                    )
                    for line in stage.notes:
                        ctx.note(f"stage {label}: {line}")
                    if label == "1x" and stage.responses == 0:
                        ctx.note("no answers at the expected rate: the peak stage is skipped")
                        break
            except asyncio.CancelledError:
                done = sum(st.attempts for st in stages)
                ctx.note(
                    f"interrupted during {current}: stopped sending "
                    f"({done} requests in finished stages); connections closed"
                )
                raise
        return self._judge(ctx, s, stages, memory, started)

    async def _memory(
        self,
        api: MonitoringApi | None,
        selector: str | None,
        memory: dict[str, Any] | None,
        when: str,
    ) -> float | None:
        if api is None or selector is None or memory is None:
            return None
        found = await sample_memory(api, selector)
        if found is None:
            memory["samples"].append({"when": when, "bytes": None})
            return None
        memory["metric"] = found[0]
        memory["samples"].append({"when": when, "bytes": found[1]})
        return found[1]

    def _failed(
        self, ctx: DrillContext, s: _Settings, started: dt.datetime, reason: str
    ) -> DrillOutcome:
        ctx.note(reason)
        result = self.result(
            EXECUTED,
            False,
            f"the load test could not run: {reason}",
            Evidence(reason, url=s.shown),
            environment=ctx.environment,
        )
        return DrillOutcome(
            self.name,
            ctx.environment,
            False,
            f"could not load {s.shown}: {reason}",
            started,
            dt.datetime.now(dt.UTC),
            {"engine": s.engine, "url": s.shown, "target_rps": s.rps},
            [result],
            list(ctx.log),
        )

    # ---------------------------------------------------------------- judging

    def _stage_verdict(self, s: _Settings, stage: Stage, rate: float) -> tuple[bool, list[str]]:
        problems = []
        if stage.achieved_rps < RATE_SHORTFALL * rate:
            problems.append(
                f"achieved {stage.achieved_rps:.1f} rps, under {RATE_SHORTFALL:.0%} of {rate:g}"
            )
        if stage.error_rate > s.max_error_rate:
            problems.append(
                f"{stage.error_rate:.2%} of requests failed (at most {s.max_error_rate:.2%}); "
                + ", ".join(f"{k} {v}" for k, v in stage.errors.items() if v)
            )
        latency, known = _p95_verdict(stage, s.p95_target_ms)
        if known and not latency[0]:
            problems.append(latency[1])
        if not known:
            problems.append(latency[1])
        return not problems, problems

    def _judge(
        self,
        ctx: DrillContext,
        s: _Settings,
        stages: list[Stage],
        memory: dict[str, Any] | None,
        started: dt.datetime,
    ) -> DrillOutcome:
        env = ctx.environment
        low, high = s.rates
        results: list[Result] = []
        where = (
            f"{s.shown} with {s.engine}"
            if s.shown
            else ", ".join(f"{st.source} ({st.engine})" for st in stages)
        )

        def evidence(stage: Stage) -> Evidence:
            return Evidence(
                f"stage {stage.label}: {describe(stage)}",
                path=stage.source,
                url=None if stage.source else s.shown,
                query=(
                    None
                    if stage.source
                    else f"GET {s.shown} at {stage.requested_rps:g} rps for {s.duration}s"
                ),
                value=stage.to_dict(),
            )

        first = stages[0] if stages else None
        peak = next((st for st in stages if st.label == "peak"), None)
        ran = first is not None and first.responses > 0
        results.append(
            self.result(
                EXECUTED,
                ran,
                (
                    f"load test against {where}: "
                    + "; ".join(f"{st.label} {describe(st)}" for st in stages)
                )
                if ran
                else f"the load test got no answers from {where}",
                *(evidence(st) for st in stages),
                environment=env,
            )
        )
        verdicts: dict[str, tuple[bool, list[str]]] = {}
        if first is not None and ran:
            verdicts["1x"] = self._stage_verdict(s, first, low)
            ok, problems = verdicts["1x"]
            results.append(
                self.result(
                    EXPECTED,
                    ok,
                    f"at {low:g} rps (expected): {describe(first)}"
                    + ("" if ok else " — " + "; ".join(problems)),
                    evidence(first),
                    environment=env,
                    fields={"target_rps": low},
                )
            )
            (within, message), known = _p95_verdict(first, s.p95_target_ms)
            if known:
                fields = {"p95": show_ms(first.p95_ms)} if first.p95_ms is not None else {}
                results.append(
                    self.result(
                        RESPONSE_TIMES,
                        within,
                        f"at {low:g} rps: {message}",
                        evidence(first),
                        environment=env,
                        fields=fields,
                    )
                )
        if peak is not None and peak.responses > 0:
            verdicts["peak"] = self._stage_verdict(s, peak, high)
            ok, problems = verdicts["peak"]
            results.append(
                self.result(
                    PEAK,
                    ok,
                    f"at {high:g} rps (peak, {s.peak_factor:g}× expected): {describe(peak)}"
                    + ("" if ok else " — " + "; ".join(problems)),
                    evidence(peak),
                    environment=env,
                    fields={"peak_rps": high},
                )
            )
        elif peak is not None:
            results.append(
                self.result(
                    PEAK,
                    False,
                    f"at {high:g} rps (peak): no answers",
                    evidence(peak),
                    environment=env,
                    fields={"peak_rps": high},
                )
            )
        memory_result = self._memory_result(ctx, s, stages, memory)
        if memory_result is not None:
            results.append(memory_result)
        passed = ran and all(r.status.value == "pass" for r in results) and peak is not None
        summary = "; ".join(
            f"{st.label} ({st.requested_rps:g} rps): {describe(st)}" for st in stages
        )
        if peak is None and s.results:
            summary += "; no peak results (peak_results_file): peak traffic not verified"
        failing = [p for ok, problems in verdicts.values() if not ok for p in problems]
        if failing:
            summary += " — " + "; ".join(failing)
        measurements: dict[str, Any] = {
            "engine": s.engine if not s.results else "results file",
            "target_rps": low,
            "peak_rps": high,
            "p95_target_ms": s.p95_target_ms,
            "max_error_rate": s.max_error_rate,
            # wrk's own text summary stays with the stage's evidence (shown less, kept all).
            "stages": [st.to_dict(engine_output=False) for st in stages],
        }
        if s.shown:
            measurements["url"] = s.shown
        if memory is not None:
            measurements["memory"] = memory
        return DrillOutcome(
            self.name,
            env,
            passed,
            summary or "no stage ran",
            started,
            dt.datetime.now(dt.UTC),
            measurements,
            results,
            list(ctx.log),
        )

    def _memory_result(
        self,
        ctx: DrillContext,
        s: _Settings,
        stages: list[Stage],
        memory: dict[str, Any] | None,
    ) -> Result | None:
        if memory is None:
            return None
        values = [x["bytes"] for x in memory["samples"]]
        if len(values) < 2 or values[0] is None or values[-1] is None or not values[0]:
            ctx.note("memory: no samples from Prometheus for the selector; not judged")
            return None
        growth = values[-1] / values[0] - 1
        memory["growth"] = round(growth, 4)
        seconds = sum(st.duration_s for st in stages)
        shown = ", ".join(
            f"{x['when']} {x['bytes'] / 2**20:.1f} MiB" if x["bytes"] is not None else x["when"]
            for x in memory["samples"]
        )
        ok = growth <= s.memory_growth_max
        message = (
            f"{memory.get('metric')}{memory['selector']} grew {growth:+.1%} over {seconds:.0f}s "
            f"of load ({shown}); {'within' if ok else 'more than'} "
            f"{s.memory_growth_max:.0%}. A short run, not the multi-hour soak the item asks "
            "for: re-run with a longer duration to confirm"
        )
        prometheus = ctx.spec.prometheus
        return self.result(
            MEMORY,
            ok,
            message,
            Evidence(
                message,
                url=redact_url(prometheus.url) if prometheus else None,
                query=f"sum({memory.get('metric')}{memory['selector']})",
                value=memory,
            ),
            environment=ctx.environment,
        )


def describe(stage: Stage) -> str:
    """``100.0 rps achieved, p50 … p95 … p99 …, 0.00% errors (1500 requests)``."""
    parts = [f"{stage.achieved_rps:.1f} rps achieved"]
    latencies = [
        f"{name} {show_ms(value)}"
        for name, value in (("p50", stage.p50_ms), ("p95", stage.p95_ms), ("p99", stage.p99_ms))
        if value is not None
    ]
    if latencies:
        parts.append(", ".join(latencies))
    parts.append(f"{stage.error_rate:.2%} errors ({stage.attempts} requests)")
    return ", ".join(parts)


def _p95_verdict(stage: Stage, target_ms: float) -> tuple[tuple[bool, str], bool]:
    """((within target, message), decided). Without a p95, p99 and p90 bound it if they can."""
    limit = show_ms(target_ms)
    if stage.p95_ms is not None:
        ok = stage.p95_ms <= target_ms
        verb = "within" if ok else "over"
        return (ok, f"p95 {show_ms(stage.p95_ms)} is {verb} the {limit} target"), True
    if stage.p99_ms is not None and stage.p99_ms <= target_ms:
        return (True, f"p95 ≤ p99 {show_ms(stage.p99_ms)}, within the {limit} target"), True
    if stage.p90_ms is not None and stage.p90_ms > target_ms:
        return (False, f"p95 ≥ p90 {show_ms(stage.p90_ms)}, over the {limit} target"), True
    return (False, "no p95 in the results, and p90/p99 do not bound it"), False


__all__ = [
    "LatencyHistogram",
    "LoadDrill",
    "Stage",
    "detect_format",
    "parse_jmeter_jtl",
    "parse_k6_summary",
    "parse_locust_csv",
    "parse_wrk_text",
    "read_results",
]
