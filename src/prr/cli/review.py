"""``prr review …``, ``prr gate`` and ``prr db …``: the review workflow from a terminal.

Every rule (N/A needs a reason, who may accept which risk, no approval while a
blocker is open, frozen approved reviews, drift, the audit chain) lives in
:class:`prr.review.reviews.Reviews`; these commands parse arguments, call it and
print what happened.

Common options: ``--database URL`` (else ``PRR_DATABASE_URL``, else
``ROOT/.prr/prr.db`` with ``--root ROOT``, default the current directory) and
``--as NAME`` (the acting person; else ``PRR_USER``, ``git config user.email``,
the OS user). Item arguments take the full id or any unique dotted suffix of it
(``api-rate-limiting-enabled``, ``authorization.api-rate-limiting-enabled``).

Exit codes:

- 0 done (``gate``: an approved, non-drifted review covers the version;
  ``verify``: the audit chain is intact);
- 1 refused or not met: an approval while a blocker is open (the blockers are
  listed), a risk acceptance by a role the policy does not permit, a critical
  item that may not be waived; ``gate`` closed; ``verify`` found tampering;
- 2 usage or input error: unknown review, waiver or item, a bad field value, N/A
  without a reason, and any change to an approved review (it is frozen: it
  records what was approved; start a new review instead);
- 3 the run failed: the store could not be reached, a concurrent change kept
  conflicting, or the scan crashed.

``prr review show ID --format json`` writes one object (``schema``
``prr/review/v1``); keys are only ever added:

- ``id``, ``service``, ``owner``, ``version``, ``state`` (open, approved, drifted),
  ``frozen``, ``stage``, ``checklist`` (``name@version``), ``phase`` (how far the
  interactive assessment got), ``scan_id``, ``created_by``, ``created_at``,
  ``approved_at`` (ISO 8601 or null), ``context`` (object), ``drift`` (null or
  ``{"scan": id, "items": {item: {"review": status, "scan": status}}}``);
- ``verdict`` (``READY``, ``CONDITIONAL``, ``NOT READY``); ``blockers`` and
  ``issues`` (lists of item ids); ``required_roles``; ``missing_roles``;
- ``summary``: ``items``, ``pass``, ``fail``, ``unknown``, ``not_applicable``,
  ``blockers``, ``issues``, ``accepted_risks``, ``verified`` (decided by checks or
  drills), ``attested`` (answered by people);
- ``categories``: ``id``, ``title``, ``status`` (Ready, Issues, Blocked),
  ``blockers``, ``issues`` (counts);
- ``items`` (those selected by ``--phase``/``--category``; every one otherwise):
  ``id``, ``title``, ``category``, ``section``, ``phase``, ``severity`` (at the
  review's stage), ``status``, ``source`` (verified, drill, attested, none),
  ``blocker``, ``issue``, ``waived``, ``message``, ``fields``, ``owner``, ``eta``,
  ``notes``, ``na_reason``, ``answered_by``, ``answered_at``, ``expired``;
- ``waivers``: ``id``, ``item``, ``state`` (requested, approved, denied, expired,
  revoked), ``reason``, ``risk_owner``, ``mitigation``, ``requested_by``,
  ``decided_by``, ``decided_role``, ``expires``;
- ``signoffs``: ``role``, ``person``, ``decision`` (approve, reject), ``comment``, ``at``.

``prr review list --format json`` writes ``{"schema": "prr/review-list/v1",
"reviews": [...]}`` (``id``, ``service``, ``version``, ``state``, ``stage``,
``checklist``, ``verdict``, ``blockers``, ``issues``, ``created_at``,
``approved_at``); ``prr review diff A B --format json`` writes ``{"schema":
"prr/review-diff/v1", "a", "b", "changed", "unknown_in_both", "added",
"removed"}`` where changed and unknown items are ``{id, title, before, after}``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from prr.cli._output import EXIT_OK, EXIT_RUN_FAILED, EXIT_THRESHOLD, EXIT_USAGE, console

if TYPE_CHECKING:
    from rich.console import Console

    from prr.engine.scan import Assessment
    from prr.engine.status import ItemAssessment
    from prr.model.checklist import Checklist, Stage
    from prr.review.reviews import ReviewItemView, Reviews, ReviewView
    from prr.store.db import Store

app = typer.Typer(
    help="Reviews: answers, N/A, risk acceptances and sign-offs around a scan; one go/no-go.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
db_app = typer.Typer(
    help="The review store: schema migrations.", no_args_is_help=True, rich_markup_mode=None
)

LIST_SCHEMA = "prr/review-list/v1"
DIFF_SCHEMA = "prr/review-diff/v1"

# -- common options ------------------------------------------------------------------------

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
Actor = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Who is acting, for the audit trail (default: PRR_USER, git user.email, OS user).",
        show_default=False,
    ),
]
ReviewId = Annotated[int, typer.Argument(help="The review's id (see prr review list).")]
ItemArg = Annotated[str, typer.Argument(help="Item id, or a unique suffix of it.")]


class ListFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


class ShowFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


class AnswerStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"


_STAGES = ("experiment", "beta", "ga")
_DIFF_LIST = 30
_STATUS_STYLE = {"pass": "green", "fail": "red", "unknown": "yellow", "not_applicable": "dim"}
_VERDICT_STYLE = {"READY": "green", "CONDITIONAL": "yellow", "NOT READY": "red"}
_CATEGORY_STYLE = {"Ready": "green", "Issues": "yellow", "Blocked": "red"}
_ICONS = {"Ready": "🟢", "Issues": "🟡", "Blocked": "🔴"}


# -- errors and the store ------------------------------------------------------------------


def _usage(message: str) -> NoReturn:
    console(stderr=True).print(f"[bold red]error:[/] {_escape(message)}")
    raise typer.Exit(EXIT_USAGE)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _redact(text: str) -> str:
    """A message without any database URL's password."""
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn prr's errors into a message and an exit code; never a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    from prr.errors import PrrError
    from prr.model.target import TargetError
    from prr.review.reviews import ApprovalRefused, ReviewConflict
    from prr.store.db import StoreError

    err = console(stderr=True)
    try:
        yield
    except ApprovalRefused as exc:
        err.print(f"[bold red]refused:[/] {_escape(str(exc))}", soft_wrap=True)
        if exc.blockers:
            err.print(f"Open blockers ({len(exc.blockers)}):")
            for blocker in exc.blockers:
                err.print(f"  ✗ {_escape(blocker)}", soft_wrap=True)
        raise typer.Exit(EXIT_THRESHOLD) from None
    except (ReviewConflict, StoreError) as exc:
        err.print(f"[bold red]error:[/] {_escape(_redact(str(exc)))}", soft_wrap=True)
        raise typer.Exit(EXIT_RUN_FAILED) from None
    except TargetError as exc:
        for problem in exc.problems:
            err.print(f"[bold red]error:[/] {_escape(str(problem))}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None
    except PrrError as exc:
        from prr.cli._output import fail

        fail(exc)
    except SQLAlchemyError as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        err.print(
            f"[bold red]error:[/] the store failed: {type(exc).__name__}: "
            f"{_escape(_redact(first))[:300]}",
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_RUN_FAILED) from None


def _open(database: str | None, root: Path, *, migrate: bool = True) -> Store:
    from sqlalchemy.exc import ArgumentError

    from prr.store.db import Store, default_url

    url = database or default_url(root)
    try:
        return Store(url, migrate=migrate)
    except ArgumentError as exc:
        _usage(f"--database: not a usable database URL ({_redact(str(exc))[:200]})")


@contextmanager
def _reviews(database: str | None, root: Path) -> Iterator[Reviews]:
    """The workflow over the chosen store, with the organisation's policy."""
    from prr.review.policy import load_policy
    from prr.review.reviews import Reviews

    policy = load_policy()
    store = _open(database, root)
    try:
        yield Reviews(store, policy)
    finally:
        store.close()


# -- argument parsing ----------------------------------------------------------------------


class ItemChoiceError(Exception):
    """An item argument names no item, or several (carries the message to print)."""


def resolve_item(view: ReviewView, given: str) -> str:
    """The full id of the review's item named by ``given`` (full id or unique dotted suffix)."""
    import difflib

    ids = [entry.id for entry in view.items]
    wanted = given.strip().strip(".")
    if wanted in ids:
        return wanted
    matches = [i for i in ids if i.endswith("." + wanted)] if wanted else []
    if len(matches) == 1:
        return matches[0]
    if matches:
        listed = "\n  ".join(matches)
        raise ItemChoiceError(
            f"{given!r} matches {len(matches)} items of review {view.id}; "
            f"give more of the id:\n  {listed}"
        )
    parts = max(1, wanted.count(".") + 1)
    tails: dict[str, list[str]] = {}
    for item_id in ids:
        tails.setdefault(".".join(item_id.split(".")[-parts:]), []).append(item_id)
    close = difflib.get_close_matches(wanted, list(tails), n=5, cutoff=0.6)
    words = [w for w in re.split(r"[^a-z0-9]+", wanted.lower()) if len(w) >= 3]

    def has_words(item_id: str) -> bool:
        own = re.split(r"[^a-z0-9]+", item_id)
        return all(any(o.startswith(w[:5]) or w.startswith(o[:5]) for o in own) for w in words)

    suggestions = [i for i in ids if wanted and wanted in i]
    suggestions += [i for i in ids if words and i not in suggestions and has_words(i)]
    suggestions += [i for tail in close for i in tails[tail] if i not in suggestions]
    suggestions += [
        i for i in difflib.get_close_matches(wanted, ids, n=3, cutoff=0.6) if i not in suggestions
    ]
    hint = ""
    if suggestions:
        more = f"\n  … and {len(suggestions) - 8} more" if len(suggestions) > 8 else ""
        hint = "\ndid you mean:\n  " + "\n  ".join(suggestions[:8]) + more
    raise ItemChoiceError(
        f"no item {given!r} in review {view.id} (checklist {view.checklist.ref}){hint}"
    )


def _item_id(view: ReviewView, given: str) -> str:
    try:
        return resolve_item(view, given)
    except ItemChoiceError as exc:
        _usage(str(exc))


def _parse_date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        _usage(f"{option}: {value!r} is not a date (YYYY-MM-DD)")


def _parse_number(value: str, option: str) -> int | float:
    text = value.strip().lower().removesuffix("rps").strip()
    try:
        number = float(text)
    except ValueError:
        _usage(f"{option}: {value!r} is not a number")
    if number < 0 or number != number or number in (float("inf"), float("-inf")):
        _usage(f"{option}: {value!r} must be a non-negative number")
    return int(number) if number.is_integer() else number


def _parse_percent(value: str, option: str) -> float:
    text = value.strip().removesuffix("%").strip()
    try:
        number = float(text)
    except ValueError:
        _usage(f"{option}: {value!r} is not a percentage (e.g. 99.9)")
    if not 0 < number <= 100:
        _usage(f"{option}: {value!r} must be a percentage above 0 and at most 100")
    return number


_TYPED_CONTEXT: dict[str, Callable[[str, str], Any]] = {
    "launch_date": lambda v, o: _parse_date(v, o).isoformat(),
    "expected_rps": _parse_number,
    "peak_rps": _parse_number,
    "uptime_target": _parse_percent,
}


def _pairs(values: list[str], option: str) -> dict[str, str]:
    """``KEY=VALUE`` arguments as a mapping (keys with ``-`` become ``_``)."""
    out: dict[str, str] = {}
    for pair in values:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            _usage(f"{option}: {pair!r} is not KEY=VALUE")
        out[key] = value.strip()
    return out


def _context(values: list[str], option: str = "--context") -> dict[str, Any]:
    """Review context from ``KEY=VALUE`` pairs; known keys are checked and typed."""
    out: dict[str, Any] = {}
    for key, value in _pairs(values, option).items():
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.]*", key):
            _usage(f"{option}: {key!r} is not a context key (letters, digits, _ and .)")
        parse = _TYPED_CONTEXT.get(key)
        out[key] = parse(value, f"{option} {key}") if parse else value
    return out


