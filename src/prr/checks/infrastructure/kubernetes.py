"""Infrastructure items decided from Kubernetes manifests, overlays and charts.

Each check judges the objects that reach production (the production overlay or
values, plus shared manifests; every environment when none is named
production). Unreadable manifests that could hold the objects a check needs
turn a pass into unknown. The helpers at the top are shared with the security
and deployment Kubernetes checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from prr.checks.registry import CheckContext, check
from prr.collectors.kubernetes import (
    AUTOSCALER_KINDS,
    LONG_RUNNING_KINDS,
    ROUTE_KINDS,
    SCALABLE_KINDS,
    WORKLOAD_KINDS,
    HelmChart,
    HelmValues,
    K8sObject,
    KubernetesFacts,
    Setting,
    as_list,
    as_map,
    dig,
    values_ingress,
)
from prr.model.evidence import Evidence, Result

AUTO_SCALING = "infrastructure.compute.auto-scaling-configured"
SCALING_TRIGGERS = "performance.capacity-planning.scaling-triggers-defined"
RESOURCE_LIMITS = "infrastructure.compute.resource-limits-set"
HEALTH_CHECKS = "infrastructure.compute.health-checks-configured"
MULTI_AZ = "infrastructure.compute.multiple-availability-zones"
LOAD_BALANCER = "infrastructure.networking.load-balancer-configured"
TLS_CERTS = "infrastructure.networking.ssl-tls-certificates-installed"
FIREWALL = "infrastructure.networking.firewall-rules-reviewed"

ZONE_KEYS = frozenset({"topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"})
ENTRY_KINDS = ROUTE_KINDS | {"Service", "Gateway"}
CERT_MANAGER_ANNOTATIONS = (
    "cert-manager.io/cluster-issuer",
    "cert-manager.io/issuer",
    "kubernetes.io/tls-acme",
)
CLOUD_CERT_ANNOTATIONS = (
    "alb.ingress.kubernetes.io/certificate-arn",
    "networking.gke.io/managed-certificates",
    "ingress.gcp.kubernetes.io/pre-shared-cert",
    "service.beta.kubernetes.io/aws-load-balancer-ssl-cert",
    "service.beta.kubernetes.io/do-loadbalancer-certificate-id",
)
INTERNAL_LB_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-internal": ("true", "0.0.0.0/0"),
    "service.beta.kubernetes.io/aws-load-balancer-scheme": ("internal",),
    "networking.gke.io/load-balancer-type": ("internal",),
    "cloud.google.com/load-balancer-type": ("internal",),
    "service.beta.kubernetes.io/azure-load-balancer-internal": ("true",),
    "service.beta.kubernetes.io/oci-load-balancer-internal": ("true",),
}
DATASTORE_IMAGE = re.compile(
    r"(?:^|/)(postgres|postgis|mysql|mariadb|mongo|redis|valkey|memcached|rabbitmq|kafka|"
    r"zookeeper|elasticsearch|opensearch|etcd|cassandra|scylla|clickhouse|cockroach|nats|minio)"
    r"[^/]*$",
    re.I,
)
"""Images of stateful datastores, which scale by other means than an HPA."""
MAX_LISTED = 8
MAX_EVIDENCE = 20

# --------------------------------------------------------------------------- shared helpers


@dataclass(frozen=True)
class Finding:
    """One statement about one object, with where it was found."""

    text: str
    evidence: Evidence


def where(path: str | None, line: int | None) -> str:
    """``path:line`` for messages."""
    if not path:
        return "?"
    return f"{path}:{line}" if line else path


def label(obj: K8sObject) -> str:
    """``Deployment api`` plus the environment it was rendered for, if any."""
    return f"{obj.kind} {obj.name}" + (f" [{obj.environment}]" if obj.environment else "")


def found(obj: K8sObject, text: str, *keys: str | int) -> Finding:
    """A finding located at ``keys`` of ``obj``; the location is appended to the text."""
    path, line = obj.locate(*keys)
    return Finding(f"{text} ({where(path, line)})", Evidence(text, path, line))


def found_in_container(
    obj: K8sObject, container: str, text: str, *keys: str | int, init: bool = False
) -> Finding:
    path, line = obj.locate_container(container, *keys, init=init)
    return Finding(f"{text} ({where(path, line)})", Evidence(text, path, line))


def found_at(text: str, path: str | None, line: int | None) -> Finding:
    return Finding(f"{text} ({where(path, line)})", Evidence(text, path or None, line))


def listing(items: Sequence[object], limit: int = MAX_LISTED) -> str:
    """``a; b; c`` with a count of the rest."""
    shown = "; ".join(str(i) for i in items[:limit])
    rest = len(items) - limit
    return shown + (f"; and {rest} more" if rest > 0 else "")


def conclude(
    ctx: CheckContext,
    item_id: str,
    facts: KubernetesFacts,
    *,
    kinds: Iterable[str],
    objects: Sequence[K8sObject],
    failures: Sequence[Finding],
    passes: Sequence[Finding],
    unknowns: Sequence[Finding] = (),
    fail_lead: str,
    pass_lead: str,
    unknown_lead: str = "Could not decide from the manifests",
    remediation: str | None = None,
    fields: dict[str, object] | None = None,
    note: str = "",
) -> Result | None:
    """One result from findings: fail beats unknown beats pass; nothing found is no opinion.

    Unreadable evidence that may hold ``kinds`` for these objects' environments
    makes a would-be pass unknown (and is named beside a failure).
    """
    blocked = facts.unreadable_for(kinds, objects)
    unread = f" Not read: {listing(blocked, 4)}." if blocked else ""
    tail = f" {note}" if note else ""
    if failures:
        evidence = [f.evidence for f in failures][:MAX_EVIDENCE]
        message = f"{fail_lead}: {listing([f.text for f in failures])}.{unread}"
        return ctx.failed(
            item_id, message + tail, *evidence, remediation=remediation, fields=fields or {}
        )
    if unknowns:
        evidence = [f.evidence for f in [*unknowns, *passes]][:MAX_EVIDENCE]
        message = f"{unknown_lead}: {listing([f.text for f in unknowns])}.{unread}"
        return ctx.unknown(item_id, message + tail, *evidence, fields=fields or {})
    if passes:
        evidence = [f.evidence for f in passes][:MAX_EVIDENCE]
        message = f"{pass_lead}: {listing([f.text for f in passes])}."
        if blocked:
            return ctx.unknown(
                item_id,
                f"{message} But other Kubernetes evidence could not be read, so this is not"
                f" a pass: {listing(blocked, 4)}.",
                *evidence,
                fields=fields or {},
            )
        return ctx.passed(item_id, message + tail, *evidence, fields=fields or {})
    if blocked:
        return ctx.unknown(
            item_id,
            f"Kubernetes evidence for this could not be read: {listing(blocked, 4)}.",
            *[Evidence(str(u.reason), u.path, u.line) for u in blocked[:MAX_EVIDENCE]],
        )
    return None


def charts_to_judge(facts: KubernetesFacts) -> list[tuple[HelmChart, HelmValues]]:
    """Charts helm did not render, with the values that reach production."""
    out = []
    for chart in facts.charts:
        if chart.rendered:
            continue
        values = chart.values_for("production")
        if values is not None:
            out.append((chart, values))
    return out


def chart_label(chart: HelmChart, values: HelmValues) -> str:
    """``chart api (charts/api/values-production.yaml)``: the chart and its deciding values."""
    return f"chart {chart.name} ({values.files[-1].path if values.files else chart.path})"


def setting_where(setting: Setting, chart: HelmChart) -> tuple[str, int | None]:
    return setting.path or chart.path, setting.line


def chart_workload_kinds(chart: HelmChart, kinds: Iterable[str]) -> list[str]:
    present = set(kinds) & chart.kinds
    first = [k for k in ("Deployment", "StatefulSet", "Rollout", "DaemonSet") if k in present]
    return first + sorted(present - set(first))


def min_replicas(facts: KubernetesFacts, workload: K8sObject) -> tuple[int | None, str]:
    """The fewest pods the workload runs: the autoscaler's minimum, else ``spec.replicas``."""
    for scaler in facts.autoscalers_for(workload):
        low, _ = scaler_bounds(scaler)
        if low is not None:
            return low, f"{scaler.kind} {scaler.name} minimum"
    replicas = workload.replicas
    stated = workload.get("spec", "replicas") is not None
    return replicas, "replicas" if stated else "replicas (unset, default 1)"


