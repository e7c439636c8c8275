"""TLS version probes and connection reuse of the live HTTP collector, against real nginx.

The probes stop at the server's first answer to each ClientHello (a ServerHello or
an alert); the handshake that verifies the certificate also carries the endpoint's
HTTP requests; endpoints on one host and port share one set of probes. A relay in
front of nginx counts the TCP connections a scan opens, so the tests see the
handshakes that are no longer made.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import socketserver
import struct
import threading
from collections.abc import Iterator

import pytest

from prr.collectors.live import tls
from prr.collectors.live.base import LiveContext, LiveLimits
from prr.collectors.live.http import EndpointFacts, HttpCollector
from prr.model.target import Endpoint, Environment, Target
from tests.live.nginx import Pki, Sites, _tls, make_pki, run_nginx
from tests.live.servers import free_port

SERVERS = {
    # name: (certificate, ssl_protocols, ssl_ciphers)
    "modern": ("good", "TLSv1.2 TLSv1.3", ""),
    "only13": ("good", "TLSv1.3", ""),
    "legacy10": ("rsa", "TLSv1 TLSv1.2", "ALL:@SECLEVEL=0"),
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    made = make_pki(tmp_path_factory.mktemp("pki"))
    before = os.environ.get(tls.CA_BUNDLE_ENV)
    os.environ[tls.CA_BUNDLE_ENV] = str(made.ca)
    yield made
    if before is None:
        os.environ.pop(tls.CA_BUNDLE_ENV, None)
    else:
        os.environ[tls.CA_BUNDLE_ENV] = before


@pytest.fixture(scope="module")
def sites(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    folder = tmp_path_factory.mktemp("nginx")
    (folder / "tmp").mkdir()
    sites = Sites(root=folder)
    blocks = []
    for name, (cert, protocols, ciphers) in SERVERS.items():
        port = free_port()
        while port in sites.ports.values():
            port = free_port()
        sites.ports[name] = port
        blocks.append(f"""
    server {{
        listen 127.0.0.1:{port} ssl;
{_tls(pki, cert, protocols, ciphers)}        location / {{
            default_type application/json;
            return 200 '{{"status": "ok"}}';
        }}
    }}""")
    user = "user root root;\n" if os.geteuid() == 0 else ""
    tmp = folder / "tmp"
    config = folder / "nginx.conf"
    config.write_text(f"""{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{"".join(blocks)}
}}
""")
    with run_nginx(config, sites, first="modern") as running:
        yield running


def collect(urls: list[str], **limits: object) -> EndpointFacts:
    spec = Environment(endpoints=tuple(Endpoint(name=f"e{i}", url=u) for i, u in enumerate(urls)))
    bounds = LiveLimits(**{"timeout_s": 3.0, "latency_samples": 3, **limits})  # type: ignore[arg-type]
    ctx = LiveContext(
        "staging", spec, Target(service="svc", environments={"staging": spec}), bounds
    )
    return asyncio.run(HttpCollector().collect(ctx))


def protocols(sites: Sites, name: str) -> tuple[dict[str, str], dict[str, str]]:
    report = collect([sites.url(name)]).endpoints[0]
    assert report.error is None and report.tls is not None, report.error
    return report.tls.protocols, report.tls.protocol_details


def test_versions_of_a_modern_server(sites: Sites) -> None:
    found, details = protocols(sites, "modern")
    assert found == {
        "TLSv1.0": "refused",
        "TLSv1.1": "refused",
        "TLSv1.2": "accepted",
        "TLSv1.3": "accepted",
    }
    assert details["TLSv1.0"] == details["TLSv1.1"]  # one ClientHello offered both
    assert "protocol_version" in details["TLSv1.0"]
    assert details["TLSv1.2"].startswith("ECDHE-ECDSA-")  # the cipher its ServerHello chose


def test_versions_of_a_tls13_only_server(sites: Sites) -> None:
    found, details = protocols(sites, "only13")
    assert found["TLSv1.3"] == "accepted"
    assert {found[v] for v in ("TLSv1.0", "TLSv1.1", "TLSv1.2")} == {"refused"}
    assert "alert" in details["TLSv1.2"]


def test_versions_with_a_gap_are_told_apart(sites: Sites) -> None:
    # TLS 1.0 and 1.2 on, 1.1 and 1.3 off: the answer to "1.0 or 1.1?" is 1.0, so 1.1 is
    # refused; the verified handshake offered 1.3 and got 1.2, so 1.3 is refused.
    found, details = protocols(sites, "legacy10")
    assert found == {
        "TLSv1.0": "accepted",
        "TLSv1.1": "refused",
        "TLSv1.2": "accepted",
        "TLSv1.3": "refused",
    }
    assert details["TLSv1.1"] == "the server chose TLSv1.0 when TLSv1.1 was offered"
    assert details["TLSv1.3"] == "the server chose TLSv1.2 when TLSv1.3 was offered"


class _Relay(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    upstream: int
    connections: int


class _Pipe(socketserver.BaseRequestHandler):
    server: _Relay

    def handle(self) -> None:
        self.server.connections += 1
        with socket.create_connection(("127.0.0.1", self.server.upstream)) as upstream:

            def copy(source: socket.socket, target: socket.socket) -> None:
                with contextlib.suppress(OSError):
                    while data := source.recv(65536):
                        target.sendall(data)
                with contextlib.suppress(OSError):
                    target.shutdown(socket.SHUT_WR)

            back = threading.Thread(target=copy, args=(upstream, self.request), daemon=True)
            back.start()
            copy(self.request, upstream)
            back.join(timeout=5)


@contextlib.contextmanager
def relay(port: int) -> Iterator[_Relay]:
    """A TCP relay on its own loopback port to nginx's ``port``; counts connections."""
    with _Relay(("127.0.0.1", 0), _Pipe) as server:
        server.upstream = port
        server.connections = 0
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            thread.join(timeout=5)


