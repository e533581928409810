"""One scan of the plan on the Spark engine: its requests, on a dataset and the views of it, in
a fixed number of Spark queries over all of its columns (docs/spark.md, "What runs where"):

1. the aggregates (one row): rows, per column nulls, NaN, ±inf, finite count, min, max, average,
   counts outside ranges, histograms on another dataset's edges, dates' ranges, value tests, and
   the missing values and an estimate of the distinct values of the counted columns;
2. the value counts of the counted columns (one GROUPING SETS query);
3. the bucket rounds (buckets.Rounds: usually two queries): quantiles, bin edges, histograms on
   the column's own edges, exact moments, KS/Wasserstein walks;
4. one GROUP BY per `unique` / `duplicate_count` key.

A scan of counts and extremes is one query; every query reads only the columns it needs.
"""
from __future__ import annotations

import decimal
import math
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Any

import numpy as np

from ...errors import CheckError, DataError
from ...plan import requests as rq
from ..base import attempt as base_attempt, fetch as _fetch
from . import buckets
from .buckets import Moments, Rounds, Sample, Selection
from .reading import column_kind, dtype_name, integer_limits, numeric_column
from .relations import Relation
from .sql import (
    INFINITY,
    MAX_SUMMED,
    Aggregates,
    ExactSum,
    NumericColumn,
    Runner,
    both,
    double,
    exponent_above,
    integer,
    literal,
)

# Value counts (categorical psi/js/…, distinct, unique_rate, unseen_rate, the per-value tests
# `is date`, `is datetime`, `is json`) come to the driver for columns with at most this many
# distinct values; above it they are an `error`.
MAX_COUNTED_KEYS = 1_000_000
# A KS/Wasserstein pair whose samples both have at most this many finite values is walked on the
# driver with the local kernel (bit-identical); larger ones by buckets.Rounds.walk.
WALK_COLLECT = 10_000
# scipy's exact KS p-value needs the samples themselves up to this size (statistics._KS_EXACT_LIMIT):
# such a column's SortedValues is collected (bounded); a larger one is only its order statistics.
SMALL_SAMPLE = 10_000

_COMPUTED = (rq.RowCount, rq.SchemaOf, rq.Summary, rq.Counts, rq.SortedValues, rq.Edges, rq.Histogram,
             rq.SampleWalk, rq.OutsideCount, rq.OutsideRange, rq.KeyDuplicates, rq.ValueTest, rq.TemporalRange,
             rq.TemporalOutside)
_NUMERIC_WORK = (rq.Summary, rq.SortedValues, rq.Edges, rq.Histogram, rq.SampleWalk, rq.OutsideCount, rq.OutsideRange)
_ORDER_WORK = (rq.Summary, rq.SortedValues, rq.Edges, rq.Histogram, rq.SampleWalk)
_STRINGS = ("StringType", "CharType", "VarcharType")
_PER_VALUE_TESTS = ("date", "datetime", "json")  # checked on the driver, per distinct value (Polars' parsers)
_PENDING = object()
_TIMESTAMPS = ("TimestampType", "TimestampNTZType")


def _ntz_micros(value: str) -> str:
    """Microseconds since 1970-01-01T00:00 of a TIMESTAMP_NTZ expression, whatever the session's
    time zone (the wall-clock value as written, as a naive Datetime column holds it)."""
    return (f"(unix_date(CAST({value} AS DATE)) * 86400000000L + "
            f"CAST(date_part('HOUR', {value}) AS BIGINT) * 3600000000L + "
            f"CAST(date_part('MINUTE', {value}) AS BIGINT) * 60000000L + "
            f"CAST(date_part('SECOND', {value}) * 1000000 AS BIGINT))")


@dataclass
class ColumnStats:
    """The aggregates of one numeric column of one relation: counts, extremes (exact ints for
    integer columns), and the average used as the shift of the second moments."""

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
        return float(self.min) if self.count else 0.0

    @property
    def high(self) -> float:
        return float(self.max) if self.count else 0.0


class SparkSample:
    """Stands in for `SortedValues` of a column with more than SMALL_SAMPLE finite values: its
    size and the order statistics the contract's quantiles need, not the values.
    statistics.quantile and statistics.ks_pvalue (large samples: sizes only) read it as they
    read a sorted array; any other rank is a CheckError, never a guess."""

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


