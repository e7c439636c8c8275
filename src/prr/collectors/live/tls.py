"""TLS probing for the live HTTP collector: versions accepted, certificate, trust, hostname.

Uses only Python's :mod:`ssl` (and a small DER reader for the certificate
fields Python does not expose for unverified certificates: validity, issuer,
subject alternative names, key type and size), with TLS run through memory
BIOs over plain asyncio streams (:class:`Connection`), which costs about half
the CPU of asyncio's SSL transport.

The certificate, trust and the negotiated version come from one verified
handshake whose connection then carries HTTP. The other versions are probed
by sending a ClientHello that offers only them and reading the server's first
answer (ServerHello or alert) from the record layer, as testssl.sh does,
instead of completing a handshake that would be dropped; an answer that is
neither is decided by a complete handshake. Versions older than TLS 1.2 are
offered with ``@SECLEVEL=0`` because OpenSSL 3 refuses them at its default
level. When the local OpenSSL cannot offer a version at all, the result says
"could not test" instead of guessing.

Trust is checked against the system store plus the PEM bundle named by
``PRR_CA_BUNDLE`` (``SSL_CERT_FILE`` is honoured by OpenSSL itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import os
import ssl
import warnings
from dataclasses import dataclass
from functools import cache, lru_cache

CA_BUNDLE_ENV = "PRR_CA_BUNDLE"
VERSIONS: tuple[tuple[str, ssl.TLSVersion], ...] = (
    ("TLSv1.0", ssl.TLSVersion.TLSv1),
    ("TLSv1.1", ssl.TLSVersion.TLSv1_1),
    ("TLSv1.2", ssl.TLSVersion.TLSv1_2),
    ("TLSv1.3", ssl.TLSVersion.TLSv1_3),
)
LEGACY = frozenset({"TLSv1.0", "TLSv1.1"})
ACCEPTED = "accepted"
REFUSED = "refused"
NOT_TESTED = "could not test"


class TlsConnectError(Exception):
    """The TLS connection failed; ``reason`` is prr's own wording (no library text)."""

    def __init__(self, reason: str, *, kind: str = "handshake") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        """``unreachable``, ``timeout``, ``handshake``, ``untrusted`` or ``local`` (this
        side could not make the attempt)."""

    @property
    def untested(self) -> bool:
        """Nothing was learnt about the server (unreachable, too slow, or a local limit)."""
        return self.kind in ("unreachable", "timeout", "local")


# --- certificate fields (DER) -------------------------------------------------------------------


@dataclass(frozen=True)
class CertInfo:
    """What prr reports about a leaf certificate."""

    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    key: str
    """``RSA 2048``, ``EC P-256``, ``Ed25519`` …"""
    key_bits: int | None
    self_issued: bool


