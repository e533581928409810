"""`parquet("data/train.parquet")`: a parquet file, or a folder of them (read whole, with its
hive partitions), or with `glob=true` the files a pattern matches. The rows its footers record
are compared with the rows read; a pandas index stored as a column (its metadata says so) is
not a feature."""
from __future__ import annotations

import json
from pathlib import Path

from .base import SourceKind
from .datasets import GLOB, FileFormat, one_or_many


def _scan(files: list[Path], folder: Path | None, options: dict):
    import polars as pl

    return pl.scan_parquet(str(folder) if folder is not None else one_or_many(files), glob=False, **options)


def _file_schema(file: Path, options: dict) -> dict:
    import polars as pl

    return dict(pl.read_parquet_schema(file))


def _recorded_rows(file: Path) -> tuple[list[str], int]:
    """Only the row count, `num_rows` of the footer: Polars' parquet schema already refuses a
    repeated column name. Polars answers a bare row count from the footer (no page is read),
    and it knows every type Polars reads (pyarrow refuses 128-bit integers); importing pyarrow
    for it would cost a one-check contract a third of its run time."""
    import polars as pl

    return [], int(pl.scan_parquet(str(file), glob=False).select(pl.len()).collect().item())


def _index_columns(file: Path) -> list[str]:
    """The index columns the file's pandas metadata names."""
    import polars as pl

    pandas = json.loads(pl.read_parquet_metadata(file).get("pandas") or "{}")
    return [c for c in pandas.get("index_columns", []) if isinstance(c, str)]


PARQUET = FileFormat(_scan, _file_schema, folders=True, recorded_rows=_recorded_rows, index_columns=_index_columns)

KINDS = (
    SourceKind("parquet", "dataset", summary="a parquet file, a folder of them, or the files a pattern matches",
               example="data/train.parquet", options={"glob": GLOB}, rank=10, suffixes=(".parquet", ".pq"),
               open=PARQUET.open, schema=PARQUET.schema),
)
