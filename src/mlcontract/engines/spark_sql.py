"""The distributed arithmetic of the Spark engine, as Spark SQL text.

Everything here runs as Spark SQL (`session.sql(text, frame=df)`): built-in aggregates, GROUP
BY, GROUPING SETS and window functions. No Python runs on the executors, so the same queries
run on a classic session, on any cluster, and over Spark Connect with nothing installed there.
(Building the SQL as text, not with `pyspark.sql.functions`, also keeps one code path for both
kinds of session: those functions pick their kind from the process, not from the session.)

What comes back to the driver is bounded by constants, never by the rows:
- global aggregates (one row);
- exact sums as a few 64-bit integer "limbs" (`ExactSum`);
- order statistics by bucket selection (`select_ranks`): per round, bucket counts (at most
  MAX_BUCKETS rows per column), then the values of the few buckets that hold the wanted ranks
  (at most GATHER_MAX values per bucket and GATHER_BUDGET per round);
- KS D and Wasserstein W1 from per-bucket totals (WALK_BUCKETS rows) and one aggregate over a
  window on the distinct values (`sample_walk`).

The module-level constants are read when a query is built, so a test can shrink them to drive
small data through every branch.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import CheckError

# Bucket selection: buckets per split of an interval, and what is gathered to the driver.
MIN_BUCKETS = 16
MAX_BUCKETS = 65_536
GATHER_MAX = 65_536  # values of one bucket copied to the driver; a larger bucket is split again
GATHER_BUDGET = 4_000_000  # values copied to the driver per round, over every column
MAX_ROUNDS = 64  # a bucket strictly shrinks each round; this only stops a runaway
# Buckets of the value range over which the KS/Wasserstein window is partitioned.
WALK_BUCKETS = 4_096
# Exact sums: 26-bit digits (a column of up to 2**37 values sums in a BIGINT) below 2**E.
LIMB_BITS = 26
LIMBS = 4
KEY_STRIDE = 1 << 20  # > MAX_BUCKETS: key = interval * KEY_STRIDE + bucket

INFINITY = "CAST('Infinity' AS DOUBLE)"


# ---- SQL text -----------------------------------------------------------------------------------
def ident(name: str) -> str:
    """A column name as a Spark SQL identifier (backticks, doubled inside)."""
    # Braces are doubled: session.sql(text, frame=df) formats the text with str.format.
    return "`" + name.replace("`", "``").replace("{", "{{").replace("}", "}}") + "`"


def double(x: float) -> str:
    """An exact DOUBLE literal: repr() round-trips and Java's parser rounds correctly."""
    x = float(x)
    if math.isnan(x):
        return "CAST('NaN' AS DOUBLE)"
    if math.isinf(x):
        return INFINITY if x > 0 else f"(-{INFINITY})"
    return f"({x!r}D)" if x < 0 or str(x).startswith("-") else f"{x!r}D"


def bigint(i: int) -> str:
    i = int(i)
    if not -(2 ** 63) <= i < 2 ** 63:
        raise ValueError(f"{i} does not fit a BIGINT")
    if i == -(2 ** 63):
        return "CAST('-9223372036854775808' AS BIGINT)"
    return f"({i}L)" if i < 0 else f"{i}L"


def power_of_two(exponent: int) -> list[str]:
    """2**exponent as a product of DOUBLE literals that are each finite and normal."""
    factors = []
    while exponent:
        step = max(-1000, min(1000, exponent))
        factors.append(double(math.ldexp(1.0, step)))
        exponent -= step
    return factors or ["1.0D"]


def scaled(expr: str, exponent: int) -> str:
    """expr * 2**exponent, exact (power-of-two factors) while the result is a normal double."""
    return "(" + " * ".join([f"({expr})", *power_of_two(exponent)]) + ")"


