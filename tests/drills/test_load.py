"""The load drill against real nginx (HTTP and HTTPS), Prometheus, and results files of 4 tools."""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from prr.drills.base import DrillContext, DrillRefused, execute, load_builtin_drills
from prr.drills.evidence import fresh_results, save_outcome
from prr.drills.load import (
    EXECUTED,
    EXPECTED,
    MEMORY,
    PEAK,
    RESPONSE_TIMES,
    LatencyHistogram,
    LoadClient,
    LoadDrill,
    Origin,
    ResultsError,
    Stage,
    build_request,
    detect_format,
    find_wrk,
    parse_jmeter_jtl,
    parse_k6_summary,
    parse_locust_csv,
    parse_wrk_text,
    read_results,
)
from prr.model.evidence import Status
from prr.model.target import Environment, Target
from prr.store.db import Store
from tests.live.servers import find_binary, free_port, running, wait_for_port

if TYPE_CHECKING:
    from tests.live.monitoring import PromServer

pytest_plugins = ["tests.live.monitoring"]
pytestmark = pytest.mark.slow

AGREEMENT = 0.05
"""The acceptance: the drill's numbers agree with the engine's own output within 5 %."""


# ------------------------------------------------------------------------- servers


@dataclass
class Nginx:
    folder: Path
    http: int
    https: int
    ca: Path

    def url(self, path: str = "/api/orders", *, tls: bool = False) -> str:
        if tls:
            return f"https://127.0.0.1:{self.https}{path}"
        return f"http://127.0.0.1:{self.http}{path}"

    def logged(self, name: str = "http") -> int:
        path = self.folder / f"{name}.log"
        return len(path.read_text().splitlines()) if path.exists() else 0


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed EC certificate for 127.0.0.1 (it is its own CA)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    folder = tmp_path_factory.mktemp("load-nginx")
    (folder / "tmp").mkdir()
    cert, key = _certificate(folder)
    http, https = free_port(), free_port()
    while https == http:
        https = free_port()
    locations = """
        location / { default_type application/json; return 200 '{"orders": []}'; }
        location = /broken { return 500 'broken'; }
"""
    user = "user root root;\n" if os.geteuid() == 0 else ""
    tmp = folder / "tmp"
    config = folder / "nginx.conf"
    config.write_text(f"""{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{http};
        access_log {folder}/http.log;
{locations}
    }}
    server {{
        listen 127.0.0.1:{https} ssl;
        access_log {folder}/https.log;
        ssl_certificate {cert};
        ssl_certificate_key {key};
{locations}
    }}
}}
""")
    argv = [find_binary("nginx"), "-p", str(folder), "-c", str(config), "-g", "daemon off;"]
    with running(argv, http, log=folder / "nginx.out"):
        wait_for_port(https, timeout=10)
        yield Nginx(folder, http, https, cert)