# ---- one scan ---------------------------------------------------------------------------------------------
class ScanWork:
    """The requests of one scan (one root dataset and its views), computed in a fixed number of
    Spark queries over all of their columns."""

    def __init__(self, backend, plan, requests: list, runner: Runner, got: dict, what: str):
        self.backend, self.plan, self.runner, self.got, self.what = backend, plan, runner, got, what
        self.requests = requests
        self.relations: dict[str, Relation] = {}
        self.stats: dict[tuple[str, str], ColumnStats] = {}
        self.rows: dict[str, int] = {}
        self.unresolved: list = []  # histograms on own edges that one more query counts

    def compute(self) -> None:
        todo = self._triage()
        if not todo:
            return
        try:
            self._aggregates(todo)
        except CheckError as error:  # the first query failed: nothing of this scan was computed
            for request in todo:
                self.got.setdefault(request, error)
            return
        self._value_counts([r for r in todo if r not in self.got])
        self._rounds([r for r in todo if r not in self.got])
        for request in todo:
            if isinstance(request, rq.KeyDuplicates):
                self.got[request] = attempt(partial(self._key_duplicates, request))

    # ---- which requests, on which relations ----------------------------------------------------------------
    def _triage(self) -> list:
        """Requests answered without a query (schema) or failing at once (a dataset Spark cannot
        read, a missing column, a numeric statistic of a text column); the rest to compute."""
        from ...statistics.base import NUMERIC

        todo = []
        for request in self.requests:
            if type(request) not in _COMPUTED:  # a request type added since: an error that says so, never a guess
                self.got[request] = CheckError(f"the Spark engine does not compute {request.describe()} yet; "
                                               "run this check on the local engine")
                continue
            try:
                relation = self._relation(request.dataset)
            except CheckError as error:
                self.got[request] = error
                continue
            missing = [c for c in _columns_of(request) if c not in relation.columns]
            if missing:
                self.got[request] = DataError(f"column `{missing[0]}` is missing in dataset `{request.dataset}`")
            elif isinstance(request, rq.SchemaOf):
                self.got[request] = {name: _schema_entry(relation, name) for name in relation.columns
                                     if name not in relation.index}
            elif isinstance(request, _NUMERIC_WORK) and column_kind(relation.type(request.column)) != NUMERIC:
                self.got[request] = DataError(f"column `{request.column}` in dataset `{request.dataset}` is "
                                              f"{_dtype(relation, request.column)}, not numeric")
            elif isinstance(request, rq.ValueTest) and type(relation.type(request.column)).__name__ not in _STRINGS:
                self.got[request] = DataError(f"column `{request.column}` is {_dtype(relation, request.column)}, "
                                              "not a string column")
            else:
                todo.append(request)
        return todo

    def _relation(self, name: str) -> Relation:
        if name not in self.relations:
            self.relations[name] = self.backend.relation(name)
        return self.relations[name]

    def _column(self, dataset: str, column: str) -> NumericColumn:
        relation = self.relations[dataset]
        return numeric_column(relation.sql(column), relation.type(column), relation.where)

    def _frames(self, requests: list) -> dict[int, tuple[Any, list]]:
        """The requests by the DataFrame their relation reads (one root: one frame)."""
        found: dict[int, tuple[Any, list]] = {}
        for request in requests:
            frame = self.relations[request.dataset].frame
            found.setdefault(id(frame), (frame, []))[1].append(request)
        return found

    # ---- 1. the aggregates ------------------------------------------------------------------------------------
    def _aggregates(self, todo: list) -> None:
        for frame, requests in self._frames(todo).values():
            first = Aggregates()
            rows_at = {name: first.add(_rows_sql(self.relations[name])) for name in dict.fromkeys(r.dataset for r in requests)}
            needs: dict[tuple[str, str], int] = {}
            for request in requests:
                if isinstance(request, _NUMERIC_WORK):
                    key = (request.dataset, request.column)
                    needs[key] = max(needs.get(key, 0), _STATS_NEEDED.get(type(request), 1))
                    if isinstance(request, rq.Histogram) and request.edges.of == request.of:
                        needs[key] = max(needs[key], 2)
            stats_at = {key: _stats_aggregates(first, self._column(*key), need, key) for key, need in needs.items()}
            at = {request: attempt(partial(self._aggregate, first, request)) for request in requests
                  if isinstance(request, (rq.OutsideCount, rq.OutsideRange, rq.TemporalRange, rq.TemporalOutside))
                  or (isinstance(request, rq.Histogram) and request.edges.of != request.of)
                  or (isinstance(request, rq.ValueTest) and request.test[1] not in _PER_VALUE_TESTS)}
            found = first.run(self.runner, frame, f"the counts and extremes of {self.what}")
            for name, position in rows_at.items():
                self.rows[name] = int(found[position] or 0)
            for key, positions in stats_at.items():
                self.stats[key] = _stats_of(found, positions, self.rows[key[0]])
                self.backend.stats[key] = self.stats[key]
            for request in requests:
                if isinstance(request, rq.RowCount):
                    self.got[request] = self.rows[request.dataset]
                elif request in at:
                    self.got[request] = attempt(partial(self._aggregated, request, at[request], found))

    def _aggregate(self, first: Aggregates, request) -> Any:
        """The aggregates a request adds to the first query: their positions."""
        relation = self.relations[request.dataset]
        if isinstance(request, (rq.OutsideCount, rq.OutsideRange)):
            if isinstance(request, rq.OutsideRange):
                bounds = _fetch(self.got, request.bounds)
                if bounds.count == 0:
                    raise CheckError(f"`{request.column}` has no finite values in {request.bounds.of}, so it has no range")
                low, high = bounds.min, bounds.max
            else:
                low, high = request.low, request.high
            return first.add(_outside_count(self._column(request.dataset, request.column),
                                            relation.type(request.column), low, high), (request.dataset, request.column))
        if isinstance(request, rq.Histogram):  # the finite values below each edge: NaN is above every edge, -inf below
            edges = np.asarray(_fetch(self.got, request.edges), dtype=np.float64)
            column = self._column(request.dataset, request.column)
            group = (request.dataset, request.column)
            below = first.add_all([column.count_if(f"{column.value} < {double(e)}") for e in edges.tolist()], group)
            minus = first.add(column.count_if(f"{column.raw} = -{INFINITY}"), group) if column.floating else None
            return below, minus
        column_sql = relation.sql(request.column)
        if isinstance(request, rq.TemporalRange):
            kept = f"CASE WHEN {both(relation.where, 'TRUE')} THEN {column_sql} END"
            if type(relation.type(request.column)).__name__ in _TIMESTAMPS:
                # microseconds since the epoch, exact: a datetime collected to the driver would be
                # turned into the driver's local time (TimestampType) or lose its instant
                kept = f"unix_micros(CAST({kept} AS TIMESTAMP))" if type(relation.type(request.column)).__name__ \
                    == "TimestampType" else _ntz_micros(kept)
            return first.add_all([f"min({kept})", f"max({kept})", f"count({kept})"])
        if isinstance(request, rq.TemporalOutside):
            present = f"{column_sql} IS NOT NULL"
            outside = f"({column_sql} < {literal(request.low)} OR {column_sql} > {literal(request.high)})"
            return first.add_all([relation.count_if(outside), relation.count_if(present)])
        return first.add_all(_value_test_aggregates(relation, column_sql, request.test))

    def _aggregated(self, request, at, found: list) -> Any:
        if isinstance(at, BaseException):
            raise at
        if isinstance(request, (rq.OutsideCount, rq.OutsideRange)):
            return int(found[at] or 0)
        if isinstance(request, rq.Histogram):
            positions, minus = at
            infinite = int(found[minus] or 0) if minus is not None else 0
            below = [int(found[i] or 0) - infinite for i in positions]
            return np.diff(np.array([0, *below, self.stats[(request.dataset, request.column)].count], dtype=np.int64))
        if isinstance(request, rq.TemporalRange):
            low, high, count = (found[i] for i in at)
            kind = type(self.relations[request.dataset].type(request.column)).__name__
            if kind in _TIMESTAMPS:  # Spark keeps microseconds; a zoned column is an instant in UTC
                zone = "UTC" if kind == "TimestampType" else None
                low, high = (None if v is None else rq.Moment.of(int(v), "us", zone) for v in (low, high))
            return low, high, int(count or 0)
        if isinstance(request, rq.TemporalOutside):
            return int(found[at[0]] or 0), int(found[at[1]] or 0)
        from ...plan.values import PassCounts

        passing, present, *examples = (found[i] for i in at)
        shown = tuple(dict.fromkeys(e for e in examples if e is not None))[:PassCounts.EXAMPLES]
        return PassCounts(int(passing or 0), int(present or 0), shown)

    # ---- 2. value counts ------------------------------------------------------------------------------------
    def _value_counts(self, requests: list) -> None:
        counted = [r for r in requests if _counted(r)]
        if not counted:
            return
        keys = list(dict.fromkeys((r.dataset, r.column) for r in counted))
        results: dict[tuple[str, str], Any] = {}
        by_frame: dict[int, tuple[Any, list]] = {}
        for key in keys:
            frame = self.relations[key[0]].frame
            by_frame.setdefault(id(frame), (frame, []))[1].append(key)
        for frame, frame_keys in by_frame.values():
            try:
                results.update(_value_counts(self.runner, frame, [(self.relations[d], c) for d, c in frame_keys],
                                             self.rows, self.what))
            except CheckError as error:
                results.update({k: error for k in frame_keys})
        for request in counted:
            value = results[(request.dataset, request.column)]
            if isinstance(request, rq.Counts) or isinstance(value, BaseException):
                self.got[request] = value
            else:
                self.got[request] = attempt(partial(_tested_values, value, request.test))

    # ---- 3. the bucket rounds -------------------------------------------------------------------------------
    def _rounds(self, requests: list) -> None:
        ordered = [r for r in requests if isinstance(r, _ORDER_WORK) and not
                   (isinstance(r, rq.Histogram) and r.edges.of != r.of)]
        if not ordered:
            return
        rounds = Rounds(self.runner, f"the columns of {self.what}")
        finish = []
        columns = list(dict.fromkeys((r.dataset, r.column) for r in ordered))
        for key in columns:
            mine = [r for r in ordered if (r.dataset, r.column) == key]
            finish += attempt_list(mine, partial(self._plan_column, rounds, key, mine))
        try:
            rounds.run()
        except CheckError as error:
            for request, _ in finish:
                self.got.setdefault(request, error)
            return
        for request, done in finish:
            if request not in self.got:
                value = attempt(done)
                if value is not _PENDING:
                    self.got[request] = value
        self._unresolved_histograms()

    def _plan_column(self, rounds: Rounds, key: tuple[str, str], requests: list) -> list:
        """Ask the rounds for what one column's requests need: [(request, finish)], finish()
        giving the request's value once the rounds ran."""
        dataset, column = key
        stats = self.stats[key]
        count = stats.count
        sample = Sample(self.relations[dataset].frame, self._column(dataset, column), count, stats.low, stats.high)
        ranks: list[np.ndarray] = []
        everything = count == 0  # the empty sample
        for request in requests:
            if isinstance(request, (rq.Edges, rq.Histogram)) and count:
                bins = request.bins if isinstance(request, rq.Edges) else request.edges.bins
                previous, following, _ = _edge_positions(count, bins)
                ranks += [previous, following]
            elif isinstance(request, rq.SortedValues) and count:
                if count <= SMALL_SAMPLE:
                    everything = True
                else:
                    ranks += _quantile_ranks(self.plan, request, count)
        wanted = None if everything else np.unique(np.concatenate(ranks)) if ranks else np.empty(0, dtype=np.int64)
        moments = _moments_of(stats) if count and any(isinstance(r, rq.Summary) for r in requests) else None
        selection = Selection()
        finish: list = []
        # the first walk done by the rounds carries the column's ranks and moments on its buckets
        carry = None if wanted is None else (wanted, moments, selection)
        for request in (r for r in requests if isinstance(r, rq.SampleWalk)):
            try:
                done, carried = self._plan_walk(rounds, request, sample, carry)
            except CheckError as error:
                self.got[request] = error
                continue
            finish.append((request, done))
            carry = None if carried else carry
        if wanted is None or carry is not None:
            if wanted is None or len(wanted):
                rounds.ranks(sample, wanted, moments, selection)
            elif moments is not None:
                rounds.moments(sample, moments)
        for request in sorted(requests, key=lambda r: isinstance(r, rq.Histogram)):  # edges before histograms
            if isinstance(request, rq.Summary):
                finish.append((request, partial(_summary_of, stats, moments)))
            elif isinstance(request, rq.SortedValues):
                finish.append((request, partial(_sorted_values, selection, dataset, column, count)))
            elif isinstance(request, rq.Edges):
                finish.append((request, partial(_edges_of, selection, count, request.bins)))
            elif isinstance(request, rq.Histogram):
                finish.append((request, partial(self._own_histogram, request, selection, count)))
        return finish

    def _plan_walk(self, rounds: Rounds, request, sample: Sample, carry) -> tuple:
        """KS and W1 of this column against `against`'s: on the driver when both samples are
        small (WALK_COLLECT), otherwise by the rounds, whose buckets then also carry the column's
        ranks and moments (`carry`: (ranks, moments, selection), or None). (finish, carried)."""
        theirs = self.backend.walk_side(request.against, request.name, self.got, rounds.runner)
        if sample.count == 0 or theirs.count == 0:
            raise CheckError("no finite values to compare (every value is null, NaN or infinite)")
        if sample.count <= WALK_COLLECT and theirs.array is not None and theirs.count <= WALK_COLLECT:
            return partial(_driver_walk, rounds.ranks(sample, None), theirs), False
        ranks, moments, selection = carry if carry is not None else (None, None, None)
        pair = rounds.walk(sample, theirs.sample(rounds.runner), (selection, None), (ranks, None), (moments, None))
        exact_pvalue = max(sample.count, theirs.represented) <= SMALL_SAMPLE and theirs.array is not None \
            and theirs.represented == theirs.count
        copied = rounds.ranks(sample, None) if exact_pvalue else None
        mine = WalkSide(sample.count, sample.count, sample.low, sample.high, None, sample)
        return partial(spark_walk, pair, mine, theirs, copied), carry is not None

    def _own_histogram(self, request, selection: Selection, count: int):
        """A histogram on the column's own edges: the counts below each edge, from the order
        statistics (an edge that rounding put outside its two order statistics is counted by
        one more query)."""
        edges = _fetch(self.got, request.edges)
        _, previous, following, raw = _edges(selection, count, request.edges.bins)
        first = {e: i for i, e in reversed(list(enumerate(raw.tolist())))}
        at = [first[e] for e in edges.tolist()]
        below = buckets_counts_below(edges, previous[at], following[at], selection)
        if any(b is None for b in below):
            self.unresolved.append((request, edges, below))
            return _PENDING
        return np.diff(np.array([0, *below, count], dtype=np.int64))

    def _unresolved_histograms(self) -> None:
        pending = self.unresolved
        if not pending:
            return
        for frame, requests in self._frames([p[0] for p in pending]).values():
            query = Aggregates()
            positions = []
            for request, edges, below in pending:
                if request not in requests:
                    continue
                column = self._column(request.dataset, request.column)
                below_sql = [f"{column.finite} AND {column.value} < {double(e)}" for e in edges.tolist()]
                positions.append((request, below, [None if b is not None else query.add(column.count_if(sql))
                                                   for sql, b in zip(below_sql, below)]))
            try:
                found = query.run(self.runner, frame, f"the counts below bin edges of {self.what}")
            except CheckError as error:
                for request, _, _ in positions:
                    self.got[request] = error
                continue
            for request, below, at in positions:
                counts = [b if b is not None else _count_at(found, a) for b, a in zip(below, at)]
                total = self.stats[(request.dataset, request.column)].count
                self.got[request] = np.diff(np.array([0, *counts, total], dtype=np.int64))

    # ---- 4. keys ------------------------------------------------------------------------------------------------
    def _key_duplicates(self, request):
        """(rows, distinct keys, the 5 most repeated keys with their rows), as the local engine:
        missing values (null, NaN) equal each other."""
        relation = self.relations[request.dataset]
        keys = []
        for i, name in enumerate(request.key):
            sql = relation.sql(name)
            floating = type(relation.type(name)).__name__ in ("FloatType", "DoubleType")
            keys.append(f"{f'CASE WHEN isnan({sql}) THEN NULL ELSE {sql} END' if floating else sql} AS k{i}")
        names = ", ".join(f"k{i}" for i in range(len(keys)))
        nulls = ", ".join(f"NULL AS k{i}" for i in range(len(keys)))
        where = f" WHERE {relation.where}" if relation.where else ""
        grouped = f"SELECT {names}, count(1) AS n FROM (SELECT {', '.join(keys)} FROM {{frame}}{where}) GROUP BY {names}"
        text = (f"WITH g AS ({grouped}) SELECT 0 AS kind, {nulls}, count(1) AS n, sum(n) AS total FROM g "
                f"UNION ALL SELECT * FROM (SELECT 1 AS kind, {names}, n, n AS total FROM g WHERE n > 1 ORDER BY n DESC LIMIT 5)")
        table = self.runner.table(text, f"the duplicate keys ({', '.join(request.key)}) of {request.dataset}",
                                  frame=relation.frame).to_pylist()
        summary = next(row for row in table if row["kind"] == 0)
        top = [(tuple(row[f"k{i}"] for i in range(len(keys))), int(row["n"]))
               for row in sorted((r for r in table if r["kind"] == 1), key=lambda r: -r["n"])]
        return int(summary["total"] or 0), int(summary["n"] or 0), top


