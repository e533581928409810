"""Stage 6 — evaluate: computed statistics → one Result per check.

A check that cannot be evaluated is an `error`, and an error blocks like a failure — also for
`warn` checks, whose prefix softens a measured failure, not a check that could not run. The
gate fails closed.
"""
from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from ..errors import CheckError
from ..plan.observation import Observation
from ..resolve.contract import Arith, CheckedContract, CheckSpec, Compare, Const, Holds, InRange, MeasureRef, Negate
from . import plotdata
from .formatting import fmt_apart, is_int, threshold_formatter, value_formatter

if TYPE_CHECKING:
    from .results import CheckResult, RunResult, Status

_OPS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def evaluate(contract: CheckedContract, got: Mapping, seconds: float = 0.0, *, fail_on: Literal["fail", "warn"] = "fail",
             **run: Any) -> RunResult:
    """`fail_on="warn"`: a warning blocks the gate too. `run`: what the caller knows of the run
    (started_at, contract_sha256, durations), recorded in the result."""
    from .results import RunResult, blocks

    results = [evaluate_check(check, got) for check in contract.checks]
    counts = {status: sum(r.status == status for r in results) for status in ("pass", "fail", "warn", "error")}
    passed = not any(blocks(r.status, fail_on) for r in results)
    return RunResult(
        contract=contract.name,
        path=str(contract.path) if contract.path else None,
        passed=passed,
        fail_on=fail_on,
        counts=counts,
        seconds=round(seconds, 4),
        checks=results,
        **run,
    )


def evaluate_check(check: CheckSpec, got: Mapping) -> CheckResult:
    from .results import CheckResult

    base = dict(
        index=check.index, line=check.line, source=check.source, kind=check.kind, blocking=check.blocking,
        subject=check.subject, feature=check.feature, statistic=check.statistic, unit=check.unit,
        display_unit=check.display_unit, from_selector=check.from_selector, **_columns(check),
    )
    if check.bind_error:
        return CheckResult(**base, status="error", message=check.bind_error)
    try:
        observation = check.measure.compute(got)
        _finite(observation.value, check)
        status_passed, threshold, comparator, message, details = _test(check, observation, got)
    except CheckError as error:
        return CheckResult(**base, status="error", message=str(error))
    except Exception as error:  # a bug or an unexpected library error: still fail closed, say what
        return CheckResult(**base, status="error", message=f"internal error: {type(error).__name__}: {error}")
    status: Status = "pass" if status_passed else ("fail" if check.blocking else "warn")
    details = _with_reference_plots({**observation.details, **details})
    if not plotdata.wanted():  # a run without plots (plotdata.drawing) carries none, cheap ones neither
        details.pop("plot", None)
    return CheckResult(
        **base, status=status, value=_json_number(observation.value), threshold=_json_number(threshold),
        comparator=comparator, message=message, details=details,
    )


def _columns(check: CheckSpec) -> dict:
    """Where the check is on its line (annotations point at it): its span's columns."""
    span = check.span
    if span is None or span.line != check.line or span.column < 1:
        return {}
    return {"column": span.column, "end_column": span.end_column if span.end_line == span.line else None}


def _with_reference_plots(details: dict) -> dict:
    """The plots of the measures named on the right (prod's ROC curve, the baseline's) join the
    check's own plot of the same kind: one picture of the candidate beside what it is compared
    with (report/plotdata.py)."""
    plots = details.pop("reference_plots", None) or {}
    own = details.get("plot")
    if not own:
        return details
    for plot in plots.values():
        for field in ("curves", "matrices"):  # one entry per model (plotdata: roc, residuals, confusion)
            alike = all(plot.get(k) == own.get(k) for k in ("kind", "classes", "positive"))
            if alike and isinstance(own.get(field), dict):
                for name, entry in plot.get(field, {}).items():
                    own[field].setdefault(name, entry)
    return details


def _test(check: CheckSpec, observation: Observation, got: Mapping):
    value, test = observation.value, check.test
    if isinstance(test, Holds):
        return bool(observation.passed), None, None, observation.message, {}
    assert value is not None  # only a verdict measure (Holds) has no value
    if isinstance(test, InRange):
        held = test.low <= value <= test.high
        verb = "in" if held else "outside"
        show, bound = value_formatter(check.unit, check.display_unit), threshold_formatter(check.unit, check.display_unit)
        message = f"{check.statistic} {fmt_apart(show, value, test.low, test.high)} {verb} " \
                  f"[{bound(test.low)}, {bound(test.high)}]"
        return held, None, "between", message, {"low": test.low, "high": test.high}
    assert isinstance(test, Compare)
    details: dict[str, Any] = {}
    threshold = rhs_value(test.rhs, got, details)
    if isinstance(threshold, float) and math.isnan(threshold):
        raise CheckError(f"the right-hand side `{test.rhs_text}` is not a number")
    held = _OPS[test.op](value, threshold)
    show = value_formatter(check.unit, check.display_unit)
    rhs = test.rhs_text if isinstance(test.rhs, Const) else \
        f"{test.rhs_text} = {fmt_apart(threshold_formatter(check.unit, check.display_unit), threshold, value)}"
    # `prod - 0.02 = 0.66, prod: 0.68` says what prod measured; a bare `prod = 0.68` already did.
    refs = "" if isinstance(test.rhs, MeasureRef) else "".join(
        f", {name}: {show(v)}" for name, v in details.get("references", {}).items())
    message = f"{check.statistic} {fmt_apart(show, value, threshold)} {test.op if held else _negated(test.op)} {rhs}{refs}"
    if observation.message:
        message += f" ({observation.message})"
    return held, threshold, test.op, message, details


def rhs_value(expr, got: Mapping, details: dict) -> float:
    """Evaluate a right-hand side; measures named in it are recorded in details["references"]."""
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, MeasureRef):
        observed = expr.measure.compute(got)
        _finite(observed.value, None, what=f"`{expr.label}`")
        details.setdefault("references", {})[expr.label] = observed.value
        if observed.details:
            shown = {k: v for k, v in observed.details.items() if k != "plot"}
            details.setdefault("reference_details", {})[expr.label] = shown
            if "plot" in observed.details:
                details.setdefault("reference_plots", {})[expr.label] = observed.details["plot"]
        return observed.value
    if isinstance(expr, Negate):
        return -rhs_value(expr.operand, got, details)
    assert isinstance(expr, Arith)
    left, right = rhs_value(expr.left, got, details), rhs_value(expr.right, got, details)
    if expr.op == "/" and right == 0:
        raise CheckError("the right-hand side divides by zero")
    return {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}[expr.op](left, right)


def _finite(value, check, what: str | None = None) -> None:
    if value is not None and isinstance(value, float) and math.isnan(value):
        raise CheckError(f"{what or check.statistic} is not a number (NaN)")


def _negated(op: str) -> str:
    return {"<": "is not <", "<=": "is not <=", ">": "is not >", ">=": "is not >=", "==": "!=", "!=": "=="}[op]


def _json_number(value):
    """The value for the JSON result: ints exactly (an id beyond 2**53 keeps every digit),
    other numbers as finite floats, None for NaN / infinity."""
    if value is None:
        return None
    if is_int(value):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None
