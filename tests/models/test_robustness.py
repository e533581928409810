"""Robustness cases: what each case generates (deterministically), how answers are judged, and
real scikit-learn pipelines through the API and the CLI."""
from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest

import mlcontract
from mlcontract.models import robustness as rb

from conftest import run_json
from servers import churn

HEADER = "label churned\nignore customer_id\n"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return churn.frame(400, 1)


@pytest.fixture(scope="module")
def features(data) -> pd.DataFrame:
    return data[churn.FEATURES]


@pytest.fixture(scope="module")
def base(features) -> pd.DataFrame:
    return rb.base_rows(features, 20, seed=0)


# ---- base rows and case synthesis ---------------------------------------------------------------------
def test_base_rows_are_seeded_complete_real_rows(features):
    first, again, other = (rb.base_rows(features, 20, s) for s in (0, 0, 1))
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    assert len(first) == 20 and not first.isna().any().any()
    merged = first.merge(features.drop_duplicates(), how="left", indicator=True)
    assert (merged["_merge"] == "both").all()  # every base row is a real row


def test_base_rows_fall_back_to_incomplete_rows(features):
    mostly_missing = features.copy()
    mostly_missing.loc[mostly_missing.index[5:], "age"] = np.nan
    assert len(rb.base_rows(mostly_missing, 20, 0)) == 20


def test_nulls_numeric_and_text(base, features):
    numeric = rb.synthesize("nulls", "age", base, features["age"])
    assert [v.name for v in numeric] == ["NaN", "None (an object column, as JSON null arrives)"]
    assert numeric[0].frame["age"].dtype == np.float64 and numeric[0].frame["age"].isna().all()
    assert numeric[1].frame["age"].dtype == object and all(v is None for v in numeric[1].frame["age"])
    text = rb.synthesize("nulls", "plan", base, features["plan"])
    assert [v.name for v in text] == ["None", "NaN"]
    assert all(v is None for v in text[0].frame["plan"])
    # only the selected feature changes
    for variant in numeric + text:
        other = [c for c in base.columns if c not in ("age", "plan")]
        pd.testing.assert_frame_equal(variant.frame[other], base[other])


def test_unseen_categories_never_occur_in_the_reference(base, features):
    [variant] = rb.synthesize("unseen categories", "plan", base, features["plan"])
    values = set(variant.frame["plan"])
    assert values and not values & set(features["plan"])
    assert all(v.startswith(rb.UNSEEN_PREFIX) for v in values)
    sneaky = pd.Series(["mlc-unseen-0", "basic"])
    assert "mlc-unseen-0" not in rb.synthesize("unseen categories", "plan", base, sneaky)[0].frame["plan"].tolist()


def test_out_of_range_values(base, features):
    [variant] = rb.synthesize("out_of_range", "income", base, features["income"])
    low, high = features["income"].min(), features["income"].max()
    values = variant.frame["income"].tolist()
    assert all(not (low <= v <= high) for v in values)
    assert {1e12, -1e12} <= set(values)
    assert high + (high - low) in values and low - (high - low) in values
    assert 0.0 in values and -high in values  # income is positive: zero and negatives are out of range
    assert rb.out_of_range_values(pd.Series([-5.0, 5.0])) == [15.0, -15.0, 1e12, -1e12]
    [ints] = rb.synthesize("out_of_range", "tenure", base, features["tenure"])
    assert ints.frame["tenure"].dtype == np.int64
    with pytest.raises(ValueError, match="no finite values"):
        rb.out_of_range_values(pd.Series([np.nan, np.inf]))


def test_empty_strings_and_long_text(base, features):
    [empty] = rb.synthesize("empty strings", "plan", base, features["plan"])
    assert set(empty.frame["plan"]) == {"", " "}
    [long] = rb.synthesize("long text", "country", base, features["country"], seed=3)
    lengths = sorted({len(v) for v in long.frame["country"]})
    assert lengths == list(rb.LONG_TEXT_LENGTHS)
    again = rb.synthesize("long text", "country", base, features["country"], seed=3)[0]
    assert again.frame["country"].tolist() == long.frame["country"].tolist()
    other = rb.synthesize("long text", "country", base, features["country"], seed=4)[0]
    assert other.frame["country"].tolist() != long.frame["country"].tolist()


