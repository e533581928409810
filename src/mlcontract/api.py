"""The Python API: the same compile-and-run as `mlc check`.

    import mlcontract
    contract = mlcontract.compile("contracts/churn.mlc")
    print(contract.explain())                       # the plan, as `mlc plan` prints it
    result = contract.run(datasets={"production": prod_df})
    assert result.passed
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from . import sources
from .engines import DEFAULT_ENGINE
from .errors import UsageError
from .grants import Grants
from .language.source import SourceText
from .language.transform import no_cyclic_gc, to_ast
from .plan import Plan, plan as make_plan
from .resolve import resolve
from .resolve.contract import CheckedContract

if TYPE_CHECKING:  # pydantic costs ~0.13 s to import: only when the results are built
    from .engines.base import Backend, Progress, Settings
    from .report.results import RunResult


class Contract:
    """A compiled contract: its checks are resolved and its plan is built; nothing ran yet."""

    def __init__(self, source: SourceText, base_dir: Path, datasets=None, models=None, histories=None,
                 lenient: bool = False, grants: Grants | None = None, paths: dict[str, str | Path] | None = None,
                 engine: str = DEFAULT_ENGINE, settings: Settings | None = None):
        started = time.perf_counter()
        # The engine the contract is compiled for (run() uses it unless told otherwise). An engine
        # that reads sources its own way (Spark: catalog tables, URIs, its types) reads the schemas.
        self.engine, self.settings = engine, settings
        reader = _schema_reader(engine, settings)
        self.source = source
        self.base_dir = base_dir
        self.grants = grants or Grants()
        self.paths = dict(paths or {})
        self.ast = to_ast(source)
        if self.paths:  # `--input NAME=PATH`: the invocation points a declaration at another file
            from .resolve.declarations import replace_paths

            self.ast, self.grants = replace_paths(self.ast, self.paths, self.grants)
            lenient = True  # the new file's columns may differ: a missing one is an `error` result
        self._inputs = (dict(datasets or {}), dict(models or {}), dict(histories or {}))
        with no_cyclic_gc():  # a contract of 200,000 checks: half of resolve's time was the collector's
            self.checked: CheckedContract = resolve(self.ast, source, base_dir, *self._inputs, lenient=lenient,
                                                    grants=self.grants, engine=reader)
            self.plan: Plan = make_plan(self.checked, holds_summaries=sources.holds_summaries)
        self.compile_seconds = time.perf_counter() - started

    @property
    def name(self) -> str | None:
        return self.checked.name

    @property
    def checks(self):
        return self.checked.checks

    @property
    def sha256(self) -> str:
        """The hash of the contract's text as compiled (the results record it)."""
        import hashlib

        return hashlib.sha256(self.source.text.encode("utf-8", "surrogatepass")).hexdigest()

    def explain(self, as_json: bool = False) -> str:
        from .plan.explain import plan_json, plan_text

        return plan_json(self.plan) if as_json else plan_text(self.plan)

    def run(self, datasets: dict[str, Any] | None = None, models: dict[str, Any] | None = None,
            histories: dict[str, Any] | None = None, progress: Progress | None = None, *,
            engine: str | Backend | None = None, settings: Settings | None = None, spark: Any = None,
            fail_on: str = "fail", plots: bool = True) -> RunResult:
        """Run the plan. Frames, models and histories given here replace declared sources
        (pandas, Polars or Spark DataFrames; fitted estimators or predict callables; history frames).

        `engine` names the engine that computes the statistics (`mlcontract.engines.ENGINES`;
        default: the one the contract was compiled for), built with `settings`
        (engines.base.Settings: chunk rows, threads, engine options) and reporting to `progress`;
        or it is an engine already built (then give neither). `spark=session` (a SparkSession,
        classic or Connect) runs on the Spark engine with that session, as a Spark DataFrame
        among `datasets` does (docs/spark.md).
        `fail_on="warn"`: warnings block the gate too (`passed` is false when one warns).
        `plots=False`: the results carry no `details["plot"]` (report/plotdata.py), and the costly
        ones are not computed (a holdout's ROC and PR curves: ~0.4 s at 1M rows); no verdict or
        value changes. `mlc check` draws them only for the reports that show them (--json, --html)."""
        import datetime

        from .engines.base import Inputs
        from .report.evaluate import evaluate
        from .report.plotdata import drawing

        if fail_on not in ("fail", "warn"):
            raise UsageError(f"fail_on takes `fail` or `warn`, not {fail_on!r}")
        started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
        started = time.perf_counter()
        name, settings = _engine_choice(engine, settings, spark, datasets or {}, self.engine)
        if name == self.engine and settings is None:
            settings = self.settings
        chosen = _engine(name, settings, progress)
        frames, objects, curves = (dict(self._inputs[0]), dict(self._inputs[1]), dict(self._inputs[2]))
        contract = self
        if datasets or models or histories:
            unknown = [n for n in (datasets or {}) if n not in self.checked.datasets]
            unknown += [n for n in (models or {}) if n not in self.checked.models]
            unknown += [n for n in (histories or {}) if n not in self.checked.histories]
            if unknown:
                raise UsageError(f"run() got inputs the contract does not declare: {', '.join(unknown)}; "
                                 "pass them to compile() instead")
            frames.update(datasets or {})
            objects.update(models or {})
            curves.update(histories or {})
        other_engine = isinstance(name, str) and (name, settings) != (self.engine, self.settings) and \
            (_reads_schemas(name) or _reads_schemas(self.engine))
        if datasets or models or histories or other_engine:
            # The columns may differ from the declared files' (new data, or another engine reading
            # the sources, with its own types and tables): resolve again against what will be read
            # (leniently: a column the new data lacks is an `error` result, not an exception).
            engine_name, engine_settings = (name, settings) if other_engine and isinstance(name, str) \
                else (self.engine, self.settings)
            contract = Contract(self.source, self.base_dir, frames, objects, curves, lenient=True, grants=self.grants,
                                paths=self.paths, engine=engine_name, settings=engine_settings)
        with drawing(plots):
            got = chosen.run(contract.plan, Inputs.of(contract.checked, frames, objects, curves))
            executed = time.perf_counter()
            durations = {"compile": round(self.compile_seconds, 4), "execute": round(executed - started, 4)}
            result = evaluate(contract.checked, got, time.perf_counter() - started,
                              fail_on=cast(Literal["fail", "warn"], fail_on),  # checked above
                              started_at=started_at, contract_sha256=self.sha256, durations=durations)
        result.durations["evaluate"] = round(time.perf_counter() - executed, 4)
        return result


