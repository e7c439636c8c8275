"""The server's web pages (Jinja2, no script): scoreboard, services, reviews, checklists.

:func:`install` adds them to the app: their routers, the stylesheet, the login
redirect, and HTML error pages for browser routes (the API keeps JSON errors).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from prr.server.pages import account, board, library, reviews, services
from prr.server.pages.common import LoginRequired, render

STATIC = Path(__file__).resolve().parent.parent / "static"
API_PREFIXES = ("/api/", "/healthz", "/readyz", "/metrics")


def install(app: FastAPI) -> None:
    """Add the pages, their static files and their error handling to ``app``."""
    from urllib.parse import quote

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (account, board, library, services, reviews):
        app.include_router(module.router)

    @app.exception_handler(LoginRequired)
    async def _login(_request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith(API_PREFIXES) or "text/html" not in request.headers.get(
            "accept", ""
        ):
            return await http_exception_handler(request, exc)
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "detail": exc.detail},
            user=None,
            status=exc.status_code,
            headers=getattr(exc, "headers", None),
        )


__all__ = ["install"]
