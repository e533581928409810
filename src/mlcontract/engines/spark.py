"""The Spark engine: the same plan, computed by Apache Spark (docs/spark.md).

`SparkBackend(session=None, master=None, remote=None, conf=None, progress=None)` computes a
plan's data requests with Spark SQL (engines/spark_sql.py: aggregates, GROUP BY, window
functions; no Python on the executors), on a classic session or over Spark Connect, with the
numbers of the local engine:

- counts, rates, min/max (an integer column's extremes exact, also beyond 2**53), quantiles and
  quantile bin edges and histogram counts: equal to the local engine's, bit for bit;
- mean and m2 from exact sums (spark_sql.ExactSum), so mean/std agree to ~1e-15 relative;
- KS D equal bit for bit (while n·m < 2**53), W1 within 2e-15 relative (spark_sql.sample_walk).

The driver holds what a scan returns, never the rows: one row of aggregates per pass, bucket
counts and the values of the few buckets holding wanted order statistics, value counts of
columns with at most MAX_COUNTED_KEYS distinct values. Model, robustness, latency and history
work (plan.other) runs on the driver through the local handlers, on datasets collected up to
MAX_COLLECT_ROWS rows; above that those checks are errors that say so.

Spark's failures (a missing path, a bad URI, an unreachable cluster, an executor out of memory)
become CheckErrors with one escaped line, never a JVM stack trace.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .. import requests as rq
from ..errors import CheckError, DataError, UsageError
from ..escape import printable
from . import spark_sql as sq

# Model checks read their dataset into the driver (a model predicts in this process): up to this
# many rows; a larger dataset makes them an `error` that says so (fail closed).
MAX_COLLECT_ROWS = 1_000_000
# Value counts (categorical psi/js/…, distinct, unique_rate, unseen_rate) come to the driver for
# columns with at most this many distinct values; above it they are an `error`.
MAX_COUNTED_KEYS = 1_000_000
# A KS/Wasserstein pair whose samples both have at most this many finite values is walked on the
# driver with the local kernel (bit-identical); larger ones by spark_sql.sample_walk.
WALK_COLLECT = 10_000
# scipy's exact KS p-value needs the samples themselves up to this size (statistics._KS_EXACT_LIMIT):
# such a column's SortedValues is collected (bounded); a larger one is only its order statistics.
SMALL_SAMPLE = 10_000
# Spark Connect: how often to retry reaching the server before the run is an error (the client's
# default retries for ten minutes).
CONNECT_RETRIES = 4

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_INDEX = re.compile(r"__index_level_\d+__")


class SparkUnavailable(UsageError):
    """Spark cannot be started or reached (pyspark missing, no Java, cluster unreachable)."""


# ---- errors -------------------------------------------------------------------------------------------
def describe_error(error: BaseException) -> str:
    """One escaped line for a Spark failure: the error class and message, without the JVM or
    server stack trace that py4j and Spark Connect append."""
    text = str(error).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("An error occurred while calling")]
    details = re.search(r'details = "([^"]*)"', text)  # a raw gRPC error
    if details:
        line = details.group(1)
    elif lines:
        line = lines[0].lstrip(": ").strip()
    else:
        line = type(error).__name__
    line = re.sub(r"\s*SQLSTATE: \w+\s*$", "", line)
    return printable(line, 300)


# ---- sessions -------------------------------------------------------------------------------------------
def start_session(master: str | None = None, remote: str | None = None, conf: dict[str, str] | None = None):
    """A Spark session: Spark Connect at `remote` (sc://HOST:PORT), else a classic session with
    `master` (default local[*]); `conf` are spark.* settings. SparkUnavailable when it cannot."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable("the Spark engine needs pyspark: pip install 'mlcontract[spark]'") from None
    settings = dict(conf or {})
    where = f"Spark Connect at {printable(remote, 120)}" if remote else f"Spark ({printable(master or 'local[*]', 120)})"
    if remote:
        _probe(remote, where)
    try:
        if remote:
            builder = SparkSession.builder.remote(remote)
        else:
            builder = SparkSession.builder.master(master or "local[*]")
            settings.setdefault("spark.ui.showConsoleProgress", "false")
        builder = builder.appName("mlcontract")
        for key, value in settings.items():
            builder = builder.config(key, value)
        # A Connect session of its own (getOrCreate could hand back another server's session).
        session = builder.create() if remote else builder.getOrCreate()
    except Exception as error:  # noqa: BLE001 - no Java, a bad master URL, a refused setting
        raise SparkUnavailable(f"cannot start {where}: {describe_error(error)}") from None
    if not remote and hasattr(session, "sparkContext"):
        session.sparkContext.setLogLevel("ERROR")  # Spark's WARN lines are not the report's
    return session


def _probe(remote: str, where: str) -> None:
    """Reach the Connect server once with a few quick retries (CONNECT_RETRIES), before the
    session's own client, which retries for ten minutes: an unreachable cluster is an error in
    seconds, not a hung CI job."""
    try:
        from pyspark.sql.connect.client import SparkConnectClient

        client = SparkConnectClient(remote, retry_policy={"max_retries": CONNECT_RETRIES, "max_backoff": 2_000})
    except Exception as error:  # noqa: BLE001 - a malformed sc:// URL
        raise SparkUnavailable(f"cannot reach {where}: {describe_error(error)}") from None
    try:
        client.get_configs("spark.app.name")
    except Exception as error:  # noqa: BLE001
        raise SparkUnavailable(f"cannot reach {where}: {describe_error(error)}") from None
    finally:
        try:
            client.close()
        except Exception:  # noqa: BLE001, S110 - closing a channel that never opened
            pass


def parse_conf(pairs: list[str]) -> dict[str, str]:
    """`--spark-conf key=value` options as a dict; UsageError for one without `=`."""
    conf = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--spark-conf takes key=value, got {printable(pair, 80)!r}")
        conf[key.strip()] = value
    return conf


def is_spark_frame(value: Any) -> bool:
    """A DataFrame of a classic or a Spark Connect session."""
    return type(value).__module__.startswith("pyspark.sql") and hasattr(value, "sparkSession")


# ---- types --------------------------------------------------------------------------------------------
_SIMPLE_TYPES = {
    "ByteType": "Int8", "ShortType": "Int16", "IntegerType": "Int32", "LongType": "Int64",
    "FloatType": "Float32", "DoubleType": "Float64", "StringType": "String", "CharType": "String",
    "VarcharType": "String", "BooleanType": "Boolean", "DateType": "Date", "BinaryType": "Binary",
    "NullType": "Null", "TimestampType": "Datetime(time_unit='us', time_zone='UTC')",
    "TimestampNTZType": "Datetime(time_unit='us', time_zone=None)",
}
_NUMERIC = {"ByteType", "ShortType", "IntegerType", "LongType", "FloatType", "DoubleType", "DecimalType"}
_CATEGORICAL = {"StringType", "CharType", "VarcharType", "BooleanType"}


def dtype_name(spark_type) -> str:
    """The Polars name of the type the local engine would see for the same data (what `schema`
    checks and profiles show): LongType → Int64, DoubleType → Float64, StringType → String, …"""
    name = type(spark_type).__name__
    if name in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[name]
    if name == "DecimalType":
        return f"Decimal(precision={spark_type.precision}, scale={spark_type.scale})"
    if name == "ArrayType":
        return f"List({dtype_name(spark_type.elementType)})"
    if name == "StructType":
        return "Struct({" + ", ".join(f"{f.name!r}: {dtype_name(f.dataType)}" for f in spark_type.fields) + "})"
    return spark_type.simpleString()


def frame_schema(frame) -> dict[str, tuple[str, str]]:
    """{column: (kind, dtype name)} of a Spark DataFrame, as sources.schema_of gives for a file
    (for resolving a contract against a Spark DataFrame passed to compile() or run())."""
    return {f.name: (column_kind(f.dataType), dtype_name(f.dataType)) for f in frame.schema.fields}


def column_kind(spark_type) -> str:
    from ..catalog import CATEGORICAL, NUMERIC, OTHER

    name = type(spark_type).__name__
    return NUMERIC if name in _NUMERIC else CATEGORICAL if name in _CATEGORICAL else OTHER


def numeric_column(name: str, spark_type) -> sq.NumericColumn:
    kind = type(spark_type).__name__
    return sq.NumericColumn(name, floating=kind in ("FloatType", "DoubleType"),
                            integer=kind in ("ByteType", "ShortType", "IntegerType", "LongType"),
                            is_double=kind == "DoubleType")


# ---- data sources -----------------------------------------------------------------------------------
def location(source) -> str:
    """Where Spark reads a path dataset: a URI as written (s3a://, hdfs://, abfss://, file://,
    gs://, …), else the local path resolved against the contract's folder, as file: (so a
    cluster's default filesystem does not re-interpret it). A path is literal unless the
    contract says glob=true: Hadoop's glob characters in it are escaped."""
    written = source.written or ""
    if _URI.match(written):
        return written
    if source.path is None:
        raise DataError(f"dataset `{source.name}` was declared without data; pass it to run(frames=...)")
    text = str(source.path)
    if dict(source.options).get("glob") is not True:
        text = re.sub(r"([\\*?\[\]{}])", r"\\\1", text)
    return "file:" + text


def table_name(source) -> str:
    """The catalog name of a table("catalog.schema.name") dataset."""
    name = dict(source.options).get("table") or source.written
    if not name:
        raise DataError(f"dataset `{source.name}`: table() needs a name, e.g. table(\"main.sales.orders\")")
    return str(name)


def read_source(session, source, frame: Any = None):
    """A Spark DataFrame over a declared dataset (or over a frame passed in). DataError with
    one line when Spark cannot read it."""
    what = f"dataset `{source.name}`"
    if frame is not None:
        return as_spark(session, frame, source.name)
    kind = source.kind
    if kind == "profile":
        raise DataError(f"{what} is a profile: it has no rows to scan")
    if kind == "ipc":
        raise DataError(f"{what}: the Spark engine cannot read Arrow IPC (Feather) files, Spark has no reader for "
                        "them; store the data as parquet, or run it on the local engine")
    if kind not in ("parquet", "csv", "ndjson", "table"):
        raise DataError(f"{what}: the Spark engine cannot read {printable(kind, 40)} datasets")
    shown = printable(table_name(source) if kind == "table" else (source.written or source.path), 200)
    if kind != "table" and not _URI.match(source.written or "") and source.path is not None:
        from ..sources import check_readable

        check_readable(source.path, what, source.written, folders=True)
    options = {k: v for k, v in source.options if k not in ("glob", "table")}
    try:
        if kind == "table":
            frame = session.read.table(table_name(source))
        elif kind == "parquet":
            frame = session.read.parquet(location(source))
        elif kind == "ndjson":
            frame = session.read.options(mode="FAILFAST").json(location(source))
        else:
            frame = session.read.options(**_csv_options(options, what)).csv(location(source))
            frame = _widen_integers(frame)
    except CheckError:
        raise
    except Exception as error:  # noqa: BLE001
        raise DataError(f"{what}: cannot read {shown}: {describe_error(error)}") from None
    _refuse_repeated_names(frame, what, shown)
    return frame


def _csv_options(options: dict, what: str) -> dict:
    """The contract's csv() options (Polars' names) as Spark's CSV reader options."""
    spark = {"header": "true", "inferSchema": "true", "mode": "FAILFAST"}
    for key, value in options.items():
        if key == "separator":
            spark["sep"] = value
        elif key == "has_header":
            spark["header"] = "true" if value else "false"
        elif key == "quote_char":
            spark["quote"] = value if value is not None else "\u0000"
        elif key == "null_values" and isinstance(value, str):
            spark["nullValue"] = value
        elif key == "encoding":
            spark["encoding"] = "UTF-8" if str(value).startswith("utf8") else value
        elif key == "infer_schema_length":
            continue  # Spark infers from every row
        else:
            raise DataError(f"{what}: the Spark engine's CSV reader has no equivalent of `{key}={printable(value, 40)}`")
    return spark


def _widen_integers(frame):
    """CSV integers as BIGINT, as Polars infers them (Spark infers INT when they fit)."""
    fields = frame.schema.fields
    if not any(type(f.dataType).__name__ == "IntegerType" for f in fields):
        return frame
    return frame.selectExpr(*[f"CAST({sq.ident(f.name)} AS BIGINT) AS {sq.ident(f.name)}"
                              if type(f.dataType).__name__ == "IntegerType" else sq.ident(f.name) for f in fields])


def _refuse_repeated_names(frame, what: str, shown: str) -> None:
    """Spark resolves names case-insensitively by default: `Age` and `age` would be one column."""
    seen: dict[str, str] = {}
    for name in frame.columns:
        if name.lower() in seen:
            raise DataError(f"{what}: {shown} has the columns `{printable(seen[name.lower()], 80)}` and "
                            f"`{printable(name, 80)}`, which Spark does not tell apart; give them distinct names")
        seen[name.lower()] = name


def as_spark(session, frame: Any, name: str):
    """A frame passed through the API: a Spark DataFrame as it is; a Polars or pandas frame
    (small: tests, notebooks) through Arrow."""
    if is_spark_frame(frame):
        return frame
    try:
        import pyarrow as pa

        if hasattr(frame, "to_arrow"):  # Polars
            table = frame.collect().to_arrow() if hasattr(frame, "collect") else frame.to_arrow()
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        return session.createDataFrame(table)
    except Exception as error:  # noqa: BLE001
        raise DataError(f"dataset `{name}`: cannot turn the frame passed in into a Spark DataFrame: "
                        f"{describe_error(error)}") from None


def index_columns(source, frame) -> tuple[str, ...]:
    """Columns holding a pandas index (not features): named by a local parquet file's pandas
    metadata, or pandas' reserved `__index_level_N__` names."""
    found: list[str] = []
    if source is not None and source.kind == "parquet" and source.path is not None and not _URI.match(source.written or ""):
        from ..sources import index_columns as local_index

        found = [c for c in local_index(source) if c in frame.columns]
    return tuple(found + [c for c in frame.columns if _INDEX.fullmatch(c) and c not in found])


# ---- what the Spark engine returns for the sorted values of a large column ---------------------------
class SparkSample:
    """Stands in for `SortedValues` of a column with more than SMALL_SAMPLE finite values: its
    size and the order statistics the contract's quantiles need (spark_sql.select_ranks), not
    the values. statistics.quantile and statistics.ks_pvalue (large samples: sizes only) read
    it as they read a sorted array; any other rank is a CheckError, never a guess."""

    ndim = 1

    def __init__(self, dataset: str, column: str, size: int, known: dict[int, float]):
        self.dataset, self.column, self._size, self.known = dataset, column, int(size), dict(known)

    @property
    def size(self) -> int:
        return self._size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index):
        positions = np.asarray(index)
        flat = np.where(positions < 0, positions + self._size, positions).ravel().tolist()
        missing = [p for p in flat if p not in self.known]
        if missing:
            raise CheckError(f"the Spark engine did not compute order statistic {missing[0]} of `{self.column}` in "
                             f"{self.dataset} (it computes those the contract's quantiles need)")
        values = np.array([self.known[p] for p in flat], dtype=np.float64)
        return values.reshape(positions.shape) if positions.ndim else float(values[0])

    def __repr__(self) -> str:
        return f"SparkSample({self.dataset}.{self.column}, size={self._size}, known={len(self.known)})"


