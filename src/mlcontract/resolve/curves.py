"""Training-curve checks: `[HISTORY] CURVE [not] increasing|decreasing [over last N epochs]
[tolerance T]`, and the curve names a history offers (read once per history at compile time)."""
from __future__ import annotations

from .. import sources
from ..language import ast
from ..language.diagnostics import did_you_mean
from ..models.quality import TREND_OPTIONS, trend_measure
from .contract import CheckKind, Holds
from .scope import Scope


def curve_names(scope: Scope) -> list[str]:
    return [c for cols in scope.history_columns.values() if cols for c in cols]


def curve_column(scope: Scope, history: str, column: ast.Name) -> None:
    if history in scope.refused:
        scope.history_columns[history] = None  # unknown: its checks are errors (_add)
    if history not in scope.history_columns:
        scope.history_columns[history] = sources.history_curves(scope.histories[history],
                                                                 scope.history_frames.get(history))
    columns = scope.history_columns[history]
    if columns is not None and column.id not in columns:
        scope.fail(column.span, f"unknown curve `{column.id}` in history `{history}`",
                   did_you_mean(column.id, columns) or f"its columns: {', '.join(columns)}")


def trend_check(scope: Scope, node: ast.TrendCheck) -> None:
    words = list(node.words)
    subject_name = words.pop(0) if len(words) > 1 and words[0].id in scope.declared_at else None
    if len(words) != 1:
        scope.fail(node.span, f"unknown curve `{' '.join(w.id for w in words)}`",
                   "e.g. `val_loss not increasing`")
    history = scope.history(subject_name, node.span)
    curve_column(scope, history, words[0])
    options = scope.options(node.options, TREND_OPTIONS, node)
    last = int(options["last"].number) if "last" in options else None
    tolerance = options["tolerance"].number if "tolerance" in options else 0.0
    measure = trend_measure(history, words[0].id, node.direction, node.negated, last, tolerance)
    statistic = ("not " if node.negated else "") + node.direction
    scope.add(node, CheckKind.CURVE, history, words[0].id, statistic, measure, Holds())
