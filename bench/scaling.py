"""How the cost of a drift contract grows with the data (issue 15): wall time and peak RSS
against rows per side, for the Polars read (the floor) and three ways to run the checks.

usage: python bench/scaling.py [--rows 1000000 3000000 10000000 30000000] [--repeat 3]
                               [--data DIR] [--plot bench/scaling.png] [--json bench/scaling.json]

Data: peers/gen_drift_data.py (20 float columns with 1% NaN, 5 string columns of 50 Zipf
categories) at each size, generated once under --data (30M rows per side take ~6 GB of disk
and ~8 GB of memory to generate). Every row of the table is a whole process (`mlc check -q`
as CI runs it), median wall of --repeat runs (round-robin: a machine that slows down hits
every series alike), peak RSS of that process, CPU seconds (user + system, all threads):

  read            Polars reading the 25 columns of both files (the floor)
  raw vs raw      psi + null_rate on all 25 columns, mean on the 20 numeric ones, cur vs ref
                  (ref read in memory for its own bin edges, cur streamed on them)
  raw vs profile  the same checks against ref's profile (`mlc profile`, made once, not timed):
                  only cur is read, streamed
  streamed        null_rate, mean and between on every column of cur alone: every statistic
                  merges across batches, so memory stays bounded by the batch, not the rows
  ks              ks_pvalue + wasserstein on the 20 numeric columns, cur vs ref (sorts)

It prints the table and the ratios to the read, writes the measurements as JSON, and plots
them (matplotlib: `pip install '.[bench]'`; without it, no plot) for bench/README.md.
"""
from __future__ import annotations

import argparse
import json
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
SERIES = ("read", "raw vs raw", "raw vs profile", "streamed", "ks")


def generate(data: Path, rows: int) -> Path:
    folder = data / f"drift_{rows}"
    if not (folder / "cur.parquet").exists():
        folder.mkdir(parents=True, exist_ok=True)
        print(f"  generating {rows:,} rows per side in {folder}", flush=True)
        subprocess.run([sys.executable, str(HERE / "peers" / "gen_drift_data.py"), str(rows), str(folder)], check=True)
    return folder


def write_contracts(folder: Path, mlc: list[str]) -> dict[str, Path]:
    """The contracts of each series, and ref's profile (made once per size)."""
    cur, ref = folder / "cur.parquet", folder / "ref.parquet"
    profile = folder / "ref.profile.json"
    if not profile.exists():
        subprocess.run(mlc + ["profile", str(ref), "-o", str(profile)], check=True, stdout=subprocess.DEVNULL)
    checks = "".join(f"feature {c} psi < 10 vs ref\nfeature {c} null_rate <= 100%\n" for c in NUMERIC + CATEGORICAL)
    checks += "".join(f"feature {c} mean <= ref * 10 + 10\n" for c in NUMERIC)
    texts = {
        "raw vs raw": f'dataset cur = parquet("{cur}")\ndataset ref = parquet("{ref}")\n' + checks,
        "raw vs profile": f'dataset cur = parquet("{cur}")\ndataset ref = profile("{profile}")\n' + checks,
        "streamed": f'dataset cur = parquet("{cur}")\n' + "".join(
            f"feature {c} null_rate <= 100%\n" for c in NUMERIC + CATEGORICAL) + "".join(
            f"feature {c} mean <= 10\nfeature {c} between -1000 and 1000\n" for c in NUMERIC),
        "ks": f'dataset cur = parquet("{cur}")\ndataset ref = parquet("{ref}")\n' + "".join(
            f"feature {c} ks_pvalue >= 0 vs ref\nfeature {c} wasserstein < 100 vs ref\n" for c in NUMERIC),
    }
    paths = {}
    for name, text in texts.items():
        path = folder / f"scaling_{name.replace(' ', '_')}.mlc"
        path.write_text(text)
        paths[name] = path
    return paths


def read_command(folder: Path) -> list[str]:
    code = ("import polars as pl\n"
            f"for f in ('ref', 'cur'): pl.read_parquet('{folder}/' + f + '.parquet', columns={NUMERIC + CATEGORICAL!r})\n")
    return [sys.executable, "-c", code]


def measure_size(folder: Path, series: list[str], repeat: int, mlc: list[str]) -> dict[str, dict]:
    contracts = write_contracts(folder, mlc)
    commands = {name: read_command(folder) if name == "read" else mlc + ["check", "-q", str(contracts[name])]
                for name in series}
    runs: dict[str, list] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            runs[name].append(measure_cpu(command))
    measured = {}
    for name, results in runs.items():
        codes = sorted({code for _, _, code, _ in results})
        measured[name] = {"wall": statistics.median(w for w, _, _, _ in results),
                          "cpu": statistics.median(c for _, _, _, c in results),
                          "rss_mb": max(r for _, r, _, _ in results), "exit": codes}
    return measured


def plot(results: dict[int, dict[str, dict]], series: list[str], path: Path, note: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter
    except ImportError:
        print("  (no plot: matplotlib is not installed; pip install '.[bench]')")
        return False
    sizes = sorted(results)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name in series:
        points = [(n, results[n][name]) for n in sizes if name in results[n]]
        style = {"linestyle": "--", "color": "black"} if name == "read" else {}
        left.plot([n for n, _ in points], [m["wall"] for _, m in points], marker="o", label=name, **style)
        right.plot([n for n, _ in points], [m["rss_mb"] / 1024 for _, m in points], marker="o", label=name, **style)
    for axis, label in ((left, "wall time (s, median)"), (right, "peak RSS (GB)")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("rows per side")
        axis.set_ylabel(label)
        axis.set_xticks(sizes, [f"{n / 1e6:g}M" for n in sizes])
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 0.5, 1, 2, 5, 10: labels that do not overlap
        axis.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        axis.yaxis.set_minor_formatter(NullFormatter())
        axis.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)
    figure.suptitle(f"mlc drift contracts against rows: 20 numeric + 5 string columns per side ({note})", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    print(f"  plot: {path}")
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000, 30_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--series", nargs="+", default=list(SERIES), choices=SERIES)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--plot", type=Path, default=HERE / "scaling.png")
    parser.add_argument("--json", type=Path, default=HERE / "scaling.json")
    args = parser.parse_args()
    series = ["read"] + [s for s in args.series if s != "read"]
    mlc = [sys.executable, "-m", "mlcontract"]
    note = f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start"
    print(f"scaling: {', '.join(f'{n:,}' for n in args.rows)} rows per side; {note}; median of {args.repeat}")
    results: dict[int, dict[str, dict]] = {}
    for rows in args.rows:
        folder = generate(args.data, rows)
        results[rows] = measure_size(folder, series, args.repeat, mlc)
        read = results[rows]["read"]
        print(f"{rows:>12,} rows per side")
        for name, m in results[rows].items():
            ratio = "" if name == "read" else (f"   wall/read {m['wall'] / read['wall']:5.2f}  CPU/read {m['cpu'] / read['cpu']:5.2f}"
                                               f"  RSS/read {m['rss_mb'] / read['rss_mb']:5.2f}")
            print(f"  {name:<15} wall {m['wall']:7.2f} s  CPU {m['cpu']:7.2f} s  peak RSS {m['rss_mb']:7.0f} MB"
                  f"  exit {m['exit']}{ratio}", flush=True)
        args.json.write_text(json.dumps({"note": note, "repeat": args.repeat,
                                         "results": {str(n): r for n, r in results.items()}}, indent=1))
    plot(results, series, args.plot, f"{note}, median of {args.repeat}")
    print(f"  measurements: {args.json}")


if __name__ == "__main__":
    main()