# ---- the backend ------------------------------------------------------------------------------------------
@dataclass
class ColumnStats:
    """Pass A of one numeric column: counts, extremes (exact ints for integer columns), and the
    average used as the shift of the second moments."""

    rows: int
    nulls: int
    nans: int
    pos_inf: int
    neg_inf: int
    count: int
    min: Any
    max: Any
    shift: float | None

    @property
    def low(self) -> float:
        return float(self.min)

    @property
    def high(self) -> float:
        return float(self.max)


class SparkBackend:
    """Computes a plan's requests with Spark. `session`: a SparkSession (classic or Connect) to
    use; otherwise one is started on the first run from `remote` (sc://HOST:PORT), `master`
    (default local[*]) and `conf` (spark.* settings) — and stopped by close()."""

    name = "spark"

    def __init__(self, session=None, master: str | None = None, remote: str | None = None,
                 conf: dict[str, str] | None = None, progress=None, objects: dict | None = None,
                 histories: dict | None = None):
        self._session = session
        self._owned = session is None
        self.master, self.remote, self.conf = master, remote, dict(conf or {})
        self.progress = progress
        self.objects = objects or {}
        self.histories = histories or {}
        self.queries = 0  # Spark SQL queries run (the tests check that a scan's work is combined)
        self.contract = None
        self._frames: dict[str, Any] = {}
        self._opened: dict[str, Any] = {}
        self._stats: dict[tuple[str, str], ColumnStats] = {}

    # ---- session ---------------------------------------------------------------------------------
    @property
    def session(self):
        if self._session is None:
            self._session = start_session(self.master, self.remote, self.conf)
        return self._session

    def close(self) -> None:
        """Stop the session if this backend started it."""
        if self._owned and self._session is not None:
            try:
                self._session.stop()
            finally:
                self._session = None

    def _runner(self) -> sq.Runner:
        note = (lambda text: self.progress.note(f"spark: {text}")) if self.progress else None
        return sq.Runner(self.session, describe_error, note)

    # ---- runs --------------------------------------------------------------------------------------
    def run(self, plan, frames: dict[str, Any] | None = None) -> dict[rq.Request, Any]:
        """Every request of the plan: its value, or the CheckError that computing it met."""
        self.contract = plan.contract
        self._frames = dict(frames or {})
        self._opened = {}
        self._stats = {}
        got: dict[rq.Request, Any] = {}
        try:
            runner = self._runner()
        except SparkUnavailable as error:  # every request, data or model, is an error that says why
            failure = CheckError(str(error))
            return {request: failure for request in plan.requests}
        try:
            for scan in plan.scans:
                if scan.mode == "profile":
                    self._serve_profile(scan, got, runner)
                else:
                    _ScanWork(self, plan, scan, runner, got).compute()
            if plan.other:
                self._run_other(plan, got)
        finally:
            self.queries += runner.queries
        return got

    def dataset(self, name: str):
        """The run's Spark DataFrame of a declared dataset and its pandas-index columns (opened
        once per run); CheckError when Spark cannot read it."""
        if name not in self._opened:
            source = self.contract.datasets[name]
            try:
                frame = read_source(self.session, source, self._frames.get(name))
                self._opened[name] = (frame, index_columns(source, frame))
            except CheckError as error:
                self._opened[name] = error
        opened = self._opened[name]
        if isinstance(opened, BaseException):
            raise opened
        return opened

    # ---- model, robustness, latency and history work: on the driver ------------------------------
    def collect_dataset(self, name: str):
        """The whole dataset as a Polars DataFrame on the driver, for model work: at most
        MAX_COLLECT_ROWS rows, else a CheckError (the hook the local handlers read through)."""
        import polars as pl

        frame, index = self.dataset(name)
        try:
            table = frame.limit(MAX_COLLECT_ROWS + 1).toArrow()
        except Exception as error:  # noqa: BLE001
            raise DataError(f"dataset `{name}`: Spark failed reading it for the model checks: "
                            f"{describe_error(error)}") from None
        if table.num_rows > MAX_COLLECT_ROWS:
            raise DataError(f"dataset `{name}` has more than {MAX_COLLECT_ROWS:,} rows: model checks on the Spark "
                            f"engine read their dataset into the driver, up to {MAX_COLLECT_ROWS:,} rows "
                            "(mlcontract.engines.spark.MAX_COLLECT_ROWS); give them a sample of it")
        return pl.from_arrow(table), index

    def _run_other(self, plan, got: dict) -> None:
        from .. import quality, serving  # noqa: F401  (they register their handlers)
        from ..requests import HANDLERS

        driver = _DriverSide(self)
        driver.contract = plan.contract
        for request in plan.other:
            handler = HANDLERS.get(type(request))
            if handler is None:
                got[request] = CheckError(f"no backend computes {request.describe()}")
                continue
            if self.progress:
                self.progress.note(request.describe())
            got[request] = _attempt(partial(handler, request, driver, got))

    # ---- profile datasets in a plan -------------------------------------------------------------------
    def _serve_profile(self, scan, got: dict, runner: sq.Runner) -> None:
        from ..profiles import load_profile

        source = self.contract.datasets[scan.dataset]
        try:
            profile = load_profile(source.path, source.name)
        except CheckError as error:
            for request in scan.requests:
                got[request] = error
            return
        for request in scan.requests:
            against = got.get(rq.SortedValues(request.against, request.name)) \
                if isinstance(request, rq.SampleWalk) else None
            if isinstance(against, SparkSample):  # the other side is a large Spark column
                mine = rq.SortedValues(request.of, request.name)
                served = {**got, mine: _attempt(partial(profile.serve, mine))}
                self._walks(runner, [request], served)
                got[request] = served[request]
            else:
                got[request] = _attempt(partial(profile.serve, request, got))

    # ---- KS and Wasserstein ------------------------------------------------------------------------------
    def _spark_side(self, dataset: str, column: str, got: dict):
        """One sample of a walk: a collected array, or a Spark column (large)."""
        value = got.get(rq.SortedValues(dataset, column))
        if isinstance(value, BaseException):
            raise value
        if value is not None and not isinstance(value, SparkSample):
            return _ArraySide(value)
        stats = self._stats.get((dataset, column))
        if stats is None:
            raise CheckError(f"the values of `{column}` in {dataset} were not computed")
        frame, _ = self.dataset(dataset)
        schema = {f.name: f.dataType for f in frame.schema.fields}
        return _FrameSide(frame, numeric_column(column, schema[column]), stats)

    def _walks(self, runner: sq.Runner, requests: list, got: dict) -> None:
        """KS D and W1 of each SampleWalk: on the driver with the local kernel when both samples
        are small (WALK_COLLECT), otherwise by Spark, every pair of the scan in two queries."""
        from ..statistics import Walk, walk

        batch = []
        for request in requests:
            try:
                mine = self._spark_side(request.of, request.name, got)
                theirs = self._spark_side(request.against, request.name, got)
                if mine.count == 0 or theirs.count == 0:
                    raise CheckError("no finite values to compare (every value is null, NaN or infinite)")
                what = f"`{request.name}` in {request.of} vs {request.against}"
                if mine.count <= WALK_COLLECT and theirs.count <= WALK_COLLECT:
                    got[request] = walk(mine.values(runner, what), theirs.values(runner, what))
                else:
                    batch.append((request, mine.side(runner), theirs.side(runner)))
            except CheckError as error:
                got[request] = error
        if not batch:
            return
        what = ", ".join(f"`{r.name}`" for r, _, _ in batch) + f" in {batch[0][0].of}"
        try:
            found = sq.sample_walks(runner, [(a, b) for _, a, b in batch], what)
        except CheckError as error:
            found = [error] * len(batch)
        for (request, _, _), value in zip(batch, found):
            got[request] = value if isinstance(value, BaseException) else Walk(*value)

    # ---- profiles ---------------------------------------------------------------------------------------
    def profile(self, data: Any, name: str | None = None):
        """The profile the local engine writes (profiles.profile_frame) for the same rows, of a
        path or URI (parquet file or folder, csv, ndjson), a table("…") DatasetSource, or a Spark
        DataFrame. Counts, extremes, kept values, quantile grid and fine counts are equal to the
        local profile's; the moments agree to ~1e-15 relative."""
        from ..contract import DatasetSource

        runner = self._runner()
        try:
            if is_spark_frame(data):
                source, label = DatasetSource(name or "data", "frame"), None
                frame = data
            else:
                source = data if isinstance(data, DatasetSource) else _source_of(data, name)
                label = str(data) if not isinstance(data, DatasetSource) else (source.written or source.describe())
                frame = read_source(self.session, source)
            index = index_columns(source, frame)
            return _profile(runner, frame, index, source.name, label)
        finally:
            self.queries += runner.queries


