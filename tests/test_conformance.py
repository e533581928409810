"""The conformance contract (../shared/spec/churn.mlc) compiles verbatim and every check
passes on its fixture through the CLI; every reported data value matches an independent oracle."""
from __future__ import annotations

import filecmp

import numpy as np
import polars as pl
import pytest
import scipy.stats

from conftest import SHARED, run_json, spec_dir
from oracles import oracle_bins, oracle_category_bins, oracle_chi2, oracle_js, oracle_psi

REL = 1e-9
# Building the conformance fixture (make_fixture.py: data and joblib models) takes a minute or two.
pytestmark = pytest.mark.slow


def test_vendored_spec_is_the_shared_one():
    vendored = SHARED.parent / "main" / "tests" / "spec"
    shared = SHARED / "spec"
    if not shared.exists():
        pytest.skip("../shared is not beside this checkout; the vendored copy is used")
    for name in ("churn.mlc", "make_fixture.py"):
        assert filecmp.cmp(shared / name, spec_dir() / name, shallow=False) or filecmp.cmp(
            shared / name, vendored / name, shallow=False)


@pytest.fixture(scope="module")
def results(conformance, tmp_path_factory):
    # The fixture's models are joblib files: loading them needs the invocation's consent.
    code, document, done = run_json(conformance / "churn.mlc", tmp_path_factory.mktemp("out"), "--allow-pickle")
    assert "Traceback" not in done.stderr
    return code, document, done


def by_line(document, line):
    return [c for c in document["checks"] if c["line"] == line]


def test_every_line_compiles_and_every_check_passes(results, conformance):
    code, document, done = results
    source_lines = (conformance / "churn.mlc").read_text().splitlines()
    check_lines = [i + 1 for i, text in enumerate(source_lines)
                   if text.strip() and not text.startswith("#") and not text.split()[0] in
                   ("contract", "dataset", "model", "history", "label", "ignore")]
    assert sorted({c["line"] for c in document["checks"]}) == check_lines
    problems = [(c["line"], c["source"], c["status"], c["message"]) for c in document["checks"]
                if c["status"] not in ("pass",) and not (c["status"] == "warn")]
    assert not problems, problems
    assert code == 0 and document["passed"], done.stdout


def test_data_values_match_the_oracles(results, conformance):
    _, document, _ = results
    train = pl.read_parquet(conformance / "data" / "train.parquet")
    prod = pl.read_parquet(conformance / "data" / "production.parquet")

    def col(frame, name):
        return frame[name].cast(pl.Float64).fill_null(np.nan).to_numpy()

    def value(source, feature=None):
        matches = [c for c in document["checks"] if c["source"] == source and (feature is None or c["feature"] == feature)]
        assert len(matches) == 1, source
        return matches[0]["value"]

    assert value("training rows >= 1000") == train.height
    assert value("feature age psi < 0.2 vs production") == pytest.approx(
        oracle_psi(*oracle_bins(col(train, "age"), col(prod, "age"))), rel=REL)
    assert value("feature age null_rate <= 5%") == pytest.approx(train["age"].null_count() / train.height, rel=REL)
    assert value("feature age between 18 and 100") == 0.0
    plans_train, plans_prod = set(train["plan"].to_list()), prod["plan"].to_list()
    assert value("feature plan unseen_rate <= 1% vs production") == pytest.approx(
        sum(p not in plans_train for p in plans_prod) / len(plans_prod), rel=REL)
    for feature in ("age", "income", "tenure"):
        assert value("feature numeric psi < 0.25 vs production", feature) == pytest.approx(
            oracle_psi(*oracle_bins(col(train, feature), col(prod, feature))), rel=REL)
    income_t, income_p = col(train, "income"), col(prod, "income")
    assert value("warn feature income ks_pvalue >= 0.001 vs production") == pytest.approx(
        scipy.stats.ks_2samp(income_t, income_p).pvalue, rel=1e-6)
    assert value("feature income js < 0.1 vs production") == pytest.approx(
        oracle_js(*oracle_bins(income_t, income_p)), rel=REL)
    tenure_t, tenure_p = col(train, "tenure"), col(prod, "tenure")
    assert value("feature tenure wasserstein_norm < 0.2 vs production") == pytest.approx(
        scipy.stats.wasserstein_distance(tenure_t, tenure_p) / np.std(tenure_p), rel=REL)
    assert value("feature country chi2_pvalue >= 0.001 vs production") == pytest.approx(
        oracle_chi2(*oracle_category_bins(train["country"].to_list(), prod["country"].to_list())), rel=1e-6)
    check = next(c for c in document["checks"] if c["source"] == "feature income mean <= production*1.1")
    assert check["value"] == pytest.approx(np.mean(income_t), rel=REL)
    assert check["threshold"] == pytest.approx(np.mean(income_p) * 1.1, rel=REL)


def test_without_consent_the_joblib_models_are_errors_that_say_how(conformance, tmp_path):
    """Unpickling runs code: without --allow-pickle the gate fails closed and says how to consent."""
    code, document, done = run_json(conformance / "churn.mlc", tmp_path)
    assert code == 1 and not document["passed"] and "Traceback" not in done.stderr
    errors = [c for c in document["checks"] if c["status"] == "error"]
    assert errors and all(c["kind"] in ("model", "serving", "robustness", "latency") for c in errors), \
        {c["kind"] for c in errors}
    assert all("--allow-pickle" in c["message"] and "skops" in c["message"] for c in errors)
    assert all(c["status"] in ("pass", "warn") for c in document["checks"] if c not in errors)
