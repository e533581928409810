"""Serving-path measures: robustness cases and the latency stress test.

The checker builds these measures from contract lines (`handles nulls in age`,
`p95 latency <= prod*1.1`); the requests they ask for are computed by the handlers registered
here (listed in models/handlers.py): a `RobustnessBaseline` sends unmodified rows to the model
and records what a valid answer looks like, a `RobustnessRun` synthesises a case's rows
(robustness.py) and sends them to the model, a `LatencyRun` times the models of a group
together (latency.py).
Models are called through `models.LoadedModel`; HTTP models through their endpoint
(sources/http.py), so that a timed call is the HTTP round trip and the decoding of its answer.
docs/serving.md describes what is generated, sent, timed and compared.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ..errors import CheckError, DataError, ModelError
from ..plan import requests as rq
from ..plan.measures import Measure
from ..plan.observation import Observation, fetch
from ..report.formatting import fmt_duration

if TYPE_CHECKING:
    from ..engines.base import Inputs

# When models are compared with each other, their timing run goes on past `calls` until each
# one's p95 is known to ±5% (or the models clearly differ), up to this many times `calls`.
# The latency statistics the language knows (plus any pNN), and the options of a latency check.
LATENCY_STATISTICS = ("mean", "median", "max")  # plus any pNN
LATENCY_OPTIONS = frozenset({"batch", "concurrency", "calls", "warmup", "on"})

# The robustness cases the language knows, and the options of a `handles` check.
ROBUSTNESS_CASES = {
    "nulls": "a null in each selected feature",
    "unseen categories": "a category the reference never had, in each selected categorical feature",
    "out_of_range": "values beyond the reference's min/max and extreme magnitudes, in each numeric feature",
    "empty strings": "an empty string in each selected text/categorical feature",
    "long text": "strings of 0 to 100,000 characters in each selected text/categorical feature",
    "type drift": "numbers arriving as strings and integers arriving as floats",
    "rows": 'the rows of a user-provided file: `handles rows from "edge_cases.parquet"`',
    "image sizes": "images resized to each size given: `handles image sizes 8x8, 224x224, 1024x768`",
    "grayscale": "images with one channel (height × width, and height × width × 1)",
    "rgba": "images with four channels (an alpha channel added)",
}
ROBUSTNESS_OPTIONS = frozenset({"on", "seed", "rows"})
# `handles nulls as VARIANT, ...`: the forms of a null a serving layer produces (robustness.py).
NULL_VARIANTS = {
    "nan": "NaN (a float NaN; over HTTP, JSON null)",
    "none": "None (an object column, as a JSON null arrives in pandas)",
    "missing key": "the feature absent (no column; over HTTP, the key left out of each record)",
}

PRECISION = 0.05
EXTENSION = 10
MAX_DISTINCT_BATCHES = 512


def latency_measure(statistic: str, model: str, dataset: str, settings: dict, group: tuple):
    run = LatencyRun(
        models=tuple(group) if group else (model,),
        inputs=dataset,
        batch=int(settings.get("batch", 1)),
        concurrency=int(settings.get("concurrency", 1)),
        calls=int(settings.get("calls", 200)),
        warmup=int(settings.get("warmup", 20)),
    )
    if statistic == "throughput":
        return Throughput(model, run)
    return Latency(statistic, model, run)


def robustness_measure(model: str, case: str, column: str | None, dataset: str, path: str | None, seed: int,
                       base_rows: int, variants: tuple[str, ...] = ()):
    return Robustness(RobustnessRun(model, case, column, dataset, path, int(seed), int(base_rows), tuple(variants)))


# ---- requests --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LatencyRun(rq.Request):
    """One timing run: the models of a group called in turn on the same rows of `inputs`."""

    models: tuple[str, ...]
    inputs: str
    batch: int = 1
    concurrency: int = 1
    calls: int = 200
    warmup: int = 20

    @property
    def dataset(self) -> None:  # computed by its handler, not by a scan
        return None

    @property
    def compared(self) -> bool:
        return len(self.models) > 1

    def describe(self) -> str:
        who = " and ".join(self.models) + (" interleaved" if self.compared else "")
        calls = f"≥{self.calls}" if self.compared else f"{self.calls}"
        extra = f", concurrency {self.concurrency}" if self.concurrency > 1 else ""
        each = " each" if self.compared else ""
        return (f"latency run({who}: {calls} calls{each} at batch {self.batch}{extra}, "
                f"{self.warmup} warm-up, rows of {self.inputs})")


@dataclass(frozen=True)
class RobustnessBaseline(rq.Request):
    """The base rows of a robustness test (`rows` rows of `reference` drawn with `seed`) and
    what the model answers to them unmodified: the shape every case's answers must keep.
    Shared by every case on the same model, rows and seed."""

    model: str
    reference: str
    seed: int = 0
    rows: int = 20

    @property
    def dataset(self) -> None:  # computed by its handler, not by a scan
        return None

    def describe(self) -> str:
        return f"robustness baseline({self.model}: {self.rows} base rows of {self.reference}, seed {self.seed})"


@dataclass(frozen=True)
class RobustnessRun(rq.Request):
    """One robustness case for one feature (or one file of rows), sent to one model."""

    model: str
    case: str
    feature: str | None  # (not `column`: that is the scan column of data requests)
    reference: str
    path: str | None = None
    seed: int = 0
    rows: int = 20
    variants: tuple[str, ...] = ()  # the chosen variants (`as nan, none`); () = the case's default ones

    @property
    def dataset(self) -> None:
        return None

    @property
    def baseline(self) -> RobustnessBaseline:
        return RobustnessBaseline(self.model, self.reference, self.seed, self.rows)

    def depends_on(self) -> tuple[rq.Request, ...]:
        return (self.baseline,)

    def describe(self) -> str:
        if self.case == "rows":
            from pathlib import Path

            what = f"rows of {Path(self.path).name if self.path else '?'}"
        else:
            chosen = (" " if self.case == "image sizes" else " as ") + ", ".join(self.variants) if self.variants else ""
            what = f"{self.case}{chosen} in {self.feature}"
        return f"robustness({self.model}: {what}; {self.rows} base rows of {self.reference}, seed {self.seed})"


# ---- measures --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Latency(Measure):
    """pNN / median / mean / max of one model's call latencies (seconds) in a timing run."""

    unit: ClassVar[str] = "s"
    statistic: str
    model: str
    run: LatencyRun

    def requests(self):
        return (self.run,)

    def compute(self, got):
        timing = fetch(got, self.run)
        value = _statistic(timing, self.model, self.statistic)
        details = _run_details(timing, self.run, self.model)
        ratios = _ratios(value, self.run, self.model, lambda other: _statistic(timing, other, self.statistic))
        if ratios:
            details["ratio"] = ratios
            details["ratio_of"] = self.statistic
        details["plot"] = _latency_plot(timing, self.statistic)
        return Observation(value, message=_latency_message(timing, self.run, self.model, self.statistic, ratios),
                           details=details)


