"""`mlc check --json OUT.json`: the results as JSON (report.results: the schema, versioned by
`schema_version`; docs/reports.md lists its fields). `--json -` writes it to stdout."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ReportContext, ReportFormat, Target, emit

if TYPE_CHECKING:
    from ..results import RunResult


def write(result: RunResult, target: Target, context: ReportContext) -> None:
    emit(result.to_json() + ("\n" if hasattr(target, "write") else ""), target, FORMAT.flag)


FORMAT = ReportFormat(name="json", flag="--json", metavar="OUT.json",
                      help="also write the results as JSON to this file (`-`: stdout)", write=write, order=10,
                      plots=True)
