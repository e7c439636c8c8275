"""Monitoring and alerting checks on passing, failing, unreadable and absent evidence."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

from prr.collectors.docs import DocsCollector
from prr.collectors.observability import ObservabilityCollector
from prr.model.evidence import Result, Status
from prr.model.loader import load_checklist
from tests.helpers import by_item, collect, run_check

CHECKLIST = load_checklist("service")


def scan(root: Path, check_id: str, files: Mapping[str, str | bytes]) -> dict[str, Result]:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    facts = collect(root, ObservabilityCollector, DocsCollector)
    results = by_item(run_check(check_id, facts))
    for result in results.values():
        # Every measured value fits the item's typed field, and every fail says how to fix it.
        specs = {spec.id: spec for spec in CHECKLIST.item(result.item_id).item.fields}
        for key, value in result.fields.items():
            specs[key].parse(value)
        assert result.status is not Status.FAIL or result.remediation, result.item_id
        assert result.evidence, result.item_id
    return results


SERVICE_MONITOR = """
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: api}
spec:
  selector: {matchLabels: {app: api}}
  endpoints: [{port: http, path: /metrics}]
"""
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1.0
"""
RULES = """
groups:
  - name: api
    rules:
      - alert: HighErrorRate
        expr: sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.02
        for: 5m
        labels: {severity: critical}
        annotations: {runbook_url: docs/runbooks/high-error-rate.md}
      - alert: HighLatencyP99
        expr: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 0.75
        for: 10m
        labels: {severity: warning}
      - alert: ContainerMemoryHigh
        expr: container_memory_working_set_bytes / container_spec_memory_limit_bytes > 0.9
        for: 15m
        labels: {severity: warning}
      - alert: EndpointDown
        expr: avg_over_time(probe_success{job="blackbox"}[5m]) < 0.95
        for: 2m
        labels: {severity: critical}
"""
ONLY_UP = """
groups:
  - name: api
    rules:
      - alert: InstanceDown
        expr: up{job="api"} == 0
        for: 5m
"""


# ----------------------------------------------------------------- metrics


def test_application_metrics(tmp_path: Path) -> None:
    item = "reliability.monitoring.application-metrics-collected"
    ok = scan(
        tmp_path / "ok",
        "reliability.application-metrics",
        {"requirements.txt": "prometheus-client==0.20\n", "k8s/sm.yaml": SERVICE_MONITOR},
    )[item]
    assert ok.status is Status.PASS
    assert (
        "prometheus-client (requirements.txt:1)" in ok.message
        and "ServiceMonitor api" in ok.message
    )

    unscraped = scan(
        tmp_path / "unscraped",
        "reliability.application-metrics",
        {"requirements.txt": "prometheus-client\n", "k8s/deploy.yaml": DEPLOYMENT},
    )[item]
    assert unscraped.status is Status.FAIL
    assert "kind: ServiceMonitor" in (unscraped.remediation or "")

    bare = scan(
        tmp_path / "bare", "reliability.application-metrics", {"requirements.txt": "flask\n"}
    )[item]
    assert bare.status is Status.FAIL and "requirements.txt" in bare.message
    assert "prometheus-client" in (bare.remediation or "")

    broken = scan(
        tmp_path / "broken",
        "reliability.application-metrics",
        {"package.json": b'{"dependencies": {"prom-client": "\xff"}}'},
    )[item]
    assert broken.status is Status.UNKNOWN and "package.json" in broken.message

    assert scan(tmp_path / "none", "reliability.application-metrics", {"README.md": "# x\n"}) == {}


