"""Model-side costs (issue 15): a holdout metric against the model's own predict plus
scikit-learn's metric call, and what the latency harness adds to each timed call.

usage: python bench/models.py [--rows 1000000] [--repeat 5] [--calls 5000] [--against OTHER/src]

1. Holdout AUC on --rows rows (10 float features, a binary label; a LogisticRegression fitted
   on 50,000 of them, saved with joblib). Whole processes, round-robin, median of --repeat:
     mlc      `mlc check -q --allow-pickle` of `auc on holdout >= 0.5`
     peer     a script doing the least the same answer needs: Polars reads the parquet file,
              joblib loads the model, predict_proba, sklearn.metrics.roc_auc_score
   target: mlc <= 1.2 x peer (wall; CPU seconds printed too). `--against OTHER/src` also runs
   another build's mlc in the same rounds. Bytecode is cached (a temporary PYTHONPYCACHEPREFIX),
   as an installed package's is.
2. Latency harness overhead, in this process: `p50 latency` (batch 1, --calls calls) of a
   no-op model (predict returns a preallocated array) through mlcontract, against the same
   call timed in a bare perf_counter_ns loop; and of a model that spins for 200 µs, to show
   what a fast model's reported latency includes. target: <= 20 µs per call.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from rss import measure_cpu  # noqa: E402

FEATURES = [f"f{i}" for i in range(10)]
PEER = """
import sys, joblib, polars as pl
from sklearn.metrics import roc_auc_score
frame = pl.read_parquet(sys.argv[1])
model = joblib.load(sys.argv[2])
features = frame.select({features!r}).to_pandas()
print(roc_auc_score(frame["y"].to_numpy(), model.predict_proba(features)[:, 1]))
"""


def write_holdout(folder: Path, rows: int) -> tuple[Path, Path, Path]:
    import joblib
    import polars as pl
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, len(FEATURES)))
    y = (x @ rng.normal(size=len(FEATURES)) + rng.normal(size=rows) > 0).astype(np.int64)
    pl.DataFrame({**{f: x[:, i] for i, f in enumerate(FEATURES)}, "y": y}).write_parquet(folder / "holdout.parquet")
    fitted = LogisticRegression().fit(x[:50_000], y[:50_000])
    joblib.dump(fitted, folder / "model.joblib")
    contract = folder / "auc.mlc"
    contract.write_text('dataset holdout = parquet("holdout.parquet")\nmodel candidate = sklearn("model.joblib")\n'
                        "label y\nauc on holdout >= 0.5\n")
    (folder / "peer.py").write_text(PEER.format(features=FEATURES))
    return contract, folder / "holdout.parquet", folder / "model.joblib"


def holdout_metric(rows: int, repeat: int, against: Path | None = None) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        # Written by a child process: a forked child's peak RSS starts from its parent's.
        subprocess.run([sys.executable, __file__, "--write-only", str(folder), "--rows", str(rows)], check=True)
        contract, data, model = folder / "auc.mlc", folder / "holdout.parquet", folder / "model.joblib"
        env = {**os.environ, "PYTHONPYCACHEPREFIX": str(folder / "pycache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.setdefault("PYTHONPATH", str(HERE.parent / "src"))  # this checkout, unless told otherwise
        mlc = [sys.executable, "-m", "mlcontract", "check", "-q", "--allow-pickle", str(contract)]
        commands: dict[str, tuple[list[str], dict]] = {
            "mlc check (auc on holdout)": (mlc, env),
            "peer: read + predict_proba + roc_auc_score": ([sys.executable, str(folder / "peer.py"), str(data),
                                                            str(model)], env),
        }
        if against:
            commands["mlc check (--against)"] = (mlc, {**env, "PYTHONPATH": str(against.resolve())})
        for command, command_env in commands.values():  # warm the caches; a failing command stops the bench
            code = measure_cpu(command, env=command_env)[2]
            if code != 0:
                sys.exit(f"{' '.join(command)} exited {code}")
        runs: dict[str, list] = {name: [] for name in commands}
        for _ in range(repeat):
            for name, (command, command_env) in commands.items():
                runs[name].append(measure_cpu(command, env=command_env))
    print(f"1. holdout AUC on {rows:,} rows x {len(FEATURES)} features, whole processes, median of {repeat}, "
          f"load {os.getloadavg()[0]:.1f}")
    medians = {}
    for name, measured in runs.items():
        wall = statistics.median(w for w, _, _, _ in measured)
        cpu = statistics.median(c for _, _, _, c in measured)
        medians[name] = (wall, cpu)
        print(f"  {name:<44} wall {wall:6.2f} s  CPU {cpu:6.2f} s  peak RSS {max(r for _, r, _, _ in measured):6.0f} MB")
    peer_wall, peer_cpu = medians["peer: read + predict_proba + roc_auc_score"]
    for name in [n for n in medians if n.startswith("mlc")]:
        mlc_wall, mlc_cpu = medians[name]
        print(f"  {name} / peer: wall {mlc_wall / peer_wall:.2f} (CPU {mlc_cpu / peer_cpu:.2f})   target <= 1.2")


class NoOp:
    """A model that does nothing: what the harness measures of it is the harness."""

    def __init__(self, rows: int = 1):
        self.answer = np.zeros(rows)

    def predict(self, X):
        return self.answer[:len(X)]


class Spinner(NoOp):
    """A model whose call takes `seconds` of busy work (sleep is too coarse for 200 µs)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def predict(self, X):
        until = time.perf_counter() + self.seconds
        while time.perf_counter() < until:
            pass
        return self.answer[:len(X)]


def bare_p50_us(model, frame, calls: int) -> float:
    samples = np.empty(calls, dtype=np.int64)
    for i in range(calls):
        started = time.perf_counter_ns()
        model.predict(frame)
        samples[i] = time.perf_counter_ns() - started
    return float(np.median(samples)) / 1000


def harness_p50_us(model, rows, calls: int) -> float:
    import mlcontract

    text = f"p50 latency <= 10s with {calls} calls warmup 100\n"
    result = mlcontract.compile(text, datasets={"training": rows}, models={"m": model}).run()
    check = result.checks[0]
    if check.status != "pass":
        sys.exit(f"the latency check did not pass: {check.message}")
    return float(check.value) * 1e6


def latency_overhead(calls: int) -> None:
    import pandas as pd

    rng = np.random.default_rng(1)
    rows = pd.DataFrame({f: rng.normal(size=200) for f in FEATURES})
    one = rows.iloc[[0]].reset_index(drop=True)
    print(f"2. latency harness, batch 1, {calls} calls, p50 per call (this process, load {os.getloadavg()[0]:.1f})")
    for name, model in (("no-op model", NoOp()), ("200 µs model", Spinner(200e-6))):
        bare = bare_p50_us(model, one, calls)
        timed = harness_p50_us(model, rows, calls)
        print(f"  {name:<14} bare call {bare:8.2f} µs   through mlc {timed:8.2f} µs   overhead {timed - bare:7.2f} µs"
              f"   target <= 20 µs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--against", type=Path, help="another build's src/ folder, timed in the same rounds")
    parser.add_argument("--skip-latency", action="store_true", help="only the holdout metric")
    parser.add_argument("--write-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_only:
        write_holdout(args.write_only, args.rows)
        return
    holdout_metric(args.rows, args.repeat, args.against)
    if args.skip_latency:
        return
    latency_overhead(args.calls)


if __name__ == "__main__":
    main()
