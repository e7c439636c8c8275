"""The Kubernetes collector over real manifest trees: plain files, kustomize, Helm, bad input."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from prr.collectors.kubernetes import (
    KubernetesCollector,
    KubernetesFacts,
    stage_of_path,
    values_ingress,
)
from prr.model.evidence import ScanError
from tests.helpers import collect

KUSTOMIZE = shutil.which("kustomize") or shutil.which("kubectl")
needs_kustomize = pytest.mark.skipif(KUSTOMIZE is None, reason="needs kubectl or kustomize")
NO_RENDER = {"kubernetes": {"render": False}}

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels: {app: api}
spec:
  replicas: 1
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: app
          image: ghcr.io/acme/api:1.4.2
          ports: [{containerPort: 8080}]
          readinessProbe:
            httpGet: {path: /readyz, port: 8080}
        - name: proxy
          image: envoyproxy/envoy:v1.30.1
"""


def write(root: Path, files: Mapping[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")
    return root


def k8s(
    root: Path, files: Mapping[str, str | bytes], **settings: object
) -> tuple[KubernetesFacts, list[ScanError]]:
    write(root, files)
    facts = collect(root, KubernetesCollector, settings=dict(settings) or None)
    return facts.get(KubernetesFacts), facts.errors


# --------------------------------------------------------------------------- plain manifests


def test_multi_document_file_gives_objects_with_lines(tmp_path: Path) -> None:
    service = "---\napiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: shop}\n"
    facts, errors = k8s(tmp_path, {"k8s/app.yaml": DEPLOYMENT + service})
    assert not errors
    deployment, svc = facts.objects
    assert (deployment.kind, deployment.name, deployment.namespace) == ("Deployment", "api", None)
    assert (deployment.path, deployment.line) == ("k8s/app.yaml", 1)
    assert deployment.locate("spec", "replicas") == ("k8s/app.yaml", 7)
    assert deployment.locate_container("proxy", "image") == ("k8s/app.yaml", 21)
    assert deployment.locate_container("app", "readinessProbe") == ("k8s/app.yaml", 18)
    assert [c["name"] for c in deployment.containers()] == ["app", "proxy"]
    assert deployment.pod_labels == {"app": "api"}
    assert deployment.replicas == 1
    assert (svc.kind, svc.namespace, svc.line) == ("Service", "shop", 23)
    assert facts.files == ("k8s/app.yaml",)


def test_list_items_are_expanded_and_json_manifests_read(tmp_path: Path) -> None:
    listing = """\
    apiVersion: v1
    kind: List
    items:
      - apiVersion: v1
        kind: ConfigMap
        metadata: {name: one}
      - apiVersion: v1
        kind: ServiceAccount
        metadata: {name: two}
    """
    manifest = (
        '{\n  "apiVersion": "v1",\n  "kind": "Namespace",\n  "metadata": {"name": "shop"}\n}\n'
    )
    facts, errors = k8s(
        tmp_path,
        {"k8s/list.yaml": listing, "k8s/ns.json": manifest, "package.json": '{"name": "x"}'},
    )
    assert not errors
    by_kind = {o.kind: o for o in facts.objects}
    assert set(by_kind) == {"ConfigMap", "ServiceAccount", "Namespace"}
    assert by_kind["ServiceAccount"].line == 7
    assert by_kind["Namespace"].path == "k8s/ns.json"


def test_secret_values_are_never_kept(tmp_path: Path) -> None:
    secret = """\
    apiVersion: v1
    kind: Secret
    metadata: {name: db}
    type: Opaque
    stringData:
      password: hunter2-very-secret
    data:
      token: c2VjcmV0LXRva2VuLXZhbHVl
    """
    facts, _ = k8s(tmp_path, {"k8s/secret.yaml": secret})
    (obj,) = facts.objects
    assert obj.secret_keys == ("token", "password")
    dumped = repr(facts) + repr(obj.sources[0].document.data)
    assert "hunter2" not in dumped
    assert "c2VjcmV0" not in dumped
    assert obj.locate("stringData", "password") == ("k8s/secret.yaml", 6)


def test_tool_configs_are_not_objects(tmp_path: Path) -> None:
    kubeconfig = """\
    apiVersion: v1
    kind: Config
    users: [{name: admin, user: {token: abc}}]
    """
    facts, errors = k8s(tmp_path, {"k8s/kubeconfig.yaml": kubeconfig})
    assert facts.objects == () and not errors


# --------------------------------------------------------------------------- bad input


def test_bad_files_are_errors_and_the_rest_is_read(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "k8s/app.yaml": DEPLOYMENT,
        "k8s/broken.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n   bad: 1\n",
        "k8s/dupe.yaml": "apiVersion: v1\nkind: Service\nkind: Pod\n",
        "k8s/latin1.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n",
        "k8s/binary.yaml": b"\x00\x01\x02" * 50,
        "k8s/empty.yaml": "",
        "k8s/bomb.yaml": "a: &a [1, 2]\nb: [*a, *a\n",
        "config/other.yaml": "not: [valid\n",
        "k8s/broken.json": '{"apiVersion": "v1", "kind": "Service", ',
        "k8s/big.yaml": "apiVersion: v1\nkind: ConfigMap\n" + "# padding\n" * 230_000,
    }
    facts, errors = k8s(tmp_path, files)
    reported = {e.source: e for e in errors if e.collector == "kubernetes"}
    assert set(reported) == {
        "k8s/broken.yaml",
        "k8s/dupe.yaml",
        "k8s/latin1.yaml",
        "k8s/bomb.yaml",
        "k8s/broken.json",
        "k8s/big.yaml",
    }
    assert reported["k8s/broken.yaml"].line == 5
    assert "duplicate key" in reported["k8s/dupe.yaml"].reason
    assert "UTF-8" in reported["k8s/latin1.yaml"].reason
    assert [o.name for o in facts.objects] == ["api"]
    broken = next(u for u in facts.unreadable if u.path == "k8s/broken.yaml")
    assert broken.kinds == frozenset({"Service"})


def test_templated_manifest_outside_a_chart_is_not_an_error(tmp_path: Path) -> None:
    template = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Name }}\n"
    rule = """\
    apiVersion: monitoring.coreos.com/v1
    kind: PrometheusRule
    metadata: {name: api}
    spec:
      groups:
        - name: api
          rules:
            - alert: Down
              expr: up == 0
              annotations: {summary: "{{ $labels.instance }} is down"}
    """
    facts, errors = k8s(tmp_path, {"deploy/tpl.yaml": template, "deploy/rule.yaml": rule})
    assert not errors
    assert [t.path for t in facts.templated] == ["deploy/tpl.yaml"]
    assert facts.templated[0].kinds == ("Deployment",)
    assert [o.kind for o in facts.objects] == ["PrometheusRule"]
    assert [u.path for u in facts.unreadable_for(["Deployment"])] == ["deploy/tpl.yaml"]
    assert facts.unreadable_for(["Service"]) == []


