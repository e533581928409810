"""Model-quality checks end to end: baselines, comparisons with another model, segments,
cross-validation, the overfitting gap, failure modes, and the conformance contract's lines.

Oracles are scikit-learn itself, called here: sklearn.dummy for baselines, cross_validate with
the same splitter for CV, per-group sklearn.metrics calls for segments.
"""
from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.svm import LinearSVC

import mlcontract
from conftest import run_json

FEATURES = ["x1", "x2", "noise", "country"]
COUNTRIES = ["US", "DE", "FR", "IN", "BR", "LU"]


def _customers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    country = rng.choice(COUNTRIES, n, p=[0.35, 0.25, 0.15, 0.12, 0.1, 0.03])
    x1, x2, noise = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    shift = pd.Series(country).map({"US": 0.0, "DE": 0.4, "FR": -0.3, "IN": 0.2, "BR": -0.5, "LU": 0.0}).to_numpy()
    logit = 1.5 * x1 - 1.0 * x2 + shift - 0.4
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return pd.DataFrame({"id": np.arange(n), "x1": x1, "x2": x2, "noise": noise, "country": country, "y": y})


def _pipeline(columns=("x1", "x2", "noise")):
    return make_pipeline(
        ColumnTransformer([("num", "passthrough", list(columns)),
                           ("cat", OneHotEncoder(handle_unknown="ignore"), ["country"])]),
        LogisticRegression(max_iter=500),
    )


@pytest.fixture(scope="module")
def data():
    train, holdout = _customers(1500, 11), _customers(1000, 12)
    good = _pipeline().fit(train[FEATURES], train["y"])
    weak = _pipeline(("noise",)).fit(train[FEATURES], train["y"])
    return train, holdout, good, weak


HEADER = "label y\nignore id\n"


def _run(lines: str, train, holdout, models: dict, **datasets):
    text = HEADER + lines.strip() + "\n"
    frames = {"training": train, "holdout": holdout, **datasets}
    return mlcontract.compile(text, datasets=frames, models=models).run()


def _one(lines: str, train, holdout, models: dict, **datasets):
    result = _run(lines, train, holdout, models, **datasets)
    (check,) = result.checks
    return check


def _X(frame):
    return frame[FEATURES]


# ---- baselines ---------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["most_frequent", "prior", "stratified", "uniform"])
def test_classification_baselines_match_sklearn_dummy(data, strategy):
    train, holdout, good, _ = data
    dummy = DummyClassifier(strategy=strategy, random_state=0).fit(_X(train), train["y"])
    y = holdout["y"]
    expected_accuracy = skm.accuracy_score(y, dummy.predict(_X(holdout)))
    expected_auc = skm.roc_auc_score(y, dummy.predict_proba(_X(holdout))[:, 1])
    check = _one(f"accuracy on holdout > baseline {strategy}", train, holdout, {"candidate": good})
    assert check.details["references"][f"baseline {strategy}"] == pytest.approx(expected_accuracy)
    assert check.threshold == pytest.approx(expected_accuracy)
    assert check.status == "pass"
    check = _one(f"auc on holdout > baseline {strategy}", train, holdout, {"candidate": good})
    assert check.details["references"][f"baseline {strategy}"] == pytest.approx(expected_auc)
    assert check.details["reference_details"][f"baseline {strategy}"]["fitted_on"] == "training"


@pytest.mark.parametrize("strategy", ["mean", "median"])
def test_regression_baselines_match_sklearn_dummy(strategy):
    train, holdout = _customers(400, 1), _customers(300, 2)
    for frame in (train, holdout):
        frame["y"] = 2.0 * frame["x1"] + frame["x2"] ** 2
    model = LinearRegression().fit(train[["x1", "x2", "noise"]], train["y"])
    dummy = DummyRegressor(strategy=strategy).fit(train[["x1"]], train["y"])
    expected = skm.root_mean_squared_error(holdout["y"], dummy.predict(holdout[["x1"]]))
    text = f"rmse on holdout < baseline {strategy}"
    result = mlcontract.compile(HEADER + "ignore country\n" + text + "\n",
                                datasets={"training": train, "holdout": holdout}, models={"m": model}).run()
    (check,) = result.checks
    assert check.status == "pass"
    assert check.details["references"][f"baseline {strategy}"] == pytest.approx(expected)
    assert check.value == pytest.approx(skm.root_mean_squared_error(holdout["y"], model.predict(holdout[["x1", "x2", "noise"]])))


