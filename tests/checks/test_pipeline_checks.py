"""The CI/CD checks over real pipeline files: pass, fail, unknown and no opinion."""

from __future__ import annotations

from pathlib import Path

from prr.collectors.dependencies import DependenciesCollector
from prr.collectors.kubernetes import KubernetesCollector
from prr.collectors.pipelines import PipelinesCollector
from prr.model.evidence import Status
from tests.collectors.test_pipelines import GITHUB_CI, GITHUB_DEPLOY, JENKINSFILE, MAKEFILE, write
from tests.helpers import by_item, collect, run_check

CI_ALL = "deployment.ci-cd.ci-pipeline-for-all-services"
TESTS = "deployment.ci-cd.automated-tests-in-pipeline"
SCANS = "deployment.ci-cd.security-scanning-in-pipeline"
CD = "deployment.ci-cd.cd-pipeline-to-production"
PERMS = "deployment.ci-cd.pipeline-permissions-restricted"
MIGRATIONS = "deployment.deployment-strategy.database-migrations-automated"
ROLLBACK = "deployment.rollback.rollback-tested"


def run(root: Path, check_id: str, item: str):  # type: ignore[no-untyped-def]
    facts = collect(root, PipelinesCollector, DependenciesCollector)
    return by_item(run_check(check_id, facts)).get(item)


GOOD_DEPLOY = (
    GITHUB_DEPLOY.replace("    permissions: write-all\n", "")
    .replace("    env:\n      AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n", "")
    .replace("name: Deploy\non:", "name: Deploy\npermissions:\n  contents: read\non:")
)

ONLY_MANUAL = """
on: workflow_dispatch
permissions: read-all
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: docker build -t app .
"""


def test_ci_pipeline_passes_fails_and_unknown(tmp_path: Path) -> None:
    good = write(
        tmp_path / "good",
        {
            ".github/workflows/ci.yml": GITHUB_CI,
            "Makefile": MAKEFILE,
            "services/api/Dockerfile": "FROM python:3.12\n",
        },
    )
    result = run(good, "deployment.ci-pipeline", CI_ALL)
    assert result.status is Status.PASS
    assert result.evidence[0].path == ".github/workflows/ci.yml" and result.evidence[0].line == 2

    manual = write(tmp_path / "manual", {".github/workflows/build.yml": ONLY_MANUAL})
    result = run(manual, "deployment.ci-pipeline", CI_ALL)
    assert result.status is Status.FAIL and "pull_request:" in result.remediation

    uncovered = write(
        tmp_path / "uncovered",
        {
            ".github/workflows/ci.yml": GITHUB_CI,
            "Makefile": MAKEFILE,
            "services/api/Dockerfile": "FROM python:3.12\n",
            "services/worker/Dockerfile": "FROM python:3.12\n",
        },
    )
    result = run(uncovered, "deployment.ci-pipeline", CI_ALL)
    assert result.status is Status.FAIL
    assert "services/worker/Dockerfile" in result.message
    assert "context: services/worker" in result.remediation

    broken = write(tmp_path / "broken", {".github/workflows/ci.yml": "on: [push\n"})
    result = run(broken, "deployment.ci-pipeline", CI_ALL)
    assert result.status is Status.UNKNOWN and result.evidence[0].line == 2

    assert (
        run(write(tmp_path / "none", {"README.md": "# x\n"}), "deployment.ci-pipeline", CI_ALL)
        is None
    )


def test_tests_in_pipeline(tmp_path: Path) -> None:
    good = write(tmp_path / "good", {".github/workflows/ci.yml": GITHUB_CI, "Makefile": MAKEFILE})
    result = run(good, "deployment.ci-tests", TESTS)
    assert result.status is Status.PASS
    assert any("via Makefile:6" in e.summary for e in result.evidence)

    no_tests = write(
        tmp_path / "none",
        {
            ".github/workflows/ci.yml": GITHUB_CI.replace("make test", "echo skip"),
            "requirements.txt": "flask==3.0.3\n",
        },
    )
    result = run(no_tests, "deployment.ci-tests", TESTS)
    assert result.status is Status.FAIL
    assert "run: python -m pytest" in result.remediation

    reusable = write(
        tmp_path / "reusable",
        {
            ".github/workflows/ci.yml": (
                "on: [pull_request]\njobs:\n  ci:\n"
                "    uses: acme/platform/.github/workflows/python.yml@v3\n"
            )
        },
    )
    result = run(reusable, "deployment.ci-tests", TESTS)
    assert result.status is Status.UNKNOWN and "acme/platform" in result.message


