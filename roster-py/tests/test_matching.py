"""Why an expert is left out, previews, and the match policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import roster

from samples import (
    CALL_2025,
    PDF,
    TODAY,
    basic_english,
    caseworker,
    nomination,
    protection_officer,
    thai_official,
    thai_request,
)

THAI = {"kind": "participant", "id": "THA"}
KEY = "THA/THA-2025-07"
WEIGHTS = {
    "thematic": 35,
    "years": 20,
    "competencies": 20,
    "languages": 10,
    "region": 10,
    "rotation": 5,
}


def include(r: roster.Roster, nominator: str, profile: dict[str, Any]) -> int:
    """Nominates, screens, invites, registers and includes an expert."""
    expert_id = int(r.nominate(nomination(nominator, profile))["expert"])
    r.screen(expert_id)
    r.invite(expert_id)
    cv = r.upload_cv(expert_id, "cv.pdf", PDF)
    r.register(expert_id, {"profile": profile, "cv_document": cv["id"]})
    assert r.include(expert_id)["status"] == "included"
    return expert_id


def cast(r: roster.Roster) -> dict[str, int]:
    """The caseworker, the protection officer and the Thai official
    included, and the basic-English nominee screened out."""
    ids = {
        "caseworker": include(r, "PHL", caseworker()),
        "protection": include(r, "VNM", protection_officer()),
        "official": include(r, "THA", thai_official()),
    }
    ids["basic_english"] = int(r.nominate(nomination("IDN", basic_english()))["expert"])
    r.screen(ids["basic_english"])
    return ids


def test_why_not_reads_a_shortlist(office: roster.Roster) -> None:
    ids = cast(office)
    shortlist = office.preview(thai_request(experts_wanted=1))
    why = {key: office.why_not(shortlist, expert_id) for key, expert_id in ids.items()}
    e = {key: f"E-{expert_id:04d}" for key, expert_id in ids.items()}
    assert why == {
        "caseworker": f"{e['caseworker']} is proposed, ranked 1 of 2",
        "protection": f"{e['protection']} passed every filter but ranked 2 of 2, "
        "below the 1 wanted",
        "official": f'{e["official"]} was removed by the filter "conflict of interest": '
        "works for a government body of THA, the requesting state",
        "basic_english": f'{e["basic_english"]} was removed by the filter "not included": '
        'status is ineligible; it also fails "language": en at A2, below the required B2',
    }
    assert office.why_not(shortlist, 4242) == "E-4242 was not considered: not on the roster"


def test_why_not_ranks_an_issued_request_now(office: roster.Roster) -> None:
    ids = cast(office)
    caseworker_id = ids["caseworker"]
    shortlist = office.match_request(thai_request())
    assert office.why_not(KEY, caseworker_id) == office.why_not(shortlist, caseworker_id)
    assert office.as_actor(THAI).why_not(KEY, ids["protection"]) == (
        f"E-{ids['protection']:04d} is proposed, ranked 2 of 2"
    )

    # Booked on an overlapping Indonesian mission, the caseworker is engaged:
    # the key ranks the request again, the old shortlist does not change.
    indonesian = thai_request(id="IDN-2025-07", requester="IDN", place="IDN")
    office.match_request(indonesian)
    office.propose("IDN", "IDN-2025-07", caseworker_id)
    office.accept("IDN", "IDN-2025-07", caseworker_id)
    assert office.why_not(KEY, caseworker_id) == (
        f'E-{caseworker_id:04d} was removed by the filter "engaged": '
        "engaged on mission IDN/IDN-2025-07 from 2025-07-01 to 2025-07-10"
    )
    assert office.why_not(shortlist, caseworker_id) == (
        f"E-{caseworker_id:04d} is proposed, ranked 1 of 2"
    )


@pytest.mark.parametrize("key", ["THA-2025-07", "/THA-2025-07", "THA/", ""])
def test_why_not_needs_a_request_key(office: roster.Roster, key: str) -> None:
    with pytest.raises(roster.ValidationError) as caught:
        office.why_not(key, 1)
    assert caught.value.field == "request_id"
    assert "write the requester's code, a slash and the request's id" in caught.value.message


def test_why_not_refuses_unknown_and_foreign_requests(office: roster.Roster) -> None:
    cast(office)
    with pytest.raises(roster.NotFoundError) as missing:
        office.why_not("THA/THA-2031-01", 1)
    assert str(missing.value) == "request THA/THA-2031-01 not found"
    office.match_request(thai_request())
    # Another member learns nothing, not even whether the request exists.
    indonesia = office.as_actor({"kind": "participant", "id": "IDN"})
    for key in [KEY, "THA/THA-2031-01"]:
        with pytest.raises(roster.ForbiddenError) as caught:
            indonesia.why_not(key, 1)
        assert str(caught.value) == "participant:IDN may not request experts for another member"


def test_why_not_names_the_field_of_a_malformed_shortlist(office: roster.Roster) -> None:
    shortlist = office.preview(thai_request())
    shortlist["wanted"] = "two"
    with pytest.raises(roster.ValidationError) as caught:
        office.why_not(shortlist, 1)
    assert caught.value.field == "shortlist.wanted"


def test_a_preview_stores_nothing(office: roster.Roster) -> None:
    ids = cast(office)
    trail = office.audit_trail()
    preview = office.preview(thai_request())
    assert [e["expert"] for e in preview["ranked"]] == [ids["caseworker"], ids["protection"]]

    # The request was not issued: nothing can be proposed on it or asked
    # about by its key, and its id is still free for other content.
    with pytest.raises(roster.NotFoundError) as caught:
        office.propose("THA", "THA-2025-07", ids["caseworker"])
    assert str(caught.value) == f"request {KEY} not found"
    with pytest.raises(roster.NotFoundError):
        office.why_not(KEY, ids["caseworker"])
    assert office.audit_trail() == trail
    assert office.preview(thai_request()) == preview

    issued = office.match_request(thai_request(experts_wanted=1))
    assert issued["wanted"] == 1
    assert issued["ranked"] == preview["ranked"]
    assert office.propose("THA", "THA-2025-07", ids["caseworker"])["state"] == "proposed"


def test_weights_change_the_order() -> None:
    thematic_only = dict.fromkeys(WEIGHTS, 0) | {"thematic": 1}
    totals = {}
    for name, weights in [("default", None), ("thematic", thematic_only)]:
        r = roster.Roster.in_memory(TODAY, weights=weights)
        r.open_call(CALL_2025)
        ids = cast(r)
        ranked = r.preview(thai_request())["ranked"]
        totals[name] = [(e["expert"], e["total"]) for e in ranked]
        if weights is None:
            assert r.match_policy == {"weights": WEIGHTS, "load_cap": None}
        else:
            assert r.match_policy == {"weights": weights, "load_cap": None}
    # On the thematic part alone, the protection officer's exact field (1000)
    # beats the caseworker's sub-field (700); with every part, the
    # caseworker's years, languages and Thai experience put her first.
    assert totals["thematic"] == [(ids["protection"], 1000), (ids["caseworker"], 700)]
    assert [expert for expert, _ in totals["default"]] == [ids["caseworker"], ids["protection"]]


def test_a_load_cap_filters_a_busy_expert() -> None:
    cap = {"max": 1, "period_days": 365}
    r = roster.Roster.in_memory(TODAY, load_cap=cap)
    assert r.match_policy == {"weights": WEIGHTS, "load_cap": cap}
    assert r.as_actor(THAI).match_policy["load_cap"] == cap
    r.open_call(CALL_2025)
    ids = cast(r)
    caseworker_id = ids["caseworker"]
    r.match_request(thai_request())
    r.propose("THA", "THA-2025-07", caseworker_id)
    r.accept("THA", "THA-2025-07", caseworker_id)

    august = thai_request(id="THA-2025-08", window={"first": "2025-08-04", "last": "2025-08-08"})
    shortlist = r.match_request(august)
    assert [e["expert"] for e in shortlist["ranked"]] == [ids["protection"]]
    capped = next(e for e in shortlist["excluded"] if e["expert"] == caseworker_id)
    assert capped["filter"] == "load_cap"
    [(filter_, reason)] = capped["reasons"]
    assert filter_ == "load_cap"
    assert reason.startswith("1 accepted or completed mission")
    assert reason.endswith("between 2024-08-04 and 2025-08-08; the cap is 1 per 365 days")
    assert r.why_not("THA/THA-2025-08", caseworker_id).startswith(
        f'E-{caseworker_id:04d} was removed by the filter "load cap": 1 accepted'
    )

    # Without the cap the same expert is ranked.
    free = roster.Roster.in_memory(TODAY)
    free.open_call(CALL_2025)
    cast(free)
    free.match_request(thai_request())
    free.propose("THA", "THA-2025-07", caseworker_id)
    free.accept("THA", "THA-2025-07", caseworker_id)
    ranked = free.match_request(august)["ranked"]
    assert caseworker_id in [e["expert"] for e in ranked]


@pytest.mark.parametrize(
    ("policy", "fields", "fragment"),
    [
        (
            {"weights": {"thematic": 1}},
            ["weights"],
            "missing fields `years`, `competencies`, `languages`, `region`, `rotation`",
        ),
        ({"weights": WEIGHTS | {"rotaton": 5}}, ["weights.rotaton"], "unknown field `rotaton`"),
        ({"weights": WEIGHTS | {"years": -1}}, ["weights.years"], "is -1; must be zero or more"),
        ({"weights": WEIGHTS | {"years": 2.5}}, ["weights.years"], "float"),
        ({"weights": dict.fromkeys(WEIGHTS, 0)}, ["weights"], "every weight is 0"),
        (
            {"weights": WEIGHTS | {"thematic": 4_294_967}},
            ["weights"],
            "add up to 4295032; at most 4294967 keeps every total exact",
        ),
        ({"weights": [35, 20, 20, 10, 10, 5]}, ["weights"], "Mapping"),
        ({"load_cap": {"max": 2}}, ["load_cap"], "missing field `period_days`"),
        (
            {"load_cap": {"max": 2, "days": 365}},
            ["load_cap.days", "load_cap"],
            "unknown field `days`",
        ),
        (
            {"load_cap": {"max": 0, "period_days": 0}},
            ["load_cap.max", "load_cap.period_days"],
            "would remove every expert",
        ),
        (
            {"weights": dict.fromkeys(WEIGHTS, 0), "load_cap": {"max": 0, "period_days": 30}},
            ["weights", "load_cap.max"],
            "every weight is 0",
        ),
        ({"load_cap": (2, 365)}, ["load_cap"], "Mapping"),
    ],
    ids=[
        "missing-weight",
        "misspelt-weight",
        "negative-weight",
        "fractional-weight",
        "all-zero",
        "too-large",
        "weights-as-list",
        "missing-period",
        "unknown-cap-key",
        "zero-cap",
        "both-at-once",
        "cap-as-tuple",
    ],
)
def test_a_bad_policy_names_the_field(
    tmp_path: Path, policy: dict[str, Any], fields: list[str], fragment: str
) -> None:
    with pytest.raises(roster.ValidationError) as caught:
        roster.Roster.in_memory(TODAY, **policy)
    assert [field for field, _ in caught.value.errors] == fields
    assert caught.value.field == fields[0]
    assert fragment in str(caught.value)
    # A SQLite roster checks the policy before it touches the file.
    path = tmp_path / "roster.db"
    with pytest.raises(roster.ValidationError):
        roster.Roster.open_sqlite(path, TODAY, **policy)
    assert not path.exists()


def test_every_bad_weight_and_cap_key_is_reported_at_once() -> None:
    with pytest.raises(roster.ValidationError) as caught:
        roster.Roster.in_memory(
            TODAY,
            weights=WEIGHTS | {"years": -1, "region": 2**32, "rotaton": 5},
            load_cap={"max": -2, "period_days": "a year"},
        )
    errors = caught.value.errors
    assert [field for field, _ in errors] == [
        "weights.years",
        "weights.region",
        "weights.rotaton",
        "load_cap.max",
        "load_cap.period_days",
    ]
    assert errors[0][1] == "is -1; must be zero or more"
    assert errors[1][1] == "is 4294967296; the maximum is 4294967295"
    assert errors[2][1].startswith("unknown field `rotaton`, expected one of `thematic`")
    assert errors[3][1] == "is -2; must be zero or more"
    assert "cannot be interpreted as an integer" in errors[4][1]
    assert caught.value.field == "weights.years"
    assert str(caught.value).startswith("5 invalid fields: weights.years: is -1;")


def test_the_other_constructor_arguments_are_reported_with_the_policy(tmp_path: Path) -> None:
    arguments: dict[str, Any] = {
        "actor": {"kind": "king", "id": "x"},
        "weights": {"thematic": 1, "years": 2},
        "load_cap": {"max": 0, "period_days": 30},
    }
    for open_ in (
        lambda: roster.Roster.in_memory("2025-02-30", **arguments),
        lambda: roster.Roster.open_sqlite(tmp_path / "roster.db", "2025-02-30", **arguments),
    ):
        with pytest.raises(roster.ValidationError) as caught:
            open_()
        assert caught.value.errors == [
            (
                "today",
                "`2025-02-30` is not a day written YYYY-MM-DD between 1900-01-01 and 9999-12-31",
            ),
            (
                "kind",
                "unknown variant `king`, expected one of "
                "`rso`, `participant`, `expert`, `analyst`, `system`",
            ),
            ("weights", "missing fields `competencies`, `languages`, `region`, `rotation`"),
            (
                "load_cap.max",
                "is 0, which would remove every expert; allow at least 1 mission in the period",
            ),
        ]
    assert not (tmp_path / "roster.db").exists()


def test_the_policy_applies_to_a_sqlite_roster(tmp_path: Path) -> None:
    weights = WEIGHTS | {"rotation": 50}
    r = roster.Roster.open_sqlite(
        tmp_path / "roster.db", TODAY, weights=weights, load_cap={"max": 3, "period_days": 90}
    )
    assert r.match_policy == {"weights": weights, "load_cap": {"max": 3, "period_days": 90}}
    r.open_call(CALL_2025)
    expert_id = include(r, "PHL", caseworker())
    [entry] = r.preview(thai_request())["ranked"]
    assert entry["expert"] == expert_id
    rotation = next(p for p in entry["parts"] if p["name"] == "rotation")
    assert (rotation["weight"], rotation["points"]) == (50, 50_000)
