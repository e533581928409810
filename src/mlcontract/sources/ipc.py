"""`ipc("data/train.arrow")`: an Arrow IPC (Feather v2) file, or with `glob=true` the files a
pattern matches. The rows its record batches hold are compared with the rows read; a column
name the file repeats is an error (Polars' reader would keep one); a pandas index stored as a
column is not a feature."""
from __future__ import annotations

import re
from pathlib import Path

from .base import SourceKind
from .datasets import GLOB, FileFormat, one_or_many


def _scan(files: list[Path], folder: Path | None, options: dict):
    import polars as pl

    return pl.scan_ipc(one_or_many(files), glob=False, **options)


def _file_schema(file: Path, options: dict) -> dict:
    import polars as pl

    return dict(pl.read_ipc_schema(file))


def _recorded_rows(file: Path) -> tuple[list[str], int]:
    """The column names and rows of an IPC file, read by pyarrow from its footer and batch
    headers; for a schema pyarrow does not know (128-bit integers), Polars' count and no names
    (Polars reads such a file; a repeated name in it goes unnoticed)."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    try:
        with pa.memory_map(str(file)) as mapped:
            reader = ipc.open_file(mapped)
            if hasattr(reader, "count_rows"):
                return reader.schema.names, reader.count_rows()
            # Before pyarrow 26 (mlflow pins pyarrow<26): on a memory map, get_batch reads a
            # batch's header and maps its buffers without reading them.
            return reader.schema.names, sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
    except NotImplementedError:  # pyarrow.lib.ArrowNotImplementedError
        import polars as pl

        return [], int(pl.scan_ipc(str(file), glob=False).select(pl.len()).collect().item())


def _index_columns(file: Path) -> list[str]:
    """An IPC file's metadata cannot be read with Polars (compiling imports no pyarrow), so the
    unnamed index levels are recognised by pandas' reserved name."""
    import polars as pl

    return [c for c in pl.read_ipc_schema(file) if re.fullmatch(r"__index_level_\d+__", c)]


IPC = FileFormat(_scan, _file_schema, recorded_rows=_recorded_rows, index_columns=_index_columns)

KINDS = (
    SourceKind("ipc", "dataset", summary="an Arrow IPC (Feather v2) file, or the files a pattern matches",
               example="data/train.arrow", options={"glob": GLOB}, rank=30, suffixes=(".arrow", ".ipc", ".feather"),
               open=IPC.open, schema=IPC.schema),
)
