"""The gap of the non-overlapping assignment heuristic to the exact optimum.

`assign_non_overlapping` lets an expert take several missions of a batch as
long as their days do not overlap. That problem is NP-hard in general, so
the library solves it by local search, started from a greedy pass and from
the exact one-mission answer. This script
solves the same batches exactly, as a mixed-integer program, and reports how
far the heuristic's total is from the optimum.

The batches are those of the `matching` benchmark (20,000 experts x 200
requests and 100,000 x 1,000, each request its 100 best candidates, wanting
1 to 3 experts). The bench target `assignment_batches` writes them to JSON
with the heuristic's answer; this script reads both. From the repository
root:

    cargo bench -p roster-core --bench assignment_batches
    python3 -m venv .venv && .venv/bin/pip install ortools
    .venv/bin/python roster-core/benches/compare/milp_gap.py

OR-Tools is not a dependency of the roster or of its tests; install it into
a virtual environment only to run this comparison.

The model, per batch:

    maximise    sum of score[r, e] * x[r, e]        x[r, e] in {0, 1}, one
                                                     per candidate pair
    subject to  sum over e of x[r, e] <= wanted[r]   for every request r
                sum over r in C of x[r, e] <= 1      for every expert e and
                                                     every maximal set C of
                                                     e's candidate requests
                                                     that share a day

Mission windows are intervals of days, so for one expert the requests that
overlap pairwise all share a day (intervals have the Helly property), and
the maximal such sets are found at the windows' first days. These clique
constraints are the exact "no two overlapping missions" rule and a much
tighter relaxation than one constraint per overlapping pair.

Before solving, the script checks the heuristic's answer on its own: only
candidate pairs, each at the candidate's score, no request over its wanted
number, no expert on two overlapping missions, and the total the Rust side
reported.

Options: `--dir` (where the JSON files are; by default
target/tmp/assignment-gap), `--backend` (cp-sat, the default: as fast as
CBC on these batches and it uses every worker; scip or cbc),
`--time-limit` in seconds, `--threads`, and the batch labels to solve
(`20000x200`, `100000x1000`; all found by default).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DIR = ROOT / "target" / "tmp" / "assignment-gap"


@dataclass
class Batch:
    """One batch: windows, wanted numbers and candidate scores per request."""

    label: str
    keys: list[str]
    first: list[int]
    last: list[int]
    wanted: list[int]
    # Per request, expert id -> score; an expert listed twice counts once,
    # at the higher score, as in the library.
    scores: list[dict[int, int]]
    duplicates: int

    @property
    def pairs(self) -> int:
        return sum(len(s) for s in self.scores)


@dataclass
class Solved:
    """The exact solver's answer for one batch."""

    optimum: int
    bound: float
    proven: bool
    seconds: float
    cliques: int
    chosen: list[tuple[int, int]]


def load_batch(path: Path) -> Batch:
    data = json.loads(path.read_text())
    keys, first, last, wanted, scores = [], [], [], [], []
    duplicates = 0
    for i, req in enumerate(data["requests"]):
        if req["first"] > req["last"]:
            raise ValueError(f"{path}: request {i} ends before it starts")
        per_expert: dict[int, int] = {}
        for expert, score in req["candidates"]:
            if expert in per_expert:
                duplicates += 1
            per_expert[expert] = max(score, per_expert.get(expert, score))
        keys.append(req["key"])
        first.append(req["first"])
        last.append(req["last"])
        wanted.append(req["wanted"])
        scores.append(per_expert)
    return Batch(data["instance"], keys, first, last, wanted, scores, duplicates)


def check_heuristic(batch: Batch, answer: dict) -> int:
    """The total of the heuristic's placements, after checking that they are
    feasible; raises ValueError naming the first fault found."""
    total = 0
    per_request: dict[int, int] = defaultdict(int)
    per_expert: dict[int, list[int]] = defaultdict(list)
    seen: set[tuple[int, int]] = set()
    for p in answer["placements"]:
        r, e, s = p["request"], p["expert"], p["score"]
        if not 0 <= r < len(batch.keys):
            raise ValueError(f"placement on request {r}, which the batch does not have")
        if e not in batch.scores[r]:
            raise ValueError(f"expert {e} placed on request {r} without being a candidate")
        if s != batch.scores[r][e]:
            raise ValueError(
                f"expert {e} on request {r} scored {s}, but the candidate's score is "
                f"{batch.scores[r][e]}"
            )
        if (r, e) in seen:
            raise ValueError(f"expert {e} placed twice on request {r}")
        seen.add((r, e))
        per_request[r] += 1
        per_expert[e].append(r)
        total += s
    for r, n in per_request.items():
        if n > batch.wanted[r]:
            raise ValueError(f"request {r} has {n} experts but wants {batch.wanted[r]}")
    for e, rs in per_expert.items():
        # Sorted by first day, two windows overlap only if some neighbours do.
        rs.sort(key=lambda r: batch.first[r])
        for a, b in zip(rs, rs[1:]):
            if batch.first[b] <= batch.last[a]:
                raise ValueError(f"expert {e} has overlapping missions {a} and {b}")
    if total != answer["total"]:
        raise ValueError(f"placements sum to {total}, but the reported total is {answer['total']}")
    return total


def cliques(batch: Batch) -> list[list[tuple[int, int]]]:
    """The maximal sets of one expert's candidate requests that share a day,
    as (request, expert) pairs; sets of one request constrain nothing."""
    by_expert: dict[int, list[int]] = defaultdict(list)
    for r, per_expert in enumerate(batch.scores):
        for e in per_expert:
            by_expert[e].append(r)
    out = []
    for e, rs in by_expert.items():
        if len(rs) < 2:
            continue
        starts = sorted({batch.first[r] for r in rs})
        for k, day in enumerate(starts):
            members = [r for r in rs if batch.first[r] <= day <= batch.last[r]]
            # The set at this start is inside the next start's set when none
            # of its windows ends before that next start.
            following = starts[k + 1] if k + 1 < len(starts) else None
            if following is not None and min(batch.last[r] for r in members) >= following:
                continue
            if len(members) > 1:
                out.append([(r, e) for r in members])
    return out


