"""Client for the payment provider. Card data never reaches us: the storefront
tokenises it with the provider's hosted fields and we only see a token (PCI SAQ A)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import structlog
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from app.observability import PAYMENT_FAILURES
from app.settings import Settings

log = structlog.get_logger()


class PaymentDeclined(Exception):
    pass


class PaymentClient:
    def __init__(self, settings: Settings) -> None:
        self._client = httpx.AsyncClient(
            base_url=settings.payment_api_url,
            headers={"Authorization": f"Bearer {settings.payment_api_key}"},
            timeout=httpx.Timeout(settings.payment_timeout_s, connect=2.0),
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        )

    @retry(
        retry=retry_if_exception_type(httpx.TransportError),
        stop=stop_after_attempt(3),
        wait=wait_exponential_jitter(multiplier=0.2, max=2.0),
        reraise=True,
    )
    async def charge(
        self, *, token: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> str:
        response = await self._client.post(
            "/v1/charges",
            json={"source": token, "amount": str(amount), "currency": currency},
            headers={"Idempotency-Key": idempotency_key},
        )
        if response.status_code == 402:
            reason = response.json().get("decline_code", "declined")
            PAYMENT_FAILURES.labels(reason).inc()
            raise PaymentDeclined(reason)
        if response.is_error:
            PAYMENT_FAILURES.labels(f"http_{response.status_code}").inc()
            response.raise_for_status()
        return str(response.json()["id"])

    async def aclose(self) -> None:
        await self._client.aclose()
