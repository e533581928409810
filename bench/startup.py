"""Start-up of `mlc check -q` on a one-check contract (issue 15: target <= 0.2 s), against the
floors it cannot go below: an empty Python, and Python importing Polars (+ Lark and Typer).

usage: python bench/startup.py [--repeat 21] [--against OTHER/src] [--breakdown]

Every row is a whole process, run round-robin (a machine that slows down hits all alike); it
prints the median and minimum wall time, the median CPU seconds (user + system) and the peak
RSS. mlcontract is imported from $PYTHONPATH, by default this checkout's src/. Bytecode is
cached (in a temporary PYTHONPYCACHEPREFIX, warmed by one run first), as an
installed package's is: without it every run would compile mlcontract's sources again.
`--against OTHER/src` also times another build's sources in the same rounds. `--breakdown` adds
processes that stop on the way (the cyclic GC off, as in `mlc`): mlcontract's modules imported,
then the parser loaded and run once, which split the run into what each part costs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from rss import measure_cpu  # noqa: E402

CONTRACT = 'dataset d = parquet("d.parquet")\nd rows >= 1\n'


def write_contract(folder: Path) -> Path:
    """The data is written by a child process: importing Polars here would grow this process,
    and a forked child's peak RSS starts from its parent's."""
    code = ("import polars as pl, sys; pl.DataFrame({'x': [1.0, 2.0, 3.0], 's': ['a', 'b', 'c']})"
            ".write_parquet(sys.argv[1])")
    subprocess.run([sys.executable, "-c", code, str(folder / "d.parquet")], check=True)
    (folder / "one.mlc").write_text(CONTRACT)
    return folder / "one.mlc"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--against", type=Path, help="another build's src/ folder, timed in the same rounds")
    parser.add_argument("--breakdown", action="store_true", help="also time the imports and the parser alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        contract = write_contract(folder)
        env = {**os.environ, "PYTHONPYCACHEPREFIX": str(folder / "pycache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.setdefault("PYTHONPATH", str(HERE.parent / "src"))  # this checkout, unless told otherwise
        mlc = [sys.executable, "-m", "mlcontract", "check", "-q", str(contract)]
        commands: dict[str, tuple[list[str], dict]] = {
            "python (empty)": ([sys.executable, "-c", "pass"], env),
            "python -c 'import polars'": ([sys.executable, "-c", "import polars"], env),
            "import polars, lark, typer": ([sys.executable, "-c", "import polars, lark, typer"], env),
            "mlc check -q (one check)": (mlc, env),
        }
        if args.breakdown:
            imports = "import gc; gc.disable(); import polars, lark, typer, mlcontract.cli, mlcontract.api"
            parse = "; from mlcontract.language.parse import parser; parser().parse('d rows >= 1\\n')"
            commands["+ mlcontract's modules"] = ([sys.executable, "-c", imports], env)
            commands["+ the parser, one parse"] = ([sys.executable, "-c", imports + parse], env)
        if args.against:
            commands["mlc check -q (--against)"] = (mlc, {**env, "PYTHONPATH": str(args.against.resolve())})
        for command, command_env in commands.values():  # warm the bytecode cache and the OS's file cache
            code = measure_cpu(command, env=command_env)[2]
            if code != 0:
                sys.exit(f"{' '.join(command)} exited {code}")
        runs: dict[str, list] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, (command, command_env) in commands.items():
                runs[name].append(measure_cpu(command, env=command_env))
    print(f"start-up: {CONTRACT.splitlines()[1]!r}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"median of {args.repeat}")
    for name, measured in runs.items():
        walls = [wall for wall, _, _, _ in measured]
        print(f"  {name:<28} median {statistics.median(walls):6.3f} s  (min {min(walls):.3f})  "
              f"CPU {statistics.median(cpu for _, _, _, cpu in measured):6.3f} s  "
              f"peak RSS {max(rss for _, rss, _, _ in measured):5.0f} MB")
    median = statistics.median(wall for wall, _, _, _ in runs["mlc check -q (one check)"])
    print(f"  mlc check -q, median wall {median:.3f} s   target <= 0.2 s   {'met' if median <= 0.2 else 'NOT met'}")


if __name__ == "__main__":
    main()
