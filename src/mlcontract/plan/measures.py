"""Measures: what a check compares. A measure names the statistic requests it needs and turns
their computed values into one observation. Measures never read data themselves.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import CheckError
from ..report.formatting import fmt_exact, fmt_percent
from ..statistics import family_of
from ..statistics.base import CATEGORICAL, NUMERIC, non_missing
from . import requests as rq
from .observation import Got, Observation, fetch


class Measure:
    unit: ClassVar[str | None] = None  # None | "s" | "rows/s"
    verdict: ClassVar[bool] = False  # decides pass/fail itself (test Holds)

    def requests(self) -> tuple[rq.Request, ...]:
        raise NotImplementedError

    def compute(self, got: Got) -> Observation:
        raise NotImplementedError


# ---- data measures -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Rows(Measure):
    dataset: str

    def requests(self):
        return (rq.RowCount(self.dataset),)

    def compute(self, got):
        return Observation(float(fetch(got, rq.RowCount(self.dataset))))


@dataclass(frozen=True)
class FeatureStat(Measure):
    """One statistic of one column of `dataset`, compared with `reference` for two-sample ones.
    Its statistic family (statistics/) names the requests and computes the value."""

    statistic: str
    dataset: str
    column: str
    column_type: str  # numeric | categorical | other

    reference: str | None = None
    bins: int = 10
    low: float | int | None = None  # out_of_range_rate(LO, HI); ints stay exact beyond 2**53
    high: float | int | None = None

    def requests(self) -> tuple[rq.Request, ...]:
        return family_of(self.statistic).requests(self)

    def compute(self, got: Got) -> Observation:
        return family_of(self.statistic).compute(self, got)


@dataclass(frozen=True)
class ValuesBetween(Measure):
    """`feature age between 18 and 100`: every non-null value lies in [low, high]."""

    verdict: ClassVar[bool] = True
    dataset: str
    column: str
    low: float | int  # contract literals: ints stay exact beyond 2**53
    high: float | int

    def requests(self):
        return (rq.OutsideCount(self.dataset, self.column, self.low, self.high), rq.Summary(self.dataset, self.column))

    def compute(self, got):
        outside = fetch(got, rq.OutsideCount(self.dataset, self.column, self.low, self.high))
        summary = fetch(got, rq.Summary(self.dataset, self.column))
        total = non_missing(summary)
        if total == 0:
            raise CheckError(f"`{self.column}` has no non-null values in {self.dataset}")
        lo, hi = fmt_exact(self.low), fmt_exact(self.high)
        share = outside / total
        # The value is the share outside: the report shows it as a percentage; the message gives the count.
        details = {"observed": f"share of the non-null values outside [{lo}, {hi}]", "observed_unit": "%",
                   "outside": int(outside), "values": int(total), "share_outside": share}
        if outside == 0:
            return Observation(0.0, True, f"all {total:,} non-null values in [{lo}, {hi}]: 0 outside", details)
        return Observation(
            share,
            False,
            f"{outside:,} of {total:,} values outside [{lo}, {hi}]{_extremes(summary)}: "
            f"{fmt_percent(share)} of the non-null values",
            details,
        )


@dataclass(frozen=True)
class ValueSet(Measure):
    """`feature plan [not] in ("basic", "pro") [>= 99% | count >= 5]`, from the column's value
    counts (shared with every other count statistic of the column, and served by profiles).

    The values looked at are the present ones (neither null nor NaN: NaN is missing, as for
    `null_rate`), and the missing rows too when the set lists `null`. A value passes `in` when it equals a listed
    value, `not in` otherwise. `aggregate`: "all" (a verdict: every value passes; the value is
    the share that does not), "rate" (the share that passes), "count" (the number that passes).
    `values` holds (type name, value) pairs, so `1` and `true` stay different sets. Dates and
    datetimes (of a Date or Datetime column) are matched as exact instants (`_temporal_inside`)."""

    dataset: str
    column: str
    values: tuple[tuple[str, object], ...]
    negated: bool = False
    aggregate: str = "all"  # all | rate | count

    def requests(self):
        return (rq.Counts(self.dataset, self.column),)

    def compute(self, got):
        counts = fetch(got, rq.Counts(self.dataset, self.column))
        wanted = [value for _, value in self.values if value is not None]
        with_nulls = any(value is None for _, value in self.values)
        inside = _inside(counts.keys, wanted)
        looked_at = counts.rows - (0 if with_nulls else counts.nulls)
        matched = int(counts.counts[inside].sum()) + (counts.nulls if with_nulls else 0)
        passing = looked_at - matched if self.negated else matched
        details = {"passing": int(passing), "values": int(looked_at)}
        if self.aggregate == "count":
            return Observation(passing, details=details)
        if looked_at == 0:
            raise CheckError(f"`{self.column}` has no {'rows' if with_nulls else 'non-null values'} in {self.dataset}")
        if self.aggregate == "rate":
            return Observation(passing / looked_at, details=details)
        failing = looked_at - passing
        if failing == 0:
            return Observation(0.0, True, f"all {looked_at:,} values {self._relation()} the set", details=details)
        return Observation(failing / looked_at, False,
                           f"{failing:,} of {looked_at:,} values {self._relation(failed=True)} the set: "
                           f"{self._offenders(counts, inside, with_nulls)}", details=details)

    def _relation(self, failed: bool = False) -> str:
        return "in" if self.negated == failed else "not in"

    def _offenders(self, counts, inside, with_nulls: bool) -> str:
        """The most frequent values that fail, with their counts (escaped: they come from data)."""
        from ..escape import printable

        zone = _zone(v for _, v in self.values)
        failing = [(key, count) for key, count, hit in zip(counts.keys, counts.counts.tolist(), inside.tolist())
                   if hit == self.negated]
        failing.sort(key=lambda kc: -kc[1])
        shown = [f"{printable(_shown(key, zone), 60)} ({count:,})" for key, count in failing[:5]]
        if counts.nulls and with_nulls and self.negated:
            shown.append(f"null or NaN ({counts.nulls:,})")
        more = len(failing) - 5
        return ", ".join(shown) + (f" and {more:,} more distinct values" if more > 0 else "")


@dataclass(frozen=True)
class ValuesPass(Measure):
    """`feature email matches "REGEX"`, `feature day is date "%Y-%m-%d" >= 99%`, `feature id is
    uuid count == 0`: the present values of a string column that pass a value test
    (requests.ValueTest). `aggregate` as for ValueSet: "all" (a verdict), "rate", "count"."""

    dataset: str
    column: str
    test: tuple
    aggregate: str = "all"

    def requests(self):
        return (rq.ValueTest(self.dataset, self.column, self.test),)

    def compute(self, got):
        from ..escape import printable

        counts = fetch(got, rq.ValueTest(self.dataset, self.column, self.test))
        details = {"passing": int(counts.passing), "values": int(counts.present)}
        if self.aggregate == "count":
            return Observation(counts.passing, details=details)
        if counts.present == 0:
            raise CheckError(f"`{self.column}` has no non-null values in {self.dataset}")
        if self.aggregate == "rate":
            return Observation(counts.passing / counts.present, details=details)
        failing = counts.present - counts.passing
        what = f"match {self.test[1]!r}" if self.test[0] == "matches" else f"are {self.test[1]}"
        if failing == 0:
            return Observation(0.0, True, f"all {counts.present:,} values {what}", details=details)
        shown = ", ".join(printable(repr(v), 60) for v in counts.failing_examples)
        return Observation(failing / counts.present, False,
                           printable(f"{failing:,} of {counts.present:,} values do not {what.replace('are ', 'parse as ')}"
                                     f": {shown}", None), details=details)


@dataclass(frozen=True)
class StatedShares(Measure):
    """`feature plan shares {"basic": 0.6, "pro": 0.4} psi < 0.1`: a histogram statistic of the
    column's present values, one bin per value, against stated shares (a value the contract does
    not state has share 0). `chi2_pvalue` is the goodness-of-fit test (scipy.stats.chisquare)
    of the counts against n × the shares; a count in a bin of share 0 makes it 0."""

    statistic: str
    dataset: str
    column: str
    shares: tuple[tuple[Any, float], ...]

    def requests(self):
        return (rq.Counts(self.dataset, self.column),)

    def compute(self, got):
        import numpy as np

        from ..statistics import formulas

        counted = fetch(got, rq.Counts(self.dataset, self.column))
        counts, stated = counted.values, dict(self.shares)
        if any(isinstance(value, datetime.date) for value in stated):  # dates: matched as exact instants
            counts = {}
            for key, count in zip(counted.keys, counted.counts.tolist()):
                counts[_instant_ns(key)] = counts.get(_instant_ns(key), 0) + count
            stated = {_instant_ns(value): share for value, share in self.shares}
        keys = list(dict.fromkeys([*stated, *counts]))
        observed = np.array([counts.get(k, 0) for k in keys], dtype=np.float64)
        weights = np.array([stated.get(k, 0.0) for k in keys], dtype=np.float64)
        if observed.sum() == 0:
            raise CheckError(f"`{self.column}` has no non-null values in {self.dataset}")
        details = {"values": int(observed.sum()), "unstated": int(observed[weights == 0].sum())}
        if self.statistic != "chi2_pvalue":
            return Observation(getattr(formulas, self.statistic)(observed, weights), details=details)
        if observed[weights == 0].sum() > 0:
            return Observation(0.0, details=details)  # impossible under the stated shares
        from scipy.stats import chisquare

        present = weights > 0
        if present.sum() < 2:
            return Observation(1.0, details=details)  # one stated value: nothing can differ
        expected = weights[present] * observed.sum()
        return Observation(float(chisquare(observed[present], expected).pvalue), details=details)


@dataclass(frozen=True)
class MostCommon(Measure):
    """`feature plan most_common == "basic"` (`!=`): the value with the most rows among the present
    ones, from the shared value counts. With a tie, `==` passes when the value is one of the tied
    ones and `!=` when it is none of them. The observed value is the most common value's rows."""

    dataset: str
    column: str
    expected: Any
    negated: bool = False

    def requests(self):
        return (rq.Counts(self.dataset, self.column),)

    def compute(self, got):
        from ..escape import printable

        counts = fetch(got, rq.Counts(self.dataset, self.column))
        if len(counts.keys) == 0:
            raise CheckError(f"`{self.column}` has no non-null values in {self.dataset}")
        top = int(counts.counts.max())
        # datetime64 keys as NumPy scalars (exact in their unit), any other as Python values
        keys = list(counts.keys) if counts.keys.dtype.kind == "M" else counts.keys.tolist()
        leaders = [key for key, count in zip(keys, counts.counts.tolist()) if count == top]
        if isinstance(self.expected, datetime.date):
            found = any(_instant_ns(key) == _instant_ns(self.expected) for key in leaders)
        else:
            found = any(key == self.expected and isinstance(key, bool) == isinstance(self.expected, bool)
                        for key in leaders)
        zone = _zone([self.expected])
        shown = ", ".join(printable(_shown(k, zone), 60) for k in leaders[:5]) + (" …" if len(leaders) > 5 else "")
        what = f"most common: {shown} ({top:,} of {int(counts.counts.sum()):,} values)"
        return Observation(top, found != self.negated, what, details={"rows": top, "tied": len(leaders)})


