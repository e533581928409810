"""The latency stress test's timing harness (no knowledge of contracts or backends).

One *timing run* times every model of a group together:

- the input batches are prepared before timing (real rows of a dataset, cycled
  deterministically, `batch` rows per call), so timing covers the serving call only;
- `warmup` untimed calls per model come first (interleaved like the timed ones);
- then `calls` timed calls per model, *interleaved round by round*: round r sends batch
  r mod n to every model of the group, one after the other, in an order rotated every round
  (two models: A B, B A, A B, ...), so neither model always goes first and machine noise (a
  busy neighbour, a frequency change) hits the models alike, on the same inputs;
- every call is timed with `time.perf_counter_ns`; the garbage collector is run before timing
  and disabled during it (a collection triggered by one model's allocations would otherwise
  land in the other model's call);
- with `concurrency` C > 1, C threads run the rounds in parallel (round r on thread r mod C);
- when models are compared with each other (`precision` given), `calls` is a minimum: after
  them the run goes on, `calls // 2` rounds at a time, until for every pair of models either
  both p95s are pinned down to ±precision (their distribution-free 95% confidence intervals,
  from order statistics), or the two intervals are more than a factor `apart` from each other
  (the models clearly differ), or `max_calls` is reached. The rule never looks at a check's
  threshold, so it favours neither outcome; it spends more calls only when the machine is noisy
  and the models are close.

The statistics are plain order statistics of each model's own samples (`pNN` is numpy's linearly
interpolated quantile, `mean`, `median` = p50, `max`); nothing is trimmed, filtered or pooled.
"""
from __future__ import annotations

import gc
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Call = Callable[[int], object]  # call(batch_index): one serving call on prepared batch `batch_index`


@dataclass
class Timing:
    """The samples of one timing run, in nanoseconds per call, per model."""

    samples: dict[str, np.ndarray]
    calls: int
    warmup: int
    batch: int
    concurrency: int
    batches: int  # distinct input batches cycled through
    wall_ns: int  # wall-clock time of the whole timed phase (all models)
    order: list[list[str]] = field(default_factory=list)  # the call order of the first rounds (for reports)
    min_calls: int = 0  # the calls asked for; `calls` is larger when the run was extended
    precision: dict[str, float] = field(default_factory=dict)  # relative half-width of each p95's 95% CI

    def statistic(self, model: str, name: str) -> float:
        """The named statistic of one model's latencies, in seconds."""
        return latency_statistic(self.samples[model], name)

    def throughput(self, model: str) -> float:
        """Rows per second of busy time: rows served ÷ (Σ call durations ÷ concurrency)."""
        busy = float(np.sum(self.samples[model])) / 1e9 / self.concurrency
        rows = self.batch * len(self.samples[model])
        return rows / busy if busy > 0 else float("inf")

    def summary(self, model: str) -> dict:
        s = self.samples[model]
        return {
            "calls": int(len(s)),
            "p50": latency_statistic(s, "p50"),
            "p95": latency_statistic(s, "p95"),
            "p99": latency_statistic(s, "p99"),
            "mean": latency_statistic(s, "mean"),
            "max": latency_statistic(s, "max"),
        }


def latency_statistic(samples_ns: np.ndarray, name: str) -> float:
    """`pNN` (linear interpolation, numpy's default), `median`, `mean` or `max`, in seconds."""
    if len(samples_ns) == 0:
        raise ValueError("no timed calls")
    seconds = np.asarray(samples_ns, dtype=np.float64) / 1e9
    if name == "mean":
        return float(seconds.mean())
    if name == "max":
        return float(seconds.max())
    q = quantile_fraction(name)
    if q is None:
        raise ValueError(f"unknown latency statistic {name!r}")
    return float(np.quantile(seconds, q))


def quantile_fraction(name: str) -> float | None:
    from ..statistics.quantiles import quantile_of

    return quantile_of(name)


def round_order(models: Sequence[str], round_number: int) -> list[str]:
    """The models' call order in one round: rotated by one each round (A B, B A, A B, ...)."""
    k = len(models)
    shift = round_number % k
    return list(models[shift:]) + list(models[:shift])


def schedule(models: Sequence[str], rounds: int, batches: int) -> list[tuple[int, list[str]]]:
    """(batch index, call order) of each round: every model gets the same batch in a round."""
    return [(r % batches, round_order(models, r)) for r in range(rounds)]