def _is_spark_frame(frame: Any) -> bool:
    """A DataFrame of a classic or a Spark Connect session (told without importing pyspark)."""
    return type(frame).__module__.startswith("pyspark.sql") and hasattr(frame, "sparkSession")


def _engine_choice(engine: str | Backend | None, settings: Settings | None, spark: Any, frames: dict,
                   default: str) -> tuple[str | Backend, Settings | None]:
    """(the engine's name, or an engine already built; its settings). A Spark session given as
    `spark=`, or a Spark DataFrame among the datasets, chooses the Spark engine with that session."""
    if spark is None:
        spark = next((f.sparkSession for f in frames.values() if _is_spark_frame(f)), None)
    if engine is None:
        engine = "spark" if spark is not None else default
    if spark is not None:
        if engine != "spark":
            shown = engine if isinstance(engine, str) else type(engine).__name__
            raise UsageError(f"a Spark session or Spark DataFrame runs on the Spark engine, not on `{shown}`: "
                             "give engine=\"spark\" (or leave engine out)")
        from dataclasses import replace

        from .engines.base import Settings

        base = settings if settings is not None else Settings()
        settings = replace(base, options={**base.options, "session": spark})
    return engine, settings


def _reads_schemas(name: str | None) -> bool:
    """Whether the engine `name` reads the sources' schemas itself (not with Polars)."""
    return name is not None and name != DEFAULT_ENGINE


def _schema_reader(name: str, settings: Settings | None):
    """The engine that reads the schemas of a contract compiled for `name`, when it reads them
    itself (the Spark engine); None for the local engine (sources.datasets, Polars)."""
    if not _reads_schemas(name):
        return None
    from .engines import backend
    from .engines.base import Settings

    built = backend(name, settings if settings is not None else Settings())
    return built if callable(getattr(built, "schema_of", None)) else None


def _engine(engine: str | Backend, settings: Settings | None, progress: Progress | None) -> Backend:
    """The engine a run asks for: by name from the registry, or one already built."""
    if isinstance(engine, str):
        from .engines import backend
        from .engines.base import Settings

        return backend(engine, settings if settings is not None else Settings(), progress)
    if settings is not None or progress is not None:
        raise UsageError("run() got an engine already built and settings or progress for it; "
                         "give them to the engine's constructor, or name the engine instead")
    if not callable(getattr(engine, "run", None)):
        raise UsageError(f"run(engine=...) takes an engine's name or an engine, not {type(engine).__name__}")
    return engine


