"""nginx fixtures for the live HTTP(S) collector: a throwaway CA, certificates and sites.

:func:`make_pki` writes a test CA and leaf certificates (good, expired, expiring
soon, self-signed, wrong host, RSA) with the ``openssl`` CLI — ``cryptography``
is not a dependency of prr. :func:`nginx_config` writes one nginx configuration
with a server block per scenario (good, missing headers, wildcard CORS with
credentials, TLS 1.0 allowed, bad certificates, slow upstream, redirect loop),
each on its own free loopback port; :func:`run_nginx` runs it until the block
ends. Everything (pid, logs, temp paths) stays inside the given folder. Trust
the CA by pointing ``PRR_CA_BUNDLE`` at :attr:`Pki.ca`.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.live.servers import find_binary, free_port, running, wait_for_port

OPENSSL = "openssl"
AUTH_HEADER_NAME = "X-Api-Key"
AUTH_SECRET = "s3cr3t-t0ken-value-9f2c"
"""The value the ``auth`` site requires; tests put it in an env var and grep for leaks."""
STATIC_ASSET = "/static/app.3f2a1c9e.js"

_CA_CONFIG = """\
[ ca ]
default_ca = testca
[ testca ]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}/issued
serial = {dir}/serial
default_md = sha256
policy = any
unique_subject = no
email_in_dn = no
[ any ]
commonName = supplied
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = {san}
"""


@dataclass(frozen=True)
class Pki:
    """A test CA and the leaf certificates issued (or not) by it."""

    dir: Path
    ca: Path
    certs: dict[str, tuple[Path, Path]]
    """name → (certificate, key)."""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _key(path: Path, kind: str, cwd: Path) -> None:
    if kind == "rsa":
        _openssl(
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            str(path),
            cwd=cwd,
        )
    else:
        _openssl(
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            str(path),
            cwd=cwd,
        )


def _issue(
    pki_dir: Path,
    name: str,
    *,
    san: str,
    start: str | None = None,
    end: str | None = None,
    days: int = 90,
    kind: str = "ec",
) -> tuple[Path, Path]:
    key = pki_dir / f"{name}.key"
    csr = pki_dir / f"{name}.csr"
    cert = pki_dir / f"{name}.pem"
    config = pki_dir / f"{name}.cnf"
    config.write_text(_CA_CONFIG.format(dir=pki_dir, san=san))
    _key(key, kind, pki_dir)
    cn = san.split(",")[0].split(":", 1)[1]
    _openssl("req", "-new", "-key", str(key), "-subj", f"/CN={cn}", "-out", str(csr), cwd=pki_dir)
    validity = ["-startdate", start, "-enddate", end] if start and end else ["-days", str(days)]
    _openssl(
        "ca",
        "-batch",
        "-notext",
        "-config",
        str(config),
        "-cert",
        str(pki_dir / "ca.pem"),
        "-keyfile",
        str(pki_dir / "ca.key"),
        "-extensions",
        "leaf",
        "-in",
        str(csr),
        "-out",
        str(cert),
        *validity,
        cwd=pki_dir,
    )
    return cert, key


def make_pki(folder: Path) -> Pki:
    """A throwaway CA and leaf certificates for 127.0.0.1/localhost (and one wrong name)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "issued").mkdir(exist_ok=True)
    (folder / "index.txt").write_text("")
    (folder / "serial").write_text("1000\n")
    _key(folder / "ca.key", "ec", folder)
    _openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        "ca.key",
        "-subj",
        "/CN=prr test CA",
        "-days",
        "30",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-out",
        "ca.pem",
        cwd=folder,
    )
    local = "DNS:localhost,IP:127.0.0.1"
    certs = {
        "good": _issue(folder, "good", san=local),
        "rsa": _issue(folder, "rsa", san=local, kind="rsa"),
        "expired": _issue(
            folder, "expired", san=local, start="20200101000000Z", end="20200201000000Z"
        ),
        "soon": _issue(folder, "soon", san=local, days=7),
        "warn": _issue(folder, "warn", san=local, days=20),
        "wronghost": _issue(folder, "wronghost", san="DNS:other.example"),
    }
    own_key = folder / "selfsigned.key"
    _key(own_key, "ec", folder)
    _openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        str(own_key),
        "-subj",
        "/CN=localhost",
        "-days",
        "30",
        "-addext",
        f"subjectAltName={local}",
        "-out",
        "selfsigned.pem",
        cwd=folder,
    )
    certs["selfsigned"] = (folder / "selfsigned.pem", own_key)
    return Pki(folder, folder / "ca.pem", certs)


