"""Early-stopped models (issue 14): `up to best epoch` on the curves of real early-stopped
boosters, relative and absolute tolerances against an oracle of the trend rule, and `cv` on
models built with early stopping against a hand-written cross-validation with the same folds."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

import mlcontract
from mlcontract.errors import CheckError, ContractError
from mlcontract.models import history as hs
from mlcontract.models.quality import trend


def _check(tmp_path, declaration: str, line: str, **inputs):
    result = mlcontract.compile(f"{declaration}\n{line}\n", base_dir=tmp_path, **inputs).run()
    (check,) = result.checks
    return check


def _split():
    X, y = make_classification(n_samples=1000, n_features=20, n_informative=4, flip_y=0.3, random_state=0)
    return X[:666], y[:666], X[666:], y[666:]


@pytest.fixture(scope="module")
def xgboost_run():
    """An XGBoost classifier that overfits fast, stopped 10 rounds after its best validation loss."""
    xgb = pytest.importorskip("xgboost")
    X_train, y_train, X_val, y_val = _split()
    model = xgb.XGBClassifier(n_estimators=300, learning_rate=0.2, max_depth=4, early_stopping_rounds=10,
                              eval_metric="logloss", n_jobs=1)
    model.fit(X_train, y_train, eval_set=[(X_train, y_train), (X_val, y_val)], verbose=False)
    return model.evals_result(), model.best_iteration


@pytest.fixture(scope="module")
def lightgbm_run():
    lgb = pytest.importorskip("lightgbm")
    X_train, y_train, X_val, y_val = _split()
    evals: dict = {}
    model = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.2, num_leaves=16, min_child_samples=2, verbose=-1,
                               n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # `eval_set` is deprecated in favour of eval_X / eval_y
        model.fit(X_train, y_train, eval_set=[(X_train, y_train), (X_val, y_val)],
                  callbacks=[lgb.early_stopping(10, verbose=False), lgb.record_evaluation(evals)])
    return {k: {m: list(v) for m, v in d.items()} for k, d in evals.items()}, model.best_iteration_


# ---- `up to best epoch` on real early-stopped boosters ------------------------------------------------------
def test_xgboost_patience_rounds_fail_without_up_to_best_and_pass_with_it(tmp_path, xgboost_run):
    evals, best_iteration = xgboost_run
    curve = evals["validation_1"]["logloss"]
    assert len(curve) == best_iteration + 11 and int(np.argmin(curve)) == best_iteration  # 10 patience rounds
    (tmp_path / "evals.json").write_text(json.dumps({**evals, "best_iteration": best_iteration}))
    declaration = 'history run = json("evals.json")'
    check = _check(tmp_path, declaration, "validation_1.logloss not increasing")
    assert check.status == "fail" and check.details["violation_row"] == best_iteration + 1
    check = _check(tmp_path, declaration, "validation_1.logloss not increasing up to best epoch")
    assert check.status == "pass", check.message
    assert check.details["best_row"] == best_iteration and check.details["best_epoch"] == best_iteration + 1
    assert check.details["best_from"] == f"`best_iteration` {best_iteration}"
    assert check.details["last_epoch"] == best_iteration + 1 and check.details["epochs"] == best_iteration + 1
    assert f"up to best epoch {best_iteration + 1} (from `best_iteration` {best_iteration})" in check.message


def test_lightgbm_best_iteration_counts_from_1_so_it_is_written_as_best_epoch(tmp_path, lightgbm_run):
    evals, best_iteration = lightgbm_run
    curve = evals["valid_1"]["binary_logloss"]
    assert int(np.argmin(curve)) == best_iteration - 1 and len(curve) == best_iteration + 10
    (tmp_path / "evals.json").write_text(json.dumps({**evals, "best_epoch": best_iteration}))
    declaration = 'history run = json("evals.json")'
    assert _check(tmp_path, declaration, "valid_1.binary_logloss not increasing").status == "fail"
    check = _check(tmp_path, declaration, "valid_1.binary_logloss not increasing up to best epoch")
    assert check.status == "pass" and check.details["best_row"] == best_iteration - 1
    # written as `best_iteration`, LightGBM's count (from 1) takes one patience round in: it fails, as documented
    (tmp_path / "evals.json").write_text(json.dumps({**evals, "best_iteration": best_iteration}))
    check = _check(tmp_path, declaration, "valid_1.binary_logloss not increasing up to best epoch")
    assert check.status == "fail" and check.details["violation_row"] == best_iteration


def test_without_a_recorded_best_the_curve_minimum_is_the_best(tmp_path, xgboost_run):
    evals, best_iteration = xgboost_run
    (tmp_path / "evals.json").write_text(json.dumps(evals))
    check = _check(tmp_path, 'history run = json("evals.json")', "validation_1.logloss not increasing up to best epoch")
    assert check.status == "pass" and check.details["best_row"] == best_iteration
    assert check.details["best_from"] == "the lowest `validation_1.logloss`"


def test_keras_like_records_with_a_best_epoch_column(tmp_path):
    """A running `best_epoch` column (as a callback logs it): its last value is the best; epochs
    are the history's own (from 0, as Keras numbers them)."""
    val_loss = [0.9, 0.7, 0.6, 0.55, 0.58, 0.61, 0.64]
    best = [0, 1, 2, 3, 3, 3, 3]
    records = [{"epoch": e, "val_loss": v, "best_epoch": b} for e, (v, b) in enumerate(zip(val_loss, best))]
    (tmp_path / "h.json").write_text(json.dumps(records))
    declaration = 'history run = json("h.json")'
    assert _check(tmp_path, declaration, "val_loss not increasing").status == "fail"
    check = _check(tmp_path, declaration, "val_loss not increasing up to best epoch")
    assert check.status == "pass" and check.details["best_epoch"] == 3 and check.details["last_epoch"] == 3
    check = _check(tmp_path, declaration, "val_loss not increasing up to best epoch over last 2 epochs")
    assert check.status == "pass" and check.details["from_epoch"] == 2
    with pytest.raises(ContractError) as caught:  # the marker is no curve
        mlcontract.compile(f"{declaration}\nbest_epoch not increasing\n", base_dir=tmp_path)
    assert "not a curve" in str(caught.value)
    pd.DataFrame(records).to_csv(tmp_path / "h.csv", index=False)  # a CSV column works alike
    check = _check(tmp_path, 'history run = csv("h.csv")', "val_loss not increasing up to best epoch")
    assert check.status == "pass" and check.details["best_epoch"] == 3


