"""Security items decided from what the running endpoints answer (``prr scan --live``).

HTTPS enforcement (plain HTTP redirected or refused, HSTS), TLS versions,
the security headers the edge and the application send, CORS answers to an
unrelated origin, anonymous access to operations the OpenAPI document marks as
secured, rate-limit headers, and cookie attributes. Each check runs once per
environment over :class:`~prr.collectors.live.http.EndpointFacts`; an endpoint
that could not be read makes the item unknown, never passed.

The helpers :class:`Finding`, :func:`decide` and :func:`exchange_evidence` are
shared with the other ``live_http`` check modules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prr.checks.registry import CheckContext, check
from prr.collectors.live import tls
from prr.collectors.live.http import (
    CORS_PROBE_ORIGIN,
    NO_HTTP_URL,
    REFUSED,
    Cookie,
    EndpointFacts,
    EndpointReport,
    Exchange,
)
from prr.model.evidence import Evidence, Result, Status

HTTPS = "security.network-security.https-enforced"
IN_TRANSIT = "security.data-security.data-encrypted-in-transit"
EDGE_HEADERS = "security.network-security.security-headers-configured"
APP_HEADERS = "security.application-security.security-headers-set"
CORS = "security.network-security.cors-properly-configured"
PROTECTED = "security.authorization.all-endpoints-protected"
RATE_LIMIT = "security.authorization.api-rate-limiting-enabled"
CSRF = "security.application-security.csrf-protection"
XSS = "security.application-security.xss-prevention"
CONSENT = "security.compliance.cookie-consent"

HSTS_MIN_AGE = 180 * 86400
"""Six months: below this HSTS is reported as too short (Mozilla Observatory's minimum)."""
SHOWN_HEADERS = (
    "server",
    "x-powered-by",
    "strict-transport-security",
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "permissions-policy",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "location",
    "cache-control",
    "content-encoding",
)


# --- shared helpers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One endpoint's verdict on an item, with its evidence."""

    status: Status
    text: str
    evidence: tuple[Evidence, ...] = ()


def label(endpoint: EndpointReport) -> str:
    return f"{endpoint.name} ({endpoint.url})"


def exchange_evidence(what: str, exchange: Exchange, *headers: str) -> Evidence:
    """What was asked, when, and what answered (status and the named headers)."""
    shown = {h: exchange.headers[h] for h in headers or SHOWN_HEADERS if h in exchange.headers}
    value: dict[str, Any] = {"at": exchange.at, "status": exchange.status}
    if exchange.error:
        value["error"] = exchange.error
    if shown:
        value["headers"] = shown
    if len(exchange.redirects) > 1:
        value["redirects"] = list(exchange.redirects)
    return Evidence(
        f"{what}: {exchange.describe()}", url=exchange.url, query=f"GET {exchange.url}", value=value
    )


def unreadable(endpoint: EndpointReport) -> Finding:
    """The endpoint could not be read at all: unknown, with the reason."""
    return Finding(
        Status.UNKNOWN,
        f"{label(endpoint)} could not be read: {endpoint.error}",
        (
            Evidence(
                f"{endpoint.url} could not be read at {endpoint.at}: {endpoint.error}",
                url=endpoint.url,
                value={"at": endpoint.at, "error": endpoint.error},
            ),
        ),
    )


def decide(
    ctx: CheckContext,
    item: str,
    findings: Sequence[Finding],
    *,
    remediation: str | None = None,
    fields: dict[str, Any] | None = None,
) -> Iterator[Result]:
    """One result for ``item``: fail if any endpoint fails, else unknown if any is, else pass."""
    if not findings:
        return
    evidence = [e for f in findings for e in f.evidence]
    for status in (Status.FAIL, Status.UNKNOWN, Status.PASS):
        chosen = [f for f in findings if f.status is status]
        if not chosen:
            continue
        message = "; ".join(f.text for f in chosen)
        others = [f for f in findings if f.status is not status and f.status is not Status.PASS]
        if others:
            message += "; also " + "; ".join(f.text for f in others)
        yield ctx.result(
            item,
            status,
            message,
            *evidence,
            remediation=remediation if status is not Status.PASS else None,
            fields=fields,
        )
        return


def endpoints(ctx: CheckContext) -> tuple[EndpointReport, ...]:
    return ctx.get(EndpointFacts).endpoints


def worst(parts: Iterable[Status]) -> Status:
    found = set(parts)
    for status in (Status.FAIL, Status.UNKNOWN):
        if status in found:
            return status
    return Status.PASS


# --- HTTPS enforced ------------------------------------------------------------------------

HTTPS_FIX = """\
# nginx: send plain HTTP to HTTPS, and tell browsers to stay on HTTPS
server {
    listen 80;
    server_name example.com;
    return 301 https://$host$request_uri;
}
server {
    listen 443 ssl;
    add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;
}"""


def _redirect_part(e: EndpointReport) -> tuple[Status, str]:
    plain = e.http_redirect
    if plain is None:
        return Status.UNKNOWN, NO_HTTP_URL
    if plain.error == REFUSED:
        return Status.PASS, f"plain HTTP is refused ({plain.url})"
    if not plain.ok:
        return Status.UNKNOWN, f"plain HTTP could not be checked ({plain.url}: {plain.error})"
    hops = plain.redirects
    if len(hops) > 1 and any(h.startswith("https://") for h in hops[1:]):
        return (
            Status.PASS,
            f"{plain.url} redirects to {next(h for h in hops if h.startswith('https://'))}",
        )
    return Status.FAIL, f"{plain.url} answers {plain.status} over plain HTTP without redirecting"


def _hsts_part(e: EndpointReport) -> tuple[Status, str]:
    if not e.main or not e.main.ok:
        reason = e.main.error if e.main else "not requested"
        return Status.UNKNOWN, f"HSTS unknown: {reason}"
    hsts = e.hsts()
    if hsts is None:
        return Status.FAIL, "no Strict-Transport-Security header"
    age = hsts["max_age"]
    if age is None:
        return Status.FAIL, "Strict-Transport-Security has no valid max-age"
    if age < HSTS_MIN_AGE:
        return Status.FAIL, f"HSTS max-age={age} is shorter than {HSTS_MIN_AGE} (180 days)"
    sub = ", includeSubDomains" if hsts["include_subdomains"] else " (without includeSubDomains)"
    return Status.PASS, f"HSTS max-age={age}{sub}"


@check("live.security.https-enforced", items=[HTTPS], needs=[EndpointFacts], scope="environment")
def https_enforced(ctx: CheckContext) -> Iterable[Result]:
    """Plain HTTP is redirected to HTTPS (or refused) and HSTS is sent, as the endpoints answer."""
    findings = []
    for e in endpoints(ctx):
        if e.error:
            findings.append(unreadable(e))
            continue
        if not e.https:
            evidence = [exchange_evidence("main page", e.main)] if e.main else []
            findings.append(
                Finding(Status.FAIL, f"{label(e)} is served over plain http://", tuple(evidence))
            )
            continue
        parts = [_redirect_part(e), _hsts_part(e)]
        insecure = [c.name for c in e.cookies() if not c.secure]
        text = "; ".join(t for _s, t in parts)
        if insecure:
            text += f"; cookies without Secure: {', '.join(insecure)}"
        evidence = []
        if e.main:
            evidence.append(exchange_evidence("HTTPS answer", e.main, "strict-transport-security"))
        if e.http_redirect:
            evidence.append(exchange_evidence("plain HTTP", e.http_redirect, "location"))
        findings.append(
            Finding(worst(s for s, _t in parts), f"{label(e)}: {text}", tuple(evidence))
        )
    yield from decide(ctx, HTTPS, findings, remediation=HTTPS_FIX)


# --- TLS versions (encryption in transit) ----------------------------------------------------

TLS_FIX = """\
# nginx: TLS 1.2 and 1.3 only
ssl_protocols TLSv1.2 TLSv1.3;
ssl_prefer_server_ciphers off;"""


def tls_evidence(e: EndpointReport) -> Evidence:
    facts = e.tls
    assert facts is not None
    summary = ", ".join(f"{k} {v}" for k, v in facts.protocols.items())
    return Evidence(
        f"TLS handshakes with {e.url} at {facts.at}: {summary}; negotiated {facts.negotiated} "
        f"({facts.cipher})",
        url=e.url,
        query="one TLS handshake per protocol version (TLS 1.0 … 1.3)",
        value={
            "at": facts.at,
            "protocols": facts.protocols,
            "details": facts.protocol_details,
            "negotiated": facts.negotiated,
        },
    )


@check("live.security.tls-versions", items=[IN_TRANSIT], needs=[EndpointFacts], scope="environment")
def tls_versions(ctx: CheckContext) -> Iterable[Result]:
    """Endpoints accept TLS 1.2+ only (the HTTP hop; databases and caches have their own checks)."""
    findings = []
    for e in endpoints(ctx):
        if e.error:
            findings.append(unreadable(e))
            continue
        if not e.https or e.tls is None:
            findings.append(Finding(Status.FAIL, f"{label(e)} is served without TLS"))
            continue
        protocols = e.tls.protocols
        legacy = [v for v in sorted(tls.LEGACY) if protocols.get(v) == tls.ACCEPTED]
        untested = [v for v in sorted(tls.LEGACY) if protocols.get(v) == tls.NOT_TESTED]
        modern = [v for v in e.tls.accepted if v not in tls.LEGACY]
        if legacy:
            status, text = Status.FAIL, f"accepts {', '.join(legacy)}"
        elif untested:
            reasons = "; ".join(e.tls.protocol_details.get(v, "") for v in untested)
            status, text = Status.UNKNOWN, f"{', '.join(untested)} could not be tested: {reasons}"
        elif not modern:
            status, text = Status.UNKNOWN, "no TLS 1.2 or 1.3 handshake succeeded"
        else:
            status, text = Status.PASS, f"accepts only {', '.join(modern)}"
        findings.append(Finding(status, f"{label(e)} {text}", (tls_evidence(e),)))
    yield from decide(ctx, IN_TRANSIT, findings, remediation=TLS_FIX)


# --- security headers ----------------------------------------------------------------------

EDGE_FIX = """\
# nginx (server or http block; `always` adds them to error responses too)
server_tokens off;
add_header X-Content-Type-Options "nosniff" always;
add_header X-Frame-Options "DENY" always;          # or CSP frame-ancestors 'none'
add_header Referrer-Policy "strict-origin-when-cross-origin" always;
proxy_hide_header X-Powered-By;"""

APP_FIX = """\
# nginx, or the same headers from the application
add_header Content-Security-Policy
    "default-src 'self'; frame-ancestors 'none'; object-src 'none'" always;
add_header Permissions-Policy "geolocation=(), camera=(), microphone=()" always;"""


@check(
    "live.security.edge-headers", items=[EDGE_HEADERS], needs=[EndpointFacts], scope="environment"
)
def edge_headers(ctx: CheckContext) -> Iterable[Result]:
    """Baseline security headers are sent and no header discloses software versions."""
    findings = []
    for e in endpoints(ctx):
        if e.error:
            findings.append(unreadable(e))
            continue
        if not e.main or not e.main.ok:
            reason = e.main.error if e.main else "not requested"
            findings.append(Finding(Status.UNKNOWN, f"{label(e)}: no answer ({reason})"))
            continue
        present = set(e.security_headers())
        missing = []
        if "x-content-type-options" not in present:
            missing.append("X-Content-Type-Options: nosniff")
        if not present & {"x-frame-options", "csp-frame-ancestors"}:
            missing.append("X-Frame-Options or CSP frame-ancestors")
        if "referrer-policy" not in present:
            missing.append("Referrer-Policy")
        disclosed = e.disclosure()
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if disclosed:
            problems.append(f"discloses versions ({'; '.join(disclosed)})")
        evidence = (exchange_evidence("response headers", e.main),)
        if problems:
            findings.append(Finding(Status.FAIL, f"{label(e)} {'; '.join(problems)}", evidence))
        else:
            product, _v = e.server()
            server = f"Server: {product}" if product else "no Server header"
            findings.append(
                Finding(
                    Status.PASS,
                    f"{label(e)} sends {', '.join(sorted(present))}; {server} without a version",
                    evidence,
                )
            )
    yield from decide(ctx, EDGE_HEADERS, findings, remediation=EDGE_FIX)


@check("live.security.app-headers", items=[APP_HEADERS], needs=[EndpointFacts], scope="environment")
def app_headers(ctx: CheckContext) -> Iterable[Result]:
    """The application sends a Content-Security-Policy and a Permissions-Policy."""
    findings = []
    for e in endpoints(ctx):
        if e.error:
            findings.append(unreadable(e))
            continue
        if not e.main or not e.main.ok:
            reason = e.main.error if e.main else "not requested"
            findings.append(Finding(Status.UNKNOWN, f"{label(e)}: no answer ({reason})"))
            continue
        missing = []
        if not e.main.header("content-security-policy"):
            only_report = e.main.header("content-security-policy-report-only")
            missing.append(
                "Content-Security-Policy (only Report-Only)"
                if only_report
                else "Content-Security-Policy"
            )
        if not e.main.header("permissions-policy"):
            missing.append("Permissions-Policy")
        evidence = (
            exchange_evidence(
                "response headers",
                e.main,
                "content-security-policy",
                "content-security-policy-report-only",
                "permissions-policy",
                "cache-control",
            ),
        )
        if missing:
            findings.append(
                Finding(Status.FAIL, f"{label(e)} lacks {', '.join(missing)}", evidence)
            )
        else:
            findings.append(
                Finding(
                    Status.PASS,
                    f"{label(e)} sends Content-Security-Policy and Permissions-Policy",
                    evidence,
                )
            )
    yield from decide(ctx, APP_HEADERS, findings, remediation=APP_FIX)


# --- CORS ----------------------------------------------------------------------------------

CORS_FIX = """\
# nginx: allow only listed origins; never echo $http_origin unchecked
map $http_origin $cors_origin {
    default "";
    "https://app.example.com" $http_origin;
}
add_header Access-Control-Allow-Origin $cors_origin always;
add_header Vary Origin always;"""

_CORS_TEXT = {
    "none": (Status.PASS, "grants no cross-origin access to an unrelated origin"),
    "explicit": (Status.PASS, "answers an unrelated origin with its own allow-listed origin"),
    "explicit+credentials": (
        Status.PASS,
        "answers an unrelated origin with its own allow-listed origin (with credentials)",
    ),
    "wildcard": (
        Status.PASS,
        "allows any origin (*) without credentials: anonymous reads only, no cookies",
    ),
    "wildcard+credentials": (
        Status.FAIL,
        "combines Access-Control-Allow-Origin: * with Allow-Credentials: true",
    ),
    "reflects": (Status.FAIL, "reflects an arbitrary Origin in Access-Control-Allow-Origin"),
    "reflects+credentials": (
        Status.FAIL,
        "reflects an arbitrary Origin and allows credentials: any site can read "
        "authenticated responses",
    ),
    "null": (Status.FAIL, "allows the 'null' origin (sandboxed frames, local files)"),
    "null+credentials": (Status.FAIL, "allows the 'null' origin with credentials"),
}


@check("live.security.cors", items=[CORS], needs=[EndpointFacts], scope="environment")
def cors(ctx: CheckContext) -> Iterable[Result]:
    """An unrelated Origin is not granted access (no reflection, no wildcard with credentials)."""
    findings = []
    for e in endpoints(ctx):
        if e.error:
            findings.append(unreadable(e))
            continue
        behaviour = e.cors_behaviour()
        if behaviour is None or e.cors is None:
            reason = e.cors.error if e.cors else "not requested"
            findings.append(Finding(Status.UNKNOWN, f"{label(e)}: CORS probe failed ({reason})"))
            continue
        status, text = _CORS_TEXT[behaviour]
        evidence = exchange_evidence(
            f"GET with Origin: {CORS_PROBE_ORIGIN}",
            e.cors,
            "access-control-allow-origin",
            "access-control-allow-credentials",
            "vary",
        )
        findings.append(Finding(status, f"{label(e)} {text}", (evidence,)))
    yield from decide(ctx, CORS, findings, remediation=CORS_FIX)


# --- anonymous access to secured operations -------------------------------------------------

AUTH_FIX = (
    "Require authentication in the application for every route by default (a global "
    "middleware or security dependency) and list public routes explicitly; the operations "
    "below answered without credentials although the OpenAPI document marks them as "
    "secured. Add a test that requests every secured route anonymously and expects 401."
)


@check("live.security.openapi-auth", items=[PROTECTED], needs=[EndpointFacts], scope="environment")
def openapi_auth(ctx: CheckContext) -> Iterable[Result]:
    """GET operations the OpenAPI document secures answer 401/403 without credentials."""
    findings = []
    for e in endpoints(ctx):
        api = e.openapi
        if api is None:
            continue  # only endpoints that name an OpenAPI document
        if e.error:
            findings.append(unreadable(e))
            continue
        if api.error:
            findings.append(
                Finding(Status.UNKNOWN, f"{label(e)}: OpenAPI document not usable ({api.error})")
            )
            continue
        evidence = tuple(
            Evidence(
                f"anonymous GET {p.url} at {p.at} → {p.status if p.status else p.error}",
                url=p.url,
                query=f"GET {p.url} (no credentials)",
                value={"at": p.at, "status": p.status, "error": p.error},
            )
            for p in api.probes
        )
        if not api.probes:
            why = "; ".join(api.skipped) if api.skipped else "none is marked as secured"
            findings.append(
                Finding(
                    Status.UNKNOWN,
                    f"{label(e)}: no secured GET operation could be probed ({why})",
                    evidence,
                )
            )
            continue
        open_ = [p.path for p in api.probes if p.status is not None and 200 <= p.status < 300]
        unclear = [
            f"{p.path} → {p.status or p.error}"
            for p in api.probes
            if p.status not in (401, 403) and p.path not in open_
        ]
        note = f" (not probed: {'; '.join(api.skipped)})" if api.skipped else ""
        if open_:
            findings.append(
                Finding(
                    Status.FAIL,
                    f"{label(e)}: {', '.join(open_)} answered 2xx without credentials",
                    evidence,
                )
            )
        elif unclear:
            findings.append(
                Finding(
                    Status.UNKNOWN,
                    f"{label(e)}: neither 401 nor 403 from {', '.join(unclear)}",
                    evidence,
                )
            )
        else:
            findings.append(
                Finding(
                    Status.PASS,
                    f"{label(e)}: all {len(api.probes)} secured GET operations of {api.source} "
                    f"answered 401/403 without credentials{note}",
                    evidence,
                )
            )
    yield from decide(ctx, PROTECTED, findings, remediation=AUTH_FIX)


# --- rate-limit headers --------------------------------------------------------------------


@check(
    "live.security.rate-limit-headers",
    items=[RATE_LIMIT],
    needs=[EndpointFacts],
    scope="environment",
)
def rate_limit_headers(ctx: CheckContext) -> Iterable[Result]:
    """Rate-limit headers hint at a limiter; only the rate-limit drill can prove it enforces."""
    seen = [(e, e.rate_limit_headers()) for e in endpoints(ctx) if not e.error]
    seen = [(e, names) for e, names in seen if names]
    if not seen:
        return  # absence of headers says nothing: many limiters do not advertise themselves
    evidence = [
        exchange_evidence("rate-limit headers", exchange, *names)
        for e, names in seen
        for exchange in (e.main, e.health)
        if exchange and exchange.ok and any(n in exchange.headers for n in names)
    ]
    listed = "; ".join(f"{label(e)}: {', '.join(names)}" for e, names in seen)
    yield ctx.unknown(
        RATE_LIMIT,
        f"rate-limit headers are sent ({listed}), which suggests a limiter but does not "
        "prove it enforces; run `prr drill rate-limit` to see 429 with Retry-After",
        *evidence,
    )


# --- cookies -------------------------------------------------------------------------------

_SESSION_NAMES = (
    "session",
    "sess",
    "sid",
    "phpsessid",
    "jsessionid",
    "asp.net_sessionid",
    "connect.sid",
    "auth",
    "token",
    "jwt",
    "remember",
)
_TRACKERS = (
    "_ga",
    "_gid",
    "_gat",
    "_gcl_",
    "_fbp",
    "_fbc",
    "_hj",
    "_uetsid",
    "_uetvid",
    "_clck",
    "_clsk",
    "__utm",
    "ajs_anonymous_id",
    "mp_",
    "hubspotutk",
    "__hstc",
    "_pk_id",
    "_pk_ses",
)


def _is_session(cookie: Cookie) -> bool:
    name = cookie.name.lower()
    return any(part in name for part in _SESSION_NAMES)


def _is_tracker(cookie: Cookie) -> bool:
    name = cookie.name.lower()
    return name.startswith(_TRACKERS)


@check(
    "live.security.cookies",
    items=[CSRF, XSS, CONSENT],
    needs=[EndpointFacts],
    scope="environment",
)
def cookies(ctx: CheckContext) -> Iterable[Result]:
    """Cookie attributes as set on a first visit (names only; values are never read).

    Only failures are decided: a session cookie without SameSite (CSRF) or
    HttpOnly (XSS), and analytics cookies set before any consent was given.
    Good cookie attributes do not prove CSRF or XSS protection, and no tracker
    cookie on the first answer does not prove consent is asked (scripts set most).
    """
    no_same_site: list[str] = []
    no_http_only: list[str] = []
    trackers: list[str] = []
    evidence: list[Evidence] = []
    for e in endpoints(ctx):
        if e.error or not e.main:
            continue
        found = e.cookies()
        for c in found:
            if _is_session(c) and not c.same_site:
                no_same_site.append(f"{c.name} ({e.name})")
            if _is_session(c) and not c.http_only:
                no_http_only.append(f"{c.name} ({e.name})")
            if _is_tracker(c):
                trackers.append(f"{c.name} ({e.name})")
        if found:
            evidence.append(
                Evidence(
                    f"cookies set by {e.main.describe()}: "
                    + ", ".join(
                        f"{c.name}[{'Secure ' if c.secure else ''}"
                        f"{'HttpOnly ' if c.http_only else ''}SameSite={c.same_site or '-'}]"
                        for c in found
                    ),
                    url=e.main.url,
                    query=f"GET {e.main.url}",
                    value={
                        "at": e.main.at,
                        "cookies": [
                            {
                                "name": c.name,
                                "secure": c.secure,
                                "http_only": c.http_only,
                                "same_site": c.same_site,
                            }
                            for c in found
                        ],
                    },
                )
            )
    if no_same_site:
        yield ctx.failed(
            CSRF,
            f"session cookies without a SameSite attribute: {', '.join(no_same_site)}",
            *evidence,
            remediation="Set-Cookie: session=…; Path=/; Secure; HttpOnly; SameSite=Lax\n"
            "# nginx in front of an app that cannot: proxy_cookie_flags ~ secure httponly "
            "samesite=lax;",
        )
    if no_http_only:
        yield ctx.failed(
            XSS,
            f"session cookies readable by scripts (no HttpOnly): {', '.join(no_http_only)}",
            *evidence,
            remediation="Set-Cookie: session=…; Path=/; Secure; HttpOnly; SameSite=Lax\n"
            "# nginx: proxy_cookie_flags ~ secure httponly samesite=lax;",
        )
    if trackers:
        yield ctx.failed(
            CONSENT,
            f"analytics/advertising cookies set on the first answer, before any consent: "
            f"{', '.join(trackers)}",
            *evidence,
            remediation="Set analytics cookies only after the user accepts them in the consent "
            "banner (load the tag through the consent manager), never from the server on the "
            "first response.",
        )