@dataclass(frozen=True)
class KeyDuplicates(Measure):
    """`training unique (customer_id, day)` (verdict: no key repeats) and `training
    duplicate_count (customer_id, day)` (the number of rows whose key repeats an earlier row's:
    rows − distinct keys). Missing values in a key equal each other."""

    dataset: str
    key: tuple[str, ...]
    verdict_form: bool = False

    def requests(self):
        return (rq.KeyDuplicates(self.dataset, self.key),)

    def compute(self, got):
        from ..escape import printable

        rows, distinct, top = fetch(got, rq.KeyDuplicates(self.dataset, self.key))
        duplicates = rows - distinct
        details = {"rows": int(rows), "distinct": int(distinct)}
        if rows == 0:  # no key repeats among no rows: nothing was checked, as for `unique`
            raise CheckError(f"{self.dataset} has no rows")
        if not self.verdict_form:
            return Observation(duplicates, details=details)
        name = ", ".join(self.key)
        if duplicates == 0:
            return Observation(0, True, f"all {rows:,} rows have distinct ({name})", details=details)
        shown = "; ".join(f"{printable(_key_text(key), 120)} × {count:,}" for key, count in top)
        return Observation(duplicates, False, f"{duplicates:,} of {rows:,} rows repeat a ({name}) of an earlier "
                           f"row: {shown}", details=details)


