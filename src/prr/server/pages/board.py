"""The organisation's scoreboard: every service's latest verdict, by category, with rollups.

It reads only ``service`` and ``service_status`` (one small row per service, kept
current at ingest), never scan payloads, so it stays fast with thousands of
services and years of history. Rows are paged; rollups cover every match.

Building the page (three queries over every service, then 100 rows of markup)
costs tens of milliseconds, and everyone sees the same page. So each process
keeps the pages it rendered (:class:`PageCache`) and serves them again while the
data is unchanged: a request then costs the session check and a string copy
instead of the whole build.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import UndefinedError
from markupsafe import escape
from sqlalchemy import Select, case, event, func, or_, select
from starlette.concurrency import run_in_threadpool

from prr.server import auth
from prr.server.pages.common import NOTICE_COOKIE, PageUser, environment, page_user, render
from prr.store.db import Store
from prr.store.schema import Scan, Service, ServiceStatus

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
    # Sort narrow rows and keep one page of ids; only those rows' JSON is then read.
    page_ids = (
        filters.apply(_base([Service.id.label("id")]))
        .order_by(VERDICT_ORDER, ServiceStatus.blockers.desc(), Service.name)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
        .subquery()
    )
    row_query = (
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
        .join(page_ids, page_ids.c.id == Service.id)
        .order_by(VERDICT_ORDER, ServiceStatus.blockers.desc(), Service.name)
    )
    with store.transaction() as session:
        rollups = [dict(r._mapping) for r in session.execute(rollup_query)]
        rows = [dict(r._mapping) for r in session.execute(row_query)]
        choices = session.execute(select(Service.owner, Service.tier).distinct()).all()
    teams = {t for t, _ in choices if t}
    tiers = {t for _, t in choices if t}
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


# -- the page cache ----------------------------------------------------------------------
CACHE_SECONDS = 10.0
"""A cached page is rebuilt after this long whatever the checks below say: the bound on
staleness when two ingests commit out of order, or another process renames a team."""
CHECK_SECONDS = 0.25
"""How often a process asks the database for the newest scan and service ids: writes by
other processes (other workers, the CLI) show within this long."""
CACHE_PAGES = 64

_writes = 0
"""Scoreboard rows this process changed (any Scan, Service or ServiceStatus written)."""


def _written(*_args: Any) -> None:
    global _writes
    _writes += 1


for _model in (Scan, Service, ServiceStatus):
    for _change in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _change, _written)


@dataclass(frozen=True)
class _Page:
    generation: tuple[Any, ...]
    built: float
    parts: list[str]
    """The page split at the markers: text, marker, text, marker, …, text."""


class PageCache:
    """Rendered scoreboards, shared by every viewer of a process, while the data is unchanged.

    A page is rendered once for a stand-in user whose name and CSRF token are random
    markers, which are then replaced by each viewer's own (escaped) values; the
    viewer's role and sign-off roles are part of the key. A page is stale once this
    process wrote a scoreboard row (seen at once), once the database's newest scan
    or service id changed (checked every :data:`CHECK_SECONDS`), and after
    :data:`CACHE_SECONDS` in any case. One request rebuilds a stale page; the others
    meanwhile get the page it replaces, so a burst of scans does not stall the page.
    """

    def __init__(
        self,
        seconds: float = CACHE_SECONDS,
        check_seconds: float = CHECK_SECONDS,
        pages: int = CACHE_PAGES,
    ) -> None:
        self.seconds = seconds
        self.check_seconds = check_seconds
        self.pages = pages
        self._pages: OrderedDict[tuple[Any, ...], _Page] = OrderedDict()
        self._lock = threading.Lock()
        self._running: dict[tuple[Any, ...], threading.Event] = {}
        """Pages being rebuilt, and an event set when each is done."""
        self._newest: tuple[Any, ...] = ()
        self._checked = -1e9
        self.name_mark = "prrname" + secrets.token_hex(12)
        self.csrf_mark = "prrcsrf" + secrets.token_hex(12)
        self._marks = re.compile(f"({self.name_mark}|{self.csrf_mark})")

    @staticmethod
    def newest(store: Store) -> tuple[Any, ...]:
        """The newest scan and service ids: every ingest and every new service changes them."""
        query = select(
            select(func.max(Scan.id)).scalar_subquery(),
            select(func.max(Service.id)).scalar_subquery(),
        )
        with store.engine.connect() as connection:
            return tuple(connection.execute(query).one())

    def generation(self, store: Store) -> tuple[Any, ...]:
        now = time.monotonic()
        with self._lock:
            if now - self._checked < self.check_seconds:
                return (_writes, *self._newest)
        newest = self.newest(store)
        with self._lock:
            self._newest, self._checked = newest, now
        return (_writes, *newest)

    def _fresh(self, key: tuple[Any, ...], generation: tuple[Any, ...]) -> _Page | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                return None
            if page.generation != generation or time.monotonic() - page.built > self.seconds:
                return None
            self._pages.move_to_end(key)
            return page

    def cached(self, key: tuple[Any, ...]) -> list[str] | None:
        """The page for ``key`` if it is fresh and telling so needs no query, else None."""
        with self._lock:
            if time.monotonic() - self._checked >= self.check_seconds:
                return None
            generation = (_writes, *self._newest)
        page = self._fresh(key, generation)
        return page.parts if page is not None else None

    def get(self, key: tuple[Any, ...], store: Store, build: Any) -> list[str]:
        """The page for ``key``, built by ``build(name_mark, csrf_mark)`` when missing or stale.

        While one request rebuilds a stale page, the others answer with the page being
        replaced (if younger than :data:`CACHE_SECONDS`) rather than queue behind it; a
        lone request, such as a reload after one's own push, always gets a fresh page.
        """
        while True:
            generation = self.generation(store)
            with self._lock:
                page = self._pages.get(key)
                age = time.monotonic() - page.built if page is not None else self.seconds + 1
                if page is not None and page.generation == generation and age <= self.seconds:
                    self._pages.move_to_end(key)
                    return page.parts
                running = self._running.get(key)
                if running is None:
                    running = self._running[key] = threading.Event()
                    break
                if page is not None and age <= self.seconds:
                    return page.parts
            running.wait()
        try:
            html = build(self.name_mark, self.csrf_mark)
            page = _Page(generation, time.monotonic(), self._marks.split(html))
            with self._lock:
                self._pages[key] = page
                self._pages.move_to_end(key)
                while len(self._pages) > self.pages:
                    self._pages.popitem(last=False)
            return page.parts
        finally:
            with self._lock:
                del self._running[key]
            running.set()

    def personal(self, parts: list[str], user: PageUser) -> str:
        """The cached page with the viewer's own name and CSRF token in place of the markers."""
        mine = {self.name_mark: str(escape(user.name)), self.csrf_mark: str(escape(user.csrf))}
        return "".join([mine.get(part, part) if i % 2 else part for i, part in enumerate(parts)])


