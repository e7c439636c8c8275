"""The container collector: Dockerfiles, Compose files, and what it refuses to read."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from prr.collectors.containers import ContainerCollector, ContainerFacts, parse_image
from tests.helpers import collect


def write(root: Path, files: Mapping[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"))
    return root


def facts_of(root: Path) -> tuple[ContainerFacts, list[str]]:
    facts = collect(root, ContainerCollector)
    return facts.get(ContainerFacts), [str(e) for e in facts.errors]


DOCKERFILE = """
# syntax=docker/dockerfile:1.7
ARG PYTHON_VERSION=3.12
FROM python:${PYTHON_VERSION}-slim AS build
WORKDIR /src
COPY requirements.lock .
RUN --mount=type=cache,target=/root/.cache \\
    pip install --prefix=/install \\
      # the lock file pins every version
      -r requirements.lock
RUN <<EOF
set -e
echo "FROM not-an-instruction"
EOF

FROM python:${PYTHON_VERSION}-slim@sha256:4f1c2e
ARG NPM_TOKEN
ENV APP_ENV=production \\
    SECRET_KEY="do-not-ship-me" \\
    DATABASE_URL=postgres://shop:pw-in-url@db:5432/shop \\
    REDIS_URL=$REDIS_URL
COPY --from=build /install /usr/local
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=3s CMD curl -fsS http://localhost:8080/healthz || exit 1
EXPOSE 8080
CMD ["gunicorn", "--bind", "0.0.0.0:8080", "shop.app:app"]
"""


def test_dockerfile_stages_users_healthchecks_and_settings(tmp_path: Path) -> None:
    facts, errors = facts_of(write(tmp_path, {"services/api/Dockerfile": DOCKERFILE}))
    assert errors == []
    (dockerfile,) = facts.dockerfiles
    assert dockerfile.path == "services/api/Dockerfile"
    assert dockerfile.multi_stage
    build, final = dockerfile.stages
    assert build.name == "build" and build.image.raw == "python:3.12-slim" and build.line == 3
    assert final.image.digest == "sha256:4f1c2e" and final.image.pinned
    assert final.user == "10001:10001" and not dockerfile.runs_as_root
    assert final.healthcheck == "CMD" and final.healthcheck_line == 23
    settings = {s.name: s for s in final.settings}
    assert settings["NPM_TOKEN"].kind == "ARG" and not settings["NPM_TOKEN"].literal
    assert settings["SECRET_KEY"].literal and settings["SECRET_KEY"].line == 18
    assert settings["DATABASE_URL"].url_credentials and settings["DATABASE_URL"].line == 19
    assert not settings["REDIS_URL"].literal
    # values are never kept
    assert "do-not-ship-me" not in repr(facts) and "pw-in-url" not in repr(facts)


def test_stage_references_and_unresolved_base_images(tmp_path: Path) -> None:
    files = {
        "Containerfile": """
        ARG BASE
        FROM ${BASE} AS base
        FROM base
        USER root
        HEALTHCHECK NONE
        """,
        "worker.Dockerfile": "FROM node:lts\nCMD node worker.js\n",
    }
    facts, errors = facts_of(write(tmp_path, files))
    assert errors == []
    by_path = {d.path: d for d in facts.dockerfiles}
    first, second = by_path["Containerfile"].stages
    assert first.image.unresolved and first.image.pinned is None
    assert second.from_stage
    assert by_path["Containerfile"].runs_as_root
    assert second.healthcheck == "NONE"
    worker = by_path["worker.Dockerfile"].final
    assert worker.image.tag == "lts" and worker.image.pinned is False
    assert by_path["worker.Dockerfile"].runs_as_root


@pytest.mark.parametrize(
    ("raw", "name", "tag", "digest", "pinned"),
    [
        ("nginx", "nginx", None, None, False),
        ("nginx:latest", "nginx", "latest", None, False),
        ("nginx:1.27.2-alpine", "nginx", "1.27.2-alpine", None, True),
        (
            "registry.example.com:5000/team/api",
            "registry.example.com:5000/team/api",
            None,
            None,
            False,
        ),
        ("ghcr.io/acme/api:2.3.1@sha256:abc", "ghcr.io/acme/api", "2.3.1", "sha256:abc", True),
        ("ghcr.io/acme/api@sha256:abc", "ghcr.io/acme/api", None, "sha256:abc", True),
        ("scratch", "scratch", None, None, True),
    ],
)
def test_image_references(
    raw: str, name: str, tag: str | None, digest: str | None, pinned: bool
) -> None:
    image = parse_image(raw)
    assert (image.name, image.tag, image.digest, image.pinned) == (name, tag, digest, pinned)


COMPOSE = """
services:
  api:
    build:
      context: ./api
    restart: unless-stopped
    healthcheck:
      test: ["CMD", "curl", "-fsS", "http://localhost:8080/healthz"]
      interval: 10s
    deploy:
      resources:
        limits:
          cpus: "1.0"
          memory: 512M
    environment:
      APP_ENV: production
      DB_PASSWORD: ${DB_PASSWORD}
      API_KEY: sk-live-not-for-output
    ports:
      - "8080:8080"
  worker:
    image: ghcr.io/acme/worker:1.4.2
    mem_limit: 256m
    deploy:
      restart_policy:
        condition: on-failure
    environment:
      - QUEUE=jobs
      - BROKER_URL=amqp://app:broker-pass@mq:5672/
  mq:
    image: rabbitmq:3
    healthcheck:
      disable: true
