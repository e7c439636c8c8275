"""Regenerate the generated parts of docs/: the CLI reference and the checklist boards.

Run ``.venv/bin/python scripts/gen_docs.py``; tests/test_docs.py fails when the
committed files differ from what this writes, so docs never drift from the code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _help(path: list[str]) -> str:
    from typer.testing import CliRunner

    from prr.cli import app

    env = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    result = CliRunner().invoke(app, [*path, "--help"], env=env, terminal_width=100)
    return "\n".join(line.rstrip() for line in result.stdout.splitlines()).strip()


def _walk(command: Any, path: list[str], found: list[tuple[list[str], Any]]) -> None:
    found.append((path, command))
    if hasattr(command, "list_commands"):
        ctx = command.make_context("prr", [], resilient_parsing=True)
        for name in command.list_commands(ctx):
            _walk(command.get_command(ctx, name), [*path, name], found)


def cli_reference() -> str:
    import typer

    from prr.cli import app

    os.environ.setdefault("COLUMNS", "100")
    found: list[tuple[list[str], Any]] = []
    _walk(typer.main.get_command(app), [], found)
    lines = [
        "# Command reference",
        "",
        "Generated from the code by `scripts/gen_docs.py`; do not edit by hand.",
        "",
        "Exit codes: 0 success, 1 the `--fail-on` threshold was not met, 2 a usage or",
        "configuration error, 3 the run itself failed.",
        "",
    ]
    for path, _ in found:
        title = " ".join(["prr", *path])
        lines += [f"## `{title}`", "", "```text", _help(path), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def boards() -> dict[Path, str]:
    from prr.model.loader import builtin_names, load_checklist
    from prr.reports.checklist import render_markdown

    result = {}
    for name in builtin_names():
        checklist = load_checklist(name)
        result[ROOT / "docs" / "checklists" / f"{name}.md"] = render_markdown(
            checklist, checklist.items()
        )
    return result


def checks_reference() -> str:
    from prr.checks.registry import load_builtin_checks
    from prr.model.loader import load_checklist

    service = load_checklist("service")
    checks = sorted(load_builtin_checks().values(), key=lambda c: (c.scope != "repository", c.id))
    repo = [c for c in checks if c.scope == "repository"]
    live = [c for c in checks if c.scope != "repository"]
    from_files = {item for c in repo for item in c.items if item in service}
    from_live = {item for c in live for item in c.items if item in service}
    decided = sorted(from_files | from_live)
    lines = [
        "# Checks",
        "",
        "Generated from the code by `scripts/gen_docs.py`; do not edit by hand.",
        "",
        f"{len(checks)} checks decide {len(decided)} of the {len(service)} items of the "
        f"`service` checklist: {len(repo)} read the repository ({len(from_files)} items) and "
        f"{len(live)} read running systems with `prr scan --live` ({len(from_live)} items, "
        f"{len(from_live - from_files)} of which no repository check decides).",
        "A check that finds none of its evidence has no opinion; one whose evidence could not be",
        "read makes its items unknown, never passed. When live and",
        "file evidence disagree, the live system decides and the disagreement is reported.",
        "",
    ]
    for title, group in (("Repository checks", repo), ("Live checks (`prr scan --live`)", live)):
        header = "| check | scope | what it verifies | items it decides |"
        lines += [f"## {title}", "", header, "|---|---|---|---|"]
        for registered in group:
            items = "<br>".join(f"`{i}`" for i in registered.items)
            what = registered.title.replace("|", "\\|")
            lines.append(f"| `{registered.id}` | {registered.scope} | {what} | {items} |")
        lines.append("")
    lines += ["## Items and the checks that decide them", ""]
    for item_id in decided:
        ids = ", ".join(f"`{c.id}`" for c in checks if item_id in c.items)
        marker = " (live only)" if item_id not in from_files else ""
        lines.append(f"- `{item_id}` ({service.item(item_id).title}){marker}: {ids}")
    return "\n".join(lines).rstrip() + "\n"


def generated() -> dict[Path, str]:
    return {
        ROOT / "docs" / "cli.md": cli_reference(),
        ROOT / "docs" / "checks.md": checks_reference(),
        **boards(),
    }


def main() -> int:
    for path, text in generated().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
