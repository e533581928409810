"""Contract text: names, strings and numbers written so that the grammar reads them back as they
were meant (a column with a space is quoted, a bound rounded *outward*, no exponent in a
percentage), and comment text. The numbers a comment *shows* (today's value, the halves')
go through report/formatting.py in writer.py, as every number a report prints.
"""
from __future__ import annotations

import json
import math
import re
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import lru_cache
from pathlib import Path

from ..escape import printable

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_LITERAL = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"i?')


@lru_cache(maxsize=1)
def keywords() -> frozenset[str]:
    """The words of the grammar (every quoted word in grammar/mlcontract.lark, lower-cased): a
    column named like one is written quoted, whatever the grammar adds later."""
    from ..language.parse import grammar_text

    return frozenset(word.lower() for word in _WORD_LITERAL.findall(grammar_text()))


def writable(column: str) -> bool:
    """Whether a contract can name the column (a backquoted name cannot hold a backquote)."""
    return "`" not in column and column.isprintable() and bool(column.strip())


def column(name: str) -> str:
    return name if _PLAIN_NAME.fullmatch(name) and name.lower() not in keywords() else f"`{name}`"


def string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def source_format(path: Path) -> str:
    from ..sources import format_of_path

    return format_of_path(path)


def comment(text: object) -> str:
    """Text for a comment: one line, no control characters."""
    return printable(" ".join(str(text).split()), None)


def round_up(x: float, digits: int = 2) -> str:
    """x rounded up to `digits` significant digits, written without an exponent."""
    if x <= 0:
        return "0"
    exponent = math.floor(math.log10(x)) - digits + 1
    return format(Decimal(repr(x)).quantize(Decimal(1).scaleb(exponent), rounding=ROUND_CEILING).normalize(), "f")


def round_down(x: float, places: int = 3) -> str:
    return format(Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_FLOOR), "f")


def percent_up(share: float) -> str:
    """A share as a contract's percentage, rounded up: a bound never tighter than computed."""
    return round_up(share * 100) + "%"


def exact(value: float | int) -> str:
    """A data value exactly, as a contract literal (ints as ints; no exponent, which the grammar
    refuses in a percentage)."""
    if isinstance(value, int):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(Decimal(repr(float(value))), "f")
