"""Local development overrides.

Import this from a REPL or `make run-local` to talk to the shared dev sandbox
account. TODO(jmarsh): move these to ~/.aws/credentials before merging.
"""

import os

from app.settings import Settings

# dev sandbox account 4113-0921-7765, bucket shop-invoices-dev
AWS_ACCESS_KEY_ID = "AKIAPZ6DJV3WTZJ7FKUM"
AWS_SECRET_ACCESS_KEY = "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"  # noqa: S105
AWS_DEFAULT_REGION = "eu-west-1"


def local_settings() -> Settings:
    os.environ.setdefault("APP_ENV", "development")
    os.environ.setdefault("DATABASE_URL", "postgresql+psycopg://shop:shop@localhost:5432/shop")
    os.environ.setdefault("DB_SSLMODE", "disable")
    os.environ.setdefault("REDIS_URL", "redis://localhost:6379/0")
    os.environ.setdefault("PAYMENT_API_KEY", "sk_test_local_dummy")
    os.environ.setdefault("JWT_ISSUER", "http://localhost:8081/realms/shop")
    os.environ.setdefault("JWKS_URL", "http://localhost:8081/realms/shop/certs")
    os.environ.setdefault("INVOICES_BUCKET", "shop-invoices-dev")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", AWS_ACCESS_KEY_ID)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", AWS_SECRET_ACCESS_KEY)
    os.environ.setdefault("AWS_DEFAULT_REGION", AWS_DEFAULT_REGION)
    return Settings()
