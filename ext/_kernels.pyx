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
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.string cimport memcpy
from libc.math cimport INFINITY, NAN, fabs, frexp, ldexp, sqrt
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
    # Moments of values that reach 2**_HUGE_EXP (~7.3e134) in magnitude are taken on the values
    # scaled by 2**-_SHIFT: a square overflows float64 from ~1.3e154, a deviation or a sum near
    # 1.8e308. Scaled, every value is below 2**448, so no square, sum or merge term of up to
    # 2**63 values can overflow; ordinary data never come near and are not scaled.
    _HUGE_EXP = 448
    _SHIFT = 576

cdef double _HUGE = ldexp(1.0, _HUGE_EXP)
cdef double _UNSHIFT = ldexp(1.0, -_SHIFT)

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
    try:
        e = np.ascontiguousarray(edges, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"edges must be an array of numbers, got {edges!r:.80}") from exc
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


cdef double _NO_EDGES[1]  # what an empty edge array points at: the kernels never read it


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
    double m2       # the sum of squared deviations, in units of 4**m2_exp
    int m2_exp      # 0, or _SHIFT once a value reaches 2**_HUGE_EXP in magnitude (_scaled_moments)


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
    m.m2_exp = 0


cdef inline bint _huge(double lo, double hi) noexcept nogil:
    """Whether values from lo to hi reach 2**_HUGE_EXP in magnitude (their moments are scaled)."""
    return hi >= _HUGE or lo <= -_HUGE


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
        a.m2_exp = b.m2_exp
        return
    if a.m2_exp != 0 or b.m2_exp != 0:
        _merge_scaled(a, b)
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


cdef void _merge_scaled(_Moments* a, const _Moments* b) noexcept nogil:
    """_merge_moments (a and b not empty) when a side's values reach 2**_HUGE_EXP: the same
    update on the means scaled by 2**-e, e the larger m2_exp, so that neither their difference
    nor its square overflows. The other side's m2 is brought to units of 4**e, exactly but for
    what underflows, which the huge side's squares dwarf."""
    cdef int e = a.m2_exp if a.m2_exp > b.m2_exp else b.m2_exp
    cdef double f = ldexp(1.0, -e), mean = a.mean * f, mean_lo = a.mean_lo * f, delta, hi, lo
    cdef int64_t n = a.count + b.count
    delta = (b.mean * f - mean) + (b.mean_lo * f - mean_lo)
    _two_sum(mean, delta * (<double>b.count / <double>n), &hi, &lo)
    _two_sum(hi, lo + mean_lo, &mean, &mean_lo)
    a.m2 = (ldexp(a.m2, 2 * (a.m2_exp - e)) + ldexp(b.m2, 2 * (b.m2_exp - e))
            + delta * delta * (<double>a.count * <double>b.count / <double>n))
    a.m2_exp = e
    if b.min < a.min:
        a.min = b.min
    if b.max > a.max:
        a.max = b.max
    a.count = n
    _set_scaled_mean(a, mean, mean_lo, e)


cdef inline void _set_scaled_mean(_Moments* m, double mean, double mean_lo, int e) noexcept nogil:
    """m's mean from the double-double mean of its values scaled by 2**-e: scaled back
    exactly, and kept within [min, max] (rounding at the very top could reach past it)."""
    m.mean = ldexp(mean, e)
    m.mean_lo = ldexp(mean_lo, e)
    if not (m.min <= m.mean <= m.max):
        m.mean = m.min if m.mean < m.min else m.max
        m.mean_lo = 0.0


cdef extern from "kernels.h":
    int mlc_use_avx2
    int mlc_cpu_has_avx2() noexcept nogil
    int64_t mlc_count_outside(const double* v, Py_ssize_t n, double lo, double hi) noexcept nogil
    double mlc_sum_min_max(const double* v, Py_ssize_t n, double* lo, double* hi) noexcept nogil
    double mlc_finite_sum_min_max(const double* v, Py_ssize_t n, int64_t* count,
                                  int64_t* pos_inf, int64_t* neg_inf,
                                  double* lo, double* hi) noexcept nogil
    void mlc_finite_deviation_sums(const double* v, Py_ssize_t n, double c,
                                   double* sd, double* sq) noexcept nogil
    double mlc_nan_sum_min_max(const double* v, Py_ssize_t n, int64_t* count,
                               double* lo, double* hi) noexcept nogil
    void mlc_nan_deviation_sums(const double* v, Py_ssize_t n, double c,
                                double* sd, double* sq) noexcept nogil
    void mlc_deviation_sums(const double* v, Py_ssize_t n, double c, const char* next,
                            Py_ssize_t next_bytes, double* sd, double* sq) noexcept nogil


mlc_use_avx2 = mlc_cpu_has_avx2()


def simd(str level=None):
    """The instruction set of the loops that have two ("avx2" or "sse2"); with ``level``, use
    that one from now on ("avx2" only where the CPU has it). Every level gives the same results
    bit for bit (kernels.h): tests run both, and a benchmark can compare them."""
    global mlc_use_avx2
    if level is not None:
        if level not in ("avx2", "sse2"):
            raise ValueError(f"level must be 'avx2' or 'sse2', got {level!r}")
        if level == "avx2" and not mlc_cpu_has_avx2():
            raise ValueError("this CPU (or build) has no AVX2")
        mlc_use_avx2 = level == "avx2"
    return "avx2" if mlc_use_avx2 else "sse2"


cdef inline void _set_moments(_Moments* m, Py_ssize_t n, double lo, double hi, double approx,
                              double sd, double sq) noexcept nogil:
    """Corrected two-pass moments (Chan, Golub & LeVeque 1983) from sd = sum(x - approx) and
    sq = sum((x - approx)**2): refining the provisional mean by sd/n and subtracting sd**2/n
    removes its rounding error to first order. The mean is kept as a double-double."""
    cdef double q = sq - sd * sd / <double>n
    m.count = n
    m.min = lo
    m.max = hi
    m.m2 = q if q > 0.0 else 0.0
    _two_sum(approx, sd / <double>n, &m.mean, &m.mean_lo)
    if m.mean < lo or m.mean > hi:  # rounding on near-constant data; keep min <= mean <= max
        m.mean = lo if m.mean < lo else hi
        m.mean_lo = 0.0


cdef inline bint _dense_moments(const double* v, Py_ssize_t n, const char* next,
                                Py_ssize_t next_bytes, _Moments* m) noexcept nogil:
    """count/min/max/mean/m2 of v[0:n], all taken as values; False if one is not finite.

    A sum over IEEE doubles stays finite only if every term is finite, so one check of the sum
    replaces a per-element classification. On False m is untouched and the caller redoes the
    block with _finite_moments.
    """
    cdef double s, lo, hi, sd, sq
    if n == 0:
        return True
    s = mlc_sum_min_max(v, n, &lo, &hi)
    if not (s - s == 0.0):
        return False
    if _huge(lo, hi):
        _scaled_moments(v, n, lo, hi, m)
    elif lo == hi:
        # Constant: mean and m2 are exact without a second pass.
        _set_moments(m, n, lo, hi, lo, 0.0, 0.0)
    else:
        mlc_deviation_sums(v, n, s / <double>n, next, next_bytes, &sd, &sq)
        _set_moments(m, n, lo, hi, s / <double>n, sd, sq)
    return True


