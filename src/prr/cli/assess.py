"""``prr assess``: the checklist's five phases with a person at a terminal, or from a file in CI.

The phase logic lives in :mod:`prr.review.assess`; this module only opens the
store, runs the scan, and gives that logic a terminal (Rich for output,
``input()`` for answers). Exit codes: 0 done or stopped on purpose (``quit``, or
*no* to "Ready for readiness report?"); 2 usage or input error (a bad answers
file, with ``file:line:column``); 3 interrupted (Ctrl-C — every answer given so
far is saved), the store failed or the scan crashed.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from prr.cli._output import EXIT_RUN_FAILED, EXIT_USAGE, console

if TYPE_CHECKING:
    from rich.console import Console

    from prr.engine.scan import Assessment
    from prr.model.checklist import Stage
    from prr.review.assess import Answers, Outcome
    from prr.review.reviews import Reviews

_STYLES = {
    "heading": "bold cyan",
    "error": "red",
    "warning": "yellow",
    "success": "green",
    "muted": "dim",
}


class RichTerminal:
    """The assessment's terminal: Rich output, answers read with ``input()``."""

    def __init__(self, out: Console | None = None) -> None:
        self.out = out or console()

    def say(self, text: str = "", style: str | None = None) -> None:
        self.out.print(
            text, style=_STYLES.get(style or ""), markup=False, highlight=False, soft_wrap=True
        )

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*row)
        self.out.print(table)

    def read(self, prompt: str) -> str:
        self.out.file.flush()
        return input(prompt)


def _redact(text: str) -> str:
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)


def _usage(message: str) -> NoReturn:
    console(stderr=True).print(f"error: {message}", markup=False, highlight=False)
    raise typer.Exit(EXIT_USAGE)


