"""Every Kubernetes check on passing, failing and unreadable manifests."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from prr.collectors.kubernetes import KubernetesCollector
from prr.model.evidence import Result, Status
from tests.helpers import by_item, collect, run_check

KUSTOMIZE = shutil.which("kustomize") or shutil.which("kubectl")
needs_kustomize = pytest.mark.skipif(KUSTOMIZE is None, reason="needs kubectl or kustomize")

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  replicas: 3
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      serviceAccountName: api
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: DoNotSchedule
          labelSelector:
            matchLabels: {app: api}
      containers:
        - name: app
          image: ghcr.io/acme/api:1.4.2
          ports: [{containerPort: 8080, name: http}]
          env:
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef: {name: api-db, key: url}
          resources:
            requests: {cpu: 250m, memory: 256Mi}
            limits: {memory: 256Mi}
          readinessProbe:
            httpGet: {path: /readyz, port: 8080}
          livenessProbe:
            httpGet: {path: /livez, port: 8080}
          lifecycle:
            preStop:
              exec: {command: [sleep, "5"]}
"""

EDGE = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: api, namespace: shop}
automountServiceAccountToken: false
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: api
  namespace: shop
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt-prod
    nginx.ingress.kubernetes.io/limit-rpm: "600"
    nginx.ingress.kubernetes.io/enable-cors: "true"
    nginx.ingress.kubernetes.io/cors-allow-origin: "https://app.example.com"
    nginx.ingress.kubernetes.io/configuration-snippet: |
      more_set_headers "X-Content-Type-Options: nosniff";
      more_set_headers "X-Frame-Options: DENY";
      more_set_headers "Referrer-Policy: strict-origin-when-cross-origin";
spec:
  ingressClassName: nginx
  tls:
    - hosts: [api.example.com]
      secretName: api-tls
  rules:
    - host: api.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service: {name: api, port: {number: 80}}
"""

POLICY = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  minReplicas: 3
  maxReplicas: 12
  metrics:
    - type: Resource
      resource:
        name: cpu
        target: {type: Utilization, averageUtilization: 70}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: api, namespace: shop}
spec:
  minAvailable: 2
  selector:
    matchLabels: {app: api}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-from-ingress, namespace: shop}
spec:
  podSelector:
    matchLabels: {app: api}
  ingress:
    - from:
        - namespaceSelector:
            matchLabels: {kubernetes.io/metadata.name: ingress-nginx}
      ports: [{port: 8080}]
---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: api-db, namespace: shop}
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: vault}
  target: {name: api-db}
  dataFrom: [{extract: {key: shop/api-db}}]
"""

GOOD = {"k8s/deployment.yaml": DEPLOYMENT, "k8s/edge.yaml": EDGE, "k8s/policy.yaml": POLICY}
BROKEN_DEPLOYMENT = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: worker\n   x: 1\n"


