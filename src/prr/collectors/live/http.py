"""Live HTTP(S) endpoints: TLS, redirects, security headers, CORS, health, latency, auth.

For every endpoint of an environment (``environments.NAME.endpoints`` in
``prr.yaml``) this collector asks the running service what it actually does:
which TLS versions it accepts and what certificate it presents (see
:mod:`prr.collectors.live.tls`), whether plain HTTP is redirected, which
security headers and CORS answers it sends, whether its health endpoint answers
and how fast, and whether the GET operations its OpenAPI document marks as
secured refuse anonymous requests.

Only GET requests are sent (never a state-changing method). Every request has
the per-call timeout, counts against ``limits.max_requests`` for its endpoint,
reads at most ``limits.max_body_bytes``, follows at most ``limits.max_redirects``
redirects (with loop detection), and passes the address guard first. The
``auth_header`` of an endpoint is sent only to that endpoint's own origin over
a verified connection, and never recorded; cookies are kept by name and
attributes only.

Requests go over the collector's own HTTP/1.1 connections, kept alive: the one
whose handshake showed the certificate carries the first requests and the
latency samples, and at most ``limits.connections_per_endpoint`` requests of
an endpoint are in flight. All endpoints are read at once, up to
``limits.endpoints_in_flight``: with CPU per endpoint kept low, a scan of many
endpoints takes about as long as its slowest one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import ipaddress
import json
import math
import re
import ssl
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, quote, urljoin, urlsplit

import yaml

from prr._version import __version__
from prr.collectors.live import tls
from prr.collectors.live.base import LiveCollector, LiveContext, ParityView, register_live
from prr.collectors.live.guard import AddressGuard, redact_url
from prr.errors import CollectorError
from prr.model.target import ENV_REF, Endpoint, resolve_secret

NAME = "http"
USER_AGENT = f"prr-live/{__version__} (production readiness review; read-only)"
CORS_PROBE_ORIGIN = "https://prr-cors-probe.invalid"
MAX_AUTH_PROBES = 20
MAX_LISTED = 20
MAX_HEADER_CHARS = 300
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_KEPT_HEADERS = frozenset(
    {
        "server",
        "x-powered-by",
        "x-aspnet-version",
        "x-aspnetmvc-version",
        "x-generator",
        "strict-transport-security",
        "content-security-policy",
        "content-security-policy-report-only",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "permissions-policy",
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "vary",
        "cache-control",
        "expires",
        "content-encoding",
        "content-type",
        "location",
        "retry-after",
        "via",
        "age",
        "x-cache",
        "x-cache-hits",
        "cf-ray",
        "cf-cache-status",
        "x-amz-cf-id",
        "x-amz-cf-pop",
        "x-served-by",
        "x-fastly-request-id",
        "akamai-cache-status",
        "x-akamai-transformed",
        "x-azure-ref",
        "x-cdn",
        "cdn-cache-control",
    }
)
_RATE_LIMIT_PREFIXES = ("ratelimit", "x-ratelimit", "x-rate-limit")
REFUSED = "connection refused"
BASE_HEADERS = {"user-agent": USER_AGENT, "accept": "*/*", "accept-encoding": "identity"}
NO_HTTP_URL = "plain HTTP not probed: HTTPS is on a non-default port and no http_url is configured"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# --- facts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cookie:
    """A cookie the endpoint set: its name and attributes, never its value."""

    name: str
    secure: bool
    http_only: bool
    same_site: str | None


@dataclass(frozen=True)
class Exchange:
    """One GET prr sent (after redirects) and what answered; headers filtered to those prr reads."""

    url: str
    """The URL asked first (redacted)."""
    at: str
    status: int | None = None
    error: str | None = None
    """Why nothing usable answered (prr's wording); None when a response came back."""
    elapsed_ms: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    cookies: tuple[Cookie, ...] = ()
    redirects: tuple[str, ...] = ()
    """URLs redirected through, in order (redacted), ending with the final one."""
    truncated: bool = False

    @property
    def final_url(self) -> str:
        return self.redirects[-1] if self.redirects else self.url

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def describe(self) -> str:
        """``GET url → 200 at 2026-…`` for evidence."""
        answer = f"{self.status}" if self.ok else f"no answer ({self.error})"
        hops = f" via {len(self.redirects) - 1} redirect(s)" if len(self.redirects) > 1 else ""
        return f"GET {self.url} → {answer}{hops} at {self.at}"


@dataclass(frozen=True)
class TlsFacts:
    """What the TLS handshakes of one endpoint showed."""

    at: str
    error: str | None = None
    """The endpoint could not be reached over TLS at all (refused, timeout, handshake)."""
    protocols: dict[str, str] = field(default_factory=dict)
    """``TLSv1.0`` … ``TLSv1.3`` → ``accepted``, ``refused`` or ``could not test``."""
    protocol_details: dict[str, str] = field(default_factory=dict)
    negotiated: str | None = None
    cipher: str | None = None
    trusted: bool | None = None
    trust_error: str | None = None
    hostname_match: bool | None = None
    subject: str | None = None
    issuer: str | None = None
    not_after: str | None = None
    """Expiry date (ISO ``YYYY-MM-DD``)."""
    days_left: int | None = None
    key: str | None = None
    key_bits: int | None = None
    self_signed: bool | None = None
    names: tuple[str, ...] = ()
    """Subject alternative names (DNS names and IP addresses)."""
    certificate_error: str | None = None

    @property
    def accepted(self) -> tuple[str, ...]:
        return tuple(k for k, v in self.protocols.items() if v == tls.ACCEPTED)


@dataclass(frozen=True)
class Latency:
    """Sequential GETs of the health path: how long each full answer took."""

    url: str
    at: str
    requested: int
    samples: int
    p50_ms: float | None = None
    p95_ms: float | None = None
    max_ms: float | None = None
    statuses: tuple[int, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class AuthProbe:
    """An anonymous GET of an operation the OpenAPI document marks as secured."""

    path: str
    url: str
    at: str
    status: int | None
    error: str | None = None


@dataclass(frozen=True)
class OpenApiFacts:
    """The OpenAPI document named by the endpoint and the anonymous probes it led to."""

    source: str
    error: str | None = None
    secured_get: int = 0
    """GET operations with a security requirement and no path parameter."""
    skipped: tuple[str, ...] = ()
    """Why some operations were not probed (path parameters, budget)."""
    probes: tuple[AuthProbe, ...] = ()


@dataclass(frozen=True)
class EndpointReport:
    """Everything prr read from one endpoint; ``error`` set when it could not be read at all."""

    name: str
    url: str
    at: str
    https: bool
    error: str | None = None
    tls: TlsFacts | None = None
    main: Exchange | None = None
    http_redirect: Exchange | None = None
    http_url: str | None = None
    cors: Exchange | None = None
    health: Exchange | None = None
    health_keys: tuple[str, ...] = ()
    health_dependencies: tuple[str, ...] = ()
    latency: Latency | None = None
    openapi: OpenApiFacts | None = None
    static: Exchange | None = None
    auth_sent: bool = False
    auth_note: str | None = None
    requests: int = 0
    notes: tuple[str, ...] = ()

    # --- interpretations shared by the checks and the parity view ---

    def hsts(self) -> dict[str, Any] | None:
        """Parsed Strict-Transport-Security of the main answer (None when absent)."""
        value = self.main.header("strict-transport-security") if self.main else None
        return parse_hsts(value) if value is not None else None

    def security_headers(self) -> tuple[str, ...]:
        """Baseline security headers present (and meaningful) on the main answer."""
        if not self.main or not self.main.ok:
            return ()
        h = self.main.headers
        found = []
        csp = h.get("content-security-policy", "")
        if csp:
            found.append("content-security-policy")
        if "frame-ancestors" in csp.lower():
            found.append("csp-frame-ancestors")
        if h.get("x-content-type-options", "").strip().lower() == "nosniff":
            found.append("x-content-type-options")
        if h.get("x-frame-options", "").strip().upper() in {"DENY", "SAMEORIGIN"}:
            found.append("x-frame-options")
        for name in ("referrer-policy", "permissions-policy", "strict-transport-security"):
            if h.get(name):
                found.append(name)
        return tuple(sorted(found))

    def server(self) -> tuple[str | None, str | None]:
        """(product, version) from the Server header; version None when not disclosed."""
        value = self.main.header("server") if self.main else None
        return parse_server(value)

    def disclosure(self) -> tuple[str, ...]:
        """Headers that reveal software versions (``Server: nginx/1.22.1``, ``X-Powered-By``)."""
        if not self.main or not self.main.ok:
            return ()
        out = []
        _product, version = self.server()
        if version:
            out.append(f"Server: {self.main.header('server')}")
        for name in ("x-powered-by", "x-aspnet-version", "x-aspnetmvc-version", "x-generator"):
            value = self.main.header(name)
            if value:
                out.append(f"{name.title()}: {value}")
        return tuple(out)

    def cors_behaviour(self) -> str | None:
        """``none``, ``wildcard``, ``reflects``, ``explicit`` (``+credentials``); None: unread."""
        if not self.cors or not self.cors.ok:
            return None
        origin = (self.cors.header("access-control-allow-origin") or "").strip()
        credentials = (
            self.cors.header("access-control-allow-credentials") or ""
        ).strip().lower() == "true"
        if not origin:
            return "none"
        if origin == "*":
            kind = "wildcard"
        elif origin.rstrip("/") == CORS_PROBE_ORIGIN:
            kind = "reflects"
        elif origin.lower() == "null":
            kind = "null"
        else:
            kind = "explicit"
        return kind + ("+credentials" if credentials else "")

    def rate_limit_headers(self) -> tuple[str, ...]:
        names: set[str] = set()
        for exchange in (self.main, self.health):
            if exchange and exchange.ok:
                names |= {
                    n
                    for n in exchange.headers
                    if n.startswith(_RATE_LIMIT_PREFIXES) or n == "retry-after"
                }
        return tuple(sorted(names))

    def cookies(self) -> tuple[Cookie, ...]:
        seen: dict[str, Cookie] = {}
        for exchange in (self.main, self.health):
            if exchange:
                for cookie in exchange.cookies:
                    seen.setdefault(cookie.name, cookie)
        return tuple(seen.values())


@dataclass(frozen=True)
class EndpointFacts(ParityView):
    """The live HTTP(S) facts of one environment: one entry per endpoint in ``prr.yaml``."""

    environment: str
    endpoints: tuple[EndpointReport, ...] = ()
    at: str = ""

    def parity(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for e in self.endpoints:
            if e.error:
                continue
            key = f"http.{e.name}"
            if e.tls and not e.tls.error:
                out[f"{key}.tls.protocols"] = sorted(e.tls.accepted)
            if e.main and e.main.ok:
                out[f"{key}.hsts"] = e.main.header("strict-transport-security")
                out[f"{key}.security_headers"] = list(e.security_headers())
                product, version = e.server()
                out[f"{key}.server.product"] = product
                if version:
                    out[f"{key}.server.version"] = version
            behaviour = e.cors_behaviour()
            if behaviour is not None:
                out[f"{key}.cors"] = behaviour
            if e.health and e.health.ok:
                out[f"{key}.health.status"] = e.health.status
        return out


def parse_hsts(value: str) -> dict[str, Any]:
    """``{"max_age": int | None, "include_subdomains": bool, "preload": bool}``."""
    max_age: int | None = None
    subdomains = preload = False
    for part in value.split(";"):
        name, _, arg = part.strip().partition("=")
        name = name.strip().lower()
        if name == "max-age":
            with contextlib.suppress(ValueError):
                max_age = int(arg.strip().strip('"'))
        elif name == "includesubdomains":
            subdomains = True
        elif name == "preload":
            preload = True
    return {"max_age": max_age, "include_subdomains": subdomains, "preload": preload}


_VERSION = re.compile(r"/\s*v?(\d+(?:\.\d+)*)")


def parse_server(value: str | None) -> tuple[str | None, str | None]:
    """(product, version) of a Server header: ``nginx/1.22.1`` → (``nginx``, ``1.22.1``)."""
    if not value or not value.strip():
        return None, None
    product = re.split(r"[/\s(]", value.strip(), maxsplit=1)[0] or None
    match = _VERSION.search(value)
    return product, match.group(1) if match else None


def _cookie(header: str) -> Cookie | None:
    parts = [p.strip() for p in header.split(";")]
    name = parts[0].split("=", 1)[0].strip()
    if not name:
        return None
    attrs = {p.split("=", 1)[0].strip().lower(): p.partition("=")[2].strip() for p in parts[1:]}
    return Cookie(
        name=name[:80],
        secure="secure" in attrs,
        http_only="httponly" in attrs,
        same_site=attrs.get("samesite") or None,
    )


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of ``values`` (non-empty)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


# --- bounded requests -----------------------------------------------------------------------


class _Budget:
    """Requests left for one endpoint (``limits.max_requests``)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0

    def take(self) -> bool:
        if self.used >= self.total:
            return False
        self.used += 1
        return True

    @property
    def left(self) -> int:
        return self.total - self.used


class _Failed(Exception):
    """A request could not be completed; ``reason`` is prr's own text (no secrets)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Malformed(Exception):
    """The answer is not HTTP/1.x as prr reads it."""


class _Closed(Exception):
    """The server closed the connection; ``early`` when no byte of the answer had come."""

    def __init__(self, early: bool) -> None:
        super().__init__("closed")
        self.early = early


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in out and len(out) < 10:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def _translate(exc: BaseException, timeout: float) -> str:
    """prr's message for a failed request; never a library's text (it may hold the URL)."""
    chain = _chain(exc)
    if any(isinstance(e, TimeoutError) for e in chain):
        return f"timed out after {timeout:g}s"
    if isinstance(exc, tls.TlsConnectError):
        return exc.reason  # prr's own wording already ("connection refused" is REFUSED)
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError | ssl.SSLError):
            return tls.tls_failure(e)
    for e in chain:
        if isinstance(e, ConnectionRefusedError):
            return REFUSED
    if isinstance(exc, _Malformed):
        return "malformed response"
    if isinstance(exc, _Closed | ConnectionError | asyncio.IncompleteReadError):
        return "the connection was closed while reading the response"
    if isinstance(exc, OSError):
        return f"request failed: {exc.strerror or type(exc).__name__}"
    return f"request failed ({type(exc).__name__})"


def _same_origin(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    default = {"https": 443, "http": 80}
    return (
        x.scheme == y.scheme
        and (x.hostname or "") == (y.hostname or "")
        and (x.port or default.get(x.scheme)) == (y.port or default.get(y.scheme))
    )


# HTTP/1.1 on the wire: a GET at a time per connection, the answer framed by
# Content-Length, chunks or the end of the connection (RFC 9112). Parsing only what
# prr reads keeps a request at a fraction of a general client's CPU cost.

_MAX_HEAD = 64 * 1024
_MAX_LINE = 8 * 1024
_STATUS_LINE = re.compile(r"HTTP/1\.([01]) ([1-9]\d\d)(?: [^\r\n]*)?")
_FIELD = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\r\n]*"
_FIELDS = re.compile(rf"{_FIELD}(?:\r\n{_FIELD})*")
_FRAMING = re.compile(
    r"^(content-length|transfer-encoding|connection|content-encoding):([^\r\n]*)", re.I | re.M
)
_DIGITS = re.compile(r"[0-9]{1,18}")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,15})[ \t]*(?:;[^\r\n]*)?")
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?"


