"""`mlc plan`: the execution plan, printed the way EXPLAIN prints a query plan.

The text names what the contract and the data named (paths, datasets, columns, the checks'
lines, why a check will be an error): each part is escaped (escape.printable) before it is laid
out, and the JSON is written so that a log reading it finds no workflow command."""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..escape import MESSAGE_LIMIT, log_safe_json, printable
from . import Plan


def _source_text(plan: Plan, dataset: str) -> str:
    source = plan.contract.datasets[dataset]
    if source.path is None:
        return source.describe()
    try:
        shown = os.path.relpath(source.path, plan.contract.base_dir)
    except ValueError:
        shown = str(source.path)
    return f"{source.format}({Path(shown).as_posix()})" + (source.name[len(source.base):] if source.base else "")


def _lines(plan: Plan, request) -> list[int]:
    checks = plan.contract.checks
    return sorted({checks[i].line for i in plan.consumers.get(request, [])})


def plan_text(plan: Plan) -> str:
    contract = plan.contract
    title = printable(contract.name or (contract.path.name if contract.path else "contract"))
    n_requests = len(plan.requests)
    n_views = sum(len(scan.views) for scan in plan.scans)
    out = [f"plan for {title}: {_count(len(contract.checks), 'check')} need{'s' if len(contract.checks) == 1 else ''} "
           f"{_count(n_requests, 'statistic')} in {_count(len(plan.scans), 'scan')}"
           + (f" ({_count(n_views, 'view')} derived from their rows)" if n_views else "")]
    for number, scan in enumerate(plan.scans, start=1):
        out.append("")
        source = printable(_source_text(plan, scan.dataset))
        out.append(f"scan {number}  {printable(scan.dataset)}  {source}  {_MODES[scan.mode]}")
        columns = ", ".join(printable(c) for c in scan.columns) if scan.columns else "(row count only)"
        out.append(f"  read columns: {columns}")
        out.extend(_request_lines(plan, [r for r in scan.requests if r.dataset == scan.dataset]))
        for view in scan.views:  # computed from the rows this scan read, not read again
            out.append(f"  view {printable(view)}  (from the rows read)")
            out.extend("  " + line for line in _request_lines(plan, [r for r in scan.requests if r.dataset == view]))
    if plan.other:
        out.append("")
        out.append("model and history work")
        out.extend(_request_lines(plan, plan.other))
    unplanned = [c for c in contract.checks if c.bind_error]
    if unplanned:
        out.append("")
        out.append("checks that will be errors")
        for check in unplanned:
            out.append(f"  line {check.line}: {printable(check.source)}  —  {printable(check.bind_error, MESSAGE_LIMIT)}")
    return "\n".join(out) + "\n"


def _request_lines(plan: Plan, requests) -> list[str]:
    """One line per request, its description (escaped: it names columns and files) aligned."""
    described = [printable(r.describe(), MESSAGE_LIMIT) for r in requests]
    width = max((len(d) for d in described), default=0)
    return [f"  {d:<{width}}  for line {_join(_lines(plan, r))}" for d, r in zip(described, requests)]


def plan_json(plan: Plan) -> str:
    contract = plan.contract

    def entry(request):
        return {"statistic": request.describe(), "dataset": request.dataset, "checks": plan.consumers.get(request, [])}

    document = {
        "contract": contract.name,
        "checks": [
            {"index": c.index, "line": c.line, "source": c.source, "kind": c.kind, "subject": c.subject,
             "feature": c.feature, "statistic": c.statistic, "error": c.bind_error}
            for c in contract.checks
        ],
        "scans": [
            {"stage": s.stage, "dataset": s.dataset, "source": _source_text(plan, s.dataset), "mode": s.mode,
             "columns": s.columns, "views": [{"dataset": v, "source": _source_text(plan, v)} for v in s.views],
             "statistics": [entry(r) for r in s.requests]}
            for s in plan.scans
        ],
        "other": [entry(r) for r in plan.other],
        "statistics": len(plan.requests),
    }
    return log_safe_json(json.dumps(document, indent=2)) + "\n"


_MODES = {
    "memory": "(columns read at once)",
    "stream": "(streamed in batches)",
    "profile": "(served from the profile, no rows read)",
}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _join(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers) if numbers else "-"