"""


def test_compose_services(tmp_path: Path) -> None:
    files = {
        "docker-compose.prod.yml": COMPOSE,
        "api/Dockerfile": "FROM python:3.12-slim\nHEALTHCHECK CMD true\n",
        "docker-compose.yml": "services:\n  db:\n    image: postgres:16\n",
    }
    facts, errors = facts_of(write(tmp_path, files))
    assert errors == []
    by_path = {c.path: c for c in facts.compose_files}
    prod = by_path["docker-compose.prod.yml"]
    assert prod.environment == "production" and not prod.non_production
    assert facts.production_compose() == [prod]
    api, worker, mq = prod.services
    assert api.build_dockerfile == "api/Dockerfile"
    assert api.healthcheck == "defined" and api.healthcheck_line == 6
    assert api.restart == "unless-stopped" and api.restart_line == 5
    assert (api.memory_limit, api.cpu_limit, api.limits_line) == ("512M", "1.0", 10)
    env = {e.name: e for e in api.environment}
    assert env["API_KEY"].literal and env["API_KEY"].line == 17
    assert not env["DB_PASSWORD"].literal
    assert worker.image is not None and worker.image.tag == "1.4.2" and worker.image_line == 21
    assert (worker.memory_limit, worker.cpu_limit, worker.restart) == ("256m", None, "on-failure")
    assert {e.name: e.url_credentials for e in worker.environment} == {
        "QUEUE": False,
        "BROKER_URL": True,
    }
    assert mq.healthcheck == "disabled" and mq.restart is None
    assert "sk-live-not-for-output" not in repr(facts) and "broker-pass" not in repr(facts)


def test_compose_environment_from_names(tmp_path: Path) -> None:
    body = "services:\n  app:\n    image: app:1\n"
    files = {
        "compose.yaml": body,
        "docker-compose.override.yml": body,
        "docker-compose.dev.yml": body,
        "deploy/production/docker-compose.yml": body,
        ".devcontainer/docker-compose.yml": body,
    }
    facts, _ = facts_of(write(tmp_path, files))
    envs = {c.path: c.environment for c in facts.compose_files}
    assert envs == {
        "compose.yaml": None,
        "docker-compose.override.yml": "override",
        "docker-compose.dev.yml": "dev",
        "deploy/production/docker-compose.yml": "production",
        ".devcontainer/docker-compose.yml": "devcontainer",
    }
    assert [c.path for c in facts.production_compose()] == ["deploy/production/docker-compose.yml"]


def test_bad_container_files_are_errors(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "a/Dockerfile": "RUN echo hi\nFROM alpine:3.20\n",
        "b/Dockerfile": "# only a comment\n",
        "c/Dockerfile": "FROM alpine:3.20\nFRUM typo\n",
        "g/Dockerfile": "FROM alpine:3.20\nAPI_KEY=sk-live-abcdef\n",
        "d/Dockerfile": "FROM alpine:3.20\nRUN <<EOF\necho never closed\n",
        "e/Dockerfile": b"FROM alpine\x00\x01",
        "f/Dockerfile": b"FROM alpine:3.20\nLABEL x=\xe9\n",
        "docker-compose.yml": "services:\n  api: [oops\n",
        "compose.prod.yaml": "services:\n  api:\n    image: a:1\n  api:\n    image: b:2\n",
        "README.md": "FROM nothing\n",
        "Dockerfile.md": "not a dockerfile\n",
        "compose.other.yml": "version: '3'\nnot_services: {}\n",
    }
    facts, errors = facts_of(write(tmp_path, files))
    assert facts.dockerfiles == ()
    assert facts.compose_files == ()
    unread = {u.path: u for u in facts.unread}
    assert set(unread) == {
        "a/Dockerfile",
        "b/Dockerfile",
        "c/Dockerfile",
        "d/Dockerfile",
        "e/Dockerfile",
        "f/Dockerfile",
        "g/Dockerfile",
        "docker-compose.yml",
        "compose.prod.yaml",
    }
    assert unread["a/Dockerfile"].line == 1
    assert unread["c/Dockerfile"].line == 2 and "FRUM" in unread["c/Dockerfile"].reason
    assert unread["d/Dockerfile"].kind == "dockerfile"
    assert unread["compose.prod.yaml"].kind == "compose"
    joined = "\n".join(errors)
    assert "b/Dockerfile: Dockerfile no FROM instruction" in joined
    assert "e/Dockerfile: binary file" in joined
    assert "g/Dockerfile:2: Dockerfile unknown instruction (containers)" in joined
    assert "sk-live" not in joined
    assert "docker-compose.yml:3: invalid YAML" in joined
    assert "invalid YAML: invalid YAML" not in joined
