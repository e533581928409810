"""`details["plot"]`: the measures record the picture behind each verdict, computed on what was
judged. Checked against independent oracles (numpy bins, scikit-learn's roc_curve and
confusion_matrix, the training curve's own numbers, the timed calls)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression

import mlcontract
from reporting import DATA

from oracles import oracle_bins, oracle_psi


def _frames():
    return pl.read_parquet(DATA / "train.parquet"), pl.read_parquet(DATA / "prod.parquet")


def _drawn(values) -> list[float]:
    """Points as a picture keeps them: 6 significant digits."""
    return [float(f"{v:.6g}") for v in values]


def _run(text: str, **inputs):
    return mlcontract.compile(text, **inputs).run()


def test_numeric_drift_histogram_is_the_statistics_own_bins():
    train, prod = _frames()
    result = _run("feature age, income psi < 10 vs prod\n", datasets={"train": train, "prod": prod})
    for check in result.checks:
        plot = check.details["plot"]
        assert plot["kind"] == "histogram" and plot["edges"] == check.details["edges"]
        cur, ref = oracle_bins(train[check.feature].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                               prod[check.feature].cast(pl.Float64).fill_null(np.nan).to_numpy())
        assert plot["subject"] == cur.tolist() and plot["reference"] == ref.tolist()
        assert (plot["subject_name"], plot["reference_name"]) == ("train", "prod")
        assert oracle_psi(np.array(plot["subject"], float), np.array(plot["reference"], float)) == pytest.approx(
            check.value, rel=1e-9)


def test_categories_mark_the_levels_the_subject_never_saw():
    train = pl.DataFrame({"plan": ["a"] * 50 + ["b"] * 30 + [None] * 5})
    prod = pl.DataFrame({"plan": ["a"] * 40 + ["b"] * 20 + ["c"] * 7 + ["d"] * 3})
    result = _run("feature plan unseen_rate <= 1 vs prod\nfeature plan psi < 10 vs prod\n",
                  datasets={"train": train, "prod": prod})
    for check in result.checks:
        plot = check.details["plot"]
        assert plot["kind"] == "categories"
        counts = dict(zip(plot["levels"], zip(plot["subject"], plot["reference"])))
        assert counts == {"a": (50, 40), "b": (30, 20), "c": (0, 7), "d": (0, 3)}
        assert sorted(plot["unseen"]) == ["c", "d"] and plot["levels"][:2] == ["c", "d"]  # unseen first


def test_many_categories_are_cut_with_the_rest_summed():
    train = pl.DataFrame({"k": [f"v{i}" for i in range(100) for _ in range(i + 1)]})
    result = _run("feature k psi < 100 vs prod\n", datasets={"train": train, "prod": train})
    plot = result.checks[0].details["plot"]
    assert len(plot["levels"]) == 40 and plot["other"]["levels"] == 60
    assert sum(plot["subject"]) + plot["other"]["subject"] == train.height


@pytest.fixture(scope="module")
def classification():
    rng = np.random.default_rng(3)
    n = 600
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    frame["y"] = (rng.random(n) < 1 / (1 + np.exp(-(2 * frame.x1 - frame.x2)))).astype(int)
    good = LogisticRegression().fit(frame[["x1", "x2"]], frame.y)
    weak = LogisticRegression().fit(frame[["x2"]].assign(x1=0.0)[["x1", "x2"]], frame.y)
    return frame, good, weak


def test_roc_and_pr_curves_from_sklearn_with_the_compared_model_beside(classification):
    frame, good, weak = classification
    result = _run("label y\nauc on holdout >= prod - 0.5\n", datasets={"holdout": frame},
                  models={"candidate": good, "prod": weak})
    (check,) = result.checks
    plot = check.details["plot"]
    assert plot["kind"] == "roc" and plot["positive"] == 1 and set(plot["curves"]) == {"candidate", "prod"}
    assert "plot" not in check.details["reference_details"]["prod"]  # merged, not repeated
    for name, model in (("candidate", good), ("prod", weak)):
        score = model.predict_proba(frame[["x1", "x2"]])[:, 1]
        fpr, tpr, _ = skm.roc_curve(frame.y, score)
        curve = plot["curves"][name]
        assert len(curve["fpr"]) <= 200 and curve["fpr"][0] == 0 and curve["tpr"][-1] == 1
        assert set(zip(curve["fpr"], curve["tpr"])) <= set(zip(_drawn(fpr), _drawn(tpr)))
        assert np.trapezoid(curve["tpr"], curve["fpr"]) == pytest.approx(skm.roc_auc_score(frame.y, score), abs=0.01)
        precision, recall, _ = skm.precision_recall_curve(frame.y, score)
        assert curve["recall"][0] == 0 and curve["recall"][-1] == 1 and len(curve["recall"]) <= 200
        assert set(zip(curve["recall"], curve["precision"])) <= set(zip(_drawn(recall), _drawn(precision)))


def test_confusion_matrices_of_the_model_and_the_baseline(classification):
    frame, good, _ = classification
    result = _run("label y\naccuracy on holdout > baseline most_frequent\n", datasets={"holdout": frame},
                  models={"candidate": good})
    plot = result.checks[0].details["plot"]
    assert plot["kind"] == "confusion" and plot["classes"] == [0, 1]
    expected = skm.confusion_matrix(frame.y, good.predict(frame[["x1", "x2"]]), labels=[0, 1]).tolist()
    assert plot["matrices"]["candidate"] == expected
    majority = int(frame.y.mode()[0])
    baseline = plot["matrices"]["baseline most_frequent"]
    assert [row[1 - majority] for row in baseline] == [0, 0] and sum(map(sum, baseline)) == len(frame)


def test_residuals_of_a_regressor():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x": rng.normal(size=300)})
    frame["y"] = 3 * frame.x + rng.normal(size=300)
    model = LinearRegression().fit(frame[["x"]], frame.y)
    result = _run("label y\nrmse on holdout <= 2\n", datasets={"holdout": frame}, models={"m": model})
    curve = result.checks[0].details["plot"]["curves"]["m"]
    errors = model.predict(frame[["x"]]) - frame.y.to_numpy()
    counts, edges = np.histogram(errors, bins=17)
    assert curve["counts"] == counts.tolist() and curve["edges"] == pytest.approx(edges.tolist(), rel=1e-5)


def test_segments_in_the_order_of_the_message(classification):
    frame, good, _ = classification
    frame = frame.assign(group=np.where(frame.x2 > 0, "up", "down"))
    result = _run("label y\nignore group\nauc on holdout by group >= 0.5\n", datasets={"holdout": frame},
                  models={"m": good})
    check = result.checks[0]
    plot = check.details["plot"]
    assert plot["kind"] == "segments" and plot["by"] == "group"
    assert plot["segments"] == [s["segment"] for s in check.details["segments"]]
    assert plot["values"] == pytest.approx([s["value"] for s in check.details["segments"]], rel=1e-12)


def test_training_curve_marks_where_the_trend_broke():
    history = pd.DataFrame({"epoch": range(1, 11), "val_loss": [0.9, 0.7, 0.6, 0.5, 0.4, 0.42, 0.45, 0.44, 0.46, 0.47]})
    result = _run("val_loss not increasing\nval_loss not increasing over last 4 epochs\n", histories={"run": history})
    whole, window = (c.details["plot"] for c in result.checks)
    assert whole["kind"] == "curve" and whole["epochs"] == list(range(1, 11)) and whole["values"][4] == 0.4
    assert whole["broke_at"] == 6 == result.checks[0].details["violation_epoch"] and whole["window_from"] is None
    assert window["window_from"] == 7 and window["broke_at"] == result.checks[1].details["violation_epoch"]


def test_a_curve_value_check_shows_the_curve():
    history = pd.DataFrame({"epoch": [1, 2, 3], "val_loss": [0.9, 0.7, 0.6]})
    plot = _run("val_loss <= 0.65\n", histories={"run": history}).checks[0].details["plot"]
    assert (plot["epochs"], plot["values"], plot["broke_at"]) == ([1, 2, 3], [0.9, 0.7, 0.6], None)


def test_a_long_training_curve_is_thinned_but_keeps_the_break():
    values = list(np.linspace(1, 0.1, 5000))
    values[3333] = 2.0
    history = pd.DataFrame({"epoch": range(5000), "loss": values})
    plot = _run("loss not increasing\n", histories={"run": history}).checks[0].details["plot"]
    assert len(plot["epochs"]) <= 501 and plot["broke_at"] == 3333 and 3333 in plot["epochs"]
    assert plot["values"][plot["epochs"].index(3333)] == 2.0


def test_latency_distributions_of_every_model_timed_together(classification):
    frame, good, weak = classification
    result = _run("label y\np95 latency on holdout <= prod * 100 with 30 calls warmup 3\n", datasets={"holdout": frame},
                  models={"candidate": good, "prod": weak})
    check = result.checks[0]
    plot = check.details["plot"]
    assert plot["kind"] == "latency" and plot["statistic"] == "p95" and set(plot["curves"]) == {"candidate", "prod"}
    calls = check.details["calls"]
    assert all(sum(c["counts"]) == calls for c in plot["curves"].values())
    assert plot["lines"]["candidate"] == pytest.approx(check.value, rel=1e-9)
    assert plot["lines"]["prod"] == pytest.approx(check.details["references"]["prod"], rel=1e-9)
    assert len(plot["edges"]) == 41 and plot["edges"] == sorted(plot["edges"])


def test_robustness_failure_shows_the_offending_row(classification):
    frame, _, _ = classification

    def fragile(X):
        if X["x1"].isna().any():
            raise ValueError("Input contains NaN")
        return (X["x1"] > 0).astype(int).to_numpy()

    result = _run("label y\nhandles nulls in x1\n", datasets={"training": frame}, models={"m": fragile})
    check = result.checks[0]
    assert check.status == "fail"
    plot = check.details["plot"]
    assert plot["kind"] == "row" and plot["highlight"] == ["x1"] and plot["columns"] == ["x1", "x2"]
    assert plot["values"][0] is None and plot["variant"] == check.details["variant"]


def test_plots_are_json_and_small(classification):
    frame, good, weak = classification
    result = _run("label y\nauc on holdout >= prod - 0.5\naccuracy on holdout >= 0\n", datasets={"holdout": frame},
                  models={"candidate": good, "prod": weak})
    for check in result.checks:
        assert len(json.dumps(check.details["plot"])) < 20_000
    assert json.loads(result.to_json())["checks"][0]["details"]["plot"]["kind"] == "roc"


# ---- issue 15: plots only for the reports that show them ------------------------------------------
def _verdicts(result) -> list:
    return [(c.status, c.value, c.threshold, c.message, {k: v for k, v in c.details.items() if k != "plot"})
            for c in result.checks]


def test_a_run_without_plots_draws_none_and_judges_the_same(classification, monkeypatch):
    """`run(plots=False)`: no details["plot"] on any check, the costly curves are not even
    computed (sklearn's roc_curve is never called for a picture), and every verdict, value and
    message is what a run with plots gives."""
    frame, good, weak = classification
    regression = frame.assign(y=frame.x1 * 2.0)
    drawn_curves = []
    real_roc_curve = skm.roc_curve
    monkeypatch.setattr(skm, "roc_curve", lambda *a, **k: drawn_curves.append(1) or real_roc_curve(*a, **k))
    text = ("label y\nignore x2_sign\nauc on holdout >= prod - 0.5\naccuracy on holdout >= baseline most_frequent\n"
            "auc on holdout by x2_sign >= 0\nfeature x1 psi < 10 vs holdout\n")
    inputs = {"datasets": {"holdout": frame.assign(x2_sign=np.sign(frame.x2).astype(int)), "training": frame},
              "models": {"candidate": good, "prod": weak}}
    contract = mlcontract.compile(text, **inputs)
    with_plots = contract.run()
    assert [c.status for c in with_plots.checks] == ["pass"] * 4
    assert drawn_curves and all("plot" in c.details for c in with_plots.checks)
    drawn_curves.clear()
    without = contract.run(plots=False)
    assert drawn_curves == [] and not any("plot" in c.details for c in without.checks)
    assert _verdicts(without) == _verdicts(with_plots)
    regressor = mlcontract.compile("label y\nmae on holdout <= 10\n", datasets={"holdout": regression},
                                   models={"candidate": LinearRegression().fit(regression[["x1", "x2"]], regression.y)})
    assert "plot" in regressor.run().checks[0].details and "plot" not in regressor.run(plots=False).checks[0].details


def test_the_reports_that_show_plots_are_the_ones_that_get_them():
    from mlcontract.report import report_formats

    assert {name for name, entry in report_formats().items() if entry.plots} == {"json", "html"}


@pytest.mark.slow
def test_mlc_check_draws_plots_for_the_json_only(tmp_path, classification):
    """`mlc check -q` computes no plot; `--json` gets every plot it got before."""
    import joblib

    from conftest import run_cli

    frame, good, _ = classification
    frame.to_parquet(tmp_path / "holdout.parquet")
    joblib.dump(good, tmp_path / "model.joblib")
    contract = tmp_path / "auc.mlc"
    contract.write_text('dataset holdout = parquet("holdout.parquet")\nmodel candidate = sklearn("model.joblib")\n'
                        "label y\nauc on holdout >= 0.5\n")
    done = run_cli("check", "-q", "--allow-pickle", str(contract), "--json", str(tmp_path / "r.json"))
    assert done.returncode == 0, done.stderr
    check = json.loads((tmp_path / "r.json").read_text())["checks"][0]
    assert check["details"]["plot"]["kind"] == "roc"
    probe = ("import sys, sklearn.metrics as m\n"
             "m.roc_curve = lambda *a, **k: sys.exit('a ROC curve was drawn for a report that shows none')\n"
             "from mlcontract.cli import main\n"
             f"sys.exit(main(['check', '-q', '--allow-pickle', {str(contract)!r}]))\n")
    import subprocess
    import sys

    quiet = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.startswith("gate PASS")
