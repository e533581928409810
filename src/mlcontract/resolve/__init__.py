"""Stage 3 — resolve (the DESIGN's "check" stage): typed AST → checked contract (contract.py).

Named `resolve` because `mlcontract.check(path)` is the public compile-and-run function.

Resolves every name (datasets, models, histories, columns, statistics, metrics, options),
checks types and units, expands feature selectors against the data's schema, and collects
every problem it finds before raising one ContractError — a user fixes a contract in one go.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..language import ast
from .. import catalog
from ..plan import measures as ms
from ..catalog import CATEGORICAL, NUMERIC, OTHER
from .contract import (
    Arith,
    CheckedContract,
    CheckSpec,
    Compare,
    Const,
    DatasetSource,
    HistorySource,
    Holds,
    InRange,
    MeasureRef,
    ModelSource,
    Negate,
)
from ..language.diagnostics import did_you_mean
from ..errors import ContractError, DataError
from ..language.source import Diagnostic, SourceText, Span
from ..grants import Confinement, Grants
from ..sources.datasets import DATASET_OPTIONS, glob_pattern, index_columns, resolve_path, schema_of

MODEL_OPTIONS = {
    "sklearn": frozenset(),
    "skops": frozenset({"trusted"}),
    "onnx": frozenset(),
    "http": frozenset({"timeout", "format"}),
}


class _Abort(Exception):
    """Stop resolving one statement after its diagnostic was recorded."""


@dataclass
class _Resolved:
    """What the left-hand side of a comparison turned out to be."""

    measure: Any
    kind: str  # data | model | curve | latency
    subject: str
    feature: str | None
    statistic: str
    unit: str | None
    # How a bare name on the right-hand side maps to "the same measure on that thing".
    rebind: Any


def resolve(
    contract: ast.Contract,
    source: SourceText,
    base_dir: Path,
    frames: dict[str, Any] | None = None,
    objects: dict[str, Any] | None = None,
    histories: dict[str, Any] | None = None,
    lenient: bool = False,
    grants: Grants | None = None,
) -> CheckedContract:
    """Resolve a contract. `frames`/`objects`/`histories` are data, models and training
    histories passed in through the API; they override or stand in for declarations.
    `lenient`: columns the data lacks become `error` results instead of diagnostics (used when
    run() receives data other than what the contract was compiled against).
    `grants`: what the invocation allows beyond the safe defaults (grants.py)."""
    checker = _Checker(source, base_dir, frames or {}, objects or {}, histories or {}, lenient, grants or Grants())
    return checker.run(contract)


class _Checker:
    def __init__(self, source: SourceText, base_dir: Path, frames: dict, objects: dict, histories: dict,
                 lenient: bool = False, grants: Grants | None = None):
        self.source = source
        self.grants = grants or Grants()
        self._confinement: Confinement | None = None
        # Sources whose file the contract may not read (grants.py): name → the refusal. Every
        # check using one is an `error` carrying the refusal; nothing ever opens the file.
        self.refused: dict[str, str] = {}
        self.lenient = lenient
        self.base_dir = base_dir
        self.frames = frames
        self.objects = objects
        self.history_frames = histories
        self.diagnostics: list[Diagnostic] = []
        self.name: str | None = None
        self.datasets: dict[str, DatasetSource] = {}
        self.models: dict[str, ModelSource] = {}
        self.histories: dict[str, HistorySource] = {}
        self.declared_at: dict[str, tuple[str, Span]] = {}
        # Names whose declaration had an error: checks using them are skipped, not re-reported.
        self.broken: set[str] = set()
        self.named_columns: list[ast.Name] = []  # label and ignore columns, checked against the data
        self.label: str | None = None
        self.ignored: list[str] = []
        self.schemas: dict[str, dict[str, tuple[str, str]]] = {}
        self.index_columns: dict[str, tuple[str, ...]] = {}  # a pandas index stored as columns: not features
        self.schema_errors: dict[str, str] = {}
        self.history_columns: dict[str, list[str] | None] = {}
        self.checks: list[CheckSpec] = []
        self._rhs_models: tuple[str, ...] = ()

    # ---- driver ------------------------------------------------------------------------------
    def run(self, contract: ast.Contract) -> CheckedContract:
        declarations = [s for s in contract.statements if not _is_check(s)]
        for statement in declarations:
            try:
                self._declare(statement)
            except _Abort:
                name = getattr(statement, "name", None)
                if isinstance(name, ast.Name):
                    self.broken.add(name.id)
        self._declare_api_inputs()
        self._read_schemas()
        self._label_and_ignored_columns_exist()
        for statement in contract.statements:
            if _is_check(statement):
                self._guard(self._check_statement, statement)
        if self.diagnostics:
            raise ContractError(self.diagnostics, self.source)
        return CheckedContract(
            name=self.name,
            path=Path(self.source.path) if self.source.path != "<contract>" else None,
            base_dir=self.base_dir,
            datasets=self.datasets,
            models=self.models,
            histories=self.histories,
            label=self.label,
            ignored=tuple(self.ignored),
            checks=self.checks,
            source_text=self.source.text,
            grants=self.grants,
        )

    def _guard(self, method, statement) -> None:
        try:
            method(statement)
        except _Abort:
            pass

    def error(self, span: Span | None, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(span, message, hint))

    def fail(self, span: Span | None, message: str, hint: str | None = None):
        self.error(span, message, hint)
        raise _Abort

    # ---- declarations ------------------------------------------------------------------------
    def _declare(self, node) -> None:
        if isinstance(node, ast.ContractDecl):
            if self.name is not None:
                self.fail(node.span, "the contract is named twice")
            self.name = node.name
        elif isinstance(node, ast.DatasetDecl):
            kind, path, options = self._source_call(node.source, catalog.DATASET_KINDS, "dataset", DATASET_OPTIONS)
            self._claim(node.name, "dataset")
            self.datasets[node.name.id] = DatasetSource(
                node.name.id, kind, resolve_path(self.base_dir, path), options, span=node.span, written=path
            )
            if self.frames.get(node.name.id) is None:  # a frame passed in stands in for the file
                source = self.datasets[node.name.id]
                self._confine(node.name.id, f"dataset `{node.name.id}`", source.path, path, glob_pattern(source))
        elif isinstance(node, ast.ModelDecl):
            kind, location, options = self._source_call(node.source, catalog.MODEL_KINDS, "model", MODEL_OPTIONS)
            if kind == "http":
                if not location.startswith(("http://", "https://")):
                    self.fail(node.source.args[0].span, "http() takes a URL such as \"http://127.0.0.1:8000/predict\"")
            else:
                written, location = location, str(resolve_path(self.base_dir, location))
                if self.objects.get(node.name.id) is None:
                    self._confine(node.name.id, f"model `{node.name.id}`", Path(location), written)
            self._claim(node.name, "model")
            self.models[node.name.id] = ModelSource(node.name.id, kind, location, options, span=node.span)
        elif isinstance(node, ast.HistoryDecl):
            kind, path, options = self._source_call(
                node.source, catalog.HISTORY_KINDS, "history", {k: frozenset() for k in catalog.HISTORY_KINDS}
            )
            self._claim(node.name, "history")
            self.histories[node.name.id] = HistorySource(node.name.id, kind, resolve_path(self.base_dir, path), span=node.span)
            if self.history_frames.get(node.name.id) is None:
                self._confine(node.name.id, f"history `{node.name.id}`", self.histories[node.name.id].path, path)
        elif isinstance(node, ast.LabelDecl):
            if self.label is not None:
                self.fail(node.span, f"the label is already `{self.label}`", "a contract has one `label` line")
            self.label = node.column.id
            self.named_columns.append(node.column)
        elif isinstance(node, ast.IgnoreDecl):
            self.ignored.extend(c.id for c in node.columns if c.id not in self.ignored)
            self.named_columns.extend(node.columns)

    def _confine(self, name: str, what: str, path: Path, written: str, pattern: str | None = None) -> None:
        """Record a refusal when the contract may not read `path` (outside its repository and
        the working directory and not granted, or a special file)."""
        reason = self._refusal(path, pattern)
        if reason:
            self.refused[name] = f"{what}: refused to read {written}: {reason}"

    def _refusal(self, path: Path, pattern: str | None = None) -> str | None:
        if self._confinement is None:
            self._confinement = Confinement.of(self.base_dir, self.grants)
        return self._confinement.refusal(path, pattern)

    def _refused_sources(self, measures) -> str | None:
        """The refusal of the first refused source the measures' requests use, if any."""
        if not self.refused:
            return None
        for name in _names_used(measures):
            if name in self.refused:
                return self.refused[name]
        return None

    def _source_call(self, call: ast.SourceCall, kinds, what: str, allowed_options: dict):
        kind = call.kind.id
        if kind not in kinds:
            hint = did_you_mean(kind, kinds) or "one of " + ", ".join(f"`{k}(...)`" for k in kinds)
            self.fail(call.kind.span, f"unknown {what} source `{kind}(...)`", hint)
        if len(call.args) != 1:
            self.fail(call.span, f"`{kind}(...)` takes one quoted {'URL' if kind == 'http' else 'path'}",
                      f'e.g. {kind}("{_example_path(kind)}")')
        options = []
        for key, value in call.kwargs:
            if key.id not in allowed_options.get(kind, ()):
                known = sorted(allowed_options.get(kind, ()))
                hint = did_you_mean(key.id, known) or (
                    "it accepts " + ", ".join(f"`{k}=`" for k in known) if known else f"`{kind}(...)` takes no options"
                )
                self.error(key.span, f"unknown option `{key.id}` for `{kind}(...)`", hint)
                continue
            plain = _plain_value(value)
            problem = _source_option_problem(key.id, plain)
            if problem:
                self.error(value.span if hasattr(value, "span") else key.span, f"`{key.id}=` {problem}")
                continue
            options.append((key.id, plain))
        return kind, call.args[0].value, tuple(options)

    def _claim(self, name: ast.Name, kind: str) -> None:
        if name.id in self.declared_at:
            other_kind, where = self.declared_at[name.id]
            self.fail(name.span, f"`{name.id}` is already declared as a {other_kind} on line {where.line}",
                      "datasets, models and histories share one namespace: choose another name")
        self.declared_at[name.id] = (kind, name.span)

    def _declare_api_inputs(self) -> None:
        """Frames/models passed to compile() that the contract does not declare become sources."""
        for name in self.frames:
            if name not in self.datasets:
                self.datasets[name] = DatasetSource(name, "frame")
                self.declared_at.setdefault(name, ("dataset", None))
        for name in self.objects:
            if name not in self.models:
                self.models[name] = ModelSource(name, "object")
                self.declared_at.setdefault(name, ("model", None))
        for name in self.history_frames:
            if name not in self.histories:
                self.histories[name] = HistorySource(name, "frame")
                self.declared_at.setdefault(name, ("history", None))

    def _label_and_ignored_columns_exist(self) -> None:
        """`label`/`ignore` name columns of the data: a typo would silently check the label."""
        if not self.schemas or self.lenient or self.schema_errors:
            return  # with unreadable data there is nothing to check against
        known = {c for schema in self.schemas.values() for c in schema}
        for name in self.named_columns:
            if name.id not in known:
                self.error(name.span, f"unknown column `{name.id}`: no dataset has it",
                           did_you_mean(name.id, known) or f"columns: {', '.join(sorted(known)[:8])}")

    def _read_schemas(self) -> None:
        for name, source in self.datasets.items():
            if name in self.refused:  # never opened: not even its schema
                self.schema_errors[name] = self.refused[name]
                continue
            try:
                self.schemas[name] = schema_of(source, self.frames.get(name))
            except DataError as error:
                self.schema_errors[name] = str(error)
                continue
            if self.frames.get(name) is None:
                self.index_columns[name] = index_columns(source)
                if source.kind == "csv":
                    self._unnamed_csv_columns(source)

    def _unnamed_csv_columns(self, source: DatasetSource) -> None:
        """A CSV that pandas wrote with its index (`to_csv` without `index=False`) starts with a
        column whose header is empty, or `Unnamed: 0` once it went through pandas twice. It is
        not a feature, and nothing in the file says so: the contract must."""
        for column in self.schemas[source.name]:
            if column in self.ignored or column == self.label:
                continue
            if column == "":
                self.error(source.span, f"a column of {source.written} has no name: a pandas index written by "
                           "`to_csv`, which would be checked and fed to models as a feature",
                           "write the file with `to_csv(index=False)`, or give the column a name and `ignore` it")
            elif re.fullmatch(r"Unnamed: \d+", column):
                self.error(source.span, f"the column `{column}` of {source.written} looks like a pandas index written "
                           "by `to_csv`, which would be checked and fed to models as a feature",
                           f"add the line  ignore {_column_ref(column)}  or write the file with `to_csv(index=False)`")

    # ---- checks: dispatch ----------------------------------------------------------------------
    def _check_statement(self, node) -> None:
        if isinstance(node, ast.FeatureCheck):
            self._feature_check(node)
        elif isinstance(node, ast.SchemaCheck):
            self._schema_check(node)
        elif isinstance(node, ast.CompareCheck):
            self._compare_check(node)
        elif isinstance(node, ast.TrendCheck):
            self._trend_check(node)
        elif isinstance(node, ast.HandlesCheck):
            self._handles_check(node)

    def _add(self, node, kind: str, subject: str, feature: str | None, statistic: str, measure, test,
             bind_error: str | None = None) -> None:
        if bind_error is None:
            bind_error = self._refused_sources([measure, *(_measures_in(test.rhs) if isinstance(test, Compare) else ())])
        if bind_error is None:
            self._profiles_can_serve(node, measure, test)
        self.checks.append(
            CheckSpec(
                index=len(self.checks),
                line=node.span.line,
                source=self._source_line(node.span),
                kind=kind,
                subject=subject,
                feature=feature,
                statistic=statistic,
                measure=measure,
                test=test,
                blocking=not node.warn,
                span=node.span,
                bind_error=bind_error,
            )
        )

    def _profiles_can_serve(self, node, measure, test) -> None:
        """A check that needs what a profile does not keep is a compile-time diagnostic."""
        if not any(source.kind == "profile" for source in self.datasets.values()):
            return
        measures = [measure] + (list(_measures_in(test.rhs)) if isinstance(test, Compare) else [])
        for request in (r for m in measures for r in m.requests()):
            source = self.datasets.get(request.dataset) if request.dataset else None
            if source is None or source.kind != "profile" or source.name in self.schema_errors:
                continue
            from ..profiles import load_profile

            reason = load_profile(source.path, source.name).cannot_serve(request)
            if reason:
                self.fail(node.span, f"`{source.name}` is a profile, which cannot serve {reason}",
                          "profiles serve counts, moments, quantiles and category counts; "
                          "use the raw data for this check (see docs/profiles.md)")

    def _no_profile(self, dataset: str, span, what: str) -> None:
        source = self.datasets.get(dataset)
        if source is not None and source.kind == "profile":
            self.fail(span, f"`{dataset}` is a profile: it has no rows for {what}",
                      "use a dataset with rows (parquet, csv, ...) here")

    def _source_line(self, span: Span) -> str:
        text = self.source.text[span.start:span.end] if span.end > span.start else self.source.line(span.line)
        return " ".join(re.sub(r"\\[ \t]*\r?\n", " ", text).split())

    # ---- names -------------------------------------------------------------------------------------
    def _dataset(self, name: ast.Name | None, span: Span | None, role: str = "dataset") -> str:
        if name is None:
            if not self.datasets and self.broken:
                raise _Abort  # the only dataset's declaration already has a diagnostic
            if not self.datasets:
                self.fail(span, f"this check needs a {role}, and none is declared",
                          'declare one: dataset training = parquet("data/train.parquet")')
            return next(iter(self.datasets))
        return self._expect(name, "dataset")

    def _model(self, name: ast.Name | None, span: Span | None) -> str:
        if name is None:
            if not self.models:
                self.fail(span, "this check needs a model, and none is declared",
                          'declare one: model candidate = sklearn("models/candidate.joblib")')
            return next(iter(self.models))
        return self._expect(name, "model")

    def _expect(self, name: ast.Name, kind: str) -> str:
        table = {"dataset": self.datasets, "model": self.models, "history": self.histories}[kind]
        if name.id in table:
            return name.id
        if name.id in self.broken:
            raise _Abort
        if name.id in self.declared_at:
            other = self.declared_at[name.id][0]
            self.fail(name.span, f"`{name.id}` is a {other}, not a {kind}", _list_hint(kind, table))
        self.fail(name.span, f"unknown {kind} `{name.id}`", did_you_mean(name.id, table) or _list_hint(kind, table))

    # ---- feature checks ----------------------------------------------------------------------------
    def _feature_check(self, node: ast.FeatureCheck) -> None:
        subject = self._dataset(node.subject, node.span)
        options = self._options(node.options, frozenset({"vs", "bins"}), node)
        vs_name = node.vs
        if "vs" in options:
            if vs_name is not None:
                self.fail(options["vs"].span, "`vs` is given twice")
            vs_name = options["vs"].value
        reference = self._expect(vs_name, "dataset") if vs_name is not None else None

        if node.statistic is None:
            if isinstance(node.test, ast.Comparison):
                self.fail(node.test.span, "a comparison needs a statistic to compare",
                          "e.g. `feature age mean < 50` or `feature age between 18 and 100`")
            self._values_between(node, subject, reference, options)
            return

        stat_name = node.statistic.name
        info = catalog.feature_statistic(stat_name.id)
        if info is None:
            self.fail(stat_name.span, f"unknown statistic `{stat_name.id}`",
                      did_you_mean(stat_name.id, [*catalog.FEATURE_STATISTICS, "p95", "median"])
                      or "see `mlc statistics` or docs/language.md")
        low = high = None
        if node.statistic.args:
            if info.arguments == 0:
                self.fail(node.statistic.span, f"`{info.name}` takes no arguments")
            if len(node.statistic.args) != info.arguments:
                self.fail(node.statistic.span, f"`{info.name}(...)` takes {info.arguments} numbers",
                          f"e.g. `{info.name}(18, 100)`")
            low, high = (self._number(v, f"an argument of {info.name}") for v in node.statistic.args)
            if low > high:
                self.fail(node.statistic.span, f"the range [{low:g}, {high:g}] is empty")
        if info.two_sample and reference is None:
            self.fail(stat_name.span, f"`{info.name}` compares two datasets; say which is the reference",
                      f"add `vs {self._other_dataset(subject)}`")
        if reference is not None and not (info.two_sample or info.vs_optional):
            self.fail(vs_name.span, f"`{info.name}` describes one dataset; `vs` is for two-sample statistics",
                      f"to compare with {reference}, write `{info.name} <= {reference}*1.1`")
        if info.name == "out_of_range_rate" and low is None and reference is None:
            self.fail(stat_name.span, "`out_of_range_rate` needs a range: `out_of_range_rate(18, 100)` "
                      "or the range of another dataset: `out_of_range_rate <= 1% vs production`")
        if info.name == "out_of_range_rate" and low is not None and reference is not None:
            self.fail(stat_name.span, "`out_of_range_rate` takes a range or `vs DATASET`, not both",
                      "`out_of_range_rate(18, 100)` checks fixed bounds; `vs production` checks production's "
                      "values against the subject's own range")
        q = catalog.quantile_of(info.name)
        source = self.datasets[subject]
        if q is not None and source.kind == "profile" and subject not in self.schema_errors:
            from ..profiles import GRID

            if abs(q * GRID - round(q * GRID)) > 1e-9:
                self.fail(stat_name.span, f"`{subject}` is a profile, which cannot serve `{info.name}`: it keeps "
                          f"the quantiles at multiples of 1/{GRID}", "p1 … p99, p2.5, p97.5 and the like are served")
        if "bins" in options and not info.options:
            self.fail(options["bins"].key_span, f"`bins` does not apply to `{info.name}`",
                      "it applies to psi, js, hellinger, linf, kl and chi2_pvalue")
        bins = int(options["bins"].number) if "bins" in options else 10

        if isinstance(node.test, ast.Between):
            test: Any = InRange(*self._range(node.test))
        else:
            test = None  # resolved per column below: the right-hand side names the same column

        expanded = list(self._expand(node.selector, subject, info.accepts, info.name))
        if "bins" in options and not any(kind == NUMERIC or problem for _, kind, problem in expanded):
            self.fail(options["bins"].key_span, "`bins` applies to numeric columns",
                      "categorical columns get one bin per category")
        for column, kind, problem in expanded:
            bind_error = problem or self._reference_problem(reference, column, kind)
            measure = ms.FeatureStat(info.name, subject, column, kind, reference, bins, low, high)
            column_test = test
            if column_test is None:
                rebind = lambda other, c=column, k=kind: self._feature_rebind(info, other, c, k, bins, low, high)
                column_test = self._compare(node.test, None, rebind, catalog_kind="feature")
                bind_error = bind_error or self._rhs_problem(column_test, column)
            self._add(node, "data", subject, column, info.name, measure, column_test, bind_error)

    def _values_between(self, node: ast.FeatureCheck, subject: str, reference: str | None, options: dict) -> None:
        if reference is not None:
            self.fail(node.vs.span if node.vs else None, "`between` checks the subject's own values; drop `vs`")
        if "bins" in options:
            self.fail(options["bins"].key_span, "`bins` does not apply to `between`")
        low, high = self._range(node.test)
        for column, kind, problem in self._expand(node.selector, subject, frozenset({NUMERIC}), "between"):
            self._add(node, "data", subject, column, "between", ms.ValuesBetween(subject, column, low, high), Holds(), problem)

    def _range(self, between: ast.Between) -> tuple[float, float]:
        low = self._number(between.low, "the low end of `between`")
        high = self._number(between.high, "the high end of `between`")
        if low > high:
            self.fail(between.span, f"the range [{low:g}, {high:g}] is empty", "write the smaller number first")
        return low, high

    def _feature_rebind(self, info, other: ast.Name, column: str, kind: str, bins, low, high):
        """`production` on the right of `feature income mean <= production*1.1`."""
        if info.two_sample:
            self.fail(other.span, f"`{info.name}` already compares two datasets; the right-hand side must be a number")
        dataset = self._expect(other, "dataset")
        return ms.FeatureStat(info.name, dataset, column, kind, None, bins, low, high)

    def _expand(self, selector: ast.Selector, dataset: str, accepts: frozenset, statistic: str):
        """Yield (column, kind, problem) for each selected column, or report the selector."""
        if dataset in self.schema_errors:
            # The data cannot be read: the checks still appear, as errors, so the gate fails closed.
            for item in selector.items:
                label = item.name.id if isinstance(item, ast.ColumnItem) else item.group
                yield label, OTHER, self.schema_errors[dataset]
            return
        schema = self.schemas[dataset]
        index = self.index_columns.get(dataset, ())
        features = [c for c in schema if c != self.label and c not in self.ignored and c not in index]
        chosen: list[str] = []
        explicit: set[str] = set()
        missing: list[str] = []
        for item in selector.items:
            if isinstance(item, ast.ColumnItem):
                if self._known_column(item.name, dataset, schema):
                    chosen.append(item.name.id)
                else:
                    missing.append(item.name.id)
                explicit.add(item.name.id)
            elif item.group == "*":
                chosen.extend(features)
            else:
                chosen.extend(c for c in features if schema[c][0] == item.group)
        for name in selector.excluded:
            self._known_column(name, dataset, schema)
        excluded = {n.id for n in selector.excluded}
        columns = [c for c in dict.fromkeys(chosen) if c not in excluded]
        # Lenient resolution (data passed to run() replaced the files the contract was compiled
        # against): a column the new data lacks is an `error` result, not a diagnostic.
        for column in missing:
            yield column, OTHER, f"column `{column}` is missing in dataset `{dataset}`"
        if not columns:
            if missing:
                return
            if self.lenient:
                yield _selector_text(selector), OTHER, f"the selector matches no column of dataset `{dataset}`"
                return
            self.fail(selector.span, f"this selects no column of {dataset}")
        wrong = [c for c in columns if schema[c][0] not in accepts]
        if wrong and not self.lenient:
            needs = " or ".join(sorted(accepts))
            shown = ", ".join(f"{_column_shown(c)} ({schema[c][1]})" for c in wrong[:4]) + (" …" if len(wrong) > 4 else "")
            if set(wrong) <= explicit:
                usable = sorted(n for n, i in catalog.FEATURE_STATISTICS.items() if schema[wrong[0]][0] in i.accepts)
                hint = f"`{wrong[0]}` is {schema[wrong[0]][0]}; its statistics include {', '.join(usable[:8])}"
            else:
                refs = ", ".join(_column_ref(c) for c in [c for c in wrong if c][:3])  # a nameless column cannot be written
                code = (f"  except {refs}" if "`" in refs else f" `except {refs}`") if refs else ""
                hint = (f"select `{'numeric' if accepts == frozenset({NUMERIC}) else 'categorical'}` columns"
                        + (f", or add{code}" if code else ""))
            self.fail(selector.span, f"`{statistic}` needs {needs} columns: {shown}", hint)
        for column in columns:
            problem = None
            if column in wrong:
                problem = f"`{statistic}` needs a {' or '.join(sorted(accepts))} column; `{column}` is {schema[column][1]}"
            yield column, schema[column][0], problem

    def _known_column(self, name: ast.Name, dataset: str, schema: dict) -> bool:
        """Report an unknown column (a diagnostic, or in lenient mode just False)."""
        if name.id in schema:
            return True
        if self.lenient:
            return False
        self.fail(name.span, f"unknown column `{name.id}` in dataset `{dataset}`",
                  did_you_mean(name.id, schema) or f"its columns: {', '.join(list(schema)[:8])}")

    def _reference_problem(self, reference: str | None, column: str, kind: str) -> str | None:
        if reference is None:
            return None
        if reference in self.schema_errors:
            return self.schema_errors[reference]
        schema = self.schemas[reference]
        if column not in schema:
            return f"column `{column}` is missing in {reference}"
        if schema[column][0] != kind:
            return f"`{column}` is {kind} in the subject but {schema[column][1]} in {reference}"
        return None

    def _rhs_problem(self, test, column: str) -> str | None:
        for measure in _measures_in(test.rhs):
            if isinstance(measure, ms.FeatureStat):
                problem = self._reference_problem(measure.dataset, column, measure.column_kind)
                if problem:
                    return problem
        return None

    def _labelled_dataset(self) -> str:
        """A dataset to suggest for metrics: labelled, and preferably not the training set."""
        labelled = [d for d, schema in self.schemas.items() if self.label in schema]
        for name in labelled[1:] + labelled[:1] + list(self.datasets):
            return name
        return "holdout"

    def _other_dataset(self, subject: str) -> str:
        return next((d for d in self.datasets if d != subject), "production")

    # ---- schema checks ----------------------------------------------------------------------------
    def _schema_check(self, node: ast.SchemaCheck) -> None:
        subject = self._dataset(node.subject, node.span)
        reference = self._expect(node.reference, "dataset")
        self._options(node.options, frozenset(), node)
        problem = self.schema_errors.get(subject) or self.schema_errors.get(reference)
        excluded = tuple([self.label] if self.label else []) + tuple(self.ignored)
        self._add(node, "data", subject, None, "schema", ms.SchemaMatch(subject, reference, excluded), Holds(), problem)

    # ---- measure comparisons --------------------------------------------------------------------
    def _compare_check(self, node: ast.CompareCheck) -> None:
        options = self._options(node.options, None, node)
        # Models named on the right are timed together with the subject (latency checks).
        self._rhs_models = tuple(r.name.id for r in _refs(node.comparison.rhs) if r.name.id in self.models)
        if isinstance(node.lhs, ast.Gap):
            left = self._measure(node.lhs.left, options, node)
            right = self._measure(node.lhs.right, options, node)
            if left.unit != right.unit or left.kind != right.kind:
                self.fail(node.lhs.span, "the two sides of `-` measure different things")
            resolved = _Resolved(
                ms.Difference(left.measure, right.measure), left.kind, left.subject, left.feature,
                f"{left.statistic} gap", left.unit, None,
            )
        else:
            resolved = self._measure(node.lhs, options, node)
        self._allowed_options(options, resolved, node)
        test = self._compare(node.comparison, resolved.unit, resolved.rebind, catalog_kind=resolved.kind)
        problem = None
        if isinstance(resolved.measure, ms.Rows):
            problem = self.schema_errors.get(resolved.subject)
        self._add(node, resolved.kind, resolved.subject, resolved.feature, resolved.statistic, resolved.measure, test, problem)

    def _measure(self, measure: ast.Measure, options: dict, node) -> _Resolved:
        words = list(measure.words)
        subject_name = None
        if len(words) > 1 and words[0].id in self.broken:
            raise _Abort
        if len(words) > 1 and words[0].id in self.declared_at:
            subject_name = words.pop(0)
        elif len(words) > 1 and not _known_measure([w.id for w in words]) and _known_measure([w.id for w in words[1:]]):
            self.fail(words[0].span, f"unknown name `{words[0].id}`",
                      did_you_mean(words[0].id, self.declared_at) or _list_hint("name", self.declared_at))
        head = [w.id for w in words]
        span = measure.span
        if head == ["rows"]:
            return self._rows(subject_name, measure, span)
        if len(head) == 2 and head[1] == "latency":
            return self._latency(subject_name, words[0], measure, options)
        if head == ["throughput"]:
            return self._latency(subject_name, words[0], measure, options)
        if head[0] == "cv":
            return self._metric(subject_name, words[1:], measure, options, cv=True)
        if head[0] in catalog.METRICS:
            return self._metric(subject_name, words, measure, options, cv=False)
        if len(head) == 1 and (self.histories or (subject_name and subject_name.id in self.histories)):
            return self._curve_value(subject_name, words[0], measure)
        known = [*catalog.METRICS, "rows", "p95 latency", "throughput", *self._curve_names()]
        what = " ".join(head)
        noun = "metric" if measure.on is not None or measure.by is not None else "measure"
        self.fail(words[0].span if len(words) == 1 else span, f"unknown {noun} `{what}`",
                  did_you_mean(what, known) or "e.g. `training rows`, `auc on holdout`, `p95 latency`, `val_loss`")

    def _rows(self, subject_name, measure: ast.Measure, span) -> _Resolved:
        if measure.on is not None or measure.by is not None:
            self.fail(span, "`rows` counts a dataset's rows: write `holdout rows >= 1000`")
        dataset = self._dataset(subject_name, span)

        def rebind(other: ast.Name):
            return ms.Rows(self._expect(other, "dataset"))

        return _Resolved(ms.Rows(dataset), "data", dataset, None, "rows", None, rebind)

    def _metric(self, subject_name, words, measure: ast.Measure, options: dict, cv: bool) -> _Resolved:
        from ..models.quality import metric_measure  # resolves model-quality measures (issue: model quality)

        model = self._model(subject_name, measure.span)
        head = [w.id for w in words]
        if not head or head[0] not in catalog.METRICS:
            bad = words[0] if words else measure.words[0]
            self.fail(bad.span, f"unknown metric `{bad.id}`", did_you_mean(bad.id, catalog.METRICS))
        aggregate = "mean"
        if len(head) > 1:
            if not cv or head[1:] not in (["mean"], ["std"]):
                self.fail(words[1].span, f"unexpected `{' '.join(head[1:])}` after the metric",
                          "cross-validation takes `cv auc` (mean over folds) or `cv auc std`" if cv else None)
            aggregate = head[1]
        metric = head[0]
        dataset_name = measure.on or (options["on"].value if "on" in options else None)
        if dataset_name is None:
            self.fail(measure.span, f"say which dataset `{metric}` is measured on",
                      f"e.g. `{metric} on {self._labelled_dataset()}`")
        dataset = self._expect(dataset_name, "dataset")
        self._no_profile(dataset, measure.span, "model metrics")
        if self.label is None:
            self.fail(measure.span, "model metrics need the label column", "declare it: `label churned`")
        self._label_present(dataset, measure.span)
        segment = None
        if measure.by is not None:
            if cv:
                self.fail(measure.by.span, "`by` segments do not combine with `cv`")
            if dataset not in self.schema_errors:
                self._known_column(measure.by, dataset, self.schemas[dataset])
            segment = measure.by.id
        for key in ("average", "positive"):
            if key in options and key not in catalog.METRIC_PARAMS.get(metric, ()):
                takers = sorted(m for m, keys in catalog.METRIC_PARAMS.items() if key in keys)
                self.fail(options[key].key_span, f"`{key}` does not apply to `{metric}`",
                          f"it applies to {', '.join(takers)}")
        params = _metric_params(options)
        folds = int(options["folds"].number) if "folds" in options else 5
        seed = int(options["seed"].number) if "seed" in options else 0
        min_rows = int(options["min_rows"].number) if "min_rows" in options else 30
        fit_on = next(iter(self.datasets))
        built = metric_measure(metric, model, dataset, params, segment, min_rows, cv, aggregate, folds, seed)

        def rebind(other: ast.Name):
            if other.id in self.models:
                return metric_measure(metric, other.id, dataset, params, segment, min_rows, cv, aggregate, folds, seed)
            if other.id in self.datasets:
                self._label_present(other.id, other.span)
                return metric_measure(metric, model, other.id, params, segment, min_rows, cv, aggregate, folds, seed)
            self._expect(other, "model")

        def baseline(strategy: ast.Name):
            from ..models.quality import baseline_measure

            if cv or segment:
                self.fail(strategy.span, "baselines compare plain holdout metrics (no `cv`, no `by`)")
            task = catalog.METRICS[metric].task
            if strategy.id not in catalog.BASELINE_STRATEGIES:
                self.fail(strategy.span, f"unknown baseline strategy `{strategy.id}`",
                          did_you_mean(strategy.id, catalog.BASELINE_STRATEGIES)
                          or "one of " + ", ".join(catalog.BASELINE_STRATEGIES))
            if catalog.BASELINE_STRATEGIES[strategy.id] != task:
                self.fail(strategy.span, f"`{strategy.id}` is a {catalog.BASELINE_STRATEGIES[strategy.id]} baseline, "
                          f"but `{metric}` is a {task} metric")
            self._no_profile(fit_on, strategy.span, "fitting a baseline (baselines are fitted on the first dataset)")
            return baseline_measure(strategy.id, metric, fit_on, dataset, params)

        rebind.baseline = baseline  # type: ignore[attr-defined]
        label = ("cv " if cv else "") + metric + (" std" if aggregate == "std" else "")
        return _Resolved(built, "model", model, segment, label, None, rebind)

    def _label_present(self, dataset: str, span) -> None:
        if dataset in self.schemas and self.label not in self.schemas[dataset] and not self.lenient:
            self.fail(span, f"dataset `{dataset}` has no label column `{self.label}`",
                      "metrics are measured on labelled data, e.g. a holdout set")

    def _latency(self, subject_name, first: ast.Name, measure: ast.Measure, options: dict) -> _Resolved:
        from ..models.serving import latency_measure

        model = self._model(subject_name, measure.span)
        if measure.by is not None:
            self.fail(measure.by.span, "latency is not segmented with `by`")
        statistic = first.id
        throughput = statistic == "throughput"
        if not throughput and statistic not in catalog.LATENCY_STATISTICS and catalog.quantile_of(statistic) is None:
            self.fail(first.span, f"unknown latency statistic `{statistic}`", "use p50, p95, p99, mean or max")
        dataset_name = measure.on or (options["on"].value if "on" in options else None)
        dataset = self._dataset(dataset_name, measure.span, "dataset to take input rows from")
        self._no_profile(dataset, measure.span, "latency inputs")
        settings = _latency_settings(options)
        if settings["concurrency"] > 1 and self.models[model].kind != "http":
            self.fail(options["concurrency"].span, "`at concurrency` applies to http() models only",
                      f"`{model}` runs in this process; time it without `at concurrency`")
        # Models compared with each other are timed together, call by call, so that machine
        # noise hits all of them alike; a model alone is timed alone.
        others = tuple(m for m in self._rhs_models if m != model)
        group = tuple(sorted({model, *others})) if others else ()
        built = latency_measure(statistic, model, dataset, settings, group)
        unit = "rows/s" if throughput else "s"

        def rebind(other: ast.Name):
            return latency_measure(statistic, self._expect(other, "model"), dataset, settings, group)

        return _Resolved(built, "latency", model, None, f"{statistic} latency" if not throughput else "throughput",
                         unit, rebind)

    def _curve_names(self) -> list[str]:
        return [c for cols in self.history_columns.values() if cols for c in cols]

    def _history(self, name: ast.Name | None, span) -> str:
        if name is not None:
            return self._expect(name, "history")
        if not self.histories:
            self.fail(span, "training-curve checks need a history",
                      'declare one: history run = csv("runs/history.csv")')
        if len(self.histories) > 1:
            self.fail(span, "several histories are declared; say which one",
                      f"e.g. `{next(iter(self.histories))} val_loss not increasing`")
        return next(iter(self.histories))

    def _curve_column(self, history: str, column: ast.Name) -> None:
        from ..models.quality import history_columns

        if history in self.refused:
            self.history_columns[history] = None  # unknown: its checks are errors (_add)
        if history not in self.history_columns:
            self.history_columns[history] = history_columns(self.histories[history], self.history_frames.get(history))
        columns = self.history_columns[history]
        if columns is not None and column.id not in columns:
            self.fail(column.span, f"unknown curve `{column.id}` in history `{history}`",
                      did_you_mean(column.id, columns) or f"its columns: {', '.join(columns)}")

    def _curve_value(self, subject_name, column: ast.Name, measure: ast.Measure) -> _Resolved:
        from ..models.quality import curve_measure

        if measure.on is not None or measure.by is not None:
            self.fail(measure.span, "training curves take no `on`/`by`")
        history = self._history(subject_name, measure.span)
        self._curve_column(history, column)

        def rebind(other: ast.Name):
            other_history = self._expect(other, "history")
            self._curve_column(other_history, column)
            return curve_measure(other_history, column.id)

        return _Resolved(curve_measure(history, column.id), "curve", history, None, column.id, None, rebind)

    def _trend_check(self, node: ast.TrendCheck) -> None:
        from ..models.quality import trend_measure

        words = list(node.words)
        subject_name = words.pop(0) if len(words) > 1 and words[0].id in self.declared_at else None
        if len(words) != 1:
            self.fail(node.span, f"unknown curve `{' '.join(w.id for w in words)}`",
                      "e.g. `val_loss not increasing`")
        history = self._history(subject_name, node.span)
        self._curve_column(history, words[0])
        options = self._options(node.options, catalog.TREND_OPTIONS, node)
        last = int(options["last"].number) if "last" in options else None
        tolerance = options["tolerance"].number if "tolerance" in options else 0.0
        measure = trend_measure(history, words[0].id, node.direction, node.negated, last, tolerance)
        statistic = ("not " if node.negated else "") + node.direction
        self._add(node, "curve", history, words[0].id, statistic, measure, Holds())

    # ---- robustness ---------------------------------------------------------------------------------
    def _handles_check(self, node: ast.HandlesCheck) -> None:
        from ..models.serving import robustness_measure

        model = self._model(node.model, node.span)
        case = " ".join(w.id for w in node.case)
        if case not in catalog.ROBUSTNESS_CASES:
            self.fail(node.case[0].span, f"unknown robustness case `{case}`",
                      did_you_mean(case, catalog.ROBUSTNESS_CASES) or "one of: " + ", ".join(catalog.ROBUSTNESS_CASES))
        options = self._options(node.options, catalog.ROBUSTNESS_OPTIONS, node)
        dataset = self._dataset(options["on"].value if "on" in options else None, node.span,
                                "dataset to build cases from")
        self._no_profile(dataset, node.span, "robustness cases")
        seed = int(options["seed"].number) if "seed" in options else 0
        base_rows = int(options["rows"].number) if "rows" in options else 20
        if case == "rows":
            if node.path is None:
                self.fail(node.span, "`handles rows` needs a file of rows", 'e.g. `handles rows from "edge_cases.parquet"`')
            path = resolve_path(self.base_dir, node.path.value)
            measure = robustness_measure(model, case, None, dataset, str(path), seed, base_rows)
            reason = self._refusal(path)
            refused = f"rows file: refused to read {node.path.value}: {reason}" if reason else None
            self._add(node, "robustness", model, None, "handles rows", measure, Holds(), refused)
            return
        if node.path is not None:
            self.fail(node.path.span, f"`from` applies to `handles rows`, not `handles {case}`")
        accepts = {
            "unseen categories": frozenset({CATEGORICAL}),
            "empty strings": frozenset({CATEGORICAL}),
            "long text": frozenset({CATEGORICAL}),
            "out_of_range": frozenset({NUMERIC}),
        }.get(case, catalog.ANY_TYPE)
        selector = node.selector or ast.Selector((ast.GroupItem("*", span=node.span),), span=node.span)
        for column, kind, problem in self._expand(selector, dataset, accepts, f"handles {case}"):
            measure = robustness_measure(model, case, column, dataset, None, seed, base_rows)
            self._add(node, "robustness", model, column, f"handles {case}", measure, Holds(), problem)

    # ---- comparisons, expressions and units --------------------------------------------------------
    def _compare(self, comparison: ast.Comparison, unit: str | None, rebind, catalog_kind: str) -> Compare:
        rhs = self._expr(comparison.rhs, rebind, catalog_kind)
        rhs_unit = self._unit_of(rhs, unit, comparison.rhs)
        if rhs_unit != unit and not _is_zero(rhs):
            self.fail(comparison.rhs.span, _unit_message(unit, rhs_unit), _unit_hint(unit, rhs_unit))
        text = self.source.text[comparison.rhs.span.start:comparison.rhs.span.end]
        return Compare(comparison.op, rhs, " ".join(text.split()))

    def _expr(self, node, rebind, kind: str):
        if isinstance(node, ast.Number):
            if not math.isfinite(node.value):
                self.fail(node.span, f"`{node.text}` is too large a number")
            return Const(node.value, node.unit if node.unit in ("s", "rows/s") else None, node.text)
        if isinstance(node, ast.Neg):
            return Negate(self._expr(node.operand, rebind, kind))
        if isinstance(node, ast.BinOp):
            return Arith(node.op, self._expr(node.left, rebind, kind), self._expr(node.right, rebind, kind))
        if isinstance(node, ast.Baseline):
            baseline = getattr(rebind, "baseline", None) if rebind else None
            if baseline is None:
                self.fail(node.span, "`baseline` compares a model metric with a naive model",
                          "e.g. `accuracy on holdout > baseline most_frequent`")
            return MeasureRef(baseline(node.strategy), f"baseline {node.strategy.id}")
        if isinstance(node, ast.Ref):
            if rebind is None:
                self.fail(node.span, f"`{node.name.id}` cannot stand for a value here; use a number")
            if node.name.id not in self.declared_at:
                known = list(self.declared_at)
                self.fail(node.name.span, f"unknown name `{node.name.id}`",
                          did_you_mean(node.name.id, known) or "a name on the right stands for the same measure on "
                          "that dataset or model, e.g. `production*1.1`")
            return MeasureRef(rebind(node.name), node.name.id)
        raise AssertionError(f"unexpected expression {node!r}")

    def _unit_of(self, expr, lhs_unit: str | None, node) -> str | None:
        if isinstance(expr, Const):
            return expr.unit
        if isinstance(expr, MeasureRef):
            return lhs_unit  # the same measure on another thing has the same unit
        if isinstance(expr, Negate):
            return self._unit_of(expr.operand, lhs_unit, node)
        left = self._unit_of(expr.left, lhs_unit, node)
        right = self._unit_of(expr.right, lhs_unit, node)
        if expr.op in "+-":
            if left != right and not (_is_zero(expr.left) or _is_zero(expr.right)):
                self.fail(node.span, f"cannot {'add' if expr.op == '+' else 'subtract'} {_unit_name(right)} "
                          f"{'to' if expr.op == '+' else 'from'} {_unit_name(left)}", _unit_hint(lhs_unit, right))
            return left or right
        if left and right:
            self.fail(node.span, f"cannot {'multiply' if expr.op == '*' else 'divide'} {_unit_name(left)} "
                      f"by {_unit_name(right)}")
        if expr.op == "/" and right:
            self.fail(node.span, f"cannot divide a number by {_unit_name(right)}")
        return left or right

    # ---- options ---------------------------------------------------------------------------------
    def _options(self, options: tuple[ast.Option, ...], allowed: frozenset | None, node) -> dict:
        """Validate option names (against `allowed` when given) and values; return by key."""
        found: dict[str, _Opt] = {}
        for option in options:
            key = option.key
            if key in found:
                self.fail(option.span, f"`{key}` is given twice")
            if allowed is not None and key not in allowed:
                self._unknown_option(option, allowed)
            if key in ("vs", "on"):
                found[key] = _Opt(option.value, None, option.span, option.key_span)
                continue
            spec = catalog.OPTION_SPECS.get(key)
            if spec is None:
                self._unknown_option(option, allowed or frozenset(catalog.OPTION_SPECS))
            if key == "last" and option.unit not in ("epochs", "epoch"):
                self.fail(option.key_span, f"`over last N` counts epochs, not `{option.unit}`",
                          "e.g. `val_loss not increasing over last 5 epochs`")
            found[key] = _Opt(option.value, self._option_value(option, spec), option.span, option.key_span)
        return found

    def _unknown_option(self, option: ast.Option, allowed) -> None:
        shown = sorted(set(allowed) - {"vs", "on"})
        hint = did_you_mean(option.key, allowed) or (
            "options here: " + ", ".join(f"`{k}`" for k in shown) if shown else "this check takes no options")
        self.fail(option.key_span, f"unknown option `{option.key}`", hint)

    def _option_value(self, option: ast.Option, spec: catalog.OptionSpec):
        value = option.value
        if spec.kind == "word":
            word = value.name.id if isinstance(value, ast.Word) else None
            if word not in spec.choices:
                self.fail(value.span, f"`{option.key}` takes one of " + ", ".join(spec.choices))
            return word
        if spec.kind == "value":
            return _plain_value(value)
        number = self._number(value, f"`{option.key}`")
        if spec.minimum is not None and number < spec.minimum:
            self.fail(value.span, f"`{option.key}` must be at least {spec.minimum:g}")
        if spec.maximum is not None and number > spec.maximum:
            self.fail(value.span, f"`{option.key}` must be at most {spec.maximum:,.0f}")
        if spec.kind == "int" and number != int(number):
            self.fail(value.span, f"`{option.key}` takes a whole number")
        return int(number) if spec.kind == "int" else number

    def _allowed_options(self, options: dict, resolved: _Resolved, node) -> None:
        allowed = {
            "data": frozenset(),
            "model": catalog.METRIC_OPTIONS,
            "latency": catalog.LATENCY_OPTIONS,
            "curve": frozenset(),
        }[resolved.kind]
        for key, opt in options.items():
            if key not in allowed:
                shown = sorted(set(allowed) - {"on"})
                self.fail(opt.key_span, f"option `{key}` does not apply to {resolved.statistic}",
                          did_you_mean(key, allowed) or ("options here: " + ", ".join(f"`{k}`" for k in shown)
                                                         if shown else "this check takes no options"))

    def _number(self, value, what: str) -> float:
        number = None
        if isinstance(value, ast.Neg) and isinstance(value.operand, ast.Number) and value.operand.unit is None:
            number = -value.operand.value
        elif isinstance(value, ast.Number) and value.unit in (None, "%"):
            number = value.value
        if number is None:
            self.fail(getattr(value, "span", None), f"{what} must be a number")
        if not math.isfinite(number):
            self.fail(value.span, f"{what} is too large a number")
        return number


