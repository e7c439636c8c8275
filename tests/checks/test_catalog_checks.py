"""The catalog check over real catalog-info.yaml files."""

from __future__ import annotations

from pathlib import Path

from prr.collectors.catalog import CatalogCollector
from prr.model.evidence import Status
from prr.model.target import load_target
from tests.helpers import by_item, collect, run_check

ITEM = "operations.on-call.on-call-tools-configured"


def _facts(tmp_path: Path, annotations: str):
    (tmp_path / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: shop\n"
        f"  annotations:\n{annotations}spec:\n  owner: team-a\n  lifecycle: production\n"
    )
    return collect(tmp_path, CatalogCollector, settings={"target": load_target(tmp_path)})


def test_paging_annotation_passes(tmp_path: Path) -> None:
    facts = _facts(tmp_path, "    pagerduty.com/service-id: PABC123\n")
    result = by_item(run_check("catalog.oncall-integration", facts))[ITEM]
    assert result.status is Status.PASS and result.evidence[0].path == "catalog-info.yaml"


def test_missing_annotation_fails_with_the_snippet(tmp_path: Path) -> None:
    facts = _facts(tmp_path, "    backstage.io/techdocs-ref: dir:.\n")
    result = by_item(run_check("catalog.oncall-integration", facts))[ITEM]
    assert result.status is Status.FAIL and "pagerduty.com/service-id" in (result.remediation or "")


def test_no_catalog_no_opinion(tmp_path: Path) -> None:
    facts = collect(tmp_path, CatalogCollector, settings={"target": load_target(tmp_path)})
    assert run_check("catalog.oncall-integration", facts) == []