cdef void _finite_moments(const double* v, Py_ssize_t n, _Moments* m) noexcept nogil:
    """Moments of the finite values of v[0:n], counting NaN and +-inf; for blocks that failed
    _dense_moments. Non-finite lanes are masked out rather than branched around."""
    cdef int64_t count, pinf = 0, ninf = 0
    cdef double s, lo, hi, sd, sq
    cdef bint infinite
    # Most such blocks hold NaN only: the cheaper kernels, which give the same sums, unless
    # they find an infinity (then lo or hi is one).
    s = mlc_nan_sum_min_max(v, n, &count, &lo, &hi)
    infinite = lo == -INFINITY or hi == INFINITY
    if infinite:
        s = mlc_finite_sum_min_max(v, n, &count, &pinf, &ninf, &lo, &hi)
    m.pos_inf = pinf
    m.neg_inf = ninf
    m.nans = n - count - pinf - ninf
    if count == 0:
        return
    if _huge(lo, hi) or not (s - s == 0.0):  # a sum of 4096 values below 2**448 cannot overflow
        _scaled_moments(v, n, lo, hi, m)
    elif lo == hi:
        _set_moments(m, count, lo, hi, lo, 0.0, 0.0)
    else:
        if infinite:
            mlc_finite_deviation_sums(v, n, s / <double>count, &sd, &sq)
        else:
            mlc_nan_deviation_sums(v, n, s / <double>count, &sd, &sq)
        _set_moments(m, count, lo, hi, s / <double>count, sd, sq)


cdef void _scaled_moments(const double* v, Py_ssize_t n, double lo, double hi,
                          _Moments* m) noexcept nogil:
    """Moments of the finite values of v[0:n] (n <= _BLOCK), from lo to hi, when they reach
    2**_HUGE_EXP in magnitude: those of _dense_moments, by the same kernels, on a copy of the
    values scaled by 2**-_SHIFT. A power of two scales exactly, but for values below ~1e-135,
    which round among the subnormals and weigh nothing beside 2**448; so the result is that of
    the scaled values, scaled back. m2 stays in those units (m2_exp)."""
    cdef double scaled[_BLOCK]
    cdef double s, slo, shi, sd, sq
    cdef Py_ssize_t i, count = 0
    for i in range(n):  # every value is written; only a finite one advances (no branch)
        scaled[count] = v[i] * _UNSHIFT
        count += v[i] - v[i] == 0.0
    s = mlc_sum_min_max(scaled, count, &slo, &shi)
    if slo == shi:
        _set_moments(m, count, slo, shi, slo, 0.0, 0.0)
    else:
        mlc_deviation_sums(scaled, count, s / <double>count, NULL, 0, &sd, &sq)
        _set_moments(m, count, slo, shi, s / <double>count, sd, sq)
    m.min = lo
    m.max = hi
    m.m2_exp = _SHIFT
    _set_scaled_mean(m, m.mean, m.mean_lo, _SHIFT)


cdef inline Py_ssize_t _gather_valid(const numeric_t* v, Py_ssize_t n, const uint8_t* vp,
                                     Py_ssize_t bit0, double* buf) noexcept nogil:
    """Copy the valid elements of v[0:n], as doubles, to the front of buf; return how many.

    Every element is stored and the write index advances by its validity bit: no branch to
    mispredict on randomly placed nulls, and the statistics then run on dense doubles.
    """
    cdef Py_ssize_t i, k = 0
    if vp == NULL:
        for i in range(n):
            buf[i] = <double>v[i]
        return n
    for i in range(n):
        buf[k] = <double>v[i]
        k += _bit(vp, bit0 + i)
    return k


cdef inline const double* _block_values(const numeric_t* v, Py_ssize_t length,
                                       const uint8_t* vp, Py_ssize_t bit0, double* buf,
                                       Py_ssize_t* nvalid) noexcept nogil:
    """The valid elements of v[0:length] (validity bits bit0...) as dense doubles.

    A float64 block without nulls is read in place; any other block is gathered into buf, so
    every statistic downstream runs on the same contiguous doubles.
    """
    if vp == NULL or _all_valid(vp, bit0, bit0 + length):
        if numeric_t is double:
            nvalid[0] = length
            return v
        else:
            nvalid[0] = _gather_valid(v, length, NULL, 0, buf)
            return buf
    nvalid[0] = _gather_valid(v, length, vp, bit0, buf)
    return buf


cdef inline int64_t _outside_dense(const double* v, Py_ssize_t n, const _Moments* blk,
                                  double lo, double hi) noexcept nogil:
    """count_outside over v[0:n], the dense valid values of the block summarized by blk.

    The summary often decides it without a pass: when the block's finite values all lie in
    [lo, hi] (a `between` check on in-range data), or all outside it, only its infinities
    are left to add, and those are counted already.
    """
    cdef int64_t c = (blk.neg_inf if lo > -INFINITY else 0) + (blk.pos_inf if hi < INFINITY else 0)
    if blk.count == 0 or (lo <= blk.min and blk.max <= hi):
        return c
    if blk.max < lo or blk.min > hi:
        return c + blk.count
    return mlc_count_outside(v, n, lo, hi)


cdef struct _Extra:
    # What scan_numeric computes besides the moments, per block while the block is in cache.
    Py_ssize_t nhist
    const double** edges
    Py_ssize_t* nedges
    int64_t** counts
    Py_ssize_t nrange
    const double* lo
    const double* hi
    int64_t* outside
    # Bucket counts of the finite values (bucket_counts' buckets), or bcounts == NULL.
    double blo
    double bscale
    Py_ssize_t blast
    int64_t* bcounts


cdef struct _ScanState:
    # A column's scan so far, which may arrive in chunks (_scan_chunk): the states of the
    # blocks summarized, combined as a balanced binary tree (a binary counter of levels), and
    # the rows of a block that a chunk ended in the middle of, whose valid values wait in
    # `pend` (dense doubles) for the next chunk, or _scan_finish, to complete the block.
    _Moments stack[_MAX_LEVELS]
    int level[_MAX_LEVELS]
    int top
    bint guess_nonfinite
    Py_ssize_t pending_rows
    Py_ssize_t pending_valid
    double pend[_BLOCK]


cdef inline void _scan_start(_ScanState* s) noexcept nogil:
    s.top = 0
    s.guess_nonfinite = False
    s.pending_rows = 0
    s.pending_valid = 0