def _stage(value: str | None) -> Stage | None:
    from prr.model.checklist import Stage

    if value is None:
        return None
    if value not in _STAGES:
        _usage(f"--stage: {value!r} is not one of {', '.join(_STAGES)}")
    return Stage(value)


def _role(reviews: Reviews, given: str) -> str:
    """The policy's spelling of a role named case-insensitively (``security`` → ``Security``)."""
    policy = reviews.policy
    known = list(policy.required_roles)
    for roles in policy.waiver_approvers.values():
        known.extend(r for r in roles if r not in known)
    for role in known:
        if role.casefold() == given.strip().casefold():
            return role
    return given.strip()


def _actor(explicit: str | None) -> str:
    from prr.cli._identity import actor

    return actor(explicit)


# -- printing helpers ----------------------------------------------------------------------


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _verdict_line(view: ReviewView) -> str:
    verdict = view.verdict
    accepted = sum(1 for i in view.assessments if i.is_accepted_risk)
    colour = _VERDICT_STYLE[verdict.value]
    return (
        f"verdict: [bold {colour}]{verdict.icon} {verdict.value}[/] — "
        f"{_plural(len(view.blockers), 'blocker')}, {_plural(len(view.issues), 'issue')}, "
        f"{_plural(accepted, 'accepted risk')}"
    )


