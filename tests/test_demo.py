"""The bundled examples (issue 16): contracts/demo.mlc shows the whole gate passing with one
`warn`; contracts/rejected.mlc shows a candidate stopped for one reason of each kind; the
bundled data and skops models are what contracts/data/make_demo_data.py builds. Also: observed
values that say what they are (schema, between, trends)."""
from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest

import mlcontract

from conftest import ROOT, run_json

CONTRACTS = ROOT / "contracts"
KINDS = {"data", "model", "curve", "robustness", "latency"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    code, document, done = run_json(CONTRACTS / "demo.mlc", tmp_path_factory.mktemp("demo"))
    return code, document, done


@pytest.fixture(scope="module")
def rejected(tmp_path_factory):
    code, document, done = run_json(CONTRACTS / "rejected.mlc", tmp_path_factory.mktemp("rejected"))
    return code, document, done


def test_the_demo_passes_with_exactly_one_instructive_warn(demo):
    code, document, done = demo
    assert code == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    warned = [c for c in document["checks"] if c["status"] == "warn"]
    assert [c["source"] for c in warned] == ["warn feature plan unseen_rate <= 0.1% vs production"]
    assert warned[0]["value"] == pytest.approx(0.004)  # production sends "enterprise": training never saw it
    assert document["counts"]["fail"] == document["counts"]["error"] == 0


def test_the_demo_exercises_every_part_of_the_gate(demo):
    _, document, _ = demo
    checks = document["checks"]
    assert {c["kind"] for c in checks} == KINDS
    statistics = {c["statistic"] for c in checks}
    # data drift and quality; metrics vs a threshold, a baseline, prod; cross-validation; curves
    assert {"rows", "schema", "psi", "null_rate", "between", "unseen_rate", "auc", "logloss", "cv auc",
            "cv auc std"} <= statistics
    sources = {c["source"] for c in checks}
    assert "auc on holdout >= prod - 0.01" in sources and "logloss on holdout < baseline prior" in sources
    assert "p95 latency <= prod * 1.1 with 100 calls" in sources
    assert any(c["kind"] == "curve" and c["statistic"] == "not increasing" and c["feature"] == "val_loss"
               for c in checks)
    assert {c["feature"] for c in checks if c["kind"] == "robustness"} == {"age", "plan", "country"}
    latency = next(c for c in checks if c["kind"] == "latency")
    assert latency["details"]["ratio"]["prod"] < 1.1


def test_the_demo_models_load_without_pickle_consent():
    contract = mlcontract.compile(CONTRACTS / "demo.mlc")  # no allow_pickle: skops files of safe types
    assert contract.checked.grants.pickle is False
    result = contract.run(datasets=None)  # the model lines would be errors if loading needed consent
    assert not [c.message for c in result.checks if c.status == "error"]


EXPECTED_REJECTIONS = {
    ("psi", "income"): "drifted feature: the export wrote income in thousands",
    ("auc", None): "worse than prod",
    ("not increasing", "val_error"): "overfit: the validation error rose",
    ("handles unseen categories", "plan"): "crashes on an unseen category",
    ("handles unseen categories", "country"): "crashes on an unseen category",
    ("p95 latency", None): "slower than prod",
}


def test_the_rejected_candidate_fails_for_one_reason_of_each_kind(rejected):
    code, document, done = rejected
    assert code == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    failed = {(c["statistic"], c["feature"]): c for c in document["checks"] if c["status"] != "pass"}
    assert set(failed) == set(EXPECTED_REJECTIONS), sorted(failed)
    assert all(c["status"] == "fail" for c in failed.values()), [c["message"] for c in failed.values()]
    assert {c["kind"] for c in failed.values()} == KINDS  # one reason of each kind
    assert failed[("p95 latency", None)]["details"]["ratio"]["prod"] > 1.5  # robustly slower, not noise
    assert "ValueError" in failed[("handles unseen categories", "plan")]["message"]
    assert "rose to" in failed[("not increasing", "val_error")]["message"]
    # the drift line passes for the features the export did not break
    assert {c["feature"] for c in document["checks"] if c["statistic"] == "psi" and c["status"] == "pass"} == \
        {"age", "tenure"}


def test_the_builder_reproduces_the_bundled_files(tmp_path):
    """make_demo_data.py --out DIR rebuilds the same data, training runs and models (compared by
    content: a skops file is a zip whose timestamps differ)."""
    done = subprocess.run([sys.executable, str(CONTRACTS / "data" / "make_demo_data.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    for name in ("train", "holdout", "production", "train_export"):
        bundled = pl.read_parquet(CONTRACTS / "data" / f"{name}.parquet")
        assert bundled.equals(pl.read_parquet(tmp_path / "data" / f"{name}.parquet")), name
    for name in ("history", "rejected_history"):
        assert (tmp_path / "runs" / f"{name}.csv").read_text() == (CONTRACTS / "runs" / f"{name}.csv").read_text()
    import numpy as np
    import skops.io as sio

    features = pl.read_parquet(CONTRACTS / "data" / "holdout.parquet").drop("customer_id", "churned").to_pandas()
    for name in ("candidate", "prod", "rejected"):
        models = []
        for folder in (CONTRACTS, tmp_path):
            path = folder / "models" / f"{name}.skops"
            models.append(sio.load(path, trusted=sio.get_untrusted_types(file=path)))
        np.testing.assert_array_equal(models[0].predict_proba(features), models[1].predict_proba(features))


# ---- observed values that say what they are (issue 16, "a report that explains itself") ----------
def _run(text: str, **datasets):
    return mlcontract.compile(text, datasets=datasets).run()


def test_schema_counts_mismatching_columns_and_names_them():
    training = pl.DataFrame({"a": [1.0], "b": [2.0], "d": [1.0], "e": ["x"]})
    production = pl.DataFrame({"c": [1.0], "d": ["text"], "e": ["y"]})
    check = _run("schema of training matches production\n", training=training, production=production).checks[0]
    # a and b missing in production, c missing in training, d retyped: 4 columns (3 problems)
    assert check.status == "fail" and check.value == 4
    assert check.message.startswith("4 mismatching columns: ")
    assert check.details["mismatching_columns"] == ["c", "a", "b", "d"]
    assert check.details["observed"] == "number of mismatching columns"
    same = _run("schema of training matches production\n", training=training, production=training).checks[0]
    assert same.status == "pass" and same.value == 0
    assert same.message == "0 mismatching columns: 4 feature columns with compatible types"


def test_between_gives_the_count_and_share_outside():
    frame = pl.DataFrame({"x": [1.0, 5.0, 12.0, None, 3.0]})
    check = _run("feature x between 0 and 10\n", t=frame).checks[0]
    assert check.status == "fail" and check.value == pytest.approx(0.25)
    assert check.message == "1 of 4 values outside [0, 10] (min 1, max 12): 25% of the non-null values"
    assert check.details == {"observed": "share of non-null values outside [0, 10]", "outside": 1, "values": 4,
                             "share_outside": 0.25}
    inside = _run("feature x between 0 and 20\n", t=frame).checks[0]
    assert inside.status == "pass" and inside.value == 0
    assert inside.message == "all 4 non-null values in [0, 20]: 0 outside (0%)"
    assert inside.details["outside"] == 0 and inside.details["share_outside"] == 0


def test_a_passing_trend_says_its_value_is_the_largest_rise_and_where():
    history = pl.DataFrame({"epoch": [1, 2, 3], "val_loss": [1.0, 0.8, 0.7]})
    check = mlcontract.compile("val_loss not increasing\n", histories={"run": history}).run().checks[0]
    assert check.status == "pass" and check.value == pytest.approx(-0.1)
    assert "largest rise -0.1 at epoch 3: every epoch fell below the lowest before it, by at least 0.1" \
        in check.message
    assert check.details["observed"].startswith("largest rise above the lowest earlier value")
    flat = mlcontract.compile("val_loss not increasing\n",
                              histories={"run": pl.DataFrame({"val_loss": [1.0, 1.0]})}).run().checks[0]
    assert "largest rise 0 at epoch 2: no change" in flat.message
    accuracy = mlcontract.compile("acc not decreasing\n",
                                  histories={"run": pl.DataFrame({"acc": [0.5, 0.7, 0.8]})}).run().checks[0]
    assert "largest fall -0.1 at epoch 3" in accuracy.message
