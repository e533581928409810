"""What the Cython kernels earn: the same per-column statistics computed by the kernels (as
mlc does) and by pure Polars expressions, in one process, on the drift benchmark data.

usage: python bench/ablation.py [--rows 1000000] [--repeat 7]

Statistics per numeric column: null / NaN / ±inf counts, finite min, max, mean and variance,
the histogram on 10-bin quantile edges, and the count outside a range — the work of a
psi + null_rate + mean + between contract on the current side.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl

from mlcontract.engines import columns as col
from mlcontract.engines.base import Settings
from mlcontract.statistics.formulas import quantile_edges

HERE = Path(__file__).resolve().parent
WORKERS = Settings().threads  # what the local engine uses


def kernels(frame: pl.DataFrame, edges: dict) -> dict:
    def one(name):  # the fused one-pass kernel, as mlc's backend calls it
        summary, (counts,), (outside,) = col.fused_pass(frame[name], [edges[name]], [(-5.0, 5.0)])
        return name, (summary, counts, outside)

    with ThreadPoolExecutor(WORKERS) as pool:
        return dict(pool.map(one, list(edges)))


def polars_expressions(frame: pl.DataFrame, edges: dict) -> dict:
    exprs = []
    for name, cut in edges.items():
        x = pl.col(name)
        finite = x.filter(x.is_finite())
        exprs += [x.null_count().alias(f"{name}:nulls"), x.is_nan().sum().alias(f"{name}:nans"),
                  x.is_infinite().sum().alias(f"{name}:inf"), finite.min().alias(f"{name}:min"),
                  finite.max().alias(f"{name}:max"), finite.mean().alias(f"{name}:mean"),
                  finite.var().alias(f"{name}:var"),
                  (x.is_not_nan() & ((x < -5) | (x > 5))).sum().alias(f"{name}:outside")]  # polars orders NaN above all
        exprs += [(finite >= e).sum().alias(f"{name}:ge{i}") for i, e in enumerate(cut)]
    row = frame.select(exprs).row(0, named=True)
    result = {}
    for name, cut in edges.items():
        at_least = np.array([row[f"{name}:ge{i}"] for i in range(len(cut))])
        total = row[f"{name}:min"] is not None and frame[name].len() - row[f"{name}:nulls"] - row[f"{name}:nans"] \
            - row[f"{name}:inf"]
        counts = -np.diff(np.concatenate([[total], at_least, [0]]))
        result[name] = (row[f"{name}:mean"], counts, row[f"{name}:outside"])
    return result


def median_time(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    args = parser.parse_args()
    data = args.data / f"drift_{args.rows}"
    if not (data / "cur.parquet").exists():
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "peers" / "gen_drift_data.py"), str(args.rows), str(data)], check=True)
    numeric = [f"num_{i}" for i in range(20)]
    ref = pl.read_parquet(data / "ref.parquet", columns=numeric)
    cur = pl.read_parquet(data / "cur.parquet", columns=numeric)
    edges = {c: quantile_edges(col.sorted_finite(ref[c]), 10) for c in numeric}

    fast, slow = kernels(cur, edges), polars_expressions(cur, edges)
    for name in numeric:  # both compute the same numbers
        assert np.array_equal(fast[name][1], slow[name][1]), name
        assert fast[name][2] == slow[name][2] and abs(fast[name][0].mean - slow[name][0]) < 1e-9
    t_kernels = median_time(lambda: kernels(cur, edges), args.repeat)
    t_polars = median_time(lambda: polars_expressions(cur, edges), args.repeat)
    values = args.rows * len(numeric)
    print(f"ablation on {args.rows:,} rows × {len(numeric)} numeric columns ({WORKERS} threads), median of {args.repeat}")
    print(f"  cython kernels        {t_kernels * 1000:8.1f} ms  ({t_kernels / values * 1e9:5.2f} ns/value)")
    print(f"  polars expressions    {t_polars * 1000:8.1f} ms  ({t_polars / values * 1e9:5.2f} ns/value)")
    print(f"  kernels are {t_polars / t_kernels:.1f}x faster")


if __name__ == "__main__":
    main()