def print_status(out: Console, view: ReviewView) -> None:
    """The review's state, verdict, open blockers and missing sign-offs."""
    out.print(
        f"review {view.id} · {_escape(view.service)} {_escape(view.version)} · "
        f"state [bold]{view.state}[/]" + (" (frozen)" if view.frozen else ""),
        soft_wrap=True,
    )
    out.print(_verdict_line(view), soft_wrap=True)
    for blocker in view.blockers:
        out.print(
            f"  [red]✗[/] {blocker.id} — {_escape(blocker.ref.title)}",
            soft_wrap=True,
            highlight=False,
        )
    missing = view.missing_roles()
    if missing:
        out.print(f"sign-off missing: {_escape(', '.join(missing))}", soft_wrap=True)
    elif view.state == "approved":
        when = view.approved_at.date().isoformat() if view.approved_at else "?"
        out.print(f"approved {when} by every required role", soft_wrap=True)
    if view.drift:
        changed = ", ".join(sorted((view.drift.get("items") or {}).keys()))
        out.print(
            f"[yellow]drifted[/]: scan {view.drift.get('scan')} changed {_escape(changed)}",
            soft_wrap=True,
        )


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def review_dict(view: ReviewView, items: list[ReviewItemView] | None = None) -> dict[str, Any]:
    """The ``prr/review/v1`` JSON of a review (imported on use: keeps start-up fast)."""
    from prr.reports.review_json import review_dict as build

    return build(view, items)


def _echo_json(data: Any) -> None:
    import json

    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


# -- prr review new ------------------------------------------------------------------------


def _for_service(assessment: Assessment, service: str, root: Path) -> Assessment:
    """The scan as the named service's; a prr.yaml that names another service is an error."""
    import dataclasses

    from prr.model.target import CATALOG_FILE, TARGET_FILE

    if assessment.target.service == service:
        return assessment
    if (root / TARGET_FILE).is_file() or (root / CATALOG_FILE).is_file():
        _usage(
            f"the repository at {root} describes service {assessment.target.service!r}, "
            f"not {service!r}: scan the right repository (--path) or use --no-scan"
        )
    target = assessment.target.model_copy(update={"service": service})
    return dataclasses.replace(assessment, target=target)


def _scan(path: Path, checklist: str | None, stage: Stage | None) -> Assessment:
    from prr.cli.scan import _run_with_progress
    from prr.engine.scan import ScanOptions, run_scan
    from prr.errors import PrrError

    if not path.is_dir():
        _usage(f"--path: {path} is not a directory")
    options = ScanOptions(root=path, checklist=checklist, stage=stage)
    try:
        return _run_with_progress(run_scan, options)
    except PrrError:
        raise
    except Exception as exc:
        console(stderr=True).print(f"[bold red]error:[/] the scan failed: {type(exc).__name__}")
        raise typer.Exit(EXIT_RUN_FAILED) from None