def _source_of(data, name: str | None):
    """A DatasetSource for a path or URI given to `mlc profile`."""
    from ..contract import DatasetSource
    from ..sources import kind_of_path

    text = str(data)
    if _URI.match(text):
        stem = Path(text.rstrip("/").rsplit("/", 1)[-1])
        kind = kind_of_path(stem) if stem.suffix else "parquet"  # a folder of parquet files
        return DatasetSource(name or stem.stem, kind, None, written=text)
    path = Path(text)
    kind = "parquet" if path.is_dir() else kind_of_path(path)
    return DatasetSource(name or path.stem, kind, path.resolve(), written=text)


class _DriverSide:
    """What the local handlers of model work read (execute.LocalBackend's dataset_frame,
    features, labels, model, cache), with the datasets collected from Spark."""

    def __init__(self, owner: SparkBackend):
        from ..execute import LocalBackend

        class Local(LocalBackend):
            def opened(inner, name):  # reads the dataset through Spark
                from ..sources import Opened

                key = ("opened", name)
                if key not in inner.cache:
                    def collect():
                        frame, index = owner.collect_dataset(name)
                        return Opened(frame.lazy(), None, index)

                    inner.cache[key] = _attempt(collect)
                value = inner.cache[key]
                if isinstance(value, BaseException):
                    raise value
                return value

        self.local = Local({}, owner.objects, owner.histories, owner.progress)

    def __setattr__(self, key, value):
        if key == "contract":
            self.local.contract = value
        else:
            object.__setattr__(self, key, value)

    def __getattr__(self, key):
        return getattr(self.local, key)


