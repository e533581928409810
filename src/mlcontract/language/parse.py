"""Stage 1 — parse: contract text → Lark tree, with Lark's errors translated to ours.

The whole text is parsed in one go. Only when that fails is it parsed again one logical line
at a time, so that every syntax error in the file is reported in one run (statements never
span lines, except with an explicit trailing backslash).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..errors import ParseError
from .source import Diagnostic, SourceText, Span

# What users read instead of Lark's terminal names.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "QUOTED_NAME": "a `quoted name`",
    "NUMBER": "a number",
    "PERCENT": "a percentage",
    "DURATION": "a duration such as `50ms`",
    "STRING": 'a quoted string such as "data/train.parquet"',
    "COMPARATOR": "a comparison such as `< 0.2`",
    "TREND": "`increasing` or `decreasing`",
    "NOT": "`not`",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*` or `/`",
    "RATE_UNIT": "`rows/s`",
    "_NL": "the end of the line",
    "$END": "the end of the file",
}


@dataclass(frozen=True)
class LogicalLine:
    """One statement's text and where it starts in the file."""

    text: str
    line: int  # 1-based line number of its first physical line
    offset: int  # character offset of its first character


@lru_cache(maxsize=1)
def grammar_text() -> str:
    """The grammar shipped inside the package (copied there at build time) or, when running
    from a source checkout, the repository's grammar/mlcontract.lark."""
    packaged = resources.files("mlcontract").joinpath("mlcontract.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parents[3] / "grammar" / "mlcontract.lark").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def parser() -> lark.Lark:
    return lark.Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        # Building the LALR tables takes ~0.1 s; Lark caches them in the temp folder, keyed by a
        # hash of the grammar and these options, which makes every later start-up 10x faster.
        cache=True,
    )


def parse(source: SourceText) -> list[tuple[lark.Tree, LogicalLine]]:
    """Parse the contract. Returns (tree, line) pairs; the whole file is one pair when it
    parses at once. Raises ContractError holding every syntax error otherwise."""
    text = source.text if source.text.endswith("\n") else source.text + "\n"
    not_text = _lone_surrogates(source)
    if not_text:
        raise ParseError(not_text, source)
    try:
        return [(parser().parse(text), LogicalLine(text, 1, 0))]
    except UnexpectedInput:
        pass
    diagnostics: list[Diagnostic] = []
    trees = []
    for logical in logical_lines(text):
        try:
            trees.append((parser().parse(logical.text + "\n"), logical))
        except UnexpectedInput as error:
            diagnostics.append(translate(error, logical, source))
    stripped = text.rstrip()
    if not diagnostics and stripped.endswith("\\"):  # every line parses alone but the file does not
        offset = len(stripped) - 1
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        diagnostics.append(Diagnostic(Span(line, column, line, column + 1, offset, offset + 1),
                                      "the last line ends with `\\`, which continues it onto a line that is not there",
                                      "remove the trailing backslash"))
    if not diagnostics:
        try:
            parser().parse(text)
        except UnexpectedInput as error:
            diagnostics.append(translate(error, LogicalLine(text, 1, 0), source))
    if not diagnostics:  # pragma: no cover - both parses cannot disagree otherwise
        diagnostics.append(Diagnostic(None, "the contract cannot be parsed"))
    raise ParseError(diagnostics, source)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogates(source: SourceText) -> list[Diagnostic]:
    """Half of a UTF-16 surrogate pair is not a character. Text decoded from a file never holds
    one, but a str handed to the API can, and nothing downstream could encode or print it."""
    found = []
    for match in _SURROGATE.finditer(source.text):
        offset = match.start()
        line = source.text.count("\n", 0, offset) + 1
        column = offset - (source.text.rfind("\n", 0, offset) + 1) + 1
        found.append(Diagnostic(Span(line, column, line, column + 1, offset, offset + 1),
                                f"U+{ord(match.group()):04X} is half of a UTF-16 surrogate pair, not a character",
                                "pass the contract as valid Unicode text"))
        if len(found) == 10:  # one refuses the text; a few show where
            break
    return found


def logical_lines(text: str) -> list[LogicalLine]:
    """Split into statements: physical lines joined where one ends with a backslash."""
    result: list[LogicalLine] = []
    offset = 0
    pending: list[str] = []  # the physical lines of the statement being joined
    first = (1, 0)  # the line number and offset where it starts
    for number, physical in enumerate(text.split("\n"), start=1):
        if not pending:
            first = (number, offset)
        pending.append(physical)
        offset += len(physical) + 1
        if not physical.rstrip().endswith("\\"):
            _close(pending, first, result)
            pending = []
    _close(pending, first, result)
    return result


def _close(pending: list[str], first: tuple[int, int], result: list[LogicalLine]) -> None:
    # Joined with their newlines so that columns inside a continued statement stay right, and
    # joined once: adding line by line copies the statement again for every line (quadratic).
    joined = "\n".join(pending)
    if joined.strip():
        result.append(LogicalLine(joined, *first))


