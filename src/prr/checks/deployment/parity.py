"""Environment parity from live facts: staging must mirror production.

Every live collector's facts that can be compared expose a flat ``parity()``
view (TLS protocols, security headers, PostgreSQL and Redis settings, loaded
alert rules, versions). This check compares those views between production
and every other environment; keys the team expects to differ are declared in
``prr.yaml`` under ``expected_differences`` (glob patterns).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from typing import Any

from prr.checks.registry import CheckContext, check
from prr.collectors.base import Facts
from prr.collectors.live.base import ParityView
from prr.model.evidence import Evidence, Result

STAGING_MIRRORS = "deployment.environment-parity.staging-mirrors-production"
SAME_VERSIONS = "deployment.environment-parity.same-dependencies-versions"
MAX_LISTED = 12


def _view(facts: Facts) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for entry in facts.all():
        if isinstance(entry, ParityView):
            merged.update(entry.parity())
    return merged


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def _expected(key: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(key, p) or key.startswith(p + ".") for p in patterns)


@check("deployment.live-parity", items=[STAGING_MIRRORS, SAME_VERSIONS], scope="environments")
def live_parity(ctx: CheckContext) -> Iterable[Result]:
    """Live settings of every environment match production, except declared differences."""
    target = ctx.settings.get("target")
    envs = ctx.environments
    production = [n for n in envs if target and target.environments[n].production] or (
        ["production"] if "production" in envs else []
    )
    if not production:
        return
    reference = production[0]
    base = _view(envs[reference])
    if not base:
        return
    drift: list[tuple[str, str, Any, Any]] = []
    for name, facts in envs.items():
        if name == reference:
            continue
        other = _view(facts)
        if not other:
            continue
        allowed = tuple(target.environments[name].expected_differences) if target else ()
        allowed += tuple(target.environments[reference].expected_differences) if target else ()
        for key in sorted(set(base) | set(other)):
            if _expected(key, allowed):
                continue
            if base.get(key) != other.get(key):
                drift.append((name, key, base.get(key), other.get(key)))
    versions = [d for d in drift if d[1].endswith(".version") or ".version." in d[1]]
    compared = ", ".join(n for n in envs if n != reference)
    if not drift:
        yield ctx.passed(
            STAGING_MIRRORS,
            f"{compared} match {reference} on {len(base)} compared live settings",
            Evidence(f"{len(base)} settings compared", value=sorted(base)[:MAX_LISTED]),
        )
        yield ctx.passed(SAME_VERSIONS, f"{compared} report the same versions as {reference}")
        return
    evidence = tuple(
        Evidence(
            f"{key}: {reference}={_show(a)} {name}={_show(b)}",
            value={"environment": name, "key": key},
        )
        for name, key, a, b in drift[:MAX_LISTED]
    )
    more = f" (+{len(drift) - MAX_LISTED} more)" if len(drift) > MAX_LISTED else ""
    yield ctx.failed(
        STAGING_MIRRORS,
        f"{len(drift)} live setting(s) differ from {reference}: "
        + "; ".join(f"{k} ({n})" for n, k, _, _ in drift[:5])
        + more,
        *evidence,
        remediation=(
            "Make the environments match, or declare differences that are intended in prr.yaml:\n"
            f"environments:\n  {drift[0][0]}:\n    expected_differences: [{drift[0][1]}]"
        ),
    )
    if versions:
        yield ctx.failed(
            SAME_VERSIONS,
            "versions differ between environments: "
            + "; ".join(f"{k}: {_show(a)} vs {_show(b)} ({n})" for n, k, a, b in versions[:5]),
        )
    else:
        yield ctx.passed(SAME_VERSIONS, f"the live systems report the same versions as {reference}")
