"""The histograms family: distances between the subject's and the reference's histograms —
psi, js, hellinger, linf, kl, chi2_pvalue. A numeric column is binned on the reference's quantile
edges (`Edges`, then a `Histogram` of each dataset on them); a categorical column gets one bin
per category (both datasets' `Counts`).

Each statistic here is the function of the same name in formulas.py, applied to the two count
arrays: a new histogram statistic is one entry here and one formula there."""
from __future__ import annotations

from ..plan import requests as rq
from ..plan.observation import Observation, fetch
from ..report import plotdata
from .base import BOTH, NUMERIC, Statistic

_BINS = frozenset({"bins"})

STATISTICS = (
    Statistic("psi", "population stability index on the reference's quantile bins", BOTH, True,
              options=_BINS, unit="distance"),
    Statistic("js", "Jensen–Shannon distance (base 2) on the psi bins", BOTH, True, options=_BINS, unit="distance"),
    Statistic("hellinger", "Hellinger distance on the psi bins", BOTH, True, options=_BINS, unit="distance"),
    Statistic("linf", "largest absolute difference of bin shares (L-infinity)", BOTH, True,
              options=_BINS, unit="distance"),
    Statistic("kl", "Kullback–Leibler divergence KL(subject ‖ reference), natural log, on the psi bins",
              BOTH, True, options=_BINS, unit="distance"),
    Statistic("chi2_pvalue", "p-value of the chi-squared homogeneity test on the 2×K count table",
              BOTH, True, options=_BINS, unit="pvalue"),
)


def requests(stat) -> tuple[rq.Request, ...]:
    ds, col, ref = stat.dataset, stat.column, stat.reference
    if stat.column_type == NUMERIC:
        edges = rq.Edges(ref, col, stat.bins)
        return (rq.Histogram(ds, col, edges), rq.Histogram(ref, col, edges))
    return (rq.Counts(ds, col), rq.Counts(ref, col))


def compute(stat, got) -> Observation:
    from . import formulas

    ds, col, ref = stat.dataset, stat.column, stat.reference
    if stat.column_type == NUMERIC:
        edges = rq.Edges(ref, col, stat.bins)
        cur = fetch(got, rq.Histogram(ds, col, edges))
        base = fetch(got, rq.Histogram(ref, col, edges))
        bins = [float(e) for e in fetch(got, edges)]
    else:
        cur, base, bins = formulas.aligned_category_counts(
            fetch(got, rq.Counts(ds, col)).values, fetch(got, rq.Counts(ref, col)).values
        )
    value = getattr(formulas, stat.statistic)(cur, base)
    # the picture of these very bins (report/plotdata.py, docs/reports.md)
    plot = plotdata.histogram(bins, cur, base, ds, ref) if stat.column_type == NUMERIC else \
        plotdata.categories(bins, cur, base, ds, ref)
    return Observation(value, details={"bins": len(cur), "edges" if stat.column_type == NUMERIC else "categories":
                                       _jsonable(bins), "plot": plot})


def _jsonable(values: list) -> list:
    return [v if isinstance(v, (int, float, str, bool)) or v is None else str(v) for v in values]
