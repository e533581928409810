"""The local backend fails closed: every data problem is an `error` result with a clear
message, never a traceback and never a pass."""
from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

import mlcontract

from conftest import FIXTURES


def run(text: str, **frames):
    return mlcontract.compile(text, datasets=frames).run()


def test_column_missing_in_the_reference_dataset_is_an_error():
    result = run("feature age psi < 0.2 vs prod\n", train=pd.DataFrame({"age": [1.0, 2.0]}),
                 prod=pd.DataFrame({"other": [1.0]}))
    (check,) = result.checks
    assert check.status == "error" and check.message == "column `age` is missing in prod"
    assert not result.passed


def test_column_missing_in_data_passed_to_run_is_an_error_result(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    contract = mlcontract.compile("plan/dedup.mlc")
    result = contract.run(datasets={"training": pd.DataFrame({"income": [1.0, 2.0]})})
    assert {c.status for c in result.checks} == {"error"}
    assert "column `age` is missing in dataset `training`" in result.checks[0].message


def test_type_changed_in_data_passed_to_run_is_an_error_result(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    contract = mlcontract.compile("plan/dedup.mlc")
    result = contract.run(datasets={"training": pd.DataFrame({"age": ["young", "old"]})})
    mean = next(c for c in result.checks if c.statistic == "mean")
    assert mean.status == "error" and "`age` is String" in mean.message


def test_reference_type_differs_from_subject_type():
    result = run("feature x psi < 0.2 vs b\n", a=pd.DataFrame({"x": [1.0, 2.0]}), b=pd.DataFrame({"x": ["p", "q"]}))
    assert result.checks[0].status == "error"
    assert "numeric in the subject but String in b" in result.checks[0].message


def test_empty_dataset_is_an_error_for_every_statistic():
    empty = pl.DataFrame({"x": pl.Series([], dtype=pl.Float64), "c": pl.Series([], dtype=pl.String)})
    text = "\n".join(["feature x null_rate <= 5%", "feature x mean <= 1", "feature x psi < 0.2 vs r",
                      "feature c unseen_rate <= 1% vs r", "feature x between 0 and 1", "e rows >= 0"]) + "\n"
    ref = pl.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]})
    result = run(text, e=empty, r=ref)
    statuses = [c.status for c in result.checks]
    assert statuses[:5] == ["error"] * 5, [c.message for c in result.checks]
    assert statuses[5] == "pass"  # `rows >= 0` on an empty dataset is honestly true
    assert "no rows" in result.checks[0].message


def test_unseen_rate_against_an_empty_reference_is_an_error():
    result = run("feature c unseen_rate <= 1% vs r\n", s=pd.DataFrame({"c": ["a"]}),
                 r=pl.DataFrame({"c": pl.Series([], dtype=pl.String)}))
    assert result.checks[0].status == "error" and "no rows" in result.checks[0].message


def test_warn_check_that_errors_still_blocks():
    result = run("warn feature x mean <= 1\n", d=pd.DataFrame({"x": [None, None]}, dtype=float))
    (check,) = result.checks
    assert check.status == "error" and not check.blocking
    assert not result.passed  # an error fails closed, even on a `warn` line


def test_nan_threshold_from_a_reference_is_an_error():
    result = run("feature x mean <= r * 1.1\n", d=pd.DataFrame({"x": [1.0]}), r=pd.DataFrame({"x": [np.nan]}))
    assert result.checks[0].status == "error"


def test_unreadable_csv_is_an_error(tmp_path):
    (tmp_path / "x.csv").write_text('a,b\n1,"unterminated\n')
    (tmp_path / "c.mlc").write_text('dataset d = csv("x.csv")\nfeature a mean <= 5\n')
    result = mlcontract.check(tmp_path / "c.mlc")
    assert result.checks[0].status in ("error", "pass")  # polars may read it; it must not crash
    assert result.checks[0].status != "fail"


@pytest.mark.parametrize("kind,writer", [
    ("csv", lambda f, p: f.write_csv(p)),
    ("ipc", lambda f, p: f.write_ipc(p)),
    ("ndjson", lambda f, p: f.write_ndjson(p)),
    ("parquet", lambda f, p: f.write_parquet(p)),
])
def test_every_source_kind_reads_the_same_values(tmp_path, kind, writer):
    frame = pl.DataFrame({"x": [1.5, 2.5, None, 4.0], "c": ["a", "b", "a", None]})
    writer(frame, tmp_path / f"d.{kind}")
    (tmp_path / "c.mlc").write_text(f'dataset d = {kind}("d.{kind}")\nfeature x mean <= 10\nfeature c distinct == 2\n'
                                    "d rows == 4\n")
    result = mlcontract.check(tmp_path / "c.mlc")
    assert [c.status for c in result.checks] == ["pass"] * 3, [c.message for c in result.checks]
    assert result.checks[0].value == pytest.approx(8.0 / 3)


def test_csv_options_are_passed_to_polars(tmp_path):
    (tmp_path / "d.csv").write_text("x;y\n1;2\n3;4\n")
    (tmp_path / "c.mlc").write_text('dataset d = csv("d.csv", separator=";")\nfeature x mean == 2\n')
    assert mlcontract.check(tmp_path / "c.mlc").passed


