"""``prr scan``: assess a repository against its checklist and print the verdict."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from prr.cli._output import (
    EXIT_OK,
    EXIT_RUN_FAILED,
    EXIT_THRESHOLD,
    EXIT_USAGE,
    console,
    write_text,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from prr.engine.scan import Assessment, ScanOptions
    from prr.engine.status import ItemAssessment


class ScanFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    MARKDOWN = "markdown"


class FailOn(StrEnum):
    BLOCKER = "blocker"
    ISSUE = "issue"
    NEVER = "never"


def scan(
    path: Annotated[Path, typer.Argument(help="The repository to scan.")] = Path(),
    fmt: Annotated[
        ScanFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ScanFormat.TABLE,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write the output to this file.")
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option(help="Exit 1 when a blocker (or any issue) is found; never: always 0.")
    ] = FailOn.BLOCKER,
    stage: Annotated[
        str | None, typer.Option(help="Launch stage (default: prr.yaml's, else ga).")
    ] = None,
    checklist: Annotated[
        str | None, typer.Option(help="Checklist name or file (default: prr.yaml's, else service).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Target file (default: PATH/prr.yaml).")
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="List every item, not only the gaps.")
    ] = False,
    live: Annotated[
        bool, typer.Option("--live", help="Also read the running systems of the environments.")
    ] = False,
    env: Annotated[
        list[str] | None, typer.Option("--env", "-e", help="Environment for --live (repeatable).")
    ] = None,
) -> None:
    """Assess a repository from its files and print the readiness verdict."""
    from prr.engine.scan import ScanOptions, run_scan
    from prr.errors import PrrError
    from prr.model.checklist import Stage

    if not path.is_dir():
        console(stderr=True).print(f"[bold red]error:[/] {path}: not a directory")
        raise typer.Exit(EXIT_USAGE)
    if stage is not None and stage not in {s.value for s in Stage}:
        raise typer.BadParameter(
            f"{stage!r} is not one of experiment, beta, ga", param_hint="--stage"
        )
    if env and not live:
        raise typer.BadParameter("--env needs --live", param_hint="--env")
    options = ScanOptions(
        root=path,
        checklist=checklist,
        stage=Stage(stage) if stage else None,
        target_file=config,
        live=live,
        environments=env,
    )
    try:
        assessment = _run_with_progress(run_scan, options)
    except PrrError as exc:
        _config_error(exc)
    except Exception as exc:
        console(stderr=True).print(f"[bold red]error:[/] the scan failed: {type(exc).__name__}")
        raise typer.Exit(EXIT_RUN_FAILED) from None
    _emit(assessment, fmt, output, show_all)
    raise typer.Exit(_exit_code(assessment, fail_on))


def _config_error(exc: Exception) -> None:
    from prr.cli._output import fail
    from prr.errors import ChecklistError, PrrError
    from prr.model.target import TargetError

    err = console(stderr=True)
    if isinstance(exc, TargetError):
        for problem in exc.problems:
            err.print(f"[bold red]error:[/] {problem}", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    if isinstance(exc, ChecklistError | PrrError):
        fail(exc)
    raise exc


def _run_with_progress(run: Callable[..., Assessment], options: ScanOptions) -> Assessment:
    if not sys.stderr.isatty():
        return run(options)
    from rich.progress import BarColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description:<40}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("scanning", total=None)

        def update(what: str, done: int, total: int) -> None:
            bar.update(task, description=what[:40], completed=done, total=total)

        return run(options, update)


def _exit_code(assessment: Assessment, fail_on: FailOn) -> int:
    if fail_on is FailOn.NEVER:
        return EXIT_OK
    if assessment.blockers:
        return EXIT_THRESHOLD
    if fail_on is FailOn.ISSUE and assessment.issues:
        return EXIT_THRESHOLD
    return EXIT_OK


def _emit(assessment: Assessment, fmt: ScanFormat, output: str | None, show_all: bool) -> None:
    import json

    if fmt is ScanFormat.JSON:
        from prr.reports.scan_json import scan_dict

        write_text(json.dumps(scan_dict(assessment), indent=2, ensure_ascii=False) + "\n", output)
    elif fmt is ScanFormat.SARIF:
        from prr.reports.sarif import sarif_dict

        write_text(json.dumps(sarif_dict(assessment), indent=2, ensure_ascii=False) + "\n", output)
    elif fmt is ScanFormat.JUNIT:
        from prr.reports.junit import render_junit

        write_text(render_junit(assessment), output)
    elif fmt is ScanFormat.MARKDOWN:
        from prr.reports.scan_markdown import render_markdown

        write_text(render_markdown(assessment), output)
    else:
        if output:
            import io

            from rich.console import Console

            out = Console(file=io.StringIO(), width=120, color_system=None)
            print_assessment(out, assessment, show_all)
            assert isinstance(out.file, io.StringIO)
            write_text(out.file.getvalue(), output)
        else:
            print_assessment(console(), assessment, show_all)


def _print_gap(out: Console, item: ItemAssessment, tone: str) -> None:
    places = list(dict.fromkeys(e.location for r in item.results for e in r.evidence if e.location))
    out.print(
        f"  [{tone}]✗[/] [bold]{item.ref.id}[/] [dim]({item.severity.value})[/]", highlight=False
    )
    out.print(f"    {item.ref.title}: {item.message}", highlight=False, markup=False)
    if places:
        more = f" (+{len(places) - 3} more)" if len(places) > 3 else ""
        out.print(f"    at {', '.join(places[:3])}{more}", highlight=False, markup=False)


_STATUS_STYLE = {"pass": "green", "fail": "red", "unknown": "yellow", "not_applicable": "dim"}


def print_assessment(out: Console, assessment: Assessment, show_all: bool = False) -> None:
    """The terminal report: verdict, executive summary, blockers, issues, errors."""
    from rich.table import Table

    from prr.model.evidence import Status

    target = assessment.target
    verdict = assessment.verdict
    colour = {"READY": "green", "CONDITIONAL": "yellow", "NOT READY": "red"}[verdict.value]
    out.print(
        f"[bold]{target.service}[/] · checklist {assessment.checklist.ref} · "
        f"stage {assessment.stage.value} · {assessment.files_indexed} files · "
        f"{assessment.checks_run} checks · {assessment.duration_s:.2f}s"
    )
    summary = Table(title="Executive summary", title_justify="left")
    for column in ("Category", "Status", "Blockers", "Issues", "Pass", "Fail", "Unknown", "N/A"):
        summary.add_column(column, justify="left" if column in {"Category", "Status"} else "right")
    for cat in assessment.categories:
        style = {"Ready": "green", "Issues": "yellow", "Blocked": "red"}[cat.status.value]
        summary.add_row(
            cat.category.title,
            f"[{style}]{cat.status.icon} {cat.status.value}[/]",
            str(len(cat.blockers)),
            str(len(cat.issues)),
            str(cat.count(Status.PASS)),
            str(cat.count(Status.FAIL)),
            str(cat.count(Status.UNKNOWN)),
            str(cat.count(Status.NOT_APPLICABLE)),
        )
    out.print(summary)
    failing_issues = [i for i in assessment.issues if i.status is Status.FAIL]
    unverified = [i for i in assessment.issues if i.status is not Status.FAIL]
    for title, items, tone in (
        ("Blockers (must fix before launch)", assessment.blockers, "red"),
        ("Issues (should fix)", failing_issues, "yellow"),
    ):
        if not items:
            continue
        out.print(f"\n[bold {tone}]{title}: {len(items)}[/]")
        for item in items:
            _print_gap(out, item, tone)
    if unverified:
        heading = f"Critical items not verified (issues until answered): {len(unverified)}"
        out.print(f"\n[bold yellow]{heading}[/]")
        for item in unverified:
            out.print(f"  ? {item.ref.id}  [dim]{item.ref.title}[/]", highlight=False)
    out.print()
    if assessment.accepted_risks:
        out.print(f"[bold]Risks accepted: {len(assessment.accepted_risks)}[/]")
        for item in assessment.accepted_risks:
            applied = item.waiver
            assert applied is not None
            expiry = f", expires {applied.expires}" if applied.expires else ""
            out.print(f"  waived {item.ref.id}: {applied.reason} ({applied.source}{expiry})")
    for old in assessment.expired_waivers:
        out.print(
            f"[yellow]expired waiver[/] {old.id} ({old.source}, expired {old.expires}): "
            "no longer applied"
        )
    for stray in assessment.unused_waivers:
        out.print(f"[yellow]waiver for unknown id[/] {stray.id} ({stray.source})")
    if show_all:
        table = Table(title="All items", title_justify="left")
        for column in ("item", "severity", "status", "source", "finding"):
            table.add_column(column)
        for item in assessment.items:
            style = _STATUS_STYLE[item.status.value]
            table.add_row(
                item.ref.id,
                item.severity.value,
                f"[{style}]{item.status.value}[/]",
                item.source.value,
                item.message,
            )
        out.print(table)
    for note in assessment.notes:
        out.print(f"[dim]note: {note}[/]", highlight=False)
    if assessment.errors:
        out.print(f"[bold yellow]Evidence that could not be read: {len(assessment.errors)}[/]")
        for error in assessment.errors[:20]:
            out.print(f"  {error}", highlight=False, markup=False, soft_wrap=True)
        if len(assessment.errors) > 20:
            out.print(f"  … and {len(assessment.errors) - 20} more (see --format json)")
    verified = len(assessment.decided)
    out.print(
        f"Verified from evidence: {verified}/{len(assessment.items)} items · "
        f"{assessment.count(Status.PASS)} pass · {assessment.count(Status.FAIL)} fail · "
        f"{assessment.count(Status.UNKNOWN)} unknown · {len(assessment.accepted_risks)} waived"
    )
    out.print(
        f"Overall status: [bold {colour}]{verdict.icon} {verdict.value}[/] — "
        f"{len(assessment.blockers)} blockers, {len(assessment.issues)} issues"
    )
