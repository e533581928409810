"""The latency stress test: the timing harness's logic (no timing involved: a fake clock), and
latency checks run through the API and the CLI on models whose speed is known."""
from __future__ import annotations

import gc
import threading
import time

import numpy as np
import pandas as pd
import pytest

import mlcontract
from mlcontract.models import latency
from mlcontract.models.serving import LatencyRun, input_batches

from conftest import run_json


# ---- the harness, with a fake clock ---------------------------------------------------------------
class FakeClock:
    """perf_counter_ns stand-in: each model's call advances it by that model's cost."""

    def __init__(self):
        self.now = 0

    def __call__(self) -> int:
        return self.now


def fake_callers(clock: FakeClock, costs: dict, log: list):
    def make(name):
        def call(i):
            log.append((name, i))
            cost = costs[name]
            clock.now += cost(i) if callable(cost) else cost

        return call

    return {name: make(name) for name in costs}


def test_round_order_alternates_so_no_model_always_goes_first():
    assert [latency.round_order(["a", "b"], r) for r in range(4)] == [["a", "b"], ["b", "a"], ["a", "b"], ["b", "a"]]
    three = [latency.round_order(["a", "b", "c"], r)[0] for r in range(6)]
    assert three == ["a", "b", "c", "a", "b", "c"]


def test_a_round_sends_the_same_batch_to_every_model():
    plan = latency.schedule(["a", "b"], rounds=5, batches=3)
    assert [batch for batch, _ in plan] == [0, 1, 2, 0, 1]
    clock, log = FakeClock(), []
    latency.run(fake_callers(clock, {"a": 10, "b": 20}, log), batches=3, calls=4, warmup=2, clock=clock)
    timed = log[4:]  # after 2 warm-up rounds of 2 calls
    assert timed == [("a", 0), ("b", 0), ("b", 1), ("a", 1), ("a", 2), ("b", 2), ("b", 0), ("a", 0)]


def test_samples_warmup_and_statistics():
    clock, log = FakeClock(), []
    costs = {"fast": lambda i: 1_000_000 * (i + 1), "slow": lambda i: 3_000_000 * (i + 1)}
    timing = latency.run(fake_callers(clock, costs, log), batches=10, calls=10, warmup=3, clock=clock)
    assert len(log) == 2 * (10 + 3)
    assert timing.calls == 10 and timing.warmup == 3 and timing.min_calls == 10
    fast = timing.samples["fast"]
    assert sorted(fast.tolist()) == [1_000_000 * k for k in range(1, 11)]
    seconds = np.arange(1, 11) * 1e-3
    assert timing.statistic("fast", "p95") == pytest.approx(np.quantile(seconds, 0.95))
    assert timing.statistic("fast", "p50") == pytest.approx(np.median(seconds))
    assert timing.statistic("fast", "mean") == pytest.approx(seconds.mean())
    assert timing.statistic("fast", "max") == pytest.approx(0.010)
    assert timing.statistic("slow", "p95") == pytest.approx(3 * timing.statistic("fast", "p95"))
    assert timing.wall_ns == sum(costs["fast"](i % 10) + costs["slow"](i % 10) for i in range(10))


def test_throughput_is_rows_over_busy_time():
    clock, log = FakeClock(), []
    timing = latency.run(fake_callers(clock, {"m": 2_000_000}, log), batches=1, calls=50, warmup=0, batch=8,
                         clock=clock)
    assert timing.throughput("m") == pytest.approx(8 / 0.002)


def test_gc_is_disabled_while_timing_and_restored():
    states = []
    assert gc.isenabled()
    latency.run({"m": lambda i: states.append(gc.isenabled())}, batches=1, calls=5, warmup=2)
    assert states[:2] == [True, True]  # warm-up is not timed
    assert states[2:] == [False] * 5
    assert gc.isenabled()


def test_an_exception_stops_the_run_and_restores_gc():
    def boom(i):
        raise RuntimeError("model down")

    with pytest.raises(RuntimeError, match="model down"):
        latency.run({"m": boom}, batches=1, calls=3, warmup=0)
    assert gc.isenabled()


