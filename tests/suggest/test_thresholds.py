"""The arithmetic of suggested thresholds (suggest/thresholds.py) against independent oracles
(simulation with numpy, scipy's distributions written out), and the contract text they are
written in (suggest/literals.py): a name the grammar reserves is quoted, bounds round outward."""
from __future__ import annotations

import math

import numpy as np
import pytest

import mlcontract
from mlcontract.suggest import literals as lit, thresholds as th


def test_the_documented_drift_rate_is_the_order_statistic_rate():
    """A new value exceeds the 2nd largest of R values of its distribution with probability
    2/(R+1): a simulation agrees (R = 199 → 1%)."""
    assert th.false_alarm_rate(199) == pytest.approx(0.01)
    rng = np.random.default_rng(1)
    samples = rng.random((40_000, 20))  # 19 calibration values + 1 new one, continuous
    second_largest = np.sort(samples[:, :19], axis=1)[:, -2]
    assert np.mean(samples[:, 19] > second_largest) == pytest.approx(th.false_alarm_rate(19), abs=0.006)
    assert th.top([3.0, 1.0, 5.0, 4.0]) == 4.0


def test_psi_scales_as_the_sum_of_inverse_sizes():
    assert th.psi_scale(2000, 1500, 1000, 1000) == pytest.approx((1 / 2000 + 1 / 1500) / (2 / 1000))
    assert th.psi_scale(1000, 1000, 1000, 1000) == 1


@pytest.mark.parametrize("share, rows", [(0.0, 2000), (0.01, 2000), (0.3, 500), (0.999, 100)])
def test_the_null_rate_bound_is_a_99_percent_bound_of_a_difference_of_shares(share, rows):
    from scipy.stats import norm

    slack = norm.ppf(0.99) * math.sqrt(2 * share * (1 - share) / rows)
    assert th.null_rate_bound(share, rows) == pytest.approx(min(share + max(slack, 0.001), 1.0), rel=1e-3)
    assert share < th.null_rate_bound(share, rows) <= 1


@pytest.mark.parametrize("n", [50, 400])
def test_the_range_bound_is_the_99th_percentile_of_the_share_outside_min_max(n):
    """n new values against the [min, max] of n old ones: simulate the count outside."""
    rng = np.random.default_rng(n)
    old, new = rng.normal(size=(20_000, n)), rng.normal(size=(20_000, n))
    outside = ((new < old.min(axis=1, keepdims=True)) | (new > old.max(axis=1, keepdims=True))).sum(axis=1)
    simulated = np.quantile(outside, 0.99) / n
    assert th.outside_range_bound(n) == pytest.approx(simulated, abs=1.5 / n)  # one count of tolerance


def test_metric_floors():
    assert th.cv_floor(0.8, 0.02, 5) == pytest.approx(0.8 - 3 * 0.02 / math.sqrt(5))
    # the lower of CV mean and holdout, minus 3 fold sds scaled from 500-row folds to 2,000 rows
    assert th.holdout_floor(0.8, 0.02, 0.78, 500, 2000) == pytest.approx(0.78 - 3 * 0.02 * math.sqrt(500 / 2000))


@pytest.mark.parametrize("x, digits, expected", [(0.04186, 2, "0.042"), (0.0400001, 2, "0.041"), (123.4, 2, "130"),
                                                 (0.0, 2, "0"), (1e-7, 2, "0.0000001")])
def test_bounds_round_outward_without_an_exponent(x, digits, expected):
    assert lit.round_up(x, digits) == expected
    assert lit.round_down(0.7599, 3) == "0.759" and lit.round_down(-0.0001, 3) == "-0.001"
    assert lit.percent_up(0.004512) == "0.46%"
    assert lit.exact(2**53 + 1) == str(2**53 + 1) and lit.exact(18.0) == "18" and lit.exact(1e-7) == "0.0000001"


@pytest.mark.parametrize("name", ["where", "count", "or", "is", "true", "null", "Feature", "unique", "p95"])
def test_a_column_named_like_a_word_of_the_grammar_is_quoted_and_compiles(name):
    """The words come from the grammar itself, so new syntax (`where`, `or`, `is null`, ...) is
    covered without a list to keep up to date."""
    written = lit.column(name)
    assert written in (name, f"`{name}`")
    if name.lower() in {"where", "count", "or", "is", "true", "null", "feature", "unique"}:
        assert written == f"`{name}`"
    import polars as pl

    frame = pl.DataFrame({name: [1.0, 2.0, 3.0]})
    result = mlcontract.compile(f"feature {written} null_rate <= 1%\n", datasets={"t": frame}).run()
    assert result.passed and result.checks[0].feature == name


def test_plain_names_are_written_bare_and_others_quoted():
    assert lit.column("income") == "income" and lit.column("loan amount") == "`loan amount`"
    assert lit.writable("a`b") is False and lit.writable(" ") is False and lit.writable("x\ny") is False
    assert lit.comment("two\nlines\x1b[31m") == "two lines\\x1b[31m"
