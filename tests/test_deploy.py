"""``deploy/``: the server's own deployment passes prr's own scan, and fits the server.

The scan may leave only the critical items listed in :data:`EXPECTED_ISSUES` open
(no file under ``deploy/`` can decide them); the alerts must link runbook sections
that exist and query only metrics the server exports (or the standard exporters').
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from prr.cli import app
from prr.server import ServerSettings, create_app
from tests.live.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
BASE = DEPLOY / "kubernetes" / "base"
RUNBOOK_PREFIX = "https://git.example.com/platform/prr/blob/main/deploy/"

EXPECTED_ISSUES = {
    # decided only against the running environments (`--live`) or by drills
    "infrastructure.compute.production-environment-provisioned": "no check; answered in review",
    "infrastructure.database.production-database-provisioned": "live or Terraform only",
    "reliability.backup-recovery.database-backups-automated": "managed database, not in files",
    "reliability.backup-recovery.backup-restoration-tested": "backup-restore drill",
    "performance.load-testing.load-test-executed": "load drill",
    "performance.load-testing.no-memory-leaks-under-load": "load drill",
    "performance.optimization.database-queries-optimized": "live only",
    # properties of the code, outside deploy/
    "security.authentication.production-auth-provider-configured": "no check",
    "security.authorization.all-endpoints-protected": "needs an OpenAPI spec with security",
    "security.application-security.input-validation-on-all-endpoints": "no check",
    "security.application-security.sql-nosql-injection-prevention": "no check",
    "security.application-security.dependency-vulnerabilities-scanned": "manifests at the root",
    "reliability.monitoring.application-metrics-collected": "metrics library at the root",
    # the platform's, not the service's
    "reliability.monitoring.log-aggregation-configured": "the cluster ships logs",
    # answered by the owner
    "performance.optimization.caching-strategy-implemented": "no check",
}

EXPORTER_METRICS = {
    # Prometheus itself
    "up",
    # kubelet / cAdvisor
    "container_memory_working_set_bytes",
    "container_cpu_usage_seconds_total",
    "container_cpu_cfs_periods_total",
    "container_cpu_cfs_throttled_periods_total",
    # kube-state-metrics
    "kube_deployment_spec_replicas",
    "kube_deployment_status_replicas_available",
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "kube_horizontalpodautoscaler_status_current_replicas",
    "kube_pod_container_resource_limits",
    "kube_pod_container_status_restarts_total",
}
"""Metrics the alerts and dashboard take from the standard exporters, not from prr."""

_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{")
_PRR_NAME = re.compile(r"\bprr_[a-z0-9_]+")


def _renderer() -> bool:
    return bool(shutil.which("kustomize") or shutil.which("kubectl"))


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The JSON scan of deploy/, run in-process, with a store that holds no drill results."""
    store = tmp_path_factory.mktemp("store") / "prr.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PRR_DATABASE_URL", f"sqlite:///{store}")
        result = CliRunner().invoke(
            app, ["scan", str(DEPLOY), "-f", "json", "--fail-on", "blocker"]
        )
    assert result.exit_code == 0, result.stdout + result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _alerts() -> list[dict[str, Any]]:
    rule = yaml.safe_load((BASE / "prometheusrule.yaml").read_text(encoding="utf-8"))
    return [r for group in rule["spec"]["groups"] for r in group["rules"] if "alert" in r]


# ------------------------------------------------------------------------------ the scan


def test_no_blocker_and_no_failing_item(scan: dict[str, Any]) -> None:
    assert scan["target"]["service"] == "prr-server"
    assert scan["summary"]["blockers"] == 0
    failing = [i["id"] for i in scan["items"] if i["status"] == "fail"]
    assert failing == []
    assert scan["summary"]["accepted_risks"] == 0
    assert not any(i["waived"] for i in scan["items"])


@pytest.mark.skipif(not _renderer(), reason="rendering the overlays needs kubectl or kustomize")
def test_verdict_is_conditional_only_on_the_expected_items(scan: dict[str, Any]) -> None:
    assert scan["errors"] == []
    assert scan["verdict"] == "CONDITIONAL"
    issues = {i["id"]: i for i in scan["items"] if i["issue"]}
    assert set(issues) == set(EXPECTED_ISSUES)
    for item in issues.values():
        assert item["status"] == "unknown" and item["severity"] == "critical", item["id"]