def test_type_drift(base, features):
    floats = rb.synthesize("type drift", "age", base, features["age"])
    assert [v.name for v in floats] == ["numbers as text", "whole numbers as integers"]
    assert all(isinstance(v, str) for v in floats[0].frame["age"])
    assert floats[1].frame["age"].dtype == np.int64
    ints = rb.synthesize("type drift", "tenure", base, features["tenure"])
    assert [v.name for v in ints] == ["integers as text", "integers as floats"]
    assert ints[0].frame["tenure"].tolist() == [str(v) for v in base["tenure"]]
    assert ints[1].frame["tenure"].dtype == np.float64
    text = rb.synthesize("type drift", "plan", base, features["plan"])
    assert "text as a categorical dtype" in [v.name for v in text]
    bools = pd.DataFrame({"flag": [True, False, True]})
    assert [v.frame["flag"].tolist() for v in rb.synthesize("type drift", "flag", bools, bools["flag"])] == [
        ["true", "false", "true"], [1, 0, 1]]


# ---- judging answers ---------------------------------------------------------------------------------
CLASSIFIER = rb.Expectation("number", [0, 1], 2)


@pytest.mark.parametrize("labels, probabilities, expected", [
    ([0, 1], [[0.3, 0.7], [1.0, 0.0]], None),
    ([0], [[0.3, 0.7]], "returned 1 prediction for 2 rows"),
    ([0, np.nan], [[0.3, 0.7], [0.5, 0.5]], "predicted NaN"),
    ([0, 2], [[0.3, 0.7], [0.5, 0.5]], "not one of its classes [0, 1]"),
    ([0, "1"], [[0.3, 0.7], [0.5, 0.5]], "not one of its classes"),
    ([0, 1], [[0.3, 0.7], [0.5, 0.6]], "sum to 1.1"),
    ([0, 1], [[0.3, 0.7], [1.5, -0.5]], "outside [0, 1]"),
    ([0, 1], [[0.3, 0.7], [np.nan, 0.5]], "non-finite probabilities"),
    ([0, 1], [[0.3, 0.7, 0.0], [0.5, 0.5, 0.0]], "3 probabilities per row instead of 2"),
    ([0, 1], None, "no probabilities"),
])
def test_answer_problems(labels, probabilities, expected):
    problem = rb.answer_problem(np.asarray(labels, dtype=object if "1" in labels else None), probabilities, 2,
                                CLASSIFIER)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem[0]


def test_regressor_answers():
    expect = rb.Expectation("number", None, None)
    assert rb.answer_problem(np.array([1.5, 2.0]), None, 2, expect) is None
    assert rb.answer_problem(np.array([1.5, np.inf]), None, 2, expect)[0] == "predicted inf"
    assert "text" in rb.answer_problem(np.array(["a", "b"]), None, 2, expect)[0]


def test_row_json_is_plain_json_with_long_text_shortened():
    frame = pd.DataFrame({"age": [np.nan], "plan": ["x" * 100_000], "n": [np.int64(3)]})
    row = rb.row_json(frame, 0)
    assert row["age"] is None and row["n"] == 3
    assert row["plan"].endswith("(100,000 characters)") and len(row["plan"]) < 200
    json.dumps(row, allow_nan=False)


# ---- real scikit-learn pipelines through the API ------------------------------------------------------
def run_api(text: str, data: pd.DataFrame, model):
    return mlcontract.compile(HEADER + text, datasets={"training": data}, models={"m": model}).run()


@pytest.mark.slow
def test_onehot_error_fails_unseen_categories(data):
    model = churn.fit(churn.onehot_pipeline("error"), data)
    result = run_api("handles unseen categories in plan, country\n", data, model)
    assert [c.status for c in result.checks] == ["fail", "fail"]
    check = result.checks[0]
    assert check.feature == "plan" and check.statistic == "handles unseen categories"
    assert check.details["exception"] == "ValueError"
    assert "unknown categories" in check.details["error"]
    assert check.details["row"]["plan"].startswith(rb.UNSEEN_PREFIX)
    assert set(check.details["row"]) == set(churn.FEATURES)
    json.dumps(check.details["row"], allow_nan=False)
    assert check.details["mode"] == "alone" and check.details["failed_calls"] == check.details["calls"] == 21
    assert check.message.startswith("unseen categories in `plan`, sent alone: model `m` raised ValueError: ")
    assert not result.passed


