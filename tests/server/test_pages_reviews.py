"""The review pages against a real server (SQLite and PostgreSQL), as a browser uses them.

A scan of examples/shop-api (4 blockers, failing high items, unknown items with
typed fields) is recorded for a fresh service per test; people then sign in
through the login form and use the pages' forms.
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from typer.testing import CliRunner

from prr.cli import app as cli_app
from prr.model.loader import load_checklist
from prr.review.reviews import ScanRecord
from prr.server.pages.common import slug
from prr.store.users import Role
from tests.server.conftest import ALL_SIGNOFF, PASSWORD, Running
from tests.server.pages_helpers import login

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop-api"
HTML = {"Accept": "text/html"}
BLOCKERS = (
    "security.authorization.all-endpoints-protected",
    "security.authorization.api-rate-limiting-enabled",
    "security.secrets-management.no-hardcoded-secrets-in-code",
    "deployment.environment-parity.staging-mirrors-production",
)
ANSWERED = "security.authentication.account-lockout-policy"  # high, unknown, two typed fields
NA_ITEM = "performance.capacity-planning.cost-projections-done"
WAIVED = "infrastructure.networking.firewall-rules-reviewed"  # high, failing: an issue
_services = itertools.count()


@pytest.fixture(scope="module")
def shop_scan() -> dict[str, Any]:
    run = CliRunner().invoke(
        cli_app, ["scan", str(EXAMPLE), "-f", "json", "--fail-on", "never"], catch_exceptions=False
    )
    assert run.exit_code == 0, run.stderr
    doc: dict[str, Any] = json.loads(run.stdout)
    assert doc["summary"]["blockers"] == len(BLOCKERS)
    return doc


def seed(running: Running, doc: dict[str, Any], name: str | None = None) -> str:
    """Record the scan for a new service; returns the service's name."""
    service = name or f"shop-{next(_services)}"
    scan = copy.deepcopy(doc)
    scan["target"]["service"] = service
    running.reviews.record_scan(ScanRecord.from_document(scan), scan, source="push")
    return service


@contextmanager
def signed_in(
    running: Running, role: Role, signoff: tuple[str, ...] = ()
) -> Iterator[tuple[httpx.Client, str, str]]:
    """A browser-like client signed in as a new user: (client, csrf token, user name)."""
    name, _token = running.user(role, signoff=signoff)
    with running.client() as client:
        yield client, login(client, name, PASSWORD), name


def post(client: httpx.Client, url: str, csrf: str | None, **data: str) -> httpx.Response:
    form = dict(data) | ({"csrf_token": csrf} if csrf is not None else {})
    return client.post(url, data=form, headers=HTML)


def notice(client: httpx.Client, answer: httpx.Response) -> tuple[str, str, str]:
    """Follow a 303 and return (kind, notice text, page html)."""
    assert answer.status_code == 303, answer.text
    page = client.get(answer.headers["location"], headers=HTML)
    assert page.status_code == 200, page.text
    found = re.search(r'<p class="notice notice-(\w+)" role="status">(.*?)</p>', page.text, re.S)
    assert found, "no notice on the page"
    return found.group(1), found.group(2), page.text


def start(running: Running, client: httpx.Client, csrf: str, service: str, **extra: str) -> int:
    answer = post(client, "/reviews", csrf, service=service, version="1.4.0", **extra)
    kind, text, _ = notice(client, answer)
    assert kind == "ok", text
    match = re.fullmatch(r"/reviews/(\d+)", answer.headers["location"])
    assert match, answer.headers["location"]
    return int(match.group(1))


def item_url(review_id: int, item_id: str, action: str) -> str:
    return f"/reviews/{review_id}/items/{item_id}/{action}"


