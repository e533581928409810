"""Feature checks (`feature SELECTOR STATISTIC ...`, `feature SELECTOR between LO and HI`),
selector expansion against a dataset's schema, and schema checks (`schema of A matches B`)."""
from __future__ import annotations

from typing import Any, NamedTuple

from ..language import ast
from ..language.diagnostics import did_you_mean
from ..plan import measures as ms
from ..sources import holds_summaries
from ..statistics import CATALOG, statistic
from ..statistics.base import CATEGORICAL, NUMERIC, OTHER
from ..statistics.quantiles import quantile_of
from .conditions import data_view, length_columns
from .contract import CheckKind, Holds, InRange, measures_in
from .expressions import compare, display_unit
from .scope import Scope, column_ref


def feature_check(scope: Scope, node: ast.FeatureCheck) -> None:
    declared = scope.dataset(node.subject, node.span)
    if node.length is not None:
        length_columns(scope, node.selector, declared)
    subject = data_view(scope, declared, node)
    options = scope.options(node.options, frozenset({"vs", "bins"}), node)
    vs_name = node.vs
    if "vs" in options:
        if vs_name is not None:
            scope.fail(options["vs"].span, "`vs` is given twice")
        vs_name = options["vs"].value
    reference = data_view(scope, scope.expect(vs_name, "dataset"), node) if vs_name is not None else None

    if node.statistic is None:
        if isinstance(node.test, ast.Comparison):
            scope.fail(node.test.span, "a comparison needs a statistic to compare",
                       "e.g. `feature age mean < 50` or `feature age between 18 and 100`")
        values_between(scope, node, subject, reference, options)
        return

    stat_name = node.statistic.name
    info = statistic(stat_name.id)
    if info is None:
        scope.fail(stat_name.span, f"unknown statistic `{stat_name.id}`",
                   did_you_mean(stat_name.id, [*CATALOG, "p95", "median"])
                   or "see `mlc statistics` or docs/language.md")
    low = high = None
    if node.statistic.args:
        if info.arguments == 0:
            scope.fail(node.statistic.span, f"`{info.name}` takes no arguments")
        if len(node.statistic.args) != info.arguments:
            scope.fail(node.statistic.span, f"`{info.name}(...)` takes {info.arguments} numbers",
                       f"e.g. `{info.name}(18, 100)`")
        low, high = (scope.number(v, f"an argument of {info.name}") for v in node.statistic.args)
        if low > high:
            scope.fail(node.statistic.span, f"the range [{low:g}, {high:g}] is empty")
    if info.two_sample and reference is None:
        scope.fail(stat_name.span, f"`{info.name}` compares two datasets; say which is the reference",
                   f"add `vs {other_dataset(scope, subject)}`")
    if reference is not None and vs_name is not None and not (info.two_sample or info.vs_optional):
        scope.fail(vs_name.span, f"`{info.name}` describes one dataset; `vs` is for two-sample statistics",
                   f"to compare with {reference}, write `{info.name} <= {reference}*1.1`")
    if info.name == "out_of_range_rate" and low is None and reference is None:
        scope.fail(stat_name.span, "`out_of_range_rate` needs a range: `out_of_range_rate(18, 100)` "
                   "or the range of another dataset: `out_of_range_rate <= 1% vs production`")
    if info.name == "out_of_range_rate" and low is not None and reference is not None:
        scope.fail(stat_name.span, "`out_of_range_rate` takes a range or `vs DATASET`, not both",
                   "`out_of_range_rate(18, 100)` checks fixed bounds; `vs production` checks production's "
                   "values against the subject's own range")
    q = quantile_of(info.name)
    source = scope.datasets.get(subject) or scope.views[subject]
    if q is not None and holds_summaries(source) and subject not in scope.schema_errors:
        from ..profiles import GRID

        if abs(q * GRID - round(q * GRID)) > 1e-9:
            scope.fail(stat_name.span, f"`{subject}` is a profile, which cannot serve `{info.name}`: it keeps "
                       f"the quantiles at multiples of 1/{GRID}", "p1 … p99, p2.5, p97.5 and the like are served")
    if "bins" in options and not info.options:
        scope.fail(options["bins"].key_span, f"`bins` does not apply to `{info.name}`",
                   "it applies to psi, js, hellinger, linf, kl and chi2_pvalue")
    bins = int(options["bins"].number) if "bins" in options else 10

    if isinstance(node.test, ast.Between):
        test: Any = InRange(*between_range(scope, node.test), display_unit(node.test.low, node.test.high))
    else:
        test = None  # resolved per column below: the right-hand side names the same column

    expanded = list(expand(scope, node.selector, subject, info.accepts, info.name, booleans=info.name in BOOLEANS))
    if "bins" in options and not any(s.column_type == NUMERIC or s.problem for s in expanded):
        scope.fail(options["bins"].key_span, "`bins` applies to numeric columns",
                   "categorical columns get one bin per category")
    for column, column_type, problem, from_group in expanded:
        if problem is None:
            for dataset in (subject, reference):
                profile_keeps_no_values(scope, dataset, column, column_type, info.name, node.selector.span)
        bind_error = problem or reference_problem(scope, reference, column, column_type)
        measure = ms.FeatureStat(info.name, subject, column, column_type, reference, bins, low, high)
        column_test = test
        if column_test is None and isinstance(node.test, ast.Comparison):
            def rebind(other, c=column, t=column_type):
                return feature_rebind(scope, info, other, c, t, bins, low, high, node)

            column_test = compare(scope, node.test, None, rebind, lhs=f"`{info.name}`")
            bind_error = bind_error or rhs_problem(scope, column_test, column)
        scope.add(node, CheckKind.DATA, subject, column, info.name, measure, column_test, bind_error,
                  from_selector=from_group or len(expanded) > 1)


