"""Throwaway PostgreSQL clusters for live tests: initdb in a temporary folder, 127.0.0.1 only.

Two shapes: ``hardened`` (TLS with a generated certificate, scram passwords only
over TLS, statement and idle-in-transaction timeouts, WAL archiving into the
temporary folder, pg_stat_statements) and the defaults (trust authentication, no
TLS, the application role a superuser). Both hold a small schema: a table of
20,000 rows that is only ever scanned sequentially and an index nobody uses.
PostgreSQL refuses to run as root, so when the tests run as root the server runs
as the ``postgres`` system user in a folder it owns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

from tests.live.servers import find_binary, free_port, running

APP_PASSWORD = "app-Secret-pw-1"
ROWS = 20_000
SLOW_QUERY_S = 0.6137


@dataclass(frozen=True)
class TlsFiles:
    """A self-signed certificate for 127.0.0.1/localhost, and one that did not sign it."""

    cert: Path
    key: Path
    other_ca: Path


@dataclass(frozen=True)
class PgCluster:
    """A running cluster: its port, folder and how to reach it."""

    port: int
    root: Path
    hardened: bool
    tls: TlsFiles | None

    def url(
        self, user: str = "app", password: str | None = APP_PASSWORD, db: str = "app", **params: str
    ) -> str:
        auth = quote(user) + (f":{quote(password, safe='')}" if password else "")
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}" + (f"?{query}" if query else "")

    def admin(self, db: str = "app") -> psycopg.Connection[Any]:
        """A superuser connection over the Unix socket (for set-up and read-only proofs)."""
        return psycopg.connect(
            host=str(self.root), port=self.port, user="postgres", dbname=db, autocommit=True
        )


def _as_postgres() -> dict[str, Any]:
    """Popen keyword arguments that run a child as ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres"}


def make_tls(folder: Path) -> TlsFiles:
    """Generate a self-signed server certificate and an unrelated CA with openssl."""
    openssl = find_binary("openssl")
    for stem, cn in (("server", "localhost"), ("other", "Other CA")):
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                f"/CN={cn}",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout",
                str(folder / f"{stem}.key"),
                "-out",
                str(folder / f"{stem}.crt"),
            ],
            check=True,
            capture_output=True,
        )
    (folder / "server.key").chmod(0o600)
    return TlsFiles(folder / "server.crt", folder / "server.key", folder / "other.crt")


def require_pg_stat_statements(postgres: str) -> None:
    """The hardened cluster preloads pg_stat_statements (PostgreSQL's contrib modules)."""
    binary = Path(postgres).resolve()
    pg_config = binary.parent / "pg_config"
    if pg_config.exists():
        libdir = subprocess.run(
            [str(pg_config), "--pkglibdir"], check=True, capture_output=True, text=True
        ).stdout.strip()
        if (Path(libdir) / "pg_stat_statements.so").exists():
            return
    elif list(binary.parent.parent.glob("lib/pg_stat_statements.so")):
        return
    raise RuntimeError(
        "pg_stat_statements is not installed next to PostgreSQL: install the contrib modules "
        "(postgresql-contrib) — scripts/test-deps.sh"
    )


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        for item in [path, *path.rglob("*")]:
            shutil.chown(item, "postgres", "postgres")


def _settings(root: Path, hardened: bool, tls: TlsFiles | None) -> list[str]:
    common = {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": str(root),
        "max_connections": "12",
        "superuser_reserved_connections": "3",
        "shared_buffers": "16MB",
        "fsync": "off",
        "logging_collector": "off",
    }
    if hardened:
        assert tls is not None
        common |= {
            "ssl": "on",
            "ssl_cert_file": str(tls.cert),
            "ssl_key_file": str(tls.key),
            "password_encryption": "scram-sha-256",
            "statement_timeout": "30s",
            "idle_in_transaction_session_timeout": "60s",
            "lock_timeout": "10s",
            "archive_mode": "on",
            "archive_command": f"cp %p {root / 'archive'}/%f",
            "shared_preload_libraries": "pg_stat_statements",
            "log_min_duration_statement": "500ms",
            "log_lock_waits": "on",
            "log_connections": "on",
        }
    return [arg for key, value in common.items() for arg in ("-c", f"{key}={value}")]


HBA_HARDENED = """\
local all all trust
hostssl all all 127.0.0.1/32 scram-sha-256
"""
HBA_DEFAULT = """\
local all all trust
local replication all trust
host all all 127.0.0.1/32 trust
"""