class _Slow(BaseHTTPRequestHandler):
    """Answers every GET after 60 ms."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        time.sleep(0.06)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def slow_service() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _context(url: str, *, env: dict[str, Any] | None = None, **options: Any) -> DrillContext:
    spec = Environment.model_validate({"endpoints": [{"name": "api", "url": url}], **(env or {})})
    target = Target(service="shop", environments={"staging": spec})
    return DrillContext("staging", spec, target, dict(options), timeout_s=120.0)


def _run(ctx: DrillContext) -> Any:
    drill = LoadDrill()
    drill.plan(ctx)
    return asyncio.run(execute(drill, ctx))


def _by_item(outcome: Any) -> dict[str, Any]:
    return {r.item_id: r for r in outcome.results}


def _close(a: float | None, b: float | None, *, absolute: float = 0.0) -> bool:
    assert a is not None and b is not None
    return abs(a - b) <= max(AGREEMENT * max(abs(a), abs(b)), absolute)


# ------------------------------------------------------------------------- engines


def test_builtin_engine_holds_the_rate_and_matches_nginx_count(
    nginx: Nginx, tmp_path: Path
) -> None:
    before = nginx.logged()
    outcome = _run(_context(nginx.url(), rps=100, duration=3))
    assert outcome.passed, outcome.summary
    one, peak = outcome.measurements["stages"]
    for stage, rate in ((one, 100), (peak, 200)):
        assert stage["responses"] == stage["scheduled"] == rate * 3 and stage["error_rate"] == 0
        assert abs(stage["achieved_rps"] - rate) <= AGREEMENT * rate
        assert 0 < stage["p50_ms"] <= stage["p95_ms"] <= stage["p99_ms"] <= stage["max_ms"]
    # The server saw exactly what the drill reports (and the preflight GET).
    assert nginx.logged() - before == 1 + 300 + 600
    items = _by_item(outcome)
    assert set(items) == {EXECUTED, EXPECTED, PEAK, RESPONSE_TIMES}  # no memory evidence
    assert all(r.status is Status.PASS for r in items.values())
    assert items[EXPECTED].fields == {"target_rps": 100.0}
    assert items[PEAK].fields == {"peak_rps": 200.0}
    assert items[RESPONSE_TIMES].fields["p95"].endswith("ms")
    assert "within the 500ms target" in items[RESPONSE_TIMES].message
    store = Store(f"sqlite:///{tmp_path / 'prr.db'}")
    save_outcome(store, "shop", outcome)
    fresh, _ = fresh_results(store, "shop")
    assert {r.item_id for r in fresh} == set(items)
    store.close()


@pytest.mark.skipif(find_wrk() is None, reason="wrk is not installed (scripts/test-deps.sh)")
def test_wrk_engine_agrees_with_wrks_own_summary(nginx: Nginx) -> None:
    before = nginx.logged()
    outcome = _run(_context(nginx.url(), rps=100, duration=3, engine="wrk"))
    assert outcome.passed, outcome.summary
    total = 0
    evidence = _by_item(outcome)[EXECUTED].evidence
    for proof, rate in zip(evidence, (100, 200), strict=True):
        stage = proof.value
        own = parse_wrk_text(stage["engine_summary"])  # wrk's own text summary
        assert stage["engine_summary"].startswith("Running 3s test @ http://127.0.0.1")
        assert own.responses == stage["responses"]
        assert _close(own.achieved_rps, stage["achieved_rps"])
        for key in ("p50_ms", "p90_ms", "p99_ms", "max_ms"):
            assert _close(getattr(own, key), stage[key], absolute=0.005), key
        assert abs(stage["achieved_rps"] - rate) <= AGREEMENT * rate
        total += stage["responses"]
    assert "engine_summary" not in outcome.measurements["stages"][0]
    # wrk does not count the requests still in flight when it stops.
    assert total + 1 <= nginx.logged() - before <= total + 1 + 10


def test_https_with_the_ca_bundle_and_refused_without(
    nginx: Nginx, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PRR_CA_BUNDLE", raising=False)
    refused = _run(_context(nginx.url(tls=True), rps=20, duration=1))
    assert not refused.passed and "certificate did not verify" in refused.summary
    assert _by_item(refused)[EXECUTED].status is Status.FAIL
    monkeypatch.setenv("PRR_CA_BUNDLE", str(nginx.ca))
    before = nginx.logged("https")
    outcome = _run(_context(nginx.url(tls=True), rps=50, duration=1))
    assert outcome.passed, outcome.summary
    assert nginx.logged("https") - before == 1 + 50 + 100


def test_failing_service_fails_with_its_error_rate(nginx: Nginx) -> None:
    outcome = _run(_context(nginx.url("/broken"), rps=50, duration=1))
    assert not outcome.passed
    items = _by_item(outcome)
    assert items[EXECUTED].status is Status.PASS  # it ran; the service failed
    assert items[EXPECTED].status is Status.FAIL and items[PEAK].status is Status.FAIL
    assert "100.00% of requests failed (at most 1.00%); status 50" in items[EXPECTED].message
    assert outcome.measurements["stages"][0]["statuses"] == {"500": 50}


def test_slow_service_fails_the_p95_target(slow_service: int) -> None:
    url = f"http://127.0.0.1:{slow_service}/"
    outcome = _run(_context(url, rps=20, duration=1, p95_target="20ms"))
    items = _by_item(outcome)
    assert items[RESPONSE_TIMES].status is Status.FAIL
    p95 = outcome.measurements["stages"][0]["p95_ms"]
    assert 60 <= p95 < 500 and items[RESPONSE_TIMES].fields["p95"].endswith("ms")
    assert "over the 20ms target" in items[RESPONSE_TIMES].message
    assert items[EXPECTED].status is Status.FAIL and items[EXECUTED].status is Status.PASS


def test_memory_from_prometheus_decides_the_leak_item(nginx: Nginx, prometheus: PromServer) -> None:
    env = {"prometheus": {"url": prometheus.url, "selector": 'job="shop-api"'}}
    ctx = _context(nginx.url(), env=env, rps=50, duration=1)
    assert any("Prometheus" in t for t in LoadDrill().plan(ctx).touches)
    outcome = _run(ctx)
    memory = outcome.measurements["memory"]
    assert memory["metric"] == "process_resident_memory_bytes"
    assert [s["bytes"] for s in memory["samples"]] == [52428800.0] * 3
    assert [s["when"] for s in memory["samples"]] == ["before", "after 1x", "after peak"]
    item = _by_item(outcome)[MEMORY]
    assert item.status is Status.PASS and "grew +0.0%" in item.message
    assert "not the multi-hour soak" in item.message
    assert outcome.passed
    # A selector that matches nothing: no memory evidence, the item is not decided.
    env = {"prometheus": {"url": prometheus.url, "selector": 'job="nothing-here"'}}
    outcome = _run(_context(nginx.url(), env=env, rps=20, duration=1))
    assert MEMORY not in _by_item(outcome)
    assert any("memory: no samples" in line for line in outcome.log)


def test_cancelled_mid_stage_stops_sending_promptly(nginx: Nginx) -> None:
    ctx = _context(nginx.url(), rps=100, duration=10)

    async def scenario() -> float:
        task = asyncio.create_task(LoadDrill().run(ctx))
        await asyncio.sleep(1.0)
        cancelled = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - cancelled

    before = nginx.logged()
    took = asyncio.run(scenario())
    sent = nginx.logged() - before
    time.sleep(0.5)
    assert took < 1.0 and 50 <= sent <= 130
    assert nginx.logged() - before == sent  # nothing after the cancellation
    assert any("interrupted during stage 1x: stopped sending" in line for line in ctx.log)


@pytest.mark.skipif(find_wrk() is None, reason="wrk is not installed (scripts/test-deps.sh)")
def test_cancelled_wrk_is_killed_and_its_script_removed(nginx: Nginx) -> None:
    ctx = _context(nginx.url(), rps=100, duration=10, engine="wrk")
    scratch = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("prr-load-*"))

    async def scenario() -> float:
        task = asyncio.create_task(LoadDrill().run(ctx))
        await asyncio.sleep(1.0)
        cancelled = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - cancelled

    before = nginx.logged()
    took = asyncio.run(scenario())
    sent = nginx.logged() - before
    time.sleep(0.5)
    assert took < 2.0 and sent > 20
    assert nginx.logged() - before == sent  # wrk is gone
    assert set(Path(os.environ.get("TMPDIR", "/tmp")).glob("prr-load-*")) == scratch


def test_time_limit_cancels_and_reports(nginx: Nginx) -> None:
    ctx = _context(nginx.url(), rps=50, duration=5)
    LoadDrill().plan(ctx)
    ctx.timeout_s = 1.0  # the runner's limit runs out mid-stage
    outcome = asyncio.run(execute(LoadDrill(), ctx))
    assert not outcome.passed and "did not finish within 1s" in outcome.summary
    assert any("interrupted during stage 1x" in line for line in outcome.log)


class _Recording(BaseHTTPRequestHandler):
    """Records the API key each request carries."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        server: Any = self.server
        server.keys.append(self.headers.get("X-Api-Key"))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.mark.parametrize("engine", ["builtin", "wrk"])
