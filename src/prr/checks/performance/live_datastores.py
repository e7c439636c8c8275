"""Query performance as the database measured it: pg_stat_statements and statement_timeout.

The slowest data statements by mean execution time (texts normalised by the
server, literals stripped once more by prr) are compared with a threshold;
without pg_stat_statements the items stay unknown — there is nothing to judge
from. A ``statement_timeout`` of 0 fails "Database queries optimized" on its
own: the item's acceptance criteria ask for one, and it is the database half
of the seed's "Timeouts not configured" blocker.
"""

from __future__ import annotations

from collections.abc import Iterable

from prr.checks.infrastructure.live_datastores import (
    Finding,
    pg_evidence,
    pg_label,
    pg_stores,
    results,
    unreadable_pg,
)
from prr.checks.registry import CheckContext, check
from prr.collectors.live.postgres import Q_STATEMENTS, PostgresFacts, PostgresStore
from prr.model.evidence import Evidence, Result, Status

QUERY_TESTED = "infrastructure.database.query-performance-tested"
QUERIES_OPTIMIZED = "performance.optimization.database-queries-optimized"
SLOW_MEAN_MS = 500.0
"""A data statement whose mean execution time exceeds this is slow for an online service."""

STATEMENTS_FIX = (
    "# postgresql.conf: collect statement statistics, then in the database:\n"
    "shared_preload_libraries = 'pg_stat_statements'\n"
    "-- CREATE EXTENSION pg_stat_statements;\n"
    "-- GRANT pg_read_all_stats TO <prr's role>;   -- to see every role's statements"
)
TIMEOUT_FIX = (
    "# postgresql.conf, or per role: ALTER ROLE app SET statement_timeout = '30s';\n"
    "statement_timeout = '30s'\nlock_timeout = '10s'"
)


def _statements_evidence(store: PostgresStore) -> Evidence:
    rows = store.statements or ()
    return pg_evidence(
        store,
        f"slowest of {store.statement_count} statement(s) by mean time: "
        + (
            "; ".join(f"{q.mean_ms:.1f} ms × {q.calls}: {q.query}" for q in rows[:3])
            if rows
            else "none"
        )
        + (
            f" ({store.hidden_statements} hidden from this role)" if store.hidden_statements else ""
        ),
        Q_STATEMENTS.format(mean="mean_exec_time", total="total_exec_time"),
        {
            "slowest": [
                {"query": q.query, "calls": q.calls, "mean_ms": round(q.mean_ms, 3)} for q in rows
            ],
            "log_min_duration_statement": store.setting("log_min_duration_statement").display(),
        },
    )


def _stats_finding(store: PostgresStore) -> Finding:
    """Judged from pg_stat_statements alone (both items share it)."""
    label = pg_label(store)
    if store.statements is None:
        reason = store.unreadable.get("pg_stat_statements", "not read")
        return Finding(
            Status.UNKNOWN,
            f"{label}: no query statistics to judge from (pg_stat_statements: {reason})",
            (
                pg_evidence(
                    store, f"pg_stat_statements: {reason}", "SELECT extname FROM pg_extension"
                ),
            ),
            STATEMENTS_FIX,
        )
    visible = [q for q in store.statements if q.query != "<insufficient privilege>"]
    if not visible:
        hidden = (
            f"{store.hidden_statements} statement(s) hidden from this role"
            if store.hidden_statements
            else "no data statement recorded yet"
        )
        return Finding(
            Status.UNKNOWN,
            f"{label}: pg_stat_statements holds nothing prr can judge ({hidden})",
            (_statements_evidence(store),),
            STATEMENTS_FIX,
        )
    slow = [q for q in visible if q.mean_ms > SLOW_MEAN_MS]
    if slow:
        worst = slow[0]
        return Finding(
            Status.FAIL,
            f"{label}: {len(slow)} statement(s) average over {SLOW_MEAN_MS:g} ms; slowest "
            f"{worst.mean_ms:.0f} ms over {worst.calls} call(s): {worst.query}",
            (_statements_evidence(store),),
            "-- EXPLAIN (ANALYZE, BUFFERS) each slow statement on production-sized data, add the "
            "missing indexes or rewrite it:\nEXPLAIN (ANALYZE, BUFFERS) " + worst.query + ";",
        )
    return Finding(
        Status.PASS,
        f"{label}: the slowest data statement averages {visible[0].mean_ms:.1f} ms "
        f"(threshold {SLOW_MEAN_MS:g} ms, {store.statement_count} statement(s) recorded)",
        (_statements_evidence(store),),
    )


def _timeout_finding(store: PostgresStore) -> Finding | None:
    timeout = store.setting("statement_timeout")
    if timeout.ms is None or timeout.ms > 0:
        return None
    return Finding(
        Status.FAIL,
        f"{pg_label(store)}: statement_timeout is 0 for role "
        f"{store.role.name if store.role else '?'}: a runaway query can run (and hold "
        "connections and locks) forever",
        (
            pg_evidence(
                store,
                f"statement_timeout = {timeout.display()} (source: {timeout.source})",
                "SELECT setting, source FROM pg_settings WHERE name = 'statement_timeout'",
                {"statement_timeout": timeout.value, "source": timeout.source},
            ),
        ),
        TIMEOUT_FIX,
    )


@check(
    "live.database.query-stats",
    items=[QUERY_TESTED, QUERIES_OPTIMIZED],
    needs=[PostgresFacts],
    scope="environment",
)
def database_query_stats(ctx: CheckContext) -> Iterable[Result]:
    """The slowest statements stay under 500 ms on average, and a statement timeout is set."""
    tested: list[Finding] = []
    optimized: list[Finding] = []
    for store in pg_stores(ctx):
        if not store.ok:
            tested.append(unreadable_pg(store))
            optimized.append(unreadable_pg(store))
            continue
        stats = _stats_finding(store)
        tested.append(stats)
        timeout = _timeout_finding(store)
        if timeout is not None:
            optimized.append(timeout)
            if stats.status is Status.FAIL:
                optimized.append(stats)
        else:
            optimized.append(stats)
    yield from results(ctx, {QUERY_TESTED: tested, QUERIES_OPTIMIZED: optimized})
