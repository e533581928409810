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

/* AVX2 versions of the hottest loops, chosen at run time (mlc_use_avx2, set from the CPU when
   the module loads): the build targets the x86-64 baseline, SSE2, so that the wheel runs
   everywhere, and GCC and Clang compile a function for a newer instruction set on request.
   Each AVX2 loop gives its SSE2 twin's result bit for bit: its 4-wide lanes hold the values
   the SSE2 loop's pairs of 2-wide accumulators held, in the same order, and are reduced in
   the SSE2 loop's order; the counts are integers. tests/engines/test_kernels.py runs both. */
#if MLC_SSE2 && defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(MLC_NO_AVX2)
#include <immintrin.h>
#define MLC_AVX2 1
#define MLC_TARGET_AVX2 __attribute__((target("avx2")))
#else
#define MLC_AVX2 0
#endif

static int mlc_use_avx2 = 0;

/* Whether this CPU runs the AVX2 loops; mlc_use_avx2 starts from it. */
static int mlc_cpu_has_avx2(void) {
#if MLC_AVX2
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
#else
    return 0;
#endif
}

#if MLC_AVX2
/* The AVX2 twins below run only the vector loop and its reduction, and return how far they
   got: the scalar tail, where the last values are added one by one, is their SSE2 loop's own
   (one copy, in the function that picks the level), so both levels end alike. */

/* mlc_sum_min_max's loop, 4 lanes wide: the accumulators a hold its lanes 0-3 (s0, s1),
   b its lanes 4-7 (s2, s3), reduced in its order: (s0 + s1) + (s2 + s3). */
MLC_TARGET_AVX2 static Py_ssize_t mlc_sum_min_max_avx2(const double *v, Py_ssize_t n,
                                                       double *s, double *lo, double *hi) {
    Py_ssize_t i = 0;
    double ts[2], tl[2], th[2];
    __m256d sa = _mm256_setzero_pd(), sb = sa;
    __m256d la = _mm256_set1_pd(HUGE_VAL), lb = la, ha = _mm256_set1_pd(-HUGE_VAL), hb = ha;
    for (; i + 8 <= n; i += 8) {
        __m256d xa = _mm256_loadu_pd(v + i), xb = _mm256_loadu_pd(v + i + 4);
        sa = _mm256_add_pd(sa, xa); sb = _mm256_add_pd(sb, xb);
        la = _mm256_min_pd(xa, la); lb = _mm256_min_pd(xb, lb);
        ha = _mm256_max_pd(xa, ha); hb = _mm256_max_pd(xb, hb);
    }
    _mm_storeu_pd(ts, _mm_add_pd(_mm_add_pd(_mm256_castpd256_pd128(sa), _mm256_extractf128_pd(sa, 1)),
                                 _mm_add_pd(_mm256_castpd256_pd128(sb), _mm256_extractf128_pd(sb, 1))));
    _mm_storeu_pd(tl, _mm_min_pd(_mm_min_pd(_mm256_castpd256_pd128(la), _mm256_extractf128_pd(la, 1)),
                                 _mm_min_pd(_mm256_castpd256_pd128(lb), _mm256_extractf128_pd(lb, 1))));
    _mm_storeu_pd(th, _mm_max_pd(_mm_max_pd(_mm256_castpd256_pd128(ha), _mm256_extractf128_pd(ha, 1)),
                                 _mm_max_pd(_mm256_castpd256_pd128(hb), _mm256_extractf128_pd(hb, 1))));
    *s = ts[0] + ts[1];
    *lo = tl[0] < tl[1] ? tl[0] : tl[1];
    *hi = th[0] > th[1] ? th[0] : th[1];
    return i;
}

