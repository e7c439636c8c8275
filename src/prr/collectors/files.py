"""The repository's file index: every file a scan may read, walked once.

The walk honours ``.gitignore`` files (at every level) and the target's
excludes, never follows directory symlinks (so symlink loops cannot trap it),
detects binary files and marks files over the size cap as skipped instead of
reading them. Anything it cannot read is recorded as a scan error.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

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
        return PurePosixPath(self.path).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.path).suffix.lower()

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
        """Entries whose path or file name matches any glob (``*.tf``, ``.github/workflows/*``)."""
        result = []
        for entry in self.entries:
            for pattern in patterns:
                target = entry.path if "/" in pattern else entry.name
                if fnmatch.fnmatchcase(target.lower(), pattern.lower()):
                    result.append(entry)
                    break
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


def _looks_binary(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(_BINARY_SNIFF)
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

    def walk(directory: Path, rel: str, ignores: _Ignores) -> None:
        try:
            info = directory.stat()
        except OSError as exc:
            record(rel, f"cannot open directory: {exc.strerror or exc}")
            return
        key = (info.st_dev, info.st_ino)
        if key in seen_dirs:
            return
        seen_dirs.add(key)
        if use_gitignore:
            gitignore = directory / ".gitignore"
            try:
                if gitignore.is_file():
                    ignores = ignores.child(
                        rel, gitignore.read_text(encoding="utf-8", errors="replace")
                    )
            except OSError as exc:
                record(f"{rel}/.gitignore".lstrip("/"), f"cannot read: {exc.strerror or exc}")
        try:
            with os.scandir(directory) as iterator:
                children = sorted(iterator, key=lambda e: e.name)
        except OSError as exc:
            record(rel, f"cannot list directory: {exc.strerror or exc}")
            return
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
                walk(Path(child.path), child_rel, ignores)
                continue
            if is_link:
                _add_link(index, Path(child.path), child_rel, root, max_bytes)
                continue
            _add_file(index, Path(child.path), child_rel, max_bytes)

    walk(root, "", _Ignores())
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
    _add_file(index, target, rel, max_bytes)


def _add_file(index: FileIndex, path: Path, rel: str, max_bytes: int) -> None:
    try:
        info = path.stat()
    except OSError as exc:
        index.errors.append(ScanError(rel, f"cannot stat: {exc.strerror or exc}", "files"))
        return
    if not stat.S_ISREG(info.st_mode):
        return  # sockets, fifos, devices
    size = info.st_size
    if size > max_bytes:
        index.entries.append(
            FileEntry(
                rel, path, size, skipped=f"file is {size:,} bytes, over the {max_bytes:,} limit"
            )
        )
        return
    try:
        binary = _looks_binary(path)
    except OSError as exc:
        index.errors.append(ScanError(rel, f"cannot read: {exc.strerror or exc}", "files"))
        index.entries.append(
            FileEntry(rel, path, size, skipped=f"cannot read: {exc.strerror or exc}")
        )
        return
    index.entries.append(FileEntry(rel, path, size, binary=binary))
