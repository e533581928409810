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
from typing import Any, TypeGuard

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
    """`lazy` with the values a `missing` declaration lists made null, in the columns it has. A
    date or datetime is matched as `where COLUMN == VALUE` matches it: exactly, an aware one as
    an instant."""
    import polars as pl

    schema = lazy.collect_schema()
    replaced = []
    for column, values in missing:
        if column not in schema:
            continue
        equal = [_column_equals(column, schema[column], value) for value in values]
        replaced.append(pl.when(pl.any_horizontal(equal).fill_null(False)).then(None)
                        .otherwise(pl.col(column)).alias(column))
    return lazy.with_columns(replaced) if replaced else lazy


def _column_equals(column: str, dtype: Any, value: Any) -> Any:
    import polars as pl

    if isinstance(value, datetime.datetime) and getattr(dtype, "time_unit", None):
        return exact_temporal(pl.col(column), dtype, "==", value)
    return pl.col(column).eq(pl.lit(_utc(value), dtype=_value_dtype(value)))


def _utc(value: Any) -> Any:
    """An aware datetime as its instant in UTC (one instant, whatever offset it was written with)."""
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(datetime.timezone.utc)
    return value


# ---- exact comparisons of Datetime and Duration columns --------------------------------------------
# Polars compares two datetimes (or durations) in the coarser of their units: a Datetime("ns")
# column meets a microsecond literal with its nanoseconds cut off, so `ts == 2026-01-01T00:00`
# would hold 500 ns past midnight. These compare the column's integer ticks instead, exactly.
NS_PER_UNIT = {"ns": 1, "us": 1_000, "ms": 1_000_000}
FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_I64 = (-2**63, 2**63 - 1)


def exact_temporal(column: Any, dtype: Any, op: str, value: Any) -> Any:
    """`column OP value` for a Datetime or Duration column (an expression of dtype `dtype`) and a
    literal (a datetime, or a duration given as an exact number of nanoseconds, a Fraction or
    an int), on the column's integer ticks: a literal between two ticks equals neither and lies
    between them, one beyond the column's range beyond every value. Null stays unknown."""
    from fractions import Fraction

    ns = Fraction(_nanoseconds(value))
    ticks = ns / NS_PER_UNIT[dtype.time_unit]
    physical = column.to_physical()  # a zoned column's ticks are in UTC, as `_nanoseconds` counts
    always, never = physical.eq(physical), physical.ne(physical)  # true / false, unknown for null
    if ticks.denominator != 1:  # between two ticks: `<` is `<=` the lower one, `>` is `>` it
        if op in ("==", "!="):
            return never if op == "==" else always
        op = {"<": "<=", ">=": ">"}.get(op, op)
    floor = ticks.numerator // ticks.denominator
    if floor > _I64[1] or floor < _I64[0]:  # beyond every value the column can hold
        below_all = floor < _I64[0]
        holds = op == "!=" or (op in (">", ">=") if below_all else op in ("<", "<="))
        return always if holds else never
    return getattr(physical, _COMPARE[op])(_int64(floor))


def _int64(value: int) -> Any:
    import polars as pl

    return pl.lit(value, dtype=pl.Int64)


def _nanoseconds(value: Any) -> Any:
    """A datetime literal as nanoseconds since 1970-01-01 (an aware one in UTC, a naive one as
    written); a duration (already nanoseconds) as it is."""
    if not isinstance(value, datetime.datetime):
        return value
    epoch = datetime.datetime(1970, 1, 1)
    delta = _utc(value).replace(tzinfo=None) - epoch
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000


def _value_dtype(value: Any) -> Any:
    """The Polars dtype of a literal's value (None for `null`)."""
    import polars as pl

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
        return _comparison(node.left, node.op, node.right, schema)
    if isinstance(node, ast.IsNullCond):
        operand = expression(node.operand, schema)
        return operand.is_not_null() if node.negated else operand.is_null()
    if isinstance(node, ast.InCond):
        return _in(node, schema)
    if isinstance(node, (ast.ColumnRef, ast.BinOp)):
        return _typed(node, schema)[0]
    if isinstance(node, ast.Neg):
        return -expression(node.operand, schema)
    return pl.lit(_utc(ast.literal_value(node)), dtype=_literal_dtype(node))