def test_accuracy_like_curves_end_at_their_highest_value(tmp_path):
    (tmp_path / "h.json").write_text(json.dumps({"val_auc": [0.6, 0.7, 0.75, 0.74, 0.72]}))
    declaration = 'history run = json("h.json")'
    assert _check(tmp_path, declaration, "val_auc not decreasing").status == "fail"
    check = _check(tmp_path, declaration, "val_auc not decreasing up to best epoch")
    assert check.status == "pass" and check.details["best_epoch"] == 3


@pytest.mark.parametrize("document,words", [
    ({"loss": [0.5, 0.4, 0.3], "best_iteration": 3}, "is not a row of its 3 epochs (it counts from 0"),
    ({"loss": [0.5, 0.4, 0.3], "best_iteration": 1.5}, "is not a row of its 3 epochs"),
    ({"loss": [0.5, 0.4, 0.3], "best_epoch": 7}, "`best_epoch` 7 in h.json is none of its epochs (1–3)"),
    ({"loss": [0.5, 0.4, 0.3], "best_iteration": 0}, "needs at least two epochs; history `run` has 1 up to its best"),
    ({"loss": [0.5, None, 0.3]}, "no value at epoch 2"),
])
def test_a_best_that_is_no_usable_row_is_an_error(tmp_path, document, words):
    (tmp_path / "h.json").write_text(json.dumps(document))
    check = _check(tmp_path, 'history run = json("h.json")', "loss not increasing up to best epoch")
    assert check.status == "error" and words in check.message, check.message


