"""Dates in feature checks (issue 13): `feature signup between 2026-01-01 and 2026-06-30` and
`feature signup min|max CMP 2026-01-01` on Date and Datetime columns. A Date column takes dates,
a Datetime column datetimes — with a zone when it has one, without when it has none."""
from __future__ import annotations

import datetime
from typing import Any

from ..language import ast
from ..plan import measures as ms
from ..statistics.base import ANY_TYPE
from .contract import CheckKind, Holds
from .features import expand
from .scope import Scope


def is_temporal_check(node: ast.FeatureCheck) -> bool:
    """Whether the feature check compares a column with dates (this module resolves it)."""
    test = node.test
    if node.statistic is None and isinstance(test, ast.Between):
        return isinstance(test.low, ast.Temporal) or isinstance(test.high, ast.Temporal)
    return node.statistic is not None and node.statistic.name.id in ("min", "max") and \
        isinstance(test, ast.Comparison) and isinstance(test.rhs, ast.Temporal)


def temporal_check(scope: Scope, node: ast.FeatureCheck, subject: str) -> None:
    scope.options(node.options, frozenset(), node)
    if node.vs is not None:
        scope.fail(node.vs.span, "a date range checks the subject's own values; drop `vs`")
    bounds: tuple[Any, ...]
    if isinstance(node.test, ast.Between):
        bounds = (node.test.low, node.test.high)
    else:
        assert isinstance(node.test, ast.Comparison)
        bounds = (node.test.rhs,)
    for bound in bounds:
        if not isinstance(bound, ast.Temporal):
            scope.fail(bound.span, "compare a date with a date: write both ends as dates or datetimes")
    values = [bound.value for bound in bounds if isinstance(bound, ast.Temporal)]
    if len(values) == 2 and _instant(values[0]) > _instant(values[1]):
        scope.fail(node.test.span, "the range is empty", "write the earlier date first")
    expanded = list(expand(scope, node.selector, subject, ANY_TYPE, "a date"))
    for column, _column_type, problem, from_group in expanded:
        if problem is None:
            dtype = scope.schemas[subject][column][1]
            problem = _fits(scope, node, column, dtype, bounds)
        if isinstance(node.test, ast.Between):
            measure: ms.Measure = ms.TemporalBetween(subject, column, *_for_polars(values))
            statistic = "between"
        else:
            assert node.statistic is not None and isinstance(node.test, ast.Comparison)
            statistic = node.statistic.name.id
            measure = ms.TemporalBound(subject, column, statistic, node.test.op, values[0])
        scope.add(node, CheckKind.DATA, subject, column, statistic, measure, Holds(), problem,
                  from_selector=from_group or len(expanded) > 1)


def _fits(scope: Scope, node, column: str, dtype: str, bounds) -> str | None:
    """Nothing, or a diagnostic (a problem in lenient mode) when the column cannot meet the bounds."""
    base = dtype.split("(")[0]
    problem = None
    for bound in bounds:
        is_datetime = isinstance(bound.value, datetime.datetime)
        if base not in ("Date", "Datetime"):
            problem = f"`{column}` holds {dtype} values, not dates"
        elif base == "Date" and is_datetime:
            problem = f"`{column}` holds dates (Date); `{bound.text}` is a datetime"
        elif base == "Datetime" and not is_datetime:
            problem = f"`{column}` holds datetimes ({dtype}); `{bound.text}` is a date: write `{bound.text}T00:00`"
        elif base == "Datetime" and ("time_zone=None" in dtype) != (bound.value.tzinfo is None):
            problem = (f"`{column}` has {'no' if 'time_zone=None' in dtype else 'a'} time zone ({dtype}); "
                       f"`{bound.text}` has {'one' if bound.value.tzinfo is not None else 'none'}")
        if problem and not scope.lenient:
            scope.fail(bound.span, problem)
    return problem


def _instant(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc) if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc)


def _for_polars(values):
    """Aware datetimes as instants in UTC (Polars compares a zoned column with them)."""
    return tuple(v.astimezone(datetime.timezone.utc) if isinstance(v, datetime.datetime) and v.tzinfo else v
                 for v in values)
