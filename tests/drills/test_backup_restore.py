"""The backup-restore drill against a real throwaway PostgreSQL (TLS, scram passwords).

One cluster per module holds five tables (20,800 rows: no primary key, a primary key, a
dropped column, NULLs, jsonb, bytea, intervals, an empty table). Every run must leave no
scratch database, no temporary folder and the source exactly as it was.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from prr.drills.backup_restore import PITR_ITEM, RESTORE_ITEM, BackupRestoreDrill
from prr.drills.base import DrillContext, DrillOutcome, DrillRefused, execute
from prr.model.evidence import Status
from prr.model.fields import parse_duration
from prr.model.target import Environment, Target
from tests.live.pg import APP_PASSWORD, PgCluster, pg_cluster
from tests.live.servers import find_binary

URL_VAR = "PRR_TEST_DRILL_PG"
PG_DUMP = find_binary("pg_dump")
PG_RESTORE = find_binary("pg_restore")
PSQL = find_binary("psql")
RESTORE = f"{PG_RESTORE} --no-owner --no-privileges --exit-on-error -d {{dbname}} {{file}}"
TABLES = 5
ROWS = 20_000 + 500 + 300
SCHEMA = """
CREATE TABLE shop.items (
    id serial PRIMARY KEY, sku text NOT NULL, price numeric(10, 2), weight float8,
    added timestamptz, tags jsonb, blob bytea, note text, period interval, gone int
);
INSERT INTO shop.items (sku, price, weight, added, tags, blob, note, period)
SELECT 'sku-' || g, g * 1.25, g / 3.0, timestamptz '2025-01-01 00:00+00' + g * interval '1 hour',
       jsonb_build_object('g', g, 'even', g % 2 = 0), decode(md5(g::text), 'hex'),
       CASE WHEN g % 7 = 0 THEN NULL ELSE 'note ' || g END, g * interval '1 minute'
FROM generate_series(1, 500) g;
ALTER TABLE shop.items DROP COLUMN gone;
CREATE TABLE shop.events (kind text, at date);
INSERT INTO shop.events SELECT 'kind-' || (g % 5), date '2025-01-01' + (g % 10)
FROM generate_series(1, 300) g;
CREATE TABLE shop.empty (id int PRIMARY KEY);
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgCluster]:
    """The hardened cluster; the application role may create (scratch) databases."""
    with pg_cluster(True, tmp_path_factory.mktemp("pg-logs")) as cluster:
        with cluster.admin("app") as conn:
            conn.execute("DROP EXTENSION pg_stat_statements")  # not restorable by a non-superuser
            conn.execute("ALTER ROLE app CREATEDB")
            conn.execute("CREATE SCHEMA shop AUTHORIZATION app")
            conn.execute("SET ROLE app")
            conn.execute(SCHEMA)
        yield cluster


@pytest.fixture
def source(cluster: PgCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[PgCluster]:
    """The source URL in the environment; afterwards: no scratch database, source unchanged."""
    monkeypatch.setenv(URL_VAR, cluster.url(sslmode="require"))
    before = fingerprint(cluster)
    yield cluster
    assert scratch_databases(cluster) == []
    assert fingerprint(cluster) == before


def fingerprint(cluster: PgCluster) -> dict[str, Any]:
    """Every table's count and content hash, and the databases: what 'untouched' means."""
    with cluster.admin("app") as conn:
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        ).fetchall()
        sums: dict[str, Any] = {}
        for schema, table in tables:
            name = psycopg.sql.Identifier(schema, table)
            sums[f"{schema}.{table}"] = conn.execute(
                psycopg.sql.SQL(
                    "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {} t"
                ).format(name)
            ).fetchone()
        databases = [r[0] for r in conn.execute("SELECT datname FROM pg_database ORDER BY 1")]
    return {"tables": sums, "databases": databases}


def scratch_databases(cluster: PgCluster) -> list[str]:
    with cluster.admin("postgres") as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'prr_drill_%'")
        return [r[0] for r in rows]


def context(tmp_path: Path, **options: Any) -> DrillContext:
    spec = Environment.model_validate({"postgres": [{"name": "main", "url": f"env:{URL_VAR}"}]})
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    target = Target(service="shop", environments={"staging": spec})
    return DrillContext("staging", spec, target, {"work_dir": str(work), **options}, 120.0)


def run(ctx: DrillContext) -> DrillOutcome:
    outcome = asyncio.run(execute(BackupRestoreDrill(), ctx))
    assert not any(Path(ctx.options["work_dir"]).iterdir()), "the temporary folder is removed"
    text = repr(outcome)
    assert APP_PASSWORD not in text and "Secret" not in text
    return outcome


