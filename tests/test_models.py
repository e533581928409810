"""Model formats: joblib/pickle, skops (trusted types), ONNX (skl2onnx), and models passed
through the API (fitted estimators, callables, dicts of callables)."""
from __future__ import annotations

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mlcontract
from mlcontract.contract import ModelSource
from mlcontract.errors import ModelError
from mlcontract.models import load_model, wrap_object

FEATURES = ["age", "income", "plan"]


class Doubler(TransformerMixin, BaseEstimator):
    """A custom transformer: skops does not trust it unless the contract says so."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float) * 2.0


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    age[rng.random(n) < 0.05] = np.nan
    income = rng.lognormal(10, 0.4, n)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    logit = -0.05 * (np.nan_to_num(age, nan=40) - 40) + np.where(plan == "basic", 0.8, -0.4) \
        - 0.6 * (np.log(income) - 10) + rng.normal(0, 0.5, n)
    return pd.DataFrame({"age": age, "income": income, "plan": plan, "y": (logit > 0.2).astype(np.int64)})


def _pipeline(extra=None):
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), *([extra] if extra else []))
    return make_pipeline(
        ColumnTransformer([("num", numeric, ["age", "income"]), ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])]),
        LogisticRegression(max_iter=500),
    )


@pytest.fixture(scope="module")
def data():
    train, holdout = _frame(800, 1), _frame(500, 2)
    model = _pipeline().fit(train[FEATURES], train["y"])
    return train, holdout, model


def _oracle(model, holdout) -> dict:
    X, y = holdout[FEATURES], holdout["y"]
    proba = model.predict_proba(X)
    return {"accuracy": skm.accuracy_score(y, model.predict(X)), "auc": skm.roc_auc_score(y, proba[:, 1]),
            "logloss": skm.log_loss(y, proba)}


LINES = "accuracy on holdout >= 0\nauc on holdout >= 0\nlogloss on holdout >= 0\n"


def _run_file(tmp_path, declaration: str, train, holdout):
    text = f"{declaration}\nlabel y\n{LINES}"
    result = mlcontract.compile(text, datasets={"training": train, "holdout": holdout}, base_dir=tmp_path).run()
    return {c.statistic: c for c in result.checks}


# ---- files ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["model.joblib", "model.pkl"])
def test_joblib_and_pickle_files(tmp_path, data, name):
    train, holdout, model = data
    if name.endswith(".pkl"):
        (tmp_path / name).write_bytes(pickle.dumps(model))
    else:
        joblib.dump(model, tmp_path / name)
    checks = _run_file(tmp_path, f'model candidate = sklearn("{name}")', train, holdout)
    for metric, expected in _oracle(model, holdout).items():
        assert checks[metric].status == "pass" and checks[metric].value == pytest.approx(expected, rel=1e-12)


def test_unloadable_file_is_an_error(tmp_path, data):
    train, holdout, _ = data
    (tmp_path / "broken.joblib").write_bytes(b"not a pickle at all")
    checks = _run_file(tmp_path, 'model candidate = sklearn("broken.joblib")', train, holdout)
    assert all(c.status == "error" and "cannot load broken.joblib" in c.message for c in checks.values())


@pytest.mark.parametrize("kind", ["sklearn", "skops", "onnx"])
def test_missing_model_file_is_an_error(tmp_path, data, kind):
    train, holdout, _ = data
    checks = _run_file(tmp_path, f'model candidate = {kind}("models/missing.bin")', train, holdout)
    for check in checks.values():
        assert check.status == "error" and "file not found" in check.message and "missing.bin" in check.message


def test_skops_trusted_types(tmp_path, data):
    import skops.io as sio

    train, holdout, _ = data
    model = _pipeline(Doubler()).fit(train[FEATURES], train["y"])
    sio.dump(model, tmp_path / "model.skops")
    untrusted = sio.get_untrusted_types(file=tmp_path / "model.skops")
    custom = f"{Doubler.__module__}.Doubler"
    assert custom in untrusted

    checks = _run_file(tmp_path, 'model candidate = skops("model.skops")', train, holdout)
    for check in checks.values():
        assert check.status == "error"
        assert "not trusted" in check.message and custom in check.message and "trusted=" in check.message

    # trusting only some of the types is not enough
    checks = _run_file(tmp_path, f'model candidate = skops("model.skops", trusted="{untrusted[-1]}")', train, holdout)
    assert all(c.status == "error" and "not trusted" in c.message for c in checks.values())

    declaration = f'model candidate = skops("model.skops", trusted="{",".join(untrusted)}")'
    checks = _run_file(tmp_path, declaration, train, holdout)
    for metric, expected in _oracle(model, holdout).items():
        assert checks[metric].status == "pass" and checks[metric].value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("zipmap", [True, False])
def test_onnx_pipeline_with_numeric_and_categorical_inputs(tmp_path, data, zipmap):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    train, holdout, model = data
    inputs = [("age", FloatTensorType([None, 1])), ("income", FloatTensorType([None, 1])),
              ("plan", StringTensorType([None, 1]))]
    options = None if zipmap else {id(model): {"zipmap": False}}
    onnx_model = convert_sklearn(model, initial_types=inputs, options=options, target_opset=17)
    (tmp_path / "model.onnx").write_bytes(onnx_model.SerializeToString())
    checks = _run_file(tmp_path, 'model candidate = onnx("model.onnx")', train, holdout)
    for metric, expected in _oracle(model, holdout).items():
        assert checks[metric].status == "pass", checks[metric].message
        assert checks[metric].value == pytest.approx(expected, abs=1e-6)
    loaded = load_model(ModelSource("candidate", "onnx", str(tmp_path / "model.onnx")))
    assert list(loaded.classes) == [0, 1] and loaded.estimator is None


def test_onnx_model_cannot_be_cross_validated(tmp_path, data):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    train, holdout, model = data
    inputs = [("age", FloatTensorType([None, 1])), ("income", FloatTensorType([None, 1])),
              ("plan", StringTensorType([None, 1]))]
    (tmp_path / "model.onnx").write_bytes(convert_sklearn(model, initial_types=inputs).SerializeToString())
    text = 'model candidate = onnx("model.onnx")\nlabel y\ncandidate cv auc on training >= 0.5 with 3 folds\n'
    result = mlcontract.compile(text, datasets={"training": train, "holdout": holdout}, base_dir=tmp_path).run()
    (check,) = result.checks
    assert check.status == "error" and "onnx model that cannot be refitted" in check.message


# ---- the API ----------------------------------------------------------------------------------------
def _run_api(model, train, holdout, lines=LINES):
    result = mlcontract.compile("label y\n" + lines, datasets={"training": train, "holdout": holdout},
                                models={"candidate": model}).run()
    return {c.statistic: c for c in result.checks}


def test_fitted_estimator_through_the_api(data):
    train, holdout, model = data
    checks = _run_api(model, train, holdout)
    for metric, expected in _oracle(model, holdout).items():
        assert checks[metric].value == pytest.approx(expected, rel=1e-12)


def test_plain_callable_through_the_api(data):
    train, holdout, model = data
    checks = _run_api(lambda X: model.predict(X), train, holdout)
    assert checks["accuracy"].value == pytest.approx(_oracle(model, holdout)["accuracy"])
    assert checks["auc"].status == "error" and "has no predict_proba" in checks["auc"].message


def test_dict_of_callables_through_the_api(data):
    train, holdout, model = data
    expected = _oracle(model, holdout)
    checks = _run_api({"predict": model.predict, "predict_proba": model.predict_proba, "classes": [0, 1]},
                      train, holdout)
    assert {m: c.value for m, c in checks.items()} == pytest.approx(expected)
    # probabilities only: labels are the most probable class
    checks = _run_api({"predict_proba": model.predict_proba, "classes": [0, 1]}, train, holdout)
    assert {m: c.value for m, c in checks.items()} == pytest.approx(expected)
    # probability columns in another order than sorted: `classes` says which is which
    swapped = {"predict_proba": lambda X: model.predict_proba(X)[:, ::-1], "classes": [1, 0]}
    assert {m: c.value for m, c in _run_api(swapped, train, holdout).items()} == pytest.approx(expected)


def test_models_the_api_rejects():
    with pytest.raises(ModelError, match="expected a fitted estimator, a callable or a dict"):
        wrap_object("m", 42)
    with pytest.raises(ModelError, match="add `classes`"):
        wrap_object("m", {"predict_proba": lambda X: X})
    with pytest.raises(ModelError, match="unknown keys"):
        wrap_object("m", {"predict": lambda X: X, "proba": lambda X: X})


def test_model_errors_keep_the_exception_message(data):
    train, holdout, _ = data

    def predict(X):
        raise KeyError("plan_v2")

    checks = _run_api(predict, train, holdout, "accuracy on holdout >= 0.5\n")
    message = checks["accuracy"].message
    assert checks["accuracy"].status == "error" and "raised in predict" in message and "plan_v2" in message
