"""Stage 1 — parse: contract text → Lark tree, with Lark's errors translated to ours.

The whole text is parsed in one go. Only when that fails is it parsed again one logical line
at a time, so that every syntax error in the file is reported in one run (statements never
span lines, except with an explicit trailing backslash).

The parser's LALR tables are generated ahead of time into `parser_tables.py` (Python literals,
written by `python setup.py parser_tables` and again by every build), because building them
from the grammar takes ~0.1 s of every start-up. They are used only when they were generated
from this very grammar, with these options and this Lark version; otherwise the parser is
built from the grammar: stale tables are never used.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import ModuleType

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
    "DATETIME": "a date such as `2026-01-31`",
    "SIZE": "an image size such as `224x224`",
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


# How the grammar is compiled (LALR, contextual lexer; spans need positions). The generated
# tables record these options: tables generated with others are stale.
PARSER_OPTIONS = {"parser": "lalr", "lexer": "contextual", "propagate_positions": True, "maybe_placeholders": True}
TABLES_MODULE = "parser_tables.py"  # beside this module


@lru_cache(maxsize=1)
def parser() -> lark.Lark:
    """The contract parser: from the generated tables when they are current, else built from
    the grammar (the same parser, ~0.1 s slower)."""
    grammar = grammar_text()
    tables = current_tables(grammar)
    if tables is None:
        return build_parser(grammar)
    # Lark's own loader of its serialized form (what its standalone parsers use): plain data, no pickle.
    return lark.Lark._load_from_dict(tables.DATA, tables.MEMO)


def build_parser(grammar: str) -> lark.Lark:
    """The parser built from the grammar's text (no cache: Lark's cache is a pickle in the
    temporary folder, which anybody on the machine can write)."""
    return lark.Lark(grammar, **PARSER_OPTIONS)


def grammar_sha256(grammar: str) -> str:
    return hashlib.sha256(grammar.encode("utf-8")).hexdigest()


def current_tables(grammar: str) -> ModuleType | None:
    """The generated tables module when it was generated from `grammar` with PARSER_OPTIONS by
    the Lark version installed now; None when it is missing or stale."""
    try:
        from . import parser_tables as tables
    except ImportError:
        return None
    made_from = (getattr(tables, "GRAMMAR_SHA256", None), getattr(tables, "LARK_VERSION", None),
                 getattr(tables, "OPTIONS", None))
    if made_from != (grammar_sha256(grammar), lark.__version__, PARSER_OPTIONS):
        return None
    return tables


def tables_source(grammar: str) -> str:
    """The text of parser_tables.py for `grammar`: the LALR tables, terminals and rules in Lark's
    serialized form (`Lark.memo_serialize`), as Python literals, with what they were made from.
    Equivalent tables may number their states differently from one run to the next (Lark
    iterates sets): compare parsers by the trees they build, not by this text."""
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    data, memo = build_parser(grammar).memo_serialize([TerminalDef, Rule])
    return (
        '"""Generated from grammar/mlcontract.lark by mlcontract.language.parse.tables_source (run\n'
        "`python setup.py parser_tables` after editing the grammar; builds regenerate it). Do not\n"
        'edit: a grammar, options or Lark version other than the ones below makes parse.py ignore it."""\n'
        "# ruff: noqa\n"
        f"GRAMMAR_SHA256 = {grammar_sha256(grammar)!r}\n"
        f"LARK_VERSION = {lark.__version__!r}\n"
        f"OPTIONS = {PARSER_OPTIONS!r}\n"
        f"DATA = {data!r}\n"
        f"MEMO = {memo!r}\n"
    )


def write_tables(target: Path | None = None, grammar: str | None = None) -> Path:
    """Write parser_tables.py (default: beside this module) for `grammar` (default: the one
    grammar_text() reads)."""
    target = target or Path(__file__).with_name(TABLES_MODULE)
    target.write_text(tables_source(grammar if grammar is not None else grammar_text()), encoding="utf-8")
    return target


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
    advice = _advice(error, logical)
    if advice:
        hint = f"{hint}; {advice}" if hint and advice.startswith("the check's") else advice
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


_SPACED_DURATION = re.compile(r"\d(\.\d+)?[ \t]+(d|days?|h|hours?|min|minutes?|s|secs?|seconds?|ms|us)[ \t]*$")
_WHERE = re.compile(r"(^|[ \t])where[ \t]")


def _advice(error: UnexpectedInput, logical: LogicalLine) -> str | None:
    """A hint for a mistake the expected tokens alone do not explain, recognised in the text of
    the statement up to the error."""
    stop = error.pos_in_stream if error.pos_in_stream is not None else len(logical.text)
    before = logical.text[:stop]
    statement = before[before.rfind("\n") + 1:]  # the physical line up to the error
    kind = getattr(getattr(error, "token", None), "type", None)
    if _SPACED_DURATION.search(statement):
        return "write a duration as one word: `1d`, `12h`, `30min`, `250ms`"
    where = _WHERE.search(statement)
    condition = statement[where.end():] if where else ""
    if condition and kind == "COMPARATOR" and condition.count("(") == condition.count(")"):
        return ("comparisons in a `where` condition do not chain: write `0 < age and age < 120`; "
                "the check's own comparison comes once, after the condition")
    if where and kind in ("_NL", "$END") and "COMPARATOR" in _accepted_names(error):
        return "the check's own comparison follows the condition, as in `training rows where age < 0 == 0`"
    first = statement.split(None, 1)[:1]
    if first == ["metrics"] and "=" not in statement and "(" in logical.text[stop:stop + 200] + statement:
        return 'declare a metrics source as `metrics monitoring = json("monitoring/prod.json")`'
    return None