def values_between(scope: Scope, node: ast.FeatureCheck, subject: str, reference: str | None, options: dict) -> None:
    if reference is not None:
        # `vs` before the test or as a trailing option (`between 18 and 100 vs production`)
        where = node.vs.span if node.vs else next((o.span for o in node.options if o.key == "vs"), node.span)
        scope.fail(where, "`between` checks the subject's own values; drop `vs`")
    if "bins" in options:
        scope.fail(options["bins"].key_span, "`bins` does not apply to `between`")
    assert isinstance(node.test, ast.Between)  # feature_check refused a comparison without a statistic
    low, high = between_range(scope, node.test)
    expanded = list(expand(scope, node.selector, subject, frozenset({NUMERIC}), "between"))
    for column, _, problem, from_group in expanded:
        scope.add(node, CheckKind.DATA, subject, column, "between", ms.ValuesBetween(subject, column, low, high), Holds(),
                  problem, from_selector=from_group or len(expanded) > 1)


def between_range(scope: Scope, between: ast.Between) -> tuple[float, float]:
    low = scope.number(between.low, "the low end of `between`")
    high = scope.number(between.high, "the high end of `between`")
    if low > high:
        scope.fail(between.span, f"the range [{low:g}, {high:g}] is empty", "write the smaller number first")
    return low, high


def feature_rebind(scope: Scope, info, other: ast.Name, column: str, column_type: str, bins, low, high,
                   node: ast.FeatureCheck):
    """`production` on the right of `feature income mean <= production*1.1` (the same statistic of
    the same column there, of the rows the same `where` picks, as lengths after `length`)."""
    if info.two_sample:
        scope.fail(other.span, f"`{info.name}` already compares two datasets; the right-hand side must be a number")
    dataset = data_view(scope, scope.expect(other, "dataset"), node)
    profile_keeps_no_values(scope, dataset, column, column_type, info.name, other.span)
    return ms.FeatureStat(info.name, dataset, column, column_type, None, bins, low, high)


# Statistics that also take Boolean columns: `mean` (the share of true) and `true_rate`.
BOOLEANS = frozenset({"mean", "true_rate"})


class Selected(NamedTuple):
    """One column a selector chose (or, when it cannot be checked, the reason: `problem`)."""

    column: str
    column_type: str
    problem: str | None
    from_group: bool = False  # chosen by `*`, `numeric` or `categorical`, not named