def test_auth_header_is_sent_and_never_recorded(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine == "wrk" and find_wrk() is None:
        pytest.skip("wrk is not installed (scripts/test-deps.sh)")
    secret = "k3y-4f9c-never-stored"
    monkeypatch.setenv("SHOP_API_KEY_LINE", f"X-Api-Key: {secret}")
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Recording)
    server.daemon_threads = True
    server.keys = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = {
            "url": f"http://127.0.0.1:{server.server_address[1]}/",
            "auth_header": "env:SHOP_API_KEY_LINE",
        }
        spec = Environment.model_validate({"endpoints": [endpoint]})
        target = Target(service="shop", environments={"staging": spec})
        options = {"rps": 20, "duration": 1, "auth": True, "engine": engine}
        ctx = DrillContext("staging", spec, target, options, timeout_s=60.0)
        outcome = asyncio.run(execute(LoadDrill(), ctx))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert outcome.passed, outcome.summary
    assert len(server.keys) >= 55 and set(server.keys) == {secret}
    recorded = json.dumps(
        [outcome.measurements, outcome.summary, outcome.log]
        + [[r.message, [e.to_dict() for e in r.evidence]] for r in outcome.results]
    )
    assert secret not in recorded


# ------------------------------------------------------------------ the HTTP client


