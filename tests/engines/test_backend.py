"""The backend seam (engines/base.py): an engine is one module plus one line in engines.ENGINES;
it is built with Settings and computes a plan's requests from the run's Inputs; the model work
goes through the one handler table, whose handlers see only Inputs; every unit of work (the
robustness baseline too) is a request of the plan."""
from __future__ import annotations

import dataclasses
import inspect
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pytest

import mlcontract
from mlcontract import engines, references
from mlcontract.engines import local
from mlcontract.engines import profile as profile_engine
from mlcontract.engines.base import Backend, Inputs, Settings
from mlcontract.errors import CheckError, UsageError
from mlcontract.models import quality, serving
from mlcontract.models.handlers import HANDLERS, run_handlers
from mlcontract.plan import requests as rq
from mlcontract.plan.values import CountsResult

from servers import churn


# ---- a whole engine in a few lines ------------------------------------------------------------------
class FakeBackend:
    """Counts rows and values in plain Python off the whole frame the run's reader gives; the
    model work goes to the shared handlers. Records what it was given."""

    name: ClassVar[str] = "fake"
    runs: ClassVar[list] = []

    def __init__(self, settings: Settings, progress=None):
        self.settings = settings
        self.progress = progress
        self.read: list[str] = []

    def _collect(self, inputs: Inputs, name: str):
        """The engine's reader hook: a capped collect, as a cluster engine would do."""
        self.read.append(name)
        return inputs.opened(name).lazy.head(self.settings.options.get("row_cap", 10**9)).collect()

    def run(self, plan, inputs: Inputs) -> dict[rq.Request, Any]:
        FakeBackend.runs.append(self)
        inputs = inputs.with_reader(self._collect)
        got: dict[rq.Request, Any] = {}
        for scan in plan.scans:
            frame = inputs.frame(scan.dataset)
            for request in scan.requests:
                if isinstance(request, rq.RowCount):
                    got[request] = frame.height
                elif isinstance(request, rq.Counts):
                    column = frame[request.column]
                    values: dict = {}
                    for value in column.drop_nulls().to_list():
                        values[value] = values.get(value, 0) + 1
                    keys = np.empty(len(values), dtype=object)
                    keys[:] = list(values)
                    got[request] = CountsResult(keys, np.array(list(values.values()), dtype=np.int64),
                                                column.null_count(), column.len())
                else:
                    got[request] = CheckError(f"the fake engine cannot compute {request.describe()}")
        run_handlers(plan, inputs, got)
        return got


@pytest.fixture
def fake_engine(monkeypatch):
    """The one line that registers an engine."""
    monkeypatch.setitem(engines.ENGINES, "fake", f"{__name__}:FakeBackend")
    FakeBackend.runs.clear()
    return FakeBackend


def _frame(rows: int = 120) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=rows)
    return pl.DataFrame({"x": x, "c": rng.choice(["a", "b"], rows).tolist(), "y": (x > 0).astype(np.int64)})


def _threshold(features):
    return (np.asarray(features["x"]) > 0).astype(np.int64)


CONTRACT = "label y\nd rows >= 100\nfeature c distinct == 2\naccuracy on d >= 0.99\nfeature x mean <= 10\n"


def test_an_engine_is_one_module_and_one_line_of_registry(fake_engine):
    contract = mlcontract.compile(CONTRACT, datasets={"d": _frame()}, models={"m": _threshold})
    settings = Settings(options={"row_cap": 10**6})
    result = contract.run(engine="fake", settings=settings)
    rows, distinct, accuracy, mean = result.checks
    (engine,) = fake_engine.runs
    assert engine.settings is settings
    assert (rows.status, rows.value) == ("pass", 120)
    assert (distinct.status, distinct.value) == ("pass", 2)
    assert (accuracy.status, accuracy.value) == ("pass", 1.0)  # the shared handlers, through the engine's reader
    assert mean.status == "error" and "the fake engine cannot compute summary(x)" in mean.message
    assert engine.read == ["d"]  # one read per run: the scan and the model work share it