@dataclass(frozen=True)
class Throughput(Measure):
    """Rows per second of one model over the timed calls of a run."""

    unit: ClassVar[str] = "rows/s"
    model: str
    run: LatencyRun

    def requests(self):
        return (self.run,)

    def compute(self, got):
        timing = fetch(got, self.run)
        value = timing.throughput(self.model)
        details = _run_details(timing, self.run, self.model)
        ratios = {o: r for o, r in _ratios(value, self.run, self.model, timing.throughput).items() if r is not None}
        if ratios:
            details["ratio"] = ratios
            details["ratio_of"] = "throughput"
        details["throughput"] = value
        details["plot"] = _latency_plot(timing, "p95")
        message = f"{timing.calls:,} calls of {self.run.batch} row{'s' if self.run.batch != 1 else ''}"
        if self.run.concurrency > 1:
            message += f" by {self.run.concurrency} parallel callers"
        if ratios:
            message += "; " + ", ".join(f"{r:.2f}× {o}" for o, r in ratios.items())
        return Observation(value, message=message, details=details)


@dataclass(frozen=True)
class Robustness(Measure):
    """Holds when every synthesised row is served alone and in a batch with a valid answer.
    Its value is the number of calls that failed."""

    verdict: ClassVar[bool] = True
    run: RobustnessRun

    def requests(self):
        return (self.run,)

    def compute(self, got):
        outcome = fetch(got, self.run)
        run = self.run
        where = f"`{run.feature}`" if run.feature else _file_name(run.path)
        details = {
            "case": run.case, "feature": run.feature, "model": run.model, "reference": run.reference,
            "seed": run.seed, "rows": outcome.rows, "calls": outcome.calls, "failed_calls": outcome.failed_calls,
            "variants": outcome.variants, "observed": "number of calls that failed", "observed_unit": "failed calls",
        }
        if outcome.passed:
            message = (f"{outcome.rows} row{'s' if outcome.rows != 1 else ''} with {_case_words(run.case, where)} "
                       f"served alone and in batches: {outcome.calls} calls, every answer valid")
            return Observation(0.0, True, message, details)
        first = outcome.failures[0]
        details.update({
            "variant": first.variant, "mode": first.mode, "row": first.row, "exception": first.exception,
            "error": first.error,
            "failures": [{"variant": f.variant, "mode": f.mode, "rows": f.rows, "exception": f.exception,
                          "error": f.error} for f in outcome.failures[:10]],
        })
        from ..report import plotdata

        details["plot"] = plotdata.row(first.row, run.feature, first.variant, first.mode)
        sent = "sent alone" if first.mode == "alone" else f"sent in a batch of {first.rows} rows"
        what = f"raised {first.exception}: {first.error}" if first.exception else first.error
        message = (f"{first.variant}{'' if run.case == 'rows' else f' in {where}'}, {sent}: model `{run.model}` {what} "
                   f"({outcome.failed_calls} of {outcome.calls} calls failed; the offending row is in the details)")
        return Observation(float(outcome.failed_calls), False, message, details)


