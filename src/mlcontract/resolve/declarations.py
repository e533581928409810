"""Declarations: `contract`, `dataset`, `model`, `history`, `label`, `ignore`; the sources the
API passes in; the schemas read from the data (metadata only); and path confinement — a source
outside what the invocation grants is recorded as refused, never opened (grants.py).

A source call `FORMAT("...", key=value)` is checked against the source-kind registry
(sources/__init__.py) and nothing else: the kind's name for its role, its options and their
types, the example its hints show, and whether it takes a path (confined) or a URL/URI."""
from __future__ import annotations

import dataclasses
import glob
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import sources
from ..errors import DataError, UsageError
from ..grants import Grants, special_file
from ..language import ast
from ..language.diagnostics import did_you_mean
from ..sources.base import SourceKind
from ..sources.datasets import glob_pattern
from ..sources.files import resolve_path
from .contract import DatasetSource, HistorySource, ModelSource
from .options import plain_value
from .scope import Abort, Scope, column_ref


def declare(scope: Scope, node) -> None:
    """Record one declaration; a broken one makes its name `broken` (checks using it are skipped)."""
    try:
        declaration = DECLARE.get(type(node))
        if declaration is not None:
            declaration(scope, node)
    except Abort:
        name = getattr(node, "name", None)
        if isinstance(name, ast.Name):
            scope.broken.add(name.id)


def contract_name(scope: Scope, node: ast.ContractDecl) -> None:
    if scope.name is not None:
        scope.fail(node.span, "the contract is named twice")
    scope.name = node.name


def dataset(scope: Scope, node: ast.DatasetDecl) -> None:
    kind, path, options = source_call(scope, node.source, "dataset")
    if kind.name == "table" and scope.frames.get(node.name.id) is None and \
            not getattr(scope.engine, "reads_tables", False):
        scope.error(node.source.span, "`table(...)` reads a catalog table: only the Spark engine reads those",
                    "run it with `--engine spark` (API: run(engine=\"spark\")), or declare the table's files")
    claim(scope, node.name, "dataset")
    resolved = _local_path(scope.base_dir, path)
    scope.datasets[node.name.id] = DatasetSource(
        node.name.id, kind.name, resolved, options, span=node.span, written=path
    )
    if scope.frames.get(node.name.id) is None:  # a frame passed in stands in for the file
        source = scope.datasets[node.name.id]
        confine(scope, node.name.id, f"dataset `{node.name.id}`", resolved, path, glob_pattern(source))
        remote = _remote_refusal(scope, path)
        if remote:
            scope.refused[node.name.id] = f"dataset `{node.name.id}`: refused to read {path}: {remote}"


def _remote_refusal(scope: Scope, written: str) -> str | None:
    """Why a URI other than file: (s3a://BUCKET/..., hdfs://HOST:PORT/..., read by the Spark
    engine) may not be read: its host or bucket must be granted like an http() model's host."""
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)", written)
    if not match or match.group(1).lower() == "file":
        return None
    from urllib.parse import urlsplit

    from ..grants import HOST_GRANT

    try:
        parts = urlsplit(written)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return f"`{match.group(2)}` is not a host"
    if scope.grants.allows_host(host, port):
        return None
    return f"`{host or match.group(2)}` is not granted; grant it with {HOST_GRANT}"


def _local_path(base_dir: Path, written: str) -> Path:
    """The file a dataset's path names: a `file:` URI's path (judged by confinement like any
    path; the Spark engine reads URIs), else the path against the contract's folder."""
    if written.startswith("file:"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(written).path))
    return resolve_path(base_dir, written)


def model(scope: Scope, node: ast.ModelDecl) -> None:
    kind, location, options = source_call(scope, node.source, "model")
    if not _is_url(scope, kind, location, node.source.args[0].span, "model"):
        written, location = location, str(resolve_path(scope.base_dir, location))
        if scope.objects.get(node.name.id) is None:
            confine(scope, node.name.id, f"model `{node.name.id}`", Path(location), written)
    claim(scope, node.name, "model")
    scope.models[node.name.id] = ModelSource(node.name.id, kind.name, location, options, span=node.span)


def history(scope: Scope, node: ast.HistoryDecl) -> None:
    kind, path, _ = source_call(scope, node.source, "history")
    claim(scope, node.name, "history")
    resolved = resolve_path(scope.base_dir, path)
    scope.histories[node.name.id] = HistorySource(node.name.id, kind.name, resolved, span=node.span)
    if scope.history_frames.get(node.name.id) is None:
        confine(scope, node.name.id, f"history `{node.name.id}`", resolved, path)


