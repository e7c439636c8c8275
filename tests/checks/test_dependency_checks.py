"""Dependency checks: vulnerability scanning coverage and locked versions."""

from __future__ import annotations

from pathlib import Path

from prr.collectors.dependencies import DependenciesCollector
from prr.collectors.pipelines import PipelinesCollector
from prr.model.evidence import Status
from tests.collectors.test_pipelines import write
from tests.helpers import by_item, collect, run_check

SCANNED = "security.application-security.dependency-vulnerabilities-scanned"
LOCKED = "deployment.environment-parity.same-dependencies-versions"

REPO = {
    "requirements.txt": "flask==3.0.3\n",
    "web/package.json": '{"dependencies": {"react": "^18.2.0"}}\n',
    "web/package-lock.json": "{}\n",
}
DEPENDABOT = """
version: 2
updates:
  - package-ecosystem: pip
    directory: "/"
    schedule: {interval: weekly}
"""
NPM_AUDIT = """
on: [pull_request]
jobs:
  audit:
    runs-on: ubuntu-latest
    steps:
      - run: npm audit --audit-level=high
        working-directory: web
"""


def run(root: Path, check_id: str, item: str):  # type: ignore[no-untyped-def]
    facts = collect(root, PipelinesCollector, DependenciesCollector)
    return by_item(run_check(check_id, facts)).get(item)


def test_dependency_scanning_by_bot_and_ci_scanner(tmp_path: Path) -> None:
    good = write(
        tmp_path / "good",
        {**REPO, ".github/dependabot.yml": DEPENDABOT, ".github/workflows/audit.yml": NPM_AUDIT},
    )
    result = run(good, "security.dependency-scanning", SCANNED)
    assert result.status is Status.PASS
    assert {(e.path, e.line) for e in result.evidence} == {
        (".github/workflows/audit.yml", 6),
        (".github/dependabot.yml", 3),
    }

    bot_only = write(tmp_path / "bot", {**REPO, ".github/dependabot.yml": DEPENDABOT})
    result = run(bot_only, "security.dependency-scanning", SCANNED)
    assert result.status is Status.FAIL
    assert "web/package.json (npm)" in result.message
    assert 'package-ecosystem: npm\n    directory: "/web"' in result.remediation

    broken_ci = write(
        tmp_path / "broken",
        {**REPO, ".github/dependabot.yml": DEPENDABOT, ".github/workflows/audit.yml": "on: [\n"},
    )
    assert run(broken_ci, "security.dependency-scanning", SCANNED).status is Status.UNKNOWN

    osv = write(
        tmp_path / "osv",
        {
            **REPO,
            ".github/workflows/ci.yml": "on: push\njobs:\n  s:\n    steps:\n      - uses: google/osv-scanner-action/osv-scanner-action@v2\n",
        },
    )
    assert run(osv, "security.dependency-scanning", SCANNED).status is Status.PASS
    assert (
        run(
            write(tmp_path / "none", {"main.c": "int main(){}\n"}),
            "security.dependency-scanning",
            SCANNED,
        )
        is None
    )


def test_dependencies_locked(tmp_path: Path) -> None:
    good = write(tmp_path / "good", REPO)
    result = run(good, "security.dependencies-locked", LOCKED)
    assert result.status is Status.PASS
    assert "web/package.json → web/package-lock.json" in result.message

    unlocked = write(
        tmp_path / "bad",
        {
            "requirements.txt": "flask>=3\nrequests\n",
            "web/package.json": '{\n  "dependencies": {\n    "react": "^18.2.0"\n  }\n}\n',
        },
    )
    result = run(unlocked, "security.dependencies-locked", LOCKED)
    assert result.status is Status.FAIL
    assert {(e.path, e.line) for e in result.evidence} == {
        ("requirements.txt", 1),
        ("web/package.json", 3),
    }
    assert "package-lock.json" in result.remediation

    broken = write(tmp_path / "broken", {**REPO, "pyproject.toml": "[project\n"})
    assert run(broken, "security.dependencies-locked", LOCKED).status is Status.UNKNOWN
    assert (
        run(write(tmp_path / "none", {"README.md": "x\n"}), "security.dependencies-locked", LOCKED)
        is None
    )
