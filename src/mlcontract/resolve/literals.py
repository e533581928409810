"""Literals of value tests (value sets, stated shares): their Python values, and whether a
column of a given dtype can hold them (a diagnostic that names the values, then the dtype)."""
from __future__ import annotations

from ..language import ast
from .scope import Scope

# What the language calls the literals, and which columns can hold them (by Polars dtype name).
_LITERAL_KIND = {ast.String: "a string", ast.Number: "a number", ast.Neg: "a number", ast.Bool: "a boolean"}
_STRING_DTYPES = ("String", "Categorical", "Enum")


def literal(scope: Scope, item):
    """The Python value of a literal of a value set; dates are not resolved yet."""
    if isinstance(item, ast.Temporal):
        scope.fail(item.span, "dates and datetimes are not supported yet")
    if isinstance(item, ast.Number) and item.unit == "s":
        scope.fail(item.span, "a duration cannot be a value of a column", "write the number itself")
    value = ast.literal_value(item)
    if isinstance(value, float) and value != value:  # pragma: no cover - the grammar has no NaN literal
        scope.fail(item.span, "NaN is never a value of a set")
    return value


def mismatch(column: str, dtype: str, item, value) -> tuple[str, str] | None:
    """(message, hint) when the literal can never equal a value of a column of this dtype."""
    if value is None:
        return None
    base = dtype.split("(")[0]
    if base == "Boolean":
        fits = isinstance(value, bool)
    elif base in _STRING_DTYPES:
        fits = isinstance(value, str)
    else:  # a numeric dtype
        fits = isinstance(value, (int, float)) and not isinstance(value, bool)
        if fits and isinstance(value, float) and not value.is_integer() and base.startswith(("Int", "UInt")):
            return (f"`{column}` holds whole numbers ({dtype}); `{item_text(item)}` is never one of them",
                    "a set of an integer column lists whole numbers")
    if fits:
        return None
    holds = {"Boolean": "`true` and `false`"}.get(base) or ("strings" if base in _STRING_DTYPES else "numbers")
    kind = _LITERAL_KIND.get(type(item), "this value")
    return (f"`{column}` holds {holds} ({dtype}); `{item_text(item)}` is {kind}",
            f"write the values as {holds}" + (f': `"{item_text(item)}"`' if holds == "strings" and kind == "a number"
                                              else ""))


def item_text(item) -> str:
    if isinstance(item, ast.String):
        return repr(item.value).replace("'", '"') if '"' not in item.value else repr(item.value)
    if isinstance(item, ast.Bool):
        return "true" if item.value else "false"
    if isinstance(item, ast.Neg):
        return "-" + item_text(item.operand)
    if isinstance(item, ast.Number):
        return item.text
    return "null"
