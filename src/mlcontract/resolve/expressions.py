"""Right-hand sides of comparisons: numbers, names standing for "the same measure on that
thing", `baseline STRATEGY`, arithmetic — and their units (a duration, a rate, a plain number)."""
from __future__ import annotations

import math

from ..language import ast
from ..language.diagnostics import did_you_mean
from .contract import Arith, Compare, Const, MeasureRef, Negate
from .scope import Scope


def compare(scope: Scope, comparison: ast.Comparison, unit: str | None, rebind, lhs: str | None = None) -> Compare:
    """The test of a comparison; `rebind` turns a name on the right into the same measure on it.
    `lhs` names what the left side is (`` `mean` ``, `` `rows` ``), for the diagnostic of a
    right-hand side that is not a number."""
    for leaf in leaves(comparison.rhs, _NOT_NUMBERS):
        scope.fail(leaf.span, *not_a_number(leaf, unit, lhs))
    rhs = expression(scope, comparison.rhs, rebind)
    rhs_unit = unit_of(scope, rhs, unit, comparison.rhs)
    if rhs_unit != unit and not is_zero(rhs):
        scope.fail(comparison.rhs.span, _unit_message(unit, rhs_unit), _unit_hint(unit, rhs_unit))
    text = scope.source.text[comparison.rhs.span.start:comparison.rhs.span.end]
    return Compare(comparison.op, rhs, " ".join(text.split()), display_unit(comparison.rhs))


# Literals a right-hand side can hold that are not numbers: strings, `true`/`false`, `null`, dates.
_NOT_NUMBERS = (ast.String, ast.Bool, ast.Null, ast.Temporal)


def not_a_number(leaf, unit: str | None, lhs: str | None) -> tuple[str, str]:
    """(message, hint) for a string, boolean, `null` or date on the right of a comparison whose
    left side is a number (a duration, a rate): what the left side is, and what would compare."""
    what = {"s": "a duration", "rows/s": "a rate in rows/s"}.get(unit or "", "a number")
    example = {"s": " such as `1d` or `250ms`", "rows/s": " such as `1000 rows/s`"}.get(unit or "", "")
    message = f"{lhs or 'the left side'} is {what}; compare it with {what}{example}"
    if isinstance(leaf, ast.String):
        hint = ('a string compares with `most_common` (`feature plan most_common == "pro"`) '
                'or in a value set (`feature plan in ("basic", "pro")`)')
    elif isinstance(leaf, ast.Bool):
        hint = "of a Boolean column: `feature flag true_rate >= 50%`, `feature flag most_common == true`"
    elif isinstance(leaf, ast.Null):
        hint = "for missing values: `feature x null_count == 0`, `feature x null_rate <= 1%`"
    elif lhs == "`freshness`":
        hint = "`freshness` is measured at the run's clock; to set it, add `as of " + leaf.text + "`"
    else:
        hint = "a date compares with the `min` or `max` of a Date column (`feature day max >= 2026-01-31`)"
    return message, hint


def display_unit(*nodes) -> str | None:
    """The unit the contract wrote its literals in — `%`, a duration's `ms` / `s` / `µs` / `min`,
    `rows/s` — when they agree (`baseline + 2%`, `between 1% and 5%`); None when there is none or
    they disagree (`1s + 500ms`). Reports print the threshold in it (report/formatting.py)."""
    units = {_written_unit(number) for node in nodes for number in leaves(node, ast.Number)} - {None}
    return units.pop() if len(units) == 1 else None


def leaves(node, kind: type | tuple[type, ...]):
    """Every leaf of type `kind` in a right-hand side AST (through arithmetic and negation)."""
    if isinstance(node, kind):
        yield node
    elif isinstance(node, ast.BinOp):
        yield from leaves(node.left, kind)
        yield from leaves(node.right, kind)
    elif isinstance(node, ast.Neg):
        yield from leaves(node.operand, kind)


def _written_unit(number: ast.Number) -> str | None:
    if number.unit != "s":
        return number.unit  # None | "%" | "rows/s"
    suffix = next(u for u in ("us", "µs", "ms", "min", "s", "h", "d") if number.text.endswith(u))
    return "µs" if suffix == "us" else suffix