@dataclass
class _Response:
    status: int
    fields: str
    """The header section after the status line, as received (validated)."""
    persistent: bool = True
    """HTTP/1.1 without ``Connection: close``: the connection may carry another request."""
    framing: dict[str, list[str]] = field(default_factory=dict)
    """The headers that frame the body (Content-Length, Transfer-Encoding, Connection …)."""

    @functools.cached_property
    def headers(self) -> list[tuple[str, str]]:
        """(lower-case name, value) in the order received; parsed only when asked for."""
        if not self.fields:
            return []
        pairs = (line.partition(":") for line in self.fields.split("\r\n"))
        return [(name.lower(), value.strip(" \t")) for name, _, value in pairs]

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    def get_list(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]


def _target(parts: SplitResult) -> str:
    """The request target (path and query), percent-encoded where the URL was not."""
    path = quote(parts.path or "/", safe=_SAFE_PATH)
    return path + (f"?{quote(parts.query, safe=_SAFE_QUERY)}" if parts.query else "")


def _host_header(parts: SplitResult) -> str:
    host = parts.hostname or ""
    name = f"[{host}]" if ":" in host else host
    port = parts.port
    default = 443 if parts.scheme == "https" else 80
    return name if port in (None, default) else f"{name}:{port}"


@dataclass(frozen=True)
class _Url:
    """What a session needs of a URL, worked out once per URL (latency samples repeat it)."""

    key: tuple[str, str, int]
    """(scheme, host, port): the connection pool it belongs to."""
    start: str
    """Request line and Host header."""
    shown: str
    same_origin: bool

    @classmethod
    def of(cls, url: str, origin: str) -> _Url:
        try:
            parts = urlsplit(url)
            key = _origin_key(parts)
            start = f"GET {_target(parts)} HTTP/1.1\r\nhost: {_host_header(parts)}"
        except ValueError:
            raise _Failed("invalid URL") from None
        return cls(key, start, redact_url(url), _same_origin(url, origin))