@pytest.mark.skipif(not _renderer(), reason="rendering the overlays needs kubectl or kustomize")
def test_the_manifests_decide_their_critical_items(scan: dict[str, Any]) -> None:
    status = {i["id"]: i["status"] for i in scan["items"]}
    for item in (
        "infrastructure.compute.health-checks-configured",
        "infrastructure.compute.multiple-availability-zones",
        "infrastructure.networking.ssl-tls-certificates-installed",
        "security.authorization.api-rate-limiting-enabled",
        "security.network-security.https-enforced",
        "reliability.alerting.error-rate-alerts",
        "reliability.alerting.availability-alerts",
        "reliability.alerting.alert-routing-configured",
        "deployment.environment-parity.staging-mirrors-production",
        "deployment.rollback.rollback-procedure-documented",
        "operations.documentation.runbook-for-common-issues",
        "operations.documentation.incident-response-playbook",
    ):
        assert status[item] == "pass", item


# ------------------------------------------------------------------------------ the image


def _final_stage(dockerfile: str) -> list[str]:
    lines = re.sub(r"\\\n\s*", " ", dockerfile).splitlines()
    instructions = [
        line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")
    ]
    last_from = max(i for i, line in enumerate(instructions) if line.upper().startswith("FROM "))
    return instructions[last_from:]


def test_dockerfile_runs_as_a_fixed_non_root_user_with_a_healthcheck() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    for base in re.findall(r"^FROM\s+(\S+)", text, re.M):
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", base), base
    stage = _final_stage(text)
    users = [line.split()[1] for line in stage if line.upper().startswith("USER ")]
    assert users, "the runtime stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000
    healthcheck = [line for line in stage if line.upper().startswith("HEALTHCHECK ")]
    assert len(healthcheck) == 1 and "/healthz" in healthcheck[0]
    assert any(line.upper() == "EXPOSE 8000" for line in stage)
    # Kubernetes runs the pods as the same user the image was built for.
    deployment = yaml.safe_load((BASE / "deployment.yaml").read_text(encoding="utf-8"))
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == int(uid)