def test_restores_and_verifies_every_table(source: PgCluster, tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        max_rows_checksummed=10_000,
        rto="1h",
        rpo="1h",
        latest_backup_command="echo checking; date -u +%Y-%m-%dT%H:%M:%SZ",
    )
    plan = BackupRestoreDrill().plan(ctx)
    assert plan.changes_state and any("prr_drill_<random>" in t for t in plan.touches)
    assert all("Secret" not in line for line in (*plan.touches, *plan.steps))
    outcome = run(ctx)
    assert outcome.passed, outcome.summary
    (result,) = outcome.results
    assert result.item_id == RESTORE_ITEM and result.status is Status.PASS
    assert result.fields["last_restore_test"] == dt.datetime.now(dt.UTC).date().isoformat()
    assert parse_duration(result.fields["restore_duration"]).total_seconds() > 0
    m = outcome.measurements
    assert (m["tables"], m["rows"], m["checksum_mismatches"], m["count_mismatches"]) == (
        TABLES,
        ROWS,
        0,
        0,
    )
    assert m["tables_counts_only"] == 1 and m["backup_bytes"] > 1000
    assert m["total_seconds"] == pytest.approx(m["backup_seconds"] + m["restore_seconds"])
    assert 0 <= m["newest_backup_age_seconds"] < 120
    assert "1 table(s) above 10,000 rows compared by count only (public.orders)" in result.message
    assert "within the RTO 1h (-o rto)" in result.message
    assert re.search(r"newest backup \S+ old, within the RPO 1h", result.message)
    log = "\n".join(outcome.log)
    for step in ("snapshot", "backup: done in", "restore: done in", "verify:", "dropped"):
        assert step in log, step


def test_truncated_backup_fails_the_drill(source: PgCluster, tmp_path: Path) -> None:
    truncate = f"{PG_DUMP} -Fc --snapshot={{snapshot}} -f {{file}}.full && "
    truncate += "head -c 3000 {file}.full > {file}"
    outcome = run(context(tmp_path, backup_command=truncate))
    assert not outcome.passed
    (result,) = outcome.results
    assert result.status is Status.FAIL and "the restore failed" in result.message
    assert "pg_restore" in result.message and "restore_duration" in result.fields


def test_restore_losing_rows_is_caught_by_verification(source: PgCluster, tmp_path: Path) -> None:
    damage = (
        f"{RESTORE} && {PSQL} -X -q -v ON_ERROR_STOP=1 "
        "-c 'DELETE FROM shop.events WHERE ctid IN (SELECT ctid FROM shop.events LIMIT 3)' "
        "-c 'UPDATE shop.items SET price = price + 1 WHERE id = 7' -c 'DROP TABLE shop.empty'"
    )
    outcome = run(context(tmp_path, restore_command=damage))
    assert not outcome.passed
    (result,) = outcome.results
    assert result.status is Status.FAIL
    m = outcome.measurements
    assert (m["missing_tables"], m["count_mismatches"], m["checksum_mismatches"]) == (1, 1, 1)
    assert "shop.events: 300 rows in the snapshot, 297 restored" in result.message
    assert "shop.items: same 500 rows but their content differs" in result.message
    assert "shop.empty is missing from the restored database" in result.message


def test_rto_exceeded_fails_with_the_measured_time(source: PgCluster, tmp_path: Path) -> None:
    # The backup command also proves how credentials travel: a 0600 passfile, no
    # PGPASSWORD, and a password-free connection string in {dsn_env}.
    backup = (
        'test "$(stat -c %a "$PGPASSFILE")" = 600 && test -z "$PGPASSWORD" && '
        'case "${dsn_env}" in *Secret*) exit 9;; esac && '
        f'{PG_DUMP} -Fc -d "${{dsn_env}}" --snapshot={{snapshot}} -f {{file}}'
    )
    outcome = run(context(tmp_path, rto="1ms", backup_command=backup))
    assert not outcome.passed
    (result,) = outcome.results
    assert result.status is Status.FAIL
    total = outcome.measurements["total_seconds"]
    assert total > 0.001 and outcome.measurements["rto_seconds"] == 0.001
    assert re.search(r"backup \S+ \+ restore \S+ = \S+ is more than the RTO 1ms", result.message)
    assert outcome.measurements["checksum_mismatches"] == 0


def test_cancelled_while_restoring_drops_the_scratch_database(
    source: PgCluster, tmp_path: Path
) -> None:
    ctx = context(tmp_path, restore_command=f"{RESTORE} && sleep 47.25")

    def restored(name: str) -> bool:
        try:
            with source.admin(name) as conn:
                row = conn.execute("SELECT to_regclass('shop.items') IS NOT NULL").fetchone()
                return bool(row and row[0])
        except psycopg.OperationalError:
            return False

    async def scenario() -> str:
        task = asyncio.create_task(BackupRestoreDrill().run(ctx))
        deadline = time.monotonic() + 30
        name = ""
        while not name or not await asyncio.to_thread(restored, name):
            assert time.monotonic() < deadline and not task.done(), ctx.log
            found = re.search(r"into (prr_drill_[0-9a-f]{12}) started", "\n".join(ctx.log))
            name = found.group(1) if found else ""
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return name

    name = asyncio.run(scenario())
    assert name not in scratch_databases(source)
    assert f"scratch database {name} dropped" in "\n".join(ctx.log)
    assert not any(Path(ctx.options["work_dir"]).iterdir())
    commands = [p.read_bytes() for p in Path("/proc").glob("[0-9]*/cmdline") if p.exists()]
    assert not any(b"47.25" in c for c in commands), "the restore command is stopped"


