"""Settings of the server, from arguments or ``PRR_SERVER_*`` environment variables.

The session secret signs session cookies. Without ``PRR_SESSION_SECRET`` each
process draws a random one, so sessions end when it restarts and are not shared
between processes: set it when running several processes behind a load balancer.

Rate limits are token buckets kept in each process's memory: with N processes a
client may make up to N times the configured rate. Account lockout, in contrast,
lives in the database and holds across processes.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass(frozen=True)
class ServerSettings:
    """How the server authenticates, limits and logs."""

    session_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    session_timeout_s: int = 8 * 3600
    """A session cookie is refused this long after it was issued."""
    max_failed_logins: int = 5
    lockout_s: int = 15 * 60
    auth_burst: int = 10
    """Requests a client (IP + user name) may make at once to the login and token endpoints …"""
    auth_per_minute: float = 10.0
    """… and how many more per minute after that."""
    hash_time_cost: int = 3
    hash_memory_kib: int = 65536
    """argon2 cost of new password hashes (existing hashes keep the cost they were made with)."""
    page_limit: int = 50
    max_page_limit: int = 200
    graceful_shutdown_s: int = 15
    policy_file: str | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    """Largest request body accepted (413 beyond), counted before anything parses it."""

    @classmethod
    def from_env(cls) -> ServerSettings:
        """Settings from ``PRR_SESSION_SECRET`` and ``PRR_SERVER_*`` variables, else defaults."""
        secret = os.environ.get("PRR_SESSION_SECRET") or secrets.token_urlsafe(32)
        return cls(
            session_secret=secret,
            session_timeout_s=_int("PRR_SERVER_SESSION_TIMEOUT", 8 * 3600),
            max_failed_logins=_int("PRR_SERVER_MAX_FAILED_LOGINS", 5),
            lockout_s=_int("PRR_SERVER_LOCKOUT_SECONDS", 15 * 60),
            auth_burst=_int("PRR_SERVER_AUTH_BURST", 10),
            auth_per_minute=_float("PRR_SERVER_AUTH_PER_MINUTE", 10.0),
            graceful_shutdown_s=_int("PRR_SERVER_GRACEFUL_SHUTDOWN", 15),
            policy_file=os.environ.get("PRR_POLICY_FILE"),
            max_body_bytes=_int("PRR_SERVER_MAX_BODY_BYTES", 10 * 1024 * 1024),
        )
