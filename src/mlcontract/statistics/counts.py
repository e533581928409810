"""The counts family: statistics of a column's value counts (`Counts`) — distinct, unique_rate,
and unseen_rate against the `vs` dataset's counts."""
from __future__ import annotations

from ..errors import CheckError
from ..plan import requests as rq
from ..plan.observation import Observation, fetch
from ..report import plotdata
from .base import ANY_TYPE, CATEGORICAL, NUMERIC, OTHER, Statistic

STATISTICS = (
    Statistic(
        "unseen_rate",
        "share of the `vs` dataset's rows whose non-null value never occurs in the subject",
        frozenset({NUMERIC, CATEGORICAL, OTHER}),
        two_sample=True,
        unit="rate",
    ),
    Statistic("distinct", "number of distinct non-null values", ANY_TYPE, unit="count"),
    Statistic("unique_rate", "share of non-null rows whose value occurs exactly once", ANY_TYPE, unit="rate"),
)


def requests(stat) -> tuple[rq.Request, ...]:
    if stat.statistic == "unseen_rate":
        return (rq.Counts(stat.dataset, stat.column), rq.Counts(stat.reference, stat.column))
    return (rq.Counts(stat.dataset, stat.column),)


def compute(stat, got) -> Observation:
    from . import formulas

    s, ds, col, ref = stat.statistic, stat.dataset, stat.column, stat.reference
    if s == "distinct":
        return Observation(float(len(fetch(got, rq.Counts(ds, col)).values)))
    if s == "unique_rate":
        return Observation(formulas.unique_rate(fetch(got, rq.Counts(ds, col)).values))
    subject, reference = fetch(got, rq.Counts(ds, col)), fetch(got, rq.Counts(ref, col))
    if subject.rows == 0:
        raise CheckError(f"{ds} has no rows")
    if len(subject.keys) == 0:
        raise CheckError(f"`{col}` has no non-null values in {ds}")
    # the picture: both datasets' levels, the ones the subject never saw marked (report/plotdata.py)
    cur, base, levels = formulas.aligned_category_counts(subject.values, reference.values)
    return Observation(formulas.unseen_rate(subject.values, reference.values, reference.rows),
                       details={"plot": plotdata.categories(levels, cur, base, ds, ref)})