def attempt(compute):
    """compute(), or the CheckError it met (engines.base.attempt): an unexpected library error
    fails only its checks, its message escaped and cut (py4j's carry the JVM's stack trace)."""
    from ...escape import printable

    return base_attempt(compute, describe=printable)


def attempt_list(requests: list, plan) -> list:
    """plan() → [(request, finish)], or every request failing with plan()'s CheckError."""
    try:
        return plan()
    except CheckError as error:
        return [(r, partial(_raise, error)) for r in requests]


def _raise(error: BaseException):
    raise error


def _columns_of(request) -> tuple[str, ...]:
    if isinstance(request, rq.KeyDuplicates):
        return tuple(request.key)
    return (request.column,) if request.column is not None else ()


def _counted(request) -> bool:
    return isinstance(request, rq.Counts) or (isinstance(request, rq.ValueTest) and request.test[1] in _PER_VALUE_TESTS)


def _schema_entry(relation: Relation, name: str) -> tuple[str, str]:
    if name in relation.lengths:
        return "numeric", "UInt32"  # as the local engine names a string's length
    return column_kind(relation.type(name)), dtype_name(relation.type(name))


def _dtype(relation: Relation, name: str) -> str:
    return _schema_entry(relation, name)[1]




# ---- the first query's pieces ---------------------------------------------------------------------------
def _rows_sql(relation: Relation) -> str:
    return "count(1)" if relation.where is None else f"count_if({relation.where})"


