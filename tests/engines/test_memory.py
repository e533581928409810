"""Peak memory of the local engine (issue 15): a column's sorted copy lives only while something
still reads it, and a scan that sorts reads its columns one at a time. Guarded structurally
(what stays in the results, what each read reads); bench/drift.py measures the peak RSS."""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import scipy.stats

import mlcontract
from mlcontract.engines import local
from mlcontract.engines.base import Settings
from mlcontract.plan import requests as rq
from mlcontract.statistics import formulas


class KeepingBackend(local.LocalBackend):
    """The local engine, keeping the results of its last run for the test to look at."""

    def run(self, plan, inputs):
        self.got = super().run(plan, inputs)
        return self.got


def _two_sides(folder, rows: int = 3_000, columns=("a", "b", "c")):
    rng = np.random.default_rng(7)
    for name, shift in (("ref", 0.0), ("cur", 0.2)):
        pl.DataFrame({c: rng.normal(shift, 1.0 + i, rows) for i, c in enumerate(columns)}).write_parquet(
            folder / f"{name}.parquet")
    return {name: pl.read_parquet(folder / f"{name}.parquet") for name in ("ref", "cur")}


HEAD = 'dataset cur = parquet("cur.parquet")\ndataset ref = parquet("ref.parquet")\n'


def _recorded_reads(monkeypatch) -> list[list[str]]:
    """The columns of every read of the local engine (local._read_frame), in the order made."""
    reads: list[list[str]] = []
    original = local._read_frame

    def recording(lazy, present):
        reads.append(list(present))
        return original(lazy, present)

    monkeypatch.setattr(local, "_read_frame", recording)
    return reads


def test_a_reference_sorted_copy_that_only_walks_read_is_dropped_after_the_last_walk(tmp_path):
    frames = _two_sides(tmp_path)
    text = HEAD + "".join(f"feature {c} ks_pvalue >= 0 vs ref\nfeature {c} wasserstein < 100 vs ref\n"
                          for c in ("a", "b", "c"))
    text += "feature c of ref p50 <= 100\n"  # a pNN reads ref's sorted `c` itself: it stays
    engine = KeepingBackend(Settings())
    result = mlcontract.compile(text, base_dir=tmp_path).run(engine=engine)
    assert result.passed, [c.message for c in result.checks]
    kept = {r for r in engine.got if isinstance(r, rq.SortedValues)}
    assert kept == {rq.SortedValues("ref", "c")}
    for check in result.checks[:6]:  # the values are still scipy's (the walk kept what they need)
        cur, ref = frames["cur"][check.feature].to_numpy(), frames["ref"][check.feature].to_numpy()
        oracle = (scipy.stats.ks_2samp(cur, ref).pvalue if check.statistic == "ks_pvalue"
                  else scipy.stats.wasserstein_distance(cur, ref))
        assert check.value == pytest.approx(oracle, rel=1e-9), check.source
    assert result.checks[6].value == np.median(frames["ref"]["c"].to_numpy())


def test_a_scan_that_sorts_reads_one_column_at_a_time(tmp_path, monkeypatch):
    _two_sides(tmp_path)
    reads = _recorded_reads(monkeypatch)
    text = HEAD + "cur rows == 3000\n" + "".join(f"feature {c} ks >= 0 vs ref\n" for c in ("a", "b", "c"))
    result = mlcontract.compile(text, base_dir=tmp_path).run()
    assert [c.status for c in result.checks] == ["pass"] * 4, [c.message for c in result.checks]
    assert sorted(reads) == sorted([["a"], ["b"], ["c"]] * 2)