@app.command("new")
def new(
    service: Annotated[str, typer.Argument(help="The service under review.")],
    version: Annotated[str, typer.Argument(help="The version this review decides on.")],
    path: Annotated[
        Path, typer.Option("--path", help="The repository to scan (default: current directory).")
    ] = Path(),
    checklist: Annotated[
        str | None,
        typer.Option(help="Checklist name or file (default: prr.yaml's, else service)."),
    ] = None,
    stage: Annotated[
        str | None,
        typer.Option(help="Launch stage: experiment, beta or ga (default: prr.yaml's, else ga)."),
    ] = None,
    no_scan: Annotated[
        bool, typer.Option("--no-scan", help="Open the review without scanning the repository.")
    ] = False,
    context: Annotated[
        list[str] | None,
        typer.Option("--context", help="Review context KEY=VALUE (repeatable)."),
    ] = None,
    launch_date: Annotated[
        str | None, typer.Option(help="Planned launch date (YYYY-MM-DD).")
    ] = None,
    expected_rps: Annotated[
        str | None, typer.Option(help="Expected traffic, requests per second.")
    ] = None,
    peak_rps: Annotated[str | None, typer.Option(help="Peak traffic, requests per second.")] = None,
    uptime_target: Annotated[
        str | None, typer.Option(help="Uptime target in percent, e.g. 99.9.")
    ] = None,
    database: Database = None,
    root: Root = Path(),
    as_: Actor = None,
) -> None:
    """Scan the repository, record the scan and open a review frozen on its checklist."""
    pairs = list(context or [])
    for key, value in (
        ("launch_date", launch_date),
        ("expected_rps", expected_rps),
        ("peak_rps", peak_rps),
        ("uptime_target", uptime_target),
    ):
        if value is not None:
            pairs.append(f"{key}={value}")
    values = _context(pairs)
    at_stage = _stage(stage)
    who = _actor(as_)
    out = console()
    with _errors():
        from prr.model.loader import load_checklist

        assessment = (
            None if no_scan else _for_service(_scan(path, checklist, at_stage), service, path)
        )
        chosen: Checklist = (
            assessment.checklist if assessment else load_checklist(checklist or "service")
        )
        with _reviews(database, root) as reviews:
            scan_id = None
            if assessment is not None:
                from prr.reports.scan_json import scan_dict

                scan_id = reviews.record_scan(assessment, scan_dict(assessment))
            review_id = reviews.create(
                service,
                version,
                checklist=chosen,
                actor=who,
                stage=at_stage,
                context=values,
                assessment=assessment,
                owner=assessment.target.owner if assessment else None,
                scan_id=scan_id,
            )
            view = reviews.get(review_id)
    scanned = f"scan {scan_id}" if scan_id is not None else "no scan"
    out.print(
        f"opened review [bold]{review_id}[/] for {_escape(service)} {_escape(version)} "
        f"(checklist {view.checklist.ref}, stage {view.stage.value}, {scanned})",
        soft_wrap=True,
    )
    print_status(out, view)
    out.print(
        f"next: prr review show {review_id} · prr review answer {review_id} ITEM --status pass",
        soft_wrap=True,
        highlight=False,
    )


# -- prr review list / show ----------------------------------------------------------------


@app.command("list")
def list_reviews(
    service: Annotated[str | None, typer.Option(help="Only reviews of this service.")] = None,
    fmt: Annotated[
        ListFormat, typer.Option("--format", "-f", help="table or json")
    ] = ListFormat.TABLE,
    database: Database = None,
    root: Root = Path(),
    as_: Actor = None,
) -> None:
    """List reviews with their state and verdict."""
    with _errors(), _reviews(database, root) as reviews:
        rows = reviews.list_reviews(service)
    if fmt is ListFormat.JSON:
        _echo_json(
            {
                "schema": LIST_SCHEMA,
                "reviews": [
                    {
                        "id": r.id,
                        "service": r.service,
                        "version": r.version,
                        "state": r.state,
                        "stage": r.stage,
                        "checklist": r.checklist,
                        "verdict": r.verdict,
                        "blockers": r.blockers,
                        "issues": r.issues,
                        "created_at": _iso(r.created_at),
                        "approved_at": _iso(r.approved_at),
                    }
                    for r in rows
                ],
            }
        )
        return
    out = console()
    if not rows:
        out.print("no reviews" + (f" of {_escape(service)}" if service else ""))
        return
    from rich.table import Table

    table = Table(title="Reviews", title_justify="left")
    for column in ("id", "service", "version", "state", "stage", "verdict", "blockers", "issues"):
        table.add_column(
            column, justify="right" if column in ("id", "blockers", "issues") else "left"
        )
    table.add_column("created")
    for r in rows:
        colour = _VERDICT_STYLE.get(r.verdict, "white")
        table.add_row(
            str(r.id),
            _escape(r.service),
            _escape(r.version),
            r.state,
            r.stage,
            f"[{colour}]{r.verdict}[/]",
            str(r.blockers),
            str(r.issues),
            r.created_at.date().isoformat(),
        )
    out.print(table)


def _select(view: ReviewView, phase: int | None, category: str | None) -> list[ReviewItemView]:
    items = view.items
    if category is not None:
        wanted = category.strip().casefold()
        match = [
            c for c in view.checklist.categories if wanted in (c.id.casefold(), c.title.casefold())
        ]
        if not match:
            known = ", ".join(c.id for c in view.checklist.categories)
            _usage(f"--category: no category {category!r}; categories: {known}")
        items = [i for i in items if i.ref.category.id == match[0].id]
    if phase is not None:
        phases = sorted({i.ref.phase for i in view.items})
        if phase not in phases:
            _usage(f"--phase: no item is in phase {phase}; phases: {', '.join(map(str, phases))}")
        items = [i for i in items if i.ref.phase == phase]
    return items


def _worth_showing(entry: ReviewItemView) -> bool:
    """Gaps and the people's part: shown without ``--all``."""
    from prr.model.evidence import Source, Status

    item = entry.assessment
    return (
        item.status is Status.FAIL
        or item.is_issue
        or item.waiver is not None
        or item.source is Source.ATTESTED
        or entry.expired
        or bool(entry.owner or entry.notes or entry.eta)
    )


@app.command("show")
def show(
    review_id: ReviewId,
    fmt: Annotated[
        ShowFormat, typer.Option("--format", "-f", help="table, json or markdown")
    ] = ShowFormat.TABLE,
    phase: Annotated[int | None, typer.Option(help="Only items of this phase (1-5).")] = None,
    category: Annotated[str | None, typer.Option(help="Only items of this category.")] = None,
    show_all: Annotated[
        bool,
        typer.Option("--all", help="Every item, not only gaps, answers and accepted risks."),
    ] = False,
    database: Database = None,
    root: Root = Path(),
    as_: Actor = None,
) -> None:
    """Show a review: state, verdict, blockers, items by phase and category, waivers, sign-offs."""
    with _errors(), _reviews(database, root) as reviews:
        view = reviews.get(review_id)
    items = _select(view, phase, category)
    if fmt is ShowFormat.JSON:
        _echo_json(review_dict(view, items))
        return
    shown = items if show_all else [i for i in items if _worth_showing(i)]
    if fmt is ShowFormat.MARKDOWN:
        typer.echo(render_markdown(view, shown), nl=False)
        return
    _print_review(console(), view, shown, hidden=len(items) - len(shown))


