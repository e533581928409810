"""What a measure observes: an `Observation`, computed from the values of its requests (`fetch`).

A leaf of the plan stage: statistic families (statistics/), measures (plan/measures.py,
models/) and evaluate all speak it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .requests import Request

Got = Mapping[Request, Any]


@dataclass(frozen=True)
class Observation:
    """The outcome of a measure: a value, and for verdict measures whether it holds."""

    value: float | int | None  # an int where it is exact: an integer column's min or max
    passed: bool | None = None
    message: str = ""
    details: dict = field(default_factory=dict, compare=False, hash=False)


def fetch(got: Got, request: Request) -> Any:
    """The computed value of a request; re-raises the error that computing it met."""
    value = got[request]
    if isinstance(value, BaseException):
        raise value
    return value
