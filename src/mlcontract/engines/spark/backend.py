"""SparkBackend: the plan's requests computed by Spark ("spark" in engines.ENGINES).

Data requests run as Spark SQL, scan by scan (scan.ScanWork); profile scans are served from the
profile on the driver; model, robustness, latency and history work (plan.other) runs on the
driver through the shared handlers (models.handlers), on datasets collected up to
MAX_COLLECT_ROWS rows.
"""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from ...errors import CheckError, DataError, UsageError
from ...escape import printable
from ...plan import requests as rq
from ...sources import holds_summaries
from ..base import Inputs, Progress, Settings, once
from .reading import frame_schema, index_columns, numeric_column, read_source, source_of
from .relations import Relation, relation, root_source
from .scan import ColumnStats, ScanWork, SparkSample, WalkSide, array_side, attempt, spark_walk
from .session import SparkUnavailable, describe_error, is_spark_frame, start_session
from .sql import Runner

if TYPE_CHECKING:
    from ...plan import Plan

# The options the engine reads from Settings.options.
SETTINGS = frozenset({"session", "master", "remote", "conf"})
# Model checks read their dataset into the driver (a model predicts in this process): up to this
# many rows; a larger dataset makes them an `error` that says so (fail closed).
MAX_COLLECT_ROWS = 1_000_000