def _print_review(
    out: Console, view: ReviewView, items: list[ReviewItemView], *, hidden: int
) -> None:
    from rich.table import Table

    owner = f" · owner {_escape(view.owner)}" if view.owner else ""
    out.print(
        f"[bold]Review {view.id}[/] · {_escape(view.service)} {_escape(view.version)}{owner} · "
        f"checklist {view.checklist.ref} · stage {view.stage.value}",
        soft_wrap=True,
    )
    out.print(
        f"created {view.created_at.date().isoformat()} by {_escape(view.created_by)}"
        + (f" · scan {view.scan_id}" if view.scan_id is not None else ""),
        soft_wrap=True,
    )
    if view.context:
        text = ", ".join(f"{k}={v}" for k, v in view.context.items())
        out.print(f"context: {_escape(text)}", soft_wrap=True)
    print_status(out, view)

    summary = Table(title="Executive summary", title_justify="left")
    for column in ("Category", "Status", "Blockers", "Issues"):
        summary.add_column(column, justify="right" if column in ("Blockers", "Issues") else "left")
    for row in review_dict(view, [])["categories"]:
        style = _CATEGORY_STYLE[row["status"]]
        summary.add_row(
            _escape(row["title"]),
            f"[{style}]{_ICONS[row['status']]} {row['status']}[/]",
            str(row["blockers"]),
            str(row["issues"]),
        )
    out.print(summary)

    for number in sorted({i.ref.phase for i in items}):
        phase = view.checklist.phase(number)
        title = f"Phase {number}" + (f": {phase.name}" if phase else "")
        out.print(f"\n[bold]{_escape(title)}[/]", soft_wrap=True)
        if phase:
            out.print(f"[dim]stop question: {_escape(phase.stop_question)}[/]", soft_wrap=True)
        in_phase = [i for i in items if i.ref.phase == number]
        for cat in view.checklist.categories:
            rows = [i for i in in_phase if i.ref.category.id == cat.id]
            if rows:
                out.print(f"[bold]{_escape(cat.title)}[/]", soft_wrap=True)
                for entry in rows:
                    _print_item(out, entry)
    if hidden:
        out.print(
            f"[dim]{_plural(hidden, 'more item')} not shown (passed, N/A, or unknown and not "
            "critical); --all lists them[/]"
        )

    if view.waivers:
        out.print(f"\n[bold]Risk acceptances (waivers): {len(view.waivers)}[/]")
        for waiver in view.waivers:
            decided = f", {waiver.decided_by} ({waiver.decided_role})" if waiver.decided_by else ""
            out.print(
                f"  waiver {waiver.id} · {waiver.item_id} · [bold]{waiver.state}[/]"
                f"{_escape(decided)} · expires {_iso(waiver.expires) or 'never'}",
                soft_wrap=True,
                highlight=False,
            )
            out.print(
                f"      {_escape(waiver.reason)} — risk owner {_escape(waiver.risk_owner)}"
                + (f"; mitigation: {_escape(waiver.mitigation)}" if waiver.mitigation else "")
                + f"; requested by {_escape(waiver.requested_by)}",
                highlight=False,
            )

    table = Table(title="Sign-off", title_justify="left")
    for column in ("Role", "Name", "Decision", "Date", "Comment"):
        table.add_column(column)
    by_role = {s.role: s for s in view.signoffs}
    for role in [*view.required_roles, *(r for r in by_role if r not in view.required_roles)]:
        given = by_role.get(role)
        if given is None:
            table.add_row(_escape(role), "", "[dim]☐ pending[/]", "", "")
        else:
            mark = "[green]☑ approved[/]" if given.decision == "approve" else "[red]✗ rejected[/]"
            table.add_row(
                _escape(role),
                _escape(given.person),
                mark,
                given.at.date().isoformat(),
                _escape(given.comment or ""),
            )
    out.print(table)


_MARKS = {"pass": "✓", "fail": "✗", "unknown": "?", "not_applicable": "–"}


def _print_item(out: Console, entry: ReviewItemView) -> None:
    """One item: mark, id within its category, severity, status, source; then its finding."""
    from rich.padding import Padding
    from rich.text import Text

    item = entry.assessment
    style = _STATUS_STYLE[item.status.value]
    flags = ""
    if item.waiver is not None:
        flags = " · [cyan]waived[/]"
    elif item.is_blocker:
        flags = " · [bold red]BLOCKER[/]"
    if entry.expired:
        flags += " · [yellow]answer expired[/]"
    short = item.id.split(".", 1)[1]
    out.print(
        f"  [{style}]{_MARKS[item.status.value]}[/] {short}  [dim]{item.severity.value} ·[/] "
        f"[{style}]{item.status.value}[/] [dim]· {item.source.value}[/]{flags}",
        soft_wrap=True,
        highlight=False,
    )
    text = entry.notes or item.message
    extra = [
        f"owner {entry.owner}" if entry.owner else "",
        f"eta {_iso(entry.eta)}" if entry.eta else "",
    ]
    extra_text = ", ".join(x for x in extra if x)
    if text or extra_text:
        joined = " — ".join(x for x in (text, extra_text) if x)
        out.print(Padding(Text(joined), (0, 0, 0, 6)), highlight=False)


def _cell(text: object) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ").strip()


