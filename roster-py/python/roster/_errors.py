"""The exceptions the roster raises.

Every one derives from ``RosterError``, and those that match a built-in
category also derive from it (``ValueError``, ``LookupError``,
``PermissionError``), so a script may catch either. Messages name fields,
codes and expert ids, never personal data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "CallClosedError",
    "ConflictError",
    "DatabaseError",
    "ForbiddenError",
    "InvitationError",
    "NotFoundError",
    "RosterError",
    "TransitionError",
    "ValidationError",
]


class RosterError(Exception):
    """Base class of every error the roster raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)

    @property
    def message(self) -> str:
        """What went wrong and what to do about it."""
        return str(self.args[0])

    def __str__(self) -> str:
        return self.message


class ValidationError(RosterError, ValueError):
    """An input value is not acceptable.

    ``field`` is the path of the first field at fault, such as
    ``expert.email`` or ``expert.languages[0].level``; ``errors`` lists every
    field at fault with what is wrong with it. A whole number out of its
    field's range is one too (``weights.years: is -1; must be zero or
    more``), as is an argument such as ``expert_id`` beyond 64 bits, where
    Python's conversion would raise ``OverflowError``.
    """

    field: str
    errors: list[tuple[str, str]]

    def __init__(self, message: str, field: str, errors: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.errors = [(f, m) for f, m in errors] or [(field, message)]

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.field, self.errors))


class NotFoundError(RosterError, LookupError):
    """No record has the id given (an expert id, say)."""


class ConflictError(RosterError):
    """Someone else changed the record first, or the record already exists.

    ``current_version`` is the version now stored when the conflict is
    about a version; read the record again and retry against it. It is
    ``None`` when a record with the same key already exists.
    """

    current_version: int | None

    def __init__(self, message: str, current_version: int | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.current_version))


class DatabaseError(RosterError):
    """The database failed.

    ``transient`` is true when trying again later may succeed (a lost
    connection, a locked database).
    """

    transient: bool

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.transient))


class ForbiddenError(RosterError, PermissionError):
    """The acting party may not do this."""


class TransitionError(RosterError):
    """The inclusion lifecycle does not allow this change of status."""


class CallClosedError(RosterError):
    """No call for nominations is open for that year on that day."""


class InvitationError(RosterError, PermissionError):
    """An invitation token was not accepted.

    Unknown, used, expired and misaddressed tokens all raise this one error
    with one message, so a caller learns nothing about other tokens.
    """
