"""Stage 5 — execute: a backend fills in the plan's statistic requests.

The local backend reads each scan with Polars (lazy scan, projection pushdown: only the
columns the plan names) and computes the per-column work with the Cython kernels in
`mlcontract._kernels`, straight from the Arrow buffers. A request that cannot be computed gets
its CheckError as its value, so only the checks that need it fail, and they fail closed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from . import requests as rq
from . import sources
from .catalog import NUMERIC
from .errors import CheckError, DataError
from .plan import Plan, Scan


@dataclass
class CountsResult:
    """Value counts of one column: distinct non-null (non-NaN) keys, their counts, nulls, rows."""

    keys: np.ndarray
    counts: np.ndarray
    nulls: int
    rows: int

    @property
    def values(self) -> dict:
        return dict(zip(self.keys.tolist(), self.counts.tolist()))


# Requests that are not per-column data work (model predictions, latency runs, training
# histories) are computed by handlers that their modules register here.
HANDLERS: dict[type, Callable[[rq.Request, "LocalBackend", dict], Any]] = {}


def handles(request_type: type):
    def register(function):
        HANDLERS[request_type] = function
        return function

    return register


class LocalBackend:
    """Polars + Cython kernels, in this process."""

    def __init__(
        self,
        frames: dict[str, Any] | None = None,
        objects: dict[str, Any] | None = None,
        histories: dict[str, Any] | None = None,
        progress: Callable[[str], None] | None = None,
    ):
        self.frames = frames or {}
        self.objects = objects or {}
        self.histories = histories or {}
        self.progress = progress
        self.cache: dict[Any, Any] = {}  # loaded models, frames read for model work
        self.contract = None
        self.computed = 0  # number of requests computed (the plan's deduplication is tested on it)

    def run(self, plan: Plan) -> dict[rq.Request, Any]:
        self.contract = plan.contract
        got: dict[rq.Request, Any] = {}
        for scan in plan.scans:
            self._scan(plan, scan, got)
        if plan.other:
            from . import quality, serving  # noqa: F401  (register their handlers)
        for request in plan.other:
            handler = HANDLERS.get(type(request))
            if handler is None:
                got[request] = CheckError(f"no backend computes {request.describe()}")
            else:
                if self.progress:
                    self.progress(request.describe())
                got[request] = _attempt(lambda: handler(request, self, got))
            self.computed += 1
        return got

    # ---- whole datasets and models, for model work (cached: several checks share them) --------
    def dataset_frame(self, name: str):
        """The whole dataset as a Polars DataFrame (read once per run)."""
        key = ("frame", name)
        if key not in self.cache:
            self.cache[key] = _attempt(lambda: self._read_whole(name))
        return _raise_or_return(self.cache[key])

    def _read_whole(self, name: str):
        source = self.contract.datasets[name]
        lazy = sources.scan(source, self.frames.get(name))
        try:
            frame = lazy.collect()
        except Exception as error:
            raise DataError(f"dataset `{name}`: cannot read {source.describe()}: {error}") from error
        if frame.height == 0:
            raise DataError(f"dataset `{name}` is empty")
        return frame

    def feature_columns(self, name: str) -> list[str]:
        """The dataset's columns minus the label and the ignored columns."""
        excluded = {self.contract.label, *self.contract.ignored}
        return [c for c in self.dataset_frame(name).columns if c not in excluded]

    def features(self, name: str):
        """What a model is fed: the feature columns as a pandas DataFrame, names kept."""
        key = ("features", name)
        if key not in self.cache:
            self.cache[key] = _attempt(lambda: self.dataset_frame(name).select(self.feature_columns(name)).to_pandas())
        return _raise_or_return(self.cache[key])

    def labels(self, name: str):
        """The label column of a dataset as a NumPy array."""
        label = self.contract.label
        frame = self.dataset_frame(name)
        if label is None or label not in frame.columns:
            raise DataError(f"dataset `{name}` has no label column `{label}`")
        column = frame[label]
        if column.null_count():
            raise DataError(f"the label `{label}` has {column.null_count()} null values in `{name}`")
        return column.to_numpy()

    def model(self, name: str):
        """The loaded model (loaded once per run)."""
        from .models import load_model

        key = ("model", name)
        if key not in self.cache:
            source = self.contract.models[name]
            self.cache[key] = _attempt(lambda: load_model(source, self.objects.get(name)))
        return _raise_or_return(self.cache[key])

    # ---- one scan ------------------------------------------------------------------------------
    def _scan(self, plan: Plan, scan: Scan, got: dict) -> None:
        source = plan.contract.datasets[scan.dataset]
        if self.progress:
            self.progress(f"scanning {scan.dataset} ({len(scan.columns)} columns)")
        try:
            frame, schema = self._read(source, scan)
        except CheckError as error:
            for request in (*scan.requests, *scan.derived):
                got[request] = error
            return
        for request in scan.requests:
            got[request] = _attempt(lambda: self._compute(request, frame, schema, got, scan.dataset))
            self.computed += 1
        for request in scan.derived:
            got[request] = _attempt(lambda: self._derive(request, got))
            self.computed += 1

    def _read(self, source, scan: Scan):
        import polars as pl

        lazy = sources.scan(source, self.frames.get(scan.dataset))
        try:
            schema = lazy.collect_schema()
        except Exception as error:
            raise DataError(f"dataset `{scan.dataset}`: cannot read {source.describe()}: {error}") from error
        present = [c for c in scan.columns if c in schema]
        try:
            if present:
                frame = lazy.select(present).collect()
            else:
                frame = lazy.select(pl.len()).collect()
        except Exception as error:
            raise DataError(f"dataset `{scan.dataset}`: cannot read {source.describe()}: {error}") from error
        return frame, schema

    def _compute(self, request: rq.Request, frame, schema, got: dict, dataset: str):
        if isinstance(request, rq.RowCount):
            return int(frame["len"][0]) if frame.columns == ["len"] else frame.height
        if isinstance(request, rq.SchemaOf):
            return {name: (sources.column_kind(dtype), str(dtype)) for name, dtype in schema.items()}
        column = request.column
        if column not in frame.columns:
            raise DataError(f"column `{column}` is missing in dataset `{dataset}`")
        series = frame[column]
        if isinstance(request, rq.Counts):
            return value_counts(series)
        _require_numeric(series, dataset)
        if isinstance(request, rq.Summary):
            return summarize(series)
        if isinstance(request, rq.SortedValues):
            return sorted_finite(series)
        if isinstance(request, rq.OutsideCount):
            return count_outside(series, request.low, request.high)
        if isinstance(request, rq.OutsideRange):
            bounds = _fetch(got, request.bounds)
            if bounds.count == 0:
                raise CheckError(f"`{column}` has no finite values in {request.bounds.of}, so it has no range")
            return count_outside(series, bounds.min, bounds.max)
        if isinstance(request, rq.Histogram):
            return histogram(series, _fetch(got, request.edges))
        raise CheckError(f"the local backend cannot compute {request.describe()}")

    def _derive(self, request: rq.Request, got: dict):
        from .statistics import quantile_edges

        if isinstance(request, rq.Edges):
            return quantile_edges(_fetch(got, rq.SortedValues(request.of, request.name)), request.bins)
        if isinstance(request, rq.Histogram):
            from ._kernels import searchsorted_counts

            values = _fetch(got, rq.SortedValues(request.of, request.name))
            return searchsorted_counts(values, _fetch(got, request.edges))
        raise CheckError(f"the local backend cannot derive {request.describe()}")


