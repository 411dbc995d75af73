"""The exact batch assignment `assign` against two general-purpose solvers.

`assign` places experts on the requests of a batch, each expert on at most
one request, each request at most its wanted number of experts, maximising
the total score. This script solves the same batches with scipy's
`linear_sum_assignment` and with OR-Tools' `SimpleMinCostFlow`, checks that
all three totals are equal, and compares their times.

The batches are those of the `matching` benchmark (20,000 experts x 200
requests and 100,000 x 1,000, each request its 100 best candidates, wanting
1 to 3 experts). The bench target `assignment_batches` writes them to JSON,
with `assign`'s total, its experts per request and its best time over 20
calls in a release build. From the repository root:

    cargo bench -p roster-core --bench assignment_batches
    python3 -m venv .venv && .venv/bin/pip install scipy ortools
    .venv/bin/python roster-core/benches/compare/assign_compare.py

Neither scipy nor OR-Tools is a dependency of the roster or of its tests;
install them into a virtual environment only to run this comparison.

The two models:

- scipy: a dense score matrix with one row per slot (each request repeated
  `wanted` times) and one column per expert who is a candidate somewhere,
  plus one column per slot that only that slot may take, at score 0: taking
  it leaves the slot empty. A cell of an expert who is not a candidate of
  the slot's request is forbidden (-inf). Solved with `maximize=True`.
  Slots of one request are distinct rows, so an expert fills at most one of
  them, and every column is taken at most once, so an expert serves at most
  one request.
- OR-Tools: a network source -> request (capacity `wanted`, cost 0) ->
  expert (capacity 1, cost -score, one arc per candidate pair) -> sink
  (capacity 1, cost 0), plus a bypass arc source -> sink (capacity the total
  wanted, cost 0). The source supplies the total wanted and the sink takes
  it; flow sent through the bypass is the slots left empty. The minimum
  cost is minus the best total.

A candidate listed twice for one request counts once, at its higher score,
as in the library.

Before timing, the script checks `assign`'s recorded answer on its own: only
candidates of the request, no request over its wanted number, no expert
twice in the batch, and the scores summing to the total Rust reported. It
runs the same checks on both solvers' answers.

Times are the best of `--runs` (7 by default). Each run builds the solver's
input afresh from the loaded batch ("prep": the matrix, or the network's
arrays and arcs) and then solves ("solve"); the two are timed apart and
each reported as its best. Reading the JSON is not timed. `assign`'s time
covers the whole call, its own graph building included.

Options: `--dir` (where the JSON files are; by default
target/tmp/assignment-gap), `--runs`, and the batch labels to compare
(`20000x200`, `100000x1000`; all found by default).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ortools.graph.python import min_cost_flow
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DIR = ROOT / "target" / "tmp" / "assignment-gap"


@dataclass
class Batch:
    """One batch: keys, wanted numbers and candidate scores per request."""

    label: str
    keys: list[str]
    wanted: list[int]
    # Per request, expert id -> score; an expert listed twice counts once,
    # at the higher score, as in the library.
    scores: list[dict[int, int]]

    @property
    def pairs(self) -> int:
        return sum(len(s) for s in self.scores)


@dataclass
class Timed:
    """One solver's answer and its best times in seconds."""

    total: int
    chosen: dict[int, list[int]]
    prep: float
    solve: float


def load_batch(path: Path) -> Batch:
    data = json.loads(path.read_text())
    keys, wanted, scores = [], [], []
    for i, req in enumerate(data["requests"]):
        if req["wanted"] < 0:
            raise ValueError(f"{path}: request {i} has a negative wanted")
        per_expert: dict[int, int] = {}
        for expert, score in req["candidates"]:
            if score < 0:
                raise ValueError(f"{path}: request {i} has a negative score for {expert}")
            per_expert[expert] = max(score, per_expert.get(expert, score))
        keys.append(req["key"])
        wanted.append(req["wanted"])
        scores.append(per_expert)
    return Batch(data["instance"], keys, wanted, scores)


