"""Fuzz campaign (issue 9): many generated contracts through the API and the CLI, counting what
breaks the promise that every verdict is honest.

The contracts come from the generators of the test suite (tests/fuzzgen.py: mutations of the
demo and conformance contracts, truncations, inputs aimed at known bug classes), with other
seeds and in larger numbers than tests/test_fuzz.py runs. Counted:

- tracebacks: through the API, any exception from compile / explain / run other than
  ContractError, and any `internal error` result (an exception the evaluator had to catch);
  through the CLI, an exit code other than 0/1/2, or `Traceback` / `internal error` in its output;
- hangs: a case that takes more than --hang seconds (default 5), twice: a case over it is run
  again, so that a machine busy with other work does not make a hang of a slow moment;
- unlocated diagnostics: a ContractError diagnostic without a span, or whose span is outside
  the text or quotes another line (API); a rendered `path: error:` without `line:col` (CLI);
- for information, `error` results whose message is a bare library exception (`TypeError: ...`):
  they fail closed, but do not explain themselves.

usage: python bench/fuzz_campaign.py [--api 10000] [--cli 500] [--seed 9] [--hang 5]
(from the repository root, with mlcontract importable: PYTHONPATH=src). Exits 1 when any of the
first three counts is not 0; the problems are listed, each with its input.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import mlcontract  # noqa: E402
from mlcontract import ContractError  # noqa: E402

import fuzzgen  # noqa: E402

DEMO_DIR = ROOT / "contracts"
RAW_EXCEPTION = re.compile(r"^\w*(Error|Exception)\b")
RAW_EXAMPLES: dict[str, str] = {}  # one message of each kind of bare library exception
HARD_LIMIT = 120  # seconds: a case still running then is stopped (and counted as a hang)


def spec_dir() -> Path:
    shared = ROOT.parent / "shared" / "spec"
    return shared if (shared / "make_fixture.py").exists() else ROOT / "tests" / "spec"


# ---- the corpus -----------------------------------------------------------------------------------
def api_corpus(total: int, seed: int, conformance: Path) -> list[tuple[str, str, Path, bool]]:
    """(origin, text, base folder, run it?) — about half demo mutants, a third conformance mutants
    (one in three run: they train models), the rest truncations and targeted inputs."""
    demo = (DEMO_DIR / "data_gate.mlc").read_text(encoding="utf-8")  # demo.mlc trains and times models
    conf = (spec_dir() / "churn.mlc").read_text(encoding="utf-8")
    cases = [("demo-truncation", t, DEMO_DIR, True) for t in fuzzgen.truncations(demo, 3)]
    cases += [("conformance-truncation", t, conformance, False) for t in fuzzgen.truncations(conf, 11)]
    targeted = total // 10
    cases += [("demo-targeted", t, DEMO_DIR, True) for t in fuzzgen.targeted(demo, seed + 1, targeted // 2)]
    cases += [("conformance-targeted", t, conformance, False) for t in fuzzgen.targeted(conf, seed + 2, targeted // 2)]
    rest = max(0, total - len(cases))
    conf_count = rest // 3
    cases += [("conformance-mutant", t, conformance, i % 3 == 0)
              for i, t in enumerate(fuzzgen.mutants(conf, seed + 3, conf_count))]
    cases += [("demo-mutant", t, DEMO_DIR, True) for t in fuzzgen.mutants(demo, seed + 4, rest - conf_count)]
    return cases


# ---- one case through the API ---------------------------------------------------------------------
class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout


def api_case(text: str, base: Path, run: bool, stages: Counter) -> tuple[str | None, str | None, list[str]]:
    """(category, description, raw exception messages): category is traceback / unlocated / None.
    `stages` counts how far each case went: diagnosed, compiled, ran."""
    try:
        contract = mlcontract.compile(text, base_dir=base)
    except ContractError as error:
        stages["diagnosed"] += 1
        if any(d.span is None for d in error.diagnostics):
            unlocated = [d.message for d in error.diagnostics if d.span is None]
            return "unlocated", f"diagnostic without a span: {unlocated[:3]}", []
        problem = fuzzgen._check_diagnostics(error, text)
        return ("unlocated", problem, []) if problem else (None, None, [])
    except Timeout:
        raise
    except Exception:
        return "traceback", "compile() raised " + fuzzgen._last_lines(traceback.format_exc()), []
    stages["compiled"] += 1
    try:
        contract.explain()
        json.loads(contract.explain(as_json=True))
    except Timeout:
        raise
    except Exception:
        return "traceback", "explain() raised " + fuzzgen._last_lines(traceback.format_exc()), []
    if not run or any(check.kind in fuzzgen.SLOW_KINDS for check in contract.checks):
        return None, None, []
    try:
        result = contract.run()
    except Timeout:
        raise
    except Exception:
        return "traceback", "run() raised " + fuzzgen._last_lines(traceback.format_exc()), []
    stages["ran"] += 1
    raw = [c.message for c in result.checks if c.status == "error" and RAW_EXCEPTION.match(c.message)]
    problem = fuzzgen._check_result(result)
    return ("traceback", problem, raw) if problem else (None, None, raw)


def timed_api_case(text: str, base: Path, run: bool, stages: Counter):
    begin = time.perf_counter()
    signal.alarm(HARD_LIMIT)
    try:
        category, what, messages = api_case(text, base, run, stages)
    except Timeout:
        category, what, messages = "hang", f"stopped after {HARD_LIMIT} s", []
    finally:
        signal.alarm(0)
    return category, what, messages, time.perf_counter() - begin


def run_api(cases, hang: float) -> tuple[Counter, list[dict], Counter, Counter]:
    counts, problems, raw, stages = Counter(), [], Counter(), Counter()
    signal.signal(signal.SIGALRM, _alarm)
    started = time.perf_counter()
    for number, (origin, text, base, run) in enumerate(cases, 1):
        category, what, messages, seconds = timed_api_case(text, base, run, stages)
        if category is None and seconds > hang:
            again = timed_api_case(text, base, run, Counter())[3]
            stages["slow once"] += 1
            if again > hang:
                category, what = "hang", f"took {seconds:.1f} s, then {again:.1f} s"
        counts[category or "ok"] += 1
        for message in messages:
            kind = message.split(":", 1)[0]
            raw[kind] += 1
            RAW_EXAMPLES.setdefault(kind, message[:300])
        if category:
            problems.append({"via": "api", "category": category, "origin": origin, "what": what,
                             "seconds": round(seconds, 2), "input": text[:2000]})
        if number % 1000 == 0:
            print(f"  api: {number:,} cases in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return counts, problems, raw, stages


# ---- the CLI: cases run by mlcontract.cli.main in a few driver processes ---------------------------------
DRIVER = r"""
import contextlib, io, json, os, signal, sys, time, traceback
from mlcontract.cli import main
class Timeout(BaseException):
    pass
