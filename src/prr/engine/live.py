"""Collect live facts from every environment, concurrently and within time bounds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from prr.collectors.base import Facts
from prr.collectors.live.base import LiveCollector, LiveContext, LiveLimits
from prr.errors import CollectorError
from prr.model.evidence import ScanError
from prr.model.target import Target


async def _run_one(cls: type[LiveCollector], ctx: LiveContext, facts: Facts) -> None:
    try:
        result = await asyncio.wait_for(cls().collect(ctx), timeout=ctx.limits.total_timeout_s)
    except TimeoutError:
        reason = f"did not finish within {ctx.limits.total_timeout_s:g}s"
        facts.fail(cls.facts_type, reason)
        ctx.error(cls.name, reason, cls.name)
    except CollectorError as exc:
        facts.fail(cls.facts_type, str(exc))
        ctx.error(exc.source, str(exc).removeprefix(f"{exc.source}: "), cls.name)
    except Exception as exc:  # a crashing collector must not end the scan
        reason = f"collector crashed: {type(exc).__name__}"
        facts.fail(cls.facts_type, reason)
        ctx.error(cls.name, reason, cls.name)
    else:
        facts.add(result)


async def _environment(
    name: str, target: Target, collectors: list[type[LiveCollector]], limits: LiveLimits
) -> tuple[str, Facts]:
    ctx = LiveContext(name, target.environments[name], target, limits)
    facts = Facts()
    await asyncio.gather(*(_run_one(cls, ctx, facts) for cls in collectors))
    facts.errors.extend(ctx.errors)
    return name, facts


def collect_live(
    target: Target,
    environments: Iterable[str],
    collectors: Iterable[type[LiveCollector]],
    limits: LiveLimits | None = None,
) -> dict[str, Facts]:
    """Facts of each named environment, all environments and collectors in parallel."""
    names = list(environments)
    classes = list(collectors)
    bounds = limits or LiveLimits()

    async def run() -> list[tuple[str, Facts]]:
        return await asyncio.gather(*(_environment(n, target, classes, bounds) for n in names))

    return dict(asyncio.run(run()))


def live_errors(facts: dict[str, Facts]) -> list[ScanError]:
    return [error for env in facts.values() for error in env.errors]