# ---- column kernels over Arrow buffers -----------------------------------------------------------
def numeric_chunks(series):
    """Yield (values, validity bitmap or None, bit offset) per Arrow chunk, without copying:
    `values[i]` is the chunk's i-th element and bit `offset + i` of the bitmap its validity."""
    import pyarrow as pa

    if series.dtype.is_decimal():
        series = series.cast(float)
    array = series.to_arrow()
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    for chunk in chunks:
        validity, data = chunk.buffers()[:2]
        dtype = np.dtype(chunk.type.to_pandas_dtype())
        count = chunk.offset + len(chunk)
        values = np.frombuffer(data, dtype=dtype, count=count)[chunk.offset:] if data is not None else np.empty(0)
        if validity is None or chunk.null_count == 0:
            yield values, None, 0
        else:
            yield values, np.frombuffer(validity, dtype=np.uint8), chunk.offset


def summarize(series):
    from ._kernels import NumericSummary, summarize as kernel

    state = NumericSummary.empty()
    for values, validity, offset in numeric_chunks(series):
        state = state.merge(kernel(values, validity, offset))
    return state


def histogram(series, edges: np.ndarray) -> np.ndarray:
    from ._kernels import histogram as kernel

    total = np.zeros(len(edges) + 1, dtype=np.int64)
    for values, validity, offset in numeric_chunks(series):
        total += kernel(values, edges, validity, offset)
    return total


def count_outside(series, low: float, high: float) -> int:
    from ._kernels import count_outside as kernel

    return int(sum(kernel(values, low, high, validity, offset) for values, validity, offset in numeric_chunks(series)))


def sorted_finite(series) -> np.ndarray:
    import polars as pl

    values = series.cast(pl.Float64).drop_nulls()
    values = values.filter(values.is_finite())
    return values.sort().to_numpy()


def value_counts(series) -> CountsResult:
    import polars as pl

    rows = series.len()
    present = series.drop_nulls()
    if present.dtype.is_float():
        present = present.filter(~present.is_nan())
    nulls = rows - present.len()
    if present.dtype == pl.Categorical or isinstance(present.dtype, pl.Enum):
        present = present.cast(pl.String)
    counted = present.value_counts(sort=True)
    keys = counted[present.name].to_numpy()
    counts = counted["count"].to_numpy().astype(np.int64)
    return CountsResult(keys, counts, int(nulls), int(rows))


def _require_numeric(series, dataset: str) -> None:
    from .sources import column_kind

    if column_kind(series.dtype) != NUMERIC:
        raise DataError(f"column `{series.name}` in dataset `{dataset}` is {series.dtype}, not numeric")


def _fetch(got: dict, request: rq.Request):
    value = got.get(request)
    if value is None:
        raise CheckError(f"{request.describe()} was not computed")
    if isinstance(value, BaseException):
        raise value
    return value


def _raise_or_return(value):
    if isinstance(value, BaseException):
        raise value
    return value


def _attempt(compute: Callable[[], Any]) -> Any:
    """Run one computation; an expected failure becomes the request's value."""
    try:
        return compute()
    except CheckError as error:
        return error
    except MemoryError:
        raise
    except Exception as error:  # an unexpected library error still fails only the checks that need it
        return CheckError(f"{type(error).__name__}: {error}")
