"""The drill interface: plan first, run bounded, always clean up, report evidence.

A drill tests a failure scenario for real (restore a backup, burst until the
rate limiter answers, load at twice the expected traffic, break a dependency
and watch the alert fire). It first states its plan — what it touches, for how
long, how many requests — and runs only after confirmation. It must restore
what it changed even when interrupted, and its outcome decides checklist items
with evidence dated by the run.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from prr.model.evidence import Evidence, Result, Status
from prr.model.target import Environment, Target


class DrillRefused(Exception):
    """The drill will not run (production without permission, missing configuration …)."""


@dataclass(frozen=True)
class DrillPlan:
    """What a drill will do, shown before it runs."""

    drill: str
    environment: str
    touches: tuple[str, ...]
    """Systems it acts on, without credentials (``https://staging.example.com/login``)."""
    steps: tuple[str, ...]
    max_duration_s: float
    max_requests: int | None = None
    changes_state: bool = False
    """True when it changes what it must put back (a stopped dependency, a scratch database)."""


@dataclass
class DrillContext:
    """What a drill gets: the environment, the target, its options and a deadline."""

    environment: str
    spec: Environment
    target: Target
    options: dict[str, Any] = field(default_factory=dict)
    timeout_s: float = 600.0
    log: list[str] = field(default_factory=list)

    @property
    def production(self) -> bool:
        return self.spec.production

    def note(self, line: str) -> None:
        """Record a step as it happens (shown live and kept with the outcome)."""
        self.log.append(f"{dt.datetime.now(dt.UTC).strftime('%H:%M:%S')} {line}")


@dataclass
class DrillOutcome:
    """What happened: passed or failed with the measured reason, and the items decided."""

    drill: str
    environment: str
    passed: bool
    summary: str
    started_at: dt.datetime
    finished_at: dt.datetime
    measurements: dict[str, Any] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


class Drill(ABC):
    """A failure-scenario test; subclasses set ``name``, ``title`` and ``items``."""

    name: ClassVar[str]
    title: ClassVar[str]
    items: ClassVar[tuple[str, ...]]

    @abstractmethod
    def plan(self, ctx: DrillContext) -> DrillPlan:
        """Describe what the drill will do; raise :class:`DrillRefused` when it cannot run."""

    @abstractmethod
    async def run(self, ctx: DrillContext) -> DrillOutcome:
        """Run the drill within ``ctx.timeout_s`` and clean up in ``finally``."""

    def result(
        self,
        item_id: str,
        passed: bool,
        message: str,
        *evidence: Evidence,
        environment: str,
        fields: dict[str, Any] | None = None,
        remediation: str | None = None,
    ) -> Result:
        """A result for one of the drill's items, marked as drill evidence."""
        if item_id not in self.items:
            raise RuntimeError(f"drill {self.name} does not decide {item_id}")
        return Result(
            item_id,
            f"drill.{self.name}",
            Status.PASS if passed else Status.FAIL,
            f"[{environment}] drill: {message}",
            tuple(evidence),
            remediation,
            dict(fields or {}),
            environment=environment,
        )


DRILLS: dict[str, type[Drill]] = {}


def register_drill(cls: type[Drill]) -> type[Drill]:
    """Class decorator: make a built-in drill known by its ``name``."""
    if cls.name in DRILLS and DRILLS[cls.name] is not cls:
        raise ValueError(f"drill {cls.name!r} is registered twice")
    DRILLS[cls.name] = cls
    return cls


def load_builtin_drills() -> dict[str, type[Drill]]:
    import importlib
    import pkgutil

    import prr.drills as package

    for module in pkgutil.walk_packages(package.__path__, prefix="prr.drills."):
        importlib.import_module(module.name)
    return DRILLS


@dataclass(frozen=True)
class DrillOption:
    """One setting a drill takes (``prr drill NAME -o key=value``)."""

    name: str
    kind: type
    default: Any
    help: str

    def parse(self, raw: str) -> Any:
        if self.kind is bool:
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(f"{self.name}: {raw!r} is not true or false")
        try:
            return self.kind(raw)
        except ValueError:
            raise ValueError(f"{self.name}: {raw!r} is not a {self.kind.__name__}") from None


async def execute(drill: Drill, ctx: DrillContext) -> DrillOutcome:
    """Run ``drill`` within its time limit; a drill that overruns is cancelled (and cleans up)."""
    import asyncio

    started = dt.datetime.now(dt.UTC)
    try:
        return await asyncio.wait_for(drill.run(ctx), timeout=ctx.timeout_s)
    except TimeoutError:
        return DrillOutcome(
            drill.name,
            ctx.environment,
            False,
            f"did not finish within {ctx.timeout_s:g}s; stopped and cleaned up",
            started,
            dt.datetime.now(dt.UTC),
            log=list(ctx.log),
        )
