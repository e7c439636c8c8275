"""``prr drill run backup-restore``: back up PostgreSQL, restore into a scratch database, verify.

In order, within the drill's time limit:

1. the targets: the RTO from ``-o rto=4h``, else the RTO stated in the repository's DR
   documents (the ``rto_target`` of ``reliability.disaster-recovery.rto-defined``); the RPO
   likewise. With ``-o latest_backup_command=…`` the backup tool is asked for its newest backup
   (an ISO timestamp on its last output line) and that backup's age is reported against the RPO;
2. ONE ``REPEATABLE READ READ ONLY`` transaction on the source exports its snapshot and the
   backup is taken with ``pg_dump --format=custom --snapshot=…``: dump and checksums see the
   same data;
3. in that snapshot every table is counted and, up to ``max_rows_checksummed`` rows, checksummed
   (md5 over the sorted md5s of its rows as text: independent of physical order, no primary key
   needed); larger tables are compared by count only, and the outcome says so;
4. a scratch database ``prr_drill_<random>`` is created on the same server (or on
   ``scratch_url``) — never the source — the backup restored into it (``pg_restore --no-owner
   --no-privileges --exit-on-error``) and its tables, counts and checksums compared with the
   snapshot; backup + restore time is compared with the RTO;
5. with ``pitr_target`` and ``pitr_restore_command`` only: a restore to that moment into a
   second scratch database, checked (tables with rows; ``pitr_check_query``'s newest timestamp
   not after the target);
6. always, also when interrupted: running commands are stopped, scratch databases dropped and
   the backup file deleted.

Credentials never reach a command line: commands get the connection as ``PG*`` environment
variables (``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGDATABASE``, ``PGSSLMODE`` …) and the password
in a ``PGPASSFILE`` (mode 0600, in a private temporary folder removed afterwards).

Command templates (``backup_command``, ``restore_command``, ``pitr_restore_command``,
``latest_backup_command``) run with ``/bin/sh -c``; these placeholders are replaced, shell-quoted:

- ``{file}``: the backup file (or folder) the backup command writes and the restore reads;
- ``{snapshot}``: the exported snapshot id (``pg_dump --snapshot={snapshot}``);
- ``{dbname}``: the scratch database to restore into;
- ``{target}``: the PITR target time (ISO 8601);
- ``{work}``: the drill's private temporary folder;
- ``{dsn_env}``: the NAME of the variable holding a password-free connection string, for tools
  that take one: ``pg_dump -d "${dsn_env}"`` runs as ``pg_dump -d "$PRR_DRILL_DSN"``.

Backup and latest-backup commands connect to the source; restore and PITR commands to the
scratch database. Example (parallel, directory format)::

    prr drill run backup-restore . -e staging \\
      -o backup_command='pg_dump -Fd -j 4 --snapshot={snapshot} -f {file}' \\
      -o restore_command='pg_restore -j 4 --no-owner --exit-on-error -d {dbname} {file}' \\
      -o latest_backup_command="pgbackrest info --output=json \\
                                | jq -r '.[0].backup[-1].timestamp.stop | todate'"
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import os
import re
import secrets
import shlex
import shutil
import signal
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from prr.drills.base import (
    Drill,
    DrillContext,
    DrillOption,
    DrillOutcome,
    DrillPlan,
    DrillRefused,
    register_drill,
)
from prr.errors import PrrError
from prr.model.evidence import Evidence, Result
from prr.model.fields import format_duration, parse_duration
from prr.model.target import ENV_REF, DataStore, resolve_secret

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg.abc import QueryNoTemplate as Query

RESTORE_ITEM = "reliability.backup-recovery.backup-restoration-tested"
PITR_ITEM = "reliability.backup-recovery.point-in-time-recovery"
SCRATCH_PREFIX = "prr_drill_"
SCRATCH_NAME = re.compile(r"^prr_drill_[0-9a-f]{12}$")
DSN_ENV = "PRR_DRILL_DSN"
APPLICATION_NAME = "prr-drill"
MAX_LISTED_TABLES = 100_000
"""Hard cap on table names read from a catalog (the set comparison covers all of them)."""
MAX_OUTPUT_BYTES = 64 * 1024
MAX_DIFFERENCES_SHOWN = 5
CONNECT_TIMEOUT_S = 15.0
CLEANUP_TIMEOUT_S = 20.0
DOCS_TIMEOUT_S = 20.0
LATEST_BACKUP_TIMEOUT_S = 60.0
_PLACEHOLDER = re.compile(r"\{(file|snapshot|dbname|target|work|dsn_env)\}")
_URL_PASSWORD = re.compile(r"(://[^/\s:@]*:)[^@\s]*@")
_PG_ENV = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "passfile": "PGPASSFILE",
    "require_auth": "PGREQUIREAUTH",
    "channel_binding": "PGCHANNELBINDING",
    "service": "PGSERVICE",
    "servicefile": "PGSERVICEFILE",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "sslmode": "PGSSLMODE",
    "requiressl": "PGREQUIRESSL",
    "sslcompression": "PGSSLCOMPRESSION",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcrl": "PGSSLCRL",
    "sslcrldir": "PGSSLCRLDIR",
    "sslsni": "PGSSLSNI",
    "requirepeer": "PGREQUIREPEER",
    "ssl_min_protocol_version": "PGSSLMINPROTOCOLVERSION",
    "ssl_max_protocol_version": "PGSSLMAXPROTOCOLVERSION",
    "gssencmode": "PGGSSENCMODE",
    "krbsrvname": "PGKRBSRVNAME",
    "gsslib": "PGGSSLIB",
    "gssdelegation": "PGGSSDELEGATION",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "client_encoding": "PGCLIENTENCODING",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "load_balance_hosts": "PGLOADBALANCEHOSTS",
}
_SECRET_KEYS = frozenset({"password", "sslpassword"})
# Row text must not depend on session settings: the same on source and scratch sessions.
_STABLE_OUTPUT = (
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    "SET TimeZone = 'UTC'",
    "SET bytea_output = 'hex'",
    "SET extra_float_digits = 1",
    "SET lc_monetary = 'C'",
)
Q_TABLES = """
SELECT n.nspname, c.relname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  AND NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_depend d
    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
LIMIT %s
"""
Q_DATABASE = """
SELECT current_setting('server_version_num')::int, pg_catalog.pg_encoding_to_char(encoding),
       datcollate, datctype
FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()
"""


class _CannotMeasure(Exception):
    """The drill could not measure (unreachable, no privilege, out of time): decides nothing."""


class _Failed(Exception):
    """The system failed the drill (backup or restore failed): the item fails with this reason."""


def _duration_text(seconds: float) -> str:
    """A duration field value: ``850ms``, ``12.4s``, ``3.5m``, ``1.25h``."""
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.2f}h"


def _size_text(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def _scrub(text: str, hidden: Sequence[str]) -> str:
    """``text`` without any of ``hidden`` and without passwords inside URLs."""
    for secret in hidden:
        if secret:
            text = text.replace(secret, "***")
    return _URL_PASSWORD.sub(r"\1***@", text)


def _error_line(output: str, hidden: Sequence[str]) -> str:
    """The last line that reports an error (else the last line), scrubbed and shortened."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    chosen = (errors or lines or ["no output"])[-1]
    chosen = _scrub(chosen, hidden)
    return chosen if len(chosen) <= 300 else chosen[:299] + "…"


