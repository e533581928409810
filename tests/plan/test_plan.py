"""The planner: golden plans (text and JSON), deduplication counted on what the backend
actually computes, projection (only needed columns are read) and dependency order."""
from __future__ import annotations

import json

import pytest

import mlcontract
from mlcontract.plan import requests as rq

from golden import FIXTURES, cases, compare


@pytest.mark.parametrize("contract", cases("plan"), ids=lambda p: p.stem)
def test_plan_text(contract, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    compare(contract, mlcontract.compile(contract.relative_to(FIXTURES).as_posix()).explain())


@pytest.mark.parametrize("contract", cases("plan"), ids=lambda p: p.stem)
def test_plan_json_is_valid_and_complete(contract, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    compiled = mlcontract.compile(contract.relative_to(FIXTURES).as_posix())
    document = json.loads(compiled.explain(as_json=True))
    assert len(document["checks"]) == len(compiled.checks)
    listed = sum(len(s["statistics"]) for s in document["scans"]) + len(document["other"])
    assert listed == document["statistics"] == len(compiled.plan.requests)


def test_histogram_statistics_share_histograms_and_summaries_share_one_pass(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    compiled = mlcontract.compile("plan/dedup.mlc")
    kinds = [type(r).__name__ for r in compiled.plan.requests]
    # psi + js + hellinger: the reference's edges and two histograms on them;
    # mean (both sides), min, max, std, null_rate: one summary per dataset.
    assert sorted(kinds) == sorted(["Edges", "Histogram", "Histogram", "Summary", "Summary"])
    from mlcontract.engines.base import Settings
    from mlcontract.engines.local import LocalBackend

    backend = LocalBackend(Settings())
    result = compiled.run(engine=backend)
    assert all(c.status == "pass" for c in result.checks), [c.message for c in result.checks]
    assert backend.computed == 5  # what was computed, not what was planned


def test_each_dataset_is_scanned_once_and_only_for_needed_columns(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    plan = mlcontract.compile("plan/projection.mlc").plan
    scans = {s.dataset: s for s in plan.scans}
    assert sorted(scans) == ["holdout", "production", "training"]
    assert scans["holdout"].columns == []  # row count only
    assert sorted(scans["training"].columns) == ["country", "income", "plan"]
    assert "signup" not in scans["production"].columns


def test_reference_edges_come_before_binning(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    plan = mlcontract.compile("plan/two_way.mlc").plan
    order = [(s.dataset, s.stage) for s in plan.scans]
    assert len(order) == 4  # a two-way dependency needs two passes per dataset
    position = {}
    for index, scan in enumerate(plan.scans):
        for request in scan.requests:
            position[request] = index
    for request in position:
        if isinstance(request, rq.Histogram) and request.edges.of != request.of:
            assert position[request.edges] < position[request]


def test_a_thousand_checks_compile_and_plan_quickly(tmp_path, monkeypatch):
    """Compile + plan cost must stay small (the timed target is in bench/, this is a guard)."""
    import time

    monkeypatch.chdir(FIXTURES)
    data = FIXTURES / "data"
    lines = [f'dataset training = parquet("{data / "train.parquet"}")',
             f'dataset production = parquet("{data / "prod.parquet"}")']
    stats = ["psi < 0.2 vs production bins {}", "null_rate <= 5%", "mean <= production*1.1", "js < 0.1 vs production bins {}"]
    for i in range(1000):
        lines.append(f"feature {['age', 'income'][i % 2]} {stats[i % 4].format(2 + i % 50)}")
    contract = tmp_path / "big.mlc"
    contract.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    compiled = mlcontract.compile(contract)
    assert len(compiled.checks) == 1000
    assert not any(check.bind_error for check in compiled.checks)
    assert time.perf_counter() - started < 10