def alarm(signum, frame):
    raise Timeout
signal.signal(signal.SIGALRM, alarm)
cases = json.load(open(sys.argv[1], encoding="utf-8"))
results = {}
for key, args, cwd in cases:
    os.chdir(cwd)
    out, err = io.StringIO(), io.StringIO()
    begin = time.perf_counter()
    signal.alarm(int(sys.argv[3]))
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except Timeout:
            code = "timeout"
        except BaseException:
            code = "escaped"
            traceback.print_exc()
    signal.alarm(0)
    results[key] = {"code": code, "stdout": out.getvalue()[-4000:], "stderr": err.getvalue()[-4000:],
                    "seconds": time.perf_counter() - begin}
json.dump(results, open(sys.argv[2], "w", encoding="utf-8"))
"""


def run_cli(count: int, seed: int, hang: float, folder: Path) -> tuple[Counter, list[dict], Counter, int]:
    demo = (DEMO_DIR / "data_gate.mlc").read_text(encoding="utf-8")  # demo.mlc trains and times models
    texts = fuzzgen.mutants(demo, seed + 5, count - count // 10) + fuzzgen.targeted(demo, seed + 6, count // 10)
    shutil.copytree(DEMO_DIR / "data", folder / "data")
    shutil.copytree(DEMO_DIR / "runs", folder / "runs")
    cases, inputs = [], {}
    rng = random.Random(seed)
    for i, text in enumerate(texts):
        name = f"case{i}.mlc"
        (folder / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        inputs[name] = text
        extra = rng.choice([[], ["-q"], ["--json", f"case{i}.json"], ["-v"]])
        command = "plan" if i % 5 == 4 else "check"
        cases.append((name, [command, name] + (extra if command == "check" else []), str(folder)))
    counts, problems, codes, slow_once = Counter(), [], Counter(), 0
    for start in range(0, len(cases), 100):
        chunk = cases[start:start + 100]
        results = _drive(chunk, folder)
        if isinstance(results, str):
            counts["traceback"] += len(chunk)
            problems.append({"via": "cli", "category": "traceback", "what": results, "input": ""})
            continue
        slow = [case for case in chunk if classify_cli(case[0], results[case[0]], hang)[0] == "hang"
                and results[case[0]]["code"] != "timeout"]
        if slow:  # run again: a hang is a case that is slow every time, not once on a busy machine
            again = _drive(slow, folder)
            for name, _, _ in slow:
                slow_once += 1
                if isinstance(again, dict) and again[name]["seconds"] <= hang:
                    results[name]["seconds"] = again[name]["seconds"]
        for name, result in results.items():
            category, what = classify_cli(name, result, hang)
            codes[result["code"]] += 1
            counts[category or "ok"] += 1
            if category:
                problems.append({"via": "cli", "category": category, "what": what, "code": result["code"],
                                 "seconds": round(result["seconds"], 2), "input": inputs[name][:2000]})
    return counts, problems, codes, slow_once


def _drive(cases: list, folder: Path) -> dict | str:
    """Run CLI cases in one driver process: {name: result}, or what went wrong with the driver."""
    env = {**os.environ, "COLUMNS": "160", "PYTHONWARNINGS": "ignore"}
    env.pop("MLC_DEBUG", None)
    spec, out = folder / "cases.json", folder / "results.json"
    spec.write_text(json.dumps(cases), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", DRIVER, str(spec), str(out), str(HARD_LIMIT)],
                          capture_output=True, text=True, env=env, timeout=HARD_LIMIT * len(cases))
    if done.returncode or not out.exists():
        return f"driver exited {done.returncode}: {done.stderr[-2000:]}"
    results = json.loads(out.read_text(encoding="utf-8"))
    out.unlink()
    return results


def classify_cli(name: str, result: dict, hang: float) -> tuple[str | None, str | None]:
    output = result["stdout"] + result["stderr"]
    if result["code"] == "timeout":
        return "hang", f"stopped after {HARD_LIMIT} s"
    if result["code"] not in (0, 1, 2) or "Traceback" in output or "internal error" in output:
        return "traceback", f"exit {result['code']}: {output[-1500:]}"
    unlocated = re.findall(rf"^{re.escape(name)}: (?:error|warning): .*$", result["stderr"], re.M)
    if unlocated:
        return "unlocated", "; ".join(unlocated[:3])
    if result["seconds"] > hang:
        return "hang", f"took {result['seconds']:.1f} s"
    return None, None


# ---- main -------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", type=int, default=10_000, help="contracts through the API")
    parser.add_argument("--cli", type=int, default=500, help="contracts through the CLI")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--hang", type=float, default=5.0, help="seconds after which a case counts as a hang")
    parser.add_argument("--problems", type=Path, default=None, help="write the problems found as JSON here")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mlc-fuzz-"))
    conformance = folder / "conformance"
    subprocess.run([sys.executable, str(spec_dir() / "make_fixture.py"), str(conformance)], check=True,
                   capture_output=True, timeout=900)
    started = time.perf_counter()
    cases = api_corpus(args.api, args.seed, conformance)
    api_counts, problems, raw, stages = run_api(cases, args.hang)
    api_seconds = time.perf_counter() - started
    (folder / "cli").mkdir()
    started = time.perf_counter()
    cli_counts, cli_problems, codes, cli_slow_once = run_cli(args.cli, args.seed, args.hang, folder / "cli")
    cli_seconds = time.perf_counter() - started
    problems += cli_problems
    print(f"\nseed {args.seed}, hang threshold {args.hang:g} s\n")
    print("| via | contracts | tracebacks | hangs | unlocated diagnostics | compiled or diagnosed cleanly | seconds |")
    print("|---|---|---|---|---|---|---|")
    for via, counts, seconds in (("API", api_counts, api_seconds), ("CLI", cli_counts, cli_seconds)):
        print(f"| {via} | {sum(counts.values()):,} | {counts['traceback']} | {counts['hang']} | {counts['unlocated']} | "
              f"{counts['ok']:,} | {seconds:.0f} |")
    print(f"\nAPI: {stages['diagnosed']:,} rejected with diagnostics, {stages['compiled']:,} compiled, "
          f"{stages['ran']:,} of them ran; slower than {args.hang:g} s once and run again: {stages['slow once']} "
          f"(CLI: {cli_slow_once})")
    print(f"CLI exit codes: {dict(sorted(codes.items(), key=str))}")
    if raw:
        print(f"\nfor information, `error` results that are a bare library exception: {dict(raw.most_common())}")
        for kind, message in RAW_EXAMPLES.items():
            print(f"    e.g. {message!r}")
    for problem in problems[:30]:
        print(f"\n[{problem['via']} {problem['category']}] {problem['what']}\n    input: {problem['input'][:600]!r}")
    if args.problems:
        args.problems.write_text(json.dumps(problems, indent=1, ensure_ascii=False), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    bad = sum(c[k] for c in (api_counts, cli_counts) for k in ("traceback", "hang", "unlocated"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
