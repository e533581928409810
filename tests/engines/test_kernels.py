"""Oracle tests for the Cython kernels in ``mlcontract._kernels``.

Every expected value is computed here, independently, with numpy or scipy: counts, min and max
must match exactly, moments to 1e-12 relative, histograms exactly, and the two-sample
statistics to 1e-12 of scipy's own implementation.
"""
import decimal
import json
import math
import pickle
from fractions import Fraction

import numpy as np
import pyarrow as pa
import polars as pl
import pytest
import scipy.stats

from mlcontract import _kernels as K

VALUE_DTYPES = [
    np.float64, np.float32, np.int64, np.int32, np.int16, np.int8,
    np.uint64, np.uint32, np.uint16, np.uint8,
]
CODE_DTYPES = [np.int64, np.int32, np.int16, np.int8, np.uint64, np.uint32, np.uint16, np.uint8]
RTOL = 1e-12
SUMMARY_KEYS = {
    "rows", "nulls", "nans", "pos_inf", "neg_inf", "count", "min", "max", "mean", "mean_lo", "m2",
}


# The loops that have an AVX2 twin run at the level the CPU has; every test here runs at each
# level this machine has, so the oracles hold for both (kernels.h: the twins agree bit for bit).
SIMD_LEVELS = ["sse2", "avx2"] if K.simd() == "avx2" else ["sse2"]


@pytest.fixture(autouse=True, params=SIMD_LEVELS)
def simd_level(request):
    before = K.simd()
    K.simd(request.param)
    yield request.param
    K.simd(before)


# --------------------------------------------------------------------------------------------
# Oracles and helpers
# --------------------------------------------------------------------------------------------

def bitmap(mask, offset=0):
    """Arrow validity bitmap (LSB bit order) whose bit ``offset + i`` is ``mask[i]``."""
    bits = np.concatenate([np.zeros(offset, dtype=bool), np.asarray(mask, dtype=bool)])
    return np.packbits(bits, bitorder="little")