cdef void _scan_block(const double* src, Py_ssize_t nvalid, Py_ssize_t length, const char* next,
                      Py_ssize_t next_bytes, _ScanState* s, const _Extra* extra) noexcept nogil:
    """One block of `length` rows, its valid values the dense doubles src[0:nvalid]; `next`
    and `next_bytes`: the input that follows, to prefetch (NULL, 0: none).

    Rounding in the Chan updates grows with log(#blocks), not #blocks. With ``extra``
    (scan_numeric), the block also feeds every histogram and range count right after its
    moments, while it is still in L1/L2: the column is read from memory once. The moments do
    not depend on ``extra``, so summarize (extra == NULL) gives bit-identical summaries."""
    cdef _Moments* blk = &s.stack[s.top]
    cdef bint redo = True
    cdef Py_ssize_t h
    if s.guess_nonfinite:
        # The last block held NaN or +-inf, so this one likely does too (NaN as the missing
        # value is common): skip the dense attempt, which would fail after a full pass. A
        # block that turns out all finite is redone the dense way, as it would have been,
        # so the result never depends on the guess.
        _moments_empty(blk)
        _finite_moments(src, nvalid, blk)
        redo = blk.count == nvalid
    if redo:
        _moments_empty(blk)
        if not _dense_moments(src, nvalid, next, next_bytes, blk):
            _finite_moments(src, nvalid, blk)
    blk.rows = length
    blk.nulls = length - nvalid
    s.guess_nonfinite = blk.count != nvalid
    if extra != NULL:
        for h in range(extra.nhist):
            _hist_dense(src, nvalid, extra.edges[h], extra.nedges[h], blk, extra.counts[h])
        for h in range(extra.nrange):
            extra.outside[h] += _outside_dense(src, nvalid, blk, extra.lo[h], extra.hi[h])
        if extra.bcounts != NULL:
            _bucket_counts_dense(src, nvalid, blk.count == nvalid, extra.blo, extra.bscale, extra.blast,
                                 extra.bcounts)
    s.level[s.top] = 0
    s.top += 1
    while s.top >= 2 and s.level[s.top - 1] == s.level[s.top - 2]:
        _merge_moments(&s.stack[s.top - 2], &s.stack[s.top - 1])
        s.level[s.top - 2] += 1
        s.top -= 1


cdef inline void _append_pending(const numeric_t* v, Py_ssize_t length, const uint8_t* vp,
                                 Py_ssize_t bit0, _ScanState* s) noexcept nogil:
    """Add the rows v[0:length] to the pending block (their valid values, as doubles)."""
    cdef Py_ssize_t nvalid
    cdef double* dest = s.pend + s.pending_valid
    cdef const double* src = _block_values(v, length, vp, bit0, dest, &nvalid)
    if src != dest:
        memcpy(dest, src, nvalid * sizeof(double))
    s.pending_valid += nvalid
    s.pending_rows += length


cdef void _scan_chunk(const numeric_t* v, Py_ssize_t n, const uint8_t* vp,
                      Py_ssize_t offset, _ScanState* s, const _Extra* extra) noexcept nogil:
    """The next n rows of the column: blocks of _BLOCK rows, each made dense doubles by
    _block_values, so every block ends in the same float64 kernels. A block runs on across
    the boundary between two chunks (its rows are gathered in s.pend), so a column scanned in
    chunks gets the very blocks, and the very summary, of the column scanned in one piece."""
    cdef double buf[_BLOCK]
    cdef Py_ssize_t start = 0, take, nvalid
    cdef const double* src
    if s.pending_rows > 0:
        take = _BLOCK - s.pending_rows
        if take > n:
            take = n
        _append_pending(v, take, vp, offset, s)
        start = take
        if s.pending_rows < _BLOCK:
            return
        _scan_block(s.pend, s.pending_valid, _BLOCK, <const char*>(v + start),
                    (n - start) * <Py_ssize_t>sizeof(numeric_t), s, extra)
        s.pending_rows = 0
        s.pending_valid = 0
    while n - start >= _BLOCK:
        src = _block_values(v + start, _BLOCK, vp, offset + start, buf, &nvalid)
        _scan_block(src, nvalid, _BLOCK, <const char*>(v + start + _BLOCK),
                    (n - start - _BLOCK) * <Py_ssize_t>sizeof(numeric_t), s, extra)
        start += _BLOCK
    if start < n:
        _append_pending(v + start, n - start, vp, offset + start, s)


cdef void _scan_finish(_ScanState* s, _Moments* out, const _Extra* extra) noexcept nogil:
    """The last (partial) block, then the summary of every block: into out."""
    cdef int k
    if s.pending_rows > 0:
        _scan_block(s.pend, s.pending_valid, s.pending_rows, NULL, 0, s, extra)
        s.pending_rows = 0
        s.pending_valid = 0
    _moments_empty(out)
    if s.top == 0:
        return
    out[0] = s.stack[s.top - 1]
    for k in range(s.top - 2, -1, -1):
        _merge_moments(&s.stack[k], out)
        out[0] = s.stack[k]


# --------------------------------------------------------------------------------------------
# NumericSummary
# --------------------------------------------------------------------------------------------

_INT_FIELDS = ("rows", "nulls", "nans", "pos_inf", "neg_inf", "count")
_FLOAT_FIELDS = ("min", "max", "mean", "mean_lo", "m2")
_FIELDS = _INT_FIELDS + _FLOAT_FIELDS + ("m2_exp",)  # m2_exp last: to_dict leaves it out when 0
_OPTIONAL_FIELDS = ("mean_lo", "m2_exp")


