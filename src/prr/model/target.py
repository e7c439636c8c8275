"""The service under review, as described by ``prr.yaml`` at its repository root.

``prr.yaml`` names the service, its owner, tier and launch stage, the checklist
to use, the traits that decide which items apply, its environments (for live
verification), its service-level objectives and its waivers. Credentials are
only ever referenced as ``env:VAR``; a password written into the file is
refused. A Backstage
``catalog-info.yaml`` beside it fills in the owner and lifecycle when
``prr.yaml`` does not say.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from prr.errors import Problem, PrrError
from prr.model.checklist import Stage, Trait
from prr.model.fields import parse_duration
from prr.model.yamlsource import YamlDocument, YamlProblem, load_yaml, load_yaml_documents

TARGET_FILE = "prr.yaml"
CATALOG_FILE = "catalog-info.yaml"
ENV_REF = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")


class TargetError(PrrError):
    """``prr.yaml`` (or the catalog file) is malformed; carries located problems."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def resolve_secret(reference: str | None) -> str | None:
    """The value behind ``env:VAR`` (None when unset). Plain values are returned as given."""
    if reference is None:
        return None
    match = ENV_REF.match(reference)
    if match:
        return os.environ.get(match.group(1))
    return reference


def _no_inline_password(value: str) -> str:
    if ENV_REF.match(value):
        return value
    parts = urlsplit(value)
    if parts.password:
        raise ValueError(
            "contains a password; put the whole URL in an environment variable and write env:VAR"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Endpoint(_Strict):
    """An HTTP(S) endpoint of the service in one environment."""

    name: str = "api"
    url: Annotated[str, Field(pattern=r"^https?://")]
    health_path: str = "/healthz"
    auth_header: str | None = None
    """``env:VAR`` holding a full header line, e.g. ``Authorization: Bearer …``."""
    rate_limit_path: str | None = None
    openapi: str | None = None
    """An OpenAPI spec (path or URL): secured GET operations must answer 401/403 anonymously."""
    http_url: Annotated[str, Field(pattern=r"^http://")] | None = None
    """Where plain HTTP is served, to check it redirects to HTTPS (default: port 80 of the
    same host, probed only when HTTPS is on port 443)."""
    static_path: str | None = None
    """A static asset (e.g. ``/static/app.3f2a1c.js``) checked for caching and compression."""

    @field_validator("auth_header")
    @classmethod
    def _env_only(cls, value: str | None) -> str | None:
        if value is not None and not ENV_REF.match(value):
            raise ValueError("auth_header must be a reference like env:API_TOKEN_HEADER")
        return value


class DataStore(_Strict):
    """A database or cache reached by URL/DSN (``env:VAR`` when it carries a password)."""

    name: str = "main"
    url: str

    @field_validator("url")
    @classmethod
    def _no_password(cls, value: str) -> str:
        return _no_inline_password(value)


class Monitoring(_Strict):
    """A Prometheus or Alertmanager server and how it selects this service."""

    url: str
    selector: str | None = None
    auth_header: str | None = None

    @field_validator("url")
    @classmethod
    def _no_password(cls, value: str) -> str:
        return _no_inline_password(value)


class Environment(_Strict):
    """One environment of the service: staging, production …"""

    production: bool = False
    endpoints: tuple[Endpoint, ...] = ()
    postgres: tuple[DataStore, ...] = ()
    redis: tuple[DataStore, ...] = ()
    prometheus: Monitoring | None = None
    alertmanager: Monitoring | None = None
    expected_differences: tuple[str, ...] = ()
    """Facts allowed to differ from other environments (hostnames, replica counts …)."""


class Slo(_Strict):
    """Service-level objectives the live checks measure against (``slo:`` in ``prr.yaml``)."""

    latency_p95: dt.timedelta | None = None
    """The p95 response time the service promises, e.g. ``300ms``; the live latency sample's
    p95 must stay under it (without it, prr's default of 500 ms applies)."""

    @field_validator("latency_p95", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if value is None or isinstance(value, dt.timedelta):
            return value
        if not isinstance(value, str):
            raise ValueError("write a duration with its unit, e.g. 300ms or 1.5s")
        duration = parse_duration(value)
        if duration <= dt.timedelta(0):
            raise ValueError("must be longer than zero")
        return duration


class Waiver(_Strict):
    """An accepted gap: an item or check id, why, who owns the risk, until when."""

    id: Annotated[str, Field(min_length=1)]
    reason: Annotated[str, Field(min_length=1, pattern=r"\S")]
    owner: str | None = None
    expires: dt.date | None = None
    source: str = TARGET_FILE

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today


class Catalog(_Strict):
    """What a Backstage ``catalog-info.yaml`` says about the service."""

    name: str | None = None
    owner: str | None = None
    lifecycle: str | None = None
    annotations: dict[str, str] = Field(default_factory=dict)
    links: tuple[dict[str, str], ...] = ()


class SecretScanSettings(_Strict):
    """How the secrets scan treats this repository."""

    allow_paths: tuple[str, ...] = ()
    """Globs of paths whose findings are test data: reported, marked, not failing."""
    workers: Annotated[int, Field(ge=1, le=64)] | None = None


class Target(_Strict):
    """A service under review."""

    service: Annotated[str, Field(min_length=1)]
    owner: str | None = None
    tier: int | str | None = None
    stage: Stage = Stage.GA
    checklist: str = "service"
    traits: tuple[Trait, ...] | None = None
    """Declared traits; None means "not declared" (only detected traits are used)."""
    description: str | None = None
    environments: dict[str, Environment] = Field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    slo: Slo = Field(default_factory=Slo)
    max_file_bytes: Annotated[int, Field(ge=1024)] = 2 * 1024 * 1024
    secrets: SecretScanSettings = Field(default_factory=SecretScanSettings)
    catalog: Catalog | None = None
    root: str | None = Field(default=None, exclude=True)
    """Where the target file was found (not part of the file)."""


_TARGET_KEYS = set(Target.model_fields) - {"catalog", "root"}


def _problems(exc: ValidationError, doc: YamlDocument) -> list[Problem]:
    out = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        kind = error["type"]
        name = str(loc[-1]) if loc else "value"
        if kind == "extra_forbidden":
            out.append(doc.problem(loc, f"unknown key {name!r}", key=True))
        elif kind == "missing":
            out.append(doc.problem(loc[:-1], f"missing required key {name!r}"))
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            out.append(doc.problem(loc, f"{'.'.join(str(p) for p in loc)}: {message}"))
    return out


def _read_catalog(root: Path) -> Catalog | None:
    path = root / CATALOG_FILE
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
        documents = load_yaml_documents(text, CATALOG_FILE)
    except YamlProblem as exc:
        raise TargetError([exc.problem]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError([Problem(f"cannot read: {exc}", CATALOG_FILE)]) from None
    mappings = [d.data for d in documents if isinstance(d.data, dict)]
    # A catalog file often holds several entities (Component, API, System); the
    # Component describes the service.
    data = next(
        (m for m in mappings if m.get("kind") == "Component"), mappings[0] if mappings else {}
    )
    meta = data.get("metadata") or {}
    spec = data.get("spec") or {}
    annotations = meta.get("annotations") or {}
    return Catalog(
        name=meta.get("name"),
        owner=spec.get("owner"),
        lifecycle=spec.get("lifecycle"),
        annotations={str(k): str(v) for k, v in annotations.items()}
        if isinstance(annotations, dict)
        else {},
        links=tuple(
            {str(k): str(v) for k, v in link.items()}
            for link in meta.get("links") or []
            if isinstance(link, dict)
        ),
    )


_LIFECYCLE_STAGE = {"experimental": Stage.EXPERIMENT, "beta": Stage.BETA, "production": Stage.GA}


def load_target(root: Path, path: Path | None = None) -> Target:
    """Read ``prr.yaml`` under ``root`` (or ``path``); defaults when there is none."""
    root = root.resolve()
    catalog = _read_catalog(root)
    target_path = path or root / TARGET_FILE
    if not target_path.is_file():
        data: dict[str, Any] = {
            "service": (catalog.name if catalog and catalog.name else root.name)
        }
        if catalog:
            data["owner"] = catalog.owner
            if catalog.lifecycle in _LIFECYCLE_STAGE:
                data["stage"] = _LIFECYCLE_STAGE[catalog.lifecycle]
        return Target.model_validate({**data, "catalog": catalog, "root": str(root)})
    try:
        doc = load_yaml(
            target_path,
            display=str(target_path.relative_to(root))
            if target_path.is_relative_to(root)
            else str(target_path),
        )
    except YamlProblem as exc:
        raise TargetError([exc.problem]) from None
    if not isinstance(doc.data, dict):
        raise TargetError([doc.problem((), f"{TARGET_FILE} must be a YAML mapping")])
    data = dict(doc.data)
    if catalog:
        data.setdefault("owner", catalog.owner)
        if "stage" not in data and catalog.lifecycle in _LIFECYCLE_STAGE:
            data["stage"] = _LIFECYCLE_STAGE[catalog.lifecycle]
    try:
        return Target.model_validate({**data, "catalog": catalog, "root": str(root)})
    except ValidationError as exc:
        raise TargetError(_problems(exc, doc)) from None


__all__ = ["Slo", "Target", "TargetError", "Waiver", "load_target", "resolve_secret"]