# ---- handlers (models/handlers.py lists them) -------------------------------------------------------
def robustness_run(request: RobustnessRun, inputs: Inputs, got):
    from ..sources.http import HttpTransportError
    from . import robustness as rb

    model = inputs.model(request.model)
    features = inputs.features(request.reference)
    base, expect = fetch(got, request.baseline)
    if request.case == "rows":
        variants = [rb.Variant(f"the rows of {_file_name(request.path)}", _file_rows(request.path, list(features.columns)))]
    else:
        if request.feature is None or request.feature not in features.columns:
            raise CheckError(f"`{request.feature}` is not fed to the model (it is the label or an ignored column)")
        try:
            variants = rb.synthesize(request.case, request.feature, base, features[request.feature], request.seed,
                                     request.variants)
        except ValueError as error:
            raise DataError(f"`{request.feature}` in `{request.reference}`: {error}") from error
    serve = _server(model)
    try:
        with _quiet(single_thread=True):
            return rb.run_case(serve, variants, expect, transport_errors=(HttpTransportError,))
    except HttpTransportError as error:
        raise ModelError(f"{error} (while sending {request.case}"
                         f"{f' in `{request.feature}`' if request.feature else ''})") from error


def latency_run(request: LatencyRun, inputs: Inputs, got):
    from . import latency

    models = {name: inputs.model(name) for name in request.models}
    if request.concurrency > 1:
        local = [name for name, m in models.items() if m.format != "http"]
        if local:
            raise CheckError(f"`at concurrency` applies to http() models only; {', '.join(local)} "
                             f"{'is' if len(local) == 1 else 'are'} called in this process")
    features = inputs.features(request.inputs)
    frames = input_batches(features, request.batch, request.calls + request.warmup)
    callers = {name: _caller(model, frames) for name, model in models.items()}
    try:
        with _quiet():
            return latency.run(
                callers, len(frames), request.calls, request.warmup, batch=request.batch,
                concurrency=request.concurrency,
                precision=PRECISION if request.compared else None,
                max_calls=EXTENSION * request.calls if request.compared else None,
            )
    except CheckError:
        raise
    except Exception as error:  # a model that raises while timed: the check is an error
        from ..escape import printable

        raise ModelError(f"a timed call failed: {type(error).__name__}: {printable(error)}") from error


