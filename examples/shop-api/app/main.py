"""shop-api HTTP application."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import structlog
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, status
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app import __version__
from app.auth import Principal, ensure_owner, require_scope
from app.cache import Cache
from app.db import make_engine, make_sessionmaker
from app.models import Order, OrderLine
from app.observability import (
    ORDER_VALUE,
    ORDERS_PLACED,
    MetricsMiddleware,
    configure_logging,
    configure_tracing,
)
from app.payments import PaymentClient, PaymentDeclined
from app.schemas import OrderCreate, OrderOut, OrderPage
from app.settings import get_settings

log = structlog.get_logger()
settings = get_settings()
configure_logging(settings)
engine = make_engine(settings)
Session = make_sessionmaker(engine)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.cache = Cache(settings)
    app.state.payments = PaymentClient(settings)
    log.info("startup", version=__version__, environment=settings.environment)
    yield
    # Graceful shutdown: the pod gets SIGTERM after the preStop sleep has drained traffic.
    await app.state.payments.aclose()
    await engine.dispose()
    log.info("shutdown")


app = FastAPI(
    title="shop-api",
    version=__version__,
    lifespan=lifespan,
    docs_url=None if settings.environment == "production" else "/docs",
    redoc_url=None,
)
app.add_middleware(MetricsMiddleware)
app.add_middleware(
    CORSMiddleware,
    allow_origins=list(settings.cors_allowed_origins),  # explicit list, never "*"
    allow_credentials=False,
    allow_methods=["GET", "POST", "DELETE"],
    allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
    max_age=600,
)
configure_tracing(app, settings, engine)

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@app.middleware("http")
async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


async def get_session() -> AsyncIterator[AsyncSession]:
    async with Session() as session:
        yield session


# --- Health -----------------------------------------------------------------


@app.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    """Liveness: the process is up and the event loop answers. No dependencies."""
    return {"status": "ok"}


@app.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    """Readiness: PostgreSQL answers. Redis is optional (degraded, still ready)."""
    checks: dict[str, str] = {}
    try:
        async with Session() as session:
            await session.execute(text("SELECT 1"))
        checks["postgres"] = "ok"
    except Exception as exc:  # noqa: BLE001
        log.warning("readyz.postgres_failed", error=str(exc))
        checks["postgres"] = "failed"
    checks["redis"] = "ok" if await request.app.state.cache.ping() else "degraded"
    ready = checks["postgres"] == "ok"
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@app.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    # Not routed by the ingress (see deploy/k8s/base/ingress.yaml); scraped in-cluster.
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


# --- Orders -----------------------------------------------------------------


def _encode_cursor(created_at: dt.datetime, order_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{order_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        created, oid = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return dt.datetime.fromisoformat(created), uuid.UUID(oid)
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "invalid cursor") from exc


@app.get("/orders", response_model=OrderPage)
async def list_orders(
    limit: int = Query(20, ge=1, le=100),
    cursor: str | None = Query(None, max_length=200),
    principal: Principal = Depends(require_scope("orders:read")),
    session: AsyncSession = Depends(get_session),
) -> OrderPage:
    """The caller's orders, newest first, keyset-paginated (index ix_orders_customer_created)."""
    query = (
        select(Order)
        .where(Order.customer_id == principal.subject)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        created_at, order_id = _decode_cursor(cursor)
        query = query.where(tuple_(Order.created_at, Order.id) < tuple_(created_at, order_id))
    rows = list((await session.scalars(query)).all())
    next_cursor = (
        _encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id)
        if len(rows) > limit
        else None
    )
    return OrderPage(
        items=[OrderOut.model_validate(o, from_attributes=True) for o in rows[:limit]],
        next_cursor=next_cursor,
    )


@app.get("/orders/{order_id}", response_model=OrderOut)
async def get_order(
    order_id: uuid.UUID,
    principal: Principal = Depends(require_scope("orders:read")),
    session: AsyncSession = Depends(get_session),
) -> OrderOut:
    order = await session.get(Order, order_id)
    if order is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "order not found")
    ensure_owner(principal, order.customer_id)
    return OrderOut.model_validate(order, from_attributes=True)