def _md_table(title: str, header: tuple[str, ...], rows: list[tuple[object, ...]]) -> list[str]:
    """A Markdown section with a table, or "None." when it has no rows."""
    lines = ["", f"### {title}", ""]
    if not rows:
        return [*lines, "None."]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("-" * (len(h) + 2) for h in header) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def render_markdown(view: ReviewView, items: list[ReviewItemView]) -> str:
    """The review as a Readiness Assessment document (for a merge request or a wiki)."""
    from prr.model.evidence import Status

    data = review_dict(view, [])
    verdict = view.verdict
    lines = [
        f"## Production Readiness Review: {view.service} {view.version}",
        "",
        f"**Review:** {view.id} · **State:** {view.state} · "
        f"**Checklist:** {view.checklist.ref} · **Stage:** {view.stage.value}  ",
        f"**Created:** {view.created_at.date().isoformat()} by {view.created_by}  ",
        f"**Approved:** {view.approved_at.date().isoformat() if view.approved_at else '—'}",
        "",
        f"**Overall Status:** {verdict.icon} {verdict.value} — "
        f"{_plural(len(view.blockers), 'blocker')}, {_plural(len(view.issues), 'issue')}",
        "",
    ]
    if view.context:
        lines += ["### Context", "", "| Key | Value |", "|-----|-------|"]
        lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in view.context.items()]
        lines.append("")
    lines += [
        "### Executive Summary",
        "",
        "| Category | Status | Blockers | Issues |",
        "|----------|--------|----------|--------|",
    ]
    for row in data["categories"]:
        lines.append(
            f"| {_cell(row['title'])} | {_ICONS[row['status']]} {row['status']} | "
            f"{row['blockers']} | {row['issues']} |"
        )
    by_id = {e.id: e for e in view.items}

    def finding(item: ItemAssessment) -> str:
        text = item.message or "not verified nor answered yet"
        return f"{item.ref.title}: {text}"

    lines += _md_table(
        "Blockers (Must Fix Before Launch)",
        ("ID", "Category", "Issue", "Owner", "ETA"),
        [
            (
                b.id,
                b.ref.category.title,
                finding(b),
                by_id[b.id].owner,
                _iso(by_id[b.id].eta),
            )
            for b in view.blockers
        ],
    )
    lines += _md_table(
        "Issues (Should Fix, Can Launch)",
        ("ID", "Category", "Issue", "Owner", "Severity"),
        [
            (i.id, i.ref.category.title, finding(i), by_id[i.id].owner, i.severity.value)
            for i in view.issues
        ],
    )
    lines += _md_table(
        "Risks Accepted",
        ("Risk", "Mitigation", "Accepted By", "Expires", "State"),
        [
            (
                f"{w.item_id}: {w.reason} (risk owner {w.risk_owner})",
                w.mitigation,
                f"{w.decided_by} ({w.decided_role})" if w.decided_by else "",
                _iso(w.expires),
                w.state,
            )
            for w in view.waivers
        ],
    )
    lines += _md_table(
        "Not Applicable",
        ("Item", "Why", "Source"),
        [
            (e.id, e.na_reason or e.assessment.message, e.assessment.source.value)
            for e in view.items
            if e.assessment.status is Status.NOT_APPLICABLE
        ],
    )
    lines += ["", "### Items", ""]
    if not items:
        lines += ["None selected.", ""]
    marks = {"pass": "☑", "fail": "☒", "unknown": "☐", "not_applicable": "—"}
    for number in sorted({i.ref.phase for i in items}):
        phase = view.checklist.phase(number)
        lines.append(f"#### Phase {number}" + (f": {phase.name}" if phase else ""))
        if phase:
            lines += ["", f"*Stop question:* {phase.stop_question}"]
        lines += [
            "",
            "| | Category | Item | Severity | Status | Source | Notes |",
            "|-|----------|------|----------|--------|--------|-------|",
        ]
        in_phase = [i for i in items if i.ref.phase == number]
        for category in view.checklist.categories:
            for entry in (i for i in in_phase if i.ref.category.id == category.id):
                item = entry.assessment
                status = item.status.value + (" (waived)" if item.waiver else "")
                lines.append(
                    f"| {marks[item.status.value]} | {_cell(category.title)} | {entry.id} | "
                    f"{item.severity.value} | {status} | {item.source.value} | "
                    f"{_cell(entry.notes or item.message)} |"
                )
        lines.append("")
    lines += [
        "### Sign-Off",
        "",
        "| Role | Name | Approved | Date |",
        "|------|------|----------|------|",
    ]
    by_role = {s.role: s for s in view.signoffs}
    for role in view.required_roles:
        given = by_role.get(role)
        if given is None:
            lines.append(f"| {role} | | ☐ | |")
        else:
            mark = "☑" if given.decision == "approve" else "✗ rejected"
            lines.append(
                f"| {role} | {_cell(given.person)} | {mark} | {given.at.date().isoformat()} |"
            )
    return "\n".join(lines) + "\n"


# -- answering -----------------------------------------------------------------------------


def _after(reviews: Reviews, review_id: int, message: str) -> None:
    out = console()
    out.print(message, soft_wrap=True, highlight=False)
    print_status(out, reviews.get(review_id))


@app.command("answer")
def answer(
    review_id: ReviewId,
    item: ItemArg,
    status: Annotated[
        AnswerStatus | None, typer.Option(help="pass or fail (N/A: prr review na).")
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", help="A typed field value KEY=VALUE (repeatable)."),
    ] = None,
    notes: Annotated[str | None, typer.Option(help="What was checked, how, where.")] = None,
    owner: Annotated[str | None, typer.Option(help="Who fixes a gap.")] = None,
    eta: Annotated[str | None, typer.Option(help="When the gap is fixed (YYYY-MM-DD).")] = None,
    database: Database = None,
    root: Root = Path(),
    as_: Actor = None,
) -> None:
    """Record an answer: pass/fail, measured field values, notes, owner, ETA."""
    from prr.model.evidence import Status

    values = _pairs(field or [], "--field")
    due = _parse_date(eta, "--eta") if eta is not None else None
    if status is None and not values and notes is None and owner is None and due is None:
        _usage("nothing to record: give --status, --field, --notes, --owner or --eta")
    who = _actor(as_)
    with _errors(), _reviews(database, root) as reviews:
        item_id = _item_id(reviews.get(review_id), item)
        reviews.answer(
            review_id,
            item_id,
            actor=who,
            status=Status(status.value) if status else None,
            fields=dict(values),
            notes=notes,
            owner=owner,
            eta=due,
        )
        what = [f"→ {status.value}" if status else "updated"]
        if values:
            what.append("fields " + ", ".join(f"{k}={v}" for k, v in values.items()))
        _after(reviews, review_id, f"{item_id} {' · '.join(what)} (by {who})")