def run(
    callers: dict[str, Call],
    batches: int,
    calls: int,
    warmup: int,
    batch: int = 1,
    concurrency: int = 1,
    clock: Callable[[], int] = time.perf_counter_ns,
    collect: bool = True,
    precision: float | None = None,
    max_calls: int | None = None,
    quantile: float = 0.95,
    apart: float = 1.25,
) -> Timing:
    """Time `callers` together: `warmup` untimed then `calls` timed calls each, interleaved;
    with `precision`, more rounds until each model's `quantile` is known to ±precision.

    An exception raised by a call stops the run and propagates (the check becomes an error)."""
    if calls < 1:
        raise ValueError("at least one timed call is needed")
    if batches < 1:
        raise ValueError("at least one input batch is needed")
    models = list(callers)
    for batch_index, order in schedule(models, warmup, batches):
        for name in order:
            callers[name](batch_index)
    limit = max(calls, max_calls or calls) if precision is not None else calls
    samples: dict[str, list[int]] = {name: [] for name in models}
    gc_was_enabled = gc.isenabled()
    wall = 0
    done = 0
    step = calls
    try:
        while done < limit:
            rounds = min(step, limit - done)
            plan = [(r % batches, round_order(models, r)) for r in range(done, done + rounds)]
            if collect:
                gc.collect()
            gc.disable()
            try:
                if concurrency <= 1:
                    started = clock()
                    _timed_rounds(plan, callers, samples, clock)
                    wall += clock() - started
                else:
                    wall += _concurrent(plan, callers, samples, clock, concurrency)
            finally:
                if gc_was_enabled:
                    gc.enable()
            done += rounds
            step = max(1, calls // 2)
            if precision is None or settled(samples, quantile, precision, apart):
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    arrays = {name: np.asarray(values, dtype=np.int64) for name, values in samples.items()}
    return Timing(
        samples=arrays, calls=done, warmup=warmup, batch=batch, concurrency=max(1, concurrency), batches=batches,
        wall_ns=int(wall), order=[round_order(models, r) for r in range(min(done, 4))], min_calls=calls,
        precision={name: relative_halfwidth(values, quantile) for name, values in arrays.items()},
    )


def quantile_interval(samples, q: float, z: float = 1.96) -> tuple[float, float]:
    """Distribution-free ~95% confidence interval of the q-quantile: the order statistics of
    ranks n·q ∓ z·√(n·q·(1−q)) (normal approximation of the binomial), clipped to the sample."""
    values = np.sort(np.asarray(samples, dtype=np.float64))
    n = len(values)
    if n == 0:
        return float("nan"), float("nan")
    spread = z * math.sqrt(n * q * (1 - q))
    low = int(max(0, math.floor(n * q - spread) - 1))
    high = int(min(n - 1, math.ceil(n * q + spread) - 1))
    return float(values[low]), float(values[high])


def settled(samples: dict, q: float, precision: float, apart: float) -> bool:
    """The stopping rule of an extended run (see the module's docstring)."""
    names = list(samples)
    intervals = {m: quantile_interval(samples[m], q) for m in names}
    precise = {m: relative_halfwidth(samples[m], q) <= precision for m in names}
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            if precise[first] and precise[second]:
                continue
            (lo1, hi1), (lo2, hi2) = intervals[first], intervals[second]
            if lo1 > apart * hi2 or lo2 > apart * hi1:
                continue
            return False
    return all(precise.values()) if len(names) == 1 else True


def relative_halfwidth(samples, q: float = 0.95) -> float:
    """Half the width of the quantile's confidence interval, relative to the quantile."""
    if len(samples) < 2:
        return float("inf")
    low, high = quantile_interval(samples, q)
    middle = float(np.quantile(np.asarray(samples, dtype=np.float64), q))
    if middle <= 0:
        return float("inf")
    return (high - low) / 2 / middle


def _timed_rounds(plan, callers, samples, clock) -> None:
    for batch_index, order in plan:
        for name in order:
            call = callers[name]
            started = clock()
            call(batch_index)
            samples[name].append(clock() - started)


def _concurrent(plan, callers, samples, clock, concurrency: int) -> int:
    """Round r runs on thread r mod C; every thread keeps its own samples, merged at the end."""
    shares = [plan[t::concurrency] for t in range(concurrency)]
    local: list[dict[str, list[int]]] = [{name: [] for name in samples} for _ in range(concurrency)]
    failures: list[BaseException] = []
    barrier = threading.Barrier(concurrency + 1)

    def work(t: int) -> None:
        try:
            barrier.wait()
            _timed_rounds(shares[t], callers, local[t], clock)
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            failures.append(error)

    threads = [threading.Thread(target=work, args=(t,), name=f"mlc-latency-{t}", daemon=True)
               for t in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = clock()
    for thread in threads:
        thread.join()
    wall = clock() - started
    if failures:
        raise failures[0]
    for part in local:
        for name, values in part.items():
            samples[name].extend(values)
    return wall
