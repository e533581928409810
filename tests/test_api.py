"""The Python API: compile a path or text, inspect the plan, run on pandas and Polars frames."""
from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

import mlcontract
from mlcontract.errors import ContractError, UsageError
from mlcontract.report.results import RunResult

from conftest import FIXTURES

CONTRACT = """
dataset training
dataset production
feature age psi < 0.2 vs production
feature plan unseen_rate <= 10% vs production
training rows >= 100
feature income mean <= production * 1.5
"""


def frames(kind: str):
    rng = np.random.default_rng(0)
    def make(n, shift):
        return {"age": rng.normal(40 + shift, 10, n), "income": rng.lognormal(10, 0.3, n),
                "plan": rng.choice(["a", "b", "c"], n)}
    train, prod = make(500, 0), make(400, 1)
    if kind == "pandas":
        return pd.DataFrame(train), pd.DataFrame(prod)
    return pl.DataFrame(train), pl.DataFrame(prod)


def declared(text: str) -> str:
    # `dataset NAME` alone is not a declaration: the API supplies datasets by name.
    return "\n".join(line for line in text.splitlines() if not line.startswith("dataset "))


@pytest.mark.parametrize("kind", ["pandas", "polars"])
def test_run_on_frames(kind):
    train, prod = frames(kind)
    contract = mlcontract.compile(declared(CONTRACT), datasets={"training": train, "production": prod})
    result = contract.run()
    assert isinstance(result, RunResult)
    assert result.passed, [c.message for c in result.checks]
    assert [c.statistic for c in result.checks] == ["psi", "unseen_rate", "rows", "mean"]
    # the same values whatever the frame library
    other = mlcontract.compile(declared(CONTRACT), datasets=dict(zip(["training", "production"], frames(
        "polars" if kind == "pandas" else "pandas")))).run()
    assert [c.value for c in result.checks] == pytest.approx([c.value for c in other.checks], rel=1e-12)


def test_frames_passed_to_run_replace_declared_files(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    contract = mlcontract.compile("plan/dedup.mlc")
    train = pl.read_parquet(FIXTURES / "data" / "train.parquet")
    shifted = train.with_columns(pl.col("age") + 40)
    result = contract.run(datasets={"training": shifted})
    psi = next(c for c in result.checks if c.statistic == "psi")
    assert psi.status == "fail"
    assert contract.run().checks[0].status == "pass"  # the compiled contract itself is unchanged


def test_run_rejects_undeclared_inputs(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    contract = mlcontract.compile("plan/dedup.mlc")
    with pytest.raises(UsageError, match="does not declare: nope"):
        contract.run(datasets={"nope": pd.DataFrame({"a": [1]})})


def test_plan_can_be_inspected_before_running(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    contract = mlcontract.compile("plan/dedup.mlc")
    assert [s.dataset for s in contract.plan.scans] == ["production", "training"]
    assert "plan for dedup.mlc" in contract.explain()
    assert len(contract.checks) == 8


def test_check_compiles_and_runs(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    result = mlcontract.check("plan/dedup.mlc")
    assert result.passed
    assert result.model_dump()["checks"][0]["source"] == "feature age psi < 0.2 vs production"


def test_result_json_matches_the_cli_schema(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    document = mlcontract.check("plan/dedup.mlc").model_dump(mode="json")
    assert set(document) >= {"passed", "checks"}
    assert set(document["checks"][0]) >= {"line", "source", "status", "subject", "feature", "statistic", "value",
                                           "threshold", "message"}


def test_malformed_text_raises_contract_error_with_diagnostics():
    with pytest.raises(ContractError) as caught:
        mlcontract.compile("feature age psi < 0.2 vs production\n", datasets={"t": pd.DataFrame({"age": [1.0]})})
    assert "unknown dataset `production`" in str(caught.value)


def test_compile_rejects_a_missing_contract_file():
    with pytest.raises(UsageError, match="not found"):
        mlcontract.compile("nowhere/contract.mlc")


def test_wrong_frame_type_is_an_error_result():
    result = mlcontract.compile("t rows >= 1\n", datasets={"t": pd.DataFrame({"a": [1]})}).run(
        datasets={"t": pd.DataFrame({"a": [1, 2]})})
    assert result.checks[0].value == 2
    contract = mlcontract.compile("t rows >= 1\n", datasets={"t": pd.DataFrame({"a": [1]})})
    (check,) = contract.run(datasets={"t": [1, 2, 3]}).checks
    assert check.status == "error" and "expected a pandas or Polars DataFrame" in check.message


def test_check_takes_frames_for_undeclared_names():
    frame = pd.DataFrame({"age": [30.0, 40.0, 50.0]})
    result = mlcontract.check("training rows > 0\nfeature age mean <= 45\n", datasets={"training": frame})
    assert result.passed and [c.value for c in result.checks] == [3, 40.0]


def test_paths_point_declarations_at_other_files_and_fail_on_warn(tmp_path):
    """compile(paths=...) is the CLI's --input; run(fail_on="warn") its --fail-on warn."""
    text = 'dataset training = parquet("nowhere/train.parquet")\ntraining rows >= 100\nwarn training rows >= 10000\n'
    contract = mlcontract.compile(text, paths={"training": FIXTURES / "data" / "train.parquet"})
    result = contract.run()
    assert [c.status for c in result.checks] == ["pass", "warn"] and result.passed
    assert contract.checked.datasets["training"].path == (FIXTURES / "data" / "train.parquet").absolute()
    strict = contract.run(fail_on="warn")
    assert not strict.passed and strict.fail_on == "warn"
    with pytest.raises(UsageError, match="fail_on takes"):
        contract.run(fail_on="error")
    with pytest.raises(UsageError, match="did you mean `training`"):
        mlcontract.compile(text, paths={"trainin": "x.parquet"})
