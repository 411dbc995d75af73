"""Engagements from proposal to completion, with post-mission feedback."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import roster

from samples import (
    CALL_2025,
    PDF,
    TODAY,
    caseworker,
    nomination,
    protection_officer,
    thai_request,
)

THAI = {"kind": "participant", "id": "THA"}
REQUEST = "THA-2025-07"


def included(r: roster.Roster) -> int:
    """Nominates, registers and includes the caseworker."""
    expert_id = int(r.nominate(nomination("PHL", caseworker()))["expert"])
    r.screen(expert_id)
    r.invite(expert_id)
    cv = r.upload_cv(expert_id, "cv.pdf", PDF)
    r.register(expert_id, {"profile": caseworker(), "cv_document": cv["id"]})
    r.include(expert_id)
    return expert_id


def accepted(r: roster.Roster) -> int:
    """Includes the caseworker, issues the Thai request and books her on it;
    then moves to the mission's first day, from which it may be completed."""
    expert_id = included(r)
    r.match_request(thai_request())
    proposed = r.propose("THA", REQUEST, expert_id)
    assert (proposed["state"], proposed["version"]) == ("proposed", 1)
    booked = r.as_actor(THAI).accept("THA", REQUEST, expert_id)
    assert (booked["state"], booked["version"]) == ("accepted", 2)
    r.set_today("2025-07-01")
    return expert_id


def test_completion_records_the_feedback_exactly(office: roster.Roster) -> None:
    expert_id = accepted(office)
    office.set_today("2025-07-12")
    # Decomposed Vietnamese and Thai text come back in NFC, trimmed.
    comment = " Chị Nguye\u0302\u0303n: ผู้เชี่ยวชาญดีมาก "
    done = office.complete("THA", REQUEST, expert_id, {"rating": 5, "comment": comment})
    assert done == {
        "request_id": "THA/THA-2025-07",
        "expert": expert_id,
        "window": {"first": "2025-07-01", "last": "2025-07-10"},
        "state": "completed",
        "version": 3,
        "feedback": {
            "rating": 5,
            "comment": "Chị Nguyễn: ผู้เชี่ยวชาญดีมาก",
            "recorded_by": "rso:python",
            "recorded_at": "2025-07-12T05:00:00Z",
        },
    }
    # Completing again, with the same feedback or none, changes nothing.
    assert office.complete("THA", REQUEST, expert_id) == done
    assert office.complete("THA", REQUEST, expert_id, {"rating": 5, "comment": comment}) == done


def test_feedback_may_follow_the_completion(office: roster.Roster) -> None:
    expert_id = accepted(office)
    done = office.complete("THA", REQUEST, expert_id, None)
    assert done["state"] == "completed"
    assert "feedback" not in done
    later = office.record_feedback("THA", REQUEST, expert_id, {"rating": 3})
    assert later["version"] == done["version"] + 1
    assert later["feedback"]["rating"] == 3
    assert "comment" not in later["feedback"]
    assert office.record_feedback("THA", REQUEST, expert_id, {"rating": 3}) == later


def test_recorded_feedback_is_never_replaced(office: roster.Roster) -> None:
    expert_id = accepted(office)
    done = office.complete("THA", REQUEST, expert_id, {"rating": 4, "comment": "Helpful"})
    for call in [office.complete, office.record_feedback]:
        with pytest.raises(roster.ValidationError) as caught:
            call("THA", REQUEST, expert_id, {"rating": 2, "comment": "Helpful"})
        assert caught.value.field == "feedback"
        assert "recorded feedback is never replaced" in caught.value.message
    assert office.complete("THA", REQUEST, expert_id) == done


@pytest.mark.parametrize("rating", [0, 6, 300, -1])
def test_a_rating_outside_one_to_five_names_the_field(office: roster.Roster, rating: int) -> None:
    expert_id = accepted(office)
    with pytest.raises(roster.ValidationError) as caught:
        office.complete("THA", REQUEST, expert_id, {"rating": rating})
    assert caught.value.field == "feedback.rating"
    # Nothing was completed.
    assert office.accept("THA", REQUEST, expert_id)["state"] == "accepted"


@pytest.mark.parametrize(
    ("feedback", "field"),
    [
        ({"rating": 4, "comment": "fine\u202eenif"}, "feedback.comment"),
        ({"rating": 4, "comment": "x" * 2001}, "feedback.comment"),
        ({"rating": 4, "stars": 4}, "feedback.stars"),
        ({"comment": "no rating"}, "feedback"),
    ],
    ids=["bidi-control", "too-long", "unknown-key", "no-rating"],
)
def test_malformed_feedback_names_the_field(
    office: roster.Roster, feedback: dict[str, Any], field: str
) -> None:
    expert_id = accepted(office)
    office.complete("THA", REQUEST, expert_id)
    with pytest.raises(roster.ValidationError) as caught:
        office.record_feedback("THA", REQUEST, expert_id, feedback)
    assert caught.value.field == field


