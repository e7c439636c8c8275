"""Container checks over Dockerfiles and Compose files: pass, fail, unknown, no opinion."""

from __future__ import annotations

import textwrap
from pathlib import Path

from prr.collectors.containers import ContainerCollector
from prr.model.evidence import Result, Status
from tests.helpers import by_item, collect, run_check

HEALTH = "infrastructure.compute.health-checks-configured"
LIMITS = "infrastructure.compute.resource-limits-set"
VERSIONS = "deployment.environment-parity.same-dependencies-versions"
HARDCODED = "security.secrets-management.no-hardcoded-secrets-in-code"
VAULT = "security.secrets-management.secrets-in-secure-vault"
CHECKS = (
    "infrastructure.containers.health-checks",
    "infrastructure.containers.resource-limits",
    "infrastructure.containers.image-versions",
    "security.containers.secrets",
)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"))
    return root


def decide(root: Path, check_id: str) -> dict[str, Result]:
    return by_item(run_check(check_id, collect(root, ContainerCollector)))


API_DOCKERFILE = """
ARG PYTHON_VERSION=3.12.7
FROM python:${PYTHON_VERSION}-slim AS build
COPY requirements.lock .
RUN pip install --prefix=/install -r requirements.lock

FROM python:${PYTHON_VERSION}-slim
COPY --from=build /install /usr/local
COPY shop /app/shop
USER 10001
HEALTHCHECK --interval=30s CMD python -c "import urllib.request as u; u.urlopen('http://localhost:8080/healthz')"
EXPOSE 8080
CMD ["gunicorn", "--bind", "0.0.0.0:8080", "shop.app:app"]
"""

GOOD_COMPOSE = """
services:
  api:
    build: ./api
    restart: unless-stopped
    environment:
      DATABASE_URL: ${DATABASE_URL}
      SECRET_KEY: ${SECRET_KEY}
    deploy:
      resources:
        limits:
          cpus: "1.0"
          memory: 512M
  redis:
    image: redis:7.4.1-alpine
    restart: always
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 10s
    mem_limit: 256m
    cpus: 0.5
"""


def good(tmp_path: Path) -> Path:
    return write(tmp_path, {"api/Dockerfile": API_DOCKERFILE, "compose.prod.yaml": GOOD_COMPOSE})


def test_good_compose_passes(tmp_path: Path) -> None:
    root = write(tmp_path, {"api/Dockerfile": API_DOCKERFILE, "compose.prod.yaml": GOOD_COMPOSE})
    health = decide(root, "infrastructure.containers.health-checks")[HEALTH]
    assert health.status is Status.PASS, health.message
    assert (
        "service api has the HEALTHCHECK of api/Dockerfile and restart: unless-stopped "
        "(api/Dockerfile:10)"
    ) in health.message
    assert "service redis has a healthcheck and restart: always (compose.prod.yaml:16)" in (
        health.message
    )
    limits = decide(root, "infrastructure.containers.resource-limits")[LIMITS]
    assert limits.status is Status.PASS, limits.message
    assert "service api is limited to 512M memory and 1.0 CPUs (compose.prod.yaml:9)" in (
        limits.message
    )
    versions = decide(root, "infrastructure.containers.image-versions")[VERSIONS]
    assert versions.status is Status.PASS, versions.message
    assert "FROM in api/Dockerfile pins python by tag 3.12.7-slim (api/Dockerfile:2)" in (
        versions.message
    )
    assert decide(root, "security.containers.secrets") == {}


BAD_COMPOSE = """
services:
  api:
    image: ghcr.io/acme/shop-api:latest
    restart: "no"
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:8080/healthz"]
    environment:
      - DATABASE_URL=postgres://shop:Pr0d-db-pass@db:5432/shop
      - LOG_LEVEL=info
  worker:
    image: ghcr.io/acme/shop-worker
    restart: unless-stopped
    environment:
      STRIPE_API_KEY: sk_live_4eC39HqLyjWDarjtT1zdp7dc
  db:
    image: postgres:16.4
    restart: always
    healthcheck:
      disable: true
"""