def test_wrong_password_fails_clearly_without_showing_it(
    source: PgCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_VAR, source.url(password="wrong-Secret-pw-9", sslmode="require"))
    outcome = run(context(tmp_path))
    assert not outcome.passed and outcome.results == []
    assert "authentication failed for role 'app'" in outcome.summary
    assert "wrong-Secret" not in repr(outcome)


def test_refusals_and_pitr_left_undecided(
    source: PgCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drill = BackupRestoreDrill()
    no_store = DrillContext("staging", Environment(), Target(service="shop"), {})
    with pytest.raises(DrillRefused, match="no postgres store"):
        drill.plan(no_store)
    with pytest.raises(DrillRefused, match="rto"):
        drill.plan(context(tmp_path, rto="soon"))
    with pytest.raises(DrillRefused, match="password"):
        drill.plan(context(tmp_path, scratch_url=source.url()))
    plan = drill.plan(context(tmp_path, pitr_target="2025-01-01T00:00:00Z"))
    assert any("pitr_restore_command" in step for step in plan.steps)
    monkeypatch.delenv(URL_VAR)
    with pytest.raises(DrillRefused, match=f"env:{URL_VAR} is not set"):
        drill.plan(context(tmp_path))


def test_point_in_time_restore_is_checked(
    source: PgCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in for the user's PITR tool (pgBackRest --type=time …): it restores the
    # drill's own backup into {dbname}; pitr_check_query then shows which moment it holds.
    # The scratch databases are made through scratch_url (another database of the server).
    monkeypatch.setenv("PRR_TEST_SCRATCH", source.url(db="postgres", sslmode="require"))
    target = dt.datetime.now(dt.UTC).replace(microsecond=0)
    command = RESTORE.replace("{file}", "{work}/backup.dump")
    ctx = context(
        tmp_path,
        scratch_url="env:PRR_TEST_SCRATCH",
        pitr_target=target.isoformat(),
        pitr_restore_command=command,
        pitr_check_query="SELECT max(added) FROM shop.items",
    )
    outcome = run(ctx)
    assert outcome.passed, outcome.summary
    restore, pitr_result = outcome.results
    assert restore.status is Status.PASS
    assert pitr_result.item_id == PITR_ITEM and pitr_result.status is Status.PASS
    assert "newest change 2025-01-21T20:00:00+00:00 (not after the target)" in pitr_result.message
    late = context(
        tmp_path,
        pitr_target="2025-01-02T00:00:00+00:00",
        pitr_restore_command=command,
        pitr_check_query="SELECT max(added) FROM shop.items",
    )
    failed = run(late)
    assert not failed.passed and failed.results[1].status is Status.FAIL
    assert "after the target" in failed.results[1].message


def test_cli_run_then_scan_counts_the_drill(
    source: PgCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prr.cli import app

    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "prr.yaml").write_text(
        "service: shop\ntraits: [database]\nenvironments:\n  staging:\n"
        f"    postgres:\n      - name: main\n        url: env:{URL_VAR}\n"
    )
    (repo / "docs" / "disaster-recovery.md").write_text(
        "# Disaster recovery plan\n\nObjectives for the shop database.\n\n- RTO: 4 hours\n"
    )
    database = f"sqlite:///{tmp_path}/prr.db"
    runner = CliRunner()
    argv = ["drill", "run", "backup-restore", str(repo), "--env", "staging", "--yes"]
    result = runner.invoke(app, [*argv, "--database", database])
    output = (result.stdout + result.stderr).replace("\n", " ")
    assert result.exit_code == 0, output
    assert "PASSED" in output and "recorded as drill" in output
    assert "within the RTO 4h (stated in docs/disaster-recovery.md:5)" in output
    assert "backup_seconds" in output and "checksum_mismatches: 0" in output
    assert APP_PASSWORD not in output
    monkeypatch.setenv("PRR_DATABASE_URL", database)
    scan = runner.invoke(app, ["scan", str(repo), "-f", "json", "--all", "--fail-on", "never"])
    assert scan.exit_code == 0, scan.stdout + scan.stderr
    items = {i["id"]: i for i in json.loads(scan.stdout)["items"]}
    item = items[RESTORE_ITEM]
    assert (item["status"], item["source"]) == ("pass", "drill")
    assert "verified by drill on" in item["message"]
    assert item["fields"]["last_restore_test"] == dt.datetime.now(dt.UTC).date().isoformat()
    assert items[PITR_ITEM]["source"] != "drill"
