"""Dockerfiles and Compose files: base images, users, health checks, limits, environment.

Dockerfiles are found by name (``Dockerfile``, ``Dockerfile.api``,
``api.Dockerfile``, ``Containerfile``) and read instruction by instruction,
with line continuations, heredocs and ``ARG`` substitution in ``FROM``.
Compose files are found by name (``docker-compose*.yml``, ``compose*.yaml``)
and confirmed by content (a ``services`` mapping). Environment values are
never kept: only variable names, where they are set, and whether a literal
value was written.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, replace
from typing import Any

from prr.collectors.base import CollectContext, Collector, register
from prr.collectors.files import FileEntry
from prr.collectors.secrets import looks_like_placeholder
from prr.errors import CollectorError
from prr.model.yamlsource import YamlDocument, YamlProblem, load_yaml_documents

NAME = "containers"

_DOCKERFILE = re.compile(
    r"^(?:(?:docker|container)file(?:[._-][\w.-]+)?|[\w.-]+[._](?:docker|container)file)$",
    re.IGNORECASE,
)
_NOT_DOCKERFILE = re.compile(
    r"\.(md|txt|j2|jinja|tmpl|tpl|template|erb|bak|orig|rst|dockerignore)$", re.I
)
_COMPOSE = re.compile(r"^(?:docker-)?compose(?:[._-][\w.-]+)?\.ya?ml$", re.IGNORECASE)
_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][\w]*)[\"']?")
_VARIABLE = re.compile(r"\$\{([A-Za-z_]\w*)(?::?[-+?]([^}]*))?\}|\$([A-Za-z_]\w*)")
_INSTRUCTIONS = {
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
}
_NON_PRODUCTION = {
    "dev",
    "development",
    "local",
    "test",
    "tests",
    "testing",
    "ci",
    "e2e",
    "debug",
    "override",
    "sandbox",
    "example",
    "examples",
    "staging",
    "stage",
    "qa",
    "devcontainer",
}
_PRODUCTION = {"prod", "production", "live", "prd"}
_FLOATING_TAGS = {
    "latest",
    "lts",
    "stable",
    "current",
    "edge",
    "nightly",
    "main",
    "master",
    "develop",
    "dev",
    "rolling",
}


@dataclass(frozen=True)
class ImageRef:
    """An image reference as written (``python:3.12-slim@sha256:…``), split up."""

    raw: str
    name: str
    tag: str | None
    digest: str | None
    unresolved: bool = False
    """It names a build argument or variable without a default."""

    @property
    def pinned(self) -> bool | None:
        """A digest or a specific tag; None when the reference is computed."""
        if self.unresolved:
            return None
        if self.name == "scratch" or self.digest:
            return True
        return self.tag is not None and self.tag.lower() not in _FLOATING_TAGS


def parse_image(raw: str, unresolved: bool = False) -> ImageRef:
    """Split ``registry:5000/team/app:1.2@sha256:abc`` into name, tag and digest."""
    rest, _, digest = raw.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        name, tag = rest[:colon], rest[colon + 1 :]
    else:
        name, tag = rest, None
    return ImageRef(raw, name, tag or None, digest or None, unresolved)


@dataclass(frozen=True)
class EnvSetting:
    """A variable a file sets (``ENV``, ``ARG``, Compose ``environment``): never its value."""

    name: str
    line: int
    literal: bool
    """A value is written in the file (not a ``$VARIABLE`` reference nor a placeholder)."""
    kind: str
    """``ENV``, ``ARG`` or ``environment``."""
    url_credentials: bool = False
    """The value is a URL with a literal password in it (``postgres://app:pw@db/app``)."""


@dataclass(frozen=True)
class DockerStage:
    """One ``FROM`` stage of a Dockerfile."""

    index: int
    image: ImageRef
    line: int
    name: str | None = None
    from_stage: bool = False
    """It builds on an earlier stage of the same file rather than on an image."""
    user: str | None = None
    user_line: int | None = None
    healthcheck: str | None = None
    """``CMD`` or ``NONE`` from the last ``HEALTHCHECK`` of the stage, else None."""
    healthcheck_line: int | None = None
    settings: tuple[EnvSetting, ...] = ()
    exposed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile; its last stage is the image that ships."""

    path: str
    stages: tuple[DockerStage, ...]
    global_args: tuple[EnvSetting, ...] = ()

    @property
    def final(self) -> DockerStage:
        return self.stages[-1]

    @property
    def multi_stage(self) -> bool:
        return len(self.stages) > 1

    @property
    def runs_as_root(self) -> bool:
        """The shipped stage sets no user, or root/0, as its last ``USER``."""
        user = (self.final.user or "root").split(":")[0]
        return user in ("root", "0")

    @property
    def non_production(self) -> bool:
        """Named or placed as a development/test image (``Dockerfile.dev``, ``test/``)."""
        return _non_production(self.path)


@dataclass(frozen=True)
class ComposeService:
    """One service of a Compose file, with the lines of the settings checks look at."""

    name: str
    path: str
    line: int
    image: ImageRef | None = None
    image_line: int | None = None
    build_dockerfile: str | None = None
    """Repository path of the Dockerfile it builds, when it builds one."""
    healthcheck: str | None = None
    """``defined``, ``disabled`` or None."""
    healthcheck_line: int | None = None
    restart: str | None = None
    restart_line: int | None = None
    memory_limit: str | None = None
    cpu_limit: str | None = None
    limits_line: int | None = None
    user: str | None = None
    privileged: bool = False
    environment: tuple[EnvSetting, ...] = ()
    ports: tuple[str, ...] = ()


@dataclass(frozen=True)
class ComposeFile:
    """A Compose file; ``environment`` comes from its name (``compose.prod.yaml``)."""

    path: str
    services: tuple[ComposeService, ...]
    environment: str | None = None

    @property
    def non_production(self) -> bool:
        return self.environment not in (None, "production")


@dataclass(frozen=True)
class UnreadContainerFile:
    """A Dockerfile or Compose file that could not be read or parsed."""

    path: str
    reason: str
    kind: str
    """``dockerfile`` or ``compose``."""
    line: int | None = None


@dataclass(frozen=True)
class ContainerFacts:
    """Every Dockerfile and Compose file of the repository."""

    dockerfiles: tuple[Dockerfile, ...] = ()
    compose_files: tuple[ComposeFile, ...] = ()
    unread: tuple[UnreadContainerFile, ...] = ()

    def production_compose(self) -> list[ComposeFile]:
        """Compose files that may run in production: those named for production if any,
        else every file not named for development, tests or CI."""
        named = [c for c in self.compose_files if c.environment == "production"]
        if named:
            return named
        return [c for c in self.compose_files if not c.non_production]

    def production_dockerfiles(self) -> list[Dockerfile]:
        return [d for d in self.dockerfiles if not d.non_production]


def _tokens(path: str) -> list[str]:
    parts = path.lower().split("/")
    tokens: list[str] = []
    for part in parts[:-1]:
        tokens.append(part.lstrip("."))
    tokens.extend(re.split(r"[._-]", parts[-1]))
    return tokens


def _non_production(path: str) -> bool:
    return any(t in _NON_PRODUCTION for t in _tokens(path))


def _compose_environment(path: str) -> str | None:
    name = posixpath.basename(path).lower()
    stem = re.sub(r"\.ya?ml$", "", name)
    tokens = re.split(r"[._-]", stem)
    if any(t in _PRODUCTION for t in tokens):
        return "production"
    for token in tokens:
        if token in _NON_PRODUCTION:
            return token
    directory_tokens = posixpath.dirname(path).lower().split("/")
    if any(t in _PRODUCTION for t in directory_tokens):
        return "production"
    for token in directory_tokens:
        if token.lstrip(".") in _NON_PRODUCTION:
            return token.lstrip(".")
    return None


# --- Dockerfile -----------------------------------------------------------------------


class DockerfileError(ValueError):
    """A Dockerfile that Docker itself would refuse."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Instructions with continuations joined and heredoc bodies skipped."""
    escape = "\\"
    lines = text.splitlines()
    for raw in lines[:5]:
        match = re.match(r"^#\s*escape\s*=\s*(\S)\s*$", raw, re.IGNORECASE)
        if match:
            escape = match.group(1)
            break
    out: list[tuple[int, str]] = []
    index = 0
    while index < len(lines):
        start = index + 1
        current = lines[index]
        index += 1
        stripped = current.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = [current]
        while parts[-1].rstrip().endswith(escape) and index < len(lines):
            parts[-1] = parts[-1].rstrip()[:-1]
            following = ""
            while index < len(lines):
                following = lines[index]
                index += 1
                if following.strip() and not following.strip().startswith("#"):
                    break  # comment and empty lines inside a continuation are skipped
                following = ""
            parts.append(following)
        joined = " ".join(p.strip() for p in parts).strip()
        keyword = joined.split(" ", 1)[0].upper()
        if keyword in ("RUN", "COPY", "ADD"):
            for delimiter in _HEREDOC.findall(joined):
                while index < len(lines) and lines[index].strip() != delimiter:
                    index += 1
                if index >= len(lines):
                    raise DockerfileError(f"heredoc <<{delimiter} is not terminated", start)
                index += 1
        out.append((start, joined))
    return out


def _substitute(text: str, values: dict[str, str | None]) -> tuple[str, bool]:
    """Replace ``$VAR``/``${VAR:-default}`` with known values; report what stayed unknown."""
    unknown = False

    def replace(match: re.Match[str]) -> str:
        nonlocal unknown
        name = match.group(1) or match.group(3)
        default = match.group(2)
        value = values.get(name)
        if value:
            return value
        if default is not None and "-" in match.group(0):
            return default
        unknown = True
        return match.group(0)

    return _VARIABLE.sub(replace, text), unknown


def _settings(kind: str, args: str, line: int) -> list[EnvSetting]:
    """Names set by ``ENV``/``ARG``, and whether each has a literal value."""
    try:
        words = shlex.split(args, posix=True)
    except ValueError:
        words = args.split()
    out: list[EnvSetting] = []
    if kind == "ENV" and words and "=" not in words[0]:
        value = args.split(None, 1)[1] if len(args.split(None, 1)) > 1 else ""
        return [EnvSetting(words[0], line, _literal(value), kind, _url_credentials(value))]
    for word in words:
        name, sep, value = word.partition("=")
        if not re.fullmatch(r"[A-Za-z_][\w.-]*", name):
            continue
        literal = bool(sep) and _literal(value)
        out.append(EnvSetting(name, line, literal, kind, literal and _url_credentials(value)))
    return out


_URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@$]+:([^/\s@]+)@", re.IGNORECASE)


