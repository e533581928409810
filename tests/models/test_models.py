"""Model formats: joblib/pickle, skops (trusted types), ONNX (skl2onnx), and models passed
through the API (fitted estimators, callables, dicts of callables)."""
from __future__ import annotations

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from model_sources import churn_frame
from sklearn import metrics as skm
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mlcontract
from mlcontract.resolve.contract import ModelSource
from mlcontract.errors import ModelError
from mlcontract.grants import PICKLE_GRANT
from mlcontract.models.loaded import LOW_PRECISION_TOLERANCE, PROBABILITY_TOLERANCE, wrap_object
from mlcontract.sources import load_model
from mlcontract.sources.skops import unsafe_skops_types

FEATURES = ["age", "income", "plan"]


class Doubler(TransformerMixin, BaseEstimator):
    """A custom transformer: skops does not trust it unless the contract says so."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float) * 2.0


def _frame(n: int, seed: int) -> pd.DataFrame:
    """The churn data of the model-source tests, with its binary label only."""
    return churn_frame(n, seed)[["age", "income", "plan", "y"]]


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


def _run_file(tmp_path, declaration: str, train, holdout, allow_pickle: bool = False):
    text = f"{declaration}\nlabel y\n{LINES}"
    result = mlcontract.compile(text, datasets={"training": train, "holdout": holdout}, base_dir=tmp_path,
                                allow_pickle=allow_pickle).run()
    return {c.statistic: c for c in result.checks}


# ---- files ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["model.joblib", "model.pkl"])
def test_joblib_and_pickle_files(tmp_path, data, name):
    train, holdout, model = data
    if name.endswith(".pkl"):
        (tmp_path / name).write_bytes(pickle.dumps(model))
    else:
        joblib.dump(model, tmp_path / name)
    checks = _run_file(tmp_path, f'model candidate = sklearn("{name}")', train, holdout, allow_pickle=True)
    for metric, expected in _oracle(model, holdout).items():
        assert checks[metric].status == "pass" and checks[metric].value == pytest.approx(expected, rel=1e-12)


def test_unloadable_file_is_an_error(tmp_path, data):
    train, holdout, _ = data
    (tmp_path / "broken.joblib").write_bytes(b"not a pickle at all")
    checks = _run_file(tmp_path, 'model candidate = sklearn("broken.joblib")', train, holdout, allow_pickle=True)
    assert all(c.status == "error" and "cannot load broken.joblib" in c.message for c in checks.values())


@pytest.mark.parametrize("kind", ["sklearn", "skops", "onnx"])
def test_missing_model_file_is_an_error(tmp_path, data, kind):
    train, holdout, _ = data
    checks = _run_file(tmp_path, f'model candidate = {kind}("models/missing.bin")', train, holdout)
    for check in checks.values():
        assert check.status == "error" and "file not found" in check.message and "missing.bin" in check.message


@pytest.mark.slow
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

    # trusting only some of the types is not enough (even with consent to unsafe types)
    checks = _run_file(tmp_path, f'model candidate = skops("model.skops", trusted="{untrusted[-1]}")', train, holdout,
                       allow_pickle=True)
    assert all(c.status == "error" and "not trusted" in c.message for c in checks.values())

    # Doubler is not of a safe module (sklearn, numpy, scipy): trusting it needs the invocation's consent
    declaration = f'model candidate = skops("model.skops", trusted="{",".join(untrusted)}")'
    checks = _run_file(tmp_path, declaration, train, holdout)
    for check in checks.values():
        assert check.status == "error" and "--allow-pickle" in check.message and custom in check.message
    checks = _run_file(tmp_path, declaration, train, holdout, allow_pickle=True)
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


# ---- every output is validated before any metric (issue 9) ------------------------------------------
CHECKS = "accuracy on holdout >= 0\nauc on holdout >= 0\n"


@pytest.mark.parametrize("make, problem, row", [
    (lambda n: np.full((n, 2), np.nan), "non-finite probabilities [NaN, NaN]", 0),
    (lambda n: np.column_stack([np.full(n, 0.5), np.r_[np.full(n - 1, 0.5), 0.6]]), "sum to 1.1, not 1", "last"),
    (lambda n: np.tile([1.5, -0.5], (n, 1)), "outside [0, 1]", 0),
    (lambda n: np.tile([0.5, 0.5], (n - 1, 1)), "probabilities of shape", None),
    (lambda n: np.tile([0.2, 0.3, 0.5], (n, 1)), "3 probability columns for its 2 classes", None),
    (lambda n: [[0.5, 0.5]] * (n - 1) + [[1.0]], "do not form an array", None),
])
def test_invalid_probabilities_are_errors_naming_model_row_and_problem(data, make, problem, row):
    train, holdout, _ = data
    model = {"predict_proba": lambda X: make(len(X)), "classes": [0, 1]}
    checks = _run_api(model, train, holdout, CHECKS)
    where = "" if row is None else f"at row {len(holdout) - 1 if row == 'last' else row:,} (of {len(holdout):,}"
    for check in checks.values():  # accuracy from the argmax, auc from the probabilities: both errors
        assert check.status == "error", check.message
        assert "model `candidate`" in check.message and problem in check.message and where in check.message


def test_scores_are_not_probabilities():
    """The case of the issue: scores [5, -4] passed `auc >= 0.5`."""
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [1, 0]})
    result = mlcontract.compile("label y\nauc on holdout >= 0.5\n", datasets={"training": frame, "holdout": frame},
                                models={"candidate": {"predict_proba": lambda X: np.array([5.0, -4.0]),
                                                      "classes": [0, 1]}}).run()
    (check,) = result.checks
    assert check.status == "error" and "outside [0, 1]: [5]" in check.message and "at row 0" in check.message


class _Fixed(BaseEstimator):
    """A fitted 'classifier' answering what it is told, with classes_ [0, 1]."""

    def __init__(self, labels=None, proba=None):
        self.labels = labels
        self.proba = proba

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, X):
        return np.resize(np.asarray(self.labels, dtype=object), len(X))

    def predict_proba(self, X):
        return np.resize(np.asarray(self.proba, dtype=float), (len(X), 2))


@pytest.mark.parametrize("labels, problem", [
    ([0, 1, 2], "predicted 2, which is not one of its classes [0, 1]"),
    ([0, None], "predicted null"),
    ([0, "1"], "predicted '1', which is not one of its classes [0, 1]"),
])
def test_labels_must_be_the_models_classes(data, labels, problem):
    train, holdout, _ = data
    model = _Fixed(labels, [0.5, 0.5]).fit(None, None)
    check = _run_api(model, train, holdout, "accuracy on holdout >= 0\n")["accuracy"]
    assert check.status == "error" and problem in check.message and "model `candidate`" in check.message
    assert f"at row {labels.index(labels[-1])}" in check.message


def test_labels_of_a_model_without_classes_must_be_label_values(data):
    train, holdout, _ = data
    check = _run_api(lambda X: np.where(np.arange(len(X)) < 3, 0, 7), train, holdout, "accuracy on holdout >= 0\n")
    message = check["accuracy"].message
    assert check["accuracy"].status == "error" and "predicted 7" in message and "label column's values [0, 1]" in message
    assert "at row 3" in message


def test_regression_predictions_must_be_finite(data):
    train, holdout, _ = data

    def predict(X):
        values = np.linspace(0, 1, len(X))
        values[7] = np.inf
        return values

    check = _run_api(predict, train, holdout, "rmse on holdout <= 10\n")["rmse"]
    assert check.status == "error" and "predicted inf" in check.message and "at row 7" in check.message


def test_the_probability_tolerance_and_the_clipped_values(data):
    """Rows may miss 1 by the documented tolerance (1e-6; 1e-4 for float32 outputs); the values
    scored are the model's, clipped to [0, 1], and match sklearn on them."""
    train, holdout, model = data
    X, y = holdout[FEATURES], holdout["y"]
    base = model.predict_proba(X)
    assert PROBABILITY_TOLERANCE == 1e-6 and LOW_PRECISION_TOLERANCE == 1e-4

    def run(matrix):
        return _run_api({"predict_proba": lambda _: matrix, "classes": [0, 1]}, train, holdout,
                        "brier on holdout <= 1\n")["brier"]

    nudged = base.copy()
    nudged[:, 1] += 0.9e-6  # rows sum to 1 + 9e-7, and p may exceed 1 by as much
    check = run(nudged)
    assert check.status == "pass"
    assert check.value == pytest.approx(skm.brier_score_loss(y, np.clip(nudged[:, 1], 0, 1)), rel=1e-12)
    over = base.copy()
    over[5, 1] += 3e-6
    check = run(over)
    assert check.status == "error" and "at row 5" in check.message and "tolerance 1e-06" in check.message
    single = base.astype(np.float32)
    single[:, 1] += np.float32(5e-5)
    assert run(single).status == "pass"
    single[9, 1] += np.float32(5e-4)
    check = run(single)
    assert check.status == "error" and "at row 9" in check.message and "tolerance 0.0001" in check.message


