"""The API against a real uvicorn server, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from prr.cli.serve import push
from prr.engine.scan import Assessment
from prr.reports.scan_json import scan_dict
from prr.store.users import Role
from tests.engine.test_scan import CDN, RATE, Flags, scan
from tests.server.conftest import ALL_SIGNOFF, SETTINGS, Running

HIGH_ITEM = "infrastructure.compute.auto-scaling-configured"
NA_ITEM = "launch.pre-launch.marketing-aligned"
_services = itertools.count()


def _service_with_review(
    running: Running, tmp_path: Path, *, blocker: bool = True
) -> tuple[str, int, Assessment]:
    """Push a scan of a new service over the API and open a review on it: (service, review id)."""
    name = f"svc-{next(_services)}"
    (tmp_path / "prr.yaml").write_text(f"service: {name}\nowner: team-a\n")
    assessment = scan(tmp_path, Flags(not blocker, True))
    _, token = running.user(Role.CONTRIBUTOR)
    with running.client(token) as client:
        answer = client.post("/api/v1/scans", json=scan_dict(assessment))
    assert answer.status_code == 201, answer.text
    review_id = running.reviews.create(
        name,
        "1.0.0",
        checklist=assessment.checklist,
        actor="alice",
        assessment=assessment,
        scan_id=answer.json()["id"],
    )
    return name, review_id, assessment


def test_health_ready_metrics_need_no_token(running: Running) -> None:
    with running.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ready"}
        client.get("/api/v1/reviews/424242")  # counted by template, not by raw path
        text = client.get("/metrics").text
    assert 'prr_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'route="/api/v1/reviews/{review_id}",status="401"' in text
    assert "424242" not in text
    assert "prr_http_request_duration_seconds_bucket" in text


def test_every_other_route_requires_a_token(running: Running) -> None:
    with running.client() as client:
        for method, path in [
            ("GET", "/api/v1/services"),
            ("GET", "/api/v1/services/x"),
            ("GET", "/api/v1/services/x/scans"),
            ("GET", "/api/v1/reviews"),
            ("GET", "/api/v1/reviews/1"),
            ("POST", "/api/v1/scans"),
            ("POST", "/api/v1/reviews/1/answers"),
            ("POST", "/api/v1/reviews/1/na"),
            ("POST", "/api/v1/reviews/1/waivers"),
            ("POST", "/api/v1/reviews/1/waivers/1/decision"),
            ("POST", "/api/v1/reviews/1/signoffs"),
            ("GET", "/api/v1/auth/tokens"),
            ("DELETE", "/api/v1/auth/tokens/1"),
            ("GET", "/api/v1/me"),
            ("GET", "/api/v1/openapi.json"),
        ]:
            answer = client.request(method, path, json={})
            assert answer.status_code == 401, (method, path, answer.status_code)
            assert answer.headers["www-authenticate"] == "Bearer"
            bad = client.request(
                method, path, json={}, headers={"Authorization": "Bearer prr_nope"}
            )
            assert bad.status_code == 401


def test_security_headers_and_hsts_only_over_tls(running: Running) -> None:
    with running.client() as client:
        plain = client.get("/healthz")
        tls = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        denied = client.get("/api/v1/me")
    for response in (plain, tls, denied):
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in plain.headers
    assert tls.headers["strict-transport-security"].startswith("max-age=")


def test_scan_ingest_services_and_scans(running: Running, tmp_path: Path) -> None:
    name, _, _assessment = _service_with_review(running, tmp_path)
    _, token = running.user(Role.VIEWER)
    with running.client(token) as client:
        detail = client.get(f"/api/v1/services/{name}").json()
        assert detail["owner"] == "team-a"
        assert detail["latest_scan"]["verdict"] == "NOT READY"
        assert detail["latest_scan"]["blockers"] == 1
        assert {c["id"] for c in detail["categories"]} >= {"security"}
        assert [r["version"] for r in detail["reviews"]] == ["1.0.0"]
        assert detail["reviews"][0]["blockers"] == 1
        scans = client.get(f"/api/v1/services/{name}/scans").json()
        assert len(scans["items"]) == 1 and scans["next_cursor"] is None
        assert client.get("/api/v1/services/no-such-service").status_code == 404
        # pagination walks every service exactly once
        seen, cursor = [], None
        while True:
            params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
            page = client.get("/api/v1/services", params=params).json()
            seen += [s["name"] for s in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert name in seen and len(seen) == len(set(seen))
        assert client.get("/api/v1/services", params={"cursor": "!!"}).status_code == 422


def test_scan_shape_is_validated(running: Running, tmp_path: Path) -> None:
    _, token = running.user(Role.CONTRIBUTOR)
    payload = scan_dict(scan(tmp_path, Flags(False, True)))
    with running.client(token) as client:
        assert client.post("/api/v1/scans", json={"schema": "other"}).status_code == 422
        broken = dict(payload, verdict="MAYBE")
        answer = client.post("/api/v1/scans", json=broken)
        assert answer.status_code == 422 and any("verdict" in p for p in answer.json()["detail"])
        lying = json.loads(json.dumps(payload))
        lying["summary"]["blockers"] = 0
        assert client.post("/api/v1/scans", json=lying).status_code == 422


def test_review_json_and_actions(running: Running, tmp_path: Path) -> None:
    name, rid, _ = _service_with_review(running, tmp_path)
    _, contributor = running.user(Role.CONTRIBUTOR)
    reviewer, reviewer_token = running.user(Role.REVIEWER, signoff=ALL_SIGNOFF)
    with running.client(contributor) as client:
        shown = client.get(f"/api/v1/reviews/{rid}").json()
        assert shown["schema"] == "prr/review/v1" and shown["service"] == name
        assert shown["blockers"] == [RATE] and len(shown["items"]) == 158
        answer = client.post(
            f"/api/v1/reviews/{rid}/answers",
            json={"item": HIGH_ITEM, "status": "pass", "fields": {"min_instances": "3"}},
        )
        assert answer.status_code == 200 and answer.json()["fields"] == {"min_instances": 3}
        bad = client.post(
            f"/api/v1/reviews/{rid}/answers",
            json={"item": HIGH_ITEM, "fields": {"min_instances": "many"}},
        )
        assert bad.status_code == 422 and "min_instances" in bad.json()["detail"]
        unknown = client.post(f"/api/v1/reviews/{rid}/answers", json={"item": "no.such.item"})
        assert unknown.status_code == 422
        blank = client.post(f"/api/v1/reviews/{rid}/na", json={"item": NA_ITEM, "reason": " "})
        assert blank.status_code == 422  # invalid input, not a state conflict
        na = client.post(f"/api/v1/reviews/{rid}/na", json={"item": NA_ITEM, "reason": "internal"})
        assert na.json()["status"] == "not_applicable"
        waiver = client.post(
            f"/api/v1/reviews/{rid}/waivers",
            json={"item": CDN, "reason": "no static assets", "risk_owner": "@lead"},
        )
        assert waiver.status_code == 201
        refused = client.post(
            f"/api/v1/reviews/{rid}/waivers",
            json={"item": RATE, "reason": "later", "risk_owner": "@x"},
        )
        assert refused.status_code == 409 and "does not allow" in refused.json()["detail"]
        wid = waiver.json()["id"]
        assert (
            client.get("/api/v1/reviews", params={"service": name, "state": "open"}).json()[
                "items"
            ][0]["id"]
            == rid
        )

    with running.client(reviewer_token) as client:
        decision = client.post(
            f"/api/v1/reviews/{rid}/waivers/{wid}/decision",
            json={"approve": True, "role": "Engineering Lead"},
        )
        assert decision.status_code == 200
        again = client.post(
            f"/api/v1/reviews/{rid}/waivers/{wid}/decision",
            json={"approve": True, "role": "Engineering Lead"},
        )
        assert again.status_code == 409
        assert (
            client.post(
                f"/api/v1/reviews/{rid}/waivers/999999/decision",
                json={"approve": True, "role": "Security"},
            ).status_code
            == 404
        )

        # no approval while a blocker is open: 409 naming the blockers
        blocked = client.post(
            f"/api/v1/reviews/{rid}/signoffs", json={"role": "Security", "approve": True}
        )
        assert blocked.status_code == 409
        assert blocked.json()["blockers"] == [f"{RATE} (API rate limiting enabled)"]

        fixed = client.post(f"/api/v1/reviews/{rid}/answers", json={"item": RATE, "status": "pass"})
        assert fixed.status_code == 200
        states = [
            client.post(
                f"/api/v1/reviews/{rid}/signoffs", json={"role": role, "approve": True}
            ).json()["state"]
            for role in ALL_SIGNOFF
        ]
        assert states == ["open", "open", "open", "approved"]
        frozen = client.post(
            f"/api/v1/reviews/{rid}/answers", json={"item": HIGH_ITEM, "notes": "late"}
        )
        assert frozen.status_code == 409 and "frozen" in frozen.json()["detail"]
        final = client.get(f"/api/v1/reviews/{rid}").json()
        assert final["state"] == "approved" and final["frozen"] is True
        assert [s["person"] for s in final["signoffs"]] == [reviewer] * 4
        assert (
            client.get("/api/v1/reviews", params={"state": "approved", "service": name}).json()[
                "items"
            ][0]["id"]
            == rid
        )
    with running.client() as client:
        assert 'prr_reviews{state="approved"}' in client.get("/metrics").text


def test_signing_off_needs_the_signoff_role(running: Running, tmp_path: Path) -> None:
    _, rid, _ = _service_with_review(running, tmp_path, blocker=False)
    _, security_only = running.user(Role.REVIEWER, signoff=("Security",))
    with running.client(security_only) as client:
        assert (
            client.post(
                f"/api/v1/reviews/{rid}/signoffs", json={"role": "Product", "approve": True}
            ).status_code
            == 403
        )
        assert (
            client.post(
                f"/api/v1/reviews/{rid}/signoffs", json={"role": "Security", "approve": True}
            ).json()["state"]
            == "open"
        )


def test_token_scoped_to_another_service(running: Running, tmp_path: Path) -> None:
    name, rid, assessment = _service_with_review(running, tmp_path)
    (tmp_path / "other").mkdir()
    other, _, _ = _service_with_review(running, tmp_path / "other")
    _, scoped = running.user(Role.ADMIN, services=(other,))
    with running.client(scoped) as client:
        assert client.get(f"/api/v1/services/{name}").status_code == 403
        assert client.get(f"/api/v1/services/{name}/scans").status_code == 403
        assert client.get(f"/api/v1/reviews/{rid}").status_code == 403
        assert client.get("/api/v1/reviews", params={"service": name}).status_code == 403
        assert (
            client.post(f"/api/v1/reviews/{rid}/answers", json={"item": HIGH_ITEM}).status_code
            == 403
        )
        assert client.post("/api/v1/scans", json=scan_dict(assessment)).status_code == 403
        assert [s["name"] for s in client.get("/api/v1/services").json()["items"]] == [other]
        assert {r["service"] for r in client.get("/api/v1/reviews").json()["items"]} == {other}
        assert client.get(f"/api/v1/services/{other}").status_code == 200


ROLES = [None, Role.VIEWER, Role.CONTRIBUTOR, Role.REVIEWER, Role.ADMIN]


def test_authorisation_matrix(running: Running, tmp_path: Path) -> None:
    """Every role × every API route: 401 without a token, 403 below the route's role."""
    name, rid, assessment = _service_with_review(running, tmp_path, blocker=False)
    tokens: dict[Role | None, str | None] = {None: None}
    for role in ROLES[1:]:
        assert role is not None
        # the admin holds no sign-off role: signing off needs the role, not rank
        signoff = ALL_SIGNOFF if role is Role.REVIEWER else ()
        tokens[role] = running.user(role, signoff=signoff)[1]

    def waiver() -> int:
        return running.reviews.request_waiver(rid, CDN, reason="r", risk_owner="o", actor="x")

    payload = scan_dict(assessment)
    routes: list[tuple[str, Callable[[], str], Any, Role, int]] = [
        ("GET", lambda: "/api/v1/services", None, Role.VIEWER, 200),
        ("GET", lambda: f"/api/v1/services/{name}", None, Role.VIEWER, 200),
        ("GET", lambda: f"/api/v1/services/{name}/scans", None, Role.VIEWER, 200),
        ("GET", lambda: "/api/v1/reviews", None, Role.VIEWER, 200),
        ("GET", lambda: f"/api/v1/reviews/{rid}", None, Role.VIEWER, 200),
        ("GET", lambda: "/api/v1/me", None, Role.VIEWER, 200),
        ("GET", lambda: "/api/v1/auth/tokens", None, Role.VIEWER, 200),
        ("GET", lambda: "/api/v1/openapi.json", None, Role.VIEWER, 200),
        ("POST", lambda: "/api/v1/scans", payload, Role.CONTRIBUTOR, 201),
        (
            "POST",
            lambda: f"/api/v1/reviews/{rid}/answers",
            {"item": HIGH_ITEM, "notes": "n"},
            Role.CONTRIBUTOR,
            200,
        ),
        (
            "POST",
            lambda: f"/api/v1/reviews/{rid}/na",
            {"item": NA_ITEM, "reason": "internal"},
            Role.CONTRIBUTOR,
            200,
        ),
        (
            "POST",
            lambda: f"/api/v1/reviews/{rid}/waivers",
            {"item": CDN, "reason": "r", "risk_owner": "o"},
            Role.CONTRIBUTOR,
            201,
        ),
        (
            "POST",
            lambda: f"/api/v1/reviews/{rid}/waivers/{waiver()}/decision",
            {"approve": False, "role": "Security"},
            Role.REVIEWER,
            200,
        ),
        (
            "POST",
            lambda: f"/api/v1/reviews/{rid}/signoffs",
            {"role": "Security", "approve": False},
            Role.REVIEWER,
            200,
        ),
    ]
    needs_signoff_role = {"decision", "signoffs"}
    failures = []
    for method, path, body, least, ok in routes:
        for role in ROLES:
            url = path()
            with running.client(tokens[role]) as client:
                status = client.request(method, url, json=body).status_code
            if role is None:
                expected = 401
            elif not role.at_least(least) or (
                role is Role.ADMIN and url.rsplit("/", 1)[-1] in needs_signoff_role
            ):
                expected = 403
            else:
                expected = ok
            if status != expected:
                failures.append((method, url, role, status, expected))
    assert failures == []


