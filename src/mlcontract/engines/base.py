"""What every engine shares: the Backend protocol, its Settings, the Inputs of a run, Progress.

An engine computes the requests of a plan (`Backend.run(plan, inputs)`): the scans' per-column
work its own way (engines.local: Polars + the Cython kernels), the work no scan does (model
calls, baselines, cross-validation, histories, robustness, latency) through the shared
handlers (`models.handlers.run_handlers`), which see only the run's `Inputs`. A new engine is
one module with a class following `Backend` plus one line in `engines.ENGINES`.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..errors import CheckError, DataError, UsageError

if TYPE_CHECKING:  # read, never built, here
    from ..grants import Grants
    from ..plan import Plan
    from ..plan.requests import Request
    from ..resolve.contract import CheckedContract, DatasetSource, HistorySource, ModelSource
    from ..sources.datasets import Opened

# Rows per batch when a dataset is streamed: large enough that per-batch overhead vanishes,
# small enough that a batch of a wide table stays far below the memory budget.
DEFAULT_CHUNK_ROWS = 1_000_000
CHUNK_ROWS_VARIABLE = "MLC_STREAM_CHUNK_ROWS"
MAX_THREADS = 8


class Progress:
    """What the backend reports while it works (the CLI draws it with rich)."""

    def start(self, label: str, total: int | None) -> None: ...

    def advance(self, rows: int) -> None: ...

    def finish(self) -> None: ...

    def note(self, text: str) -> None: ...


def _default_chunk_rows() -> int:
    """MLC_STREAM_CHUNK_ROWS when set, read when the Settings are made (never at import)."""
    text = os.environ.get(CHUNK_ROWS_VARIABLE)
    if text is None:
        return DEFAULT_CHUNK_ROWS
    try:
        return int(text)
    except ValueError:
        from ..escape import printable

        raise UsageError(f"{CHUNK_ROWS_VARIABLE} must be a positive number of rows, not {printable(text, 40)!r}") from None


def _default_threads() -> int:
    # Columns are independent and the kernels release the GIL: work on them in parallel.
    return max(1, min(MAX_THREADS, os.cpu_count() or 1))


@dataclass(frozen=True)
class Settings:
    """How an engine works (not what it computes): given to its constructor."""

    chunk_rows: int = field(default_factory=_default_chunk_rows)  # rows per batch of a streamed scan
    threads: int = field(default_factory=_default_threads)  # columns computed in parallel
    options: Mapping[str, Any] = field(default_factory=dict)  # engine-specific settings (a Spark master, ...)

    def __post_init__(self) -> None:
        for name in ("chunk_rows", "threads"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise UsageError(f"engine setting `{name}` must be a positive integer, not {value!r}")


class Backend(Protocol):
    """An engine: computes every request of a plan.

    `run` returns a value for each request of `plan.requests`, or the CheckError computing it
    met (only the checks that need it fail). The scans' requests are the engine's own work; it
    hands `plan.other` to `models.handlers.run_handlers(plan, inputs, got)`."""

    name: ClassVar[str]

    def __init__(self, settings: Settings, progress: Progress | None = None) -> None: ...

    def run(self, plan: Plan, inputs: Inputs) -> dict[Request, Any]: ...


# How an engine reads a whole dataset for model work: (inputs, dataset name) → Polars DataFrame.
Reader = Callable[["Inputs", str], Any]


@dataclass
class Inputs:
    """What a run reads: the checked contract's sources and the objects passed through the API,
    with the invocation's grants. The handlers of model work read datasets, models and histories
    only through it (`frame`, `features`, `labels`, `model`, `history`), each once per run.

    A whole dataset is read by `reader` (default: Polars, `read_with_polars`); an engine that
    reads data elsewhere supplies its own with `with_reader` (a Spark engine collects to the
    driver)."""

    datasets: Mapping[str, DatasetSource]
    models: Mapping[str, ModelSource] = field(default_factory=dict)
    histories: Mapping[str, HistorySource] = field(default_factory=dict)
    label: str | None = None
    ignored: tuple[str, ...] = ()
    grants: Grants | None = None  # the invocation's consent: unpickling, hosts beyond loopback
    dataset_objects: Mapping[str, Any] = field(default_factory=dict)  # frames passed through the API
    model_objects: Mapping[str, Any] = field(default_factory=dict)  # estimators / callables passed in
    history_objects: Mapping[str, Any] = field(default_factory=dict)  # histories passed in
    reader: Reader | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @staticmethod
    def of(contract: CheckedContract, datasets: Mapping[str, Any] | None = None,
           models: Mapping[str, Any] | None = None, histories: Mapping[str, Any] | None = None) -> Inputs:
        """The inputs of a run of a checked contract, with the objects passed through the API."""
        return Inputs(contract.datasets, contract.models, contract.histories, contract.label,
                      tuple(contract.ignored), contract.grants, dict(datasets or {}), dict(models or {}),
                      dict(histories or {}))

    def with_reader(self, reader: Reader) -> Inputs:
        """The same inputs, whole datasets read by `reader` (nothing read yet is kept)."""
        return replace(self, reader=reader, _cache={})

    # ---- datasets ------------------------------------------------------------------------------
    def opened(self, name: str) -> Opened:
        """The dataset opened lazily with Polars and checked (sources.open_dataset → its source
        kind), once per run."""
        from ..sources import open_dataset

        source = self.datasets[name]  # a view (`training where ...`) reads the frame passed for its base
        return self._once(("opened", name), lambda: open_dataset(source, self.dataset_objects.get(source.base or name)))

    def frame(self, name: str):
        """The whole dataset as a Polars DataFrame, read once per run by the engine's reader."""
        def read():
            frame = (self.reader or read_with_polars)(self, name)
            if frame.height == 0:
                raise DataError(f"dataset `{name}` is empty")
            return frame

        return self._once(("frame", name), read)

    def feature_columns(self, name: str) -> list[str]:
        """The dataset's columns minus the label, the ignored columns and a pandas index stored
        as a column (a model was not fitted on it)."""
        index = () if name in self.dataset_objects else self._once(("index", name), lambda: _index_columns(self, name))
        excluded = {self.label, *self.ignored, *index}
        return [c for c in self.frame(name).columns if c not in excluded]

    def features(self, name: str):
        """What a model is fed: the feature columns as a pandas DataFrame, names kept; a column of
        images (nested lists or arrays) holds one NumPy array per cell (models/images.py)."""
        def read():
            from ..models.images import with_image_arrays

            frame = self.frame(name).select(self.feature_columns(name))
            return with_image_arrays(frame, frame.to_pandas())

        return self._once(("features", name), read)

    def labels(self, name: str):
        """The label column of a dataset as a NumPy array."""
        label = self.label
        frame = self.frame(name)
        if label is None or label not in frame.columns:
            raise DataError(f"dataset `{name}` has no label column `{label}`")
        column = frame[label]
        if column.null_count():
            raise DataError(f"the label `{label}` has {column.null_count()} null values in `{name}`")
        return column.to_numpy()

    # ---- models and histories ------------------------------------------------------------------
    def model(self, name: str):
        """The loaded model (models.loaded.LoadedModel), loaded once per run."""
        from ..sources import load_model

        return self._once(("model", name), lambda: load_model(self.models[name], self.model_objects.get(name),
                                                              grants=self.grants))

    def history(self, name: str):
        """The training history (models.history.History), read once per run."""
        from ..sources import load_history

        return self._once(("history", name), lambda: load_history(self.histories[name],
                                                                  self.history_objects.get(name)))

    def _once(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """compute() the first time; its value (or the CheckError it met, even an unexpected
        library error: attempt) every time."""
        return once(self._cache, key, lambda: attempt(compute))


def _index_columns(inputs: Inputs, name: str) -> tuple[str, ...]:
    """The columns a dataset's pandas metadata marks as its index (file metadata only, through
    its source kind); none when the metadata cannot be read (reading the dataset says why)."""
    from ..sources import schema_of

    try:
        return schema_of(inputs.datasets[name]).index
    except CheckError:
        return ()


def read_with_polars(inputs: Inputs, name: str):
    """The whole dataset, read with Polars from the lazily opened source; its rows are compared
    with the rows its files record (a read that stops early is an error, not a smaller dataset)."""
    from ..sources import datasets as sources
    from ..sources.files import engine_failures

    source = inputs.datasets[name]
    if source.missing:  # models are fed the data as it is, not with the contract's missing values as null
        from dataclasses import replace

        from ..sources import open_dataset

        opened = open_dataset(replace(source, missing=()), inputs.dataset_objects.get(name))
    else:
        opened = inputs.opened(name)
    try:
        frame = opened.lazy.collect()
    except engine_failures() as error:
        raise DataError(f"dataset `{name}`: cannot read {source.describe()}: {error}") from error
    sources.check_rows(source, opened.rows, frame.height)
    return frame


def attempt(compute: Callable[[], Any], describe: Callable[[BaseException], str] = str) -> Any:
    """Run one computation; an expected failure becomes its value (a CheckError), so that only
    the checks that need it fail. MemoryError and KeyboardInterrupt go through. `describe`
    words an unexpected library error's message (the Spark engine escapes and cuts py4j's)."""
    from ..sources.files import engine_failures

    try:
        return compute()
    except CheckError as error:
        return error
    except MemoryError:
        raise
    except engine_failures() as error:  # an unexpected library error (or an engine panic)
        return CheckError(f"{type(error).__name__}: {describe(error)}")  # still fails only the checks that need it


def once(cache: dict, key: Any, compute: Callable[[], Any]) -> Any:
    """compute() the first time `key` is asked for; its value, or the CheckError it raised (or
    returned), every time: a dataset that cannot be read is tried once per run."""
    if key not in cache:
        try:
            cache[key] = compute()
        except CheckError as error:
            cache[key] = error
    value = cache[key]
    if isinstance(value, BaseException):
        raise value
    return value


def fetch(got: dict, request: Request) -> Any:
    """The value an earlier request of the plan computed, for a request that reads it (bin
    edges, bounds, a sorted sample); its CheckError raised, or one saying it was not computed."""
    value = got.get(request)
    if value is None:
        raise CheckError(f"{request.describe()} was not computed")
    if isinstance(value, BaseException):
        raise value
    return value
