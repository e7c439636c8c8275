"""The FastAPI application: API routes, health, metrics, logs, security headers, errors.

``create_app(store_url)`` opens (and migrates) the store and wires everything;
the store is closed when the app shuts down. One JSON log line per request
(method, route template, status, duration, user) — never a token or password.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from prr.errors import FieldValueError, PrrError, ReviewStateError, UnknownItemError
from prr.server import auth
from prr.server.settings import ServerSettings

ACCESS_LOG = "prr.server.access"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: the record's dict message plus time and level."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if isinstance(record.msg, dict):
            entry |= record.msg
        else:
            entry["msg"] = record.getMessage()
        return json.dumps(entry, default=str)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 before anything parses them.

    A declared Content-Length over the limit is refused without reading the body;
    a chunked body is counted as it arrives and refused once it passes the limit.
    The app gets the body only when it is complete and within the limit, so no
    handler ever starts on a body that turns out too large.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                pending = [message]
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
                break

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"request body too large: at most {self.max_bytes} bytes are accepted"
        await _error(413, detail)(scope, receive, send)


def _json_logger(name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def _access_logger() -> logging.Logger:
    return _json_logger(ACCESS_LOG)


def _error(status: int, detail: Any, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


def create_app(store_url: str | None = None, settings: ServerSettings | None = None) -> FastAPI:
    """The server over the store at ``store_url`` (default: PRR_DATABASE_URL, else ./.prr)."""
    from prr.review.policy import load_policy
    from prr.review.reviews import ApprovalRefused, ReviewConflict, Reviews
    from prr.server.api import router
    from prr.server.metrics import CONTENT_TYPE, Metrics
    from prr.server.pages import install as install_pages
    from prr.store.db import open_store
    from prr.store.users import Accounts

    settings = settings or ServerSettings.from_env()
    store = open_store(url=store_url)
    policy = load_policy(Path(settings.policy_file) if settings.policy_file else None)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(
        title="prr",
        summary="Production readiness reviews: scans, services, reviews, sign-offs.",
        version=_version(),
        docs_url=None,  # the Swagger/ReDoc pages load third-party script; the CSP forbids it
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.reviews = Reviews(store, policy)
    app.state.accounts = Accounts(
        store,
        max_failures=settings.max_failed_logins,
        lockout=_seconds(settings.lockout_s),
        hash_time_cost=settings.hash_time_cost,
        hash_memory_kib=settings.hash_memory_kib,
    )
    app.state.auth_limiter = auth.RateLimiter(settings.auth_burst, settings.auth_per_minute)
    metrics = Metrics(store)
    app.state.metrics = metrics
    access = _access_logger()
    errors = _json_logger("prr.server.errors")
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)  # inside observe: logged

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception as exc:
            errors.error({"msg": "unhandled error", "error": type(exc).__name__})
            response = _error(500, "internal error")
        auth.security_headers(request, response)
        route = request.scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        duration = time.perf_counter() - started
        metrics.observe(request.method, template, response.status_code, duration)
        access.info(
            {
                "msg": "request",
                "method": request.method,
                "route": template,
                "status": response.status_code,
                "duration_ms": round(duration * 1000, 2),
                "user": getattr(request.state, "user", None),
                "client": auth.client_ip(request),
            }
        )
        return response

    @app.exception_handler(ApprovalRefused)
    async def _refused(_r: Request, exc: ApprovalRefused) -> JSONResponse:
        return _error(409, str(exc), blockers=exc.blockers)

    @app.exception_handler(ReviewConflict)
    async def _conflict(_r: Request, exc: ReviewConflict) -> JSONResponse:
        return _error(409, str(exc), retryable=True)

    @app.exception_handler(ReviewStateError)
    async def _state(_r: Request, exc: ReviewStateError) -> JSONResponse:
        return _error(409, str(exc))

    @app.exception_handler(FieldValueError)
    @app.exception_handler(UnknownItemError)
    async def _unprocessable(_r: Request, exc: PrrError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_r: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()[:20]
        ]
        return _error(422, problems)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        """Readiness: the database answers."""
        try:
            with store.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:
            return _error(503, "database unavailable", error=type(exc).__name__)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    @app.get(
        "/api/v1/openapi.json",
        include_in_schema=False,
        dependencies=[Depends(auth.current_principal)],
    )
    def openapi() -> dict[str, Any]:
        return app.openapi()

    app.include_router(router)
    install_pages(app)
    return app


def _seconds(value: int) -> Any:
    import datetime as dt

    return dt.timedelta(seconds=value)


def _version() -> str:
    from prr._version import __version__

    return __version__
