"""Where things are in a contract's text: spans, diagnostics and the source text itself.

A leaf module (it imports nothing of mlcontract): every stage points at the contract with these.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A region of the contract source: 1-based line/column, 0-based character offsets."""

    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    end: int


@dataclass(frozen=True)
class Diagnostic:
    span: Span | None
    message: str
    hint: str | None = None
    severity: str = "error"
    expected: tuple[str, ...] = ()  # for syntax errors: what the parser could have accepted


@dataclass
class SourceText:
    """The text of a contract and the name it is reported under."""

    text: str
    path: str = "<contract>"
    lines: list[str] = field(init=False)

    def __post_init__(self) -> None:
        # Split exactly where the parser counts lines (at \n only); str.splitlines() would also
        # split at \f, \v, U+2028, ... and quote the wrong line in every later diagnostic.
        self.lines = [line.rstrip("\r") for line in self.text.split("\n")]

    def line(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""
