"""Sessions, CSRF, rate limiting, accounts, the admin commands and a real ``prr serve`` process."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from prr.cli.serve import admin_app
from prr.server.auth import RateLimiter, csrf_ok, issue_session, read_session
from prr.store.users import AccountError, LockedOut, Role, token_digest
from tests.live.servers import free_port
from tests.server.conftest import PASSWORD, Running

SECRET = "s" * 40


def test_session_cookie_roundtrip_tamper_and_timeout() -> None:
    cookie, data = issue_session("ann", SECRET, now=1000.0)
    assert read_session(cookie, SECRET, timeout_s=60, now=1030.0) == data
    assert read_session(cookie, SECRET, timeout_s=60, now=1061.0) is None  # timed out
    assert read_session(cookie, "other" * 8, timeout_s=60, now=1030.0) is None  # wrong key
    body, sig = cookie.split(".")
    forged, _ = issue_session("root", "attacker-key" * 4, now=1000.0)
    assert read_session(forged.split(".")[0] + "." + sig, SECRET, timeout_s=60, now=1001) is None
    assert read_session(body + "." + sig[:-2] + "AA", SECRET, timeout_s=60, now=1001) is None
    for junk in (None, "", "no-dot", "a.b.c", "!!.??"):
        assert read_session(junk, SECRET, timeout_s=60, now=1001) is None


def test_csrf_token_is_per_session_and_checked_on_unsafe_methods() -> None:
    _, one = issue_session("ann", SECRET)
    _, two = issue_session("ann", SECRET)
    assert one.csrf != two.csrf
    assert csrf_ok(one, "GET", None) and csrf_ok(None, "HEAD", None)
    assert csrf_ok(one, "POST", one.csrf)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert not csrf_ok(one, method, None)
        assert not csrf_ok(one, method, two.csrf)
        assert not csrf_ok(None, method, one.csrf)


def test_token_bucket_refills_and_says_when() -> None:
    now = [0.0]
    limiter = RateLimiter(burst=3, per_minute=6, clock=lambda: now[0])
    assert [limiter.take("ip|ann") for _ in range(3)] == [0, 0, 0]
    assert limiter.take("ip|ann") == 10  # one token every 10 s
    assert limiter.take("ip|bob") == 0  # separate bucket
    now[0] = 10.0
    assert limiter.take("ip|ann") == 0
    assert limiter.take("ip|ann") > 0


def test_accounts_lockout_expires_and_tokens_are_hashed(running: Running) -> None:
    name = f"lock-{time.monotonic_ns()}"
    accounts = running.accounts
    accounts.create_user(name, role=Role.VIEWER, password=PASSWORD)
    with pytest.raises(AccountError, match="already exists"):
        accounts.create_user(name, role=Role.VIEWER, password=PASSWORD)
    with pytest.raises(AccountError, match="12 characters"):
        accounts.create_user(name + "x", role=Role.VIEWER, password="short")
    start = dt.datetime.now(dt.UTC)
    for _ in range(5):
        with pytest.raises(AccountError):
            accounts.login(name, "wrong password", now=start)
    with pytest.raises(LockedOut) as locked:
        accounts.login(name, PASSWORD, now=start + dt.timedelta(minutes=14))
    assert 0 < locked.value.retry_after <= 61
    assert accounts.login(name, PASSWORD, now=start + dt.timedelta(minutes=16)).name == name
    # a success resets the count: four more failures do not lock
    for _ in range(4):
        with pytest.raises(AccountError):
            accounts.login(name, "wrong password", now=start + dt.timedelta(minutes=17))
    assert accounts.login(name, PASSWORD, now=start + dt.timedelta(minutes=17)).name == name

    token_id, secret = accounts.create_token(name, services=["a", "b"])
    from sqlalchemy import select

    from prr.store.users import ApiToken, User

    with running.reviews.store.transaction() as session:
        stored = session.get(ApiToken, token_id)
        assert stored is not None and stored.digest == token_digest(secret)
        assert secret not in json.dumps([stored.digest, stored.label, stored.services])
        user = session.scalars(select(User).where(User.name == name)).one()
        assert user.password_hash and PASSWORD not in user.password_hash
        assert user.password_hash.startswith("$argon2id$")
    principal = accounts.authenticate(secret)
    assert principal is not None and principal.may_access("a") and not principal.may_access("c")
    assert accounts.authenticate("prr_" + "x" * 43) is None
    assert accounts.authenticate("not-a-token") is None


def test_admin_commands(running: Running, tmp_path: Path) -> None:
    runner = CliRunner()
    db = ["--database", running.store_url]
    name = f"admin-cli-{time.monotonic_ns()}"
    created = runner.invoke(
        admin_app,
        [
            "create-user",
            name,
            "--role",
            "reviewer",
            "--signoff-role",
            "Security",
            "--password-stdin",
            *db,
        ],
        input=PASSWORD + "\n",
    )
    assert created.exit_code == 0, created.output
    assert "role reviewer" in created.stdout and PASSWORD not in created.output
    prompted = runner.invoke(
        admin_app,
        ["create-user", name + "-2", "--role", "viewer", *db],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert prompted.exit_code == 0, prompted.output
    assert running.accounts.login(name + "-2", PASSWORD).role is Role.VIEWER
    assert (
        runner.invoke(
            admin_app, ["create-user", name, "--password-stdin", *db], input=PASSWORD + "\n"
        ).exit_code
        == 2
    )
    assert runner.invoke(admin_app, ["create-user", "x", "--role", "king", *db]).exit_code == 2

    issued = runner.invoke(
        admin_app, ["create-token", name, "--service", "shop", "--expires-days", "30", "--ci", *db]
    )
    assert issued.exit_code == 0, issued.output
    secret = issued.stdout.strip()
    principal = running.accounts.authenticate(secret)
    assert principal is not None and principal.services == ("shop",)
    assert principal.signoff_roles == ("Security",)
    token_id = principal.token_id
    assert runner.invoke(admin_app, ["create-token", "nobody-here", *db]).exit_code == 2
    revoked = runner.invoke(admin_app, ["revoke-token", str(token_id), *db])
    assert revoked.exit_code == 0 and running.accounts.authenticate(secret) is None
    assert runner.invoke(admin_app, ["revoke-token", "999999", *db]).exit_code == 2


@pytest.mark.slow
def test_prr_serve_process_logs_json_and_stops_gracefully(running: Running, tmp_path: Path) -> None:
    """A real ``prr serve`` process: ready, one JSON log line per request, clean SIGTERM."""
    port = free_port()
    _, token = running.user(Role.VIEWER)
    code = "import typer; from prr.cli.serve import serve; typer.run(serve)"
    env = os.environ | {"PRR_SESSION_SECRET": "z" * 40, "PRR_SERVER_GRACEFUL_SHUTDOWN": "5"}
    process = subprocess.Popen(
        [sys.executable, "-c", code, "--port", str(port), "--database", running.store_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert (
                client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code
                == 200
            )
            assert (
                client.post(
                    "/api/v1/auth/login", json={"name": "x", "password": "hunter2hunter2"}
                ).status_code
                == 401
            )
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    # uvicorn finishes in-flight requests and the lifespan, then re-raises the signal
    assert process.returncode in (0, -signal.SIGTERM)
    log = err.decode()
    assert token not in log and "hunter2" not in log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    me = next(line for line in lines if line.get("route") == "/api/v1/me")
    assert me["status"] == 200 and me["method"] == "GET" and me["user"].startswith("viewer-")
    assert isinstance(me["duration_ms"], float)
    assert "Waiting for application shutdown" in log and "Finished server process" in log
