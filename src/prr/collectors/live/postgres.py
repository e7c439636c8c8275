"""Live PostgreSQL: version, TLS, authentication, limits, timeouts, archiving, replication, stats.

Reads every ``postgres:`` data store of an environment with psycopg 3 (async),
in a read-only session (``default_transaction_read_only=on``) with a
server-side ``statement_timeout`` and a client-side timeout on every call. It
reads catalogs, settings and statistics views only: never a table's rows.
Query texts from ``pg_stat_statements`` are already normalised by the server;
string and numeric literals are stripped once more before they are kept.

Why ``statement_timeout`` is set with ``SET`` after the first query and not in
the startup ``options``: a startup option would hide the server's own value
(``pg_settings`` would report prr's), and the server's value is one of the
things this collector verifies. The first query reads a handful of rows of
``pg_settings`` under the client-side timeout; every later one runs under both.

Parts that need privileges the role lacks (``pg_hba_file_rules``, other roles'
query texts) are recorded as "not visible", never as fine. A store that cannot
be reached, or refuses the credentials, is recorded with the reason in prr's
own words (library messages can hold a DSN) and reported with ``ctx.error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from prr.collectors.live.base import LiveCollector, LiveContext, ParityView, register_live
from prr.collectors.live.guard import redact_url
from prr.errors import CollectorError, CollectorTimeout, CollectorUnreachable
from prr.model.fields import format_duration
from prr.model.target import DataStore, resolve_secret

COLLECTOR = "postgres"
APPLICATION_NAME = "prr-live"

SUPPORT_ENDS: Mapping[int, dt.date] = {
    10: dt.date(2022, 11, 10),
    11: dt.date(2023, 11, 9),
    12: dt.date(2024, 11, 21),
    13: dt.date(2025, 11, 13),
    14: dt.date(2026, 11, 12),
    15: dt.date(2027, 11, 11),
    16: dt.date(2028, 11, 9),
    17: dt.date(2029, 11, 8),
    18: dt.date(2030, 11, 14),
}
"""Last release of each major version under the community's five-year policy
(https://www.postgresql.org/support/versioning/). Data: extend it as versions ship."""

SETTINGS: tuple[str, ...] = (
    "ssl",
    "ssl_min_protocol_version",
    "password_encryption",
    "listen_addresses",
    "max_connections",
    "superuser_reserved_connections",
    "reserved_connections",
    "statement_timeout",
    "idle_in_transaction_session_timeout",
    "idle_session_timeout",
    "lock_timeout",
    "archive_mode",
    "archive_command",
    "archive_library",
    "archive_timeout",
    "wal_level",
    "max_wal_senders",
    "synchronous_standby_names",
    "shared_preload_libraries",
    "log_min_duration_statement",
    "log_connections",
    "log_disconnections",
    "log_lock_waits",
)
PARITY_SETTINGS: tuple[str, ...] = (
    "ssl_min_protocol_version",
    "password_encryption",
    "statement_timeout",
    "idle_in_transaction_session_timeout",
    "lock_timeout",
    "archive_mode",
    "wal_level",
    "shared_preload_libraries",
    "log_min_duration_statement",
    "log_connections",
    "log_lock_waits",
)
ADMIN_ROLES: tuple[str, ...] = (
    "pg_write_all_data",
    "pg_read_server_files",
    "pg_write_server_files",
    "pg_execute_server_program",
    "rds_superuser",
    "cloudsqlsuperuser",
    "azure_pg_admin",
    "alloydbsuperuser",
)
"""Predefined or managed-service roles that amount to administrator rights."""

SEQ_SCAN_MIN_ROWS = 10_000
MAX_LISTED = 10
SLOWEST = 5
QUERY_CHARS = 200
POOLER_PATTERN = r"pgbouncer|odyssey|pgcat|pgpool|supavisor|rds ?proxy"

Q_SERVER = (
    "SELECT current_setting('server_version'), current_setting('server_version_num')::int,"
    " pg_is_in_recovery(), current_user, current_database()"
)
Q_SETTINGS = "SELECT name, setting, unit, source FROM pg_settings WHERE name = ANY(%s)"
Q_SSL = (
    "SELECT ssl, version, cipher, client_dn IS NOT NULL FROM pg_stat_ssl"
    " WHERE pid = pg_backend_pid()"
)
Q_ROLE = (
    "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication,"
    " rolconnlimit FROM pg_roles WHERE rolname = current_user"
)
Q_ADMIN_ROLES = (
    "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)"
    " AND pg_has_role(current_user, oid, 'MEMBER') ORDER BY rolname"
)
Q_CONNECTIONS = "SELECT COALESCE(sum(numbackends), 0)::int FROM pg_stat_database"
Q_HBA = (
    "SELECT line_number, type, database, user_name, address, auth_method, error"
    " FROM pg_hba_file_rules ORDER BY line_number"
)
Q_ARCHIVER = (
    "SELECT archived_count, last_archived_wal, last_archived_time, failed_count,"
    " last_failed_wal, last_failed_time, stats_reset FROM pg_stat_archiver"
)
Q_REPLICATION = (
    "SELECT application_name, state, sync_state, EXTRACT(EPOCH FROM replay_lag)::float8"
    " FROM pg_stat_replication ORDER BY application_name"
)
Q_WAL_RECEIVER = "SELECT status FROM pg_stat_wal_receiver"
Q_EXTENSIONS = "SELECT extname, extversion FROM pg_extension ORDER BY extname"
Q_STATEMENTS = (
    "SELECT query, calls, {mean} AS mean_ms, {total} AS total_ms FROM pg_stat_statements"
    " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND calls > 0 AND query ~* '^\\s*(with|select|insert|update|delete|merge|table|values)\\y'"
    " AND query !~* %s ORDER BY mean_ms DESC LIMIT %s"
)
"""The slowest statements that read or change data: DDL, maintenance and catalog reads (prr's
own among them) are not the workload."""
CATALOG_PATTERN = (
    r"\ypg_(settings|stat_\w+|roles|authid|extension|hba_file_rules|database|index|constraint"
    r"|class|namespace|attribute|type|proc|tables|indexes|views)\y|\yinformation_schema\."
)
Q_STATEMENT_COUNTS = (
    "SELECT count(*), count(*) FILTER (WHERE query = '<insufficient privilege>')"
    " FROM pg_stat_statements"
    " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
Q_SEQ_TABLES = (
    "SELECT schemaname, relname, seq_scan, seq_tup_read, idx_scan, n_live_tup"
    " FROM pg_stat_user_tables WHERE n_live_tup >= %s AND seq_scan > COALESCE(idx_scan, 0)"
    " ORDER BY seq_tup_read DESC LIMIT %s"
)
Q_UNUSED_INDEXES = (
    "SELECT s.schemaname, s.relname, s.indexrelname, pg_relation_size(s.indexrelid)"
    " FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid"
    " WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary"
    " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid)"
    " ORDER BY 4 DESC, 3 LIMIT %s"
)
Q_STATS_RESET = "SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()"
Q_POOLERS = (
    "SELECT DISTINCT COALESCE(NULLIF(application_name, ''), usename::text) FROM pg_stat_activity"
    " WHERE application_name ~* %s OR usename::text ~* %s"
)

_TIME_UNITS_MS = {
    "us": 0.001,
    "ms": 1.0,
    "s": 1000.0,
    "min": 60_000.0,
    "h": 3_600_000.0,
    "d": 86_400_000.0,
}
_STRING_LITERAL = re.compile(r"(?:\b[EeBbXxNn]|\b[Uu]&)?'(?:[^']|'')*'", re.DOTALL)
_DOLLAR_LITERAL = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*|)\$.*?\$\1\$", re.DOTALL)
_NUMBER = re.compile(r"(?<![\w$.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b")


# --- facts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One row of ``pg_settings`` as this role sees it (``value`` None: hidden)."""

    name: str
    value: str | None
    unit: str | None = None
    source: str | None = None

    @property
    def ms(self) -> float | None:
        """A time setting in milliseconds (None when not a time or not readable)."""
        if self.value is None or self.unit not in _TIME_UNITS_MS:
            return None
        try:
            return float(self.value) * _TIME_UNITS_MS[self.unit or "ms"]
        except ValueError:
            return None

    @property
    def number(self) -> int | None:
        try:
            return int(self.value) if self.value is not None else None
        except ValueError:
            return None

    @property
    def on(self) -> bool:
        return (self.value or "").lower() in {"on", "true", "always", "1", "yes"}

    def display(self) -> str:
        """As a person would write it in postgresql.conf: ``30s``, ``0``, ``on``, ``''``."""
        if self.value is None:
            return "<not visible>"
        ms = self.ms
        if ms is not None:
            if ms <= 0:
                return self.value
            return format_duration(dt.timedelta(milliseconds=ms))
        if self.value == "":
            return "''"
        return self.value + (self.unit or "")


@dataclass(frozen=True)
class HbaRule:
    """A line of pg_hba.conf as the server parsed it."""

    line: int | None
    type: str
    databases: tuple[str, ...]
    users: tuple[str, ...]
    address: str | None
    method: str
    error: str | None = None

    def describe(self) -> str:
        parts = [self.type, ",".join(self.databases), ",".join(self.users)]
        if self.address:
            parts.append(self.address)
        return f"line {self.line}: " + " ".join([*parts, self.method])


@dataclass(frozen=True)
class Replica:
    """A standby streaming from this server (details may be hidden from the role)."""

    name: str | None
    state: str | None
    sync_state: str | None
    replay_lag_s: float | None


@dataclass(frozen=True)
class Archiver:
    """``pg_stat_archiver``: continuous WAL archiving, the basis of point-in-time recovery."""

    archived_count: int
    last_archived_wal: str | None
    last_archived_time: dt.datetime | None
    failed_count: int
    last_failed_wal: str | None
    last_failed_time: dt.datetime | None
    stats_reset: dt.datetime | None

    @property
    def failing(self) -> bool:
        """The most recent attempt failed."""
        if self.last_failed_time is None:
            return False
        return self.last_archived_time is None or self.last_failed_time > self.last_archived_time


@dataclass(frozen=True)
class SlowQuery:
    """A normalised statement from pg_stat_statements (no parameter values)."""

    query: str
    calls: int
    mean_ms: float
    total_ms: float


@dataclass(frozen=True)
class TableScans:
    """A large table read mostly by sequential scans."""

    table: str
    seq_scan: int
    seq_tup_read: int
    idx_scan: int | None
    live_rows: int


@dataclass(frozen=True)
class UnusedIndex:
    """A non-unique index never used since statistics were reset."""

    index: str
    table: str
    size_bytes: int


@dataclass(frozen=True)
class Role:
    """The role prr connected as, and its dangerous attributes."""

    name: str
    superuser: bool
    createrole: bool
    createdb: bool
    bypassrls: bool
    replication: bool
    connection_limit: int
    admin_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class PostgresStore:
    """What one ``postgres:`` data store told prr, or why it could not be read."""

    name: str
    url: str
    """Redacted: no password, no query parameters."""
    read_at: str
    """ISO 8601 UTC time of the read."""
    error: str | None = None
    """Why the store could not be read at all; everything else is empty then."""
    version: str | None = None
    version_num: int | None = None
    in_recovery: bool | None = None
    database: str | None = None
    settings: dict[str, Setting] = field(default_factory=dict)
    ssl_in_use: bool | None = None
    ssl_protocol: str | None = None
    client_certificate: bool = False
    password_requested: bool | None = None
    """The server asked for a password (False: let in on trust, or cert/GSSAPI)."""
    gssapi: bool = False
    sslmode: str = "prefer"
    role: Role | None = None
    connections_used: int | None = None
    hba: tuple[HbaRule, ...] | None = None
    """None: not visible to this role (see ``unreadable['pg_hba_file_rules']``)."""
    archiver: Archiver | None = None
    replicas: tuple[Replica, ...] = ()
    wal_receiver: str | None = None
    extensions: dict[str, str] = field(default_factory=dict)
    statements: tuple[SlowQuery, ...] | None = None
    """The slowest data statements by mean time (None: pg_stat_statements not readable)."""
    statement_count: int = 0
    hidden_statements: int = 0
    """Statements whose text this role may not see (other roles' queries)."""
    seq_scan_tables: tuple[TableScans, ...] | None = None
    unused_indexes: tuple[UnusedIndex, ...] | None = None
    stats_reset: dt.datetime | None = None
    poolers: tuple[str, ...] = ()
    unreadable: dict[str, str] = field(default_factory=dict)
    """Parts that could not be read: view or query → reason."""
    queries: dict[str, str] = field(default_factory=dict)
    """Part → the SQL that read it, for evidence."""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def major(self) -> int | None:
        if self.version_num is None:
            return None
        return self.version_num // 10000

    def setting(self, name: str) -> Setting:
        return self.settings.get(name) or Setting(name, None)

    @property
    def connection_use_percent(self) -> float | None:
        limit = self.setting("max_connections").number
        if not limit or self.connections_used is None:
            return None
        return round(100.0 * self.connections_used / limit, 1)


def support_status(major: int, today: dt.date) -> tuple[bool, dt.date | None]:
    """(still supported by the community, last day of support if known)."""
    end = SUPPORT_ENDS.get(major)
    if end is not None:
        return today <= end, end
    return major > max(SUPPORT_ENDS), None


@dataclass(frozen=True)
class PostgresFacts(ParityView):
    """One entry per ``postgres:`` data store of the environment."""

    stores: tuple[PostgresStore, ...] = ()

    def parity(self) -> dict[str, Any]:
        """Settings that should match between environments; sizes are under ``*.size.*``.

        ``postgres.<name>.size.max_connections`` is expected to differ where
        production is larger: allow it with ``expected_differences: ["*.size.*"]``.
        """
        out: dict[str, Any] = {}
        for store in self.stores:
            if not store.ok:
                continue
            key = f"postgres.{store.name}."
            out[key + "version.major"] = store.major
            out[key + "ssl"] = store.setting("ssl").value
            out[key + "ssl_in_use"] = store.ssl_in_use
            for name in PARITY_SETTINGS:
                setting = store.setting(name)
                if setting.value is not None:
                    out[key + f"settings.{name}"] = setting.display()
            out[key + "size.max_connections"] = store.setting("max_connections").number
            out[key + "extensions"] = sorted(set(store.extensions) - {"plpgsql"})
            if store.role is not None:
                out[key + "role.superuser"] = store.role.superuser
            out[key + "replicated"] = bool(store.replicas)
        return out


# --- reading ------------------------------------------------------------------------------------


def normalise_query(text: str) -> str:
    """A statement's shape without any literal value, on one line, at most 200 characters."""
    text = _DOLLAR_LITERAL.sub("$$?$$", text)
    text = _STRING_LITERAL.sub("'?'", text)
    text = _NUMBER.sub("?", text)
    text = " ".join(text.split())
    return text if len(text) <= QUERY_CHARS else text[: QUERY_CHARS - 1] + "…"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _failure_reason(exc: Exception, user: str | None) -> str:
    """prr's own words for a failed connection (the library's text may hold a DSN)."""
    text = str(exc).lower()
    who = f"role {user!r}" if user else "the role"
    if "password authentication failed" in text or getattr(exc, "sqlstate", None) == "28P01":
        return f"authentication failed for {who}: wrong user name or password"
    if "no password supplied" in text:
        return "the server asks for a password and the URL has none"
    if "no pg_hba.conf entry" in text:
        return f"the server's pg_hba.conf has no rule admitting {who} from this host"
    if "certificate" in text and "verif" in text:
        return "TLS handshake failed: the server's certificate could not be verified"
    if "server does not support ssl" in text:
        return "the URL requires TLS (sslmode) but the server does not support it"
    if "ssl" in text or "tls" in text:
        return "TLS handshake failed"
    if "does not exist" in text:
        return f"the database or {who} does not exist"
    if "too many" in text or "remaining connection slots" in text:
        return "the server refused the connection: its connection limit is reached"
    if "timeout" in text or "timed out" in text:
        return "timeout"
    if "connection refused" in text:
        return "unreachable: connection refused"
    if "could not translate host name" in text or "name or service not known" in text:
        return "unreachable: cannot resolve the host"
    if "no route to host" in text or "network is unreachable" in text:
        return "unreachable: no route to the host"
    if "starting up" in text or "shutting down" in text or "recovery mode" in text:
        return "the server is not accepting connections (starting up or shutting down)"
    sqlstate = getattr(exc, "sqlstate", None)
    return f"connection failed ({type(exc).__name__}{f', SQLSTATE {sqlstate}' if sqlstate else ''})"


def _sql_reason(exc: Exception) -> str:
    """A short reason for a failed read, from the SQLSTATE only."""
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if sqlstate == "42501":
        return "not visible: permission denied for this role"
    if sqlstate == "57014":
        return "the query was cancelled by statement_timeout"
    if sqlstate in {"42P01", "42883"}:
        return "not available on this server"
    if sqlstate == "55000":
        return "not loaded (shared_preload_libraries)"
    return f"query failed ({type(exc).__name__}{f', SQLSTATE {sqlstate}' if sqlstate else ''})"


class _Session:
    """One read-only connection with a timeout on every call."""

    def __init__(self, conn: Any, timeout: float, source: str) -> None:
        self.conn = conn
        self.timeout = timeout
        self.source = source

    async def rows(self, query: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        async def run() -> list[tuple[Any, ...]]:
            async with self.conn.cursor() as cursor:
                await cursor.execute(query, params)
                if cursor.description is None:
                    return []
                return list(await cursor.fetchall())

        try:
            return await asyncio.wait_for(run(), timeout=self.timeout)
        except TimeoutError:
            raise CollectorTimeout(
                f"a query did not answer within {self.timeout:g}s", source=self.source
            ) from None


async def connect(url: str, hostaddr: str | None, timeout: float, source: str) -> Any:
    """A read-only autocommit connection; failures become prr errors without library text."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    user = unquote(urlsplit(url).username or "") or None
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        raise CollectorError("the URL is not a valid PostgreSQL URL", source=source) from None
    options = " ".join(
        filter(None, [str(params.get("options") or ""), "-c default_transaction_read_only=on"])
    )
    kwargs: dict[str, Any] = {
        "connect_timeout": max(2, math.ceil(timeout)),
        "options": options,
        "autocommit": True,
        "application_name": APPLICATION_NAME,
        "client_encoding": "utf8",  # text as str even from SQL_ASCII databases
    }
    if hostaddr and "hostaddr" not in params:
        kwargs["hostaddr"] = hostaddr
    try:
        return await asyncio.wait_for(
            psycopg.AsyncConnection.connect(url, **kwargs), timeout=timeout
        )
    except TimeoutError:
        raise CollectorTimeout(
            f"no answer within {timeout:g}s while connecting", source=source
        ) from None
    except psycopg.Error as exc:
        reason = _failure_reason(exc, user)
        if reason == "timeout":
            raise CollectorTimeout(
                f"no answer within {timeout:g}s while connecting", source=source
            ) from None
        if reason.startswith("unreachable"):
            raise CollectorUnreachable(reason, source=source) from None
        raise CollectorError(reason, source=source) from None


class _Reader:
    """Reads one store over an open session; optional parts record why they are missing."""

    def __init__(self, session: _Session) -> None:
        self.s = session
        self.unreadable: dict[str, str] = {}
        self.queries: dict[str, str] = {}

    async def optional(
        self, part: str, query: str, params: Sequence[Any] | None = None
    ) -> list[tuple[Any, ...]] | None:
        import psycopg

        self.queries[part] = query
        try:
            return await self.s.rows(query, params)
        except psycopg.errors.QueryCanceled:
            self.unreadable[part] = "the query was cancelled by statement_timeout"
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise
        except psycopg.Error as exc:
            self.unreadable[part] = _sql_reason(exc)
        return None


async def _inspect(
    session: _Session, base: PostgresStore, conn: Any, sslmode: str, timeout: float
) -> PostgresStore:
    reader = _Reader(session)
    server = (await session.rows(Q_SERVER))[0]
    version, version_num, in_recovery, _user, database = server
    settings = {
        name: Setting(name, value, unit, source)
        for name, value, unit, source in await session.rows(Q_SETTINGS, [list(SETTINGS)])
    }
    # From here on the server bounds every statement too (a SET is allowed read-only).
    await session.rows(f"SET statement_timeout = {max(1, int(timeout * 1000))}")
    await session.rows(f"SET lock_timeout = {max(1, int(timeout * 1000))}")
    reader.queries["settings"] = Q_SETTINGS

    ssl_rows = await reader.optional("pg_stat_ssl", Q_SSL)
    ssl_in_use = bool(conn.pgconn.ssl_in_use)
    ssl_protocol = None
    client_cert = False
    if ssl_rows:
        ssl_in_use = bool(ssl_rows[0][0])
        ssl_protocol = ssl_rows[0][1]
        client_cert = bool(ssl_rows[0][3])

    role = None
    role_rows = await reader.optional("pg_roles", Q_ROLE)
    if role_rows:
        admin = await reader.optional("admin roles", Q_ADMIN_ROLES, [list(ADMIN_ROLES)])
        name, sup, createrole, createdb, bypassrls, replication, connlimit = role_rows[0]
        role = Role(
            name,
            bool(sup),
            bool(createrole),
            bool(createdb),
            bool(bypassrls),
            bool(replication),
            int(connlimit),
            tuple(r[0] for r in admin or ()),
        )

    used_rows = await reader.optional("pg_stat_database", Q_CONNECTIONS)
    connections_used = int(used_rows[0][0]) if used_rows else None

    hba = None
    hba_rows = await reader.optional("pg_hba_file_rules", Q_HBA)
    if hba_rows is not None:
        hba = tuple(
            HbaRule(line, kind, tuple(dbs or ()), tuple(users or ()), address, method, error)
            for line, kind, dbs, users, address, method, error in hba_rows
        )

    archiver = None
    archiver_rows = await reader.optional("pg_stat_archiver", Q_ARCHIVER)
    if archiver_rows:
        row = archiver_rows[0]
        archiver = Archiver(int(row[0]), row[1], row[2], int(row[3]), row[4], row[5], row[6])

    replicas = tuple(
        Replica(name, state, sync, lag)
        for name, state, sync, lag in await reader.optional("pg_stat_replication", Q_REPLICATION)
        or ()
    )
    receiver = None
    if in_recovery:
        receiver_rows = await reader.optional("pg_stat_wal_receiver", Q_WAL_RECEIVER)
        receiver = receiver_rows[0][0] if receiver_rows else None

    extensions = {
        name: version for name, version in await reader.optional("pg_extension", Q_EXTENSIONS) or ()
    }
    statements = None
    statement_count = hidden_statements = 0
    if "pg_stat_statements" in extensions:
        modern = tuple(int(p) for p in re.findall(r"\d+", extensions["pg_stat_statements"])[:2])
        mean, total = (
            ("mean_exec_time", "total_exec_time")
            if modern >= (1, 8)
            else ("mean_time", "total_time")
        )
        rows = await reader.optional(
            "pg_stat_statements",
            Q_STATEMENTS.format(mean=mean, total=total),
            [CATALOG_PATTERN, SLOWEST],
        )
        counts = await reader.optional("pg_stat_statements counts", Q_STATEMENT_COUNTS)
        if counts:
            statement_count, hidden_statements = int(counts[0][0]), int(counts[0][1])
        if rows is not None:
            statements = tuple(
                SlowQuery(
                    normalise_query(str(q)),
                    int(c),
                    float(m),
                    float(t),
                )
                for q, c, m, t in rows
            )
    else:
        reader.unreadable["pg_stat_statements"] = "the extension is not installed in this database"

    seq_rows = await reader.optional(
        "pg_stat_user_tables", Q_SEQ_TABLES, [SEQ_SCAN_MIN_ROWS, MAX_LISTED]
    )
    seq_tables = (
        None
        if seq_rows is None
        else tuple(
            TableScans(f"{schema}.{table}", int(seq), int(tup), idx, int(live))
            for schema, table, seq, tup, idx, live in seq_rows
        )
    )
    index_rows = await reader.optional("pg_stat_user_indexes", Q_UNUSED_INDEXES, [MAX_LISTED])
    unused = (
        None
        if index_rows is None
        else tuple(
            UnusedIndex(f"{schema}.{index}", f"{schema}.{table}", int(size))
            for schema, table, index, size in index_rows
        )
    )
    reset_rows = await reader.optional("stats_reset", Q_STATS_RESET)
    pooler_rows = await reader.optional(
        "pg_stat_activity", Q_POOLERS, [POOLER_PATTERN, POOLER_PATTERN]
    )
    return PostgresStore(
        name=base.name,
        url=base.url,
        read_at=base.read_at,
        version=str(version),
        version_num=int(version_num),
        in_recovery=bool(in_recovery),
        database=str(database),
        settings=settings,
        ssl_in_use=ssl_in_use,
        ssl_protocol=ssl_protocol,
        client_certificate=client_cert,
        password_requested=bool(conn.pgconn.used_password),
        gssapi=bool(getattr(conn.pgconn, "used_gssapi", False)),
        sslmode=sslmode,
        role=role,
        connections_used=connections_used,
        hba=hba,
        archiver=archiver,
        replicas=replicas,
        wal_receiver=receiver,
        extensions=extensions,
        statements=statements,
        statement_count=statement_count,
        hidden_statements=hidden_statements,
        seq_scan_tables=seq_tables,
        unused_indexes=unused,
        stats_reset=reset_rows[0][0] if reset_rows else None,
        poolers=tuple(sorted(str(r[0]) for r in pooler_rows or ())),
        unreadable=reader.unreadable,
        queries=reader.queries,
    )


def shown_url(reference: str, url: str | None) -> str:
    """What may be shown of a store's URL: redacted, or the ``env:VAR`` reference."""
    if not url:
        return reference
    try:
        return redact_url(url)
    except ValueError:  # e.g. a port that is not a number
        return "<unparsed url>"


async def read_store(store: DataStore, ctx: LiveContext) -> PostgresStore:
    """Read one data store; failures are recorded on the store and with ``ctx.error``."""
    url = resolve_secret(store.url)
    shown = shown_url(store.url, url)
    base = PostgresStore(store.name, shown, _now())
    source = f"postgres {store.name} ({shown})"

    def failed(reason: str) -> PostgresStore:
        ctx.error(source, reason, COLLECTOR)
        return PostgresStore(store.name, shown, base.read_at, error=reason)

    if not url:
        return failed(f"{store.url} is not set in the environment")
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        return failed("not a postgresql:// URL")
    if "," in parts.netloc:
        return failed("URLs naming several hosts are not supported; name one host per store")
    timeout = ctx.limits.timeout_s
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        addresses = await ctx.guard.check_url(url, timeout)
    except ValueError:
        return failed("the URL has an invalid port")
    except CollectorError as exc:
        return failed(str(exc).removeprefix(f"{exc.source}: "))
    sslmode = dict(parse_qsl(parts.query)).get("sslmode", "prefer")
    try:
        conn = await connect(url, addresses[0] if addresses else None, timeout, source)
    except CollectorError as exc:
        return failed(str(exc).removeprefix(f"{exc.source}: "))
    import psycopg

    try:
        return await _inspect(_Session(conn, timeout, source), base, conn, sslmode, timeout)
    except CollectorError as exc:
        return failed(str(exc).removeprefix(f"{exc.source}: "))
    except psycopg.Error as exc:
        return failed(f"reading the server failed: {_sql_reason(exc)}")
    except Exception as exc:  # an answer prr did not expect must not end the other stores
        return failed(f"reading the server failed: unexpected {type(exc).__name__}")
    finally:
        with contextlib.suppress(TimeoutError, psycopg.Error):
            await asyncio.wait_for(conn.close(), timeout=timeout)


@register_live
class PostgresCollector(LiveCollector):
    """Reads every PostgreSQL data store of the environment, read-only."""

    name = COLLECTOR
    facts_type = PostgresFacts

    async def collect(self, ctx: LiveContext) -> PostgresFacts:
        limit = asyncio.Semaphore(max(1, ctx.limits.concurrency))

        async def one(store: DataStore) -> PostgresStore:
            async with limit:
                return await read_store(store, ctx)

        stores = await asyncio.gather(*(one(s) for s in ctx.spec.postgres))
        return PostgresFacts(tuple(stores))
