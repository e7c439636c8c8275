"""Dependency checks: vulnerability scanning coverage and locked versions.

Decided from the repository's manifests and lock files, its Dependabot or
Renovate configuration and the scanners its CI pipelines run.
"""

from __future__ import annotations

from collections.abc import Iterator

from prr.checks.registry import CheckContext, check
from prr.collectors.dependencies import DEPENDABOT_ECOSYSTEMS, DependencyFacts, Manifest
from prr.collectors.pipelines import PipelineFacts
from prr.model.evidence import Evidence, Result, ScanError

SCANNED = "security.application-security.dependency-vulnerabilities-scanned"
LOCKED = "deployment.environment-parity.same-dependencies-versions"

SCANNER_ECOSYSTEMS: dict[str, tuple[str, ...] | None] = {
    "npm audit": ("npm",),
    "pip-audit": ("pypi",),
    "safety": ("pypi",),
    "govulncheck": ("go",),
    "cargo audit": ("cargo",),
    "bundler-audit": ("rubygems",),
    "composer audit": ("composer",),
}
"""Scanners limited to one ecosystem; every other dependency scanner covers all."""

_TO_DEPENDABOT = {
    "pypi": "pip",
    "npm": "npm",
    "go": "gomod",
    "maven": "maven",
    "gradle": "gradle",
    "rubygems": "bundler",
    "cargo": "cargo",
    "composer": "composer",
}
assert set(_TO_DEPENDABOT.values()) <= set(DEPENDABOT_ECOSYSTEMS)

LOCK_COMMANDS = {
    "pypi": "pip-compile (pip-tools), `uv lock` or `poetry lock`, and commit the lock file",
    "npm": (
        "`npm install` (or yarn/pnpm install) and commit package-lock.json,"
        " yarn.lock or pnpm-lock.yaml"
    ),
    "go": "`go mod tidy` and commit go.sum",
    "maven": "replace version ranges, LATEST/RELEASE and -SNAPSHOT with exact versions",
    "gradle": "`./gradlew dependencies --write-locks` and commit gradle.lockfile",
    "rubygems": "`bundle lock` and commit Gemfile.lock",
    "cargo": "`cargo generate-lockfile` and commit Cargo.lock",
    "composer": "`composer update --lock` and commit composer.lock",
}


def _errors(ctx: CheckContext, *collectors: str) -> list[ScanError]:
    return ctx.facts.errors_for(lambda e: e.collector in collectors)


def _error_evidence(errors: list[ScanError]) -> list[Evidence]:
    return [Evidence(f"could not read: {e.reason}", e.source, e.line) for e in errors]