def test_concurrent_callers_share_the_rounds():
    threads = set()
    lock = threading.Lock()

    def call(i):
        with lock:
            threads.add(threading.current_thread().name)

    timing = latency.run({"a": call, "b": call}, batches=4, calls=12, warmup=0, concurrency=3)
    assert len(timing.samples["a"]) == 12 and len(timing.samples["b"]) == 12
    assert timing.concurrency == 3
    assert len(threads) == 3


def test_quantile_interval_brackets_the_quantile():
    values = np.arange(1, 1001, dtype=float)
    low, high = latency.quantile_interval(values, 0.95)
    assert low < np.quantile(values, 0.95) < high
    assert 935 <= low <= 945 and 955 <= high <= 965
    assert latency.relative_halfwidth(np.full(300, 5.0)) == 0.0


@pytest.mark.slow
def test_a_compared_run_is_extended_only_while_close_models_are_imprecise():
    # Identical, perfectly steady models: precise at once, no extension.
    clock, log = FakeClock(), []
    timing = latency.run(fake_callers(clock, {"a": 1000, "b": 1000}, log), batches=1, calls=20, warmup=0,
                         clock=clock, precision=0.05, max_calls=200)
    assert timing.calls == 20
    # Two equal models with a wide tail (the same sequence of costs): extended up to the cap.
    def noisy(scale=1):
        k = iter(range(10**6))
        return lambda i: scale * (1000 + 100 * ((next(k) * 7919) % 101))  # spread over 1000..11000

    clock, log = FakeClock(), []
    timing = latency.run(fake_callers(clock, {"a": noisy(), "b": noisy()}, log), batches=1, calls=20, warmup=0,
                         clock=clock, precision=0.01, max_calls=60)
    assert timing.calls == 60 and timing.min_calls == 20
    assert len(timing.samples["a"]) == 60 and timing.precision["a"] > 0.01
    # Models far apart: decided, no extension however noisy.
    clock, log = FakeClock(), []
    timing = latency.run(fake_callers(clock, {"a": noisy(), "b": noisy(10)}, log), batches=1, calls=40, warmup=0,
                         clock=clock, precision=0.01, max_calls=400)
    assert timing.calls == 40


def test_settled_rule():
    steady = np.full(200, 100.0)
    wide = np.concatenate([np.full(180, 100.0), np.linspace(100, 400, 20)])
    assert latency.settled({"a": steady, "b": steady}, 0.95, 0.05, 1.25)
    assert not latency.settled({"a": wide, "b": wide}, 0.95, 0.05, 1.25)
    assert latency.settled({"a": wide, "b": wide * 10}, 0.95, 0.05, 1.25)


def test_input_batches_cycle_real_rows_deterministically():
    frame = pd.DataFrame({"x": np.arange(10)})
    batches = input_batches(frame, batch=4, needed=100)
    assert len(batches) == 3
    assert batches[0]["x"].tolist() == [0, 1, 2, 3]
    assert batches[2]["x"].tolist() == [8, 9, 0, 1]
    assert [len(b) for b in input_batches(frame, batch=25, needed=5)] == [25]


def test_latency_run_describes_itself():
    run = LatencyRun(("candidate", "prod"), "training", batch=1, calls=200, warmup=20)
    assert run.describe() == "latency run(candidate and prod interleaved: ≥200 calls each at batch 1, 20 warm-up, rows of training)"


