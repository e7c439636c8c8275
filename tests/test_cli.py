"""The installed entry points and the CLI's general behaviour."""

from __future__ import annotations

import subprocess
import sys

from prr import __version__


def test_console_script_and_module_entry_point() -> None:
    for argv in (["prr"], [sys.executable, "-m", "prr"]):
        cmd = argv if argv[0] != "prr" else [str(_script("prr"))]
        done = subprocess.run(
            [*cmd, "version"], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"prr {__version__}")


def _script(name: str) -> str:
    from pathlib import Path

    return str(Path(sys.executable).parent / name)


def test_help_lists_commands(cli) -> None:
    run = cli("--help")
    assert run.exit_code == 0
    for command in ("checklist", "version"):
        assert command in run.stdout
    run = cli("checklist", "--help")
    for command in ("list", "show", "validate", "diff"):
        assert command in run.stdout


def test_errors_exit_2_without_traceback() -> None:
    done = subprocess.run(
        [_script("prr"), "checklist", "show", "./missing.yaml"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "missing.yaml: file not found" in done.stderr