/* mlc_deviation_sums' loop, 4 lanes wide, lanes as in mlc_sum_min_max_avx2. */
MLC_TARGET_AVX2 static Py_ssize_t mlc_deviation_sums_avx2(const double *v, Py_ssize_t n, double c, const char *next,
                                                          Py_ssize_t next_bytes, double *sd, double *sq) {
    Py_ssize_t i = 0;
    double ta[2], tq[2];
    const __m256d cc = _mm256_set1_pd(c);
    __m256d aa = _mm256_setzero_pd(), ab = aa, qa = aa, qb = aa;
    for (; i + 8 <= n; i += 8) {
        if (8 * i < next_bytes) _mm_prefetch(next + 8 * i, _MM_HINT_T0);
        __m256d da = _mm256_sub_pd(_mm256_loadu_pd(v + i), cc);
        __m256d db = _mm256_sub_pd(_mm256_loadu_pd(v + i + 4), cc);
        aa = _mm256_add_pd(aa, da); ab = _mm256_add_pd(ab, db);
        qa = _mm256_add_pd(qa, _mm256_mul_pd(da, da)); qb = _mm256_add_pd(qb, _mm256_mul_pd(db, db));
    }
    _mm_storeu_pd(ta, _mm_add_pd(_mm_add_pd(_mm256_castpd256_pd128(aa), _mm256_extractf128_pd(aa, 1)),
                                 _mm_add_pd(_mm256_castpd256_pd128(ab), _mm256_extractf128_pd(ab, 1))));
    _mm_storeu_pd(tq, _mm_add_pd(_mm_add_pd(_mm256_castpd256_pd128(qa), _mm256_extractf128_pd(qa, 1)),
                                 _mm_add_pd(_mm256_castpd256_pd128(qb), _mm256_extractf128_pd(qb, 1))));
    *sd = ta[0] + ta[1];
    *sq = tq[0] + tq[1];
    return i;
}
#endif

/* Sum, min and max of v[0:n]. GCC does not vectorize a floating-point min/max without
   -ffinite-math-only (x < m ? x : m is not commutative under NaN), so this hot loop spells
   out SSE2, the x86-64 baseline; other targets get the scalar loop. MINPD/MAXPD treat NaN
   like the scalar ternary; the result is only used when the sum shows there was none. */