def scaler_bounds(scaler: K8sObject) -> tuple[int | None, int | None]:
    """(min, max) replicas of an HPA or ScaledObject, with the API's defaults."""
    spec = as_map(scaler.get("spec"))
    if scaler.kind == "ScaledObject":
        low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
    else:
        low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
    return (
        low if isinstance(low, int) else None,
        high if isinstance(high, int) else None,
    )


def plural(count: int | None, word: str) -> str:
    if count is None:
        return f"? {word}s"
    return f"{count} {word}" + ("" if count == 1 else "s")


def datastore(workload: K8sObject) -> str | None:
    """The datastore image a workload runs (postgres, redis …), if any."""
    for container in workload.containers():
        image = str(container.get("image") or "").split("@", 1)[0].rsplit(":", 1)[0]
        if DATASTORE_IMAGE.search(image):
            return image
    return None


def pod_name_labels(workload: K8sObject) -> str:
    labels = workload.pod_labels
    if not labels:
        return "{app: " + workload.source_name + "}"
    key, value = next(iter(labels.items()))
    return "{" + f"{key}: {value}" + "}"


def edit_header(obj: K8sObject, *keys: str | int) -> str:
    path, _ = obj.locate(*keys)
    return f"# {path}: {obj.kind} {obj.source_name}"


# --------------------------------------------------------------------------- auto-scaling


def _metrics(scaler: K8sObject) -> list[str]:
    """What an autoscaler scales on, in words."""
    spec = as_map(scaler.get("spec"))
    if scaler.kind == "ScaledObject":
        return [
            f"KEDA {as_map(t).get('type')} trigger"
            for t in as_list(spec.get("triggers"))
            if as_map(t).get("type")
        ]
    if "targetCPUUtilizationPercentage" in spec:
        return [f"CPU {spec['targetCPUUtilizationPercentage']}%"]
    metrics = as_list(spec.get("metrics"))
    if not metrics:
        return ["CPU 80% (the default)"]
    out = []
    for metric in metrics:
        metric = as_map(metric)
        kind = str(metric.get("type", ""))
        body = as_map(metric.get(kind[:1].lower() + kind[1:]))
        name = body.get("name") or dig(body, "metric", "name") or kind
        target = as_map(body.get("target"))
        value = (
            target.get("averageUtilization")
            or body.get("targetAverageUtilization")
            or target.get("averageValue")
            or target.get("value")
            or body.get("targetAverageValue")
        )
        unit = "%" if "averageUtilization" in target or "targetAverageUtilization" in body else ""
        out.append(f"{name} {value}{unit}" if value is not None else str(name))
    return out


def _uses_cpu_utilization(scaler: K8sObject) -> bool:
    spec = as_map(scaler.get("spec"))
    if scaler.kind != "HorizontalPodAutoscaler":
        return False
    if "targetCPUUtilizationPercentage" in spec or not spec.get("metrics"):
        return True
    for metric in as_list(spec.get("metrics")):
        resource = as_map(as_map(metric).get("resource"))
        target = as_map(resource.get("target"))
        if resource.get("name") == "cpu" and (
            target.get("type") == "Utilization" or "targetAverageUtilization" in resource
        ):
            return True
    return False


