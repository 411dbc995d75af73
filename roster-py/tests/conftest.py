"""Fixtures: a roster on each store, with the 2025 call open."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import roster

from samples import CALL_2025, TODAY


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> str:
    """Which store a roster under test keeps its records in."""
    return str(request.param)


@pytest.fixture
def open_roster(store: str, tmp_path: Path) -> Callable[..., roster.Roster]:
    """Opens a roster on the store under test, fixed at ``TODAY``."""

    def open_(today: str = TODAY) -> roster.Roster:
        if store == "memory":
            return roster.Roster.in_memory(today)
        return roster.Roster.open_sqlite(tmp_path / "roster.db", today)

    return open_


@pytest.fixture
def office(open_roster: Callable[..., roster.Roster]) -> roster.Roster:
    """A roster with the 2025 call open, acting as the RSO."""
    r = open_roster()
    r.open_call(CALL_2025)
    return r
