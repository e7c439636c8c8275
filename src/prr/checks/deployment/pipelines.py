"""CI/CD checks: pipelines on every change, tests, security scans, deploys, permissions.

All decided from the pipeline definitions in the repository (GitHub Actions,
GitLab CI, Jenkins, Tekton, Argo CD, Flux …), never from what a catalog says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prr.checks.registry import CheckContext, check
from prr.collectors.base import MissingFacts
from prr.collectors.dependencies import DependencyFacts, match_migration
from prr.collectors.kubernetes import K8sObject, KubernetesFacts
from prr.collectors.pipelines import (
    Action,
    Job,
    Pipeline,
    PipelineFacts,
    is_non_production,
)
from prr.model.evidence import Evidence, Result, ScanError

CI_ALL = "deployment.ci-cd.ci-pipeline-for-all-services"
TESTS = "deployment.ci-cd.automated-tests-in-pipeline"
SCANS = "deployment.ci-cd.security-scanning-in-pipeline"
CD = "deployment.ci-cd.cd-pipeline-to-production"
PERMS = "deployment.ci-cd.pipeline-permissions-restricted"
MIGRATIONS = "deployment.deployment-strategy.database-migrations-automated"
ROLLBACK = "deployment.rollback.rollback-tested"

PLATFORM_NAMES = {
    "github-actions": "GitHub Actions",
    "gitlab-ci": "GitLab CI",
    "jenkins": "Jenkins",
    "tekton": "Tekton",
    "argocd": "Argo CD",
    "flux": "Flux",
    "circleci": "CircleCI",
    "azure-pipelines": "Azure Pipelines",
    "bitbucket-pipelines": "Bitbucket Pipelines",
    "cloud-build": "Cloud Build",
    "codebuild": "CodeBuild",
    "drone": "Drone",
    "buildkite": "Buildkite",
    "travis": "Travis CI",
}
TEST_COMMANDS = {
    "pypi": "python -m pytest",
    "npm": "npm test",
    "go": "go test ./...",
    "maven": "mvn -B verify",
    "gradle": "./gradlew test",
    "cargo": "cargo test",
    "rubygems": "bundle exec rspec",
    "composer": "vendor/bin/phpunit",
}


# ---------------------------------------------------------------------------
# Helpers shared by the checks


def pipeline_errors(ctx: CheckContext) -> list[ScanError]:
    """Pipeline files that could not be read or parsed."""
    return ctx.facts.errors_for(lambda e: e.collector == "pipelines")


def error_evidence(errors: Iterable[ScanError]) -> list[Evidence]:
    return [Evidence(f"could not read: {e.reason}", e.source, e.line) for e in errors]


def where(errors: list[ScanError]) -> str:
    shown = ", ".join(str(e.source) for e in errors[:5])
    return shown + (f" and {len(errors) - 5} more" if len(errors) > 5 else "")


def action_evidence(pipeline: Pipeline, job: Job, action: Action, what: str) -> Evidence:
    via = f" via {action.via}" if action.via else ""
    return Evidence(
        f"{what}: {action.tool} in job {job.name} ({platform_name(pipeline)}){via}",
        action.path,
        action.line,
    )


def platform_name(pipeline: Pipeline) -> str:
    return PLATFORM_NAMES.get(pipeline.platform, pipeline.platform)


def listed(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _ecosystems(ctx: CheckContext) -> list[str]:
    if ctx.facts.has(DependencyFacts):
        return list(ctx.get(DependencyFacts).ecosystems)
    return []


def _test_command(ctx: CheckContext) -> str:
    commands = [TEST_COMMANDS[e] for e in _ecosystems(ctx) if e in TEST_COMMANDS]
    return " && ".join(commands) or "make test"


def _unknown_for_errors(ctx: CheckContext, item: str, errors: list[ScanError]) -> Result:
    return ctx.unknown(
        item,
        f"Pipeline files could not be read ({where(errors)}); cannot tell what they run.",
        *error_evidence(errors),
    )


def _opaque(pipelines: Iterable[Pipeline]) -> list[str]:
    out: list[str] = []
    for pipeline in pipelines:
        out.extend(f"{pipeline.path}: {o}" for o in pipeline.opaque)
        out.extend(f"{pipeline.path}: {j.opaque}" for j in pipeline.jobs if j.opaque)
    return out


def _ci_snippet(platform: str, body: str) -> str:
    """A step for the platform's pipeline file."""
    if platform == "gitlab-ci":
        return f"# .gitlab-ci.yml\n{body}"
    if platform == "jenkins":
        return f"// Jenkinsfile\n{body}"
    return body


