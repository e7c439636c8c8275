"""The live-collector interface: one environment, bounded, read-only, async.

A live collector reads one kind of running system named in an environment of
``prr.yaml`` and returns typed facts, like a file collector. It gets a
:class:`LiveContext` with the environment's spec, the limits every call must
respect and the address guard. Failures (unreachable, wrong password,
timeouts) are recorded with ``ctx.error`` and make the facts say "could not
read", never "fine".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from prr.collectors.live.guard import AddressGuard
from prr.model.evidence import ScanError
from prr.model.target import Environment, Target


@dataclass(frozen=True)
class LiveLimits:
    """Bounds on what one live scan may do; every collector honours them."""

    timeout_s: float = 10.0
    """Per call: connect, handshake, request or query."""
    total_timeout_s: float = 120.0
    """Per collector and environment, all calls together."""
    max_requests: int = 60
    """HTTP requests per endpoint (latency samples included)."""
    latency_samples: int = 20
    max_body_bytes: int = 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 8
    """Calls in flight per collector and environment (data stores, monitoring APIs)."""
    endpoints_in_flight: int = 128
    """HTTP endpoints read at the same time per environment: all of them up to this bound,
    so that many endpoints take about as long as the slowest one."""
    connections_per_endpoint: int = 2
    """HTTP requests in flight for one endpoint, each on its own connection (the TLS
    version probes of its host and port come on top: at most three, shared by the
    endpoints on that host and port)."""
    allow_link_local: bool = False


@dataclass
class LiveContext:
    """What a live collector gets: which environment, its spec, the limits and the guard."""

    environment: str
    spec: Environment
    target: Target
    limits: LiveLimits = field(default_factory=LiveLimits)
    errors: list[ScanError] = field(default_factory=list)

    @property
    def production(self) -> bool:
        return self.spec.production

    @property
    def guard(self) -> AddressGuard:
        return AddressGuard(allow_link_local=self.limits.allow_link_local)

    def error(self, source: str, reason: str, collector: str) -> None:
        """Record something that could not be read (``source`` must carry no secret)."""
        self.errors.append(ScanError(f"[{self.environment}] {source}", reason, collector))


class LiveCollector(ABC):
    """Reads one kind of running system; subclasses set ``name`` and ``facts_type``."""

    name: ClassVar[str]
    facts_type: ClassVar[type]

    @abstractmethod
    async def collect(self, ctx: LiveContext) -> Any:
        """Return ``facts_type`` for this environment; record failures with ``ctx.error``."""


LIVE_COLLECTORS: dict[str, type[LiveCollector]] = {}

L = TypeVar("L", bound=type[LiveCollector])


def register_live(cls: L) -> L:
    """Class decorator: make a built-in live collector known to the engine."""
    if cls.name in LIVE_COLLECTORS and LIVE_COLLECTORS[cls.name] is not cls:
        raise ValueError(f"live collector name {cls.name!r} is registered twice")
    LIVE_COLLECTORS[cls.name] = cls
    return cls


def load_builtin_live_collectors() -> dict[str, type[LiveCollector]]:
    """Import every module under ``prr.collectors.live`` so that its collectors register."""
    import importlib
    import pkgutil

    import prr.collectors.live as package

    for module in pkgutil.walk_packages(package.__path__, prefix="prr.collectors.live."):
        importlib.import_module(module.name)
    return LIVE_COLLECTORS


class ParityView(ABC):
    """Facts that can be compared between environments (staging vs production)."""

    @abstractmethod
    def parity(self) -> dict[str, Any]:
        """Flat ``{key: value}`` of settings that should match across environments.

        Keys are stable dotted names (``tls.protocols``, ``postgres.main.ssl``);
        values are plain JSON data. Hostnames, sizes and counts that are expected
        to differ are left out or named so that ``expected_differences`` can match them.
        """
