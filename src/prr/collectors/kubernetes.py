"""Kubernetes objects in the repository: plain manifests, Kustomize overlays and Helm charts.

Every ``*.yaml``/``*.yml``/``*.json`` file whose documents carry ``apiVersion``
and ``kind`` is read (multi-document streams, ``kind: List`` expanded), each
object with its file, line and a way to find the line of any nested key.
Kustomize overlays are rendered with ``kustomize build`` or ``kubectl
kustomize`` when one is installed; otherwise (or when rendering fails) their
base and overlay files are assembled here, patches approximated, and a scan
error names the overlay. Helm charts are rendered with ``helm template`` when
helm is installed; otherwise their templates and values files are kept so
that checks can decide what the values decide (:meth:`HelmChart.setting`)
and leave the rest unknown. Objects are grouped into environments (overlays,
``values-<env>.yaml`` files, folders named after an environment) so that
environment parity can be compared. Secret values are never kept: only the
names of their keys.
"""

from __future__ import annotations

import json
import posixpath
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from prr.collectors.base import CollectContext, Collector, register
from prr.collectors.files import FileEntry
from prr.errors import CollectorError
from prr.model.yamlsource import YamlDocument, YamlProblem, load_yaml_documents

NAME = "kubernetes"
RENDER_TIMEOUT = 30.0
"""Seconds one ``kustomize build`` or ``helm template`` may take."""

Key = tuple[str | int, ...]

WORKLOAD_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet", "Pod", "Rollout"}
)
LONG_RUNNING_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod", "Rollout"}
)
SCALABLE_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "Rollout"})
AUTOSCALER_KINDS = frozenset({"HorizontalPodAutoscaler", "ScaledObject"})
ROUTE_KINDS = frozenset(
    {"Ingress", "HTTPRoute", "GRPCRoute", "VirtualService", "IngressRoute", "HTTPProxy", "Route"}
)
RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})

PRODUCTION = "production"
STAGING = "staging"
_ENV_ALIASES = {
    "prod": PRODUCTION,
    "production": PRODUCTION,
    "prd": PRODUCTION,
    "live": PRODUCTION,
    "staging": STAGING,
    "stage": STAGING,
    "stg": STAGING,
    "preprod": STAGING,
    "pre-prod": STAGING,
    "preproduction": STAGING,
    "pre-production": STAGING,
    "dev": "development",
    "develop": "development",
    "development": "development",
    "sandbox": "sandbox",
    "qa": "qa",
    "uat": "uat",
    "test": "test",
    "testing": "test",
    "tests": "test",
    "testdata": "test",
    "fixtures": "test",
    "demo": "demo",
    "example": "example",
    "examples": "example",
}
NOT_DEPLOYED_STAGES = frozenset({"test", "example"})
"""Environments whose objects are samples or fixtures, never evidence about production."""

_MANIFEST_DIRS = frozenset(
    {
        "k8s",
        "kubernetes",
        "kube",
        "manifests",
        "deploy",
        "deployment",
        "deployments",
        "kustomize",
        "overlays",
        "base",
        "bases",
        "helm",
        "charts",
        "gitops",
        "argocd",
        "flux",
        "clusters",
    }
)
"""Folders whose unreadable YAML is reported even when it shows no ``apiVersion``/``kind``."""
_KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@|github\.com/|gitlab\.com/|bitbucket\.org/)")
_KIND_LINE = re.compile(r"""^\s*(?:-\s+)?["']?kind["']?\s*:\s*["']?([A-Za-z][A-Za-z0-9]*)""", re.M)
_API_LINE = re.compile(r"""^\s*(?:-\s+)?["']?apiVersion["']?\s*:""", re.M)
_JSON_API = re.compile(r'"apiVersion"\s*:')
_JSON_KIND = re.compile(r'"kind"\s*:')
_TEMPLATE_KIND = re.compile(r"^kind:\s*[\"']?([A-Za-z][A-Za-z0-9]*)", re.M)
_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_VALUES_REF = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)")


# --------------------------------------------------------------------------- helpers


def as_map(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else an empty one (manifests are often partial)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def dig(data: Any, *keys: str | int) -> Any:
    """The value at ``keys`` inside nested mappings and lists, or None."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(data, list) or not -len(data) <= key < len(data):
                return None
            data = data[key]
        else:
            if not isinstance(data, dict):
                return None
            data = data.get(key)
    return data


def environment_name(component: str) -> str | None:
    """The canonical environment a path component or file stem names, if any."""
    lowered = component.lower()
    if lowered in _ENV_ALIASES:
        return _ENV_ALIASES[lowered]
    tokens = [t for t in re.split(r"[-_.]", lowered) if t]
    found = [_ENV_ALIASES[t] for t in tokens if t in _ENV_ALIASES]
    if STAGING in found:
        return STAGING
    return found[0] if found else None


def stage_of_path(path: str) -> tuple[str | None, str | None]:
    """(environment, folder naming it) for the deepest directory of ``path`` that names one."""
    parts = path.split("/")
    for depth in range(len(parts), 0, -1):
        env = environment_name(parts[depth - 1])
        if env:
            return env, "/".join(parts[:depth])
    return None, None


def selector_matches(selector: Any, labels: Mapping[str, Any], *, plain: bool = False) -> bool:
    """Whether a label selector selects ``labels``.

    ``plain`` selectors are a Service's ``spec.selector`` map (empty selects
    nothing); others are ``LabelSelector`` objects (empty selects everything).
    """
    if plain:
        sel = as_map(selector)
        return bool(sel) and all(str(labels.get(k)) == str(v) for k, v in sel.items())
    sel = as_map(selector)
    for key, value in as_map(sel.get("matchLabels")).items():
        if str(labels.get(key)) != str(value):
            return False
    for expr in as_list(sel.get("matchExpressions")):
        expr = as_map(expr)
        key = str(expr.get("key"))
        values = {str(v) for v in as_list(expr.get("values"))}
        operator = expr.get("operator")
        if operator == "In" and str(labels.get(key)) not in values:
            return False
        if operator == "NotIn" and key in labels and str(labels[key]) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def truthy(value: Any) -> bool:
    """Go template truthiness: false, 0, nil and empty collections are false."""
    return value not in (None, False, 0, "", [], {})


# --------------------------------------------------------------------------- objects


@dataclass(frozen=True, eq=False)
class Source:
    """Where (part of) an object was written: a parsed document and the object's key in it."""

    path: str
    document: YamlDocument
    base: Key = ()

    def data(self) -> Any:
        return dig(self.document.data, *self.base) if self.base else self.document.data

    def exact_line(self, keys: Key) -> int | None:
        """Line of ``keys`` if this document itself sets them."""
        full = self.base + keys
        pos = self.document.key_positions.get(full) or self.document.positions.get(full)
        return pos[0] if pos else None

    def nearest_line(self, keys: Key) -> int | None:
        """Line of ``keys`` or of the nearest ancestor this document has."""
        return self.document.where(self.base + keys, key=True)[0]