def test_streamed_scan_in_many_batches_equals_one_pass(monkeypatch):
    """Every statistic of a streamed scan merges over batches to the one-pass value."""
    from mlcontract.engines import local as execute

    rng = np.random.default_rng(1)
    n = 20_000
    cur = pl.DataFrame({"x": rng.normal(0.1, 1, n), "k": rng.integers(0, 5, n), "c": rng.choice(["a", "b", "c"], n)})
    cur = cur.with_columns(pl.when(pl.col("x") > 2.5).then(None).otherwise(pl.col("x")).alias("x"))
    ref = pl.DataFrame({"x": rng.normal(0, 1, n), "k": rng.integers(0, 6, n), "c": rng.choice(["a", "b", "d"], n)})
    text = "\n".join([
        "feature x psi < 1 vs ref", "feature x js < 1 vs ref", "feature x null_rate <= 1", "feature x mean <= 10",
        "feature x std <= 10", "feature x between -100 and 100", "feature k out_of_range_rate <= 1 vs ref",
        "feature c unseen_rate <= 1 vs ref", "feature c chi2_pvalue >= 0 vs ref", "feature k distinct >= 1",
        "cur rows >= 1"]) + "\n"
    contract = mlcontract.compile(text, datasets={"cur": cur, "ref": ref})
    assert {s.dataset: s.mode for s in contract.plan.scans}["cur"] == "stream"
    whole = [c.value for c in contract.run().checks]
    class Counter(execute.Progress):
        batches = 0

        def advance(self, rows):
            Counter.batches += 1

    batched = contract.run(progress=Counter(), settings=execute.Settings(chunk_rows=777))
    assert Counter.batches > 20  # really streamed: 20,000 rows in batches of 777 (+ the in-memory ref)
    assert [c.status for c in batched.checks] == ["pass"] * len(whole), [c.message for c in batched.checks]
    assert [c.value for c in batched.checks] == pytest.approx(whole, rel=1e-12)


@pytest.mark.parametrize("dtype", ["categorical", "enum"])
def test_dictionary_encoded_columns_are_counted_from_their_codes(dtype):
    """Categorical / Enum columns go through the code-count kernel: same counts as Polars."""
    from mlcontract.engines.columns import dictionary_counts

    rng = np.random.default_rng(8)
    values = rng.choice(["a", "b", "c", "d"], 5000).astype(object)
    values[rng.random(5000) < 0.05] = None
    kind = pl.Categorical if dtype == "categorical" else pl.Enum(["a", "b", "c", "d", "never"])
    series = pl.Series("x", values.tolist(), dtype=kind)
    sliced = series.slice(7, 4000)  # an offset into the Arrow buffers
    for s in (series, sliced, pl.concat([sliced, series], rechunk=False)):
        got = dictionary_counts(s)
        want = s.cast(pl.String).drop_nulls().value_counts()
        assert got.values == dict(zip(want["x"].to_list(), want["count"].to_list()))
        assert got.nulls == s.null_count() and got.rows == s.len()
        assert "never" not in got.values  # categories that never occur are not values


def _string_parquet(path, values, **options):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"city": pa.array(values, type=pa.string()),
                             "n": pa.array(np.arange(len(values), dtype=np.float64))}), path, **options)


def _spy_on_dictionary_counts(monkeypatch) -> list:
    """What LocalBackend._count_dictionaries returns, call by call (the columns it counted)."""
    from mlcontract.engines import local as execute

    counted: list = []
    original = execute.LocalBackend._count_dictionaries

    def spy(path, columns):
        counted.append(original(path, columns))
        return counted[-1]

    monkeypatch.setattr(execute.LocalBackend, "_count_dictionaries", staticmethod(spy))
    return counted


@pytest.mark.parametrize("options", [
    dict(row_group_size=700),                             # a dictionary per row group
    dict(row_group_size=700, use_dictionary=False),       # plain-encoded: pyarrow builds the dictionary
    dict(),
])
def test_parquet_string_columns_are_counted_from_dictionary_codes(tmp_path, options, monkeypatch):
    """A parquet string column whose only statistics are value counts is read as dictionary
    codes (execute.LocalBackend._count_dictionaries); the counts, nulls and rows equal Polars' own."""
    from mlcontract.engines import local as execute

    rng = np.random.default_rng(3)
    cur = rng.choice(["paris", "lyon", "", "nice", "é-ü"], 5000).astype(object)
    cur[rng.random(5000) < 0.1] = None
    ref = rng.choice(["paris", "lyon", "brest"], 3000).astype(object)
    _string_parquet(tmp_path / "cur.parquet", cur.tolist(), **options)
    _string_parquet(tmp_path / "ref.parquet", ref.tolist(), **options)
    text = ('dataset cur = parquet("cur.parquet")\ndataset ref = parquet("ref.parquet")\n'
            "feature city psi < 100 vs ref\nfeature city unseen_rate <= 1 vs ref\nfeature city null_rate <= 1\n"
            "feature city distinct >= 0\n")
    counted = _spy_on_dictionary_counts(monkeypatch)
    result = mlcontract.compile(text, base_dir=tmp_path).run()
    assert result.passed, [c.message for c in result.checks]
    assert [set(done) for done in counted] == [{"city"}, {"city"}]  # both datasets took the dictionary path
    monkeypatch.setattr(execute.LocalBackend, "_dictionary_columns", lambda *a: [])
    via_polars = mlcontract.compile(text, base_dir=tmp_path).run()
    assert [c.value for c in result.checks] == [c.value for c in via_polars.checks]
    frame = pl.read_parquet(tmp_path / "cur.parquet")
    assert result.checks[2].value == pytest.approx(frame["city"].null_count() / frame.height)