def _listed(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


@check(
    "security.dependency-scanning",
    items=[SCANNED],
    needs=[DependencyFacts],
    title="Every ecosystem's dependencies are scanned for vulnerabilities",
)
def dependency_scanning(ctx: CheckContext) -> Iterator[Result]:
    """Each manifest is covered by a CI dependency scanner or by Dependabot/Renovate."""
    deps = ctx.get(DependencyFacts)
    dep_errors = _errors(ctx, "dependencies")
    if not deps.manifests:
        if dep_errors:
            yield ctx.unknown(
                SCANNED,
                "Dependency manifests could not be read; cannot tell what is scanned.",
                *_error_evidence(dep_errors),
            )
        return
    pipelines = ctx.get(PipelineFacts) if ctx.facts.has(PipelineFacts) else None
    scanners = []
    if pipelines is not None:
        scanners = [
            (p, j, a)
            for p in pipelines.ci
            for j, a in p.actions("security-scan")
            if a.category == "dependency"
        ]
    covered_by_scanner: set[str] = set()
    all_ecosystems = False
    for _, _, action in scanners:
        limited = SCANNER_ECOSYSTEMS.get(action.tool)
        if limited is None:
            all_ecosystems = True
        else:
            covered_by_scanner.update(limited)
    uncovered: list[Manifest] = []
    for manifest in deps.manifests:
        if all_ecosystems or manifest.ecosystem in covered_by_scanner:
            continue
        if deps.covering(manifest):
            continue
        uncovered.append(manifest)
    evidence = [
        Evidence(f"{a.tool} dependency scan in job {j.name}", a.path, a.line)
        for _, j, a in scanners[:10]
    ]
    evidence += [
        Evidence(
            f"{c.tool} updates {c.ecosystem or 'every ecosystem'}"
            + (f" in {', '.join('/' + d for d in c.directories)}" if c.directories else ""),
            c.path,
            c.line,
        )
        for c in deps.update_configs
        if c.enabled
    ]
    if not uncovered:
        ecosystems = ", ".join(deps.ecosystems)
        how = []
        if scanners:
            how.append("CI scanners " + ", ".join(sorted({a.tool for _, _, a in scanners})))
        if deps.update_configs:
            how.append(" and ".join(sorted({c.tool.capitalize() for c in deps.update_configs})))
        yield ctx.passed(
            SCANNED,
            f"Dependencies of every ecosystem ({ecosystems}) are covered by {' and '.join(how)}.",
            *evidence,
        )
        return
    pipe_errors = _errors(ctx, "pipelines")
    if dep_errors or pipe_errors or pipelines is None:
        reason = (
            "pipeline facts are unavailable"
            if pipelines is None
            else "some manifests or pipeline files could not be read"
        )
        yield ctx.unknown(
            SCANNED,
            f"{len(uncovered)} manifest(s) have no visible vulnerability scanning, but {reason}.",
            *_error_evidence(dep_errors + pipe_errors),
            *evidence,
        )
        return
    entries = []
    for manifest in uncovered:
        directory = "/" + manifest.directory
        entries.append(
            f"  - package-ecosystem: {_TO_DEPENDABOT[manifest.ecosystem]}\n"
            f'    directory: "{directory}"\n    schedule:\n      interval: weekly\n'
        )
    has_dependabot = any(c.tool == "dependabot" for c in deps.update_configs)
    snippet = (
        "# .github/dependabot.yml"
        + (" (add to updates:)\n" if has_dependabot else "\nversion: 2\nupdates:\n")
        + "".join(dict.fromkeys(entries))
        + "# and in CI, fail on known vulnerabilities, e.g.: osv-scanner -r .\n"
    )
    yield ctx.failed(
        SCANNED,
        f"{len(uncovered)} manifest(s) are not scanned for known vulnerabilities: "
        + _listed([f"{m.path} ({m.ecosystem})" for m in uncovered])
        + ". No CI dependency scanner or Dependabot/Renovate entry covers them.",
        *[
            Evidence(f"{m.ecosystem} manifest without vulnerability scanning", m.path, m.line)
            for m in uncovered
        ],
        *evidence,
        remediation=snippet,
    )


@check(
    "security.dependencies-locked",
    items=[LOCKED],
    needs=[DependencyFacts],
    title="Dependency versions are locked for every ecosystem",
)
def dependencies_locked(ctx: CheckContext) -> Iterator[Result]:
    """Every manifest has a committed lock file, or pins every dependency exactly."""
    deps = ctx.get(DependencyFacts)
    errors = _errors(ctx, "dependencies")
    manifests = [m for m in deps.manifests if m.dependencies]
    if not manifests:
        if errors:
            yield ctx.unknown(
                LOCKED,
                "Dependency manifests could not be read; cannot tell whether versions are locked.",
                *_error_evidence(errors),
            )
        return
    unlocked = [m for m in manifests if not m.locked]
    if unlocked:
        evidence = []
        for manifest in unlocked:
            loose = manifest.unpinned
            sample = ", ".join(f"{d.name} {d.version or '(any)'}" for d in loose[:3])
            evidence.append(
                Evidence(
                    f"{manifest.ecosystem}: no lock file; {len(loose)} unpinned ({sample})",
                    manifest.path,
                    loose[0].line if loose and loose[0].line else manifest.line,
                )
            )
        fixes = [
            f"{m.path}: {LOCK_COMMANDS.get(m.ecosystem, 'commit a lock file')}" for m in unlocked
        ]
        yield ctx.failed(
            LOCKED,
            f"{len(unlocked)} manifest(s) have neither a lock file nor exact versions: "
            + _listed([m.path for m in unlocked])
            + "; staging and production builds can resolve different versions.",
            *evidence,
            remediation="\n".join(dict.fromkeys(fixes)),
        )
        return
    if errors:
        yield ctx.unknown(
            LOCKED,
            "Some manifests could not be read; the others are locked.",
            *_error_evidence(errors),
        )
        return
    yield ctx.passed(
        LOCKED,
        f"All {len(manifests)} manifest(s) are locked: "
        + _listed([f"{m.path} → {m.lockfile or 'exact versions'}" for m in manifests])
        + ".",
        *[
            Evidence(
                f"locked by {m.lockfile}" if m.lockfile else "every version pinned", m.path, m.line
            )
            for m in manifests
        ],
    )