def test_the_engines_reader_decides_what_model_work_sees(fake_engine):
    contract = mlcontract.compile("label y\naccuracy on d >= 0\n", datasets={"d": _frame()},
                                  models={"m": lambda features: np.zeros(len(features), dtype=np.int64)})
    capped = contract.run(engine="fake", settings=Settings(options={"row_cap": 7})).checks[0]
    assert capped.status == "pass" and capped.details["rows"] == 7


def test_the_local_engine_is_registered_and_follows_the_protocol():
    built = engines.backend("local", Settings(threads=1))
    assert isinstance(built, local.LocalBackend) and built.name == "local" and built.settings.threads == 1
    protocol = {name for name, _ in inspect.getmembers(Backend) if not name.startswith("_")}
    assert protocol <= set(dir(built))


@pytest.mark.parametrize("name,hint", [("locl", "did you mean `local`?"), ("dask", None)])
def test_an_unknown_engine_is_a_usage_error(name, hint):
    contract = mlcontract.compile("d rows >= 1\n", datasets={"d": _frame()})
    with pytest.raises(UsageError) as raised:
        contract.run(engine=name)
    assert f"unknown engine `{name}`" in str(raised.value) and "(the engines: local, spark)" in str(raised.value)
    assert (hint in str(raised.value)) if hint else "did you mean" not in str(raised.value)


def test_an_engine_built_by_the_caller_takes_no_settings_from_run():
    contract = mlcontract.compile("d rows >= 1\n", datasets={"d": _frame()})
    backend = local.LocalBackend(Settings())
    assert contract.run(engine=backend).passed and backend.computed == 1
    with pytest.raises(UsageError, match="already built"):
        contract.run(engine=backend, settings=Settings())


@pytest.mark.slow
def test_the_cli_chooses_the_engine(tmp_path):
    from conftest import run_cli

    _frame().write_parquet(tmp_path / "d.parquet")
    (tmp_path / "c.mlc").write_text('dataset d = parquet("d.parquet")\nd rows >= 100\n')
    assert run_cli("check", "-q", "--engine", "local", str(tmp_path / "c.mlc")).returncode == 0
    done = run_cli("check", "--engine", "locl", str(tmp_path / "c.mlc"))
    assert done.returncode == 2 and "unknown engine `locl`; did you mean `local`?" in done.stderr
    assert "Traceback" not in done.stderr


# ---- settings: given to the constructor, never read from module globals at run time ----------------
def test_settings_read_the_chunk_rows_variable_when_made(monkeypatch):
    monkeypatch.setenv("MLC_STREAM_CHUNK_ROWS", "777")
    assert Settings().chunk_rows == 777
    monkeypatch.delenv("MLC_STREAM_CHUNK_ROWS")
    assert Settings().chunk_rows == 1_000_000
    assert 1 <= Settings().threads <= 8


@pytest.mark.parametrize("make", [lambda: Settings(chunk_rows=0), lambda: Settings(threads=-1),
                                  lambda: Settings(threads=True), lambda: Settings(chunk_rows=2.5)])
def test_settings_that_cannot_work_are_usage_errors(make):
    with pytest.raises(UsageError, match="must be a positive integer"):
        make()


def test_a_malformed_chunk_rows_variable_is_a_usage_error_not_a_traceback(monkeypatch):
    monkeypatch.setenv("MLC_STREAM_CHUNK_ROWS", "lots\x1b[31m")
    with pytest.raises(UsageError, match="MLC_STREAM_CHUNK_ROWS must be a positive number of rows") as raised:
        Settings()
    assert "\x1b" not in str(raised.value)


def test_the_settings_chunk_rows_decide_the_batches():
    class Batches(local.Progress):
        def __init__(self):
            self.sizes: list[int] = []

        def advance(self, rows):
            self.sizes.append(rows)

    contract = mlcontract.compile("feature x mean <= 10\n", datasets={"d": _frame(1000)})
    seen = Batches()
    assert contract.run(engine=local.LocalBackend(Settings(chunk_rows=300), seen)).passed
    assert sum(seen.sizes) == 1000 and max(seen.sizes) <= 300 and len(seen.sizes) >= 4