def _is_integer(value):
    """A Python or NumPy integer, not a bool (JSON's true is no extreme)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _rebuild_summary(*state):
    """Unpickle helper: the state tuple is the fields in ``NumericSummary.to_dict`` order
    (``m2_exp`` only when it is not 0, so it is last)."""
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

    ``m2_exp``: once a finite value reaches 2**448 (~7.3e134) in magnitude, squared deviations
    could overflow float64 (from ~1.3e154), so the moments are taken on the values scaled by
    2**-576 and m2 is kept in units of 4**576: ``m2_exp`` is 576, else 0 (the only two states,
    checked on construction). The ``m2`` property is then the true sum, inf where it exceeds
    float64; ``to_dict()["m2"]`` and the ``m2`` argument are in units of 4**m2_exp, and
    ``variance``, ``std`` and ``scaled_std`` use them, so ``std`` is right whenever it is finite.

    An integer column's ``min`` and ``max`` can be exact Python ints: float64 rounds integers
    beyond 2**53, so a summary built with ``min``/``max`` given as ints (``from_dict``,
    ``with_integer_extremes``) keeps them as well as their float64 roundings, and merging two
    such summaries keeps them exact. A summary of a float column has float extremes.
    """
    cdef _Moments _m
    cdef object _int_min, _int_max  # exact integer extremes (Python ints), or None

    def __init__(self, *, rows=0, nulls=0, nans=0, pos_inf=0, neg_inf=0, count=0,
                 min=NAN, max=NAN, mean=NAN, mean_lo=0.0, m2=0.0, m2_exp=0):
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
        if not 0.0 <= q < INFINITY:  # scaled (m2_exp), m2 never overflows
            raise ValueError(f"NumericSummary m2 must be a finite number >= 0, got {q!r}")
        if c > 0 and not (lo <= mu <= hi):
            raise ValueError(
                f"NumericSummary needs min <= mean <= max when count > 0, got "
                f"min={lo!r}, mean={mu!r}, max={hi!r}"
            )
        cdef int exponent = operator.index(m2_exp)
        cdef int scaled = _SHIFT if c > 0 and _huge(lo, hi) else 0
        # Infinite extremes are no values' (profiles refuse them afterwards, naming the field).
        if exponent not in (0, _SHIFT) or (exponent != scaled and lo - lo == 0.0 and hi - hi == 0.0):
            raise ValueError(
                f"NumericSummary m2_exp must be {scaled} when the finite values "
                f"{'reach' if scaled else 'stay below'} 2**{_HUGE_EXP} in magnitude, got "
                f"{m2_exp!r}" + (" (a summary written before such moments were scaled: "
                                 "summarize the data again)" if scaled else "")
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
        self._m.m2_exp = exponent
        self._int_min = self._int_max = None
        if c > 0 and _is_integer(min) and _is_integer(max):
            self._set_integer_extremes(min, max)

    cdef _set_integer_extremes(self, lo, hi):
        """Keep exact integer extremes whose float64 roundings are the summary's min and max."""
        lo, hi = int(lo), int(hi)
        if not (lo <= hi and float(lo) == self._m.min and float(hi) == self._m.max):
            raise ValueError(
                f"NumericSummary integer extremes {lo} and {hi} do not round to its min and max "
                f"({self._m.min!r}, {self._m.max!r})"
            )
        self._int_min, self._int_max = lo, hi

    def with_integer_extremes(self, lo, hi):
        """This summary with the exact integer min and max of its (integer) values."""
        cdef NumericSummary s = NumericSummary._wrap(self._m)
        if self._m.count > 0:
            s._set_integer_extremes(lo, hi)
        return s

    @property
    def exact_integers(self):
        """True when min and max are exact Python ints (an integer column)."""
        return self._int_min is not None

    @staticmethod
    cdef NumericSummary _wrap(_Moments m):
        cdef NumericSummary s = NumericSummary.__new__(NumericSummary)
        s._m = m
        s._int_min = s._int_max = None
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
        return self._int_min if self._int_min is not None else self._m.min

    @property
    def max(self):
        return self._int_max if self._int_max is not None else self._m.max

    @property
    def mean(self):
        return self._m.mean

    @property
    def mean_lo(self):
        return self._m.mean_lo

    @property
    def m2(self):
        """The sum of squared deviations from the mean; inf where it exceeds float64."""
        return ldexp(self._m.m2, 2 * self._m.m2_exp)

    @property
    def m2_exp(self):
        """0, or 576 when the values reach 2**448: the stored m2 is in units of 4**m2_exp."""
        return self._m.m2_exp

    def merge(self, NumericSummary other not None):
        """A new summary of the union of both inputs' rows (Chan et al. parallel update)."""
        cdef _Moments m = self._m
        _merge_moments(&m, &other._m)
        cdef NumericSummary s = NumericSummary._wrap(m)
        if other._m.count == 0:
            s._int_min, s._int_max = self._int_min, self._int_max
        elif self._m.count == 0:
            s._int_min, s._int_max = other._int_min, other._int_max
        elif self._int_min is not None and other._int_min is not None:
            s._int_min = self._int_min if self._int_min <= other._int_min else other._int_min
            s._int_max = self._int_max if self._int_max >= other._int_max else other._int_max
        return s

    def variance(self, ddof=1):
        """``m2 / (count - ddof)``; NaN when ``count - ddof <= 0``, inf where it exceeds float64."""
        cdef double dof = <double>self._m.count - float(ddof)
        if dof <= 0.0:
            return NAN
        return ldexp(self._m.m2 / dof, 2 * self._m.m2_exp)

    def std(self, ddof=1):
        """``sqrt(variance(ddof))``, from the scaled m2: inf only where the std itself exceeds
        float64."""
        value, exponent = self.scaled_std(ddof)
        return ldexp(value, exponent)

    def scaled_std(self, ddof=1):
        """``(s, e)`` with ``std(ddof) == s * 2**e`` and s finite (e is ``m2_exp``): for a ratio
        to the std that is finite where the std itself is beyond float64."""
        cdef double dof = <double>self._m.count - float(ddof)
        if dof <= 0.0:
            return NAN, 0
        return sqrt(self._m.m2 / dof), self._m.m2_exp

    def to_dict(self):
        """Plain ints and floats keyed by field name; ``from_dict`` restores it exactly. ``m2``
        is in units of 4**m2_exp; ``m2_exp`` is there only when it is not 0."""
        state = {
            "rows": self._m.rows,
            "nulls": self._m.nulls,
            "nans": self._m.nans,
            "pos_inf": self._m.pos_inf,
            "neg_inf": self._m.neg_inf,
            "count": self._m.count,
            "min": self.min,
            "max": self.max,
            "mean": self._m.mean,
            "mean_lo": self._m.mean_lo,
            "m2": self._m.m2,
        }
        if self._m.m2_exp:
            state["m2_exp"] = self._m.m2_exp
        return state

    @classmethod
    def from_dict(cls, d):
        """Inverse of ``to_dict``. Every field but ``mean_lo`` (default 0.0) and ``m2_exp``
        (default 0) is required and unknown keys are rejected, so a profile from another format
        version fails loudly."""
        missing = [k for k in _FIELDS if k not in d and k not in _OPTIONAL_FIELDS]
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


def summarize(values, validity=None, Py_ssize_t offset=0):
    """Summarize a numeric column in one pass: a :class:`NumericSummary`.

    Counts rows, nulls (per ``validity``/``offset``), NaNs and +-inf, and computes count, min,
    max, mean and m2 of the finite values. Each 4096-element block gets corrected two-pass
    moments; blocks are combined with Chan's update, so mean and variance agree with a
    two-pass computation to ~1e-14 relative even for data like 1e9 + N(0, 1).
    """
    return scan_chunks([(values, validity, offset)])[0]


# --------------------------------------------------------------------------------------------
# Histogram on given edges
# --------------------------------------------------------------------------------------------

cdef extern from "kernels.h":
    enum: MLC_LINEAR_MAX_EDGES
    void mlc_hist_search(const double* v, Py_ssize_t n, const double* e, Py_ssize_t m,
                         int64_t* counts) noexcept nogil
    void mlc_hist_linear(const double* v, Py_ssize_t n, const double* e, Py_ssize_t m,
                         int64_t finite, int64_t pos_inf, int64_t* counts) noexcept nogil


cdef inline Py_ssize_t _count_le(const double* e, Py_ssize_t m, double x) noexcept nogil:
    """Number of e[k] <= x for ascending e[0:m] (np.searchsorted(e, x, side="right")).

    Branch-free: the halving step compiles to a conditional move, so the time per element
    does not depend on how predictable the data are. Trailing NaNs compare as not-less-equal.
    """
    cdef const double* base = e
    cdef Py_ssize_t half
    if m == 0:
        return 0
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


cdef inline void _hist_dense(const double* v, Py_ssize_t n, const double* e, Py_ssize_t m,
                             const _Moments* blk, int64_t* counts) noexcept nogil:
    """histogram of dense doubles v[0:n] added to counts.

    blk: the block's moments if known (scan_numeric), else NULL. Then only the edges in
    (min, max] can split the block: bins a..b hold all of its finite values, and the kernels
    run on e[a:b] alone, which makes a block of sorted or clustered data (time stamps, ids)
    nearly free (on shuffled data a = 0, b = m); and the linear path needs no masking.

    The path goes by edge count: linear counting costs ~0.13 ns per element and edge with
    SSE2, the 8-lane search ~3 ns per element from 9 to 100 edges (4M float64, 2.3 GHz Xeon):
    they cross at ~22 edges, hence MLC_LINEAR_MAX_EDGES = 20.
    """
    cdef Py_ssize_t a = 0, b = m
    if blk == NULL:
        if m <= MLC_LINEAR_MAX_EDGES:
            mlc_hist_linear(v, n, e, m, -1, 0, counts)
        else:
            mlc_hist_search(v, n, e, m, counts)
        return
    if blk.count == 0:
        return
    a = _count_le(e, m, blk.min)
    b = _count_le(e, m, blk.max)
    if a == b:
        counts[a] += blk.count
    elif b - a <= MLC_LINEAR_MAX_EDGES:
        mlc_hist_linear(v, n, e + a, b - a, blk.count, blk.pos_inf, counts + a)
    else:
        mlc_hist_search(v, n, e + a, b - a, counts + a)


cdef void _histogram_blocks(const numeric_t* v, Py_ssize_t n, const uint8_t* vp,
                            Py_ssize_t offset, const double* e, Py_ssize_t m,
                            int64_t* counts) noexcept nogil:
    cdef double buf[_BLOCK]
    cdef Py_ssize_t start = 0, length, nvalid
    cdef const double* src
    while start < n:
        length = n - start
        if length > _BLOCK:
            length = _BLOCK
        src = _block_values(v + start, length, vp, offset + start, buf, &nvalid)
        _hist_dense(src, nvalid, e, m, NULL, counts)
        start += length


def _histogram_typed(const numeric_t[::1] values, const uint8_t[::1] validity,
                     Py_ssize_t offset, const double[::1] edges, int64_t[::1] counts):
    cdef const uint8_t* vp = _bits_ptr(validity)
    cdef Py_ssize_t n = values.shape[0], m = edges.shape[0]
    cdef const double* e = &edges[0] if m > 0 else _NO_EDGES
    if n == 0:
        return
    with nogil:
        _histogram_blocks(&values[0], n, vp, offset, e, m, &counts[0])


def histogram(values, edges, validity=None, Py_ssize_t offset=0):
    """Counts of valid finite values per bin: an int64 array of length ``len(edges) + 1``.

    Value x goes to bin ``np.searchsorted(edges, x, side="right")``, i.e. the bins are
    (-inf, e0), [e0, e1), ..., [e_last, +inf). ``edges`` must be strictly increasing (it is
    converted to float64); empty edges give a single bin. Nulls, NaN and +-inf are not counted.
    Up to 20 edges the bins come from vectorised comparison counts, beyond from a binary search.
    """
    arr = _check_values(values, "values")
    e = _check_edges(edges)
    bits = _check_validity(validity, offset, arr.shape[0])
    counts = np.zeros(e.shape[0] + 1, dtype=np.int64)
    _histogram_typed(arr, bits, offset, e, counts)
    return counts


def _histogram_path(values, edges, str path):
    """``histogram(values, edges)`` for float64 values through one named path, "linear" or
    "search", whatever the edge count: for tests and for measuring where the paths cross."""
    cdef const double[::1] v = np.ascontiguousarray(values, dtype=np.float64)
    cdef const double[::1] e = _check_edges(edges)
    cdef Py_ssize_t n = v.shape[0], m = e.shape[0]
    counts = np.zeros(m + 1, dtype=np.int64)
    cdef int64_t[::1] c = counts
    if path not in ("linear", "search"):
        raise ValueError(f"path must be 'linear' or 'search', got {path!r}")
    if path == "linear" and m > MLC_LINEAR_MAX_EDGES:
        raise ValueError(f"the linear path takes at most {MLC_LINEAR_MAX_EDGES} edges, got {m}")
    if n == 0:
        return counts
    if path == "search" and m == 0:
        raise ValueError("the search path needs at least one edge")
    cdef bint linear = path == "linear"
    with nogil:
        if linear:
            mlc_hist_linear(&v[0], n, &e[0] if m else _NO_EDGES, m, -1, 0, &c[0])
        else:
            mlc_hist_search(&v[0], n, &e[0], m, &c[0])
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
        lo = _count_le(p, n, -INFINITY)
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
    +inf/NaN (where ``np.sort`` puts them) are skipped. Order is only checked by comparing the
    first and last element (an O(n) check would defeat the purpose), so the array must really
    be sorted.
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
    if numeric_t is double:
        if vp == NULL:
            return mlc_count_outside(v, n, lo, hi)
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
# Order statistics by bucket selection
# --------------------------------------------------------------------------------------------
# Quantile bin edges need ~18 order statistics of a column, not its sorted copy. Values go to
# equal-width buckets between the finite min and max (the bucket of x never decreases as x
# grows, rounding included, so every value of a bucket sorts after every value of a lower
# one): one pass counts the buckets, which tells which buckets hold the wanted ranks; a second
# pass copies out the values of those buckets only; sorting that small copy gives the exact
# order statistics. Two linear passes instead of an O(n log n) sort (columns.order_statistics).

cdef extern from "kernels.h":
    Py_ssize_t mlc_bucket_counts_avx2(const double* v, Py_ssize_t n, double lo, double scale, Py_ssize_t last,
                                      int64_t* counts) noexcept nogil
    Py_ssize_t mlc_gather_avx2(const double* v, Py_ssize_t n, double lo, double scale, Py_ssize_t last,
                               const int32_t* slot, double* out, int64_t* fill, const int64_t* end,
                               Py_ssize_t* done) noexcept nogil

# The AVX2 loops convert positions to 32-bit bucket numbers.
cdef Py_ssize_t _AVX2_MAX_BUCKET = 2**31 - 1


cdef inline Py_ssize_t _bucket(double x, double lo, double scale, Py_ssize_t last) noexcept nogil:
    cdef double position = (x - lo) * scale
    if position <= 0.0:
        return 0
    if position >= <double>last:
        return last
    return <Py_ssize_t>position


cdef inline void _bucket_counts_dense(const double* v, Py_ssize_t n, bint all_finite, double lo, double scale,
                                      Py_ssize_t last, int64_t* counts) noexcept nogil:
    """bucket counts of the dense doubles v[0:n] (scan_numeric's blocks); all_finite: the block's
    moments found no NaN or ±inf, so the test per value is skipped."""
    cdef Py_ssize_t i = 0
    cdef double x
    if mlc_use_avx2 and last < _AVX2_MAX_BUCKET:
        i = mlc_bucket_counts_avx2(v, n, lo, scale, last, counts)
    if all_finite:
        for i in range(i, n):
            counts[_bucket(v[i], lo, scale, last)] += 1
        return
    for i in range(i, n):
        x = v[i]
        if x - x == 0.0:
            counts[_bucket(x, lo, scale, last)] += 1


cdef void _bucket_counts_loop(const numeric_t* v, Py_ssize_t n, const uint8_t* vp, Py_ssize_t offset,
                              double lo, double scale, Py_ssize_t last, int64_t* counts) noexcept nogil:
    cdef Py_ssize_t i
    cdef double x
    for i in range(n):
        if vp != NULL and not _bit(vp, offset + i):
            continue
        x = <double>v[i]
        if x - x == 0.0:  # finite: NaN and ±inf are not values
            counts[_bucket(x, lo, scale, last)] += 1


cdef Py_ssize_t _gather_loop(const numeric_t* v, Py_ssize_t n, const uint8_t* vp, Py_ssize_t offset,
                             double lo, double scale, Py_ssize_t last, const int32_t* slot,
                             double* out, int64_t* fill, const int64_t* end) noexcept nogil:
    """Returns -1, or the slot that would overflow (the counts do not match these values)."""
    cdef Py_ssize_t i, start = 0
    cdef int32_t s
    cdef double x
    if numeric_t is double:
        if vp == NULL and mlc_use_avx2 and last < _AVX2_MAX_BUCKET:
            s = mlc_gather_avx2(v, n, lo, scale, last, slot, out, fill, end, &start)
            if s >= 0:
                return s
    for i in range(start, n):
        if vp != NULL and not _bit(vp, offset + i):
            continue
        x = <double>v[i]
        if x - x == 0.0:
            s = slot[_bucket(x, lo, scale, last)]
            if s >= 0:
                if fill[s] >= end[s]:
                    return s
                out[fill[s]] = x
                fill[s] += 1
    return -1


def _bucket_counts_typed(const numeric_t[::1] values, const uint8_t[::1] validity, Py_ssize_t offset,
                         double lo, double scale, int64_t[::1] counts):
    cdef const uint8_t* vp = _bits_ptr(validity)
    cdef Py_ssize_t n = values.shape[0], last = counts.shape[0] - 1
    if n == 0:
        return
    with nogil:
        _bucket_counts_loop(&values[0], n, vp, offset, lo, scale, last, &counts[0])


def _gather_typed(const numeric_t[::1] values, const uint8_t[::1] validity, Py_ssize_t offset,
                  double lo, double scale, const int32_t[::1] slot, double[::1] out,
                  int64_t[::1] fill, const int64_t[::1] end):
    cdef const uint8_t* vp = _bits_ptr(validity)
    cdef Py_ssize_t n = values.shape[0], last = slot.shape[0] - 1, bad = -1
    if n == 0 or out.shape[0] == 0:
        return
    with nogil:
        bad = _gather_loop(&values[0], n, vp, offset, lo, scale, last, &slot[0], &out[0], &fill[0], &end[0])
    if bad >= 0:
        raise ValueError(f"bucket slot {bad} received more values than bucket_counts counted")


cdef _check_buckets(double lo, double scale, Py_ssize_t buckets):
    if not (lo - lo == 0.0) or not (scale - scale == 0.0) or scale <= 0.0:
        raise ValueError(f"lo must be finite and scale finite and > 0, got lo={lo!r}, scale={scale!r}")
    if buckets < 1:
        raise ValueError("there must be at least one bucket")


cdef _check_bucket_counts(object counts):
    if not isinstance(counts, np.ndarray) or counts.dtype != np.int64 or counts.ndim != 1:
        raise TypeError("counts must be a 1-D int64 numpy array")
    if not counts.flags.writeable or not counts.flags.c_contiguous:
        raise ValueError("counts must be a writeable contiguous array")


def bucket_counts(values, double lo, double scale, counts, validity=None, Py_ssize_t offset=0):
    """Add to ``counts`` (int64, one per bucket) the number of finite valid values per bucket:
    value x falls in bucket ``min(len(counts) - 1, max(0, floor((x - lo) * scale)))``."""
    _check_bucket_counts(counts)
    _check_buckets(lo, scale, counts.shape[0])
    arr = _check_values(values, "values")
    bits = _check_validity(validity, offset, arr.shape[0])
    _bucket_counts_typed(arr, bits, offset, lo, scale, counts)


def bucket_index(points, double lo, double scale, Py_ssize_t buckets):
    """The bucket of each of ``points`` (float64, finite) among ``buckets`` buckets, by the very
    arithmetic bucket_counts and gather_buckets use: an int64 array."""
    _check_buckets(lo, scale, buckets)
    cdef const double[::1] p = np.ascontiguousarray(points, dtype=np.float64)
    out = np.empty(p.shape[0], dtype=np.int64)
    cdef int64_t[::1] o = out
    cdef Py_ssize_t i
    for i in range(p.shape[0]):
        if not (p[i] - p[i] == 0.0):
            raise ValueError(f"points must be finite, got {p[i]!r}")
        o[i] = _bucket(p[i], lo, scale, buckets - 1)
    return out


def gather_buckets(values, double lo, double scale, slot, out, fill, end, validity=None, Py_ssize_t offset=0):
    """Copy the finite valid values whose bucket (as in bucket_counts, len(slot) buckets) has
    ``slot[bucket] >= 0`` to ``out[fill[slot]]``, advancing ``fill[slot]``; a slot filled up to
    ``end[slot]`` raises ValueError. Values of one slot keep no particular order."""
    for name, array, dtype in (("slot", slot, np.int32), ("out", out, np.float64), ("fill", fill, np.int64),
                               ("end", end, np.int64)):
        if not isinstance(array, np.ndarray) or array.dtype != dtype or array.ndim != 1:
            raise TypeError(f"{name} must be a 1-D {np.dtype(dtype).name} numpy array")
    if fill.shape[0] != end.shape[0]:
        raise ValueError("fill and end must have one entry per slot")
    if slot.shape[0] and (slot.max() >= fill.shape[0]):
        raise ValueError("slot refers to a slot that fill/end do not have")
    if fill.shape[0] and (fill.min() < 0 or end.max() > out.shape[0]):
        raise ValueError("fill/end must lie within out")
    _check_buckets(lo, scale, slot.shape[0])
    arr = _check_values(values, "values")
    bits = _check_validity(validity, offset, arr.shape[0])
    _gather_typed(arr, bits, offset, lo, scale, slot, out, fill, end)


# --------------------------------------------------------------------------------------------
# One pass for everything a numeric column needs
# --------------------------------------------------------------------------------------------

cdef class _Scan:
    """One scan of a column, fed chunk by chunk (_scan_chunk_typed): its _ScanState and what
    it computes besides the moments (_Extra: pointer tables filled with the GIL held; `keep`
    holds the arrays they point into)."""

    cdef _ScanState* state
    cdef _Extra extra
    cdef bint with_extra
    cdef list keep

    def __cinit__(self):
        self.state = <_ScanState*>PyMem_Malloc(sizeof(_ScanState))
        self.extra.edges = NULL
        self.extra.nedges = NULL
        self.extra.counts = NULL
        if self.state == NULL:
            raise MemoryError()
        _scan_start(self.state)

    def __dealloc__(self):
        PyMem_Free(self.state)
        PyMem_Free(self.extra.edges)
        PyMem_Free(self.extra.nedges)
        PyMem_Free(self.extra.counts)

    cdef set_extra(self, list edges, list counts, const double[::1] lo, const double[::1] hi,
                   int64_t[::1] outside, double blo, double bscale, int64_t[::1] bcounts):
        cdef Py_ssize_t nh = len(edges), h
        cdef const double[::1] ev
        cdef int64_t[::1] cv
        self.keep = [edges, counts, lo, hi, outside, bcounts]
        self.with_extra = nh > 0 or outside.shape[0] > 0 or bcounts is not None
        self.extra.nhist = nh
        self.extra.edges = <const double**>PyMem_Malloc((nh + 1) * sizeof(double*))
        self.extra.nedges = <Py_ssize_t*>PyMem_Malloc((nh + 1) * sizeof(Py_ssize_t))
        self.extra.counts = <int64_t**>PyMem_Malloc((nh + 1) * sizeof(int64_t*))
        if self.extra.edges == NULL or self.extra.nedges == NULL or self.extra.counts == NULL:
            raise MemoryError()
        for h in range(nh):
            ev = edges[h]
            cv = counts[h]
            self.extra.nedges[h] = ev.shape[0]
            self.extra.edges[h] = &ev[0] if ev.shape[0] > 0 else _NO_EDGES
            self.extra.counts[h] = &cv[0]
        self.extra.nrange = outside.shape[0]
        self.extra.lo = &lo[0] if self.extra.nrange > 0 else NULL
        self.extra.hi = &hi[0] if self.extra.nrange > 0 else NULL
        self.extra.outside = &outside[0] if self.extra.nrange > 0 else NULL
        self.extra.blo = blo
        self.extra.bscale = bscale
        self.extra.blast = bcounts.shape[0] - 1 if bcounts is not None else 0
        self.extra.bcounts = &bcounts[0] if bcounts is not None else NULL

    cdef const _Extra* extra_ptr(self):
        return &self.extra if self.with_extra else NULL

    def finish(self):
        cdef _Moments m
        cdef const _Extra* extra = self.extra_ptr()
        with nogil:
            _scan_finish(self.state, &m, extra)
        return NumericSummary._wrap(m)


def _scan_chunk_typed(const numeric_t[::1] values, const uint8_t[::1] validity, Py_ssize_t offset,
                      _Scan scan not None):
    cdef const uint8_t* vp = _bits_ptr(validity)
    cdef Py_ssize_t n = values.shape[0]
    cdef _ScanState* state = scan.state
    cdef const _Extra* extra = scan.extra_ptr()
    if n == 0:
        return
    with nogil:
        _scan_chunk(&values[0], n, vp, offset, state, extra)


def scan_numeric(values, validity=None, Py_ssize_t offset=0, edges=(), ranges=(), buckets=None):
    """``summarize``, ``histogram`` on each of ``edges``, ``count_outside`` for each of
    ``ranges`` and, with ``buckets=(lo, scale, counts)``, ``bucket_counts(values, lo, scale,
    counts, validity, offset)``, in one pass over the column.

    Returns ``(summary, histograms, outside)``: a :class:`NumericSummary` bit-identical to
    ``summarize(values, validity, offset)``, a list with ``histogram(values, e, validity,
    offset)`` for each edge array ``e`` in ``edges``, and a list with ``count_outside(values,
    lo, hi, validity, offset)`` for each ``(lo, hi)`` in ``ranges``; the bucket counts are
    added to ``counts`` in place. Each 4096-element block is read from memory once and feeds
    all of them while it is in cache.
    """
    return scan_chunks([(values, validity, offset)], edges, ranges, buckets)


def scan_chunks(chunks, edges=(), ranges=(), buckets=None):
    """``scan_numeric`` of a column held in several chunks, each a ``(values, validity,
    offset)`` triple as scan_numeric takes them, in the column's order: the results are those
    of scan_numeric over the chunks concatenated, bit for bit, without concatenating them.
    Its 4096-element blocks run on across the chunks' boundaries (the rows of a block that a
    chunk ends in the middle of wait for the next chunk), so the blocks, and the rounding of
    every sum, are those of the column in one piece however it is cut (a parquet file's row
    groups, a stream's batches)."""
    if isinstance(edges, np.ndarray):
        raise TypeError(
            "edges must be a sequence of edge arrays, not one array: pass [edges] for one "
            "histogram"
        )
    checked = []
    for values, validity, offset in chunks:
        arr = _check_values(values, "values")
        checked.append((arr, _check_validity(validity, offset, arr.shape[0]), offset))
    edge_list = [_check_edges(e) for e in edges]
    bounds = []
    for r in ranges:
        try:
            lo, hi = r
            lo, hi = float(lo), float(hi)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"ranges must be a sequence of (lo, hi) pairs of numbers, got {r!r:.80} in it"
            ) from exc
        if lo != lo or hi != hi:
            raise ValueError(f"range bounds must not be NaN, got lo={lo!r}, hi={hi!r}")
        bounds.append((lo, hi))
    counts = [np.zeros(e.shape[0] + 1, dtype=np.int64) for e in edge_list]
    lo_arr = np.array([b[0] for b in bounds], dtype=np.float64)
    hi_arr = np.array([b[1] for b in bounds], dtype=np.float64)
    outside = np.zeros(len(bounds), dtype=np.int64)
    cdef double blo = 0.0, bscale = 1.0
    bcounts = None
    if buckets is not None:
        blo, bscale, bcounts = buckets
        _check_bucket_counts(bcounts)
        _check_buckets(blo, bscale, bcounts.shape[0])
    scan = _Scan()
    scan.set_extra(edge_list, counts, lo_arr, hi_arr, outside, blo, bscale, bcounts)
    for arr, bits, offset in checked:
        _scan_chunk_typed(arr, bits, offset, scan)
    return scan.finish(), counts, [int(c) for c in outside]


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

