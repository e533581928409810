"""The samples family: two-sample statistics of both columns' sorted finite values, from one
merge walk over them (`SampleWalk`) — ks, ks_pvalue, wasserstein, wasserstein_norm."""
from __future__ import annotations

from ..plan import requests as rq
from ..plan.observation import Observation, fetch
from .base import NUMERIC_ONLY, Statistic

STATISTICS = (
    Statistic("ks", "two-sample Kolmogorov–Smirnov statistic D", NUMERIC_ONLY, True, unit="distance"),
    Statistic("ks_pvalue", "two-sided p-value of the two-sample KS test", NUMERIC_ONLY, True, unit="pvalue"),
    Statistic("wasserstein", "1-D earth mover's distance", NUMERIC_ONLY, True, unit="distance"),
    Statistic("wasserstein_norm", "wasserstein divided by the reference's standard deviation",
              NUMERIC_ONLY, True, unit="distance"),
)


def requests(stat) -> tuple[rq.Request, ...]:
    ds, col, ref = stat.dataset, stat.column, stat.reference
    walk = rq.SampleWalk(ds, col, ref)
    if stat.statistic == "wasserstein_norm":
        return (walk, rq.Summary(ref, col))
    return (walk,)


def compute(stat, got) -> Observation:
    from . import formulas

    s, ds, col, ref = stat.statistic, stat.dataset, stat.column, stat.reference
    walk = fetch(got, rq.SampleWalk(ds, col, ref))
    if s == "ks":
        return Observation(walk.ks)
    if s == "wasserstein":
        return Observation(formulas.wasserstein(walk))
    if s == "wasserstein_norm":
        return Observation(formulas.normalised(walk, fetch(got, rq.Summary(ref, col))))
    return Observation(formulas.walk_pvalue(walk))  # the walk carries its samples' sizes (and small samples)