def test_one_handshake_gives_certificate_and_carries_requests(sites: Sites) -> None:
    with relay(sites.ports["modern"]) as counted:
        url = f"https://127.0.0.1:{counted.server_address[1]}/"
        report = collect([url], connections_per_endpoint=1).endpoints[0]
        alone = counted.connections
    assert report.tls and report.tls.trusted and report.tls.key == "EC P-256"
    assert report.latency and report.latency.samples == 3
    # One connection for the handshake, the certificate and all six requests; two probes
    # (TLS 1.2; TLS 1.0 and 1.1 together). TLS 1.3 was negotiated: no probe for it.
    assert report.requests == 6
    assert alone == 3


def test_endpoints_on_one_host_share_the_probes(sites: Sites) -> None:
    with relay(sites.ports["modern"]) as counted:
        base = f"https://127.0.0.1:{counted.server_address[1]}"
        facts = collect([f"{base}/", f"{base}/v2/"], connections_per_endpoint=1)
        together = counted.connections
    assert [e.tls.protocols for e in facts.endpoints if e.tls] == 2 * [
        {"TLSv1.0": "refused", "TLSv1.1": "refused", "TLSv1.2": "accepted", "TLSv1.3": "accepted"}
    ]
    assert together == 2 + 2  # an HTTP connection each, one set of probes


def _record(kind: int, payload: bytes) -> bytes:
    return bytes([kind, 3, 3]) + struct.pack(">H", len(payload)) + payload


def _server_hello(version: int, cipher: int, *, supported: int | None = None) -> bytes:
    extensions = b""
    if supported is not None:
        extensions = struct.pack(">HHH", 43, 2, supported)
    body = (
        struct.pack(">H", version)
        + bytes(32)
        + b"\x00"
        + struct.pack(">H", cipher)
        + b"\x00"
        + struct.pack(">H", len(extensions))
        + extensions
    )
    return b"\x02" + len(body).to_bytes(3, "big") + body


def test_server_answers_are_read_from_the_record_layer() -> None:
    hello = _server_hello(0x0303, 0xC02B)
    answer = tls.read_server_answer(_record(22, hello))
    assert answer and (answer.kind, answer.version) == ("hello", "TLSv1.2")
    assert answer.cipher == "ECDHE-ECDSA-AES128-GCM-SHA256"
    split = _record(22, hello[:10]) + _record(22, hello[10:])  # one message, two records
    assert tls.read_server_answer(split) == answer
    assert tls.read_server_answer(split[:-3]) is None  # wait for the rest
    modern = tls.read_server_answer(_record(22, _server_hello(0x0303, 0x1302, supported=0x0304)))
    assert modern and (modern.version, modern.cipher) == ("TLSv1.3", "TLS_AES_256_GCM_SHA384")
    alert = tls.read_server_answer(_record(21, b"\x02\x46"))
    assert alert and alert.kind == "alert" and alert.detail.endswith("protocol_version")
    other = tls.read_server_answer(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    assert other and other.kind == "other"
