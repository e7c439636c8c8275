"""The web pages in a real headless Chromium: a review from sign-in to the downloaded PRD.

One uvicorn server on a temporary SQLite store holds a real scan of a copy of
examples/shop-api whose on-call guide carries planted markup in its heading (the
docs checks quote that heading in their evidence). People sign in through the
login form and click, type and submit as users do. Every step leaves a
screenshot (in ``$PRR_E2E_SCREENSHOTS``, else a temporary folder), and the
browser's console, page errors, failed responses and CSP violations are watched
over the whole flow.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Response,
    expect,
    sync_playwright,
)
from typer.testing import CliRunner

from prr.cli import app as cli_app
from prr.review.reviews import ScanRecord
from prr.server import create_app
from prr.server.pages.common import slug
from prr.store.users import Role
from tests.live.servers import find_binary, free_port
from tests.server.conftest import PASSWORD, SETTINGS, Running

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop-api"
SCRIPT = "<script>window.__pwned=1</script>"
IMAGE = '<img src=x onerror="window.__pwned=1">'
SERVICE, VERSION = "shop-api", "1.4.0"
ANSWERED = "security.authentication.account-lockout-policy"  # high, unknown, typed fields
WAIVED = "infrastructure.networking.firewall-rules-reviewed"  # high, failing: an issue
TEAM = "team@example.org"
SECURITY = "security@example.org"  # reviewer: Security
LEAD = "lead@example.org"  # reviewer: Engineering Lead and Operations
PRODUCT = "product@example.org"  # reviewer: Product
# Reports every CSP violation to the test, whatever page is loaded (added before any page script).
VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__prrViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` on ${event.documentURI}`);
});
"""


# -- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return find_binary("chromium")
    except RuntimeError:
        pytest.skip("chromium is not installed (scripts/test-deps.sh installs it)")


