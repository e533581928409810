"""Per-column statistics over Polars Series, computed by the Cython kernels straight from the
Arrow buffers (no copy), and merged across batches: every partial result here has a merge, so
a dataset can be processed chunk by chunk with the same result as in one go."""
from __future__ import annotations

import math

import numpy as np

from ..errors import DataError
from ..plan.values import CountsResult, key_array as _key_array  # noqa: F401  (CountsResult: re-exported)
from ..statistics.base import NUMERIC


def numpy_dtype(arrow_type) -> np.dtype:
    """The NumPy dtype of an Arrow integer or floating type, read off its width: pyarrow's
    to_pandas_dtype() would import pandas (~0.3 s) into a data contract that never needs it."""
    import pyarrow as pa

    if pa.types.is_floating(arrow_type):
        kind = "f"
    elif pa.types.is_signed_integer(arrow_type):
        kind = "i"
    elif pa.types.is_unsigned_integer(arrow_type):
        kind = "u"
    else:
        return np.dtype(arrow_type.to_pandas_dtype())
    return np.dtype(f"{kind}{arrow_type.bit_width // 8}")


def numeric_chunks(series):
    """Yield (values, validity bitmap or None, bit offset) per Arrow chunk, without copying:
    `values[i]` is the chunk's i-th element and bit `offset + i` of the bitmap its validity.

    Chunk by chunk: Series.to_arrow() of a Series of several chunks (a parquet file's row
    groups, 81 in a 10M-row file) copies them into one array, ~45 ms per 10M float64 column,
    most of it faulting in fresh pages; the Arrow C stream (pa.chunked_array) hands over the
    chunks' own buffers, one chunk or many. The kernels that sum take the chunks together
    (scan_chunks), so no result depends on where they are cut."""
    import pyarrow as pa

    if series.dtype.is_decimal() or str(series.dtype) in ("Int128", "UInt128", "Float16"):
        # No kernel type for these: float64 holds a half float exactly and keeps the others'
        # magnitude; what it rounds (beyond 2**53) is taken exactly where a result depends on
        # it (integer_extremes, count_outside_exactly), as for Int64.
        series = series.cast(float)
    for chunk in pa.chunked_array(series).chunks:
        validity, data = chunk.buffers()[:2]
        dtype = numpy_dtype(chunk.type)
        count = chunk.offset + len(chunk)
        values = np.frombuffer(data, dtype=dtype, count=count)[chunk.offset:] if data is not None else np.empty(0)
        if validity is None or chunk.null_count == 0:
            yield values, None, 0
        else:
            yield values, np.frombuffer(validity, dtype=np.uint8), chunk.offset


def summarize(series):
    """Rows, nulls, NaN, ±inf, finite count, min, max, mean, m2 in one kernel pass; an integer
    column's min and max are exact ints (integer_extremes)."""
    from .._kernels import scan_chunks

    return integer_extremes(series, scan_chunks(list(numeric_chunks(series)))[0])


# Integers of magnitude below 2**53 are exact in float64; beyond it float64 rounds them.
EXACT_FLOAT_INTEGERS = 2 ** 53


def integer_range(series) -> tuple[int, int] | None:
    """The smallest and largest value of the series' integer dtype (sources.files.integer_bounds)."""
    from ..sources.files import integer_bounds

    return integer_bounds(series.dtype)


def _as_integers(series):
    """An integer column whose values Polars compares with Python ints of any size in its range:
    a decimal of scale 0 as Int128 (exactly: it is held in 128 bits)."""
    import polars as pl

    return series.cast(pl.Int128) if series.dtype.is_decimal() else series


def integer_extremes(series, summary):
    """The summary with the exact integer min and max of an integer column. The kernels work
    in float64, which rounds integers beyond 2**53 (an id of 2**53 + 1 reads as 2**53); when
    the float extremes are below 2**53 they are the exact values, otherwise Polars reads them."""
    if integer_range(series) is None or summary.count == 0:
        return summary
    low, high = float(summary.min), float(summary.max)
    if max(abs(low), abs(high)) < EXACT_FLOAT_INTEGERS:
        return summary.with_integer_extremes(int(low), int(high))
    exact = _as_integers(series)
    return summary.with_integer_extremes(exact.min(), exact.max())


def histogram(series, edges: np.ndarray) -> np.ndarray:
    """Counts of the finite values in (-inf, e0), [e0, e1), ..., [e_last, inf)."""
    from .._kernels import histogram as kernel

    total = np.zeros(len(edges) + 1, dtype=np.int64)
    for values, validity, offset in numeric_chunks(series):
        total += kernel(values, edges, validity, offset)
    return total