def _render(template: str, values: dict[str, str]) -> str:
    """Replace the known placeholders, shell-quoted (``{dsn_env}`` is a plain variable name)."""

    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "dsn_env":
            return DSN_ENV
        return shlex.quote(values.get(key, ""))

    return _PLACEHOLDER.sub(one, template)


def _find_tool(name: str, bin_dir: str) -> str | None:
    """``name`` in ``bin_dir``, else the newest /usr/lib/postgresql/N/bin, else on PATH."""
    if bin_dir:
        candidate = Path(bin_dir) / name
        return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None
    found: list[tuple[int, Path]] = []
    for base, pattern in ((Path("/usr/lib/postgresql"), "*/bin"), (Path("/usr"), "pgsql-*/bin")):
        for folder in base.glob(pattern):
            digits = re.sub(r"\D", "", folder.parent.name)
            candidate = folder / name
            if digits and candidate.is_file():
                found.append((int(digits), candidate))
    if found:
        return str(max(found)[1])
    return shutil.which(name)


def _tool_major(path: str) -> int | None:
    """The major version printed by ``path --version`` (``pg_dump (PostgreSQL) 16.2``)."""
    import subprocess

    try:
        done = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", done.stdout)
    return int(match.group(1)) if match else None


def _parse_instant(text: str, what: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{what}: {text.strip()[:60]!r} is not an ISO 8601 timestamp") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _folder_size(path: Path, cap: int = 100_000) -> int | None:
    """Bytes in a file, or in a folder's files (at most ``cap`` of them)."""
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        return None
    total = 0
    for count, item in enumerate(path.rglob("*")):
        if count >= cap:
            break
        if item.is_file():
            total += item.stat().st_size
    return total


def _qualified(table: tuple[str, str]) -> str:
    return f"{table[0]}.{table[1]}"


# ---------------------------------------------------------------- connections


@dataclass(frozen=True)
class _Server:
    """A PostgreSQL server to connect to: libpq parameters (with the password), shown redacted."""

    label: str
    shown: str
    params: dict[str, str]
    hostaddr: str | None = None

    @classmethod
    def from_url(cls, label: str, url: str, shown: str) -> _Server:
        from psycopg import Error
        from psycopg.conninfo import conninfo_to_dict

        try:
            raw = conninfo_to_dict(url)
        except Error:
            raise DrillRefused(f"{label} ({shown}) is not a valid PostgreSQL URL") from None
        return cls(label, shown, {k: str(v) for k, v in raw.items() if v is not None})

    @property
    def password(self) -> str | None:
        return self.params.get("password") or None

    @property
    def database(self) -> str:
        return self.params.get("dbname") or self.params.get("user") or ""

    @property
    def user(self) -> str | None:
        return self.params.get("user") or None

    def pinned(self, hostaddr: str | None) -> _Server:
        return _Server(self.label, self.shown, self.params, hostaddr)

    def conninfo(self, dbname: str | None = None) -> str:
        """A connection string without secrets (safe in an environment variable or a log)."""
        from psycopg.conninfo import make_conninfo

        params = {k: v for k, v in self.params.items() if k not in _SECRET_KEYS}
        if dbname:
            params["dbname"] = dbname
        if self.hostaddr and "hostaddr" not in params:
            params["hostaddr"] = self.hostaddr
        return make_conninfo("", **params)

    def env(self, dbname: str | None, passfile: Path | None) -> dict[str, str]:
        """This process's environment without PG*, plus this server's PG* variables."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.pop(DSN_ENV, None)
        for key, value in self.params.items():
            if key in _PG_ENV:
                env[_PG_ENV[key]] = value
        if dbname:
            env["PGDATABASE"] = dbname
        if self.hostaddr and "hostaddr" not in self.params:
            env["PGHOSTADDR"] = self.hostaddr
        if passfile is not None and self.password:
            env["PGPASSFILE"] = str(passfile)
        env.setdefault("PGAPPNAME", APPLICATION_NAME)
        env.setdefault("PGCONNECT_TIMEOUT", str(int(CONNECT_TIMEOUT_S)))
        env[DSN_ENV] = self.conninfo(dbname)
        return env

    def passfile_line(self) -> str | None:
        """A ~/.pgpass line for this server and role, any database (None without a password)."""
        if not self.password:
            return None

        def esc(value: str | None) -> str:
            if not value:
                return "*"
            return value.replace("\\", "\\\\").replace(":", "\\:")

        host = self.params.get("host")
        if host and host.startswith("/"):
            host = "localhost"
        return ":".join(
            [esc(host), esc(self.params.get("port")), "*", esc(self.user), esc(self.password)]
        )

    async def guard(self, timeout: float) -> _Server:
        """Refuse metadata and link-local addresses; returns the server pinned to the address."""
        from prr.collectors.live.guard import AddressGuard
        from prr.errors import CollectorError

        guard = AddressGuard()
        try:
            given = self.params.get("hostaddr")
            if given:
                guard.check_ip(given, self.shown)
                return self
            host = self.params.get("host")
            if not host:
                raise _CannotMeasure(f"{self.label} ({self.shown}): the URL names no host")
            if host.startswith("/"):
                return self  # a Unix socket on this machine
            port = int(self.params.get("port") or 5432)
            addresses = await guard.check_host(host, port, self.shown, timeout)
        except CollectorError as exc:
            reason = str(exc).removeprefix(f"{exc.source}: ")
            raise _CannotMeasure(f"{self.label} ({self.shown}): {reason}") from None
        except ValueError:
            raise _CannotMeasure(f"{self.label} ({self.shown}): the port is not a number") from None
        return self.pinned(addresses[0] if addresses else None)

    async def connect(
        self, timeout: float, *, dbname: str | None = None, read_only: bool = False
    ) -> AsyncConnection[Any]:
        """An autocommit connection; failures become prr's own words, never the library's."""
        import psycopg

        from prr.collectors.live.postgres import _failure_reason

        kwargs: dict[str, Any] = dict(self.params)
        if dbname:
            kwargs["dbname"] = dbname
        if self.hostaddr and "hostaddr" not in kwargs:
            kwargs["hostaddr"] = self.hostaddr
        if read_only:
            kwargs["options"] = " ".join(
                filter(None, [kwargs.get("options", ""), "-c default_transaction_read_only=on"])
            )
        kwargs["connect_timeout"] = str(max(2, math.ceil(timeout)))
        kwargs["application_name"] = APPLICATION_NAME
        kwargs["client_encoding"] = "utf8"
        where = f"{self.label} ({self.shown})" + (f", database {dbname}" if dbname else "")
        try:
            return await asyncio.wait_for(
                psycopg.AsyncConnection.connect(autocommit=True, **kwargs), timeout=timeout
            )
        except TimeoutError:
            raise _CannotMeasure(f"{where}: no answer within {timeout:g}s") from None
        except psycopg.Error as exc:
            reason = _failure_reason(exc, self.user)
            if reason == "timeout":
                reason = f"no answer within {timeout:g}s"
            raise _CannotMeasure(f"{where}: {reason}") from None


async def _rows(
    conn: AsyncConnection[Any], query: Query, params: Sequence[Any] | None, timeout: float
) -> list[tuple[Any, ...]]:
    """Run one statement with a client-side time limit (the server's statement_timeout too)."""
    async with conn.cursor() as cursor:
        await asyncio.wait_for(cursor.execute(query, params), timeout=max(0.5, timeout))
        if cursor.description is None:
            return []
        return list(await cursor.fetchall())


async def _close(conn: AsyncConnection[Any] | None) -> None:
    import psycopg

    if conn is None:
        return
    with contextlib.suppress(TimeoutError, psycopg.Error, OSError):
        await asyncio.wait_for(conn.close(), timeout=5)


# ------------------------------------------------------------------- commands


@dataclass(frozen=True)
class _Done:
    """A finished command: exit code (None when stopped at its time limit), time, output."""

    code: int | None
    seconds: float
    stdout: str
    stderr: str


async def _tail(stream: asyncio.StreamReader | None) -> bytes:
    """Read a stream to its end, keeping only its last ``MAX_OUTPUT_BYTES``."""
    if stream is None:
        return b""
    kept = b""
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return kept
        kept = (kept + chunk)[-MAX_OUTPUT_BYTES:]


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Terminate the command's whole process group (a shell and its children), then kill it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), timeout=5)


async def _run_command(
    argv: Sequence[str], env: dict[str, str], cwd: Path, timeout: float
) -> _Done:
    """Run a command in its own process group; it is stopped at ``timeout`` or on cancellation."""
    started = time.monotonic()
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        raise _CannotMeasure(f"cannot start {Path(argv[0]).name}: {exc.strerror or exc}") from None
    code: int | None = None
    out = err = b""
    try:
        out, err, code = await asyncio.wait_for(
            asyncio.gather(_tail(process.stdout), _tail(process.stderr), process.wait()),
            timeout=max(0.1, timeout),
        )
    except TimeoutError:
        code = None
    finally:
        if process.returncode is None:
            await _stop(process)
    return _Done(
        code,
        time.monotonic() - started,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
    )


# --------------------------------------------------------------- verification


@dataclass(frozen=True)
class _TableSum:
    """One table's row count and (when not above the bound) its checksum."""

    rows: int
    checksum: str | None


@dataclass
class _Snapshot:
    """What one database holds: its tables (all names) and sums of the first ``max_tables``."""

    tables: list[tuple[str, str]]
    sums: dict[tuple[str, str], _TableSum] = field(default_factory=dict)
    truncated: bool = False


async def _read_tables(
    conn: AsyncConnection[Any], timeout: float
) -> tuple[list[tuple[str, str]], bool]:
    rows = await _rows(conn, Q_TABLES, (MAX_LISTED_TABLES + 1,), timeout)
    tables = [(str(r[0]), str(r[1])) for r in rows]
    return tables[:MAX_LISTED_TABLES], len(tables) > MAX_LISTED_TABLES


async def _sum_tables(
    conn: AsyncConnection[Any],
    tables: Sequence[tuple[str, str]],
    checksummed: set[tuple[str, str]],
    deadline: float,
) -> dict[tuple[str, str], _TableSum]:
    """Count each table's rows, and checksum those in ``checksummed`` in the same scan.

    The checksum is the md5 of the sorted md5s of the rows as text: it does not depend on
    the physical order of rows and needs no primary key.
    """
    from psycopg import sql

    count = sql.SQL("SELECT count(*), NULL FROM ONLY {}")
    digest = sql.SQL(
        "SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h COLLATE \"C\"), '')) "
        "FROM (SELECT md5(t::text) AS h FROM ONLY {} AS t) AS s"
    )
    sums: dict[tuple[str, str], _TableSum] = {}
    for table in tables:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _CannotMeasure(
                f"out of time while verifying ({len(sums)} of {len(tables)} tables done)"
            )
        query = digest if table in checksummed else count
        row = (await _rows(conn, query.format(sql.Identifier(*table)), None, remaining))[0]
        sums[table] = _TableSum(int(row[0]), None if row[1] is None else str(row[1]))
    return sums


async def _prepare_session(conn: AsyncConnection[Any], deadline: float) -> None:
    remaining_ms = max(1000, int((deadline - time.monotonic()) * 1000))
    for statement in (*_STABLE_OUTPUT, f"SET statement_timeout = {remaining_ms}"):
        await _rows(conn, statement.encode(), None, CONNECT_TIMEOUT_S)


@dataclass
class _Comparison:
    differences: list[str] = field(default_factory=list)
    missing: int = 0
    extra: int = 0
    count_mismatches: int = 0
    checksum_mismatches: int = 0


def _compare(source: _Snapshot, restored: _Snapshot) -> _Comparison:
    result = _Comparison()
    have = set(restored.tables)
    want = set(source.tables)
    for table in source.tables:
        if table not in have:
            result.missing += 1
            result.differences.append(f"{_qualified(table)} is missing from the restored database")
    for table in restored.tables:
        if table not in want:
            result.extra += 1
            result.differences.append(f"{_qualified(table)} exists only in the restored database")
    for table, expected in source.sums.items():
        got = restored.sums.get(table)
        if got is None:
            continue
        if got.rows != expected.rows:
            result.count_mismatches += 1
            result.differences.append(
                f"{_qualified(table)}: {expected.rows:,} rows in the snapshot, "
                f"{got.rows:,} restored"
            )
        elif expected.checksum is not None and got.checksum != expected.checksum:
            result.checksum_mismatches += 1
            result.differences.append(
                f"{_qualified(table)}: same {got.rows:,} rows but their content differs (checksum)"
            )
    return result


# -------------------------------------------------------------- configuration


@dataclass(frozen=True)
class _Config:
    store: DataStore
    source: _Server
    scratch: _Server
    scratch_separate: bool
    backup_template: str | None
    restore_template: str | None
    pg_dump: str | None
    pg_restore: str | None
    rto: dt.timedelta | None
    rpo: dt.timedelta | None
    latest_template: str | None
    pitr_target: dt.datetime | None
    pitr_template: str | None
    pitr_check: str | None
    max_rows: int
    max_tables: int
    work_dir: Path | None
    notes: tuple[str, ...]


def _shown(reference: str, url: str) -> str:
    from prr.collectors.live.guard import redact_url

    try:
        return redact_url(url)
    except ValueError:
        return reference if ENV_REF.match(reference) else "<unparsed url>"


def _check_url(label: str, url: str, shown: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise DrillRefused(f"{label} ({shown}) is not a postgresql:// URL")
    if "," in parts.netloc:
        raise DrillRefused(f"{label} ({shown}) names several hosts; name one host")


def _duration_option(value: str, name: str) -> dt.timedelta | None:
    if not value.strip():
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise DrillRefused(f"{name}: {exc}") from None


def _configure(ctx: DrillContext, options: dict[str, Any]) -> _Config:
    stores = ctx.spec.postgres
    if not stores:
        raise DrillRefused(
            f"environment {ctx.environment} has no postgres store in prr.yaml "
            "(environments.<env>.postgres: [{name: main, url: env:DATABASE_URL}])"
        )
    wanted = str(options["store"]).strip()
    store = next((s for s in stores if s.name == wanted), None) if wanted else stores[0]
    if store is None:
        names = ", ".join(s.name for s in stores)
        raise DrillRefused(f"no postgres store {wanted!r} in {ctx.environment} (stores: {names})")
    label = f"source {store.name}"
    url = resolve_secret(store.url)
    if not url:
        raise DrillRefused(f"{label}: {store.url} is not set in the environment")
    shown = _shown(store.url, url)
    _check_url(label, url, shown)
    source = _Server.from_url(label, url, shown)
    scratch_ref = str(options["scratch_url"]).strip()
    if scratch_ref:
        if not ENV_REF.match(scratch_ref) and urlsplit(scratch_ref).password:
            raise DrillRefused(
                "scratch_url contains a password; put the URL in an environment variable and "
                "pass -o scratch_url=env:VAR"
            )
        scratch_url = resolve_secret(scratch_ref)
        if not scratch_url:
            raise DrillRefused(f"scratch_url: {scratch_ref} is not set in the environment")
        scratch_shown = _shown(scratch_ref, scratch_url)
        _check_url("scratch server", scratch_url, scratch_shown)
        scratch = _Server.from_url("scratch server", scratch_url, scratch_shown)
    else:
        scratch = _Server("scratch server", shown, source.params)
    backup_template = str(options["backup_command"]).strip() or None
    restore_template = str(options["restore_command"]).strip() or None
    bin_dir = str(options["pg_bin_dir"]).strip()
    pg_dump = pg_restore = None
    if backup_template is None:
        pg_dump = _find_tool("pg_dump", bin_dir)
        if pg_dump is None:
            raise DrillRefused(
                "pg_dump is not installed: install the PostgreSQL client (postgresql-client), "
                "set -o pg_bin_dir=…, or give -o backup_command=…"
            )
    if restore_template is None:
        pg_restore = _find_tool("pg_restore", bin_dir)
        if pg_restore is None:
            raise DrillRefused(
                "pg_restore is not installed: install the PostgreSQL client, set "
                "-o pg_bin_dir=…, or give -o restore_command=…"
            )
        if backup_template is not None and "{file}" not in backup_template:
            raise DrillRefused(
                "backup_command must write the backup to {file} for pg_restore to read it "
                "(or give a restore_command that restores from where it wrote)"
            )
    notes: list[str] = []
    pitr_raw = str(options["pitr_target"]).strip()
    pitr_template = str(options["pitr_restore_command"]).strip() or None
    pitr_target: dt.datetime | None = None
    if pitr_raw:
        try:
            pitr_target = _parse_instant(pitr_raw, "pitr_target")
        except ValueError as exc:
            raise DrillRefused(str(exc)) from None
        if pitr_target > dt.datetime.now(dt.UTC):
            raise DrillRefused("pitr_target is in the future; give a moment in the past")
        if pitr_template is None:
            notes.append(
                "point-in-time recovery not tested: pitr_target needs a pitr_restore_command"
            )
            pitr_target = None
    elif pitr_template is not None:
        notes.append("point-in-time recovery not tested: pitr_restore_command needs a pitr_target")
        pitr_template = None
    max_rows = int(options["max_rows_checksummed"])
    max_tables = int(options["max_tables"])
    if max_rows < 0 or max_tables < 1:
        raise DrillRefused("max_rows_checksummed must be 0 or more and max_tables 1 or more")
    work_raw = str(options["work_dir"]).strip()
    work_dir = Path(work_raw).expanduser() if work_raw else None
    if work_dir is not None and not work_dir.is_dir():
        raise DrillRefused(f"work_dir {work_dir} is not a folder")
    return _Config(
        store=store,
        source=source,
        scratch=scratch,
        scratch_separate=bool(scratch_ref),
        backup_template=backup_template,
        restore_template=restore_template,
        pg_dump=pg_dump,
        pg_restore=pg_restore,
        rto=_duration_option(str(options["rto"]), "rto"),
        rpo=_duration_option(str(options["rpo"]), "rpo"),
        latest_template=str(options["latest_backup_command"]).strip() or None,
        pitr_target=pitr_target,
        pitr_template=pitr_template if pitr_target is not None else None,
        pitr_check=str(options["pitr_check_query"]).strip() or None,
        max_rows=max_rows,
        max_tables=max_tables,
        work_dir=work_dir,
        notes=tuple(notes),
    )


def _stated_objectives(ctx: DrillContext) -> dict[str, tuple[str, str]]:
    """RTO/RPO stated in the repository's documents: kind → (value, ``path:line``)."""
    from prr.collectors.base import CollectContext
    from prr.collectors.docs import DocsCollector
    from prr.collectors.files import build_index

    if not ctx.target.root:
        return {}
    root = Path(ctx.target.root)
    index = build_index(root, excludes=ctx.target.exclude, max_bytes=ctx.target.max_file_bytes)
    facts = DocsCollector().collect(CollectContext(root, index))
    found: dict[str, tuple[str, str]] = {}
    for kind in ("rto", "rpo"):
        for stated in facts.values_of(kind):
            if isinstance(stated.value, str):
                found[kind] = (stated.value, stated.location)
                break
    return found


# ------------------------------------------------------------------------ run


@dataclass
class _Target:
    """An RTO or RPO and where it came from."""

    value: dt.timedelta
    origin: str

    def __str__(self) -> str:
        return f"{format_duration(self.value)} ({self.origin})"


@dataclass
class _State:
    """What the run created and must undo."""

    work: Path | None = None
    passfile: Path | None = None
    connections: list[AsyncConnection[Any]] = field(default_factory=list)
    scratch: list[str] = field(default_factory=list)


class _Run:
    """One run of the drill: the steps, their measurements, and the cleanup."""

    def __init__(self, drill: BackupRestoreDrill, ctx: DrillContext, cfg: _Config) -> None:
        self.drill = drill
        self.ctx = ctx
        self.cfg = cfg
        self.state = _State()
        self.started = dt.datetime.now(dt.UTC)
        self.clock = time.monotonic()
        reserve = min(CLEANUP_TIMEOUT_S, max(2.0, ctx.timeout_s * 0.1))
        self.deadline = self.clock + max(1.0, ctx.timeout_s - reserve)
        self.m: dict[str, Any] = {}
        self.hidden = [p for p in (cfg.source.password, cfg.scratch.password) if p]
        self.rto: _Target | None = None
        self.rpo: _Target | None = None
        self.source: _Server = cfg.source
        self.scratch: _Server = cfg.scratch
        self.server_major = 0
        self.encoding = self.collate = self.ctype = ""

    # -- helpers

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def note(self, line: str) -> None:
        self.ctx.note(_scrub(line, self.hidden))

    def result(
        self, item: str, passed: bool, message: str, *evidence: Evidence, **fields: Any
    ) -> Result:
        return self.drill.result(
            item,
            passed,
            message,
            *evidence,
            environment=self.ctx.environment,
            fields=fields,
        )

    def outcome(self, passed: bool, summary: str, results: list[Result]) -> DrillOutcome:
        return DrillOutcome(
            self.drill.name,
            self.ctx.environment,
            passed,
            summary,
            self.started,
            dt.datetime.now(dt.UTC),
            dict(self.m),
            results,
            list(self.ctx.log),
        )

    async def command(self, what: str, argv: Sequence[str], env: dict[str, str]) -> _Done:
        assert self.state.work is not None
        remaining = self.remaining()
        if remaining <= 0:
            raise _CannotMeasure(f"out of time before the {what}")
        return await _run_command(argv, env, self.state.work, remaining)

    # -- steps

    async def targets(self) -> None:
        """The RTO and RPO: options first, else the repository's DR documents."""
        if self.cfg.rto is not None:
            self.rto = _Target(self.cfg.rto, "-o rto")
        if self.cfg.rpo is not None:
            self.rpo = _Target(self.cfg.rpo, "-o rpo")
        if self.rto is None or self.rpo is None:
            try:
                stated = await asyncio.wait_for(
                    asyncio.to_thread(_stated_objectives, self.ctx), timeout=DOCS_TIMEOUT_S
                )
            except (TimeoutError, OSError, PrrError) as exc:
                self.note(
                    f"targets: the repository's documents were not read ({type(exc).__name__})"
                )
                stated = {}
            for kind in ("rto", "rpo"):
                if kind in stated and getattr(self, kind) is None:
                    value, where = stated[kind]
                    with contextlib.suppress(ValueError):
                        setattr(self, kind, _Target(parse_duration(value), f"stated in {where}"))
        self.note(f"targets: RTO {self.rto or 'not stated'}, RPO {self.rpo or 'not stated'}")

    async def setup(self) -> None:
        """Guard the addresses, make the private folder and the password file."""
        self.source = await self.cfg.source.guard(CONNECT_TIMEOUT_S)
        self.scratch = (
            await self.cfg.scratch.guard(CONNECT_TIMEOUT_S)
            if self.cfg.scratch_separate
            else self.cfg.scratch.pinned(self.source.hostaddr)
        )
        self.state.work = Path(tempfile.mkdtemp(prefix="prr-drill-", dir=self.cfg.work_dir))
        self.state.work.chmod(0o700)
        lines = [line for s in (self.source, self.scratch) if (line := s.passfile_line())]
        if lines:
            passfile = self.state.work / "pgpass"
            descriptor = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                out.write("\n".join(dict.fromkeys(lines)) + "\n")
            self.state.passfile = passfile

    async def latest_backup(self) -> str | None:
        """Ask the backup tool for its newest backup; returns a phrase for the message."""
        template = self.cfg.latest_template
        if template is None:
            return None
        assert self.state.work is not None
        argv = ["/bin/sh", "-c", _render(template, {"work": str(self.state.work)})]
        env = self.source.env(None, self.state.passfile)
        done = await _run_command(
            argv, env, self.state.work, min(LATEST_BACKUP_TIMEOUT_S, max(0.1, self.remaining()))
        )
        if done.code != 0:
            reason = "timed out" if done.code is None else f"exited with {done.code}"
            error = _error_line(done.stderr, self.hidden)
            self.note(f"newest backup: latest_backup_command {reason}: {error}")
            return "the newest backup's age could not be read (latest_backup_command failed)"
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        try:
            newest = _parse_instant(lines[-1] if lines else "", "latest_backup_command")
        except ValueError as exc:
            self.note(f"newest backup: {_scrub(str(exc), self.hidden)}")
            return "the newest backup's age could not be read (no ISO timestamp printed)"
        age = (dt.datetime.now(dt.UTC) - newest).total_seconds()
        self.m["newest_backup_at"] = newest.isoformat()
        self.m["newest_backup_age_seconds"] = round(age, 1)
        phrase = f"newest backup {_duration_text(max(0.0, age))} old"
        if self.rpo is not None:
            self.m["rpo_seconds"] = self.rpo.value.total_seconds()
            if age > self.rpo.value.total_seconds():
                phrase += f", older than the RPO {self.rpo}"
            else:
                phrase += f", within the RPO {self.rpo}"
        else:
            phrase += " (no RPO stated)"
        self.note(f"newest backup: {newest.isoformat()} — {phrase}")
        return phrase

    async def backup_and_sum(self) -> _Snapshot:
        """Export a snapshot, back up from it, and count/checksum the tables inside it."""
        conn = await self.source.connect(CONNECT_TIMEOUT_S, read_only=True)
        self.state.connections.append(conn)
        try:
            info = (await _rows(conn, Q_DATABASE, None, CONNECT_TIMEOUT_S))[0]
            self.server_major = int(info[0]) // 10000
            self.encoding, self.collate, self.ctype = str(info[1]), str(info[2]), str(info[3])
            await _prepare_session(conn, self.deadline)
            await _rows(conn, b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", None, 10)
            snapshot_id = str((await _rows(conn, b"SELECT pg_export_snapshot()", None, 10))[0][0])
            self.note(
                f"snapshot {snapshot_id} exported from {self.source.shown} "
                f"(PostgreSQL {self.server_major}, one REPEATABLE READ read-only transaction)"
            )
            await self.backup(snapshot_id)
            started = time.monotonic()
            tables, truncated = await _read_tables(conn, self.remaining())
            verified = tables[: self.cfg.max_tables]
            counted = await _sum_tables(conn, verified, set(), self.deadline)
            small = {t for t, s in counted.items() if s.rows <= self.cfg.max_rows}
            summed = await _sum_tables(
                conn, [t for t in verified if t in small], small, self.deadline
            )
            sums = {t: summed.get(t, counted[t]) for t in verified}
            snapshot = _Snapshot(tables, sums, truncated or len(tables) > len(verified))
            seconds = time.monotonic() - started
            self.m["source_checksum_seconds"] = round(seconds, 3)
            rows = sum(s.rows for s in sums.values())
            self.note(f"snapshot checksums: {len(tables)} tables, {rows:,} rows in {seconds:.1f}s")
            await _rows(conn, b"COMMIT", None, 10)
            return snapshot
        finally:
            self.state.connections.remove(conn)
            await _close(conn)

    async def backup(self, snapshot_id: str) -> None:
        assert self.state.work is not None
        file = self.state.work / "backup.dump"
        env = self.source.env(None, self.state.passfile)
        if self.cfg.backup_template is None:
            assert self.cfg.pg_dump is not None
            major = await asyncio.to_thread(_tool_major, self.cfg.pg_dump)
            if major is not None and major < self.server_major:
                raise _CannotMeasure(
                    f"pg_dump {major} cannot back up a PostgreSQL {self.server_major} server; "
                    f"install the version {self.server_major} client or set -o pg_bin_dir=…"
                )
            argv = [
                self.cfg.pg_dump,
                "--format=custom",
                "--no-password",
                f"--snapshot={snapshot_id}",
                f"--file={file}",
            ]
            shown = "pg_dump --format=custom --snapshot=…"
        else:
            values = {"file": str(file), "snapshot": snapshot_id, "work": str(self.state.work)}
            argv = ["/bin/sh", "-c", _render(self.cfg.backup_template, values)]
            shown = "backup_command"
        self.note(f"backup: {shown} started")
        done = await self.command("backup", argv, env)
        self.m["backup_seconds"] = round(done.seconds, 3)
        if done.code is None:
            self.out_of_time("backup", done.seconds)
        if done.code != 0:
            raise _Failed(
                f"the backup failed ({shown} exited with {done.code} after "
                f"{done.seconds:.1f}s): {_error_line(done.stderr, self.hidden)}"
            )
        size = _folder_size(file)
        if size is not None:
            self.m["backup_bytes"] = size
        writes_file = self.cfg.backup_template is None or "{file}" in self.cfg.backup_template
        if writes_file and not size:
            raise _Failed(f"the backup command succeeded but wrote nothing to {file.name}")
        self.note(
            f"backup: done in {done.seconds:.1f}s"
            + (f", {_size_text(size)}" if size is not None else "")
        )

    def out_of_time(self, what: str, seconds: float) -> None:
        """A step hit the drill's time limit: an RTO failure if the RTO is already exceeded."""
        elapsed = sum(self.m.get(k, 0.0) for k in ("backup_seconds", "restore_seconds"))
        if self.rto is not None and elapsed > self.rto.value.total_seconds():
            raise _Failed(
                f"the {what} did not finish: stopped after {seconds:.1f}s by the drill's time "
                f"limit; backup and restore already took {_duration_text(elapsed)}, more than "
                f"the RTO {self.rto}"
            )
        raise _CannotMeasure(
            f"the {what} did not finish within the drill's time limit (stopped after "
            f"{seconds:.1f}s); give it more time with --timeout"
        )

    async def create_scratch(self) -> str:
        """Create an empty scratch database (the source's encoding and locale when possible)."""
        import psycopg
        from psycopg import sql

        name = f"{SCRATCH_PREFIX}{secrets.token_hex(6)}"
        assert SCRATCH_NAME.match(name) and name != self.source.database
        conn = await self.scratch.connect(CONNECT_TIMEOUT_S)
        self.state.connections.append(conn)
        try:
            ident = sql.Identifier(name)
            attempts = [
                sql.SQL(
                    "CREATE DATABASE {} TEMPLATE template0 ENCODING {} LC_COLLATE {} LC_CTYPE {}"
                ).format(
                    ident,
                    sql.Literal(self.encoding),
                    sql.Literal(self.collate),
                    sql.Literal(self.ctype),
                ),
                sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING {}").format(
                    ident, sql.Literal(self.encoding)
                ),
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(ident),
            ]
            self.state.scratch.append(name)  # before CREATE: an interruption still drops it
            for number, statement in enumerate(attempts):
                try:
                    await _rows(conn, statement, None, max(5.0, min(60.0, self.remaining())))
                    break
                except psycopg.errors.InsufficientPrivilege:
                    raise _CannotMeasure(
                        f"the role cannot create the scratch database on {self.scratch.shown}: "
                        "grant it CREATEDB, or give -o scratch_url=env:VAR for a server where "
                        "it can"
                    ) from None
                except psycopg.Error as exc:
                    if number == len(attempts) - 1:
                        from prr.collectors.live.postgres import _sql_reason

                        raise _CannotMeasure(
                            f"creating the scratch database failed: {_sql_reason(exc)}"
                        ) from None
            self.note(f"scratch database {name} created on {self.scratch.shown}")
            return name
        finally:
            self.state.connections.remove(conn)
            await _close(conn)

    async def restore(self, name: str) -> None:
        assert self.state.work is not None
        file = self.state.work / "backup.dump"
        env = self.scratch.env(name, self.state.passfile)
        if self.cfg.restore_template is None:
            assert self.cfg.pg_restore is not None
            argv = [
                self.cfg.pg_restore,
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--no-password",
                f"--dbname={name}",
                str(file),
            ]
            shown = "pg_restore --no-owner --no-privileges --exit-on-error"
        else:
            values = {"file": str(file), "dbname": name, "work": str(self.state.work)}
            argv = ["/bin/sh", "-c", _render(self.cfg.restore_template, values)]
            shown = "restore_command"
        self.note(f"restore: {shown} into {name} started")
        done = await self.command("restore", argv, env)
        self.m["restore_seconds"] = round(done.seconds, 3)
        if done.code is None:
            self.out_of_time("restore", done.seconds)
        if done.code != 0:
            raise _Failed(
                f"the restore failed ({shown} exited with {done.code} after "
                f"{done.seconds:.1f}s): {_error_line(done.stderr, self.hidden)}"
            )
        self.note(f"restore: done in {done.seconds:.1f}s")

    async def read_restored(self, name: str, source: _Snapshot) -> _Snapshot:
        conn = await self.scratch.connect(CONNECT_TIMEOUT_S, dbname=name, read_only=True)
        self.state.connections.append(conn)
        try:
            await _prepare_session(conn, self.deadline)
            tables, truncated = await _read_tables(conn, self.remaining())
            present = set(tables)
            wanted = [t for t in source.sums if t in present]
            checksummed = {t for t, s in source.sums.items() if s.checksum is not None}
            sums = await _sum_tables(conn, wanted, checksummed, self.deadline)
            return _Snapshot(tables, sums, truncated)
        finally:
            self.state.connections.remove(conn)
            await _close(conn)

    async def pitr(self, source: _Snapshot) -> Result:
        """Restore to ``pitr_target`` into a second scratch database and check it."""
        target = self.cfg.pitr_target
        template = self.cfg.pitr_template
        assert target is not None and template is not None and self.state.work is not None
        name = await self.create_scratch()
        values = {"target": target.isoformat(), "dbname": name, "work": str(self.state.work)}
        argv = ["/bin/sh", "-c", _render(template, values)]
        self.note(f"point-in-time restore to {target.isoformat()} into {name} started")
        done = await self.command(
            "point-in-time restore", argv, self.scratch.env(name, self.state.passfile)
        )
        self.m["pitr_seconds"] = round(done.seconds, 3)
        reach = _duration_text((self.started - target).total_seconds())
        evidence = Evidence(
            f"point-in-time restore to {target.isoformat()} ({reach} before the drill)",
            url=self.scratch.shown,
            value={"pitr_target": target.isoformat(), "pitr_seconds": self.m["pitr_seconds"]},
        )
        if done.code != 0:
            reason = (
                "stopped at the drill's time limit"
                if done.code is None
                else f"exited with {done.code}"
            )
            return self.result(
                PITR_ITEM,
                False,
                f"the point-in-time restore to {target.isoformat()} failed ({reason} after "
                f"{done.seconds:.1f}s): {_error_line(done.stderr, self.hidden)}",
                evidence,
            )
        self.note(f"point-in-time restore: done in {done.seconds:.1f}s")
        conn = await self.scratch.connect(CONNECT_TIMEOUT_S, dbname=name, read_only=True)
        self.state.connections.append(conn)
        try:
            await _prepare_session(conn, self.deadline)
            tables, _ = await _read_tables(conn, self.remaining())
            sums = await _sum_tables(conn, tables[: self.cfg.max_tables], set(), self.deadline)
            rows = sum(s.rows for s in sums.values())
            newest: Any = None
            if self.cfg.pitr_check:
                import psycopg

                try:
                    found = await _rows(conn, self.cfg.pitr_check.encode(), None, self.remaining())
                except psycopg.Error as exc:
                    from prr.collectors.live.postgres import _sql_reason

                    return self.result(
                        PITR_ITEM,
                        False,
                        f"restored to {target.isoformat()}, but pitr_check_query failed: "
                        f"{_sql_reason(exc)}",
                        evidence,
                    )
                newest = found[0][0] if found and found[0] else None
        finally:
            self.state.connections.remove(conn)
            await _close(conn)
        self.m["pitr_tables"] = len(tables)
        self.m["pitr_rows"] = rows
        what = f"{len(tables)} tables, {rows:,} rows"
        if not tables or rows == 0:
            return self.result(
                PITR_ITEM,
                False,
                f"the point-in-time restore to {target.isoformat()} finished but left no data "
                f"({what}; the source snapshot holds {len(source.tables)} tables)",
                evidence,
            )
        if self.cfg.pitr_check:
            if not isinstance(newest, dt.datetime):
                return self.result(
                    PITR_ITEM,
                    False,
                    f"restored {what} to {target.isoformat()}, but pitr_check_query returned "
                    "no timestamp to compare with the target",
                    evidence,
                )
            newest = newest if newest.tzinfo else newest.replace(tzinfo=dt.UTC)
            self.m["pitr_newest"] = newest.isoformat()
            if newest > target:
                return self.result(
                    PITR_ITEM,
                    False,
                    f"the restore to {target.isoformat()} holds data from {newest.isoformat()}, "
                    "after the target: it did not stop at the requested moment",
                    evidence,
                )
            what += f", newest change {newest.isoformat()} (not after the target)"
        return self.result(
            PITR_ITEM,
            True,
            f"restored to {target.isoformat()} ({reach} before the drill) in "
            f"{done.seconds:.1f}s: {what}",
            evidence,
        )

    # -- the whole run

    async def steps(self) -> DrillOutcome:
        notes = list(self.cfg.notes)
        for note in notes:
            self.note(note)
        await self.targets()
        await self.setup()
        if self.rto is not None:
            self.m["rto_seconds"] = self.rto.value.total_seconds()
        backup_age = await self.latest_backup()
        source = await self.backup_and_sum()
        name = await self.create_scratch()
        await self.restore(name)
        started = time.monotonic()
        restored = await self.read_restored(name, source)
        self.m["verify_seconds"] = round(time.monotonic() - started, 3)
        comparison = _compare(source, restored)
        backup_s = float(self.m["backup_seconds"])
        restore_s = float(self.m["restore_seconds"])
        total = backup_s + restore_s
        counts_only = [t for t, s in source.sums.items() if s.checksum is None]
        rows = sum(s.rows for s in source.sums.values())
        self.m.update(
            total_seconds=round(total, 3),
            tables=len(source.tables),
            tables_verified=len(source.sums),
            tables_counts_only=len(counts_only),
            rows=rows,
            missing_tables=comparison.missing,
            extra_tables=comparison.extra,
            count_mismatches=comparison.count_mismatches,
            checksum_mismatches=comparison.checksum_mismatches,
        )
        self.note(
            f"verify: {len(restored.tables)} tables restored, {len(comparison.differences)} "
            f"difference(s) in {self.m['verify_seconds']:.1f}s"
        )
        timing = (
            f"backup {_duration_text(backup_s)} + restore {_duration_text(restore_s)} = "
            f"{_duration_text(total)}"
        )
        scope = [
            f"{len(source.tables)} tables, {rows:,} rows"
            if len(source.sums) == len(source.tables)
            else f"{len(source.sums)} of {len(source.tables)} tables, {rows:,} rows"
        ]
        if counts_only:
            scope.append(
                f"{len(counts_only)} table(s) above {self.cfg.max_rows:,} rows compared by count "
                f"only ({', '.join(_qualified(t) for t in counts_only[:3])})"
            )
        if source.truncated:
            scope.append(
                f"rows of the first {len(source.sums)} tables verified (max_tables), "
                "the others by name only"
            )
        if self.cfg.backup_template is not None and "{snapshot}" not in self.cfg.backup_template:
            scope.append("the backup_command does not use {snapshot}: a busy source may differ")
        evidence = [
            Evidence(
                f"backup of {self.cfg.store.name} restored into a scratch database and compared "
                "with a snapshot of the source",
                url=self.source.shown,
                value={k: v for k, v in self.m.items() if not isinstance(v, str)},
            )
        ]
        if self.rto is not None and self.rto.origin.startswith("stated in "):
            path, _, line = self.rto.origin.removeprefix("stated in ").rpartition(":")
            evidence.append(
                Evidence(
                    f"RTO {format_duration(self.rto.value)}",
                    path=path,
                    line=int(line) if line.isdigit() else None,
                )
            )
        fields = {
            "last_restore_test": self.started.date().isoformat(),
            "restore_duration": _duration_text(restore_s),
        }
        failures: list[str] = []
        if comparison.differences:
            shown = comparison.differences[:MAX_DIFFERENCES_SHOWN]
            more = len(comparison.differences) - len(shown)
            failures.append(
                f"the restored data differs from the snapshot ({comparison.missing} missing "
                f"table(s), {comparison.count_mismatches} row count and "
                f"{comparison.checksum_mismatches} checksum mismatch(es)): "
                + "; ".join(shown)
                + (f"; and {more} more" if more else "")
            )
        rto_phrase = "no RTO stated (set -o rto=4h or state the RTO in the DR plan)"
        if self.rto is not None:
            if total > self.rto.value.total_seconds():
                failures.append(f"{timing} is more than the RTO {self.rto}")
                rto_phrase = ""
            else:
                rto_phrase = f"within the RTO {self.rto}"
        details = "; ".join(filter(None, [*scope[1:], backup_age]))
        if failures:
            message = (
                f"restore of {self.cfg.store.name} FAILED: "
                + "; ".join(failures)
                + f" ({'; '.join(filter(None, [scope[0], rto_phrase and timing, details]))})"
            )
        else:
            message = (
                f"backup of {self.cfg.store.name} restored into a scratch database and verified: "
                f"{scope[0]} — tables, row counts and checksums equal; {timing}, {rto_phrase}"
                + (f"; {details}" if details else "")
            )
        results = [self.result(RESTORE_ITEM, not failures, message, *evidence, **fields)]
        if self.cfg.pitr_target is not None:
            if await self.drop(name) is None:  # free its space before the second restore
                self.state.scratch.remove(name)
            results.append(await self.pitr(source))
        passed = all(r.status.value == "pass" for r in results)
        summary = (
            f"restored and verified {scope[0]}; {timing}"
            + (f", {rto_phrase}" if rto_phrase and not failures else "")
            if not failures
            else "; ".join(failures)
        )
        if len(results) > 1:
            summary += "; point-in-time recovery " + (
                "verified" if results[1].status.value == "pass" else "FAILED"
            )
        if backup_age:
            summary += f"; {backup_age}"
        for note in notes:
            summary += f"; {note}"
        return self.outcome(passed, summary, results)

    async def cleanup(self) -> list[str]:
        """Close connections, drop the scratch databases, delete the backup. Returns problems."""
        problems: list[str] = []
        for conn in list(self.state.connections):
            await _close(conn)
        self.state.connections.clear()
        for name in list(self.state.scratch):
            problem = await self.drop(name)
            if problem:
                problems.append(problem)
            self.state.scratch.remove(name)
        if self.state.work is not None:
            shutil.rmtree(self.state.work, ignore_errors=True)
            if self.state.work.exists():
                problems.append(f"the temporary folder {self.state.work} could not be removed")
            else:
                self.note("cleanup: temporary folder (backup, password file) deleted")
            self.state.work = None
        return problems

    async def drop(self, name: str) -> str | None:
        """Drop one scratch database this run created; returns a problem or None."""
        import psycopg
        from psycopg import sql

        if not SCRATCH_NAME.match(name) or name == self.source.database:
            return f"refused to drop {name!r}: not a scratch database of this drill"
        conn: AsyncConnection[Any] | None = None
        ident = sql.Identifier(name)
        try:
            conn = await self.scratch.connect(CONNECT_TIMEOUT_S)
            try:
                await _rows(
                    conn,
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident),
                    None,
                    CLEANUP_TIMEOUT_S,
                )
            except psycopg.errors.SyntaxError:  # before PostgreSQL 13
                await _rows(
                    conn,
                    b"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                    CLEANUP_TIMEOUT_S,
                )
                await _rows(
                    conn,
                    sql.SQL("DROP DATABASE IF EXISTS {}").format(ident),
                    None,
                    CLEANUP_TIMEOUT_S,
                )
            left = await _rows(
                conn, b"SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s", (name,), 10
            )
        except (_CannotMeasure, psycopg.Error, TimeoutError) as exc:
            reason = str(exc) if isinstance(exc, _CannotMeasure) else type(exc).__name__
            problem = (
                f"the scratch database {name} on {self.scratch.shown} could not be dropped "
                f"({_scrub(reason, self.hidden)}): drop it by hand"
            )
            self.note(f"cleanup: {problem}")
            return problem
        finally:
            await _close(conn)
        if left:
            problem = f"the scratch database {name} still exists: drop it by hand"
            self.note(f"cleanup: {problem}")
            return problem
        self.note(f"cleanup: scratch database {name} dropped")
        return None


@register_drill
class BackupRestoreDrill(Drill):
    """Back up a PostgreSQL store, restore it into a scratch database and verify every row."""

    name: ClassVar[str] = "backup-restore"
    title: ClassVar[str] = (
        "Back up PostgreSQL, restore into a scratch database, verify tables, counts and "
        "checksums, time it against the RTO"
    )
    items: ClassVar[tuple[str, ...]] = (RESTORE_ITEM, PITR_ITEM)
    options: ClassVar[tuple[DrillOption, ...]] = (
        DrillOption("store", str, "", "name of the postgres store; empty: the first"),
        DrillOption(
            "backup_command",
            str,
            "",
            "backup command template (placeholders {file} {snapshot} {work} {dsn_env}); empty: "
            "pg_dump --format=custom --snapshot={snapshot} --file={file}",
        ),
        DrillOption(
            "restore_command",
            str,
            "",
            "restore command template (placeholders {file} {dbname} {work} {dsn_env}); empty: "
            "pg_restore --no-owner --no-privileges --exit-on-error --dbname={dbname} {file}",
        ),
        DrillOption(
            "scratch_url",
            str,
            "",
            "env:VAR holding the URL of the server for scratch databases; empty: the source's",
        ),
        DrillOption(
            "max_rows_checksummed", int, 1_000_000, "larger tables are compared by count only"
        ),
        DrillOption("max_tables", int, 500, "verify the rows of at most this many tables"),
        DrillOption("rto", str, "", "RTO such as 4h; empty: the RTO stated in the DR plan"),
        DrillOption("rpo", str, "", "RPO such as 15m; empty: the RPO stated in the DR plan"),
        DrillOption(
            "latest_backup_command",
            str,
            "",
            "command printing the newest backup's ISO timestamp; its age is compared with the RPO",
        ),
        DrillOption(
            "pitr_target", str, "", "ISO timestamp to restore to (needs pitr_restore_command)"
        ),
        DrillOption(
            "pitr_restore_command",
            str,
            "",
            "command restoring the state at {target} into the scratch database {dbname}",
        ),
        DrillOption(
            "pitr_check_query",
            str,
            "",
            "SQL giving the newest timestamp in the restored data; must not be after the target",
        ),
        DrillOption(
            "pg_bin_dir", str, "", "folder of pg_dump and pg_restore; empty: newest installed"
        ),
        DrillOption("work_dir", str, "", "folder for the temporary backup; empty: system temp"),
    )

    @classmethod
    def _options(cls, ctx: DrillContext) -> dict[str, Any]:
        return {o.name: ctx.options.get(o.name, o.default) for o in cls.options}

    def plan(self, ctx: DrillContext) -> DrillPlan:
        cfg = _configure(ctx, self._options(ctx))
        scratch_at = cfg.scratch.shown if cfg.scratch_separate else cfg.source.shown
        backup = (
            f"back up with {cfg.backup_template!r}"
            if cfg.backup_template
            else "back up with pg_dump --format=custom --snapshot=<snapshot> (connection in PG* "
            "variables, password in a 0600 PGPASSFILE)"
        )
        restore = (
            f"restore with {cfg.restore_template!r}"
            if cfg.restore_template
            else "restore with pg_restore --no-owner --no-privileges --exit-on-error"
        )
        steps = [
            "read the RTO and RPO (options, else the DR plan's stated values)",
            *(
                [f"ask the backup tool for its newest backup: {cfg.latest_template!r}"]
                if cfg.latest_template
                else []
            ),
            f"open one REPEATABLE READ read-only transaction on {cfg.source.shown} and export "
            "its snapshot",
            backup,
            f"count every table in the snapshot; checksum those up to "
            f"{cfg.max_rows:,} rows (at most {cfg.max_tables} tables)",
            f"create a scratch database {SCRATCH_PREFIX}<random> on {scratch_at}; {restore}",
            "compare tables, row counts and checksums with the snapshot; compare backup + "
            "restore time with the RTO",
        ]
        if cfg.pitr_target is not None:
            steps.append(
                f"restore to {cfg.pitr_target.isoformat()} into a second scratch database with "
                f"{cfg.pitr_template!r} and check it"
            )
        steps.append("drop the scratch database(s) and delete the backup (also when interrupted)")
        steps.extend(cfg.notes)
        return DrillPlan(
            self.name,
            ctx.environment,
            (
                f"{cfg.source.shown} (read only)",
                f"{scratch_at}: creates and drops {SCRATCH_PREFIX}<random>",
                "a private temporary folder for the backup file",
            ),
            tuple(steps),
            ctx.timeout_s,
            None,
            True,
        )

    async def run(self, ctx: DrillContext) -> DrillOutcome:
        import psycopg

        from prr.collectors.live.postgres import _sql_reason

        cfg = _configure(ctx, self._options(ctx))
        run = _Run(self, ctx, cfg)
        outcome: DrillOutcome | None = None
        try:
            try:
                outcome = await run.steps()
            except _Failed as exc:
                message = _scrub(str(exc), run.hidden)
                run.note(f"FAILED: {message}")
                fields: dict[str, Any] = {"last_restore_test": run.started.date().isoformat()}
                if "restore_seconds" in run.m:
                    fields["restore_duration"] = _duration_text(float(run.m["restore_seconds"]))
                result = run.result(
                    RESTORE_ITEM,
                    False,
                    f"restore of {cfg.store.name} FAILED: {message}",
                    Evidence(
                        f"backup-restore drill of {cfg.store.name}",
                        url=run.source.shown,
                        value={k: v for k, v in run.m.items() if not isinstance(v, str)},
                    ),
                    **fields,
                )
                outcome = run.outcome(False, message, [result])
            except (_CannotMeasure, psycopg.Error, TimeoutError) as exc:
                if isinstance(exc, psycopg.Error):
                    reason = f"a query failed: {_sql_reason(exc)}"
                elif isinstance(exc, TimeoutError):
                    reason = "a query did not answer within the drill's time limit"
                else:
                    reason = str(exc)
                message = _scrub(reason, run.hidden)
                run.note(f"could not measure: {message}")
                outcome = run.outcome(False, f"the drill could not measure: {message}", [])
        finally:
            problems = await run.cleanup()
        assert outcome is not None
        if problems:
            outcome.summary += "; WARNING: " + "; ".join(problems)
        outcome.finished_at = dt.datetime.now(dt.UTC)
        outcome.log = list(ctx.log)
        return outcome