def test_infrastructure_metrics(tmp_path: Path) -> None:
    item = "reliability.monitoring.infrastructure-metrics-collected"
    ok = scan(
        tmp_path / "ok",
        "reliability.infrastructure-metrics",
        {
            "monitoring/Chart.yaml": "apiVersion: v2\nname: monitoring\ndependencies:\n  - name: kube-prometheus-stack\n    version: 58.0.0\n"
        },
    )[item]
    assert ok.status is Status.PASS and "kube-prometheus-stack" in ok.message
    assert ok.evidence[0].path == "monitoring/Chart.yaml" and ok.evidence[0].line == 4

    via_alerts = scan(
        tmp_path / "alerts", "reliability.infrastructure-metrics", {"rules.yaml": RULES}
    )[item]
    assert via_alerts.status is Status.PASS and "ContainerMemoryHigh" in via_alerts.message

    missing = scan(
        tmp_path / "missing",
        "reliability.infrastructure-metrics",
        {
            "prometheus.yml": "scrape_configs:\n  - job_name: api\n    static_configs: [{targets: ['api:8080']}]\n"
        },
    )[item]
    assert missing.status is Status.FAIL and "node-exporter" in missing.message
    assert "kube-prometheus-stack" in (missing.remediation or "")

    broken = scan(
        tmp_path / "broken",
        "reliability.infrastructure-metrics",
        {"prometheus.yml": "scrape_configs: [\n"},
    )[item]
    assert broken.status is Status.UNKNOWN


def test_business_metrics(tmp_path: Path) -> None:
    item = "reliability.monitoring.custom-business-metrics"
    ok = scan(
        tmp_path / "ok",
        "reliability.business-metrics",
        {
            "app/metrics.py": 'from prometheus_client import Counter\nORDERS = Counter("orders_created_total", "Orders")\n'
        },
    )[item]
    assert ok.status is Status.PASS and "orders_created_total (app/metrics.py:2)" in ok.message

    technical = scan(
        tmp_path / "tech",
        "reliability.business-metrics",
        {
            "app/metrics.py": "from prometheus_client import Counter\n"
            'REQS = Counter("http_requests_total", "Requests", ["code"])\n'
        },
    )[item]
    assert technical.status is Status.FAIL and "http_requests_total" in technical.message
    assert "app/metrics.py" in (technical.remediation or "")

    assert (
        scan(tmp_path / "none", "reliability.business-metrics", {"app/main.py": "print(1)\n"}) == {}
    )


# --------------------------------------------------------------- dashboards

DASHBOARD = """
{"title": "API", "panels": [
  {"title": "RPS", "targets": [{"expr": "sum(rate(http_requests_total[5m]))"}]},
  {"title": "Errors", "targets": [{"expr": "sum(rate(http_requests_total{code=~\\"5..\\"}[5m]))"}]},
  {"title": "Latency p99", "targets": [{"expr": "histogram_quantile(0.99, rate(http_request_duration_seconds_bucket[5m]))"}]}
]}
"""
NODE_DASHBOARD = '{"title": "Nodes", "panels": [{"title": "CPU", "targets": [{"expr": "node_cpu_seconds_total"}]}]}'
SLO_DASHBOARD = '{"title": "API SLO", "panels": [{"title": "Error budget", "targets": [{"expr": "slo:period_error_budget_remaining:ratio"}]}]}'


def test_dashboards(tmp_path: Path) -> None:
    item = "reliability.monitoring.dashboards-created"
    ok = scan(tmp_path / "ok", "reliability.dashboards", {"dashboards/api.json": DASHBOARD})[item]
    assert (
        ok.status is Status.PASS and "'API'" in ok.message and "not shown: saturation" in ok.message
    )

    infra_only = scan(
        tmp_path / "infra", "reliability.dashboards", {"dashboards/nodes.json": NODE_DASHBOARD}
    )[item]
    assert infra_only.status is Status.FAIL and "'Nodes'" in infra_only.message
    assert "histogram_quantile" in (infra_only.remediation or "")

    broken = scan(
        tmp_path / "broken", "reliability.dashboards", {"dashboards/api.json": '{"panels": [}'}
    )[item]
    assert broken.status is Status.UNKNOWN and "dashboards/api.json" in broken.message

    datadog = 'resource "datadog_dashboard" "api" {\n  title = "API"\n}\n'
    terraform = scan(tmp_path / "tf", "reliability.dashboards", {"infra/dash.tf": datadog})[item]
    assert terraform.status is Status.PASS and "datadog_dashboard.api" in terraform.message
    mixed = scan(
        tmp_path / "mixed",
        "reliability.dashboards",
        {"infra/dash.tf": datadog, "dashboards/nodes.json": NODE_DASHBOARD},
    )[item]
    assert mixed.status is Status.UNKNOWN and "not inspected" in mixed.message


