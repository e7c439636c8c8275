"""A throwaway PostgreSQL server for store tests: initdb in a temp folder, loopback only."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.live.servers import find_binary, free_port, wait_for_port


def _demote() -> None:  # pragma: no cover - runs in the child
    user = pwd.getpwnam("postgres")
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)


def _wait_ready(url: str, timeout: float = 30.0) -> None:
    """The port opens before the server accepts sessions ("the database system is starting up")."""
    import time

    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start PostgreSQL on a free port; yields a superuser URL (trust auth on loopback)."""
    folder = Path(tempfile.mkdtemp(prefix="prr-pg-"))
    as_root = os.geteuid() == 0
    preexec = _demote if as_root else None
    if as_root:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    subprocess.run(
        [find_binary("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        preexec_fn=preexec,
        timeout=120,
    )
    port = free_port()
    log = folder / "server.log"
    argv = [
        find_binary("postgres"),
        "-D",
        str(data),
        "-p",
        str(port),
        "-h",
        "127.0.0.1",
        "-k",
        str(folder),
        "-c",
        "fsync=off",
        "-c",
        "max_connections=50",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, preexec_fn=preexec)
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        wait_for_port(port, 30, process)
        _wait_ready(url)
        yield url
    finally:
        # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients (a pooled
        # connection of a server under test) to disconnect, as SIGTERM's smart one does.
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
