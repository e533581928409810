"""Stage 2 — transform: Lark tree → typed AST (ast.py), every node with its Span.

Pure shape conversion: no name is resolved here, and no code from the contract runs.
Literals get their units here: `5%` → 0.05, `250ms` → 0.25 (seconds), `1d` → 86400 (seconds),
`1000 rows/s`; dates and datetimes get their value (`2026-02-30` is a diagnostic). The one use
of context: a dotted name on a right-hand side whose first part names a `metrics` declaration
of the contract becomes a `MetricRef` (`monitoring.auc`); everything else is local to a line.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import gc
import re
from typing import cast

import lark

from ..errors import ContractError
from . import ast
from .parse import LogicalLine, parse
from .source import Diagnostic, SourceText, Span

_DURATION_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


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
    metrics = {s.name.id for s in statements if isinstance(s, ast.MetricsDecl)}
    if metrics:
        # Only statements whose text names `NAME.` can hold a reference: the others are not walked.
        heads = tuple(f"{name}." for name in metrics)
        statements = [_metric_refs(s, metrics) if any(h in source.text[s.span.start:s.span.end] for h in heads) else s
                      for s in statements]
    return ast.Module(tuple(statements), span=Span(1, 1, max(1, len(source.lines)), 1, 0, len(source.text)))


def _metric_refs(node, metrics: set[str]):
    """`node` with every dotted `Ref` whose first part is a metrics source replaced by a
    `MetricRef` (rebuilt only along the paths that change)."""
    if isinstance(node, ast.Ref):
        head, dot, _ = node.name.id.partition(".")
        return _metric_ref(node) if dot and head in metrics else node
    if isinstance(node, tuple):
        rebuilt = tuple(_metric_refs(item, metrics) for item in node)
        return node if all(a is b for a, b in zip(rebuilt, node)) else rebuilt
    if not dataclasses.is_dataclass(node) or isinstance(node, (type, ast.Name, ast.Span)):
        return node
    changes = {}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        rebuilt = _metric_refs(value, metrics)
        if rebuilt is not value:
            changes[f.name] = rebuilt
    return dataclasses.replace(node, **changes) if changes else node


def _metric_ref(ref: ast.Ref) -> ast.MetricRef:
    """Split `monitoring.latency.p95` into its source and path, each part with its own span."""
    parts, names, start = ref.name.id.split("."), [], 0
    whole = ref.name.span
    for part in parts:
        names.append(ast.Name(part, span=Span(whole.line, whole.column + start, whole.line,
                                              whole.column + start + len(part), whole.start + start,
                                              whole.start + start + len(part))))
        start += len(part) + 1
    return ast.MetricRef(names[0], tuple(names[1:]), span=ref.span)


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
            # a token from the lexer has its positions (lark types them Optional, for hand-made tokens)
            assert item.line is not None and item.column is not None and item.end_line is not None
            assert item.end_column is not None and item.start_pos is not None and item.end_pos is not None
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
        return self.name(cast(lark.Token, tree.children[0]))  # the grammar's `column` is one name token

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

    def _metrics_decl(self, tree):
        _keyword, name, source = tree.children
        return ast.MetricsDecl(self.name(name), self.source(source), span=self.span(tree))

    def _missing_decl(self, tree):
        _keyword, first, *columns, values = tree.children
        if isinstance(values, lark.Tree) and values.data == "value_set":
            values = self.value_set(values)
        else:  # one value: a list of one
            single = self.literal(values)
            values = ast.ListLiteral((single,), span=single.span)
        return ast.MissingDecl((self.name(first), *(self.column(c) for c in columns)), values, span=self.span(tree))

    def _label_decl(self, tree):
        return ast.LabelDecl(self.column(tree.children[0]), span=self.span(tree))

    def _ignore_decl(self, tree):
        return ast.IgnoreDecl(tuple(self.column(c) for c in tree.children), span=self.span(tree))

    def source(self, tree: lark.Tree) -> ast.SourceCall:
        source_format, *args = [c for c in tree.children if c is not None]
        positional, keywords = [], []
        for arg in args:
            if arg.data == "positional_arg":
                positional.append(ast.String(self.string(cast(lark.Token, arg.children[0])), span=self.span(arg)))
            elif isinstance(arg.children[1], lark.Tree) and arg.children[1].data == "list_literal":
                keywords.append((self.name(cast(lark.Token, arg.children[0])), self.list_literal(arg.children[1])))
            else:
                keywords.append((self.name(cast(lark.Token, arg.children[0])), self.value(arg.children[1])))
        return ast.SourceCall(self.name(cast(lark.Token, source_format)), tuple(positional), tuple(keywords),
                              span=self.span(tree))

    # ---- checks ----------------------------------------------------------------------------
    def _feature_check(self, tree, warn):
        selector, subject, where, test, *options = tree.children
        statistic = vs = shares = length = None
        if test.data == "statistic_test":
            shares, length, statistic, vs, test = test.children
        return ast.FeatureCheck(
            selector=self.selector(selector),
            subject=self.subject(subject),
            statistic=self.statistic(statistic) if statistic is not None else None,
            vs=self.name(vs.children[0]) if vs is not None else None,
            test=self.feature_test(test),
            options=self.options(options),
            warn=warn,
            where=self.where(where),
            shares=self.map_literal(shares.children[0]) if shares is not None else None,
            length=ast.Marker("length", span=self.span(length)) if length is not None else None,
            span=self.span(tree),
        )

    def feature_test(self, tree):
        kind = tree.data
        if kind == "comparison":
            return self.comparison(tree)
        if kind == "between":
            return self.between(tree)
        if kind == "in_set":
            negated, values, rate = tree.children
            return ast.InSet(self.value_set(values), negated is not None, self.rate_test(rate), span=self.span(tree))
        if kind == "matches":
            pattern, rate = tree.children
            return ast.Matches(ast.String(self.string(pattern), span=self.span(pattern)), self.rate_test(rate),
                               span=self.span(tree))
        if kind == "is_format":
            name, argument, rate = tree.children
            argument = ast.String(self.string(argument), span=self.span(argument)) if argument is not None else None
            return ast.IsFormat(self.name(name), argument, self.rate_test(rate), span=self.span(tree))
        (spec,) = tree.children  # type_is
        return ast.TypeIs(self.type_spec(spec), span=self.span(tree))

    def rate_test(self, tree) -> ast.RateTest | None:
        if tree is None:
            return None
        count, test = tree.children
        test = self.comparison(test) if test.data == "comparison" else self.between(test)
        return ast.RateTest("count" if count is not None else "rate", test, span=self.span(tree))

    def type_spec(self, tree, depth: int = 0) -> ast.TypeSpec:
        if depth > MAX_DEPTH:
            raise _Malformed(Diagnostic(self.span(tree), f"this type is nested more than {MAX_DEPTH} deep"))
        name, *args = [c for c in tree.children if c is not None]
        built = tuple(self.type_spec(a, depth + 1) if isinstance(a, lark.Tree) and a.data == "type_spec"
                      else self.literal(a) for a in args)
        return ast.TypeSpec(self.name(name), built, span=self.span(tree))

    def _schema_check(self, tree, warn):
        subject, reference, strictly, *options = tree.children
        return ast.SchemaCheck(
            subject=self.subject(subject),
            reference=self.name(reference),
            options=self.options(options),
            warn=warn,
            strictly=ast.Marker("strictly", span=self.span(strictly)) if strictly is not None else None,
            span=self.span(tree),
        )

    def _compare_check(self, tree, warn):
        lhs, comparison, *options = tree.children
        return ast.CompareCheck(self.lhs(lhs), self.comparison(comparison), self.options(options), warn,
                                span=self.span(tree))

    def _between_check(self, tree, warn):
        lhs, between, *options = tree.children
        return ast.BetweenCheck(self.lhs(lhs), self.between(between), self.options(options), warn,
                                span=self.span(tree))

    def _columns_check(self, tree, warn):
        lhs, op, columns, *options = tree.children
        return ast.ColumnsCheck(self.lhs(lhs), str(op), self.column_tuple(columns), self.options(options), warn,
                                span=self.span(tree))

    def _unique_check(self, tree, warn):
        subject, columns, where, *options = tree.children
        return ast.UniqueCheck(
            subject=self.name(subject.children[0]) if subject is not None else None,
            columns=self.column_tuple(columns),
            where=self.where(where),
            options=self.options(options),
            warn=warn,
            span=self.span(tree),
        )

    def _trend_check(self, tree, warn):
        words, negated, direction, up_to_best, *options = tree.children
        return ast.TrendCheck(
            words=self.words(words),
            negated=negated is not None,
            direction=str(direction),
            options=self.options(options),
            warn=warn,
            up_to_best=ast.Marker("up to best epoch", span=self.span(up_to_best)) if up_to_best is not None else None,
            span=self.span(tree),
        )

    def _handles_check(self, tree, warn):
        model, words, sizes, variants, selector, path, *options = tree.children
        return ast.HandlesCheck(
            model=self.name(model.children[0]) if model is not None else None,
            case=self.words(words),
            selector=self.selector(selector) if selector is not None else None,
            path=ast.String(self.string(path), span=self.span(path)) if path is not None else None,
            options=self.options(options),
            warn=warn,
            sizes=tuple(self.image_size(t) for t in sizes.children) if sizes is not None else (),
            variants=tuple(ast.CaseVariant(self.words(w), span=self.span(w)) for w in variants.children)
            if variants is not None else (),
            span=self.span(tree),
        )

    def image_size(self, token: lark.Token) -> ast.ImageSize:
        # A side of more than 9 digits is beyond any image (and int() refuses 4,300 digits): kept as
        # 10**9, which the resolver reports as too large.
        width, height = (int(n) if len(n) <= 9 else 10**9 for n in str(token).split("x"))
        return ast.ImageSize(width, height, span=self.span(token))

    # ---- pieces ----------------------------------------------------------------------------
    def words(self, tree) -> tuple[ast.Name, ...]:
        return tuple(self.name(t) for t in tree.children)

    def subject(self, of) -> ast.Name | None:
        """The dataset of an optional `of DATASET`."""
        return self.name(of.children[0]) if of is not None else None

    def lhs(self, tree) -> ast.MeasurePhrase | ast.Gap:
        if tree.data == "gap":
            left, right = (self.measure(m) for m in tree.children)
            return ast.Gap(left, right, span=self.span(tree))
        if tree.data == "filtered":  # a measure with `where COND`; its span covers the condition
            measure, where = tree.children
            filtered = self.lhs(measure)
            return dataclasses.replace(filtered, where=self.where(where), span=self.span(tree))  # type: ignore[arg-type]
        return self.measure(tree)

    def measure(self, tree) -> ast.MeasurePhrase:
        words, subject, columns, on, by = tree.children
        words = self.words(words)
        if subject is not None:  # `MEASURE of SUBJECT` is `SUBJECT MEASURE`: one meaning, written either way
            words = (self.subject(subject),) + words
        return ast.MeasurePhrase(
            words=words,
            on=self.name(on.children[0]) if on is not None else None,
            by=self.column(by.children[0]) if by is not None else None,
            columns=self.column_tuple(columns) if columns is not None else (),
            span=self.span(tree),
        )

    def column_tuple(self, tree) -> tuple[ast.Name, ...]:
        return tuple(self.column(c) for c in tree.children)

    def selector(self, tree) -> ast.Selector:
        items: list[ast.ColumnItem | ast.GroupItem] = []
        excluded: tuple[ast.Name, ...] = ()
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
        if kind == "as_of_option":  # as of 2026-01-31T00:00Z
            (value,) = children
            return ast.Option("as_of", self.temporal(value), key_span=span, span=span)
        key, value = children  # at batch 1 / bins 20 / tolerance 0.01
        return ast.Option(str(key), self.value(value), key_span=self.span(key), span=span)

    # ---- literals ----------------------------------------------------------------------------
    def literal(self, tree):
        """A literal of a value set, list or map (or a type's argument)."""
        if isinstance(tree, lark.Tree):
            if tree.data == "string":
                return ast.String(self.string(cast(lark.Token, tree.children[0])), span=self.span(tree))
            if tree.data in ("true_literal", "false_literal"):
                return ast.Bool(tree.data == "true_literal", span=self.span(tree))
            if tree.data == "null_literal":
                return ast.Null(span=self.span(tree))
            if tree.data == "temporal":
                return self.temporal(cast(lark.Token, tree.children[0]))
        return self.expr(tree)

    def value_set(self, tree) -> ast.ListLiteral:
        return ast.ListLiteral(tuple(self.literal(c) for c in tree.children if c is not None), span=self.span(tree))

    list_literal = value_set

    def map_literal(self, tree) -> ast.MapLiteral:
        items = tuple(ast.MapItem(self.literal(key), self.literal(value), span=self.span(item))
                      for item in tree.children for key, value in [item.children])
        return ast.MapLiteral(items, span=self.span(tree))

    def temporal(self, token: lark.Token) -> ast.Temporal:
        text = str(token)
        value = _temporal_value(text)
        if value is None:
            raise _Malformed(Diagnostic(self.span(token), f"`{text}` is not a date or a datetime",
                                        "write a date as 2026-01-31 and a datetime as 2026-01-31T12:00, "
                                        "2026-01-31T12:00:00Z or 2026-01-31T12:00:00.5+02:00"))
        return ast.Temporal(value, text, span=self.span(token))

    # ---- conditions --------------------------------------------------------------------------
    def where(self, tree) -> ast.Condition | None:
        return self.condition(tree.children[0]) if tree is not None else None

    def condition(self, tree, depth: int = 0):
        kind, children, span = tree.data, tree.children, self.span(tree)
        if depth > MAX_DEPTH:
            raise _Malformed(Diagnostic(span, f"this condition is nested more than {MAX_DEPTH} deep"))
        if kind in ("and_condition", "or_condition"):
            # A chain `a and b and c` is a left-deep tree: walked down its left spine in a loop,
            # so a long chain costs no recursion and becomes one flat node.
            operands, node = [], tree
            while isinstance(node, lark.Tree) and node.data == kind:
                left, right = node.children
                operands.append(right)
                node = left
            operands.append(node)
            return ast.LogicCond(kind.split("_")[0], tuple(self.condition(c, depth + 1) for c in reversed(operands)),
                                 span=span)
        if kind == "not_condition":
            _not, operand = children
            return ast.NotCond(self.condition(operand, depth + 1), span=span)
        if kind == "compare_condition":
            left, op, right = children
            return ast.CompareCond(str(op), self.operand(left, depth + 1), self.operand(right, depth + 1), span=span)
        if kind == "in_condition":
            operand, negated, values = children
            return ast.InCond(self.operand(operand, depth + 1), self.value_set(values), negated is not None, span=span)
        operand, negated = children  # null_condition
        return ast.IsNullCond(self.operand(operand, depth + 1), negated is not None, span=span)

    def operand(self, tree, depth: int):
        span = self.span(tree)
        if depth > MAX_DEPTH:
            raise _Malformed(Diagnostic(span, f"this condition is nested more than {MAX_DEPTH} deep"))
        kind = tree.data
        if kind == "column_ref":
            return ast.ColumnRef(self.name(tree.children[0]), span=span)
        if kind == "binop":
            left, op, right = tree.children
            return ast.BinOp(str(op), self.operand(left, depth + 1), self.operand(right, depth + 1), span=span)
        if kind == "neg":
            return ast.Neg(self.operand(tree.children[0], depth + 1), span=span)
        return self.literal(tree)

    # ---- values and expressions ------------------------------------------------------------
    def value(self, tree):
        if isinstance(tree, lark.Token):
            return ast.Word(self.name(tree), span=self.span(tree))
        kind = tree.data
        if kind == "string":
            return ast.String(self.string(tree.children[0]), span=self.span(tree))
        if kind == "word":
            return ast.Word(self.name(tree.children[0]), span=self.span(tree))
        if kind == "temporal":
            return self.temporal(tree.children[0])
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
        if kind in ("string", "true_literal", "false_literal", "null_literal", "temporal"):
            return self.literal(tree)
        if kind == "plain_number":
            text = str(children[0])
            return ast.Number(_plain_number(text), None, text, span=span)
        if kind == "percent":
            text = str(children[0])
            return ast.Number(float(text[:-1]) / 100.0, "%", text, span=span)
        if kind == "duration":
            text = str(children[0])
            unit = next(u for u in ("us", "µs", "ms", "min", "s", "h", "d") if text.endswith(u))
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

# What the DATETIME token's text must be (the token is looser, so that a near miss gets this
# diagnostic rather than reading as arithmetic): a date, or a date with hours and minutes,
# optional seconds with up to 6 decimals, and an optional `Z` or offset.
_TEMPORAL = re.compile(r"\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d{1,6})?)?(Z|[+-]\d\d:?\d\d)?)?")


def _temporal_value(text: str) -> datetime.date | datetime.datetime | None:
    """The date or datetime `text` names, or None when it names none (`2026-02-30`)."""
    if not _TEMPORAL.fullmatch(text):
        return None
    try:
        if "T" not in text:
            return datetime.date.fromisoformat(text)
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return None


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
