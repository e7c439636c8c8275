"""Web sessions: signing out ends the session for every copy of its cookie."""

from __future__ import annotations

import httpx

from prr.server import auth
from prr.store.users import Role
from tests.server.conftest import PASSWORD, Running
from tests.server.pages_helpers import login

HTML = {"accept": "text/html"}


def test_signing_out_refuses_a_copied_cookie(running: Running) -> None:
    name, _ = running.user(Role.VIEWER)
    with httpx.Client(base_url=running.url, headers=HTML, timeout=30) as browser:
        csrf = login(browser, name, PASSWORD)
        stolen = browser.cookies.get(auth.SESSION_COOKIE)
        assert stolen and browser.get("/").status_code == 200
        out = browser.post("/logout", data={auth.CSRF_FIELD: csrf})
        assert out.status_code == 303 and out.headers["location"] == "/login"
    with httpx.Client(base_url=running.url, headers=HTML, timeout=30) as thief:
        thief.cookies.set(auth.SESSION_COOKIE, stolen)
        refused = thief.get("/")
        assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
    with httpx.Client(base_url=running.url, headers=HTML, timeout=30) as again:
        login(again, name, PASSWORD)  # a new session right after signing out works
        assert again.get("/").status_code == 200


def test_logout_needs_the_csrf_token(running: Running) -> None:
    name, _ = running.user(Role.VIEWER)
    with httpx.Client(base_url=running.url, headers=HTML, timeout=30) as browser:
        login(browser, name, PASSWORD)
        assert browser.post("/logout", data={}).status_code == 403
        assert browser.get("/").status_code == 200  # still signed in