@dataclass(frozen=True, eq=False)
class K8sObject:
    """One Kubernetes object as written in a file or as rendered for an environment.

    ``origin`` is ``file`` (as written), ``kustomize`` (rendered overlay),
    ``kustomize-unrendered`` (overlay assembled without kustomize) or ``helm``.
    ``environment`` is the key of its :class:`Environment`, or None.
    """

    kind: str
    api_version: str
    name: str
    namespace: str | None
    body: Mapping[str, Any]
    path: str
    line: int | None
    origin: str = "file"
    environment: str | None = None
    sources: tuple[Source, ...] = ()
    secret_keys: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        return self.api_version.split("/", 1)[0] if "/" in self.api_version else ""

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def source_name(self) -> str:
        """The name as written in the primary source file (before overlay prefixes)."""
        if self.sources:
            name = dig(self.sources[0].data(), "metadata", "name")
            if isinstance(name, str) and name:
                return name
        return self.name

    def get(self, *keys: str | int) -> Any:
        return dig(self.body, *keys)

    @property
    def annotations(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in as_map(self.get("metadata", "annotations")).items()}

    @property
    def labels(self) -> dict[str, Any]:
        return as_map(self.get("metadata", "labels"))

    def locate(self, *keys: str | int) -> tuple[str, int | None]:
        """(path, line) of a nested key: the last source (patch) setting it, else the nearest.

        Top-level keys (``spec``) always point at the primary source, which a patch only amends.
        """
        for source in reversed(self.sources if len(keys) > 1 else self.sources[:1]):
            line = source.exact_line(keys)
            if line:
                return source.path, line
        if self.sources:
            return self.sources[0].path, self.sources[0].nearest_line(keys) or self.line
        return self.path, self.line

    def locate_container(
        self, container: str, *keys: str | int, init: bool = False
    ) -> tuple[str, int | None]:
        """(path, line) of ``keys`` inside the named container of the pod template."""
        spec = self.pod_spec_keys
        if spec is None:
            return self.locate()
        group = "initContainers" if init else "containers"
        fallback: tuple[str, int | None] | None = None
        for source in reversed(self.sources):
            items = as_list(dig(source.data(), *spec, group))
            for index, item in enumerate(items):
                if as_map(item).get("name") != container:
                    continue
                line = source.exact_line((*spec, group, index, *keys))
                if line:
                    return source.path, line
                if fallback is None:
                    fallback = (source.path, source.nearest_line((*spec, group, index, *keys)))
        return fallback or self.locate(*spec, group)

    @property
    def pod_spec_keys(self) -> Key | None:
        """Keys of the pod spec inside this object, for workload kinds."""
        if self.kind == "Pod":
            return ("spec",)
        if self.kind == "CronJob":
            return ("spec", "jobTemplate", "spec", "template", "spec")
        if self.kind in WORKLOAD_KINDS:
            return ("spec", "template", "spec")
        return None

    @property
    def pod_spec(self) -> dict[str, Any]:
        keys = self.pod_spec_keys
        return as_map(self.get(*keys)) if keys else {}

    @property
    def pod_labels(self) -> dict[str, Any]:
        keys = self.pod_spec_keys
        if keys is None:
            return {}
        if self.kind == "Pod":
            return self.labels
        return as_map(self.get(*keys[:-1], "metadata", "labels"))

    def containers(self, *, init: bool = False) -> list[dict[str, Any]]:
        """The pod template's containers (or init containers), mappings only."""
        group = "initContainers" if init else "containers"
        return [c for c in as_list(self.pod_spec.get(group)) if isinstance(c, dict)]

    def long_running_containers(self) -> list[tuple[dict[str, Any], bool]]:
        """Containers that run for the pod's life: regular ones and native sidecars."""
        out = [(c, False) for c in self.containers()]
        out += [(c, True) for c in self.containers(init=True) if c.get("restartPolicy") == "Always"]
        return out

    @property
    def replicas(self) -> int | None:
        """``spec.replicas`` (Kubernetes defaults it to 1); None when not a plain int."""
        if self.kind not in SCALABLE_KINDS:
            return None
        value = self.get("spec", "replicas")
        if value is None:
            return 1
        return value if isinstance(value, int) and not isinstance(value, bool) else None


# --------------------------------------------------------------------------- kustomize / helm


@dataclass(frozen=True)
class SecretGenerator:
    """A kustomize ``secretGenerator`` entry; only the names of literal keys are kept."""

    name: str
    path: str
    line: int | None
    literal_keys: tuple[str, ...]
    files: tuple[str, ...]
    envs: tuple[str, ...]
    committed: tuple[str, ...] = ()
    """Files of ``files``/``envs`` that are in the repository (not ignored by git)."""


@dataclass(frozen=True)
class Kustomization:
    """One kustomization file and what it pulls in (paths resolved in the repository)."""

    path: str
    directory: str
    resources: tuple[str, ...]
    """Resource files and directories, components included; remote URLs kept as written."""
    patches: tuple[str, ...]
    secret_generators: tuple[SecretGenerator, ...] = ()
    namespace: str | None = None
    root: bool = False
    """Not pulled in by another kustomization: an overlay (or a standalone kustomization)."""
    rendered: bool | None = None
    """True when rendered by kustomize; False when that failed; None for non-roots."""
    render_error: str | None = None


@dataclass(frozen=True)
class HelmTemplate:
    """One file of a chart's ``templates/`` folder, kept as text."""

    path: str
    kinds: tuple[str, ...]
    text: str


@dataclass(frozen=True, eq=False)
class HelmValues:
    """A chart's values for one environment: ``values.yaml`` merged with the environment's file."""

    environment: str
    name: str
    files: tuple[Source, ...]
    data: Mapping[str, Any]

    def lookup(self, dotted: str) -> tuple[bool, Any]:
        """(found, value) of ``a.b.c`` in the merged values."""
        data: Any = self.data
        for part in dotted.strip(".").split("."):
            if not isinstance(data, dict) or part not in data:
                return False, None
            data = data[part]
        return True, data

    def locate(self, dotted: str) -> tuple[str, int | None]:
        """(path, line) of the values file that last sets ``a.b.c``, else of values.yaml."""
        keys = tuple(dotted.strip(".").split("."))
        for source in reversed(self.files):
            line = source.exact_line(keys)
            if line:
                return source.path, line
        return (self.files[0].path, None) if self.files else ("", None)


@dataclass(frozen=True)
class Setting:
    """What a chart decides about one key of one kind of object, from its templates and values.

    ``state`` is ``set``, ``unset`` or ``unknown`` (the template computes it in
    a way that cannot be evaluated without helm): never treat unknown as set.
    """

    state: str
    value: Any = None
    path: str | None = None
    line: int | None = None
    note: str = ""

    @property
    def known(self) -> bool:
        return self.state != "unknown"