def _hpa_snippet(workload: K8sObject) -> str:
    return f"""# add next to {workload.path} (and list it in the kustomization's resources)
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {workload.source_name}
spec:
  scaleTargetRef:
    apiVersion: {workload.api_version}
    kind: {workload.kind}
    name: {workload.source_name}
  minReplicas: 2
  maxReplicas: 10
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 70"""


@check(
    "infrastructure.kubernetes.autoscaling",
    items=[AUTO_SCALING, SCALING_TRIGGERS],
    needs=[KubernetesFacts],
)
def autoscaling(ctx: CheckContext) -> Iterator[Result]:
    """Every Deployment/StatefulSet/Rollout is scaled by an HPA or KEDA ScaledObject."""
    facts = ctx.get(KubernetesFacts)
    scope = facts.scope()
    workloads = facts.workloads(scope, SCALABLE_KINDS)
    failures: list[Finding] = []
    passes: list[Finding] = []
    unknowns: list[Finding] = []
    triggers: list[Finding] = []
    lows: list[int] = []
    highs: list[int] = []
    remediation = None
    for workload in workloads:
        scalers = facts.autoscalers_for(workload)
        if not scalers and workload.kind == "StatefulSet" and datastore(workload):
            continue  # databases and queues scale by other means; nothing to say here
        if not scalers:
            failures.append(
                found(
                    workload,
                    f"{label(workload)} has no HorizontalPodAutoscaler or ScaledObject"
                    f" (fixed at {plural(workload.replicas, 'replica')})",
                    "spec",
                    "replicas",
                )
            )
            remediation = remediation or _hpa_snippet(workload)
            continue
        scaler = scalers[0]
        low, high = scaler_bounds(scaler)
        if high is None or low is None:
            unknowns.append(found(scaler, f"{scaler.kind} {scaler.name} bounds are not literal"))
            continue
        if high <= low:
            failures.append(
                found(
                    scaler,
                    f"{scaler.kind} {scaler.name} has min {low} and max {high}: it cannot scale",
                    "spec",
                )
            )
            continue
        owner = facts.pod_template_owner(workload)
        no_cpu = [
            str(c.get("name"))
            for c in owner.containers()
            if not dig(c, "resources", "requests", "cpu")
            and not dig(c, "resources", "limits", "cpu")
        ]
        if _uses_cpu_utilization(scaler) and no_cpu:
            failures.append(
                found(
                    scaler,
                    f"{scaler.kind} {scaler.name} scales {workload.name} on CPU utilization but"
                    f" container {', '.join(no_cpu)} has no CPU request, so it cannot compute it",
                    "spec",
                )
            )
            continue
        lows.append(low)
        highs.append(high)
        metrics = _metrics(scaler)
        passes.append(
            found(
                scaler,
                f"{scaler.kind} {scaler.name} scales {label(workload)} between {low} and {high}",
                "spec",
            )
        )
        triggers.append(
            found(scaler, f"{scaler.kind} {scaler.name} scales on {', '.join(metrics)}", "spec")
        )
    if not workloads:
        for chart, values in charts_to_judge(facts):
            if not chart_workload_kinds(chart, SCALABLE_KINDS):
                continue
            name = chart_label(chart, values)
            hpa = chart.emitted(values, "HorizontalPodAutoscaler")
            keda = chart.emitted(values, "ScaledObject")
            if hpa.state == "set":
                low_s = chart.setting(values, "HorizontalPodAutoscaler", "minReplicas")
                high_s = chart.setting(values, "HorizontalPodAutoscaler", "maxReplicas")
                low_v = low_s.value if low_s.state == "set" else 1
                high_v = high_s.value
                if isinstance(low_v, int) and isinstance(high_v, int):
                    path, line = setting_where(high_s, chart)
                    if high_v > low_v:
                        lows.append(low_v)
                        highs.append(high_v)
                        passes.append(
                            found_at(f"{name} renders an HPA from {low_v} to {high_v}", path, line)
                        )
                    else:
                        failures.append(
                            found_at(f"{name}: HPA min {low_v} = max {high_v}", path, line)
                        )
                else:
                    path, line = setting_where(high_s, chart)
                    unknowns.append(found_at(f"{name}: HPA bounds not decidable", path, line))
            elif keda.state == "set":
                path, line = setting_where(keda, chart)
                unknowns.append(found_at(f"{name}: ScaledObject bounds not decidable", path, line))
            elif "unknown" in (hpa.state, keda.state):
                path, line = setting_where(hpa, chart)
                unknowns.append(
                    found_at(f"{name}: whether an HPA is rendered ({hpa.note})", path, line)
                )
            else:
                path, line = setting_where(hpa, chart)
                failures.append(found_at(f"{name} renders no autoscaler ({hpa.note})", path, line))
                remediation = remediation or (
                    f"# {values.files[-1].path if values.files else chart.path}\n"
                    "autoscaling:\n  enabled: true\n  minReplicas: 2\n  maxReplicas: 10\n"
                    "  targetCPUUtilizationPercentage: 70"
                )
    fields: dict[str, object] = {}
    if lows and min(lows) >= 1:
        fields["min_instances"] = min(lows)
    if highs:
        fields["max_instances"] = max(highs)
    kinds = SCALABLE_KINDS | AUTOSCALER_KINDS
    result = conclude(
        ctx,
        AUTO_SCALING,
        facts,
        kinds=kinds,
        objects=workloads,
        failures=failures,
        passes=passes,
        unknowns=unknowns,
        fail_lead="Not every workload is autoscaled",
        pass_lead="Every workload is autoscaled",
        remediation=remediation,
        fields=fields,
    )
    if result:
        yield result
    trigger_result = conclude(
        ctx,
        SCALING_TRIGGERS,
        facts,
        kinds=AUTOSCALER_KINDS,
        objects=workloads,
        failures=[],
        passes=triggers,
        fail_lead="",
        pass_lead="Scaling triggers are declared in the autoscalers",
    )
    if trigger_result and triggers:
        yield trigger_result


