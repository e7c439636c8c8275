"""Self-contained HTML for every report: one file, no scripts, nothing from the network.

Documents (:class:`prr.reports.model.Document`) are rendered by a Jinja2
template with autoescaping on, so every string from the evidence — messages,
paths, notes — is escaped; the SVG charts are the only markup inserted as
such, and :mod:`prr.reports.charts` escapes the text inside them. A
Content-Security-Policy forbids scripts and remote resources even if a
browser were to find any. Print styles make the same page the PDF's source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prr._version import __version__
from prr.reports.model import Document, Figure, Heading

if TYPE_CHECKING:
    import jinja2

    from prr.reports.model import ReportModel

TEMPLATES = Path(__file__).resolve().parent / "templates"
TONE_LABELS = {"ok": "ok", "warn": "needs attention", "bad": "failing", "none": "not applicable"}


@dataclass(frozen=True)
class Banner:
    """The line at the top of the page: which service, which report, when, the verdict."""

    service: str
    kind: str
    date: str
    origin: str
    verdict: str | None = None
    tone: str = "none"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _blocks(document: Document, prefix: str, used: set[str]) -> list[dict[str, Any]]:
    """Template-ready blocks: unique heading anchors, SVG marked as safe markup."""
    from markupsafe import Markup

    out: list[dict[str, Any]] = []
    for block in document.blocks:
        data: dict[str, Any] = {"kind": block.kind, **block.__dict__}
        if isinstance(block, Heading):
            anchor = f"{prefix}{block.anchor or 'section'}"
            candidate, number = anchor, 2
            while candidate in used:
                candidate, number = f"{anchor}-{number}", number + 1
            used.add(candidate)
            data["anchor"] = candidate
        elif isinstance(block, Figure):
            # Built by prr.reports.charts, which escapes every string it places in the SVG.
            data["svg"] = Markup(block.svg)
        out.append(data)
    return out


def render_html(
    documents: Sequence[Document],
    *,
    title: str | None = None,
    banner: Banner | None = None,
    tool_version: str = __version__,
) -> str:
    """One HTML page holding ``documents`` (several for the runbooks)."""
    from markupsafe import Markup

    used: set[str] = set()
    views = []
    for number, document in enumerate(documents, start=1):
        prefix = "" if len(documents) == 1 else f"d{number}-"
        views.append({"id": f"doc-{number}", "blocks": _blocks(document, prefix, used)})
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    page_title = title or (documents[0].title if documents else "Report")
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            title=page_title,
            documents=views,
            css=Markup(css),  # our own stylesheet, shipped with prr
            banner=banner or Banner(page_title, "", "", "prr"),
            tone_labels=TONE_LABELS,
            tool_version=tool_version,
        )
    )


def banner_for(model: ReportModel, kind: str) -> Banner:
    """The page banner of a report about ``model``."""
    tone = {"READY": "ok", "CONDITIONAL": "warn", "NOT READY": "bad"}[model.verdict.value]
    origin = f"review {model.review_id}" if model.review_id is not None else "a repository scan"
    return Banner(
        model.service,
        kind,
        model.assessment_date.isoformat(),
        origin,
        model.verdict.value,
        tone,
    )