@dataclass
class _Opt:
    value: Any
    number: Any
    span: Span
    key_span: Span


# ---- small helpers ---------------------------------------------------------------------------------
def _is_check(node) -> bool:
    return isinstance(node, (ast.FeatureCheck, ast.SchemaCheck, ast.CompareCheck, ast.TrendCheck, ast.HandlesCheck))


def _plain_value(value) -> Any:
    if isinstance(value, ast.Number):
        whole = math.isfinite(value.value) and value.value == int(value.value) and value.unit is None
        return int(value.value) if whole else value.value
    if isinstance(value, ast.String):
        return value.value
    if isinstance(value, ast.Word):
        return {"true": True, "false": False}.get(value.name.id, value.name.id)
    if isinstance(value, ast.Neg):
        return -_plain_value(value.operand)
    return value


# Request fields that hold a column, a case or a file rather than a dataset, model or history.
_NOT_SOURCE_FIELDS = frozenset({"name", "column", "feature", "by", "case", "metric", "strategy", "path"})


def _names_used(measures) -> list[str]:
    """The dataset, model and history names the measures' requests (and what they depend on)
    name, read off the requests' fields: requests of every module say which source they use."""
    names: list[str] = []
    stack = [request for measure in measures for request in measure.requests()]
    seen: set[int] = set()
    while stack:
        request = stack.pop()
        if id(request) in seen or not dataclasses.is_dataclass(request):
            continue
        seen.add(id(request))
        stack.extend(request.depends_on())
        for field in dataclasses.fields(request):
            if field.name in _NOT_SOURCE_FIELDS:
                continue
            value = getattr(request, field.name)
            if isinstance(value, str):
                names.append(value)
            elif isinstance(value, tuple):
                names.extend(v for v in value if isinstance(v, str))
            elif dataclasses.is_dataclass(value) and not isinstance(value, type):
                stack.append(value)
    return names


