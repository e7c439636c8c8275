"""YAML with positions: every path knows its line, duplicates and bombs are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from prr.model.yamlsource import YamlProblem, load_yaml, load_yaml_text


def test_positions_of_values_and_keys() -> None:
    doc = load_yaml_text("a: 1\nb:\n  - x\n  - {c: 2}\n", "t.yaml")
    assert doc.data == {"a": 1, "b": ["x", {"c": 2}]}
    assert doc.where(("a",)) == (1, 4)
    assert doc.where(("b", 1, "c")) == (4, 9)
    assert doc.where(("b", 1, "c"), key=True) == (4, 6)
    assert doc.where(("b", 7, "zz")) == (3, 3)  # nearest ancestor with a position
    assert doc.problem(("a",), "bad").line == 1


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(YamlProblem, match="duplicate key 'a'") as info:
        load_yaml_text("a: 1\nb: 2\na: 3\n", "t.yaml")
    assert info.value.problem.line == 3


def test_merge_keys_still_work() -> None:
    doc = load_yaml_text("base: &b {x: 1}\nitem:\n  <<: *b\n  y: 2\n", "t.yaml")
    assert doc.data["item"] == {"x": 1, "y": 2}


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    with pytest.raises(YamlProblem, match="alias bomb"):
        load_yaml_text("\n".join(lines), "bomb.yaml")


def test_empty_document() -> None:
    assert load_yaml_text("", "e.yaml").data is None


def test_huge_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)
    with pytest.raises(YamlProblem, match="the limit is"):
        load_yaml(big)


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffa: 1\n".encode())
    assert load_yaml(path).data == {"a": 1}