def _request_head(url: _Url, headers: dict[str, str]) -> bytes:
    lines = [url.start]
    for name, value in headers.items():
        if any(c in value for c in "\r\n\0"):
            raise _Failed(f"the {name} header holds a line break")
        lines.append(f"{name}: {value}")
    try:
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError:
        raise _Failed("a request header holds characters HTTP/1.1 cannot send") from None


class _Wire:
    """One HTTP/1.1 connection to one origin and the bytes read from it but not yet used."""

    def __init__(self, connection: tls.Connection) -> None:
        self.connection = connection
        self.buffer = bytearray()

    async def _fill(self) -> bool:
        data = await self.connection.receive()
        self.buffer += data
        return bool(data)

    async def _take(self, count: int) -> bytes:
        while len(self.buffer) < count:
            if not await self._fill():
                raise _Closed(early=False)
        out = bytes(self.buffer[:count])
        del self.buffer[:count]
        return out

    async def _line(self) -> bytes:
        while (end := self.buffer.find(b"\n")) < 0:
            if len(self.buffer) > _MAX_LINE:
                raise _Malformed("line too long")
            if not await self._fill():
                raise _Closed(early=False)
        line = bytes(self.buffer[:end]).rstrip(b"\r")
        del self.buffer[: end + 1]
        return line

    async def _head(self) -> _Response:
        while True:
            while (end := self.buffer.find(b"\r\n\r\n")) < 0:
                if len(self.buffer) > _MAX_HEAD:
                    raise _Malformed("header section too large")
                if not await self._fill():
                    raise _Closed(early=not self.buffer)
            text = bytes(self.buffer[:end]).decode("latin-1")
            del self.buffer[: end + 4]
            first, _, fields = text.partition("\r\n")
            match = _STATUS_LINE.fullmatch(first)
            if not match:
                raise _Malformed("no HTTP/1.x status line")
            if fields and not _FIELDS.fullmatch(fields):
                raise _Malformed("malformed header line")  # also obsolete line folding
            status = int(match.group(2))
            if status == 101:
                raise _Malformed("switching protocols on a GET")
            if status >= 200:
                framing: dict[str, list[str]] = {}
                for found in _FRAMING.finditer(fields):
                    name, value = found.group(1).lower(), found.group(2).strip(" \t")
                    framing.setdefault(name, []).append(value)
                tokens = ",".join(framing.get("connection", ())).lower()
                persistent = match.group(1) == "1" and "close" not in tokens
                return _Response(status, fields, persistent, framing)
            # 1xx (103 Early Hints …): an interim answer; the final one follows.

    async def exchange(
        self, url: _Url, headers: dict[str, str], keep: bool, limit: int
    ) -> tuple[_Response, bytes, bool, bool]:
        """(response, body up to ``limit`` when ``keep``, truncated, reusable)."""
        head = _request_head(url, headers)
        try:
            self.connection.send(head)
            response = await self._head()
        except ConnectionError:
            raise _Closed(early=not self.buffer) from None
        chunks: list[bytes] = []
        size = 0
        truncated = False
        reusable = response.persistent

        def add(data: bytes) -> bool:
            """Keep or count ``data``; False once the cap is passed."""
            nonlocal size, truncated
            room = limit - size
            if len(data) > room:
                data, truncated = data[:room], True
            size += len(data)
            if keep:
                chunks.append(data)
            return not truncated

        encoding = ",".join(response.framing.get("transfer-encoding", ())).lower()
        length = response.framing.get("content-length", [])
        if response.status in (204, 304):
            pass
        elif encoding:
            if encoding.replace(" ", "").split(",")[-1] != "chunked":
                reusable = False
                await self._until_close(add)
            else:
                await self._chunked(add, limit)
        elif length:
            if len(set(length)) != 1 or not _DIGITS.fullmatch(length[0]):
                raise _Malformed("bad Content-Length")
            expected = int(length[0])
            add(await self._take(min(expected, limit + 1)))
        else:
            reusable = False
            await self._until_close(add)
        body = b"".join(chunks)
        if keep and body:
            coding = response.framing.get("content-encoding")
            body = _decoded(body, coding[0] if coding else None, limit)
        return response, body, truncated, reusable and not truncated

    async def _chunked(self, add: Callable[[bytes], bool], limit: int) -> None:
        read = 0
        while True:
            digits = await self._line()
            match = _CHUNK_SIZE.fullmatch(digits)
            if not match:
                raise _Malformed("bad chunk size")
            size = int(match.group(1), 16)
            if size == 0:
                while await self._line():
                    pass  # trailer fields
                return
            piece = await self._take(min(size, limit + 1 - read))  # never more than the cap
            read += len(piece)
            if not add(piece):
                return
            if await self._line():
                raise _Malformed("chunk not followed by CRLF")

    async def _until_close(self, add: Callable[[bytes], bool]) -> None:
        while True:
            data = bytes(self.buffer)
            self.buffer.clear()
            if data and not add(data):
                return
            if not await self._fill():
                return


