"""Side-by-side timings for the figures in docs/performance.md.

The same shape of work as the Rust benchmarks, in other tools:

* the score formula (thematic bit tests, competencies, a language filter,
  the term filter, top 20) over 1,000 / 100,000 / 1,000,000 experts in
  numpy, polars and SQLite;
* the exact batch assignment (200 requests x 3 slots, 100 candidates each,
  over 20,000 experts) with scipy's linear_sum_assignment and OR-Tools'
  min-cost flow.

The data is generated here with a fixed seed in the same proportions as the
Rust generator, not the very same rows. Run from a virtual environment:

    python3 -m venv .venv && .venv/bin/pip install numpy polars scipy ortools
    .venv/bin/python roster-core/benches/compare/compare.py

None of these packages is a dependency of the roster or of its tests.
"""

import sqlite3
import time

import numpy as np
import polars as pl
from ortools.graph.python import min_cost_flow
from scipy.optimize import linear_sum_assignment

RNG = np.random.default_rng(20260601)


def best_of(fn, repeat=7):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def roster(n):
    return {
        "included": RNG.random(n) < 0.9,
        "term_first": RNG.integers(0, 330, n),
        "themes_lo": RNG.integers(0, 2**62, n, dtype=np.int64),
        "competencies": RNG.integers(0, 2**18, n, dtype=np.int64),
        "english": RNG.integers(3, 8, n),
    }


def score_numpy(r, want_bit, comp_bit, first, last):
    ok = r["included"] & (r["term_first"] <= first) & (r["term_first"] + 364 >= last)
    ok &= r["english"] >= 4
    thematic = np.where((r["themes_lo"] & want_bit) != 0, 1000, 0)
    comps = np.where((r["competencies"] & comp_bit) != 0, 1000, 0)
    total = np.where(ok, thematic * 35 + comps * 20, -1)
    top = np.argpartition(-total, 20)[:20]
    return top[np.argsort(-total[top], kind="stable")]


def main():
    want_bit, comp_bit, first, last = 1 << 5, 1 << 3, 300, 309
    for n in (1_000, 100_000, 1_000_000):
        r = roster(n)
        t_np = best_of(lambda: score_numpy(r, want_bit, comp_bit, first, last))
        df = pl.DataFrame(r)
        query = (
            df.lazy()
            .filter(
                pl.col("included")
                & (pl.col("term_first") <= first)
                & (pl.col("term_first") + 364 >= last)
                & (pl.col("english") >= 4)
            )
            .with_columns(
                (
                    pl.when((pl.col("themes_lo") & want_bit) != 0).then(1000).otherwise(0) * 35
                    + pl.when((pl.col("competencies") & comp_bit) != 0).then(1000).otherwise(0)
                    * 20
                ).alias("total")
            )
            .top_k(20, by="total")
        )
        t_pl = best_of(lambda: query.collect())
        db = sqlite3.connect(":memory:")
        db.execute(
            "CREATE TABLE e (id INTEGER PRIMARY KEY, included, term_first, themes_lo,"
            " competencies, english)"
        )
        db.executemany(
            "INSERT INTO e VALUES (?, ?, ?, ?, ?, ?)",
            zip(
                range(n),
                r["included"].tolist(),
                r["term_first"].tolist(),
                r["themes_lo"].tolist(),
                r["competencies"].tolist(),
                r["english"].tolist(),
            ),
        )
        sql = (
            "SELECT id, (CASE WHEN themes_lo & ? != 0 THEN 1000 ELSE 0 END) * 35"
            " + (CASE WHEN competencies & ? != 0 THEN 1000 ELSE 0 END) * 20 AS total"
            " FROM e WHERE included AND term_first <= ? AND term_first + 364 >= ?"
            " AND english >= 4 ORDER BY total DESC, id LIMIT 20"
        )
        t_sql = best_of(
            lambda: db.execute(sql, (want_bit, comp_bit, first, last)).fetchall(), 3
        )
        print(
            f"rank top 20 over {n:>9,}: numpy {t_np * 1e3:8.3f} ms"
            f"  polars {t_pl * 1e3:8.3f} ms  sqlite {t_sql * 1e3:8.3f} ms"
        )

    experts, requests, slots, cands = 20_000, 200, 3, 100
    candidates = [RNG.choice(experts, cands, replace=False) for _ in range(requests)]
    scores = [RNG.integers(0, 100_000, cands) for _ in range(requests)]
    used = np.unique(np.concatenate(candidates))
    col = {e: i for i, e in enumerate(used)}
    # Dense: one row per slot, one column per candidate expert, plus the
    # option to leave a slot empty.
    cost = np.zeros((requests * slots, len(used) + requests * slots))
    for r in range(requests):
        for s in range(slots):
            row = r * slots + s
            for e, v in zip(candidates[r], scores[r]):
                cost[row, col[e]] = -v

    t_lsa = best_of(lambda: linear_sum_assignment(cost), 3)

    def flow():
        f = min_cost_flow.SimpleMinCostFlow()
        source, sink = 0, 1
        base_r, base_e = 2, 2 + requests
        for r in range(requests):
            f.add_arc_with_capacity_and_unit_cost(source, base_r + r, slots, 0)
            f.add_arc_with_capacity_and_unit_cost(base_r + r, sink, slots, 0)
            for e, v in zip(candidates[r], scores[r]):
                f.add_arc_with_capacity_and_unit_cost(base_r + r, base_e + int(e), 1, -int(v))
        for e in range(experts):
            f.add_arc_with_capacity_and_unit_cost(base_e + e, sink, 1, 0)
        f.set_node_supply(source, requests * slots)
        f.set_node_supply(sink, -requests * slots)
        f.solve()

    t_mcf = best_of(flow, 3)
    print(
        f"assign {experts:,} x {requests}: scipy linear_sum_assignment {t_lsa * 1e3:.1f} ms"
        f"  OR-Tools min-cost flow {t_mcf * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
