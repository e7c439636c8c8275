"""The live part of the engine: SSRF guard, bounded collection, parity, live evidence wins."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from prr.checks.registry import Check, CheckContext
from prr.collectors.live.base import LiveCollector, LiveContext, LiveLimits, ParityView
from prr.collectors.live.guard import AddressGuard, ForbiddenAddress, redact_url
from prr.engine.scan import ScanOptions, run_scan
from prr.model.evidence import Status
from prr.model.target import TargetError
from tests.engine.test_scan import RATE, Flags, _rate, _static

TWO_ENVS = """service: s
environments:
  staging: {production: false, expected_differences: [app.replicas]}
  production: {production: true}
"""


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/",
        "http://169.254.10.1:8080/",
        "http://[::ffff:169.254.169.254]/",
        "http://0.0.0.0/",
    ],
)
def test_guard_refuses_metadata_and_link_local(url: str) -> None:
    with pytest.raises(ForbiddenAddress):
        asyncio.run(AddressGuard().check_url(url))


def test_guard_allows_loopback_and_private_and_can_allow_link_local() -> None:
    assert asyncio.run(AddressGuard().check_url("http://127.0.0.1:9/")) == ["127.0.0.1"]
    assert asyncio.run(AddressGuard().check_url("http://10.1.2.3/")) == ["10.1.2.3"]
    assert asyncio.run(AddressGuard(allow_link_local=True).check_url("http://169.254.10.1/"))
    with pytest.raises(ForbiddenAddress):
        asyncio.run(AddressGuard(allow_link_local=True).check_url("http://169.254.169.254/"))


def test_redact_url() -> None:
    assert (
        redact_url("postgresql://app:hunter2@db:5432/x?sslmode=require")
        == "postgresql://app:***@db:5432/x?…"
    )
    assert "hunter2" not in redact_url("redis://:hunter2@cache:6379/0")


@dataclass(frozen=True)
class Settings(ParityView):
    values: dict[str, Any]

    def parity(self) -> dict[str, Any]:
        return self.values


def _live_collector(
    per_env: dict[str, Any], delay: float = 0.0, crash: bool = False
) -> type[LiveCollector]:
    class Fake(LiveCollector):
        name = "fake"
        facts_type = Settings

        async def collect(self, ctx: LiveContext) -> Settings:
            await asyncio.sleep(delay)
            if crash:
                raise RuntimeError("password=hunter2")
            return Settings(per_env[ctx.environment])

    return Fake


def _live_check(ctx: CheckContext):
    values = ctx.get(Settings).values
    if values.get("limit"):
        yield ctx.passed(RATE, "429 after burst")
    else:
        yield ctx.failed(RATE, "no 429 after burst")


LIVE_CHECKS = [
    Check("live.rate", "rate", (RATE,), (Settings,), _live_check, __name__, scope="environment")
]


def _scan(tmp_path: Path, per_env: dict[str, Any], checks: list[Check], **kw: Any):
    from prr.checks.deployment import parity

    parity_check = Check(
        "deployment.live-parity",
        "parity",
        (parity.STAGING_MIRRORS, parity.SAME_VERSIONS),
        (),
        parity.live_parity,
        parity.__name__,
        scope="environments",
    )
    options = ScanOptions(
        root=tmp_path,
        collectors=[_static(Flags(True, True))],
        checks=[*checks, parity_check],
        live=True,
        live_collectors=[_live_collector(per_env, **kw.pop("collector", {}))],
        live_limits=kw.pop("limits", None),
        **kw,
    )
    return run_scan(options)


def _item(assessment, item_id: str):
    return next(i for i in assessment.items if i.id == item_id)


def test_live_evidence_wins_and_disagreement_is_reported(tmp_path: Path) -> None:
    (tmp_path / "prr.yaml").write_text(TWO_ENVS)
    file_check = Check("test.rate", "rate", (RATE,), (Flags,), _rate, __name__)
    per_env = {"staging": {"limit": False}, "production": {"limit": False}}
    assessment = _scan(tmp_path, per_env, [file_check, *LIVE_CHECKS])
    rate = _item(assessment, RATE)
    assert rate.status is Status.FAIL
    assert "files and live systems disagree" in rate.message
    assert {r.environment for r in rate.results} == {None, "staging", "production"}
    assert assessment.environments == ["staging", "production"]


def test_parity_drift_and_declared_differences(tmp_path: Path) -> None:
    (tmp_path / "prr.yaml").write_text(TWO_ENVS)
    same = {"tls.protocols": ["TLSv1.2", "TLSv1.3"], "pg.version": "16", "limit": True}
    drift = {
        "staging": {**same, "app.replicas": 1, "pg.version": "15"},
        "production": {**same, "app.replicas": 3},
    }
    assessment = _scan(tmp_path, drift, LIVE_CHECKS)
    mirrors = _item(assessment, "deployment.environment-parity.staging-mirrors-production")
    assert mirrors.status is Status.FAIL and "pg.version" in mirrors.message
    assert "app.replicas" not in mirrors.message, "declared differences are not drift"
    assert (
        _item(assessment, "deployment.environment-parity.same-dependencies-versions").status
        is Status.FAIL
    )
    identical = _scan(tmp_path, {"staging": same, "production": same}, LIVE_CHECKS)
    assert (
        _item(identical, "deployment.environment-parity.staging-mirrors-production").status
        is Status.PASS
    )


def test_slow_and_crashing_live_collectors_are_bounded(tmp_path: Path) -> None:
    (tmp_path / "prr.yaml").write_text(TWO_ENVS)
    per_env = {"staging": {"limit": True}, "production": {"limit": True}}
    slow = _scan(
        tmp_path,
        per_env,
        LIVE_CHECKS,
        collector={"delay": 5},
        limits=LiveLimits(total_timeout_s=0.2),
    )
    rate = _item(slow, RATE)
    assert rate.status is Status.UNKNOWN and "did not finish within 0.2s" in rate.message
    crashed = _scan(tmp_path, per_env, LIVE_CHECKS, collector={"crash": True})
    rate = _item(crashed, RATE)
    assert rate.status is Status.UNKNOWN and "collector crashed: RuntimeError" in rate.message
    assert "hunter2" not in str([str(e) for e in crashed.errors]) + rate.message


def test_environment_selection(tmp_path: Path, cli) -> None:
    (tmp_path / "prr.yaml").write_text(TWO_ENVS)
    per_env = {"staging": {"limit": True}, "production": {"limit": False}}
    only_staging = _scan(tmp_path, per_env, LIVE_CHECKS, environments=["staging"])
    assert _item(only_staging, RATE).status is Status.PASS
    with pytest.raises(TargetError, match="no environment 'qa'"):
        _scan(tmp_path, per_env, LIVE_CHECKS, environments=["qa"])
    run = cli("scan", str(tmp_path), "--env", "staging")
    assert run.exit_code == 2, "--env needs --live"
    (tmp_path / "prr.yaml").write_text("service: s\n")
    run = cli("scan", str(tmp_path), "--live")
    assert run.exit_code == 2 and "none are described" in run.stderr