def test_feedback_needs_a_completed_mission(office: roster.Roster) -> None:
    expert_id = accepted(office)
    with pytest.raises(roster.ValidationError) as caught:
        office.record_feedback("THA", REQUEST, expert_id, {"rating": 4})
    assert caught.value.field == "state"
    assert caught.value.message.endswith(
        "is accepted; feedback is recorded only once the mission is completed"
    )


def test_only_the_rso_completes_and_records_feedback(office: roster.Roster) -> None:
    expert_id = accepted(office)
    thai = office.as_actor(THAI)
    with pytest.raises(roster.ForbiddenError):
        thai.complete("THA", REQUEST, expert_id, {"rating": 5})
    office.complete("THA", REQUEST, expert_id)
    with pytest.raises(roster.ForbiddenError):
        thai.record_feedback("THA", REQUEST, expert_id, {"rating": 5})


def test_feedback_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "roster.db"
    first = roster.Roster.open_sqlite(path, TODAY)
    first.open_call(CALL_2025)
    expert_id = accepted(first)
    done = first.complete("THA", REQUEST, expert_id, {"rating": 4, "comment": "خبير ممتاز"})
    del first
    second = roster.Roster.open_sqlite(path, TODAY)
    assert second.complete("THA", REQUEST, expert_id) == done


def test_declining_frees_the_days_for_another_proposal(office: roster.Roster) -> None:
    expert_id = accepted(office)
    declined = office.as_actor(THAI).decline_engagement("THA", REQUEST, expert_id)
    assert declined == {
        "request_id": "THA/THA-2025-07",
        "expert": expert_id,
        "window": {"first": "2025-07-01", "last": "2025-07-10"},
        "state": "declined",
        "version": 3,
    }
    # Declining again changes nothing.
    assert office.decline_engagement("THA", REQUEST, expert_id) == declined
    # The days are free: the expert passes the filters and may be proposed
    # again, on this request or an overlapping one.
    shortlist = office.match_request(thai_request())
    assert expert_id in [e["expert"] for e in shortlist["ranked"]]
    again = office.propose("THA", REQUEST, expert_id)
    assert (again["state"], again["version"]) == ("proposed", 4)


def test_the_expert_may_decline_a_proposal(office: roster.Roster) -> None:
    expert_id = accepted(office)
    office.decline_engagement("THA", REQUEST, expert_id)
    office.propose("THA", REQUEST, expert_id)
    me = office.as_actor({"kind": "expert", "id": expert_id})
    assert me.decline_engagement("THA", REQUEST, expert_id)["state"] == "declined"


def test_who_may_decline_and_what(office: roster.Roster) -> None:
    expert_id = accepted(office)
    for actor in [
        {"kind": "participant", "id": "IDN"},
        {"kind": "expert", "id": expert_id + 1},
        {"kind": "analyst", "id": "a-1"},
    ]:
        with pytest.raises(roster.ForbiddenError):
            office.as_actor(actor).decline_engagement("THA", REQUEST, expert_id)
    with pytest.raises(roster.NotFoundError):
        office.decline_engagement("THA", "THA-2031-01", expert_id)
    with pytest.raises(roster.ValidationError) as never:
        office.decline_engagement("THA", REQUEST, expert_id + 1)
    assert never.value.field == "expert"
    assert never.value.message == (
        f"expert: E-{expert_id + 1:04d} was never proposed for THA/THA-2025-07, "
        "so cannot be declined"
    )
    office.complete("THA", REQUEST, expert_id)
    with pytest.raises(roster.ValidationError) as done:
        office.decline_engagement("THA", REQUEST, expert_id)
    assert done.value.field == "state"
    assert done.value.message.endswith("is completed and cannot be declined")


def accept_after(
    start: threading.Barrier, r: roster.Roster, request_id: str, expert_id: int
) -> dict[str, Any] | roster.RosterError:
    """Thailand accepts once both threads are ready; the outcome either way."""
    start.wait(timeout=10)
    try:
        return r.as_actor(THAI).accept("THA", request_id, expert_id)
    except roster.RosterError as err:
        return err