def _comparison(left: Any, op: str, right: Any, schema: Any) -> Any:
    """`left OP right`. A Datetime or Duration operand (a column, or the difference of two date
    or datetime columns) meets a datetime or duration literal on its integer ticks
    (`exact_temporal`), and another such operand in the finer of their units: Polars would
    compare them in the coarser one. Anything else as Polars compares it."""
    for column, literal, written in ((left, right, op), (right, left, FLIPPED[op])):
        exact = _integer_against_number(column, written, literal, schema)
        if exact is not None:
            return exact
    (left_side, left_type), (right_side, right_type) = _typed(left, schema), _typed(right, schema)
    for side, dtype, literal, written in ((left_side, left_type, right, op),
                                          (right_side, right_type, left, FLIPPED[op])):
        value = _temporal_literal(literal)
        if dtype is not None and value is not None:
            return exact_temporal(side, dtype, written, value)
    if left_type is not None and right_type is not None and _unit(left_type) != _unit(right_type):
        finer = _finer(left_type, right_type)
        left_side, right_side = _in_unit(left_side, left_type, finer), _in_unit(right_side, right_type, finer)
    return getattr(left_side, _COMPARE[op])(right_side)


def _integer_against_number(column: Any, op: str, literal: Any, schema: Any) -> Any:
    """`column OP number` of an integer column (a decimal of scale 0 included) and a plain number
    literal, compared exactly, on integers of the column's type (integer_comparison); None for
    any other pair. Polars would compare 10**17 + 1 with 1e17 as Float64s (equal), take a
    literal beyond Int64 as a Float64 (2**100 would equal 2**100 + 1), and compare a UInt128
    column with an Int64 literal wrongly (`u > 5` kept no row of 2**127 + 1)."""
    import polars as pl

    from .files import integer_bounds

    if not isinstance(column, ast.ColumnRef) or not plain_number(literal):
        return None
    dtype = schema[column.name.id]
    bounds = integer_bounds(dtype)
    if bounds is None:
        return None
    expr = pl.col(column.name.id).cast(pl.Int128) if dtype.is_decimal() else pl.col(column.name.id)
    compared = integer_comparison(op, ast.literal_value(literal), bounds)
    if isinstance(compared, bool):
        return pl.when(expr.is_null()).then(pl.lit(None, dtype=pl.Boolean)).otherwise(pl.lit(compared))
    whole = compared[1]
    return getattr(expr, _COMPARE[op])(pl.lit(whole, dtype=pl.Int128 if dtype.is_decimal() else dtype))  # it fits


def integer_comparison(op: str, value: int | float, bounds: tuple[int, int]) -> bool | tuple[str, int]:
    """`x OP value` for the integers x of a type in [bounds]: True or False when the value
    decides every x, else (op, whole), an integer bound of the type with `x OP whole` the same
    test. With a float v: x > v iff x > floor(v), x >= v iff x >= ceil(v), x == v iff v is a
    whole number and x equals it (both engines compare so: sources/conditions.py, Spark's SQL)."""
    import math

    if isinstance(value, float) and math.isinf(value):
        return {"<": value > 0, "<=": value > 0, ">": value < 0, ">=": value < 0, "==": False, "!=": True}[op]
    if isinstance(value, float) and not value.is_integer() and op in ("==", "!="):
        return op == "!="
    whole = int(value) if isinstance(value, int) or value.is_integer() else \
        (math.floor(value) if op in (">", "<=") else math.ceil(value))
    smallest, largest = bounds
    if whole < smallest or whole > largest:  # every value of the type lies on one side
        return {"<": whole > largest, "<=": whole > largest, ">": whole < smallest, ">=": whole < smallest,
                "==": False, "!=": True}[op]
    return op, whole


def plain_number(node: Any) -> TypeGuard[ast.Number | ast.Neg]:
    """A number literal without a unit (`5`, `-1e17`; not `5%`, `250ms`)."""
    if isinstance(node, ast.Neg):
        return plain_number(node.operand)
    return isinstance(node, ast.Number) and node.unit is None