# ---- through the API, with models of known speed -------------------------------------------------------
class Sleeper:
    """A model whose call takes `seconds` (plus the interpreter's overhead)."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def predict(self, X):
        time.sleep(self.seconds)
        return np.zeros(len(X))


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=50), "y": rng.normal(size=50)})


def test_a_faster_candidate_passes_and_a_slower_one_fails(rows):
    text = "p95 latency <= prod*1.1 with 30 calls warmup 3\n"
    fast, slow = Sleeper(0.0005), Sleeper(0.008)
    good = mlcontract.compile(text, datasets={"training": rows}, models={"candidate": fast, "prod": slow}).run()
    bad = mlcontract.compile(text, datasets={"training": rows}, models={"candidate": slow, "prod": fast}).run()
    assert good.checks[0].status == "pass", good.checks[0].message
    assert bad.checks[0].status == "fail", bad.checks[0].message
    details = bad.checks[0].details
    assert details["calls"] >= 30 and details["min_calls"] == 30 and details["interleaved"] is True
    assert details["timed_with"] == ["prod"]
    assert details["ratio"]["prod"] > 2
    for key in ("p50", "p95", "p99", "mean"):
        assert details[key] > 0.005
    assert details["reference_details"]["prod"]["p95"] < details["p95"] / 2
    assert "interleaved with prod" in bad.checks[0].message


def test_both_sides_of_a_comparison_share_one_timing_run(rows):
    text = "p95 latency <= prod*1.1 with 20 calls warmup 2\np99 latency <= prod*2 with 20 calls warmup 2\n"
    contract = mlcontract.compile(text, datasets={"training": rows},
                                  models={"candidate": Sleeper(0.0005), "prod": Sleeper(0.0005)})
    runs = [r for r in contract.plan.other if isinstance(r, LatencyRun)]
    assert runs == [LatencyRun(("candidate", "prod"), "training", 1, 1, 20, 2)]
    assert "latency run(candidate and prod interleaved" in contract.explain()


def test_absolute_latency_mean_and_throughput(rows):
    text = (
        "p99 latency <= 250ms at batch 1 with 20 calls warmup 2\n"
        "mean latency < 1us with 20 calls warmup 2\n"
        "throughput >= 100 rows/s at batch 8 with 20 calls warmup 2\n"
        "median latency <= 1s with 20 calls warmup 2\n"
        "max latency <= 1s with 20 calls warmup 2\n"
    )
    result = mlcontract.compile(text, datasets={"training": rows}, models={"m": Sleeper(0.002)}).run()
    statuses = [c.status for c in result.checks]
    assert statuses == ["pass", "fail", "pass", "pass", "pass"], [c.message for c in result.checks]
    p99 = result.checks[0]
    assert p99.details["calls"] == 20 and "timed_with" not in p99.details
    assert 0.002 <= p99.value < 0.25
    throughput = result.checks[2]
    assert throughput.details["batch"] == 8
    assert 100 < throughput.value < 8 / 0.002 + 1


def test_a_model_that_raises_while_timed_is_an_error(rows):
    def broken(X):
        raise RuntimeError("out of memory on the GPU")

    result = mlcontract.compile("p95 latency <= 10ms with 5 calls\n", datasets={"training": rows},
                                models={"m": broken}).run()
    check = result.checks[0]
    assert check.status == "error" and "out of memory on the GPU" in check.message
    assert not result.passed


def test_concurrency_is_for_http_models_only(rows):
    from mlcontract.errors import ContractError

    with pytest.raises(ContractError, match="http"):
        mlcontract.compile("p95 latency <= 10ms at concurrency 4\n", datasets={"training": rows},
                           models={"m": Sleeper(0.001)})


@pytest.mark.slow
def test_latency_through_the_cli(tmp_path, rows):
    import joblib

    from servers import churn

    data = churn.frame(200, 3)
    data.to_parquet(tmp_path / "train.parquet")
    joblib.dump(churn.fit(churn.onehot_pipeline(), data), tmp_path / "model.joblib")
    contract = tmp_path / "latency.mlc"
    contract.write_text(
        'dataset training = parquet("train.parquet")\n'
        'model candidate = sklearn("model.joblib")\n'
        'model prod = sklearn("model.joblib")\n'
        "label churned\nignore customer_id\n"
        "p99 latency <= 2s with 20 calls warmup 2\n"
        "prod p95 latency <= 1us with 20 calls warmup 2\n"
    )
    code, document, done = run_json(contract, tmp_path, "--allow-pickle")
    assert code == 1, done.stdout + done.stderr
    first, second = document["checks"]
    assert first["status"] == "pass" and first["details"]["calls"] == 20 and first["subject"] == "candidate"
    assert second["status"] == "fail" and second["subject"] == "prod" and second["value"] > 1e-6
    assert "p95 latency" in done.stdout


def test_a_timed_call_that_answers_garbage_is_an_error(rows):
    """Timed calls go through the same output validation as every model call (issue 9)."""
    calls = []

    def nan_after_warmup(X):
        calls.append(len(X))
        return np.full(len(X), np.nan) if len(calls) > 3 else np.zeros(len(X))

    result = mlcontract.compile("p95 latency <= 10s with 5 calls warmup 3\n", datasets={"training": rows},
                                models={"m": nan_after_warmup}).run()
    check = result.checks[0]
    assert check.status == "error" and "model `m`" in check.message and "predicted NaN" in check.message
