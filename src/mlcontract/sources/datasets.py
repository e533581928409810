"""Opening declared datasets: a lazy Polars scan per source format, and their schemas.

Schemas are read from metadata (parquet/ipc footers, a CSV's first rows) so the checker can
resolve columns before any statistic is computed. Every failure becomes a DataError with a
message that names the dataset and the file.

A path means that file (or, for parquet, that folder): Polars' globbing is off unless the
contract asks for it with `glob=true`. The files of a multi-file dataset must agree on their
schema. What Polars would hide — a repeated column name, an NDJSON key repeated in an object or
left out of the inferred schema, a scan that stops early — is an error (`open_dataset`).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CheckError, DataError, UsageError
from .files import as_polars, check_readable, column_type, engine_failures, first_line

if TYPE_CHECKING:
    from ..resolve.contract import DatasetSource

# The dataset source kinds, and the keyword arguments a contract may pass to each (anything else
# is a diagnostic).
DATASET_OPTIONS = {
    "parquet": frozenset({"glob"}),
    "csv": frozenset({"separator", "has_header", "null_values", "quote_char", "skip_rows", "infer_schema_length",
                      "decimal_comma", "encoding", "glob"}),
    "ipc": frozenset({"glob"}),
    "ndjson": frozenset({"infer_schema_length", "glob"}),
    "profile": frozenset(),
    "table": frozenset(),  # a catalog table, "catalog.schema.name": the Spark engine's (docs/spark.md)
}
DATASET_KINDS = tuple(DATASET_OPTIONS)
# NDJSON files are checked for repeated keys this many bytes at a time (pyarrow's reader).
NDJSON_AUDIT_CHUNK = 64 << 20


def open_lazy(source: DatasetSource, frame: Any = None):
    """A Polars LazyFrame over the source (or over a frame passed in through the API)."""
    return _scan_files(source, frame)[0]


@dataclass(frozen=True)
class Opened:
    """A dataset opened for a run (open_dataset)."""

    lazy: Any  # the Polars LazyFrame
    rows: int | None  # the rows its files' metadata records (parquet, IPC); None: the format has no count
    index: tuple[str, ...] = ()  # columns that pandas metadata marks as the index: not features


def open_dataset(source: DatasetSource, frame: Any = None) -> Opened:
    """open_lazy(), plus the checks that read more than a schema, done when a contract runs (compiling
    reads schemas only, with Polars only): a column name the file repeats (Polars' IPC reader
    keeps one and panics when reading), an NDJSON key repeated in an object or missing from the
    inferred schema, and the row count the metadata records — the caller compares it with the
    rows it read (check_rows), so a scan that stops early is an error, not a smaller dataset."""
    lazy, files = _scan_files(source, frame)
    if not files:
        return Opened(lazy, None)
    what = f"dataset `{source.name}`"
    try:
        if source.format == "ndjson":
            _audit_ndjson(lazy, files, source, what)
        rows = _recorded_rows(source, files, what)
    except CheckError:
        raise
    except engine_failures() as error:
        raise DataError(f"{what}: cannot read {source.written or source.path}: {first_line(error)}") from error
    return Opened(lazy, rows, index_columns(source))


def check_rows(source: DatasetSource, recorded: int | None, read: int) -> None:
    """A DataError when the rows read differ from the rows the files record."""
    if recorded is not None and read != recorded:
        raise DataError(f"dataset `{source.name}`: read {read:,} rows, but {source.written or source.path} records "
                        f"{recorded:,}: the scan stopped early or read other files; no check on it can be trusted")


def _scan_files(source: DatasetSource, frame: Any = None):
    """(LazyFrame, the files it reads); no files for a frame passed through the API."""
    if frame is not None:
        return as_polars(frame, source.name).lazy(), []
    if source.format == "profile":
        raise DataError(f"dataset `{source.name}` is a profile: it has no rows to scan")
    path = source.path
    if path is None:
        raise DataError(f"dataset `{source.name}` was declared without data; pass it to run(datasets=...)")
    files = data_files(source)
    options = {key: value for key, value in source.options if key != "glob"}
    if source.format == "ndjson":
        # The whole file, not Polars' first 100 lines: a key that first appears later would be dropped.
        options.setdefault("infer_schema_length", None)
    what = f"dataset `{source.name}`"
    try:
        lazy = _polars_scan(source.format, _polars_target(source, files), options, files)
        names = lazy.collect_schema().names() if source.format == "csv" else []
        if len(files) > 1:
            _files_agree(source, files, options, what)
    except CheckError:
        raise
    except engine_failures() as error:  # polars raises many types for unreadable files
        raise DataError(f"{what}: cannot read {source.written or path}: {first_line(error)}") from error
    duplicated = _duplicated_header(names)
    if duplicated:
        name, renamed = duplicated
        raise DataError(f"{what}: {source.written or path} has the column `{name}` more than "
                        f"once (Polars would call a copy `{renamed}`); give each column its own name")
    return lazy, files


def _polars_scan(source_format: str, target, options: dict, files: list[Path]):
    import polars as pl

    if source_format == "parquet":
        return pl.scan_parquet(target, glob=False, **options)
    if source_format == "ipc":
        return pl.scan_ipc(target, glob=False, **options)
    if source_format == "ndjson":
        return _scan_ndjson(target, options, files)
    if source_format == "csv":
        return pl.scan_csv(target, glob=False, **options)
    raise DataError(f"unknown source format {source_format}")


# NDJSON schemas inferred in this process, by the files' identity: inferring one reads the whole
# file (seconds for 100 MB), and compiling then running a contract would do it twice.
_NDJSON_SCHEMAS: dict = {}


def _scan_ndjson(target, options: dict, files: list[Path]):
    import polars as pl

    stats = [f.stat() for f in files]
    key = (tuple((str(f), s.st_ino, s.st_size, s.st_mtime_ns) for f, s in zip(files, stats)),
           tuple(sorted(options.items())))
    if key not in _NDJSON_SCHEMAS:
        if len(_NDJSON_SCHEMAS) >= 32:
            _NDJSON_SCHEMAS.clear()
        _NDJSON_SCHEMAS[key] = pl.scan_ndjson(target, **options).collect_schema()
    rest = {k: v for k, v in options.items() if k != "infer_schema_length"}
    return pl.scan_ndjson(target, schema=_NDJSON_SCHEMAS[key], **rest)


def _polars_target(source: DatasetSource, files: list[Path]):
    """What Polars is given: a folder as it is (Polars reads its files and their hive
    partitions, `year=2024/`), else the files. scan_ndjson has no `glob=False`: its paths are
    escaped instead, so `data[1].ndjson` is that file and not `data1.ndjson`."""
    import glob

    if source.path is not None and source.path.is_dir() and not _globbed(source):
        return str(source.path)
    names = [glob.escape(str(f)) if source.format == "ndjson" else str(f) for f in files]
    return names[0] if len(names) == 1 else names


def _globbed(source: DatasetSource) -> bool:
    return dict(source.options).get("glob") is True


def data_files(source: DatasetSource) -> list[Path]:
    """The files a dataset reads: its file; the files under its folder (parquet); the files its
    pattern matches when the contract says `glob=true` (Python's glob: `*`, `?`, `[...]`, and
    `**` for any depth of folders; names starting with `.` only when the pattern says so)."""
    path = source.path
    assert path is not None  # a dataset read from files (a frame passed in has none)
    what = f"dataset `{source.name}`"
    if _globbed(source):
        import glob

        matches = glob.glob(_pattern(source), recursive=True)
        files = sorted(Path(match) for match in matches if not Path(match).is_dir())
        if not files:
            raise DataError(f"{what}: no file matches {source.written or path}")
        for file in files:
            check_readable(file, what, None)
        return files
    try:
        check_readable(path, what, source.written, folders=source.format == "parquet")
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


def _files_agree(source: DatasetSource, files: list[Path], options: dict, what: str) -> None:
    """A DataError unless every file has the first file's columns and types. Polars takes the
    first file's schema for the dataset: a check that reads no rows (`rows`, `schema matches`)
    would pass on files it never compared."""
    first = _file_schema(source.format, files[0], options)
    for file in files[1:]:
        schema = _file_schema(source.format, file, options)
        if schema == first:
            continue
        here, there = _shown(files[0], source), _shown(file, source)
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


def _file_schema(source_format: str, file: Path, options: dict) -> dict:
    import glob

    import polars as pl

    if source_format == "parquet":
        return dict(pl.read_parquet_schema(file))
    if source_format == "ipc":
        return dict(pl.read_ipc_schema(file))
    if source_format == "ndjson":
        return dict(pl.scan_ndjson(glob.escape(str(file)), **options).collect_schema())
    return dict(pl.scan_csv(str(file), glob=False, **options).collect_schema())


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
    return _pattern(source) if _globbed(source) else None


def _pattern(source: DatasetSource) -> str:
    """The glob pattern: the contract's text, under its folder taken literally (a contract in
    `runs[2]/` does not make `[2]` a pattern)."""
    import glob

    base = _base_folder(source)
    return os.path.join(glob.escape(str(base)), source.written) if base is not None and source.written else str(source.path)


def _shown(file: Path, source: DatasetSource) -> str:
    """A file of the dataset as the contract would write it (relative to the contract's folder)."""
    base = _base_folder(source)
    return os.path.relpath(file, base) if base is not None else str(file)


def _recorded_rows(source: DatasetSource, files: list[Path], what: str) -> int | None:
    """The rows the files' metadata records (parquet footers, IPC record batches), checking on
    the way that no IPC file repeats a column name (its Polars schema shows one)."""
    if source.format not in ("parquet", "ipc"):
        return None
    rows = 0
    for file in files:
        names, count = _parquet_names_and_rows(file) if source.format == "parquet" else _ipc_names_and_rows(file)
        repeated = next((name for i, name in enumerate(names) if name in names[:i]), None)
        if repeated is not None:
            raise DataError(f"{what}: {_shown(file, source)} has the column `{repeated}` more than once; "
                            "give each column its own name")
        rows += count
    return rows


def _parquet_names_and_rows(file: Path) -> tuple[list[str], int]:
    """Only the row count, `num_rows` of the footer: Polars' parquet schema already refuses a
    repeated column name. pyarrow reads the footer; where it cannot (a schema it does not
    know, e.g. 128-bit integers, which Polars reads), Polars' count comes from the footer too."""
    import pyarrow.parquet as pq

    try:
        return [], pq.read_metadata(file).num_rows
    except NotImplementedError:  # pyarrow.lib.ArrowNotImplementedError
        import polars as pl

        return [], int(pl.scan_parquet(str(file), glob=False).select(pl.len()).collect().item())


def _ipc_names_and_rows(file: Path) -> tuple[list[str], int]:
    """The column names and rows of an IPC file, read by pyarrow from its footer and batch
    headers; for a schema pyarrow does not know (128-bit integers), Polars' count and no names
    (Polars reads such a file; a repeated name in it goes unnoticed)."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    try:
        with pa.memory_map(str(file)) as mapped:
            reader = ipc.open_file(mapped)
            return reader.schema.names, reader.count_rows()
    except NotImplementedError:  # pyarrow.lib.ArrowNotImplementedError
        import polars as pl

        return [], int(pl.scan_ipc(str(file), glob=False).select(pl.len()).collect().item())


class _RepeatedKey(Exception):
    def __init__(self, key: str):
        self.key = key


def _unique_keys(pairs: list) -> dict:
    """json.loads' object_pairs_hook: refuse an object that repeats a key."""
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise _RepeatedKey(key)
        seen[key] = value
    return seen


def _audit_ndjson(lazy, files: list[Path], source: DatasetSource, what: str) -> None:
    """Polars keeps the first of an object's repeated keys and drops keys outside the schema it
    inferred: both would be data the checks silently never see. Every object of every file is
    read once (pyarrow's JSON reader, which refuses repeated keys, at any depth); a chunk it
    refuses for another reason (a key whose type changes) is read line by line with json."""
    import io

    import pyarrow.json as pj

    keys: set[str] = set()
    for file in files:
        line = 1
        with open(file, "rb") as handle:
            while chunk := handle.read(NDJSON_AUDIT_CHUNK):
                chunk += handle.readline()  # up to the end of the chunk's last line
                try:
                    keys.update(pj.read_json(io.BytesIO(chunk)).column_names)
                except Exception:  # noqa: BLE001 - a repeated key, or pyarrow's stricter typing
                    keys.update(_ndjson_keys(chunk, line, f"{what}: {_shown(file, source)}"))
                line += chunk.count(b"\n")
    unread = sorted(keys - set(lazy.collect_schema().names()))
    if unread:
        window = dict(source.options).get("infer_schema_length")
        raise DataError(f"{what}: the key `{unread[0]}` is not among the columns Polars inferred from the first "
                        f"{window} lines, so its values would be dropped; remove `infer_schema_length=`")


def _ndjson_keys(chunk: bytes, first_line: int, what: str) -> set[str]:
    """The top-level keys of the chunk's objects, read with json (a line that is not JSON is
    skipped: Polars reports it when it reads the file)."""
    import json

    keys: set[str] = set()
    for number, line in enumerate(chunk.split(b"\n"), first_line):
        try:
            value = json.loads(line, object_pairs_hook=_unique_keys)
        except _RepeatedKey as repeated:
            raise DataError(f"{what}: an object on line {number} has the key `{repeated.key}` twice "
                            "(Polars would keep the first); give each key once") from None
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            keys.update(value)
    return keys


def index_columns(source: DatasetSource) -> tuple[str, ...]:
    """Columns that hold a pandas DataFrame's index: `to_parquet` and `to_feather` of a frame
    whose index is not a plain range store it as a column, `__index_level_0__` when it has no
    name. They are not features. A parquet file's pandas metadata names them; an IPC file's
    metadata cannot be read with Polars (compiling imports no pyarrow), so there the unnamed
    levels are recognised by pandas' reserved name."""
    if source.format not in ("parquet", "ipc") or source.path is None:
        return ()
    import json

    import polars as pl

    index: list[str] = []
    try:
        for file in data_files(source):
            if source.format == "ipc":
                found = [c for c in pl.read_ipc_schema(file) if re.fullmatch(r"__index_level_\d+__", c)]
            else:
                pandas = json.loads(pl.read_parquet_metadata(file).get("pandas") or "{}")
                found = [c for c in pandas.get("index_columns", []) if isinstance(c, str)]
            index += [c for c in found if c not in index]
    except CheckError:
        return ()  # the dataset cannot be read: every check on it is an error anyway
    except engine_failures():  # metadata that is not pandas' (not JSON, not the expected shape)
        return tuple(index)
    return tuple(index)


def _duplicated_header(names: list[str]) -> tuple[str, str] | None:
    """(name, renamed copy) when a CSV header repeats a name: Polars reads the copies as
    `NAME_duplicated_0`, ... — a check on NAME would silently see only the first one. (A file
    whose header really has both `x` and `x_duplicated_0` is refused too; renaming is the fix.)"""
    present = set(names)
    for name in names:
        match = re.fullmatch(r"(.+)_duplicated_\d+", name)
        if match and match.group(1) in present:
            return match.group(1), name
    return None


def schema_of(source: DatasetSource, frame: Any = None) -> dict[str, tuple[str, str]]:
    """{column: (column type, dtype name)} without reading the data."""
    if source.format == "profile" and frame is None:
        from ..profiles import load_profile

        return load_profile(source.path, source.name).schema
    lazy = open_lazy(source, frame)
    try:
        schema = lazy.collect_schema()
    except engine_failures() as error:
        raise DataError(f"dataset `{source.name}`: cannot read {source.written or source.path}: "
                        f"{first_line(error)}") from error
    return {name: (column_type(dtype), str(dtype)) for name, dtype in schema.items()}


def row_count_hint(source: DatasetSource, frame: Any = None) -> int | None:
    """The number of rows when it is known without reading the data (for progress bars)."""
    try:
        if frame is not None:
            return len(frame) if not hasattr(frame, "collect") else None
        if source.format == "parquet" and source.path is not None:
            import pyarrow.parquet as pq

            return pq.ParquetFile(source.path).metadata.num_rows
    except Exception:  # only a hint: a progress bar without a total is fine
        return None
    return None


def parquet_dictionary_batches(path: Path, columns: list[str]):
    """Record batches of a parquet file's string `columns`, each read as a dictionary array:
    the codes and dictionary the file stores, not the strings they stand for."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path, read_dictionary=columns).iter_batches(columns=columns)


_SUFFIX_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv", ".arrow": "ipc",
                 ".ipc": "ipc", ".feather": "ipc", ".ndjson": "ndjson", ".jsonl": "ndjson"}


def format_of_path(path: Path) -> str:
    """The source format a data file's suffix says (for `mlc profile DATA`)."""
    source_format = _SUFFIX_FORMATS.get(path.suffix.lower())
    if source_format is None:
        raise UsageError(f"cannot tell the format of {path.name}: use a .parquet, .csv, .arrow/.ipc or .ndjson file")
    return source_format