class SparkBackend:
    """Computes a plan's requests with Spark ("spark" in engines.ENGINES).

    `settings.options` says which Spark: `session` (a SparkSession, classic or Connect, used as
    it is and never stopped), else one started on the first run from `remote` (sc://HOST:PORT),
    `master` (default local[*]) and `conf` ({spark.* setting: value}) — shared by every backend
    of this process that asks for the same (start_session)."""

    name: ClassVar[str] = "spark"

    def __init__(self, settings: Settings | None = None, progress: Progress | None = None):
        self.settings = settings if settings is not None else Settings()
        options = dict(self.settings.options)
        unknown = sorted(set(options) - SETTINGS)
        if unknown:
            raise UsageError(f"the Spark engine has no setting `{printable(unknown[0], 40)}` "
                             f"(its settings: {', '.join(sorted(SETTINGS))})")
        self._session = options.get("session")
        self.master, self.remote = options.get("master"), options.get("remote")
        self.conf = dict(options.get("conf") or {})
        self.progress = progress
        self.queries = 0  # Spark SQL queries run (the tests check that a scan's work is combined)
        self.jobs = 0  # Spark jobs they started (a classic session)
        self.log: list[tuple[str, int, float]] = []  # (what, Spark jobs, seconds) of every query
        self.scans: list[tuple[str, int, int, float]] = []  # (dataset, queries, Spark jobs, seconds) of every scan
        self.computed = 0  # requests computed (as the local engine counts them)
        self.inputs: Inputs = Inputs({})
        self._opened: dict[str, Any] = {}
        self._relations: dict[str, Relation | BaseException] = {}
        self.stats: dict[tuple[str, str], ColumnStats] = {}

    # ---- compiling: the schemas as Spark reads them --------------------------------------------------
    reads_tables: ClassVar[bool] = True  # table("catalog.schema.name") datasets (resolve.declarations)

    def schema_of(self, source, frame: Any = None):
        """The sources.base.Schema of a dataset as this engine reads it: Spark's types under the
        local engine's names (frame_schema), and its pandas-index columns, without reading the
        rows. A profile's schema is its own. DataError when Spark cannot read the source."""
        from ...sources import schema_of
        from ...sources.base import Schema

        if holds_summaries(source) and frame is None:
            return schema_of(source)
        spark_frame = read_source(self.session, source, frame)
        return Schema(frame_schema(spark_frame), () if frame is not None else index_columns(source, spark_frame))

    # ---- session ---------------------------------------------------------------------------------
    @property
    def session(self):
        if self._session is None:
            self._session = start_session(self.master, self.remote, self.conf)
        return self._session

    def _runner(self) -> Runner:
        progress = self.progress
        note = (lambda text: progress.note(f"spark: {text}")) if progress is not None else None
        return Runner(self.session, describe_error, note)

    # ---- runs --------------------------------------------------------------------------------------
    def run(self, plan: Plan, inputs: Inputs) -> dict[rq.Request, Any]:
        """Every request of the plan: its value, or the CheckError that computing it met."""
        self.inputs = inputs
        self._opened, self._relations, self.stats = {}, {}, {}
        got: dict[rq.Request, Any] = {}
        try:
            runner = self._runner()
        except SparkUnavailable as error:  # every request, data or model, is an error that says why
            failure = CheckError(str(error))
            return {request: failure for request in plan.requests}
        try:
            for scan in plan.scans:
                before = len(runner.log)
                if scan.mode == "profile":
                    self._serve_profile(scan, got, runner)
                else:
                    ScanWork(self, plan, list(scan.requests), runner, got, scan.dataset).compute()
                mine = runner.log[before:]
                self.scans.append((scan.dataset, len(mine), sum(j for _, j, _ in mine), sum(t for _, _, t in mine)))
                self.computed += len(scan.requests)
            if plan.other:
                from ...models.handlers import run_handlers

                run_handlers(plan, inputs.with_reader(self._collect), got, self.progress)
                self.computed += len(plan.other)
        finally:
            self.queries += runner.queries
            self.jobs += runner.jobs
            self.log += runner.log
        return got

    def dataset(self, name: str):
        """The run's Spark DataFrame of a declared dataset and its pandas-index columns (opened
        once per run); CheckError when Spark cannot read it."""
        return once(self._opened, name, partial(self._open, name))

    def _open(self, name: str):
        source = root_source(self.inputs.datasets[name])
        frame = read_source(self.session, source, self.inputs.dataset_objects.get(source.name))
        return frame, index_columns(source, frame)

    def relation(self, name: str) -> Relation:
        """A dataset or a view as the engine reads it: over its root dataset's DataFrame."""
        return once(self._relations, name, partial(self._relation, name))

    def _relation(self, name: str) -> Relation:
        source = self.inputs.datasets[name]
        frame, index = self.dataset(root_source(source).name)
        return relation(source, frame, index)

    def walk_side(self, dataset: str, column: str, got: dict, runner: Runner) -> WalkSide:
        """The sample of `column` in `dataset` that a KS/Wasserstein walk reads: its values
        where an earlier scan collected them (or a profile served its grid), else its Spark column."""
        value = got.get(rq.SortedValues(dataset, column))
        if isinstance(value, BaseException):
            raise value
        if value is not None and not isinstance(value, SparkSample):
            return array_side(value)
        stats = self.stats.get((dataset, column))
        if stats is None:
            raise CheckError(f"the values of `{column}` in {dataset} were not computed")
        from .buckets import Sample

        found = self.relation(dataset)
        sample = Sample(found.frame, numeric_column(found.sql(column), found.type(column), found.where),
                        stats.count, stats.low, stats.high)
        return WalkSide(stats.count, stats.count, stats.low, stats.high, None, sample)

    # ---- model, robustness, latency and history work: on the driver ------------------------------
    def _collect(self, inputs: Inputs, name: str):
        """The whole dataset as a Polars DataFrame on the driver, for model work (the reader of
        the handlers' Inputs): at most MAX_COLLECT_ROWS rows, else a DataError that says so. A
        declared dataset is read as it is (models are fed the data without its missing values);
        a view as its rows and columns."""
        import polars as pl

        source = self.inputs.datasets[name]
        frame, index = self.dataset(root_source(source).name)
        if source.inner is not None:
            found = self.relation(name)
            select = ", ".join(f"{sql} AS `{column.replace('`', '``')}`" for column, (sql, _) in found.columns.items())
            frame = self.session.sql(f"SELECT {select} FROM {{frame}}" + (f" WHERE {found.where}" if found.where else ""),
                                     frame=frame)
        try:
            table = frame.limit(MAX_COLLECT_ROWS + 1).toArrow()
        except Exception as error:  # noqa: BLE001 - py4j, gRPC and Spark errors of every kind
            raise DataError(f"dataset `{name}`: Spark failed reading it for the model checks: "
                            f"{describe_error(error)}") from None
        if table.num_rows > MAX_COLLECT_ROWS:
            raise DataError(f"dataset `{name}` has more than {MAX_COLLECT_ROWS:,} rows: model checks on the Spark "
                            f"engine read their dataset into the driver, up to {MAX_COLLECT_ROWS:,} rows "
                            "(mlcontract.engines.spark.backend.MAX_COLLECT_ROWS); give them a sample of it")
        collected = pl.DataFrame(table)
        return collected.drop([c for c in index if c in collected.columns])

    # ---- profile datasets in a plan -------------------------------------------------------------------
    def _serve_profile(self, scan, got: dict, runner: Runner) -> None:
        from ...profiles import load_profile
        from ..profile import serve

        source = self.inputs.datasets[scan.dataset]
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
                got[request] = attempt(partial(self._profile_walk, profile, request, got, runner))
            else:
                got[request] = attempt(partial(serve, profile, request, got))

    def _profile_walk(self, profile, request, got: dict, runner: Runner):
        """KS/Wasserstein of a profile's grid against a large Spark column, by the rounds."""
        from ..profile import serve
        from .buckets import Rounds

        mine = array_side(serve(profile, rq.SortedValues(request.of, request.name)))
        theirs = self.walk_side(request.against, request.name, got, runner)
        if mine.count == 0 or theirs.count == 0:
            raise CheckError("no finite values to compare (every value is null, NaN or infinite)")
        rounds = Rounds(runner, f"`{request.name}` in {request.of} vs {request.against}")
        pair = rounds.walk(mine.sample(runner), theirs.sample(runner))
        rounds.run()
        return spark_walk(pair, mine, theirs, None)

    # ---- profiles ---------------------------------------------------------------------------------------
    def profile(self, data: Any, name: str | None = None):
        """The profile the local engine writes (profiles.profile_frame) for the same rows, of a
        path or URI (parquet file or folder, csv, ndjson), a table("…") DatasetSource, or a Spark
        DataFrame. Counts, extremes, kept values, quantile grid and fine counts are equal to the
        local profile's; the moments agree to ~1e-15 relative."""
        from ...resolve.contract import DatasetSource
        from .profile import profile_of

        runner = self._runner()
        try:
            if is_spark_frame(data):
                source, label = DatasetSource(name or "data", "frame"), None
                frame = data
            else:
                source = data if isinstance(data, DatasetSource) else source_of(data, name)
                label = str(data) if not isinstance(data, DatasetSource) else (source.written or source.describe())
                frame = read_source(self.session, source)
            index = index_columns(source, frame)
            return profile_of(runner, frame, index, source.name, label)
        finally:
            self.queries += runner.queries
            self.jobs += runner.jobs