@contextmanager
def _errors() -> Iterator[None]:
    """prr's errors as a message and an exit code; never a traceback, never a password."""
    from sqlalchemy.exc import SQLAlchemyError

    from prr.errors import ChecklistError, PrrError
    from prr.model.target import TargetError
    from prr.review.assess import AnswersError
    from prr.review.reviews import ReviewConflict
    from prr.store.db import StoreError

    err = console(stderr=True)
    try:
        yield
    except (AnswersError, TargetError, ChecklistError) as exc:
        for problem in exc.problems:
            err.print(f"error: {problem}", markup=False, highlight=False, soft_wrap=True)
        if len(exc.problems) > 1:
            err.print(f"{len(exc.problems)} problems found.")
        raise typer.Exit(EXIT_USAGE) from None
    except (ReviewConflict, StoreError) as exc:
        err.print(f"error: {_redact(str(exc))}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_RUN_FAILED) from None
    except PrrError as exc:
        err.print(f"error: {_redact(str(exc))}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    except SQLAlchemyError as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        err.print(
            f"error: the store failed: {type(exc).__name__}: {_redact(first)[:300]}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_RUN_FAILED) from None


@contextmanager
def _reviews(database: str | None, root: Path) -> Iterator[Reviews]:
    from sqlalchemy.exc import ArgumentError

    from prr.review.policy import load_policy
    from prr.review.reviews import Reviews
    from prr.store.db import Store, default_url

    policy = load_policy()
    try:
        store = Store(database or default_url(root))
    except ArgumentError as exc:
        _usage(f"--database: not a usable database URL ({_redact(str(exc))[:200]})")
    try:
        yield Reviews(store, policy)
    finally:
        store.close()


def assess(
    path: Annotated[Path, typer.Argument(help="The repository to assess.")] = Path(),
    service: Annotated[
        str | None, typer.Option(help="The service (default: prr.yaml's service).")
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(help="The version under review; needed to start a new review."),
    ] = None,
    answers: Annotated[
        Path | None,
        typer.Option(
            "--answers",
            help="Answer from this YAML file instead of asking (for CI); format below.",
        ),
    ] = None,
    review: Annotated[
        int | None,
        typer.Option("--review", help="Continue this review (default: the latest open)."),
    ] = None,
    stage: Annotated[
        str | None,
        typer.Option(
            help="Launch stage of a new review: experiment, beta or ga (default: prr.yaml's)."
        ),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(help="Where the reports go (default: PATH/readiness)."),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(help="Store URL (default: PRR_DATABASE_URL, else PATH/.prr/prr.db)."),
    ] = None,
    as_: Annotated[
        str | None,
        typer.Option("--as", help="Who is answering (default: PRR_USER, git user.email, OS user)."),
    ] = None,
) -> None:
    """Assess readiness in the checklist's five phases, asking only what the scan could not tell.

    Starts a review (or continues the latest open one of the service and
    version, or --review ID): asks "What's your target launch date and expected
    traffic?", scans the repository, then per phase shows the automated results,
    asks about each item still unknown (pass / fail / n/a with a reason / skip,
    notes, typed values), shows the phase status and asks the phase's stop
    question. The last phase writes the Readiness Assessment and PRD into
    readiness/. Every answer is saved at once: Ctrl-C and run again to continue.

    \b
    --answers FILE (YAML) answers without asking:
      context: {launch_date: 2026-12-01, expected_rps: 200, peak_rps: 800}
      items:
        ITEM-ID: {status: pass, notes: ..., fields: {FIELD: VALUE}}
        ITEM-ID: {status: n/a, reason: why it does not apply}
        ITEM-ID: {status: fail, owner: "@team", eta: 2026-11-20}
      stop: {1: text, 2: text, 3: 99.9, 4: yes}   # stop answers by phase
    Items decided by the scan keep their result; status skip leaves an item unknown.
    """
    from prr.cli._identity import actor
    from prr.model.checklist import Stage

    if stage is not None and stage not in {s.value for s in Stage}:
        _usage(f"--stage: {stage!r} is not one of experiment, beta, ga")
    if answers is not None and not answers.is_file():
        _usage(f"--answers: {answers}: no such file")
    if not path.is_dir():
        _usage(f"{path}: not a directory")
    if answers is None and not sys.stdin.isatty():
        _usage("prr assess asks questions: run it in a terminal, or answer with --answers FILE")
    who = actor(as_)
    term = RichTerminal()
    review_id: int | None = None
    outcome: Outcome | None = None
    with _errors():
        try:
            with _reviews(database, path) as reviews:
                review_id, loaded = _open_review(
                    reviews, term, path, service, version, review, stage, answers, who
                )
                outcome = _run(
                    reviews, term, review_id, loaded, who, output_dir or path / "readiness"
                )
        except (KeyboardInterrupt, EOFError):
            term.say()
            if review_id is None:
                term.say("Interrupted before the review was opened: nothing was recorded.")
            else:
                term.say(
                    f"Interrupted. Every answer so far is saved in review {review_id}; "
                    f"continue with: prr assess {path} --review {review_id}",
                    "warning",
                )
            raise typer.Exit(EXIT_RUN_FAILED) from None
    assert outcome is not None
    _print_outcome(term, outcome, path)


def _open_review(
    reviews: Reviews,
    term: RichTerminal,
    path: Path,
    service: str | None,
    version: str | None,
    review_id: int | None,
    stage: str | None,
    answers_file: Path | None,
    who: str,
) -> tuple[int, Answers | None]:
    """Continue the review to continue, or scan and open a new one; load the answers file."""
    from prr.model.checklist import Stage
    from prr.model.target import CATALOG_FILE, TARGET_FILE, load_target
    from prr.review.assess import (
        Assessor,
        ask_opening,
        begin_review,
        find_review,
        load_answers,
        phase_plans,
    )

    target = load_target(path)
    described = (path / TARGET_FILE).is_file() or (path / CATALOG_FILE).is_file()
    if service and service != target.service and described:
        _usage(f"the repository at {path} describes service {target.service!r}, not {service!r}")
    name = service or target.service
    existing = find_review(reviews, service=name, version=version, review_id=review_id)
    if existing is not None:
        last = phase_plans(existing.checklist)[-1].number
        where = f"phase {existing.phase}" if existing.phase <= last else "its reports"
        term.say(
            f"Continuing review {existing.id} of {existing.service} {existing.version} at {where}.",
            "heading",
        )
        if stage and stage != existing.stage.value:
            term.say(
                f"--stage {stage} ignored: the review is for {existing.stage.value}", "warning"
            )
        loaded = None
        if answers_file is not None:
            loaded = load_answers(
                answers_file, existing.checklist, need_context=Assessor.needs_context(existing)
            )
        return existing.id, loaded
    if version is None:
        _usage(f"no open review of {name}: give --version VERSION to start one")
    context: dict[str, object] = {}
    if answers_file is None:
        term.say("I'll assess your production readiness.", "heading")
        context = ask_opening(term)
    at_stage = Stage(stage) if stage else None
    assessment = _scan(path, term, at_stage)
    loaded = None
    if answers_file is not None:
        loaded = load_answers(answers_file, assessment.checklist, need_context=True)
        context = loaded.context
    new_id = begin_review(
        reviews,
        assessment,
        service=name,
        version=version,
        actor=who,
        context=context,
        stage=at_stage,
    )
    term.say(
        f"Opened review {new_id} of {name} {version} (checklist {assessment.checklist.ref}, "
        f"stage {(stage or assessment.stage.value)}): {len(assessment.decided)} of "
        f"{len(assessment.items)} items decided by the scan.",
        "heading",
    )
    return new_id, loaded


def _scan(path: Path, term: RichTerminal, stage: Stage | None) -> Assessment:
    from prr.engine.scan import ScanOptions, run_scan
    from prr.errors import PrrError

    term.say(f"Scanning {path} …", "muted")
    try:
        return run_scan(ScanOptions(root=path, stage=stage))
    except PrrError:
        raise
    except Exception as exc:
        console(stderr=True).print(f"error: the scan failed: {type(exc).__name__}", markup=False)
        raise typer.Exit(EXIT_RUN_FAILED) from None


def _run(
    reviews: Reviews,
    term: RichTerminal,
    review_id: int,
    answers: Answers | None,
    who: str,
    out_dir: Path,
) -> Outcome:
    from prr.review.assess import Assessor, apply_answers, run_interactive

    assessor = Assessor(reviews, review_id, actor=who)
    if answers is not None:
        return apply_answers(assessor, answers, term, out_dir)
    return run_interactive(assessor, term, out_dir)


def _print_outcome(term: RichTerminal, outcome: Outcome, path: Path) -> None:
    rid = outcome.review_id
    term.say()
    if outcome.finished:
        term.say(
            f"Review {rid} is recorded. Next: prr review show {rid} · "
            f"prr review signoff {rid} ROLE --approve",
            "success",
        )
    elif outcome.stopped == "quit":
        term.say(
            f"Saved review {rid} at phase {outcome.phase}; continue with: "
            f"prr assess {path} --review {rid}",
            "warning",
        )
    else:
        term.say(
            f"Stopped before the readiness report (phase {outcome.phase}); when ready: "
            f"prr assess {path} --review {rid}",
            "warning",
        )
    if outcome.ignored:
        term.say(
            f"{len(outcome.ignored)} answer(s) ignored: those items were decided by the scan",
            "warning",
        )
