"""Authentication and authorisation of the server's requests.

- The API takes ``Authorization: Bearer TOKEN``; a token stands for its user and
  is limited to its services (see :mod:`prr.store.users`).
- Web pages (later) use a signed session cookie that expires, with a CSRF token
  per session checked on every unsafe form POST: :func:`issue_session`,
  :func:`read_session`, :func:`csrf_ok`.
- Login and token endpoints are rate limited per client IP and user name by an
  in-process token bucket (:class:`RateLimiter`): each server process keeps its
  own buckets, so N processes allow up to N times the rate.
- Every response carries security headers (:func:`security_headers`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from prr.store.users import Accounts, Principal, Role

SESSION_COOKIE = "prr_session"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


# -- rate limiting -----------------------------------------------------------------------
class RateLimiter:
    """Token buckets by key: ``burst`` at once, then ``per_minute`` more each minute."""

    def __init__(
        self, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = max(1, burst)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        """Spend one token for ``key``: 0 when allowed, else seconds until the next one."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > 100_000:  # bound memory: forget full buckets
                    self._prune(now)
                return 0
            self._buckets[key] = (tokens, now)
            if self.rate <= 0:
                return 3600
            return max(1, math.ceil((1.0 - tokens) / self.rate))

    def _prune(self, now: float) -> None:
        for key, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.rate >= self.burst:
                del self._buckets[key]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limit(request: Request, user: str | None) -> None:
    """Refuse with 429 and Retry-After when this client and user name used up its bucket."""
    limiter: RateLimiter = request.app.state.auth_limiter
    wait = limiter.take(f"{client_ip(request)}|{(user or '').lower()}")
    if wait:
        raise HTTPException(429, "too many requests; slow down", headers={"Retry-After": str(wait)})


# -- bearer tokens -----------------------------------------------------------------------
def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


_declared = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token (`prr_…`): `prr push --token`, or POST /api/v1/auth/tokens.",
)


def current_principal(
    request: Request,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_declared)] = None,
) -> Principal:
    """The caller, from its bearer token; 401 without a valid one.

    ``_scheme`` only declares the bearer scheme in the OpenAPI document; the
    header is read by :func:`bearer`.
    """
    secret = bearer(request)
    accounts: Accounts = request.app.state.accounts
    principal = accounts.authenticate(secret) if secret else None
    if principal is None:
        raise HTTPException(
            401,
            "a valid, unexpired API token is required (Authorization: Bearer …)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.user = principal.name
    return principal


def require_role(principal: Principal, role: Role) -> None:
    if not principal.role.at_least(role):
        raise HTTPException(403, f"this needs the {role.value} role (you are {principal.role})")


def require_service(principal: Principal, service: str) -> None:
    if not principal.may_access(service):
        raise HTTPException(403, f"this token is not valid for service {service!r}")


def require_signoff_role(principal: Principal, role: str) -> None:
    if role not in principal.signoff_roles:
        raise HTTPException(403, f"you do not hold the sign-off role {role!r}")


# -- sessions and CSRF (for the web pages) -----------------------------------------------
@dataclass(frozen=True)
class SessionData:
    user: str
    issued_at: float
    csrf: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: str, secret: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), payload.encode("ascii"), hashlib.sha256)
    return _b64(mac.digest())


def issue_session(user: str, secret: str, *, now: float | None = None) -> tuple[str, SessionData]:
    """A signed cookie value for ``user`` with a fresh CSRF token."""
    data = SessionData(
        user, round(now if now is not None else time.time(), 3), secrets.token_urlsafe(32)
    )
    body = _b64(json.dumps({"u": data.user, "t": data.issued_at, "c": data.csrf}).encode("utf-8"))
    return f"{body}.{_sign(body, secret)}", data


def read_session(
    cookie: str | None, secret: str, *, timeout_s: int, now: float | None = None
) -> SessionData | None:
    """The session in a cookie, or None when missing, tampered with or timed out."""
    if not cookie or cookie.count(".") != 1:
        return None
    body, signature = cookie.split(".")
    if not hmac.compare_digest(signature, _sign(body, secret)):
        return None
    try:
        raw = json.loads(_unb64(body))
        data = SessionData(str(raw["u"]), float(raw["t"]), str(raw["c"]))
    except (ValueError, KeyError, TypeError):
        return None
    current = now if now is not None else time.time()
    if current - data.issued_at > timeout_s or data.issued_at > current + 60:
        return None
    return data


def csrf_ok(session: SessionData | None, method: str, submitted: str | None) -> bool:
    """Whether a form request may proceed: safe methods always; unsafe ones need the token."""
    if method.upper() not in UNSAFE_METHODS:
        return True
    if session is None or not submitted:
        return False
    return hmac.compare_digest(session.csrf.encode("utf-8"), submitted.encode("utf-8"))


def set_session_cookie(response: Response, request: Request, value: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=max_age,
        httponly=True,
        secure=over_tls(request),
        samesite="strict",
        path="/",
    )


# -- headers -----------------------------------------------------------------------------
def over_tls(request: Request) -> bool:
    """Whether the client reached us over TLS (directly or through a proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def security_headers(request: Request, response: Response) -> None:
    """Headers every response carries; HSTS only over TLS (it is ignored, and wrong, on HTTP)."""
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers.setdefault("Cache-Control", "no-store")
    if over_tls(request):
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"


__all__ = [
    "CSP",
    "RateLimiter",
    "SessionData",
    "csrf_ok",
    "current_principal",
    "issue_session",
    "limit",
    "read_session",
    "require_role",
    "require_service",
    "require_signoff_role",
    "security_headers",
]
