"""Inline waivers written in the repository: ``# prr:ignore <id> reason="…"``.

Any comment style works (``#``, ``//``, ``--``, ``<!-- -->``); what counts is
the ``prr:ignore`` marker followed by a check or item id and a quoted reason.
``expires=YYYY-MM-DD`` and ``owner=…`` are optional. A marker without a reason
is recorded as an error and does not apply.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from prr.collectors.base import CollectContext, Collector, register
from prr.errors import CollectorError

MARKER = b"prr:ignore"
# The marker counts only inside a comment and followed by an id-like token, so prose
# and string literals that mention it are not waivers.
_LINE = re.compile(
    r"(?:#|//|--|<!--|/\*|;)\s*prr:ignore\s+(?P<id>[a-z0-9][a-z0-9_.\-]*)(?P<rest>.*)$"
)
_ATTR = re.compile(
    r"""(?P<key>reason|expires|owner)=(?:"(?P<q>[^"]*)"|'(?P<s>[^']*)'|(?P<bare>\S+))"""
)


@dataclass(frozen=True)
class InlineWaiver:
    """One ``prr:ignore`` marker."""

    id: str
    reason: str
    path: str
    line: int
    owner: str | None = None
    expires: dt.date | None = None


@dataclass(frozen=True)
class AnnotationFacts:
    """Every valid inline waiver in the repository."""

    waivers: tuple[InlineWaiver, ...] = field(default_factory=tuple)


@register
class AnnotationCollector(Collector):
    """Finds inline waivers in text files."""

    name = "annotations"
    facts_type = AnnotationFacts

    def collect(self, ctx: CollectContext) -> AnnotationFacts:
        found: list[InlineWaiver] = []
        for entry in ctx.files:
            if not entry.readable:
                continue
            try:
                raw = ctx.files.read_bytes(entry)
            except CollectorError:
                continue  # the file index already recorded why
            if MARKER not in raw:
                continue
            text = raw.decode("utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), start=1):
                if "prr:ignore" in line:
                    waiver = self._parse(ctx, entry.path, number, line)
                    if waiver:
                        found.append(waiver)
        return AnnotationFacts(tuple(found))

    def _parse(self, ctx: CollectContext, path: str, number: int, line: str) -> InlineWaiver | None:
        match = _LINE.search(line)
        if not match:
            return None
        attrs = {
            m.group("key"): m.group("q")
            if m.group("q") is not None
            else (m.group("s") or m.group("bare"))
            for m in _ATTR.finditer(match.group("rest"))
        }
        reason = (attrs.get("reason") or "").strip()
        if not reason:
            ctx.error(
                path,
                f'prr:ignore {match.group("id")} has no reason="…"; not applied',
                self.name,
                number,
            )
            return None
        expires = None
        if attrs.get("expires"):
            try:
                expires = dt.date.fromisoformat(attrs["expires"])
            except ValueError:
                ctx.error(
                    path,
                    f"prr:ignore expires={attrs['expires']!r} is not YYYY-MM-DD; not applied",
                    self.name,
                    number,
                )
                return None
        return InlineWaiver(match.group("id"), reason, path, number, attrs.get("owner"), expires)
