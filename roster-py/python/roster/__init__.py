"""A roster of experts on migration management.

The Bali Process Regional Support Office keeps the roster: members and
observers nominate experts in an annual call, the office screens, invites,
registers and includes them for a year, and member states request experts
for short missions. ``Roster`` runs every step; ``assign`` and
``assign_non_overlapping`` place experts on several requests at once.
Records go in and come out as plain dicts and lists, with days written
``YYYY-MM-DD``.

    >>> import roster
    >>> r = roster.Roster.in_memory("2025-03-01")
    >>> r.today
    '2025-03-01'
"""

from roster._errors import (
    CallClosedError,
    ConflictError,
    DatabaseError,
    ForbiddenError,
    InvitationError,
    NotFoundError,
    RosterError,
    TransitionError,
    ValidationError,
)
from roster._roster import Roster, __version__, assign, assign_non_overlapping

__all__ = [
    "CallClosedError",
    "ConflictError",
    "DatabaseError",
    "ForbiddenError",
    "InvitationError",
    "NotFoundError",
    "Roster",
    "RosterError",
    "TransitionError",
    "ValidationError",
    "__version__",
    "assign",
    "assign_non_overlapping",
]