def count_outside(series, low, high) -> int:
    """Non-null, non-NaN values outside [low, high] (±inf included), compared exactly: `low`
    and `high` may be ints beyond 2**53 or floats, the column integers or floats."""
    from .._kernels import count_outside as kernel

    bounds = kernel_bounds(series, low, high)
    if bounds is None:
        return count_outside_exactly(series, low, high)
    low, high = bounds
    return int(sum(kernel(values, low, high, validity, offset) for values, validity, offset in numeric_chunks(series)))


def kernel_bounds(series, low, high) -> tuple[float, float] | None:
    """float64 bounds with which the kernels' float64 comparisons count exactly the values
    outside [low, high]; None when no such bounds exist (an integer column and a bound beyond
    2**53, where float64 rounds the column's values).

    A float x lies below `low` iff it lies below the smallest float >= low, and above `high`
    iff above the largest float <= high. An integer x lies below `low` iff below ceil(low);
    with |ceil(low)| < 2**53 the float64 comparison agrees (a value beyond 2**53 rounds to a
    float beyond it, on the same side)."""
    if integer_range(series) is not None:
        low, high = _integer_bound(low, math.ceil), _integer_bound(high, math.floor)
        if any(isinstance(b, int) and abs(b) >= EXACT_FLOAT_INTEGERS for b in (low, high)):
            return None
    return _float_at_least(low), _float_at_most(high)


def count_outside_exactly(series, low, high) -> int:
    """count_outside of an integer column by Polars' integer comparisons."""
    import polars as pl

    bounds = integer_range(series)
    assert bounds is not None, "count_outside_exactly of a column that is not an integer one"
    smallest, largest = bounds
    low, high = _integer_bound(low, math.ceil), _integer_bound(high, math.floor)
    series = _as_integers(series)
    present = series.len() - series.null_count()
    if low > largest or high < smallest:
        return present
    outside = pl.repeat(False, series.len(), eager=True)
    if low > smallest:
        outside = outside | (series < low)
    if high < largest:
        outside = outside | (series > high)
    return int(outside.sum())


def _integer_bound(bound, towards):
    """ceil / floor of a bound as an int; infinite bounds stay floats."""
    return towards(bound) if math.isfinite(bound) else float(bound)


def _float_at_least(bound) -> float:
    near = float(bound)
    return math.nextafter(near, math.inf) if near < bound else near


def _float_at_most(bound) -> float:
    near = float(bound)
    return math.nextafter(near, -math.inf) if near > bound else near


def fused_pass(series, edges=(), ranges=(), buckets=None):
    """summarize, histogram on each edge array and count_outside per (low, high), in one kernel
    pass per chunk: (summary, [counts per edge array], [count per range]). A range the float64
    kernels cannot count exactly (kernel_bounds) is counted by Polars. With `buckets` =
    (lo, scale, counts), the pass also adds the column's bucket counts to `counts` (the first
    pass of the order-statistics selection, select)."""
    from .._kernels import scan_chunks

    bounds = [kernel_bounds(series, low, high) for low, high in ranges]
    fused = [b for b in bounds if b is not None]
    state, hists, outside = scan_chunks(list(numeric_chunks(series)), edges, fused, buckets)
    counted = iter(outside)
    outside = [next(counted) if b is not None else count_outside_exactly(series, *r) for b, r in zip(bounds, ranges)]
    return integer_extremes(series, state), hists, outside


def finite_values(series) -> np.ndarray:
    """The finite values as a new float64 array (nulls, NaN and ±inf dropped)."""
    import polars as pl

    values = series.cast(pl.Float64).to_numpy()  # nulls become NaN
    return values[np.isfinite(values)]  # boolean indexing copies: safe to sort in place


def sorted_finite(series) -> np.ndarray:
    """The finite values, sorted. Sorting everything and slicing off the ends is cheaper than
    filtering first: NaN (and nulls, which become NaN) sort last, -inf first, +inf before NaN."""
    import polars as pl

    values = series.cast(pl.Float64).to_numpy()
    if values.flags.writeable:  # Polars copied it (several chunks, nulls): it is ours to sort
        values.sort()
    else:  # a read-only view of Polars' own buffer
        values = np.sort(values)  # numpy's SIMD quicksort, on a copy
    start = int(np.searchsorted(values, -np.inf, side="right"))
    stop = int(np.searchsorted(values, np.inf, side="left"))
    return values[start:stop]


