"""The profile engine: a plan's requests on a `profile(...)` dataset, served from the profile's
counts, summaries and quantile grid (profiles.Profile) without reading a row.

`SERVE` has one entry per request type a profile can be asked: why it cannot serve one (None
when it can) and how it serves it. The checker asks `cannot_serve` at compile time, so a check
that needs what a profile does not keep is a diagnostic, not a run-time error; every engine
hands its profile scans to `serve_scan`. What is exact and what approximates is in
docs/profiles.md.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..errors import CheckError, DataError
from ..plan import requests as rq
from ..profiles import GRID, ColumnProfile, Profile, ProfileSample, _summary_from_json, coarse_counts
from ..statistics.base import NUMERIC
from ..statistics.formulas import quantile_edges

if TYPE_CHECKING:
    from ..plan import Scan
    from ..resolve.contract import DatasetSource


class Way(NamedTuple):
    """How a profile serves one request type. `cannot(profile, column, request)` says why it
    cannot (None: it can); `serve(profile, column, request, got)` computes the value. `column`
    is the request's column in the profile (None for a request about the whole dataset)."""

    cannot: Callable[[Profile, Any, Any], str | None]
    serve: Callable[[Profile, Any, Any, dict], Any]
    whole_dataset: bool = False  # about the dataset (rows, schema), not one column


def cannot_serve(profile: Profile, request: rq.Request) -> str | None:
    """None when `serve(profile, request)` works; otherwise why not, for a compile-time diagnostic."""
    way = SERVE.get(type(request))
    if way is None:
        return request.describe()
    if way.whole_dataset:
        return way.cannot(profile, None, request)
    column = profile.columns.get(request.column) if request.column else None
    if column is None:
        return None  # a missing column is reported like any missing column
    return way.cannot(profile, column, request)


def serve(profile: Profile, request: rq.Request, got: dict | None = None) -> Any:
    """The value of a request, from the profile (a CheckError when it cannot serve it)."""
    reason = cannot_serve(profile, request)
    if reason:
        raise CheckError(f"profile `{profile.name}` cannot serve {reason}")
    way = SERVE[type(request)]
    if way.whole_dataset:
        return way.serve(profile, None, request, got or {})
    column = profile.columns.get(request.column) if request.column is not None else None
    if column is None:
        raise DataError(f"column `{request.column}` is missing in profile `{profile.name}`")
    return way.serve(profile, column, request, got or {})


def serve_scan(source: DatasetSource, scan: Scan, got: dict) -> int:
    """Serve a profile scan's requests into `got`; the number computed (0 when the profile
    cannot be loaded: every request then gets the error)."""
    from ..profiles import load_profile
    from .base import attempt

    try:
        profile = load_profile(source.path, source.name)
    except CheckError as error:
        for request in scan.requests:
            got[request] = error
        return 0
    for request in scan.requests:
        if request.dataset != scan.dataset:  # a view: the checker refuses one of a profile, never served
            got[request] = CheckError(f"profile `{profile.name}` has no rows for `{request.dataset}`")
        else:
            got[request] = attempt(partial(serve, profile, request, got))
    return len(scan.requests)


# ---- why not ------------------------------------------------------------------------------------
def _can(profile: Profile, column, request) -> None:
    return None


def _numeric(profile: Profile, column: ColumnProfile, request) -> str | None:
    return None if column.kind == NUMERIC else f"`{request.column}` is not numeric"


def _categories(profile: Profile, column: ColumnProfile, request) -> str | None:
    return None if column.kind != NUMERIC else "value counts of a numeric column (distinct, unique_rate, unseen_rate)"


def _bins(profile: Profile, column: ColumnProfile, request: rq.Edges) -> str | None:
    if column.values is not None or GRID % request.bins == 0:
        return None  # kept values serve any bin count
    return f"{request.bins} bins (a profile serves bin counts dividing {GRID})"


def _own_edges(profile: Profile, column: ColumnProfile, request: rq.Histogram) -> str | None:
    if request.edges.of != request.of:
        return "a histogram on another dataset's edges: a profile can be the `vs` reference of psi/js/…, not their subject"
    return cannot_serve(profile, request.edges)


