"""The typed AST: what a contract *says*, before any name is resolved.

Nodes are frozen dataclasses. Every node carries a `span`, excluded from equality and hashing,
so two checks that say the same thing compare equal wherever they are written; that is what
lets the planner deduplicate by hashing.

Fields added for a form that a contract may leave out default to "not written" (None or an
empty tuple), so a statement that does not use the form builds the same node as before the
form existed.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field

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
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Neg:
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Bool:
    """`true` or `false`, where a literal is expected (value sets, lists, maps, right-hand
    sides, conditions). In an option (`decimal_comma=true`) the word stays a `Word`."""

    value: bool
    span: Span = _span()


@dataclass(frozen=True)
class Null:
    """`null`, where a literal is expected."""

    span: Span = _span()


@dataclass(frozen=True)
class Temporal:
    """A date `2026-01-31` or a datetime `2026-01-31T12:00Z`, `2026-01-31T12:00:00.5+02:00`.

    `value` is a `datetime.date` for a date, a `datetime.datetime` otherwise: aware (tzinfo set)
    when the text ends with `Z` or an offset, naive when it has none. `text` is what was written."""

    value: datetime.date | datetime.datetime
    text: str
    span: Span = _span()


@dataclass(frozen=True)
class MetricRef:
    """`monitoring.auc` on a right-hand side, where `monitoring` is declared by `metrics
    monitoring = json(...)`: the number at `path` (one name per dotted part) in that source.
    Built by transform.py from a dotted `Ref` whose first part names a metrics declaration of
    the contract; any other dotted name stays a `Ref`."""

    source: Name
    path: tuple[Name, ...]
    span: Span = _span()


Expr = Number | Ref | Baseline | BinOp | Neg | String | Bool | Null | Temporal | MetricRef
Value = Number | String | Word | Neg | Temporal
# What value sets, lists and maps hold. A negative number is `Neg(Number)`; `literal_value`
# gives the Python value of any of them.
Literal = Number | String | Bool | Null | Temporal | Neg


@dataclass(frozen=True)
class ListLiteral:
    """`("basic", "pro")` after `in` and in `missing`, or `["NA", "?"]` in a source call."""

    items: tuple[Literal, ...]
    span: Span = _span()


@dataclass(frozen=True)
class MapItem:
    key: Literal
    value: Literal
    span: Span = _span()


@dataclass(frozen=True)
class MapLiteral:
    """`{"basic": 0.6, "pro": 0.4}`: keys and values in the order written (duplicates kept,
    for the resolver to report)."""

    items: tuple[MapItem, ...]
    span: Span = _span()


def literal_value(node: Literal):
    """The Python value of a literal: int (integers stay exact), float (a percentage already
    divided by 100, a duration in seconds), str, bool, None, datetime.date/datetime."""
    if isinstance(node, Neg):
        return -literal_value(node.operand)  # type: ignore[arg-type]  # a literal's Neg negates a Number
    if isinstance(node, Null):
        return None
    return node.value


# ---- row conditions (`where`) ---------------------------------------------------------------
@dataclass(frozen=True)
class ColumnRef:
    """A column in a condition, bare (`age`) or quoted (`` `loan amount` ``)."""

    name: Name
    span: Span = _span()


# An operand of a condition: a column, a literal, or arithmetic on them (`BinOp`, `Neg`).
Operand = ColumnRef | Number | String | Bool | Null | Temporal | BinOp | Neg


@dataclass(frozen=True)
class CompareCond:
    """`left OP right`, OP one of < <= > >= == !=."""

    op: str
    left: Operand
    right: Operand
    span: Span = _span()


@dataclass(frozen=True)
class InCond:
    """`operand [not] in (LITERAL, ...)`."""

    operand: Operand
    values: ListLiteral
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class IsNullCond:
    """`operand is [not] null`."""

    operand: Operand
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class NotCond:
    operand: Condition
    span: Span = _span()


@dataclass(frozen=True)
class LogicCond:
    """`a and b and c` / `a or b`: one node per run of the same operator (`and` binds tighter
    than `or`), so a long chain is flat rather than deep."""

    op: str  # "and" | "or"
    operands: tuple[Condition, ...]
    span: Span = _span()


Condition = CompareCond | InCond | IsNullCond | NotCond | LogicCond


# ---- declarations ------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceCall:
    """`parquet("data/train.parquet")`, `csv("x.csv", separator=";", null_values=["NA", ""])`."""

    format: Name
    args: tuple[String, ...] = ()
    kwargs: tuple[tuple[Name, Value | ListLiteral], ...] = ()
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
class MetricsDecl:
    """`metrics monitoring = json("monitoring/prod.json")`: named numbers from outside the data."""

    name: Name
    source: SourceCall
    span: Span = _span()


@dataclass(frozen=True)
class MissingDecl:
    """`missing income, age = (-1, "NA")`: values that mean "missing" in these columns, in every
    dataset. `missing age = -1`, one value, is a list of one."""

    columns: tuple[Name, ...]
    values: ListLiteral
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
class Marker:
    """A keyword (phrase) that switches a form on, kept as a node so a diagnostic can point at
    it: `length`, `strictly`, `up to best epoch`. `word` is the phrase, normalised."""

    word: str
    span: Span = _span()


@dataclass(frozen=True)
class Option:
    """A trailing modifier. `key` is normalised: `bins 20` → bins, `with 5 folds` → folds,
    `at batch 1` → batch, `over last 5 epochs` → last, `vs production` → vs, `on holdout` → on,
    `as of 2026-01-31T00:00Z` → as_of (its value a `Temporal`)."""

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
class RateTest:
    """What follows a value test (`in (...)`, `matches`, `is FORMAT`): `>= 99%` compares the
    share of present values that pass (aggregate "rate"), `count >= 5` their number ("count").
    Without one, every present value must pass."""

    aggregate: str  # "rate" | "count"
    test: Comparison | Between
    span: Span = _span()


@dataclass(frozen=True)
class InSet:
    """`[not] in ("basic", "pro") [RATE]`."""

    values: ListLiteral
    negated: bool = False
    rate: RateTest | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Matches:
    """`matches "REGEX" [RATE]` (the regex as written, unescaped)."""

    pattern: String
    rate: RateTest | None = None
    span: Span = _span()


@dataclass(frozen=True)
class IsFormat:
    """`is FORMAT ["ARGUMENT"] [RATE]`: `is json`, `is uuid`, `is date "%Y-%m-%d"`."""

    format: Name
    argument: String | None = None
    rate: RateTest | None = None
    span: Span = _span()


@dataclass(frozen=True)
class TypeSpec:
    """A type as written: a Polars dtype (`Int64`, `Datetime("us", "UTC")`, `List(String)`) or a
    family (`integer`, `float`, `string`, `datetime`, ...); the resolver tells them apart."""

    name: Name
    args: tuple[TypeSpec | Literal, ...] = ()
    span: Span = _span()


@dataclass(frozen=True)
class TypeIs:
    """`type TYPE`."""

    type: TypeSpec
    span: Span = _span()


@dataclass(frozen=True)
class MeasurePhrase:
    """`[SUBJECT] WORDS [(COLUMN, ...)] [on DATASET] [by COLUMN] [where COND]` — what a compare
    check measures, in words; the resolver finds the measure it names. `columns` is the key of
    `duplicate_count (a, b)`. `MEASURE of SUBJECT` is built as `SUBJECT MEASURE`: `freshness of
    production by ts` is the phrase `production freshness by ts`."""

    words: tuple[Name, ...]
    on: Name | None = None
    by: Name | None = None
    columns: tuple[Name, ...] = ()
    where: Condition | None = None
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
    """`feature SELECTOR [of DATASET] [where COND] TEST`. With a value test (`InSet`, `Matches`,
    `IsFormat`, `TypeIs`) `statistic`, `vs`, `shares` and `length` are None."""

    selector: Selector
    subject: Name | None
    statistic: Statistic | None
    vs: Name | None
    test: Comparison | Between | InSet | Matches | IsFormat | TypeIs
    options: tuple[Option, ...] = ()
    warn: bool = False
    where: Condition | None = None  # the rows the check looks at
    shares: MapLiteral | None = None  # `shares {...}`: stated shares stand in for a `vs` dataset
    length: Marker | None = None  # `length`: the statistic (or `between`) is of the strings' lengths
    span: Span = _span()


@dataclass(frozen=True)
class SchemaCheck:
    subject: Name | None
    reference: Name
    options: tuple[Option, ...] = ()
    warn: bool = False
    strictly: Marker | None = None  # `strictly`: identical types, same order
    span: Span = _span()


@dataclass(frozen=True)
class CompareCheck:
    lhs: MeasurePhrase | Gap
    comparison: Comparison
    options: tuple[Option, ...] = ()
    warn: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class BetweenCheck:
    """`MEASURE between LO and HI`: `training rows between 1000 and 5000`."""

    lhs: MeasurePhrase | Gap
    between: Between
    options: tuple[Option, ...] = ()
    warn: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class ColumnsCheck:
    """`[DATASET] columns include (a, b)` / `exclude (c)`. The parser takes any measure phrase
    before `include`/`exclude`; the resolver requires `[DATASET] columns`."""

    lhs: MeasurePhrase | Gap
    op: str  # "include" | "exclude"
    columns: tuple[Name, ...]
    options: tuple[Option, ...] = ()
    warn: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class UniqueCheck:
    """`[DATASET] unique (customer_id, day) [where COND]`."""

    subject: Name | None
    columns: tuple[Name, ...]
    where: Condition | None = None
    options: tuple[Option, ...] = ()
    warn: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class TrendCheck:
    """`val_loss not increasing [up to best epoch] [over last 5 epochs] [tolerance 0.001]`.
    A tolerance keeps its unit on the option's `Number`: `2%` (unit "%") vs `0.02` (None)."""

    words: tuple[Name, ...]
    negated: bool
    direction: str  # "increasing" | "decreasing"
    options: tuple[Option, ...] = ()
    warn: bool = False
    up_to_best: Marker | None = None  # `up to best epoch`: only the epochs up to the best one
    span: Span = _span()


