"""Views computed from their root's scan (plan.Scan.views), for the local engine.

A view (`training where age < 18`, `training (string lengths)`) is not read from its files: the
scan of its root dataset reads the columns the view needs (its requests' and its conditions')
with the root's own, and the view's rows are derived from the rows read, step by step along
its `inner` chain (`sources.conditions.derived`, the same step `sources.open_dataset` applies
when it opens a view on its own). Every step is row by row, so a streamed scan derives each
batch's rows of the view from that batch. One view's rows are alive at a time: they are
dropped once its requests are computed.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import CheckError, DataError
from ..plan import requests as rq
from ..sources.files import column_type, engine_failures

if TYPE_CHECKING:
    from ..plan import Scan
    from ..resolve.contract import DatasetSource


@dataclass
class ViewWork:
    """One view of a scan: how it is derived, what of it is read, what is computed on it."""

    name: str
    steps: list[DatasetSource]  # from the root outward: each view derived from the one before
    present: list[str]  # the view's columns its requests read
    reads: list[str]  # the root's columns deriving them needs: those, and its conditions' columns
    todo: list[rq.Request]  # its requests left to compute


def steps_of(source: DatasetSource) -> list[DatasetSource]:
    """The views from the root outward whose last one is `source` (the root itself not included)."""
    steps = []
    while source.inner is not None:
        steps.append(source)
        source = source.inner
    return steps[::-1]


def derive(lazy: Any, steps: list[DatasetSource]) -> Any:
    """The view's rows (lazily) from its root's rows `lazy`."""
    from ..sources.conditions import derived

    for step in steps:
        lazy = derived(lazy, step)
    return lazy


def prepare(scan: Scan, datasets: Mapping[str, DatasetSource], root_lazy: Any, root_schema: Any,
            index: tuple[str, ...], got: dict) -> list[ViewWork]:
    """The scan's views, before any row is read: a view that cannot be derived from the root's
    columns, and a request on a column the view lacks, get their error in `got` here; a view's
    schema request is answered from the derived schema (as for the root)."""
    views = []
    for name in scan.views:
        requests = [r for r in scan.requests if r.dataset == name]
        steps = steps_of(datasets[name])
        try:
            schema = derive(root_lazy, steps).collect_schema()
        except engine_failures() as error:  # a condition's column the data lacks (a KeyError), say
            for request in requests:
                got[request] = failed(name, error)
            continue
        present: list[str] = []
        for request in requests:
            columns = [request.column] if request.column is not None else list(getattr(request, "key", ()))
            if request.column is not None and request.column not in schema:
                got[request] = DataError(f"column `{request.column}` is missing in dataset `{name}`")
            elif isinstance(request, rq.SchemaOf):
                got[request] = {column: (column_type(dtype), str(dtype)) for column, dtype in schema.items()
                                if column not in index}
            present += [c for c in columns if c in schema and c not in present]
        from ..plan import view_columns

        reads = present + [c for c in view_columns(datasets[name]) if c not in present]
        if not reads and len(root_schema):  # a condition of literals only: one column carries the rows
            reads = [next(iter(root_schema))]
        views.append(ViewWork(name, steps, present, reads, [r for r in requests if r not in got]))
    return [view for view in views if view.todo]


def rows_of(frame: Any, view: ViewWork) -> Any:
    """The view's rows from the root's rows read (a DataFrame, or one batch of it): its present
    columns, or only their number (a frame of one `len` value) when it reads none itself."""
    import polars as pl

    lazy = derive(frame.lazy(), view.steps)
    return lazy.select(view.present).collect() if view.present else lazy.select(pl.len()).collect()


def height(frame: Any, view: ViewWork) -> int:
    """The number of rows of a frame `rows_of` made."""
    return frame.height if view.present else int(frame["len"][0])


def failed(view: str, error: BaseException) -> CheckError:
    """The error a view's requests get when its rows cannot be derived from the rows read."""
    if isinstance(error, KeyError) and error.args:  # sources.conditions looks a condition's columns up
        return DataError(f"dataset `{view}`: its condition reads `{error.args[0]}`, a column the data lacks")
    return DataError(f"dataset `{view}`: cannot derive its rows: {_first_line(error)}")


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
