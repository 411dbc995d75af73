"""Each kind of failure reaches Python as its own exception class."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import roster

from samples import CALL_2025, PDF, TODAY, caseworker, nomination, thai_request


def test_every_class_shares_the_base_and_a_builtin() -> None:
    assert issubclass(roster.ValidationError, roster.RosterError)
    assert issubclass(roster.ValidationError, ValueError)
    assert issubclass(roster.NotFoundError, LookupError)
    assert issubclass(roster.ForbiddenError, PermissionError)
    for cls in [
        roster.ValidationError,
        roster.NotFoundError,
        roster.ConflictError,
        roster.DatabaseError,
        roster.ForbiddenError,
        roster.TransitionError,
        roster.CallClosedError,
    ]:
        assert issubclass(cls, roster.RosterError)
        assert cls.__module__ == "roster._errors"


def test_a_bad_email_names_the_field(office: roster.Roster) -> None:
    expert = caseworker()
    expert["email"] = "maria.santos.example.org"
    with pytest.raises(roster.ValidationError) as caught:
        office.nominate(nomination("PHL", expert))
    err = caught.value
    assert isinstance(err, ValueError)
    assert err.field == "expert.email"
    assert [field for field, _ in err.errors] == ["expert.email"]
    assert str(err).startswith("expert.email: is not a valid e-mail address")
    # The message never repeats the address.
    assert "maria" not in str(err)


def test_a_bidi_control_in_a_name_is_refused(office: roster.Roster) -> None:
    expert = caseworker()
    expert["name"] = {"full": "Maria \u202eSantos"}
    with pytest.raises(roster.ValidationError) as caught:
        office.nominate(nomination("PHL", expert))
    assert caught.value.field == "expert.name.full"
    assert "U+202E" in str(caught.value)


def test_every_invalid_field_is_listed(office: roster.Roster) -> None:
    expert = caseworker()
    expert["email"] = "not-an-address"
    expert["languages"][0]["tag"] = "english!"
    expert["experience"][0]["themes"] = ["K.9"]
    with pytest.raises(roster.ValidationError) as caught:
        office.nominate(nomination("PHL", expert))
    fields = [field for field, _ in caught.value.errors]
    assert fields == [
        "expert.email",
        "expert.experience[0].themes[0]",
        "expert.languages[0].tag",
    ]
    assert caught.value.field == "expert.email"
    assert str(caught.value).startswith("3 invalid fields: expert.email: ")


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"experts_wanted": 0}, "experts_wanted", "at least 1"),
        ({"experts_wanted": 70000}, "experts_wanted", "is 70000; the maximum is 65535"),
        ({"experts_wanted": -1}, "experts_wanted", "is -1; must be zero or more"),
        ({"themes": {"D.1": True}}, "themes", "Sequence"),
        ({"window": {"first": "2025-07-01", "last": "10 July"}}, "window.last", ""),
        (
            {"desired_languages": [{"tag": "th", "level": "expert"}]},
            "desired_languages[0].level",
            "unknown level",
        ),
        ({"budget": 1000}, "budget", "unknown field `budget`"),
    ],
)
def test_a_malformed_request_names_the_path(
    office: roster.Roster, change: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(roster.ValidationError) as caught:
        office.match_request(thai_request(**change))
    assert caught.value.field == field
    assert fragment in str(caught.value)


def test_a_missing_key_names_the_argument(office: roster.Roster) -> None:
    with pytest.raises(roster.ValidationError) as caught:
        office.nominate({"call_year": 2025, "nominator": "PHL"})
    assert caught.value.field == "nomination"
    assert "missing field `expert`" in str(caught.value)
    with pytest.raises(roster.ValidationError):
        office.nominate(["not", "a", "dict"])  # type: ignore[arg-type]


def test_an_unknown_id_is_not_found(office: roster.Roster) -> None:
    with pytest.raises(roster.NotFoundError) as caught:
        office.expert(4242)
    assert isinstance(caught.value, LookupError)
    assert str(caught.value) == "expert E-4242 not found"
    for call in (office.screen, office.invite, office.include):
        with pytest.raises(roster.NotFoundError):
            call(4243)
        # An id no store ever gives is refused before any lookup.
        with pytest.raises(roster.ValidationError):
            call(-1)


class Index:
    """A whole number that is not an int, as numpy's integers are."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


