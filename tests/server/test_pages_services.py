"""The service page and the checklist library pages, on a real server (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from prr.cli import app as cli_app
from prr.drills.base import DrillOutcome
from prr.drills.evidence import save_outcome
from prr.model.loader import load_checklist
from prr.review.reviews import ScanRecord
from prr.store.users import Role
from tests.server.conftest import PASSWORD, Running
from tests.server.pages_helpers import login

ROOT = Path(__file__).resolve().parents[2]
ORG = ROOT / "tests" / "data" / "org"
FIREWALL = "infrastructure.networking.firewall-rules-reviewed"
HTML = {"Accept": "text/html"}
_names = itertools.count()


@pytest.fixture(scope="module")
def scan_doc() -> dict[str, Any]:
    """One real scan of the example service (scans take seconds: once per module)."""
    result = CliRunner().invoke(
        cli_app,
        ["scan", str(ROOT / "examples" / "shop-api"), "-f", "json", "--fail-on", "never"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _push(
    running: Running,
    doc: dict[str, Any],
    service: str,
    *,
    days_ago: int = 0,
    clear_blockers: int = 0,
) -> dict[str, Any]:
    """Record a copy of ``doc`` as a pushed scan of ``service``; ``clear_blockers`` pass."""
    doc = copy.deepcopy(doc)
    doc["target"]["service"] = service
    doc["started_at"] = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)).isoformat()
    for item in [i for i in doc["items"] if i["blocker"]][:clear_blockers]:
        item.update(status="pass", blocker=False, issue=False)
        doc["summary"]["blockers"] -= 1
    running.reviews.record_scan(ScanRecord.from_document(doc), doc, source="push")
    return doc


def _service() -> str:
    return f"svc-{next(_names)}"


@contextmanager
def _signed_in(running: Running, role: Role = Role.VIEWER) -> Iterator[httpx.Client]:
    """A client signed in through the login form as a new user of ``role``."""
    name, _ = running.user(role)
    with running.client() as client:
        login(client, name, PASSWORD)
        yield client


def _svg(html: str) -> str:
    match = re.search(r'<svg class="chart".*?</svg>', html, re.S)
    assert match, "no history chart"
    return match.group(0)


# -- the service page ------------------------------------------------------------------
def test_service_page_shows_categories_items_and_evidence(
    running: Running, scan_doc: dict[str, Any]
) -> None:
    service = _service()
    _push(running, scan_doc, service)
    with _signed_in(running) as client:
        page = client.get(f"/services/{service}", headers=HTML)
        assert page.status_code == 200, page.text
        html = page.text
        assert "team-checkout" in html and "NOT READY" in html
        assert scan_doc["target"]["commit"][:12] in html
        for category in scan_doc["categories"]:
            assert category["title"] in html
        # a failing item with its file:line evidence and its remediation steps, folded
        assert FIREWALL in html
        assert "infra/terraform/main.tf:105" in html
        assert '<details class="remediation">' in html
        firewall = next(i for i in scan_doc["items"] if i["id"] == FIREWALL)
        assert firewall["remediation"]["steps"][0] in html
        # blockers come first in their category
        security = html[html.index('id="cat-security"') :]
        blocker = next(i for i in scan_doc["items"] if i["blocker"] and i["category"] == "security")
        passing = next(
            i for i in scan_doc["items"] if i["status"] == "pass" and i["category"] == "security"
        )
        assert security.index(blocker["id"]) < security.index(passing["id"])
        # the scans list: one pushed scan
        scans = html[html.index('id="scans"') :]
        assert "push" in scans and "<script" not in html


def test_status_filter_links_show_only_that_status(
    running: Running, scan_doc: dict[str, Any]
) -> None:
    service = _service()
    _push(running, scan_doc, service)
    with _signed_in(running) as client:
        page = client.get(f"/services/{service}", params={"status": "fail"}, headers=HTML)
        assert page.status_code == 200 and FIREWALL in page.text
        fails = sum(1 for i in scan_doc["items"] if i["status"] == "fail")
        assert f"Showing the {fails} items with status fail" in page.text
        passing = client.get(f"/services/{service}", params={"status": "pass"}, headers=HTML)
        assert passing.status_code == 200 and FIREWALL not in passing.text
        assert f'href="/services/{service}?status=unknown#assessment"' in passing.text
        bad = client.get(f"/services/{service}", params={"status": "broken"}, headers=HTML)
        assert bad.status_code == 400 and "unknown status filter" in bad.text


def test_history_chart_has_one_bar_of_blockers_per_scan(
    running: Running, scan_doc: dict[str, Any]
) -> None:
    service = _service()
    first = _push(running, scan_doc, service, days_ago=3)
    second = _push(running, scan_doc, service, days_ago=1, clear_blockers=2)
    before, after = first["summary"]["blockers"], second["summary"]["blockers"]
    assert before != after
    with _signed_in(running) as client:
        html = client.get(f"/services/{service}", headers=HTML).text
    svg = _svg(html)
    assert 'role="img"' in svg
    assert "last 2 scans" in svg and f"blockers {before} then {after}" in svg
    blocker_bars = re.findall(r'<rect class="blockers"[^>]*height="([0-9.]+)"', svg)
    assert len(blocker_bars) == 2
    assert float(blocker_bars[0]) > float(blocker_bars[1])  # fewer blockers, a lower bar
    assert len(re.findall(r'<rect class="issues"', svg)) == 2
    # the numbers behind the chart, for readers who cannot see it
    table = html[html.index("The numbers (2 scans)") :]
    assert f'<td class="num">{before}</td>' in table and f'<td class="num">{after}</td>' in table
    # the header shows the newest scan, not the oldest
    assert f"<dt>Blockers</dt><dd>{after}</dd>" in html


def test_script_planted_in_a_pushed_scan_is_escaped(
    running: Running, scan_doc: dict[str, Any]
) -> None:
    doc = copy.deepcopy(scan_doc)
    firewall = next(i for i in doc["items"] if i["id"] == FIREWALL)
    firewall["message"] = "<script>alert('message')</script>"
    firewall["evidence"][0]["path"] = "<script>alert('path')</script>.tf"
    firewall["evidence"][0]["summary"] = '"><img src=x onerror=alert(1)>'
    firewall["remediation"]["steps"][0] = "<script>alert('step')</script>"
    doc["target"]["owner"] = "<script>alert('owner')</script>"
    service = _service()
    _push(running, doc, service)
    with _signed_in(running) as client:
        html = client.get(f"/services/{service}", headers=HTML).text
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#39;message&#39;)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(&#39;path&#39;)&lt;/script&gt;.tf" in html
    assert "&lt;script&gt;alert(&#39;step&#39;)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(&#39;owner&#39;)&lt;/script&gt;" in html


def test_drills_and_reviews_of_the_service(running: Running, scan_doc: dict[str, Any]) -> None:
    service = _service()
    _push(running, scan_doc, service)
    now = dt.datetime.now(dt.UTC)
    for kind, days, passed in (("backup-restore", 120, True), ("rate-limit", 2, False)):
        finished = now - dt.timedelta(days=days)
        outcome = DrillOutcome(
            kind, "staging", passed, f"{kind} summary", finished - dt.timedelta(minutes=1), finished
        )
        save_outcome(running.reviews.store, service, outcome)
    review_id = running.reviews.create(
        service, "1.4.0", checklist=load_checklist("service"), actor="lead@example.org"
    )
    with _signed_in(running) as client:
        html = client.get(f"/services/{service}", headers=HTML).text
    drills = html[html.index('id="drills"') : html.index('id="reviews"')]
    old = drills[
        drills.index("backup-restore") : drills.index("</tr>", drills.index("backup-restore"))
    ]
    fresh = drills[drills.index("rate-limit") : drills.index("</tr>", drills.index("rate-limit"))]
    assert "stale" in old and "4 months ago" in old
    assert "stale" not in fresh and "fail" in fresh
    reviews = html[html.index('id="reviews"') : html.index('id="scans"')]
    assert f'href="/reviews/{review_id}"' in reviews and "1.4.0" in reviews and "open" in reviews


def test_unknown_service_and_no_session(running: Running) -> None:
    with _signed_in(running) as client:
        missing = client.get("/services/no-such-service", headers=HTML)
        assert missing.status_code == 404 and "no service named" in missing.text
    with running.client() as anonymous:
        page = anonymous.get("/services/anything", headers=HTML)
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=%2Fservices%2Fanything"
        assert anonymous.get("/checklists", headers=HTML).status_code == 303


def test_service_without_a_scan(running: Running) -> None:
    service = _service()
    running.reviews.create(service, "0.1", checklist=load_checklist("platform"), actor="x")
    with _signed_in(running) as client:
        page = client.get(f"/services/{service}", headers=HTML)
    assert page.status_code == 200
    assert "No scan of this service yet" in page.text and "not scanned" in page.text


# -- the checklist library -------------------------------------------------------------
def _row(html: str, name: str) -> str:
    start = html.index(f'<a href="/checklists/{name}">{name}</a>')
    return html[start : html.index("</tr>", start)]


def test_library_lists_builtin_and_organisation_checklists(
    running: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(ORG / "good" / "acme.yaml", tmp_path / "acme.yaml")
    shutil.copy(ORG / "bad" / "bad_severity.yaml", tmp_path / "broken.yaml")
    monkeypatch.setenv("PRR_CHECKLIST_PATH", str(tmp_path))
    with _signed_in(running) as client:
        page = client.get("/checklists", headers=HTML)
    assert page.status_code == 200
    service = _row(page.text, "service")
    assert '<td class="num">158</td>' in service and "built-in" in service
    assert '<td class="num">87</td>' in _row(page.text, "platform")
    acme = _row(page.text, "acme-service")
    assert "2026.11" in acme and "service@1.0.0" in acme and "acme.yaml" in acme
    assert "broken.yaml:8:15: severity" in page.text
    assert str(tmp_path) not in page.text  # the server's folders stay private


def test_library_lists_versions_used_by_reviews(running: Running) -> None:
    running.reviews.create(_service(), "1", checklist=load_checklist("service"), actor="x")
    with _signed_in(running) as client:
        html = client.get("/checklists", headers=HTML).text
    used = html[html.index("Versions in use") :]
    assert '<a href="/checklists/service%401.0.0">service@1.0.0</a>' in used


def test_checklist_page_items_and_search(running: Running) -> None:
    with _signed_in(running) as client:
        page = client.get("/checklists/service", headers=HTML)
        assert page.status_code == 200
        assert "Auto-scaling configured" in page.text
        assert "infrastructure.compute.auto-scaling-configured" in page.text
        assert "158 items in 7 categories" in page.text
        assert page.text.count('<details class="remediation">') == 158
        found = client.get("/checklists/service", params={"q": "auto-scaling"}, headers=HTML)
        assert "Auto-scaling configured" in found.text
        assert "Production environment provisioned" not in found.text
        assert "of 158 items match" in found.text
        versioned = client.get("/checklists/service@1.0.0", headers=HTML)
        assert versioned.status_code == 200 and "Auto-scaling configured" in versioned.text
        assert client.get("/checklists/service@9.9", headers=HTML).status_code == 404
        assert client.get("/checklists/..%2F..%2Fetc%2Fpasswd", headers=HTML).status_code == 404
        assert client.get("/checklists/nope", headers=HTML).status_code == 404


def test_frozen_checklist_version_stays_readable(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRR_CHECKLIST_PATH", str(ORG / "good"))
    running.reviews.create(_service(), "2", checklist=load_checklist("acme"), actor="x")
    monkeypatch.delenv("PRR_CHECKLIST_PATH")  # the file is gone; the review kept its copy
    with _signed_in(running) as client:
        page = client.get("/checklists/acme-service@2026.11", headers=HTML)
    assert page.status_code == 200
    assert (
        "ACME service readiness" in page.text and "Internal services have no marketing" in page.text
    )


def test_diff_between_checklists(running: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    with _signed_in(running) as client:
        page = client.get("/checklists/service/diff", params={"against": "platform"}, headers=HTML)
        assert page.status_code == 200
        assert "Changes from platform@1.0.0 to service@1.0.0" in page.text
        assert "158 added, 87 removed, 0 changed" in page.text
        assert "infrastructure.compute.auto-scaling-configured" in page.text
        monkeypatch.setenv("PRR_CHECKLIST_PATH", str(ORG / "good"))
        org = client.get("/checklists/acme/diff", params={"against": "service"}, headers=HTML)
        assert org.status_code == 200
        changed = org.text[org.text.index("<h2>Changed") :]
        assert "infrastructure.networking.cdn-configured" in changed
        assert "<code>severity</code>" in changed
        assert "launch.pre-launch.marketing-aligned" in org.text  # removed (disabled)
        form = client.get("/checklists/service/diff", headers=HTML)
        assert form.status_code == 200 and "Choose a checklist to compare with" in form.text
        missing = client.get("/checklists/service/diff", params={"against": "x@1"}, headers=HTML)
        assert missing.status_code == 404


def test_pages_carry_no_script_and_no_inline_style(
    running: Running, scan_doc: dict[str, Any]
) -> None:
    service = _service()
    _push(running, scan_doc, service)
    with _signed_in(running) as client:
        for path in (
            f"/services/{service}",
            "/checklists",
            "/checklists/platform",
            "/checklists/service/diff?against=platform",
        ):
            html = client.get(path, headers=HTML).text
            assert "<script" not in html and "style=" not in html and "<style" not in html, path
            assert re.search(r"<h1[ >]", html), path
