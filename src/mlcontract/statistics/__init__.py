"""The feature statistics the language knows, by family.

`CATALOG` maps each statistic's name to its catalog entry (base.Statistic), assembled from the
families listed in `FAMILIES` — one module each, owning its entries, the requests a statistic
needs and its computation. `statistic(name)` also knows every `pNN`; `family_of(name)` is the
module a measure (plan.measures.FeatureStat) asks. The pure formulas live in formulas.py (NumPy,
imported when a statistic is computed, never when a contract is compiled).
"""
from __future__ import annotations

from types import ModuleType

from . import aggregates, counts, histograms, quantiles, ranges, samples, summary
from .base import Statistic

FAMILIES: tuple[ModuleType, ...] = (summary, counts, quantiles, ranges, samples, histograms, aggregates)

CATALOG: dict[str, Statistic] = {entry.name: entry for family in FAMILIES for entry in family.STATISTICS}
_FAMILY: dict[str, ModuleType] = {entry.name: family for family in FAMILIES for entry in family.STATISTICS}


def statistic(name: str) -> Statistic | None:
    """The catalog entry of a statistic (any `pNN` included), or None."""
    return CATALOG.get(name) or quantiles.entry(name)


def family_of(name: str) -> ModuleType:
    """The family module that computes the statistic `name`."""
    family = _FAMILY.get(name)
    if family is None and quantiles.quantile_of(name) is not None:
        return quantiles
    if family is None:
        raise KeyError(f"unknown statistic {name!r}")
    return family
