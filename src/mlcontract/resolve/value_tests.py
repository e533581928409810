"""Value tests of feature checks (issue 13): `feature COLUMN [not] in (LITERAL, ...) [RATE]`.

A value test looks at each present value of a column and says whether it passes; the check then
compares the share (`>= 99%`) or the number (`count >= 5`) of the values that pass, or, without a
comparison, requires every present value to pass. The literals are checked against the column's
dtype here, at compile time: a set that cannot match the column is a diagnostic, not a fail.
"""
from __future__ import annotations

import datetime

from ..language import ast
from ..language.diagnostics import did_you_mean
from ..plan import measures as ms
from ..statistics.base import ANY_TYPE, CATEGORICAL
from .conditions import data_view
from .contract import CheckKind, Holds, InRange
from .expressions import compare, display_unit
from .features import between_range, expand, feature_check as statistic_check
from .literals import fits, literal
from .scope import Scope


def feature_check(scope: Scope, node: ast.FeatureCheck) -> None:
    """A feature check: its value test here, a statistic or `between` in features.py."""
    if node.shares is not None:
        from .shares import shares_check

        shares_check(scope, node, data_view(scope, scope.dataset(node.subject, node.span), node))
        return
    from .dates import is_temporal_check, temporal_check

    if is_temporal_check(node):
        temporal_check(scope, node, data_view(scope, scope.dataset(node.subject, node.span), node))
        return
    if node.statistic is not None and node.statistic.name.id == "most_common":
        most_common_check(scope, node, data_view(scope, scope.dataset(node.subject, node.span), node))
        return
    if not isinstance(node.test, (ast.InSet, ast.Matches, ast.IsFormat, ast.TypeIs)):
        statistic_check(scope, node)
        return
    subject = data_view(scope, scope.dataset(node.subject, node.span), node)
    options = scope.options(node.options, frozenset({"vs", "bins"}), node)
    if node.vs is not None or "vs" in options:
        scope.fail(node.vs.span if node.vs is not None else options["vs"].span,
                   "a value test checks the subject's own values; drop `vs`")
    if "bins" in options:
        scope.fail(options["bins"].key_span, "`bins` does not apply to a value test")
    if isinstance(node.test, ast.TypeIs):
        from .types import type_check

        if node.where is not None:
            scope.fail(node.where.span, "`type` is the column's, whatever the rows: drop `where`")
        type_check(scope, node, subject)
    elif isinstance(node.test, ast.InSet):
        value_set_check(scope, node, subject)
    else:
        string_test_check(scope, node, subject)


def string_test_check(scope: Scope, node: ast.FeatureCheck, subject: str) -> None:
    """`matches "REGEX"` and `is FORMAT ["ARGUMENT"]`, on string columns."""
    from ..engines.patterns import FORMATS, FORMATS_WITH_ARGUMENT, regex_problem

    test = node.test
    assert isinstance(test, (ast.Matches, ast.IsFormat))  # feature_check sends only these here
    if isinstance(test, ast.Matches):
        problem = regex_problem(test.pattern.value)
        if problem:
            scope.fail(test.pattern.span, problem, "regexes follow Rust's syntax (the `regex` crate, as Polars)")
        spec: tuple = ("matches", test.pattern.value)
        label = "matches"
    else:
        name = test.format.id
        if name not in FORMATS:
            scope.fail(test.format.span, f"unknown format `{name}`",
                       did_you_mean(name, FORMATS) or "formats: " + ", ".join(FORMATS))
        if test.argument is not None and name not in FORMATS_WITH_ARGUMENT:
            scope.fail(test.argument.span, f"`is {name}` takes no argument")
        argument = test.argument.value if test.argument is not None else ""
        if test.argument is not None and argument:
            _check_time_format(scope, test.argument, name)
        spec = ("format", name, argument)
        label = f"is {name}"
    aggregate, check_test = rate_test(scope, test.rate)
    expanded = list(expand(scope, node.selector, subject, frozenset({CATEGORICAL}), label))
    for column, _column_type, problem, from_group in expanded:
        if problem is None and scope.schemas[subject][column][1] == "Boolean":
            if not scope.lenient:
                scope.fail(node.selector.span, f"`{label}` needs string columns; `{column}` is Boolean")
            problem = f"`{column}` is Boolean, not a string column"
        statistic = {"all": "", "rate": "share ", "count": "count "}[aggregate] + label
        scope.add(node, CheckKind.DATA, subject, column, statistic, ms.ValuesPass(subject, column, spec, aggregate),
                  check_test, problem, from_selector=from_group or len(expanded) > 1)


