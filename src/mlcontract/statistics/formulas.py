"""The statistic definitions, as pure functions of counts, sorted values and summaries.

One documented definition each (docs/language.md, "Statistics"); every one is tested against
an independent oracle in tests/statistics/test_statistics.py. Inputs were already stripped of null, NaN
and ±inf by the backend: distribution statistics use finite values only.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np

from ..errors import CheckError

SHARE_FLOOR = 1e-4  # psi and kl clip bin shares from below so an empty bin is not infinite


# ---- binning ---------------------------------------------------------------------------------
def quantile_edges(sorted_reference: np.ndarray, bins: int) -> np.ndarray:
    """Inner bin edges: the reference's quantiles at 1/bins … (bins−1)/bins (numpy's default
    linear interpolation), duplicates dropped. Bins are [e_i, e_i+1) with open outer bins."""
    if sorted_reference.size == 0:
        raise CheckError("the reference has no finite values to take bin edges from")
    return np.unique(sorted_quantiles(sorted_reference, edge_probabilities(bins)))


def edge_probabilities(bins: int) -> np.ndarray:
    return np.arange(1, bins) / bins


def sorted_quantiles(sorted_values: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """np.quantile(values, probabilities) (method "linear"), bit for bit, for values already
    sorted ascending. numpy re-partitions a copy of its input even when it is sorted (~6 ms per
    million values); on sorted input the quantile is two lookups and numpy's own interpolation
    (_lerp), replicated here. tests/statistics/test_statistics.py checks bit equality with np.quantile."""
    previous, following, gamma = quantile_positions(sorted_values.size, probabilities)
    return interpolate(sorted_values[previous], sorted_values[following], gamma)


def quantile_positions(n: int, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """numpy's (method "linear") positions of the two order statistics each quantile of n values
    lies between, and the weight of the upper one. As in numpy, -1 stands for the last."""
    virtual = (n - 1) * np.asarray(probabilities, dtype=np.float64)
    previous = np.floor(virtual)
    following = previous + 1
    above = virtual >= n - 1
    previous[above] = -1
    following[above] = -1
    below = virtual < 0
    previous[below] = 0
    following[below] = 0
    gamma = virtual - previous
    return previous.astype(np.intp), following.astype(np.intp), gamma


def interpolate(low: np.ndarray, high: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """numpy's _lerp between the two order statistics of each quantile."""
    with np.errstate(over="ignore", invalid="ignore"):
        difference = high - low
        result = low + difference * gamma
        np.subtract(high, difference * (1 - gamma), out=result, where=gamma >= 0.5)
        # Only when high - low overflows (values spanning more than the float range, ±1e308) does
        # numpy's formula give inf/NaN between two finite values; the weighted sum cannot overflow.
        broken = ~np.isfinite(result) & np.isfinite(low) & np.isfinite(high)
        if broken.any():
            result[broken] = low[broken] * (1 - gamma[broken]) + high[broken] * gamma[broken]
    return result


def shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    if total == 0:
        raise CheckError("no values to compare (every value is null, NaN or infinite)")
    return counts / total


def aligned_category_counts(subject: dict, reference: dict) -> tuple[np.ndarray, np.ndarray, list]:
    """Counts of both samples over the union of their categories (one bin per category)."""
    keys = list(dict.fromkeys([*reference.keys(), *subject.keys()]))
    cur = np.array([subject.get(k, 0) for k in keys], dtype=np.float64)
    ref = np.array([reference.get(k, 0) for k in keys], dtype=np.float64)
    return cur, ref, keys


# ---- histogram-family two-sample statistics (cur = subject, ref = the `vs` dataset) ----------
def psi(cur_counts: np.ndarray, ref_counts: np.ndarray) -> float:
    """Σ (cur−ref)·ln(cur/ref) over bins, shares clipped below at 1e-4."""
    cur = np.maximum(shares(cur_counts), SHARE_FLOOR)
    ref = np.maximum(shares(ref_counts), SHARE_FLOOR)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def kl(cur_counts: np.ndarray, ref_counts: np.ndarray) -> float:
    """KL(cur ‖ ref) = Σ cur·ln(cur/ref), natural log, shares clipped below at 1e-4 and
    renormalised (scipy.stats.entropy normalises its inputs the same way)."""
    cur = np.maximum(shares(cur_counts), SHARE_FLOOR)
    ref = np.maximum(shares(ref_counts), SHARE_FLOOR)
    cur, ref = cur / cur.sum(), ref / ref.sum()
    return float(np.sum(cur * np.log(cur / ref)))


