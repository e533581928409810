"""Training-curve checks: `[HISTORY] CURVE [not] increasing|decreasing [up to best epoch]
[over last N epochs] [tolerance T]`, and the curve names a history offers (read once per history
at compile time). `tolerance 0.02` is absolute (in the curve's units), `tolerance 2%` relative
(a share of the best value so far); any other unit is a diagnostic."""
from __future__ import annotations

from .. import sources
from ..language import ast
from ..language.diagnostics import did_you_mean
from .contract import CheckKind, Holds
from .scope import Scope


def curve_names(scope: Scope) -> list[str]:
    return [c for cols in scope.history_columns.values() if cols for c in cols]


def curve_column(scope: Scope, history: str, column: ast.Name) -> None:
    from ..models.history import BEST_KEYS

    if history in scope.refused:
        scope.history_columns[history] = None  # unknown: its checks are errors (_add)
    if history not in scope.history_columns:
        scope.history_columns[history] = sources.history_curves(scope.histories[history],
                                                                 scope.history_frames.get(history))
    columns = scope.history_columns[history]
    if columns is not None and column.id.lower() in BEST_KEYS:
        scope.fail(column.span, f"`{column.id}` is where early stopping's best round is recorded, not a curve",
                   "`CURVE not increasing up to best epoch` reads it, e.g. `val_loss not increasing up to best epoch`")
    if columns is not None and column.id not in columns:
        scope.fail(column.span, f"unknown curve `{column.id}` in history `{history}`",
                   did_you_mean(column.id, columns) or f"its columns: {', '.join(columns)}")


def trend_check(scope: Scope, node: ast.TrendCheck) -> None:
    from ..models.quality import TREND_OPTIONS, trend_measure  # only for contracts with curves (start-up)

    words = list(node.words)
    subject_name = words.pop(0) if len(words) > 1 and words[0].id in scope.declared_at else None
    if len(words) != 1:
        scope.fail(node.span, f"unknown curve `{' '.join(w.id for w in words)}`",
                   "e.g. `val_loss not increasing`")
    history = scope.history(subject_name, node.span)
    curve_column(scope, history, words[0])
    tolerance_unit(scope, node.options)
    options = scope.options(node.options, TREND_OPTIONS, node)
    last = int(options["last"].number) if "last" in options else None
    tolerance = options["tolerance"].number if "tolerance" in options else 0.0
    relative = "tolerance" in options and getattr(options["tolerance"].value, "unit", None) == "%"
    measure = trend_measure(history, words[0].id, node.direction, node.negated, last, tolerance, relative,
                            node.up_to_best is not None)
    statistic = ("not " if node.negated else "") + node.direction
    scope.add(node, CheckKind.CURVE, history, words[0].id, statistic, measure, Holds())


def tolerance_unit(scope: Scope, options: tuple[ast.Option, ...]) -> None:
    """A tolerance is a plain number (absolute) or a percentage (relative); a duration or a rate
    (`tolerance 5ms`) says neither."""
    for option in options:
        value = option.value
        if option.key == "tolerance" and isinstance(value, ast.Neg):
            scope.fail(value.span, "`tolerance` must be at least 0", "it bounds how far the curve may go the wrong way")
        if option.key == "tolerance" and isinstance(value, ast.Number) and value.unit not in (None, "%"):
            scope.fail(value.span, f"a tolerance is a number or a percentage, not `{value.text}`",
                       "`tolerance 0.02` allows a change of 0.02 in the curve's units; `tolerance 2%` allows 2% "
                       "of the best value so far")
