"""The terminal report: results → a rich table, on stdout unless `--terminal` says otherwise
(`--terminal report.txt` writes it to a file, without colours; `--terminal none` not at all).

Checks are grouped by kind, each with a status mark, the observed value, the threshold (in the
unit the contract wrote it in) and the contract line (with the feature, for lines that select
several); a check that did not pass gets its message underneath. A summary line ends the
report; `--quiet` prints only that line. Rich is imported when a report is drawn, not when the
registry lists this format.

Everything shown that came from the contract, the data or a model (the contract's name, the
check's line, feature names, messages quoting values or server answers) goes through
escape.printable: no control character, ANSI escape or workflow command reaches the log.
"""
from __future__ import annotations

import io
import os
import sys
from typing import TYPE_CHECKING, TextIO

from ...escape import MESSAGE_LIMIT, printable
from .. import ReportContext, ReportFormat, Target, emit, file_target
from ..formatting import GROUPS, check_label, observed_text, summary_words, threshold_text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ..results import CheckResult, RunResult

MARKS = {
    "pass": ("✔", "green"),
    "fail": ("✘", "bold red"),
    "warn": ("▲", "yellow"),
    "error": ("!", "bold magenta"),
}


# Past this many passing checks in one group, a report lists the others and counts the passes
# (wide tables × `feature *` selectors make thousands; rich lays out a row in ~0.4 ms).
LISTED_PASSES = 500
LABEL_LIMIT = 600  # a check's contract line (and feature) is cut past this many characters
FILE_WIDTH = 120  # columns of a report written to a file


def write(result: RunResult, target: Target, context: ReportContext) -> None:
    if hasattr(target, "write"):
        if not (context.quiet and _write_plain(result, target)):  # type: ignore[arg-type]
            _draw(result, console(target), context)  # type: ignore[arg-type]
        return
    out = io.StringIO()
    if not (context.quiet and _write_plain(result, out, FILE_WIDTH)):
        _draw(result, console(out, width=FILE_WIDTH), context)
    emit(out.getvalue(), target, FORMAT.flag)


def _write_plain(result: RunResult, stream: TextIO, width: int | None = None) -> bool:
    """`--quiet`'s one line without rich (importing it is ~0.05 s of a one-check `mlc check`),
    when rich would write it as it is: no colours (the stream is no terminal, and nothing in
    the environment makes rich treat it as one) and the line fits the width (no wrapping).
    Returns whether it wrote; otherwise rich draws it."""
    environment = os.environ
    if environment.get("FORCE_COLOR") or environment.get("TTY_COMPATIBLE") == "1" or "IPython" in sys.modules:
        return False
    try:
        if stream.isatty():
            return False
    except ValueError:  # a closed stream: rich handles it
        return False
    line = summary_text(result)
    if not line.isascii() or not line.isprintable() or len(line) > (width or _stream_width()):
        return False
    stream.write(line + "\n")
    return True


def _stream_width() -> int:
    """The width console() gives a stream that is no terminal."""
    return int(os.environ.get("COLUMNS", FILE_WIDTH))


def _draw(result: RunResult, shown: Console, context: ReportContext) -> None:
    if context.quiet:
        shown.print(summary_line(result))
    else:
        render(result, shown, context.verbose)


def console(stream: TextIO, width: int | None = None) -> Console:
    """A rich console on `stream`. CI logs are not terminals: rich would assume 80 columns and
    wrap every contract line, so a stream that is not a terminal gets $COLUMNS (default 120)."""
    from rich.console import Console

    if width is None and not stream.isatty():
        width = _stream_width()
    return Console(file=stream, highlight=False, soft_wrap=False, width=width)


def render(result: RunResult, console: Console, verbose: bool = False) -> None:
    from rich.text import Text

    title = printable(result.contract or (result.path or "contract"))
    console.print(Text.assemble(("mlc check ", "bold"), (title, "bold cyan")))
    for kind, heading in GROUPS:
        checks = [c for c in result.checks if c.kind == kind]
        passes = sum(c.status == "pass" for c in checks)
        unlisted = not verbose and passes > LISTED_PASSES
        listed = [c for c in checks if c.status != "pass"] if unlisted else checks
        if listed:
            console.print(_table(heading, listed, verbose))
        elif checks:
            console.print(Text(heading, style="bold"))
        if unlisted:
            console.print(Text(f"{passes:,} passing checks not listed (mlc check --verbose lists them)", style="dim"))
    console.print(summary_line(result))


def _table(heading: str, checks: list[CheckResult], verbose: bool) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=heading, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
                  expand=False, pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("line", justify="right", style="dim", no_wrap=True)
    table.add_column("check", overflow="fold", ratio=1)
    table.add_column("observed", justify="right", no_wrap=True)
    table.add_column("threshold", justify="right", no_wrap=True)
    for check in checks:
        mark, style = MARKS[check.status]
        label = Text(printable(check_label(check), LABEL_LIMIT))
        if check.status != "pass" or verbose:
            label.append("\n" + printable(check.message, MESSAGE_LIMIT), style=style if check.status != "pass" else "dim")
        observed = observed_text(check) or "—"
        table.add_row(Text(mark, style=style), str(check.line), label, observed, threshold_text(check))
    return table


def summary_line(result: RunResult) -> Text:
    from rich.text import Text

    verdict = ("PASS", "bold green") if result.passed else ("FAIL", "bold red")
    return Text.assemble(("gate ", "bold"), verdict, (_summary_tail(result), ""))


def summary_text(result: RunResult) -> str:
    """The summary line's text (summary_line without its styles)."""
    return f"gate {'PASS' if result.passed else 'FAIL'}{_summary_tail(result)}"


def _summary_tail(result: RunResult) -> str:
    return f"  {summary_words(result)} in {result.seconds:.2f}s"


def _choose(value: str, flag: str) -> Target | None:
    return None if value == "none" else file_target(value, flag)


FORMAT = ReportFormat(
    name="terminal", flag="--terminal", metavar="-|OUT.txt|none",
    help="where the report table goes: `-` the terminal (the default), a file (no colours), or `none`",
    write=write, default="-", choose=_choose, order=90,
)