# What of a column's aggregates a request needs: 1 its finite count (a histogram on another
# dataset's edges, a count outside a range), 2 also its extremes (order statistics, walks),
# 3 everything (a summary: the other counts, and the average that shifts the second moments).
_STATS_NEEDED = {rq.Summary: 3, rq.SortedValues: 2, rq.Edges: 2, rq.SampleWalk: 2, rq.Histogram: 1,
                 rq.OutsideCount: 1, rq.OutsideRange: 1}


def _stats_aggregates(aggregates: Aggregates, column: NumericColumn, need: int = 3, group: object = None) -> list[int]:
    """The aggregates of one numeric column's ColumnStats (those `need` asks for; 0 for the others)."""
    raw, finite = column.raw, column.finite
    kept = both(column.where, "TRUE")
    exact = f"CASE WHEN {kept} THEN {raw} END" if column.integer else column.when_finite(column.value)
    everything = need >= 3 and column.floating
    parts = [column.count_if(f"{raw} IS NULL") if need >= 3 else "0",
             column.count_if(f"isnan({raw})") if everything else "0",
             column.count_if(f"{raw} = {INFINITY}") if everything else "0",
             column.count_if(f"{raw} = -{INFINITY}") if everything else "0",
             f"count_if({finite})", f"min({exact})" if need >= 2 else "NULL", f"max({exact})" if need >= 2 else "NULL",
             f"avg({column.when_finite(column.value)})" if need >= 3 else "NULL"]
    return aggregates.add_all(parts, group)


