"""Exact types and schema shape (issue 13): `feature age type Int64` (or a family: `integer`,
`float`, `string`, `datetime`, ...), `[DATASET] columns CMP N`, `[DATASET] columns include
(...)` / `exclude (...)`, `schema of A matches B strictly`. All of them read the dataset's schema
as the run finds it (requests.SchemaOf), not the one read at compile time: the data may change
between the two."""
from __future__ import annotations

from ..language import ast
from ..language.diagnostics import did_you_mean
from ..plan import measures as ms
from ..statistics.base import ANY_TYPE
from .contract import CheckKind, Holds
from .features import expand
from .scope import Scope

# Type families: the Polars dtypes (by name, before any parameters) each one takes.
_INTEGERS = ("Int8", "Int16", "Int32", "Int64", "Int128", "UInt8", "UInt16", "UInt32", "UInt64", "UInt128")
FAMILIES: dict[str, tuple[str, ...]] = {
    "integer": _INTEGERS,
    "float": ("Float16", "Float32", "Float64"),
    "numeric": _INTEGERS + ("Float16", "Float32", "Float64", "Decimal"),
    "string": ("String", "Categorical", "Enum"),
    "boolean": ("Boolean",),
    "date": ("Date",),
    "datetime": ("Datetime",),
    "temporal": ("Date", "Datetime", "Time", "Duration"),
    "list": ("List", "Array"),
    "struct": ("Struct",),
    "binary": ("Binary",),
}
# Polars dtypes a contract may name; parametric ones match any parameters when written bare.
DTYPES = _INTEGERS + ("Float16", "Float32", "Float64", "Decimal", "String", "Categorical", "Enum", "Boolean",
                      "Binary", "Date", "Datetime", "Time", "Duration", "List", "Array", "Struct", "Null", "Object")


def type_check(scope: Scope, node: ast.FeatureCheck, subject: str) -> None:
    spec = node.test.type  # type: ignore[union-attr]
    expected = expected_type(scope, spec)
    expanded = list(expand(scope, node.selector, subject, ANY_TYPE, "type"))
    for column, _column_type, problem, from_group in expanded:
        measure = ms.ColumnType(subject, column, *expected)
        scope.add(node, CheckKind.DATA, subject, column, "type", measure, Holds(), problem,
                  from_selector=from_group or len(expanded) > 1)


def expected_type(scope: Scope, spec: ast.TypeSpec) -> tuple[str, tuple[str, ...], str]:
    """(how to compare: "family" | "base" | "exact", what to compare with, the type as written)."""
    name = spec.name.id
    written = " ".join(scope.source.text[spec.span.start:spec.span.end].split())
    if name in FAMILIES:
        if spec.args:
            scope.fail(spec.span, f"the type family `{name}` takes no parameters")
        return "family", FAMILIES[name], written
    if name not in DTYPES:
        scope.fail(spec.name.span, f"unknown type `{name}`",
                   did_you_mean(name, [*DTYPES, *FAMILIES]) or "a Polars dtype such as `Int64`, `String`, "
                   "`Datetime(\"us\", \"UTC\")`, or a family: " + ", ".join(FAMILIES))
    if not spec.args:
        return "base", (name,), written
    return "exact", (str(polars_dtype(scope, spec)),), written


def polars_dtype(scope: Scope, spec: ast.TypeSpec):
    """The Polars dtype a parametrised type names (`Datetime("us", "UTC")`, `List(String)`)."""
    import polars as pl

    if spec.name.id not in DTYPES:
        scope.fail(spec.name.span, f"unknown type `{spec.name.id}`", did_you_mean(spec.name.id, DTYPES))
    args = [polars_dtype(scope, a) if isinstance(a, ast.TypeSpec) else ast.literal_value(a) for a in spec.args]
    try:
        dtype = getattr(pl, spec.name.id)(*args)
        return dtype
    except (TypeError, ValueError, pl.exceptions.PolarsError) as error:
        first = next((line for line in str(error).splitlines() if line.strip()), "invalid parameters")
        scope.fail(spec.span, f"`{spec.name.id}` does not take these parameters: {first.strip()}",
                   'e.g. `Datetime("us", "UTC")`, `Duration("ms")`, `Decimal(10, 2)`, `List(String)`')


def columns_check(scope: Scope, node: ast.ColumnsCheck) -> None:
    """`[DATASET] columns include (a, b)` / `exclude (...)`."""
    lhs = node.lhs
    words = [w.id for w in lhs.words] if isinstance(lhs, ast.MeasurePhrase) else []
    if not isinstance(lhs, ast.MeasurePhrase) or not words or words[-1] != "columns" or len(words) > 2 \
            or lhs.on or lhs.by or lhs.columns or lhs.where:
        scope.fail(lhs.span, f"`{node.op}` follows `[DATASET] columns`", f"e.g. `training columns {node.op} (age, plan)`")
        return
    scope.options(node.options, frozenset(), node)
    dataset = scope.dataset(lhs.words[0] if len(words) == 2 else None, node.span)
    names = tuple(dict.fromkeys(c.id for c in node.columns))
    scope.add(node, CheckKind.DATA, dataset, None, f"columns {node.op}", ms.ColumnSet(dataset, node.op, names),
              Holds(), scope.schema_errors.get(dataset))