I64_MAX = 2**63 - 1
FEEDBACK = {"rating": 4}

# Every method that takes an expert id, called with the id given.
ID_CALLS: dict[str, Callable[[roster.Roster, Any], object]] = {
    "expert": lambda r, i: r.expert(i),
    "screen": lambda r, i: r.screen(i),
    "invite": lambda r, i: r.invite(i),
    "reinvite": lambda r, i: r.reinvite(i),
    "decline": lambda r, i: r.decline(i, "busy"),
    "upload_cv": lambda r, i: r.upload_cv(i, "cv.pdf", PDF),
    "renew": lambda r, i: r.renew(i),
    "withdraw": lambda r, i: r.withdraw(i, "moved"),
    "update_profile": lambda r, i: r.update_profile(i, 1, caseworker()),
    "why_not": lambda r, i: r.why_not("THA/THA-2025-07", i),
    "register": lambda r, i: r.register(i, {"profile": caseworker(), "cv_document": 1}),
    "include": lambda r, i: r.include(i),
    "revoke": lambda r, i: r.revoke(i, "asked"),
    "audit_trail": lambda r, i: r.audit_trail(i),
    "propose": lambda r, i: r.propose("THA", "THA-2025-07", i),
    "accept": lambda r, i: r.accept("THA", "THA-2025-07", i),
    "complete": lambda r, i: r.complete("THA", "THA-2025-07", i),
    "record_feedback": lambda r, i: r.record_feedback("THA", "THA-2025-07", i, FEEDBACK),
    "decline_engagement": lambda r, i: r.decline_engagement("THA", "THA-2025-07", i),
}


@pytest.mark.parametrize("call", ID_CALLS.values(), ids=ID_CALLS.keys())
@pytest.mark.parametrize(
    ("expert_id", "message"),
    [
        (0, "is 0; expert ids start at 1"),
        (-5, "is -5; expert ids start at 1"),
        (2**63, f"is {2**63}; the maximum is {I64_MAX}"),
        (2**70, f"is {2**70}; the maximum is {I64_MAX}"),
        (-(2**63) - 1, f"is {-(2**63) - 1}; must be at least {-(2**63)}"),
        (Index(2**64), f"is {2**64}; the maximum is {I64_MAX}"),
    ],
    ids=["zero", "negative", "2**63", "2**70", "below-i64", "index-2**64"],
)
def test_an_id_beyond_64_bits_is_a_validation_error(
    office: roster.Roster,
    call: Callable[[roster.Roster, Any], object],
    expert_id: Any,
    message: str,
) -> None:
    with pytest.raises(roster.ValidationError) as caught:
        call(office, expert_id)
    err = caught.value
    assert not isinstance(err, OverflowError)
    assert isinstance(err, ValueError)
    assert err.field == "expert_id"
    assert err.errors == [("expert_id", message)]
    assert str(err) == f"expert_id: {message}"


def test_an_id_of_another_type_is_still_a_type_error(office: roster.Roster) -> None:
    with pytest.raises(TypeError):
        office.expert("E-0001")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        office.expert(1.0)  # type: ignore[arg-type]
    # Any whole number fits, an int or not.
    with pytest.raises(roster.NotFoundError):
        office.expert(Index(I64_MAX))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (-1, "is -1; must be zero or more"),
        (2**64, f"is {2**64}; the maximum is {2**64 - 1}"),
    ],
    ids=["negative", "beyond-64-bits"],
)
def test_a_version_out_of_range_is_a_validation_error(
    office: roster.Roster, version: int, message: str
) -> None:
    expert_id = office.nominate(nomination("PHL", caseworker()))["expert"]
    with pytest.raises(roster.ValidationError) as caught:
        office.update_profile(expert_id, version, caseworker())
    assert caught.value.errors == [("expected_version", message)]


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        (
            lambda r: r.match_request(thai_request(experts_wanted=-2)),
            "experts_wanted",
            "is -2; must be zero or more",
        ),
        (
            lambda r: r.match_request(thai_request(experts_wanted=2**16)),
            "experts_wanted",
            "is 65536; the maximum is 65535",
        ),
        (
            lambda r: r.match_request(thai_request(excluded=[1, 2**63])),
            "excluded[1]",
            f"is {2**63}; the maximum is {I64_MAX}",
        ),
        (
            lambda r: r.complete("THA", "THA-2025-07", 1, {"rating": -1}),
            "feedback.rating",
            "is -1; must be zero or more",
        ),
        (
            lambda r: r.complete("THA", "THA-2025-07", 1, {"rating": Index(-7)}),
            "feedback.rating",
            "is -7; must be zero or more",
        ),
    ],
    ids=["negative-wanted", "wanted-too-large", "excluded-id", "negative-rating", "index"],
)
def test_a_number_out_of_range_in_a_record_names_the_field(
    office: roster.Roster, call: Callable[[roster.Roster], object], field: str, message: str
) -> None:
    with pytest.raises(roster.ValidationError) as caught:
        call(office)
    assert caught.value.errors == [(field, message)]
    assert "OverflowError" not in str(caught.value)