def test_a_best_iteration_that_is_not_a_number_is_an_error_naming_the_file(tmp_path):
    (tmp_path / "h.json").write_text(json.dumps({"loss": [0.5, 0.4, 0.3], "best_iteration": "12"}))
    check = _check(tmp_path, 'history run = json("h.json")', "loss not increasing up to best epoch")
    assert check.status == "error" and "`best_iteration` in h.json is '12', not a number" in check.message
    assert _check(tmp_path, 'history run = json("h.json")', "loss not increasing").status == "pass"  # others run
    (tmp_path / "h.csv").write_text("epoch,loss,best_epoch\n1,0.5,x\n2,0.4,y\n")
    check = _check(tmp_path, 'history run = csv("h.csv")', "loss not increasing up to best epoch")
    assert check.status == "error" and "the `best_epoch` column of h.csv is not numeric" in check.message
    assert _check(tmp_path, 'history run = csv("h.csv")', "loss not increasing").status == "pass"


def test_best_keys_are_not_curves_at_compile_time(tmp_path):
    (tmp_path / "h.json").write_text(json.dumps({"valid_0": {"l2": [1.0, 0.5]}, "best_iteration": 1,
                                                 "best_score": 0.5}))
    from mlcontract import sources
    from mlcontract.resolve.contract import HistorySource

    source = HistorySource("run", "json", tmp_path / "h.json")
    assert sources.history_curves(source) == ["valid_0.l2"]
    assert sources.load_history(source).best == {"best_iteration": 1}
    assert hs.curve_names(["epoch", "loss", "best_epoch", "Best_Iteration"]) == ["loss"]


# ---- tolerances: `tolerance 0.02` absolute, `tolerance 2%` relative ------------------------------------------
def _oracle(values, claim, tolerance, relative):
    """The trend rule written out: every epoch against the best value before it."""
    forbids_rise = claim in ("not increasing", "decreasing")
    strict = not claim.startswith("not ")
    ok = True
    for j in range(1, len(values)):
        best = min(values[:j]) if forbids_rise else max(values[:j])
        excursion = values[j] - best if forbids_rise else best - values[j]
        allowed = tolerance * abs(best) if relative else tolerance
        ok &= excursion < allowed if strict else excursion <= allowed
    return ok


@pytest.mark.parametrize("seed", range(40))
def test_both_tolerances_against_the_oracle_on_random_curves(seed):
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.integers(-3, 4)  # rmse-scale curves and logloss-scale ones
    values = scale * (1 + np.abs(np.cumsum(rng.normal(-0.02, 0.05, size=rng.integers(2, 30)))))
    epochs = np.arange(1, len(values) + 1)
    for claim in ("not increasing", "decreasing", "not decreasing", "increasing"):
        for tolerance in (0.0, 0.01, 0.02, 0.1):
            for relative in (False, True):
                t = tolerance if relative else tolerance * scale
                got = trend("c", claim, epochs, values, t, relative=relative)
                assert got.passed == _oracle(list(values), claim, t, relative), (claim, t, relative)


def test_two_percent_is_relative_and_0_02_absolute_on_an_rmse_scale_curve(tmp_path):
    rmse = [1000.0, 900.0, 850.0, 860.0, 845.0]  # a rise of 10 = 1.18% of the best so far (850)
    (tmp_path / "h.json").write_text(json.dumps({"val_rmse": rmse}))
    declaration = 'history run = json("h.json")'
    check = _check(tmp_path, declaration, "val_rmse not increasing tolerance 2%")
    assert check.status == "pass" and check.details["tolerance_kind"] == "relative"
    assert check.value == pytest.approx(10 / 850) and check.details["largest_excursion"] == pytest.approx(10)
    check = _check(tmp_path, declaration, "val_rmse not increasing tolerance 1%")
    assert check.status == "fail" and "10 (1.176%) above its lowest earlier value 850" in check.message
    assert "tolerance 1% of it" in check.message
    check = _check(tmp_path, declaration, "val_rmse not increasing tolerance 0.02")  # 0.02 in rmse units
    assert check.status == "fail" and check.details["tolerance_kind"] == "absolute" and check.value == 10
    assert _check(tmp_path, declaration, "val_rmse not increasing tolerance 10").status == "pass"


