"""The one error hierarchy of mlcontract.

Two families, because they end differently:
- `ContractError` carries located `Diagnostic`s: the contract (or the command line) is wrong;
  the CLI renders them and exits 2.
- `CheckError` is raised while computing a statistic, a metric or a model call: the check that
  needed it becomes an `error` result (which blocks, like a failure); the run goes on.
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

    @staticmethod
    def point(line: int, column: int, offset: int) -> "Span":
        return Span(line, column, line, column + 1, offset, offset + 1)


@dataclass(frozen=True)
class Diagnostic:
    span: Span | None
    message: str
    hint: str | None = None
    severity: str = "error"
    expected: tuple[str, ...] = ()  # for syntax errors: what the parser could have accepted


class MlcError(Exception):
    """Base of every error mlcontract raises on purpose."""


class ContractError(MlcError):
    """The contract is malformed or inconsistent; holds every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic], source: "SourceText | None" = None):
        self.diagnostics = list(diagnostics)
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        from .diagnostics import render_all

        return render_all(self.diagnostics, self.source)


class ParseError(ContractError):
    """Syntax errors, translated from Lark at the parse boundary (one diagnostic per line)."""


class UsageError(MlcError):
    """The command line or an API call is invalid (exit code 2)."""


class CheckError(MlcError):
    """A statistic, metric or model call could not be computed; its checks become `error`."""


class DataError(CheckError):
    """A dataset could not be read, or lacks what a check needs."""


class ModelError(CheckError):
    """A model could not be loaded or raised when called."""


class NotYetSupported(CheckError):
    """The contract is valid, but this build cannot execute that kind of check."""


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
