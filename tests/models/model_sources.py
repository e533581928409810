"""Shared helpers and fixtures of the model-source tests (test_boosters.py, test_mlflow.py import
them by name, as tests/report/ imports reporting.py): small churn-like data, the oracle (the
library's own predictions scored by scikit-learn), and a real MLflow tracking server (SQLite
backend, loopback, started once per session by the first test that asks for it)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlcontract

# No MLflow usage telemetry from the tests (mlcontract itself turns it off when it loads mlflow).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

FEATURES = ["age", "income", "plan"]
BINARY_LINES = "accuracy on holdout >= 0\nauc on holdout >= 0\nlogloss on holdout >= 0\nbrier on holdout >= 0\n"
MULTICLASS_LINES = "accuracy on holdout >= 0\nlogloss on holdout >= 0\nf1 on holdout >= 0\n"
REGRESSION_LINES = "rmse on holdout >= 0\nmae on holdout >= 0\nr2 on holdout >= -100\n"
SERVER_START_SECONDS = 300


def churn_frame(n: int, seed: int) -> pd.DataFrame:
    """age (with nulls), income, plan (text), and four labels: y (0/1), tier (3 text classes),
    churned ("no"/"yes") and spend (a number)."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    age[rng.random(n) < 0.05] = np.nan
    income = rng.lognormal(10, 0.4, n)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    logit = -0.05 * (np.nan_to_num(age, nan=40) - 40) + np.where(plan == "basic", 0.8, -0.4) \
        - 0.6 * (np.log(income) - 10) + rng.normal(0, 0.5, n)
    y = (logit > 0.2).astype(np.int64)
    tier = np.select([logit < -0.3, logit < 0.6], ["bronze", "silver"], "gold")
    spend = 20 + 3 * np.log(income) + np.where(plan == "pro", 15.0, 0.0) + rng.normal(0, 2, n)
    return pd.DataFrame({"age": age, "income": income, "plan": plan, "y": y, "tier": tier,
                         "churned": np.where(y == 1, "yes", "no"), "spend": spend})


@pytest.fixture(scope="session")
def churn():
    """(training, holdout) frames."""
    return churn_frame(700, 1), churn_frame(400, 2)


def with_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """The features with `plan` as a pandas categorical: how LightGBM and XGBoost train on text."""
    return frame[FEATURES].astype({"plan": "category"})


def binary_oracle(y_true, labels, proba) -> dict:
    from sklearn import metrics as skm

    proba = np.asarray(proba, dtype=np.float64)
    positive = proba[:, 1] if proba.ndim == 2 else proba
    return {"accuracy": skm.accuracy_score(y_true, labels), "auc": skm.roc_auc_score(y_true, positive),
            "logloss": skm.log_loss(y_true, np.column_stack([1 - positive, positive])),
            "brier": skm.brier_score_loss(y_true, positive)}


def multiclass_oracle(y_true, labels, proba, classes) -> dict:
    from sklearn import metrics as skm

    return {"accuracy": skm.accuracy_score(y_true, labels),
            "logloss": skm.log_loss(y_true, np.asarray(proba, dtype=np.float64), labels=list(classes)),
            "f1": skm.f1_score(y_true, labels, average="macro")}


def regression_oracle(y_true, values) -> dict:
    from sklearn import metrics as skm

    return {"rmse": skm.root_mean_squared_error(y_true, values), "mae": skm.mean_absolute_error(y_true, values),
            "r2": skm.r2_score(y_true, values)}


def run_contract(folder: Path, declaration: str, label: str, lines: str, train, holdout, **grants) -> dict:
    """Compile and run `declaration` + `label` + `lines` on the frames; {statistic: CheckResult}."""
    text = f"{declaration}\nlabel {label}\n{lines}"
    drop = [c for c in ("y", "tier", "churned", "spend") if c != label]
    datasets = {"training": train.drop(columns=drop, errors="ignore"), "holdout": holdout.drop(columns=drop, errors="ignore")}
    result = mlcontract.compile(text, datasets=datasets, base_dir=folder, **grants).run()
    return {c.statistic: c for c in result.checks}


def assert_matches(checks: dict, expected: dict, rel: float = 1e-9) -> None:
    for metric, value in expected.items():
        assert checks[metric].status == "pass", (metric, checks[metric].message)
        assert checks[metric].value == pytest.approx(value, rel=rel, abs=1e-12), metric


# ---- a real MLflow tracking server ------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """`mlflow server` with a SQLite backend and a file artifact root, on a free loopback port;
    yields its URI. It runs in its own process group, stopped (all of it) at the end."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    log = open(folder / "server.log", "wb")
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true",
           "PYTHONWARNINGS": "ignore"}
    env.pop("MLFLOW_TRACKING_URI", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--default-artifact-root", (folder / "artifacts").as_uri(), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(uri, server, folder / "server.log")
        yield uri
    finally:
        _stop(server)
        log.close()


def _wait_until_healthy(uri: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {server.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"mlflow server not healthy after {SERVER_START_SECONDS} s:\n"
                       f"{log.read_text(errors='replace')[-3000:]}")


def _stop(server: subprocess.Popen) -> None:
    """Stop the server's process group (its uvicorn worker too)."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=wait)
            time.sleep(0.2)
            os.killpg(server.pid, 0)  # anything of the group left?
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
