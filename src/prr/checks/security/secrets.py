"""Hard-coded secrets: decided from prr's own scan of every readable file.

Findings are reported by file, line, rule and fingerprint; the secret value is
never known to this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

from prr.checks.registry import CheckContext, check
from prr.collectors.secrets import RULE_TITLES, SecretFacts, SecretFinding
from prr.model.evidence import Evidence, Result

NO_SECRETS = "security.secrets-management.no-hardcoded-secrets-in-code"
MAX_EVIDENCE = 1000
"""Findings listed as evidence per result: every one in a real repository (JSON and SARIF
keep them all; terminal and Markdown views show the first few)."""

_READ_FROM_ENV = {
    ".py": 'os.environ["NAME"]',
    ".js": "process.env.NAME",
    ".ts": "process.env.NAME",
    ".go": 'os.Getenv("NAME")',
    ".java": 'System.getenv("NAME")',
    ".kt": 'System.getenv("NAME")',
    ".rb": 'ENV.fetch("NAME")',
    ".php": "getenv('NAME')",
    ".cs": 'Environment.GetEnvironmentVariable("NAME")',
    ".yaml": "valueFrom: {secretKeyRef: {name: app-secrets, key: NAME}}",
    ".yml": "valueFrom: {secretKeyRef: {name: app-secrets, key: NAME}}",
    ".tf": 'variable "name" { sensitive = true }  # set from the CI secret store',
}


def _evidence(finding: SecretFinding, note: str = "") -> Evidence:
    title = RULE_TITLES.get(finding.rule, finding.rule)
    return Evidence(
        f"{title} ({finding.rule}), fingerprint {finding.fingerprint}{note}",
        finding.path,
        finding.line,
    )


def _remediation(findings: tuple[SecretFinding, ...]) -> str:
    first = findings[0]
    suffix = PurePosixPath(first.path).suffix.lower()
    name = PurePosixPath(first.path).name
    if name.startswith(".env") or suffix == ".env":
        how = f"remove {first.path} from the repository, add it to .gitignore"
    else:
        example = _READ_FROM_ENV.get(suffix, "from an environment variable or a secret manager")
        how = f"read it at run time instead, e.g. {example}"
    return (
        f"1. Rotate each credential at its issuer now: it is in the git history.\n"
        f"2. Remove it from {first.location} ({first.rule}); {how}.\n"
        "3. Purge it from history (git filter-repo) if the repository is shared.\n"
        "4. For a reviewed false positive, add on that line or the line above:\n"
        f'   # prr:ignore secrets.{first.rule} reason="<why this is not a secret>"\n'
    )


@check(
    "security.hardcoded-secrets",
    items=[NO_SECRETS],
    needs=[SecretFacts],
    title="No credentials, keys or tokens are committed to the repository",
)
def hardcoded_secrets(ctx: CheckContext) -> Iterator[Result]:
    """Every readable file is scanned; any unsuppressed finding outside test data fails."""
    facts = ctx.get(SecretFacts)
    active = facts.active
    marked = [_evidence(f, f"; suppressed: {f.reason}") for f in facts.suppressed]
    marked += [_evidence(f, "; in test data, not counted") for f in facts.in_test_data]
    if active:
        shown = active[:MAX_EVIDENCE]
        more = f" (first {MAX_EVIDENCE} shown)" if len(active) > MAX_EVIDENCE else ""
        listed = ", ".join(f"{f.location} ({f.rule})" for f in active[:5])
        yield ctx.failed(
            NO_SECRETS,
            f"{len(active)} hard-coded credential(s) found{more}: {listed}"
            + (" …" if len(active) > 5 else "")
            + ".",
            *[_evidence(f) for f in shown],
            *marked[:MAX_EVIDENCE],
            remediation=_remediation(active),
        )
        return
    if facts.unscanned:
        names = ", ".join(f"{u.path} ({u.reason})" for u in facts.unscanned[:5])
        yield ctx.unknown(
            NO_SECRETS,
            f"No credentials found in {facts.files_scanned} file(s), but "
            f"{len(facts.unscanned)} could not be scanned: {names}"
            + (" …" if len(facts.unscanned) > 5 else "")
            + ".",
            *[Evidence(f"not scanned: {u.reason}", u.path) for u in facts.unscanned[:MAX_EVIDENCE]],
            *marked[:MAX_EVIDENCE],
        )
        return
    if not facts.files_scanned:
        return
    notes = []
    if facts.suppressed:
        notes.append(f"{len(facts.suppressed)} suppressed with a reason")
    if facts.in_test_data:
        notes.append(f"{len(facts.in_test_data)} in test data not counted")
    yield ctx.passed(
        NO_SECRETS,
        f"No hard-coded credentials in the {facts.files_scanned} text file(s) scanned "
        f"({facts.bytes_scanned / 1_000_000:.1f} MB) at the current commit"
        + (f" ({'; '.join(notes)})" if notes else "")
        + "; git history was not scanned.",
        Evidence(
            f"{facts.files_scanned} files scanned, {facts.binary_skipped} binary files skipped",
            value=facts.files_scanned,
        ),
        *marked[:MAX_EVIDENCE],
    )