# ---- handlers: one explicit table; they see only Inputs ---------------------------------------------
def _request_classes(module) -> set[type]:
    return {value for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, rq.Request) and value.__module__ == module.__name__}


def test_every_model_request_has_its_handler_in_the_table():
    assert set(HANDLERS) == _request_classes(quality) | _request_classes(serving) | _request_classes(references)
    assert not hasattr(rq, "HANDLERS") and not hasattr(rq, "handles")  # no registration by import


def test_handlers_see_only_the_inputs(monkeypatch):
    data = churn.frame(300, 1)
    model = churn.fit(churn.onehot_pipeline(), data)
    seen: list[tuple[type, type]] = []
    for kind, handler in list(HANDLERS.items()):
        def spy(request, inputs, got, handler=handler):
            seen.append((type(request), type(inputs)))
            return handler(request, inputs, got)

        monkeypatch.setitem(HANDLERS, kind, spy)
    text = ("label churned\nignore customer_id\naccuracy on training >= 0\nauc on training >= 0\n"
            "accuracy on training >= baseline most_frequent\nhandles nulls in age\n")
    result = mlcontract.compile(text, datasets={"training": data}, models={"m": model}).run()
    assert all(c.status == "pass" for c in result.checks), [c.message for c in result.checks]
    assert {inputs for _, inputs in seen} == {Inputs}
    assert {kind for kind, _ in seen} >= {quality.Predictions, quality.Probabilities, quality.Truth,
                                          quality.BaselineFit, serving.RobustnessBaseline, serving.RobustnessRun}


def test_a_handler_runs_on_inputs_alone_without_any_engine():
    frame = _frame()
    contract = mlcontract.compile("label y\naccuracy on d >= 0\n", datasets={"d": frame}, models={"m": _threshold})
    inputs = Inputs.of(contract.checked, {"d": frame}, {"m": _threshold})
    predicted = HANDLERS[quality.Predictions](quality.Predictions("m", "d"), inputs, {})
    assert np.array_equal(predicted.values, _threshold(frame.to_pandas()))
    assert inputs.feature_columns("d") == ["x", "c"]  # the label is not a feature
    assert inputs.model("m") is inputs.model("m")  # loaded once per run


def test_inputs_keep_what_failed_and_fail_the_same_way_again():
    inputs = Inputs.of(mlcontract.compile("d rows >= 0\n", datasets={"d": _frame(0)}).checked, {"d": _frame(0)})
    for _ in range(2):
        with pytest.raises(CheckError, match="dataset `d` is empty"):
            inputs.frame("d")


def test_a_request_without_a_handler_is_an_error_of_its_checks_only():
    @dataclasses.dataclass(frozen=True)
    class Unknown(rq.Request):
        def describe(self) -> str:
            return "something new"

    class Plan:
        other = [Unknown()]

    got: dict = {}
    run_handlers(Plan(), Inputs({}), got)  # type: ignore[arg-type]
    assert isinstance(got[Unknown()], CheckError) and "no backend computes something new" in str(got[Unknown()])


# ---- every unit of work is a request of the plan -----------------------------------------------------
def test_the_robustness_baseline_is_a_request_shared_by_the_cases(monkeypatch):
    data = churn.frame(300, 1)
    model = churn.fit(churn.onehot_pipeline(), data)
    text = "label churned\nignore customer_id\nhandles nulls in age\nhandles nulls in plan\nhandles nulls in age seed 3\n"
    contract = mlcontract.compile(text, datasets={"training": data}, models={"m": model})
    plan = contract.explain()
    assert plan.count("robustness baseline(m: 20 base rows of training, seed 0)") == 1
    assert plan.count("robustness baseline(m: 20 base rows of training, seed 3)") == 1
    other = contract.plan.other
    baseline = serving.RobustnessBaseline("m", "training", 0, 20)
    runs = [r for r in other if isinstance(r, serving.RobustnessRun) and r.seed == 0]
    assert len(runs) == 2 and all(other.index(baseline) < other.index(r) for r in runs)  # computed first
    assert contract.plan.consumers[baseline] == [0, 1]
    calls = []
    original = HANDLERS[serving.RobustnessBaseline]
    monkeypatch.setitem(HANDLERS, serving.RobustnessBaseline,
                        lambda request, inputs, got: calls.append(request) or original(request, inputs, got))
    result = contract.run()
    assert [c.status for c in result.checks] == ["pass"] * 3, [c.message for c in result.checks]
    assert sorted(r.seed for r in calls) == [0, 3]  # once per (model, rows, seed), not once per case