# --------------------------------------------------------------------------- environments


def test_folders_named_after_environments_group_objects(tmp_path: Path) -> None:
    files = {
        "deploy/production/app.yaml": DEPLOYMENT,
        "deploy/staging/app.yaml": DEPLOYMENT,
        "deploy/common/sa.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: api}\n",
        "examples/demo.yaml": DEPLOYMENT.replace("name: api", "name: demo", 1),
    }
    facts, _ = k8s(tmp_path, files)
    envs = {e.key: e.name for e in facts.environments}
    assert envs == {
        "deploy/production": "production",
        "deploy/staging": "staging",
        "examples": "example",
    }
    scope = facts.scope()
    assert sorted((o.kind, o.environment) for o in scope) == [
        ("Deployment", "deploy/production"),
        ("ServiceAccount", None),
    ]
    assert stage_of_path("clusters/prod-eu/apps") == ("production", "clusters/prod-eu")
    assert stage_of_path("envs/pre-prod") == ("staging", "envs/pre-prod")


def test_rollout_workload_ref_takes_over_the_deployment(tmp_path: Path) -> None:
    rollout = """\
    apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    metadata: {name: api}
    spec:
      replicas: 3
      workloadRef: {apiVersion: apps/v1, kind: Deployment, name: api}
      strategy:
        canary:
          steps: [{setWeight: 20}, {pause: {}}]
    """
    facts, _ = k8s(tmp_path, {"k8s/app.yaml": DEPLOYMENT, "k8s/rollout.yaml": rollout})
    workloads = facts.workloads(facts.scope())
    assert [w.kind for w in workloads] == ["Rollout"]
    owner = facts.pod_template_owner(workloads[0])
    assert owner.kind == "Deployment" and owner.containers()[0]["name"] == "app"


