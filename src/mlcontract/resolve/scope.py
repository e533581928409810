"""The Scope: what every statement family of the resolver shares while one contract is resolved.

Declarations (datasets, models, histories, label, ignored columns), the schemas read from the
data, the sources the contract may not read, the diagnostics found so far, the checks built so
far, and the helpers every family uses: name lookups, options and numbers, `add` (one checked
spec), `source_line`. A family module (declarations.py, features.py, measures.py, curves.py,
robustness.py) is a set of functions taking the Scope; none of them keeps state of its own.

A problem records a Diagnostic; `fail` also abandons the statement (raises `Abort`, caught by
the driver in resolve/__init__.py), so every statement is visited and every problem reported.
"""
from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any, NoReturn

from ..grants import Confinement, Grants
from ..language import ast
from ..language.diagnostics import did_you_mean
from ..language.source import Diagnostic, SourceText, Span
from ..sources import holds_summaries
from .contract import (
    CheckedContract,
    CheckKind,
    CheckSpec,
    Compare,
    DatasetSource,
    HistorySource,
    ModelSource,
    measures_in,
)
from .options import OPTION_SPECS, Opt, OptionSpec, plain_value


class Abort(Exception):
    """Stop resolving one statement after its diagnostic was recorded."""


class Scope:
    def __init__(self, source: SourceText, base_dir: Path, frames: dict, objects: dict, histories: dict,
                 lenient: bool = False, grants: Grants | None = None, engine: Any = None):
        self.source = source
        # The engine the contract is compiled for, when it reads sources its own way (the Spark
        # engine: catalog tables, URIs, Spark's types); None: the local engine (sources.datasets).
        self.engine = engine
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
        self.declared_at: dict[str, tuple[str, Span | None]] = {}  # None: passed in through the API
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
        # Views (`training where age < 0`: resolve/conditions.py), datasets of their own to the
        # planner but not names a contract can use.
        self.views: dict[str, DatasetSource] = {}
        self.metrics: dict[str, Path] = {}  # `metrics NAME = json(PATH)`: references.py
        self.missing_decls: list[ast.MissingDecl] = []  # applied once the schemas are read

    def contract(self) -> CheckedContract:
        """The checked contract built from everything resolved (once there is no diagnostic)."""
        return CheckedContract(
            name=self.name,
            path=Path(self.source.path) if self.source.path != "<contract>" else None,
            base_dir=self.base_dir,
            datasets={**self.datasets, **self.views},
            models=self.models,
            histories=self.histories,
            label=self.label,
            ignored=tuple(self.ignored),
            checks=self.checks,
            grants=self.grants,
        )

    # ---- diagnostics -------------------------------------------------------------------------
    def error(self, span: Span | None, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(span, message, hint))

    def fail(self, span: Span | None, message: str, hint: str | None = None) -> NoReturn:
        self.error(span, message, hint)
        raise Abort

    # ---- checks ------------------------------------------------------------------------------
    def add(self, node, kind: CheckKind, subject: str, feature: str | None, statistic: str, measure, test,
            bind_error: str | None = None, *, unit: str | None = None, from_selector: bool = False) -> None:
        """Append one checked spec for the statement `node`."""
        if bind_error is None:
            bind_error = self._refused_sources([measure, *(measures_in(test.rhs) if isinstance(test, Compare) else ())])
        if bind_error is None:
            self._profiles_can_serve(node, measure, test)
        self.checks.append(
            CheckSpec(
                index=len(self.checks),
                line=node.span.line,
                source=self.source_line(node.span),
                kind=kind,
                subject=subject,
                feature=feature,
                statistic=statistic,
                measure=measure,
                test=test,
                blocking=not node.warn,
                span=node.span,
                bind_error=bind_error,
                unit=unit,
                display_unit=getattr(test, "display_unit", None),
                from_selector=from_selector,
            )
        )

    def refusal(self, path: Path, pattern: str | None = None) -> str | None:
        """Why the contract may not read `path` (grants.py), or None."""
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

    def _profiles_can_serve(self, node, measure, test) -> None:
        """A check that needs what a profile does not keep is a compile-time diagnostic."""
        if not any(holds_summaries(source) for source in self.datasets.values()):
            return
        from ..plan import requests_of

        measures = [measure] + (list(measures_in(test.rhs)) if isinstance(test, Compare) else [])
        for request in requests_of(measures):
            source = self.datasets.get(request.dataset) if request.dataset else None
            if not holds_summaries(source) or source.name in self.schema_errors:
                continue
            from ..engines.profile import cannot_serve
            from ..profiles import load_profile

            reason = cannot_serve(load_profile(source.path, source.name), request)
            if reason:
                self.fail(node.span, f"`{source.name}` is a profile, which cannot serve {reason}",
                          "profiles serve counts, moments, quantiles and category counts; "
                          "use the raw data for this check (see docs/profiles.md)")

    def no_profile(self, dataset: str, span, what: str) -> None:
        source = self.datasets.get(dataset)
        if holds_summaries(source):
            self.fail(span, f"`{dataset}` is a profile: it has no rows for {what}",
                      "use a dataset with rows (parquet, csv, ...) here")

    def source_line(self, span: Span) -> str:
        text = self.source.text[span.start:span.end] if span.end > span.start else self.source.line(span.line)
        return " ".join(re.sub(r"\\[ \t]*\r?\n", " ", text).split())

    # ---- names -------------------------------------------------------------------------------
    def dataset(self, name: ast.Name | None, span: Span | None, role: str = "dataset") -> str:
        if name is None:
            if not self.datasets and self.broken:
                raise Abort  # the only dataset's declaration already has a diagnostic
            if not self.datasets:
                self.fail(span, f"this check needs a {role}, and none is declared",
                          'declare one: dataset training = parquet("data/train.parquet")')
            return next(iter(self.datasets))
        return self.expect(name, "dataset")

    def model(self, name: ast.Name | None, span: Span | None) -> str:
        if name is None:
            if not self.models:
                self.fail(span, "this check needs a model, and none is declared",
                          'declare one: model candidate = sklearn("models/candidate.joblib")')
            return next(iter(self.models))
        return self.expect(name, "model")

    def history(self, name: ast.Name | None, span) -> str:
        if name is not None:
            return self.expect(name, "history")
        if not self.histories:
            self.fail(span, "training-curve checks need a history",
                      'declare one: history run = csv("runs/history.csv")')
        if len(self.histories) > 1:
            self.fail(span, "several histories are declared; say which one",
                      f"e.g. `{next(iter(self.histories))} val_loss not increasing`")
        return next(iter(self.histories))

    def expect(self, name: ast.Name, role: str) -> str:
        """The declared dataset, model or history (`role`) that `name` names."""
        tables: dict[str, dict] = {"dataset": self.datasets, "model": self.models, "history": self.histories}
        table = tables[role]
        if name.id in table:
            return name.id
        if name.id in self.broken:
            raise Abort
        if name.id in self.declared_at:
            other = self.declared_at[name.id][0]
            self.fail(name.span, f"`{name.id}` is a {other}, not a {role}", list_hint(role, table))
        self.fail(name.span, f"unknown {role} `{name.id}`", did_you_mean(name.id, table) or list_hint(role, table))

    # ---- options and numbers ---------------------------------------------------------------------
    def options(self, options: tuple[ast.Option, ...], allowed: frozenset | None, node) -> dict[str, Opt]:
        """Validate option names (against `allowed` when given) and values; return by key."""
        found: dict[str, Opt] = {}
        for option in options:
            key = option.key
            if key in found:
                self.fail(option.span, f"`{key}` is given twice")
            if allowed is not None and key not in allowed:
                self.unknown_option(option, allowed)
            if key in ("vs", "on"):
                found[key] = Opt(option.value, None, option.span, option.key_span)
                continue
            spec = OPTION_SPECS.get(key)
            if spec is None:
                self.unknown_option(option, allowed or frozenset(OPTION_SPECS))
            if key == "last" and option.unit not in ("epochs", "epoch"):
                self.fail(option.key_span, f"`over last N` counts epochs, not `{option.unit}`",
                          "e.g. `val_loss not increasing over last 5 epochs`")
            found[key] = Opt(option.value, self.option_value(option, spec), option.span, option.key_span)
        return found

    def unknown_option(self, option: ast.Option, allowed) -> NoReturn:
        shown = sorted(set(allowed) - {"vs", "on"})
        hint = did_you_mean(option.key, allowed) or (
            "options here: " + ", ".join(f"`{k}`" for k in shown) if shown else "this check takes no options")
        self.fail(option.key_span, f"unknown option `{option.key}`", hint)

    def option_value(self, option: ast.Option, spec: OptionSpec):
        value = option.value
        if spec.value_type == "word":
            word = value.name.id if isinstance(value, ast.Word) else None
            if word not in spec.choices:
                self.fail(value.span, f"`{option.key}` takes one of " + ", ".join(spec.choices))
            return word
        if spec.value_type == "value":
            return plain_value(value)
        number = self.number(value, f"`{option.key}`")
        if spec.minimum is not None and number < spec.minimum:
            self.fail(value.span, f"`{option.key}` must be at least {spec.minimum:g}")
        if spec.maximum is not None and number > spec.maximum:
            self.fail(value.span, f"`{option.key}` must be at most {spec.maximum:,.0f}")
        if spec.value_type == "int" and number != int(number):
            self.fail(value.span, f"`{option.key}` takes a whole number")
        return int(number) if spec.value_type == "int" else number

    def number(self, value, what: str) -> float:
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


# ---- helpers the families share ------------------------------------------------------------------
def list_hint(noun: str, table: dict) -> str | None:
    if not table:
        return f"no {noun} is declared"
    return f"declared {noun}s: " + ", ".join(f"`{n}`" for n in table)


def column_ref(column: str) -> str:
    """A column as a contract writes it: quoted with backticks unless it is a plain name."""
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*", column) and column not in ("numeric", "categorical")
    return column if plain else f"`{column}`"


# Request fields that hold a column, a case or a file rather than a dataset, model or history.
_NOT_SOURCE_FIELDS = frozenset({"name", "column", "feature", "by", "case", "metric", "strategy", "path"})


def _names_used(measures) -> list[str]:
    """The dataset, model and history names the measures' requests (and what they depend on)
    name, read off the requests' fields: requests of every module say which source they use."""
    names: list[str] = []
    from ..plan import requests_of

    stack: list = requests_of(measures)  # requests, then the dataclasses in their fields
    seen: set[int] = set()
    while stack:
        request = stack.pop()
        if id(request) in seen or not dataclasses.is_dataclass(type(request)):  # an instance (type() keeps its type)
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