# Buckets of the order-statistics selection: 128 KiB of counts, close to the core in cache while
# a column is counted. 65,536 buckets took 15% longer over a reference column of 1M values (its
# summary, bucket counts, gather and histogram), 4,096 as long; the buckets holding the wanted ranks
# still hold only ~0.05% of normal data each.
SELECT_BUCKETS = 16_384
# Below this many values a sort is as quick as two passes over buckets.
SELECT_MIN_VALUES = 50_000
# Evenly spaced values that place the buckets before the column's min and max are known.
RANGE_SAMPLE = 4_096


def quantile_edges(series, bins: int, summary, buckets=None) -> np.ndarray:
    """statistics.quantile_edges of the column's finite values, bit for bit, from the order
    statistics it needs (select) instead of a sorted copy. `summary` is the column's
    NumericSummary (its finite count, min and max); `buckets` as for select."""
    return quantile_selection(series, bins, summary, buckets)[0]


def quantile_selection(series, bins: int, summary, buckets=None) -> tuple[np.ndarray, Selection]:
    """(quantile_edges, the Selection they were read from: what gives the histogram on those
    edges without another pass, Selection.histogram)."""
    from ..errors import CheckError
    from ..statistics import formulas as st

    n = int(summary.count)
    if n == 0:
        raise CheckError("the reference has no finite values to take bin edges from")
    previous, following, gamma = st.quantile_positions(n, st.edge_probabilities(bins))
    previous, following = previous % n, following % n  # numpy's -1 is the last
    ranks = np.unique(np.concatenate([previous, following]))
    selection = select(series, ranks, summary, buckets)
    values = selection.values
    low, high = values[np.searchsorted(ranks, previous)], values[np.searchsorted(ranks, following)]
    return np.unique(st.interpolate(low, high, gamma)), selection


def order_statistics(series, ranks: np.ndarray, summary, buckets=None) -> np.ndarray:
    """The column's finite values at the given ranks (ascending, unique, < summary.count) of
    their ascending order, exactly (select)."""
    return select(series, ranks, summary, buckets).values


class Selection:
    """Order statistics of a column (`values`, at the ranks asked for) and what finding them
    learnt about the column: the sorted copy when it was sorted, or, from the bucket selection,
    the buckets' bounds (`lo`, `scale`), how many values lie below each bucket (`below`) and
    the values of the buckets that hold the ranks, sorted (`picked`, bucket `b`'s at
    `picked[start[slot[b]]:start[slot[b] + 1]]`)."""

    def __init__(self, values: np.ndarray, ordered: np.ndarray | None = None, lo: float = 0.0, scale: float = 0.0,
                 below=None, slot=None, start=None, picked=None):
        self.values, self.ordered = values, ordered
        self.lo, self.scale, self.below, self.slot, self.start, self.picked = lo, scale, below, slot, start, picked

    def histogram(self, edges: np.ndarray) -> np.ndarray | None:
        """histogram(series, edges) without reading the column again, or None when what the
        selection kept cannot tell. Exact: an edge in a bucket that was gathered has the values
        below it counted in that bucket's sorted values, and every value of a lower bucket is
        below it (a value's bucket grows with the value); an edge in an empty bucket has just
        the values of the buckets before it below it. Quantile edges lie between two selected
        values, so they fall in gathered buckets or in empty ones between them."""
        from .._kernels import bucket_index, searchsorted_counts

        if self.ordered is not None:
            return searchsorted_counts(self.ordered, edges)
        if self.picked is None:
            return None
        edges = np.asarray(edges, dtype=np.float64)
        bucket = bucket_index(edges, self.lo, self.scale, len(self.slot))
        slot = self.slot[bucket]
        gathered = slot >= 0
        if not np.all(gathered | (self.below[bucket + 1] == self.below[bucket])):
            return None  # an edge in a bucket that holds values but was not gathered
        below = self.below[bucket].copy()
        # Values of the gathered buckets below the edge: picked is sorted, lower buckets first.
        inside = np.searchsorted(self.picked, edges[gathered], side="left") - self.start[slot[gathered]]
        below[gathered] += inside
        return np.diff(np.concatenate([[0], below, [self.below[-1]]])).astype(np.int64)