class _Der:
    """Minimal DER reader: enough of X.509 for validity, names, SAN and key size."""

    @staticmethod
    def read(data: bytes, pos: int) -> tuple[int, int, int]:
        """(tag, start of content, end of content) of the element at ``pos``."""
        tag = data[pos]
        length = data[pos + 1]
        pos += 2
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 4:
                raise ValueError("unsupported DER length")
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        end = pos + length
        if end > len(data):
            raise ValueError("truncated DER")
        return tag, pos, end

    @classmethod
    def children(cls, data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
        out = []
        while start < end:
            tag, s, e = cls.read(data, start)
            out.append((tag, s, e))
            start = e
        return out

    @staticmethod
    def oid(raw: bytes) -> str:
        first = raw[0]
        parts = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
        value = 0
        for byte in raw[1:]:
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                parts.append(value)
                value = 0
        return ".".join(str(p) for p in parts)


_NAME_KEYS = {"2.5.4.3": "CN", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.6": "C"}
_CURVES = {
    "1.2.840.10045.3.1.7": ("P-256", 256),
    "1.3.132.0.34": ("P-384", 384),
    "1.3.132.0.35": ("P-521", 521),
}
_RSA = {"1.2.840.113549.1.1.1", "1.2.840.113549.1.1.10"}
_EC = "1.2.840.10045.2.1"
_EDWARDS = {"1.3.101.112": ("Ed25519", 256), "1.3.101.113": ("Ed448", 456)}
_SAN = "2.5.29.17"


def _name(data: bytes, start: int, end: int) -> str:
    parts = []
    for _set_tag, s, e in _Der.children(data, start, end):
        for _seq, s2, e2 in _Der.children(data, s, e):
            (_t, os_, oe), (_vt, vs, ve) = _Der.children(data, s2, e2)[:2]
            key = _NAME_KEYS.get(_Der.oid(data[os_:oe]))
            if key:
                parts.append(f"{key}={data[vs:ve].decode('utf-8', 'replace')}")
    return ", ".join(parts)


def _time(data: bytes, tag: int, start: int, end: int) -> dt.datetime:
    text = data[start:end].decode("ascii").rstrip("Z")
    if tag == 0x17:  # UTCTime: YYMMDDHHMMSS
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    return dt.datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)


def _key(data: bytes, start: int, end: int) -> tuple[str, int | None]:
    (_a, as_, ae), (_b, bs, _be) = _Der.children(data, start, end)[:2]
    alg = _Der.children(data, as_, ae)
    oid = _Der.oid(data[alg[0][1] : alg[0][2]])
    if oid in _RSA:
        # BIT STRING: one byte of unused bits, then RSAPublicKey ::= SEQUENCE {n, e}
        _t, ks, ke = _Der.read(data, bs + 1)
        _n, ns, ne = _Der.children(data, ks, ke)[0]
        modulus = int.from_bytes(data[ns:ne], "big")
        return f"RSA {modulus.bit_length()}", modulus.bit_length()
    if oid == _EC and len(alg) > 1:
        curve = _Der.oid(data[alg[1][1] : alg[1][2]])
        name, bits = _CURVES.get(curve, (curve, 0))
        return f"EC {name}", bits or None
    if oid in _EDWARDS:
        name, bits = _EDWARDS[oid]
        return name, bits
    return oid, None


@lru_cache(maxsize=256)
def parse_certificate(der: bytes) -> CertInfo:
    """The fields prr reports from a DER certificate; raises ``ValueError`` when malformed.

    Cached: the endpoints of one host (and often of one service) present the same certificate.
    """
    try:
        _t, cs, ce = _Der.read(der, 0)
        _tt, ts, te = _Der.children(der, cs, ce)[0]
        fields = _Der.children(der, ts, te)
        if fields[0][0] == 0xA0:  # explicit version
            fields = fields[1:]
        issuer = fields[2]
        validity = _Der.children(der, fields[3][1], fields[3][2])
        subject = fields[4]
        spki = fields[5]
        dns: list[str] = []
        ips: list[str] = []
        for tag, s, _e in fields[6:]:
            if tag != 0xA3:
                continue
            _seq, xs, xe = _Der.read(der, s)
            for _ext, es, ee in _Der.children(der, xs, xe):
                parts = _Der.children(der, es, ee)
                if _Der.oid(der[parts[0][1] : parts[0][2]]) != _SAN:
                    continue
                _o, vs, _ve = parts[-1]
                _g, gs, ge = _Der.read(der, vs)
                for gtag, ns, ne in _Der.children(der, gs, ge):
                    if gtag == 0x82:
                        dns.append(der[ns:ne].decode("ascii", "replace"))
                    elif gtag == 0x87:
                        ips.append(str(ipaddress.ip_address(der[ns:ne])))
        key, bits = _key(der, spki[1], spki[2])
        return CertInfo(
            subject=_name(der, subject[1], subject[2]),
            issuer=_name(der, issuer[1], issuer[2]),
            not_before=_time(der, *validity[0]),
            not_after=_time(der, *validity[1]),
            dns_names=tuple(dns),
            ip_addresses=tuple(ips),
            key=key,
            key_bits=bits,
            self_issued=der[issuer[1] : issuer[2]] == der[subject[1] : subject[2]],
        )
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"malformed certificate: {type(exc).__name__}") from None


def hostname_matches(cert: CertInfo, host: str) -> bool:
    """RFC 6125 matching of ``host`` against the subject alternative names (no CN fallback)."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        return any(ipaddress.ip_address(ip) == address for ip in cert.ip_addresses)
    labels = host.lower().rstrip(".").split(".")
    for name in cert.dns_names:
        pattern = name.lower().rstrip(".").split(".")
        if len(pattern) != len(labels):
            continue
        if pattern[0] == "*" and len(pattern) > 2:
            if pattern[1:] == labels[1:]:
                return True
        elif pattern == labels:
            return True
    return False


# --- contexts -----------------------------------------------------------------------------------


def ca_bundle() -> str | None:
    """The extra CA bundle to trust (``PRR_CA_BUNDLE``), if set."""
    return os.environ.get(CA_BUNDLE_ENV) or None


@cache
def verifying_context(check_hostname: bool, bundle: str | None) -> ssl.SSLContext:
    """System trust store plus ``bundle``; raises ``OSError``/``ssl.SSLError`` if unreadable."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if bundle:
        context.load_verify_locations(cafile=bundle)
    context.check_hostname = check_hostname
    return context