def expression(scope: Scope, node, rebind):
    if isinstance(node, ast.Number):
        if not math.isfinite(node.value):
            scope.fail(node.span, f"`{node.text}` is too large a number")
        return Const(node.value, node.unit if node.unit in ("s", "rows/s") else None, node.text)
    if isinstance(node, ast.Neg):
        return Negate(expression(scope, node.operand, rebind))
    if isinstance(node, ast.BinOp):
        return Arith(node.op, expression(scope, node.left, rebind), expression(scope, node.right, rebind))
    if isinstance(node, ast.MetricRef):
        return reference_number(scope, node)
    if isinstance(node, ast.Baseline):
        baseline = getattr(rebind, "baseline", None) if rebind else None
        if baseline is None:
            scope.fail(node.span, "`baseline` compares a model metric with a naive model",
                       "e.g. `accuracy on holdout > baseline most_frequent`")
        return MeasureRef(baseline(node.strategy), f"baseline {node.strategy.id}")
    if isinstance(node, ast.Ref):
        if rebind is None:
            scope.fail(node.span, f"`{node.name.id}` cannot stand for a value here; use a number")
        if node.name.id not in scope.declared_at:
            known = list(scope.declared_at)
            scope.fail(node.name.span, f"unknown name `{node.name.id}`",
                       did_you_mean(node.name.id, known) or "a name on the right stands for the same measure on "
                       "that dataset or model, e.g. `production*1.1`")
        return MeasureRef(rebind(node.name), node.name.id)
    raise AssertionError(f"unexpected expression {node!r}")


def reference_number(scope: Scope, node: ast.MetricRef) -> MeasureRef:
    """`monitoring.auc`: a number of a `metrics` declaration (references.py)."""
    from ..references import ReferenceNumber

    name = node.source.id
    if name in scope.broken:
        from .scope import Abort

        raise Abort
    label = ".".join([name, *(p.id for p in node.path)])
    return MeasureRef(ReferenceNumber(name, str(scope.metrics[name]), tuple(p.id for p in node.path)), label)


def unit_of(scope: Scope, value, lhs_unit: str | None, node) -> str | None:
    """The unit of a resolved right-hand side; mixing units is a diagnostic at `node`."""
    if isinstance(value, Const):
        return value.unit
    if isinstance(value, MeasureRef):
        return lhs_unit  # the same measure on another thing has the same unit
    if isinstance(value, Negate):
        return unit_of(scope, value.operand, lhs_unit, node)
    left = unit_of(scope, value.left, lhs_unit, node)
    right = unit_of(scope, value.right, lhs_unit, node)
    if value.op in "+-":
        if left != right and not (is_zero(value.left) or is_zero(value.right)):
            scope.fail(node.span, f"cannot {'add' if value.op == '+' else 'subtract'} {_unit_name(right)} "
                       f"{'to' if value.op == '+' else 'from'} {_unit_name(left)}", _unit_hint(lhs_unit, right))
        return left or right
    if left and right:
        scope.fail(node.span, f"cannot {'multiply' if value.op == '*' else 'divide'} {_unit_name(left)} "
                   f"by {_unit_name(right)}")
    if value.op == "/" and right:
        scope.fail(node.span, f"cannot divide a number by {_unit_name(right)}")
    return left or right


def refs(node):
    """Every `Ref` in a right-hand side AST."""
    return leaves(node, ast.Ref)


def is_zero(value) -> bool:
    return isinstance(value, Const) and value.value == 0


def _unit_name(unit: str | None) -> str:
    return {"s": "a duration", "rows/s": "a rate in rows/s", None: "a plain number"}[unit]


def _unit_message(expected: str | None, got: str | None) -> str:
    return f"expected {_unit_name(expected)}, got {_unit_name(got)}"


def _unit_hint(unit: str | None, given: str | None = None) -> str | None:
    if unit is None:
        return {"s": "durations (`50ms`) are for latency checks only",
                "rows/s": "rates (`1000 rows/s`) are for throughput checks only"}.get(given or "")
    return {
        "s": "latency takes a duration such as `250ms`, or another model: `prod*1.1`",
        "rows/s": "throughput takes a rate such as `1000 rows/s`",
    }[unit]