def _decoded(body: bytes, encoding: str | None, limit: int) -> bytes:
    """``body`` without its gzip/deflate content coding (at most ``limit`` bytes); else as is."""
    coding = (encoding or "").strip().lower()
    if coding not in ("gzip", "x-gzip", "deflate"):
        return body
    try:
        inflater = zlib.decompressobj(47 if coding != "deflate" else 15)
        return inflater.decompress(body, limit)
    except zlib.error:
        if coding == "deflate":  # some servers send raw deflate without the zlib wrapper
            with contextlib.suppress(zlib.error):
                return zlib.decompressobj(-15).decompress(body, limit)
        return body


class _Shared:
    """Work shared by the endpoints of one scan: address checks and TLS version probes.

    Endpoints on the same host and port get one guard check and one set of version
    probes between them, however many paths of that server ``prr.yaml`` names.
    """

    def __init__(self, guard: AddressGuard, timeout: float) -> None:
        self.guard = guard
        self.timeout = timeout
        self._checked: dict[tuple[str, int], asyncio.Task[list[str]]] = {}
        self._probes: dict[tuple[str, int, str | None], asyncio.Task[dict[str, Any]]] = {}

    async def check(self, url: str) -> None:
        """Raise :class:`CollectorError` when the guard refuses the host of ``url``."""
        parts = urlsplit(url)
        if not parts.hostname:
            await self.guard.check_url(url, timeout=self.timeout)
            return
        _scheme, host, port = _origin_key(parts)
        if _is_ip(host):  # nothing to resolve: no thread, no task
            self.guard.check_ip(host, redact_url(url))
            return
        key = (host, port)
        task = self._checked.get(key)
        if task is None:
            task = asyncio.ensure_future(self.guard.check_url(url, timeout=self.timeout))
            self._checked[key] = task
        await asyncio.shield(task)

    async def protocols(
        self,
        host: str,
        port: int,
        sni: str | None,
        known: dict[str, tuple[str, str]],
    ) -> dict[str, tuple[str, str]]:
        """The TLS versions of ``host:port``, probed once for all its endpoints."""
        key = (host.lower(), port, sni)
        task = self._probes.get(key)
        if task is None:
            probe = tls.probe_versions(host, port, sni=sni, timeout=self.timeout, known=known)
            task = asyncio.ensure_future(probe)
            self._probes[key] = task
        return dict(await asyncio.shield(task))


