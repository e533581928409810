"""Larger than memory: a drift contract over 50M rows × (10 numeric + 2 categorical) columns
of parquet, against a profile of the reference, in bounded memory, with a progress bar.

usage: python bench/streaming.py [--rows 50000000] [--reference-rows 2000000] [--data DIR]

Generates the data chunk by chunk (never all in memory), profiles the reference with
`mlc profile`, then runs `mlc check` as a process and reports its wall time and peak RSS
(target: under 2 GB). Uses a few GB of disk under --data.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from rss import measure  # noqa: E402

NUMERIC = [f"num_{i}" for i in range(10)]
CATEGORICAL = ["cat_0", "cat_1"]
CHUNK = 1_000_000


def generate(path: Path, rows: int, seed: int, shift: float) -> None:
    rng = np.random.default_rng(seed)
    categories = np.array([f"c{j}" for j in range(50)])
    p = np.arange(1, 51, dtype=float) ** -1.0
    p /= p.sum()
    writer = None
    try:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            table = {}
            for i, name in enumerate(NUMERIC):
                x = rng.normal(shift * (i % 3 == 0), 1 + 0.1 * i, n)
                x[rng.random(n) < 0.01] = np.nan
                table[name] = x
            for name in CATEGORICAL:
                table[name] = categories[rng.choice(50, size=n, p=p)]
            batch = pa.table(table)
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema)
            writer.write_table(batch, row_group_size=CHUNK)
    finally:
        if writer is not None:
            writer.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--reference-rows", type=int, default=2_000_000)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    args = parser.parse_args()
    folder = args.data / f"stream_{args.rows}"
    folder.mkdir(parents=True, exist_ok=True)
    current, reference = folder / "cur.parquet", folder / "ref.parquet"
    if not current.exists():
        started = time.perf_counter()
        generate(current, args.rows, seed=2, shift=0.05)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.0f} s "
              f"({current.stat().st_size / 1e9:.1f} GB)")
    if not reference.exists():
        generate(reference, args.reference_rows, seed=1, shift=0.0)
    profile = folder / "ref.profile.json"
    mlc = [sys.executable, "-m", "mlcontract"]
    wall, rss, code = measure(mlc + ["profile", str(reference), "-o", str(profile)])
    print(f"mlc profile of {args.reference_rows:,} reference rows: {wall:.1f} s, peak RSS {rss:.0f} MB, exit {code}")
    lines = [f'dataset current = parquet("{current}")', f'dataset reference = profile("{profile}")']
    for name in NUMERIC + CATEGORICAL:
        lines += [f"feature {name} psi < 0.2 vs reference", f"feature {name} js < 0.1 vs reference",
                  f"feature {name} null_rate <= 5%"]
    lines += [f"feature {name} mean <= reference * 1.5 + 1" for name in NUMERIC]
    lines += [f"feature {name} unseen_rate <= 1% vs reference" for name in CATEGORICAL]
    contract = folder / "drift.mlc"
    contract.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "MLC_PROGRESS": "1"}
    wall, rss, code = measure(mlc + ["check", str(contract)], env=env, quiet=False)
    print(f"mlc check of {args.rows:,} rows vs the profile: {wall:.1f} s, peak RSS {rss:.0f} MB "
          f"(target < 2048 MB), exit {code}, {args.rows / wall / 1e6:.1f} M rows/s")


if __name__ == "__main__":
    main()
