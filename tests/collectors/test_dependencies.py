"""The dependencies collector: manifests, lock files, update bots and migration tools."""

from __future__ import annotations

from pathlib import Path

from prr.collectors.dependencies import DependenciesCollector, DependencyFacts
from tests.collectors.test_pipelines import write
from tests.helpers import collect

PYPROJECT = """
[project]
name = "billing"
version = "1.4.0"
dependencies = [
  "fastapi>=0.110",
  "sqlalchemy==2.0.30",
]

[project.optional-dependencies]
dev = ["pytest>=8"]

[tool.ruff]
line-length = 100
"""

PACKAGE_JSON = """
{
  "name": "web",
  "scripts": {"test": "jest"},
  "dependencies": {"react": "^18.2.0", "axios": "1.6.8"},
  "devDependencies": {"jest": "29.7.0"},
  "renovate": {"extends": ["config:recommended"]}
}
"""

POM = """
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <properties><jackson.version>2.17.1</jackson.version></properties>
  <dependencies>
    <dependency>
      <groupId>com.fasterxml.jackson.core</groupId>
      <artifactId>jackson-databind</artifactId>
      <version>${jackson.version}</version>
    </dependency>
    <dependency>
      <groupId>org.postgresql</groupId>
      <artifactId>postgresql</artifactId>
      <version>[42.0,43.0)</version>
    </dependency>
    <dependency>
      <groupId>org.springframework.boot</groupId>
      <artifactId>spring-boot-starter-web</artifactId>
    </dependency>
  </dependencies>
</project>
"""

DEPENDABOT = """
version: 2
updates:
  - package-ecosystem: pip
    directory: "/"
    schedule:
      interval: weekly
  - package-ecosystem: gomod
    directories: ["/services/*"]
    schedule:
      interval: weekly
"""


def test_manifests_versions_and_lock_files(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": PYPROJECT,
            "uv.lock": "version = 1\n",
            "web/package.json": PACKAGE_JSON,
            "web/package-lock.json": "{}\n",
            "services/ledger/go.mod": (
                "module example.com/ledger\n\ngo 1.22\n\nrequire (\n"
                "\tgithub.com/jackc/pgx/v5 v5.5.5\n\tgolang.org/x/text v0.14.0 // indirect\n)\n"
            ),
            "java/pom.xml": POM,
            "requirements-dev.txt": "-r requirements.txt\npytest==8.2.0\nruff>=0.4  # lint\n",
            "Gemfile": "source 'https://rubygems.org'\ngem 'rails', '~> 7.1'\n",
            "Gemfile.lock": "GEM\n",
            "node_modules/x/package.json": '{"dependencies": {"y": "*"}}',
        },
    )
    facts = collect(tmp_path, DependenciesCollector).get(DependencyFacts)
    manifests = {m.path: m for m in facts.manifests}
    assert set(manifests) == {
        "pyproject.toml",
        "web/package.json",
        "services/ledger/go.mod",
        "java/pom.xml",
        "requirements-dev.txt",
        "Gemfile",
    }
    py = manifests["pyproject.toml"]
    assert py.lockfile == "uv.lock" and py.locked
    assert [(d.name, d.version, d.pinned, d.line, d.dev) for d in py.dependencies] == [
        ("fastapi", ">=0.110", False, 5, False),
        ("sqlalchemy", "==2.0.30", True, 6, False),
        ("pytest", ">=8", False, 10, True),
    ]
    web = manifests["web/package.json"]
    assert web.lockfile == "web/package-lock.json"
    assert {d.name: d.pinned for d in web.dependencies} == {
        "react": False,
        "axios": True,
        "jest": True,
    }
    go = manifests["services/ledger/go.mod"]
    assert [(d.name, d.line) for d in go.dependencies] == [("github.com/jackc/pgx/v5", 6)]
    assert go.lockfile is None and go.locked  # go.mod versions are exact; go.sum is checked
    pom = manifests["java/pom.xml"]
    assert [(d.name.split(":")[1], d.pinned) for d in pom.dependencies] == [
        ("jackson-databind", True),
        ("postgresql", False),
        ("spring-boot-starter-web", True),
    ]
    assert not pom.locked and pom.unpinned[0].line == 12
    req = manifests["requirements-dev.txt"]
    assert [(d.name, d.pinned, d.line) for d in req.dependencies] == [
        ("pytest", True, 2),
        ("ruff", False, 3),
    ]
    assert manifests["Gemfile"].lockfile == "Gemfile.lock"
    assert [(c.tool, c.ecosystem, c.path) for c in facts.update_configs] == [
        ("renovate", None, "web/package.json")
    ]
    assert facts.covering(web)
    assert facts.ecosystems == ("go", "maven", "npm", "pypi", "rubygems")


