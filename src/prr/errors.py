"""The tree of exceptions prr raises; every one derives from :class:`PrrError`.

Interfaces catch ``PrrError`` and turn it into a message and an exit code, so a
user never sees a traceback for a problem in their input or environment.
Misuse of the API by a programmer raises ``RuntimeError``/``TypeError`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass


class PrrError(Exception):
    """Base of all errors prr reports to a user."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input file, with where it is."""

    message: str
    source: str
    line: int | None = None
    column: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class ChecklistError(PrrError):
    """A checklist file could not be read, parsed or validated.

    ``problems`` lists everything found; the first one is the headline.
    """

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise RuntimeError("ChecklistError needs at least one problem")
        self.problems = problems
        super().__init__(str(problems[0]))

    @property
    def source(self) -> str:
        return self.problems[0].source

    @property
    def line(self) -> int | None:
        return self.problems[0].line

    @property
    def column(self) -> int | None:
        return self.problems[0].column

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class UnknownChecklistError(ChecklistError):
    """A checklist was named that is neither built in nor a readable file."""


class UnknownItemError(PrrError, KeyError):
    """An item id does not exist in the checklist."""

    def __init__(self, item_id: str, checklist: str) -> None:
        self.item_id = item_id
        self.checklist = checklist
        super().__init__(f"no item {item_id!r} in checklist {checklist!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class FieldValueError(PrrError, ValueError):
    """A value given for an item's typed field does not fit its type."""

    def __init__(self, field_id: str, message: str) -> None:
        self.field_id = field_id
        super().__init__(f"{field_id}: {message}")


class CollectorError(PrrError):
    """Evidence could not be gathered from a source."""

    def __init__(self, message: str, *, source: str) -> None:
        self.source = source
        super().__init__(f"{source}: {message}")


class CollectorTimeout(CollectorError):
    """A source did not answer within its time limit."""


class CollectorUnreachable(CollectorError):
    """A source could not be reached at all."""


class CheckError(PrrError):
    """A check raised while deciding an item; its result becomes unknown."""

    def __init__(self, message: str, *, check_id: str) -> None:
        self.check_id = check_id
        super().__init__(f"{check_id}: {message}")


class ReviewStateError(PrrError):
    """A review action is not allowed in the review's current state."""
