"""Shared helpers of the CLI: exit codes, consoles and error reporting."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from prr.errors import PrrError

EXIT_OK = 0
EXIT_THRESHOLD = 1
EXIT_USAGE = 2
EXIT_RUN_FAILED = 3


class OutputFormat(StrEnum):
    """Formats of ``checklist show``."""

    TABLE = "table"
    JSON = "json"
    YAML = "yaml"
    MARKDOWN = "markdown"


def console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=stderr)


def fail(error: PrrError, *, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error`` (every problem it carries) to stderr and exit with ``code``."""
    from prr.errors import ChecklistError

    err = console(stderr=True)
    if isinstance(error, ChecklistError):
        count = len(error.problems)
        for problem in error.problems:
            err.print(f"[bold red]error:[/] {problem}", markup=True, highlight=False)
        if count > 1:
            err.print(f"{count} problems found.")
    else:
        err.print(f"[bold red]error:[/] {error}")
    raise typer.Exit(code)


def write_text(text: str, output: str | None) -> None:
    """Write ``text`` to ``output`` (a file path) or to standard output."""
    if output and output != "-":
        from pathlib import Path

        Path(output).write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
    else:
        typer.echo(text, nl=not text.endswith("\n"))