def _typed(node: Any, schema: Any) -> tuple[Any, Any]:
    """An operand's expression, and its Polars dtype when that is a Datetime or Duration (None
    otherwise): a column's, or the Duration of `end - start` (two Date or Datetime columns, in
    the finer of their units)."""
    import polars as pl

    if isinstance(node, ast.ColumnRef):
        column = pl.col(node.name.id)
        dtype = schema[node.name.id]
        if getattr(dtype, "time_zone", None):  # instants, compared in UTC as aware literals are
            return column.dt.convert_time_zone("UTC"), dtype
        return (column.fill_nan(None) if dtype.is_float() else column), (dtype if _unit(dtype) else None)
    if not isinstance(node, ast.BinOp):
        return expression(node, schema), None
    (left, left_type), (right, right_type) = _typed(node.left, schema), _typed(node.right, schema)
    if node.op == "-" and _is_date_column(node.left, schema) and _is_date_column(node.right, schema):
        left_type = right_type = pl.Datetime("ms")  # days: whole milliseconds, whatever Polars' default
        left, right = left.cast(left_type), right.cast(right_type)
    if node.op == "-" and isinstance(left_type, pl.Datetime) and isinstance(right_type, pl.Datetime):
        finer = _finer(left_type, right_type)
        return _in_unit(left, left_type, finer) - _in_unit(right, right_type, finer), pl.Duration(finer)
    return {"+": left + right, "-": left - right, "*": left * right, "/": left / right}[node.op], None


def _is_date_column(node: Any, schema: Any) -> bool:
    import polars as pl

    return isinstance(node, ast.ColumnRef) and schema[node.name.id] == pl.Date


def _unit(dtype: Any) -> str | None:
    """The time unit of a Datetime or Duration column, None for any other."""
    return getattr(dtype, "time_unit", None)


def _finer(*dtypes: Any) -> Any:
    """The finest time unit of Datetime or Duration dtypes (ns, then us, then ms)."""
    return min((dtype.time_unit for dtype in dtypes), key=NS_PER_UNIT.__getitem__)


def _in_unit(side: Any, dtype: Any, unit: Any) -> Any:
    import polars as pl

    if isinstance(dtype, pl.Datetime):
        return side.cast(pl.Datetime(unit, "UTC" if dtype.time_zone else None))
    return side.cast(pl.Duration(unit))


def _temporal_literal(node: Any) -> Any:
    """A datetime literal's value, a duration literal's exact nanoseconds, or None."""
    if isinstance(node, ast.Temporal) and isinstance(node.value, datetime.datetime):
        return node.value
    if isinstance(node, ast.Number) and node.unit == "s":
        return duration_ns(node.text)
    if isinstance(node, ast.Neg) and isinstance(node.operand, ast.Number) and node.operand.unit == "s":
        return -duration_ns(node.operand.text)
    return None


_NS_PER_DURATION_UNIT = {"us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "min": 60 * 10**9,
                         "h": 3_600 * 10**9, "d": 86_400 * 10**9}


def duration_ns(text: str) -> Any:
    """The exact nanoseconds (a Fraction) of a duration literal as written: `1.5d`, `250ms`
    (its float seconds would make `0.1s` a hair more than 100 ms)."""
    from fractions import Fraction

    unit = next(u for u in ("us", "µs", "ms", "min", "s", "h", "d") if text.endswith(u))
    return Fraction(text[: -len(unit)]) * _NS_PER_DURATION_UNIT[unit]


def _in(node: ast.InCond, schema: Any) -> Any:
    """`x in (...)`: unknown for a missing x, unless the set lists `null` (then true); otherwise
    whether x equals one of the values (`==`, so an integer column meets a float value as `==`
    would: Polars' `is_in` requires one type)."""
    import polars as pl

    operand = expression(node.operand, schema)
    values = [item for item in node.values.items if not isinstance(item, ast.Null)]
    listed_null = len(values) < len(node.values.items)
    equal = pl.any_horizontal([_comparison(node.operand, "==", item, schema) for item in values]) if values \
        else pl.lit(False)
    inside = pl.when(operand.is_null()).then(pl.lit(True if listed_null else None, dtype=pl.Boolean)).otherwise(equal)
    return ~inside if node.negated else inside


def _literal_dtype(node: Any) -> Any:
    return _value_dtype(ast.literal_value(node))