def test_parquet_dictionary_counts_are_used_and_stream(tmp_path, monkeypatch):
    """The dictionary path really runs (and batch by batch), and a file pyarrow cannot read as a
    dictionary falls back to Polars with the same result."""
    from mlcontract.sources import datasets as sources

    values = (["a"] * 3000 + ["b"] * 1500 + [None] * 500)
    _string_parquet(tmp_path / "d.parquet", values, row_group_size=1000)
    text = 'dataset d = parquet("d.parquet")\nfeature city null_rate <= 0.1\nfeature city distinct == 2\n'
    batches = []
    original = sources.parquet_dictionary_batches

    def spy(path, columns):
        for batch in original(path, columns):
            batches.append(batch.column(0).type)
            yield batch

    monkeypatch.setattr(sources, "parquet_dictionary_batches", spy)
    result = mlcontract.compile(text, base_dir=tmp_path).run()
    assert result.passed and [c.value for c in result.checks] == [0.1, 2.0]
    assert len(batches) >= 5 and all(str(t).startswith("dictionary") for t in batches)

    def broken(path, columns):
        raise OSError("cannot read as a dictionary")

    monkeypatch.setattr(sources, "parquet_dictionary_batches", broken)
    again = mlcontract.compile(text, base_dir=tmp_path).run()
    assert [c.value for c in again.checks] == [0.1, 2.0]


def test_csv_with_a_repeated_column_name_is_an_error(tmp_path):
    """Polars renames the second `x` of a CSV header to `x_duplicated_0`; a check on `x` would
    silently read the first only. It is an error result instead, naming the column."""
    (tmp_path / "d.csv").write_text("y,x,x\n1,2,3\n0,4,5\n")
    result = mlcontract.compile('dataset d = csv("d.csv")\nfeature x of d mean >= 0\n', base_dir=tmp_path).run()
    (check,) = result.checks
    assert check.status == "error" and "has the column `x` more than once" in check.message
    assert not result.passed


def test_high_cardinality_string_columns_are_left_to_polars(tmp_path, monkeypatch):
    """A column whose parquet dictionaries are large next to its batches (IDs) is not counted
    from codes (slower there than Polars' hashing) but by Polars, with the same result; a
    low-cardinality column beside it still is."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 40_000
    ids = [f"user-{i}" for i in range(n)]
    kinds = [("a", "b", "c")[i % 3] for i in range(n)]
    pq.write_table(pa.table({"uid": ids, "kind": kinds}), tmp_path / "d.parquet", row_group_size=10_000)
    counted = _spy_on_dictionary_counts(monkeypatch)
    text = 'dataset d = parquet("d.parquet")\nfeature uid distinct == 40000\nfeature kind distinct == 3\n'
    result = mlcontract.compile(text, base_dir=tmp_path).run()
    assert result.passed, [c.message for c in result.checks]
    assert [set(done) for done in counted] == [{"kind"}]


# ---- issue 9: the data-reading edges (a check never passes on data it did not read) ------------

def _statuses(result) -> list[str]:
    return [c.status for c in result.checks]


def _ipc_with_two_x(path):
    import pyarrow as pa
    import pyarrow.ipc as ipc

    table = pa.table([pa.array([1, 2, 3]), pa.array([4, 5, 6])], names=["x", "x"])
    with ipc.new_file(str(path), table.schema) as writer:
        writer.write_table(table)


def test_ipc_file_with_a_repeated_column_name_is_an_error(tmp_path):
    """Polars' schema of this file shows one `x`; its streamed reader panics in a thread and the
    batches end: `rows 0`, and `rows <= 5` passed."""
    _ipc_with_two_x(tmp_path / "d.arrow")
    text = 'dataset d = ipc("d.arrow")\nd rows <= 5\nfeature x mean <= 100\n'
    result = mlcontract.compile(text, base_dir=tmp_path).run()
    assert _statuses(result) == ["error", "error"], [c.message for c in result.checks]
    assert all("has the column `x` more than once" in c.message for c in result.checks)
    assert not result.passed


def test_parquet_file_with_a_repeated_column_name_is_an_error(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table([pa.array([1, 2]), pa.array([3, 4])], names=["x", "x"]), tmp_path / "d.parquet")
    result = mlcontract.compile('dataset d = parquet("d.parquet")\nd rows <= 5\n', base_dir=tmp_path).run()
    assert _statuses(result) == ["error"] and "more than one" in result.checks[0].message


@pytest.mark.parametrize("line", ['{"x": 1, "x": 100}', '{"x": 1, "s": {"k": 1, "k": 2}}'], ids=["top", "nested"])
def test_ndjson_object_with_a_repeated_key_is_an_error(tmp_path, line):
    """Polars keeps the first of a repeated key: `x max` would read 1 where the file says 100."""
    (tmp_path / "d.ndjson").write_text('{"x": 2, "s": {"k": 0}}\n' + line + "\n")
    text = 'dataset d = ndjson("d.ndjson")\nfeature x max <= 50\nd rows >= 1\n'
    result = mlcontract.compile(text, base_dir=tmp_path).run()
    assert _statuses(result) == ["error", "error"], [c.message for c in result.checks]
    assert "line 2 has the key" in result.checks[0].message and "twice" in result.checks[0].message


def test_ndjson_repeated_key_is_found_when_pyarrow_refuses_the_file_for_another_reason(tmp_path):
    """A key whose type changes makes pyarrow's reader refuse the chunk: it is read line by line."""
    (tmp_path / "d.ndjson").write_text('{"x": 1, "y": 1}\n{"x": 2, "y": "a"}\n{"x": 3, "x": 4, "y": 2}\n')
    result = mlcontract.compile('dataset d = ndjson("d.ndjson")\nd rows >= 1\n', base_dir=tmp_path).run()
    assert _statuses(result) == ["error"] and "line 3 has the key `x` twice" in result.checks[0].message


