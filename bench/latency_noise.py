"""Is `p95 latency <= prod*1.1` noise-proof? (issue 5; results in bench/README.md)

Runs the check REPEATS times (default 20) in two scenarios on the conformance fixture:

  same    the candidate IS prod: both names load the same model file, so any difference is
          machine noise. The check must pass at least 19 times out of 20.
  slower  the candidate is prod wrapped so that every call does the work twice (≥ 2× slower).
          The check must fail every time.

usage: python bench/latency_noise.py [--model prod|candidate] [--repeats 20] [--fixture DIR]
       [--calls 200] [--scenario same|slower|both|demos] [--fixed] [--burn N]

--model picks the fixture's model file used as prod: `prod` (a 300-tree random forest, ~25 ms
per 1-row call) or `candidate` (a logistic-regression pipeline, ~5 ms: relatively noisier).
Without --fixture the fixture is built in a temporary folder with make_fixture.py. --fixed turns
off the extension of compared runs (exactly --calls calls per model), for comparison. --burn N
starts N CPU-burning processes for the duration of the bench: a reproducible noisy machine.
It prints one line per run and a summary; exit status 0 when both targets are met.

--scenario demos runs the line of the bundled example contracts instead (contracts/, skops
models, issue 16): `demo` (contracts/demo.mlc's candidate against prod: must pass every time) and
`rejected` (contracts/rejected.mlc's candidate against prod: must fail every time).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import mlcontract  # noqa: E402


class Twice:
    """A model that does its work twice per call: at least 2× slower than the model it wraps."""

    def __init__(self, model):
        self.model = model
        self.classes_ = getattr(model, "classes_", None)

    def predict(self, X):
        self.model.predict(X)
        return self.model.predict(X)

    def predict_proba(self, X):
        self.model.predict_proba(X)
        return self.model.predict_proba(X)


def contract_text(model_file: str, calls: int) -> str:
    option = f" with {calls} calls" if calls != 200 else ""
    return (
        'dataset training = parquet("data/train.parquet")\n'
        f'model candidate = sklearn("models/{model_file}.joblib")\n'
        f'model prod = sklearn("models/{model_file}.joblib")\n'
        "label churned\n"
        "ignore customer_id\n"
        f"p95 latency <= prod*1.1{option}\n"
    )


def make_fixture(folder: Path) -> None:
    for spec in (ROOT.parent / "shared" / "spec", ROOT / "tests" / "spec"):
        script = spec / "make_fixture.py"
        if script.exists():
            subprocess.run([sys.executable, str(script), str(folder)], check=True)
            return
    sys.exit("make_fixture.py not found (../shared/spec or tests/spec)")


TREES = 'trusted="numpy.dtype,sklearn.tree._tree.Tree"'


def demo_contract_text(rejected: bool, calls: int) -> str:
    """The latency line of contracts/demo.mlc (rejected=False) or contracts/rejected.mlc."""
    option = f" with {calls} calls" if calls != 200 else ""
    candidate = f'skops("models/rejected.skops", {TREES})' if rejected else \
        'skops("models/candidate.skops", trusted="numpy.dtype")'
    return (
        f'dataset training = parquet("data/{"train_export" if rejected else "train"}.parquet")\n'
        f"model candidate = {candidate}\n"
        f'model prod = skops("models/prod.skops", {TREES})\n'
        "label churned\n"
        "ignore customer_id\n"
        f"p95 latency <= prod * 1.1{option}\n"
    )


def one_run(fixture: Path, model_file: str, calls: int, slower: bool, demo: bool = False) -> dict:
    if demo:  # the bundled skops models: no pickle
        contract = mlcontract.compile(demo_contract_text(slower, calls), base_dir=ROOT / "contracts")
    else:
        models = {"candidate": Twice(joblib.load(fixture / "models" / f"{model_file}.joblib"))} if slower else None
        contract = mlcontract.compile(contract_text(model_file, calls), base_dir=fixture, models=models,
                                      allow_pickle=True)  # the fixture's models are joblib files
    started = time.perf_counter()
    result = contract.run()
    check = result.checks[0]
    details = check.details
    prod = details.get("reference_details", {}).get("prod", {})
    return {
        "status": check.status,
        "candidate_p95": check.value,
        "prod_p95": prod.get("p95"),
        "ratio": (details.get("ratio") or {}).get("prod"),
        "calls": details.get("calls"),
        "seconds": time.perf_counter() - started,
        "message": check.message,
    }


def scenario(fixture: Path, model_file: str, calls: int, repeats: int, slower: bool, demo: bool = False) -> list[dict]:
    if demo:
        name = "rejected (contracts/rejected.mlc's candidate)" if slower else "demo (contracts/demo.mlc's candidate)"
        model_file = "prod.skops"
    else:
        name = "slower (candidate does the work twice)" if slower else "same (candidate is the same model file)"
        model_file += ".joblib"
    print(f"\n== {name}: p95 latency <= prod*1.1, prod = models/{model_file}, {repeats} runs", flush=True)
    print(f"{'run':>3}  {'status':6}  {'cand p95':>9}  {'prod p95':>9}  {'ratio':>6}  {'calls':>6}  {'time':>6}")
    runs = []
    for i in range(1, repeats + 1):
        run = one_run(fixture, model_file, calls, slower, demo)
        runs.append(run)
        if run["status"] == "error":
            print(f"{i:>3}  error   {run['message']}", flush=True)
            continue
        print(f"{i:>3}  {run['status']:6}  {run['candidate_p95'] * 1e3:7.2f}ms  {run['prod_p95'] * 1e3:7.2f}ms  "
              f"{run['ratio']:6.3f}  {run['calls']:>6}  {run['seconds']:5.1f}s", flush=True)
    ratios = np.array([r["ratio"] for r in runs if r["ratio"] is not None])
    passed = sum(r["status"] == "pass" for r in runs)
    failed = sum(r["status"] == "fail" for r in runs)
    print(f"-- {passed} passed, {failed} failed, {repeats - passed - failed} errors; ratio min {ratios.min():.3f} "
          f"median {np.median(ratios):.3f} max {ratios.max():.3f}; calls per model "
          f"{min(r['calls'] or 0 for r in runs)}–{max(r['calls'] or 0 for r in runs)}", flush=True)
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("prod", "candidate"), default="prod")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--fixture", type=Path)
    parser.add_argument("--scenario", choices=("same", "slower", "both", "demos"), default="both")
    parser.add_argument("--fixed", action="store_true", help="exactly --calls calls: no extension")
    parser.add_argument("--burn", type=int, default=0, help="CPU-burning neighbour processes to start")
    args = parser.parse_args()
    if args.fixed:
        import mlcontract.models.serving

        mlcontract.models.serving.EXTENSION = 1
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
          + (", extension OFF (exactly --calls calls)" if args.fixed else ""))
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.burn)]
    if burners:
        print(f"{len(burners)} CPU-burning neighbour process{'es' if len(burners) > 1 else ''} running")
    try:
        return run_scenarios(args)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def run_scenarios(args) -> int:
    if args.scenario == "demos":
        return run_demos(args)
    with tempfile.TemporaryDirectory() as tmp:
        fixture = args.fixture or Path(tmp)
        if args.fixture is None:
            make_fixture(fixture)
        ok = True
        if args.scenario in ("same", "both"):
            runs = scenario(fixture, args.model, args.calls, args.repeats, slower=False)
            passed = sum(r["status"] == "pass" for r in runs)
            target = args.repeats - args.repeats // 20
            print(f"target: at least {target} of {args.repeats} pass -> {'MET' if passed >= target else 'MISSED'}")
            ok &= passed >= target
        if args.scenario in ("slower", "both"):
            runs = scenario(fixture, args.model, args.calls, args.repeats, slower=True)
            failed = sum(r["status"] == "fail" for r in runs)
            print(f"target: all {args.repeats} fail -> {'MET' if failed == args.repeats else 'MISSED'}")
            ok &= failed == args.repeats
    return 0 if ok else 1


def run_demos(args) -> int:
    """The bundled example contracts' line: the demo's candidate must pass every run, the
    rejected candidate fail every run."""
    runs = scenario(ROOT / "contracts", "", args.calls, args.repeats, slower=False, demo=True)
    passed = sum(r["status"] == "pass" for r in runs)
    print(f"target: all {args.repeats} pass -> {'MET' if passed == args.repeats else 'MISSED'}")
    runs = scenario(ROOT / "contracts", "", args.calls, args.repeats, slower=True, demo=True)
    failed = sum(r["status"] == "fail" for r in runs)
    print(f"target: all {args.repeats} fail -> {'MET' if failed == args.repeats else 'MISSED'}")
    return 0 if passed == args.repeats and failed == args.repeats else 1


if __name__ == "__main__":
    sys.exit(main())
