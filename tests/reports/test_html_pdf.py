"""HTML (self-contained, escaped, rendered in Chromium) and PDF (WeasyPrint, text checked)."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pypdf import PdfReader

from prr.cli.report import ReportFormat, ReportType, render
from prr.reports.model import TrendPoint
from tests.reports.test_assessment import (
    SHOP,
    TODAY,
    check_golden,
    shop_assessment,
    shop_facts,
    shop_model,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

PAYLOAD = "<script>alert(1)</script>"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TREND = [
    TrendPoint(dt.date(2026, 10, 1), 9, 30),
    TrendPoint(dt.date(2026, 10, 20), 6, 24),
    TrendPoint(dt.date(2026, 11, 5), 5, 19),
    TrendPoint(TODAY, 4, 17),
]


class Tags(HTMLParser):
    """Every start tag with its attributes, to check what a page could load or run."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(page)
    return parser.tags


def _html(kind: ReportType, **overrides: object) -> str:
    rendered = render(shop_model(**overrides), kind, ReportFormat.HTML)  # type: ignore[arg-type]
    assert isinstance(rendered, str)
    return rendered


@pytest.mark.parametrize("kind", list(ReportType))
def test_golden(kind: ReportType) -> None:
    check_golden(f"shop-api/{kind.value}.html", _html(kind))


@pytest.mark.parametrize("kind", list(ReportType))
def test_self_contained_and_structured(kind: ReportType) -> None:
    page = _html(kind, trend=TREND)
    tags = _tags(page)
    names = [t for t, _ in tags]
    assert page.startswith("<!doctype html>") and names.count("html") == 1
    assert not {"script", "iframe", "object", "embed", "img", "link", "base"} & set(names)
    assert not any(k.startswith("on") for _, attrs in tags for k in attrs), "event handlers"
    assert not any("src" in attrs for _, attrs in tags)
    hrefs = [attrs["href"] for t, attrs in tags if t == "a"]
    assert all(h and h.startswith("https://") for h in hrefs), hrefs
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "@media print" in page and "@page" in page
    ids = [attrs["id"] for _, attrs in tags if attrs.get("id")]
    assert len(ids) == len(set(ids)), "heading anchors are unique"
    if kind in (ReportType.ASSESSMENT, ReportType.PRD):
        for chart in ("chart-category-status", "chart-evidence-share", "chart-trend"):
            assert f'class="chart {chart}"' in page, chart
        assert names.count("table") >= 5


def _plant(root: Path) -> None:
    """Untrusted text in the scanned files: an Ingress name, an alert summary, a link."""
    ingress = root / "deploy/k8s/base/ingress.yaml"
    ingress.write_text(
        ingress.read_text().replace("  name: shop-api\n", f'  name: "{PAYLOAD}"\n', 1)
    )
    rules = root / "deploy/k8s/base/prometheusrule.yaml"
    text = rules.read_text()
    text = text.replace("summary: No shop-api instance is up", f'summary: "{PAYLOAD} is up"')
    text = text.replace(
        "runbook_url: https://github.com/example-shop/shop-api/blob/main/docs/runbooks/service-down.md",
        "runbook_url: javascript:alert(1)",
        1,
    )
    rules.write_text(text)


def test_untrusted_text_is_escaped_everywhere(tmp_path: Path) -> None:
    root = tmp_path / "shop-api"
    shutil.copytree(SHOP, root)
    _plant(root)
    scanned = shop_assessment(root)
    planted = shop_model(scanned, facts=False)
    with_facts = shop_model(scanned, facts=shop_facts(root))
    assert any(PAYLOAD in i.message for i in planted.items), "the payload must reach a message"
    assert any(a.summary and PAYLOAD in a.summary for a in with_facts.alerts)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for model in (planted, with_facts):
        for kind in ReportType:
            page = render(model, kind, ReportFormat.HTML)
            assert isinstance(page, str)
            assert "<script" not in page.lower(), kind
            assert "javascript:" not in page.lower().replace("javascript:alert(1)</td>", ""), kind
            assert all(
                (attrs.get("href") or "").startswith("https://")
                for tag, attrs in _tags(page)
                if tag == "a"
            )
            markdown = render(model, kind, ReportFormat.MD)
            assert isinstance(markdown, str)
            # Inside fenced code (a fix snippet quoting the file) text is literal, never HTML.
            prose = re.sub(r"^(`{3,})[^\n]*\n.*?^\1$", "", markdown, flags=re.S | re.M)
            assert PAYLOAD not in prose and "(<javascript:" not in markdown, kind
    assert escaped in str(render(planted, ReportType.ASSESSMENT, ReportFormat.HTML))
    runbook_page = str(render(with_facts, ReportType.RUNBOOKS, ReportFormat.HTML))
    assert f"<td>{escaped} is up</td>" in runbook_page
    runbook_md = str(render(with_facts, ReportType.RUNBOOKS, ReportFormat.MD))
    assert "| ShopApiAbsent | critical | &lt;script>alert(1)&lt;/script> is up |" in runbook_md
    assert with_facts.architecture is not None
    mermaid = with_facts.architecture.mermaid()
    assert "Ingress #60;script#62;alert(1)#60;/script#62;" in mermaid and PAYLOAD not in mermaid
    prd_page = str(render(with_facts, ReportType.PRD, ReportFormat.HTML))
    assert "Ingress #60;script#62;" in prd_page and f">{escaped}</text>" in prd_page


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


