"""Signing in and out of the web pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from prr.server import auth
from prr.server.pages.common import (
    LOGIN_CSRF_COOKIE,
    PageUser,
    form_of,
    new_login_csrf,
    page_user,
    redirect,
    render,
    safe_next,
)
from prr.store.users import AccountError, Accounts, LockedOut

router = APIRouter(include_in_schema=False)


def _login_page(
    request: Request,
    next_path: str,
    *,
    error: str | None = None,
    status: int = 200,
    name: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    token = new_login_csrf()
    response = render(
        request,
        "login.html",
        {"next": safe_next(next_path), "error": error, "name": name, "login_csrf": token},
        user=None,
        status=status,
        headers=headers,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        path="/login",
        secure=auth.over_tls(request),
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, next)


@router.post("/login")
async def login(request: Request) -> Response:
    fields = await form_of(request)
    name, password = fields.get("name", "").strip(), fields.get("password", "")
    next_path = safe_next(fields.get("next"))
    if not name or not password:
        return _login_page(
            request, next_path, error="Enter your name and password.", status=400, name=name
        )
    try:
        auth.limit(request, name)
    except HTTPException as exc:
        return _login_page(
            request,
            next_path,
            error="Too many attempts; wait a minute and retry.",
            status=429,
            name=name,
            headers=dict(exc.headers or {}),
        )
    accounts: Accounts = request.app.state.accounts
    try:
        principal = accounts.login(name, password)
    except LockedOut as exc:
        return _login_page(
            request,
            next_path,
            name=name,
            status=423,
            error="This account is locked after repeated failed logins; try again later.",
            headers={"Retry-After": str(exc.retry_after)},
        )
    except AccountError:
        return _login_page(
            request, next_path, error="Wrong name or password.", status=401, name=name
        )
    settings = request.app.state.settings
    cookie, _session = auth.issue_session(principal.name, settings.session_secret)
    response = redirect(request, next_path)
    auth.set_session_cookie(response, request, cookie, settings.session_timeout_s)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    request.state.user = principal.name
    return response


@router.post("/logout")
async def logout(request: Request, user: Annotated[PageUser, Depends(page_user)]) -> Response:
    await form_of(request, user)
    accounts: Accounts = request.app.state.accounts
    accounts.end_sessions(user.name)  # a copy of the cookie stops working too
    response = redirect(request, "/login", "Signed out.")
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response
