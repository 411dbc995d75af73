"""The coverage report: what the included experts cover, and the gaps."""

from __future__ import annotations

from typing import Any

import pytest

import roster

from samples import PDF, basic_english, caseworker, nomination, protection_officer


def include(r: roster.Roster, nominator: str, profile: dict[str, Any]) -> int:
    expert_id = int(r.nominate(nomination(nominator, profile))["expert"])
    r.screen(expert_id)
    r.invite(expert_id)
    cv = r.upload_cv(expert_id, "cv.pdf", PDF)
    r.register(expert_id, {"profile": profile, "cv_document": cv["id"]})
    r.include(expert_id)
    return expert_id


def test_coverage_counts_included_experts(office: roster.Roster) -> None:
    caseworker_id = include(office, "PHL", caseworker())
    include(office, "VNM", protection_officer())
    # Nominated, never included: not counted.
    office.nominate(nomination("IDN", basic_english()))

    report = office.coverage(member_languages={"KHM": ["km"], "THA": ["th"], "VNM": ["vi"]})
    assert report["today"] == "2025-03-01"
    assert report["included"] == 2
    themes = dict(report["themes"])
    assert len(themes) == 89
    # D.1 counts the caseworker (through D.1.1 and D.1.4) and the
    # protection officer (D.1 itself), each once.
    assert (themes["D"], themes["D.1"], themes["D.1.1"], themes["D.1.4"]) == (2, 2, 1, 1)
    assert themes["A"] == 0
    competencies = dict(report["competencies"])
    assert len(competencies) == 18
    assert (competencies["advice"], competencies["training"]) == (1, 2)
    # Tags as recorded (Tagalog is recorded as `fil`), at B2 or above.
    assert report["languages"] == {"en": 2, "fil": 1, "th": 1, "vi": 1}
    assert report["nominators"] == {"PHL": 1, "VNM": 1}
    assert "D.1" not in report["thin_themes"]
    assert report["thin_themes"][:2] == ["A", "B"]
    assert report["language_gaps"] == [{"tag": "km", "members": ["KHM"]}]
    assert report["terms_ending"] == []

    # Near the end of the terms, both are listed, soonest first, then by id.
    later = office.coverage(today="2026-02-01", ending_within_days=30)
    assert later["terms_ending"] == [
        {"expert": caseworker_id, "last_day": "2026-02-28"},
        {"expert": caseworker_id + 1, "last_day": "2026-02-28"},
    ]
    assert office.coverage(today="2026-02-01", ending_within_days=26)["terms_ending"] == []


def test_the_options_change_the_gaps(office: roster.Roster) -> None:
    include(office, "PHL", caseworker())
    include(office, "VNM", protection_officer())
    # At C1 only the caseworker's English counts, with her Tagalog and the
    # officer's Vietnamese; Thai at B2 no longer does.
    fluent = office.coverage(
        working_level="fluent", member_languages={"THA": ["th"], "VNM": ["vi"]}
    )
    assert fluent["languages"] == {"en": 1, "fil": 1, "vi": 1}
    assert fluent["language_gaps"] == [{"tag": "th", "members": ["THA"]}]
    # A higher threshold makes a thin theme of a node two experts cover.
    assert "D.1" not in office.coverage(node_threshold=2)["thin_themes"]
    assert "D.1" in office.coverage(node_threshold=3)["thin_themes"]
    assert office.coverage(node_threshold=0)["thin_themes"] == []
    # Tags are made canonical: `in` is Indonesian, now `id`; a language two
    # states share lists both.
    shared = office.coverage(member_languages={"IDN": ["in"], "MYS": ["ms"], "BRN": ["ms"]})
    assert shared["language_gaps"] == [
        {"tag": "id", "members": ["IDN"]},
        {"tag": "ms", "members": ["BRN", "MYS"]},
    ]