@dataclass(frozen=True)
class ImageSize:
    """`224x224`: width x height in pixels."""

    width: int
    height: int
    span: Span = _span()


@dataclass(frozen=True)
class CaseVariant:
    """One variant after `as`: `nan`, `none`, `missing key`."""

    words: tuple[Name, ...]
    span: Span = _span()


@dataclass(frozen=True)
class HandlesCheck:
    """`[MODEL] handles CASE [SIZE, ...] [as VARIANT, ...] [in FEATURES] [from "FILE"]`."""

    model: Name | None
    case: tuple[Name, ...]
    selector: Selector | None
    path: String | None
    options: tuple[Option, ...] = ()
    warn: bool = False
    sizes: tuple[ImageSize, ...] = ()  # `handles image sizes 8x8, 224x224`
    variants: tuple[CaseVariant, ...] = ()  # `handles nulls as nan, none`
    span: Span = _span()


Check = FeatureCheck | SchemaCheck | CompareCheck | BetweenCheck | ColumnsCheck | UniqueCheck | TrendCheck | HandlesCheck
Declaration = ContractDecl | DatasetDecl | ModelDecl | HistoryDecl | MetricsDecl | LabelDecl | IgnoreDecl | MissingDecl


@dataclass(frozen=True)
class Module:
    """A whole contract file: its statements in order."""

    statements: tuple[Declaration | Check, ...]
    span: Span = _span()
