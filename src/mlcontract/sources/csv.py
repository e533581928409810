"""`csv("data/train.csv", separator=";")`: a CSV file (or with `glob=true` the files a pattern
matches) as a dataset, read by Polars with the contract's options; and `csv("runs/history.csv")`
as a training history, one row per epoch (models/history.py).

A header that repeats a name is an error: Polars would read the copies as `NAME_duplicated_0`,
and a check on NAME would silently see only the first one.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import DataError
from .base import ONE_CHARACTER, TEXTS, TRUE_OR_FALSE, WHOLE_NUMBER, OptionType, SourceKind
from .datasets import GLOB, FileFormat, one_or_many

OPTIONS = {
    "separator": ONE_CHARACTER,
    "has_header": TRUE_OR_FALSE,
    "null_values": TEXTS,  # `null_values=["NA", "?"]` or one string
    "quote_char": OptionType("one character", lambda value: isinstance(value, str) and len(value) <= 1),
    "skip_rows": WHOLE_NUMBER,
    "infer_schema_length": WHOLE_NUMBER,
    "decimal_comma": TRUE_OR_FALSE,
    "encoding": OptionType('"utf8" or "utf8-lossy"', lambda value: value in ("utf8", "utf8-lossy")),
    "glob": GLOB,
}


def _scan(files: list[Path], folder: Path | None, options: dict):
    import polars as pl

    return pl.scan_csv(one_or_many(files), glob=False, **_polars_options(options))


def _file_schema(file: Path, options: dict) -> dict:
    import polars as pl

    return dict(pl.scan_csv(str(file), glob=False, **_polars_options(options)).collect_schema())


def _polars_options(options: dict) -> dict:
    """The options as Polars takes them: a list where the contract gave one (kept as a tuple)."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in options.items()}


def _no_repeated_header(lazy, source, what: str) -> None:
    duplicated = _duplicated_header(lazy.collect_schema().names())
    if duplicated:
        name, renamed = duplicated
        raise DataError(f"{what}: {source.written or source.path} has the column `{name}` more than "
                        f"once (Polars would call a copy `{renamed}`); give each column its own name")


def _duplicated_header(names: list[str]) -> tuple[str, str] | None:
    """(name, renamed copy) when a CSV header repeats a name: Polars reads the copies as
    `NAME_duplicated_0`, ... (A file whose header really has both `x` and `x_duplicated_0` is
    refused too; renaming is the fix.)"""
    present = set(names)
    for name in names:
        match = re.fullmatch(r"(.+)_duplicated_\d+", name)
        if match and match.group(1) in present:
            return match.group(1), name
    return None


CSV = FileFormat(_scan, _file_schema, check=_no_repeated_header)


# ---- the history kind ----------------------------------------------------------------------------
def _history_path(source) -> Path:
    from .files import check_readable

    path = Path(source.path)
    check_readable(path, f"history `{source.name}`")  # missing, a folder, a FIFO, /proc: an error, never read
    return path


def load_history(source):
    """The history in a CSV file: one column per curve, an optional `epoch` column."""
    import polars as pl

    from ..models.history import from_columns
    from .files import first_line

    path = _history_path(source)
    try:
        frame = pl.read_csv(path, infer_schema_length=None, glob=False)
    except Exception as error:  # polars raises many types for unreadable files
        raise DataError(f"history `{source.name}`: cannot read {path.name} as CSV: {first_line(error)}") from error
    return from_columns(source.name, {c: frame[c] for c in frame.columns}, path.name)


def history_names(source) -> list[str]:
    """The header's names (the checker's curve names; nothing else is read)."""
    import polars as pl

    return pl.scan_csv(Path(source.path), glob=False).collect_schema().names()


KINDS = (
    SourceKind("csv", "dataset", summary="a CSV file, or the files a pattern matches", example="data/train.csv",
               options=OPTIONS, rank=20, suffixes=(".csv", ".tsv"), open=CSV.open, schema=CSV.schema,
               index_as_column=True),
    SourceKind("csv", "history", summary="a training history in a CSV file: one row per epoch, one column per curve",
               example="runs/history.csv", rank=10, load=load_history, schema=history_names),
)