async def _canned(answers: dict[bytes, bytes]) -> asyncio.Server:
    """A real socket server answering each request path with canned bytes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1]
                writer.write(answers[path])
                await writer.drain()
                if path == b"/drop" or b"close" in answers[path].split(b"\r\n\r\n")[0].lower():
                    break  # /drop: closes a connection it let the client keep
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_client_reads_chunked_interim_close_delimited_http10_and_retries_stale() -> None:
    answers = {
        b"/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
        b"/interim": b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"/until-close": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until close",
        b"/http10": b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown",
        b"/garbage": b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
        b"/drop": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    }

    async def scenario() -> list[Any]:
        server = await _canned(answers)
        port = server.sockets[0].getsockname()[1]
        seen: list[Any] = []
        try:
            for path in answers:
                url = f"http://127.0.0.1:{port}{path.decode()}"
                origin = Origin("127.0.0.1", port, None, None, build_request(url), url)
                client = LoadClient(origin, 2.0)
                try:
                    for _ in range(2):  # the second reuses the connection when kept
                        try:
                            seen.append((path, await client.fetch(), client.connections_opened))
                        except Exception as exc:
                            seen.append((path, type(exc).__name__, str(exc)))
                finally:
                    await client.aclose()
        finally:
            server.close()
            await server.wait_closed()
        return seen

    seen = asyncio.run(scenario())
    assert seen == [
        (b"/chunked", 200, 1),
        (b"/chunked", 200, 1),
        (b"/interim", 204, 1),
        (b"/interim", 204, 1),
        (b"/until-close", 200, 1),
        (b"/until-close", 200, 2),
        (b"/http10", 503, 1),
        (b"/http10", 503, 2),
        (b"/garbage", "_Phase", "read"),
        (b"/garbage", "_Phase", "read"),
        (b"/drop", 200, 1),
        (b"/drop", 200, 2),  # the dropped kept-alive connection: retried once, fresh
    ]


def test_request_bytes_carry_host_path_and_auth() -> None:
    assert build_request("https://api.example.com/v1/orders?page=2", ("X-Api-Key", "k")) == (
        b"GET /v1/orders?page=2 HTTP/1.1\r\nHost: api.example.com\r\n"
        b"User-Agent: prr-drill-load\r\nAccept: */*\r\nX-Api-Key: k\r\n\r\n"
    )
    assert b"Host: [::1]:8080\r\n" in build_request("http://[::1]:8080")


def test_histogram_percentiles_match_nearest_rank() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(0, 1.2) * 10 for _ in range(20000)]
    histogram = LatencyHistogram()
    for value in values:
        histogram.add(value)
    ordered = sorted(values)
    for p in (50, 90, 95, 99, 99.9, 100):
        exact = ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]
        got = histogram.percentile(p)
        assert got is not None and abs(got - exact) <= 0.001 * exact
    assert LatencyHistogram().percentile(50) is None


# ------------------------------------------------------------------- results files

K6_EXPORT = {
    "root_group": {
        "name": "",
        "path": "",
        "id": "d41d8cd98f00b204e9800998ecf8427e",
        "groups": [],
        "checks": [
            {"name": "status is 200", "path": "::status is 200", "passes": 5988, "fails": 12}
        ],
    },
    "options": {
        "summaryTrendStats": ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"],
        "summaryTimeUnit": "",
        "noColor": False,
    },
    "state": {"isStdOutTTY": False, "isStdErrTTY": False, "testRunDurationMs": 60012.5},
    "metrics": {
        "http_reqs": {"count": 6000, "rate": 99.979},
        "http_req_duration": {
            "avg": 41.2,
            "min": 8.1,
            "med": 35.6,
            "max": 612.3,
            "p(90)": 71.9,
            "p(95)": 98.4,
            "p(99)": 240.7,
            "thresholds": {"p(95)<500": False},
        },
        "http_req_failed": {"passes": 12, "fails": 5988, "value": 0.002},
        "iterations": {"count": 6000, "rate": 99.979},
        "vus": {"value": 10, "min": 10, "max": 10},
        "data_received": {"count": 2400000, "rate": 39991.6},
    },
}

K6_HANDLE_SUMMARY = {
    "root_group": {"name": "", "path": "", "id": "d41d8cd98f00b204e9800998ecf8427e"},
    "options": {"summaryTrendStats": ["avg", "min", "med", "max", "p(90)", "p(95)"]},
    "state": {"isStdOutTTY": True, "isStdErrTTY": True, "testRunDurationMs": 30004.9},
    "metrics": {
        "http_req_duration": {
            "type": "trend",
            "contains": "time",
            "values": {
                "avg": 180.5,
                "min": 20.2,
                "med": 150.1,
                "max": 2100.4,
                "p(90)": 410.2,
                "p(95)": 620.8,
            },
            "thresholds": {"p(95)<500": {"ok": False}},
        },
        "http_req_duration{expected_response:true}": {
            "type": "trend",
            "contains": "time",
            "values": {"avg": 170.0, "med": 149.0, "p(95)": 600.1},
        },
        "http_reqs": {
            "type": "counter",
            "contains": "default",
            "values": {"count": 10800, "rate": 359.94},
        },
        "http_req_failed": {
            "type": "rate",
            "contains": "default",
            "values": {"rate": 0.0237, "passes": 256, "fails": 10544},
        },
    },
}

LOCUST_STATS = """\
Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,/api/orders,4500,3,42,51.3,6,890,1520.0,75.0,0.05,42,50,56,61,80,110,170,230,640,890,890
POST,/api/orders,1500,0,65,74.9,11,720,310.0,25.0,0.0,65,74,81,86,110,140,210,280,700,720,720
,Aggregated,6000,3,47,57.2,6,890,1217.5,100.0,0.05,47,56,63,68,88,120,180,240,660,890,890
"""

WRK_TEXT = """\
Running 10s test @ http://staging.example.com/api/orders
  2 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   635.91us    0.89ms  12.92ms   93.69%
    Req/Sec     8.31k     1.05k   10.65k    72.50%
  Latency Distribution
     50%  494.00us
     75%  584.00us
     90%  761.00us
     99%    3.91ms
  165406 requests in 10.01s, 47.49MB read
  Socket errors: connect 0, read 0, write 0, timeout 5
  Non-2xx or 3xx responses: 12
