"""The rate-limit drill against real nginx: limited, unlimited, no Retry-After, limited health."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from prr.drills.base import DrillContext, DrillRefused, execute, load_builtin_drills
from prr.drills.evidence import fresh_results, save_outcome
from prr.drills.rate_limit import RATE_LIMITING, RateLimitDrill, limit_per_minute
from prr.model.evidence import Status
from prr.model.target import Environment, Target
from prr.store.db import Store
from tests.live.servers import find_binary, free_port, running, wait_for_port

pytestmark = pytest.mark.slow

# Each scenario has its own zone: a zone remembers a client for a minute (rate=1r/m), so
# scenarios must not share one. Allowed: the first request plus a burst of 9.
SCENARIOS = ("limited", "again", "nohint", "healthlimited", "open", "cli")


def _config(folder: Path, ports: dict[str, int]) -> Path:
    (folder / "html").mkdir(parents=True, exist_ok=True)
    (folder / "tmp").mkdir(exist_ok=True)
    (folder / "html" / "index.html").write_text('{"orders": []}\n')
    zones = "".join(
        f"    limit_req_zone $binary_remote_addr zone={name}:1m rate=1r/m;\n" for name in SCENARIOS
    )

    def limited(name: str, *, retry_after: bool = True, health_limited: bool = False) -> str:
        hint = "add_header Retry-After 60 always;" if retry_after else ""
        health = (
            f"limit_req zone={name} burst=9 nodelay; limit_req_status 429;"
            if health_limited
            else ""
        )
        return f"""
    server {{
        listen 127.0.0.1:{ports[name]};
        access_log {folder}/{name}.log;
        location / {{
            limit_req zone={name} burst=9 nodelay;
            limit_req_status 429;
            add_header X-RateLimit-Limit 10 always;
            add_header RateLimit-Policy "10;w=60" always;
            error_page 429 @limited;
            try_files /index.html =404;
        }}
        location @limited {{
            {hint}
            add_header X-RateLimit-Limit 10 always;
            add_header X-RateLimit-Remaining 0 always;
            return 429 'slow down';
        }}
        location = /healthz {{
            {health}
            error_page 429 @limited;
            try_files /index.html =404;
        }}
    }}"""

    servers = [
        limited("limited"),
        limited("again"),
        limited("cli"),
        limited("nohint", retry_after=False),
        limited("healthlimited", health_limited=True),
        f"""
    server {{
        listen 127.0.0.1:{ports["open"]};
        access_log {folder}/open.log;
        location / {{ try_files /index.html =404; }}
    }}""",
    ]
    user = "user root root;\n" if os.geteuid() == 0 else ""
    tmp = folder / "tmp"
    config = folder / "nginx.conf"
    config.write_text(f"""{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    root {folder}/html;
    default_type application/json;
{zones}{"".join(servers)}
}}
""")
    return config


@dataclass
class Nginx:
    folder: Path
    ports: dict[str, int]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}/api/orders"

    def logged(self, name: str) -> int:
        path = self.folder / f"{name}.log"
        return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    folder = tmp_path_factory.mktemp("ratelimit-nginx")
    ports: dict[str, int] = {}
    for name in SCENARIOS:
        port = free_port()
        while port in ports.values():
            port = free_port()
        ports[name] = port
    config = _config(folder, ports)
    argv = [find_binary("nginx"), "-p", str(folder), "-c", str(config), "-g", "daemon off;"]
    with running(argv, ports["limited"], log=folder / "nginx.out"):
        for port in ports.values():
            wait_for_port(port, timeout=10)
        yield Nginx(folder, ports)


def _context(url: str, *, limit_s: float = 60.0, **options: Any) -> DrillContext:
    spec = Environment.model_validate(
        {"endpoints": [{"name": "api", "url": url, "health_path": "/healthz"}]}
    )
    target = Target(service="shop", environments={"staging": spec})
    return DrillContext("staging", spec, target, dict(options), timeout_s=limit_s)


def _run(ctx: DrillContext) -> Any:
    drill = RateLimitDrill()
    drill.plan(ctx)
    return asyncio.run(execute(drill, ctx))


def test_limited_endpoint_passes_with_retry_after_and_exempt_health(
    nginx: Nginx, tmp_path: Path
) -> None:
    ctx = _context(nginx.url("limited"), expect_limit_within=20)
    outcome = _run(ctx)
    m = outcome.measurements
    assert outcome.passed, outcome.summary
    # 1 + burst 9 allowed; with 10 in flight the first 429 comes right after them.
    assert m["statuses"]["200"] == 10 and 11 <= m["first_429_at"] <= 20
    assert 8 <= m["allowed_before_limit"] <= 10  # answers may overtake each other
    assert m["retry_after"] == "60"
    assert m["rate_limit_headers"]["x-ratelimit-limit"] == "10"
    assert m["rate_limit_headers"]["x-ratelimit-remaining"] == "0"
    assert m["health_exempt"] is True and m["health_statuses"] == {"200": 3}
    # Stopped once 5 answers in a row were 429 (at most 10 more were in flight).
    assert m["stopped_early"] and m["requests_sent"] < 40
    assert nginx.logged("limited") == m["requests_sent"] + 3
    (result,) = outcome.results
    assert result.item_id == RATE_LIMITING and result.status is Status.PASS
    assert result.fields == {"default_limit_per_minute": 10}
    assert "Retry-After: 60" in result.message and "not limited" in result.message
    store = Store(f"sqlite:///{tmp_path / 'prr.db'}")
    save_outcome(store, "shop", outcome)
    fresh, stale = fresh_results(store, "shop")
    assert not stale and fresh[0].status is Status.PASS and "verified by drill" in fresh[0].message
    store.close()


def test_limit_later_than_expected_fails(nginx: Nginx) -> None:
    outcome = _run(_context(nginx.url("again"), expect_limit_within=5, concurrency=1))
    assert not outcome.passed
    assert outcome.measurements["first_429_at"] == 11
    assert "the first 429 came at request 11, not within 5" in outcome.summary


def test_unlimited_endpoint_fails_with_the_measured_reason(nginx: Nginx) -> None:
    outcome = _run(_context(nginx.url("open"), requests=30, concurrency=5))
    assert not outcome.passed
    (result,) = outcome.results
    assert result.status is Status.FAIL
    assert "no 429 in 30 requests at concurrency 5: 30 × 200" in result.message
    assert outcome.measurements["first_429_at"] is None
    assert outcome.measurements["stopped_early"] is False
    assert nginx.logged("open") == 30 + 3


def test_429_without_retry_after_fails(nginx: Nginx) -> None:
    outcome = _run(_context(nginx.url("nohint"), requests=20))
    assert not outcome.passed
    assert outcome.measurements["first_429_at"] is not None
    assert outcome.measurements["retry_after"] is None
    assert "the 429 has no Retry-After header" in outcome.summary


def test_rate_limited_health_path_is_a_finding(nginx: Nginx) -> None:
    outcome = _run(_context(nginx.url("healthlimited"), requests=30, health_checks=2))
    m = outcome.measurements
    assert not outcome.passed
    assert m["first_429_at"] is not None and m["retry_after"] == "60"
    assert m["health_exempt"] is False and m["health_statuses"] == {"429": 2}
    assert "health checks are rate limited" in outcome.summary


def test_nothing_listening_cannot_measure(nginx: Nginx) -> None:
    port = free_port()
    outcome = _run(_context(f"http://127.0.0.1:{port}/", requests=5, health_checks=1))
    assert not outcome.passed
    assert "could not measure: none of 5 requests got an answer" in outcome.summary


def test_plan_bounds_and_refusals(nginx: Nginx) -> None:
    drill = RateLimitDrill()
    plan = drill.plan(_context(nginx.url("limited"), method="post", path="/login"))
    assert plan.max_requests == 63 and plan.touches[0].endswith(f":{nginx.ports['limited']}/login")
    assert "POST with an empty body" in plan.steps[0]
    assert plan.max_duration_s == (6 + 3) * 5.0 + 5  # every request taking its whole timeout
    slow = drill.plan(_context(nginx.url("limited"), requests=1000, concurrency=1, timeout=60))
    assert slow.max_duration_s == 60.0  # capped by the drill's time limit
    for options, words in (
        ({"method": "DELETE"}, "method must be GET or POST"),
        ({"requests": 5000}, "requests must be between"),
        ({"concurrency": 0}, "concurrency must be between"),
        ({"expect_limit_within": 100}, "expect_limit_within"),
        ({"endpoint": "admin"}, "no endpoint 'admin'"),
        ({"auth": True}, "no auth_header"),
    ):
        with pytest.raises(DrillRefused, match=words):
            drill.plan(_context(nginx.url("limited"), **options))
    spec = Environment.model_validate(
        {"endpoints": [{"url": "https://api.example.com", "rate_limit_path": "/api/search"}]}
    )
    ctx = DrillContext("staging", spec, Target(service="shop", environments={"staging": spec}))
    assert drill.plan(ctx).touches == (
        "GET https://api.example.com/api/search",
        "GET https://api.example.com/healthz",
    )
    assert "rate-limit" in load_builtin_drills()


def test_limit_per_minute_needs_a_window() -> None:
    assert limit_per_minute({"ratelimit-policy": "100;w=60"}) == 100
    assert limit_per_minute({"ratelimit-policy": '"default";q=10;w=1'}) == 600
    assert limit_per_minute({"ratelimit-limit": "50, 50;w=3600"}) == 1
    assert limit_per_minute({"x-ratelimit-limit": "100"}) is None


class _Counting(BaseHTTPRequestHandler):
    """Counts requests as they arrive, then answers slowly."""

    def do_GET(self) -> None:
        server: Any = self.server
        with server.lock:
            server.arrived += 1
        server.release.wait(0.5)
        with contextlib.suppress(OSError):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextlib.contextmanager
def _slow_server() -> Iterator[Any]:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    server.daemon_threads = True
    server.arrived = 0
    server.lock = threading.Lock()
    server.release = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_cancelled_mid_burst_stops_sending_promptly() -> None:
    with _slow_server() as server:
        port = server.server_address[1]
        ctx = _context(f"http://127.0.0.1:{port}/", requests=200, concurrency=4)

        async def scenario() -> tuple[float, int]:
            task = asyncio.create_task(RateLimitDrill().run(ctx))
            await asyncio.sleep(1.2)
            cancelled_at = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return time.monotonic() - cancelled_at, server.arrived

        took, arrived = asyncio.run(scenario())
        time.sleep(1.0)
        assert took < 1.0
        assert 4 <= arrived <= 16  # 4 at a time, 0.5 s each, for 1.2 s
        assert server.arrived == arrived  # nothing sent after the cancellation
        assert any("interrupted after" in line and "stopped sending" in line for line in ctx.log)


def test_drill_time_limit_stops_the_burst() -> None:
    with _slow_server() as server:
        port = server.server_address[1]
        # As if the runner's --timeout ran out mid-burst.
        ctx = _context(f"http://127.0.0.1:{port}/", limit_s=1.0, requests=40, concurrency=2)
        started = time.monotonic()
        outcome = asyncio.run(execute(RateLimitDrill(), ctx))
        assert time.monotonic() - started < 2.0
        assert not outcome.passed and "did not finish within 1s" in outcome.summary
        arrived = server.arrived
        time.sleep(0.8)
        assert server.arrived == arrived <= 6


def test_burst_stops_sending_at_the_time_limit_and_still_checks_health() -> None:
    with _slow_server() as server:
        port = server.server_address[1]
        ctx = _context(
            f"http://127.0.0.1:{port}/", limit_s=4.0, requests=100, concurrency=2, timeout=0.6
        )
        outcome = asyncio.run(execute(RateLimitDrill(), ctx))
        m = outcome.measurements
        assert not outcome.passed and m["stopped_at_time_limit"] is True
        assert m["requests_sent"] < 10 and m["health_statuses"] == {"200": 3}
        assert f"stopped at the drill's time limit after {m['requests_sent']} of 100" in (
            outcome.summary
        )


REPO_YAML = """service: shop
environments:
  staging:
    endpoints: [{{name: api, url: "{url}", health_path: /healthz}}]
  production:
    production: true
    endpoints: [{{name: api, url: "{url}", health_path: /healthz}}]
"""


def test_cli_refuses_production_and_records_staging(cli: Any, nginx: Nginx, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "prr.yaml").write_text(REPO_YAML.format(url=nginx.url("cli")))
    database = f"sqlite:///{tmp_path / 'prr.db'}"
    before = nginx.logged("cli")
    refused = cli(
        "drill", "run", "rate-limit", str(repo), "--env", "production", "--yes",
        "--database", database,
    )  # fmt: skip
    assert refused.exit_code == 2 and "production: true" in refused.stderr
    assert nginx.logged("cli") == before  # nothing was sent
    run = cli(
        "drill", "run", "rate-limit", str(repo), "--env", "staging", "--yes",
        "-o", "requests=30", "--database", database,
    )  # fmt: skip
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "PASSED" in run.stdout and "first_429_at:" in run.stdout
    assert "recorded as drill" in run.stdout