def test_a_relative_tolerance_needs_positive_values(tmp_path):
    (tmp_path / "h.json").write_text(json.dumps({"val_r2": [-0.2, 0.1, 0.3, 0.29]}))
    declaration = 'history run = json("h.json")'
    check = _check(tmp_path, declaration, "val_r2 not decreasing tolerance 5%")
    assert check.status == "error"
    assert "needs a curve of positive values; `val_r2` is -0.2 at epoch 1" in check.message
    assert _check(tmp_path, declaration, "val_r2 not decreasing tolerance 0.05").status == "pass"
    with pytest.raises(CheckError):
        trend("c", "not increasing", np.arange(3), np.array([1.0, 0.0, 0.5]), 0.1, relative=True)


@pytest.mark.parametrize("text,words", [
    ("tolerance 5ms", "a tolerance is a number or a percentage, not `5ms`"),
    ("tolerance -2%", "`tolerance` must be at least 0"),
])
def test_a_tolerance_of_the_wrong_kind_is_a_diagnostic(tmp_path, text, words):
    (tmp_path / "h.json").write_text(json.dumps({"loss": [1.0, 0.5]}))
    with pytest.raises(ContractError) as caught:
        mlcontract.compile(f'history run = json("h.json")\nloss not increasing {text}\n', base_dir=tmp_path)
    assert words in str(caught.value)


# ---- `cv` on models built with early stopping ----------------------------------------------------------------
def _frame(rows: int = 600):
    X, y = make_classification(n_samples=rows, n_features=6, n_informative=4, flip_y=0.2, random_state=1)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    frame["y"] = y
    return frame


def _cv(model, frame, line="cv auc on training >= 0.5"):
    result = mlcontract.compile(f"label y\n{line}\n", datasets={"training": frame}, models={"m": model}).run()
    (check,) = result.checks
    return check


