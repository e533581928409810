"""Independent oracles of the histogram statistics (numpy / scipy written out, never calling
mlcontract), shared by tests/statistics/test_statistics.py and tests/test_conformance.py."""
from __future__ import annotations

import numpy as np
import scipy.stats
from scipy.spatial.distance import jensenshannon


def finite(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x[np.isfinite(x)]


def oracle_edges(ref: np.ndarray, bins: int = 10) -> np.ndarray:
    return np.unique(np.quantile(finite(ref), np.arange(1, bins) / bins))


def oracle_bins(cur, ref, bins=10):
    edges = oracle_edges(ref, bins)
    count = lambda x: np.bincount(np.searchsorted(edges, finite(x), side="right"), minlength=len(edges) + 1)
    return count(cur).astype(float), count(ref).astype(float)


def oracle_category_bins(cur: list, ref: list):
    cats = sorted({v for v in cur + ref if v is not None})
    c = np.array([sum(v == k for v in cur) for k in cats], dtype=float)
    r = np.array([sum(v == k for v in ref) for k in cats], dtype=float)
    return c, r


def oracle_psi(c, r):
    p, q = np.clip(c / c.sum(), 1e-4, None), np.clip(r / r.sum(), 1e-4, None)
    return float(np.sum((p - q) * np.log(p / q)))


def oracle_kl(c, r):
    return float(scipy.stats.entropy(np.clip(c / c.sum(), 1e-4, None), np.clip(r / r.sum(), 1e-4, None)))


def oracle_js(c, r):
    return float(jensenshannon(c / c.sum(), r / r.sum(), base=2))


def oracle_hellinger(c, r):
    p, q = c / c.sum(), r / r.sum()
    return float(np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)))


def oracle_linf(c, r):
    return float(np.max(np.abs(c / c.sum() - r / r.sum())))


def oracle_chi2(c, r):
    table = np.vstack([c, r])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(scipy.stats.chi2_contingency(table).pvalue)


HISTOGRAM_ORACLES = {
    "psi": oracle_psi, "kl": oracle_kl, "js": oracle_js, "hellinger": oracle_hellinger,
    "linf": oracle_linf, "chi2_pvalue": oracle_chi2,
}