def test_bad_compose_fails_with_fixes(tmp_path: Path) -> None:
    root = write(tmp_path, {"docker-compose.yml": BAD_COMPOSE})
    health = decide(root, "infrastructure.containers.health-checks")[HEALTH]
    assert health.status is Status.FAIL
    assert "service api has a health check but no restart policy" in health.message
    assert "service worker has no healthcheck (docker-compose.yml:10)" in health.message
    assert "service db disables its health check (docker-compose.yml:18)" in health.message
    assert "restart: unless-stopped" in (health.remediation or "")
    assert "pg_isready" in (health.remediation or "")  # a probe that fits the postgres image
    limits = decide(root, "infrastructure.containers.resource-limits")[LIMITS]
    assert limits.status is Status.FAIL
    assert "service api has no memory or CPU limit (docker-compose.yml:2)" in limits.message
    assert "memory: 512M" in (limits.remediation or "")
    versions = decide(root, "infrastructure.containers.image-versions")[VERSIONS]
    assert versions.status is Status.FAIL
    assert "service api uses ghcr.io/acme/shop-api with floating tag latest" in versions.message
    assert "service worker uses ghcr.io/acme/shop-worker with no tag (latest)" in (versions.message)
    assert "postgres" not in versions.message
    secrets = decide(root, "security.containers.secrets")
    hardcoded = secrets[HARDCODED]
    assert hardcoded.status is Status.FAIL
    assert "service api sets DATABASE_URL to a literal value" in hardcoded.message
    assert "service worker sets STRIPE_API_KEY to a literal value" in hardcoded.message
    assert "LOG_LEVEL" not in hardcoded.message
    assert secrets[VAULT].status is Status.FAIL
    for result in secrets.values():
        shown = result.message + (result.remediation or "") + repr(result.evidence)
        assert "Pr0d-db-pass" not in shown and "sk_live" not in shown


def test_dockerfile_secrets(tmp_path: Path) -> None:
    dockerfile = """
    FROM node:20.18.0-bookworm-slim
    ARG NPM_TOKEN
    ARG SENTRY_AUTH_TOKEN=sntrys_written_into_the_file
    ENV NODE_ENV=production \\
        JWT_SECRET=jwt-secret-in-image
    RUN npm ci
    USER node
    """
    root = write(tmp_path, {"web/Dockerfile": dockerfile})
    results = decide(root, "security.containers.secrets")
    hardcoded = results[HARDCODED]
    assert "ARG SENTRY_AUTH_TOKEN in web/Dockerfile has a literal value (web/Dockerfile:3)" in (
        hardcoded.message
    )
    assert "ENV JWT_SECRET in web/Dockerfile has a literal value (web/Dockerfile:5)" in (
        hardcoded.message
    )
    assert "NPM_TOKEN" not in hardcoded.message
    vault = results[VAULT]
    assert "web/Dockerfile takes NPM_TOKEN as a build argument" in vault.message
    assert "RUN --mount=type=secret" in (vault.remediation or "")
    shown = " ".join(r.message + (r.remediation or "") for r in results.values())
    assert "sntrys_written" not in shown and "jwt-secret-in-image" not in shown


def test_build_argument_secret_alone_fails_only_the_vault_item(tmp_path: Path) -> None:
    root = write(tmp_path, {"Dockerfile": "FROM node:20.18.0\nARG NPM_TOKEN\nRUN npm ci\n"})
    results = decide(root, "security.containers.secrets")
    assert set(results) == {VAULT}
    assert results[VAULT].status is Status.FAIL


def test_dockerfiles_alone(tmp_path: Path) -> None:
    root = write(tmp_path, {"api/Dockerfile": API_DOCKERFILE})
    health = decide(root, "infrastructure.containers.health-checks")[HEALTH]
    assert health.status is Status.PASS
    assert "api/Dockerfile declares a HEALTHCHECK (api/Dockerfile:10)" in health.message
    # without compose nothing says how containers are limited
    assert decide(root, "infrastructure.containers.resource-limits") == {}
    # a Dockerfile without HEALTHCHECK is no evidence against: the orchestrator may probe
    (root / "api" / "Dockerfile").write_text("FROM python:3.12.7-slim\nCMD python app.py\n")
    assert decide(root, "infrastructure.containers.health-checks") == {}


