"""The ``prr`` command line.

Only this layer talks to the terminal and turns :class:`~prr.errors.PrrError`
into messages and exit codes: 0 success, 1 the threshold was not met,
2 a usage or configuration error, 3 the run itself failed.
Heavy imports happen inside commands so that ``prr --help`` stays fast.
"""

from __future__ import annotations

import typer

from prr.cli import assess as assess_command
from prr.cli import checklist as checklist_commands
from prr.cli import drill as drill_commands
from prr.cli import init as init_command
from prr.cli import library as library_commands
from prr.cli import report as report_command
from prr.cli import review as review_commands
from prr.cli import review_doc as review_doc_commands
from prr.cli import scan as scan_command
from prr.cli import serve as serve_commands
from prr.cli._output import EXIT_RUN_FAILED, EXIT_USAGE

app = typer.Typer(
    name="prr",
    help="Production readiness reviews with evidence: is this service ready for live traffic?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("scan")(scan_command.scan)
app.command("init")(init_command.init)
app.command("assess")(assess_command.assess)
app.command("report")(report_command.report)
app.add_typer(checklist_commands.app, name="checklist")
review_commands.app.command("export")(review_doc_commands.export)
review_commands.app.command("import")(review_doc_commands.import_)
app.add_typer(review_commands.app, name="review")
app.command("gate")(review_commands.gate)
app.add_typer(review_commands.db_app, name="db")
app.add_typer(library_commands.app, name="library")
app.add_typer(drill_commands.app, name="drill")
app.command("serve")(serve_commands.serve)
app.command("push")(serve_commands.push)
app.add_typer(serve_commands.admin_app, name="admin")


@app.command()
def version() -> None:
    """Print prr's version."""
    import platform

    from prr._version import __version__

    typer.echo(f"prr {__version__} (Python {platform.python_version()})")


def main() -> None:
    """Entry point of the console script."""
    from prr.errors import PrrError

    try:
        app()
    except PrrError as exc:  # pragma: no cover - commands handle their own errors
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise SystemExit(EXIT_RUN_FAILED) from None


__all__ = ["app", "main"]
