"""Compile + plan time of a 1,000-check contract (target: under 1 s), median of 5, in-process,
after imports (the CLI's start-up is measured by bench/drift.py as part of `mlc check`).

usage: python bench/compile_speed.py
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

import mlcontract
from mlcontract.language.parse import parser


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    columns = {f"num_{i}": rng.normal(size=100) for i in range(20)} | {f"cat_{i}": ["a", "b"] * 50 for i in range(5)}
    pl.DataFrame(columns).write_parquet(folder / "ref.parquet")
    pl.DataFrame(columns).write_parquet(folder / "cur.parquet")
    templates = ["feature {c} psi < 0.2 vs ref bins {b}", "feature {c} null_rate <= 5%", "feature {c} js < 0.1 vs ref",
                 "feature {c} chi2_pvalue >= 0.001 vs ref", "feature {c} mean <= ref * 1.1"]
    lines = ['dataset cur = parquet("cur.parquet")', 'dataset ref = parquet("ref.parquet")']
    names = list(columns)
    for i in range(1000):
        template = templates[i % len(templates)]
        numeric_only = "mean" in template or "bins" in template  # mean and bins need a numeric column
        column = names[i % 20] if numeric_only else names[i % len(names)]
        lines.append(template.format(c=column, b=2 + i % 40))
    (folder / "big.mlc").write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    parser()  # the grammar is built once per process
    grammar = time.perf_counter() - started
    times = []
    for _ in range(5):
        started = time.perf_counter()
        contract = mlcontract.compile(folder / "big.mlc")
        times.append(time.perf_counter() - started)
    print(f"1,000 check lines → {len(contract.checks):,} expanded checks, {len(contract.plan.requests):,} statistics")
    print(f"compile + plan: median {statistics.median(times):.3f} s (target < 1 s); grammar build once {grammar:.3f} s")
    new_families(folder, columns)


# The families of issue 13: value sets, aggregates, row filters, keys, patterns, lengths, types and
# schema shape, shares, most_common, missing values.
NEW_TEMPLATES = ['feature {c} in ("a", "c{i}") >= 50%', "feature {n} sum <= 1e9", "cur rows where {n} > 0.{i} >= 0",
                 "cur unique ({c}, {n}) where {n} < {i}", 'feature {c} matches "^[ab]{{1,{i}}}$" >= 99%',
                 "feature {c} length max <= {i}", "feature {n} type Float64", "cur columns >= {i}",
                 'feature {c} shares {{"a": 0.5, "b": 0.5}} linf <= 0.{i}', "feature {c} null_count <= {i}",
                 'feature {c} most_common != "z{i}"', "cur duplicate_count ({c}, {n}) <= {i}"]


def new_families(folder: Path, columns: dict) -> None:
    numeric = [c for c in columns if c.startswith("num_")]
    categorical = [c for c in columns if c.startswith("cat_")]
    lines = ['dataset cur = parquet("cur.parquet")', 'dataset ref = parquet("ref.parquet")', 'missing cat_0 = ("?")']
    for i in range(1000):
        template = NEW_TEMPLATES[i % len(NEW_TEMPLATES)]
        lines.append(template.format(c=categorical[i % len(categorical)], n=numeric[i % len(numeric)], i=1 + i % 97))
    (folder / "new.mlc").write_text("\n".join(lines) + "\n")
    times = []
    for _ in range(5):
        started = time.perf_counter()
        contract = mlcontract.compile(folder / "new.mlc")
        times.append(time.perf_counter() - started)
    print(f"issue 13's families: 1,000 check lines → {len(contract.checks):,} checks, "
          f"{len(contract.plan.requests):,} requests in {len(contract.plan.scans):,} scans")
    print(f"compile + plan: median {statistics.median(times):.3f} s (target < 1 s)")


if __name__ == "__main__":
    sys.exit(main())
