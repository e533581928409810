"""`mlc check --markdown OUT.md`: a summary a reviewer reads in a pull-request comment or a
GitHub Actions job summary. `--markdown -` appends it to $GITHUB_STEP_SUMMARY when that is
set (the job summary), else writes it to stdout.

The verdict and the counts, then one table with the problems first (failures, errors,
warnings, each with its message), then the passing checks folded in a <details> block. Long
runs are cut (LISTED rows) to stay within what GitHub shows (a comment holds 65,536
characters, a job summary 1 MiB).

Everything from outside (names, contract lines, messages quoting data) is escaped: control
characters as text (escape.printable), HTML's `<`, `>`, `&` as entities, and the characters
Markdown gives a meaning (`|` ending a table cell, backticks, `*`, `_`, `[`, `]`, `~`, `\\`,
`#`, `!`) with a backslash, so data can neither format the comment nor inject HTML or links;
`@` as an entity, so a value never mentions anyone.
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from ...errors import UsageError
from ...escape import printable
from .. import ReportContext, ReportFormat, Target, emit, file_target
from ..formatting import GROUP_NAMES, check_label, observed_text, problems_first, summary_words, threshold_text

if TYPE_CHECKING:
    from ..results import CheckResult, RunResult

LISTED = 200  # rows listed per table; the rest are counted
CELL_LIMIT = 300
MESSAGE_LIMIT = 500
MARKS = {"pass": "✅", "fail": "❌", "warn": "⚠️", "error": "❗"}
# Markdown's punctuation gets a backslash; HTML's characters and `@` become entities.
_ESCAPES = str.maketrans({**{c: "\\" + c for c in "\\`*_[]~#!|"},
                          "&": "&amp;", "<": "&lt;", ">": "&gt;", "@": "&#64;"})


def write(result: RunResult, target: Target, context: ReportContext) -> None:
    text = render(result, context)
    if target == "-":
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:  # the runner's job-summary file: appended to, as every step does
            try:
                with open(summary, "a", encoding="utf-8") as out:
                    out.write(text + "\n")
            except (OSError, ValueError) as error:
                raise UsageError(f"--markdown -: cannot append to $GITHUB_STEP_SUMMARY ({summary}): "
                                 f"{getattr(error, 'strerror', None) or error}") from error
        else:
            sys.stdout.write(text)
        return
    emit(text, target, FORMAT.flag)


def render(result: RunResult, context: ReportContext) -> str:
    name = escape(result.contract or context.contract_path or result.path or "contract")
    verdict = "✅ PASS" if result.passed else "❌ FAIL"
    lines = [f"### mlc check {name}: {verdict}", "", f"**{summary_words(result)}** in {result.seconds:.2f}s"
             + (" · warnings block the gate (`--fail-on warn`)" if result.fail_on == "warn" else ""), ""]
    ordered = problems_first(result)
    problems = [c for c in ordered if c.status != "pass"]
    passes = [c for c in ordered if c.status == "pass"]
    if problems:
        lines += _table(problems, result, with_message=True)
    if passes:
        lines += ["<details><summary>" + f"{len(passes):,} passing check{'s' if len(passes) != 1 else ''}"
                  + "</summary>", ""]
        lines += _table(passes, result, with_message=False)
        lines += ["</details>", ""]
    path = context.contract_path or result.path
    footer = [f"contract `{_code(path)}`" if path else "",
              f"sha256 `{result.contract_sha256[:12]}`" if result.contract_sha256 else "",
              f"mlcontract {escape(result.mlcontract_version)}"]
    lines.append("<sub>" + " · ".join(part for part in footer if part) + "</sub>")
    return "\n".join(lines) + "\n"


def _table(checks: list[CheckResult], result: RunResult, with_message: bool) -> list[str]:
    header = "| | line | check | group | observed | threshold |" + (" message |" if with_message else "")
    rule = "|---|---:|---|---|---:|---|" + ("---|" if with_message else "")
    rows = [header, rule]
    for check in checks[:LISTED]:
        mark = MARKS[check.status] + (" blocks" if result.blocks(check) and check.status == "warn" else "")
        cells = [mark, str(check.line), escape(check_label(check)), GROUP_NAMES.get(check.kind, check.kind),
                 escape(observed_text(check)), escape(threshold_text(check))]
        if with_message:
            cells.append(escape(check.message, MESSAGE_LIMIT))
        rows.append("| " + " | ".join(cells) + " |")
    if len(checks) > LISTED:
        rows += ["", f"…and {len(checks) - LISTED:,} more (the JSON, JUnit and HTML reports list every check)"]
    return rows + [""]


def escape(value: object, limit: int = CELL_LIMIT) -> str:
    """Outside text made inert in Markdown and in a table cell."""
    return printable(value, limit).translate(_ESCAPES)


def _code(value: str) -> str:
    """Text inside a code span: printable, without backticks (a code span cannot escape them)."""
    return printable(value, CELL_LIMIT).replace("`", "'").replace("|", "\\|")


def _choose(value: str, flag: str) -> Target:
    return value if value == "-" else file_target(value, flag)  # `-`: the job summary, decided when written


FORMAT = ReportFormat(
    name="markdown", flag="--markdown", metavar="OUT.md|-",
    help="also write a Markdown summary (`-`: appended to the GitHub job summary, $GITHUB_STEP_SUMMARY, else stdout)",
    write=write, choose=_choose, order=30,
)
