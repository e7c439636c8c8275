"""Checks over the service catalog entry: on-call tooling wired to the service."""

from __future__ import annotations

from collections.abc import Iterable

from prr.checks.registry import CheckContext, check
from prr.collectors.catalog import CatalogFacts
from prr.model.evidence import Evidence, Result

ONCALL_TOOLS = "operations.on-call.on-call-tools-configured"


@check("catalog.oncall-integration", items=[ONCALL_TOOLS], needs=[CatalogFacts])
def oncall_integration(ctx: CheckContext) -> Iterable[Result]:
    """The catalog entry links the service to a paging tool (PagerDuty, Opsgenie …)."""
    facts = ctx.get(CatalogFacts)
    if not facts.present:
        return
    if facts.oncall:
        names = ", ".join(f"{k}" for k in sorted(facts.oncall))
        yield ctx.passed(
            ONCALL_TOOLS,
            f"catalog entry links the service to paging: {names}",
            Evidence(f"annotations {names}", path=facts.path),
        )
        return
    yield ctx.failed(
        ONCALL_TOOLS,
        "the catalog entry has no paging-tool annotation: alerts cannot reach an on-call service",
        Evidence("no pagerduty.com/ or opsgenie.com/ annotation", path=facts.path),
        remediation=(
            f"Add the paging integration to {facts.path}:\n"
            "metadata:\n  annotations:\n    pagerduty.com/service-id: <PagerDuty service id>"
        ),
    )