def _attempt(compute):
    try:
        return compute()
    except CheckError as error:
        return error
    except MemoryError:
        raise
    except Exception as error:  # noqa: BLE001 - an unexpected library error fails only its checks
        return CheckError(f"{type(error).__name__}: {printable(error)}")


_PENDING = object()


# ---- one scan -------------------------------------------------------------------------------------------
_NUMERIC_WORK = (rq.Summary, rq.SortedValues, rq.Edges, rq.Histogram, rq.SampleWalk, rq.OutsideCount, rq.OutsideRange)


class _ScanWork:
    """The requests of one scan, computed in a fixed number of Spark queries over all of its
    columns: pass A (counts, extremes, range counts, histograms on another dataset's edges,
    value-count sizes), the value counts (one GROUPING SETS query), the order statistics
    (select_ranks: a few rounds), pass B (exact moments), then each KS/Wasserstein walk."""

    def __init__(self, backend: SparkBackend, plan, scan, runner: sq.Runner, got: dict):
        self.backend, self.plan, self.scan, self.runner, self.got = backend, plan, scan, runner, got
        self.dataset = scan.dataset
        self.unresolved = []

    unresolved: list  # histograms on own edges left to pass B (_order_statistics)

    def compute(self) -> None:
        try:
            self.frame, index = self.backend.dataset(self.dataset)
        except CheckError as error:
            for request in self.scan.requests:
                self.got[request] = error
            return
        self.types = {f.name: f.dataType for f in self.frame.schema.fields}
        todo = self._triage(index)
        work = [r for r in todo if not isinstance(r, rq.SampleWalk)]
        walked = [r.column for r in todo if isinstance(r, rq.SampleWalk)]
        self.failed = None
        try:
            self._compute(work, walked)
        except CheckError as error:  # pass A failed: nothing of this scan was computed
            self.failed = error
            for request in work:
                self.got.setdefault(request, error)
        walks = [r for r in todo if isinstance(r, rq.SampleWalk)]
        if walks:
            if self.failed is not None:
                for request in walks:
                    self.got[request] = self.failed
            else:
                self.backend._walks(self.runner, walks, self.got)

    def _triage(self, index) -> list:
        """Requests answered without a query (schema) or failing at once (a missing column, a
        numeric statistic of a text column); the rest to compute."""
        from ..catalog import NUMERIC

        todo = []
        for request in self.scan.requests:
            column = request.column
            if column is not None and column not in self.types:
                self.got[request] = DataError(f"column `{column}` is missing in dataset `{self.dataset}`")
            elif isinstance(request, rq.SchemaOf):
                self.got[request] = {name: (column_kind(t), dtype_name(t)) for name, t in self.types.items()
                                     if name not in index}
            elif isinstance(request, _NUMERIC_WORK) and column_kind(self.types[column]) != NUMERIC:
                self.got[request] = DataError(f"column `{column}` in dataset `{self.dataset}` is "
                                              f"{dtype_name(self.types[column])}, not numeric")
            else:
                todo.append(request)
        return todo

    def _column(self, name: str) -> sq.NumericColumn:
        return numeric_column(name, self.types[name])

    # ---- the passes -------------------------------------------------------------------------------------
    def _compute(self, work: list, walked: list[str]) -> None:
        numeric = list(dict.fromkeys([*(r.column for r in work if isinstance(r, _NUMERIC_WORK)), *walked]))
        counted = list(dict.fromkeys(r.column for r in work if isinstance(r, rq.Counts)))
        if not work and not numeric:
            return
        first = sq.Aggregates()
        rows_at = first.add("count(1)")
        stats_at = {c: _stats_aggregates(first, self._column(c)) for c in numeric}
        sizes_at = {c: _count_aggregates(first, c, self.types[c]) for c in counted}
        range_at, foreign_at = {}, {}
        for request in work:
            if isinstance(request, (rq.OutsideCount, rq.OutsideRange)):
                range_at[request] = _attempt(partial(self._add_outside, first, request))
            elif isinstance(request, rq.Histogram) and request.edges.of != request.of:
                foreign_at[request] = _attempt(partial(self._foreign_histogram, first, request))
        found = first.run(self.runner, self.frame, f"the counts and extremes of {self.dataset}")
        rows = int(found[rows_at])
        stats = {c: _stats_of(found, at, rows) for c, at in stats_at.items()}
        for column, value in stats.items():
            self.backend._stats[(self.dataset, column)] = value
        for request in work:
            if isinstance(request, rq.RowCount):
                self.got[request] = rows
            elif request in range_at:
                at = range_at[request]
                self.got[request] = at if isinstance(at, BaseException) else int(found[at] or 0)
            elif request in foreign_at:
                self.got[request] = _histogram_of(foreign_at[request], found, stats[request.column].count)
        if counted:
            self._counts(work, counted, sizes_at, found, rows)
        self._order_statistics(work, stats)
        self._moments(work, stats)

    def _add_outside(self, aggregates: sq.Aggregates, request) -> int:
        return aggregates.add(self._outside_sql(request))

    def _outside_sql(self, request) -> str:
        if isinstance(request, rq.OutsideRange):
            bounds = _fetch(self.got, request.bounds)
            if bounds.count == 0:
                raise CheckError(f"`{request.column}` has no finite values in {request.bounds.of}, so it has no range")
            low, high = bounds.min, bounds.max
        else:
            low, high = request.low, request.high
        return _outside_count(self._column(request.column), self.types[request.column], low, high)

    def _foreign_histogram(self, aggregates: sq.Aggregates, request) -> list[int]:
        edges = np.asarray(_fetch(self.got, request.edges), dtype=np.float64)
        column = self._column(request.column)
        return aggregates.add_all([f"count_if({column.finite} AND {column.value} < {sq.double(e)})"
                                   for e in edges.tolist()])

    # ---- value counts ---------------------------------------------------------------------------------------
    def _counts(self, work, counted: list[str], sizes_at: dict, found: list, rows: int) -> None:
        too_many = {}
        for column in counted:
            approx = sizes_at[column][1]
            if approx is not None and (found[approx] or 0) > MAX_COUNTED_KEYS * 1.25:
                too_many[column] = int(found[approx])
        wanted = [c for c in counted if c not in too_many]
        results: dict[str, Any] = {c: _too_many_keys(c, self.dataset, n) for c, n in too_many.items()}
        if wanted:
            try:
                results.update(_value_counts(self.runner, self.frame, wanted, self.types, rows, self.dataset))
            except CheckError as error:
                results.update({c: error for c in wanted})
        for request in work:
            if isinstance(request, rq.Counts):
                self.got[request] = results[request.column]

    # ---- order statistics: edges, histograms on own edges, sorted values ----------------------------------
    def _order_statistics(self, work, stats: dict) -> None:
        needs: dict[str, list] = {}
        for request in work:
            if isinstance(request, (rq.Edges, rq.SortedValues)) or (
                    isinstance(request, rq.Histogram) and request.edges.of == request.of):
                needs.setdefault(request.column, []).append(request)
        if not needs:
            return
        wanted, plans = [], {}
        for column, requests in needs.items():
            count = stats[column].count
            ranks, everything = [], False
            for request in requests:
                if isinstance(request, rq.Edges) and count:
                    previous, following, _ = _edge_positions(count, request.bins)
                    ranks += [previous, following]
                elif isinstance(request, rq.SortedValues) and count:
                    if count <= SMALL_SAMPLE:
                        everything = True
                    else:
                        ranks += _quantile_ranks(self.plan, request, count)
            if count == 0:
                everything = True  # the empty sample
            all_ranks = None if everything else (np.unique(np.concatenate(ranks)) if ranks else np.empty(0, dtype=np.int64))
            if everything or len(all_ranks):
                plans[column] = len(wanted)
                wanted.append(sq.Wanted(self._column(column), count, stats[column].low if count else 0.0,
                                        stats[column].high if count else 0.0, all_ranks))
        selections = sq.select_ranks(self.runner, self.frame, wanted, f"the columns of {self.dataset}") if wanted else []
        self.unresolved = []
        for column, requests in needs.items():
            selection = selections[plans[column]] if column in plans else sq.Selection()
            count = stats[column].count
            for request in sorted(requests, key=lambda r: isinstance(r, rq.Histogram)):  # edges first
                value = _attempt(partial(self._from_selection, request, selection, count))
                if value is not _PENDING:
                    self.got[request] = value

    def _from_selection(self, request, selection: sq.Selection, count: int):
        if isinstance(request, rq.SortedValues):
            if selection.values is not None:
                return selection.values
            return SparkSample(self.dataset, request.column, count, selection.value)
        if isinstance(request, rq.Edges):
            if count == 0:
                raise CheckError("the reference has no finite values to take bin edges from")
            return _edges(selection, count, request.bins)[0]
        # a histogram on its own edges: the counts below each edge, from the order statistics
        edges = _fetch(self.got, request.edges)
        _, previous, following, raw = _edges(selection, count, request.edges.bins)
        first = {e: i for i, e in reversed(list(enumerate(raw.tolist())))}
        at = [first[e] for e in edges.tolist()]
        below = sq.counts_below(edges, previous[at], following[at], selection)
        if any(b is None for b in below):
            self.unresolved.append((request, edges, below))
            return _PENDING  # counted by pass B (_moments)
        return np.diff(np.array([0, *below, count], dtype=np.int64))

    # ---- exact moments -------------------------------------------------------------------------------------
    def _moments(self, work, stats: dict) -> None:
        summaries = [r for r in work if isinstance(r, rq.Summary)]
        unresolved = self.unresolved
        if not summaries and not unresolved:
            return
        second = sq.Aggregates()
        plans = {r: _moment_aggregates(second, self._column(r.column), stats[r.column]) for r in summaries}
        pending = []
        for request, edges, below in unresolved:
            column = self._column(request.column)
            pending.append((request, edges, below, [
                None if b is not None else second.add(f"count_if({column.finite} AND {column.value} < {sq.double(e)})")
                for e, b in zip(edges.tolist(), below)]))
        try:
            found = second.run(self.runner, self.frame, f"the moments of {self.dataset}") if second.expressions else []
        except CheckError as error:
            for request in [*summaries, *(p[0] for p in pending)]:
                self.got[request] = error
            return
        for request, plan in plans.items():
            self.got[request] = _attempt(partial(_summary_of, stats[request.column], plan, found))
        for request, edges, below, at in pending:
            counts = [b if b is not None else int(found[a]) for b, a in zip(below, at)]
            self.got[request] = np.diff(np.array([0, *counts, stats[request.column].count], dtype=np.int64))