def test_dependabot_directories_and_coverage(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".github/dependabot.yml": DEPENDABOT,
            "requirements.txt": "flask==3.0.3\n",
            "tools/requirements.txt": "black==24.4.2\n",
            "services/ledger/go.mod": "module x\n\nrequire github.com/a/b v1.0.0\n",
            "services/ledger/go.sum": "",
        },
    )
    facts = collect(tmp_path, DependenciesCollector).get(DependencyFacts)
    assert [(c.ecosystem, c.directories, c.line) for c in facts.update_configs] == [
        ("pypi", ("",), 3),
        ("go", ("services/*",), 7),
    ]
    covered = {m.path: bool(facts.covering(m)) for m in facts.manifests}
    assert covered == {
        "requirements.txt": True,
        "tools/requirements.txt": False,
        "services/ledger/go.mod": True,
    }
    go = next(m for m in facts.manifests if m.ecosystem == "go")
    assert go.lockfile == "services/ledger/go.sum"


def test_migration_tools_and_the_places_that_run_them(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            "migrations/env.py": "",
            "migrations/versions/0001_init.py": "",
            "migrations/versions/0002_invoices.py": "",
            "prisma/schema.prisma": "datasource db {}\n",
            "prisma/migrations/20240101_init/migration.sql": "CREATE TABLE a();\n",
            "db/migrations/20240101_users.sql": "-- +goose Up\nCREATE TABLE users();\n",
            "app/billing/migrations/__init__.py": "",
            "app/billing/migrations/0001_initial.py": "",
            "chart/templates/migrate.yaml": (
                "apiVersion: batch/v1\nkind: Job\nmetadata:\n  annotations:\n"
                '    "helm.sh/hook": pre-upgrade\nspec:\n  template:\n    spec:\n'
                "      containers:\n        - name: migrate\n"
                '          command: ["alembic", "upgrade", "head"]\n'
                '          args: ["sh", "-c", "alembic upgrade head"]\n'
            ),
            "Procfile": "web: gunicorn app:app\nrelease: python manage.py migrate --noinput\n",
            "Dockerfile": "FROM python:3.12\nRUN alembic upgrade head\nCMD alembic upgrade head && gunicorn app:app\n",
        },
    )
    facts = collect(tmp_path, DependenciesCollector).get(DependencyFacts)
    tools = {(t.tool, t.path, t.migrations) for t in facts.migration_tools}
    assert tools == {
        ("alembic", "alembic.ini", 2),
        ("prisma", "prisma/migrations", 1),
        ("goose", "db/migrations", 1),
        ("django", "app/billing/migrations", 1),
    }
    runs = {(r.tool, r.path, r.line, r.where) for r in facts.migration_runs}
    assert runs == {
        ("alembic", "chart/templates/migrate.yaml", 12, "kubernetes"),
        ("django", "Procfile", 2, "release-phase"),
        ("alembic", "Dockerfile", 3, "container-entrypoint"),
    }


def test_malformed_manifests_are_recorded_and_skipped(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "package.json": '{"dependencies": {"a": "1.0.0",}}',
            "pyproject.toml": "[project\nname = 'x'\n",
            "pom.xml": "<project><dependencies></project>",
            ".github/dependabot.yml": "version: 2\nupdates: [\n",
            "renovate.json": "{not json",
            "requirements.txt": "requests==2.32.3\n",
        },
    )
    (tmp_path / "Cargo.toml").write_bytes(b'[dependencies]\nserde = "\xff"\n')
    bag = collect(tmp_path, DependenciesCollector)
    facts = bag.get(DependencyFacts)
    assert [m.path for m in facts.manifests] == ["requirements.txt"]
    assert set(facts.failed) == {
        "package.json",
        "pyproject.toml",
        "pom.xml",
        ".github/dependabot.yml",
        "renovate.json",
        "Cargo.toml",
    }
    errors = {e.source: e for e in bag.errors if e.collector == "dependencies"}
    assert errors["package.json"].line == 1
    assert errors[".github/dependabot.yml"].line is not None