def test_expired_and_revoked_tokens(running: Running) -> None:
    name, token = running.user(Role.VIEWER)
    token_id, old = running.accounts.create_token(
        name,
        expires_in=dt.timedelta(days=1),
        now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2),
    )
    with running.client(old) as client:
        assert client.get("/api/v1/me").status_code == 401
    with running.client(token) as client:
        me = client.get("/api/v1/me").json()
        assert me["user"] == name and me["role"] == "viewer"
        listed = client.get("/api/v1/auth/tokens").json()["items"]
        assert {t["id"] for t in listed} == {me["token_id"], token_id}
        assert all("token" not in t and "digest" not in t for t in listed)
        assert client.delete(f"/api/v1/auth/tokens/{me['token_id']}").status_code == 204
        assert client.get("/api/v1/me").status_code == 401


def test_password_login_token_exchange_and_lockout(running: Running) -> None:
    from tests.server.conftest import PASSWORD

    name, _ = running.user(Role.CONTRIBUTOR)
    with running.client() as client:
        login = client.post("/api/v1/auth/login", json={"name": name, "password": PASSWORD})
        assert login.status_code == 200 and login.json()["csrf_token"]
        cookie = login.headers["set-cookie"]
        assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
        issued = client.post(
            "/api/v1/auth/tokens",
            json={"name": name, "password": PASSWORD, "services": ["svc-x"], "expires_days": 7},
        )
        assert issued.status_code == 201
        secret = issued.json()["token"]
        assert secret.startswith("prr_") and issued.json()["services"] == ["svc-x"]
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()[
            "services"
        ] == ["svc-x"]
        for _ in range(5):
            wrong = client.post(
                "/api/v1/auth/login", json={"name": name, "password": "wrong password!"}
            )
            assert wrong.status_code == 401
        locked = client.post("/api/v1/auth/login", json={"name": name, "password": PASSWORD})
        assert locked.status_code == 423 and int(locked.headers["retry-after"]) > 800


