"""Options as the resolver reads them: a checked option value (`Opt`) and a source option's
plain value."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..language import ast
from ..language.source import Span


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
    return value