def _url_credentials(value: str) -> bool:
    match = _URL_CREDENTIALS.search(value)
    return match is not None and not looks_like_placeholder(match.group(1))


def _literal(value: str) -> bool:
    """A value is written out: not empty, not a ``$VARIABLE``, not a placeholder (``changeme``)."""
    stripped = value.strip().strip("\"'")
    if not stripped:
        return False
    if re.fullmatch(r"\$\{?[A-Za-z_]\w*(?::?[-+?][^}]*)?\}?", stripped):
        return False
    return not looks_like_placeholder(stripped, quoted=True)


def _place(lines: list[str], setting: EnvSetting) -> EnvSetting:
    """The physical line of a setting inside a continued ``ENV a=1 \\ b=2`` instruction."""
    pattern = re.compile(rf"(^|\s){re.escape(setting.name)}(=|\s|$)")
    for number in range(setting.line, min(setting.line + 200, len(lines)) + 1):
        if pattern.search(lines[number - 1]):
            return replace(setting, line=number)
    return setting


def parse_dockerfile(path: str, text: str) -> Dockerfile:
    """Read a Dockerfile; raises :class:`DockerfileError` for what Docker would refuse."""
    stages: list[dict[str, Any]] = []
    global_args: list[EnvSetting] = []
    arg_values: dict[str, str | None] = {}
    names: set[str] = set()
    physical = text.splitlines()
    for line, instruction in _logical_lines(text):
        keyword, _, args = instruction.partition(" ")
        keyword = keyword.upper()
        args = args.strip()
        if keyword not in _INSTRUCTIONS:
            shown = f" {keyword}" if re.fullmatch(r"[A-Z]{2,12}", keyword) else ""
            raise DockerfileError(f"unknown instruction{shown}", line)
        if keyword == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            if not words:
                raise DockerfileError("FROM without an image", line)
            raw, unknown = _substitute(words[0], arg_values)
            alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            from_stage = raw.lower() in names
            if alias:
                names.add(alias.lower())
            stages.append(
                {
                    "index": len(stages),
                    "image": parse_image(raw, unknown),
                    "line": line,
                    "name": alias,
                    "from_stage": from_stage,
                    "settings": [],
                    "exposed": [],
                }
            )
            continue
        if not stages:
            if keyword == "ARG":
                for setting in _settings("ARG", args, line):
                    global_args.append(_place(physical, setting))
                    _, _, default = args.partition("=")
                    arg_values[setting.name] = default.strip().strip("\"'") or None
                continue
            raise DockerfileError(f"{keyword} before the first FROM", line)
        stage = stages[-1]
        if keyword == "USER":
            stage["user"], stage["user_line"] = args.split()[0] if args else None, line
        elif keyword == "HEALTHCHECK":
            mode = "NONE" if args.upper().startswith("NONE") else "CMD"
            stage["healthcheck"], stage["healthcheck_line"] = mode, line
        elif keyword in ("ENV", "ARG"):
            stage["settings"].extend(_place(physical, s) for s in _settings(keyword, args, line))
        elif keyword == "EXPOSE":
            stage["exposed"].extend(args.split())
    if not stages:
        raise DockerfileError("no FROM instruction", None)
    built = []
    for stage in stages:
        settings = tuple(stage.pop("settings"))
        exposed = tuple(stage.pop("exposed"))
        built.append(DockerStage(**stage, settings=settings, exposed=exposed))
    return Dockerfile(path, tuple(built), tuple(global_args))


