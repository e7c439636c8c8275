"""Data flows one way: each layer imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "prr"

# Lower number = lower layer. A module may import its own layer or lower ones.
LAYERS = {
    "errors": 0,
    "_version": 0,
    "model": 1,
    "store": 1,
    "collectors": 2,
    "checks": 3,
    "drills": 3,
    "engine": 4,
    "assessment": 4,
    "review": 5,
    "reports": 5,
    "workflow": 5,
    "server": 6,
    "cli": 6,
    "__main__": 7,
}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "prr" or len(parts) == 1:
        return None
    return LAYERS.get(parts[1])


def test_imports_go_one_way_down() -> None:
    offences = []
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(relative.parts)
        own = _layer(module)
        if own is None:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                theirs = _layer(target)
                if theirs is not None and theirs > own:
                    offences.append(f"{module} imports {target}")
    assert not offences, "\n".join(offences)


def test_every_package_is_placed_in_a_layer() -> None:
    for child in SRC.iterdir():
        if child.name.startswith(("__init__", "py.typed", "checklists", "__pycache__")):
            continue
        assert child.stem in LAYERS, f"{child.name} is in no layer"
