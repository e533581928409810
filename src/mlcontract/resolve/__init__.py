"""Stage 3 — resolve (the DESIGN's "check" stage): typed AST → checked contract (resolve.contract).

Named `resolve` because `mlcontract.check(path)` is the public compile-and-run function.

Resolves every name (datasets, models, histories, columns, statistics, metrics, options),
checks types and units, expands feature selectors against the data's schema, and collects
every problem it finds before raising one ContractError — a user fixes a contract in one go.

The work is split by statement family around one `Scope` (scope.py): declarations.py first
records every declaration and reads the schemas, then each check statement goes to the family
that `DISPATCH` names for its node type.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ContractError
from ..grants import Grants
from ..language import ast
from ..language.source import SourceText
from . import curves, declarations, features, keys, measures, pending, robustness, types, value_tests
from .contract import CheckedContract
from .scope import Abort, Scope

# Each check statement's node type → the family function that resolves it.
DISPATCH: dict[type, Callable[[Scope, Any], None]] = {
    ast.FeatureCheck: value_tests.feature_check,
    ast.SchemaCheck: features.schema_check,
    ast.CompareCheck: measures.compare_check,
    ast.TrendCheck: curves.trend_check,
    ast.HandlesCheck: robustness.handles_check,
    ast.BetweenCheck: measures.compare_check,
    ast.ColumnsCheck: types.columns_check,
    ast.UniqueCheck: keys.unique_check,
}


def resolve(
    module: ast.Module,
    source: SourceText,
    base_dir: Path,
    frames: dict[str, Any] | None = None,
    objects: dict[str, Any] | None = None,
    histories: dict[str, Any] | None = None,
    lenient: bool = False,
    grants: Grants | None = None,
    engine: Any = None,
) -> CheckedContract:
    """Resolve a contract. `frames`/`objects`/`histories` are data, models and training
    histories passed in through the API; they override or stand in for declarations.
    `lenient`: columns the data lacks become `error` results instead of diagnostics (used when
    run() receives data other than what the contract was compiled against).
    `grants`: what the invocation allows beyond the safe defaults (grants.py).
    `engine`: the engine built for the run when it reads schemas itself (`engine.schema_of`)."""
    scope = Scope(source, base_dir, frames or {}, objects or {}, histories or {}, lenient, grants or Grants(), engine)
    for statement in module.statements:
        if type(statement) not in DISPATCH and not pending.rejected(scope, statement):
            declarations.declare(scope, statement)
    declarations.declare_api_inputs(scope)
    declarations.read_schemas(scope)
    declarations.label_and_ignored_columns_exist(scope)
    declarations.missing_values(scope)
    for statement in module.statements:
        check = DISPATCH.get(type(statement))
        if check is None or (check is not pending.not_yet and pending.rejected(scope, statement)):
            continue
        try:
            check(scope, statement)
        except Abort:
            pass  # its diagnostic is recorded; go on with the next statement
    if scope.diagnostics:
        raise ContractError(scope.diagnostics, scope.source)
    return scope.contract()
