"""mlflow(...) models — registry URIs against a real tracking server (SQLite backend, started on
loopback by the session fixture `mlflow_server`), and local model folders of each flavor —
and `mlc check --mlflow-log`. Metrics must equal the library's own predictions scored by
scikit-learn."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

import mlcontract
from mlcontract.resolve.contract import ModelSource
from mlcontract.errors import ContractError, UsageError
from mlcontract.sources import load_model

from model_sources import (  # noqa: F401  (churn, mlflow_server: fixtures)
    BINARY_LINES,
    churn,
    mlflow_server,
    FEATURES,
    assert_matches,
    binary_oracle,
    run_contract,
    with_categories,
)

mlflow = pytest.importorskip("mlflow")
# What MLflow asks to be told before it saves these pipelines with skops (and writes into MLmodel).
TRUSTED = ["numpy.dtype"]
# MLflow infers a model's pip requirements by importing it in a new process (~10 s per model);
# these tests never rebuild an environment.
NO_REQUIREMENTS = {"pip_requirements": []}
warnings.filterwarnings("ignore", category=UserWarning)
warnings.filterwarnings("ignore", category=FutureWarning)


def _pipeline(train):
    model = make_pipeline(
        ColumnTransformer([("num", SimpleImputer(strategy="median"), ["age", "income"]),
                           ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])]),
        LogisticRegression(max_iter=1000))
    return model.fit(train[FEATURES], train["y"])


def _sklearn_oracle(model, holdout) -> dict:
    X = holdout[FEATURES]
    return binary_oracle(holdout["y"], model.predict(X), model.predict_proba(X))


def _mlc(*args, env=None):
    """`mlc ARGS` in a new process, with no MLflow server in its environment unless `env` names one."""
    environment = {**os.environ, "COLUMNS": "160", "PYTHONWARNINGS": "ignore"}
    environment.pop("MLFLOW_TRACKING_URI", None)
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "mlcontract", *args], capture_output=True, text=True, timeout=600,
                          env=environment)


def _contract(folder, declaration: str, lines: str = BINARY_LINES, train=None, holdout=None):
    """A contract file with its data as parquet files beside it."""
    if train is not None:
        train[FEATURES + ["y"]].to_parquet(folder / "train.parquet")
        holdout[FEATURES + ["y"]].to_parquet(folder / "holdout.parquet")
    path = folder / "gate.mlc"
    path.write_text(f'dataset training = parquet("train.parquet")\ndataset holdout = parquet("holdout.parquet")\n'
                    f"{declaration}\nlabel y\n{lines}")
    return path


# ---- the registry: a real tracking server ---------------------------------------------------------------
@pytest.fixture(scope="module")
def registered(mlflow_server, churn):
    """A pipeline logged in a run, registered as `churn` (version 1) with the alias
    `challenger`; a second, worse version 2 without an alias."""
    from mlflow.tracking import MlflowClient

    train, _ = churn
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    model = _pipeline(train)
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    previous_registry = registry_utils._registry_uri  # None unless set: put back as it was
    mlflow.set_registry_uri(mlflow_server)
    try:
        with _use_tracking_uri(mlflow_server), mlflow.start_run() as run:
            mlflow.sklearn.log_model(model, name="model", registered_model_name="churn", skops_trusted_types=TRUSTED,
                                     **NO_REQUIREMENTS)
        worse = make_pipeline(ColumnTransformer([("num", SimpleImputer(), ["income"])]), LogisticRegression())
        worse.fit(train[FEATURES], train["y"])
        with _use_tracking_uri(mlflow_server), mlflow.start_run():
            mlflow.sklearn.log_model(worse, name="model", registered_model_name="churn", skops_trusted_types=TRUSTED,
                                     **NO_REQUIREMENTS)
    finally:
        registry_utils._registry_uri = previous_registry
    client.set_registered_model_alias("churn", "challenger", "1")
    return {"uri": mlflow_server, "client": client, "model": model, "worse": worse, "run_id": run.info.run_id}


@pytest.mark.slow
def test_gate_models_alias_and_record_the_verdict(tmp_path, churn, registered):
    """The whole loop through the CLI: `mlc check` gates models:/churn@challenger from the
    registry and records its verdict on that version, which a promotion step reads back."""
    train, holdout = churn
    contract = _contract(tmp_path, 'model candidate = mlflow("models:/churn@challenger")', train=train, holdout=holdout)
    out = tmp_path / "results.json"
    done = _mlc("check", str(contract), "--json", str(out), "--mlflow-uri", registered["uri"],
                "--mlflow-log", "models:/churn@challenger")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "recorded the verdict (passed) in MLflow" in done.stderr
    checks = {c["statistic"]: c for c in json.loads(out.read_text())["checks"]}
    assert_matches(_as_results(checks), _sklearn_oracle(registered["model"], holdout))

    client = registered["client"]
    version = client.get_model_version("churn", "1")
    assert version.tags["mlcontract.gate"] == "passed"
    assert version.tags["mlcontract.results"] == f"runs:/{registered['run_id']}/mlcontract/results.json"
    run = client.get_run(registered["run_id"])
    assert run.data.metrics[f"mlcontract.{checks['auc']['index']}.candidate.auc"] == pytest.approx(checks["auc"]["value"])
    logged = mlflow.artifacts.download_artifacts(f"runs:/{registered['run_id']}/mlcontract/results.json",
                                                 dst_path=str(tmp_path / "back"), tracking_uri=registered["uri"])
    assert json.loads(open(logged).read())["passed"] is True

    # a failing gate records `failed` (and exits 1); the tag is what promotion requires
    failing = _contract(tmp_path, 'model candidate = mlflow("models:/churn/2")', "auc on holdout >= 0.99\n")
    done = _mlc("check", str(failing), "--mlflow-uri", registered["uri"], "--mlflow-log", "models:/churn/2")
    assert done.returncode == 1, done.stdout + done.stderr
    assert client.get_model_version("churn", "2").tags["mlcontract.gate"] == "failed"


def _as_results(checks: dict) -> dict:
    from mlcontract.report.results import CheckResult

    return {name: CheckResult(**check) for name, check in checks.items()}


@pytest.mark.slow
@pytest.mark.parametrize("uri", ["models:/churn/1", "models:/churn@challenger", "runs:/{run_id}/model"])
def test_registry_and_run_uris_through_the_api(tmp_path, churn, registered, uri):
    train, holdout = churn
    uri = uri.format(run_id=registered["run_id"])
    checks = run_contract(tmp_path, f'model candidate = mlflow("{uri}")', "y", BINARY_LINES, train, holdout,
                          mlflow_uri=registered["uri"])
    assert_matches(checks, _sklearn_oracle(registered["model"], holdout))


@pytest.mark.slow
def test_tracking_uri_from_the_environment_and_a_run_target(tmp_path, churn, registered):
    train, holdout = churn
    contract = _contract(tmp_path, 'model candidate = mlflow("models:/churn@challenger")', "accuracy on holdout >= 0\n",
                         train=train, holdout=holdout)
    done = _mlc("check", str(contract), "--mlflow-log", f"runs:/{registered['run_id']}",
                env={"MLFLOW_TRACKING_URI": registered["uri"]})
    assert done.returncode == 0, done.stdout + done.stderr
    assert registered["client"].get_run(registered["run_id"]).data.tags["mlcontract.gate"] == "passed"


@pytest.mark.slow
def test_unknown_registered_model_is_an_error(tmp_path, churn, registered):
    train, holdout = churn
    checks = run_contract(tmp_path, 'model candidate = mlflow("models:/no-such-model/1")', "y", BINARY_LINES, train,
                          holdout, mlflow_uri=registered["uri"])
    for check in checks.values():
        assert check.status == "error" and "cannot fetch models:/no-such-model/1" in check.message


# ---- the invocation names the server -------------------------------------------------------------------
def test_a_registry_uri_without_a_server_says_how_to_name_one(tmp_path, churn, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    train, holdout = churn
    checks = run_contract(tmp_path, 'model candidate = mlflow("models:/churn/1")', "y", BINARY_LINES, train, holdout)
    for check in checks.values():
        assert check.status == "error" and "--mlflow-uri" in check.message and "MLFLOW_TRACKING_URI" in check.message


def test_a_non_loopback_server_needs_allow_host(tmp_path, churn):
    train, holdout = churn
    declaration = 'model candidate = mlflow("models:/churn/1")'
    checks = run_contract(tmp_path, declaration, "y", BINARY_LINES, train, holdout,
                          mlflow_uri="https://mlflow.example.com")
    for check in checks.values():  # refused before any connection is tried
        assert check.status == "error" and "not on a loopback host" in check.message and "--allow-host" in check.message
    from mlcontract.grants import Grants
    from mlcontract.sources.mlflow import reach_problem

    assert reach_problem("https://mlflow.example.com", Grants.of(allow_hosts=["mlflow.example.com"])) is None
    assert reach_problem("http://10.0.0.5:5000", Grants.of(allow_hosts=["10.0.0.5:5000"])) is None
    assert reach_problem("http://10.0.0.5:5000", Grants.of(allow_hosts=["10.0.0.5:80"])) is not None
    assert reach_problem("http://127.0.0.1:5000", Grants()) is None and reach_problem("sqlite:///x.db", Grants()) is None


@pytest.mark.parametrize("declaration, message", [
    ('mlflow("s3://bucket/churn")', "other URIs (s3://, dbfs:/, http://, file:) are not read"),
    ('mlflow("models:/")', "a models:/ URI is models:/NAME/VERSION"),
    ('mlflow("runs:/abc")', "a runs:/ URI is runs:/RUN_ID/PATH"),
    ('mlflow("models:/churn/1", timeout=3)', "unknown option `timeout` for `mlflow(...)`"),
    ('sklearn("models:/churn@challenger")', 'declare it as mlflow("models:/churn@challenger")'),
    ('onnx("runs:/abc/model")', "is an MLflow model URI, not a file"),
])
def test_mlflow_declarations_are_checked_when_compiling(tmp_path, declaration, message):
    with pytest.raises(ContractError) as raised:
        mlcontract.compile(f"model candidate = {declaration}\nlabel y\naccuracy on holdout >= 0\n", base_dir=tmp_path,
                           datasets={"holdout": pd.DataFrame({"y": [0, 1]})})
    assert message in raised.value.render()


def test_mlflow_log_target_is_checked_before_the_run(tmp_path):
    contract = tmp_path / "gate.mlc"
    contract.write_text('dataset d = parquet("missing.parquet")\nd rows >= 1\n')
    done = _mlc("check", str(contract), "--mlflow-uri", "http://127.0.0.1:9", "--mlflow-log", "models:/churn")
    assert done.returncode == 2 and "--mlflow-log takes runs:/RUN_ID, models:/NAME/VERSION" in done.stderr
    done = _mlc("check", str(contract), "--mlflow-log", "runs:/abc")
    assert done.returncode == 2 and "--mlflow-log needs the MLflow tracking server" in done.stderr
    with pytest.raises(UsageError):
        mlcontract.compile(contract, mlflow_uri="  ")


@pytest.mark.slow
def test_a_verdict_that_cannot_be_recorded_fails_the_gate(tmp_path, churn):
    train, holdout = churn
    contract = _contract(tmp_path, "", "training rows >= 1\n", train=train, holdout=holdout)
    done = _mlc("check", str(contract), "--mlflow-log", "runs:/abc", env={
        "MLFLOW_TRACKING_URI": "http://127.0.0.1:9", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "could not record the verdict in MLflow" in done.stderr and "Traceback" not in done.stderr


def test_metric_names_are_what_mlflow_accepts():
    from mlcontract.report.mlflow_log import metric_name, metric_values
    from mlcontract.report.results import CheckResult, RunResult

    def check(index, value, feature=None):
        return CheckResult(index=index, line=1, source="", kind="data", status="pass", blocking=True, subject="d@v",
                           feature=feature, statistic="psi", value=value, message="")

    result = RunResult(passed=True, counts={}, seconds=0.0,
                       checks=[check(0, 0.5, "monthly charges€"), check(1, None), check(2, float("nan")), check(3, 10**400)])
    assert metric_values(result) == {"mlcontract.0.d_v.psi.monthly charges_": 0.5}
    assert len(metric_name(check(4, 1.0, "x" * 400))) == 250


# ---- local model folders, one per flavor -----------------------------------------------------------------
def _assert_pipeline_gate(tmp_path, churn, folder: str, model, **grants):
    train, holdout = churn
    checks = run_contract(tmp_path, f'model candidate = mlflow("{folder}")', "y", BINARY_LINES, train, holdout, **grants)
    X = holdout[FEATURES] if model.__class__.__module__.startswith("sklearn") else with_categories(holdout)
    assert_matches(checks, binary_oracle(holdout["y"], model.predict(X), model.predict_proba(X)), rel=1e-6)


def test_sklearn_flavor_saved_with_skops_needs_no_grant(tmp_path, churn):
    import mlflow.sklearn

    model = _pipeline(churn[0])
    mlflow.sklearn.save_model(model, tmp_path / "model", skops_trusted_types=TRUSTED, **NO_REQUIREMENTS)
    _assert_pipeline_gate(tmp_path, churn, "model", model)
    # the MLmodel file alone points at its folder
    _assert_pipeline_gate(tmp_path, churn, "model/MLmodel", model)


def test_skops_types_outside_the_safe_modules_need_consent_wherever_listed(tmp_path, churn):
    """The MLmodel file's skops_trusted_types is no more trusted than the contract: a type
    outside sklearn/numpy/scipy needs --allow-pickle; an unlisted one must be listed."""
    import mlflow.sklearn
    import yaml

    train, holdout = churn
    mlflow.sklearn.save_model(_pipeline(train), tmp_path / "model", skops_trusted_types=TRUSTED, **NO_REQUIREMENTS)
    spec = tmp_path / "model" / "MLmodel"
    document = yaml.safe_load(spec.read_text())
    document["flavors"]["sklearn"]["skops_trusted_types"] = ["numpy.dtype", "posix.system"]
    spec.write_text(yaml.safe_dump(document))
    checks = run_contract(tmp_path, 'model candidate = mlflow("model")', "y", BINARY_LINES, train, holdout)
    assert all(c.status == "pass" for c in checks.values())  # posix.system is not in the file: nothing to consent to
    document["flavors"]["sklearn"]["skops_trusted_types"] = []
    spec.write_text(yaml.safe_dump(document))
    checks = run_contract(tmp_path, 'model candidate = mlflow("model")', "y", BINARY_LINES, train, holdout)
    for check in checks.values():
        assert check.status == "error" and 'trusted="numpy.dtype"' in check.message
    checks = run_contract(tmp_path, 'model candidate = mlflow("model", trusted="numpy.dtype")', "y", BINARY_LINES,
                          train, holdout)
    assert all(c.status == "pass" for c in checks.values())


def test_sklearn_flavor_pickled_needs_allow_pickle(tmp_path, churn):
    import mlflow.sklearn

    train, holdout = churn
    model = _pipeline(train)
    mlflow.sklearn.save_model(model, tmp_path / "model", serialization_format="cloudpickle", **NO_REQUIREMENTS)
    checks = run_contract(tmp_path, 'model candidate = mlflow("model")', "y", BINARY_LINES, train, holdout)
    for check in checks.values():
        assert check.status == "error" and "saved with cloudpickle" in check.message and "--allow-pickle" in check.message
    _assert_pipeline_gate(tmp_path, churn, "model", model, allow_pickle=True)


def test_xgboost_lightgbm_catboost_flavors_load_natively(tmp_path, churn):
    import catboost
    import lightgbm as lgb
    import mlflow.catboost
    import mlflow.lightgbm
    import mlflow.xgboost
    import xgboost as xgb

    train, holdout = churn
    X = with_categories(train)
    boosted = xgb.XGBClassifier(n_estimators=20, enable_categorical=True).fit(X, train["y"])
    mlflow.xgboost.save_model(boosted, tmp_path / "xgb", **NO_REQUIREMENTS)
    _assert_pipeline_gate(tmp_path, churn, "xgb", boosted)
    wrapped = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, train["y"])
    # saved with skops; LightGBM's own types need no grant
    mlflow.lightgbm.save_model(wrapped, tmp_path / "lgb-wrapper", **NO_REQUIREMENTS)
    _assert_pipeline_gate(tmp_path, churn, "lgb-wrapper", wrapped)
    mlflow.lightgbm.save_model(wrapped.booster_, tmp_path / "lgb-booster", **NO_REQUIREMENTS)
    _assert_pipeline_gate(tmp_path, churn, "lgb-booster", wrapped)
    cat = catboost.CatBoostClassifier(iterations=20, verbose=0, allow_writing_files=False, cat_features=["plan"])
    cat.fit(train[FEATURES], train["y"])
    mlflow.catboost.save_model(cat, tmp_path / "cat", **NO_REQUIREMENTS)
    checks = run_contract(tmp_path, 'model candidate = mlflow("cat")', "y", BINARY_LINES, train, holdout)
    Xh = holdout[FEATURES]
    assert_matches(checks, binary_oracle(holdout["y"], cat.predict(Xh), cat.predict_proba(Xh)))
    loaded = load_model(ModelSource("m", "mlflow", str(tmp_path / "xgb")))
    assert loaded.format == "mlflow" and loaded.extra["mlflow"]["flavor"] == "xgboost"
    assert set(loaded.extra["feature_importance"]["gain"]) == set(FEATURES)


class _Labels(mlflow.pyfunc.PythonModel):
    """A pyfunc-only model: a rule that answers labels."""

    def predict(self, context, model_input, params=None):
        return (model_input["plan"] == "basic").astype(int).to_numpy()


def test_pyfunc_only_model_is_labels_only(tmp_path, churn):
    train, holdout = churn
    mlflow.pyfunc.save_model(tmp_path / "rule", python_model=_Labels(), **NO_REQUIREMENTS)
    checks = run_contract(tmp_path, 'model candidate = mlflow("rule")', "y", BINARY_LINES, train, holdout)
    for check in checks.values():  # loading a pyfunc model runs its code
        assert check.status == "error" and "python_function" in check.message and "--allow-pickle" in check.message
    checks = run_contract(tmp_path, 'model candidate = mlflow("rule")', "y", BINARY_LINES, train, holdout,
                          allow_pickle=True)
    from sklearn.metrics import accuracy_score

    expected = accuracy_score(holdout["y"], (holdout["plan"] == "basic").astype(int))
    assert checks["accuracy"].status == "pass" and checks["accuracy"].value == pytest.approx(expected)
    for metric in ("auc", "logloss", "brier"):
        assert checks[metric].status == "error"
        assert "pyfunc's predict gives labels only" in checks[metric].message, checks[metric].message


def test_a_model_folder_is_confined_like_any_path(tmp_path, churn, tmp_path_factory):
    import mlflow.sklearn

    train, holdout = churn
    outside = tmp_path_factory.mktemp("elsewhere")
    mlflow.sklearn.save_model(_pipeline(train), outside / "model", skops_trusted_types=TRUSTED, **NO_REQUIREMENTS)
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    checks = run_contract(repo, f'model candidate = mlflow("{outside / "model"}")', "y", BINARY_LINES, train, holdout)
    for check in checks.values():
        assert check.status == "error" and "refused to read" in check.message and "--allow-path" in check.message
    checks = run_contract(repo, f'model candidate = mlflow("{outside / "model"}")', "y", BINARY_LINES, train, holdout,
                          allow_paths=[outside])
    assert all(c.status == "pass" for c in checks.values())


def test_mlmodel_pointing_outside_its_folder_is_refused(tmp_path, churn):
    train, holdout = churn
    (tmp_path / "secret.json").write_text("{}")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "MLmodel").write_text("flavors:\n  xgboost:\n    data: ../secret.json\n")
    checks = run_contract(tmp_path, 'model candidate = mlflow("model")', "y", BINARY_LINES, train, holdout)
    for check in checks.values():
        assert check.status == "error" and "points outside the model folder" in check.message
    (tmp_path / "model" / "MLmodel").write_text("flavors: [1, 2]\n")
    checks = run_contract(tmp_path, 'model candidate = mlflow("model")', "y", BINARY_LINES, train, holdout)
    assert all(c.status == "error" and "names no flavors" in c.message for c in checks.values())
    (tmp_path / "model" / "MLmodel").unlink()
    checks = run_contract(tmp_path, 'model candidate = mlflow("model")', "y", BINARY_LINES, train, holdout)
    assert all(c.status == "error" and "has no MLmodel file" in c.message for c in checks.values())


def test_probabilities_of_loaded_mlflow_models_are_validated(tmp_path, churn):
    """A loaded model's outputs go through the same validation as any model's."""
    import mlflow.sklearn

    train, holdout = churn
    model = _pipeline(train)
    mlflow.sklearn.save_model(model, tmp_path / "model", skops_trusted_types=TRUSTED, **NO_REQUIREMENTS)
    loaded = load_model(ModelSource("m", "mlflow", str(tmp_path / "model")))
    proba = loaded.predict_proba(holdout[FEATURES])
    assert np.allclose(proba, model.predict_proba(holdout[FEATURES])) and loaded.estimator is not None
