"""The pipelines collector over realistic GitHub, GitLab, Jenkins, Tekton and Argo CD files."""

from __future__ import annotations

import textwrap
from pathlib import Path

from prr.collectors.pipelines import PipelineFacts, PipelinesCollector, classify_command
from tests.helpers import collect


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


GITHUB_CI = """
name: CI
on:
  push:
    branches: [main]
  pull_request:
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install -r requirements.txt
      - name: Unit tests
        run: |
          ruff check .
          make test
      - uses: github/codeql-action/analyze@v3
      - uses: gitleaks/gitleaks-action@v2
  image:
    runs-on: ubuntu-latest
    needs: test
    steps:
      - uses: actions/checkout@v4
      - uses: docker/build-push-action@v6
        with:
          context: services/api
      - uses: aquasecurity/trivy-action@0.28.0
        with:
          scan-type: fs
"""

GITHUB_DEPLOY = """
name: Deploy
on:
  push:
    tags: ["v*"]
jobs:
  staging:
    runs-on: ubuntu-latest
    environment: staging
    steps:
      - run: helm upgrade --install api ./chart -n staging
  production:
    runs-on: ubuntu-latest
    needs: staging
    environment:
      name: production
      url: https://api.example.com
    permissions:
      id-token: write
      contents: read
    steps:
      - run: alembic upgrade head
      - run: |
          helm upgrade --install api ./chart \\
            --namespace production --wait
  rollback:
    runs-on: ubuntu-latest
    permissions: write-all
    env:
      AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
    steps:
      - run: helm rollback api -n production
"""

MAKEFILE = """
.PHONY: test lint
lint:
\truff check .

test: lint
\tpytest -q tests/
"""


def test_github_workflows_jobs_steps_permissions_and_environments(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".github/workflows/ci.yml": GITHUB_CI,
            ".github/workflows/deploy.yaml": GITHUB_DEPLOY,
            "Makefile": MAKEFILE,
            "services/api/Dockerfile": "FROM python:3.12\n",
        },
    )
    facts = collect(tmp_path, PipelinesCollector).get(PipelineFacts)
    ci = next(p for p in facts.pipelines if p.path == ".github/workflows/ci.yml")
    assert ci.platform == "github-actions"
    assert ci.triggers == ("push", "pull_request") and ci.on_change
    assert ci.trigger_line == 2
    assert [(g.scope, g.level, g.line) for g in ci.permissions or ()] == [("contents", "read", 7)]
    tests = [a for _, a in ci.actions("test")]
    assert [(a.tool, a.line, a.via) for a in tests] == [
        ("make test", 20, None),
        ("pytest", 20, "Makefile:6"),
    ]
    scans = {(a.tool, a.category, a.line) for _, a in ci.actions("security-scan")}
    assert scans == {
        ("codeql", "static", 21),
        ("gitleaks", "secret", 22),
        ("trivy", "dependency", 31),
    }
    assert [(a.tool, a.category) for _, a in ci.actions("build")] == [("docker build", "image")]
    assert ci.jobs[1].needs == ("test",)
    assert facts.components[0].path == "services/api/Dockerfile"
    assert facts.components[0].built_by == (".github/workflows/ci.yml",)

    deploy = next(p for p in facts.pipelines if p.path == ".github/workflows/deploy.yaml")
    assert not deploy.on_change and deploy.permissions is None
    staging, production, rollback = deploy.jobs
    assert staging.environment == "staging" and not staging.production
    assert production.environment == "production" and production.production
    assert production.approval == "github-environment" and production.environment_line == 15
    assert [(g.text, g.line) for g in production.permissions or ()] == [
        ("id-token: write", 18),
        ("contents: read", 19),
    ]
    migration = [a for a in production.actions if a.kind == "migration"]
    assert [(a.tool, a.line) for a in migration] == [("alembic", 21)]
    helm = [a for a in production.actions if a.kind == "deploy"]
    assert [(a.tool, a.line, a.production) for a in helm] == [("helm", 23, True)]
    assert [a.kind for a in rollback.actions] == ["rollback"]
    assert rollback.permissions is not None and rollback.permissions[0].level == "write-all"
    assert [(c.provider, c.name, c.line) for c in rollback.credentials] == [
        ("aws", "AWS_SECRET_ACCESS_KEY", 29)
    ]
    assert facts.failed == ()


GITLAB = """
stages: [test, build, deploy]
include:
  - template: Security/SAST.gitlab-ci.yml
  - template: Jobs/Secret-Detection.gitlab-ci.yml
  - local: ci/deploy.yml
  - project: platform/ci-templates
    file: /templates/notify.yml

.python:
  image: python:3.12
  before_script:
    - pip install -r requirements.txt

unit-tests:
  extends: .python
  stage: test
  script:
    - python -m pytest --junitxml=report.xml
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"

build-image:
  stage: build
  image:
    name: gcr.io/kaniko-project/executor:debug
    entrypoint: [""]
  script:
    - /kaniko/executor --context $CI_PROJECT_DIR --destination $CI_REGISTRY_IMAGE:$CI_COMMIT_SHA
"""

GITLAB_DEPLOY = """
deploy-production:
  stage: deploy
  environment:
    name: production
  script:
    - kubectl apply -k k8s/overlays/production
  when: manual
"""