# --------------------------------------------------------------------------- resources


def _limit_range_defaults(facts: KubernetesFacts, workload: K8sObject) -> dict[str, bool]:
    """Which of cpu request, memory request, memory limit a LimitRange fills in."""
    out = {"cpu request": False, "memory request": False, "memory limit": False}
    for limit_range in facts.related(workload, ["LimitRange"]):
        for limit in as_list(limit_range.get("spec", "limits")):
            limit = as_map(limit)
            if limit.get("type", "Container") != "Container":
                continue
            default, request = as_map(limit.get("default")), as_map(limit.get("defaultRequest"))
            out["cpu request"] |= "cpu" in request or "cpu" in default
            out["memory request"] |= "memory" in request or "memory" in default
            out["memory limit"] |= "memory" in default
    return out


def missing_resources(container: dict[str, object], defaults: dict[str, bool]) -> list[str]:
    """What a container lacks of CPU request, memory request and memory limit."""
    requests = as_map(dig(container, "resources", "requests"))
    limits = as_map(dig(container, "resources", "limits"))
    missing = []
    if "cpu" not in requests and "cpu" not in limits and not defaults["cpu request"]:
        missing.append("CPU request")
    if "memory" not in requests and "memory" not in limits and not defaults["memory request"]:
        missing.append("memory request")
    if "memory" not in limits and not defaults["memory limit"]:
        missing.append("memory limit")
    return missing


@check("infrastructure.kubernetes.resources", items=[RESOURCE_LIMITS], needs=[KubernetesFacts])
def resources(ctx: CheckContext) -> Iterator[Result]:
    """Every container declares CPU and memory requests and a memory limit."""
    facts = ctx.get(KubernetesFacts)
    workloads = facts.workloads(facts.scope(), WORKLOAD_KINDS)
    failures: list[Finding] = []
    passes: list[Finding] = []
    unknowns: list[Finding] = []
    remediation = None
    for workload in workloads:
        owner = facts.pod_template_owner(workload)
        defaults = _limit_range_defaults(facts, workload)
        containers = [(c, False) for c in owner.containers()]
        containers += [(c, True) for c in owner.containers(init=True)]
        bad = False
        for container, init in containers:
            name = str(container.get("name"))
            missing = missing_resources(container, defaults)
            if missing:
                bad = True
                what = "init container" if init else "container"
                failures.append(
                    found_in_container(
                        owner,
                        name,
                        f"{label(workload)} {what} {name} has no {', no '.join(missing)}",
                        "resources",
                        init=init,
                    )
                )
                remediation = remediation or (
                    f"{edit_header(owner)}, container {name}\n"
                    "resources:\n  requests:\n    cpu: 250m\n    memory: 256Mi\n"
                    "  limits:\n    memory: 256Mi"
                )
        if containers and not bad:
            keys = (*(owner.pod_spec_keys or ()), "containers")
            passes.append(found(owner, f"{label(workload)} sets requests and memory limits", *keys))
    if not workloads:
        for chart, values in charts_to_judge(facts):
            for kind in chart_workload_kinds(chart, WORKLOAD_KINDS):
                setting = chart.setting(values, kind, "resources")
                path, line = setting_where(setting, chart)
                text = f"{chart_label(chart, values)}: {kind} resources"
                if setting.state == "unknown":
                    unknowns.append(found_at(f"{text} ({setting.note})", path, line))
                    continue
                value = as_map(setting.value) if setting.state == "set" else {}
                empty = dict.fromkeys(("cpu request", "memory request", "memory limit"), False)
                missing = missing_resources({"resources": value}, empty)
                if missing:
                    failures.append(found_at(f"{text} lack {', '.join(missing)}", path, line))
                    remediation = remediation or (
                        f"# {values.files[-1].path if values.files else chart.path}\n"
                        "resources:\n  requests:\n    cpu: 250m\n    memory: 256Mi\n"
                        "  limits:\n    memory: 256Mi"
                    )
                else:
                    passes.append(found_at(f"{text} set requests and a memory limit", path, line))
    result = conclude(
        ctx,
        RESOURCE_LIMITS,
        facts,
        kinds=WORKLOAD_KINDS | {"LimitRange"},
        objects=workloads,
        failures=failures,
        passes=passes,
        unknowns=unknowns,
        fail_lead="Containers without CPU/memory requests or memory limit",
        pass_lead="Every container sets CPU and memory requests and a memory limit",
        remediation=remediation,
    )
    if result:
        yield result


# --------------------------------------------------------------------------- probes


def probe_snippet(container: dict[str, object], *which: str) -> str:
    ports = [as_map(p).get("containerPort") for p in as_list(container.get("ports"))]
    port = next((p for p in ports if isinstance(p, int)), None)
    lines = []
    for probe in which:
        path = "/readyz" if probe == "readinessProbe" else "/livez"
        if port:
            lines.append(f"{probe}:\n  httpGet:\n    path: {path}\n    port: {port}")
        else:
            lines.append(f"{probe}:\n  exec:\n    command: [/bin/sh, -c, 'test -f /tmp/healthy']")
        lines[-1] += "\n  periodSeconds: 10\n  failureThreshold: 3"
    return "\n".join(lines)


