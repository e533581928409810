"""Training curves: history formats, the exact trend semantics, and real training runs.

The real runs train scikit-learn's MLPClassifier epoch by epoch with `partial_fit`, recording
train and validation log loss (sklearn.metrics.log_loss) into a Keras-style history CSV: one run
overfits (a few rows, a big network, many epochs) and must fail `val_loss not increasing`; a
healthy one (many rows, a small network) must pass.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.neural_network import MLPClassifier

import mlcontract
from mlcontract.models import history as hs
from mlcontract.resolve.contract import HistorySource
from mlcontract.errors import CheckError, ContractError
from mlcontract.models.quality import trend
from mlcontract.sources import history_curves, load_history


def _check(tmp_path, declaration: str, line: str, **inputs):
    text = f"{declaration}\n{line}\n"
    result = mlcontract.compile(text, base_dir=tmp_path, **inputs).run()
    (check,) = result.checks
    return check


def _csv(tmp_path, frame: dict, name: str = "history.csv"):
    pl.DataFrame(frame).write_csv(tmp_path / name)
    return f'history run = csv("{name}")'


# ---- real training runs ------------------------------------------------------------------------
def _train(rows: int, hidden: tuple, epochs: int, learning_rate: float, alpha: float) -> pd.DataFrame:
    X, y = make_classification(n_samples=rows + 1000, n_features=20, n_informative=5, flip_y=0.1, random_state=0)
    X_train, y_train, X_val, y_val = X[:rows], y[:rows], X[rows:], y[rows:]
    model = MLPClassifier(hidden_layer_sizes=hidden, learning_rate_init=learning_rate, alpha=alpha,
                          batch_size=rows, random_state=0)
    records = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for epoch in range(epochs):
            model.partial_fit(X_train, y_train, classes=[0, 1])
            records.append({"epoch": epoch,
                            "train_loss": log_loss(y_train, model.predict_proba(X_train)),
                            "val_loss": log_loss(y_val, model.predict_proba(X_val))})
    return pd.DataFrame(records)


@pytest.fixture(scope="module")
def overfitting_run():
    return _train(rows=40, hidden=(64, 64), epochs=40, learning_rate=3e-3, alpha=1e-5)


@pytest.fixture(scope="module")
def healthy_run():
    return _train(rows=2000, hidden=(8,), epochs=25, learning_rate=1e-2, alpha=1e-3)


@pytest.mark.slow
def test_overfitting_run_fails_val_loss_not_increasing(tmp_path, overfitting_run):
    overfitting_run.to_csv(tmp_path / "history.csv", index=False)
    check = _check(tmp_path, 'history run = csv("history.csv")', "val_loss not increasing")
    assert check.status == "fail", check.message
    # the reported epoch is where validation loss first rose above its best so far
    val = overfitting_run["val_loss"].to_numpy()
    first = next(j for j in range(1, len(val)) if val[j] > val[:j].min())
    assert check.details["violation_epoch"] == overfitting_run["epoch"][first]
    assert check.details["violation_row"] == first
    assert check.value == pytest.approx(max(val[j] - val[:j].min() for j in range(1, len(val))))
    assert "rose to" in check.message and "epoch" in check.message
    # the train loss kept falling while validation loss rose: a textbook overfit
    train = overfitting_run["train_loss"].to_numpy()
    assert train[-1] < train[first] and val[-1] > val[first]
    gap = _check(tmp_path, 'history run = csv("history.csv")', "val_loss - train_loss <= 0.05")
    assert gap.status == "fail" and gap.value == pytest.approx(val[-1] - train[-1])


@pytest.mark.slow
def test_healthy_run_passes_val_loss_not_increasing(tmp_path, healthy_run):
    healthy_run.to_csv(tmp_path / "history.csv", index=False)
    for line in ("val_loss not increasing", "val_loss not increasing over last 5 epochs"):
        check = _check(tmp_path, 'history run = csv("history.csv")', line)
        assert check.status == "pass", (line, check.message)
    check = _check(tmp_path, 'history run = csv("history.csv")', "val_loss <= 1")
    assert check.value == pytest.approx(healthy_run["val_loss"].iloc[-1])
    assert check.details["epoch"] == healthy_run["epoch"].iloc[-1]


def test_strict_trend_lines(tmp_path, healthy_run):
    """`decreasing` / `increasing` without `not` (strict: every epoch beats the best so far)."""
    healthy_run.to_csv(tmp_path / "history.csv", index=False)
    for line, status in (("val_loss decreasing", "pass"), ("train_loss decreasing", "pass"),
                         ("val_loss increasing", "fail"), ("val_loss decreasing tolerance 0.001", "pass")):
        check = _check(tmp_path, 'history run = csv("history.csv")', line)
        assert check.status == status, (line, check.message)


# ---- trend semantics on hand-made curves ------------------------------------------------------------
def _trend(values, claim, tolerance=0.0, epochs=None):
    values = np.asarray(values, dtype=float)
    epochs = np.arange(1, len(values) + 1) if epochs is None else np.asarray(epochs)
    return trend("loss", claim, epochs, values, tolerance)


def test_strictly_falling_curve():
    obs = _trend([1.0, 0.75, 0.5, 0.375], "not increasing")
    assert obs.passed and obs.value == pytest.approx(-0.125)  # the smallest improvement, as a negative rise
    assert obs.details["violation_epoch"] is None and obs.details["last_value"] == 0.375
    assert _trend([1.0, 0.75, 0.5, 0.375], "decreasing").passed
    assert not _trend([1.0, 0.75, 0.5, 0.375], "increasing").passed
    assert not _trend([1.0, 0.75, 0.5, 0.375], "not decreasing").passed


def test_a_plateau_is_not_increasing_but_not_decreasing_either():
    obs = _trend([3.0, 2.0, 2.0, 1.0], "not increasing")
    assert obs.passed and obs.value == 0.0
    obs = _trend([3.0, 2.0, 2.0, 1.0], "decreasing")
    assert not obs.passed and obs.details["violation_epoch"] == 3 and obs.value == 0.0
    assert "did not fall at epoch 3" in obs.message


def test_tolerance_bounds_the_rise_above_the_best_so_far():
    curve = [1.0, 0.5, 0.75, 0.25]  # one rise of exactly 0.25 at epoch 3
    obs = _trend(curve, "not increasing")
    assert not obs.passed and obs.value == 0.25 and obs.details["violation_epoch"] == 3
    assert "rose to 0.75 at epoch 3, 0.25 above its lowest earlier value 0.5 at epoch 2" in obs.message
    assert _trend(curve, "not increasing", tolerance=0.25).passed  # <= T holds
    assert not _trend(curve, "decreasing", tolerance=0.25).passed  # strict: < T
    assert _trend(curve, "decreasing", tolerance=0.3).passed


def test_a_slow_creep_is_caught_once_it_accumulates_past_the_tolerance():
    # every step rises 0.03 < 0.05, but the curve drifts away from its best (0.5 at epoch 2)
    obs = _trend([1.0, 0.5, 0.53, 0.56, 0.59, 0.62], "not increasing", tolerance=0.05)
    assert not obs.passed
    assert obs.details["violation_epoch"] == 4  # 0.56 - 0.5 = 0.06 > 0.05
    assert obs.details["largest_excursion_epoch"] == 6 and obs.value == pytest.approx(0.12)
    assert obs.details["violations"] == 3
    assert "first at epoch 4" in obs.message


def test_rising_curves_mirror_falling_ones():
    accuracy = [0.5, 0.6, 0.58, 0.7]
    obs = _trend(accuracy, "not decreasing")
    assert not obs.passed and obs.value == pytest.approx(0.02) and obs.details["violation_epoch"] == 3
    assert "fell to 0.58 at epoch 3" in obs.message and "highest earlier value 0.6" in obs.message
    assert _trend(accuracy, "not decreasing", tolerance=0.05).passed
    assert not _trend(accuracy, "increasing").passed
    assert _trend([0.5, 0.6, 0.7], "increasing").passed


def test_reported_epochs_are_the_history_epochs():
    obs = _trend([1.0, 0.5, 0.75], "not increasing", epochs=[0, 1, 2])  # Keras counts from 0
    assert obs.details["violation_epoch"] == 2 and obs.details["from_epoch"] == 0


def test_over_last_n_epochs_looks_only_at_the_window(tmp_path):
    declaration = _csv(tmp_path, {"epoch": [1, 2, 3, 4, 5, 6], "loss": [1.0, 2.0, 3.0, 2.5, 2.0, 1.5]})
    assert _check(tmp_path, declaration, "loss not increasing").status == "fail"
    check = _check(tmp_path, declaration, "loss not increasing over last 4 epochs")
    assert check.status == "pass" and check.details["from_epoch"] == 3 and check.details["epochs"] == 4
    check = _check(tmp_path, declaration, "loss not increasing over last 5 epochs")
    assert check.status == "fail" and check.details["violation_epoch"] == 3 and check.details["violation_row"] == 2
    check = _check(tmp_path, declaration, "loss not increasing over last 7 epochs")
    assert check.status == "error" and "needs 7 epochs" in check.message


def test_tolerance_option_through_a_contract(tmp_path):
    declaration = _csv(tmp_path, {"epoch": [1, 2, 3, 4], "val_loss": [1.0, 0.5, 0.75, 0.25]})
    assert _check(tmp_path, declaration, "val_loss not increasing tolerance 0.25").status == "pass"
    check = _check(tmp_path, declaration, "val_loss not increasing tolerance 0.1")
    assert check.status == "fail" and check.details["tolerance"] == 0.1


# ---- history formats ---------------------------------------------------------------------------------
KERAS = {"epoch": [0, 1, 2], "loss": [0.9, 0.7, 0.6], "val_loss": [0.95, 0.8, 0.75],
         "accuracy": [0.6, 0.7, 0.75], "val_accuracy": [0.55, 0.65, 0.7]}


def test_csv_keras_style(tmp_path):
    declaration = _csv(tmp_path, KERAS)
    assert history_curves(HistorySource("run", "csv", tmp_path / "history.csv")) == [
        "loss", "val_loss", "accuracy", "val_accuracy"]
    assert _check(tmp_path, declaration, "val_accuracy not decreasing").status == "pass"
    check = _check(tmp_path, declaration, "val_loss - loss <= 0.2")
    assert check.value == pytest.approx(0.75 - 0.6) and check.status == "pass"


def test_json_records(tmp_path):
    records = [{"epoch": e, **{k: v[e] for k, v in KERAS.items() if k != "epoch"}} for e in range(3)]
    del records[1]["val_accuracy"]  # a missing epoch of one curve
    (tmp_path / "h.json").write_text(json.dumps(records))
    declaration = 'history run = json("h.json")'
    assert _check(tmp_path, declaration, "val_loss not increasing").status == "pass"
    check = _check(tmp_path, declaration, "val_accuracy not decreasing")
    assert check.status == "error" and "no value at epoch 1" in check.message


def test_json_dict_of_lists(tmp_path):
    (tmp_path / "h.json").write_text(json.dumps({k: v for k, v in KERAS.items() if k != "epoch"}))
    declaration = 'history run = json("h.json")'
    check = _check(tmp_path, declaration, "val_loss not increasing")
    assert check.status == "pass" and check.details["from_epoch"] == 1 and check.details["last_epoch"] == 3


def test_json_evals_result_of_lightgbm_and_xgboost(tmp_path):
    evals = {"training": {"binary_logloss": [0.6, 0.5, 0.4, 0.3]},
             "valid_1": {"binary_logloss": [0.62, 0.55, 0.53, 0.56], "auc": [0.7, 0.75, 0.77, 0.78]},
             "validation_0": {"ndcg@5": [0.3, 0.4, 0.5, 0.6]}}
    (tmp_path / "evals.json").write_text(json.dumps(evals))
    declaration = 'history run = json("evals.json")'
    source = HistorySource("run", "json", tmp_path / "evals.json")
    assert history_curves(source) == ["training.binary_logloss", "valid_1.binary_logloss", "valid_1.auc",
                                       "validation_0.ndcg_5"]
    check = _check(tmp_path, declaration, "valid_1.binary_logloss not increasing")
    assert check.status == "fail" and check.details["violation_epoch"] == 4
    assert _check(tmp_path, declaration, "valid_1.auc not decreasing").status == "pass"
    assert _check(tmp_path, declaration, "validation_0.ndcg_5 not decreasing").status == "pass"
    assert load_history(source).origin["validation_0.ndcg_5"] == "validation_0.ndcg@5"


@pytest.mark.parametrize("kind", ["pandas", "polars", "records", "dict"])
def test_histories_passed_through_the_api(kind):
    frame = {k: v for k, v in KERAS.items()}
    obj = {"pandas": pd.DataFrame(frame), "polars": pl.DataFrame(frame),
           "records": pd.DataFrame(frame).to_dict("records"), "dict": frame}[kind]
    result = mlcontract.compile("val_loss not increasing\nval_loss <= 0.8\n", histories={"run": obj}).run()
    trend_check, value_check = result.checks
    assert trend_check.status == "pass" and value_check.value == pytest.approx(0.75)
    assert trend_check.details["last_epoch"] == 2


# ---- what cannot be checked is an error, with the reason -------------------------------------------------------
def test_unknown_curve_is_a_compile_error_with_a_suggestion(tmp_path):
    declaration = _csv(tmp_path, KERAS)
    with pytest.raises(ContractError) as caught:
        mlcontract.compile(f"{declaration}\nval_los not increasing\n", base_dir=tmp_path)
    assert "unknown curve `val_los`" in str(caught.value) and "val_loss" in str(caught.value)


def test_nan_in_a_curve_is_an_error_naming_the_epoch(tmp_path):
    (tmp_path / "history.csv").write_text("epoch,val_loss\n0,0.9\n1,nan\n2,0.7\n3,\n")
    check = _check(tmp_path, 'history run = csv("history.csv")', "val_loss not increasing")
    assert check.status == "error" and "no value at epoch 1, 3" in check.message
    check = _check(tmp_path, 'history run = csv("history.csv")', "val_loss not increasing over last 2 epochs")
    assert check.status == "error" and "epoch 3" in check.message


def test_empty_history_is_an_error(tmp_path):
    (tmp_path / "history.csv").write_text("epoch,val_loss\n")
    check = _check(tmp_path, 'history run = csv("history.csv")', "val_loss not increasing")
    assert check.status == "error" and "has no epochs" in check.message


def test_single_epoch_is_an_error_for_trends(tmp_path):
    declaration = _csv(tmp_path, {"epoch": [0], "val_loss": [0.5]})
    check = _check(tmp_path, declaration, "val_loss not increasing")
    assert check.status == "error" and "at least two epochs" in check.message
    assert _check(tmp_path, declaration, "val_loss <= 0.6").status == "pass"


def test_non_numeric_curve_is_an_error(tmp_path):
    declaration = _csv(tmp_path, {"epoch": [0, 1], "val_loss": [0.5, 0.4], "note": ["warmup", "main"]})
    check = _check(tmp_path, declaration, "note not increasing")
    assert check.status == "error" and "is not numeric" in check.message


def test_epochs_out_of_order_are_an_error(tmp_path):
    declaration = _csv(tmp_path, {"epoch": [0, 1, 2, 1, 2], "val_loss": [0.5, 0.4, 0.3, 0.45, 0.35]})
    check = _check(tmp_path, declaration, "val_loss not increasing")
    assert check.status == "error" and "not in increasing order" in check.message and "row 4" in check.message


def test_missing_history_file_is_an_error_at_run_time(tmp_path):
    check = _check(tmp_path, 'history run = csv("nope.csv")', "val_loss not increasing")
    assert check.status == "error" and "file not found" in check.message


def test_history_unit_errors():
    history = hs.from_object("run", {"loss": [0.3, 0.2]})
    with pytest.raises(CheckError, match="has no curve `val_loss`"):
        history.curve("val_loss")
    with pytest.raises(Exception, match="not a list of per-epoch values"):
        hs.from_object("run", {"loss": 0.3})
    with pytest.raises(Exception, match="expected a list of per-epoch records"):
        hs.from_object("run", 3.5)
    assert hs.safe_name("1st loss") == "_1st_loss" and hs.safe_name("valid_0.ndcg@5") == "valid_0.ndcg_5"


# ---- JSON no training tool writes: an error naming the file, never a crash or a hang (issue 9) -----
DEEP = 100_000
ODD_JSON = {
    "deep-list": "[" * DEEP + "]" * DEEP,
    "deep-object": '{"a":' * DEEP + "1" + "}" * DEEP,
    "deep-curve": '{"val_loss": ' + "[" * DEEP + "]" * DEEP + "}",
    "deep-record": '[{"val_loss": ' + "[" * 5000 + "]" * 5000 + "}]",
    "huge-exponent": '{"val_loss": [1e999999, 0.5]}',
    "huge-negative": '{"val_loss": [0.5, -1e999999]}',
    "million-digit-integer": '{"val_loss": [' + "9" * 1_000_000 + ", 0.5]}",
    "long-epoch": '[{"epoch": ' + "9" * 400 + ', "val_loss": 1}]',
}


@pytest.mark.parametrize("content", ODD_JSON.values(), ids=ODD_JSON.keys())
def test_json_no_training_tool_writes_is_an_error_naming_the_file(tmp_path, content):
    import time

    (tmp_path / "h.json").write_text(content)
    started = time.perf_counter()
    check = _check(tmp_path, 'history run = json("h.json")', "val_loss not increasing")
    assert time.perf_counter() - started < 10
    assert check.status == "error" and "h.json" in check.message, check.message
    for leak in ("RecursionError", "set_int_max_str_digits", "Traceback"):
        assert leak not in check.message


@pytest.mark.parametrize("literal,words", [("NaN", "no value at epoch 2"), ("Infinity", "infinite at epoch 2"),
                                           ("-Infinity", "infinite at epoch 2")])
def test_nan_and_infinity_literals_are_an_error_naming_the_file_and_epoch(tmp_path, literal, words):
    # Python's json writes them for a loss that diverged: read as values, and no check passes on them.
    (tmp_path / "h.json").write_text(f'{{"val_loss": [0.9, {literal}, 0.7]}}')
    check = _check(tmp_path, 'history run = json("h.json")', "val_loss not increasing")
    assert check.status == "error" and words in check.message and "h.json" in check.message, check.message


@pytest.mark.slow
def test_deeply_nested_history_json_through_the_cli_is_exit_1(tmp_path):
    from conftest import run_cli

    (tmp_path / "h.json").write_text(ODD_JSON["deep-list"])
    (tmp_path / "c.mlc").write_text('history run = json("h.json")\nval_loss not increasing\n')
    done = run_cli("check", "c.mlc", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    assert "h.json" in done.stdout and "nested too deeply" in done.stdout, done.stdout


def test_integers_beyond_int64_stay_numbers(tmp_path):
    # Polars turns a Python int beyond int64 into a null ("missing value"); an epoch beyond 2**63
    # cast to int64 wrapped around to a negative epoch.
    history = hs.from_object("run", [{"epoch": 1, "val_loss": 2**70}, {"epoch": 10**20, "val_loss": 1}])
    epochs, values, _ = history.curve("val_loss")
    assert list(values) == [float(2**70), 1.0] and list(epochs) == [1.0, 1e20]
    (tmp_path / "h.json").write_text('{"epoch": [1, 100000000000000000000], "val_loss": [2, 1]}')
    check = _check(tmp_path, 'history run = json("h.json")', "val_loss not increasing")
    assert check.status == "pass" and check.details["last_epoch"] == 1e20, check.message


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_a_file_name_too_long_for_the_file_system_is_an_error_saying_so(tmp_path, kind):
    check = _check(tmp_path, f'history run = {kind}("{"n" * 300}.{kind}")', "val_loss not increasing")
    assert check.status == "error" and check.message.startswith("history `run`: cannot open"), check.message
    assert "File name too long" in check.message