def check(batch: Batch, chosen: dict[int, list[int]], total: int, who: str) -> int:
    """The number of placements of `chosen` (request position -> experts),
    after checking that it is feasible in the one-mission model and sums to
    `total`; raises ValueError naming the first fault found."""
    placed: dict[int, int] = {}
    sum_scores = 0
    for r, experts in chosen.items():
        if len(experts) > batch.wanted[r]:
            raise ValueError(
                f"{who}: request {batch.keys[r]} has {len(experts)} experts "
                f"but wants {batch.wanted[r]}"
            )
        for e in experts:
            if e not in batch.scores[r]:
                raise ValueError(f"{who}: expert {e} on {batch.keys[r]} is not a candidate")
            if e in placed:
                other = batch.keys[placed[e]]
                raise ValueError(f"{who}: expert {e} is on {other} and on {batch.keys[r]}")
            placed[e] = r
            sum_scores += batch.scores[r][e]
    if sum_scores != total:
        raise ValueError(f"{who}: placements sum to {sum_scores}, but the total is {total}")
    return len(placed)


def rust_answer(batch: Batch, answer: dict) -> dict[int, list[int]]:
    """`assign`'s recorded experts, by request position."""
    position = {key: r for r, key in enumerate(batch.keys)}
    chosen: dict[int, list[int]] = {}
    for key, experts in answer["one_mission_exact_experts"].items():
        if key not in position:
            raise ValueError(f"Rust's answer places experts on unknown request {key}")
        chosen[position[key]] = experts
    return chosen


def best_of(runs: int, prep: Callable, solve: Callable) -> Timed:
    """Runs `prep` then `solve` on its output `runs` times, keeping the best
    time of each and the last answer, a (total, chosen) pair."""
    best_prep = best_solve = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        built = prep()
        middle = time.perf_counter()
        total, chosen = solve(built)
        end = time.perf_counter()
        best_prep = min(best_prep, middle - start)
        best_solve = min(best_solve, end - middle)
    return Timed(total, chosen, best_prep, best_solve)