def test_a_baseline_that_fails_fails_every_case_that_needs_it():
    data = churn.frame(300, 1)

    def broken(features):
        raise ValueError("no")

    text = "label churned\nignore customer_id\nhandles nulls in age\nhandles nulls in plan\n"
    result = mlcontract.compile(text, datasets={"training": data}, models={"m": broken}).run()
    assert [c.status for c in result.checks] == ["error", "error"]
    assert all("cannot serve unmodified rows of `training`" in c.message for c in result.checks)


# ---- the request algebra and the per-request tables ---------------------------------------------------
DATA_REQUESTS = [rq.RowCount, rq.SchemaOf, rq.Summary, rq.Counts, rq.SortedValues, rq.Edges, rq.Histogram,
                 rq.SampleWalk, rq.OutsideCount, rq.OutsideRange, rq.KeyDuplicates, rq.ValueTest, rq.TemporalRange,
                 rq.TemporalOutside]


def test_each_data_request_declares_its_place_and_is_in_every_table():
    assert [kind.order for kind in DATA_REQUESTS] == list(range(len(DATA_REQUESTS)))
    column_requests = [kind for kind in DATA_REQUESTS if issubclass(kind, rq.ColumnRequest)]
    assert set(local.COLUMN_WORK) == set(column_requests)
    assert set(profile_engine.SERVE) == set(DATA_REQUESTS)


def test_partial_results_merge_and_zero_batches_have_a_value():
    from mlcontract._kernels import NumericSummary

    edges = rq.Edges("ref", "x", 4)
    histogram = rq.Histogram("cur", "x", edges)
    got = {edges: np.array([0.0, 1.0, 2.0])}
    assert histogram.mergeable and not rq.Histogram("ref", "x", edges).mergeable
    assert histogram.empty(got).tolist() == [0, 0, 0, 0]
    assert histogram.merge(np.array([1, 2, 0, 1]), np.array([0, 1, 1, 1])).tolist() == [1, 3, 1, 2]
    assert rq.OutsideCount("d", "x", 0, 1).empty({}) == 0
    summary = rq.Summary("d", "x").empty({})
    assert isinstance(summary, NumericSummary) and summary.rows == 0
    counts = rq.Counts("d", "c")
    merged = counts.merge(counts.empty({}), CountsResult(np.array(["a"], dtype=object), np.array([2]), 1, 3))
    assert merged.values == {"a": 2} and (merged.nulls, merged.rows) == (1, 3)
    with pytest.raises(CheckError, match="was not computed"):
        histogram.empty({})


def test_the_local_engine_computes_columns_through_its_table(monkeypatch):
    calls = []
    work = local.COLUMN_WORK[rq.Counts]
    monkeypatch.setitem(local.COLUMN_WORK, rq.Counts, dataclasses.replace(
        work, compute=lambda request, series, got, memo: calls.append(request) or work.compute(request, series, got, memo)))
    result = mlcontract.compile("feature c distinct == 2\n", datasets={"d": _frame()}).run()
    assert result.passed and calls == [rq.Counts("d", "c")]
    monkeypatch.delitem(local.COLUMN_WORK, rq.Counts)
    missing = mlcontract.compile("feature c distinct == 2\n", datasets={"d": _frame()}).run().checks[0]
    assert missing.status == "error" and "the local backend cannot compute counts(c)" in missing.message

