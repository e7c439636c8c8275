"""Dependency manifests, lock files, update bots and database migration tools.

Reads the package manifests of every ecosystem the repository uses (Python,
JavaScript, Go, Maven, Gradle, Ruby, Rust, PHP): which direct dependencies
they declare, whether each version is pinned, and which lock file covers the
manifest. Reads Dependabot and Renovate configuration (which ecosystems and
folders they update) and finds database migration tools (Alembic, Flyway,
Liquibase, Prisma, Rails, Django, goose …) and the places outside CI that run
them (a Kubernetes Job or Helm hook, a container entrypoint, a release phase).
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from prr.collectors.base import CollectContext, Collector, register
from prr.collectors.files import FileEntry, FileIndex
from prr.errors import CollectorError
from prr.model.yamlsource import YamlProblem, load_yaml_documents

NAME = "dependencies"

ECOSYSTEMS = ("pypi", "npm", "go", "maven", "gradle", "rubygems", "cargo", "composer")
"""Ecosystem names used in these facts."""

DEPENDABOT_ECOSYSTEMS = {
    "pip": "pypi",
    "uv": "pypi",
    "poetry": "pypi",
    "pipenv": "pypi",
    "npm": "npm",
    "yarn": "npm",
    "pnpm": "npm",
    "bun": "npm",
    "gomod": "go",
    "maven": "maven",
    "gradle": "gradle",
    "bundler": "rubygems",
    "cargo": "cargo",
    "composer": "composer",
}
RENOVATE_MANAGERS = {
    "pip_requirements": "pypi",
    "pip-compile": "pypi",
    "pip_setup": "pypi",
    "pipenv": "pypi",
    "poetry": "pypi",
    "pep621": "pypi",
    "pep723": "pypi",
    "setup-cfg": "pypi",
    "npm": "npm",
    "gomod": "go",
    "maven": "maven",
    "gradle": "gradle",
    "bundler": "rubygems",
    "cargo": "cargo",
    "composer": "composer",
}

# ---------------------------------------------------------------------------
# Facts


@dataclass(frozen=True)
class Dependency:
    """One direct dependency as the manifest declares it."""

    name: str
    version: str | None
    """The version or range as written; None when the manifest gives none."""
    pinned: bool
    """An exact version (or one managed elsewhere, like a Maven BOM)."""
    line: int | None = None
    dev: bool = False


@dataclass(frozen=True)
class Manifest:
    """A package manifest and the lock file that fixes its versions."""

    path: str
    ecosystem: str
    dependencies: tuple[Dependency, ...]
    lockfile: str | None = None
    """The lock file covering it (in its folder or a workspace root above)."""
    line: int = 1

    @property
    def directory(self) -> str:
        parent = str(PurePosixPath(self.path).parent)
        return "" if parent == "." else parent

    @property
    def unpinned(self) -> tuple[Dependency, ...]:
        return tuple(d for d in self.dependencies if not d.pinned)

    @property
    def locked(self) -> bool:
        """Versions are fixed: a lock file, or every dependency pinned exactly."""
        return self.lockfile is not None or not self.unpinned


@dataclass(frozen=True)
class UpdateConfig:
    """One Dependabot update entry, or a Renovate configuration."""

    tool: str
    """``dependabot`` or ``renovate``."""
    path: str
    line: int
    ecosystem: str | None
    """Normalised ecosystem; None = every ecosystem (Renovate's default)."""
    directories: tuple[str, ...] = ()
    """Repository folders (``""`` = root; globs allowed); () = all."""
    enabled: bool = True

    def covers(self, manifest: Manifest) -> bool:
        """Whether this entry keeps ``manifest`` up to date."""
        if not self.enabled:
            return False
        if self.ecosystem is not None and self.ecosystem != manifest.ecosystem:
            return False
        if not self.directories:
            return True
        folder = manifest.directory
        for directory in self.directories:
            if directory == folder or fnmatch.fnmatchcase(folder, directory):
                return True
            # Workspace-aware ecosystems are updated from the workspace root.
            if manifest.ecosystem in {"npm", "maven", "gradle", "cargo"} and (
                directory == "" or folder.startswith(directory + "/")
            ):
                return True
        return False


@dataclass(frozen=True)
class MigrationTool:
    """A schema migration tool the repository uses, and its migration files."""

    tool: str
    path: str
    """Its configuration file or migrations folder."""
    line: int | None = None
    migrations: int = 0
    """Migration files found."""


@dataclass(frozen=True)
class MigrationRun:
    """A place outside CI that applies migrations when the service deploys or starts."""

    tool: str
    path: str
    line: int
    where: str
    """kubernetes | container-entrypoint | release-phase"""


@dataclass(frozen=True)
class DependencyFacts:
    """Every manifest, lock file, update bot entry and migration tool found."""

    manifests: tuple[Manifest, ...] = ()
    lockfiles: tuple[str, ...] = ()
    update_configs: tuple[UpdateConfig, ...] = ()
    migration_tools: tuple[MigrationTool, ...] = ()
    migration_runs: tuple[MigrationRun, ...] = ()
    failed: tuple[str, ...] = ()
    """Manifests and bot configurations that could not be read or parsed."""

    @property
    def ecosystems(self) -> tuple[str, ...]:
        return tuple(sorted({m.ecosystem for m in self.manifests}))

    def covering(self, manifest: Manifest) -> tuple[UpdateConfig, ...]:
        return tuple(c for c in self.update_configs if c.covers(manifest))


# ---------------------------------------------------------------------------
# Migration commands (shared with the pipelines collector)

MIGRATION_COMMANDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (tool, re.compile(pattern))
    for tool, pattern in (
        ("alembic", r"\balembic\b(?:\s+-\S+(?:\s+\S+)?)*\s+upgrade\b"),
        ("flask-migrate", r"\bflask\s+db\s+upgrade\b"),
        ("django", r"\b(?:manage\.py|django-admin)\s+migrate\b"),
        ("flyway", r"\bflyway\b[^\n;|&]*\bmigrate\b|flyway:migrate|\bflywayMigrate\b"),
        ("liquibase", r"\bliquibase\b[^\n;|&]*\bupdate\b|liquibase:update"),
        ("prisma", r"\bprisma\s+migrate\s+deploy\b"),
        ("rails", r"\b(?:rails|rake)\s+db:(?:migrate|prepare)\b"),
        ("goose", r"\bgoose\b[^\n;|&]*\s(?:up|up-to|up-by-one)\b"),
        ("golang-migrate", r"\bmigrate\b[^\n;|&]*-(?:path|source)\b[^\n;|&]*\bup\b"),
        ("dbmate", r"\bdbmate\b[^\n;|&]*\b(?:up|migrate)\b"),
        ("knex", r"\bknex\s+migrate:latest\b"),
        ("sequelize", r"\bsequelize(?:-cli)?\s+db:migrate\b"),
        ("typeorm", r"\btypeorm\b[^\n;|&]*\bmigration:run\b"),
        ("atlas", r"\batlas\s+migrate\s+apply\b|\batlas\s+schema\s+apply\b"),
        ("laravel", r"\bartisan\s+migrate\b"),
        ("ef-core", r"\bdotnet\s+ef\s+database\s+update\b"),
        ("ecto", r"\bmix\s+ecto\.migrate\b"),
        ("sqitch", r"\bsqitch\s+deploy\b"),
        ("diesel", r"\bdiesel\s+migration\s+run\b"),
        ("sqlx", r"\bsqlx\s+migrate\s+run\b"),
        ("yoyo", r"\byoyo\s+apply\b"),
        ("node-pg-migrate", r"\bnode-pg-migrate\s+up\b"),
        ("prr", r"\bprr\s+db\s+upgrade\b"),
    )
)