@dataclass(frozen=True)
class HelmChart:
    """A Helm chart: its templates and values per environment, and whether helm rendered it."""

    path: str
    directory: str
    name: str
    rendered: bool
    render_note: str
    templates: tuple[HelmTemplate, ...]
    values: tuple[HelmValues, ...]

    @property
    def kinds(self) -> set[str]:
        return {k for t in self.templates for k in t.kinds}

    def templates_of(self, kind: str) -> list[HelmTemplate]:
        return [t for t in self.templates if kind in t.kinds]

    def values_for(self, stage: str | None) -> HelmValues | None:
        """The values of the environment named ``stage``, else the default values."""
        for values in self.values:
            if stage and values.name == stage:
                return values
        return self.values[0] if self.values else None

    def emitted(self, values: HelmValues, kind: str) -> Setting:
        """Whether the chart emits an object of ``kind`` with these values."""
        templates = self.templates_of(kind)
        if not templates:
            return Setting("unset", note=f"the chart has no {kind} template")
        states = [_guard_state(t, _kind_offset(t, kind), values) for t in templates]
        for template, state in zip(templates, states, strict=True):
            if state.state == "set":
                return Setting("set", path=template.path, line=_kind_line(template, kind))
        for state in states:
            if state.state == "unknown":
                return state
        return states[0]

    def setting(self, values: HelmValues, kind: str, key: str) -> Setting:
        """The value the chart gives ``key`` (e.g. ``livenessProbe``) in its ``kind`` templates."""
        templates = self.templates_of(kind)
        if not templates:
            return Setting("unset", note=f"the chart has no {kind} template")
        pattern = re.compile(rf"^(\s*)(?:-\s+)?{re.escape(key)}\s*:(.*)$", re.M)
        for template in templates:
            match = pattern.search(template.text)
            if match is None:
                continue
            line = template.text.count("\n", 0, match.start()) + 1
            guard = _guard_state(template, match.start(), values)
            if guard.state != "set":
                return Setting(guard.state, path=template.path, line=line, note=guard.note)
            rest = match.group(2).strip()
            follow = template.text[match.end() : match.end() + 400].split("\n")[1:3]
            expr = rest if rest else next((f for f in follow if "{{" in f), "")
            if "{{" in expr:
                ref = _VALUES_REF.search(expr)
                if ref is None or re.search(r"\{\{-?\s*(include|tpl|template)\b", expr):
                    return Setting(
                        "unknown", path=template.path, line=line, note="computed by a template"
                    )
                dotted = ref.group(1)[1:]
                found, value = values.lookup(dotted)
                path, vline = values.locate(dotted)
                if not found or not truthy(value):
                    return Setting("unset", value, path, vline, note=f"{dotted} is empty in {path}")
                return Setting("set", value, path, vline, note=f"from {dotted}")
            return Setting("set", rest or True, template.path, line, note="set in the template")
        return Setting("unset", path=templates[0].path, note=f"no {key} in the {kind} template")


_ANNOTATION_LINE = re.compile(
    r"""^\s+["']?([A-Za-z0-9.-]+/[A-Za-z0-9_.-]+)["']?\s*:\s*["']?([^"'{}\n]*?)["']?\s*$""", re.M
)


def values_ingress(chart: HelmChart, values: HelmValues) -> K8sObject | None:
    """The Ingress a standard chart renders, from ``ingress.*`` values and literal annotations.

    None unless the chart's Ingress template reads ``.Values.ingress``; annotations
    the template computes otherwise are not seen.
    """
    templates = chart.templates_of("Ingress")
    if not templates or not any(".Values.ingress" in t.text for t in templates):
        return None
    annotations: dict[str, Any] = {}
    for template in templates:
        for key, value in _ANNOTATION_LINE.findall(template.text):
            annotations[key] = value
    _, from_values = values.lookup("ingress.annotations")
    annotations.update({str(k): str(v) for k, v in as_map(from_values).items()})
    _, class_name = values.lookup("ingress.className")
    tls = chart.setting(values, "Ingress", "tls")
    _, hosts = values.lookup("ingress.hosts")
    spec: dict[str, Any] = {
        "rules": [{"host": as_map(h).get("host")} for h in as_list(hosts) if as_map(h).get("host")]
    }
    if class_name:
        spec["ingressClassName"] = class_name
    if tls.state == "set":
        spec["tls"] = tls.value if isinstance(tls.value, list) else [{}]
    path, line = values.locate("ingress")
    body = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": chart.name, "annotations": annotations},
        "spec": spec,
    }
    sources = tuple(Source(f.path, f.document, ("ingress",)) for f in values.files)
    return _make_object(body, sources, path or chart.path, line, origin="helm-values")


def _kind_offset(template: HelmTemplate, kind: str) -> int:
    match = re.search(rf"^kind:\s*[\"']?{kind}\b", template.text, re.M)
    return match.start() if match else 0


def _kind_line(template: HelmTemplate, kind: str) -> int | None:
    return template.text.count("\n", 0, _kind_offset(template, kind)) + 1


def _guard_state(template: HelmTemplate, offset: int, values: HelmValues) -> Setting:
    """Whether the ``if``/``with`` blocks enclosing ``offset`` are open with these values."""
    stack: list[tuple[str, str, bool]] = []
    for action in _ACTION.finditer(template.text, 0, offset):
        words = action.group(1).split(None, 1)
        head = words[0] if words else ""
        rest = words[1] if len(words) > 1 else ""
        if head in ("if", "with", "range", "define", "block"):
            stack.append((head, rest, False))
        elif head == "else" and stack:
            kind, cond, _ = stack[-1]
            stack[-1] = (kind, cond if not rest else f"<else {rest}>", True)
        elif head == "end" and stack:
            stack.pop()
    for kind, cond, negated in stack:
        if kind == "define":
            return Setting("unknown", note="inside a named template")
        if kind == "range":
            return Setting("unknown", note="inside a range loop")
        state = _condition(cond, values)
        if state is None:
            return Setting("unknown", note=f"depends on {{{{ {kind} {cond} }}}}")
        if state == negated:
            return Setting("unset", note=f"disabled by {{{{ {kind} {cond} }}}}")
    return Setting("set")


def _condition(cond: str, values: HelmValues) -> bool | None:
    """Evaluate ``.Values.x`` / ``not .Values.x``; None for anything more complex."""
    cond = cond.strip()
    negate = False
    if cond.startswith("not "):
        negate, cond = True, cond[4:].strip()
    match = re.fullmatch(r"\(?\s*\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)\s*\)?", cond)
    if match is None:
        return None
    found, value = values.lookup(match.group(1)[1:])
    result = found and truthy(value)
    return not result if negate else result


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class Environment:
    """A deployable grouping: a kustomize overlay, a chart's values file, or a named folder."""

    key: str
    name: str | None
    """Canonical environment (production, staging, development …) or None if unnamed."""
    kind: str
    """``kustomize``, ``helm`` or ``folder``."""
    path: str
    """The kustomization file, the values file, or the folder."""
    rendered: bool = True


@dataclass(frozen=True)
class Unreadable:
    """Kubernetes evidence that could not be read; ``kinds`` None means it could hold anything."""

    path: str
    reason: str
    line: int | None = None
    kinds: frozenset[str] | None = None
    environment: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where} ({self.reason})"