def js(cur_counts: np.ndarray, ref_counts: np.ndarray) -> float:
    """Jensen–Shannon distance (the square root of the divergence), base 2, in [0, 1]."""
    p, q = shares(cur_counts), shares(ref_counts)
    m = 0.5 * (p + q)
    divergence = 0.5 * (_xlogy_ratio(p, m) + _xlogy_ratio(q, m)) / math.log(2.0)
    return float(math.sqrt(max(divergence, 0.0)))


def hellinger(cur_counts: np.ndarray, ref_counts: np.ndarray) -> float:
    """sqrt(1 − Σ sqrt(p·q)), in [0, 1]."""
    p, q = shares(cur_counts), shares(ref_counts)
    return float(math.sqrt(max(0.0, 1.0 - float(np.sum(np.sqrt(p * q))))))


def linf(cur_counts: np.ndarray, ref_counts: np.ndarray) -> float:
    """max |p_i − q_i| over bins."""
    return float(np.max(np.abs(shares(cur_counts) - shares(ref_counts))))


def chi2_pvalue(cur_counts: np.ndarray, ref_counts: np.ndarray) -> float:
    """p-value of scipy.stats.chi2_contingency on the 2×K table (bins empty in both dropped;
    its default Yates correction applies when K = 2)."""
    from scipy.stats import chi2_contingency

    table = np.vstack([cur_counts, ref_counts])
    table = table[:, table.sum(axis=0) > 0]
    if table.sum(axis=1).min() == 0:
        raise CheckError("one of the samples has no values")
    if table.shape[1] < 2:
        return 1.0  # one category: the two samples cannot differ
    return float(chi2_contingency(table).pvalue)


def _xlogy_ratio(p: np.ndarray, m: np.ndarray) -> float:
    nonzero = p > 0
    return float(np.sum(p[nonzero] * np.log(p[nonzero] / m[nonzero])))


# ---- statistics of sorted samples ------------------------------------------------------------
# scipy.stats.ks_2samp computes the p-value exactly up to this sample size, asymptotically above.
_KS_EXACT_LIMIT = 10_000


@dataclass(frozen=True)
class Walk:
    """The result of one merge walk over two sorted samples. The Wasserstein distance is
    `scaled_wasserstein` · 2**`exponent`: the exponent is 0 but for values near float64's limit,
    where the distance itself may exceed float64 while its ratio to a std does not.

    It also carries what ks_pvalue needs, so that neither sample has to outlive the walk: the
    number of values each stands for, and the samples themselves only where scipy's exact
    small-sample p-value reads them (both small, neither a profile's grid)."""

    ks: float
    scaled_wasserstein: float
    exponent: int = 0
    sizes: tuple[int, int] = (0, 0)  # values the current and the reference sample stand for
    samples: tuple[np.ndarray, np.ndarray] | None = field(default=None, compare=False, repr=False)

    @property
    def wasserstein(self) -> float:
        """The distance; inf where it exceeds float64."""
        return _times_power_of_two(self.scaled_wasserstein, self.exponent)


def walk(cur_sorted: np.ndarray, ref_sorted: np.ndarray) -> Walk:
    from .._kernels import ks_wasserstein_scaled

    _need_values(cur_sorted, ref_sorted)
    d, w, exponent = ks_wasserstein_scaled(cur_sorted, ref_sorted)
    sizes = (_represented(cur_sorted), _represented(ref_sorted))
    exact = _exact_ks(cur_sorted, ref_sorted)
    return Walk(float(d), float(w), int(exponent), sizes, (cur_sorted, ref_sorted) if exact else None)


def wasserstein(walked: Walk) -> float:
    """The Wasserstein distance of the walk; an error where it exceeds float64 (samples near
    ±1.8e308 that lie apart)."""
    value = walked.wasserstein
    if math.isinf(value):
        raise CheckError(f"the wasserstein distance exceeds the float64 range ({sys.float_info.max:.3g})")
    return value


