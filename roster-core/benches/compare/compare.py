"""Ranking a request in the tools users would otherwise use, side by side
with the roster's matching index, on the same data and the same formula.

What it does, for 1,000, 100,000 and 1,000,000 experts:

1. Builds and runs the `compare_export` bench target, which generates the
   roster of the `matching` benchmark (same generator, same seeds) and
   writes it as flat integer tables (CSV) with the 16 benchmark requests and
   the index's own top 20 for each (`requests.json`); up to 100,000 experts
   also the index's full ranking of every request (`ranking.csv`).
2. Loads the tables into numpy arrays, polars frames, an in-memory SQLite
   database and a PostgreSQL schema (with indexes, then ANALYZE).
3. Ranks every request in every engine with the full formula and filters of
   `roster_core::matching` under the default policy, and stops with an
   error unless every engine's top 20 (ids and totals, in order) is the
   index's, and so is its full ranking where `ranking.csv` exists.
4. Times them interleaved: each round runs the 16 requests once in every
   engine, one after the other. The index runs in the `compare_export time`
   subprocess and reports its own timing (process start and pipes
   excluded); the others are timed here around one call (or one SQL query
   with its fetch) per request.
5. Prints the median time per request and the median over requests of
   (engine time / index time), and writes them as markdown with `--out`.

Everything runs single-threaded: POLARS_MAX_THREADS=1, numpy's element-wise
operations use one thread, SQLite runs in this process, and PostgreSQL runs
with max_parallel_workers_per_gather = 0.

The formula, as each engine computes it from the tables:

* filters: included; the term covers the window; available and authorised;
  no declared unavailability overlapping the window; no accepted or
  completed engagement on another request overlapping the window; every
  required language at its level (the export lists, per need, the language
  ids that `language::satisfies` accepts); not excluded; not employed by a
  government body of the requesting state;
* parts, in thousandths, times the default weights: thematic depth (per
  requested field 1000 exact / 700 a sub-field / 300 the broader area,
  averaged), days in related fields (periods merged, open ones ending
  today, capped at 15 * 365 days), share of requested competencies, share of
  desired languages at their level, place (requesting state 1000 / its
  region 500), rotation (1000 less 500 per mission in the year before);
* order: total descending, then fewer recent missions, then lower id.

Two parts of `MatchPolicy` are not implemented here because the default
policy leaves them out: the optional load cap (a hard filter) and custom
score parts. The expert-level thematic and competency sets in
`experts.csv` are the unions over the expert's periods, derived when the
roster is written, as the index derives them when it is built.

Run from the workspace root, with a PostgreSQL server that trusts local
connections (none of these packages is a dependency of the roster):

    python3 -m venv .venv
    .venv/bin/pip install numpy polars 'psycopg[binary]'
    .venv/bin/python roster-core/benches/compare/compare.py --out results.md

`--sizes 1000` runs one size, `--engines numpy,sqlite` leaves engines out,
`--check-only` stops after the check; `--help` lists the rest.
"""

import argparse
import datetime
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# Before polars is imported, or its thread pool is already sized.
os.environ["POLARS_MAX_THREADS"] = "1"

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[3]
TOP = 20
ENGINES = ("numpy", "polars", "sqlite", "postgres")
# Rounds per size: (all engines, SQLite and PostgreSQL). A round of the SQL
# engines over a million experts takes minutes.
ROUNDS = {1_000: (21, 21), 100_000: (11, 5), 1_000_000: (5, 3)}
TABLES = ("experts", "periods", "languages", "countries", "absences", "bookings", "places")


# ---------------------------------------------------------------------------
# The data set


@dataclass(frozen=True)
class Need:
    """A requested thematic field: bitmasks (lo, hi) of the expert fields
    that match it exactly, through a sub-field, or through the broader area."""

    exact: tuple[int, int]
    deeper: tuple[int, int]
    broader: tuple[int, int]


@dataclass(frozen=True)
class Request:
    id: str
    key: int | None  # the request's id among booking requests, if any
    requester: int
    region: int | None
    first: int
    last: int
    themes: list[Need]
    competencies: list[int]  # one bit each
    required: list[tuple[list[int], int]]  # (language ids, level)
    desired: list[tuple[list[int], int]]
    excluded: list[int]
    expected: list[tuple[int, int]]  # the index's top 20: (id, total)
    # Everyone who passes the filters, ranked by the index, for small sizes.
    ranking: list[tuple[int, int]] | None

    @property
    def since(self) -> int:
        """First day of the year before the mission, for rotation."""
        return self.first - 365

    @property
    def related(self) -> tuple[int, int]:
        """Fields whose periods count as years in the requested fields."""
        lo = hi = 0
        for n in self.themes:
            for m in (n.exact, n.deeper, n.broader):
                lo, hi = lo | m[0], hi | m[1]
        return lo, hi