class _SumsToTwo(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def predict_proba(self, X):
        return np.ones((len(X), len(self.classes_)))


def test_cross_validation_validates_the_refitted_clones(data):
    train, holdout, _ = data
    (check,) = _run_api(_SumsToTwo().fit(train[FEATURES], train["y"]), train, holdout,
                        "cv auc on training >= 0 with 3 folds\n").values()
    assert check.status == "error" and "clone refitted by cross-validation" in check.message
    assert "sum to 2, not 1" in check.message and "of the dataset" in check.message


def test_ragged_or_strange_outputs_never_crash():
    from mlcontract.models.loaded import label_problem, probability_problem

    assert label_problem([[1, 2], [3]], 2, None)[0].startswith("returned predictions that do not form an array") \
        or label_problem([[1, 2], [3]], 2, None)[0].startswith("predicted a list")
    assert "too large" in label_problem(np.array([10 ** 400], dtype=object), 1)[0]
    assert label_problem(np.array([{"a": 1}], dtype=object), 1)[0].startswith("predicted a dict")
    assert label_problem(np.array([1 + 2j]), 1)[0] == "predicted complex numbers"
    assert probability_problem(np.array([["a", "b"]]), 1)[0] == "returned probabilities that are not numbers"
    assert probability_problem(None, 1)[0] == "returned no probabilities"
    assert probability_problem(np.array([0.2, 0.7]), 2, [0, 1, 2])[0].startswith("returned one probability per row")


# ---- code: unpickling needs the invocation's consent (issue 9) -------------------------------------
class _Tripwire:
    """A pickle whose loading writes a file: what any pickle may do, and worse."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("name", ["model.joblib", "model.pkl"])
def test_unpickling_needs_consent(tmp_path, data, name):
    train, holdout, _ = data
    marker = tmp_path / "unpickled.txt"
    (tmp_path / name).write_bytes(pickle.dumps(_Tripwire(str(marker))))
    checks = _run_file(tmp_path, f'model candidate = sklearn("{name}")', train, holdout)
    for check in checks.values():
        assert check.status == "error"
        assert PICKLE_GRANT in check.message and "skops" in check.message and "ONNX" in check.message
    assert not marker.exists()
    checks = _run_file(tmp_path, f'model candidate = sklearn("{name}")', train, holdout, allow_pickle=True)
    assert marker.exists()  # with consent it is loaded, with all that implies
    assert all(c.status == "error" and "expected a fitted estimator" in c.message for c in checks.values())


def test_skops_trusting_a_type_outside_the_safe_modules_needs_consent(tmp_path, data):
    import os

    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    train, holdout, _ = data
    sio.dump(make_pipeline(FunctionTransformer(os.system)), tmp_path / "evil.skops")
    assert sio.get_untrusted_types(file=tmp_path / "evil.skops") == ["posix.system"]
    checks = _run_file(tmp_path, 'model candidate = skops("evil.skops", trusted="posix.system")', train, holdout)
    for check in checks.values():
        assert check.status == "error" and "posix.system" in check.message and PICKLE_GRANT in check.message


@pytest.mark.slow
def test_skops_types_of_the_safe_modules_need_no_consent(tmp_path, data):
    import skops.io as sio
    from sklearn.ensemble import HistGradientBoostingClassifier

    train, holdout, _ = data
    model = make_pipeline(
        ColumnTransformer([("num", "passthrough", ["age", "income"]), ("cat", OneHotEncoder(handle_unknown="ignore"),
                                                                       ["plan"])]),
        HistGradientBoostingClassifier(max_iter=5, random_state=0)).fit(train[FEATURES], train["y"])
    sio.dump(model, tmp_path / "hgb.skops")
    untrusted = sio.get_untrusted_types(file=tmp_path / "hgb.skops")
    assert untrusted and not unsafe_skops_types(untrusted)
    checks = _run_file(tmp_path, f'model candidate = skops("hgb.skops", trusted="{",".join(untrusted)}")',
                       train, holdout)
    for metric, expected in _oracle(model, holdout).items():
        assert checks[metric].status == "pass" and checks[metric].value == pytest.approx(expected, rel=1e-12)


def test_the_safe_skops_modules():
    assert unsafe_skops_types(["sklearn.linear_model._logistic.LogisticRegression", "numpy.float64",
                               "scipy.sparse._csr.csr_matrix", "numpy.log1p"]) == []
    risky = ["posix.system", "builtins.eval", "os.system", "sklearn", "numpy.testing._private.utils.runstring",
             "sklearn.utils._testing.assert_run_python_script_without_output", "numpy.ctypeslib.load_library",
             "numpy.f2py.compile", "sklearnx.Evil", "numpy..x", "subprocess.Popen"]
    assert unsafe_skops_types(risky) == risky
