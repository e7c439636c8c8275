"""What every page shares: templates, the signed-in user, CSRF checks and notices.

Pages authenticate with the signed session cookie of :mod:`prr.server.auth`
(never a bearer token), and every form POST carries the session's CSRF token.
A notice for the next page (``Answer saved``) travels in a short signed cookie,
so a URL can never make the app display text of an attacker's choosing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from prr.server import auth
from prr.store.users import AccountError, Accounts, Principal, Role

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
NOTICE_COOKIE = "prr_notice"
LOGIN_CSRF_COOKIE = "prr_login_csrf"
STALE_AFTER = dt.timedelta(days=30)


class LoginRequired(Exception):
    """The page needs a signed-in user; the handler redirects to the login page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path
        super().__init__(next_path)


@dataclass(frozen=True)
class PageUser:
    """The signed-in user of a page request."""

    principal: Principal
    session: auth.SessionData

    @property
    def name(self) -> str:
        return self.principal.name

    @property
    def csrf(self) -> str:
        return self.session.csrf

    def can(self, role: str) -> bool:
        return self.principal.role.at_least(Role(role))


def page_user(request: Request) -> PageUser:
    """The user of the session cookie; :class:`LoginRequired` without a valid session."""
    settings = request.app.state.settings
    session = auth.read_session(
        request.cookies.get(auth.SESSION_COOKIE),
        settings.session_secret,
        timeout_s=settings.session_timeout_s,
    )
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if session is None:
        raise LoginRequired(target)
    accounts: Accounts = request.app.state.accounts
    try:
        principal = accounts.principal(session.user)
    except AccountError:
        raise LoginRequired(target) from None
    if principal.sessions_after is not None and session.issued_at <= principal.sessions_after:
        raise LoginRequired(target)  # signed out since this session began
    request.state.user = principal.name
    return PageUser(principal, session)


def require(user: PageUser, role: Role) -> None:
    """403 unless the user holds ``role`` (or a higher one)."""
    if not user.principal.role.at_least(role):
        raise HTTPException(
            403, f"this needs the {role.value} role; you are {user.principal.role.value}"
        )


async def form_of(request: Request, user: PageUser | None = None) -> dict[str, str]:
    """The posted form's text fields, after checking its CSRF token (403 when wrong)."""
    data = await request.form()
    fields = {k: v for k, v in data.items() if isinstance(v, str)}
    submitted = fields.pop(auth.CSRF_FIELD, None)
    if user is not None:
        ok = auth.csrf_ok(user.session, "POST", submitted)
    else:  # before login: the double-submit cookie set by the login page
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        ok = bool(cookie and submitted) and hmac.compare_digest(cookie, submitted or "")
    if not ok:
        raise HTTPException(
            403, "the form's security token is missing or out of date; reload the page and retry"
        )
    return fields


# -- notices -----------------------------------------------------------------------------
def _sign(text: str, secret: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()[:32]


def redirect(request: Request, url: str, notice: str | None = None, kind: str = "ok") -> Response:
    """A 303 to ``url`` (same site only) carrying an optional notice for the next page."""
    response = RedirectResponse(safe_next(url), status_code=303)
    if notice:
        body = json.dumps([kind, notice[:500]])
        value = quote(body, safe="") + "." + _sign(body, request.app.state.settings.session_secret)
        response.set_cookie(
            NOTICE_COOKIE, value, max_age=60, httponly=True, samesite="strict", path="/"
        )
    return response


def _notice(request: Request) -> tuple[str, str] | None:
    from urllib.parse import unquote

    raw = request.cookies.get(NOTICE_COOKIE)
    if not raw or "." not in raw:
        return None
    quoted, signature = raw.rsplit(".", 1)
    body = unquote(quoted)
    if not hmac.compare_digest(signature, _sign(body, request.app.state.settings.session_secret)):
        return None
    try:
        kind, text = json.loads(body)
    except (ValueError, TypeError):
        return None
    return str(kind), str(text)


def safe_next(target: str | None) -> str:
    """Only same-site paths: ``/x`` yes, ``//evil``, ``https://…`` and ``/\\evil`` no."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


# -- rendering ---------------------------------------------------------------------------
def ago(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """``3 days ago``: how long since a moment, for people."""
    if value is None:
        return "never"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    seconds = int(((now or dt.datetime.now(dt.UTC)) - value).total_seconds())
    if seconds < 60:
        return "just now"
    for size, unit in (
        (86400 * 365, "year"),
        (86400 * 30, "month"),
        (86400 * 7, "week"),
        (86400, "day"),
        (3600, "hour"),
        (60, "minute"),
    ):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"  # pragma: no cover - the loop always returns for seconds >= 60


def stale(value: dt.datetime | None) -> bool:
    if value is None:
        return True
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC) - value > STALE_AFTER


def percent(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)}%"


def slug(value: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in value.lower()).strip("-")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(ago=ago, percent=percent, slug=slug, stale=stale)
    env.globals["csrf_field"] = auth.CSRF_FIELD
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    user: PageUser | None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``template`` with the user, CSRF token and any pending notice."""
    notice = _notice(request)
    html = (
        environment()
        .get_template(template)
        .render(request_path=request.url.path, user=user, notice=notice, **context)
    )
    response = HTMLResponse(html, status_code=status, headers=headers)
    if notice:
        response.delete_cookie(NOTICE_COOKIE, path="/")
    return response


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


__all__ = [
    "LoginRequired",
    "PageUser",
    "ago",
    "environment",
    "form_of",
    "page_user",
    "percent",
    "redirect",
    "render",
    "require",
    "safe_next",
]
