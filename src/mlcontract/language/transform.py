"""Stage 2 — transform: Lark tree → typed AST (ast.py), every node with its Span.

Pure shape conversion: no name is resolved here, and no code from the contract runs.
Literals get their units here: `5%` → 0.05, `250ms` → 0.25 (seconds), `1000 rows/s`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc

import lark

from . import ast
from ..errors import ContractError
from .source import Diagnostic, SourceText, Span
from .parse import LogicalLine, parse

_DURATION_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0}


# Deeper expressions than this are certainly not written by a person; they would exhaust the
# recursion of the later stages.
MAX_DEPTH = 200


def to_ast(source: SourceText) -> ast.Module:
    """Parse and transform a whole contract (raises ParseError on syntax errors, ContractError
    on malformed literals)."""
    with no_cyclic_gc():
        return _to_ast(source)


@contextlib.contextmanager
def no_cyclic_gc():
    """Parse trees are millions of small objects and hold no reference cycles; the cyclic
    collector would walk them again and again while they are built (half the time of a
    multi-megabyte contract) to free nothing; so are the checked contract and the plan. The CLI
    switches it off for all of start-up; this does the same for the API (to_ast, and
    api.Contract around resolve and plan), and restores what the caller had."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _to_ast(source: SourceText) -> ast.Module:
    statements: list = []
    problems: list[Diagnostic] = []
    for tree, logical in parse(source):
        builder = _Builder(logical)
        for child in tree.children:
            if child is None:
                continue
            try:
                statements.append(builder.statement(child))
            except _Malformed as error:
                problems.append(error.diagnostic)
            except RecursionError:
                problems.append(Diagnostic(builder.span(child), "this line is nested too deeply to read"))
    if problems:
        raise ContractError(problems, source)
    return ast.Module(tuple(statements), span=Span(1, 1, max(1, len(source.lines)), 1, 0, len(source.text)))