def _check_time_format(scope: Scope, argument: ast.String, name: str) -> None:
    """A strptime format Polars rejects is a diagnostic at the format."""
    import polars as pl

    dtype = pl.Date if name == "date" else pl.Datetime("us")
    try:
        pl.Series(["2026-01-31"]).str.strptime(dtype, argument.value, strict=False)
    except pl.exceptions.PolarsError as error:
        first = next((line for line in str(error).splitlines() if line.strip()), "invalid")
        scope.fail(argument.span, f"invalid {name} format: {first.strip()}",
                   "e.g. `is date \"%Y-%m-%d\"` or `is datetime \"%Y-%m-%d %H:%M:%S\"`")


def value_set_check(scope: Scope, node: ast.FeatureCheck, subject: str) -> None:
    test: ast.InSet = node.test  # type: ignore[assignment]
    values = tuple(literal(scope, item) for item in test.values.items)
    expanded = list(expand(scope, node.selector, subject, ANY_TYPE, "in (...)"))
    aggregate, check_test = rate_test(scope, test.rate)
    for column, column_type, problem, from_group in expanded:
        if problem is None:
            problem = fits(scope, node.selector.span, subject, column, column_type, test.values.items, values, "in (...)")
        measure = ms.ValueSet(subject, column, _tagged(values), test.negated, aggregate)
        statistic = {"all": "", "rate": "share ", "count": "count "}[aggregate] + ("not in set" if test.negated else "in set")
        scope.add(node, CheckKind.DATA, subject, column, statistic, measure, check_test, problem,
                  from_selector=from_group or len(expanded) > 1)


def rate_test(scope: Scope, rate: ast.RateTest | None):
    """("all" | "rate" | "count", the test): without a comparison every present value must pass."""
    if rate is None:
        return "all", Holds()
    if isinstance(rate.test, ast.Between):
        return rate.aggregate, InRange(*between_range(scope, rate.test), display_unit(rate.test.low, rate.test.high))
    lhs = "the share of values that pass" if rate.aggregate == "rate" else "the count of values that pass"
    return rate.aggregate, compare(scope, rate.test, None, None, lhs=lhs)


def _tagged(values: tuple) -> tuple[tuple[str, object], ...]:
    """The values with their type, so `1` and `true` (equal in Python) stay different sets."""
    return tuple(dict.fromkeys((type(v).__name__, v) for v in values))


def most_common_check(scope: Scope, node: ast.FeatureCheck, subject: str) -> None:
    """`feature plan most_common == "basic"` / `!= "trial"`: a value on the right, not a number."""
    test = node.test
    has_args = node.statistic is not None and bool(node.statistic.args)
    if not isinstance(test, ast.Comparison) or test.op not in ("==", "!=") or has_args \
            or not isinstance(test.rhs, (ast.String, ast.Number, ast.Neg, ast.Bool, ast.Temporal, ast.Null)):
        scope.fail(test.span, "`most_common` is compared with a value by `==` or `!=`",
                   'e.g. `feature plan most_common == "basic"`')
    if isinstance(test.rhs, ast.Null):
        scope.fail(test.rhs.span, "`most_common` is the most common of the present values, never `null`",
                   "for missing values: `feature x null_rate <= 50%`")
    options = scope.options(node.options, frozenset({"vs"}), node)
    if node.vs is not None or "vs" in options:
        scope.fail(node.vs.span if node.vs is not None else options["vs"].span, "`most_common` is of one dataset: drop `vs`")
    expected = literal(scope, test.rhs)
    instant = expected.astimezone(datetime.timezone.utc) if isinstance(expected, datetime.datetime) and expected.tzinfo \
        else expected  # one instant, however its offset was written
    expanded = list(expand(scope, node.selector, subject, ANY_TYPE, "most_common"))
    for column, column_type, problem, from_group in expanded:
        if problem is None:
            problem = fits(scope, node.selector.span, subject, column, column_type, (test.rhs,), (expected,), "most_common")
        scope.add(node, CheckKind.DATA, subject, column, "most_common",
                  ms.MostCommon(subject, column, instant, test.op == "!="), Holds(), problem,
                  from_selector=from_group or len(expanded) > 1)
