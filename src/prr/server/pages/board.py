"""The organisation's scoreboard: every service's latest verdict, by category, with rollups.

It reads only ``service`` and ``service_status`` (one small row per service, kept
current at ingest), never scan payloads, so it stays fast with thousands of
services and years of history. Rows are paged; rollups cover every match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import Select, case, func, or_, select

from prr.server.pages.common import PageUser, page_user, render
from prr.store.db import Store
from prr.store.schema import Service, ServiceStatus

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
GROUPS = {"team": Service.owner, "tier": Service.tier, "stage": ServiceStatus.stage}
VERDICT_ORDER = case(
    (ServiceStatus.verdict == "NOT READY", 0),
    (ServiceStatus.verdict == "CONDITIONAL", 1),
    (ServiceStatus.verdict == "READY", 2),
    else_=3,
)


@dataclass(frozen=True)
class Filters:
    team: str | None
    tier: str | None
    stage: str | None
    verdict: str | None
    q: str | None

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.team:
            query = query.where(Service.owner == self.team)
        if self.tier:
            query = query.where(Service.tier == self.tier)
        if self.stage:
            query = query.where(ServiceStatus.stage == self.stage)
        if self.verdict == "unscanned":
            query = query.where(ServiceStatus.service_id.is_(None))
        elif self.verdict:
            query = query.where(ServiceStatus.verdict == self.verdict)
        if self.q:
            escaped = self.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped.lower()}%"
            query = query.where(
                or_(
                    func.lower(Service.name).like(pattern, escape="\\"),
                    func.lower(Service.owner).like(pattern, escape="\\"),
                )
            )
        return query

    def query_string(self, **override: Any) -> str:
        from urllib.parse import urlencode

        values = {k: v for k, v in self.__dict__.items() if v} | {
            k: v for k, v in override.items() if v is not None
        }
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def _base(columns: list[Any]) -> Select[Any]:
    return (
        select(*columns)
        .select_from(Service)
        .outerjoin(ServiceStatus, ServiceStatus.service_id == Service.id)
    )


def sparkline(trend: list[Any], width: int = 84, height: int = 20) -> dict[str, Any] | None:
    """SVG polyline points for blockers over the recent scans (no script, no inline style)."""
    values = [int(p[1]) for p in trend if isinstance(p, list | tuple) and len(p) >= 2]
    if len(values) < 2:
        return None
    top = max(values) or 1
    step = (width - 4) / (len(values) - 1)
    points = " ".join(
        f"{2 + i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}"
        for i, v in enumerate(values)
    )
    return {"points": points, "width": width, "height": height, "values": values}


def scoreboard_data(store: Store, filters: Filters, group: str, page: int) -> dict[str, Any]:
    """Rollups by ``group`` over every matching service, and one page of service rows."""
    key = GROUPS.get(group, Service.owner)
    rollup_query = (
        filters.apply(
            _base(
                [
                    key.label("key"),
                    func.count(Service.id).label("services"),
                    func.sum(case((ServiceStatus.verdict == "READY", 1), else_=0)).label("ready"),
                    func.sum(case((ServiceStatus.verdict == "CONDITIONAL", 1), else_=0)).label(
                        "conditional"
                    ),
                    func.sum(case((ServiceStatus.verdict == "NOT READY", 1), else_=0)).label(
                        "not_ready"
                    ),
                    func.sum(case((ServiceStatus.service_id.is_(None), 1), else_=0)).label(
                        "unscanned"
                    ),
                    func.coalesce(func.sum(ServiceStatus.blockers), 0).label("blockers"),
                    func.avg(ServiceStatus.verified_share).label("verified"),
                    func.min(ServiceStatus.started_at).label("oldest"),
                ]
            )
        )
        .group_by(key)
        .order_by(key)
    )
    row_query = (
        filters.apply(
            _base(
                [
                    Service.name,
                    Service.owner,
                    Service.tier,
                    ServiceStatus.stage,
                    ServiceStatus.verdict,
                    ServiceStatus.blockers,
                    ServiceStatus.issues,
                    ServiceStatus.verified_share,
                    ServiceStatus.started_at,
                    ServiceStatus.categories,
                    ServiceStatus.trend,
                ]
            )
        )
        .order_by(VERDICT_ORDER, ServiceStatus.blockers.desc(), Service.name)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    with store.transaction() as session:
        rollups = [dict(r._mapping) for r in session.execute(rollup_query)]
        rows = [dict(r._mapping) for r in session.execute(row_query)]
        teams = [t for (t,) in session.execute(select(Service.owner).distinct()) if t]
        tiers = [t for (t,) in session.execute(select(Service.tier).distinct()) if t]
    total = sum(r["services"] for r in rollups)
    columns: list[tuple[str, str]] = []
    for row in rows:
        cells = {c.get("id"): c for c in row["categories"] or [] if isinstance(c, dict)}
        row["cells"] = cells
        for cid, cell in cells.items():
            if cid and (cid, cell.get("title") or cid) not in columns:
                columns.append((cid, cell.get("title") or cid))
        row["spark"] = sparkline(row["trend"] or [])
    return {
        "rollups": rollups,
        "rows": rows,
        "columns": columns,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "teams": sorted(teams),
        "tiers": sorted(tiers),
        "totals": {
            "services": total,
            "ready": sum(r["ready"] or 0 for r in rollups),
            "conditional": sum(r["conditional"] or 0 for r in rollups),
            "not_ready": sum(r["not_ready"] or 0 for r in rollups),
            "unscanned": sum(r["unscanned"] or 0 for r in rollups),
            "blockers": sum(r["blockers"] or 0 for r in rollups),
        },
    }


@router.get("/")
def scoreboard(
    request: Request,
    user: Annotated[PageUser, Depends(page_user)],
    team: str | None = None,
    tier: str | None = None,
    stage: str | None = None,
    verdict: str | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    group: str = "team",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    filters = Filters(team or None, tier or None, stage or None, verdict or None, q or None)
    group = group if group in GROUPS else "team"
    data = scoreboard_data(request.app.state.store, filters, group, page)
    return render(
        request,
        "scoreboard.html",
        {"filters": filters, "group": group, **data},
        user=user,
    )