@dataclass
class _Session:
    """One endpoint's connections, budget, limits and (optional) credentials."""

    shared: _Shared
    budget: _Budget
    limit: asyncio.Semaphore
    """Requests in flight for this endpoint (``limits.connections_per_endpoint``)."""
    timeout: float
    max_body: int
    max_redirects: int
    origin: str
    auth: tuple[str, str] | None = None
    context: ssl.SSLContext | None = None
    """How HTTPS connections are opened: verifying when the endpoint's certificate verified."""
    idle: dict[tuple[str, str, int], list[_Wire]] = field(default_factory=dict)
    wires: list[_Wire] = field(default_factory=list)
    urls: dict[str, _Url] = field(default_factory=dict)
    checked: set[tuple[str, str, int]] = field(default_factory=set)

    def url(self, url: str) -> _Url:
        known = self.urls.get(url)
        if known is None:
            known = _Url.of(url, self.origin)
            if len(self.urls) < 256:
                self.urls[url] = known
        return known

    def adopt(self, url: str, connection: tls.Connection) -> None:
        """Keep an open connection (the one whose handshake gave the TLS facts) for reuse."""
        wire = _Wire(connection)
        self.wires.append(wire)
        self.idle.setdefault(_origin_key(urlsplit(url)), []).append(wire)

    def close(self) -> None:
        for wire in self.wires:
            wire.connection.close()
        self.wires.clear()
        self.idle.clear()

    async def get(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        follow: bool = True,
        body: bool = False,
        credentials: bool = True,
    ) -> tuple[Exchange, bytes]:
        """GET ``url`` (following redirects when asked); never raises for network failures."""
        at = _now()
        hops: list[str] = []
        seen: set[str] = set()
        current = url
        started = time.perf_counter()
        shown = redact_url(url)
        try:
            shown = self.url(url).shown
            for _ in range(self.max_redirects + 1):
                seen.add(current)
                response, content, truncated = await self._send(
                    current, headers or {}, credentials, body
                )
                location = response.get("location")
                if follow and response.status in REDIRECTS and location:
                    target = urljoin(current, location)
                    if urlsplit(target).scheme not in ("http", "https"):
                        raise _Failed("redirected to a non-HTTP URL")
                    hops.append(redact_url(current))
                    if target in seen:
                        loop = " → ".join([*hops, redact_url(target)])
                        raise _Failed(f"redirect loop: {loop}")
                    current = target
                    continue
                if hops:
                    hops.append(redact_url(current))
                return (
                    Exchange(
                        url=shown,
                        at=at,
                        status=response.status,
                        elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
                        headers=_kept(response.headers, self.auth[1] if self.auth else None),
                        cookies=tuple(
                            c for c in (_cookie(h) for h in response.get_list("set-cookie")) if c
                        ),
                        redirects=tuple(hops),
                        truncated=truncated,
                    ),
                    content,
                )
            raise _Failed(f"more than {self.max_redirects} redirects")
        except _Failed as exc:
            return Exchange(url=shown, at=at, error=exc.reason, redirects=tuple(hops)), b""

    async def sample(self, url: str) -> tuple[int | None, str | None]:
        """One latency sample: (status, None) or (None, why); no redirect is followed.

        The request is the one :meth:`get` would send; only the answer's status and
        framing are read, which is all a sample needs.
        """
        try:
            response, _content, _truncated = await self._send(url, {}, True, False)
        except _Failed as exc:
            return None, exc.reason
        return response.status, None

    async def _send(
        self, url: str, headers: dict[str, str], credentials: bool, body: bool
    ) -> tuple[_Response, bytes, bool]:
        if not self.budget.take():
            raise _Failed(f"not sent: request budget of {self.budget.total} used up")
        target = self.url(url)
        if target.key not in self.checked:
            try:
                await self.shared.check(url)
            except CollectorError as exc:
                raise _Failed(str(exc).removeprefix(f"{exc.source}: ")) from None
            self.checked.add(target.key)
        sent = {**BASE_HEADERS, **headers}
        if credentials and self.auth and target.same_origin:
            sent[self.auth[0]] = self.auth[1]
        async with self.limit:
            try:
                async with asyncio.timeout(self.timeout):
                    return await self._exchange(target, sent, body)
            except _Failed:
                raise
            except Exception as exc:  # translated: library messages may carry the URL
                raise _Failed(_translate(exc, self.timeout)) from None

    async def _exchange(
        self, url: _Url, headers: dict[str, str], body: bool
    ) -> tuple[_Response, bytes, bool]:
        key = url.key
        idle = self.idle.setdefault(key, [])
        while idle:
            wire = idle.pop()
            if not wire.connection.stale:
                break
            wire.connection.close()
        else:
            wire = await self._open(key)
            return await self._use(wire, url, headers, body)
        try:
            return await self._use(wire, url, headers, body)
        except _Closed as exc:
            if not exc.early:
                raise
            # The server dropped a kept-alive connection before answering: ask once more.
            return await self._use(await self._open(key), url, headers, body)

    async def _use(
        self, wire: _Wire, url: _Url, headers: dict[str, str], body: bool
    ) -> tuple[_Response, bytes, bool]:
        try:
            response, content, truncated, reusable = await wire.exchange(
                url, headers, body, self.max_body
            )
        except BaseException:
            wire.connection.close()
            raise
        if reusable:
            self.idle[url.key].append(wire)
        else:
            wire.connection.close()
        return response, content, truncated

    async def _open(self, key: tuple[str, str, int]) -> _Wire:
        scheme, host, port = key
        context = self.context if scheme == "https" else None
        if scheme == "https" and context is None:
            context = tls.insecure_context()
        connection = await tls.Connection.open(
            host, port, context=context, server_hostname=host, timeout=self.timeout
        )
        wire = _Wire(connection)
        self.wires.append(wire)
        return wire