def _wait_ready(cluster: PgCluster, timeout: float = 20.0) -> None:
    """The port opens before recovery ends ("the database system is starting up"): wait."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            cluster.admin("postgres").close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _schema(cluster: PgCluster) -> None:
    with cluster.admin("postgres") as conn:
        conn.execute("CREATE DATABASE app")
        conn.execute("CREATE DATABASE reports")
        role = "NOSUPERUSER" if cluster.hardened else "SUPERUSER"
        conn.execute(
            f"CREATE ROLE app LOGIN {role} PASSWORD '{APP_PASSWORD}'"  # fixture constant
        )
    with cluster.admin("app") as conn:
        conn.execute("CREATE TABLE orders (id bigint, customer int, note text)")
        conn.execute(
            "INSERT INTO orders SELECT g, g %% 500, 'note ' || g FROM generate_series(1, %s) g",
            (ROWS,),
        )
        conn.execute("CREATE INDEX orders_note_idx ON orders (note)")
        conn.execute("CREATE TABLE customers (id int PRIMARY KEY, name text)")
        conn.execute("GRANT SELECT ON orders, customers TO app")
        conn.execute("ANALYZE orders")
        if cluster.hardened:
            conn.execute("CREATE EXTENSION pg_stat_statements")
    if cluster.hardened:
        with cluster.admin("reports") as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
    params = {"sslmode": "require"} if cluster.hardened else {}
    # The application's own traffic: sequential scans only, as the application role.
    with psycopg.connect(cluster.url(**params), autocommit=True) as conn:
        for customer in range(10):
            conn.execute("SELECT count(*) FROM orders WHERE customer = %s", (customer,))
    if cluster.hardened:
        with psycopg.connect(cluster.url(db="reports", **params), autocommit=True) as conn:
            conn.execute("SELECT pg_sleep(%s)", (SLOW_QUERY_S,))
        with cluster.admin("postgres") as conn:
            conn.execute("SELECT pg_switch_wal()")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                row = conn.execute("SELECT archived_count FROM pg_stat_archiver").fetchone()
                if row and row[0] > 0:
                    break
                time.sleep(0.05)


@contextlib.contextmanager
def pg_standby(primary: PgCluster, logs: Path) -> Iterator[PgCluster]:
    """A streaming standby of ``primary`` (pg_basebackup -R over the Unix socket)."""
    root = Path(tempfile.mkdtemp(prefix="prr-pg-standby-"))
    try:
        _chown(root)
        data = root / "data"
        subprocess.run(
            [
                find_binary("pg_basebackup"),
                "-D",
                str(data),
                "-R",
                "--checkpoint=fast",
                "--no-sync",
                "-X",
                "stream",
                "-U",
                "postgres",
                "-h",
                str(primary.root),
                "-p",
                str(primary.port),
            ],
            check=True,
            capture_output=True,
            cwd=root,
            **_as_postgres(),
        )
        port = free_port()
        argv = [find_binary("postgres"), "-D", str(data), "-p", str(port)]
        argv += [*_settings(root, False, None), "-c", "hot_standby=on"]
        with running(
            argv, port, log=logs / f"postgres-standby-{port}.log", cwd=root, **_as_postgres()
        ):
            standby = PgCluster(port, root, False, None)
            _wait_ready(standby)
            deadline = time.monotonic() + 10
            with primary.admin("postgres") as conn:
                while not conn.execute(
                    "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
                ).fetchone()[0]:  # type: ignore[index]
                    if time.monotonic() > deadline:
                        raise TimeoutError("the standby did not start streaming")
                    time.sleep(0.05)
            yield standby
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def pg_cluster(hardened: bool, logs: Path) -> Iterator[PgCluster]:
    """Start a cluster (hardened or with defaults), fill its schema, always stop and remove it."""
    root = Path(tempfile.mkdtemp(prefix="prr-pg-"))
    try:
        data = root / "data"
        (root / "archive").mkdir()
        tls = make_tls(root) if hardened else None
        _chown(root)
        initdb = [find_binary("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        subprocess.run(
            [*initdb, "--no-sync", "--encoding=UTF8", "--locale=C"],
            check=True,
            capture_output=True,
            cwd=root,
            **_as_postgres(),
        )
        (data / "pg_hba.conf").write_text(HBA_HARDENED if hardened else HBA_DEFAULT)
        _chown(data / "pg_hba.conf")
        port = free_port()
        postgres = find_binary("postgres")
        if hardened:
            require_pg_stat_statements(postgres)
        argv = [postgres, "-D", str(data), "-p", str(port)]
        argv += _settings(root, hardened, tls)
        log = logs / f"postgres-{'hardened' if hardened else 'default'}-{port}.log"
        with running(argv, port, log=log, cwd=root, **_as_postgres()):
            cluster = PgCluster(port, root, hardened, tls)
            _wait_ready(cluster)
            _schema(cluster)
            yield cluster
    finally:
        shutil.rmtree(root, ignore_errors=True)