def oracle_summary(values, mask=None):
    """The summary fields, by numpy, over the elements where ``mask`` is True."""
    x = np.asarray(values).astype(np.float64)
    mask = np.ones(x.size, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    v = x[mask]
    fin = v[np.isfinite(v)]
    return {
        "rows": x.size,
        "nulls": int((~mask).sum()),
        "nans": int(np.isnan(v).sum()),
        "pos_inf": int((v == np.inf).sum()),
        "neg_inf": int((v == -np.inf).sum()),
        "count": fin.size,
        "min": float(fin.min()) if fin.size else math.nan,
        "max": float(fin.max()) if fin.size else math.nan,
        "mean": float(np.mean(fin)) if fin.size else math.nan,
        "var": float(np.var(fin, ddof=1)) if fin.size > 1 else math.nan,
        "scale": float(np.abs(fin).max()) if fin.size else 0.0,
    }


def close(actual, expected, rtol=RTOL, scale=0.0):
    """|actual - expected| <= rtol * max(|expected|, scale); NaN only matches NaN.

    ``scale`` is the data's magnitude, for means: a mean near zero of data of magnitude s is
    the difference of large sums, and no float64 computation (numpy's included) gets it to
    better than ~eps * s, so 1e-12 relative to *that* is the meaningful test.
    """
    if math.isnan(expected):
        return math.isnan(actual)
    return abs(actual - expected) <= rtol * max(abs(expected), scale)


def assert_summary(s, o):
    for key in ("rows", "nulls", "nans", "pos_inf", "neg_inf", "count"):
        assert getattr(s, key) == o[key], (key, getattr(s, key), o[key])
    for key in ("min", "max"):
        got, want = getattr(s, key), o[key]
        assert got == want or (math.isnan(got) and math.isnan(want)), (key, got, want)
    assert close(s.mean, o["mean"], scale=o["scale"]), (s.mean, o["mean"])
    assert close(s.variance(), o["var"]), (s.variance(), o["var"])
    assert s.rows == s.nulls + s.nans + s.pos_inf + s.neg_inf + s.count
    if s.count:
        assert s.min <= s.mean <= s.max


def assert_same_state(a, b, rtol=RTOL):
    """Two summaries agree: counts, min and max exactly, mean and m2 to rtol."""
    for key in ("rows", "nulls", "nans", "pos_inf", "neg_inf", "count"):
        assert getattr(a, key) == getattr(b, key), key
    for key in ("min", "max"):
        x, y = getattr(a, key), getattr(b, key)
        assert x == y or (math.isnan(x) and math.isnan(y)), (key, x, y)
    scale = max(abs(a.min), abs(a.max)) if a.count else 0.0
    assert close(a.mean, b.mean, rtol, scale), (a.mean, b.mean)
    assert close(a.m2, b.m2, rtol), (a.m2, b.m2)


def identical(a, b):
    """Bit-for-bit equal states (NaN equal to NaN)."""
    return json.dumps(a.to_dict()) == json.dumps(b.to_dict())


def random_values(rng, dtype, n, special=True):
    """Values of ``dtype``; floats get NaN and +-inf sprinkled in when ``special``."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        x = rng.normal(3.0, 2.0, n).astype(dtype)
        if special and n:
            x[rng.random(n) < 0.05] = np.nan
            x[rng.random(n) < 0.01] = np.inf
            x[rng.random(n) < 0.01] = -np.inf
        return x
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=n, dtype=dtype, endpoint=True)


def oracle_histogram(values, edges, mask=None):
    x = np.asarray(values).astype(np.float64)
    if mask is not None:
        x = x[np.asarray(mask, dtype=bool)]
    x = x[np.isfinite(x)]
    return np.bincount(np.searchsorted(edges, x, side="right"), minlength=len(edges) + 1)


def arrow_views(arr):
    """(values, validity, offset) of a primitive pyarrow array, as the kernels take them."""
    dtype = arr.type.to_pandas_dtype()
    validity, data = arr.buffers()[0], arr.buffers()[1]
    values = np.frombuffer(data, dtype=dtype)[arr.offset : arr.offset + len(arr)]
    return values, validity, arr.offset


# --------------------------------------------------------------------------------------------
# summarize
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", VALUE_DTYPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_summarize_matches_numpy(dtype, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30_000))
    x = random_values(rng, dtype, n)
    assert_summary(K.summarize(x), oracle_summary(x))
    mask = rng.random(n) > 0.2
    assert_summary(K.summarize(x, bitmap(mask)), oracle_summary(x, mask))


@pytest.mark.parametrize("n", [0, 1, 2, 7, 8, 9, 4095, 4096, 4097, 8192 + 3])
def test_summarize_sizes_around_block_and_lane_boundaries(n):
    rng = np.random.default_rng(n)
    x = rng.normal(-1.0, 5.0, n)
    assert_summary(K.summarize(x), oracle_summary(x))
    mask = rng.random(n) > 0.5
    for offset in (0, 5):
        assert_summary(K.summarize(x, bitmap(mask, offset), offset), oracle_summary(x, mask))


def test_summarize_empty():
    s = K.summarize(np.array([], dtype=np.float64))
    assert (s.rows, s.nulls, s.nans, s.pos_inf, s.neg_inf, s.count) == (0, 0, 0, 0, 0, 0)
    assert math.isnan(s.min) and math.isnan(s.max) and math.isnan(s.mean)
    assert s.m2 == 0.0
    assert math.isnan(s.variance()) and math.isnan(s.std())
    assert identical(s, K.NumericSummary.empty())


def test_summarize_all_null():
    x = np.arange(10_000, dtype=np.float64)
    s = K.summarize(x, np.zeros(10_000 // 8, dtype=np.uint8))
    assert (s.rows, s.nulls, s.count) == (10_000, 10_000, 0)
    assert math.isnan(s.mean) and math.isnan(s.min) and s.m2 == 0.0


def test_summarize_all_nan_and_all_inf():
    s = K.summarize(np.full(5000, np.nan))
    assert (s.nans, s.count) == (5000, 0) and math.isnan(s.mean) and s.m2 == 0.0
    x = np.array([np.inf, -np.inf, np.inf] * 2000)
    s = K.summarize(x)
    assert (s.pos_inf, s.neg_inf, s.count) == (4000, 2000, 0)
    assert math.isnan(s.min) and math.isnan(s.max)


@pytest.mark.parametrize("value", [0.0, -2.5, 1e9 + 0.1, 1e-300, 7.0])
def test_summarize_constant_column_is_exact(value):
    x = np.full(10_001, value)
    s = K.summarize(x)
    assert s.mean == value and s.min == value and s.max == value
    assert s.m2 == 0.0 and s.variance() == 0.0


def test_summarize_one_element():
    s = K.summarize(np.array([3.25]))
    assert (s.count, s.min, s.max, s.mean, s.m2) == (1, 3.25, 3.25, 3.25, 0.0)
    assert math.isnan(s.variance()) and s.variance(ddof=0) == 0.0


def test_summarize_nan_and_inf_mixed_in():
    rng = np.random.default_rng(7)
    x = rng.normal(0.0, 1.0, 20_000)
    x[rng.integers(0, x.size, 300)] = np.nan
    x[rng.integers(0, x.size, 50)] = np.inf
    x[rng.integers(0, x.size, 40)] = -np.inf
    o = oracle_summary(x)
    assert o["nans"] and o["pos_inf"] and o["neg_inf"]
    assert_summary(K.summarize(x), o)
    mask = rng.random(x.size) > 0.3
    assert_summary(K.summarize(x, bitmap(mask, 3), 3), oracle_summary(x, mask))


@pytest.mark.parametrize("n", [1, 3, 4, 5, 7, 8, 4095, 4096, 4097, 12_289])
@pytest.mark.parametrize("missing", [0.0005, 0.01, 0.5, 0.99])
def test_summarize_blocks_with_nan_equal_the_fully_masked_path_bit_for_bit(n, missing):
    """A block holding NaN but no infinity takes the cheaper kernels (NaN skipped by MINPD and
    MAXPD, one compare per value to mask); a block holding an infinity takes the fully masked
    ones. Put +inf or -inf where one NaN was, at every place in turn, and everything but the
    counts of NaN and infinities must be bit for bit what the NaN kernels gave: the same lanes
    are masked, so the same sums in the same order."""
    rng = np.random.default_rng(n)
    x = rng.normal(5.0, 3.0, n)
    x[rng.random(n) < missing] = np.nan
    x[0] = np.nan  # at least one, and one in the first lane
    nan_only = K.summarize(x).to_dict()
    spots = np.flatnonzero(np.isnan(x))
    for spot in sorted(set(spots[:: max(1, spots.size // 16)]) | {spots[-1]}):
        for infinity, counted in ((np.inf, "pos_inf"), (-np.inf, "neg_inf")):
            y = x.copy()
            y[spot] = infinity
            masked = K.summarize(y).to_dict()
            assert masked[counted] == 1 and masked["nans"] == nan_only["nans"] - 1
            for key in ("count", "min", "max", "mean", "mean_lo", "m2"):
                assert json.dumps(masked[key]) == json.dumps(nan_only[key]), (key, spot, masked[key], nan_only[key])


def test_summarize_skewed_lognormal():
    x = np.random.default_rng(3).lognormal(0.0, 5.0, 50_000)
    assert_summary(K.summarize(x), oracle_summary(x))


def exact_mean_var(x):
    """Mean and ddof=1 variance of float64 values in exact rational arithmetic."""
    fx = [Fraction(float(v)) for v in x]
    mu = sum(fx, Fraction(0)) / len(fx)
    return float(mu), float(sum((v - mu) ** 2 for v in fx) / (len(fx) - 1))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_summarize_large_magnitude_small_spread(seed):
    x = 1e9 + np.random.default_rng(seed).normal(0.0, 1.0, 100_001)
    assert_summary(K.summarize(x), oracle_summary(x))


@pytest.mark.parametrize("loc", [1e9, 1e12, 1e14])
def test_summarize_exact_when_mean_dwarfs_spread(loc):
    # Here numpy's variance is itself off (its mean's rounding error enters squared), so the
    # oracle is exact rational arithmetic. A block's provisional mean sum/n is off by ~0.1
    # at 1e14; the corrected two-pass must remove that, and merging must not reintroduce it.
    rng = np.random.default_rng(int(loc) % 1000)
    x = loc + rng.normal(0.0, 1.0, 9001)
    mean, var = exact_mean_var(x)
    s = K.summarize(x)
    assert close(s.mean, mean) and close(s.variance(), var), (s.variance(), var)
    parts = [
        K.NumericSummary.from_dict(json.loads(json.dumps(K.summarize(x[a:b]).to_dict())))
        for a, b in random_chunks(rng, x.size, 5)
    ]
    merged = merge_tree(rng, parts)
    assert close(merged.mean, mean) and close(merged.variance(), var), (merged.variance(), var)


def test_summarize_mixed_magnitudes():
    rng = np.random.default_rng(11)
    x = np.concatenate([
        rng.normal(0.0, 1e-6, 20_000),
        rng.normal(1e6, 1.0, 20_000),
        rng.normal(-1e3, 10.0, 20_000),
        rng.lognormal(0.0, 3.0, 5_000),
    ])
    rng.shuffle(x)
    assert_summary(K.summarize(x), oracle_summary(x))


def test_summarize_extreme_integers():
    for dtype in (np.int64, np.uint64):
        info = np.iinfo(dtype)
        x = np.array([info.min, info.max, 0, 1, info.max - 1] * 1000, dtype=dtype)
        assert_summary(K.summarize(x), oracle_summary(x))


def test_summarize_huge_finite_values_do_not_overflow_to_nan():
    x = np.array([1e308, 1.5e308, -1e308, 1.7e308, np.nan, np.inf] * 3)
    s = K.summarize(x)
    assert (s.count, s.nans, s.pos_inf) == (12, 3, 3)
    assert (s.min, s.max) == (-1e308, 1.7e308)
    fin = x[np.isfinite(x)]
    assert close(s.mean, float(np.sum(fin / fin.size)))  # divide first: the plain sum overflows
    assert s.m2 == math.inf  # the true value exceeds float64; inf, not NaN


def test_summarize_float32_is_computed_in_double():
    x = np.random.default_rng(5).normal(100.0, 3.0, 30_000).astype(np.float32)
    s = K.summarize(x)
    assert s.min == float(x.min()) and s.max == float(x.max())
    assert close(s.mean, float(np.mean(x.astype(np.float64))))


def test_summarize_noncontiguous_readonly_and_big_endian():
    rng = np.random.default_rng(8)
    x = rng.normal(0.0, 1.0, 10_000)
    assert_summary(K.summarize(x[::3]), oracle_summary(x[::3]))
    ro = np.frombuffer(x.tobytes(), dtype=np.float64)
    assert not ro.flags.writeable
    assert_summary(K.summarize(ro), oracle_summary(x))
    assert_summary(K.summarize(x.astype(">f8")), oracle_summary(x))
    assert_summary(K.summarize(x.astype(np.int32).astype(">i4")), oracle_summary(x.astype(np.int32)))


# --------------------------------------------------------------------------------------------
# merge
# --------------------------------------------------------------------------------------------

def random_chunks(rng, n, k):
    cuts = np.sort(rng.integers(0, n + 1, size=k - 1))
    bounds = np.concatenate([[0], cuts, [n]])
    return list(zip(bounds[:-1], bounds[1:]))  # may contain empty chunks


def merge_tree(rng, parts):
    parts = list(parts)
    while len(parts) > 1:
        i = int(rng.integers(0, len(parts) - 1))
        parts[i : i + 2] = [parts[i].merge(parts[i + 1])]
    return parts[0]


@pytest.mark.parametrize("dtype", VALUE_DTYPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_merge_of_chunks_equals_one_shot(dtype, seed):
    rng = np.random.default_rng(100 + seed)
    n = 40_000
    x = random_values(rng, dtype, n)
    mask = rng.random(n) > 0.1
    bits = bitmap(mask)
    whole = K.summarize(x, bits)
    assert_summary(whole, oracle_summary(x, mask))
    for k in (2, 7, 31):
        chunks = [K.summarize(x[a:b], bits, int(a)) for a, b in random_chunks(rng, n, k)]
        left = chunks[0]
        for c in chunks[1:]:
            left = left.merge(c)
        right = chunks[-1]
        for c in reversed(chunks[:-1]):
            right = c.merge(right)
        shuffled = list(chunks)
        rng.shuffle(shuffled)
        for merged in (left, right, merge_tree(rng, chunks), merge_tree(rng, shuffled)):
            assert_same_state(merged, whole)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_merge_adversarial_magnitude_through_json(seed):
    # Chan's update needs the chunk means to better than one double at 1e9 + N(0, 1); the
    # state keeps mean_lo for that, and it must survive to_dict/JSON/from_dict.
    rng = np.random.default_rng(seed)
    x = 1e9 + rng.normal(0.0, 1.0, 60_000)
    whole = K.summarize(x)
    parts = []
    for a, b in random_chunks(rng, x.size, 9):
        d = json.loads(json.dumps(K.summarize(x[a:b]).to_dict()))
        parts.append(K.NumericSummary.from_dict(d))
    assert_same_state(merge_tree(rng, parts), whole)
    assert close(merge_tree(rng, parts).variance(), np.var(x, ddof=1))


def test_merge_identity_and_new_object():
    s = K.summarize(np.array([1.0, 2.0, np.nan, 4.0]))
    e = K.NumericSummary.empty()
    assert identical(s.merge(e), s) and identical(e.merge(s), s)
    assert identical(e.merge(e), e)
    m = s.merge(s)
    assert m is not s and s.count == 3 and m.count == 6
    with pytest.raises(TypeError):
        s.merge(None)


# --------------------------------------------------------------------------------------------
# NumericSummary: serialisation and accessors
# --------------------------------------------------------------------------------------------

def test_to_dict_from_dict_json_and_pickle_round_trip_exactly():
    rng = np.random.default_rng(9)
    x = 1e9 + rng.normal(0.0, 1.0, 12_345)
    x[::100] = np.nan
    for s in (K.summarize(x), K.NumericSummary.empty(), K.summarize(np.array([np.inf]))):
        d = s.to_dict()
        assert set(d) == SUMMARY_KEYS
        assert all(type(d[k]) is int for k in ("rows", "nulls", "nans", "pos_inf", "neg_inf", "count"))
        assert all(type(d[k]) is float for k in ("min", "max", "mean", "mean_lo", "m2"))
        assert identical(K.NumericSummary.from_dict(d), s)
        assert identical(K.NumericSummary.from_dict(json.loads(json.dumps(d))), s)
        assert identical(pickle.loads(pickle.dumps(s)), s)
        assert repr(s).startswith("NumericSummary(rows=")


def test_from_dict_rejects_bad_states():
    good = K.summarize(np.array([1.0, 2.0, 3.0])).to_dict()
    for bad in (
        {k: v for k, v in good.items() if k != "count"},
        {**good, "extra": 1},
        {**good, "rows": 4},
        {**good, "nulls": -1, "rows": 2},
        {**good, "m2": -1.0},
        {**good, "mean": 10.0},
        {**good, "count": 2.0},
    ):
        with pytest.raises((ValueError, TypeError)):
            K.NumericSummary.from_dict(bad)
    legacy = {k: v for k, v in good.items() if k != "mean_lo"}
    assert K.NumericSummary.from_dict(legacy).mean == good["mean"]


def test_variance_and_std_ddof():
    x = np.random.default_rng(4).normal(2.0, 3.0, 1000)
    s = K.summarize(x)
    for ddof in (0, 1, 2):
        assert close(s.variance(ddof), np.var(x, ddof=ddof))
        assert close(s.std(ddof), np.std(x, ddof=ddof))
    assert math.isnan(s.variance(ddof=1000)) and math.isnan(s.std(ddof=1001))


# --------------------------------------------------------------------------------------------
# Arrow and polars buffers
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("start,stop", [(3, None), (13, 517), (8, 16), (1, 2)])
def test_pyarrow_slice_offset_bitmap(start, stop):
    rng = np.random.default_rng(start)
    raw = rng.normal(0.0, 10.0, 1000)
    items = [None if rng.random() < 0.2 else float(v) for v in raw]
    items[5] = float("nan")
    items[20] = float("inf")
    arr = pa.array(items, type=pa.float64())
    sl = arr.slice(start, None if stop is None else stop - start)
    values, validity, offset = arrow_views(sl)
    assert offset == start
    py = sl.to_pylist()
    mask = np.array([v is not None for v in py])
    dense = np.array([0.0 if v is None else v for v in py])
    assert_summary(K.summarize(values, validity, offset), oracle_summary(dense, mask))
    edges = np.array([-10.0, -1.0, 0.0, 2.5, 10.0])
    np.testing.assert_array_equal(
        K.histogram(values, edges, validity, offset), oracle_histogram(dense, edges, mask)
    )
    want = int(np.sum(mask & ~np.isnan(dense) & ((dense < -5) | (dense > 5))))
    assert K.count_outside(values, -5.0, 5.0, validity, offset) == want


def test_pyarrow_int_array_with_nulls():
    arr = pa.array([1, None, 3, None, -7, 12, None, 0, 5, 5, 5] * 300, type=pa.int32()).slice(5)
    values, validity, offset = arrow_views(arr)
    mask = np.array([v is not None for v in arr.to_pylist()])
    dense = np.array([0 if v is None else v for v in arr.to_pylist()], dtype=np.int32)
    assert_summary(K.summarize(values, validity, offset), oracle_summary(dense, mask))


def test_polars_series_with_nulls():
    rng = np.random.default_rng(12)
    data = [None if rng.random() < 0.25 else float(v) for v in rng.normal(5.0, 2.0, 5000)]
    data[10] = float("nan")
    series = pl.Series("x", data, dtype=pl.Float64)
    for s in (series, series.slice(7, 3000)):
        arr = s.to_arrow()
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        values, validity, offset = arrow_views(arr)
        summary = K.summarize(values, validity, offset)
        nonnull = s.drop_nulls()
        finite = nonnull.filter(~nonnull.is_nan())
        assert summary.nulls == s.null_count()
        assert summary.nans == int(nonnull.is_nan().sum())
        assert summary.count == finite.len()
        assert summary.min == finite.min() and summary.max == finite.max()
        assert close(summary.mean, finite.mean())
        assert close(summary.variance(), finite.var(ddof=1))


def test_polars_categorical_codes():
    s = pl.Series("c", ["b", "a", None, "c", "a", None, "a"] * 50, dtype=pl.Categorical)
    arr = s.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    idx = arr.indices
    codes, validity, offset = arrow_views(idx)
    counts, nulls = K.code_counts(codes, len(arr.dictionary), validity, offset)
    assert nulls == s.null_count() == 100
    names = arr.dictionary.to_pylist()
    want = s.drop_nulls().value_counts()
    for name, cnt in zip(want["c"].to_list(), want["count"].to_list()):
        assert counts[names.index(name)] == cnt


# --------------------------------------------------------------------------------------------
# histogram and searchsorted_counts
# --------------------------------------------------------------------------------------------

EDGE_SETS = [
    np.array([]),
    np.array([0.0]),
    np.array([-1.0, 1.0]),
    np.array([-np.inf, 0.0, np.inf]),
    np.linspace(-3.0, 9.0, 9),
    np.linspace(-3.0, 9.0, 20),  # the most edges the linear path takes
    np.linspace(-3.0, 9.0, 21),  # the fewest the binary search takes
    np.linspace(-3.0, 9.0, 99),
]


@pytest.mark.parametrize("edges", EDGE_SETS, ids=lambda e: f"{len(e)}edges")
@pytest.mark.parametrize("dtype", VALUE_DTYPES)
def test_histogram_matches_searchsorted(edges, dtype):
    rng = np.random.default_rng(len(edges))
    x = random_values(rng, dtype, 20_001)
    if np.dtype(dtype).kind != "f":  # put the integers where the edges are
        x = (x % 13).astype(dtype)
    got = K.histogram(x, edges)
    assert got.dtype == np.int64 and got.shape == (len(edges) + 1,)
    np.testing.assert_array_equal(got, oracle_histogram(x, edges))
    mask = rng.random(x.size) > 0.3
    np.testing.assert_array_equal(
        K.histogram(x, edges, bitmap(mask, 6), 6), oracle_histogram(x, edges, mask)
    )


def test_histogram_values_on_edges_go_right():
    edges = np.array([0.0, 1.0, 2.0])
    x = np.array([-0.5, 0.0, 0.5, 1.0, 2.0, 2.0, 3.0, -0.0])
    np.testing.assert_array_equal(K.histogram(x, edges), [1, 3, 1, 3])
    np.testing.assert_array_equal(K.histogram(x, edges), oracle_histogram(x, edges))


def test_histogram_quantile_edges_on_tied_data():
    x = np.random.default_rng(2).integers(0, 6, 30_000).astype(np.float64)
    edges = np.unique(np.quantile(x, np.arange(1, 10) / 10))
    np.testing.assert_array_equal(K.histogram(x, edges), oracle_histogram(x, edges))


@pytest.mark.parametrize("edges", EDGE_SETS, ids=lambda e: f"{len(e)}edges")
def test_searchsorted_counts_equals_histogram(edges):
    rng = np.random.default_rng(21)
    x = rng.normal(3.0, 4.0, 10_000)
    x[:30] = np.nan
    x[30:40] = np.inf
    x[40:45] = -np.inf
    x[45:200] = np.round(x[45:200])  # ties, some exactly on edges
    s = np.sort(x)  # -inf first, then +inf and NaN at the end
    got = K.searchsorted_counts(s, edges)
    np.testing.assert_array_equal(got, K.histogram(x, edges))
    np.testing.assert_array_equal(got, oracle_histogram(x, edges))


def test_searchsorted_counts_small_cases():
    for x in ([], [1.0], [np.nan, np.nan], [-np.inf, np.inf], [0.0, 0.0, 1.0]):
        x = np.sort(np.array(x, dtype=np.float64))
        for edges in EDGE_SETS[:4]:
            np.testing.assert_array_equal(
                K.searchsorted_counts(x, edges), oracle_histogram(x, edges)
            )
    with pytest.raises(ValueError):
        K.searchsorted_counts(np.array([3.0, 2.0, 1.0]), [0.0])


def tie_values(edges, rng, n):
    """Adversarial values for a histogram on ``edges``: every edge itself, its neighbouring
    doubles, +-0.0, and values beyond both ends, shuffled."""
    e = np.asarray(edges, dtype=np.float64)
    fe = e[np.isfinite(e)]
    pool = np.concatenate([
        fe, np.nextafter(fe, -np.inf), np.nextafter(fe, np.inf),
        [0.0, -0.0, 5e-324, -5e-324, np.nan, np.inf, -np.inf],
        [fe.min() - 1.0, fe.max() + 1.0] if fe.size else [1.0],
    ])
    return rng.choice(pool, n)


@pytest.mark.parametrize("m", range(0, 41))
def test_histogram_paths_match_searchsorted(m):
    # Each path, whatever the edge count, on random data and on values sitting on the edges.
    rng = np.random.default_rng(1000 + m)
    edges = np.sort(rng.choice(np.round(rng.normal(0.0, 3.0, 400), 1), m, replace=False))
    edges = np.unique(edges)
    if m >= 3 and m % 3 == 0:
        edges[0], edges[-1] = -np.inf, np.inf
    if m >= 2 and m % 4 == 1:
        edges = np.unique(np.concatenate([edges[1:], [-0.0]]))  # an edge at -0.0
    x = rng.normal(0.0, 3.0, 5003)
    x[rng.random(x.size) < 0.05] = np.nan
    x[rng.random(x.size) < 0.02] = np.inf
    x[rng.random(x.size) < 0.02] = -np.inf
    paths = (["linear"] if len(edges) <= 20 else []) + (["search"] if len(edges) else [])
    for data in (x, tie_values(edges, rng, 4099), np.round(x)):
        want = oracle_histogram(data, edges)
        for path in paths:
            np.testing.assert_array_equal(K._histogram_path(data, edges, path), want, err_msg=path)
        np.testing.assert_array_equal(K.histogram(data, edges), want)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31])
def test_histogram_paths_short_inputs(n):
    # The SIMD loops take 2 or 8 values at a time; the tails must count the rest exactly.
    rng = np.random.default_rng(n)
    edges = np.array([-1.0, -0.0, 0.5, 1.0, 2.0])
    x = tie_values(edges, rng, n)
    for path in ("linear", "search"):
        np.testing.assert_array_equal(
            K._histogram_path(x, edges, path), oracle_histogram(x, edges), err_msg=path
        )


def test_histogram_ties_exactly_at_edges_both_paths():
    edges = np.array([-1.0, -0.0, 2.0])
    x = np.array([-1.0, -0.0, 0.0, 2.0, np.nextafter(-1.0, -np.inf), np.nextafter(2.0, np.inf),
                  np.nextafter(-0.0, -np.inf), -5.0, 7.0, np.nan, np.inf, -np.inf])
    # (-inf, -1): nextafter(-1, -inf), -5 | [-1, -0): -1, nextafter(-0, -inf)
    # [-0, 2): -0.0, 0.0 | [2, inf): 2, nextafter(2, inf), 7 | NaN and +-inf: not counted
    want = [2, 2, 2, 3]
    np.testing.assert_array_equal(oracle_histogram(x, edges), want)
    for path in ("linear", "search"):
        np.testing.assert_array_equal(K._histogram_path(x, edges, path), want, err_msg=path)
    np.testing.assert_array_equal(K.histogram(x, edges), want)
    big = np.linspace(-1.0, 2.0, 30)  # search path: the same ties, more edges
    y = np.concatenate([big, -big, np.nextafter(big, np.inf), [-0.0, 0.0]])
    np.testing.assert_array_equal(K.histogram(y, big), oracle_histogram(y, big))


def test_histogram_path_arguments():
    x = np.arange(10.0)
    with pytest.raises(ValueError):
        K._histogram_path(x, np.arange(21.0), "linear")
    with pytest.raises(ValueError):
        K._histogram_path(x, [], "search")
    with pytest.raises(ValueError):
        K._histogram_path(x, [1.0], "scatter")


# --------------------------------------------------------------------------------------------
# scan_numeric: summarize + histograms + range counts in one pass
# --------------------------------------------------------------------------------------------

SCAN_EDGE_COUNTS = [0, 1, 5, 9, 20, 21, 32, 33, 200]
SCAN_RANGES = [
    (0.0, 5.0), (-np.inf, 1.0), (2.0, np.inf), (-np.inf, np.inf), (3.0, 3.0), (5.0, -5.0),
    (-1e300, 1e300), (-np.inf, -np.inf), (np.inf, np.inf),
]


def bits_of(value):
    """A float's IEEE bit pattern (so NaN equals NaN and -0.0 differs from 0.0)."""
    return np.float64(value).tobytes()


def assert_bit_identical(a, b):
    da, db = a.to_dict(), b.to_dict()
    assert da.keys() == db.keys() and set(da) - {"m2_exp"} == SUMMARY_KEYS  # m2_exp: huge values
    for key in da:
        if isinstance(da[key], float):
            assert bits_of(da[key]) == bits_of(db[key]), (key, da[key], db[key])
        else:
            assert da[key] == db[key], (key, da[key], db[key])
    if a.count:
        assert da == db


def scan_edge_sets(rng, values, counts=SCAN_EDGE_COUNTS):
    """Strictly increasing edge arrays with the given numbers of edges, on the data's scale,
    some edges being data values (ties)."""
    x = np.asarray(values).astype(np.float64)
    fin = x[np.isfinite(x)]
    lo, hi = (float(fin.min()), float(fin.max())) if fin.size else (-1.0, 1.0)
    pool = np.unique(np.concatenate([fin[:300], np.linspace(lo - 1.0, hi + 1.0, 401)]))
    return [np.sort(rng.choice(pool, m, replace=False)) for m in counts]


def assert_scan_equals_kernels(values, validity, offset, edges, ranges, dense=None, mask=None,
                               moments_oracle=True):
    """scan_numeric equals summarize + histogram per edges + count_outside per range, exactly;
    with ``dense``/``mask`` (the elements and their validity), also the numpy oracles (for
    the moments only if ``moments_oracle``: numpy's mean overflows on values near 1.8e308)."""
    summary, hists, outside = K.scan_numeric(values, validity, offset, edges, ranges)
    assert_bit_identical(summary, K.summarize(values, validity, offset))
    assert isinstance(hists, list) and len(hists) == len(edges)
    for e, h in zip(edges, hists):
        assert h.dtype == np.int64 and h.shape == (len(e) + 1,)
        np.testing.assert_array_equal(h, K.histogram(values, e, validity, offset))
        if dense is not None:
            np.testing.assert_array_equal(h, oracle_histogram(dense, e, mask))
    assert isinstance(outside, list) and len(outside) == len(ranges)
    for (lo, hi), c in zip(ranges, outside):
        assert type(c) is int
        assert c == K.count_outside(values, lo, hi, validity, offset), (lo, hi)
        if dense is not None:
            xf = np.asarray(dense).astype(np.float64)
            keep = np.ones(xf.size, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
            assert c == int(np.sum(keep & ~np.isnan(xf) & ((xf < lo) | (xf > hi)))), (lo, hi)
    if dense is not None and moments_oracle:
        assert_summary(summary, oracle_summary(dense, mask))
    return summary, hists, outside


@pytest.mark.parametrize("dtype", VALUE_DTYPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_scan_numeric_equals_separate_kernels(dtype, seed):
    rng = np.random.default_rng(200 + seed)
    n = 3 * 4096 + int(rng.integers(0, 4096))
    x = random_values(rng, dtype, n)
    if np.dtype(dtype).kind != "f" and seed == 1:
        x = (x % 17).astype(dtype)  # small integers: many values sit exactly on edges
    edges = scan_edge_sets(rng, x)
    assert_scan_equals_kernels(x, None, 0, edges, SCAN_RANGES, x)
    mask = rng.random(n) > 0.2
    assert_scan_equals_kernels(x, bitmap(mask, 3), 3, edges, SCAN_RANGES, x, mask)


@pytest.mark.parametrize("dtype", VALUE_DTYPES)
@pytest.mark.parametrize("start,stop", [(0, None), (3, None), (13, 9000), (4096, 8193), (8, 16)])
def test_scan_numeric_pyarrow_slices(dtype, start, stop):
    rng = np.random.default_rng(start)
    x = random_values(rng, dtype, 10_000)
    valid = rng.random(x.size) > 0.15
    sl = pa.array(x, mask=~valid).slice(start, None if stop is None else stop - start)
    values, validity, offset = arrow_views(sl)
    assert offset == start
    dense, mask = x[sl.offset : sl.offset + len(sl)], valid[sl.offset : sl.offset + len(sl)]
    edges = scan_edge_sets(rng, dense, [0, 1, 9, 21, 33])
    assert_scan_equals_kernels(values, validity, offset, edges, SCAN_RANGES[:5], dense, mask)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 4095, 4096, 4097, 8192 + 3])
def test_scan_numeric_sizes_around_block_and_lane_boundaries(n):
    rng = np.random.default_rng(n)
    x = np.round(rng.normal(0.0, 4.0, n), 1)
    edges = scan_edge_sets(rng, x, [m for m in SCAN_EDGE_COUNTS if m <= 2 * n + 400])
    assert_scan_equals_kernels(x, None, 0, edges, SCAN_RANGES, x)
    mask = rng.random(n) > 0.5
    for offset in (0, 5):
        assert_scan_equals_kernels(x, bitmap(mask, offset), offset, edges, SCAN_RANGES, x, mask)


def test_scan_numeric_defaults_and_empty_input():
    summary, hists, outside = K.scan_numeric(np.arange(5.0))
    assert_bit_identical(summary, K.summarize(np.arange(5.0)))
    assert hists == [] and outside == []
    for dtype in (np.float64, np.int8):
        empty = np.array([], dtype=dtype)
        edges = [np.array([]), np.array([0.0]), np.linspace(0, 1, 50)]
        summary, hists, outside = assert_scan_equals_kernels(
            empty, None, 0, edges, SCAN_RANGES, empty
        )
        assert_bit_identical(summary, K.NumericSummary.empty())
        assert [h.tolist() for h in hists] == [[0], [0, 0], [0] * 51]
        assert outside == [0] * len(SCAN_RANGES)
        assert_scan_equals_kernels(empty, np.zeros(0, dtype=np.uint8), 0, edges, SCAN_RANGES)


@pytest.mark.parametrize("dtype", [np.float64, np.int32])
def test_scan_numeric_all_null(dtype):
    x = np.arange(10_000).astype(dtype)
    edges = [np.array([]), np.array([5.0]), np.linspace(0, 9999, 9), np.linspace(0, 9999, 40)]
    summary, hists, outside = assert_scan_equals_kernels(
        x, np.zeros(10_000 // 8 + 1, dtype=np.uint8), 3, edges, SCAN_RANGES,
        x, np.zeros(x.size, dtype=bool),
    )
    assert (summary.rows, summary.nulls, summary.count) == (10_000, 10_000, 0)
    assert all(h.sum() == 0 for h in hists) and outside == [0] * len(SCAN_RANGES)


def test_scan_numeric_nan_and_inf_mixed_in():
    rng = np.random.default_rng(17)
    x = rng.normal(0.0, 2.0, 6 * 4096)
    x[rng.integers(0, x.size, 900)] = np.nan
    x[rng.integers(0, x.size, 300)] = np.inf
    x[rng.integers(0, x.size, 200)] = -np.inf
    x[4096 : 2 * 4096] = np.nan  # a block of NaN only
    x[2 * 4096 : 3 * 4096 : 2] = np.inf  # a block of infinities and finite values
    x[3 * 4096 : 4 * 4096] = -np.inf  # a block of -inf only
    edges = scan_edge_sets(rng, x) + [np.array([-np.inf, 0.0, np.inf]), np.array([-np.inf])]
    summary, _, _ = assert_scan_equals_kernels(x, None, 0, edges, SCAN_RANGES, x)
    assert summary.nans and summary.pos_inf and summary.neg_inf
    mask = rng.random(x.size) > 0.3
    assert_scan_equals_kernels(x, bitmap(mask, 1), 1, edges, SCAN_RANGES, x, mask)
    x[5 * 4096 :: 7] = 1.5e308  # a block whose sum overflows
    edges.append(np.array([0.0, 1e308, 1.6e308]))
    assert_scan_equals_kernels(x, None, 0, edges, SCAN_RANGES, x, moments_oracle=False)
    assert_scan_equals_kernels(x, bitmap(mask, 1), 1, edges, SCAN_RANGES, x, mask, False)
    for special in (np.full(5000, np.nan), np.array([np.inf, -np.inf, np.nan] * 1500)):
        assert_scan_equals_kernels(special, None, 0, edges, SCAN_RANGES, special)


def test_scan_numeric_ties_at_edges():
    rng = np.random.default_rng(23)
    for m in SCAN_EDGE_COUNTS[1:]:
        edges = np.unique(np.round(rng.normal(0.0, 3.0, 3 * m), 2))[:m]
        if m >= 5:
            edges = np.unique(np.concatenate([edges[1:], [-0.0]]))
        x = tie_values(edges, rng, 3 * 4096 + 11)
        mask = rng.random(x.size) > 0.1
        others = [np.array([-0.0]), np.array([0.0]), edges[:1], edges[-1:]]
        ranges = [(float(edges[0]), float(edges[-1])), (-0.0, 0.0), (0.0, -0.0)]
        assert_scan_equals_kernels(x, None, 0, [edges] + others, ranges, x)
        assert_scan_equals_kernels(x, bitmap(mask, 6), 6, [edges] + others, ranges, x, mask)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.uint8])
