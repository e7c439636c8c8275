"""Typed fields of checklist items: the seed's Notes hints made machine-readable.

A field spec says what kind of value an item records (an expiry date, a p95
latency, a target RPS); :func:`parse_value` turns what a person or a check
gives into a normalised value, or explains why it does not fit.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from prr.errors import FieldValueError


class FieldType(StrEnum):
    """The kinds of value an item field can hold."""

    INTEGER = "integer"
    NUMBER = "number"
    PERCENT = "percent"
    DURATION = "duration"
    DATE = "date"
    DATETIME = "datetime"
    SIZE = "size"
    MONEY = "money"
    BOOLEAN = "boolean"
    ENUM = "enum"
    TEXT = "text"


SnakeId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class FieldSpec(BaseModel):
    """One typed value an item records, e.g. ``min_instances: integer``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: SnakeId
    label: str = Field(min_length=1)
    type: FieldType
    help: str | None = None
    unit: str | None = None
    min: int | float | None = None
    max: int | float | None = None
    choices: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _choices_match_type(self) -> FieldSpec:
        if self.type is FieldType.ENUM and not self.choices:
            raise ValueError("an enum field needs 'choices: [a, b, ...]'")
        if self.type is not FieldType.ENUM and self.choices:
            raise ValueError(f"'choices' only applies to enum fields, not {self.type.value}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("'min' is greater than 'max'")
        return self

    def parse(self, raw: Any) -> Any:
        """Validate and normalise ``raw`` for this field (see :func:`parse_value`)."""
        return parse_value(self, raw)


_DURATION_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|sec|min|s|m|h|d|w)\s*$", re.IGNORECASE)
_ISO_DURATION_RE = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_SIZE_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "pb": 10**15,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "pib": 2**50,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?i?b)\s*$", re.IGNORECASE)


def parse_duration(text: str) -> dt.timedelta:
    """Parse ``15m``, ``300ms``, ``1.5h``, ``30d`` or ISO 8601 ``P30D``/``PT5M``."""
    match = _DURATION_RE.match(text)
    if match:
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2).lower()]
        return dt.timedelta(seconds=seconds)
    iso = _ISO_DURATION_RE.match(text.strip().upper())
    if iso and any(iso.groupdict().values()):
        parts = {k: float(v) if v else 0.0 for k, v in iso.groupdict().items()}
        return dt.timedelta(
            weeks=parts["w"],
            days=parts["d"],
            hours=parts["h"],
            minutes=parts["m"],
            seconds=parts["s"],
        )
    raise ValueError(f"{text!r} is not a duration (use e.g. 300ms, 15m, 4h, 30d or P30D)")


def format_duration(value: dt.timedelta) -> str:
    """Write a duration in its largest exact unit (``3600s`` → ``1h``, ``0.25s`` → ``250ms``)."""
    seconds = value.total_seconds()
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and float(seconds / size).is_integer():
            return f"{int(seconds // size)}{unit}"
    return f"{round(seconds * 1000, 3):g}ms"


def parse_size(text: str) -> int:
    """Parse ``500GB``, ``1.5TiB`` or ``512MB`` into bytes."""
    match = _SIZE_RE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size (use e.g. 500MB, 2GB, 1TiB)")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def _number(raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise ValueError("expected a number, got a boolean")
    text = str(raw).strip().replace(",", "").replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{raw!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{raw!r} is not a finite number")
    return value


def _check_bounds(spec: FieldSpec, value: float) -> None:
    if spec.min is not None and value < spec.min:
        raise ValueError(f"{value:g} is below the minimum {spec.min:g}")
    if spec.max is not None and value > spec.max:
        raise ValueError(f"{value:g} is above the maximum {spec.max:g}")


def _parse(spec: FieldSpec, raw: Any) -> Any:
    kind = spec.type
    if kind is FieldType.TEXT:
        return str(raw)
    if kind is FieldType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        lowered = str(raw).strip().lower()
        if lowered in {"true", "yes", "y", "1"}:
            return True
        if lowered in {"false", "no", "n", "0"}:
            return False
        raise ValueError(f"{raw!r} is not true or false")
    if kind is FieldType.ENUM:
        choices = spec.choices or ()
        lowered = str(raw).strip().lower()
        for choice in choices:
            if choice.lower() == lowered:
                return choice
        raise ValueError(f"{raw!r} is not one of: {', '.join(choices)}")
    if kind is FieldType.DATE:
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        try:
            return dt.date.fromisoformat(str(raw).strip())
        except ValueError:
            raise ValueError(f"{raw!r} is not a date (use YYYY-MM-DD)") from None
    if kind is FieldType.DATETIME:
        if isinstance(raw, dt.datetime):
            return raw
        try:
            return dt.datetime.fromisoformat(str(raw).strip())
        except ValueError:
            raise ValueError(f"{raw!r} is not a date and time (use YYYY-MM-DDTHH:MM)") from None
    if kind is FieldType.DURATION:
        if isinstance(raw, dt.timedelta):
            return raw
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raise ValueError(f"{raw!r} has no unit (write e.g. {raw}s or {raw}ms)")
        return parse_duration(str(raw))
    if kind is FieldType.SIZE:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        return parse_size(str(raw))
    number = _number(str(raw).rstrip("%") if kind is FieldType.PERCENT else raw)
    if kind is FieldType.INTEGER:
        if number != number.to_integral_value():
            raise ValueError(f"{raw!r} is not a whole number")
        _check_bounds(spec, float(number))
        return int(number)
    if kind is FieldType.PERCENT and not 0 <= number <= 100:
        raise ValueError(f"{raw!r} is not a percentage between 0 and 100")
    _check_bounds(spec, float(number))
    return float(number)


def parse_value(spec: FieldSpec, raw: Any) -> Any:
    """Turn ``raw`` into the normalised value of ``spec``'s type.

    Integers → ``int``; numbers, percents and money → ``float``; durations →
    ``timedelta``; sizes → bytes; dates → ``date``; enums → the declared choice.
    Raises :class:`FieldValueError` naming the field when the value does not fit.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise FieldValueError(spec.id, "a value is required")
    try:
        return _parse(spec, raw)
    except ValueError as exc:
        raise FieldValueError(spec.id, str(exc)) from None