def input_batches(features, batch: int, needed: int) -> list:
    """Real rows, cycled deterministically: batch k holds rows k·B … k·B+B−1 (mod n)."""
    n = len(features)
    if n == 0:
        raise DataError("the dataset has no rows to send")
    distinct = max(1, min(needed, math.ceil(n / batch) if batch <= n else 1, MAX_DISTINCT_BATCHES))
    out = []
    for k in range(distinct):
        index = [(k * batch + j) % n for j in range(batch)]
        out.append(features.iloc[index].reset_index(drop=True).copy())
    return out


# ---- helpers ---------------------------------------------------------------------------------------
def _caller(model, frames):
    """One serving call on prepared batch i. HTTP bodies are encoded before timing. Every answer
    is validated like any model output (models.LoadedModel): a timed call that answers garbage
    is an error, not a latency."""
    endpoint = model.extra.get("endpoint")  # a model served over the network (sources/http.py)
    if endpoint is not None:
        bodies = [endpoint.encode(frame) for frame in frames]
        sizes = [len(frame) for frame in frames]

        def call_http(i: int):
            return model.check_answer(endpoint.decode(endpoint.post(bodies[i]), sizes[i]), sizes[i])

        return call_http

    def call(i: int):
        return model.predict(frames[i])

    return call


def _server(model):
    """frame → (labels, probabilities or None), the way the model serves (one HTTP request, or
    predict then predict_proba), validated by models.LoadedModel: an invalid output raises
    models.ModelOutputError, which robustness.run_case records as a wrong answer."""
    def serve(frame):
        answer = model.answer(frame)
        return answer.labels, answer.probabilities

    return serve


def robustness_baseline(request: RobustnessBaseline, inputs: Inputs, got):
    """The base rows and what the model answers to them unmodified."""
    from . import robustness as rb

    model_name, dataset = request.model, request.reference
    model = inputs.model(model_name)
    base = rb.base_rows(inputs.features(dataset), request.rows, request.seed)
    serve = _server(model)
    try:
        with _quiet(single_thread=True):
            labels, probabilities = serve(base)
    except ModelError as error:
        raise ModelError(f"model `{model_name}` cannot serve unmodified rows of `{dataset}` "
                         f"(a batch of {len(base)}), so its robustness cannot be judged: {error}") from error
    expect = rb.expectation(labels, probabilities, model.classes)
    problem = rb.answer_problem(labels, probabilities, len(base), expect)
    if problem is not None or (expect.classes is None and expect.label_kind == "other"):
        what = problem[0] if problem else "gives predictions of mixed types"
        raise ModelError(f"model `{model_name}` {what} for unmodified rows of `{dataset}`, "
                         "so its robustness cannot be judged")
    return base, expect


def _file_rows(path: str | None, columns: list[str]):
    from . import robustness as rb

    if path is None:
        raise CheckError("`handles rows` needs a file of rows")
    from pathlib import Path

    from ..sources.files import check_readable

    check_readable(Path(path), "edge-case rows", path)
    try:
        frame = rb.read_rows(path)
    except ValueError as error:
        raise DataError(f"edge-case rows in {Path(path).name}: {error}") from error
    except Exception as error:
        raise DataError(f"cannot read edge-case rows from {Path(path).name}: {type(error).__name__}: {error}") from error
    if len(frame) == 0:
        raise DataError(f"{Path(path).name} has no rows")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{Path(path).name} lacks feature columns the model is fed: {', '.join(missing)}")
    return frame[columns].reset_index(drop=True)


