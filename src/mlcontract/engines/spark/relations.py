"""A dataset as the Spark engine reads it: the root dataset's DataFrame, the rows of the dataset
(a view's `where`, as a SQL condition over the root's columns) and each column as an expression
over the root's columns (a `missing` value made null, a string's `length`). Every request on a
dataset or a view of it reads the root's one DataFrame, so one scan's queries serve them all.

The condition is translated from the contract's AST node by node (sources/conditions.py gives
the same meaning in Polars): three-valued logic as in SQL, NaN read as missing in a column, a
value written into the SQL only as an exact literal (sql.literal); the contract's text never is.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from typing import Any

from ...errors import CheckError
from ...language import ast
from .reading import integer_limits
from .sql import INFINITY, both, ident, integer, literal

_COMPARE = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "=", "!=": "!="}
_STRINGS = ("StringType", "CharType", "VarcharType")
_FLOATS = ("FloatType", "DoubleType")


@dataclass
class Relation:
    """`name`'s rows and columns over the DataFrame of its root dataset `root`."""

    name: str
    root: str
    frame: Any
    where: str | None  # the rows of the dataset (None: every row of the root)
    columns: dict[str, tuple[str, Any]]  # column → (SQL expression over the root's columns, Spark type)
    index: tuple[str, ...] = ()  # pandas index columns (not features)
    lengths: frozenset[str] = field(default_factory=frozenset)  # columns that are string lengths

    def sql(self, column: str) -> str:
        return self.columns[column][0]

    def type(self, column: str):
        return self.columns[column][1]

    def count_if(self, condition: str) -> str:
        return f"count_if({both(self.where, condition)})"


def chain(source) -> list:
    """The sources from the root dataset out to `source` (a view's `inner` chain)."""
    found = [source]
    while found[-1].inner is not None:
        found.append(found[-1].inner)
    return found[::-1]


def root_source(source):
    """The declared dataset at the root of a view's chain, as read (without its missing values)."""
    return replace(chain(source)[0], missing=())


def relation(source, frame, index: tuple[str, ...]) -> Relation:
    """The Relation of `source` (a declared dataset or a view) over its root's DataFrame."""
    levels = chain(source)
    columns = {f.name: (ident(f.name), f.dataType) for f in frame.schema.fields}
    where: str | None = None
    lengths: set[str] = set()
    for level in levels:
        columns = with_missing(columns, level.missing)
        if level is levels[0]:
            continue
        if level.where is not None:
            where = both(where, condition(level.where, columns))
        if level.lengths:
            from pyspark.sql.types import IntegerType

            for name, (sql, spark_type) in list(columns.items()):
                if type(spark_type).__name__ in _STRINGS:
                    columns[name] = (f"char_length({sql})", IntegerType())
                    lengths.add(name)
    return Relation(source.name, levels[0].name, frame, where, columns, index, frozenset(lengths))


def with_missing(columns: dict, missing: tuple) -> dict:
    """The columns with the values a `missing` declaration lists read as null."""
    if not missing:
        return columns
    columns = dict(columns)
    for name, values in missing:
        if name not in columns:
            continue
        sql, spark_type = columns[name]
        equal = " OR ".join(f"{sql} = {literal(v)}" for v in values)
        columns[name] = (f"(CASE WHEN {equal} THEN NULL ELSE {sql} END)", spark_type)
    return columns


# ---- conditions ------------------------------------------------------------------------------------------
def condition(node, columns: dict) -> str:
    """The SQL of a condition or an operand (an ast node), over the given columns."""
    if isinstance(node, ast.LogicCond):
        joiner = " AND " if node.op == "and" else " OR "
        return "(" + joiner.join(condition(operand, columns) for operand in node.operands) + ")"
    if isinstance(node, ast.NotCond):
        return f"(NOT {condition(node.operand, columns)})"
    if isinstance(node, ast.CompareCond):
        exact = _integer_against_number(node, columns)
        if exact is not None:
            return exact
        return f"({condition(node.left, columns)} {_COMPARE[node.op]} {condition(node.right, columns)})"
    if isinstance(node, ast.IsNullCond):
        return f"({condition(node.operand, columns)} IS {'NOT ' if node.negated else ''}NULL)"
    if isinstance(node, ast.InCond):
        return _in(node, columns)
    if isinstance(node, ast.ColumnRef):
        return _column(node.name.id, columns)
    if isinstance(node, ast.BinOp):
        left, right = condition(node.left, columns), condition(node.right, columns)
        if node.op == "/":
            return _divide(left, right)
        return f"({left} {node.op} {right})"
    if isinstance(node, ast.Neg):
        return f"(-{condition(node.operand, columns)})"
    value = ast.literal_value(node)
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc)
    return literal(value)


def _integer_against_number(node: ast.CompareCond, columns: dict) -> str | None:
    """An integer column against a plain number literal, compared exactly on integers of its
    type, as locally (sources.conditions.integer_comparison): Spark would compare a BIGINT with
    1e17 as DOUBLEs, and take an integer beyond 64 bits as a DOUBLE. None for other pairs."""
    from ...sources.conditions import FLIPPED, integer_comparison, plain_number

    for column, number, op in ((node.left, node.right, node.op), (node.right, node.left, FLIPPED[node.op])):
        if not (isinstance(column, ast.ColumnRef) and plain_number(number) and column.name.id in columns):
            continue
        sql, spark_type = columns[column.name.id]
        bounds = integer_limits(spark_type)
        if bounds is None:
            continue
        compared = integer_comparison(op, ast.literal_value(number), bounds)
        if isinstance(compared, bool):
            return f"(CASE WHEN {sql} IS NULL THEN CAST(NULL AS BOOLEAN) ELSE {'TRUE' if compared else 'FALSE'} END)"
        return f"({sql} {_COMPARE[op]} {integer(compared[1], spark_type)})"
    return None


def _column(name: str, columns: dict) -> str:
    if name not in columns:
        raise CheckError(f"column `{name}` of the condition is missing")
    sql, spark_type = columns[name]
    if type(spark_type).__name__ in _FLOATS:  # NaN is missing, as null is
        return f"(CASE WHEN isnan({sql}) THEN NULL ELSE {sql} END)"
    return sql


def _in(node: ast.InCond, columns: dict) -> str:
    """`x in (...)`: unknown for a missing x unless the list has `null` (then true); else
    whether x equals one of the values."""
    operand = condition(node.operand, columns)
    values = [item for item in node.values.items if not isinstance(item, ast.Null)]
    listed_null = len(values) < len(node.values.items)
    equal = " OR ".join(f"{operand} = {condition(item, columns)}" for item in values) or "FALSE"
    inside = f"(CASE WHEN {operand} IS NULL THEN {'TRUE' if listed_null else 'CAST(NULL AS BOOLEAN)'} ELSE ({equal}) END)"
    return f"(NOT {inside})" if node.negated else inside


def _divide(left: str, right: str) -> str:
    """Division as Polars divides: in doubles, x/0 is ±inf and 0/0 NaN (Spark's own `/` makes
    them null, or an error under ANSI mode)."""
    x, y = f"CAST({left} AS DOUBLE)", f"CAST({right} AS DOUBLE)"
    nan = "CAST('NaN' AS DOUBLE)"
    by_zero = f"CASE WHEN isnan({x}) OR {x} = 0 THEN {nan} WHEN {x} > 0 THEN {INFINITY} ELSE -{INFINITY} END"
    return f"(CASE WHEN {y} = 0 THEN {by_zero} ELSE {x} / {y} END)"
