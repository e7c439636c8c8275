"""Live Redis: version, role and replicas, Sentinel, persistence, memory limit, authentication, TLS.

Reads every ``redis:`` data store of an environment with redis-py (asyncio):
``INFO`` sections, ``CONFIG GET`` of a few named parameters, ``ACL GETUSER
default`` (flags only — never the password hashes it also returns) and, when
the URL carries credentials, one ``PING`` on a second connection *without*
them: if that answers, the server does not require authentication. It never
reads keys or values, never runs ``CONFIG SET`` or any command that writes.

URLs: ``redis://`` and ``rediss://`` (TLS; ``ssl_ca_certs``, ``ssl_cert_reqs``,
``ssl_check_hostname``, ``ssl_certfile``, ``ssl_keyfile`` query parameters are
honoured), and ``sentinel://host:26379/<master-name>`` to ask a Sentinel for
the primary and then read the primary (credentials in the URL are used for the
data nodes, not for the Sentinel). A ``redis://`` URL that reaches a Sentinel
is followed the same way. ``CONFIG`` may be renamed or disabled: that part is
recorded as "not visible" and the rest still read.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from prr.collectors.live.base import LiveCollector, LiveContext, ParityView, register_live
from prr.collectors.live.postgres import shown_url
from prr.errors import CollectorError, CollectorTimeout, CollectorUnreachable
from prr.model.target import DataStore, resolve_secret

COLLECTOR = "redis"
T = TypeVar("T")

SUPPORTED_LINES: Mapping[tuple[int, int], str] = {
    (6, 2): "maintenance",
    (7, 2): "maintenance",
    (7, 4): "maintenance",
    (8, 0): "maintenance",
    (8, 2): "current",
}
"""Release lines that received the October 2025 security releases (CVE-2025-49844:
6.2.20, 7.2.11, 7.4.6, 8.0.4, 8.2.2). Lines missing here and older than the
newest (7.0, 6.0, 5.x …) no longer get fixes. Data: update it as Redis ships."""
SUPPORT_AS_OF = "2025-10"

CONFIG_KEYS: tuple[str, ...] = (
    "maxmemory",
    "maxmemory-policy",
    "protected-mode",
    "appendonly",
    "save",
    "port",
    "tls-port",
)
"""Parameters prr asks for one by one (never ``requirepass``/``masterauth``: secrets)."""
TLS_QUERY = {
    "ssl_ca_certs": str,
    "ssl_certfile": str,
    "ssl_keyfile": str,
    "ssl_cert_reqs": str,
}
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SentinelView:
    """What a Sentinel says about the primary it watches (no addresses kept)."""

    master_name: str
    flags: tuple[str, ...]
    replicas: int | None
    sentinels: int | None
    """All Sentinels watching this primary, the one asked included."""
    quorum: int | None
    asked: str
    """The command or INFO section that answered."""


@dataclass(frozen=True)
class RedisStore:
    """What one ``redis:`` data store told prr, or why it could not be read."""

    name: str
    url: str
    """Redacted: no password, no query parameters."""
    read_at: str
    error: str | None = None
    tls: bool = False
    tls_verified: bool = False
    """TLS with certificate verification (``ssl_cert_reqs`` not ``none``/``optional``)."""
    version: str | None = None
    mode: str | None = None
    cluster_enabled: bool = False
    role: str | None = None
    replicas_online: int | None = None
    replicas_connected: int | None = None
    max_replica_lag_s: int | None = None
    master_link_status: str | None = None
    rdb_last_bgsave_status: str | None = None
    aof_enabled: bool | None = None
    used_memory: int | None = None
    maxmemory: int | None = None
    maxmemory_policy: str | None = None
    config: dict[str, str] = field(default_factory=dict)
    """CONFIG GET answers (only what could be read)."""
    auth_required: bool | None = None
    auth_evidence: str = ""
    default_user_flags: tuple[str, ...] | None = None
    sentinel: SentinelView | None = None
    unreadable: dict[str, str] = field(default_factory=dict)
    asked: tuple[str, ...] = ()
    """The commands sent, in order (no arguments that could be secret)."""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def line(self) -> tuple[int, int] | None:
        numbers = re.findall(r"\d+", self.version or "")
        return (int(numbers[0]), int(numbers[1])) if len(numbers) >= 2 else None

    @property
    def protected_mode(self) -> bool | None:
        value = self.config.get("protected-mode")
        return None if value is None else value.lower() == "yes"

    @property
    def plaintext_port(self) -> int | None:
        """The non-TLS port when TLS is also configured (None: unknown or not listening)."""
        try:
            port = int(self.config["port"])
        except (KeyError, ValueError):
            return None
        return port or None


def support_status(version: str | None) -> tuple[bool | None, str]:
    """(still receives security fixes, why) for a Redis version string."""
    numbers = re.findall(r"\d+", version or "")
    if len(numbers) < 2:
        return None, "version unknown"
    line = (int(numbers[0]), int(numbers[1]))
    if line in SUPPORTED_LINES:
        return True, f"{line[0]}.{line[1]} receives security releases (as of {SUPPORT_AS_OF})"
    if line > max(SUPPORTED_LINES):
        return True, f"{line[0]}.{line[1]} is newer than prr's support table ({SUPPORT_AS_OF})"
    return False, (
        f"{line[0]}.{line[1]} no longer receives security releases (supported lines as of "
        f"{SUPPORT_AS_OF}: {', '.join(f'{a}.{b}' for a, b in sorted(SUPPORTED_LINES))})"
    )


@dataclass(frozen=True)
class RedisFacts(ParityView):
    """One entry per ``redis:`` data store of the environment."""

    stores: tuple[RedisStore, ...] = ()

    def parity(self) -> dict[str, Any]:
        """Settings that should match between environments; memory size under ``*.size.*``."""
        out: dict[str, Any] = {}
        for store in self.stores:
            if not store.ok:
                continue
            key = f"redis.{store.name}."
            line = store.line
            out[key + "version"] = f"{line[0]}.{line[1]}" if line else store.version
            out[key + "maxmemory-policy"] = store.maxmemory_policy
            out[key + "size.maxmemory"] = store.maxmemory
            out[key + "tls"] = store.tls
            out[key + "auth_required"] = store.auth_required
            out[key + "mode"] = store.mode
            out[key + "replicated"] = bool(store.replicas_connected) or store.role == "slave"
            out[key + "sentinel"] = store.sentinel is not None
            for name in ("protected-mode", "appendonly", "save"):
                if name in store.config:
                    out[key + name] = store.config[name]
        return out


# --- reading ------------------------------------------------------------------------------------


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _reason(exc: BaseException, with_credentials: bool) -> str:
    """prr's own words for a failed call (library messages may echo arguments)."""
    import redis.exceptions as rx

    text = str(exc).lower()
    if isinstance(exc, rx.AuthenticationError) or "noauth" in text or "wrongpass" in text:
        if with_credentials:
            return "authentication failed: wrong user name or password (or the user is disabled)"
        return "the server requires authentication and the URL has no credentials"
    if isinstance(exc, rx.TimeoutError | TimeoutError):
        return "timeout"
    if "certificate" in text and "verif" in text:
        return "TLS handshake failed: the server's certificate could not be verified"
    if "ssl" in text or "tls" in text or "wrong version number" in text:
        return "TLS handshake failed"
    if "refused" in text or "error 111" in text:
        return "unreachable: connection refused"
    if "connection reset" in text or "closed by server" in text or "connection closed" in text:
        return "the server closed the connection"
    if isinstance(exc, rx.ConnectionError):
        return "unreachable: the connection failed"
    return f"the server answered with an error ({type(exc).__name__})"