def _stats_of(found: list, at: list[int], rows: int) -> ColumnStats:
    nulls, nans, pos_inf, neg_inf, count, low, high, shift = (found[i] for i in at)
    # a DECIMAL(p, 0) column's extremes come as Decimal: exact ints, as a BIGINT's are
    low, high = (int(v) if isinstance(v, decimal.Decimal) else v for v in (low, high))
    return ColumnStats(rows, int(nulls or 0), int(nans or 0), int(pos_inf or 0), int(neg_inf or 0), int(count), low, high,
                       None if shift is None else float(shift))


def _missing_aggregate(aggregates: Aggregates, relation: Relation, name: str) -> int:
    """The missing values of a column: null, or NaN in a float column."""
    raw, spark_type = relation.sql(name), relation.type(name)
    floating = type(spark_type).__name__ in ("FloatType", "DoubleType")
    return aggregates.add(relation.count_if(f"{raw} IS NULL OR isnan({raw})" if floating else f"{raw} IS NULL"))


def _outside_count(column: NumericColumn, spark_type, low, high) -> str:
    """count_if over the values outside [low, high] (±inf included, NULL and NaN not), compared
    exactly: integers against integer bounds (ceil/floor), floats against the nearest floats
    inside the bounds (columns.kernel_bounds' rule)."""
    from ..columns import _float_at_least, _float_at_most, _integer_bound

    raw = column.raw
    if column.integer:
        limits = integer_limits(spark_type)
        assert limits is not None  # what makes the column an integer one (reading.numeric_column)
        smallest, largest = limits
        lo, hi = _integer_bound(low, math.ceil), _integer_bound(high, math.floor)
        if lo > largest or hi < smallest:
            return column.count_if(f"{raw} IS NOT NULL")
        parts = []
        if lo > smallest:
            parts.append(f"{raw} < {integer(lo, spark_type)}")
        if hi < largest:
            parts.append(f"{raw} > {integer(hi, spark_type)}")
        return column.count_if(f"({' OR '.join(parts)})") if parts else "0"
    value = column.value
    lo, hi = _float_at_least(low), _float_at_most(high)
    present = f"NOT isnan({value})" if column.floating else "TRUE"
    return column.count_if(f"{present} AND ({value} < {double(lo)} OR {value} > {double(hi)})")


