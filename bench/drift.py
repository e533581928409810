"""The drift benchmark of issue 3: mlc against Evidently and plain Polars, in one run.

usage: python bench/drift.py [--rows 1000000] [--repeat 5] [--data DIR] [--peer-python /tmp/peer/bin/python]
                             [--against OTHER/src] [--no-naive]

On gen_drift_data.py data (20 numeric + 5 categorical columns, N rows per side) it times, each
as a whole process (wall clock, median of --repeat runs) with its peak RSS:
  read       Polars reading exactly the columns the contracts use, from both files
             (read, hist, ks and naive run round-robin, so machine drift hits them alike)
  hist       `mlc check` of psi + js + null_rate + mean + between on every column
  ks         `mlc check` of ks_pvalue + wasserstein on every numeric column
  hist15     `mlc check` of issue 15's hist: psi + null_rate on every column, mean on the numeric
             ones (hist above adds js and between: issue 3's contract)
  naive      the hand-written Polars+NumPy psi (peers/naive_polars_psi.py)
  evidently  Evidently 0.7 DataDriftPreset, psi / ks / wasserstein (its own venv; skipped if absent)
and prints the ratios the issue sets targets on. `--against OTHER/src` also runs the hist and ks
contracts with another build's sources (a checkout of an earlier commit with its kernels built in
place) in the same rounds, and prints each build's ratio to the read: an A/B of two builds. Machines
are noisy: compare ratios measured in the same run, not absolute seconds across machines; the load
average is printed before and after (other work on the machine inflates the wall clock far more
than the CPU seconds). `--no-naive` leaves out the naive peer (at 10M rows per side it needs ~9 GB).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from rss import measure_cpu  # noqa: E402

NUMERIC = [f"num_{i}" for i in range(20)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]


def load() -> str:
    """The machine's load average (1, 5, 15 minutes): what else ran while this was timed."""
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def write_contracts(data: Path) -> tuple[Path, Path, Path]:
    data = data.resolve()
    head = f'dataset cur = parquet("{data / "cur.parquet"}")\ndataset ref = parquet("{data / "ref.parquet"}")\n'
    hist = [head]
    for column in NUMERIC + CATEGORICAL:
        hist.append(f"feature {column} psi < 10 vs ref\nfeature {column} js < 1 vs ref\n"
                    f"feature {column} null_rate <= 100%\n")
    for column in NUMERIC:
        hist.append(f"feature {column} mean <= ref * 10 + 10\nfeature {column} between -1000 and 1000\n")
    ks = [head] + [f"feature {c} ks_pvalue >= 0 vs ref\nfeature {c} wasserstein < 100 vs ref\n" for c in NUMERIC]
    hist15 = [head] + [f"feature {c} psi < 10 vs ref\nfeature {c} null_rate <= 100%\n" for c in NUMERIC + CATEGORICAL]
    hist15 += [f"feature {c} mean <= ref * 10 + 10\n" for c in NUMERIC]
    (data / "hist.mlc").write_text("".join(hist))
    (data / "ks.mlc").write_text("".join(ks))
    (data / "hist15.mlc").write_text("".join(hist15))
    return data / "hist.mlc", data / "ks.mlc", data / "hist15.mlc"


def read_command(data: Path) -> list[str]:
    code = ("import polars as pl\n"
            f"for f in ('ref', 'cur'): pl.read_parquet('{data}/' + f + '.parquet', columns={NUMERIC + CATEGORICAL!r})\n")
    return [sys.executable, "-c", code]


def timed(name: str, command: list[str], repeat: int, env=None) -> dict:
    return timed_together({name: command}, repeat, env)[name]