def scan(root: Path, files: dict[str, str], *, render: bool = True) -> dict[str, Result]:
    """Write ``files`` under ``root``, collect, and run every Kubernetes check; results by item."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    settings = None if render else {"kubernetes": {"render": False}}
    facts = collect(root, KubernetesCollector, settings=settings)
    results: list[Result] = []
    for check_id in CHECKS:
        results += run_check(check_id, facts)
    return by_item(results)


CHECKS = (
    "infrastructure.kubernetes.autoscaling",
    "infrastructure.kubernetes.resources",
    "infrastructure.kubernetes.probes",
    "infrastructure.kubernetes.zones",
    "infrastructure.kubernetes.load-balancer",
    "infrastructure.kubernetes.tls",
    "infrastructure.kubernetes.network-policies",
    "security.kubernetes.https",
    "security.kubernetes.exposure",
    "security.kubernetes.rate-limiting",
    "security.kubernetes.cors",
    "security.kubernetes.security-headers",
    "security.kubernetes.service-accounts",
    "security.kubernetes.human-access",
    "security.kubernetes.secrets",
    "deployment.kubernetes.strategy",
    "deployment.kubernetes.zero-downtime",
    "deployment.kubernetes.revisions",
    "deployment.kubernetes.environment-parity",
)


def edit(files: dict[str, str], name: str, old: str, new: str) -> dict[str, str]:
    """A copy of ``files`` with one replacement in one file (which must contain ``old``)."""
    assert old in files[name], old
    changed = dict(files)
    changed[name] = files[name].replace(old, new, 1)
    return changed


# --------------------------------------------------------------------------- the good service


def test_a_well_configured_service_passes_everything_it_shows(tmp_path: Path) -> None:
    results = scan(tmp_path, GOOD)
    statuses = {item: r.status for item, r in results.items()}
    assert statuses == {
        "infrastructure.compute.auto-scaling-configured": Status.PASS,
        "performance.capacity-planning.scaling-triggers-defined": Status.PASS,
        "infrastructure.compute.resource-limits-set": Status.PASS,
        "infrastructure.compute.health-checks-configured": Status.PASS,
        "infrastructure.compute.multiple-availability-zones": Status.PASS,
        "infrastructure.networking.load-balancer-configured": Status.PASS,
        "infrastructure.networking.ssl-tls-certificates-installed": Status.PASS,
        "infrastructure.networking.firewall-rules-reviewed": Status.PASS,
        "security.network-security.https-enforced": Status.PASS,
        "security.network-security.internal-services-not-exposed": Status.PASS,
        "security.authorization.api-rate-limiting-enabled": Status.PASS,
        "security.network-security.cors-properly-configured": Status.PASS,
        "security.network-security.security-headers-configured": Status.PASS,
        "security.secrets-management.service-accounts-minimal-permissions": Status.PASS,
        "security.secrets-management.secrets-in-secure-vault": Status.PASS,
        "deployment.deployment-strategy.deployment-strategy-defined": Status.PASS,
        "deployment.deployment-strategy.zero-downtime-deployment": Status.PASS,
        "deployment.rollback.previous-versions-retained": Status.PASS,
    }
    assert results["infrastructure.compute.auto-scaling-configured"].fields == {
        "min_instances": 3,
        "max_instances": 12,
    }
    assert results["security.authorization.api-rate-limiting-enabled"].fields == {
        "default_limit_per_minute": 600
    }
    assert results["deployment.deployment-strategy.deployment-strategy-defined"].fields == {
        "strategy": "rolling"
    }
    assert results["deployment.rollback.previous-versions-retained"].fields == {"count": 5}
    zones = results["infrastructure.compute.multiple-availability-zones"]
    assert zones.evidence[0].location == "k8s/deployment.yaml:19"
    assert "PodDisruptionBudget api" in zones.message


def test_no_kubernetes_files_no_opinion(tmp_path: Path) -> None:
    assert scan(tmp_path, {"README.md": "# api\n", "config/app.yaml": "port: 8080\n"}) == {}


def test_unreadable_manifest_turns_passes_into_unknown(tmp_path: Path) -> None:
    results = scan(tmp_path, {**GOOD, "k8s/worker.yaml": BROKEN_DEPLOYMENT})
    probes = results["infrastructure.compute.health-checks-configured"]
    assert probes.status is Status.UNKNOWN
    assert "k8s/worker.yaml:5" in probes.message
    # the broken file holds a Deployment, not an Ingress: edge items stay decided
    assert results["security.network-security.cors-properly-configured"].status is Status.PASS


def test_only_unreadable_manifests_are_unknown_not_silent(tmp_path: Path) -> None:
    results = scan(tmp_path, {"k8s/worker.yaml": BROKEN_DEPLOYMENT})
    resources = results["infrastructure.compute.resource-limits-set"]
    assert resources.status is Status.UNKNOWN
    assert resources.evidence[0].path == "k8s/worker.yaml"
    assert "security.network-security.cors-properly-configured" not in results


# --------------------------------------------------------------------------- infrastructure


def test_autoscaling_missing_and_cpu_without_requests(tmp_path: Path) -> None:
    no_hpa = edit(GOOD, "k8s/policy.yaml", "kind: HorizontalPodAutoscaler", "kind: Dummy")
    result = scan(tmp_path / "a", no_hpa)["infrastructure.compute.auto-scaling-configured"]
    assert result.status is Status.FAIL
    assert "Deployment api has no HorizontalPodAutoscaler" in result.message
    assert result.evidence[0].location == "k8s/deployment.yaml:7"
    assert result.remediation and "name: api" in result.remediation
    assert "kind: HorizontalPodAutoscaler" in result.remediation

    no_cpu = edit(GOOD, "k8s/deployment.yaml", "{cpu: 250m, memory: 256Mi}", "{memory: 256Mi}")
    results = scan(tmp_path / "b", no_cpu)
    result = results["infrastructure.compute.auto-scaling-configured"]
    assert result.status is Status.FAIL and "no CPU request" in result.message
    assert results["infrastructure.compute.resource-limits-set"].status is Status.FAIL


def test_resource_limits_fail_and_limit_range_defaults(tmp_path: Path) -> None:
    files = edit(GOOD, "k8s/deployment.yaml", "limits: {memory: 256Mi}", "limits: {}")
    result = scan(tmp_path / "a", files)["infrastructure.compute.resource-limits-set"]
    assert result.status is Status.FAIL
    assert "container app has no memory limit" in result.message
    assert result.evidence[0].location == "k8s/deployment.yaml:33"
    assert result.remediation and "limits:\n    memory: 256Mi" in result.remediation

    limit_range = """\
    apiVersion: v1
    kind: LimitRange
    metadata: {name: defaults, namespace: shop}
    spec:
      limits:
        - type: Container
          default: {memory: 512Mi}
    """
    results = scan(tmp_path / "b", {**files, "k8s/limits.yaml": limit_range})
    assert results["infrastructure.compute.resource-limits-set"].status is Status.PASS


def test_missing_probes_fail_with_a_probe_snippet(tmp_path: Path) -> None:
    files = edit(GOOD, "k8s/deployment.yaml", "livenessProbe:", "startupProbe:")
    result = scan(tmp_path, files)["infrastructure.compute.health-checks-configured"]
    assert result.status is Status.FAIL
    assert "Deployment api container app has no liveness probe" in result.message
    assert result.remediation and "livenessProbe:\n  httpGet:" in result.remediation
    assert "port: 8080" in result.remediation


def test_single_replica_and_no_zone_spread_fail(tmp_path: Path) -> None:
    files = edit(GOOD, "k8s/policy.yaml", "minReplicas: 3", "minReplicas: 1")
    result = scan(tmp_path / "a", files)["infrastructure.compute.multiple-availability-zones"]
    assert result.status is Status.FAIL
    assert "runs 1 pod (HorizontalPodAutoscaler api minimum)" in result.message

    files = edit(
        GOOD, "k8s/deployment.yaml", "topology.kubernetes.io/zone", "kubernetes.io/hostname"
    )
    result = scan(tmp_path / "b", files)["infrastructure.compute.multiple-availability-zones"]
    assert result.status is Status.FAIL
    assert "no topologySpreadConstraints or anti-affinity on zones" in result.message
    assert result.remediation and "topologyKey: topology.kubernetes.io/zone" in result.remediation


def test_load_balancer_service_passes_and_cluster_ip_only_is_silent(tmp_path: Path) -> None:
    only_service = {"k8s/deployment.yaml": DEPLOYMENT, "k8s/edge.yaml": EDGE.split("---")[1]}
    results = scan(tmp_path / "a", only_service)
    assert "infrastructure.networking.load-balancer-configured" not in results

    lb = {
        **only_service,
        "k8s/edge.yaml": only_service["k8s/edge.yaml"].replace(
            "spec:\n", "spec:\n  type: LoadBalancer\n", 1
        ),
    }
    result = scan(tmp_path / "b", lb)["infrastructure.networking.load-balancer-configured"]
    assert result.status is Status.PASS
    assert "Service api is an external LoadBalancer for api" in result.message


def test_tls_missing_uncovered_and_unmanaged(tmp_path: Path) -> None:
    no_tls = edit(
        GOOD,
        "k8s/edge.yaml",
        "  tls:\n    - hosts: [api.example.com]\n      secretName: api-tls\n",
        "",
    )
    result = scan(tmp_path / "a", no_tls)[
        "infrastructure.networking.ssl-tls-certificates-installed"
    ]
    assert result.status is Status.FAIL
    assert (
        "Ingress api has no tls section: api.example.com served over plain HTTP" in result.message
    )
    assert result.remediation and "cert-manager.io/cluster-issuer" in result.remediation

    other_host = edit(GOOD, "k8s/edge.yaml", "hosts: [api.example.com]", "hosts: [www.example.com]")
    result = scan(tmp_path / "b", other_host)[
        "infrastructure.networking.ssl-tls-certificates-installed"
    ]
    assert result.status is Status.FAIL and "no certificate for api.example.com" in result.message

    unmanaged = edit(GOOD, "k8s/edge.yaml", "cert-manager.io/cluster-issuer", "example.com/owner")
    result = scan(tmp_path / "c", unmanaged)[
        "infrastructure.networking.ssl-tls-certificates-installed"
    ]
    assert result.status is Status.UNKNOWN
    assert "no cert-manager issuer or Certificate renews it" in result.message


def test_network_policies_missing_or_open(tmp_path: Path) -> None:
    files = {"k8s/deployment.yaml": DEPLOYMENT}
    result = scan(tmp_path / "a", files)["infrastructure.networking.firewall-rules-reviewed"]
    assert result.status is Status.FAIL
    assert "Deployment api is selected by no NetworkPolicy" in result.message
    assert result.remediation and "name: default-deny-ingress" in result.remediation

    open_policy = """\
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: allow-all, namespace: shop}
    spec:
      podSelector: {}
      ingress: [{}]
    """
    result = scan(tmp_path / "b", {**files, "k8s/np.yaml": open_policy})[
        "infrastructure.networking.firewall-rules-reviewed"
    ]
    assert result.status is Status.FAIL and "lets anything reach" in result.message


# --------------------------------------------------------------------------- security: the edge


def test_https_redirect_turned_off_fails(tmp_path: Path) -> None:
    files = edit(
        GOOD,
        "k8s/edge.yaml",
        "    cert-manager.io/cluster-issuer: letsencrypt-prod\n",
        "    cert-manager.io/cluster-issuer: letsencrypt-prod\n"
        '    nginx.ingress.kubernetes.io/ssl-redirect: "false"\n',
    )
    result = scan(tmp_path, files)["security.network-security.https-enforced"]
    assert result.status is Status.FAIL
    assert 'turns the HTTPS redirect off (ssl-redirect: "false")' in result.message
    assert result.evidence[0].location == "k8s/edge.yaml:18"


def test_https_on_alb_without_redirect_fails_and_with_redirect_is_left_to_live_checks(
    tmp_path: Path,
) -> None:
    alb = """\
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata:
      name: api
      annotations:
        alb.ingress.kubernetes.io/certificate-arn: arn:aws:acm:eu-west-1:123456789012:certificate/abc
    spec:
      ingressClassName: alb
      rules: [{host: api.example.com}]
    """
    result = scan(tmp_path / "a", {"k8s/ingress.yaml": alb})
    assert result["security.network-security.https-enforced"].status is Status.FAIL
    assert result["infrastructure.networking.ssl-tls-certificates-installed"].status is Status.PASS
    assert "security.network-security.security-headers-configured" not in result

    redirect = alb.replace(
        "    alb.ingress", "    alb.ingress.kubernetes.io/ssl-redirect: '443'\n    alb.ingress", 1
    )
    result = scan(tmp_path / "b", {"k8s/ingress.yaml": redirect})
    assert "security.network-security.https-enforced" not in result


def test_exposed_database_and_admin_path_fail(tmp_path: Path) -> None:
    postgres = """\
    apiVersion: v1
    kind: Service
    metadata: {name: orders-db, namespace: shop}
    spec:
      type: LoadBalancer
      selector: {app: postgres}
      ports: [{port: 5432}]
    """
    result = scan(tmp_path / "a", {**GOOD, "k8s/db.yaml": postgres})[
        "security.network-security.internal-services-not-exposed"
    ]
    assert result.status is Status.FAIL
    assert "Service orders-db looks internal (port 5432 (PostgreSQL))" in result.message
    assert result.remediation and "type: ClusterIP" in result.remediation

    internal = postgres.replace(
        "metadata: {name: orders-db, namespace: shop}",
        "metadata:\n      name: orders-db\n      namespace: shop\n      annotations:\n"
        "        networking.gke.io/load-balancer-type: Internal",
    )
    result = scan(tmp_path / "b", {**GOOD, "k8s/db.yaml": internal})[
        "security.network-security.internal-services-not-exposed"
    ]
    assert result.status is Status.PASS

    admin = edit(GOOD, "k8s/edge.yaml", "          - path: /\n", "          - path: /admin\n")
    result = scan(tmp_path / "c", admin)["security.network-security.internal-services-not-exposed"]
    assert result.status is Status.FAIL
    assert "publishes /admin → api without authentication" in result.message


def test_rate_limit_missing_fails_and_traefik_middleware_passes(tmp_path: Path) -> None:
    files = edit(GOOD, "k8s/edge.yaml", '    nginx.ingress.kubernetes.io/limit-rpm: "600"\n', "")
    result = scan(tmp_path / "a", files)["security.authorization.api-rate-limiting-enabled"]
    assert result.status is Status.FAIL
    assert "Ingress api has no rate limit" in result.message
    assert (
        result.remediation and 'nginx.ingress.kubernetes.io/limit-rpm: "600"' in result.remediation
    )

    traefik = """\
    apiVersion: traefik.io/v1alpha1
    kind: Middleware
    metadata: {name: ratelimit, namespace: shop}
    spec:
      rateLimit: {average: 20, period: 1s, burst: 50}
    ---
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata:
      name: api
      namespace: shop
      annotations:
        traefik.ingress.kubernetes.io/router.middlewares: shop-ratelimit@kubernetescrd
    spec:
      ingressClassName: traefik
      rules: [{host: api.example.com}]
    """
    result = scan(tmp_path / "b", {"k8s/edge.yaml": traefik})[
        "security.authorization.api-rate-limiting-enabled"
    ]
    assert result.status is Status.PASS
    assert result.fields == {"default_limit_per_minute": 1200}


def test_cors_wildcard_with_credentials_fails(tmp_path: Path) -> None:
    files = edit(
        GOOD,
        "k8s/edge.yaml",
        '    nginx.ingress.kubernetes.io/cors-allow-origin: "https://app.example.com"\n',
        "",
    )
    result = scan(tmp_path / "a", files)["security.network-security.cors-properly-configured"]
    assert result.status is Status.FAIL
    assert "allows any origin (the default when cors-allow-origin is unset)" in result.message
    assert "together with credentials" in result.message

    no_cors = edit(
        GOOD, "k8s/edge.yaml", '    nginx.ingress.kubernetes.io/enable-cors: "true"\n', ""
    )
    assert "security.network-security.cors-properly-configured" not in scan(tmp_path / "b", no_cors)


def test_security_headers_missing_and_from_custom_headers_configmap(tmp_path: Path) -> None:
    lines = EDGE.split("\n")
    start = next(i for i, line in enumerate(lines) if "configuration-snippet" in line)
    bare = "\n".join(lines[:start] + lines[start + 4 :])
    result = scan(tmp_path / "a", {**GOOD, "k8s/edge.yaml": bare})[
        "security.network-security.security-headers-configured"
    ]
    assert result.status is Status.FAIL
    assert "X-Content-Type-Options, X-Frame-Options, Referrer-Policy" in result.message
    assert (
        result.remediation and "add-headers: ingress-nginx/security-headers" in result.remediation
    )

    custom = bare.replace(
        "    cert-manager.io/cluster-issuer: letsencrypt-prod\n",
        "    cert-manager.io/cluster-issuer: letsencrypt-prod\n"
        "    nginx.ingress.kubernetes.io/custom-headers: shop/security-headers\n",
    )
    headers = """\
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: security-headers, namespace: shop}
    data:
      X-Content-Type-Options: nosniff
      Content-Security-Policy: "frame-ancestors 'none'"
      Referrer-Policy: no-referrer
    """
    results = scan(tmp_path / "b", {**GOOD, "k8s/edge.yaml": custom, "k8s/headers.yaml": headers})
    assert results["security.network-security.security-headers-configured"].status is Status.PASS


# --------------------------------------------------------------------------- security: identity


def test_service_account_default_and_cluster_admin_fail(tmp_path: Path) -> None:
    files = edit(GOOD, "k8s/deployment.yaml", "      serviceAccountName: api\n", "")
    result = scan(tmp_path / "a", files)[
        "security.secrets-management.service-accounts-minimal-permissions"
    ]
    assert result.status is Status.FAIL
    assert "runs as the namespace's default ServiceAccount" in result.message
    assert "mounts an API token" in result.message
    assert result.remediation and "automountServiceAccountToken: false" in result.remediation

    binding = """\
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRoleBinding
    metadata: {name: api-admin}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
    subjects:
      - {kind: ServiceAccount, name: api, namespace: shop}
    """
    result = scan(tmp_path / "b", {**GOOD, "k8s/rbac.yaml": binding})[
        "security.secrets-management.service-accounts-minimal-permissions"
    ]
    assert result.status is Status.FAIL
    assert "ClusterRoleBinding api-admin binds cluster-admin cluster-wide" in result.message


def test_human_access_broad_group_fails_and_scoped_passes(tmp_path: Path) -> None:
    scoped = """\
    apiVersion: rbac.authorization.k8s.io/v1
    kind: RoleBinding
    metadata: {name: oncall-view, namespace: shop}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
    subjects:
      - {kind: Group, name: shop-oncall, apiGroup: rbac.authorization.k8s.io}
    """
    result = scan(tmp_path / "a", {**GOOD, "k8s/rbac.yaml": scoped})[
        "operations.access-control.production-access-restricted"
    ]
    assert result.status is Status.PASS
    assert "gives view to Group shop-oncall in namespace shop" in result.message

    broad = scoped.replace("name: shop-oncall", "name: system:authenticated").replace(
        "name: view", "name: edit"
    )
    result = scan(tmp_path / "b", {**GOOD, "k8s/rbac.yaml": broad})[
        "operations.access-control.production-access-restricted"
    ]
    assert result.status is Status.FAIL
    assert "gives edit to system:authenticated" in result.message
    assert "operations.access-control.production-access-restricted" not in scan(
        tmp_path / "c", GOOD
    )


def test_committed_secret_fails_without_showing_its_value(tmp_path: Path) -> None:
    secret = """\
    apiVersion: v1
    kind: Secret
    metadata: {name: api-db, namespace: shop}
    stringData:
      url: postgres://app:Sup3rS3cretValue@db:5432/app
    """
    result = scan(tmp_path / "a", {**GOOD, "k8s/secret.yaml": secret})[
        "security.secrets-management.secrets-in-secure-vault"
    ]
    assert result.status is Status.FAIL
    assert "Secret api-db is committed with 1 value(s) (keys: url)" in result.message
    assert result.evidence[0].location == "k8s/secret.yaml:4"
    text = repr(result)
    assert "Sup3rS3cretValue" not in text
    assert result.remediation and "kind: ExternalSecret" in result.remediation


def test_placeholder_secret_is_not_a_committed_value(tmp_path: Path) -> None:
    placeholder = """\
    apiVersion: v1
    kind: Secret
    metadata: {name: api-db, namespace: shop}
    stringData:
      url: ${DATABASE_URL}
      spare: ""
    """
    result = scan(tmp_path, {**GOOD, "k8s/secret.yaml": placeholder})[
        "security.secrets-management.secrets-in-secure-vault"
    ]
    assert result.status is Status.PASS


def test_secrets_from_nowhere_are_unknown(tmp_path: Path) -> None:
    files = edit(GOOD, "k8s/policy.yaml", "kind: ExternalSecret", "kind: SomethingElse")
    result = scan(tmp_path, files)["security.secrets-management.secrets-in-secure-vault"]
    assert result.status is Status.UNKNOWN
    assert "reads Secret api-db (env), which is created outside these manifests" in result.message


# --------------------------------------------------------------------------- deployment


def test_recreate_strategy_fails_both_strategy_items(tmp_path: Path) -> None:
    files = edit(
        GOOD,
        "k8s/deployment.yaml",
        "    type: RollingUpdate\n    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}\n",
        "    type: Recreate\n",
    )
    results = scan(tmp_path, files)
    strategy = results["deployment.deployment-strategy.deployment-strategy-defined"]
    assert strategy.status is Status.FAIL and "uses Recreate" in strategy.message
    assert strategy.evidence[0].location == "k8s/deployment.yaml:10"
    assert strategy.remediation and "type: RollingUpdate" in strategy.remediation
    downtime = results["deployment.deployment-strategy.zero-downtime-deployment"]
    assert downtime.status is Status.FAIL


def test_argo_rollout_canary_is_the_strategy(tmp_path: Path) -> None:
    rollout = """\
    apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    metadata: {name: api, namespace: shop}
    spec:
      replicas: 3
      workloadRef: {apiVersion: apps/v1, kind: Deployment, name: api}
      strategy:
        canary:
          steps: [{setWeight: 20}, {pause: {duration: 5m}}]
    """
    files = {**GOOD, "k8s/rollout.yaml": rollout}
    files = edit(
        files, "k8s/policy.yaml", "kind: Deployment, name: api}", "kind: Rollout, name: api}"
    )
    result = scan(tmp_path, files)["deployment.deployment-strategy.deployment-strategy-defined"]
    assert result.status is Status.PASS
    assert result.fields == {"strategy": "canary"}
    assert "Argo Rollouts canary" in result.message


def test_zero_downtime_needs_replicas_readiness_and_pdb(tmp_path: Path) -> None:
    files = {"k8s/deployment.yaml": DEPLOYMENT.replace("replicas: 3", "replicas: 1")}
    files = edit(files, "k8s/deployment.yaml", "readinessProbe:", "startupProbe:")
    result = scan(tmp_path, files)["deployment.deployment-strategy.zero-downtime-deployment"]
    assert result.status is Status.FAIL
    for part in ("has no readiness probe", "runs 1 pod", "no PodDisruptionBudget"):
        assert part in result.message
    assert result.remediation and "kind: PodDisruptionBudget" in result.remediation


def test_revision_history_default_and_mutable_tags(tmp_path: Path) -> None:
    files = edit(GOOD, "k8s/deployment.yaml", "  revisionHistoryLimit: 5\n", "")
    result = scan(tmp_path / "a", files)["deployment.rollback.previous-versions-retained"]
    assert result.status is Status.PASS
    assert "revisionHistoryLimit unset: the Kubernetes default" in result.message
    assert result.fields == {"count": 10}

    latest = edit(GOOD, "k8s/deployment.yaml", "api:1.4.2", "api:latest")
    result = scan(tmp_path / "b", latest)["deployment.rollback.previous-versions-retained"]
    assert result.status is Status.FAIL and "mutable tag" in result.message

    none = edit(GOOD, "k8s/deployment.yaml", "revisionHistoryLimit: 5", "revisionHistoryLimit: 0")
    result = scan(tmp_path / "c", none)["deployment.rollback.previous-versions-retained"]
    assert result.status is Status.FAIL and "no earlier revision" in result.message


# --------------------------------------------------------------------------- environment parity


def overlays(staging_extra: str = "", production_extra: str = "") -> dict[str, str]:
    return {
        "k8s/base/kustomization.yaml": "resources: [deployment.yaml, edge.yaml, policy.yaml]\n",
        "k8s/base/deployment.yaml": DEPLOYMENT,
        "k8s/base/edge.yaml": EDGE,
        "k8s/base/policy.yaml": POLICY,
        "k8s/overlays/staging/kustomization.yaml": "resources: [../../base]\nnameSuffix: -staging\n"
        + staging_extra,
        "k8s/overlays/production/kustomization.yaml": "resources: [../../base]\n"
        + production_extra,
    }


@needs_kustomize
def test_overlays_from_one_base_mirror_production(tmp_path: Path) -> None:
    results = scan(tmp_path, overlays(production_extra="replicas: [{name: api, count: 6}]\n"))
    mirrors = results["deployment.environment-parity.staging-mirrors-production"]
    assert mirrors.status is Status.PASS, mirrors.message
    assert "expected size differences: api replicas 3→6" in mirrors.message
    iac = results["deployment.environment-parity.same-infrastructure-as-code"]
    assert iac.status is Status.PASS
    assert "both build on k8s/base" in iac.message


@needs_kustomize
def test_staging_missing_policies_is_drift(tmp_path: Path) -> None:
    files = overlays(
        staging_extra="patches:\n  - target: {kind: NetworkPolicy}\n"
        "    patch: |\n      $patch: delete\n      apiVersion: networking.k8s.io/v1\n"
        "      kind: NetworkPolicy\n      metadata: {name: any}\n"
    )
    result = scan(tmp_path, files)["deployment.environment-parity.staging-mirrors-production"]
    assert result.status is Status.FAIL
    assert "NetworkPolicy default-deny exists only in production" in result.message


def test_copied_environment_folders_are_not_the_same_code(tmp_path: Path) -> None:
    staging = DEPLOYMENT.replace(
        "          livenessProbe:\n            httpGet: {path: /livez, port: 8080}\n", ""
    )
    results = scan(
        tmp_path,
        {"deploy/production/app.yaml": DEPLOYMENT, "deploy/staging/app.yaml": staging},
    )
    mirrors = results["deployment.environment-parity.staging-mirrors-production"]
    assert mirrors.status is Status.FAIL
    assert "container app differs (staging lacks livenessProbe)" in mirrors.message
    iac = results["deployment.environment-parity.same-infrastructure-as-code"]
    assert iac.status is Status.FAIL and "separate copies" in iac.message


def test_production_without_staging_fails_and_unrendered_is_unknown(tmp_path: Path) -> None:
    files = overlays()
    del files["k8s/overlays/staging/kustomization.yaml"]
    results = scan(tmp_path / "a", files, render=False)
    mirrors = results["deployment.environment-parity.staging-mirrors-production"]
    assert mirrors.status is Status.FAIL and "no staging counterpart" in mirrors.message
    assert "deployment.environment-parity.same-infrastructure-as-code" not in results
    # production was assembled without kustomize: what would pass is unknown
    probes = results["infrastructure.compute.health-checks-configured"]
    assert probes.status is Status.UNKNOWN
    assert "overlay k8s/overlays/production not rendered" in probes.message


# --------------------------------------------------------------------------- helm without helm

CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: api\nversion: 0.1.0\n",
    "chart/values.yaml": """\
        replicaCount: 1
        image: {repository: ghcr.io/acme/api, tag: ""}
        resources: {}
        autoscaling: {enabled: false, minReplicas: 1, maxReplicas: 4}
        readinessProbe: {httpGet: {path: /readyz, port: http}}
        """,
    "chart/values-production.yaml": """\
        autoscaling: {enabled: true, minReplicas: 3, maxReplicas: 9}
        livenessProbe: {httpGet: {path: /livez, port: http}}
        """,
    "chart/values-staging.yaml": "replicaCount: 1\n",
    "chart/templates/deployment.yaml": """\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .Release.Name }}
        spec:
          {{- if not .Values.autoscaling.enabled }}
          replicas: {{ .Values.replicaCount }}
          {{- end }}
          template:
            spec:
              containers:
                - name: api
                  livenessProbe:
                    {{- toYaml .Values.livenessProbe | nindent 12 }}
                  readinessProbe:
                    {{- toYaml .Values.readinessProbe | nindent 12 }}
                  resources:
                    {{- toYaml .Values.resources | nindent 12 }}
        """,
    "chart/templates/hpa.yaml": """\
        {{- if .Values.autoscaling.enabled }}
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata:
          name: {{ .Release.Name }}
        spec:
          minReplicas: {{ .Values.autoscaling.minReplicas }}
          maxReplicas: {{ .Values.autoscaling.maxReplicas }}
        {{- end }}
        """,
}


@pytest.mark.skipif(shutil.which("helm") is not None, reason="helm renders the chart instead")
def test_unrendered_chart_is_decided_from_production_values(tmp_path: Path) -> None:
    results = scan(tmp_path, CHART)
    scaling = results["infrastructure.compute.auto-scaling-configured"]
    assert scaling.status is Status.PASS
    assert scaling.fields == {"min_instances": 3, "max_instances": 9}
    assert scaling.evidence[0].location == "chart/values-production.yaml:1"
    assert results["infrastructure.compute.health-checks-configured"].status is Status.PASS
    resources = results["infrastructure.compute.resource-limits-set"]
    assert resources.status is Status.FAIL
    assert "chart/values.yaml" in resources.message and "CPU request" in resources.message
    parity = results["deployment.environment-parity.staging-mirrors-production"]
    assert parity.status is Status.FAIL
    assert "HorizontalPodAutoscaler rendered only in production" in parity.message
    assert "Deployment livenessProbe set only in production" in parity.message
    same = results["deployment.environment-parity.same-infrastructure-as-code"]
    assert same.status is Status.PASS


@pytest.mark.skipif(shutil.which("helm") is not None, reason="helm renders the chart instead")
def test_chart_secret_fed_from_committed_values_fails(tmp_path: Path) -> None:
    files = {
        **CHART,
        "chart/values.yaml": textwrap.dedent(CHART["chart/values.yaml"])
        + "db:\n  password: hunter2-in-values\n",
        "chart/templates/secret.yaml": """\
            apiVersion: v1
            kind: Secret
            metadata:
              name: {{ .Release.Name }}-db
            stringData:
              DB_PASSWORD: {{ .Values.db.password | quote }}
            """,
    }
    result = scan(tmp_path, files)["security.secrets-management.secrets-in-secure-vault"]
    assert result.status is Status.FAIL
    assert "Secret takes db.password from a committed values file" in result.message
    assert result.evidence[0].location == "chart/values.yaml:7"
    assert "hunter2" not in repr(result)