# --------------------------------------------------------------------------- kustomize

OVERLAYS: dict[str, str | bytes] = {
    "k8s/base/kustomization.yaml": "resources: [deployment.yaml]\n",
    "k8s/base/deployment.yaml": DEPLOYMENT,
    "k8s/overlays/production/kustomization.yaml": """\
        resources: [../../base]
        namePrefix: prod-
        namespace: shop
        patches:
          - path: replicas.yaml
        secretGenerator:
          - name: api-creds
            literals: [API_TOKEN=do-not-leak-this]
        """,
    "k8s/overlays/production/replicas.yaml": """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: api}
        spec:
          replicas: 3
        """,
    "k8s/overlays/staging/kustomization.yaml": "resources: [../../base]\nnamespace: shop-staging\n",
}


@needs_kustomize
def test_overlays_are_rendered_per_environment(tmp_path: Path) -> None:
    facts, errors = k8s(tmp_path, OVERLAYS)
    assert not errors
    envs = {e.key: (e.name, e.kind, e.rendered) for e in facts.environments}
    assert envs == {
        "k8s/overlays/production": ("production", "kustomize", True),
        "k8s/overlays/staging": ("staging", "kustomize", True),
    }
    prod = {o.kind: o for o in facts.in_environment("k8s/overlays/production")}
    deployment = prod["Deployment"]
    assert (deployment.name, deployment.namespace, deployment.replicas) == ("prod-api", "shop", 3)
    assert deployment.origin == "kustomize"
    assert deployment.source_name == "api"
    assert deployment.locate("spec", "replicas") == ("k8s/overlays/production/replicas.yaml", 5)
    assert deployment.locate_container("app", "image") == ("k8s/base/deployment.yaml", 16)
    assert prod["Secret"].secret_keys == ("API_TOKEN",)
    assert "do-not-leak-this" not in repr(facts)
    assert [o.environment for o in facts.scope()] == ["k8s/overlays/production"] * 2
    roots = {k.directory: k.root for k in facts.kustomizations}
    assert roots == {
        "k8s/base": False,
        "k8s/overlays/production": True,
        "k8s/overlays/staging": True,
    }
    (generator,) = next(
        k for k in facts.kustomizations if k.directory == "k8s/overlays/production"
    ).secret_generators
    assert generator.literal_keys == ("API_TOKEN",) and generator.line == 7
    assert facts.kustomize_reach("k8s/overlays/staging") == {"k8s/overlays/staging", "k8s/base"}