# ---- pass A pieces ------------------------------------------------------------------------------------
def _stats_aggregates(aggregates: sq.Aggregates, column: sq.NumericColumn) -> list[int]:
    raw, finite = column.raw, column.finite
    exact = raw if column.integer else column.when_finite(column.value)
    parts = [f"count_if({raw} IS NULL)",
             f"count_if(isnan({raw}))" if column.floating else "0",
             f"count_if({raw} = {sq.INFINITY})" if column.floating else "0",
             f"count_if({raw} = -{sq.INFINITY})" if column.floating else "0",
             f"count_if({finite})", f"min({exact})", f"max({exact})", f"avg({column.when_finite(column.value)})"]
    return aggregates.add_all(parts)


def _stats_of(found: list, at: list[int], rows: int) -> ColumnStats:
    nulls, nans, pos_inf, neg_inf, count, low, high, shift = (found[i] for i in at)
    return ColumnStats(rows, int(nulls), int(nans), int(pos_inf), int(neg_inf), int(count), low, high,
                       None if shift is None else float(shift))


def _count_aggregates(aggregates: sq.Aggregates, name: str, spark_type) -> tuple[int, int | None]:
    """The missing values (null, or NaN in a float column) and a cheap estimate of the distinct
    values, which decides whether the counts come to the driver (MAX_COUNTED_KEYS)."""
    raw = sq.ident(name)
    floating = type(spark_type).__name__ in ("FloatType", "DoubleType")
    missing = aggregates.add(f"count_if({raw} IS NULL OR isnan({raw}))" if floating else f"count_if({raw} IS NULL)")
    if type(spark_type).__name__ == "BooleanType":
        return missing, None
    return missing, aggregates.add(f"approx_count_distinct({raw})")