cdef struct _WalkState:
    double prev      # the value consumed last
    double diff      # |i*n2 - j*n1| after it: the ECDF difference scaled by n1*n2 (exact < 2**53)
    double best      # KS D scaled by n1*n2
    double s, comp   # Neumaier-compensated integral of diff against dx: W1 scaled by n1*n2


cdef inline void _walk_step(_WalkState* w, double x, double scaled_i, double scaled_j) noexcept nogil:
    """Consume one element of value x; scaled_i = i*n2 and scaled_j = j*n1 count what is
    consumed after it. Every line is a select, not a branch: which sample the next element comes
    from is a coin flip for similar samples, and a mispredicted branch per element cost more
    than the rest of the walk."""
    cdef double gap = x - w.prev, y, t, back, candidate
    # w.diff is the ECDF difference at w.prev once every element equal to w.prev is consumed,
    # which is the case exactly when the walk moves on to a larger value (gap > 0); inside a
    # run of ties it is a partial count and must not count towards the maximum.
    candidate = w.diff * <double>(gap > 0.0)
    w.best = candidate if candidate > w.best else w.best
    y = w.diff * gap  # 0 inside a run of ties
    # Knuth's TwoSum: the exact rounding error of s + y without a branch on |s| >= |y| (the
    # same error Neumaier's branch computes, so the same sum).
    t = w.s + y
    back = t - w.s
    w.comp += (w.s - (t - back)) + (y - back)
    w.s = t
    w.prev = x
    w.diff = fabs(scaled_i - scaled_j)