def test_the_whole_review_flow(running: Running, shop_scan: dict[str, Any]) -> None:
    service = seed(running, shop_scan)
    with signed_in(running, Role.CONTRIBUTOR) as (team, csrf, member):
        listing = team.get("/reviews", headers=HTML)
        assert listing.status_code == 200 and "Start a review" in listing.text
        review_id = start(running, team, csrf, service, checklist="service")
        view = running.reviews.get(review_id)
        assert view.scan_id is not None and {b.id for b in view.blockers} == set(BLOCKERS)
        assert view.item(BLOCKERS[0]).evidence, "the scan's evidence is attached"

        page = team.get(f"/reviews/{review_id}", headers=HTML).text
        assert "Any infrastructure concerns?" in page and "Phase 5: Generate Readiness PRD" in page
        assert f'href="/services/{service}"' in page
        assert "All endpoints protected" in page and "docs/api/openapi.yaml:157" in page
        assert page.count('class="tag tag-blocker"') == len(BLOCKERS)

        # Answer an item with typed fields; then a value that does not fit.
        answer = post(
            team,
            item_url(review_id, ANSWERED, "answer"),
            csrf,
            status="pass",
            **{"field.lockout_threshold": "5", "field.lockout_duration": "15m"},
            owner="team-auth",
            notes="Lockout after 5 failures, see IdP config.",
        )
        kind, text, page = notice(team, answer)
        assert kind == "ok" and "answered pass" in text
        assert f"Answered by {member}" in page
        entry = running.reviews.get(review_id).item(ANSWERED)
        assert (
            entry.assessment.status.value == "pass" and entry.assessment.source.value == "attested"
        )
        assert entry.assessment.fields == {"lockout_threshold": 5, "lockout_duration": "900s"}
        assert entry.owner == "team-auth"
        kind, text, _ = notice(
            team,
            post(
                team,
                item_url(review_id, ANSWERED, "answer"),
                csrf,
                **{"field.lockout_threshold": "five"},
            ),
        )
        assert kind == "error" and "lockout_threshold" in text and "not a number" in text

        # N/A needs a reason.
        kind, text, _ = notice(
            team, post(team, item_url(review_id, NA_ITEM, "na"), csrf, reason=" ")
        )
        assert kind == "error" and "needs a justification" in text
        assert running.reviews.get(review_id).item(NA_ITEM).assessment.status.value == "unknown"
        kind, _, _ = notice(
            team,
            post(
                team, item_url(review_id, NA_ITEM, "na"), csrf, reason="Internal service; no spend."
            ),
        )
        assert kind == "ok"
        entry = running.reviews.get(review_id).item(NA_ITEM)
        assert (
            entry.assessment.status.value == "not_applicable"
            and entry.na_reason == "Internal service; no spend."
        )

        # A waiver: a critical gap is refused, a high one is requested.
        kind, text, _ = notice(
            team,
            post(
                team,
                item_url(review_id, BLOCKERS[0], "waivers"),
                csrf,
                reason="later",
                risk_owner="cto",
            ),
        )
        assert kind == "error" and "does not allow accepting its risk" in text
        kind, text, _ = notice(
            team,
            post(
                team,
                item_url(review_id, WAIVED, "waivers"),
                csrf,
                reason="Rules reviewed quarterly; next review in May.",
                risk_owner="head of platform",
                mitigation="default-deny security groups",
            ),
        )
        assert kind == "ok" and "requested" in text
        (waiver,) = [w for w in running.reviews.get(review_id).waivers if w.item_id == WAIVED]
        assert waiver.state == "requested"

    with signed_in(running, Role.REVIEWER, signoff=("Security",)) as (security, scsrf, _):
        page = security.get(f"/reviews/{review_id}?open={WAIVED}", headers=HTML).text
        assert f"/reviews/{review_id}/waivers/{waiver.id}/decision" in page
        kind, text, _ = notice(
            security,
            post(
                security,
                f"/reviews/{review_id}/waivers/{waiver.id}/decision",
                scsrf,
                role="Security",
                decision="approve",
            ),
        )
        assert kind == "ok" and "approved as Security" in text
        assert running.reviews.get(review_id).item(WAIVED).assessment.is_accepted_risk

        # Approval while blockers are open: refused, naming the blocking items.
        kind, text, _ = notice(
            security,
            post(
                security,
                f"/reviews/{review_id}/signoffs",
                scsrf,
                role="Security",
                decision="approve",
            ),
        )
        assert kind == "error" and "4 blockers are open" in text
        for title in ("All endpoints protected", "Staging mirrors production"):
            assert title in text
        assert running.reviews.get(review_id).signoffs == []

    with signed_in(running, Role.CONTRIBUTOR) as (team, csrf, _):
        for item_id in BLOCKERS:
            kind, _, _ = notice(
                team,
                post(
                    team,
                    item_url(review_id, item_id, "answer"),
                    csrf,
                    status="pass",
                    notes="fixed in 1.4.0",
                ),
            )
            assert kind == "ok"
    assert running.reviews.get(review_id).blockers == []

    with signed_in(running, Role.REVIEWER, signoff=ALL_SIGNOFF) as (lead, lcsrf, lead_name):
        for number, role in enumerate(ALL_SIGNOFF, start=1):
            kind, text, page = notice(
                lead,
                post(
                    lead,
                    f"/reviews/{review_id}/signoffs",
                    lcsrf,
                    role=role,
                    decision="approve",
                    comment="ok",
                ),
            )
            assert kind == "ok", text
            last = number == len(ALL_SIGNOFF)
            assert ("approved and frozen" in text) is last
        view = running.reviews.get(review_id)
        assert view.state == "approved" and view.missing_roles() == []
        assert "frozen" in page and "Save answer" not in page
        assert page.count(lead_name) >= len(ALL_SIGNOFF)

    with signed_in(running, Role.CONTRIBUTOR) as (team, csrf, _):
        kind, text, _ = notice(
            team, post(team, item_url(review_id, ANSWERED, "answer"), csrf, status="fail")
        )
        assert kind == "error" and "frozen" in text
        listing = team.get(
            "/reviews", params={"state": "approved", "service": service}, headers=HTML
        )
        assert f'href="/reviews/{review_id}"' in listing.text
        other = team.get("/reviews", params={"state": "open", "service": service}, headers=HTML)
        assert f'href="/reviews/{review_id}"' not in other.text


