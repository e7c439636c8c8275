"""Throwaway Redis servers for live tests, and a server that accepts but never answers.

Every server listens on 127.0.0.1 only, persists nothing unless asked, and is
stopped by :func:`tests.live.servers.running` when its block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import redis

from tests.live.pg import TlsFiles
from tests.live.servers import find_binary, free_port, running

PRIMARY_PASSWORD = "cache-Secret-pw-2"
APP_USER = "app"
APP_PASSWORD = "app-cache-pw-3"


@dataclass(frozen=True)
class RedisNode:
    """A running redis-server (or Sentinel) and how to reach it."""

    port: int
    tls: TlsFiles | None = None
    password: str | None = None

    def url(
        self, password: str | None = "", user: str | None = None, *, ca: Path | None = None
    ) -> str:
        """``redis(s)://`` URL; ``password=""`` means the node's own, ``None`` none at all."""
        secret = self.password if password == "" else password
        auth = ""
        if user or secret:
            auth = (quote(user) if user else "") + (f":{quote(secret, safe='')}" if secret else "")
            auth += "@"
        if self.tls:
            return f"rediss://{auth}127.0.0.1:{self.port}/0?ssl_ca_certs={ca or self.tls.cert}"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A plain synchronous client for set-up and read-only proofs."""
        kwargs: dict[str, Any] = {"host": "127.0.0.1", "port": self.port, "password": self.password}
        if self.tls:
            kwargs |= {"ssl": True, "ssl_ca_certs": str(self.tls.cert)}
        return redis.Redis(decode_responses=True, protocol=2, **kwargs)


def _tls_args(tls: TlsFiles, port: int) -> list[str]:
    return [
        "--port",
        "0",
        "--tls-port",
        str(port),
        "--tls-cert-file",
        str(tls.cert),
        "--tls-key-file",
        str(tls.key),
        "--tls-ca-cert-file",
        str(tls.cert),
        "--tls-auth-clients",
        "no",
    ]


@contextlib.contextmanager
def redis_server(
    folder: Path,
    *args: str,
    tls: TlsFiles | None = None,
    password: str | None = None,
    label: str = "redis",
) -> Iterator[RedisNode]:
    """Run one redis-server with extra ``args`` (``--maxmemory 64mb`` …) until the block ends."""
    port = free_port()
    work = folder / f"{label}-{port}"
    work.mkdir(parents=True)
    argv = [find_binary("redis-server"), "--bind", "127.0.0.1", "--save", "", "--dir", str(work)]
    argv += _tls_args(tls, port) if tls else ["--port", str(port)]
    if password:
        argv += ["--requirepass", password]
    argv += list(args)
    with running(argv, port, log=work / "redis.log", cwd=work):
        node = RedisNode(port, tls, password)
        _wait_ready(node)
        yield node


def _wait_ready(node: RedisNode, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with node.client() as client:
                client.ping()
                return
        except redis.exceptions.BusyLoadingError:
            pass
        except redis.exceptions.ResponseError:
            return  # answering (CONFIG renamed, ACL …): it is up
        if time.monotonic() > deadline:
            raise TimeoutError("redis did not become ready")
        time.sleep(0.05)


def wait_until(check: Any, timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``check()`` until it is true."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout}s")
        time.sleep(0.05)


@contextlib.contextmanager
def sentinel(
    folder: Path,
    primary: RedisNode,
    master: str = "mymaster",
    replicas: Sequence[RedisNode] = (),
    password: str | None = None,
) -> Iterator[RedisNode]:
    """A Sentinel watching ``primary`` (plain TCP), ready once it has seen the replicas."""
    port = free_port()
    work = folder / f"sentinel-{port}"
    work.mkdir(parents=True)
    conf = work / "sentinel.conf"
    lines = [
        "bind 127.0.0.1",
        f"port {port}",
        f"dir {work}",
        f"sentinel monitor {master} 127.0.0.1 {primary.port} 1",
        f"sentinel down-after-milliseconds {master} 5000",
    ]
    if primary.password:
        lines.append(f"sentinel auth-pass {master} {primary.password}")
    if password:
        lines.append(f"requirepass {password}")
    conf.write_text("\n".join(lines) + "\n")
    argv = [find_binary("redis-server"), str(conf), "--sentinel"]
    with running(argv, port, log=work / "sentinel.log", cwd=work):
        node = RedisNode(port, password=password)

        def sees_replicas() -> bool:
            with node.client() as client:
                state = client.execute_command("SENTINEL", "MASTER", master)
                pairs = dict(zip(state[::2], state[1::2], strict=True))
                return int(pairs.get("num-slaves", 0)) >= len(replicas)

        wait_until(sees_replicas, what="sentinel discovering the replicas")
        yield node


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never sends a byte."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port_box: list[int] = []
    writers: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)  # keep it open; never answer

    async def serve() -> asyncio.Server:
        server = await asyncio.start_server(hold, "127.0.0.1", 0, family=socket.AF_INET)
        port_box.append(server.sockets[0].getsockname()[1])
        ready.set()
        return server

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(serve(), loop).result(timeout=5)
    ready.wait(5)

    async def stop() -> None:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()

    try:
        yield port_box[0]
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