@pytest.mark.parametrize(
    ("options", "fields", "fragment"),
    [
        ({"node_threshold": -1}, ["node_threshold"], "node_threshold: is -1; must be zero or more"),
        (
            {"node_threshold": 2**64},
            ["node_threshold"],
            "is 18446744073709551616; the maximum is 18446744073709551615",
        ),
        ({"ending_within_days": -1}, ["ending_within_days"], "is -1; must be zero or more"),
        ({"ending_within_days": 10**6}, ["ending_within_days"], "is 1000000; the maximum is 3660"),
        ({"working_level": "expert"}, ["working_level"], "unknown level `expert`"),
        ({"member_languages": {"XXX": ["en"]}}, ["member_languages.XXX"], "not a Bali Process"),
        ({"member_languages": {"IOM": ["en"]}}, ["member_languages.IOM"], "member state"),
        ({"member_languages": {"CAN": ["fr"]}}, ["member_languages.CAN"], "member state"),
        (
            {"member_languages": {"THA": ["th", "thai!"]}},
            ["member_languages.THA[1]"],
            "not a well-formed BCP 47 language tag",
        ),
        ({"member_languages": {"THA": "th"}}, ["member_languages.THA"], "is a string"),
        ({"member_languages": ["THA", "th"]}, ["member_languages"], "Mapping"),
        ({"today": "2026-02-30"}, ["today"], "YYYY-MM-DD"),
        (
            {"node_threshold": -2, "working_level": "x", "member_languages": {"XXX": []}},
            ["node_threshold", "member_languages.XXX", "working_level"],
            "3 invalid fields",
        ),
    ],
    ids=[
        "negative-threshold",
        "threshold-beyond-64-bits",
        "negative-period",
        "long-period",
        "unknown-level",
        "unknown-state",
        "organisation",
        "observer",
        "bad-tag",
        "tags-as-text",
        "languages-as-list",
        "bad-day",
        "several",
    ],
)
def test_bad_coverage_options_name_the_field(
    office: roster.Roster, options: dict[str, Any], fields: list[str], fragment: str
) -> None:
    with pytest.raises(roster.ValidationError) as caught:
        office.coverage(**options)
    assert [field for field, _ in caught.value.errors] == fields
    assert fragment in str(caught.value)


def test_every_bad_coverage_option_is_reported_at_once(office: roster.Roster) -> None:
    with pytest.raises(roster.ValidationError) as caught:
        office.coverage(
            node_threshold=2**64,
            member_languages={"THA": "th", "XXX": ["en"], "VNM": ["vi", 7], "KHM": ["km!"]},
            ending_within_days=-1,
            working_level="expert",
            today="2026-02-30",
        )
    errors = caught.value.errors
    # In the order of the options, and of the state codes within
    # member_languages.
    assert [field for field, _ in errors] == [
        "node_threshold",
        "member_languages.KHM[0]",
        "member_languages.THA",
        "member_languages.VNM[1]",
        "member_languages.XXX",
        "ending_within_days",
        "working_level",
        "today",
    ]
    assert errors[0][1] == "is 18446744073709551616; the maximum is 18446744073709551615"
    assert errors[2][1] == 'is a string; give a list of language tags, as ["th"]'
    assert errors[5][1] == "is -1; must be zero or more"
    assert str(caught.value).startswith("8 invalid fields: node_threshold: ")


def test_an_analyst_reads_counts_and_a_member_nothing(office: roster.Roster) -> None:
    include(office, "PHL", caseworker())
    include(office, "VNM", protection_officer())
    whole = office.coverage(today="2026-02-01", ending_within_days=30)
    assert whole["terms_ending_count"] == len(whole["terms_ending"]) == 2
    analyst = office.as_actor({"kind": "analyst", "id": "a-1"})
    counts = analyst.coverage(today="2026-02-01", ending_within_days=30)
    assert counts["terms_ending"] == []
    assert counts["terms_ending_count"] == whole["terms_ending_count"]
    assert counts["themes"] == whole["themes"]
    with pytest.raises(roster.ForbiddenError):
        office.as_actor({"kind": "participant", "id": "THA"}).coverage()