@check("infrastructure.kubernetes.probes", items=[HEALTH_CHECKS], needs=[KubernetesFacts])
def probes(ctx: CheckContext) -> Iterator[Result]:
    """Every long-running container has a readiness and a liveness probe."""
    facts = ctx.get(KubernetesFacts)
    workloads = facts.workloads(facts.scope(), LONG_RUNNING_KINDS)
    failures: list[Finding] = []
    passes: list[Finding] = []
    unknowns: list[Finding] = []
    remediation = None
    for workload in workloads:
        owner = facts.pod_template_owner(workload)
        containers = owner.long_running_containers()
        bad = False
        for container, init in containers:
            name = str(container.get("name"))
            missing = [
                word
                for key, word in (("readinessProbe", "readiness"), ("livenessProbe", "liveness"))
                if not container.get(key)
            ]
            if missing:
                bad = True
                failures.append(
                    found_in_container(
                        owner,
                        name,
                        f"{label(workload)} container {name} has no {' and no '.join(missing)}"
                        " probe",
                        init=init,
                    )
                )
                keys = [k for k in ("readinessProbe", "livenessProbe") if not container.get(k)]
                remediation = remediation or (
                    f"{edit_header(owner)}, container {name}\n{probe_snippet(container, *keys)}"
                )
        if containers and not bad:
            passes.append(
                found(owner, f"{label(workload)} has readiness and liveness probes", "spec")
            )
    if not workloads:
        for chart, values in charts_to_judge(facts):
            for kind in chart_workload_kinds(chart, LONG_RUNNING_KINDS):
                text = f"{chart_label(chart, values)}: {kind}"
                missing, undecided = [], []
                for key, word in (("readinessProbe", "readiness"), ("livenessProbe", "liveness")):
                    setting = chart.setting(values, kind, key)
                    if setting.state == "unknown":
                        undecided.append(word)
                    elif setting.state == "unset":
                        missing.append(word)
                path, line = setting_where(chart.setting(values, kind, "livenessProbe"), chart)
                if missing:
                    failures.append(
                        found_at(f"{text} has no {' and no '.join(missing)} probe", path, line)
                    )
                elif undecided:
                    unknowns.append(
                        found_at(f"{text}: {' and '.join(undecided)} probe computed", path, line)
                    )
                else:
                    passes.append(found_at(f"{text} has readiness and liveness probes", path, line))
    result = conclude(
        ctx,
        HEALTH_CHECKS,
        facts,
        kinds=LONG_RUNNING_KINDS,
        objects=workloads,
        failures=failures,
        passes=passes,
        unknowns=unknowns,
        fail_lead="Containers without health checks",
        pass_lead="Every long-running container has readiness and liveness probes",
        remediation=remediation,
    )
    if result:
        yield result


# --------------------------------------------------------------------------- zones


def zone_spread(pod_spec: dict[str, object]) -> str | None:
    """How a pod spec spreads over zones (``hard``/``soft`` and the mechanism), or None."""
    for constraint in as_list(pod_spec.get("topologySpreadConstraints")):
        constraint = as_map(constraint)
        if constraint.get("topologyKey") in ZONE_KEYS:
            soft = constraint.get("whenUnsatisfiable") == "ScheduleAnyway"
            return f"topologySpreadConstraints on zones{' (soft)' if soft else ''}"
    anti = as_map(dig(pod_spec, "affinity", "podAntiAffinity"))
    for term in as_list(anti.get("requiredDuringSchedulingIgnoredDuringExecution")):
        if as_map(term).get("topologyKey") in ZONE_KEYS:
            return "required pod anti-affinity across zones"
    for term in as_list(anti.get("preferredDuringSchedulingIgnoredDuringExecution")):
        if dig(term, "podAffinityTerm", "topologyKey") in ZONE_KEYS:
            return "preferred pod anti-affinity across zones (soft)"
    return None


@check("infrastructure.kubernetes.zones", items=[MULTI_AZ], needs=[KubernetesFacts])
def zones(ctx: CheckContext) -> Iterator[Result]:
    """Replicated workloads run at least two pods spread over availability zones."""
    facts = ctx.get(KubernetesFacts)
    workloads = facts.workloads(facts.scope(), SCALABLE_KINDS)
    failures: list[Finding] = []
    passes: list[Finding] = []
    unknowns: list[Finding] = []
    remediation = None
    for workload in workloads:
        owner = facts.pod_template_owner(workload)
        count, source = min_replicas(facts, workload)
        spread = zone_spread(owner.pod_spec)
        pdbs = facts.pdbs_for(workload)
        pdb_note = f", PodDisruptionBudget {pdbs[0].name}" if pdbs else ", no PodDisruptionBudget"
        if count is None:
            unknowns.append(found(workload, f"{label(workload)} replicas are not literal", "spec"))
            continue
        problems = []
        if count < 2:
            problems.append(f"runs {count} pod ({source}): one zone at most")
        if spread is None:
            problems.append("has no topologySpreadConstraints or anti-affinity on zones")
        if problems:
            failures.append(
                found(
                    workload,
                    f"{label(workload)} {' and '.join(problems)}{pdb_note}",
                    "spec",
                    "replicas" if count < 2 else "spec",
                )
            )
            selector = pod_name_labels(owner)
            remediation = remediation or (
                f"{edit_header(owner)}\nspec:\n"
                + ("  replicas: 3\n" if count < 2 else "")
                + "  template:\n    spec:\n      topologySpreadConstraints:\n"
                "        - maxSkew: 1\n          topologyKey: topology.kubernetes.io/zone\n"
                "          whenUnsatisfiable: DoNotSchedule\n"
                f"          labelSelector:\n            matchLabels: {selector}"
            )
        else:
            keys = owner.pod_spec_keys or ()
            key = "topologySpreadConstraints" if "topology" in (spread or "") else "affinity"
            passes.append(
                found(
                    owner,
                    f"{label(workload)} runs at least {count} pods with {spread}{pdb_note}",
                    *keys,
                    key,
                )
            )
    if not workloads:
        for chart, values in charts_to_judge(facts):
            for kind in chart_workload_kinds(chart, SCALABLE_KINDS):
                text = f"{chart_label(chart, values)}: {kind}"
                count_s = chart.setting(values, kind, "replicas")
                hpa = chart.emitted(values, "HorizontalPodAutoscaler")
                pods: int | None = 1 if count_s.state == "unset" else None
                if count_s.state == "set" and isinstance(count_s.value, int):
                    pods = count_s.value
                if hpa.state == "set":
                    low = chart.setting(values, "HorizontalPodAutoscaler", "minReplicas")
                    pods = low.value if isinstance(low.value, int) else None
                    if low.state == "unset":
                        pods = 1
                spread_s = chart.setting(values, kind, "topologySpreadConstraints")
                affinity = chart.setting(values, kind, "affinity")
                spread_text = " ".join(
                    str(s.value) for s in (spread_s, affinity) if s.state == "set"
                ) + " ".join(t.text for t in chart.templates_of(kind))
                has_spread = any(key in spread_text for key in ZONE_KEYS)
                path, line = setting_where(count_s, chart)
                if pods is None:
                    unknowns.append(found_at(f"{text}: replica count not decidable", path, line))
                elif pods < 2 or not has_spread:
                    problems = []
                    if pods < 2:
                        problems.append(f"runs {pods} pod")
                    if not has_spread:
                        problems.append("no zone spread in templates or values")
                    failures.append(found_at(f"{text} {' and '.join(problems)}", path, line))
                else:
                    passes.append(found_at(f"{text} runs {pods} pods spread on zones", path, line))
    result = conclude(
        ctx,
        MULTI_AZ,
        facts,
        kinds=SCALABLE_KINDS | AUTOSCALER_KINDS,
        objects=workloads,
        failures=failures,
        passes=passes,
        unknowns=unknowns,
        fail_lead="Workloads that a zone outage can take down",
        pass_lead="Workloads are spread over zones",
        remediation=remediation,
        note="Whether the cluster's nodes span several zones is not visible in manifests.",
    )
    if result:
        yield result