def solve_cp_sat(batch: Batch, time_limit: float, threads: int) -> Solved:
    model = cp_model.CpModel()
    x = {
        (r, e): model.new_bool_var(f"x_{r}_{e}")
        for r, per_expert in enumerate(batch.scores)
        for e in per_expert
    }
    for r, per_expert in enumerate(batch.scores):
        if len(per_expert) > batch.wanted[r]:
            model.add(sum(x[r, e] for e in per_expert) <= batch.wanted[r])
    sets = cliques(batch)
    for members in sets:
        model.add_at_most_one(x[p] for p in members)
    model.maximize(sum(s * x[r, e] for r, pe in enumerate(batch.scores) for e, s in pe.items()))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = threads
    start = time.perf_counter()
    status = solver.solve(model)
    seconds = time.perf_counter() - start
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(
            f"{batch.label}: CP-SAT found no solution ({solver.status_name(status)})"
        )
    chosen = [p for p, v in x.items() if solver.boolean_value(v)]
    return Solved(
        optimum=round(solver.objective_value),
        bound=solver.best_objective_bound,
        proven=status == cp_model.OPTIMAL,
        seconds=seconds,
        cliques=len(sets),
        chosen=chosen,
    )


def solve_mip(batch: Batch, backend: str, time_limit: float, threads: int) -> Solved:
    solver = pywraplp.Solver.CreateSolver(backend.upper())
    if solver is None:
        raise RuntimeError(f"this OR-Tools build has no {backend.upper()} solver")
    x = {
        (r, e): solver.BoolVar(f"x_{r}_{e}")
        for r, per_expert in enumerate(batch.scores)
        for e in per_expert
    }
    for r, per_expert in enumerate(batch.scores):
        if len(per_expert) > batch.wanted[r]:
            solver.Add(sum(x[r, e] for e in per_expert) <= batch.wanted[r])
    sets = cliques(batch)
    for members in sets:
        solver.Add(sum(x[p] for p in members) <= 1)
    objective = solver.Objective()
    for r, per_expert in enumerate(batch.scores):
        for e, s in per_expert.items():
            objective.SetCoefficient(x[r, e], s)
    objective.SetMaximization()
    solver.SetTimeLimit(int(time_limit * 1000))
    if backend != "cbc":
        # OR-Tools' CBC is built without threads and rejects the setting.
        solver.SetNumThreads(threads)
    start = time.perf_counter()
    status = solver.Solve()
    seconds = time.perf_counter() - start
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        raise RuntimeError(f"{batch.label}: {backend} found no solution (status {status})")
    chosen = [p for p, v in x.items() if v.solution_value() > 0.5]
    return Solved(
        optimum=round(objective.Value()),
        bound=objective.BestBound(),
        proven=status == pywraplp.Solver.OPTIMAL,
        seconds=seconds,
        cliques=len(sets),
        chosen=chosen,
    )


def check_optimum(batch: Batch, solved: Solved) -> None:
    """The solver's own answer must pass the same checks as the heuristic's."""
    placements = [
        {"request": r, "expert": e, "score": batch.scores[r][e]} for r, e in solved.chosen
    ]
    total = check_heuristic(batch, {"placements": placements, "total": solved.optimum})
    if total != solved.optimum:
        raise ValueError(f"{batch.label}: the solver's placements sum to {total}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("labels", nargs="*", help="batches to solve, e.g. 20000x200")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--backend", choices=["cp-sat", "scip", "cbc"], default="cp-sat")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds per batch")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

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
        heuristic = check_heuristic(batch, answer)
        start = time.perf_counter()
        if args.backend == "cp-sat":
            solved = solve_cp_sat(batch, args.time_limit, args.threads)
        else:
            solved = solve_mip(batch, args.backend, args.time_limit, args.threads)
        with_model = time.perf_counter() - start
        check_optimum(batch, solved)
        one_mission = answer["one_mission_exact_total"]
        if one_mission > solved.optimum and solved.proven:
            raise ValueError(f"{label}: the one-mission optimum beats the non-overlapping one")
        gap = solved.optimum - heuristic
        rows.append(
            [
                label,
                f"{len(batch.keys):,} / {batch.pairs:,} / {solved.cliques:,}",
                f"{heuristic:,}",
                f"{answer['best_seconds'] * 1e3:.2f} ms",
                f"{solved.optimum:,}",
                "yes" if solved.proven else f"no (bound {solved.bound:,.0f})",
                f"{gap:,}",
                f"{100 * gap / solved.optimum:.3f} %",
                f"{solved.seconds:.2f} s / {with_model:.2f} s",
                f"{one_mission:,}",
            ]
        )
        print(
            f"{label}: heuristic {heuristic} checked feasible ({len(answer['placements'])} "
            f"placements, {batch.duplicates} duplicate candidates merged); {args.backend} "
            f"optimum {solved.optimum} ({'proven' if solved.proven else 'not proven'}, bound "
            f"{solved.bound:.1f}, {len(solved.chosen)} placements) in {solved.seconds:.2f} s",
            file=sys.stderr,
        )

    head = [
        "batch",
        "requests / pairs / cliques",
        "heuristic total",
        "heuristic time",
        f"optimum ({args.backend})",
        "proven optimal",
        "gap",
        "relative gap",
        "solve / with model building",
        "one mission each (`assign`)",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
