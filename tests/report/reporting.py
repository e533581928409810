"""Helpers of the report-format tests: the results fixture, golden files, a small contract."""
from __future__ import annotations

import os
import re
from pathlib import Path

from conftest import FIXTURES

from mlcontract.report import ReportContext
from mlcontract.report.results import RunResult

REPORT = FIXTURES / "report"
DATA = FIXTURES / "data"
# Every control character (C0, DEL, C1) but the line breaks a format writes itself.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def fixture_result() -> RunResult:
    """tests/fixtures/report/results.json: every status, every plot kind, and hostile text
    (newlines, %, :, commas, ESC, NUL, pipes, backticks, HTML, `::` commands, bidi overrides)."""
    return RunResult.model_validate_json((REPORT / "results.json").read_text(encoding="utf-8"))


def context() -> ReportContext:
    return ReportContext(contract_path="contracts/churn.mlc", version="0.1.0")


def compare(actual: str, name: str) -> None:
    """`actual` against tests/fixtures/report/NAME (MLC_UPDATE_GOLDEN=1 rewrites it)."""
    expected = REPORT / name
    if os.environ.get("MLC_UPDATE_GOLDEN"):
        expected.write_bytes(actual.encode("utf-8"))
        return
    assert expected.exists(), f"missing golden file {name}; run with MLC_UPDATE_GOLDEN=1"
    assert actual == expected.read_bytes().decode("utf-8"), f"output differs from {name}"


def small_contract(folder: Path, extra: str = "") -> Path:
    """A data contract over tests/fixtures/data with a pass, a failure, a warning and an error."""
    contract = folder / "small.mlc"
    contract.write_text(
        'contract "small"\n'
        f'dataset training = parquet("{DATA / "train.parquet"}")\n'
        f'dataset production = parquet("{DATA / "prod.parquet"}")\n'
        'dataset gone = parquet("gone.parquet")\n'
        "label churned\nignore customer_id\n"
        "training rows >= 100\n"
        "feature age psi < 0.000001 vs production\n"
        "warn feature income mean <= 1\n"
        "feature plan unseen_rate <= 100% vs production\n"
        "gone rows >= 1\n"
        f"{extra}", encoding="utf-8")
    return contract
