"""Keys (issue 13): `[DATASET] unique (COLUMN, ...) [where COND]` and `[DATASET] duplicate_count
(COLUMN, ...) CMP EXPR` — whether the rows' values of several columns repeat."""
from __future__ import annotations

from ..language import ast
from ..plan import measures as ms
from .conditions import view
from .contract import CheckKind, Holds
from .features import known_column
from .scope import Scope


def unique_check(scope: Scope, node: ast.UniqueCheck) -> None:
    scope.options(node.options, frozenset(), node)
    dataset = view(scope, scope.dataset(node.subject, node.span), node.where)
    key, problem = key_columns(scope, dataset, node.columns)
    scope.add(node, CheckKind.DATA, dataset, ", ".join(key), "unique", ms.KeyDuplicates(dataset, key, True), Holds(),
              problem)


def key_columns(scope: Scope, dataset: str, columns: tuple[ast.Name, ...]) -> tuple[tuple[str, ...], str | None]:
    """The key's columns (each known in `dataset`, none twice), and the problem that makes the
    check an `error` when the data cannot be read (or, lenient, lacks a column)."""
    seen: dict[str, ast.Name] = {}
    for column in columns:
        if column.id in seen:
            scope.fail(column.span, f"`{column.id}` is twice in the key")
        seen[column.id] = column
    key = tuple(seen)
    if dataset in scope.schema_errors:
        return key, scope.schema_errors[dataset]
    missing = [c.id for c in columns if not known_column(scope, c, dataset, scope.schemas[dataset])]
    return key, (f"column `{missing[0]}` is missing in dataset `{dataset}`" if missing else None)
