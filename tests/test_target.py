"""prr.yaml and catalog-info.yaml: defaults, validation with positions, no inline secrets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from prr.model.checklist import Stage
from prr.model.target import TargetError, load_target, resolve_secret


def test_defaults_without_files(tmp_path: Path) -> None:
    target = load_target(tmp_path)
    assert target.service == tmp_path.name
    assert target.stage is Stage.GA and target.checklist == "service" and target.traits is None


def test_catalog_fills_owner_and_stage(tmp_path: Path) -> None:
    (tmp_path / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: shop\n"
        "  annotations:\n    pagerduty.com/service-id: P123\n  links:\n    - url: https://r\n      title: Runbook\n"
        "spec:\n  owner: team-a\n  lifecycle: experimental\n"
    )
    target = load_target(tmp_path)
    assert (target.service, target.owner, target.stage) == ("shop", "team-a", Stage.EXPERIMENT)
    assert target.catalog and target.catalog.annotations["pagerduty.com/service-id"] == "P123"
    (tmp_path / "prr.yaml").write_text("service: shop-api\nstage: beta\n")
    target = load_target(tmp_path)
    assert (target.service, target.owner, target.stage) == ("shop-api", "team-a", Stage.BETA)


def test_full_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "prr.yaml").write_text(
        "service: shop\nowner: team\ntier: 1\ntraits: [database, cache]\n"
        "environments:\n  production:\n    production: true\n"
        "    endpoints: [{url: 'https://shop.example.com', auth_header: 'env:AUTH'}]\n"
        "    postgres: [{url: 'env:PG_URL'}]\n"
        "waivers:\n  - {id: a.b.c, reason: because, expires: 2027-01-01}\n"
    )
    target = load_target(tmp_path)
    assert target.environments["production"].production
    assert target.waivers[0].expires is not None
    monkeypatch.setenv("PG_URL", "postgresql://u:p@h/db")
    assert (
        resolve_secret(target.environments["production"].postgres[0].url) == "postgresql://u:p@h/db"
    )


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("service: s\nstage: alpha\n", 2, "stage"),
        ("service: s\nowners: x\n", 2, "unknown key 'owners'"),
        ("owner: x\n", 1, "missing required key 'service'"),
        ("service: s\nwaivers:\n  - id: x\n", 3, "missing required key 'reason'"),
        (
            "service: s\nenvironments:\n  prod:\n    postgres: [{url: 'postgresql://u:hunter2@h/db'}]\n",
            4,
            "contains a password",
        ),
        ("service: s\ntraits: [databse]\n", 2, "traits"),
        ("service: s\nslo:\n  latency_p95: fast\n", 3, "not a duration"),
        ("service: s\nslo:\n  latency_p95: 0.3\n", 3, "with its unit"),
        ("service: s\nslo:\n  latency_p95: 0ms\n", 3, "longer than zero"),
        ("service: s\nslo: {latency_p99: 1s}\n", 2, "unknown key 'latency_p99'"),
        ("service: [\n", 2, "invalid YAML"),
    ],
)
def test_errors_are_located(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    (tmp_path / "prr.yaml").write_text(text)
    with pytest.raises(TargetError) as info:
        load_target(tmp_path)
    problem = info.value.problems[0]
    assert problem.line == line, str(info.value)
    assert fragment in str(info.value)
    assert "hunter2" not in str(info.value)


def test_slo_latency_target(tmp_path: Path) -> None:
    assert load_target(tmp_path).slo.latency_p95 is None
    (tmp_path / "prr.yaml").write_text("service: s\nslo:\n  latency_p95: 300ms\n")
    assert load_target(tmp_path).slo.latency_p95 == dt.timedelta(milliseconds=300)
    (tmp_path / "prr.yaml").write_text("service: s\nslo: {latency_p95: 1.5s}\n")
    assert load_target(tmp_path).slo.latency_p95 == dt.timedelta(seconds=1.5)


def test_multi_document_catalog_uses_the_component(tmp_path: Path) -> None:
    (tmp_path / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: shop-openapi}\nspec: {owner: other}\n"
        "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: shop}\n"
        "spec: {owner: team-a, lifecycle: production}\n"
    )
    target = load_target(tmp_path)
    assert (target.service, target.owner) == ("shop", "team-a")