def _measures_in(expr):
    if isinstance(expr, MeasureRef):
        yield expr.measure
    elif isinstance(expr, Arith):
        yield from _measures_in(expr.left)
        yield from _measures_in(expr.right)
    elif isinstance(expr, Negate):
        yield from _measures_in(expr.operand)


_SOURCE_OPTION_TYPES = {
    "separator": ("one character", lambda v: isinstance(v, str) and len(v) == 1),
    "quote_char": ("one character", lambda v: isinstance(v, str) and len(v) <= 1),
    "has_header": ("`true` or `false`", lambda v: isinstance(v, bool)),
    "glob": ("`true` or `false`", lambda v: isinstance(v, bool)),
    "decimal_comma": ("`true` or `false`", lambda v: isinstance(v, bool)),
    "skip_rows": ("a whole number of at least 0", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0),
    "infer_schema_length": ("a whole number of at least 0",
                            lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0),
    "null_values": ("a string", lambda v: isinstance(v, str)),
    "encoding": ('"utf8" or "utf8-lossy"', lambda v: v in ("utf8", "utf8-lossy")),
    "timeout": ("a positive number of seconds or a duration", lambda v: isinstance(v, (int, float)) and v > 0),
    "format": ('"records" or "mlflow"', lambda v: v in ("records", "mlflow")),
    "trusted": ("a comma-separated string of type names", lambda v: isinstance(v, str)),
}


