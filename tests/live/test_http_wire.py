"""The live HTTP collector's own HTTP/1.1 exchange against a server that answers in every framing.

A small threaded server on loopback sends prepared answers byte for byte: chunked
bodies with extensions and trailers, gzip, close-delimited bodies, interim 103
answers, malformed header sections, and kept-alive connections it drops between
requests. It counts connections and requests, so the tests can tell that samples
share one connection and that nothing is lost when the server hangs up.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from prr.collectors.live.base import LiveContext, LiveLimits
from prr.collectors.live.http import EndpointFacts, EndpointReport, HttpCollector
from prr.model.target import Endpoint, Environment, Target

HEALTH = json.dumps({"status": "ok", "checks": {"db": "ok", "queue": "ok"}}).encode()


def _plain(body: bytes, *extra: str, status: str = "200 OK") -> bytes:
    head = [f"HTTP/1.1 {status}", "Content-Type: application/json", *extra]
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _chunked(body: bytes) -> bytes:
    half = len(body) // 2
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{half:x};name=value\r\n".encode()
        + body[:half]
        + b"\r\n"
        + f"{len(body) - half:X}\r\n".encode()
        + body[half:]
        + b"\r\n0\r\nX-Trailer: yes\r\n\r\n"
    )


@dataclass
class Answer:
    data: bytes
    close: bool = False
    """Hang up after answering (whatever the answer says about the connection)."""


ANSWERS: dict[str, Answer] = {
    "/": Answer(_plain(b"{}")),
    "/healthz": Answer(_plain(HEALTH)),
    "/chunked": Answer(_chunked(HEALTH)),
    "/gzip": Answer(_plain(gzip.compress(HEALTH), "Content-Encoding: gzip")),
    "/until-close": Answer(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + HEALTH, close=True
    ),
    "/early-hints": Answer(
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" + _plain(HEALTH)
    ),
    "/folded": Answer(b"HTTP/1.1 200 OK\r\nX-A: one\r\n  two\r\nContent-Length: 2\r\n\r\n{}"),
    "/two-lengths": Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}}"),
    "/not-http": Answer(b"SSH-2.0-OpenSSH_9.2\r\n\r\n", close=True),
    "/dropped": Answer(_plain(HEALTH), close=True),
    "/big": Answer(_plain(b"[" + b"1," * 5000 + b"1]")),
}


@dataclass
class Server:
    port: int
    connections: int = 0
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(socketserver.BaseRequestHandler):
    server: _Threaded

    def handle(self) -> None:
        stats = self.server.stats
        with stats.lock:
            stats.connections += 1
        buffer = b""
        with contextlib.suppress(OSError):
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = self.request.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                target = head.split(b" ")[1].decode()
                path = "/" + target.strip("/").split("/")[-1] if target != "/" else "/"
                with stats.lock:
                    stats.requests.append(target)
                answer = ANSWERS.get(path, ANSWERS["/"])
                self.request.sendall(answer.data)
                if answer.close:
                    self.request.shutdown(socket.SHUT_RDWR)
                    return


class _Threaded(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    stats: Server


@pytest.fixture
def server() -> Iterator[Server]:
    with _Threaded(("127.0.0.1", 0), _Handler) as threaded:
        threaded.stats = Server(threaded.server_address[1])
        thread = threading.Thread(target=threaded.serve_forever, daemon=True)
        thread.start()
        try:
            yield threaded.stats
        finally:
            threaded.shutdown()
            thread.join(timeout=5)


def scan(server: Server, health: str, **limits: object) -> EndpointReport:
    """One plain-HTTP endpoint whose health path is ``health``."""
    url = f"http://127.0.0.1:{server.port}/"
    spec = Environment(endpoints=(Endpoint(name="api", url=url, health_path=health),))
    bounds = LiveLimits(**{"timeout_s": 3.0, "latency_samples": 5, **limits})  # type: ignore[arg-type]
    ctx = LiveContext(
        "staging", spec, Target(service="svc", environments={"staging": spec}), bounds
    )
    facts = asyncio.run(HttpCollector().collect(ctx))
    assert isinstance(facts, EndpointFacts)
    return facts.endpoints[0]


@pytest.mark.parametrize(
    "health", ["/healthz", "/chunked", "/gzip", "/until-close", "/early-hints"]
)
def test_bodies_in_every_framing_are_read(server: Server, health: str) -> None:
    report = scan(server, health)
    assert report.health and report.health.status == 200, report.health
    assert report.health_dependencies == ("db", "queue")
    assert report.latency and report.latency.samples == 5 and report.latency.error is None
    assert report.latency.statuses == (200,)


def test_samples_share_one_kept_alive_connection(server: Server) -> None:
    report = scan(server, "/healthz", latency_samples=10, connections_per_endpoint=1)
    assert report.latency and report.latency.samples == 10
    assert report.requests == 13 == len(server.requests)  # main, CORS, health, 10 samples
    assert server.connections == 1


def test_close_delimited_answers_get_a_new_connection_each(server: Server) -> None:
    report = scan(server, "/until-close", connections_per_endpoint=1)
    assert report.latency and report.latency.samples == 5
    assert server.connections == 1 + 5  # main, CORS and health on one; each sample on its own


def test_a_dropped_kept_alive_connection_is_replaced(server: Server) -> None:
    # The server hangs up after every answer while claiming to keep the connection.
    report = scan(server, "/dropped", latency_samples=8, connections_per_endpoint=1)
    assert report.latency and report.latency.samples == 8 and report.latency.error is None
    assert report.requests == 11
    assert server.requests.count("/dropped") == 9  # each request sent once


@pytest.mark.parametrize("health", ["/folded", "/two-lengths", "/not-http"])
def test_malformed_answers_are_reported_not_guessed(server: Server, health: str) -> None:
    report = scan(server, health)
    assert report.health and report.health.error == "malformed response"
    assert report.latency is None


def test_body_cap_truncates_and_the_connection_is_not_reused(server: Server) -> None:
    report = scan(server, "/big", max_body_bytes=64, connections_per_endpoint=1)
    assert report.health and report.health.truncated and report.health.status == 200
    assert report.health_keys == ()
    assert report.latency and report.latency.samples == 5
    assert server.connections == 1 + 5  # every truncated answer costs its connection
