"""Every data statistic against an independent oracle (numpy / scipy written out here), run
through the whole pipeline (compile → plan → Polars + kernels → evaluate), on random data and
on edge cases. Values must match to 1e-9 relative (p-values 1e-6)."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
import scipy.stats

import mlcontract

from oracles import HISTOGRAM_ORACLES, finite, oracle_bins, oracle_category_bins, oracle_psi

REL = 1e-9
P_REL = 1e-6


# ---- running a statistic through the pipeline -----------------------------------------------------
def run(statistic: str, cur, ref=None, *, dtype=pl.Float64, extra: str = ""):
    """The CheckResult of `feature x STAT ... vs ref` on two columns."""
    frames = {"cur": pl.DataFrame({"x": pl.Series("x", cur, dtype=dtype, strict=False)})}
    vs = ""
    if ref is not None:
        frames["ref"] = pl.DataFrame({"x": pl.Series("x", ref, dtype=dtype, strict=False)})
        vs = " vs ref"
    text = f"feature x {statistic} != -123456789{vs}{extra}\n"
    result = mlcontract.compile(text, datasets=frames).run()
    (check,) = result.checks
    return check


def value(statistic, cur, ref=None, **kwargs) -> float:
    check = run(statistic, cur, ref, **kwargs)
    assert check.status == "pass", check.message
    return check.value


def with_nans(rng, n, share=0.05, loc=0.0, scale=1.0):
    x = rng.normal(loc, scale, n)
    x[rng.random(n) < share] = np.nan
    return x


# ---- numeric two-sample statistics --------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("statistic", sorted(HISTOGRAM_ORACLES))
def test_histogram_statistics_match_numpy_on_random_data(statistic, seed):
    rng = np.random.default_rng(seed)
    cur, ref = with_nans(rng, 3000, loc=0.3), with_nans(rng, 2000)
    got = value(statistic, cur, ref)
    want = HISTOGRAM_ORACLES[statistic](*oracle_bins(cur, ref))
    assert got == pytest.approx(want, rel=P_REL if statistic == "chi2_pvalue" else REL, abs=1e-15)


@pytest.mark.parametrize("statistic", ["psi", "js", "chi2_pvalue"])
@pytest.mark.parametrize("shape", ["normal", "gamma", "rounded"])
def test_histogram_statistics_match_numpy_on_large_references(statistic, shape):
    """From 50,000 finite values the reference's edges come from bucket selection
    (columns.quantile_edges), not a sort: the statistics still match the np.quantile oracle."""
    rng = np.random.default_rng(21)
    draw = {"normal": lambda n: with_nans(rng, n), "gamma": lambda n: rng.gamma(2.0, 3.0, n),
            "rounded": lambda n: np.round(rng.normal(size=n), 2)}[shape]
    cur, ref = draw(60_000) + 0.05, draw(80_000)
    got = value(statistic, cur, ref)
    want = HISTOGRAM_ORACLES[statistic](*oracle_bins(cur, ref))
    assert got == pytest.approx(want, rel=P_REL if statistic == "chi2_pvalue" else REL, abs=1e-15)


@pytest.mark.parametrize("bins", [2, 5, 20, 37])
def test_bins_option_changes_the_edges(bins):
    rng = np.random.default_rng(7)
    cur, ref = rng.gamma(2.0, 3.0, 4000), rng.gamma(2.2, 3.0, 3000)
    assert value("psi", cur, ref, extra=f" bins {bins}") == pytest.approx(
        oracle_psi(*oracle_bins(cur, ref, bins)), rel=REL)


@pytest.mark.parametrize("seed", [0, 1])
def test_ks_and_pvalue_match_scipy_small_and_large(seed):
    rng = np.random.default_rng(seed)
    for n_cur, n_ref in [(50, 80), (3000, 2000), (30_000, 20_000)]:
        cur, ref = with_nans(rng, n_cur, loc=0.05), with_nans(rng, n_ref)
        oracle = scipy.stats.ks_2samp(finite(cur), finite(ref))
        assert value("ks", cur, ref) == pytest.approx(oracle.statistic, rel=REL)
        assert value("ks_pvalue", cur, ref) == pytest.approx(oracle.pvalue, rel=P_REL, abs=1e-300)


def test_ks_with_ties_matches_scipy():
    rng = np.random.default_rng(3)
    cur, ref = rng.integers(0, 10, 500).astype(float), rng.integers(0, 12, 700).astype(float)
    oracle = scipy.stats.ks_2samp(cur, ref)
    assert value("ks", cur, ref) == pytest.approx(oracle.statistic, rel=REL)
    assert value("ks_pvalue", cur, ref) == pytest.approx(oracle.pvalue, rel=P_REL)


@pytest.mark.parametrize("seed", [0, 1])
def test_wasserstein_and_norm_match_scipy(seed):
    rng = np.random.default_rng(seed)
    cur, ref = with_nans(rng, 4000, loc=0.2, scale=2.0), with_nans(rng, 3000, scale=2.0)
    distance = scipy.stats.wasserstein_distance(finite(cur), finite(ref))
    assert value("wasserstein", cur, ref) == pytest.approx(distance, rel=REL)
    assert value("wasserstein_norm", cur, ref) == pytest.approx(distance / np.std(finite(ref)), rel=REL)


# ---- one-sample numeric statistics ------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_moments_and_quantiles_match_numpy(seed):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(3.0, 1.5, 5000)
    x[rng.random(5000) < 0.03] = np.nan
    x[:3] = [np.inf, -np.inf, np.inf]
    f = finite(x)
    assert value("mean", x) == pytest.approx(np.mean(f), rel=REL)
    assert value("std", x) == pytest.approx(np.std(f, ddof=1), rel=REL)
    assert value("min", x) == np.min(f)
    assert value("max", x) == np.max(f)
    for name, q in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p99.9", 0.999), ("median", 0.5), ("p5", 0.05)]:
        assert value(name, x) == pytest.approx(np.quantile(f, q), rel=REL)


def test_null_rate_counts_nulls_and_nans_over_all_rows():
    x = [1.0, None, float("nan"), 4.0, float("inf"), None, 7.0, 8.0]
    assert value("null_rate", x) == pytest.approx(3 / 8, rel=REL)
    assert value("null_rate", ["a", None, "b", "b"], dtype=pl.String) == pytest.approx(1 / 4, rel=REL)


def test_distinct_and_unique_rate_match_numpy():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 500, 2000).astype(float)
    x[:10] = np.nan
    present = x[~np.isnan(x)]
    values, counts = np.unique(present, return_counts=True)
    assert value("distinct", x) == len(values)
    assert value("unique_rate", x) == pytest.approx(np.sum(counts == 1) / len(present), rel=REL)
    words = ["a", "b", "b", None, "c", "c", "c", "d"]
    assert value("distinct", words, dtype=pl.String) == 4
    assert value("unique_rate", words, dtype=pl.String) == pytest.approx(2 / 7, rel=REL)


def test_out_of_range_rate_with_bounds_and_vs():
    x = [1.0, 5.0, 10.0, 11.0, None, float("nan"), float("inf"), -3.0]
    # non-null, non-NaN values: 1, 5, 10, 11, inf, -3 → outside [0, 10]: 11, inf, -3
    assert value("out_of_range_rate(0, 10)", x) == pytest.approx(3 / 6, rel=REL)
    subject = [0.0, 2.0, 4.0]
    reference = [-1.0, 0.0, 3.0, 5.0, None]
    # the reference's values outside the subject's [0, 4]: -1 and 5, of 4 non-null values
    assert value("out_of_range_rate", subject, reference) == pytest.approx(2 / 4, rel=REL)


def test_between_reports_share_outside_and_fails_on_infinity():
    frames = {"d": pl.DataFrame({"x": [18.0, 40.0, 100.0, None]}), "e": pl.DataFrame({"x": [17.0, 50.0, np.inf]})}
    result = mlcontract.compile("feature x between 18 and 100\nfeature x of e between 18 and 100\n", datasets=frames).run()
    good, bad = result.checks
    assert good.status == "pass" and good.value == 0.0
    assert bad.status == "fail" and bad.value == pytest.approx(2 / 3, rel=REL)
    assert "outside [18, 100]" in bad.message


# ---- categorical statistics ---------------------------------------------------------------------------
def categories(rng, n, p, names=("a", "b", "c", "d", "e")):
    values = rng.choice(list(names), n, p=p).astype(object)
    values[rng.random(n) < 0.02] = None
    return values.tolist()


@pytest.mark.parametrize("statistic", sorted(HISTOGRAM_ORACLES))
def test_categorical_histogram_statistics_use_one_bin_per_category(statistic):
    rng = np.random.default_rng(11)
    cur = categories(rng, 3000, [0.3, 0.3, 0.2, 0.15, 0.05])
    ref = categories(rng, 2000, [0.35, 0.25, 0.2, 0.2, 0.0], names=("a", "b", "c", "d", "f"))
    got = value(statistic, cur, ref, dtype=pl.String)
    want = HISTOGRAM_ORACLES[statistic](*oracle_category_bins(cur, ref))
    assert got == pytest.approx(want, rel=P_REL if statistic == "chi2_pvalue" else REL, abs=1e-15)


def test_unseen_rate_is_the_share_of_reference_rows_never_seen_in_the_subject():
    subject = ["basic", "plus", "pro", None]
    reference = ["basic", "enterprise", "enterprise", "pro", None, "trial"]
    # reference rows with a non-null value the subject never contains: 2× enterprise + trial
    assert value("unseen_rate", subject, reference, dtype=pl.String) == pytest.approx(3 / 6, rel=REL)


def test_unseen_rate_on_categorical_dtype():
    subject = pl.Series(["a", "b"], dtype=pl.Categorical)
    reference = pl.Series(["a", "c", "c", "b"], dtype=pl.Categorical)
    frames = {"s": pl.DataFrame({"x": subject}), "r": pl.DataFrame({"x": reference})}
    (check,) = mlcontract.compile("feature x unseen_rate <= 1 vs r\n", datasets=frames).run().checks
    assert check.value == pytest.approx(2 / 4, rel=REL)


# ---- edge cases ------------------------------------------------------------------------------------------
def test_constant_column():
    cur, ref = [3.0] * 50, [3.0] * 40
    for statistic in ("psi", "js", "hellinger", "linf", "kl"):
        assert value(statistic, cur, ref) == pytest.approx(0.0, abs=1e-12)
    assert value("chi2_pvalue", cur, ref) == 1.0
    assert value("ks", cur, ref) == 0.0
    assert value("wasserstein", cur, ref) == 0.0
    assert value("std", cur) == 0.0
    norm = run("wasserstein_norm", cur, ref)
    assert norm.status == "error" and "standard deviation is 0" in norm.message


def test_constant_reference_against_moving_current():
    cur, ref = [1.0, 2.0, 3.0, 4.0], [2.0] * 10
    assert value("psi", cur, ref) == pytest.approx(oracle_psi(*oracle_bins(cur, ref)), rel=REL)


def test_single_category():
    cur, ref = ["x"] * 30, ["x"] * 20
    assert value("psi", cur, ref, dtype=pl.String) == 0.0
    assert value("chi2_pvalue", cur, ref, dtype=pl.String) == 1.0
    assert value("distinct", cur, dtype=pl.String) == 1


def test_one_row():
    assert value("mean", [5.0]) == 5.0
    assert value("p95", [5.0]) == 5.0
    assert value("ks", [1.0], [2.0]) == pytest.approx(scipy.stats.ks_2samp([1.0], [2.0]).statistic, rel=REL)
    assert value("ks_pvalue", [1.0], [2.0]) == pytest.approx(scipy.stats.ks_2samp([1.0], [2.0]).pvalue, rel=P_REL)
    std = run("std", [5.0])
    assert std.status == "error" and "at least 2" in std.message


def test_nan_and_inf_are_excluded_from_distribution_statistics():
    rng = np.random.default_rng(2)
    cur, ref = rng.normal(0, 1, 500), rng.normal(0, 1, 400)
    cur[::17], ref[::13] = np.nan, np.inf
    ref[::29] = -np.inf
    assert value("psi", cur, ref) == pytest.approx(oracle_psi(*oracle_bins(cur, ref)), rel=REL)
    oracle = scipy.stats.ks_2samp(finite(cur), finite(ref))
    assert value("ks_pvalue", cur, ref) == pytest.approx(oracle.pvalue, rel=P_REL)
    assert value("wasserstein", cur, ref) == pytest.approx(
        scipy.stats.wasserstein_distance(finite(cur), finite(ref)), rel=REL)


def test_very_skewed_data():
    rng = np.random.default_rng(9)
    cur, ref = rng.lognormal(0, 4, 5000), rng.lognormal(0.1, 4, 5000)
    assert value("psi", cur, ref) == pytest.approx(oracle_psi(*oracle_bins(cur, ref)), rel=REL)
    assert value("mean", cur) == pytest.approx(np.mean(cur), rel=REL)
    assert value("std", cur) == pytest.approx(np.std(cur, ddof=1), rel=REL)
    assert value("wasserstein", cur, ref) == pytest.approx(scipy.stats.wasserstein_distance(cur, ref), rel=REL)


def test_integer_columns():
    rng = np.random.default_rng(4)
    cur, ref = rng.integers(0, 100, 3000), rng.integers(5, 100, 3000)
    assert value("psi", cur, ref, dtype=pl.Int64) == pytest.approx(oracle_psi(*oracle_bins(cur, ref)), rel=REL)
    assert value("mean", cur, dtype=pl.Int32) == pytest.approx(np.mean(cur), rel=REL)


@pytest.mark.parametrize("statistic", ["psi", "ks", "wasserstein", "mean", "p95", "js"])
def test_all_null_column_is_an_error_not_a_pass(statistic):
    ref = [1.0, 2.0, 3.0] if statistic in ("psi", "ks", "wasserstein", "js") else None
    check = run(statistic, [None, None, float("nan")], ref)
    assert check.status == "error"
    assert check.value is None


def test_all_null_column_null_rate_is_one():
    assert value("null_rate", [None, None, None]) == 1.0


def test_empty_dataset_is_an_error():
    check = run("null_rate", [], None)
    assert check.status == "error" and "no rows" in check.message
    check = run("psi", [], [1.0, 2.0])
    assert check.status == "error"


def test_statistic_functions_reject_empty_samples():
    from mlcontract.statistics import formulas as st
    from mlcontract.errors import CheckError

    with pytest.raises(CheckError):
        st.psi(np.zeros(3), np.ones(3))
    with pytest.raises(CheckError):
        st.quantile_edges(np.array([]), 10)
    assert math.isclose(st.hellinger(np.array([1.0, 0.0]), np.array([0.0, 1.0])), 1.0)
    assert math.isclose(st.js(np.array([1.0, 0.0]), np.array([0.0, 1.0])), 1.0)


@pytest.mark.slow
@pytest.mark.parametrize("n", [141, 5_000, 50_000, 100_000, 100_001, 300_000, 1_000_000, 1_500_000])
def test_fast_kstwo_sf_matches_scipy(n):
    """The large-sample KS p-value path agrees with scipy.stats.kstwo.sf across and around every
    branch boundary scipy has: bit for bit where it ports scipy's formula (Pelz–Good, the closed
    forms), to 1e-8 where it sums the Smirnov series itself."""
    from scipy.stats import kstwo

    from mlcontract.statistics.formulas import kstwo_sf

    for nd2 in (1e-4, 0.003, 0.02, 0.1, 0.5, 0.754, 1.0, 1.5, 2.19, 2.2, 2.21, 5.0, 20.0, 100.0, 369.0, 371.0):
        d = math.sqrt(nd2 / n)
        if n > 300_000 and 2.2 <= nd2 < 370 and n <= 1_000_000 and nd2 not in (2.2, 20.0):
            continue  # scipy's own exact sum takes ~1 s per call at this size: sample the region
        want = float(kstwo.sf(d, n))
        if nd2 < 2.2 or nd2 >= 370:
            assert kstwo_sf(d, n) == want, (n, nd2)
        else:
            assert kstwo_sf(d, n) == pytest.approx(want, rel=1e-8, abs=1e-300), (n, nd2)
    for d in (0.0, 0.5 / n, 1.0 / n, 0.5, 0.7, 1 - 1.5 / n, 1.0):  # the ends scipy treats apart
        assert kstwo_sf(d, n) == pytest.approx(float(kstwo.sf(d, n)), rel=1e-12, abs=1e-300), (n, d)


@pytest.mark.parametrize("n", [141, 5_000, 100_000, 1_000_000])
def test_smirnov_sum_on_a_lattice_equals_the_full_sum(n):
    """_smirnov_exact sums every step-th term times step; that equals summing every term (and
    both equal scipy.special.smirnov, checked above through kstwo.sf) to rounding."""
    from mlcontract.statistics.formulas import _smirnov_exact

    for nd2 in (2.2, 5.0, 30.0, 150.0, 369.0):
        d = math.sqrt(nd2 / n)
        if d >= 0.5:
            continue
        every_term = _smirnov_exact(n, d, step=1)
        assert _smirnov_exact(n, d) == pytest.approx(every_term, rel=1e-9, abs=1e-300), (n, nd2)


def test_large_sample_ks_pvalue_does_not_import_scipy_stats():
    """Importing scipy.stats costs 0.6-0.9 s, more than a KS contract over 1M rows: the p-values
    a drift check lands on at large n (similar and drifted samples) are computed without it."""
    code = (
        "import sys, numpy as np\n"
        "from mlcontract.statistics.formulas import walk, ks_pvalue\n"
        "rng = np.random.default_rng(0)\n"
        "for shift in (0.0, 0.003, 0.01, 0.05, 1.0):\n"
        "    a = np.sort(rng.normal(size=200_000)); b = np.sort(rng.normal(shift, size=150_000))\n"
        "    p = ks_pvalue(a, b, walk(a, b).ks)\n"
        "    assert 0.0 <= p <= 1.0, p\n"
        "print(sorted(m for m in sys.modules if m.startswith(('scipy.stats', 'scipy.special', 'pandas'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_sorted_quantiles_equal_numpy_bit_for_bit():
    from mlcontract.statistics.formulas import sorted_quantiles

    rng = np.random.default_rng(12)
    probabilities = np.concatenate([np.arange(1, 10) / 10, np.arange(2521) / 2520, [0.0, 1.0, 0.999, 0.001]])
    samples = [rng.normal(size=n) for n in (1, 2, 3, 10, 999, 10_000)]
    samples += [rng.integers(0, 5, 1000).astype(float), np.full(7, 3.25), rng.lognormal(0, 5, 5000),
                np.array([-1e300, 0.0, 1e300]), rng.normal(size=1001) * 1e-300]
    for sample in samples:
        ordered = np.sort(sample)
        assert np.array_equal(sorted_quantiles(ordered, probabilities), np.quantile(sample, probabilities))


# ---- 64-bit integers are exact (issue 9) -------------------------------------------------------------
# float64 rounds integers beyond 2**53: 2**53 + 1 reads as 2**53. min, max, between and
# out_of_range_rate on Int64 / UInt64 columns compare the exact integers, and the results carry
# them. The oracle is plain Python ints.
BIG = 2 ** 53
INT64 = [0, BIG + 1, None, BIG - 1, -(2 ** 63), 2 ** 63 - 1, None, -(BIG + 3), 17]
UINT64 = [0, 2 ** 64 - 1, None, BIG + 1, 2 ** 63, None, 5, 2 ** 64 - 2]
INTEGER_COLUMNS = [("Int64", pl.Int64, INT64), ("UInt64", pl.UInt64, UINT64)]


def integer_checks(values, dtype, lines: list[str], chunk_rows: int | None = None, monkeypatch=None):
    from mlcontract.engines.base import Settings

    frame = pl.DataFrame({"x": pl.Series("x", values, dtype=dtype)})
    settings = Settings(chunk_rows=chunk_rows) if chunk_rows else None
    return mlcontract.compile("\n".join(lines) + "\n", datasets={"d": frame}).run(settings=settings).checks


def oracle_outside(values, low, high) -> int:
    return sum(1 for v in values if v is not None and not low <= v <= high)


@pytest.mark.parametrize("name,dtype,values", INTEGER_COLUMNS)
def test_integer_min_and_max_are_exact_ints(name, dtype, values):
    present = [v for v in values if v is not None]
    lo, hi = min(present), max(present)
    low_check, high_check, at_most, beyond = integer_checks(values, dtype, [
        "feature x min != -1.5", "feature x max != -1.5", f"feature x max <= {hi}", f"feature x max <= {hi - 1}"])
    assert type(low_check.value) is int and low_check.value == lo
    assert type(high_check.value) is int and high_check.value == hi
    assert at_most.status == "pass" and at_most.threshold == hi
    assert beyond.status == "fail" and f"{hi:,}" in beyond.message and f"{hi - 1:,}" in mlcontract.report.formatting.fmt(hi - 1)


@pytest.mark.parametrize("chunk_rows", [None, 2])
@pytest.mark.parametrize("name,dtype,values", INTEGER_COLUMNS)
def test_between_on_64_bit_integers_compares_exactly(name, dtype, values, chunk_rows, monkeypatch):
    present = [v for v in values if v is not None]
    ranges = [(0, BIG), (0, BIG + 1), (-(BIG + 3), BIG - 1), (min(present), max(present)), (1, max(present) - 1),
              (BIG + 1, BIG + 1), (0, 2 ** 63 - 1)]
    lines = [f"feature x between {lo} and {hi}" for lo, hi in ranges if lo >= 0]
    lines += [f"feature x between -{-lo} and {hi}" for lo, hi in ranges if lo < 0]
    shown = [r for r in ranges if r[0] >= 0] + [r for r in ranges if r[0] < 0]
    checks = integer_checks(values, dtype, lines, chunk_rows, monkeypatch)
    for (lo, hi), check in zip(shown, checks):
        outside = oracle_outside(values, lo, hi)
        assert (check.status == "pass") == (outside == 0), (lo, hi, check.message)
        assert check.value == outside / len(present)
        if outside:
            assert f"{outside:,} of {len(present):,} values outside [{lo}, {hi}]" in check.message
            assert f"max {max(present)})" in check.message and f"min {min(present)}," in check.message


@pytest.mark.parametrize("name,dtype,values", INTEGER_COLUMNS)
def test_out_of_range_rate_on_64_bit_integers_compares_exactly(name, dtype, values):
    present = [v for v in values if v is not None]
    ranges = [(0, BIG), (1, BIG + 1), (0, 2 ** 64 - 2), (BIG + 1, 2 ** 63)]
    checks = integer_checks(values, dtype, [f"feature x out_of_range_rate({lo}, {hi}) >= 0" for lo, hi in ranges])
    for (lo, hi), check in zip(ranges, checks):
        assert check.value == oracle_outside(values, lo, hi) / len(present), (lo, hi)


def test_out_of_range_rate_vs_a_reference_uses_its_exact_integer_range():
    # training's range is [0, 2**53 + 1]: of production's values only 2**53 + 2 lies outside it
    train = pl.DataFrame({"x": pl.Series([0, BIG + 1, None], dtype=pl.Int64)})
    prod = pl.DataFrame({"x": pl.Series([BIG + 2, BIG + 1, BIG, None, 3], dtype=pl.Int64)})
    (check,) = mlcontract.compile("feature x of train out_of_range_rate <= 0 vs prod\n",
                                  datasets={"train": train, "prod": prod}).run().checks
    assert check.status == "fail" and check.value == 1 / 4
    assert check.details["range"] == [0, BIG + 1]


@pytest.mark.slow
def test_exact_integer_results_in_json_and_terminal(tmp_path):
    from conftest import run_json

    pl.DataFrame({"id": pl.Series([3, BIG + 1, None], dtype=pl.Int64),
                  "u": pl.Series([2 ** 64 - 1, 1, 2], dtype=pl.UInt64)}).write_parquet(tmp_path / "d.parquet")
    (tmp_path / "c.mlc").write_text('dataset d = parquet("d.parquet")\n'
                                    "feature id between 0 and 9007199254740992\n"
                                    "feature id max <= 9007199254740992\n"
                                    "feature u max <= 18446744073709551614\n")
    code, document, done = run_json(tmp_path / "c.mlc", tmp_path)
    between, id_max, u_max = document["checks"]
    assert code == 1 and [c["status"] for c in document["checks"]] == ["fail"] * 3
    assert "1 of 2 values outside [0, 9007199254740992] (min 3, max 9007199254740993)" in between["message"]
    assert id_max["value"] == BIG + 1 and id_max["threshold"] == BIG and type(id_max["value"]) is int
    assert u_max["value"] == 2 ** 64 - 1 and u_max["threshold"] == 2 ** 64 - 2
    # the terminal shows every digit too
    assert "9,007,199,254,740,993" in done.stdout and "18,446,744,073,709,551,615" in done.stdout


def test_integer_literals_stay_exact_and_huge_ones_are_diagnostics():
    from mlcontract.errors import ContractError

    frame = pl.DataFrame({"x": pl.Series([BIG + 1], dtype=pl.Int64)})
    (check,) = mlcontract.compile("feature x max == 9007199254740993\n", datasets={"d": frame}).run().checks
    assert check.status == "pass" and check.threshold == BIG + 1
    with pytest.raises(ContractError, match="too large a number"):
        mlcontract.compile("feature x max < " + "9" * 400 + "\n", datasets={"d": frame})


@pytest.mark.parametrize("values,dtype", [([1.5, 2.0 ** 53, None, -3.0], pl.Float64), ([1, 2, None, 250], pl.Int16)])
def test_float_and_small_integer_columns_keep_their_behaviour(values, dtype):
    # a float column compared with an integer literal beyond 2**53 is still exact: 2**53 < 2**53 + 1
    checks = integer_checks(values, dtype, ["feature x between -3 and 9007199254740993", "feature x max != -1.5",
                                            "feature x out_of_range_rate(2, 9007199254740991) >= 0"])
    present = [v for v in values if v is not None]
    assert checks[0].status == "pass"
    assert checks[1].value == max(present) and type(checks[1].value) is (float if dtype == pl.Float64 else int)
    assert checks[2].value == oracle_outside(present, 2, 2 ** 53 - 1) / len(present)


# ---- values near float64's limit -----------------------------------------------------------------
# Squared deviations overflow float64 from ~1.3e154, sums and differences near 1.8e308. The oracles
# compute exactly in rationals (or with numpy on values scaled by a power of two, which is exact).
FLOAT_MAX = float(np.finfo(np.float64).max)


def exact_std(values, ddof=1) -> float:
    """The std of the finite values in rationals, the square root taken on a scaled copy."""
    from fractions import Fraction

    xs = [Fraction(v) for v in finite(values)]
    mean = sum(xs) / len(xs)
    variance = sum((x - mean) ** 2 for x in xs) / (len(xs) - ddof)
    shift = max(0, (variance.numerator.bit_length() - variance.denominator.bit_length()) // 2 - 500)
    return math.sqrt(float(variance / 4 ** shift)) * 2.0 ** shift


def checks_on(lines: list[str], s, r=None, chunk_rows=None, monkeypatch=None):
    frames = {"s": pl.DataFrame({"x": pl.Series("x", s, dtype=pl.Float64)})}
    if r is not None:
        frames["r"] = pl.DataFrame({"x": pl.Series("x", r, dtype=pl.Float64)})
    from mlcontract.engines.base import Settings

    settings = Settings(chunk_rows=chunk_rows) if chunk_rows else None
    return mlcontract.compile("\n".join(lines) + "\n", datasets=frames).run(settings=settings).checks


def test_std_of_values_beyond_1e154_regression():
    # Found by tests/test_property.py: m2 overflowed, and the block merge turned it into 0, so
    # `std <= 1` passed on [0, 1.56e228, 0], whose std is 9.0e227.
    s = [0.0, 1.5581359867893572e228, 0.0]
    (check,) = checks_on(["feature x of s std <= 1.0"], s)
    assert check.status == "fail" and check.value == pytest.approx(exact_std(s), rel=1e-12)


@pytest.mark.parametrize("chunk_rows", [None, 7, 4096])
def test_std_and_mean_of_huge_values_in_memory_and_streamed(chunk_rows, monkeypatch):
    rng = np.random.default_rng(31)
    s = np.concatenate([rng.normal(3.0, 2.0, 5000), rng.normal(0.0, 1.0, 5000) * 1e200, [np.nan, np.inf],
                        rng.uniform(-1.0, 1.0, 3000) * 1.7e308])
    std, mean = checks_on(["feature x of s std != 0", "feature x of s mean != 0"], s, chunk_rows=chunk_rows,
                          monkeypatch=monkeypatch)
    assert std.status == mean.status == "pass"
    assert std.value == pytest.approx(exact_std(s), rel=1e-12)
    small = finite(s) * 2.0 ** -600  # numpy on scaled values, scaled back
    assert abs(mean.value - float(np.mean(small)) * 2.0 ** 600) <= 1e-12 * FLOAT_MAX


def test_std_beyond_float64_is_an_error_and_the_mean_is_right():
    s = [FLOAT_MAX] * 5000 + [-FLOAT_MAX] * 5000  # std sqrt(10000/9999) * 1.8e308
    std, mean, population = checks_on(["feature x of s std >= 0", "feature x of s mean != 12345",
                                       "feature x of s wasserstein_norm >= 0 vs s"], s)
    assert std.status == "error" and "exceeds the float64 range" in std.message
    assert mean.status == "pass" and abs(mean.value) <= 1e-15 * FLOAT_MAX  # was NaN
    assert population.status == "pass" and population.value == 0.0  # its std (ddof 0) is 1.8e308 itself


def test_wasserstein_near_the_float64_limit_regression():
    # Found by tests/test_property.py: n_S * n_R times the distance overflowed in the merge walk,
    # and `wasserstein` was an error where scipy gives 8.99e307.
    s, r = [8.98846567431158e307], [0.0, 0.0]
    want = scipy.stats.wasserstein_distance(s, r)
    (check,) = checks_on(["feature x of s wasserstein > 1.0 vs r"], s, r)
    assert check.status == "pass" and check.value == pytest.approx(want, rel=1e-12)


def test_wasserstein_and_norm_of_large_samples_near_the_limit_match_scipy():
    rng = np.random.default_rng(32)
    s, r = rng.normal(0.3, 1.0, 3000) * 1e305, rng.normal(0.0, 1.0, 2000) * 1e305
    distance = scipy.stats.wasserstein_distance(s, r)
    w, norm, ks = checks_on(["feature x of s wasserstein != 0 vs r", "feature x of s wasserstein_norm != 0 vs r",
                             "feature x of s ks != 0 vs r"], s, r)
    assert w.value == pytest.approx(distance, rel=1e-12)
    std = float(np.std(r * 2.0 ** -600)) * 2.0 ** 600  # np.std(r) itself overflows: inf
    assert norm.value == pytest.approx(distance / std, rel=1e-12)
    assert ks.value == pytest.approx(scipy.stats.ks_2samp(s, r).statistic, rel=1e-12)


def test_wasserstein_beyond_float64_is_an_error_but_its_norm_is_not():
    # W1 = 1.95 * 1.8e308 exceeds float64; divided by std(r) = 0.05 * 1.8e308 it is 39.
    s, r = [FLOAT_MAX], [-FLOAT_MAX, -0.9 * FLOAT_MAX]
    w, norm = checks_on(["feature x of s wasserstein > 1 vs r", "feature x of s wasserstein_norm > 1 vs r"], s, r)
    assert w.status == "error" and "exceeds the float64 range" in w.message
    assert norm.status == "pass" and norm.value == pytest.approx(39.0, rel=1e-12)


def test_quantiles_between_the_float64_limits():
    s = [-FLOAT_MAX, FLOAT_MAX]  # numpy's lerp gives -inf for the median; the exact value is 0
    median, quarter = checks_on(["feature x of s p50 == 0", "feature x of s p25 < 0"], s)
    assert median.status == "pass" and median.value == 0.0
    assert quarter.status == "pass" and quarter.value == pytest.approx(-FLOAT_MAX / 2, rel=1e-15)