def metrics(scope: Scope, node: ast.MetricsDecl) -> None:
    """`metrics monitoring = json("monitoring/prod.json")`: named numbers, read when the contract runs."""
    call = node.source
    if call.format.id != "json":
        scope.fail(call.format.span, f"unknown metrics source `{call.format.id}(...)`", "metrics are read from `json(...)`")
    if len(call.args) != 1 or call.kwargs:
        scope.fail(call.span, "`json(...)` takes one quoted path", 'e.g. json("monitoring/prod.json")')
    claim(scope, node.name, "metrics")
    path = resolve_path(scope.base_dir, call.args[0].value)
    scope.metrics[node.name.id] = path
    confine(scope, node.name.id, f"metrics `{node.name.id}`", path, call.args[0].value)


def missing(scope: Scope, node: ast.MissingDecl) -> None:
    """`missing income, age = (-1, "NA")`: recorded here, applied once the schemas are read
    (missing_values)."""
    scope.missing_decls.append(node)


def missing_values(scope: Scope) -> None:
    """Give each dataset the values its columns declare missing, checked against its dtypes."""
    from dataclasses import replace

    from .literals import literal, mismatch

    per_dataset: dict[str, dict[str, list]] = {}
    for node in scope.missing_decls:
        try:
            # dates and datetimes too: sources.conditions.with_missing matches them as `where` does
            values = [literal(scope, item) for item in node.values.items]
            for column in node.columns:
                found = False
                for name, source in scope.datasets.items():
                    schema = scope.schemas.get(name)
                    if schema is None or column.id not in schema:
                        continue
                    found = True
                    if sources.holds_summaries(source):
                        scope.fail(column.span, f"`{name}` is a profile, computed without `{column.id}`'s missing "
                                   "values", "profile the data with those values as null, or use the raw data")
                    for item, value in zip(node.values.items, values):
                        wrong = mismatch(column.id, schema[column.id][1], item, value)
                        if wrong:
                            scope.fail(item.span, *wrong)
                    listed = per_dataset.setdefault(name, {}).setdefault(column.id, [])
                    listed.extend(v for v in values if v is not None and v not in listed)
                if not found and not scope.lenient and scope.schemas:
                    scope.fail(column.span, f"no dataset has a column `{column.id}`")
        except Abort:
            continue
    for name, columns in per_dataset.items():
        scope.datasets[name] = replace(scope.datasets[name],
                                       missing=tuple((c, tuple(v)) for c, v in columns.items() if v))


def _is_url(scope: Scope, kind: SourceKind, location: str, span, role) -> bool:
    """Whether `location` is one of the kind's URLs or URIs (never opened as a file, never
    confined); a path otherwise. What is wrong with it fails the declaration: a URL kind given
    something else, a URI its kind refuses, another kind's URI given to a path kind."""
    problem = kind.check_location(location) if kind.check_location is not None else None
    if kind.location == "url":
        if not kind.claims(location):
            scope.fail(span, f'{kind.name}() takes a URL such as "{kind.example}"')
        return True
    if kind.location == "uri" and (kind.claims(location) or problem):
        if problem:
            scope.fail(span, problem, f'e.g. {kind.name}("{kind.example}")')
        return True
    if problem:
        scope.fail(span, problem, f'e.g. {kind.name}("{kind.example}")')
    other = next((k for k in sources.kinds(role) if k.location == "uri" and k.claims(location)), None)
    if other is not None:
        scope.fail(span, f"`{location}` is {other.uri_name or 'a URI'}, not a file",
                   f'declare it as {other.name}("{location}")')
    return False


def label(scope: Scope, node: ast.LabelDecl) -> None:
    if scope.label is not None:
        scope.fail(node.span, f"the label is already `{scope.label}`", "a contract has one `label` line")
    scope.label = node.column.id
    scope.named_columns.append(node.column)


def ignore(scope: Scope, node: ast.IgnoreDecl) -> None:
    scope.ignored.extend(c.id for c in node.columns if c.id not in scope.ignored)
    scope.named_columns.extend(node.columns)


DECLARE: dict[type, Callable[[Scope, Any], None]] = {
    ast.ContractDecl: contract_name,
    ast.DatasetDecl: dataset,
    ast.ModelDecl: model,
    ast.HistoryDecl: history,
    ast.MetricsDecl: metrics,
    ast.MissingDecl: missing,
    ast.LabelDecl: label,
    ast.IgnoreDecl: ignore,
}


def confine(scope: Scope, name: str, what: str, path: Path, written: str, pattern: str | None = None) -> None:
    """Record a refusal when the contract may not read `path` (outside its repository and
    the working directory and not granted, or a special file)."""
    reason = scope.refusal(path, pattern)
    if reason:
        scope.refused[name] = f"{what}: refused to read {written}: {reason}"


