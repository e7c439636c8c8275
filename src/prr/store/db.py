"""Open the store: a SQLite file by default, PostgreSQL by URL; migrate on first use.

``PRR_DATABASE_URL`` (or ``--database``) names the database; without it the
store is ``.prr/prr.db`` beside ``prr.yaml``. Migrations are Alembic's, run on
the real metadata, and apply automatically when the store is opened.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from prr.errors import PrrError
from prr.store import users as _users  # noqa: F401  (the account tables belong to the store's schema)

DATABASE_ENV = "PRR_DATABASE_URL"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreError(PrrError):
    """The store could not be opened, migrated or written."""


def default_url(root: Path) -> str:
    """``PRR_DATABASE_URL`` or the SQLite file ``ROOT/.prr/prr.db``."""
    url = os.environ.get(DATABASE_ENV)
    if url:
        return url
    folder = root.resolve() / ".prr"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'prr.db'}"


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _normalise(url: str) -> str:
    # psycopg 3 is the driver; plain postgresql:// URLs would ask for psycopg2.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Store:
    """A connection pool to the store and a session factory."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = _normalise(url)
        self.engine: Engine = create_engine(self.url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            self.upgrade()

    def upgrade(self) -> None:
        """Apply every pending migration."""
        try:
            with self.engine.begin() as connection:
                config = _config(self.url)
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except Exception as exc:
            raise StoreError(
                f"cannot migrate the store: {type(exc).__name__}: {_safe(exc)}"
            ) from None

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @staticmethod
    def head_revision() -> str | None:
        return ScriptDirectory.from_config(_config("sqlite://")).get_current_head()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together or not at all."""
        session = self.sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(connection: object, _record: object) -> None:
    # SQLAlchemy issues BEGIN itself (see _sqlite_begin), not the sqlite3 module.
    connection.isolation_level = None  # type: ignore[attr-defined]
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # Take the write lock when the transaction starts: two writers then queue
    # (busy_timeout) instead of both reading, both writing, and one failing.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _safe(exc: Exception) -> str:
    """An exception's message without a database URL's password."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    import re

    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)[:300]


def open_store(root: Path | None = None, url: str | None = None) -> Store:
    """Open (and migrate) the store for a repository root or an explicit URL."""
    return Store(url or default_url(root or Path.cwd()))
