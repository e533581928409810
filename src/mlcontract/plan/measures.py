"""Measures: what a check compares. A measure names the statistic requests it needs and turns
their computed values into one observation. Measures never read data themselves.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..errors import CheckError
from ..report.formatting import fmt_exact
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
        if outside == 0:
            return Observation(0.0, True, f"all {total:,} non-null values in [{lo}, {hi}]")
        extremes = _extremes(summary)
        return Observation(
            outside / total,
            False,
            f"{outside:,} of {total:,} values outside [{lo}, {hi}]{extremes}",
            details={"outside": int(outside), "values": int(total)},
        )


@dataclass(frozen=True)
class ValueSet(Measure):
    """`feature plan [not] in ("basic", "pro") [>= 99% | count >= 5]`, from the column's value
    counts (shared with every other count statistic of the column, and served by profiles).

    The values looked at are the present ones (neither null nor NaN: NaN is missing, as for
    `null_rate`), and the missing rows too when the set lists `null`. A value passes `in` when it equals a listed
    value, `not in` otherwise. `aggregate`: "all" (a verdict: every value passes; the value is
    the share that does not), "rate" (the share that passes), "count" (the number that passes).
    `values` holds (type name, value) pairs, so `1` and `true` stay different sets."""

    dataset: str
    column: str
    values: tuple[tuple[str, object], ...]
    negated: bool = False
    aggregate: str = "all"  # all | rate | count

    def requests(self):
        return (rq.Counts(self.dataset, self.column),)

    def compute(self, got):
        counts = fetch(got, rq.Counts(self.dataset, self.column))
        wanted = {value for _, value in self.values if value is not None}
        with_nulls = any(value is None for _, value in self.values)
        looked_at = counts.rows - (0 if with_nulls else counts.nulls)
        matched = sum(count for key, count in zip(counts.keys.tolist(), counts.counts.tolist()) if key in wanted)
        matched += counts.nulls if with_nulls else 0
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
                           f"{self._offenders(counts, wanted, with_nulls)}", details=details)

    def _relation(self, failed: bool = False) -> str:
        return "in" if self.negated == failed else "not in"

    def _offenders(self, counts, wanted: set, with_nulls: bool) -> str:
        """The most frequent values that fail, with their counts (escaped: they come from data)."""
        from ..escape import printable

        failing = [(key, count) for key, count in zip(counts.keys.tolist(), counts.counts.tolist())
                   if (key in wanted) == self.negated]
        failing.sort(key=lambda kc: -kc[1])
        shown = [f"{printable(repr(key), 60)} ({count:,})" for key, count in failing[:5]]
        if counts.nulls and with_nulls and self.negated:
            shown.append(f"null or NaN ({counts.nulls:,})")
        more = len(failing) - 5
        return ", ".join(shown) + (f" and {more:,} more distinct values" if more > 0 else "")


@dataclass(frozen=True)
class SchemaMatch(Measure):
    """`schema of A matches B`: the same feature columns with compatible types."""

    verdict: ClassVar[bool] = True
    dataset: str
    reference: str
    excluded: tuple[str, ...] = ()

    def requests(self):
        return (rq.SchemaOf(self.dataset), rq.SchemaOf(self.reference))

    def compute(self, got):
        mine = _features(fetch(got, rq.SchemaOf(self.dataset)), self.excluded)
        theirs = _features(fetch(got, rq.SchemaOf(self.reference)), self.excluded)
        problems = []
        missing = [c for c in theirs if c not in mine]
        extra = [c for c in mine if c not in theirs]
        if missing:
            problems.append(f"missing in {self.dataset}: {', '.join(missing)}")
        if extra:
            problems.append(f"missing in {self.reference}: {', '.join(extra)}")
        for column in mine:
            if column in theirs and not _compatible(mine[column], theirs[column]):
                problems.append(f"`{column}` is {mine[column][1]} in {self.dataset} but {theirs[column][1]} in {self.reference}")
        if problems:
            return Observation(float(len(problems)), False, "; ".join(problems), details={"problems": problems})
        return Observation(0.0, True, f"{len(mine)} feature columns with compatible types")


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
