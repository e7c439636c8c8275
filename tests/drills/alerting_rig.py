"""A small alerting stack for the alert-fires drill: service, Redis, Prometheus, Alertmanager, sink.

The service (a thread in the test process) answers ``/healthz`` with 200 while
its real redis-server answers PING and 503 otherwise, and exports
``shop_dependency_up{dependency="redis"}`` on ``/metrics``. Prometheus scrapes it
every second and evaluates ``DependencyDown`` (``for: 2s``), ``RedisDown`` (on a
metric the service never exports, so it never fires) and ``ShopAlwaysFiring``.
Alertmanager routes the first two to a webhook receiver pointing at a sink in the
test process, the rest to a null receiver. Breaking the dependency is
``kill -STOP`` of the Redis process; restoring it ``kill -CONT``.

Test modules load this file with ``pytest_plugins``; the stack starts once per module.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.live.monitoring import start_alertmanager
from tests.live.redisserver import RedisNode, redis_server
from tests.live.servers import find_binary, free_port, running

RULES = """\
groups:
  - name: shop
    rules:
      - alert: DependencyDown
        expr: shop_dependency_up{job="shop"} == 0
        for: 2s
        labels: {severity: critical, team: shop}
        annotations: {summary: "shop lost a dependency"}
      - alert: RedisDown
        expr: shop_redis_connected{job="shop"} == 0
        for: 2s
        labels: {severity: critical, team: shop}
      - alert: ShopAlwaysFiring
        expr: shop_dependency_up{job="shop"} >= 0
        labels: {severity: info}
"""


def alertmanager_config(sink_port: int) -> str:
    return f"""\
route:
  receiver: blackhole
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['alertname=~"DependencyDown|RedisDown"', 'team="shop"']
      receiver: shop-webhook
receivers:
  - name: blackhole
  - name: shop-webhook
    webhook_configs:
      - url: http://127.0.0.1:{sink_port}/hook
        send_resolved: true
"""


# ---------------------------------------------------------------------- HTTP threads


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _ServiceHandler(_Quiet):
    server: _ServiceServer

    def do_GET(self) -> None:
        up = self.server.redis_up()
        if self.path.startswith("/healthz"):
            body = {
                "status": "ok" if up else "degraded",
                "checks": {"redis": "up" if up else "down"},
            }
            self._send(200 if up else 503, json.dumps(body).encode(), "application/json")
        elif self.path.startswith("/metrics"):
            text = (
                "# HELP shop_dependency_up Whether a dependency answers.\n"
                "# TYPE shop_dependency_up gauge\n"
                f'shop_dependency_up{{dependency="redis"}} {1 if up else 0}\n'
            )
            self._send(200, text.encode(), "text/plain; version=0.0.4")
        else:
            self._send(404, b"not found", "text/plain")


class _ServiceServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, node: RedisNode) -> None:
        super().__init__(("127.0.0.1", port), _ServiceHandler)
        self.client = redis.Redis(
            host="127.0.0.1",
            port=node.port,
            socket_timeout=0.3,
            socket_connect_timeout=0.3,
            retry=Retry(NoBackoff(), 0),
        )

    def server_close(self) -> None:
        super().server_close()
        self.client.close()

    def redis_up(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.exceptions.RedisError:
            return False


class _SinkHandler(_Quiet):
    server: _SinkServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(min(length, 1 << 20)) or b"{}")
        with self.server.lock:
            self.server.received.append(payload)
        self._send(200, b"ok", "text/plain")


class _SinkServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _SinkHandler)
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []


@contextlib.contextmanager
def serving(server: ThreadingHTTPServer, name: str) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ------------------------------------------------------------------------- the rig


def get_json(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # test-side only
        return json.loads(answer.read())


def wait_for(what: str, ready: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError, KeyError):
            if ready():
                return
        time.sleep(0.1)
    raise TimeoutError(f"{what} not reached within {timeout}s")


@dataclass
class AlertingRig:
    """The running stack and the commands that break and restore its Redis."""

    service_url: str
    prometheus_url: str
    alertmanager_url: str
    redis: RedisNode
    redis_pid: int
    sink: _SinkServer
    folder: Path
    markers: list[Path] = field(default_factory=list)

    def environment(self, **extra: Any) -> dict[str, Any]:
        """The ``environments.staging`` of prr.yaml for this stack."""
        return {
            "endpoints": [{"name": "api", "url": self.service_url, "health_path": "/healthz"}],
            "redis": [{"name": "cache", "url": self.redis.url()}],
            "prometheus": {"url": self.prometheus_url, "selector": 'job="shop"'},
            "alertmanager": {"url": self.alertmanager_url},
            **extra,
        }

    def commands(self, name: str) -> tuple[str, str, Path]:
        """``(break_command, restore_command, marker)``: the restore appends to ``marker``."""
        marker = self.folder / f"{name}.restored"
        self.markers.append(marker)
        return (
            f"kill -STOP {self.redis_pid}",
            f"kill -CONT {self.redis_pid} && echo restored >> {marker}",
            marker,
        )

    def redis_running(self) -> bool:
        """True when the Redis process is not stopped (state ``T``) and answers PING."""
        state = Path(f"/proc/{self.redis_pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "T":
            return False
        with self.redis.client() as client:
            return bool(client.ping())

    def active(self, alertname: str) -> list[dict[str, Any]]:
        alerts = get_json(f"{self.prometheus_url}/api/v1/alerts")["data"]["alerts"]
        return [a for a in alerts if a["labels"].get("alertname") == alertname]

    def deliveries(self, alertname: str, status: str = "firing") -> list[dict[str, Any]]:
        """Webhook payloads the sink received for ``alertname`` with ``status``."""
        with self.sink.lock:
            payloads = list(self.sink.received)
        return [
            alert
            for payload in payloads
            for alert in payload.get("alerts", [])
            if alert.get("labels", {}).get("alertname") == alertname
            and alert.get("status") == status
        ]

    def quiet(self, timeout: float = 20.0) -> None:
        """Wait until Redis runs, the service is healthy and DependencyDown is inactive."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.redis_pid, signal.SIGCONT)

        def calm() -> bool:
            with urllib.request.urlopen(f"{self.service_url}/healthz", timeout=2) as answer:
                healthy = answer.status == 200
            held = get_json(
                f"{self.alertmanager_url}/api/v2/alerts?filter=alertname%3D%22DependencyDown%22"
            )
            return healthy and not self.active("DependencyDown") and not held

        wait_for("a quiet stack", calm, timeout)