@dataclass(frozen=True)
class TemplatedFile:
    """A manifest with template syntax outside a chart: not parsed, its kinds guessed."""

    path: str
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class KubernetesFacts:
    """Every Kubernetes object found, rendered per environment where possible."""

    objects: tuple[K8sObject, ...] = ()
    """What gets deployed: rendered overlays and charts, plus plain manifests outside them."""
    file_objects: tuple[K8sObject, ...] = ()
    """Every object as written in a file (kustomize bases and patches-free files included)."""
    kustomizations: tuple[Kustomization, ...] = ()
    charts: tuple[HelmChart, ...] = ()
    environments: tuple[Environment, ...] = ()
    templated: tuple[TemplatedFile, ...] = ()
    unreadable: tuple[Unreadable, ...] = ()
    files: tuple[str, ...] = ()
    """Files that held Kubernetes objects."""

    @property
    def found(self) -> bool:
        """Whether there is any Kubernetes evidence at all."""
        return bool(self.objects or self.charts or self.unreadable or self.templated)

    def environment(self, key: str | None) -> Environment | None:
        for env in self.environments:
            if env.key == key:
                return env
        return None

    def stage(self, obj: K8sObject) -> str | None:
        env = self.environment(obj.environment)
        return env.name if env else None

    def scope(self) -> tuple[K8sObject, ...]:
        """Objects that tell about production: production environments plus shared manifests.

        Without a production environment every deployable environment counts;
        samples and fixtures (``examples/``, ``tests/``) never do.
        """
        stages = {e.key: e.name for e in self.environments}
        live = [
            o for o in self.objects if stages.get(o.environment or "") not in NOT_DEPLOYED_STAGES
        ]
        prod = {k for k, name in stages.items() if name == PRODUCTION}
        if prod:
            return tuple(o for o in live if o.environment is None or o.environment in prod)
        return tuple(live)

    def in_environment(self, key: str) -> tuple[K8sObject, ...]:
        """Objects deployed in one environment, shared manifests included."""
        return tuple(o for o in self.objects if o.environment in (key, None))

    @cached_property
    def _by_kind(self) -> dict[str, list[K8sObject]]:
        index: dict[str, list[K8sObject]] = {}
        for obj in self.objects:
            index.setdefault(obj.kind, []).append(obj)
        return index

    def related(
        self, obj: K8sObject, kinds: Iterable[str], among: Sequence[K8sObject] | None = None
    ) -> list[K8sObject]:
        """Objects of ``kinds`` deployed together with ``obj`` (same environment and namespace)."""
        wanted = set(kinds)
        if among is None:
            pool: Sequence[K8sObject] = [
                o for k in sorted(wanted) for o in self._by_kind.get(k, [])
            ]
        else:
            pool = among
        return [
            o
            for o in pool
            if o.kind in wanted
            and (
                o.environment == obj.environment or o.environment is None or obj.environment is None
            )
            and (o.namespace == obj.namespace or o.namespace is None or obj.namespace is None)
        ]

    def workloads(
        self, objects: Sequence[K8sObject], kinds: Iterable[str] = WORKLOAD_KINDS
    ) -> list[K8sObject]:
        """Workloads among ``objects``; Deployments an Argo Rollout takes over are left out."""
        wanted = set(kinds)
        taken = {
            (
                o.environment,
                o.namespace,
                str(o.get("spec", "workloadRef", "kind") or "Deployment"),
                str(o.get("spec", "workloadRef", "name")),
            )
            for o in objects
            if o.kind == "Rollout" and o.get("spec", "workloadRef")
        }
        return [
            o
            for o in objects
            if o.kind in wanted
            and o.group not in ("kustomize.config.k8s.io",)
            and (o.environment, o.namespace, o.kind, o.name) not in taken
        ]

    def pod_template_owner(self, obj: K8sObject) -> K8sObject:
        """The object holding the pod template: a Rollout's referenced Deployment, else itself."""
        ref = as_map(obj.get("spec", "workloadRef"))
        if obj.kind == "Rollout" and ref.get("name"):
            for other in self.related(obj, [str(ref.get("kind") or "Deployment")]):
                if other.name == ref.get("name"):
                    return other
        return obj

    def autoscalers_for(self, workload: K8sObject) -> list[K8sObject]:
        """HPAs and KEDA ScaledObjects whose scale target is ``workload``."""
        out = []
        for scaler in self.related(workload, AUTOSCALER_KINDS):
            target = as_map(scaler.get("spec", "scaleTargetRef"))
            kind = target.get("kind") or ("Deployment" if scaler.kind == "ScaledObject" else None)
            if target.get("name") == workload.name and kind == workload.kind:
                out.append(scaler)
        return out

    def pdbs_for(self, workload: K8sObject) -> list[K8sObject]:
        labels = self.pod_template_owner(workload).pod_labels
        return [
            pdb
            for pdb in self.related(workload, ["PodDisruptionBudget"])
            if labels and selector_matches(pdb.get("spec", "selector"), labels)
        ]

    def services_for(self, workload: K8sObject) -> list[K8sObject]:
        labels = self.pod_template_owner(workload).pod_labels
        return [
            svc
            for svc in self.related(workload, ["Service"])
            if labels and selector_matches(svc.get("spec", "selector"), labels, plain=True)
        ]

    def routes_to(self, service: K8sObject) -> list[K8sObject]:
        """Ingresses, HTTPRoutes and mesh/controller routes sending traffic to ``service``."""
        return [r for r in self.related(service, ROUTE_KINDS) if service.name in route_backends(r)]

    def network_policies_for(self, workload: K8sObject) -> list[K8sObject]:
        labels = self.pod_template_owner(workload).pod_labels
        out = []
        for policy in self.related(workload, ["NetworkPolicy", "CiliumNetworkPolicy"]):
            key = "podSelector" if policy.kind == "NetworkPolicy" else "endpointSelector"
            selector = policy.get("spec", key)
            if selector is not None and selector_matches(selector, labels):
                out.append(policy)
        return out

    def kustomize_reach(self, directory: str) -> set[str]:
        """Kustomization directories ``directory`` builds on, itself included."""
        by_dir = {k.directory or ".": k for k in self.kustomizations}
        seen: set[str] = set()
        todo = [directory]
        while todo:
            current = todo.pop()
            if current in seen or current not in by_dir:
                continue
            seen.add(current)
            todo.extend(r for r in by_dir[current].resources if r in by_dir)
        return seen

    def unreadable_for(
        self, kinds: Iterable[str], objects: Sequence[K8sObject] = ()
    ) -> list[Unreadable]:
        """Unreadable evidence that may hold ``kinds`` for the environments of ``objects``."""
        wanted = set(kinds)
        envs = {o.environment for o in objects}
        out = [
            u
            for u in self.unreadable
            if (u.kinds is None or u.kinds & wanted)
            and (u.environment is None or not envs or u.environment in envs)
        ]
        out += [
            Unreadable(t.path, "templated manifest, not rendered", kinds=frozenset(t.kinds))
            for t in self.templated
            if wanted & set(t.kinds)
        ]
        return out


def route_backends(route: K8sObject) -> set[str]:
    """Names of the Services a route object sends traffic to."""
    spec = as_map(route.get("spec"))
    names: set[str] = set()

    def add(value: Any) -> None:
        if isinstance(value, str) and value:
            names.add(value.split(".", 1)[0])

    if route.kind == "Ingress":
        for backend in [spec.get("defaultBackend"), spec.get("backend")]:
            add(dig(backend, "service", "name"))
            add(dig(backend, "serviceName"))
        for rule in as_list(spec.get("rules")):
            for item in as_list(dig(rule, "http", "paths")):
                add(dig(item, "backend", "service", "name"))
                add(dig(item, "backend", "serviceName"))
    elif route.kind in ("HTTPRoute", "GRPCRoute"):
        for rule in as_list(spec.get("rules")):
            for ref in as_list(dig(rule, "backendRefs")):
                if as_map(ref).get("kind", "Service") == "Service":
                    add(as_map(ref).get("name"))
    elif route.kind == "VirtualService":
        for proto in ("http", "tcp", "tls"):
            for rule in as_list(spec.get(proto)):
                for dest in as_list(as_map(rule).get("route")):
                    add(dig(dest, "destination", "host"))
    elif route.kind in ("IngressRoute", "HTTPProxy"):
        for rule in as_list(spec.get("routes")):
            for svc in as_list(as_map(rule).get("services")):
                add(as_map(svc).get("name"))
    elif route.kind == "Route":
        add(dig(spec, "to", "name"))
    return names


