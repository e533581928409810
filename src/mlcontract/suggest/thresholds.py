"""The arithmetic of suggested thresholds: how far data like the reference strays, as a bound
that a new sample of the same distribution crosses at a known rate. Pure functions of counts and
of values the engine computed (suggest/runs.py); no data is read here.
"""
from __future__ import annotations

import math

SPLITS = 199  # random halves: the 2nd largest of 199 values is exceeded by 2/200 = 1% of new values
RANK_FROM_TOP = 2
Z_99 = 2.326  # one-sided 99% normal quantile
MIN_NULL_SLACK = 0.001  # a missing-values line allows at least 0.1 point more than today
MIN_UNSEEN = 0.001  # an unseen-categories line allows at least 0.1%
FOLDS = 5  # cross-validation folds of a suggested metric floor
SPREADS = 3  # a metric floor lies this many standard deviations below today's score


def false_alarm_rate(splits: int) -> float:
    """How often a new value of the same distribution exceeds the RANK_FROM_TOP-th largest of
    `splits` values (order statistics, any continuous distribution): the drift lines' documented rate."""
    return RANK_FROM_TOP / (splits + 1)


def top(values: list[float]) -> float:
    """The RANK_FROM_TOP-th largest value."""
    return sorted(values)[-RANK_FROM_TOP]


def psi_scale(n: int, m: int, a: int, b: int) -> float:
    """psi between two samples of one distribution scales as 1/n₁ + 1/n₂: the factor from the
    halves' sizes (a, b) to the sizes the contract compares (n, m)."""
    return (1 / n + 1 / m) / (1 / a + 1 / b)


def null_rate_bound(share: float, rows: int) -> float:
    """Today's share of missing values plus 2.33 standard errors of the difference of two shares
    of `rows` rows, √(2p(1−p)/n) (a one-sided 99% bound), at least MIN_NULL_SLACK above it."""
    return min(share + max(Z_99 * math.sqrt(2 * share * (1 - share) / rows), MIN_NULL_SLACK), 1.0)


def outside_range_bound(values: int) -> float:
    """The 99th percentile of the share of `values` new values outside the [min, max] of
    `values` values of the same continuous distribution: the count outside is
    beta-binomial(n, 2, n − 1) (ties only lower it)."""
    from scipy.stats import betabinom

    return float(betabinom(values, 2, values - 1).ppf(0.99)) / values


def holdout_floor(cv_mean: float, cv_std: float, holdout: float, fold_rows: float, holdout_rows: int) -> float:
    """The lower of the CV mean and today's holdout score, minus SPREADS fold standard deviations
    scaled to the holdout's size (a score's sd goes as 1/√rows)."""
    return min(cv_mean, holdout) - SPREADS * cv_std * math.sqrt(fold_rows / holdout_rows)


def cv_floor(cv_mean: float, cv_std: float, folds: int) -> float:
    """The CV mean minus SPREADS standard errors of a mean of `folds` scores."""
    return cv_mean - SPREADS * cv_std / math.sqrt(folds)