def test_sli_dashboards(tmp_path: Path) -> None:
    item = "reliability.sla-slo.sli-dashboards-created"
    ok = scan(tmp_path / "ok", "reliability.sli-dashboards", {"dash/slo.json": SLO_DASHBOARD})[item]
    assert ok.status is Status.PASS and "API SLO" in ok.message

    sloth = 'version: "prometheus/v1"\nservice: api\nslos:\n  - name: availability\n    objective: 99.9\n'
    missing = scan(
        tmp_path / "missing",
        "reliability.sli-dashboards",
        {"dash/api.json": DASHBOARD, "slos/api.yaml": sloth},
    )[item]
    assert missing.status is Status.FAIL and "slos/api.yaml" in missing.message

    broken = scan(
        tmp_path / "broken", "reliability.sli-dashboards", {"dash/slo.json": '{"panels": ['}
    )[item]
    assert broken.status is Status.UNKNOWN

    assert (
        scan(tmp_path / "no-slo", "reliability.sli-dashboards", {"dash/api.json": DASHBOARD}) == {}
    )


# ---------------------------------------------------------------- logs, traces


def test_log_aggregation(tmp_path: Path) -> None:
    item = "reliability.monitoring.log-aggregation-configured"
    ok = scan(
        tmp_path / "ok",
        "reliability.log-aggregation",
        {
            "k8s/fluent-bit.yaml": "apiVersion: apps/v1\nkind: DaemonSet\nspec:\n  template:\n    spec:\n      containers:\n        - name: fb\n          image: cr.fluentbit.io/fluent/fluent-bit:3.0\n",
            "infra/logs.tf": 'resource "aws_cloudwatch_log_group" "api" {\n  name = "/ecs/api"\n  retention_in_days = 30\n}\n',
        },
    )[item]
    assert ok.status is Status.PASS and ok.fields == {"log_retention": "30d"}
    assert "fluent-bit (k8s/fluent-bit.yaml:8)" in ok.message

    broken = scan(
        tmp_path / "broken",
        "reliability.log-aggregation",
        {
            "otel/collector.yaml": "receivers: {otlp: {}}\nexporters: {loki: {}}\nservice:\n  pipelines: [\n"
        },
    )[item]
    assert broken.status is Status.UNKNOWN

    assert (
        scan(tmp_path / "none", "reliability.log-aggregation", {"requirements.txt": "flask\n"})
        == {}
    )


def test_distributed_tracing(tmp_path: Path) -> None:
    item = "reliability.monitoring.distributed-tracing"
    ok = scan(
        tmp_path / "ok",
        "reliability.tracing",
        {"package.json": '{"dependencies": {"@opentelemetry/sdk-node": "^0.50.0"}}'},
    )[item]
    assert ok.status is Status.PASS and "package.json:1" in ok.message

    none = scan(
        tmp_path / "none",
        "reliability.tracing",
        {"go.mod": "module x\n\nrequire github.com/gin-gonic/gin v1.9.1\n"},
    )[item]
    assert none.status is Status.FAIL and "go.mod" in none.message

    off = scan(
        tmp_path / "off",
        "reliability.tracing",
        {"requirements.txt": "opentelemetry-distro\n", ".env": "OTEL_TRACES_EXPORTER=none\n"},
    )[item]
    assert off.status is Status.FAIL and "OTEL_TRACES_EXPORTER=none" in off.message

    broken = scan(tmp_path / "broken", "reliability.tracing", {"requirements.txt": b"\xff\xfe"})[
        item
    ]
    assert broken.status is Status.UNKNOWN


# --------------------------------------------------------------------- alerts