def _value_test_aggregates(relation: Relation, column: str, test: tuple) -> list[str]:
    """How many present values pass a value test that Spark evaluates (`matches`, uuid, email,
    integer, number), how many are present, and up to four failing values (the least and the
    greatest, the least and the greatest by hash)."""
    passes = _value_test_sql(column, test)
    fails = f"{column} IS NOT NULL AND NOT ({passes})"
    kept = both(relation.where, fails)
    failing = f"CASE WHEN {kept} THEN {column} END"
    order = f"CASE WHEN {kept} THEN xxhash64({column}) END"
    return [relation.count_if(f"{column} IS NOT NULL AND ({passes})"), relation.count_if(f"{column} IS NOT NULL"),
            f"min({failing})", f"max({failing})", f"min_by({failing}, {order})", f"max_by({failing}, {order})"]


# Java's regex engine with Unicode character classes and only `\n` ending a line: Rust's
# defaults, which Polars' `matches` uses, as far as the two agree (docs/spark.md).
_JAVA_FLAGS = "(?dU)"


def _value_test_sql(column: str, test: tuple) -> str:
    from ..patterns import EMAIL, UUID
    from .sql import string

    if test[0] == "matches":
        return f"{column} RLIKE {string(_JAVA_FLAGS + test[1])}"
    name = test[1]
    if name in ("uuid", "email"):
        pattern = (UUID if name == "uuid" else EMAIL).removesuffix("$") + r"\z"
        return f"{column} RLIKE {string(_JAVA_FLAGS + pattern)}"
    if name == "integer":  # Polars' str.to_integer: an optional sign and ASCII digits, within Int64
        digits = f"ltrim('0', regexp_replace({column}, '^[+-]', ''))"
        limit = f"CASE WHEN {column} LIKE '-%' THEN '9223372036854775808' ELSE '9223372036854775807' END"
        return (f"({column} RLIKE {string('^[+-]?[0-9]+' + chr(92) + 'z')} AND "
                f"(length({digits}) < 19 OR (length({digits}) = 19 AND {digits} <= {limit})))")
    if name == "number":  # what Polars casts to Float64: decimal or exponent notation, inf, infinity, nan
        pattern = r"^[+-]?((?i:inf|infinity|nan)|([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)\z"
        return f"{column} RLIKE {string(pattern)}"
    raise CheckError(f"the Spark engine does not test `is {name}` in Spark")  # pragma: no cover - _PER_VALUE_TESTS


def _tested_values(counts, test: tuple):
    """A per-value test (`is date`, `is datetime`, `is json`) on the column's distinct values,
    with Polars' parsers on the driver (engines.patterns), weighted by their counts."""
    import polars as pl

    from ...plan.values import PassCounts
    from ..patterns import _format

    values = pl.Series("v", counts.keys.tolist(), dtype=pl.String)
    passed = np.asarray(_format(values, test[1], test[2]).to_numpy(), dtype=bool)
    numbers = np.asarray(counts.counts, dtype=np.int64)
    failing = [v for v, ok in zip(counts.keys.tolist(), passed.tolist()) if not ok][:PassCounts.EXAMPLES]
    return PassCounts(int(numbers[passed].sum()), int(numbers.sum()), tuple(failing))


def _too_many_keys(column: str, dataset: str, found: int) -> CheckError:
    return CheckError(f"`{column}` in {dataset} has {found:,} distinct values or more; the Spark engine brings value "
                      f"counts to the driver only for columns with at most {MAX_COUNTED_KEYS:,} "
                      "(mlcontract.engines.spark.scan.MAX_COUNTED_KEYS)")


