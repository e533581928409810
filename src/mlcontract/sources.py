"""Opening declared datasets: a lazy Polars scan per source kind, and their schemas.

Schemas are read from metadata (parquet/ipc footers, a CSV's first rows) so the checker can
resolve columns before any statistic is computed. Every failure becomes a DataError with a
message that names the dataset and the file.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .catalog import CATEGORICAL, NUMERIC, OTHER
from .contract import DatasetSource
from .errors import DataError, UsageError

# Keyword arguments a contract may pass to a source, per kind (anything else is a diagnostic).
DATASET_OPTIONS = {
    "parquet": frozenset(),
    "ipc": frozenset(),
    "ndjson": frozenset({"infer_schema_length"}),
    "csv": frozenset({"separator", "has_header", "null_values", "quote_char", "skip_rows", "infer_schema_length",
                      "decimal_comma", "encoding"}),
    "profile": frozenset(),
}


def column_kind(dtype: Any) -> str:
    """numeric | categorical | other, from a Polars dtype."""
    import polars as pl

    if dtype.is_numeric():
        return NUMERIC
    if dtype in (pl.String, pl.Categorical, pl.Boolean) or isinstance(dtype, (pl.Categorical, pl.Enum)):
        return CATEGORICAL
    return OTHER


def scan(source: DatasetSource, frame: Any = None):
    """A Polars LazyFrame over the source (or over a frame passed in through the API)."""
    import polars as pl

    if frame is not None:
        return as_polars(frame, source.name).lazy()
    if source.kind == "profile":
        raise DataError(f"dataset `{source.name}` is a profile: it has no rows to scan")
    path = source.path
    if path is None:
        raise DataError(f"dataset `{source.name}` was declared without data; pass it to run(datasets=...)")
    check_readable(path, f"dataset `{source.name}`", source.written, folders=source.kind == "parquet")
    options = dict(source.options)
    try:
        if source.kind == "parquet":
            return pl.scan_parquet(path)
        if source.kind == "ipc":
            return pl.scan_ipc(path)
        if source.kind == "ndjson":
            return pl.scan_ndjson(path, **options)
        if source.kind == "csv":
            lazy = pl.scan_csv(path, **options)
            duplicated = _duplicated_header(lazy.collect_schema().names())
    except Exception as error:  # polars raises many types for unreadable files
        raise DataError(f"dataset `{source.name}`: cannot read {source.written or path}: {_first_line(error)}") from error
    if source.kind == "csv":
        if duplicated:
            name, renamed = duplicated
            raise DataError(f"dataset `{source.name}`: {source.written or path} has the column `{name}` more than "
                            f"once (Polars would call a copy `{renamed}`); give each column its own name")
        return lazy
    raise DataError(f"dataset `{source.name}`: unknown source kind {source.kind}")


def _duplicated_header(names: list[str]) -> tuple[str, str] | None:
    """(name, renamed copy) when a CSV header repeats a name: Polars reads the copies as
    `NAME_duplicated_0`, ... — a check on NAME would silently see only the first one. (A file
    whose header really has both `x` and `x_duplicated_0` is refused too; renaming is the fix.)"""
    import re

    present = set(names)
    for name in names:
        match = re.fullmatch(r"(.+)_duplicated_\d+", name)
        if match and match.group(1) in present:
            return match.group(1), name
    return None


def check_readable(path: Path, what: str, written: str | None = None, folders: bool = False) -> None:
    """Raise a DataError unless `path` is a regular file we may read (or, for parquet, a folder
    of parquet files). A FIFO would block forever; a folder given to csv() would be globbed and
    its files read as CSV text; /proc, /sys and /dev hold the machine's state, not data
    (grants.special_file). Whether a contract may read `path` at all (its repository, the
    working directory, the grants) was decided when it was compiled (resolve._Checker._confine)."""
    import stat

    from .grants import special_file

    shown = written if written is not None else str(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise DataError(f"{what}: file not found: {shown}") from None
    except PermissionError:
        raise DataError(f"{what}: permission denied: {shown}") from None
    except OSError as error:
        raise DataError(f"{what}: cannot open {shown}: {error.strerror or error}") from None
    if stat.S_ISDIR(mode):
        if folders:
            return
        raise DataError(f"{what}: {shown} is a folder; give the path of a file")
    if not stat.S_ISREG(mode):
        raise DataError(f"{what}: {shown} is not a regular file")
    special = special_file(path)
    if special:
        raise DataError(f"{what}: refused to read {shown}: {special}")
    if not os.access(path, os.R_OK):
        raise DataError(f"{what}: permission denied: {shown}")


def schema_of(source: DatasetSource, frame: Any = None) -> dict[str, tuple[str, str]]:
    """{column: (kind, dtype name)} without reading the data."""
    if source.kind == "profile" and frame is None:
        from .profiles import load_profile

        return load_profile(source.path, source.name).schema
    lazy = scan(source, frame)
    try:
        schema = lazy.collect_schema()
    except Exception as error:
        raise DataError(f"dataset `{source.name}`: cannot read {source.written or source.path}: "
                        f"{_first_line(error)}") from error
    return {name: (column_kind(dtype), str(dtype)) for name, dtype in schema.items()}


def row_count_hint(source: DatasetSource, frame: Any = None) -> int | None:
    """The number of rows when it is known without reading the data (for progress bars)."""
    try:
        if frame is not None:
            return len(frame) if not hasattr(frame, "collect") else None
        if source.kind == "parquet" and source.path is not None:
            import pyarrow.parquet as pq

            return pq.ParquetFile(source.path).metadata.num_rows
    except Exception:  # only a hint: a progress bar without a total is fine
        return None
    return None


def is_file(path: Path | None) -> bool:
    try:
        return path is not None and path.is_file()
    except OSError:
        return False


def parquet_dictionary_batches(path: Path, columns: list[str]):
    """Record batches of a parquet file's string `columns`, each read as a dictionary array:
    the codes and dictionary the file stores, not the strings they stand for."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path, read_dictionary=columns).iter_batches(columns=columns)


def as_polars(frame: Any, name: str):
    """Accept a Polars DataFrame/LazyFrame or a pandas DataFrame passed through the API."""
    import polars as pl

    if isinstance(frame, pl.LazyFrame):
        try:
            return frame.collect()
        except Exception as error:
            raise DataError(f"dataset `{name}`: the LazyFrame passed in fails: {_first_line(error)}") from error
    if isinstance(frame, pl.DataFrame):
        return frame
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(frame, pd.DataFrame):
        try:
            return pl.from_pandas(frame)
        except Exception as error:
            raise DataError(f"dataset `{name}`: cannot convert the pandas frame: {_first_line(error)}") from error
    raise DataError(f"dataset `{name}`: expected a pandas or Polars DataFrame, got {type(frame).__name__}")


_SUFFIX_KINDS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv", ".arrow": "ipc",
                 ".ipc": "ipc", ".feather": "ipc", ".ndjson": "ndjson", ".jsonl": "ndjson"}


def kind_of_path(path: Path) -> str:
    """The source kind a data file's suffix says (for `mlc profile DATA`)."""
    kind = _SUFFIX_KINDS.get(path.suffix.lower())
    if kind is None:
        raise UsageError(f"cannot tell the format of {path.name}: use a .parquet, .csv, .arrow/.ipc or .ndjson file")
    return kind


def resolve_path(base_dir: Path, text: str) -> Path:
    path = Path(text)
    try:
        path = path.expanduser()
    except RuntimeError:  # `~user` of an unknown user: leave it; reading it reports "not found"
        pass
    return path if path.is_absolute() else (base_dir / path)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