cdef bint _ascending_finite(const double* v, Py_ssize_t n) noexcept nogil:
    """Ascending (ties allowed) and finite: NaN fails every comparison and ±inf can only sit at
    the ends, so checking the neighbours and the two ends checks every element."""
    cdef Py_ssize_t k
    cdef bint ok = True
    for k in range(n - 1):
        ok &= v[k] <= v[k + 1]
    return ok and (v[0] - v[0] == 0.0) and (v[n - 1] - v[n - 1] == 0.0)


cdef int _ecdf_walk(const double* a, Py_ssize_t n1, const double* b, Py_ssize_t n2,
                    double weight, double* ks, double* w1) noexcept nogil:
    """One merge walk over two ascending arrays, one element per step (a first on ties).

    After every element equal to x is consumed, F_a(x) = i/n1 and F_b(x) = j/n2 (the ECDFs with
    searchsorted side="right", as scipy evaluates them). The walk keeps the ECDF difference
    scaled by n1*n2 and divides once at the end: KS D is its maximum over the distinct values,
    W1 its integral against dx.

    weight, a power of two, further scales the ECDF difference (exactly: it is an integer) so
    that its integral stays within float64 for huge values (_walk_weight); it is 1 otherwise.
    KS D comes out unscaled, W1 times weight.

    Returns 0, or 1/2 when a/b is not ascending or not finite.
    """
    if not _ascending_finite(a, n1):
        return 1
    if not _ascending_finite(b, n2):
        return 2
    cdef Py_ssize_t i = 0, j = 0
    cdef double n1d = <double>n1, n2d = <double>n2, scaled_i = 0.0, scaled_j = 0.0, av, bv
    cdef double step1 = n1d * weight, step2 = n2d * weight
    cdef bint take_a
    cdef _WalkState w
    w.prev = a[0] if a[0] <= b[0] else b[0]
    w.diff = 0.0
    w.best = 0.0
    w.s = 0.0
    w.comp = 0.0
    while i < n1 and j < n2:
        av = a[i]
        bv = b[j]
        take_a = av <= bv
        i += take_a
        j += 1 - take_a
        scaled_i += step2 * <double>take_a
        scaled_j += step1 * <double>(1 - take_a)
        _walk_step(&w, av if take_a else bv, scaled_i, scaled_j)
    while i < n1:
        i += 1
        scaled_i += step2
        _walk_step(&w, a[i - 1], scaled_i, scaled_j)
    while j < n2:
        j += 1
        scaled_j += step1
        _walk_step(&w, b[j - 1], scaled_i, scaled_j)
    ks[0] = (w.best / weight) / (n1d * n2d)
    w1[0] = (w.s + w.comp) / (n1d * n2d)
    return 0


