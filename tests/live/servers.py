"""Throwaway servers for live tests: free loopback ports, start, wait, always stop.

Tests start real nginx, PostgreSQL, Redis, Prometheus and Alertmanager from the
installed binaries (scripts/test-deps.sh installs them) on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from prr.collectors.base import Facts
from prr.collectors.live.base import LiveCollector, LiveContext, LiveLimits
from prr.model.target import Environment, Target


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, timeout: float = 20.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode} before listening on {port}"
            )
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def find_binary(*names: str) -> str:
    """Path of the first binary found on PATH or in the usual Debian folders."""
    folders = [
        "/usr/sbin",
        "/usr/bin",
        *sorted(map(str, Path("/usr/lib/postgresql").glob("*/bin")), reverse=True),
    ]
    for name in names:
        found = shutil.which(name)
        if found:
            return found
        for folder in folders:
            candidate = Path(folder) / name
            if candidate.exists():
                return str(candidate)
    raise RuntimeError(f"none of {names} is installed: run scripts/test-deps.sh")


@contextlib.contextmanager
def running(
    argv: Sequence[str], port: int, *, log: Path, timeout: float = 20.0, **popen: Any
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server process until the block ends; its output goes to ``log``."""
    with log.open("wb") as out:
        process = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, **popen)
        try:
            wait_for_port(port, timeout, process)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def collect_live(
    collector: type[LiveCollector],
    environment: dict[str, Any],
    *,
    name: str = "staging",
    limits: LiveLimits | None = None,
) -> tuple[Any, LiveContext]:
    """Run one live collector against an environment spec (the ``environments.NAME`` of prr.yaml)."""
    spec = Environment.model_validate(environment)
    target = Target(service="svc", environments={name: spec})
    ctx = LiveContext(name, spec, target, limits or LiveLimits(timeout_s=5.0, total_timeout_s=60.0))
    facts = asyncio.run(collector().collect(ctx))
    return facts, ctx


def live_facts(collector: type[LiveCollector], environment: dict[str, Any], **kw: Any) -> Facts:
    """A Facts bag holding one live collector's facts and errors, ready for ``run_live_check``."""
    facts, ctx = collect_live(collector, environment, **kw)
    bag = Facts(list(ctx.errors))
    bag.add(facts)
    return bag
