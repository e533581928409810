"""The aggregates family (issue 13): sum, null_count, duplicate_count, distinct_rate, true_rate —
absolute counts beside the rates, and the totals teams check in SQL. Each reads a request the
other families already ask for (`Summary` for numeric columns, `Counts` otherwise), so adding one
to a contract adds no pass over the data, and a profile serves what it serves for them."""
from __future__ import annotations

import math

from ..errors import CheckError
from ..plan import requests as rq
from ..plan.observation import Observation, fetch
from .base import ANY_TYPE, NUMERIC, NUMERIC_ONLY, Statistic, rate

STATISTICS = (
    Statistic("sum", "sum of the finite values (an error if the column has ±inf)", NUMERIC_ONLY),
    Statistic("null_count", "number of rows that are null or NaN", ANY_TYPE, unit="count"),
    Statistic("duplicate_count", "number of present values equal to an earlier value", ANY_TYPE, unit="count"),
    Statistic("distinct_rate", "distinct present values / present values", ANY_TYPE, unit="rate"),
    # Boolean columns only: the checker admits them by dtype (resolve/features.py BOOLEANS)
    Statistic("true_rate", "share of the present values of a Boolean column that are true", frozenset(), unit="rate"),
)


def requests(stat) -> tuple[rq.Request, ...]:
    if stat.statistic == "sum" or (stat.statistic == "null_count" and stat.column_type == NUMERIC):
        return (rq.Summary(stat.dataset, stat.column),)
    return (rq.Counts(stat.dataset, stat.column),)


def compute(stat, got) -> Observation:
    s, ds, col = stat.statistic, stat.dataset, stat.column
    if s == "sum":
        return _sum(fetch(got, rq.Summary(ds, col)), col, ds)
    if s == "null_count" and stat.column_type == NUMERIC:
        summary = fetch(got, rq.Summary(ds, col))
        _has_rows(summary.rows, ds)
        return Observation(summary.nulls + summary.nans)
    counts = fetch(got, rq.Counts(ds, col))
    present = int(counts.counts.sum())
    if s in ("null_count", "duplicate_count"):
        _has_rows(present + counts.nulls, ds)
    if s == "null_count":
        return Observation(counts.nulls)
    if s == "duplicate_count":
        return Observation(present - len(counts.keys), details={"values": present, "distinct": len(counts.keys)})
    if s == "distinct_rate":
        return Observation(rate(len(counts.keys), present, f"`{col}` in {ds}", "no non-null values"),
                           details={"values": present, "distinct": len(counts.keys)})
    return true_rate(counts, col, ds)


def _has_rows(rows: int, ds: str) -> None:
    """A count of an empty dataset is nothing computed: `null_count == 0` must not pass on no rows."""
    if rows == 0:
        raise CheckError(f"{ds} has no rows")


def true_rate(counts, col: str, ds: str) -> Observation:
    """The share of true among the present values of a Boolean column (also its `mean`)."""
    values = counts.values
    if any(not isinstance(key, bool) for key in values):
        raise CheckError(f"`{col}` is not a Boolean column in {ds}")
    present = sum(values.values())
    trues = values.get(True, 0)
    return Observation(rate(trues, present, f"`{col}` in {ds}", "no non-null values"),
                       details={"true": trues, "values": present})


def _sum(summary, col: str, ds: str) -> Observation:
    if summary.pos_inf or summary.neg_inf:
        raise CheckError(f"`{col}` has {summary.pos_inf + summary.neg_inf:,} infinite values in {ds}: "
                         "its sum is not a finite number")
    if summary.count == 0:
        raise CheckError(f"`{col}` has no finite values in {ds}")
    # The mean is kept as a double-double (mean + mean_lo): the sum keeps its precision.
    total = float(summary.mean) * summary.count + float(summary.mean_lo) * summary.count
    if math.isinf(total):
        raise CheckError(f"the sum of `{col}` in {ds} exceeds the float64 range")
    return Observation(total, details={"values": summary.count})