def test_unrendered_overlays_are_assembled_and_reported(tmp_path: Path) -> None:
    facts, errors = k8s(tmp_path, OVERLAYS, **NO_RENDER)
    reported = sorted(e.source for e in errors)
    assert reported == [
        "k8s/overlays/production/kustomization.yaml",
        "k8s/overlays/staging/kustomization.yaml",
    ]
    assert all("not rendered" in e.reason for e in errors)
    deployment = next(o for o in facts.in_environment("k8s/overlays/production"))
    assert deployment.origin == "kustomize-unrendered"
    assert (deployment.name, deployment.namespace, deployment.replicas) == ("prod-api", "shop", 3)
    assert deployment.locate("spec", "replicas") == ("k8s/overlays/production/replicas.yaml", 5)
    unread = facts.unreadable_for(["Deployment"], [deployment])
    assert [u.environment for u in unread] == ["k8s/overlays/production"]


@needs_kustomize
def test_failed_render_is_reported_with_kustomize_reason(tmp_path: Path) -> None:
    files = dict(OVERLAYS)
    files["k8s/overlays/staging/kustomization.yaml"] = "resources: [../../base, missing.yaml]\n"
    facts, errors = k8s(tmp_path, files)
    (error,) = errors
    assert error.source == "k8s/overlays/staging/kustomization.yaml"
    assert "missing.yaml" in error.reason
    assert {e.key: e.rendered for e in facts.environments} == {
        "k8s/overlays/production": True,
        "k8s/overlays/staging": False,
    }


@needs_kustomize
def test_render_errors_never_echo_generator_literals(tmp_path: Path) -> None:
    files = dict(OVERLAYS)
    files["k8s/overlays/staging/kustomization.yaml"] = (
        "resources: [../../base]\nsecretGenerator:\n"
        "  - name: creds\n    literals: [Tr0ub4dor-and-3-without-equals]\n"
    )
    facts, errors = k8s(tmp_path, files)
    (error,) = errors
    assert "Tr0ub4dor" not in error.reason and "Tr0ub4dor" not in repr(facts)
    assert "generator (details withheld)" in error.reason


# --------------------------------------------------------------------------- helm

CHART: dict[str, str | bytes] = {
    "charts/api/Chart.yaml": "apiVersion: v2\nname: api\nversion: 0.1.0\n",
    "charts/api/values.yaml": """\
        replicaCount: 1
        image: {repository: ghcr.io/acme/api, tag: ""}
        resources: {}
        autoscaling:
          enabled: false
          minReplicas: 1
          maxReplicas: 5
        livenessProbe:
          httpGet: {path: /livez, port: http}
        readinessProbe:
          httpGet: {path: /readyz, port: http}
        ingress:
          enabled: false
          className: nginx
          annotations: {}
          hosts: [{host: api.example.com}]
          tls: []
        """,
    "charts/api/values-production.yaml": """\
        autoscaling:
          enabled: true
          minReplicas: 3
          maxReplicas: 12
        resources:
          requests: {cpu: 250m, memory: 256Mi}
          limits: {memory: 256Mi}
        ingress:
          enabled: true
          annotations:
            cert-manager.io/cluster-issuer: letsencrypt
          tls:
            - hosts: [api.example.com]
              secretName: api-tls
        """,
    "charts/api/values-staging.yaml": "replicaCount: 1\n",
    "charts/api/templates/deployment.yaml": """\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ include "api.fullname" . }}
        spec:
          {{- if not .Values.autoscaling.enabled }}
          replicas: {{ .Values.replicaCount }}
          {{- end }}
          template:
            spec:
              containers:
                - name: {{ .Chart.Name }}
                  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
                  livenessProbe:
                    {{- toYaml .Values.livenessProbe | nindent 12 }}
                  readinessProbe:
                    {{- toYaml .Values.readinessProbe | nindent 12 }}
                  resources:
                    {{- toYaml .Values.resources | nindent 12 }}
        """,
    "charts/api/templates/hpa.yaml": """\
        {{- if .Values.autoscaling.enabled }}
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata:
          name: {{ include "api.fullname" . }}
        spec:
          minReplicas: {{ .Values.autoscaling.minReplicas }}
          maxReplicas: {{ .Values.autoscaling.maxReplicas }}
        {{- end }}
        """,
    "charts/api/templates/ingress.yaml": """\
        {{- if .Values.ingress.enabled -}}
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: {{ include "api.fullname" . }}
          annotations:
            nginx.ingress.kubernetes.io/limit-rpm: "300"
            {{- with .Values.ingress.annotations }}
            {{- toYaml . | nindent 4 }}
            {{- end }}
        spec:
          {{- if .Values.ingress.tls }}
          tls:
            {{- toYaml .Values.ingress.tls | nindent 4 }}
          {{- end }}
        {{- end }}
        """,
    "charts/api/templates/_helpers.tpl": '{{- define "api.fullname" -}}api{{- end }}\n',
    "charts/api/templates/static-sa.yaml": (
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: api}\n"
    ),
    "charts/api/charts/redis/Chart.yaml": "apiVersion: v2\nname: redis\nversion: 1.0.0\n",
}