def test_ndjson_keys_after_the_first_lines_are_read(tmp_path):
    """Polars infers an NDJSON schema from its first 100 lines and drops keys first seen later;
    the whole file is inferred instead, so `b` is a column with its values."""
    lines = [f'{{"a": {i}}}' for i in range(300)] + ['{"a": 1, "b": 7}']
    (tmp_path / "d.ndjson").write_text("\n".join(lines) + "\n")
    text = 'dataset d = ndjson("d.ndjson")\nfeature b max == 7\nfeature * null_rate <= 1\n'
    result = mlcontract.compile(text, base_dir=tmp_path).run()
    assert _statuses(result) == ["pass"] * 3, [c.message for c in result.checks]
    assert {c.feature for c in result.checks[1:]} == {"a", "b"}


def test_ndjson_keys_outside_a_given_inference_window_are_an_error(tmp_path):
    lines = [f'{{"a": {i}}}' for i in range(50)] + ['{"a": 1, "b": 7}']
    (tmp_path / "d.ndjson").write_text("\n".join(lines) + "\n")
    text = 'dataset d = ndjson("d.ndjson", infer_schema_length=10)\nd rows == 51\nfeature a max <= 100\n'
    result = mlcontract.compile(text, base_dir=tmp_path).run()
    assert _statuses(result) == ["error", "error"]
    assert "the key `b` is not among the columns" in result.checks[0].message


def test_pandas_frame_with_a_repeated_column_name_is_an_error():
    frame = pd.DataFrame([[1, 2], [3, 4]], columns=["x", "x"])
    result = run("d rows >= 1\nfeature x mean >= 0\n", d=frame)
    assert _statuses(result) == ["error", "error"]
    assert "the pandas frame has the column `x` more than once" in result.checks[0].message


def _rows_parquet(path, n: int = 1000):
    pl.DataFrame({"x": np.arange(n, dtype=float)}).write_parquet(path)


def test_a_streamed_scan_that_stops_early_is_an_error(tmp_path, monkeypatch):
    """A reader that ends its batches early (as Polars' does after a panic in one of its threads)
    reads fewer rows than the file records: an error, never a smaller dataset."""
    from mlcontract.engines.base import Settings

    _rows_parquet(tmp_path / "d.parquet")
    contract = mlcontract.compile('dataset d = parquet("d.parquet")\nd rows <= 5000\nfeature x mean <= 1e6\n',
                                  base_dir=tmp_path)
    assert contract.plan.scans[0].mode == "stream"
    batches_of_100 = Settings(chunk_rows=100)
    assert contract.run(settings=batches_of_100).passed  # reading every batch: the counts agree
    original = pl.LazyFrame.collect_batches

    def first_batches_only(self, *args, **kwargs):
        return iter(list(original(self, *args, **kwargs))[:3])

    monkeypatch.setattr(pl.LazyFrame, "collect_batches", first_batches_only)
    result = contract.run(settings=batches_of_100)
    assert _statuses(result) == ["error", "error"], [c.message for c in result.checks]
    assert "read 300 rows, but d.parquet records 1,000" in result.checks[0].message


def test_an_in_memory_read_that_returns_fewer_rows_is_an_error(tmp_path, monkeypatch):
    from mlcontract.engines import local as execute

    _rows_parquet(tmp_path / "d.parquet")
    contract = mlcontract.compile('dataset d = parquet("d.parquet")\nfeature x p50 <= 1e6\n', base_dir=tmp_path)
    original = execute._read_frame
    monkeypatch.setattr(execute, "_read_frame", lambda lazy, present: original(lazy, present).head(10))
    result = contract.run()
    assert _statuses(result) == ["error"] and "read 10 rows" in result.checks[0].message


def _panic(*args, **kwargs):
    from polars.exceptions import PanicException

    raise PanicException("assertion `left == right` failed")