Requests/sec:  16525.68
Transfer/sec:      4.74MB
"""

WRK2_TEXT = """\
Running 30s test @ http://127.0.0.1:8080/index.html
  2 threads and 100 connections
  Thread calibration: mean lat.: 1.235ms, rate sampling interval: 10ms
  Thread calibration: mean lat.: 1.246ms, rate sampling interval: 10ms
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.24ms  544.62us   5.86ms   68.39%
    Req/Sec     1.05k   102.22     1.44k    76.59%
  Latency Distribution (HdrHistogram - Recorded Latency)
 50.000%    1.19ms
 75.000%    1.56ms
 90.000%    1.93ms
 99.000%    2.91ms
 99.900%    4.22ms
 99.990%    5.39ms
 99.999%    5.87ms
100.000%    5.87ms

  Detailed Percentile spectrum:
       Value   Percentile   TotalCount 1/(1-Percentile)

       0.183     0.000000            1         1.00
       1.190     0.500000        19945         2.00
       5.867     1.000000        39890          inf
#[Mean    =        1.242, StdDeviation   =        0.545]
#[Max     =        5.864, Total count    =        39890]
#[Buckets =           27, SubBuckets     =         2048]
----------------------------------------------------------
  59938 requests in 30.00s, 19.49MB read
Requests/sec:   1997.83
Transfer/sec:    665.24KB
"""


def _jtl(rows: int = 200) -> tuple[str, list[int]]:
    """A JMeter JTL CSV: 100 samples a second for 2 s, two of them failed."""
    header = (
        "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,"
        "failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect"
    )
    lines = [header]
    elapsed = []
    for i in range(rows):
        ms = 20 + (i * 37) % 180
        elapsed.append(ms)
        code, message, ok, failure = "200", "OK", "true", ""
        if i == 50:
            code, message, ok = "500", "Internal Server Error", "false"
            failure = '"Test failed: code expected to be 200, was 500"'
        if i == 120:
            code = "Non HTTP response code: java.net.SocketTimeoutException"
            message, ok = "Non HTTP response message: Read timed out", "false"
            failure = '"java.net.SocketTimeoutException: Read timed out, after 5000 ms"'
        lines.append(
            f"{1732000000000 + i * 10},{ms},GET orders,{code},{message},Users 1-{i % 10 + 1},"
            f"text,{ok},{failure},512,130,10,10,https://staging.example.com/api/orders,"
            f"{ms - 2},0,3"
        )
    return "\n".join(lines) + "\n", elapsed


def test_k6_summary_export_and_handle_summary() -> None:
    stage = parse_k6_summary(json.dumps(K6_EXPORT))
    assert (stage.engine, stage.responses, stage.ok, stage.errors) == (
        "k6",
        6000,
        5988,
        {"status": 12},
    )
    assert stage.duration_s == pytest.approx(60.0125)
    assert (stage.p50_ms, stage.p90_ms, stage.p95_ms, stage.p99_ms, stage.max_ms) == (
        35.6,
        71.9,
        98.4,
        240.7,
        612.3,
    )
    assert stage.error_rate == pytest.approx(0.002)
    newer = parse_k6_summary(json.dumps(K6_HANDLE_SUMMARY))
    assert (newer.responses, newer.errors["status"], newer.p95_ms, newer.p99_ms) == (
        10800,
        256,
        620.8,
        None,
    )
    assert newer.achieved_rps == pytest.approx(10800 / 30.0049)
    with pytest.raises(ResultsError, match="not a k6 summary"):
        parse_k6_summary('{"type":"Point","metric":"http_reqs","data":{"value":1}}')


def test_locust_stats_csv() -> None:
    stage = parse_locust_csv(LOCUST_STATS)
    assert (stage.responses, stage.ok) == (6000, 5997)
    assert stage.achieved_rps == pytest.approx(100.0)
    assert (stage.p50_ms, stage.p90_ms, stage.p95_ms, stage.p99_ms, stage.max_ms) == (
        47,
        88,
        120,
        240,
        890,
    )
    with pytest.raises(ResultsError, match="no Aggregated row"):
        parse_locust_csv(LOCUST_STATS.rsplit("\n", 2)[0] + "\n")


def test_jmeter_jtl_csv() -> None:
    text, elapsed = _jtl()
    stage = parse_jmeter_jtl(text)
    assert (stage.responses, stage.ok, stage.errors) == (200, 198, {"status": 2})
    ordered = sorted(elapsed)
    for p, key in ((50, "p50_ms"), (95, "p95_ms"), (99, "p99_ms")):
        exact = ordered[math.ceil(p / 100 * len(ordered)) - 1]
        assert getattr(stage, key) == pytest.approx(exact, rel=0.001)
    first_start, last_end = 1732000000000, 1732000000000 + 199 * 10 + elapsed[-1]
    assert stage.duration_s == pytest.approx((last_end - first_start) / 1000)
    assert stage.statuses == {"200": 198, "500": 1, "error": 1}
    with pytest.raises(ResultsError, match="epoch milliseconds"):
        parse_jmeter_jtl(text.replace("1732000000000,", "2024/11/19 08:00:00,", 1))


def test_wrk_and_wrk2_text() -> None:
    stage = parse_wrk_text(WRK_TEXT)
    assert (stage.responses, stage.ok) == (165406, 165394)
    assert stage.errors == {"status": 12, "connect": 0, "read": 0, "timeout": 5}
    assert stage.achieved_rps == pytest.approx(16525.68)
    assert (stage.p50_ms, stage.p90_ms, stage.p95_ms, stage.p99_ms, stage.max_ms) == (
        0.494,
        0.761,
        None,
        3.91,
        12.92,
    )
    wrk2 = parse_wrk_text(WRK2_TEXT)
    assert (wrk2.responses, wrk2.p50_ms, wrk2.p99_ms, wrk2.max_ms) == (59938, 1.19, 2.91, 5.86)
    assert wrk2.achieved_rps == pytest.approx(1997.83)
    assert detect_format(WRK2_TEXT) == "wrk"


def test_format_detection_and_refusals(tmp_path: Path) -> None:
    assert detect_format(json.dumps(K6_EXPORT)) == "k6"
    assert detect_format(LOCUST_STATS) == "locust"
    assert detect_format(_jtl()[0]) == "jmeter"
    assert detect_format(WRK_TEXT) == "wrk"
    with pytest.raises(ResultsError, match="not a k6 JSON summary, Locust"):
        detect_format("hello\n")
    empty = tmp_path / "empty.csv"
    empty.write_text(LOCUST_STATS.replace(",Aggregated,6000,3", ",Aggregated,0,0"))
    with pytest.raises(ResultsError, match="no requests"):
        read_results(empty)


def _results_context(tmp_path: Path, **options: Any) -> DrillContext:
    spec = Environment.model_validate({})
    target = Target(service="shop", environments={"staging": spec}, root=str(tmp_path))
    return DrillContext("staging", spec, target, dict(options), timeout_s=60.0)


def test_results_files_decide_the_items(tmp_path: Path) -> None:
    (tmp_path / "k6.json").write_text(json.dumps(K6_EXPORT))
    (tmp_path / "peak.csv").write_text(LOCUST_STATS.replace(",100.0,0.05,47", ",200.0,0.05,47"))
    ctx = _results_context(tmp_path, rps=100, results_file="k6.json", peak_results_file="peak.csv")
    plan = LoadDrill().plan(ctx)
    assert plan.max_requests == 0 and plan.touches[0].endswith("k6.json")
    outcome = asyncio.run(execute(LoadDrill(), ctx))
    items = _by_item(outcome)
    assert outcome.passed, outcome.summary
    assert items[EXPECTED].fields == {"target_rps": 100.0}
    assert items[PEAK].fields == {"peak_rps": 200.0}
    assert items[RESPONSE_TIMES].fields == {"p95": "98.4ms"}
    assert items[EXECUTED].evidence[0].path == str(tmp_path / "k6.json")
    assert MEMORY not in items
    # A slower run than expected, without a peak run: fails with the measured reasons.
    (tmp_path / "slow.json").write_text(json.dumps(K6_HANDLE_SUMMARY))
    outcome = asyncio.run(
        execute(LoadDrill(), _results_context(tmp_path, rps=400, results_file="slow.json"))
    )
    items = _by_item(outcome)
    assert not outcome.passed and PEAK not in items
    assert "achieved 359.9 rps, under 95% of 400" in items[EXPECTED].message
    assert "2.37% of requests failed" in items[EXPECTED].message
    assert "p95 620.8ms is over the 500ms target" in items[RESPONSE_TIMES].message
    assert "no peak results" in outcome.summary


def test_wrk_text_without_p95_is_bounded_by_p99(tmp_path: Path) -> None:
    (tmp_path / "wrk.txt").write_text(WRK_TEXT)
    outcome = asyncio.run(
        execute(LoadDrill(), _results_context(tmp_path, rps=16000, results_file="wrk.txt"))
    )
    times = _by_item(outcome)[RESPONSE_TIMES]
    assert times.status is Status.PASS and "p95 ≤ p99 3.91ms" in times.message
    assert times.fields == {}  # no measured p95 to record


# ------------------------------------------------------------------------ refusals


def test_refusals(nginx: Nginx, tmp_path: Path) -> None:
    drill = LoadDrill()
    for options, words in (
        ({}, "rps is required"),
        ({"rps": 100, "duration": 301}, "duration must be between"),
        ({"rps": 6000}, "above 10000 rps"),
        ({"rps": 10, "engine": "hey"}, "engine must be one of"),
        ({"rps": 10, "p95_target": "fast"}, "p95_target"),
        ({"rps": 10, "results_file": "missing.json"}, "is not a file"),
        ({"rps": 10, "duration": 300}, "raise --timeout"),
        ({"rps": 10, "auth": True}, "no auth_header"),
        ({"rps": 10, "path": "http://169.254.169.254/latest"}, "leaves the endpoint"),
        ({"rps": 10, "peak_results_file": "peak.csv"}, "needs results_file"),
    ):
        with pytest.raises(DrillRefused, match=words):
            drill.plan(_context(nginx.url(), **options))
    plan = drill.plan(_context(nginx.url(), rps=100, duration=20))
    assert plan.max_requests == 1 + 2000 + 4000 and plan.max_duration_s == 80
    assert plan.touches == (f"GET {nginx.url()}",)
    assert "load" in load_builtin_drills()
    (tmp_path / "notes.txt").write_text("just notes\n")
    ctx = _results_context(tmp_path, rps=10, results_file="notes.txt")
    with pytest.raises(DrillRefused, match=r"notes\.txt: not a k6 JSON summary"):
        drill.plan(ctx)


REPO_YAML = """service: shop
environments:
  staging:
    endpoints: [{{name: api, url: "{url}"}}]
  production:
    production: true
    endpoints: [{{name: api, url: "{url}"}}]