def test_other_parties_are_refused(office: roster.Roster) -> None:
    thailand = office.as_actor({"kind": "participant", "id": "THA"})
    with pytest.raises(roster.ForbiddenError) as caught:
        thailand.experts()
    assert isinstance(caught.value, PermissionError)
    assert str(caught.value) == "participant:THA may not list every expert"
    with pytest.raises(roster.ForbiddenError):
        thailand.nominate(nomination("PHL", caseworker()))
    with pytest.raises(roster.ValidationError) as caught_actor:
        office.as_actor({"kind": "king", "id": "x"})
    assert caught_actor.value.field == "kind"


def test_lifecycle_steps_are_checked(office: roster.Roster) -> None:
    expert_id = office.nominate(nomination("PHL", caseworker()))["expert"]
    with pytest.raises(roster.TransitionError) as caught:
        office.include(expert_id)
    assert str(caught.value) == f"expert E-{expert_id:04d} cannot go from nominated to included"


def test_a_closed_call_gives_its_window(office: roster.Roster) -> None:
    office.set_today("2025-05-01")
    with pytest.raises(roster.CallClosedError) as caught:
        office.nominate(nomination("PHL", caseworker()))
    assert "2025-02-01 through 2025-04-30; today is 2025-05-01" in str(caught.value)
    with pytest.raises(roster.CallClosedError):
        office.nominate(nomination("PHL", caseworker(), year=2031))


@pytest.mark.parametrize("today", ["2025-02-30", "01/03/2025", "+20000-01-01", "1850-01-01", ""])
def test_a_bad_day_is_refused(today: str) -> None:
    with pytest.raises(roster.ValidationError) as caught:
        roster.Roster.in_memory(today)
    assert caught.value.field == "today"
    r = roster.Roster.in_memory(TODAY)
    with pytest.raises(roster.ValidationError):
        r.set_today(today)
    assert r.today == TODAY


def test_a_missing_database_directory_is_a_database_error(tmp_path: Path) -> None:
    folder = tmp_path / "no" / "such" / "dir"
    with pytest.raises(roster.DatabaseError) as caught:
        roster.Roster.open_sqlite(folder / "roster.db", TODAY)
    assert caught.value.transient is False
    # SQLite's own words ("unable to open database file") name nothing;
    # the message names the folder to create.
    assert str(caught.value) == (
        f"cannot open {folder / 'roster.db'}: the folder {folder} does not exist; create it first"
    )
    assert not folder.exists()


@pytest.mark.parametrize(
    "err",
    [
        roster.ValidationError("expert.email: bad", "expert.email", [("expert.email", "bad")]),
        roster.ConflictError("changed", current_version=4),
        roster.DatabaseError("locked", transient=True),
        roster.NotFoundError("expert E-0001 not found"),
        roster.ForbiddenError("no"),
    ],
)
def test_errors_survive_pickling(err: roster.RosterError) -> None:
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert str(back) == str(err)
    assert vars(back) == vars(err)