# ---- columns --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NumericColumn:
    """How the SQL reads one numeric column. Values are compared and summed as DOUBLE, as the
    local kernels do (an integer beyond 2**53 rounds the same way in both); the extremes of an
    integer column are taken from the integers themselves (exact)."""

    name: str
    floating: bool = False  # FLOAT / DOUBLE: may hold NaN and ±inf
    integer: bool = False  # TINYINT … BIGINT: exact integer extremes
    is_double: bool = False  # DOUBLE already (FLOAT, integers and decimals are cast, exactly or as Polars does)

    @property
    def raw(self) -> str:
        return ident(self.name)

    @property
    def value(self) -> str:
        return self.raw if self.is_double else f"CAST({self.raw} AS DOUBLE)"

    @property
    def finite(self) -> str:
        """True for a finite value; NULL or false otherwise (Spark orders NaN above +inf)."""
        if self.floating:
            return f"(abs({self.raw}) < {INFINITY})"
        return f"({self.raw} IS NOT NULL)"

    def when_finite(self, expr: str) -> str:
        return f"CASE WHEN {self.finite} THEN {expr} END"


# ---- exact sums ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExactSum:
    """The exact sum of DOUBLE values |y| < 2**exponent, from integer sums.

    y = Σ_k d_k·2**(E−26k) + r with the digits d_k = trunc(fmod(y·2**(26k−E), 2**26)) (|d_k| <
    2**26, telescoping to trunc(y·2**(26K−E))·2**(E−26K)) and r = fmod(y, 2**(E−26K)). Scaling by
    a power of two and fmod are exact in IEEE arithmetic, so every digit is an exact integer and
    SUM over a BIGINT adds them exactly (up to 2**37 values). Only the residual r, below
    2**(E−104), is summed in DOUBLE: the sum is exact to ~n·2**(E−157)."""

    exponent: int

    @property
    def limbs(self) -> int:
        # 2**(E - 26K) must stay a representable double (>= 2**-1074)
        return max(0, min(LIMBS, (self.exponent + 1074) // LIMB_BITS))

    def aggregates(self, y: str) -> list[str]:
        """SUM expressions over y (NULL rows are skipped)."""
        k_max, e = self.limbs, self.exponent
        parts = [f"sum(CAST({scaled(y, LIMB_BITS * k - e)} % {double(2.0 ** LIMB_BITS)} AS BIGINT))"
                 for k in range(1, k_max + 1)]
        residual = f"({y}) % {double(math.ldexp(1.0, e - LIMB_BITS * k_max))}" if k_max else y
        parts.append(f"sum({residual})")
        return parts

    def value(self, sums: list) -> Fraction:
        k_max, e = self.limbs, self.exponent
        total = Fraction(0)
        for k, digit_sum in enumerate(sums[:k_max], start=1):
            if digit_sum:
                total += Fraction(int(digit_sum)) * Fraction(2) ** (e - LIMB_BITS * k)
        residual = sums[k_max]
        if residual:
            total += Fraction(float(residual))
        return total


def exponent_above(bound: float) -> int:
    """E with |y| < 2**E for every |y| <= bound (bound finite, >= 0)."""
    if bound == 0:
        return -1074
    return math.frexp(bound)[1]


# ---- running queries ----------------------------------------------------------------------------
class Runner:
    """Runs SQL on one session, turning Spark's failures into one-line CheckErrors; counts the
    jobs it starts (tests check that a scan's work is combined)."""

    def __init__(self, session, describe_error: Callable[[BaseException], str], note: Callable[[str], None] | None = None):
        self.session = session
        self.describe_error = describe_error
        self.note = note
        self.queries = 0

    def table(self, text: str, what: str, **frames):
        """The query's result as a pyarrow Table."""
        if self.note:
            self.note(what)
        self.queries += 1
        try:
            return self.session.sql(text, **frames).toArrow()
        except Exception as error:  # noqa: BLE001 - py4j, gRPC and Spark errors of every kind
            raise CheckError(f"Spark failed computing {what}: {self.describe_error(error)}") from None

    def frame(self, table):
        """A small driver-side pyarrow Table as a DataFrame of this session."""
        try:
            return self.session.createDataFrame(table)
        except Exception as error:  # noqa: BLE001
            raise CheckError(f"Spark failed taking a table from the driver: {self.describe_error(error)}") from None

    def row(self, text: str, what: str, **frames) -> list:
        """The single row of a global aggregate, as a list."""
        table = self.table(text, what, **frames)
        return [table.column(i)[0].as_py() for i in range(table.num_columns)]


class Aggregates:
    """Aggregate expressions collected from several requests and run as ONE query."""

    def __init__(self) -> None:
        self.expressions: list[str] = []

    def add(self, expression: str) -> int:
        self.expressions.append(expression)
        return len(self.expressions) - 1

    def add_all(self, expressions: list[str]) -> list[int]:
        return [self.add(e) for e in expressions]

    def run(self, runner: Runner, frame, what: str) -> list:
        if not self.expressions:
            return []
        select = ", ".join(f"{e} AS a{i}" for i, e in enumerate(self.expressions))
        return runner.row(f"SELECT {select} FROM {{frame}}", what, frame=frame)


# ---- order statistics by bucket selection -------------------------------------------------------
@dataclass
class Selection:
    """Order statistics of one column's finite values (as DOUBLE), in ascending order (0-based
    ranks): `value[r]`, and `below[r]`, the number of values strictly below value[r]; or, when
    every rank was asked for, the sorted values themselves (`values`)."""

    value: dict[int, float] = field(default_factory=dict)
    below: dict[int, int] = field(default_factory=dict)
    values: np.ndarray | None = None


@dataclass
class Wanted:
    """A column whose order statistics are wanted: its finite count, min, max (as doubles) and
    the ranks (None: all of them, returned sorted)."""

    column: NumericColumn
    count: int
    low: float
    high: float
    ranks: np.ndarray | None


@dataclass
class _Interval:
    """The finite values v of a column with low <= v <= high: `count` of them, `below` values
    lie under low. Buckets of a monotone function of v are such intervals."""

    column: int
    low: float
    high: float
    below: int
    count: int
    ranks: np.ndarray
    key: int = -1  # its bucket key in the split that produced it (-1: not from a split)


@dataclass
class _Split:
    """How one interval is cut into buckets: bucket = floor(((v·h − low·h)·2**p)·scale)."""

    interval: _Interval
    buckets: int
    half: float
    power: int
    scale: float

    @staticmethod
    def of(interval: _Interval, buckets: int) -> _Split:
        half = 1.0 if math.isfinite(interval.high - interval.low) else 0.5
        span = interval.high * half - interval.low * half
        power = 1 - math.frexp(span)[1]  # span·2**p in [1, 2): no overflow of the scale
        scale = buckets / math.ldexp(span, power)
        return _Split(interval, buckets, half, power, scale)

    def bucket_sql(self, v: str) -> str:
        h = double(self.half)
        offset = f"({v} * {h} - {double(self.interval.low * self.half)})"
        position = f"({scaled(offset, self.power)} * {double(self.scale)})"
        return f"LEAST({self.buckets - 1}, GREATEST(0, CAST(FLOOR({position}) AS INT)))"

    def member_sql(self, v: str) -> str:
        return f"({v} >= {double(self.interval.low)} AND {v} <= {double(self.interval.high)})"


def _bucket_count(interval: _Interval) -> int:
    """Enough buckets that a bucket of smooth data is gathered next round, and that the buckets
    holding the wanted ranks together fit the gather budget."""
    count, ranks = interval.count, len(interval.ranks)
    wanted = max(8 * count / GATHER_MAX, 2 * ranks * count / GATHER_BUDGET)
    return int(min(MAX_BUCKETS, max(MIN_BUCKETS, math.ceil(wanted))))


def select_ranks(runner: Runner, frame, wanted: list[Wanted], what: str) -> list[Selection]:
    """Exact order statistics without sorting the data: each round splits the intervals that
    hold wanted ranks into buckets (GROUP BY bucket: count, min, max), keeps the buckets that
    hold a wanted rank, and copies to the driver the values of those small enough to gather;
    a bucket whose min equals its max needs no copy. The values are bit for bit those of
    np.sort(values)[ranks], hence numpy's quantiles of them are too."""
    selections = [Selection() for _ in wanted]
    pending: list[_Interval] = []
    for index, item in enumerate(wanted):
        if item.count == 0:
            if item.ranks is None:
                selections[index].values = np.empty(0)
            continue
        ranks = np.arange(item.count) if item.ranks is None else np.unique(item.ranks)
        pending.append(_Interval(index, float(item.low), float(item.high), 0, item.count, ranks))
    gathered: dict[int, list[np.ndarray]] = {}  # every rank asked: the pieces, in order
    previous: dict[int, list[_Split]] = {}
    for _ in range(MAX_ROUNDS):
        if not pending:
            break
        gather, split = _classify(pending, selections, gathered, wanted)
        if gather:
            _gather(runner, frame, wanted, gather, previous, selections, gathered, what)
        pending = _split(runner, frame, wanted, split, what) if split else []
        previous = {}
        for piece in split:
            previous.setdefault(piece.interval.column, []).append(piece)
    else:
        raise CheckError(f"the order statistics of {what} did not converge in {MAX_ROUNDS} rounds")
    for index, item in enumerate(wanted):
        if item.ranks is None and item.count:
            pieces = gathered.get(index, [])
            values = np.concatenate([p for _, p in sorted(pieces, key=lambda lp: lp[0])]) if pieces else np.empty(0)
            if values.size != item.count:
                raise CheckError(f"the values of {what} changed while they were read ({values.size} of {item.count})")
            selections[index].values = values
    return selections


def _classify(pending, selections, gathered, wanted):
    """Resolve constant intervals; pick the ones to gather (within the budget) and to split."""
    gather, split, budget = [], [], GATHER_BUDGET
    for interval in sorted(pending, key=lambda i: i.count):
        if interval.low == interval.high:
            _resolve(selections[interval.column], interval, np.full(interval.count, interval.low), gathered,
                     wanted[interval.column].ranks is None)
        elif interval.count <= GATHER_MAX and interval.count <= budget:
            budget -= interval.count
            gather.append(interval)
        else:
            split.append(_Split.of(interval, _bucket_count(interval)))
    return gather, split


def _resolve(selection: Selection, interval: _Interval, values: np.ndarray, gathered, keep_all: bool) -> None:
    """The interval's sorted values are known: record its wanted ranks."""
    if keep_all:
        gathered.setdefault(interval.column, []).append((interval.below, values))
    for rank in interval.ranks.tolist():
        value = float(values[rank - interval.below])
        selection.value[rank] = value
        selection.below[rank] = interval.below + int(np.searchsorted(values, value, side="left"))


def _finite_values(item: Wanted) -> str:
    column = item.column
    return f"SELECT {column.value} AS v FROM {{frame}} WHERE {column.finite}"


def _gather(runner, frame, wanted, gather, previous, selections, gathered, what) -> None:
    """Copy the values of the chosen intervals to the driver, one query for every column."""
    by_column: dict[int, list[_Interval]] = {}
    for interval in gather:
        by_column.setdefault(interval.column, []).append(interval)
    parts = []
    for index, intervals in by_column.items():
        condition = _gather_condition(intervals, previous.get(index, []))
        parts.append(f"SELECT {index} AS c, v FROM ({_finite_values(wanted[index])}) WHERE {condition}")
    table = runner.table(" UNION ALL ".join(parts), f"the values near the wanted ranks of {what}", frame=frame)
    columns = table.column("c").to_numpy()
    values = table.column("v").to_numpy()
    for index, intervals in by_column.items():
        mine = np.sort(values[columns == index])
        for interval in intervals:
            start = int(np.searchsorted(mine, interval.low, side="left"))
            stop = int(np.searchsorted(mine, interval.high, side="right"))
            if stop - start != interval.count:
                raise CheckError(f"the values of {what} changed while they were read "
                                 f"({stop - start} values where {interval.count} were counted)")
            _resolve(selections[index], interval, mine[start:stop], gathered, wanted[index].ranks is None)


def _gather_condition(intervals: list[_Interval], splits: list[_Split]) -> str:
    """Rows of the intervals: by value range for a few, by bucket key (a hash set) for many."""
    if len(intervals) <= 32 or not splits or any(i.key < 0 for i in intervals):
        return " OR ".join(f"(v >= {double(i.low)} AND v <= {double(i.high)})" for i in intervals)
    keys = ", ".join(str(interval.key) for interval in intervals)
    return f"{_key_sql(splits, 'v')} IN ({keys})"


def _key_sql(splits: list[_Split], v: str) -> str:
    """interval index * KEY_STRIDE + bucket, under the given splits of one column."""
    cases = " ".join(f"WHEN {s.member_sql(v)} THEN {n * KEY_STRIDE} + {s.bucket_sql(v)}" for n, s in enumerate(splits))
    return f"(CASE {cases} END)"


def _split(runner, frame, wanted, splits: list[_Split], what: str) -> list[_Interval]:
    """Bucket counts, min and max of every split interval (one GROUP BY over every column), and
    the buckets that hold wanted ranks, as the next round's intervals."""
    by_column: dict[int, list[_Split]] = {}
    for piece in splits:
        by_column.setdefault(piece.interval.column, []).append(piece)
    parts = []
    for index, pieces in by_column.items():
        parts.append(f"SELECT {index} AS c, {_key_sql(pieces, 'v')} AS k, v FROM ({_finite_values(wanted[index])})")
    query = (f"SELECT c, k, count(1) AS n, min(v) AS lo, max(v) AS hi FROM ({' UNION ALL '.join(parts)}) "
             f"WHERE k IS NOT NULL GROUP BY c, k")
    table = runner.table(query, f"bucket counts of {what}", frame=frame)
    order = np.lexsort((table.column("k").to_numpy(), table.column("c").to_numpy()))
    columns = table.column("c").to_numpy()[order]
    keys = table.column("k").to_numpy()[order]
    counts = table.column("n").to_numpy()[order].astype(np.int64)
    lows = table.column("lo").to_numpy()[order]
    highs = table.column("hi").to_numpy()[order]
    following: list[_Interval] = []
    for index, pieces in by_column.items():
        for n, piece in enumerate(pieces):
            inside = np.flatnonzero((columns == index) & (keys // KEY_STRIDE == n))
            interval = piece.interval
            found = counts[inside]
            if int(found.sum()) != interval.count:
                raise CheckError(f"the values of {what} changed while they were read "
                                 f"({int(found.sum())} values where {interval.count} were counted)")
            below = interval.below + np.concatenate([[0], np.cumsum(found)])
            which = np.searchsorted(below, interval.ranks, side="right") - 1
            for bucket in np.unique(which).tolist():
                row = inside[bucket]
                following.append(_Interval(index, float(lows[row]), float(highs[row]), int(below[bucket]),
                                           int(found[bucket]), interval.ranks[which == bucket], int(keys[row])))
    return following


# ---- counts below bin edges, from order statistics ---------------------------------------------
def counts_below(edges: np.ndarray, previous: np.ndarray, following: np.ndarray, selection: Selection) -> list[int | None]:
    """For each edge e = interpolate(x_p, x_q, γ) of ascending order statistics x_p <= x_q
    (q = p + 1, or q = p at the ends), the number of values strictly below e: below[p] when e
    equals x_p, below[q] when it equals x_q, and p + 1 strictly between (no value lies strictly
    between consecutive order statistics). None where e fell outside [x_p, x_q] (rounding)."""
    found: list[int | None] = []
    for e, p, q in zip(edges.tolist(), previous.tolist(), following.tolist()):
        low, high = selection.value[p], selection.value[q]
        if e == low:
            found.append(selection.below[p])
        elif e == high:
            found.append(selection.below[q])
        elif low < e < high:
            found.append(p + 1)
        else:
            found.append(None)
    return found


# ---- KS D and Wasserstein W1 over two samples -------------------------------------------------------
@dataclass
class Side:
    """One sample of a two-sample walk: SQL selecting its finite values as `v` from {frame}."""

    frame: Any
    values_sql: str
    count: int
    low: float
    high: float


def sample_walks(runner: Runner, pairs: list[tuple[Side, Side]], what: str) -> list[tuple[float, float]]:
    """KS D and W1 of each pair of samples a (n values) and b (m values), as the local merge walk
    (statistics.walk) computes them, without bringing a sample to the driver; two queries for
    every pair of a scan together.

    The distinct values x_1 < … < x_k of both samples, with their counts in each (GROUP BY v),
    are partitioned into WALK_BUCKETS ranges of value; the per-range totals (at most
    WALK_BUCKETS rows a pair) give each range the counts below it and the first value after it.
    A window over each range, ordered by value, then gives i_j and j_j, the values of a and of b
    at or below x_j, and x_(j+1): D·n·m = max |i_j·m − j_j·n| (exact 64-bit integers) and
    W1·n·m = Σ |i_j·m − j_j·n|·(x_(j+1) − x_j), each term the DOUBLE product the local walk forms,
    summed exactly (ExactSum). D equals the local value bit for bit while n·m < 2**53; W1 differs
    from the local compensated sum by its rounding: at most 2e-15 relative. The window never
    holds more than one range's distinct values, whatever the rows."""
    results: list[tuple[float, float] | None] = [None] * len(pairs)
    frames: dict[str, Any] = {}
    names: dict[int, str] = {}

    def frame_name(frame) -> str:
        if id(frame) not in names:
            names[id(frame)] = f"f{len(names)}"
            frames[names[id(frame)]] = frame
        return names[id(frame)]

    unions, buckets, walked = [], {}, []
    for p, (a, b) in enumerate(pairs):
        low, high = min(a.low, b.low), max(a.high, b.high)
        if low == high:  # one value in both samples: the ECDFs agree everywhere
            results[p] = (0.0, 0.0)
            continue
        walked.append(p)
        for side, ia, ib in ((a, 1, 0), (b, 0, 1)):
            values = side.values_sql.replace("{frame}", "{" + frame_name(side.frame) + "}")
            unions.append(f"SELECT {p} AS p, v, {ia} AS ia, {ib} AS ib FROM ({values})")
        split = _Split.of(_Interval(0, low, high, 0, a.count + b.count, np.empty(0, dtype=np.int64)), WALK_BUCKETS)
        buckets[p] = split.bucket_sql("v")
    if not walked:
        return results  # type: ignore[return-value]
    union = " UNION ALL ".join(unions)
    bucket = "CASE p " + " ".join(f"WHEN {p} THEN {buckets[p]}" for p in walked) + " END"
    totals = runner.table(f"SELECT p, {bucket} AS w, sum(ia) AS na, sum(ib) AS nb, min(v) AS first "
                          f"FROM ({union}) GROUP BY 1, 2", f"the value ranges of {what}", **frames)
    for p in walked:
        mine = totals.column("p").to_numpy() == p
        a, b = pairs[p]
        if int(totals.column("na").to_numpy()[mine].sum()) != a.count or \
                int(totals.column("nb").to_numpy()[mine].sum()) != b.count:
            raise CheckError(f"the values of {what} changed while they were read")
    exact = {}
    for p in walked:
        a, b = pairs[p]
        span = float(a.count) * float(b.count) * (max(a.high, b.high) - min(a.low, b.low))
        exact[p] = ExactSum(exponent_above(span) if math.isfinite(span) else 1024)
    distance = "CASE p " + " ".join(f"WHEN {p} THEN abs(i * {bigint(pairs[p][1].count)} - j * {bigint(pairs[p][0].count)})"
                                    for p in walked) + " END"
    term = f"CAST({distance} AS DOUBLE) * (nxt - v)"
    sums = []
    for k in range(LIMBS + 1):
        cases = []
        for p in walked:
            parts = exact[p].aggregates(term)
            if k < len(parts) - 1 or k == LIMBS:
                inner = parts[min(k, len(parts) - 1)][len("sum("):-1]
                cases.append(f"WHEN {p} THEN {inner}")
        sums.append(f"sum(CASE p {' '.join(cases)} END) AS s{k}" if cases else f"0 AS s{k}")
    window = "PARTITION BY g.p, g.w ORDER BY g.v"
    walk = (
        f"SELECT g.p, g.v, "
        f"sum(g.ca) OVER ({window} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) + o.before_a AS i, "
        f"sum(g.cb) OVER ({window} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) + o.before_b AS j, "
        f"coalesce(lead(g.v) OVER ({window}), o.next_first) AS nxt "
        f"FROM (SELECT p, v, {bucket} AS w, sum(ia) AS ca, sum(ib) AS cb FROM ({union}) GROUP BY p, v) g "
        f"JOIN {{offsets}} o ON g.p = o.p AND g.w = o.w"
    )
    table = runner.table(f"SELECT p, max({distance}) AS d, count_if(abs({term}) = {INFINITY}) AS infinite, "
                         f"{', '.join(sums)} FROM ({walk}) GROUP BY p",
                         f"the KS/Wasserstein walk of {what}", offsets=runner.frame(_walk_offsets(totals, walked)), **frames)
    rows = {row["p"]: row for row in table.to_pylist()}
    for p in walked:
        a, b = pairs[p]
        row = rows.get(p, {})
        scale = float(a.count) * float(b.count)
        d = float(row.get("d") or 0) / scale
        if row.get("infinite"):
            results[p] = (d, math.inf)
            continue
        limbs = exact[p].limbs
        found = [row.get(f"s{k}") for k in range(limbs)] + [row.get(f"s{LIMBS}")]
        results[p] = (d, float(exact[p].value(found)) / scale)
    return results  # type: ignore[return-value]


def _walk_offsets(totals, walked: list[int]):
    """Per pair and value range: the values of a and of b in the ranges before it, and the
    first value of the pair's next non-empty range (None after the last)."""
    import pyarrow as pa

    order = np.lexsort((totals.column("w").to_numpy(), totals.column("p").to_numpy()))
    p = totals.column("p").to_numpy()[order]
    w = totals.column("w").to_numpy()[order]
    na = totals.column("na").to_numpy()[order].astype(np.int64)
    nb = totals.column("nb").to_numpy()[order].astype(np.int64)
    first = totals.column("first").to_numpy()[order].astype(np.float64)
    before_a, before_b, next_first = np.zeros(len(p), np.int64), np.zeros(len(p), np.int64), [None] * len(p)
    for pair in walked:
        rows = np.flatnonzero(p == pair)
        before_a[rows] = np.concatenate([[0], np.cumsum(na[rows])[:-1]])
        before_b[rows] = np.concatenate([[0], np.cumsum(nb[rows])[:-1]])
        for here, there in zip(rows[:-1].tolist(), rows[1:].tolist()):
            next_first[here] = float(first[there])
    return pa.table({"p": pa.array(p, pa.int32()), "w": pa.array(w, pa.int32()), "before_a": pa.array(before_a, pa.int64()),
                     "before_b": pa.array(before_b, pa.int64()), "next_first": pa.array(next_first, pa.float64())})
