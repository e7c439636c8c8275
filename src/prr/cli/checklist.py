"""``prr checklist …``: list, show, validate and diff checklists."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from prr.cli._output import EXIT_USAGE, OutputFormat, console, fail, write_text

if TYPE_CHECKING:
    from prr.model.checklist import Checklist, ItemRef, Stage

app = typer.Typer(
    help="The checklist library: built-in and organisation checklists.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

_STAGES = ("experiment", "beta", "ga")
_SEVERITIES = ("critical", "high", "medium", "low")


def _load(ref: str) -> Checklist:
    from prr.errors import ChecklistError
    from prr.model.loader import load_checklist

    try:
        return load_checklist(ref)
    except ChecklistError as exc:
        fail(exc)


def _stage(value: str) -> Stage:
    from prr.model.checklist import Stage

    if value not in _STAGES:
        raise typer.BadParameter(
            f"{value!r} is not one of {', '.join(_STAGES)}", param_hint="--stage"
        )
    return Stage(value)


@app.command("list")
def list_checklists(
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
) -> None:
    """List the built-in checklists and those found on PRR_CHECKLIST_PATH."""
    import json

    from prr.errors import ChecklistError
    from prr.model.loader import builtin_names, load_checklist, search_path

    rows: list[dict[str, object]] = []
    for name in builtin_names():
        checklist = load_checklist(name)
        rows.append(_summary_row(checklist, "built-in"))
    for folder in search_path():
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            try:
                rows.append(_summary_row(load_checklist(path), str(path)))
            except ChecklistError as exc:
                rows.append({"name": path.stem, "source": str(path), "error": str(exc.problems[0])})
    if fmt == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table(title="Checklists")
    numeric = ("items", "categories", "sections", "critical")
    columns = ("name", "version", *numeric, "title")
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left")
    for row in rows:
        if "error" in row:
            table.add_row(str(row["name"]), "", "", "", "", "", f"[red]{row['error']}[/]")
        else:
            source = "" if row["source"] == "built-in" else f" ({row['source']})"
            table.add_row(*(str(row[c]) for c in columns[:-1]), f"{row['title']}{source}")
    console().print(table)


def _summary_row(checklist: Checklist, source: str) -> dict[str, object]:
    from prr.model.checklist import Severity

    return {
        "name": checklist.name,
        "version": checklist.version,
        "title": checklist.title,
        "items": len(checklist),
        "categories": len(checklist.categories),
        "sections": sum(len(c.sections) for c in checklist.categories),
        "critical": sum(1 for r in checklist if r.item.severity is Severity.CRITICAL),
        "source": source,
    }


@app.command()
def show(
    name: Annotated[
        str, typer.Argument(help="A built-in name (service, platform) or a checklist file.")
    ],
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="table, json, yaml or markdown")
    ] = OutputFormat.TABLE,
    category: Annotated[
        list[str] | None, typer.Option("--category", "-c", help="Only this category (repeatable).")
    ] = None,
    severity: Annotated[
        list[str] | None, typer.Option("--severity", "-s", help="Only this severity (repeatable).")
    ] = None,
    stage: Annotated[str, typer.Option(help="Launch stage: experiment, beta or ga.")] = "ga",
    summary: Annotated[bool, typer.Option("--summary", help="Counts per category only.")] = False,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write to this file.")
    ] = None,
) -> None:
    """Show a checklist's items, as a table, JSON, YAML or the Markdown board."""
    from prr.model.checklist import Severity
    from prr.reports.checklist import checklist_dict, render_markdown, select

    checklist = _load(name)
    at = _stage(stage)
    known = {c.id for c in checklist.categories}
    for wanted in category or []:
        if wanted not in known:
            raise typer.BadParameter(
                f"no category {wanted!r}; categories: {', '.join(sorted(known))}",
                param_hint="--category",
            )
    for wanted in severity or []:
        if wanted not in _SEVERITIES:
            raise typer.BadParameter(
                f"{wanted!r} is not one of {', '.join(_SEVERITIES)}", param_hint="--severity"
            )
    refs = select(
        checklist,
        categories=category or (),
        severities=[Severity(s) for s in severity or []],
        stage=at,
    )
    if fmt is OutputFormat.JSON:
        import json

        write_text(
            json.dumps(checklist_dict(checklist, refs, at), indent=2, ensure_ascii=False) + "\n",
            output,
        )
    elif fmt is OutputFormat.YAML:
        import yaml

        text = yaml.safe_dump(
            checklist_dict(checklist, refs, at), sort_keys=False, allow_unicode=True, width=100
        )
        write_text(text, output)
    elif fmt is OutputFormat.MARKDOWN:
        write_text(render_markdown(checklist, refs, at), output)
    else:
        _print_table(checklist, refs, at, summary=summary, output=output)


