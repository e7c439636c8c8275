"""Live PostgreSQL collector and its checks, against real throwaway clusters.

Two clusters per module: hardened (TLS, scram, timeouts, WAL archiving,
pg_stat_statements, a non-superuser application role) and the defaults (trust,
no TLS, the application role a superuser). Failure cases (wrong password,
refused port, a server that never answers, a certificate that does not verify,
an unset variable, a metadata address) each end quickly with a clear reason
and make the items unknown, never passed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from prr.checks.registry import REGISTRY, load_builtin_checks
from prr.collectors.base import Facts
from prr.collectors.live.base import LiveLimits
from prr.collectors.live.postgres import (
    PostgresCollector,
    PostgresFacts,
    PostgresStore,
    connect,
    normalise_query,
    support_status,
)
from prr.engine.scan import ScanOptions, run_scan
from prr.model.evidence import Result, Status
from tests.helpers import by_item, run_live_check
from tests.live.pg import APP_PASSWORD, ROWS, SLOW_QUERY_S, PgCluster, pg_cluster, pg_standby
from tests.live.redisserver import silent_server
from tests.live.servers import collect_live, free_port

PROVISIONED = "infrastructure.database.production-database-provisioned"
LIMITS = "infrastructure.database.connection-limits-set"
POOLING = "infrastructure.database.connection-pooling-configured"
INDEXES = "infrastructure.database.indexes-optimized"
TESTED = "infrastructure.database.query-performance-tested"
OPTIMIZED = "performance.optimization.database-queries-optimized"
IN_TRANSIT = "security.data-security.data-encrypted-in-transit"
EXPOSED = "security.network-security.internal-services-not-exposed"
ROLE = "security.secrets-management.service-accounts-minimal-permissions"
PITR = "reliability.backup-recovery.point-in-time-recovery"
REPLICAS = "infrastructure.database.read-replicas"

CHECKS = (
    "live.database.provisioned",
    "live.database.connections",
    "live.database.pooling",
    "live.database.replicas",
    "live.database.indexes",
    "live.database.query-stats",
    "live.datastore.tls",
    "live.datastore.authentication",
    "live.database.role-privileges",
    "live.database.pitr",
)
FAST = LiveLimits(timeout_s=1.0, total_timeout_s=20.0)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pg-logs")


@pytest.fixture(scope="module")
def hardened(logs: Path) -> Iterator[PgCluster]:
    with pg_cluster(True, logs) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def defaults(logs: Path) -> Iterator[PgCluster]:
    with pg_cluster(False, logs) as cluster:
        yield cluster


def _collect(
    monkeypatch: pytest.MonkeyPatch, limits: LiveLimits | None = None, **urls: str
) -> tuple[PostgresFacts, Facts, list[str]]:
    """Collect the stores ``name=url`` (URLs passed through env:VAR, as prr.yaml requires)."""
    stores = []
    for name, url in urls.items():
        var = f"PRR_TEST_PG_{name.upper()}"
        monkeypatch.setenv(var, url)
        stores.append({"name": name, "url": f"env:{var}"})
    facts, ctx = collect_live(PostgresCollector, {"postgres": stores}, limits=limits)
    bag = Facts(list(ctx.errors))
    bag.add(facts)
    return facts, bag, [str(e) for e in ctx.errors]


def _run(bag: Facts, production: bool = True) -> dict[str, Result]:
    out: dict[str, Result] = {}
    for check_id in CHECKS:
        out.update(by_item(run_live_check(check_id, bag, "production", production)))
    return out


def _text(facts: PostgresFacts) -> str:
    return json.dumps(dataclasses.asdict(facts), default=str)


# --- the hardened cluster -------------------------------------------------------------------------


def test_hardened_facts(hardened: PgCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    facts, _, errors = _collect(monkeypatch, main=hardened.url(sslmode="require"))
    assert errors == []
    (store,) = facts.stores
    assert store.ok and store.major is not None and store.major >= 12
    assert store.setting("ssl").on and store.ssl_in_use and store.ssl_protocol
    assert store.setting("password_encryption").value == "scram-sha-256"
    assert store.setting("statement_timeout").ms == 30_000
    assert store.setting("idle_in_transaction_session_timeout").ms == 60_000
    assert store.password_requested is True
    assert store.role is not None and not store.role.superuser
    assert store.hba is None
    assert "permission denied" in store.unreadable["pg_hba_file_rules"]
    assert store.archiver is not None and store.archiver.archived_count >= 1
    assert "pg_stat_statements" in store.extensions
    assert store.statements and any(
        q.query == "SELECT count(*) FROM orders WHERE customer = $1" and q.calls == 10
        for q in store.statements
    )
    assert any(t.table == "public.orders" for t in store.seq_scan_tables or ())
    assert [i.index for i in store.unused_indexes or ()] == ["public.orders_note_idx"]
    assert store.connections_used is not None and store.connections_used >= 1
    assert "127.0.0.1" in store.url and APP_PASSWORD not in _text(facts)


def test_hardened_checks(hardened: PgCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    _, bag, _ = _collect(monkeypatch, main=hardened.url(sslmode="require"))
    results = _run(bag)
    for item in (PROVISIONED, LIMITS, IN_TRANSIT, EXPOSED, ROLE, PITR, TESTED, OPTIMIZED):
        assert results[item].status is Status.PASS, (item, results[item].message)
    assert results[PROVISIONED].message.startswith("[production] PostgreSQL main answers")
    assert "sslmode=require" in results[IN_TRANSIT].message, "unverified certificate is noted"
    assert "prr drill backup-restore" in results[PITR].message
    index = results[INDEXES]
    assert index.status is Status.FAIL
    assert "public.orders" in index.message and "orders_note_idx" in index.message
    assert "DROP INDEX CONCURRENTLY public.orders_note_idx" in (index.remediation or "")
    assert POOLING not in results, "no pooler seen: no opinion"
    json.dumps([r.to_dict() for r in results.values()])  # plain JSON data, for every report
    for result in results.values():
        assert result.environment == "production"
        for evidence in result.evidence:
            assert evidence.url and "***" in evidence.url and "read" in evidence.summary
            assert evidence.value and "read_at" in evidence.value


def test_slow_statements_fail_without_parameter_values(
    hardened: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, bag, _ = _collect(
        monkeypatch, main=hardened.url(sslmode="require"), reports=hardened.url(db="reports")
    )
    results = _run(bag)
    tested = results[TESTED]
    assert tested.status is Status.FAIL
    assert "PostgreSQL reports" in tested.message and "PostgreSQL main" in tested.message
    assert "SELECT pg_sleep($1)" in tested.message and str(SLOW_QUERY_S) not in tested.message
    assert "EXPLAIN (ANALYZE, BUFFERS) SELECT pg_sleep($1);" in (tested.remediation or "")
    assert results[OPTIMIZED].status is Status.FAIL


def test_certificate_verification(hardened: PgCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    assert hardened.tls is not None
    facts, bag, errors = _collect(
        monkeypatch,
        good=hardened.url(sslmode="verify-full", sslrootcert=str(hardened.tls.cert)),
        bad=hardened.url(sslmode="verify-full", sslrootcert=str(hardened.tls.other_ca)),
    )
    good, bad = facts.stores
    assert good.ok and good.sslmode == "verify-full"
    assert bad.error == "TLS handshake failed: the server's certificate could not be verified"
    assert len(errors) == 1 and "postgres bad" in errors[0]
    result = by_item(run_live_check("live.datastore.tls", bag))[IN_TRANSIT]
    assert result.status is Status.UNKNOWN
    assert "did not verify" not in result.message.split(";")[0]


# --- the defaults -------------------------------------------------------------------------------


def test_default_cluster_findings(defaults: PgCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    facts, bag, errors = _collect(monkeypatch, main=defaults.url(password=None))
    assert errors == []
    (store,) = facts.stores
    assert store.hba is not None and {r.method for r in store.hba} == {"trust"}
    assert store.password_requested is False and store.ssl_in_use is False
    assert store.role is not None and store.role.superuser
    results = _run(bag)
    expected = {
        IN_TRANSIT: Status.FAIL,
        EXPOSED: Status.FAIL,
        ROLE: Status.FAIL,
        PITR: Status.FAIL,
        LIMITS: Status.FAIL,
        INDEXES: Status.FAIL,
        OPTIMIZED: Status.FAIL,
        TESTED: Status.UNKNOWN,
        PROVISIONED: Status.PASS,
    }
    assert {item: results[item].status for item in expected} == expected
    assert "ssl is off" in results[IN_TRANSIT].message
    assert "ssl = on" in (results[IN_TRANSIT].remediation or "")
    assert "without asking for a password" in results[EXPOSED].message
    assert "line 3: host all all 127.0.0.1 trust" in results[EXPOSED].message
    assert "SUPERUSER" in results[ROLE].message and "NOSUPERUSER" in (
        results[ROLE].remediation or ""
    )
    assert "archive_mode is off" in results[PITR].message
    assert "archive_mode = on" in (results[PITR].remediation or "")
    assert "idle_in_transaction_session_timeout is 0" in results[LIMITS].message
    assert "statement_timeout is 0" in results[OPTIMIZED].message
    assert "pg_stat_statements" in results[TESTED].message
    json.dumps([r.to_dict() for r in results.values()])


def test_connection_use_over_80_percent_fails(
    defaults: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = [defaults.admin("postgres") for _ in range(9)]
    try:
        facts, bag, _ = _collect(monkeypatch, main=defaults.url(password=None))
    finally:
        for conn in held:
            conn.close()
    (store,) = facts.stores
    assert store.setting("max_connections").number == 12
    assert store.connection_use_percent is not None and store.connection_use_percent > 80
    result = by_item(run_live_check("live.database.connections", bag))[LIMITS]
    assert result.status is Status.FAIL
    assert f"{store.connections_used} of 12 connections in use" in result.message
    assert result.evidence[0].value["answer"]["use_percent"] == store.connection_use_percent


def test_pooler_sessions_pass_pooling(defaults: PgCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(
        host=str(defaults.root),
        port=defaults.port,
        user="postgres",
        dbname="app",
        application_name="pgbouncer",
    ):
        _, bag, _ = _collect(monkeypatch, main=defaults.url(password=None))
    result = by_item(run_live_check("live.database.pooling", bag))[POOLING]
    assert result.status is Status.PASS and "pgbouncer" in result.message


def test_streaming_standby(
    defaults: PgCluster, logs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pg_standby(defaults, logs) as standby:
        facts, bag, errors = _collect(
            monkeypatch,
            primary=defaults.url(password=None),
            standby=standby.url(password=None),
        )
    assert errors == []
    primary, replica = facts.stores
    assert len(primary.replicas) == 1 and primary.replicas[0].state == "streaming"
    assert replica.in_recovery is True and replica.wal_receiver == "streaming"
    results = _run(bag)
    assert results[REPLICAS].status is Status.PASS
    assert "PostgreSQL primary: 1 streaming replica(s)" in results[REPLICAS].message
    assert "PostgreSQL standby is a standby; WAL receiver streaming" in results[REPLICAS].message
    assert "is a standby" in results[PITR].message
    assert facts.parity()["postgres.primary.replicated"] is True


# --- failures: quick, clear, never a pass ------------------------------------------------------


def _assert_all_unknown(bag: Facts, reason: str) -> None:
    results = _run(bag)
    assert results, "an unreadable store still produces results"
    for item, result in results.items():
        assert result.status is Status.UNKNOWN, (item, result.status)
        assert reason in result.message


def test_wrong_password(hardened: PgCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "Wrong-Pass-zz9"
    facts, bag, errors = _collect(monkeypatch, main=hardened.url(password=secret))
    reason = "authentication failed for role 'app': wrong user name or password"
    assert facts.stores[0].error == reason
    assert errors == [
        f"[staging] postgres main (postgresql://app:***@127.0.0.1:{hardened.port}/app): {reason} (postgres)"
    ]
    _assert_all_unknown(bag, reason)
    assert secret not in _text(facts) + json.dumps(errors)
    assert secret not in json.dumps([r.to_dict() for r in _run(bag).values()])


def test_refused_port(monkeypatch: pytest.MonkeyPatch) -> None:
    started = time.monotonic()
    facts, bag, _ = _collect(
        monkeypatch, limits=FAST, main=f"postgresql://app:pw@127.0.0.1:{free_port()}/app"
    )
    assert time.monotonic() - started < 5
    assert facts.stores[0].error == "unreachable: connection refused"
    _assert_all_unknown(bag, "connection refused")


def test_server_that_never_answers_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with silent_server() as port:
        started = time.monotonic()
        facts, bag, _ = _collect(
            monkeypatch, limits=FAST, main=f"postgresql://app:pw@127.0.0.1:{port}/app"
        )
        elapsed = time.monotonic() - started
    assert elapsed < 5
    assert "no answer within 1s" in (facts.stores[0].error or "")
    _assert_all_unknown(bag, "no answer within 1s")


def test_unset_variable_and_metadata_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRR_TEST_PG_UNSET", raising=False)
    facts, _ = collect_live(
        PostgresCollector, {"postgres": [{"name": "gone", "url": "env:PRR_TEST_PG_UNSET"}]}
    )
    assert facts.stores[0].error == "env:PRR_TEST_PG_UNSET is not set in the environment"
    meta, _, errors = _collect(monkeypatch, limits=FAST, meta="postgresql://a:b@169.254.169.254/x")
    assert "cloud metadata address" in (meta.stores[0].error or "")
    assert errors and "b@" not in errors[0]


def test_invalid_port_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    facts, _, errors = _collect(monkeypatch, main="postgresql://app:pw@127.0.0.1:port/app")
    assert facts.stores[0].error == "the URL has an invalid port"
    assert facts.stores[0].url == "<unparsed url>" and "pw" not in errors[0]


def test_crashed_collector_leaves_its_part_unknown() -> None:
    from prr.collectors.live.redis import RedisFacts

    bag = Facts()
    bag.fail(PostgresFacts, "collector crashed: RuntimeError")
    bag.add(RedisFacts(()))
    (result,) = run_live_check("live.datastore.tls", bag)
    assert result.status is Status.UNKNOWN
    assert "PostgreSQL evidence unavailable: collector crashed" in result.message
    only_redis = Facts()
    only_redis.add(RedisFacts(()))
    assert run_live_check("live.datastore.tls", only_redis) == []


def test_no_stores_no_opinion() -> None:
    bag = Facts()
    bag.add(PostgresFacts(()))
    assert _run(bag) == {}


# --- read-only ----------------------------------------------------------------------------------


def _snapshot(cluster: PgCluster) -> dict[str, Any]:
    with cluster.admin("app") as conn:
        return {
            "settings": conn.execute("SELECT name, setting FROM pg_settings ORDER BY 1").fetchall(),
            "relations": conn.execute(
                "SELECT relname, relkind FROM pg_class WHERE relnamespace = 'public'::regnamespace"
                " ORDER BY 1"
            ).fetchall(),
            "rows": conn.execute("SELECT count(*), sum(id) FROM orders").fetchone(),
            "roles": conn.execute(
                "SELECT rolname, rolsuper, rolcanlogin FROM pg_roles ORDER BY 1"
            ).fetchall(),
        }


def test_scan_changes_nothing(hardened: PgCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _snapshot(hardened)
    facts, _, _ = _collect(monkeypatch, main=hardened.url(sslmode="require"))
    assert facts.stores[0].ok
    assert _snapshot(hardened) == before
    assert before["rows"][0] == ROWS


def test_session_refuses_writes(hardened: PgCluster) -> None:
    async def attempt() -> str:
        conn = await connect(hardened.url(sslmode="require"), "127.0.0.1", 5.0, "test")
        try:
            await conn.execute("CREATE TABLE prr_should_not_exist (i int)")
        except psycopg.errors.ReadOnlySqlTransaction:
            return "refused"
        finally:
            await conn.close()
        return "created"

    assert asyncio.run(attempt()) == "refused"


# --- pure helpers, parity and the engine --------------------------------------------------------


def test_normalise_query_strips_literals() -> None:
    text = "SELECT *  FROM t WHERE a = 'x''s secret' AND b = E'\\n' AND c = 42 AND d = $$body$$ AND e = $1"
    assert normalise_query(text) == (
        "SELECT * FROM t WHERE a = '?' AND b = '?' AND c = ? AND d = $$?$$ AND e = $1"
    )
    assert len(normalise_query("SELECT " + "x, " * 200)) == 200


def test_support_window_is_data() -> None:
    import datetime as dt

    assert support_status(12, dt.date(2026, 1, 1)) == (False, dt.date(2024, 11, 21))
    assert support_status(13, dt.date(2025, 11, 1)) == (True, dt.date(2025, 11, 13))
    assert support_status(17, dt.date(2026, 1, 1)) == (True, dt.date(2029, 11, 8))
    assert support_status(9, dt.date(2026, 1, 1))[0] is False
    assert support_status(30, dt.date(2026, 1, 1)) == (True, None)


def test_unsupported_version_fails_provisioned() -> None:
    store = PostgresStore("old", "postgresql://db:5432/x", "2026-01-01T00:00:00+00:00")
    old = dataclasses.replace(store, version="12.22", version_num=120022)
    bag = Facts()
    bag.add(PostgresFacts((old,)))
    result = by_item(run_live_check("live.database.provisioned", bag, production=True))
    assert result[PROVISIONED].status is Status.FAIL
    assert "community support ended 2024-11-21" in result[PROVISIONED].message
    assert run_live_check("live.database.provisioned", bag, production=False) == []


def test_parity_view(hardened: PgCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    facts, _, _ = _collect(monkeypatch, main=hardened.url(sslmode="require"))
    view = facts.parity()
    assert view["postgres.main.version.major"] == facts.stores[0].major
    assert view["postgres.main.ssl"] == "on"
    assert view["postgres.main.settings.statement_timeout"] == "30s"
    assert view["postgres.main.size.max_connections"] == 12
    assert "127.0.0.1" not in json.dumps(view)


def test_scan_compares_staging_with_production(
    hardened: PgCluster, defaults: PgCluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PRR_TEST_PROD_PG", hardened.url(sslmode="require"))
    monkeypatch.setenv("PRR_TEST_STAGING_PG", defaults.url(password=None))
    (tmp_path / "prr.yaml").write_text(
        "service: shop\ntraits: [database]\nenvironments:\n"
        "  staging:\n    postgres: [{name: main, url: env:PRR_TEST_STAGING_PG}]\n"
        "    expected_differences: ['*.size.*']\n"
        "  production:\n    production: true\n"
        "    postgres: [{name: main, url: env:PRR_TEST_PROD_PG}]\n"
    )
    load_builtin_checks()
    checks = [REGISTRY[c] for c in (*CHECKS, "deployment.live-parity")]
    assessment = run_scan(
        ScanOptions(
            root=tmp_path,
            collectors=[],
            checks=checks,
            live=True,
            live_collectors=[PostgresCollector],
            live_limits=LiveLimits(timeout_s=5.0, total_timeout_s=30.0),
        )
    )
    items = {i.id: i for i in assessment.items}
    mirrors = items["deployment.environment-parity.staging-mirrors-production"]
    assert mirrors.status is Status.FAIL
    assert "postgres.main.role.superuser" in mirrors.message
    assert "size.max_connections" not in mirrors.message
    role = items[ROLE]
    assert role.status is Status.FAIL and {r.environment for r in role.results} == {
        "staging",
        "production",
    }
    assert items[PROVISIONED].status is Status.PASS
    assert assessment.errors == []
