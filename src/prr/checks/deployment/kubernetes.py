"""Deployment items decided from Kubernetes manifests: rollout strategy, zero-downtime
rollouts, retained revisions, and whether staging is built like production.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence

from prr.checks.infrastructure.kubernetes import (
    Finding,
    chart_label,
    chart_workload_kinds,
    charts_to_judge,
    conclude,
    edit_header,
    found,
    found_at,
    label,
    min_replicas,
    setting_where,
)
from prr.checks.registry import CheckContext, check
from prr.collectors.kubernetes import (
    NOT_DEPLOYED_STAGES,
    PRODUCTION,
    STAGING,
    WORKLOAD_KINDS,
    Environment,
    K8sObject,
    KubernetesFacts,
    as_map,
    dig,
    environment_name,
)
from prr.model.evidence import Result

STRATEGY = "deployment.deployment-strategy.deployment-strategy-defined"
ZERO_DOWNTIME = "deployment.deployment-strategy.zero-downtime-deployment"
VERSIONS = "deployment.rollback.previous-versions-retained"
MIRRORS = "deployment.environment-parity.staging-mirrors-production"
SAME_IAC = "deployment.environment-parity.same-infrastructure-as-code"

ROLLED_KINDS = frozenset({"Deployment", "Rollout", "StatefulSet", "DaemonSet"})
REPLICATED_KINDS = frozenset({"Deployment", "Rollout", "StatefulSet"})
HISTORY_KINDS = frozenset({"Deployment", "Rollout", "StatefulSet", "DaemonSet"})
PARITY_KINDS = WORKLOAD_KINDS | {
    "Service",
    "Ingress",
    "HTTPRoute",
    "HorizontalPodAutoscaler",
    "ScaledObject",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "ServiceMonitor",
    "PodMonitor",
    "PrometheusRule",
    "ExternalSecret",
    "SealedSecret",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "CronJob",
}


def _flagger_canaries(facts: KubernetesFacts, workload: K8sObject) -> list[K8sObject]:
    return [
        c
        for c in facts.related(workload, ["Canary"])
        if c.group == "flagger.app"
        and dig(c.body, "spec", "targetRef", "name") == workload.name
        and dig(c.body, "spec", "targetRef", "kind") in (None, workload.kind)
    ]


def strategy_of(
    facts: KubernetesFacts, workload: K8sObject
) -> tuple[str | None, str, tuple[str, ...]]:
    """(rolling/canary/blue-green, or None for one with downtime; words; keys of the setting)."""
    spec = as_map(workload.get("spec"))
    if workload.kind == "Rollout":
        strategy = as_map(spec.get("strategy"))
        if "canary" in strategy:
            return "canary", "Argo Rollouts canary", ("spec", "strategy", "canary")
        if "blueGreen" in strategy:
            return "blue-green", "Argo Rollouts blue-green", ("spec", "strategy", "blueGreen")
        return None, "Argo Rollout without a strategy", ("spec",)
    canaries = _flagger_canaries(facts, workload)
    if canaries:
        return "canary", f"Flagger Canary {canaries[0].name}", ("spec",)
    if workload.kind == "Deployment":
        kind = dig(spec, "strategy", "type")
        if kind == "Recreate":
            return (
                None,
                "Recreate (every pod stops before new ones start)",
                ("spec", "strategy", "type"),
            )
        if kind is None:
            return "rolling", "RollingUpdate (the default)", ("spec",)
        return "rolling", "RollingUpdate", ("spec", "strategy")
    kind = dig(spec, "updateStrategy", "type")
    if kind == "OnDelete":
        return None, "OnDelete (pods change only when deleted by hand)", ("spec", "updateStrategy")
    return "rolling", "RollingUpdate" + (" (the default)" if kind is None else ""), ("spec",)


@check("deployment.kubernetes.strategy", items=[STRATEGY], needs=[KubernetesFacts])
def strategy(ctx: CheckContext) -> Iterator[Result]:
    """Workloads roll out with a rolling, canary or blue-green strategy."""
    facts = ctx.get(KubernetesFacts)
    workloads = facts.workloads(facts.scope(), ROLLED_KINDS)
    failures: list[Finding] = []
    passes: list[Finding] = []
    unknowns: list[Finding] = []
    chosen: Counter[str] = Counter()
    remediation = None
    for workload in workloads:
        name, words, keys = strategy_of(facts, workload)
        if name is None:
            failures.append(found(workload, f"{label(workload)} uses {words}", *keys))
            remediation = remediation or (
                f"{edit_header(workload)}\nspec:\n  strategy:\n    type: RollingUpdate\n"
                "    rollingUpdate:\n      maxUnavailable: 0\n      maxSurge: 25%"
                if workload.kind == "Deployment"
                else f"{edit_header(workload)}\nspec:\n  updateStrategy:\n    type: RollingUpdate"
            )
            continue
        if workload.kind in ("Deployment", "Rollout"):
            chosen[name] += 1
        passes.append(found(workload, f"{label(workload)} uses {words}", *keys))
    if not workloads:
        for chart, values in charts_to_judge(facts):
            text = chart_label(chart, values)
            if "Rollout" in chart.kinds:
                body = " ".join(t.text for t in chart.templates_of("Rollout"))
                name = (
                    "canary"
                    if "canary:" in body
                    else "blue-green"
                    if "blueGreen:" in body
                    else None
                )
                if name:
                    chosen[name] += 1
                    passes.append(
                        found_at(
                            f"{text} renders an Argo Rollout ({name})",
                            chart.templates_of("Rollout")[0].path,
                            None,
                        )
                    )
                continue
            if "Deployment" not in chart.kinds:
                continue
            setting = chart.setting(values, "Deployment", "strategy")
            path, line = setting_where(setting, chart)
            if setting.state == "unknown":
                unknowns.append(found_at(f"{text}: Deployment strategy {setting.note}", path, line))
            elif setting.state == "set" and "Recreate" in str(setting.value):
                failures.append(found_at(f"{text}: Deployment uses Recreate", path, line))
            else:
                chosen["rolling"] += 1
                default = " (the default)" if setting.state == "unset" else ""
                passes.append(
                    found_at(f"{text}: Deployment uses RollingUpdate{default}", path, line)
                )
    fields: dict[str, object] = {}
    if chosen and not failures:
        order = {"canary": 0, "blue-green": 1, "rolling": 2}
        fields["strategy"] = sorted(chosen, key=lambda k: (-chosen[k], order[k]))[0]
    result = conclude(
        ctx,
        STRATEGY,
        facts,
        kinds=ROLLED_KINDS | {"Canary"},
        objects=workloads,
        failures=failures,
        passes=passes,
        unknowns=unknowns,
        fail_lead="Workloads without a gradual rollout strategy",
        pass_lead="Rollout strategies are declared",
        remediation=remediation,
        fields=fields,
    )
    if result:
        yield result


def _unavailable(workload: K8sObject, replicas: int) -> int | None:
    """Pods a RollingUpdate may take down at once (maxUnavailable, default 25% rounded down)."""
    value = dig(workload.body, "spec", "strategy", "rollingUpdate", "maxUnavailable")
    if value is None:
        value = "25%"
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = re.fullmatch(r"\s*(\d+)%\s*", str(value))
    if match:
        return math.floor(int(match.group(1)) * replicas / 100)
    return None


@check("deployment.kubernetes.zero-downtime", items=[ZERO_DOWNTIME], needs=[KubernetesFacts])
def zero_downtime(ctx: CheckContext) -> Iterator[Result]:
    """Rollouts keep ready pods serving: a gradual strategy, readiness probes, 2+ pods and a PDB."""
    facts = ctx.get(KubernetesFacts)
    workloads = facts.workloads(facts.scope(), REPLICATED_KINDS)
    failures: list[Finding] = []
    passes: list[Finding] = []
    unknowns: list[Finding] = []
    remediation = None
    for workload in workloads:
        owner = facts.pod_template_owner(workload)
        count, source = min_replicas(facts, workload)
        name, words, keys = strategy_of(facts, workload)
        problems = []
        if name is None:
            problems.append(f"uses {words}")
        elif workload.kind == "Deployment" and name == "rolling" and count is not None:
            down = _unavailable(workload, count)
            if down is not None and down >= count:
                problems.append(f"maxUnavailable lets all {count} pods stop at once")
        no_ready = [str(c.get("name")) for c in owner.containers() if not c.get("readinessProbe")]
        if no_ready:
            problems.append(
                f"container {', '.join(no_ready)} has no readiness probe, so pods get traffic "
                "before they are ready"
            )
        if count is None:
            unknowns.append(found(workload, f"{label(workload)} replicas are not literal", "spec"))
            continue
        if count < 2:
            problems.append(f"runs {count} pod ({source}): restarts and node drains take it down")
        pdbs = facts.pdbs_for(workload)
        if not pdbs:
            problems.append("no PodDisruptionBudget protects it during node drains")
        if problems:
            failures.append(found(workload, f"{label(workload)}: {'; '.join(problems)}", *keys))
            if remediation is None:
                labels = owner.pod_labels
                selector = (
                    ", ".join(f"{k}: {v}" for k, v in list(labels.items())[:2])
                    or f"app: {owner.source_name}"
                )
                remediation = (
                    f"{edit_header(workload)}\nspec:\n  replicas: 2\n  strategy:\n    type: "
                    "RollingUpdate\n"
                    "    rollingUpdate:\n      maxUnavailable: 0\n      maxSurge: 1\n"
                    "  template:\n    spec:\n      containers:\n        - name: <container>\n"
                    "          readinessProbe:\n            httpGet: {path: /readyz, port: 8080}\n"
                    "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n"
                    f"  name: {owner.source_name}\nspec:\n  minAvailable: 1\n  selector:\n"
                    f"    matchLabels: {{{selector}}}"
                )
        else:
            drain = (
                ""
                if any(dig(c, "lifecycle", "preStop") for c in owner.containers())
                else "; no preStop hook, so draining relies on the app handling SIGTERM"
            )
            passes.append(
                found(
                    workload,
                    f"{label(workload)} rolls out with {words}, {count}+ ready-probed pods"
                    f" and PodDisruptionBudget {pdbs[0].name}{drain}",
                    *keys,
                )
            )
    if not workloads:
        for chart, values in charts_to_judge(facts):
            for kind in chart_workload_kinds(chart, REPLICATED_KINDS):
                text = f"{chart_label(chart, values)}: {kind}"
                ready = chart.setting(values, kind, "readinessProbe")
                replicas = chart.setting(values, kind, "replicas")
                hpa = chart.emitted(values, "HorizontalPodAutoscaler")
                pdb = chart.emitted(values, "PodDisruptionBudget")
                pods: int | None = replicas.value if isinstance(replicas.value, int) else None
                if replicas.state == "unset":
                    pods = 1
                if hpa.state == "set":
                    low = chart.setting(values, "HorizontalPodAutoscaler", "minReplicas")
                    pods = low.value if isinstance(low.value, int) else None
                    if low.state == "unset":
                        pods = 1
                problems = []
                if ready.state == "unset":
                    problems.append("no readiness probe")
                if pods is not None and pods < 2:
                    problems.append(f"{pods} pod")
                if pdb.state == "unset":
                    problems.append("no PodDisruptionBudget")
                path, line = setting_where(replicas, chart)
                if problems:
                    failures.append(found_at(f"{text}: {', '.join(problems)}", path, line))
                elif "unknown" in (ready.state, pdb.state) or pods is None:
                    unknowns.append(
                        found_at(f"{text}: probes, replicas or PDB not decidable", path, line)
                    )
                else:
                    passes.append(
                        found_at(f"{text}: readiness probe, {pods} pods and a PDB", path, line)
                    )
    result = conclude(
        ctx,
        ZERO_DOWNTIME,
        facts,
        kinds=REPLICATED_KINDS | {"PodDisruptionBudget", "HorizontalPodAutoscaler"},
        objects=workloads,
        failures=failures,
        passes=passes,
        unknowns=unknowns,
        fail_lead="Deployments that can drop requests",
        pass_lead="Deployments roll out without downtime",
        remediation=remediation,
    )
    if result:
        yield result


def mutable_images(owner: K8sObject) -> list[str]:
    """Images without a digest whose tag is ``latest`` or missing."""
    out = []
    for container in owner.containers() + owner.containers(init=True):
        image = str(container.get("image") or "")
        if not image or "@sha256:" in image:
            continue
        last = image.rsplit("/", 1)[-1]
        tag = last.split(":", 1)[1] if ":" in last else ""
        if tag in ("", "latest"):
            out.append(image)
    return out


@check("deployment.kubernetes.revisions", items=[VERSIONS], needs=[KubernetesFacts])
def revisions(ctx: CheckContext) -> Iterator[Result]:
    """Old ReplicaSets are kept (revisionHistoryLimit ≥ 1) and point at immutable image tags."""
    facts = ctx.get(KubernetesFacts)
    workloads = facts.workloads(facts.scope(), HISTORY_KINDS)
    failures: list[Finding] = []
    passes: list[Finding] = []
    unknowns: list[Finding] = []
    counts: list[int] = []
    remediation = None
    for workload in workloads:
        owner = facts.pod_template_owner(workload)
        limit = workload.get("spec", "revisionHistoryLimit")
        images = mutable_images(owner)
        if limit is None:
            limit, words = 10, "revisionHistoryLimit unset: the Kubernetes default"
        else:
            words = f"revisionHistoryLimit {limit}"
        if not isinstance(limit, int) or isinstance(limit, bool):
            unknowns.append(
                found(workload, f"{label(workload)} revisionHistoryLimit is not literal", "spec")
            )
            continue
        problems = []
        if limit < 1:
            problems.append(f"{words}: no earlier revision to roll back to")
        if images:
            problems.append(
                f"image {', '.join(images)} has a mutable tag, so an old revision redeploys "
                "today's image"
            )
        if problems:
            failures.append(
                found(
                    workload,
                    f"{label(workload)}: {'; '.join(problems)}",
                    "spec",
                    "revisionHistoryLimit",
                )
            )
            remediation = remediation or (
                f"{edit_header(workload)}\nspec:\n  revisionHistoryLimit: 10\n"
                "  template:\n    spec:\n      containers:\n        - name: <container>\n"
                "          image: registry.example.com/app:1.4.2   # a release tag or @sha256 "
                "digest"
            )
        else:
            counts.append(limit)
            passes.append(
                found(
                    workload,
                    f"{label(workload)} keeps {limit} old revisions ({words})",
                    "spec",
                    "revisionHistoryLimit",
                )
            )
    if not workloads:
        for chart, values in charts_to_judge(facts):
            for kind in chart_workload_kinds(chart, HISTORY_KINDS):
                text = f"{chart_label(chart, values)}: {kind}"
                history = chart.setting(values, kind, "revisionHistoryLimit")
                found_tag, tag = values.lookup("image.tag")
                path, line = setting_where(history, chart)
                if found_tag and str(tag) == "latest":
                    t_path, t_line = values.locate("image.tag")
                    failures.append(
                        found_at(f"{text}: image.tag is latest, a mutable tag", t_path, t_line)
                    )
                elif history.state == "unknown":
                    unknowns.append(
                        found_at(f"{text}: revisionHistoryLimit {history.note}", path, line)
                    )
                elif (
                    history.state == "set" and isinstance(history.value, int) and history.value < 1
                ):
                    failures.append(
                        found_at(f"{text}: revisionHistoryLimit {history.value}", path, line)
                    )
                else:
                    limit = (
                        history.value
                        if history.state == "set" and isinstance(history.value, int)
                        else 10
                    )
                    counts.append(limit)
                    passes.append(
                        found_at(
                            f"{text} keeps {limit} revisions; helm keeps its own release history "
                            "too",
                            path,
                            line,
                        )
                    )
    fields: dict[str, object] = {}
    if counts and min(counts) >= 1:
        fields["count"] = min(counts)
    result = conclude(
        ctx,
        VERSIONS,
        facts,
        kinds=HISTORY_KINDS,
        objects=workloads,
        failures=failures,
        passes=passes,
        unknowns=unknowns,
        fail_lead="Previous versions cannot be redeployed as they were",
        pass_lead="Previous revisions are retained",
        remediation=remediation,
        fields=fields,
    )
    if result:
        yield result


# --------------------------------------------------------------------------- environment parity


def _normal_name(name: str) -> str:
    """A name without environment words (``prod-api`` and ``api-staging`` are both ``api``)."""
    parts = [p for p in re.split(r"[-_.]", name) if p and not environment_name(p)]
    return "-".join(parts) or name


def _signature(objects: Sequence[K8sObject]) -> dict[tuple[str, str], K8sObject]:
    return {
        (o.kind, _normal_name(o.name)): o
        for o in objects
        if o.kind in PARITY_KINDS and not (o.kind == "Secret" or o.kind == "ConfigMap")
    }


def _shape(obj: K8sObject, facts: KubernetesFacts) -> dict[str, set[str]]:
    """Per container: the probes and pod-level settings a workload has (sizes left out)."""
    owner = facts.pod_template_owner(obj)
    out: dict[str, set[str]] = {}
    for container in owner.containers():
        features = {
            k for k in ("readinessProbe", "livenessProbe", "startupProbe") if container.get(k)
        }
        if as_map(container.get("resources")):
            features.add("resources")
        if as_map(container.get("securityContext")):
            features.add("securityContext")
        image = str(container.get("image") or "").rsplit(":", 1)[0].split("@", 1)[0]
        features.add(f"image {image}")
        out[str(container.get("name"))] = features
    return out


def _pair(facts: KubernetesFacts, production: Environment) -> Environment | None:
    """The staging environment to compare with ``production``: same kind, nearest path."""
    candidates = [e for e in facts.environments if e.name == STAGING and e.kind == production.kind]
    if production.kind == "helm":
        directory = production.path.rsplit("/", 1)[0]
        candidates = [e for e in candidates if e.path.rsplit("/", 1)[0] == directory] or candidates
    if not candidates:
        return None

    def shared(env: Environment) -> int:
        a, b = env.key.split("/"), production.key.split("/")
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        return n

    return max(candidates, key=shared)


@check(
    "deployment.kubernetes.environment-parity",
    items=[MIRRORS, SAME_IAC],
    needs=[KubernetesFacts],
)
def environment_parity(ctx: CheckContext) -> Iterator[Result]:
    """Staging renders the same objects as production from the same definitions."""
    facts = ctx.get(KubernetesFacts)
    environments = [e for e in facts.environments if e.name not in NOT_DEPLOYED_STAGES]
    productions = [e for e in environments if e.name == PRODUCTION]
    if not productions:
        return
    mirror_fail: list[Finding] = []
    mirror_pass: list[Finding] = []
    mirror_unknown: list[Finding] = []
    iac_fail: list[Finding] = []
    iac_pass: list[Finding] = []
    compared: list[K8sObject] = []
    for prod in productions:
        staging = _pair(facts, prod)
        if staging is None:
            others = ", ".join(sorted({e.key for e in environments if e.name != PRODUCTION}))
            mirror_fail.append(
                found_at(
                    f"production {prod.key} has no staging counterpart"
                    + (f" (other environments: {others})" if others else ""),
                    prod.path,
                    None,
                )
            )
            continue
        if prod.kind == "helm" and not prod.rendered:
            _compare_chart_values(facts, prod, staging, mirror_fail, mirror_pass, mirror_unknown)
            iac_pass.append(
                found_at(
                    f"{staging.key} and {prod.key} are values files of one chart", prod.path, None
                )
            )
            continue
        prod_objs = _signature(facts.in_environment(prod.key))
        stage_objs = _signature(facts.in_environment(staging.key))
        compared += list(prod_objs.values()) + list(stage_objs.values())
        drift = []
        for key, obj in sorted(prod_objs.items()):
            if key not in stage_objs:
                drift.append(f"{obj.kind} {obj.name} exists only in production")
        for key, obj in sorted(stage_objs.items()):
            if key not in prod_objs:
                drift.append(f"{obj.kind} {obj.name} exists only in staging")
        sizes = []
        for key, obj in sorted(prod_objs.items()):
            other = stage_objs.get(key)
            if other is None or obj.kind not in WORKLOAD_KINDS:
                continue
            a, b = _shape(obj, facts), _shape(other, facts)
            for container in sorted(set(a) | set(b)):
                missing = sorted(a.get(container, set()) - b.get(container, set()))
                extra = sorted(b.get(container, set()) - a.get(container, set()))
                if container not in b:
                    drift.append(f"{obj.kind} {obj.name} container {container} missing in staging")
                elif missing or extra:
                    drift.append(
                        f"{obj.kind} {obj.name} container {container} differs"
                        + (f" (staging lacks {', '.join(missing)})" if missing else "")
                        + (f" (staging adds {', '.join(extra)})" if extra else "")
                    )
            if obj.replicas != other.replicas:
                sizes.append(f"{obj.name} replicas {other.replicas}→{obj.replicas}")
        text = f"{staging.key} vs {prod.key}"
        if drift:
            mirror_fail.append(found_at(f"{text}: {listing_short(drift)}", staging.path, None))
        else:
            expected = f"; expected size differences: {', '.join(sizes)}" if sizes else ""
            mirror_pass.append(
                found_at(
                    f"{text} render the same {len(prod_objs)} objects and probes{expected}",
                    staging.path,
                    None,
                )
            )
        if prod.kind == "kustomize" and staging.kind == "kustomize":
            prod_dir = prod.key
            stage_dir = staging.key
            common = (facts.kustomize_reach(prod_dir) & facts.kustomize_reach(stage_dir)) - {
                prod_dir,
                stage_dir,
            }
            if common:
                iac_pass.append(
                    found_at(
                        f"{stage_dir} and {prod_dir} both build on {', '.join(sorted(common))}",
                        prod.path,
                        None,
                    )
                )
            else:
                iac_fail.append(
                    found_at(f"{stage_dir} and {prod_dir} share no kustomize base", prod.path, None)
                )
        elif prod.kind == "helm" and staging.kind == "helm":
            iac_pass.append(
                found_at(f"{staging.key} and {prod.key} are values of one chart", prod.path, None)
            )
        else:
            iac_fail.append(
                found_at(
                    f"{staging.key} and {prod.key} are separate copies of the manifests",
                    prod.path,
                    None,
                )
            )
    mirrors = conclude(
        ctx,
        MIRRORS,
        facts,
        kinds=PARITY_KINDS,
        objects=compared,
        failures=mirror_fail,
        passes=mirror_pass,
        unknowns=mirror_unknown,
        fail_lead="Staging does not mirror production",
        pass_lead="Staging mirrors production",
        remediation=(
            "# kustomize: one base, an overlay per environment; overlays change sizes only\n"
            "k8s/base/kustomization.yaml        # every object, probes, policies\n"
            "k8s/overlays/staging/kustomization.yaml\n"
            "  resources: [../../base]\n  patches: [{path: replicas.yaml}]\n"
            "k8s/overlays/production/kustomization.yaml\n"
            "  resources: [../../base]\n  patches: [{path: replicas.yaml}]"
        ),
        note="That every release passes through staging first is not visible in manifests.",
    )
    if mirrors:
        yield mirrors
    if not iac_fail and not iac_pass:
        return
    iac = conclude(
        ctx,
        SAME_IAC,
        facts,
        kinds=PARITY_KINDS,
        objects=compared,
        failures=iac_fail,
        passes=iac_pass,
        fail_lead="Environments are not built from the same definitions",
        pass_lead="Staging and production come from the same definitions",
        remediation=(
            "# move the shared manifests into a base and make each environment an overlay\n"
            "k8s/base/kustomization.yaml:\n  resources: [deployment.yaml, service.yaml, ...]\n"
            "k8s/overlays/<env>/kustomization.yaml:\n  resources: [../../base]"
        ),
        note="Drift between the cluster and the committed manifests is not visible here.",
    )
    if iac:
        yield iac


def listing_short(items: list[str]) -> str:
    shown = ", ".join(items[:6])
    return shown + (f" and {len(items) - 6} more" if len(items) > 6 else "")


def _compare_chart_values(
    facts: KubernetesFacts,
    prod: Environment,
    staging: Environment,
    fail: list[Finding],
    ok: list[Finding],
    unsure: list[Finding],
) -> None:
    """Compare what a chart emits with staging's and production's values."""
    chart = next(
        (c for c in facts.charts if any(v.environment == prod.key for v in c.values)), None
    )
    if chart is None:
        return
    prod_values = next(v for v in chart.values if v.environment == prod.key)
    stage_values = next((v for v in chart.values if v.environment == staging.key), None)
    if stage_values is None:
        return
    drift = []
    undecided = []
    for kind in sorted(chart.kinds):
        a, b = chart.emitted(prod_values, kind), chart.emitted(stage_values, kind)
        if "unknown" in (a.state, b.state):
            undecided.append(kind)
        elif a.state != b.state:
            where_ = "production" if a.state == "set" else "staging"
            drift.append(f"{kind} rendered only in {where_}")
    for kind in chart_workload_kinds(chart, WORKLOAD_KINDS):
        for key in ("readinessProbe", "livenessProbe"):
            a, b = chart.setting(prod_values, kind, key), chart.setting(stage_values, kind, key)
            if a.known and b.known and a.state != b.state:
                drift.append(
                    f"{kind} {key} set only in {'production' if a.state == 'set' else 'staging'}"
                )
    text = f"{staging.key} vs {prod.key}"
    if drift:
        fail.append(found_at(f"{text}: {listing_short(drift)}", staging.path, None))
    elif undecided:
        unsure.append(
            found_at(
                f"{text}: whether {', '.join(undecided)} render is not decidable",
                staging.path,
                None,
            )
        )
    else:
        ok.append(
            found_at(f"{text} render the same kinds of objects and probes", staging.path, None)
        )