def _cache(request: Request) -> PageCache:
    state = request.app.state
    cache: PageCache | None = getattr(state, "scoreboard_cache", None)
    if cache is None:
        cache = state.scoreboard_cache = PageCache()
    return cache


@router.get("/")
async def scoreboard(
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
    """The scoreboard. A cached page is answered on the event loop (it costs a string join);
    anything that queries or renders runs in the thread pool."""
    filters = Filters(team or None, tier or None, stage or None, verdict or None, q or None)
    group = group if group in GROUPS else "team"
    store: Store = request.app.state.store

    def context() -> dict[str, Any]:
        data = scoreboard_data(store, filters, group, page)
        return {"filters": filters, "group": group, **data}

    def uncached() -> Response:
        return render(request, "scoreboard.html", context(), user=user)

    if request.cookies.get(NOTICE_COOKIE):  # a one-off notice: this page is not shared
        return await run_in_threadpool(uncached)
    cache = _cache(request)

    def build(name_mark: str, csrf_mark: str) -> str:
        stand_in = PageUser(
            replace(user.principal, user_id=0, name=name_mark, token_id=None),
            auth.SessionData(user=name_mark, issued_at=0, csrf=csrf_mark),
        )
        return (
            environment()
            .get_template("scoreboard.html")
            .render(request_path=request.url.path, user=stand_in, notice=None, **context())
        )

    principal = user.principal
    key = (filters, group, page, principal.role, principal.signoff_roles, principal.services)
    parts = cache.cached(key)
    if parts is None:
        try:
            parts = await run_in_threadpool(cache.get, key, store, build)
        except UndefinedError:  # the template wants more of the user than the stand-in has
            return await run_in_threadpool(uncached)
    return HTMLResponse(cache.personal(parts, user))
