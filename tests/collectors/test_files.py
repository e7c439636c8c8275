"""The file index over real trees: gitignore, excludes, binaries, size cap, links, permissions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prr.collectors.files import build_index
from prr.errors import CollectorError


def test_gitignore_at_every_level_and_excludes(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.log\nbuild/\n!keep.log\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / ".gitignore").write_text("secret.txt\n")
    for name in (
        "a.log",
        "keep.log",
        "app/secret.txt",
        "app/main.py",
        "build/out.yaml",
        "docs/x.md",
    ):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    (tmp_path / "node_modules" / "p").mkdir(parents=True)
    (tmp_path / "node_modules" / "p" / "k.yaml").write_text("x")
    index = build_index(tmp_path, excludes=["docs/"])
    paths = {e.path for e in index}
    assert paths == {".gitignore", "app/.gitignore", "app/main.py", "keep.log"}
    assert index.excluded >= 4


def test_binary_huge_and_invalid_utf8(tmp_path: Path) -> None:
    (tmp_path / "img.png").write_bytes(b"\x89PNG\x00\x00")
    (tmp_path / "big.yaml").write_text("a: 1\n" * 1000)
    (tmp_path / "bad.yaml").write_bytes(b"a: \xff\n")
    index = build_index(tmp_path, max_bytes=1024)
    entries = {e.path: e for e in index}
    assert entries["img.png"].binary and not entries["img.png"].readable
    assert entries["big.yaml"].skipped and "over the 1,024 limit" in entries["big.yaml"].skipped
    with pytest.raises(CollectorError, match="invalid UTF-8 at line 1"):
        index.read_text(entries["bad.yaml"])
    with pytest.raises(CollectorError, match="binary"):
        index.read_text(entries["img.png"])
    with pytest.raises(CollectorError, match="over the"):
        index.read_text(entries["big.yaml"])


def test_symlink_loops_and_links_outside(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    (repo / "sub" / "f.yaml").write_text("a: 1")
    os.symlink(repo, repo / "sub" / "loop")  # directory loop
    os.symlink(repo / "a", repo / "b")
    os.symlink(repo / "b", repo / "a")  # file symlink loop
    (tmp_path / "outside.txt").write_text("x")
    os.symlink(tmp_path / "outside.txt", repo / "out.txt")
    os.symlink(repo / "sub" / "f.yaml", repo / "alias.yaml")
    index = build_index(repo)
    paths = {e.path for e in index}
    assert paths == {"sub/f.yaml", "alias.yaml"}
    reasons = {e.source: e.reason for e in index.errors}
    assert reasons["a"] == "symlink loop" and reasons["b"] == "symlink loop"
    assert "outside the repository" in reasons["out.txt"]


def test_match_by_name_and_path(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("on: push")
    (tmp_path / "Dockerfile").write_text("FROM x")
    index = build_index(tmp_path)
    assert [e.path for e in index.match(".github/workflows/*")] == [".github/workflows/ci.yml"]
    assert [e.path for e in index.match("dockerfile")] == ["Dockerfile"]
    assert index.get("Dockerfile") is not None and index.get("nope") is None