# --------------------------------------------------------------------------- load balancer


def internal_lb(service: K8sObject) -> bool:
    """A LoadBalancer Service annotated as internal (private addresses only)."""
    annotations = {k: v.lower() for k, v in service.annotations.items()}
    return any(annotations.get(key) in values for key, values in INTERNAL_LB_ANNOTATIONS.items())


def entry_points(facts: KubernetesFacts, objects: Sequence[K8sObject]) -> list[K8sObject]:
    """Ingress-like objects and LoadBalancer Services among ``objects``."""
    return [
        o
        for o in objects
        if o.kind in ROUTE_KINDS
        or (o.kind == "Gateway" and o.group == "gateway.networking.k8s.io")
        or (o.kind == "Gateway" and o.group == "networking.istio.io")
        or (o.kind == "Service" and o.get("spec", "type") == "LoadBalancer")
        or o.kind == "TargetGroupBinding"
    ]


@check("infrastructure.kubernetes.load-balancer", items=[LOAD_BALANCER], needs=[KubernetesFacts])
def load_balancer(ctx: CheckContext) -> Iterator[Result]:
    """Traffic enters through an Ingress, a Gateway route or a LoadBalancer Service."""
    facts = ctx.get(KubernetesFacts)
    scope = facts.scope()
    entries = entry_points(facts, scope)
    services = [o for o in scope if o.kind == "Service"]
    passes: list[Finding] = []
    unknowns: list[Finding] = []
    for entry in entries:
        if entry.kind == "TargetGroupBinding":
            passes.append(
                found(
                    entry,
                    f"TargetGroupBinding {entry.name} registers Service"
                    f" {entry.get('spec', 'serviceRef', 'name')} with a cloud load balancer",
                    "spec",
                )
            )
        elif entry.kind == "Service":
            targets = ", ".join(
                w.name for w in facts.workloads(scope) if entry in facts.services_for(w)
            )
            scope_word = "internal" if internal_lb(entry) else "external"
            passes.append(
                found(
                    entry,
                    f"{label(entry)} is an {scope_word} LoadBalancer"
                    + (f" for {targets}" if targets else ""),
                    "spec",
                    "type",
                )
            )
        else:
            backends = sorted(s.name for s in services if entry in facts.routes_to(s))
            passes.append(
                found(
                    entry,
                    f"{label(entry)} routes traffic"
                    + (f" to Service {', '.join(backends)}" if backends else ""),
                    "spec",
                )
            )
    # Only ClusterIP/NodePort Services: the entry point (if the service takes outside
    # traffic) lives elsewhere, e.g. a cloud load balancer in Terraform; no opinion here.
    if not entries and not services:
        for chart, values in charts_to_judge(facts):
            ingress = chart.emitted(values, "Ingress")
            service_type = chart.setting(values, "Service", "type")
            path, line = setting_where(ingress, chart)
            text = chart_label(chart, values)
            if ingress.state == "set":
                passes.append(found_at(f"{text} renders an Ingress", path, line))
            elif service_type.state == "set" and service_type.value == "LoadBalancer":
                s_path, s_line = setting_where(service_type, chart)
                passes.append(found_at(f"{text} renders a LoadBalancer Service", s_path, s_line))
            elif "Service" in chart.kinds or ingress.state == "unknown":
                unknowns.append(
                    found_at(
                        f"{text}: no Ingress or LoadBalancer decidable ({ingress.note})", path, line
                    )
                )
    result = conclude(
        ctx,
        LOAD_BALANCER,
        facts,
        kinds=ENTRY_KINDS,
        objects=scope,
        failures=[],
        passes=passes,
        unknowns=unknowns,
        fail_lead="",
        pass_lead="Traffic enters through a load balancer or ingress",
        unknown_lead="No load balancer or ingress found",
        note="Timeouts and connection draining are not checked from manifests.",
    )
    if result:
        yield result


# --------------------------------------------------------------------------- TLS


def _hosts_covered(hosts: Iterable[str], tls_hosts: set[str]) -> list[str]:
    """Hosts of ``hosts`` that no TLS host (exact or ``*.`` wildcard) covers."""
    uncovered = []
    for host in hosts:
        parent = host.split(".", 1)[1] if "." in host else ""
        if host not in tls_hosts and f"*.{parent}" not in tls_hosts:
            uncovered.append(host)
    return uncovered


