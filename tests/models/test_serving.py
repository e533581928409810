"""The serving path end to end: robustness and latency checks against models served by a real
HTTP server on loopback (FastAPI + uvicorn, both protocols), through the API and the CLI."""
from __future__ import annotations

import joblib
import pandas as pd
import pytest

import mlcontract

from conftest import run_json
from servers import churn
from servers.harness import ModelServer

HEADER = "label churned\nignore customer_id\n"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return churn.frame(300, 11)


@pytest.fixture(scope="module")
def files(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("served")
    data.to_parquet(folder / "train.parquet")
    joblib.dump(churn.fit(churn.onehot_pipeline("ignore"), data), folder / "lenient.joblib")
    joblib.dump(churn.fit(churn.onehot_pipeline("error"), data), folder / "strict.joblib")
    joblib.dump(churn.fit(churn.no_imputer_pipeline(), data.dropna()), folder / "raw.joblib")
    return folder


@pytest.fixture(scope="module")
def server(files):
    models = {name: files / f"{name}.joblib" for name in ("lenient", "strict", "raw")}
    with ModelServer(models) as running:
        yield running


def run(text: str, data, **grants) -> list:
    return mlcontract.compile(HEADER + text, datasets={"training": data}, **{"allow_pickle": True, **grants}).run().checks


@pytest.mark.slow
def test_robustness_over_http_both_protocols(server, data):
    checks = run(
        f'model lenient = http("{server.url("lenient/records")}")\n'
        f'model flow = http("{server.url("lenient/invocations")}", format="mlflow")\n'
        "lenient handles nulls in age, plan rows 8\nlenient handles unseen categories in plan rows 8\n"
        "lenient handles long text in country rows 7\n"
        "flow handles nulls in income rows 8\nflow handles out_of_range in age rows 8\n", data)
    assert all(c.status == "pass" for c in checks), [c.message for c in checks if c.status != "pass"]
    assert checks[0].details["calls"] == 18  # 2 variants × (8 alone + 1 batch)


@pytest.mark.slow
def test_a_strict_server_fails_unseen_categories_with_the_row(server, data):
    [check] = run(f'model strict = http("{server.url("strict/records")}")\nhandles unseen categories in country\n',
                  data)
    assert check.status == "fail"
    assert check.details["exception"] == "HttpAnswerError" and "HTTP 500" in check.details["error"]
    assert check.details["row"]["country"].startswith("mlc-unseen-")
    assert server.url("strict/records") in check.details["error"]


@pytest.mark.slow
def test_nulls_arrive_as_json_null_and_break_a_model_without_imputer(server, data):
    [check] = run(f'model raw = http("{server.url("raw/labels")}")\nhandles nulls in income\n', data)
    assert check.status == "fail" and "HTTP 500" in check.details["error"]
    assert check.details["row"]["income"] is None


@pytest.mark.slow
def test_latency_over_http_interleaved_and_concurrent(server, data):
    checks = run(
        f'model a = http("{server.url("lenient/records")}")\n'
        f'model b = http("{server.url("lenient/labels")}")\n'
        f'model local = sklearn("{server.models["lenient"]}")\n'
        "a p95 latency <= 2s at batch 4 with 20 calls warmup 2\n"
        "a throughput >= 10 rows/s at batch 8 at concurrency 2 with 20 calls warmup 2\n"
        "a p99 latency <= b*100 with 10 calls warmup 2\n"
        "local p95 latency <= a*100 with 10 calls warmup 2\n", data,
        allow_paths=[server.models["lenient"].parent])  # the model file is outside the repository
    assert [c.status for c in checks] == ["pass"] * 4, [c.message for c in checks]
    concurrent = checks[1]
    assert concurrent.details["concurrency"] == 2 and concurrent.details["calls"] == 20
    assert "2 parallel callers" in concurrent.message
    compared = checks[2]
    assert compared.details["timed_with"] == ["b"] and 10 <= compared.details["calls"] <= 100
    assert set(compared.details["reference_details"]["b"]) >= {"p50", "p95", "p99", "calls"}


@pytest.mark.slow
def test_the_cli_with_http_models(server, files):
    contract = files / "served.mlc"
    contract.write_text(
        'dataset training = parquet("train.parquet")\n'
        f'model served = http("{server.url("lenient/records")}", timeout=5)\n'
        f'model strict = http("{server.url("strict/proba")}")\n' + HEADER +
        "handles nulls in age\nstrict handles unseen categories in plan\n"
        "p99 latency <= 2s at batch 1 with 20 calls warmup 2\n")
    code, document, done = run_json(contract, files)
    assert code == 1, done.stdout + done.stderr
    assert [c["status"] for c in document["checks"]] == ["pass", "fail", "pass"]
    assert "HTTP 500" in done.stdout and "Traceback" not in done.stdout + done.stderr
