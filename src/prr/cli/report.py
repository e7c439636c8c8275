"""``prr report``: the Readiness Assessment, the Readiness PRD, runbooks and the backlog.

Without a review id it scans ``--path`` and reports on that scan; with one it
reads the review from the store (``--database``, ``PRR_DATABASE_URL``, or
``.prr/prr.db`` beside ``prr.yaml``). Formats: Markdown, self-contained HTML,
PDF, JSON (docs/reports.md) and CSV.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from prr.cli._output import EXIT_RUN_FAILED, EXIT_USAGE, console, fail, write_text

if TYPE_CHECKING:
    from prr.collectors.base import Facts
    from prr.engine.scan import Assessment
    from prr.reports.model import ReportModel


class ReportType(StrEnum):
    ASSESSMENT = "assessment"
    PRD = "prd"
    RUNBOOKS = "runbooks"
    BACKLOG = "backlog"


class ReportFormat(StrEnum):
    MD = "md"
    HTML = "html"
    PDF = "pdf"
    JSON = "json"
    CSV = "csv"


TITLES = {
    ReportType.ASSESSMENT: "Readiness Assessment",
    ReportType.PRD: "Readiness PRD",
    ReportType.RUNBOOKS: "Runbooks",
    ReportType.BACKLOG: "Backlog",
}
# Reports that use collector facts (architecture diagram, runbook commands).
NEEDS_FACTS = (ReportType.PRD, ReportType.RUNBOOKS)


def report(
    review_id: Annotated[
        int | None,
        typer.Argument(
            help="A review in the store; without it the repository at --path is scanned."
        ),
    ] = None,
    path: Annotated[
        Path, typer.Option("--path", "-p", help="The repository (default: the current folder).")
    ] = Path(),
    kind: Annotated[
        ReportType, typer.Option("--type", "-t", help="Which report.")
    ] = ReportType.ASSESSMENT,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="Output format.")] = (
        ReportFormat.MD
    ),
    output: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", help="File to write (a folder for --type runbooks --format md)."
        ),
    ] = None,
    assessor: Annotated[
        str | None, typer.Option("--as", help="The assessor named in the report.")
    ] = None,
    launch_date: Annotated[
        str | None, typer.Option("--launch-date", help="Target launch date, YYYY-MM-DD.")
    ] = None,
    context: Annotated[
        list[str] | None,
        typer.Option(
            "--context",
            "-c",
            help="Review context KEY=VALUE (repeatable): uptime_target, expected_rps, peak_rps, "
            "latency_target_p95, error_rate_target …",
        ),
    ] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="The version reported on (scans).")
    ] = None,
    date: Annotated[
        str | None,
        typer.Option("--date", help="Report date, YYYY-MM-DD (default: today, or the scan's)."),
    ] = None,
    database: Annotated[
        str | None, typer.Option("--database", help="Store URL (default: PRR_DATABASE_URL).")
    ] = None,
) -> None:
    """Write a readiness report: assessment, PRD, runbooks or backlog."""
    from prr.errors import PrrError

    if fmt is ReportFormat.CSV and kind is ReportType.RUNBOOKS:
        raise typer.BadParameter("runbooks have no CSV form; use md, html, pdf or json")
    if kind is ReportType.RUNBOOKS and fmt is ReportFormat.MD and not output:
        raise typer.BadParameter(
            "--type runbooks --format md writes one file per runbook: give --output DIR",
            param_hint="--output",
        )
    if fmt is ReportFormat.PDF and not output and sys.stdout.isatty():
        raise typer.BadParameter("a PDF is not for the terminal: give --output FILE")
    values = _context(context, launch_date)
    today = _iso_date(date, "--date") if date else None
    try:
        if review_id is not None:
            model = _from_review(review_id, path, database, kind, today, assessor, values)
        else:
            model = _from_scan(path, database, kind, today, assessor, values, version)
        _emit(model, kind, fmt, output)
    except PrrError as exc:
        _problem(exc)
    except typer.Exit:
        raise
    except OSError as exc:
        console(stderr=True).print(
            f"[bold red]error:[/] cannot write the report: {exc}", markup=True, highlight=False
        )
        raise typer.Exit(EXIT_RUN_FAILED) from None


def _problem(exc: Exception) -> None:
    from prr.errors import PrrError
    from prr.model.target import TargetError

    if isinstance(exc, TargetError):
        for problem in exc.problems:
            console(stderr=True).print(f"[bold red]error:[/] {problem}", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    assert isinstance(exc, PrrError)
    fail(exc)


def _iso_date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


def _context(pairs: list[str] | None, launch_date: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--context")
        value: Any = raw.strip()
        with contextlib.suppress(ValueError):
            value = json.loads(raw)
        values[key.strip()] = value
    if launch_date:
        values["launch_date"] = _iso_date(launch_date, "--launch-date").isoformat()
    return values


def _default_assessor(root: Path) -> str:
    """The person running prr: prr.cli._identity's rule when present, else git, else the OS."""
    import getpass
    import importlib
    import subprocess

    try:
        identity = importlib.import_module("prr.cli._identity")
    except ImportError:
        identity = None
    if identity is not None and hasattr(identity, "actor"):
        return str(identity.actor(None))
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "config", "user.email"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return getpass.getuser()