def _origin_key(parts: SplitResult) -> tuple[str, str, int]:
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def _kept(headers: list[tuple[str, str]], secret: str | None) -> dict[str, str]:
    """The headers prr reads; a value echoing the auth header's value is blanked."""
    out: dict[str, str] = {}
    for key, value in headers:
        if key in _KEPT_HEADERS or key.startswith(_RATE_LIMIT_PREFIXES):
            if key == "location":
                value = redact_url(value) if "://" in value else value.split("?", 1)[0]
            if secret and secret in value:
                value = "<redacted: echoes the auth header>"
            out[key] = value[:MAX_HEADER_CHARS] if key not in out else out[key]
    return out


# --- probes -----------------------------------------------------------------------------------


async def _first_connection(
    host: str, port: int, sni: str | None, timeout: float, limit: asyncio.Semaphore
) -> tuple[tls.Connection | None, TlsFacts, dict[str, tuple[str, str]]]:
    """The endpoint's first TLS connection, what its handshake shows, and the versions it proves.

    The handshake verifies the chain against the trust store but leaves the host name
    to :func:`tls.hostname_matches`, so that a mismatch is reported, not just refused.
    When the chain does not verify, the connection is made again without verification
    to read the certificate. Either way the connection then carries the endpoint's
    requests: the handshake that gives the certificate is not repeated for HTTP.
    """
    at = _now()
    try:
        context = tls.verifying_context(False, tls.ca_bundle())
    except (OSError, ssl.SSLError):
        error = f"cannot read the CA bundle named by {tls.CA_BUNDLE_ENV}"
        return None, TlsFacts(at=at, error=error), {}
    trust_error: str | None = None
    async with limit:
        try:
            connection = await tls.Connection.open(
                host, port, context=context, server_hostname=sni, timeout=timeout
            )
        except tls.TlsConnectError as exc:
            if exc.kind != "untrusted":
                return None, TlsFacts(at=at, error=exc.reason), {}
            trust_error = exc.reason
            context = tls.insecure_context()
            try:
                connection = await tls.Connection.open(
                    host, port, context=context, server_hostname=sni, timeout=timeout
                )
            except tls.TlsConnectError as again:
                facts = TlsFacts(at=at, error=again.reason, trusted=False, trust_error=trust_error)
                return None, facts, {}
    main = connection.negotiated()
    facts = TlsFacts(
        at=at,
        negotiated=main.version,
        cipher=main.cipher,
        trusted=trust_error is None,
        trust_error=trust_error,
    )
    return connection, _certificate(facts, main.der, host), tls.known_from(context, main)


def _certificate(facts: TlsFacts, der: bytes | None, host: str) -> TlsFacts:
    """``facts`` with what the leaf certificate ``der`` says (and whether it names ``host``)."""
    if not der:
        return _replace(facts, certificate_error="the server sent no certificate")
    try:
        cert = tls.parse_certificate(der)
    except ValueError as exc:
        return _replace(facts, certificate_error=str(exc))
    days = (cert.not_after - dt.datetime.now(dt.UTC)).total_seconds() / 86400
    return _replace(
        facts,
        hostname_match=tls.hostname_matches(cert, host),
        subject=cert.subject,
        issuer=cert.issuer,
        not_after=cert.not_after.date().isoformat(),
        days_left=math.floor(days),
        key=cert.key,
        key_bits=cert.key_bits,
        self_signed=cert.self_issued,
        names=(*cert.dns_names, *cert.ip_addresses)[:MAX_LISTED],
    )


def _with_protocols(facts: TlsFacts, outcomes: dict[str, tuple[str, str]]) -> TlsFacts:
    order = [label for label, _v in tls.VERSIONS if label in outcomes]
    return _replace(
        facts,
        protocols={label: outcomes[label][0] for label in order},
        protocol_details={label: outcomes[label][1] for label in order},
    )


def _replace(facts: TlsFacts, **changes: Any) -> TlsFacts:
    return dataclasses.replace(facts, **changes)


_DEPENDENCY_KEYS = frozenset(
    {
        "checks",
        "dependencies",
        "components",
        "details",
        "services",
        "db",
        "database",
        "postgres",
        "postgresql",
        "mysql",
        "redis",
        "cache",
        "kafka",
        "rabbitmq",
        "queue",
        "mongodb",
        "elasticsearch",
    }
)