def _times_power_of_two(value: float, exponent: int) -> float:
    """value · 2**exponent, inf where it overflows (math.ldexp raises instead)."""
    try:
        return math.ldexp(value, exponent)
    except OverflowError:
        return math.copysign(math.inf, value)


def ks_pvalue(cur_sorted: np.ndarray, ref_sorted: np.ndarray, d: float) -> float:
    """Two-sided p-value exactly as scipy.stats.ks_2samp(method="auto") computes it: the exact
    distribution for small samples; for large ones, the same kstwo approximation scipy uses,
    evaluated on `d`, the D of our merge walk (walk()), so the samples are not walked twice."""
    _need_values(cur_sorted, ref_sorted)
    if _exact_ks(cur_sorted, ref_sorted):
        from scipy.stats import ks_2samp

        return float(ks_2samp(cur_sorted, ref_sorted).pvalue)
    return _large_sample_pvalue(d, _represented(cur_sorted), _represented(ref_sorted))


def walk_pvalue(walked: Walk) -> float:
    """ks_pvalue of the walk's samples (walk() kept what it needs)."""
    if walked.samples is not None:
        return ks_pvalue(*walked.samples, walked.ks)
    if min(walked.sizes) < 1:  # an engine that built its Walk without the sizes: no guess
        raise CheckError("the KS walk does not say how many values each sample has; cannot compute its p-value")
    return _large_sample_pvalue(walked.ks, *walked.sizes)


def _exact_ks(cur_sorted: np.ndarray, ref_sorted: np.ndarray) -> bool:
    """Whether scipy's exact small-sample distribution applies (never to a profile's grid)."""
    n1, n2 = _represented(cur_sorted), _represented(ref_sorted)
    from_profile = n1 != cur_sorted.size or n2 != ref_sorted.size
    return max(n1, n2) <= _KS_EXACT_LIMIT and not from_profile


def _large_sample_pvalue(d: float, n1: int, n2: int) -> float:
    effective_n = round(n1 * n2 / (n1 + n2))
    return kstwo_sf(d, effective_n)


def kstwo_sf(d: float, n: int) -> float:
    """scipy.stats.kstwo.sf(d, n) clipped to [0, 1], the value scipy's ks_2samp reports for
    large samples, following scipy's own choice of method region by region (scipy.stats._ksstats._kolmogn).

    Importing scipy.stats costs 0.6–0.9 s, more than the rest of a KS contract over 1M rows, so
    the regions a drift check lands in are evaluated here without it:
    - n·d² < 2.2 (similar samples): 1 − the Pelz–Good series, ported from scipy;
    - 2.2 <= n·d² < 370: 2·smirnov(n, d). scipy.special.smirnov sums all n terms of the exact
      series, about a second per call at n = 500,000; _smirnov_exact sums the terms that are not
      negligible and agrees with it to ~1e-9 relative. Above n = 1,000,000 scipy.special's
      smirnov is cheap (an asymptotic form) and is called;
    - n·d² >= 370: 0; a few closed forms at the ends.
    The small-sample and tiny-d regions, where scipy uses the Durbin and Pomeranz recursions,
    call scipy as is. tests/statistics/test_statistics.py compares every region with scipy.stats.kstwo."""
    x, t = float(d), n * float(d)
    if x <= 0.0:
        return 1.0
    if x >= 1.0:
        return 0.0
    if n <= 140 or t <= 1.0 or (n <= 100_000 and n * x ** 1.5 <= 1.4 and t * x < 2.2):
        from scipy.stats import kstwo

        return _probability(kstwo.sf(x, n))
    if t >= n - 1:
        return _probability(2 * (1.0 - x) ** n)
    nxsquared = t * x
    if x >= 0.5 or (nxsquared >= 2.2 and n > 1_000_000 and nxsquared < 370.0):
        from scipy.special import smirnov

        return _probability(2 * smirnov(n, x))
    if nxsquared >= 370.0:
        return 0.0
    if nxsquared >= 2.2:
        return _probability(2.0 * _smirnov_exact(n, x))
    return _probability(1.0 - _pelz_good_cdf(n, x))