# ---------------------------------------------------------------------------
# CI on every change


@check(
    "deployment.ci-pipeline",
    items=[CI_ALL],
    needs=[PipelineFacts],
    title="A CI pipeline runs on every change and builds every deployable component",
)
def ci_pipeline(ctx: CheckContext) -> Iterator[Result]:
    """A CI pipeline runs on pull requests or every push and builds each Dockerfile's service."""
    facts = ctx.get(PipelineFacts)
    errors = pipeline_errors(ctx)
    ci = facts.ci
    if not ci:
        if errors:
            yield _unknown_for_errors(ctx, CI_ALL, errors)
        return
    on_change = [p for p in ci if p.on_change]
    if not on_change:
        evidence = [
            Evidence(
                f"{PLATFORM_NAMES.get(p.platform, p.platform)} pipeline runs on: "
                f"{', '.join(p.triggers) or 'nothing automatic'}",
                p.path,
                p.trigger_line or p.line,
            )
            for p in ci
        ]
        yield ctx.failed(
            CI_ALL,
            f"No CI pipeline runs on pull requests or on every push: {listed([p.path for p in ci])}"
            " run only on other events, so changes merge unbuilt.",
            *evidence,
            remediation=(
                f"# {ci[0].path}\non:\n  push:\n    branches: [main]\n  pull_request:\n"
                if ci[0].platform == "github-actions"
                else "Trigger the pipeline on every push and on merge/pull requests."
            ),
        )
        return
    uncovered = [c for c in facts.components if not c.built_by and not c.unresolved]
    if uncovered:
        yield ctx.failed(
            CI_ALL,
            f"{len(uncovered)} deployable component(s) are built by no pipeline: "
            f"{listed([c.path for c in uncovered])}.",
            *[
                Evidence("Dockerfile not referenced by any CI pipeline", c.path, 1)
                for c in uncovered
            ],
            remediation=_build_snippet(on_change[0], uncovered[0].path),
        )
        return
    if errors:
        yield _unknown_for_errors(ctx, CI_ALL, errors)
        return
    built = [c for c in facts.components if c.built_by]
    message = f"{len(on_change)} CI pipeline(s) run on every change: " + listed(
        [
            f"{p.path} ({PLATFORM_NAMES.get(p.platform, p.platform)}: {', '.join(p.triggers)})"
            for p in on_change
        ]
    )
    if built:
        message += f"; {len(built)} Dockerfile(s) built by them"
    yield ctx.passed(
        CI_ALL,
        message + ".",
        *[
            Evidence(f"runs on {', '.join(p.triggers)}", p.path, p.trigger_line or p.line)
            for p in on_change
        ],
        *[Evidence(f"built by {listed(list(c.built_by))}", c.path, 1) for c in built],
    )


def _build_snippet(pipeline: Pipeline, dockerfile: str) -> str:
    folder = dockerfile.rsplit("/", 1)[0] if "/" in dockerfile else "."
    name = folder.rsplit("/", 1)[-1] if folder != "." else "app"
    if pipeline.platform == "github-actions":
        return (
            f"# {pipeline.path}, in a job's steps:\n"
            f"- name: Build {name}\n"
            f"  uses: docker/build-push-action@v6\n"
            f"  with:\n    context: {folder}\n    file: {dockerfile}\n    push: false\n"
        )
    if pipeline.platform == "gitlab-ci":
        return (
            f"# {pipeline.path}\nbuild-{name}:\n  stage: build\n  image: docker:27\n"
            f"  services: [docker:27-dind]\n  script:\n"
            f"    - docker build -f {dockerfile}"
            f" -t $CI_REGISTRY_IMAGE/{name}:$CI_COMMIT_SHA {folder}\n"
        )
    return (
        f"Add a build of {dockerfile} (docker build -f {dockerfile} {folder}) to {pipeline.path}."
    )


# ---------------------------------------------------------------------------
# Tests