cdef tuple _run_walk(object a, object b, int exponent):
    """(KS D, W1 * 2**-exponent) of two float64 arrays, by _ecdf_walk with weight 2**-exponent."""
    cdef const double[::1] av = a
    cdef const double[::1] bv = b
    cdef Py_ssize_t n1 = av.shape[0], n2 = bv.shape[0]
    cdef double ks = 0.0, w1 = 0.0, weight = ldexp(1.0, -exponent)
    cdef int status
    with nogil:
        status = _ecdf_walk(&av[0], n1, &bv[0], n2, weight, &ks, &w1)
    if status:
        name = "a_sorted" if status == 1 else "b_sorted"
        raise ValueError(f"{name} must be ascending and finite (no NaN or inf)")
    return ks, w1


cdef int _walk_exponent(const double[::1] a, const double[::1] b):
    """The k for which the walk's integral, at most n1 * n2 * 2**-k * (the values' span), stays
    below 2**1022, so that neither it nor a TwoSum in it overflows: 0 but for values within a
    factor ~n1 * n2 of float64's limit. The span is below 2**(e + 1), e the exponent of the
    largest magnitude, which sorted arrays hold at their ends (if they are not sorted and
    finite, the walk refuses them anyway)."""
    cdef Py_ssize_t n1 = a.shape[0], n2 = b.shape[0]
    cdef double largest = max(fabs(a[0]), fabs(a[n1 - 1]), fabs(b[0]), fabs(b[n2 - 1]))
    cdef int e
    if not (largest - largest == 0.0):
        return 0
    frexp(largest, &e)
    return max(0, int(n1).bit_length() + int(n2).bit_length() + e + 1 - 1022)


