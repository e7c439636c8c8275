"""The observability collector over realistic monitoring files, and over broken ones."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from prr.collectors.observability import (
    ObservabilityCollector,
    ObservabilityFacts,
    classify,
    is_business_metric,
    promql_metrics,
    promql_threshold,
)
from tests.helpers import collect


def write(root: Path, files: Mapping[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


def facts(root: Path) -> tuple[ObservabilityFacts, list[str]]:
    bag = collect(root, ObservabilityCollector)
    return bag.get(ObservabilityFacts), [str(e) for e in bag.errors]


RULES = """
groups:
  - name: api.rules
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
      - alert: HighErrorRate
        expr: |
          sum(rate(http_requests_total{job="api",status=~"5.."}[5m]))
            / sum(rate(http_requests_total{job="api"}[5m])) > 0.05
        for: 5m
        labels:
          severity: critical
          team: payments
        annotations:
          summary: "More than 5% of requests fail on {{ $labels.job }}"
          runbook_url: https://github.com/acme/shop/blob/main/docs/runbooks/high-error-rate.md
      - alert: HighLatencyP99
        expr: histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 0.5
        for: 10m
        labels: {severity: warning}
"""


def test_rule_file_alerts_carry_everything_checks_need(tmp_path: Path) -> None:
    obs, errors = facts(write(tmp_path, {"monitoring/api-rules.yaml": RULES}))
    assert not errors
    assert obs.rule_files == ("monitoring/api-rules.yaml",)
    error_rate, latency = obs.alerts
    assert error_rate.name == "HighErrorRate"
    assert error_rate.line == 6
    assert error_rate.for_duration == "5m"
    assert (error_rate.severity, error_rate.team) == ("critical", "payments")
    assert error_rate.runbook_url and error_rate.runbook_url.endswith("high-error-rate.md")
    assert error_rate.summary and error_rate.summary.startswith("More than 5%")
    assert "error-rate" in error_rate.classes and "latency" not in error_rate.classes
    assert error_rate.threshold is not None and error_rate.threshold.value == 0.05
    assert error_rate.metrics == {"http_requests_total"}
    assert latency.classes >= {"latency"} and "error-rate" not in latency.classes
    assert latency.line == 17
    assert obs.recording_rules[0].record == "job:http_requests:rate5m"
    assert not obs.recording_rules[0].slo


def test_prometheus_rule_objects_and_rules_embedded_in_helm_values(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "k8s/rules.yaml": """
                apiVersion: v1
                kind: Service
                metadata: {name: api}
                ---
                apiVersion: monitoring.coreos.com/v1
                kind: PrometheusRule
                metadata: {name: api}
                spec:
                  groups:
                    - name: sloth-slo-sli-recordings-api-requests-availability
                      rules:
                        - record: slo:sli_error:ratio_rate5m
                          expr: sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))
                          labels: {sloth_slo: requests-availability}
                        - alert: ApiRequestsAvailabilityBurn
                          expr: (slo:sli_error:ratio_rate5m{sloth_slo="requests-availability"} > (14.4 * 0.001))
                          labels: {severity: page, sloth_slo: requests-availability}
            """,
            "charts/monitoring/values.yaml": """
                kube-prometheus-stack:
                  additionalPrometheusRulesMap:
                    api:
                      groups:
                        - name: resources
                          rules:
                            - alert: PodMemoryNearLimit
                              expr: container_memory_working_set_bytes / container_spec_memory_limit_bytes > 0.9
                              for: 15m
            """,
        },
    )
    obs, errors = facts(tmp_path)
    assert not errors
    by_name = {a.name: a for a in obs.alerts}
    burn = by_name["ApiRequestsAvailabilityBurn"]
    assert burn.path == "k8s/rules.yaml" and burn.line == 15
    assert burn.classes >= {"slo-burn", "error-rate", "availability"}
    assert burn.threshold is not None and burn.threshold.value == pytest.approx(0.0144)
    memory = by_name["PodMemoryNearLimit"]
    assert memory.path == "charts/monitoring/values.yaml" and "saturation" in memory.classes
    assert obs.recording_rules[0].slo


def test_helm_templated_rules_are_read(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "chart/templates/prometheusrule.yaml": """
                {{- if .Values.metrics.enabled }}
                apiVersion: monitoring.coreos.com/v1
                kind: PrometheusRule
                metadata:
                  name: {{ include "api.fullname" . }}
                  labels:
                    {{- include "api.labels" . | nindent 4 }}
                spec:
                  groups:
                    - name: api
                      rules:
                        - alert: ApiDown
                          expr: up{job="{{ .Release.Name }}"} == 0
                          for: 2m
                {{- end }}
            """
        },
    )
    obs, errors = facts(tmp_path)
    assert not errors
    assert [a.name for a in obs.alerts] == ["ApiDown"]
    assert "availability" in obs.alerts[0].classes


@pytest.mark.parametrize(
    ("expr", "name", "expected"),
    [
        ('sum(rate(grpc_server_handled_total{grpc_code="Internal"}[5m])) > 1', "X", "error-rate"),
        ("rate(payment_failures_total[5m]) > 0", "PaymentFailures", "error-rate"),
        ('probe_success{job="blackbox"} == 0', "EndpointDown", "availability"),
        ('absent(up{job="api"})', "ApiAbsent", "availability"),
        (
            "increase(kube_pod_container_status_restarts_total[1h]) > 3",
            "PodRestarting",
            "saturation",
        ),
        (
            "node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.1",
            "DiskFull",
            "saturation",
        ),
        (
            "hikaricp_connections_active / hikaricp_connections_max > 0.9",
            "PoolExhausted",
            "saturation",
        ),
        ('rate(http_server_requests_seconds_sum{uri="/orders"}[5m]) > 1', "SlowOrders", "latency"),
    ],
)
def test_alert_classification(expr: str, name: str, expected: str) -> None:
    assert expected in classify(expr, name)


def test_classification_does_not_invent_classes() -> None:
    assert classify("rate(http_requests_total[5m]) < 1", "LowTraffic") == {"traffic"}
    assert "error-rate" not in classify('up{job="api"} == 0', "InstanceDown")


def test_thresholds_and_metric_names() -> None:
    threshold = promql_threshold(
        "(1 - node_filesystem_avail_bytes / node_filesystem_size_bytes) * 100 > 85"
    )
    assert threshold is not None and threshold.value == 85 and threshold.percent_scale
    assert promql_threshold('rate(x_total{le="0.5"}[5m])') is None
    assert promql_threshold("up == 0") is not None
    assert promql_threshold('absent(up{job="api"} == 1)') is None
    grouped = promql_threshold('(slo:sli_error:ratio_rate5m{a="b"} > (14.4 * 0.001))')
    assert grouped is not None and grouped.value == pytest.approx(0.0144)
    assert promql_metrics(
        'histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{job="a"}[5m])))'
    ) == {"http_request_duration_seconds_bucket"}


def test_alertmanager_routes_receivers_and_escalation_levels(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "alertmanager/alertmanager.yml": """
                global:
                  resolve_timeout: 5m
                route:
                  receiver: team-slack
                  group_by: [alertname, service]
                  routes:
                    - matchers: ['severity="critical"']
                      receiver: pagerduty-payments
                      continue: true
                    - match_re: {severity: warning|info}
                      receiver: team-slack
                      routes:
                        - match: {alertname: Watchdog}
                          receiver: blackhole
                    - matchers: ['team="platform"']
                      receiver: oncall-webhook
                receivers:
                  - name: team-slack
                    slack_configs:
                      - channel: '#payments-alerts'
                        api_url: https://hooks.slack.com/services/T000/B000/XXXXSECRET
                  - name: pagerduty-payments
                    pagerduty_configs:
                      - routing_key: not-a-real-key
                  - name: oncall-webhook
                    webhook_configs:
                      - url: https://oncall-prod-eu.grafana.net/oncall/integrations/v1/alertmanager/abc/
                  - name: blackhole
                inhibit_rules:
                  - source_matchers: [severity="critical"]
                    target_matchers: [severity="warning"]
                    equal: [alertname]
            """
        },
    )
    obs, errors = facts(tmp_path)
    assert not errors
    (config,) = obs.alertmanagers
    assert config.root is not None and config.root.receiver == "team-slack"
    assert [r.depth for r in config.routes] == [0, 1, 1, 2, 1]
    assert config.routes[1].matchers == ('severity="critical"',)
    assert config.routes[1].continue_matching
    assert config.routes[2].matchers == ('severity=~"warning|info"',)
    assert config.routes[3].effective_receiver == "blackhole"
    integrations = {r.name: r.integrations for r in config.receivers}
    assert integrations == {
        "team-slack": ("slack",),
        "pagerduty-payments": ("pagerduty",),
        "oncall-webhook": ("webhook:grafana-oncall",),
        "blackhole": (),
    }
    assert config.inhibit_rules == 1
    assert config.escalation_levels
    assert "XXXXSECRET" not in repr(obs)
    assert any(s.kind == "paging" for s in obs.signals)


def test_alertmanager_config_objects(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "k8s/amconfig.yaml": """
                apiVersion: monitoring.coreos.com/v1alpha1
                kind: AlertmanagerConfig
                metadata: {name: payments}
                spec:
                  route:
                    receiver: slack
                    groupBy: [alertname]
                    routes:
                      - receiver: opsgenie
                        matchers:
                          - {name: severity, value: critical, matchType: "="}
                  receivers:
                    - name: slack
                      slackConfigs:
                        - channel: '#payments'
                    - name: opsgenie
                      opsgenieConfigs:
                        - apiKey: {name: opsgenie, key: apiKey}
            """
        },
    )
    obs, _ = facts(tmp_path)
    (config,) = obs.alertmanagers
    assert config.source == "AlertmanagerConfig"
    assert config.routes[1].matchers == ('severity="critical"',)
    assert config.receiver_class("opsgenie") == "paging"
    assert config.escalation_levels


DASHBOARD = """
{
  "annotations": {"list": []},
  "panels": [
    {"type": "row", "title": "Service", "panels": []},
    {"title": "Requests per second", "type": "timeseries",
     "targets": [{"expr": "sum(rate(http_requests_total{job=\\"api\\"}[5m]))"}]},
    {"title": "Error ratio", "type": "timeseries",
     "targets": [{"expr": "sum(rate(http_requests_total{code=~\\"5..\\"}[5m])) / sum(rate(http_requests_total[5m]))"}]},
    {"title": "p99 latency", "type": "timeseries",
     "targets": [{"expr": "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"}]},
    {"title": "Orders", "type": "stat", "targets": [{"expr": "sum(increase(orders_created_total[1h]))"}]}
  ],
  "title": "Shop API",
  "uid": "shop-api"
}
"""


def test_grafana_dashboards_in_json_and_configmaps(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "dashboards/shop-api.json": DASHBOARD,
            "k8s/slo-dashboard.yaml": """
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: slo-dashboard
                  labels: {grafana_dashboard: "1"}
                data:
                  slo.json: |
                    {"title": "API SLOs", "panels": [{"title": "Error budget remaining",
                      "targets": [{"expr": "slo:period_error_budget_remaining:ratio{sloth_service=\\"api\\"}"}]}]}
            """,
            "package.json": '{"name": "ui", "dependencies": {"react": "18"}}',
        },
    )
    obs, errors = facts(tmp_path)
    assert not errors
    by_title = {d.title: d for d in obs.dashboards}
    board = by_title["Shop API"]
    assert board.path == "dashboards/shop-api.json" and board.line == 13
    assert board.panels == 4
    assert board.signals >= {"traffic", "error-rate", "latency"}
    assert "orders_created_total" in board.metrics
    assert not board.slo
    slo = by_title["API SLOs"]
    assert slo.slo and slo.source == "configmap" and slo.path == "k8s/slo-dashboard.yaml"


def test_telemetry_agents_scrape_configs_and_libraries(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "otel/collector.yaml": """
                receivers:
                  otlp: {protocols: {grpc: {}, http: {}}}
                  hostmetrics: {scrapers: {cpu: {}, memory: {}}}
                exporters:
                  otlphttp/tempo: {endpoint: http://tempo:4318}
                  loki: {endpoint: http://loki:3100/loki/api/v1/push}
                service:
                  pipelines:
                    traces: {receivers: [otlp], exporters: [otlphttp/tempo]}
                    logs: {receivers: [otlp], exporters: [loki]}
            """,
            "logging/fluent-bit.conf": """
                [INPUT]
                    Name tail
                    Path /var/log/containers/*.log
                [OUTPUT]
                    Name loki
                    Match *
            """,
            "prometheus/prometheus.yml": """
                scrape_configs:
                  - job_name: api
                    static_configs: [{targets: ['api:8080']}]
                  - job_name: node-exporter
                    static_configs: [{targets: ['node:9100']}]
            """,
            "loki/config.yaml": """
                limits_config:
                  retention_period: 744h
                schema_config: {}
                sinks: {}
            """,
            "requirements.txt": "flask==3.0\nprometheus-client==0.20.0\n# ddtrace==2.0\nopentelemetry-distro\n",
            "go.mod": "module acme/api\n\nrequire (\n\tgithub.com/prometheus/client_golang v1.19.0\n\tgo.uber.org/zap v1.27.0\n)\n",
            "deploy/api.yaml": """
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: api
                  annotations: {prometheus.io/scrape: "true"}
                spec:
                  template:
                    spec:
                      containers:
                        - name: api
                          image: ghcr.io/acme/api:1.0
                          env:
                            - {name: OTEL_TRACES_EXPORTER, value: otlp}
                        - name: log-router
                          image: cr.fluentbit.io/fluent/fluent-bit:3.0
            """,
        },
    )
    obs, errors = facts(tmp_path)
    assert not errors
    kinds = {(s.kind, s.name) for s in obs.signals}
    assert ("otel-collector", "opentelemetry-collector") in kinds
    assert ("tracing-backend", "otel traces pipeline") in kinds
    assert ("log-agent", "otel logs pipeline") in kinds
    assert ("infra-exporter", "otel host/kubelet metrics") in kinds
    assert ("log-agent", "fluent-bit") in kinds
    assert ("scrape", "scrape job api") in kinds
    assert ("infra-exporter", "scrape job node-exporter") in kinds
    assert ("metrics-library", "prometheus-client") in kinds
    assert ("metrics-library", "client_golang") in kinds
    assert ("log-library", "structured logging") in kinds
    assert ("tracing-library", "datadog ddtrace") not in kinds  # commented out
    assert ("scrape", "prometheus.io/scrape annotation") in kinds
    assert ("workload", "Deployment") in kinds
    retention = [s for s in obs.signals if s.kind == "log-store" and s.name == "loki"]
    assert retention and retention[0].detail == "retention 744h"
    otel_env = [s for s in obs.signals if s.kind == "otel-env"]
    assert otel_env and otel_env[0].name == "OTEL_TRACES_EXPORTER"
    library = next(s for s in obs.signals if s.name == "prometheus-client")
    assert (library.path, library.line) == ("requirements.txt", 2)
    assert set(obs.manifests) == {"requirements.txt", "go.mod"}


def test_metric_definitions_in_code(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/metrics.py": """
                from prometheus_client import Counter, Histogram
                SIGNUPS = Counter("signups_total", "Completed signups", ["plan"])
                LATENCY = Histogram("http_request_duration_seconds", "Request latency")
            """,
            "internal/metrics/metrics.go": """
                package metrics
                var OrdersPlaced = promauto.NewCounterVec(prometheus.CounterOpts{
                    Namespace: "shop",
                    Name:      "orders_placed_total",
                    Help:      "Orders placed.",
                }, []string{"payment_method"})
            """,
            "src/metrics.ts": """
                import client from 'prom-client';
                export const carts = new client.Counter({ name: 'carts_abandoned_total', help: 'x' });
            """,
            "src/main/java/Shop.java": """
                import io.micrometer.core.instrument.Counter;
                Counter.builder("checkout.completed").register(registry);
                registry.timer("http.server.requests");
            """,
            "tests/test_metrics.py": 'Counter("test_only_total", "not real")\n',
        },
    )
    obs, _ = facts(tmp_path)
    business = {m.name for m in obs.metrics if m.business}
    technical = {m.name for m in obs.metrics if not m.business}
    assert business == {
        "signups_total",
        "orders_placed_total",
        "carts_abandoned_total",
        "checkout.completed",
    }
    assert technical == {"http_request_duration_seconds", "http.server.requests"}
    signups = next(m for m in obs.metrics if m.name == "signups_total")
    assert (signups.path, signups.line, signups.type) == ("app/metrics.py", 2, "counter")


def test_business_metric_names() -> None:
    assert is_business_metric("payments_captured_total")
    assert not is_business_metric("process_cpu_seconds_total")
    assert not is_business_metric("db_connections_in_use")


def test_terraform_alarms_paging_and_synthetics(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "infra/monitoring.tf": """
                resource "aws_cloudwatch_metric_alarm" "db_cpu" {
                  alarm_name          = "orders-db-cpu-high"
                  namespace           = "AWS/RDS"
                  metric_name         = "CPUUtilization"
                  comparison_operator = "GreaterThanThreshold"
                  threshold           = 80
                  alarm_description   = "See https://wiki.acme.dev/runbooks/db-cpu"
                }

                resource "pagerduty_escalation_policy" "payments" {
                  name = "Payments"
                  rule {
                    escalation_delay_in_minutes = 15
                    target { type = "schedule_reference" id = "P1" }
                  }
                  rule {
                    escalation_delay_in_minutes = 30
                    target { type = "user_reference" id = "P2" }
                  }
                }

                resource "datadog_synthetics_test" "checkout" {
                  name = "checkout journey"
                }

                resource "aws_cloudwatch_log_group" "api" {
                  name              = "/ecs/api"
                  retention_in_days = 30
                }
            """
        },
    )
    obs, errors = facts(tmp_path)
    assert not errors
    (alarm,) = obs.alerts
    assert alarm.name == "orders-db-cpu-high" and alarm.source == "aws_cloudwatch_metric_alarm"
    assert alarm.line == 1 and "saturation" in alarm.classes
    assert alarm.threshold is not None and alarm.threshold.percent_scale
    assert alarm.runbook_url == "https://wiki.acme.dev/runbooks/db-cpu"
    by_kind = {s.kind: s for s in obs.signals}
    assert by_kind["escalation-policy"].detail == "2 level(s), delays 15/30 min"
    assert by_kind["escalation-policy"].line == 10
    assert by_kind["synthetic"].name == "datadog_synthetics_test.checkout"
    assert by_kind["log-store"].detail == "retention 30d"


def test_broken_inputs_are_recorded_and_do_not_stop_collection(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "monitoring/alerts.yml": "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: up == 0\n      - alert\n",
            "monitoring/dashboard.json": '{"panels": [}',
            "monitoring/alertmanager.yml": b"route:\n  receiver: caf\xe9\nreceivers: []\n",
            "monitoring/binary-rules.yaml": b"\x00\x01\x02groups:" * 10,
            "monitoring/empty.rules.yml": "",
            "k8s/unrelated.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n",
            "requirements.txt": b"prometheus-client\n\xff\xfe\n",
            "monitoring/good.yaml": RULES,
        },
    )
    obs, errors = facts(tmp_path)
    kinds = {u.path: u.kind for u in obs.unreadable}
    assert kinds == {
        "monitoring/alerts.yml": "rules",
        "monitoring/dashboard.json": "dashboard",
        "monitoring/alertmanager.yml": "alertmanager",
        "monitoring/binary-rules.yaml": "rules",
        "requirements.txt": "manifest",
    }
    alerts_problem = next(u for u in obs.unreadable if u.path == "monitoring/alerts.yml")
    assert alerts_problem.line == 6 and "neither an alert nor a record" in alerts_problem.reason
    assert len(errors) == 5 and all("(observability)" in e for e in errors)
    assert [a.name for a in obs.alerts] == ["HighErrorRate", "HighLatencyP99"]


def test_oversized_rule_file_is_recorded_as_skipped(tmp_path: Path) -> None:
    write(tmp_path, {"monitoring/alerts.yaml": "groups: []\n" + "# pad\n" * 400_000})
    obs, errors = facts(tmp_path)
    assert [u.kind for u in obs.unreadable] == ["rules"]
    assert "limit" in obs.unreadable[0].reason
    assert errors


def test_alert_names_are_classified_by_what_they_watch() -> None:
    from prr.collectors.observability import classify

    burn = classify("", "PrrServerErrorBudgetSlowBurn")
    assert "latency" not in burn and "error-rate" in burn
    readiness = classify(
        'sum(kube_pod_status_ready{condition="false"}) > 0', "ServerReadinessFailing"
    )
    assert "availability" in readiness and "error-rate" not in readiness
    assert "latency" in classify("", "CheckoutSlowResponses")
    assert "error-rate" in classify("", "PaymentsFailing")


def test_paging_keys_are_classified_never_kept(tmp_path: Path) -> None:
    key = "0123456789abcdef" + "0123456789abcdef"
    write(
        tmp_path,
        {
            "alertmanager.yml": f"""
            global:
              opsgenie_api_key_file: /etc/alertmanager/opsgenie
            route:
              receiver: file
            receivers:
              - name: file
                pagerduty_configs: [{{routing_key_file: /etc/am/pd}}]
              - name: literal
                pagerduty_configs: [{{service_key: {key}}}]
              - name: placeholder
                pagerduty_configs: [{{routing_key: "${{PD_KEY}}"}}]
              - name: missing
                pagerduty_configs: [{{send_resolved: true}}]
              - name: global
                opsgenie_configs:
                  - responders: [{{type: schedule, name: shop_rota}}, {{type: team, name: shop}}]
            """,
            "k8s/amc.yaml": """
            apiVersion: monitoring.coreos.com/v1alpha1
            kind: AlertmanagerConfig
            metadata: {name: shop}
            spec:
              route: {receiver: ref}
              receivers:
                - name: ref
                  opsgenieConfigs:
                    - apiKey: {name: alerting, key: opsgenie}
                      responders: [{type: escalation, name: shop_escalation}]
            """,
        },
    )
    found, errors = facts(tmp_path)
    assert errors == []
    receivers = {r.name: r for c in found.alertmanagers for r in c.receivers}
    assert {name: r.paging_keys for name, r in receivers.items()} == {
        "file": ("file",),
        "literal": ("literal",),
        "placeholder": ("placeholder",),
        "missing": ("none",),
        "global": ("file",),
        "ref": ("secret-ref",),
    }
    assert receivers["global"].schedules == ("shop_rota",)
    assert receivers["ref"].escalations == ("shop_escalation",)
    assert key not in repr(found)


def test_on_call_schedules_as_code(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "infra/oncall.tf": """
            resource "opsgenie_schedule" "shop" {
              name = "shop"
            }

            resource "opsgenie_schedule_rotation" "weekly" {
              schedule_id = opsgenie_schedule.shop.id
              name        = "shop-weekly"
              start_date  = "2026-01-05T09:00:00Z"
              type        = "weekly"
              length      = 1
              participant {
                type = "user"
                id   = opsgenie_user.ana.id
              }
              participant {
                type = "user"
                id   = opsgenie_user.ben.id
              }
            }

            resource "grafana_oncall_on_call_shift" "nights" {
              name          = "nights"
              type          = "rolling_users"
              frequency     = "daily"
              start         = "2026-01-05T20:00:00"
              duration      = 43200
              rolling_users = [[grafana_oncall_user.a.id], [grafana_oncall_user.b.id]]
            }
            """,
            "oncall/rotation.yaml": """
            rotations:
              - name: platform
                participants: [ana, ben, chloe]
                rotation_length: 7d
            """,
            "k8s/backup-schedule.yaml": "schedule: '0 3 * * *'\nmembers: [a, b]\n",
        },
    )
    found, errors = facts(tmp_path)
    assert errors == []
    got = {(s.name, s.tool, s.members, s.shift, s.rotates) for s in found.schedules}
    assert got == {
        ("opsgenie_schedule.shop (shop)", "opsgenie", 0, None, False),
        ("opsgenie_schedule_rotation.weekly (shop-weekly)", "opsgenie", 2, "weekly", True),
        ("grafana_oncall_on_call_shift.nights (nights)", "grafana-oncall", 2, "daily", True),
        ("platform", "file", 3, "7d", True),
        ("backup-schedule.yaml", "file", 2, None, False),
    }