def _print_table(
    checklist: Checklist, refs: list[ItemRef], stage: Stage, *, summary: bool, output: str | None
) -> None:
    from rich.table import Table

    from prr.model.checklist import Severity

    out = console()
    if output:
        import io

        from rich.console import Console

        out = Console(file=io.StringIO(), width=120, color_system=None)
    style = {
        Severity.CRITICAL: "bold red",
        Severity.HIGH: "dark_orange",
        Severity.MEDIUM: "yellow",
        Severity.LOW: "dim",
    }
    out.print(
        f"[bold]{checklist.title}[/] — {checklist.ref}, stage {stage.value}, {len(refs)} items"
    )
    if not summary:
        for category in checklist.categories:
            rows = [r for r in refs if r.category.id == category.id]
            if not rows:
                continue
            table = Table(title=category.title, title_justify="left", expand=False)
            table.add_column("id", no_wrap=True)
            table.add_column("title")
            table.add_column("severity")
            table.add_column("phase", justify="right")
            table.add_column("notes")
            from prr.reports.checklist import notes_hint

            for ref in rows:
                sev = ref.item.severity_at(stage)
                table.add_row(
                    ref.id,
                    ref.title,
                    f"[{style[sev]}]{sev.value}[/]",
                    str(ref.phase),
                    notes_hint(ref),
                )
            out.print(table)
    totals = Table(title="Summary", title_justify="left")
    totals.add_column("category")
    totals.add_column("sections", justify="right")
    totals.add_column("items", justify="right")
    for sev in Severity:
        totals.add_column(sev.value, justify="right", style=style[sev])
    for category in checklist.categories:
        rows = [r for r in refs if r.category.id == category.id]
        if not rows:
            continue
        sections = len({r.section.id for r in rows})
        counts = [str(sum(1 for r in rows if r.item.severity_at(stage) is s)) for s in Severity]
        totals.add_row(category.title, str(sections), str(len(rows)), *counts)
    all_counts = [str(sum(1 for r in refs if r.item.severity_at(stage) is s)) for s in Severity]
    sections_total = len({(r.category.id, r.section.id) for r in refs})
    totals.add_row("[bold]total[/]", str(sections_total), str(len(refs)), *all_counts)
    out.print(totals)
    if checklist.disabled:
        out.print(
            f"{len(checklist.disabled)} disabled: " + ", ".join(d.id for d in checklist.disabled)
        )
    if output:
        assert isinstance(out.file, io.StringIO)
        write_text(out.file.getvalue(), output)


@app.command()
def validate(
    files: Annotated[
        list[str], typer.Argument(help="Checklist files (or built-in names) to check.")
    ],
) -> None:
    """Check checklist files; every problem is reported with file:line:column."""
    from prr.errors import ChecklistError
    from prr.model.loader import load_checklist

    failed = False
    err = console(stderr=True)
    for ref in files:
        try:
            checklist = load_checklist(ref)
        except ChecklistError as exc:
            failed = True
            for problem in exc.problems:
                err.print(f"[bold red]error:[/] {problem}", highlight=False)
            continue
        base = f", extends {' → '.join(checklist.lineage)}" if checklist.lineage else ""
        typer.echo(
            f"ok: {ref}: {checklist.ref}, {len(checklist)} items, "
            f"{len(checklist.disabled)} disabled{base}"
        )
    if failed:
        raise typer.Exit(EXIT_USAGE)


@app.command()
def diff(
    old: Annotated[str, typer.Argument(help="The older checklist (name or file).")],
    new: Annotated[str, typer.Argument(help="The newer checklist (name or file).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or markdown")] = "table",
) -> None:
    """Show items added, removed and changed between two checklists."""
    import json

    from prr.model.diff import diff_checklists

    result = diff_checklists(_load(old), _load(new))
    if fmt == "json":
        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    if fmt == "markdown":
        lines = [f"# Checklist changes: `{result.old}` → `{result.new}`", ""]
        for label, entries in (("Added", result.added), ("Removed", result.removed)):
            if entries:
                lines += [f"## {label}", ""] + [f"- `{i}` {t}" for i, t in entries] + [""]
        if result.changed:
            lines += ["## Changed", ""]
            for change in result.changed:
                fields = ", ".join(f"{k}" for k in change.changes)
                lines.append(f"- `{change.id}` {change.title}: {fields}")
            lines.append("")
        if result.empty:
            lines.append("No differences.")
        typer.echo("\n".join(lines))
        return
    if fmt != "table":
        raise typer.BadParameter(
            f"{fmt!r} is not one of table, json, markdown", param_hint="--format"
        )
    out = console()
    out.print(f"[bold]{result.old}[/] → [bold]{result.new}[/]")
    if result.empty:
        out.print("No differences.")
        return
    for item_id, title in result.added:
        out.print(f"[green]+ {item_id}[/]  {title}")
    for item_id, title in result.removed:
        out.print(f"[red]- {item_id}[/]  {title}")
    for change in result.changed:
        out.print(f"[yellow]~ {change.id}[/]  {change.title}")
        for key, (before, after) in change.changes.items():
            out.print(f"    {key}: {_short(before)} → {_short(after)}")
    out.print(
        f"{len(result.added)} added, {len(result.removed)} removed, {len(result.changed)} changed"
    )


def _short(value: object, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ = EXIT_USAGE
