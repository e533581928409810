"""`mlc suggest` (issue 16): a starter contract whose thresholds are calibrated on the data.

On three datasets — the bundled one and two generated here with known drift — the suggested
contract compiles with no diagnostic, passes on the data it was suggested from, and fails on
the drifted copies, on the lines of the drifted features. Its drift thresholds are the engine's
psi between random halves, rescaled (checked against a numpy oracle)."""
from __future__ import annotations

import math
import re
import shutil
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import mlcontract

from conftest import ROOT, run_cli

pytestmark = pytest.mark.slow  # each suggestion runs 199 calibration splits through the engine

BUNDLED = ROOT / "contracts" / "data"


def _check_lines(text: str) -> list[str]:
    declarations = ("contract ", "dataset ", "model ", "history ", "label ", "ignore ", "#")
    return [line for line in text.splitlines() if line.strip() and not line.startswith(declarations)]


def _failing(result) -> set[tuple[str, str | None]]:
    return {(c.statistic, c.feature) for c in result.checks if c.status in ("fail", "error")}


def _assert_a_good_starter(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    mlcontract.compile(path)  # no diagnostic
    lines = _check_lines(text)
    assert lines
    for line in lines:  # every suggested line says where its number came from
        assert "   # " in line, line
    assert text.startswith("# Suggested by `mlc suggest ")
    return text


# ---- 1. the bundled data ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bundled")
    shutil.copytree(BUNDLED, folder / "data", ignore=shutil.ignore_patterns("*.py"))
    done = run_cli("suggest", "data/train.parquet", "--vs", "data/production.parquet", "-o", "contracts/gate.mlc",
                   cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the contract passes on the data it was suggested from" in done.stderr
    return folder


def test_suggest_on_the_bundled_data_passes_there(bundled):
    text = _assert_a_good_starter(bundled / "contracts" / "gate.mlc")
    assert 'dataset training   = parquet("../data/train.parquet")' in text
    assert "label churned" in text  # the one column production lacks
    assert "ignore customer_id   # every value is distinct" in text
    # what the bundled production really has (2 years older, a new plan) is flagged, not hidden
    assert re.search(r"^warn feature age psi < \S+ vs production   # ALREADY BROKEN", text, re.M)
    assert re.search(r"^warn feature plan unseen_rate <= 0.1% vs production   # ALREADY BROKEN", text, re.M)
    done = run_cli("check", "contracts/gate.mlc", cwd=bundled)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_bundled_suggestion_fails_on_drifted_copies(bundled, monkeypatch):
    monkeypatch.chdir(bundled)  # the contract reads ../data: inside the working directory, as `mlc check` runs it
    contract = mlcontract.compile(bundled / "contracts" / "gate.mlc")
    production = pl.read_parquet(BUNDLED / "production.parquet")
    inflated = production.with_columns(pl.col("income") * 1.25)  # incomes 25% higher
    assert _failing(contract.run(datasets={"production": inflated})) == {("psi", "income")}
    training = pl.read_parquet(BUNDLED / "train.parquet")
    younger = training.with_columns(pl.when(pl.col("age") < 30).then(None).otherwise(pl.col("age")).alias("age"))
    assert ("null_rate", "age") in _failing(contract.run(datasets={"training": younger}))
    export = pl.read_parquet(BUNDLED / "train_export.parquet")  # income in thousands
    assert {("psi", "income"), ("out_of_range_rate", "income")} <= _failing(contract.run(datasets={"training": export}))


# ---- 2. generated: one dataset, drift of a numeric and a categorical feature --------------------
def _sessions(n: int, seed: int, shift: float = 0.0, mix=(0.5, 0.3, 0.2)) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    duration = rng.normal(30 + shift * 8, 8, n)
    duration[rng.random(n) < 0.03] = np.nan
    return pl.DataFrame({
        "session": [f"s{seed}-{i}" for i in range(n)],
        "duration": duration,
        "pages": rng.poisson(4, n),
        "load time": rng.lognormal(0, 0.4, n),
        "browser": rng.choice(["chrome", "safari", "firefox"], n, p=list(mix)).tolist(),
    }, nan_to_null=True)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sessions")
    _sessions(2000, 1).write_parquet(folder / "sessions.parquet")
    done = run_cli("suggest", "sessions.parquet", "-o", "sessions.mlc", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


def test_suggest_on_one_dataset(sessions):
    text = _assert_a_good_starter(sessions / "sessions.mlc")
    assert "ignore session   # every value is distinct" in text
    assert "feature `load time` psi < " in text  # a name with a space is quoted
    assert "warn " not in text  # a dataset compared with itself breaks nothing
    assert run_cli("check", "sessions.mlc", cwd=sessions).returncode == 0


def test_the_one_dataset_suggestion_passes_on_new_data_like_it_and_fails_on_drift(sessions):
    contract = mlcontract.compile(sessions / "sessions.mlc")
    assert _failing(contract.run(datasets={"current": _sessions(2000, 2)})) == set()
    shifted = contract.run(datasets={"current": _sessions(2000, 3, shift=0.5)})  # half a standard deviation
    assert ("psi", "duration") in _failing(shifted) and not _failing(shifted) - {("psi", "duration"),
                                                                                 ("out_of_range_rate", "duration")}
    remixed = contract.run(datasets={"current": _sessions(2000, 4, mix=(0.4, 0.4, 0.2))})
    assert _failing(remixed) == {("psi", "browser")}
    renamed = _sessions(2000, 5).with_columns(pl.col("browser").replace("firefox", "edge"))
    assert ("unseen_rate", "browser") in _failing(contract.run(datasets={"current": renamed}))


def test_drift_thresholds_are_the_engine_psi_of_random_halves_rescaled(tmp_path):
    """An oracle: psi between the same seeded halves, written out with numpy (DESIGN's definition:
    10 quantile bins of the reference half, shares clipped at 1e-4), 2nd largest of 19 splits,
    x (2/n) / (1/a + 1/b), rounded up to 2 significant digits."""
    n, splits = 600, 19
    rng = np.random.default_rng(7)
    frame = pl.DataFrame({"x": rng.gamma(2.0, 3.0, n)})
    frame.write_parquet(tmp_path / "x.parquet")
    done = run_cli("suggest", "x.parquet", "--splits", str(splits), "-o", "x.mlc", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    threshold = re.search(r"^feature x psi < (\S+) vs reference", (tmp_path / "x.mlc").read_text(), re.M).group(1)

    def psi(current, reference):
        edges = np.unique(np.quantile(reference, np.arange(1, 10) / 10))
        share = lambda v: np.clip(np.bincount(np.searchsorted(edges, v, side="right"), minlength=len(edges) + 1)
                                  / len(v), 1e-4, None)
        c, r = share(current), share(reference)
        return float(np.sum((c - r) * np.log(c / r)))

    values, halves, x = [], np.random.default_rng(0), frame["x"].to_numpy()
    a = n // 2
    for _ in range(splits):
        order = halves.permutation(n)
        values.append(psi(x[np.sort(order[:a])], x[np.sort(order[a:])]))
    expected = sorted(values)[-2] * (2 / n) / (1 / a + 1 / (n - a))
    exponent = math.floor(math.log10(expected)) - 1
    rounded = Decimal(repr(expected)).quantize(Decimal(1).scaleb(exponent), rounding=ROUND_CEILING)
    assert Decimal(threshold) == rounded


# ---- 3. generated: training vs production, with a model ------------------------------------------
def _loans(n: int, seed: int, label: bool = True, rate_shift: float = 0.0, partner: float = 0.0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10.6, 0.4, n)
    rate = rng.normal(5.0 + rate_shift, 1.0, n)
    channel = rng.choice(["web", "branch", "phone"], n, p=[0.6, 0.3, 0.1]).astype(object)
    channel[rng.random(n) < partner] = "partner"
    frame = pl.DataFrame({"income": income, "rate": rate, "channel": channel.tolist()})
    if label:
        logit = -1.0 - 1.5 * (np.log(income) - 10.6) / 0.4 + 0.8 * (rate - 5.0) + 0.5 * (channel == "phone")
        frame = frame.with_columns(pl.Series("defaulted", (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)))
    return frame


@pytest.fixture(scope="module")
def loans(tmp_path_factory) -> Path:
    import skops.io as sio
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    folder = tmp_path_factory.mktemp("loans")
    training = _loans(2500, 10)
    training.write_parquet(folder / "train.parquet")
    _loans(1500, 11, label=False).write_csv(folder / "production.csv")
    _loans(800, 12).write_parquet(folder / "holdout.parquet")
    model = make_pipeline(make_column_transformer((StandardScaler(), ["income", "rate"]),
                                                  (OneHotEncoder(handle_unknown="ignore"), ["channel"])),
                          LogisticRegression(max_iter=1000))
    model.fit(training.drop("defaulted").to_pandas(), training["defaulted"].to_numpy())
    sio.dump(model, folder / "model.skops")
    done = run_cli("suggest", "train.parquet", "--vs", "production.csv", "--model", "model.skops", "--holdout",
                   "holdout.parquet", "-o", "gate/loans.mlc", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


def test_suggest_with_a_model_adds_calibrated_metric_checks(loans):
    text = _assert_a_good_starter(loans / "gate" / "loans.mlc")
    assert 'dataset production = csv("../production.csv")' in text and "label defaulted" in text
    assert 'model   candidate  = skops("../model.skops"' in text
    floor = re.search(r"^auc on holdout >= (\S+)   # today (\S+); 5-fold CV on training: mean (\S+), sd (\S+);",
                      text, re.M)
    assert floor, text
    assert float(floor.group(1)) < min(float(floor.group(2)), float(floor.group(3)))
    assert re.search(r"^cv auc on training >= \S+ with 5 folds   # mean", text, re.M)
    assert re.search(r"^logloss on holdout < baseline prior   # today", text, re.M)
    result = mlcontract.compile(loans / "gate" / "loans.mlc", allow_paths=[loans]).run()
    assert result.passed and {c.kind for c in result.checks} >= {"data", "model"}


def test_the_model_suggestion_fails_on_drifted_copies(loans):
    contract = mlcontract.compile(loans / "gate" / "loans.mlc", allow_paths=[loans])
    drifted = _loans(1500, 13, label=False, rate_shift=0.6, partner=0.05)
    failing = _failing(contract.run(datasets={"production": drifted}))
    assert {("psi", "rate"), ("psi", "channel"), ("unseen_rate", "channel")} <= failing
    assert not {f for f in failing if f[1] == "income"}
    holdout = _loans(800, 14)
    rng = np.random.default_rng(0)
    flipped = holdout.with_columns(pl.Series("defaulted", np.where(rng.random(800) < 0.3, 1 - holdout["defaulted"],
                                                                   holdout["defaulted"])))
    assert ("auc", None) in _failing(contract.run(datasets={"holdout": flipped}))


# ---- refusals ---------------------------------------------------------------------------------------
def test_a_pickled_model_needs_the_invocations_consent(loans, tmp_path):
    import joblib
    import skops.io as sio

    model = sio.load(loans / "model.skops", trusted=sio.get_untrusted_types(file=loans / "model.skops"))
    joblib.dump(model, tmp_path / "model.joblib")
    args = ["suggest", str(loans / "train.parquet"), "--model", str(tmp_path / "model.joblib"), "--holdout",
            str(loans / "holdout.parquet"), "--label", "defaulted", "--splits", "9"]
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 2 and "--allow-pickle" in done.stderr and "Traceback" not in done.stderr
    done = run_cli(*args, "--allow-pickle", "-o", "m.mlc", cwd=tmp_path)
    assert done.returncode == 2 and "--allow-path DIR" in done.stderr  # the data lies outside: grants add up
    done = run_cli(*args, "--allow-pickle", "--allow-path", str(loans), "-o", "m.mlc", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "# a pickle: mlc check needs --allow-pickle" in (tmp_path / "m.mlc").read_text()


@pytest.mark.parametrize("args, words", [
    (["--model", "m.skops"], "--model and --holdout go together"),
    (["--vs", "two_fewer.parquet"], "say which is the label with --label"),
    (["--label", "nope"], "--label nope: no such column"),
    (["--splits", "3"], "--splits must be at least 4"),
])
def test_bad_invocations_exit_2_with_a_message(tmp_path, args, words):
    frame = _loans(100, 1)
    frame.write_parquet(tmp_path / "d.parquet")
    frame.drop("defaulted", "rate").write_parquet(tmp_path / "two_fewer.parquet")
    done = run_cli("suggest", "d.parquet", *args, cwd=tmp_path)
    assert done.returncode == 2 and words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_the_same_seed_suggests_the_same_contract(sessions, tmp_path):
    shutil.copy(sessions / "sessions.parquet", tmp_path / "sessions.parquet")
    done = run_cli("suggest", "sessions.parquet", cwd=tmp_path)  # printed: the same text as -o wrote
    assert done.returncode == 0 and done.stdout == (sessions / "sessions.mlc").read_text()
