"""Secrets in Dockerfiles and Compose files: credentials written into ``ENV``, ``ARG``
or a service's ``environment``, and secrets passed as build arguments.

Only names and locations are reported, never values. These checks can fail
their items but never pass them: a clean Dockerfile says nothing about the rest
of the repository or where secrets live.
"""

from __future__ import annotations

from collections.abc import Iterator

from prr.checks.infrastructure.containers import UNSETTLED, deployed_compose, unread_findings
from prr.checks.infrastructure.terraform import Finding, decide
from prr.checks.registry import CheckContext, check
from prr.checks.security.terraform import is_secret_name
from prr.collectors.containers import ContainerFacts, EnvSetting
from prr.model.evidence import Result, Status

HARDCODED = "security.secrets-management.no-hardcoded-secrets-in-code"
VAULT = "security.secrets-management.secrets-in-secure-vault"


def _written(setting: EnvSetting) -> bool:
    """A literal credential: a secret-named variable with a value, or a URL with a password."""
    return setting.url_credentials or (setting.literal and is_secret_name(setting.name))


def _dockerfile_secrets(facts: ContainerFacts) -> tuple[list[Finding], list[Finding]]:
    hardcoded: list[Finding] = []
    build_args: list[Finding] = []
    for dockerfile in facts.production_dockerfiles():
        settings = list(dockerfile.global_args)
        for stage in dockerfile.stages:
            settings.extend(stage.settings)
        for setting in settings:
            if _written(setting):
                hardcoded.append(
                    Finding(
                        Status.FAIL,
                        f"{setting.kind} {setting.name} in {dockerfile.path} has a literal value",
                        dockerfile.path,
                        setting.line,
                        _hardcoded_fix(dockerfile.path, setting),
                    )
                )
            if setting.kind == "ARG" and is_secret_name(setting.name):
                build_args.append(
                    Finding(
                        Status.FAIL,
                        f"{dockerfile.path} takes {setting.name} as a build argument, "
                        "which stays readable in the image history",
                        dockerfile.path,
                        setting.line,
                        f"# {dockerfile.path}:{setting.line}\n# replace ARG {setting.name} with "
                        "a build secret:\n"
                        f"RUN --mount=type=secret,id={setting.name.lower()},"
                        f"env={setting.name} <command that needs it>\n"
                        f"# docker build --secret id={setting.name.lower()},env={setting.name} .",
                    )
                )
    return hardcoded, build_args


def _hardcoded_fix(path: str, setting: EnvSetting) -> str:
    if setting.kind == "ENV":
        return (
            f"# {path}:{setting.line}\n# delete the value of {setting.name} from ENV; the "
            "platform injects it at run time\n# from the secret manager (Kubernetes Secret, "
            "ECS secrets, docker run --env-file)"
        )
    return (
        f"# {path}:{setting.line}\n# drop the default of ARG {setting.name}; use a build secret:\n"
        f"RUN --mount=type=secret,id={setting.name.lower()},env={setting.name} <command>"
    )


def _compose_secrets(ctx: CheckContext, facts: ContainerFacts) -> list[Finding]:
    findings: list[Finding] = []
    for compose in deployed_compose(ctx, facts):
        for service in compose.services:
            for setting in service.environment:
                if _written(setting):
                    findings.append(
                        Finding(
                            Status.FAIL,
                            f"service {service.name} sets {setting.name} to a literal value "
                            f"in {compose.path}",
                            compose.path,
                            setting.line,
                            f"# {compose.path}:{setting.line}\nservices:\n  {service.name}:\n"
                            f"    environment:\n      {setting.name}: ${{{setting.name}}}"
                            "  # from the deploy environment\n"
                            "    # or: secrets: [<name>] with a top-level secrets: entry",
                        )
                    )
    return findings


@check(
    "security.containers.secrets",
    items=[HARDCODED, VAULT],
    needs=[ContainerFacts],
)
def container_secrets(ctx: CheckContext) -> Iterator[Result]:
    """No credential is written into a Dockerfile or a production Compose file, and no
    secret is passed as a build argument."""
    facts = ctx.get(ContainerFacts)
    hardcoded, build_args = _dockerfile_secrets(facts)
    hardcoded += _compose_secrets(ctx, facts)
    if hardcoded:
        yield from decide(
            ctx,
            HARDCODED,
            hardcoded + unread_findings(facts),
            passed="",
            unsettled=UNSETTLED,
            failed="Credentials written into container files",
        )
    outside = hardcoded + build_args
    if outside:
        yield from decide(
            ctx,
            VAULT,
            outside,
            passed="",
            unsettled=UNSETTLED,
            failed="Secrets kept in container files instead of a secret manager",
        )