@pytest.mark.parametrize(
    "change",
    [
        {"window": {"first": "-262143-01-01", "last": "+262142-12-31"}},
        {"window": {"first": "+262142-12-31", "last": "+262142-12-31"}},
        {"window": {"first": "-262143-01-01", "last": "-262143-01-01"}},
        {"experts_wanted": 65535},
        {"excluded": [-(2**63), 2**63 - 1]},
        {"title": "\u0000"},
        {"id": "x" * 100_000},
    ],
)
def test_extreme_input_never_panics(office: roster.Roster, change: dict[str, Any]) -> None:
    """Whatever the input, the answer is a result or an ordinary exception."""
    expert_id = office.nominate(nomination("PHL", caseworker()))["expert"]
    office.screen(expert_id)
    office.invite(expert_id)
    cv = office.upload_cv(expert_id, "cv.pdf", PDF)
    office.register(expert_id, {"profile": caseworker(), "cv_document": cv["id"]})
    office.include(expert_id)
    try:
        office.match_request(thai_request(**change))
    except (roster.RosterError, ValueError) as err:
        message = str(err)
    else:
        return
    # A panic caught at the boundary would say so; none may happen.
    assert "internal error" not in message


def test_the_call_fixture_is_open(office: roster.Roster) -> None:
    assert office.open_call(CALL_2025) == {**CALL_2025, "version": 1}


@pytest.mark.parametrize(
    ("request_id", "message"),
    [
        ("A\x00B", "contains the control character U+0000, which is not allowed"),
        ("THA-\u202e1", "contains the control character U+202E, which is not allowed"),
        ("R" * 101, "is 101 characters long; at most 100 are allowed"),
        (
            " THA-1 ",
            "is not in its plain form: ids are compared exactly, so give it without "
            "surrounding spaces and in Unicode NFC, as `THA-1`",
        ),
    ],
    ids=["nul", "bidi", "too-long", "padded"],
)
def test_a_request_id_must_be_plain_text(
    office: roster.Roster, request_id: str, message: str
) -> None:
    with pytest.raises(roster.ValidationError) as caught:
        office.match_request(thai_request(id=request_id))
    assert caught.value.field == "id"
    assert caught.value.message == f"id: {message}"


def test_a_language_tag_with_extensions_is_refused(office: roster.Roster) -> None:
    # An extension says nothing about the language and would never meet a
    # need for it, so the tag is refused, with the plain form to give.
    skills = [{"tag": "en", "level": "B2"}, {"tag": "en-x-legal", "level": "C1"}]
    with pytest.raises(roster.ValidationError) as caught:
        office.match_request(thai_request(desired_languages=skills))
    assert caught.value.field == "desired_languages[1].tag"
    assert caught.value.message == (
        "desired_languages[1].tag: `en-x-legal` carries extension subtags; give only the "
        "language, with a script, region or variant where it matters, such as `en`"
    )


KEY_CALLS: dict[str, Callable[[roster.Roster, str, str], object]] = {
    "propose": lambda r, who, rid: r.propose(who, rid, 1),
    "accept": lambda r, who, rid: r.accept(who, rid, 1),
    "decline_engagement": lambda r, who, rid: r.decline_engagement(who, rid, 1),
    "complete": lambda r, who, rid: r.complete(who, rid, 1),
    "record_feedback": lambda r, who, rid: r.record_feedback(who, rid, 1, FEEDBACK),
}


@pytest.mark.parametrize("call", KEY_CALLS.values(), ids=KEY_CALLS.keys())
@pytest.mark.parametrize("field", ["requester", "request_id"])
def test_a_lone_surrogate_in_a_request_argument_names_it(
    office: roster.Roster, call: Callable[[roster.Roster, str, str], object], field: str
) -> None:
    # Python strings may hold a lone surrogate, which is not text: the call
    # fails on the argument that holds it, not with a bare UnicodeEncodeError.
    args = {"requester": "THA", "request_id": "THA-2025-07"}
    args[field] = "THA-\ud800"
    with pytest.raises(roster.ValidationError) as caught:
        call(office, args["requester"], args["request_id"])
    assert caught.value.field == field
    assert caught.value.message == (
        f"{field}: holds a lone surrogate, which is not text; pass a string that encodes to UTF-8"
    )


def test_why_not_names_a_lone_surrogate_in_the_request_key(office: roster.Roster) -> None:
    with pytest.raises(roster.ValidationError) as caught:
        office.why_not("THA/\ud800", 1)
    assert caught.value.field == "request_id"
