"""Forms the parser reads but the resolver does not resolve yet.

A statement that uses one gets ONE located diagnostic, "`X` is not supported yet", and is
skipped; nothing else about it is reported. This module is a table for forms added to the grammar
before their meaning: whoever gives a form its meaning removes its entry here (and, for a new
check node, points `DISPATCH` in resolve/__init__.py at the real family function). Every form of
issues 13 and 14 is resolved now — dates, `true`, `false`, `null` and strings included, wherever
the grammar takes them — so the tables are empty, and `unsupported` answers at once.
"""
from __future__ import annotations

import dataclasses
import functools

from ..language import ast
from ..language.source import Span
from .scope import Scope

# Statements that are new as a whole: what the diagnostic calls them (with its verb).
_STATEMENTS: dict[type, str] = {}

# Fields of older nodes that hold a new form when they are set.
_FIELDS: dict[tuple[type, str], str] = {}

# Nodes that are new wherever they appear.
_NODES: dict[type, str] = {}

# Words of planned forms that older nodes already hold: a statistic name, the last word of a
# measure phrase, a robustness case. Until resolved they are "not supported yet", not "unknown".
_STATISTICS: dict[str, str] = {}
_MEASURES: dict[str, str] = {}
_CASES: dict[tuple[str, ...], str] = {}

_HINTS: dict[str, str] = {}


def rejected(scope: Scope, node) -> bool:
    """Report `node` and return True when it uses a form not resolved yet."""
    found = unsupported(node)
    if found is None:
        return False
    span, what = found
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
    if not (_FIELDS or _NODES or _STATISTICS or _MEASURES or _CASES):
        return None  # nothing is pending: no statement needs walking
    return _first_new(node)


def _first_new(node) -> tuple[Span, str] | None:
    if isinstance(node, tuple):
        for item in node:
            found = _first_new(item)
            if found:
                return found
        return None
    if not dataclasses.is_dataclass(node) or isinstance(node, (type, ast.Name, Span)):
        return None
    if type(node) in _NODES:
        return node.span, _NODES[type(node)]  # type: ignore[attr-defined]  # every AST node has a span
    found = _planned_word(node)
    if found:
        return found
    for name in _field_names(type(node)):
        value = getattr(node, name)
        what = _FIELDS.get((type(node), name))
        if what and value:
            return _span_of(value, node), what
        found = _first_new(value)
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
    return None


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    """The fields of a node type, but its span: read once per type (every statement is walked)."""
    return tuple(f.name for f in dataclasses.fields(kind) if f.name != "span")


def _span_of(value, owner) -> Span:
    if isinstance(value, tuple):
        first, last = value[0].span, value[-1].span
        return Span(first.line, first.column, last.end_line, last.end_column, first.start, last.end)
    return getattr(value, "span", owner.span)
