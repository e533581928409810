"""The typed AST: what a contract *says*, before any name is resolved.

Nodes are frozen dataclasses. Every node carries a `span`, excluded from equality and hashing,
so two checks that say the same thing compare equal wherever they are written; that is what
lets the planner deduplicate by hashing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from .source import Span

_NO_SPAN = Span(0, 0, 0, 0, 0, 0)


def _span() -> Span:
    return field(default=_NO_SPAN, compare=False, hash=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Name:
    id: str
    span: Span = _span()

    def __str__(self) -> str:
        return self.id


# ---- values and expressions --------------------------------------------------------------
@dataclass(frozen=True)
class Number:
    """A literal. `unit` is None, "%" (value already divided by 100), "s" (value in seconds)
    or "rows/s"; `text` keeps what the user wrote for messages."""

    value: float
    unit: str | None = None
    text: str = ""
    span: Span = _span()


@dataclass(frozen=True)
class String:
    value: str
    span: Span = _span()


@dataclass(frozen=True)
class Word:
    """A bare word used as a value, e.g. `average macro`."""

    name: Name
    span: Span = _span()


@dataclass(frozen=True)
class Ref:
    """A name on the right of a comparison: the same measure on that dataset/model/history."""

    name: Name
    span: Span = _span()


@dataclass(frozen=True)
class Baseline:
    """`baseline most_frequent`: the same metric for a sklearn.dummy model."""

    strategy: Name
    span: Span = _span()


@dataclass(frozen=True)
class BinOp:
    op: str
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Neg:
    operand: "Expr"
    span: Span = _span()


Expr = Union[Number, Ref, Baseline, BinOp, Neg]
Value = Union[Number, String, Word, Neg]


# ---- declarations ------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceCall:
    """`parquet("data/train.parquet")`, `csv("x.csv", separator=";")`."""

    format: Name
    args: tuple[String, ...] = ()
    kwargs: tuple[tuple[Name, Value], ...] = ()
    span: Span = _span()


@dataclass(frozen=True)
class ContractDecl:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class DatasetDecl:
    name: Name
    source: SourceCall
    span: Span = _span()


@dataclass(frozen=True)
class ModelDecl:
    name: Name
    source: SourceCall
    span: Span = _span()


@dataclass(frozen=True)
class HistoryDecl:
    name: Name
    source: SourceCall
    span: Span = _span()


@dataclass(frozen=True)
class LabelDecl:
    column: Name
    span: Span = _span()


@dataclass(frozen=True)
class IgnoreDecl:
    columns: tuple[Name, ...]
    span: Span = _span()


# ---- pieces of checks --------------------------------------------------------------------
@dataclass(frozen=True)
class Option:
    """A trailing modifier. `key` is normalised: `bins 20` → bins, `with 5 folds` → folds,
    `at batch 1` → batch, `over last 5 epochs` → last, `vs production` → vs, `on holdout` → on."""

    key: str
    value: Value | Name
    key_span: Span = field(default=_NO_SPAN, compare=False, hash=False, repr=False)
    unit: str | None = None  # the word after the number in `over last 5 epochs`
    span: Span = _span()


@dataclass(frozen=True)
class ColumnItem:
    name: Name
    span: Span = _span()


@dataclass(frozen=True)
class GroupItem:
    """`*`, `numeric` or `categorical`."""

    group: str
    span: Span = _span()


@dataclass(frozen=True)
class Selector:
    items: tuple[ColumnItem | GroupItem, ...]
    excluded: tuple[Name, ...] = ()
    span: Span = _span()


@dataclass(frozen=True)
class Statistic:
    name: Name
    args: tuple[Value, ...] = ()
    span: Span = _span()


@dataclass(frozen=True)
class Comparison:
    op: str
    rhs: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Between:
    low: Value
    high: Value
    span: Span = _span()


@dataclass(frozen=True)
class MeasurePhrase:
    """`[SUBJECT] WORDS [on DATASET] [by COLUMN]` — what a compare check measures, in words; the
    resolver finds the measure it names."""

    words: tuple[Name, ...]
    on: Name | None = None
    by: Name | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Gap:
    """`MEASURE - MEASURE`, e.g. `auc on training - auc on holdout`."""

    left: MeasurePhrase
    right: MeasurePhrase
    span: Span = _span()


# ---- checks ------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeatureCheck:
    selector: Selector
    subject: Name | None
    statistic: Statistic | None
    vs: Name | None
    test: Comparison | Between
    options: tuple[Option, ...] = ()
    warn: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class SchemaCheck:
    subject: Name | None
    reference: Name
    options: tuple[Option, ...] = ()
    warn: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class CompareCheck:
    lhs: MeasurePhrase | Gap
    comparison: Comparison
    options: tuple[Option, ...] = ()
    warn: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class TrendCheck:
    """`val_loss not increasing [over last 5 epochs] [tolerance 0.001]`."""

    words: tuple[Name, ...]
    negated: bool
    direction: str  # "increasing" | "decreasing"
    options: tuple[Option, ...] = ()
    warn: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class HandlesCheck:
    """`[MODEL] handles CASE [in FEATURES] [from "FILE"]`."""

    model: Name | None
    case: tuple[Name, ...]
    selector: Selector | None
    path: String | None
    options: tuple[Option, ...] = ()
    warn: bool = False
    span: Span = _span()


Check = Union[FeatureCheck, SchemaCheck, CompareCheck, TrendCheck, HandlesCheck]
Declaration = Union[ContractDecl, DatasetDecl, ModelDecl, HistoryDecl, LabelDecl, IgnoreDecl]


@dataclass(frozen=True)
class Module:
    """A whole contract file: its statements in order."""

    statements: tuple[Declaration | Check, ...]
    span: Span = _span()