def translate(error: UnexpectedInput, logical: LogicalLine, source: SourceText) -> Diagnostic:
    """Turn a Lark exception into a located diagnostic in words."""
    line = logical.line + error.line - 1 if error.line and error.line > 0 else logical.line
    column = error.column if error.column and error.column > 0 else 1
    offset = logical.offset + (error.pos_in_stream or 0)
    expected = sorted(_expected_words(error))
    hint = ("expected " + _join(expected)) if expected else None
    if isinstance(error, UnexpectedToken) and error.token.type in ("_NL", "$END"):
        # Point just past the last character of the statement: that is where something is missing.
        line, column, offset, continued = _end_of_statement(logical, error)
        span = Span(line, column, line, column + 1, offset, offset + 1)
        message = "this line ends too early"
        if continued:
            message = "this line ends too early: it ends with `\\`, which continues it, but nothing follows"
    elif isinstance(error, UnexpectedToken):
        token = error.token
        span = Span(line, column, line, column + max(1, len(str(token))), offset, offset + len(str(token)))
        message = f"unexpected `{token}`"
    elif isinstance(error, UnexpectedCharacters):
        char = error.char if hasattr(error, "char") else "?"
        span = Span(line, column, line, column + 1, offset, offset + 1)
        message = f"unexpected character `{char}`"
    else:  # UnexpectedEOF
        span = Span(line, column, line, column + 1, offset, offset + 1)
        message = "the contract ends too early"
    return Diagnostic(span, message, hint, expected=tuple(expected))


def _end_of_statement(logical: LogicalLine, error: UnexpectedToken) -> tuple[int, int, int, bool]:
    """(line, column, offset, continued) of the place just past the statement's last character
    before the unexpected end: on a line of the statement, never on a line past the file. A
    statement whose last line ends with a continuation backslash is pointed at that backslash."""
    stop = error.pos_in_stream
    if stop is None or not 0 <= stop <= len(logical.text):
        stop = len(logical.text)
    before = logical.text[:stop].rstrip()
    continued = before.endswith("\\")
    if continued:
        before = before[:-1]
    line = logical.line + before.count("\n")
    column = len(before) - (before.rfind("\n") + 1) + 1
    return line, column, logical.offset + len(before), continued


def _expected_words(error: UnexpectedInput) -> set[str]:
    names = set(getattr(error, "expected", None) or getattr(error, "allowed", None) or ())
    if isinstance(error, UnexpectedToken):
        names = _accepted(error)
    words = set()
    for name in names:
        if name in _TERMINAL_WORDS:
            words.add(_TERMINAL_WORDS[name])
            continue
        try:
            pattern = parser().get_terminal(name).pattern
        except KeyError:
            continue
        if pattern.type == "str":
            words.add(f"`{pattern.value}`")
    return words


_ACCEPTED: dict[tuple, frozenset] = {}


def _accepted(error: UnexpectedToken) -> frozenset:
    """The terminals that would have advanced the parser. Lark finds them by feeding each
    candidate to a copy of the parser (~0.3 ms); the parser's state stack alone decides the
    answer, so it is cached by that stack: a file with thousands of the same mistake pays once."""
    interactive = error.interactive_parser
    if interactive is None:
        return frozenset(error.expected)
    key = tuple(interactive.parser_state.state_stack)
    if key not in _ACCEPTED:
        if len(_ACCEPTED) > 10_000:
            _ACCEPTED.clear()
        _ACCEPTED[key] = frozenset(error.accepts or error.expected)
    return _ACCEPTED[key]


_VALUE_WORDS = {"a number", "a percentage", "a duration such as `50ms`", "a name", "`(`", "`-`", "`baseline`"}


def _join(items: list[str]) -> str:
    if "`+` or `-`" in items and "`*` or `/`" in items:
        # After a complete value: say what can follow it rather than list every token.
        return "an operator (`+ - * /`), an option such as `vs production`, or the end of the line"
    items = [w for w in items if w != "`rows/s`"] or items
    if {"a number", "a percentage"} <= set(items):
        # An expression is expected: one example says more than seven token names.
        rest = [w for w in items if w not in _VALUE_WORDS]
        items = ["a value such as `0.2`, `5%`, `250ms`, `production*1.1` or `baseline most_frequent`"] + rest
    # Put the most helpful things first: comparisons before punctuation.
    order = sorted(items, key=lambda w: (not w.startswith("a "), w))
    if len(order) > 6:
        order = order[:6] + ["…"]
    if len(order) == 1:
        return order[0]
    return ", ".join(order[:-1]) + " or " + order[-1]


__all__ = ["parse", "parser", "grammar_text", "LogicalLine", "ParseError"]