# --------------------------------------------------------------------------- the collector


def _is_object(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("apiVersion"), str)
        and isinstance(data.get("kind"), str)
        and bool(data["apiVersion"])
        and bool(data["kind"])
    )


def _ignored(data: Mapping[str, Any]) -> bool:
    """Tool configuration that looks like an object but is not deployed (or holds credentials)."""
    api = str(data.get("apiVersion"))
    kind = str(data.get("kind"))
    return (
        api.startswith("kustomize.config.k8s.io")
        or (api == "v1" and kind == "Config")
        or api.startswith("skaffold/")
    )


_PLACEHOLDER = re.compile(r"^\s*(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\$\([A-Za-z_][A-Za-z0-9_]*\))\s*$")


def _redact(data: Any) -> Any:
    """A copy of a document with every Secret's values replaced (key names kept).

    A value becomes ``"<value>"``, or ``"<placeholder>"`` when it is a
    ``${VAR}``/``$(VAR)`` substituted at deploy time, or ``""`` when empty.
    """
    if not isinstance(data, dict):
        return data
    if data.get("kind") == "Secret":
        out = dict(data)
        for key in ("data", "stringData"):
            if isinstance(out.get(key), dict):
                out[key] = {k: _masked(v) for k, v in out[key].items()}
        return out
    if isinstance(data.get("items"), list) and str(data.get("kind", "")).endswith("List"):
        out = dict(data)
        out["items"] = [_redact(item) for item in data["items"]]
        return out
    return data


_SECRET_KEY = re.compile(
    r"^(?!existing).*(pass(word|wd)?|secret|token|api_?key|private_?key|credentials?)$", re.I
)


