"""Native booster formats: lightgbm("model.txt"), xgboost("model.json" | "model.ubj"),
catboost("model.cbm"). Each model is trained here on small data; the gate's metrics must equal
the library's own predictions (its scikit-learn wrapper) scored by scikit-learn."""
from __future__ import annotations

import warnings

import joblib
import numpy as np
import pytest
from model_sources import (  # noqa: F401  (churn, mlflow_server: fixtures)
    BINARY_LINES,
    churn,
    FEATURES,
    MULTICLASS_LINES,
    REGRESSION_LINES,
    assert_matches,
    binary_oracle,
    multiclass_oracle,
    regression_oracle,
    run_contract,
    with_categories,
)

import mlcontract
from mlcontract.resolve.contract import ModelSource
from mlcontract.errors import ContractError
from mlcontract.sources import load_model

lgb = pytest.importorskip("lightgbm")
xgb = pytest.importorskip("xgboost")
catboost = pytest.importorskip("catboost")

warnings.filterwarnings("ignore", message=".*feature names.*")


# ---- LightGBM ------------------------------------------------------------------------------------------
def test_lightgbm_binary_with_a_categorical_feature(tmp_path, churn):
    train, holdout = churn
    model = lgb.LGBMClassifier(n_estimators=40, verbose=-1).fit(with_categories(train), train["y"])
    model.booster_.save_model(tmp_path / "model.txt")
    checks = run_contract(tmp_path, 'model candidate = lightgbm("model.txt")', "y", BINARY_LINES, train, holdout)
    X = with_categories(holdout)
    assert_matches(checks, binary_oracle(holdout["y"], model.predict(X), model.predict_proba(X)))


def test_lightgbm_multiclass_names_its_classes(tmp_path, churn):
    train, holdout = churn
    model = lgb.LGBMClassifier(n_estimators=30, verbose=-1).fit(with_categories(train), train["tier"])
    model.booster_.save_model(tmp_path / "model.txt")
    classes = ",".join(model.classes_)  # LGBMClassifier sorts the labels: bronze, gold, silver
    checks = run_contract(tmp_path, f'model candidate = lightgbm("model.txt", classes="{classes}")', "tier",
                          MULTICLASS_LINES, train, holdout)
    X = with_categories(holdout)
    assert_matches(checks, multiclass_oracle(holdout["tier"], model.predict(X), model.predict_proba(X), model.classes_))


def test_lightgbm_regression(tmp_path, churn):
    train, holdout = churn
    model = lgb.LGBMRegressor(n_estimators=40, verbose=-1).fit(with_categories(train), train["spend"])
    model.booster_.save_model(tmp_path / "model.txt")
    checks = run_contract(tmp_path, 'model candidate = lightgbm("model.txt")', "spend", REGRESSION_LINES, train, holdout)
    assert_matches(checks, regression_oracle(holdout["spend"], model.predict(with_categories(holdout))))


def test_lightgbm_importance_and_features_in_extra(tmp_path, churn):
    train, _ = churn
    model = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(with_categories(train), train["y"])
    model.booster_.save_model(tmp_path / "model.txt")
    loaded = load_model(ModelSource("m", "lightgbm", str(tmp_path / "model.txt")))
    assert loaded.extra["features"] == FEATURES and loaded.extra["objective"] == "binary"
    assert loaded.extra["categorical_features"] == ["plan"]
    for kind in ("split", "gain"):
        expected = model.booster_.feature_importance(importance_type=kind)
        assert list(loaded.extra["feature_importance"][kind].values()) == pytest.approx(list(expected))
    assert list(loaded.classes) == [0, 1] and loaded.estimator is None