def _health_body(content: bytes) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(top-level keys, dependency names) of a JSON health answer; names only, no values."""
    try:
        data = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return (), ()
    if not isinstance(data, dict):
        return (), ()
    keys = tuple(str(k)[:60] for k in list(data)[:MAX_LISTED])
    deps: list[str] = []
    for key, value in data.items():
        lowered = str(key).lower()
        if lowered in {"checks", "dependencies", "components", "details", "services"}:
            if isinstance(value, dict):
                deps += [str(k)[:60] for k in value]
            elif isinstance(value, list):
                deps += [
                    str(v.get("name") or v.get("component") or "?")[:60]
                    for v in value
                    if isinstance(v, dict)
                ]
        elif lowered in _DEPENDENCY_KEYS:
            deps.append(str(key)[:60])
    return keys, tuple(dict.fromkeys(deps))[:MAX_LISTED]


def _openapi_operations(spec: Any, base_path: str) -> tuple[list[str], list[str], int]:
    """(secured GET paths to probe, skipped notes, count of secured GETs) of an OpenAPI dict."""
    if not isinstance(spec, dict) or not isinstance(spec.get("paths"), dict):
        raise ValueError("not an OpenAPI document (no paths)")
    default = spec.get("security")
    servers = spec.get("servers")
    prefix = base_path
    if isinstance(servers, list) and servers and isinstance(servers[0], dict):
        server_url = str(servers[0].get("url") or "")
        prefix = urlsplit(server_url).path if "://" in server_url else server_url
    prefix = prefix.rstrip("/")
    probe: list[str] = []
    skipped: list[str] = []
    secured = 0
    for path, item in spec["paths"].items():
        if not isinstance(item, dict) or not isinstance(item.get("get"), dict):
            continue
        operation = item["get"]
        requirement = operation.get("security", item.get("security", default))
        if not isinstance(requirement, list) or not requirement or {} in requirement:
            continue  # public, or authentication optional
        secured += 1
        if "{" in str(path):
            skipped.append(f"{path} (path parameter)")
            continue
        probe.append(prefix + str(path))
    return probe, skipped, secured


async def _load_openapi(
    session: _Session, source: str, endpoint_url: str, root: str | None, limit: int
) -> tuple[Any, str]:
    """The parsed OpenAPI document and where it came from (a repository file or a URL)."""
    file = Path(source) if Path(source).is_absolute() else Path(root or ".") / source
    text: str | None = None
    shown = source
    if not source.startswith(("http://", "https://")) and file.is_file():
        if file.stat().st_size > limit:
            raise _Failed(f"{source} is larger than {limit} bytes")
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise _Failed(f"cannot read {source}") from None
    else:
        if not source.startswith(("http://", "https://", "/")):
            raise _Failed(f"{source} is neither a file in the repository nor a URL")
        url = source if "://" in source else urljoin(endpoint_url, source)
        shown = redact_url(url)
        exchange, content = await session.get(url, body=True)
        if not exchange.ok:
            raise _Failed(f"GET {shown}: {exchange.error}")
        if exchange.status != 200:
            raise _Failed(f"GET {shown} answered {exchange.status}")
        if exchange.truncated:
            raise _Failed(f"GET {shown}: larger than {limit} bytes")
        text = content.decode("utf-8", "replace")
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        raise _Failed(f"{shown} is neither valid JSON nor YAML") from None
    return data, shown


def _auth_line(endpoint: Endpoint, ctx: LiveContext, shown: str) -> tuple[str, str] | None:
    """The endpoint's ``auth_header`` as (name, value); errors name the variable, not the value."""
    if not endpoint.auth_header:
        return None
    match = ENV_REF.match(endpoint.auth_header)
    variable = match.group(1) if match else "?"
    line = resolve_secret(endpoint.auth_header)
    if not line:
        ctx.error(f"{shown} auth_header", f"environment variable {variable} is not set", NAME)
        return None
    name, sep, value = line.partition(":")
    if not sep or not re.fullmatch(r"[A-Za-z0-9-]+", name.strip()) or not value.strip():
        ctx.error(
            f"{shown} auth_header",
            f"{variable} does not hold a header line like 'Authorization: Bearer …'",
            NAME,
        )
        return None
    return name.strip(), value.strip()


def _http_url(endpoint: Endpoint, host: str, port: int | None) -> str | None:
    """Where plain HTTP is asked: the endpoint's ``http_url`` when the target format has one,
    else port 80 of the same host — only when HTTPS is on its default port (443); for any
    other port there is no convention to derive the plain-HTTP port from (None)."""
    configured = getattr(endpoint, "http_url", None)
    if isinstance(configured, str) and configured:
        return configured
    if port not in (None, 443):
        return None
    name = f"[{host}]" if ":" in host else host
    return f"http://{name}/"


