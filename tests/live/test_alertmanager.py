"""Live Alertmanager collector and routing checks against real Alertmanager instances."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from prr.collectors.base import Facts
from prr.collectors.live.alertmanager import (
    AlertmanagerCollector,
    AlertmanagerFacts,
    parse_config,
)
from prr.collectors.live.base import LiveLimits
from prr.collectors.live.prometheus import PrometheusCollector
from prr.errors import CollectorError
from prr.model.evidence import Result, Status
from tests.helpers import by_item, run_live_check
from tests.live.servers import collect_live, free_port, live_facts

if TYPE_CHECKING:
    from tests.live.monitoring import AmServer, PromServer, Service

# Session servers live in tests/live/monitoring.py, loaded as a plugin (import it lazily only).
pytestmark = pytest.mark.slow

CHECK = "live.alerting.alertmanager-routing"
ROUTING = "reliability.alerting.alert-routing-configured"
PAGING = "reliability.alerting.pagerduty-opsgenie-setup"
ESCALATION = "reliability.alerting.escalation-policies-defined"
FAST = LiveLimits(timeout_s=1.0, total_timeout_s=10.0)


def _env(url: str, selector: str = 'job="shop-api"', **extra: Any) -> dict[str, Any]:
    return {"alertmanager": {"url": url, "selector": selector, **extra}}


def _results(facts: Facts, production: bool = False) -> dict[str, Result]:
    return by_item(run_live_check(CHECK, facts, production=production))


def _secrets() -> tuple[str, ...]:
    from tests.live.monitoring import SECRETS

    return SECRETS


def _assert_no_secret(*things: Any) -> None:
    text = json.dumps(
        [t.to_dict() if hasattr(t, "to_dict") else repr(t) for t in things], default=str
    )
    for secret in _secrets():
        assert secret not in text


def test_reads_routing_receivers_inhibitions_and_cluster(alertmanager: AmServer) -> None:
    facts, ctx = collect_live(AlertmanagerCollector, _env(alertmanager.url))
    assert isinstance(facts, AlertmanagerFacts)
    assert not ctx.errors and not facts.problems
    assert facts.version == "0.25.0"
    assert facts.cluster_status == "disabled" and not facts.clustered
    assert {r.name: r.integrations for r in facts.receivers} == {
        "default-email": ("email",),
        "shop-pager": ("pagerduty",),
        "shop-chat": ("slack",),
        "audit-hook": ("webhook",),
        "blackhole": (),
    }
    assert set(facts.receiver_names) == {r.name for r in facts.receivers}
    assert len(facts.inhibit_rules) == 1
    assert str(facts.inhibit_rules[0].source[0]) == 'severity="critical"'
    assert facts.service_labels == (("job", "shop-api"),)
    assert facts.route is not None
    paths = {r.path: r for r in facts.route.walk()}
    assert paths["route.routes[0]"].repeat_interval == "1h"
    assert paths["route.routes[2]"].repeat_interval == "4h"  # inherited from the root
    assert paths["route.routes[1]"].matchers[0].op == "=~"
    view = facts.parity()
    assert view["alertmanager.version"] == "0.25.0"
    assert view["alertmanager.critical.integrations"] == ["pagerduty", "slack"]
    assert view["alertmanager.warning.integrations"] == ["slack"]
    _assert_no_secret(facts, *ctx.errors)


def test_route_resolution_follows_alertmanager_semantics(alertmanager: AmServer) -> None:
    facts, _ = collect_live(AlertmanagerCollector, _env(alertmanager.url))

    def sent(**labels: str) -> list[str]:
        return [name for name, _ in facts.receivers_for(labels)]

    # continue: true on the critical route lets the alert also reach the job route.
    assert sent(job="shop-api", severity="critical") == ["shop-pager", "shop-chat"]
    assert sent(job="shop-api", severity="warning") == ["shop-chat"]
    # match_re is anchored: job=~"shop" matches "shop" only, not "shop-api".
    assert sent(job="shop", severity="warning") == ["blackhole"]
    assert sent(job="other", severity="critical") == ["shop-pager"]
    assert sent(job="other", severity="warning") == ["default-email"]  # the default route


def test_routing_checks_pass_for_a_paged_service(alertmanager: AmServer) -> None:
    facts = live_facts(AlertmanagerCollector, _env(alertmanager.url))
    results = _results(facts)
    assert {k: r.status for k, r in results.items()} == {
        ROUTING: Status.PASS,
        PAGING: Status.PASS,
        ESCALATION: Status.PASS,
    }
    assert "shop-pager (pagerduty)" in results[ROUTING].message
    assert "pagerduty" in results[PAGING].message
    assert "repeated every 1h" in results[ESCALATION].message
    assert "shop-chat" in results[ESCALATION].message
    assert "single instance" not in results[ROUTING].message  # staging: no cluster note
    tree = results[ROUTING].evidence[0]
    assert tree.url == f"{alertmanager.url}/api/v2/status"
    assert "read 20" in tree.summary
    production = _results(facts, production=True)
    assert production[ROUTING].status is Status.PASS
    assert "single instance in production" in production[ROUTING].message
    _assert_no_secret(*results.values(), *production.values(), *facts.errors)


def test_routing_uses_the_labels_of_the_loaded_rules(
    alertmanager: AmServer, prometheus: PromServer
) -> None:
    bag = Facts()
    env = {
        "prometheus": {"url": prometheus.url, "selector": 'job="shop-api"'},
        "alertmanager": {"url": alertmanager.url},
    }
    for collector in (PrometheusCollector, AlertmanagerCollector):
        facts, ctx = collect_live(collector, env)
        bag.add(facts)
        bag.errors += ctx.errors
    am = bag.get(AlertmanagerFacts)
    assert am.selector == 'job="shop-api"'  # taken from the prometheus selector
    results = _results(bag)
    routing = results[ROUTING]
    assert routing.status is Status.PASS
    assert "rule ShopApiHighErrorRate" in routing.message
    cases = [e.summary for e in routing.evidence[1:]]
    assert any('cluster="test"' in c and "ShopApiDown" in c for c in cases)
    assert any("ShopApiRequestsSeen" in c and "shop-chat (slack)" in c for c in cases)
    assert results[PAGING].status is Status.PASS


def test_null_receiver_for_critical_alerts_fails(alertmanager_null: AmServer) -> None:
    facts = live_facts(AlertmanagerCollector, _env(alertmanager_null.url))
    results = _results(facts)
    routing = results[ROUTING]
    assert routing.status is Status.FAIL
    assert "devnull (no integration)" in routing.message
    assert routing.remediation and 'severity="critical"' in routing.remediation
    assert results[PAGING].status is Status.FAIL
    assert results[ESCALATION].status is Status.FAIL
    assert "Nothing can escalate" in results[ESCALATION].message
    _assert_no_secret(*results.values(), facts.get(AlertmanagerFacts))


def test_active_silences_hide_the_services_alerts(alertmanager: AmServer) -> None:
    from tests.live.monitoring import create_silence, expire_silence

    short = create_silence(alertmanager.url, {"job": "shop-api"}, hours=1)
    other = create_silence(alertmanager.url, {"job": "other-api"}, hours=1)
    try:
        facts = live_facts(AlertmanagerCollector, _env(alertmanager.url))
        am = facts.get(AlertmanagerFacts)
        assert {s.id for s in am.silences} >= {short, other}
        result = _results(facts)[ROUTING]
        assert result.status is Status.UNKNOWN
        assert short in result.message and other not in result.message
        assert "until 20" in result.message
        assert result.remediation and f"amtool silence expire {short}" in result.remediation
        long = create_silence(alertmanager.url, {"severity": "critical"}, hours=24 * 30)
        try:
            again = _results(live_facts(AlertmanagerCollector, _env(alertmanager.url)))[ROUTING]
            assert again.status is Status.FAIL
            assert long in again.message and "longer than 7 days" in again.message
        finally:
            expire_silence(alertmanager.url, long)
    finally:
        expire_silence(alertmanager.url, short)
        expire_silence(alertmanager.url, other)
    after = _results(live_facts(AlertmanagerCollector, _env(alertmanager.url)))
    assert after[ROUTING].status is Status.PASS  # expired silences no longer count


def _all_unknown(facts: Facts, needle: str) -> None:
    results = _results(facts)
    assert set(results) == {ROUTING, PAGING, ESCALATION}
    for result in results.values():
        assert result.status is Status.UNKNOWN, result
        assert needle in result.message


def test_unreachable_alertmanager_makes_routing_unknown() -> None:
    started = time.monotonic()
    facts = live_facts(AlertmanagerCollector, _env(f"http://127.0.0.1:{free_port()}"), limits=FAST)
    assert time.monotonic() - started < 5
    _all_unknown(facts, "connection refused")


def test_timeout_is_bounded(hung_port: int) -> None:
    started = time.monotonic()
    limits = LiveLimits(timeout_s=0.5, total_timeout_s=5.0)
    facts = live_facts(AlertmanagerCollector, _env(f"http://127.0.0.1:{hung_port}"), limits=limits)
    assert time.monotonic() - started < 4
    _all_unknown(facts, "no answer within 0.5s")


def test_other_servers_are_not_alertmanager(metrics_service: Service) -> None:
    _all_unknown(
        live_facts(AlertmanagerCollector, _env(f"{metrics_service.url}/html"), limits=FAST),
        "not JSON (text/html",
    )
    _all_unknown(
        live_facts(AlertmanagerCollector, _env(f"{metrics_service.url}/notprom"), limits=FAST),
        "not the Alertmanager v2 API",
    )


def test_auth_header_is_sent_and_never_shown(
    metrics_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRR_TEST_AM_AUTH", "X-Scope-Token: am-FAKE-t0ken-s3cret")
    env = _env(f"{metrics_service.url}/auth", auth_header="env:PRR_TEST_AM_AUTH")
    facts = live_facts(AlertmanagerCollector, env, limits=FAST)
    sent = [h for path, h in metrics_service.seen if path.startswith("/auth/")]
    assert sent and sent[-1].get("X-Scope-Token") == "am-FAKE-t0ken-s3cret"
    _all_unknown(facts, "HTTP 401")
    shown = json.dumps(
        [r.to_dict() for r in _results(facts).values()] + [e.to_dict() for e in facts.errors]
    ) + repr(facts.get(AlertmanagerFacts))
    assert "am-FAKE-t0ken" not in shown


def test_config_parser_keeps_no_secret_even_when_it_fails() -> None:
    from tests.live.monitoring import GOOD_ALERTMANAGER, PD_ROUTING_KEY

    parsed = parse_config(GOOD_ALERTMANAGER, "am")
    _assert_no_secret(parsed)
    broken = GOOD_ALERTMANAGER.replace(
        f"routing_key: {PD_ROUTING_KEY}", f"routing_key: [{PD_ROUTING_KEY}"
    )
    with pytest.raises(CollectorError) as error:
        parse_config(broken, "am")
    assert "not valid YAML" in str(error.value) and PD_ROUTING_KEY not in str(error.value)


def test_no_alertmanager_in_the_environment_gives_no_opinion() -> None:
    facts = live_facts(AlertmanagerCollector, {"production": True})
    assert facts.get(AlertmanagerFacts).parity() == {}
    assert _results(facts) == {}