def _outside_count(column: sq.NumericColumn, spark_type, low, high) -> str:
    """count_if over the values outside [low, high] (±inf included, NULL and NaN not), compared
    exactly: integers against integer bounds (ceil/floor), floats against the nearest floats
    inside the bounds (columns.kernel_bounds' rule)."""
    from ..columns import _float_at_least, _float_at_most, _integer_bound

    raw = column.raw
    if column.integer:
        smallest, largest = _INTEGER_LIMITS[type(spark_type).__name__]
        lo, hi = _integer_bound(low, math.ceil), _integer_bound(high, math.floor)
        if lo > largest or hi < smallest:
            return f"count_if({raw} IS NOT NULL)"
        parts = []
        if lo > smallest:
            parts.append(f"{raw} < {sq.bigint(lo)}")
        if hi < largest:
            parts.append(f"{raw} > {sq.bigint(hi)}")
        return f"count_if({' OR '.join(parts)})" if parts else "0"
    value = column.value
    lo, hi = _float_at_least(low), _float_at_most(high)
    present = f"NOT isnan({value})" if column.floating else "TRUE"
    return f"count_if({present} AND ({value} < {sq.double(lo)} OR {value} > {sq.double(hi)}))"


_INTEGER_LIMITS = {"ByteType": (-(2 ** 7), 2 ** 7 - 1), "ShortType": (-(2 ** 15), 2 ** 15 - 1),
                   "IntegerType": (-(2 ** 31), 2 ** 31 - 1), "LongType": (-(2 ** 63), 2 ** 63 - 1)}