def _key_text(key: tuple) -> str:
    return "(" + ", ".join("null" if v is None else repr(v) for v in key) + ")"


@dataclass(frozen=True)
class ColumnType(Measure):
    """`feature age type Int64`: the column's dtype, as the run finds it, is the one named — by
    family (`integer`: any of `expected`), by name (`Datetime`: any time unit and zone), or
    exactly (`Datetime(time_unit='us', time_zone='UTC')`)."""

    dataset: str
    column: str
    how: str  # family | base | exact
    expected: tuple[str, ...]
    written: str = ""

    def requests(self):
        return (rq.SchemaOf(self.dataset),)

    def compute(self, got):
        schema = fetch(got, rq.SchemaOf(self.dataset))
        if self.column not in schema:
            raise CheckError(f"column `{self.column}` is missing in dataset `{self.dataset}`")
        dtype = schema[self.column][1]
        found = dtype if self.how == "exact" else dtype.split("(")[0]
        if found in self.expected:
            return Observation(0.0, True, f"`{self.column}` is {dtype}")
        return Observation(1.0, False, f"`{self.column}` is {dtype}, not {self.written}")


@dataclass(frozen=True)
class ColumnCount(Measure):
    """`training columns == 12`: the number of the dataset's columns (all of them: the label
    and ignored columns too; a pandas index stored as columns is not one)."""

    dataset: str

    def requests(self):
        return (rq.SchemaOf(self.dataset),)

    def compute(self, got):
        return Observation(len(fetch(got, rq.SchemaOf(self.dataset))))


