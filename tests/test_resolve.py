"""Semantic errors: names, columns, types, units, options — each golden diagnostic in full,
and several independent errors reported in one run."""
from __future__ import annotations

import pytest

import mlcontract
from mlcontract.errors import ContractError, ParseError

from golden import FIXTURES, cases, compare


@pytest.mark.parametrize("contract", cases("resolve"), ids=lambda p: p.stem)
def test_semantic_error_diagnostics(contract, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    with pytest.raises(ContractError) as caught:
        mlcontract.compile(contract.relative_to(FIXTURES).as_posix())
    assert not isinstance(caught.value, ParseError)
    compare(contract, caught.value.render() + "\n")


def test_several_independent_errors_in_one_run(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    with pytest.raises(ContractError) as caught:
        mlcontract.compile("resolve/several_errors.mlc")
    assert len(caught.value.diagnostics) == 3


def test_did_you_mean_for_columns_datasets_statistics_and_metrics(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    hints = {}
    for name in ("unknown_column", "unknown_vs_dataset", "unknown_statistic", "unknown_metric", "unknown_model_on_right"):
        with pytest.raises(ContractError) as caught:
            mlcontract.compile(f"resolve/{name}.mlc")
        hints[name] = caught.value.diagnostics[0].hint
    assert hints == {
        "unknown_column": "did you mean `age`?",
        "unknown_vs_dataset": "did you mean `production`?",
        "unknown_statistic": "did you mean `psi`?",
        "unknown_metric": "did you mean `accuracy`?",
        "unknown_model_on_right": "did you mean `prod`?",
    }
