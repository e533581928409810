"""What the language knows by name: statistics, metrics, latency measures, robustness cases,
source kinds and options. Metadata only — no heavy import happens here, so compiling a
contract stays fast; the computations live in measures.py and metrics.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

NUMERIC, CATEGORICAL, OTHER = "numeric", "categorical", "other"
BOTH = frozenset({NUMERIC, CATEGORICAL})
NUMERIC_ONLY = frozenset({NUMERIC})
ANY_TYPE = frozenset({NUMERIC, CATEGORICAL, OTHER})


@dataclass(frozen=True)
class FeatureStatistic:
    name: str
    summary: str
    accepts: frozenset[str]
    two_sample: bool = False  # needs `vs DATASET`
    vs_optional: bool = False  # may take `vs DATASET`
    options: frozenset[str] = frozenset()
    arguments: int = 0  # parenthesised arguments, e.g. out_of_range_rate(18, 100)
    kind: str = "value"  # rate | count | value | pvalue | distance — for formatting and units
    profile_exact: bool = True  # a profile can serve it exactly (see profiles)


_HISTOGRAM_OPTIONS = frozenset({"bins"})

FEATURE_STATISTICS: dict[str, FeatureStatistic] = {
    s.name: s
    for s in [
        FeatureStatistic("null_rate", "share of rows that are null or NaN", ANY_TYPE, kind="rate"),
        FeatureStatistic(
            "out_of_range_rate",
            "share of non-null values outside [LO, HI] given as arguments, or — with `vs B` — share of B's "
            "non-null values outside the subject's [min, max]",
            NUMERIC_ONLY,
            vs_optional=True,
            arguments=2,
            kind="rate",
        ),
        FeatureStatistic(
            "unseen_rate",
            "share of the `vs` dataset's rows whose non-null value never occurs in the subject",
            frozenset({NUMERIC, CATEGORICAL, OTHER}),
            two_sample=True,
            kind="rate",
        ),
        FeatureStatistic("distinct", "number of distinct non-null values", ANY_TYPE, kind="count"),
        FeatureStatistic(
            "unique_rate", "share of non-null rows whose value occurs exactly once", ANY_TYPE, kind="rate"
        ),
        FeatureStatistic("min", "smallest finite value", NUMERIC_ONLY),
        FeatureStatistic("max", "largest finite value", NUMERIC_ONLY),
        FeatureStatistic("mean", "mean of the finite values", NUMERIC_ONLY),
        FeatureStatistic("std", "sample standard deviation (ddof=1) of the finite values", NUMERIC_ONLY),
        FeatureStatistic("median", "p50 of the finite values", NUMERIC_ONLY),
        FeatureStatistic("psi", "population stability index on the reference's quantile bins", BOTH, True,
                         options=_HISTOGRAM_OPTIONS, kind="distance"),
        FeatureStatistic("js", "Jensen–Shannon distance (base 2) on the psi bins", BOTH, True,
                         options=_HISTOGRAM_OPTIONS, kind="distance"),
        FeatureStatistic("hellinger", "Hellinger distance on the psi bins", BOTH, True,
                         options=_HISTOGRAM_OPTIONS, kind="distance"),
        FeatureStatistic("linf", "largest absolute difference of bin shares (L-infinity)", BOTH, True,
                         options=_HISTOGRAM_OPTIONS, kind="distance"),
        FeatureStatistic("kl", "Kullback–Leibler divergence KL(subject ‖ reference), natural log, on the psi bins",
                         BOTH, True, options=_HISTOGRAM_OPTIONS, kind="distance"),
        FeatureStatistic("chi2_pvalue", "p-value of the chi-squared homogeneity test on the 2×K count table",
                         BOTH, True, options=_HISTOGRAM_OPTIONS, kind="pvalue"),
        FeatureStatistic("ks", "two-sample Kolmogorov–Smirnov statistic D", NUMERIC_ONLY, True,
                         kind="distance", profile_exact=False),
        FeatureStatistic("ks_pvalue", "two-sided p-value of the two-sample KS test", NUMERIC_ONLY, True,
                         kind="pvalue", profile_exact=False),
        FeatureStatistic("wasserstein", "1-D earth mover's distance", NUMERIC_ONLY, True,
                         kind="distance", profile_exact=False),
        FeatureStatistic("wasserstein_norm", "wasserstein divided by the reference's standard deviation",
                         NUMERIC_ONLY, True, kind="distance", profile_exact=False),
    ]
}

_QUANTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


def quantile_of(name: str) -> float | None:
    """`p95` → 0.95, `p99.9` → 0.999, `median` → 0.5; None for other names."""
    if name == "median":
        return 0.5
    match = _QUANTILE.match(name)
    return float(match.group(1)) / 100.0 if match else None


def feature_statistic(name: str) -> FeatureStatistic | None:
    if name in FEATURE_STATISTICS:
        return FEATURE_STATISTICS[name]
    q = quantile_of(name)
    if q is not None:
        return FeatureStatistic(name, f"the {q:g} quantile (linear interpolation) of the finite values", NUMERIC_ONLY)
    return None


# ---- model metrics (computed by sklearn.metrics in metrics.py) -------------------------------
@dataclass(frozen=True)
class MetricInfo:
    name: str
    task: str  # classification | regression
    needs_scores: bool  # probabilities / decision scores rather than labels
    higher_is_better: bool
    summary: str


METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in [
        MetricInfo("accuracy", "classification", False, True, "sklearn.metrics.accuracy_score"),
        MetricInfo("balanced_accuracy", "classification", False, True, "sklearn.metrics.balanced_accuracy_score"),
        MetricInfo("precision", "classification", False, True, "sklearn.metrics.precision_score"),
        MetricInfo("recall", "classification", False, True, "sklearn.metrics.recall_score"),
        MetricInfo("f1", "classification", False, True, "sklearn.metrics.f1_score"),
        MetricInfo("auc", "classification", True, True, "sklearn.metrics.roc_auc_score"),
        MetricInfo("pr_auc", "classification", True, True, "sklearn.metrics.average_precision_score"),
        MetricInfo("logloss", "classification", True, False, "sklearn.metrics.log_loss"),
        MetricInfo("brier", "classification", True, False, "sklearn.metrics.brier_score_loss"),
        MetricInfo("rmse", "regression", False, False, "sklearn.metrics.root_mean_squared_error"),
        MetricInfo("mae", "regression", False, False, "sklearn.metrics.mean_absolute_error"),
        MetricInfo("r2", "regression", False, True, "sklearn.metrics.r2_score"),
        MetricInfo("mape", "regression", False, False, "sklearn.metrics.mean_absolute_percentage_error"),
        MetricInfo("median_ae", "regression", False, False, "sklearn.metrics.median_absolute_error"),
    ]
}

# Which of the `average` / `positive` options each metric understands (others: none).
METRIC_PARAMS: dict[str, frozenset[str]] = {
    "precision": frozenset({"average", "positive"}),
    "recall": frozenset({"average", "positive"}),
    "f1": frozenset({"average", "positive"}),
    "auc": frozenset({"average", "positive"}),
    "pr_auc": frozenset({"average", "positive"}),
    "brier": frozenset({"positive"}),
}

BASELINE_STRATEGIES = {
    "most_frequent": "classification",
    "prior": "classification",
    "stratified": "classification",
    "uniform": "classification",
    "mean": "regression",
    "median": "regression",
}

METRIC_OPTIONS = frozenset({"average", "positive", "min_rows", "folds", "seed", "on"})
AVERAGES = ("binary", "macro", "micro", "weighted")

# ---- latency -------------------------------------------------------------------------------
LATENCY_STATISTICS = ("mean", "median", "max")  # plus any pNN
LATENCY_OPTIONS = frozenset({"batch", "concurrency", "calls", "warmup", "on"})

# ---- training curves -------------------------------------------------------------------------
TREND_OPTIONS = frozenset({"last", "tolerance"})

# ---- robustness cases ------------------------------------------------------------------------
ROBUSTNESS_CASES = {
    "nulls": "a null in each selected feature",
    "unseen categories": "a category the reference never had, in each selected categorical feature",
    "out_of_range": "values beyond the reference's min/max and extreme magnitudes, in each numeric feature",
    "empty strings": "an empty string in each selected text/categorical feature",
    "long text": "strings of 0 to 100,000 characters in each selected text/categorical feature",
    "type drift": "numbers arriving as strings and integers arriving as floats",
    "rows": 'the rows of a user-provided file: `handles rows from "edge_cases.parquet"`',
}
ROBUSTNESS_OPTIONS = frozenset({"on", "seed", "rows"})

# ---- sources -------------------------------------------------------------------------------
DATASET_KINDS = ("parquet", "csv", "ipc", "ndjson", "profile")
MODEL_KINDS = ("sklearn", "skops", "onnx", "http")
HISTORY_KINDS = ("csv", "json")


@dataclass(frozen=True)
class OptionSpec:
    kind: str  # int | number | word | value | duration
    minimum: float | None = None
    summary: str = ""
    choices: tuple[str, ...] = field(default=())
    maximum: float | None = None  # a sane bound: `at batch 1e11` would run for hours


OPTION_SPECS: dict[str, OptionSpec] = {
    "bins": OptionSpec("int", 2, "number of quantile bins for numeric histogram statistics (default 10)", maximum=10_000),
    "average": OptionSpec("word", summary="averaging of multiclass precision/recall/f1/auc", choices=AVERAGES),
    "positive": OptionSpec("value", summary="the positive class label for binary metrics"),
    "min_rows": OptionSpec("int", 1, "segments with fewer rows are skipped (default 30)", maximum=1e9),
    "folds": OptionSpec("int", 2, "number of cross-validation folds (default 5)", maximum=1_000),
    "seed": OptionSpec("int", 0, "random seed", maximum=2**32 - 1),
    "batch": OptionSpec("int", 1, "rows per call (default 1)", maximum=1_000_000),
    "concurrency": OptionSpec("int", 1, "parallel callers, HTTP models only (default 1)", maximum=256),
    "calls": OptionSpec("int", 1, "timed calls per model (default 200)", maximum=1_000_000),
    "warmup": OptionSpec("int", 0, "untimed calls per model before timing (default 20)", maximum=100_000),
    "last": OptionSpec("int", 2, "only the last N epochs", maximum=1e9),
    "tolerance": OptionSpec("number", 0, "noise tolerance: allowed rise (or fall) per epoch", maximum=1e300),
    "rows": OptionSpec("int", 1, "reference rows the cases are built from (default 20)", maximum=1_000_000),
}