def test_the_deployment_is_hardened_and_reads_secrets_from_a_secret() -> None:
    deployment = yaml.safe_load((BASE / "deployment.yaml").read_text(encoding="utf-8"))
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    context = container["securityContext"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    env = {e["name"]: e for e in container["env"]}
    for name in ("PRR_DATABASE_URL", "PRR_SESSION_SECRET"):
        assert "value" not in env[name] and env[name]["valueFrom"]["secretKeyRef"]["name"]
    graceful = int(env["PRR_SERVER_GRACEFUL_SHUTDOWN"]["value"])
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["terminationGracePeriodSeconds"] > graceful + pause


# ------------------------------------------------------------------------------ the alerts


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_alert_links_an_existing_runbook_section() -> None:
    alerts = _alerts()
    assert len(alerts) >= 5
    linked: dict[Path, set[str]] = {}
    for alert in alerts:
        name = alert["alert"]
        assert alert["labels"]["severity"] in {"critical", "warning"}, name
        url = alert["annotations"]["runbook_url"]
        assert url.startswith(RUNBOOK_PREFIX) and "#" in url, name
        path, anchor = url.removeprefix(RUNBOOK_PREFIX).split("#", 1)
        doc = DEPLOY / path
        assert doc.is_file(), f"{name}: {path} does not exist"
        headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", doc.read_text(encoding="utf-8"), re.M)
        assert anchor in {_slug(h) for h in headings}, f"{name}: no heading #{anchor} in {path}"
        linked.setdefault(doc, set()).add(anchor)
    # and the runbook has no section for an alert that no longer exists
    runbook = DEPLOY / "docs" / "runbook.md"
    sections = re.findall(r"^##\s+(.+?)\s*$", runbook.read_text(encoding="utf-8"), re.M)
    assert {_slug(s) for s in sections} == linked[runbook]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[set[str]]:
    """Sample names the real server's /metrics can expose (after a few requests)."""
    store = tmp_path_factory.mktemp("metrics") / "prr.db"
    settings = ServerSettings(session_secret="deploy-test-" + "x" * 32)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(f"sqlite:///{store}", settings),
            host="127.0.0.1",
            port=free_port(),
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    port = server.config.port
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 200
            assert client.get("/api/v1/services").status_code == 401
            text = client.get("/metrics").text
    finally:
        server.should_exit = True
        thread.join(timeout=20)
    names: set[str] = set()
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count")}
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names |= {family.name + s for s in suffixes.get(family.type, ())}
        names |= {sample.name for sample in family.samples}
    yield names


def _queries() -> dict[str, list[str]]:
    """Every PromQL expression in deploy/, by the file it comes from."""
    out: dict[str, list[str]] = {"prometheusrule.yaml": [a["expr"] for a in _alerts()]}
    slos = yaml.safe_load_all((DEPLOY / "slo" / "prr-server.yaml").read_text(encoding="utf-8"))
    out["slo/prr-server.yaml"] = re.findall(r"'query': '([^']+)'", repr(list(slos)))
    dashboard = json.loads((BASE / "dashboards" / "prr-server.json").read_text(encoding="utf-8"))
    out["prr-server.json"] = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    return out


def test_alerts_slos_and_dashboard_query_only_exported_metrics(exported: set[str]) -> None:
    assert {"prr_http_requests_total", "prr_http_request_duration_seconds_bucket"} <= exported
    used_prr: set[str] = set()
    for source, queries in _queries().items():
        assert queries, source
        for query in queries:
            for name in _SELECTOR.findall(query) + _PRR_NAME.findall(query):
                if name.startswith("prr_"):
                    used_prr.add(name)
                    assert name in exported, f"{source}: {name} is not exported by the server"
                else:
                    assert name in EXPORTER_METRICS, f"{source}: {name} comes from nowhere known"
    assert {"prr_http_requests_total", "prr_http_request_duration_seconds_bucket"} <= used_prr


# -------------------------------------------------------------------- the alerts, evaluated

_API = 'job="prr-server", namespace="prr", method="POST", route="/api/v1/scans"'
_READYZ = 'job="prr-server", namespace="prr", method="GET", route="/readyz"'
PROMTOOL_TESTS = f"""
rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  - name: nothing is up, then no pod is ready
    interval: 1m
    input_series:
      - series: 'up{{job="prr-server", namespace="prr", pod="prr-server-a"}}'
        values: '0x20'
      - series: 'kube_deployment_status_replicas_available{{namespace="prr", deployment="prr-server"}}'
        values: '0x20'
    alert_rule_test:
      - {{eval_time: 6m, alertname: PrrServerDown,
          exp_alerts: [{{exp_labels: {{severity: critical, service: prr-server}}}}]}}
      - eval_time: 4m
        alertname: PrrServerNoReadyReplicas
        exp_alerts:
          - exp_labels: {{severity: critical, service: prr-server, namespace: prr,
                          deployment: prr-server}}
  - name: healthy and serving
    interval: 1m
    input_series:
      - series: 'up{{job="prr-server", namespace="prr", pod="prr-server-a"}}'
        values: '1x90'
      - series: 'prr_http_requests_total{{{_API}, status="201"}}'
        values: '0+99x90'
      - series: 'prr_http_requests_total{{{_API}, status="500"}}'
        values: '0+1x90'
      - series: 'prr_http_requests_total{{{_READYZ}, status="503", pod="prr-server-a"}}'
        values: '0+12x90'
    alert_rule_test:
      - {{eval_time: 80m, alertname: PrrServerDown, exp_alerts: []}}
      - {{eval_time: 80m, alertname: PrrServerErrorBudgetFastBurn, exp_alerts: []}}
      - eval_time: 80m
        alertname: PrrServerReadinessFailing
        exp_alerts:
          - exp_labels: {{severity: warning, service: prr-server, pod: prr-server-a}}
  - name: one request in ten fails
    interval: 1m
    input_series:
      - series: 'prr_http_requests_total{{{_API}, status="201"}}'
        values: '0+90x90'
      - series: 'prr_http_requests_total{{{_API}, status="500"}}'
        values: '0+10x90'
    alert_rule_test:
      - {{eval_time: 80m, alertname: PrrServerErrorBudgetFastBurn,
          exp_alerts: [{{exp_labels: {{severity: critical, service: prr-server}}}}]}}
  - name: most requests take a second
    interval: 1m
    input_series:
      - series: 'prr_http_request_duration_seconds_bucket{{{_API}, le="0.5"}}'
        values: '0+1x30'
      - series: 'prr_http_request_duration_seconds_bucket{{{_API}, le="2.5"}}'
        values: '0+10x30'
      - series: 'prr_http_request_duration_seconds_bucket{{{_API}, le="+Inf"}}'
        values: '0+10x30'
    alert_rule_test:
      - {{eval_time: 25m, alertname: PrrServerHighLatency,
          exp_alerts: [{{exp_labels: {{severity: warning, service: prr-server}}}}]}}
"""


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool is not installed")
def test_alerts_fire_on_the_failures_they_describe(tmp_path: Path) -> None:
    """promtool evaluates the real rules on synthetic series (annotations left out)."""
    import subprocess

    rule = yaml.safe_load((BASE / "prometheusrule.yaml").read_text(encoding="utf-8"))
    for group in rule["spec"]["groups"]:
        for alert in group["rules"]:
            alert.pop("annotations", None)
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    (tmp_path / "tests.yaml").write_text(PROMTOOL_TESTS)
    promtool = shutil.which("promtool")
    assert promtool
    run = subprocess.run(
        [promtool, "test", "rules", "tests.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
