"""The checked contract: what the resolver (resolve/) produces and the planner (plan/) consumes.

Every name is resolved here: sources are typed, selectors are expanded into one `CheckSpec` per
feature, comparisons point at measures (plan/measures.py, models/) rather than at words. Nothing
in this module touches data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from ..grants import Grants
from ..language.source import Span


class CheckKind(str, Enum):
    """What a check is about; the report groups checks by it and the results JSON names it `kind`."""

    DATA = "data"
    MODEL = "model"
    CURVE = "curve"
    ROBUSTNESS = "robustness"
    LATENCY = "latency"

    # The value, as a str: f"{CheckKind.DATA}" is `data` on every Python version.
    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


# ---- sources -------------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasetSource:
    name: str
    format: str  # parquet | csv | ipc | ndjson | profile | frame
    path: Path | None = None
    options: tuple[tuple[str, Any], ...] = ()
    span: Span | None = field(default=None, compare=False, hash=False)
    written: str | None = field(default=None, compare=False, hash=False)  # the path as the contract says it
    # A view of the source `inner`, whose root is the declared dataset `base`: its rows for which
    # `where` (an ast.Condition, turned into a Polars expression when the data is opened:
    # sources/conditions.py) is true, or (`lengths`) its string columns as their values' lengths
    # in characters. Its name is the inner one plus ` where CONDITION` (as written) or
    # ` (string lengths)`.
    base: str | None = None
    where: Any = None
    lengths: bool = False
    inner: DatasetSource | None = None
    # `missing age = (-1, "NA")`: (column, values) that data checks read as null (not what models
    # are fed: engines.base.read_with_polars opens the dataset without them).
    missing: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def describe(self) -> str:
        shown = f"{self.format}({self.written or self.path})" if self.path else f"{self.format} passed to run()"
        return shown + (self.name[len(self.base):] if self.base else "")  # `where ...`, `(string lengths)`


@dataclass(frozen=True)
class ModelSource:
    name: str
    format: str  # sklearn | skops | onnx | http | object
    location: str | None = None
    options: tuple[tuple[str, Any], ...] = ()
    span: Span | None = field(default=None, compare=False, hash=False)

    def describe(self) -> str:
        return f"{self.format}({self.location})" if self.location else f"{self.format} passed to run()"


@dataclass(frozen=True)
class HistorySource:
    name: str
    format: str  # csv | json | frame
    path: Path | None = None
    span: Span | None = field(default=None, compare=False, hash=False)

    def describe(self) -> str:
        return f"{self.format}({self.path})" if self.path else f"{self.format} passed to run()"


# ---- right-hand sides ------------------------------------------------------------------------
@dataclass(frozen=True)
class Const:
    value: float
    unit: str | None = None  # None | "s" | "rows/s"
    text: str = ""


@dataclass(frozen=True)
class MeasureRef:
    measure: Any  # a measures.Measure
    label: str  # what the user wrote, e.g. `prod` or `baseline most_frequent`


@dataclass(frozen=True)
class Arith:
    op: str  # + - * /
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Negate:
    operand: Expr


Expr = Const | MeasureRef | Arith | Negate


# ---- tests: how an observed value becomes pass / fail ------------------------------------------
@dataclass(frozen=True)
class Compare:
    op: str
    rhs: Expr
    rhs_text: str
    display_unit: str | None = None  # the unit the contract wrote the right-hand side in (see CheckSpec)


@dataclass(frozen=True)
class InRange:
    low: float
    high: float
    display_unit: str | None = None


@dataclass(frozen=True)
class Holds:
    """The measure itself decides (schema matches, curve trend, robustness, values between)."""


Test = Compare | InRange | Holds


@dataclass(frozen=True)
class CheckSpec:
    """One expanded check: a selector line with three features gives three specs."""

    index: int
    line: int
    source: str  # the contract line, stripped
    kind: CheckKind
    subject: str
    feature: str | None
    statistic: str
    measure: Any  # measures.Measure (or measures.Difference for gaps)
    test: Test
    blocking: bool = True
    span: Span | None = field(default=None, compare=False, hash=False)
    # Set when the check cannot run whatever the data says (e.g. its dataset is unreadable).
    bind_error: str | None = None
    unit: str | None = None  # the measure's unit: None | "s" | "rows/s"
    # The unit the contract wrote the threshold in, which reports print it in (`<= 1%`, `<= 250ms`):
    # None | "%" | "µs" | "ms" | "s" | "min" | "h" | "d" | "rows/s". Values stay in the measure's unit.
    display_unit: str | None = None
    # The feature was chosen by a selector (`*`, `numeric`, `categorical`), or the line expanded
    # into several checks: a report shows the feature beside the line.
    from_selector: bool = False

    def measures(self) -> list:
        """The left-hand measure and every measure named on the right-hand side."""
        found = [self.measure]
        if isinstance(self.test, Compare):
            found.extend(measures_in(self.test.rhs))
        return found


@dataclass
class CheckedContract:
    name: str | None
    path: Path | None
    base_dir: Path
    datasets: dict[str, DatasetSource]
    models: dict[str, ModelSource]
    histories: dict[str, HistorySource]
    label: str | None
    ignored: tuple[str, ...]
    checks: list[CheckSpec]
    grants: Grants = field(default_factory=Grants)  # what the invocation allows (grants.py)


def measures_in(expr):
    """Every measure a right-hand side names."""
    if isinstance(expr, MeasureRef):
        yield expr.measure
    elif isinstance(expr, Arith):
        yield from measures_in(expr.left)
        yield from measures_in(expr.right)
    elif isinstance(expr, Negate):
        yield from measures_in(expr.operand)