def test_gitlab_ci_includes_templates_extends_and_manual_jobs(tmp_path: Path) -> None:
    write(tmp_path, {".gitlab-ci.yml": GITLAB, "ci/deploy.yml": GITLAB_DEPLOY})
    facts = collect(tmp_path, PipelinesCollector).get(PipelineFacts)
    (pipeline,) = facts.pipelines
    assert pipeline.platform == "gitlab-ci" and pipeline.on_change
    assert "merge_request" in pipeline.triggers
    assert pipeline.opaque == ("platform/ci-templates:/templates/notify.yml",)
    assert pipeline.sources == ("ci/deploy.yml",)
    jobs = {j.name: j for j in pipeline.jobs}
    assert ".python" not in jobs
    assert [(a.tool, a.line) for a in jobs["unit-tests"].actions if a.kind == "test"] == [
        ("pytest", 18)
    ]
    assert jobs["unit-tests"].stage == "test"
    assert {(a.kind, a.tool) for a in jobs["build-image"].actions} == {("build", "kaniko")}
    deploy = jobs["deploy-production"]
    assert deploy.path == "ci/deploy.yml" and deploy.approval == "manual"
    assert deploy.production and deploy.deploys
    scans = {(a.category, a.line) for _, a in pipeline.actions("security-scan")}
    assert scans == {("static", 3), ("secret", 4)}


JENKINSFILE = """
@Library('shared-pipeline') _
pipeline {
  agent any
  stages {
    stage('Test') {
      steps {
        sh 'mvn -B verify'
      }
    }
    stage('Approve') {
      steps {
        input message: 'Deploy to production?'
      }
    }
    stage('Deploy production') {
      steps {
        sh 'helm upgrade --install api chart/ --namespace prod'
        sh 'flyway -url=$DB_URL migrate'
      }
    }
  }
}
"""


def test_jenkinsfile_stages_steps_and_input_approval(tmp_path: Path) -> None:
    write(tmp_path, {"Jenkinsfile": JENKINSFILE})
    (pipeline,) = collect(tmp_path, PipelinesCollector).get(PipelineFacts).pipelines
    assert pipeline.platform == "jenkins"
    assert pipeline.opaque == ("@Library('shared-pipeline') _",)
    test, approve, deploy = pipeline.jobs
    assert [(a.tool, a.line) for a in test.actions if a.kind == "test"] == [("maven", 7)]
    assert approve.approval == "input"
    assert deploy.approval == "input" and deploy.production
    assert {(a.kind, a.tool, a.line) for a in deploy.actions} == {
        ("deploy", "helm", 17),
        ("migration", "flyway", 18),
    }


TEKTON_AND_ARGO = """
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: unit-test
spec:
  steps:
    - name: test
      image: golang:1.22
      script: |
        go test ./...
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: build-and-test
spec:
  tasks:
    - name: test
      taskRef:
        name: unit-test
    - name: build
      taskRef:
        name: kaniko
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: billing-production
  namespace: argocd
spec:
  source:
    repoURL: https://git.example.com/billing.git
    path: k8s/overlays/production
    targetRevision: main
  destination:
    server: https://kubernetes.default.svc
    namespace: billing
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
"""


def test_tekton_pipeline_and_argo_cd_application(tmp_path: Path) -> None:
    write(tmp_path, {"deploy/cicd.yaml": TEKTON_AND_ARGO})
    facts = collect(tmp_path, PipelinesCollector).get(PipelineFacts)
    tekton, _argo = facts.pipelines
    assert tekton.platform == "tekton" and tekton.name == "build-and-test"
    test, build = tekton.jobs
    assert [(a.kind, a.tool, a.line) for a in test.actions] == [("test", "go test", 18)]
    assert [(a.kind, a.tool) for a in build.actions] == [("build", "kaniko")]
    (app,) = facts.gitops
    assert (app.name, app.automated, app.target_revision, app.production, app.line) == (
        "billing-production",
        True,
        "main",
        True,
        25,
    )


def test_malformed_binary_and_empty_pipeline_files_are_errors_not_crashes(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".github/workflows/broken.yml": "on: [push\njobs:\n  a: {}\n",
            ".github/workflows/empty.yml": "",
            ".github/workflows/ok.yml": "on: push\njobs:\n  t:\n    steps:\n      - run: go test ./...\n",
            ".gitlab-ci.yml": "- just\n- a list\n",
        },
    )
    (tmp_path / ".github/workflows/blob.yml").write_bytes(b"\x00\x01\x02")
    (tmp_path / "Jenkinsfile").write_bytes(b"pipeline { \xff\xfe }")
    bag = collect(tmp_path, PipelinesCollector)
    facts = bag.get(PipelineFacts)
    assert [p.path for p in facts.pipelines] == [".github/workflows/ok.yml"]
    assert set(facts.failed) == {
        ".github/workflows/blob.yml",
        ".github/workflows/broken.yml",
        ".github/workflows/empty.yml",
        ".gitlab-ci.yml",
        "Jenkinsfile",
    }
    errors = {e.source: e for e in bag.errors if e.collector == "pipelines"}
    assert errors[".github/workflows/broken.yml"].line == 2
    assert "invalid UTF-8" in errors["Jenkinsfile"].reason


def test_classify_command() -> None:
    assert classify_command("kubectl rollout undo deployment/api") == [
        ("rollback", "kubectl", None)
    ]
    assert ("deploy", "kubectl", None) in classify_command("kubectl apply -f k8s/")
    assert classify_command("kubectl rollout status deployment/api") == []
    assert classify_command("npx prisma migrate deploy") == [("migration", "prisma", None)]
    assert classify_command("trivy image --exit-code 1 app:1") == [
        ("security-scan", "trivy", "image")
    ]
    assert classify_command("mvn -B package -DskipTests") == [("build", "maven", "artifact")]
    assert classify_command("echo done") == []