cdef tuple _walk(object a_sorted, object b_sorted):
    """(KS D, w, e): W1 = w * 2**e, w finite.

    Values near float64's limit would overflow the walk's integral n1*n2*W1: the ECDF
    difference is then weighted by 2**-e (_walk_exponent), which is exact. When the samples span
    more than float64's range (from below -8.9e307 to above 8.9e307), a gap between two values
    is itself beyond float64: the values are halved for W1 (exact but for subnormals, which do
    not matter beside such a span) and KS D is taken from the walk over the values themselves,
    whose D never overflows."""
    a = _check_sorted_input(a_sorted, "a_sorted")
    b = _check_sorted_input(b_sorted, "b_sorted")
    if a.shape[0] == 0 or b.shape[0] == 0:
        raise ValueError(
            f"two-sample statistics need non-empty samples, got sizes {a.shape[0]} and {b.shape[0]}"
        )
    cdef const double[::1] av = a
    cdef const double[::1] bv = b
    cdef int exponent = _walk_exponent(av, bv)
    ks, w1 = _run_walk(a, b, exponent)
    if not (max(av[av.shape[0] - 1], bv[bv.shape[0] - 1]) - min(av[0], bv[0]) < INFINITY):
        w1 = _run_walk(a * 0.5, b * 0.5, exponent)[1]
        exponent += 1
    return ks, w1, exponent


def ks_wasserstein(a_sorted, b_sorted):
    """(KS D, Wasserstein W1) of two ascending finite arrays from one merge walk: the two
    statistics a drift check most often asks for together cost one pass. W1 is inf where it
    exceeds float64 (``ks_wasserstein_scaled`` has it then)."""
    ks, w1, exponent = _walk(a_sorted, b_sorted)
    return ks, ldexp(w1, exponent)


def ks_wasserstein_scaled(a_sorted, b_sorted):
    """``(D, w, e)``: KS D, and W1 = w * 2**e with w finite, also where W1 exceeds float64
    (values near float64's limit), for a ratio to another such quantity."""
    return _walk(a_sorted, b_sorted)


def ks_statistic(a_sorted, b_sorted):
    """Two-sample Kolmogorov-Smirnov D = max over x of |F_a(x) - F_b(x)|.

    Both inputs must be ascending and finite; ties are allowed. Equals
    ``scipy.stats.ks_2samp(a, b).statistic``.
    """
    return _walk(a_sorted, b_sorted)[0]


def wasserstein_sorted(a_sorted, b_sorted):
    """1-D earth mover's distance: the integral over x of |F_a(x) - F_b(x)|.

    Both inputs must be ascending and finite; ties and different sizes are allowed. Equals
    ``scipy.stats.wasserstein_distance(a, b)``; inf where it exceeds float64.
    """
    return ks_wasserstein(a_sorted, b_sorted)[1]
