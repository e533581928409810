"""Statistic requests: the units of work a backend computes and the planner deduplicates.

A request is a frozen, hashable description ("the sorted finite values of `age` in
`production`"). Measures (plan/measures.py, models/) ask for requests; a backend (engines/) fills them in.
Requests never know which checks asked for them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Request:
    """Base. `dataset` is the dataset a scan reads to compute it (None: no scan)."""

    @property
    def dataset(self) -> str | None:  # pragma: no cover - overridden
        return None

    @property
    def column(self) -> str | None:
        return None

    def depends_on(self) -> tuple["Request", ...]:
        return ()

    @property
    def mergeable(self) -> bool:
        """Partial results over batches merge into the whole result, so a scan made only of
        mergeable requests streams the dataset in bounded memory."""
        return True

    def describe(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


# ---- data ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowCount(Request):
    of: str

    @property
    def dataset(self) -> str:
        return self.of

    def describe(self) -> str:
        return "rows"


@dataclass(frozen=True)
class SchemaOf(Request):
    of: str

    @property
    def dataset(self) -> str:
        return self.of

    def describe(self) -> str:
        return "schema"


@dataclass(frozen=True)
class ColumnRequest(Request):
    of: str
    name: str

    @property
    def dataset(self) -> str:
        return self.of

    @property
    def column(self) -> str:
        return self.name


@dataclass(frozen=True)
class Summary(ColumnRequest):
    """One fused kernel pass: rows, nulls, NaN, ±inf, finite count, min, max, mean, m2."""

    def describe(self) -> str:
        return f"summary({self.name})"


@dataclass(frozen=True)
class SortedValues(ColumnRequest):
    """The finite values, sorted (quantiles, KS, Wasserstein)."""

    @property
    def mergeable(self) -> bool:
        return False

    def describe(self) -> str:
        return f"sorted({self.name})"


@dataclass(frozen=True)
class Counts(ColumnRequest):
    """Value counts of the non-null (and non-NaN) values, plus the null count."""

    def describe(self) -> str:
        return f"counts({self.name})"


@dataclass(frozen=True)
class Edges(ColumnRequest):
    """Inner quantile bin edges of this dataset's column: its quantiles at 1/bins … (bins−1)/bins."""

    bins: int = 10

    @property
    def mergeable(self) -> bool:
        return False  # exact quantiles need every value

    def describe(self) -> str:
        return f"edges({self.name}, {self.bins} bins)"


@dataclass(frozen=True)
class Histogram(ColumnRequest):
    """Counts of this dataset's finite values on some dataset's edges (its own, or the `vs`
    dataset's). On its own edges it is computed in the same scan, after the edges."""

    edges: Edges = None  # type: ignore[assignment]

    def depends_on(self) -> tuple[Request, ...]:
        return (self.edges,)

    @property
    def mergeable(self) -> bool:
        return self.edges.of != self.of

    def describe(self) -> str:
        source = "own" if self.edges.of == self.of else f"{self.edges.of}'s"
        return f"histogram({self.name} on {source} {self.edges.bins}-bin edges)"


@dataclass(frozen=True)
class SampleWalk(ColumnRequest):
    """KS D and Wasserstein W1 of this dataset's column against `against`'s, from one merge
    walk over both sorted samples (computed in this dataset's scan, after `against`'s)."""

    against: str = ""

    def depends_on(self) -> tuple[Request, ...]:
        return (SortedValues(self.against, self.name),)

    @property
    def mergeable(self) -> bool:
        return False

    def describe(self) -> str:
        return f"ks+wasserstein walk({self.name} vs {self.against})"


@dataclass(frozen=True)
class OutsideCount(ColumnRequest):
    """Number of non-null, non-NaN values outside [low, high] (±inf included)."""

    low: float = float("-inf")
    high: float = float("inf")

    def describe(self) -> str:
        return f"outside({self.name}, [{self.low:g}, {self.high:g}])"


@dataclass(frozen=True)
class OutsideRange(ColumnRequest):
    """Number of non-null, non-NaN values outside another dataset's finite [min, max]."""

    bounds: Summary = None  # type: ignore[assignment]

    def depends_on(self) -> tuple[Request, ...]:
        return (self.bounds,)

    def describe(self) -> str:
        return f"outside({self.name}, {self.bounds.of}'s range)"


# ---- requests no scan computes ----------------------------------------------------------------
# Model predictions, latency runs and training histories are computed by handlers that their
# modules register here (a light module: registering a handler imports nothing heavy).
HANDLERS: dict[type, Callable[[Request, Any, dict], Any]] = {}


def handles(request_type: type):
    def register(function):
        HANDLERS[request_type] = function
        return function

    return register