def test_candidate_worse_than_most_frequent_fails(data):
    train, holdout, _, _ = data
    # a real, fitted model that learned the labels backwards
    backwards = _pipeline().fit(_X(train), 1 - train["y"])
    check = _one("accuracy on holdout > baseline most_frequent", train, holdout, {"candidate": backwards})
    majority = holdout["y"].value_counts().idxmax()
    assert check.status == "fail"
    assert check.value == pytest.approx(skm.accuracy_score(holdout["y"], backwards.predict(_X(holdout))))
    assert check.details["references"]["baseline most_frequent"] == pytest.approx(np.mean(holdout["y"] == majority))


# ---- another model on the right ------------------------------------------------------------------
def test_candidate_below_prod_minus_margin_fails(data):
    train, holdout, good, weak = data
    check = _one("auc on holdout >= prod - 0.02", train, holdout, {"candidate": weak, "prod": good})
    prod_auc = skm.roc_auc_score(holdout["y"], good.predict_proba(_X(holdout))[:, 1])
    cand_auc = skm.roc_auc_score(holdout["y"], weak.predict_proba(_X(holdout))[:, 1])
    assert check.status == "fail"
    assert check.value == pytest.approx(cand_auc)
    assert check.details["references"]["prod"] == pytest.approx(prod_auc)
    assert check.threshold == pytest.approx(prod_auc - 0.02)
    assert "prod: " in check.message
    # and the other way round it passes
    check = _one("auc on holdout >= prod - 0.02", train, holdout, {"candidate": good, "prod": weak})
    assert check.status == "pass"


def test_dataset_on_the_right_is_the_same_metric_there(data):
    train, holdout, good, _ = data
    check = _one("accuracy on holdout >= training - 0.1", train, holdout, {"candidate": good})
    assert check.details["references"]["training"] == pytest.approx(
        skm.accuracy_score(train["y"], good.predict(_X(train))))


def test_overfitting_gap(data):
    train, holdout, good, _ = data
    check = _one("auc on training - auc on holdout <= 0.05", train, holdout, {"candidate": good})
    on_train = skm.roc_auc_score(train["y"], good.predict_proba(_X(train))[:, 1])
    on_holdout = skm.roc_auc_score(holdout["y"], good.predict_proba(_X(holdout))[:, 1])
    assert check.value == pytest.approx(on_train - on_holdout)
    assert check.details["left"] == pytest.approx(on_train) and check.details["right"] == pytest.approx(on_holdout)
    assert check.status == ("pass" if on_train - on_holdout <= 0.05 else "fail")


# ---- models that cannot be scored: error, never a pass -----------------------------------------------------
class _Raising:
    classes_ = np.array([0, 1])

    def predict(self, X):
        raise ValueError("column x9 went missing in the serving schema")

    def predict_proba(self, X):
        raise RuntimeError("probabilities are broken")


def test_model_that_raises_is_an_error_with_its_message(data):
    train, holdout, _, _ = data
    result = _run("accuracy on holdout >= 0.5\nauc on holdout >= 0.5\n", train, holdout, {"candidate": _Raising()})
    accuracy, auc = result.checks
    assert accuracy.status == "error" and "column x9 went missing in the serving schema" in accuracy.message
    assert "ValueError" in accuracy.message
    assert auc.status == "error" and "probabilities are broken" in auc.message
    assert not result.passed


def test_model_without_predict_proba_for_auc_is_an_error(data):
    train, holdout, _, _ = data
    svm = make_pipeline(ColumnTransformer([("num", "passthrough", ["x1", "x2"])]), LinearSVC()).fit(_X(train), train["y"])
    result = _run("auc on holdout >= 0.5\naccuracy on holdout >= 0.5\n", train, holdout, {"candidate": svm})
    auc, accuracy = result.checks
    assert auc.status == "error" and "has no predict_proba" in auc.message
    assert accuracy.status == "pass"  # label metrics still work


def test_missing_model_file_is_an_error(data, tmp_path):
    train, holdout, _, _ = data
    text = HEADER + 'model candidate = sklearn("models/nope.joblib")\nauc on holdout >= 0.5\n'
    result = mlcontract.compile(text, datasets={"training": train, "holdout": holdout}, base_dir=tmp_path).run()
    (check,) = result.checks
    assert check.status == "error" and "file not found" in check.message and "nope.joblib" in check.message


def test_empty_dataset_is_an_error(data):
    train, holdout, good, _ = data
    check = _one("auc on holdout >= 0.5", train, holdout.iloc[:0], {"candidate": good})
    assert check.status == "error" and "is empty" in check.message


def test_predictions_of_the_wrong_length_are_an_error(data):
    train, holdout, _, _ = data
    check = _one("accuracy on holdout >= 0.5", train, holdout, {"candidate": lambda X: np.zeros(3)})
    assert check.status == "error" and "expected one prediction per row" in check.message