@pytest.mark.slow
def test_onehot_ignore_passes_unseen_categories(data):
    model = churn.fit(churn.onehot_pipeline("ignore"), data)
    result = run_api("handles unseen categories in plan, country\n", data, model)
    assert [c.status for c in result.checks] == ["pass", "pass"], [c.message for c in result.checks]
    assert result.checks[0].details["calls"] == 21 and result.checks[0].value == 0


@pytest.mark.slow
def test_logistic_regression_without_imputer_fails_nulls(data):
    model = churn.fit(churn.no_imputer_pipeline(), data.dropna())
    result = run_api("handles nulls in age\n", data, model)
    check = result.checks[0]
    assert check.status == "fail"
    assert check.details["exception"] == "ValueError" and "NaN" in check.details["error"]
    assert check.details["row"]["age"] is None
    assert check.details["variant"] == "NaN"


@pytest.mark.slow
def test_hist_gradient_boosting_passes_nulls(data):
    model = churn.fit(churn.hgb_pipeline(), data)
    result = run_api("handles nulls in age, income, plan\n", data, model)
    assert [c.status for c in result.checks] == ["pass"] * 3, [c.message for c in result.checks]


@pytest.mark.slow
def test_every_case_on_a_lenient_pipeline(data):
    model = churn.fit(churn.hgb_pipeline(), data)
    result = run_api(
        "handles out_of_range in age, tenure\nhandles empty strings in plan\nhandles long text in country\n"
        "handles type drift in tenure\nhandles nulls in * seed 7 rows 5\n", data, model)
    assert all(c.status == "pass" for c in result.checks), [c.message for c in result.checks if c.status != "pass"]
    assert len(result.checks) == 2 + 1 + 1 + 1 + 5
    seeded = result.checks[-1]
    assert seeded.details["seed"] == 7 and seeded.details["rows"] == 10  # 5 rows × 2 variants


def fragile(limit: int):
    """A callable model that breaks on long text, huge numbers and text where numbers belong."""
    def predict(X):
        for value in X["plan"]:
            if isinstance(value, str) and len(value) > limit:
                raise OverflowError(f"text of {len(value)} characters")
        numbers = pd.to_numeric(X["income"], errors="raise")
        if (numbers.abs() > 1e9).any():
            return np.full(len(X), np.nan)
        return np.zeros(len(X))
    return predict


def test_failures_of_a_fragile_callable(data):
    result = run_api("handles long text in plan\nhandles out_of_range in income\nhandles type drift in income\n",
                     data, fragile(1000))
    long, extreme, drift = result.checks
    assert long.status == "fail" and long.details["exception"] == "OverflowError"
    assert long.details["row"]["plan"].endswith("(10,000 characters)")
    assert long.details["mode"] == "alone"
    assert extreme.status == "fail" and extreme.details["exception"] is None
    assert extreme.details["error"] == "predicted NaN" and abs(extreme.details["row"]["income"]) >= 1e12
    assert drift.status == "pass"  # pandas parses numbers sent as text


def test_a_batch_only_failure_is_reported_with_a_row(data):
    def batch_hater(X):  # loses a prediction in batches that hold a null
        if len(X) > 1 and X["age"].isna().any():
            return np.zeros(len(X) - 1)
        return np.zeros(len(X))

    check = run_api("handles nulls in age\n", data, batch_hater).checks[0]
    assert check.status == "fail" and check.details["mode"] == "batch"
    assert check.details["error"].startswith("returned 19 predictions for 20 rows")
    assert "sent in a batch of 20 rows" in check.message and check.details["row"]["age"] is None


def test_a_model_that_fails_on_unmodified_rows_is_an_error(data):
    def broken(X):
        raise RuntimeError("cannot load weights")

    check = run_api("handles nulls in age\n", data, broken).checks[0]
    assert check.status == "error"
    assert "cannot serve unmodified rows of `training`" in check.message and "cannot load weights" in check.message


