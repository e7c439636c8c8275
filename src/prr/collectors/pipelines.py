"""CI/CD pipelines: what they run, where they deploy, who approves, what they may do.

Reads GitHub Actions workflows, GitLab CI (with local includes, ``extends`` and
the security templates), declarative Jenkinsfiles, Tekton pipelines, Argo CD
applications and Flux objects, and the other common CI files (CircleCI, Azure
Pipelines, Bitbucket, Cloud Build, CodeBuild, Drone, Buildkite, Travis).

Every step is classified into actions — tests, security scans (dependency,
image, static, secret, IaC), builds, deploys, migrations, rollbacks — each with
the file and line it came from. ``make`` targets, npm scripts, shell scripts
and local composite actions that a step calls are followed into their files,
so ``make test`` counts as a test when its recipe runs pytest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any

from prr.collectors.base import CollectContext, Collector, register
from prr.collectors.dependencies import match_migration
from prr.collectors.files import FileEntry, FileIndex
from prr.errors import CollectorError
from prr.model.yamlsource import YamlDocument, YamlProblem, load_yaml_documents

NAME = "pipelines"

CI_PLATFORMS = frozenset(
    {
        "github-actions",
        "gitlab-ci",
        "jenkins",
        "tekton",
        "circleci",
        "azure-pipelines",
        "bitbucket-pipelines",
        "cloud-build",
        "codebuild",
        "drone",
        "buildkite",
        "travis",
    }
)
GITOPS_PLATFORMS = frozenset({"argocd", "flux"})

# ---------------------------------------------------------------------------
# Facts


@dataclass(frozen=True)
class Action:
    """One classified thing a pipeline step does."""

    kind: str
    """test | security-scan | build | deploy | migration | rollback"""
    tool: str
    path: str
    line: int
    category: str | None = None
    """For scans: dependency | image | static | secret | iac. For builds: image | artifact."""
    target: str | None = None
    """Deploy target environment, when the command or job names one."""
    production: bool = False
    via: str | None = None
    """``Makefile:12`` when found by following a make target, script or npm script."""

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Permission:
    """A GITHUB_TOKEN permission grant (``write-all``, ``contents: write`` …)."""

    scope: str
    level: str
    line: int

    @property
    def text(self) -> str:
        return self.level if self.scope == "*" else f"{self.scope}: {self.level}"

    @property
    def is_write(self) -> bool:
        return self.level in {"write", "write-all"}


@dataclass(frozen=True)
class StaticCredential:
    """A long-lived cloud credential a job reads from CI secrets (by name, never value)."""

    provider: str
    name: str
    line: int


@dataclass(frozen=True)
class Job:
    """A job (GitHub/GitLab), stage (Jenkins) or task (Tekton) and what it does."""

    name: str
    path: str
    line: int
    actions: tuple[Action, ...] = ()
    environment: str | None = None
    environment_line: int | None = None
    approval: str | None = None
    """github-environment | manual | input | None"""
    permissions: tuple[Permission, ...] | None = None
    """None = not set on the job."""
    needs: tuple[str, ...] = ()
    stage: str | None = None
    opaque: str | None = None
    """A reusable workflow or template that could not be inspected."""
    credentials: tuple[StaticCredential, ...] = ()
    manual_trigger: bool = False

    @property
    def production(self) -> bool:
        return is_production(self.environment) or any(
            a.production for a in self.actions if a.kind in {"deploy", "rollback", "migration"}
        )

    @property
    def deploys(self) -> bool:
        return any(a.kind == "deploy" for a in self.actions)


@dataclass(frozen=True)
class GitOpsApp:
    """An Argo CD Application/ApplicationSet or a Flux Kustomization/HelmRelease."""

    kind: str
    name: str
    path: str
    line: int
    automated: bool
    target_revision: str | None = None
    destination: str | None = None
    production: bool = False


@dataclass(frozen=True)
class Pipeline:
    """One pipeline definition and everything found in it."""

    platform: str
    path: str
    name: str
    line: int = 1
    triggers: tuple[str, ...] = ()
    on_change: bool = False
    """Runs for changes before they merge (pull/merge requests, or every push)."""
    trigger_line: int | None = None
    jobs: tuple[Job, ...] = ()
    permissions: tuple[Permission, ...] | None = None
    """Top-level GITHUB_TOKEN permissions; None = not set."""
    permissions_line: int | None = None
    opaque: tuple[str, ...] = ()
    """Included templates, shared libraries or remote workflows that could not be read."""
    risks: tuple[tuple[str, int], ...] = ()
    """(description, line) of dangerous patterns, e.g. pull_request_target with PR checkout."""
    gitops: GitOpsApp | None = None
    sources: tuple[str, ...] = ()
    """Other files read for it (local includes, Makefile, scripts)."""

    @property
    def is_ci(self) -> bool:
        return self.platform in CI_PLATFORMS

    def actions(self, kind: str | None = None) -> Iterator[tuple[Job, Action]]:
        for job in self.jobs:
            for action in job.actions:
                if kind is None or action.kind == kind:
                    yield job, action


@dataclass(frozen=True)
class Component:
    """A deployable unit (a folder with a Dockerfile) and the pipelines that build it."""

    path: str
    """The Dockerfile."""
    built_by: tuple[str, ...] = ()
    unresolved: bool = False
    """Some pipeline builds images from paths with variables; coverage cannot be told."""


@dataclass(frozen=True)
class PipelineFacts:
    """Every pipeline found, the deployable components, and the files that failed."""

    pipelines: tuple[Pipeline, ...] = ()
    components: tuple[Component, ...] = ()
    failed: tuple[str, ...] = ()
    """Pipeline files that could not be read or parsed."""

    @property
    def ci(self) -> tuple[Pipeline, ...]:
        return tuple(p for p in self.pipelines if p.is_ci)

    @property
    def gitops(self) -> tuple[GitOpsApp, ...]:
        return tuple(p.gitops for p in self.pipelines if p.gitops is not None)

    def actions(self, kind: str | None = None) -> Iterator[tuple[Pipeline, Job, Action]]:
        for pipeline in self.pipelines:
            for job, action in pipeline.actions(kind):
                yield pipeline, job, action


# ---------------------------------------------------------------------------
# Environments

_PROD = re.compile(r"(?<![a-z0-9])(prod|production|prd|live)(?![a-z])", re.I)
_PROD_IN_COMMAND = re.compile(r"(?<![a-z0-9])(prod|production|prd)(?![a-z])|--prod\b", re.I)
_NON_PROD = re.compile(
    r"(?<![a-z])(staging|stage|stg|dev|develop|development|test|testing|qa|uat|preview|review"
    r"|sandbox|integration|demo|nonprod|non-prod|preprod|pre-prod)(?![a-z])",
    re.I,
)


def is_production(name: str | None) -> bool:
    """An environment name that means production (``production``, ``prod-eu``, ``prd``)."""
    return bool(name) and bool(_PROD.search(str(name))) and not _NON_PROD.search(str(name))


def is_non_production(name: str | None) -> bool:
    return bool(name) and bool(_NON_PROD.search(str(name)))


# ---------------------------------------------------------------------------
# Classifying commands

_Rule = tuple[str, str, str | None, re.Pattern[str]]


def _rules(*rows: tuple[str, str, str | None, str]) -> tuple[_Rule, ...]:
    return tuple((kind, tool, cat, re.compile(rx)) for kind, tool, cat, rx in rows)


COMMAND_RULES: tuple[_Rule, ...] = _rules(
    # tests
    ("test", "pytest", None, r"\b(?:py\.test|pytest)\b|\bpython\d?(?:\.\d+)?\s+-m\s+pytest\b"),
    ("test", "unittest", None, r"\bpython\d?(?:\.\d+)?\s+-m\s+unittest\b"),
    ("test", "tox", None, r"(?:^|[\s;&|])(?:tox|nox)(?:\s|$)"),
    ("test", "django test", None, r"\bmanage\.py\s+test\b"),
    ("test", "go test", None, r"\bgo\s+test\b|\bgotestsum\b|\bginkgo\b"),
    ("test", "npm test", None, r"\b(?:npm|yarn|pnpm|bun)\s+(?:run\s+)?test\b|\bnpm\s+t\b"),
    ("test", "jest", None, r"\b(?:jest|vitest|mocha|karma)\b(?![.\-])"),
    ("test", "cypress", None, r"\bcypress\s+run\b|\bplaywright\s+test\b"),
    (
        "test",
        "maven",
        None,
        r"\b(?:mvn|mvnw)\b(?![^\n]*-DskipTests)[^\n]*\b(?:test|verify|install)\b",
    ),
    ("test", "gradle", None, r"\bgradlew?\b(?![^\n]*-x\s+test)[^\n]*\s(?:test|check|build)\b"),
    ("test", "cargo test", None, r"\bcargo\s+(?:test|nextest)\b"),
    ("test", "dotnet test", None, r"\bdotnet\s+test\b"),
    ("test", "rspec", None, r"\brspec\b|\b(?:rake|rails)\s+test\b"),
    ("test", "phpunit", None, r"\bphpunit\b|\bpest\b|\bcomposer\s+test\b"),
    ("test", "mix test", None, r"\bmix\s+test\b"),
    ("test", "bazel test", None, r"\bbazel(?:isk)?\s+test\b"),
    ("test", "ctest", None, r"\bctest\b"),
    ("test", "sbt test", None, r"\bsbt\b[^\n]*\btest\b"),
    ("test", "swift test", None, r"\b(?:swift|flutter|dart)\s+test\b"),
    (
        "test",
        "make test",
        None,
        r"\bmake\s+(?:[^\n;&|]*\s)?(?:test|tests|check|unit|integration)\b",
    ),
    # security scans
    ("security-scan", "trivy", "image", r"\btrivy\s+(?:image|i)\b"),
    (
        "security-scan",
        "trivy",
        "dependency",
        r"\btrivy\s+(?:fs|filesystem|repo|repository|sbom|rootfs)\b",
    ),
    ("security-scan", "trivy", "iac", r"\btrivy\s+(?:config|k8s)\b"),
    ("security-scan", "grype", "dependency", r"\bgrype\s+(?:dir:|sbom:|\.)"),
    ("security-scan", "grype", "image", r"\bgrype\s+(?!dir:|sbom:|\.)\S"),
    ("security-scan", "snyk", "image", r"\bsnyk\s+container\b"),
    ("security-scan", "snyk", "iac", r"\bsnyk\s+iac\b"),
    ("security-scan", "snyk", "static", r"\bsnyk\s+code\b"),
    ("security-scan", "snyk", "dependency", r"\bsnyk\s+(?:test|monitor)\b"),
    ("security-scan", "codeql", "static", r"\bcodeql\s+database\b"),
    ("security-scan", "semgrep", "static", r"\bsemgrep\b"),
    ("security-scan", "bandit", "static", r"\bbandit\b"),
    ("security-scan", "gosec", "static", r"\bgosec\b"),
    ("security-scan", "brakeman", "static", r"\bbrakeman\b"),
    ("security-scan", "sonar", "static", r"\bsonar-scanner\b|\bsonar:sonar\b|\bsonarqube\b"),
    ("security-scan", "gitleaks", "secret", r"\bgitleaks\b"),
    ("security-scan", "trufflehog", "secret", r"\btrufflehog\b"),
    ("security-scan", "detect-secrets", "secret", r"\bdetect-secrets\b"),
    ("security-scan", "ggshield", "secret", r"\bggshield\b"),
    ("security-scan", "checkov", "iac", r"\bcheckov\b"),
    ("security-scan", "tfsec", "iac", r"\btfsec\b"),
    ("security-scan", "kics", "iac", r"\bkics\s+scan\b"),
    ("security-scan", "terrascan", "iac", r"\bterrascan\b"),
    ("security-scan", "npm audit", "dependency", r"\b(?:npm|yarn|pnpm)\s+audit\b"),
    ("security-scan", "pip-audit", "dependency", r"\bpip-audit\b"),
    ("security-scan", "safety", "dependency", r"\bsafety\s+(?:check|scan)\b"),
    ("security-scan", "osv-scanner", "dependency", r"\bosv-scanner\b"),
    ("security-scan", "govulncheck", "dependency", r"\bgovulncheck\b"),
    ("security-scan", "cargo audit", "dependency", r"\bcargo\s+(?:audit|deny)\b"),
    ("security-scan", "bundler-audit", "dependency", r"\bbundle(?:r-audit|\s+audit)\b"),
    ("security-scan", "dependency-check", "dependency", r"\bdependency-check\b"),
    ("security-scan", "composer audit", "dependency", r"\bcomposer\s+audit\b"),
    (
        "security-scan",
        "docker scout",
        "image",
        r"\bdocker\s+scout\s+(?:cves|quickview|recommendations)\b",
    ),
    # builds
    (
        "build",
        "docker build",
        "image",
        r"\b(?:docker|podman)\s+(?:buildx\s+)?build\b|\bdocker\s+compose\s+build\b|\bdocker-compose\s+build\b",
    ),
    ("build", "buildah", "image", r"\bbuildah\s+(?:bud|build)\b"),
    ("build", "kaniko", "image", r"/kaniko/executor\b|\bkaniko\b"),
    ("build", "ko", "image", r"\bko\s+(?:build|publish|resolve)\b"),
    ("build", "jib", "image", r"\bjib(?::build|DockerBuild)?\b"),
    ("build", "pack", "image", r"\bpack\s+build\b"),
    ("build", "go build", "artifact", r"\bgo\s+build\b"),
    ("build", "npm build", "artifact", r"\b(?:npm|yarn|pnpm)\s+(?:run\s+)?build\b"),
    ("build", "maven", "artifact", r"\bmvnw?\b[^\n]*\b(?:package|install|deploy)\b"),
    ("build", "cargo build", "artifact", r"\bcargo\s+build\b"),
    (
        "build",
        "python build",
        "artifact",
        r"\bpython\d?\s+-m\s+build\b|\bpoetry\s+build\b|\buv\s+build\b",
    ),
    ("build", "dotnet publish", "artifact", r"\bdotnet\s+(?:publish|build)\b"),
    # rollbacks before deploys (``kubectl rollout undo`` is not a deploy)
    (
        "rollback",
        "kubectl",
        None,
        r"\bkubectl\b[^\n]*\brollout\s+undo\b|\bkubectl\s+argo\s+rollouts\s+(?:undo|abort)\b",
    ),
    ("rollback", "helm", None, r"\bhelm\s+rollback\b"),
    ("rollback", "argocd", None, r"\bargocd\s+app\s+rollback\b"),
    ("rollback", "capistrano", None, r"\bcap\b[^\n]*deploy:rollback\b"),
    ("rollback", "kamal", None, r"\bkamal\s+rollback\b"),
    # deploys
    (
        "deploy",
        "kubectl",
        None,
        r"\bkubectl\b[^\n]*\s(?:apply|create|replace|set\s+image|rollout\s+restart|patch)\b",
    ),
    (
        "deploy",
        "helm",
        None,
        r"\bhelm\s+(?:upgrade|install)\b|\bhelmfile\b[^\n]*\s(?:apply|sync)\b",
    ),
    (
        "deploy",
        "terraform",
        None,
        r"\b(?:terraform|tofu|terragrunt)\b[^\n]*\s(?:apply|run-all\s+apply)\b",
    ),
    ("deploy", "pulumi", None, r"\bpulumi\s+up\b"),
    ("deploy", "argocd", None, r"\bargocd\s+app\s+(?:sync|set)\b"),
    ("deploy", "flux", None, r"\bflux\s+reconcile\b"),
    ("deploy", "skaffold", None, r"\bskaffold\s+(?:run|deploy)\b"),
    ("deploy", "kustomize", None, r"\bkustomize\s+build\b[^\n]*\|\s*kubectl\s+apply\b"),
    ("deploy", "aws ecs", None, r"\baws\s+ecs\s+(?:update-service|deploy)\b|\becs-deploy\b"),
    ("deploy", "aws lambda", None, r"\baws\s+lambda\s+update-function-code\b"),
    (
        "deploy",
        "cloudformation",
        None,
        r"\baws\s+cloudformation\s+(?:deploy|update-stack|create-stack)\b|\bsam\s+deploy\b",
    ),
    ("deploy", "cdk", None, r"\bcdk\s+deploy\b"),
    ("deploy", "serverless", None, r"\b(?:serverless|sls)\s+deploy\b"),
    ("deploy", "elastic beanstalk", None, r"\beb\s+deploy\b"),
    ("deploy", "copilot", None, r"\bcopilot\b[^\n]*\bdeploy\b"),
    (
        "deploy",
        "gcloud",
        None,
        r"\bgcloud\s+(?:run|app|functions)\s+deploy\b|\bgcloud\s+deploy\s+releases\s+create\b",
    ),
    (
        "deploy",
        "az",
        None,
        r"\baz\s+(?:webapp|functionapp|containerapp)\b[^\n]*\s(?:deploy|up|update)\b",
    ),
    ("deploy", "heroku", None, r"\bheroku\s+container:release\b|\bgit\s+push\s+heroku\b"),
    ("deploy", "fly", None, r"\bfly(?:ctl)?\s+deploy\b"),
    ("deploy", "vercel", None, r"\bvercel\b[^\n]*--prod\b|\bvercel\s+deploy\b"),
    ("deploy", "netlify", None, r"\bnetlify\s+deploy\b"),
    ("deploy", "nomad", None, r"\bnomad\s+(?:job\s+)?run\b"),
    ("deploy", "cloud foundry", None, r"\bcf\s+push\b"),
    ("deploy", "kamal", None, r"\bkamal\s+deploy\b"),
    ("deploy", "capistrano", None, r"\bcap\s+\S+\s+deploy\b"),
    ("deploy", "ansible", None, r"\bansible-playbook\b[^\n]*deploy"),
)

# ``uses:`` of GitHub Actions, by owner/repo prefix (lowercase).
ACTION_RULES: tuple[tuple[str, str, str, str | None], ...] = (
    ("github/codeql-action/analyze", "security-scan", "codeql", "static"),
    ("github/codeql-action/upload-sarif", "security-scan", "sarif upload", None),
    ("aquasecurity/trivy-action", "security-scan", "trivy", "image"),
    ("aquasecurity/tfsec-action", "security-scan", "tfsec", "iac"),
    ("anchore/scan-action", "security-scan", "grype", "image"),
    ("snyk/actions/docker", "security-scan", "snyk", "image"),
    ("snyk/actions/iac", "security-scan", "snyk", "iac"),
    ("snyk/actions", "security-scan", "snyk", "dependency"),
    ("actions/dependency-review-action", "security-scan", "dependency-review", "dependency"),
    ("google/osv-scanner-action", "security-scan", "osv-scanner", "dependency"),
    ("pypa/gh-action-pip-audit", "security-scan", "pip-audit", "dependency"),
    ("golang/govulncheck-action", "security-scan", "govulncheck", "dependency"),
    ("gitleaks/gitleaks-action", "security-scan", "gitleaks", "secret"),
    ("trufflesecurity/trufflehog", "security-scan", "trufflehog", "secret"),
    ("returntocorp/semgrep-action", "security-scan", "semgrep", "static"),
    ("semgrep/semgrep-action", "security-scan", "semgrep", "static"),
    ("sonarsource/", "security-scan", "sonar", "static"),
    ("bridgecrewio/checkov-action", "security-scan", "checkov", "iac"),
    ("docker/scout-action", "security-scan", "docker scout", "image"),
    ("docker/build-push-action", "build", "docker build", "image"),
    ("redhat-actions/buildah-build", "build", "buildah", "image"),
    ("azure/k8s-deploy", "deploy", "kubectl", None),
    ("azure/webapps-deploy", "deploy", "azure webapp", None),
    ("azure/functions-action", "deploy", "azure functions", None),
    ("aws-actions/amazon-ecs-deploy-task-definition", "deploy", "aws ecs", None),
    ("aws-actions/aws-cloudformation-github-deploy", "deploy", "cloudformation", None),
    ("google-github-actions/deploy-cloudrun", "deploy", "gcloud", None),
    ("google-github-actions/deploy-appengine", "deploy", "gcloud", None),
    ("google-github-actions/deploy-cloud-functions", "deploy", "gcloud", None),
    ("superfly/flyctl-actions", "deploy", "fly", None),
    ("akhileshns/heroku-deploy", "deploy", "heroku", None),
    ("serverless/github-action", "deploy", "serverless", None),
    ("cloudflare/wrangler-action", "deploy", "wrangler", None),
    ("amondnet/vercel-action", "deploy", "vercel", None),
    ("pulumi/actions", "deploy", "pulumi", None),
    ("dorny/test-reporter", "test", "test report", None),
    ("enricomi/publish-unit-test-result-action", "test", "test report", None),
    ("mikepenz/action-junit-report", "test", "test report", None),
)

GITLAB_TEMPLATES: tuple[tuple[str, tuple[tuple[str, str, str | None], ...]], ...] = (
    ("sast-iac", (("security-scan", "gitlab sast-iac", "iac"),)),
    ("sast", (("security-scan", "gitlab sast", "static"),)),
    ("secret-detection", (("security-scan", "gitlab secret detection", "secret"),)),
    ("dependency-scanning", (("security-scan", "gitlab dependency scanning", "dependency"),)),
    ("container-scanning", (("security-scan", "gitlab container scanning", "image"),)),
    ("dast", (("security-scan", "gitlab dast", "dynamic"),)),
    (
        "auto-devops",
        (
            ("build", "auto devops", "image"),
            ("test", "auto devops", None),
            ("security-scan", "gitlab sast", "static"),
            ("security-scan", "gitlab secret detection", "secret"),
            ("security-scan", "gitlab dependency scanning", "dependency"),
            ("security-scan", "gitlab container scanning", "image"),
            ("deploy", "auto devops", None),
        ),
    ),
)

_IMAGE_HINTS: tuple[tuple[str, str, str, str | None], ...] = (
    ("kaniko-project/executor", "build", "kaniko", "image"),
    ("aquasec/trivy", "security-scan", "trivy", "image"),
    ("semgrep", "security-scan", "semgrep", "static"),
    ("zricethezav/gitleaks", "security-scan", "gitleaks", "secret"),
    ("gitleaks/gitleaks", "security-scan", "gitleaks", "secret"),
    ("trufflesecurity/trufflehog", "security-scan", "trufflehog", "secret"),
    ("bridgecrew/checkov", "security-scan", "checkov", "iac"),
    ("anchore/grype", "security-scan", "grype", "image"),
)

_TARGET_FLAGS = re.compile(
    r"(?:--namespace[= ]|-n\s+|--context[= ]|--kube-context[= ]|--env(?:ironment)?[= ]"
    r"|-e\s+|workspace\s+select\s+|--stage[= ]|--project[= ]|--cluster[= ])([\w.\-/]+)"
)


def classify_command(line: str) -> list[tuple[str, str, str | None]]:
    """(kind, tool, category) for every action a shell command line performs."""
    found: list[tuple[str, str, str | None]] = []
    rolled_back = False
    for kind, tool, category, pattern in COMMAND_RULES:
        if kind == "deploy" and rolled_back:
            continue
        if pattern.search(line):
            if kind == "rollback":
                rolled_back = True
            if any(f[0] == kind and f[1] == tool for f in found):
                continue
            found.append((kind, tool, category))
    migration = match_migration(line)
    if migration:
        found.append(("migration", migration, None))
    return found


def command_target(line: str) -> str | None:
    """The environment a deploy command names (namespace, context, overlay path …)."""
    match = _TARGET_FLAGS.search(line)
    if match and (is_production(match.group(1)) or is_non_production(match.group(1))):
        return match.group(1)
    prod = _PROD_IN_COMMAND.search(line)
    if prod:
        return prod.group(1) or "production"
    non_prod = _NON_PROD.search(line)
    return non_prod.group(1) if non_prod else None


# ---------------------------------------------------------------------------
# Following make targets, npm scripts, shell scripts and local actions


class _Resolver:
    """Reads the files a step calls (Makefile, package.json, scripts) at most once."""

    def __init__(self, files: FileIndex) -> None:
        self.files = files
        self.by_path = {e.path: e for e in files}
        self.texts: dict[str, str | None] = {}
        self.make: dict[str, dict[str, tuple[int, list[tuple[int, str]], list[str]]]] = {}
        self.used: set[str] = set()

    def text(self, path: str) -> str | None:
        if path not in self.texts:
            entry = self.by_path.get(path)
            value = None
            if entry is not None and entry.readable and entry.size <= 1024 * 1024:
                try:
                    value = self.files.read_text(entry)
                except CollectorError:
                    value = None
            self.texts[path] = value
        return self.texts[path]

    def _makefile(self, directory: str) -> dict[str, tuple[int, list[tuple[int, str]], list[str]]]:
        if directory in self.make:
            return self.make[directory]
        targets: dict[str, tuple[int, list[tuple[int, str]], list[str]]] = {}
        for name in ("Makefile", "makefile", "GNUmakefile"):
            path = f"{directory}/{name}" if directory else name
            text = self.text(path)
            if text is None:
                continue
            current: list[str] = []
            for number, line in enumerate(text.splitlines(), 1):
                if line.startswith("\t") and current:
                    for target in current:
                        targets[target][1].append((number, line.strip()))
                    continue
                match = re.match(r"^([A-Za-z0-9_.\-/ ]+?)\s*::?(?!=)\s*([^=#]*)$", line)
                if match:
                    current = match.group(1).split()
                    prereqs = match.group(2).split()
                    for target in current:
                        targets[target] = (number, [], prereqs)
                elif line.strip() and not line.startswith("#"):
                    current = []
            break
        self.make[directory] = targets
        return targets

    def expand(self, command: str, directory: str, depth: int = 0) -> list[tuple[str, str]]:
        """Command lines reached from ``command``: (``file:line``, text)."""
        if depth > 3:
            return []
        out: list[tuple[str, str]] = []
        make = re.search(r"\bmake\s+((?:-\S+\s+)*)([\w.\-/ ]+)", command)
        if make:
            targets = self._makefile(directory)
            makefile = f"{directory}/Makefile" if directory else "Makefile"
            for target in make.group(2).split():
                out.extend(self._make_target(targets, target, makefile, directory, depth, set()))
        npm = re.search(r"\b(?:npm|pnpm|yarn|bun)\s+(?:run(?:-script)?\s+)?([\w:\-.]+)", command)
        if npm and npm.group(1) not in {"install", "ci", "i", "add", "audit", "publish"}:
            out.extend(self._npm_script(npm.group(1), directory, depth))
        script = re.search(
            r"(?:^|[\s;&|(])(?:bash\s+|sh\s+|\./)([\w.\-/]+\.(?:sh|bash))\b", command
        )
        if script:
            path = str(PurePosixPath(directory) / script.group(1)) if directory else script.group(1)
            path = path.removeprefix("./")
            text = self.text(path)
            if text is not None:
                self.used.add(path)
                for number, line in enumerate(text.splitlines(), 1):
                    stripped = line.strip()
                    if stripped and not stripped.startswith("#"):
                        out.append((f"{path}:{number}", stripped))
                        out.extend(self.expand(stripped, directory, depth + 1))
        return out

    def _make_target(
        self,
        targets: dict[str, tuple[int, list[tuple[int, str]], list[str]]],
        target: str,
        makefile: str,
        directory: str,
        depth: int,
        seen: set[str],
    ) -> list[tuple[str, str]]:
        if target in seen or target not in targets or len(seen) > 20:
            return []
        seen.add(target)
        self.used.add(makefile)
        _, recipe, prereqs = targets[target]
        out: list[tuple[str, str]] = []
        for prereq in prereqs:
            out.extend(self._make_target(targets, prereq, makefile, directory, depth, seen))
        for number, line in recipe:
            cleaned = line.lstrip("@-+ ")
            out.append((f"{makefile}:{number}", cleaned))
            if "make" not in cleaned.split()[:1]:
                out.extend(self.expand(cleaned, directory, depth + 1))
        return out

    def _npm_script(self, name: str, directory: str, depth: int) -> list[tuple[str, str]]:
        path = f"{directory}/package.json" if directory else "package.json"
        text = self.text(path)
        if text is None:
            return []
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return []
        scripts = data.get("scripts") if isinstance(data, dict) else None
        if not isinstance(scripts, dict) or not isinstance(scripts.get(name), str):
            return []
        self.used.add(path)
        command = scripts[name]
        line = next((i for i, t in enumerate(text.splitlines(), 1) if f'"{name}"' in t), 1)
        out = [(f"{path}:{line}", command)]
        if f"run {name}" not in command:
            out.extend(self.expand(command, directory, depth + 1))
        return out


# ---------------------------------------------------------------------------
# Building actions from commands


def _line_in_block(doc: YamlDocument, lines: list[str], path: tuple[Any, ...]) -> int:
    """First content line of a scalar (the line after ``|`` for block scalars)."""
    line, column = doc.where(path)
    if line is None:
        return 1
    text = lines[line - 1] if line - 1 < len(lines) else ""
    if column is not None and text[column - 1 : column] in {"|", ">"}:
        return line + 1
    return line


class _Builder:
    """Turns command text into actions with positions, following calls."""

    def __init__(self, resolver: _Resolver) -> None:
        self.resolver = resolver

    def commands(
        self,
        text: str,
        path: str,
        first_line: int,
        directory: str = "",
        environment: str | None = None,
    ) -> list[Action]:
        actions: list[Action] = []
        for offset, raw in enumerate(text.splitlines()):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            number = first_line + offset
            actions.extend(self._line_actions(line, path, number, None, environment))
            for via, reached in self.resolver.expand(line, directory):
                actions.extend(self._line_actions(reached, path, number, via, environment))
        return _dedupe(actions)

    @staticmethod
    def _line_actions(
        line: str, path: str, number: int, via: str | None, environment: str | None
    ) -> list[Action]:
        actions = []
        for kind, tool, category in classify_command(line):
            target = None
            if kind in {"deploy", "rollback", "migration"}:
                target = command_target(line) or environment
            actions.append(
                Action(kind, tool, path, number, category, target, is_production(target), via)
            )
        return actions


def _dedupe(actions: Iterable[Action]) -> list[Action]:
    seen: set[tuple[str, str, str | None, int]] = set()
    out = []
    for action in actions:
        key = (action.kind, action.tool, action.category, action.line)
        if key not in seen:
            seen.add(key)
            out.append(action)
    return out


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


# ---------------------------------------------------------------------------
# GitHub Actions

_SECRET_REF = re.compile(r"\$\{\{\s*secrets\.([A-Za-z0-9_]+)\s*\}\}")
_STATIC_CLOUD_KEYS = {
    "aws_secret_access_key": "aws",
    "aws-secret-access-key": "aws",
    "credentials_json": "gcp",
    "google_credentials": "gcp",
    "gcp_sa_key": "gcp",
    "service_account_key": "gcp",
    "azure_credentials": "azure",
    "arm_client_secret": "azure",
    "azure_client_secret": "azure",
}


def _permissions(doc: YamlDocument, value: Any, path: tuple[Any, ...]) -> tuple[Permission, ...]:
    line = doc.where(path)[0] or 1
    if isinstance(value, str):
        return (Permission("*", value, line),)
    if isinstance(value, dict):
        if not value:
            return (Permission("*", "none", line),)
        return tuple(
            Permission(str(scope), str(level), doc.where((*path, scope))[0] or line)
            for scope, level in value.items()
        )
    return (Permission("*", str(value), line),)


def _credentials(
    doc: YamlDocument, job: dict[str, Any], base: tuple[Any, ...]
) -> list[StaticCredential]:
    found = []

    def visit(value: Any, path: tuple[Any, ...]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str) and _SECRET_REF.search(item):
                    provider = _STATIC_CLOUD_KEYS.get(str(key).lower())
                    if provider is None:
                        for ref in _SECRET_REF.findall(item):
                            provider = _STATIC_CLOUD_KEYS.get(ref.lower())
                    if provider:
                        line = doc.where((*path, key))[0] or 1
                        found.append(StaticCredential(provider, str(key), line))
                else:
                    visit(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, (*path, index))

    visit(job, base)
    return found


def _github_triggers(on: Any) -> tuple[tuple[str, ...], bool]:
    if isinstance(on, str):
        events: dict[str, Any] = {on: None}
    elif isinstance(on, list):
        events = {str(e): None for e in on}
    elif isinstance(on, dict):
        events = {str(k): v for k, v in on.items()}
    else:
        events = {}
    on_change = any(e in events for e in ("pull_request", "pull_request_target", "merge_group"))
    push = events.get("push", False)
    if (
        "push" in events
        and not on_change
        and (
            not isinstance(push, dict)
            or ("branches" not in push and "tags" not in push and "branches-ignore" not in push)
            or "branches-ignore" in push
        )
    ):
        on_change = True
    return tuple(events), on_change


class _GitHub:
    def __init__(self, builder: _Builder, files: FileIndex) -> None:
        self.builder = builder
        self.files = files

    def parse(self, entry: FileEntry, text: str) -> Pipeline:
        docs = load_yaml_documents(text, entry.path)
        if not docs or not isinstance(docs[0].data, dict):
            raise ValueError("not a workflow: expected a mapping")
        doc, data = docs[0], docs[0].data
        lines = text.splitlines()
        on_key: Any = "on" if "on" in data else True
        triggers, on_change = _github_triggers(data.get(on_key))
        trigger_line = doc.where((on_key,), key=True)[0]
        permissions = None
        if "permissions" in data:
            permissions = _permissions(doc, data["permissions"], ("permissions",))
        jobs = []
        opaque = []
        risks = []
        raw_jobs = data.get("jobs")
        if not isinstance(raw_jobs, dict):
            raise ValueError("not a workflow: no 'jobs' mapping")
        for job_id, job in raw_jobs.items():
            if not isinstance(job, dict):
                continue
            parsed = self._job(doc, lines, entry.path, str(job_id), job)
            jobs.append(parsed)
            if parsed.opaque:
                opaque.append(parsed.opaque)
            if "pull_request_target" in triggers:
                for index, step in enumerate(job.get("steps") or []):
                    if not isinstance(step, dict):
                        continue
                    ref = (
                        str((step.get("with") or {}).get("ref", ""))
                        if isinstance(step.get("with"), dict)
                        else ""
                    )
                    if str(step.get("uses", "")).startswith("actions/checkout") and (
                        "pull_request.head" in ref or "github.head_ref" in ref
                    ):
                        line = doc.where(("jobs", job_id, "steps", index))[0] or 1
                        risks.append(
                            ("pull_request_target checks out the pull request's code", line)
                        )
        return Pipeline(
            "github-actions",
            entry.path,
            str(data.get("name") or PurePosixPath(entry.path).stem),
            1,
            triggers,
            on_change,
            trigger_line,
            tuple(jobs),
            permissions,
            doc.where(("permissions",), key=True)[0] if permissions is not None else None,
            tuple(opaque),
            tuple(risks),
        )

    def _job(
        self, doc: YamlDocument, lines: list[str], path: str, job_id: str, job: dict[str, Any]
    ) -> Job:
        base = ("jobs", job_id)
        line = doc.where(base, key=True)[0] or 1
        env = job.get("environment")
        env_name = env.get("name") if isinstance(env, dict) else env
        env_name = str(env_name) if env_name is not None else None
        env_line = doc.where((*base, "environment"))[0] if env is not None else None
        needs = job.get("needs") or ()
        needs = (needs,) if isinstance(needs, str) else tuple(str(n) for n in needs)
        permissions = None
        if "permissions" in job:
            permissions = _permissions(doc, job["permissions"], (*base, "permissions"))
        actions: list[Action] = []
        opaque = None
        uses = job.get("uses")
        if isinstance(uses, str):
            if uses.startswith("./"):
                actions.extend(self._local_workflow(uses[2:].split("@")[0], env_name))
            else:
                opaque = uses
            actions.extend(self._uses(uses, path, line, None, env_name))
        directory = ""
        defaults = job.get("defaults")
        if isinstance(defaults, dict) and isinstance(defaults.get("run"), dict):
            directory = str(defaults["run"].get("working-directory", "")).strip("./")
        for index, step in enumerate(job.get("steps") or []):
            if not isinstance(step, dict):
                continue
            step_path = (*base, "steps", index)
            step_line = doc.where(step_path)[0] or line
            if isinstance(step.get("uses"), str):
                actions.extend(
                    self._uses(step["uses"], path, step_line, step.get("with"), env_name)
                )
            if isinstance(step.get("run"), str):
                first = _line_in_block(doc, lines, (*step_path, "run"))
                workdir = str(step.get("working-directory", directory)).strip("./")
                actions.extend(self.builder.commands(step["run"], path, first, workdir, env_name))
        name = str(job.get("name") or job_id)
        if _ROLLBACK_NAME.search(f"{job_id} {name}"):
            actions.extend(_as_rollback(actions))
        return Job(
            job_id,
            path,
            line,
            tuple(_dedupe(actions)),
            env_name,
            env_line,
            "github-environment" if env_name else None,
            permissions,
            needs,
            None,
            opaque,
            tuple(_credentials(doc, job, base)),
        )

    def _uses(
        self, uses: str, path: str, line: int, with_: Any, environment: str | None
    ) -> list[Action]:
        ref = uses.lower().split("@")[0]
        if ref.startswith("./"):
            return self._local_action(ref[2:], path, line, environment)
        if ref.startswith("docker://"):
            for hint, kind, tool, category in _IMAGE_HINTS:
                if hint in ref:
                    return [Action(kind, tool, path, line, category)]
            return []
        for prefix, kind, tool, category in ACTION_RULES:
            if ref.startswith(prefix):
                if tool == "trivy" and isinstance(with_, dict):
                    scan_type = str(with_.get("scan-type", "image"))
                    category = {"fs": "dependency", "repo": "dependency", "config": "iac"}.get(
                        scan_type, "image"
                    )
                target = environment if kind == "deploy" else None
                return [Action(kind, tool, path, line, category, target, is_production(target))]
        return []

    def _local_action(
        self, folder: str, path: str, line: int, environment: str | None
    ) -> list[Action]:
        resolver = self.builder.resolver
        for name in ("action.yml", "action.yaml"):
            action_path = f"{folder.rstrip('/')}/{name}"
            text = resolver.text(action_path)
            if text is None:
                continue
            resolver.used.add(action_path)
            try:
                docs = load_yaml_documents(text, action_path)
            except YamlProblem:
                return []
            data = docs[0].data if docs else None
            steps = (data.get("runs") or {}).get("steps") if isinstance(data, dict) else None
            actions: list[Action] = []
            for step in steps if isinstance(steps, list) else []:
                if isinstance(step, dict) and isinstance(step.get("run"), str):
                    for found in self.builder.commands(step["run"], path, line, "", environment):
                        actions.append(replace(found, line=line, via=action_path))
                if isinstance(step, dict) and isinstance(step.get("uses"), str):
                    for found in self._uses(
                        step["uses"], path, line, step.get("with"), environment
                    ):
                        actions.append(replace(found, via=action_path))
            return actions
        return []

    def _local_workflow(self, workflow: str, environment: str | None) -> list[Action]:
        """Steps of a local reusable workflow, attributed to their own file."""
        resolver = self.builder.resolver
        text = resolver.text(workflow)
        if text is None:
            return []
        entry = resolver.by_path.get(workflow)
        if entry is None:
            return []
        try:
            called = self.parse(entry, text)
        except (YamlProblem, ValueError):
            return []
        out = []
        for job in called.jobs:
            for action in job.actions:
                if environment and action.kind in {"deploy", "rollback", "migration"}:
                    target = action.target or environment
                    action = replace(action, target=target, production=is_production(target))
                out.append(action)
        return out


_ROLLBACK_NAME = re.compile(r"roll[\s_-]?back|revert[\s_-]deploy", re.I)


def _as_rollback(actions: list[Action]) -> list[Action]:
    """A job named rollback that deploys is a rollback."""
    return [replace(a, kind="rollback") for a in actions if a.kind == "deploy"]


# ---------------------------------------------------------------------------
# GitLab CI

_GITLAB_RESERVED = frozenset(
    {
        "stages",
        "include",
        "variables",
        "default",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "types",
    }
)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class _GitLab:
    def __init__(self, builder: _Builder, ctx: CollectContext) -> None:
        self.builder = builder
        self.ctx = ctx

    def parse(self, entry: FileEntry, text: str) -> tuple[Pipeline, list[str]]:
        """The pipeline, with its local includes merged; also the included files read."""
        resolver = self.builder.resolver
        sources: list[tuple[str, YamlDocument, list[str]]] = []
        opaque: list[str] = []
        template_actions: list[Action] = []
        failed: list[str] = []
        queue = [(entry.path, text)]
        seen: set[str] = set()
        while queue:
            path, body = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            try:
                docs = load_yaml_documents(body, path)
            except YamlProblem as exc:
                if path == entry.path:
                    raise
                self.ctx.error(path, exc.problem.message, NAME, exc.problem.line)
                failed.append(path)
                continue
            if not docs or not isinstance(docs[0].data, dict):
                if path == entry.path:
                    raise ValueError("not a GitLab CI file: expected a mapping")
                continue
            doc = docs[0]
            sources.append((path, doc, body.splitlines()))
            includes = doc.data.get("include")
            include_list = (
                includes if isinstance(includes, list) else [includes] if includes else []
            )
            for index, include in enumerate(include_list):
                line = doc.where(("include", index))[0] or doc.where(("include",))[0] or 1
                local, label = self._include(include)
                if local:
                    included = resolver.text(local.lstrip("/"))
                    if included is None:
                        opaque.append(f"include {local} (not found)")
                    else:
                        resolver.used.add(local.lstrip("/"))
                        queue.append((local.lstrip("/"), included))
                    continue
                matched = False
                lowered = label.lower()
                for key, produced in GITLAB_TEMPLATES:
                    if key in lowered.replace("_", "-"):
                        matched = True
                        for kind, tool, category in produced:
                            template_actions.append(Action(kind, tool, path, line, category))
                        break
                if not matched:
                    opaque.append(label)
        jobs_raw: dict[str, tuple[str, YamlDocument, list[str], dict[str, Any]]] = {}
        for path, doc, lines in sources:
            for key, value in doc.data.items():
                if isinstance(key, str) and key not in _GITLAB_RESERVED and isinstance(value, dict):
                    jobs_raw[key] = (path, doc, lines, value)
        default_image = None
        root = sources[0][1].data
        if isinstance(root.get("default"), dict):
            default_image = root["default"].get("image")
        jobs = []
        for name, (path, doc, lines, raw) in jobs_raw.items():
            if name.startswith("."):
                continue
            job = self._resolve_extends(name, jobs_raw, 0)
            jobs.append(self._job(name, path, doc, lines, job, raw, default_image))
        if template_actions:
            jobs.append(Job("(included templates)", entry.path, 1, tuple(template_actions)))
        mr = "merge_request_event" in text or any(
            "merge_request_event" in "\n".join(body) for _, _, body in sources[1:]
        )
        triggers = ("push", "merge_request") if mr else ("push",)
        return (
            Pipeline(
                "gitlab-ci",
                entry.path,
                entry.path,
                1,
                triggers,
                True,
                None,
                tuple(jobs),
                opaque=tuple(opaque),
                sources=tuple(p for p, _, _ in sources[1:]),
            ),
            failed,
        )

    @staticmethod
    def _include(include: Any) -> tuple[str | None, str]:
        if isinstance(include, str):
            if include.startswith(("http://", "https://")):
                return None, include
            return include, include
        if isinstance(include, dict):
            if "local" in include:
                return str(include["local"]), str(include["local"])
            for key in ("template", "component", "remote"):
                if key in include:
                    return None, str(include[key])
            if "project" in include:
                return None, f"{include['project']}:{include.get('file', '')}"
        return None, str(include)

    def _resolve_extends(
        self,
        name: str,
        jobs: dict[str, tuple[str, YamlDocument, list[str], dict[str, Any]]],
        depth: int,
    ) -> dict[str, Any]:
        raw = jobs[name][3]
        parents = raw.get("extends")
        if not parents or depth > 10:
            return raw
        merged: dict[str, Any] = {}
        for parent in [parents] if isinstance(parents, str) else list(parents):
            if isinstance(parent, str) and parent in jobs and parent != name:
                merged = _deep_merge(merged, self._resolve_extends(parent, jobs, depth + 1))
        return _deep_merge(merged, raw)

    def _job(
        self,
        name: str,
        path: str,
        doc: YamlDocument,
        lines: list[str],
        job: dict[str, Any],
        raw: dict[str, Any],
        default_image: Any,
    ) -> Job:
        line = doc.where((name,), key=True)[0] or 1
        env = job.get("environment")
        env_name = env.get("name") if isinstance(env, dict) else env
        env_name = str(env_name) if env_name is not None else None
        env_line = doc.where((name, "environment"))[0] if "environment" in raw else None
        manual = job.get("when") == "manual"
        rules = job.get("rules")
        if isinstance(rules, list):
            manual = manual or any(isinstance(r, dict) and r.get("when") == "manual" for r in rules)
        actions: list[Action] = []
        for key in ("before_script", "script", "after_script"):
            if key not in job:
                continue
            commands = list(_strings(job[key]))
            own = key in raw
            for index, command in enumerate(commands):
                if own and isinstance(raw[key], list):
                    first = _line_in_block(doc, lines, (name, key, index))
                elif own:
                    first = _line_in_block(doc, lines, (name, key))
                else:
                    first = line
                actions.extend(self.builder.commands(command, path, first, "", env_name))
        image = job.get("image", default_image)
        image_name = image.get("name") if isinstance(image, dict) else image
        if isinstance(image_name, str):
            for hint, kind, tool, category in _IMAGE_HINTS:
                if hint in image_name.lower():
                    actions.append(Action(kind, tool, path, line, category))
        if _ROLLBACK_NAME.search(name) or (isinstance(env, dict) and env.get("action") == "stop"):
            actions.extend(_as_rollback(actions) if _ROLLBACK_NAME.search(name) else [])
        needs = job.get("needs") or ()
        needs = tuple(
            str(n.get("job")) if isinstance(n, dict) else str(n)
            for n in (needs if isinstance(needs, list) else [needs])
        )
        approval = "manual" if manual else ("protected-environment" if env_name else None)
        return Job(
            name,
            path,
            line,
            tuple(_dedupe(actions)),
            env_name,
            env_line,
            approval,
            None,
            needs,
            str(job.get("stage")) if job.get("stage") else None,
            manual_trigger=manual,
        )


# ---------------------------------------------------------------------------
# Jenkins (declarative and scripted, by pattern)

_JENKINS_STAGE = re.compile(r"""\bstage\s*\(\s*['"]([^'"]+)['"]\s*\)""")
_JENKINS_INPUT = re.compile(r"""\binput\s*(?:\(|message\s*:|\{|['"])""")


def _jenkins(entry: FileEntry, text: str, builder: _Builder) -> Pipeline:
    stages: list[tuple[str, int, list[tuple[int, str]]]] = []
    preamble: list[tuple[int, str]] = []
    opaque = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("//"):
            continue
        if line.startswith("@Library"):
            opaque.append(line[:120])
        match = _JENKINS_STAGE.search(line)
        if match:
            stages.append((match.group(1), number, []))
            continue
        (stages[-1][2] if stages else preamble).append((number, line))
    jobs = []
    pending_input = False
    for name, stage_line, body in stages:
        actions: list[Action] = []
        approval = None
        env_name = name if (is_production(name) or is_non_production(name)) else None
        for number, text_line in body:
            if _JENKINS_INPUT.search(text_line):
                approval = "input"
            actions.extend(builder.commands(text_line, entry.path, number, "", env_name))
        if approval is None and pending_input:
            approval = "input"  # an approval stage right before this one
        pending_input = approval == "input" and not any(a.kind == "deploy" for a in actions)
        if _ROLLBACK_NAME.search(name):
            actions.extend(_as_rollback(actions))
        jobs.append(
            Job(
                name,
                entry.path,
                stage_line,
                tuple(_dedupe(actions)),
                env_name,
                stage_line if env_name else None,
                approval,
                stage=name,
            )
        )
    triggers: tuple[str, ...] = ("push",)
    if re.search(r"\btriggers\s*\{[^}]*\bcron\b", text, re.S):
        triggers = ("push", "schedule")
    return Pipeline(
        "jenkins",
        entry.path,
        entry.path,
        1,
        triggers,
        True,
        None,
        tuple(jobs),
        opaque=tuple(opaque),
    )


# ---------------------------------------------------------------------------
# Kubernetes-style documents: Tekton, Argo CD, Flux

_TEKTON_TASK_HINTS = (
    ("kaniko", "build", "kaniko", "image"),
    ("buildah", "build", "buildah", "image"),
    ("trivy", "security-scan", "trivy", "image"),
    ("grype", "security-scan", "grype", "image"),
    ("snyk", "security-scan", "snyk", "dependency"),
    ("gitleaks", "security-scan", "gitleaks", "secret"),
    ("sonar", "security-scan", "sonar", "static"),
    ("helm-upgrade", "deploy", "helm", None),
    ("kubernetes-actions", "deploy", "kubectl", None),
    ("argocd-task-sync", "deploy", "argocd", None),
    ("golang-test", "test", "go test", None),
    ("pytest", "test", "pytest", None),
    ("unit-test", "test", "tests", None),
)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _k8s_pipelines(
    entry: FileEntry, docs: list[YamlDocument], builder: _Builder, tekton_triggers: bool
) -> list[Pipeline]:
    tasks: dict[str, tuple[YamlDocument, dict[str, Any]]] = {}
    pipelines: list[Pipeline] = []
    for doc in docs:
        data = doc.data
        if (
            isinstance(data, dict)
            and str(data.get("apiVersion", "")).startswith("tekton.dev")
            and data.get("kind") in {"Task", "ClusterTask"}
        ):
            tasks[str(_mapping(data.get("metadata")).get("name", ""))] = (doc, data)
    for doc in docs:
        data = doc.data
        if not isinstance(data, dict):
            continue
        api = str(data.get("apiVersion", ""))
        kind = str(data.get("kind", ""))
        meta = _mapping(data.get("metadata"))
        name = str(meta.get("name", "")) or entry.path
        spec = _mapping(data.get("spec"))
        line = doc.where(())[0] or 1
        if api.startswith("tekton.dev") and kind == "Pipeline":
            jobs = []
            for index, task in enumerate(spec.get("tasks") or []):
                if not isinstance(task, dict):
                    continue
                task_line = doc.where(("spec", "tasks", index))[0] or line
                task_name = str(task.get("name", index))
                ref = _mapping(task.get("taskRef"))
                ref_name = str(ref.get("name", ""))
                actions: list[Action] = []
                steps: list[Any] = []
                if isinstance(task.get("taskSpec"), dict):
                    steps = task["taskSpec"].get("steps") or []
                elif ref_name in tasks:
                    steps = (tasks[ref_name][1].get("spec") or {}).get("steps") or []
                for step in steps if isinstance(steps, list) else []:
                    if not isinstance(step, dict):
                        continue
                    script = step.get("script")
                    command = " ".join(_strings([step.get("command"), step.get("args")]))
                    for text in (script, command, str(step.get("image", ""))):
                        if isinstance(text, str) and text:
                            for found in builder.commands(text, entry.path, task_line):
                                actions.append(replace(found, line=task_line))
                    image = str(step.get("image", "")).lower()
                    for hint, k, tool, category in _IMAGE_HINTS:
                        if hint in image:
                            actions.append(Action(k, tool, entry.path, task_line, category))
                if not steps:
                    for hint, k, tool, category in _TEKTON_TASK_HINTS:
                        if hint in ref_name.lower() or hint in task_name.lower():
                            actions.append(Action(k, tool, entry.path, task_line, category))
                env = None
                for param in task.get("params") or []:
                    if isinstance(param, dict) and is_production(str(param.get("value", ""))):
                        env = str(param.get("value"))
                if env:
                    actions = [
                        replace(a, target=a.target or env, production=True)
                        if a.kind == "deploy"
                        else a
                        for a in actions
                    ]
                jobs.append(Job(task_name, entry.path, task_line, tuple(_dedupe(actions)), env))
            triggers = ("push",) if tekton_triggers else ()
            pipelines.append(
                Pipeline(
                    "tekton", entry.path, name, line, triggers, tekton_triggers, None, tuple(jobs)
                )
            )
        elif api.startswith("argoproj.io") and kind in {"Application", "ApplicationSet"}:
            template = spec
            if kind == "ApplicationSet":
                template = _mapping(_mapping(spec.get("template")).get("spec"))
            sync = _mapping(template.get("syncPolicy"))
            automated = sync.get("automated") is not None
            source = _mapping(template.get("source"))
            sources = template.get("sources")
            if not source and isinstance(sources, list) and sources:
                source = _mapping(sources[0])
            destination = _mapping(template.get("destination"))
            dest = "/".join(
                str(destination.get(k))
                for k in ("name", "server", "namespace")
                if destination.get(k)
            )
            signals = " ".join(
                [name, dest, str(source.get("path", "")), json.dumps(spec.get("generators", ""))]
            )
            app = GitOpsApp(
                kind,
                name,
                entry.path,
                line,
                automated,
                str(source.get("targetRevision")) if source.get("targetRevision") else None,
                dest or None,
                bool(_PROD_IN_COMMAND.search(signals)),
            )
            pipelines.append(Pipeline("argocd", entry.path, name, line, gitops=app))
        elif "toolkit.fluxcd.io" in api and kind in {"Kustomization", "HelmRelease"}:
            signals = " ".join(
                [
                    name,
                    str(meta.get("namespace", "")),
                    str(spec.get("path", "")),
                    str(spec.get("targetNamespace", "")),
                ]
            )
            app = GitOpsApp(
                kind,
                name,
                entry.path,
                line,
                spec.get("suspend") is not True,
                None,
                str(spec.get("targetNamespace") or meta.get("namespace") or "") or None,
                bool(_PROD_IN_COMMAND.search(signals)),
            )
            pipelines.append(Pipeline("flux", entry.path, name, line, gitops=app))
    return pipelines


# ---------------------------------------------------------------------------
# Other CI systems: one job per mapping that holds commands

_OTHER_CI = {
    ".circleci/config.yml": "circleci",
    ".circleci/config.yaml": "circleci",
    "azure-pipelines.yml": "azure-pipelines",
    "azure-pipelines.yaml": "azure-pipelines",
    ".azure-pipelines.yml": "azure-pipelines",
    "bitbucket-pipelines.yml": "bitbucket-pipelines",
    "cloudbuild.yaml": "cloud-build",
    "cloudbuild.yml": "cloud-build",
    "buildspec.yml": "codebuild",
    "buildspec.yaml": "codebuild",
    ".drone.yml": "drone",
    ".buildkite/pipeline.yml": "buildkite",
    ".buildkite/pipeline.yaml": "buildkite",
    ".travis.yml": "travis",
}
_COMMAND_KEYS = frozenset(
    {"script", "run", "commands", "command", "bash", "pwsh", "powershell", "args", "inlineScript"}
)


class _OtherCi:
    """One job per mapping that holds commands, for CI files without a dedicated reader."""

    def __init__(self, entry: FileEntry, text: str, platform: str, builder: _Builder) -> None:
        self.entry = entry
        self.platform = platform
        self.builder = builder
        self.lines = text.splitlines()
        self.docs = load_yaml_documents(text, entry.path)
        self.jobs: list[Job] = []

    def pipeline(self) -> Pipeline:
        for doc in self.docs:
            self._visit(doc, doc.data, (), PurePosixPath(self.entry.path).name, None, False)
        on_change = self.platform != "cloud-build"
        return Pipeline(
            self.platform,
            self.entry.path,
            self.entry.path,
            1,
            ("push",),
            on_change,
            None,
            tuple(self.jobs),
        )

    def _visit(
        self,
        doc: YamlDocument,
        value: Any,
        path: tuple[Any, ...],
        name: str,
        env: str | None,
        manual: bool,
    ) -> None:
        if isinstance(value, list):
            for index, item in enumerate(value):
                self._visit(doc, item, (*path, index), name, env, manual)
            return
        if not isinstance(value, dict):
            return
        for key in ("environment", "deployment"):
            named = value.get(key)
            if isinstance(named, dict):
                named = named.get("name")
            if isinstance(named, str):
                env = named
        manual = manual or value.get("trigger") == "manual" or value.get("when") == "manual"
        label = str(value.get("name") or value.get("displayName") or value.get("label") or name)
        actions: list[Action] = []
        for key, item in value.items():
            if key not in _COMMAND_KEYS:
                continue
            for index, command in enumerate(_strings(item)):
                sub = (*path, key, index) if isinstance(item, list) else (*path, key)
                first = _line_in_block(doc, self.lines, sub)
                actions.extend(self.builder.commands(command, self.entry.path, first, "", env))
        if actions:
            line = doc.where(path)[0] or 1
            approval = "manual" if manual else None
            if approval is None and env and self.platform == "azure-pipelines":
                approval = "environment"
            self.jobs.append(
                Job(
                    label,
                    self.entry.path,
                    line,
                    tuple(actions),
                    env,
                    None,
                    approval,
                    manual_trigger=manual,
                )
            )
        for key, item in value.items():
            if key not in _COMMAND_KEYS:
                child = str(key) if isinstance(item, dict) else label
                self._visit(doc, item, (*path, key), child, env, manual)


# ---------------------------------------------------------------------------
# Deployable components

_COMPONENT_SKIP = (
    "test/",
    "tests/",
    "testdata/",
    "examples/",
    "example/",
    "docs/",
    ".devcontainer/",
    "fixtures/",
    "samples/",
)


def _components(
    files: FileIndex, pipelines: list[Pipeline], texts: dict[str, str]
) -> list[Component]:
    dockerfiles = [
        e.path
        for e in files
        if (e.name in {"Dockerfile", "Containerfile"} or e.name.endswith(".Dockerfile"))
        and not any(f"/{s}" in f"/{e.path}" for s in _COMPONENT_SKIP)
    ]
    builds = [(p, a) for p in pipelines for _, a in p.actions("build") if a.category == "image"]
    unresolved = any("$" in texts.get(p.path, "") and p.is_ci for p, _ in builds)
    components = []
    for dockerfile in dockerfiles:
        folder = str(PurePosixPath(dockerfile).parent)
        built_by = []
        for pipeline in pipelines:
            if not pipeline.is_ci:
                continue
            body = texts.get(pipeline.path, "")
            related = [body] + [texts.get(s, "") for s in pipeline.sources]
            if folder == ".":
                if any(p is pipeline for p, _ in builds):
                    built_by.append(pipeline.path)
            elif any(folder in t or dockerfile in t for t in related) or pipeline.path.startswith(
                folder + "/"
            ):
                built_by.append(pipeline.path)
        components.append(Component(dockerfile, tuple(built_by), unresolved and not built_by))
    return components


# ---------------------------------------------------------------------------
# The collector

_K8S_MARKERS = (b"tekton.dev", b"argoproj.io", b"toolkit.fluxcd.io")


@register
class PipelinesCollector(Collector):
    """Finds and reads every CI/CD pipeline definition of the repository."""

    name = NAME
    facts_type = PipelineFacts

    def collect(self, ctx: CollectContext) -> PipelineFacts:
        files = ctx.files
        resolver = _Resolver(files)
        builder = _Builder(resolver)
        github = _GitHub(builder, files)
        gitlab = _GitLab(builder, ctx)
        pipelines: list[Pipeline] = []
        failed: list[str] = []
        texts: dict[str, str] = {}

        def read(entry: FileEntry) -> str | None:
            try:
                text = files.read_text(entry)
            except CollectorError as exc:
                ctx.error(entry.path, str(exc).removeprefix(f"{entry.path}: "), NAME)
                failed.append(entry.path)
                return None
            texts[entry.path] = text
            return text

        def bad(entry: FileEntry, reason: str, line: int | None = None) -> None:
            ctx.error(entry.path, reason, NAME, line)
            failed.append(entry.path)

        k8s_candidates: list[FileEntry] = []
        tekton_triggers = False
        for entry in files:
            path, name = entry.path, entry.name
            try:
                if path.startswith(".github/workflows/") and entry.suffix in {".yml", ".yaml"}:
                    text = read(entry)
                    if text is not None:
                        pipelines.append(github.parse(entry, text))
                elif name == ".gitlab-ci.yml" or name == ".gitlab-ci.yaml":
                    text = read(entry)
                    if text is not None:
                        pipeline, bad_includes = gitlab.parse(entry, text)
                        pipelines.append(pipeline)
                        failed.extend(bad_includes)
                elif (
                    name == "Jenkinsfile"
                    or name.startswith("Jenkinsfile.")
                    or name.endswith(".jenkinsfile")
                ):
                    text = read(entry)
                    if text is not None:
                        pipelines.append(_jenkins(entry, text, builder))
                elif path in _OTHER_CI:
                    text = read(entry)
                    if text is not None:
                        pipelines.append(_OtherCi(entry, text, _OTHER_CI[path], builder).pipeline())
                elif (
                    entry.suffix in {".yaml", ".yml"}
                    and entry.readable
                    and entry.size < 2 * 1024 * 1024
                ):
                    k8s_candidates.append(entry)
            except YamlProblem as exc:
                bad(entry, exc.problem.message, exc.problem.line)
            except ValueError as exc:
                bad(entry, str(exc))
        docs_by_file: list[tuple[FileEntry, list[YamlDocument]]] = []
        for entry in k8s_candidates:
            try:
                raw = files.read_bytes(entry)
            except CollectorError:
                continue
            if not any(marker in raw for marker in _K8S_MARKERS):
                continue
            if b"{{" in raw:
                continue  # a Helm template, not a manifest
            text = read(entry)
            if text is None:
                continue
            try:
                docs = load_yaml_documents(text, entry.path)
            except YamlProblem as exc:
                bad(entry, exc.problem.message, exc.problem.line)
                continue
            if any(
                isinstance(d.data, dict)
                and d.data.get("kind") in {"EventListener", "TriggerTemplate"}
                for d in docs
            ):
                tekton_triggers = True
            docs_by_file.append((entry, docs))
        for entry, docs in docs_by_file:
            pipelines.extend(_k8s_pipelines(entry, docs, builder, tekton_triggers))
        for path in resolver.used:
            if path not in texts and resolver.texts.get(path) is not None:
                texts[path] = resolver.texts[path] or ""
        pipelines = [
            replace(p, sources=tuple(dict.fromkeys((*p.sources, *self._sources_of(p)))))
            for p in pipelines
        ]
        components = _components(files, pipelines, texts)
        return PipelineFacts(tuple(pipelines), tuple(components), tuple(sorted(set(failed))))

    @staticmethod
    def _sources_of(pipeline: Pipeline) -> list[str]:
        out = []
        for _, action in pipeline.actions():
            if action.via:
                out.append(action.via.rsplit(":", 1)[0])
        return out


__all__ = [
    "Action",
    "Component",
    "GitOpsApp",
    "Job",
    "Permission",
    "Pipeline",
    "PipelineFacts",
    "PipelinesCollector",
    "StaticCredential",
    "classify_command",
    "is_production",
]