def test_alert_rules_cover_every_class_with_thresholds(tmp_path: Path) -> None:
    results = scan(tmp_path, "reliability.alert-rules", {"monitoring/rules.yaml": RULES})
    error_rate = results["reliability.alerting.error-rate-alerts"]
    assert error_rate.status is Status.PASS
    assert error_rate.fields == {"error_rate_threshold": 2.0}
    assert (
        "HighErrorRate (monitoring/rules.yaml:4)" in error_rate.message
        and "for 5m" in error_rate.message
    )
    assert error_rate.evidence[0].line == 4
    latency = results["reliability.alerting.latency-alerts"]
    assert latency.status is Status.PASS and latency.fields == {"latency_threshold": "750ms"}
    assert "without runbook_url: HighLatencyP99" in latency.message
    resources = results["reliability.alerting.resource-utilization-alerts"]
    assert resources.status is Status.PASS and resources.fields == {"utilization_threshold": 90.0}
    availability = results["reliability.alerting.availability-alerts"]
    assert availability.status is Status.PASS and availability.fields == {
        "availability_threshold": 95.0
    }


def test_alert_rules_missing_classes_fail_with_a_rule_to_add(tmp_path: Path) -> None:
    results = scan(tmp_path, "reliability.alert-rules", {"monitoring/rules.yaml": ONLY_UP})
    for item in (
        "reliability.alerting.error-rate-alerts",
        "reliability.alerting.latency-alerts",
        "reliability.alerting.resource-utilization-alerts",
    ):
        assert results[item].status is Status.FAIL, item
        assert "monitoring/rules.yaml" in (results[item].remediation or "")
    availability = results["reliability.alerting.availability-alerts"]
    assert availability.status is Status.PASS
    assert "InstanceDown" in availability.message
    assert "nothing probes the public endpoint from outside" in availability.message

    quiet = scan(
        tmp_path / "quiet",
        "reliability.alert-rules",
        {"rules.yaml": ONLY_UP + "        labels: {severity: info}\n"},
    )["reliability.alerting.availability-alerts"]
    assert quiet.status is Status.FAIL and "do not page" in quiet.message
    assert "probe_success" in (quiet.remediation or "")

    without = RULES.split("      - alert: EndpointDown")[0]
    none = scan(tmp_path / "none", "reliability.alert-rules", {"rules.yaml": without})[
        "reliability.alerting.availability-alerts"
    ]
    assert none.status is Status.FAIL and "None of the 3 alert rule(s)" in none.message


def test_alert_rules_unknown_when_a_rule_file_is_broken(tmp_path: Path) -> None:
    results = scan(
        tmp_path,
        "reliability.alert-rules",
        {
            "monitoring/rules.yaml": ONLY_UP,
            "monitoring/more-rules.yaml": "groups:\n  - name: x\n    rules: [\n",
        },
    )
    assert results["reliability.alerting.error-rate-alerts"].status is Status.UNKNOWN
    assert "more-rules.yaml" in results["reliability.alerting.error-rate-alerts"].message
    assert scan(tmp_path / "none", "reliability.alert-rules", {"README.md": "# x\n"}) == {}


ALERTMANAGER = """
route:
  receiver: team-slack
  routes:
    - matchers: ['severity="critical"']
      receiver: team-pager
receivers:
  - name: team-slack
    slack_configs: [{channel: '#alerts'}]
  - name: team-pager
    pagerduty_configs: [{routing_key_file: /etc/am/pd}]
"""


