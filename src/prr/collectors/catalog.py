"""The service catalog entry (Backstage ``catalog-info.yaml``) as evidence.

The target loader already read it; this collector exposes what it says about
ownership and operations (PagerDuty/Opsgenie annotations, runbook and
dashboard links) to checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from prr.collectors.base import CollectContext, Collector, register
from prr.model.target import CATALOG_FILE, Target

_ONCALL_ANNOTATIONS = (
    "pagerduty.com/service-id",
    "pagerduty.com/integration-key",
    "opsgenie.com/component-selector",
    "opsgenie.com/team",
    "splunk.com/on-call-routing-key",
    "firehydrant.com/service-name",
)
_SCHEDULE_ANNOTATION = re.compile(
    r"^(pagerduty\.com|opsgenie\.com|grafana\.com|grafana-oncall|splunk\.com|ilert\.com|"
    r"rootly\.com|incident\.io)/[\w.-]*(schedule|rotation|on-?call-?(team|rota))[\w.-]*$",
    re.IGNORECASE,
)
_SCHEDULE_URL = re.compile(
    r"pagerduty\.com/(schedules|oncalls)|opsgenie\.com/.*(schedule|on-?call)|"
    r"/oncall/.*schedule|grafana\.\S*/a/grafana-oncall-app/schedules",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CatalogFacts:
    """Ownership and operational links declared in the catalog."""

    present: bool
    path: str = CATALOG_FILE
    owner: str | None = None
    lifecycle: str | None = None
    oncall: dict[str, str] = field(default_factory=dict)
    links: tuple[tuple[str, str], ...] = ()
    schedules: tuple[str, ...] = ()
    """On-call schedules the entry points to: schedule annotations (``key: value``) and
    links to a paging tool's schedule page."""

    def links_about(self, *words: str) -> list[tuple[str, str]]:
        """Links whose title or URL mentions any of ``words``."""
        return [(t, u) for t, u in self.links if any(w in f"{t} {u}".lower() for w in words)]


@register
class CatalogCollector(Collector):
    """Reads ownership and on-call hooks from the catalog entry."""

    name = "catalog"
    facts_type = CatalogFacts

    def collect(self, ctx: CollectContext) -> CatalogFacts:
        target = ctx.settings.get("target")
        catalog = target.catalog if isinstance(target, Target) else None
        if catalog is None:
            return CatalogFacts(present=False)
        oncall = {k: v for k, v in catalog.annotations.items() if k in _ONCALL_ANNOTATIONS}
        links = tuple((link.get("title", ""), link.get("url", "")) for link in catalog.links)
        schedules = [
            f"{k}: {v}"
            for k, v in catalog.annotations.items()
            if _SCHEDULE_ANNOTATION.match(k) and str(v).strip()
        ]
        schedules += [
            f"link {title or url}" for title, url in links if _SCHEDULE_URL.search(url or "")
        ]
        return CatalogFacts(
            True,
            CATALOG_FILE,
            catalog.owner,
            catalog.lifecycle,
            oncall,
            links,
            tuple(schedules),
        )