def test_a_large_scan_that_takes_bin_edges_reads_one_column_at_a_time(tmp_path, monkeypatch):
    """From EDGES_BY_COLUMN_ROWS rows, the reference of a psi (its bin edges) is read a column at a
    time; below it, all at once. The values are the same, to the bit, either way."""
    _two_sides(tmp_path)
    reads = _recorded_reads(monkeypatch)
    text = HEAD + "".join(f"feature {c} psi < 10 vs ref\nfeature {c} mean <= ref * 2 + 1\n" for c in ("a", "b", "c"))
    at_once = mlcontract.compile(text, base_dir=tmp_path).run()
    assert sorted(reads) == [["a", "b", "c"]], reads  # ref read at once; cur is streamed (not _read_frame)
    reads.clear()
    monkeypatch.setattr(local, "EDGES_BY_COLUMN_ROWS", 3_000)
    by_column = mlcontract.compile(text, base_dir=tmp_path).run()
    assert sorted(reads) == [["a"], ["b"], ["c"]], reads
    assert by_column.passed and [c.value for c in by_column.checks] == [c.value for c in at_once.checks]
    reads.clear()
    monkeypatch.setattr(local, "EDGES_BY_COLUMN_ROWS", 3_001)  # the files hold 3,000 rows
    mlcontract.compile(text, base_dir=tmp_path).run()
    assert sorted(reads) == [["a", "b", "c"]], reads


def test_a_column_read_short_makes_every_request_of_the_scan_an_error(tmp_path, monkeypatch):
    """Read one column at a time, each column's rows are compared with the rows the file
    records; one short column fails the whole scan, as a short read of all columns does."""
    _two_sides(tmp_path)
    original = local._read_frame

    def short_b(lazy, present):
        frame = original(lazy, present)
        return frame.head(10) if present == ["b"] else frame

    monkeypatch.setattr(local, "_read_frame", short_b)
    text = 'dataset ref = parquet("ref.parquet")\nref rows == 3000\n' + "".join(
        f"feature {c} p50 <= 100\n" for c in ("a", "b", "c"))
    result = mlcontract.compile(text, base_dir=tmp_path).run()
    assert [c.status for c in result.checks] == ["error"] * 4, [c.message for c in result.checks]
    assert all("read 10 rows, but ref.parquet records 3,000" in c.message for c in result.checks)


@pytest.mark.parametrize("sizes", [(40, 50), (10_000, 9_000), (12_000, 30_000)])
def test_the_walk_carries_what_ks_pvalue_needs(sizes):
    """ks_pvalue from the walk alone equals ks_pvalue from the samples, bit for bit, on both
    sides of scipy's exact/asymptotic switch; and scipy's own p-value (the oracle)."""
    rng = np.random.default_rng(sum(sizes))
    cur, ref = np.sort(rng.normal(0.05, 1, sizes[0])), np.sort(rng.normal(0, 1, sizes[1]))
    walked = formulas.walk(cur, ref)
    assert walked.sizes == sizes
    assert (walked.samples is not None) == (max(sizes) <= 10_000)
    assert formulas.walk_pvalue(walked) == formulas.ks_pvalue(cur, ref, walked.ks)
    assert formulas.walk_pvalue(walked) == pytest.approx(scipy.stats.ks_2samp(cur, ref).pvalue, rel=1e-6)


def test_a_profile_grid_walk_keeps_its_represented_size():
    from mlcontract.profiles import ProfileSample

    grid = ProfileSample.of(np.linspace(-2, 2, 101), 500)  # 101 quantiles standing for 500 values
    cur = np.sort(np.random.default_rng(3).normal(size=400))
    walked = formulas.walk(cur, grid)
    assert walked.sizes == (400, 500) and walked.samples is None
    assert formulas.walk_pvalue(walked) == formulas.ks_pvalue(cur, grid, walked.ks)


def test_a_walk_without_its_sizes_is_an_error_not_a_guess():
    """Another engine (Spark) builds its Walk from its own queries: without the sizes there is
    no p-value to give, and the check is an error."""
    from mlcontract.errors import CheckError

    with pytest.raises(CheckError, match="how many values"):
        formulas.walk_pvalue(formulas.Walk(0.1, 0.2))
