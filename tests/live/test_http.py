"""The live HTTP(S) collector and its checks against a real nginx with good and bad sites.

One nginx (tests/live/nginx.py) serves every scenario on its own loopback port;
a module-scoped scan reads all of them at once, and each test looks at one
endpoint's facts or runs one check over them. Scenarios that need other limits
(timeouts, request budget, body cap) get their own small scan.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from prr.checks.registry import REGISTRY, CheckContext, load_builtin_checks
from prr.collectors.base import Facts
from prr.collectors.live import tls
from prr.collectors.live.base import LiveContext, LiveLimits
from prr.collectors.live.http import (
    EndpointFacts,
    EndpointReport,
    HttpCollector,
    TlsFacts,
    parse_hsts,
    parse_server,
    percentile,
)
from prr.model.evidence import Result, Status
from prr.model.target import Endpoint, Environment, Target
from tests.helpers import by_item
from tests.live.nginx import (
    AUTH_HEADER_NAME,
    AUTH_SECRET,
    GOOD_OPENAPI,
    STATIC_ASSET,
    Pki,
    Sites,
    make_pki,
    nginx_config,
    run_nginx,
    silent_port,
    slow_upstream,
)
from tests.live.servers import free_port

CERT = "infrastructure.networking.ssl-tls-certificates-installed"
HTTPS = "security.network-security.https-enforced"
IN_TRANSIT = "security.data-security.data-encrypted-in-transit"
EDGE = "security.network-security.security-headers-configured"
APP = "security.application-security.security-headers-set"
CORS = "security.network-security.cors-properly-configured"
HEALTH = "infrastructure.compute.health-checks-configured"
PROTECTED = "security.authorization.all-endpoints-protected"
RATE = "security.authorization.api-rate-limiting-enabled"
LATENCY = "performance.load-testing.response-times-acceptable"
STATIC = "performance.optimization.static-assets-cdn-d"
CSRF = "security.application-security.csrf-protection"
XSS = "security.application-security.xss-prevention"
CONSENT = "security.compliance.cookie-consent"
AUTH_ENV = "PRR_TEST_HTTP_AUTH"


class _Endpoint(Endpoint):
    """Endpoint plus the two optional keys the collector reads when the target format has them."""

    http_url: str | None = None
    static_path: str | None = None


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
    with slow_upstream(delay=30) as upstream:
        config, ports = nginx_config(tmp_path_factory.mktemp("nginx"), pki, slow_upstream=upstream)
        with run_nginx(config, ports) as running:
            yield running


def scan(
    endpoints: list[Endpoint],
    *,
    limits: LiveLimits | None = None,
    root: Path | None = None,
) -> tuple[EndpointFacts, LiveContext]:
    spec = Environment(endpoints=tuple(endpoints))
    target = Target(service="svc", environments={"staging": spec}, root=str(root) if root else None)
    ctx = LiveContext(
        "staging", spec, target, limits or LiveLimits(timeout_s=3.0, latency_samples=5)
    )
    facts = asyncio.run(HttpCollector().collect(ctx))
    return facts, ctx


def bag(facts: EndpointFacts, ctx: LiveContext, *names: str) -> Facts:
    """A Facts bag with only the named endpoints (and the errors), as one environment."""
    chosen = tuple(e for e in facts.endpoints if not names or e.name in names)
    out = Facts(list(ctx.errors))
    out.add(EndpointFacts(facts.environment, chosen, facts.at))
    return out


def run(check_id: str, facts: Facts, settings: dict[str, Any] | None = None) -> dict[str, Result]:
    load_builtin_checks()
    ctx = CheckContext(check_id, facts, environment="staging", settings=settings or {})
    return by_item(list(REGISTRY[check_id].func(ctx)))


def verdict(check_id: str, item: str, all_: tuple[EndpointFacts, LiveContext], name: str) -> Result:
    return run(check_id, bag(*all_, name))[item]


@pytest.fixture(scope="module")
def everything(sites: Sites) -> Iterator[tuple[EndpointFacts, LiveContext]]:
    """One concurrent scan of every scenario (the auth header comes from an env var)."""
    os.environ[AUTH_ENV] = f"{AUTH_HEADER_NAME}: {AUTH_SECRET}"
    try:
        u = sites.url
        endpoints: list[Endpoint] = [
            _Endpoint(
                name="good",
                url=u("good"),
                http_url=u("good-http", scheme="http"),
                static_path=STATIC_ASSET,
                openapi="/openapi.json",
            ),
            _Endpoint(
                name="bare",
                url=u("bare"),
                http_url=u("bare-http", scheme="http"),
                static_path=STATIC_ASSET,
                openapi=u("bare", "/openapi.json"),
            ),
            _Endpoint(name="reflect", url=u("bare", "/reflect/")),
            _Endpoint(name="tls10", url=u("tls10"), http_url=u("good-http", scheme="http")),
            Endpoint(name="expired", url=u("expired"), auth_header=f"env:{AUTH_ENV}"),
            Endpoint(name="soon", url=u("soon")),
            Endpoint(name="warn", url=u("warn")),
            Endpoint(name="selfsigned", url=u("selfsigned")),
            Endpoint(name="wronghost", url=u("wronghost")),
            Endpoint(name="loop", url=u("loop")),
            Endpoint(name="auth", url=u("auth"), auth_header=f"env:{AUTH_ENV}"),
            Endpoint(name="refused", url=f"https://127.0.0.1:{free_port()}/"),
            Endpoint(name="not-tls", url=u("bare-http")),
            Endpoint(name="plain", url=u("bare-http", scheme="http")),
            Endpoint(name="metadata", url="http://169.254.169.254/latest/"),
        ]
        started = time.perf_counter()
        result = scan(endpoints)
        assert time.perf_counter() - started < 15
        yield result
    finally:
        os.environ.pop(AUTH_ENV, None)


def report(all_: tuple[EndpointFacts, LiveContext], name: str) -> EndpointReport:
    return next(e for e in all_[0].endpoints if e.name == name)


# --- the collector's facts ------------------------------------------------------------------


def test_good_endpoint_facts(everything: Any) -> None:
    good = report(everything, "good")
    assert good.error is None
    assert good.tls is not None
    assert good.tls.protocols == {
        "TLSv1.0": "refused",
        "TLSv1.1": "refused",
        "TLSv1.2": "accepted",
        "TLSv1.3": "accepted",
    }
    assert good.tls.trusted and good.tls.hostname_match
    assert good.tls.key == "EC P-256"
    assert good.tls.issuer == "CN=prr test CA"
    assert 80 <= (good.tls.days_left or 0) <= 90
    assert good.hsts() == {"max_age": 31536000, "include_subdomains": True, "preload": False}
    assert good.health and good.health.status == 200
    assert good.health_dependencies == ("db", "redis")
    assert good.latency and good.latency.samples == 5 and good.latency.p95_ms is not None
    assert good.http_redirect and good.http_redirect.redirects[-1].startswith("https://")
    assert good.cors_behaviour() == "none"
    assert good.server() == ("nginx", None)
    assert good.requests <= LiveLimits().max_requests
    assert [c.name for c in good.cookies()] == ["session"]


def test_tls_1_0_server_is_probed_with_seclevel_0(everything: Any) -> None:
    legacy = report(everything, "tls10")
    assert legacy.tls is not None
    assert legacy.tls.protocols["TLSv1.0"] == "accepted"
    assert legacy.tls.protocols["TLSv1.1"] == "accepted"
    assert legacy.tls.key == "RSA 2048"


def test_unreachable_refused_handshake_failure_and_guard(everything: Any) -> None:
    _facts, ctx = everything
    refused = report(everything, "refused")
    assert refused.error == "TLS: connection refused"
    not_tls = report(everything, "not-tls")
    assert not_tls.error is not None and "TLS handshake failed" in not_tls.error
    metadata = report(everything, "metadata")
    assert metadata.error and "metadata" in metadata.error and metadata.requests == 0
    sources = " ".join(e.source for e in ctx.errors)
    for e in (refused, not_tls, metadata):
        assert e.url in sources
    for name in ("refused", "not-tls"):
        results = [
            verdict("live.security.tls-versions", IN_TRANSIT, everything, name),
            verdict("live.infrastructure.tls-certificates", CERT, everything, name),
            verdict("live.reliability.health-endpoint", HEALTH, everything, name),
            verdict("live.security.https-enforced", HTTPS, everything, name),
        ]
        assert all(r.status is Status.UNKNOWN for r in results), results
        assert "could not be read" in results[0].message


def test_redirect_loop_is_detected_and_unknown(everything: Any) -> None:
    loop = report(everything, "loop")
    assert loop.main and loop.main.error and loop.main.error.startswith("redirect loop")
    assert loop.health and "redirect loop" in (loop.health.error or "")
    assert loop.latency is None
    assert verdict("live.reliability.health-endpoint", HEALTH, everything, "loop").status is (
        Status.UNKNOWN
    )
    assert verdict("live.security.edge-headers", EDGE, everything, "loop").status is Status.UNKNOWN


def test_no_request_but_get_reached_nginx(everything: Any, sites: Sites) -> None:
    lines = (sites.root / "access.log").read_text().splitlines()
    methods = {m.group(1) for line in lines if (m := re.search(r'"([A-Z]+) ', line))}
    assert lines and methods == {"GET"}


def test_auth_header_is_sent_but_never_shown(everything: Any) -> None:
    facts, ctx = everything
    auth = report(everything, "auth")
    assert auth.auth_sent
    assert auth.health and auth.health.status == 200  # nginx answers 401 without the key
    expired = report(everything, "expired")
    assert not expired.auth_sent and expired.auth_note  # withheld: certificate not valid
    load_builtin_checks()
    results = [
        r
        for cid, c in REGISTRY.items()
        if cid.startswith("live.") and EndpointFacts in c.needs
        for r in run(cid, bag(facts, ctx)).values()
    ]
    text = repr(facts) + repr(ctx.errors) + repr([r.to_dict() for r in results])
    assert AUTH_SECRET not in text
    assert len(results) >= 12


def test_missing_auth_variable_is_reported_by_name(sites: Sites) -> None:
    os.environ.pop("PRR_TEST_UNSET_AUTH", None)
    facts, ctx = scan(
        [Endpoint(name="auth", url=sites.url("auth"), auth_header="env:PRR_TEST_UNSET_AUTH")],
        limits=LiveLimits(timeout_s=3, latency_samples=1),
    )
    assert any("PRR_TEST_UNSET_AUTH is not set" in e.reason for e in ctx.errors)
    assert facts.endpoints[0].health and facts.endpoints[0].health.status == 401


def test_wrong_secret_does_not_leak(sites: Sites) -> None:
    os.environ["PRR_TEST_WRONG_AUTH"] = "X-Api-Key: wrong-but-secret-value-77"
    try:
        facts, ctx = scan(
            [Endpoint(name="auth", url=sites.url("auth"), auth_header="env:PRR_TEST_WRONG_AUTH")],
            limits=LiveLimits(timeout_s=3, latency_samples=1),
        )
    finally:
        os.environ.pop("PRR_TEST_WRONG_AUTH")
    result = run("live.reliability.health-endpoint", bag(facts, ctx))[HEALTH]
    assert result.status is Status.FAIL and "401" in result.message
    assert "wrong-but-secret-value-77" not in repr(facts) + repr(ctx.errors) + repr(result)


def test_slow_endpoint_times_out_quickly_and_is_unknown(sites: Sites) -> None:
    started = time.perf_counter()
    facts, ctx = scan(
        [Endpoint(name="slow", url=sites.url("slow"))],
        limits=LiveLimits(timeout_s=0.5, latency_samples=3),
    )
    assert time.perf_counter() - started < 5
    slow = facts.endpoints[0]
    assert slow.health and slow.health.error == "timed out after 0.5s"
    assert any("timed out" in e.reason for e in ctx.errors)
    for check_id, item in (
        ("live.reliability.health-endpoint", HEALTH),
        ("live.performance.latency", LATENCY),
        ("live.security.edge-headers", EDGE),
        ("live.security.cors", CORS),
    ):
        assert run(check_id, bag(facts, ctx))[item].status is Status.UNKNOWN


def test_tls_handshake_timeout_on_a_silent_port() -> None:
    with silent_port() as port:
        started = time.perf_counter()
        facts, ctx = scan(
            [Endpoint(name="silent", url=f"https://127.0.0.1:{port}/")],
            limits=LiveLimits(timeout_s=0.5),
        )
        assert time.perf_counter() - started < 5
    silent = facts.endpoints[0]
    assert silent.error == "TLS: timed out after 0.5s"
    result = run("live.infrastructure.tls-certificates", bag(facts, ctx))[CERT]
    assert result.status is Status.UNKNOWN and "timed out" in result.message


def test_request_budget_and_body_cap_are_honoured(sites: Sites) -> None:
    facts, ctx = scan(
        [_Endpoint(name="good", url=sites.url("good"), openapi="/openapi.json")],
        limits=LiveLimits(timeout_s=3, max_requests=4, latency_samples=10, max_body_bytes=64),
    )
    good = facts.endpoints[0]
    assert good.requests == 4
    assert good.openapi and good.openapi.error and "larger than 64 bytes" in good.openapi.error
    assert good.latency and good.latency.error and "budget" in good.latency.error
    assert run("live.security.openapi-auth", bag(facts, ctx))[PROTECTED].status is Status.UNKNOWN


def test_openapi_from_a_repository_file(sites: Sites, tmp_path: Path) -> None:
    spec = tmp_path / "api" / "openapi.yaml"
    spec.parent.mkdir()
    import yaml

    spec.write_text(yaml.safe_dump(GOOD_OPENAPI))
    facts, ctx = scan(
        [Endpoint(name="good", url=sites.url("good"), openapi="api/openapi.yaml")],
        limits=LiveLimits(timeout_s=3, latency_samples=1),
        root=tmp_path,
    )
    api = facts.endpoints[0].openapi
    assert api and api.source == "api/openapi.yaml"
    assert sorted(p.path for p in api.probes) == ["/api/me", "/api/orders"]
    assert api.skipped == ("/api/orders/{id} (path parameter)",)
    result = run("live.security.openapi-auth", bag(facts, ctx))[PROTECTED]
    assert result.status is Status.PASS


def test_parity_view(everything: Any) -> None:
    facts, _ctx = everything
    view = facts.parity()
    assert view["http.good.tls.protocols"] == ["TLSv1.2", "TLSv1.3"]
    assert view["http.tls10.tls.protocols"] == ["TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    assert view["http.good.hsts"] == "max-age=31536000; includeSubDomains"
    assert "x-content-type-options" in view["http.good.security_headers"]
    assert view["http.bare.security_headers"] == []
    assert view["http.bare.cors"] == "wildcard+credentials"
    assert view["http.bare.server.product"] == "nginx"
    assert view["http.bare.server.version"] == "1.22.1"
    assert view["http.good.health.status"] == 200
    assert not any(k.startswith("http.refused.") for k in view)


# --- checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [
        ("good", Status.PASS, "trusted certificate"),
        ("warn", Status.PASS, "warning: only 19 days left"),
        ("soon", Status.FAIL, "in 6 days"),
        ("expired", Status.FAIL, "expired on 2020-02-01"),
        ("selfsigned", Status.FAIL, "self-signed"),
        ("wronghost", Status.FAIL, "does not cover the host (names: other.example)"),
        ("tls10", Status.FAIL, "also accepts TLSv1.0, TLSv1.1"),
        ("plain", Status.FAIL, "no certificate"),
    ],
)
def test_certificates(everything: Any, name: str, status: Status, words: str) -> None:
    result = verdict("live.infrastructure.tls-certificates", CERT, everything, name)
    assert result.status is status, result.message
    assert words in result.message
    assert result.environment == "staging"
    if name != "plain":
        assert result.fields["cert_expiry"] == report(everything, name).tls.not_after  # type: ignore[union-attr]
        assert result.evidence[0].value["at"]
    if status is Status.FAIL:
        assert result.remediation


def test_certificate_expiry_field_is_the_earliest(everything: Any) -> None:
    result = run("live.infrastructure.tls-certificates", bag(*everything, "good", "soon"))[CERT]
    assert result.status is Status.FAIL
    assert result.fields["cert_expiry"] == report(everything, "soon").tls.not_after  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [
        ("good", Status.PASS, "redirects to https://"),
        ("bare", Status.FAIL, "answers 200 over plain HTTP without redirecting"),
        ("tls10", Status.PASS, "HSTS max-age=31536000"),
        ("auth", Status.UNKNOWN, "plain HTTP not probed"),
        ("plain", Status.FAIL, "served over plain http://"),
    ],
)
def test_https_enforced(everything: Any, name: str, status: Status, words: str) -> None:
    result = verdict("live.security.https-enforced", HTTPS, everything, name)
    assert result.status is status, result.message
    assert words in result.message


def test_https_enforced_names_missing_hsts(everything: Any) -> None:
    result = verdict("live.security.https-enforced", HTTPS, everything, "bare")
    assert "no Strict-Transport-Security header" in result.message
    assert "cookies without Secure: sid, _ga" in result.message
    assert "return 301 https://$host$request_uri;" in (result.remediation or "")


@pytest.mark.parametrize(
    ("name", "status"), [("good", Status.PASS), ("tls10", Status.FAIL), ("plain", Status.FAIL)]
)
def test_tls_versions(everything: Any, name: str, status: Status) -> None:
    result = verdict("live.security.tls-versions", IN_TRANSIT, everything, name)
    assert result.status is status, result.message
    if status is Status.FAIL and name == "tls10":
        assert "accepts TLSv1.0, TLSv1.1" in result.message
        assert "ssl_protocols TLSv1.2 TLSv1.3;" in (result.remediation or "")


def test_tls_version_that_could_not_be_tested_is_unknown() -> None:
    report_ = EndpointReport(
        name="api",
        url="https://api.example/",
        at="2026-01-01T00:00:00+00:00",
        https=True,
        tls=TlsFacts(
            at="2026-01-01T00:00:00+00:00",
            protocols={
                "TLSv1.0": "could not test",
                "TLSv1.1": "refused",
                "TLSv1.2": "accepted",
                "TLSv1.3": "accepted",
            },
            protocol_details={"TLSv1.0": "the local OpenSSL cannot offer TLSv1.0"},
        ),
    )
    facts = Facts()
    facts.add(EndpointFacts("staging", (report_,)))
    result = run("live.security.tls-versions", facts)[IN_TRANSIT]
    assert result.status is Status.UNKNOWN
    assert "TLSv1.0 could not be tested: the local OpenSSL cannot offer TLSv1.0" in result.message


def test_client_can_offer_legacy_versions_here() -> None:
    # With @SECLEVEL=0 the local OpenSSL can still send TLS 1.0/1.1 ClientHellos.
    assert tls.client_can_offer("TLSv1.0") is None
    assert tls.client_can_offer("TLSv1.3") is None


def test_security_headers(everything: Any) -> None:
    good = verdict("live.security.edge-headers", EDGE, everything, "good")
    assert good.status is Status.PASS, good.message
    bare = verdict("live.security.edge-headers", EDGE, everything, "bare")
    assert bare.status is Status.FAIL
    assert "missing X-Content-Type-Options: nosniff" in bare.message
    assert "Server: nginx/1.22.1" in bare.message and "X-Powered-By: PHP/8.1.2" in bare.message
    assert "server_tokens off;" in (bare.remediation or "")
    assert bare.evidence[0].value["headers"]["server"] == "nginx/1.22.1"
    app_good = verdict("live.security.app-headers", APP, everything, "good")
    app_bare = verdict("live.security.app-headers", APP, everything, "bare")
    assert (app_good.status, app_bare.status) == (Status.PASS, Status.FAIL)
    assert "Content-Security-Policy, Permissions-Policy" in app_bare.message


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [
        ("good", Status.PASS, "grants no cross-origin access"),
        ("bare", Status.FAIL, "Access-Control-Allow-Origin: * with Allow-Credentials: true"),
        ("reflect", Status.FAIL, "reflects an arbitrary Origin and allows credentials"),
    ],
)
def test_cors(everything: Any, name: str, status: Status, words: str) -> None:
    result = verdict("live.security.cors", CORS, everything, name)
    assert result.status is status and words in result.message


def test_health(everything: Any) -> None:
    good = verdict("live.reliability.health-endpoint", HEALTH, everything, "good")
    assert good.status is Status.PASS and "reports dependencies: db, redis" in good.message
    bare = verdict("live.reliability.health-endpoint", HEALTH, everything, "bare")
    assert bare.status is Status.FAIL and "answered 503" in bare.message


def test_openapi_protection(everything: Any) -> None:
    good = verdict("live.security.openapi-auth", PROTECTED, everything, "good")
    assert good.status is Status.PASS, good.message
    bare = verdict("live.security.openapi-auth", PROTECTED, everything, "bare")
    assert bare.status is Status.FAIL and "/api/export answered 2xx" in bare.message
    assert not run("live.security.openapi-auth", bag(*everything, "tls10"))


def test_rate_limit_headers_are_not_proof(everything: Any) -> None:
    result = verdict("live.security.rate-limit-headers", RATE, everything, "good")
    assert result.status is Status.UNKNOWN and "prr drill rate-limit" in result.message
    assert not run("live.security.rate-limit-headers", bag(*everything, "bare"))


def test_latency(everything: Any) -> None:
    result = verdict("live.performance.latency", LATENCY, everything, "good")
    assert result.status is Status.PASS
    assert "default threshold" in result.message and "without load" in result.message
    assert result.fields["p95"].endswith("ms")
    strict = run(
        "live.performance.latency",
        bag(*everything, "good"),
        settings={"fields": {LATENCY: {"p95": "0.001ms"}}},
    )[LATENCY]
    assert strict.status is Status.FAIL and "the item's p95 target" in strict.message


@pytest.mark.parametrize(("objective", "status"), [("0.001ms", Status.FAIL), ("10s", Status.PASS)])
def test_latency_target_from_prr_yaml(
    sites: Sites, tmp_path: Path, objective: str, status: Status
) -> None:
    """``slo.latency_p95`` in prr.yaml reaches the latency check through a live scan."""
    from prr.engine.scan import ScanOptions, run_scan

    (tmp_path / "prr.yaml").write_text(
        f"service: svc\nslo:\n  latency_p95: {objective}\nenvironments:\n  staging:\n"
        f"    endpoints: [{{name: good, url: '{sites.url('good')}'}}]\n"
    )
    load_builtin_checks()
    assessment = run_scan(
        ScanOptions(
            root=tmp_path,
            collectors=[],
            checks=[REGISTRY["live.performance.latency"]],
            live=True,
            live_collectors=[HttpCollector],
            live_limits=LiveLimits(timeout_s=3.0, latency_samples=5),
            drill_store_url=None,
        )
    )
    item = next(i for i in assessment.items if i.id == LATENCY)
    assert item.status is status, item.message
    assert f"{'over' if status is Status.FAIL else 'under'} " in item.message
    assert "the target in prr.yaml (slo.latency_p95)" in item.message
    assert item.results[0].evidence[0].value["samples"] == 5


def test_static_assets(everything: Any) -> None:
    good = verdict("live.performance.static-assets", STATIC, everything, "good")
    assert good.status is Status.PASS, good.message
    assert "gzip" in good.message
    bare = verdict("live.performance.static-assets", STATIC, everything, "bare")
    assert bare.status is Status.FAIL
    assert "cache lifetime not set" in bare.message and "uncompressed" in bare.message


def test_cookie_checks_decide_only_failures(everything: Any) -> None:
    bare = run("live.security.cookies", bag(*everything, "bare"))
    assert bare[CSRF].status is Status.FAIL and "sid (bare)" in bare[CSRF].message
    assert bare[XSS].status is Status.FAIL
    assert bare[CONSENT].status is Status.FAIL and "_ga (bare)" in bare[CONSENT].message
    assert run("live.security.cookies", bag(*everything, "good")) == {}


def test_whole_environment_result_fails_when_one_endpoint_fails(everything: Any) -> None:
    result = run("live.infrastructure.tls-certificates", bag(*everything))[CERT]
    assert result.status is Status.FAIL
    assert "also" in result.message and "could not be read" in result.message


def test_parsers() -> None:
    assert parse_hsts('max-age="600"; preload') == {
        "max_age": 600,
        "include_subdomains": False,
        "preload": True,
    }
    assert parse_server("Apache/2.4.57 (Debian)") == ("Apache", "2.4.57")
    assert parse_server("cloudflare") == ("cloudflare", None)
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([float(i) for i in range(1, 21)], 95) == 19.0


def test_hostname_matching_and_malformed_certificates(pki: Pki) -> None:
    import ssl

    der = ssl.PEM_cert_to_DER_cert(pki.certs["wronghost"][0].read_text())
    cert = tls.parse_certificate(der)
    assert cert.dns_names == ("other.example",) and not cert.self_issued
    wildcard = tls.CertInfo(
        subject="CN=*.example.com",
        issuer="CN=ca",
        not_before=cert.not_before,
        not_after=cert.not_after,
        dns_names=("*.example.com",),
        ip_addresses=("10.0.0.1",),
        key="EC P-256",
        key_bits=256,
        self_issued=False,
    )
    assert tls.hostname_matches(wildcard, "api.example.com")
    assert not tls.hostname_matches(wildcard, "a.b.example.com")
    assert not tls.hostname_matches(wildcard, "example.com")
    assert tls.hostname_matches(wildcard, "10.0.0.1")
    assert not tls.hostname_matches(wildcard, "10.0.0.2")
    with pytest.raises(ValueError, match="malformed certificate"):
        tls.parse_certificate(der[:40])


def test_openapi_servers_prefix_and_optional_security() -> None:
    from prr.collectors.live.http import _openapi_operations

    spec = {
        "servers": [{"url": "https://api.example.com/v1"}],
        "security": [{"key": []}],
        "paths": {
            "/orders": {"get": {}},
            "/public": {"get": {"security": []}},
            "/maybe": {"get": {"security": [{}, {"key": []}]}},
            "/items/{id}": {"get": {}},
            "/upload": {"post": {}},
        },
    }
    probe, skipped, secured = _openapi_operations(spec, "/")
    assert probe == ["/v1/orders"]
    assert skipped == ["/items/{id} (path parameter)"]
    assert secured == 2
    with pytest.raises(ValueError, match="no paths"):
        _openapi_operations({"openapi": "3.0.0"}, "/")
