"""``prr review export`` / ``prr review import``: the review as a document in a merge request.

Export writes the review as Markdown (``readiness/SERVICE-VERSION-review-ID.md``)
for people to edit and discuss in a merge request; import applies their edits
through the review workflow, after checking every one of them.

Common options as in ``prr review``: ``--database URL`` (else
``PRR_DATABASE_URL``, else ``ROOT/.prr/prr.db`` with ``--root ROOT``, default
the current directory) and ``--as NAME`` (the acting person; else
``PRR_USER``, ``git config user.email``, the OS user).

Exit codes of import: 0 applied (or nothing to change, or a clean dry run);
1 the review's rules refused an edit, e.g. a sign-off while a blocker is open
(nothing written); 2 the document is malformed, edited where it must not be,
stale, or for a frozen review (nothing written), with ``file:line`` for each
problem; 3 the store failed, or writing stopped part-way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from prr.cli._output import EXIT_RUN_FAILED, EXIT_THRESHOLD, EXIT_USAGE, console, write_text

if TYPE_CHECKING:
    from prr.review.document import DocumentError, ImportResult
    from prr.review.reviews import Reviews

app = typer.Typer(
    help="The review as a Markdown document, edited and approved in a merge request.",
    no_args_is_help=True,
)

Database = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="Store URL (default: PRR_DATABASE_URL, else ROOT/.prr/prr.db).",
        show_default=False,
    ),
]
Root = Annotated[
    Path,
    typer.Option("--root", help="Folder whose .prr/prr.db is the store when no URL is given."),
]


def _error(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    return typer.Exit(code)


@contextmanager
def _reviews(database: str | None, root: Path) -> Iterator[Reviews]:
    """The workflow over the chosen store and the organisation's policy; closed afterwards."""
    from sqlalchemy.exc import ArgumentError

    from prr.errors import PrrError
    from prr.review.policy import load_policy
    from prr.review.reviews import Reviews
    from prr.store.db import StoreError, open_store

    try:
        policy = load_policy()
        store = open_store(root, database)
    except ArgumentError:
        raise _error("--database: not a usable database URL") from None
    except StoreError as exc:
        raise _error(str(exc), EXIT_RUN_FAILED) from None
    except PrrError as exc:
        raise _error(str(exc)) from None
    try:
        yield Reviews(store, policy)
    finally:
        store.close()


def _file_name(service: str, version: str, review_id: int) -> str:
    def safe(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "x"

    return f"{safe(service)}-{safe(version)}-review-{review_id}.md"


def export(
    review_id: Annotated[int, typer.Argument(help="The review's id (see prr review list).")],
    output_dir: Annotated[
        Path, typer.Option("--output-dir", help="Folder for the document (the readiness folder).")
    ] = Path("readiness"),
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Write to this file ('-' for standard output)."),
    ] = None,
    database: Database = None,
    root: Root = Path(),
) -> None:
    """Write a review as a Markdown document to edit and approve in a merge request."""
    from prr.errors import PrrError
    from prr.review.document import export_document

    with _reviews(database, root) as reviews:
        try:
            text = export_document(reviews, review_id)
            view = reviews.get(review_id)
        except PrrError as exc:
            raise _error(str(exc)) from None
    if output is None:
        output_dir.mkdir(parents=True, exist_ok=True)
        output = str(output_dir / _file_name(view.service, view.version, view.id))
    elif output != "-":
        Path(output).parent.mkdir(parents=True, exist_ok=True)
    write_text(text, output)


def import_(
    file: Annotated[Path, typer.Argument(help="The edited review document.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would change; write nothing.")
    ] = False,
    as_: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Who is acting, for the audit trail (default: PRR_USER, git user.email, "
            "OS user). A ticked sign-off must name this person.",
            show_default=False,
        ),
    ] = None,
    database: Database = None,
    root: Root = Path(),
) -> None:
    """Apply a review document's edits: boxes, Notes, N/A, context, risks, sign-offs.

    Every edit is checked first, and rehearsed against the review's rules on a
    scratch copy; nothing is written unless all of them can be applied.
    """
    from prr.cli._identity import actor
    from prr.errors import PrrError
    from prr.review.document import DocumentError, ImportRefused, import_document
    from prr.review.reviews import ReviewConflict

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(f"{file}: cannot read: {type(exc).__name__}") from None
    who = actor(as_)
    with _reviews(database, root) as reviews:
        try:
            result = import_document(reviews, text, actor=who, source=str(file), dry_run=dry_run)
        except ImportRefused as exc:
            _problems("refused", exc)
            raise typer.Exit(EXIT_THRESHOLD) from None
        except DocumentError as exc:
            _problems("error", exc)
            raise typer.Exit(EXIT_USAGE) from None
        except ReviewConflict as exc:
            raise _error(str(exc), EXIT_RUN_FAILED) from None
        except PrrError as exc:
            raise _error(str(exc)) from None
    _report(result, file)
    if result.failed is not None:
        raise _error(
            f"{result.failed} — stopped after {len(result.applied)} of "
            f"{len(result.plan.changes)} changes; import again to apply the rest",
            EXIT_RUN_FAILED,
        )


def _problems(label: str, error: DocumentError) -> None:
    err = console(stderr=True)
    for problem in error.problems:
        err.print(f"[bold red]{label}:[/] ", end="", highlight=False)
        err.print(str(problem), highlight=False, markup=False)
    if len(error.problems) > 1:
        err.print(f"{len(error.problems)} problems found.")
    err.print("Nothing was written.")


def _report(result: ImportResult, file: Path) -> None:
    plan, view = result.plan, result.view
    err = console(stderr=True)
    for warning in plan.warnings:
        err.print("[yellow]warning:[/] ", end="")
        err.print(str(warning), highlight=False, markup=False)
    if plan.stale:
        err.print(
            f"[yellow]note:[/] review {view.id} changed after this document was exported; "
            "only the rows edited here were compared with its current state",
            highlight=False,
        )
    head = f"review {view.id} · {view.service} {view.version} · {file}"
    if not plan.changes:
        typer.echo(f"{head}: no changes — the document matches the review")
        return
    shown = plan.changes if result.dry_run else result.applied
    verb = "would apply" if result.dry_run else "applied"
    suffix = " (dry run: nothing written)" if result.dry_run else ""
    typer.echo(f"{head}: {verb} {len(shown)} change(s){suffix}")
    for change in shown:
        typer.echo(
            f"  {file}:{change.line}  {change.action:<7} {change.subject}: {change.description}"
        )
        if change.note:
            typer.echo(f"      {change.note}")
    missing = ", ".join(view.missing_roles()) or "none"
    typer.echo(
        f"review {view.id} is {view.state} · {view.verdict.icon} {view.verdict.value} · "
        f"{len(view.blockers)} blocker(s) · {len(view.issues)} issue(s) · "
        f"sign-off missing from {missing}"
    )
    if not result.dry_run and result.applied:
        typer.echo(
            f"Export again to refresh the document: prr review export {view.id} --output {file}"
        )


app.command("export")(export)
app.command("import")(import_)

__all__ = ["app", "export", "import_"]
