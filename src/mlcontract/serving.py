"""Serving-path measures: robustness cases and the latency stress test.

The checker builds these measures from contract lines; computing them is the serving
capability. Until it lands every one of them evaluates to an `error` that says so.
"""
from __future__ import annotations

from .measures import Pending


def latency_measure(statistic: str, model: str, dataset: str, settings: dict, group: tuple):
    return Pending("latency checks")


def robustness_measure(model: str, case: str, column: str | None, dataset: str, path: str | None, seed: int,
                       base_rows: int):
    return Pending("robustness checks")