@check(
    "deployment.ci-tests",
    items=[TESTS],
    needs=[PipelineFacts],
    title="The CI pipeline runs the test suite on every change",
)
def ci_tests(ctx: CheckContext) -> Iterator[Result]:
    """Tests (pytest, go test, npm test, mvn verify …) run in a pipeline triggered by changes."""
    facts = ctx.get(PipelineFacts)
    errors = pipeline_errors(ctx)
    ci = facts.ci
    if not ci:
        if errors:
            yield _unknown_for_errors(ctx, TESTS, errors)
        return
    tests = [(p, j, a) for p in ci for j, a in p.actions("test")]
    on_change = [(p, j, a) for p, j, a in tests if p.on_change]
    if on_change:
        tools = sorted({a.tool for _, _, a in on_change})
        first = on_change[0][2]
        yield ctx.passed(
            TESTS,
            f"Tests run on every change ({', '.join(tools)}), e.g. {first.location}.",
            *[action_evidence(p, j, a, "runs tests") for p, j, a in on_change[:10]],
        )
        return
    if errors:
        yield _unknown_for_errors(ctx, TESTS, errors)
        return
    if tests:
        yield ctx.failed(
            TESTS,
            "Tests run only in pipelines that are not triggered by changes: "
            + listed([f"{a.location} ({', '.join(p.triggers)})" for p, _, a in tests])
            + ".",
            *[action_evidence(p, j, a, "runs tests") for p, j, a in tests[:10]],
            remediation=(
                f"# {tests[0][0].path}\non:\n  pull_request:\n  push:\n    branches: [main]\n"
            ),
        )
        return
    opaque = _opaque(ci)
    if opaque:
        yield ctx.unknown(
            TESTS,
            "No test step found in the pipelines read; they call workflows or templates that "
            f"could not be inspected: {listed(opaque)}.",
            *[Evidence("CI pipeline without a visible test step", p.path, p.line) for p in ci],
        )
        return
    target = ci[0]
    command = _test_command(ctx)
    if target.platform == "github-actions":
        job = target.jobs[0].name if target.jobs else "build"
        snippet = (
            f"# {target.path}, job {job}, after the checkout step:\n"
            f"- name: Test\n  run: {command}\n"
        )
    elif target.platform == "gitlab-ci":
        snippet = f"# {target.path}\ntest:\n  stage: test\n  script:\n    - {command}\n"
    elif target.platform == "jenkins":
        snippet = f"// {target.path}\nstage('Test') {{\n  steps {{\n    sh '{command}'\n  }}\n}}\n"
    else:
        snippet = f"Add a test step running `{command}` to {target.path}."
    yield ctx.failed(
        TESTS,
        f"No CI pipeline runs tests: {listed([p.path for p in ci])} "
        "build or deploy without a test step.",
        *[Evidence("CI pipeline without a test step", p.path, p.line) for p in ci],
        remediation=snippet,
    )


# ---------------------------------------------------------------------------
# Security scanning

SCAN_KINDS = {
    "dependency": "dependency",
    "image": "container image",
    "static": "static code (SAST)",
    "secret": "secret",
}
SCAN_SNIPPETS = {
    "github-actions": {
        "dependency": (
            "- uses: google/osv-scanner-action/osv-scanner-action@v2\n"
            "  with:\n    scan-args: -r ./\n"
        ),
        "image": (
            "- uses: aquasecurity/trivy-action@0.28.0\n  with:\n"
            "    image-ref: ${{ env.IMAGE }}\n    severity: CRITICAL,HIGH\n    exit-code: '1'\n"
        ),
        "static": "- uses: github/codeql-action/init@v3\n- uses: github/codeql-action/analyze@v3\n",
        "secret": (
            "- uses: gitleaks/gitleaks-action@v2\n"
            "  env:\n    GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n"
        ),
    },
    "gitlab-ci": {
        "dependency": "include:\n  - template: Jobs/Dependency-Scanning.gitlab-ci.yml\n",
        "image": "include:\n  - template: Jobs/Container-Scanning.gitlab-ci.yml\n",
        "static": "include:\n  - template: Jobs/SAST.gitlab-ci.yml\n",
        "secret": "include:\n  - template: Jobs/Secret-Detection.gitlab-ci.yml\n",
    },
    "jenkins": {
        "dependency": "sh 'osv-scanner -r .'",
        "image": "sh 'trivy image --exit-code 1 --severity CRITICAL,HIGH $IMAGE'",
        "static": "sh 'semgrep scan --error --config auto'",
        "secret": "sh 'gitleaks detect --redact'",
    },
}


