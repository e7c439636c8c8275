"""A real server per store backend: uvicorn on a free loopback port, in a thread.

One server per test module and backend (SQLite, throwaway PostgreSQL) keeps the
suite fast; tests use unique user and service names so they do not interfere.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn

from prr.review.reviews import Reviews
from prr.server import ServerSettings, create_app
from prr.store.users import Accounts, Role
from tests.live.servers import free_port
from tests.pgserver import postgres_server

_names = itertools.count()
PASSWORD = "correct horse battery staple"
ALL_SIGNOFF = ("Engineering Lead", "Security", "Operations", "Product")


@dataclass
class Running:
    url: str
    store_url: str
    accounts: Accounts
    reviews: Reviews

    def client(self, token: str | None = None, **headers: str) -> httpx.Client:
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def user(
        self, role: Role, *, signoff: tuple[str, ...] = (), services: tuple[str, ...] = ("*",)
    ) -> tuple[str, str]:
        """A new user of ``role`` and a token for it: (name, token)."""
        name = f"{role.value}-{next(_names)}@example.org"
        self.accounts.create_user(name, role=role, password=PASSWORD, signoff_roles=signoff)
        _, token = self.accounts.create_token(name, services=list(services))
        return name, token


@pytest.fixture(scope="session")
def server_pg_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def _database(kind: str, request: pytest.FixtureRequest, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'prr.db'}"
    base: str = request.getfixturevalue("server_pg_url")
    name = f"prr_server_{next(_names)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + f"/{name}"


SETTINGS = ServerSettings(
    session_secret="test-secret-" + "x" * 32,
    auth_burst=8,
    auth_per_minute=1.0,
    page_limit=50,
    hash_time_cost=1,  # cheap hashes keep the suite fast; production keeps argon2's defaults
    hash_memory_kib=1024,
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def running(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    store_url = _database(request.param, request, tmp_path_factory.mktemp("server"))
    app = create_app(store_url, SETTINGS)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    yield Running(f"http://127.0.0.1:{port}", store_url, app.state.accounts, app.state.reviews)
    server.should_exit = True
    thread.join(timeout=20)