def test_reports_download(running: Running, shop_scan: dict[str, Any]) -> None:
    service = seed(running, shop_scan)
    with signed_in(running, Role.VIEWER) as (viewer, _csrf, _):
        review_id = running.reviews.create(
            service, "2.0", checklist=load_checklist("service"), actor="setup"
        )
        page = viewer.get(f"/reviews/{review_id}", headers=HTML).text
        expected = {
            "assessment.md": ("text/markdown", "## Production Readiness Assessment"),
            "assessment.html": ("text/html", "Readiness Assessment"),
            "assessment.csv": ("text/csv", "id,title,category,severity,status"),
            "prd.md": ("text/markdown", "# PRD-PROD-"),
            "runbooks.md": ("text/markdown", "# Database Restoration Runbook"),
            "backlog.csv": ("text/csv", "title,description,due_date,milestone"),
            "backlog.json": ("application/json", '"items"'),
        }
        for name, (kind, known) in expected.items():
            assert f'href="/reviews/{review_id}/{name}"' in page
            answer = viewer.get(f"/reviews/{review_id}/{name}")
            assert answer.status_code == 200, (name, answer.text[:300])
            assert answer.headers["content-type"].startswith(kind), name
            disposition = answer.headers["content-disposition"]
            assert disposition == (
                f'attachment; filename="{service}-2.0-review-{review_id}-{name}"'
            ), disposition
            assert known in answer.text, (name, answer.text[:300])
        rows = list(csv.reader(io.StringIO(viewer.get(f"/reviews/{review_id}/backlog.csv").text)))
        assert len(rows) > 1
        assert viewer.get(f"/reviews/{review_id}/secrets.txt").status_code == 404
        assert viewer.get(f"/reviews/{review_id}/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_csrf_roles_and_scope(running: Running, shop_scan: dict[str, Any]) -> None:
    service = seed(running, shop_scan)
    review_id = running.reviews.create(
        service, "3.0", checklist=load_checklist("service"), actor="setup"
    )
    answer_url = item_url(review_id, ANSWERED, "answer")
    with signed_in(running, Role.CONTRIBUTOR) as (team, csrf, _):
        assert post(team, answer_url, None, status="pass").status_code == 403
        assert post(team, answer_url, "not-the-token", status="pass").status_code == 403
        assert post(team, "/reviews", None, service=service, version="x").status_code == 403
        assert running.reviews.get(review_id).item(ANSWERED).answered_by is None
        # Signing off and deciding waivers need a reviewer holding the role.
        assert (
            post(
                team, f"/reviews/{review_id}/signoffs", csrf, role="Security", decision="approve"
            ).status_code
            == 403
        )
        assert post(team, "/reviews/999999/items/x/answer", csrf, status="pass").status_code == 404

    with signed_in(running, Role.VIEWER) as (viewer, vcsrf, _):
        page = viewer.get(f"/reviews/{review_id}", headers=HTML)
        assert (
            page.status_code == 200
            and "Save answer" not in page.text
            and "Start a review" not in page.text
        )
        for url, data in (
            (answer_url, {"status": "pass"}),
            (item_url(review_id, NA_ITEM, "na"), {"reason": "no"}),
            (item_url(review_id, WAIVED, "waivers"), {"reason": "r", "risk_owner": "o"}),
            ("/reviews", {"service": service, "version": "4.0"}),
            (f"/reviews/{review_id}/signoffs", {"role": "Security", "decision": "approve"}),
        ):
            refused = post(viewer, url, vcsrf, **data)
            assert refused.status_code == 403, url
            assert "role" in refused.text
        assert running.reviews.get(review_id).item(ANSWERED).answered_by is None

    with signed_in(running, Role.REVIEWER, signoff=("Product",)) as (product, pcsrf, _):
        refused = post(
            product, f"/reviews/{review_id}/signoffs", pcsrf, role="Security", decision="approve"
        )
        assert refused.status_code == 403 and "Security" in refused.text
        page = product.get(f"/reviews/{review_id}", headers=HTML).text
        assert '<select name="role"><option>Product</option></select>' in page
        assert product.get("/reviews/999999", headers=HTML).status_code == 404
        elsewhere = running.reviews.create(
            service, "3.1", checklist=load_checklist("service"), actor="setup"
        )
        waiver_id = running.reviews.request_waiver(
            elsewhere, WAIVED, reason="r", risk_owner="o", actor="setup"
        )
        wrong = post(
            product,
            f"/reviews/{review_id}/waivers/{waiver_id}/decision",
            pcsrf,
            role="Product",
            decision="approve",
        )
        assert wrong.status_code == 404
        assert running.reviews.get(elsewhere).waivers[0].state == "requested"

    # Pages take the session cookie only: an API token (here one scoped to another
    # service) never opens them, whatever its scope.
    _name, token = running.user(Role.ADMIN, services=("some-other-service",))
    with running.client(token) as api:
        assert api.get(f"/api/v1/reviews/{review_id}").status_code == 403
        for url in (f"/reviews/{review_id}", "/reviews", f"/reviews/{review_id}/assessment.md"):
            answer = api.get(url, headers=HTML)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), (
                url
            )
        assert api.post(answer_url, data={"status": "pass"}, headers=HTML).status_code == 303
    assert running.reviews.get(review_id).item(ANSWERED).answered_by is None


