"""Metrics, tracing and structured logging, set up once at start-up."""

from __future__ import annotations

import logging
import sys
import time

import structlog
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from prometheus_client import Counter, Gauge, Histogram
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response
from structlog.typing import EventDict, WrappedLogger

from app import __version__
from app.settings import Settings

# --- Prometheus metrics -----------------------------------------------------

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests served, by route template, method and status code.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency in seconds, by route template and method.",
    ["route", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_FLIGHT = Gauge("http_requests_in_flight", "HTTP requests currently being served.")

# Business metrics
ORDERS_PLACED = Counter(
    "orders_placed_total",
    "Orders successfully placed, by payment method and currency.",
    ["payment_method", "currency"],
)
ORDER_VALUE = Histogram(
    "order_value_eur",
    "Order value in EUR.",
    buckets=(5, 10, 25, 50, 100, 250, 500, 1000, 2500),
)
PAYMENT_FAILURES = Counter(
    "payment_failures_total",
    "Payment attempts rejected or failed, by reason.",
    ["reason"],
)
CACHE_REQUESTS = Counter("cache_requests_total", "Cache lookups by result.", ["result"])


class MetricsMiddleware(BaseHTTPMiddleware):
    """Counts and times every request under its route template (not the raw path)."""

    async def dispatch(self, request: Request, call_next) -> Response:  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        IN_FLIGHT.inc()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            IN_FLIGHT.dec()
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(template, request.method, str(status)).inc()
            HTTP_LATENCY.labels(template, request.method).observe(time.perf_counter() - start)


# --- Logging ----------------------------------------------------------------


def configure_logging(settings: Settings) -> None:
    """JSON logs on stdout; Fluent Bit ships them to Loki (see docs/architecture.md)."""
    logging.basicConfig(stream=sys.stdout, level=settings.log_level, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_trace_context,
            _redact,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelName(settings.log_level)
        ),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


_REDACTED_KEYS = {"password", "authorization", "card_number", "cvc", "email", "phone", "token"}


def _redact(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """Never log credentials or customer PII."""
    for key in list(event):
        if key.lower() in _REDACTED_KEYS:
            event[key] = "[redacted]"
    return event


def _add_trace_context(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        event["trace_id"] = format(span.trace_id, "032x")
        event["span_id"] = format(span.span_id, "016x")
    return event


# --- Tracing ----------------------------------------------------------------


def configure_tracing(app, settings: Settings, engine) -> None:  # type: ignore[no-untyped-def]
    resource = Resource.create(
        {
            SERVICE_NAME: "shop-api",
            SERVICE_VERSION: __version__,
            "deployment.environment": settings.environment,
        }
    )
    provider = TracerProvider(
        resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio))
    )
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint))
    )
    trace.set_tracer_provider(provider)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine)
    RedisInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()
