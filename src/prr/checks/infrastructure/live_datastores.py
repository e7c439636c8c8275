"""Databases and caches as they run: provisioned, connection limits, pooling, replicas, indexes.

Every decision rests on what the live PostgreSQL and Redis collectors read
from the environment's data stores (settings, catalogs, statistics views,
INFO and CONFIG GET). A store that could not be read makes the items that
depended on it unknown, with the reason; nothing passes for lack of evidence.
An environment with several stores gets one result per item that names each.

Also holds the small helpers the other ``live_datastores`` check modules share.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from prr.checks.registry import CheckContext, check
from prr.collectors.base import MissingFacts
from prr.collectors.live.postgres import (
    SUPPORT_ENDS,
    PostgresFacts,
    PostgresStore,
    TableScans,
    support_status,
)
from prr.collectors.live.redis import RedisFacts, RedisStore
from prr.collectors.live.redis import support_status as redis_support
from prr.model.evidence import Evidence, Result, Status

USAGE_LIMIT_PERCENT = 80.0
HEAVY_SEQ_SCANS = 10
"""A large table is "read sequentially" when it had at least this many sequential scans
and fewer than one index scan for every ten of them."""
FRESH_STATS_DAYS = 7
MAX_EVIDENCE = 12
NOT_COLLECTED = "no collector produced it"

PROVISIONED = "infrastructure.database.production-database-provisioned"
CONNECTION_LIMITS = "infrastructure.database.connection-limits-set"
POOLING = "infrastructure.database.connection-pooling-configured"
READ_REPLICAS = "infrastructure.database.read-replicas"
INDEXES = "infrastructure.database.indexes-optimized"
CACHE_PROVISIONED = "infrastructure.caching.cache-layer-provisioned"
EVICTION = "infrastructure.caching.eviction-policies-set"
CACHE_FAILOVER = "infrastructure.caching.failover-configured"


# --- shared helpers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """What one data store says about one item; several are merged into one result."""

    status: Status
    message: str
    evidence: tuple[Evidence, ...] = ()
    remediation: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


def merge(ctx: CheckContext, item: str, findings: Sequence[Finding]) -> Result | None:
    """One result for ``item``: failed if any store failed, else unknown if any, else passed."""
    if not findings:
        return None
    statuses = {f.status for f in findings}
    status = next(
        (s for s in (Status.FAIL, Status.UNKNOWN, Status.PASS) if s in statuses),
        Status.NOT_APPLICABLE,
    )
    evidence = [e for f in findings for e in f.evidence][:MAX_EVIDENCE]
    remediation = "\n\n".join(
        dict.fromkeys(
            f.remediation for f in findings if f.remediation and f.status is not Status.PASS
        )
    )
    fields: dict[str, Any] = {}
    for finding in findings:
        fields.update(finding.fields)
    return ctx.result(
        item,
        status,
        "; ".join(f.message for f in findings),
        *evidence,
        remediation=remediation or None,
        fields=fields or None,
    )


def results(ctx: CheckContext, by_item: dict[str, list[Finding]]) -> Iterator[Result]:
    for item, findings in by_item.items():
        result = merge(ctx, item, findings)
        if result is not None:
            yield result


def pg_label(store: PostgresStore) -> str:
    return f"PostgreSQL {store.name}"


def redis_label(store: RedisStore) -> str:
    return f"Redis {store.name}"


def pg_evidence(
    store: PostgresStore, summary: str, query: str | None = None, value: Any = None
) -> Evidence:
    """Evidence from one PostgreSQL store: the redacted URL, the SQL, when, what answered."""
    data = {"read_at": store.read_at}
    if value is not None:
        data["answer"] = value
    return Evidence(
        f"{pg_label(store)}: {summary} (read {store.read_at})",
        url=store.url,
        query=query,
        value=data,
    )


def redis_evidence(
    store: RedisStore, summary: str, command: str | None = None, value: Any = None
) -> Evidence:
    """Evidence from one Redis store: the redacted URL, the command, when, what answered."""
    data = {"read_at": store.read_at}
    if value is not None:
        data["answer"] = value
    return Evidence(
        f"{redis_label(store)}: {summary} (read {store.read_at})",
        url=store.url,
        query=command,
        value=data,
    )


def unreadable_pg(store: PostgresStore) -> Finding:
    """The store could not be read: the item stays unknown, with why."""
    return Finding(
        Status.UNKNOWN,
        f"{pg_label(store)} could not be read: {store.error}",
        (pg_evidence(store, f"connection failed: {store.error}"),),
        "Make the database reachable from where prr runs with the URL in prr.yaml "
        "(a read-only role is enough), then scan again.",
    )


def unreadable_redis(store: RedisStore) -> Finding:
    return Finding(
        Status.UNKNOWN,
        f"{redis_label(store)} could not be read: {store.error}",
        (redis_evidence(store, f"connection failed: {store.error}"),),
        "Make the cache reachable from where prr runs with the URL in prr.yaml, then scan again.",
    )


def pg_part_unknown(store: PostgresStore, part: str, what: str) -> Finding:
    reason = store.unreadable.get(part, "not read")
    return Finding(
        Status.UNKNOWN,
        f"{pg_label(store)}: {what} could not be read ({part}: {reason})",
        (pg_evidence(store, f"{part}: {reason}", store.queries.get(part)),),
    )


def pg_stores(ctx: CheckContext) -> tuple[PostgresStore, ...]:
    return ctx.get(PostgresFacts).stores


def redis_stores(ctx: CheckContext) -> tuple[RedisStore, ...]:
    return ctx.get(RedisFacts).stores


def both(
    ctx: CheckContext,
    on_pg: Callable[[PostgresStore], Finding],
    on_redis: Callable[[RedisStore], Finding],
) -> list[Finding]:
    """Findings over every PostgreSQL and Redis store; a crashed collector → unknown."""
    findings: list[Finding] = []
    try:
        for store in pg_stores(ctx):
            findings.append(on_pg(store) if store.ok else unreadable_pg(store))
    except MissingFacts as exc:
        if exc.reason != NOT_COLLECTED:  # not run at all: no opinion; crashed: unknown
            findings.append(
                Finding(Status.UNKNOWN, f"PostgreSQL evidence unavailable: {exc.reason}")
            )
    try:
        for rstore in redis_stores(ctx):
            findings.append(on_redis(rstore) if rstore.ok else unreadable_redis(rstore))
    except MissingFacts as exc:
        if exc.reason != NOT_COLLECTED:
            findings.append(Finding(Status.UNKNOWN, f"Redis evidence unavailable: {exc.reason}"))
    return findings


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


# --- PostgreSQL ----------------------------------------------------------------------------------


@check(
    "live.database.provisioned",
    items=[PROVISIONED],
    needs=[PostgresFacts],
    scope="environment",
)
def database_provisioned(ctx: CheckContext) -> Iterable[Result]:
    """The production database answers and runs a PostgreSQL major version still supported."""
    if not ctx.production:
        return  # the item is about production; other environments are compared by parity
    findings: list[Finding] = []
    for store in pg_stores(ctx):
        if not store.ok:
            findings.append(unreadable_pg(store))
            continue
        major = store.major or 0
        supported, end = support_status(major, _today())
        ev = pg_evidence(
            store,
            f"server_version {store.version}",
            "SELECT current_setting('server_version')",
            {"version": store.version, "major": major, "support_ends": str(end) if end else None},
        )
        extra = " (a standby: pg_is_in_recovery() is true)" if store.in_recovery else ""
        if supported:
            until = f"community support until {end}" if end else "newer than prr's support table"
            findings.append(
                Finding(
                    Status.PASS,
                    f"{pg_label(store)} answers, PostgreSQL {store.version}; {until}{extra}",
                    (ev,),
                )
            )
        else:
            ended = f"ended {end}" if end else "ended long ago"
            newest = max(SUPPORT_ENDS)
            findings.append(
                Finding(
                    Status.FAIL,
                    f"{pg_label(store)} runs PostgreSQL {store.version}: community support {ended}",
                    (ev,),
                    f"Upgrade {pg_label(store)} to a supported major version (pg_upgrade, or the "
                    f"provider's major-version upgrade), e.g. PostgreSQL {newest - 1} or "
                    f"{newest}; rehearse it on staging first.",
                )
            )
    yield from results(ctx, {PROVISIONED: findings})


def _connection_finding(store: PostgresStore) -> Finding:
    limit = store.setting("max_connections").number
    reserved = store.setting("superuser_reserved_connections").number or 0
    reserved += store.setting("reserved_connections").number or 0
    idle_tx = store.setting("idle_in_transaction_session_timeout")
    statement = store.setting("statement_timeout")
    percent = store.connection_use_percent
    role_limit = store.role.connection_limit if store.role else None
    value = {
        "max_connections": limit,
        "connections_in_use": store.connections_used,
        "use_percent": percent,
        "reserved_for_admins": reserved,
        "role_connection_limit": role_limit,
        "idle_in_transaction_session_timeout": idle_tx.display(),
        "statement_timeout": statement.display(),
        "lock_timeout": store.setting("lock_timeout").display(),
    }
    ev = pg_evidence(
        store,
        f"max_connections={limit}, {store.connections_used} in use ({percent}%), "
        f"{reserved} reserved for administrators, idle_in_transaction_session_timeout="
        f"{idle_tx.display()}",
        "SELECT name, setting FROM pg_settings WHERE name IN ('max_connections', "
        "'superuser_reserved_connections', 'idle_in_transaction_session_timeout'); "
        "SELECT sum(numbackends) FROM pg_stat_database",
        value,
    )
    problems: list[str] = []
    fixes: list[str] = []
    if percent is not None and percent > USAGE_LIMIT_PERCENT:
        problems.append(
            f"{store.connections_used} of {limit} connections in use ({percent}% > "
            f"{USAGE_LIMIT_PERCENT:g}%)"
        )
        fixes.append(
            "# Too close to max_connections: pool connections (PgBouncer in transaction mode) or "
            "size the pools down,\n# and cap the application role: "
            "ALTER ROLE app CONNECTION LIMIT 50;"
        )
    if reserved == 0:
        problems.append("no connections are reserved for administrators")
        fixes.append("superuser_reserved_connections = 3")
    if idle_tx.ms == 0:
        problems.append(
            "idle_in_transaction_session_timeout is 0: a session that leaves a transaction open "
            "holds its connection and locks forever"
        )
        fixes.append("idle_in_transaction_session_timeout = '60s'")
    if problems:
        return Finding(
            Status.FAIL,
            f"{pg_label(store)}: " + "; ".join(problems),
            (ev,),
            "In postgresql.conf (or ALTER SYSTEM / the provider's parameter group):\n"
            + "\n".join(fixes)
            + "\n# and alert when connections exceed 80% of max_connections",
        )
    limit_note = f", role limit {role_limit}" if role_limit not in (None, -1) else ""
    return Finding(
        Status.PASS,
        f"{pg_label(store)}: max_connections={limit}, {store.connections_used} in use "
        f"({percent}%), {reserved} reserved for administrators{limit_note}, idle transactions "
        f"end after {idle_tx.display()}",
        (ev,),
    )


@check(
    "live.database.connections",
    items=[CONNECTION_LIMITS],
    needs=[PostgresFacts],
    scope="environment",
)
def database_connections(ctx: CheckContext) -> Iterable[Result]:
    """Connection limit with headroom, slots reserved for administrators, stuck sessions ended."""
    findings = [
        _connection_finding(store) if store.ok else unreadable_pg(store) for store in pg_stores(ctx)
    ]
    yield from results(ctx, {CONNECTION_LIMITS: findings})


@check(
    "live.database.pooling",
    items=[POOLING],
    needs=[PostgresFacts],
    scope="environment",
)
def database_pooling(ctx: CheckContext) -> Iterable[Result]:
    """A connection pooler (PgBouncer, Odyssey, pgcat …) is seen connected to the database.

    Only positive evidence decides: a pooler's sessions in ``pg_stat_activity``.
    Pools inside the application are invisible from the server, so when no
    pooler is seen (or the store could not be read) this check says nothing.
    """
    findings: list[Finding] = []
    for store in pg_stores(ctx):
        if store.ok and store.poolers:
            findings.append(
                Finding(
                    Status.PASS,
                    f"{pg_label(store)}: pooler sessions connected ({', '.join(store.poolers)})",
                    (
                        pg_evidence(
                            store,
                            "pooler sessions in pg_stat_activity: " + ", ".join(store.poolers),
                            store.queries.get("pg_stat_activity"),
                            list(store.poolers),
                        ),
                    ),
                )
            )
    yield from results(ctx, {POOLING: findings})


@check(
    "live.database.replicas",
    items=[READ_REPLICAS],
    needs=[PostgresFacts],
    scope="environment",
)
def database_replicas(ctx: CheckContext) -> Iterable[Result]:
    """Streaming replicas report to the primary and keep up (or the URL is a streaming standby).

    Replicas of managed storage-level replication (Aurora) do not show in
    ``pg_stat_replication``; with none seen this check says nothing.
    """
    findings: list[Finding] = []
    for store in pg_stores(ctx):
        if not store.ok:
            continue
        if store.in_recovery:
            status = Status.PASS if store.wal_receiver == "streaming" else Status.FAIL
            findings.append(
                Finding(
                    status,
                    f"{pg_label(store)} is a standby; WAL receiver "
                    f"{store.wal_receiver or 'not running'}",
                    (
                        pg_evidence(
                            store,
                            f"pg_is_in_recovery() = true, wal receiver {store.wal_receiver}",
                            "SELECT status FROM pg_stat_wal_receiver",
                        ),
                    ),
                    None
                    if status is Status.PASS
                    else "Restore streaming from the primary (primary_conninfo) and alert on "
                    "pg_stat_wal_receiver.status != 'streaming'.",
                )
            )
            continue
        if not store.replicas:
            continue
        streaming = [r for r in store.replicas if r.state in (None, "streaming")]
        lags = [r.replay_lag_s for r in store.replicas if r.replay_lag_s is not None]
        worst = max(lags, default=None)
        ev = pg_evidence(
            store,
            f"{len(store.replicas)} replica(s) in pg_stat_replication, "
            f"states {sorted({r.state or 'hidden' for r in store.replicas})}, "
            f"max replay lag {worst if worst is not None else 'not visible'}s",
            "SELECT application_name, state, sync_state, replay_lag FROM pg_stat_replication",
            [
                {"state": r.state, "sync_state": r.sync_state, "replay_lag_s": r.replay_lag_s}
                for r in store.replicas
            ],
        )
        if not streaming:
            findings.append(
                Finding(
                    Status.FAIL,
                    f"{pg_label(store)}: replicas are connected but none is streaming",
                    (ev,),
                    "Check the standbys' logs and primary_conninfo; alert on "
                    "pg_stat_replication.state != 'streaming' and on replay lag.",
                )
            )
        else:
            lag = f", max replay lag {worst:.1f}s" if worst is not None else ""
            findings.append(
                Finding(
                    Status.PASS,
                    f"{pg_label(store)}: {len(streaming)} streaming replica(s){lag}",
                    (ev,),
                )
            )
    yield from results(ctx, {READ_REPLICAS: findings})


def _heavy(table: TableScans) -> bool:
    return table.seq_scan >= HEAVY_SEQ_SCANS and (table.idx_scan or 0) * 10 < table.seq_scan


def _index_finding(store: PostgresStore) -> Finding:
    if store.seq_scan_tables is None:
        return pg_part_unknown(store, "pg_stat_user_tables", "table scan statistics")
    if store.unused_indexes is None:
        return pg_part_unknown(store, "pg_stat_user_indexes", "index usage statistics")
    heavy = [t for t in store.seq_scan_tables if _heavy(t)]
    since = (
        f"statistics since {store.stats_reset:%Y-%m-%d}"
        if store.stats_reset
        else ("statistics never reset")
    )
    fresh = store.stats_reset is not None and dt.datetime.now(
        dt.UTC
    ) - store.stats_reset < dt.timedelta(days=FRESH_STATS_DAYS)
    unused = [] if fresh else list(store.unused_indexes)
    evidence: list[Evidence] = []
    if heavy:
        evidence.append(
            pg_evidence(
                store,
                "read mostly by sequential scans: "
                + ", ".join(
                    f"{t.table} ({t.seq_scan} seq scans, {t.idx_scan or 0} index scans, "
                    f"~{t.live_rows} rows)"
                    for t in heavy[:5]
                ),
                store.queries.get("pg_stat_user_tables"),
                [t.__dict__ for t in heavy[:5]],
            )
        )
    if unused:
        evidence.append(
            pg_evidence(
                store,
                "never used since statistics were reset: "
                + ", ".join(f"{i.index} on {i.table} ({_mb(i.size_bytes)})" for i in unused[:5]),
                store.queries.get("pg_stat_user_indexes"),
                [i.__dict__ for i in unused[:5]],
            )
        )
    if not heavy and not unused:
        note = " (unused indexes not judged: statistics are less than a week old)" if fresh else ""
        return Finding(
            Status.PASS,
            f"{pg_label(store)}: no large table is read mostly sequentially and no non-unique "
            f"index is unused ({since}){note}",
            (
                pg_evidence(
                    store,
                    f"{len(store.seq_scan_tables)} large table(s) with more sequential than "
                    f"index scans, none heavy; {len(store.unused_indexes)} unused index(es)",
                    store.queries.get("pg_stat_user_tables"),
                ),
            ),
        )
    problems = []
    fixes = []
    if heavy:
        problems.append(
            f"{len(heavy)} large table(s) read by sequential scans without index use ("
            + ", ".join(t.table for t in heavy[:3])
            + ")"
        )
        fixes.append(
            "-- Find the queries that scan them (pg_stat_statements), EXPLAIN (ANALYZE) them, "
            f"and index the filtered columns, e.g.:\nCREATE INDEX CONCURRENTLY ON {heavy[0].table} "
            "(<filtered column>);"
        )
    if unused:
        problems.append(
            f"{len(unused)} index(es) never used ({', '.join(i.index for i in unused[:3])})"
        )
        fixes.append(
            "-- After checking that replicas do not use it either (idx_scan is per server):\n"
            + "\n".join(f"DROP INDEX CONCURRENTLY {i.index};" for i in unused[:3])
        )
    return Finding(
        Status.FAIL,
        f"{pg_label(store)}: " + "; ".join(problems) + f" ({since})",
        tuple(evidence),
        "\n".join(fixes),
    )


@check(
    "live.database.indexes",
    items=[INDEXES],
    needs=[PostgresFacts],
    scope="environment",
)
def database_indexes(ctx: CheckContext) -> Iterable[Result]:
    """Large tables are read through indexes, and no non-unique index sits unused."""
    findings = [
        _index_finding(store) if store.ok else unreadable_pg(store) for store in pg_stores(ctx)
    ]
    yield from results(ctx, {INDEXES: findings})


# --- Redis ---------------------------------------------------------------------------------------


@check(
    "live.cache.provisioned",
    items=[CACHE_PROVISIONED],
    needs=[RedisFacts],
    scope="environment",
)
def cache_provisioned(ctx: CheckContext) -> Iterable[Result]:
    """The production cache answers and runs a Redis release line that still gets fixes."""
    if not ctx.production:
        return
    findings: list[Finding] = []
    for store in redis_stores(ctx):
        if not store.ok:
            findings.append(unreadable_redis(store))
            continue
        supported, why = redis_support(store.version)
        ev = redis_evidence(
            store,
            f"redis_version {store.version}, role {store.role}, mode {store.mode}, "
            f"appendonly {'yes' if store.aof_enabled else 'no'}, last RDB save "
            f"{store.rdb_last_bgsave_status}",
            "INFO server, INFO persistence",
            {
                "version": store.version,
                "role": store.role,
                "mode": store.mode,
                "aof_enabled": store.aof_enabled,
                "rdb_last_bgsave_status": store.rdb_last_bgsave_status,
            },
        )
        if supported is None:
            findings.append(
                Finding(Status.UNKNOWN, f"{redis_label(store)}: the version is not known", (ev,))
            )
        elif supported:
            findings.append(
                Finding(
                    Status.PASS,
                    f"{redis_label(store)} answers, Redis {store.version}; {why}",
                    (ev,),
                )
            )
        else:
            findings.append(
                Finding(
                    Status.FAIL,
                    f"{redis_label(store)} runs Redis {store.version}: {why} (distribution builds "
                    "may carry backported fixes; check with the vendor)",
                    (ev,),
                    f"Upgrade {redis_label(store)} to a supported release line (or the managed "
                    "service's current engine version) and rehearse it on staging.",
                )
            )
    yield from results(ctx, {CACHE_PROVISIONED: findings})


def _eviction_finding(store: RedisStore) -> Finding:
    source = "CONFIG GET maxmemory, CONFIG GET maxmemory-policy"
    if "maxmemory" not in store.config:
        source = "INFO memory (CONFIG GET not visible)"
    ev = redis_evidence(
        store,
        f"maxmemory={store.maxmemory}, maxmemory-policy={store.maxmemory_policy}, "
        f"used_memory={store.used_memory}",
        source,
        {
            "maxmemory": store.maxmemory,
            "maxmemory_policy": store.maxmemory_policy,
            "used_memory": store.used_memory,
        },
    )
    problems = []
    if store.maxmemory is None or store.maxmemory_policy is None:
        return Finding(
            Status.UNKNOWN, f"{redis_label(store)}: the memory limit could not be read", (ev,)
        )
    if store.maxmemory == 0:
        problems.append("no memory limit (maxmemory 0): it grows until the host runs out")
    if store.maxmemory_policy == "noeviction":
        problems.append("maxmemory-policy noeviction: writes fail with OOM errors when full")
    if problems:
        return Finding(
            Status.FAIL,
            f"{redis_label(store)}: " + "; ".join(problems),
            (ev,),
            "In redis.conf (or the managed service's parameter group), for a cache:\n"
            "maxmemory 2gb            # below the instance's memory, leaving room for forks\n"
            "maxmemory-policy allkeys-lru\n"
            "# keep noeviction only for data that must never be dropped (queues, locks)",
        )
    return Finding(
        Status.PASS,
        f"{redis_label(store)}: maxmemory {_mb(store.maxmemory)}, policy {store.maxmemory_policy}",
        (ev,),
    )


@check(
    "live.cache.eviction",
    items=[EVICTION],
    needs=[RedisFacts],
    scope="environment",
)
def cache_eviction(ctx: CheckContext) -> Iterable[Result]:
    """The cache has a memory limit and an eviction policy that drops keys instead of failing."""
    findings = [
        _eviction_finding(store) if store.ok else unreadable_redis(store)
        for store in redis_stores(ctx)
    ]
    yield from results(ctx, {EVICTION: findings})


FAILOVER_FIX = (
    "Run the cache with at least one replica and automatic failover: Redis Sentinel (3 "
    "Sentinels on separate hosts,\n`sentinel monitor mymaster <primary> 6379 2`), cluster mode "
    "with a replica per shard, or the managed service's Multi-AZ option;\nthen point prr at "
    "the Sentinel: `redis: [{name: cache, url: env:CACHE_SENTINEL_URL}]` with "
    "sentinel://host:26379/mymaster."
)


def _failover_finding(store: RedisStore) -> Finding:
    replicas = store.replicas_connected or 0
    ev = redis_evidence(
        store,
        f"role {store.role}, connected replicas {replicas} ({store.replicas_online} online), "
        f"cluster {'enabled' if store.cluster_enabled else 'disabled'}"
        + (
            f", Sentinel: {store.sentinel.sentinels} sentinel(s), quorum {store.sentinel.quorum}, "
            f"{store.sentinel.replicas} replica(s)"
            if store.sentinel
            else ""
        ),
        "INFO replication" + (f"; {store.sentinel.asked}" if store.sentinel else ""),
        {
            "role": store.role,
            "connected_replicas": replicas,
            "online_replicas": store.replicas_online,
            "master_link_status": store.master_link_status,
            "cluster_enabled": store.cluster_enabled,
            "sentinels": store.sentinel.sentinels if store.sentinel else None,
            "quorum": store.sentinel.quorum if store.sentinel else None,
        },
    )
    label = redis_label(store)
    view = store.sentinel
    if view is not None:
        if not view.replicas:
            return Finding(
                Status.FAIL,
                f"{label}: Sentinel watches the primary but it has no replica to promote",
                (ev,),
                FAILOVER_FIX,
            )
        if view.quorum is not None and view.sentinels is not None and view.quorum > view.sentinels:
            return Finding(
                Status.FAIL,
                f"{label}: Sentinel quorum {view.quorum} exceeds the {view.sentinels} "
                "Sentinel(s) watching: a failover can never be agreed",
                (ev,),
                FAILOVER_FIX,
            )
        few = (
            f" (only {view.sentinels} Sentinel(s): run 3 on separate hosts)"
            if (view.sentinels or 0) < 3
            else ""
        )
        return Finding(
            Status.PASS,
            f"{label}: Sentinel {view.master_name!r} fails over to {view.replicas} replica(s){few}",
            (ev,),
        )
    if store.cluster_enabled and replicas:
        return Finding(
            Status.PASS, f"{label}: cluster mode with {replicas} replica(s) of this node", (ev,)
        )
    if store.role == "slave":
        return Finding(
            Status.UNKNOWN,
            f"{label} is a replica (link {store.master_link_status}); whether failover is "
            "automatic is not visible from it",
            (ev,),
            FAILOVER_FIX,
        )
    if replicas:
        return Finding(
            Status.UNKNOWN,
            f"{label}: {replicas} replica(s) attached, but no Sentinel or cluster mode is "
            "visible from the primary; automatic failover is not shown",
            (ev,),
            FAILOVER_FIX,
        )
    return Finding(
        Status.FAIL,
        f"{label}: a single node without replicas; nothing to fail over to",
        (ev,),
        FAILOVER_FIX,
    )


@check(
    "live.cache.failover",
    items=[CACHE_FAILOVER],
    needs=[RedisFacts],
    scope="environment",
)
def cache_failover(ctx: CheckContext) -> Iterable[Result]:
    """The cache has a replica and something that promotes it (Sentinel or cluster mode)."""
    findings = [
        _failover_finding(store) if store.ok else unreadable_redis(store)
        for store in redis_stores(ctx)
    ]
    yield from results(ctx, {CACHE_FAILOVER: findings})