@cache
def insecure_context() -> ssl.SSLContext:
    """No verification: to read a certificate that failed verification, and its headers.

    One per process: building a context costs more CPU than the handshake that uses it.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@cache
def _offering(low: ssl.TLSVersion, high: ssl.TLSVersion) -> ssl.SSLContext:
    """An unverifying context that offers exactly the versions ``low`` … ``high``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated in Python; probing is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = low
        context.maximum_version = high
    if low < ssl.TLSVersion.TLSv1_2:
        context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def _pinned(version: ssl.TLSVersion) -> ssl.SSLContext:
    return _offering(version, version)


@cache
def client_can_offer(label: str) -> str | None:
    """None when the local OpenSSL can send a ClientHello for ``label``; else why not."""
    version = dict(VERSIONS)[label]
    try:
        context = _pinned(version)
        tls = context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="probe.invalid")
        tls.do_handshake()
    except ssl.SSLWantReadError:
        return None
    except (ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        return f"the local OpenSSL ({ssl.OPENSSL_VERSION}) cannot offer {label}: {reason}"
    return None


@cache
def _cipher_names() -> dict[int, str]:
    """IANA cipher-suite code → OpenSSL's name, for the suites this OpenSSL knows."""
    names: dict[int, str] = {}
    ranges = [(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.MAXIMUM_SUPPORTED)]
    if client_can_offer("TLSv1.0") is None:
        ranges.append((ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1))
    for low, high in ranges:
        with contextlib.suppress(ssl.SSLError, ValueError):
            for suite in _offering(low, high).get_ciphers():
                names.setdefault(int(suite["id"]) & 0xFFFF, str(suite["name"]))
    return names


# --- connections --------------------------------------------------------------------------------


def label_of(version: str | None) -> str | None:
    """prr's label for :meth:`ssl.SSLObject.version` (``TLSv1`` → ``TLSv1.0``)."""
    labels = {"TLSv1": "TLSv1.0", "TLSv1.1": "TLSv1.1", "TLSv1.2": "TLSv1.2", "TLSv1.3": "TLSv1.3"}
    return labels.get(version or "")


@dataclass(frozen=True)
class Handshake:
    version: str
    cipher: str
    der: bytes | None


_VERIFY_REASONS = {
    10: "certificate has expired",
    9: "certificate is not yet valid",
    18: "self-signed certificate",
    19: "self-signed certificate in the chain",
    20: "unable to get the issuer certificate (not issued by a trusted CA)",
    21: "unable to verify the first certificate (incomplete chain)",
    2: "unable to get the issuer certificate",
    23: "certificate revoked",
    62: "hostname mismatch",
}


def _reason(exc: BaseException, timeout: float) -> TlsConnectError:
    """prr's message for a failed connection or handshake (no library text that may hold data)."""
    if isinstance(exc, TlsConnectError):
        return exc
    if isinstance(exc, TimeoutError):
        return TlsConnectError(f"timed out after {timeout:g}s", kind="timeout")
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = int(getattr(exc, "verify_code", 0) or 0)
        message = _VERIFY_REASONS.get(code) or str(getattr(exc, "verify_message", "")) or "?"
        return TlsConnectError(f"certificate not trusted: {message}", kind="untrusted")
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or type(exc).__name__
        return TlsConnectError(f"TLS handshake failed ({reason})")
    if isinstance(exc, ConnectionRefusedError):
        return TlsConnectError("connection refused", kind="unreachable")
    if isinstance(exc, ConnectionResetError | BrokenPipeError | asyncio.IncompleteReadError):
        return TlsConnectError("the server closed the connection during the TLS handshake")
    if isinstance(exc, OSError):
        return TlsConnectError(
            f"cannot connect: {exc.strerror or type(exc).__name__}", kind="unreachable"
        )
    return TlsConnectError(f"TLS connection failed ({type(exc).__name__})")


def tls_failure(exc: BaseException) -> str:
    """prr's wording for an ``ssl`` exception raised while a connection was in use."""
    return _reason(exc, 0.0).reason


_CHUNK = 64 * 1024


class Connection:
    """A TCP connection, with TLS driven through memory BIOs when a context is given.

    Driving :class:`ssl.SSLObject` directly costs about half the CPU of asyncio's SSL
    transport for a handshake and for each request, and CPU is what bounds a scan of
    many endpoints. One request at a time: the caller owns the connection while using it.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._tls: ssl.SSLObject | None = None
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._eof = False

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        context: ssl.SSLContext | None,
        server_hostname: str | None,
        timeout: float,
    ) -> Connection:
        """Connect (and complete the TLS handshake); raises :class:`TlsConnectError`."""
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port)
                connection = cls(reader, writer)
                if context is not None:
                    try:
                        await connection._handshake(context, server_hostname or None)
                    except BaseException:
                        connection.close()
                        raise
                return connection
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            raise _reason(exc, timeout) from None

    async def _handshake(self, context: ssl.SSLContext, server_hostname: str | None) -> None:
        tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=server_hostname)
        self._tls = tls
        while True:
            try:
                tls.do_handshake()
            except ssl.SSLWantReadError:
                self._flush()
                data = await self._reader.read(_CHUNK)
                if not data:
                    raise ConnectionResetError from None
                self._incoming.write(data)
            else:
                self._flush()
                return

    def _flush(self) -> None:
        data = self._outgoing.read()
        if data:
            self._writer.write(data)

    @property
    def secure(self) -> bool:
        return self._tls is not None

    def negotiated(self) -> Handshake:
        """Version, cipher and certificate (DER) of the TLS session."""
        tls = self._tls
        cipher = tls.cipher() if tls else None
        return Handshake(
            version=(tls.version() or "?") if tls else "?",
            cipher=cipher[0] if cipher else "?",
            der=tls.getpeercert(binary_form=True) if tls else None,
        )

    def send(self, data: bytes) -> None:
        if self._tls is None:
            self._writer.write(data)
        else:
            self._tls.write(data)
            self._flush()

    async def receive(self) -> bytes:
        """The next bytes from the server; ``b""`` once it has closed the connection."""
        if self._tls is None:
            return await self._reader.read(_CHUNK)
        while True:
            try:
                return self._tls.read(_CHUNK)
            except ssl.SSLWantReadError:
                if self._eof:
                    return b""
                self._flush()  # TLS 1.3 post-handshake messages may need an answer
                data = await self._reader.read(_CHUNK)
                if data:
                    self._incoming.write(data)
                else:
                    self._eof = True
                    self._incoming.write_eof()
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""

    @property
    def stale(self) -> bool:
        """The server has closed this (idle) connection already."""
        return self._eof or self._reader.at_eof() or self._writer.is_closing()

    def close(self) -> None:
        self._writer.close()


async def handshake(
    host: str, port: int, context: ssl.SSLContext, *, sni: str | None, timeout: float
) -> Handshake:
    """Connect, complete a TLS handshake with ``context``, read what was negotiated, close."""
    connection = await Connection.open(
        host, port, context=context, server_hostname=sni, timeout=timeout
    )
    try:
        return connection.negotiated()
    finally:
        connection.close()


# --- version probes -----------------------------------------------------------------------------

_CODES = {0x0301: "TLSv1.0", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}
_HELLO_RETRY = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
_ALERTS = {
    10: "unexpected_message",
    40: "handshake_failure",
    47: "illegal_parameter",
    50: "decode_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    109: "missing_extension",
    112: "unrecognized_name",
}
_MAX_RECORD = 16384 + 2048


@dataclass(frozen=True)
class ServerAnswer:
    """The server's first answer to a ClientHello: a ServerHello, an alert, or neither."""

    kind: str
    """``hello``, ``alert``, ``closed`` or ``other``."""
    version: str | None = None
    """The version the ServerHello selected (``TLSv1.2`` …; ``0x…`` when unknown)."""
    cipher: str | None = None
    detail: str = ""


def _server_hello(body: bytes) -> ServerAnswer:
    version = int.from_bytes(body[0:2], "big")
    random = body[2:34]
    at = 35 + body[34]
    cipher = int.from_bytes(body[at : at + 2], "big")
    if len(body) < at + 3:
        raise IndexError
    at += 3  # cipher suite, compression method
    if len(body) >= at + 2:
        end = at + 2 + int.from_bytes(body[at : at + 2], "big")
        at += 2
        while at + 4 <= min(end, len(body)):
            kind = int.from_bytes(body[at : at + 2], "big")
            size = int.from_bytes(body[at + 2 : at + 4], "big")
            if kind == 43 and size == 2:  # supported_versions: the TLS 1.3 way to say it
                version = int.from_bytes(body[at + 4 : at + 6], "big")
            at += 4 + size
    label = _CODES.get(version, f"0x{version:04x}")
    name = _cipher_names().get(cipher, f"0x{cipher:04x}")
    retry = " (HelloRetryRequest)" if random == _HELLO_RETRY else ""
    return ServerAnswer("hello", label, name, f"ServerHello {label}{retry}")


def read_server_answer(data: bytes) -> ServerAnswer | None:
    """Interpret the server's first bytes after a ClientHello; None while more are needed.

    Only the TLS record layer and the ServerHello are read — enough to tell which
    version the server selected (the way testssl.sh probes protocols) without
    spending CPU on the rest of a handshake that is dropped anyway.
    """
    handshake = b""
    at = 0
    while True:
        if len(data) < at + 5:
            return None
        kind, major = data[at], data[at + 1]
        size = int.from_bytes(data[at + 3 : at + 5], "big")
        if major != 3 or size > _MAX_RECORD or kind not in (21, 22):
            return ServerAnswer("other", detail="the answer is not a TLS handshake")
        if len(data) < at + 5 + size:
            return None
        payload = data[at + 5 : at + 5 + size]
        at += 5 + size
        if kind == 21:
            code = payload[1] if len(payload) >= 2 else -1
            name = _ALERTS.get(code, f"alert {code}")
            return ServerAnswer("alert", detail=f"the server answered with the TLS alert {name}")
        handshake += payload
        if len(handshake) < 4:
            continue
        if handshake[0] != 2:
            return ServerAnswer("other", detail="the first handshake message is not a ServerHello")
        length = int.from_bytes(handshake[1:4], "big")
        if len(handshake) < 4 + length:
            if len(handshake) > 4 * _MAX_RECORD:
                return ServerAnswer("other", detail="the ServerHello is too large")
            continue
        try:
            return _server_hello(handshake[4 : 4 + length])
        except IndexError:
            return ServerAnswer("other", detail="malformed ServerHello")


async def _client_hello(
    host: str, port: int, context: ssl.SSLContext, *, sni: str | None, timeout: float
) -> ServerAnswer:
    """Send the ClientHello ``context`` makes and read the server's first answer, then hang up."""
    try:
        tls = context.wrap_bio(ssl.MemoryBIO(), out := ssl.MemoryBIO(), server_hostname=sni or None)
        with contextlib.suppress(ssl.SSLWantReadError):
            tls.do_handshake()
    except (ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        message = f"no ClientHello from the local OpenSSL ({reason})"
        raise TlsConnectError(message, kind="local") from None
    hello = out.read()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(hello)
                data = b""
                while True:
                    chunk = await reader.read(_CHUNK)
                    if not chunk:
                        detail = "the server closed the connection after the ClientHello"
                        return ServerAnswer("closed", detail=detail)
                    data += chunk
                    answer = read_server_answer(data)
                    if answer is not None:
                        return answer
            finally:
                writer.close()
    except (OSError, TimeoutError, ValueError) as exc:
        raise _reason(exc, timeout) from None


async def _offer(
    host: str, port: int, labels: list[str], *, sni: str | None, timeout: float
) -> tuple[str, str | None, str]:
    """Offer the contiguous versions ``labels``: (outcome, version chosen, detail).

    The outcome is ``accepted`` (the server chose one of them), ``refused`` or ``could
    not test`` (unreachable, timed out). An answer that is neither a ServerHello nor an
    alert is decided by a complete handshake instead.
    """
    versions = dict(VERSIONS)
    context = _offering(versions[labels[0]], versions[labels[-1]])
    try:
        answer = await _client_hello(host, port, context, sni=sni, timeout=timeout)
    except TlsConnectError as exc:
        return (NOT_TESTED if exc.untested else REFUSED), None, exc.reason
    if answer.kind == "hello":
        if answer.version in labels:
            return ACCEPTED, answer.version, answer.cipher or "?"
        return REFUSED, None, f"negotiated {answer.version} instead"
    if answer.kind in ("alert", "closed"):
        return REFUSED, None, answer.detail
    try:
        done = await handshake(host, port, context, sni=sni, timeout=timeout)
    except TlsConnectError as exc:
        return (NOT_TESTED if exc.untested else REFUSED), None, exc.reason
    chosen = label_of(done.version)
    if chosen in labels:
        return ACCEPTED, chosen, done.cipher
    return REFUSED, None, f"negotiated {done.version} instead"


async def probe_version(
    host: str, port: int, label: str, *, sni: str | None, timeout: float
) -> tuple[str, str]:
    """(``accepted`` | ``refused`` | ``could not test``, detail) for one protocol version."""
    cannot = client_can_offer(label)
    if cannot:
        return NOT_TESTED, cannot
    outcome, _chosen, detail = await _offer(host, port, [label], sni=sni, timeout=timeout)
    return outcome, detail


def known_from(context: ssl.SSLContext, negotiated: Handshake) -> dict[str, tuple[str, str]]:
    """What one completed handshake already shows about the versions.

    The version negotiated is accepted. A server picks the highest version both
    sides offer, so when ``context`` offered TLS 1.3 and the server chose TLS 1.2,
    TLS 1.3 is refused: no second handshake is needed to learn that.
    """
    label = label_of(negotiated.version)
    if label is None:
        return {}
    known = {label: (ACCEPTED, negotiated.cipher)}
    top = context.maximum_version
    offers_13 = top in (ssl.TLSVersion.MAXIMUM_SUPPORTED, ssl.TLSVersion.TLSv1_3)
    if label == "TLSv1.2" and offers_13 and client_can_offer("TLSv1.3") is None:
        known["TLSv1.3"] = (REFUSED, "the server chose TLSv1.2 when TLSv1.3 was offered")
    return known


async def probe_versions(
    host: str,
    port: int,
    *,
    sni: str | None,
    timeout: float,
    known: dict[str, tuple[str, str]] | None = None,
) -> dict[str, tuple[str, str]]:
    """``{label: (outcome, detail)}`` for TLS 1.0–1.3, beyond what ``known`` already says.

    TLS 1.2 and 1.3 are offered one at a time; TLS 1.0 and 1.1 together first (a
    modern server refuses both in one answer), then one by one only when the server
    accepted one of them. Each probe stops at the server's first answer; at most three
    run at once.
    """
    outcomes = dict(known or {})
    for label, _version in VERSIONS:
        cannot = client_can_offer(label) if label not in outcomes else None
        if cannot:
            outcomes[label] = (NOT_TESTED, cannot)

    async def offer(labels: list[str]) -> tuple[str, str | None, str]:
        return await _offer(host, port, labels, sni=sni, timeout=timeout)

    async def single(label: str) -> None:
        outcome, _chosen, detail = await offer([label])
        outcomes[label] = (outcome, detail)

    async def legacy() -> None:
        wanted = [label for label in ("TLSv1.0", "TLSv1.1") if label not in outcomes]
        if len(wanted) < 2:
            for label in wanted:
                await single(label)
            return
        outcome, chosen, detail = await offer(wanted)
        if outcome != ACCEPTED:
            outcomes.update({label: (outcome, detail) for label in wanted})
        elif chosen == "TLSv1.0":
            outcomes["TLSv1.0"] = (ACCEPTED, detail)
            outcomes["TLSv1.1"] = (REFUSED, "the server chose TLSv1.0 when TLSv1.1 was offered")
        else:
            outcomes["TLSv1.1"] = (ACCEPTED, detail)
            await single("TLSv1.0")

    modern = [label for label in ("TLSv1.2", "TLSv1.3") if label not in outcomes]
    await asyncio.gather(legacy(), *(single(label) for label in modern))
    return {label: outcomes[label] for label, _v in VERSIONS if label in outcomes}


__all__ = [
    "ACCEPTED",
    "CA_BUNDLE_ENV",
    "LEGACY",
    "NOT_TESTED",
    "REFUSED",
    "VERSIONS",
    "CertInfo",
    "Connection",
    "Handshake",
    "ServerAnswer",
    "TlsConnectError",
    "ca_bundle",
    "client_can_offer",
    "handshake",
    "hostname_matches",
    "insecure_context",
    "known_from",
    "label_of",
    "parse_certificate",
    "probe_version",
    "probe_versions",
    "read_server_answer",
    "tls_failure",
    "verifying_context",
]