def test_lightgbm_feeds_features_by_name_whatever_the_dataset_order(tmp_path, churn):
    train, holdout = churn
    model = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(with_categories(train), train["y"])
    model.booster_.save_model(tmp_path / "model.txt")
    shuffled = holdout[["plan", "y", "income", "age"]]
    checks = run_contract(tmp_path, 'model candidate = lightgbm("model.txt")', "y", BINARY_LINES, train, shuffled)
    X = with_categories(holdout)
    assert_matches(checks, binary_oracle(holdout["y"], model.predict(X), model.predict_proba(X)))
    checks = run_contract(tmp_path, 'model candidate = lightgbm("model.txt")', "y", BINARY_LINES, train,
                          holdout.drop(columns=["income"]))
    for check in checks.values():
        assert check.status == "error" and "needs feature `income`, which the dataset lacks" in check.message


# ---- XGBoost -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("file", ["model.json", "model.ubj"])
def test_xgboost_binary_json_and_ubj(tmp_path, churn, file):
    train, holdout = churn
    model = xgb.XGBClassifier(n_estimators=30, enable_categorical=True, tree_method="hist")
    model.fit(with_categories(train), train["y"])
    model.save_model(tmp_path / file)
    checks = run_contract(tmp_path, f'model candidate = xgboost("{file}")', "y", BINARY_LINES, train, holdout)
    X = with_categories(holdout)
    # XGBoost computes probabilities in float32: the scores agree to float32's precision
    assert_matches(checks, binary_oracle(holdout["y"], model.predict(X), model.predict_proba(X)), rel=1e-6)


def test_xgboost_categories_are_matched_by_value_not_by_code(tmp_path, churn):
    """The holdout's `plan` lacks a category the training data had: pandas would give the
    others other codes; XGBoost re-codes them to the categories it stored."""
    train, holdout = churn
    model = xgb.XGBClassifier(n_estimators=30, enable_categorical=True).fit(with_categories(train), train["y"])
    model.save_model(tmp_path / "model.json")
    subset = holdout[holdout["plan"] != "basic"]
    checks = run_contract(tmp_path, 'model candidate = xgboost("model.json")', "y", BINARY_LINES, train, subset)
    X = with_categories(subset).astype({"plan": train["plan"].astype("category").dtype})
    assert_matches(checks, binary_oracle(subset["y"], model.predict(X), model.predict_proba(X)), rel=1e-6)


def test_xgboost_early_stopped_predicts_with_its_best_iteration(tmp_path, churn):
    train, holdout = churn
    model = xgb.XGBClassifier(n_estimators=300, learning_rate=0.3, max_depth=6, early_stopping_rounds=5,
                              enable_categorical=True)
    model.fit(with_categories(train), train["y"], eval_set=[(with_categories(holdout), holdout["y"])], verbose=False)
    assert model.best_iteration + 1 < model.get_booster().num_boosted_rounds()
    model.save_model(tmp_path / "model.json")
    checks = run_contract(tmp_path, 'model candidate = xgboost("model.json")', "y", BINARY_LINES, train, holdout)
    X = with_categories(holdout)
    assert_matches(checks, binary_oracle(holdout["y"], model.predict(X), model.predict_proba(X)), rel=1e-6)
    loaded = load_model(ModelSource("m", "xgboost", str(tmp_path / "model.json")))
    assert loaded.extra["best_iteration"] == model.best_iteration


def test_xgboost_multiclass_and_regression(tmp_path, churn):
    train, holdout = churn
    X, Xh = with_categories(train), with_categories(holdout)
    codes = {"bronze": 0, "gold": 1, "silver": 2}
    classifier = xgb.XGBClassifier(n_estimators=20, enable_categorical=True).fit(X, train["tier"].map(codes))
    classifier.save_model(tmp_path / "multi.json")
    checks = run_contract(tmp_path, 'model candidate = xgboost("multi.json", classes="bronze,gold,silver")', "tier",
                          MULTICLASS_LINES, train, holdout)
    names = np.array(["bronze", "gold", "silver"])
    assert_matches(checks, multiclass_oracle(holdout["tier"], names[classifier.predict(Xh)],
                                             classifier.predict_proba(Xh), names), rel=1e-6)
    regressor = xgb.XGBRegressor(n_estimators=30, enable_categorical=True).fit(X, train["spend"])
    regressor.save_model(tmp_path / "reg.ubj")
    checks = run_contract(tmp_path, 'model candidate = xgboost("reg.ubj")', "spend", REGRESSION_LINES, train, holdout)
    assert_matches(checks, regression_oracle(holdout["spend"], regressor.predict(Xh)), rel=1e-6)