class _Malformed(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


class _Builder:
    """Converts one parsed chunk; `logical` says where the chunk sits in the file."""

    def __init__(self, logical: LogicalLine):
        self.line_delta = logical.line - 1
        self.offset_delta = logical.offset

    # ---- spans -----------------------------------------------------------------------------
    def span(self, item) -> Span:
        if isinstance(item, lark.Token):
            return Span(
                item.line + self.line_delta,
                item.column,
                item.end_line + self.line_delta,
                item.end_column,
                item.start_pos + self.offset_delta,
                item.end_pos + self.offset_delta,
            )
        meta = item.meta
        if getattr(meta, "empty", True):
            return ast._NO_SPAN
        return Span(
            meta.line + self.line_delta,
            meta.column,
            meta.end_line + self.line_delta,
            meta.end_column,
            meta.start_pos + self.offset_delta,
            meta.end_pos + self.offset_delta,
        )

    def string(self, token: lark.Token) -> str:
        try:
            value = _unescape(str(token))
        except _BadEscape as bad:
            raise _Malformed(Diagnostic(self._inside(token, bad.start, bad.end), bad.message, bad.hint)) from None
        if "\x00" in value:
            raise _Malformed(Diagnostic(self.span(token), "this string has an escape that is not allowed",
                                        _ESCAPE_HINT))
        return value

    def _inside(self, token: lark.Token, start: int, end: int) -> Span:
        """The span of characters start:end of a one-line token."""
        whole = self.span(token)
        return Span(whole.line, whole.column + start, whole.line, whole.column + end,
                    whole.start + start, whole.start + end)

    def name(self, token: lark.Token) -> ast.Name:
        text = str(token)
        if token.type == "QUOTED_NAME":
            text = text[1:-1]
        return ast.Name(text, span=self.span(token))

    def column(self, tree: lark.Tree) -> ast.Name:
        return self.name(tree.children[0])

    # ---- statements ------------------------------------------------------------------------
    def statement(self, tree: lark.Tree, warn: bool = False):
        kind = tree.data
        if kind == "warn_check":
            # The check's span covers the `warn` prefix too: reports show the whole line.
            return dataclasses.replace(self.statement(tree.children[0], warn=True), span=self.span(tree))
        method = getattr(self, f"_{kind}")
        return method(tree, warn) if kind.endswith("_check") else method(tree)

    def _contract_decl(self, tree):
        return ast.ContractDecl(self.string(tree.children[0]), span=self.span(tree))

    def _dataset_decl(self, tree):
        name, source = tree.children
        return ast.DatasetDecl(self.name(name), self.source(source), span=self.span(tree))

    def _model_decl(self, tree):
        name, source = tree.children
        return ast.ModelDecl(self.name(name), self.source(source), span=self.span(tree))

    def _history_decl(self, tree):
        name, source = tree.children
        return ast.HistoryDecl(self.name(name), self.source(source), span=self.span(tree))

    def _label_decl(self, tree):
        return ast.LabelDecl(self.column(tree.children[0]), span=self.span(tree))

    def _ignore_decl(self, tree):
        return ast.IgnoreDecl(tuple(self.column(c) for c in tree.children), span=self.span(tree))

    def source(self, tree: lark.Tree) -> ast.SourceCall:
        source_format, *args = [c for c in tree.children if c is not None]
        positional, keywords = [], []
        for arg in args:
            if arg.data == "positional_arg":
                positional.append(ast.String(self.string(arg.children[0]), span=self.span(arg)))
            else:
                keywords.append((self.name(arg.children[0]), self.value(arg.children[1])))
        return ast.SourceCall(self.name(source_format), tuple(positional), tuple(keywords), span=self.span(tree))

    # ---- checks ----------------------------------------------------------------------------
    def _feature_check(self, tree, warn):
        selector, subject, statistic, vs, test, *options = tree.children
        return ast.FeatureCheck(
            selector=self.selector(selector),
            subject=self.name(subject.children[0]) if subject is not None else None,
            statistic=self.statistic(statistic) if statistic is not None else None,
            vs=self.name(vs.children[0]) if vs is not None else None,
            test=self.comparison(test) if test.data == "comparison" else self.between(test),
            options=self.options(options),
            warn=warn,
            span=self.span(tree),
        )

    def _schema_check(self, tree, warn):
        subject, reference, *options = tree.children
        return ast.SchemaCheck(
            subject=self.name(subject.children[0]) if subject is not None else None,
            reference=self.name(reference),
            options=self.options(options),
            warn=warn,
            span=self.span(tree),
        )

    def _compare_check(self, tree, warn):
        lhs, comparison, *options = tree.children
        if lhs.data == "gap":
            left, right = (self.measure(m) for m in lhs.children)
            measure = ast.Gap(left, right, span=self.span(lhs))
        else:
            measure = self.measure(lhs)
        return ast.CompareCheck(measure, self.comparison(comparison), self.options(options), warn, span=self.span(tree))

    def _trend_check(self, tree, warn):
        words, negated, direction, *options = tree.children
        return ast.TrendCheck(
            words=self.words(words),
            negated=negated is not None,
            direction=str(direction),
            options=self.options(options),
            warn=warn,
            span=self.span(tree),
        )

    def _handles_check(self, tree, warn):
        model, words, selector, path, *options = tree.children
        return ast.HandlesCheck(
            model=self.name(model) if model is not None else None,
            case=self.words(words),
            selector=self.selector(selector) if selector is not None else None,
            path=ast.String(self.string(path), span=self.span(path)) if path is not None else None,
            options=self.options(options),
            warn=warn,
            span=self.span(tree),
        )

    # ---- pieces ----------------------------------------------------------------------------
    def words(self, tree) -> tuple[ast.Name, ...]:
        return tuple(self.name(t) for t in tree.children)

    def measure(self, tree) -> ast.MeasurePhrase:
        words, on, by = tree.children
        return ast.MeasurePhrase(
            words=self.words(words),
            on=self.name(on.children[0]) if on is not None else None,
            by=self.column(by.children[0]) if by is not None else None,
            span=self.span(tree),
        )

    def selector(self, tree) -> ast.Selector:
        items, excluded = [], ()
        for child in tree.children:
            if child is None:
                continue
            if child.data == "except_clause":
                excluded = tuple(self.column(c) for c in child.children)
            elif child.data == "column":
                items.append(ast.ColumnItem(self.column(child), span=self.span(child)))
            else:
                group = {"all_features": "*", "numeric_features": "numeric", "categorical_features": "categorical"}
                items.append(ast.GroupItem(group[child.data], span=self.span(child)))
        return ast.Selector(tuple(items), excluded, span=self.span(tree))

    def statistic(self, tree) -> ast.Statistic:
        name, *args = [c for c in tree.children if c is not None]
        return ast.Statistic(self.name(name), tuple(self.value(a) for a in args), span=self.span(tree))

    def comparison(self, tree) -> ast.Comparison:
        op, rhs = tree.children
        return ast.Comparison(str(op), self.expr(rhs), span=self.span(tree))

    def between(self, tree) -> ast.Between:
        low, high = tree.children
        return ast.Between(self.value(low), self.value(high), span=self.span(tree))

    def options(self, trees) -> tuple[ast.Option, ...]:
        return tuple(self.option(t) for t in trees if t is not None)

    def option(self, tree) -> ast.Option:
        kind, children, span = tree.data, tree.children, self.span(tree)
        if kind in ("vs_option", "on_option"):
            target = self.name(children[0])
            return ast.Option(kind[:2], target, key_span=span, span=span)
        if kind == "with_option":  # with 5 folds / with 200 calls
            value, key = children
            return ast.Option(str(key), self.value(value), key_span=self.span(key), span=span)
        if kind == "over_option":  # over last 5 epochs
            value, unit = children
            return ast.Option("last", self.value(value), key_span=self.span(unit), unit=str(unit), span=span)
        key, value = children  # at batch 1 / bins 20 / tolerance 0.01
        return ast.Option(str(key), self.value(value), key_span=self.span(key), span=span)

    # ---- values and expressions ------------------------------------------------------------
    def value(self, tree):
        if isinstance(tree, lark.Token):
            return ast.Word(self.name(tree), span=self.span(tree))
        kind = tree.data
        if kind == "string":
            return ast.String(self.string(tree.children[0]), span=self.span(tree))
        if kind == "word":
            return ast.Word(self.name(tree.children[0]), span=self.span(tree))
        return self.expr(tree)

    def expr(self, tree, depth: int = 0):
        kind, children, span = tree.data, tree.children, self.span(tree)
        if depth > MAX_DEPTH:
            raise _Malformed(Diagnostic(span, f"this expression is nested more than {MAX_DEPTH} deep"))
        if kind == "binop":
            left, op, right = children
            return ast.BinOp(str(op), self.expr(left, depth + 1), self.expr(right, depth + 1), span=span)
        if kind == "neg":
            return ast.Neg(self.expr(children[0], depth + 1), span=span)
        if kind == "ref":
            return ast.Ref(self.name(children[0]), span=span)
        if kind == "baseline":
            return ast.Baseline(self.name(children[0]), span=span)
        if kind == "plain_number":
            text = str(children[0])
            return ast.Number(_plain_number(text), None, text, span=span)
        if kind == "percent":
            text = str(children[0])
            return ast.Number(float(text[:-1]) / 100.0, "%", text, span=span)
        if kind == "duration":
            text = str(children[0])
            unit = next(u for u in ("us", "µs", "ms", "min", "s") if text.endswith(u))
            return ast.Number(float(text[: -len(unit)]) * _DURATION_UNITS[unit], "s", text, span=span)
        if kind == "rate":
            number, _unit = children
            return ast.Number(float(number), "rows/s", f"{number} rows/s", span=span)
        if kind in ("string", "word"):
            return self.value(tree)
        raise AssertionError(f"unknown expression node {kind}")  # grammar and builder disagree


def _plain_number(text: str) -> int | float:
    """An integer literal stays an exact int (`between 0 and 9007199254740992` must not round
    an id of 2**53 + 1 into range); one too long for a float is a float (inf: a diagnostic)."""
    if text.isdecimal() and len(text) <= _MAX_INT_DIGITS:
        return int(text)
    return float(text)


_MAX_INT_DIGITS = 300  # below float64's 1.8e308, so every check of a literal can convert it


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
_ESCAPE_HINT = 'use \\n, \\t, \\\\, \\" or \\uXXXX; in paths, prefer forward slashes'
_HEX = frozenset("0123456789abcdefABCDEF")


class _BadEscape(Exception):
    """An escape of a string literal that has no value; start/end index the token's text."""

    def __init__(self, start: int, end: int, message: str, hint: str):
        self.start, self.end, self.message, self.hint = start, end, message, hint


def _unescape(text: str) -> str:
    r"""The value of a "..." literal: backslash escapes \n \t \r \\ \" \' and \uXXXX, where a
    UTF-16 surrogate pair (`\ud83d\ude00`, as JSON writes characters beyond U+FFFF) is the one
    character it encodes. Raises _BadEscape for an escape we do not know and for half a pair,
    which is not a character: nothing could encode or print it."""
    out, i, body = [], 0, text[1:-1]
    while i < len(body):
        escape = body.find("\\", i)
        if escape < 0:  # the rest holds no escape: copied in one piece (strings can be megabytes)
            out.append(body[i:])
            break
        out.append(body[i:escape])
        i = escape
        following = body[i + 1:i + 2]
        if following in _ESCAPES:
            out.append(_ESCAPES[following])
            i += 2
            continue
        code = _hex_escape(body, i)
        if code is None:
            raise _BadEscape(i + 1, i + 3, "this string has an escape that is not allowed", _ESCAPE_HINT)
        if 0xD800 <= code <= 0xDBFF and (low := _hex_escape(body, i + 6)) is not None and 0xDC00 <= low <= 0xDFFF:
            out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
            i += 12
        elif 0xD800 <= code <= 0xDFFF:
            raise _BadEscape(i + 1, i + 7, f"`\\u{code:04x}` is half of a UTF-16 surrogate pair, not a character",
                             "write the character itself, or both halves of a pair (`\\ud83d\\ude00` for U+1F600)")
        else:
            out.append(chr(code))
            i += 6
    return "".join(out)


def _hex_escape(body: str, i: int) -> int | None:
    r"""The code of a `\uXXXX` escape at body[i], or None."""
    digits = body[i + 2:i + 6]
    if body[i:i + 2] == "\\u" and len(digits) == 4 and _HEX.issuperset(digits):
        return int(digits, 16)
    return None