def test_accepts_at_once_keep_the_load_cap(store: str, tmp_path: Path) -> None:
    # Two missions a month apart, under a cap of one per 365 days, accepted
    # from two threads at once: however the calls interleave, one is booked
    # and the other refused on `expert`, with the cap and the full period.
    cap = {"max": 1, "period_days": 365}
    august = thai_request(id="THA-2025-08", window={"first": "2025-08-04", "last": "2025-08-08"})
    for round_ in range(10):
        if store == "memory":
            r = roster.Roster.in_memory(TODAY, load_cap=cap)
        else:
            r = roster.Roster.open_sqlite(tmp_path / f"roster-{round_}.db", TODAY, load_cap=cap)
        r.open_call(CALL_2025)
        expert_id = included(r)
        for request in [thai_request(), august]:
            r.match_request(request)
            r.propose("THA", request["id"], expert_id)
        start = threading.Barrier(2)
        with ThreadPoolExecutor(max_workers=2) as pool:
            calls = [
                pool.submit(accept_after, start, r, request_id, expert_id)
                for request_id in [REQUEST, "THA-2025-08"]
            ]
            outcomes = [call.result(timeout=60) for call in calls]
        booked = [o for o in outcomes if isinstance(o, dict)]
        refused = [o for o in outcomes if isinstance(o, roster.RosterError)]
        assert [b["state"] for b in booked] == ["accepted"], outcomes
        assert len(refused) == 1, outcomes
        error = refused[0]
        assert isinstance(error, roster.ValidationError), outcomes
        assert error.field == "expert"
        assert error.message == (
            f'expert: E-{expert_id:04d} was removed by the filter "load cap": 1 accepted '
            "or completed mission between 2024-08-04 and 2025-08-08; the cap is 1 per 365 days"
        )


def test_a_request_accepts_no_more_experts_than_it_wants(office: roster.Roster) -> None:
    # A request for one expert, both experts proposed: once one accepts,
    # the other's acceptance is refused on `expert` until the first declines.
    caseworker_id = included(office)
    officer = protection_officer()
    officer_id = int(office.nominate(nomination("VNM", officer))["expert"])
    office.screen(officer_id)
    office.invite(officer_id)
    cv = office.upload_cv(officer_id, "cv.pdf", PDF)
    office.register(officer_id, {"profile": officer, "cv_document": cv["id"]})
    office.include(officer_id)
    office.match_request(thai_request(experts_wanted=1))
    for expert_id in [caseworker_id, officer_id]:
        office.propose("THA", REQUEST, expert_id)
    thailand = office.as_actor(THAI)
    thailand.accept("THA", REQUEST, caseworker_id)
    with pytest.raises(roster.ValidationError) as caught:
        thailand.accept("THA", REQUEST, officer_id)
    assert caught.value.field == "expert"
    assert caught.value.message == (
        "expert: THA/THA-2025-07 wants 1 expert and already has it; "
        f"decline one before accepting E-{officer_id:04d}"
    )
    thailand.decline_engagement("THA", REQUEST, caseworker_id)
    assert thailand.accept("THA", REQUEST, officer_id)["state"] == "accepted"


def test_a_mission_is_completed_from_its_first_day(office: roster.Roster) -> None:
    expert_id = accepted(office)
    office.set_today("2025-06-30")
    with pytest.raises(roster.ValidationError) as caught:
        office.complete("THA", REQUEST, expert_id, {"rating": 4})
    assert caught.value.field == "state"
    assert caught.value.message == (
        f"state: the mission of E-{expert_id:04d} on THA/THA-2025-07 starts on 2025-07-01, "
        "and today is 2025-06-30; a mission is recorded as completed from its first day"
    )
    office.set_today("2025-07-01")
    assert office.complete("THA", REQUEST, expert_id)["state"] == "completed"


def at_once(calls: list[Any]) -> list[Any]:
    """Runs every call from its own thread, released together; the outcome
    of each, a result or the error it raised."""
    start = threading.Barrier(len(calls))

    def run(call: Any) -> Any:
        start.wait(timeout=10)
        try:
            return call()
        except roster.RosterError as err:
            return err

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=60) for future in futures]


def test_double_submissions_get_the_same_answer(office: roster.Roster) -> None:
    # A portal that sends a click twice, or retries after a timeout, sends
    # the same call again while the first is under way: every copy gets the
    # engagement the first one recorded, never a conflict.
    expert_id = included(office)
    office.match_request(thai_request())
    thailand = office.as_actor(THAI)
    for step, state, version in [
        (lambda: office.propose("THA", REQUEST, expert_id), "proposed", 1),
        (lambda: thailand.accept("THA", REQUEST, expert_id), "accepted", 2),
        (lambda: thailand.decline_engagement("THA", REQUEST, expert_id), "declined", 3),
        (lambda: office.propose("THA", REQUEST, expert_id), "proposed", 4),
        (lambda: thailand.accept("THA", REQUEST, expert_id), "accepted", 5),
    ]:
        outcomes = at_once([step] * 4)
        assert all(isinstance(o, dict) for o in outcomes), outcomes
        assert {(o["state"], o["version"]) for o in outcomes} == {(state, version)}
    # Completed, then its feedback added by completing again, each twice at
    # once: the same engagement for every copy, the feedback recorded once.
    office.set_today("2025-07-11")
    done = at_once([lambda: office.complete("THA", REQUEST, expert_id)] * 4)
    assert {(o["state"], o["version"]) for o in done} == {("completed", 6)}, done
    rated = at_once([lambda: office.complete("THA", REQUEST, expert_id, {"rating": 4})] * 4)
    assert all(isinstance(o, dict) for o in rated), rated
    assert {(o["version"], o["feedback"]["rating"]) for o in rated} == {(7, 4)}
