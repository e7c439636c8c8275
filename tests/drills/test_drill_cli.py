"""The drill runner: plans, refusals, confirmation, recorded outcomes and staleness."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from prr.drills.base import (
    DRILLS,
    Drill,
    DrillContext,
    DrillOption,
    DrillOutcome,
    DrillPlan,
    execute,
)
from prr.drills.evidence import fresh_results, save_outcome
from prr.engine.scan import ScanOptions, run_scan
from prr.model.evidence import Evidence, Source, Status
from prr.store.db import Store

ITEM = "reliability.backup-recovery.backup-restoration-tested"
REPO_YAML = """service: shop
environments:
  staging: {production: false}
  production: {production: true}
"""


class _Probe(Drill):
    """A drill that changes a file and must put it back."""

    name = "probe"
    title = "test drill"
    items: ClassVar[tuple[str, ...]] = (ITEM,)
    options: ClassVar[tuple[DrillOption, ...]] = (
        DrillOption("outcome", str, "pass", "pass or fail"),
        DrillOption("sleep", float, 0.0, "seconds to wait"),
    )
    marker: ClassVar[Path | None] = None

    def plan(self, ctx: DrillContext) -> DrillPlan:
        return DrillPlan(
            self.name,
            ctx.environment,
            ("a marker file",),
            ("write", "wait", "remove"),
            5.0,
            None,
            True,
        )

    async def run(self, ctx: DrillContext) -> DrillOutcome:
        started = dt.datetime.now(dt.UTC)
        assert self.marker is not None
        self.marker.write_text("changed")
        try:
            ctx.note("marker written")
            await asyncio.sleep(float(ctx.options["sleep"]))
            passed = ctx.options["outcome"] == "pass"
            result = self.result(
                ITEM,
                passed,
                "restore took 3s",
                Evidence("restored 3 tables"),
                environment=ctx.environment,
                fields={"restore_duration": "3s"},
            )
            return DrillOutcome(
                self.name,
                ctx.environment,
                passed,
                "restored",
                started,
                dt.datetime.now(dt.UTC),
                {"seconds": 3},
                [result],
                list(ctx.log),
            )
        finally:
            self.marker.unlink()


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[type[_Probe]]:
    _Probe.marker = tmp_path / "marker"
    DRILLS["probe"] = _Probe
    yield _Probe
    DRILLS.pop("probe")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "prr.yaml").write_text(REPO_YAML)
    return root


def test_run_records_evidence_that_scans_count(cli, probe, repo: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'prr.db'}"
    run = cli("drill", "run", "probe", str(repo), "--env", "staging", "--yes", "--database", url)
    assert run.exit_code == 0, run.stderr
    assert (
        "touches: a marker file" in run.stdout
        and "PASSED" in run.stdout
        and "recorded as drill" in run.stdout
    )
    assert not (tmp_path / "marker").exists()
    assessment = run_scan(ScanOptions(root=repo, collectors=[], drill_store_url=url))
    item = next(i for i in assessment.items if i.id == ITEM)
    assert item.status is Status.PASS and item.source is Source.DRILL
    assert "verified by drill on" in item.message and item.fields["restore_duration"] == "3s"
    failed = cli(
        "drill",
        "run",
        "probe",
        str(repo),
        "-e",
        "staging",
        "-y",
        "-o",
        "outcome=fail",
        "--database",
        url,
    )
    assert failed.exit_code == 1 and "FAILED" in failed.stdout


def test_refusals(cli, probe, repo: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'prr.db'}"
    production = cli(
        "drill", "run", "probe", str(repo), "--env", "production", "--yes", "--database", url
    )
    assert production.exit_code == 2 and "production: true" in production.stderr
    unconfirmed = cli("drill", "run", "probe", str(repo), "--env", "staging", "--database", url)
    assert unconfirmed.exit_code == 2 and "--yes" in unconfirmed.stderr
    assert cli("drill", "run", "nosuch", str(repo), "--yes").exit_code == 2
    assert cli("drill", "run", "probe", str(repo), "--env", "qa", "--yes").exit_code == 2
    bad = cli("drill", "run", "probe", str(repo), "--yes", "-o", "sleep=soon", "--database", url)
    assert bad.exit_code == 2 and "sleep" in bad.stderr
    allowed = cli(
        "drill",
        "run",
        "probe",
        str(repo),
        "--env",
        "production",
        "--yes",
        "--allow-production",
        "--database",
        url,
    )
    assert allowed.exit_code == 0


def test_timeout_cancels_and_cleans_up(probe, repo: Path, tmp_path: Path) -> None:
    from prr.model.target import load_target

    target = load_target(repo)
    ctx = DrillContext(
        "staging",
        target.environments["staging"],
        target,
        {"outcome": "pass", "sleep": 30.0},
        timeout_s=0.2,
    )
    outcome = asyncio.run(execute(_Probe(), ctx))
    assert not outcome.passed and "did not finish within 0.2s" in outcome.summary
    assert not (tmp_path / "marker").exists(), "the drill cleaned up when it was stopped"


def test_stale_drills_stop_counting(probe, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'prr.db'}")
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=120)
    result = _Probe().result(ITEM, True, "ok", environment="staging")
    save_outcome(
        store,
        "shop",
        DrillOutcome("probe", "staging", True, "ok", long_ago, long_ago, {}, [result]),
    )
    results, notes = fresh_results(store, "shop")
    assert results == [] and "no longer counts" in notes[0]
    results, notes = fresh_results(store, "shop", max_age_days=365)
    assert len(results) == 1 and results[0].status is Status.PASS
    store.close()