def timed_together(commands: dict[str, list[str]], repeat: int, env=None) -> dict[str, dict]:
    """Run the commands round-robin, `repeat` rounds: a machine that slows down or speeds up
    during the benchmark then affects every command alike, so their ratios stay fair."""
    runs: dict[str, list] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            runs[name].append(measure_cpu(command, env=env))
    rows = {}
    for name, measured in runs.items():
        codes = {code for _, _, code, _ in measured}
        if codes != {0} and not name.startswith("mlc"):
            print(f"  {name}: FAILED (exit {sorted(codes)}); its time is not comparable")
        walls = [w for w, _, _, _ in measured]
        row = {"name": name, "wall": statistics.median(walls), "min": min(walls),
               "rss": max(r for _, r, _, _ in measured), "codes": codes,
               "cpu": statistics.median(c for _, _, _, c in measured)}
        print(f"  {name:<22} median {row['wall']:7.2f} s  (min {row['min']:.2f})  CPU {row['cpu']:6.2f} s  "
              f"peak RSS {row['rss']:7.0f} MB  exit {sorted(codes)}", flush=True)
        rows[name] = row
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--peer-python", default="/tmp/peer/bin/python")
    parser.add_argument("--evidently-repeat", type=int, default=1)
    parser.add_argument("--evidently-methods", default="psi,ks,wasserstein",
                        help="which Evidently peers to run (comma-separated; at 3M rows each takes minutes)")
    parser.add_argument("--against", type=Path, help="another build's src/ folder, timed in the same rounds")
    parser.add_argument("--no-naive", action="store_true", help="leave out the hand-written Polars + NumPy peer")
    args = parser.parse_args()

    data = args.data / f"drift_{args.rows}"
    if not (data / "cur.parquet").exists():
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "peers" / "gen_drift_data.py"), str(args.rows), str(data)], check=True)
    hist, ks, hist15 = write_contracts(data)
    mlc = [sys.executable, "-m", "mlcontract", "check", "-q"]
    print(f"drift benchmark: {args.rows:,} rows per side, {len(NUMERIC)} numeric + {len(CATEGORICAL)} categorical "
          f"columns, {os.cpu_count()} cores, median of {args.repeat}; load average {load()}")
    commands = {
        "read": ("polars read (process)", read_command(data)),
        "hist": ("mlc hist contract", mlc + [str(hist)]),
        "ks": ("mlc ks contract", mlc + [str(ks)]),
        "hist15": ("mlc hist (issue 15)", mlc + [str(hist15)]),
    }
    if not args.no_naive:
        commands["naive"] = ("naive polars psi", [sys.executable, str(HERE / "peers" / "naive_polars_psi.py"), str(data)])
    if args.against:
        other = ["env", f"PYTHONPATH={args.against.resolve()}"] + mlc
        commands["hist_against"] = ("mlc hist (--against)", other + [str(hist)])
        commands["ks_against"] = ("mlc ks (--against)", other + [str(ks)])
        commands["hist15_against"] = ("mlc hist15 (--against)", other + [str(hist15)])
    together = timed_together(dict(commands.values()), args.repeat)
    rows = {key: together[name] for key, (name, _) in commands.items()}
    print(f"  load average after the rounds: {load()}")
    peer = Path(args.peer_python)
    methods = args.evidently_methods.split(",")
    if peer.exists():
        if "psi" in methods:
            rows["evidently_psi"] = timed("evidently psi (all)", [str(peer), str(HERE / "peers" / "peer_evidently.py"),
                                                                  str(data), "psi"], args.evidently_repeat)
        for method in [m for m in ("ks", "wasserstein") if m in methods]:  # numeric columns only
            rows[f"evidently_{method}"] = timed(f"evidently {method} (numeric)",
                                                [str(peer), str(HERE / "evidently_numeric.py"), str(data), method],
                                                args.evidently_repeat)
    else:
        print(f"  (Evidently skipped: no {peer}; see bench/README.md to install it)")
    print("ratios (targets from issue 3)")
    print(f"  hist / read              {rows['hist']['wall'] / rows['read']['wall']:6.2f}   target <= 2"
          f"   (CPU seconds: {rows['hist']['cpu'] / rows['read']['cpu']:.2f})")
    print(f"  ks / read                {rows['ks']['wall'] / rows['read']['wall']:6.2f}   target <= 5"
          f"   (CPU seconds: {rows['ks']['cpu'] / rows['read']['cpu']:.2f})")
    print(f"  hist15 / read            {rows['hist15']['wall'] / rows['read']['wall']:6.2f}   issue 15: <= 1.5 at 1M,"
          f" <= 1.2 at 10M   (CPU seconds: {rows['hist15']['cpu'] / rows['read']['cpu']:.2f})")
    print(f"  ks peak RSS / read's     {rows['ks']['rss'] / rows['read']['rss']:6.2f}   issue 15: <= 1.3")
    print(f"  hist peak RSS            {rows['hist']['rss']:6.0f} MB target <= 1024")
    print(f"  ks peak RSS              {rows['ks']['rss']:6.0f} MB target <= 1024")
    if args.against:
        for kind in ("hist", "ks", "hist15"):
            print(f"  {kind} / read: this build {rows[kind]['wall'] / rows['read']['wall']:.2f}, "
                  f"--against {rows[kind + '_against']['wall'] / rows['read']['wall']:.2f}")
        for kind in ("hist", "ks", "hist15"):
            print(f"  {kind}: this build / --against: wall {rows[kind]['wall'] / rows[kind + '_against']['wall']:.3f}, "
                  f"CPU seconds {rows[kind]['cpu'] / rows[kind + '_against']['cpu']:.3f}")
    if "naive" in rows:
        print(f"  naive polars / hist      {rows['naive']['wall'] / rows['hist']['wall']:6.2f}")
    if "evidently_psi" in rows:
        print(f"  evidently psi / hist     {rows['evidently_psi']['wall'] / rows['hist']['wall']:6.1f}   target >= 50")
        print(f"  evidently psi / hist15   {rows['evidently_psi']['wall'] / rows['hist15']['wall']:6.1f}"
              "   issue 15: >= 60 at 1M, >= 150 at 3M")
    if "evidently_ks" in rows:
        print(f"  evidently ks / ks        {rows['evidently_ks']['wall'] / rows['ks']['wall']:6.1f}   target >= 50")
    if "evidently_wasserstein" in rows:
        print(f"  evidently wasserstein / ks {rows['evidently_wasserstein']['wall'] / rows['ks']['wall']:4.1f}   target >= 50")


if __name__ == "__main__":
    main()
