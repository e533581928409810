"""The local engine ("local" in engines.ENGINES): Polars and the Cython kernels, in this process.

It reads each scan with Polars (lazy scan, projection pushdown: only the columns the plan
names) and computes the per-column work with the Cython kernels in `mlcontract._kernels`,
straight from the Arrow buffers, one `COLUMN_WORK` entry per request type. The views of a
scan (`training where ...`) are derived from the rows it read (engines/views.py). Profile scans go to
the profile engine (engines/profile.py), model and history work to the shared handlers
(models/handlers.py). A request that cannot be computed gets its CheckError as its value, so
only the checks that need it fail, and they fail closed.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar, NamedTuple

from ..errors import CheckError, DataError
from ..plan import Plan, Scan, requests as rq
from ..sources import datasets as sources
from ..sources.files import column_type, engine_failures, is_file
from . import views as _views
from .base import Inputs, Progress, Settings, attempt as _attempt, fetch as _fetch

# A string column is counted from its parquet dictionary codes while each batch's dictionary has
# at most this many entries, or a 16th of the batch's rows (LocalBackend._count_dictionaries).
DICTIONARY_MIN = 4_096
# From this many rows a scan that takes bin edges reads its columns one at a time (_reads_by_column).
# Measured with bench/drift.py's data (psi + null_rate + mean on 25 columns, 2 cores, medians of 5-7
# round-robin): one column at a time took 0.91x the wall time of all columns at once at 10M rows per
# side (peak RSS 0.63 against 1.80 GB) and 0.88x at 3M (0.55 against 0.68 GB), but 1.11x at 1M,
# where 25 reads of one column cost more than they save and the first read no longer overlaps
# the imports (_read_first_early).
EDGES_BY_COLUMN_ROWS = 2_000_000


class LocalBackend:
    """Polars + Cython kernels, in this process."""

    name: ClassVar[str] = "local"
    inputs: Inputs  # the inputs of the run under way (set by run)

    def __init__(self, settings: Settings | None = None, progress: Progress | None = None):
        self.settings = settings if settings is not None else Settings()
        self.progress = progress
        self.computed = 0  # number of requests computed (the plan's deduplication is tested on it)

    def run(self, plan: Plan, inputs: Inputs) -> dict[rq.Request, Any]:
        self.inputs = inputs
        self.releases = _Releases(plan)
        got: dict[rq.Request, Any] = {}
        prepared = {id(scan): self._prepare(scan, got) for scan in plan.scans if scan.mode != "profile"}
        self._read_first_early(list(prepared.values()))
        for scan in plan.scans:
            if scan.mode == "profile":
                from .profile import serve_scan

                self.computed += serve_scan(inputs.datasets[scan.dataset], scan, got)
            elif (work := prepared[id(scan)]) is not None:
                self._finish(work, got)
        if plan.other:
            from ..models.handlers import run_handlers

            run_handlers(plan, inputs, got, self.progress)
            self.computed += len(plan.other)
        return got

    # ---- one scan ------------------------------------------------------------------------------
    def _prepare(self, scan: Scan, got: dict) -> _ScanWork | None:
        """Open the scan's dataset and decide what is read how, before any data is read. Missing
        columns (and a dataset that cannot be opened) become errors here; None: nothing to read."""
        source = self.inputs.datasets[scan.dataset]
        try:
            opened, schema = self._open(source, scan.dataset)
        except CheckError as error:
            for request in scan.requests:
                got[request] = error
            self.computed += len(scan.requests)
            return None
        own = [r for r in scan.requests if r.dataset == scan.dataset]  # the others: its views'
        views = _views.prepare(scan, self.inputs.datasets, opened.lazy, schema, opened.index, got) if scan.views else []
        for request in own:
            if request.column is not None and request.column not in schema:
                got[request] = DataError(f"column `{request.column}` is missing in dataset `{scan.dataset}`")
            elif isinstance(request, rq.SchemaOf):  # what checks see: a pandas index is not a column of it
                got[request] = {name: (column_type(dtype), str(dtype)) for name, dtype in schema.items()
                                if name not in opened.index}
        todo = [r for r in own if r not in got]
        coded = self._dictionary_columns(source, scan.dataset, schema, todo)
        # a column a view reads is read even when the root's counts of it come from the codes: the
        # root's checks get the counts they got before (the order of equal counts included)
        view_reads = list(dict.fromkeys(c for view in views for c in view.reads))
        present = [c for c in scan.columns if c in schema and (c not in coded or c in view_reads)]
        present += [c for c in view_reads if c not in present]
        work = _ScanWork(scan, source, opened.lazy, present,
                         [r for r in todo if r.column not in coded], coded, [r for r in todo if r.column in coded],
                         rows=opened.rows, views=views)
        work.by_column = self._reads_by_column(work, scan.dataset)
        return work

    def _reads_by_column(self, work: _ScanWork, dataset: str) -> bool:
        """Whether the scan reads its columns one at a time, each by the thread that computes it,
        instead of all at once: when it sorts columns (the sorted copies are what stays alive, so
        holding every column read next to them would double the memory), or takes bin edges from
        a large dataset (the selection walks each column twice, so a column must be whole while
        its edges are taken, but not every column at once: EDGES_BY_COLUMN_ROWS); and only from a
        columnar file (parquet, IPC), where reading one column reads only its pages."""
        if work.streamed or len(work.present) < 2 or work.rows is None:
            return False
        if work.source.format not in ("parquet", "ipc") or self.inputs.dataset_objects.get(dataset) is not None:
            return False
        if any(COLUMN_WORK[type(r)].sorts for r in work.todo if type(r) in COLUMN_WORK):
            return True
        return work.rows >= EDGES_BY_COLUMN_ROWS and any(isinstance(r, rq.Edges) for r in work.todo)

    def _read_first_early(self, prepared: list) -> None:
        """Start reading the first in-memory scan in a thread (or, when it reads one column at a
        time, its first column), then import what the column work needs (NumPy, pyarrow, the
        kernels: ~0.1 s). Polars reads without the GIL, so the two overlap instead of adding up."""
        if not any(prepared):
            return
        first = next((w for w in prepared if w is not None and w.busy and not w.streamed), None)
        if first is not None and not first.by_column:
            first.frame = _in_background(_read_frame, first.lazy, first.present)
        elif first is not None:
            own = first.own_columns()  # the first of them is the first one _by_column reads
            if own:
                first.first_column = (own[0], _in_background(_read_frame, first.lazy, [own[0]]))
        if any(w is not None and (w.coded or any(r.column is not None for r in w.todo) or w.views) for w in prepared):
            # Only column work needs them: a contract of row counts and schemas imports none (~0.2 s).
            import pyarrow.parquet  # noqa: F401

            from .. import _kernels  # noqa: F401
            from . import columns  # noqa: F401

    def _finish(self, work: _ScanWork, got: dict) -> None:
        counting = _in_background(self._count_dictionaries, work.source.path, work.coded) if work.coded else None
        self._compute(work, got)
        if counting is not None:
            counts = counting.result()
            for request in work.coded_todo:
                if request.column in counts:
                    got[request] = counts[request.column]
            left = [c for c in work.coded if c not in counts]  # Polars reads what was not counted
            if left:
                self._compute(_ScanWork(work.scan, work.source, work.lazy, left,
                                        [r for r in work.coded_todo if r.column in left], rows=work.rows), got)
        self.computed += len(work.scan.requests)

    def _compute(self, work: _ScanWork, got: dict) -> None:
        """Read the work's columns with Polars and compute its requests, streamed or in memory."""
        if not work.busy:
            return
        try:
            if work.streamed:
                self._stream(work, got)
            elif work.by_column:
                self._by_column(work, got)
            else:
                self._in_memory(work, got)
        except CheckError as error:
            for request in work.todo + [r for view in work.views for r in view.todo]:
                got.setdefault(request, error)

    def _open(self, source, dataset: str):
        opened = self.inputs.opened(dataset)
        try:
            return opened, opened.lazy.collect_schema()
        except engine_failures() as error:
            raise DataError(f"dataset `{dataset}`: cannot read {source.describe()}: {_first_line(error)}") from error

    def _dictionary_columns(self, source, dataset: str, schema, todo: list) -> list[str]:
        """The string columns of a parquet file whose every request is a Counts: they are
        counted from the codes of the file's dictionary pages (_count_dictionaries)."""
        import polars as pl

        if source.format != "parquet" or source.inner is not None or self.inputs.dataset_objects.get(dataset) is not None \
                or not is_file(source.path):
            return []
        by_column = _group_by_column(todo)
        keyed = {c for r in todo for c in getattr(r, "key", ())}  # a key (KeyDuplicates) reads the column too
        keyed |= {c for c, _ in source.missing}  # the file's codes do not know the contract's missing values
        return [c for c, requests in by_column.items() if c is not None and schema.get(c) == pl.String
                and all(isinstance(r, rq.Counts) for r in requests) and c not in keyed]

    @staticmethod
    def _count_dictionaries(path, columns: list[str]) -> dict:
        """Value counts of string columns of a parquet file from the codes of its dictionary
        pages: pyarrow reads such a column as a dictionary array, and counting its codes takes a
        few ms per million rows where hashing the strings takes ~25 ms. It runs in a thread
        next to the Polars read of the other columns (both release the GIL).

        Returns the counts of the columns it could count. Left out (Polars counts them): all of
        them when pyarrow cannot read the file this way, and a column whose dictionaries are
        large next to its batches — IDs, free text — where turning each batch's dictionary into
        Python strings costs more than Polars' hashing."""
        from . import columns as col

        counters = {c: col.DictionaryCounter() for c in columns}
        try:
            for batch in sources.parquet_dictionary_batches(path, columns):
                for column in [c for c in columns if c in counters]:
                    array = batch.column(column)
                    if len(array.dictionary) > max(DICTIONARY_MIN, len(array) // 16):
                        del counters[column]
                    else:
                        counters[column].add(array)
                if not counters:
                    break
        except engine_failures():  # an encoding pyarrow cannot read: Polars reads the columns instead
            return {}
        return {column: counter.result() for column, counter in counters.items()}

    def _in_memory(self, work: _ScanWork, got: dict) -> None:
        scan, present, todo = work.scan, work.present, work.todo
        if self.progress:
            self.progress.start(f"reading {scan.dataset}", None)
        try:
            frame = work.frame.result() if work.frame is not None else _read_frame(work.lazy, present)
            work.frame = None  # the frame lives while this scan is computed, not the whole run
        except engine_failures() as error:
            raise DataError(f"dataset `{scan.dataset}`: cannot read it: {_first_line(error)}") from error
        rows = frame.height if present else int(frame["len"][0])
        sources.check_rows(work.source, work.rows, rows)
        by_column = _group_by_column(todo)
        for request in by_column.pop(None, []):
            got[request] = _attempt(partial(_dataset_level, request, rows, frame))

        def column_work(column: str) -> None:
            self._column_requests(by_column[column], frame[column], got, scan.dataset)

        self._parallel(column_work, list(by_column))
        self._compute_views(work.views, frame, got)
        if self.progress:
            self.progress.advance(rows)
            self.progress.finish()

    def _by_column(self, work: _ScanWork, got: dict) -> None:
        """The scan's columns read one at a time, each by the thread that computes its requests,
        then dropped: at any moment only the columns being computed are in memory (plus what
        the requests keep, e.g. sorted copies). Each column's rows are compared with the rows
        the files record; one column that cannot be read, or reads short, makes every request
        of the scan an error, as a failed read of all columns at once does."""
        scan, todo, rows = work.scan, work.todo, work.rows
        assert rows is not None  # _reads_by_column: the files record their rows
        if self.progress:
            self.progress.start(f"reading {scan.dataset}", None)
        by_column = _group_by_column(todo)
        dataset_level = by_column.pop(None, [])

        def column_work(column: str) -> None:
            try:
                early = work.first_column
                if early is not None and early[0] == column:
                    work.first_column = None
                    series = early[1].result()[column]
                else:
                    series = _read_frame(work.lazy, [column])[column]
            except engine_failures() as error:
                raise DataError(f"dataset `{scan.dataset}`: cannot read it: {_first_line(error)}") from error
            sources.check_rows(work.source, rows, series.len())
            self._column_requests(by_column.get(column, []), series, got, scan.dataset)

        own = work.own_columns()  # keys' and views' columns are read together below
        keyed = [r for r in dataset_level if isinstance(r, rq.KeyDuplicates)]
        together = list(dict.fromkeys([*(c for r in keyed for c in r.key if c in work.present),
                                       *(c for view in work.views for c in view.reads)]))
        try:
            self._parallel(column_work, own)
            if together:  # a key's columns, and a view's, are needed together: one read of them all
                try:
                    frame = _read_frame(work.lazy, together)
                except engine_failures() as error:
                    raise DataError(f"dataset `{scan.dataset}`: cannot read it: {_first_line(error)}") from error
                sources.check_rows(work.source, rows, frame.height)
                for request in keyed:
                    got[request] = _attempt(partial(_dataset_level, request, rows, frame))
                self._compute_views(work.views, frame, got)
                del frame
        except CheckError as error:  # no request of a scan that read wrong keeps a value
            for request in todo + [r for view in work.views for r in view.todo]:
                got[request] = error
            return
        finally:
            if self.progress:
                self.progress.advance(rows)
                self.progress.finish()
        for request in dataset_level:
            if request not in got:
                got[request] = _dataset_level(request, rows)

    def _compute_views(self, views: list, frame, got: dict) -> None:
        """Each view's requests on its rows derived from the rows read (`frame`), one view after
        the other: a view's rows are dropped before the next view's are derived."""
        for view in views:
            try:
                rows_of_view = _views.rows_of(frame, view)
            except engine_failures() as error:
                for request in view.todo:
                    got[request] = _views.failed(view.name, error)
                continue
            rows = _views.height(rows_of_view, view)
            by_column = _group_by_column(view.todo)
            for request in by_column.pop(None, []):
                got[request] = _attempt(partial(_dataset_level, request, rows, rows_of_view))

            def column_work(column: str, rows_of_view=rows_of_view, by_column=by_column, view=view) -> None:
                self._column_requests(by_column[column], rows_of_view[column], got, view.name)

            self._parallel(column_work, list(by_column))
            del rows_of_view, column_work  # freed before the next view's rows are derived

    def _column_requests(self, requests: list, series, got: dict, dataset: str) -> None:
        """One column's requests (a whole column), then the sorted copies of other datasets
        that its walks were the last to need are let go (_Releases)."""
        memo = _column_memo(requests, series, got)
        for request in requests:
            got[request] = _attempt(lambda: _column_request(request, series, got, dataset, memo))  # noqa: B023 (called at once)
        self.releases.done(requests, got)

    def _stream(self, work: _ScanWork, got: dict) -> None:
        """Every request here merges over batches: read the dataset batch by batch. The rows read
        are compared with the rows the file records: a reader that stops early (a Polars panic in
        a reader thread ends the batches without an exception) must not look like a short file."""
        scan, lazy, present, todo = work.scan, work.lazy, work.present, work.todo
        if self.progress:
            total = work.rows if work.rows is not None else sources.row_count_hint(
                self.inputs.datasets[scan.dataset], self.inputs.dataset_objects.get(scan.dataset))
            self.progress.start(f"scanning {scan.dataset}", total)
        by_column = _group_by_column(todo)
        dataset_level = by_column.pop(None, [])
        # each view's requests by column, and its rows counted over the batches (views.py)
        view_columns = {view.name: _group_by_column(view.todo) for view in work.views}
        view_level = {view.name: view_columns[view.name].pop(None, []) for view in work.views}
        view_rows = dict.fromkeys(view_columns, 0)
        states: dict = {}
        rows = 0

        def merge_batch(requests: list, series, dataset: str) -> None:
            memo = _column_memo(requests, series, got)
            for request in requests:
                if isinstance(states.get(request), BaseException):
                    continue
                value = _attempt(lambda: _column_request(request, series, got, dataset, memo))  # noqa: B023 (called at once)
                states[request] = value if isinstance(value, BaseException) or request not in states \
                    else request.merge(states[request], value)

        try:
            # In file order: summaries merge batch by batch and chunk by chunk, and floating-point
            # sums depend on that order; in whatever order the reader threads finish, a mean
            # could differ in its last bit from one run to the next (the order costs no time).
            batches = lazy.select(present).collect_batches(chunk_size=self.settings.chunk_rows, maintain_order=True)
            for batch in batches:
                rows += batch.height
                self._parallel(partial(_merge_column, merge_batch, by_column, batch, scan.dataset), list(by_column))
                for view in work.views:
                    self._stream_view(view, batch, view_columns[view.name], view_rows, states, merge_batch)
                if self.progress:
                    self.progress.advance(batch.height)
        except engine_failures() as error:
            raise DataError(f"dataset `{scan.dataset}`: cannot read it: {_first_line(error)}") from error
        finally:
            if self.progress:
                self.progress.finish()
        sources.check_rows(work.source, work.rows, rows)
        for request in dataset_level:
            got[request] = _dataset_level(request, rows)
        for view in work.views:
            for request in view_level[view.name]:
                failure = states.get(request)  # its rows could not be derived
                got[request] = failure if isinstance(failure, BaseException) else _dataset_level(request, view_rows[view.name])
        for requests in [*by_column.values(), *(r for grouped in view_columns.values() for r in grouped.values())]:
            for request in requests:
                got[request] = states[request] if request in states else _attempt(lambda: request.empty(got))  # noqa: B023

    def _stream_view(self, view, batch, by_column: dict, view_rows: dict, states: dict, merge_batch) -> None:
        """One batch's rows of a view, derived from the batch read, merged into its requests'
        states. An empty one adds nothing (its requests' value over no rows is `empty`, as when
        the view was streamed on its own); one that cannot be derived fails the view's requests."""
        if any(isinstance(states.get(r), BaseException) for r in view.todo):
            return
        try:
            rows_of_view = _views.rows_of(batch, view)
        except engine_failures() as error:
            for request in view.todo:
                states[request] = _views.failed(view.name, error)
            return
        height = _views.height(rows_of_view, view)
        view_rows[view.name] += height
        if height:
            self._parallel(partial(_merge_column, merge_batch, by_column, rows_of_view, view.name), list(by_column))

    def _parallel(self, work: Callable[[str], None], columns: list[str]) -> None:
        threads = self.settings.threads
        if len(columns) <= 1 or threads == 1:
            for column in columns:
                work(column)
            return
        with ThreadPoolExecutor(max_workers=min(threads, len(columns))) as pool:
            list(pool.map(work, columns))


@dataclass
class _ScanWork:
    """What one scan reads and computes, decided before any data is read."""

    scan: Scan
    source: Any
    lazy: Any
    present: list[str]  # the columns Polars reads
    todo: list  # the requests computed from them
    coded: list[str] = field(default_factory=list)  # parquet string columns counted from dictionary codes
    coded_todo: list = field(default_factory=list)  # the requests on those
    frame: Any = None  # a Future of the in-memory read, when it was started early
    first_column: Any = None  # (column, Future of its read) when a by-column scan's first read was started early
    rows: int | None = None  # the rows the dataset's files record (None: not recorded)
    by_column: bool = False  # read one column at a time (LocalBackend._reads_by_column)
    views: list = field(default_factory=list)  # views.ViewWork: the views derived from the rows read

    @property
    def streamed(self) -> bool:
        return self.scan.streamed and bool(self.present)

    def own_columns(self) -> list[str]:
        """The columns read that the scan's own requests are on, in reading order (_by_column
        reads these one at a time)."""
        asked = {r.column for r in self.todo}
        return [c for c in self.present if c in asked]

    @property
    def busy(self) -> bool:
        """Whether anything is left to read for: requests of the root or of its views."""
        return bool(self.todo or self.views)


class _Releases:
    """Sorted copies that only walks read: a column's `SortedValues` of the reference dataset is
    computed in the reference's scan and read by the walks of the later scans. When no check
    reads it itself (a pNN does; ks, ks_pvalue and wasserstein read the walk), it is dropped
    from the results as soon as the last walk that needs it ran, so the sorted copies of every
    column do not all stay alive until the end of the run."""

    def __init__(self, plan: Plan):
        import threading

        read_by_checks = {r for check in plan.contract.checks if not check.bind_error
                          for measure in check.measures() for r in measure.requests()}
        self.waiting: dict[rq.Request, int] = {}
        for request in plan.requests:
            for needed in request.depends_on():
                if isinstance(needed, rq.SortedValues) and needed not in read_by_checks:
                    self.waiting[needed] = self.waiting.get(needed, 0) + 1
        self.lock = threading.Lock()

    def done(self, computed: list, got: dict) -> None:
        for request in computed:
            for needed in request.depends_on():
                with self.lock:
                    if needed not in self.waiting:
                        continue
                    self.waiting[needed] -= 1
                    if self.waiting[needed] == 0:
                        del self.waiting[needed]
                        got.pop(needed, None)


def _merge_column(merge_batch: Callable, by_column: dict, batch, dataset: str, column: str) -> None:
    """A streamed scan's requests on one column of one batch (of the dataset or of a view's rows
    in it), merged into what the earlier batches gave (`merge_batch`, LocalBackend._stream)."""
    merge_batch(by_column[column], batch[column], dataset)


def _read_frame(lazy, present: list[str]):
    """The columns read at once (or, with none to read, just the row count)."""
    import polars as pl

    return lazy.select(present).collect() if present else lazy.select(pl.len()).collect()


def _in_background(function: Callable, *args):
    """Start function(*args) in a thread; returns its Future."""
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(function, *args)
    pool.shutdown(wait=False)
    return future


def _dataset_level(request: rq.Request, rows: int, frame=None):
    """A request about the dataset as a whole (no column): its row count, or how its keys repeat."""
    if isinstance(request, rq.RowCount):
        return rows
    if isinstance(request, rq.KeyDuplicates) and frame is not None:
        return key_duplicates(frame, request.key)
    return CheckError(f"cannot compute {request.describe()}")


def key_duplicates(frame, key: tuple[str, ...], shown: int = 5):
    """(rows, distinct keys, [(key values, rows), ...] of the `shown` most repeated keys)."""
    import polars as pl

    missing = [c for c in key if c not in frame.columns]
    if missing:
        raise DataError(f"column `{missing[0]}` is missing")
    # NaN is missing, like null: the two are one group
    columns = [pl.col(c).fill_nan(None) if frame.schema[c].is_float() else pl.col(c) for c in key]
    groups = frame.select(columns).group_by(list(key)).len(name="__rows")
    repeated = groups.filter(pl.col("__rows") > 1).sort("__rows", descending=True, maintain_order=True).head(shown)
    top = [(tuple(row[:-1]), int(row[-1])) for row in repeated.iter_rows()]
    return frame.height, groups.height, top


def _group_by_column(requests: list) -> dict:
    grouped: dict = {}
    for request in requests:
        grouped.setdefault(request.column, []).append(request)
    return grouped


# ---- per-column work: one entry per request type ----------------------------------------------------
class Fusable(NamedTuple):
    """What a request adds to a column's fused scan_numeric pass (_fused): the summary itself,
    a histogram on these edges, or a count outside this range."""

    part: str  # "summary" | "edges" | "range"
    argument: Any = None


@dataclass(frozen=True)
class ColumnWork:
    """How the local engine computes one request type on one column (a whole column, or one
    batch of it): `compute(request, series, got, memo)`, where `memo` is what the column's
    requests share (its fused pass, its sorted copy, its summary)."""

    compute: Callable[[Any, Any, dict, dict], Any]
    numeric: bool = True  # the column must be numeric (columns.require_numeric)
    sorts: bool = False  # the request sorts the column, so its bin edges are read off the sorted copy
    fuse: Callable[[Any, dict], Fusable | None] | None = None  # its part of the fused pass, if any


def _counts(request: rq.Counts, series, got: dict, memo: dict):
    from . import columns as col  # NumPy: imported while the first read runs (_read_first_early)

    return col.value_counts(series)


def _summary(series, memo: dict):
    """The column's NumericSummary, computed once per column (or taken from the fused pass)."""
    from . import columns as col

    if "summary" not in memo:
        memo["summary"] = col.summarize(series)
    return memo["summary"]


def _sorted(series, memo: dict):
    """The column's finite values sorted, once per column: its edges, its pNN, KS, Wasserstein
    and its histogram on its own edges all read that one sorted copy."""
    from . import columns as col

    if "sorted" not in memo:
        memo["sorted"] = col.sorted_finite(series)
    return memo["sorted"]


def _edges(request: rq.Edges, series, got: dict, memo: dict):
    from . import columns as col

    if "sorted" not in memo and not memo.get("sorts"):
        # Bin edges alone need ~18 order statistics, not a sorted copy (columns.quantile_edges);
        # the selection is kept: it gives the histogram on these edges without another pass.
        edges, memo.setdefault("selections", {})[request] = col.quantile_selection(
            series, request.bins, _summary(series, memo), memo.get("buckets"))
        return edges
    from ..statistics.formulas import quantile_edges

    return quantile_edges(_sorted(series, memo), request.bins)


def _histogram(request: rq.Histogram, series, got: dict, memo: dict):
    from . import columns as col

    edges = _fetch(got, request.edges)
    if request.edges.of == request.of and "sorted" in memo:
        from .._kernels import searchsorted_counts

        return searchsorted_counts(memo["sorted"], edges)
    selection = memo.get("selections", {}).get(request.edges) if request.edges.of == request.of else None
    counts = selection.histogram(edges) if selection is not None else None
    return counts if counts is not None else col.histogram(series, edges)


def _sample_walk(request: rq.SampleWalk, series, got: dict, memo: dict):
    from ..statistics.formulas import walk

    return walk(_sorted(series, memo), _fetch(got, rq.SortedValues(request.against, request.name)))


def _outside_count(request: rq.OutsideCount, series, got: dict, memo: dict):
    from . import columns as col

    return col.count_outside(series, request.low, request.high)


def _outside_range(request: rq.OutsideRange, series, got: dict, memo: dict):
    from . import columns as col

    bounds = _fetch(got, request.bounds)
    if bounds.count == 0:
        raise CheckError(f"`{request.column}` has no finite values in {request.bounds.of}, so it has no range")
    return col.count_outside(series, bounds.min, bounds.max)


def _fuse_histogram(request: rq.Histogram, got: dict) -> Fusable | None:
    if request.edges.of == request.of:
        return None  # on its own edges: computed after them, off the sorted copy or alone
    return Fusable("edges", _fetch(got, request.edges))


def _fuse_outside_range(request: rq.OutsideRange, got: dict) -> Fusable | None:
    bounds = _fetch(got, request.bounds)
    return Fusable("range", (bounds.min, bounds.max)) if bounds.count else None


def _value_test(request: rq.ValueTest, series, got: dict, memo: dict):
    from .patterns import pass_counts

    return pass_counts(series, request.test)


def _temporal_range(request: rq.TemporalRange, series, got: dict, memo: dict):
    """A Datetime column's oldest and newest values as `rq.Moment`s, read off its integer ticks:
    `series.min()` gives a Python datetime, which drops nanoseconds. A Date's are exact dates."""
    present = series.len() - series.null_count()
    unit = getattr(series.dtype, "time_unit", None)
    if unit is None:
        return series.min(), series.max(), present
    ticks = series.to_physical()  # in UTC when the column has a time zone
    zone = series.dtype.time_zone
    low, high = ticks.min(), ticks.max()
    return (None if low is None else rq.Moment.of(low, unit, zone),
            None if high is None else rq.Moment.of(high, unit, zone), present)


def _temporal_outside(request: rq.TemporalOutside, series, got: dict, memo: dict):
    present = series.drop_nulls()
    if getattr(present.dtype, "time_zone", None):  # instants: compared in UTC, as the bounds are
        present = present.dt.convert_time_zone("UTC")
    return int(((present < request.low) | (present > request.high)).sum()), present.len()


COLUMN_WORK: dict[type, ColumnWork] = {
    rq.Summary: ColumnWork(lambda request, series, got, memo: _summary(series, memo),
                           fuse=lambda request, got: Fusable("summary")),
    rq.Counts: ColumnWork(_counts, numeric=False),
    rq.SortedValues: ColumnWork(lambda request, series, got, memo: _sorted(series, memo), sorts=True),
    rq.Edges: ColumnWork(_edges),
    rq.Histogram: ColumnWork(_histogram, fuse=_fuse_histogram),
    rq.SampleWalk: ColumnWork(_sample_walk, sorts=True),
    rq.OutsideCount: ColumnWork(_outside_count, fuse=lambda request, got: Fusable("range", (request.low, request.high))),
    rq.OutsideRange: ColumnWork(_outside_range, fuse=_fuse_outside_range),
    rq.ValueTest: ColumnWork(_value_test, numeric=False),
    rq.TemporalRange: ColumnWork(_temporal_range, numeric=False),
    rq.TemporalOutside: ColumnWork(_temporal_outside, numeric=False),
}


def _column_request(request: rq.Request, series, got: dict, dataset: str, memo: dict):
    """One request on one column (a whole column, or one batch of it)."""
    work = COLUMN_WORK.get(type(request))
    if work is None:
        raise CheckError(f"the local backend cannot compute {request.describe()}")
    if work.numeric:
        from . import columns as col

        col.require_numeric(series, dataset)
    if request in memo.get("fused", ()):
        return memo["fused"][request]
    return work.compute(request, series, got, memo)


def _column_memo(requests: list, series, got: dict) -> dict:
    """What the requests on one column share: whether the column gets sorted anyway (then its
    bin edges are read off the sorted copy), the fused pass and its summary and bucket counts."""
    memo: dict[str, Any] = {"sorts": any(COLUMN_WORK[type(r)].sorts for r in requests if type(r) in COLUMN_WORK)}
    memo["fused"] = _fused(requests, series, got, memo)
    return memo


def _fused(requests: list, series, got: dict, memo: dict) -> dict:
    """One scan_numeric pass for a numeric column's Summary, OutsideCount, OutsideRange and
    Histogram-on-another-dataset's-edges requests, when there are two or more, or when the
    column's bin edges are selected (Edges without a sorted copy): then the pass also counts
    the selection's buckets (memo["buckets"]) and takes the summary the edges need. The pass's
    summary is memo["summary"]. A request whose input failed, or a pass that raises, is left to
    _column_request, which reports the error."""
    import numpy as np

    from ..statistics.base import NUMERIC
    from . import columns as col

    if column_type(series.dtype) != NUMERIC:
        return {}
    selecting = not memo["sorts"] and any(isinstance(r, rq.Edges) for r in requests)
    placed = col.bucket_range(series) if selecting else None
    wanted: list[tuple[rq.Request, str]] = []
    edges, ranges = [], []
    for request in requests:
        work = COLUMN_WORK.get(type(request))
        if work is None or work.fuse is None:
            continue
        try:
            part = work.fuse(request, got)
        except engine_failures():
            continue
        if part is None:
            continue
        if part.part == "edges":
            edges.append(part.argument)
        elif part.part == "range":
            ranges.append(part.argument)
        wanted.append((request, part.part))
    if len(wanted) < 2 and placed is None:
        return {}
    buckets = (*placed, np.zeros(col.SELECT_BUCKETS, dtype=np.int64)) if placed is not None else None
    try:
        summary, hists, outside = col.fused_pass(series, edges, ranges, buckets)
    except engine_failures():
        return {}
    memo["summary"], memo["buckets"] = summary, buckets
    results = {"edges": iter(hists), "range": iter(outside)}
    return {r: summary if part == "summary" else next(results[part]) for r, part in wanted}


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


