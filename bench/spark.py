"""The Spark engine against the local engine and the PySpark a user would write (issue 11).

    python bench/spark.py --rows 10000000            # 10M rows x 25 columns per side
    python bench/spark.py --rows 1000000 --rss-only  # driver RSS of the Spark engine alone
    python bench/spark.py --rows 20000000 --rss-only
    python bench/spark.py --rows 1000000 --variants spark --verbose   # the engine's queries, jobs and times

Data: bench/peers/gen_drift_data.py (20 float columns with 1% NaN, 5 string columns of 50 Zipf
categories), written under bench/data/spark-N/ once. The contract: psi on all 25 columns
against the reference, and mean, std, p95, ks and wasserstein on num_0 … num_4.

Each variant runs in its own process (the driver's peak RSS is that process's; the JVM's, for
Spark, is read from /proc before it exits — in local mode that JVM is driver and executors):
- local:   LocalBackend (Polars + kernels), the `mlc check` engine;
- spark:   SparkBackend on a classic local[2] session;
- pyspark: what a user writes: approxQuantile bin edges (relative error 1e-3) + Bucketizer +
           a groupBy count per column, psi on the driver with the same 1e-4 floor.
Each prints its values; the parent prints wall time, peak RSS and the largest |difference| of
each statistic against the local engine.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NUMERIC = [f"num_{i}" for i in range(20)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
DETAILED = NUMERIC[:5]


def contract_text() -> str:
    lines = ['dataset current = parquet("cur.parquet")', 'dataset reference = parquet("ref.parquet")']
    lines += [f"feature {c} psi < 10 vs reference" for c in NUMERIC + CATEGORICAL]
    for c in DETAILED:
        lines += [f"feature {c} mean <= 100", f"feature {c} std <= 100", f"feature {c} p95 <= 100",
                  f"feature {c} ks <= 1 vs reference", f"feature {c} wasserstein <= 100 vs reference"]
    return "\n".join(lines) + "\n"


def data_folder(rows: int) -> Path:
    folder = HERE / "data" / f"spark-{rows}"
    if not (folder / "cur.parquet").exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "peers" / "gen_drift_data.py"), str(rows), str(folder)], check=True)
    (folder / "bench.mlc").write_text(contract_text())
    return folder


def session(driver_memory: str):
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("mlc-bench")
             .config("spark.driver.memory", driver_memory).config("spark.sql.shuffle.partitions", "8")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def jvm_peak_mb() -> float:
    """VmHWM of this process's java children (the local-mode Spark JVM)."""
    peak = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(os.getpid()) and "java" in fields.get("Name", ""):
            peak = max(peak, float(fields.get("VmHWM", "0 kB").split()[0]) / 1024)
    return peak


# ---- the variants (each in its own process) ---------------------------------------------------------
def run_engine(folder: Path, engine: str, driver_memory: str) -> dict:
    sys.path.insert(0, str(HERE.parent / "src"))
    import mlcontract
    from mlcontract.engines.base import Inputs, Settings
    from mlcontract.report.evaluate import evaluate

    contract = mlcontract.compile(folder / "bench.mlc")
    inputs = Inputs.of(contract.checked)
    extra = {}
    started = time.perf_counter()
    if engine == "local":
        from mlcontract.engines.local import LocalBackend

        got = LocalBackend().run(contract.plan, inputs)
    else:
        from mlcontract.engines.spark import SparkBackend

        spark = session(driver_memory)
        started = time.perf_counter()  # the session start is reported apart
        backend = SparkBackend(Settings(options={"session": spark}))
        got = backend.run(contract.plan, inputs)
        extra = {"queries": backend.queries, "jobs": backend.jobs, "scans": backend.scans, "log": backend.log,
                 "jvm_peak_mb": jvm_peak_mb()}
    wall = time.perf_counter() - started
    result = evaluate(contract.checked, got, wall)
    values = {c.source: c.value for c in result.checks}
    errors = [c.message for c in result.checks if c.status == "error"]
    return {"wall": wall, "values": values, "errors": errors, **extra}