def match_migration(text: str) -> str | None:
    """The migration tool a shell command line runs, if any."""
    words = ("migrat", "upgrade", "update", "deploy", "apply", "goose", "dbmate", "yoyo")
    if not any(word in text for word in words):
        return None
    for tool, pattern in MIGRATION_COMMANDS:
        if pattern.search(text):
            return tool
    return None


# ---------------------------------------------------------------------------
# Helpers


def _line_of(lines: list[str], needle: str, start: int = 0) -> int | None:
    for number in range(start, len(lines)):
        if needle in lines[number]:
            return number + 1
    return None


def _dir(path: str) -> str:
    parent = str(PurePosixPath(path).parent)
    return "" if parent == "." else parent


_PY_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._\-]*)\s*(\[[^\]]*\])?\s*([^;#]*)")


def _python_requirement(text: str) -> tuple[str, str | None, bool] | None:
    match = _PY_REQ.match(text)
    if not match:
        return None
    name, spec = match.group(1), match.group(3).strip()
    if spec.startswith("@"):
        return name, spec, "@" in spec and re.search(r"@[0-9a-f]{40}\b", spec) is not None
    pinned = bool(re.fullmatch(r"===?\s*[^*,<>!~=\s]+", spec))
    return name, spec or None, pinned


def _npm_pinned(spec: str) -> bool:
    if spec.startswith(("workspace:", "file:", "link:", "portal:")):
        return True
    if spec.startswith(("git", "http", "github:")):
        return re.search(r"#[0-9a-f]{40}$", spec) is not None
    return re.fullmatch(r"=?v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.\-]+)?", spec.strip()) is not None


# ---------------------------------------------------------------------------
# Manifest parsers: each returns (dependencies, extra lock path or None)


def _requirements(text: str) -> list[Dependency]:
    deps = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-", "http://", "https://", "git+", ".", "/")):
            continue
        parsed = _python_requirement(line.rstrip("\\").strip())
        if parsed:
            deps.append(Dependency(parsed[0], parsed[1], parsed[2], number))
    return deps


def _pyproject(text: str) -> list[Dependency]:
    data = tomllib.loads(text)
    lines = text.splitlines()
    deps: list[Dependency] = []

    def add_pep508(items: Any, dev: bool) -> None:
        for item in items if isinstance(items, list) else []:
            if isinstance(item, str):
                parsed = _python_requirement(item)
                if parsed:
                    line = _line_of(lines, f'"{item}') or _line_of(lines, parsed[0])
                    deps.append(Dependency(parsed[0], parsed[1], parsed[2], line, dev))

    def add_poetry(table: Any, dev: bool) -> None:
        for name, spec in table.items() if isinstance(table, dict) else []:
            if name == "python":
                continue
            version = spec.get("version") if isinstance(spec, dict) else spec
            version = str(version) if version is not None else None
            local = isinstance(spec, dict) and ("path" in spec or "rev" in spec)
            pinned = local or bool(version and re.fullmatch(r"=?=?\s*\d[\w.\-+]*", version))
            deps.append(Dependency(name, version, pinned, _line_of(lines, name), dev))

    project = data.get("project") or {}
    add_pep508(project.get("dependencies"), False)
    for extra in (project.get("optional-dependencies") or {}).values():
        add_pep508(extra, True)
    for group in (data.get("dependency-groups") or {}).values():
        add_pep508(group, True)
    poetry = (data.get("tool") or {}).get("poetry") or {}
    add_poetry(poetry.get("dependencies"), False)
    add_poetry(poetry.get("dev-dependencies"), True)
    for group in (poetry.get("group") or {}).values():
        if isinstance(group, dict):
            add_poetry(group.get("dependencies"), True)
    return deps


def _pipfile(text: str) -> list[Dependency]:
    data = tomllib.loads(text)
    lines = text.splitlines()
    deps = []
    for section, dev in (("packages", False), ("dev-packages", True)):
        for name, spec in (data.get(section) or {}).items():
            version = spec.get("version") if isinstance(spec, dict) else spec
            version = str(version) if version is not None else None
            pinned = bool(version and version.startswith("=="))
            deps.append(Dependency(name, version, pinned, _line_of(lines, name), dev))
    return deps


def _package_json(data: Any, lines: list[str]) -> list[Dependency]:
    deps: list[Dependency] = []
    if not isinstance(data, dict):
        return deps
    for section, dev in (("dependencies", False), ("devDependencies", True)):
        table = data.get(section)
        for name, spec in table.items() if isinstance(table, dict) else []:
            spec = str(spec)
            line = _line_of(lines, f'"{name}"')
            deps.append(Dependency(name, spec, _npm_pinned(spec), line, dev))
    return deps


_GO_REQUIRE = re.compile(r"^\s*(?:require\s+)?([A-Za-z0-9.\-_~/]+\.[A-Za-z0-9.\-_~/]+)\s+(v\S+)")


def _go_mod(text: str) -> list[Dependency]:
    deps = []
    in_block = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("require ("):
            in_block = True
            continue
        if in_block and line.startswith(")"):
            in_block = False
            continue
        if not (in_block or line.startswith("require ")):
            continue
        match = _GO_REQUIRE.match(line)
        if match and "// indirect" not in line:
            deps.append(Dependency(match.group(1), match.group(2), True, number))
    return deps


def _pom(text: str) -> list[Dependency]:
    root = ET.fromstring(text)
    ns = ""
    if root.tag.startswith("{"):
        ns = root.tag[: root.tag.index("}") + 1]
    properties: dict[str, str] = {}
    props = root.find(f"{ns}properties")
    if props is not None:
        for prop in props:
            properties[prop.tag.replace(ns, "")] = (prop.text or "").strip()
    lines = text.splitlines()
    deps = []
    containers = [root.find(f"{ns}dependencies")]
    for container in containers:
        if container is None:
            continue
        for dep in container.findall(f"{ns}dependency"):
            artifact = (dep.findtext(f"{ns}artifactId") or "").strip()
            group = (dep.findtext(f"{ns}groupId") or "").strip()
            version = dep.findtext(f"{ns}version")
            scope = (dep.findtext(f"{ns}scope") or "").strip()
            if version is not None:
                version = version.strip()
                resolved = re.sub(
                    r"\$\{([^}]+)\}", lambda m: properties.get(m.group(1), m.group(0)), version
                )
                pinned = not (
                    resolved.startswith(("[", "("))
                    or resolved in {"LATEST", "RELEASE"}
                    or resolved.endswith("-SNAPSHOT")
                )
            else:
                pinned = True  # managed by a parent or a BOM
            line = _line_of(lines, f"<artifactId>{artifact}</artifactId>")
            deps.append(Dependency(f"{group}:{artifact}", version, pinned, line, scope == "test"))
    return deps


_GRADLE_DEP = re.compile(
    r"^\s*(implementation|api|compileOnly|runtimeOnly|testImplementation|testRuntimeOnly|"
    r"annotationProcessor|kapt|ksp|classpath)\s*\(?\s*[\"']([^\"':]+):([^\"':]+):([^\"']+)[\"']"
)


def _gradle(text: str) -> list[Dependency]:
    deps = []
    for number, raw in enumerate(text.splitlines(), 1):
        match = _GRADLE_DEP.match(raw)
        if not match:
            continue
        version = match.group(4)
        pinned = not ("+" in version or version.startswith(("latest.", "[", "(")))
        pinned = pinned and not version.endswith("-SNAPSHOT")
        deps.append(
            Dependency(
                f"{match.group(2)}:{match.group(3)}",
                version,
                pinned,
                number,
                match.group(1).startswith("test"),
            )
        )
    return deps


_GEM = re.compile(r"""^\s*gem\s+["']([^"']+)["'](?:\s*,\s*["']([^"']+)["'])?""")


def _gemfile(text: str) -> list[Dependency]:
    deps = []
    for number, raw in enumerate(text.splitlines(), 1):
        match = _GEM.match(raw)
        if match:
            version = match.group(2)
            pinned = bool(version and re.fullmatch(r"=?\s*\d[\w.]*", version))
            deps.append(Dependency(match.group(1), version, pinned, number))
    return deps


def _cargo(text: str) -> list[Dependency]:
    data = tomllib.loads(text)
    lines = text.splitlines()
    deps = []
    tables = [
        (data.get("dependencies"), False),
        (data.get("dev-dependencies"), True),
        ((data.get("workspace") or {}).get("dependencies"), False),
    ]
    for table, dev in tables:
        for name, spec in table.items() if isinstance(table, dict) else []:
            version = spec.get("version") if isinstance(spec, dict) else spec
            local = isinstance(spec, dict) and (
                "path" in spec or "rev" in spec or spec.get("workspace") is True
            )
            pinned = local or bool(isinstance(version, str) and version.startswith("="))
            version = str(version) if version is not None else None
            deps.append(Dependency(name, version, pinned, _line_of(lines, name), dev))
    return deps


def _composer(data: Any, lines: list[str]) -> list[Dependency]:
    deps: list[Dependency] = []
    if not isinstance(data, dict):
        return deps
    for section, dev in (("require", False), ("require-dev", True)):
        table = data.get(section)
        for name, spec in table.items() if isinstance(table, dict) else []:
            if name == "php" or name.startswith("ext-"):
                continue
            spec = str(spec)
            pinned = re.fullmatch(r"v?\d+\.\d+\.\d+(?:[-.][\w.]+)?", spec) is not None
            deps.append(Dependency(name, spec, pinned, _line_of(lines, f'"{name}"'), dev))
    return deps


LOCKFILES = {
    "pypi": ("poetry.lock", "uv.lock", "pdm.lock", "Pipfile.lock", "pylock.toml"),
    "npm": (
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lockb",
        "bun.lock",
    ),
    "go": ("go.sum",),
    "gradle": ("gradle.lockfile",),
    "rubygems": ("Gemfile.lock", "gems.locked"),
    "cargo": ("Cargo.lock",),
    "composer": ("composer.lock",),
    "maven": (),
}
_WORKSPACE_LOCKS = {"npm", "cargo", "pypi", "gradle"}
_MANIFEST_NAMES = {
    "pyproject.toml": "pypi",
    "Pipfile": "pypi",
    "package.json": "npm",
    "go.mod": "go",
    "pom.xml": "maven",
    "build.gradle": "gradle",
    "build.gradle.kts": "gradle",
    "Gemfile": "rubygems",
    "gems.rb": "rubygems",
    "Cargo.toml": "cargo",
    "composer.json": "composer",
}
_SKIP_DIRS = ("vendor/", "third_party/", "bower_components/", "site-packages/", "dist/")


def _is_requirements(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(".txt") and lowered.startswith("requirements")


# ---------------------------------------------------------------------------
# Migration tools


_SQL_MIGRATION_DIRS = ("migrations/", "migration/", "migrate/", "db/", "sql/", "schema/")


def _migration_tools(files: FileIndex, ctx: CollectContext) -> list[MigrationTool]:
    by_dir: dict[str, list[FileEntry]] = {}
    for entry in files:
        by_dir.setdefault(_dir(entry.path), []).append(entry)
    found: dict[str, MigrationTool] = {}

    def add(tool: str, path: str, migrations: int, line: int | None = None) -> None:
        key = f"{tool}:{path}"
        if key not in found:
            found[key] = MigrationTool(tool, path, line, migrations)

    def count_under(prefix: str, *suffixes: str) -> int:
        return sum(
            1
            for e in files
            if e.path.startswith(prefix)
            and e.path.endswith(suffixes or ("",))
            and not e.name.startswith("__init__")
        )

    for entry in files:
        path, name = entry.path, entry.name
        folder = _dir(path)
        if name == "alembic.ini":
            location = "alembic"
            try:
                match = re.search(r"^script_location\s*=\s*(\S+)", files.read_text(entry), re.M)
                if match:
                    location = match.group(1).replace("%(here)s/", "").strip("/")
            except CollectorError as exc:
                ctx.error(path, str(exc).removeprefix(f"{path}: "), NAME)
            base = f"{folder}/{location}" if folder else location
            add("alembic", path, count_under(f"{base}/versions/", ".py"))
        elif name == "env.py" and any(e.name == "script.py.mako" for e in by_dir.get(folder, [])):
            add("alembic", folder, count_under(f"{folder}/versions/", ".py"))
        elif name in {"flyway.conf", "flyway.toml"}:
            add("flyway", path, 0)
        elif re.fullmatch(r"V\d+(?:[._]\d+)*__\w+\.sql", name):
            add("flyway", folder, sum(1 for e in by_dir[folder] if e.name.startswith("V")))
        elif name == "liquibase.properties" or (
            "changelog" in name.lower() and entry.suffix in {".xml", ".yaml", ".yml", ".json"}
        ):
            add("liquibase", path, 0)
        elif path.endswith("prisma/schema.prisma"):
            base = f"{folder}/migrations/"
            count = count_under(base, "migration.sql")
            if count:
                add("prisma", f"{folder}/migrations", count)
        elif path.startswith("db/migrate/") or "/db/migrate/" in path:
            if entry.suffix == ".rb":
                add("rails", folder, sum(1 for e in by_dir[folder] if e.suffix == ".rb"))
        elif (
            folder.endswith("migrations")
            and re.fullmatch(r"\d{4}_\w+\.py", name)
            and any(e.name == "__init__.py" for e in by_dir.get(folder, []))
        ):
            add("django", folder, sum(1 for e in by_dir[folder] if re.match(r"\d{4}_", e.name)))
        elif name.startswith("knexfile."):
            add("knex", path, 0)
        elif name == ".sequelizerc":
            add("sequelize", path, 0)
        elif name in {"atlas.hcl"}:
            add("atlas", path, 0)
        elif name == "sqitch.plan":
            add("sqitch", path, 0)
        elif path.startswith("database/migrations/") and entry.suffix == ".php":
            add("laravel", folder, sum(1 for e in by_dir[folder] if e.suffix == ".php"))
        elif "priv/repo/migrations/" in path and entry.suffix == ".exs":
            add("ecto", folder, sum(1 for e in by_dir[folder] if e.suffix == ".exs"))
        elif name.endswith("ModelSnapshot.cs"):
            add("ef-core", folder, sum(1 for e in by_dir[folder] if e.suffix == ".cs") - 1)
        elif name.endswith(".up.sql") and any(s in f"{path}" for s in _SQL_MIGRATION_DIRS):
            add("golang-migrate", folder, sum(1 for e in by_dir[folder] if ".up." in e.name))
        elif entry.suffix == ".sql" and any(s in path for s in _SQL_MIGRATION_DIRS):
            if not entry.readable or entry.size > 512 * 1024:
                continue
            try:
                head = files.read_text(entry)[:4096]
            except CollectorError:
                continue
            if "+goose Up" in head:
                add("goose", folder, sum(1 for e in by_dir[folder] if e.suffix == ".sql"))
            elif "migrate:up" in head:
                add("dbmate", folder, sum(1 for e in by_dir[folder] if e.suffix == ".sql"))
    return sorted(found.values(), key=lambda t: (t.path, t.tool))


def _runs_at_deploy(where: str, name: str, line: str) -> bool:
    """Whether this line of a Dockerfile, Procfile or platform file runs at deploy/start."""
    if where == "container-entrypoint" and name.startswith(("dockerfile", "container")):
        return line.upper().startswith(("CMD", "ENTRYPOINT"))
    if where == "release-phase" and name == "procfile":
        return line.startswith("release:")
    if where == "release-phase":
        return re.search(r"release_command|preDeployCommand|\"release\"", line) is not None
    return True


_K8S_MIGRATION_HINTS = ("kind: Job", "helm.sh/hook", "initContainers", "kind: CronJob")


def _migration_runs(files: FileIndex) -> list[MigrationRun]:
    """Migrations applied by a Kubernetes Job/hook, a container's entrypoint or a release phase."""
    runs: list[MigrationRun] = []
    for entry in files:
        name, path = entry.name, entry.path
        lowered = name.lower()
        if lowered.startswith(("dockerfile", "containerfile")) or lowered.endswith(".dockerfile"):
            where = "container-entrypoint"
        elif lowered == "procfile" or lowered in {"fly.toml", "render.yaml", "app.json"}:
            where = "release-phase"
        elif entry.suffix in {".yaml", ".yml"} and not path.startswith(".github/"):
            where = "kubernetes"
        elif entry.suffix == ".sh" and any(
            word in lowered for word in ("entrypoint", "docker-", "start", "release", "boot")
        ):
            where = "container-entrypoint"
        else:
            continue
        if not entry.readable or entry.size > 1024 * 1024:
            continue
        try:
            text = files.read_text(entry)
        except CollectorError:
            continue  # not evidence this collector depends on; other collectors report it
        if "migrat" not in text and "upgrade" not in text and "update" not in text:
            continue
        if where == "kubernetes" and not any(hint in text for hint in _K8S_MIGRATION_HINTS):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith("#"):
                continue
            if not _runs_at_deploy(where, lowered, stripped):
                continue
            tool = match_migration(stripped)
            if tool:
                runs.append(MigrationRun(tool, path, number, where))
    return runs


# ---------------------------------------------------------------------------
# Update bots


def _dependabot(entry: FileEntry, text: str) -> list[UpdateConfig]:
    documents = load_yaml_documents(text, entry.path)
    configs = []
    data = documents[0].data if documents else None
    updates = data.get("updates") if isinstance(data, dict) else None
    if not isinstance(updates, list):
        raise ValueError("no 'updates' list")
    for index, update in enumerate(updates):
        if not isinstance(update, dict):
            continue
        ecosystem_name = str(update.get("package-ecosystem", ""))
        ecosystem = DEPENDABOT_ECOSYSTEMS.get(ecosystem_name, ecosystem_name or None)
        raw_dirs = update.get("directories") or [update.get("directory", "/")]
        dirs = tuple(
            str(d).strip().strip("/") for d in raw_dirs if isinstance(d, str | int) and str(d)
        )
        line = documents[0].where(("updates", index))[0] or 1
        configs.append(UpdateConfig("dependabot", entry.path, line, ecosystem, dirs or ("",)))
    return configs


def _renovate(path: str, data: Any, line: int = 1) -> UpdateConfig:
    enabled = not (isinstance(data, dict) and data.get("enabled") is False)
    return UpdateConfig("renovate", path, line, None, (), enabled)


def _renovate_entries(path: str, data: Any, line: int = 1) -> list[UpdateConfig]:
    if isinstance(data, dict) and isinstance(data.get("enabledManagers"), list):
        managers = [str(m) for m in data["enabledManagers"]]
        enabled = data.get("enabled", True) is not False
        ecosystems = sorted({RENOVATE_MANAGERS.get(m, m) for m in managers})
        return [UpdateConfig("renovate", path, line, e, (), enabled) for e in ecosystems]
    return [_renovate(path, data, line)]


_RENOVATE_FILES = {
    "renovate.json",
    "renovate.json5",
    ".renovaterc",
    ".renovaterc.json",
    ".renovaterc.json5",
    ".github/renovate.json",
    ".github/renovate.json5",
    ".gitlab/renovate.json",
    ".gitlab/renovate.json5",
}


def _json5ish(text: str) -> Any:
    """Parse JSON5 written like JSON with comments and trailing commas; None if not."""
    stripped = re.sub(r"^\s*//.*$", "", text, flags=re.M)
    stripped = re.sub(r"/\*.*?\*/", "", stripped, flags=re.S)
    stripped = re.sub(r",(\s*[}\]])", r"\1", stripped)
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        return None


# ---------------------------------------------------------------------------
# The collector


@register
class DependenciesCollector(Collector):
    """Reads manifests, lock files, Dependabot/Renovate configuration and migration tools."""

    name = NAME
    facts_type = DependencyFacts

    def collect(self, ctx: CollectContext) -> DependencyFacts:
        files = ctx.files
        failed: list[str] = []
        manifests: list[tuple[FileEntry, str, list[Dependency]]] = []
        lock_paths: list[str] = []
        configs: list[UpdateConfig] = []

        def read(entry: FileEntry) -> str | None:
            try:
                return files.read_text(entry)
            except CollectorError as exc:
                ctx.error(entry.path, str(exc).removeprefix(f"{entry.path}: "), NAME)
                failed.append(entry.path)
                return None

        def bad(entry: FileEntry, reason: str, line: int | None = None) -> None:
            ctx.error(entry.path, reason, NAME, line)
            failed.append(entry.path)

        all_locks = {name for names in LOCKFILES.values() for name in names}
        for entry in files:
            name, path = entry.name, entry.path
            if any(f"/{part}" in f"/{path}" for part in _SKIP_DIRS):
                continue
            if name in all_locks:
                lock_paths.append(path)
                continue
            if path in {".github/dependabot.yml", ".github/dependabot.yaml"}:
                text = read(entry)
                if text is None:
                    continue
                try:
                    configs.extend(_dependabot(entry, text))
                except YamlProblem as exc:
                    bad(entry, exc.problem.message, exc.problem.line)
                except ValueError as exc:
                    bad(entry, f"not a Dependabot configuration: {exc}")
                continue
            if path in _RENOVATE_FILES:
                text = read(entry)
                if text is None:
                    continue
                data = _json5ish(text)
                if data is None and name.endswith(".json"):
                    bad(entry, "invalid JSON")
                    continue
                configs.extend(_renovate_entries(path, data))
                continue
            ecosystem = _MANIFEST_NAMES.get(name) or ("pypi" if _is_requirements(name) else None)
            if ecosystem is None:
                continue
            text = read(entry)
            if text is None:
                continue
            try:
                deps = self._parse(entry, name, text, configs)
            except (tomllib.TOMLDecodeError, json.JSONDecodeError, ET.ParseError) as exc:
                line = getattr(exc, "lineno", None) or getattr(exc, "position", (None,))[0]
                bad(entry, f"cannot parse {name}: {str(exc).splitlines()[0][:200]}", line)
                continue
            except (ValueError, TypeError, AttributeError) as exc:
                bad(entry, f"cannot parse {name}: {type(exc).__name__}")
                continue
            if deps is None:
                continue
            manifests.append((entry, ecosystem, deps))

        locks_by_dir: dict[str, set[str]] = {}
        for lock_path in lock_paths:
            locks_by_dir.setdefault(_dir(lock_path), set()).add(PurePosixPath(lock_path).name)
        result = []
        for entry, ecosystem, deps in manifests:
            if entry.name == "pyproject.toml" and not deps:
                continue  # tool configuration only
            lock = self._lock_for(entry.path, ecosystem, locks_by_dir, manifests)
            result.append(Manifest(entry.path, ecosystem, tuple(deps), lock))
        return DependencyFacts(
            tuple(result),
            tuple(sorted(lock_paths)),
            tuple(configs),
            tuple(_migration_tools(files, ctx)),
            tuple(_migration_runs(files)),
            tuple(sorted(set(failed))),
        )

    @staticmethod
    def _parse(
        entry: FileEntry, name: str, text: str, configs: list[UpdateConfig]
    ) -> list[Dependency] | None:
        if _is_requirements(name):
            return _requirements(text)
        if name == "pyproject.toml":
            return _pyproject(text)
        if name == "Pipfile":
            return _pipfile(text)
        if name in {"package.json", "composer.json"}:
            data = json.loads(text)
            lines = text.splitlines()
            if name == "composer.json":
                return _composer(data, lines)
            if isinstance(data, dict) and "renovate" in data:
                line = _line_of(lines, '"renovate"') or 1
                configs.extend(_renovate_entries(entry.path, data["renovate"], line))
            return _package_json(data, lines)
        if name == "go.mod":
            return _go_mod(text)
        if name == "pom.xml":
            return _pom(text)
        if name.startswith("build.gradle"):
            return _gradle(text)
        if name in {"Gemfile", "gems.rb"}:
            return _gemfile(text)
        if name == "Cargo.toml":
            return _cargo(text)
        return None

    @staticmethod
    def _lock_for(
        path: str,
        ecosystem: str,
        locks_by_dir: dict[str, set[str]],
        manifests: list[tuple[FileEntry, str, list[Dependency]]],
    ) -> str | None:
        folder = _dir(path)
        names = LOCKFILES.get(ecosystem, ())
        candidates = [folder]
        if ecosystem in _WORKSPACE_LOCKS:
            parts = folder.split("/") if folder else []
            candidates += ["/".join(parts[:i]) for i in range(len(parts) - 1, -1, -1)]
        for directory in candidates:
            present = locks_by_dir.get(directory, set())
            for lock in names:
                if lock in present:
                    return f"{directory}/{lock}" if directory else lock
        if ecosystem == "pypi" and PurePosixPath(path).name in {"pyproject.toml", "Pipfile"}:
            # A fully pinned requirements file beside it (pip-compile output) is its lock.
            for entry, other_eco, deps in manifests:
                if (
                    other_eco == "pypi"
                    and _is_requirements(entry.name)
                    and _dir(entry.path) == folder
                    and deps
                    and all(d.pinned for d in deps)
                ):
                    return entry.path
        return None


def iter_dependencies(facts: DependencyFacts) -> Iterator[tuple[Manifest, Dependency]]:
    """Every (manifest, dependency) pair."""
    for manifest in facts.manifests:
        for dep in manifest.dependencies:
            yield manifest, dep


def ecosystems_of(manifests: Iterable[Manifest]) -> list[str]:
    return sorted({m.ecosystem for m in manifests})
