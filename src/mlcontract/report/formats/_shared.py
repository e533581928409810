"""What every report format says the same way: the groups, a check's label, its observed value
and threshold as text, whether it blocks the gate, the order a reader wants (problems first).

No format library here (rich, XML, HTML): each format escapes for its own medium.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from ...escape import DEFAULT_LIMIT, printable
from ...evaluate import fmt, fmt_duration

if TYPE_CHECKING:
    from ...results import CheckResult, RunResult

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


def check_label(check: CheckResult, checks_on_line: int = 1) -> str:
    """The contract line, plus the feature when the line expanded into several checks or its
    selector (`*`, `numeric`, ...) chose the feature."""
    if not check.feature:
        return check.source
    if checks_on_line > 1:
        return f"{check.source}  [{check.feature}]"
    named = check.feature in check.source and re.search(rf"(?<![\w]){re.escape(check.feature)}(?![\w])", check.source)
    return check.source if named else f"{check.source}  [{check.feature}]"


def labels(result: RunResult) -> dict[int, str]:
    """Each check's label, by its index (checks_on_line counted over the run)."""
    per_line = Counter(c.line for c in result.checks)
    return {c.index: check_label(c, per_line[c.line]) for c in result.checks}


def blocks(check: CheckResult, result: RunResult) -> bool:
    """Whether this check's status fails the gate: a failure or an error always, a warning
    when the run was asked to fail on warnings (`--fail-on warn`)."""
    return check.status in ("fail", "error") or (check.status == "warn" and result.fail_on == "warn")


def problems_first(result: RunResult) -> list[CheckResult]:
    return sorted(result.checks, key=lambda c: (STATUS_ORDER[c.status], c.index))


def observed_text(check: CheckResult) -> str:
    return "" if check.value is None and check.status == "error" else _formatter(check)(check.value)


def threshold_text(check: CheckResult) -> str:
    return "" if check.threshold is None else f"{check.comparator} {_formatter(check)(check.threshold)}"


def _formatter(check: CheckResult):
    return fmt_duration if check.kind == "latency" and check.statistic != "throughput" else fmt


def summary_words(result: RunResult) -> str:
    """`30 passed, 1 failed, 1 warning` — the counts a summary line shows."""
    counts = result.counts
    parts = [f"{counts.get('pass', 0)} passed"]
    for status, word in (("fail", "failed"), ("warn", "warning"), ("error", "error")):
        n = counts.get(status, 0)
        if n:
            parts.append(f"{n} {word}" if status == "fail" else f"{n} {word}{'s' if n != 1 else ''}")
    return ", ".join(parts)


def safe_text(value: object, limit: int | None = DEFAULT_LIMIT) -> str:
    """escape.printable(value, limit), with a shortcut for the common case of short printable
    ASCII without a workflow-command marker, which it would return unchanged."""
    if type(value) is str and (limit is None or len(value) <= limit) and value.isascii() and value.isprintable() \
            and "::" not in value and "##" not in value:
        return value
    return printable(value, limit)