def source_call(scope: Scope, call: ast.SourceCall, role) -> tuple[SourceKind, str, tuple]:
    """(kind, path or URL, options) of `FORMAT("...", key=value)`, checked against the kinds of
    `role` in the source-kind registry."""
    known = sources.kinds(role)
    names = [k.name for k in known]
    if call.format.id not in names:
        hint = did_you_mean(call.format.id, names) or "one of " + ", ".join(f"`{k}(...)`" for k in names)
        scope.fail(call.format.span, f"unknown {role} source `{call.format.id}(...)`", hint)
    kind = sources.kind(role, call.format.id)
    if len(call.args) != 1:
        scope.fail(call.span, f"`{kind.name}(...)` takes one quoted {kind.what}", f'e.g. {kind.name}("{kind.example}")')
    options = []
    for key, value in call.kwargs:
        option = kind.options.get(key.id)
        if option is None:
            accepted = sorted(kind.options)
            hint = did_you_mean(key.id, accepted) or (
                "it accepts " + ", ".join(f"`{k}=`" for k in accepted) if accepted
                else f"`{kind.name}(...)` takes no options"
            )
            scope.error(key.span, f"unknown option `{key.id}` for `{kind.name}(...)`", hint)
            continue
        plain = plain_value(value)
        problem = option.problem(plain)
        if problem:
            scope.error(value.span if hasattr(value, "span") else key.span, f"`{key.id}=` {problem}")
            continue
        options.append((key.id, plain))
    return kind, call.args[0].value, tuple(options)


def claim(scope: Scope, name: ast.Name, role: str) -> None:
    """Declare `name` as a dataset, model or history (`role`): one namespace for the three."""
    if name.id in scope.declared_at:
        other_role, where = scope.declared_at[name.id]
        at = f" on line {where.line}" if where is not None else ""  # None: passed in through the API
        scope.fail(name.span, f"`{name.id}` is already declared as a {other_role}{at}",
                   "datasets, models and histories share one namespace: choose another name")
    scope.declared_at[name.id] = (role, name.span)


def declare_api_inputs(scope: Scope) -> None:
    """Frames/models passed to compile() that the contract does not declare become sources."""
    for name in scope.frames:
        if name not in scope.datasets:
            scope.datasets[name] = DatasetSource(name, "frame")
            scope.declared_at.setdefault(name, ("dataset", None))
    for name in scope.objects:
        if name not in scope.models:
            scope.models[name] = ModelSource(name, "object")
            scope.declared_at.setdefault(name, ("model", None))
    for name in scope.history_frames:
        if name not in scope.histories:
            scope.histories[name] = HistorySource(name, "frame")
            scope.declared_at.setdefault(name, ("history", None))


def label_and_ignored_columns_exist(scope: Scope) -> None:
    """`label`/`ignore` name columns of the data: a typo would silently check the label."""
    if not scope.schemas or scope.lenient or scope.schema_errors:
        return  # with unreadable data there is nothing to check against
    known = {c for schema in scope.schemas.values() for c in schema}
    for name in scope.named_columns:
        if name.id not in known:
            scope.error(name.span, f"unknown column `{name.id}`: no dataset has it",
                        did_you_mean(name.id, known) or f"columns: {', '.join(sorted(known)[:8])}")


def read_schemas(scope: Scope) -> None:
    for name, source in scope.datasets.items():
        if name in scope.refused:  # never opened: not even its schema
            scope.schema_errors[name] = scope.refused[name]
            continue
        try:
            reader = getattr(scope.engine, "schema_of", None) or sources.schema_of  # the engine's types, if its own
            schema = reader(source, scope.frames.get(name))
        except DataError as error:
            scope.schema_errors[name] = str(error)
            continue
        scope.schemas[name] = schema.columns
        if scope.frames.get(name) is None:
            scope.index_columns[name] = schema.index
            found = sources.registry().get(("dataset", source.format))
            if found is not None and found.index_as_column:
                unnamed_index_columns(scope, source)


def unnamed_index_columns(scope: Scope, source: DatasetSource) -> None:
    """A CSV that pandas wrote with its index (`to_csv` without `index=False`) starts with a
    column whose header is empty, or `Unnamed: 0` once it went through pandas twice. It is
    not a feature, and nothing in the file says so: the contract must."""
    for column in scope.schemas[source.name]:
        if column in scope.ignored or column == scope.label:
            continue
        if column == "":
            scope.error(source.span, f"a column of {source.written} has no name: a pandas index written by "
                        "`to_csv`, which would be checked and fed to models as a feature",
                        "write the file with `to_csv(index=False)`, or give the column a name and `ignore` it")
        elif re.fullmatch(r"Unnamed: \d+", column):
            scope.error(source.span, f"the column `{column}` of {source.written} looks like a pandas index written "
                        "by `to_csv`, which would be checked and fed to models as a feature",
                        f"add the line  ignore {column_ref(column)}  or write the file with `to_csv(index=False)`")


