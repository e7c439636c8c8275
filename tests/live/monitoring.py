"""Fixtures for the live monitoring tests: real Prometheus and Alertmanager on loopback ports.

A tiny HTTP server in the test process plays the service (``/metrics`` with
request counters, a latency histogram and process metrics) and, on other paths,
the misbehaving servers the collectors must survive (HTML instead of JSON, 401,
a redirect loop, an oversized answer). Prometheus scrapes it under two jobs:
``shop-api`` (up) and ``flaky-api`` (one instance up, one on a closed port).
Alertmanager runs twice: a good configuration (critical → PagerDuty, warnings →
Slack) and a bad one (critical → a null receiver). The configurations hold fake
secrets that must never show up in facts, results or errors.

Test modules load this file with ``pytest_plugins``, so each server starts once
per session and is always stopped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.live.servers import find_binary, free_port, running

PD_ROUTING_KEY = "pdkey-FAKE-0d1e2f3a4b5c6d7e8f90-s3cret"
SLACK_URL = "https://hooks.slack.com/services/T0FAKE/B0FAKE/slackFAKEs3cretTOKEN"
WEBHOOK_TOKEN = "whFAKEtoken-s3cret-77"
WEBHOOK_PASSWORD = "whFAKEpass-s3cret-88"
SMTP_PASSWORD = "smtpFAKEpass-s3cret-99"
SECRETS = (
    PD_ROUTING_KEY,
    SLACK_URL,
    "slackFAKEs3cretTOKEN",
    WEBHOOK_TOKEN,
    WEBHOOK_PASSWORD,
    SMTP_PASSWORD,
)

METRICS = """\
# HELP http_requests_total Requests handled.
# TYPE http_requests_total counter
http_requests_total{code="200",method="GET",route="/orders"} 1000
http_requests_total{code="500",method="GET",route="/orders"} 7
# HELP http_request_duration_seconds Request latency.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.1"} 900
http_request_duration_seconds_bucket{le="0.5"} 1000
http_request_duration_seconds_bucket{le="+Inf"} 1007
http_request_duration_seconds_sum 61.5
http_request_duration_seconds_count 1007
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 52428800
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1700000000
# TYPE process_open_fds gauge
process_open_fds 12
# TYPE process_max_fds gauge
process_max_fds 1024
"""

RULES = """\
groups:
  - name: shop-api
    rules:
      - alert: ShopApiHighErrorRate
        expr: >-
          sum(rate(http_requests_total{job="shop-api",code=~"5.."}[5m]))
          / sum(rate(http_requests_total{job="shop-api"}[5m])) > 0.01
        for: 5m
        labels: {severity: critical, team: checkout}
        annotations: {summary: "shop-api fails more than 1% of requests"}
      - alert: ShopApiHighLatency
        expr: >-
          histogram_quantile(0.99, sum by (le)
          (rate(http_request_duration_seconds_bucket{job="shop-api"}[5m]))) > 0.5
        for: 10m
        labels: {severity: warning}
      - alert: ShopApiDown
        expr: up{job="shop-api"} == 0
        for: 2m
        labels: {severity: critical}
      - alert: ShopApiMemoryHigh
        expr: process_resident_memory_bytes{job="shop-api"} / 4e9 * 100 > 90
        for: 15m
        labels: {severity: warning}
      - alert: ShopApiRequestsSeen
        expr: sum(http_requests_total{job="shop-api"}) > 0
        labels: {severity: info}
      - record: slo:objective:ratio
        expr: vector(0.999)
        labels: {sloth_service: shop-api, sloth_slo: requests-availability}
      - record: slo:current_burn_rate:ratio
        expr: vector(0)
        labels: {sloth_service: shop-api, sloth_slo: requests-availability}
  - name: others
    rules:
      - alert: OtherApiHighErrorRate
        expr: sum(rate(http_requests_total{job="other-api",code=~"5.."}[5m])) > 1
        labels: {severity: critical}
      - alert: FlakyApiLatencyBroken
        expr: vector(1) / on() up{job="flaky-api"}
        labels: {severity: warning}
      - record: other:requests:rate5m
        expr: sum(rate(http_requests_total{job="other-api"}[5m]))
"""

GOOD_ALERTMANAGER = f"""\
route:
  receiver: default-email
  group_by: [alertname, job]
  repeat_interval: 4h
  routes:
    - matchers: ['severity="critical"']
      receiver: shop-pager
      repeat_interval: 1h
      continue: true
    - match_re: {{job: "shop"}}
      receiver: blackhole
    - matchers: ['job="shop-api"']
      receiver: shop-chat
receivers:
  - name: default-email
    email_configs:
      - to: oncall@example.com
        from: alertmanager@example.com
        smarthost: smtp.example.com:587
        auth_username: alertmanager
        auth_password: {SMTP_PASSWORD}
  - name: shop-pager
    pagerduty_configs:
      - routing_key: {PD_ROUTING_KEY}
  - name: shop-chat
    slack_configs:
      - api_url: {SLACK_URL}
        channel: '#shop-alerts'
  - name: audit-hook
    webhook_configs:
      - url: http://audit:{WEBHOOK_PASSWORD}@audit.example.com/hook?token={WEBHOOK_TOKEN}
  - name: blackhole
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname, job]
"""

NULL_ALERTMANAGER = f"""\
route:
  receiver: blackhole
  routes:
    - matchers: ['severity=~"critical|page"']
      receiver: devnull
    - matchers: ['severity="warning"']
      receiver: shop-chat
receivers:
  - name: devnull
  - name: blackhole
  - name: shop-chat
    slack_configs:
      - api_url: {SLACK_URL}
        channel: '#shop-alerts'