def _oracle_cv(make, frame, folds=5, seed=0):
    """cross_validate written out: the same folds, a fresh model per fold, roc_auc_score."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    X, y = frame.drop(columns="y"), frame["y"].to_numpy()
    scores = []
    for train, test in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(X, y):
        model = make().fit(X.iloc[train], y[train])
        scores.append(roc_auc_score(y[test], model.predict_proba(X.iloc[test])[:, 1]))
    return np.mean(scores), np.std(scores)


@pytest.mark.slow
def test_cv_of_xgboost_with_early_stopping_rounds_fixes_the_best_iteration(tmp_path):
    xgb = pytest.importorskip("xgboost")
    frame = _frame()
    X, y = frame.drop(columns="y"), frame["y"]
    params = dict(learning_rate=0.2, max_depth=3, n_jobs=1, random_state=0)
    model = xgb.XGBClassifier(n_estimators=300, early_stopping_rounds=10, **params)
    model.fit(X[:400], y[:400], eval_set=[(X[400:], y[400:])], verbose=False)
    rounds = model.best_iteration + 1
    assert rounds < 300
    check = _cv(model, frame)  # before: "Must have at least 1 validation dataset for early stopping"
    assert check.status == "pass", check.message
    mean, std = _oracle_cv(lambda: xgb.XGBClassifier(n_estimators=rounds, **params), frame)
    assert check.value == pytest.approx(mean, rel=1e-12)
    assert _cv(model, frame, "cv auc std on training <= 1").value == pytest.approx(std, rel=1e-9)
    assert check.details["early_stopping"] == f"XGBoost early stopping off; n_estimators fixed at best_iteration + 1 = {rounds}"
    assert f"n_estimators fixed at best_iteration + 1 = {rounds}" in check.message
    assert model.get_params()["early_stopping_rounds"] == 10  # the candidate itself is untouched


@pytest.mark.slow
def test_cv_of_an_xgboost_pipeline_with_an_early_stopping_callback(tmp_path):
    xgb = pytest.importorskip("xgboost")
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    frame = _frame()
    X, y = frame.drop(columns="y"), frame["y"]
    params = dict(learning_rate=0.2, max_depth=3, n_jobs=1, random_state=0)
    stop = xgb.callback.EarlyStopping(rounds=10, save_best=False)
    pipeline = Pipeline([("scale", StandardScaler()), ("boost", xgb.XGBClassifier(n_estimators=300, callbacks=[stop],
                                                                                 **params))])
    pipeline[:-1].fit(X[:400])
    pipeline[-1].fit(pipeline[:-1].transform(X[:400]), y[:400],
                     eval_set=[(pipeline[:-1].transform(X[400:]), y[400:])], verbose=False)
    rounds = pipeline[-1].best_iteration + 1
    check = _cv(pipeline, frame)
    assert check.status == "pass", check.message
    mean, _ = _oracle_cv(lambda: Pipeline([("scale", StandardScaler()),
                                           ("boost", xgb.XGBClassifier(n_estimators=rounds, **params))]), frame)
    assert check.value == pytest.approx(mean, rel=1e-12)


@pytest.mark.parametrize("how", ["callback", "parameter"])
def test_cv_of_lightgbm_built_with_early_stopping_trains_the_rounds_it_kept(tmp_path, how):
    lgb = pytest.importorskip("lightgbm")
    frame = _frame()
    X, y = frame.drop(columns="y"), frame["y"]
    params = dict(learning_rate=0.2, num_leaves=16, verbose=-1, n_jobs=1, random_state=0)
    extra = {"early_stopping_round": 10} if how == "parameter" else {}
    model = lgb.LGBMClassifier(n_estimators=300, **params, **extra)
    fit = {"callbacks": [lgb.early_stopping(10, verbose=False)]} if how == "callback" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X[:400], y[:400], eval_set=[(X[400:], y[400:])], **fit)
    rounds = model.best_iteration_
    assert 0 < rounds < 300
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check = _cv(model, frame)  # before: an error (parameter) or 300 rounds per fold (callback)
        mean, _ = _oracle_cv(lambda: lgb.LGBMClassifier(n_estimators=rounds, **params), frame)
    assert check.status == "pass", check.message
    assert check.value == pytest.approx(mean, rel=1e-12)
    assert check.details["early_stopping"] == f"LightGBM early stopping off; n_estimators fixed at best_iteration_ = {rounds}"


@pytest.mark.slow
def test_cv_of_histgradientboosting_with_early_stopping_splits_each_fold(tmp_path):
    """scikit-learn's own early stopping validates on a split of each training fold, inside fit."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    frame = _frame()  # early_stopping="auto" would only stop beyond 10,000 rows: True forces it

    def make():
        return HistGradientBoostingClassifier(early_stopping=True, n_iter_no_change=3, validation_fraction=0.2,
                                              max_leaf_nodes=8, learning_rate=0.3, random_state=0)

    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # OpenMP threads on a busy machine make this 100x slower, not different
        model = make().fit(frame.drop(columns="y"), frame["y"])
        assert model.n_iter_ < model.max_iter  # it did stop early
        check = _cv(model, frame)
        oracle = _oracle_cv(make, frame)[0]
    assert check.status == "pass" and "early_stopping" not in check.details
    assert check.value == pytest.approx(oracle, rel=1e-12)


def test_cv_of_an_unfitted_booster_with_early_stopping_is_an_error_saying_why(tmp_path):
    xgb = pytest.importorskip("xgboost")
    frame = _frame()
    unfitted = xgb.XGBClassifier(n_estimators=50, early_stopping_rounds=5)
    check = _cv({"predict": lambda X: np.zeros(len(X), dtype=int)}, frame)  # a callable: no estimator at all
    assert check.status == "error" and "cannot be refitted" in check.message
    from mlcontract.models.early_stopping import fix_rounds

    with pytest.raises(mlcontract.errors.ModelError, match="records no best iteration"):
        fix_rounds(unfitted, xgb.XGBClassifier(), "m")