def _scan_snippet(pipeline: Pipeline, missing: list[str]) -> str:
    snippets = SCAN_SNIPPETS.get(pipeline.platform)
    if snippets is None:
        commands = {
            "dependency": "osv-scanner -r .",
            "image": "trivy image --exit-code 1 --severity CRITICAL,HIGH $IMAGE",
            "static": "semgrep scan --error --config auto",
            "secret": "gitleaks detect --redact",
        }
        return f"Add to {pipeline.path}: " + "; ".join(commands[m] for m in missing)
    header = f"# {pipeline.path}\n" if pipeline.platform != "jenkins" else f"// {pipeline.path}\n"
    return header + "\n".join(snippets[m] for m in missing)


@check(
    "deployment.ci-security-scanning",
    items=[SCANS],
    needs=[PipelineFacts],
    title="The pipeline runs dependency, image, static and secret scans",
)
def ci_security_scanning(ctx: CheckContext) -> Iterator[Result]:
    """Dependency, static and secret scans run in CI; an image scan too when images are built."""
    facts = ctx.get(PipelineFacts)
    errors = pipeline_errors(ctx)
    ci = facts.ci
    if not ci:
        if errors:
            yield _unknown_for_errors(ctx, SCANS, errors)
        return
    scans = [(p, j, a) for p in ci for j, a in p.actions("security-scan") if a.category]
    present = {a.category for _, _, a in scans if a.category}
    builds_images = bool(facts.components) or any(
        a.category == "image" for _, _, a in facts.actions("build")
    )
    required = ["dependency", "static", "secret"] + (["image"] if builds_images else [])
    missing = [kind for kind in required if kind not in present]
    evidence = [action_evidence(p, j, a, f"{a.category} scan") for p, j, a in scans[:10]]
    if not missing:
        yield ctx.passed(
            SCANS,
            "The pipelines scan "
            + ", ".join(SCAN_KINDS[k] for k in required)
            + f" ({', '.join(sorted({a.tool for _, _, a in scans}))}).",
            *evidence,
        )
        return
    if errors:
        yield _unknown_for_errors(ctx, SCANS, errors)
        return
    opaque = _opaque(ci)
    if not scans and opaque:
        yield ctx.unknown(
            SCANS,
            "No security scan found in the pipelines read; they call workflows or templates "
            f"that could not be inspected: {listed(opaque)}.",
        )
        return
    found = ", ".join(sorted(SCAN_KINDS.get(k, k) for k in present)) or "none"
    target = next((p for p in ci if p.on_change), ci[0])
    yield ctx.failed(
        SCANS,
        f"No {', '.join(SCAN_KINDS[m] for m in missing)} scan runs in CI (scans found: {found}).",
        *(evidence or [Evidence("CI pipeline without security scans", p.path, p.line) for p in ci]),
        remediation=_scan_snippet(target, missing),
    )


# ---------------------------------------------------------------------------
# Continuous delivery to production