def _histogram_of(at, found: list, count: int):
    """Counts per bin from the counts below each edge."""
    if isinstance(at, BaseException):
        return at
    below = [int(found[i]) for i in at]
    return np.diff(np.array([0, *below, count], dtype=np.int64))


def _too_many_keys(column: str, dataset: str, approx: int) -> CheckError:
    return CheckError(f"`{column}` in {dataset} has about {approx:,} distinct values; the Spark engine brings value "
                      f"counts to the driver only for columns with at most {MAX_COUNTED_KEYS:,} "
                      "(mlcontract.engines.spark.MAX_COUNTED_KEYS)")


def _value_counts(runner: sq.Runner, frame, columns: list[str], types: dict, rows: int, dataset: str) -> dict:
    """CountsResult of each column, from one GROUPING SETS query (each column its own group):
    keys are the non-null, non-NaN values; nulls counts null and NaN, as the local engine."""
    import pyarrow as pa

    from ..columns import CountsResult, _key_array

    keys = []
    for i, name in enumerate(columns):
        raw = sq.ident(name)
        floating = type(types[name]).__name__ in ("FloatType", "DoubleType")
        keys.append(f"CASE WHEN isnan({raw}) THEN NULL ELSE {raw} END AS k{i}" if floating else f"{raw} AS k{i}")
    names = ", ".join(f"k{i}" for i in range(len(columns)))
    sets = ", ".join(f"(k{i})" for i in range(len(columns)))
    table = runner.table(f"SELECT {names}, count(1) AS n, grouping_id() AS g FROM (SELECT {', '.join(keys)} FROM {{frame}}) "
                         f"GROUP BY GROUPING SETS ({sets})", f"the value counts of {dataset}", frame=frame)
    group = table.column("g").to_numpy()
    counts = table.column("n").to_numpy().astype(np.int64)
    full = (1 << len(columns)) - 1
    results = {}
    for i, name in enumerate(columns):
        mine = group == (full ^ (1 << (len(columns) - 1 - i)))
        values = table.column(f"k{i}").filter(pa.array(mine)).to_pylist()
        numbers = counts[mine]
        present = [j for j, v in enumerate(values) if v is not None]
        nulls = int(numbers.sum() - numbers[present].sum())
        if len(present) > MAX_COUNTED_KEYS:
            results[name] = _too_many_keys(name, dataset, len(present))
            continue
        order = sorted(present, key=lambda j: -numbers[j])
        results[name] = CountsResult(_key_array([values[j] for j in order]), numbers[order].astype(np.int64), nulls, rows)
    return results


# ---- order statistics helpers ----------------------------------------------------------------------------
def _edge_positions(count: int, bins: int):
    from ..statistics import edge_probabilities, quantile_positions

    previous, following, gamma = quantile_positions(count, edge_probabilities(bins))
    return previous % count, following % count, gamma


def _edges(selection: sq.Selection, count: int, bins: int):
    """statistics.quantile_edges of the column, bit for bit, from its order statistics; also the
    positions and the edges before np.unique."""
    from ..statistics import interpolate

    previous, following, gamma = _edge_positions(count, bins)
    low = np.array([selection.value[p] for p in previous.tolist()], dtype=np.float64)
    high = np.array([selection.value[p] for p in following.tolist()], dtype=np.float64)
    raw = interpolate(low, high, gamma)
    return np.unique(raw), previous, following, raw


def _quantile_ranks(plan, request, count: int) -> list[np.ndarray]:
    """The ranks the checks reading `request` (SortedValues) need: those of every pNN / median
    of that column in that dataset (plan.consumers → the checks' measures)."""
    from ..catalog import quantile_of
    from ..measures import Difference, FeatureStat
    from ..plan import measures_of
    from ..statistics import quantile_positions

    checks = {check.index: check for check in plan.contract.checks}
    wanted = set()
    for index in plan.consumers.get(request, []):
        stack = list(measures_of(checks[index])) if index in checks else []
        while stack:
            measure = stack.pop()
            if isinstance(measure, Difference):
                stack += [measure.left, measure.right]
            elif (isinstance(measure, FeatureStat) and measure.dataset == request.of and measure.column == request.name
                  and quantile_of(measure.statistic) is not None):
                wanted.add(quantile_of(measure.statistic))
    if not wanted:
        return []
    previous, following, _ = quantile_positions(count, np.array(sorted(wanted)))
    return [previous % count, following % count]


# ---- pass B: exact moments ----------------------------------------------------------------------------------
@dataclass
class _MomentPlan:
    shift: float
    first: sq.ExactSum | None
    second: sq.ExactSum | None
    at_first: list[int]
    at_second: list[int]
    overflow: bool


def _moment_aggregates(aggregates: sq.Aggregates, column: sq.NumericColumn, stats: ColumnStats) -> _MomentPlan | None:
    """Σx and Σ(x − c)² of the finite values, exactly (ExactSum), c a shift near the mean: the
    mean is then correctly rounded and m2 = Σ(x − c)² − n(mean − c)² loses nothing to
    cancellation (the local kernel computes both to a few ulps)."""
    if stats.count == 0:
        return None
    low, high = stats.low, stats.high
    if low == high:
        shift = low  # a constant column: m2 exactly 0, as locally
    elif stats.shift is not None and math.isfinite(stats.shift):
        shift = min(max(stats.shift, low), high)
    else:
        shift = low / 2 + high / 2
    first = sq.ExactSum(sq.exponent_above(max(abs(low), abs(high))))
    at_first = aggregates.add_all(first.aggregates(column.when_finite(column.value)))
    largest = max((low - shift) * (low - shift), (high - shift) * (high - shift))
    if not math.isfinite(largest):
        return _MomentPlan(shift, first, None, at_first, [], True)
    second = sq.ExactSum(sq.exponent_above(largest))
    deviation = f"({column.value} - {sq.double(shift)})"
    at_second = aggregates.add_all(second.aggregates(column.when_finite(f"{deviation} * {deviation}")))
    return _MomentPlan(shift, first, second, at_first, at_second, False)


def _summary_of(stats: ColumnStats, plan: _MomentPlan | None, found: list):
    """The NumericSummary the local kernels produce for the column."""
    from fractions import Fraction

    from .._kernels import NumericSummary

    counts = {"rows": stats.rows, "nulls": stats.nulls, "nans": stats.nans, "pos_inf": stats.pos_inf,
              "neg_inf": stats.neg_inf, "count": stats.count}
    if plan is None:
        return NumericSummary(**counts)
    n = stats.count
    total = plan.first.value([found[i] for i in plan.at_first])
    mean_exact = total / n
    mean = float(mean_exact)
    mean_lo = float(mean_exact - Fraction(mean))
    if plan.overflow:
        m2 = math.inf
    else:
        squares = plan.second.value([found[i] for i in plan.at_second])
        m2 = max(0.0, float(squares - n * (mean_exact - Fraction(plan.shift)) ** 2))
    return NumericSummary(**counts, min=stats.min, max=stats.max, mean=mean, mean_lo=mean_lo, m2=m2)