def test_starting_a_review_refusals(running: Running, shop_scan: dict[str, Any]) -> None:
    service = seed(running, shop_scan)
    with signed_in(running, Role.CONTRIBUTOR) as (team, csrf, _):
        for data, why in (
            ({"service": "no-such-service", "version": "1"}, "push a scan of it first"),
            ({"service": service, "version": "1", "checklist": "../../etc/passwd"}, "no checklist"),
            ({"service": service, "version": "1", "stage": "prod"}, "not a launch stage"),
            ({"service": service, "version": ""}, "Give the service and the version"),
            ({"service": service, "version": "v" * 101}, "at most"),
        ):
            kind, text, _ = notice(team, post(team, "/reviews", csrf, **data))
            assert kind == "error" and why in unquote(text), (data, text)
        # A chosen stage wins over the scan's; platform is another checklist: no scan results.
        review_id = start(running, team, csrf, service, stage="beta")
        assert running.reviews.get(review_id).stage.value == "beta"
        answer = post(team, "/reviews", csrf, service=service, version="2", checklist="platform")
        kind, text, _ = notice(team, answer)
        assert kind == "ok" and "without scan results" in text
        other = int(answer.headers["location"].rsplit("/", 1)[1])
        assert running.reviews.get(other).scan_id is None


def test_filters_and_planted_markup_is_escaped(running: Running, shop_scan: dict[str, Any]) -> None:
    service = seed(running, shop_scan)
    planted = "<script>alert(1)</script>"
    with signed_in(running, Role.CONTRIBUTOR) as (team, csrf, _):
        review_id = start(running, team, csrf, service)
        kind, _, _ = notice(
            team,
            post(
                team,
                item_url(review_id, ANSWERED, "answer"),
                csrf,
                status="fail",
                notes=planted,
                owner=planted,
            ),
        )
        assert kind == "ok"
        notice(
            team,
            post(
                team,
                item_url(review_id, WAIVED, "waivers"),
                csrf,
                reason=planted,
                risk_owner=planted,
            ),
        )
        running.reviews.create(service, planted, checklist=load_checklist("service"), actor=planted)

        page = team.get(f"/reviews/{review_id}", headers=HTML).text
        assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        listing = team.get("/reviews", params={"service": service}, headers=HTML).text
        assert "<script" not in listing and "&lt;script&gt;" in listing

        failing = team.get(f"/reviews/{review_id}", params={"status": "fail"}, headers=HTML).text
        shown = set(re.findall(r'<li id="item-([^"]+)" class="item">', failing))
        view = running.reviews.get(review_id)
        assert len(shown) == sum(1 for i in view.items if i.assessment.status.value == "fail") > 0
        security = team.get(f"/reviews/{review_id}", params={"phase": 2}, headers=HTML).text
        assert "Any security requirements I should know?" in security
        assert "Any infrastructure concerns?" not in security
        ids = re.findall(r'<li id="item-([^"]+)" class="item">', security)
        phase_two = {slug(i.id) for i in view.items if i.ref.phase == 2}
        assert phase_two and set(ids) == phase_two
        opened = team.get(f"/reviews/{review_id}", params={"open": ANSWERED}, headers=HTML).text
        assert opened.count("<details open>") == 1