def _part_reason(exc: BaseException) -> str:
    import redis.exceptions as rx

    text = str(exc).lower()
    if isinstance(exc, rx.NoPermissionError) or "noperm" in text or "no permissions" in text:
        return "not visible: this user has no permission for it"
    if "unknown command" in text or "unknown subcommand" in text:
        return "not visible: the command is disabled or renamed"
    return f"not visible: the server answered with an error ({type(exc).__name__})"


class _Conn:
    """A client for one node with a per-call timeout and error translation."""

    def __init__(self, kwargs: dict[str, Any], timeout: float, source: str) -> None:
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        extra: dict[str, Any] = {}
        try:  # redis-py ≥ 7: say nothing about the library (no CLIENT SETINFO)
            from redis.driver_info import DriverInfo

            extra["driver_info"] = DriverInfo(name=None, lib_version=None)
        except ImportError:  # pragma: no cover - older redis-py
            extra.update(lib_name=None, lib_version=None)
        self.with_credentials = bool(kwargs.get("password") or kwargs.get("username"))
        self.timeout = timeout
        self.source = source
        self.asked: list[str] = []
        self.client = aioredis.Redis(
            **kwargs,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            protocol=2,
            decode_responses=True,
            health_check_interval=0,
            **extra,
        )

    async def call(self, label: str, awaitable: Awaitable[T]) -> T:
        """Await one command; connection-level failures raise prr errors."""
        import redis.exceptions as rx

        self.asked.append(label)
        try:  # redis-py's own socket timeout fires first; this one is the backstop
            return await asyncio.wait_for(awaitable, timeout=self.timeout * 1.5 + 0.5)
        except (TimeoutError, rx.TimeoutError):
            raise CollectorTimeout(
                f"no answer within {self.timeout:g}s ({label})", source=self.source
            ) from None
        except (rx.ConnectionError, OSError) as exc:
            reason = _reason(exc, self.with_credentials)
            if reason == "timeout":
                raise CollectorTimeout(
                    f"no answer within {self.timeout:g}s ({label})", source=self.source
                ) from None
            if reason.startswith("unreachable"):
                raise CollectorUnreachable(reason, source=self.source) from None
            raise CollectorError(reason, source=self.source) from None

    def command(self, *args: str) -> Awaitable[Any]:
        """A raw command (redis-py leaves ``execute_command`` untyped)."""
        result: Awaitable[Any] = self.client.execute_command(*args)  # type: ignore[no-untyped-call]
        return result

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # closing must never hide the result
            await asyncio.wait_for(self.client.aclose(), timeout=self.timeout)


