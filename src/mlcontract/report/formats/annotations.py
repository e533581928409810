"""GitHub Actions annotations: a failure shows on the pull request's diff, at the contract line.

One workflow command per check that did not pass, written to stdout where the runner reads
them (`mlc check` writes them when GITHUB_ACTIONS=true, or with `--annotations github`):

    ::error file=contracts/churn.mlc,line=18,col=1,endColumn=35,title=mlc failed%3A feature age psi < 0.2 vs pr\
    oduction::psi 0.31 is not < 0.2      (one line)

`::error` for a failed check or one that could not run, `::warning` for a warning (`::error`
when `--fail-on warn` makes warnings block). Escaped per GitHub's rules (actions/toolkit,
command.ts): in the message `%` → %25, CR → %0D, LF → %0A; in the properties also `:` → %3A
and `,` → %2C. Every other control character is escaped as text (escape.printable), so
nothing from the data can end the command early or start another one.

The file is the contract's path as given to `mlc check`, made relative to GITHUB_WORKSPACE
when it lies inside it (GitHub matches annotations to the repository's paths).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ...escape import MESSAGE_LIMIT, printable
from .. import ReportContext, ReportFormat, Target, emit
from ..formatting import STATUS_WORDS, check_label, problems_first

if TYPE_CHECKING:
    from ..results import RunResult

TITLE_LIMIT = 200


def write(result: RunResult, target: Target, context: ReportContext) -> None:
    emit(render(result, context), target, FORMAT.flag)


def render(result: RunResult, context: ReportContext) -> str:
    file = workspace_path(context.contract_path or result.path or "")
    lines = []
    for check in problems_first(result):
        if check.status == "pass":
            continue
        command = "error" if result.blocks(check) else "warning"
        properties = {"file": file, "line": str(check.line)}
        if check.column is not None:
            properties["col"] = str(check.column)
            if check.end_column is not None and check.end_column > check.column:
                properties["endColumn"] = str(check.end_column - 1)  # GitHub's is the last column, ours is past it
        properties["title"] = f"mlc {STATUS_WORDS[check.status]}: {check_label(check)}"
        shown = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items() if value)
        lines.append(f"::{command} {shown}::{escape_data(check.message)}\n")
    return "".join(lines)


_DATA = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A"})
_PROPERTY = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A", ":": "%3A", ",": "%2C"})
_LINE_BREAK = re.compile(r"(\r|\n)")


def escape_data(text: str, limit: int = MESSAGE_LIMIT) -> str:
    return _escaped(text, limit, _DATA)


def escape_property(text: str, limit: int = TITLE_LIMIT) -> str:
    return _escaped(text, limit, _PROPERTY)


def _escaped(text: str, limit: int, table: dict) -> str:
    if len(text) > limit:
        text = text[:limit] + f"… ({len(text) - limit:,} more characters)"
    # Controls other than CR/LF become visible escapes (`\x1b`, escape.printable); CR and LF
    # stay line breaks of the annotation, in GitHub's own escaping (%0D, %0A).
    pieces = _LINE_BREAK.split(text)
    return "".join(piece if i % 2 else printable(piece, None) for i, piece in enumerate(pieces)).translate(table)


def workspace_path(path: str) -> str:
    """The contract's path as GitHub names repository files: relative to GITHUB_WORKSPACE when
    inside it, with forward slashes."""
    if not path:
        return ""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    candidate = Path(path)
    if workspace:
        try:
            candidate = Path(os.path.abspath(path)).relative_to(os.path.abspath(workspace))
        except ValueError:
            pass
    return candidate.as_posix()


def _choose(value: str, flag: str) -> Target | None:
    """`github`: the workflow commands go to stdout (where the runner reads them); `auto`: so
    when GITHUB_ACTIONS=true; `none`: never."""
    import sys

    from ...errors import UsageError

    if value not in ("auto", "github", "none"):
        raise UsageError(f"{flag} takes auto, github or none, not {value!r}")
    wanted = value == "github" or (value == "auto" and os.environ.get("GITHUB_ACTIONS") == "true")
    return sys.stdout if wanted else None


FORMAT = ReportFormat(
    name="annotations", flag="--annotations", metavar="auto|github|none",
    help="GitHub Actions annotations on the contract lines, on stdout (auto: when GITHUB_ACTIONS=true)",
    write=write, default="auto", choose=_choose, order=80,
)