@pytest.mark.parametrize("target", ["collect_batches", "collect"])
def test_an_engine_panic_while_reading_is_an_error_result(tmp_path, monkeypatch, target):
    """pyo3's PanicException derives from BaseException: `except Exception` let it crash the run."""
    _rows_parquet(tmp_path / "d.parquet")
    check = "feature x mean <= 1e6" if target == "collect_batches" else "feature x p50 <= 1e6"
    contract = mlcontract.compile(f'dataset d = parquet("d.parquet")\n{check}\n', base_dir=tmp_path)
    monkeypatch.setattr(pl.LazyFrame, target, _panic)
    result = contract.run()
    assert _statuses(result) == ["error"] and "left == right" in result.checks[0].message


def test_an_engine_panic_in_column_work_is_an_error_result(tmp_path, monkeypatch):
    from mlcontract.engines import local as execute

    _rows_parquet(tmp_path / "d.parquet")
    contract = mlcontract.compile('dataset d = parquet("d.parquet")\nfeature x mean <= 1e6\nd rows >= 1\n',
                                  base_dir=tmp_path)
    monkeypatch.setattr(execute, "_column_request", _panic)
    result = contract.run()
    assert _statuses(result) == ["error", "pass"] and "PanicException" in result.checks[0].message


def test_an_engine_panic_reading_a_schema_is_an_error_result(tmp_path, monkeypatch):
    _rows_parquet(tmp_path / "d.parquet")
    monkeypatch.setattr(pl.LazyFrame, "collect_schema", _panic)
    result = mlcontract.compile('dataset d = parquet("d.parquet")\nd rows >= 1\n', base_dir=tmp_path).run()
    assert _statuses(result) == ["error"] and "left == right" in result.checks[0].message


def test_engine_panics_never_reach_the_command_line_as_a_traceback(tmp_path, monkeypatch, capsys):
    """`mlc plan` (schemas), `mlc profile` (reading) and `mlc check` (a panic outside any check)."""
    from mlcontract import cli

    _rows_parquet(tmp_path / "d.parquet")
    (tmp_path / "c.mlc").write_text('dataset d = parquet("d.parquet")\nd rows >= 1\n')
    monkeypatch.setattr(pl.LazyFrame, "collect_schema", _panic)
    assert cli.main(["plan", str(tmp_path / "c.mlc")]) == 0
    monkeypatch.undo()
    monkeypatch.setattr(pl.LazyFrame, "collect", _panic)
    assert cli.main(["profile", str(tmp_path / "d.parquet"), "-o", str(tmp_path / "p.json")]) == 1
    # The panic now comes from the footer's row count (Polars' collect of a bare len), read before
    # the profile's columns: "cannot read FILE: <panic>", where it was "cannot profile FILE: <panic>".
    err = capsys.readouterr().err
    assert err.startswith("mlc: error: ") and "cannot read" in err and "left == right" in err, err
    monkeypatch.undo()
    monkeypatch.setattr("mlcontract.report.formats.terminal.render", _panic)
    assert cli.main(["check", str(tmp_path / "c.mlc")]) == 1
    assert "mlc: error: the data engine failed: assertion" in capsys.readouterr().err


@pytest.mark.slow
def test_mlc_profile_of_an_ipc_file_with_a_repeated_column_is_an_error(tmp_path):
    from conftest import run_cli

    _ipc_with_two_x(tmp_path / "d.arrow")
    done = run_cli("profile", str(tmp_path / "d.arrow"), "-o", str(tmp_path / "p.json"))
    assert done.returncode == 1, done.stderr
    assert "has the column `x` more than once" in done.stderr and "Traceback" not in done.stderr


WRITERS = {
    "parquet": lambda frame, path: frame.write_parquet(path),
    "ipc": lambda frame, path: frame.write_ipc(path),
    "csv": lambda frame, path: frame.write_csv(path),
    "ndjson": lambda frame, path: frame.write_ndjson(path),
}


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_a_path_is_read_as_it_is_written(tmp_path, kind):
    """`prod[1].parquet` is that file: Polars' globbing would read `prod1.parquet`."""
    WRITERS[kind](pl.DataFrame({"a": [1, 2]}), tmp_path / f"prod1.{kind}")
    WRITERS[kind](pl.DataFrame({"a": list(range(9))}), tmp_path / f"prod[1].{kind}")
    text = f'dataset d = {kind}("prod[1].{kind}")\nd rows == 9\nfeature a max == 8\n'
    result = mlcontract.compile(text, base_dir=tmp_path).run()
    assert _statuses(result) == ["pass", "pass"], [c.message for c in result.checks]


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_glob_true_reads_the_files_a_pattern_matches(tmp_path, kind):
    WRITERS[kind](pl.DataFrame({"a": [1, 2]}), tmp_path / f"part-1.{kind}")
    WRITERS[kind](pl.DataFrame({"a": [3, 4, 5]}), tmp_path / f"part-2.{kind}")
    WRITERS[kind](pl.DataFrame({"a": [100]}), tmp_path / f"other.{kind}")
    text = (f'dataset d = {kind}("part-*.{kind}", glob=true)\ndataset n = {kind}("none-*.{kind}", glob=true)\n'
            f'dataset literal = {kind}("part-*.{kind}")\nd rows == 5\nfeature a of d max == 5\nn rows >= 0\n'
            "literal rows >= 0\n")
    result = mlcontract.compile(text, base_dir=tmp_path).run()
    assert _statuses(result) == ["pass", "pass", "error", "error"], [c.message for c in result.checks]
    assert "no file matches none-*." in result.checks[2].message
    assert "file not found" in result.checks[3].message and "glob=true" in result.checks[3].message