def compile(source: str | Path, *, datasets: dict[str, Any] | None = None, models: dict[str, Any] | None = None,
            histories: dict[str, Any] | None = None, base_dir: str | Path | None = None,
            allow_paths: list[str | Path] | None = None, allow_hosts: list[str] | None = None,
            allow_pickle: bool = False, paths: dict[str, str | Path] | None = None,
            mlflow_uri: str | None = None, engine: str | None = None, settings: Settings | None = None,
            spark: Any = None) -> Contract:
    """Compile a contract from a path or from its text. Raises ContractError with located
    diagnostics when it is malformed. Frames and models given here stand in for declarations
    (an undeclared name becomes a dataset/model of the contract).

    The contract's privileges come from here, never from the contract (docs/security.md):
    `allow_paths` folders it may read outside its repository and the working directory,
    `allow_hosts` non-loopback hosts its http() models may reach, `allow_pickle` consent to
    unpickle models (joblib/pickle, skops types outside the safe allowlist). `mlflow_uri`: the
    MLflow tracking/registry server of mlflow("models:/...") models (default: the environment's
    MLFLOW_TRACKING_URI); a contract cannot name one.

    `paths` ({NAME: PATH}, the CLI's `--input NAME=PATH`) points declared datasets, models and
    histories at other files for this compile, keeping their format: the invocation chose
    these files, so they are readable wherever they are (special files are still refused).

    `engine` (default: local) is the engine the contract is compiled for and runs on, with
    `settings`; the Spark engine reads the schemas itself (Spark's types, `table(...)`
    datasets, URIs). `spark=session`, or a Spark DataFrame among `datasets`, chooses it."""
    grants = Grants.of(allow_paths, allow_hosts, allow_pickle, mlflow_uri)
    name, settings = _engine_choice(engine, settings, spark, datasets or {}, DEFAULT_ENGINE)
    if not isinstance(name, str):
        raise UsageError("compile(engine=...) takes an engine's name; give an engine already built to run()")
    text, path = _read(source)
    folder = Path(base_dir) if base_dir is not None else (path.parent if path else Path.cwd())
    if "\x00" in str(folder):
        raise UsageError("base_dir contains a NUL character")
    if "\r" in text and "\n" not in text:
        # A file with classic-Mac line ends only: its \r are its line ends. (A lone \r inside a
        # \n file stays a stray character, reported where it is.)
        text = text.replace("\r", "\n")
    return Contract(SourceText(text, str(path) if path else "<contract>"), folder.resolve(), datasets, models, histories,
                    grants=grants, paths=paths, engine=name, settings=settings)


def check(source: str | Path, **inputs) -> RunResult:
    """Compile and run: `mlcontract.check("contracts/churn.mlc").passed`."""
    return compile(source, **inputs).run()


def _read(source: str | Path) -> tuple[str, Path | None]:
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and source.endswith(".mlc")):
        return _read_file(Path(source)), Path(source)
    if isinstance(source, str):
        candidate = Path(source)
        try:
            is_file = "\n" not in source and len(source) < 4096 and bool(candidate.suffix) and candidate.is_file()
        except (OSError, ValueError):  # a name too long or with a NUL byte is text, not a path
            is_file = False
        return (_read_file(candidate), candidate) if is_file else (source, None)
    raise UsageError(f"compile() takes a path or the contract's text, not {type(source).__name__}")


def _read_file(path: Path) -> str:
    try:
        if path.is_dir():
            raise UsageError(f"{path} is a folder; give the path of a .mlc contract")
        if not path.is_file():
            raise UsageError(f"contract file not found: {path}")
        data = path.read_bytes()
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from error
    try:
        return data.decode("utf-8-sig")  # a BOM some editors write is not part of the contract
    except UnicodeDecodeError as error:
        raise UsageError(f"{path} is not UTF-8 text: {error}") from error


def profile(data: Any, output: str | Path | None = None, *, name: str | None = None, progress=None,
            engine: str | None = None, settings: Settings | None = None, spark: Any = None):
    """Profile a dataset (a data file path, or a pandas / Polars frame) and, when `output` is
    given, write it atomically as JSON. Returns the Profile.

    On the Spark engine (`engine="spark"`, `spark=session`, or a Spark DataFrame as `data`) the
    data may also be a URI or a folder of parquet files; the profile is the one the local engine
    writes for the same rows (docs/spark.md)."""
    from .profiles import profile_frame, write_profile
    from .resolve.contract import DatasetSource
    from .sources import format_of_path, open_dataset
    from .sources.datasets import check_rows

    chosen, settings = _engine_choice(engine, settings, spark, {"data": data}, DEFAULT_ENGINE)
    if chosen != DEFAULT_ENGINE:
        if chosen != "spark":
            raise UsageError(f"profiles are computed by the local or the Spark engine, not `{chosen}`")
        from .engines.spark import SparkBackend

        built = SparkBackend(settings, progress).profile(data, name)
        if output is not None:
            _write(write_profile, built, output)
        return built
    if isinstance(data, (str, Path)):
        path = Path(data)
        source = DatasetSource(name or path.stem, format_of_path(path), path, written=str(data))
        opened, label = open_dataset(source), str(data)  # checks the file: missing, folder, FIFO, permissions
    else:
        source = DatasetSource(name or "data", "frame")
        opened, label = open_dataset(source, data), None
    # A pandas index stored as a column is not data: a contract's checks leave it out (sources.datasets.FileFormat.index).
    built = profile_frame(opened.lazy.drop(list(opened.index)), source.name, label, progress)
    check_rows(source, opened.rows, built.rows)
    if output is not None:
        _write(write_profile, built, output)
    return built


def _write(writer, profile, output) -> None:
    try:
        writer(profile, output)
    except (OSError, ValueError) as error:  # ValueError: a NUL byte in the name
        raise UsageError(f"cannot write {output}: {getattr(error, 'strerror', None) or error}") from error


def merge_profiles(paths: Sequence[str | Path], output: str | Path | None = None):
    """Merge profiles of parts of one dataset; counts add up exactly."""
    from .profiles import load_profile, merge_profiles as merge, write_profile

    merged = merge([load_profile(Path(p), Path(p).name) for p in paths])
    if output is not None:
        _write(write_profile, merged, output)
    return merged
