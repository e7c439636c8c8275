"""Terraform resources, module calls and variables, read from ``*.tf`` and ``*.tf.json``.

Every root configuration (a directory with ``.tf`` files that no local module
call points at) is instantiated once per environment: per ``*.tfvars`` file
named after an environment (``production.tfvars``), or once, its environment
taken from its path (``envs/production``). Local modules are instantiated
through their calls, with the caller's inputs. ``var.x`` and ``local.x`` are
resolved where the files fix their value; every other expression stays an
:class:`Unresolved` value, which checks must treat as unknown, never as a pass.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import posixpath
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

from prr.collectors.base import CollectContext, Collector, register
from prr.errors import CollectorError

NAME = "terraform"

PRODUCTION = "production"
_ENV_ALIASES = {
    "prod": PRODUCTION,
    "production": PRODUCTION,
    "prd": PRODUCTION,
    "live": PRODUCTION,
    "staging": "staging",
    "stage": "staging",
    "stg": "staging",
    "preprod": "staging",
    "pre-prod": "staging",
    "dev": "development",
    "develop": "development",
    "development": "development",
    "sandbox": "sandbox",
    "qa": "qa",
    "uat": "uat",
    "test": "test",
    "testing": "test",
    "demo": "demo",
    "example": "example",
    "examples": "example",
    "fixtures": "test",
    "testdata": "test",
    "tests": "test",
}
_ENV_CONTAINERS = {"env", "envs", "environments", "environment", "stages", "deployments", "live"}
_TOP_LEVEL = re.compile(
    r"^(resource|data|module|variable|output|locals|provider|terraform|moved|import|check|removed)\b"
)
_BLOCK_HEADER = re.compile(r'^\s*(resource|data)\s+"?([\w-]+)"?\s+"?([\w-]+)"?\s*\{')
_NAMED_HEADER = re.compile(r'^\s*(module|variable)\s+"?([\w-]+)"?\s*\{')
_REF = re.compile(r"^(var|local)\.([A-Za-z_][\w-]*)$")
_INTERPOLATION = re.compile(r"(?<!\$)\$\{([^{}]*)\}")
_ADDRESS = re.compile(r"(?<![\w.])((?:data\.)?[a-z][a-z0-9]*_[a-z0-9_]+\.[A-Za-z_][\w-]*)")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$")
_ESCAPE = re.compile(r'\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[nrt"\\])')
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_OPTIONS = SerializationOptions(with_comments=False, preserve_scientific_notation=False)
_MAX_MODULE_DEPTH = 8


@dataclass(frozen=True)
class Unresolved:
    """An HCL expression whose value the files alone do not fix (a reference, a call)."""

    text: str
    template: bool = False
    """A quoted string with ``${…}`` interpolations, rather than a bare expression."""

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class TerraformResource:
    """One resource (or data source) as instantiated in one environment.

    ``attributes`` maps attribute names to literal values, :class:`Unresolved`
    expressions, dicts (objects) or lists of dicts (nested blocks).
    """

    kind: str
    """``resource`` or ``data``."""
    type: str
    name: str
    path: str
    line: int
    attributes: dict[str, Any] = field(repr=False, compare=False)
    environment: str | None = None
    module_path: tuple[str, ...] = ()
    """Names of the module calls that instantiate it (``("db",)`` for ``module.db``)."""
    via: str | None = None
    """``path:line`` of the outermost module call that instantiates it."""
    attr_lines: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def address(self) -> str:
        prefix = "".join(f"module.{m}." for m in self.module_path)
        kind = "data." if self.kind == "data" else ""
        return f"{prefix}{kind}{self.type}.{self.name}"

    @property
    def ref(self) -> str:
        """How other blocks of the same module refer to it (``aws_lb.api``)."""
        kind = "data." if self.kind == "data" else ""
        return f"{kind}{self.type}.{self.name}"

    @property
    def scope(self) -> tuple[str | None, tuple[str, ...], str | None]:
        """Resources with the same scope live in the same module instance."""
        return (self.environment, self.module_path, self.via)

    @property
    def directory(self) -> str:
        return posixpath.dirname(self.path)

    def has(self, key: str) -> bool:
        return key in self.attributes

    def get(self, *keys: str, default: Any = None) -> Any:
        """The value at a path of attribute and nested block names; the first block is used."""
        value: Any = self.attributes
        for key in keys:
            if isinstance(value, list):
                value = value[0] if value and isinstance(value[0], dict) else None
            if not isinstance(value, dict) or key not in value:
                return default
            value = value[key]
        return value

    def blocks(self, *keys: str) -> list[dict[str, Any]]:
        """All nested blocks at a path (``blocks("ingress")``), as dicts."""
        value = self.get(*keys)
        if isinstance(value, dict):
            return [value]
        if isinstance(value, list):
            return [v for v in value if isinstance(v, dict)]
        return []

    def line_of(self, key: str, index: int = 0) -> int:
        """Line of an attribute or of the ``index``-th nested block of that name, else of
        the resource block."""
        lines = self.attr_lines.get(key, ())
        if not lines:
            return self.line
        return lines[min(index, len(lines) - 1)]

    @cached_property
    def refs(self) -> frozenset[str]:
        """Resources its expressions name (``aws_lb.api``, ``data.aws_iam_policy_document.p``)."""
        return frozenset(
            match.group(1)
            for text in expressions(self.attributes)
            for match in _ADDRESS.finditer(text)
        )

    def refers_to(self, other: TerraformResource) -> bool:
        """Whether an expression in this resource names ``other`` (same module instance)."""
        return other.scope == self.scope and other.ref in self.refs


@dataclass(frozen=True)
class TerraformModuleCall:
    """A ``module`` block: where it points and the inputs it passes."""

    name: str
    source: str | None
    version: str | None
    path: str
    line: int
    inputs: dict[str, Any] = field(repr=False, compare=False)
    environment: str | None = None
    local_dir: str | None = None
    """Repository directory of a local source (``./modules/db``), else None."""


@dataclass(frozen=True)
class TerraformVariable:
    """A ``variable`` block; ``has_default`` says whether ``default`` is meaningful."""

    name: str
    path: str
    line: int
    has_default: bool
    default: Any = field(default=None, repr=False, compare=False)
    sensitive: bool = False


@dataclass(frozen=True)
class TerraformVarFile:
    """A ``*.tfvars`` file: the variable values it sets, with their lines."""

    path: str
    directory: str
    """The configuration directory it belongs to."""
    environment: str | None
    values: dict[str, Any] = field(repr=False, compare=False)
    lines: dict[str, int] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class TerraformStack:
    """A root configuration and the environments it is instantiated for."""

    directory: str
    environments: tuple[str | None, ...]
    files: tuple[str, ...]


@dataclass(frozen=True)
class UnparsedFile:
    """A Terraform file that could not be read; what it seems to declare, by text."""

    path: str
    reason: str
    line: int | None = None
    resource_types: tuple[str, ...] = ()
    declares_modules: bool = False
    var_file: bool = False
    scanned: bool = False
    """Whether its text could be read to see what it declares."""


_Index = dict[tuple[Any, str], list[TerraformResource]]


@dataclass(frozen=True)
class TerraformFacts:
    """Everything the Terraform files of a repository declare."""

    files: tuple[str, ...] = ()
    resources: tuple[TerraformResource, ...] = ()
    data_sources: tuple[TerraformResource, ...] = ()
    modules: tuple[TerraformModuleCall, ...] = ()
    variables: tuple[TerraformVariable, ...] = ()
    var_files: tuple[TerraformVarFile, ...] = ()
    stacks: tuple[TerraformStack, ...] = ()
    unparsed: tuple[UnparsedFile, ...] = ()

    def of_type(self, *types: str, production: bool = True) -> list[TerraformResource]:
        """Resources of the given types (prefix ``aws_alb*`` allowed); production ones only
        unless ``production=False`` (resources of unnamed environments count as production)."""
        return _select(self._resources_by_type, types, production)

    def data_of_type(self, *types: str, production: bool = True) -> list[TerraformResource]:
        return _select(self._data_by_type, types, production)

    @cached_property
    def _resources_by_type(self) -> dict[str, list[tuple[int, TerraformResource]]]:
        return _group_by_type(self.resources)

    @cached_property
    def _data_by_type(self) -> dict[str, list[tuple[int, TerraformResource]]]:
        return _group_by_type(self.data_sources)

    def unparsed_for(self, *types: str) -> list[UnparsedFile]:
        """Unreadable files that may declare resources of these types (or anything)."""
        return [
            u
            for u in self.unparsed
            if u.var_file
            or u.declares_modules
            or not u.scanned
            or any(_type_matches(t, types) for t in u.resource_types)
        ]

    def referencing(self, target: TerraformResource, *types: str) -> list[TerraformResource]:
        """Resources of ``types`` that refer to ``target`` by expression or by its name
        (``bucket = "shop-uploads"``), in the same module instance."""
        by_ref, by_name = self._referrers
        candidates = list(by_ref.get((target.scope, target.ref), ()))
        for key in ("bucket", "name", "identifier"):
            value = target.get(key)
            if isinstance(value, str) and value:
                candidates.extend(by_name.get((target.scope, value), ()))
        seen: set[int] = set()
        found = []
        for other in candidates:
            if id(other) not in seen and other is not target and _type_matches(other.type, types):
                seen.add(id(other))
                found.append(other)
        return found

    @cached_property
    def _referrers(self) -> tuple[_Index, _Index]:
        """Who refers to what, built once: by expression and by literal name."""
        by_ref: _Index = {}
        by_name: _Index = {}
        for resource in self.resources:
            for ref in resource.refs:
                by_ref.setdefault((resource.scope, ref), []).append(resource)
            for key in ("bucket", "name", "resource_name"):
                value = resource.get(key)
                if isinstance(value, str) and value:
                    by_name.setdefault((resource.scope, value), []).append(resource)
        return by_ref, by_name

    @property
    def environments(self) -> set[str]:
        return {r.environment for r in self.resources if r.environment}


def _group_by_type(
    resources: Iterable[TerraformResource],
) -> dict[str, list[tuple[int, TerraformResource]]]:
    """Resources by type, each with its position in declaration order."""
    grouped: dict[str, list[tuple[int, TerraformResource]]] = {}
    for position, resource in enumerate(resources):
        grouped.setdefault(resource.type, []).append((position, resource))
    return grouped


def _select(
    grouped: dict[str, list[tuple[int, TerraformResource]]],
    types: tuple[str, ...],
    production: bool,
) -> list[TerraformResource]:
    """Resources of matching types, in declaration order."""
    found = [p for kind, pairs in grouped.items() if _type_matches(kind, types) for p in pairs]
    found.sort(key=lambda pair: pair[0])
    return [r for _, r in found if not production or is_production(r.environment)]


def _type_matches(kind: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        if pattern.endswith("*"):
            if kind.startswith(pattern[:-1]):
                return True
        elif kind == pattern:
            return True
    return False


def is_production(environment: str | None) -> bool:
    """Unnamed environments may be production; named ones only if they are."""
    return environment is None or environment == PRODUCTION


def expressions(value: Any) -> Iterator[str]:
    """Every unresolved expression text inside a value."""
    if isinstance(value, Unresolved):
        yield value.text
    elif isinstance(value, dict):
        for item in value.values():
            yield from expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from expressions(item)


def environment_of(path: str, known: Mapping[str, str] | None = None) -> str | None:
    """The environment a path names (``envs/prod/main.tf`` → production), if any."""
    parts = [p.lower() for p in path.split("/")]
    for index in range(len(parts) - 1, -1, -1):
        part = parts[index]
        if known and part in known:
            return known[part]
        if part in _ENV_ALIASES:
            return _ENV_ALIASES[part]
        parent = parts[index - 1] if index else ""
        if parent in _ENV_CONTAINERS:
            for token in re.split(r"[-_.]", part):
                if known and token in known:
                    return known[token]
                if token in _ENV_ALIASES:
                    return _ENV_ALIASES[token]
    return None


def _var_file_environment(path: str, known: Mapping[str, str] | None) -> str | None:
    name = posixpath.basename(path).lower()
    stem = re.sub(r"(\.auto)?\.tfvars(\.json)?$", "", name)
    if stem == "terraform":
        return environment_of(posixpath.dirname(path), known)
    for token in [stem, *re.split(r"[-_.]", stem)]:
        if known and token in known:
            return known[token]
        if token in _ENV_ALIASES:
            return _ENV_ALIASES[token]
    return environment_of(posixpath.dirname(path), known)


# --- turning python-hcl2 output into plain values ------------------------------------


def _unescape(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(1)
        if token[0] in "uU":
            return chr(int(token[1:], 16))
        return _ESCAPES[token]

    return _ESCAPE.sub(replace, text)


def _heredoc(inner: str) -> str:
    lines = inner.split("\n")
    body = lines[1:-1] if len(lines) >= 2 else []
    if lines[0].startswith("<<-"):
        indents = [len(x) - len(x.lstrip()) for x in body if x.strip()]
        cut = min(indents) if indents else 0
        body = [x[cut:] for x in body]
    return "\n".join(body)


def _norm_str(text: str) -> Any:
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        inner = text[1:-1]
        if inner.startswith("<<"):
            inner = _heredoc(inner)
            if _INTERPOLATION.search(inner) or "%{" in inner:
                return Unresolved(inner, template=True)
            return inner.replace("$${", "${")
        if _INTERPOLATION.search(inner) or "%{" in inner:
            return Unresolved(inner, template=True)
        return _unescape(inner).replace("$${", "${")
    if text.startswith("${") and text.endswith("}"):
        expr = text[2:-1].strip()
        if _NUMBER.match(expr):
            number = float(expr)
            return int(number) if number.is_integer() and "." not in expr else number
        encoded = _jsonencode(expr)
        return encoded if encoded is not None else Unresolved(expr)
    return text


def _jsonencode(expr: str) -> Any:
    """The value inside ``jsonencode({...})``, parsed as HCL, or None."""
    if not expr.startswith("jsonencode(") or not expr.endswith(")"):
        return None
    inner = expr[len("jsonencode(") : -1]
    try:
        parsed = hcl2.loads(f"value = {inner}\n", serialization_options=_OPTIONS)
    except Exception:
        return None
    return _norm(parsed.get("value"))


def _unquote(key: str) -> str:
    if len(key) >= 2 and key.startswith('"') and key.endswith('"'):
        return _unescape(key[1:-1])
    return key


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return _norm_str(value)
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for raw_key, item in value.items():
            if raw_key.startswith("__") and raw_key.endswith("__"):
                continue
            key = _unquote(raw_key)
            if key == "dynamic" and isinstance(item, list):
                for entry in item:
                    for label, body in (entry or {}).items():
                        if label.startswith("__"):
                            continue
                        content = body.get("content", []) if isinstance(body, dict) else []
                        blocks = content if isinstance(content, list) else [content]
                        target = out.setdefault(_unquote(label), [])
                        if isinstance(target, list):
                            target.extend(_norm(b) for b in blocks)
                continue
            out[key] = _norm(item)
        return out
    return value


def _norm_json(value: Any) -> Any:
    """Values of ``.tf.json`` files: strings with ``${…}`` are templates or expressions."""
    if isinstance(value, str):
        match = re.fullmatch(r"\$\{(.*)\}", value, flags=re.DOTALL)
        if match and "${" not in match.group(1):
            return _norm_str(value)
        if _INTERPOLATION.search(value) or "%{" in value:
            return Unresolved(value, template=True)
        return value.replace("$${", "${")
    if isinstance(value, list):
        return [_norm_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm_json(v) for k, v in value.items() if k != "//"}
    return value


# --- one parsed file ------------------------------------------------------------------


@dataclass
class _Block:
    kind: str
    labels: tuple[str, ...]
    body: dict[str, Any]
    path: str
    line: int
    attr_lines: dict[str, tuple[int, ...]]


@dataclass
class _File:
    path: str
    directory: str
    blocks: list[_Block] = field(default_factory=list)


def _line_index(text: str) -> tuple[list[str], dict[tuple[str, ...], int]]:
    """Lines of the text and the line of each ``resource``/``data``/``module``/``variable``."""
    lines = text.splitlines()
    found: dict[tuple[str, ...], int] = {}
    for number, line in enumerate(lines, start=1):
        match = _BLOCK_HEADER.match(line)
        if match:
            found.setdefault(match.groups(), number)
            continue
        named = _NAMED_HEADER.match(line)
        if named:
            found.setdefault(named.groups(), number)
    return lines, found


def _attr_lines(lines: list[str], start: int) -> dict[str, tuple[int, ...]]:
    """Lines where each attribute or block name occurs inside a block, in order."""
    found: dict[str, list[int]] = {}
    pattern = re.compile(r'^\s*(?:dynamic\s+"([\w-]+)"|"?([\w-]+)"?\s*(?:=|\{))')
    for number in range(start + 1, len(lines) + 1):
        line = lines[number - 1]
        if _TOP_LEVEL.match(line):
            break
        match = pattern.match(line)
        if match:
            found.setdefault(match.group(1) or match.group(2), []).append(number)
    return {k: tuple(v) for k, v in found.items()}


def _parse_hcl(path: str, text: str) -> list[_Block]:
    parsed = hcl2.loads(text, serialization_options=_OPTIONS)
    lines, header_lines = _line_index(text)
    blocks: list[_Block] = []
    for kind in ("resource", "data"):
        for entry in parsed.get(kind, []) or []:
            for raw_type, named in entry.items():
                if raw_type.startswith("__") or not isinstance(named, dict):
                    continue
                for raw_name, body in named.items():
                    if raw_name.startswith("__"):
                        continue
                    labels = (_unquote(raw_type), _unquote(raw_name))
                    line = header_lines.get((kind, *labels), 1)
                    blocks.append(
                        _Block(kind, labels, _norm(body), path, line, _attr_lines(lines, line))
                    )
    for kind in ("module", "variable"):
        for entry in parsed.get(kind, []) or []:
            for raw_name, body in entry.items():
                if raw_name.startswith("__"):
                    continue
                label = _unquote(raw_name)
                line = header_lines.get((kind, label), 1)
                blocks.append(
                    _Block(kind, (label,), _norm(body), path, line, _attr_lines(lines, line))
                )
    for entry in parsed.get("locals", []) or []:
        body = _norm(entry)
        blocks.append(_Block("locals", (), body, path, 1, {}))
    return blocks


def _json_line(text: str, *labels: str) -> int:
    position = 0
    for label in labels:
        found = text.find(f'"{label}"', position)
        if found < 0:
            return 1
        position = found + 1
    return text.count("\n", 0, position) + 1


def _json_bodies(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def _parse_json(path: str, text: str) -> list[_Block]:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("top level is not an object")
    blocks: list[_Block] = []
    for kind in ("resource", "data"):
        for types in _json_bodies(data.get(kind)):
            for rtype, named in types.items():
                for names in _json_bodies(named):
                    for rname, body in names.items():
                        for one in _json_bodies(body):
                            line = _json_line(text, kind, rtype, rname)
                            blocks.append(
                                _Block(kind, (rtype, rname), _norm_json(one), path, line, {})
                            )
    for kind in ("module", "variable"):
        for named in _json_bodies(data.get(kind)):
            for name, body in named.items():
                for one in _json_bodies(body):
                    line = _json_line(text, kind, name)
                    blocks.append(_Block(kind, (name,), _norm_json(one), path, line, {}))
    for body in _json_bodies(data.get("locals")):
        blocks.append(_Block("locals", (), _norm_json(body), path, 1, {}))
    return blocks


def _parse_var_file(path: str, text: str) -> tuple[dict[str, Any], dict[str, int]]:
    if path.lower().endswith(".json"):
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("top level is not an object")
        return {k: _norm_json(v) for k, v in data.items()}, {k: _json_line(text, k) for k in data}
    parsed = hcl2.loads(text, serialization_options=_OPTIONS)
    values = {
        _unquote(k): _norm(v)
        for k, v in parsed.items()
        if not (k.startswith("__") and k.endswith("__"))
    }
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r'^\s*"?([\w-]+)"?\s*=', line)
        if match:
            lines.setdefault(match.group(1), number)
    return values, lines


def _error_line(exc: Exception) -> tuple[str, int | None]:
    """A reason that never echoes file content (it may be a secret), and the line."""
    line = getattr(exc, "line", None) or getattr(exc, "lineno", None)
    column = getattr(exc, "column", None) or getattr(exc, "colno", None)
    line = line if isinstance(line, int) and line > 0 else None
    name = type(exc).__name__
    if name.startswith("Unexpected") or isinstance(exc, json.JSONDecodeError):
        reason = "invalid syntax"
        if isinstance(column, int) and column > 0:
            reason += f" at column {column}"
    else:
        reason = f"cannot be parsed ({name})"
    return reason, line


# --- instantiation: roots, environments, modules ---------------------------------------


@dataclass
class _Scope:
    """Variable values and locals of one module instance."""

    values: dict[str, Any]
    locals_: dict[str, Any]
    resolving: set[str] = field(default_factory=set)

    def lookup(self, kind: str, name: str) -> Any:
        if kind == "var":
            return self.values.get(name, _MISSING)
        key = f"local.{name}"
        if name not in self.locals_ or key in self.resolving:
            return _MISSING
        self.resolving.add(key)
        try:
            return self.resolve(self.locals_[name])
        finally:
            self.resolving.discard(key)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, Unresolved):
            return self._resolve_expr(value)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _resolve_expr(self, value: Unresolved) -> Any:
        if not value.template:
            match = _REF.match(value.text)
            if match:
                found = self.lookup(match.group(1), match.group(2))
                return value if found is _MISSING else found
            return value
        parts: list[str] = []
        position = 0
        if "%{" in value.text:
            return value
        for match in _INTERPOLATION.finditer(value.text):
            ref = _REF.match(match.group(1).strip())
            if not ref:
                return value
            found = self.lookup(ref.group(1), ref.group(2))
            if found is _MISSING or isinstance(found, (dict, list, Unresolved)) or found is None:
                return value
            if isinstance(found, bool):
                found = "true" if found else "false"
            parts.append(value.text[position : match.start()])
            parts.append(str(found))
            position = match.end()
        parts.append(value.text[position:])
        return _unescape("".join(parts)).replace("$${", "${")


_MISSING: Any = object()


class _Builder:
    def __init__(self, ctx: CollectContext, files: list[_File], var_files: list[TerraformVarFile]):
        self.ctx = ctx
        self.by_dir: dict[str, list[_Block]] = {}
        for parsed in files:
            self.by_dir.setdefault(parsed.directory, []).extend(parsed.blocks)
        self.var_files = var_files
        self.resources: list[TerraformResource] = []
        self.data: list[TerraformResource] = []
        self.modules: list[TerraformModuleCall] = []
        self.known = _known_environments(ctx)

    def local_dir(self, directory: str, source: Any) -> str | None:
        if not isinstance(source, str) or not source.startswith(("./", "../")):
            return None
        joined = posixpath.normpath(posixpath.join(directory or ".", source))
        joined = "" if joined == "." else joined
        if joined.startswith(".."):
            return None
        return joined if joined in self.by_dir else None

    def build(self) -> list[TerraformStack]:
        called: set[str] = set()
        for directory, blocks in self.by_dir.items():
            for block in blocks:
                if block.kind == "module":
                    target = self.local_dir(directory, block.body.get("source"))
                    if target and target != directory:
                        called.add(target)
        stacks: list[TerraformStack] = []
        for directory in sorted(self.by_dir):
            if directory in called:
                continue
            contexts = self.contexts(directory)
            for environment, values in contexts:
                self.instantiate(directory, values, environment, (), None, (directory,))
            files = sorted({b.path for b in self.by_dir[directory]})
            stacks.append(TerraformStack(directory, tuple(e for e, _ in contexts), tuple(files)))
        return stacks

    def contexts(self, directory: str) -> list[tuple[str | None, dict[str, Any]]]:
        """One (environment, variable values) pair per environment the root is applied to."""
        shared: dict[str, Any] = {}
        per_env: dict[str, dict[str, Any]] = {}
        for var_file in self.var_files:
            if var_file.directory != directory:
                continue
            name = posixpath.basename(var_file.path).lower()
            if name.startswith("terraform.tfvars") or (
                ".auto.tfvars" in name and var_file.environment is None
            ):
                shared.update(var_file.values)
            elif var_file.environment:
                per_env.setdefault(var_file.environment, {}).update(var_file.values)
        if not per_env:
            return [(environment_of(directory, self.known), shared)]
        return [(env, {**shared, **values}) for env, values in sorted(per_env.items())]

    def instantiate(
        self,
        directory: str,
        values: dict[str, Any],
        environment: str | None,
        module_path: tuple[str, ...],
        via: str | None,
        chain: tuple[str, ...],
    ) -> None:
        blocks = self.by_dir.get(directory, [])
        merged: dict[str, Any] = {}
        for block in blocks:
            if block.kind == "variable":
                name = block.labels[0]
                if name in values:
                    merged[name] = values[name]
                elif "default" in block.body:
                    merged[name] = block.body["default"]
        locals_: dict[str, Any] = {}
        for block in blocks:
            if block.kind == "locals":
                locals_.update(block.body)
        scope = _Scope(merged, locals_)
        for block in blocks:
            if block.kind in ("resource", "data"):
                attributes = scope.resolve(block.body)
                if _count_is_zero(attributes):
                    continue
                resource = TerraformResource(
                    block.kind,
                    block.labels[0],
                    block.labels[1],
                    block.path,
                    block.line,
                    attributes,
                    environment,
                    module_path,
                    via,
                    block.attr_lines,
                )
                (self.resources if block.kind == "resource" else self.data).append(resource)
            elif block.kind == "module":
                self.call(block, scope, directory, environment, module_path, via, chain)

    def call(
        self,
        block: _Block,
        scope: _Scope,
        directory: str,
        environment: str | None,
        module_path: tuple[str, ...],
        via: str | None,
        chain: tuple[str, ...],
    ) -> None:
        inputs = scope.resolve(block.body)
        if _count_is_zero(inputs):
            return
        source = inputs.get("source")
        version = inputs.get("version")
        target = self.local_dir(directory, source)
        self.modules.append(
            TerraformModuleCall(
                block.labels[0],
                source if isinstance(source, str) else None,
                version if isinstance(version, str) else None,
                block.path,
                block.line,
                {k: v for k, v in inputs.items() if k not in ("source", "version")},
                environment,
                target,
            )
        )
        if not target or target in chain or len(chain) > _MAX_MODULE_DEPTH:
            return
        self.instantiate(
            target,
            inputs,
            environment,
            (*module_path, block.labels[0]),
            via or f"{block.path}:{block.line}",
            (*chain, target),
        )


def _count_is_zero(attributes: dict[str, Any]) -> bool:
    count = attributes.get("count")
    if isinstance(count, (int, float)) and not isinstance(count, bool) and count == 0:
        return True
    for_each = attributes.get("for_each")
    return isinstance(for_each, (list, dict)) and not for_each


def _known_environments(ctx: CollectContext) -> dict[str, str]:
    """Environment names from the target (prr.yaml), mapped to production where flagged."""
    target = ctx.settings.get("target")
    environments = getattr(target, "environments", None)
    known: dict[str, str] = {}
    if isinstance(environments, Mapping):
        for name, env in environments.items():
            flagged = bool(getattr(env, "production", False))
            known[str(name).lower()] = PRODUCTION if flagged else str(name).lower()
    return known


def _config_dir(path: str, tf_dirs: set[str]) -> str:
    directory = posixpath.dirname(path)
    probe = directory
    while True:
        if probe in tf_dirs:
            return probe
        if not probe:
            return directory
        probe = posixpath.dirname(probe)


def _scan_declarations(text: str) -> tuple[tuple[str, ...], bool]:
    types = sorted(set(re.findall(r'^\s*resource\s+"([\w-]+)"', text, flags=re.MULTILINE)))
    modules = re.search(r'^\s*module\s+"', text, flags=re.MULTILINE) is not None
    return tuple(types), modules


_PARALLEL_FILES = 48
_MAX_WORKERS = 8
_Parsed = tuple[str, list[_Block], UnparsedFile | None]


def _parse_one(path: str, text: str) -> _Parsed:
    """Parse one file; a failure carries the reason, the line and what the text declares."""
    try:
        if path.lower().endswith(".json"):
            return path, _parse_json(path, text), None
        return path, _parse_hcl(path, text), None
    except Exception as exc:  # python-hcl2 raises lark errors and others
        reason, line = _error_line(exc)
        types, modules = _scan_declarations(text)
        return path, [], UnparsedFile(path, reason, line, types, modules, scanned=True)


def _parse_batch(jobs: list[tuple[str, str]]) -> list[_Parsed]:
    return [_parse_one(path, text) for path, text in jobs]


def _parse_all(jobs: list[tuple[str, str]]) -> list[_Parsed]:
    """Parse files, in worker processes when there are many (HCL parsing is CPU-bound)."""
    workers = min(os.cpu_count() or 1, _MAX_WORKERS)
    if workers <= 1 or len(jobs) < _PARALLEL_FILES:
        return _parse_batch(jobs)
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1 and sys.platform == "linux":
        method = "fork"  # cheapest, and safe while this process runs a single thread
    else:
        method = "forkserver" if "forkserver" in methods else "spawn"
    batches: list[list[tuple[str, str]]] = [[] for _ in range(workers * 4)]
    for number, job in enumerate(sorted(jobs, key=lambda j: -len(j[1]))):
        batches[number % len(batches)].append(job)
    try:
        context = multiprocessing.get_context(method)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            parts = list(pool.map(_parse_batch, [b for b in batches if b]))
    except (OSError, RuntimeError, ImportError):
        return _parse_batch(jobs)  # no subprocesses here (sandbox, frozen app)
    order = {path: number for number, (path, _) in enumerate(jobs)}
    return sorted((p for part in parts for p in part), key=lambda p: order[p[0]])


@register
class TerraformCollector(Collector):
    """Reads Terraform configurations: resources, modules, variables, tfvars."""

    name = NAME
    facts_type = TerraformFacts

    def collect(self, ctx: CollectContext) -> TerraformFacts:
        parsed_files: list[_File] = []
        unparsed: list[UnparsedFile] = []
        variables: list[TerraformVariable] = []
        tf_entries = [
            e for e in ctx.files.match("*.tf", "*.tf.json") if not e.path.endswith(".tfstate")
        ]
        var_entries = ctx.files.match("*.tfvars", "*.tfvars.json")
        jobs: list[tuple[str, str]] = []
        for entry in tf_entries:
            text = self._read(ctx, entry, unparsed)
            if text is not None:
                jobs.append((entry.path, text))
        for path, blocks, failure in _parse_all(jobs):
            if failure is not None:
                ctx.error(path, f"Terraform file {failure.reason}", NAME, failure.line)
                unparsed.append(failure)
                continue
            parsed_files.append(_File(path, posixpath.dirname(path), blocks))
            for block in blocks:
                if block.kind == "variable":
                    variables.append(
                        TerraformVariable(
                            block.labels[0],
                            block.path,
                            block.line,
                            "default" in block.body,
                            block.body.get("default"),
                            block.body.get("sensitive") is True,
                        )
                    )
        tf_dirs = {f.directory for f in parsed_files}
        known = _known_environments(ctx)
        var_files: list[TerraformVarFile] = []
        for entry in var_entries:
            text = self._read(ctx, entry, unparsed, var_file=True)
            if text is None:
                continue
            try:
                values, lines = _parse_var_file(entry.path, text)
            except Exception as exc:
                reason, line = _error_line(exc)
                ctx.error(entry.path, f"Terraform variables file {reason}", NAME, line)
                unparsed.append(UnparsedFile(entry.path, reason, line, var_file=True))
                continue
            var_files.append(
                TerraformVarFile(
                    entry.path,
                    _config_dir(entry.path, tf_dirs),
                    _var_file_environment(entry.path, known),
                    values,
                    lines,
                )
            )
        builder = _Builder(ctx, parsed_files, var_files)
        stacks = builder.build()
        return TerraformFacts(
            files=tuple(f.path for f in parsed_files),
            resources=tuple(builder.resources),
            data_sources=tuple(builder.data),
            modules=tuple(builder.modules),
            variables=tuple(variables),
            var_files=tuple(var_files),
            stacks=tuple(stacks),
            unparsed=tuple(unparsed),
        )

    def _read(
        self,
        ctx: CollectContext,
        entry: Any,
        unparsed: list[UnparsedFile],
        *,
        var_file: bool = False,
    ) -> str | None:
        try:
            text: str = ctx.files.read_text(entry)
        except CollectorError as exc:
            reason = str(exc).removeprefix(f"{entry.path}: ")
            ctx.error(entry.path, reason, NAME)
            unparsed.append(UnparsedFile(entry.path, reason, var_file=var_file))
            return None
        return text
