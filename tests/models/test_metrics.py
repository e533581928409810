"""Every metric equals sklearn.metrics called directly here on the same predictions.

Two layers: `metrics.resolve/score` on arrays, and the same numbers through a contract run
(`mlcontract.compile(text, datasets=..., models=...)`), so the plumbing from a contract line to
the sklearn call is covered too.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression

import mlcontract
from mlcontract.models import metrics
from mlcontract.errors import CheckError


# ---- data and models made here -------------------------------------------------------------------
def _frame(n: int, seed: int, classes: int = 2, regression: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    signal = 1.2 * x1 - 0.8 * x2 + 0.3 * x3 + rng.normal(scale=1.0, size=n)
    if regression:
        y = 3.0 + 2.0 * signal + rng.normal(scale=0.5, size=n)
    elif classes == 2:
        y = (signal > 0.3).astype(np.int64)
    else:
        y = np.digitize(signal, np.quantile(signal, np.linspace(0, 1, classes + 1)[1:-1])).astype(np.int64)
    return pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "y": y})


@pytest.fixture(scope="module")
def binary():
    train, holdout = _frame(600, 1), _frame(400, 2)
    model = LogisticRegression().fit(train[["x1", "x2", "x3"]], train["y"])
    return train, holdout, model


@pytest.fixture(scope="module")
def multiclass():
    train, holdout = _frame(900, 3, classes=3), _frame(600, 4, classes=3)
    model = LogisticRegression(max_iter=500).fit(train[["x1", "x2", "x3"]], train["y"])
    return train, holdout, model


@pytest.fixture(scope="module")
def regression():
    train, holdout = _frame(500, 5, regression=True), _frame(300, 6, regression=True)
    model = LinearRegression().fit(train[["x1", "x2", "x3"]], train["y"])
    return train, holdout, model


def _run(metric_line: str, train, holdout, model):
    text = f"label y\n{metric_line}\n"
    result = mlcontract.compile(text, datasets={"training": train, "holdout": holdout},
                                models={"candidate": model}).run()
    (check,) = result.checks
    return check


def _value(metric_line: str, train, holdout, model) -> float:
    check = _run(metric_line, train, holdout, model)
    assert check.status in ("pass", "fail"), check.message
    return check.value


# ---- binary ----------------------------------------------------------------------------------------
BINARY_ORACLES = {
    "accuracy": lambda y, p, s: skm.accuracy_score(y, p),
    "balanced_accuracy": lambda y, p, s: skm.balanced_accuracy_score(y, p),
    "precision": lambda y, p, s: skm.precision_score(y, p),
    "recall": lambda y, p, s: skm.recall_score(y, p),
    "f1": lambda y, p, s: skm.f1_score(y, p),
    "auc": lambda y, p, s: skm.roc_auc_score(y, s[:, 1]),
    "pr_auc": lambda y, p, s: skm.average_precision_score(y, s[:, 1]),
    "logloss": lambda y, p, s: skm.log_loss(y, s),
    "brier": lambda y, p, s: skm.brier_score_loss(y, s[:, 1]),
}


@pytest.mark.parametrize("metric", list(BINARY_ORACLES))
def test_binary_metrics_match_sklearn(binary, metric):
    train, holdout, model = binary
    X, y = holdout[["x1", "x2", "x3"]], holdout["y"].to_numpy()
    pred, proba = model.predict(X), model.predict_proba(X)
    expected = BINARY_ORACLES[metric](y, pred, proba)
    setup = metrics.resolve(metric, y, (), model.classes_)
    if metrics.needs_probabilities(metric):
        got = metrics.score(setup, y, proba=proba, proba_classes=model.classes_)
    else:
        got = metrics.score(setup, y, y_pred=pred)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert _value(f"{metric} on holdout >= 0", train, holdout, model) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_positive_class_changes_the_label_metrics(binary):
    train, holdout, model = binary
    X, y = holdout[["x1", "x2", "x3"]], holdout["y"].to_numpy()
    pred, proba = model.predict(X), model.predict_proba(X)
    assert _value("f1 on holdout >= 0 positive 0", train, holdout, model) == pytest.approx(
        skm.f1_score(y, pred, pos_label=0))
    assert _value("recall on holdout >= 0 positive 0", train, holdout, model) == pytest.approx(
        skm.recall_score(y, pred, pos_label=0))
    assert _value("pr_auc on holdout >= 0 positive 0", train, holdout, model) == pytest.approx(
        skm.average_precision_score(y, proba[:, 0], pos_label=0))
    assert _value("brier on holdout >= 0 positive 0", train, holdout, model) == pytest.approx(
        skm.brier_score_loss(y, proba[:, 0], pos_label=0))
    # auc of the negative class scored by its own probability is the same ranking quality
    assert _value("auc on holdout >= 0 positive 0", train, holdout, model) == pytest.approx(
        skm.roc_auc_score(y == 0, proba[:, 0]))


@pytest.mark.parametrize("average", ["macro", "micro", "weighted"])
def test_binary_averaging_options(binary, average):
    train, holdout, model = binary
    X, y = holdout[["x1", "x2", "x3"]], holdout["y"].to_numpy()
    pred = model.predict(X)
    for metric, oracle in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        got = _value(f"{metric} on holdout >= 0 average {average}", train, holdout, model)
        assert got == pytest.approx(oracle(y, pred, average=average))


# ---- multiclass -------------------------------------------------------------------------------------
@pytest.mark.parametrize("average", [None, "macro", "micro", "weighted"])
def test_multiclass_metrics_match_sklearn(multiclass, average):
    train, holdout, model = multiclass
    X, y = holdout[["x1", "x2", "x3"]], holdout["y"].to_numpy()
    pred, proba = model.predict(X), model.predict_proba(X)
    sk_average = average or "macro"  # the documented default for more than two classes
    option = f" average {average}" if average else ""
    for metric, oracle in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        got = _value(f"{metric} on holdout >= 0{option}", train, holdout, model)
        assert got == pytest.approx(oracle(y, pred, average=sk_average, zero_division=0))
    got = _value(f"auc on holdout >= 0{option}", train, holdout, model)
    assert got == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr", average=sk_average))
    got = _value(f"pr_auc on holdout >= 0{option}", train, holdout, model)
    assert got == pytest.approx(skm.average_precision_score(y, proba, average=sk_average))


def test_multiclass_unaveraged_metrics(multiclass):
    train, holdout, model = multiclass
    X, y = holdout[["x1", "x2", "x3"]], holdout["y"].to_numpy()
    pred, proba = model.predict(X), model.predict_proba(X)
    assert _value("accuracy on holdout >= 0", train, holdout, model) == pytest.approx(skm.accuracy_score(y, pred))
    assert _value("balanced_accuracy on holdout >= 0", train, holdout, model) == pytest.approx(
        skm.balanced_accuracy_score(y, pred))
    assert _value("logloss on holdout >= 0", train, holdout, model) == pytest.approx(skm.log_loss(y, proba))
    assert _value("brier on holdout >= 0", train, holdout, model) == pytest.approx(
        skm.brier_score_loss(y, proba, labels=[0, 1, 2]))


def test_multiclass_rejects_binary_only_options(multiclass):
    train, holdout, model = multiclass
    check = _run("f1 on holdout >= 0 average binary", train, holdout, model)
    assert check.status == "error" and "average binary` needs two classes" in check.message
    check = _run("f1 on holdout >= 0 positive 1", train, holdout, model)
    assert check.status == "error" and "`positive` applies to two-class labels" in check.message


# ---- regression ----------------------------------------------------------------------------------------
REGRESSION_ORACLES = {
    "rmse": skm.root_mean_squared_error,
    "mae": skm.mean_absolute_error,
    "r2": skm.r2_score,
    "mape": skm.mean_absolute_percentage_error,
    "median_ae": skm.median_absolute_error,
}


@pytest.mark.parametrize("metric", list(REGRESSION_ORACLES))
def test_regression_metrics_match_sklearn(regression, metric):
    train, holdout, model = regression
    X, y = holdout[["x1", "x2", "x3"]], holdout["y"].to_numpy()
    expected = REGRESSION_ORACLES[metric](y, model.predict(X))
    assert _value(f"{metric} on holdout >= -1e9", train, holdout, model) == pytest.approx(expected, rel=1e-12)


def test_regression_metric_rejects_classification_options(regression):
    """Caught at compile time; and the metric layer refuses it too if asked directly."""
    train, holdout, model = regression
    with pytest.raises(mlcontract.ContractError, match="`positive` does not apply to `rmse`"):
        _run("rmse on holdout <= 10 positive 1", train, holdout, model)
    with pytest.raises(CheckError, match="does not apply"):
        metrics.resolve("rmse", np.array([1.0, 2.0]), (("positive", 1),))


# ---- string labels ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def strings(binary):
    train, holdout, _ = binary
    train, holdout = train.copy(), holdout.copy()
    for frame in (train, holdout):
        frame["y"] = np.where(frame["y"] == 1, "churn", "stay")
    model = LogisticRegression().fit(train[["x1", "x2", "x3"]], train["y"])
    return train, holdout, model


def test_string_labels_with_positive(strings):
    train, holdout, model = strings
    X, y = holdout[["x1", "x2", "x3"]], holdout["y"].to_numpy()
    pred, proba = model.predict(X), model.predict_proba(X)
    churn = list(model.classes_).index("churn")
    assert _value("f1 on holdout >= 0 positive churn", train, holdout, model) == pytest.approx(
        skm.f1_score(y, pred, pos_label="churn"))
    assert _value('precision on holdout >= 0 positive "stay"', train, holdout, model) == pytest.approx(
        skm.precision_score(y, pred, pos_label="stay"))
    assert _value("auc on holdout >= 0 positive churn", train, holdout, model) == pytest.approx(
        skm.roc_auc_score(y == "churn", proba[:, churn]))
    assert _value("brier on holdout >= 0 positive churn", train, holdout, model) == pytest.approx(
        skm.brier_score_loss(y, proba[:, churn], pos_label="churn"))
    # metrics that do not depend on a positive class need none
    assert _value("accuracy on holdout >= 0", train, holdout, model) == pytest.approx(skm.accuracy_score(y, pred))
    assert _value("logloss on holdout >= 0", train, holdout, model) == pytest.approx(skm.log_loss(y, proba))


def test_string_labels_without_positive_is_a_clear_error(strings):
    train, holdout, model = strings
    check = _run("f1 on holdout >= 0.5", train, holdout, model)
    assert check.status == "error"
    assert "positive class" in check.message and "'churn', 'stay'" in check.message
    check = _run("f1 on holdout >= 0.5 positive leave", train, holdout, model)
    assert check.status == "error" and "`positive leave` is not one of the classes" in check.message


# ---- unit: resolution rules --------------------------------------------------------------------------------
def test_default_positive_is_the_larger_number_or_true():
    assert metrics.resolve("f1", np.array([0, 1, 1])).positive == 1
    assert metrics.resolve("f1", np.array([-1, 1, 1])).positive == 1
    assert metrics.resolve("f1", np.array([False, True])).positive is True
    assert metrics.resolve("f1", np.array([2, 5, 2])).positive == 5
    assert metrics.resolve("f1", np.array([0, 1]), (("positive", "1"),)).positive == 1
    assert metrics.resolve("f1", np.array(["0", "1"], dtype=object), (("positive", 1),)).positive == "1"


def test_defaults_for_averaging():
    assert metrics.resolve("f1", np.array([0, 1])).average == "binary"
    assert metrics.resolve("f1", np.array([0, 1, 2])).average == "macro"
    assert metrics.resolve("auc", np.array([0, 1, 2])).average == "macro"
    assert metrics.resolve("accuracy", np.array([0, 1, 2])).average is None


def test_options_that_do_not_apply_are_errors():
    with pytest.raises(CheckError, match="does not apply to `accuracy`"):
        metrics.resolve("accuracy", np.array([0, 1]), (("average", "macro"),))
    with pytest.raises(CheckError, match="scores the positive class"):
        metrics.resolve("auc", np.array([0, 1]), (("average", "macro"),))
    with pytest.raises(CheckError, match="at least two classes"):
        metrics.resolve("f1", np.array([1, 1, 1]))


def test_probability_columns_follow_the_model_classes():
    y = np.array(["no", "yes", "yes", "no", "yes"], dtype=object)
    # columns in the model's (unsorted) class order: yes first
    proba = np.array([[0.2, 0.8], [0.7, 0.3], [0.9, 0.1], [0.4, 0.6], [0.6, 0.4]])
    setup = metrics.resolve("auc", y, (("positive", "yes"),), np.array(["yes", "no"], dtype=object))
    got = metrics.score(setup, y, proba=proba, proba_classes=np.array(["yes", "no"], dtype=object))
    assert got == pytest.approx(skm.roc_auc_score(y == "yes", proba[:, 0]))
    assert setup.describe()["classes"] == ["no", "yes"]


def test_one_dimensional_scores_are_the_positive_probability():
    y = np.array([0, 1, 1, 0, 1, 0])
    p = np.array([0.1, 0.8, 0.6, 0.4, 0.35, 0.2])
    setup = metrics.resolve("logloss", y)
    assert metrics.score(setup, y, proba=p) == pytest.approx(skm.log_loss(y, np.column_stack([1 - p, p])))
    setup = metrics.resolve("auc", y)
    assert metrics.score(setup, y, proba=p) == pytest.approx(skm.roc_auc_score(y, p))


def test_labels_the_model_never_saw_are_an_error_for_probability_metrics():
    y = np.array([0, 1, 2])
    setup = metrics.resolve("logloss", y, (), np.array([0, 1]))
    with pytest.raises(CheckError, match="no probability for: 2"):
        metrics.score(setup, y, proba=np.array([[0.5, 0.5]] * 3), proba_classes=np.array([0, 1]))


def test_undefined_metric_is_a_check_error():
    y = np.array([1, 1, 1])
    setup = metrics.resolve("auc", y, (), np.array([0, 1]))
    with pytest.raises(CheckError, match="auc is undefined on these rows: Only one class"):
        metrics.score(setup, y, proba=np.array([[0.5, 0.5]] * 3), proba_classes=np.array([0, 1]))


@pytest.mark.guard
def test_checking_the_labels_against_the_models_classes_is_per_distinct_label(monkeypatch):
    """issue 15: plain() once per row cost ~0.6 s of a holdout metric over 1M rows; the labels
    are compared with the model's classes once per distinct value, with the same outcome."""
    calls = []
    original = metrics.plain
    monkeypatch.setattr(metrics, "plain", lambda value: calls.append(value) or original(value))
    labels = np.tile(np.array([0, 1, 1]), 10_000)
    metrics._require_known_classes(labels, np.array([0, 1]))
    assert len(calls) <= 4
    with pytest.raises(CheckError, match="no probability for: 2"):
        metrics._require_known_classes(np.append(labels, 2), np.array([0, 1]))
