"""Row conditions (`where`) as Polars expressions: how a view's rows are chosen, and how a
view's rows are derived from its inner dataset's (`derived`, one step of the view's chain).

The condition was checked by the resolver (resolve/conditions.py: columns exist, types agree);
here it becomes one Polars expression, built from the AST node by node — no text of the
contract is ever evaluated. Logic is three-valued, as in SQL: a comparison with a missing value
is unknown, `and`/`or`/`not` follow Kleene's tables, and a row is kept only when the condition is
true. NaN is missing, like null (it is in `null_rate`): `x is null` is true for it, and `x < 0`
is unknown.
"""
from __future__ import annotations

import datetime
from typing import Any

from ..language import ast

_COMPARE = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}


def derived(lazy: Any, view: Any) -> Any:
    """The rows of the view `view` (a DatasetSource with an `inner`) from the rows of its inner
    dataset, `lazy`: those its condition keeps, or its string columns' lengths. Opening a view
    (sources.open_dataset) and an engine deriving it from the rows its root's scan read apply
    this same step; both are row by row, so a batch of the inner rows gives that batch's rows
    of the view."""
    return lengths(lazy) if view.lengths else filtered(lazy, view.where)


def filtered(lazy: Any, condition: Any) -> Any:
    """The rows of `lazy` for which `condition` (an ast.Condition) is true."""
    schema = lazy.collect_schema()
    return lazy.filter(expression(condition, schema))


def lengths(lazy: Any) -> Any:
    """`lazy` with each string column replaced by its values' lengths in Unicode characters
    (null stays null); `feature comment length p99` is p99 of that column."""
    import polars as pl

    schema = lazy.collect_schema()
    strings = [name for name, dtype in schema.items()
               if dtype == pl.String or dtype == pl.Categorical or isinstance(dtype, (pl.Categorical, pl.Enum))]
    return lazy.with_columns(pl.col(name).cast(pl.String).str.len_chars().alias(name) for name in strings)


def with_missing(lazy: Any, missing: tuple) -> Any:
    """`lazy` with the values a `missing` declaration lists made null, in the columns it has."""
    import polars as pl

    schema = lazy.collect_schema()
    replaced = []
    for column, values in missing:
        if column not in schema:
            continue
        equal = [pl.col(column).eq(pl.lit(v, dtype=_python_dtype(v))) for v in values]
        replaced.append(pl.when(pl.any_horizontal(equal).fill_null(False)).then(None)
                        .otherwise(pl.col(column)).alias(column))
    return lazy.with_columns(replaced) if replaced else lazy


def _python_dtype(value: Any) -> Any:
    import polars as pl

    if isinstance(value, bool):
        return pl.Boolean
    if isinstance(value, int):
        return pl.Int64 if -2**63 <= value < 2**63 else pl.Float64
    if isinstance(value, float):
        return pl.Float64
    return pl.String


def expression(node: Any, schema: Any) -> Any:
    """The Polars expression of a condition or an operand."""
    import polars as pl

    if isinstance(node, ast.LogicCond):
        parts = [expression(operand, schema) for operand in node.operands]
        combined = parts[0]
        for part in parts[1:]:
            combined = (combined & part) if node.op == "and" else (combined | part)
        return combined
    if isinstance(node, ast.NotCond):
        return ~expression(node.operand, schema)
    if isinstance(node, ast.CompareCond):
        left, right = expression(node.left, schema), expression(node.right, schema)
        return getattr(left, _COMPARE[node.op])(right)
    if isinstance(node, ast.IsNullCond):
        operand = expression(node.operand, schema)
        return operand.is_not_null() if node.negated else operand.is_null()
    if isinstance(node, ast.InCond):
        return _in(node, schema)
    if isinstance(node, ast.ColumnRef):
        column = pl.col(node.name.id)
        dtype = schema[node.name.id]
        if getattr(dtype, "time_zone", None):  # instants, compared in UTC as aware literals are
            return column.dt.convert_time_zone("UTC")
        return column.fill_nan(None) if dtype.is_float() else column
    if isinstance(node, ast.BinOp):
        left, right = expression(node.left, schema), expression(node.right, schema)
        return {"+": left + right, "-": left - right, "*": left * right, "/": left / right}[node.op]
    if isinstance(node, ast.Neg):
        return -expression(node.operand, schema)
    value = ast.literal_value(node)
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc)  # one instant, whatever offset it was written with
    return pl.lit(value, dtype=_literal_dtype(node))


def _in(node: ast.InCond, schema: Any) -> Any:
    """`x in (...)`: unknown for a missing x, unless the set lists `null` (then true); otherwise
    whether x equals one of the values (`==`, so an integer column meets a float value as `==`
    would: Polars' `is_in` requires one type)."""
    import polars as pl

    operand = expression(node.operand, schema)
    values = [item for item in node.values.items if not isinstance(item, ast.Null)]
    listed_null = len(values) < len(node.values.items)
    equal = pl.any_horizontal([operand.eq(expression(item, schema)) for item in values]) if values else pl.lit(False)
    inside = pl.when(operand.is_null()).then(pl.lit(True if listed_null else None, dtype=pl.Boolean)).otherwise(equal)
    return ~inside if node.negated else inside


def _literal_dtype(node: Any) -> Any:
    import polars as pl

    value = ast.literal_value(node)
    if isinstance(value, bool):
        return pl.Boolean
    if isinstance(value, int):
        return pl.Int64 if -2**63 <= value < 2**63 else pl.Float64
    if isinstance(value, float):
        return pl.Float64
    if isinstance(value, str):
        return pl.String
    if isinstance(value, datetime.datetime):
        return pl.Datetime("us", "UTC") if value.tzinfo is not None else pl.Datetime("us")
    if isinstance(value, datetime.date):
        return pl.Date
    return None