def test_rate_limit_on_login_and_tokens(running: Running) -> None:
    name, _token = running.user(Role.VIEWER)
    with running.client() as client:
        statuses = [
            client.post(
                "/api/v1/auth/tokens", json={"name": "nobody-" + name, "password": "x"}
            ).status_code
            for _ in range(9)
        ]
        assert statuses[:8] == [401] * 8 and statuses[8] == 429
        limited = client.post(
            "/api/v1/auth/login", json={"name": "nobody-" + name, "password": "x"}
        )
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        # another user name from the same client has its own bucket
        assert (
            client.post("/api/v1/auth/login", json={"name": name, "password": "x"}).status_code
            == 401
        )


def test_push_end_to_end(running: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """prr push scans a small repository and uploads it with a CI token; GET returns it."""
    name = f"pushed-{next(_services)}"
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "prr.yaml").write_text(f"service: {name}\nowner: team-ci\n")
    (repo / "README.md").write_text("# pushed\n")
    ci_user, _ = running.user(Role.CONTRIBUTOR)
    _, ci_token = running.accounts.create_token(ci_user, services=[name])
    monkeypatch.setenv("PRR_SERVER", running.url)
    monkeypatch.setenv("CI_PRR_TOKEN", ci_token)
    result = CliRunner().invoke(typer_app(), [str(repo), "--token", "env:CI_PRR_TOKEN"])
    assert result.exit_code == 0, result.output
    assert f"of {name}" in result.stdout and ci_token not in result.output
    with running.client(ci_token) as client:
        detail = client.get(f"/api/v1/services/{name}").json()
    assert detail["owner"] == "team-ci" and detail["latest_scan"]["source"] == "push"

    # a JSON file works too; a token for another service is refused (exit 1)
    out = tmp_path / "scan.json"
    out.write_text(json.dumps(scan_dict(scan(tmp_path, Flags(True, True)))))
    refused = CliRunner().invoke(typer_app(), [str(out), "--token", ci_token])
    assert refused.exit_code == 1 and "403" in refused.output
    monkeypatch.delenv("PRR_SERVER")
    assert CliRunner().invoke(typer_app(), [str(out), "--token", ci_token]).exit_code == 2
    unreachable = CliRunner().invoke(
        typer_app(), [str(out), "--token", ci_token, "--server", "http://127.0.0.1:9"]
    )
    assert unreachable.exit_code == 3