@pytest.mark.skipif(shutil.which("helm") is not None, reason="helm renders the chart instead")
def test_chart_without_helm_is_decided_from_values(tmp_path: Path) -> None:
    facts, errors = k8s(tmp_path, CHART)
    assert not errors
    (chart,) = facts.charts
    assert (chart.name, chart.directory, chart.rendered) == ("api", "charts/api", False)
    assert chart.render_note == "helm is not installed"
    assert chart.kinds == {"Deployment", "HorizontalPodAutoscaler", "Ingress", "ServiceAccount"}
    assert [v.name for v in chart.values] == ["default", "production", "staging"]
    prod, default = chart.values_for("production"), chart.values_for(None)
    assert prod is not None and default is not None

    replicas = chart.setting(default, "Deployment", "replicas")
    assert (replicas.state, replicas.value) == ("set", 1)
    assert replicas.path == "charts/api/values.yaml" and replicas.line == 1
    assert chart.setting(prod, "Deployment", "replicas").state == "unset"  # HPA owns it
    assert chart.emitted(prod, "HorizontalPodAutoscaler").state == "set"
    assert chart.emitted(default, "HorizontalPodAutoscaler").state == "unset"
    low = chart.setting(prod, "HorizontalPodAutoscaler", "minReplicas")
    assert (low.value, low.path, low.line) == (3, "charts/api/values-production.yaml", 3)
    assert chart.setting(prod, "Deployment", "livenessProbe").state == "set"
    assert chart.setting(default, "Deployment", "resources").state == "unset"
    assert chart.setting(prod, "Deployment", "resources").value["limits"] == {"memory": "256Mi"}
    assert chart.setting(prod, "Deployment", "topologySpreadConstraints").state == "unset"
    name = chart.setting(prod, "Deployment", "name")
    assert name.state == "unknown"

    ingress = values_ingress(chart, prod)
    assert ingress is not None
    assert ingress.annotations == {
        "nginx.ingress.kubernetes.io/limit-rpm": "300",
        "cert-manager.io/cluster-issuer": "letsencrypt",
    }
    assert ingress.get("spec", "tls")[0]["secretName"] == "api-tls"
    assert ingress.get("spec", "ingressClassName") == "nginx"
    assert {e.key: e.name for e in facts.environments} == {
        "charts/api/values-production.yaml": "production",
        "charts/api/values-staging.yaml": "staging",
    }
    assert [o.kind for o in facts.objects] == ["ServiceAccount"]


@pytest.mark.skipif(shutil.which("helm") is None, reason="needs helm")
def test_chart_is_rendered_by_helm_per_environment(tmp_path: Path) -> None:  # pragma: no cover
    facts, errors = k8s(tmp_path, CHART)
    assert not errors
    assert facts.charts[0].rendered
    kinds = {(o.environment, o.kind) for o in facts.objects}
    assert ("charts/api/values-production.yaml", "HorizontalPodAutoscaler") in kinds
    assert ("charts/api/values-staging.yaml", "HorizontalPodAutoscaler") not in kinds
