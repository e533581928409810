"""`mlc plan`: the execution plan, printed the way EXPLAIN prints a query plan."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .plan import Plan


def _source_text(plan: Plan, dataset: str) -> str:
    source = plan.contract.datasets[dataset]
    if source.path is None:
        return source.describe()
    try:
        shown = os.path.relpath(source.path, plan.contract.base_dir)
    except ValueError:
        shown = str(source.path)
    return f"{source.kind}({Path(shown).as_posix()})"


def _lines(plan: Plan, request) -> list[int]:
    checks = plan.contract.checks
    return sorted({checks[i].line for i in plan.consumers.get(request, [])})


def plan_text(plan: Plan) -> str:
    contract = plan.contract
    title = contract.name or (contract.path.name if contract.path else "contract")
    n_requests = len(plan.requests)
    out = [f"plan for {title}: {_count(len(contract.checks), 'check')} need{'s' if len(contract.checks) == 1 else ''} "
           f"{_count(n_requests, 'statistic')} in {_count(len(plan.scans), 'scan')}"]
    for number, scan in enumerate(plan.scans, start=1):
        out.append("")
        out.append(f"scan {number}  {scan.dataset}  {_source_text(plan, scan.dataset)}  {_MODES[scan.mode]}")
        out.append(f"  read columns: {', '.join(scan.columns) if scan.columns else '(row count only)'}")
        width = max((len(r.describe()) for r in scan.requests), default=0)
        for request in scan.requests:
            out.append(f"  {request.describe():<{width}}  for line {_join(_lines(plan, request))}")
    if plan.other:
        out.append("")
        out.append("model and history work")
        width = max(len(r.describe()) for r in plan.other)
        for request in plan.other:
            out.append(f"  {request.describe():<{width}}  for line {_join(_lines(plan, request))}")
    unplanned = [c for c in contract.checks if c.bind_error]
    if unplanned:
        out.append("")
        out.append("checks that will be errors")
        for check in unplanned:
            out.append(f"  line {check.line}: {check.source}  —  {check.bind_error}")
    return "\n".join(out) + "\n"


def plan_json(plan: Plan) -> str:
    contract = plan.contract

    def entry(request):
        return {"statistic": request.describe(), "checks": plan.consumers.get(request, [])}

    document = {
        "contract": contract.name,
        "checks": [
            {"index": c.index, "line": c.line, "source": c.source, "kind": c.kind, "subject": c.subject,
             "feature": c.feature, "statistic": c.statistic, "error": c.bind_error}
            for c in contract.checks
        ],
        "scans": [
            {"stage": s.stage, "dataset": s.dataset, "source": _source_text(plan, s.dataset), "mode": s.mode,
             "columns": s.columns, "statistics": [entry(r) for r in s.requests]}
            for s in plan.scans
        ],
        "other": [entry(r) for r in plan.other],
        "statistics": len(plan.requests),
    }
    return json.dumps(document, indent=2) + "\n"


_MODES = {
    "memory": "(columns read at once)",
    "stream": "(streamed in batches)",
    "profile": "(served from the profile, no rows read)",
}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _join(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers) if numbers else "-"
