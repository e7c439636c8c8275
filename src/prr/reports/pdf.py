"""PDF reports: the self-contained HTML page printed by WeasyPrint.

WeasyPrint needs Pango (Debian: ``libpango-1.0-0``, ``libpangoft2-1.0-0``)
and fonts (``fonts-dejavu-core``). It is told to fetch nothing: the page has
no external resources, and a link in untrusted text must not make the PDF
renderer reach the network or the file system.
"""

from __future__ import annotations

from typing import Any

from prr.errors import PrrError


class PdfUnavailable(PrrError):
    """WeasyPrint (or a system library it needs) is not installed."""


def _no_fetching() -> Any:
    try:
        from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]
    except ImportError:  # WeasyPrint before URLFetcher: a plain function is the fetcher.

        def refuse(url: str, *args: Any, **kwargs: Any) -> Any:
            raise ValueError(f"prr reports load no resources ({url[:40]})")

        return refuse
    return URLFetcher(allowed_protocols=["data"], fail_on_errors=False)


def render_pdf(html: str) -> bytes:
    """The PDF of an HTML page made by :func:`prr.reports.html.render_html`."""
    try:
        from weasyprint import HTML  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(
            "PDF output needs WeasyPrint and Pango: pip install weasyprint; on Debian "
            f"apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core ({exc})"
        ) from None
    document: bytes = HTML(string=html, url_fetcher=_no_fetching()).write_pdf()
    return document
