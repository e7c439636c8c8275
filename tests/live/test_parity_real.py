"""Environment parity end to end: two real Redis servers, the real collector, the real engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from prr.collectors.live.redis import RedisCollector
from prr.engine.scan import ScanOptions, run_scan
from prr.model.evidence import Status
from tests.live.redisserver import redis_server

MIRRORS = "deployment.environment-parity.staging-mirrors-production"
PASSWORD = "s3cret-parity-pw"


def _scan(repo: Path, staging: str, production: str, monkeypatch: pytest.MonkeyPatch):
    (repo / "prr.yaml").write_text(
        "service: cart\nenvironments:\n"
        "  staging:\n    redis: [{name: cache, url: 'env:STAGING_REDIS'}]\n"
        "  production:\n    production: true\n    redis: [{name: cache, url: 'env:PROD_REDIS'}]\n"
    )
    import os

    os.environ["STAGING_REDIS"], os.environ["PROD_REDIS"] = staging, production
    try:
        return run_scan(
            ScanOptions(root=repo, live=True, collectors=[], live_collectors=[RedisCollector])
        )
    finally:
        del os.environ["STAGING_REDIS"], os.environ["PROD_REDIS"]


def _item(assessment, item_id: str):
    return next(i for i in assessment.items if i.id == item_id)


def test_drift_between_real_environments_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    base = ("--maxmemory", "64mb")
    with (
        redis_server(
            tmp_path, *base, "--maxmemory-policy", "allkeys-lru", password=PASSWORD, label="prod"
        ) as prod,
        redis_server(
            tmp_path, *base, "--maxmemory-policy", "noeviction", password=PASSWORD, label="stg"
        ) as stg,
        redis_server(
            tmp_path, *base, "--maxmemory-policy", "allkeys-lru", password=PASSWORD, label="stg2"
        ) as same,
    ):
        drifted = _scan(repo, stg.url(), prod.url(), monkeypatch)
        mirrors = _item(drifted, MIRRORS)
        assert mirrors.status is Status.FAIL, mirrors.message
        assert "maxmemory-policy" in mirrors.message
        assert PASSWORD not in str([r.to_dict() for i in drifted.items for r in i.results])
        identical = _scan(repo, same.url(), prod.url(), monkeypatch)
        assert _item(identical, MIRRORS).status is Status.PASS, _item(identical, MIRRORS).message