@dataclass(frozen=True)
class Data:
    dir: Path
    experts: int
    today: int
    cap: int
    weights: dict[str, int]
    requests: list[Request]
    tables: dict[str, pl.DataFrame]


def load(dir: Path) -> Data:
    meta = json.loads((dir / "requests.json").read_text())
    rankings = None
    if (dir / "ranking.csv").exists():
        df = pl.read_csv(dir / "ranking.csv")
        rankings = [
            list(zip(g["expert"].to_list(), g["total"].to_list(), strict=True))
            for _, g in df.group_by("request", maintain_order=True)
        ]
    requests = [
        Request(
            id=r["id"],
            key=r["key"],
            requester=r["requester"],
            region=r["region"],
            first=r["first"],
            last=r["last"],
            themes=[
                Need(*(tuple(t[k]) for k in ("exact", "deeper", "broader"))) for t in r["themes"]
            ],
            competencies=r["competencies"],
            required=[(n["tags"], n["level"]) for n in r["required"]],
            desired=[(n["tags"], n["level"]) for n in r["desired"]],
            excluded=r["excluded"],
            expected=[(h["expert"], h["total"]) for h in r["expected"]],
            ranking=rankings[i] if rankings else None,
        )
        for i, r in enumerate(meta["requests"])
    ]
    tables = {}
    for name in TABLES:
        path = dir / f"{name}.csv"
        header = path.open().readline().strip().split(",")
        tables[name] = pl.read_csv(path, schema={c: pl.Int64 for c in header})
    return Data(
        dir=dir,
        experts=meta["experts"],
        today=meta["today"],
        cap=meta["years_cap_days"],
        weights=meta["weights"],
        requests=requests,
        tables=tables,
    )


def export(binary: Path, n: int, data_dir: Path) -> Path:
    dir = data_dir / str(n)
    subprocess.run([binary, "export", str(n), dir], check=True)
    return dir


