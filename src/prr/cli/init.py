"""``prr init``: write ``prr.yaml`` for a repository from what it holds."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from prr.cli._output import EXIT_USAGE, console


def _detect(root: Path) -> dict[str, Any]:
    from prr.collectors.base import CollectContext
    from prr.collectors.files import build_index
    from prr.collectors.traits import TraitCollector
    from prr.model.target import load_target

    target = load_target(root)
    index = build_index(root)
    traits = TraitCollector().collect(CollectContext(root, index)).detected
    owner = target.owner
    codeowners = next((e for e in index.match("CODEOWNERS") if e.readable), None)
    if owner is None and codeowners is not None:
        for line in index.read_text(codeowners).splitlines():
            parts = line.split()
            if len(parts) >= 2 and not line.startswith("#") and parts[0] in {"*", "/"}:
                owner = parts[1]
                break
    environments = {}
    names = {p.lower() for e in index for p in Path(e.path).parts}
    for env in ("staging", "production"):
        if env in names or (env == "production" and {"prod", "overlays"} & names):
            environments[env] = {"production": env == "production", "endpoints": []}
    return {
        "service": target.service,
        "owner": owner,
        "tier": target.tier or 2,
        "stage": target.stage.value,
        "checklist": target.checklist,
        "traits": sorted(traits),
        "trait_sources": traits,
        "environments": environments
        or {"staging": {"production": False}, "production": {"production": True}},
    }


def _render(data: dict[str, Any]) -> str:
    import yaml

    body = {k: v for k, v in data.items() if k != "trait_sources" and v is not None}
    header = (
        "# prr.yaml: what prr needs to know about this service (docs/target-format.md).\n"
        "# Credentials are never written here: reference them as env:VAR.\n"
    )
    sources = data.get("trait_sources") or {}
    notes = "".join(f"#   {trait}: found in {path}\n" for trait, path in sorted(sources.items()))
    if notes:
        header += "# Traits detected from the repository:\n" + notes
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


def init(
    path: Annotated[Path, typer.Argument(help="The repository.")] = Path(),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing prr.yaml.")] = False,
    interactive: Annotated[
        bool | None,
        typer.Option("--interactive/--no-interactive", help="Ask (default: when a TTY)."),
    ] = None,
) -> None:
    """Write prr.yaml for this repository, detecting what it can and asking for the rest."""
    from prr.errors import PrrError
    from prr.model.checklist import Stage, Trait
    from prr.model.target import TARGET_FILE

    target_file = path / TARGET_FILE
    if target_file.exists() and not force:
        console(stderr=True).print(
            f"[bold red]error:[/] {target_file} exists; use --force to overwrite"
        )
        raise typer.Exit(EXIT_USAGE)
    try:
        data = _detect(path)
    except PrrError as exc:
        console(stderr=True).print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    ask = sys.stdin.isatty() if interactive is None else interactive
    if ask:
        data["service"] = typer.prompt("Service name", default=data["service"])
        data["owner"] = typer.prompt("Owning team", default=data["owner"] or "") or None
        data["tier"] = typer.prompt("Tier (1 = most critical)", default=data["tier"], type=int)
        stages = [s.value for s in Stage]
        while (
            stage := typer.prompt(f"Launch stage ({'/'.join(stages)})", default=data["stage"])
        ) not in stages:
            typer.echo(f"choose one of {', '.join(stages)}")
        data["stage"] = stage
        known = [t.value for t in Trait]
        answer = typer.prompt(
            f"Traits ({', '.join(known)})", default=",".join(data["traits"]) or "none"
        )
        chosen = [t.strip() for t in answer.split(",") if t.strip() and t.strip() != "none"]
        unknown = [t for t in chosen if t not in known]
        if unknown:
            typer.echo(f"ignoring unknown traits: {', '.join(unknown)}")
        data["traits"] = [t for t in chosen if t in known]
    target_file.write_text(_render(data), encoding="utf-8")
    typer.echo(f"wrote {target_file}")