def test_security_scanning(tmp_path: Path) -> None:
    full = GITHUB_CI.replace(
        "          scan-type: fs\n",
        "          scan-type: fs\n      - run: trivy image --exit-code 1 app:latest\n",
    )
    good = write(tmp_path / "good", {".github/workflows/ci.yml": full, "Makefile": MAKEFILE})
    result = run(good, "deployment.ci-security-scanning", SCANS)
    assert result.status is Status.PASS

    partial = write(tmp_path / "partial", {".github/workflows/ci.yml": GITHUB_CI})
    result = run(partial, "deployment.ci-security-scanning", SCANS)
    assert result.status is Status.FAIL
    assert "container image" in result.message
    assert "aquasecurity/trivy-action" in result.remediation

    gitlab = write(
        tmp_path / "gitlab", {".gitlab-ci.yml": "test:\n  script:\n    - go test ./...\n"}
    )
    result = run(gitlab, "deployment.ci-security-scanning", SCANS)
    assert result.status is Status.FAIL
    assert "template: Jobs/SAST.gitlab-ci.yml" in result.remediation


def test_cd_to_production(tmp_path: Path) -> None:
    good = write(tmp_path / "good", {".github/workflows/deploy.yml": GITHUB_DEPLOY})
    result = run(good, "deployment.cd-to-production", CD)
    assert result.status is Status.PASS
    assert any(e.line == 23 for e in result.evidence)

    staging_only = write(
        tmp_path / "staging",
        {
            ".github/workflows/deploy.yml": (
                "on: push\njobs:\n  deploy:\n    environment: staging\n    steps:\n"
                "      - run: kubectl apply -k k8s/overlays/staging\n"
            )
        },
    )
    result = run(staging_only, "deployment.cd-to-production", CD)
    assert result.status is Status.FAIL and "environment: production" in result.remediation

    unnamed = write(
        tmp_path / "unnamed",
        {
            ".github/workflows/deploy.yml": "on: push\njobs:\n  d:\n    steps:\n      - run: kubectl apply -f k8s/\n"
        },
    )
    assert run(unnamed, "deployment.cd-to-production", CD).status is Status.UNKNOWN

    assert (
        run(
            write(tmp_path / "ci", {".github/workflows/ci.yml": GITHUB_CI}),
            "deployment.cd-to-production",
            CD,
        )
        is None
    )


def test_pipeline_permissions(tmp_path: Path) -> None:
    good = write(
        tmp_path / "good",
        {".github/workflows/ci.yml": GITHUB_CI, ".github/workflows/deploy.yml": GOOD_DEPLOY},
    )
    result = run(good, "deployment.pipeline-permissions", PERMS)
    assert result.status is Status.PASS, result.message

    bad = write(tmp_path / "bad", {".github/workflows/deploy.yml": GITHUB_DEPLOY})
    result = run(bad, "deployment.pipeline-permissions", PERMS)
    assert result.status is Status.FAIL
    summaries = " | ".join(e.summary for e in result.evidence)
    assert (
        "write-all" in summaries and "AWS" in summaries and "no top-level permissions" in summaries
    )
    assert "id-token: write" in result.remediation and "contents: read" in result.remediation

    jenkins = write(
        tmp_path / "jenkins",
        {"Jenkinsfile": JENKINSFILE.replace("input message: 'Deploy to production?'", "echo ok")},
    )
    result = run(jenkins, "deployment.pipeline-permissions", PERMS)
    assert result.status is Status.FAIL and "input message" in result.remediation
    assert (
        run(
            write(tmp_path / "j2", {"Jenkinsfile": JENKINSFILE}),
            "deployment.pipeline-permissions",
            PERMS,
        ).status
        is Status.PASS
    )

    broken = write(
        tmp_path / "broken",
        {".github/workflows/ci.yml": GITHUB_CI, ".github/workflows/x.yml": "jobs: [\n"},
    )
    assert run(broken, "deployment.pipeline-permissions", PERMS).status is Status.UNKNOWN


def test_migrations_automated(tmp_path: Path) -> None:
    files = {
        "alembic.ini": "[alembic]\nscript_location = migrations\n",
        "migrations/versions/1_a.py": "",
    }
    good = write(tmp_path / "good", {**files, ".github/workflows/deploy.yml": GITHUB_DEPLOY})
    result = run(good, "deployment.migrations-automated", MIGRATIONS)
    assert result.status is Status.PASS and any(e.line == 21 for e in result.evidence)

    bad = write(
        tmp_path / "bad",
        {
            **files,
            ".github/workflows/deploy.yml": GITHUB_DEPLOY.replace("alembic upgrade head", "echo"),
        },
    )
    result = run(bad, "deployment.migrations-automated", MIGRATIONS)
    assert result.status is Status.FAIL and "alembic upgrade head" in result.remediation

    hook = write(
        tmp_path / "hook",
        {**files, "Procfile": "release: alembic upgrade head\nweb: gunicorn app:app\n"},
    )
    assert run(hook, "deployment.migrations-automated", MIGRATIONS).status is Status.PASS

    broken = write(tmp_path / "broken", {**files, ".gitlab-ci.yml": "deploy: [\n"})
    assert run(broken, "deployment.migrations-automated", MIGRATIONS).status is Status.UNKNOWN
    assert (
        run(
            write(tmp_path / "none", {".github/workflows/ci.yml": GITHUB_CI}),
            "deployment.migrations-automated",
            MIGRATIONS,
        )
        is None
    )


