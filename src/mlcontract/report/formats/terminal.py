"""The terminal report: results → a rich table (JSON comes from results.RunResult).

Checks are grouped by kind, each with a status mark, the observed value, the threshold and the
contract line (with the feature, for lines that select several); a check that did not pass
gets its message underneath. A summary line ends the report. Rich is imported here and in the
CLI only.

Everything shown that came from the contract, the data or a model (the contract's name, the
check's line, feature names, messages quoting values or server answers) goes through
escape.printable: no control character, ANSI escape or workflow command reaches the log.
"""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ...escape import MESSAGE_LIMIT, printable
from ...evaluate import fmt, fmt_duration
from ._shared import GROUPS, check_label, summary_words

if TYPE_CHECKING:
    from ...results import CheckResult, RunResult

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


def render(result: RunResult, console: Console, verbose: bool = False) -> None:
    title = printable(result.contract or (result.path or "contract"))
    console.print(Text.assemble(("mlc check ", "bold"), (title, "bold cyan")))
    per_line = Counter(c.line for c in result.checks)
    for kind, heading in GROUPS:
        checks = [c for c in result.checks if c.kind == kind]
        passes = sum(c.status == "pass" for c in checks)
        unlisted = not verbose and passes > LISTED_PASSES
        listed = [c for c in checks if c.status != "pass"] if unlisted else checks
        if listed:
            console.print(_table(heading, listed, verbose, per_line))
        elif checks:
            console.print(Text(heading, style="bold"))
        if unlisted:
            console.print(Text(f"{passes:,} passing checks not listed (mlc check --verbose lists them)", style="dim"))
    console.print(summary_line(result))


def _table(heading: str, checks: list[CheckResult], verbose: bool, per_line: Counter) -> Table:
    table = Table(title=heading, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
                  expand=False, pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("line", justify="right", style="dim", no_wrap=True)
    table.add_column("check", overflow="fold", ratio=1)
    table.add_column("observed", justify="right", no_wrap=True)
    table.add_column("threshold", justify="right", no_wrap=True)
    for check in checks:
        mark, style = MARKS[check.status]
        label = Text(printable(check_label(check, per_line[check.line]), LABEL_LIMIT))
        if check.status != "pass" or verbose:
            label.append("\n" + printable(check.message, MESSAGE_LIMIT), style=style if check.status != "pass" else "dim")
        show = fmt_duration if check.kind == "latency" and check.statistic != "throughput" else fmt
        threshold = "" if check.threshold is None else f"{check.comparator} {show(check.threshold)}"
        table.add_row(Text(mark, style=style), str(check.line), label, show(check.value), threshold)
    return table


def summary_line(result: RunResult) -> Text:
    verdict = ("PASS", "bold green") if result.passed else ("FAIL", "bold red")
    return Text.assemble(("gate ", "bold"), verdict, (f"  {summary_words(result)} in {result.seconds:.2f}s", ""))