@app.post("/orders", response_model=OrderOut, status_code=status.HTTP_201_CREATED)
async def place_order(
    body: OrderCreate,
    request: Request,
    idempotency_key: str = Header(..., alias="Idempotency-Key", min_length=16, max_length=64),
    principal: Principal = Depends(require_scope("orders:write")),
    session: AsyncSession = Depends(get_session),
) -> OrderOut:
    cache: Cache = request.app.state.cache
    if not await cache.claim_idempotency_key(idempotency_key):
        raise HTTPException(status.HTTP_409_CONFLICT, "duplicate request")

    prices: dict[str, Decimal] = {}
    for line in body.lines:
        product = await cache.get_json(f"product:{line.sku}")
        if product is None:
            row = (
                (
                    await session.execute(
                        text("SELECT sku, price FROM products WHERE sku = :sku AND active"),
                        {"sku": line.sku},  # bound parameter, never string formatting
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"unknown sku {line.sku}")
            product = {"sku": row["sku"], "price": str(row["price"])}
            await cache.set_json(f"product:{line.sku}", product)
        prices[line.sku] = Decimal(product["price"])

    total = sum((prices[line.sku] * line.quantity for line in body.lines), Decimal("0"))
    try:
        payment_ref = await request.app.state.payments.charge(
            token=body.payment_token,
            amount=total,
            currency=body.currency,
            idempotency_key=idempotency_key,
        )
    except PaymentDeclined as exc:
        raise HTTPException(status.HTTP_402_PAYMENT_REQUIRED, f"payment declined: {exc}") from exc

    order = Order(
        customer_id=principal.subject,
        status="paid",
        currency=body.currency,
        total=total,
        idempotency_key=idempotency_key,
        payment_reference=payment_ref,
        shipping_address=body.shipping_address.model_dump(),
        lines=[
            OrderLine(sku=ln.sku, quantity=ln.quantity, unit_price=prices[ln.sku])
            for ln in body.lines
        ],
    )
    session.add(order)
    await session.commit()
    ORDERS_PLACED.labels(body.payment_method.value, body.currency).inc()
    ORDER_VALUE.observe(float(total))
    log.info("order.placed", order_id=str(order.id), total=str(total), currency=body.currency)
    # Invoice PDFs are rendered asynchronously by the invoice worker (consumes this queue)
    # and uploaded to S3; the API never builds large files in the request path.
    await cache._redis.lpush("invoices:pending", str(order.id))  # noqa: SLF001
    return OrderOut.model_validate(order, from_attributes=True)


@app.delete("/customers/me/data", status_code=status.HTTP_202_ACCEPTED)
async def erase_my_data(
    principal: Principal = Depends(require_scope("account:delete")),
    session: AsyncSession = Depends(get_session),
) -> dict[str, str]:
    """GDPR Art. 17: anonymise the caller's orders (kept 10 years for tax law, without PII)."""
    await session.execute(
        text(
            "UPDATE orders SET shipping_address = '{}'::jsonb,"
            " customer_id = 'erased:' || md5(customer_id)"
            " WHERE customer_id = :cid"
        ),
        {"cid": principal.subject},
    )
    await session.commit()
    log.info("customer.erased", customer=principal.subject)
    return {"status": "accepted"}


# --- Admin ------------------------------------------------------------------


@app.post("/admin/reindex", status_code=status.HTTP_202_ACCEPTED)
async def admin_reindex(session: AsyncSession = Depends(get_session)) -> dict[str, str]:
    # Called by the nightly reindex CronJob from inside the cluster, so no auth here.
    # FIXME: the public ingress routes "/" to this service, so this is reachable from outside.
    await session.execute(text("REINDEX TABLE CONCURRENTLY orders"))
    return {"status": "started"}


@app.exception_handler(Exception)
async def unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("request.failed", path=request.url.path)
    return JSONResponse({"detail": "internal error"}, status_code=500)
