"""What the file-based dataset kinds share (parquet.py, csv.py, ipc.py, ndjson.py): which files a
dataset reads, opening them as one lazy Polars frame, their schema, and every failure as a
DataError naming the dataset and the file. A kind module describes how its files are read in a
`FileFormat` and hands `FileFormat.open` / `FileFormat.schema` to its SourceKind.

Schemas are read from metadata (parquet/ipc footers, a CSV's first rows) so the checker can
resolve columns before any statistic is computed.

A path means that file (or, for a kind that reads folders, that folder): Polars' globbing is off
unless the contract asks for it with `glob=true`. The files of a multi-file dataset must agree
on their schema. What Polars would hide — a repeated column name, a scan that stops early — is
an error (`FileFormat.open`, `check_rows`).

A helper of the source kinds (no kind of its own). Light: Polars is imported inside the
functions.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CheckError, DataError
from .base import TRUE_OR_FALSE, Schema
from .files import check_readable, column_type, engine_failures, first_line

if TYPE_CHECKING:
    from ..resolve.contract import DatasetSource

# The option every file-based dataset kind takes: read the files a pattern matches.
GLOB = TRUE_OR_FALSE


@dataclass(frozen=True)
class Opened:
    """A dataset opened for a run (sources.open_dataset)."""

    lazy: Any  # the Polars LazyFrame
    rows: int | None  # the rows its files' metadata records (parquet, IPC); None: the format has no count
    index: tuple[str, ...] = ()  # columns that pandas metadata marks as the index: not features


@dataclass(frozen=True)
class FileFormat:
    """How a dataset kind reads its files; the rest (which files, globs, folders, the files'
    agreement, errors) is done here.

    - `scan(files, folder, options)`: a Polars LazyFrame over the files (or over `folder`, when
      a folder is read whole: Polars then reads its hive partitions too), never globbing;
    - `file_schema(file, options)`: one file's {column: dtype}, to compare the files of a dataset;
    - `folders`: a folder names its files (parquet);
    - `defaults`: options the kind passes unless the contract gives them;
    - `check(lazy, source, what)`: what the scan itself must show, when opened or compiled (a CSV
      header repeating a name);
    - `audit(lazy, files, source, what)`: what only reading the data shows, when a contract runs
      (NDJSON's repeated keys);
    - `recorded_rows(file)`: (column names as stored, rows) from the file's metadata, for a
      format that records them (parquet, IPC): a scan that stops early is an error;
    - `index_columns(file)`: the columns pandas metadata marks as the index (Polars only: it runs
      when compiling).
    """

    scan: Callable[[list[Path], Path | None, dict], Any]
    file_schema: Callable[[Path, dict], dict]
    folders: bool = False
    defaults: dict = field(default_factory=dict)
    check: Callable[[Any, DatasetSource, str], None] | None = None
    audit: Callable[[Any, list[Path], DatasetSource, str], None] | None = None
    recorded_rows: Callable[[Path], tuple[list[str], int]] | None = None
    index_columns: Callable[[Path], list[str]] | None = None

    def open(self, source: DatasetSource) -> Opened:
        """The lazy frame, plus what reads more than a schema, done when a contract runs (compiling
        reads schemas only, with Polars only): the format's audit, a column name a file repeats
        (Polars' IPC reader keeps one and panics when reading), and the row count the metadata
        records — the caller compares it with the rows it read (check_rows), so a scan that stops
        early is an error, not a smaller dataset."""
        lazy, files = self.lazy(source)
        what = f"dataset `{source.name}`"
        try:
            if self.audit is not None:
                self.audit(lazy, files, source, what)
            rows = self._recorded_rows(source, files, what)
        except CheckError:
            raise
        except engine_failures() as error:
            raise DataError(f"{what}: cannot read {source.written or source.path}: {first_line(error)}") from error
        return Opened(lazy, rows, self.index(source))

    def schema(self, source: DatasetSource) -> Schema:
        """{column: (column type, dtype name)} and the pandas index columns, without reading the data."""
        return Schema(lazy_schema(source, self.lazy(source)[0]), self.index(source))

    def lazy(self, source: DatasetSource):
        """(LazyFrame, the files it reads)."""
        if source.path is None:
            raise declared_without_data(source)
        files = data_files(source, self.folders)
        options = {**self.defaults, **{key: value for key, value in source.options if key != "glob"}}
        what = f"dataset `{source.name}`"
        folder = source.path if not globbed(source) and source.path.is_dir() else None
        try:
            lazy = self.scan(files, folder, options)
            if self.check is not None:
                self.check(lazy, source, what)
            if len(files) > 1:
                self._files_agree(source, files, options, what)
        except CheckError:
            raise
        except engine_failures() as error:  # polars raises many types for unreadable files
            raise DataError(f"{what}: cannot read {source.written or source.path}: {first_line(error)}") from error
        return lazy, files

    def index(self, source: DatasetSource) -> tuple[str, ...]:
        """Columns that hold a pandas DataFrame's index: `to_parquet` and `to_feather` of a frame
        whose index is not a plain range store it as a column, `__index_level_0__` when it has no
        name. They are not features."""
        if self.index_columns is None or source.path is None:
            return ()
        index: list[str] = []
        try:
            for file in data_files(source, self.folders):
                index += [c for c in self.index_columns(file) if c not in index]
        except CheckError:
            return ()  # the dataset cannot be read: every check on it is an error anyway
        except engine_failures():  # metadata that is not pandas' (not JSON, not the expected shape)
            return tuple(index)
        return tuple(index)

    def _files_agree(self, source: DatasetSource, files: list[Path], options: dict, what: str) -> None:
        """A DataError unless every file has the first file's columns and types. Polars takes the
        first file's schema for the dataset: a check that reads no rows (`rows`, `schema matches`)
        would pass on files it never compared."""
        first = self.file_schema(files[0], options)
        for file in files[1:]:
            schema = self.file_schema(file, options)
            if schema == first:
                continue
            here, there = shown(files[0], source), shown(file, source)
            for name, dtype in first.items():
                if name not in schema:
                    problem = f"`{name}` is in {here} but not in {there}"
                    break
                if schema[name] != dtype:
                    problem = f"`{name}` is {dtype} in {here} but {schema[name]} in {there}"
                    break
            else:
                extra = next(name for name in schema if name not in first)
                problem = f"`{extra}` is in {there} but not in {here}"
            raise DataError(f"{what}: its files disagree on the schema: {problem}")

    def _recorded_rows(self, source: DatasetSource, files: list[Path], what: str) -> int | None:
        """The rows the files' metadata records, checking on the way that no file repeats a
        column name (its Polars schema may not show one)."""
        if self.recorded_rows is None:
            return None
        rows = 0
        for file in files:
            names, count = self.recorded_rows(file)
            repeated = next((name for i, name in enumerate(names) if name in names[:i]), None)
            if repeated is not None:
                raise DataError(f"{what}: {shown(file, source)} has the column `{repeated}` more than once; "
                                "give each column its own name")
            rows += count
        return rows


def declared_without_data(source: DatasetSource) -> DataError:
    return DataError(f"dataset `{source.name}` was declared without data; pass it to run(datasets=...)")


def lazy_schema(source: DatasetSource, lazy) -> dict[str, tuple[str, str]]:
    """{column: (column type, dtype name)} of a lazy frame, read without its data."""
    try:
        schema = lazy.collect_schema()
    except engine_failures() as error:
        raise DataError(f"dataset `{source.name}`: cannot read {source.written or source.path}: "
                        f"{first_line(error)}") from error
    return {name: (column_type(dtype), str(dtype)) for name, dtype in schema.items()}


def check_rows(source: DatasetSource, recorded: int | None, read: int) -> None:
    """A DataError when the rows read differ from the rows the files record."""
    if recorded is not None and read != recorded:
        raise DataError(f"dataset `{source.name}`: read {read:,} rows, but {source.written or source.path} records "
                        f"{recorded:,}: the scan stopped early or read other files; no check on it can be trusted")


def one_or_many(files: list[Path]) -> str | list[str]:
    """What a Polars scan is given: the file, or the list of files."""
    names = [str(f) for f in files]
    return names[0] if len(names) == 1 else names


def globbed(source: DatasetSource) -> bool:
    return dict(source.options).get("glob") is True


def data_files(source: DatasetSource, folders: bool = False) -> list[Path]:
    """The files a dataset reads: its file; the files under its folder (`folders`: parquet); the
    files its pattern matches when the contract says `glob=true` (Python's glob: `*`, `?`,
    `[...]`, and `**` for any depth of folders; names starting with `.` only when the pattern
    says so)."""
    path = source.path
    assert path is not None  # a dataset read from files (a frame passed in has none)
    what = f"dataset `{source.name}`"
    if globbed(source):
        import glob

        matches = glob.glob(_pattern(source), recursive=True)
        files = sorted(Path(match) for match in matches if not Path(match).is_dir())
        if not files:
            raise DataError(f"{what}: no file matches {source.written or path}")
        for file in files:
            check_readable(file, what, None)
        return files
    assert path is not None
    try:
        check_readable(path, what, source.written, folders=folders)
    except DataError as error:
        if any(c in (source.written or "") for c in "*?[") and not os.path.lexists(path):
            raise DataError(f"{error} (a path is read as it is written; to read the files a pattern matches, "
                            "add `glob=true`)") from None
        raise
    if not path.is_dir():
        return [path]
    files = _folder_files(path, f"{what}: the folder {source.written or path}")
    if not files:
        raise DataError(f"{what}: the folder {source.written or path} has no files")
    for file in files:
        check_readable(file, what, None)  # a FIFO among them would block the read forever
    return files


def _folder_files(folder: Path, what: str) -> list[Path]:
    """Every file below the folder, as Polars reads a folder — which refuses files of different
    kinds (suffixes), as this does as soon as it meets one (a folder such as `/` is not walked
    to its end)."""
    files: list[Path] = []

    def refuse(error: OSError):
        raise DataError(f"{what} cannot be listed: {error.strerror or error}")

    for parent, _, names in os.walk(folder, onerror=refuse):
        for name in names:
            file = Path(parent, name)
            if files and file.suffix != files[0].suffix:
                raise DataError(f"{what} has files of different kinds ({files[0].name}, {name}); "
                                "read some of them with a pattern and `glob=true`, e.g. \"data/**/*.parquet\"")
            files.append(file)
    return sorted(files)


def _base_folder(source: DatasetSource) -> Path | None:
    """The folder a relative path of the contract is resolved against (None: it is absolute)."""
    written = Path(source.written) if source.written else None
    if written is not None and not written.is_absolute() and source.path is not None:
        count = len(written.parts)
        if count and source.path.parts[-count:] == written.parts:
            return Path(*source.path.parts[:-count])
    return None


def glob_pattern(source: DatasetSource) -> str | None:
    """The pattern a `glob=true` dataset reads (None: its path is literal)."""
    return _pattern(source) if globbed(source) else None


def _pattern(source: DatasetSource) -> str:
    """The glob pattern: the contract's text, under its folder taken literally (a contract in
    `runs[2]/` does not make `[2]` a pattern)."""
    import glob

    base = _base_folder(source)
    return os.path.join(glob.escape(str(base)), source.written) if base is not None and source.written else str(source.path)


def shown(file: Path, source: DatasetSource) -> str:
    """A file of the dataset as the contract would write it (relative to the contract's folder)."""
    base = _base_folder(source)
    return os.path.relpath(file, base) if base is not None else str(file)


def row_count_hint(source: DatasetSource, frame: Any = None) -> int | None:
    """The number of rows of a frame passed in when it is known without reading it (for
    progress bars; a file's count is the rows its metadata records, `Opened.rows`)."""
    try:
        if frame is not None:
            return len(frame) if not hasattr(frame, "collect") else None
    except Exception:  # only a hint: a progress bar without a total is fine
        return None
    return None


# Rows per dictionary batch: pyarrow's default (65,536) cuts a row group of 123,457 rows in two,
# and each batch costs a dictionary to turn into Python values and a kernel call per column. A
# batch still ends at its row group's end (each row group has its own dictionary), so this is at
# most a row group: 5 string columns of 10M rows were counted in 0.47 CPU-s instead of 0.56
# (medians of 5, bench/data's drift files).
DICTIONARY_BATCH_ROWS = 1 << 20


def parquet_dictionary_batches(path: Path, columns: list[str]):
    """Record batches of a parquet file's string `columns`, each read as a dictionary array:
    the codes and dictionary the file stores, not the strings they stand for."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path, read_dictionary=columns).iter_batches(columns=columns, batch_size=DICTIONARY_BATCH_ROWS)