# ---- one model call per model and dataset -----------------------------------------------------------------
def test_metrics_of_one_model_share_its_calls(data):
    train, holdout, good, _ = data
    calls = {"predict": 0, "predict_proba": 0}

    def predict(X):
        calls["predict"] += 1
        return good.predict(X)

    def predict_proba(X):
        calls["predict_proba"] += 1
        return good.predict_proba(X)

    model = {"predict": predict, "predict_proba": predict_proba, "classes": good.classes_}
    lines = "\n".join(f"{m} on holdout >= 0" for m in ("accuracy", "f1", "precision", "recall", "auc", "pr_auc",
                                                       "logloss", "brier"))
    result = _run(lines, train, holdout, {"candidate": model})
    assert all(c.status == "pass" for c in result.checks), [c.message for c in result.checks]
    assert calls == {"predict": 1, "predict_proba": 1}
    assert result.checks[4].value == pytest.approx(skm.roc_auc_score(holdout["y"], good.predict_proba(_X(holdout))[:, 1]))


# ---- segments -------------------------------------------------------------------------------------
def test_segments_match_per_group_sklearn(data):
    train, holdout, good, _ = data
    check = _one("auc on holdout by country >= 0.6 min_rows 50", train, holdout, {"candidate": good})
    proba = good.predict_proba(_X(holdout))[:, 1]
    expected = {}
    for country, rows in holdout.groupby("country").groups.items():
        if len(rows) >= 50:
            expected[country] = skm.roc_auc_score(holdout.loc[rows, "y"], proba[holdout.index.get_indexer(rows)])
    got = {s["segment"]: s["value"] for s in check.details["segments"]}
    assert got == pytest.approx(expected)
    worst = min(expected, key=expected.get)
    assert check.value == pytest.approx(expected[worst])
    assert check.details["worst_segment"] == worst
    assert f"country={worst}" in check.message
    sizes = holdout["country"].value_counts()
    skipped = {s["segment"] for s in check.details["skipped"]}
    assert skipped == set(sizes[sizes < 50].index) and skipped  # LU is small
    assert {s["segment"]: s["rows"] for s in check.details["segments"]} == {c: int(sizes[c]) for c in expected}


def test_segments_of_a_lower_is_better_metric_report_the_largest(data):
    train, holdout, good, _ = data
    check = _one("logloss on holdout by country <= 1", train, holdout, {"candidate": good})
    proba = good.predict_proba(_X(holdout))
    values = {c: skm.log_loss(g["y"], proba[g.index], labels=[0, 1]) for c, g in holdout.groupby("country")
              if len(g) >= 30}
    assert check.value == pytest.approx(max(values.values()))


def test_no_segment_with_enough_rows_is_an_error(data):
    train, holdout, good, _ = data
    check = _one("auc on holdout by country >= 0.6 min_rows 5000", train, holdout, {"candidate": good})
    assert check.status == "error" and "no segment of holdout by country has at least 5000 rows" in check.message


# ---- cross-validation -------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("seed", [1])
def test_cv_matches_cross_validate(data, seed):
    train, holdout, good, _ = data
    lines = (f"candidate cv auc on training >= 0.5 with 4 folds seed {seed}\n"
             f"candidate cv auc std on training <= 0.5 with 4 folds seed {seed}\n"
             f"candidate cv accuracy on training >= 0.5 with 4 folds seed {seed}\n")
    result = _run(lines, train, holdout, {"candidate": good})
    splitter = StratifiedKFold(n_splits=4, shuffle=True, random_state=seed)
    auc = cross_validate(clone(good), _X(train), train["y"], cv=splitter, scoring="roc_auc")["test_score"]
    accuracy = cross_validate(clone(good), _X(train), train["y"], cv=splitter, scoring="accuracy")["test_score"]
    mean, std, acc = result.checks
    assert mean.value == pytest.approx(auc.mean()) and std.value == pytest.approx(auc.std())
    assert mean.details["folds"] == pytest.approx(list(auc))
    assert acc.value == pytest.approx(accuracy.mean())
    assert all(c.status == "pass" for c in result.checks)


