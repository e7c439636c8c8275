"""The public API is one sorted list, and every name in it resolves."""

from __future__ import annotations

import prr


def test_all_is_sorted_and_complete() -> None:
    assert prr.__all__ == sorted(prr.__all__)
    for name in prr.__all__:
        assert getattr(prr, name) is not None, name


def test_exception_tree() -> None:
    for name in ("ChecklistError", "CollectorError", "CheckError", "ReviewStateError"):
        assert issubclass(getattr(prr, name), prr.PrrError)
    assert issubclass(prr.CollectorTimeout, prr.CollectorError)
    assert issubclass(prr.CollectorUnreachable, prr.CollectorError)


def test_unknown_attribute() -> None:
    try:
        prr.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")
