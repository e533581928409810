"""Model-quality measures: holdout metrics, naive baselines, cross-validation, training curves.

The checker builds these measures from contract lines; computing them is the model-quality
capability. Until it lands every one of them evaluates to an `error` that says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .measures import Pending


def metric_measure(metric: str, model: str, dataset: str, params: tuple, segment: str | None, min_rows: int,
                   cv: bool, aggregate: str, folds: int, seed: int):
    kind = "cross-validation checks" if cv else "model metric checks"
    return Pending(kind)


def baseline_measure(strategy: str, metric: str, fit_on: str, dataset: str, params: tuple):
    return Pending("baseline comparisons")


def curve_measure(history: str, column: str):
    return Pending("training-curve checks")


def trend_measure(history: str, column: str, direction: str, negated: bool, last: int | None, tolerance: float):
    return Pending("training-curve checks")


def history_columns(source: Any, frame: Any = None) -> list[str] | None:
    """The curve names a history offers, or None when it cannot be read at compile time."""
    return None
