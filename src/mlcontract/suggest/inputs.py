"""What `mlc suggest` is given: the data files, read exactly as a contract's dataset
declaration reads them; the label; the columns that are not features, and why."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .literals import writable
from .thresholds import RANK_FROM_TOP


@dataclass
class Table:
    """A data file given to `mlc suggest`, read."""

    path: Path
    frame: Any  # polars DataFrame
    types: dict[str, str]  # column -> numeric | categorical | other

    @property
    def rows(self) -> int:
        return int(self.frame.height)


def read(path: Path) -> Table:
    """Read a data file as `mlc check` reads a declared dataset (the same checks: missing file,
    folder, FIFO, permissions, a scan that stops early; a pandas index is not a column)."""
    from ..resolve.contract import DatasetSource
    from ..sources import format_of_path, open_dataset
    from ..sources.datasets import check_rows
    from ..sources.files import column_type

    source = DatasetSource(path.stem or "data", format_of_path(path), path, written=str(path))
    opened = open_dataset(source)
    frame = opened.lazy.drop(list(opened.index)).collect()
    check_rows(source, opened.rows, frame.height)
    if frame.height < 2 * RANK_FROM_TOP:
        raise UsageError(f"{path} has {frame.height} rows: too few to calibrate thresholds on")
    return Table(path, frame, {name: column_type(dtype) for name, dtype in frame.schema.items()})


def choose_label(source: Table, reference: Table | None, label: str | None, needed: bool) -> str | None:
    """The label column: --label, or the one column of DATA that PRODUCTION lacks."""
    if label is not None:
        if label not in source.types:
            raise UsageError(f"--label {label}: no such column in {source.path}")
        return label
    if reference is not None:
        only_here = [c for c in source.types if c not in reference.types]
        if len(only_here) == 1:
            return only_here[0]
        if len(only_here) > 1:
            raise UsageError(f"{len(only_here)} columns of {source.path} are not in {reference.path} "
                             f"({', '.join(only_here[:5])}): say which is the label with --label")
    if needed:
        raise UsageError("a model's metrics need the label column: give it with --label")
    return None


def not_features(source: Table, label: str | None, ignore: tuple[str, ...]) -> dict[str, str]:
    """Columns that are not features, with the reason: --ignore, and identifiers (integer or
    text columns whose every value is distinct: drift between two samples of them is certain)."""
    import polars as pl

    ignored = {}
    for column in ignore:
        if column not in source.types:
            raise UsageError(f"--ignore {column}: no such column in {source.path}")
        ignored[column] = "--ignore"
    frame = source.frame
    for column, kind in source.types.items():
        if column in ignored or column == label:
            continue
        dtype = frame.schema[column]
        text = kind == "categorical" and dtype != pl.Boolean
        if (dtype.is_integer() or text) and frame[column].null_count() == 0 \
                and frame[column].n_unique() == frame.height:
            ignored[column] = "every value is distinct: an identifier, not a feature"
    return ignored


def features(source: Table, reference: Table | None, label: str | None,
             ignored: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The feature columns a line can be suggested for ({column: numeric | categorical}), and
    the others with the reason (said in the contract)."""
    chosen, skipped = {}, []
    for column, kind in source.types.items():
        if column == label or column in ignored:
            continue
        if not writable(column):
            skipped.append(f"{column!r}: a name a contract cannot quote")
        elif kind == "other":
            skipped.append(f"{column}: type {source.frame.schema[column]} has no suggested check")
        elif reference is not None and column not in reference.types:
            skipped.append(f"{column}: not in {reference.path}")
        else:
            chosen[column] = kind
    if not chosen:
        raise UsageError(f"{source.path} has no numeric or categorical feature column to suggest checks for")
    return chosen, skipped
