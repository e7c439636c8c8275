"""The store's migrations match the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from prr.store.db import Store, StoreError
from prr.store.schema import Base


def test_migrations_create_exactly_the_models(store: Store) -> None:
    assert store.current_revision() == Store.head_revision()
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_reopening_is_idempotent(store_url: str) -> None:
    for _ in range(2):
        opened = Store(store_url)
        assert opened.current_revision() == Store.head_revision()
        opened.close()


def test_bad_url_is_a_clear_error_without_password() -> None:
    try:
        Store("postgresql://app:hunter2@127.0.0.1:1/db")
    except StoreError as exc:
        assert "hunter2" not in str(exc)
        assert "cannot migrate the store" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected StoreError")
