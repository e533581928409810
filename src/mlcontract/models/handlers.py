"""The work no scan does — model calls, baselines, cross-validation, segments, histories,
robustness and latency runs — in one explicit table, and `run_handlers`, which every engine
calls for a plan's `other` requests.

A handler is `handler(request, inputs, got) -> value`: it reads datasets, models and histories
only through the run's `engines.base.Inputs`, and the values of the requests it depends on from
`got` (computed before it: the plan lists dependencies first). A new kind of model work is a
request class, its handler, and one line here.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from .. import references
from ..errors import CheckError
from . import quality, serving

if TYPE_CHECKING:
    from ..engines.base import Inputs, Progress
    from ..plan import Plan
    from ..plan.requests import Request

Handler = Callable[[Any, "Inputs", dict], Any]

HANDLERS: dict[type, Handler] = {
    quality.Truth: quality.truth,
    quality.Predictions: quality.predictions,
    quality.Probabilities: quality.probabilities,
    quality.SegmentRows: quality.segment_rows,
    quality.BaselineFit: quality.baseline_fit,
    quality.CrossValidation: quality.cross_validation,
    quality.HistoryData: quality.history,
    serving.RobustnessBaseline: serving.robustness_baseline,
    serving.RobustnessRun: serving.robustness_run,
    serving.LatencyRun: serving.latency_run,
    references.ReferenceFile: references.read_reference_file,  # `metrics NAME = json(...)`
}


def run_handlers(plan: Plan, inputs: Inputs, got: dict[Request, Any], progress: Progress | None = None) -> None:
    """Compute `plan.other` into `got`, in the plan's order. A request that raises gets its
    CheckError as its value: only the checks that need it fail."""
    from ..engines.base import attempt

    for request in plan.other:
        handler = HANDLERS.get(type(request))
        if handler is None:
            got[request] = CheckError(f"no backend computes {request.describe()}")
            continue
        if progress:
            progress.note(request.describe())
        got[request] = attempt(partial(handler, request, inputs, got))