def _value_counts(runner: Runner, frame, keys: list[tuple[Relation, str]], rows: dict, what: str) -> dict:
    """CountsResult of each (relation, column), from one GROUPING SETS query (each its own group;
    a view's rows flagged by its condition): keys are the non-null, non-NaN values; nulls counts
    null and NaN, as the local engine. A column with more than MAX_COUNTED_KEYS distinct values
    sends one row (its number of groups), not its counts: a CheckError that says so."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ...plan.values import CountsResult, key_array

    selects, sets, marks = [], [], []
    for i, (relation, name) in enumerate(keys):
        raw, spark_type = relation.sql(name), relation.type(name)
        floating = type(spark_type).__name__ in ("FloatType", "DoubleType")
        selects.append(f"CASE WHEN isnan({raw}) THEN NULL ELSE {raw} END AS k{i}" if floating else f"{raw} AS k{i}")
        if relation.where is None:
            sets.append(f"(k{i})")
        else:
            selects.append(f"({relation.where}) AS f{i}")
            sets.append(f"(f{i}, k{i})")
        marks.append(f"grouping(k{i}) AS z{i}")
    flags = [f"f{i}" for i, (relation, _) in enumerate(keys) if relation.where is not None]
    names = ", ".join([f"k{i}" for i in range(len(keys))] + flags)
    grouped = (f"SELECT {names}, count(1) AS n, {', '.join(marks)} FROM (SELECT {', '.join(selects)} FROM {{frame}}) "
               f"GROUP BY GROUPING SETS ({', '.join(sets)})")
    sets_of = ", ".join(f"z{i}" for i in range(len(keys)))
    limit = 3 * MAX_COUNTED_KEYS + 3  # a view's groups: each key with its condition true, false or unknown
    sized = (f"SELECT *, count(1) OVER (PARTITION BY {sets_of}) AS groups, "
             f"row_number() OVER (PARTITION BY {sets_of} ORDER BY n DESC) AS place FROM ({grouped})")
    table = runner.table(f"SELECT * FROM ({sized}) WHERE groups <= {limit} OR place = 1", f"the value counts of {what}",
                         frame=frame)
    counts = table.column("n").to_numpy(zero_copy_only=False).astype(np.int64)
    groups = table.column("groups").to_numpy(zero_copy_only=False).astype(np.int64)
    results: dict[tuple[str, str], Any] = {}
    for i, (relation, name) in enumerate(keys):
        mine = pc.equal(table.column(f"z{i}"), 0)
        found = groups[np.asarray(mine.to_numpy(zero_copy_only=False), dtype=bool)]
        if len(found) and found[0] > limit:
            results[(relation.name, name)] = _too_many_keys(name, relation.name, int(found[0]) // (3 if relation.where else 1))
            continue
        if relation.where is not None:
            mine = pc.and_(mine, pc.fill_null(pc.equal(table.column(f"f{i}"), True), False))
        mine_np = np.asarray(mine.to_numpy(zero_copy_only=False), dtype=bool)
        values = table.column(f"k{i}").filter(pa.array(mine_np)).to_pylist()
        numbers = counts[mine_np]
        if type(relation.type(name)).__name__ == "DecimalType":
            values, numbers = _decimal_keys(values, numbers, relation.type(name).scale)
        present = [j for j, v in enumerate(values) if v is not None]
        nulls = int(numbers.sum() - numbers[present].sum())
        if len(present) > MAX_COUNTED_KEYS:
            results[(relation.name, name)] = _too_many_keys(name, relation.name, len(present))
            continue
        order = sorted(present, key=lambda j: -numbers[j])
        results[(relation.name, name)] = CountsResult(key_array([values[j] for j in order]),
                                                      numbers[order].astype(np.int64), nulls, rows[relation.name])
    return results


def _decimal_keys(values: list, numbers: np.ndarray, scale: int) -> tuple[list, np.ndarray]:
    """A DECIMAL column's value counts keyed by the numbers it holds, as locally
    (columns.value_counts): of scale 0 its integers, else the nearest floats (merged where
    two decimals round to one float). Python's Decimal("0.10") would equal no literal 0.1."""
    number = int if scale == 0 else float
    merged: dict = {}
    for value, count in zip(values, numbers.tolist()):
        key = None if value is None else number(value)
        merged[key] = merged.get(key, 0) + count
    return list(merged), np.array(list(merged.values()), dtype=np.int64)


# ---- order statistics -------------------------------------------------------------------------------------
def _edge_positions(count: int, bins: int):
    from ...statistics.formulas import edge_probabilities, quantile_positions

    previous, following, gamma = quantile_positions(count, edge_probabilities(bins))
    return previous % count, following % count, gamma


def _edges(selection: Selection, count: int, bins: int):
    """statistics.quantile_edges of the column, bit for bit, from its order statistics; also the
    positions and the edges before np.unique."""
    from ...statistics.formulas import interpolate

    previous, following, gamma = _edge_positions(count, bins)
    low = np.array([selection.at(p) for p in previous.tolist()], dtype=np.float64)
    high = np.array([selection.at(p) for p in following.tolist()], dtype=np.float64)
    raw = interpolate(low, high, gamma)
    return np.unique(raw), previous, following, raw


def _edges_of(selection: Selection, count: int, bins: int):
    if count == 0:
        raise CheckError("the reference has no finite values to take bin edges from")
    return _edges(selection, count, bins)[0]


def _sorted_values(selection: Selection, dataset: str, column: str, count: int):
    if selection.values is not None:
        return selection.values
    return SparkSample(dataset, column, count, selection.value)


def buckets_counts_below(edges: np.ndarray, previous: np.ndarray, following: np.ndarray,
                         selection: Selection) -> list[int | None]:
    """For each edge e = interpolate(x_p, x_q, γ) of ascending order statistics x_p <= x_q
    (q = p + 1, or q = p at the ends), the number of values strictly below e: below[p] when e
    equals x_p, below[q] when it equals x_q, and p + 1 strictly between (no value lies strictly
    between consecutive order statistics). None where e fell outside [x_p, x_q] (rounding)."""
    found: list[int | None] = []
    for e, p, q in zip(edges.tolist(), previous.tolist(), following.tolist()):
        low, high = selection.at(p), selection.at(q)
        if e == low:
            found.append(selection.under(p))
        elif e == high:
            found.append(selection.under(q))
        elif low < e < high:
            found.append(p + 1)
        else:
            found.append(None)
    return found


def _quantile_ranks(plan, request, count: int) -> list[np.ndarray]:
    """The ranks the checks reading `request` (SortedValues) need: those of every pNN / median
    of that column in that dataset (plan.consumers → the checks' measures)."""
    from ...plan.measures import Difference, FeatureStat
    from ...statistics.formulas import quantile_positions
    from ...statistics.quantiles import quantile_of

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


