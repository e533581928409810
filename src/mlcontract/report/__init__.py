"""Stages evaluate and report: computed values → results (report.results) → what people and CI
systems read, in every report format at once.

The formats are a registry: each module of report/formats/ defines

    FORMAT = ReportFormat(name="junit", flag="--junit", metavar="OUT.xml", help="...", write=write)

and `report_formats()` finds them (pkgutil over the package; a helper module without FORMAT is
skipped). `mlc check` builds its output options from this registry, so a new report format is
one module and nothing else: no CLI edit. Every format receives the same three things:
`write(result, target, context)` — the RunResult, where to write (a path, written atomically,
or an open text stream) and the ReportContext (the contract, the version, the run's timing).

This package is imported by the measures (plotdata, formatting) and stays light: it imports no
format, no pydantic and no rich until the registry is asked for.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from .results import RunResult

Target = str | Path | TextIO  # a path (written atomically) or an open text stream


@dataclass(frozen=True)
class ReportContext:
    """What a report format may need besides the results."""

    contract_path: str | None = None  # as the invocation gave it (annotations point at it)
    contract_text: str = ""
    version: str = ""
    started_at: str | None = None  # ISO 8601, UTC
    durations: Mapping[str, float] = field(default_factory=dict)  # seconds per stage
    plan: Any = None  # plan.Plan, when the contract was compiled in this process
    verbose: bool = False  # list every check and the message of passing ones too (`--verbose`)
    quiet: bool = False  # the verdict only (`--quiet`)

    @classmethod
    def of(cls, result: RunResult, contract: Any = None, path: str | Path | None = None,
           verbose: bool = False, quiet: bool = False) -> ReportContext:
        """The context of a run of `contract` (an api.Contract), compiled from `path`."""
        return cls(contract_path=str(path) if path is not None else result.path,
                   contract_text=contract.source.text if contract is not None else "",
                   version=result.mlcontract_version, started_at=result.started_at, durations=dict(result.durations),
                   plan=getattr(contract, "plan", None), verbose=verbose, quiet=quiet)

    def line(self, number: int) -> str:
        """The contract's line `number` (1-based), or "" when the text is not known."""
        lines = self.contract_text.split("\n")
        return lines[number - 1] if 0 < number <= len(lines) else ""


@dataclass(frozen=True)
class ReportFormat:
    """One output format of `mlc check`: its option and how it writes."""

    name: str
    flag: str  # the option of `mlc check`, e.g. "--junit"
    metavar: str  # what the option takes, e.g. "OUT.xml"
    help: str
    write: Callable[[RunResult, Target, ReportContext], None]
    # The option's value when it is not given: None (the format is not written), or e.g. "-"
    # (the terminal report goes to stdout unless told otherwise).
    default: str | None = None
    # The option's value → the target (None: not written); a UsageError for a wrong value, raised
    # before the run. Default: a file path (`-` is stdout), checked by output.check_target.
    choose: Callable[[str, str], Target | None] | None = None
    order: int = 50  # formats are written in this order (stdout ones last, the terminal's verdict at the end)
    # Whether the format shows the checks' plots (details["plot"]): `mlc check` computes them only
    # when a format that does is written (report/plotdata.py).
    plots: bool = False

    def target(self, value: str | None) -> Target | None:
        if value is None:
            return None
        return (self.choose or file_target)(value, self.flag)


def file_target(value: str, flag: str) -> Target:
    """A report file: `-` is stdout, anything else a path that must be able to become a regular
    file (checked now, so a wrong target fails before the run)."""
    if value == "-":
        return sys.stdout
    from ..output import check_target

    return check_target(value, flag)


def emit(text: str, target: Target, flag: str) -> None:
    """Write a report to an open text stream, or to a path atomically (output.write_text: no
    half-written report for the next CI step, no symlink written through, no device)."""
    if not isinstance(target, (str, Path)):
        target.write(text)
        return
    from ..errors import UsageError
    from ..output import write_text

    try:
        write_text(target, text, flag)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot write {target}: {getattr(error, 'strerror', None) or error}") from error


@lru_cache(maxsize=1)
def report_formats() -> dict[str, ReportFormat]:
    """Every report format, by name, in writing order: the FORMAT of each module of
    report/formats/ (a module without one is a helper, skipped)."""
    from . import formats as package

    found: dict[str, ReportFormat] = {}
    flags: dict[str, str] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        entry = getattr(module, "FORMAT", None)
        if entry is None:
            continue
        if not isinstance(entry, ReportFormat):
            raise TypeError(f"{module.__name__}.FORMAT is a {type(entry).__name__}, not a ReportFormat")
        if entry.name in found:
            raise ValueError(f"two report formats are named `{entry.name}`")
        if entry.flag in flags:
            raise ValueError(f"report formats `{flags[entry.flag]}` and `{entry.name}` both claim {entry.flag}")
        found[entry.name] = entry
        flags[entry.flag] = entry.name
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


def write_reports(result: RunResult, targets: Mapping[str, Target | None], context: ReportContext) -> None:
    """Write `result` in every format given a target ({format name: target}), in the registry's
    order; the formats whose target is None are not written."""
    for name, entry in report_formats().items():
        target = targets.get(name)
        if target is not None:
            entry.write(result, target, context)
            if hasattr(target, "flush"):
                target.flush()


def __getattr__(name: str):
    if name == "FORMATS":  # `from mlcontract.report import FORMATS`: the registry, discovered on first use
        return report_formats()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
