"""The repository's file index: every file a scan may read, walked once.

The walk honours ``.gitignore`` files (at every level) and the target's
excludes, never follows directory symlinks (so symlink loops cannot trap it),
detects binary files and marks files over the size cap as skipped instead of
reading them. Anything it cannot read is recorded as a scan error.
"""

from __future__ import annotations

import errno
import fnmatch
import functools
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pathspec import GitIgnoreSpec

from prr.errors import CollectorError
from prr.model.evidence import ScanError

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
ALWAYS_EXCLUDED = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".terraform",
        ".venv",
        "venv",
        "__pycache__",
        ".tox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".prr",
    }
)
_BINARY_SNIFF = 8192


@dataclass(frozen=True)
class FileEntry:
    """One file of the repository. ``skipped`` says why its content is not read."""

    path: str
    """Repository-relative POSIX path."""
    abspath: Path
    size: int
    binary: bool = False
    skipped: str | None = None

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]

    @property
    def suffix(self) -> str:
        # PurePosixPath's rule without building one: ".bashrc" has none, "a.tar.gz" is ".gz"
        name = self.path.rpartition("/")[2]
        dot = name.rfind(".")
        if 0 < dot < len(name) - 1:
            return name[dot:].lower()
        return ""

    @property
    def readable(self) -> bool:
        return self.skipped is None and not self.binary


@dataclass
class FileIndex:
    """All files of one repository, in walk order, with the errors met."""

    root: Path
    entries: list[FileEntry] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    excluded: int = 0
    _by_path: dict[str, FileEntry] = field(default_factory=dict, repr=False)

    def __iter__(self) -> Iterator[FileEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, path: str) -> FileEntry | None:
        """The entry at a repository-relative path, or None."""
        if len(self._by_path) != len(self.entries):
            self._by_path = {e.path: e for e in self.entries}
        return self._by_path.get(path)

    def match(self, *patterns: str) -> list[FileEntry]:
        """Entries whose path or file name matches any glob (``*.tf``, ``.github/workflows/*``).

        Case-insensitive; a pattern with a ``/`` is matched against the whole path,
        others against the file name. One compiled expression per kind, one pass.
        """
        by_path = _globs(tuple(p for p in patterns if "/" in p))
        by_name = _globs(tuple(p for p in patterns if "/" not in p))
        result = []
        for entry in self.entries:
            path = entry.path
            if (by_name is not None and by_name(path.rpartition("/")[2])) or (
                by_path is not None and by_path(path)
            ):
                result.append(entry)
        return result

    def with_suffix(self, *suffixes: str) -> list[FileEntry]:
        wanted = {s.lower() for s in suffixes}
        return [e for e in self.entries if e.suffix in wanted]

    def read_bytes(self, entry: FileEntry) -> bytes:
        """The file's content; raises :class:`CollectorError` if skipped or unreadable."""
        if entry.skipped:
            raise CollectorError(entry.skipped, source=entry.path)
        try:
            return entry.abspath.read_bytes()
        except OSError as exc:
            raise CollectorError(f"cannot read: {exc.strerror or exc}", source=entry.path) from None

    def read_text(self, entry: FileEntry) -> str:
        """The file as UTF-8 text; binary files and invalid UTF-8 raise :class:`CollectorError`."""
        if entry.binary:
            raise CollectorError("binary file", source=entry.path)
        raw = self.read_bytes(entry)
        try:
            return raw.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise CollectorError(f"invalid UTF-8 at line {line}", source=entry.path) from None


@functools.lru_cache(maxsize=256)
def _globs(patterns: tuple[str, ...]) -> Callable[[str], object] | None:
    """A case-insensitive full-match test for any of ``patterns`` (None when there are none)."""
    if not patterns:
        return None
    joined = "|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)
    return re.compile(joined, re.IGNORECASE | re.DOTALL).match


def _looks_binary(path: str | Path) -> bool:
    # os.open/os.read: no buffered file object per file; this runs for every file of the walk
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        head = os.read(fd, _BINARY_SNIFF)
    finally:
        os.close(fd)
    return b"\x00" in head


class _Ignores:
    """The stack of .gitignore specs that apply to one directory."""

    def __init__(self, specs: tuple[tuple[str, GitIgnoreSpec], ...] = ()) -> None:
        self.specs = specs

    def child(self, base: str, text: str) -> _Ignores:
        spec = GitIgnoreSpec.from_lines(text.splitlines())
        return _Ignores((*self.specs, (base, spec)))

    def ignored(self, rel: str, is_dir: bool) -> bool:
        verdict = False
        for base, spec in self.specs:
            sub = rel[len(base) + 1 :] if base else rel
            candidate = sub + "/" if is_dir else sub
            result = spec.check_file(candidate)
            if result.include is not None:
                verdict = bool(result.include)
        return verdict