@check(
    "deployment.cd-to-production",
    items=[CD],
    needs=[PipelineFacts],
    title="Production is deployed by a pipeline or a GitOps controller",
)
def cd_to_production(ctx: CheckContext) -> Iterator[Result]:
    """A pipeline job or GitOps application deploys to an environment named production."""
    facts = ctx.get(PipelineFacts)
    errors = pipeline_errors(ctx)
    deploys = [(p, j, a) for p in facts.ci for j, a in p.actions("deploy")]
    apps = facts.gitops
    prod_deploys = [(p, j, a) for p, j, a in deploys if a.production or j.production]
    prod_apps = [a for a in apps if a.production]
    if prod_deploys or prod_apps:
        evidence = [
            action_evidence(p, j, a, f"deploys to {a.target or j.environment or 'production'}")
            for p, j, a in prod_deploys[:10]
        ]
        evidence += [
            Evidence(
                f"{a.kind} {a.name} ({'automated' if a.automated else 'manual'} sync)"
                + (f" → {a.destination}" if a.destination else ""),
                a.path,
                a.line,
            )
            for a in prod_apps
        ]
        parts = []
        if prod_deploys:
            parts.append(
                "pipeline job(s) "
                + listed(sorted({f"{j.name} ({a.location})" for _, j, a in prod_deploys}))
            )
        if prod_apps:
            parts.append(
                "GitOps application(s) "
                + listed([f"{a.name} ({a.path}:{a.line})" for a in prod_apps])
            )
        yield ctx.passed(CD, "Production is deployed by " + " and ".join(parts) + ".", *evidence)
        return
    if not deploys and not apps:
        if errors:
            yield _unknown_for_errors(ctx, CD, errors)
        return
    if errors:
        yield _unknown_for_errors(ctx, CD, errors)
        return
    targets = [a.target or j.environment for _, j, a in deploys] + [
        a.destination or a.name for a in apps
    ]
    evidence = [
        action_evidence(p, j, a, f"deploys to {a.target or j.environment or 'an unnamed target'}")
        for p, j, a in deploys[:10]
    ]
    evidence += [Evidence(f"{a.kind} {a.name}", a.path, a.line) for a in apps]
    if targets and all(is_non_production(t) for t in targets):
        shown = sorted({str(t) for t in targets})
        pipeline = deploys[0][0] if deploys else None
        snippet = (
            f"# {pipeline.path}\n  deploy-production:\n    needs: [{deploys[0][1].name}]\n"
            "    environment: production\n    runs-on: ubuntu-latest\n    steps:\n"
            f"      - run: <the same deploy command as {deploys[0][1].name}, for production>\n"
            if pipeline is not None and pipeline.platform == "github-actions"
            else "Add a production deployment stage (or Argo CD Application) after staging."
        )
        yield ctx.failed(
            CD,
            f"Pipelines deploy only to non-production environments ({', '.join(shown)}); "
            "nothing in the repository deploys production.",
            *evidence,
            remediation=snippet,
        )
        return
    yield ctx.unknown(
        CD,
        "Deploy steps were found but none names a production target: "
        + listed([f"{j.name} ({a.location})" for _, j, a in deploys] + [a.name for a in apps])
        + ". Name the environment (e.g. `environment: production`) so it can be verified.",
        *evidence,
    )


# ---------------------------------------------------------------------------
# Pipeline permissions