@pytest.fixture(scope="module")
def scan_doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real scan of a copy of the example whose on-call guide's heading carries markup."""
    root = tmp_path_factory.mktemp("e2e-source") / "shop-api"
    shutil.copytree(EXAMPLE, root)
    guide = root / "docs" / "oncall.md"
    lines = guide.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[0].startswith("# On-call")
    lines[0] = f"# On-call for shop-api {SCRIPT} {IMAGE}\n"
    guide.write_text("".join(lines), encoding="utf-8")
    run = CliRunner().invoke(
        cli_app, ["scan", str(root), "-f", "json", "--fail-on", "never"], catch_exceptions=False
    )
    assert run.exit_code == 0, run.stderr
    doc: dict[str, Any] = json.loads(run.stdout)
    quoted = [
        e["summary"]
        for i in doc["items"]
        for e in i.get("evidence") or []
        if SCRIPT in e["summary"] and IMAGE in e["summary"]
    ]
    assert quoted, "the planted heading is not quoted in any finding"
    assert doc["target"]["service"] == SERVICE and doc["summary"]["blockers"] == 4
    return doc


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, scan_doc: dict[str, Any]) -> Iterator[Running]:
    """A real server on a temporary SQLite store, with the scan and a second, cleaner service."""
    store_url = f"sqlite:///{tmp_path_factory.mktemp('e2e-store') / 'prr.db'}"
    app = create_app(store_url, SETTINGS)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    running = Running(f"http://127.0.0.1:{port}", store_url, app.state.accounts, app.state.reviews)
    running.reviews.record_scan(ScanRecord.from_document(scan_doc), scan_doc, source="push")
    ledger = copy.deepcopy(scan_doc)
    ledger["target"].update(service="ledger-api", owner="team-ledger")
    for item in ledger["items"]:
        if item["blocker"]:
            item.update(status="pass", blocker=False, issue=False)
    ledger["summary"]["blockers"], ledger["verdict"] = 0, "CONDITIONAL"
    running.reviews.record_scan(ScanRecord.from_document(ledger), ledger, source="push")
    for name, role, signoff in (
        (TEAM, Role.CONTRIBUTOR, ()),
        (SECURITY, Role.REVIEWER, ("Security",)),
        (LEAD, Role.REVIEWER, ("Engineering Lead", "Operations")),
        (PRODUCT, Role.REVIEWER, ("Product",)),
    ):
        running.accounts.create_user(name, role=role, password=PASSWORD, signoff_roles=signoff)
    yield running
    server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # root cannot use Chromium's sandbox
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium, headless=True, args=args)
        yield launched
        launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Shots:
    folder = Path(os.environ.get("PRR_E2E_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {folder}")
    return Shots(folder)


# -- helpers ----------------------------------------------------------------------------------
@dataclass
class Shots:
    folder: Path
    taken: list[Path] = field(default_factory=list)

    def take(self, page: Page, step: str, *, at: Locator | None = None) -> None:
        """A screenshot of the viewport named after the step, ``at`` scrolled into view."""
        if at is not None:
            at.scroll_into_view_if_needed()
        path = self.folder / f"{len(self.taken) + 1:02d}-{step}.png"
        page.screenshot(path=str(path))
        self.taken.append(path)


@dataclass
class Watch:
    """What the browser reported: console errors, page errors, failed responses, CSP reports."""

    problems: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    favicon: list[str] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        context.expose_function("__prrViolation", self._violation)
        context.add_init_script(VIOLATIONS)
        context.on("console", self._console)
        context.on("weberror", lambda error: self.problems.append(f"page error: {error.error}"))
        context.on("response", self._response)

    def _violation(self, report: str) -> None:
        self.violations.append(report)

    def _console(self, message: ConsoleMessage) -> None:
        where = message.location.get("url", "")
        if message.type == "error" and where.endswith("/favicon.ico"):
            self.favicon.append(message.text)  # the browser's own favicon request
        elif message.type == "error" or "Content Security Policy" in message.text:
            self.problems.append(f"console {message.type}: {message.text} ({where})")

    def _response(self, response: Response) -> None:
        if response.url.endswith("/favicon.ico"):
            self.favicon.append(f"{response.status} {response.url}")
        elif response.status >= 400:
            self.problems.append(f"{response.status} from {response.url}")


def notice(page: Page) -> Locator:
    return page.locator('main > p.notice[role="status"]')


def expect_notice(page: Page, kind: str, text: str | re.Pattern[str]) -> None:
    shown = notice(page)
    expect(shown).to_have_class(re.compile(rf"\bnotice-{kind}\b"))
    expect(shown).to_contain_text(text)


def sign_in(page: Page, url: str, name: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Readiness scoreboard")
    expect(page.locator("header form.who")).to_contain_text(name)


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect_notice(page, "ok", "Signed out.")


def open_review(page: Page, review_id: int) -> None:
    """From any page, through the Reviews list, as a user finds it."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reviews").click()
    page.get_by_role("link", name=f"#{review_id}", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Review {review_id}:")


def open_item(page: Page, item_id: str) -> Locator:
    """The item's entry on the review page, unfolded by a click on its summary."""
    item = page.locator(f"li#item-{slug(item_id)}")
    if item.locator("details").get_attribute("open") is None:
        item.locator("summary").click()
    expect(item.locator("div.ibody")).to_be_visible()
    return item


def answer_form(item: Locator) -> Locator:
    return item.locator('form[action$="/answer"]')


def sign_off(page: Page, role: str, comment: str) -> None:
    form = page.locator("form.signoff-form")
    form.get_by_label("As").select_option(role)
    form.get_by_label("Comment").fill(comment)
    form.get_by_role("button", name="Approve").click()


# -- the flow ---------------------------------------------------------------------------------
def test_a_review_from_sign_in_to_the_prd(
    site: Running, browser: Browser, shots: Shots, scan_doc: dict[str, Any]
) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    watch = Watch()
    watch.attach(context)
    page = context.new_page()
    url = site.url

    # Sign in with the keyboard only: the name field has the focus, Tab to the password, Enter.
    page.goto(f"{url}/")
    expect(page).to_have_url(f"{url}/login?next=%2F")
    expect(page.get_by_label("Name")).to_be_focused()
    page.keyboard.type(TEAM)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    shots.take(page, "login-form")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Readiness scoreboard")

    # The scoreboard: the service's row and verdict, the rollup by team.
    row = page.locator("table.services tbody tr").filter(
        has=page.get_by_role("link", name=SERVICE, exact=True)
    )
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(0)).to_have_text("team-checkout")
    expect(row.locator(".verdict")).to_have_text("NOT READY")
    expect(row.locator("td.num").first).to_have_text("4")  # blockers
    expect(page.locator("p.summary")).to_contain_text("2 services")
    rollup = page.locator("table.rollup tbody tr")
    expect(rollup).to_have_count(2)
    checkout = rollup.filter(has=page.get_by_role("rowheader", name="team-checkout"))
    share = re.compile(r"^\d+%$")
    # Services, READY, CONDITIONAL, NOT READY, not scanned, open blockers, verified
    expect(checkout.locator("td.num")).to_have_text(["1", "0", "0", "1", "0", "4", share])
    ledger = rollup.filter(has=page.get_by_role("rowheader", name="team-ledger"))
    expect(ledger.locator("td.num")).to_have_text(["1", "0", "1", "0", "0", "0", share])
    shots.take(page, "scoreboard")

    # The service page: the planted markup is text in the evidence, and nothing ran.
    row.get_by_role("link", name=SERVICE, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(SERVICE)
    expect(page.get_by_role("heading", level=1).locator(".verdict")).to_have_text("NOT READY")
    planted = page.get_by_text(SCRIPT)
    assert planted.count() >= 1
    expect(planted.first).to_be_visible()
    expect(planted.first).to_contain_text(IMAGE)
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("script").count() == 0 and page.locator('img[src="x"]').count() == 0
    shots.take(page, "service-planted-text", at=planted.first)

    # Start a review with the keyboard: Tab to the form's Service field, type, Enter.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reviews").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reviews")
    start_form = page.locator('form[method="post"][action="/reviews"]')
    for _ in range(60):
        page.keyboard.press("Tab")
        if start_form.get_by_label("Service", exact=True).evaluate(
            "field => field === document.activeElement"
        ):
            break
    expect(start_form.get_by_label("Service", exact=True)).to_be_focused()
    page.keyboard.type(SERVICE)
    page.keyboard.press("Tab")
    expect(start_form.get_by_label("Version")).to_be_focused()
    page.keyboard.type(VERSION)
    shots.take(page, "start-review-form", at=start_form)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"{re.escape(url)}/reviews/\d+$"))
    review_id = int(page.url.rsplit("/", 1)[1])
    expect_notice(page, "ok", "Review")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Review {review_id}: {SERVICE} {VERSION}"
    )
    blocker_links = page.locator("ul.blockers a")
    expect(blocker_links).to_have_count(4)
    blocker_titles = blocker_links.all_inner_texts()
    blocker_ids = [
        parse_qs(urlsplit(href or "").query)["open"][0]
        for href in (blocker_links.nth(n).get_attribute("href") for n in range(4))
    ]
    shots.take(page, "review-started")

    # Answer an item: status, its typed fields, owner and notes.
    item = open_item(page, ANSWERED)
    form = answer_form(item)
    form.get_by_label("Status").select_option("pass")
    form.get_by_label("Failed attempts before lockout").fill("5")
    form.get_by_label("Lockout duration").fill("15m")
    form.get_by_label("Owner").fill("team-auth")
    form.get_by_label("Notes").fill("Lockout after 5 failures, see the IdP config.")
    form.get_by_role("button", name="Save answer").click()
    expect_notice(page, "ok", "answered pass.")
    item = page.locator(f"li#item-{slug(ANSWERED)}")
    expect(item.locator("summary .status")).to_have_text("✓ pass")
    expect(item.locator("summary .src")).to_have_text("source: answer")
    expect(item.locator("div.ibody")).to_contain_text(f"Answered by {TEAM}")
    expect(item.locator("div.ibody > p.notice")).to_contain_text("answered pass.")
    shots.take(page, "item-answered", at=item)

    # Ask for a waiver of a high, failing item.
    item = open_item(page, WAIVED)
    waiver = item.locator('form[action$="/waivers"]')
    waiver.get_by_label("Reason").fill("Rules reviewed quarterly; next review in May.")
    waiver.get_by_label("Risk owner").fill("head of platform")
    waiver.get_by_label("Mitigation").fill("default-deny security groups")
    waiver.get_by_role("button", name="Request waiver").click()
    expect_notice(page, "ok", re.compile(r"Waiver \d+ requested"))
    expect(page.locator(f"li#item-{slug(WAIVED)} .wstate")).to_contain_text("requested")
    sign_out(page)

    # Security decides the waiver, then tries to approve while blockers are open.
    sign_in(page, url, SECURITY)
    open_review(page, review_id)
    item = open_item(page, WAIVED)
    decision = item.locator('form[action$="/decision"]')
    decision.get_by_label("As").select_option("Security")
    decision.get_by_role("button", name="Approve").click()
    expect_notice(page, "ok", "approved as Security.")
    expect(page.locator(f"li#item-{slug(WAIVED)} summary")).to_contain_text("risk accepted")
    sign_off(page, "Security", "looks fine")
    expect_notice(page, "error", "Approval refused: 4 blockers are open")
    for title in blocker_titles:
        expect(notice(page)).to_contain_text(title)
    expect(page.locator("table.signoffs")).not_to_contain_text("✓ approved")
    shots.take(page, "signoff-refused")
    sign_out(page)

    # The team fixes the blockers and answers them from the list of failing items.
    sign_in(page, url, TEAM)
    open_review(page, review_id)
    by_status = page.get_by_role("navigation", name="Filter items by status")
    by_status.get_by_role("link", name=re.compile(r"^fail \(")).click()
    expect(page).to_have_url(re.compile(r"status=fail"))
    for item_id, title in zip(blocker_ids, blocker_titles, strict=True):
        form = answer_form(open_item(page, item_id))
        form.get_by_label("Status").select_option("pass")
        form.get_by_label("Notes").fill("Fixed in 1.4.0.")
        form.get_by_role("button", name="Save answer").click()
        expect_notice(page, "ok", f"{title}: answered pass.")
        expect(page).to_have_url(re.compile(r"status=fail"))  # the filter stays
        expect(page.locator(f"li#item-{slug(item_id)}")).to_have_count(0)
    expect(page.locator("ul.blockers")).to_have_count(0)
    expect(page.locator("#blockers + p")).to_have_text("No blockers are open.")
    shots.take(page, "blockers-resolved")
    sign_out(page)

    # Every required role approves, each by a person who holds it.
    for name, roles in (
        (LEAD, ("Engineering Lead", "Operations")),
        (PRODUCT, ("Product",)),
        (SECURITY, ("Security",)),
    ):
        sign_in(page, url, name)
        open_review(page, review_id)
        for role in roles:
            sign_off(page, role, f"ok from {role}")
            expect_notice(page, "ok", f"Approved as {role}.")
        if name != SECURITY:
            sign_out(page)
    expect_notice(page, "ok", "the review is approved and frozen")
    expect(page.locator(".facts .state")).to_have_text("approved")
    expect(page.locator("table.signoffs .d-approve")).to_have_count(4)
    expect(page.get_by_role("button", name="Save answer")).to_have_count(0)
    shots.take(page, "review-approved")

    # The Readiness PRD, downloaded as a user clicks it.
    prd = page.locator("ul.downloads li").filter(has_text="Readiness PRD")
    with page.expect_download() as info:
        prd.get_by_role("link", name="Markdown").click()
    download = info.value
    assert download.suggested_filename == f"{SERVICE}-{VERSION}-review-{review_id}-prd.md"
    saved = shots.folder / download.suggested_filename
    download.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert re.search(r"^# PRD-PROD-", text, re.M), text[:300]
    assert SERVICE in text
    shots.take(page, "reports", at=prd)

    # Without the CSP, escaping alone keeps the planted markup inert.
    bare = browser.new_context(bypass_csp=True, storage_state=context.storage_state())
    bare_watch = Watch()
    bare_watch.attach(bare)
    bare_page = bare.new_page()
    for path in (f"/services/{SERVICE}", f"/reviews/{review_id}"):
        bare_page.goto(url + path)
        expect(bare_page.get_by_role("heading", level=1)).to_be_visible()
        assert bare_page.evaluate("window.__pwned === undefined"), path
        assert bare_page.locator('img[src="x"]').count() == 0, path
    expect(bare_page.get_by_text(SCRIPT).first).to_be_attached()
    bare.close()
    assert bare_watch.problems == [], bare_watch.problems

    sign_out(page)
    shots.take(page, "signed-out")
    page.goto(f"{url}/reviews/{review_id}")
    expect(page).to_have_url(f"{url}/login?next=%2Freviews%2F{review_id}")

    assert watch.problems == [], watch.problems
    assert watch.violations == [], watch.violations
    # The watch itself works: a style attribute set by a script is a reported violation.
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    for _ in range(50):
        if watch.violations and watch.problems:
            break
        page.wait_for_timeout(100)
    assert any("style-src" in v for v in watch.violations), watch.violations
    assert any("Content Security Policy" in p for p in watch.problems), watch.problems
    context.close()
    if watch.favicon:
        print(f"the browser asked for a favicon: {watch.favicon}")
    assert len(shots.taken) == 11 and all(p.stat().st_size > 10_000 for p in shots.taken)
