"""Compare checks: `MEASURE OP EXPRESSION`, where the measure is a dataset's rows, a model
metric (holdout, cross-validated, segmented, against a baseline), a latency or throughput, a
training-curve value, or the gap between two of them (`MEASURE - MEASURE`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..language import ast
from ..language.diagnostics import did_you_mean
from ..models.metrics import METRIC_OPTIONS, METRIC_PARAMS, METRICS
from ..plan import measures as ms
from ..statistics.quantiles import quantile_of
from .conditions import view
from .contract import CheckKind, InRange
from .curves import curve_column, curve_names
from .expressions import compare, display_unit, refs
from .features import known_column
from .options import Opt
from .scope import Abort, Scope, list_hint


@dataclass
class Resolved:
    """What the left-hand side of a comparison turned out to be."""

    measure: Any
    kind: CheckKind  # data | model | curve | latency
    subject: str
    feature: str | None
    statistic: str
    unit: str | None
    # How a bare name on the right-hand side maps to "the same measure on that thing".
    rebind: Any


def compare_check(scope: Scope, node: ast.CompareCheck | ast.BetweenCheck) -> None:
    """`MEASURE CMP EXPR`, and `MEASURE between LO and HI` (inclusive; the bounds are numbers in
    the measure's unit: `p95 latency between 10ms and 50ms`)."""
    as_of = next((o for o in node.options if o.key == "as_of"), None)
    options = scope.options(tuple(o for o in node.options if o is not as_of), None, node)
    if as_of is not None and isinstance(as_of.value, ast.Temporal):  # the grammar gives `as of` a date
        options["as_of"] = Opt(as_of.value, as_of.value.value, as_of.span, as_of.key_span)
    # Models named on the right are timed together with the subject (latency checks).
    rhs = node.comparison.rhs if isinstance(node, ast.CompareCheck) else None
    rhs_models = tuple(r.name.id for r in refs(rhs) if r.name.id in scope.models) if rhs is not None else ()
    if isinstance(node.lhs, ast.Gap):
        left = resolve_measure(scope, node.lhs.left, options, rhs_models)
        right = resolve_measure(scope, node.lhs.right, options, rhs_models)
        if left.unit != right.unit or left.kind != right.kind:
            scope.fail(node.lhs.span, "the two sides of `-` measure different things")
        resolved = Resolved(
            ms.Difference(left.measure, right.measure), left.kind, left.subject, left.feature,
            f"{left.statistic} gap", left.unit, None,
        )
    else:
        resolved = resolve_measure(scope, node.lhs, options, rhs_models)
    _allowed_options(scope, options, resolved)
    if isinstance(node, ast.BetweenCheck):
        test: Any = between_test(scope, node.between, resolved.unit)
    else:
        test = compare(scope, node.comparison, resolved.unit, resolved.rebind, lhs=f"`{resolved.statistic}`")
    problem = None
    if isinstance(resolved.measure, (ms.Rows, ms.KeyDuplicates, ms.ColumnCount)):
        problem = scope.schema_errors.get(resolved.subject)
    scope.add(node, resolved.kind, resolved.subject, resolved.feature, resolved.statistic, resolved.measure, test, problem,
              unit=resolved.unit)


def between_test(scope: Scope, between: ast.Between, unit: str | None) -> InRange:
    """The inclusive range of `between LO and HI` after a measure, each bound a number in its unit."""
    bounds = []
    for bound, end in ((between.low, "low"), (between.high, "high")):
        number = bound.operand if isinstance(bound, ast.Neg) else bound
        if not isinstance(number, ast.Number):
            scope.fail(bound.span, f"the {end} end of `between` must be a number")
        given = number.unit if number.unit in ("s", "rows/s") else None
        if given != unit:
            scope.fail(bound.span, f"the {end} end of `between`: expected {_unit_words(unit)}, got {_unit_words(given)}")
        bounds.append(-number.value if isinstance(bound, ast.Neg) else number.value)
    if bounds[0] > bounds[1]:
        scope.fail(between.span, f"the range [{bounds[0]:g}, {bounds[1]:g}] is empty", "write the smaller number first")
    return InRange(bounds[0], bounds[1], display_unit(between.low, between.high))


def _unit_words(unit: str | None) -> str:
    return {"s": "a duration", "rows/s": "a rate in rows/s", None: "a plain number"}[unit]


def resolve_measure(scope: Scope, measure: ast.MeasurePhrase, options: dict, rhs_models: tuple[str, ...] = ()) -> Resolved:
    """What the words of a measure phrase name: rows, a metric, a latency, a curve value."""
    words = list(measure.words)
    subject_name = None
    if len(words) > 1 and words[0].id in scope.broken:
        raise Abort
    if len(words) > 1 and words[0].id in scope.declared_at:
        subject_name = words.pop(0)
    elif len(words) > 1 and not _known_measure([w.id for w in words]) and _known_measure([w.id for w in words[1:]]):
        scope.fail(words[0].span, f"unknown name `{words[0].id}`",
                   did_you_mean(words[0].id, scope.declared_at) or list_hint("name", scope.declared_at))
    head = [w.id for w in words]
    span = measure.span
    if "as_of" in options and head != ["freshness"]:
        scope.fail(options["as_of"].span, "`as of` sets the clock of `freshness` checks only")
    if measure.columns and head != ["duplicate_count"]:
        scope.fail(_columns_span(measure.columns), "a key `(a, b)` follows `duplicate_count` only",
                   "e.g. `training duplicate_count (customer_id, day) == 0`")
    if head == ["rows"]:
        return _rows(scope, subject_name, measure, span)
    if head == ["columns"]:
        return _columns(scope, subject_name, measure, span)
    if head == ["freshness"]:
        return _freshness(scope, subject_name, measure, options, span)
    if head == ["duplicate_count"] and measure.columns:
        return _key_duplicates(scope, subject_name, measure, span)
    if measure.where is not None:
        scope.fail(measure.where.span, "`where` picks rows for data checks: `training rows where ...` and "
                   "feature checks", "e.g. `training rows where age < 0 == 0`")
    if len(head) == 2 and head[1] == "latency":
        return _latency(scope, subject_name, words[0], measure, options, rhs_models)
    if head == ["throughput"]:
        return _latency(scope, subject_name, words[0], measure, options, rhs_models)
    if head[0] == "cv":
        return _metric(scope, subject_name, words[1:], measure, options, cv=True)
    if head[0] in METRICS:
        return _metric(scope, subject_name, words, measure, options, cv=False)
    if len(head) == 1 and (scope.histories or (subject_name and subject_name.id in scope.histories)):
        return _curve_value(scope, subject_name, words[0], measure)
    known = [*METRICS, "rows", "p95 latency", "throughput", *curve_names(scope)]
    what = " ".join(head)
    noun = "metric" if measure.on is not None or measure.by is not None else "measure"
    scope.fail(words[0].span if len(words) == 1 else span, f"unknown {noun} `{what}`",
               did_you_mean(what, known) or "e.g. `training rows`, `auc on holdout`, `p95 latency`, `val_loss`")


def _rows(scope: Scope, subject_name, measure: ast.MeasurePhrase, span) -> Resolved:
    if measure.on is not None or measure.by is not None:
        scope.fail(span, "`rows` counts a dataset's rows: write `holdout rows >= 1000`")
    dataset = view(scope, scope.dataset(subject_name, span), measure.where)

    def rebind(other: ast.Name):  # the same rows of another dataset: its rows the same `where` picks
        return ms.Rows(view(scope, scope.expect(other, "dataset"), measure.where))

    return Resolved(ms.Rows(dataset), CheckKind.DATA, dataset, None, "rows", None, rebind)


def _columns(scope: Scope, subject_name, measure: ast.MeasurePhrase, span) -> Resolved:
    if measure.on is not None or measure.by is not None or measure.where is not None:
        scope.fail(span, "`columns` counts a dataset's columns: write `training columns == 12`")
    dataset = scope.dataset(subject_name, span)

    def rebind(other: ast.Name):
        return ms.ColumnCount(scope.expect(other, "dataset"))

    return Resolved(ms.ColumnCount(dataset), CheckKind.DATA, dataset, None, "columns", None, rebind)


def _freshness(scope: Scope, subject_name, measure: ast.MeasurePhrase, options: dict, span) -> Resolved:
    if measure.on is not None or measure.where is not None:
        scope.fail(span, "`freshness` is a dataset's: write `freshness of production [by COLUMN] <= 1d`")
    dataset = scope.dataset(subject_name, span)
    as_of = options["as_of"].number if "as_of" in options else None
    column = _timestamp_column(scope, dataset, measure.by, span)

    def rebind(other: ast.Name):  # the freshness of the same column in another dataset
        return ms.Freshness(scope.expect(other, "dataset"), column, as_of)

    return Resolved(ms.Freshness(dataset, column, as_of), CheckKind.DATA, dataset, column, "freshness", "s", rebind)


def _timestamp_column(scope: Scope, dataset: str, by: ast.Name | None, span) -> str:
    """The Date or Datetime column a freshness reads: the one named by `by`, or the only one."""
    if dataset in scope.schema_errors:
        return by.id if by is not None else "?"
    schema = scope.schemas[dataset]
    temporal = [c for c, (_, dtype) in schema.items() if dtype.split("(")[0] in ("Date", "Datetime")]
    if by is not None:
        known_column(scope, by, dataset, schema)
        if by.id in schema and by.id not in temporal:
            scope.fail(by.span, f"`freshness` reads a Date or Datetime column; `{by.id}` is {schema[by.id][1]}")
        return by.id
    if len(temporal) != 1:
        listed = ", ".join(temporal[:6]) or "none"
        scope.fail(span, f"say which column dates `{dataset}`'s rows: its Date and Datetime columns: {listed}",
                   f"e.g. `freshness of {dataset} by {temporal[0] if temporal else 'updated_at'} <= 1d`")
    return temporal[0]


def _key_duplicates(scope: Scope, subject_name, measure: ast.MeasurePhrase, span) -> Resolved:
    from .keys import key_columns

    if measure.on is not None or measure.by is not None:
        scope.fail(span, "`duplicate_count (...)` counts a dataset's rows: write `training duplicate_count (a, b) == 0`")
    dataset = view(scope, scope.dataset(subject_name, span), measure.where)
    key, _problem = key_columns(scope, dataset, measure.columns)

    def rebind(other: ast.Name):  # the same key in another dataset (its rows the same `where` picks)
        return ms.KeyDuplicates(view(scope, scope.expect(other, "dataset"), measure.where), key)

    return Resolved(ms.KeyDuplicates(dataset, key), CheckKind.DATA, dataset, ", ".join(key), "duplicate_count",
                    None, rebind)


def _columns_span(columns):
    from ..language.source import Span

    first, last = columns[0].span, columns[-1].span
    return Span(first.line, first.column, last.end_line, last.end_column, first.start, last.end)


def _metric(scope: Scope, subject_name, words, measure: ast.MeasurePhrase, options: dict, cv: bool) -> Resolved:
    # models.quality and models.serving are imported by the checks that need them: a data-only
    # contract's start-up does not create their dataclasses (issue 15).
    from ..models.quality import BASELINE_STRATEGIES, baseline_measure, metric_measure

    model = scope.model(subject_name, measure.span)
    head = [w.id for w in words]
    if not head or head[0] not in METRICS:
        bad = words[0] if words else measure.words[0]
        scope.fail(bad.span, f"unknown metric `{bad.id}`", did_you_mean(bad.id, METRICS))
    aggregate = "mean"
    if len(head) > 1:
        if not cv or head[1:] not in (["mean"], ["std"]):
            scope.fail(words[1].span, f"unexpected `{' '.join(head[1:])}` after the metric",
                       "cross-validation takes `cv auc` (mean over folds) or `cv auc std`" if cv else None)
        aggregate = head[1]
    metric = head[0]
    dataset_name = measure.on or (options["on"].value if "on" in options else None)
    if dataset_name is None:
        scope.fail(measure.span, f"say which dataset `{metric}` is measured on",
                   f"e.g. `{metric} on {_labelled_dataset(scope)}`")
    dataset = scope.expect(dataset_name, "dataset")
    scope.no_profile(dataset, measure.span, "model metrics")
    if scope.label is None:
        scope.fail(measure.span, "model metrics need the label column", "declare it: `label churned`")
    _label_present(scope, dataset, measure.span)
    segment = None
    if measure.by is not None:
        if cv:
            scope.fail(measure.by.span, "`by` segments do not combine with `cv`")
        if dataset not in scope.schema_errors:
            known_column(scope, measure.by, dataset, scope.schemas[dataset])
        segment = measure.by.id
    for key in ("average", "positive"):
        if key in options and key not in METRIC_PARAMS.get(metric, ()):
            takers = sorted(m for m, keys in METRIC_PARAMS.items() if key in keys)
            scope.fail(options[key].key_span, f"`{key}` does not apply to `{metric}`",
                       f"it applies to {', '.join(takers)}")
    params = _metric_params(options)
    folds = int(options["folds"].number) if "folds" in options else 5
    seed = int(options["seed"].number) if "seed" in options else 0
    min_rows = int(options["min_rows"].number) if "min_rows" in options else 30
    fit_on = next(iter(scope.datasets))
    built = metric_measure(metric, model, dataset, params, segment, min_rows, cv, aggregate, folds, seed)

    def rebind(other: ast.Name):
        if other.id in scope.models:
            return metric_measure(metric, other.id, dataset, params, segment, min_rows, cv, aggregate, folds, seed)
        if other.id in scope.datasets:
            _label_present(scope, other.id, other.span)
            return metric_measure(metric, model, other.id, params, segment, min_rows, cv, aggregate, folds, seed)
        scope.expect(other, "model")

    def baseline(strategy: ast.Name):
        if cv or segment:
            scope.fail(strategy.span, "baselines compare plain holdout metrics (no `cv`, no `by`)")
        task = METRICS[metric].task
        if strategy.id not in BASELINE_STRATEGIES:
            scope.fail(strategy.span, f"unknown baseline strategy `{strategy.id}`",
                       did_you_mean(strategy.id, BASELINE_STRATEGIES)
                       or "one of " + ", ".join(BASELINE_STRATEGIES))
        if BASELINE_STRATEGIES[strategy.id] != task:
            scope.fail(strategy.span, f"`{strategy.id}` is a {BASELINE_STRATEGIES[strategy.id]} baseline, "
                       f"but `{metric}` is a {task} metric")
        scope.no_profile(fit_on, strategy.span, "fitting a baseline (baselines are fitted on the first dataset)")
        return baseline_measure(strategy.id, metric, fit_on, dataset, params)

    rebind.baseline = baseline  # type: ignore[attr-defined]
    label = ("cv " if cv else "") + metric + (" std" if aggregate == "std" else "")
    return Resolved(built, CheckKind.MODEL, model, segment, label, None, rebind)


def _label_present(scope: Scope, dataset: str, span) -> None:
    if dataset in scope.schemas and scope.label not in scope.schemas[dataset] and not scope.lenient:
        scope.fail(span, f"dataset `{dataset}` has no label column `{scope.label}`",
                   "metrics are measured on labelled data, e.g. a holdout set")


def _labelled_dataset(scope: Scope) -> str:
    """A dataset to suggest for metrics: labelled, and preferably not the training set."""
    labelled = [d for d, schema in scope.schemas.items() if scope.label in schema]
    for name in labelled[1:] + labelled[:1] + list(scope.datasets):
        return name
    return "holdout"


def _latency(scope: Scope, subject_name, first: ast.Name, measure: ast.MeasurePhrase, options: dict,
             rhs_models: tuple[str, ...]) -> Resolved:
    from ..models.serving import LATENCY_STATISTICS, latency_measure

    model = scope.model(subject_name, measure.span)
    if measure.by is not None:
        scope.fail(measure.by.span, "latency is not segmented with `by`")
    statistic = first.id
    throughput = statistic == "throughput"
    if not throughput and statistic not in LATENCY_STATISTICS and quantile_of(statistic) is None:
        scope.fail(first.span, f"unknown latency statistic `{statistic}`", "use p50, p95, p99, mean or max")
    dataset_name = measure.on or (options["on"].value if "on" in options else None)
    dataset = scope.dataset(dataset_name, measure.span, "dataset to take input rows from")
    scope.no_profile(dataset, measure.span, "latency inputs")
    settings = _latency_settings(options)
    if settings["concurrency"] > 1 and scope.models[model].format != "http":
        scope.fail(options["concurrency"].span, "`at concurrency` applies to http() models only",
                   f"`{model}` runs in this process; time it without `at concurrency`")
    # Models compared with each other are timed together, call by call, so that machine
    # noise hits all of them alike; a model alone is timed alone.
    others = tuple(m for m in rhs_models if m != model)
    group = tuple(sorted({model, *others})) if others else ()
    built = latency_measure(statistic, model, dataset, settings, group)
    unit = "rows/s" if throughput else "s"

    def rebind(other: ast.Name):
        return latency_measure(statistic, scope.expect(other, "model"), dataset, settings, group)

    return Resolved(built, CheckKind.LATENCY, model, None, f"{statistic} latency" if not throughput else "throughput",
                    unit, rebind)


def _curve_value(scope: Scope, subject_name, column: ast.Name, measure: ast.MeasurePhrase) -> Resolved:
    from ..models.quality import curve_measure

    if measure.on is not None or measure.by is not None:
        scope.fail(measure.span, "training curves take no `on`/`by`")
    history = scope.history(subject_name, measure.span)
    curve_column(scope, history, column)

    def rebind(other: ast.Name):
        other_history = scope.expect(other, "history")
        curve_column(scope, other_history, column)
        return curve_measure(other_history, column.id)

    return Resolved(curve_measure(history, column.id), CheckKind.CURVE, history, None, column.id, None, rebind)


def _allowed_options(scope: Scope, options: dict, resolved: Resolved) -> None:
    allowed: frozenset[str] = frozenset()
    if resolved.kind == CheckKind.MODEL:
        allowed = METRIC_OPTIONS
    elif resolved.kind == CheckKind.LATENCY:
        from ..models.serving import LATENCY_OPTIONS

        allowed = LATENCY_OPTIONS
    for key, opt in options.items():
        if key not in allowed and key != "as_of":
            shown = sorted(set(allowed) - {"on"})
            scope.fail(opt.key_span, f"option `{key}` does not apply to {resolved.statistic}",
                       did_you_mean(key, allowed) or ("options here: " + ", ".join(f"`{k}`" for k in shown)
                                                     if shown else "this check takes no options"))


def _known_measure(words: list[str]) -> bool:
    """Whether the words (after a subject) name a measure: `rows`, `p95 latency`, `auc`, ..."""
    if words == ["rows"] or words == ["throughput"]:
        return True
    if len(words) == 2 and words[1] == "latency":
        return True
    return bool(words) and (words[0] in METRICS or (words[0] == "cv" and len(words) > 1))


def _metric_params(options: dict) -> tuple:
    params = []
    for key in ("average", "positive"):
        if key in options:
            params.append((key, options[key].number))
    return tuple(params)


def _latency_settings(options: dict) -> dict:
    def get(key, default):
        return int(options[key].number) if key in options else default

    return {
        "batch": get("batch", 1),
        "concurrency": get("concurrency", 1),
        "calls": get("calls", 200),
        "warmup": get("warmup", 20),
    }
