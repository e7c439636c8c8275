"""Test fixtures: a real PostgreSQL and Redis from docker-compose (make test-up)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("APP_ENV", "test")
os.environ.setdefault("DATABASE_URL", "postgresql+psycopg://shop:shop@localhost:5432/shop_test")
os.environ.setdefault("DB_SSLMODE", "disable")
os.environ.setdefault("REDIS_URL", "redis://localhost:6379/15")
os.environ.setdefault("PAYMENT_API_URL", "https://payments.test")
os.environ.setdefault("PAYMENT_API_KEY", "test-key-not-secret")
os.environ.setdefault("JWT_ISSUER", "https://issuer.test")
os.environ.setdefault("JWKS_URL", "https://issuer.test/.well-known/jwks.json")
os.environ.setdefault("INVOICES_BUCKET", "shop-invoices-test")
os.environ.setdefault("OTEL_TRACES_SAMPLER_ARG", "0")


@pytest.fixture(scope="session", autouse=True)
def catalogue():
    """Products the tests order; the schema comes from `alembic upgrade head` (run by CI first)."""
    import psycopg

    url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO products (sku, name, price) VALUES ('MUG-BLUE-350', 'Blue mug', 12.50) "
            "ON CONFLICT (sku) DO NOTHING"
        )


@pytest.fixture
def client():
    from fastapi.testclient import TestClient

    from app.main import app

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def customer_token(monkeypatch):
    """Bypass JWKS: the principal is injected through FastAPI's dependency overrides."""
    from app.auth import Principal, current_principal
    from app.main import app

    principal = Principal(
        subject="cust-123", scopes=frozenset({"orders:read", "orders:write"}), roles=frozenset()
    )
    app.dependency_overrides[current_principal] = lambda: principal
    yield principal
    app.dependency_overrides.clear()
