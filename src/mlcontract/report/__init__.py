"""Reports: the formats a run's results are written in (report/formats/, one module each) and
the plot data the measures record for them (plotdata.py).

This package is imported by the measures (for plotdata) and must stay light: the terminal
report (rich) loads only when one of its names is asked for, `from mlcontract.report import
render` as before the formats moved here.
"""
from __future__ import annotations

_TERMINAL = ("render", "summary_line", "check_label", "GROUPS", "MARKS", "LISTED_PASSES", "LABEL_LIMIT")


def __getattr__(name: str):
    if name in _TERMINAL:
        from .formats import terminal

        return getattr(terminal, name)
    raise AttributeError(name)