def _source_option_problem(key: str, value) -> str | None:
    """What is wrong with a source option's value, if anything (checked before any data is read)."""
    expected = _SOURCE_OPTION_TYPES.get(key)
    if expected is None or expected[1](value):
        return None
    return f"takes {expected[0]}, not {value!r}"


def _column_ref(column: str) -> str:
    """A column as a contract writes it: quoted with backticks unless it is a plain name."""
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*", column) and column not in ("numeric", "categorical")
    return column if plain else f"`{column}`"


def _column_shown(column: str) -> str:
    return f"`{column}`" if column else "a column without a name"


def _selector_text(selector: ast.Selector) -> str:
    return ", ".join(i.name.id if isinstance(i, ast.ColumnItem) else i.group for i in selector.items)


def _known_measure(words: list[str]) -> bool:
    """Whether the words (after a subject) name a measure: `rows`, `p95 latency`, `auc`, ..."""
    if words == ["rows"] or words == ["throughput"]:
        return True
    if len(words) == 2 and words[1] == "latency":
        return True
    return bool(words) and (words[0] in catalog.METRICS or (words[0] == "cv" and len(words) > 1))


def _refs(node):
    """Every `Ref` in a right-hand side AST."""
    if isinstance(node, ast.Ref):
        yield node
    elif isinstance(node, ast.BinOp):
        yield from _refs(node.left)
        yield from _refs(node.right)
    elif isinstance(node, ast.Neg):
        yield from _refs(node.operand)


