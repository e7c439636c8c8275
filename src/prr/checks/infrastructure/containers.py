"""Items decided from Dockerfiles and Compose files: health checks, resource limits and
pinned image versions.

Compose files named for development, tests or CI are left out; when one is named
for production (``compose.prod.yaml``) only those count. A Dockerfile without a
``HEALTHCHECK`` is not a failure on its own (Kubernetes and ECS ignore it and use
their own probes), so Dockerfiles alone can pass the health check item, never
fail it. The pinned-versions check decides a deployment item; it lives here with
the other container checks.
"""

from __future__ import annotations

from collections.abc import Iterator

from prr.checks.infrastructure.terraform import Finding, decide
from prr.checks.registry import CheckContext, check
from prr.collectors.containers import (
    ComposeFile,
    ComposeService,
    ContainerFacts,
    Dockerfile,
    ImageRef,
)
from prr.collectors.kubernetes import KubernetesFacts
from prr.model.evidence import Result, Status

HEALTH = "infrastructure.compute.health-checks-configured"
LIMITS = "infrastructure.compute.resource-limits-set"
VERSIONS = "deployment.environment-parity.same-dependencies-versions"
UNSETTLED = "The container files do not settle it"


def unread_findings(facts: ContainerFacts, kind: str | None = None) -> list[Finding]:
    """Container files that could not be read, as unknown findings."""
    return [
        Finding(Status.UNKNOWN, f"{u.path} could not be read: {u.reason}", u.path, u.line)
        for u in facts.unread
        if kind is None or u.kind == kind
    ]


def service_label(service: ComposeService) -> str:
    return f"service {service.name}"


def _service_fix(service: ComposeService, body: str) -> str:
    inner = "\n".join(f"    {line}" for line in body.strip("\n").splitlines())
    return f"# {service.path}:{service.line}\nservices:\n  {service.name}:\n{inner}"


_PROBES = {
    "redis": '["CMD", "redis-cli", "ping"]',
    "valkey": '["CMD", "valkey-cli", "ping"]',
    "postgres": '["CMD-SHELL", "pg_isready -U $${POSTGRES_USER:-postgres}"]',
    "mysql": '["CMD", "mysqladmin", "ping", "-h", "localhost"]',
    "mariadb": '["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"]',
    "rabbitmq": '["CMD", "rabbitmq-diagnostics", "-q", "ping"]',
    "memcached": '["CMD-SHELL", "echo stats | nc -w1 localhost 11211"]',
}


def _healthcheck_fix(service: ComposeService) -> str:
    image = service.image.name.rsplit("/", 1)[-1] if service.image else ""
    test = _PROBES.get(image, '["CMD", "curl", "-fsS", "http://localhost:8080/healthz"]')
    return _service_fix(
        service,
        f"healthcheck:\n  test: {test}\n"
        "  interval: 10s\n  timeout: 3s\n  retries: 3\n  start_period: 20s",
    )


def _service_health(service: ComposeService, dockerfiles: dict[str, Dockerfile]) -> Finding:
    where = f"{service.path}"
    built = dockerfiles.get(service.build_dockerfile or "")
    image_check = built is not None and built.final.healthcheck == "CMD"
    if service.healthcheck == "disabled":
        return Finding(
            Status.FAIL,
            f"{service_label(service)} disables its health check",
            where,
            service.healthcheck_line,
            _healthcheck_fix(service),
        )
    if service.healthcheck is None and not image_check:
        return Finding(
            Status.FAIL,
            f"{service_label(service)} has no healthcheck"
            + (f" and {built.path} has no HEALTHCHECK" if built is not None else ""),
            where,
            service.line,
            _healthcheck_fix(service),
        )
    restart = (service.restart or "no").strip().lower()
    if restart in ("no", "none", "false"):
        return Finding(
            Status.FAIL,
            f"{service_label(service)} has a health check but no restart policy: "
            "a crashed container stays down",
            where,
            service.restart_line or service.line,
            _service_fix(service, "restart: unless-stopped"),
        )
    if service.healthcheck == "defined" or built is None:
        return Finding(
            Status.PASS,
            f"{service_label(service)} has a healthcheck and restart: {service.restart}",
            where,
            service.healthcheck_line or service.line,
        )
    return Finding(
        Status.PASS,
        f"{service_label(service)} has the HEALTHCHECK of {built.path} "
        f"and restart: {service.restart}",
        built.path,
        built.final.healthcheck_line,
    )


def deployed_compose(ctx: CheckContext, facts: ContainerFacts) -> list[ComposeFile]:
    """Compose files that may run in production.

    When the repository deploys with Kubernetes, a compose file not named for
    production is the team's local development set-up, not how production runs.
    """
    named = [c for c in facts.compose_files if c.environment == "production"]
    if named:
        return named
    if ctx.facts.has(KubernetesFacts):
        kube = ctx.facts.get(KubernetesFacts)
        if kube.objects or kube.charts:
            return []
    return facts.production_compose()


