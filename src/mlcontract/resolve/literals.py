"""Literals of value tests (value sets, stated shares, `most_common`, `missing`): their Python
values, and whether a column of a given dtype can hold them (a diagnostic that says what the
column holds, its dtype in parentheses, and what the literal is: never a kind beside a dtype)."""
from __future__ import annotations

import datetime

from ..language import ast
from .features import profile_keeps_no_values
from .scope import Scope

# What the language calls the literals, and which columns can hold them (by Polars dtype name).
_LITERAL_KIND = {ast.String: "a string", ast.Number: "a number", ast.Neg: "a number", ast.Bool: "a boolean"}
_STRING_DTYPES = ("String", "Categorical", "Enum")
_NUMERIC_DTYPES = ("Int", "UInt", "Float", "Decimal")
TEMPORAL_DTYPES = ("Date", "Datetime")


def literal(scope: Scope, item):
    """The Python value of a literal of a value set: int, float, str, bool, None, date, datetime."""
    if isinstance(item, ast.Number) and item.unit == "s":
        scope.fail(item.span, "a duration cannot be a value of a column", "write the number itself")
    value = ast.literal_value(item)
    if isinstance(value, float) and value != value:  # pragma: no cover - the grammar has no NaN literal
        scope.fail(item.span, "NaN is never a value of a set")
    return value


def holds(dtype: str) -> str | None:
    """What a column of this dtype holds, as the diagnostics say it; None when no literal is one of
    its values (Time, Duration, List, Struct, Binary ...: the language writes no such values)."""
    base = dtype.split("(")[0]
    if base == "Boolean":
        return "`true` and `false`"
    if base in _STRING_DTYPES:
        return "strings"
    if base == "Date":
        return "dates"
    if base == "Datetime":
        return "datetimes"
    if base.startswith(_NUMERIC_DTYPES):
        return "numbers"
    return None


def fits(scope: Scope, span, subject: str, column: str, column_type: str, items, values,
          label: str) -> str | None:
    """Nothing, or what keeps the column from holding the literals (a diagnostic, or in lenient
    mode the check's problem): a dtype no literal names, a literal of another type, a profile that
    kept no values of the column."""
    dtype = scope.schemas[subject][column][1]
    wrong = unwritable(column, dtype)
    if wrong is not None:
        if not scope.lenient:
            scope.fail(span, *wrong)
        return wrong[0]
    for item, value in zip(items, values):
        wrong = mismatch(column, dtype, item, value)
        if wrong is not None:
            if not scope.lenient:
                scope.fail(item.span, *wrong)
            return wrong[0]
    profile_keeps_no_values(scope, subject, column, column_type, label, span)
    return None


def unwritable(column: str, dtype: str) -> tuple[str, str] | None:
    """(message, hint) when no literal can be a value of a column of this dtype."""
    if holds(dtype) is not None:
        return None
    return (f"`{column}` holds {dtype} values, and a contract writes no such value",
            "values are written as numbers, strings, `true`/`false`, dates (`2026-01-31`) and datetimes "
            "(`2026-01-31T12:00Z`)")


def mismatch(column: str, dtype: str, item, value) -> tuple[str, str] | None:
    """(message, hint) when the literal can never equal a value of a column of this dtype."""
    if value is None:
        return None
    base = dtype.split("(")[0]
    held = holds(dtype)
    if held is None:
        return unwritable(column, dtype)
    if base in TEMPORAL_DTYPES and isinstance(value, datetime.date):
        return temporal_mismatch(column, dtype, item)
    if base == "Boolean":
        fits = isinstance(value, bool)
    elif base in _STRING_DTYPES:
        fits = isinstance(value, str)
    elif base in TEMPORAL_DTYPES:
        fits = False  # not a date (those were handled above)
    else:  # a numeric dtype
        fits = isinstance(value, (int, float)) and not isinstance(value, bool)
        if fits and isinstance(value, float) and not value.is_integer() and base.startswith(("Int", "UInt")):
            return (f"`{column}` holds whole numbers ({dtype}); `{item_text(item)}` is never one of them",
                    "a set of an integer column lists whole numbers")
    if fits:
        return None
    kind = literal_kind(item)
    return f"`{column}` holds {held} ({dtype}); `{item_text(item)}` is {kind}", _hint(held, kind, item)


def temporal_mismatch(column: str, dtype: str, item: ast.Temporal) -> tuple[str, str] | None:
    """(message, hint) when a date or datetime literal cannot be a value of a Date or Datetime
    column: a Date column takes dates, a Datetime column datetimes — with a zone when the column
    has one, without one when it has none (a naive value has no instant to compare)."""
    base = dtype.split("(")[0]
    is_datetime = isinstance(item.value, datetime.datetime)
    if base == "Date" and is_datetime:
        return (f"`{column}` holds dates (Date); `{item.text}` is a datetime",
                f"write the date: `{item.text.split('T')[0]}`")
    zoned = "time_zone=None" not in dtype
    if base == "Datetime" and not is_datetime:
        return (f"`{column}` holds datetimes ({dtype}); `{item.text}` is a date",
                f"write `{item.text}T00:00{'Z' if zoned else ''}`")
    if base == "Datetime" and zoned != (item.value.tzinfo is not None):  # type: ignore[union-attr]
        return (f"`{column}` has {'a' if zoned else 'no'} time zone ({dtype}); `{item.text}` has "
                f"{'none' if zoned else 'one'}",
                "give the datetime a zone (`2026-01-31T12:00Z`)" if zoned else "leave the zone out, as the column does")
    return None


def _hint(held: str, kind: str, item) -> str:
    if held == "strings" and kind in ("a number", "a date", "a datetime"):
        return f'write the values as strings: `"{item_text(item)}"`'
    if held in ("dates", "datetimes") and isinstance(item, ast.String):
        return "write dates without quotes: `2026-01-31`, datetimes `2026-01-31T12:00` (`Z` or `+02:00` for a zone)"
    return f"write the values as {held}"


def literal_kind(item) -> str:
    if isinstance(item, ast.Temporal):
        return "a datetime" if isinstance(item.value, datetime.datetime) else "a date"
    return _LITERAL_KIND.get(type(item), "this value")


def item_text(item) -> str:
    if isinstance(item, ast.String):
        return repr(item.value).replace("'", '"') if '"' not in item.value else repr(item.value)
    if isinstance(item, ast.Bool):
        return "true" if item.value else "false"
    if isinstance(item, ast.Neg):
        return "-" + item_text(item.operand)
    if isinstance(item, (ast.Number, ast.Temporal)):
        return item.text
    return "null"
