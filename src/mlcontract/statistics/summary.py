"""The summary family: statistics of a numeric column's one-pass summary (`Summary`: rows, nulls,
NaN, ±inf, finite count, min, max, mean, m2) — null_rate, min, max, mean, std. A categorical
column's null_rate is read off its value counts (`Counts`), which carry its nulls."""
from __future__ import annotations

import math
import sys

from ..errors import CheckError
from ..plan import requests as rq
from ..plan.observation import Observation, fetch
from .base import ANY_TYPE, NUMERIC, NUMERIC_ONLY, Statistic, rate

STATISTICS = (
    Statistic("null_rate", "share of rows that are null or NaN", ANY_TYPE, unit="rate"),
    Statistic("min", "smallest finite value", NUMERIC_ONLY),
    Statistic("max", "largest finite value", NUMERIC_ONLY),
    Statistic("mean", "mean of the finite values (of a Boolean column: its true_rate)", NUMERIC_ONLY),
    Statistic("std", "sample standard deviation (ddof=1) of the finite values", NUMERIC_ONLY),
)


def requests(stat) -> tuple[rq.Request, ...]:
    if stat.statistic in ("null_rate", "mean") and stat.column_type != NUMERIC:  # the mean of a Boolean column
        return (rq.Counts(stat.dataset, stat.column),)
    if stat.statistic == "null_rate" and stat.column_type != NUMERIC:
        return (rq.Counts(stat.dataset, stat.column),)
    return (rq.Summary(stat.dataset, stat.column),)


def compute(stat, got) -> Observation:
    s, ds, col = stat.statistic, stat.dataset, stat.column
    if s == "null_rate":
        if stat.column_type == NUMERIC:
            summary = fetch(got, rq.Summary(ds, col))
            return Observation(rate(summary.nulls + summary.nans, summary.rows, ds))
        counts = fetch(got, rq.Counts(ds, col))
        return Observation(rate(counts.nulls, counts.rows, ds))
    if s == "mean" and stat.column_type != NUMERIC:  # a Boolean column (the resolver allows no other)
        from .aggregates import true_rate

        return true_rate(fetch(got, rq.Counts(ds, col)), col, ds)
    summary = fetch(got, rq.Summary(ds, col))
    if summary.count == 0:
        raise CheckError(f"`{col}` has no finite values in {ds}")
    if s == "std":
        if summary.count < 2:
            raise CheckError(f"std needs at least 2 finite values; `{col}` has {summary.count} in {ds}")
        std = summary.std(1)  # from the scaled m2: inf only where the std itself is beyond float64
        if math.isinf(std):
            raise CheckError(f"the std of `{col}` in {ds} exceeds the float64 range ({sys.float_info.max:.3g})")
        return Observation(std)
    if s == "mean":
        return Observation(float(summary.mean))
    return Observation(getattr(summary, s))  # an integer column's extremes are exact ints