@dataclass(frozen=True)
class ColumnSet(Measure):
    """`training columns include (a, b)` / `exclude (c)`: those columns are (are not) in it."""

    dataset: str
    op: str  # include | exclude
    names: tuple[str, ...]

    def requests(self):
        return (rq.SchemaOf(self.dataset),)

    def compute(self, got):
        from ..escape import printable

        schema = fetch(got, rq.SchemaOf(self.dataset))
        wrong = [n for n in self.names if (n in schema) != (self.op == "include")]
        listed = ", ".join(f"`{printable(n, 80)}`" for n in wrong)
        if not wrong:
            return Observation(0, True, f"{len(self.names)} columns {'present' if self.op == 'include' else 'absent'}")
        verb = "missing in" if self.op == "include" else "present in"
        return Observation(len(wrong), False, f"{listed} {verb} {self.dataset}", details={"columns": wrong})


@dataclass(frozen=True)
class Freshness(Measure):
    """`freshness of production [by COLUMN] <= 1d [as of 2026-01-31T00:00Z]`: seconds from the
    newest value of a Date or Datetime column to the run's clock (or the `as of` instant). A
    value without a time zone is read as UTC; a Date as its midnight, UTC."""

    unit: ClassVar[str | None] = "s"
    dataset: str
    column: str
    as_of: Any = None  # a date or datetime from the contract, or None: now

    def requests(self):
        return (rq.TemporalRange(self.dataset, self.column),)

    def compute(self, got):
        _oldest, newest, present = fetch(got, rq.TemporalRange(self.dataset, self.column))
        if newest is None:
            raise CheckError(f"`{self.column}` has no non-null values in {self.dataset}")
        clock = _instant(self.as_of) if self.as_of is not None else datetime.datetime.now(datetime.timezone.utc)
        # in integer nanoseconds, so a newest value a nanosecond past the clock is in the future
        age = (_instant_ns(clock) - _instant_ns(newest)) / 10**9
        return Observation(age, details={"newest": _iso(newest), "as_of": clock.isoformat(), "values": int(present)})


def _instant(value) -> datetime.datetime:
    """A date or datetime as an aware datetime: naive ones are UTC, a date is its midnight UTC."""
    if not isinstance(value, datetime.datetime):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc)
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.timezone.utc)


@dataclass(frozen=True)
class TemporalBetween(Measure):
    """`feature signup between 2026-01-01 and 2026-06-30`: every present value of a Date or
    Datetime column lies in the range (inclusive); the value is the share outside it."""

    dataset: str
    column: str
    low: Any
    high: Any

    def requests(self):
        return (rq.TemporalOutside(self.dataset, self.column, self.low, self.high),)

    def compute(self, got):
        outside, present = fetch(got, rq.TemporalOutside(self.dataset, self.column, self.low, self.high))
        if present == 0:
            raise CheckError(f"`{self.column}` has no non-null values in {self.dataset}")
        span = f"[{_iso(self.low)}, {_iso(self.high)}]"
        if outside == 0:
            return Observation(0.0, True, f"all {present:,} non-null values in {span}")
        return Observation(outside / present, False, f"{outside:,} of {present:,} values outside {span}",
                           details={"outside": int(outside), "values": int(present)})


