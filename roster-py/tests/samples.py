"""Sample records for the tests, written as an analyst would write them.

Every person, address and organisation here is invented.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

#: The day the tests run on: inside the 2025 call for nominations.
TODAY = "2025-03-01"

# A minimal PDF: CVs are checked by their content.
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

CALL_2025 = {"year": 2025, "window": {"first": "2025-02-01", "last": "2025-04-30"}}


def referee(name: str, email: str, organisation: str, sector: str) -> dict[str, Any]:
    return {
        "name": {"full": name},
        "position": "Director",
        "organisation": {"name": organisation, "sector": sector},
        "email": email,
    }


REFEREES = [
    referee("Hamid Karimi", "h.karimi@example.org", "Refugee Rights Network", "ngo"),
    referee(
        "Ana Lima",
        "ana.lima@example.int",
        "International Organization for Migration",
        "international_organisation",
    ),
]


def period(
    start: str,
    end: str | None,
    themes: list[str],
    competencies: list[str],
    countries: list[str],
    role: str = "Adviser",
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "from": start,
        "role": role,
        "themes": themes,
        "competencies": competencies,
        "countries": countries,
    }
    if end is not None:
        out["to"] = end
    return out


def profile(
    name: dict[str, Any],
    email: str,
    organisation: dict[str, Any],
    experience: list[dict[str, Any]],
    languages: list[tuple[str, str]],
    unavailable: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    return {
        "name": name,
        "email": email,
        "organisation": organisation,
        "experience": experience,
        "referees": copy.deepcopy(REFEREES),
        "languages": [{"tag": t, "level": lv} for t, lv in languages],
        "availability": {
            "available": True,
            "authorised": True,
            "unavailable": [{"first": a, "last": b} for a, b in unavailable],
        },
    }


def caseworker() -> dict[str, Any]:
    """Twelve years of refugee case management, mostly in Thailand."""
    return profile(
        {"given": "Maria", "family": "Santos"},
        "maria.santos@example.org",
        {
            "name": "International Organization for Migration",
            "sector": "international_organisation",
        },
        [
            period("2013-01-01", None, ["D.1.4", "D.1.1"], ["advice", "training"], ["THA", "MYS"]),
        ],
        [("en", "C1"), ("th", "B2"), ("tl", "native")],
    )


def protection_officer() -> dict[str, Any]:
    """Seven years on refugee protection in Viet Nam, at an NGO."""
    return profile(
        {
            "given": "Thị Lan",
            "family": "Nguyễn",
            "order": "family_first",
            "latin": "NGUYEN Thi Lan",
        },
        "lan.nguyen@example.net",
        {"name": "Mekong Refugee Aid", "sector": "ngo"},
        [period("2018-01-01", None, ["D.1"], ["training"], ["VNM"])],
        [("en", "B2"), ("vi", "native")],
    )


def thai_official() -> dict[str, Any]:
    """An immigration official of Thailand: conflicted for Thai requests."""
    return profile(
        {"given": "Somchai", "family": "Wongsakul"},
        "somchai.w@example.net",
        {"name": "Immigration Bureau", "sector": "government", "state": "THA"},
        [period("2010-06-01", None, ["D.1.4"], ["advice", "training"], ["THA"])],
        [("en", "C1"), ("th", "native")],
    )


def basic_english() -> dict[str, Any]:
    """Long experience, but English only at a basic level."""
    return profile(
        {"full": "Sukarni", "order": "no_family_name"},
        "sukarni@example.org",
        {"name": "Yayasan Perlindungan", "sector": "ngo"},
        [period("2008-01-01", None, ["D.1.3"], ["counselling"], ["IDN"])],
        [("en", "basic"), ("id", "native")],
    )


def away_in_july() -> dict[str, Any]:
    """Eligible, but declared unavailable for most of July 2025."""
    return profile(
        {"given": "Aroha", "family": "Ngata"},
        "aroha.ngata@example.org",
        {"name": "Pacific Migration Institute", "sector": "civil_society"},
        [period("2012-03-01", None, ["D.1"], ["advice", "research"], ["NZL", "FJI"])],
        [("en", "native")],
        unavailable=[("2025-07-05", "2025-07-20")],
    )


def nomination(nominator: str, expert: dict[str, Any], year: int = 2025) -> dict[str, Any]:
    return {"call_year": year, "nominator": nominator, "expert": expert}


def thai_request(**changes: Any) -> dict[str, Any]:
    """Thailand asks for two experts on refugee status processing in July."""
    request: dict[str, Any] = {
        "id": "THA-2025-07",
        "requester": "THA",
        "title": "Refugee status determination procedures",
        "themes": ["D.1"],
        "competencies": ["advice", "training"],
        "required_languages": [{"tag": "en", "level": "B2"}],
        "desired_languages": [{"tag": "th", "level": "B2"}],
        "window": {"first": "2025-07-01", "last": "2025-07-10"},
        "place": "THA",
        "experts_wanted": 2,
    }
    request.update(changes)
    return request
