"""Report formats on a 1,000-check contract: writing every format (terminal, JSON, JUnit,
Markdown, HTML, GitHub annotations: every format of the registry, report.report_formats())
against the terminal report alone.

    PYTHONPATH=src python bench/report_formats.py [--repeat 7]

The contract: 250 numeric features × 4 checks (psi and js vs a shifted reference, null_rate,
mean), 50 of the features drifted so that their checks fail (the reports list failures with
their messages and plots). The run itself is not timed: only writing the reports from its
result. Acceptance (issue 12): all formats in under 2× the terminal report alone.
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

import mlcontract
from mlcontract.report import ReportContext, report_formats, write_reports

FEATURES, ROWS, DRIFTED = 250, 20_000, 50
CONTRACT = ("feature * psi < 0.2 vs prod\nfeature * js < 0.1 vs prod\nfeature * null_rate <= 1%\n"
            "feature * mean <= prod * 1.5\n")


def result_and_context():
    rng = np.random.default_rng(0)
    train = pl.DataFrame({f"f{i:03d}": rng.normal(size=ROWS) for i in range(FEATURES)})
    prod = train.with_columns([(pl.col(f"f{i:03d}") + (1.0 if i < DRIFTED else 0.01)) for i in range(FEATURES)])
    contract = mlcontract.compile(CONTRACT, datasets={"train": train, "prod": prod})
    result = contract.run()
    assert len(result.checks) == 4 * FEATURES
    return result, ReportContext.of(result, contract, "bench.mlc")


def terminal(result, folder: Path, context) -> None:
    report_formats()["terminal"].write(result, io.StringIO(), context)


def every_format(result, folder: Path, context) -> None:
    """Every registered format, as `mlc check` writes them: files to `folder`, streams to memory."""
    streamed = {"terminal", "annotations"}
    write_reports(result, {name: io.StringIO() if name in streamed else folder / f"report.{name}"
                           for name in report_formats()}, context)


def timed(work, result, folder, context) -> float:
    started = time.perf_counter()
    work(result, folder, context)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    repeat = parser.parse_args().repeat
    result, context = result_and_context()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        every_format(result, out, context)  # warm: imports, the embedded assets read once
        # Interleaved, so that a busy machine slows both alike; the ratio is taken per round.
        rounds = [(timed(terminal, result, out, context), timed(every_format, result, out, context))
                  for _ in range(repeat)]
        sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
    alone = statistics.median(a for a, _ in rounds)
    everything = statistics.median(e for _, e in rounds)
    ratio = statistics.median(e / a for a, e in rounds)
    print(f"{len(result.checks):,} checks ({result.counts}), median of {repeat} interleaved rounds")
    print(f"terminal report alone      {alone * 1000:8.1f} ms")
    print(f"every format               {everything * 1000:8.1f} ms   ({ratio:.2f}× the terminal alone, median ratio)")
    for name, size in sizes.items():
        print(f"  {name:<14} {size / 1024:8.1f} KiB")
    return 0 if ratio < 2 else 1


if __name__ == "__main__":
    sys.exit(main())
