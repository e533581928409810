# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Fused per-column kernels: one pass over NumPy views of Arrow buffers, without the GIL.

Conventions shared by every kernel that takes ``values``:

* ``values`` is a 1-D ``numpy.ndarray`` of float64, float32, int64, int32, int16, int8, uint64,
  uint32, uint16 or uint8. Arithmetic is done in float64. Read-only arrays (e.g.
  ``np.frombuffer`` over an Arrow buffer) are accepted; a non-contiguous array is copied.
* Nulls come as an Arrow validity bitmap: ``validity`` is a uint8 array or any object exposing
  a byte buffer (``pyarrow.Buffer``), or None when every element is valid. Element ``i`` is
  valid iff bit ``offset + i`` is set, bits in LSB order. ``values`` itself is *not* shifted by
  ``offset``: it already starts at element 0.
* A null element is skipped everywhere except in null counts. NaN is counted as a NaN and is not
  a value. +inf and -inf are counted on their own and stay out of count, min, max, mean, m2 and
  histograms; ``count_outside`` does count them.

Each public function validates its arguments in Python, then calls a fused ``def`` that picks
the dtype specialisation and runs a ``cdef inline ... nogil`` loop with the GIL released.
"""
from libc.math cimport INFINITY, NAN, fabs, sqrt
from libc.stdint cimport (
    int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t,
)

import operator

import numpy as np

ctypedef fused numeric_t:
    double
    float
    int64_t
    int32_t
    int16_t
    int8_t
    uint64_t
    uint32_t
    uint16_t
    uint8_t

ctypedef fused code_t:
    int64_t
    int32_t
    int16_t
    int8_t
    uint64_t
    uint32_t
    uint16_t
    uint8_t

cdef enum:
    # A block of float64 is 32 KiB: the second (deviation) pass re-reads it from L1/L2, so
    # summarize streams the column from memory once while still computing two-pass moments.
    _BLOCK = 4096
    _MAX_LEVELS = 64

_VALUE_DTYPES = "float64, float32, int64, int32, int16, int8, uint64, uint32, uint16, uint8"
_CODE_DTYPES = "int64, int32, int16, int8, uint64, uint32, uint16, uint8"


# --------------------------------------------------------------------------------------------
# Argument checking (Python side; the loops below trust what it hands them)
# --------------------------------------------------------------------------------------------

cdef object _check_values(object values, str name, bint codes=False):
    if not isinstance(values, np.ndarray):
        raise TypeError(
            f"{name} must be a 1-D numpy.ndarray, got {type(values).__name__}"
        )
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {values.shape}")
    dt = values.dtype
    if codes:
        ok = dt.kind in "iu" and dt.itemsize in (1, 2, 4, 8)
        allowed = _CODE_DTYPES
    else:
        ok = (dt.kind in "iu" and dt.itemsize in (1, 2, 4, 8)) or (
            dt.kind == "f" and dt.itemsize in (4, 8)
        )
        allowed = _VALUE_DTYPES
    if not ok:
        raise TypeError(f"{name} must have dtype {allowed}; got {dt}")
    if not dt.isnative:
        values = values.astype(dt.newbyteorder("="))
    return np.ascontiguousarray(values)


cdef object _check_validity(object validity, Py_ssize_t offset, Py_ssize_t n):
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    if validity is None:
        return None
    if isinstance(validity, np.ndarray):
        if validity.dtype != np.uint8:
            raise TypeError(
                f"validity must be a uint8 Arrow bitmap (bit i = element i is valid), "
                f"got dtype {validity.dtype}"
            )
        if validity.ndim != 1:
            raise ValueError(f"validity must be 1-D, got an array of shape {validity.shape}")
        bits = np.ascontiguousarray(validity)
    else:
        try:
            bits = np.frombuffer(validity, dtype=np.uint8)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                "validity must be None, a uint8 numpy array or a byte buffer "
                f"(e.g. pyarrow.Buffer), got {type(validity).__name__}"
            ) from exc
    needed = (offset + n + 7) // 8
    if bits.shape[0] < needed:
        raise ValueError(
            f"validity bitmap has {bits.shape[0]} bytes but offset {offset} + {n} elements "
            f"need {needed}"
        )
    return bits


cdef object _check_edges(object edges):
    e = np.ascontiguousarray(edges, dtype=np.float64)
    if e.ndim != 1:
        raise ValueError(f"edges must be 1-D, got an array of shape {e.shape}")
    cdef const double[::1] ev = e
    cdef Py_ssize_t k
    for k in range(1, ev.shape[0]):
        if not (ev[k - 1] < ev[k]):  # also rejects NaN
            raise ValueError(
                f"edges must be strictly increasing; edges[{k - 1}]={ev[k - 1]!r}, "
                f"edges[{k}]={ev[k]!r}"
            )
    if ev.shape[0] == 1 and ev[0] != ev[0]:
        raise ValueError("edges must not contain NaN")
    return e


cdef object _check_sorted_input(object values, str name):
    if not isinstance(values, np.ndarray):
        raise TypeError(f"{name} must be a 1-D numpy.ndarray, got {type(values).__name__}")
    if values.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {values.shape}")
    if values.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real numeric array, got dtype {values.dtype}")
    return np.ascontiguousarray(values, dtype=np.float64)


cdef inline const uint8_t* _bits_ptr(const uint8_t[::1] validity) noexcept:
    if validity is None or validity.shape[0] == 0:
        return NULL
    return &validity[0]


# --------------------------------------------------------------------------------------------
# Bitmap helpers
# --------------------------------------------------------------------------------------------

cdef inline bint _bit(const uint8_t* vp, Py_ssize_t k) noexcept nogil:
    return (vp[k >> 3] >> (k & 7)) & 1


cdef inline bint _all_valid(const uint8_t* vp, Py_ssize_t b, Py_ssize_t end) noexcept nogil:
    """True iff bits [b, end) are all set; whole bytes are compared at once."""
    while b < end and (b & 7) != 0:
        if not _bit(vp, b):
            return False
        b += 1
    while b + 8 <= end:
        if vp[b >> 3] != 0xFF:
            return False
        b += 8
    while b < end:
        if not _bit(vp, b):
            return False
        b += 1
    return True


# --------------------------------------------------------------------------------------------
# Moments
# --------------------------------------------------------------------------------------------

cdef struct _Moments:
    int64_t rows
    int64_t nulls
    int64_t nans
    int64_t pos_inf
    int64_t neg_inf
    int64_t count
    double min
    double max
    double mean
    double mean_lo  # the rounding error of mean (mean + mean_lo is closer); see _merge_moments
    double m2


cdef inline void _two_sum(double a, double b, double* hi, double* lo) noexcept nogil:
    """hi + lo == a + b exactly, hi = fl(a + b) (Knuth's TwoSum)."""
    cdef double s = a + b
    cdef double bb = s - a
    hi[0] = s
    lo[0] = (a - (s - bb)) + (b - bb)


cdef inline void _moments_empty(_Moments* m) noexcept nogil:
    m.rows = 0
    m.nulls = 0
    m.nans = 0
    m.pos_inf = 0
    m.neg_inf = 0
    m.count = 0
    m.min = NAN
    m.max = NAN
    m.mean = NAN
    m.mean_lo = 0.0
    m.m2 = 0.0


cdef inline void _merge_moments(_Moments* a, const _Moments* b) noexcept nogil:
    """a <- a + b by Chan, Golub & LeVeque's pairwise update (exact for counts, min, max).

    The mean is carried as a double-double: a mean rounded to one double is off by up to half
    an ulp of |mean| (6e-8 at 1e9), and that error enters m2 through delta**2 * na*nb/n, which
    costs ~1e-10 relative variance on data like 1e9 + N(0, 1). With the low part, delta is
    accurate to the rounding of delta itself.
    """
    cdef int64_t n
    cdef double delta, hi, lo
    a.rows += b.rows
    a.nulls += b.nulls
    a.nans += b.nans
    a.pos_inf += b.pos_inf
    a.neg_inf += b.neg_inf
    if b.count == 0:
        return
    if a.count == 0:
        a.count = b.count
        a.min = b.min
        a.max = b.max
        a.mean = b.mean
        a.mean_lo = b.mean_lo
        a.m2 = b.m2
        return
    n = a.count + b.count
    delta = (b.mean - a.mean) + (b.mean_lo - a.mean_lo)
    _two_sum(a.mean, delta * (<double>b.count / <double>n), &hi, &lo)
    _two_sum(hi, lo + a.mean_lo, &a.mean, &a.mean_lo)
    a.m2 = a.m2 + b.m2 + delta * delta * (<double>a.count * <double>b.count / <double>n)
    if b.min < a.min:
        a.min = b.min
    if b.max > a.max:
        a.max = b.max
    a.count = n


cdef inline void _finish_block(_Moments* m, double lo, double hi, double approx,
                               double sd, double sq) noexcept nogil:
    """Corrected two-pass result: sd and sq are sums of (x - approx) and (x - approx)**2.

    Adding sd/count to the provisional mean removes its rounding error, and subtracting
    sd**2/count removes that error's first-order effect on m2 (Chan, Golub & LeVeque 1983).
    """
    cdef double n = <double>m.count
    cdef double m2 = sq - sd * sd / n
    _two_sum(approx, sd / n, &m.mean, &m.mean_lo)
    if m.mean < lo or m.mean > hi:  # only reachable through rounding on near-constant data
        m.mean = lo if m.mean < lo else hi
        m.mean_lo = 0.0
    m.min = lo
    m.max = hi
    m.m2 = m2 if m2 > 0.0 else 0.0


cdef extern from *:
    """
    #if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
    #include <emmintrin.h>
    #define MLC_SSE2 1
    #else
    #define MLC_SSE2 0
    #endif

    /* Sum, min and max of v[0:n]. GCC does not vectorize a floating-point min/max without
       -ffinite-math-only (x < m ? x : m is not commutative under NaN), so the float64 path,
       the common one, spells out SSE2 (x86-64 baseline). MINPD/MAXPD treat NaN like the
       scalar ternary: the result is only used when the sum shows there was no NaN. */
    static inline double mlc_sum_min_max_f64(const double *v, Py_ssize_t n,
                                             double *lo_out, double *hi_out) {
        Py_ssize_t i = 0;
        double s, lo, hi, x;
    #if MLC_SSE2
        __m128d s0 = _mm_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
        __m128d l0 = _mm_set1_pd(HUGE_VAL), l1 = l0, l2 = l0, l3 = l0;
        __m128d h0 = _mm_set1_pd(-HUGE_VAL), h1 = h0, h2 = h0, h3 = h0;
        double ts[2], tl[2], th[2];
        for (; i + 8 <= n; i += 8) {
            __m128d x0 = _mm_loadu_pd(v + i), x1 = _mm_loadu_pd(v + i + 2);
            __m128d x2 = _mm_loadu_pd(v + i + 4), x3 = _mm_loadu_pd(v + i + 6);
            s0 = _mm_add_pd(s0, x0); s1 = _mm_add_pd(s1, x1);
            s2 = _mm_add_pd(s2, x2); s3 = _mm_add_pd(s3, x3);
            l0 = _mm_min_pd(x0, l0); l1 = _mm_min_pd(x1, l1);
            l2 = _mm_min_pd(x2, l2); l3 = _mm_min_pd(x3, l3);
            h0 = _mm_max_pd(x0, h0); h1 = _mm_max_pd(x1, h1);
            h2 = _mm_max_pd(x2, h2); h3 = _mm_max_pd(x3, h3);
        }
        _mm_storeu_pd(ts, _mm_add_pd(_mm_add_pd(s0, s1), _mm_add_pd(s2, s3)));
        _mm_storeu_pd(tl, _mm_min_pd(_mm_min_pd(l0, l1), _mm_min_pd(l2, l3)));
        _mm_storeu_pd(th, _mm_max_pd(_mm_max_pd(h0, h1), _mm_max_pd(h2, h3)));
        s = ts[0] + ts[1];
        lo = tl[0] < tl[1] ? tl[0] : tl[1];
        hi = th[0] > th[1] ? th[0] : th[1];
    #else
        s = 0.0; lo = HUGE_VAL; hi = -HUGE_VAL;
    #endif
        for (; i < n; i++) {
            x = v[i];
            s += x;
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
        *lo_out = lo;
        *hi_out = hi;
        return s;
    }
    """
    double mlc_sum_min_max_f64(const double* v, Py_ssize_t n, double* lo, double* hi) noexcept nogil


cdef inline double _sum_min_max(const numeric_t* v, Py_ssize_t n,
                                double* lo_out, double* hi_out) noexcept nogil:
    """Sum, min and max of v[0:n] in double; four accumulators keep the adds and compares off
    one dependency chain."""
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef double lo0 = INFINITY, lo1 = INFINITY, lo2 = INFINITY, lo3 = INFINITY
    cdef double hi0 = -INFINITY, hi1 = -INFINITY, hi2 = -INFINITY, hi3 = -INFINITY
    cdef double x0, x1, x2, x3
    cdef Py_ssize_t i = 0
    if numeric_t is double:
        return mlc_sum_min_max_f64(v, n, lo_out, hi_out)
    while i + 4 <= n:
        x0 = <double>v[i]
        x1 = <double>v[i + 1]
        x2 = <double>v[i + 2]
        x3 = <double>v[i + 3]
        s0 += x0
        s1 += x1
        s2 += x2
        s3 += x3
        lo0 = x0 if x0 < lo0 else lo0
        lo1 = x1 if x1 < lo1 else lo1
        lo2 = x2 if x2 < lo2 else lo2
        lo3 = x3 if x3 < lo3 else lo3
        hi0 = x0 if x0 > hi0 else hi0
        hi1 = x1 if x1 > hi1 else hi1
        hi2 = x2 if x2 > hi2 else hi2
        hi3 = x3 if x3 > hi3 else hi3
        i += 4
    while i < n:
        x0 = <double>v[i]
        s0 += x0
        lo0 = x0 if x0 < lo0 else lo0
        hi0 = x0 if x0 > hi0 else hi0
        i += 1
    lo0 = lo0 if lo0 < lo1 else lo1
    lo2 = lo2 if lo2 < lo3 else lo3
    hi0 = hi0 if hi0 > hi1 else hi1
    hi2 = hi2 if hi2 > hi3 else hi3
    lo_out[0] = lo0 if lo0 < lo2 else lo2
    hi_out[0] = hi0 if hi0 > hi2 else hi2
    return (s0 + s1) + (s2 + s3)


cdef inline void _deviation_sums(const numeric_t* v, Py_ssize_t n, double c,
                                 double* sd_out, double* sq_out) noexcept nogil:
    """sd = sum(x - c), sq = sum((x - c)**2). Eight independent lanes, which GCC turns into
    packed SSE2 arithmetic (there is no reassociation for it to refuse)."""
    cdef double sd[8]
    cdef double sq[8]
    cdef double d
    cdef Py_ssize_t i = 0
    cdef int j
    for j in range(8):
        sd[j] = 0.0
        sq[j] = 0.0
    while i + 8 <= n:
        for j in range(8):
            d = <double>v[i + j] - c
            sd[j] += d
            sq[j] += d * d
        i += 8
    while i < n:
        d = <double>v[i] - c
        sd[0] += d
        sq[0] += d * d
        i += 1
    sd_out[0] = ((sd[0] + sd[1]) + (sd[2] + sd[3])) + ((sd[4] + sd[5]) + (sd[6] + sd[7]))
    sq_out[0] = ((sq[0] + sq[1]) + (sq[2] + sq[3])) + ((sq[4] + sq[5]) + (sq[6] + sq[7]))


cdef inline bint _block_dense(const numeric_t* v, Py_ssize_t n, _Moments* m) noexcept nogil:
    """Moments of a block with no nulls; returns False (m untouched) if a value is not finite.

    A sum over IEEE doubles stays finite only if every term is finite, so one check at the end
    replaces a per-element classification; blocks that fail it are redone by _block_sparse.
    """
    cdef double lo, hi, approx, sd, sq
    cdef double s = _sum_min_max(v, n, &lo, &hi)
    if not (s - s == 0.0):
        return False
    m.rows = n
    m.nulls = 0
    m.nans = 0
    m.pos_inf = 0
    m.neg_inf = 0
    m.count = n
    if lo == hi:
        # A constant block has mean lo and m2 0 exactly; skip the second pass.
        _finish_block(m, lo, hi, lo, 0.0, 0.0)
        return True
    approx = s / <double>n
    _deviation_sums(v, n, approx, &sd, &sq)
    _finish_block(m, lo, hi, approx, sd, sq)
    return True


cdef inline void _block_sparse(const numeric_t* v, Py_ssize_t n, const uint8_t* vp,
                               Py_ssize_t bit0, _Moments* m) noexcept nogil:
    """Moments of a block that has nulls (vp != NULL) or non-finite values."""
    cdef Py_ssize_t i
    cdef int64_t count = 0, nulls = 0, nans = 0, pinf = 0, ninf = 0
    cdef double s = 0.0, lo = INFINITY, hi = -INFINITY, x, d, approx, sd = 0.0, sq = 0.0
    for i in range(n):
        if vp != NULL and not _bit(vp, bit0 + i):
            nulls += 1
            continue
        x = <double>v[i]
        if x - x == 0.0:
            count += 1
            s += x
            lo = x if x < lo else lo
            hi = x if x > hi else hi
        elif x != x:
            nans += 1
        elif x > 0.0:
            pinf += 1
        else:
            ninf += 1
    _moments_empty(m)
    m.rows = n
    m.nulls = nulls
    m.nans = nans
    m.pos_inf = pinf
    m.neg_inf = ninf
    m.count = count
    if count == 0:
        return
    if lo == hi:
        _finish_block(m, lo, hi, lo, 0.0, 0.0)
        return
    approx = s / <double>count
    for i in range(n):
        if vp != NULL and not _bit(vp, bit0 + i):
            continue
        x = <double>v[i]
        if x - x == 0.0:
            d = x - approx
            sd += d
            sq += d * d
    _finish_block(m, lo, hi, approx, sd, sq)


cdef void _summarize_loop(const numeric_t* v, Py_ssize_t n, const uint8_t* vp,
                          Py_ssize_t offset, _Moments* out) noexcept nogil:
    """Block states are combined as a balanced binary tree (a binary counter of levels), so
    rounding in the Chan updates grows with log(#blocks) rather than #blocks."""
    cdef _Moments stack[_MAX_LEVELS]
    cdef int level[_MAX_LEVELS]
    cdef int top = 0
    cdef int k
    cdef Py_ssize_t start = 0, length
    _moments_empty(out)
    while start < n:
        length = n - start
        if length > _BLOCK:
            length = _BLOCK
        if not ((vp == NULL or _all_valid(vp, offset + start, offset + start + length))
                and _block_dense(v + start, length, &stack[top])):
            _block_sparse(v + start, length, vp, offset + start, &stack[top])
        level[top] = 0
        top += 1
        while top >= 2 and level[top - 1] == level[top - 2]:
            _merge_moments(&stack[top - 2], &stack[top - 1])
            level[top - 2] += 1
            top -= 1
        start += length
    if top == 0:
        return
    out[0] = stack[top - 1]
    for k in range(top - 2, -1, -1):
        _merge_moments(&stack[k], out)
        out[0] = stack[k]


# --------------------------------------------------------------------------------------------
# NumericSummary
# --------------------------------------------------------------------------------------------

_INT_FIELDS = ("rows", "nulls", "nans", "pos_inf", "neg_inf", "count")
_FLOAT_FIELDS = ("min", "max", "mean", "mean_lo", "m2")
_FIELDS = _INT_FIELDS + _FLOAT_FIELDS


def _rebuild_summary(*state):
    """Unpickle helper: the state tuple is the fields in ``NumericSummary.to_dict`` order."""
    return NumericSummary(**dict(zip(_FIELDS, state)))


cdef class NumericSummary:
    """Mergeable one-pass summary of a numeric column.

    ``rows`` counts every element seen, ``nulls``/``nans``/``pos_inf``/``neg_inf`` count those
    kinds, and ``count`` the finite values (so the five add up to ``rows``). ``min``, ``max``,
    ``mean`` and ``m2`` (the sum of squared deviations from the mean) are over finite values
    only; with ``count == 0`` min, max and mean are NaN and m2 is 0.0.

    ``mean_lo`` is the rounding error of ``mean`` (a double-double mean). It is kept so that
    merging summaries, also after a JSON round trip, is as accurate as one pass: without it
    Chan's update loses ~1e-10 relative variance on data like 1e9 + N(0, 1).
    """
    cdef _Moments _m

    def __init__(self, *, rows=0, nulls=0, nans=0, pos_inf=0, neg_inf=0, count=0,
                 min=NAN, max=NAN, mean=NAN, mean_lo=0.0, m2=0.0):
        cdef int64_t r = operator.index(rows), nu = operator.index(nulls)
        cdef int64_t na = operator.index(nans), pi = operator.index(pos_inf)
        cdef int64_t ni = operator.index(neg_inf), c = operator.index(count)
        cdef double lo = float(min), hi = float(max), mu = float(mean), q = float(m2)
        cdef double mu_lo = float(mean_lo)
        if nu < 0 or na < 0 or pi < 0 or ni < 0 or c < 0:
            raise ValueError("NumericSummary counts must be >= 0")
        if r != nu + na + pi + ni + c:
            raise ValueError(
                f"NumericSummary rows ({r}) must equal nulls + nans + pos_inf + neg_inf + count "
                f"({nu + na + pi + ni + c})"
            )
        if not q >= 0.0:
            raise ValueError(f"NumericSummary m2 must be >= 0, got {q!r}")
        if c > 0 and not (lo <= mu <= hi):
            raise ValueError(
                f"NumericSummary needs min <= mean <= max when count > 0, got "
                f"min={lo!r}, mean={mu!r}, max={hi!r}"
            )
        self._m.rows = r
        self._m.nulls = nu
        self._m.nans = na
        self._m.pos_inf = pi
        self._m.neg_inf = ni
        self._m.count = c
        self._m.min = lo
        self._m.max = hi
        self._m.mean = mu
        self._m.mean_lo = mu_lo if c > 0 else 0.0
        self._m.m2 = q

    @staticmethod
    cdef NumericSummary _wrap(_Moments m):
        cdef NumericSummary s = NumericSummary.__new__(NumericSummary)
        s._m = m
        return s

    @classmethod
    def empty(cls):
        """The summary of zero rows: the identity of ``merge``."""
        cdef _Moments m
        _moments_empty(&m)
        return NumericSummary._wrap(m)

    @property
    def rows(self):
        return self._m.rows

    @property
    def nulls(self):
        return self._m.nulls

    @property
    def nans(self):
        return self._m.nans

    @property
    def pos_inf(self):
        return self._m.pos_inf

    @property
    def neg_inf(self):
        return self._m.neg_inf

    @property
    def count(self):
        return self._m.count

    @property
    def min(self):
        return self._m.min

    @property
    def max(self):
        return self._m.max

    @property
    def mean(self):
        return self._m.mean

    @property
    def mean_lo(self):
        return self._m.mean_lo

    @property
    def m2(self):
        return self._m.m2

    def merge(self, NumericSummary other not None):
        """A new summary of the union of both inputs' rows (Chan et al. parallel update)."""
        cdef _Moments m = self._m
        _merge_moments(&m, &other._m)
        return NumericSummary._wrap(m)

    def variance(self, ddof=1):
        """``m2 / (count - ddof)``; NaN when ``count - ddof <= 0``."""
        cdef double dof = <double>self._m.count - float(ddof)
        if dof <= 0.0:
            return NAN
        return self._m.m2 / dof

    def std(self, ddof=1):
        """``sqrt(variance(ddof))``."""
        return sqrt(self.variance(ddof))

    def to_dict(self):
        """Plain ints and floats keyed by field name; ``from_dict`` restores it exactly."""
        return {
            "rows": self._m.rows,
            "nulls": self._m.nulls,
            "nans": self._m.nans,
            "pos_inf": self._m.pos_inf,
            "neg_inf": self._m.neg_inf,
            "count": self._m.count,
            "min": self._m.min,
            "max": self._m.max,
            "mean": self._m.mean,
            "mean_lo": self._m.mean_lo,
            "m2": self._m.m2,
        }

    @classmethod
    def from_dict(cls, d):
        """Inverse of ``to_dict``. Every field but ``mean_lo`` (default 0.0) is required and
        unknown keys are rejected, so a profile from another format version fails loudly."""
        missing = [k for k in _FIELDS if k not in d and k != "mean_lo"]
        extra = sorted(k for k in d if k not in _FIELDS)
        if missing or extra:
            raise ValueError(
                f"NumericSummary.from_dict: missing fields {missing}, unknown fields {extra}"
            )
        return cls(**{k: d[k] for k in _FIELDS if k in d})

    def __reduce__(self):
        return (_rebuild_summary, tuple(self.to_dict().values()))

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"NumericSummary({fields})"


def _summarize_typed(const numeric_t[::1] values, const uint8_t[::1] validity,
                     Py_ssize_t offset):
    cdef _Moments m
    cdef const uint8_t* vp = _bits_ptr(validity)
    cdef Py_ssize_t n = values.shape[0]
    if n == 0:
        _moments_empty(&m)
        return NumericSummary._wrap(m)
    with nogil:
        _summarize_loop(&values[0], n, vp, offset, &m)
    return NumericSummary._wrap(m)


def summarize(values, validity=None, Py_ssize_t offset=0):
    """Summarize a numeric column in one pass: a :class:`NumericSummary`.

    Counts rows, nulls (per ``validity``/``offset``), NaNs and +-inf, and computes count, min,
    max, mean and m2 of the finite values. Moments are exact two-pass moments per 4096-element
    block, combined with Chan's update.
    """
    arr = _check_values(values, "values")
    bits = _check_validity(validity, offset, arr.shape[0])
    return _summarize_typed(arr, bits, offset)


# --------------------------------------------------------------------------------------------
# Histogram on given edges
# --------------------------------------------------------------------------------------------

cdef inline Py_ssize_t _count_le(const double* e, Py_ssize_t m, double x) noexcept nogil:
    """Number of e[k] <= x for ascending e, m >= 1 (np.searchsorted(e, x, side="right")).

    Branch-free: the halving step compiles to a conditional move, so the time per element
    does not depend on how predictable the data are.
    """
    cdef const double* base = e
    cdef Py_ssize_t half
    while m > 1:
        half = m >> 1
        base = base + half if base[half] <= x else base
        m -= half
    return (base - e) + (base[0] <= x)


cdef inline Py_ssize_t _count_lt(const double* v, Py_ssize_t n, double key) noexcept nogil:
    """Number of v[k] < key for ascending v (np.searchsorted(v, key, side="left")).

    Trailing NaNs (where np.sort puts them) compare as not-less, so they are never counted.
    """
    cdef const double* base = v
    cdef Py_ssize_t half
    if n == 0:
        return 0
    while n > 1:
        half = n >> 1
        base = base + half if base[half] < key else base
        n -= half
    return (base - v) + (base[0] < key)


cdef inline Py_ssize_t _count_le_sorted(const double* v, Py_ssize_t n, double key) noexcept nogil:
    cdef const double* base = v
    cdef Py_ssize_t half
    if n == 0:
        return 0
    while n > 1:
        half = n >> 1
        base = base + half if base[half] <= key else base
        n -= half
    return (base - v) + (base[0] <= key)


cdef inline Py_ssize_t _count_le_linear(const double* e, Py_ssize_t m, double x) noexcept nogil:
    cdef Py_ssize_t k, c = 0
    for k in range(m):
        c += e[k] <= x
    return c


cdef enum:
    # Below this many edges a linear count of comparisons beats the binary search (measured).
    _LINEAR_EDGES = 0


cdef void _histogram_loop(const numeric_t* v, Py_ssize_t n, const uint8_t* vp,
                          Py_ssize_t offset, const double* e, Py_ssize_t m,
                          int64_t* counts) noexcept nogil:
    cdef Py_ssize_t i
    cdef double x
    if m == 0:
        for i in range(n):
            x = <double>v[i]
            if (vp == NULL or _bit(vp, offset + i)) and x - x == 0.0:
                counts[0] += 1
        return
    if vp == NULL:
        for i in range(n):
            x = <double>v[i]
            if x - x == 0.0:
                counts[_count_le(e, m, x)] += 1
    else:
        for i in range(n):
            x = <double>v[i]
            if _bit(vp, offset + i) and x - x == 0.0:
                counts[_count_le(e, m, x)] += 1


def _histogram_typed(const numeric_t[::1] values, const uint8_t[::1] validity,
                     Py_ssize_t offset, const double[::1] edges, int64_t[::1] counts):
    cdef const uint8_t* vp = _bits_ptr(validity)
    cdef Py_ssize_t n = values.shape[0], m = edges.shape[0]
    if n == 0:
        return
    with nogil:
        _histogram_loop(&values[0], n, vp, offset, &edges[0] if m > 0 else NULL, m, &counts[0])


def histogram(values, edges, validity=None, Py_ssize_t offset=0):
    """Counts of valid finite values per bin: an int64 array of length ``len(edges) + 1``.

    Value x goes to bin ``np.searchsorted(edges, x, side="right")``, i.e. the bins are
    (-inf, e0), [e0, e1), ..., [e_last, +inf). ``edges`` must be strictly increasing (it is
    converted to float64); empty edges give a single bin. Nulls, NaN and +-inf are not counted.
    """
    arr = _check_values(values, "values")
    e = _check_edges(edges)
    bits = _check_validity(validity, offset, arr.shape[0])
    counts = np.zeros(e.shape[0] + 1, dtype=np.int64)
    _histogram_typed(arr, bits, offset, e, counts)
    return counts


def _searchsorted_counts_impl(const double[::1] v, const double[::1] edges,
                              int64_t[::1] counts):
    cdef Py_ssize_t n = v.shape[0], m = edges.shape[0], lo, hi, k, pos, prev
    cdef const double* p
    if n == 0:
        return
    p = &v[0]
    with nogil:
        # Only finite values count, as in histogram: skip leading -inf and trailing +inf/NaN.
        lo = _count_le_sorted(p, n, -INFINITY)
        hi = _count_lt(p, n, INFINITY)
        if hi < lo:
            hi = lo
        prev = lo
        for k in range(m):
            pos = lo + _count_lt(p + lo, hi - lo, edges[k])
            counts[k] = pos - prev
            prev = pos
        counts[m] = hi - prev


def searchsorted_counts(sorted_values, edges):
    """``histogram(sorted_values, edges)`` for an ascending array, by one binary search per edge.

    Runs in O(len(edges) * log(n)). Only the finite values are counted; leading -inf and trailing
    +inf/NaN (where ``np.sort`` puts them) are skipped. The array is not checked for order
    beyond its first and last finite element, so it must really be sorted.
    """
    v = _check_sorted_input(sorted_values, "sorted_values")
    e = _check_edges(edges)
    cdef const double[::1] vv = v
    cdef Py_ssize_t n = vv.shape[0]
    if n >= 2 and vv[0] > vv[n - 1]:
        raise ValueError("sorted_values must be in ascending order")
    counts = np.zeros(e.shape[0] + 1, dtype=np.int64)
    _searchsorted_counts_impl(v, e, counts)
    return counts


# --------------------------------------------------------------------------------------------
# Range check
# --------------------------------------------------------------------------------------------

cdef int64_t _count_outside_loop(const numeric_t* v, Py_ssize_t n, const uint8_t* vp,
                                 Py_ssize_t offset, double lo, double hi) noexcept nogil:
    # Comparisons with NaN are false, so NaN drops out without a separate test.
    cdef Py_ssize_t i
    cdef double x
    cdef int64_t c = 0
    if vp == NULL:
        for i in range(n):
            x = <double>v[i]
            c += (x < lo) | (x > hi)
    else:
        for i in range(n):
            x = <double>v[i]
            c += ((x < lo) | (x > hi)) & _bit(vp, offset + i)
    return c


def _count_outside_typed(const numeric_t[::1] values, const uint8_t[::1] validity,
                         Py_ssize_t offset, double lo, double hi):
    cdef const uint8_t* vp = _bits_ptr(validity)
    cdef Py_ssize_t n = values.shape[0]
    cdef int64_t c = 0
    if n == 0:
        return 0
    with nogil:
        c = _count_outside_loop(&values[0], n, vp, offset, lo, hi)
    return c


def count_outside(values, double lo, double hi, validity=None, Py_ssize_t offset=0):
    """Number of valid, non-NaN values x with ``x < lo`` or ``x > hi`` (+-inf included)."""
    if lo != lo or hi != hi:
        raise ValueError(f"count_outside bounds must not be NaN, got lo={lo!r}, hi={hi!r}")
    arr = _check_values(values, "values")
    bits = _check_validity(validity, offset, arr.shape[0])
    return _count_outside_typed(arr, bits, offset, lo, hi)


# --------------------------------------------------------------------------------------------
# Dictionary-code counts
# --------------------------------------------------------------------------------------------

cdef Py_ssize_t _code_counts_loop(const code_t* c, Py_ssize_t n, const uint8_t* vp,
                                  Py_ssize_t offset, uint64_t ncat, int64_t* counts,
                                  int64_t* nulls) noexcept nogil:
    """Returns the index of the first out-of-range valid code, or -1.

    Casting to uint64 maps negative codes above every valid one, so one compare checks both
    ends. Codes under null slots are arbitrary in Arrow and are not looked at.
    """
    cdef Py_ssize_t i
    cdef uint64_t k
    cdef int64_t nn = 0
    if vp == NULL:
        for i in range(n):
            k = <uint64_t>c[i]
            if k >= ncat:
                return i
            counts[k] += 1
    else:
        for i in range(n):
            if not _bit(vp, offset + i):
                nn += 1
                continue
            k = <uint64_t>c[i]
            if k >= ncat:
                return i
            counts[k] += 1
    nulls[0] = nn
    return -1


def _code_counts_typed(const code_t[::1] codes, const uint8_t[::1] validity, Py_ssize_t offset,
                       int64_t[::1] counts):
    cdef const uint8_t* vp = _bits_ptr(validity)
    cdef Py_ssize_t n = codes.shape[0], bad = -1
    cdef uint64_t ncat = <uint64_t>counts.shape[0]
    cdef int64_t nulls = 0
    if n == 0:
        return 0
    with nogil:
        bad = _code_counts_loop(&codes[0], n, vp, offset, ncat, &counts[0], &nulls)
    if bad >= 0:
        raise ValueError(
            f"dictionary code {codes[bad]} at position {bad} is outside [0, {ncat})"
        )
    return nulls


def code_counts(codes, Py_ssize_t n_categories, validity=None, Py_ssize_t offset=0):
    """Counts of each dictionary code over valid elements, and the number of nulls.

    Returns ``(counts, nulls)`` with ``counts`` an int64 array of length ``n_categories``.
    A valid code outside ``[0, n_categories)`` raises ValueError.
    """
    if n_categories < 0:
        raise ValueError(f"n_categories must be >= 0, got {n_categories}")
    arr = _check_values(codes, "codes", codes=True)
    bits = _check_validity(validity, offset, arr.shape[0])
    counts = np.zeros(n_categories, dtype=np.int64)
    nulls = _code_counts_typed(arr, bits, offset, counts)
    return counts, int(nulls)


# --------------------------------------------------------------------------------------------
# Two-sample merge walks: Kolmogorov-Smirnov and Wasserstein-1
# --------------------------------------------------------------------------------------------

cdef int _ecdf_walk(const double* a, Py_ssize_t n1, const double* b, Py_ssize_t n2,
                    double* ks, double* w1) noexcept nogil:
    """One merge walk over two ascending arrays, visiting each distinct pooled value x once.

    After consuming every element equal to x, F_a(x) = i/n1 and F_b(x) = j/n2 (the ECDFs with
    searchsorted side="right", as scipy evaluates them). The walk keeps the ECDF difference
    scaled by n1*n2, |i*n2 - j*n1|, which is exact while below 2**53, and divides once at the
    end: KS D is its maximum, W1 is its integral against dx (Neumaier-compensated sum).

    Returns 0, or 1/2 when a/b is found not ascending or not finite: the next distinct value
    must be finite and larger than the previous one, which also guarantees progress.
    """
    cdef Py_ssize_t i = 0, j = 0
    cdef double n1d = <double>n1, n2d = <double>n2
    cdef double x, prev = 0.0, diff = 0.0, best = 0.0, t, y, s = 0.0, comp = 0.0
    cdef bint started = False
    cdef int src
    while i < n1 or j < n2:
        if j >= n2 or (i < n1 and not (b[j] < a[i])):
            x = a[i]
            src = 1
        else:
            x = b[j]
            src = 2
        if not (x - x == 0.0) or (started and not (x > prev)):
            return src
        if started:
            y = diff * (x - prev)
            t = s + y
            if fabs(s) >= fabs(y):
                comp += (s - t) + y
            else:
                comp += (y - t) + s
            s = t
        while i < n1 and a[i] == x:
            i += 1
        while j < n2 and b[j] == x:
            j += 1
        diff = fabs(<double>i * n2d - <double>j * n1d)
        if diff > best:
            best = diff
        prev = x
        started = True
    ks[0] = best / (n1d * n2d)
    w1[0] = (s + comp) / (n1d * n2d)
    return 0


cdef tuple _walk(object a_sorted, object b_sorted):
    a = _check_sorted_input(a_sorted, "a_sorted")
    b = _check_sorted_input(b_sorted, "b_sorted")
    cdef const double[::1] av = a
    cdef const double[::1] bv = b
    cdef Py_ssize_t n1 = av.shape[0], n2 = bv.shape[0]
    cdef double ks = 0.0, w1 = 0.0
    cdef int status
    if n1 == 0 or n2 == 0:
        raise ValueError(
            f"two-sample statistics need non-empty samples, got sizes {n1} and {n2}"
        )
    with nogil:
        status = _ecdf_walk(&av[0], n1, &bv[0], n2, &ks, &w1)
    if status:
        name = "a_sorted" if status == 1 else "b_sorted"
        raise ValueError(f"{name} must be ascending and finite (no NaN or inf)")
    return ks, w1


def ks_statistic(a_sorted, b_sorted):
    """Two-sample Kolmogorov-Smirnov D = max over x of |F_a(x) - F_b(x)|.

    Both inputs must be ascending and finite; ties are allowed. Equals
    ``scipy.stats.ks_2samp(a, b).statistic``.
    """
    return _walk(a_sorted, b_sorted)[0]


def wasserstein_sorted(a_sorted, b_sorted):
    """1-D earth mover's distance: the integral over x of |F_a(x) - F_b(x)|.

    Both inputs must be ascending and finite; ties and different sizes are allowed. Equals
    ``scipy.stats.wasserstein_distance(a, b)``.
    """
    return _walk(a_sorted, b_sorted)[1]
