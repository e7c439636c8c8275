"""``prr drill …``: run a failure-scenario drill against one environment, safely.

Every drill prints its plan, runs only with ``--yes`` or after a confirmation,
refuses an environment marked ``production: true`` unless ``--allow-production``,
is bounded in time and requests, cleans up when interrupted, and stores its
outcome as dated evidence for later scans, reviews and reports.
Exit codes: 0 the drill passed, 1 it failed, 2 refused or misconfigured, 3 it crashed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from prr.cli._output import EXIT_RUN_FAILED, EXIT_THRESHOLD, EXIT_USAGE, console

app = typer.Typer(
    help="Failure-scenario drills: test what happens when things break, and keep the evidence.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("list")
def list_drills() -> None:
    """List the drills, the items they decide and their options."""
    from prr.drills.base import load_builtin_drills

    out = console()
    for name, cls in sorted(load_builtin_drills().items()):
        out.print(f"[bold]{name}[/]: {cls.title}")
        out.print(f"  decides: {', '.join(cls.items)}", highlight=False)
        for option in getattr(cls, "options", ()):
            out.print(
                f"  -o {option.name}=…  {option.help} (default {option.default!r})", highlight=False
            )


def run_drill(
    name: str,
    path: Path,
    env: str,
    raw_options: list[str],
    yes: bool,
    allow_production: bool,
    timeout: float,
    database: str | None,
) -> None:
    """Plan, confirm, run and record one drill (shared by every drill command)."""
    import asyncio

    from prr.drills.base import DrillContext, DrillRefused, execute, load_builtin_drills
    from prr.drills.evidence import save_outcome
    from prr.errors import PrrError
    from prr.model.target import TargetError, load_target
    from prr.store.db import open_store

    err = console(stderr=True)
    drills = load_builtin_drills()
    if name not in drills:
        err.print(f"[bold red]error:[/] no drill {name!r}; drills: {', '.join(sorted(drills))}")
        raise typer.Exit(EXIT_USAGE)
    drill = drills[name]()
    try:
        target = load_target(path)
    except TargetError as exc:
        for problem in exc.problems:
            err.print(f"[bold red]error:[/] {problem}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    if env not in target.environments:
        known = ", ".join(target.environments) or "none in prr.yaml"
        err.print(f"[bold red]error:[/] no environment {env!r} (known: {known})")
        raise typer.Exit(EXIT_USAGE)
    spec = target.environments[env]
    table = {o.name: o for o in getattr(drill, "options", ())}
    options = {o.name: o.default for o in table.values()}
    for raw in raw_options:
        key, _, value = raw.partition("=")
        if key not in table:
            known = ", ".join(table) or "none"
            err.print(f"[bold red]error:[/] {name} has no option {key!r}; options: {known}")
            raise typer.Exit(EXIT_USAGE)
        try:
            options[key] = table[key].parse(value)
        except ValueError as exc:
            err.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(EXIT_USAGE) from None
    if spec.production and not allow_production:
        err.print(
            f"[bold red]refused:[/] {env} is marked production: true; drills change or load "
            "the systems they test. Run it against staging, or pass --allow-production."
        )
        raise typer.Exit(EXIT_USAGE)
    ctx = DrillContext(env, spec, target, options, timeout_s=timeout)
    try:
        plan = drill.plan(ctx)
    except DrillRefused as exc:
        err.print(f"[bold red]refused:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    out = console()
    out.print(
        f"[bold]Drill {plan.drill}[/] on {plan.environment}"
        + (" [red](production)[/]" if spec.production else "")
    )
    for touched in plan.touches:
        out.print(f"  touches: {touched}", highlight=False)
    for number, step in enumerate(plan.steps, start=1):
        out.print(f"  {number}. {step}", highlight=False)
    bound = f"at most {plan.max_duration_s:g}s"
    if plan.max_requests is not None:
        bound += f", at most {plan.max_requests} requests"
    out.print(
        f"  bounds: {bound}"
        + ("; it changes state and restores it afterwards" if plan.changes_state else "")
    )
    if not yes:
        if not sys.stdin.isatty():
            err.print("[bold red]refused:[/] not confirmed; pass --yes to run without a prompt")
            raise typer.Exit(EXIT_USAGE)
        if not typer.confirm("Run this drill?", default=False):
            raise typer.Exit(EXIT_USAGE)
    try:
        outcome = asyncio.run(execute(drill, ctx))
    except KeyboardInterrupt:
        err.print("interrupted: the drill cleaned up what it changed; nothing was recorded")
        raise typer.Exit(EXIT_RUN_FAILED) from None
    except DrillRefused as exc:
        err.print(f"[bold red]refused:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    except PrrError as exc:
        err.print(f"[bold red]error:[/] the drill could not run: {exc}")
        raise typer.Exit(EXIT_RUN_FAILED) from None
    for line in outcome.log:
        out.print(f"  {line}", highlight=False, markup=False)
    verdict = "[green]PASSED[/]" if outcome.passed else "[red]FAILED[/]"
    out.print(f"{verdict} in {outcome.duration_s:.1f}s: {outcome.summary}", highlight=False)
    for key, value in outcome.measurements.items():
        shown = str(value)
        if len(shown) > 120:
            shown = shown[:119] + "… (full values in the stored outcome)"
        out.print(f"  {key}: {shown}", highlight=False, markup=False)
    try:
        store = open_store(path, database)
        drill_id = save_outcome(store, target.service, outcome)
        store.close()
        out.print(
            f"recorded as drill {drill_id}: later scans, reviews and reports count it as evidence"
        )
    except PrrError as exc:
        err.print(f"[bold red]error:[/] the outcome could not be recorded: {exc}")
        raise typer.Exit(EXIT_RUN_FAILED) from None
    raise typer.Exit(0 if outcome.passed else EXIT_THRESHOLD)


@app.command("run")
def run(
    name: Annotated[
        str, typer.Argument(help="The drill: backup-restore, rate-limit, load, alert-fires …")
    ],
    path: Annotated[Path, typer.Argument(help="The repository (for prr.yaml).")] = Path(),
    env: Annotated[str, typer.Option("--env", "-e", help="The environment to drill.")] = "staging",
    option: Annotated[
        list[str] | None, typer.Option("--option", "-o", help="KEY=VALUE (see prr drill list).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Run without asking.")] = False,
    allow_production: Annotated[
        bool, typer.Option("--allow-production", help="Allow a production environment.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Stop (and clean up) after this many seconds.")
    ] = 600.0,
    database: Annotated[
        str | None, typer.Option(help="Store URL (default PRR_DATABASE_URL or .prr/prr.db).")
    ] = None,
) -> None:
    """Run one drill against one environment and record its outcome."""
    run_drill(name, path, env, option or [], yes, allow_production, timeout, database)