def build_index(
    root: Path,
    *,
    excludes: Iterable[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    use_gitignore: bool = True,
) -> FileIndex:
    """Walk ``root`` and index its files. Never raises for a bad file; records it."""
    root = root.resolve()
    index = FileIndex(root)
    exclude_spec = GitIgnoreSpec.from_lines(list(excludes))
    seen_dirs: set[tuple[int, int]] = set()

    def record(rel: str, reason: str) -> None:
        index.errors.append(ScanError(rel or ".", reason, "files"))

    def walk(directory: str, rel: str, ignores: _Ignores, key: tuple[int, int]) -> None:
        # Strings and DirEntry data rather than Path objects and extra stat calls: this
        # runs for every directory and file of the repository.
        if key in seen_dirs:
            return
        seen_dirs.add(key)
        try:
            with os.scandir(directory) as iterator:
                children = sorted(iterator, key=lambda e: e.name)
        except OSError as exc:
            record(rel, f"cannot list directory: {exc.strerror or exc}")
            return
        if use_gitignore and any(c.name == ".gitignore" for c in children):
            gitignore = Path(directory, ".gitignore")
            try:
                if gitignore.is_file():
                    ignores = ignores.child(
                        rel, gitignore.read_text(encoding="utf-8", errors="replace")
                    )
            except OSError as exc:
                record(f"{rel}/.gitignore".lstrip("/"), f"cannot read: {exc.strerror or exc}")
        for child in children:
            child_rel = f"{rel}/{child.name}" if rel else child.name
            try:
                is_link = child.is_symlink()
                is_dir = child.is_dir(follow_symlinks=False)
            except OSError as exc:
                record(child_rel, f"cannot stat: {exc.strerror or exc}")
                continue
            if is_dir and child.name in ALWAYS_EXCLUDED:
                index.excluded += 1
                continue
            if ignores.ignored(child_rel, is_dir) or exclude_spec.match_file(
                child_rel + "/" if is_dir else child_rel
            ):
                index.excluded += 1
                continue
            if is_dir:
                try:
                    child_key = (key[0], child.inode())
                except OSError as exc:
                    record(child_rel, f"cannot open directory: {exc.strerror or exc}")
                    continue
                walk(child.path, child_rel, ignores, child_key)
                continue
            if is_link:
                _add_link(index, Path(child.path), child_rel, root, max_bytes)
                continue
            try:
                info = child.stat(follow_symlinks=False)
            except OSError as exc:
                index.errors.append(
                    ScanError(child_rel, f"cannot stat: {exc.strerror or exc}", "files")
                )
                continue
            _add_file(index, child.path, child_rel, max_bytes, info)

    try:
        top = root.stat()
    except OSError as exc:
        record("", f"cannot open directory: {exc.strerror or exc}")
        return index
    walk(str(root), "", _Ignores(), (top.st_dev, top.st_ino))
    return index


def _add_link(index: FileIndex, path: Path, rel: str, root: Path, max_bytes: int) -> None:
    try:
        target = path.resolve(strict=True)
    except RuntimeError:
        index.errors.append(ScanError(rel, "symlink loop", "files"))
        return
    except OSError as exc:
        reason = "symlink loop" if exc.errno == errno.ELOOP else "broken symlink"
        index.errors.append(ScanError(rel, reason, "files"))
        return
    if target.is_dir():
        return  # directory symlinks are not followed: git does not either, and loops are impossible
    if not target.is_relative_to(root):
        index.errors.append(
            ScanError(rel, "symlink points outside the repository; not read", "files")
        )
        return
    try:
        info = target.stat()
    except OSError as exc:
        index.errors.append(ScanError(rel, f"cannot stat: {exc.strerror or exc}", "files"))
        return
    _add_file(index, str(target), rel, max_bytes, info)


def _add_file(index: FileIndex, path: str, rel: str, max_bytes: int, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        return  # sockets, fifos, devices
    size = info.st_size
    if size > max_bytes:
        index.entries.append(
            FileEntry(
                rel,
                Path(path),
                size,
                skipped=f"file is {size:,} bytes, over the {max_bytes:,} limit",
            )
        )
        return
    try:
        binary = _looks_binary(path)
    except OSError as exc:
        index.errors.append(ScanError(rel, f"cannot read: {exc.strerror or exc}", "files"))
        index.entries.append(
            FileEntry(rel, Path(path), size, skipped=f"cannot read: {exc.strerror or exc}")
        )
        return
    index.entries.append(FileEntry(rel, Path(path), size, binary=binary))