@pytest.fixture(scope="module")
def pdfs() -> dict[ReportType, bytes]:
    model = shop_model(trend=TREND)
    out: dict[ReportType, bytes] = {}
    for kind in ReportType:
        rendered = render(model, kind, ReportFormat.PDF)
        assert isinstance(rendered, bytes)
        out[kind] = rendered
    return out


def test_pdf_text(pdfs: dict[ReportType, bytes], tmp_path: Path) -> None:
    expected = {
        ReportType.ASSESSMENT: [
            "Production Readiness Assessment",
            "Assessment Date: 2026-11-23",
            "Overall Status: NOT READY",
            "BLOCK-004",
            "Metrics Baseline",
            "Engineering Lead",
        ],
        ReportType.PRD: [
            "PRD-PROD-001: Production Readiness Gaps",
            "Target Launch: 2027-01-03",
            "T-1 Week — Sun 2026-12-27",
            "T+1 Day — Mon 2027-01-04",
            "Re-run prr scan and check security.kubernetes.rate-limiting passes",
            "D. Architecture Diagram",
        ],
        ReportType.RUNBOOKS: [
            "Database Restoration Runbook",
            "kubectl rollout undo deployment/shop-api -n shop",
            "Incident Response Runbook",
            "On-Call Handover",
        ],
        ReportType.BACKLOG: ["Readiness Backlog — shop-api", "[shop-api] BLOCK-001"],
    }
    for kind, data in pdfs.items():
        assert data.startswith(b"%PDF-"), kind
        text = _pdf_text(data)
        for phrase in expected[kind]:
            assert phrase in text, (kind, phrase)
        assert "fingerprint" not in text and "<script" not in text
    # The same through poppler's pdftotext, as a reader other than the one that wrote it.
    path = tmp_path / "assessment.pdf"
    path.write_bytes(pdfs[ReportType.ASSESSMENT])
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    assert "Production Readiness Assessment" in done.stdout
    assert re.search(r"Security\s+Blocked\s+3", done.stdout)
    assert len(PdfReader(io.BytesIO(pdfs[ReportType.PRD])).pages) > 10


def _watch(page: Page) -> tuple[list[str], list[str]]:
    """Every URL the page requests and every script error it raises."""
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: problems.append(str(error)))
    return requests, problems


def test_html_renders_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    pages = {
        "assessment": _html(ReportType.ASSESSMENT, trend=TREND),
        "prd": _html(ReportType.PRD, trend=TREND),
    }
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for name, page_html in pages.items():
                path = tmp_path / f"{name}.html"
                path.write_text(page_html, encoding="utf-8")
                page = browser.new_page(viewport={"width": 1200, "height": 1600})
                requests, problems = _watch(page)
                page.goto(path.as_uri())
                shot = tmp_path / f"{name}.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 20_000
                assert requests == [path.as_uri()], requests
                assert not problems and page.evaluate("document.scripts.length") == 0
                charts = ["chart-category-status", "chart-evidence-share", "chart-trend"]
                if name == "prd":
                    charts.append("chart-architecture")
                for chart in charts:
                    svg = page.locator(f"svg.{chart}")
                    assert svg.count() == 1 and svg.is_visible(), chart
                    box = svg.bounding_box()
                    assert box and box["width"] > 100 and box["height"] > 50, (chart, box)
                bars = page.locator("svg.chart-category-status rect.bar")
                assert bars.count() >= 7
                for number in range(bars.count()):
                    box = bars.nth(number).bounding_box()
                    assert box and box["width"] > 0 and box["height"] > 0
                lines = page.locator("svg.chart-trend polyline")
                line_box = lines.first.bounding_box()
                assert lines.count() == 2 and line_box and line_box["width"] > 0
                if name == "assessment":  # the executive summary: one row per category
                    assert page.locator("table").first.locator("tbody tr").count() == 7
                page.emulate_media(media="print")
                assert page.locator("svg.chart-category-status").is_visible()
                page.close()
        finally:
            browser.close()
