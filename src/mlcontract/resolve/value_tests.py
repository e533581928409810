"""Value tests of feature checks (issue 13): `feature COLUMN [not] in (LITERAL, ...) [RATE]`.

A value test looks at each present value of a column and says whether it passes; the check then
compares the share (`>= 99%`) or the number (`count >= 5`) of the values that pass, or, without a
comparison, requires every present value to pass. The literals are checked against the column's
dtype here, at compile time: a set that cannot match the column is a diagnostic, not a fail.
"""
from __future__ import annotations

from ..language import ast
from ..plan import measures as ms
from ..statistics.base import CATEGORICAL, NUMERIC
from .contract import CheckKind, Holds, InRange
from .expressions import compare, display_unit
from .features import between_range, expand, feature_check as statistic_check
from .scope import Scope

# What the language calls the literals, and which columns can hold them (by Polars dtype name).
_LITERAL_KIND = {ast.String: "a string", ast.Number: "a number", ast.Neg: "a number", ast.Bool: "a boolean"}
_STRING_DTYPES = ("String", "Categorical", "Enum")


def feature_check(scope: Scope, node: ast.FeatureCheck) -> None:
    """A feature check: its value test here, a statistic or `between` in features.py."""
    if not isinstance(node.test, ast.InSet):
        statistic_check(scope, node)
        return
    subject = scope.dataset(node.subject, node.span)
    options = scope.options(node.options, frozenset({"vs", "bins"}), node)
    if node.vs is not None or "vs" in options:
        scope.fail(node.vs.span if node.vs is not None else options["vs"].span,
                   "a value test checks the subject's own values; drop `vs`")
    if "bins" in options:
        scope.fail(options["bins"].key_span, "`bins` does not apply to a value test")
    value_set_check(scope, node, subject)


def value_set_check(scope: Scope, node: ast.FeatureCheck, subject: str) -> None:
    test: ast.InSet = node.test  # type: ignore[assignment]
    values = tuple(literal(scope, item) for item in test.values.items)
    expanded = list(expand(scope, node.selector, subject, frozenset({NUMERIC, CATEGORICAL}), "in (...)"))
    aggregate, check_test = rate_test(scope, test.rate)
    for column, _column_type, problem, from_group in expanded:
        if problem is None:
            dtype = scope.schemas[subject][column][1]
            for item, value in zip(test.values.items, values):
                mismatch = _mismatch(column, dtype, item, value)
                if mismatch and not scope.lenient:
                    scope.fail(item.span, *mismatch)
                problem = problem or (mismatch[0] if mismatch else None)
        measure = ms.ValueSet(subject, column, _tagged(values), test.negated, aggregate)
        statistic = {"all": "", "rate": "share ", "count": "count "}[aggregate] + ("not in set" if test.negated else "in set")
        scope.add(node, CheckKind.DATA, subject, column, statistic, measure, check_test, problem,
                  from_selector=from_group or len(expanded) > 1)


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


def rate_test(scope: Scope, rate: ast.RateTest | None):
    """("all" | "rate" | "count", the test): without a comparison every present value must pass."""
    if rate is None:
        return "all", Holds()
    if isinstance(rate.test, ast.Between):
        return rate.aggregate, InRange(*between_range(scope, rate.test), display_unit(rate.test.low, rate.test.high))
    return rate.aggregate, compare(scope, rate.test, None, None)


def _mismatch(column: str, dtype: str, item, value) -> tuple[str, str] | None:
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
            f"write the values as {holds}" + (': `"3"`' if holds == "strings" and kind == "a number" else ""))


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


def _tagged(values: tuple) -> tuple[tuple[str, object], ...]:
    """The values with their type, so `1` and `true` (equal in Python) stay different sets."""
    return tuple(dict.fromkeys((type(v).__name__, v) for v in values))
