"""A call, from nominations to a ranked shortlist, on every store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import roster

from samples import (
    PDF,
    away_in_july,
    basic_english,
    caseworker,
    nomination,
    protection_officer,
    thai_official,
    thai_request,
)

PARTS = ["thematic", "years", "competencies", "languages", "region", "rotation"]


def onboard(r: roster.Roster, expert_id: int, profile: dict[str, Any]) -> dict[str, Any]:
    """Screens, invites, registers and includes an eligible nominee."""
    report = r.screen(expert_id)
    assert all(f["met"] for f in report["findings"] if f["required"]), report
    assert r.invite(expert_id)["status"] == "invited"
    cv = r.upload_cv(expert_id, f"cv-{expert_id:04d}.pdf", PDF)
    registered = r.register(expert_id, {"profile": profile, "cv_document": cv["id"]})
    assert registered["status"] == "registered"
    return r.include(expert_id)


def test_a_call_from_nomination_to_shortlist(office: roster.Roster) -> None:
    r = office
    ids = {}
    for key, nominator, expert in [
        ("caseworker", "PHL", caseworker()),
        ("protection", "VNM", protection_officer()),
        ("official", "THA", thai_official()),
        ("basic_english", "IDN", basic_english()),
        ("away", "NZL", away_in_july()),
    ]:
        outcome = r.nominate(nomination(nominator, expert))
        assert outcome["outcome"] == "created"
        ids[key] = outcome["expert"]
    assert sorted(ids.values()) == list(ids.values())

    # Thailand nominates the caseworker too, typing her address in capitals:
    # still one expert, now with two nominators.
    again = caseworker()
    again["email"] = "Maria.Santos@EXAMPLE.org"
    outcome = r.as_actor({"kind": "participant", "id": "THA"}).nominate(nomination("THA", again))
    assert outcome == {"outcome": "added_nominator", "expert": ids["caseworker"]}
    assert [n["nominator"] for n in r.expert(ids["caseworker"])["nominations"]] == [
        "PHL",
        "THA",
    ]

    # Basic English fails a required criterion; screening says so in words.
    report = r.screen(ids["basic_english"])
    english = next(f for f in report["findings"] if f["criterion"] == "english")
    assert english == {
        "criterion": "english",
        "required": True,
        "met": False,
        "reason": "English at A2, below the B2 needed",
    }
    assert report["checked_on"] == "2025-03-01"
    assert r.expert(ids["basic_english"])["status"] == "ineligible"

    for key, profile in [
        ("caseworker", caseworker()),
        ("protection", protection_officer()),
        ("official", thai_official()),
        ("away", away_in_july()),
    ]:
        included = onboard(r, ids[key], profile)
        assert included["status"] == "included"
        assert included["term"] == {"first_day": "2025-03-01", "last_day": "2026-02-28"}

    shortlist = r.match_request(thai_request())
    assert shortlist["request_id"] == "THA-2025-07"
    assert shortlist["wanted"] == 2

    ranked = shortlist["ranked"]
    assert [e["expert"] for e in ranked] == [ids["caseworker"], ids["protection"]]
    assert [e["rank"] for e in ranked] == [1, 2]
    assert ranked[0]["total"] > ranked[1]["total"] > 0
    assert ranked[0]["flags"] == ["nominated_by_requester"]
    assert ranked[1]["flags"] == []
    for entry in ranked:
        assert [p["name"] for p in entry["parts"]] == PARTS
        for part in entry["parts"]:
            assert part["points"] == part["fraction"] * part["weight"]
            assert part["explanation"].strip()
        assert entry["total"] == sum(p["points"] for p in entry["parts"])

    caseworker_parts = {p["name"]: p for p in ranked[0]["parts"]}
    assert caseworker_parts["thematic"]["explanation"] == (
        "of 1 requested field: 0 matched exactly, 1 through a sub-field, 0 through the broader area"
    )
    assert caseworker_parts["region"]["explanation"] == "has worked in THA"
    assert caseworker_parts["languages"]["explanation"] == "1 of 1 desired languages (th)"
    protection_parts = {p["name"]: p for p in ranked[1]["parts"]}
    assert protection_parts["thematic"]["fraction"] == 1000
    assert protection_parts["region"]["explanation"] == (
        "has worked in VNM, in the same region as THA"
    )

    excluded = {e["expert"]: e for e in shortlist["excluded"]}
    assert sorted(excluded) == sorted([ids["official"], ids["basic_english"], ids["away"]])
    assert [tuple(x) for x in excluded[ids["official"]]["reasons"]] == [
        ("conflict", "works for a government body of THA, the requesting state")
    ]
    assert excluded[ids["official"]]["filter"] == "conflict"
    assert excluded[ids["basic_english"]]["filter"] == "not_included"
    assert [tuple(x) for x in excluded[ids["basic_english"]]["reasons"]] == [
        ("not_included", "status is ineligible"),
        ("language", "en at A2, below the required B2"),
    ]
    assert excluded[ids["away"]]["filter"] == "unavailable"
    assert [tuple(x) for x in excluded[ids["away"]]["reasons"]] == [
        ("unavailable", "declared unavailable 2025-07-05 to 2025-07-20")
    ]

    # Matching the same request again gives the same answer.
    assert r.match_request(thai_request()) == shortlist


def test_the_audit_trail_records_each_step(office: roster.Roster) -> None:
    expert_id = office.nominate(nomination("PHL", caseworker()))["expert"]
    onboard(office, expert_id, caseworker())
    office.revoke(expert_id, "requested by the expert")
    trail = office.audit_trail(expert_id)
    assert [(e["from"], e["to"]) for e in trail] == [
        (None, "nominated"),
        ("nominated", "invited"),
        ("invited", "registered"),
        ("registered", "included"),
        ("included", "revoked"),
    ]
    assert {e["actor"] for e in trail} == {"rso:python"}
    assert trail[-1]["reason"] == "requested by the expert"
    assert [e["seq"] for e in office.audit_trail()] == [e["seq"] for e in trail]


def test_records_survive_reopening_the_file(
    open_roster: Callable[..., roster.Roster], store: str
) -> None:
    first = open_roster()
    first.open_call({"year": 2025, "window": {"first": "2025-02-01", "last": "2025-04-30"}})
    expert_id = first.nominate(nomination("PHL", caseworker()))["expert"]
    del first
    second = open_roster()
    if store == "memory":
        assert second.experts() == []
    else:
        assert second.expert(expert_id)["profile"]["email"] == "maria.santos@example.org"


def test_today_moves_and_terms_follow(office: roster.Roster) -> None:
    expert_id = office.nominate(nomination("PHL", caseworker()))["expert"]
    office.set_today("2025-04-30")
    assert office.today == "2025-04-30"
    onboard(office, expert_id, caseworker())
    assert office.expert(expert_id)["term"] == {
        "first_day": "2025-04-30",
        "last_day": "2026-04-29",
    }
    # Another view shares the clock.
    view = office.as_actor({"kind": "rso", "id": "officer-7"})
    office.set_today("2025-05-01")
    assert view.today == "2025-05-01"
    assert view.actor == {"kind": "rso", "id": "officer-7"}


def test_the_system_clock_runs_until_a_day_is_set() -> None:
    r = roster.Roster.in_memory()
    assert len(r.today) == 10
    assert repr(r) == "Roster(store='memory', today=None, actor='rso:python')"
    r.set_today("2024-02-29")
    assert repr(r) == "Roster(store='memory', today='2024-02-29', actor='rso:python')"


def test_members_search_included_experts_without_referees_addresses(
    office: roster.Roster,
) -> None:
    r = office
    included = r.nominate(nomination("PHL", caseworker()))["expert"]
    nominated = r.nominate(nomination("VNM", protection_officer()))["expert"]
    onboard(r, included, caseworker())
    whole = r.expert(included)
    assert all(referee["email"] for referee in whole["profile"]["referees"])

    thailand = r.as_actor({"kind": "participant", "id": "THA"})
    seen = thailand.expert(included)
    assert [referee["email"] for referee in seen["profile"]["referees"]] == [
        "" for _ in whole["profile"]["referees"]
    ]
    seen["profile"]["referees"] = whole["profile"]["referees"]
    assert seen == whole
    assert thailand.included_experts() == [thailand.expert(included)]

    philippines = r.as_actor({"kind": "participant", "id": "PHL"})
    assert philippines.included_experts() == [whole]
    assert r.included_experts() == [whole]
    with pytest.raises(roster.ForbiddenError) as refused:
        thailand.expert(nominated)
    assert str(refused.value) == "participant:THA may not see this expert"
    analyst = r.as_actor({"kind": "analyst", "id": "a-1"})
    with pytest.raises(roster.ForbiddenError) as refused:
        analyst.included_experts()
    assert str(refused.value) == "analyst:a-1 may not search the included experts"
