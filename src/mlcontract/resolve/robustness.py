"""Robustness checks: `[MODEL] handles CASE [in FEATURES] [from "FILE"]`, one check per case and
selected feature."""
from __future__ import annotations

from ..language import ast
from ..language.diagnostics import did_you_mean
from ..models.serving import ROBUSTNESS_CASES, ROBUSTNESS_OPTIONS, robustness_measure
from ..sources.files import resolve_path
from ..statistics.base import ANY_TYPE, CATEGORICAL, NUMERIC
from .contract import CheckKind, Holds
from .features import expand
from .scope import Scope


def handles_check(scope: Scope, node: ast.HandlesCheck) -> None:
    model = scope.model(node.model, node.span)
    case = " ".join(w.id for w in node.case)
    if case not in ROBUSTNESS_CASES:
        scope.fail(node.case[0].span, f"unknown robustness case `{case}`",
                   did_you_mean(case, ROBUSTNESS_CASES) or "one of: " + ", ".join(ROBUSTNESS_CASES))
    options = scope.options(node.options, ROBUSTNESS_OPTIONS, node)
    dataset = scope.dataset(options["on"].value if "on" in options else None, node.span,
                            "dataset to build cases from")
    scope.no_profile(dataset, node.span, "robustness cases")
    seed = int(options["seed"].number) if "seed" in options else 0
    base_rows = int(options["rows"].number) if "rows" in options else 20
    if case == "rows":
        if node.path is None:
            scope.fail(node.span, "`handles rows` needs a file of rows", 'e.g. `handles rows from "edge_cases.parquet"`')
        path = resolve_path(scope.base_dir, node.path.value)
        measure = robustness_measure(model, case, None, dataset, str(path), seed, base_rows)
        reason = scope.refusal(path)
        refused = f"rows file: refused to read {node.path.value}: {reason}" if reason else None
        scope.add(node, CheckKind.ROBUSTNESS, model, None, "handles rows", measure, Holds(), refused)
        return
    if node.path is not None:
        scope.fail(node.path.span, f"`from` applies to `handles rows`, not `handles {case}`")
    accepts = {
        "unseen categories": frozenset({CATEGORICAL}),
        "empty strings": frozenset({CATEGORICAL}),
        "long text": frozenset({CATEGORICAL}),
        "out_of_range": frozenset({NUMERIC}),
    }.get(case, ANY_TYPE)
    selector = node.selector or ast.Selector((ast.GroupItem("*", span=node.span),), span=node.span)
    expanded = list(expand(scope, selector, dataset, accepts, f"handles {case}"))
    for column, _, problem, from_group in expanded:
        measure = robustness_measure(model, case, column, dataset, None, seed, base_rows)
        scope.add(node, CheckKind.ROBUSTNESS, model, column, f"handles {case}", measure, Holds(), problem,
                  from_selector=from_group or len(expanded) > 1)