async def _endpoint(ctx: LiveContext, endpoint: Endpoint, shared: _Shared) -> EndpointReport:
    limits = ctx.limits
    url = endpoint.url
    shown = redact_url(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    report = EndpointReport(name=endpoint.name, url=shown, at=_now(), https=https)

    def failed(reason: str, **more: Any) -> EndpointReport:
        ctx.error(shown, reason, NAME)
        api = OpenApiFacts(endpoint.openapi, error=reason) if endpoint.openapi else None
        return _copy(report, error=reason, openapi=api, **more)

    try:
        await shared.check(url)
    except CollectorError as exc:
        return failed(str(exc).removeprefix(f"{exc.source}: "))
    sni = None if _is_ip(host) else host
    limit = asyncio.Semaphore(max(1, limits.connections_per_endpoint))
    tls_facts: TlsFacts | None = None
    first: tls.Connection | None = None
    known: dict[str, tuple[str, str]] = {}
    verified = True
    if https:
        first, tls_facts, known = await _first_connection(host, port, sni, limits.timeout_s, limit)
        if tls_facts.error or first is None:
            return failed(f"TLS: {tls_facts.error}", tls=tls_facts)
        verified = bool(tls_facts.trusted and tls_facts.hostname_match)
    auth = _auth_line(endpoint, ctx, shown)
    note = None
    if auth and not verified:
        auth = None
        note = "auth header withheld: the certificate did not verify for this host"
    # No cookie jar (a cookie set by one answer must never make a later "anonymous"
    # probe authenticated), no proxies from the environment (the guard checked the
    # target, not a proxy), no automatic redirects.
    session = _Session(
        shared,
        _Budget(limits.max_requests),
        limit,
        limits.timeout_s,
        limits.max_body_bytes,
        limits.max_redirects,
        f"{parts.scheme}://{parts.netloc}/",
        auth,
        tls.verifying_context(True, tls.ca_bundle()) if https and verified else None,
    )
    if first is not None:
        session.adopt(url, first)
    report = _copy(report, tls=tls_facts, auth_sent=auth is not None, auth_note=note)
    health_url = urljoin(url, endpoint.health_path)
    static_path = endpoint.static_path
    http_url = _http_url(endpoint, host, parts.port) if https else None

    async def main() -> Exchange:
        return (await session.get(url))[0]

    async def cors() -> Exchange:
        headers = {"origin": CORS_PROBE_ORIGIN}  # as a browser's cross-site fetch: no auth
        return (await session.get(url, headers=headers, follow=False, credentials=False))[0]

    async def health() -> tuple[Exchange, bytes]:
        return await session.get(health_url, body=True)

    async def static() -> Exchange | None:
        if not static_path:
            return None
        headers = {"accept-encoding": "gzip, br"}
        return (await session.get(urljoin(url, static_path), headers=headers))[0]

    async def plain() -> Exchange | None:
        if http_url is None:
            return None
        return (await session.get(http_url, credentials=False))[0]

    async def openapi() -> OpenApiFacts | None:
        if not endpoint.openapi:
            return None
        return await _openapi_probes(session, endpoint.openapi, url, ctx, shown)

    async def protocols() -> dict[str, tuple[str, str]]:
        return await shared.protocols(host, port, sni, known) if https else {}

    probing = asyncio.ensure_future(protocols())  # on their own connections, meanwhile
    try:
        results = await asyncio.gather(main(), cors(), health(), static(), plain(), openapi())
        main_x, cors_x, (health_x, health_body), static_x, plain_x, openapi_f = results
        keys, deps = _health_body(health_body) if health_x.status == 200 else ((), ())
        sample = health_x.ok and limits.latency_samples > 0
        latency = await _latency(session, health_url, limits.latency_samples) if sample else None
        outcomes = await probing
    finally:
        probing.cancel()
        session.close()
    if tls_facts is not None:
        tls_facts = _with_protocols(tls_facts, outcomes)
    for label, exchange in (
        ("", main_x),
        (" (CORS probe)", cors_x),
        (" (health)", health_x),
        (" (static asset)", static_x),
        (" (plain HTTP)", plain_x),
    ):
        refused = exchange is plain_x and exchange is not None and exchange.error == REFUSED
        if exchange is not None and exchange.error and not refused:
            ctx.error(f"{exchange.url}{label}", exchange.error, NAME)
    if latency and latency.error:
        ctx.error(f"{latency.url} (latency sample)", latency.error, NAME)
    return _copy(
        report,
        tls=tls_facts,
        main=main_x,
        cors=cors_x,
        health=health_x,
        health_keys=keys,
        health_dependencies=deps,
        latency=latency,
        static=static_x,
        http_redirect=plain_x,
        http_url=redact_url(http_url) if http_url else None,
        openapi=openapi_f,
        requests=session.budget.used,
        notes=(NO_HTTP_URL,) if https and http_url is None else (),
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _copy(report: EndpointReport, **changes: Any) -> EndpointReport:
    return dataclasses.replace(report, **changes)


async def _openapi_probes(
    session: _Session, source: str, url: str, ctx: LiveContext, shown: str
) -> OpenApiFacts:
    """Anonymous GETs of the secured, parameter-free GET operations of the OpenAPI document."""
    try:
        spec, where = await _load_openapi(
            session, source, url, ctx.target.root, ctx.limits.max_body_bytes
        )
        paths, skipped, secured = _openapi_operations(spec, urlsplit(url).path)
    except _Failed as exc:
        ctx.error(f"{shown} openapi", exc.reason, NAME)
        return OpenApiFacts(source=source, error=exc.reason)
    except ValueError as exc:
        ctx.error(f"{shown} openapi", str(exc), NAME)
        return OpenApiFacts(source=source, error=str(exc))
    reserve = ctx.limits.latency_samples
    allowed = max(0, min(MAX_AUTH_PROBES, session.budget.left - reserve))
    if len(paths) > allowed:
        skipped.append(f"{len(paths) - allowed} operation(s) not probed (request budget)")
    origin = urlsplit(url)
    probes = []
    for path in paths[:allowed]:
        target = f"{origin.scheme}://{origin.netloc}{path}"
        exchange, _ = await session.get(target, follow=False, credentials=False)
        probes.append(AuthProbe(path, exchange.url, exchange.at, exchange.status, exchange.error))
    return OpenApiFacts(
        source=where,
        secured_get=secured,
        skipped=tuple(skipped[:MAX_LISTED]),
        probes=tuple(probes),
    )


async def _latency(session: _Session, url: str, wanted: int) -> Latency:
    """``wanted`` sequential GETs of ``url`` (fewer if the budget is short); stops at an error."""
    at = _now()
    count = min(wanted, session.budget.left)
    times: list[float] = []
    statuses: list[int] = []
    error = None
    for _ in range(count):
        started = time.perf_counter()
        status, error = await session.sample(url)
        if status is None:
            break
        times.append((time.perf_counter() - started) * 1000)
        statuses.append(status)
    shown = redact_url(url)
    if count == 0:
        error = f"not sampled: request budget of {session.budget.total} used up"
    if not times:
        return Latency(shown, at, wanted, 0, error=error or "no sample taken")
    return Latency(
        shown,
        at,
        wanted,
        len(times),
        p50_ms=round(percentile(times, 50), 2),
        p95_ms=round(percentile(times, 95), 2),
        max_ms=round(max(times), 2),
        statuses=tuple(sorted(set(statuses))),
        error=error,
    )


@register_live
class HttpCollector(LiveCollector):
    """Reads every endpoint of the environment: TLS, redirects, headers, CORS, health, latency."""

    name = NAME
    facts_type = EndpointFacts

    async def collect(self, ctx: LiveContext) -> EndpointFacts:
        endpoints = ctx.spec.endpoints
        shared = _Shared(ctx.guard, ctx.limits.timeout_s)
        # Every endpoint in flight at once up to the bound: a scan of many endpoints then
        # takes about as long as its slowest one, not the sum of them.
        gate = asyncio.Semaphore(max(1, min(len(endpoints), ctx.limits.endpoints_in_flight)))

        async def bounded(endpoint: Endpoint) -> EndpointReport:
            async with gate:
                return await _endpoint(ctx, endpoint, shared)

        at = _now()
        reports = await asyncio.gather(*(bounded(endpoint) for endpoint in endpoints))
        return EndpointFacts(ctx.environment, tuple(reports), at)


__all__ = [
    "CORS_PROBE_ORIGIN",
    "AuthProbe",
    "Cookie",
    "EndpointFacts",
    "EndpointReport",
    "Exchange",
    "HttpCollector",
    "Latency",
    "OpenApiFacts",
    "TlsFacts",
    "parse_hsts",
    "parse_server",
    "percentile",
]
