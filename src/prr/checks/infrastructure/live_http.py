"""TLS certificates as the running endpoints present them (``prr scan --live``).

Each HTTPS endpoint's leaf certificate is verified against the system trust
store (plus ``PRR_CA_BUNDLE``), matched against the endpoint's host name, and
its expiry date recorded in the item's ``cert_expiry`` field (the earliest over
all endpoints). Expired, untrusted or self-signed, wrong-host and
soon-expiring (under 14 days) certificates fail; under 30 days passes with a
warning in the message.
"""

from __future__ import annotations

from collections.abc import Iterable

from prr.checks.registry import CheckContext, check
from prr.checks.security.live_http import Finding, decide, endpoints, label, unreadable
from prr.collectors.live import tls
from prr.collectors.live.http import EndpointFacts, EndpointReport
from prr.model.evidence import Evidence, Result, Status

CERTIFICATES = "infrastructure.networking.ssl-tls-certificates-installed"
FAIL_DAYS = 14
WARN_DAYS = 30

RENEW_FIX = """\
Renew the certificate now and automate renewal well before expiry, e.g.
  certbot renew --deploy-hook "systemctl reload nginx"      # cron/systemd timer, twice a day
or with cert-manager:
  spec: {duration: 2160h, renewBefore: 720h}"""
TRUST_FIX = """\
Serve a certificate from a publicly trusted CA with its full chain, e.g. in nginx:
  ssl_certificate     /etc/letsencrypt/live/example.com/fullchain.pem;
  ssl_certificate_key /etc/letsencrypt/live/example.com/privkey.pem;"""
HOST_FIX = """\
Reissue the certificate with every served host name in its subject alternative names:
  certbot certonly --cert-name example.com -d example.com -d www.example.com"""
LEGACY_FIX = "ssl_protocols TLSv1.2 TLSv1.3;   # nginx: refuse TLS 1.0 and 1.1"


def _evidence(e: EndpointReport) -> Evidence:
    facts = e.tls
    assert facts is not None
    return Evidence(
        f"certificate of {e.url} at {facts.at}: subject {facts.subject}, issuer {facts.issuer}, "
        f"expires {facts.not_after} ({facts.days_left} days), key {facts.key}, "
        f"trusted={facts.trusted}, covers host={facts.hostname_match}",
        url=e.url,
        query="TLS handshake verified against the system trust store (+ PRR_CA_BUNDLE)",
        value={
            "at": facts.at,
            "subject": facts.subject,
            "issuer": facts.issuer,
            "not_after": facts.not_after,
            "days_left": facts.days_left,
            "key": facts.key,
            "key_bits": facts.key_bits,
            "names": list(facts.names),
            "trusted": facts.trusted,
            "trust_error": facts.trust_error,
            "hostname_match": facts.hostname_match,
            "self_signed": facts.self_signed,
            "protocols": facts.protocols,
        },
    )


def _finding(e: EndpointReport) -> tuple[Finding, list[str]]:
    """The endpoint's verdict and the remediation snippets its problems call for."""
    if e.error:
        return unreadable(e), []
    if not e.https or e.tls is None:
        return Finding(Status.FAIL, f"{label(e)} is served over plain HTTP: no certificate"), [
            TRUST_FIX
        ]
    facts = e.tls
    if facts.certificate_error or facts.days_left is None:
        reason = facts.certificate_error or "no certificate read"
        return Finding(Status.UNKNOWN, f"{label(e)}: {reason}"), []
    problems: list[str] = []
    fixes: list[str] = []
    if facts.days_left < 0:
        problems.append(f"expired on {facts.not_after}")
        fixes.append(RENEW_FIX)
    elif facts.days_left < FAIL_DAYS:
        problems.append(f"expires on {facts.not_after}, in {facts.days_left} days")
        fixes.append(RENEW_FIX)
    if facts.trusted is False and (facts.days_left >= 0 or facts.self_signed):
        kind = "self-signed" if facts.self_signed else "not trusted"
        problems.append(
            f"{kind} ({(facts.trust_error or '').removeprefix('certificate not trusted: ')})"
        )
        fixes.append(TRUST_FIX)
    if facts.hostname_match is False:
        names = ", ".join(facts.names) or "none"
        problems.append(f"does not cover the host (names: {names})")
        fixes.append(HOST_FIX)
    legacy = [v for v in sorted(tls.LEGACY) if facts.protocols.get(v) == tls.ACCEPTED]
    if legacy:
        problems.append(f"also accepts {', '.join(legacy)}")
        fixes.append(LEGACY_FIX)
    evidence = (_evidence(e),)
    if problems:
        return Finding(
            Status.FAIL, f"{label(e)} certificate {'; '.join(problems)}", evidence
        ), fixes
    text = (
        f"{label(e)} presents a trusted certificate for the host from {facts.issuer}, "
        f"expiring on {facts.not_after}"
    )
    if facts.days_left < WARN_DAYS:
        text += f" — warning: only {facts.days_left} days left, renew soon"
    return Finding(Status.PASS, text, evidence), []


@check(
    "live.infrastructure.tls-certificates",
    items=[CERTIFICATES],
    needs=[EndpointFacts],
    scope="environment",
)
def tls_certificates(ctx: CheckContext) -> Iterable[Result]:
    """Every HTTPS endpoint presents a trusted, matching certificate that is not about to expire."""
    findings: list[Finding] = []
    fixes: list[str] = []
    expiries: list[str] = []
    for e in endpoints(ctx):
        finding, needed = _finding(e)
        findings.append(finding)
        fixes += [f for f in needed if f not in fixes]
        if e.tls and e.tls.not_after:
            expiries.append(e.tls.not_after)
    fields = {"cert_expiry": min(expiries)} if expiries else None
    yield from decide(
        ctx, CERTIFICATES, findings, remediation="\n\n".join(fixes) or None, fields=fields
    )
