"""YAML that remembers where every key and value came from.

Checklist and target files are written by people; when one is wrong the
message must say ``file:line:column``. :func:`load_yaml` builds plain Python
data plus a map from each path (``("categories", 0, "id")``) to its position,
refuses duplicate keys, and caps how far aliases may expand (a "billion
laughs" file is an error, not an out-of-memory).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from prr.errors import Problem

Path_ = tuple[str | int, ...]

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader

MAX_NODES = 250_000
MAX_BYTES = 16 * 1024 * 1024


class YamlProblem(Exception):
    """Raised by :func:`load_yaml`; carries the :class:`Problem` to report."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


@dataclass
class YamlDocument:
    """Parsed YAML data with the 1-based line and column of every path in it."""

    data: Any
    source: str
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path_, *, key: bool = False) -> tuple[int | None, int | None]:
        """Position of ``path``, or of its nearest ancestor that has one."""
        table = self.key_positions if key else self.positions
        probe = tuple(path)
        while True:
            if probe in table:
                return table[probe]
            if key and probe in self.positions:
                return self.positions[probe]
            if not probe:
                return None, None
            probe = probe[:-1]

    def problem(self, path: Path_, message: str, *, key: bool = False) -> Problem:
        line, column = self.where(path, key=key)
        shown = ".".join(str(p) for p in path) if path else None
        return Problem(message, self.source, line, column, shown)


VALUE_TAG = "tag:yaml.org,2002:value"


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.constructor = yaml.constructor.SafeConstructor()
        self.positions: dict[Path_, tuple[int, int]] = {}
        self.key_positions: dict[Path_, tuple[int, int]] = {}
        self.count = 0

    def _fail(self, node: yaml.Node, message: str) -> YamlProblem:
        mark = node.start_mark
        return YamlProblem(Problem(message, self.source, mark.line + 1, mark.column + 1))

    def build(self, node: yaml.Node, path: Path_, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self._fail(
                node, f"document expands to more than {MAX_NODES:,} nodes (alias bomb?)"
            )
        if depth > 200:
            raise self._fail(node, "document nests more than 200 levels deep")
        self.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, (*path, "<key>"), depth + 1)
                if isinstance(key, float) or key is None:
                    key = str(key)
                if not isinstance(key, str | int):
                    raise self._fail(key_node, "mapping keys must be plain scalars")
                if key in result:
                    raise self._fail(key_node, f"duplicate key {key!r}")
                child = (*path, key)
                self.key_positions[child] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                result[key] = self.build(value_node, child, depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i), depth + 1) for i, child in enumerate(node.value)]
        if node.tag == VALUE_TAG:  # YAML 1.1 resolves a bare `=` to this tag; it is just text
            return str(node.value)
        try:
            return self.constructor.construct_object(node)
        except yaml.constructor.ConstructorError as exc:
            raise self._fail(node, str(exc.problem or exc)) from None


def load_yaml_text(text: str, source: str) -> YamlDocument:
    """Parse one YAML document from ``text``; ``source`` names it in messages."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        context = exc.context or ""
        started, found = exc.context_mark, exc.problem_mark
        if context and started is not None and found is not None and started.line != found.line:
            context += f" (started at line {started.line + 1})"
        message = " ".join(part for part in (context, exc.problem) if part) or str(exc)
        raise YamlProblem(Problem(f"invalid YAML: {message}", source, line, column)) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(Problem(f"invalid YAML: {exc}", source)) from None
    if node is None:
        return YamlDocument(None, source)
    builder = _Builder(source)
    data = builder.build(node, ())
    return YamlDocument(data, source, builder.positions, builder.key_positions)


def load_yaml(path: Path, *, display: str | None = None) -> YamlDocument:
    """Read and parse ``path``; every failure is a :class:`YamlProblem` naming the file."""
    source = display or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise YamlProblem(
                Problem(f"file is {size:,} bytes; the limit is {MAX_BYTES:,}", source)
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise YamlProblem(Problem("file not found", source)) from None
    except IsADirectoryError:
        raise YamlProblem(Problem("is a directory, not a file", source)) from None
    except PermissionError:
        raise YamlProblem(Problem("permission denied", source)) from None
    except OSError as exc:
        raise YamlProblem(Problem(f"cannot read: {exc.strerror or exc}", source)) from None
    if b"\x00" in raw[:8192]:
        raise YamlProblem(Problem("binary file, not YAML", source))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlProblem(Problem(f"invalid UTF-8 at byte {exc.start}", source, line)) from None
    return load_yaml_text(text.removeprefix("\ufeff"), source)


def load_yaml_documents(text: str, source: str) -> list[YamlDocument]:
    """Parse every document of a multi-document stream (``---``), each with positions.

    A syntax error anywhere raises :class:`YamlProblem` with its line; documents
    before it are not returned, because a broken stream cannot be trusted.
    """
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        message = " ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        raise YamlProblem(Problem(f"invalid YAML: {message}", source, line, column)) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(Problem(f"invalid YAML: {exc}", source)) from None
    documents = []
    for node in nodes:
        if node is None:
            continue
        builder = _Builder(source)
        data = builder.build(node, ())
        documents.append(YamlDocument(data, source, builder.positions, builder.key_positions))
    return documents