# ---- sides of a walk -------------------------------------------------------------------------------------
class _ArraySide:
    """A sample already on the driver (collected, or a profile's grid)."""

    def __init__(self, values):
        self.array = np.asarray(values, dtype=np.float64)
        self.count = int(self.array.size)

    def values(self, runner, what):
        return self.array

    def side(self, runner) -> sq.Side:
        import pyarrow as pa

        frame = runner.frame(pa.table({"v": pa.array(self.array, pa.float64())}))
        low, high = (float(self.array[0]), float(self.array[-1])) if self.count else (0.0, 0.0)
        return sq.Side(frame, "SELECT v FROM {frame}", self.count, low, high)


class _FrameSide:
    """A column of a Spark DataFrame."""

    def __init__(self, frame, column: sq.NumericColumn, stats: ColumnStats):
        self.frame, self.column, self.stats = frame, column, stats
        self.count = stats.count

    def values(self, runner, what):
        wanted = sq.Wanted(self.column, self.count, self.stats.low, self.stats.high, None)
        return sq.select_ranks(runner, self.frame, [wanted], what)[0].values

    def side(self, runner) -> sq.Side:
        return sq.Side(self.frame, f"SELECT {self.column.value} AS v FROM {{frame}} WHERE {self.column.finite}",
                       self.count, self.stats.low, self.stats.high)


# ---- profiles --------------------------------------------------------------------------------------------------
def _profile(runner: sq.Runner, frame, index, name: str, label: str | None):
    """profiles.profile_frame, computed by Spark: the same columns, counts, summaries, kept
    values, quantile grids and fine counts."""
    from ..catalog import CATEGORICAL, NUMERIC
    from ..profiles import (
        GRID,
        ColumnProfile,
        Profile,
        _json_key,
        _now,
        _summary_to_json,
    )
    from ..statistics import interpolate, quantile_positions

    types = {f.name: f.dataType for f in frame.schema.fields if f.name not in index}
    first = sq.Aggregates()
    rows_at = first.add("count(1)")
    stats_at, missing_at = {}, {}
    for column, spark_type in types.items():
        kind = column_kind(spark_type)
        if kind == NUMERIC:
            stats_at[column] = _stats_aggregates(first, numeric_column(column, spark_type))
        else:
            missing_at[column] = _count_aggregates(first, column, spark_type)
    found = first.run(runner, frame, f"the counts and extremes of {name}")
    rows = int(found[rows_at])
    stats = {c: _stats_of(found, at, rows) for c, at in stats_at.items()}
    categorical = [c for c, t in types.items() if column_kind(t) == CATEGORICAL]
    too_many = {c: int(found[missing_at[c][1]]) for c in categorical
                if missing_at[c][1] is not None and (found[missing_at[c][1]] or 0) > MAX_COUNTED_KEYS * 1.25}
    if too_many:
        column = next(iter(too_many))
        raise _too_many_keys(column, name, too_many[column])
    counts = _value_counts(runner, frame, categorical, types, rows, name) if categorical else {}
    for column, value in counts.items():
        if isinstance(value, BaseException):
            raise value
    wanted, grids = [], {}
    for column, value in stats.items():
        if value.count == 0:
            continue
        if value.count <= GRID:
            ranks = None
        else:
            previous, following, gamma = quantile_positions(value.count, np.arange(GRID + 1) / GRID)
            grids[column] = (previous % value.count, following % value.count, gamma)
            ranks = np.unique(np.concatenate([grids[column][0], grids[column][1]]))
        wanted.append(sq.Wanted(numeric_column(column, types[column]), value.count, value.low, value.high, ranks))
    selections = dict(zip([w.column.name for w in wanted],
                          sq.select_ranks(runner, frame, wanted, f"the columns of {name}") if wanted else []))
    second = sq.Aggregates()
    moments = {c: _moment_aggregates(second, numeric_column(c, types[c]), s) for c, s in stats.items()}
    layouts, fallback = {}, {}
    for column, (previous, following, gamma) in grids.items():
        selection = selections[column]
        low = np.array([selection.value[p] for p in previous.tolist()])
        high = np.array([selection.value[p] for p in following.tolist()])
        grid = interpolate(low, high, gamma)
        edges = np.unique(grid[1:GRID])
        first_at = {e: i for i, e in reversed(list(enumerate(grid.tolist()))) if 0 < i < GRID}
        at = [first_at[e] for e in edges.tolist()]
        below = sq.counts_below(edges, previous[at], following[at], selection)
        column_sql = numeric_column(column, types[column])
        fallback[column] = [None if b is not None else second.add(
            f"count_if({column_sql.finite} AND {column_sql.value} < {sq.double(e)})") for e, b in zip(edges.tolist(), below)]
        layouts[column] = (grid, edges, below)
    found_second = second.run(runner, frame, f"the moments of {name}") if second.expressions else []
    columns: dict[str, ColumnProfile] = {}
    for column, spark_type in types.items():
        kind, dtype = column_kind(spark_type), dtype_name(spark_type)
        if kind == NUMERIC:
            summary = _summary_of(stats[column], moments[column], found_second)
            profile = ColumnProfile(kind, dtype, rows, summary.nulls + summary.nans,
                                    summary=_summary_to_json(summary.to_dict()))
            if column in layouts:
                grid, edges, below = layouts[column]
                below = [b if b is not None else int(found_second[a]) for b, a in zip(below, fallback[column])]
                profile.quantiles, profile.edges = grid.tolist(), edges.tolist()
                profile.counts = np.diff(np.array([0, *below, summary.count], dtype=np.int64)).tolist()
            elif column in selections:
                profile.values = selections[column].values.tolist()
            columns[column] = profile
        elif kind == CATEGORICAL:
            result = counts[column]
            categories = [[_json_key(k), int(n)] for k, n in zip(result.keys.tolist(), result.counts.tolist())]
            columns[column] = ColumnProfile(kind, dtype, rows, result.nulls, categories=categories)
        else:
            columns[column] = ColumnProfile(kind, dtype, rows, int(found[missing_at[column][0]]))
    return Profile(name, rows, columns, True, label, _now())


def _fetch(got: dict, request):
    value = got.get(request)
    if value is None:
        raise CheckError(f"{request.describe()} was not computed")
    if isinstance(value, BaseException):
        raise value
    return value
