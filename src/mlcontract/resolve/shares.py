"""Shares against stated weights (issue 13): `feature plan shares {"basic": 0.6, "pro": 0.4}
chi2_pvalue >= 0.01` — a histogram statistic of the column's categories against shares written in
the contract instead of a `vs` dataset."""
from __future__ import annotations

import math

from ..language import ast
from ..plan import measures as ms
from ..statistics.base import ANY_TYPE
from .contract import CheckKind, InRange
from .expressions import compare, display_unit
from .features import between_range, expand
from .literals import fits, literal
from .scope import Scope

STATISTICS = ("psi", "js", "hellinger", "linf", "kl", "chi2_pvalue")


def shares_check(scope: Scope, node: ast.FeatureCheck, subject: str) -> None:
    stated = node.shares
    assert stated is not None
    if node.statistic is None or node.statistic.name.id not in STATISTICS:
        where = node.statistic.span if node.statistic is not None else stated.span
        scope.fail(where, "stated shares are compared by " + ", ".join(STATISTICS),
                   'e.g. `feature plan shares {"basic": 0.6, "pro": 0.4} chi2_pvalue >= 0.01`')
    statistic = node.statistic.name.id
    if node.statistic.args:
        scope.fail(node.statistic.span, f"`{statistic}` takes no arguments")
    options = scope.options(node.options, frozenset({"vs"}), node)
    if node.vs is not None or "vs" in options:
        scope.fail(node.vs.span if node.vs is not None else options["vs"].span,
                   "stated shares stand for the reference: drop `vs`")
    weights = _weights(scope, stated)
    if isinstance(node.test, ast.Between):
        test: InRange | object = InRange(*between_range(scope, node.test), display_unit(node.test.low, node.test.high))
    else:
        assert isinstance(node.test, ast.Comparison)
        test = compare(scope, node.test, None, None, lhs=f"`{statistic}`")
    expanded = list(expand(scope, node.selector, subject, ANY_TYPE, statistic))
    keys = tuple(item.key for item in stated.items)
    values = tuple(literal(scope, key) for key in keys)
    for column, column_type, problem, from_group in expanded:
        if problem is None:
            problem = fits(scope, node.selector.span, subject, column, column_type, keys, values, statistic)
        measure = ms.StatedShares(statistic, subject, column, weights)
        scope.add(node, CheckKind.DATA, subject, column, statistic, measure, test, problem,
                  from_selector=from_group or len(expanded) > 1)


def _weights(scope: Scope, stated: ast.MapLiteral) -> tuple[tuple[object, float], ...]:
    """The (value, weight) pairs: values distinct and not null, weights numbers ≥ 0 summing to 1."""
    if not stated.items:
        scope.fail(stated.span, "no shares are stated", 'e.g. `shares {"basic": 0.6, "pro": 0.4}`')
    pairs: dict = {}
    for item in stated.items:
        key = literal(scope, item.key)
        if key is None:
            scope.fail(item.key.span, "`null` has no share: shares are of the present values")
        if (type(key).__name__, key) in pairs:
            scope.fail(item.key.span, "this value is stated twice")
        weight = scope.number(item.value, "a share")
        if weight < 0:
            scope.fail(item.value.span, "a share cannot be negative")
        pairs[(type(key).__name__, key)] = weight
    total = math.fsum(pairs.values())
    if abs(total - 1.0) > 1e-6:
        scope.fail(stated.span, f"the shares add up to {total:g}, not 1", "state each value's share of the present values")
    return tuple((key, weight) for (_, key), weight in pairs.items())