# ---- `mlc check --input NAME=PATH`: the invocation points a declaration at another file ---------
# A pipeline produces `build/train.parquet`; the contract says `dataset training =
# parquet("data/train.parquet")`. `--input training=build/train.parquet` gates the file the
# pipeline produced without editing the contract: the declaration keeps its format and options
# (parquet stays parquet, `separator=";"` stays), only its path changes, for this run.
#
# The invocation chose the file, so it is granted: the contract's confinement (its repository
# and the working directory) does not apply to it. Special files (/proc, /sys, /dev, FIFOs,
# devices) are still refused (grants.special_file), here as a usage error: exit 2. A missing
# file is the pipeline's failure, not the command line's: its checks are `error` results. A
# relative PATH is relative to the working directory, like `--allow-path`.
_REPLACEABLE = {ast.DatasetDecl: "dataset", ast.ModelDecl: "model", ast.HistoryDecl: "history"}


def parse_input(text: str) -> tuple[str, str]:
    """`NAME=PATH` → (NAME, PATH); a UsageError for anything else."""
    name, sep, path = text.partition("=")
    name = name.strip()
    if not sep or not name or not path:
        raise UsageError(f"--input takes NAME=PATH (e.g. --input training=build/train.parquet), not {text!r}")
    return name, path


def replace_paths(module: ast.Module, paths: dict[str, str | Path], grants: Grants) -> tuple[ast.Module, Grants]:
    """The contract with the named declarations pointing at the given paths, and the grants
    extended to read exactly those paths. An unknown name, or an http() model (a URL, not a
    file), is a UsageError (exit 2) with a did-you-mean."""
    declared = {s.name.id: s for s in module.statements if isinstance(s, (ast.DatasetDecl, ast.ModelDecl, ast.HistoryDecl))}
    for name in paths:
        if name not in declared:
            raise UsageError(_unknown_input(name, declared))
        kind = sources.registry().get((_REPLACEABLE[type(declared[name])], declared[name].source.format.id))
        if kind is not None and kind.location == "url":
            raise UsageError(f"--input {name}=...: `{name}` is an {kind.name}() model; --input replaces the path of a "
                             "dataset, model or history file, not a URL")
    granted = []
    statements = []
    for statement in module.statements:
        if isinstance(statement, (ast.DatasetDecl, ast.ModelDecl, ast.HistoryDecl)) and statement.name.id in paths:
            name = statement.name.id
            target = _absolute_input(paths[name])
            special = special_file(target)
            if special:  # never an input, whoever names it: the command line is wrong (exit 2)
                raise UsageError(f"--input {name}={paths[name]}: {special}")
            granted.append(_grant_for(target))
            statement = _pointed_at(statement, str(target))
        statements.append(statement)
    grants = dataclasses.replace(grants, paths=grants.paths + tuple(granted))
    return dataclasses.replace(module, statements=tuple(statements)), grants


def _pointed_at(declaration, path: str):
    call = declaration.source
    if not call.args:
        return declaration  # the checker reports the call's missing path
    args = (ast.String(path, span=call.args[0].span), *call.args[1:])
    return dataclasses.replace(declaration, source=dataclasses.replace(call, args=args))


def _absolute_input(path: str | Path) -> Path:
    text = str(path)
    if "\x00" in text:
        raise UsageError("--input: the path contains a NUL character")
    try:
        return Path(text).expanduser().absolute()
    except (OSError, RuntimeError, ValueError) as error:
        raise UsageError(f"--input {text}: {error}") from error


def _grant_for(path: Path) -> Path:
    """What to grant for a path: the path itself (a file, or a partitioned dataset's folder);
    for a glob pattern (datasets with `glob=true`), the folder before its first wildcard."""
    text = str(path)
    if glob.has_magic(text):
        parts = []
        for part in path.parts:
            if glob.has_magic(part):
                break
            parts.append(part)
        path = Path(*parts)
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as error:
        raise UsageError(f"--input {text}: {error}") from error


def _unknown_input(name: str, declared: dict) -> str:
    kinds = ", ".join(f"{_REPLACEABLE[type(d)]} `{n}`" for n, d in declared.items()) or "none"
    hint = did_you_mean(name, declared)
    return (f"--input {name}=...: the contract declares no dataset, model or history `{name}`"
            f"{'; ' + hint if hint else ''} (it declares: {kinds})")
