"""Live Prometheus collector and checks against a real Prometheus scraping a real endpoint."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from prr.collectors.live.base import LiveLimits
from prr.collectors.live.prometheus import (
    LabelMatcher,
    PrometheusCollector,
    PrometheusFacts,
    parse_matchers,
    rule_coverage,
)
from prr.model.evidence import Result, Status
from tests.helpers import by_item, run_live_check
from tests.live.servers import collect_live, free_port, live_facts

if TYPE_CHECKING:
    from tests.live.monitoring import PromServer, Service

# The servers are session fixtures in tests/live/monitoring.py (loaded as a plugin so
# that every module shares one Prometheus). Import it only lazily, never at module level.
pytestmark = pytest.mark.slow

METRICS_CHECK = "live.monitoring.prometheus-metrics"
RULES_CHECK = "live.alerting.prometheus-rules"
SLO_CHECK = "live.sla-slo.prometheus-slo-rules"
APP = "reliability.monitoring.application-metrics-collected"
INFRA = "reliability.monitoring.infrastructure-metrics-collected"
ERRORS = "reliability.alerting.error-rate-alerts"
LATENCY = "reliability.alerting.latency-alerts"
SATURATION = "reliability.alerting.resource-utilization-alerts"
AVAILABILITY = "reliability.alerting.availability-alerts"
TARGET = "reliability.sla-slo.availability-target-defined"
FAST = LiveLimits(timeout_s=1.0, total_timeout_s=10.0)


def _env(url: str, selector: str | None = 'job="shop-api"', **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"url": url, **extra}
    if selector is not None:
        spec["selector"] = selector
    return {"prometheus": spec}


def _results(facts: Any, *checks: str, production: bool = False) -> dict[str, Result]:
    results: list[Result] = []
    for check_id in checks:
        results += run_live_check(check_id, facts, production=production)
    return by_item(results)


ALL = (METRICS_CHECK, RULES_CHECK, SLO_CHECK)


# ------------------------------------------------------------------ pure helpers


def test_matchers_parse_and_match_like_prometheus() -> None:
    parsed = parse_matchers('{job="shop-api", severity=~"crit.*",env!="dev", team!~"x|y"}')
    assert [str(m) for m in parsed] == [
        'job="shop-api"',
        'severity=~"crit.*"',
        'env!="dev"',
        'team!~"x|y"',
    ]
    labels = {"job": "shop-api", "severity": "critical", "team": "z"}
    assert all(m.matches(labels) for m in parsed)
    # Regexes are fully anchored; a missing label is the empty string.
    assert not LabelMatcher("job", "=~", "shop").matches({"job": "shop-api"})
    assert LabelMatcher("job", "=~", "shop.*").matches({"job": "shop-api"})
    assert LabelMatcher("env", "=", "").matches({})
    assert LabelMatcher("env", "!~", ".+").matches({})
    assert parse_matchers("severity=critical") == (LabelMatcher("severity", "=", "critical"),)
    assert parse_matchers(r'msg="a \"quoted\", b"')[0].value == 'a "quoted", b'
    with pytest.raises(ValueError):
        parse_matchers("job shop-api")


def test_rule_coverage_names_the_service_or_watches_every_job() -> None:
    wanted = parse_matchers('job="shop-api"')
    names = frozenset({"up", "http_requests_total"})

    def cover(expr: str, labels: dict[str, str] | None = None) -> str | None:
        return rule_coverage(expr, labels or {}, {}, wanted, "shop", names)

    assert cover('rate(http_requests_total{job="shop-api"}[5m]) > 1') == "service"
    assert cover('up{job=~"shop-.*"} == 0') == "service"
    assert cover('up{job="shop-api-canary"} == 0') is None
    assert cover('up{job="other"} == 0') is None
    assert cover("up == 0") == "fleet-wide"
    assert cover("node_load1 > 4") is None
    assert cover("vector(0.999)", {"sloth_service": "shop-api"}) == "service"


# ------------------------------------------------------------------ real server


def test_reads_targets_metrics_rules_alerts_and_build(prometheus: PromServer) -> None:
    facts, ctx = collect_live(PrometheusCollector, _env(prometheus.url))
    assert isinstance(facts, PrometheusFacts)
    assert not ctx.errors and not facts.problems
    assert facts.version and facts.version.startswith("2.")
    assert dict(facts.runtime)["storageRetention"]
    assert dict(facts.external_labels) == {"cluster": "test"}
    assert [(t.job, t.health) for t in facts.targets] == [("shop-api", "up")]
    assert "http_requests_total" in facts.request_counters
    assert facts.status_labels("http_requests_total") == ["code"]
    assert facts.latency_metrics[0] == "http_request_duration_seconds_bucket"
    assert {"cpu", "memory", "restarts"} <= set(facts.infra)
    names = {r.name: r for r in facts.rules}
    assert {
        "ShopApiHighErrorRate",
        "ShopApiHighLatency",
        "ShopApiDown",
        "slo:objective:ratio",
    } <= set(names)
    assert "OtherApiHighErrorRate" not in names
    assert "other:requests:rate5m" not in names
    assert "error-rate" in names["ShopApiHighErrorRate"].classes
    assert names["ShopApiHighErrorRate"].for_duration == "5m"
    assert names["ShopApiDown"].health == "ok"
    assert facts.rules_total >= 10
    assert [a.name for a in facts.alerts if a.state == "firing"] == ["ShopApiRequestsSeen"]
    assert facts.request_of("targets").startswith(f"GET {prometheus.url}/api/v1/targets")
    view = facts.parity()
    assert view["prometheus.version"] == facts.version
    assert "ShopApiDown" in view["prometheus.alert_rules"]
    assert {"error-rate", "latency", "availability", "saturation"} <= set(
        view["prometheus.alert_classes"]
    )


def test_checks_pass_for_an_instrumented_alerted_service(prometheus: PromServer) -> None:
    facts = live_facts(PrometheusCollector, _env(prometheus.url))
    results = _results(facts, *ALL)
    assert {k: r.status for k, r in results.items()} == {
        APP: Status.PASS,
        INFRA: Status.PASS,
        ERRORS: Status.PASS,
        LATENCY: Status.PASS,
        SATURATION: Status.PASS,
        AVAILABILITY: Status.PASS,
        TARGET: Status.PASS,
    }
    assert results[ERRORS].fields == {"error_rate_threshold": 1.0}
    assert results[LATENCY].fields == {"latency_threshold": "500ms"}
    assert results[SATURATION].fields == {"utilization_threshold": 90.0}
    assert results[TARGET].fields == {"availability_target": 99.9}
    assert "error budget 0.1%" in results[TARGET].message
    app = results[APP]
    assert "http_requests_total{code" in app.message
    assert "ShopApiRequestsSeen" in app.message  # firing now: reported, not failing
    assert all(r.environment == "staging" for r in results.values())
    first = app.evidence[0]
    assert first.url == f"{prometheus.url}/api/v1/targets"
    assert first.query == "state=active"
    assert "read 20" in first.summary  # ISO timestamp of the read
    assert "ShopApiRequestsSeen" in results[AVAILABILITY].message


def test_checks_fail_for_a_service_with_a_down_target_and_no_alerts(
    prometheus: PromServer,
) -> None:
    facts = live_facts(PrometheusCollector, _env(prometheus.url, 'job="flaky-api"'))
    results = _results(facts, METRICS_CHECK, RULES_CHECK, SLO_CHECK)
    app = results[APP]
    assert app.status is Status.FAIL
    assert f"127.0.0.1:{prometheus.closed_port}" in app.message
    assert "connection refused" in app.message
    assert "1 of 2" in app.message
    # The only error-rate rules are for other jobs: fail with a rule written for this service.
    errors = results[ERRORS]
    assert errors.status is Status.FAIL
    assert errors.remediation and 'job="flaky-api",code=~"5.."' in errors.remediation
    assert "http_requests_total" in errors.remediation
    # A latency rule is loaded but cannot evaluate: it can never fire.
    latency = results[LATENCY]
    assert latency.status is Status.FAIL
    assert "FlakyApiLatencyBroken" in latency.message and "fail to evaluate" in latency.message
    assert TARGET not in results  # absence of SLO rules proves nothing


def test_selector_that_matches_nothing(prometheus: PromServer) -> None:
    facts = live_facts(PrometheusCollector, _env(prometheus.url, 'job="ghost"'))
    results = _results(facts, METRICS_CHECK, RULES_CHECK)
    assert results[APP].status is Status.FAIL
    assert "No active scrape target matches" in results[APP].message
    assert "scrape_configs" in (results[APP].remediation or "")
    assert results[INFRA].status is Status.UNKNOWN  # job-only selector: containers not visible
    assert results[AVAILABILITY].status is Status.FAIL


def test_no_prometheus_in_the_environment_gives_no_opinion() -> None:
    facts = live_facts(PrometheusCollector, {"production": False})
    assert facts.get(PrometheusFacts).configured is False
    assert facts.get(PrometheusFacts).parity() == {}
    assert _results(facts, *ALL) == {}


def _all_unknown(facts: Any, needle: str) -> dict[str, Result]:
    results = _results(facts, METRICS_CHECK, RULES_CHECK, SLO_CHECK)
    assert set(results) == {APP, INFRA, ERRORS, LATENCY, SATURATION, AVAILABILITY}
    for result in results.values():
        assert result.status is Status.UNKNOWN, result
        assert needle in result.message
    return results


def test_unreachable_prometheus_makes_every_item_unknown() -> None:
    started = time.monotonic()
    url = f"http://127.0.0.1:{free_port()}"
    facts = live_facts(PrometheusCollector, _env(url), limits=FAST)
    assert time.monotonic() - started < 5
    assert any("connection refused" in e.reason for e in facts.errors)
    _all_unknown(facts, "connection refused")


def test_timeout_is_bounded(hung_port: int) -> None:
    started = time.monotonic()
    limits = LiveLimits(timeout_s=0.5, total_timeout_s=5.0)
    facts = live_facts(PrometheusCollector, _env(f"http://127.0.0.1:{hung_port}"), limits=limits)
    assert time.monotonic() - started < 4
    _all_unknown(facts, "no answer within 0.5s")


def test_html_server_is_not_prometheus(metrics_service: Service) -> None:
    facts = live_facts(PrometheusCollector, _env(f"{metrics_service.url}/html"), limits=FAST)
    _all_unknown(facts, "not JSON (text/html")


def test_json_without_envelope_is_not_prometheus(metrics_service: Service) -> None:
    facts = live_facts(PrometheusCollector, _env(f"{metrics_service.url}/notprom"), limits=FAST)
    _all_unknown(facts, "not a Prometheus server")


def test_tls_handshake_failure_is_reported(metrics_service: Service) -> None:
    # https:// to a plain-HTTP port: the handshake fails; the reason is prr's own wording.
    url = f"https://127.0.0.1:{metrics_service.port}"
    facts = live_facts(PrometheusCollector, _env(url), limits=FAST)
    _all_unknown(facts, f"TLS handshake with 127.0.0.1:{metrics_service.port} failed")


def test_redirect_loop_and_oversized_answer_are_bounded(metrics_service: Service) -> None:
    loop = live_facts(PrometheusCollector, _env(f"{metrics_service.url}/loop"), limits=FAST)
    _all_unknown(loop, "more than 5 redirects")
    small = LiveLimits(timeout_s=1.0, total_timeout_s=10.0, max_body_bytes=4096)
    big = live_facts(PrometheusCollector, _env(f"{metrics_service.url}/big"), limits=small)
    _all_unknown(big, "exceeds the limit of 4096 bytes")


def test_refused_credentials_never_leak(
    metrics_service: Service, prometheus: PromServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "Bearer prom-FAKE-t0ken-s3cret"
    monkeypatch.setenv("PRR_TEST_PROM_AUTH", f"Authorization: {token}")
    env = _env(f"{metrics_service.url}/auth", auth_header="env:PRR_TEST_PROM_AUTH")
    facts = live_facts(PrometheusCollector, env, limits=FAST)
    sent = [h for path, h in metrics_service.seen if path.startswith("/auth/")]
    assert sent and sent[-1].get("Authorization") == token
    results = _all_unknown(facts, "HTTP 401: the server refused the configured credentials")
    # Against the real server the header is sent and ignored; nothing of it shows anywhere.
    ok = live_facts(
        PrometheusCollector,
        _env(prometheus.url, auth_header="env:PRR_TEST_PROM_AUTH"),
    )
    ok_results = _results(ok, *ALL)
    assert ok_results[APP].status is Status.PASS
    shown = (
        json.dumps(
            [r.to_dict() for r in [*results.values(), *ok_results.values()]]
            + [e.to_dict() for e in [*facts.errors, *ok.errors]],
            default=str,
        )
        + repr(facts.get(PrometheusFacts))
        + repr(ok.get(PrometheusFacts))
    )
    assert "prom-FAKE-t0ken" not in shown


def test_unset_auth_variable_is_reported_by_name_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRR_TEST_UNSET_AUTH", raising=False)
    env = _env("http://127.0.0.1:9", auth_header="env:PRR_TEST_UNSET_AUTH")
    facts = live_facts(PrometheusCollector, env, limits=FAST)
    _all_unknown(facts, "PRR_TEST_UNSET_AUTH, which is not set")


def test_bad_selector_is_reported(prometheus: PromServer) -> None:
    facts = live_facts(PrometheusCollector, _env(prometheus.url, "job shop-api"), limits=FAST)
    _all_unknown(facts, "is not a label selector")


def test_default_selector_is_the_service_name(prometheus: PromServer) -> None:
    facts, _ = collect_live(PrometheusCollector, _env(prometheus.url, selector=None))
    assert facts.selector == 'job="svc"' and facts.selector_defaulted
    assert facts.targets == ()
