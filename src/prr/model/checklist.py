"""The checklist model: categories → sections → items, with phases and blockers.

These classes are the validated form of a checklist YAML file (see
docs/checklist-format.md). They hold no I/O; :mod:`prr.model.loader` reads
files into them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from prr.errors import UnknownItemError
from prr.model.fields import FieldSpec

SCHEMA = "prr/checklist/v1"

Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)]
Text = Annotated[str, Field(min_length=1)]


class Severity(StrEnum):
    """How bad a failing item is; ``critical`` makes a failing item a blocker."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for critical … 3 for low, for sorting worst first."""
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW]


class Stage(StrEnum):
    """The launch stage a service is reviewed for; severities may depend on it."""

    EXPERIMENT = "experiment"
    BETA = "beta"
    GA = "ga"


class Effort(StrEnum):
    """Rough size of the work to close a gap."""

    S = "S"
    M = "M"
    L = "L"


class Trait(StrEnum):
    """What a service has or does; items apply only to services with their traits."""

    DATABASE = "database"
    CACHE = "cache"
    OBJECT_STORAGE = "object_storage"
    WEB_UI = "web_ui"
    HTTP_API = "http_api"
    PUBLIC = "public"
    USER_ACCOUNTS = "user_accounts"
    SSO = "sso"
    PII = "pii"
    COOKIES = "cookies"
    STATIC_ASSETS = "static_assets"
    FILE_UPLOADS = "file_uploads"
    REGULATED = "regulated"
    DISTRIBUTED = "distributed"
    MULTI_REGION = "multi_region"
    READ_HEAVY = "read_heavy"


class Reference(BaseModel):
    """A pointer to further reading for an item."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Text
    url: Annotated[str, Field(pattern=r"^https?://\S+$")]


class Phase(BaseModel):
    """One phase of the assessment workflow, ending with its stop question."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: Annotated[int, Field(ge=1, le=9)]
    name: Text
    activities: tuple[Text, ...] = ()
    stop_question: Text


class CommonBlocker(BaseModel):
    """A failure that blocks any launch, e.g. "No rate limiting"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z0-9-]+\.[a-z0-9-]+$")]
    group: Literal["Security", "Reliability", "Performance", "Operational"]
    title: Text


class Item(BaseModel):
    """One checklist item, as written in the YAML (``id`` is the local slug)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    title: Text
    expected: Text
    severity: Severity
    severity_by_stage: dict[Stage, Severity] = Field(default_factory=dict)
    blocker: str | None = None
    critical_reason: str | None = None
    phase: Annotated[int, Field(ge=1, le=9)] | None = None
    applies_when: tuple[Trait, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    remediation: Annotated[tuple[Text, ...], Field(min_length=1)]
    acceptance_criteria: Annotated[tuple[Text, ...], Field(min_length=1)]
    effort: Effort
    freshness_days: Annotated[int, Field(ge=1)] | None = None
    references: tuple[Reference, ...] = ()
    tags: tuple[str, ...] = ()

    @field_validator("severity_by_stage")
    @classmethod
    def _no_ga_override(cls, value: dict[Stage, Severity]) -> dict[Stage, Severity]:
        if Stage.GA in value:
            raise ValueError(
                "'severity' is the GA severity; severity_by_stage takes experiment/beta"
            )
        return value

    @model_validator(mode="after")
    def _fields_unique(self) -> Item:
        seen: set[str] = set()
        for spec in self.fields:
            if spec.id in seen:
                raise ValueError(f"field id {spec.id!r} appears twice")
            seen.add(spec.id)
        return self

    def severity_at(self, stage: Stage = Stage.GA) -> Severity:
        """The item's severity for a launch at ``stage``."""
        if stage is Stage.GA:
            return self.severity
        return self.severity_by_stage.get(stage, self.severity)

    def is_critical_at_any_stage(self) -> bool:
        return (
            self.severity is Severity.CRITICAL
            or Severity.CRITICAL in self.severity_by_stage.values()
        )

    def field(self, field_id: str) -> FieldSpec:
        for spec in self.fields:
            if spec.id == field_id:
                return spec
        known = ", ".join(s.id for s in self.fields) or "none"
        raise KeyError(f"item {self.id!r} has no field {field_id!r} (fields: {known})")


class Section(BaseModel):
    """A group of items within a category, e.g. Compute or Alerting."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    title: Text
    phase: Annotated[int, Field(ge=1, le=9)] | None = None
    items: tuple[Item, ...] = ()


class Category(BaseModel):
    """A top-level group of the checklist, e.g. Security."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    title: Text
    phase: Annotated[int, Field(ge=1, le=9)] | None = None
    sections: tuple[Section, ...] = ()


class Disabled(BaseModel):
    """An item, section or category an organisation switched off, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(min_length=1)]
    reason: Annotated[str, Field(min_length=1, pattern=r"\S")]
    title: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class ItemRef:
    """An item placed in its checklist: the full id and its category and section."""

    category: Category
    section: Section
    item: Item
    phase: int

    @property
    def id(self) -> str:
        return f"{self.category.id}.{self.section.id}.{self.item.id}"

    @property
    def title(self) -> str:
        return self.item.title


class Checklist(BaseModel):
    """A complete, validated checklist (after any ``extends`` has been applied)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: Literal["prr/checklist/v1"] = Field(alias="schema")
    name: Slug
    version: Annotated[str, Field(min_length=1)]
    title: Text
    description: str | None = None
    phases: tuple[Phase, ...] = ()
    common_blockers: tuple[CommonBlocker, ...] = ()
    categories: tuple[Category, ...] = ()
    disabled: tuple[Disabled, ...] = ()
    lineage: tuple[str, ...] = ()
    """Names and versions this checklist was built from, base first (``service@1.0.0``)."""

    @cached_property
    def _index(self) -> dict[str, ItemRef]:
        index: dict[str, ItemRef] = {}
        for category in self.categories:
            for section in category.sections:
                for item in section.items:
                    phase = item.phase or section.phase or category.phase or 1
                    ref = ItemRef(category, section, item, phase)
                    index[ref.id] = ref
        return index

    def items(self) -> list[ItemRef]:
        """Every item in checklist order."""
        return list(self._index.values())

    def __iter__(self) -> Iterator[ItemRef]:  # type: ignore[override]
        return iter(self._index.values())

    def __len__(self) -> int:
        return len(self._index)

    def item(self, item_id: str) -> ItemRef:
        """The item with full id ``item_id``; raises :class:`UnknownItemError`."""
        try:
            return self._index[item_id]
        except KeyError:
            raise UnknownItemError(item_id, self.name) from None

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._index

    def phase(self, number: int) -> Phase | None:
        for phase in self.phases:
            if phase.number == number:
                return phase
        return None

    def blocker(self, blocker_id: str) -> CommonBlocker | None:
        for blocker in self.common_blockers:
            if blocker.id == blocker_id:
                return blocker
        return None

    @property
    def ref(self) -> str:
        """``name@version``, how reviews record which checklist they froze."""
        return f"{self.name}@{self.version}"