def _accepted_names(error: UnexpectedInput) -> frozenset:
    if isinstance(error, (UnexpectedToken, UnexpectedCharacters)) and getattr(error, "interactive_parser", None):
        return _accepted(error)
    return frozenset()


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
    names: set[str] | frozenset[str] = set(getattr(error, "expected", None) or getattr(error, "allowed", None) or ())
    if isinstance(error, (UnexpectedToken, UnexpectedCharacters)) and getattr(error, "interactive_parser", None):
        # What the parser accepts here; a character error's own `allowed` is what the lexer of a
        # parser state shared by several rules accepts, a wider and misleading set.
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


def _accepted(error: UnexpectedToken | UnexpectedCharacters) -> frozenset:
    """The terminals that would have advanced the parser. Lark finds them by feeding each
    candidate to a copy of the parser (~0.3 ms); the parser's state stack alone decides the
    answer, so it is cached by that stack: a file with thousands of the same mistake pays once."""
    interactive = error.interactive_parser
    fallback = getattr(error, "expected", None) or getattr(error, "allowed", None) or ()
    if interactive is None:
        return frozenset(fallback)
    key = tuple(interactive.parser_state.state_stack)
    if key not in _ACCEPTED:
        if len(_ACCEPTED) > 10_000:
            _ACCEPTED.clear()
        accepts = error.accepts if isinstance(error, UnexpectedToken) else interactive.accepts()
        _ACCEPTED[key] = frozenset(accepts or fallback)
    return _ACCEPTED[key]


_VALUE_WORDS = {"a number", "a percentage", "a duration such as `50ms`", "a name", "`(`", "`-`", "`baseline`"}
_STRING = 'a quoted string such as "data/train.parquet"'
_DATE = "a date such as `2026-01-31`"
_LITERAL_WORDS = {_STRING, _DATE, "`true`", "`false`", "`null`"}
_OPERAND_WORDS = _VALUE_WORDS | _LITERAL_WORDS | {"a `quoted name`"}
_EXPRESSION = "a value such as `0.2`, `5%`, `250ms`, `production*1.1` or `baseline most_frequent`"
_LITERAL = 'a value such as `"basic"`, `3`, `-1.5`, `true`, `null` or `2026-01-31`'
_OPERAND = 'a column or a value such as `age`, `0`, `"US"`, `true`, `null` or `2026-01-31`'
_CONDITION = 'a condition such as `age < 0`, `country in ("US", "CA")` or `email is null`'
# Keywords of the rarer forms (issue 13): named only when nothing more common can follow, so the
# hint for a common mistake stays short. `metrics` and `missing` are also names where a name is.
_RARE = {"`where`", "`include`", "`exclude`", "`shares`", "`length`", "`type`", "`matches`", "`count`",
         "`as`", "`up`", "`strictly`", "`unique`", "`metrics`", "`missing`", "`[`", "`{`"}


def _join(items: list[str]) -> str:
    present = set(items)
    if "`+` or `-`" in present and "`*` or `/`" in present and "the end of the line" in present:
        # After a complete value: say what can follow it rather than list every token.
        return "an operator (`+ - * /`), an option such as `vs production`, or the end of the line"
    items = [w for w in items if w != "`rows/s`"] or items
    items = _values_in_words(items)
    if "a name" in items:  # `metrics` and `missing` are names there too
        items = [w for w in items if w not in ("`metrics`", "`missing`")]
    if "`+` or `-`" in items and "`*` or `/`" in items:  # inside an expression or a condition
        items = [w for w in items if w not in ("`+` or `-`", "`*` or `/`")] + ["an operator (`+ - * /`)"]
    rare = set(items) & _RARE
    if "`matches`" in items:  # after a feature's columns: the value tests are the rarer forms
        rare |= set(items) & {"`in`", "`not`", "`is`"}
    if "`-`" in items and "`,`" not in items:  # after a measure: `(` opens a key such as `(a, b)`
        rare |= set(items) & {"`(`"}
    if len(set(items) - rare) >= 2:
        items = [w for w in items if w not in rare]
    # Put the most helpful things first: comparisons before punctuation.
    order = sorted(items, key=lambda w: (not w.startswith(("a ", "an ")), w))
    if len(order) > 6:
        order = order[:6] + ["…"]
    if len(order) == 1:
        return order[0]
    return ", ".join(order[:-1]) + " or " + order[-1]


def _values_in_words(items: list[str]) -> list[str]:
    """Where a value is expected, one example says more than seven token names; which example
    depends on what the place accepts: a condition, a column or literal inside one, a right-hand
    side (names and `baseline` too), a literal of a set, list or map, or an option's value."""
    present = set(items)
    if not {"a number", "a percentage"} <= present:
        return items
    if "a `quoted name`" in present:
        phrase = _CONDITION if "`not`" in present else _OPERAND
        return [phrase] + [w for w in items if w not in _OPERAND_WORDS and w != "`not`"]
    if "`baseline`" in present:
        return [_EXPRESSION] + [w for w in items if w not in _VALUE_WORDS | _LITERAL_WORDS]
    if "`true`" in present:
        return [_LITERAL] + [w for w in items if w not in _VALUE_WORDS | _LITERAL_WORDS]
    return [_EXPRESSION] + [w for w in items if w not in _VALUE_WORDS and w != _DATE]


__all__ = ["parse", "parser", "build_parser", "grammar_text", "LogicalLine", "ParseError"]
