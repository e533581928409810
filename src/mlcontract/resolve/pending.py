"""Forms the parser reads but the resolver does not resolve yet (issues 13 and 14).

A statement that uses one gets ONE located diagnostic, "`X` is not supported yet", and is
skipped; nothing else about it is reported. This module is a temporary table: whoever gives a
form its meaning removes its entry here (and, for a new check node, points `DISPATCH` in
resolve/__init__.py at the real family function).
"""
from __future__ import annotations

import dataclasses

from ..language import ast
from ..language.source import Span
from .scope import Scope

# Statements that are new as a whole: what the diagnostic calls them (with its verb).
_STATEMENTS = {
    ast.MetricsDecl: "`metrics` declarations are",
    ast.MissingDecl: "`missing` declarations are",
    ast.BetweenCheck: "`between` after a measure is",
    ast.ColumnsCheck: "`columns include (...)` and `columns exclude (...)` are",
    ast.UniqueCheck: "`unique (...)` is",
}

# Fields of older nodes that hold a new form when they are set.
_FIELDS = {
    (ast.FeatureCheck, "where"): "`where` is",
    (ast.FeatureCheck, "shares"): "`shares {...}` is",
    (ast.FeatureCheck, "length"): "`length` is",
    (ast.SchemaCheck, "strictly"): "`strictly` is",
    (ast.TrendCheck, "up_to_best"): "`up to best epoch` is",
    (ast.HandlesCheck, "sizes"): "image sizes are",
    (ast.HandlesCheck, "variants"): "`as` variants of a robustness case are",
    (ast.MeasurePhrase, "columns"): "a key `(a, b)` after a measure is",
    (ast.MeasurePhrase, "where"): "`where` is",
}

# Nodes that are new wherever they appear.
_NODES = {
    ast.Matches: "`matches` is",
    ast.IsFormat: "`is FORMAT` is",
    ast.TypeIs: "`type` is",
    ast.ListLiteral: "lists `[...]` are",
    ast.MapLiteral: "maps `{...}` are",
    ast.MetricRef: "references to `metrics` are",
    ast.Temporal: "dates and datetimes are",
    ast.Bool: "`true` and `false` are",
    ast.Null: "`null` is",
}

# Words of planned forms that older nodes already hold: a statistic name (`feature age sum`),
# the last word of a measure phrase (`training columns`, `freshness of production`), a
# robustness case (`handles grayscale`). Until resolved they are "not supported yet", not
# "unknown".
_STATISTICS = {name: f"the statistic `{name}` is" for name in
               ("most_common",)}
_MEASURES = {"columns": "the measure `columns` is", "freshness": "the measure `freshness` is"}
_CASES = {("grayscale",): "the robustness case `grayscale` is", ("rgba",): "the robustness case `rgba` is",
          ("image", "sizes"): "image sizes are"}

_TOLERANCE = "a relative tolerance (`tolerance 2%`) is"
_HINTS = {_TOLERANCE: "write the allowed change as an absolute number: `tolerance 0.02`"}


def rejected(scope: Scope, node) -> bool:
    """Report `node` and return True when it uses a form not resolved yet."""
    found = unsupported(node)
    if found is None:
        return False
    span, what = found
    if what == _NODES[ast.MetricRef]:
        # A `MetricRef` exists only where a `metrics` declaration names its source, and that
        # declaration was reported already: the check is skipped without a second diagnostic.
        return True
    scope.error(span, f"{what} not supported yet", _HINTS.get(what))
    name = getattr(node, "name", None)
    if isinstance(name, ast.Name):  # a declaration: checks that use its name are not reported again
        scope.broken.add(name.id)
    return True


def not_yet(scope: Scope, node) -> None:
    """The `DISPATCH` entry of a check node the resolver does not resolve yet."""
    rejected(scope, node)


def unsupported(node) -> tuple[Span, str] | None:
    """(where, what) of the first form in `node` the resolver does not resolve yet, or None."""
    if type(node) in _STATEMENTS:
        return node.span, _STATEMENTS[type(node)]
    return _first_new(node, in_comparison=False)


def _first_new(node, in_comparison: bool) -> tuple[Span, str] | None:
    if isinstance(node, tuple):
        for item in node:
            found = _first_new(item, in_comparison)
            if found:
                return found
        return None
    if not dataclasses.is_dataclass(node) or isinstance(node, (type, ast.Name, Span)):
        return None
    if type(node) in _NODES:
        return node.span, _NODES[type(node)]  # type: ignore[attr-defined]  # every AST node has a span
    if isinstance(node, ast.InSet):  # resolved (resolve/value_tests.py): its literals, `null` included
        return _first_new(node.rate, in_comparison)
    if in_comparison and isinstance(node, ast.String):
        return node.span, "strings on the right of a comparison are"
    if isinstance(node, ast.Option) and node.key == "as_of":
        return node.span, "`as of` is"
    found = _planned_word(node)
    if found:
        return found
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        what = _FIELDS.get((type(node), field.name))
        if what and value:
            return _span_of(value, node), what
        found = _first_new(value, in_comparison or isinstance(node, ast.Comparison))
        if found:
            return found
    return None


def _planned_word(node) -> tuple[Span, str] | None:
    if isinstance(node, ast.Statistic) and node.name.id in _STATISTICS:
        return node.name.span, _STATISTICS[node.name.id]
    if isinstance(node, ast.MeasurePhrase) and node.words and node.words[-1].id in _MEASURES:
        return node.words[-1].span, _MEASURES[node.words[-1].id]
    if isinstance(node, ast.HandlesCheck):
        case = tuple(word.id for word in node.case)
        if case in _CASES:
            return _span_of(node.case, node), _CASES[case]
    if isinstance(node, ast.Option) and node.key == "tolerance" and getattr(node.value, "unit", None) == "%":
        # `tolerance 2%` will be relative (issue 14); until then it must not silently mean 0.02.
        return node.span, _TOLERANCE
    return None


def _span_of(value, owner) -> Span:
    if isinstance(value, tuple):
        first, last = value[0].span, value[-1].span
        return Span(first.line, first.column, last.end_line, last.end_column, first.start, last.end)
    return getattr(value, "span", owner.span)
