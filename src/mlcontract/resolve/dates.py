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
from .literals import mismatch
from .scope import Scope


def is_temporal_check(node: ast.FeatureCheck) -> bool:
    """Whether the feature check compares a column's values, oldest or newest value with dates
    (this module resolves it): `between DATE and DATE`, `min|max CMP DATE`, `min|max between ...`."""
    test = node.test
    if node.length is not None or node.shares is not None:
        return False  # lengths and shares are numbers
    if isinstance(test, ast.Between):
        dated = isinstance(test.low, ast.Temporal) or isinstance(test.high, ast.Temporal)
        return dated and (node.statistic is None or node.statistic.name.id in ("min", "max"))
    return node.statistic is not None and node.statistic.name.id in ("min", "max") and \
        isinstance(test, ast.Comparison) and isinstance(test.rhs, ast.Temporal)


def temporal_check(scope: Scope, node: ast.FeatureCheck, subject: str) -> None:
    scope.options(node.options, frozenset(), node)
    if node.vs is not None:
        scope.fail(node.vs.span, "a date range checks the subject's own values; drop `vs`")
    if node.statistic is not None and node.statistic.args:
        scope.fail(node.statistic.span, f"`{node.statistic.name.id}` takes no arguments")
    bounds: tuple[Any, ...]
    if isinstance(node.test, ast.Between):
        bounds = (node.test.low, node.test.high)
    else:
        assert isinstance(node.test, ast.Comparison)
        bounds = (node.test.rhs,)
    for bound, end in zip(bounds, ("low", "high") if len(bounds) == 2 else ("right-hand",)):
        if not isinstance(bound, (ast.Temporal, ast.Number, ast.Neg, ast.String)):
            scope.fail(bound.span, f"the {end} end of `between` must be a date" if len(bounds) == 2
                       else "write the date itself")
    values = [bound.value for bound in bounds if isinstance(bound, ast.Temporal)]
    if len(values) == 2 and _instant(values[0]) > _instant(values[1]):
        scope.fail(node.test.span, "the range is empty", "write the earlier date first")
    statistic = node.statistic.name.id if node.statistic is not None else "between"
    expanded = list(expand(scope, node.selector, subject, ANY_TYPE, statistic))
    for column, _column_type, problem, from_group in expanded:
        if problem is None:
            problem = _fits(scope, column, scope.schemas[subject][column][1], bounds)
        if node.statistic is None:
            low, high = _to_ticks(_for_polars(values), scope.schemas[subject][column][1])
            measure: ms.Measure = ms.TemporalBetween(subject, column, low, high)
        elif isinstance(node.test, ast.Between):
            measure = ms.TemporalBound(subject, column, statistic, "between", *_for_polars(values))
        else:
            assert isinstance(node.test, ast.Comparison)
            measure = ms.TemporalBound(subject, column, statistic, node.test.op, values[0])
        scope.add(node, CheckKind.DATA, subject, column, statistic, measure, Holds(), problem,
                  from_selector=from_group or len(expanded) > 1)


def _fits(scope: Scope, column: str, dtype: str, bounds) -> str | None:
    """Nothing, or a diagnostic (a problem in lenient mode) when the column cannot meet the bounds:
    a Date column takes dates, a Datetime column datetimes, with a zone when it has one."""
    for bound in bounds:  # one of them at least is a date (is_temporal_check)
        wrong = mismatch(column, dtype, bound, ast.literal_value(bound))
        if wrong is not None:
            if not scope.lenient:
                scope.fail(bound.span, *wrong)
            return wrong[0]
    return None


def _instant(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc) if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc)


def _for_polars(values):
    """Aware datetimes as instants in UTC (Polars compares a zoned column with them)."""
    return tuple(v.astimezone(datetime.timezone.utc) if isinstance(v, datetime.datetime) and v.tzinfo else v
                 for v in values)


def _to_ticks(bounds, dtype: str):
    """The bounds of `between` on a Datetime("ms") column moved inward to whole milliseconds (the
    low end up, the high end down): Polars compares a column with a datetime in the column's
    unit, cutting a literal's microseconds off, so `>= 00:00:00.0005` would take 00:00:00.000.
    The values inside are the same; a column of finer units takes every literal as it is."""
    low, high = bounds
    if "time_unit='ms'" not in dtype or not all(isinstance(v, datetime.datetime) for v in bounds):
        return low, high
    step = datetime.timedelta(milliseconds=1)
    if low.microsecond % 1_000:
        low = low.replace(microsecond=low.microsecond // 1_000 * 1_000) + step
    return low, high.replace(microsecond=high.microsecond // 1_000 * 1_000)