def bucket_range(series) -> tuple[float, float] | None:
    """(lo, scale) of SELECT_BUCKETS equal-width buckets spanning RANGE_SAMPLE evenly spaced
    values of the column: the buckets can then be counted in the pass that summarizes the
    column (fused_pass), before its min and max are known. Values beyond the sample's range
    fall in the first or the last bucket, which keeps the selection exact whatever the range
    (select checks that the buckets split the data, and counts again on the true range
    otherwise); an outlier the sample missed no longer stretches the buckets. None: a column
    too small for the selection, or a sample without spread."""
    if series.len() < SELECT_MIN_VALUES:
        return None
    chunks = [values for values, _, _ in numeric_chunks(series)]
    step = max(1, sum(len(v) for v in chunks) // RANGE_SAMPLE)
    # A null's slot holds some value too: it can only move the guessed range, never a result.
    # Every step-th value of the column, however it is cut into chunks.
    parts, position = [], 0
    for values in chunks:
        parts.append(values[(-position) % step::step])
        position += len(values)
    sample = np.concatenate(parts).astype(np.float64, copy=False)
    sample = sample[np.isfinite(sample)]
    if sample.size < 2:
        return None
    lo, hi = float(sample.min()), float(sample.max())
    scale = SELECT_BUCKETS / (hi - lo) if hi > lo else 0.0
    return (lo, scale) if math.isfinite(scale) and scale > 0 else None


def select(series, ranks: np.ndarray, summary, buckets=None) -> Selection:
    """The column's finite values at the given ranks, exactly: bucket counts locate each rank's
    bucket, the values of those buckets are copied out and sorted (the kernels' bucket_counts /
    gather_buckets). `buckets` = (lo, scale, counts): counts already taken (fused_pass on
    bucket_range's buckets); without them, or when they do not split the data, the buckets span
    the column's min and max (summary) and are counted here.

    Where equal-width buckets do not split the data (few values, a constant or a tiny column, a
    span beyond the float range, or data piled into the wanted buckets: skewed, heavily tied or
    stretched by an outlier) the column is sorted instead; numpy sorts such data fast anyway."""
    from .._kernels import bucket_counts

    n, lo, hi = int(summary.count), float(summary.min), float(summary.max)
    if lo == hi:
        return Selection(np.full(len(ranks), lo))
    chunks = list(numeric_chunks(series))
    if buckets is not None:
        chosen = _gather(chunks, ranks, n, *buckets)
        if chosen is not None:
            return chosen
    span = hi - lo
    scale = SELECT_BUCKETS / span if np.isfinite(span) else 0.0
    if n < SELECT_MIN_VALUES or not (np.isfinite(scale) and scale > 0):
        return _sorted_selection(series, ranks)
    counts = np.zeros(SELECT_BUCKETS, dtype=np.int64)
    for values, validity, offset in chunks:
        bucket_counts(values, lo, scale, counts, validity, offset)
    chosen = _gather(chunks, ranks, n, lo, scale, counts)
    return chosen if chosen is not None else _sorted_selection(series, ranks)


def _sorted_selection(series, ranks: np.ndarray) -> Selection:
    ordered = sorted_finite(series)
    return Selection(ordered[ranks], ordered)


def _gather(chunks: list, ranks: np.ndarray, n: int, lo: float, scale: float, counts: np.ndarray) -> Selection | None:
    """The selection's second pass: the values of the buckets that hold the ranks, copied out
    and sorted; None when the counts do not cover the n finite values or those buckets hold
    more than an eighth of them (then a sort is as quick)."""
    from .._kernels import gather_buckets

    below = np.concatenate([[0], np.cumsum(counts)])  # below[b]: the values in buckets before b
    bucket = np.searchsorted(below, ranks, side="right") - 1
    targets = np.unique(bucket)
    sizes = counts[targets]
    if below[-1] != n or sizes.sum() > n // 8:
        return None
    slot = np.full(len(counts), -1, dtype=np.int32)
    slot[targets] = np.arange(len(targets), dtype=np.int32)
    start = np.concatenate([[0], np.cumsum(sizes)])
    picked = np.empty(int(start[-1]), dtype=np.float64)
    fill, end = start[:-1].copy(), start[1:].copy()
    for values, validity, offset in chunks:
        gather_buckets(values, lo, scale, slot, picked, fill, end, validity, offset)
    # One sort of the copy keeps each bucket's values together (a lower bucket's are all
    # smaller); within its bucket, a rank counts from the values of the buckets below.
    picked.sort()
    values = picked[start[slot[bucket]] + (ranks - below[bucket])]
    return Selection(values, None, lo, scale, below, slot, start, picked)


def value_counts(series) -> CountsResult:
    """Counts of the non-null, non-NaN values (categories cast to strings), plus the nulls."""
    import polars as pl

    if series.dtype == pl.Categorical or isinstance(series.dtype, pl.Enum):
        return dictionary_counts(series)
    rows = series.len()
    present = series.drop_nulls()
    if present.dtype.is_decimal():
        # The numbers a decimal holds (docs/language.md): of scale 0, its integers; else the
        # nearest float64s. Python's Decimal("0.10") would equal no literal 0.1 of a value set.
        present = present.cast(pl.Int128 if present.dtype.scale == 0 else pl.Float64)
    if present.dtype.is_float():
        present = present.filter(~present.is_nan())
    nulls = rows - present.len()
    if present.dtype == pl.Categorical or isinstance(present.dtype, pl.Enum):
        present = present.cast(pl.String)
    elif present.dtype.is_nested() or present.dtype == pl.Object:
        # Lists and structs are not hashable as NumPy keys: count them by their Polars hash
        # (64 bits, fixed seeds, so equal values hash equally in both datasets of a run).
        present = present.hash(seed=0).alias(present.name)
    counted = present.value_counts(sort=True)
    if str(present.dtype) in ("Int128", "UInt128"):
        keys = _key_array(counted[present.name].to_list())  # NumPy has no 128-bit integers: Python ints
    else:
        keys = counted[present.name].to_numpy()
    if keys.dtype != object:
        keys = keys.astype(object) if present.dtype == pl.String else keys
    counts = counted["count"].to_numpy().astype(np.int64)
    return CountsResult(keys, counts, int(nulls), int(rows))


def dictionary_counts(series) -> CountsResult:
    """Counts of a dictionary-encoded (Categorical / Enum) column straight from its codes."""
    counter = DictionaryCounter()
    counter.add(series.to_arrow())
    return counter.result()


class DictionaryCounter:
    """Value counts of Arrow dictionary arrays, added chunk by chunk, from their codes: one
    kernel pass over the indices per chunk, no string is hashed or compared. Each chunk has its
    own dictionary (a parquet row group's, say), so chunks are matched up by value."""

    def __init__(self) -> None:
        self.totals: dict = {}
        self.nulls = 0
        self.rows = 0

    def add(self, array) -> None:
        import pyarrow as pa

        for chunk in array.chunks if isinstance(array, pa.ChunkedArray) else [array]:
            self._add_chunk(chunk)

    def _add_chunk(self, chunk) -> None:
        from .._kernels import code_counts

        indices = chunk.indices
        validity, data = indices.buffers()[:2]
        dtype = numpy_dtype(indices.type)
        codes = np.frombuffer(data, dtype=dtype, count=indices.offset + len(indices))[indices.offset:] \
            if data is not None else np.empty(0, dtype=dtype)
        bitmap = np.frombuffer(validity, dtype=np.uint8) if validity is not None and indices.null_count else None
        counts, nulls = code_counts(codes, len(chunk.dictionary), bitmap, indices.offset if bitmap is not None else 0)
        self.nulls += int(nulls)
        self.rows += len(chunk)
        for key, count in zip(_used_values(chunk.dictionary, counts), counts[counts > 0].tolist()):
            self.totals[key] = self.totals.get(key, 0) + count

    def result(self) -> CountsResult:
        ordered = sorted(self.totals.items(), key=lambda kv: -kv[1])
        return CountsResult(_key_array([k for k, _ in ordered]), np.array([n for _, n in ordered], dtype=np.int64),
                            self.nulls, self.rows)


def _used_values(dictionary, counts: np.ndarray) -> list:
    """The dictionary's values whose count is not zero, in order. A batch may carry a large
    dictionary it uses little of; Arrow's `take` would do this but loads pyarrow.compute,
    which imports pandas (0.3 s)."""
    used = np.flatnonzero(counts).tolist()
    if 4 * len(used) >= len(dictionary):
        values = dictionary.to_pylist()
        return values if len(used) == len(values) else [values[i] for i in used]
    return [dictionary[i].as_py() for i in used]


def require_numeric(series, dataset: str) -> None:
    from ..sources.files import column_type

    if column_type(series.dtype) != NUMERIC:
        raise DataError(f"column `{series.name}` in dataset `{dataset}` is {series.dtype}, not numeric")