def test_alert_routing_and_paging(tmp_path: Path) -> None:
    results = scan(tmp_path / "ok", "reliability.alert-routing", {"alertmanager.yml": ALERTMANAGER})
    routing = results["reliability.alerting.alert-routing-configured"]
    assert (
        routing.status is Status.PASS
        and 'severity="critical" → team-pager (pagerduty)' in routing.message
    )
    paging = results["reliability.alerting.pagerduty-opsgenie-setup"]
    assert paging.status is Status.PASS and "team-pager" in paging.message

    dropped = scan(
        tmp_path / "dropped",
        "reliability.alert-routing",
        {
            "alertmanager.yml": """
                route:
                  receiver: "null"
                  routes:
                    - matchers: ['team="payments"']
                      receiver: payments-slack
                receivers:
                  - name: "null"
                  - name: payments-slack
                    slack_configs: [{channel: '#payments'}]
            """
        },
    )
    assert dropped["reliability.alerting.alert-routing-configured"].status is Status.FAIL
    assert (
        "'null' has no integration"
        in dropped["reliability.alerting.alert-routing-configured"].message
    )
    chat_only = dropped["reliability.alerting.pagerduty-opsgenie-setup"]
    assert chat_only.status is Status.FAIL and "slack" in chat_only.message
    assert "pagerduty_configs" in (chat_only.remediation or "")

    unrouted = scan(
        tmp_path / "unrouted",
        "reliability.alert-routing",
        {"alertmanager.yml": ALERTMANAGER.replace("receiver: team-pager", "receiver: team-slack")},
    )["reliability.alerting.pagerduty-opsgenie-setup"]
    assert unrouted.status is Status.FAIL and "no route sends alerts" in unrouted.message

    broken = scan(
        tmp_path / "broken",
        "reliability.alert-routing",
        {"alertmanager.yml": "route:\n  receiver: [\nreceivers: []\n"},
    )
    assert broken["reliability.alerting.alert-routing-configured"].status is Status.UNKNOWN
    assert broken["reliability.alerting.pagerduty-opsgenie-setup"].status is Status.UNKNOWN

    assert scan(tmp_path / "none", "reliability.alert-routing", {"README.md": "# x\n"}) == {}


def test_escalation_policy(tmp_path: Path) -> None:
    item = "reliability.alerting.escalation-policies-defined"
    policy = (
        'resource "pagerduty_escalation_policy" "api" {\n  name = "api"\n'
        "  rule {\n    escalation_delay_in_minutes = 15\n  }\n"
        "  rule {\n    escalation_delay_in_minutes = 30\n  }\n}\n"
    )
    ok = scan(tmp_path / "ok", "reliability.escalation-policy", {"infra/pd.tf": policy})[item]
    assert ok.status is Status.PASS and "2 level(s), delays 15/30 min" in ok.message

    single = policy.split("  rule {\n    escalation_delay_in_minutes = 30\n  }\n")[0] + "}\n"
    one = scan(tmp_path / "one", "reliability.escalation-policy", {"infra/pd.tf": single})[item]
    assert one.status is Status.FAIL and "1 level(s)" in one.message
    assert "pagerduty_escalation_policy" in (one.remediation or "")

    slack = ALERTMANAGER.replace("receiver: team-pager", "receiver: team-slack").replace(
        "pagerduty_configs: [{routing_key_file: /etc/am/pd}]",
        "email_configs: [{to: team@acme.example}]",
    )
    chat = scan(tmp_path / "chat", "reliability.escalation-policy", {"alertmanager.yml": slack})[
        item
    ]
    assert chat.status is Status.FAIL and "email, slack" in chat.message

    broken = scan(
        tmp_path / "broken", "reliability.escalation-policy", {"docs/escalation.md": b"# E\n\xff\n"}
    )[item]
    assert broken.status is Status.UNKNOWN

    paging_only = scan(
        tmp_path / "paging", "reliability.escalation-policy", {"alertmanager.yml": ALERTMANAGER}
    )
    assert paging_only == {}


def test_cloudwatch_only_alarms_get_cloudwatch_remediation(tmp_path: Path) -> None:
    alarm = (
        'resource "aws_cloudwatch_metric_alarm" "cpu" {\n  alarm_name = "api-cpu"\n'
        '  namespace = "AWS/ECS"\n  metric_name = "CPUUtilization"\n'
        '  comparison_operator = "GreaterThanOrEqualToThreshold"\n  threshold = 85\n}\n'
    )
    results = scan(tmp_path, "reliability.alert-rules", {"infra/alarms.tf": alarm})
    resources = results["reliability.alerting.resource-utilization-alerts"]
    assert resources.status is Status.PASS and resources.fields == {"utilization_threshold": 85.0}
    latency = results["reliability.alerting.latency-alerts"]
    assert latency.status is Status.FAIL
    assert "TargetResponseTime" in (latency.remediation or "")
    assert "infra/alarms.tf" in (latency.remediation or "")