def _managed(facts: KubernetesFacts, obj: K8sObject, secret_names: Iterable[str]) -> str | None:
    """How the certificate is renewed automatically, or None."""
    annotations = obj.annotations
    for key in CERT_MANAGER_ANNOTATIONS:
        if key in annotations and annotations[key].lower() != "false":
            return f"cert-manager ({key})"
    for key in CLOUD_CERT_ANNOTATIONS:
        if key in annotations:
            return f"a cloud-managed certificate ({key})"
    wanted = {s for s in secret_names if s}
    for cert in facts.related(obj, ["Certificate"]):
        if cert.group == "cert-manager.io" and cert.get("spec", "secretName") in wanted:
            return f"cert-manager Certificate {cert.name}"
    return None


def tls_findings(
    facts: KubernetesFacts, entry: K8sObject
) -> tuple[list[Finding], list[Finding], list[Finding]]:
    """(failures, passes, unknowns) about TLS on one entry point."""
    fails: list[Finding] = []
    oks: list[Finding] = []
    unsure: list[Finding] = []
    spec = as_map(entry.get("spec"))
    name = label(entry)
    if entry.kind == "Ingress":
        hosts = [
            str(as_map(r).get("host")) for r in as_list(spec.get("rules")) if as_map(r).get("host")
        ]
        tls = [as_map(t) for t in as_list(spec.get("tls"))]
        cloud = next((k for k in CLOUD_CERT_ANNOTATIONS if k in entry.annotations), None)
        if not tls and not cloud:
            fails.append(
                found(
                    entry,
                    f"{name} has no tls section: {', '.join(hosts) or 'all hosts'}"
                    " served over plain HTTP",
                    "spec",
                )
            )
            return fails, oks, unsure
        tls_hosts = {str(h) for t in tls for h in as_list(t.get("hosts"))}
        uncovered = _hosts_covered(hosts, tls_hosts) if tls and not cloud else []
        if uncovered:
            fails.append(
                found(entry, f"{name} has no certificate for {', '.join(uncovered)}", "spec", "tls")
            )
            return fails, oks, unsure
        secrets = [str(t.get("secretName") or "") for t in tls]
        how = _managed(facts, entry, secrets)
        if how:
            oks.append(
                found(
                    entry,
                    f"{name} serves TLS for {', '.join(hosts) or 'its hosts'} via {how}",
                    "spec",
                    "tls",
                )
            )
        else:
            unsure.append(
                found(
                    entry,
                    f"{name} serves TLS from Secret"
                    f" {', '.join(s for s in secrets if s) or '(controller default)'}"
                    " but no cert-manager issuer or Certificate renews it",
                    "spec",
                    "tls",
                )
            )
    elif entry.kind == "Service":
        if internal_lb(entry):
            return fails, oks, unsure
        cert = next((k for k in entry.annotations if "ssl-cert" in k or "certificate" in k), None)
        ports = [as_map(p) for p in as_list(spec.get("ports"))]
        http = [p for p in ports if p.get("port") == 80 or str(p.get("name", "")).lower() == "http"]
        if cert:
            oks.append(
                found(
                    entry,
                    f"{name} terminates TLS at the load balancer ({cert})",
                    "metadata",
                    "annotations",
                )
            )
        elif http:
            fails.append(
                found(
                    entry, f"{name} exposes HTTP port 80 without a TLS certificate", "spec", "ports"
                )
            )
        elif any(p.get("port") == 443 for p in ports):
            unsure.append(
                found(
                    entry,
                    f"{name} passes port 443 to the pods: their certificate is not visible",
                    "spec",
                    "ports",
                )
            )
    elif entry.kind == "Gateway":
        listeners = [as_map(item) for item in as_list(spec.get("listeners") or spec.get("servers"))]
        secure = []
        plain = []
        for listener in listeners:
            protocol = str(
                listener.get("protocol") or dig(listener, "port", "protocol") or ""
            ).upper()
            if protocol in ("HTTPS", "TLS"):
                secure.append(listener)
            elif protocol == "HTTP" and not dig(listener, "tls", "httpsRedirect"):
                plain.append(listener)
        if not secure:
            fails.append(found(entry, f"{name} has no HTTPS listener", "spec"))
        else:
            refs = [str(dig(item, "tls", "credentialName") or "") for item in secure]
            refs += [
                str(as_map(ref).get("name") or "")
                for item in secure
                for ref in as_list(dig(item, "tls", "certificateRefs"))
            ]
            how = _managed(facts, entry, refs)
            if how:
                oks.append(found(entry, f"{name} has HTTPS listeners with {how}", "spec"))
            else:
                unsure.append(
                    found(
                        entry,
                        f"{name} has HTTPS listeners; certificate renewal is not visible",
                        "spec",
                    )
                )
    elif entry.kind in ("IngressRoute", "Route", "HTTPProxy"):
        tls = spec.get("tls") or dig(spec, "virtualhost", "tls")
        if not tls:
            fails.append(found(entry, f"{name} has no tls section", "spec"))
        elif as_map(tls).get("certResolver"):
            oks.append(
                found(
                    entry,
                    f"{name} gets certificates from ACME resolver"
                    f" {as_map(tls).get('certResolver')}",
                    "spec",
                )
            )
        elif entry.kind == "Route":
            oks.append(
                found(
                    entry,
                    f"{name} terminates TLS ({as_map(tls).get('termination', 'edge')})",
                    "spec",
                    "tls",
                )
            )
        else:
            how = _managed(facts, entry, [str(as_map(tls).get("secretName") or "")])
            (oks if how else unsure).append(
                found(
                    entry,
                    f"{name} serves TLS" + (f" via {how}" if how else "; renewal is not visible"),
                    "spec",
                )
            )
    return fails, oks, unsure