def test_scan_numeric_sorted_and_clustered_data(dtype):
    # Blocks whose values all fall in one bin, or between a few edges, or wholly inside or
    # outside a range: the block's summary decides those without a pass, and must agree.
    rng = np.random.default_rng(29)
    n = 12 * 4096 + 5
    ramp = np.sort(rng.normal(50.0, 30.0, n))
    steps = np.repeat(np.arange(13) * 20.0, 4096)[:n]  # one value per block
    for base in (ramp, steps, np.full(n, 7.0)):
        x = np.clip(base, 0, 250).astype(dtype)
        edges = scan_edge_sets(rng, x, [1, 5, 9, 20, 21, 33, 200]) + [
            np.array([-1.0, 0.0]), np.array([300.0, 400.0]), np.linspace(-50.0, 500.0, 25),
        ]
        ranges = SCAN_RANGES + [(0.0, 250.0), (20.0, 60.0), (-10.0, -5.0), (400.0, 500.0)]
        assert_scan_equals_kernels(x, None, 0, edges, ranges, x)
        mask = rng.random(n) > 0.05
        assert_scan_equals_kernels(x, bitmap(mask, 2), 2, edges, ranges, x, mask)


@pytest.mark.parametrize("dtype", [np.float64, np.int16])
@pytest.mark.parametrize("k", [2, 7, 31])
def test_scan_numeric_chunked_merge_equals_one_shot(dtype, k):
    rng = np.random.default_rng(300 + k)
    n = 40_000
    x = random_values(rng, dtype, n)
    mask = rng.random(n) > 0.1
    bits = bitmap(mask)
    edges = scan_edge_sets(rng, x, [0, 9, 33])
    whole, whole_h, whole_o = K.scan_numeric(x, bits, 0, edges, SCAN_RANGES)
    merged, plain = K.NumericSummary.empty(), K.NumericSummary.empty()
    hists = [np.zeros(len(e) + 1, dtype=np.int64) for e in edges]
    outside = [0] * len(SCAN_RANGES)
    for a, b in random_chunks(rng, n, k):
        part, part_h, part_o = K.scan_numeric(x[a:b], bits, int(a), edges, SCAN_RANGES)
        plain_part = K.summarize(x[a:b], bits, int(a))
        assert_bit_identical(part, plain_part)
        merged, plain = merged.merge(part), plain.merge(plain_part)
        hists = [h + p for h, p in zip(hists, part_h)]
        outside = [o + p for o, p in zip(outside, part_o)]
    assert_bit_identical(merged, plain)  # same chunks, same merges: the same bits
    assert_same_state(merged, whole)
    assert_summary(merged, oracle_summary(x, mask))
    for h, w in zip(hists, whole_h):
        np.testing.assert_array_equal(h, w)
    assert outside == whole_o


