"""Typed item fields: values are normalised or rejected with the field's name."""

from __future__ import annotations

import datetime as dt

import pytest

from prr.errors import FieldValueError
from prr.model.fields import FieldSpec, FieldType, format_duration, parse_duration, parse_size


def spec(kind: str, **extra: object) -> FieldSpec:
    return FieldSpec.model_validate({"id": "f", "label": "F", "type": kind, **extra})


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("integer", "3", 3),
        ("integer", 1_000, 1000),
        ("number", "1,200.5", 1200.5),
        ("percent", "99.95%", 99.95),
        ("percent", 100, 100.0),
        ("duration", "300ms", dt.timedelta(milliseconds=300)),
        ("duration", "15m", dt.timedelta(minutes=15)),
        ("duration", "P30D", dt.timedelta(days=30)),
        ("duration", "PT1H30M", dt.timedelta(hours=1, minutes=30)),
        ("date", "2026-12-01", dt.date(2026, 12, 1)),
        ("date", dt.date(2026, 1, 2), dt.date(2026, 1, 2)),
        ("datetime", "2026-12-01T09:00:00+00:00", dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)),
        ("size", "500GB", 500 * 10**9),
        ("size", "1.5 GiB", int(1.5 * 2**30)),
        ("money", "4200", 4200.0),
        ("boolean", "yes", True),
        ("boolean", False, False),
        ("text", "Manual failover", "Manual failover"),
    ],
)
def test_values_are_normalised(kind: str, raw: object, expected: object) -> None:
    assert spec(kind).parse(raw) == expected


def test_enum_is_case_insensitive_and_returns_the_declared_choice() -> None:
    field = spec("enum", choices=["blue-green", "canary", "rolling"])
    assert field.parse("Canary") == "canary"
    with pytest.raises(FieldValueError, match="not one of: blue-green, canary, rolling"):
        field.parse("big-bang")


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("integer", "2.5", "not a whole number"),
        ("integer", "many", "not a number"),
        ("number", True, "boolean"),
        ("number", "nan", "finite"),
        ("percent", "120", "between 0 and 100"),
        ("duration", 15, "has no unit"),
        ("duration", "soon", "not a duration"),
        ("date", "01/12/2026", "YYYY-MM-DD"),
        ("size", "big", "not a size"),
        ("boolean", "maybe", "not true or false"),
        ("text", "  ", "a value is required"),
    ],
)
def test_bad_values_name_the_field(kind: str, raw: object, message: str) -> None:
    with pytest.raises(FieldValueError, match=message) as info:
        spec(kind).parse(raw)
    assert info.value.field_id == "f"


def test_bounds() -> None:
    field = spec("integer", min=1, max=10)
    assert field.parse(10) == 10
    with pytest.raises(FieldValueError, match="below the minimum 1"):
        field.parse(0)
    with pytest.raises(FieldValueError, match="above the maximum 10"):
        field.parse(11)


def test_spec_rules() -> None:
    with pytest.raises(ValueError, match="needs 'choices"):
        spec("enum")
    with pytest.raises(ValueError, match="only applies to enum"):
        spec("text", choices=["a"])
    with pytest.raises(ValueError, match="greater than"):
        spec("number", min=5, max=1)
    assert FieldType("percent") is FieldType.PERCENT


def test_duration_and_size_helpers() -> None:
    assert parse_duration("1.5h") == dt.timedelta(minutes=90)
    assert format_duration(dt.timedelta(hours=1)) == "1h"
    assert format_duration(dt.timedelta(seconds=90)) == "90s"
    assert format_duration(dt.timedelta(milliseconds=250)) == "250ms"
    assert parse_size("512MB") == 512 * 10**6