def _disagreeing_parts(folder, second: pl.DataFrame):
    folder.mkdir()
    pl.DataFrame({"a": [1, 2], "b": ["x", "y"]}).write_parquet(folder / "p1.parquet")
    second.write_parquet(folder / "p2.parquet")


@pytest.mark.parametrize("second,problem", [
    (pl.DataFrame({"a": ["s", "t"], "b": ["x", "y"]}), "`a` is Int64 in parts/p1.parquet but String in parts/p2.parquet"),
    (pl.DataFrame({"a": [3], "b": ["z"], "c": [1.0]}), "`c` is in parts/p2.parquet but not in parts/p1.parquet"),
    (pl.DataFrame({"a": [3]}), "`b` is in parts/p1.parquet but not in parts/p2.parquet"),
], ids=["type", "extra column", "missing column"])
@pytest.mark.parametrize("path", ['parquet("parts")', 'parquet("parts/p*.parquet", glob=true)'], ids=["folder", "glob"])
def test_files_that_disagree_on_the_schema_are_an_error_for_every_check(tmp_path, second, problem, path):
    """Polars takes the first file's schema: `rows` (metadata) and `schema matches` (the first
    file) passed on files that were never compared."""
    _disagreeing_parts(tmp_path / "parts", second)
    pl.DataFrame({"a": [1], "b": ["x"]}).write_parquet(tmp_path / "ref.parquet")
    text = (f'dataset d = {path}\ndataset ref = parquet("ref.parquet")\nd rows >= 1\nschema of d matches ref\n'
            "feature a of d mean >= 0\nfeature b of d distinct >= 1\n")
    result = mlcontract.compile(text, base_dir=tmp_path).run()
    assert _statuses(result) == ["error"] * 4, [c.message for c in result.checks]
    assert all(problem in c.message and "files disagree" in c.message for c in result.checks), result.checks[0].message


def test_a_folder_whose_files_agree_is_one_dataset(tmp_path):
    (tmp_path / "parts" / "sub").mkdir(parents=True)
    pl.DataFrame({"a": [1, 2]}).write_parquet(tmp_path / "parts" / "p1.parquet")
    pl.DataFrame({"a": [3]}).write_parquet(tmp_path / "parts" / "sub" / "p2.parquet")
    text = 'dataset d = parquet("parts")\nd rows == 3\nfeature a mean == 2\nfeature a p50 == 2\n'
    result = mlcontract.compile(text, base_dir=tmp_path).run()
    assert _statuses(result) == ["pass"] * 3, [c.message for c in result.checks]


def _split_with_index(tmp_path, kind: str = "parquet"):
    """A labelled frame split by train_test_split (a shuffled integer index) and saved by
    pandas' to_parquet (or to_feather), which stores that index as the column `__index_level_0__`."""
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame({"f1": rng.normal(size=n), "f2": rng.normal(size=n)})
    frame["y"] = (frame["f1"] + 0.3 * rng.normal(size=n) > 0).astype(int)
    train, holdout = train_test_split(frame, test_size=0.25, random_state=0)
    for frame, name in ((train, "train"), (holdout, "holdout")):
        if kind == "parquet":
            frame.to_parquet(tmp_path / f"{name}.parquet")
        else:
            frame.to_feather(tmp_path / f"{name}.{kind}")
    return train, holdout


@pytest.mark.parametrize("kind", ["parquet", "ipc"])
def test_a_pandas_index_stored_in_the_file_is_not_a_feature(tmp_path, kind):
    """The model was fitted on the frame without its index; fed `__index_level_0__` too, sklearn
    raised "feature names unseen at fit time". The index is not fed to models, not in `*`
    selectors, not in schema checks (the reference here has a plain range index, stored as
    metadata only)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train, holdout = _split_with_index(tmp_path, kind)
    read_schema = pl.read_parquet_schema if kind == "parquet" else pl.read_ipc_schema
    assert "__index_level_0__" in read_schema(tmp_path / f"train.{kind}")
    train.reset_index(drop=True).to_parquet(tmp_path / "plain.parquet")
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(train[["f1", "f2"]], train["y"])
    text = (f'dataset training = {kind}("train.{kind}")\ndataset holdout = {kind}("holdout.{kind}")\n'
            'dataset plain = parquet("plain.parquet")\nlabel y\n'
            "accuracy on holdout >= 0.5\nfeature * of holdout null_rate <= 0\nschema of holdout matches plain\n"
            "schema of training matches holdout\nfeature __index_level_0__ of holdout min >= 0\n")
    result = mlcontract.compile(text, base_dir=tmp_path, models={"m": model}).run()
    assert _statuses(result) == ["pass"] * 6, [c.message for c in result.checks]
    expected = accuracy_score(holdout["y"], model.predict(holdout[["f1", "f2"]]))
    assert result.checks[0].value == pytest.approx(expected)
    assert {c.feature for c in result.checks[1:3]} == {"f1", "f2"}
    assert result.checks[5].value == holdout.index.min()  # named explicitly, the index is still readable


def test_glob_true_takes_the_contracts_folder_literally(tmp_path):
    folder = tmp_path / "runs[2]"
    folder.mkdir()
    pl.DataFrame({"a": [1, 2, 3]}).write_parquet(folder / "part-1.parquet")
    (tmp_path / "runs2").mkdir()
    pl.DataFrame({"a": [1]}).write_parquet(tmp_path / "runs2" / "part-1.parquet")
    result = mlcontract.compile('dataset d = parquet("part-*.parquet", glob=true)\nd rows == 3\n', base_dir=folder).run()
    assert _statuses(result) == ["pass"], result.checks[0].message


@pytest.mark.parametrize("kind", ["parquet", "ipc"])
def test_row_counts_of_files_pyarrow_cannot_read_come_from_polars(tmp_path, kind):
    """pyarrow refuses 128-bit integers in a footer that Polars reads: the recorded row count
    then comes from Polars' reading of the footer, and the checks run."""
    WRITERS[kind](pl.DataFrame({"x": pl.Series(range(5), dtype=pl.Int128)}), tmp_path / f"d.{kind}")
    result = mlcontract.compile(f'dataset d = {kind}("d.{kind}")\nd rows == 5\nfeature x max <= 10\n',
                                base_dir=tmp_path).run()
    assert _statuses(result) == ["pass", "pass"], [c.message for c in result.checks]


