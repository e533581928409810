"""The one error hierarchy of mlcontract.

Two families, because they end differently:
- `ContractError` carries located `Diagnostic`s: the contract (or the command line) is wrong;
  the CLI renders them and exits 2.
- `CheckError` is raised while computing a statistic, a metric or a model call: the check that
  needed it becomes an `error` result (which blocks, like a failure); the run goes on.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .language.source import Diagnostic, SourceText


class MlcError(Exception):
    """Base of every error mlcontract raises on purpose."""


class ContractError(MlcError):
    """The contract is malformed or inconsistent; holds every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic], source: SourceText | None = None):
        self.diagnostics = list(diagnostics)
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        from .language.diagnostics import render_all

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