def test_cv_regression_uses_kfold():
    train, holdout = _customers(300, 3), _customers(100, 4)
    for frame in (train, holdout):
        frame["y"] = 2.0 * frame["x1"] - frame["x2"] + 0.1 * frame["noise"]
    model = LinearRegression()
    model.fit(train[["x1", "x2", "noise"]], train["y"])
    result = mlcontract.compile(HEADER + "ignore country\nm cv rmse on training <= 1 with 3 folds seed 7\n",
                                datasets={"training": train, "holdout": holdout}, models={"m": model}).run()
    (check,) = result.checks
    scores = cross_validate(clone(model), train[["x1", "x2", "noise"]], train["y"],
                            cv=KFold(3, shuffle=True, random_state=7), scoring="neg_root_mean_squared_error")
    assert check.value == pytest.approx(-scores["test_score"].mean())
    assert check.details["splitter"].startswith("KFold(n_splits=3")


def test_cv_needs_a_refittable_estimator(data):
    train, holdout, good, _ = data
    check = _one("candidate cv auc on training >= 0.5 with 3 folds", train, holdout,
                 {"candidate": lambda X: good.predict(X)})
    assert check.status == "error" and "cannot be refitted" in check.message


@pytest.mark.slow
def test_cv_short_form_defaults_to_the_first_model(data):
    """`cv auc on training >= 0.72 with 5 folds` as the issue writes it (5 folds, seed 0)."""
    train, holdout, good, _ = data
    check = _one("cv auc on training >= 0.5 with 5 folds", train, holdout, {"candidate": good})
    splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    auc = cross_validate(clone(good), _X(train), train["y"], cv=splitter, scoring="roc_auc")["test_score"]
    assert check.subject == "candidate" and check.value == pytest.approx(auc.mean())


# ---- the conformance contract, through the CLI ---------------------------------------------------------------
MODEL_QUALITY_LINES = [
    "val_loss not increasing",
    "val_loss not increasing over last 5 epochs",
    "auc on holdout >= 0.70",
    "auc on holdout >= prod - 0.02",
    "accuracy on holdout > baseline most_frequent",
    "f1 on holdout >= 0.5",
]


@pytest.mark.slow
def test_conformance_model_quality_lines_pass_through_the_cli(conformance, tmp_path):
    """The conformance contract's declarations and its six model-quality and curve lines,
    verbatim, on its fixture (test_conformance.py runs the whole file)."""
    lines = (conformance / "churn.mlc").read_text().splitlines()
    declarations = [t for t in lines if t.split()[:1] and t.split()[0] in
                    ("contract", "dataset", "model", "history", "label", "ignore")]
    assert all(line in lines for line in MODEL_QUALITY_LINES)
    contract = conformance / "model-quality-only.mlc"
    contract.write_text("\n".join(declarations + MODEL_QUALITY_LINES) + "\n")
    code, results, done = run_json(contract, tmp_path, "--allow-pickle")
    assert "Traceback" not in done.stderr
    assert code == 0 and results["passed"], done.stdout
    by_source = {c["source"]: c for c in results["checks"]}
    for line in MODEL_QUALITY_LINES:
        assert by_source[line]["status"] == "pass", (line, by_source[line]["message"])
    auc = by_source["auc on holdout >= 0.70"]
    assert 0.7 <= auc["value"] <= 1 and auc["details"]["sklearn"] == "sklearn.metrics.roc_auc_score"
    holdout = pd.read_parquet(conformance / "data" / "holdout.parquet")
    candidate = joblib.load(conformance / "models" / "candidate.joblib")
    prod = joblib.load(conformance / "models" / "prod.joblib")
    X, y = holdout.drop(columns=["churned", "customer_id"]), holdout["churned"]
    assert auc["value"] == pytest.approx(skm.roc_auc_score(y, candidate.predict_proba(X)[:, 1]))
    versus_prod = by_source["auc on holdout >= prod - 0.02"]
    prod_auc = versus_prod["details"]["references"]["prod"]
    assert prod_auc == pytest.approx(skm.roc_auc_score(y, prod.predict_proba(X)[:, 1]))
    assert versus_prod["threshold"] == pytest.approx(prod_auc - 0.02)
    baseline = by_source["accuracy on holdout > baseline most_frequent"]
    base = baseline["details"]["references"]["baseline most_frequent"]
    assert base == pytest.approx(y.value_counts(normalize=True).max())
    assert baseline["value"] == pytest.approx(skm.accuracy_score(y, candidate.predict(X))) and baseline["value"] > base
    f1 = by_source["f1 on holdout >= 0.5"]
    assert f1["value"] == pytest.approx(skm.f1_score(y, candidate.predict(X)))
    curve = by_source["val_loss not increasing"]
    assert curve["details"]["violation_epoch"] is None and curve["details"]["last_epoch"] == 20
    window = by_source["val_loss not increasing over last 5 epochs"]
    assert window["details"]["from_epoch"] == 16 and window["details"]["epochs"] == 5