"""


# ------------------------------------------------------------------ the "service"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers.items())))
        if self.path.startswith("/metrics"):
            self._send(200, METRICS.encode(), "text/plain; version=0.0.4")
        elif self.path.startswith("/html/"):
            self._send(200, b"<html><body>Welcome to nginx!</body></html>", "text/html")
        elif self.path.startswith("/notprom/"):
            self._send(200, b'{"hello": "world"}', "application/json")
        elif self.path.startswith("/auth/"):
            self._send(401, b"unauthorized", "text/plain")
        elif self.path.startswith("/loop/"):
            self._send(302, b"", "text/plain", Location=self.path)
        elif self.path.startswith("/big/"):
            body = json.dumps({"status": "success", "data": ["x" * 64] * 4096}).encode()
            self._send(200, body, "application/json")
        else:
            self._send(404, b"not found", "text/plain")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.seen: list[tuple[str, dict[str, str]]] = []


@dataclass
class Service:
    """The test process' HTTP server: the service's /metrics and misbehaving API stand-ins."""

    port: int
    server: _Server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def seen(self) -> list[tuple[str, dict[str, str]]]:
        return self.server.seen


@contextlib.contextmanager
def serve_service() -> Iterator[Service]:
    port = free_port()
    server = _Server(port)
    thread = threading.Thread(target=server.serve_forever, name="prr-test-service", daemon=True)
    thread.start()
    try:
        yield Service(port, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections (backlog) but never answers: for timeouts."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


# -------------------------------------------------------------------- Prometheus


def get_json(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # test-side only
        return json.loads(answer.read())


def _wait(what: str, ready: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError, KeyError):
            if ready():
                return
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready within {timeout}s")


@dataclass
class PromServer:
    url: str
    service: Service
    closed_port: int


def _prometheus_ready(url: str) -> bool:
    targets = get_json(f"{url}/api/v1/targets")["data"]["activeTargets"]
    up = {t["labels"]["job"] for t in targets if t["health"] == "up"}
    alerts = get_json(f"{url}/api/v1/alerts")["data"]["alerts"]
    firing = {a["labels"]["alertname"] for a in alerts if a["state"] == "firing"}
    groups = get_json(f"{url}/api/v1/rules")["data"]["groups"]
    broken = {r["name"] for g in groups for r in g["rules"] if r.get("health") == "err"}
    return (
        {"shop-api", "flaky-api"} <= up
        and "ShopApiRequestsSeen" in firing
        and "FlakyApiLatencyBroken" in broken
    )


@contextlib.contextmanager
def start_prometheus(folder: Path, service: Service) -> Iterator[PromServer]:
    port, closed = free_port(), free_port()
    (folder / "rules.yml").write_text(RULES, encoding="utf-8")
    (folder / "prometheus.yml").write_text(
        f"""\
global: {{scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s,
          external_labels: {{cluster: test}}}}
rule_files: [{folder / "rules.yml"}]
scrape_configs:
  - job_name: shop-api
    static_configs: [{{targets: ["127.0.0.1:{service.port}"]}}]
  - job_name: flaky-api
    static_configs: [{{targets: ["127.0.0.1:{service.port}", "127.0.0.1:{closed}"]}}]
""",
        encoding="utf-8",
    )
    argv = [
        find_binary("prometheus"),
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with running(argv, port, log=folder / "prometheus.log"):
        url = f"http://127.0.0.1:{port}"
        _wait("prometheus targets, alerts and rules", lambda: _prometheus_ready(url))
        yield PromServer(url, service, closed)


# ------------------------------------------------------------------ Alertmanager


@dataclass
class AmServer:
    url: str
    silences: list[str] = field(default_factory=list)


@contextlib.contextmanager
def start_alertmanager(folder: Path, config: str) -> Iterator[AmServer]:
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (folder / "alertmanager.yml").write_text(config, encoding="utf-8")
    argv = [
        find_binary("prometheus-alertmanager", "alertmanager"),
        f"--config.file={folder / 'alertmanager.yml'}",
        f"--storage.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with running(argv, port, log=folder / "alertmanager.log"):
        url = f"http://127.0.0.1:{port}"
        _wait("alertmanager status", lambda: bool(get_json(f"{url}/api/v2/status")["config"]))
        yield AmServer(url)


def create_silence(url: str, matchers: dict[str, str], hours: float, by: str = "prr-test") -> str:
    """POST a silence (test setup only; the collector never writes)."""
    now = dt.datetime.now(dt.UTC)
    body = {
        "matchers": [
            {"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in matchers.items()
        ],
        "startsAt": now.isoformat(),
        "endsAt": (now + dt.timedelta(hours=hours)).isoformat(),
        "createdBy": by,
        "comment": "maintenance",
    }
    request = urllib.request.Request(
        f"{url}/api/v2/silences",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return str(json.loads(answer.read())["silenceID"])


def expire_silence(url: str, silence_id: str) -> None:
    request = urllib.request.Request(f"{url}/api/v2/silence/{silence_id}", method="DELETE")
    with urllib.request.urlopen(request, timeout=5):
        pass


# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def metrics_service() -> Iterator[Service]:
    with serve_service() as running_service:
        yield running_service


@pytest.fixture(scope="session")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, metrics_service: Service
) -> Iterator[PromServer]:
    with start_prometheus(tmp_path_factory.mktemp("prometheus"), metrics_service) as server:
        yield server


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AmServer]:
    with start_alertmanager(tmp_path_factory.mktemp("am-good"), GOOD_ALERTMANAGER) as server:
        yield server


@pytest.fixture(scope="session")
def alertmanager_null(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AmServer]:
    with start_alertmanager(tmp_path_factory.mktemp("am-null"), NULL_ALERTMANAGER) as server:
        yield server


@pytest.fixture
def hung_port() -> Iterator[int]:
    with silent_server() as port:
        yield port