def typer_app() -> typer.Typer:

    app = typer.Typer()
    app.command()(push)
    return app


def test_request_bodies_over_the_limit_get_413(running: Running) -> None:
    """Declared or chunked, a body over PRR_SERVER_MAX_BODY_BYTES is refused before parsing."""
    limit = SETTINGS.max_body_bytes
    _, token = running.user(Role.CONTRIBUTOR)

    def chunks(total: int) -> Iterator[bytes]:
        while total > 0:
            yield b" " * min(total, 1 << 20)
            total -= 1 << 20

    json_type = {"Content-Type": "application/json"}
    with running.client(token) as client:
        declared = client.post("/api/v1/scans", content=b" " * (limit + 1), headers=json_type)
        assert declared.status_code == 413
        assert declared.json() == {
            "detail": f"request body too large: at most {limit} bytes are accepted"
        }
        chunked = client.post("/api/v1/scans", content=chunks(limit + (2 << 20)), headers=json_type)
        assert chunked.status_code == 413 and str(limit) in chunked.json()["detail"]
        assert chunked.headers["x-content-type-options"] == "nosniff"
        # at the limit the body reaches the API, which finds no JSON document in it
        at_limit = client.post("/api/v1/scans", content=chunks(limit), headers=json_type)
        assert at_limit.status_code == 422
    with running.client() as anonymous:  # refused before authentication looks at it
        assert anonymous.post("/api/v1/me", content=b" " * (limit + 1)).status_code == 413