static inline double mlc_sum_min_max(const double *v, Py_ssize_t n,
                                     double *lo_out, double *hi_out) {
    Py_ssize_t i = 0;
    double s = 0.0, lo = HUGE_VAL, hi = -HUGE_VAL, x;
#if MLC_AVX2
    if (mlc_use_avx2) i = mlc_sum_min_max_avx2(v, n, &s, &lo, &hi);
    else
#endif
    {
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
#endif
    }
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
    double sd = 0.0, sq = 0.0, d;
#if MLC_AVX2
    if (mlc_use_avx2) i = mlc_deviation_sums_avx2(v, n, c, next, next_bytes, &sd, &sq);
    else
#endif
    {
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
#endif
    }
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

#if MLC_AVX2
/* mlc_nan_sum_min_max's loop, 4 lanes wide: lanes 0-1 are its s0/l0/h0, lanes 2-3 its s1/l1/h1. */
MLC_TARGET_AVX2 static Py_ssize_t mlc_nan_sum_min_max_avx2(const double *v, Py_ssize_t n, int64_t *c,
                                                           double *s, double *lo, double *hi) {
    Py_ssize_t i = 0;
    int64_t tc[4];
    double ts[2], tl[2], th[2];
    __m256d s0 = _mm256_setzero_pd(), l0 = _mm256_set1_pd(HUGE_VAL), h0 = _mm256_set1_pd(-HUGE_VAL);
    __m256i c0 = _mm256_setzero_si256();
    for (; i + 4 <= n; i += 4) {
        __m256d x0 = _mm256_loadu_pd(v + i);
        __m256d o0 = _mm256_cmp_pd(x0, x0, _CMP_ORD_Q);
        s0 = _mm256_add_pd(s0, _mm256_and_pd(o0, x0));
        l0 = _mm256_min_pd(x0, l0);
        h0 = _mm256_max_pd(x0, h0);
        c0 = _mm256_sub_epi64(c0, _mm256_castpd_si256(o0));
    }
    _mm_storeu_pd(ts, _mm_add_pd(_mm256_castpd256_pd128(s0), _mm256_extractf128_pd(s0, 1)));
    _mm_storeu_pd(tl, _mm_min_pd(_mm256_castpd256_pd128(l0), _mm256_extractf128_pd(l0, 1)));
    _mm_storeu_pd(th, _mm_max_pd(_mm256_castpd256_pd128(h0), _mm256_extractf128_pd(h0, 1)));
    _mm256_storeu_si256((__m256i *)tc, c0);
    *s = ts[0] + ts[1];
    *lo = tl[0] < tl[1] ? tl[0] : tl[1];
    *hi = th[0] > th[1] ? th[0] : th[1];
    *c = tc[0] + tc[1] + tc[2] + tc[3];
    return i;
}

/* mlc_nan_deviation_sums' loop, 4 lanes wide: lanes 0-1 are its a0/q0, lanes 2-3 its a1/q1. */
MLC_TARGET_AVX2 static Py_ssize_t mlc_nan_deviation_sums_avx2(const double *v, Py_ssize_t n, double c,
                                                              double *sd, double *sq) {
    Py_ssize_t i = 0;
    double ta[2], tq[2];
    const __m256d cc = _mm256_set1_pd(c);
    __m256d a0 = _mm256_setzero_pd(), q0 = a0;
    for (; i + 4 <= n; i += 4) {
        __m256d x0 = _mm256_loadu_pd(v + i);
        __m256d d0 = _mm256_and_pd(_mm256_cmp_pd(x0, x0, _CMP_ORD_Q), _mm256_sub_pd(x0, cc));
        a0 = _mm256_add_pd(a0, d0);
        /* no FMA: the SSE2 loop rounds the product, then the sum */
        q0 = _mm256_add_pd(q0, _mm256_mul_pd(d0, d0));
    }
    _mm_storeu_pd(ta, _mm_add_pd(_mm256_castpd256_pd128(a0), _mm256_extractf128_pd(a0, 1)));
    _mm_storeu_pd(tq, _mm_add_pd(_mm256_castpd256_pd128(q0), _mm256_extractf128_pd(q0, 1)));
    *sd = ta[0] + ta[1];
    *sq = tq[0] + tq[1];
    return i;
}
#endif

/* The first pass over a block that holds NaN but, most likely, no infinity (NaN as the
   missing value): sum, count, min and max of its non-NaN values. NaN lanes are masked out of
   the sum and the count, and MINPD/MAXPD skip them by themselves: given a NaN first operand
   they return the second, the accumulator. Infinities are not masked, so the caller checks
   lo and hi (a +inf makes hi +inf, a -inf makes lo -inf) and redoes such a block with
   mlc_finite_sum_min_max. On a block without infinity every result is that function's, bit
   for bit (the same lanes, summed in the same order): half the instructions per value. */
static inline double mlc_nan_sum_min_max(const double *v, Py_ssize_t n, int64_t *count,
                                         double *lo_out, double *hi_out) {
    Py_ssize_t i = 0;
    int64_t c = 0;
    double s = 0.0, lo = HUGE_VAL, hi = -HUGE_VAL, x;
#if MLC_AVX2
    if (mlc_use_avx2) i = mlc_nan_sum_min_max_avx2(v, n, &c, &s, &lo, &hi);
    else
#endif
    {
#if MLC_SSE2
        __m128d s0 = _mm_setzero_pd(), s1 = s0;
        __m128d l0 = _mm_set1_pd(HUGE_VAL), l1 = l0, h0 = _mm_set1_pd(-HUGE_VAL), h1 = h0;
        __m128i c0 = _mm_setzero_si128();
        double ts[2], tl[2], th[2];
        int64_t tc[2];
        for (; i + 4 <= n; i += 4) {
            __m128d x0 = _mm_loadu_pd(v + i), x1 = _mm_loadu_pd(v + i + 2);
            __m128d o0 = _mm_cmpord_pd(x0, x0), o1 = _mm_cmpord_pd(x1, x1);
            s0 = _mm_add_pd(s0, _mm_and_pd(o0, x0)); s1 = _mm_add_pd(s1, _mm_and_pd(o1, x1));
            l0 = _mm_min_pd(x0, l0); l1 = _mm_min_pd(x1, l1);
            h0 = _mm_max_pd(x0, h0); h1 = _mm_max_pd(x1, h1);
            c0 = _mm_sub_epi64(c0, _mm_castpd_si128(o0));
            c0 = _mm_sub_epi64(c0, _mm_castpd_si128(o1));
        }
        _mm_storeu_pd(ts, _mm_add_pd(s0, s1));
        _mm_storeu_pd(tl, _mm_min_pd(l0, l1));
        _mm_storeu_pd(th, _mm_max_pd(h0, h1));
        _mm_storeu_si128((__m128i *)tc, c0);
        s = ts[0] + ts[1];
        lo = tl[0] < tl[1] ? tl[0] : tl[1];
        hi = th[0] > th[1] ? th[0] : th[1];
        c = tc[0] + tc[1];
#endif
    }
    for (; i < n; i++) {
        x = v[i];
        if (x == x) {
            c++;
            s += x;
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
    }
    *count = c;
    *lo_out = lo; *hi_out = hi;
    return s;
}

/* mlc_finite_deviation_sums for a block whose non-finite values are all NaN (after
   mlc_nan_sum_min_max found no infinity): the same sums, bit for bit, with one compare
   instead of x - x == 0 to mask. */
static inline void mlc_nan_deviation_sums(const double *v, Py_ssize_t n, double c,
                                          double *sd_out, double *sq_out) {
    Py_ssize_t i = 0;
    double sd = 0.0, sq = 0.0, d, x;
#if MLC_AVX2
    if (mlc_use_avx2) i = mlc_nan_deviation_sums_avx2(v, n, c, &sd, &sq);
    else
#endif
    {
#if MLC_SSE2
        const __m128d cc = _mm_set1_pd(c);
        __m128d a0 = _mm_setzero_pd(), a1 = a0, q0 = a0, q1 = a0;
        double ta[2], tq[2];
        for (; i + 4 <= n; i += 4) {
            __m128d x0 = _mm_loadu_pd(v + i), x1 = _mm_loadu_pd(v + i + 2);
            __m128d d0 = _mm_and_pd(_mm_cmpord_pd(x0, x0), _mm_sub_pd(x0, cc));
            __m128d d1 = _mm_and_pd(_mm_cmpord_pd(x1, x1), _mm_sub_pd(x1, cc));
            a0 = _mm_add_pd(a0, d0); a1 = _mm_add_pd(a1, d1);
            q0 = _mm_add_pd(q0, _mm_mul_pd(d0, d0)); q1 = _mm_add_pd(q1, _mm_mul_pd(d1, d1));
        }
        _mm_storeu_pd(ta, _mm_add_pd(a0, a1));
        _mm_storeu_pd(tq, _mm_add_pd(q0, q1));
        sd = ta[0] + ta[1];
        sq = tq[0] + tq[1];
#endif
    }
    for (; i < n; i++) {
        x = v[i];
        if (x == x) {
            d = x - c;
            sd += d;
            sq += d * d;
        }
    }
    *sd_out = sd;
    *sq_out = sq;
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

/* The values v[i:n] after a group's vector loop, one at a time, then the group's counts c
   added to ge (both levels). */
MLC_ALWAYS_INLINE void mlc_count_ge_tail(const double *v, Py_ssize_t i, Py_ssize_t n, const double *e,
                                         const int G, const int mask_nonfinite, int64_t *c, int64_t *ge) {
    int k;
    double x;
    for (; i < n; i++) {
        x = v[i];
        if (mask_nonfinite) x = x + (x - x);
        for (k = 0; k < G; k++) c[k] += e[k] <= x;
    }
    for (k = 0; k < G; k++) ge[k] += c[k];
}

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
    mlc_count_ge_tail(v, i, n, e, G, mask_nonfinite, c, ge);
}

/* The edges in sweeps of at most MLC_GROUP_MAX, sizes balanced (10 edges: 5 + 5), each sweep
   by GROUP (mlc_count_ge_group or its AVX2 twin) with a constant group size. */
#define MLC_GROUP_CASE(GROUP, G) case G: \
    if (mask) GROUP(v, n, e, G, 1, ge); \
    else GROUP(v, n, e, G, 0, ge); \
    break;
#define MLC_COUNT_GE_SWEEPS(GROUP) do { \
    Py_ssize_t groups = (m + MLC_GROUP_MAX - 1) / MLC_GROUP_MAX, size; \
    while (m > 0) { \
        size = (m + groups - 1) / groups; \
        switch (size) { \
            MLC_GROUP_CASE(GROUP, 1) MLC_GROUP_CASE(GROUP, 2) MLC_GROUP_CASE(GROUP, 3) \
            MLC_GROUP_CASE(GROUP, 4) MLC_GROUP_CASE(GROUP, 5) MLC_GROUP_CASE(GROUP, 6) \
            MLC_GROUP_CASE(GROUP, 7) \
        } \
        e += size; ge += size; m -= size; groups--; \
    } \
} while (0)

#if MLC_AVX2
/* mlc_count_ge_group 4 values at a time (16 YMM registers hold the same G edges and
   accumulators); the counts are the same integers. */
MLC_ALWAYS_INLINE MLC_TARGET_AVX2 void mlc_count_ge_group_avx2(const double *v, Py_ssize_t n, const double *e,
                                                               const int G, const int mask_nonfinite,
                                                               int64_t *ge) {
    Py_ssize_t i = 0;
    int k;
    int64_t c[MLC_GROUP_MAX], t[4];
    __m256d ev[MLC_GROUP_MAX];
    __m256i acc[MLC_GROUP_MAX];
    for (k = 0; k < G; k++) {
        ev[k] = _mm256_set1_pd(e[k]);
        acc[k] = _mm256_setzero_si256();
    }
    for (; i + 4 <= n; i += 4) {
        __m256d x0 = _mm256_loadu_pd(v + i);
        if (mask_nonfinite) x0 = _mm256_add_pd(x0, _mm256_sub_pd(x0, x0));
        for (k = 0; k < G; k++)
            acc[k] = _mm256_sub_epi64(acc[k], _mm256_castpd_si256(_mm256_cmp_pd(ev[k], x0, _CMP_LE_OQ)));
    }
    for (k = 0; k < G; k++) {
        _mm256_storeu_si256((__m256i *)t, acc[k]);
        c[k] = t[0] + t[1] + t[2] + t[3];
    }
    mlc_count_ge_tail(v, i, n, e, G, mask_nonfinite, c, ge);
}

MLC_TARGET_AVX2 static void mlc_count_ge_avx2(const double *v, Py_ssize_t n, const double *e, Py_ssize_t m,
                                              int mask, int64_t *ge) {
    MLC_COUNT_GE_SWEEPS(mlc_count_ge_group_avx2);
}
#endif

static void mlc_count_ge(const double *v, Py_ssize_t n, const double *e, Py_ssize_t m,
                         int mask, int64_t *ge) {
#if MLC_AVX2
    if (mlc_use_avx2) {
        mlc_count_ge_avx2(v, n, e, m, mask, ge);
        return;
    }
#endif
    MLC_COUNT_GE_SWEEPS(mlc_count_ge_group);
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

/* ---- the order-statistics selection's buckets (AVX2 only; _kernels.pyx has the scalar loops) */
#if MLC_AVX2
/* The buckets of x[0:4] by _kernels.pyx's _bucket: floor((x - lo) * scale), 0 at or below 0,
   `last` at or beyond it. MAXPD returns its second operand for a NaN position, so a
   non-finite x gets bucket 0 here; the callers mask it out. No FMA: the product of the
   rounded difference, as in the scalar loop. */
MLC_ALWAYS_INLINE MLC_TARGET_AVX2 __m128i mlc_buckets4(__m256d x, __m256d lo, __m256d scale, __m256d last) {
    __m256d p = _mm256_mul_pd(_mm256_sub_pd(x, lo), scale);
    return _mm256_cvttpd_epi32(_mm256_min_pd(_mm256_max_pd(p, _mm256_setzero_pd()), last));
}

/* counts[bucket(x)] += 1 for each finite x of v[0:4k] (the caller does the tail): the buckets
   of four values at once, then four increments weighted by finiteness (no branch). */
MLC_TARGET_AVX2 static Py_ssize_t mlc_bucket_counts_avx2(const double *v, Py_ssize_t n, double lo, double scale,
                                                         Py_ssize_t last, int64_t *counts) {
    const __m256d vlo = _mm256_set1_pd(lo), vscale = _mm256_set1_pd(scale), vlast = _mm256_set1_pd((double)last);
    const __m256d zero = _mm256_setzero_pd();
    int32_t b[4];
    Py_ssize_t i = 0;
    int f;
    for (; i + 4 <= n; i += 4) {
        __m256d x = _mm256_loadu_pd(v + i);
        f = _mm256_movemask_pd(_mm256_cmp_pd(_mm256_sub_pd(x, x), zero, _CMP_EQ_OQ));
        _mm_storeu_si128((__m128i *)b, mlc_buckets4(x, vlo, vscale, vlast));
        counts[b[0]] += f & 1;
        counts[b[1]] += (f >> 1) & 1;
        counts[b[2]] += (f >> 2) & 1;
        counts[b[3]] += (f >> 3) & 1;
    }
    return i;
}

/* The selection's gather over v[0:4k] (float64, no nulls): each finite x whose bucket has a
   slot (slot[bucket] >= 0) goes to out[fill[slot]++]. The four slots are looked up at once and
   most values have none, so the common step has no branch to mispredict. Returns -1, or the
   slot that would overflow end[slot]; *done: how far it got (the caller does the tail). */
MLC_TARGET_AVX2 static Py_ssize_t mlc_gather_avx2(const double *v, Py_ssize_t n, double lo, double scale,
                                                  Py_ssize_t last, const int32_t *slot, double *out,
                                                  int64_t *fill, const int64_t *end, Py_ssize_t *done) {
    const __m256d vlo = _mm256_set1_pd(lo), vscale = _mm256_set1_pd(scale), vlast = _mm256_set1_pd((double)last);
    const __m256d zero = _mm256_setzero_pd();
    int32_t s[4];
    Py_ssize_t i = 0;
    int j, keep;
    for (; i + 4 <= n; i += 4) {
        __m256d x = _mm256_loadu_pd(v + i);
        __m128i finite = _mm256_cvtpd_epi32(_mm256_and_pd(  /* all ones (-1) where finite, else 0 */
            _mm256_cmp_pd(_mm256_sub_pd(x, x), zero, _CMP_EQ_OQ), _mm256_set1_pd(-1.0)));
        __m128i got = _mm_i32gather_epi32((const int *)slot, mlc_buckets4(x, vlo, vscale, vlast), 4);
        /* a slot counts where it is >= 0 and x is finite */
        keep = _mm_movemask_ps(_mm_castsi128_ps(_mm_andnot_si128(got, finite)));
        if (!keep) continue;
        _mm_storeu_si128((__m128i *)s, got);
        for (j = 0; j < 4; j++) {
            if (!((keep >> j) & 1)) continue;
            if (fill[s[j]] >= end[s[j]]) { *done = i; return s[j]; }
            out[fill[s[j]]++] = v[i + j];
        }
    }
    *done = i;
    return -1;
}
#else
/* Without AVX2 (never called: mlc_use_avx2 stays 0), the scalar loops do all of it. */
static Py_ssize_t mlc_bucket_counts_avx2(const double *v, Py_ssize_t n, double lo, double scale,
                                         Py_ssize_t last, int64_t *counts) {
    (void)v; (void)n; (void)lo; (void)scale; (void)last; (void)counts;
    return 0;
}
static Py_ssize_t mlc_gather_avx2(const double *v, Py_ssize_t n, double lo, double scale, Py_ssize_t last,
                                  const int32_t *slot, double *out, int64_t *fill, const int64_t *end,
                                  Py_ssize_t *done) {
    (void)v; (void)n; (void)lo; (void)scale; (void)last; (void)slot; (void)out; (void)fill; (void)end;
    *done = 0;
    return -1;
}
#endif

#endif /* MLC_KERNELS_H */