@check(
    "deployment.pipeline-permissions",
    items=[PERMS],
    needs=[PipelineFacts],
    title="Pipeline tokens are least-privilege and production deploys need approval",
)
def pipeline_permissions(ctx: CheckContext) -> Iterator[Result]:
    """GitHub workflows set read-only token permissions; production deploys are gated."""
    facts = ctx.get(PipelineFacts)
    errors = pipeline_errors(ctx)
    github = [p for p in facts.ci if p.platform == "github-actions"]
    prod_jobs = [(p, j) for p in facts.ci for j in p.jobs if j.production and j.deploys]
    if not github and not prod_jobs:
        if errors:
            yield _unknown_for_errors(ctx, PERMS, errors)
        return
    problems: list[Evidence] = []
    fixes: list[str] = []
    good: list[Evidence] = []
    for pipeline in github:
        grants = list(pipeline.permissions or ())
        for job in pipeline.jobs:
            grants.extend(job.permissions or ())
        for grant in grants:
            if grant.level == "write-all":
                problems.append(Evidence("permissions: write-all", pipeline.path, grant.line))
        unset = [j for j in pipeline.jobs if j.permissions is None and not j.opaque]
        if pipeline.permissions is None and unset:
            problems.append(
                Evidence(
                    "no top-level permissions: the token gets the repository default "
                    f"(jobs {listed([j.name for j in unset], 3)})",
                    pipeline.path,
                    1,
                )
            )
            fixes.append(f"# {pipeline.path}, at the top level:\npermissions:\n  contents: read\n")
        elif pipeline.permissions is not None and not any(
            g.level == "write-all" for g in pipeline.permissions
        ):
            good.append(
                Evidence(
                    "permissions: " + ", ".join(g.text for g in pipeline.permissions),
                    pipeline.path,
                    pipeline.permissions_line or 1,
                )
            )
        for text, line in pipeline.risks:
            problems.append(Evidence(text, pipeline.path, line))
        for job in pipeline.jobs:
            for cred in job.credentials:
                problems.append(
                    Evidence(
                        f"job {job.name} uses a long-lived {cred.provider.upper()} key from CI "
                        f"secrets ({cred.name})",
                        pipeline.path,
                        cred.line,
                    )
                )
                if cred.provider == "aws":
                    fixes.append(
                        f"# {pipeline.path}, job {job.name}: use OIDC instead of stored keys\n"
                        "permissions:\n  id-token: write\n  contents: read\nsteps:\n"
                        "  - uses: aws-actions/configure-aws-credentials@v4\n    with:\n"
                        "      role-to-assume: arn:aws:iam::<account>:role/<deploy-role>\n"
                        "      aws-region: <region>\n"
                    )
    for pipeline, job in prod_jobs:
        if job.approval is None:
            problems.append(
                Evidence(
                    f"job {job.name} deploys to production without an environment or approval",
                    job.path,
                    job.line,
                )
            )
            if pipeline.platform == "github-actions":
                fixes.append(
                    f"# {pipeline.path}, job {job.name} (add required reviewers to the "
                    "environment in the repository settings):\nenvironment: production\n"
                )
            elif pipeline.platform == "gitlab-ci":
                fixes.append(
                    f"# {pipeline.path}\n{job.name}:\n  environment:\n    name: production\n"
                    "  when: manual\n"
                )
            elif pipeline.platform == "jenkins":
                fixes.append(
                    f"// {pipeline.path}, stage '{job.name}'\n"
                    "input message: 'Deploy to production?', "
                    "submitter: 'release-managers'\n"
                )
        else:
            good.append(
                Evidence(
                    f"job {job.name} deploys to production behind {job.approval}"
                    + (f" ({job.environment})" if job.environment else ""),
                    job.path,
                    job.environment_line or job.line,
                )
            )
    if problems:
        yield ctx.failed(
            PERMS,
            f"{len(problems)} pipeline permission problem(s): "
            + listed([f"{e.summary} ({e.location})" for e in problems], 3)
            + ".",
            *problems,
            remediation="\n".join(dict.fromkeys(fixes)) or None,
        )
        return
    if errors:
        yield _unknown_for_errors(ctx, PERMS, errors)
        return
    parts = []
    if github:
        parts.append(f"{len(github)} GitHub workflow(s) set token permissions without write-all")
    if prod_jobs:
        parts.append(f"{len(prod_jobs)} production deploy job(s) are gated by approval")
    yield ctx.passed(PERMS, "; ".join(parts) + ".", *good)


# ---------------------------------------------------------------------------
# Database migrations

MIGRATION_COMMANDS = {
    "alembic": "alembic upgrade head",
    "flask-migrate": "flask db upgrade",
    "django": "python manage.py migrate --noinput",
    "flyway": "flyway migrate",
    "liquibase": "liquibase update",
    "prisma": "npx prisma migrate deploy",
    "rails": "bin/rails db:migrate",
    "goose": 'goose -dir <migrations dir> postgres "$DATABASE_URL" up',
    "golang-migrate": 'migrate -path <migrations dir> -database "$DATABASE_URL" up',
    "dbmate": "dbmate up",
    "knex": "npx knex migrate:latest",
    "sequelize": "npx sequelize-cli db:migrate",
    "laravel": "php artisan migrate --force",
    "ecto": "mix ecto.migrate",
    "ef-core": "dotnet ef database update",
    "sqitch": "sqitch deploy",
    "atlas": "atlas migrate apply",
    "prr": "prr db upgrade",
}


@dataclass(frozen=True)
class _Applied:
    """A place that applies migrations when the service is deployed."""

    tool: str
    path: str
    line: int | None
    where: str

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


_DEPLOY_JOB = re.compile(r"deploy|release|migrat|promot|rollout|publish|ship", re.IGNORECASE)
_HOOKS = (
    ("argocd.argoproj.io/hook", "Argo CD {} hook"),
    ("helm.sh/hook", "Helm {} hook"),
)


def _deploy_time(job: Job, action: Action) -> bool:
    """Whether a CI step belongs to a deployment rather than to a test job."""
    named = f"{job.name} {job.stage or ''}"
    return bool(
        job.deploys
        or job.environment
        or action.target
        or action.production
        or _DEPLOY_JOB.search(named)
    )


def _words(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int | float)]
    return [value] if isinstance(value, str) else []