def _redact_values(data: Any) -> Any:
    """Chart values with secret-looking leaves (``password``, ``token`` …) replaced."""
    if isinstance(data, dict):
        return {
            k: "<redacted>"
            if _SECRET_KEY.search(str(k)) and isinstance(v, str | int | float) and str(v)
            else _redact_values(v)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [_redact_values(v) for v in data]
    return data


def _masked(value: Any) -> str:
    if value is None or str(value) == "":
        return ""
    return "<placeholder>" if _PLACEHOLDER.match(str(value)) else "<value>"


def _objects_in(document: YamlDocument) -> Iterator[tuple[dict[str, Any], Key]]:
    """(object, key) for each object of a document; ``kind: List`` items expanded."""
    data = document.data
    if not _is_object(data) or _ignored(data):
        return
    kind = data["kind"]
    if kind.endswith("List") and isinstance(data.get("items"), list):
        for index, item in enumerate(data["items"]):
            if _is_object(item) and not _ignored(item):
                yield item, ("items", index)
        return
    yield data, ()


def _make_object(
    data: dict[str, Any],
    sources: tuple[Source, ...],
    path: str,
    line: int | None,
    *,
    origin: str = "file",
    environment: str | None = None,
) -> K8sObject:
    metadata = as_map(data.get("metadata"))
    name = metadata.get("name") or metadata.get("generateName") or ""
    namespace = metadata.get("namespace")
    secret_keys: tuple[str, ...] = ()
    if data.get("kind") == "Secret":
        keys = [*as_map(data.get("data")), *as_map(data.get("stringData"))]
        secret_keys = tuple(str(k) for k in keys)
    return K8sObject(
        kind=str(data["kind"]),
        api_version=str(data["apiVersion"]),
        name=str(name),
        namespace=str(namespace) if namespace else None,
        body=data,
        path=path,
        line=line,
        origin=origin,
        environment=environment,
        sources=sources,
        secret_keys=secret_keys,
    )


def _merge(base: Any, patch: Any) -> Any:
    """A simplified strategic merge: maps merge, lists of named items merge by name."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            if key == "$patch":
                continue
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = _merge(out[key], value)
            else:
                out[key] = value
        return out
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(i, dict) and "name" in i for i in [*base, *patch])
    ):
        merged = {i["name"]: i for i in base}
        order = [i["name"] for i in base]
        for item in patch:
            if item["name"] in merged:
                merged[item["name"]] = _merge(merged[item["name"]], item)
            else:
                merged[item["name"]] = item
                order.append(item["name"])
        return [merged[n] for n in order]
    return patch


@dataclass
class _Tree:
    """A kustomization and what it reaches, for assembling and matching."""

    kustomization: Kustomization
    raw: dict[str, Any]
    children: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)


@register
class KubernetesCollector(Collector):
    """Reads manifests, Kustomize overlays and Helm charts into :class:`KubernetesFacts`."""

    name = NAME
    facts_type = KubernetesFacts

    def collect(self, ctx: CollectContext) -> KubernetesFacts:
        return _Scan(ctx).run()


class _Scan:
    """One collection run; keeps the intermediate tables."""

    def __init__(self, ctx: CollectContext) -> None:
        self.ctx = ctx
        options = as_map(ctx.settings.get("kubernetes"))
        self.render = options.get("render", True) is not False
        self.unreadable: list[Unreadable] = []
        self.docs: dict[str, list[YamlDocument]] = {}
        self.file_objects: list[K8sObject] = []
        self.templated: list[TemplatedFile] = []
        self.dirs: set[str] = set()
        self.paths: set[str] = {entry.path for entry in ctx.files}
        self.template_texts: dict[str, str] = {}
        self.literals: set[str] = set()
        """Generator literals: scrubbed from renderer messages, never stored."""
        for entry in ctx.files:
            parent = posixpath.dirname(entry.path)
            while parent and parent not in self.dirs:
                self.dirs.add(parent)
                parent = posixpath.dirname(parent)

    # -- errors

    def error(
        self,
        path: str,
        reason: str,
        line: int | None = None,
        kinds: frozenset[str] | None = None,
        environment: str | None = None,
    ) -> None:
        self.ctx.error(path, reason, NAME, line)
        self.unreadable.append(Unreadable(path, reason, line, kinds, environment))

    # -- reading

    def read(self, entry: FileEntry, *, always: bool = False) -> str | None:
        """The file's text; unreadable files that may be manifests (or ``always``) are recorded."""
        try:
            return self.ctx.files.read_text(entry)
        except CollectorError as exc:
            reason = str(exc).removeprefix(f"{entry.path}: ")
            if always:
                self.error(entry.path, f"not read: {reason}")
                return None
            head = b""
            if not entry.binary:
                try:
                    with entry.abspath.open("rb") as handle:
                        head = handle.read(65536)
                except OSError:
                    head = b"apiVersion kind"  # cannot tell: assume it may be a manifest
            if (b"apiVersion" in head and b"kind" in head) or (
                _in_manifest_dir(entry.path) and not entry.binary
            ):
                self.error(entry.path, f"not read: {reason}")
            return None

    def parse(self, entry: FileEntry, text: str) -> list[YamlDocument] | None:
        """Parse YAML (or JSON) with positions; None when it is not valid."""
        if entry.suffix == ".json":
            if not (_JSON_API.search(text) and _JSON_KIND.search(text)):
                return []
            try:
                return load_yaml_documents(text, entry.path)
            except YamlProblem:
                pass
            try:
                data = json.loads(text)
            except ValueError as exc:
                line = getattr(exc, "lineno", None)
                self.error(entry.path, f"invalid JSON: {exc}", line, _kinds_in(text))
                return None
            return [YamlDocument(data, entry.path)]
        looks = bool(_API_LINE.search(text) and _KIND_LINE.search(text))
        if not looks and not _in_manifest_dir(entry.path):
            return []
        try:
            return load_yaml_documents(text, entry.path)
        except YamlProblem as exc:
            if "{{" in text:
                self.templated.append(TemplatedFile(entry.path, tuple(sorted(_kinds_in(text)))))
                return None
            self.error(entry.path, exc.problem.message, exc.problem.line, _kinds_in(text))
            return None

    def read_objects(self, entry: FileEntry, chart: str | None = None) -> list[YamlDocument]:
        """Parse a manifest file once; chart templates with template syntax are kept as text."""
        if entry.path in self.docs:
            return self.docs[entry.path]
        text = self.read(entry)
        if (
            text is not None
            and chart is not None
            and entry.path.startswith(f"{chart}/templates/" if chart else "templates/")
        ):
            self.template_texts[entry.path] = text
            if "{{" in text:
                self.docs[entry.path] = []
                return []
        documents = self.parse(entry, text) if text is not None else None
        docs = [
            YamlDocument(_redact(d.data), d.source, d.positions, d.key_positions)
            for d in documents or []
        ]
        self.docs[entry.path] = docs
        return docs

    # -- the run

    def run(self) -> KubernetesFacts:
        files = self.ctx.files
        candidates = files.with_suffix(".yaml", ".yml", ".json")
        kust_entries = [
            e for e in files.match(*_KUSTOMIZATION_NAMES) if e.name in _KUSTOMIZATION_NAMES
        ]
        chart_entries = [e for e in candidates if e.name == "Chart.yaml"]
        chart_dirs = sorted({posixpath.dirname(e.path) for e in chart_entries}, key=len)
        trees = self.read_kustomizations(kust_entries)
        patch_files = {p for t in trees.values() for p in t.kustomization.patches}
        kust_paths = {e.path for e in kust_entries}

        by_path: dict[str, FileEntry] = {}
        owners: dict[str, str | None] = {}
        for entry in candidates:
            if entry.path in kust_paths or entry.name == "Chart.yaml":
                continue
            chart = _owner(entry.path, chart_dirs)
            if chart is not None and not _is_chart_manifest(entry.path, chart):
                continue
            by_path[entry.path] = entry
            owners[entry.path] = chart
        for path, entry in by_path.items():
            docs = self.read_objects(entry, owners[path])
            if path in patch_files:
                continue
            for doc in docs:
                for data, key in _objects_in(doc):
                    source = Source(path, doc, key)
                    line = doc.where(key)[0]
                    self.file_objects.append(_make_object(data, (source,), path, line))

        environments: list[Environment] = []
        deployed: list[K8sObject] = []
        consumed: set[str] = set()
        consumed.update(patch_files)
        kustomizations = self.render_kustomizations(
            trees, by_path, environments, deployed, consumed
        )
        charts = self.read_charts(chart_entries, chart_dirs, environments, deployed)
        rendered_charts = {c.directory for c in charts if c.rendered}

        folders: dict[str, str] = {}
        for obj in self.file_objects:
            if obj.path in consumed:
                continue
            chart = _owner(obj.path, chart_dirs)
            if chart is not None and chart in rendered_charts:
                continue
            env, folder = stage_of_path(posixpath.dirname(obj.path))
            if env and folder:
                folders[folder] = env
            deployed.append(_with_env(obj, folder if env else None))
        for folder, env in sorted(folders.items()):
            environments.append(Environment(folder, env, "folder", folder))

        return KubernetesFacts(
            objects=tuple(deployed),
            file_objects=tuple(self.file_objects),
            kustomizations=kustomizations,
            charts=charts,
            environments=tuple(environments),
            templated=tuple(self.templated),
            unreadable=tuple(self.unreadable),
            files=tuple(sorted({o.path for o in self.file_objects})),
        )

    # -- kustomize

    def read_kustomizations(self, entries: list[FileEntry]) -> dict[str, _Tree]:
        trees: dict[str, _Tree] = {}
        for entry in entries:
            text = self.read(entry, always=True)
            if text is None:
                continue
            try:
                docs = load_yaml_documents(text, entry.path)
            except YamlProblem as exc:
                self.error(entry.path, exc.problem.message, exc.problem.line)
                continue
            doc = docs[0] if docs else YamlDocument({}, entry.path)
            raw = as_map(doc.data)
            directory = posixpath.dirname(entry.path)
            tree = _Tree(self.kustomization(entry.path, directory, raw, doc), raw)
            for key in ("secretGenerator", "configMapGenerator"):
                for gen in as_list(raw.get(key)):
                    for literal in as_list(as_map(gen).get("literals")):
                        text = str(literal)
                        self.literals.update(p for p in (text, text.split("=", 1)[-1]) if p)
            for ref in tree.kustomization.resources:
                if _REMOTE.match(ref):
                    tree.remote.append(ref)
                elif ref in self.dirs or (
                    ref not in self.paths and not ref.endswith((".yaml", ".yml", ".json"))
                ):
                    tree.children.append(ref)
                else:
                    tree.files.append(ref)
            trees[directory] = tree
        referenced = {c for t in trees.values() for c in t.children}
        for directory, tree in trees.items():
            if directory not in referenced:
                tree.kustomization = replace(tree.kustomization, root=True)
        return trees

    def kustomization(
        self, path: str, directory: str, raw: dict[str, Any], doc: YamlDocument
    ) -> Kustomization:
        def resolve(ref: Any) -> str | None:
            if not isinstance(ref, str) or not ref.strip():
                return None
            text = ref.strip()
            if _REMOTE.match(text) or "?ref=" in text:
                return text
            joined = posixpath.normpath(posixpath.join(directory, text))
            return None if joined.startswith("..") else joined.removeprefix("./")

        resources = [
            r
            for key in ("resources", "bases", "components", "crds")
            for r in (resolve(x) for x in as_list(raw.get(key)))
            if r
        ]
        patches: list[str] = []
        for item in as_list(raw.get("patchesStrategicMerge")):
            if isinstance(item, str) and "\n" not in item and ":" not in item:
                patches.append(resolve(item) or "")
        for key in ("patches", "patchesJson6902"):
            for item in as_list(raw.get(key)):
                ref = resolve(as_map(item).get("path")) if isinstance(item, dict) else resolve(item)
                if ref:
                    patches.append(ref)
        generators = []
        for index, gen in enumerate(as_list(raw.get("secretGenerator"))):
            gen = as_map(gen)
            literals = tuple(
                str(lit).split("=", 1)[0] if "=" in str(lit) else "(malformed literal)"
                for lit in as_list(gen.get("literals"))
                if lit
            )
            files = tuple(
                r
                for f in as_list(gen.get("files"))
                for r in [resolve(str(f).split("=", 1)[-1])]
                if r
            )
            envs = tuple(r for e in as_list(gen.get("envs")) for r in [resolve(e)] if r)
            env_file = resolve(gen.get("env"))
            generators.append(
                SecretGenerator(
                    str(gen.get("name") or ""),
                    path,
                    doc.where(("secretGenerator", index), key=True)[0],
                    literals,
                    files,
                    envs + ((env_file,) if env_file else ()),
                    tuple(f for f in (*files, *envs, env_file or "") if f in self.paths),
                )
            )
        namespace = raw.get("namespace")
        return Kustomization(
            path=path,
            directory=directory,
            resources=tuple(resources),
            patches=tuple(p for p in patches if p),
            secret_generators=tuple(generators),
            namespace=str(namespace) if isinstance(namespace, str) else None,
        )

    def reach(self, trees: dict[str, _Tree], directory: str, seen: set[str]) -> list[str]:
        """Kustomization directories reachable from ``directory``, children first."""
        if directory in seen or directory not in trees:
            return []
        seen.add(directory)
        out: list[str] = []
        for child in trees[directory].children:
            out += self.reach(trees, child, seen)
        out.append(directory)
        return out

    def render_kustomizations(
        self,
        trees: dict[str, _Tree],
        by_path: dict[str, FileEntry],
        environments: list[Environment],
        deployed: list[K8sObject],
        consumed: set[str],
    ) -> tuple[Kustomization, ...]:
        for tree in trees.values():
            consumed.update(tree.files)
        roots = sorted(d for d, t in trees.items() if t.kustomization.root)
        tools = _kustomize_commands() if self.render else []
        rendered: dict[str, tuple[str | None, str]] = {}
        if tools and roots:
            with ThreadPoolExecutor(max_workers=min(8, len(roots))) as pool:
                outputs = pool.map(lambda d: _run_first(tools, d, self.ctx.root), roots)
                rendered = dict(zip(roots, outputs, strict=True))
        for root in roots:
            members = self.reach(trees, root, set())
            member_files = [f for d in members for f in trees[d].files]
            patch_files = [p for d in members for p in trees[d].kustomization.patches]
            output, problem = rendered.get(
                root,
                (None, "no kustomize or kubectl on PATH" if self.render else "rendering is off"),
            )
            problem = _scrub(problem, self.literals)
            objects = self.from_render(root, output, member_files, patch_files) if output else None
            if objects is None and output is not None:
                problem = "kustomize output could not be parsed"
            ok = objects is not None
            tree = trees[root]
            if not ok:
                reason = (
                    f"overlay {root or '.'} not rendered ({problem}); its base and overlay files"
                    " were read as plain manifests, patches approximated"
                )
                self.error(tree.kustomization.path, reason, environment=root or ".")
                objects = self.assemble(trees, root, by_path, set())
                objects = [replace(o, origin="kustomize-unrendered") for o in objects]
            tree.kustomization = replace(
                tree.kustomization, rendered=ok, render_error=None if ok else problem
            )
            key = root or "."
            env, _ = stage_of_path(root)
            environments.append(Environment(key, env, "kustomize", tree.kustomization.path, ok))
            deployed.extend(_with_env(o, key) for o in objects or [])
        return tuple(t.kustomization for t in trees.values())

    def from_render(
        self, root: str, output: str, member_files: list[str], patch_files: list[str]
    ) -> list[K8sObject] | None:
        try:
            documents = load_yaml_documents(output, f"kustomize build {root or '.'}")
        except YamlProblem:
            return None
        members = set(member_files)
        bases = [o for o in self.file_objects if o.path in members]
        patches = [
            (doc, data, key)
            for p in patch_files
            for doc in self.docs.get(p, [])
            for data, key in _objects_in(doc)
        ]
        kustomization_path = (
            posixpath.join(root, "kustomization.yaml") if root else "kustomization.yaml"
        )
        out = []
        for document in documents:
            doc = YamlDocument(_redact(document.data), document.source)
            for data, _key in _objects_in(doc):
                kind, name = data["kind"], str(dig(data, "metadata", "name") or "")
                base = _best_match(kind, name, bases)
                sources: list[Source] = list(base.sources) if base else []
                for pdoc, pdata, pkey in patches:
                    pname = str(dig(pdata, "metadata", "name") or "")
                    if pdata["kind"] == kind and pname and pname in name:
                        sources.append(Source(pdoc.source, pdoc, pkey))
                path, line = (base.path, base.line) if base else (kustomization_path, None)
                out.append(_make_object(data, tuple(sources), path, line, origin="kustomize"))
        return out

    def assemble(
        self, trees: dict[str, _Tree], directory: str, by_path: dict[str, FileEntry], seen: set[str]
    ) -> list[K8sObject]:
        """Build an overlay without kustomize: resources, patches, prefixes and namespace."""
        if directory in seen or directory not in trees:
            return []
        seen.add(directory)
        tree = trees[directory]
        objects: list[K8sObject] = []
        for child in tree.children:
            objects += self.assemble(trees, child, by_path, seen)
        own = set(tree.files)
        objects += [o for o in self.file_objects if o.path in own]
        for patch_path in tree.kustomization.patches:
            if patch_path not in self.docs and patch_path in by_path:
                self.read_objects(by_path[patch_path])
            for doc in self.docs.get(patch_path, []):
                for data, key in _objects_in(doc):
                    pname = dig(data, "metadata", "name")
                    for index, obj in enumerate(objects):
                        if obj.kind == data["kind"] and pname in (obj.name, obj.source_name):
                            body = _merge(dict(obj.body), data)
                            objects[index] = _make_object(
                                body,
                                (*obj.sources, Source(patch_path, doc, key)),
                                obj.path,
                                obj.line,
                            )
        raw = tree.raw
        prefix, suffix = str(raw.get("namePrefix") or ""), str(raw.get("nameSuffix") or "")
        namespace = tree.kustomization.namespace
        replicas = {
            str(as_map(r).get("name")): as_map(r).get("count") for r in as_list(raw.get("replicas"))
        }
        out = []
        for obj in objects:
            body = dict(obj.body)
            meta = dict(as_map(body.get("metadata")))
            count = replicas.get(obj.name, replicas.get(obj.source_name))
            if isinstance(count, int):
                body["spec"] = {**as_map(body.get("spec")), "replicas": count}
            if prefix or suffix:
                meta["name"] = f"{prefix}{obj.name}{suffix}"
            if namespace:
                meta["namespace"] = namespace
            body["metadata"] = meta
            out.append(_make_object(body, obj.sources, obj.path, obj.line))
        return out

    # -- helm

    def read_charts(
        self,
        entries: list[FileEntry],
        chart_dirs: list[str],
        environments: list[Environment],
        deployed: list[K8sObject],
    ) -> tuple[HelmChart, ...]:
        helm = shutil.which("helm") if self.render else None
        charts = []
        for entry in entries:
            directory = posixpath.dirname(entry.path)
            if _is_subchart(directory, chart_dirs):
                continue
            text = self.read(entry)
            name = posixpath.basename(directory) or "chart"
            if text is not None:
                try:
                    docs = load_yaml_documents(text, entry.path)
                    name = str(as_map(docs[0].data if docs else {}).get("name") or name)
                except YamlProblem as exc:
                    self.error(entry.path, exc.problem.message, exc.problem.line)
            templates = self.chart_templates(directory)
            values = self.chart_values(directory)
            rendered, note = False, "helm is not installed" if self.render else "rendering is off"
            if helm:
                rendered, note = self.render_chart(
                    helm, name, directory, values, environments, deployed
                )
            if not rendered:
                for v in values:
                    if v.name != "default" or len(values) == 1:
                        env = None if v.name == "default" else v.name
                        environments.append(
                            Environment(v.environment, env, "helm", v.files[-1].path, False)
                        )
            charts.append(
                HelmChart(
                    entry.path, directory, name, rendered, note, tuple(templates), tuple(values)
                )
            )
        return tuple(charts)

    def chart_templates(self, directory: str) -> list[HelmTemplate]:
        prefix = f"{directory}/templates/" if directory else "templates/"
        out = []
        for path, text in sorted(self.template_texts.items()):
            if path.startswith(prefix):
                kinds = tuple(dict.fromkeys(_TEMPLATE_KIND.findall(text)))
                out.append(HelmTemplate(path, kinds, text))
        return out

    def chart_values(self, directory: str) -> list[HelmValues]:
        prefix = f"{directory}/" if directory else ""
        default: Source | None = None
        per_env: dict[str, Source] = {}
        for entry in self.ctx.files.with_suffix(".yaml", ".yml"):
            if not entry.path.startswith(prefix):
                continue
            rest = entry.path[len(prefix) :]
            stem = entry.name.rsplit(".", 1)[0]
            if rest.count("/") == 0 and stem.lower().startswith("values"):
                label = stem[len("values") :].strip("-_.")
            elif rest.count("/") == 1 and rest.startswith("values/"):
                label = stem
            else:
                continue
            text = self.read(entry)
            if text is None:
                continue
            try:
                docs = load_yaml_documents(text, entry.path)
            except YamlProblem as exc:
                if "{{" not in text:
                    self.error(entry.path, exc.problem.message, exc.problem.line)
                continue
            doc = docs[0] if docs else YamlDocument({}, entry.path)
            doc = YamlDocument(
                _redact_values(doc.data), doc.source, doc.positions, doc.key_positions
            )
            source = Source(entry.path, doc)
            if not label:
                default = source
            else:
                env = environment_name(label)
                if env:
                    per_env[env] = source
        base = as_map(default.document.data) if default else {}
        out = [HelmValues(directory or ".", "default", (default,) if default else (), base)]
        for env, source in sorted(per_env.items()):
            files = (default, source) if default else (source,)
            out.append(
                HelmValues(source.path, env, files, _merge(base, as_map(source.document.data)))
            )
        if default is None and per_env:
            out = out[1:]
        return out

    def render_chart(
        self,
        helm: str,
        name: str,
        directory: str,
        values: list[HelmValues],
        environments: list[Environment],
        deployed: list[K8sObject],
    ) -> tuple[bool, str]:
        targets = [v for v in values if v.name != "default"] or values
        produced: list[tuple[HelmValues, list[K8sObject]]] = []
        for target in targets:
            command = [helm, "template", name, directory or "."]
            for source in target.files[1:]:
                command += ["-f", source.path]
            output, problem = _run(command, self.ctx.root)
            if output is None:
                self.error(
                    posixpath.join(directory, "Chart.yaml"),
                    f"chart not rendered for {target.name} ({problem}); decided from values only",
                )
                return False, problem
            objs = []
            for chunk in re.split(r"^---[^\n]*$", output, flags=re.M):
                found = re.search(r"^# Source: [^/\n]+/(\S+)", chunk, re.M)
                path = posixpath.join(directory, found.group(1)) if found else directory
                try:
                    documents = load_yaml_documents(chunk, f"helm template {directory or '.'}")
                except YamlProblem as exc:
                    return False, f"helm output could not be parsed: {exc.problem.message}"
                for document in documents:
                    doc = YamlDocument(_redact(document.data), document.source)
                    for data, _key in _objects_in(doc):
                        objs.append(_make_object(data, (), path, None, origin="helm"))
            produced.append((target, objs))
        for target, objs in produced:
            env = None if target.name == "default" else target.name
            environments.append(
                Environment(
                    target.environment,
                    env,
                    "helm",
                    target.files[-1].path if target.files else directory,
                )
            )
            deployed.extend(_with_env(o, target.environment) for o in objs)
        return True, "rendered with helm template"


# --------------------------------------------------------------------------- small helpers


def _in_manifest_dir(path: str) -> bool:
    return any(part.lower() in _MANIFEST_DIRS for part in path.split("/")[:-1])


def _kinds_in(text: str) -> frozenset[str]:
    return frozenset(_KIND_LINE.findall(text))


def _owner(path: str, chart_dirs: list[str]) -> str | None:
    """The innermost chart directory containing ``path``."""
    found = None
    for directory in chart_dirs:
        if not directory or path.startswith(directory + "/"):
            found = directory
    return found


def _is_chart_manifest(path: str, chart: str) -> bool:
    """Inside a chart only ``templates/`` (static files) and ``crds/`` hold objects."""
    rest = path[len(chart) + 1 :] if chart else path
    return rest.startswith(("templates/", "crds/"))


def _is_subchart(directory: str, chart_dirs: list[str]) -> bool:
    return any(
        directory != other and directory.startswith(f"{other}/charts/" if other else "charts/")
        for other in chart_dirs
    )


def _best_match(kind: str, name: str, candidates: list[K8sObject]) -> K8sObject | None:
    """The object as written that a rendered object came from (same kind, name inside)."""
    best: K8sObject | None = None
    for obj in candidates:
        if obj.kind != kind or not obj.name or obj.name not in name:
            continue
        if obj.name == name:
            return obj
        if best is None or len(obj.name) > len(best.name):
            best = obj
    return best


def _with_env(obj: K8sObject, environment: str | None) -> K8sObject:
    return replace(obj, environment=environment)


def _kustomize_commands() -> list[list[str]]:
    commands = []
    kustomize = shutil.which("kustomize")
    if kustomize:
        commands.append([kustomize, "build"])
    kubectl = shutil.which("kubectl")
    if kubectl:
        commands.append([kubectl, "kustomize"])
    return commands


_GENERATOR_ERROR = re.compile(r"KV pairs|literal|env source|\.env\b|envs?:", re.I)


def _scrub(message: str, literals: set[str]) -> str:
    """A renderer message without values it may echo from secret generators."""
    if _GENERATOR_ERROR.search(message):
        return "kustomize failed while reading a secret or config generator (details withheld)"
    for literal in sorted(literals, key=len, reverse=True):
        if len(literal) >= 4:
            message = message.replace(literal, "<redacted>")
    return message


def _run_first(commands: list[list[str]], directory: str, root: Any) -> tuple[str | None, str]:
    problem = "no kustomize or kubectl on PATH"
    for command in commands:
        output, problem = _run([*command, directory or "."], root)
        if output is not None:
            return output, ""
    return None, problem


def _run(command: list[str], cwd: Any) -> tuple[str | None, str]:
    """Run a renderer; (stdout, "") or (None, why it failed)."""
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=RENDER_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return None, f"{posixpath.basename(command[0])} timed out after {RENDER_TIMEOUT:.0f} s"
    except OSError as exc:
        return None, f"cannot run {posixpath.basename(command[0])}: {exc.strerror or exc}"
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit code {done.returncode}"
        detail = re.sub(r"^E\d{4} [\d:.]+\s+\d+ \S+\] ", "", detail)
        return None, f"{posixpath.basename(command[0])} failed: {detail[:300]}"
    return done.stdout, ""