def test_a_profile_leaves_out_a_pandas_index_as_the_contracts_checks_do(tmp_path):
    _split_with_index(tmp_path)
    mlcontract.profile(tmp_path / "holdout.parquet", tmp_path / "holdout.profile.json")
    text = ('dataset holdout = parquet("holdout.parquet")\ndataset prof = profile("holdout.profile.json")\n'
            "schema of holdout matches prof\nfeature * of prof null_rate <= 0\n")
    result = mlcontract.compile(text, base_dir=tmp_path).run()
    assert _statuses(result) == ["pass"] * 4, [c.message for c in result.checks]
    assert [c.feature for c in result.checks[1:]] == ["f1", "f2", "y"]


def test_history_and_edge_case_row_paths_are_literal_too(tmp_path):
    """`[1]` in a history or `handles rows from` path is part of the name, not a pattern."""
    from mlcontract.resolve.contract import HistorySource
    from mlcontract.sources import load_history
    from mlcontract.models.robustness import read_rows

    pl.DataFrame({"epoch": [1, 2], "val_loss": [0.5, 0.4]}).write_csv(tmp_path / "run1.csv")
    pl.DataFrame({"x": [1]}).write_parquet(tmp_path / "rows1.parquet")
    pl.DataFrame({"x": [1]}).write_ndjson(tmp_path / "rows1.ndjson")
    for reader, name in ((lambda p: load_history(HistorySource("run", "csv", p)), "run[1].csv"),
                         (lambda p: read_rows(str(p)), "rows[1].parquet"),
                         (lambda p: read_rows(str(p)), "rows[1].ndjson")):
        with pytest.raises(Exception):  # the literal name does not exist: nothing is read
            reader(tmp_path / name)


# ---- speed without a changed number (issues 10 and 15) ---------------------------------------------
def test_a_streamed_scan_gives_the_same_numbers_every_run(tmp_path):
    """The batches come in file order: a mean and a std merge chunk by chunk, and in the order
    reader threads happened to finish they differed in the last bits from one run to the next
    (3-5 distinct results in 10 runs of this file before)."""
    rng = np.random.default_rng(0)
    n = 64_000
    x = rng.normal(size=n) * 10.0 ** rng.integers(-8, 9, n)  # magnitudes that make the order show
    pl.DataFrame({"x": x}).write_parquet(tmp_path / "d.parquet", row_group_size=1000)
    contract = mlcontract.compile('dataset d = parquet("d.parquet")\nfeature x mean <= 1e300\nfeature x std <= 1e300\n',
                                  base_dir=tmp_path)
    assert contract.plan.scans[0].mode == "stream"
    assert len({tuple(c.value for c in contract.run().checks) for _ in range(10)}) == 1


def _reference_pair(tmp_path, n=120_000):
    rng = np.random.default_rng(2)
    ref, cur = rng.normal(size=n), rng.normal(0.2, 1.1, n)
    ref[rng.random(n) < 0.01] = np.nan
    pl.DataFrame({"x": ref}).write_parquet(tmp_path / "ref.parquet")
    pl.DataFrame({"x": cur}).write_parquet(tmp_path / "cur.parquet")
    return ref, cur