def build_export_binary() -> Path:
    """Builds the `compare_export` bench target and returns its executable."""
    out = subprocess.run(
        [
            "cargo",
            "bench",
            "-p",
            "roster-core",
            "--bench",
            "compare_export",
            "--no-run",
            "--message-format=json",
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "compare_export":
            if msg.get("executable"):
                return Path(msg["executable"])
    raise SystemExit("cargo built no compare_export executable")


# ---------------------------------------------------------------------------
# The engines. Each ranks one request and returns [(id, total)], best first.


class RustIndex:
    """The roster's `MatchIndex`, in the `compare_export time` subprocess."""

    name = "Rust index"

    def __init__(self, binary: Path, data: Data):
        self.proc = subprocess.Popen(
            [binary, "time", str(data.experts)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        ready = json.loads(self.proc.stdout.readline())
        self.top = [[(h["expert"], h["total"]) for h in hits] for hits in ready["top"]]

    def check(self, data: Data):
        for q, top in zip(data.requests, self.top, strict=True):
            compare(self.name, q, top, q.expected)

    def time_round(self, requests: list[Request]) -> list[float]:
        self.proc.stdin.write("1\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["median_s"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


class Engine:
    """An engine timed here, one call per request."""

    name = ""

    def rank(self, q: Request, top: int | None = TOP) -> list[tuple[int, int]]:
        """The best `top` experts for `q`, or everyone who passes."""
        raise NotImplementedError

    def check(self, data: Data):
        for q in data.requests:
            compare(self.name, q, self.rank(q), q.expected)
            if q.ranking is not None:
                compare(self.name, q, self.rank(q, top=None), q.ranking)

    def time_round(self, requests: list[Request]) -> list[float]:
        seconds = []
        for q in requests:
            start = time.perf_counter()
            self.rank(q)
            seconds.append(time.perf_counter() - start)
        return seconds

    def close(self):
        pass


def compare(engine: str, q: Request, got: list[tuple[int, int]], expected: list[tuple[int, int]]):
    if got != expected:
        first = next(
            i
            for i, (a, b) in enumerate(zip([*got, None], [*expected, None], strict=False))
            if a != b
        )
        lines = [
            f"{engine} ranks request {q.id} differently from the index: {len(got)} experts"
            f" against {len(expected)}, first difference at rank {first + 1} (id, total):"
        ]
        for i in range(max(first - 2, 0), min(first + 3, max(len(got), len(expected)))):
            a = got[i] if i < len(got) else None
            b = expected[i] if i < len(expected) else None
            lines.append(f"  {i + 1:6}. {a!s:>18} {'==' if a == b else '!='} {b}")
        raise SystemExit("\n".join(lines))


class Numpy(Engine):
    """Arrays per table; side tables point at their expert's row."""

    name = "numpy"

    def __init__(self, data: Data):
        e = data.tables["experts"].sort("id")
        self.n = e.height
        self.today, self.cap, self.w = data.today, data.cap, data.weights
        self.ids = e["id"].to_numpy()
        self.included = ((e["included"] == 1) & e["term_first"].is_not_null()).to_numpy()
        self.term_first = e["term_first"].fill_null(0).to_numpy()
        self.term_last = e["term_last"].fill_null(0).to_numpy()
        self.available = ((e["available"] == 1) & (e["authorised"] == 1)).to_numpy()
        self.government = e["government"].fill_null(-1).to_numpy()
        self.themes_lo = e["themes_lo"].to_numpy()
        self.themes_hi = e["themes_hi"].to_numpy()
        self.competencies = e["competencies"].to_numpy()

        def side(name: str, *columns: str):
            df = data.tables[name]
            row = np.searchsorted(self.ids, df["expert"].to_numpy())
            return (row, *(df[c].to_numpy() for c in columns))

        # Periods sorted by expert, then first day, for merging.
        p = data.tables["periods"].sort(["expert", "first"])
        self.p_row = np.searchsorted(self.ids, p["expert"].to_numpy())
        self.p_first = p["first"].to_numpy()
        self.p_open = p["last"].is_null().to_numpy()
        self.p_last = p["last"].fill_null(0).to_numpy()
        self.p_lo = p["themes_lo"].to_numpy()
        self.p_hi = p["themes_hi"].to_numpy()
        self.l_row, self.l_tag, self.l_level = side("languages", "tag", "level")
        needs = [t for q in data.requests for tags, _ in q.required + q.desired for t in tags]
        self.tag_count = max([int(self.l_tag.max()), *needs]) + 1
        self.c_row, self.c_country = side("countries", "country")
        places = data.tables["places"]
        self.region_of = np.full(places["country"].max() + 1, -1)
        self.region_of[places["country"].to_numpy()] = places["region"].fill_null(-1).to_numpy()
        self.a_row, self.a_first, self.a_last = side("absences", "first", "last")
        self.b_row, self.b_first, self.b_last, self.b_request = side(
            "bookings", "first", "last", "request"
        )

    def experts_where(self, rows: np.ndarray) -> np.ndarray:
        """A mask over experts: those owning at least one of `rows`."""
        mask = np.zeros(self.n, dtype=bool)
        mask[rows] = True
        return mask

    def speaks(self, tags: list[int], level: int) -> np.ndarray:
        # A lookup table over language ids: faster than np.isin.
        wanted = np.zeros(self.tag_count, dtype=bool)
        wanted[tags] = True
        hit = wanted[self.l_tag] & (self.l_level >= level)
        return self.experts_where(self.l_row[hit])

    def rank(self, q: Request, top: int | None = TOP) -> list[tuple[int, int]]:
        # Filters.
        ok = (
            self.included
            & (self.term_first <= q.first)
            & (self.term_last >= q.last)
            & self.available
        )
        away = (self.a_first <= q.last) & (self.a_last >= q.first)
        ok &= ~self.experts_where(self.a_row[away])
        other = self.b_request != q.key if q.key is not None else np.ones(len(self.b_row), bool)
        engaged = other & (self.b_first <= q.last) & (self.b_last >= q.first)
        ok &= ~self.experts_where(self.b_row[engaged])
        for tags, level in q.required:
            ok &= self.speaks(tags, level)
        if q.excluded:
            ok &= ~np.isin(self.ids, q.excluded)
        ok &= self.government != q.requester

        # Thematic depth.
        lo, hi = self.themes_lo, self.themes_hi

        def meets(m):
            return ((lo & m[0]) | (hi & m[1])) != 0

        thematic = np.zeros(self.n, dtype=np.int64)
        for need in q.themes:
            thematic += np.where(
                meets(need.exact),
                1000,
                np.where(meets(need.deeper), 700, np.where(meets(need.broader), 300, 0)),
            )
        thematic //= max(len(q.themes), 1)

        # Years: merged days of related periods. Along each expert's periods
        # (sorted by first day), a period adds the days past the furthest
        # end of the periods before it.
        rlo, rhi = q.related
        last = np.minimum(np.where(self.p_open, self.today, self.p_last), self.today)
        keep = (((self.p_lo & rlo) | (self.p_hi & rhi)) != 0) & (self.p_first <= last)
        row, first, last = self.p_row[keep], self.p_first[keep], last[keep]
        # A running maximum of (row, last) packed in one integer restarts
        # at each expert, as rows ascend and days stay below 2^22.
        packed = row * (1 << 22) + last
        before = np.empty_like(packed)
        before[:1] = -1
        before[1:] = np.maximum.accumulate(packed)[:-1]
        same = before >= row * (1 << 22)
        covered = np.where(same, before - row * (1 << 22), first - 1)
        gain = np.maximum(last - np.maximum(covered, first - 1), 0)
        days = np.bincount(row, weights=gain, minlength=self.n).astype(np.int64)
        years = np.minimum(days, self.cap) * 1000 // self.cap

        # Competencies and desired languages.
        competencies = np.zeros(self.n, dtype=np.int64)
        if q.competencies:
            for bit in q.competencies:
                competencies += (self.competencies & bit) != 0
            competencies = competencies * 1000 // len(q.competencies)
        languages = np.zeros(self.n, dtype=np.int64)
        if q.desired:
            for tags, level in q.desired:
                languages += self.speaks(tags, level)
            languages = languages * 1000 // len(q.desired)

        # Place.
        in_state = self.experts_where(self.c_row[self.c_country == q.requester])
        in_region = np.zeros(self.n, dtype=bool)
        if q.region is not None:
            in_region = self.experts_where(self.c_row[self.region_of[self.c_country] == q.region])
        place = np.where(in_state, 1000, np.where(in_region, 500, 0))

        # Rotation.
        recent_rows = other & (self.b_last >= q.since) & (self.b_first < q.first)
        recent = np.bincount(self.b_row[recent_rows], minlength=self.n)
        rotation = np.maximum(1000 - 500 * recent, 0)

        w = self.w
        total = (
            thematic * w["thematic"]
            + years * w["years"]
            + competencies * w["competencies"]
            + languages * w["languages"]
            + place * w["region"]
            + rotation * w["rotation"]
        )

        # Everyone at or above the `top`-th best total, then the full order.
        rows = np.flatnonzero(ok)
        if top is not None and len(rows) > top:
            totals = total[rows]
            floor = np.partition(totals, len(rows) - top)[len(rows) - top]
            rows = rows[totals >= floor]
        order = np.lexsort((self.ids[rows], recent[rows], -total[rows]))[:top]
        best = rows[order]
        return list(zip(self.ids[best].tolist(), total[best].tolist(), strict=True))


class Polars(Engine):
    """One lazy query per request over the frames, collected at the end."""

    name = "polars"

    def __init__(self, data: Data):
        self.today, self.cap, self.w = data.today, data.cap, data.weights
        t = data.tables
        self.experts = t["experts"].lazy()
        self.periods = t["periods"].sort(["expert", "first"]).lazy()
        self.languages = t["languages"].lazy()
        self.countries = t["countries"].join(t["places"], on="country", how="left").lazy()
        self.absences = t["absences"].lazy()
        self.bookings = t["bookings"].lazy()

    def speakers(self, tags: list[int], level: int) -> pl.LazyFrame:
        c = pl.col
        return (
            self.languages.filter(c("tag").is_in(tags) & (c("level") >= level))
            .select(c("expert").alias("id"))
            .unique()
        )

    def rank(self, q: Request, top: int | None = TOP) -> list[tuple[int, int]]:
        c = pl.col
        other = c("request") != q.key if q.key is not None else pl.lit(True)

        def overlapping(first, last):
            return (c(first) <= q.last) & (c(last) >= q.first)

        cand = self.experts.filter(
            (c("included") == 1)
            & (c("term_first") <= q.first)
            & (c("term_last") >= q.last)
            & (c("available") == 1)
            & (c("authorised") == 1)
            & ~c("id").is_in(q.excluded)
            & (c("government").is_null() | (c("government") != q.requester))
        )
        away = self.absences.filter(overlapping("first", "last")).select(c("expert").alias("id"))
        engaged = self.bookings.filter(other & overlapping("first", "last")).select(
            c("expert").alias("id")
        )
        cand = cand.join(away, on="id", how="anti").join(engaged, on="id", how="anti")
        for tags, level in q.required:
            cand = cand.join(self.speakers(tags, level), on="id", how="semi")

        def meets(m):
            return ((c("themes_lo") & m[0]) | (c("themes_hi") & m[1])) != 0

        thematic = pl.sum_horizontal(
            [
                pl.when(meets(n.exact))
                .then(1000)
                .when(meets(n.deeper))
                .then(700)
                .when(meets(n.broader))
                .then(300)
                .otherwise(0)
                for n in q.themes
            ]
            or [pl.lit(0)]
        ) // max(len(q.themes), 1)

        # Years: a period adds the days past the furthest end of the
        # expert's periods that start before it. The periods are sorted by
        # expert and first day, so a running maximum of (expert, last)
        # packed in one integer restarts at each expert; a window
        # `cum_max().over("expert")` gives the same, 25 times slower.
        last = pl.min_horizontal(c("last").fill_null(self.today), pl.lit(self.today))
        packed = c("expert") * (1 << 22) + c("last")
        covered = pl.when(c("expert") == c("expert").shift(1)).then(
            packed.cum_max().shift(1) - c("expert") * (1 << 22)
        )
        start = pl.max_horizontal(covered, c("first") - 1)
        years = (
            self.periods.filter(meets(q.related))
            .with_columns(last.alias("last"))
            .filter(c("first") <= c("last"))
            .with_columns((c("last") - start).clip(lower_bound=0).alias("gain"))
            .group_by("expert")
            .agg(c("gain").sum().alias("days"))
            .rename({"expert": "id"})
        )

        if q.competencies:
            competencies = (
                pl.sum_horizontal(
                    [((c("competencies") & b) != 0).cast(pl.Int64) for b in q.competencies]
                )
                * 1000
                // len(q.competencies)
            )
        else:
            competencies = pl.lit(0)

        for i, (tags, level) in enumerate(q.desired):
            cand = cand.join(
                self.speakers(tags, level).with_columns(pl.lit(1).alias(f"desired{i}")),
                on="id",
                how="left",
            )
        if q.desired:
            languages = (
                pl.sum_horizontal([c(f"desired{i}").fill_null(0) for i in range(len(q.desired))])
                * 1000
                // len(q.desired)
            )
        else:
            languages = pl.lit(0)

        in_state = c("country") == q.requester
        in_region = (c("region") == q.region) if q.region is not None else pl.lit(False)
        place = (
            self.countries.filter(in_state | in_region)
            .group_by("expert")
            .agg(pl.when(in_state.any()).then(1000).otherwise(500).alias("place"))
            .rename({"expert": "id"})
        )
        recent = (
            self.bookings.filter(other & (c("last") >= q.since) & (c("first") < q.first))
            .group_by("expert")
            .agg(pl.len().cast(pl.Int64).alias("recent"))
            .rename({"expert": "id"})
        )

        w = self.w
        ranked = (
            cand.join(years, on="id", how="left")
            .join(place, on="id", how="left")
            .join(recent, on="id", how="left")
            .with_columns(c("days", "place", "recent").fill_null(0))
            .with_columns(
                (
                    thematic * w["thematic"]
                    + pl.min_horizontal(c("days"), pl.lit(self.cap)) * 1000 // self.cap * w["years"]
                    + competencies * w["competencies"]
                    + languages * w["languages"]
                    + c("place") * w["region"]
                    + pl.max_horizontal(1000 - 500 * c("recent"), pl.lit(0)) * w["rotation"]
                ).alias("total")
            )
        )
        if top is not None:
            ranked = ranked.top_k(top, by=["total", "recent", "id"], reverse=[False, True, True])
        result = (
            ranked.sort(["total", "recent", "id"], descending=[True, False, False])
            .select("id", "total")
            .collect()
        )
        return list(zip(result["id"].to_list(), result["total"].to_list(), strict=True))


# Table definitions shared by SQLite and PostgreSQL. Days are `integer`, so
# that PostgreSQL's SUM of days is a bigint and divides as an integer.
SCHEMA = {
    "experts": "id integer PRIMARY KEY, included integer, term_first integer, term_last integer,"
    " available integer, authorised integer, government integer, themes_lo bigint,"
    " themes_hi bigint, competencies bigint",
    "periods": "expert integer, first_day integer, last_day integer, themes_lo bigint,"
    " themes_hi bigint, competencies bigint",
    "languages": "expert integer, tag integer, level integer",
    "countries": "expert integer, country integer",
    "absences": "expert integer, first_day integer, last_day integer",
    "bookings": "expert integer, first_day integer, last_day integer, request integer",
    "places": "country integer PRIMARY KEY, region integer",
}
INDEXES = (
    "CREATE INDEX periods_expert ON periods (expert, first_day)",
    "CREATE INDEX languages_expert ON languages (expert, tag)",
    "CREATE INDEX countries_expert ON countries (expert, country)",
    "CREATE INDEX absences_expert ON absences (expert)",
    "CREATE INDEX bookings_expert ON bookings (expert)",
)


def sql_query(q: Request, data: Data, top: int | None = TOP) -> str:
    """One query for SQLite and PostgreSQL alike. Every value in it is an
    integer from the export, written in as a literal."""

    def ints(values) -> str:
        # IN (NULL) matches nothing, like a need no language satisfies.
        return ", ".join(str(int(v)) for v in values) or "NULL"

    def meets(table: str, m: tuple[int, int]) -> str:
        return f"(({table}.themes_lo & {int(m[0])}) | ({table}.themes_hi & {int(m[1])})) <> 0"

    def speaks(tags, level) -> str:
        return f"l.tag IN ({ints(tags)}) AND l.level >= {int(level)}"

    other = f" AND b.request <> {int(q.key)}" if q.key is not None else ""
    first, last, today, cap = int(q.first), int(q.last), int(data.today), int(data.cap)
    filters = [
        "e.included = 1",
        f"e.term_first <= {first}",
        f"e.term_last >= {last}",
        "e.available = 1",
        "e.authorised = 1",
        "NOT EXISTS (SELECT 1 FROM absences a WHERE a.expert = e.id"
        f" AND a.first_day <= {last} AND a.last_day >= {first})",
        f"NOT EXISTS (SELECT 1 FROM bookings b WHERE b.expert = e.id{other}"
        f" AND b.first_day <= {last} AND b.last_day >= {first})",
        *(
            f"EXISTS (SELECT 1 FROM languages l WHERE l.expert = e.id AND {speaks(tags, level)})"
            for tags, level in q.required
        ),
        f"(e.government IS NULL OR e.government <> {int(q.requester)})",
    ]
    if q.excluded:
        filters.append(f"e.id NOT IN ({ints(q.excluded)})")

    thematic = (
        " + ".join(
            f"CASE WHEN {meets('c', n.exact)} THEN 1000 WHEN {meets('c', n.deeper)} THEN 700"
            f" WHEN {meets('c', n.broader)} THEN 300 ELSE 0 END"
            for n in q.themes
        )
        or "0"
    )
    competencies = (
        "("
        + " + ".join(
            f"CASE WHEN (c.competencies & {int(b)}) <> 0 THEN 1 ELSE 0 END" for b in q.competencies
        )
        + f") * 1000 / {len(q.competencies)}"
        if q.competencies
        else "0"
    )
    desired = " OR ".join(f"({speaks(tags, level)})" for tags, level in q.desired)
    met = " + ".join(
        f"MAX(CASE WHEN {speaks(tags, level)} THEN 1 ELSE 0 END)" for tags, level in q.desired
    )
    place = f"w.country = {int(q.requester)}"
    if q.region is not None:
        place += f" OR p.region = {int(q.region)}"
    days = "COALESCE(y.days, 0)"
    missions = "COALESCE(r.missions, 0)"
    w = {k: int(v) for k, v in data.weights.items()}
    # Each side table is filtered by the request, then aggregated per
    # expert, then joined to the candidates.
    return f"""
WITH cand AS (
  SELECT e.id, e.themes_lo, e.themes_hi, e.competencies FROM experts e
  WHERE {" AND ".join(filters)}
),
spans AS (
  SELECT p.expert, p.first_day,
         CASE WHEN p.last_day IS NULL OR p.last_day > {today} THEN {today}
              ELSE p.last_day END AS last_day
  FROM periods p
  WHERE {meets("p", q.related)}
),
runs AS (
  SELECT expert, first_day, last_day,
         MAX(last_day) OVER (PARTITION BY expert ORDER BY first_day
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS covered
  FROM spans WHERE first_day <= last_day
),
years AS (
  SELECT expert,
         SUM(CASE WHEN covered IS NULL OR covered < first_day THEN last_day - first_day + 1
                  WHEN last_day > covered THEN last_day - covered ELSE 0 END) AS days
  FROM runs GROUP BY expert
),
spoken AS (
  SELECT l.expert, {met or "0"} AS met
  FROM languages l WHERE {desired or "FALSE"} GROUP BY l.expert
),
place AS (
  SELECT w.expert, MAX(CASE WHEN w.country = {int(q.requester)} THEN 1000 ELSE 500 END) AS fraction
  FROM countries w JOIN places p ON p.country = w.country
  WHERE {place} GROUP BY w.expert
),
recent AS (
  SELECT b.expert, COUNT(*) AS missions FROM bookings b
  WHERE b.last_day >= {int(q.since)} AND b.first_day < {first}{other}
  GROUP BY b.expert
)
SELECT c.id,
       ({thematic}) / {max(len(q.themes), 1)} * {w["thematic"]}
       + (CASE WHEN {days} > {cap} THEN {cap} ELSE {days} END) * 1000 / {cap} * {w["years"]}
       + {competencies} * {w["competencies"]}
       + {f"COALESCE(s.met, 0) * 1000 / {len(q.desired)}" if q.desired else "0"} * {w["languages"]}
       + COALESCE(pl.fraction, 0) * {w["region"]}
       + (CASE WHEN {missions} >= 2 THEN 0 ELSE 1000 - 500 * {missions} END) * {w["rotation"]}
         AS total,
       {missions} AS recent
FROM cand c
LEFT JOIN years y ON y.expert = c.id
LEFT JOIN spoken s ON s.expert = c.id
LEFT JOIN place pl ON pl.expert = c.id
LEFT JOIN recent r ON r.expert = c.id
ORDER BY total DESC, recent, c.id
{f"LIMIT {int(top)}" if top is not None else ""}
"""


class SqlEngine(Engine):
    def __init__(self, data: Data):
        self.data = data
        self.queries = {q.id: sql_query(q, data) for q in data.requests}

    def rank(self, q: Request, top: int | None = TOP) -> list[tuple[int, int]]:
        sql = self.queries[q.id] if top == TOP else sql_query(q, self.data, top)
        return [(int(i), int(t)) for i, t, _ in self.fetch(sql)]


class Sqlite(SqlEngine):
    name = "SQLite"

    def __init__(self, data: Data):
        super().__init__(data)
        self.db = sqlite3.connect(":memory:")
        for name, columns in SCHEMA.items():
            self.db.execute(f"CREATE TABLE {name} ({columns})")
            df = data.tables[name]
            marks = ", ".join("?" * df.width)
            self.db.executemany(f"INSERT INTO {name} VALUES ({marks})", df.iter_rows())
        for index in INDEXES:
            self.db.execute(index)
        self.db.execute("ANALYZE")
        self.db.commit()

    def fetch(self, sql: str):
        return self.db.execute(sql).fetchall()

    def close(self):
        self.db.close()


class Postgres(SqlEngine):
    name = "PostgreSQL"
    SCHEMA_NAME = "roster_compare"

    def __init__(self, data: Data, dsn: str):
        import psycopg

        super().__init__(data)
        # A plain schema rather than temporary tables: those live in the
        # session's small temp_buffers, not in shared buffers.
        self.db = psycopg.connect(dsn, autocommit=True)
        s = self.SCHEMA_NAME
        self.db.execute(f"DROP SCHEMA IF EXISTS {s} CASCADE")
        self.db.execute(f"CREATE SCHEMA {s}")
        self.db.execute(f"SET search_path = {s}")
        self.db.execute("SET max_parallel_workers_per_gather = 0")
        # The default 4MB makes the sorts and hash joins over a million
        # experts spill to disk; any deployment of this size raises it.
        self.db.execute("SET work_mem = '64MB'")
        # The row estimates of the chained outer joins are far too high,
        # which makes the planner compile the query to machine code: that
        # takes seconds per query, several times the query itself.
        self.db.execute("SET jit = off")
        for name, columns in SCHEMA.items():
            self.db.execute(f"CREATE TABLE {name} ({columns})")
            with self.db.cursor().copy(
                f"COPY {name} FROM STDIN WITH (FORMAT csv, HEADER true)"
            ) as copy:
                with open(data.dir / f"{name}.csv", "rb") as f:
                    while chunk := f.read(1 << 20):
                        copy.write(chunk)
        for index in INDEXES:
            self.db.execute(index)
        self.db.execute("ANALYZE")

    def fetch(self, sql: str):
        return self.db.execute(sql).fetchall()

    def close(self):
        self.db.execute(f"DROP SCHEMA IF EXISTS {self.SCHEMA_NAME} CASCADE")
        self.db.close()


# ---------------------------------------------------------------------------
# Running and reporting


def run_size(binary: Path, n: int, args) -> dict:
    data = load(export(binary, n, args.data))
    print(f"\n{n:,} experts: loading", flush=True)
    engines: list = []
    try:
        engines.append(RustIndex(binary, data))
        for name in args.engines:
            start = time.perf_counter()
            if name == "numpy":
                engines.append(Numpy(data))
            elif name == "polars":
                engines.append(Polars(data))
            elif name == "sqlite":
                engines.append(Sqlite(data))
            elif name == "postgres":
                engines.append(Postgres(data, args.dsn))
            print(
                f"  {engines[-1].name}: loaded in {time.perf_counter() - start:.1f} s", flush=True
            )
        for e in engines:
            e.check(data)
        full = " and the full ranking" if data.requests[0].ranking is not None else ""
        print(f"  every engine gives the index's top {TOP}{full} for every request")
        if args.check_only:
            return {}

        fast, slow = ROUNDS.get(n, (5, 3))
        if args.rounds:
            fast = slow = args.rounds
        rounds = {e.name: slow if isinstance(e, SqlEngine) else fast for e in engines}
        seconds = {e.name: [[] for _ in data.requests] for e in engines}
        for r in range(max(rounds.values())):
            for e in engines:
                if r < rounds[e.name]:
                    for per, s in zip(seconds[e.name], e.time_round(data.requests), strict=True):
                        per.append(s)
            print(f"  round {r + 1} done", flush=True)
    finally:
        for e in engines:
            e.close()

    per_request = {name: [statistics.median(s) for s in v] for name, v in seconds.items()}
    rust = per_request[RustIndex.name]
    result = {}
    for name, medians in per_request.items():
        result[name] = {
            "median_ms": statistics.median(medians) * 1e3,
            "ratio": statistics.median(m / r for m, r in zip(medians, rust, strict=True)),
            "rounds": rounds[name],
        }
        m = result[name]
        print(f"  {name:>12}: {m['median_ms']:10.3f} ms, {m['ratio']:8.1f} x the index")
    return result


def figure(value: float) -> str:
    """Three significant digits, or whole numbers from 100 on."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def markdown(results: dict, args, versions: dict, load: tuple[float, float]) -> str:
    names = [RustIndex.name] + [
        {"numpy": "numpy", "polars": "polars", "sqlite": "SQLite", "postgres": "PostgreSQL"}[e]
        for e in args.engines
    ]
    lines = [
        "| experts | " + " | ".join(names) + " |",
        "| ---: | " + " | ".join("---:" for _ in names) + " |",
    ]
    for n, r in results.items():
        cells = []
        for name in names:
            m = r[name]
            ratio = "" if name == RustIndex.name else f" ({figure(m['ratio'])} x)"
            cells.append(f"{figure(m['median_ms'])} ms{ratio}")
        lines.append(f"| {n:,} | " + " | ".join(cells) + " |")
    rounds = "; ".join(
        f"{n:,}: " + ", ".join(f"{name} {r[name]['rounds']}" for name in names)
        for n, r in results.items()
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return "\n".join(
        [
            f"Ranking one request, top {TOP}, default policy: the median time per request over"
            " the 16 benchmark requests, and in brackets the median over requests of"
            " (engine time / index time).",
            "",
            *lines,
            "",
            f"Rounds (each runs all 16 requests once per engine, interleaved): {rounds}.",
            "",
            f"Machine: {cpu}, {os.cpu_count()} cores; every engine single-threaded. "
            + ", ".join(f"{k} {v}" for k, v in versions.items())
            + f". Run on {datetime.date.today().isoformat()}; load average (1 minute)"
            f" {load[0]:.1f} at the start, {load[1]:.1f} at the end.",
            "",
            "Command (from the workspace root):",
            "",
            "```sh",
            " ".join([".venv/bin/python", "roster-core/benches/compare/compare.py", *sys.argv[1:]]),
            "```",
        ]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="1000,100000,1000000", help="comma-separated expert counts"
    )
    parser.add_argument(
        "--engines", default=",".join(ENGINES), help=f"comma-separated, of {', '.join(ENGINES)}"
    )
    parser.add_argument(
        "--rounds", type=int, help="rounds for every engine and size (default: per size)"
    )
    parser.add_argument(
        "--dsn", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument(
        "--data", type=Path, default=ROOT / "target" / "compare-data", help="where tables go"
    )
    parser.add_argument("--out", type=Path, help="write the results as markdown here")
    parser.add_argument(
        "--binary", type=Path, help="a compare_export executable (default: build it with cargo)"
    )
    parser.add_argument(
        "--check-only", action="store_true", help="check every engine, time nothing"
    )
    args = parser.parse_args()
    args.engines = [e for e in args.engines.split(",") if e]
    unknown = set(args.engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines {sorted(unknown)}; expected some of {', '.join(ENGINES)}")

    binary = args.binary or build_export_binary()
    load_before = os.getloadavg()[0]
    results = {}
    for n in (int(s) for s in args.sizes.split(",")):
        result = run_size(binary, n, args)
        if result:
            results[n] = result
    if not results:
        return
    versions = {
        "Python": platform.python_version(),
        "numpy": np.__version__,
        "polars": pl.__version__,
        "SQLite": sqlite3.sqlite_version,
    }
    if "postgres" in args.engines:
        import psycopg

        with psycopg.connect(args.dsn) as db:
            versions["PostgreSQL"] = db.execute("SHOW server_version").fetchone()[0].split()[0]
    # Other work on the machine shows here; the interleaving spreads it
    # over every engine alike.
    load = (load_before, os.getloadavg()[0])
    text = markdown(results, args, versions, load)
    print("\n" + text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
