"""Robustness cases a serving path really meets (issue 14): the null variants a serving layer
produces (`handles nulls as nan, none, missing key`) with real pipelines that take one form of a
null and not another, in process and over HTTP."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

import mlcontract
from mlcontract.errors import ContractError
from mlcontract.models import robustness as rb

from servers import churn

HEADER = "label churned\nignore customer_id\n"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return churn.frame(300, 11)


def _lower_plan(frame):
    """Preprocessing written for JSON: a null arrives as None; a NaN has no `.lower()`."""
    return frame.apply(lambda column: column.map(lambda v: "unknown" if v is None else v.lower()))


def _pipeline(numbers, text=None, first=None):
    steps = ColumnTransformer([
        ("num", numbers, churn.NUMERIC),
        ("cat", make_pipeline(*(text or ()), OneHotEncoder(handle_unknown="ignore")), churn.CATEGORICAL),
    ])
    return churn.fit(make_pipeline(*(first or ()), steps, LogisticRegression(max_iter=1000)), _DATA)


_DATA = churn.frame(300, 11)


@pytest.fixture(scope="module")
def models():
    def imputed():
        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler())

    return {
        # np.log1p takes a NaN (the imputer then fills it) but raises on None in an object column
        "log_first": _pipeline(make_pipeline(FunctionTransformer(np.log1p), SimpleImputer(strategy="median"),
                                             StandardScaler())),
        # takes None in `plan` (as JSON null arrives) but not NaN
        "none_only": _pipeline(imputed(), [FunctionTransformer(_lower_plan)]),
        # puts back absent columns (as NaN) before the ColumnTransformer: a missing key is a null to it
        "reindexed": _pipeline(imputed(), first=[FunctionTransformer(lambda X: X.reindex(columns=churn.FEATURES))]),
    }


def _run(text: str, data, models) -> list:
    return mlcontract.compile(HEADER + text, datasets={"training": data}, models=models).run().checks


def test_a_pipeline_that_takes_nan_but_not_none(data, models):
    nan, none, both = _run("log_first handles nulls as nan in age rows 5\n"
                           "log_first handles nulls as none in age rows 5\n"
                           "log_first handles nulls in age rows 5\n", data, models)
    assert nan.status == "pass" and nan.details["variants"] == ["NaN"] and nan.details["calls"] == 6
    assert none.status == "fail" and none.details["variant"].startswith("None")
    assert none.details["exception"] == "TypeError" and none.details["row"]["age"] is None
    assert both.status == "fail" and both.details["variants"] == ["NaN", "None (an object column, as JSON null arrives)"]


def test_a_pipeline_that_takes_none_but_not_nan(data, models):
    none, nan = _run("none_only handles nulls as none in plan rows 5\n"
                     "none_only handles nulls as nan in plan rows 5\n", data, models)
    assert none.status == "pass", none.message
    assert nan.status == "fail" and nan.details["exception"] == "AttributeError"
    assert "NaN in `plan`, sent alone" in nan.message


def test_missing_key_sends_the_rows_without_the_feature(data, models):
    strict, lenient = _run("none_only handles nulls as missing key in age rows 5\n"
                           "reindexed handles nulls as missing key, nan in age rows 5\n", data, models)
    assert strict.status == "fail" and "age" in strict.details["error"] and "missing" in strict.details["error"]
    assert "age" not in strict.details["row"]  # the offending row, as sent: without the key
    assert lenient.status == "pass", lenient.message
    assert lenient.details["variants"] == ["missing key (no such column; HTTP records without the key)", "NaN"]


def test_variants_keep_the_order_written_and_the_default_is_nan_and_none(data):
    base = rb.base_rows(data[churn.FEATURES], 4, 0)
    made = rb.synthesize("nulls", "plan", base, data["plan"], 0, ("missing key", "nan"))
    assert [v.name for v in made] == ["missing key (no such column; HTTP records without the key)", "NaN"]
    assert "plan" not in made[0].frame.columns and list(made[0].frame.columns) == ["age", "income", "tenure", "country"]
    assert made[1].frame["plan"].dtype == object and made[1].frame["plan"].isna().all()
    assert [v.name for v in rb.synthesize("nulls", "age", base, data["age"], 0)] == [
        "NaN", "None (an object column, as JSON null arrives)"]


@pytest.mark.parametrize("line,words", [
    ("handles nulls as null in age", "unknown null variant `null`"),
    ("handles nulls as nan, nan in age", "the variant `nan` is given twice"),
    ("handles unseen categories as nan in plan", "`as` chooses the variants of `handles nulls`, not of "
                                                 "`handles unseen categories`"),
    ("handles nulls as missing in age", "unknown null variant `missing`"),
])
def test_variant_mistakes_are_located_diagnostics(data, models, line, words):
    with pytest.raises(ContractError) as caught:
        mlcontract.compile(HEADER + line + "\n", datasets={"training": data}, models=models)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.message == words and diagnostic.span.line == 3


@pytest.mark.slow
def test_over_http_a_missing_key_is_not_a_null(tmp_path, data):
    """The test server builds `pd.DataFrame.from_records(records)`: a JSON null (`none`, and a NaN,
    which JSON also sends as null) is imputed; a key left out of every record is a missing column."""
    import joblib

    from servers.harness import ModelServer

    joblib.dump(churn.fit(churn.onehot_pipeline("ignore"), data), tmp_path / "lenient.joblib")
    with ModelServer({"lenient": tmp_path / "lenient.joblib"}) as server:
        checks = mlcontract.compile(
            HEADER + f'model served = http("{server.url("lenient/records")}")\n'
            "handles nulls as none, nan in age rows 4\nhandles nulls as missing key in age rows 4\n",
            datasets={"training": data}).run().checks
    nulls, missing = checks
    assert nulls.status == "pass", nulls.message
    assert missing.status == "fail" and "HTTP 500" in missing.details["error"] and "age" not in missing.details["row"]