def _prometheus_ready(url: str) -> bool:
    targets = get_json(f"{url}/api/v1/targets")["data"]["activeTargets"]
    rules = get_json(f"{url}/api/v1/rules")["data"]["groups"]
    firing = {
        a["labels"]["alertname"]
        for a in get_json(f"{url}/api/v1/alerts")["data"]["alerts"]
        if a["state"] == "firing"
    }
    return (
        any(t["health"] == "up" for t in targets) and bool(rules) and "ShopAlwaysFiring" in firing
    )


@contextlib.contextmanager
def alerting_rig(folder: Path) -> Iterator[AlertingRig]:
    """Start the whole stack on loopback ports; stop everything (and un-pause Redis) after."""
    with redis_server(folder, label="shop-redis") as node:
        with node.client() as client:
            pid = int(client.info("server")["process_id"])
        try:
            service = _ServiceServer(free_port(), node)
            sink = _SinkServer(free_port())
            with (
                serving(service, "shop-service"),
                serving(sink, "webhook-sink"),
                start_alertmanager(
                    folder / "alertmanager", alertmanager_config(sink.server_address[1])
                ) as am,
            ):
                prom_port = free_port()
                prom_dir = folder / "prometheus"
                prom_dir.mkdir()
                (prom_dir / "rules.yml").write_text(RULES, encoding="utf-8")
                am_host = am.url.removeprefix("http://")
                (prom_dir / "prometheus.yml").write_text(
                    f"""\
global: {{scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}}
rule_files: [{prom_dir / "rules.yml"}]
alerting:
  alertmanagers:
    - static_configs: [{{targets: ["{am_host}"]}}]
scrape_configs:
  - job_name: shop
    static_configs: [{{targets: ["127.0.0.1:{service.server_address[1]}"]}}]
""",
                    encoding="utf-8",
                )
                argv = [
                    find_binary("prometheus"),
                    f"--config.file={prom_dir / 'prometheus.yml'}",
                    f"--storage.tsdb.path={prom_dir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                ]
                with running(argv, prom_port, log=prom_dir / "prometheus.log"):
                    prom_url = f"http://127.0.0.1:{prom_port}"
                    wait_for(
                        "prometheus scraping and evaluating", lambda: _prometheus_ready(prom_url)
                    )
                    yield AlertingRig(
                        f"http://127.0.0.1:{service.server_address[1]}",
                        prom_url,
                        am.url,
                        node,
                        pid,
                        sink,
                        folder,
                    )
        finally:
            # A failed test must not leave Redis paused: its shutdown would hang.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertingRig]:
    with alerting_rig(tmp_path_factory.mktemp("alerting")) as running_rig:
        yield running_rig