def expand(scope: Scope, selector: ast.Selector, dataset: str, accepts: frozenset, statistic: str,
           booleans: bool = False):
    """Yield a `Selected` for each selected column, or report the selector. `booleans`: Boolean
    columns are accepted too, whatever their kind."""
    if dataset in scope.schema_errors:
        # The data cannot be read: the checks still appear, as errors, so the gate fails closed.
        for item in selector.items:
            label = item.name.id if isinstance(item, ast.ColumnItem) else item.group
            yield Selected(label, OTHER, scope.schema_errors[dataset])
        return
    schema = scope.schemas[dataset]
    index = scope.index_columns.get(dataset, ())
    features = [c for c in schema if c != scope.label and c not in scope.ignored and c not in index]
    chosen: list[str] = []
    grouped: set[str] = set()
    explicit: set[str] = set()
    missing: list[str] = []
    for item in selector.items:
        if isinstance(item, ast.ColumnItem):
            if known_column(scope, item.name, dataset, schema):
                chosen.append(item.name.id)
            else:
                missing.append(item.name.id)
            explicit.add(item.name.id)
        elif item.group == "*":
            chosen.extend(features)
            grouped.update(features)
        else:
            group = [c for c in features if schema[c][0] == item.group]
            chosen.extend(group)
            grouped.update(group)
    for name in selector.excluded:
        known_column(scope, name, dataset, schema)
    excluded = {n.id for n in selector.excluded}
    columns = [c for c in dict.fromkeys(chosen) if c not in excluded]
    # Lenient resolution (data passed to run() replaced the files the contract was compiled
    # against): a column the new data lacks is an `error` result, not a diagnostic.
    for column in missing:
        yield Selected(column, OTHER, f"column `{column}` is missing in dataset `{dataset}`")
    if not columns:
        if missing:
            return
        if scope.lenient:
            yield Selected(_selector_text(selector), OTHER, f"the selector matches no column of dataset `{dataset}`")
            return
        scope.fail(selector.span, f"this selects no column of {dataset}")
    wrong = [c for c in columns if schema[c][0] not in accepts and not (booleans and schema[c][1] == "Boolean")]
    if wrong and not scope.lenient and set(wrong) <= explicit and schema[wrong[0]][1].split("(")[0] in ("Date", "Datetime"):
        scope.fail(selector.span, *_dates_cannot(statistic, accepts, wrong[0], schema[wrong[0]][1]))
    if wrong and not scope.lenient:
        needs = " or ".join(sorted(accepts) + (["Boolean"] if booleans else []))
        shown = ", ".join(f"{_column_shown(c)} ({schema[c][1]})" for c in wrong[:4]) + (" …" if len(wrong) > 4 else "")
        if set(wrong) <= explicit:
            usable = sorted(n for n, i in CATALOG.items() if schema[wrong[0]][0] in i.accepts)
            kind = schema[wrong[0]][0] if schema[wrong[0]][0] != OTHER else f"{schema[wrong[0]][1]}"  # never "other"
            hint = f"`{wrong[0]}` is {kind}; its statistics include {', '.join(usable[:8])}"
        else:
            refs = ", ".join(column_ref(c) for c in [c for c in wrong if c][:3])  # a nameless column cannot be written
            code = (f"  except {refs}" if "`" in refs else f" `except {refs}`") if refs else ""
            hint = (f"select `{'numeric' if accepts == frozenset({NUMERIC}) else 'categorical'}` columns"
                    + (f", or add{code}" if code else ""))
        scope.fail(selector.span, f"`{statistic}` needs {needs} columns: {shown}", hint)
    for column in columns:
        problem = None
        if column in wrong:
            needs = " or ".join(sorted(accepts) + (["Boolean"] if booleans else []))
            problem = f"`{statistic}` needs a {needs} column; `{column}` is {schema[column][1]}"
        yield Selected(column, schema[column][0], problem, column in grouped and column not in explicit)