def test_inputs_the_store_cannot_hold_are_refused_with_422(
    running: Running, tmp_path: Path
) -> None:
    """Ids, text and numbers beyond the store's range are 422s, never 500s (on both stores)."""
    name, review_id, assessment = _service_with_review(running, tmp_path)
    _, token = running.user(Role.ADMIN, signoff=ALL_SIGNOFF)
    huge = 2**40
    cursor = base64.urlsafe_b64encode(str(huge).encode()).decode()
    document = scan_dict(assessment)

    def scan_with(**changes: Any) -> dict[str, Any]:
        changed: dict[str, Any] = json.loads(json.dumps(document))
        for dotted, value in changes.items():
            *parents, key = dotted.split("__")
            target = changed
            for parent in parents:
                target = target[parent]
            target[key] = value
        return changed

    def raw(body: Any) -> dict[str, Any]:  # NaN and Infinity, which httpx will not write
        return {"content": json.dumps(body), "headers": {"Content-Type": "application/json"}}

    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat()
    surrogate = scan_with()
    surrogate["categories"][0]["note"] = "\ud800"  # would break every later GET of the service
    refused: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", f"/api/v1/reviews/{huge}", {}),
        ("DELETE", f"/api/v1/auth/tokens/{huge}", {}),
        ("POST", f"/api/v1/reviews/{review_id}/waivers/{huge}/decision", {"json": {}}),
        ("GET", "/api/v1/services", {"params": {"cursor": cursor}}),
        ("GET", "/api/v1/reviews", {"params": {"cursor": "LTU="}}),  # "-5"
        ("GET", "/api/v1/services/a%00b", {}),
        ("GET", "/api/v1/reviews", {"params": {"service": "a\x00b"}}),
        ("POST", "/api/v1/auth/login", {"json": {"name": "a\x00", "password": "x"}}),
        ("POST", f"/api/v1/reviews/{review_id}/na", {"json": {"item": NA_ITEM, "reason": "\x00"}}),
        ("POST", f"/api/v1/reviews/{review_id}/na", {"json": {"item": NA_ITEM, "reason": "  "}}),
        (
            "POST",
            f"/api/v1/reviews/{review_id}/answers",
            raw({"item": HIGH_ITEM, "fields": {"x": float("nan")}}),
        ),
        ("POST", "/api/v1/scans", {"json": scan_with(target__owner="o" * 201)}),
        ("POST", "/api/v1/scans", {"json": scan_with(target__tier=10**30)}),
        ("POST", "/api/v1/scans", {"json": scan_with(started_at=future)}),
        ("POST", "/api/v1/scans", {"json": scan_with(summary__issues=10**9)}),
        ("POST", "/api/v1/scans", {"json": scan_with(extra="nul \x00 inside")}),
        ("POST", "/api/v1/scans", raw(scan_with(extra=[float("inf")]))),
        ("POST", "/api/v1/scans", raw(surrogate)),
    ]
    with running.client(token) as client:
        for method, path, kwargs in refused:
            answer = client.request(method, path, **kwargs)
            assert answer.status_code == 422, (method, path, answer.status_code, answer.text)
            assert answer.json()["detail"], (method, path)
        # a time without offset is taken as UTC, and every time the API writes has one
        naive = document["started_at"].replace("+00:00", "").replace("Z", "")
        assert client.post("/api/v1/scans", json=scan_with(started_at=naive)).status_code == 201
        latest = client.get(f"/api/v1/services/{name}").json()["latest_scan"]
        tokens = client.get("/api/v1/auth/tokens").json()["items"]
    for stamp in [latest["started_at"], *(t["created_at"] for t in tokens)]:
        assert dt.datetime.fromisoformat(stamp).utcoffset() == dt.timedelta(0), stamp
