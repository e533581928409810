"""`mlc check --input NAME=PATH`: point a declared dataset, model or history at another file.

A pipeline produces `build/train.parquet`; the contract says `dataset training =
parquet("data/train.parquet")`. `--input training=build/train.parquet` gates the file the
pipeline produced without editing the contract: the declaration keeps its format and options
(parquet stays parquet, `separator=";"` stays), only its path changes, for this run.

The invocation chose the file, so it is granted: the contract's confinement (its repository
and the working directory) does not apply to it. Special files (/proc, /sys, /dev, FIFOs,
devices) are still refused (grants.special_file), here as a usage error: exit 2. A missing
file is the pipeline's failure, not the command line's: its checks are `error` results. A
relative PATH is relative to the working directory, like `--allow-path`.
"""
from __future__ import annotations

import dataclasses
import glob
from pathlib import Path

from . import ast
from .errors import UsageError
from .grants import Grants, special_file

_DECLARATIONS = {ast.DatasetDecl: "dataset", ast.ModelDecl: "model", ast.HistoryDecl: "history"}


def parse_input(text: str) -> tuple[str, str]:
    """`NAME=PATH` → (NAME, PATH); a UsageError for anything else."""
    name, sep, path = text.partition("=")
    name = name.strip()
    if not sep or not name or not path:
        raise UsageError(f"--input takes NAME=PATH (e.g. --input training=build/train.parquet), not {text!r}")
    return name, path


def replace_paths(module: ast.Contract, paths: dict[str, str | Path], grants: Grants) -> tuple[ast.Contract, Grants]:
    """The contract with the named declarations pointing at the given paths, and the grants
    extended to read exactly those paths. An unknown name, or an http() model (a URL, not a
    file), is a UsageError (exit 2) with a did-you-mean."""
    declared = {s.name.id: s for s in module.statements if type(s) in _DECLARATIONS}
    for name in paths:
        if name not in declared:
            raise UsageError(_unknown(name, declared))
        if declared[name].source.kind.id == "http":
            raise UsageError(f"--input {name}=...: `{name}` is an http() model; --input replaces the path of a "
                             "dataset, model or history file, not a URL")
    granted = []
    statements = []
    for statement in module.statements:
        name = getattr(getattr(statement, "name", None), "id", None)
        if type(statement) in _DECLARATIONS and name in paths:
            target = _absolute(paths[name])
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


def _absolute(path: str | Path) -> Path:
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


def _unknown(name: str, declared: dict) -> str:
    from .diagnostics import did_you_mean

    kinds = ", ".join(f"{_DECLARATIONS[type(d)]} `{n}`" for n, d in declared.items()) or "none"
    hint = did_you_mean(name, declared)
    return (f"--input {name}=...: the contract declares no dataset, model or history `{name}`"
            f"{'; ' + hint if hint else ''} (it declares: {kinds})")