def _is_zero(expr) -> bool:
    return isinstance(expr, Const) and expr.value == 0


def _unit_name(unit: str | None) -> str:
    return {"s": "a duration", "rows/s": "a rate in rows/s", None: "a plain number"}[unit]


def _unit_message(expected: str | None, got: str | None) -> str:
    return f"expected {_unit_name(expected)}, got {_unit_name(got)}"


def _unit_hint(unit: str | None, given: str | None = None) -> str | None:
    if unit is None:
        return {"s": "durations (`50ms`) are for latency checks only",
                "rows/s": "rates (`1000 rows/s`) are for throughput checks only"}.get(given)
    return {
        "s": "latency takes a duration such as `250ms`, or another model: `prod*1.1`",
        "rows/s": "throughput takes a rate such as `1000 rows/s`",
    }[unit]


def _list_hint(kind: str, table: dict) -> str | None:
    if not table:
        return f"no {kind} is declared"
    return f"declared {kind}s: " + ", ".join(f"`{n}`" for n in table)


def _example_path(kind: str) -> str:
    return {
        "parquet": "data/train.parquet", "csv": "data/train.csv", "ipc": "data/train.arrow",
        "ndjson": "data/train.ndjson", "profile": "prod.profile.json", "sklearn": "models/model.joblib",
        "skops": "models/model.skops", "onnx": "models/model.onnx", "http": "http://127.0.0.1:8000/predict",
        "json": "runs/history.json",
    }.get(kind, "path")


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
