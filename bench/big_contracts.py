"""Compile time of multi-megabyte contracts, by shape (issue 9): it must grow linearly.

A contract comes from a pull request, so its size is whatever someone pushes; a compile time
that grows with the square of the size is a way to stall CI. Each shape is compiled (parse,
transform, resolve, plan) in a fresh process, at each size, against a small parquet file;
CPU seconds and wall seconds of the compile alone, after imports. A contract that does not
compile counts too: its diagnostics are built and rendered.

usage: python bench/big_contracts.py [--sizes 1,5] [--shapes continued,short,...]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HEAD = 'dataset training = parquet("train.parquet")\nlabel y\n'

# name: (what it is, a function of the size in bytes giving the body after HEAD)
SHAPES = {
    "continued": ("one statement continued over 300k lines (`training rows \\`)",
                  lambda n: "training rows \\\n" * (n // 16) + ">= 1\n"),
    "continued-error": ("the same, ending in a syntax error",
                        lambda n: "training rows \\\n" * (n // 16) + ">=\n"),
    "short-lines": ("one short check per line, each different",
                    lambda n: "".join(f"feature x mean <= {i}\n" for i in range(n // 25))),
    "syntax-errors": ("one syntax error per line", lambda n: "feature x mean <=\n" * (n // 18)),
    "unknown-names": ("one unknown column per line (a did-you-mean each)",
                      lambda n: "".join(f"feature x{i} mean <= 1\n" for i in range(n // 24))),
    "giant-name": ("one unknown column name of the whole size", lambda n: "feature " + "a" * n + " mean <= 1\n"),
    "giant-string": ("one string literal of the whole size", lambda n: 'contract "' + "a" * n + '"\ntraining rows >= 1\n'),
    "giant-comment": ("one comment of the whole size", lambda n: "# " + "x" * n + "\ntraining rows >= 1\n"),
}

CHILD = r"""
import json, sys, time
import mlcontract
from mlcontract.language.parse import parser
parser()
text = open(sys.argv[1], encoding="utf-8").read()
wall, cpu = time.perf_counter(), time.process_time()
try:
    outcome = f"{len(mlcontract.compile(text, base_dir=sys.argv[2]).checks):,} checks"
except mlcontract.ContractError as error:
    outcome = f"{len(error.diagnostics):,} diagnostics"
    error.render()
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "outcome": outcome}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,5", help="sizes in MB, comma-separated")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    args = parser.parse_args()
    import polars as pl

    folder = Path(tempfile.mkdtemp())
    pl.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]}).write_parquet(folder / "train.parquet")
    print("| shape | size | CPU s | wall s | outcome |\n|---|---|---|---|---|")
    for shape in args.shapes.split(","):
        for megabytes in (float(s) for s in args.sizes.split(",")):
            text = HEAD + SHAPES[shape][1](int(megabytes * 1_000_000))
            path = folder / f"{shape}.mlc"
            path.write_text(text, encoding="utf-8")
            done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(folder)], capture_output=True,
                                  text=True, timeout=1800)
            if done.returncode:
                print(f"| {shape} | {megabytes:g} MB | failed: {done.stderr.strip()[-300:]} |")
                continue
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"| {shape} | {len(text) / 1e6:.1f} MB | {figures['cpu']:.2f} | {figures['wall']:.2f} | "
                  f"{figures['outcome']} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