def _kwargs(url: str) -> tuple[dict[str, Any], str, int, str | None]:
    """Client keyword arguments for a redis/rediss/sentinel URL, the host, port and master name."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    default_port = 26379 if parts.scheme == "sentinel" else 6379
    port = parts.port or default_port
    query = dict(parse_qsl(parts.query))
    kwargs: dict[str, Any] = {"host": host, "port": port}
    path = unquote(parts.path.lstrip("/"))
    master = None
    if parts.scheme == "sentinel":
        master = path or None
    elif path:
        if not path.isdigit():
            raise ValueError("the database in the URL path must be a number")
        kwargs["db"] = int(path)
    if parts.username:
        kwargs["username"] = unquote(parts.username)
    if parts.password:
        kwargs["password"] = unquote(parts.password)
    if parts.scheme == "rediss":
        kwargs["ssl"] = True
        for name in TLS_QUERY:
            if name in query:
                kwargs[name] = query[name]
        if "ssl_check_hostname" in query:
            kwargs["ssl_check_hostname"] = query["ssl_check_hostname"].lower() in _TRUE
    return kwargs, host, port, master


def _pairs(raw: Any) -> dict[str, Any]:
    """A RESP2 flat list (or an already parsed dict) as a dict."""
    if isinstance(raw, dict):
        return {str(k): v for k, v in raw.items()}
    if isinstance(raw, list | tuple):
        return {str(raw[i]): raw[i + 1] for i in range(0, len(raw) - 1, 2)}
    return {}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def _ask_sentinel(
    ctx: LiveContext, host: str, port: int, master: str | None, base: dict[str, Any], source: str
) -> tuple[SentinelView, str, int]:
    """Ask a Sentinel about ``master``; returns the primary's address.

    Asks without credentials first (Sentinels usually have none) and with the URL's
    credentials only when the Sentinel requires authentication.
    """
    plain = {k: v for k, v in base.items() if k not in {"username", "password", "db"}}
    try:
        return await _sentinel_master(ctx, {**plain, "host": host, "port": port}, master, source)
    except CollectorError as exc:
        if "requires authentication" not in str(exc) or not base.get("password"):
            raise
    creds = {k: v for k, v in base.items() if k in {"username", "password"}}
    return await _sentinel_master(
        ctx, {**plain, **creds, "host": host, "port": port}, master, source
    )


async def _sentinel_master(
    ctx: LiveContext, kwargs: dict[str, Any], master: str | None, source: str
) -> tuple[SentinelView, str, int]:
    sentinel = _Conn(kwargs, ctx.limits.timeout_s, source)
    try:
        if master is None:
            info = await sentinel.call("INFO sentinel", sentinel.client.info("sentinel"))
            first = info.get("master0")
            if not isinstance(first, dict) or "name" not in first:
                raise CollectorError("the Sentinel watches no primary", source=source)
            master = str(first["name"])
        raw = await sentinel.call("SENTINEL MASTER", sentinel.command("SENTINEL", "MASTER", master))
    except CollectorError:
        await sentinel.close()
        raise
    except Exception as exc:
        await sentinel.close()
        raise CollectorError(
            f"the Sentinel did not describe primary {master!r}: {_part_reason(exc)}", source=source
        ) from None
    await sentinel.close()
    state = _pairs(raw)
    flags = state.get("flags", "")
    others = _int(state.get("num-other-sentinels"))
    view = SentinelView(
        master_name=master,
        flags=tuple(sorted(flags)) if isinstance(flags, set) else tuple(str(flags).split(",")),
        replicas=_int(state.get("num-slaves")),
        sentinels=None if others is None else others + 1,
        quorum=_int(state.get("quorum")),
        asked=f"SENTINEL MASTER {master}",
    )
    ip, mport = state.get("ip"), _int(state.get("port"))
    if not ip or not mport:
        raise CollectorError(f"the Sentinel gave no address for {master!r}", source=source)
    return view, str(ip), mport


async def _unauthenticated_ping(kwargs: dict[str, Any], timeout: float, source: str) -> bool | None:
    """True when a connection without credentials may run commands; None when unclear."""
    import redis.exceptions as rx

    bare = {k: v for k, v in kwargs.items() if k not in {"username", "password"}}
    probe = _Conn(bare, timeout, source)
    try:
        await probe.call("PING (without credentials)", probe.client.ping())
        return True
    except CollectorError as exc:
        return False if "requires authentication" in str(exc) else None
    except rx.ResponseError as exc:
        return False if "noauth" in str(exc).lower() else None
    finally:
        await probe.close()


async def _inspect(
    conn: _Conn, kwargs: dict[str, Any], base: RedisStore, server: dict[str, Any]
) -> RedisStore:
    import redis.exceptions as rx

    unreadable: dict[str, str] = {}
    replication = await conn.call("INFO replication", conn.client.info("replication"))
    persistence = await conn.call("INFO persistence", conn.client.info("persistence"))
    memory = await conn.call("INFO memory", conn.client.info("memory"))
    cluster: dict[str, Any] = {}
    try:
        cluster = await conn.call("INFO cluster", conn.client.info("cluster"))
    except rx.ResponseError as exc:
        unreadable["INFO cluster"] = _part_reason(exc)

    config: dict[str, str] = {}
    for name in CONFIG_KEYS:
        try:
            answer = await conn.call(f"CONFIG GET {name}", conn.command("CONFIG", "GET", name))
        except rx.ResponseError as exc:
            unreadable["CONFIG GET"] = _part_reason(exc)
            break
        value = _pairs(answer).get(name)
        if value is not None:
            config[name] = str(value)

    flags: tuple[str, ...] | None = None
    try:
        user = _pairs(
            await conn.call("ACL GETUSER default", conn.command("ACL", "GETUSER", "default"))
        )
        raw_flags = user.get("flags") or ()
        flags = tuple(str(f) for f in raw_flags)  # the password hashes are not kept
    except rx.ResponseError as exc:
        unreadable["ACL GETUSER default"] = _part_reason(exc)

    auth_required: bool | None = None
    evidence = ""
    if flags is not None and "on" in flags and "nopass" in flags:
        auth_required, evidence = False, "ACL GETUSER default: the default user is on and nopass"
    elif flags is not None:
        auth_required = True
        evidence = "ACL GETUSER default: " + (
            "the default user is off" if "off" in flags else "the default user has a password"
        )
    elif not conn.with_credentials:
        auth_required, evidence = False, "INFO answered on a connection without credentials"
    else:
        probe = await _unauthenticated_ping(kwargs, conn.timeout, conn.source)
        conn.asked.append("PING (second connection, without credentials)")
        if probe is not None:
            auth_required = not probe
            evidence = (
                "PING without credentials was refused (NOAUTH)"
                if probe is False
                else "PING without credentials answered PONG"
            )

    replicas = [v for k, v in replication.items() if re.fullmatch(r"slave\d+", k)]
    online = [r for r in replicas if isinstance(r, dict) and r.get("state") == "online"]
    lags = [_int(r.get("lag")) for r in online]
    maxmemory = _int(config.get("maxmemory", memory.get("maxmemory")))
    policy = config.get("maxmemory-policy") or memory.get("maxmemory_policy")
    return RedisStore(
        name=base.name,
        url=base.url,
        read_at=base.read_at,
        tls=bool(kwargs.get("ssl")),
        tls_verified=bool(kwargs.get("ssl"))
        and str(kwargs.get("ssl_cert_reqs", "required")).lower() not in {"none", "optional"},
        version=str(server.get("redis_version")) if server.get("redis_version") else None,
        mode=str(server.get("redis_mode") or "standalone"),
        cluster_enabled=str(cluster.get("cluster_enabled", "0")) == "1",
        role=str(replication.get("role")) if replication.get("role") else None,
        replicas_online=len(online),
        replicas_connected=_int(replication.get("connected_slaves")),
        max_replica_lag_s=max((lag for lag in lags if lag is not None), default=None),
        master_link_status=replication.get("master_link_status"),
        rdb_last_bgsave_status=persistence.get("rdb_last_bgsave_status"),
        aof_enabled=str(persistence.get("aof_enabled", "0")) == "1",
        used_memory=_int(memory.get("used_memory")),
        maxmemory=maxmemory,
        maxmemory_policy=str(policy) if policy else None,
        config=config,
        auth_required=auth_required,
        auth_evidence=evidence,
        default_user_flags=flags,
        sentinel=base.sentinel,
        unreadable=unreadable,
        asked=tuple(conn.asked),
    )


async def read_store(store: DataStore, ctx: LiveContext) -> RedisStore:
    """Read one data store; failures are recorded on the store and with ``ctx.error``."""
    url = resolve_secret(store.url)
    shown = shown_url(store.url, url)
    source = f"redis {store.name} ({shown})"
    read_at = _now()

    def failed(reason: str) -> RedisStore:
        ctx.error(source, reason, COLLECTOR)
        return RedisStore(store.name, shown, read_at, error=reason)

    if not url:
        return failed(f"{store.url} is not set in the environment")
    scheme = urlsplit(url).scheme
    if scheme not in {"redis", "rediss", "sentinel"}:
        return failed("not a redis://, rediss:// or sentinel:// URL")
    timeout = ctx.limits.timeout_s
    try:
        kwargs, host, port, master = _kwargs(url)
        if not host:
            return failed("the URL has no host")
        await ctx.guard.check_host(host, port, source, timeout)
    except ValueError as exc:
        return failed(str(exc) if "database" in str(exc) else "the URL has an invalid port")
    except CollectorError as exc:
        return failed(str(exc).removeprefix(f"{exc.source}: "))
    base = RedisStore(store.name, shown, read_at)
    conn: _Conn | None = None
    try:
        if scheme == "sentinel":
            view, host, port = await _ask_sentinel(ctx, host, port, master, kwargs, source)
            await ctx.guard.check_host(host, port, source, timeout)
            kwargs = {**kwargs, "host": host, "port": port}
            base = RedisStore(store.name, shown, read_at, sentinel=view)
        conn = _Conn(kwargs, timeout, source)
        server = await conn.call("INFO server", conn.client.info("server"))
        if server.get("redis_mode") == "sentinel" and base.sentinel is None:
            await conn.close()
            view, host, port = await _ask_sentinel(ctx, host, port, None, kwargs, source)
            await ctx.guard.check_host(host, port, source, timeout)
            kwargs = {**kwargs, "host": host, "port": port}
            base = RedisStore(store.name, shown, read_at, sentinel=view)
            conn = _Conn(kwargs, timeout, source)
            server = await conn.call("INFO server", conn.client.info("server"))
        return await _inspect(conn, kwargs, base, server)
    except CollectorError as exc:
        return failed(str(exc).removeprefix(f"{exc.source}: "))
    except Exception as exc:  # a reply redis-py could not parse, an unexpected answer
        return failed(_reason(exc, bool(kwargs.get("password") or kwargs.get("username"))))
    finally:
        if conn is not None:
            await conn.close()


@register_live
class RedisCollector(LiveCollector):
    """Reads every Redis data store of the environment, read-only."""

    name = COLLECTOR
    facts_type = RedisFacts

    async def collect(self, ctx: LiveContext) -> RedisFacts:
        limit = asyncio.Semaphore(max(1, ctx.limits.concurrency))

        async def one(store: DataStore) -> RedisStore:
            async with limit:
                return await read_store(store, ctx)

        stores = await asyncio.gather(*(one(s) for s in ctx.spec.redis))
        return RedisFacts(tuple(stores))
