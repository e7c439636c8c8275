"""``prr library …``: the production library of blueprints, designs and readiness reviews.

The file work lives in :mod:`prr.review.library`. Exit codes: 0 done; 1
``index --check`` found the index stale; 2 usage error (not a library, a
document that exists, an unknown kind).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from prr.cli._output import EXIT_THRESHOLD, EXIT_USAGE

app = typer.Typer(
    help="The production library: blueprints → designs → readiness reviews, as docs-as-code.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class Kind(StrEnum):
    BLUEPRINT = "blueprint"
    DESIGN = "design"


Directory = Annotated[
    Path, typer.Option("--dir", "-C", help="The library (default: the current directory).")
]


def _error(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


@app.command("init")
def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the library.")] = Path(),
) -> None:
    """Create a library: blueprints/, designs/, readiness/, templates and a README."""
    from prr.review.library import LibraryError, init_library

    try:
        done = init_library(directory)
    except LibraryError as exc:
        raise _error(str(exc)) from None
    for path, created in done:
        shown = f"{path}/" if path.is_dir() else str(path)
        typer.echo(f"{'created' if created else 'kept   '} {shown}")
    typer.echo("next: prr library new blueprint NAME --service SERVICE")


@app.command("new")
def new(
    kind: Annotated[Kind, typer.Argument(help="blueprint or design.")],
    name: Annotated[str, typer.Argument(help="The document's title; the file name is its slug.")],
    service: Annotated[
        str | None, typer.Option(help="The service it is about (default: the name's slug).")
    ] = None,
    author: Annotated[
        str | None,
        typer.Option(
            "--author", "--as", help="Author (default: PRR_USER, git user.email, OS user)."
        ),
    ] = None,
    status: Annotated[str, typer.Option(help="Status in the front matter.")] = "draft",
    directory: Directory = Path(),
) -> None:
    """Scaffold a blueprint or design from the library's templates."""
    from prr.cli._identity import actor
    from prr.review.library import LibraryError, new_document, slug

    try:
        path = new_document(
            directory,
            kind.value,
            name,
            service=service or slug(name),
            author=actor(author),
            status=status,
        )
    except LibraryError as exc:
        raise _error(str(exc)) from None
    typer.echo(f"created {path}")


@app.command("index")
def index(
    directory: Directory = Path(),
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 when the index is stale (CI).")
    ] = False,
) -> None:
    """Regenerate the index linking each service's blueprints, designs and readiness reviews.

    The index goes into README.md between its prr:library-index markers, else into INDEX.md.
    """
    from prr.review.library import LibraryError, update_index

    try:
        target, changed, problems = update_index(directory, write=not check)
    except LibraryError as exc:
        raise _error(str(exc)) from None
    for problem in problems:
        typer.echo(f"warning: {problem}", err=True)
    if check:
        if changed:
            typer.echo(f"{target} is stale: run prr library index", err=True)
            raise typer.Exit(EXIT_THRESHOLD)
        typer.echo(f"{target} is current")
        return
    typer.echo(f"{'updated' if changed else 'unchanged'} {target}")