def _program(image: object) -> str:
    """The program an image runs by default, guessed from its name (``flyway/flyway:10`` →
    ``flyway``), for containers that give only ``args``."""
    if not isinstance(image, str):
        return ""
    name = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return name.split(":", 1)[0]


def kubernetes_migrations(kube: KubernetesFacts) -> list[_Applied]:
    """Containers of Jobs, deploy hooks and workloads whose command applies migrations."""
    found: dict[tuple[str, int | None], _Applied] = {}
    for obj in kube.objects:
        if obj.kind not in {"Job", "Pod", "Deployment", "StatefulSet", "DaemonSet", "Rollout"}:
            continue  # a CronJob runs on a schedule, not when deploying
        hook = next(
            (label.format(obj.annotations[key]) for key, label in _HOOKS if key in obj.annotations),
            None,
        )
        for init in (True, False):
            for container in obj.containers(init=init):
                command = _words(container.get("command")) or [_program(container.get("image"))]
                line = " ".join([*command, *_words(container.get("args"))])
                tool = match_migration(line)
                if tool is None:
                    continue
                name = str(container.get("name") or "")
                key = next((k for k in ("args", "command") if k in container), "image")
                path, number = obj.locate_container(name, key, init=init)
                where = _k8s_place(obj, name, init, hook)
                found.setdefault((path, number), _Applied(tool, path, number, where))
    return sorted(found.values(), key=lambda a: (a.path, a.line or 0))


def _k8s_place(obj: K8sObject, container: str, init: bool, hook: str | None) -> str:
    owner = f"{obj.kind} {obj.source_name}"
    if hook:
        return f"{owner}, {hook}"
    if init:
        return f"init container {container} of {owner}, before the pods start"
    if obj.kind in {"Job", "Pod"}:
        return f"{owner}, applied with the release"
    return f"container {container} of {owner}, at start"


def _kubernetes(ctx: CheckContext) -> tuple[KubernetesFacts | None, str | None]:
    """The Kubernetes facts if collected, else None and why they are missing (if they failed)."""
    try:
        return ctx.get(KubernetesFacts), None
    except MissingFacts as exc:
        return None, exc.reason if exc.failed else None


@check(
    "deployment.migrations-automated",
    items=[MIGRATIONS],
    needs=[PipelineFacts, DependencyFacts],
    title="Database migrations are applied by the deployment",
)
def migrations_automated(ctx: CheckContext) -> Iterator[Result]:
    """A pipeline deploy step, a deploy hook or Job, or an entrypoint applies the migrations.

    Migrations run only by a test job (against a throwaway database) do not count:
    nothing then applies them to the environments the service is deployed to.
    """
    pipelines = ctx.get(PipelineFacts)
    deps = ctx.get(DependencyFacts)
    kube, kube_failed = _kubernetes(ctx)
    tools = deps.migration_tools
    steps = list(pipelines.actions("migration"))
    deploy_steps = [(p, j, a) for p, j, a in steps if _deploy_time(j, a)]
    test_steps = [(p, j, a) for p, j, a in steps if not _deploy_time(j, a)]
    applied = kubernetes_migrations(kube) if kube is not None else []
    seen = {a.path for a in applied}
    applied += [
        _Applied(r.tool, r.path, r.line, r.where) for r in deps.migration_runs if r.path not in seen
    ]
    if not tools and not steps and not applied:
        return
    tool_evidence = [
        Evidence(f"{t.tool} migrations ({t.migrations} file(s))", t.path, t.line) for t in tools
    ]
    if deploy_steps or applied:
        evidence = [
            action_evidence(p, j, a, "applies migrations when deploying")
            for p, j, a in deploy_steps[:10]
        ]
        evidence += [
            Evidence(f"{a.tool} migrations applied ({a.where})", a.path, a.line) for a in applied
        ]
        places = [f"{a.location} ({a.tool}, job {j.name})" for _, j, a in deploy_steps] + [
            f"{a.location} ({a.tool}, {a.where})" for a in applied
        ]
        yield ctx.passed(
            MIGRATIONS,
            f"Migrations are applied automatically: {listed(places)}.",
            *evidence[:10],
            *tool_evidence,
        )
        return
    errors = pipeline_errors(ctx)
    if errors:
        yield _unknown_for_errors(ctx, MIGRATIONS, errors)
        return
    unreadable = kube.unreadable_for(["Job", "Pod", "Deployment", "StatefulSet"]) if kube else []
    if kube_failed or unreadable:
        reason = kube_failed or listed([str(u) for u in unreadable], 3)
        yield ctx.unknown(
            MIGRATIONS,
            f"Kubernetes manifests could not be read ({reason}); a migration Job or hook "
            "there cannot be ruled out.",
            *tool_evidence,
            *(Evidence(f"could not read: {u.reason}", u.path, u.line) for u in unreadable[:5]),
        )
        return
    tool_names = sorted({t.tool for t in tools} | {a.tool for _, _, a in test_steps})
    test_evidence = [
        action_evidence(p, j, a, "applies migrations in a test job") for p, j, a in test_steps[:5]
    ]
    message = (
        f"{', '.join(sorted({t.tool for t in tools}))} migrations exist ("
        + listed([t.path for t in tools])
        + ") but no pipeline deploy step, deploy hook or entrypoint applies them"
        if tools
        else f"{', '.join(tool_names)} migrations are applied by no deploy step, deploy hook "
        "or entrypoint"
    )
    if test_steps:
        message += " (only test jobs run them: " + listed(
            [f"{a.location}, job {j.name}" for _, j, a in test_steps], 3
        )
        message += ")"
    yield ctx.failed(
        MIGRATIONS,
        message + ".",
        *tool_evidence,
        *test_evidence,
        remediation=_migration_snippet(pipelines, tool_names[0]),
    )