def test_floating_and_computed_base_images(tmp_path: Path) -> None:
    root = write(tmp_path, {"Dockerfile": "FROM node:lts\nCMD node server.js\n"})
    failed = decide(root, "infrastructure.containers.image-versions")[VERSIONS]
    assert failed.status is Status.FAIL
    assert "FROM in Dockerfile uses node with floating tag lts" in failed.message
    assert "FROM node:<version>@sha256:<digest>" in (failed.remediation or "")
    (root / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCMD run\n")
    unknown = decide(root, "infrastructure.containers.image-versions")[VERSIONS]
    assert unknown.status is Status.UNKNOWN
    assert "uses ${BASE_IMAGE}, set at build or deploy time (Dockerfile:2)" in unknown.message


def test_development_files_are_ignored(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "Dockerfile.dev": "FROM node:latest\nENV SECRET_KEY=dev-only\n",
            "docker-compose.dev.yml": BAD_COMPOSE,
            ".devcontainer/docker-compose.yml": BAD_COMPOSE,
        },
    )
    for check_id in CHECKS:
        assert decide(root, check_id) == {}, check_id


def test_production_named_compose_wins_over_plain(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "api/Dockerfile": API_DOCKERFILE,
            "docker-compose.yml": BAD_COMPOSE,
            "docker-compose.production.yml": GOOD_COMPOSE.replace("./api", "./api"),
        },
    )
    assert decide(root, "infrastructure.containers.resource-limits")[LIMITS].status is (Status.PASS)


def test_unreadable_files_make_passes_unknown(tmp_path: Path) -> None:
    root = good(tmp_path)
    write(root, {"deploy/compose.yaml": "services:\n  api: [broken\n"})
    health = decide(root, "infrastructure.containers.health-checks")[HEALTH]
    assert health.status is Status.UNKNOWN
    assert health.message.startswith("The container files do not settle it: ")
    assert "deploy/compose.yaml could not be read: invalid YAML" in health.message
    assert decide(root, "infrastructure.containers.resource-limits")[LIMITS].status is (
        Status.UNKNOWN
    )
    write(root, {"worker/Dockerfile": "FRUM python\n"})
    versions = decide(root, "infrastructure.containers.image-versions")[VERSIONS]
    assert versions.status is Status.UNKNOWN
    assert "worker/Dockerfile could not be read" in versions.message


def test_no_container_files_no_opinion(tmp_path: Path) -> None:
    root = write(tmp_path, {"README.md": "# shop\n"})
    for check_id in CHECKS:
        assert decide(root, check_id) == {}, check_id


def test_local_compose_is_not_judged_when_kubernetes_deploys(tmp_path) -> None:
    from prr.collectors.containers import ContainerCollector
    from prr.collectors.kubernetes import KubernetesCollector

    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: localdev\n"
    )
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "deploy.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  replicas: 2\n"
        "  template:\n    spec:\n      containers:\n        - name: api\n          image: api:1.0\n"
    )
    facts = collect(tmp_path, ContainerCollector, KubernetesCollector)
    assert run_check("infrastructure.containers.health-checks", facts) == []
    (tmp_path / "docker-compose.prod.yml").write_text("services:\n  api:\n    image: api:1.0\n")
    facts = collect(tmp_path, ContainerCollector, KubernetesCollector)
    results = run_check("infrastructure.containers.health-checks", facts)
    assert results and results[0].status.value == "fail"


def test_placeholders_are_not_hardcoded_secrets(tmp_path: Path) -> None:
    dockerfile = """
    FROM python:3.12.7-slim
    ARG ADMIN_PASSWORD=changeme
    ENV API_TOKEN="<your-token-here>" \\
        DATABASE_URL=postgres://app:changeme@db:5432/app
    USER app
    """
    compose = """
    services:
      api:
        image: shop/api:1.2.3
        environment:
          SESSION_SECRET: example-secret
          STRIPE_KEY: ${STRIPE_KEY}
    """
    root = write(tmp_path, {"Dockerfile": dockerfile, "compose.prod.yaml": compose})
    results = decide(root, "security.containers.secrets")
    assert HARDCODED not in results or results[HARDCODED].status is not Status.FAIL
    # one real value among the placeholders is still found
    write(root, {"Dockerfile": dockerfile.replace("changeme", "Zq8vN2rT5wX1yB7c", 1)})
    assert decide(root, "security.containers.secrets")[HARDCODED].status is Status.FAIL