def _collect_facts(root: Path, assessment: Assessment | None = None) -> Facts | None:
    """The collector facts of ``root`` (the engine does not return them with the scan yet)."""
    from prr.collectors.base import load_builtin_collectors
    from prr.engine.scan import collect_facts
    from prr.model.target import load_target

    found = getattr(assessment, "facts", None) if assessment is not None else None
    if found is not None:
        return found  # type: ignore[no-any-return]
    target = assessment.target if assessment is not None else load_target(root)
    collectors = sorted(load_builtin_collectors().values(), key=lambda c: c.name)
    facts, _ = collect_facts(root.resolve(), target, collectors)
    return facts


def _from_scan(
    path: Path,
    database: str | None,
    kind: ReportType,
    today: dt.date | None,
    assessor: str | None,
    context: dict[str, Any],
    version: str | None,
) -> ReportModel:
    import os

    from prr.engine.scan import ScanOptions, run_scan
    from prr.reports.model import TrendPoint, from_assessment, trend_from_store
    from prr.review.policy import load_policy
    from prr.store.db import DATABASE_ENV, open_store

    if not path.is_dir():
        console(stderr=True).print(f"[bold red]error:[/] {path}: not a directory")
        raise typer.Exit(EXIT_USAGE)
    policy = load_policy()
    try:
        assessment = run_scan(ScanOptions(root=path))
    except Exception as exc:
        from prr.errors import PrrError

        if isinstance(exc, PrrError):
            raise
        console(stderr=True).print(f"[bold red]error:[/] the scan failed: {type(exc).__name__}")
        raise typer.Exit(EXIT_RUN_FAILED) from None
    facts = _collect_facts(path, assessment) if kind in NEEDS_FACTS else None
    trend: list[TrendPoint] = []
    # Past scans only from an existing store: a report never creates one.
    if database or os.environ.get(DATABASE_ENV) or (path / ".prr" / "prr.db").is_file():
        store = open_store(path, database)
        try:
            trend = trend_from_store(store, assessment.target.service)
        finally:
            store.close()
    when = today or assessment.started_at.date()
    trend.append(TrendPoint(when, len(assessment.blockers), len(assessment.issues)))
    return from_assessment(
        assessment,
        facts=facts,
        today=today,
        assessor=assessor or _default_assessor(path),
        version=version,
        context=context,
        roles=policy.required_roles,
        trend=trend,
    )


def _from_review(
    review_id: int,
    path: Path,
    database: str | None,
    kind: ReportType,
    today: dt.date | None,
    assessor: str | None,
    context: dict[str, Any],
) -> ReportModel:
    from prr.model.target import TARGET_FILE, load_target
    from prr.reports.model import from_review
    from prr.review.policy import load_policy
    from prr.review.reviews import Reviews
    from prr.store.db import open_store

    store = open_store(path, database)
    try:
        view = Reviews(store, load_policy(), today=today).get(review_id)
        facts = None
        # The repository's facts, when --path is the reviewed service's repository.
        if (
            kind in NEEDS_FACTS
            and (path / TARGET_FILE).is_file()
            and load_target(path).service == view.service
        ):
            facts = _collect_facts(path)
        return from_review(
            view, store=store, facts=facts, today=today, assessor=assessor, context=context
        )
    finally:
        store.close()


def render(model: ReportModel, kind: ReportType, fmt: ReportFormat) -> str | bytes:
    """One report as text (or PDF bytes); runbooks in Markdown are written by :func:`_emit`."""
    from prr.reports import assessment, backlog, prd, runbooks
    from prr.reports.html import banner_for, render_html
    from prr.reports.model import Document, to_markdown

    if fmt is ReportFormat.JSON:
        data = {
            ReportType.ASSESSMENT: assessment.report_dict,
            ReportType.PRD: prd.prd_dict,
            ReportType.RUNBOOKS: runbooks.runbooks_dict,
            ReportType.BACKLOG: backlog.backlog_dict,
        }[kind](model)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt is ReportFormat.CSV:
        return {
            ReportType.ASSESSMENT: assessment.assessment_csv,
            ReportType.PRD: prd.prd_csv,
            ReportType.BACKLOG: backlog.backlog_csv,
        }[kind](model)
    documents: list[Document]
    if kind is ReportType.RUNBOOKS:
        documents = [book.document for book in runbooks.runbooks(model)]
    else:
        documents = [
            {
                ReportType.ASSESSMENT: assessment.assessment_document,
                ReportType.PRD: prd.prd_document,
                ReportType.BACKLOG: backlog.backlog_document,
            }[kind](model)
        ]
    if fmt is ReportFormat.MD:
        return "\n".join(to_markdown(d) for d in documents)
    title = f"{TITLES[kind]} — {model.service}"
    page = render_html(
        documents,
        title=title,
        banner=banner_for(model, TITLES[kind]),
        tool_version=model.tool_version,
    )
    if fmt is ReportFormat.HTML:
        return page
    from prr.reports.pdf import render_pdf

    return render_pdf(page)


def _emit(model: ReportModel, kind: ReportType, fmt: ReportFormat, output: str | None) -> None:
    if kind is ReportType.RUNBOOKS and fmt is ReportFormat.MD:
        from prr.reports.runbooks import write_markdown

        assert output is not None
        for written in write_markdown(model, Path(output)):
            typer.echo(f"wrote {written}", err=True)
        return
    rendered = render(model, kind, fmt)
    if isinstance(rendered, bytes):
        if output and output != "-":
            Path(output).write_bytes(rendered)
            typer.echo(f"wrote {output}", err=True)
        else:
            sys.stdout.buffer.write(rendered)
            sys.stdout.buffer.flush()
        return
    write_text(rendered, output)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command("report")(report)
