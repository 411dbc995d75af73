"""Batch assignment: several requests at once, with the best total score."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import roster

from samples import PDF, caseworker, nomination, protection_officer, thai_request

JULY = {"first": "2025-07-01", "last": "2025-07-10"}
AUGUST = {"first": "2025-08-04", "last": "2025-08-08"}


def request(
    key: str, window: dict[str, str], wanted: int, candidates: dict[int, int]
) -> dict[str, Any]:
    return {
        "key": key,
        "window": window,
        "wanted": wanted,
        "candidates": [{"expert": e, "score": s} for e, s in candidates.items()],
    }


def placement(key: str, expert: int, score: int) -> dict[str, Any]:
    return {"request": key, "expert": expert, "score": score}


def test_the_exact_solver_gives_up_a_best_score_for_the_best_total() -> None:
    # Expert 1 is best for both requests; giving A to expert 2 and B to
    # expert 1 totals 185, more than the 100 of serving A first.
    batch = [
        request("THA/A", JULY, 1, {1: 100, 2: 90}),
        request("IDN/B", JULY, 1, {1: 95}),
    ]
    assert roster.assign(batch) == {
        "placements": [placement("THA/A", 2, 90), placement("IDN/B", 1, 95)],
        "total": 185,
        "optimal": True,
        "unfilled": [],
    }


def test_without_overlap_an_expert_may_serve_twice() -> None:
    batch = [
        request("THA/A", JULY, 1, {1: 100, 2: 90}),
        request("IDN/B", AUGUST, 1, {1: 95}),
    ]
    # Each expert once in the batch, whatever the days ...
    assert roster.assign(batch)["total"] == 185
    # ... or on every mission whose days do not overlap; 195 is the bound
    # of each request taking its best candidate, so it is proven optimal.
    assert roster.assign_non_overlapping(batch) == {
        "placements": [placement("THA/A", 1, 100), placement("IDN/B", 1, 95)],
        "total": 195,
        "optimal": True,
        "unfilled": [],
    }


def test_the_heuristic_says_when_it_is_not_proven_optimal() -> None:
    batch = [
        request("THA/A", JULY, 1, {1: 100, 2: 90}),
        request("IDN/B", JULY, 1, {1: 95}),
        request("PHL/C", AUGUST, 1, {1: 10}),
    ]
    result = roster.assign_non_overlapping(batch)
    # Expert 1 is wanted in July and in August, so could take two missions:
    # the one-mission optimum proves nothing. The best plan moves A to
    # expert 2 so that 1 takes B in July and C in August (195); it is below
    # the bound of 205 (each request taking its best candidate), so nothing
    # proves it optimal, and the result says so.
    assert result == {
        "placements": [
            placement("THA/A", 2, 90),
            placement("IDN/B", 1, 95),
            placement("PHL/C", 1, 10),
        ],
        "total": 195,
        "optimal": False,
        "unfilled": [],
    }
    assert roster.assign(batch)["total"] == 185


def test_the_heuristic_proves_the_optimum_when_nobody_can_take_two() -> None:
    batch = [
        request("THA/A", JULY, 1, {1: 100, 2: 90}),
        request("IDN/B", JULY, 1, {1: 95}),
    ]
    result = roster.assign_non_overlapping(batch)
    # Both missions share their days, so nobody can take two: the exact
    # one-mission answer (185) is the optimum, although it is below the
    # bound of 195, and the result says so.
    assert result == {
        "placements": [placement("THA/A", 2, 90), placement("IDN/B", 1, 95)],
        "total": 185,
        "optimal": True,
        "unfilled": [],
    }
    assert result == roster.assign(batch)


@pytest.mark.parametrize(
    "solver",
    [roster.assign, roster.assign_non_overlapping],
    ids=["assign", "assign_non_overlapping"],
)
def test_unfilled_slots_give_one_entry_per_reason(solver: Any) -> None:
    batch = [
        request("THA/A", JULY, 3, {1: 50, 2: 40}),
        request("IDN/B", JULY, 1, {2: 60}),
        request("PHL/C", JULY, 2, {}),
    ]
    assert solver(batch) == {
        "placements": [placement("THA/A", 1, 50), placement("IDN/B", 2, 60)],
        "total": 110,
        # All in July, so nobody can take two: proven for both.
        "optimal": True,
        "unfilled": [
            {"request": "THA/A", "slots": 1, "reason": "too_few_candidates"},
            {"request": "THA/A", "slots": 1, "reason": "candidates_placed_elsewhere"},
            {"request": "PHL/C", "slots": 2, "reason": "no_candidates"},
        ],
    }


@pytest.mark.parametrize("solver", [roster.assign, roster.assign_non_overlapping])
def test_edge_batches(solver: Any) -> None:
    empty = {"placements": [], "total": 0, "optimal": True, "unfilled": []}
    assert solver([]) == empty
    # A request may want nobody (its slots are already filled, say).
    assert solver([request("THA/A", JULY, 0, {1: 10})]) == empty
    # A candidate listed twice counts once, at the higher score; a tuple
    # is as good as a list.
    twice = (request("THA/A", JULY, 2, {1: 10}),)
    twice[0]["candidates"].append({"expert": 1, "score": 30})
    assert solver(twice) == {
        "placements": [placement("THA/A", 1, 30)],
        "total": 30,
        "optimal": True,
        "unfilled": [{"request": "THA/A", "slots": 1, "reason": "too_few_candidates"}],
    }


def test_shortlists_make_a_batch(office: roster.Roster) -> None:
    ids = []
    for nominator, profile in [("PHL", caseworker()), ("VNM", protection_officer())]:
        expert_id = int(office.nominate(nomination(nominator, profile))["expert"])
        office.screen(expert_id)
        office.invite(expert_id)
        cv = office.upload_cv(expert_id, "cv.pdf", PDF)
        office.register(expert_id, {"profile": profile, "cv_document": cv["id"]})
        office.include(expert_id)
        ids.append(expert_id)
    requests = [
        thai_request(experts_wanted=1),
        thai_request(id="IDN-2025-07", requester="IDN", place="IDN", experts_wanted=1),
    ]
    batch = []
    for req in requests:
        shortlist = office.preview(req)
        batch.append(
            {
                "key": f"{req['requester']}/{req['id']}",
                "window": req["window"],
                "wanted": shortlist["wanted"],
                "candidates": [
                    {"expert": r["expert"], "score": r["total"]} for r in shortlist["ranked"]
                ],
            }
        )
    scores = {(b["key"], c["expert"]): c["score"] for b in batch for c in b["candidates"]}
    assert len(scores) == 4
    # The two experts, one to each request, in whichever order scores more.
    best = max(
        itertools.permutations(ids),
        key=lambda order: sum(scores[(b["key"], e)] for b, e in zip(batch, order)),
    )
    result = roster.assign(batch)
    assert result["placements"] == [
        placement(b["key"], e, scores[(b["key"], e)]) for b, e in zip(batch, best)
    ]
    assert result["total"] == sum(p["score"] for p in result["placements"])
    assert result["optimal"] is True
    assert result["unfilled"] == []


GOOD = request("THA/A", JULY, 1, {1: 10})


@pytest.mark.parametrize(
    ("batch", "fields", "fragment"),
    [
        ("THA/A", ["batch"], "is a string"),
        (GOOD, ["batch"], "Sequence"),
        ([[1, 10]], ["batch[0]"], "Mapping"),
        ([{**GOOD, "window": None}], ["batch[0].window"], ""),
        ([{k: v for k, v in GOOD.items() if k != "window"}], ["batch[0]"], "missing field"),
        ([{**GOOD, "budget": 1}], ["batch[0].budget"], "unknown field `budget`"),
        ([{**GOOD, "wanted": 70000}], ["batch[0].wanted"], "is 70000; the maximum is 65535"),
        ([{**GOOD, "wanted": -1}], ["batch[0].wanted"], "is -1; must be zero or more"),
        ([{**GOOD, "candidates": [[1, 10]]}], ["batch[0].candidates[0]"], "Mapping"),
        (
            [{**GOOD, "candidates": [{"expert": 1, "score": -5}]}],
            ["batch[0].candidates[0].score"],
            "is -5; must be zero or more",
        ),
        (
            [{**GOOD, "candidates": [{"expert": 1, "score": 2**32}]}],
            ["batch[0].candidates[0].score"],
            "is 4294967296; the maximum is 4294967295",
        ),
        (
            [{**GOOD, "candidates": [{"expert": 2**63, "score": 1}]}],
            ["batch[0].candidates[0].expert"],
            "is 9223372036854775808; the maximum is 9223372036854775807",
        ),
        (
            [{**GOOD, "candidates": [{"expert": "E-0001", "score": 1}]}],
            ["batch[0].candidates[0].expert"],
            "",
        ),
        (
            [{**GOOD, "candidates": [{"expert": 1, "total": 1}]}],
            ["batch[0].candidates[0].total"],
            "unknown field `total`",
        ),
        (
            [{**GOOD, "window": {"first": "2025-07-01", "last": "10 July"}}],
            ["batch[0].window.last"],
            "",
        ),
        (
            [GOOD, {**GOOD, "window": {"first": "2025-07-10", "last": "2025-07-01"}}],
            ["batch[1].key", "batch[1].window"],
            "`THA/A` is also the key of batch[0]",
        ),
        ([{**GOOD, "key": "  "}], ["batch[0].key"], "is empty"),
    ],
    ids=[
        "string",
        "dict",
        "request-as-list",
        "window-none",
        "missing-window",
        "unknown-key",
        "wanted-too-large",
        "wanted-negative",
        "candidate-as-pair",
        "negative-score",
        "score-too-large",
        "expert-beyond-64-bits",
        "expert-as-text",
        "unknown-candidate-key",
        "bad-day",
        "repeated-key-and-backward-window",
        "blank-key",
    ],
)
@pytest.mark.parametrize("solver", [roster.assign, roster.assign_non_overlapping])
def test_a_bad_batch_names_the_field(
    solver: Any, batch: Any, fields: list[str], fragment: str
) -> None:
    with pytest.raises(roster.ValidationError) as caught:
        solver(batch)
    assert [field for field, _ in caught.value.errors] == fields
    assert fragment in str(caught.value)


@pytest.mark.parametrize("solver", [roster.assign, roster.assign_non_overlapping])
def test_a_candidate_id_below_one_is_named(solver: Any) -> None:
    batch = [request("THA/A", JULY, 1, {3: 10, 0: 5, -2: 1})]
    with pytest.raises(roster.ValidationError) as caught:
        solver(batch)
    assert caught.value.errors == [
        ("batch[0].candidates[1].expert", "is 0; expert ids start at 1"),
        ("batch[0].candidates[2].expert", "is -2; expert ids start at 1"),
    ]