def _probability(p) -> float:
    return float(np.clip(p, 0.0, 1.0))


def _pelz_good_cdf(n: int, x: float) -> float:
    """The Pelz–Good (1976) approximation of P(D_n <= x), ported line for line from scipy
    1.17's scipy.stats._ksstats._kolmogn_PelzGood (BSD-3-Clause) so that it rounds the same way:
    Li-Chien/Korolyuk's K0(z) + K1(z)/√n + K2(z)/n + K3(z)/n^1.5 with z = x√n, each K rewritten
    with Jacobi theta functions for small z."""
    z = np.sqrt(n) * x
    zsquared, zthree, zfour, zsix = z**2, z**3, z**4, z**6

    qlog = -_PI_SQUARED / 8 / zsquared
    if qlog < -708:  # z < 0.0417: the CDF underflows to 0
        return 0.0
    q = np.exp(qlog)

    k1a = -zsquared
    k1b = _PI_SQUARED / 4
    k2a = 6 * zsix + 2 * zfour
    k2b = (2 * zfour - 5 * zsquared) * _PI_SQUARED / 4
    k2c = _PI_FOUR * (1 - 2 * zsquared) / 16
    k3d = _PI_SIX * (5 - 30 * zsquared) / 64
    k3c = _PI_FOUR * (-60 * zsquared + 212 * zfour) / 16
    k3b = _PI_SQUARED * (135 * zfour - 96 * zsix) / 4
    k3a = -30 * zsix - 90 * z**8

    # Horner scheme over the sum of c_i q^(i²), which runs over odd integers only.
    k0to3 = np.zeros(4)
    maxk = int(np.ceil(16 * z / np.pi))
    for k in range(maxk, 0, -1):
        m = 2 * k - 1
        msquared, mfour, msix = m**2, m**4, m**6
        qpower = np.power(q, 8 * k)
        coeffs = np.array([1.0,
                           k1a + k1b * msquared,
                           k2a + k2b * msquared + k2c * mfour,
                           k3a + k3b * msquared + k3c * mfour + k3d * msix])
        k0to3 *= qpower
        k0to3 += coeffs
    k0to3 *= q
    k0to3 *= _SQRT2PI
    k0to3 /= np.array([z, 6 * zfour, 72 * z**7, 6480 * z**10])

    # The other sums, over all integers k: K2 gets (π²k²)q^(k²), K3 (3π²k²z² − π⁴k⁴)q^(k²).
    q = np.exp(-_PI_SQUARED / 2 / zsquared)
    ks = np.arange(maxk, 0, -1)
    ksquared = ks ** 2
    sqrt3z = _SQRT3 * z
    kspi = np.pi * ks
    qpwers = q ** ksquared
    k2extra = np.sum(ksquared * qpwers)
    k2extra *= _PI_SQUARED * _SQRT2PI / (-36 * zthree)
    k0to3[2] += k2extra
    k3extra = np.sum((sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpwers)
    k3extra *= _PI_SQUARED * _SQRT2PI / (216 * zsix)
    k0to3[3] += k3extra
    k0to3 /= np.power(n * 1.0, np.arange(len(k0to3)) / 2.0)
    return sum(k0to3)


_PI_SQUARED, _PI_FOUR, _PI_SIX = np.pi ** 2, np.pi ** 4, np.pi ** 6
_SQRT2PI, _SQRT3 = np.sqrt(2 * np.pi), np.sqrt(3)


def _smirnov_exact(n: int, d: float, step: int | None = None) -> float:
    """P(D+_n >= d) = d · Σ_j C(n, j) (d + j/n)^(j−1) (1 − d − j/n)^(n−j), j = 0 … ⌊n(1−d)⌋.

    Only the terms within 60 nats of the largest matter (the rest add < 1e-26). Over that window
    the terms are samples of a smooth, unimodal function of j whose width is a sizeable share
    of n, so the sum over every `step`-th j times `step` equals the sum over every j (by Poisson
    summation the difference falls off like exp(−width/step)) while costing ~2,000 terms instead
    of up to n. The test compares both ways and scipy's full sum; they agree to ~1e-10 relative,
    the rounding of the terms themselves. step=1 sums every term."""
    last = int(math.floor(n * (1.0 - d)))
    log_n_factorial = math.lgamma(n + 1.0)

    def log_terms(j: np.ndarray) -> np.ndarray:
        a = d + j / n
        log_binomial = log_n_factorial - _lgamma(j + 1.0) - _lgamma(n - j + 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            values = log_binomial + (j - 1.0) * np.log(a) + (n - j) * np.log1p(-a)
        values[~np.isfinite(values)] = -np.inf
        return values

    stride = max(1, last // 4000)
    coarse = np.arange(0, last + 1, stride, dtype=np.float64)
    values = log_terms(coarse)
    keep = np.nonzero(values > values.max() - 60.0)[0]
    low = int(max(0.0, coarse[keep[0]] - stride))
    high = int(min(float(last), coarse[keep[-1]] + stride))
    if step is None:
        step = max(1, (high - low) // 2048)
    dense = log_terms(np.arange(low, high + 1, step, dtype=np.float64))
    top = dense.max()
    return float(math.exp(math.log(d) + top + math.log(step * np.sum(np.exp(dense - top)))))


def _lgamma(x: np.ndarray) -> np.ndarray:
    """log Γ(x) over an array of x >= 1 (scipy.special.gammaln would cost a 0.2 s import):
    math.lgamma below 64, Stirling's series above, whose first omitted term is < 1e-19 there."""
    out = np.empty_like(x)
    small = x < 64.0
    out[small] = [math.lgamma(v) for v in x[small].tolist()]
    big = x[~small]
    inverse = 1.0 / big
    inverse2 = inverse * inverse
    series = inverse * (1 / 12 - inverse2 * (1 / 360 - inverse2 * (1 / 1260 - inverse2 / 1680)))
    out[~small] = (big - 0.5) * np.log(big) - big + 0.5 * math.log(2 * math.pi) + series
    return out


def _represented(sample: np.ndarray) -> int:
    """How many values a sample stands for: its size, or for a profile's quantile grid
    (profile.ProfileSample) the number of values that were profiled."""
    return int(getattr(sample, "represented", sample.size))


def normalised(walked: Walk, ref_summary) -> float:
    """wasserstein / std(ref), population std (ddof=0) as Evidently normalises it: the ratio of
    the scaled distance and std (NumericSummary.scaled_std), so that it is right wherever it is
    finite, also when the distance or the std alone exceeds float64; an error where it does not."""
    ref_std, std_exponent = ref_summary.scaled_std(0)
    if not ref_std > 0:
        raise CheckError("the reference's standard deviation is 0; wasserstein_norm is undefined")
    ratio = _times_power_of_two(walked.scaled_wasserstein / ref_std, walked.exponent - std_exponent)
    if math.isinf(ratio):
        raise CheckError(f"wasserstein_norm exceeds the float64 range ({sys.float_info.max:.3g})")
    return ratio


def quantile(sorted_values: np.ndarray, q: float) -> float:
    if sorted_values.size == 0:
        raise CheckError("no finite values")
    if hasattr(sorted_values, "represented"):
        # A profile's grid holds the quantiles at k/(size-1) exactly: read it, do not interpolate.
        position = q * (sorted_values.size - 1)
        if abs(position - round(position)) < 1e-9:
            return float(sorted_values[int(round(position))])
    return float(sorted_quantiles(sorted_values, np.array([q]))[0])


def _need_values(*samples: np.ndarray) -> None:
    if any(s.size == 0 for s in samples):
        raise CheckError("no finite values to compare (every value is null, NaN or infinite)")


# ---- category statistics -----------------------------------------------------------------------
def unseen_rate(subject: dict, reference: dict, reference_rows: int) -> float:
    """Share of the reference's rows whose non-null value never occurs in the subject."""
    if reference_rows == 0:
        raise CheckError("the `vs` dataset has no rows")
    unseen = sum(n for value, n in reference.items() if value not in subject)
    return unseen / reference_rows


def unique_rate(counts: dict) -> float:
    total = sum(counts.values())
    if total == 0:
        raise CheckError("no non-null values")
    return sum(1 for n in counts.values() if n == 1) / total