def test_scan_numeric_polars_chunks():
    # The way the package feeds it: each Arrow chunk of a Polars column, merged.
    rng = np.random.default_rng(31)
    parts = [pl.Series("x", [None if rng.random() < 0.2 else float(v) for v in rng.normal(0, 1, m)])
             for m in (5000, 1, 4097)]
    series = pl.concat(parts, rechunk=False).slice(3, 9000)
    edges = [np.linspace(-2.0, 2.0, 9)]
    merged, total = K.NumericSummary.empty(), np.zeros(10, dtype=np.int64)
    outside = 0
    arr = series.to_arrow()
    for chunk in (arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]):
        values, validity, offset = arrow_views(chunk)
        s, (h,), (o,) = K.scan_numeric(values, validity, offset, edges, [(-1.0, 1.0)])
        merged, total, outside = merged.merge(s), total + h, outside + o
    finite = series.drop_nulls().to_numpy()
    assert merged.nulls == series.null_count() and merged.count == finite.size
    np.testing.assert_array_equal(total, oracle_histogram(finite, edges[0]))
    assert outside == int(np.sum((finite < -1.0) | (finite > 1.0)))


BLOCK = 4096  # the kernels' block size: a summary of whole blocks is a tree of block summaries


def kinds_of_blocks(rng):
    """One 4096-element block of each kind the moments take a different path for."""
    def normal():
        return rng.normal(3.0, 2.0, BLOCK)
    with_nan, with_inf, huge, huge_nan = normal(), normal(), np.full(BLOCK, 1.5e308), np.full(BLOCK, 1.5e308)
    with_nan[rng.random(BLOCK) < 0.01] = np.nan
    with_inf[::97] = np.inf
    huge[::3] = -1e308  # finite, but the sum overflows
    huge_nan[::5] = np.nan
    return {
        "clean": normal(), "nan": with_nan, "all_nan": np.full(BLOCK, np.nan), "inf": with_inf,
        "huge": huge, "huge_nan": huge_nan, "constant": np.full(BLOCK, 7.25),
    }


@pytest.mark.parametrize("order", [
    ["nan", "clean", "nan", "huge", "all_nan", "constant", "inf", "clean"],
    ["clean", "nan", "nan", "clean", "huge_nan", "huge", "null", "clean"],
    ["all_nan", "null", "clean", "inf", "inf", "huge", "nan", "constant"],
])
def test_summary_of_a_block_does_not_depend_on_its_neighbours(order):
    # After a block with NaN or inf the next one is first tried as non-finite too; when that
    # guess is wrong (a clean, constant, overflowing or all-null block), the block must still
    # be summarized exactly as on its own. Whole blocks are merged as a balanced tree, so two
    # blocks give exactly A.merge(B), and eight the tree of standalone block summaries.
    rng = np.random.default_rng(len(order[0]))
    blocks = kinds_of_blocks(rng)
    x = np.concatenate([blocks["clean"] if k == "null" else blocks[k] for k in order])
    mask = np.repeat([k != "null" for k in order], BLOCK)
    mask[5] = mask[3 * BLOCK + 9] = False  # a few nulls in other blocks too
    bits = bitmap(mask)
    parts = [K.summarize(x[i * BLOCK : (i + 1) * BLOCK], bits, i * BLOCK) for i in range(8)]
    for i in range(7):  # every transition on its own (an overflowing block swamps the whole)
        pair = x[i * BLOCK : (i + 2) * BLOCK]
        assert_bit_identical(K.summarize(pair, bits, i * BLOCK), parts[i].merge(parts[i + 1]))
        assert_bit_identical(
            K.scan_numeric(pair, bits, i * BLOCK, [[0.0]], [(0.0, 1.0)])[0],
            parts[i].merge(parts[i + 1]),
        )
    last = x[7 * BLOCK :]
    tails = [rng.normal(0.0, 1.0, 77), rng.lognormal(0.0, 5.0, 99), np.array([2.0]),
             rng.normal(0.0, 1.0, 99) * 10.0 ** rng.integers(-8, 8, 99), np.array([1e308, 1.7e308])]
    for tail in tails:
        for prev in (blocks["nan"], blocks["inf"], last):  # a short, all-finite last block
            assert_bit_identical(
                K.summarize(np.concatenate([prev, tail])), K.summarize(prev).merge(K.summarize(tail))
            )
    while len(parts) > 1:
        parts = [parts[i].merge(parts[i + 1]) for i in range(0, len(parts), 2)]
    edges = [np.array([-1.0, 0.0, 2.5, 3.0, 1e308])]
    whole, hists, outside = assert_scan_equals_kernels(
        x, bits, 0, edges, SCAN_RANGES, x, mask, moments_oracle=False
    )
    assert_bit_identical(whole, parts[0])
    assert_bit_identical(K.summarize(x, bits), parts[0])


def test_scan_numeric_bad_arguments():
    x = np.arange(20.0)
    with pytest.raises(TypeError, match="sequence of edge arrays"):
        K.scan_numeric(x, edges=np.array([0.0, 1.0]))
    for bad in ([[1.0, 1.0]], [[2.0, 1.0]], [[0.0, np.nan]], [np.zeros((2, 2))]):
        with pytest.raises(ValueError):
            K.scan_numeric(x, edges=bad)
    for bad in ([(1.0,)], [(1.0, 2.0, 3.0)], [("a", 1.0)], (0.0, 1.0), [None]):
        with pytest.raises(TypeError):
            K.scan_numeric(x, ranges=bad)
    with pytest.raises(ValueError):
        K.scan_numeric(x, ranges=[(np.nan, 1.0)])
    with pytest.raises(ValueError):
        K.scan_numeric(x, np.ones(2, dtype=np.uint8))  # 16 bits for 20 elements
    with pytest.raises(ValueError):
        K.scan_numeric(x, np.ones(3, dtype=np.uint8), -1)
    for bad, exc in ((np.array(["a"]), TypeError), ([1.0], TypeError), (np.zeros((2, 2)), ValueError)):
        with pytest.raises(exc):
            K.scan_numeric(bad)
    # Any sequence of pairs and of edge arrays will do, numpy numbers included.
    s, hists, outside = K.scan_numeric(x, None, 0, ([0, 5, 10],), np.array([[2, 3]]))
    assert hists[0].tolist() == [0, 5, 5, 10] and outside == [18]


# --------------------------------------------------------------------------------------------
# count_outside
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", VALUE_DTYPES)
def test_count_outside(dtype):
    rng = np.random.default_rng(31)
    x = random_values(rng, dtype, 15_000)
    xf = x.astype(np.float64)
    mask = rng.random(x.size) > 0.25
    for lo, hi in ((0.0, 5.0), (-np.inf, 1.0), (2.0, np.inf), (3.0, 3.0), (-100.0, 100.0)):
        want = int(np.sum(~np.isnan(xf) & ((xf < lo) | (xf > hi))))
        assert K.count_outside(x, lo, hi) == want
        want = int(np.sum(mask & ~np.isnan(xf) & ((xf < lo) | (xf > hi))))
        assert K.count_outside(x, lo, hi, bitmap(mask, 1), 1) == want


def test_count_outside_counts_infinities_but_not_nan():
    x = np.array([np.inf, -np.inf, np.nan, 0.5, 2.0])
    assert K.count_outside(x, 0.0, 1.0) == 3
    assert K.count_outside(x, -np.inf, np.inf) == 0
    with pytest.raises(ValueError):
        K.count_outside(x, math.nan, 1.0)


# --------------------------------------------------------------------------------------------
# code_counts
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", CODE_DTYPES)
def test_code_counts(dtype):
    rng = np.random.default_rng(41)
    codes = rng.integers(0, 17, 25_000).astype(dtype)
    counts, nulls = K.code_counts(codes, 17)
    assert counts.dtype == np.int64 and nulls == 0
    np.testing.assert_array_equal(counts, np.bincount(codes, minlength=17))
    mask = rng.random(codes.size) > 0.4
    counts, nulls = K.code_counts(codes, 17, bitmap(mask, 2), 2)
    np.testing.assert_array_equal(counts, np.bincount(codes[mask], minlength=17))
    assert nulls == int((~mask).sum())


def test_code_counts_out_of_range():
    with pytest.raises(ValueError, match="outside"):
        K.code_counts(np.array([0, 1, 5], dtype=np.int32), 5)
    with pytest.raises(ValueError, match="-1"):
        K.code_counts(np.array([0, -1, 2], dtype=np.int8), 5)
    with pytest.raises(ValueError):
        K.code_counts(np.array([0], dtype=np.uint8), 0)
    # A code under a null slot is arbitrary in Arrow and must not be checked.
    counts, nulls = K.code_counts(np.array([0, 99, 1], dtype=np.int16), 2, bitmap([1, 0, 1]))
    assert counts.tolist() == [1, 1] and nulls == 1


def test_code_counts_pyarrow_dictionary():
    arr = pa.array(["x", "y", None, "x", "z", None, "x"] * 40).dictionary_encode().slice(3)
    codes, validity, offset = arrow_views(arr.indices)
    counts, nulls = K.code_counts(codes, len(arr.dictionary), validity, offset)
    values = arr.to_pylist()
    assert nulls == values.count(None)
    for i, name in enumerate(arr.dictionary.to_pylist()):
        assert counts[i] == values.count(name)


# --------------------------------------------------------------------------------------------
# ks_statistic and wasserstein_sorted
# --------------------------------------------------------------------------------------------