# --- nginx configuration ---------------------------------------------------------------------

GOOD_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "geolocation=(), camera=()",
    "RateLimit-Limit": "100",
    "RateLimit-Remaining": "99",
    "Access-Control-Allow-Origin": "$cors_origin",
    "Vary": "Origin",
}
HEALTH_BODY = json.dumps({"status": "ok", "checks": {"db": "ok", "redis": "ok"}})

GOOD_PATHS: dict[str, Any] = {
    "/api/orders": {"get": {}, "post": {}},
    "/api/orders/{id}": {"get": {}},
    "/api/me": {"get": {"security": [{"bearer": []}]}},
    "/healthz": {"get": {"security": []}},
}
GOOD_OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "shop", "version": "1"},
    "security": [{"bearer": []}],
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": GOOD_PATHS,
}
LEAKY_OPENAPI: dict[str, Any] = {
    **GOOD_OPENAPI,
    "paths": {**GOOD_PATHS, "/api/export": {"get": {}}},
}


def _headers(headers: dict[str, str]) -> str:
    return "".join(f'        add_header {k} "{v}" always;\n' for k, v in headers.items())


def _tls(pki: Pki, cert: str, protocols: str = "TLSv1.2 TLSv1.3", ciphers: str = "") -> str:
    crt, key = pki.certs[cert]
    out = f"        ssl_certificate {crt};\n        ssl_certificate_key {key};\n"
    out += f"        ssl_protocols {protocols};\n"
    if ciphers:
        out += f"        ssl_ciphers {ciphers};\n"
    return out


def _good_locations(headers: str, openapi: str) -> str:
    return f"""
        location = / {{
{headers}            add_header Set-Cookie "session=opaque; Path=/; Secure; HttpOnly; SameSite=Lax";
            default_type application/json;
            return 200 '{{"service": "shop"}}';
        }}
        location = /healthz {{
{headers}            default_type application/json;
            return 200 '{HEALTH_BODY}';
        }}
        location = /openapi.json {{
{headers}            default_type application/json;
            return 200 '{openapi}';
        }}
        location /api/ {{
{headers}            return 401;
        }}
        location /static/ {{
{headers}            add_header Cache-Control "public, max-age=31536000, immutable" always;
            add_header Via "1.1 edge-cache" always;
        }}
"""


@dataclass
class Sites:
    """Ports of the nginx fixture's server blocks, by scenario name."""

    ports: dict[str, int] = field(default_factory=dict)
    root: Path = Path()

    def url(self, name: str, path: str = "/", scheme: str = "https") -> str:
        return f"{scheme}://127.0.0.1:{self.ports[name]}{path}"