def run_pyspark(folder: Path, driver_memory: str) -> dict:
    import math

    import numpy as np
    from pyspark.ml.feature import Bucketizer

    spark = session(driver_memory)
    started = time.perf_counter()
    cur = spark.read.parquet(str(folder / "cur.parquet"))
    ref = spark.read.parquet(str(folder / "ref.parquet"))
    probabilities = [i / 10 for i in range(1, 10)]
    quantiles = ref.approxQuantile(NUMERIC, probabilities, 1e-3)
    splits = [[-math.inf, *sorted(set(q)), math.inf] for q in quantiles]
    outputs = [f"{c}_bin" for c in NUMERIC]
    bucketizer = Bucketizer(splitsArray=splits, inputCols=NUMERIC, outputCols=outputs, handleInvalid="skip")

    def shares(frame, column) -> dict:
        rows = frame.groupBy(column).count().collect()
        total = sum(r["count"] for r in rows if r[column] is not None)
        return {r[column]: r["count"] / total for r in rows if r[column] is not None}

    def psi(a: dict, b: dict) -> float:
        keys = set(a) | set(b)
        p = np.maximum(np.array([a.get(k, 0.0) for k in keys]), 1e-4)
        q = np.maximum(np.array([b.get(k, 0.0) for k in keys]), 1e-4)
        return float(np.sum((p - q) * np.log(p / q)))

    values = {}
    cur_bins, ref_bins = bucketizer.transform(cur), bucketizer.transform(ref)
    for column, output in zip(NUMERIC, outputs):
        values[f"feature {column} psi < 10 vs reference"] = psi(shares(cur_bins, output), shares(ref_bins, output))
    for column in CATEGORICAL:
        values[f"feature {column} psi < 10 vs reference"] = psi(shares(cur, column), shares(ref, column))
    return {"wall": time.perf_counter() - started, "values": values, "errors": [], "jvm_peak_mb": jvm_peak_mb()}


def child(args) -> None:
    folder = Path(args.folder)
    result = run_pyspark(folder, args.driver_memory) if args.variant == "pyspark" else \
        run_engine(folder, args.variant, args.driver_memory)
    result["driver_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


# ---- the parent --------------------------------------------------------------------------------------
def measure(variant: str, folder: Path, driver_memory: str) -> dict:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", variant, "--folder", str(folder),
                           "--driver-memory", driver_memory], capture_output=True, text=True, check=False)
    line = next((text for text in done.stdout.splitlines() if text.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"{variant} failed:\n{done.stderr[-3000:]}")
    result = json.loads(line[len("RESULT "):])
    result["process_wall"] = time.perf_counter() - started
    return result


def statistic(source: str) -> str:
    return source.split()[2]


def differences(local: dict, other: dict) -> dict:
    worst: dict[str, float] = {}
    for source, value in other["values"].items():
        reference = local["values"].get(source)
        if value is None or reference is None:
            continue
        name = statistic(source)
        worst[name] = max(worst.get(name, 0.0), abs(float(value) - float(reference)))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rss-only", action="store_true", help="only the Spark engine (driver RSS at this size)")
    parser.add_argument("--variants", default="local,spark,pyspark", help="which variants to run (comma-separated)")
    parser.add_argument("--verbose", action="store_true", help="every Spark query of the engine, with its jobs and time")
    parser.add_argument("--driver-memory", default="6g", help="spark.driver.memory of the local[2] JVM")
    parser.add_argument("--child")
    parser.add_argument("--folder")
    parser.add_argument("--variant")
    args = parser.parse_args()
    if args.child:
        args.variant = args.child
        child(args)
        return
    folder = data_folder(args.rows)
    variants = ["spark"] if args.rss_only else args.variants.split(",")
    results = {v: measure(v, folder, args.driver_memory) for v in variants}
    print(f"{args.rows:,} rows x 25 columns per side, {len(contract_text().splitlines()) - 2} checks; "
          f"Spark: local[2], spark.driver.memory={args.driver_memory}")
    print(f"{'variant':<10}{'run wall':>10}{'process':>10}{'driver RSS':>12}{'JVM RSS':>10}  queries (Spark jobs)")
    for name, result in results.items():
        jvm = f"{result['jvm_peak_mb']:,.0f} MB" if "jvm_peak_mb" in result else "-"
        queries = f"{result['queries']} ({result['jobs']})" if "queries" in result else "-"
        print(f"{name:<10}{result['wall']:>9.1f}s{result['process_wall']:>9.1f}s{result['driver_peak_mb']:>9,.0f} MB"
              f"{jvm:>10}  {queries}")
        for dataset, count, jobs, seconds in result.get("scans", []):
            print(f"   scan of {dataset}: {count} queries, {jobs} Spark jobs, {seconds:.1f}s")
        if args.verbose:
            for what, jobs, seconds in result.get("log", []):
                print(f"      {seconds:7.1f}s {jobs:3d} jobs  {what}")
        if result["errors"]:
            print("   errors:", result["errors"][:3])
    if "local" in results:
        for name in ("spark", "pyspark"):
            worst = differences(results["local"], results[name])
            print(f"max |difference| vs local, {name}: " + ", ".join(f"{k} {v:.3g}" for k, v in sorted(worst.items())))


if __name__ == "__main__":
    main()