"""


def test_cli_refuses_without_rps_and_in_production(cli: Any, nginx: Nginx, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "prr.yaml").write_text(REPO_YAML.format(url=nginx.url()))
    database = f"sqlite:///{tmp_path / 'prr.db'}"
    before = nginx.logged()
    missing = cli("drill", "run", "load", str(repo), "--yes", "--database", database)
    assert missing.exit_code == 2 and "rps is required" in missing.stderr
    production = cli(
        "drill", "run", "load", str(repo), "--env", "production", "--yes",
        "-o", "rps=10", "--database", database,
    )  # fmt: skip
    assert production.exit_code == 2 and "production: true" in production.stderr
    assert nginx.logged() == before
    run = cli(
        "drill", "run", "load", str(repo), "--yes", "-o", "rps=20", "-o", "duration=1",
        "--database", database,
    )  # fmt: skip
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "PASSED" in run.stdout and "recorded as drill" in run.stdout
    assert nginx.logged() - before == 1 + 20 + 40


def test_stage_error_rate_counts_unanswered_requests() -> None:
    stage = Stage("1x", "builtin", 10, 1.0, 8, 7, {"status": 1, "timeout": 2}, scheduled=10)
    assert stage.error_rate == pytest.approx(0.3) and stage.attempts == 10