def sample_pairs():
    rng = np.random.default_rng(51)
    yield rng.normal(0, 1, 500), rng.normal(0.2, 1.1, 731)
    yield rng.integers(0, 10, 300).astype(float), rng.integers(0, 12, 250).astype(float)  # ties
    yield rng.integers(0, 3, 1000).astype(float), rng.integers(1, 4, 999).astype(float)
    yield np.array([1.0]), np.array([2.0])
    yield np.array([1.0]), np.array([1.0, 1.0, 3.0])
    yield np.array([0.0, 1.0, 2.0]), np.array([10.0, 11.0])  # disjoint
    yield rng.lognormal(0, 3, 2000), rng.lognormal(0.1, 3, 1500)
    yield 1e9 + rng.normal(0, 1, 400), 1e9 + rng.normal(0, 1, 600)
    x = rng.normal(0, 1, 300)
    yield x, x.copy()  # identical
    yield x, np.concatenate([x, x])  # same ECDF
    yield x, x[:100]


@pytest.mark.parametrize("pair", list(sample_pairs()), ids=lambda p: f"{len(p[0])}x{len(p[1])}")
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # scipy's p-value at n=1
def test_ks_and_wasserstein_match_scipy(pair):
    a, b = np.sort(pair[0]), np.sort(pair[1])
    ks = scipy.stats.ks_2samp(a, b, method="asymp").statistic
    assert abs(K.ks_statistic(a, b) - ks) <= 1e-12
    assert abs(K.ks_statistic(b, a) - ks) <= 1e-12
    w = scipy.stats.wasserstein_distance(a, b)
    assert abs(K.wasserstein_sorted(a, b) - w) <= RTOL * abs(w) + 1e-300
    assert abs(K.wasserstein_sorted(b, a) - w) <= RTOL * abs(w) + 1e-300


def test_ks_and_wasserstein_random_sizes_and_ties():
    rng = np.random.default_rng(61)
    for _ in range(40):
        n1, n2 = rng.integers(1, 200, size=2)
        a = np.sort(np.round(rng.normal(0, 2, n1), int(rng.integers(0, 2))))
        b = np.sort(np.round(rng.normal(0.3, 2, n2), int(rng.integers(0, 2))))
        assert abs(K.ks_statistic(a, b) - scipy.stats.ks_2samp(a, b, method="asymp").statistic) <= 1e-12
        w = scipy.stats.wasserstein_distance(a, b)
        assert abs(K.wasserstein_sorted(a, b) - w) <= RTOL * w + 1e-300


def test_identical_samples_give_zero():
    x = np.sort(np.random.default_rng(0).normal(0, 1, 1000))
    assert K.ks_statistic(x, x) == 0.0
    assert K.wasserstein_sorted(x, x) == 0.0


def test_two_sample_input_errors():
    good = np.array([1.0, 2.0])
    for bad in (np.array([]), np.array([2.0, 1.0]), np.array([1.0, np.nan]),
                np.array([np.nan]), np.array([1.0, np.inf]), np.array([-np.inf, 0.0])):
        for f in (K.ks_statistic, K.wasserstein_sorted):
            with pytest.raises(ValueError):
                f(bad, good)
            with pytest.raises(ValueError):
                f(good, bad)
    with pytest.raises(TypeError):
        K.ks_statistic([1.0, 2.0], good)


# --------------------------------------------------------------------------------------------
# Argument errors: clear exceptions, never a crash
# --------------------------------------------------------------------------------------------

def test_bad_values_raise():
    ok = np.arange(10.0)
    for bad, exc in (
        (np.array(["a", "b"]), TypeError),
        (np.array([1.0, 2.0], dtype=object), TypeError),
        (np.array([True, False]), TypeError),
        (np.array([1.0], dtype=np.float16), TypeError),
        (np.array([1 + 2j]), TypeError),
        ([1.0, 2.0], TypeError),
        (np.zeros((2, 2)), ValueError),
        (np.float64(1.0), TypeError),
    ):
        with pytest.raises(exc):
            K.summarize(bad)
        with pytest.raises(exc):
            K.histogram(bad, [0.0])
        with pytest.raises(exc):
            K.count_outside(bad, 0.0, 1.0)
    with pytest.raises(TypeError):
        K.code_counts(ok, 3)
    with pytest.raises(ValueError):
        K.code_counts(np.zeros(3, dtype=np.int32), -1)


def test_bad_validity_raises():
    x = np.arange(20.0)
    with pytest.raises(ValueError):
        K.summarize(x, np.ones(2, dtype=np.uint8))  # 16 bits for 20 elements
    with pytest.raises(ValueError):
        K.summarize(x, np.ones(3, dtype=np.uint8), offset=5)
    with pytest.raises(ValueError):
        K.summarize(x, np.ones(3, dtype=np.uint8), offset=-1)
    with pytest.raises(TypeError):
        K.summarize(x, np.ones(3, dtype=np.float64))
    with pytest.raises(TypeError):
        K.summarize(x, np.ones(20, dtype=bool))
    with pytest.raises(ValueError):
        K.summarize(x, np.ones((3, 1), dtype=np.uint8))
    with pytest.raises(TypeError):
        K.summarize(x, "not a bitmap")
    # bytes / pyarrow buffers work as bitmaps
    assert K.summarize(x, bytes([255, 255, 0x0F])).count == 20
    assert K.summarize(x, pa.py_buffer(bytes([0, 0, 0]))).nulls == 20


def test_bad_edges_raise():
    x = np.arange(10.0)
    for edges in ([1.0, 1.0], [2.0, 1.0], [0.0, np.nan], [np.nan], np.zeros((2, 2))):
        with pytest.raises(ValueError):
            K.histogram(x, edges)
        with pytest.raises(ValueError):
            K.searchsorted_counts(x, edges)


# --------------------------------------------------------------------------------------------
# Order statistics by bucket selection
# --------------------------------------------------------------------------------------------

def oracle_buckets(values, lo, scale, buckets, mask=None):
    """Bucket of each finite valid value, written out with numpy."""
    x = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(x) if mask is None else np.isfinite(x) & np.asarray(mask, dtype=bool)
    position = (x[keep] - lo) * scale
    index = np.where(position <= 0, 0, np.where(position >= buckets - 1, buckets - 1,
                                                 np.floor(np.clip(position, 0, buckets)))).astype(np.int64)
    return x[keep], index


@pytest.mark.parametrize("dtype", VALUE_DTYPES)
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("nulls", [True, False])
def test_bucket_counts_and_gather_match_numpy(dtype, seed, nulls):
    """With nulls, and without (a float64 column without nulls is what the AVX2 gather reads);
    5003 values: a tail after the last group of four. The buckets span the middle of the data,
    so values below and beyond them clamp to the first and the last bucket."""
    rng = np.random.default_rng(seed)
    values = random_values(rng, dtype, 5003)
    mask = rng.random(5003) > 0.1 if nulls else np.ones(5003, dtype=bool)
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite) & mask]
    lo, buckets = float(np.quantile(finite, 0.05)), 97
    scale = buckets / (float(np.quantile(finite, 0.9)) - lo)
    counts = np.zeros(buckets, dtype=np.int64)
    validity = bitmap(mask) if nulls else None
    K.bucket_counts(values, lo, scale, counts, validity, 0)
    kept, index = oracle_buckets(values, lo, scale, buckets, mask)
    assert np.array_equal(counts, np.bincount(index, minlength=buckets))
    targets = np.array([0, 5, 50, 96])
    slot = np.full(buckets, -1, dtype=np.int32)
    slot[targets] = np.arange(len(targets), dtype=np.int32)
    start = np.concatenate([[0], np.cumsum(counts[targets])])
    out = np.empty(int(start[-1]))
    fill, end = start[:-1].copy(), start[1:].copy()
    K.gather_buckets(values, lo, scale, slot, out, fill, end, validity, 0)
    assert np.array_equal(fill, end)
    for k, target in enumerate(targets):
        assert np.array_equal(np.sort(out[start[k]:start[k + 1]]), np.sort(kept[index == target]))
    short = end.copy()
    short[2] -= 1  # the counts promise one value fewer than bucket 50 holds
    with pytest.raises(ValueError, match="slot 2"):
        K.gather_buckets(values, lo, scale, slot, np.empty(int(start[-1])), start[:-1].copy(), short, validity, 0)


def test_bucket_kernels_check_their_arguments():
    values = np.arange(10.0)
    counts = np.zeros(4, dtype=np.int64)
    with pytest.raises(ValueError):
        K.bucket_counts(values, 0.0, float("inf"), counts)
    with pytest.raises(ValueError):
        K.bucket_counts(values, float("nan"), 1.0, counts)
    with pytest.raises(TypeError):
        K.bucket_counts(values, 0.0, 1.0, np.zeros(4, dtype=np.int32))
    slot = np.zeros(4, dtype=np.int32)
    with pytest.raises(ValueError):  # more values than the slot has room for
        K.gather_buckets(values, 0.0, 0.4, slot, np.empty(3), np.array([0]), np.array([3]))
    with pytest.raises(ValueError):
        K.gather_buckets(values, 0.0, 0.4, slot, np.empty(3), np.array([0]), np.array([9]))


def _selection_cases():
    rng = np.random.default_rng(11)
    normal = rng.normal(size=200_000)
    normal[rng.random(normal.size) < 0.02] = np.nan
    normal[:3], normal[3:6] = np.inf, -np.inf
    return {
        "normal with nan and inf": normal,
        "lognormal (skewed: sorted instead)": rng.lognormal(0, 3, 150_000),
        "one far outlier (sorted instead)": np.r_[rng.normal(size=100_000), 1e300],
        "ties (sorted instead)": np.round(rng.normal(size=120_000), 1),
        "mild ties": np.round(rng.normal(size=120_000), 3),
        "few values (sorted instead)": rng.integers(0, 4, 100_000).astype(float),
        "constant": np.full(80_000, 2.5),
        "small": rng.normal(size=333),
        "span beyond the float range (sorted instead)": np.r_[rng.normal(size=60_000) * 1e307, 1.7e308, -1.7e308],
        "int32": rng.integers(-10**6, 10**6, 100_000).astype(np.int32),
        "float32": rng.normal(size=100_000).astype(np.float32),
    }