MIGRATE_JOB = """
# Schema migrations run once per rollout, before the new pods start.
apiVersion: batch/v1
kind: Job
metadata:
  name: shop-migrate
  annotations:
    argocd.argoproj.io/hook: PreSync
    argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: registry.example.com/platform/prr:1.4.2
          args: ["db", "upgrade"]
          env:
            - name: PRR_DATABASE_URL
              valueFrom: {secretKeyRef: {name: shop, key: database-url}}
"""


def kube_run(root: Path):  # type: ignore[no-untyped-def]
    facts = collect(root, PipelinesCollector, DependenciesCollector, KubernetesCollector)
    return by_item(run_check("deployment.migrations-automated", facts)).get(MIGRATIONS)


def test_migrations_run_by_kubernetes_jobs_and_hooks(tmp_path: Path) -> None:
    # An Argo CD PreSync Job that gives only args: the image's program applies them.
    result = kube_run(write(tmp_path / "argo", {"k8s/migrate-job.yaml": MIGRATE_JOB}))
    assert result.status is Status.PASS
    assert "k8s/migrate-job.yaml:17 (prr, Job shop-migrate, Argo CD PreSync hook)" in result.message

    flyway = MIGRATE_JOB.replace("argocd.argoproj.io/hook: PreSync", '"helm.sh/hook": pre-upgrade')
    flyway = flyway.replace("registry.example.com/platform/prr:1.4.2", "flyway/flyway:10")
    flyway = flyway.replace(
        'args: ["db", "upgrade"]', 'args: ["-locations=filesystem:/sql", "migrate"]'
    )
    result = kube_run(
        write(tmp_path / "helm", {"db/V1__init.sql": "CREATE TABLE a();\n", "k8s/job.yaml": flyway})
    )
    assert result.status is Status.PASS and "(flyway, Job shop-migrate, Helm pre-upgrade hook)" in (
        result.message
    )

    init = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: shop}
    spec:
      selector: {matchLabels: {app: shop}}
      template:
        metadata: {labels: {app: shop}}
        spec:
          initContainers:
            - name: migrate
              image: shop:1.0
              command: ["sh", "-c", "alembic upgrade head"]
          containers:
            - name: app
              image: shop:1.0
    """
    result = kube_run(write(tmp_path / "init", {"k8s/deployment.yaml": init}))
    assert result.status is Status.PASS and "init container migrate of Deployment shop" in (
        result.message
    )


def test_migrations_only_tests_or_schedules_apply_do_not_count(tmp_path: Path) -> None:
    files = {
        "alembic.ini": "[alembic]\nscript_location = migrations\n",
        "migrations/versions/1_a.py": "",
    }
    cron = MIGRATE_JOB.replace("kind: Job", "kind: CronJob").replace(
        "spec:\n  backoffLimit: 2\n  template:",
        "spec:\n  schedule: '0 3 * * *'\n  jobTemplate:\n   spec:\n    template:",
    )
    result = kube_run(write(tmp_path / "cron", {**files, "k8s/cron.yaml": cron}))
    assert result is not None and result.status is Status.FAIL

    tests_only = """
    on: [pull_request]
    jobs:
      test:
        runs-on: ubuntu-latest
        services:
          postgres: {image: "postgres:16"}
        steps:
          - run: alembic upgrade head
          - run: pytest
    """
    result = kube_run(write(tmp_path / "ci", {**files, ".github/workflows/ci.yml": tests_only}))
    assert result.status is Status.FAIL
    assert "only test jobs run them: .github/workflows/ci.yml:8, job test" in result.message

    # A Job manifest that cannot be read might be the one applying them: unknown, never pass.
    broken = MIGRATE_JOB.replace("  backoffLimit: 2\n", "  backoffLimit: [2\n")
    result = kube_run(write(tmp_path / "broken", {**files, "k8s/migrate-job.yaml": broken}))
    assert result.status is Status.UNKNOWN and "k8s/migrate-job.yaml" in result.message


def test_rollback_job(tmp_path: Path) -> None:
    manual = write(tmp_path / "manual", {".github/workflows/deploy.yml": GITHUB_DEPLOY})
    result = run(manual, "deployment.rollback-in-pipeline", ROLLBACK)
    assert result.status is Status.UNKNOWN and "rollback" in result.message

    drill = write(
        tmp_path / "drill",
        {
            ".github/workflows/drill.yml": (
                "on:\n  schedule:\n    - cron: '0 6 * * 1'\njobs:\n  rollback-drill:\n"
                "    environment: staging\n    steps:\n      - run: helm upgrade --install api ./chart -n staging\n"
                "      - run: helm rollback api -n staging\n"
            )
        },
    )
    result = run(drill, "deployment.rollback-in-pipeline", ROLLBACK)
    assert result.status is Status.PASS and result.evidence[0].line == 9
    assert (
        run(
            write(tmp_path / "none", {".github/workflows/ci.yml": GITHUB_CI}),
            "deployment.rollback-in-pipeline",
            ROLLBACK,
        )
        is None
    )
