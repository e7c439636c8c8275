"""TLS probing for the live HTTP collector: versions accepted, certificate, trust, hostname.

Uses only Python's :mod:`ssl` (and a small DER reader for the certificate
fields Python does not expose for unverified certificates: validity, issuer,
subject alternative names, key type and size). Each protocol version is
probed with its own handshake pinned to that version; versions older than
TLS 1.2 are offered with ``@SECLEVEL=0`` because OpenSSL 3 refuses them at
its default level. When the local OpenSSL cannot offer a version at all, the
result says "could not test" instead of guessing.

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
from functools import cache

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
        """``unreachable``, ``timeout``, ``handshake`` or ``untrusted``."""


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


def parse_certificate(der: bytes) -> CertInfo:
    """The fields prr reports from a DER certificate; raises ``ValueError`` when malformed."""
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


def insecure_context() -> ssl.SSLContext:
    """No verification: to read a certificate that failed verification, and its headers."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _pinned(version: ssl.TLSVersion) -> ssl.SSLContext:
    context = insecure_context()
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated in Python; probing is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = version
        context.maximum_version = version
    if version < ssl.TLSVersion.TLSv1_2:
        context.set_ciphers("ALL:@SECLEVEL=0")
    return context


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


# --- handshakes ---------------------------------------------------------------------------------


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
    """prr's wording for an ``ssl`` exception raised by another client (httpx)."""
    return _reason(exc, 0.0).reason


async def handshake(
    host: str, port: int, context: ssl.SSLContext, *, sni: str | None, timeout: float
) -> Handshake:
    """Connect, complete a TLS handshake with ``context``, read what was negotiated, close."""

    async def run() -> Handshake:
        _reader, writer = await asyncio.open_connection(
            host, port, ssl=context, server_hostname=sni or "", ssl_handshake_timeout=timeout
        )
        try:
            tls = writer.get_extra_info("ssl_object")
            cipher = tls.cipher() if tls else None
            return Handshake(
                version=(tls.version() or "?") if tls else "?",
                cipher=cipher[0] if cipher else "?",
                der=tls.getpeercert(binary_form=True) if tls else None,
            )
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), timeout=min(1.0, timeout))

    try:
        return await asyncio.wait_for(run(), timeout=timeout)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
        raise _reason(exc, timeout) from None


async def probe_version(
    host: str, port: int, label: str, *, sni: str | None, timeout: float
) -> tuple[str, str]:
    """(``accepted`` | ``refused`` | ``could not test``, detail) for one protocol version."""
    cannot = client_can_offer(label)
    if cannot:
        return NOT_TESTED, cannot
    try:
        result = await handshake(
            host, port, _pinned(dict(VERSIONS)[label]), sni=sni, timeout=timeout
        )
    except TlsConnectError as exc:
        if exc.kind in ("timeout", "unreachable"):
            return NOT_TESTED, exc.reason
        return REFUSED, exc.reason
    if label_of(result.version) != label:
        return REFUSED, f"negotiated {result.version} instead"
    return ACCEPTED, result.cipher


__all__ = [
    "ACCEPTED",
    "CA_BUNDLE_ENV",
    "LEGACY",
    "NOT_TESTED",
    "REFUSED",
    "VERSIONS",
    "CertInfo",
    "Handshake",
    "TlsConnectError",
    "ca_bundle",
    "client_can_offer",
    "handshake",
    "hostname_matches",
    "insecure_context",
    "label_of",
    "parse_certificate",
    "probe_version",
    "tls_failure",
    "verifying_context",
]