def nginx_config(
    folder: Path,
    pki: Pki,
    *,
    slow_upstream: int | None = None,
    copies: int = 0,
) -> tuple[Path, Sites]:
    """Write ``nginx.conf`` under ``folder`` for every scenario; returns it and the ports.

    ``copies`` adds that many more copies of the good site (``good-0`` …) for benchmarks.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for sub in ("tmp", "html/static"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "html" / STATIC_ASSET.lstrip("/")).write_text(
        "export function main() { return 'hello'; }\n" * 64
    )
    sites = Sites(root=folder)
    names = [
        "good",
        "good-http",
        "bare",
        "bare-http",
        "tls10",
        "expired",
        "soon",
        "warn",
        "selfsigned",
        "wronghost",
        "loop",
        "auth",
    ]
    if slow_upstream is not None:
        names.append("slow")
    names += [f"good-{i}" for i in range(copies)]
    used: set[int] = set()
    for name in names:
        port = free_port()
        while port in used:
            port = free_port()
        used.add(port)
        sites.ports[name] = port
    good_headers = _headers(GOOD_HEADERS)
    good_api = json.dumps(GOOD_OPENAPI)
    leaky_api = json.dumps(LEAKY_OPENAPI)
    p = sites.ports
    servers: list[str] = []

    def good_server(port: int, cert: str = "good") -> str:
        return f"""
    server {{
        listen 127.0.0.1:{port} ssl;
        server_tokens off;
{_tls(pki, cert)}{_good_locations(good_headers, good_api)}
    }}"""

    servers.append(good_server(p["good"]))
    servers.append(f"""
    server {{
        listen 127.0.0.1:{p["good-http"]};
        server_tokens off;
        return 301 https://127.0.0.1:{p["good"]}$request_uri;
    }}""")
    bare_headers = _headers(
        {
            "X-Powered-By": "PHP/8.1.2",
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Credentials": "true",
        }
    )
    reflect_headers = _headers(
        {"Access-Control-Allow-Origin": "$http_origin", "Access-Control-Allow-Credentials": "true"}
    )
    servers.append(f"""
    server {{
        listen 127.0.0.1:{p["bare"]} ssl;
        server_tokens on;
{_tls(pki, "good")}
        location = / {{
{bare_headers}            add_header Set-Cookie "sid=opaque; Path=/" always;
            add_header Set-Cookie "_ga=GA1.1.1.1; Path=/" always;
            return 200 'hello';
        }}
        location = /healthz {{ return 503 'down'; }}
        location = /openapi.json {{ default_type application/json; return 200 '{leaky_api}'; }}
        location /api/ {{ return 401; }}
        location = /api/export {{ default_type application/json; return 200 '[]'; }}
        location /reflect/ {{
{reflect_headers}            return 200 'reflect';
        }}
        location /static/ {{ gzip off; }}
    }}
    server {{
        listen 127.0.0.1:{p["bare-http"]};
        server_tokens on;
        location / {{ return 200 'plain http'; }}
    }}""")
    servers.append(f"""
    server {{
        listen 127.0.0.1:{p["tls10"]} ssl;
        server_tokens off;
{_tls(pki, "rsa", "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", "ALL:@SECLEVEL=0")}{_good_locations(good_headers, good_api)}
    }}""")
    for name in ("expired", "soon", "warn", "selfsigned", "wronghost"):
        servers.append(good_server(p[name], name))
    servers.append(f"""
    server {{
        listen 127.0.0.1:{p["loop"]} ssl;
        server_tokens off;
{_tls(pki, "good")}
        location = / {{ return 302 /a; }}
        location = /a {{ return 302 /b; }}
        location = /b {{ return 302 /; }}
        location = /healthz {{ return 302 /healthz; }}
    }}""")
    servers.append(f"""
    server {{
        listen 127.0.0.1:{p["auth"]} ssl;
        server_tokens off;
{_tls(pki, "good")}
        location / {{
            if ($http_x_api_key != "{AUTH_SECRET}") {{ return 401 'key required'; }}
{good_headers}            default_type application/json;
            return 200 '{HEALTH_BODY}';
        }}
    }}""")
    if slow_upstream is not None:
        servers.append(f"""
    server {{
        listen 127.0.0.1:{p["slow"]} ssl;
        server_tokens off;
{_tls(pki, "good")}
        location / {{
            proxy_pass http://127.0.0.1:{slow_upstream};
            proxy_read_timeout 60s;
        }}
    }}""")
    for i in range(copies):
        servers.append(good_server(p[f"good-{i}"]))
    user = "user root root;\n" if os.geteuid() == 0 else ""
    tmp = folder / "tmp"
    config = f"""{user}worker_processes 2;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    root {folder}/html;
    types {{ text/html html; application/javascript js; application/json json; }}
    default_type text/plain;
    gzip on;
    gzip_min_length 64;
    gzip_types application/javascript application/json;
    map $http_origin $cors_origin {{
        default "";
        "https://app.example.com" $http_origin;
    }}
{"".join(servers)}
}}
"""
    path = folder / "nginx.conf"
    path.write_text(config)
    return path, sites


@contextlib.contextmanager
def run_nginx(config: Path, sites: Sites, first: str = "good") -> Iterator[Sites]:
    """Run nginx with ``config`` until the block ends (always stopped)."""
    nginx = find_binary("nginx")
    prefix = config.parent
    argv = [nginx, "-p", str(prefix), "-c", str(config), "-g", "daemon off;"]
    with running(argv, sites.ports[first], log=prefix / "nginx.out"):
        for port in sites.ports.values():
            wait_for_port(port, timeout=10)
        yield sites


# --- other misbehaving servers -----------------------------------------------------------------


class _SlowHandler(BaseHTTPRequestHandler):
    """Answers after ``server.delay`` seconds (or when the server is released)."""

    def do_GET(self) -> None:
        release: threading.Event = self.server.release  # type: ignore[attr-defined]
        release.wait(self.server.delay)  # type: ignore[attr-defined]
        body = b'{"status": "ok"}'
        with contextlib.suppress(OSError):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextlib.contextmanager
def slow_upstream(delay: float = 30.0) -> Iterator[int]:
    """A plain HTTP server on loopback that answers every GET after ``delay`` seconds."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    server.daemon_threads = True
    server.delay = delay  # type: ignore[attr-defined]
    server.release = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.release.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (kernel backlog) but never says anything."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield int(sock.getsockname()[1])