@app.command("na")
def not_applicable(
    review_id: ReviewId,
    item: ItemArg,
    reason: Annotated[
        str | None, typer.Option(help="Why the item does not apply (required).")
    ] = None,
    database: Database = None,
    root: Root = Path(),
    as_: Actor = None,
) -> None:
    """Mark an item not applicable, with the justification the review records."""
    who = _actor(as_)
    with _errors(), _reviews(database, root) as reviews:
        item_id = _item_id(reviews.get(review_id), item)
        reviews.mark_na(review_id, item_id, reason=reason or "", actor=who)
        _after(reviews, review_id, f"{item_id} → not applicable: {reason} (by {who})")


@app.command("context")
def set_context(
    review_id: ReviewId,
    pairs: Annotated[
        list[str],
        typer.Argument(
            help="KEY=VALUE: launch_date, expected_rps, peak_rps, uptime_target or any key."
        ),
    ],
    database: Database = None,
    root: Root = Path(),
    as_: Actor = None,
) -> None:
    """Record the review's context: launch date, traffic, uptime target, requirements."""
    values = _context(pairs, "context")
    who = _actor(as_)
    with _errors(), _reviews(database, root) as reviews:
        reviews.set_context(review_id, values, actor=who)
        view = reviews.get(review_id)
    text = ", ".join(f"{k}={v}" for k, v in view.context.items())
    console().print(f"review {review_id} context: {_escape(text)}", soft_wrap=True)


# -- risk acceptance -----------------------------------------------------------------------


def _waiver_review(reviews: Reviews, waiver_id: int) -> int | None:
    from prr.store.schema import Waiver

    with reviews.store.transaction() as session:
        waiver = session.get(Waiver, waiver_id)
        return waiver.review_id if waiver else None


@app.command("waive")
def waive(
    review_id: ReviewId,
    item: ItemArg,
    reason: Annotated[str | None, typer.Option(help="Why the risk is acceptable.")] = None,
    risk_owner: Annotated[
        str | None, typer.Option("--risk-owner", help="Who owns the risk.")
    ] = None,
    mitigation: Annotated[
        str | None, typer.Option(help="The compensating control meanwhile.")
    ] = None,
    expires: Annotated[
        str | None, typer.Option(help="When the acceptance ends (YYYY-MM-DD; default: longest).")
    ] = None,
    database: Database = None,
    root: Root = Path(),
    as_: Actor = None,
) -> None:
    """Ask to accept the risk of a gap; it applies once a permitted role approves it."""
    until = _parse_date(expires, "--expires") if expires is not None else None
    who = _actor(as_)
    with _errors(), _reviews(database, root) as reviews:
        view = reviews.get(review_id)
        item_id = _item_id(view, item)
        waiver_id = reviews.request_waiver(
            review_id,
            item_id,
            reason=reason or "",
            risk_owner=risk_owner or "",
            actor=who,
            mitigation=mitigation,
            expires=until,
        )
        severity = view.item(item_id).assessment.severity
        roles = ", ".join(reviews.policy.approvers_for(severity))
        requested = next(w for w in reviews.get(review_id).waivers if w.id == waiver_id)
    out = console()
    out.print(
        f"waiver [bold]{waiver_id}[/] requested for {item_id} ({severity.value}), "
        f"expires {_iso(requested.expires)}",
        soft_wrap=True,
        highlight=False,
    )
    out.print(
        f"it applies once one of these approves it: {_escape(roles)}\n"
        f"  prr review approve-waiver {waiver_id} --role ROLE",
        soft_wrap=True,
        highlight=False,
    )


@app.command("approve-waiver")
def approve_waiver(
    waiver_id: Annotated[int, typer.Argument(help="The waiver's id.")],
    role: Annotated[str, typer.Option(help="The role you decide as.")],
    deny: Annotated[bool, typer.Option("--deny", help="Deny the request instead.")] = False,
    database: Database = None,
    root: Root = Path(),
    as_: Actor = None,
) -> None:
    """Approve (or deny) a requested risk acceptance, as a role the policy permits."""
    who = _actor(as_)
    with _errors(), _reviews(database, root) as reviews:
        as_role = _role(reviews, role)
        reviews.decide_waiver(waiver_id, approve=not deny, actor=who, role=as_role)
        review_id = _waiver_review(reviews, waiver_id)
        decision = "denied" if deny else "approved"
        message = f"waiver {waiver_id} {decision} by {who} as {as_role}"
        if review_id is not None:
            _after(reviews, review_id, message)
        else:  # pragma: no cover - the waiver was just decided
            console().print(message, soft_wrap=True)


@app.command("revoke-waiver")
def revoke_waiver(
    waiver_id: Annotated[int, typer.Argument(help="The waiver's id.")],
    database: Database = None,
    root: Root = Path(),
    as_: Actor = None,
) -> None:
    """Revoke a risk acceptance: the gap counts again."""
    who = _actor(as_)
    with _errors(), _reviews(database, root) as reviews:
        reviews.revoke_waiver(waiver_id, actor=who)
        review_id = _waiver_review(reviews, waiver_id)
        message = f"waiver {waiver_id} revoked by {who}"
        if review_id is not None:
            _after(reviews, review_id, message)
        else:  # pragma: no cover - the waiver was just revoked
            console().print(message, soft_wrap=True)


# -- sign-off, verification, diff ----------------------------------------------------------


