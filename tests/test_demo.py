"""The bundled examples (issue 16): contracts/demo.mlc shows the whole gate passing with one
`warn`; contracts/rejected.mlc shows a candidate stopped for one reason of each kind; the
bundled data and skops models are what contracts/data/make_demo_data.py builds. (Observed values
that say what they are: tests/report/test_explanations.py.)"""
from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest

import mlcontract

from conftest import ROOT, run_json

pytestmark = pytest.mark.slow  # each runs the gate's models: cross-validation, robustness, latency

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
        # The same model, up to the last bits of its fit: scikit-learn 1.9.1 refits the bundled
        # candidate with probabilities 2e-16 apart (another release, or BLAS, rounds differently);
        # a model fitted on other data or with other settings differs far beyond this.
        np.testing.assert_allclose(models[0].predict_proba(features), models[1].predict_proba(features),
                                   rtol=1e-9, atol=1e-12)