def _outside(profile: Profile, column: ColumnProfile, request) -> str:
    return "counts of values outside a range (between, out_of_range_rate)"


def _values_needed(profile: Profile, column: ColumnProfile | None, request) -> str:
    """Keys, value tests and temporal ranges need the values themselves, which a profile does not keep."""
    return request.describe()


# ---- values -------------------------------------------------------------------------------------
def _sample(profile: Profile, column: ColumnProfile, name: str) -> np.ndarray:
    """The kept values themselves, or the quantile grid standing in for them."""
    if column.values is not None:
        if not column.values:
            raise CheckError(f"`{name}` has no finite values in profile `{profile.name}`")
        return np.asarray(column.values, dtype=np.float64)
    if not column.quantiles:
        raise CheckError(f"`{name}` has no finite values in profile `{profile.name}`")
    return ProfileSample.of(np.asarray(column.quantiles, dtype=np.float64), column.numeric_summary["count"])


def _summary(profile: Profile, column: ColumnProfile, request, got: dict):
    from .._kernels import NumericSummary

    return NumericSummary.from_dict(_summary_from_json(column.numeric_summary))


def _counts(profile: Profile, column: ColumnProfile, request, got: dict):
    from ..plan.values import CountsResult, key_array

    keys = [k for k, _ in column.categories or []]
    counts = np.array([n for _, n in column.categories or []], dtype=np.int64)
    return CountsResult(key_array(keys), counts, column.nulls, column.rows)


def _edges(profile: Profile, column: ColumnProfile, request: rq.Edges, got: dict):
    sample = _sample(profile, column, request.column)
    if column.values is not None:
        return quantile_edges(sample, request.bins)
    step = GRID // request.bins
    return np.unique(sample[step:GRID:step])


def _histogram(profile: Profile, column: ColumnProfile, request: rq.Histogram, got: dict):
    sample = _sample(profile, column, request.column)
    coarse = serve(profile, request.edges)
    if column.values is not None:
        from .._kernels import searchsorted_counts

        return searchsorted_counts(sample, coarse)
    return coarse_counts(np.asarray(column.edges, dtype=np.float64), np.asarray(column.counts, dtype=np.int64), coarse)


def _sorted(profile: Profile, column: ColumnProfile, request, got: dict):
    return _sample(profile, column, request.column)


def _walk(profile: Profile, column: ColumnProfile, request: rq.SampleWalk, got: dict):
    from ..statistics.formulas import walk

    sample = _sample(profile, column, request.column)
    other = got.get(rq.SortedValues(request.against, request.name))
    if other is None or isinstance(other, BaseException):
        raise other or CheckError(f"the values of `{request.name}` in {request.against} were not computed")
    return walk(sample, other)


def _never(profile: Profile, column, request, got: dict):  # pragma: no cover - cannot_serve refuses first
    raise CheckError(f"profile `{profile.name}` cannot serve {request.describe()}")


SERVE: dict[type, Way] = {
    rq.RowCount: Way(_can, lambda profile, column, request, got: profile.rows, whole_dataset=True),
    rq.SchemaOf: Way(_can, lambda profile, column, request, got: profile.schema, whole_dataset=True),
    rq.Summary: Way(_numeric, _summary),
    rq.Counts: Way(_categories, _counts),
    rq.Edges: Way(_bins, _edges),
    rq.Histogram: Way(_own_edges, _histogram),
    # The quantile grid stands in for the sample (a documented approximation).
    rq.SortedValues: Way(_can, _sorted),
    rq.SampleWalk: Way(_can, _walk),
    rq.OutsideCount: Way(_outside, _never),
    rq.OutsideRange: Way(_outside, _never),
    rq.KeyDuplicates: Way(_values_needed, _never, whole_dataset=True),
    rq.ValueTest: Way(_values_needed, _never),
    rq.TemporalRange: Way(_values_needed, _never),
    rq.TemporalOutside: Way(_values_needed, _never),
}
