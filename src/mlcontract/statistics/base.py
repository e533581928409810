"""What a statistic is to the language (its catalog entry) and what a statistic family provides.

A family (summary.py, counts.py, quantiles.py, ranges.py, samples.py, histograms.py) is a module
that owns its `STATISTICS` (catalog entries), says which requests a statistic of a column needs
(`requests(stat)`) and computes it from their values (`compute(stat, got)`), where `stat` is the
measure `plan.measures.FeatureStat` (statistic, dataset, column, column_type, reference, bins,
low, high). Nothing here imports NumPy: the checker reads the catalog at compile time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..errors import CheckError

if TYPE_CHECKING:
    from ..plan.measures import FeatureStat
    from ..plan.observation import Got, Observation
    from ..plan.requests import Request

# A column's type as the language sees it (sources.datasets.column_type maps Polars dtypes).
NUMERIC, CATEGORICAL, OTHER = "numeric", "categorical", "other"
BOTH = frozenset({NUMERIC, CATEGORICAL})
NUMERIC_ONLY = frozenset({NUMERIC})
ANY_TYPE = frozenset({NUMERIC, CATEGORICAL, OTHER})


@dataclass(frozen=True)
class Statistic:
    """A feature statistic of the language: what `mlc statistics` lists and the checker enforces."""

    name: str
    summary: str
    accepts: frozenset[str]  # the column types it applies to
    two_sample: bool = False  # needs `vs DATASET`
    vs_optional: bool = False  # may take `vs DATASET`
    options: frozenset[str] = frozenset()  # e.g. {"bins"}
    arguments: int = 0  # parenthesised arguments, e.g. out_of_range_rate(18, 100)
    unit: str = "value"  # rate | count | value | pvalue | distance: what kind of number it is


class Family(Protocol):
    """A statistic family module."""

    STATISTICS: tuple[Statistic, ...]

    def requests(self, stat: FeatureStat) -> tuple[Request, ...]: ...

    def compute(self, stat: FeatureStat, got: Got) -> Observation: ...


# ---- helpers the families share ---------------------------------------------------------------
def rate(part: int, whole: int, where: str, nothing: str = "no rows") -> float:
    """part / whole, or a CheckError saying that `where` has nothing to take a share of."""
    if whole == 0:
        raise CheckError(f"{where} has {nothing}")
    return part / whole


def non_missing(summary) -> int:
    """The values of a column that are neither null nor NaN (±inf included)."""
    return summary.count + summary.pos_inf + summary.neg_inf