@dataclass(frozen=True)
class TemporalBound(Measure):
    """`feature signup max >= 2026-01-01`: the oldest (`min`) or newest (`max`) value of a Date
    or Datetime column compared with a date or datetime; `op` "between" (`feature signup min
    between 2026-01-01 and 2026-01-31`): from `bound` to `high`, inclusive."""

    dataset: str
    column: str
    statistic: str  # min | max
    op: str  # a comparator, or "between"
    bound: Any
    high: Any = None  # the high end of `between`

    def requests(self):
        return (rq.TemporalRange(self.dataset, self.column),)

    def compute(self, got):
        import operator

        oldest, newest, _present = fetch(got, rq.TemporalRange(self.dataset, self.column))
        value = oldest if self.statistic == "min" else newest
        if value is None:
            raise CheckError(f"`{self.column}` has no non-null values in {self.dataset}")
        exact = _instant_ns(value)  # an instant in nanoseconds: exact at any unit of the column
        if self.op == "between":
            holds = _instant_ns(self.bound) <= exact <= _instant_ns(self.high)
            where = f"[{_iso(self.bound)}, {_iso(self.high)}]"
            return Observation(None, holds, f"{self.statistic} {_iso(value)} {'in' if holds else 'not in'} {where}")
        ops = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
               "!=": operator.ne}
        holds = ops[self.op](exact, _instant_ns(self.bound))
        verb = self.op if holds else f"is not {self.op}"
        return Observation(None, holds, f"{self.statistic} {_iso(value)} {verb} {_iso(self.bound)}")