@check("infrastructure.containers.health-checks", items=[HEALTH], needs=[ContainerFacts])
def health_checks(ctx: CheckContext) -> Iterator[Result]:
    """Compose services have a health check and a restart policy; Dockerfiles a HEALTHCHECK."""
    facts = ctx.get(ContainerFacts)
    dockerfiles = {d.path: d for d in facts.dockerfiles}
    compose = deployed_compose(ctx, facts)
    findings = [_service_health(service, dockerfiles) for c in compose for service in c.services]
    if findings:
        findings += unread_findings(facts, "compose")
        yield from decide(
            ctx,
            HEALTH,
            findings,
            passed="Every Compose service has a health check and a restart policy",
            unsettled=UNSETTLED,
            failed="Compose services without health checks or restarts",
        )
        return
    shipped = facts.production_dockerfiles()
    if shipped and all(d.final.healthcheck == "CMD" for d in shipped):
        yield from decide(
            ctx,
            HEALTH,
            [
                Finding(
                    Status.PASS,
                    f"{d.path} declares a HEALTHCHECK",
                    d.path,
                    d.final.healthcheck_line,
                )
                for d in shipped
            ]
            + unread_findings(facts, "dockerfile"),
            passed="Every production image declares a HEALTHCHECK",
            unsettled=UNSETTLED,
            failed="",
        )


@check("infrastructure.containers.resource-limits", items=[LIMITS], needs=[ContainerFacts])
def resource_limits(ctx: CheckContext) -> Iterator[Result]:
    """Compose services that may run in production declare memory and CPU limits."""
    facts = ctx.get(ContainerFacts)
    findings: list[Finding] = []
    for compose in deployed_compose(ctx, facts):
        for service in compose.services:
            missing = []
            if not service.memory_limit:
                missing.append("memory")
            if not service.cpu_limit:
                missing.append("CPU")
            if missing:
                findings.append(
                    Finding(
                        Status.FAIL,
                        f"{service_label(service)} has no {' or '.join(missing)} limit",
                        service.path,
                        service.limits_line or service.line,
                        _service_fix(
                            service,
                            "deploy:\n  resources:\n    limits:\n"
                            '      cpus: "1.0"\n      memory: 512M\n'
                            "    reservations:\n"
                            '      cpus: "0.25"\n      memory: 256M',
                        ),
                    )
                )
            else:
                findings.append(
                    Finding(
                        Status.PASS,
                        f"{service_label(service)} is limited to {service.memory_limit} memory "
                        f"and {service.cpu_limit} CPUs",
                        service.path,
                        service.limits_line or service.line,
                    )
                )
    if findings:
        findings += unread_findings(facts, "compose")
    yield from decide(
        ctx,
        LIMITS,
        findings,
        passed="Every Compose service has memory and CPU limits",
        unsettled=UNSETTLED,
        failed="Compose services without resource limits",
    )


def _image_finding(image: ImageRef, what: str, path: str, line: int | None) -> Finding:
    pinned = image.pinned
    if pinned is None:
        return Finding(
            Status.UNKNOWN,
            f"{what} uses {image.raw}, set at build or deploy time",
            path,
            line,
        )
    if pinned:
        how = "digest" if image.digest else f"tag {image.tag}"
        return Finding(Status.PASS, f"{what} pins {image.name} by {how}", path, line)
    tag = image.tag or "no tag (latest)"
    return Finding(
        Status.FAIL,
        f"{what} uses {image.name} with {'floating tag ' + tag if image.tag else tag}, "
        "so staging and production can run different versions",
        path,
        line,
        f"# {path}:{line}\n# pin a version (and ideally the digest), e.g.\n"
        f"{image.name}:<version>@sha256:<digest>",
    )


def _stage_findings(dockerfile: Dockerfile) -> list[Finding]:
    out = []
    for stage in dockerfile.stages:
        if stage.from_stage:
            continue
        what = f"FROM in {dockerfile.path}"
        finding = _image_finding(stage.image, what, dockerfile.path, stage.line)
        if finding.status is Status.FAIL:
            finding = Finding(
                finding.status,
                finding.text,
                finding.path,
                finding.line,
                f"# {dockerfile.path}:{stage.line}\n"
                f"FROM {stage.image.name}:<version>@sha256:<digest>"
                + (f" AS {stage.name}" if stage.name else ""),
            )
        out.append(finding)
    return out


def _compose_image_findings(compose: ComposeFile) -> list[Finding]:
    out = []
    for service in compose.services:
        if service.image is None or service.build_dockerfile:
            continue
        finding = _image_finding(
            service.image, service_label(service), service.path, service.image_line
        )
        if finding.status is Status.FAIL:
            finding = Finding(
                finding.status,
                finding.text,
                finding.path,
                finding.line,
                _service_fix(service, f"image: {service.image.name}:<version>@sha256:<digest>"),
            )
        out.append(finding)
    return out


@check("infrastructure.containers.image-versions", items=[VERSIONS], needs=[ContainerFacts])
def image_versions(ctx: CheckContext) -> Iterator[Result]:
    """Base images and Compose images are pinned to a version or digest, never ``latest``."""
    facts = ctx.get(ContainerFacts)
    findings: list[Finding] = []
    for dockerfile in facts.production_dockerfiles():
        findings.extend(_stage_findings(dockerfile))
    for compose in deployed_compose(ctx, facts):
        findings.extend(_compose_image_findings(compose))
    if findings:
        findings += unread_findings(facts)
    yield from decide(
        ctx,
        VERSIONS,
        findings,
        passed="Container images are pinned to versions",
        unsettled=UNSETTLED,
        failed="Container images on floating tags",
    )
