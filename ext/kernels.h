/* The C inside the Cython kernels (_kernels.pyx): the loops whose vectorisation the compiler
   needs spelled out (SSE2 on x86-64, the scalar loop elsewhere) and the histogram search.
   _kernels.pyx declares what it calls from here with `cdef extern from "kernels.h"`; its
   docstrings and docs/architecture.md (section 5) say what each kernel computes. */
#ifndef MLC_KERNELS_H
#define MLC_KERNELS_H

#include <Python.h>  /* Py_ssize_t */
#include <math.h>    /* HUGE_VAL, NAN */
#include <stdint.h>  /* int64_t */

/* ---- summaries and outside counts ------------------------------------------------------- */
#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#include <emmintrin.h>
#define MLC_SSE2 1
#else
#define MLC_SSE2 0
#endif

/* Sum, min and max of v[0:n]. GCC does not vectorize a floating-point min/max without
   -ffinite-math-only (x < m ? x : m is not commutative under NaN), so this hot loop spells
   out SSE2, the x86-64 baseline; other targets get the scalar loop. MINPD/MAXPD treat NaN
   like the scalar ternary; the result is only used when the sum shows there was none. */
static inline double mlc_sum_min_max(const double *v, Py_ssize_t n,
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

/* sd = sum(v - c), sq = sum((v - c)**2) over v[0:n], eight lanes.
   This pass re-reads a block that is in cache; meanwhile the hardware prefetcher would go
   idle and have to ramp up again on the next block, so the loop prefetches the next
   next_bytes bytes of input itself, one 64-byte line per iteration. */
static inline void mlc_deviation_sums(const double *v, Py_ssize_t n, double c,
                                      const char *next, Py_ssize_t next_bytes,
                                      double *sd_out, double *sq_out) {
    Py_ssize_t i = 0;
    double sd, sq, d;
#if MLC_SSE2
    __m128d cc = _mm_set1_pd(c);
    __m128d a0 = _mm_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    __m128d q0 = a0, q1 = a0, q2 = a0, q3 = a0;
    double ta[2], tq[2];
    for (; i + 8 <= n; i += 8) {
        if (8 * i < next_bytes) _mm_prefetch(next + 8 * i, _MM_HINT_T0);
        __m128d d0 = _mm_sub_pd(_mm_loadu_pd(v + i), cc);
        __m128d d1 = _mm_sub_pd(_mm_loadu_pd(v + i + 2), cc);
        __m128d d2 = _mm_sub_pd(_mm_loadu_pd(v + i + 4), cc);
        __m128d d3 = _mm_sub_pd(_mm_loadu_pd(v + i + 6), cc);
        a0 = _mm_add_pd(a0, d0); a1 = _mm_add_pd(a1, d1);
        a2 = _mm_add_pd(a2, d2); a3 = _mm_add_pd(a3, d3);
        q0 = _mm_add_pd(q0, _mm_mul_pd(d0, d0)); q1 = _mm_add_pd(q1, _mm_mul_pd(d1, d1));
        q2 = _mm_add_pd(q2, _mm_mul_pd(d2, d2)); q3 = _mm_add_pd(q3, _mm_mul_pd(d3, d3));
    }
    _mm_storeu_pd(ta, _mm_add_pd(_mm_add_pd(a0, a1), _mm_add_pd(a2, a3)));
    _mm_storeu_pd(tq, _mm_add_pd(_mm_add_pd(q0, q1), _mm_add_pd(q2, q3)));
    sd = ta[0] + ta[1];
    sq = tq[0] + tq[1];
#else
    (void)next; (void)next_bytes;
    sd = 0.0; sq = 0.0;
#endif
    for (; i < n; i++) {
        d = v[i] - c;
        sd += d;
        sq += d * d;
    }
    *sd_out = sd;
    *sq_out = sq;
}

/* The same two passes over a block that holds NaN or +-inf: non-finite lanes are masked out
   (x - x == 0 exactly for finite x) and counted. Returns the sum of the finite values. */
static inline double mlc_finite_sum_min_max(const double *v, Py_ssize_t n, int64_t *count,
                                            int64_t *pos_inf, int64_t *neg_inf,
                                            double *lo_out, double *hi_out) {
    Py_ssize_t i = 0;
    int64_t c = 0, p = 0, q = 0;
    double s, lo, hi, x;
#if MLC_SSE2
    const __m128d zero = _mm_setzero_pd(), pinf = _mm_set1_pd(HUGE_VAL);
    const __m128d minf = _mm_set1_pd(-HUGE_VAL);
    __m128d s0 = zero, s1 = zero, l0 = pinf, l1 = pinf, h0 = minf, h1 = minf;
    __m128i c0 = _mm_setzero_si128(), p0 = c0, q0 = c0;
    double ts[2], tl[2], th[2];
    int64_t tc[2], tp[2], tq[2];
    for (; i + 4 <= n; i += 4) {
        __m128d x0 = _mm_loadu_pd(v + i), x1 = _mm_loadu_pd(v + i + 2);
        __m128d f0 = _mm_cmpeq_pd(_mm_sub_pd(x0, x0), zero);
        __m128d f1 = _mm_cmpeq_pd(_mm_sub_pd(x1, x1), zero);
        __m128d y0 = _mm_and_pd(f0, x0), y1 = _mm_and_pd(f1, x1);
        s0 = _mm_add_pd(s0, y0); s1 = _mm_add_pd(s1, y1);
        l0 = _mm_min_pd(_mm_or_pd(y0, _mm_andnot_pd(f0, pinf)), l0);
        l1 = _mm_min_pd(_mm_or_pd(y1, _mm_andnot_pd(f1, pinf)), l1);
        h0 = _mm_max_pd(_mm_or_pd(y0, _mm_andnot_pd(f0, minf)), h0);
        h1 = _mm_max_pd(_mm_or_pd(y1, _mm_andnot_pd(f1, minf)), h1);
        /* A true compare is all ones, i.e. -1 as int64: subtracting it counts. */
        c0 = _mm_sub_epi64(c0, _mm_castpd_si128(f0));
        c0 = _mm_sub_epi64(c0, _mm_castpd_si128(f1));
        p0 = _mm_sub_epi64(p0, _mm_castpd_si128(_mm_cmpeq_pd(x0, pinf)));
        p0 = _mm_sub_epi64(p0, _mm_castpd_si128(_mm_cmpeq_pd(x1, pinf)));
        q0 = _mm_sub_epi64(q0, _mm_castpd_si128(_mm_cmpeq_pd(x0, minf)));
        q0 = _mm_sub_epi64(q0, _mm_castpd_si128(_mm_cmpeq_pd(x1, minf)));
    }
    _mm_storeu_pd(ts, _mm_add_pd(s0, s1));
    _mm_storeu_pd(tl, _mm_min_pd(l0, l1));
    _mm_storeu_pd(th, _mm_max_pd(h0, h1));
    _mm_storeu_si128((__m128i *)tc, c0);
    _mm_storeu_si128((__m128i *)tp, p0);
    _mm_storeu_si128((__m128i *)tq, q0);
    s = ts[0] + ts[1];
    lo = tl[0] < tl[1] ? tl[0] : tl[1];
    hi = th[0] > th[1] ? th[0] : th[1];
    c = tc[0] + tc[1]; p = tp[0] + tp[1]; q = tq[0] + tq[1];
#else
    s = 0.0; lo = HUGE_VAL; hi = -HUGE_VAL;
#endif
    for (; i < n; i++) {
        x = v[i];
        if (x - x == 0.0) {
            c++;
            s += x;
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        } else {
            p += x == HUGE_VAL;
            q += x == -HUGE_VAL;
        }
    }
    *count = c; *pos_inf = p; *neg_inf = q;
    *lo_out = lo; *hi_out = hi;
    return s;
}

static inline void mlc_finite_deviation_sums(const double *v, Py_ssize_t n, double c,
                                             double *sd_out, double *sq_out) {
    Py_ssize_t i = 0;
    double sd, sq, d, x;
#if MLC_SSE2
    const __m128d zero = _mm_setzero_pd(), cc = _mm_set1_pd(c);
    __m128d a0 = zero, a1 = zero, q0 = zero, q1 = zero;
    double ta[2], tq[2];
    for (; i + 4 <= n; i += 4) {
        __m128d x0 = _mm_loadu_pd(v + i), x1 = _mm_loadu_pd(v + i + 2);
        __m128d d0 = _mm_and_pd(_mm_cmpeq_pd(_mm_sub_pd(x0, x0), zero), _mm_sub_pd(x0, cc));
        __m128d d1 = _mm_and_pd(_mm_cmpeq_pd(_mm_sub_pd(x1, x1), zero), _mm_sub_pd(x1, cc));
        a0 = _mm_add_pd(a0, d0); a1 = _mm_add_pd(a1, d1);
        q0 = _mm_add_pd(q0, _mm_mul_pd(d0, d0)); q1 = _mm_add_pd(q1, _mm_mul_pd(d1, d1));
    }
    _mm_storeu_pd(ta, _mm_add_pd(a0, a1));
    _mm_storeu_pd(tq, _mm_add_pd(q0, q1));
    sd = ta[0] + ta[1];
    sq = tq[0] + tq[1];
#else
    sd = 0.0; sq = 0.0;
#endif
    for (; i < n; i++) {
        x = v[i];
        if (x - x == 0.0) {
            d = x - c;
            sd += d;
            sq += d * d;
        }
    }
    *sd_out = sd;
    *sq_out = sq;
}

/* Number of v[i] with v[i] < lo or v[i] > hi (NaN compares false either way). */
static inline int64_t mlc_count_outside(const double *v, Py_ssize_t n, double lo, double hi) {
    Py_ssize_t i = 0;
    int64_t c = 0;
#if MLC_SSE2
    const __m128d l = _mm_set1_pd(lo), h = _mm_set1_pd(hi);
    __m128i c0 = _mm_setzero_si128(), c1 = c0;
    int64_t tc[2];
    for (; i + 4 <= n; i += 4) {
        __m128d x0 = _mm_loadu_pd(v + i), x1 = _mm_loadu_pd(v + i + 2);
        c0 = _mm_sub_epi64(c0, _mm_castpd_si128(_mm_or_pd(_mm_cmplt_pd(x0, l), _mm_cmpgt_pd(x0, h))));
        c1 = _mm_sub_epi64(c1, _mm_castpd_si128(_mm_or_pd(_mm_cmplt_pd(x1, l), _mm_cmpgt_pd(x1, h))));
    }
    _mm_storeu_si128((__m128i *)tc, _mm_add_epi64(c0, c1));
    c = tc[0] + tc[1];
#endif
    for (; i < n; i++)
        c += (v[i] < lo) | (v[i] > hi);
    return c;
}

/* ---- histograms on given edges ---------------------------------------------------------- */
#if defined(_MSC_VER)
#define MLC_ALWAYS_INLINE static __forceinline
#else
#define MLC_ALWAYS_INLINE static inline __attribute__((always_inline))
#endif

/* Up to this many edges the histogram counts linearly; above, it binary-searches. */
#define MLC_LINEAR_MAX_EDGES 20
/* Edges compared per sweep over the block: G broadcast edges plus G accumulators plus
   the inputs must fit the 16 XMM registers. */
#define MLC_GROUP_MAX 7

/* ge[k] += #{i : e[k] <= v[i]} for the G edges e[0:G], over v[0:n].
   With mask_nonfinite, x is first replaced by x + (x - x): unchanged when finite (the sum
   is +-0 + 0, equal to x for the comparison), NaN for NaN and +-inf, and NaN compares
   false against every edge, so non-finite values are not counted. Always inlined with a
   constant G, the edge and accumulator arrays live in registers. */
MLC_ALWAYS_INLINE void mlc_count_ge_group(const double *v, Py_ssize_t n, const double *e,
                                          const int G, const int mask_nonfinite,
                                          int64_t *ge) {
    Py_ssize_t i = 0;
    int k;
    int64_t c[MLC_GROUP_MAX];
    double x;
    for (k = 0; k < G; k++) c[k] = 0;
#if MLC_SSE2
    {
        __m128d ev[MLC_GROUP_MAX];
        __m128i acc[MLC_GROUP_MAX];
        int64_t t[2];
        for (k = 0; k < G; k++) {
            ev[k] = _mm_set1_pd(e[k]);
            acc[k] = _mm_setzero_si128();
        }
        for (; i + 2 <= n; i += 2) {
            __m128d x0 = _mm_loadu_pd(v + i);
            if (mask_nonfinite) x0 = _mm_add_pd(x0, _mm_sub_pd(x0, x0));
            /* A true compare is all ones, i.e. -1 as int64: subtracting it counts. */
            for (k = 0; k < G; k++)
                acc[k] = _mm_sub_epi64(acc[k], _mm_castpd_si128(_mm_cmple_pd(ev[k], x0)));
        }
        for (k = 0; k < G; k++) {
            _mm_storeu_si128((__m128i *)t, acc[k]);
            c[k] = t[0] + t[1];
        }
    }
#endif
    for (; i < n; i++) {
        x = v[i];
        if (mask_nonfinite) x = x + (x - x);
        for (k = 0; k < G; k++) c[k] += e[k] <= x;
    }
    for (k = 0; k < G; k++) ge[k] += c[k];
}

#define MLC_GROUP_CASE(G) case G: \
    if (mask) mlc_count_ge_group(v, n, e, G, 1, ge); \
    else mlc_count_ge_group(v, n, e, G, 0, ge); \
    break;

static void mlc_count_ge(const double *v, Py_ssize_t n, const double *e, Py_ssize_t m,
                         int mask, int64_t *ge) {
    /* Edges in sweeps of at most MLC_GROUP_MAX, sizes balanced (10 edges: 5 + 5). */
    Py_ssize_t groups = (m + MLC_GROUP_MAX - 1) / MLC_GROUP_MAX, size;
    while (m > 0) {
        size = (m + groups - 1) / groups;
        switch (size) {
            MLC_GROUP_CASE(1) MLC_GROUP_CASE(2) MLC_GROUP_CASE(3)
            MLC_GROUP_CASE(4) MLC_GROUP_CASE(5) MLC_GROUP_CASE(6) MLC_GROUP_CASE(7)
        }
        e += size; ge += size; m -= size; groups--;
    }
}

/* counts[searchsorted(e, x, "right")] += 1 for each finite x in v[0:n], m <= 20 edges.

   Bin b holds the x with e[b-1] <= x < e[b], so with G(t) = #{finite x : t <= x} its count
   is G(e[b-1]) - G(e[b]), taking e[-1] = -inf (G = the finite count) and G(e[m]) = 0: the
   histogram is m + 1 comparison counts, which vectorise, instead of a search and a
   scattered increment per element (which is latency-bound, and serialises on ties).

   finite < 0: nothing is known about v; non-finite values are masked out (made NaN) and
   the finite count is counted as G(-inf). finite >= 0 (the moments pass knows the block):
   v holds that many finite values and pos_inf times +inf, and no edge is -inf (the caller
   passes only edges above the block's minimum). Then nothing needs masking: NaN and -inf
   compare false against every edge, and every edge counts each +inf, so those are
   subtracted afterwards. */
static void mlc_hist_linear(const double *v, Py_ssize_t n, const double *e, Py_ssize_t m,
                            int64_t finite, int64_t pos_inf, int64_t *counts) {
    double ext[MLC_LINEAR_MAX_EDGES + 1];
    int64_t ge[MLC_LINEAR_MAX_EDGES + 1];
    Py_ssize_t k;
    ext[0] = -HUGE_VAL;
    for (k = 0; k < m; k++) ext[k + 1] = e[k];
    for (k = 0; k <= m; k++) ge[k] = 0;
    if (n == 0) return;
    if (finite >= 0) {
        mlc_count_ge(v, n, ext + 1, m, 0, ge + 1);
        ge[0] = finite;
        for (k = 1; k <= m; k++) ge[k] -= pos_inf;
    } else {
        mlc_count_ge(v, n, ext, m + 1, 1, ge);
    }
    for (k = 0; k < m; k++) counts[k] += ge[k] - ge[k + 1];
    counts[m] += ge[m];
}

/* Number of e[k] <= x for ascending e[0:m], m >= 1 (np.searchsorted(e, x, side="right")),
   for MLC_LANES values at once. Each search is a chain of dependent loads (~7 cycles a
   level), so the time goes to latency: eight independent chains keep the CPU busy. The
   halving step is a conditional move, so random data cost no mispredictions. */
#define MLC_LANES 8
MLC_ALWAYS_INLINE void mlc_search_lanes(const double *e, Py_ssize_t m, const double *x,
                                        Py_ssize_t *out) {
    const double *b[MLC_LANES];
    Py_ssize_t len = m, half;
    int j;
    for (j = 0; j < MLC_LANES; j++) b[j] = e;
    while (len > 1) {
        half = len >> 1;
        for (j = 0; j < MLC_LANES; j++) b[j] = b[j][half] <= x[j] ? b[j] + half : b[j];
        len -= half;
    }
    for (j = 0; j < MLC_LANES; j++) out[j] = (b[j] - e) + (b[j][0] <= x[j]);
}

/* x[0:8] = v[0:8] with non-finite values made NaN (x + (x - x)); returns how many. */
MLC_ALWAYS_INLINE int64_t mlc_nan_out_8(const double *v, double *x) {
#if MLC_SSE2
    __m128i bad = _mm_setzero_si128();
    int64_t t[2];
    int j;
    for (j = 0; j < 8; j += 2) {
        __m128d y = _mm_loadu_pd(v + j);
        y = _mm_add_pd(y, _mm_sub_pd(y, y));
        bad = _mm_sub_epi64(bad, _mm_castpd_si128(_mm_cmpunord_pd(y, y)));
        _mm_storeu_pd(x + j, y);
    }
    _mm_storeu_si128((__m128i *)t, bad);
    return t[0] + t[1];
#else
    int64_t bad = 0;
    int j;
    for (j = 0; j < 8; j++) {
        x[j] = v[j] + (v[j] - v[j]);
        bad += x[j] != x[j];
    }
    return bad;
#endif
}

/* counts[searchsorted(e, x, "right")] += 1 for each finite x in v[0:n], m >= 1 edges.
   Non-finite x are made NaN, which lands in bin 0 like any value below e[0]; they are
   counted on the side and taken back out, so the loop has no data-dependent branches. */
static void mlc_hist_search(const double *v, Py_ssize_t n, const double *e, Py_ssize_t m,
                            int64_t *counts) {
    Py_ssize_t i = 0, pos[MLC_LANES];
    double x[MLC_LANES], pad[MLC_LANES];
    int64_t nonfinite = 0;
    int j;
    for (; i + MLC_LANES <= n; i += MLC_LANES) {
        nonfinite += mlc_nan_out_8(v + i, x);
        mlc_search_lanes(e, m, x, pos);
        for (j = 0; j < MLC_LANES; j++) counts[pos[j]]++;
    }
    if (i < n) {  /* the tail, padded with NaN (also taken back out) */
        for (j = 0; j < MLC_LANES; j++) pad[j] = i + j < n ? v[i + j] : NAN;
        nonfinite += mlc_nan_out_8(pad, x);
        mlc_search_lanes(e, m, x, pos);
        for (j = 0; j < MLC_LANES; j++) counts[pos[j]]++;
    }
    counts[0] -= nonfinite;
}

#endif /* MLC_KERNELS_H */
