"""The options of checks (`bins 20`, `with 5 folds`, `at batch 1`, ...): what each takes
(OPTION_SPECS), a checked option value (`Opt`), and an option's plain value."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..language import ast
from ..language.source import Span
from ..models.metrics import AVERAGES


@dataclass
class Opt:
    """One option of a check: what was written, its checked value, and where."""

    value: Any
    number: Any
    span: Span
    key_span: Span


def plain_value(value) -> Any:
    """An option's value as Python: an int where it is whole, a str, a bool for true/false."""
    if isinstance(value, ast.Number):
        whole = math.isfinite(value.value) and value.value == int(value.value) and value.unit is None
        return int(value.value) if whole else value.value
    if isinstance(value, ast.String):
        return value.value
    if isinstance(value, ast.Word):
        return {"true": True, "false": False}.get(value.name.id, value.name.id)
    if isinstance(value, ast.Neg):
        return -plain_value(value.operand)
    if isinstance(value, ast.ListLiteral):  # `null_values=["NA", "?"]`: a tuple, so the source stays hashable
        return tuple(ast.literal_value(item) for item in value.items)
    return value


@dataclass(frozen=True)
class OptionSpec:
    value_type: str  # int | number | word | value
    minimum: float | None = None
    summary: str = ""
    choices: tuple[str, ...] = field(default=())
    maximum: float | None = None  # a sane bound: `at batch 1e11` would run for hours


OPTION_SPECS: dict[str, OptionSpec] = {
    "bins": OptionSpec("int", 2, "number of quantile bins for numeric histogram statistics (default 10)", maximum=10_000),
    "average": OptionSpec("word", summary="averaging of multiclass precision/recall/f1/auc", choices=AVERAGES),
    "positive": OptionSpec("value", summary="the positive class label for binary metrics"),
    "min_rows": OptionSpec("int", 1, "segments with fewer rows are skipped (default 30)", maximum=1e9),
    "folds": OptionSpec("int", 2, "number of cross-validation folds (default 5)", maximum=1_000),
    "seed": OptionSpec("int", 0, "random seed", maximum=2**32 - 1),
    "batch": OptionSpec("int", 1, "rows per call (default 1)", maximum=1_000_000),
    "concurrency": OptionSpec("int", 1, "parallel callers, HTTP models only (default 1)", maximum=256),
    "calls": OptionSpec("int", 1, "timed calls per model (default 200)", maximum=1_000_000),
    "warmup": OptionSpec("int", 0, "untimed calls per model before timing (default 20)", maximum=100_000),
    "last": OptionSpec("int", 2, "only the last N epochs", maximum=1e9),
    "tolerance": OptionSpec("number", 0, "allowed rise (or fall): absolute, or relative as a %", maximum=1e300),
    "rows": OptionSpec("int", 1, "reference rows the cases are built from (default 20)", maximum=1_000_000),
}