@check("infrastructure.kubernetes.tls", items=[TLS_CERTS], needs=[KubernetesFacts])
def tls(ctx: CheckContext) -> Iterator[Result]:
    """Every Ingress host has a certificate that cert-manager or the cloud renews."""
    facts = ctx.get(KubernetesFacts)
    scope = facts.scope()
    entries = [
        e
        for e in entry_points(facts, scope)
        if e.kind not in ("HTTPRoute", "GRPCRoute", "VirtualService")
    ]
    failures: list[Finding] = []
    passes: list[Finding] = []
    unknowns: list[Finding] = []
    for entry in entries:
        fails, oks, unsure = tls_findings(facts, entry)
        failures += fails
        passes += oks
        unknowns += unsure
    if not entries:
        for chart, values in charts_to_judge(facts):
            ingress = (
                values_ingress(chart, values)
                if chart.emitted(values, "Ingress").state == "set"
                else None
            )
            if ingress is not None:
                fails, oks, unsure = tls_findings(facts, ingress)
                failures += fails
                passes += oks
                unknowns += unsure
    remediation = None
    if failures:
        target = next((e for e in entries if e.kind == "Ingress"), None)
        host = "api.example.com"
        if target is not None:
            host = str(dig(target.body, "spec", "rules", 0, "host") or host)
        remediation = (
            (f"{edit_header(target)}\n" if target else "")
            + "metadata:\n  annotations:\n    cert-manager.io/cluster-issuer: letsencrypt-prod\n"
            f"spec:\n  tls:\n    - hosts: [{host}]\n      secretName: {host.replace('.', '-')}-tls"
        )
    result = conclude(
        ctx,
        TLS_CERTS,
        facts,
        kinds=ENTRY_KINDS | {"Certificate"},
        objects=scope,
        failures=failures,
        passes=passes,
        unknowns=unknowns,
        fail_lead="Endpoints without a TLS certificate",
        pass_lead="Every entry point serves TLS with an automatically renewed certificate",
        unknown_lead="TLS is configured but its certificate management is not visible",
        remediation=remediation,
        note="Certificate validity and expiry are checked on the live endpoint, not here.",
    )
    if result:
        yield result


# --------------------------------------------------------------------------- network policies


def _default_deny(policy: K8sObject) -> bool:
    """A NetworkPolicy selecting every pod that allows no ingress."""
    spec = as_map(policy.get("spec"))
    if policy.kind != "NetworkPolicy" or as_map(spec.get("podSelector")):
        return False
    types = as_list(spec.get("policyTypes")) or ["Ingress"]
    return "Ingress" in types and not as_list(spec.get("ingress"))


def _allows_all(policy: K8sObject) -> bool:
    """An ingress rule with no sources and no ports: everything may connect."""
    for rule in as_list(policy.get("spec", "ingress")):
        rule = as_map(rule)
        if not rule.get("from") and not rule.get("ports") and not rule.get("fromEndpoints"):
            return True
    return False


def _policy_snippet(facts: KubernetesFacts, workload: K8sObject) -> str:
    ns = workload.namespace or "default"
    labels = pod_name_labels(facts.pod_template_owner(workload))
    return f"""# add next to {workload.path}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-ingress
  namespace: {ns}
spec:
  podSelector: {{}}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {workload.source_name}-ingress
  namespace: {ns}
spec:
  podSelector:
    matchLabels: {labels}
  policyTypes: [Ingress]
  ingress:
    - from:
        - namespaceSelector:
            matchLabels: {{kubernetes.io/metadata.name: ingress-nginx}}
      ports:
        - port: 8080"""


@check("infrastructure.kubernetes.network-policies", items=[FIREWALL], needs=[KubernetesFacts])
def network_policies(ctx: CheckContext) -> Iterator[Result]:
    """NetworkPolicies select every workload; a default-deny policy backs them."""
    facts = ctx.get(KubernetesFacts)
    scope = facts.scope()
    workloads = facts.workloads(scope, LONG_RUNNING_KINDS)
    failures: list[Finding] = []
    passes: list[Finding] = []
    unknowns: list[Finding] = []
    remediation = None
    for workload in workloads:
        policies = facts.network_policies_for(workload)
        deny = [p for p in policies if _default_deny(p)]
        open_ = [p for p in policies if _allows_all(p)]
        allow = [p for p in policies if p not in deny]
        if open_:
            failures.append(
                found(
                    open_[0],
                    f"NetworkPolicy {open_[0].name} lets anything reach {label(workload)}",
                    "spec",
                    "ingress",
                )
            )
        elif not policies:
            failures.append(
                found(workload, f"{label(workload)} is selected by no NetworkPolicy", "metadata")
            )
            remediation = remediation or _policy_snippet(facts, workload)
        else:
            names = ", ".join(p.name for p in [*deny, *allow][:3])
            kind = " (with a default deny)" if deny else ""
            passes.append(
                found(
                    workload,
                    f"{label(workload)} is covered by NetworkPolicy {names}{kind}",
                    "metadata",
                )
            )
    if not workloads:
        for chart, values in charts_to_judge(facts):
            if not chart_workload_kinds(chart, LONG_RUNNING_KINDS):
                continue
            policy = chart.emitted(values, "NetworkPolicy")
            path, line = setting_where(policy, chart)
            text = chart_label(chart, values)
            if policy.state == "set":
                passes.append(found_at(f"{text} renders a NetworkPolicy", path, line))
            elif policy.state == "unset":
                failures.append(
                    found_at(f"{text} renders no NetworkPolicy ({policy.note})", path, line)
                )
            else:
                unknowns.append(found_at(f"{text}: NetworkPolicy {policy.note}", path, line))
    result = conclude(
        ctx,
        FIREWALL,
        facts,
        kinds=LONG_RUNNING_KINDS | {"NetworkPolicy", "CiliumNetworkPolicy"},
        objects=workloads,
        failures=failures,
        passes=passes,
        unknowns=unknowns,
        fail_lead="Workloads any pod in the cluster can reach",
        pass_lead="NetworkPolicies restrict traffic to every workload",
        remediation=remediation,
        note="Who reviewed the rules, and when, is not visible in manifests.",
    )
    if result:
        yield result
