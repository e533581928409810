"""The one place where numbers, units and durations become text — in messages (evaluate, the
measures), in every report format and in `mlc plan` — and where the things every report format
says alike are defined: the groups, a check's label, its observed value and threshold as text,
the order a reader wants (problems first), the summary's words.

A check's numbers are shown by two facts the resolver carried forward (never re-derived from
the check's words): `unit`, the measure's unit (None | "s" | "rows/s"), and `display_unit`, the
unit the contract wrote its threshold in (None | "%" | "µs" | "ms" | "s" | "min" | "h" | "d" | "rows/s").
A threshold prints as written (`<= 1%`, `<= 250ms`, `>= 1,000 rows/s`); an observed value in
the same unit when that unit is a share or a rate (`1.23%`), and a duration in the unit that
suits its size (`12.3ms`: a latency may be orders of magnitude off its threshold).

No format library here (rich, XML, HTML): each format escapes for its own medium.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..escape import printable

if TYPE_CHECKING:
    from .results import CheckResult, RunResult

GROUPS = [
    ("data", "Data validation"),
    ("model", "Model quality"),
    ("curve", "Training curves"),
    ("robustness", "Robustness of the serving path"),
    ("latency", "Latency"),
]
GROUP_NAMES = dict(GROUPS)
# Problems first: what blocks, then what warns, then what passed.
STATUS_ORDER = {"fail": 0, "error": 1, "warn": 2, "pass": 3}
STATUS_WORDS = {"pass": "passed", "fail": "failed", "warn": "warning", "error": "error"}
# A duration literal's unit → seconds (the resolver records `us` as `µs`).
DURATION_UNITS = {"µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


# ---- numbers -----------------------------------------------------------------------------------
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
    """A duration in d, h, s, ms or µs, 3 significant digits (days and hours from an hour on:
    the freshness of a dataset)."""
    if seconds is None:
        return "—"
    magnitude = abs(seconds)
    if magnitude >= 86400:
        return f"{seconds / 86400:.3g}d"
    if magnitude >= 3600:
        return f"{seconds / 3600:.3g}h"
    if magnitude >= 1 or magnitude == 0:
        return f"{seconds:.3g}s"
    if magnitude >= 1e-3:
        return f"{seconds * 1e3:.3g}ms"
    return f"{seconds * 1e6:.3g}µs"


def fmt_percent(share: float | None) -> str:
    """A share as a percentage: 0.0123 → `1.23%`."""
    return "—" if share is None else f"{fmt(share * 100)}%"


def fmt_rate(rate: float | None) -> str:
    return "—" if rate is None else f"{fmt(rate)} rows/s"


def fmt_exact(x: float | int) -> str:
    """A bound or extreme the contract or the data gave, exactly: an int as it is (an id of
    2**53 + 1 is not 9.0072e+15), a float in the shortest form that reads back as it (1500000
    for 1.5e6; 1234567.0 is not 1.23457e+06), so no bound reads like a value it excludes."""
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    x = float(x)
    return f"{int(x)}" if x.is_integer() and abs(x) < 1e16 else repr(x)


def fmt_apart(show: Callable, value, *others) -> str:
    """`value` as `show` reads it, or with every digit (the shortest text that reads back as
    it) where that would read as one of `others` although it differs: a Float32 column's 0.1
    is 0.10000000149011612, which `max <= 0.1` fails, and "max 0.1 is not <= 0.1" would not
    say why."""
    text = show(value)
    if not isinstance(value, float) or not any(o is not None and o != value and show(o) == text for o in others):
        return text
    if show is fmt_percent:
        return f"{float(value) * 100!r}%"
    return repr(float(value)) if show is fmt else text


def is_int(value) -> bool:
    """An integer, NumPy's included, and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


# ---- a check's numbers, in its units -------------------------------------------------------------
def value_formatter(unit: str | None, display_unit: str | None = None) -> Callable[[float | None], str]:
    """How a check's observed value (and the values of the measures it is compared with) reads:
    a share in the contract's `%`, a duration in s / ms / µs, a rate in rows/s, else a number."""
    if unit == "s":
        return fmt_duration
    if unit == "rows/s" or display_unit == "rows/s":
        return fmt_rate
    if display_unit == "%":
        return fmt_percent
    return fmt


def threshold_formatter(unit: str | None, display_unit: str | None = None) -> Callable[[float | None], str]:
    """How a check's threshold reads: in the unit the contract wrote it in (`250ms` stays in ms)."""
    scale = DURATION_UNITS.get(display_unit or "")
    if scale is not None:
        return lambda seconds: "—" if seconds is None else f"{fmt(seconds / scale)}{display_unit}"
    return value_formatter(unit, display_unit)


def observed_text(check: CheckResult) -> str:
    """The observed value as a report shows it ("" for a check that errored without one), with
    what its measure recorded of it: `details["observed_unit"]` (`%` for a share, or what is
    counted: `3 columns`) and `details["observed_at"]` (where: `0.05 at epoch 7`)."""
    if check.value is None and check.status == "error":
        return ""
    unit, at = check.details.get("observed_unit"), check.details.get("observed_at")
    if unit == "%":
        text = fmt_percent(check.value)
    else:
        text = fmt_apart(value_formatter(check.unit, check.display_unit), check.value, check.threshold)
        text += f" {printable(unit, 40)}" if unit else ""
    return text + (f" at {printable(at, 40)}" if at else "")


def threshold_text(check: CheckResult) -> str:
    """`<= 1%`, `< 250ms`, or "" for a check without a numeric threshold."""
    if check.threshold is None:
        return ""
    shown = fmt_apart(threshold_formatter(check.unit, check.display_unit), check.threshold, check.value)
    return f"{check.comparator} {shown}"


# ---- what every report says alike ------------------------------------------------------------------
def check_label(check: CheckResult) -> str:
    """The contract line, plus the feature when the line expanded into several checks or its
    selector (`*`, `numeric`, ...) chose the feature (`from_selector`, set by the resolver)."""
    if check.feature and check.from_selector:
        return f"{check.source}  [{check.feature}]"
    return check.source


def problems_first(result: RunResult) -> list[CheckResult]:
    return sorted(result.checks, key=lambda c: (STATUS_ORDER[c.status], c.index))


def summary_words(result: RunResult) -> str:
    """`30 passed, 1 failed, 1 warning` — the counts a summary line shows."""
    counts = result.counts
    parts = [f"{counts.get('pass', 0)} passed"]
    for status, word in (("fail", "failed"), ("warn", "warning"), ("error", "error")):
        n = counts.get(status, 0)
        if n:
            parts.append(f"{n} {word}" if status == "fail" else f"{n} {word}{'s' if n != 1 else ''}")
    return ", ".join(parts)