def _dates_cannot(statistic: str, accepts: frozenset, column: str, dtype: str) -> tuple[str, str]:
    """(message, hint) for a statistic of numbers or strings asked of a Date or Datetime column:
    why it does not apply, and what does."""
    example = date_example(dtype)
    word = "date" if dtype == "Date" else "datetime"
    held = f"`{column}` holds {word}s ({dtype})"
    if statistic in ("min", "max"):
        return f"{held}: compare its `{statistic}` with a {word}", f"e.g. `feature {column_ref(column)} {statistic} >= {example}`"
    if statistic == "between":
        return (f"{held}: write the range as {word}s",
                f"e.g. `feature {column_ref(column)} between {example} and {example.replace('-01-31', '-12-31')}`")
    if statistic in ("mean", "std", "sum"):
        message = f"`{statistic}` adds values up, and dates do not add up: {held}"
    else:
        kind = "numbers" if accepts == frozenset({NUMERIC}) else "strings" if accepts == frozenset({CATEGORICAL}) \
            else "numbers and categories"
        message = f"`{statistic}` is computed on {kind}; {held}"
    return message, (f"of dates: `min` or `max` compared with a date (`feature {column_ref(column)} max >= {example}`), "
                     "`between DATE and DATE`, `in (DATE, ...)`, `most_common`, `null_rate`, `distinct`")


def date_example(dtype: str) -> str:
    """A literal a Date or Datetime column of this dtype takes (a zone when it has one)."""
    if dtype.startswith("Datetime"):
        return "2026-01-31T00:00" + ("" if "time_zone=None" in dtype else "Z")
    return "2026-01-31"


def profile_keeps_no_values(scope: Scope, dataset: str | None, column: str, column_type: str, statistic: str,
                            span) -> None:
    """A diagnostic when `dataset` is a profile and `statistic` needs the values of a column a
    profile keeps only the row and null counts of (neither numeric nor categorical: dates, ...)."""
    if dataset is None or column_type != OTHER or statistic in ("null_rate", "null_count"):
        return
    source = scope.datasets.get(dataset) or scope.views.get(dataset)
    if not holds_summaries(source) or dataset in scope.schema_errors:
        return
    dtype = scope.schemas[dataset][column][1] if column in scope.schemas.get(dataset, {}) else "other"
    scope.fail(span, f"`{dataset}` is a profile, which keeps only the rows and nulls of `{column}` ({dtype}), "
               f"not the values `{statistic}` needs", "check the data itself, or its `null_rate` / `null_count`")


def known_column(scope: Scope, name: ast.Name, dataset: str, schema: dict) -> bool:
    """Report an unknown column (a diagnostic, or in lenient mode just False)."""
    if name.id in schema:
        return True
    if scope.lenient:
        return False
    scope.fail(name.span, f"unknown column `{name.id}` in dataset `{dataset}`",
               did_you_mean(name.id, schema) or f"its columns: {', '.join(list(schema)[:8])}")


def reference_problem(scope: Scope, reference: str | None, column: str, column_type: str) -> str | None:
    if reference is None:
        return None
    if reference in scope.schema_errors:
        return scope.schema_errors[reference]
    schema = scope.schemas[reference]
    if column not in schema:
        return f"column `{column}` is missing in {reference}"
    if schema[column][0] != column_type:
        return f"`{column}` is {column_type} in the subject but {schema[column][1]} in {reference}"
    return None


def rhs_problem(scope: Scope, test, column: str) -> str | None:
    for measure in measures_in(test.rhs):
        if isinstance(measure, ms.FeatureStat):
            problem = reference_problem(scope, measure.dataset, column, measure.column_type)
            if problem:
                return problem
    return None


def other_dataset(scope: Scope, subject: str) -> str:
    return next((d for d in scope.datasets if d != subject), "production")


def schema_check(scope: Scope, node: ast.SchemaCheck) -> None:
    subject = scope.dataset(node.subject, node.span)
    reference = scope.expect(node.reference, "dataset")
    scope.options(node.options, frozenset(), node)
    problem = scope.schema_errors.get(subject) or scope.schema_errors.get(reference)
    excluded = tuple([scope.label] if scope.label else []) + tuple(scope.ignored)
    measure = ms.SchemaMatch(subject, reference, excluded, strict=node.strictly is not None)
    scope.add(node, CheckKind.DATA, subject, None, "schema", measure, Holds(), problem)


def _column_shown(column: str) -> str:
    return f"`{column}`" if column else "a column without a name"


def _selector_text(selector: ast.Selector) -> str:
    return ", ".join(i.name.id if isinstance(i, ast.ColumnItem) else i.group for i in selector.items)