# ---- exact moments ------------------------------------------------------------------------------------------
_HUGE = 2.0 ** 448  # the local kernel's moments of values this large are scaled by 2**-576 (NumericSummary)
_SCALE = 576


def _moments_of(stats: ColumnStats) -> Moments:
    """Σx and Σ(x − c)² of the finite values, exactly (ExactSum), c a shift near the mean: the
    mean is then correctly rounded and m2 = Σ(x − c)² − n(mean − c)² loses nothing to
    cancellation (the local kernel computes both to a few ulps)."""
    if stats.count >= MAX_SUMMED:
        raise CheckError(f"{stats.count:,} values exceed what the Spark engine sums exactly ({MAX_SUMMED:,})")
    low, high = stats.low, stats.high
    if low == high:
        shift = low  # a constant column: m2 exactly 0, as locally
    elif stats.shift is not None and math.isfinite(stats.shift):
        shift = min(max(stats.shift, low), high)
    else:
        shift = low / 2 + high / 2
    first = ExactSum(exponent_above(max(abs(low), abs(high))))
    scale = 2.0 ** -_SCALE if max(abs(low), abs(high)) >= _HUGE else 1.0  # as NumericSummary scales m2
    below, above = low * scale - shift * scale, high * scale - shift * scale
    largest = max(below * below, above * above)
    second = ExactSum(exponent_above(largest)) if math.isfinite(largest) else None
    return Moments(first, shift, second, scale=scale)


def _summary_of(stats: ColumnStats, moments: Moments | None):
    """The NumericSummary the local kernels produce for the column."""
    from ..._kernels import NumericSummary

    counts = {"rows": stats.rows, "nulls": stats.nulls, "nans": stats.nans, "pos_inf": stats.pos_inf,
              "neg_inf": stats.neg_inf, "count": stats.count}
    if moments is None or not stats.count:
        return NumericSummary(**counts)
    if moments.total is None:
        raise CheckError("the moments were not computed")
    n = stats.count
    mean_exact = moments.total / n
    mean = float(mean_exact)
    mean_lo = float(mean_exact - Fraction(mean))
    if moments.squares is None:
        m2: Fraction | float = math.inf
    else:  # in units of scale**-2 (Moments): the centre as the SQL took it
        centre = mean_exact * Fraction(moments.scale) - Fraction(moments.shift * moments.scale)
        m2 = max(Fraction(0), moments.squares - n * centre ** 2)
    if moments.scale != 1.0:  # values beyond 2**448: m2 in units of 4**576, as NumericSummary keeps it
        return NumericSummary(**counts, min=stats.min, max=stats.max, mean=mean, mean_lo=mean_lo, m2=float(m2),
                              m2_exp=_SCALE)
    value = float(m2)
    if not math.isfinite(value):
        raise CheckError("the variance exceeds the float64 range")
    return NumericSummary(**counts, min=stats.min, max=stats.max, mean=mean, mean_lo=mean_lo, m2=value)


# ---- walks --------------------------------------------------------------------------------------------------
@dataclass
class WalkSide:
    """The other sample of a walk: an array on the driver (collected, or a profile's grid), or a
    column of a Spark relation."""

    count: int
    represented: int
    low: float
    high: float
    array: Any = None  # the values as served (a profile's grid keeps what it stands for)
    frame_sample: Sample | None = None

    def sample(self, runner: Runner) -> Sample:
        if self.frame_sample is not None:
            return self.frame_sample
        import pyarrow as pa

        values = np.asarray(self.array, dtype=np.float64)
        frame = runner.frame(pa.table({"v": pa.array(values, pa.float64())}))
        return Sample(frame, NumericColumn("`v`", floating=True, is_double=True), self.count, self.low, self.high)


def array_side(values) -> WalkSide:
    array = np.asarray(values, dtype=np.float64)
    count = int(array.size)
    low, high = (float(array[0]), float(array[-1])) if count else (0.0, 0.0)
    return WalkSide(count, int(getattr(values, "represented", count)), low, high, values)


def _count_at(found: list, at: int | None) -> int:
    """A count below a bin edge that the order statistics did not give: the aggregate at `at`."""
    if at is None:
        raise CheckError("a count below a bin edge was neither known nor counted")
    return int(found[at])


def _driver_walk(mine: Selection, theirs: WalkSide):
    from ...statistics.formulas import walk

    if mine.values is None:
        raise CheckError("the values of the walk were not copied")
    return walk(mine.values, theirs.array)


def spark_walk(pair, mine: WalkSide, theirs: WalkSide, copied: Selection | None):
    """The statistics.formulas.Walk of a walk the rounds computed: D, W1 (scaled near float64's
    limit as the local kernel scales it), the sizes the samples stand for, and — where scipy's
    exact small-sample p-value applies — the two samples (copied: at most 10,000 values each)."""
    from ...statistics.formulas import Walk

    d, exact = buckets.walk_result(pair)
    n, m = mine.count, theirs.count
    largest = max(abs(mine.low), abs(mine.high), abs(theirs.low), abs(theirs.high))
    exponent = max(0, n.bit_length() + m.bit_length() + math.frexp(largest)[1] + 1 - 1022)
    if not max(mine.high, theirs.high) - min(mine.low, theirs.low) < math.inf:
        exponent += 1
    scaled = float(exact / Fraction(2) ** exponent)
    samples = (copied.values, np.asarray(theirs.array)) if copied is not None and copied.values is not None else None
    return Walk(d, scaled, exponent, (mine.represented, theirs.represented), samples)
