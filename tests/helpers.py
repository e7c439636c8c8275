"""Helpers for collector and check tests: run real collectors over real files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prr.checks.registry import REGISTRY, CheckContext, load_builtin_checks
from prr.collectors.base import CollectContext, Collector, Facts
from prr.collectors.files import build_index
from prr.model.evidence import Result


def collect(
    root: Path, *collectors: type[Collector], settings: dict[str, Any] | None = None
) -> Facts:
    """Index ``root``, run the given collectors on it, and return the facts with all errors."""
    index = build_index(root)
    ctx = CollectContext(root, index, settings or {})
    facts = Facts(list(index.errors))
    for cls in collectors:
        facts.add(cls().collect(ctx))
    facts.errors.extend(ctx.errors)
    return facts


def run_check(check_id: str, facts: Facts, traits: frozenset[str] = frozenset()) -> list[Result]:
    """Run one registered check over ``facts``."""
    load_builtin_checks()
    registered = REGISTRY[check_id]
    return list(registered.func(CheckContext(check_id, facts, traits)))


def by_item(results: list[Result]) -> dict[str, Result]:
    """Results keyed by item id (a check gives at most one result per item)."""
    out: dict[str, Result] = {}
    for result in results:
        assert result.item_id not in out, f"two results for {result.item_id}"
        out[result.item_id] = result
    return out


def run_live_check(
    check_id: str, facts: Facts, environment: str = "staging", production: bool = False
) -> list[Result]:
    """Run one environment-scoped check over one environment's facts."""
    load_builtin_checks()
    registered = REGISTRY[check_id]
    ctx = CheckContext(check_id, facts, frozenset(), environment=environment, production=production)
    return list(registered.func(ctx))
