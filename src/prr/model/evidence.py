"""Results of checks and the evidence behind them.

A :class:`Result` is what a check says about one checklist item; its
:class:`Evidence` says where that came from (a file and line, a URL, a query, a
measured value). A :class:`ScanError` is a piece of evidence that could not be
read; it is reported in every output and makes the items that needed it unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """What a check decided about an item."""

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"


class Source(StrEnum):
    """Where an item's status came from."""

    VERIFIED = "verified"
    """Decided by an automated check from real evidence."""
    DRILL = "drill"
    """Decided by a failure-scenario drill."""
    ATTESTED = "attested"
    """A person answered."""
    NONE = "none"
    """Nothing decided it yet."""


@dataclass(frozen=True)
class Evidence:
    """One fact behind a result: what was found and where."""

    summary: str
    path: str | None = None
    line: int | None = None
    url: str | None = None
    query: str | None = None
    value: Any = None

    @property
    def location(self) -> str | None:
        """``path:line``, the URL, or None."""
        if self.path:
            return f"{self.path}:{self.line}" if self.line else self.path
        return self.url

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"summary": self.summary}
        for key in ("path", "line", "url", "query", "value"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass(frozen=True)
class Result:
    """A check's decision on one item, with its evidence.

    ``remediation`` is the concrete fix for what was found (a YAML or HCL
    snippet for that file, a command), shown beside the item's generic steps.
    ``fields`` holds values the check measured for the item's typed fields.
    """

    item_id: str
    check_id: str
    status: Status
    message: str
    evidence: tuple[Evidence, ...] = ()
    remediation: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    environment: str | None = None
    """The live environment this came from; None for repository evidence."""

    @property
    def live(self) -> bool:
        return self.environment is not None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "check": self.check_id,
            "status": self.status.value,
            "message": self.message,
            "evidence": [e.to_dict() for e in self.evidence],
        }
        if self.remediation:
            data["remediation"] = self.remediation
        if self.fields:
            data["fields"] = self.fields
        if self.environment:
            data["environment"] = self.environment
        return data


@dataclass(frozen=True)
class ScanError:
    """Evidence that could not be read, and why; never silently dropped."""

    source: str
    reason: str
    collector: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.reason} ({self.collector})"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "source": self.source,
            "reason": self.reason,
            "collector": self.collector,
        }
        if self.line:
            data["line"] = self.line
        return data