def test_xgboost_importance_in_extra(tmp_path, churn):
    train, _ = churn
    model = xgb.XGBClassifier(n_estimators=10, enable_categorical=True).fit(with_categories(train), train["y"])
    model.save_model(tmp_path / "model.json")
    loaded = load_model(ModelSource("m", "xgboost", str(tmp_path / "model.json")))
    gain = model.get_booster().get_score(importance_type="gain")
    assert loaded.extra["feature_importance"]["gain"] == pytest.approx({f: gain.get(f, 0.0) for f in FEATURES})
    assert loaded.extra["categorical_features"] == ["plan"] and loaded.extra["objective"] == "binary:logistic"


def test_xgboost_softmax_gives_labels_only(tmp_path, churn):
    train, holdout = churn
    booster = xgb.train({"objective": "multi:softmax", "num_class": 3}, xgb.DMatrix(train[["age", "income"]],
                        train["tier"].map({"bronze": 0, "gold": 1, "silver": 2})), 10)
    booster.save_model(tmp_path / "model.json")
    checks = run_contract(tmp_path, 'model candidate = xgboost("model.json", classes="bronze,gold,silver")', "tier",
                          MULTICLASS_LINES, train[["age", "income", "tier"]], holdout[["age", "income", "tier"]])
    from sklearn.metrics import accuracy_score

    labels = np.array(["bronze", "gold", "silver"])[booster.predict(xgb.DMatrix(holdout[["age", "income"]])).astype(int)]
    assert checks["accuracy"].value == pytest.approx(accuracy_score(holdout["tier"], labels))
    assert checks["logloss"].status == "error" and "multi:softmax, which predicts class labels only" in \
        checks["logloss"].message


# ---- CatBoost ------------------------------------------------------------------------------------------
def test_catboost_binary_with_text_labels_and_a_categorical_feature(tmp_path, churn):
    train, holdout = churn
    model = catboost.CatBoostClassifier(iterations=40, verbose=0, allow_writing_files=False, cat_features=["plan"], random_seed=0)
    model.fit(train[FEATURES], train["churned"])
    model.save_model(str(tmp_path / "model.cbm"))
    # text labels: auc and brier need the positive class named
    lines = BINARY_LINES.replace("auc on holdout >= 0", "auc on holdout >= 0 positive yes") \
        .replace("brier on holdout >= 0", "brier on holdout >= 0 positive yes")
    checks = run_contract(tmp_path, 'model candidate = catboost("model.cbm")', "churned", lines, train, holdout)
    X = holdout[FEATURES]
    proba = model.predict_proba(X)
    assert list(model.classes_) == ["no", "yes"]
    from sklearn import metrics as skm

    expected = {"accuracy": skm.accuracy_score(holdout["churned"], model.predict(X)),
                "auc": skm.roc_auc_score(holdout["churned"] == "yes", proba[:, 1]),
                "logloss": skm.log_loss(holdout["churned"], proba, labels=["no", "yes"]),
                "brier": skm.brier_score_loss(holdout["churned"] == "yes", proba[:, 1])}
    assert_matches(checks, expected)


