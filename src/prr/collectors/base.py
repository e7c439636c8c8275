"""The collector interface and the bag of facts that collectors fill.

A collector reads one kind of evidence once (Kubernetes objects, Terraform
resources, pipelines …) and returns a typed facts object. Checks ask the
:class:`Facts` bag for those objects by type. Errors while reading are
recorded as :class:`~prr.model.evidence.ScanError` — the run goes on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from prr.model.evidence import ScanError

if TYPE_CHECKING:
    from prr.collectors.files import FileIndex

T = TypeVar("T")


@dataclass
class CollectContext:
    """What every collector gets: the repository's file index and settings."""

    root: Path
    files: FileIndex
    settings: dict[str, Any] = field(default_factory=dict)
    errors: list[ScanError] = field(default_factory=list)

    def error(self, source: str, reason: str, collector: str, line: int | None = None) -> None:
        """Record evidence that could not be read."""
        self.errors.append(ScanError(source, reason, collector, line))


class Collector(ABC):
    """Gathers one kind of evidence; subclasses set ``name`` and ``facts_type``."""

    name: ClassVar[str]
    facts_type: ClassVar[type]

    @abstractmethod
    def collect(self, ctx: CollectContext) -> Any:
        """Return an instance of ``facts_type``; record unreadable inputs with ``ctx.error``."""


COLLECTORS: dict[str, type[Collector]] = {}

C = TypeVar("C", bound=type[Collector])


def register(cls: C) -> C:
    """Class decorator: make a built-in collector known to the engine by its ``name``."""
    name = cls.name
    if name in COLLECTORS and COLLECTORS[name] is not cls:
        raise ValueError(f"collector name {name!r} is registered twice")
    COLLECTORS[name] = cls
    return cls


def load_builtin_collectors() -> dict[str, type[Collector]]:
    """Import every module under ``prr.collectors`` so that its collectors register."""
    import importlib
    import pkgutil

    import prr.collectors as package

    for module in pkgutil.walk_packages(package.__path__, prefix="prr.collectors."):
        importlib.import_module(module.name)
    return COLLECTORS


class StaticCollector(Collector):
    """A collector that returns given facts: for testing checks and the engine."""

    def __init__(self, facts: Any, name: str = "static") -> None:
        self._facts = facts
        self.name = name  # type: ignore[misc]
        self.facts_type = type(facts)  # type: ignore[misc]

    def collect(self, ctx: CollectContext) -> Any:
        return self._facts


class Facts:
    """Facts by type, plus the errors met while collecting them."""

    def __init__(self, errors: list[ScanError] | None = None) -> None:
        self._by_type: dict[type, Any] = {}
        self._failed: dict[type, str] = {}
        self.errors: list[ScanError] = list(errors or [])
        self.traits: set[str] = set()

    def add(self, facts: Any) -> None:
        self._by_type[type(facts)] = facts

    def fail(self, facts_type: type, reason: str) -> None:
        """Mark a whole kind of evidence as unavailable (its collector crashed)."""
        self._failed[facts_type] = reason

    def get(self, facts_type: type[T]) -> T:
        """The facts of ``facts_type``; raises :class:`MissingFacts` when unavailable."""
        if facts_type in self._by_type:
            return self._by_type[facts_type]  # type: ignore[no-any-return]
        if facts_type in self._failed:
            raise MissingFacts(facts_type, self._failed[facts_type], failed=True)
        raise MissingFacts(facts_type, "no collector produced it", failed=False)

    def all(self) -> list[Any]:
        """Every facts object collected, in the order added."""
        return list(self._by_type.values())

    def has(self, facts_type: type) -> bool:
        return facts_type in self._by_type

    def errors_for(self, predicate: Callable[[ScanError], bool]) -> list[ScanError]:
        return [e for e in self.errors if predicate(e)]


class MissingFacts(LookupError):
    """A check asked for evidence that could not be collected; its items become unknown."""

    def __init__(self, facts_type: type, reason: str, *, failed: bool = True) -> None:
        self.facts_type = facts_type
        self.reason = reason
        self.failed = failed
        """True when a collector tried and failed; False when none was run for this kind."""
        super().__init__(f"{facts_type.__name__} unavailable: {reason}")