def scipy_prep(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The dense score matrix, each row's request, and each candidate
    column's expert id."""
    experts = np.unique(np.fromiter((e for s in batch.scores for e in s), dtype=np.int64))
    slots = sum(batch.wanted)
    row_request = np.repeat(np.arange(len(batch.keys)), batch.wanted)
    matrix = np.full((slots, len(experts) + slots), -np.inf)
    first_row = 0
    for wanted, per_expert in zip(batch.wanted, batch.scores):
        if wanted and per_expert:
            ids = np.fromiter(per_expert.keys(), dtype=np.int64, count=len(per_expert))
            values = np.fromiter(per_expert.values(), dtype=np.float64, count=len(per_expert))
            matrix[first_row : first_row + wanted, np.searchsorted(experts, ids)] = values
        first_row += wanted
    # Each slot's own "leave empty" column.
    matrix[np.arange(slots), len(experts) + np.arange(slots)] = 0.0
    return matrix, row_request, experts


def scipy_solve(built: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[int, dict]:
    matrix, row_request, experts = built
    rows, cols = linear_sum_assignment(matrix, maximize=True)
    chosen: dict[int, list[int]] = defaultdict(list)
    total = 0
    for row, col in zip(rows.tolist(), cols.tolist()):
        if col < len(experts):
            chosen[int(row_request[row])].append(int(experts[col]))
            total += int(matrix[row, col])
    return total, dict(chosen)


def ortools_prep(batch: Batch) -> tuple[min_cost_flow.SimpleMinCostFlow, np.ndarray, np.ndarray]:
    """The network with its supplies set, and each pair arc's request and
    expert id (the pair arcs are numbered first, from 0)."""
    pair_request = np.fromiter(
        (r for r, s in enumerate(batch.scores) for _ in s), dtype=np.int64, count=batch.pairs
    )
    pair_expert = np.fromiter((e for s in batch.scores for e in s), dtype=np.int64)
    pair_score = np.fromiter((v for s in batch.scores for v in s.values()), dtype=np.int64)
    experts, expert_index = np.unique(pair_expert, return_inverse=True)
    n_requests, n_experts = len(batch.keys), len(experts)
    # Nodes: requests 0.., experts n_requests.., then source and sink.
    source, sink = n_requests + n_experts, n_requests + n_experts + 1
    supply = sum(batch.wanted)
    tails = np.concatenate(
        [
            pair_request,
            np.full(n_requests, source),
            n_requests + np.arange(n_experts),
            [source],
        ]
    )
    heads = np.concatenate(
        [
            n_requests + expert_index,
            np.arange(n_requests),
            np.full(n_experts, sink),
            [sink],
        ]
    )
    capacities = np.concatenate(
        [
            np.ones(len(pair_request), dtype=np.int64),
            np.asarray(batch.wanted, dtype=np.int64),
            np.ones(n_experts, dtype=np.int64),
            [supply],
        ]
    )
    costs = np.concatenate([-pair_score, np.zeros(n_requests + n_experts + 1, dtype=np.int64)])
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, costs)
    supplies = np.zeros(n_requests + n_experts + 2, dtype=np.int64)
    supplies[source], supplies[sink] = supply, -supply
    flow.set_nodes_supplies(np.arange(len(supplies)), supplies)
    return flow, pair_request, pair_expert


def ortools_solve(
    built: tuple[min_cost_flow.SimpleMinCostFlow, np.ndarray, np.ndarray],
) -> tuple[int, dict]:
    flow, pair_request, pair_expert = built
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"SimpleMinCostFlow stopped with status {status}")
    used = np.flatnonzero(flow.flows(np.arange(len(pair_request))))
    chosen: dict[int, list[int]] = defaultdict(list)
    for arc in used.tolist():
        chosen[int(pair_request[arc])].append(int(pair_expert[arc]))
    return -flow.optimal_cost(), dict(chosen)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("labels", nargs="*", help="batches to compare, e.g. 20000x200")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--runs", type=int, default=7, help="runs per solver; the best counts")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    labels = args.labels or sorted(
        (p.name.removesuffix(".instance.json") for p in args.dir.glob("*.instance.json")),
        key=lambda label: int(label.split("x")[0]),
    )
    if not labels:
        print(f"no *.instance.json in {args.dir}: run the bench target first", file=sys.stderr)
        return 2

    rows = []
    for label in labels:
        batch = load_batch(args.dir / f"{label}.instance.json")
        answer = json.loads((args.dir / f"{label}.heuristic.json").read_text())
        if "one_mission_exact_experts" not in answer:
            print(f"{label}: no `assign` answer recorded; re-run the bench", file=sys.stderr)
            return 2
        rust_total = answer["one_mission_exact_total"]
        rust_seconds = answer["one_mission_exact_best_seconds"]
        placed = check(batch, rust_answer(batch, answer), rust_total, "Rust `assign`")
        if placed != answer["one_mission_exact_placements"]:
            raise ValueError(
                f"{label}: Rust's answer lists {placed} placements but reports "
                f"{answer['one_mission_exact_placements']}"
            )

        results = {
            "scipy": best_of(args.runs, lambda b=batch: scipy_prep(b), scipy_solve),
            "OR-Tools": best_of(args.runs, lambda b=batch: ortools_prep(b), ortools_solve),
        }
        for name, timed in results.items():
            check(batch, timed.chosen, timed.total, name)
            if timed.total != rust_total:
                raise ValueError(f"{label}: {name} finds {timed.total}, Rust `assign` {rust_total}")
        sp, ot = results["scipy"], results["OR-Tools"]
        rows.append(
            [
                label,
                f"{len(batch.keys):,} / {sum(batch.wanted):,} / {batch.pairs:,}",
                f"{rust_total:,}",
                ms(rust_seconds),
                f"{ms(sp.prep)} + {ms(sp.solve)}",
                f"{ms(ot.prep)} + {ms(ot.solve)}",
                f"{sp.solve / rust_seconds:.1f}x ({(sp.prep + sp.solve) / rust_seconds:.1f}x)",
                f"{ot.solve / rust_seconds:.1f}x ({(ot.prep + ot.solve) / rust_seconds:.1f}x)",
            ]
        )
        print(
            f"{label}: Rust `assign` {rust_total} ({placed} placements) checked feasible; "
            f"scipy and OR-Tools agree (best of {args.runs})",
            file=sys.stderr,
        )

    head = [
        "batch",
        "requests / slots / pairs",
        "total (all three)",
        "Rust `assign`",
        "scipy prep + solve",
        "OR-Tools prep + solve",
        "scipy / Rust: solve (with prep)",
        "OR-Tools / Rust: solve (with prep)",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
