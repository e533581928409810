"""The quantiles family: `median` and any `pNN` (p95, p99.9, ...) of a column's sorted finite
values (`SortedValues`). A pNN has no catalog entry of its own: `entry(name)` makes one."""
from __future__ import annotations

import re

from ..plan import requests as rq
from ..plan.observation import Observation, fetch
from .base import NUMERIC_ONLY, Statistic

STATISTICS = (
    Statistic("median", "p50 of the finite values", NUMERIC_ONLY),
)

_QUANTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


def quantile_of(name: str) -> float | None:
    """`p95` → 0.95, `p99.9` → 0.999, `median` → 0.5; None for other names."""
    if name == "median":
        return 0.5
    match = _QUANTILE.match(name)
    return float(match.group(1)) / 100.0 if match else None


def entry(name: str) -> Statistic | None:
    """The catalog entry of a `pNN` statistic (None when `name` is not one)."""
    q = quantile_of(name)
    if q is None:
        return None
    return Statistic(name, f"the {q:g} quantile (linear interpolation) of the finite values", NUMERIC_ONLY)


def requests(stat) -> tuple[rq.Request, ...]:
    return (rq.SortedValues(stat.dataset, stat.column),)


def compute(stat, got) -> Observation:
    from . import formulas

    q = quantile_of(stat.statistic)
    assert q is not None  # the checker binds this module to quantile statistics only
    return Observation(formulas.quantile(fetch(got, rq.SortedValues(stat.dataset, stat.column)), q))
