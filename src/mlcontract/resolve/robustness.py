"""Robustness checks: `[MODEL] handles CASE [in FEATURES] [from "FILE"]`, one check per case and
selected feature."""
from __future__ import annotations

from ..language import ast
from ..language.diagnostics import did_you_mean
from ..sources.files import resolve_path
from ..statistics.base import ANY_TYPE, CATEGORICAL, NUMERIC
from .contract import CheckKind, Holds
from .features import expand
from .scope import Scope


def handles_check(scope: Scope, node: ast.HandlesCheck) -> None:
    from ..models.images import IMAGE_CASES  # model modules load with the checks that use them (start-up)
    from ..models.serving import ROBUSTNESS_CASES, ROBUSTNESS_OPTIONS, robustness_measure

    model = scope.model(node.model, node.span)
    case = " ".join(w.id for w in node.case)
    if case not in ROBUSTNESS_CASES:
        scope.fail(node.case[0].span, f"unknown robustness case `{case}`",
                   did_you_mean(case, ROBUSTNESS_CASES) or "one of: " + ", ".join(ROBUSTNESS_CASES))
    variants = null_variants(scope, node, case) or image_sizes(scope, node, case)
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
    if case in IMAGE_CASES:
        selector = image_columns(scope, node, case, dataset)
    expanded = list(expand(scope, selector, dataset, accepts, f"handles {case}"))
    for column, _, problem, from_group in expanded:
        measure = robustness_measure(model, case, column, dataset, None, seed, base_rows, variants)
        scope.add(node, CheckKind.ROBUSTNESS, model, column, f"handles {case}", measure, Holds(), problem,
                  from_selector=from_group or len(expanded) > 1)


def null_variants(scope: Scope, node: ast.HandlesCheck, case: str) -> tuple[str, ...]:
    """`handles nulls as nan, none, missing key`: the chosen forms of a null, in order."""
    from ..models.serving import NULL_VARIANTS

    if not node.variants:
        return ()
    if case != "nulls":
        first, last = node.variants[0].span, node.variants[-1].span
        scope.fail(node.variants[0].span if first == last else _join(first, last),
                   f"`as` chooses the variants of `handles nulls`, not of `handles {case}`",
                   "e.g. `handles nulls as nan, missing key in age`")
    chosen: list[str] = []
    for variant in node.variants:
        name = " ".join(w.id for w in variant.words)
        if name not in NULL_VARIANTS:
            scope.fail(variant.span, f"unknown null variant `{name}`",
                       did_you_mean(name, NULL_VARIANTS) or "one of: " + ", ".join(NULL_VARIANTS))
        if name in chosen:
            scope.fail(variant.span, f"the variant `{name}` is given twice")
        chosen.append(name)
    return tuple(chosen)


def _join(first, last):
    from ..language.source import Span

    return Span(first.line, first.column, last.end_line, last.end_column, first.start, last.end)


def image_sizes(scope: Scope, node: ast.HandlesCheck, case: str) -> tuple[str, ...]:
    """`handles image sizes 8x8, 224x224`: the sizes as "WxH" texts, checked."""
    from ..models.images import MAX_SIDE

    if node.sizes and case != "image sizes":
        scope.fail(_join(node.sizes[0].span, node.sizes[-1].span), f"sizes belong to `handles image sizes`, not to "
                   f"`handles {case}`", "e.g. `handles image sizes 8x8, 224x224`")
    if case != "image sizes":
        return ()
    if not node.sizes:
        scope.fail(_join(node.case[0].span, node.case[-1].span), "`handles image sizes` needs the sizes to send",
                   "e.g. `handles image sizes 8x8, 224x224, 1024x768` (width x height, in pixels)")
    sizes: list[str] = []
    for size in node.sizes:
        text = f"{size.width}x{size.height}"
        if min(size.width, size.height) < 1 or max(size.width, size.height) > MAX_SIDE:
            shown = text if max(size.width, size.height) < 10**9 else "a side of a billion pixels or more"
            scope.fail(size.span, f"an image size is 1x1 to {MAX_SIDE}x{MAX_SIDE} pixels, not {shown}")
        if text in sizes:
            scope.fail(size.span, f"the size {text} is given twice")
        sizes.append(text)
    return tuple(sizes)


def image_columns(scope: Scope, node: ast.HandlesCheck, case: str, dataset: str) -> ast.Selector:
    """The columns of images an image case changes: those named (each must hold images), else
    every image column of the dataset (there must be one)."""
    from ..models.images import is_image_type

    schema = scope.schemas.get(dataset)
    everything = ast.Selector((ast.GroupItem("*", span=node.span),), span=node.span)
    if schema is None:  # unreadable: expand() makes the checks errors
        return node.selector or everything
    hint = "a column of images holds nested lists or arrays of pixel values, height × width [× channels]"
    if node.selector is None:
        found = [c for c in schema if is_image_type(schema[c][1]) and c != scope.label and c not in scope.ignored]
        if not found:
            scope.fail(node.span, f"`handles {case}` needs a column of images; dataset `{dataset}` has none", hint)
        return ast.Selector(tuple(ast.ColumnItem(ast.Name(c, span=node.span), span=node.span) for c in found),
                            span=node.span)
    for item in node.selector.items:
        if isinstance(item, ast.ColumnItem) and item.name.id in schema and not is_image_type(schema[item.name.id][1]):
            scope.fail(item.name.span, f"`handles {case}` needs a column of images; `{item.name.id}` is "
                       f"{schema[item.name.id][1]}", hint)
    return node.selector
