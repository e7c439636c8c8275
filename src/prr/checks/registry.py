"""Registering checks, and the context a check runs with.

A check is a function ``(ctx: CheckContext) -> Iterable[Result]`` decorated
with :func:`check`, which names the items it may decide and the facts it
needs. A check that finds none of its evidence returns no result (it has no
opinion); one that finds evidence it could not read returns ``unknown`` —
an item is never passed because its evidence was missing.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prr.collectors.base import Facts
from prr.model.evidence import Evidence, Result, Status

T = TypeVar("T")
CheckFunc = Callable[["CheckContext"], Iterable[Result]]

_ID = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")


@dataclass(frozen=True)
class Check:
    """A registered check: its id, the items it decides, the facts it needs."""

    id: str
    title: str
    items: tuple[str, ...]
    needs: tuple[type, ...]
    func: CheckFunc
    module: str
    description: str = ""
    scope: str = "repository"
    """``repository`` (runs once over file facts), ``environment`` (once per live
    environment, over that environment's facts) or ``environments`` (once, over
    all environments' facts, for comparisons)."""


REGISTRY: dict[str, Check] = {}


SCOPES = ("repository", "environment", "environments")


def check(
    check_id: str,
    *,
    items: Iterable[str],
    needs: Iterable[type] = (),
    title: str | None = None,
    scope: str = "repository",
) -> Callable[[CheckFunc], CheckFunc]:
    """Register the decorated function as check ``check_id`` deciding ``items``."""
    item_ids = tuple(items)
    if scope not in SCOPES:
        raise ValueError(f"check {check_id!r}: scope must be one of {', '.join(SCOPES)}")
    if not _ID.match(check_id):
        raise ValueError(f"check id {check_id!r} must be lowercase words joined by '.' or '-'")
    if not item_ids:
        raise ValueError(f"check {check_id!r} must name the items it decides")

    def register(func: CheckFunc) -> CheckFunc:
        if check_id in REGISTRY and REGISTRY[check_id].func.__qualname__ != func.__qualname__:
            raise ValueError(f"check id {check_id!r} is registered twice")
        doc = (func.__doc__ or "").strip()
        REGISTRY[check_id] = Check(
            id=check_id,
            title=title or (doc.splitlines()[0] if doc else check_id),
            items=item_ids,
            needs=tuple(needs),
            func=func,
            module=func.__module__,
            description=doc,
            scope=scope,
        )
        return func

    return register


def load_builtin_checks() -> dict[str, Check]:
    """Import every module under ``prr.checks`` so that its checks register."""
    import prr.checks as package

    for module in pkgutil.walk_packages(package.__path__, prefix="prr.checks."):
        importlib.import_module(module.name)
    return REGISTRY


@dataclass
class CheckContext:
    """What a check sees: the facts, the service's traits, and result helpers."""

    check_id: str
    facts: Facts
    traits: frozenset[str] = frozenset()
    settings: dict[str, Any] = field(default_factory=dict)
    environment: str | None = None
    """The live environment an ``environment``-scoped check is looking at."""
    production: bool = False
    environments: dict[str, Facts] = field(default_factory=dict)
    """Every live environment's facts, for ``environments``-scoped checks."""

    def get(self, facts_type: type[T]) -> T:
        """Facts of a type; raises ``MissingFacts`` (→ unknown) when unavailable."""
        return self.facts.get(facts_type)

    def result(
        self,
        item_id: str,
        status: Status,
        message: str,
        *evidence: Evidence,
        remediation: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> Result:
        label = self.environment or ("+".join(self.environments) if self.environments else None)
        if self.environment is not None:
            message = f"[{self.environment}] {message}"
        return Result(
            item_id,
            self.check_id,
            status,
            message,
            tuple(evidence),
            remediation,
            dict(fields or {}),
            environment=label,
        )

    def passed(self, item_id: str, message: str, *evidence: Evidence, **kw: Any) -> Result:
        return self.result(item_id, Status.PASS, message, *evidence, **kw)

    def failed(self, item_id: str, message: str, *evidence: Evidence, **kw: Any) -> Result:
        return self.result(item_id, Status.FAIL, message, *evidence, **kw)

    def unknown(self, item_id: str, message: str, *evidence: Evidence, **kw: Any) -> Result:
        return self.result(item_id, Status.UNKNOWN, message, *evidence, **kw)

    def not_applicable(self, item_id: str, message: str, *evidence: Evidence) -> Result:
        return self.result(item_id, Status.NOT_APPLICABLE, message, *evidence)
