"""Read-through cache for the product catalogue and idempotency keys in Redis.

Strategy: product prices and stock snapshots are cached for CACHE_TTL_S
(default 5 minutes) and invalidated by the catalogue service's
`product.updated` events. Orders are never cached. The cache is warmed on
start-up with the 500 best-selling products (see warm()). If Redis is down
the API keeps working against PostgreSQL, only slower.
"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as redis
import structlog

from app.observability import CACHE_REQUESTS
from app.settings import Settings

log = structlog.get_logger()


class Cache:
    def __init__(self, settings: Settings) -> None:
        self._ttl = settings.cache_ttl_s
        self._redis = redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_socket_timeout_s,
            socket_connect_timeout=settings.redis_socket_timeout_s,
            health_check_interval=30,
            decode_responses=True,
        )

    async def get_json(self, key: str) -> Any | None:
        try:
            raw = await self._redis.get(key)
        except redis.RedisError as exc:
            CACHE_REQUESTS.labels("error").inc()
            log.warning("cache.get_failed", key=key, error=str(exc))
            return None
        CACHE_REQUESTS.labels("hit" if raw is not None else "miss").inc()
        return json.loads(raw) if raw is not None else None

    async def set_json(self, key: str, value: Any, ttl: int | None = None) -> None:
        try:
            await self._redis.set(key, json.dumps(value), ex=ttl or self._ttl)
        except redis.RedisError as exc:
            log.warning("cache.set_failed", key=key, error=str(exc))

    async def claim_idempotency_key(self, key: str) -> bool:
        """True if this is the first request with this Idempotency-Key (kept 24 h)."""
        try:
            return bool(await self._redis.set(f"idem:{key}", "1", nx=True, ex=86400))
        except redis.RedisError:
            # Fail open: the unique constraint on orders.idempotency_key still protects us.
            return True

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except redis.RedisError:
            return False

    async def warm(self, products: list[dict[str, Any]]) -> None:
        for product in products:
            await self.set_json(f"product:{product['sku']}", product)
        log.info("cache.warmed", products=len(products))