@pytest.mark.parametrize("case", list(_selection_cases()))
@pytest.mark.parametrize("bins", [2, 10, 37])
def test_quantile_edges_by_selection_equal_numpy_quantiles(case, bins):
    """columns.quantile_edges (bucket selection) gives np.quantile's edges bit for bit."""
    from mlcontract.engines import columns

    values = _selection_cases()[case]
    series = pl.Series("x", values)
    pieces = pl.concat([series.slice(0, len(series) // 3), series.slice(len(series) // 3)], rechunk=False)
    for s in (series, pieces):  # one Arrow chunk, and two
        finite = np.asarray(values, dtype=np.float64)
        finite = finite[np.isfinite(finite)]
        want = np.unique(np.quantile(finite, np.arange(1, bins) / bins))
        got = columns.quantile_edges(s, bins, columns.summarize(s))
        assert got.shape == want.shape and np.array_equal(got, want), case


def test_order_statistics_with_nulls_equal_the_sorted_values():
    from mlcontract.engines import columns

    rng = np.random.default_rng(5)
    values = rng.normal(size=90_000).tolist()
    for i in rng.choice(len(values), 5_000, replace=False):
        values[i] = None
    series = pl.Series("x", values, dtype=pl.Float64)
    ordered = np.sort(series.drop_nulls().to_numpy())
    ranks = np.array([0, 1, 17, 40_000, len(ordered) - 2, len(ordered) - 1])
    got = columns.order_statistics(series, ranks, columns.summarize(series))
    assert np.array_equal(got, ordered[ranks])


@pytest.mark.parametrize("case", ["normal with nan and inf", "mild ties", "int32", "float32"])
def test_quantile_edges_really_select_without_sorting(case, monkeypatch):
    """The cases above that buckets split well go through the selection, not the sort fallback
    (so the equality test above is a test of the selection)."""
    from mlcontract.engines import columns

    series = pl.Series("x", _selection_cases()[case])
    summary = columns.summarize(series)

    def no_sort(_series):
        raise AssertionError("sorted instead of selected")

    monkeypatch.setattr(columns, "sorted_finite", no_sort)
    assert columns.quantile_edges(series, 10, summary).size >= 1


# ---- exact integer extremes (issue 9) -----------------------------------------------------------
# float64 rounds integers beyond 2**53; an integer column's min and max are exact Python ints,
# kept through merging, to_dict / from_dict and pickling. Oracle: Python's min / max on ints.
INTEGER_EDGE_VALUES = {
    "Int64": [0, 2 ** 53 + 1, None, 2 ** 53 - 1, -(2 ** 63), 2 ** 63 - 1, None, -(2 ** 53) - 3, 17],
    "UInt64": [0, 2 ** 64 - 1, None, 2 ** 53 + 1, 2 ** 63, None, 5, 2 ** 64 - 2],
    "Int32": [-(2 ** 31), 2 ** 31 - 1, None, 0],
    "UInt8": [0, 255, None, 7],
}


@pytest.mark.parametrize("dtype", sorted(INTEGER_EDGE_VALUES))
@pytest.mark.parametrize("split", [None, 1, 3])
def test_integer_columns_have_exact_int_extremes(dtype, split):
    from mlcontract.engines import columns

    values = INTEGER_EDGE_VALUES[dtype]
    series = pl.Series("x", values, dtype=getattr(pl, dtype))
    if split is None:
        summary = columns.summarize(series)
    else:  # batch by batch, merged (the streamed path)
        summary = K.NumericSummary.empty()
        for start in range(0, len(values), split):
            summary = summary.merge(columns.summarize(series.slice(start, split)))
    present = [v for v in values if v is not None]
    assert summary.exact_integers and type(summary.min) is int and type(summary.max) is int
    assert (summary.min, summary.max) == (min(present), max(present))
    assert (summary.count, summary.nulls) == (len(present), len(values) - len(present))
    # the float64 moments are those of the kernel alone
    plain = K.summarize(series.drop_nulls().to_numpy())
    assert plain.to_dict()["min"] == float(min(present)) and not plain.exact_integers
    again = K.NumericSummary.from_dict(json.loads(json.dumps(summary.to_dict())))
    assert (again.min, again.max) == (min(present), max(present)) and again.exact_integers
    assert pickle.loads(pickle.dumps(summary)).max == max(present)


def test_integer_extremes_merge_with_empty_and_drop_with_float_summaries():
    exact = K.summarize(np.array([3, 9], dtype=np.int64)).with_integer_extremes(3, 9)
    assert K.NumericSummary.empty().merge(exact).min == 3 and exact.merge(K.NumericSummary.empty()).max == 9
    mixed = exact.merge(K.summarize(np.array([1.5])))
    assert not mixed.exact_integers and mixed.min == 1.5 and mixed.max == 9.0
    with pytest.raises(ValueError, match="do not round to"):
        exact.with_integer_extremes(3, 10)
    assert not K.NumericSummary.from_dict({**exact.to_dict(), "max": 9.0}).exact_integers  # a float column's


@pytest.mark.parametrize("dtype", sorted(INTEGER_EDGE_VALUES))
def test_count_outside_and_scan_compare_integers_exactly(dtype):
    from mlcontract.engines import columns

    values = INTEGER_EDGE_VALUES[dtype]
    series = pl.Series("x", values, dtype=getattr(pl, dtype))
    present = [v for v in values if v is not None]
    big = 2 ** 53
    ranges = [(0, big), (0, big + 1), (-big - 3, big - 1), (1, 2 ** 64), (-(2 ** 70), 2 ** 63 - 2), (2.5, 2.75),
              (big + 1, big + 1), (0.5, 1e300), (-math.inf, big), (big, math.inf), (300, -5)]
    expected = [sum(1 for v in present if not lo <= v <= hi) for lo, hi in ranges]
    assert [columns.count_outside(series, lo, hi) for lo, hi in ranges] == expected
    summary, _, outside = columns.fused_pass(series, [np.array([0.0, 1.0])], ranges)
    assert outside == expected and summary.max == max(present)


# 128-bit integers and decimals of scale 0 have no NumPy type: the kernels read them as float64,
# which rounds beyond 2**53, and their extremes and range counts are then taken exactly, as an
# Int64's are. Oracle: Python's ints.
WIDE_INTEGER_COLUMNS = {
    "Int128": (pl.Int128, [0, 2 ** 100 + 1, None, -(2 ** 127), 2 ** 127 - 1, 2 ** 53 + 1]),
    "UInt128": (pl.UInt128, [0, 2 ** 128 - 1, None, 2 ** 53 + 1, 5]),
    "Decimal(20, 0)": (pl.Decimal(20, 0), [1, 10 ** 17 + 1, None, -(10 ** 20 - 1), 10 ** 20 - 1, 2 ** 53 + 1]),
}


@pytest.mark.parametrize("name", sorted(WIDE_INTEGER_COLUMNS))
def test_wide_integer_columns_are_compared_exactly(name):
    from mlcontract.engines import columns

    dtype, values = WIDE_INTEGER_COLUMNS[name]
    given = [decimal.Decimal(v) if v is not None and dtype.is_decimal() else v for v in values]
    series = pl.Series("x", given, dtype=dtype)
    present = [v for v in values if v is not None]
    summary = columns.summarize(series)
    assert summary.exact_integers and (summary.min, summary.max) == (min(present), max(present))
    big = 2 ** 53
    ranges = [(0, 10 ** 17), (0, big), (1, 2 ** 100), (-(2 ** 130), 2 ** 130), (big + 1, big + 1), (0.5, 1e300),
              (-math.inf, big), (big, math.inf), (2, 10 ** 17 + 1)]
    expected = [sum(1 for v in present if not lo <= v <= hi) for lo, hi in ranges]
    assert [columns.count_outside(series, lo, hi) for lo, hi in ranges] == expected
    summary, _, outside = columns.fused_pass(series, [np.array([0.0, 1.0])], ranges)
    assert outside == expected and summary.max == max(present)


def test_half_floats_are_summarized_as_the_floats_they_are():
    from mlcontract.engines import columns

    values = [1.0, 2.5, None, -4.0, 65504.0, float("inf"), float("nan"), 0.000061035]
    half = pl.Series("x", values, dtype=pl.Float16)
    wide = half.cast(pl.Float64)  # exact: every half float is a float64
    assert columns.summarize(half).to_dict() == columns.summarize(wide).to_dict()
    edges = np.array([0.0, 2.5, 100.0])
    assert columns.histogram(half, edges).tolist() == columns.histogram(wide, edges).tolist()
    assert columns.count_outside(half, 0, 2.5) == 3  # -4, 65504, inf


def test_count_outside_of_floats_against_integers_beyond_2_to_53_is_exact():
    from mlcontract.engines import columns

    series = pl.Series("x", [2.0 ** 53, 2.0 ** 53 + 2, -(2.0 ** 53), None, math.nan, math.inf])
    big = 2 ** 53
    for lo, hi in [(big + 1, big + 3), (-big - 1, big + 1), (-big + 1, big), (big - 1, big + 1)]:
        expected = sum(1 for v in [2 ** 53, 2 ** 53 + 2, -(2 ** 53), math.inf] if not lo <= v <= hi)
        assert columns.count_outside(series, lo, hi) == expected, (lo, hi)


# --------------------------------------------------------------------------------------------
# Values near float64's limit: squares overflow from ~1.3e154, sums and differences near 1.8e308
# --------------------------------------------------------------------------------------------
# The oracle scales the finite values by a power of two (exact in binary), computes with numpy,
# and scales the result back; or computes exactly in rationals.
FLOAT_MAX = float(np.finfo(np.float64).max)
ORACLE_SHIFT = 600


def scaled_numpy_moments(values):
    """(mean, std ddof=1, std ddof=0) of the finite values: numpy on values * 2**-600, scaled
    back (inf where the std itself exceeds float64)."""
    x = np.asarray(values, dtype=np.float64)
    small = x[np.isfinite(x)] * 2.0 ** -ORACLE_SHIFT
    with np.errstate(over="ignore"):
        return tuple(float(np.ldexp(v, ORACLE_SHIFT)) for v in (np.mean(small), np.std(small, ddof=1), np.std(small)))


def close_or_inf(actual, expected, rtol=RTOL):
    """close(), and inf where the true value exceeds float64 (both sides say so)."""
    return actual == expected == math.inf or close(actual, expected, rtol)


def huge_cases():
    rng = np.random.default_rng(71)
    spread = rng.normal(3.0, 2.0, 3 * 4096 + 17) * 1e250
    spread[rng.random(spread.size) < 0.03] = np.nan
    spread[::501] = np.inf
    mixed = np.concatenate([rng.normal(3.0, 2.0, 4096), rng.normal(0.0, 1.0, 4096) * 1e160,
                            rng.normal(-5.0, 1.0, 5000)])
    return {
        "one 1.56e228 between zeros (the property's case)": np.array([0.0, 1.5581359867893572e228, 0.0]),
        "half 1e200 and half 0, over blocks": np.array([1e200] * 5000 + [0.0] * 5000),
        "normal at 1e250 with NaN and inf": spread,
        "both signs up to 1.7e308 (sums overflow)": rng.uniform(-1.0, 1.0, 10_000) * 1.7e308,
        "a huge block between ordinary ones": mixed,
        "one outlier 1e300 among ordinary values": np.r_[rng.normal(0.0, 1.0, 9000), 1e300],
        "just above 2**448, tightly spread": 2.0 ** 448 * (1.0 + rng.normal(0.0, 1e-6, 6000)),
        "just below 2**448 (not scaled)": 2.0 ** 447 * (1.0 + rng.normal(0.0, 1e-6, 6000)),
        "the float64 limit, three values (std beyond float64)": np.array([FLOAT_MAX, -FLOAT_MAX, FLOAT_MAX / 2]),
        "the float64 limit, four values": np.array([FLOAT_MAX, -FLOAT_MAX / 2, FLOAT_MAX / 2, -FLOAT_MAX]),
    }


@pytest.mark.parametrize("name", list(huge_cases()))
def test_moments_of_huge_values_match_numpy_on_scaled_values(name):
    x = huge_cases()[name]
    mean, std, std0 = scaled_numpy_moments(x)
    fin = x[np.isfinite(x)]
    scale = float(np.abs(fin).max())
    rng = np.random.default_rng(5)
    mask = rng.random(x.size) > 0.1
    mask[:3] = True  # keep the short cases' values
    for summary, (m, s) in [(K.summarize(x), (mean, std)),
                            (K.summarize(x, bitmap(mask)), scaled_numpy_moments(x[mask])[:2])]:
        assert close(summary.mean, m, scale=scale), (summary.mean, m)
        assert close_or_inf(summary.std(1), s), (summary.std(1), s)
        assert summary.min <= summary.mean <= summary.max
        assert summary.m2_exp == (576 if scale >= 2.0 ** 448 else 0)
    summary = K.summarize(x)
    assert (summary.count, summary.min, summary.max) == (fin.size, fin.min(), fin.max())
    assert close_or_inf(summary.std(0), std0)
    assert_bit_identical(K.scan_numeric(x, None, 0, [[0.0, 1e200]], [(-1.0, 1.0)])[0], summary)
    for k in (2, 5, 17):  # streamed in chunks and merged, through JSON
        merged = K.NumericSummary.empty()
        for a, b in random_chunks(rng, x.size, k):
            part = K.NumericSummary.from_dict(json.loads(json.dumps(K.summarize(x[a:b]).to_dict())))
            merged = merged.merge(part)
        assert (merged.count, merged.min, merged.max, merged.m2_exp) == \
            (summary.count, summary.min, summary.max, summary.m2_exp)
        assert close(merged.mean, mean, scale=scale) and close_or_inf(merged.std(1), std), \
            (merged.mean, merged.std(1))


def test_huge_values_are_summarized_as_their_scaled_copy_bit_for_bit():
    # The moments of values reaching 2**448 are those of the values scaled by 2**-576, by the
    # same kernels: summarizing x * 2**600 gives exactly the summary of x, scaled.
    x = np.random.default_rng(72).normal(3.0, 2.0, 5 * 4096 + 33)
    plain, huge = K.summarize(x), K.summarize(x * 2.0 ** 600)
    assert (huge.m2_exp, plain.m2_exp) == (576, 0)
    assert huge.mean == math.ldexp(plain.mean, 600) and huge.mean_lo == math.ldexp(plain.mean_lo, 600)
    assert huge.to_dict()["m2"] == math.ldexp(plain.m2, 2 * 600 - 2 * 576)
    assert huge.std(1) == math.ldexp(plain.std(1), 600)
    assert huge.scaled_std(1) == (math.ldexp(plain.std(1), 24), 576)


def test_std_beyond_float64_is_inf_not_zero_and_the_mean_stays_right():
    # Two blocks of +-1.8e308: the sum, the blocks' difference of means and the squares all
    # overflow; the mean is 0 and the std sqrt(8192/8191) * 1.8e308, beyond float64.
    x = np.array([FLOAT_MAX] * 4096 + [-FLOAT_MAX] * 4096)
    s = K.summarize(x)
    assert s.mean == 0.0 and s.std(1) == math.inf and s.variance() == math.inf and s.m2 == math.inf
    value, exponent = s.scaled_std(1)
    small = x * 2.0 ** -576
    assert exponent == 576 and close(value, float(np.std(small, ddof=1)))
    assert close(s.std(0), FLOAT_MAX)  # the population std is exactly the limit: finite
    assert K.summarize(np.array([FLOAT_MAX, -FLOAT_MAX, FLOAT_MAX / 2])).mean == \
        pytest.approx(float(sum(Fraction(v) for v in (FLOAT_MAX, -FLOAT_MAX, FLOAT_MAX / 2)) / 3), rel=1e-15)


def test_scaled_moments_serialize_and_only_as_a_consistent_state():
    huge = K.summarize(np.array([0.0, 1e200, 3e200, np.nan]))
    d = huge.to_dict()
    assert d["m2_exp"] == 576 and set(d) == SUMMARY_KEYS | {"m2_exp"} and math.isfinite(d["m2"])
    assert identical(K.NumericSummary.from_dict(json.loads(json.dumps(d))), huge)
    assert identical(pickle.loads(pickle.dumps(huge)), huge)
    assert "m2_exp=576" in repr(huge)
    assert "m2_exp" not in K.summarize(np.array([1.0, 2.0])).to_dict()
    plain = K.summarize(np.array([1.0, 2.0])).to_dict()
    for bad in ({k: v for k, v in d.items() if k != "m2_exp"},  # written before m2 was scaled
                {**d, "m2_exp": 7}, {**d, "m2_exp": True}, {**d, "m2_exp": 576.0}, {**d, "m2": math.inf},
                {**plain, "m2_exp": 576}, {**plain, "m2": math.inf}):
        with pytest.raises((ValueError, TypeError)):
            K.NumericSummary.from_dict(bad)
    with pytest.raises(ValueError, match="summarize the data again"):
        K.NumericSummary.from_dict({k: v for k, v in d.items() if k != "m2_exp"})


def exact_wasserstein(a, b) -> Fraction:
    """∫|F_a - F_b| dx in rationals: over consecutive distinct values of both samples."""
    a, b = [Fraction(v) for v in np.sort(a)], [Fraction(v) for v in np.sort(b)]
    points = sorted(set(a) | set(b))
    total = Fraction(0)
    for left, right in zip(points, points[1:]):
        fa = Fraction(sum(1 for v in a if v <= left), len(a))
        fb = Fraction(sum(1 for v in b if v <= left), len(b))
        total += abs(fa - fb) * (right - left)
    return total


def as_float(value: Fraction) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf


def walk_cases():
    rng = np.random.default_rng(73)
    yield "the property's case", np.array([8.98846567431158e307]), np.array([0.0, 0.0])
    yield "700 x 500 normal at 1e305", rng.normal(0.0, 1.0, 700) * 1e305, rng.normal(0.5, 1.0, 500) * 1e305
    yield "ties near the limit", rng.integers(-3, 4, 300) * 5e307, rng.integers(-2, 4, 200) * 5e307
    yield "1e300 with tiny values", np.r_[rng.normal(0.0, 1.0, 50), 1e300], np.r_[rng.normal(0.1, 1.0, 40), 1e300]


@pytest.mark.parametrize("name", [c[0] for c in walk_cases()])
def test_ks_and_wasserstein_near_the_limit_match_scipy(name):
    _, a, b = next(c for c in walk_cases() if c[0] == name)
    a, b = np.sort(a), np.sort(b)
    want = scipy.stats.wasserstein_distance(a, b)
    assert math.isfinite(want)
    ks, w = K.ks_wasserstein(a, b)
    assert abs(ks - scipy.stats.ks_2samp(a, b, method="asymp").statistic) <= 1e-12
    assert abs(w - want) <= RTOL * want
    assert abs(w - as_float(exact_wasserstein(a, b))) <= RTOL * want


def test_wasserstein_beyond_float64_is_inf_and_its_scaled_value_exact():
    a, b = np.array([FLOAT_MAX]), np.array([-FLOAT_MAX, -0.9 * FLOAT_MAX])
    exact = exact_wasserstein(a, b)  # 1.95 * FLOAT_MAX
    ks, w = K.ks_wasserstein(a, b)
    assert (ks, w) == (1.0, math.inf) and K.wasserstein_sorted(a, b) == math.inf
    ks, scaled, exponent = K.ks_wasserstein_scaled(a, b)
    assert ks == 1.0 and math.isfinite(scaled) and exponent > 0
    assert abs(Fraction(scaled) * 2 ** exponent / exact - 1) <= 1e-15


def test_wasserstein_of_samples_spanning_more_than_the_float_range():
    # Between neighbours -1.8e308 and 1.8e308 the gap is itself beyond float64: scipy's np.diff
    # overflows there (inf times a CDF difference: inf, or NaN where the difference is 0), while
    # the exact distance is finite.
    a = np.array([-FLOAT_MAX, FLOAT_MAX])
    for b, exact in [(np.array([-FLOAT_MAX, FLOAT_MAX]), Fraction(0)),
                     (np.array([-FLOAT_MAX, FLOAT_MAX, FLOAT_MAX]), Fraction(FLOAT_MAX) / 3),
                     (np.array([-FLOAT_MAX, -FLOAT_MAX, FLOAT_MAX]), Fraction(FLOAT_MAX) / 3)]:
        assert exact == exact_wasserstein(a, b)
        ks, w = K.ks_wasserstein(a, b)
        assert abs(ks - scipy.stats.ks_2samp(a, b, method="asymp").statistic) <= 1e-12
        with np.errstate(over="ignore", invalid="ignore"):
            assert not math.isfinite(scipy.stats.wasserstein_distance(a, b))
        assert abs(w - as_float(exact)) <= RTOL * as_float(exact)
        assert K.ks_wasserstein_scaled(a, b)[2] > 0


def test_ordinary_samples_walk_unscaled():
    a, b = np.sort(np.random.default_rng(74).normal(0.0, 1.0, (2, 1000)), axis=1)
    ks, w = K.ks_wasserstein(a, b)
    assert K.ks_wasserstein_scaled(a, b) == (ks, w, 0)


def exact_quantile(sorted_values, q: float) -> Fraction:
    """numpy's linear interpolation, in rationals: x[j] + (x[j+1] - x[j]) * g at the virtual
    index (n - 1) * q (computed in float64, as numpy does)."""
    virtual = (len(sorted_values) - 1) * q
    j = min(int(math.floor(virtual)), len(sorted_values) - 1)
    g = Fraction(virtual - j)
    low, high = Fraction(sorted_values[j]), Fraction(sorted_values[min(j + 1, len(sorted_values) - 1)])
    return low + (high - low) * g


def test_quantiles_and_edges_of_values_spanning_the_float_range():
    from mlcontract.statistics import formulas as st

    probabilities = np.r_[np.arange(0, 21) / 20, 0.999, 0.001, 0.3333]
    for values in (np.array([-FLOAT_MAX, -1e308, -5.0, 0.0, 1e300, 1.5e308, FLOAT_MAX]),
                   np.array([-FLOAT_MAX, FLOAT_MAX]), np.array([-1.5e308, 1e308, 1.7e308])):
        got = st.sorted_quantiles(values, probabilities)
        with np.errstate(over="ignore", invalid="ignore"):  # numpy's lerp overflows from -1.5e308 to 1e308
            numpy_says = np.quantile(values, probabilities)
        for q, v, n in zip(probabilities, got, numpy_says):
            if math.isfinite(n):
                assert v == n, q  # numpy's own result, bit for bit, wherever it has one
            assert abs(Fraction(float(v)) - exact_quantile(values, float(q))) <= Fraction(1e-15) * Fraction(FLOAT_MAX), q
        edges = st.quantile_edges(values, 10)
        assert np.all(np.isfinite(edges)) and np.all(np.diff(edges) > 0)
    with np.errstate(over="ignore", invalid="ignore"):
        assert not math.isfinite(np.quantile([-FLOAT_MAX, FLOAT_MAX], 0.5))  # where the oracle is needed


def test_histogram_and_counts_at_the_float_limit():
    x = np.array([-FLOAT_MAX, -1e308, 0.0, 1e308, FLOAT_MAX, np.inf, -np.inf, np.nan] * 700)
    for edges in (np.array([-FLOAT_MAX, 0.0, FLOAT_MAX]), np.array([-1e308, 1e308]),
                  np.linspace(-1.0, 1.0, 30) * 1.7e308):
        want = oracle_histogram(x, edges)
        np.testing.assert_array_equal(K.histogram(x, edges), want)
        summary, hists, outside = K.scan_numeric(x, None, 0, [edges], [(-1e308, 1e308)])
        np.testing.assert_array_equal(hists[0], want)
        assert outside == [2 * 700 + 2 * 700]  # +-FLOAT_MAX and +-inf
        assert close(summary.mean, 0.0, scale=FLOAT_MAX)
        assert close_or_inf(summary.std(1), scaled_numpy_moments(x)[1]) and summary.m2_exp == 576


# ---- the selection fused with the summary, and the histogram it gives (issue 15) ------------------
# The reference's bin edges used three passes over a column after its summary (bucket counts,
# gather, the histogram on its own edges); the bucket counts now ride along the summary's pass
# on buckets placed from a sample, and the histogram comes from what the selection kept.
# Oracles: numpy's bincount / searchsorted / quantile on the finite values.

@pytest.mark.parametrize("dtype", VALUE_DTYPES)
@pytest.mark.parametrize("start, stop", [(0, 5000), (3, 4001), (64, 4096 * 2 + 5)])
def test_scan_numeric_counts_buckets_as_bucket_counts_does(dtype, start, stop):
    rng = np.random.default_rng(3)
    arr = pa.array(random_values(rng, dtype, 10_000), mask=rng.random(10_000) < 0.1).slice(start, stop - start)
    values, validity, offset = arrow_views(arr)
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    lo, buckets = float(np.quantile(finite, 0.2)), 101  # values below lo and beyond the last bucket clamp
    scale = buckets / (float(np.quantile(finite, 0.7)) - lo)
    want = np.zeros(buckets, dtype=np.int64)
    K.bucket_counts(values, lo, scale, want, validity, offset)
    mask = np.asarray(arr.is_valid())
    kept, index = oracle_buckets(values, lo, scale, buckets, mask)
    np.testing.assert_array_equal(want, np.bincount(index, minlength=buckets))
    got = np.zeros(buckets, dtype=np.int64)
    summary, hists, outside = K.scan_numeric(values, validity, offset, [np.array([0.0, 1.0])], [(-1.0, 1.0)],
                                             buckets=(lo, scale, got))
    np.testing.assert_array_equal(got, want)
    assert identical(summary, K.summarize(values, validity, offset))  # the buckets change nothing else
    np.testing.assert_array_equal(hists[0], oracle_histogram(values, [0.0, 1.0], mask))


def test_scan_numeric_bucket_arguments_are_checked():
    values = np.arange(10.0)
    with pytest.raises(ValueError):
        K.scan_numeric(values, buckets=(0.0, float("inf"), np.zeros(4, dtype=np.int64)))
    with pytest.raises(TypeError):
        K.scan_numeric(values, buckets=(0.0, 1.0, np.zeros(4, dtype=np.int32)))
    with pytest.raises(ValueError):
        K.scan_numeric(values, buckets=(0.0, 1.0, np.zeros(4, dtype=np.int64)[::2]))
    with pytest.raises(ValueError):
        K.bucket_index(np.array([0.0, np.nan]), 0.0, 1.0, 4)


def test_bucket_index_is_the_bucket_the_counts_use():
    rng = np.random.default_rng(8)
    points = np.r_[rng.normal(size=2000), -1e300, 1e300, 0.0, np.nextafter(0.0, 1.0), 5e-324]
    lo, scale, buckets = -1.3, 31.7, 97
    _, want = oracle_buckets(points, lo, scale, buckets)
    np.testing.assert_array_equal(K.bucket_index(points, lo, scale, buckets), want)
    for point, bucket in zip(points[:50], want[:50]):  # each point alone lands where bucket_counts counts it
        counts = np.zeros(buckets, dtype=np.int64)
        K.bucket_counts(np.array([point]), lo, scale, counts)
        assert counts[bucket] == 1


def _fused_selection(series, bins, placed):
    """What the local engine does for a reference column: one fused pass (summary + bucket
    counts on `placed` buckets), then quantile_selection from those counts."""
    from mlcontract.engines import columns

    buckets = None if placed is None else (*placed, np.zeros(columns.SELECT_BUCKETS, dtype=np.int64))
    summary, _, _ = columns.fused_pass(series, (), (), buckets)
    return columns.quantile_selection(series, bins, summary, buckets)


def _finite(values):
    finite = np.asarray(values, dtype=np.float64)
    return finite[np.isfinite(finite)]


@pytest.mark.parametrize("case", list(_selection_cases()))
@pytest.mark.parametrize("bins", [2, 10, 37])
def test_edges_and_own_histogram_from_the_fused_selection_equal_numpy(case, bins):
    """Edges from buckets counted in the summary's pass (placed by bucket_range) are np.quantile's
    bit for bit, and the histogram on them that the selection gives equals numpy's."""
    from mlcontract.engines import columns

    values = _selection_cases()[case]
    series = pl.Series("x", values)
    pieces = pl.concat([series.slice(0, len(series) // 3), series.slice(len(series) // 3)], rechunk=False)
    finite = _finite(values)
    want = np.unique(np.quantile(finite, np.arange(1, bins) / bins))
    for s in (series, pieces):
        edges, selection = _fused_selection(s, bins, columns.bucket_range(s))
        assert edges.shape == want.shape and np.array_equal(edges, want), case
        counts = selection.histogram(edges)
        if counts is not None:
            np.testing.assert_array_equal(counts, oracle_histogram(finite, edges))


@pytest.mark.parametrize("placed", [
    (-50.0, 16_384 / 1.0),  # every value beyond the buckets: all in the last one
    (50.0, 16_384 / 1.0),  # every value below them: all in the first one
    (0.0, 16_384 / 0.01),  # a sliver in the middle: the ranks in the first or last bucket
    (-0.5, 16_384 / 1.0),  # the middle half: the outer ranks clamp
    (-1e-300, 1e-300),  # one bucket, in effect
])
@pytest.mark.parametrize("bins", [4, 10])
def test_the_selection_is_exact_whatever_the_buckets_it_is_given(placed, bins):
    """The buckets are a guess (a sample's range); a bad one costs another pass or a sort,
    never an edge or a count."""
    rng = np.random.default_rng(21)
    values = rng.normal(size=120_000)
    values[rng.random(values.size) < 0.01] = np.nan
    series = pl.Series("x", values)
    finite = _finite(values)
    edges, selection = _fused_selection(series, bins, placed)
    np.testing.assert_array_equal(edges, np.unique(np.quantile(finite, np.arange(1, bins) / bins)))
    counts = selection.histogram(edges)
    if counts is not None:
        np.testing.assert_array_equal(counts, oracle_histogram(finite, edges))


def test_the_selection_histogram_of_edges_between_selected_values():
    """Edges that are not quantiles: in gathered buckets, in empty buckets, beyond the
    buckets; where the selection cannot tell (a bucket with values it did not gather) it says
    so (None) rather than guess."""
    from mlcontract.engines import columns

    rng = np.random.default_rng(4)
    values = np.r_[rng.normal(size=100_000), rng.normal(100, 1, 100_000)]  # a wide empty gap at 50
    series = pl.Series("x", values)
    summary = columns.summarize(series)
    ranks = np.array([1_000, 99_999, 100_000, 150_000])
    selection = columns.select(series, ranks, summary)
    ordered = np.sort(values)
    np.testing.assert_array_equal(selection.values, ordered[ranks])
    assert selection.picked is not None  # the buckets split these data: no sort
    for edges in (ordered[[1_000, 99_999, 100_000]], np.array([ordered[99_999], 50.0, ordered[100_000]]),
                  np.array([40.0, 60.0]), ordered[[1_000, 1_001, 150_000]]):
        np.testing.assert_array_equal(selection.histogram(edges), oracle_histogram(values, edges))
    assert selection.histogram(np.array([0.0])) is None  # a populated bucket that was not gathered
    assert selection.histogram(np.array([-1e300, 1e300])) is None  # the end buckets hold values too


def test_bucket_range_places_the_buckets_over_a_sample():
    from mlcontract.engines import columns

    rng = np.random.default_rng(6)
    values = np.r_[rng.normal(size=200_000), 1e12]  # an outlier the sample misses
    lo, scale = columns.bucket_range(pl.Series("x", values))
    assert -6 < lo < -2 and columns.SELECT_BUCKETS / scale < 12  # the outlier does not stretch the buckets
    assert columns.bucket_range(pl.Series("x", np.arange(1_000.0))) is None  # too small to select
    assert columns.bucket_range(pl.Series("x", np.full(100_000, 2.0))) is None  # no spread
    assert columns.bucket_range(pl.Series("x", np.full(100_000, np.nan))) is None
    nulls = pl.Series("x", [None] * 60_000 + list(range(60_000)), dtype=pl.Int64)
    assert columns.bucket_range(nulls) is not None  # the null slots' values only move the guess


@pytest.mark.parametrize("chunks, nulls", [(1, False), (3, False), (1, True), (3, True)])
def test_sorted_finite_sorts_a_copy_never_the_column(chunks, nulls):
    """sorted_finite sorts in place the array to_numpy copied (several chunks, nulls); a
    read-only view of Polars' own buffer is copied first. The column is never reordered."""
    from mlcontract.engines import columns

    rng = np.random.default_rng(9)
    values = rng.normal(size=30_000)
    values[::11], values[5], values[6] = np.nan, np.inf, -np.inf
    parts = np.array_split(values, chunks)
    series = pl.concat([pl.Series("x", p) for p in parts], rechunk=False)
    if nulls:
        series = series.scatter([1, 2, 3], None)
    before = series.to_numpy().copy()  # nulls read as NaN
    got = columns.sorted_finite(series)
    np.testing.assert_array_equal(series.to_numpy(), before)  # NaN where NaN: assert_array_equal's rule
    finite = before[np.isfinite(before)]
    np.testing.assert_array_equal(got, np.sort(finite))


# ---- a column in chunks --------------------------------------------------------------------
def _cuts(rng, n, how):
    """Chunk bounds of a column of n rows: random cuts (some empty), cuts on the 4096-row blocks'
    boundaries, many chunks shorter than a block, or the column whole."""
    if how == "random":
        return random_chunks(rng, n, 9)
    if how == "blocks":
        bounds = list(range(0, n, 4096)) + [n]
        return list(zip(bounds[:-1], bounds[1:]))
    if how == "tiny":
        bounds = np.unique(np.concatenate([[0, n], rng.integers(0, n, size=300)]))
        return list(zip(bounds[:-1], bounds[1:]))
    return [(0, n)]


@pytest.mark.parametrize("dtype", VALUE_DTYPES)
@pytest.mark.parametrize("how", ["random", "blocks", "tiny", "whole"])
@pytest.mark.parametrize("nulls", [False, True])
def test_scan_chunks_equals_the_scan_of_the_column_in_one_piece(dtype, how, nulls):
    """scan_chunks over any cut of a column (each chunk with its slice of the validity bitmap,
    at its own bit offset) gives the summary of scan_numeric over the whole column bit for bit,
    and the same histograms, range counts and bucket counts: its blocks run across the cuts."""
    rng = np.random.default_rng(len(how) * 31 + VALUE_DTYPES.index(dtype) + nulls)
    n = 5 * 4096 + int(rng.integers(1, 4096))
    x = random_values(rng, dtype, n)
    if np.dtype(dtype).kind == "f":
        x[: 4096 + 17] = np.abs(x[: 4096 + 17])  # a first block without NaN: both moment paths run
        x[: 4096 + 17][~np.isfinite(x[: 4096 + 17])] = 1.5
    mask = rng.random(n) > 0.15 if nulls else np.ones(n, dtype=bool)
    bits = bitmap(mask) if nulls else None
    edges = scan_edge_sets(rng, x, (9, 40))
    finite = np.asarray(x, dtype=np.float64)[np.isfinite(np.asarray(x, dtype=np.float64))]
    lo, scale = float(finite.min()), 1000.0 / float(finite.max() - finite.min())
    whole_buckets, chunk_buckets = np.zeros(1000, dtype=np.int64), np.zeros(1000, dtype=np.int64)
    whole = K.scan_numeric(x, bits, 0, edges, SCAN_RANGES, (lo, scale, whole_buckets))
    chunks = [(x[a:b], bits, int(a)) if nulls else (x[a:b], None, 0) for a, b in _cuts(rng, n, how)]
    summary, hists, outside = K.scan_chunks(chunks, edges, SCAN_RANGES, (lo, scale, chunk_buckets))
    assert_bit_identical(summary, whole[0])
    assert_summary(summary, oracle_summary(x, mask))
    for ours, theirs in zip(hists, whole[1]):
        np.testing.assert_array_equal(ours, theirs)
    assert outside == whole[2]
    np.testing.assert_array_equal(chunk_buckets, whole_buckets)
    assert_bit_identical(K.scan_chunks(chunks)[0], K.summarize(x, bits))


def test_scan_chunks_of_nothing_is_the_empty_summary():
    empty = K.scan_chunks([])[0]
    assert_bit_identical(empty, K.summarize(np.empty(0)))
    assert empty.rows == 0 and empty.count == 0
    assert_bit_identical(K.scan_chunks([(np.empty(0), None, 0)] * 3)[0], empty)


def test_a_series_in_many_chunks_is_read_chunk_by_chunk_with_the_results_of_one_chunk(monkeypatch):
    """A Series of several chunks (a parquet file's row groups) is handed to the kernels chunk
    by chunk, never copied into one array (Series.to_arrow of several chunks copies), and its
    summary, histograms, range counts and bin edges are those of the same Series in one chunk,
    bit for bit."""
    from mlcontract.engines import columns

    rng = np.random.default_rng(8)
    values = rng.normal(5.0, 3.0, 50_000)
    values[rng.random(values.size) < 0.02] = np.nan
    values[:2] = np.inf
    valid = (rng.random(values.size) > 0.1).tolist()
    whole = pl.Series("x", [v if keep else None for v, keep in zip(values.tolist(), valid)], dtype=pl.Float64)
    cuts = [0, 1, 4_000, 4_096, 9_999, 30_000, 50_000]
    pieces = pl.concat([whole.slice(a, b - a) for a, b in zip(cuts[:-1], cuts[1:])], rechunk=False)
    assert pieces.n_chunks() == 6 and whole.n_chunks() == 1
    copied = []
    to_arrow = pl.Series.to_arrow

    def recording(series, *args, **kwargs):
        copied.append(series.n_chunks())
        return to_arrow(series, *args, **kwargs)

    monkeypatch.setattr(pl.Series, "to_arrow", recording)
    edges = [np.array([0.0, 2.5, 5.0, 7.5, 10.0])]
    ranges = [(0.0, 10.0)]
    ours, theirs = columns.fused_pass(pieces, edges, ranges), columns.fused_pass(whole, edges, ranges)
    assert set(copied) <= {1}  # no to_arrow() of several chunks: no copy
    assert len(list(columns.numeric_chunks(pieces))) == 6  # the kernels were handed the chunks as they are
    assert_bit_identical(ours[0], theirs[0])
    assert_bit_identical(columns.summarize(pieces), theirs[0])
    np.testing.assert_array_equal(ours[1][0], theirs[1][0])
    assert ours[2] == theirs[2]
    assert columns.bucket_range(pieces) == columns.bucket_range(whole)
    np.testing.assert_array_equal(columns.quantile_edges(pieces, 10, ours[0]), columns.quantile_edges(whole, 10, theirs[0]))


def _every_kernel(values, validity=None, offset=0):
    """What each loop with an AVX2 twin computes on `values`, as JSON text: the summary, a
    fused scan's histograms (7 and 16 edges: one and three sweeps), range count and bucket
    counts, and the gather of the buckets that hold a few ranks."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    scale = 64 / (hi - lo) if hi > lo and np.isfinite(64 / (hi - lo)) else 1.0
    edges = [np.linspace(lo, hi, 7), np.linspace(lo, hi, 16)] if hi > lo else [np.array([lo])]
    counts = np.zeros(64, dtype=np.int64)
    summary, hists, outside = K.scan_numeric(values, validity, offset, edges, [(lo + 1e-3, hi - 1e-3)],
                                             buckets=(lo, scale, counts))
    slot = np.full(64, -1, dtype=np.int32)
    slot[[0, 17, 40, 63]] = np.arange(4, dtype=np.int32)
    start = np.concatenate([[0], np.cumsum(counts[[0, 17, 40, 63]])])
    out, fill = np.empty(int(start[-1])), start[:-1].copy()
    K.gather_buckets(values, lo, scale, slot, out, fill, start[1:].copy(), validity, offset)
    gathered = [sorted(out[start[k]:start[k + 1]].tolist()) for k in range(4)]
    return json.dumps([summary.to_dict(), [h.tolist() for h in hists], list(outside), counts.tolist(), gathered])


def _simd_cases():
    rng = np.random.default_rng(2026)
    cases = {}
    for n in (1, 3, 4, 5, 7, 8, 9, 4095, 4096, 4097, 10_007):
        x = rng.normal(3.0, 2.0, n)
        cases[f"dense-{n}"] = x
        y = x.copy()
        y[rng.random(n) < 0.05] = np.nan
        cases[f"nan-{n}"] = y
        z = y.copy()
        z[rng.integers(0, n, max(1, n // 100))] = rng.choice([np.inf, -np.inf])
        cases[f"inf-{n}"] = z
    cases["huge"] = rng.normal(0.0, 1.0, 9000) * 1e300
    cases["mean-dwarfs-spread"] = 1e9 + rng.normal(0.0, 1.0, 9000)
    cases["tiny"] = rng.normal(0.0, 1.0, 9000) * 1e-300
    cases["constant"] = np.full(9000, 0.1)
    cases["signed-zeros"] = np.where(rng.random(9000) < 0.5, -0.0, 0.0)
    cases["lognormal"] = rng.lognormal(0.0, 3.0, 9000)
    cases["float32"] = rng.normal(3.0, 2.0, 9000).astype(np.float32)
    return cases


@pytest.mark.skipif(SIMD_LEVELS == ["sse2"], reason="this CPU has no AVX2: only the SSE2 loops run")
@pytest.mark.parametrize("case", list(_simd_cases()))
def test_the_avx2_and_sse2_loops_agree_bit_for_bit(case, simd_level):
    """The AVX2 twins keep the SSE2 loops' lanes and order (kernels.h): every summary, count and
    gathered value is the same bit for bit, with and without nulls. (Runs once per level; each
    run compares both.)"""
    values = _simd_cases()[case]
    mask = np.random.default_rng(1).random(len(values)) > 0.2
    results = {}
    for level in ("sse2", "avx2"):
        K.simd(level)
        results[level] = (_every_kernel(values), _every_kernel(values, bitmap(mask, 5), 5))
    assert results["avx2"] == results["sse2"]


def test_simd_levels_are_checked():
    with pytest.raises(ValueError, match="avx2"):
        K.simd("avx512")
