"""The one place where numbers, units and durations become text: in messages (evaluate, the
measures), in the terminal report and in `mlc plan`. A report format formats a check's value by
its unit (`fmt_in(check.unit)`); nothing re-derives a unit from the check's words."""
from __future__ import annotations

import math
import numbers


def fmt(value: float | None) -> str:
    """Numbers as people read them in a report: 4 significant digits, thousands separated."""
    if value is None:
        return "—"
    if is_int(value):
        return f"{int(value):,}"  # exact: an int beyond 2**53 is not rounded through a float
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.1f}"
    if magnitude >= 0.001:
        return f"{value:.4g}"
    return f"{value:.3e}"


def fmt_duration(seconds: float | None) -> str:
    """A duration in s, ms or µs, 3 significant digits."""
    if seconds is None:
        return "—"
    magnitude = abs(seconds)
    if magnitude >= 1 or magnitude == 0:
        return f"{seconds:.3g}s"
    if magnitude >= 1e-3:
        return f"{seconds * 1e3:.3g}ms"
    return f"{seconds * 1e6:.3g}µs"


def fmt_in(unit: str | None):
    """The formatter for a measure's unit (None | "s" | "rows/s"): durations in s / ms / µs,
    anything else as a number."""
    return fmt_duration if unit == "s" else fmt


def fmt_exact(x: float | int) -> str:
    """A bound or extreme the contract or the data gave: an int exactly as it is (an id of
    2**53 + 1 is not 9.0072e+15), a float in its shortest form."""
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    return f"{x:g}"


def is_int(value) -> bool:
    """An integer, NumPy's included, and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
