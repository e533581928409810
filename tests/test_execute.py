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
    from mlcontract import execute

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
    monkeypatch.setattr(execute, "STREAM_CHUNK_ROWS", 777)

    class Counter(execute.Progress):
        batches = 0

        def advance(self, rows):
            Counter.batches += 1

    batched = contract.run(progress=Counter())
    assert Counter.batches > 20  # really streamed: 20,000 rows in batches of 777 (+ the in-memory ref)
    assert [c.status for c in batched.checks] == ["pass"] * len(whole), [c.message for c in batched.checks]
    assert [c.value for c in batched.checks] == pytest.approx(whole, rel=1e-12)


@pytest.mark.parametrize("dtype", ["categorical", "enum"])
def test_dictionary_encoded_columns_are_counted_from_their_codes(dtype):
    """Categorical / Enum columns go through the code-count kernel: same counts as Polars."""
    from mlcontract.columns import dictionary_counts

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
    import mlcontract.execute as execute

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
    import mlcontract.execute as execute

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
    from mlcontract import sources

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