def _iso(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@dataclass(frozen=True)
class SchemaMatch(Measure):
    """`schema of A matches B`: the same feature columns with compatible types."""

    verdict: ClassVar[bool] = True
    dataset: str
    reference: str
    excluded: tuple[str, ...] = ()
    strict: bool = False  # `strictly`: identical dtypes, in the same order

    def requests(self):
        return (rq.SchemaOf(self.dataset), rq.SchemaOf(self.reference))

    def compute(self, got):
        mine = _features(fetch(got, rq.SchemaOf(self.dataset)), self.excluded)
        theirs = _features(fetch(got, rq.SchemaOf(self.reference)), self.excluded)
        missing = [c for c in theirs if c not in mine]
        extra = [c for c in mine if c not in theirs]
        same = (lambda c: mine[c] == theirs[c]) if self.strict else (lambda c: _compatible(mine[c], theirs[c]))
        retyped = [c for c in mine if c in theirs and not same(c)]
        problems = [f"missing in {self.dataset}: {', '.join(missing)}"] if missing else []
        problems += [f"missing in {self.reference}: {', '.join(extra)}"] if extra else []
        problems += [f"`{c}` is {mine[c][1]} in {self.dataset} but {theirs[c][1]} in {self.reference}" for c in retyped]
        # `strictly`, the same columns: those not where the reference has them are out of place.
        misplaced = [c for c, t in zip(mine, theirs) if c != t] if self.strict and not missing and not extra else []
        if misplaced:
            problems.append(f"the columns are in another order: {', '.join(mine)} in {self.dataset}, "
                            f"{', '.join(theirs)} in {self.reference}")
        # The value is the number of mismatching columns, each named in the message and the details.
        mismatching = missing + extra + retyped + [c for c in misplaced if c not in retyped]
        columns = "column" if len(mismatching) == 1 else "columns"
        details = {"observed": "number of mismatching columns", "observed_unit": columns,
                   "mismatching_columns": mismatching}
        if problems:
            return Observation(float(len(mismatching)), False, f"{len(mismatching)} mismatching {columns}: "
                               f"{'; '.join(problems)}", {**details, "problems": problems})
        kept = "the same types in the same order" if self.strict else "compatible types"
        return Observation(0.0, True, f"0 mismatching columns: {len(mine)} feature columns with {kept}", details)


@dataclass(frozen=True)
class Difference(Measure):
    """`MEASURE - MEASURE`: e.g. the overfitting gap `auc on training - auc on holdout`."""

    left: Measure
    right: Measure

    @property
    def unit(self):  # type: ignore[override]
        return self.left.unit

    def requests(self):
        return self.left.requests() + self.right.requests()

    def compute(self, got):
        left, right = self.left.compute(got), self.right.compute(got)
        assert left.value is not None and right.value is not None  # both sides are numeric measures
        return Observation(left.value - right.value, details={"left": left.value, "right": right.value})


# ---- helpers -------------------------------------------------------------------------------------
def _extremes(summary) -> str:
    if summary.neg_inf or summary.pos_inf:
        return " (including infinite values)"
    if summary.count:
        return f" (min {fmt_exact(summary.min)}, max {fmt_exact(summary.max)})"
    return ""


def _features(schema: dict, excluded: tuple[str, ...]) -> dict:
    return {c: t for c, t in schema.items() if c not in excluded}


def _compatible(a: tuple[str, str], b: tuple[str, str]) -> bool:
    kind_a, dtype_a = a
    kind_b, dtype_b = b
    if kind_a in (NUMERIC, CATEGORICAL):
        return kind_a == kind_b
    return dtype_a == dtype_b


# ---- values of value tests: matched exactly, shown as the contract writes them ------------------
def _inside(keys, wanted: list):
    """For each key of a column's value counts, whether it is one of the `wanted` literals (a
    NumPy bool array). Dates and datetimes are compared as exact instants (`_instant_ns`); any
    other key as Python compares it (`keys.tolist()`: Python ints, floats, strings, booleans)."""
    import numpy as np

    if any(isinstance(value, datetime.date) for value in wanted):
        return _temporal_inside(keys, {_instant_ns(value) for value in wanted})
    wanted_set = set(wanted)
    return np.fromiter((key in wanted_set for key in keys.tolist()), dtype=bool, count=len(keys))


# Nanoseconds per tick of the NumPy datetime64 units an engine may hand over.
_NS_PER = {"D": 86_400 * 10**9, "h": 3_600 * 10**9, "m": 60 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_EPOCH = datetime.datetime(1970, 1, 1)


def _temporal_inside(keys, wanted_ns: set[int]):
    """`_inside` for a Date or Datetime column. Keys in a datetime64 array (the local engine) are
    compared as integer ticks of their unit, in one vectorised pass: a literal finer than the unit
    (`12:00:00.5` in a column of whole seconds) equals none of them. Keys as Python objects (merged
    batches, other engines) one by one."""
    import numpy as np

    if keys.dtype.kind == "M":
        unit, step = np.datetime_data(keys.dtype)
        per = step * _ns_per(unit)
        ticks = [ns // per for ns in wanted_ns if ns % per == 0 and -2**63 < ns // per < 2**63]
        return np.isin(keys.view(np.int64), np.array(ticks, dtype=np.int64))
    return np.fromiter((_instant_ns(key) in wanted_ns for key in keys), dtype=bool, count=len(keys))


def _ns_per(unit: str) -> int:
    if unit not in _NS_PER:  # pragma: no cover - Polars writes D, ms, us, ns
        raise CheckError(f"dates in datetime64[{unit}] cannot be compared exactly")
    return _NS_PER[unit]


def _instant_ns(value) -> int:
    """A value of a Date or Datetime column (or a literal), however it is handed over — a NumPy
    datetime64 of any unit, a Python date or datetime, or the int a datetime64[ns] array's
    `tolist()` gives, a `Moment` — as an exact number of nanoseconds since 1970-01-01: a date is
    its midnight, an aware datetime its instant in UTC, a naive one as written."""
    import numpy as np

    if isinstance(value, rq.Moment):
        return value.ns
    if isinstance(value, np.datetime64):
        unit, step = np.datetime_data(value.dtype)
        return int(value.astype(np.int64)) * step * _ns_per(unit)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000
    if isinstance(value, datetime.date):
        return (value - _EPOCH.date()).days * _NS_PER["D"]
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    raise CheckError(f"{value!r} is not a date or a datetime")


def _zone(values) -> str:
    """"Z" when the literals are aware datetimes (the column has a time zone: its values, as the
    engines hand them over, are in UTC), "" otherwise."""
    return "Z" if any(isinstance(v, datetime.datetime) and v.tzinfo is not None for v in values) else ""


def _shown(key, zone: str = "") -> str:
    """A value of the data as the report shows it: a date or datetime in ISO 8601, anything else
    as Python writes it."""
    import numpy as np

    if isinstance(key, rq.Moment):
        return key.isoformat()
    if isinstance(key, np.datetime64) and np.datetime_data(key.dtype)[0] == "D":
        return str(key)
    if isinstance(key, datetime.date) and not isinstance(key, datetime.datetime):
        return key.isoformat()
    if isinstance(key, (np.datetime64, datetime.datetime)):
        ns = _instant_ns(key)
        try:
            moment = _EPOCH + datetime.timedelta(microseconds=ns // 1_000)
        except OverflowError:  # beyond the years 1-9999 of Python's datetime
            return f"{np.datetime64(ns, 'ns') if -2**63 < ns < 2**63 else ns}{zone}"
        if ns % 1_000:  # nanoseconds: beyond what a Python datetime holds
            return f"{moment.isoformat(timespec='microseconds')}{ns % 1_000:03d}{zone}"
        return moment.isoformat() + zone
    if isinstance(key, np.generic):
        key = key.item()
    return repr(key)