def test_a_reference_column_is_read_once_for_its_summary_edges_and_histogram(tmp_path, monkeypatch):
    """The reference's summary, bin edges and histogram on them: one pass that summarizes and
    counts the selection's buckets, one that gathers the buckets holding the edges' ranks, and no
    histogram pass (the selection gives it). Before: a summary pass, two selection passes and a
    histogram pass. The psi still equals numpy's."""
    from mlcontract import _kernels
    from mlcontract.engines import columns

    ref, cur = _reference_pair(tmp_path)
    contract = mlcontract.compile('dataset cur = parquet("cur.parquet")\ndataset ref = parquet("ref.parquet")\n'
                                  'feature x psi < 10 vs ref\nfeature x mean <= ref + 1\n', base_dir=tmp_path)

    def not_again(*args, **kwargs):
        raise AssertionError("read the reference column again")

    for name in ("summarize", "bucket_counts", "histogram"):
        monkeypatch.setattr(_kernels, name, not_again)
    monkeypatch.setattr(columns, "sorted_finite", not_again)
    result = contract.run()
    assert _statuses(result) == ["pass", "pass"], [c.message for c in result.checks]
    finite = ref[np.isfinite(ref)]
    edges = np.quantile(finite, np.arange(1, 10) / 10)
    shares = [np.bincount(np.searchsorted(edges, v, side="right"), minlength=10) / len(v) for v in (cur, finite)]
    actual, expected = (np.maximum(s, 1e-4) for s in shares)
    assert result.checks[0].value == pytest.approx(float(np.sum((actual - expected) * np.log(actual / expected))),
                                                   rel=1e-12)


# A column's values as the numbers they are, whatever type holds them: value sets, the most
# common value and unseen_rate of 128-bit integers and decimals equal those of the same numbers
# as Int64 / Float64 (128-bit keys were strings, and Decimal("0.10") equals no literal 0.1).
NUMBER_TYPES = {
    "Int128": ([5, 5, 7, None], pl.Int128, pl.Int64),
    "UInt128": ([5, 5, 7, None], pl.UInt128, pl.Int64),
    "Decimal(20, 0)": ([5, 5, 7, None], pl.Decimal(20, 0), pl.Int64),
    "Decimal(10, 2)": ([0.1, 0.1, 2.5, None], pl.Decimal(10, 2), pl.Float64),
}


@pytest.mark.parametrize("source", ["file", "frame"])
@pytest.mark.parametrize("name", sorted(NUMBER_TYPES))
def test_value_sets_read_wide_integers_and_decimals_as_numbers(tmp_path, name, source):
    import decimal

    values, wide, plain = NUMBER_TYPES[name]
    first, second = values[0], values[2]
    given = [None if v is None else decimal.Decimal(str(v)) if wide.is_decimal() else v for v in values]
    frames = {"wide": pl.DataFrame({"x": pl.Series(given, dtype=wide)}),
              "plain": pl.DataFrame({"x": pl.Series(values, dtype=plain)})}
    for name_, frame in frames.items():
        frame.write_parquet(tmp_path / f"{name_}.parquet")
    checks = (f"feature x not in ({first})\nfeature x in ({first}, {second})\nfeature x most_common == {first}\n"
              f"feature x unseen_rate <= 0 vs p\nfeature x distinct == 2\n")

    def checked(subject: str):
        text = f'dataset d = parquet("{subject}.parquet")\ndataset p = parquet("plain.parquet")\n' + checks
        if source == "file":
            return mlcontract.compile(text, base_dir=tmp_path).run().checks
        return mlcontract.compile(text, base_dir=tmp_path).run(datasets={"d": frames[subject], "p": frames["plain"]}).checks

    result, oracle = checked("wide"), checked("plain")
    assert [c.status for c in result] == [c.status for c in oracle] == ["fail", "pass", "pass", "pass", "pass"]
    assert [c.value for c in result] == [c.value for c in oracle]


def test_a_decimal_beyond_its_declared_precision_is_compared_as_it_is(tmp_path):
    """A parquet writer may store 10**18 + 5 in a Decimal(18, 0); Polars reads it as it is, and
    its checks see that value, not the precision's bound."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    stored = np.zeros(4, dtype=np.int64)
    stored[0], stored[2] = 10 ** 18 + 5, 7  # two little-endian 128-bit integers
    pq.write_table(pa.table({"x": pa.Array.from_buffers(pa.decimal128(18, 0), 2, [None, pa.py_buffer(stored.tobytes())])}),
                   tmp_path / "d.parquet")
    (tmp_path / "c.mlc").write_text('dataset d = parquet("d.parquet")\nfeature x between 0 and 1000000000000000000\n'
                                    "feature x out_of_range_rate(0, 1e18) == 0\nfeature x max <= 1e18\n"
                                    "feature x between 1000000000000000000 and 1000000000000000010\n")
    checks = mlcontract.check(tmp_path / "c.mlc").checks
    assert [c.status for c in checks] == ["fail"] * 4
    assert [c.value for c in checks] == [0.5, 0.5, 10 ** 18 + 5, 0.5]


def test_a_range_against_its_own_dataset_is_computed_after_its_summary(tmp_path):
    """`out_of_range_rate vs d` on d itself: every value lies in its own range (0), computed in
    one scan after the column's summary (the scan reads at once instead of streaming, as for a
    histogram on its own edges); it was an error, "summary(x) was not computed"."""
    pl.DataFrame({"x": [1.0, 2.0, None, 3.0], "y": [5, 6, 7, 8]}).write_parquet(tmp_path / "d.parquet")
    contract = mlcontract.compile('dataset d = parquet("d.parquet")\nfeature x out_of_range_rate <= 0 vs d\n'
                                  "feature y out_of_range_rate == 0 vs d\nfeature x mean >= 0\n", base_dir=tmp_path)
    assert "streamed" not in contract.explain()
    checks = contract.run().checks
    assert [(c.status, c.value) for c in checks] == [("pass", 0.0), ("pass", 0.0), ("pass", 2.0)]