def _latency_plot(timing, statistic: str) -> dict:
    """Every timed model's per-call latencies, with its value of the check's statistic."""
    from ..report import plotdata

    return plotdata.latency(timing.samples, statistic, lambda model: _statistic(timing, model, statistic))


def _statistic(timing, model: str, statistic: str) -> float:
    return timing.statistic(model, "p50" if statistic == "median" else statistic)


def _ratios(value: float, run: LatencyRun, model: str, of) -> dict:
    """This model's value over each other model's in the same timing run (None where the other
    measured 0): how the two compare is what a comparison check reports."""
    ratios = {}
    for other in (m for m in run.models if m != model):
        theirs = of(other)
        ratios[other] = value / theirs if theirs > 0 else None
    return ratios


def _run_details(timing, run: LatencyRun, model: str) -> dict:
    details = {
        "model": model,
        "calls": timing.calls,
        "min_calls": timing.min_calls,
        "warmup": timing.warmup,
        "batch": timing.batch,
        "concurrency": timing.concurrency,
        "inputs": run.inputs,
        "distinct_batches": timing.batches,
        "unit": "s",
        **{k: v for k, v in timing.summary(model).items() if k != "calls"},
    }
    if run.compared:
        details["timed_with"] = [m for m in run.models if m != model]
        details["interleaved"] = True
        details["p95_ci_halfwidth"] = {m: _round(timing.precision.get(m)) for m in run.models}
    return details


def _latency_message(timing, run: LatencyRun, model: str, statistic: str, ratios: dict) -> str:
    s = timing.summary(model)
    calls = f"{timing.calls:,} calls"
    if timing.calls > timing.min_calls:
        calls += f" (≥{timing.min_calls:,}, extended: the machine was noisy)"
    parts = [f"{calls} at batch {run.batch}"]
    if run.concurrency > 1:
        parts.append(f"{run.concurrency} parallel callers")
    if run.compared:
        parts.append("interleaved with " + ", ".join(m for m in run.models if m != model))
    text = ", ".join(parts) + f": p50 {fmt_duration(s['p50'])}, p95 {fmt_duration(s['p95'])}, p99 {fmt_duration(s['p99'])}"
    if ratios:
        text += "; " + ", ".join(f"{r:.2f}× {o}'s {statistic}" for o, r in ratios.items() if r is not None)
    return text


def _round(value):
    if value is None or not math.isfinite(value):
        return None
    return round(value, 4)


def _file_name(path: str | None) -> str:
    from pathlib import Path

    return Path(path).name if path else "the file"


def _case_words(case: str, where: str) -> str:
    return {
        "nulls": f"nulls in {where}",
        "unseen categories": f"unseen categories in {where}",
        "out_of_range": f"out-of-range values in {where}",
        "empty strings": f"empty strings in {where}",
        "long text": f"long text in {where}",
        "type drift": f"drifted types in {where}",
        "rows": f"the rows of {where}",
        "image sizes": f"images of other sizes in {where}",
        "grayscale": f"grayscale images in {where}",
        "rgba": f"RGBA images in {where}",
    }.get(case, f"{case} in {where}")


class _quiet:
    """Silence library warnings (feature names, overflow) while models are called; with
    `single_thread`, also limit native thread pools (OpenMP, BLAS) to one thread: robustness
    calls are about correctness, and on a busy machine a multi-threaded one-row call can be 30×
    slower than a single-threaded one. Latency runs leave the thread pools as configured."""

    def __init__(self, single_thread: bool = False):
        self.single_thread = single_thread
        self._limits = None

    def __enter__(self):
        self._context = warnings.catch_warnings()
        self._context.__enter__()
        warnings.simplefilter("ignore")
        if self.single_thread:
            try:
                from threadpoolctl import threadpool_limits

                self._limits = threadpool_limits(1)
            except Exception:  # threadpoolctl missing or unable: run as configured
                self._limits = None
        return self

    def __exit__(self, *exc):
        if self._limits is not None:
            self._limits.restore_original_limits()
        return self._context.__exit__(*exc)
