"""Profiles: production without its raw rows. Exact where the docs say exact (equal to the
raw-data values on the same bins), within the stated bound where they say approximate,
a compile-time diagnostic where a profile cannot serve a check; merging adds counts exactly;
files are written atomically and corrupt or foreign files give clear errors."""
from __future__ import annotations

import json
import os

import numpy as np
import polars as pl
import pytest

import mlcontract
from mlcontract import profiles as pf
from mlcontract.errors import ContractError

from conftest import run_cli

EXACT = ["psi", "js", "hellinger", "linf", "kl", "chi2_pvalue"]


def data(n: int, seed: int, shift: float = 0.0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    x[rng.random(n) < 0.03] = np.nan
    return pl.DataFrame({
        "x": x,
        "k": rng.integers(0, 7, n),                      # ties: integer values
        "y": rng.lognormal(0, 1.5, n),                  # skewed
        "c": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]).tolist(),
    }, nan_to_null=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("profiles")
    train, prod = data(6000, 1), data(4000, 2, shift=0.15)
    train.write_parquet(folder / "train.parquet")
    prod.write_parquet(folder / "prod.parquet")
    mlcontract.profile(folder / "prod.parquet", folder / "prod.profile.json")
    return folder


def values(folder, lines: list[str], reference: str):
    text = ('dataset train = parquet("train.parquet")\n'
            'dataset prod = parquet("prod.parquet")\n'
            'dataset profiled = profile("prod.profile.json")\n') + "\n".join(
        line.format(ref=reference) for line in lines) + "\n"
    (folder / "c.mlc").write_text(text)
    result = mlcontract.check(folder / "c.mlc")
    assert all(c.status == "pass" for c in result.checks), [c.message for c in result.checks]
    return [c.value for c in result.checks]


@pytest.mark.parametrize("bins", [10, 5, 20, 2, 36])
def test_histogram_statistics_from_a_profile_equal_the_raw_values(files, bins):
    lines = [f"feature x {s} >= 0 vs {{ref}} bins {bins}" for s in EXACT]
    lines += [f"feature y {s} >= 0 vs {{ref}} bins {bins}" for s in EXACT]
    lines += [f"feature k {s} >= 0 vs {{ref}} bins {bins}" for s in EXACT]
    raw, profiled = values(files, lines, "prod"), values(files, lines, "profiled")
    assert profiled == pytest.approx(raw, rel=1e-12, abs=1e-15)


def test_exact_one_sample_and_category_statistics_from_a_profile(files):
    lines = ["feature x null_rate of {ref} >= 0", "feature c unseen_rate >= 0 vs {ref}", "{ref} rows >= 0",
             "feature x mean <= {ref} * 10", "feature c psi >= 0 vs {ref}", "feature c chi2_pvalue >= 0 vs {ref}",
             "feature x of {ref} std >= 0", "feature x of {ref} min <= 100", "feature x of {ref} max >= -100",
             "feature c of {ref} null_rate >= 0", "feature c of {ref} distinct >= 1", "feature x of {ref} p90 >= -10",
             "feature x of {ref} median >= -10", "feature x wasserstein_norm >= 0 vs {ref}"]
    lines[0] = "feature x of {ref} null_rate >= 0"
    raw, profiled = values(files, lines, "prod"), values(files, lines, "profiled")
    exact, approx = raw[:-1], raw[-1:]
    assert profiled[:-1] == pytest.approx(exact, rel=1e-9)


def test_ks_and_wasserstein_from_a_profile_stay_within_the_stated_bound(files):
    lines = ["feature {c} ks >= 0 vs {{ref}}", "feature {c} wasserstein >= 0 vs {{ref}}"]
    prod = pl.read_parquet(files / "prod.parquet")
    for column in ("x", "y", "k"):
        concrete = [line.format(c=column) for line in lines]
        raw, profiled = values(files, concrete, "prod"), values(files, concrete, "profiled")
        finite = prod[column].cast(pl.Float64).drop_nulls().drop_nans().to_numpy()
        n = finite.size
        assert abs(profiled[0] - raw[0]) <= 1 / pf.GRID + 1 / n
        assert abs(profiled[1] - raw[1]) <= (finite.max() - finite.min()) * (1 / pf.GRID + 1 / n)


def test_ks_pvalue_from_a_profile_uses_the_profiled_count(files):
    raw, profiled = values(files, ["feature x ks_pvalue >= 0 vs {ref}"], "prod"), values(
        files, ["feature x ks_pvalue >= 0 vs {ref}"], "profiled")
    # with the grid's 2521 points standing for 3,880 values the p-value would be far larger
    assert profiled[0] == pytest.approx(raw[0], rel=0.5)


@pytest.mark.parametrize("line,reason", [
    ("feature x psi < 0.2 vs profiled bins 11", "11 bins"),
    ("feature x of profiled between -10 and 10", "outside a range"),
    ("feature x of profiled psi < 0.2 vs train", "not their subject"),
    ("feature k of profiled distinct >= 1", "value counts of a numeric column"),
    ("feature x out_of_range_rate <= 1% vs profiled", "outside a range"),
    ("feature x of profiled p99.9 <= 5", "multiples of 1/2520"),
])
def test_what_a_profile_cannot_serve_is_a_compile_time_diagnostic(files, line, reason):
    text = 'dataset train = parquet("train.parquet")\ndataset profiled = profile("prod.profile.json")\n' + line + "\n"
    with pytest.raises(ContractError) as caught:
        mlcontract.compile(text, base_dir=files)
    message = caught.value.diagnostics[0].message
    assert "`profiled` is a profile, which cannot serve" in message and reason in message


