"""Kubernetes objects in the repository: plain manifests, Kustomize overlays and Helm charts.

Every ``*.yaml``/``*.yml``/``*.json`` file whose documents carry ``apiVersion``
and ``kind`` is read (multi-document streams, ``kind: List`` expanded), each
object with its file, line and a way to find the line of any nested key.
Kustomize overlays are rendered in process when they use only what is
re-implemented here exactly as kustomize does it (see :class:`_Kustomize`),
else with ``kustomize build`` or ``kubectl kustomize`` when one is installed;
otherwise (or when rendering fails) their base and overlay files are assembled
here, patches approximated, and a scan error names the overlay. Helm charts
are rendered with ``helm template`` when helm is installed; otherwise their
templates and values files are kept so that checks can decide what the values
decide (:meth:`HelmChart.setting`) and leave the rest unknown. Objects are
grouped into environments (overlays, ``values-<env>.yaml`` files, folders
named after an environment) so that environment parity can be compared.
Secret values are never kept: only the names of their keys.
"""

from __future__ import annotations

import copy
import heapq
import json
import marshal
import posixpath
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache, partial
from operator import itemgetter
from typing import Any

import yaml

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
    renderer: str | None = None
    """``prr`` when rendered in process, else the binary that rendered it (roots only)."""


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

    @cached_property
    def _by_kind_env(self) -> dict[tuple[str, str | None], list[tuple[int, K8sObject]]]:
        """Objects by kind and environment, with their position among the kind's objects."""
        index: dict[tuple[str, str | None], list[tuple[int, K8sObject]]] = {}
        for kind, objects in self._by_kind.items():
            for position, obj in enumerate(objects):
                index.setdefault((kind, obj.environment), []).append((position, obj))
        return index

    def related(
        self, obj: K8sObject, kinds: Iterable[str], among: Sequence[K8sObject] | None = None
    ) -> list[K8sObject]:
        """Objects of ``kinds`` deployed together with ``obj`` (same environment and namespace)."""
        wanted = set(kinds)
        pool: Sequence[K8sObject]
        if among is not None:
            pool = among
        elif obj.environment is None:
            pool = [o for k in sorted(wanted) for o in self._by_kind.get(k, [])]
        else:
            # this environment's objects and the shared ones, in their order in ``objects``
            pool = []
            for kind in sorted(wanted):
                own = self._by_kind_env.get((kind, obj.environment), [])
                shared = self._by_kind_env.get((kind, None), [])
                pool += [o for _, o in heapq.merge(own, shared, key=itemgetter(0))]
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
    text: str = ""
    documents: int = 1


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
        self.yaml_entries: list[FileEntry] = []
        self.texts: dict[str, str] = {}
        """Text of the files that held objects, for rendering kustomizations in process."""
        self.crowded: set[str] = set()
        """Directories with more than one kustomization file (kustomize refuses them)."""
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
        if _suffix(entry.path) == ".json":
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
        if docs and text is not None:
            self.texts[entry.path] = text
        return docs

    # -- the run

    def run(self) -> KubernetesFacts:
        files = self.ctx.files
        candidates = [e for e in files if _suffix(e.path) in (".yaml", ".yml", ".json")]
        self.yaml_entries = [e for e in candidates if _suffix(e.path) != ".json"]
        kust_entries = [e for e in files if _basename(e.path) in _KUSTOMIZATION_NAMES]
        chart_entries = [e for e in candidates if _basename(e.path) == "Chart.yaml"]
        chart_dirs = sorted({posixpath.dirname(e.path) for e in chart_entries}, key=len)
        trees = self.read_kustomizations(kust_entries)
        patch_files = {p for t in trees.values() for p in t.kustomization.patches}
        kust_paths = {e.path for e in kust_entries}

        by_path: dict[str, FileEntry] = {}
        owners: dict[str, str | None] = {}
        for entry in candidates:
            if entry.path in kust_paths or _basename(entry.path) == "Chart.yaml":
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
        seen: set[str] = set()
        for entry in entries:
            directory = posixpath.dirname(entry.path)
            if directory in seen:
                self.crowded.add(directory)
            seen.add(directory)
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
            tree = _Tree(self.kustomization(entry.path, directory, raw, doc), raw, text=text)
            tree.documents = len(docs) if isinstance(doc.data, dict) else 0
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
        built: dict[str, list[K8sObject]] = {}
        if self.render:
            builder = _Kustomize(self, trees)
            for root in roots:
                try:
                    built[root] = builder.build(root)
                except _Unsupported:
                    continue  # kustomize itself renders it below
        pending = [r for r in roots if r not in built]
        tools = _kustomize_commands() if self.render and pending else []
        rendered: dict[str, tuple[str | None, str, str | None]] = {}
        if tools and pending:
            with ThreadPoolExecutor(max_workers=min(8, len(pending))) as pool:
                outputs = pool.map(lambda d: _run_first(tools, d, self.ctx.root), pending)
                rendered = dict(zip(pending, outputs, strict=True))
        for root in roots:
            tree = trees[root]
            if root in built:
                objects: list[K8sObject] | None = built[root]
                ok, problem = True, ""
                renderer: str | None = "prr"
            else:
                members = self.reach(trees, root, set())
                member_files = [f for d in members for f in trees[d].files]
                patch_files = [p for d in members for p in trees[d].kustomization.patches]
                output, problem, renderer = rendered.get(
                    root,
                    (
                        None,
                        "no kustomize or kubectl on PATH" if self.render else "rendering is off",
                        None,
                    ),
                )
                problem = _scrub(problem, self.literals)
                objects = (
                    self.from_render(root, output, member_files, patch_files) if output else None
                )
                if objects is None and output is not None:
                    problem = "kustomize output could not be parsed"
                ok = objects is not None
            if not ok:
                reason = (
                    f"overlay {root or '.'} not rendered ({problem}); its base and overlay files"
                    " were read as plain manifests, patches approximated"
                )
                self.error(tree.kustomization.path, reason, environment=root or ".")
                objects = self.assemble(trees, root, by_path, set())
                objects = [replace(o, origin="kustomize-unrendered") for o in objects]
            tree.kustomization = replace(
                tree.kustomization,
                rendered=ok,
                render_error=None if ok else problem,
                renderer=renderer if ok else None,
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
        for entry in self.yaml_entries:
            if not entry.path.startswith(prefix):
                continue
            rest = entry.path[len(prefix) :]
            stem = _basename(entry.path).rsplit(".", 1)[0]
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


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _suffix(path: str) -> str:
    """The lower-cased extension, as :attr:`FileEntry.suffix` gives it (without pathlib's cost)."""
    name = _basename(path)
    dot = name.rfind(".")
    return name[dot:].lower() if 0 < dot < len(name) - 1 else ""


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


def _run_first(
    commands: list[list[str]], directory: str, root: Any
) -> tuple[str | None, str, str | None]:
    """(output, "", the binary's name) of the first renderer that succeeds, else why not."""
    problem = "no kustomize or kubectl on PATH"
    for command in commands:
        output, problem = _run([*command, directory or "."], root)
        if output is not None:
            return output, "", posixpath.basename(command[0])
    return None, problem, None


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


# --------------------------------------------------------------------------- kustomize, in process
#
# ``kustomize build`` re-implemented for the kustomizations that use only what
# is rendered here exactly as kustomize v5 renders it: resources (files and
# local bases), namespace, namePrefix/nameSuffix with the name references they
# fix, commonLabels/labels, commonAnnotations, images, replicas, strategic-merge
# and JSON 6902 patches. Anything else raises :class:`_Unsupported` and the
# overlay goes to the kustomize binary, as does any doubt: a doubt costs one
# subprocess, a wrong guess costs a wrong verdict. The field tables below are
# kustomize's own defaults.


class _Unsupported(Exception):
    """A kustomization needs kustomize itself; the message says why (for debugging)."""


_KUSTOMIZE_API = "kustomize.config.k8s.io/v1beta1"
_KUSTOMIZATION_FIELDS = frozenset(
    {
        "apiVersion",
        "kind",
        "metadata",
        "resources",
        "bases",
        "namespace",
        "namePrefix",
        "nameSuffix",
        "commonLabels",
        "labels",
        "commonAnnotations",
        "images",
        "replicas",
        "patches",
        "patchesStrategicMerge",
        "patchesJson6902",
    }
)
_NOT_NAMESPACED = "_non_namespaceable_"

# Built-in types and whether they are namespaced, as kustomize's OpenAPI data
# knows them (Kubernetes 1.21): anything else counts as namespaced.
_SCOPES = """\
admissionregistration.k8s.io/v1 MutatingWebhookConfiguration ValidatingWebhookConfiguration -
admissionregistration.k8s.io/v1beta1 MutatingWebhookConfiguration ValidatingWebhookConfiguration -
apiextensions.k8s.io/v1 CustomResourceDefinition -
apiextensions.k8s.io/v1beta1 CustomResourceDefinition -
apiregistration.k8s.io/v1 APIService -
apiregistration.k8s.io/v1beta1 APIService -
apps/v1 ControllerRevision DaemonSet Deployment ReplicaSet StatefulSet +
autoscaling/v1 HorizontalPodAutoscaler Scale +
autoscaling/v2beta1 HorizontalPodAutoscaler +
autoscaling/v2beta2 HorizontalPodAutoscaler +
batch/v1 CronJob Job +
batch/v1beta1 CronJob +
certificates.k8s.io/v1 CertificateSigningRequest -
certificates.k8s.io/v1beta1 CertificateSigningRequest -
coordination.k8s.io/v1 Lease +
coordination.k8s.io/v1beta1 Lease +
discovery.k8s.io/v1 EndpointSlice +
discovery.k8s.io/v1beta1 EndpointSlice +
events.k8s.io/v1 Event +
events.k8s.io/v1beta1 Event +
extensions/v1beta1 Ingress +
flowcontrol.apiserver.k8s.io/v1beta1 FlowSchema PriorityLevelConfiguration -
networking.k8s.io/v1 Ingress NetworkPolicy +
networking.k8s.io/v1 IngressClass -
networking.k8s.io/v1beta1 Ingress +
networking.k8s.io/v1beta1 IngressClass -
node.k8s.io/v1 RuntimeClass -
node.k8s.io/v1beta1 RuntimeClass -
policy/v1 PodDisruptionBudget +
policy/v1beta1 PodDisruptionBudget +
policy/v1beta1 PodSecurityPolicy -
rbac.authorization.k8s.io/v1 ClusterRole ClusterRoleBinding -
rbac.authorization.k8s.io/v1 Role RoleBinding +
rbac.authorization.k8s.io/v1beta1 ClusterRole ClusterRoleBinding -
rbac.authorization.k8s.io/v1beta1 Role RoleBinding +
scheduling.k8s.io/v1 PriorityClass -
scheduling.k8s.io/v1beta1 PriorityClass -
storage.k8s.io/v1 CSIDriver CSINode StorageClass VolumeAttachment -
storage.k8s.io/v1beta1 CSIDriver CSINode StorageClass VolumeAttachment -
storage.k8s.io/v1beta1 CSIStorageCapacity +
v1 ComponentStatus Namespace Node NodeProxyOptions PersistentVolume -
v1 ConfigMap Endpoints Event LimitRange PersistentVolumeClaim Pod PodAttachOptions +
v1 PodExecOptions PodPortForwardOptions PodProxyOptions PodTemplate ReplicationController +
v1 ResourceQuota Secret Service ServiceAccount ServiceProxyOptions +
"""


def _scope_table() -> dict[tuple[str, str], bool]:
    table = {}
    for line in _SCOPES.splitlines():
        api, *kinds, sign = line.split()
        table.update({(api, kind): sign == "+" for kind in kinds})
    return table


_SCOPE = _scope_table()
_BUILTIN_GROUPS = frozenset(api.rpartition("/")[0] for api, _ in _SCOPE)


def _namespaced(api: str, kind: str) -> bool:
    return _SCOPE.get((api, kind), True)


# Field specs: "Kind|group|version|path|c" (c: create when missing).
_LABEL_SELECTORS = """\
Service||v1|spec/selector|c
ReplicationController||v1|spec/selector|c
Deployment|||spec/selector/matchLabels|c
ReplicaSet|||spec/selector/matchLabels|c
DaemonSet|||spec/selector/matchLabels|c
StatefulSet|apps||spec/selector/matchLabels|c
Job|batch||spec/selector/matchLabels|
CronJob|batch||spec/jobTemplate/spec/selector/matchLabels|
PodDisruptionBudget|policy||spec/selector/matchLabels|
NetworkPolicy|networking.k8s.io||spec/podSelector/matchLabels|
NetworkPolicy|networking.k8s.io||spec/ingress/from/podSelector/matchLabels|
NetworkPolicy|networking.k8s.io||spec/egress/to/podSelector/matchLabels|
"""
_AFFINITY = (
    "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/"
    "podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/"
    "labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/"
    "podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/"
    "labelSelector/matchLabels",
    "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
)
_TEMPLATE_LABELS = """\
|||metadata/labels|c
ReplicationController||v1|spec/template/metadata/labels|c
Deployment|||spec/template/metadata/labels|c
ReplicaSet|||spec/template/metadata/labels|c
DaemonSet|||spec/template/metadata/labels|c
StatefulSet|apps||spec/template/metadata/labels|c
StatefulSet|apps||spec/volumeClaimTemplates[]/metadata/labels|c
Job|batch||spec/template/metadata/labels|c
CronJob|batch||spec/jobTemplate/metadata/labels|c
CronJob|batch||spec/jobTemplate/spec/template/metadata/labels|c
"""
_ANNOTATIONS = """\
|||metadata/annotations|c
ReplicationController||v1|spec/template/metadata/annotations|c
Deployment|||spec/template/metadata/annotations|c
ReplicaSet|||spec/template/metadata/annotations|c
DaemonSet|||spec/template/metadata/annotations|c
StatefulSet|||spec/template/metadata/annotations|c
Job|batch||spec/template/metadata/annotations|c
CronJob|batch||spec/jobTemplate/metadata/annotations|c
CronJob|batch||spec/jobTemplate/spec/template/metadata/annotations|c
"""

# Name references: "Target < Referrer Referrer…: path path…" ("Kind|group|version";
# {pod} is the referrer's pod spec). A renamed target is renamed where it is referred to.
_NAME_REFERENCES = """\
Deployment < HorizontalPodAutoscaler: spec/scaleTargetRef/name
ReplicationController < HorizontalPodAutoscaler: spec/scaleTargetRef/name
ReplicaSet < HorizontalPodAutoscaler: spec/scaleTargetRef/name
StatefulSet < HorizontalPodAutoscaler: spec/scaleTargetRef/name
ConfigMap||v1 < Pod||v1 PodTemplate Deployment ReplicaSet DaemonSet StatefulSet Job CronJob: \
{pod}/volumes/configMap/name {pod}/containers/env/valueFrom/configMapKeyRef/name \
{pod}/initContainers/env/valueFrom/configMapKeyRef/name {pod}/containers/envFrom/configMapRef/name \
{pod}/initContainers/envFrom/configMapRef/name {pod}/volumes/projected/sources/configMap/name
ConfigMap||v1 < Node: spec/configSource/configMap
ConfigMap||v1 < Role ClusterRole: rules/resourceNames
ConfigMap||v1 < Ingress: metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap
Secret||v1 < Pod||v1 PodTemplate Deployment ReplicaSet DaemonSet StatefulSet Job CronJob: \
{pod}/volumes/secret/secretName {pod}/containers/env/valueFrom/secretKeyRef/name \
{pod}/initContainers/env/valueFrom/secretKeyRef/name {pod}/containers/envFrom/secretRef/name \
{pod}/initContainers/envFrom/secretRef/name {pod}/imagePullSecrets/name \
{pod}/volumes/projected/sources/secret/name
Secret||v1 < Ingress: spec/tls/secretName metadata/annotations/ingress.kubernetes.io\\/auth-secret \
metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret \
metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret
Secret||v1 < ServiceAccount: imagePullSecrets/name
Secret||v1 < StorageClass: parameters/secretName parameters/adminSecretName \
parameters/userSecretName parameters/secretRef
Secret||v1 < Role ClusterRole: rules/resourceNames
Secret||v1 < Service|serving.knative.dev|v1: {pod}/containers/env/valueFrom/secretKeyRef/name
Secret||v1 < PersistentVolume: spec/azureFile/secretName
Service||v1 < StatefulSet|apps: spec/serviceName
Service||v1 < Ingress: spec/rules/http/paths/backend/serviceName spec/backend/serviceName \
spec/rules/http/paths/backend/service/name spec/defaultBackend/service/name
Service||v1 < APIService|apiregistration.k8s.io: spec/service/name
Service||v1 < ValidatingWebhookConfiguration|admissionregistration.k8s.io \
MutatingWebhookConfiguration|admissionregistration.k8s.io: webhooks/clientConfig/service
Role|rbac.authorization.k8s.io < RoleBinding|rbac.authorization.k8s.io: roleRef/name
ClusterRole|rbac.authorization.k8s.io < RoleBinding|rbac.authorization.k8s.io \
ClusterRoleBinding|rbac.authorization.k8s.io: roleRef/name
ServiceAccount||v1 < RoleBinding|rbac.authorization.k8s.io \
ClusterRoleBinding|rbac.authorization.k8s.io: subjects
ServiceAccount||v1 < Pod StatefulSet Deployment ReplicationController CronJob Job DaemonSet: \
{pod}/serviceAccountName
PersistentVolumeClaim||v1 < Pod StatefulSet Deployment ReplicationController CronJob Job \
DaemonSet: {pod}/volumes/persistentVolumeClaim/claimName
PersistentVolume||v1 < PersistentVolumeClaim: spec/volumeName
PersistentVolume||v1 < ClusterRole: rules/resourceNames
StorageClass|storage.k8s.io|v1 < PersistentVolume PersistentVolumeClaim: spec/storageClassName
StorageClass|storage.k8s.io|v1 < StatefulSet: spec/volumeClaimTemplates/spec/storageClassName
PriorityClass|scheduling.k8s.io|v1 < Pod StatefulSet Deployment ReplicationController CronJob \
Job DaemonSet: {pod}/priorityClassName
IngressClass|networking.k8s.io/v1|v1 < Ingress: spec/ingressClassName
ValidatingAdmissionPolicy|admissionregistration.k8s.io < \
ValidatingAdmissionPolicyBinding|admissionregistration.k8s.io: spec/policyName
"""

_POD_SPEC = {
    "Pod": "spec",
    "PodTemplate": "template/spec",
    "CronJob": "spec/jobTemplate/spec/template/spec",
}


@dataclass(frozen=True)
class _Gvk:
    """A group/version/kind selector; empty parts select anything."""

    kind: str = ""
    group: str = ""
    version: str = ""

    @classmethod
    def parse(cls, text: str) -> _Gvk:
        kind, group, version = [*text.split("|"), "", ""][:3]
        return cls(kind, group, version)

    def selects(self, group: str, version: str, kind: str) -> bool:
        return (
            (not self.kind or self.kind == kind)
            and (not self.group or self.group == group)
            and (not self.version or self.version == version)
        )


@dataclass(frozen=True)
class _FieldSpec:
    gvk: _Gvk
    path: tuple[str, ...]
    create: bool = False


def _split_path(path: str) -> tuple[str, ...]:
    """kustomize's field path: ``/`` separates, ``\\/`` is a slash inside a key."""
    parts: list[str] = []
    for piece in path.split("/"):
        if parts and parts[-1].endswith("\\"):
            parts[-1] = parts[-1][:-1] + "/" + piece
        else:
            parts.append(piece)
    return tuple(parts)


def _field_specs(text: str) -> tuple[_FieldSpec, ...]:
    out = []
    for line in text.splitlines():
        kind, group, version, path, create = line.split("|")
        out.append(_FieldSpec(_Gvk(kind, group, version), _split_path(path), create == "c"))
    return tuple(out)


def _label_specs() -> tuple[_FieldSpec, ...]:
    selectors = list(_field_specs(_LABEL_SELECTORS))
    for kind, at in (("Deployment", 3), ("StatefulSet", 9)):
        selectors[at:at] = [_FieldSpec(_Gvk(kind, "apps"), _split_path(path)) for path in _AFFINITY]
    return (*selectors, *_field_specs(_TEMPLATE_LABELS))


def _name_references() -> tuple[tuple[_Gvk, _Gvk, tuple[str, ...]], ...]:
    out = []
    for line in _NAME_REFERENCES.splitlines():
        head, paths = line.split(": ", 1)
        target, referrers = head.split(" < ")
        for referrer in referrers.split():
            gvk = _Gvk.parse(referrer)
            pod = _POD_SPEC.get(gvk.kind, "spec/template/spec")
            for path in paths.split():
                out.append((_Gvk.parse(target), gvk, _split_path(path.replace("{pod}", pod))))
    return tuple(out)


_LABEL_SPECS = _label_specs()
_METADATA_LABELS = (_FieldSpec(_Gvk(), ("metadata", "labels"), True),)
_TEMPLATE_LABEL_SPECS = _field_specs(_TEMPLATE_LABELS)
_ANNOTATION_SPECS = _field_specs(_ANNOTATIONS)
_REPLICA_KINDS = ("Deployment", "ReplicationController", "ReplicaSet", "StatefulSet")
_NAME_REFS = _name_references()
_PREFIX_SKIPPED = (_Gvk("CustomResourceDefinition"), _Gvk("APIService", "apiregistration.k8s.io"))
_ORDER_FIRST = (
    *("Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition"),
    *("ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding"),
    *("ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service", "LimitRange"),
    *("PriorityClass", "PersistentVolume", "PersistentVolumeClaim", "Deployment"),
    *("StatefulSet", "CronJob", "PodDisruptionBudget"),
)
_ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
_KIND_ORDER = {
    **{kind: i - len(_ORDER_FIRST) for i, kind in enumerate(_ORDER_FIRST)},
    **{kind: 1 + i for i, kind in enumerate(_ORDER_LAST)},
}
_RESERVED_ANNOTATIONS = (
    "config.kubernetes.io/",
    "internal.config.kubernetes.io/",
    "kustomize.config.k8s.io/",
    "config.k8s.io/",
)
# Strategic merge: the lists of built-in types that merge by a key (all other
# lists of those types are replaced); lists of other types are always replaced.
_POD_LISTS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
}
_CONTAINER_LISTS = {"env": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath"}
_MERGE_DIRECTIVE = "$patch"


def _gv(api: str) -> tuple[str, str]:
    group, _, version = api.rpartition("/")
    return group, version


def _copy(value: Any) -> Any:
    """A deep copy of YAML data: marshal copies plain data many times faster than deepcopy."""
    try:
        return marshal.loads(marshal.dumps(value))
    except ValueError:  # a date or other non-plain value
        return copy.deepcopy(value)


@dataclass
class _Res:
    """One resource during a build: its body, where it was written, and its previous ids."""

    body: dict[str, Any]
    sources: list[Source]
    path: str
    line: int | None
    previous: list[tuple[str, str]] = field(default_factory=list)
    """(name, effective namespace) before each rename or namespace change, oldest first."""

    def clone(self) -> _Res:
        return _Res(_copy(self.body), list(self.sources), self.path, self.line, list(self.previous))

    @property
    def api(self) -> str:
        return str(self.body["apiVersion"])

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def meta(self) -> dict[str, Any]:
        meta = self.body["metadata"]
        assert isinstance(meta, dict)
        return meta

    @property
    def name(self) -> str:
        return str(self.meta["name"])

    @property
    def namespace(self) -> str:
        return str(self.meta.get("namespace") or "")

    @property
    def namespaced(self) -> bool:
        return _namespaced(self.api, self.kind)

    def effective_namespace(self, namespace: str | None = None) -> str:
        namespace = self.namespace if namespace is None else namespace
        if not self.namespaced:
            return _NOT_NAMESPACED
        return namespace or "default"

    def key(self) -> tuple[str, str, str, str]:
        """The current id: apiVersion, kind, name and effective namespace."""
        return (self.api, self.kind, self.name, self.effective_namespace())

    def ids(self) -> list[tuple[str, str]]:
        """(name, effective namespace) of every id this resource has had, current last."""
        return [*self.previous, (self.name, self.effective_namespace())]

    @property
    def original(self) -> tuple[str, str]:
        return self.previous[0] if self.previous else (self.name, self.effective_namespace())

    def store_previous(self) -> None:
        self.previous.append((self.name, self.effective_namespace()))


def _check_resource(data: Any, where: str) -> dict[str, Any]:
    """The document as a resource kustomize accepts as is, else :class:`_Unsupported`."""
    if not isinstance(data, dict):
        raise _Unsupported(f"{where}: not a mapping")
    api, kind, meta = data.get("apiVersion"), data.get("kind"), data.get("metadata")
    if not (isinstance(api, str) and api and isinstance(kind, str) and kind):
        raise _Unsupported(f"{where}: apiVersion or kind missing")
    if api.count("/") > 1 or kind.endswith("List") or _ignored(data):
        raise _Unsupported(f"{where}: {api} {kind}")
    group, version = _gv(api)
    if "alpha" in version and (group in _BUILTIN_GROUPS or not group):
        raise _Unsupported(f"{where}: {api} is not in kustomize's type table")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise _Unsupported(f"{where}: metadata.name missing")
    namespace = meta.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise _Unsupported(f"{where}: metadata.namespace is not a string")
    if not isinstance(meta.get("labels", {}), dict):
        raise _Unsupported(f"{where}: metadata.labels is not a mapping")
    if not isinstance(meta.get("annotations") or {}, dict):
        raise _Unsupported(f"{where}: metadata.annotations is not a mapping")
    if namespace == "":
        raise _Unsupported(f"{where}: metadata.namespace is empty")
    for key in as_map(meta.get("annotations")):
        if not isinstance(key, str) or key.startswith(_RESERVED_ANNOTATIONS):
            raise _Unsupported(f"{where}: annotation {key} is kustomize's own")
    return data


# -- YAML that kustomize reads differently
#
# kustomize parses YAML 1.2 (go-yaml v3) and prints through JSON; PyYAML reads
# YAML 1.1. ``yes``/``on``, ``1:20``, ``1e3``, ``0o17``, ``08``, dates, ``1.0``,
# numeric keys and anchors come out of ``kustomize build`` other than PyYAML
# reads them from the file, so files with such plain scalars are left to
# kustomize. A regular expression finds the tokens that could be one; only
# files with a doubtful token are parsed again, event by event.

_SUSPECT = re.compile(
    r"""(?:^|(?<=[\s\[{,:]))(?:
        (?P<token>[-+]?\.?[0-9][^\s,\[\]{}\#]*)
      | (?:[yY]es|YES|[nN]o|NO|[oO]n|ON|[oO]ff|OFF)(?=\s*(?:$|[,\]}\#:]))
      | (?:true|True|TRUE|false|False|FALSE|null|Null|NULL|~)\s*:(?=\s|$)
      | [&*!] | <<
      | [-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)
    )""",
    re.M | re.X,
)
_GO_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_GO_INT = re.compile(r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_PY_KINDS = {
    "tag:yaml.org,2002:str": "str",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
}
_RESOLVER = yaml.resolver.Resolver()


def _go_scalar(text: str) -> tuple[str, Any]:
    """(kind, value) of a plain scalar as go-yaml v3 resolves it."""
    if text in _NULLS:
        return "null", None
    if text in _BOOLS:
        return "bool", _BOOLS[text]
    if text[0] not in "0123456789+-.":
        return "str", text
    if _TIMESTAMP.match(text):
        return "timestamp", text
    plain = text.replace("_", "")
    if _GO_INT.fullmatch(plain):
        sign = -1 if plain.startswith("-") else 1
        digits = plain.lstrip("+-")
        prefix = digits[:2].lower()
        if prefix in ("0x", "0o", "0b"):
            return "int", sign * int(digits[2:], {"0x": 16, "0o": 8, "0b": 2}[prefix])
        if len(digits) > 1 and digits.startswith("0"):
            return "int", sign * int(digits, 8)
        return "int", sign * int(digits)
    if _GO_FLOAT.fullmatch(plain):
        return "float", float(plain)
    return "str", text


@lru_cache(maxsize=8192)
def _same_plain_scalar(text: str, *, key: bool) -> bool:
    """Whether PyYAML and kustomize agree on a plain scalar, printed back included.

    Keys must be strings to PyYAML (kustomize prints every key as a string).
    """
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    kind = _PY_KINDS.get(tag)
    if key:
        return kind == "str"
    go_kind, go_value = _go_scalar(text)
    if kind != go_kind or kind is None:
        return False
    if kind in ("str", "null"):
        return True
    value = yaml.constructor.SafeConstructor().construct_object(yaml.ScalarNode(tag, text))
    if kind == "float":
        # JSON prints 1.0 as 1, and tiny numbers with an exponent PyYAML reads as text
        finite = value == value and value not in (float("inf"), float("-inf"))
        return bool(finite and value == go_value and value != int(value) and abs(value) >= 1e-4)
    return bool(value == go_value and type(value) is type(go_value) and abs(value) < 2**53)


def _kustomize_reads_alike(text: str) -> bool:
    """Whether every plain scalar of ``text`` means to kustomize what it means to PyYAML."""
    doubtful = False
    for match in _SUSPECT.finditer(text):
        token = match.group("token")
        if token is None:
            doubtful = True
        elif token.endswith(":"):
            doubtful = not _same_plain_scalar(token[:-1], key=True)
        else:
            doubtful = not _same_plain_scalar(token, key=False)
        if doubtful:
            break
    if not doubtful:
        return True
    # per open collection: [is a mapping, scalars and collections seen in it]
    stack: list[list[int]] = []
    try:
        for event in yaml.parse(text, Loader=_EVENT_LOADER):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                return False
            if isinstance(event, yaml.CollectionStartEvent):
                if event.tag is not None and not event.implicit:
                    return False
                if stack and stack[-1][0]:
                    stack[-1][1] += 1
                    if stack[-1][1] % 2:
                        return False  # a collection as a mapping key
                stack.append([isinstance(event, yaml.MappingStartEvent), 0])
            elif isinstance(event, yaml.CollectionEndEvent):
                stack.pop()
            elif isinstance(event, yaml.ScalarEvent):
                key = False
                if stack and stack[-1][0]:
                    stack[-1][1] += 1
                    key = bool(stack[-1][1] % 2)
                if event.tag is not None:
                    return False
                plain = not event.style  # None from PyYAML's parser, "" from libyaml's
                if plain and not _same_plain_scalar(event.value, key=key):
                    return False
    except yaml.YAMLError:
        return False
    return True


_EVENT_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# -- fields, selectors and strategic merge


def _walk_field(node: Any, path: tuple[str, ...], create: bool, leaf: Any, setter: Any) -> None:
    """kustomize's field-spec walk: lists on the way apply the rest to every element.

    ``leaf`` is the value to create at the end when missing (None: create nothing);
    ``setter(parent, key)`` does the work where the path ends.
    """
    if isinstance(node, list):
        for item in node:
            _walk_field(item, path, create, leaf, setter)
        return
    if not isinstance(node, dict):
        raise _Unsupported("field path crosses a scalar")
    name = path[0]
    sequence = name.endswith("[]")
    name = name.removesuffix("[]")
    if len(path) == 1:
        if name not in node or node[name] is None:
            if not create or leaf is None or sequence:
                if name in node:
                    raise _Unsupported(f"{name} is null")
                return
            node[name] = _copy(leaf)
        setter(node, name)
        return
    if name not in node:
        if not create or sequence:
            return
        node[name] = {}
    child = node[name]
    if child is None:
        raise _Unsupported(f"{name} is null")
    _walk_field(child, path[1:], create, leaf, setter)


def _set_entries(entries: Mapping[str, str]) -> Any:
    def setter(parent: dict[str, Any], key: str) -> None:
        target = parent[key]
        if not isinstance(target, dict):
            raise _Unsupported(f"{key} is not a mapping")
        target.update(entries)

    return setter


def _apply_specs(res: _Res, specs: Iterable[_FieldSpec], leaf: Any, setter: Any) -> None:
    group, version = _gv(res.api)
    for spec in specs:
        if spec.gvk.selects(group, version, res.kind):
            _walk_field(res.body, spec.path, spec.create, leaf, setter)


def _string_map(value: Any, what: str) -> dict[str, str]:
    """A kustomization's map of strings (ints allowed, as kustomize reads them)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Unsupported(f"{what} is not a mapping")
    out = {}
    for key, item in value.items():
        if not isinstance(key, str) or isinstance(item, bool):
            raise _Unsupported(f"{what}: {key!r}")
        if isinstance(item, str):
            out[key] = item
        elif isinstance(item, int):
            out[key] = str(item)
        elif item is None:
            out[key] = ""
        else:
            raise _Unsupported(f"{what}: {key} is not a string")
    return out


_SELECTOR_KEYS = frozenset(
    {"group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector"}
)
_SAFE_REGEX = re.compile(r"[A-Za-z0-9._*+?|()\[\]^$-]*")
_REQUIREMENT = re.compile(
    r"\s*([A-Za-z0-9._/-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9._-]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*"
)


def _pattern(value: Any, what: str) -> re.Pattern[str] | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _SAFE_REGEX.fullmatch(value):
        raise _Unsupported(f"{what} {value!r}")
    try:
        return re.compile(f"(?:{value})")
    except re.error:
        raise _Unsupported(f"{what} {value!r}") from None


def _label_selector(text: Any) -> list[tuple[str, str, frozenset[str]]]:
    """A label selector string (``a=b,c!=d,e in (f,g),!h``) as requirements."""
    if text is None or text == "":
        return []
    if not isinstance(text, str):
        raise _Unsupported("label selector is not a string")
    out: list[tuple[str, str, frozenset[str]]] = []
    for part in re.split(r",(?![^(]*\))", text):
        negated = part.strip().startswith("!")
        match = _REQUIREMENT.fullmatch(part.strip().removeprefix("!"))
        if match is None:
            raise _Unsupported(f"label selector {text!r}")
        key, op, value, set_op, values = match.groups()
        if negated:
            if op or set_op:
                raise _Unsupported(f"label selector {text!r}")
            out.append((key, "!", frozenset()))
        elif op:
            out.append((key, "!=" if op == "!=" else "=", frozenset({value})))
        elif set_op:
            out.append((key, set_op, frozenset(v.strip() for v in values.split(","))))
        else:
            out.append((key, "exists", frozenset()))
    return out


def _matches_requirements(
    labels: Mapping[str, Any], requirements: list[tuple[str, str, frozenset[str]]]
) -> bool:
    for key, op, values in requirements:
        present = key in labels
        value = str(labels.get(key)) if present else None
        if op == "exists" and not present:
            return False
        if op == "!" and present:
            return False
        if op in ("=", "in") and value not in values:
            return False
        if op in ("!=", "notin") and present and value in values:
            return False
    return True


@dataclass
class _Selector:
    """A patch target: group, version, kind, name and namespace regexes; label selectors."""

    group: re.Pattern[str] | None
    version: re.Pattern[str] | None
    kind: re.Pattern[str] | None
    name: re.Pattern[str] | None
    namespace: re.Pattern[str] | None
    labels: list[tuple[str, str, frozenset[str]]]
    annotations: list[tuple[str, str, frozenset[str]]]

    @classmethod
    def parse(cls, raw: Any) -> _Selector:
        if not isinstance(raw, dict) or set(raw) - _SELECTOR_KEYS:
            raise _Unsupported("patch target")
        return cls(
            _pattern(raw.get("group"), "target group"),
            _pattern(raw.get("version"), "target version"),
            _pattern(raw.get("kind"), "target kind"),
            _pattern(raw.get("name"), "target name"),
            _pattern(raw.get("namespace"), "target namespace"),
            _label_selector(raw.get("labelSelector")),
            _label_selector(raw.get("annotationSelector")),
        )

    def select(self, resources: list[_Res]) -> list[_Res]:
        out = []
        for res in resources:
            original_name, original_ns = res.original
            if self.namespace and not (
                self.namespace.fullmatch(original_ns)
                or self.namespace.fullmatch(res.effective_namespace())
            ):
                continue
            if self.name and not (
                self.name.fullmatch(original_name) or self.name.fullmatch(res.name)
            ):
                continue
            group, version = _gv(res.api)
            if (
                (self.group and not self.group.fullmatch(group))
                or (self.version and not self.version.fullmatch(version))
                or (self.kind and not self.kind.fullmatch(res.kind))
            ):
                continue
            if not _matches_requirements(as_map(res.meta.get("labels")), self.labels):
                continue
            if not _matches_requirements(as_map(res.meta.get("annotations")), self.annotations):
                continue
            out.append(res)
        return out


_DELETE = object()
"""What merging returns for a value a ``$patch: delete`` directive removes."""


def _merge_key(value: Any) -> str:
    """A merge key's value as kustomize compares them: the scalar's text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    raise _Unsupported("merge key is not a string or integer")


class _StrategicMerge:
    """kustomize's strategic merge patch (kyaml merge2) for one resource kind."""

    def __init__(self, api: str, kind: str) -> None:
        self.kind = kind
        known = (api, kind) in _SCOPE  # kustomize has a schema only for built-in types
        self.refuse_lists = known and kind in _UNMERGED_KINDS
        self.known = known and not self.refuse_lists
        pod = _POD_SPEC.get(kind, "spec/template/spec")
        self.pod = tuple(pod.split("/")) if kind in _POD_KINDS else None

    def list_key(self, path: tuple[str, ...], dest: list[Any], patch: list[Any]) -> str | None:
        """The merge key of the list at ``path``; None when kustomize replaces the list."""
        if self.refuse_lists:
            raise _Unsupported(f"lists of {self.kind} in a patch")
        if not self.known:
            return None
        if path[0] == "status" or (
            len(path) >= 2
            and path[-2] == "metadata"
            and path[-1] in ("finalizers", "ownerReferences", "managedFields")
        ):
            raise _Unsupported(f"patch of {'/'.join(path)}")
        if self.kind == "Service" and path == ("spec", "ports"):
            key = "port"
        elif self.pod is not None and path[: len(self.pod)] == self.pod:
            rest = path[len(self.pod) :]
            if rest == ("topologySpreadConstraints",):
                raise _Unsupported("topologySpreadConstraints in a patch")
            if len(rest) == 1:
                key = _POD_LISTS.get(rest[0], "")
            elif len(rest) == 2 and rest[0] in (
                "containers",
                "initContainers",
                "ephemeralContainers",
            ):
                key = "containerPort" if rest[1] == "ports" else _CONTAINER_LISTS.get(rest[1], "")
            else:
                key = ""
        else:
            key = ""
        if not key:
            return None
        if key in ("port", "containerPort") and any(
            isinstance(item, dict) and "protocol" in item for item in [*dest, *patch]
        ):
            raise _Unsupported("ports with protocols in a patch")
        return key

    def merge_map(
        self, dest: dict[str, Any] | None, patch: dict[str, Any], path: tuple[str, ...]
    ) -> Any:
        directive = patch.get(_MERGE_DIRECTIVE)
        if any(isinstance(k, str) and k.startswith("$") and k != _MERGE_DIRECTIVE for k in patch):
            raise _Unsupported("patch directive")
        if directive == "delete":
            return _DELETE
        if directive not in (None, "merge"):
            raise _Unsupported(f"$patch: {directive}")
        out = dict(dest) if dest is not None else {}
        for key, value in patch.items():
            if key == _MERGE_DIRECTIVE:
                continue
            if not isinstance(key, str):
                raise _Unsupported("non-string key in a patch")
            merged = self.merge_value(out.get(key), value, (*path, key))
            if merged is _DELETE:
                out.pop(key, None)
            else:
                out[key] = merged
        return out

    def merge_value(self, dest: Any, patch: Any, path: tuple[str, ...]) -> Any:
        if patch is None:
            return _DELETE
        if isinstance(patch, dict):
            if dest is not None and not isinstance(dest, dict):
                raise _Unsupported(f"patch changes the type of {'/'.join(path)}")
            return self.merge_map(dest, patch, path)
        if isinstance(patch, list):
            if dest is not None and not isinstance(dest, list):
                raise _Unsupported(f"patch changes the type of {'/'.join(path)}")
            return self.merge_list(dest, patch, path)
        if isinstance(dest, dict | list):
            raise _Unsupported(f"patch changes the type of {'/'.join(path)}")
        return patch

    def merge_list(self, dest: list[Any] | None, patch: list[Any], path: tuple[str, ...]) -> Any:
        key = self.list_key(path, dest or [], patch)
        if key is None:
            return _copy(patch)
        items = [i for i in patch if not (isinstance(i, dict) and set(i) == {_MERGE_DIRECTIVE})]
        directives = [i[_MERGE_DIRECTIVE] for i in patch if i not in items]
        if directives == ["replace"]:
            dest = None
        elif directives:
            raise _Unsupported("list directive")
        base = dest or []
        for item in [*base, *items]:
            if not isinstance(item, dict) or item.get(key) is None:
                raise _Unsupported(f"list item without {key}")
        base_keys = [_merge_key(i[key]) for i in base]
        patch_keys = [_merge_key(i[key]) for i in items]
        if len(set(base_keys)) != len(base_keys) or len(set(patch_keys)) != len(patch_keys):
            raise _Unsupported(f"duplicate {key} in a list")
        # the patch's items first, in its order, then the items only the resource has
        by_key = dict(zip(base_keys, base, strict=True))
        out: list[Any] = []
        for k, item in zip(patch_keys, items, strict=True):
            merged = self.merge_map(by_key.get(k), item, path)
            if merged is not _DELETE and merged:
                if key not in merged:
                    raise _Unsupported("list item loses its key")
                out.append(merged)
        out += [item for k, item in zip(base_keys, base, strict=True) if k not in patch_keys]
        return out


_POD_KINDS = frozenset(
    {"Pod", "PodTemplate", "Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}
    | {"CronJob", "ReplicationController"}
)
_UNMERGED_KINDS = frozenset(
    {
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "ServiceAccount",
        "Node",
        "Namespace",
        "CustomResourceDefinition",
        "APIService",
    }
)
"""Built-in kinds with merge lists not tabled here: their list patches go to kustomize."""


# -- JSON 6902


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or not path.startswith("/"):
        raise _Unsupported(f"JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _json_value(value: Any) -> Any:
    """``value`` if it is plain JSON data (what kustomize's YAML-to-JSON gives)."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _Unsupported("non-finite number in a JSON patch")
        return value
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _json_value(v) for k, v in value.items()}
    raise _Unsupported("JSON patch value is not JSON")


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _container(doc: Any, parts: list[str]) -> tuple[Any, str]:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _Unsupported("JSON patch path does not exist")
    if not isinstance(node, dict | list):
        raise _Unsupported("JSON patch path does not exist")
    return node, parts[-1]


def _index(node: list[Any], part: str, *, adding: bool) -> int:
    if part == "-" and adding:
        return len(node)
    if not part.isdigit() or (len(part) > 1 and part.startswith("0")):
        raise _Unsupported(f"JSON patch index {part!r}")
    index = int(part)
    if index > len(node) or (index == len(node) and not adding):
        raise _Unsupported("JSON patch index out of range")
    return index


def _json_get(doc: Any, parts: list[str]) -> Any:
    node, last = _container(doc, parts)
    if isinstance(node, dict):
        if last not in node:
            raise _Unsupported("JSON patch path does not exist")
        return node[last]
    return node[_index(node, last, adding=False)]


def _json_add(doc: Any, parts: list[str], value: Any) -> None:
    node, last = _container(doc, parts)
    if isinstance(node, dict):
        node[last] = value
    else:
        node.insert(_index(node, last, adding=True), value)


def _json_remove(doc: Any, parts: list[str]) -> Any:
    node, last = _container(doc, parts)
    if isinstance(node, dict):
        if last not in node:
            raise _Unsupported("JSON patch removes a missing field")
        return node.pop(last)
    return node.pop(_index(node, last, adding=False))


def _touches_identity(path: Any) -> bool:
    return isinstance(path, str) and (
        path in ("", "/", "/metadata", "/kind", "/apiVersion")
        or path.startswith(("/metadata/name", "/metadata/namespace"))
    )


def _json_patch(body: dict[str, Any], ops: list[Any]) -> None:
    """Apply JSON 6902 operations in place; anything unusual is :class:`_Unsupported`."""
    for op in ops:
        if not isinstance(op, dict) or not isinstance(op.get("op"), str):
            raise _Unsupported("JSON patch operation")
        kind = op["op"]
        if _touches_identity(op.get("path")) or _touches_identity(op.get("from")):
            raise _Unsupported("JSON patch of a resource's identity")
        parts = _pointer(op.get("path"))
        if kind in ("add", "replace", "test") and "value" not in op:
            raise _Unsupported("JSON patch operation without a value")
        if kind == "add":
            _json_add(body, parts, _json_value(op["value"]))
        elif kind == "remove":
            _json_remove(body, parts)
        elif kind == "replace":
            node, last = _container(body, parts)
            value = _json_value(op["value"])
            if isinstance(node, dict):
                if last not in node:
                    raise _Unsupported("JSON patch replaces a missing field")
                node[last] = value
            else:
                node[_index(node, last, adding=False)] = value
        elif kind == "move":
            source = _pointer(op.get("from"))
            if parts[: len(source)] == source and parts != source:
                raise _Unsupported("JSON patch moves a value into itself")
            _json_add(body, parts, _json_remove(body, source))
        elif kind == "copy":
            _json_add(body, parts, _copy(_json_get(body, _pointer(op.get("from")))))
        elif kind == "test":
            if not _json_equal(_json_get(body, parts), _json_value(op["value"])):
                raise _Unsupported("JSON patch test failed")
        else:
            raise _Unsupported(f"JSON patch op {kind!r}")


# -- the build


_IMAGE_NAME = re.compile(r"[A-Za-z0-9._/:@-]+")
_TAG = r"(?::[a-zA-Z0-9_.{}-]*)?(?:@sha256:[a-zA-Z0-9_.{}-]*)?"


def _split_image(image: str) -> tuple[str, str, str]:
    """(name, tag, digest) as kustomize splits ``[host[:port]/]path[:tag][@digest]``."""
    slash = image.find("/")
    offset = slash if slash > 0 else 0
    search = image[offset:]
    at, colon = search.find("@"), search.find(":")
    if at < 0 and colon < 0:
        return image, "", ""
    if at >= 0 and (at < colon or colon < 0):
        return image[: offset + at], "", image[offset + at + 1 :]
    if at >= 0:
        return (
            image[: offset + colon],
            image[offset + colon + 1 : offset + at],
            image[offset + at + 1 :],
        )
    return image[: offset + colon], image[offset + colon + 1 :], ""


@dataclass(frozen=True)
class _Image:
    name: str
    new_name: str
    new_tag: str
    digest: str

    @classmethod
    def parse(cls, raw: Any) -> _Image:
        if not isinstance(raw, dict) or set(raw) - {"name", "newName", "newTag", "digest"}:
            raise _Unsupported("images entry")
        values = []
        for key in ("name", "newName", "newTag", "digest"):
            value = raw.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and key == "newTag":
                value = str(value)
            if value is None:
                value = ""
            if not isinstance(value, str) or ("@" in value and key == "newTag"):
                raise _Unsupported(f"images {key}")
            values.append(value)
        if not values[0] or not _IMAGE_NAME.fullmatch(values[0]):
            raise _Unsupported("images name")
        return cls(*values)

    def apply(self, image: str) -> str:
        if not re.fullmatch(self.name + _TAG, image):
            return image
        name, tag, digest = _split_image(image)
        name = self.new_name or name
        if self.new_tag:
            tag, digest = self.new_tag, self.digest
        elif self.digest:
            tag, digest = "", self.digest
        return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")

    def walk(self, node: Any) -> None:
        """Every ``containers``/``initContainers`` list anywhere, as kustomize looks for them."""
        if isinstance(node, dict):
            for key, value in node.items():
                self.walk(value)
                if key in ("containers", "initContainers") and isinstance(value, list):
                    for item in value:
                        if not isinstance(item, dict):
                            raise _Unsupported("container is not a mapping")
                        if "image" in item:
                            if not isinstance(item["image"], str):
                                raise _Unsupported("image is not a string")
                            item["image"] = self.apply(item["image"])
        elif isinstance(node, list):
            for value in node:
                self.walk(value)


def _legacy_order(res: _Res) -> tuple[int, str, str]:
    """kustomize's default output order: kinds that others need first, then by id string."""
    group, version = _gv(res.api)
    gvk = f"{group or '~G'}_{version or '~V'}_{res.kind}"
    return (_KIND_ORDER.get(res.kind, 0), gvk, f"{gvk}|{res.namespace or '~X'}|{res.name}")


def _check_unique(resources: list[_Res]) -> None:
    keys = [r.key() for r in resources]
    if len(set(keys)) != len(keys):
        raise _Unsupported("two resources with the same id")


def _could_be_referenced(referrer: _Res, resources: list[_Res]) -> list[_Res]:
    if not referrer.namespaced:
        return resources
    binding_namespaces: set[str] = set()
    if referrer.kind == "RoleBinding":
        for subject in as_list(referrer.body.get("subjects")):
            if isinstance(subject, dict) and subject.get("kind") == "ServiceAccount":
                if "namespace" not in subject:
                    continue
                if not isinstance(subject["namespace"], str):
                    raise _Unsupported("subject namespace is not a string")
                binding_namespaces.add(subject["namespace"])
    here = referrer.effective_namespace()
    return [
        r
        for r in resources
        if not r.namespaced or r.effective_namespace() == here or r.namespace in binding_namespaces
    ]


class _NameReferences:
    """kustomize's name reference fix-up: references follow the objects they name."""

    def __init__(self, resources: list[_Res]) -> None:
        self.resources = resources

    def run(self) -> None:
        if not any(r.previous for r in self.resources):
            return  # nothing was renamed or moved: no reference can change
        for referrer in self.resources:
            group, version = _gv(referrer.api)
            specs = [
                (target, path)
                for target, gvk, path in _NAME_REFS
                if gvk.selects(group, version, referrer.kind)
            ]
            if not specs:
                continue
            candidates = _could_be_referenced(referrer, self.resources)
            for target, path in specs:
                fix = partial(self.fix, referrer, candidates, target, path)
                _walk_field(referrer.body, path, False, None, fix)

    def fix(
        self,
        referrer: _Res,
        candidates: list[_Res],
        target: _Gvk,
        path: tuple[str, ...],
        parent: Any,
        key: Any,
    ) -> None:
        value = parent[key]
        if isinstance(value, str):
            parent[key] = self.scalar(referrer, candidates, target, path, value)
        elif isinstance(value, dict):
            self.mapping(referrer, candidates, target, path, value)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, str):
                    value[index] = self.scalar(referrer, candidates, target, path, item)
                elif isinstance(item, dict):
                    self.mapping(referrer, candidates, target, path, item)
                else:
                    raise _Unsupported("name reference is not a string or mapping")
        else:
            raise _Unsupported("name reference is not a string")

    def scalar(
        self, referrer: _Res, candidates: list[_Res], target: _Gvk, path: tuple[str, ...], old: str
    ) -> str:
        referral = self.select(referrer, candidates, target, path, old)
        return referral.name if referral is not None else old

    def mapping(
        self,
        referrer: _Res,
        candidates: list[_Res],
        target: _Gvk,
        path: tuple[str, ...],
        node: dict[str, Any],
    ) -> None:
        old = node.get("name")
        if not isinstance(old, str):
            raise _Unsupported("name reference without a name")
        if "namespace" in node:
            namespace = node["namespace"]
            if not isinstance(namespace, str):
                raise _Unsupported("name reference namespace is not a string")
            by_original: dict[str, list[_Res]] = {}
            by_current: dict[str, list[_Res]] = {}
            for r in candidates:
                by_original.setdefault(r.original[1], []).append(r)
                by_current.setdefault(r.effective_namespace(), []).append(r)
            by_original.pop(_NOT_NAMESPACED, None)
            by_current.pop(_NOT_NAMESPACED, None)
            if namespace in by_original:
                candidates = by_original[namespace]
            else:
                candidates = by_current.get(namespace, [])
        referral = self.select(referrer, candidates, target, path, old)
        if referral is None or (referral.name == old and not referral.namespace):
            return
        node["name"] = referral.name
        if referral.namespace:
            node["namespace"] = referral.namespace

    @staticmethod
    def select(
        referrer: _Res, candidates: list[_Res], target: _Gvk, path: tuple[str, ...], old: str
    ) -> _Res | None:
        found = []
        role_ref: _Gvk | None = None
        if path[-2:] == ("roleRef", "name"):
            ref = as_map(referrer.body.get("roleRef"))
            if ref.get("apiGroup") is not None and ref.get("kind") is not None:
                role_ref = _Gvk(str(ref["kind"]), str(ref["apiGroup"]))
        for r in candidates:
            if not any(name == old for name, _ in r.previous):
                continue
            group, version = _gv(r.api)
            if not target.selects(group, version, r.kind):
                continue
            if role_ref is not None and not role_ref.selects(group, version, r.kind):
                continue
            if (
                referrer.namespaced
                and r.namespaced
                and r.kind != "ServiceAccount"
                and r.effective_namespace() != referrer.effective_namespace()
            ):
                continue
            found.append(r)
        if len(found) > 1:
            raise _Unsupported(f"name reference {old} is ambiguous")
        return found[0] if found else None


class _Kustomize:
    """Builds kustomization roots in process; :class:`_Unsupported` when it cannot exactly."""

    def __init__(self, scan: _Scan, trees: dict[str, _Tree]) -> None:
        self.scan = scan
        self.trees = trees
        self.built: dict[str, list[_Res]] = {}
        self.loaded: dict[str, list[YamlDocument]] = {}
        self.alike: dict[str, bool] = {}

    def build(self, root: str) -> list[K8sObject]:
        resources = self.accumulate(root, ())
        _NameReferences(resources).run()
        resources.sort(key=_legacy_order)
        out = []
        for res in resources:
            meta = res.meta
            if "annotations" in meta and not meta["annotations"]:
                del meta["annotations"]  # kustomize drops an emptied annotations map
            if not all(isinstance(v, str) for v in as_map(meta.get("annotations")).values()):
                raise _Unsupported("annotation values kustomize turns into strings")
            body = _redact(res.body)
            out.append(
                _make_object(body, tuple(res.sources), res.path, res.line, origin="kustomize")
            )
        return out

    # -- reading

    def resolve(self, directory: str, ref: Any) -> str:
        if not isinstance(ref, str) or not ref or ref != ref.strip():
            raise _Unsupported(f"path {ref!r}")
        if _REMOTE.match(ref) or "://" in ref or "?" in ref or ref.startswith("/"):
            raise _Unsupported(f"remote or absolute path {ref}")
        joined = posixpath.normpath(posixpath.join(directory, ref))
        if joined == ".." or joined.startswith("../"):
            raise _Unsupported(f"{ref} leaves the repository")
        return "" if joined == "." else joined

    def file(self, directory: str, ref: Any) -> str:
        """A file a kustomization reads: kustomize refuses files outside its folder."""
        path = self.resolve(directory, ref)
        if directory and not path.startswith(directory + "/"):
            raise _Unsupported(f"{path} is outside {directory}")
        if path not in self.scan.paths:
            raise _Unsupported(f"{path} is not in the repository index")
        return path

    def text(self, path: str) -> str:
        text = self.scan.texts.get(path)
        if text is None:
            entry = self.scan.ctx.files.get(path)
            if entry is None:
                raise _Unsupported(f"{path} is not in the repository index")
            try:
                text = self.scan.ctx.files.read_text(entry)
            except CollectorError:
                raise _Unsupported(f"{path} cannot be read") from None
        return text

    def documents(self, path: str) -> list[YamlDocument]:
        """The parsed documents of a resource or patch file (Secrets redacted)."""
        if path in self.loaded:
            return self.loaded[path]
        text = self.text(path)
        if path not in self.alike:
            self.alike[path] = _kustomize_reads_alike(text)
        if not self.alike[path]:
            raise _Unsupported(f"{path} has YAML that kustomize reads differently")
        docs = self.scan.docs.get(path)
        if not docs:
            docs = _parse_for_kustomize(text, path)
        self.loaded[path] = docs
        return docs

    def resources_in(self, directory: str, path: str) -> list[_Res]:
        if directory and not path.startswith(directory + "/"):
            raise _Unsupported(f"{path} is outside {directory}")
        out = []
        for doc in self.documents(path):
            if doc.data is None:
                continue
            data = _check_resource(doc.data, path)
            out.append(_Res(_copy(data), [Source(path, doc)], path, doc.where(())[0]))
        return out

    def patches_in(self, directory: str, entry: dict[str, Any], kustomization: str) -> Any:
        """(documents' data, source document or None) of a ``path:`` or inline ``patch:``."""
        path, inline = entry.get("path"), entry.get("patch")
        if (path is None) == (inline is None):
            raise _Unsupported("patch needs exactly one of path and patch")
        if path is not None:
            file = self.file(directory, path)
            docs = self.documents(file)
            return [(d.data, Source(file, d)) for d in docs if d.data is not None]
        if not isinstance(inline, str) or not inline.strip():
            raise _Unsupported("inline patch")
        if not _kustomize_reads_alike(inline):
            raise _Unsupported("inline patch has YAML that kustomize reads differently")
        docs = _parse_for_kustomize(inline.strip(), kustomization)
        return [(d.data, None) for d in docs if d.data is not None]

    # -- accumulating

    def accumulate(self, directory: str, stack: tuple[str, ...]) -> list[_Res]:
        if directory in stack:
            raise _Unsupported(f"cycle through {directory or '.'}")
        if directory in self.built:
            return [r.clone() for r in self.built[directory]]
        tree = self.trees.get(directory)
        if tree is None or tree.documents != 1 or directory in self.scan.crowded:
            raise _Unsupported(f"no single kustomization in {directory or '.'}")
        raw = tree.raw
        self.check(tree)
        resources: list[_Res] = []
        for ref in [*_list(raw, "resources"), *_list(raw, "bases")]:
            path = self.resolve(directory, ref)
            if path in self.scan.paths:
                resources += self.resources_in(directory, path)
            elif path in self.trees or path in self.scan.dirs:
                resources += self.accumulate(path, (*stack, directory))
            else:
                raise _Unsupported(f"{path} does not exist")
            _check_unique(resources)
        self.transform(directory, tree, resources)
        if not tree.kustomization.root:  # a base: other overlays may build on it too
            self.built[directory] = [r.clone() for r in resources]
        return resources

    def check(self, tree: _Tree) -> None:
        raw = tree.raw
        unknown = set(raw) - _KUSTOMIZATION_FIELDS
        if unknown:
            raise _Unsupported(f"kustomization uses {', '.join(sorted(map(str, unknown)))}")
        if raw.get("apiVersion") not in (None, _KUSTOMIZE_API):
            raise _Unsupported(f"kustomization apiVersion {raw.get('apiVersion')}")
        if raw.get("kind") not in (None, "Kustomization"):
            raise _Unsupported(f"kustomization kind {raw.get('kind')}")
        if not _list(raw, "resources") and not _list(raw, "bases"):
            raise _Unsupported("kustomization without resources")
        if not _kustomize_reads_alike(tree.text):
            raise _Unsupported("kustomization has YAML that kustomize reads differently")

    def transform(self, directory: str, tree: _Tree, resources: list[_Res]) -> None:
        raw, path = tree.raw, tree.kustomization.path
        self.strategic_merge_patches(directory, raw, resources)
        for entry in _list(raw, "patches"):
            self.patch(directory, entry, resources, path)
        namespace = _string(raw, "namespace")
        if namespace:
            _set_namespace(resources, namespace)
        prefix, suffix = _string(raw, "namePrefix"), _string(raw, "nameSuffix")
        if prefix or suffix:
            _add_affixes(resources, prefix, suffix)
        for entry in _list(raw, "labels"):
            pairs, specs = _labels_entry(entry)
            _set_fields(resources, specs, pairs)
        _set_fields(resources, _LABEL_SPECS, _string_map(raw.get("commonLabels"), "commonLabels"))
        annotations = _string_map(raw.get("commonAnnotations"), "commonAnnotations")
        _set_fields(resources, _ANNOTATION_SPECS, annotations)
        for entry in _list(raw, "patchesJson6902"):
            self.json_6902(directory, entry, resources, path)
        for entry in _list(raw, "replicas"):
            _set_replicas(resources, entry)
        for entry in _list(raw, "images"):
            image = _Image.parse(entry)
            for res in resources:
                if res.kind != "CustomResourceDefinition":
                    image.walk(res.body)

    # -- patches

    def strategic_merge_patches(
        self, directory: str, raw: dict[str, Any], resources: list[_Res]
    ) -> None:
        items = _list(raw, "patchesStrategicMerge")
        if not items:
            return
        patches = []
        for item in items:
            if not isinstance(item, str) or "\n" in item or ":" in item:
                raise _Unsupported("inline patchesStrategicMerge")
            file = self.file(directory, item)
            for doc in self.documents(file):
                meta = as_map(as_map(doc.data).get("metadata"))
                for key in ("labels", "annotations"):
                    if None in as_map(meta.get(key)).values():
                        raise _Unsupported(f"null {key} in patchesStrategicMerge")
                if doc.data:
                    patches.append((doc.data, Source(file, doc)))
        if not patches:
            raise _Unsupported("empty patchesStrategicMerge")
        targets = [self.by_id(resources, data) for data, _ in patches]
        if len({id(t) for t in targets}) != len(targets):
            raise _Unsupported("two patches of one resource in patchesStrategicMerge")
        for (data, source), target in zip(patches, targets, strict=True):
            _apply_merge(resources, [target], data, source)

    def patch(self, directory: str, entry: Any, resources: list[_Res], kustomization: str) -> None:
        if not isinstance(entry, dict) or set(entry) - {"path", "patch", "target", "options"}:
            raise _Unsupported("patches entry")
        options = entry.get("options")
        if options is not None and (not isinstance(options, dict) or any(options.values())):
            raise _Unsupported("patch options")
        loaded = self.patches_in(directory, entry, kustomization)
        target = entry.get("target")
        if len(loaded) == 1 and isinstance(loaded[0][0], list):
            if target is None:
                raise _Unsupported("JSON patch without a target")
            for res in _Selector.parse(target).select(resources):
                res.store_previous()
                _json_patch(res.body, loaded[0][0])
                if loaded[0][1] is not None:
                    res.sources.append(loaded[0][1])
            return
        if not loaded or any(not isinstance(data, dict) for data, _ in loaded):
            raise _Unsupported("patch is neither a strategic merge nor a JSON patch")
        if target is not None:
            if len(loaded) > 1:
                raise _Unsupported("several patches with one target")
            data, source = loaded[0]
            _check_patch(data)
            _apply_merge(resources, _Selector.parse(target).select(resources), data, source)
            return
        for data, source in loaded:
            _apply_merge(resources, [self.by_id(resources, data)], data, source)

    def json_6902(
        self, directory: str, entry: Any, resources: list[_Res], kustomization: str
    ) -> None:
        if not isinstance(entry, dict) or set(entry) - {"path", "patch", "target"}:
            raise _Unsupported("patchesJson6902 entry")
        if entry.get("target") is None:
            raise _Unsupported("patchesJson6902 without a target")
        loaded = self.patches_in(directory, entry, kustomization)
        if len(loaded) != 1 or not isinstance(loaded[0][0], list):
            raise _Unsupported("patchesJson6902 is not a list of operations")
        ops, source = loaded[0]
        for res in _Selector.parse(entry["target"]).select(resources):
            _json_patch(res.body, ops)
            if source is not None:
                res.sources.append(source)

    @staticmethod
    def by_id(resources: list[_Res], data: Any) -> _Res:
        """The one resource a strategic merge patch without a target names."""
        _check_patch(data)
        api, kind = data["apiVersion"], data["kind"]
        meta = data["metadata"]
        name = meta["name"]
        namespace = meta.get("namespace") or ""
        effective = (namespace or "default") if _namespaced(api, kind) else _NOT_NAMESPACED
        found = [
            r for r in resources if r.api == api and r.kind == kind and (name, effective) in r.ids()
        ]
        if len(found) != 1:
            raise _Unsupported(f"patch {kind} {name} matches {len(found)} resources")
        return found[0]


def _list(raw: Mapping[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Unsupported(f"{key} is not a list")
    return value


def _string(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Unsupported(f"{key} is not a string")
    return value


def _parse_for_kustomize(text: str, source: str) -> list[YamlDocument]:
    try:
        docs = load_yaml_documents(text, source)
    except YamlProblem:
        raise _Unsupported(f"{source} is not valid YAML") from None
    return [YamlDocument(_redact(d.data), d.source, d.positions, d.key_positions) for d in docs]


def _check_patch(data: Any) -> None:
    if not isinstance(data, dict):
        raise _Unsupported("patch is not a mapping")
    meta = data.get("metadata")
    if not (
        isinstance(data.get("apiVersion"), str)
        and isinstance(data.get("kind"), str)
        and isinstance(meta, dict)
        and isinstance(meta.get("name"), str)
        and meta["name"]
        and isinstance(meta.get("namespace", ""), str)
    ):
        raise _Unsupported("patch without apiVersion, kind or name")


def _apply_merge(
    resources: list[_Res], targets: list[_Res], data: dict[str, Any], source: Source | None
) -> None:
    """A strategic merge patch on each target; kind, name and namespace stay as they were."""
    for res in targets:
        kind, name, namespace = res.kind, res.name, res.namespace
        patch = dict(data)
        patch["apiVersion"] = res.api
        patch["kind"] = kind
        merged = _StrategicMerge(res.api, kind).merge_map(res.body, patch, ())
        if merged is _DELETE:
            resources.remove(res)
            continue
        meta = merged.get("metadata")
        if not isinstance(meta, dict):
            raise _Unsupported("patch removes metadata")
        meta["name"] = name
        if namespace:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        res.body = merged
        if source is not None:
            res.sources.append(source)


def _set_namespace(resources: list[_Res], namespace: str) -> None:
    for res in resources:
        res.store_previous()
        if res.kind in ("APIService", "CustomResourceDefinition"):
            raise _Unsupported(f"namespace of a {res.kind}")
        if res.kind == "Namespace":
            if res.api != "v1":
                raise _Unsupported(f"namespace with {res.api} Namespace")
            res.meta["name"] = namespace
        if res.namespaced:
            res.meta["namespace"] = namespace
        if res.kind in ("RoleBinding", "ClusterRoleBinding") and "subjects" in res.body:
            subjects = res.body["subjects"]
            if not isinstance(subjects, list):
                raise _Unsupported("subjects is not a list")
            for subject in subjects:
                if not isinstance(subject, dict):
                    raise _Unsupported("subject is not a mapping")
                if subject.get("name") == "default":
                    subject["namespace"] = namespace
    _check_unique(resources)


def _add_affixes(resources: list[_Res], prefix: str, suffix: str) -> None:
    for res in resources:
        group, version = _gv(res.api)
        if res.kind == "Namespace" or any(
            g.selects(group, version, res.kind) for g in _PREFIX_SKIPPED
        ):
            continue
        res.store_previous()
        res.meta["name"] = f"{prefix}{res.name}{suffix}"


def _labels_entry(entry: Any) -> tuple[dict[str, str], tuple[_FieldSpec, ...]]:
    keys = {"pairs", "includeSelectors", "includeTemplates", "fields"}
    if not isinstance(entry, dict) or set(entry) - keys or entry.get("fields"):
        raise _Unsupported("labels entry")
    selectors, templates = entry.get("includeSelectors"), entry.get("includeTemplates")
    if not isinstance(selectors, bool | None) or not isinstance(templates, bool | None):
        raise _Unsupported("labels entry")
    pairs = _string_map(entry.get("pairs"), "labels")
    if selectors:
        return pairs, _LABEL_SPECS
    return pairs, _TEMPLATE_LABEL_SPECS if templates else _METADATA_LABELS


def _set_fields(
    resources: list[_Res], specs: tuple[_FieldSpec, ...], pairs: dict[str, str]
) -> None:
    if not pairs:
        return
    setter = _set_entries(pairs)
    for res in resources:
        _apply_specs(res, specs, {}, setter)


def _set_replicas(resources: list[_Res], entry: Any) -> None:
    if not isinstance(entry, dict) or set(entry) - {"name", "count"}:
        raise _Unsupported("replicas entry")
    name, count = entry.get("name"), entry.get("count")
    if not isinstance(name, str) or not isinstance(count, int) or isinstance(count, bool):
        raise _Unsupported("replicas entry")
    found = False
    for kind in _REPLICA_KINDS:
        for res in resources:
            if res.kind == kind and any(n == name for n, _ in res.ids()):
                found = True
                spec = res.body.setdefault("spec", {})
                if not isinstance(spec, dict):
                    raise _Unsupported("spec is not a mapping")
                spec["replicas"] = count
    if not found:
        raise _Unsupported(f"replicas: nothing named {name}")
