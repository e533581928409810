"""Measures: what a check compares. A measure names the statistic requests it needs and turns
their computed values into one observation. Measures never read data themselves.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

from . import requests as rq
from .catalog import CATEGORICAL, NUMERIC, quantile_of
from .errors import CheckError

Got = Mapping[rq.Request, Any]


@dataclass(frozen=True)
class Observation:
    """The outcome of a measure: a value, and for verdict measures whether it holds."""

    value: float | int | None  # an int where it is exact: an integer column's min or max
    passed: bool | None = None
    message: str = ""
    details: dict = field(default_factory=dict, compare=False, hash=False)


class Measure:
    unit: ClassVar[str | None] = None  # None | "s" | "rows/s"
    verdict: ClassVar[bool] = False  # decides pass/fail itself (test Holds)

    def requests(self) -> tuple[rq.Request, ...]:
        raise NotImplementedError

    def compute(self, got: Got) -> Observation:
        raise NotImplementedError


def fetch(got: Got, request: rq.Request) -> Any:
    """The computed value of a request; re-raises the error that computing it met."""
    value = got[request]
    if isinstance(value, BaseException):
        raise value
    return value


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
    """One statistic of one column of `dataset`, compared with `reference` for two-sample ones."""

    statistic: str
    dataset: str
    column: str
    column_kind: str  # numeric | categorical | other

    reference: str | None = None
    bins: int = 10
    low: float | int | None = None  # out_of_range_rate(LO, HI); ints stay exact beyond 2**53
    high: float | int | None = None

    # -- requests --------------------------------------------------------------------------------
    def requests(self) -> tuple[rq.Request, ...]:
        s, ds, col, ref = self.statistic, self.dataset, self.column, self.reference
        numeric = self.column_kind == NUMERIC
        if s == "null_rate":
            return (rq.Summary(ds, col),) if numeric else (rq.Counts(ds, col),)
        if s in ("distinct", "unique_rate"):
            return (rq.Counts(ds, col),)
        if s in ("min", "max", "mean", "std"):
            return (rq.Summary(ds, col),)
        if quantile_of(s) is not None:
            return (rq.SortedValues(ds, col),)
        if s == "out_of_range_rate":
            if ref is None:
                return (rq.OutsideCount(ds, col, self.low, self.high), rq.Summary(ds, col))
            return (rq.OutsideRange(ref, col, rq.Summary(ds, col)), rq.Summary(ref, col))
        if s == "unseen_rate":
            return (rq.Counts(ds, col), rq.Counts(ref, col))
        walk = rq.SampleWalk(ds, col, ref)
        if s in ("ks", "wasserstein"):
            return (walk,)
        if s == "ks_pvalue":  # small samples: scipy's exact p-value needs the samples themselves
            return (walk, rq.SortedValues(ds, col), rq.SortedValues(ref, col))
        if s == "wasserstein_norm":
            return (walk, rq.Summary(ref, col))
        # histogram family
        if numeric:
            edges = rq.Edges(ref, col, self.bins)
            return (rq.Histogram(ds, col, edges), rq.Histogram(ref, col, edges))
        return (rq.Counts(ds, col), rq.Counts(ref, col))

    # -- computation -------------------------------------------------------------------------------
    def compute(self, got: Got) -> Observation:
        from . import statistics as st

        s, ds, col, ref = self.statistic, self.dataset, self.column, self.reference
        if s == "null_rate":
            if self.column_kind == NUMERIC:
                summary = fetch(got, rq.Summary(ds, col))
                return Observation(_rate(summary.nulls + summary.nans, summary.rows, ds))
            counts = fetch(got, rq.Counts(ds, col))
            return Observation(_rate(counts.nulls, counts.rows, ds))
        if s == "distinct":
            return Observation(float(len(fetch(got, rq.Counts(ds, col)).values)))
        if s == "unique_rate":
            return Observation(st.unique_rate(fetch(got, rq.Counts(ds, col)).values))
        if s in ("min", "max", "mean", "std"):
            summary = fetch(got, rq.Summary(ds, col))
            if summary.count == 0:
                raise CheckError(f"`{col}` has no finite values in {ds}")
            if s == "std":
                if summary.count < 2:
                    raise CheckError(f"std needs at least 2 finite values; `{col}` has {summary.count} in {ds}")
                return Observation(summary.std(1))
            if s == "mean":
                return Observation(float(summary.mean))
            return Observation(getattr(summary, s))  # an integer column's extremes are exact ints
        q = quantile_of(s)
        if q is not None:
            return Observation(st.quantile(fetch(got, rq.SortedValues(ds, col)), q))
        if s == "out_of_range_rate":
            return self._out_of_range(got)
        if s == "unseen_rate":
            subject, reference = fetch(got, rq.Counts(ds, col)), fetch(got, rq.Counts(ref, col))
            if subject.rows == 0:
                raise CheckError(f"{ds} has no rows")
            if len(subject.keys) == 0:
                raise CheckError(f"`{col}` has no non-null values in {ds}")
            return Observation(st.unseen_rate(subject.values, reference.values, reference.rows),
                               details={"plot": _category_plot(subject.values, reference.values, ds, ref)})
        if s in ("ks", "ks_pvalue", "wasserstein", "wasserstein_norm"):
            walk = fetch(got, rq.SampleWalk(ds, col, ref))
            if s == "ks":
                return Observation(walk.ks)
            if s == "wasserstein":
                return Observation(walk.wasserstein)
            if s == "wasserstein_norm":
                return Observation(st.normalised(walk.wasserstein, fetch(got, rq.Summary(ref, col)).std(0)))
            cur, base = fetch(got, rq.SortedValues(ds, col)), fetch(got, rq.SortedValues(ref, col))
            return Observation(st.ks_pvalue(cur, base, walk.ks))
        return self._histogram_statistic(got)

    def _histogram_statistic(self, got: Got) -> Observation:
        from . import statistics as st

        s, ds, col, ref = self.statistic, self.dataset, self.column, self.reference
        if self.column_kind == NUMERIC:
            edges = rq.Edges(ref, col, self.bins)
            cur = fetch(got, rq.Histogram(ds, col, edges))
            base = fetch(got, rq.Histogram(ref, col, edges))
            bins = [float(e) for e in fetch(got, edges)]
        else:
            cur, base, bins = st.aligned_category_counts(
                fetch(got, rq.Counts(ds, col)).values, fetch(got, rq.Counts(ref, col)).values
            )
        value = st.HISTOGRAM_STATISTICS[s](cur, base)
        from .report import plotdata  # the picture of these very bins (docs/reports.md)

        plot = plotdata.histogram(bins, cur, base, ds, ref) if self.column_kind == NUMERIC else \
            plotdata.categories(bins, cur, base, ds, ref)
        kept = "edges" if self.column_kind == NUMERIC else "categories"
        return Observation(value, details={"bins": len(cur), kept: _jsonable(bins), "plot": plot})

    def _out_of_range(self, got: Got) -> Observation:
        ds, col, ref = self.dataset, self.column, self.reference
        if ref is None:
            outside = fetch(got, rq.OutsideCount(ds, col, self.low, self.high))
            summary = fetch(got, rq.Summary(ds, col))
            return Observation(_rate(outside, _non_missing(summary), f"`{col}` in {ds}", "no non-null values"))
        bounds = fetch(got, rq.Summary(ds, col))
        if bounds.count == 0:
            raise CheckError(f"`{col}` has no finite values in {ds}, so it has no range")
        outside = fetch(got, rq.OutsideRange(ref, col, rq.Summary(ds, col)))
        summary = fetch(got, rq.Summary(ref, col))
        return Observation(
            _rate(outside, _non_missing(summary), f"`{col}` in {ref}", "no non-null values"),
            details={"range": [bounds.min, bounds.max]},
        )


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
        total = _non_missing(summary)
        if total == 0:
            raise CheckError(f"`{self.column}` has no non-null values in {self.dataset}")
        lo, hi = _fmt(self.low), _fmt(self.high)
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
        return Observation(left.value - right.value, details={"left": left.value, "right": right.value})


@dataclass(frozen=True)
class Pending(Measure):
    """A valid check whose kind this build cannot execute yet: always an `error`, never a pass."""

    what: str

    def requests(self):
        return ()

    def compute(self, got):
        from .errors import NotYetSupported

        raise NotYetSupported(f"{self.what} are compiled but not executed by this version of mlcontract")


# ---- helpers -------------------------------------------------------------------------------------
def _category_plot(subject: dict, reference: dict, ds: str, ref: str) -> dict:
    from . import statistics as st
    from .report import plotdata

    cur, base, levels = st.aligned_category_counts(subject, reference)
    return plotdata.categories(levels, cur, base, ds, ref)


def _rate(part: int, whole: int, where: str, nothing: str = "no rows") -> float:
    if whole == 0:
        raise CheckError(f"{where} has {nothing}")
    return part / whole


def _non_missing(summary) -> int:
    return summary.count + summary.pos_inf + summary.neg_inf


def _extremes(summary) -> str:
    if summary.neg_inf or summary.pos_inf:
        return " (including infinite values)"
    if summary.count:
        return f" (min {_fmt(summary.min)}, max {_fmt(summary.max)})"
    return ""


def _fmt(x: float | int) -> str:
    """A bound or extreme: an int exactly as it is (an id of 2**53 + 1 is not 9.0072e+15)."""
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    return f"{x:g}"


def _features(schema: dict, excluded: tuple[str, ...]) -> dict:
    return {c: t for c, t in schema.items() if c not in excluded}


def _compatible(a: tuple[str, str], b: tuple[str, str]) -> bool:
    kind_a, dtype_a = a
    kind_b, dtype_b = b
    if kind_a in (NUMERIC, CATEGORICAL):
        return kind_a == kind_b
    return dtype_a == dtype_b


def _jsonable(values: list) -> list:
    return [v if isinstance(v, (int, float, str, bool)) or v is None else str(v) for v in values]
