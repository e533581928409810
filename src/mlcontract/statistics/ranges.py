"""The ranges family: out_of_range_rate — the share of non-null values outside [LO, HI] given as
arguments (`OutsideCount`), or, with `vs B`, the share of B's values outside the subject's
finite [min, max] (`OutsideRange`, computed after the subject's `Summary`). `feature x between
LO and HI` (plan.measures.ValuesBetween) asks for the same requests."""
from __future__ import annotations

from ..errors import CheckError
from ..plan import requests as rq
from ..plan.observation import Observation, fetch
from .base import NUMERIC_ONLY, Statistic, non_missing, rate

STATISTICS = (
    Statistic(
        "out_of_range_rate",
        "share of non-null values outside [LO, HI] given as arguments, or — with `vs B` — share of B's "
        "non-null values outside the subject's [min, max]",
        NUMERIC_ONLY,
        vs_optional=True,
        arguments=2,
        unit="rate",
    ),
)


def requests(stat) -> tuple[rq.Request, ...]:
    ds, col, ref = stat.dataset, stat.column, stat.reference
    if ref is None:
        return (rq.OutsideCount(ds, col, stat.low, stat.high), rq.Summary(ds, col))
    return (rq.OutsideRange(ref, col, rq.Summary(ds, col)), rq.Summary(ref, col))


def compute(stat, got) -> Observation:
    ds, col, ref = stat.dataset, stat.column, stat.reference
    if ref is None:
        outside = fetch(got, rq.OutsideCount(ds, col, stat.low, stat.high))
        summary = fetch(got, rq.Summary(ds, col))
        return Observation(rate(outside, non_missing(summary), f"`{col}` in {ds}", "no non-null values"))
    bounds = fetch(got, rq.Summary(ds, col))
    if bounds.count == 0:
        raise CheckError(f"`{col}` has no finite values in {ds}, so it has no range")
    outside = fetch(got, rq.OutsideRange(ref, col, rq.Summary(ds, col)))
    summary = fetch(got, rq.Summary(ref, col))
    return Observation(
        rate(outside, non_missing(summary), f"`{col}` in {ref}", "no non-null values"),
        details={"range": [bounds.min, bounds.max]},
    )