def test_model_checks_on_a_profile_are_diagnostics(files):
    text = ('dataset train = parquet("train.parquet")\ndataset profiled = profile("prod.profile.json")\n'
            'model m = sklearn("m.joblib")\nlabel k\nauc on profiled >= 0.5\n')
    with pytest.raises(ContractError, match="is a profile: it has no rows for model metrics"):
        mlcontract.compile(text, base_dir=files)


def test_merged_profiles_add_counts_exactly(files, tmp_path):
    prod = pl.read_parquet(files / "prod.parquet")
    parts = []
    for i, (start, length) in enumerate([(0, 1000), (1000, 2500), (3500, 500)]):
        path = tmp_path / f"part{i}.json"
        mlcontract.profile(prod.slice(start, length), path)
        parts.append(path)
    done = run_cli("profile", "merge", *map(str, parts), "-o", str(tmp_path / "merged.json"))
    assert done.returncode == 0, done.stderr
    merged = pf.load_profile(tmp_path / "merged.json", "merged")
    whole = pf.load_profile(files / "prod.profile.json", "whole")
    assert merged.rows == whole.rows and not merged.exact and merged.parts == 3
    for column in ("x", "k", "y", "c"):
        a, b = merged.columns[column], whole.columns[column]
        assert (a.rows, a.nulls) == (b.rows, b.nulls)
        if a.kind == "numeric":
            for key in ("rows", "nulls", "nans", "count", "min", "max"):
                assert a.summary[key] == b.summary[key]
            assert a.summary["mean"] == pytest.approx(b.summary["mean"], rel=1e-12)
            assert a.summary["m2"] == pytest.approx(b.summary["m2"], rel=1e-12)
            assert sum(a.counts) == sum(b.counts) == b.summary["count"]
        else:
            assert sorted(map(tuple, a.categories)) == sorted(map(tuple, b.categories))


def test_psi_from_a_merged_profile_is_close_to_the_raw_value(files, tmp_path):
    prod = pl.read_parquet(files / "prod.parquet")
    halves = []
    for i in range(2):
        path = tmp_path / f"h{i}.json"
        mlcontract.profile(prod.slice(i * 2000, 2000), path)
        halves.append(path)
    mlcontract.merge_profiles(halves, files / "merged.profile.json")
    text = ('dataset train = parquet("train.parquet")\ndataset prod = parquet("prod.parquet")\n'
            'dataset merged = profile("merged.profile.json")\n'
            "feature x psi >= 0 vs prod\nfeature x psi >= 0 vs merged\n")
    raw, approx = [c.value for c in mlcontract.compile(text, base_dir=files).run().checks]
    assert approx == pytest.approx(raw, abs=0.01)


def test_profile_is_written_atomically(files, tmp_path, monkeypatch):
    target = tmp_path / "p.json"
    built = mlcontract.profile(files / "prod.parquet", target)
    before = target.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        pf.write_profile(built, target)
    assert target.read_bytes() == before  # the old profile is intact
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]  # and no temporary file is left


@pytest.mark.parametrize("content,message", [
    ('{"format": "mlcontract-profile", "version": 1, "grid": 2520, "rows": 3', "corrupt or truncated"),
    ('{"format": "mlcontract-profile", "version": 99, "grid": 2520, "rows": 1, "columns": {}}', "version 99"),
    ('{"hello": "world"}', "is not an mlcontract profile"),
    ('{"format": "mlcontract-profile", "version": 1, "grid": 2520, "rows": 1, "columns": {"x": {"kind": "numeric",'
     ' "dtype": "Float64", "rows": 1, "nulls": 0}}}', "has no summary"),
])
def test_corrupt_or_foreign_profiles_give_clear_errors(files, tmp_path, content, message):
    (tmp_path / "bad.json").write_text(content)
    (tmp_path / "train.parquet").write_bytes((files / "train.parquet").read_bytes())
    (tmp_path / "c.mlc").write_text('dataset t = parquet("train.parquet")\ndataset p = profile("bad.json")\n'
                                    "feature x psi < 0.2 vs p\np rows >= 1\n")
    code, document, done = _run(tmp_path)
    assert code == 1 and "Traceback" not in done.stderr
    assert all(c["status"] == "error" for c in document["checks"])
    assert message in document["checks"][0]["message"]


def _run(folder):
    from conftest import run_json

    return run_json(folder / "c.mlc", folder)


def test_profile_command_writes_a_profile_and_its_plan_reads_no_rows(files, tmp_path):
    done = run_cli("profile", str(files / "prod.parquet"), "-o", str(tmp_path / "out.json"))
    assert done.returncode == 0 and "profiled 4,000 rows" in done.stderr
    document = json.loads((tmp_path / "out.json").read_text())
    assert document["format"] == "mlcontract-profile" and document["version"] == 1
    assert len(document["columns"]["x"]["quantiles"]) == pf.GRID + 1
    (tmp_path / "train.parquet").write_bytes((files / "train.parquet").read_bytes())
    (tmp_path / "c.mlc").write_text('dataset t = parquet("train.parquet")\ndataset p = profile("out.json")\n'
                                    "feature x psi < 0.2 vs p\n")
    plan = run_cli("plan", str(tmp_path / "c.mlc"))
    assert "(served from the profile, no rows read)" in plan.stdout


def test_profile_rejects_unknown_file_kinds(tmp_path):
    (tmp_path / "x.xlsx").write_text("nope")
    done = run_cli("profile", str(tmp_path / "x.xlsx"))
    assert done.returncode == 2 and "cannot tell the format" in done.stderr
