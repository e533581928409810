"""Run a command and print its wall time and peak RSS (this child only, via wait4).

usage: python bench/rss.py -- CMD ARGS...   →  prints `wall=SECONDS rss_mb=MEGABYTES exit=CODE`
"""
import os
import subprocess
import sys
import time


def measure(command: list[str], env: dict | None = None, quiet: bool = True) -> tuple[float, float, int]:
    wall, rss, code, _ = measure_cpu(command, env, quiet)
    return wall, rss, code


def measure_cpu(command: list[str], env: dict | None = None, quiet: bool = True) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS MB, exit code, CPU seconds: user + system, all threads)."""
    out = subprocess.DEVNULL if quiet else None
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=out, stderr=out, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024.0, code, usage.ru_utime + usage.ru_stime  # ru_maxrss: KiB on Linux


if __name__ == "__main__":
    command = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    wall, rss, code = measure(command, quiet=False)
    print(f"wall={wall:.3f} rss_mb={rss:.0f} exit={code}")
