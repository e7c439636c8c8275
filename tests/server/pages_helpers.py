"""Signing in to the web pages from a test, as a browser does."""

from __future__ import annotations

import re

import httpx

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def login(client: httpx.Client, name: str, password: str) -> str:
    """Sign in through the login form; returns the session's CSRF token for later forms."""
    page = client.get("/login")
    match = _TOKEN.search(page.text)
    assert page.status_code == 200 and match, page.text
    done = client.post(
        "/login",
        data={"csrf_token": match.group(1), "name": name, "password": password, "next": "/"},
        headers={"Accept": "text/html"},
    )
    assert done.status_code == 303, done.text
    home = client.get("/", headers={"Accept": "text/html"})
    found = _TOKEN.search(home.text)
    assert home.status_code == 200 and found, home.text
    return found.group(1)