def test_catboost_multiclass_and_regression(tmp_path, churn):
    train, holdout = churn
    X = holdout[FEATURES]
    classifier = catboost.CatBoostClassifier(iterations=30, verbose=0, allow_writing_files=False, cat_features=["plan"], random_seed=0,
                                             loss_function="MultiClass").fit(train[FEATURES], train["tier"])
    classifier.save_model(str(tmp_path / "multi.cbm"))
    checks = run_contract(tmp_path, 'model candidate = catboost("multi.cbm")', "tier", MULTICLASS_LINES, train, holdout)
    assert_matches(checks, multiclass_oracle(holdout["tier"], classifier.predict(X).ravel(), classifier.predict_proba(X),
                                             classifier.classes_))
    regressor = catboost.CatBoostRegressor(iterations=40, verbose=0, allow_writing_files=False, cat_features=["plan"], random_seed=0)
    regressor.fit(train[FEATURES], train["spend"])
    regressor.save_model(str(tmp_path / "reg.cbm"))
    checks = run_contract(tmp_path, 'model candidate = catboost("reg.cbm")', "spend", REGRESSION_LINES, train, holdout)
    assert_matches(checks, regression_oracle(holdout["spend"], regressor.predict(X)))
    loaded = load_model(ModelSource("m", "catboost", str(tmp_path / "reg.cbm")))
    expected = dict(zip(regressor.feature_names_, regressor.get_feature_importance()))
    assert loaded.extra["feature_importance"]["prediction_values_change"] == pytest.approx(expected)


def test_catboost_null_categories_are_fed_as_nan_text(tmp_path, churn):
    train, holdout = churn
    train, holdout = train.copy(), holdout.copy()
    train.loc[train.index[::7], "plan"] = None
    holdout.loc[holdout.index[::5], "plan"] = None
    model = catboost.CatBoostClassifier(iterations=30, verbose=0, allow_writing_files=False, cat_features=["plan"], random_seed=0)
    model.fit(train[FEATURES].fillna({"plan": "nan"}), train["y"])
    model.save_model(str(tmp_path / "model.cbm"))
    checks = run_contract(tmp_path, 'model candidate = catboost("model.cbm")', "y", BINARY_LINES, train, holdout)
    X = holdout[FEATURES].fillna({"plan": "nan"})
    assert_matches(checks, binary_oracle(holdout["y"], model.predict(X), model.predict_proba(X)))


# ---- recognising what a file is -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_files(tmp_path_factory, churn):
    """A folder with one small model of each format (made once for this module's tests)."""
    folder = tmp_path_factory.mktemp("formats")
    train, _ = churn
    X = with_categories(train)
    lgb.LGBMClassifier(n_estimators=3, verbose=-1).fit(X, train["y"]).booster_.save_model(folder / "m.txt")
    boosted = xgb.XGBClassifier(n_estimators=3, enable_categorical=True).fit(X, train["y"])
    boosted.save_model(folder / "m.json")
    boosted.save_model(folder / "m.ubj")
    catboost.CatBoostClassifier(iterations=3, verbose=0, allow_writing_files=False).fit(train[["age", "income"]], train["y"]) \
        .save_model(str(folder / "m.cbm"))
    from sklearn.linear_model import LogisticRegression

    linear = LogisticRegression().fit(train[["income"]], train["y"])
    from skl2onnx import to_onnx

    (folder / "m.onnx").write_bytes(to_onnx(linear, train[["income"]].to_numpy()[:1], target_opset=17)
                                   .SerializeToString())
    import skops.io as sio

    sio.dump(linear, folder / "m.skops")
    mlflow_folder = folder / "mlflow-model"
    mlflow_folder.mkdir()
    (mlflow_folder / "MLmodel").write_text("flavors:\n  sklearn: {pickled_model: model.pkl}\n")
    joblib.dump(linear, folder / "m.joblib")
    return folder