@app.command("signoff")
def signoff(
    review_id: ReviewId,
    role: Annotated[str, typer.Option(help="The role you sign off as.")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approving.")] = False,
    comment: Annotated[str | None, typer.Option(help="Why, or on what condition.")] = None,
    database: Database = None,
    root: Root = Path(),
    as_: Actor = None,
) -> None:
    """Sign off as a role; refused (exit 1, blockers listed) while a blocker is open."""
    who = _actor(as_)
    with _errors(), _reviews(database, root) as reviews:
        as_role = _role(reviews, role)
        state = reviews.signoff(
            review_id, role=as_role, person=who, approve=not reject, comment=comment
        )
        decision = "rejected" if reject else "approved"
        message = f"{as_role} {decision} review {review_id} (by {who})"
        if state == "approved":
            message += " — every required role approved: the review is approved and frozen"
        _after(reviews, review_id, message)


@app.command("verify")
def verify(
    review_id: ReviewId,
    database: Database = None,
    root: Root = Path(),
    as_: Actor = None,
) -> None:
    """Check the review's hash-chained audit trail; exit 1 when it was tampered with."""
    with _errors(), _reviews(database, root) as reviews:
        problems = reviews.verify(review_id)
    if not problems:
        console().print(f"review {review_id}: audit trail intact")
        raise typer.Exit(EXIT_OK)
    err = console(stderr=True)
    err.print(
        f"[bold red]review {review_id}: audit trail broken[/] — {_plural(len(problems), 'problem')}"
    )
    for problem in problems:
        err.print(f"  {_escape(problem)}", soft_wrap=True)
    raise typer.Exit(EXIT_THRESHOLD)


@app.command("diff")
def diff(
    a: Annotated[int, typer.Argument(help="The earlier review.")],
    b: Annotated[int, typer.Argument(help="The later review.")],
    fmt: Annotated[
        ListFormat, typer.Option("--format", "-f", help="table or json")
    ] = ListFormat.TABLE,
    database: Database = None,
    root: Root = Path(),
    as_: Actor = None,
) -> None:
    """What changed between two reviews; items unknown in both are flagged."""
    with _errors(), _reviews(database, root) as reviews:
        result = reviews.diff(a, b)
        first, second = reviews.get(a), reviews.get(b)

    def delta(d: Any) -> dict[str, str]:
        return {"id": d.id, "title": d.title, "before": d.before, "after": d.after}

    if fmt is ListFormat.JSON:
        _echo_json(
            {
                "schema": DIFF_SCHEMA,
                "a": a,
                "b": b,
                "changed": [delta(d) for d in result.changed],
                "unknown_in_both": [delta(d) for d in result.unknown_twice],
                "added": result.added,
                "removed": result.removed,
            }
        )
        return
    from rich.table import Table

    out = console()
    out.print(
        f"review {a} ({_escape(first.service)} {_escape(first.version)}, {first.verdict.value}) → "
        f"review {b} ({_escape(second.service)} {_escape(second.version)}, "
        f"{second.verdict.value})",
        soft_wrap=True,
    )
    if result.changed:
        table = Table(title=f"Changed: {len(result.changed)}", title_justify="left")
        for column in ("item", "title", "before", "after"):
            table.add_column(column, overflow="fold")
        for d in result.changed:
            table.add_row(
                _escape(d.id),
                _escape(d.title),
                f"[{_STATUS_STYLE.get(d.before, 'white')}]{d.before}[/]",
                f"[{_STATUS_STYLE.get(d.after, 'white')}]{d.after}[/]",
            )
        out.print(table)
    else:
        out.print("no item changed status")
    if result.unknown_twice:
        out.print(
            f"\n[bold red]Red flag — unknown in both reviews: {len(result.unknown_twice)}[/] "
            "(never verified nor answered)"
        )
        for d in result.unknown_twice[:_DIFF_LIST]:
            out.print(f"  ? {d.id}  [dim]{_escape(d.title)}[/]", soft_wrap=True, highlight=False)
        if len(result.unknown_twice) > _DIFF_LIST:
            rest = len(result.unknown_twice) - _DIFF_LIST
            out.print(f"  … and {rest} more (--format json lists every one)")
    for label, ids in (("only in the later review", result.added), ("removed", result.removed)):
        if ids:
            out.print(f"{label}: {', '.join(ids)}", soft_wrap=True, highlight=False)


# -- prr gate and prr db ---------------------------------------------------------------------


def gate(
    service: Annotated[str, typer.Argument(help="The service to deploy.")],
    version: Annotated[str, typer.Argument(help="The version to deploy.")],
    database: Database = None,
    root: Root = Path(),
    as_: Actor = None,
) -> None:
    """Exit 0 only when an approved, non-drifted review covers this version (deploy pipelines)."""
    with _errors(), _reviews(database, root) as reviews:
        ok, why = reviews.gate(service, version)
    if ok:
        console().print(
            f"[green]gate open[/]: {_escape(service)} {_escape(version)}: {_escape(why)}",
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_OK)
    console().print(
        f"[red]gate closed[/]: {_escape(service)} {_escape(version)}: {_escape(why)}",
        soft_wrap=True,
    )
    raise typer.Exit(EXIT_THRESHOLD)


@db_app.command("upgrade")
def db_upgrade(
    database: Database = None,
    root: Root = Path(),
    as_: Actor = None,
) -> None:
    """Apply pending schema migrations; print the current and head revisions."""
    with _errors():
        store = _open(database, root, migrate=False)
        try:
            before = store.current_revision()
            store.upgrade()
            after = store.current_revision()
        finally:
            store.close()
    out = console()
    out.print(f"before: {before or '(empty store)'}")
    out.print(f"current: {after}")
    out.print(f"head: {store.head_revision()}")
    out.print("up to date" if before == after else f"migrated {before or 'empty'} → {after}")


@db_app.command("current")
def db_current(
    database: Database = None,
    root: Root = Path(),
    as_: Actor = None,
) -> None:
    """Print the store's schema revision and the newest one this prr knows."""
    with _errors():
        store = _open(database, root, migrate=False)
        try:
            current = store.current_revision()
        finally:
            store.close()
    head = store.head_revision()
    out = console()
    out.print(f"current: {current or '(empty store)'}")
    out.print(f"head: {head}")
    out.print("up to date" if current == head else "behind: run prr db upgrade")


__all__ = ["app", "db_app", "gate", "render_markdown", "resolve_item"]
