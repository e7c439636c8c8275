"""Runtime configuration, read from environment variables only.

Secrets (DATABASE_URL, REDIS_URL, PAYMENT_API_KEY, JWT settings) are injected
by the ExternalSecret in deploy/k8s/base/externalsecret.yaml from AWS Secrets
Manager. Nothing secret has a default here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise RuntimeError(f"missing required environment variable {name}")
    return value


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, str(default)))


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "true" if default else "false").lower() in {"1", "true", "yes"}


@dataclass(frozen=True)
class Settings:
    environment: str = field(default_factory=lambda: _env("APP_ENV", "development"))
    log_level: str = field(default_factory=lambda: _env("LOG_LEVEL", "INFO"))

    # PostgreSQL pool per worker process: (10 + 5 overflow) x 4 workers x 12 pods (HPA max)
    # = 720 connections worst case, below max_connections = 800 (infra/terraform).
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL"))
    db_pool_size: int = field(default_factory=lambda: _env_int("DB_POOL_SIZE", 10))
    db_max_overflow: int = field(default_factory=lambda: _env_int("DB_MAX_OVERFLOW", 5))
    db_pool_timeout_s: float = field(default_factory=lambda: _env_float("DB_POOL_TIMEOUT_S", 5.0))
    db_sslmode: str = field(default_factory=lambda: _env("DB_SSLMODE", "require"))
    db_statement_timeout_ms: int = field(
        default_factory=lambda: _env_int("DB_STATEMENT_TIMEOUT_MS", 3000)
    )

    # Redis (cache + idempotency keys)
    redis_url: str = field(default_factory=lambda: _env("REDIS_URL"))
    redis_socket_timeout_s: float = field(
        default_factory=lambda: _env_float("REDIS_SOCKET_TIMEOUT_S", 0.25)
    )
    cache_ttl_s: int = field(default_factory=lambda: _env_int("CACHE_TTL_S", 300))

    # Payment provider
    payment_api_url: str = field(
        default_factory=lambda: _env("PAYMENT_API_URL", "https://api.payments.example.net")
    )
    payment_api_key: str = field(default_factory=lambda: _env("PAYMENT_API_KEY"))
    payment_timeout_s: float = field(default_factory=lambda: _env_float("PAYMENT_TIMEOUT_S", 8.0))

    # Authentication: JWTs issued by the Cognito user pool (infra/terraform/main.tf)
    jwt_issuer: str = field(default_factory=lambda: _env("JWT_ISSUER"))
    jwt_audience: str = field(default_factory=lambda: _env("JWT_AUDIENCE", "shop-api"))
    jwks_url: str = field(default_factory=lambda: _env("JWKS_URL"))

    # S3 bucket holding generated invoice PDFs
    invoices_bucket: str = field(default_factory=lambda: _env("INVOICES_BUCKET"))

    cors_allowed_origins: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            o.strip()
            for o in _env("CORS_ALLOWED_ORIGINS", "https://shop.example.com").split(",")
            if o.strip()
        )
    )

    # OpenTelemetry
    otlp_endpoint: str = field(
        default_factory=lambda: _env(
            "OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector.observability:4317"
        )
    )
    trace_sample_ratio: float = field(
        default_factory=lambda: _env_float("OTEL_TRACES_SAMPLER_ARG", 0.1)
    )

    # Feature flags for risky changes; flipped per environment without a deploy
    feature_new_tax_engine: bool = field(
        default_factory=lambda: _env_bool("FEATURE_NEW_TAX_ENGINE", False)
    )
    feature_split_payments: bool = field(
        default_factory=lambda: _env_bool("FEATURE_SPLIT_PAYMENTS", False)
    )


def get_settings() -> Settings:
    return Settings()