def _migration_snippet(pipelines: PipelineFacts, tool: str) -> str:
    """Where and how to apply migrations: the deploy job of the pipeline, else a Helm hook."""
    command = MIGRATION_COMMANDS.get(tool, f"<{tool} migrate command>")
    deploying = [(p, j) for p in pipelines.ci for j in p.jobs if j.deploys]
    if deploying and deploying[0][0].platform == "github-actions":
        pipeline, job = deploying[0]
        return (
            f"# {pipeline.path}, job {job.name}, before the deploy step:\n"
            f"- name: Apply database migrations\n  run: {command}\n"
            "  env:\n    DATABASE_URL: ${{ secrets.DATABASE_URL }}\n"
        )
    if deploying and deploying[0][0].platform == "gitlab-ci":
        pipeline, job = deploying[0]
        return f"# {pipeline.path}\nmigrate:\n  stage: deploy\n  script:\n    - {command}\n"
    return (
        "# a Helm pre-upgrade hook (templates/migrate-job.yaml)\napiVersion: batch/v1\n"
        "kind: Job\nmetadata:\n  name: migrate\n  annotations:\n"
        '    "helm.sh/hook": pre-install,pre-upgrade\nspec:\n  template:\n    spec:\n'
        "      restartPolicy: Never\n      containers:\n        - name: migrate\n"
        f'          image: <app image>\n          command: ["sh", "-c", "{command}"]\n'
    )


# ---------------------------------------------------------------------------
# Rollback


@check(
    "deployment.rollback-in-pipeline",
    items=[ROLLBACK],
    needs=[PipelineFacts],
    title="A pipeline exercises the rollback",
)
def rollback_in_pipeline(ctx: CheckContext) -> Iterator[Result]:
    """A rollback job exists; it counts as tested only when a schedule runs it."""
    facts = ctx.get(PipelineFacts)
    rollbacks = [(p, j, a) for p in facts.ci for j, a in p.actions("rollback")]
    if not rollbacks:
        return
    evidence = [action_evidence(p, j, a, "rolls back") for p, j, a in rollbacks[:10]]
    drills = [
        (p, j, a) for p, j, a in rollbacks if "schedule" in p.triggers and not j.manual_trigger
    ]
    if drills:
        yield ctx.passed(
            ROLLBACK,
            "A scheduled pipeline runs the rollback: "
            + listed([f"{j.name} ({a.location})" for _, j, a in drills])
            + ".",
            *evidence,
        )
        return
    yield ctx.unknown(
        ROLLBACK,
        "A rollback job exists ("
        + listed([f"{j.name}, {a.location}" for _, j, a in rollbacks])
        + ") but nothing in the repository shows when it last ran; record the date of the "
        "last rollback test.",
        *evidence,
    )
