"""Golden files of the terminal report and the JSON results (tests/fixtures/report/), on one
contract with every kind of check (every_kind.mlc): data (rows, an unreadable dataset, schema,
drift, selectors, percent thresholds, `between` of values and of a statistic, unseen levels,
a warning), model quality (a threshold, `prod - 0.02`, a baseline, a percent threshold,
segments, cross-validation), training curves (trends, a gap, a curve value), robustness and
latency (a duration, `prod * 1.5`, a rate).

What varies from run to run is fixed, not hidden: the latency runs read a fake clock (the same
"timings" every run) and the run facts (start, durations, version, the fixture's absolute
path) are set to fixed values. The plots are reduced to their kind in the JSON golden
(test_plotdata.py checks them against oracles). MLC_UPDATE_GOLDEN=1 rewrites the files; read
the diff before committing it.
"""
from __future__ import annotations

import functools
import io
import itertools
import json

import pandas as pd
import pytest
from rich.console import Console

import mlcontract
from reporting import REPORT, compare

CONTRACT = REPORT / "every_kind.mlc"
DATA = REPORT.parent / "data"
TICKS_NS = (1_200_000, 1_500_000, 900_000, 2_100_000, 1_300_000)  # what the fake clock advances by


def _models():
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    train = pd.read_parquet(DATA / "train.parquet")
    features, label = train[["age", "income", "plan", "country"]], train["churned"]

    def fitted(c: float):
        encode = make_column_transformer(
            (SimpleImputer(), ["age", "income"]),
            (OneHotEncoder(handle_unknown="ignore"), ["plan", "country"]))
        return make_pipeline(encode, LogisticRegression(C=c, max_iter=1000)).fit(features, label)

    return {"candidate": fitted(1.0), "prod": fitted(0.01)}


def _fake_clock():
    """A clock that advances by TICKS_NS in turn: every timed call "takes" one of them."""
    now = itertools.count()
    ticks = itertools.cycle(TICKS_NS)
    total = [0]

    def clock() -> int:
        next(now)
        total[0] += next(ticks)
        return total[0]

    return clock


@pytest.fixture(scope="module")
def result():
    from mlcontract.models import latency

    patch = pytest.MonkeyPatch()
    patch.setattr(latency, "run", functools.partial(latency.run, clock=_fake_clock()))
    try:
        ran = mlcontract.compile(CONTRACT, models=_models()).run()
    finally:
        patch.undo()
    facts = {"path": "tests/fixtures/report/every_kind.mlc", "mlcontract_version": "0.0.0", "seconds": 1.25,
             "started_at": "2026-01-02T03:04:05.678+00:00", "durations": {"compile": 0.1, "execute": 1.0, "evaluate": 0.15}}
    return ran.model_copy(update=facts)


def test_the_contract_covers_every_kind_and_status(result):
    assert {c.kind for c in result.checks} == {"data", "model", "curve", "robustness", "latency"}
    assert {c.status for c in result.checks} == {"pass", "fail", "warn", "error"}
    assert {c.display_unit for c in result.checks} >= {"%", "ms", "rows/s", None}


def test_terminal_golden(result):
    out = io.StringIO()
    from mlcontract.report.formats.terminal import render

    render(result, Console(file=out, width=150, color_system=None, highlight=False, soft_wrap=False), verbose=True)
    compare(out.getvalue(), "expected.terminal.txt")


def test_json_golden(result):
    document = json.loads(result.to_json())
    for check in document["checks"]:
        for details in (check["details"], *check["details"].get("reference_details", {}).values()):
            if "plot" in details:
                details["plot"] = {"kind": details["plot"]["kind"]}
    compare(json.dumps(_rounded(document), indent=2, ensure_ascii=False) + "\n", "expected.results.json")


def _rounded(value):
    """Floats to 9 significant digits: a model fitted with another BLAS may differ in the last ones."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def test_thresholds_print_in_the_unit_the_contract_wrote(result):
    """`<= 1%` is 0.01 in the JSON and `<= 1%` in the report; `250ms` 0.25 and `<= 250ms`."""
    from mlcontract.report.formatting import observed_text, threshold_text

    by_source = {c.source: c for c in result.checks}
    nulls = next(c for c in result.checks if c.source == "feature * null_rate <= 1%")
    assert (nulls.threshold, nulls.display_unit, threshold_text(nulls)) == (0.01, "%", "<= 1%")
    assert observed_text(nulls).endswith("%")
    latency = by_source["p95 latency on holdout <= 250ms with 20 calls warmup 2"]
    assert (latency.threshold, latency.unit, latency.display_unit, threshold_text(latency)) == (0.25, "s", "ms", "<= 250ms")
    rate = by_source["throughput on holdout >= 1000 rows/s with 20 calls warmup 2"]
    assert threshold_text(rate) == ">= 1,000 rows/s" and observed_text(rate).endswith(" rows/s")
    compared = by_source["p95 latency on holdout <= prod * 1.5 with 20 calls warmup 2"]
    assert compared.display_unit is None and threshold_text(compared).endswith("ms")
    share = by_source["feature income null_rate between 0% and 5%"]
    assert share.display_unit == "%" and "in [0%, 5%]" in share.message
    plain = by_source["auc on holdout >= 0.5"]
    assert plain.display_unit is None and threshold_text(plain) == ">= 0.5"


def test_observed_values_say_what_they_are(result):
    """Issue 16: the report's observed column says what each number counts and where."""
    from mlcontract.report.formatting import observed_text

    by_source = {c.source: c for c in result.checks}
    assert observed_text(by_source["schema of training matches holdout"]) == "0 columns"
    mismatch = by_source["schema of training matches export"]
    assert observed_text(mismatch) == "2 columns" and mismatch.message.startswith("2 mismatching columns: ")
    assert mismatch.details["mismatching_columns"] == ["plan", "income"]
    between = by_source["feature age between 18 and 100"]
    assert observed_text(between) == "2%" and "4 of 200 values outside [18, 100]" in between.message
    assert observed_text(by_source["val_loss not increasing"]) == "0.05 at epoch 7"
    assert observed_text(by_source["train_loss not increasing"]) == "-0.03 at epoch 8"
    assert {observed_text(c) for c in result.checks if c.kind == "robustness"} == {"0 failed calls"}