@pytest.mark.parametrize("file, looks_like, kind", [
    ("m.json", "an XGBoost JSON model", "xgboost"),
    ("m.ubj", "an XGBoost UBJSON model", "xgboost"),
    ("m.txt", "a LightGBM text model", "lightgbm"),
    ("m.cbm", "a CatBoost model", "catboost"),
    ("m.onnx", "an ONNX model", "onnx"),
    ("m.skops", "a skops model", "skops"),
    ("mlflow-model", "an MLflow model folder", "mlflow"),
])
def test_sklearn_recognises_other_formats_without_unpickling(model_files, churn, file, looks_like, kind):
    train, holdout = churn
    checks = run_contract(model_files, f'model candidate = sklearn("{file}")', "y", BINARY_LINES, train, holdout)
    for check in checks.values():  # no --allow-pickle: recognised before any consent is asked
        assert check.status == "error"
        assert f"this looks like {looks_like}" in check.message and f"declare it as {kind}(...)" in check.message
        assert "--allow-pickle" not in check.message


def test_a_real_pickle_still_asks_for_consent(model_files, churn):
    train, holdout = churn
    checks = run_contract(model_files, 'model candidate = sklearn("m.joblib")', "y", BINARY_LINES, train, holdout)
    assert all(c.status == "error" and "--allow-pickle" in c.message for c in checks.values())


@pytest.mark.parametrize("declaration, message", [
    ('lightgbm("m.json")', "is not a LightGBM text model file: this looks like an XGBoost JSON model"),
    ('xgboost("m.txt")', "this looks like a LightGBM text model; declare it as lightgbm(...)"),
    ('catboost("m.ubj")', "this looks like an XGBoost UBJSON model"),
    ('xgboost("m.joblib")', "is not an XGBoost JSON or UBJSON model"),
    ('catboost("m.joblib")', "is not a CatBoost binary model"),
    ('lightgbm("m.joblib")', "is not a LightGBM text model"),
    ('lightgbm("missing.txt")', "file not found"),
    ('lightgbm("m.txt", classes="a,b,c")', "classes= names 3 classes, but the booster has 2"),
    ('xgboost("m.json", classes="no,no")', "classes= must list distinct, non-empty labels"),
    ('onnx("m.json")', "this looks like an XGBoost JSON model; declare it as xgboost(...)"),
])
def test_booster_files_that_are_not_what_they_are_declared_as(model_files, churn, declaration, message):
    train, holdout = churn
    checks = run_contract(model_files, f"model candidate = {declaration}", "y", BINARY_LINES, train, holdout)
    for check in checks.values():
        assert check.status == "error" and message in check.message, check.message


def test_classes_option_on_a_regressor_is_an_error(tmp_path, churn):
    train, holdout = churn
    lgb.LGBMRegressor(n_estimators=5, verbose=-1).fit(with_categories(train), train["spend"]).booster_ \
        .save_model(tmp_path / "reg.txt")
    checks = run_contract(tmp_path, 'model candidate = lightgbm("reg.txt", classes="a,b")', "spend",
                          REGRESSION_LINES, train, holdout)
    assert all(c.status == "error" and "classes= is for classifiers" in c.message for c in checks.values())


@pytest.mark.parametrize("declaration, message", [
    ('lightgbm("m.txt", trusted="x")', "unknown option `trusted` for `lightgbm(...)`"),
    ('xgboost("m.json", classes=2)', "`classes=` takes a comma-separated string of the class labels"),
    ('catboost("m.cbm", classes="a,b")', "`catboost(...)` takes no options"),
    ('sklearn("models:/churn/3")', "`models:/churn/3` is an MLflow model URI, not a file"),
    ('xgboost()', 'e.g. xgboost("models/model.json")'),
])
def test_booster_declarations_are_checked_when_compiling(tmp_path, declaration, message):
    with pytest.raises(ContractError) as raised:
        mlcontract.compile(f"model candidate = {declaration}\nlabel y\naccuracy on holdout >= 0\n", base_dir=tmp_path,
                           datasets={"holdout": __import__("pandas").DataFrame({"y": [0, 1]})})
    assert message in raised.value.render()