def test_rows_from_a_file(tmp_path, data):
    strict = churn.fit(churn.onehot_pipeline("error"), data)
    edge = data[churn.FEATURES].head(3).copy()
    edge.loc[1, "country"] = "JP"
    edge[["country", "plan", "age", "income", "tenure"]].to_parquet(tmp_path / "edge.parquet")  # column order differs
    ok_rows = data.head(4)
    ok_rows.to_json(tmp_path / "ok.ndjson", orient="records", lines=True)
    text = 'handles rows from "edge.parquet"\nhandles rows from "ok.ndjson"\nhandles rows from "missing.parquet"\n'
    contract = mlcontract.compile(HEADER + text, datasets={"training": data}, models={"m": strict}, base_dir=tmp_path)
    edge_check, ok_check, missing = contract.run().checks
    assert edge_check.status == "fail" and edge_check.details["row"]["country"] == "JP"
    assert edge_check.message.startswith("the rows of edge.parquet, sent alone: model `m` raised ValueError")
    assert ok_check.status == "pass", ok_check.message
    assert missing.status == "error" and "not found" in missing.message
    pd.DataFrame({"age": [1.0]}).to_parquet(tmp_path / "edge.parquet")
    lacking = mlcontract.compile(HEADER + 'handles rows from "edge.parquet"\n', datasets={"training": data},
                                 models={"m": strict}, base_dir=tmp_path).run().checks[0]
    assert lacking.status == "error" and "lacks feature columns" in lacking.message


def test_the_plan_shows_robustness_requests(data):
    contract = mlcontract.compile(HEADER + "handles nulls in age seed 3\n", datasets={"training": data},
                                  models={"m": churn.onehot_pipeline()})
    assert "robustness(m: nulls in age; 20 base rows of training, seed 3)" in contract.explain()


# ---- through the CLI, with joblib files ---------------------------------------------------------------
@pytest.mark.slow
def test_cli_with_joblib_pipelines(tmp_path, data):
    data.to_parquet(tmp_path / "train.parquet")
    joblib.dump(churn.fit(churn.onehot_pipeline("error"), data), tmp_path / "strict.joblib")
    joblib.dump(churn.fit(churn.onehot_pipeline("ignore"), data), tmp_path / "lenient.joblib")
    joblib.dump(churn.fit(churn.no_imputer_pipeline(), data.dropna()), tmp_path / "raw.joblib")
    joblib.dump(churn.fit(churn.hgb_pipeline(), data), tmp_path / "hgb.joblib")
    contract = tmp_path / "robust.mlc"
    contract.write_text(
        'dataset training = parquet("train.parquet")\n'
        'model strict = sklearn("strict.joblib")\nmodel lenient = sklearn("lenient.joblib")\n'
        'model raw = sklearn("raw.joblib")\nmodel hgb = sklearn("hgb.joblib")\n' + HEADER +
        "strict handles unseen categories in plan\nlenient handles unseen categories in plan\n"
        "raw handles nulls in age\nhgb handles nulls in age\n")
    code, document, done = run_json(contract, tmp_path, "--allow-pickle")
    assert code == 1, done.stdout + done.stderr
    statuses = {(c["subject"], c["statistic"]): c["status"] for c in document["checks"]}
    assert statuses == {("strict", "handles unseen categories"): "fail", ("lenient", "handles unseen categories"): "pass",
                        ("raw", "handles nulls"): "fail", ("hgb", "handles nulls"): "pass"}
    strict = document["checks"][0]
    assert strict["details"]["exception"] == "ValueError" and strict["details"]["row"]["plan"].startswith("mlc-unseen")
    assert "unseen categories in `plan`, sent alone: model `strict` raised ValueError" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


# ---- one set of rules for every model output (issue 9) ----------------------------------------------
def test_answers_are_judged_by_the_rules_of_every_model_output(data):
    from mlcontract.models import loaded as models

    expect = rb.Expectation("number", [0, 1], 2)
    nudged = [[0.5, 0.5 + 0.9 * models.PROBABILITY_TOLERANCE]] * 2
    assert rb.answer_problem(np.array([0, 1]), nudged, 2, expect) is None
    assert models.probability_problem(nudged, 2) is None
    over = [[0.5, 0.5 + 3 * models.PROBABILITY_TOLERANCE]] * 2
    assert rb.answer_problem(np.array([0, 1]), over, 2, expect)[0] == models.probability_problem(over, 2)[0]
    assert rb.answer_problem(np.array([0, 5]), None, 2, expect) == models.label_problem([0, 5], 2, [0, 1])

    def proba(X):  # NaN probabilities exactly where age is null
        p = np.tile([0.4, 0.6], (len(X), 1))
        p[pd.isna(X["age"]).to_numpy()] = np.nan
        return p

    model = {"predict": lambda X: np.zeros(len(X), dtype=np.int64), "predict_proba": proba, "classes": [0, 1]}
    check = run_api("handles nulls in age\n", data, model).checks[0]
    assert check.status == "fail" and check.details["exception"] is None
    assert check.details["error"] == "returned non-finite probabilities [NaN, NaN]" and check.details["row"]["age"] is None