# --- Compose --------------------------------------------------------------------------


def _compose_image(raw: str) -> ImageRef:
    value, unknown = _substitute(raw, {})
    return parse_image(value, unknown)


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def _service(
    doc: YamlDocument, name: str, body: dict[str, Any], path: str, known_files: set[str]
) -> ComposeService:
    where = ("services", name)
    line = doc.where(where, key=True)[0] or 1
    image = _as_text(body.get("image"))
    build = body.get("build")
    dockerfile: str | None = None
    if build is not None:
        base = posixpath.dirname(path)
        spec = build if isinstance(build, dict) else {"context": str(build)}
        context = str(spec.get("context", "."))
        filename = str(spec.get("dockerfile", "Dockerfile"))
        candidate = posixpath.normpath(posixpath.join(base, context, filename))
        dockerfile = candidate if candidate in known_files else None
    health = body.get("healthcheck")
    healthcheck = None
    if isinstance(health, dict):
        test = health.get("test")
        disabled = health.get("disable") is True or (
            isinstance(test, list) and test[:1] == ["NONE"]
        )
        healthcheck = "disabled" if disabled else ("defined" if test else None)
    restart = _as_text(body.get("restart"))
    restart_line = doc.where((*where, "restart"))[0] if restart else None
    deploy = _mapping(body.get("deploy"))
    policy = deploy.get("restart_policy")
    if restart is None and isinstance(policy, dict):
        restart = str(policy.get("condition", "any"))
        restart_line = doc.where((*where, "deploy", "restart_policy"))[0]
    resources = _mapping(deploy.get("resources"))
    limits = _mapping(resources.get("limits"))
    reservations = _mapping(resources.get("reservations"))
    memory = _as_text(limits.get("memory")) or _as_text(body.get("mem_limit"))
    cpus = (
        _as_text(limits.get("cpus"))
        or _as_text(body.get("cpus"))
        or _as_text(reservations.get("cpus"))
    )
    limits_line = None
    for probe in ((*where, "deploy", "resources"), (*where, "mem_limit"), (*where, "cpus")):
        if doc.where(probe, key=True)[0] and probe[-1] in _keys_at(doc, probe):
            limits_line = doc.where(probe, key=True)[0]
            break
    environment = _compose_environment_settings(doc, where, body.get("environment"))
    ports = tuple(str(p) for p in body.get("ports", []) or [] if not isinstance(p, dict))
    return ComposeService(
        name=name,
        path=path,
        line=line,
        image=_compose_image(image) if image else None,
        image_line=doc.where((*where, "image"))[0] if image else None,
        build_dockerfile=dockerfile,
        healthcheck=healthcheck,
        healthcheck_line=doc.where((*where, "healthcheck"), key=True)[0] if healthcheck else None,
        restart=restart,
        restart_line=restart_line,
        memory_limit=memory,
        cpu_limit=cpus,
        limits_line=limits_line,
        user=_as_text(body.get("user")),
        privileged=body.get("privileged") is True,
        environment=environment,
        ports=ports,
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _keys_at(doc: YamlDocument, path: tuple[str, ...]) -> set[str]:
    node: Any = doc.data
    for key in path[:-1]:
        if not isinstance(node, dict):
            return set()
        node = node.get(key)
    return set(node) if isinstance(node, dict) else set()


def _compose_environment_settings(
    doc: YamlDocument, where: tuple[str, ...], value: Any
) -> tuple[EnvSetting, ...]:
    out: list[EnvSetting] = []
    if isinstance(value, dict):
        for key, item in value.items():
            line = doc.where((*where, "environment", str(key)), key=True)[0] or 1
            literal = item is not None and _literal(str(item))
            creds = literal and _url_credentials(str(item))
            out.append(EnvSetting(str(key), line, literal, "environment", creds))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            key, sep, rest = str(item).partition("=")
            line = doc.where((*where, "environment", index))[0] or 1
            literal = bool(sep) and _literal(rest)
            creds = literal and _url_credentials(rest)
            out.append(EnvSetting(key, line, literal, "environment", creds))
    return tuple(out)


def parse_compose(path: str, text: str, known_files: set[str]) -> ComposeFile | None:
    """A Compose file, or None when the YAML is not one (no ``services`` mapping)."""
    documents = load_yaml_documents(text, path)
    if not documents:
        return None
    doc = documents[0]
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        return None
    services = []
    for name, body in data["services"].items():
        if isinstance(body, dict):
            services.append(_service(doc, str(name), body, path, known_files))
    return ComposeFile(path, tuple(services), _compose_environment(path))


@register
class ContainerCollector(Collector):
    """Reads Dockerfiles and Compose files."""

    name = NAME
    facts_type = ContainerFacts

    def collect(self, ctx: CollectContext) -> ContainerFacts:
        dockerfiles: list[Dockerfile] = []
        composes: list[ComposeFile] = []
        unread: list[UnreadContainerFile] = []
        docker_entries = [
            e for e in ctx.files if _DOCKERFILE.match(e.name) and not _NOT_DOCKERFILE.search(e.name)
        ]
        compose_entries = [e for e in ctx.files if _COMPOSE.match(e.name)]
        for entry in docker_entries:
            text = self._read(ctx, entry, "dockerfile", unread)
            if text is None:
                continue
            try:
                dockerfiles.append(parse_dockerfile(entry.path, text))
            except DockerfileError as exc:
                ctx.error(entry.path, f"Dockerfile {exc}", NAME, exc.line)
                unread.append(UnreadContainerFile(entry.path, str(exc), "dockerfile", exc.line))
        known = {d.path for d in dockerfiles} | {u.path for u in unread}
        for entry in compose_entries:
            text = self._read(ctx, entry, "compose", unread)
            if text is None:
                continue
            try:
                parsed = parse_compose(entry.path, text, known)
            except YamlProblem as exc:
                reason = exc.problem.message
                if not reason.startswith("invalid YAML"):
                    reason = f"invalid YAML: {reason}"
                ctx.error(entry.path, reason, NAME, exc.problem.line)
                unread.append(UnreadContainerFile(entry.path, reason, "compose", exc.problem.line))
                continue
            if parsed is not None:
                composes.append(parsed)
        return ContainerFacts(tuple(dockerfiles), tuple(composes), tuple(unread))

    def _read(
        self, ctx: CollectContext, entry: FileEntry, kind: str, unread: list[UnreadContainerFile]
    ) -> str | None:
        try:
            return ctx.files.read_text(entry)
        except CollectorError as exc:
            reason = str(exc).removeprefix(f"{entry.path}: ")
            ctx.error(entry.path, reason, NAME)
            unread.append(UnreadContainerFile(entry.path, reason, kind))
            return None
