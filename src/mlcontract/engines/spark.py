"""The Spark engine ("spark" in engines.ENGINES): the same plan, computed by Apache Spark (docs/spark.md).

`SparkBackend(settings, progress)` computes a plan's data requests with Spark SQL (aggregates,
GROUP BY, GROUPING SETS, window functions; no Python on the executors), on a classic session or
over Spark Connect, with the numbers of the local engine:

- counts, rates, min/max (an integer column's extremes exact, also beyond 2**53), quantiles and
  quantile bin edges and histogram counts: equal to the local engine's, bit for bit;
- mean and m2 from exact sums (ExactSum), so mean/std agree to ~1e-15 relative;
- KS D equal bit for bit (while n·m < 2**53), W1 within 2e-15 relative (sample_walks).

The driver holds what a scan returns, never the rows: one row of aggregates per pass, bucket
counts and the values of the few buckets holding wanted order statistics, value counts of
columns with at most MAX_COUNTED_KEYS distinct values. Model, robustness, latency and history
work (plan.other) runs on the driver through the shared handlers (models.handlers), on datasets
collected up to MAX_COLLECT_ROWS rows; above that those checks are errors that say so.

Spark's failures (a missing path, a bad URI, an unreachable cluster, an executor out of memory)
become CheckErrors with one escaped line, never a JVM stack trace.

The module has two halves: the distributed arithmetic as Spark SQL text (Runner, Aggregates,
ExactSum, select_ranks, sample_walks), then the engine that plans a scan's queries with it.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..errors import CheckError, DataError, UsageError
from ..escape import printable
from ..plan import requests as rq
from .base import Inputs, Progress, Settings

if TYPE_CHECKING:
    from ..plan import Plan

# The options the engine reads from Settings.options.
SETTINGS = frozenset({"session", "master", "remote", "conf"})
# Model checks read their dataset into the driver (a model predicts in this process): up to this
# many rows; a larger dataset makes them an `error` that says so (fail closed).
MAX_COLLECT_ROWS = 1_000_000
# Value counts (categorical psi/js/…, distinct, unique_rate, unseen_rate) come to the driver for
# columns with at most this many distinct values; above it they are an `error`.
MAX_COUNTED_KEYS = 1_000_000
# A KS/Wasserstein pair whose samples both have at most this many finite values is walked on the
# driver with the local kernel (bit-identical); larger ones by spark_sql.sample_walk.
WALK_COLLECT = 10_000
# scipy's exact KS p-value needs the samples themselves up to this size (statistics._KS_EXACT_LIMIT):
# such a column's SortedValues is collected (bounded); a larger one is only its order statistics.
SMALL_SAMPLE = 10_000
# Spark Connect: how often to retry reaching the server before the run is an error (the client's
# default retries for ten minutes).
CONNECT_RETRIES = 4

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_INDEX = re.compile(r"__index_level_\d+__")


class SparkUnavailable(UsageError):
    """Spark cannot be started or reached (pyspark missing, no Java, cluster unreachable)."""


# ==== the distributed arithmetic, as Spark SQL text ========================================
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
    before_a, before_b = np.zeros(len(p), np.int64), np.zeros(len(p), np.int64)
    next_first: list[float | None] = [None] * len(p)
    for pair in walked:
        rows = np.flatnonzero(p == pair)
        before_a[rows] = np.concatenate([[0], np.cumsum(na[rows])[:-1]])
        before_b[rows] = np.concatenate([[0], np.cumsum(nb[rows])[:-1]])
        for here, there in zip(rows[:-1].tolist(), rows[1:].tolist()):
            next_first[here] = float(first[there])
    return pa.table({"p": pa.array(p, pa.int32()), "w": pa.array(w, pa.int32()), "before_a": pa.array(before_a, pa.int64()),
                     "before_b": pa.array(before_b, pa.int64()), "next_first": pa.array(next_first, pa.float64())})


# ==== the engine ============================================================================
# ---- errors -------------------------------------------------------------------------------------------
def describe_error(error: BaseException) -> str:
    """One escaped line for a Spark failure: the error class and message, without the JVM or
    server stack trace that py4j and Spark Connect append."""
    text = str(error).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("An error occurred while calling")]
    details = re.search(r'details = "([^"]*)"', text)  # a raw gRPC error
    if details:
        line = details.group(1)
    elif lines:
        line = lines[0].lstrip(": ").strip()
    else:
        line = type(error).__name__
    line = re.sub(r"\s*SQLSTATE: \w+\s*$", "", line)
    return printable(line, 300)


# ---- sessions -------------------------------------------------------------------------------------------
# Sessions this process started, by (master, remote, conf): compiling a contract (its schemas)
# and running it share one.
_SESSIONS: dict[tuple, Any] = {}


def start_session(master: str | None = None, remote: str | None = None, conf: dict[str, str] | None = None):
    """A Spark session: Spark Connect at `remote` (sc://HOST:PORT), else a classic session with
    `master` (default local[*]); `conf` are spark.* settings. SparkUnavailable when it cannot.
    One per (master, remote, conf) in this process."""
    key = (master, remote, tuple(sorted((conf or {}).items())))
    if key not in _SESSIONS:
        _SESSIONS[key] = _start_session(master, remote, conf)
    return _SESSIONS[key]


def _start_session(master: str | None, remote: str | None, conf: dict[str, str] | None):
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable("the Spark engine needs pyspark: pip install 'mlcontract[spark]'") from None
    settings = dict(conf or {})
    where = f"Spark Connect at {printable(remote, 120)}" if remote else f"Spark ({printable(master or 'local[*]', 120)})"
    if remote:
        _probe(remote, where)
    try:
        if remote:
            builder = SparkSession.builder.remote(remote)
        else:
            builder = SparkSession.builder.master(master or "local[*]")
            settings.setdefault("spark.ui.showConsoleProgress", "false")
        builder = builder.appName("mlcontract")
        for key, value in settings.items():
            builder = builder.config(key, value)
        # A Connect session of its own (getOrCreate could hand back another server's session).
        session = builder.create() if remote else builder.getOrCreate()
    except Exception as error:  # noqa: BLE001 - no Java, a bad master URL, a refused setting
        raise SparkUnavailable(f"cannot start {where}: {describe_error(error)}") from None
    if not remote and hasattr(session, "sparkContext"):
        session.sparkContext.setLogLevel("ERROR")  # Spark's WARN lines are not the report's
    return session


def _probe(remote: str, where: str) -> None:
    """Reach the Connect server once with a few quick retries (CONNECT_RETRIES), before the
    session's own client, which retries for ten minutes: an unreachable cluster is an error in
    seconds, not a hung CI job."""
    try:
        from pyspark.sql.connect.client import SparkConnectClient

        client = SparkConnectClient(remote, retry_policy={"max_retries": CONNECT_RETRIES, "max_backoff": 2_000})
    except Exception as error:  # noqa: BLE001 - a malformed sc:// URL
        raise SparkUnavailable(f"cannot reach {where}: {describe_error(error)}") from None
    try:
        client.get_configs("spark.app.name")
    except Exception as error:  # noqa: BLE001
        raise SparkUnavailable(f"cannot reach {where}: {describe_error(error)}") from None
    finally:
        try:
            client.close()
        except Exception:  # noqa: BLE001, S110 - closing a channel that never opened
            pass


def parse_conf(pairs: list[str]) -> dict[str, str]:
    """`--spark-conf key=value` options as a dict; UsageError for one without `=`."""
    conf = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--spark-conf takes key=value, got {printable(pair, 80)!r}")
        conf[key.strip()] = value
    return conf


def is_spark_frame(value: Any) -> bool:
    """A DataFrame of a classic or a Spark Connect session."""
    return type(value).__module__.startswith("pyspark.sql") and hasattr(value, "sparkSession")


# ---- types --------------------------------------------------------------------------------------------
_SIMPLE_TYPES = {
    "ByteType": "Int8", "ShortType": "Int16", "IntegerType": "Int32", "LongType": "Int64",
    "FloatType": "Float32", "DoubleType": "Float64", "StringType": "String", "CharType": "String",
    "VarcharType": "String", "BooleanType": "Boolean", "DateType": "Date", "BinaryType": "Binary",
    "NullType": "Null", "TimestampType": "Datetime(time_unit='us', time_zone='UTC')",
    "TimestampNTZType": "Datetime(time_unit='us', time_zone=None)",
}
_NUMERIC = {"ByteType", "ShortType", "IntegerType", "LongType", "FloatType", "DoubleType", "DecimalType"}
_CATEGORICAL = {"StringType", "CharType", "VarcharType", "BooleanType"}


def dtype_name(spark_type) -> str:
    """The Polars name of the type the local engine would see for the same data (what `schema`
    checks and profiles show): LongType → Int64, DoubleType → Float64, StringType → String, …"""
    name = type(spark_type).__name__
    if name in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[name]
    if name == "DecimalType":
        return f"Decimal(precision={spark_type.precision}, scale={spark_type.scale})"
    if name == "ArrayType":
        return f"List({dtype_name(spark_type.elementType)})"
    if name == "StructType":
        return "Struct({" + ", ".join(f"{f.name!r}: {dtype_name(f.dataType)}" for f in spark_type.fields) + "})"
    return spark_type.simpleString()


def frame_schema(frame) -> dict[str, tuple[str, str]]:
    """{column: (kind, dtype name)} of a Spark DataFrame, as sources.schema_of gives for a file
    (for resolving a contract against a Spark DataFrame passed to compile() or run())."""
    return {f.name: (column_kind(f.dataType), dtype_name(f.dataType)) for f in frame.schema.fields}


def column_kind(spark_type) -> str:
    from ..statistics.base import CATEGORICAL, NUMERIC, OTHER

    name = type(spark_type).__name__
    return NUMERIC if name in _NUMERIC else CATEGORICAL if name in _CATEGORICAL else OTHER


def numeric_column(name: str, spark_type) -> NumericColumn:
    kind = type(spark_type).__name__
    return NumericColumn(name, floating=kind in ("FloatType", "DoubleType"),
                            integer=kind in ("ByteType", "ShortType", "IntegerType", "LongType"),
                            is_double=kind == "DoubleType")


# ---- data sources -----------------------------------------------------------------------------------
def location(source) -> str:
    """Where Spark reads a path dataset: a URI as written (s3a://, hdfs://, abfss://, file://,
    gs://, …), else the local path resolved against the contract's folder, as file: (so a
    cluster's default filesystem does not re-interpret it). A path is literal unless the
    contract says glob=true: Hadoop's glob characters in it are escaped."""
    written = source.written or ""
    if _URI.match(written):
        return written
    if source.path is None:
        raise DataError(f"dataset `{source.name}` was declared without data; pass it to run(frames=...)")
    text = str(source.path)
    if dict(source.options).get("glob") is not True:
        text = re.sub(r"([\\*?\[\]{}])", r"\\\1", text)
    return "file:" + text


def table_name(source) -> str:
    """The catalog name of a table("catalog.schema.name") dataset."""
    name = dict(source.options).get("table") or source.written
    if not name:
        raise DataError(f"dataset `{source.name}`: table() needs a name, e.g. table(\"main.sales.orders\")")
    return str(name)


def read_source(session, source, frame: Any = None):
    """A Spark DataFrame over a declared dataset (or over a frame passed in). DataError with
    one line when Spark cannot read it."""
    what = f"dataset `{source.name}`"
    view = [word for word, given in (("`where`", getattr(source, "where", None) is not None),
                                     ("string lengths", getattr(source, "lengths", False)),
                                     ("`missing` values", bool(getattr(source, "missing", ()))),
                                     ("a view", getattr(source, "inner", None) is not None)) if given]
    if view:  # never the base dataset's rows in their place (fail closed)
        raise DataError(f"{what}: the Spark engine does not read {view[0]} yet; run this contract on the local engine")
    if frame is not None:
        return as_spark(session, frame, source.name)
    kind = source.format
    if kind == "profile":
        raise DataError(f"{what} is a profile: it has no rows to scan")
    if kind == "ipc":
        raise DataError(f"{what}: the Spark engine cannot read Arrow IPC (Feather) files, Spark has no reader for "
                        "them; store the data as parquet, or run it on the local engine")
    if kind not in ("parquet", "csv", "ndjson", "table"):
        raise DataError(f"{what}: the Spark engine cannot read {printable(kind, 40)} datasets")
    shown = printable(table_name(source) if kind == "table" else (source.written or source.path), 200)
    if kind != "table" and not _URI.match(source.written or "") and source.path is not None:
        from ..sources.files import check_readable

        check_readable(source.path, what, source.written, folders=True)
    options = {k: v for k, v in source.options if k not in ("glob", "table")}
    try:
        if kind == "table":
            frame = session.read.table(table_name(source))
        elif kind == "parquet":
            frame = session.read.parquet(location(source))
        elif kind == "ndjson":
            frame = session.read.options(mode="FAILFAST").json(location(source))
        else:
            frame = session.read.options(**_csv_options(options, what)).csv(location(source))
            frame = _widen_integers(frame)
        frame.schema  # noqa: B018 - Spark Connect reads lazily: a missing table fails here, not later
    except CheckError:
        raise
    except Exception as error:  # noqa: BLE001
        raise DataError(f"{what}: cannot read {shown}: {describe_error(error)}") from None
    _refuse_repeated_names(frame, what, shown)
    return frame


def _csv_options(options: dict, what: str) -> dict:
    """The contract's csv() options (Polars' names) as Spark's CSV reader options."""
    spark = {"header": "true", "inferSchema": "true", "mode": "FAILFAST"}
    for key, value in options.items():
        if key == "separator":
            spark["sep"] = value
        elif key == "has_header":
            spark["header"] = "true" if value else "false"
        elif key == "quote_char":
            spark["quote"] = value if value is not None else "\u0000"
        elif key == "null_values" and isinstance(value, str):
            spark["nullValue"] = value
        elif key == "encoding":
            spark["encoding"] = "UTF-8" if str(value).startswith("utf8") else value
        elif key == "infer_schema_length":
            continue  # Spark infers from every row
        else:
            raise DataError(f"{what}: the Spark engine's CSV reader has no equivalent of `{key}={printable(value, 40)}`")
    return spark


def _widen_integers(frame):
    """CSV integers as BIGINT, as Polars infers them (Spark infers INT when they fit)."""
    fields = frame.schema.fields
    if not any(type(f.dataType).__name__ == "IntegerType" for f in fields):
        return frame
    return frame.selectExpr(*[f"CAST({ident(f.name)} AS BIGINT) AS {ident(f.name)}"
                              if type(f.dataType).__name__ == "IntegerType" else ident(f.name) for f in fields])


def _refuse_repeated_names(frame, what: str, shown: str) -> None:
    """Spark resolves names case-insensitively by default: `Age` and `age` would be one column."""
    seen: dict[str, str] = {}
    for name in frame.columns:
        if name.lower() in seen:
            raise DataError(f"{what}: {shown} has the columns `{printable(seen[name.lower()], 80)}` and "
                            f"`{printable(name, 80)}`, which Spark does not tell apart; give them distinct names")
        seen[name.lower()] = name


def as_spark(session, frame: Any, name: str):
    """A frame passed through the API: a Spark DataFrame as it is; a Polars or pandas frame
    (small: tests, notebooks) through Arrow."""
    if is_spark_frame(frame):
        return frame
    try:
        import pyarrow as pa

        if hasattr(frame, "to_arrow"):  # Polars
            table = frame.collect().to_arrow() if hasattr(frame, "collect") else frame.to_arrow()
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        return session.createDataFrame(table)
    except Exception as error:  # noqa: BLE001
        raise DataError(f"dataset `{name}`: cannot turn the frame passed in into a Spark DataFrame: "
                        f"{describe_error(error)}") from None


def index_columns(source, frame) -> tuple[str, ...]:
    """Columns holding a pandas index (not features): named by a local parquet file's pandas
    metadata, or pandas' reserved `__index_level_N__` names."""
    found: list[str] = []
    if source is not None and source.format == "parquet" and source.path is not None and not _URI.match(source.written or ""):
        from ..sources import schema_of

        try:
            found = [c for c in schema_of(source).index if c in frame.columns]
        except CheckError:  # metadata that cannot be read locally: only pandas' reserved names
            found = []
    return tuple(found + [c for c in frame.columns if _INDEX.fullmatch(c) and c not in found])


# ---- what the Spark engine returns for the sorted values of a large column ---------------------------
class SparkSample:
    """Stands in for `SortedValues` of a column with more than SMALL_SAMPLE finite values: its
    size and the order statistics the contract's quantiles need (spark_sql.select_ranks), not
    the values. statistics.quantile and statistics.ks_pvalue (large samples: sizes only) read
    it as they read a sorted array; any other rank is a CheckError, never a guess."""

    ndim = 1

    def __init__(self, dataset: str, column: str, size: int, known: dict[int, float]):
        self.dataset, self.column, self._size, self.known = dataset, column, int(size), dict(known)

    @property
    def size(self) -> int:
        return self._size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index):
        positions = np.asarray(index)
        flat = np.where(positions < 0, positions + self._size, positions).ravel().tolist()
        missing = [p for p in flat if p not in self.known]
        if missing:
            raise CheckError(f"the Spark engine did not compute order statistic {missing[0]} of `{self.column}` in "
                             f"{self.dataset} (it computes those the contract's quantiles need)")
        values = np.array([self.known[p] for p in flat], dtype=np.float64)
        return values.reshape(positions.shape) if positions.ndim else float(values[0])

    def __repr__(self) -> str:
        return f"SparkSample({self.dataset}.{self.column}, size={self._size}, known={len(self.known)})"


# ---- the backend ------------------------------------------------------------------------------------------
@dataclass
class ColumnStats:
    """Pass A of one numeric column: counts, extremes (exact ints for integer columns), and the
    average used as the shift of the second moments."""

    rows: int
    nulls: int
    nans: int
    pos_inf: int
    neg_inf: int
    count: int
    min: Any
    max: Any
    shift: float | None

    @property
    def low(self) -> float:
        return float(self.min)

    @property
    def high(self) -> float:
        return float(self.max)


class SparkBackend:
    """Computes a plan's requests with Spark ("spark" in engines.ENGINES).

    `settings.options` says which Spark: `session` (a SparkSession, classic or Connect, used as
    it is and never stopped), else one started on the first run from `remote` (sc://HOST:PORT),
    `master` (default local[*]) and `conf` ({spark.* setting: value}) — shared by every backend
    of this process that asks for the same (start_session)."""

    name: ClassVar[str] = "spark"

    def __init__(self, settings: Settings | None = None, progress: Progress | None = None):
        self.settings = settings if settings is not None else Settings()
        options = dict(self.settings.options)
        unknown = sorted(set(options) - SETTINGS)
        if unknown:
            raise UsageError(f"the Spark engine has no setting `{printable(unknown[0], 40)}` "
                             f"(its settings: {', '.join(sorted(SETTINGS))})")
        self._session = options.get("session")
        self.master, self.remote = options.get("master"), options.get("remote")
        self.conf = dict(options.get("conf") or {})
        self.progress = progress
        self.queries = 0  # Spark SQL queries run (the tests check that a scan's work is combined)
        self.computed = 0  # requests computed (as the local engine counts them)
        self.inputs: Inputs = Inputs({})
        self._opened: dict[str, Any] = {}
        self._stats: dict[tuple[str, str], ColumnStats] = {}

    # ---- compiling: the schemas as Spark reads them --------------------------------------------------
    reads_tables: ClassVar[bool] = True  # table("catalog.schema.name") datasets (resolve.declarations)

    def schema_of(self, source, frame: Any = None):
        """The sources.base.Schema of a dataset as this engine reads it: Spark's types under the
        local engine's names (frame_schema), and its pandas-index columns, without reading the
        rows. A profile's schema is its own. DataError when Spark cannot read the source."""
        from ..sources import schema_of
        from ..sources.base import Schema

        if source.format == "profile" and frame is None:
            return schema_of(source)
        spark_frame = read_source(self.session, source, frame)
        return Schema(frame_schema(spark_frame), () if frame is not None else index_columns(source, spark_frame))

    # ---- session ---------------------------------------------------------------------------------
    @property
    def session(self):
        if self._session is None:
            self._session = start_session(self.master, self.remote, self.conf)
        return self._session

    def _runner(self) -> Runner:
        progress = self.progress
        note = (lambda text: progress.note(f"spark: {text}")) if progress is not None else None
        return Runner(self.session, describe_error, note)

    # ---- runs --------------------------------------------------------------------------------------
    def run(self, plan: Plan, inputs: Inputs) -> dict[rq.Request, Any]:
        """Every request of the plan: its value, or the CheckError that computing it met."""
        self.inputs = inputs
        self._opened = {}
        self._stats = {}
        got: dict[rq.Request, Any] = {}
        try:
            runner = self._runner()
        except SparkUnavailable as error:  # every request, data or model, is an error that says why
            failure = CheckError(str(error))
            return {request: failure for request in plan.requests}
        try:
            for scan in plan.scans:
                if scan.mode == "profile":
                    self._serve_profile(scan, got, runner)
                else:
                    _ScanWork(self, plan, scan, runner, got).compute()
                self.computed += len(scan.requests)
            if plan.other:
                from ..models.handlers import run_handlers

                run_handlers(plan, inputs.with_reader(self._collect), got, self.progress)
                self.computed += len(plan.other)
        finally:
            self.queries += runner.queries
        return got

    def dataset(self, name: str):
        """The run's Spark DataFrame of a declared dataset and its pandas-index columns (opened
        once per run); CheckError when Spark cannot read it."""
        if name not in self._opened:
            source = self.inputs.datasets[name]
            try:
                frame = read_source(self.session, source, self.inputs.dataset_objects.get(name))
                self._opened[name] = (frame, index_columns(source, frame))
            except CheckError as error:
                self._opened[name] = error
        opened = self._opened[name]
        if isinstance(opened, BaseException):
            raise opened
        return opened

    # ---- model, robustness, latency and history work: on the driver ------------------------------
    def _collect(self, inputs: Inputs, name: str):
        """The whole dataset as a Polars DataFrame on the driver, for model work (the reader of
        the handlers' Inputs): at most MAX_COLLECT_ROWS rows, else a DataError that says so."""
        import polars as pl

        frame, index = self.dataset(name)
        try:
            table = frame.limit(MAX_COLLECT_ROWS + 1).toArrow()
        except Exception as error:  # noqa: BLE001 - py4j, gRPC and Spark errors of every kind
            raise DataError(f"dataset `{name}`: Spark failed reading it for the model checks: "
                            f"{describe_error(error)}") from None
        if table.num_rows > MAX_COLLECT_ROWS:
            raise DataError(f"dataset `{name}` has more than {MAX_COLLECT_ROWS:,} rows: model checks on the Spark "
                            f"engine read their dataset into the driver, up to {MAX_COLLECT_ROWS:,} rows "
                            "(mlcontract.engines.spark.MAX_COLLECT_ROWS); give them a sample of it")
        collected = pl.DataFrame(table)
        return collected.drop([c for c in index if c in collected.columns])

    # ---- profile datasets in a plan -------------------------------------------------------------------
    def _serve_profile(self, scan, got: dict, runner: Runner) -> None:
        from ..profiles import load_profile
        from .profile import serve

        source = self.inputs.datasets[scan.dataset]
        try:
            profile = load_profile(source.path, source.name)
        except CheckError as error:
            for request in scan.requests:
                got[request] = error
            return
        for request in scan.requests:
            against = got.get(rq.SortedValues(request.against, request.name)) \
                if isinstance(request, rq.SampleWalk) else None
            if isinstance(against, SparkSample):  # the other side is a large Spark column
                mine = rq.SortedValues(request.of, request.name)
                served = {**got, mine: _attempt(partial(serve, profile, mine))}
                self._walks(runner, [request], served)
                got[request] = served[request]
            else:
                got[request] = _attempt(partial(serve, profile, request, got))

    # ---- KS and Wasserstein ------------------------------------------------------------------------------
    def _spark_side(self, dataset: str, column: str, got: dict):
        """One sample of a walk: a collected array, or a Spark column (large)."""
        value = got.get(rq.SortedValues(dataset, column))
        if isinstance(value, BaseException):
            raise value
        if value is not None and not isinstance(value, SparkSample):
            return _ArraySide(value)
        stats = self._stats.get((dataset, column))
        if stats is None:
            raise CheckError(f"the values of `{column}` in {dataset} were not computed")
        frame, _ = self.dataset(dataset)
        schema = {f.name: f.dataType for f in frame.schema.fields}
        return _FrameSide(frame, numeric_column(column, schema[column]), stats)

    def _walks(self, runner: Runner, requests: list, got: dict) -> None:
        """KS D and W1 of each SampleWalk: on the driver with the local kernel when both samples
        are small (WALK_COLLECT), otherwise by Spark, every pair of the scan in two queries."""
        from ..statistics.formulas import walk

        batch = []
        for request in requests:
            try:
                mine = self._spark_side(request.of, request.name, got)
                theirs = self._spark_side(request.against, request.name, got)
                if mine.count == 0 or theirs.count == 0:
                    raise CheckError("no finite values to compare (every value is null, NaN or infinite)")
                what = f"`{request.name}` in {request.of} vs {request.against}"
                if mine.count <= WALK_COLLECT and theirs.count <= WALK_COLLECT:
                    got[request] = walk(mine.values(runner, what), theirs.values(runner, what))
                else:
                    batch.append((request, mine, theirs))
            except CheckError as error:
                got[request] = error
        if not batch:
            return
        what = ", ".join(f"`{r.name}`" for r, _, _ in batch) + f" in {batch[0][0].of}"
        found: list[tuple[float, float] | CheckError]
        try:
            found = list(sample_walks(runner, [(a.side(runner), b.side(runner)) for _, a, b in batch], what))
        except CheckError as error:
            found = [error] * len(batch)
        for (request, mine, theirs), value in zip(batch, found):
            got[request] = value if isinstance(value, BaseException) else \
                _attempt(partial(_walk_of, value, mine, theirs, runner, f"`{request.name}` in {request.of}"))

    # ---- profiles ---------------------------------------------------------------------------------------
    def profile(self, data: Any, name: str | None = None):
        """The profile the local engine writes (profiles.profile_frame) for the same rows, of a
        path or URI (parquet file or folder, csv, ndjson), a table("…") DatasetSource, or a Spark
        DataFrame. Counts, extremes, kept values, quantile grid and fine counts are equal to the
        local profile's; the moments agree to ~1e-15 relative."""
        from ..resolve.contract import DatasetSource

        runner = self._runner()
        try:
            if is_spark_frame(data):
                source, label = DatasetSource(name or "data", "frame"), None
                frame = data
            else:
                source = data if isinstance(data, DatasetSource) else _source_of(data, name)
                label = str(data) if not isinstance(data, DatasetSource) else (source.written or source.describe())
                frame = read_source(self.session, source)
            index = index_columns(source, frame)
            return _profile(runner, frame, index, source.name, label)
        finally:
            self.queries += runner.queries


def _source_of(data, name: str | None):
    """A DatasetSource for a path or URI given to `mlc profile`."""
    from ..resolve.contract import DatasetSource
    from ..sources import format_of_path

    text = str(data)
    if _URI.match(text):
        stem = Path(text.rstrip("/").rsplit("/", 1)[-1])
        kind = format_of_path(stem) if stem.suffix else "parquet"  # a folder of parquet files
        return DatasetSource(name or stem.stem, kind, None, written=text)
    path = Path(text)
    kind = "parquet" if path.is_dir() else format_of_path(path)
    return DatasetSource(name or path.stem, kind, path.resolve(), written=text)


def _attempt(compute):
    try:
        return compute()
    except CheckError as error:
        return error
    except MemoryError:
        raise
    except Exception as error:  # noqa: BLE001 - an unexpected library error fails only its checks
        return CheckError(f"{type(error).__name__}: {printable(error)}")


_PENDING = object()


# ---- one scan -------------------------------------------------------------------------------------------
_COMPUTED = (rq.RowCount, rq.SchemaOf, rq.Summary, rq.Counts, rq.SortedValues, rq.Edges, rq.Histogram,
             rq.SampleWalk, rq.OutsideCount, rq.OutsideRange)
_NUMERIC_WORK = (rq.Summary, rq.SortedValues, rq.Edges, rq.Histogram, rq.SampleWalk, rq.OutsideCount, rq.OutsideRange)


class _ScanWork:
    """The requests of one scan, computed in a fixed number of Spark queries over all of its
    columns: pass A (counts, extremes, range counts, histograms on another dataset's edges,
    value-count sizes), the value counts (one GROUPING SETS query), the order statistics
    (select_ranks: a few rounds), pass B (exact moments), then each KS/Wasserstein walk."""

    def __init__(self, backend: SparkBackend, plan, scan, runner: Runner, got: dict):
        self.backend, self.plan, self.scan, self.runner, self.got = backend, plan, scan, runner, got
        self.dataset = scan.dataset
        self.unresolved = []

    unresolved: list  # histograms on own edges left to pass B (_order_statistics)

    def compute(self) -> None:
        try:
            self.frame, index = self.backend.dataset(self.dataset)
        except CheckError as error:
            for request in self.scan.requests:
                self.got[request] = error
            return
        self.types = {f.name: f.dataType for f in self.frame.schema.fields}
        todo = self._triage(index)
        work = [r for r in todo if not isinstance(r, rq.SampleWalk)]
        walked = [r.column for r in todo if isinstance(r, rq.SampleWalk)]
        self.failed = None
        try:
            self._compute(work, walked)
        except CheckError as error:  # pass A failed: nothing of this scan was computed
            self.failed = error
            for request in work:
                self.got.setdefault(request, error)
        walks = [r for r in todo if isinstance(r, rq.SampleWalk)]
        if walks:
            if self.failed is not None:
                for request in walks:
                    self.got[request] = self.failed
            else:
                self.backend._walks(self.runner, walks, self.got)

    def _triage(self, index) -> list:
        """Requests answered without a query (schema) or failing at once (a missing column, a
        numeric statistic of a text column); the rest to compute."""
        from ..statistics.base import NUMERIC

        todo = []
        for request in self.scan.requests:
            column = request.column
            if type(request) not in _COMPUTED:  # a request type added since: an error that says so, never a guess
                self.got[request] = CheckError(f"the Spark engine does not compute {request.describe()} yet; "
                                               "run this check on the local engine")
            elif column is not None and column not in self.types:
                self.got[request] = DataError(f"column `{column}` is missing in dataset `{self.dataset}`")
            elif isinstance(request, rq.SchemaOf):
                self.got[request] = {name: (column_kind(t), dtype_name(t)) for name, t in self.types.items()
                                     if name not in index}
            elif isinstance(request, _NUMERIC_WORK) and column_kind(self.types[column]) != NUMERIC:
                self.got[request] = DataError(f"column `{column}` in dataset `{self.dataset}` is "
                                              f"{dtype_name(self.types[column])}, not numeric")
            else:
                todo.append(request)
        return todo

    def _column(self, name: str) -> NumericColumn:
        return numeric_column(name, self.types[name])

    # ---- the passes -------------------------------------------------------------------------------------
    def _compute(self, work: list, walked: list[str]) -> None:
        numeric = list(dict.fromkeys([*(r.column for r in work if isinstance(r, _NUMERIC_WORK)), *walked]))
        counted = list(dict.fromkeys(r.column for r in work if isinstance(r, rq.Counts)))
        if not work and not numeric:
            return
        first = Aggregates()
        rows_at = first.add("count(1)")
        stats_at = {c: _stats_aggregates(first, self._column(c)) for c in numeric}
        sizes_at = {c: _count_aggregates(first, c, self.types[c]) for c in counted}
        range_at, foreign_at = {}, {}
        for request in work:
            if isinstance(request, (rq.OutsideCount, rq.OutsideRange)):
                range_at[request] = _attempt(partial(self._add_outside, first, request))
            elif isinstance(request, rq.Histogram) and request.edges.of != request.of:
                foreign_at[request] = _attempt(partial(self._foreign_histogram, first, request))
        found = first.run(self.runner, self.frame, f"the counts and extremes of {self.dataset}")
        rows = int(found[rows_at])
        stats = {c: _stats_of(found, at, rows) for c, at in stats_at.items()}
        for column, value in stats.items():
            self.backend._stats[(self.dataset, column)] = value
        for request in work:
            if isinstance(request, rq.RowCount):
                self.got[request] = rows
            elif request in range_at:
                at = range_at[request]
                self.got[request] = at if isinstance(at, BaseException) else int(found[at] or 0)
            elif request in foreign_at:
                self.got[request] = _histogram_of(foreign_at[request], found, stats[request.column].count)
        if counted:
            self._counts(work, counted, sizes_at, found, rows)
        self._order_statistics(work, stats)
        self._moments(work, stats)

    def _add_outside(self, aggregates: Aggregates, request) -> int:
        return aggregates.add(self._outside_sql(request))

    def _outside_sql(self, request) -> str:
        if isinstance(request, rq.OutsideRange):
            bounds = _fetch(self.got, request.bounds)
            if bounds.count == 0:
                raise CheckError(f"`{request.column}` has no finite values in {request.bounds.of}, so it has no range")
            low, high = bounds.min, bounds.max
        else:
            low, high = request.low, request.high
        return _outside_count(self._column(request.column), self.types[request.column], low, high)

    def _foreign_histogram(self, aggregates: Aggregates, request) -> list[int]:
        edges = np.asarray(_fetch(self.got, request.edges), dtype=np.float64)
        column = self._column(request.column)
        return aggregates.add_all([f"count_if({column.finite} AND {column.value} < {double(e)})"
                                   for e in edges.tolist()])

    # ---- value counts ---------------------------------------------------------------------------------------
    def _counts(self, work, counted: list[str], sizes_at: dict, found: list, rows: int) -> None:
        too_many = {}
        for column in counted:
            approx = sizes_at[column][1]
            if approx is not None and (found[approx] or 0) > MAX_COUNTED_KEYS * 1.25:
                too_many[column] = int(found[approx])
        wanted = [c for c in counted if c not in too_many]
        results: dict[str, Any] = {c: _too_many_keys(c, self.dataset, n) for c, n in too_many.items()}
        if wanted:
            try:
                results.update(_value_counts(self.runner, self.frame, wanted, self.types, rows, self.dataset))
            except CheckError as error:
                results.update({c: error for c in wanted})
        for request in work:
            if isinstance(request, rq.Counts):
                self.got[request] = results[request.column]

    # ---- order statistics: edges, histograms on own edges, sorted values ----------------------------------
    def _order_statistics(self, work, stats: dict) -> None:
        needs: dict[str, list] = {}
        for request in work:
            if isinstance(request, (rq.Edges, rq.SortedValues)) or (
                    isinstance(request, rq.Histogram) and request.edges.of == request.of):
                needs.setdefault(request.column, []).append(request)
        if not needs:
            return
        wanted: list[Wanted] = []
        plans: dict[str, int] = {}
        for column, requests in needs.items():
            count = stats[column].count
            ranks, everything = [], False
            for request in requests:
                if isinstance(request, rq.Edges) and count:
                    previous, following, _ = _edge_positions(count, request.bins)
                    ranks += [previous, following]
                elif isinstance(request, rq.SortedValues) and count:
                    if count <= SMALL_SAMPLE:
                        everything = True
                    else:
                        ranks += _quantile_ranks(self.plan, request, count)
            if count == 0:
                everything = True  # the empty sample
            all_ranks = None if everything else (np.unique(np.concatenate(ranks)) if ranks else np.empty(0, dtype=np.int64))
            if all_ranks is None or len(all_ranks):
                plans[column] = len(wanted)
                wanted.append(Wanted(self._column(column), count, stats[column].low if count else 0.0,
                                        stats[column].high if count else 0.0, all_ranks))
        selections = select_ranks(self.runner, self.frame, wanted, f"the columns of {self.dataset}") if wanted else []
        self.unresolved = []
        for column, requests in needs.items():
            selection = selections[plans[column]] if column in plans else Selection()
            count = stats[column].count
            for request in sorted(requests, key=lambda r: isinstance(r, rq.Histogram)):  # edges first
                value = _attempt(partial(self._from_selection, request, selection, count))
                if value is not _PENDING:
                    self.got[request] = value

    def _from_selection(self, request, selection: Selection, count: int):
        if isinstance(request, rq.SortedValues):
            if selection.values is not None:
                return selection.values
            return SparkSample(self.dataset, request.column, count, selection.value)
        if isinstance(request, rq.Edges):
            if count == 0:
                raise CheckError("the reference has no finite values to take bin edges from")
            return _edges(selection, count, request.bins)[0]
        # a histogram on its own edges: the counts below each edge, from the order statistics
        edges = _fetch(self.got, request.edges)
        _, previous, following, raw = _edges(selection, count, request.edges.bins)
        first = {e: i for i, e in reversed(list(enumerate(raw.tolist())))}
        at = [first[e] for e in edges.tolist()]
        below = counts_below(edges, previous[at], following[at], selection)
        if any(b is None for b in below):
            self.unresolved.append((request, edges, below))
            return _PENDING  # counted by pass B (_moments)
        return np.diff(np.array([0, *below, count], dtype=np.int64))

    # ---- exact moments -------------------------------------------------------------------------------------
    def _moments(self, work, stats: dict) -> None:
        summaries = [r for r in work if isinstance(r, rq.Summary)]
        unresolved = self.unresolved
        if not summaries and not unresolved:
            return
        second = Aggregates()
        plans = {r: _moment_aggregates(second, self._column(r.column), stats[r.column]) for r in summaries}
        pending = []
        for request, edges, below in unresolved:
            column = self._column(request.column)
            pending.append((request, edges, below, [
                None if b is not None else second.add(f"count_if({column.finite} AND {column.value} < {double(e)})")
                for e, b in zip(edges.tolist(), below)]))
        try:
            found = second.run(self.runner, self.frame, f"the moments of {self.dataset}") if second.expressions else []
        except CheckError as error:
            for request in [*summaries, *(p[0] for p in pending)]:
                self.got[request] = error
            return
        for request, plan in plans.items():
            self.got[request] = _attempt(partial(_summary_of, stats[request.column], plan, found))
        for request, _edges, below, at in pending:
            counts = [_known_or_counted(b, found, a) for b, a in zip(below, at)]
            self.got[request] = np.diff(np.array([0, *counts, stats[request.column].count], dtype=np.int64))


# ---- pass A pieces ------------------------------------------------------------------------------------
def _stats_aggregates(aggregates: Aggregates, column: NumericColumn) -> list[int]:
    raw, finite = column.raw, column.finite
    exact = raw if column.integer else column.when_finite(column.value)
    parts = [f"count_if({raw} IS NULL)",
             f"count_if(isnan({raw}))" if column.floating else "0",
             f"count_if({raw} = {INFINITY})" if column.floating else "0",
             f"count_if({raw} = -{INFINITY})" if column.floating else "0",
             f"count_if({finite})", f"min({exact})", f"max({exact})", f"avg({column.when_finite(column.value)})"]
    return aggregates.add_all(parts)


def _stats_of(found: list, at: list[int], rows: int) -> ColumnStats:
    nulls, nans, pos_inf, neg_inf, count, low, high, shift = (found[i] for i in at)
    return ColumnStats(rows, int(nulls), int(nans), int(pos_inf), int(neg_inf), int(count), low, high,
                       None if shift is None else float(shift))


def _known_or_counted(known: int | None, found: list, at: int | None) -> int:
    """A count below an edge: known from the order statistics, else the aggregate at `at`."""
    if known is not None:
        return known
    if at is None:
        raise CheckError("a count below a bin edge was neither known nor counted")
    return int(found[at])


def _count_aggregates(aggregates: Aggregates, name: str, spark_type) -> tuple[int, int | None]:
    """The missing values (null, or NaN in a float column) and a cheap estimate of the distinct
    values, which decides whether the counts come to the driver (MAX_COUNTED_KEYS)."""
    raw = ident(name)
    floating = type(spark_type).__name__ in ("FloatType", "DoubleType")
    missing = aggregates.add(f"count_if({raw} IS NULL OR isnan({raw}))" if floating else f"count_if({raw} IS NULL)")
    if type(spark_type).__name__ == "BooleanType":
        return missing, None
    return missing, aggregates.add(f"approx_count_distinct({raw})")


def _outside_count(column: NumericColumn, spark_type, low, high) -> str:
    """count_if over the values outside [low, high] (±inf included, NULL and NaN not), compared
    exactly: integers against integer bounds (ceil/floor), floats against the nearest floats
    inside the bounds (columns.kernel_bounds' rule)."""
    from .columns import _float_at_least, _float_at_most, _integer_bound

    raw = column.raw
    if column.integer:
        smallest, largest = _INTEGER_LIMITS[type(spark_type).__name__]
        lo, hi = _integer_bound(low, math.ceil), _integer_bound(high, math.floor)
        if lo > largest or hi < smallest:
            return f"count_if({raw} IS NOT NULL)"
        parts = []
        if lo > smallest:
            parts.append(f"{raw} < {bigint(lo)}")
        if hi < largest:
            parts.append(f"{raw} > {bigint(hi)}")
        return f"count_if({' OR '.join(parts)})" if parts else "0"
    value = column.value
    lo, hi = _float_at_least(low), _float_at_most(high)
    present = f"NOT isnan({value})" if column.floating else "TRUE"
    return f"count_if({present} AND ({value} < {double(lo)} OR {value} > {double(hi)}))"


_INTEGER_LIMITS = {"ByteType": (-(2 ** 7), 2 ** 7 - 1), "ShortType": (-(2 ** 15), 2 ** 15 - 1),
                   "IntegerType": (-(2 ** 31), 2 ** 31 - 1), "LongType": (-(2 ** 63), 2 ** 63 - 1)}


def _histogram_of(at, found: list, count: int):
    """Counts per bin from the counts below each edge."""
    if isinstance(at, BaseException):
        return at
    below = [int(found[i]) for i in at]
    return np.diff(np.array([0, *below, count], dtype=np.int64))


def _too_many_keys(column: str, dataset: str, approx: int) -> CheckError:
    return CheckError(f"`{column}` in {dataset} has about {approx:,} distinct values; the Spark engine brings value "
                      f"counts to the driver only for columns with at most {MAX_COUNTED_KEYS:,} "
                      "(mlcontract.engines.spark.MAX_COUNTED_KEYS)")


def _value_counts(runner: Runner, frame, columns: list[str], types: dict, rows: int, dataset: str) -> dict:
    """CountsResult of each column, from one GROUPING SETS query (each column its own group):
    keys are the non-null, non-NaN values; nulls counts null and NaN, as the local engine."""
    import pyarrow as pa

    from ..plan.values import CountsResult, key_array

    keys = []
    for i, name in enumerate(columns):
        raw = ident(name)
        floating = type(types[name]).__name__ in ("FloatType", "DoubleType")
        keys.append(f"CASE WHEN isnan({raw}) THEN NULL ELSE {raw} END AS k{i}" if floating else f"{raw} AS k{i}")
    names = ", ".join(f"k{i}" for i in range(len(columns)))
    sets = ", ".join(f"(k{i})" for i in range(len(columns)))
    table = runner.table(f"SELECT {names}, count(1) AS n, grouping_id() AS g FROM (SELECT {', '.join(keys)} FROM {{frame}}) "
                         f"GROUP BY GROUPING SETS ({sets})", f"the value counts of {dataset}", frame=frame)
    group = table.column("g").to_numpy()
    counts = table.column("n").to_numpy().astype(np.int64)
    full = (1 << len(columns)) - 1
    results: dict[str, Any] = {}
    for i, name in enumerate(columns):
        mine = group == (full ^ (1 << (len(columns) - 1 - i)))
        values = table.column(f"k{i}").filter(pa.array(mine)).to_pylist()
        numbers = counts[mine]
        present = [j for j, v in enumerate(values) if v is not None]
        nulls = int(numbers.sum() - numbers[present].sum())
        if len(present) > MAX_COUNTED_KEYS:
            results[name] = _too_many_keys(name, dataset, len(present))
            continue
        order = sorted(present, key=lambda j: -numbers[j])
        results[name] = CountsResult(key_array([values[j] for j in order]), numbers[order].astype(np.int64), nulls, rows)
    return results


# ---- order statistics helpers ----------------------------------------------------------------------------
def _edge_positions(count: int, bins: int):
    from ..statistics.formulas import edge_probabilities, quantile_positions

    previous, following, gamma = quantile_positions(count, edge_probabilities(bins))
    return previous % count, following % count, gamma


def _edges(selection: Selection, count: int, bins: int):
    """statistics.quantile_edges of the column, bit for bit, from its order statistics; also the
    positions and the edges before np.unique."""
    from ..statistics.formulas import interpolate

    previous, following, gamma = _edge_positions(count, bins)
    low = np.array([selection.value[p] for p in previous.tolist()], dtype=np.float64)
    high = np.array([selection.value[p] for p in following.tolist()], dtype=np.float64)
    raw = interpolate(low, high, gamma)
    return np.unique(raw), previous, following, raw


def _quantile_ranks(plan, request, count: int) -> list[np.ndarray]:
    """The ranks the checks reading `request` (SortedValues) need: those of every pNN / median
    of that column in that dataset (plan.consumers → the checks' measures)."""
    from ..plan.measures import Difference, FeatureStat
    from ..statistics.formulas import quantile_positions
    from ..statistics.quantiles import quantile_of

    checks = {check.index: check for check in plan.contract.checks}
    wanted: set[float] = set()
    for index in plan.consumers.get(request, []):
        stack = list(checks[index].measures()) if index in checks else []
        while stack:
            measure = stack.pop()
            if isinstance(measure, Difference):
                stack += [measure.left, measure.right]
            elif (isinstance(measure, FeatureStat) and measure.dataset == request.of and measure.column == request.name
                  and quantile_of(measure.statistic) is not None):
                wanted.add(quantile_of(measure.statistic) or 0.0)
    if not wanted:
        return []
    previous, following, _ = quantile_positions(count, np.array(sorted(wanted)))
    return [previous % count, following % count]


# ---- pass B: exact moments ----------------------------------------------------------------------------------
@dataclass
class _MomentPlan:
    shift: float
    first: ExactSum
    second: ExactSum | None  # None: Σ(x − c)² overflows (m2 is inf)
    at_first: list[int]
    at_second: list[int]
    overflow: bool


def _moment_aggregates(aggregates: Aggregates, column: NumericColumn, stats: ColumnStats) -> _MomentPlan | None:
    """Σx and Σ(x − c)² of the finite values, exactly (ExactSum), c a shift near the mean: the
    mean is then correctly rounded and m2 = Σ(x − c)² − n(mean − c)² loses nothing to
    cancellation (the local kernel computes both to a few ulps)."""
    if stats.count == 0:
        return None
    low, high = stats.low, stats.high
    if low == high:
        shift = low  # a constant column: m2 exactly 0, as locally
    elif stats.shift is not None and math.isfinite(stats.shift):
        shift = min(max(stats.shift, low), high)
    else:
        shift = low / 2 + high / 2
    first = ExactSum(exponent_above(max(abs(low), abs(high))))
    at_first = aggregates.add_all(first.aggregates(column.when_finite(column.value)))
    largest = max((low - shift) * (low - shift), (high - shift) * (high - shift))
    if not math.isfinite(largest):
        return _MomentPlan(shift, first, None, at_first, [], True)
    second = ExactSum(exponent_above(largest))
    deviation = f"({column.value} - {double(shift)})"
    at_second = aggregates.add_all(second.aggregates(column.when_finite(f"{deviation} * {deviation}")))
    return _MomentPlan(shift, first, second, at_first, at_second, False)


def _summary_of(stats: ColumnStats, plan: _MomentPlan | None, found: list):
    """The NumericSummary the local kernels produce for the column."""
    from fractions import Fraction

    from .._kernels import NumericSummary

    counts = {"rows": stats.rows, "nulls": stats.nulls, "nans": stats.nans, "pos_inf": stats.pos_inf,
              "neg_inf": stats.neg_inf, "count": stats.count}
    if plan is None:
        return NumericSummary(**counts)
    n = stats.count
    total = plan.first.value([found[i] for i in plan.at_first])
    mean_exact = total / n
    mean = float(mean_exact)
    mean_lo = float(mean_exact - Fraction(mean))
    if plan.overflow or plan.second is None:
        m2 = math.inf
    else:
        squares = plan.second.value([found[i] for i in plan.at_second])
        m2 = max(0.0, float(squares - n * (mean_exact - Fraction(plan.shift)) ** 2))
    return NumericSummary(**counts, min=stats.min, max=stats.max, mean=mean, mean_lo=mean_lo, m2=m2)


# ---- sides of a walk -------------------------------------------------------------------------------------
def _walk_of(found: tuple[float, float], mine, theirs, runner: Runner, what: str):
    """The statistics.formulas.Walk of a walk Spark computed: D and W1, the sizes the samples
    stand for, and — where scipy's exact small-sample KS p-value applies (both samples of at
    most 10,000 values, neither a profile's grid) — the two samples, collected (bounded)."""
    from ..statistics.formulas import _KS_EXACT_LIMIT, Walk

    sizes = (mine.represented, theirs.represented)
    exact = max(sizes) <= _KS_EXACT_LIMIT and sizes == (mine.count, theirs.count)
    samples = (np.asarray(mine.values(runner, what)), np.asarray(theirs.values(runner, what))) if exact else None
    return Walk(found[0], found[1], 0, sizes, samples)


class _ArraySide:
    """A sample already on the driver (collected, or a profile's grid)."""

    def __init__(self, values):
        self.sample = values  # as served: a profile's grid (profiles.ProfileSample) keeps what it stands for
        self.array = np.asarray(values, dtype=np.float64)
        self.count = int(self.array.size)
        self.represented = int(getattr(values, "represented", self.count))

    def values(self, runner, what):
        return self.sample

    def side(self, runner) -> Side:
        import pyarrow as pa

        frame = runner.frame(pa.table({"v": pa.array(self.array, pa.float64())}))
        low, high = (float(self.array[0]), float(self.array[-1])) if self.count else (0.0, 0.0)
        return Side(frame, "SELECT v FROM {frame}", self.count, low, high)


class _FrameSide:
    """A column of a Spark DataFrame."""

    def __init__(self, frame, column: NumericColumn, stats: ColumnStats):
        self.frame, self.column, self.stats = frame, column, stats
        self.count = self.represented = stats.count

    def values(self, runner, what):
        wanted = Wanted(self.column, self.count, self.stats.low, self.stats.high, None)
        return select_ranks(runner, self.frame, [wanted], what)[0].values

    def side(self, runner) -> Side:
        return Side(self.frame, f"SELECT {self.column.value} AS v FROM {{frame}} WHERE {self.column.finite}",
                       self.count, self.stats.low, self.stats.high)


# ---- profiles --------------------------------------------------------------------------------------------------
def _profile(runner: Runner, frame, index, name: str, label: str | None):
    """profiles.profile_frame, computed by Spark: the same columns, counts, summaries, kept
    values, quantile grids and fine counts."""
    from ..profiles import (
        GRID,
        ColumnProfile,
        Profile,
        _json_key,
        _now,
        _summary_to_json,
    )
    from ..statistics.base import CATEGORICAL, NUMERIC
    from ..statistics.formulas import interpolate, quantile_positions

    types = {f.name: f.dataType for f in frame.schema.fields if f.name not in index}
    first = Aggregates()
    rows_at = first.add("count(1)")
    stats_at, missing_at = {}, {}
    for column, spark_type in types.items():
        kind = column_kind(spark_type)
        if kind == NUMERIC:
            stats_at[column] = _stats_aggregates(first, numeric_column(column, spark_type))
        else:
            missing_at[column] = _count_aggregates(first, column, spark_type)
    found = first.run(runner, frame, f"the counts and extremes of {name}")
    rows = int(found[rows_at])
    stats = {c: _stats_of(found, at, rows) for c, at in stats_at.items()}
    categorical = [c for c, t in types.items() if column_kind(t) == CATEGORICAL]
    approximate = {c: int(found[estimate] or 0) for c in categorical if (estimate := missing_at[c][1]) is not None}
    too_many = {c: n for c, n in approximate.items() if n > MAX_COUNTED_KEYS * 1.25}
    if too_many:
        column = next(iter(too_many))
        raise _too_many_keys(column, name, too_many[column])
    counts = _value_counts(runner, frame, categorical, types, rows, name) if categorical else {}
    for value in counts.values():
        if isinstance(value, BaseException):
            raise value
    wanted, grids = [], {}
    for column, value in stats.items():
        if value.count == 0:
            continue
        if value.count <= GRID:
            ranks = None
        else:
            previous, following, gamma = quantile_positions(value.count, np.arange(GRID + 1) / GRID)
            grids[column] = (previous % value.count, following % value.count, gamma)
            ranks = np.unique(np.concatenate([grids[column][0], grids[column][1]]))
        wanted.append(Wanted(numeric_column(column, types[column]), value.count, value.low, value.high, ranks))
    selections = dict(zip([w.column.name for w in wanted],
                          select_ranks(runner, frame, wanted, f"the columns of {name}") if wanted else []))
    second = Aggregates()
    moments = {c: _moment_aggregates(second, numeric_column(c, types[c]), s) for c, s in stats.items()}
    layouts, fallback = {}, {}
    for column, (previous, following, gamma) in grids.items():
        selection = selections[column]
        low = np.array([selection.value[p] for p in previous.tolist()])
        high = np.array([selection.value[p] for p in following.tolist()])
        grid = interpolate(low, high, gamma)
        edges = np.unique(grid[1:GRID])
        first_at = {e: i for i, e in reversed(list(enumerate(grid.tolist()))) if 0 < i < GRID}
        at = [first_at[e] for e in edges.tolist()]
        below = counts_below(edges, previous[at], following[at], selection)
        column_sql = numeric_column(column, types[column])
        fallback[column] = [None if b is not None else second.add(
            f"count_if({column_sql.finite} AND {column_sql.value} < {double(e)})") for e, b in zip(edges.tolist(), below)]
        layouts[column] = (grid, edges, below)
    found_second = second.run(runner, frame, f"the moments of {name}") if second.expressions else []
    columns: dict[str, ColumnProfile] = {}
    for column, spark_type in types.items():
        kind, dtype = column_kind(spark_type), dtype_name(spark_type)
        if kind == NUMERIC:
            summary = _summary_of(stats[column], moments[column], found_second)
            profile = ColumnProfile(kind, dtype, rows, summary.nulls + summary.nans,
                                    summary=_summary_to_json(summary.to_dict()))
            if column in layouts:
                grid, edges, below = layouts[column]
                below = [_known_or_counted(b, found_second, a) for b, a in zip(below, fallback[column])]
                profile.quantiles, profile.edges = grid.tolist(), edges.tolist()
                profile.counts = np.diff(np.array([0, *below, summary.count], dtype=np.int64)).tolist()
            elif column in selections and (kept := selections[column].values) is not None:
                profile.values = kept.tolist()
            columns[column] = profile
        elif kind == CATEGORICAL:
            result = counts[column]
            categories = [[_json_key(k), int(n)] for k, n in zip(result.keys.tolist(), result.counts.tolist())]
            columns[column] = ColumnProfile(kind, dtype, rows, result.nulls, categories=categories)
        else:
            columns[column] = ColumnProfile(kind, dtype, rows, int(found[missing_at[column][0]]))
    return Profile(name, rows, columns, True, label, _now())


def _fetch(got: dict, request):
    value = got.get(request)
    if value is None:
        raise CheckError(f"{request.describe()} was not computed")
    if isinstance(value, BaseException):
        raise value
    return value
