"""Row filters (`where`, issue 13): the condition's names and types, and the view it makes.

`feature amount of training where country == "US" mean <= 120` and `training rows where age < 0
== 0` look at a *view*: the rows of a dataset for which a condition is true. A view is a dataset
of its own to the planner (named `training where country == "US"`, the condition as written, so
two checks with the same condition share its scan) whose source is the base's plus the condition;
sources/conditions.py turns the condition into a Polars expression when the data is opened.

Types are checked here, at compile time: a column compared with a value it can never hold, a
comparison with `null`, arithmetic on strings, are diagnostics.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt

from ..language import ast
from ..language.diagnostics import did_you_mean
from .scope import Abort, Scope

_STRING_DTYPES = ("String", "Categorical", "Enum")
_TEMPORAL_DTYPES = ("Date", "Datetime", "Time", "Duration")
_ORDERED = {"number", "date", "datetime", "time", "duration"}  # what `<` compares


def view(scope: Scope, base: str, where: ast.Condition | None) -> str:
    """The name of the view of `base` by `where` (declared on first use), or `base` itself."""
    if where is None:
        return base
    scope.no_profile(base, where.span, "`where`")
    text = " ".join(scope.source.text[where.span.start:where.span.end].split())
    name = f"{base} where {text}"
    if name in scope.views or name in scope.datasets:
        return name
    if base in scope.schema_errors:
        scope.schema_errors[name] = scope.schema_errors[base]
    else:
        try:
            check(scope, where, base)
        except Abort:
            if not scope.lenient:
                raise
            # run() was given other data (lenient): a condition it cannot hold makes the checks
            # on the view `error`s, not the contract invalid
            scope.schema_errors[name] = f"`where` on {base}: {scope.diagnostics.pop().message}"
        scope.schemas[name] = scope.schemas[base]
        scope.index_columns[name] = scope.index_columns.get(base, ())
    if base in scope.refused:
        scope.refused[name] = scope.refused[base]
    root = scope.datasets[base]
    scope.views[name] = dataclasses.replace(root, name=name, base=base, where=where, inner=root, missing=())
    return name


def data_view(scope: Scope, dataset: str, node: ast.FeatureCheck) -> str:
    """What a feature check looks at in `dataset` (its subject, its `vs` dataset, a dataset named
    on its right): the rows its `where` picks, as their lengths after `length`."""
    return lengths_view(scope, view(scope, dataset, node.where), node.length)


def lengths_view(scope: Scope, base: str, marker: ast.Marker | None) -> str:
    """The view of `base` whose string columns are their lengths (`feature comment length max`),
    or `base` itself without `length`. Other columns are not in it: `length` of a number is a
    diagnostic."""
    if marker is None:
        return base
    scope.no_profile(base, marker.span, "`length`")
    name = f"{base} (string lengths)"
    if name in scope.views:
        return name
    if base in scope.schema_errors:
        scope.schema_errors[name] = scope.schema_errors[base]
    else:
        scope.schemas[name] = {column: ("numeric", "UInt32") for column, (_, dtype) in scope.schemas[base].items()
                               if dtype.split("(")[0] in _STRING_DTYPES}
        scope.index_columns[name] = scope.index_columns.get(base, ())
    if base in scope.refused:
        scope.refused[name] = scope.refused[base]
    inner = scope.views.get(base) or scope.datasets[base]
    scope.views[name] = dataclasses.replace(inner, name=name, base=inner.base or base, where=None, lengths=True,
                                            inner=inner, missing=())
    return name


def length_columns(scope: Scope, selector: ast.Selector, base: str) -> None:
    """`length` of a column that is not a string is a diagnostic at that column."""
    if base in scope.schema_errors:
        return
    schema = scope.schemas[base]
    for item in selector.items:
        if isinstance(item, ast.ColumnItem) and item.name.id in schema:
            dtype = schema[item.name.id][1]
            if dtype.split("(")[0] not in _STRING_DTYPES:
                scope.fail(item.name.span, f"`length` is the length of strings; `{item.name.id}` is {dtype}")


def check(scope: Scope, node, dataset: str) -> None:
    """Report the first problem of a condition: unknown columns, types that cannot agree."""
    if isinstance(node, ast.LogicCond):
        for operand in node.operands:
            check(scope, operand, dataset)
    elif isinstance(node, ast.NotCond):
        check(scope, node.operand, dataset)
    elif isinstance(node, ast.IsNullCond):
        operand_type(scope, node.operand, dataset)
    elif isinstance(node, ast.InCond):
        kind, dtype = operand_type(scope, node.operand, dataset)
        for item in node.values.items:
            literal, literal_dtype = operand_type(scope, item, dataset)
            if literal != "null" and literal != kind:
                scope.fail(item.span, _mismatch(scope, node.operand, kind, dtype, item, literal))
            if literal in ("date", "datetime"):
                _same_zone(scope, node, dtype, literal_dtype, item)
    else:
        _comparison(scope, node, dataset)


def _comparison(scope: Scope, node: ast.CompareCond, dataset: str) -> None:
    left, right = operand_type(scope, node.left, dataset), operand_type(scope, node.right, dataset)
    for side, (kind, _) in ((node.left, left), (node.right, right)):
        if kind == "null":
            scope.fail(side.span, "a comparison with `null` is never true",
                       "write `COLUMN is null` or `COLUMN is not null`")
    if left[0] != right[0]:
        column, literal = (node.left, node.right) if isinstance(node.left, ast.ColumnRef) else (node.right, node.left)
        kind, dtype = left if column is node.left else right
        other = right[0] if column is node.left else left[0]
        seconds = {kind, other} == {"number", "duration"}
        scope.fail(node.span, _mismatch(scope, column, kind, dtype, literal, other),
                   "a duration (`1d`, `250ms`) compares with a Duration column or `end - start`; for a number "
                   "of seconds, write the number itself" if seconds else None)
    if left[0] not in _ORDERED and node.op not in ("==", "!="):
        scope.fail(node.span, f"`{node.op}` compares numbers, dates and times; {_plural(left[0])} take `==` or `!=`")
    if left[0] == "datetime":
        _same_zone(scope, node, left[1], right[1], node)
    elif left[0].startswith("other") or (left[0] == "time" and left[1] != right[1]):
        scope.fail(node.span, f"cannot compare {left[1]} with {right[1]}")
    # durations of any units compare (sources/conditions: exactly, in the finer unit)


def _same_zone(scope: Scope, node, left: str, right: str, where) -> None:
    """Datetimes compare when both have a time zone or neither has (a naive one has no instant)."""
    if ("time_zone=None" in left or left == "naive datetime") != ("time_zone=None" in right or right == "naive datetime"):
        scope.fail(where.span, f"cannot compare {_zone_words(left)} with {_zone_words(right)}",
                   "give the datetime a zone (`2026-01-31T12:00Z`) or leave it out, as the column has it")


def _zone_words(dtype: str) -> str:
    if dtype in ("naive datetime", "aware datetime"):
        return f"a {dtype}" if dtype == "naive datetime" else "a datetime with a time zone"
    return f"a column without a time zone ({dtype})" if "time_zone=None" in dtype else f"a column with a time zone ({dtype})"


def operand_type(scope: Scope, node, dataset: str) -> tuple[str, str]:
    """(kind, dtype) of an operand: kind is number, string, boolean, date, datetime, time,
    duration, null, or other:DTYPE; dtype is the column's Polars dtype, or the literal's kind."""
    if isinstance(node, ast.ColumnRef):
        schema = scope.schemas[dataset]
        name = node.name
        if name.id not in schema:
            scope.fail(name.span, f"unknown column `{name.id}` in dataset `{dataset}`",
                       did_you_mean(name.id, schema) or f"its columns: {', '.join(list(schema)[:8])}")
        kind, dtype = schema[name.id]
        return _column_kind(kind, dtype), dtype
    if isinstance(node, ast.Temporal):
        if not isinstance(node.value, _dt.datetime):
            return "date", "date"
        return "datetime", "aware datetime" if node.value.tzinfo is not None else "naive datetime"
    if _is_duration(node) or isinstance(node, ast.Neg) and _is_duration(node.operand):
        return "duration", "duration"  # `1d`, `-90min`: compared exactly with Duration values
    if isinstance(node, ast.BinOp) and node.op == "-" and isinstance(node.left, ast.ColumnRef) \
            and isinstance(node.right, ast.ColumnRef):
        left, right = operand_type(scope, node.left, dataset), operand_type(scope, node.right, dataset)
        if left[0] in ("date", "datetime") or right[0] in ("date", "datetime"):
            return _difference(scope, node, left, right)
    if isinstance(node, (ast.BinOp, ast.Neg)):
        parts = (node.left, node.right) if isinstance(node, ast.BinOp) else (node.operand,)
        for part in parts:
            kind, dtype = operand_type(scope, part, dataset)
            if kind != "number":
                scope.fail(part.span, f"arithmetic takes numbers; this is {_a(kind, dtype)}")
        return "number", "number"
    kind = _literal_kind(node)
    return kind, kind


def _is_duration(node) -> bool:
    return isinstance(node, ast.Number) and node.unit == "s"


def _difference(scope: Scope, node: ast.BinOp, left: tuple[str, str], right: tuple[str, str]) -> tuple[str, str]:
    """`end - start` of two Date or two Datetime columns (of the same zone-ness): a duration."""
    if left[0] != right[0]:
        scope.fail(node.span, f"`-` of two dates or two datetimes gives a duration; this is {_a(*left)} "
                   f"minus {_a(*right)}")
    if left[0] == "datetime":
        _same_zone(scope, node, left[1], right[1], node)
    return "duration", "duration"


def _column_kind(kind: str, dtype: str) -> str:
    base = dtype.split("(")[0]
    if base == "Boolean":
        return "boolean"
    if base in _STRING_DTYPES:
        return "string"
    if kind == "numeric":
        return "number"
    if base in _TEMPORAL_DTYPES:
        return base.lower()
    return f"other:{dtype}"


def _literal_kind(node) -> str:
    if isinstance(node, ast.String):
        return "string"
    if isinstance(node, ast.Bool):
        return "boolean"
    if isinstance(node, ast.Null):
        return "null"
    return "number"


def _mismatch(scope: Scope, column, kind: str, dtype: str, item, other: str) -> str:
    if isinstance(column, ast.ColumnRef):
        shown = " ".join(scope.source.text[item.span.start:item.span.end].split())
        return f"`{column.name.id}` holds {_plural(kind)} ({dtype}); `{shown}` is {_a(other, other)}"
    return f"cannot compare {_plural(kind)} with {_plural(other)}"


def _plural(kind: str) -> str:
    return {"number": "numbers", "string": "strings", "boolean": "`true` and `false`", "date": "dates",
            "datetime": "datetimes", "time": "times", "duration": "durations", "null": "`null`"}.get(
        kind, "values of another type")


def _a(kind: str, dtype: str) -> str:
    return {"number": "a number", "string": "a string", "boolean": "a boolean", "null": "`null`",
            "date": "a date", "datetime": "a datetime", "duration": "a duration"}.get(kind, f"a value of type {dtype}")
