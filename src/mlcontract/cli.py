"""The `mlc` command line. Exit codes: 0 all blocking checks pass · 1 a blocking check failed
or errored · 2 the contract or the command line is invalid · 3 an internal error (a bug).

No Python traceback reaches the user: contract errors are rendered diagnostics, data and model
problems are `error` results, anything else is reported as an internal error
(MLC_DEBUG=1 shows the traceback). Every message printed here is escaped (escape.printable):
error texts quote paths, names and server answers that came from outside.
"""
from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from .engines import DEFAULT_ENGINE, ENGINES
from .errors import ContractError, MlcError, UsageError
from .escape import MESSAGE_LIMIT, printable

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Compile and run ML validation contracts (.mlc files) as a CI gate.",
)

EXIT_PASS, EXIT_FAIL, EXIT_INVALID, EXIT_BUG = 0, 1, 2, 3

# Privileges a contract cannot grant itself: the invocation grants them (grants.py).
ALLOW_PATH = typer.Option(None, "--allow-path", metavar="DIR",
                          help="let the contract read files under DIR too (repeatable)")
ALLOW_HOST = typer.Option(None, "--allow-host", metavar="HOST[:PORT]",
                          help="let http() models reach this non-loopback host (repeatable)")
ALLOW_PICKLE = typer.Option(False, "--allow-pickle",
                            help="consent to unpickle models (joblib/pickle; skops types outside the safe allowlist)")
# Where mlflow("models:/...") models come from: the invocation's, never the contract's.
MLFLOW_URI = typer.Option(None, "--mlflow-uri", metavar="URI",
                          help="the MLflow tracking/registry server of mlflow() models (default: $MLFLOW_TRACKING_URI)")
# The engines come from the registry (engines.ENGINES); an unknown name is a usage error (exit 2).
ENGINE = typer.Option(DEFAULT_ENGINE, "--engine", metavar="NAME",
                      help=f"the engine that computes the statistics: {', '.join(ENGINES)}")
# The Spark engine's session (docs/spark.md): a local Spark (local[*]) unless one of these says otherwise.
SPARK_MASTER = typer.Option(None, "--spark-master", metavar="URL", rich_help_panel="Spark",
                            help="with --engine spark: the master to start Spark with (default local[*])")
SPARK_REMOTE = typer.Option(None, "--spark-remote", metavar="sc://HOST:PORT", rich_help_panel="Spark",
                            help="with --engine spark: a Spark Connect server to run on")
SPARK_CONF = typer.Option(None, "--spark-conf", metavar="KEY=VALUE", rich_help_panel="Spark",
                          help="with --engine spark: a Spark setting, e.g. spark.executor.memory=8g (repeatable)")


def _version(show: bool) -> None:
    if show:
        from . import __version__

        sys.stdout.write(f"mlc (mlcontract) {__version__}\n")
        raise typer.Exit(EXIT_PASS)


@app.callback()
def _main(version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                       help="print the version and exit")) -> None:
    """Compile and run ML validation contracts (.mlc files) as a CI gate."""


def _console():
    from .report.formats.terminal import console

    return console(sys.stdout)


def _with_report_options(command):
    """Give `command` one option per registered report format (report.report_formats(): each
    module of report/formats/ with a FORMAT), so a new format adds its option without an edit
    here. The options' values reach `command` as `reports={format name: value}`."""
    import inspect

    from .report import report_formats

    formats = report_formats()
    signature = inspect.signature(command, eval_str=True)
    own = [p for name, p in signature.parameters.items() if name != "reports"]
    generated = [
        inspect.Parameter(f"report_{name}", inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
                          default=typer.Option(entry.default, entry.flag, metavar=entry.metavar, help=entry.help,
                                               show_default=False, rich_help_panel="Reports"))
        for name, entry in formats.items()
    ]

    def with_reports(**options):
        reports = {name: options.pop(f"report_{name}") for name in formats}
        return command(**options, reports=reports)

    with_reports.__name__, with_reports.__doc__ = command.__name__, command.__doc__
    with_reports.__signature__ = signature.replace(parameters=own + generated)  # type: ignore[attr-defined]
    return with_reports


def check(
    contract: Path = typer.Argument(..., help="the .mlc contract file"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="show the message of passing checks too"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="print only the summary line"),
    fail_on: str = typer.Option("fail", "--fail-on", metavar="fail|warn",
                                help="`warn`: warnings block the gate too (default: failures and errors block)"),
    inputs: list[str] | None = typer.Option(None, "--input", metavar="NAME=PATH",
                                               help="read this file for the declared dataset, model or history NAME "
                                                    "(repeatable)"),
    allow_path: list[Path] | None = ALLOW_PATH,
    allow_host: list[str] | None = ALLOW_HOST,
    allow_pickle: bool = ALLOW_PICKLE,
    engine: str = ENGINE,
    spark_master: str | None = SPARK_MASTER,
    spark_remote: str | None = SPARK_REMOTE,
    spark_conf: list[str] | None = SPARK_CONF,
    mlflow_uri: str | None = MLFLOW_URI,
    mlflow_log: str | None = typer.Option(
        None, "--mlflow-log", metavar="RUN_OR_MODEL_URI",
        help="record the verdict in MLflow: runs:/RUN_ID, models:/NAME/VERSION or models:/NAME@ALIAS"),
    reports: dict | None = None,
) -> None:
    """Compile CONTRACT, run it, write its reports (the terminal's by default; any combination of
    the formats below); exit 1 when a blocking check fails."""
    import mlcontract

    from .report import ReportContext, report_formats, write_reports

    # Every report target is checked now (a wrong one fails before the run, not after it).
    targets = {name: entry.target((reports or {}).get(name, entry.default)) for name, entry in report_formats().items()}
    if fail_on not in ("fail", "warn"):
        raise UsageError(f"--fail-on takes `fail` or `warn`, not {fail_on!r}")
    recorder = None
    if mlflow_log is not None:
        from .report.mlflow_log import Recorder

        recorder = Recorder.of(mlflow_log, mlflow_uri)  # a malformed target fails now, not after the run
    compiled = mlcontract.compile(contract, allow_paths=allow_path, allow_hosts=allow_host, allow_pickle=allow_pickle,
                                  paths=_input_paths(inputs), mlflow_uri=mlflow_uri, engine=engine,
                                  settings=_engine_settings(engine, spark_master, spark_remote, spark_conf))
    _started()
    if not compiled.checks:
        raise UsageError(f"{contract} has no checks: a gate that checks nothing would always pass")
    _import_in_background(*_report_modules(targets, quiet))
    # Plots are computed for the reports that show them, and for the results an MLflow run keeps.
    plots = recorder is not None or any(entry.plots and targets[name] is not None
                                        for name, entry in report_formats().items())
    with _one_blas_thread(not compiled.checked.models):
        result = compiled.run(progress=None if quiet else _progress(), fail_on=fail_on, plots=plots)
    write_reports(result, targets, ReportContext.of(result, compiled, contract, verbose=verbose, quiet=quiet))
    if recorder is not None:  # after the reports: a verdict that cannot be recorded fails the gate (MlcError: exit 1)
        sys.stderr.write(printable(recorder.record(result), MESSAGE_LIMIT) + "\n")
    raise typer.Exit(EXIT_PASS if result.passed else EXIT_FAIL)


app.command("check")(_with_report_options(check))


@app.command()
def lint(
    contracts: list[Path] = typer.Argument(..., metavar="FILE...", help="the .mlc contracts to compile"),
) -> None:
    """Compile contracts without running them: print their diagnostics; exit 2 when one is
    invalid (for editors and pre-commit hooks)."""
    import mlcontract

    invalid = 0
    for contract in contracts:
        try:
            mlcontract.compile(contract)
        except ContractError as error:
            sys.stderr.write(error.render() + "\n")
            invalid += 1
        except UsageError as error:
            sys.stderr.write(f"mlc: error: {printable(error, MESSAGE_LIMIT)}\n")
            invalid += 1
    if invalid:
        raise typer.Exit(EXIT_INVALID)


@app.command()
def plan(
    contract: Path = typer.Argument(..., help="the .mlc contract file"),
    as_json: bool = typer.Option(False, "--json", help="print the plan as JSON"),
    allow_path: list[Path] | None = ALLOW_PATH,
    allow_host: list[str] | None = ALLOW_HOST,
    allow_pickle: bool = ALLOW_PICKLE,
    mlflow_uri: str | None = MLFLOW_URI,
) -> None:
    """Print the execution plan: scans, columns, statistics and the checks each serves."""
    import mlcontract

    compiled = mlcontract.compile(contract, allow_paths=allow_path, allow_hosts=allow_host, allow_pickle=allow_pickle,
                                  mlflow_uri=mlflow_uri)
    sys.stdout.write(compiled.explain(as_json=as_json))


@app.command("profile")
def profile_command(
    inputs: list[str] = typer.Argument(..., metavar="DATA... | merge PROFILE...",
                                       help="a data file to profile, or `merge` followed by profiles"),
    output: Path | None = typer.Option(None, "--output", "-o", help="where to write the profile"),
    engine: str = ENGINE,
    spark_master: str | None = SPARK_MASTER,
    spark_remote: str | None = SPARK_REMOTE,
    spark_conf: list[str] | None = SPARK_CONF,
) -> None:
    """Save what contracts need of a dataset (`mlc profile prod.parquet -o prod.profile.json`),
    or merge profiles of parts of one dataset (`mlc profile merge a.json b.json -o all.json`)."""
    from .api import merge_profiles, profile

    _started()
    if inputs[0] == "merge":
        parts = inputs[1:]
        if len(parts) < 2 or output is None:
            raise UsageError("usage: mlc profile merge A.profile.json B.profile.json ... -o OUT.profile.json")
        from .output import check_target

        check_target(output, "-o")
        merge_profiles(parts, output)
        sys.stderr.write(f"merged {len(parts)} profiles into {printable(output)}\n")
        return
    if len(inputs) != 1:
        raise UsageError("mlc profile takes one data file (or `merge` and several profiles)")
    settings = _engine_settings(engine, spark_master, spark_remote, spark_conf)
    if output is None and "://" in inputs[0]:
        raise UsageError("profiling a URI needs -o: where to write the profile")
    target = output or Path(inputs[0]).with_suffix(".profile.json")
    from .output import check_target

    check_target(target, "-o")  # a wrong target fails now, not after profiling
    with _one_blas_thread(True):  # profiling reads data only
        done = profile(inputs[0], target, progress=_progress(), engine=engine, settings=settings)
    sys.stderr.write(f"profiled {done.rows:,} rows × {len(done.columns)} columns of {printable(inputs[0])} "
                     f"into {printable(target)}\n")


@app.command()
def suggest(
    data: Path = typer.Argument(..., help="the data to calibrate on (e.g. the training data)"),
    vs: Path | None = typer.Option(None, "--vs", metavar="PRODUCTION", help="data DATA is compared with"),
    model: Path | None = typer.Option(None, "--model", metavar="PATH", help="a model: adds metric checks"),
    holdout: Path | None = typer.Option(None, "--holdout", metavar="DATA", help="labelled data the model never saw"),
    label: str | None = typer.Option(None, "--label", help="the label column (default: the one DATA has and --vs lacks)"),
    ignore: list[str] | None = typer.Option(None, "--ignore", metavar="COLUMN", help="not a feature (repeatable)"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write the contract here (default: print it)"),
    splits: int = typer.Option(199, "--splits", help="random halves to calibrate drift thresholds on"),
    seed: int = typer.Option(0, "--seed", help="seed of the random halves"),
    allow_path: list[Path] | None = ALLOW_PATH,
    allow_pickle: bool = ALLOW_PICKLE,
) -> None:
    """Write a starter contract for DATA whose thresholds are calibrated on the data."""
    from .suggest import suggest as suggest_contract

    _started()
    if output is not None:
        from .output import check_target

        check_target(output, "-o")  # a wrong target fails now, not after the calibration
    made = suggest_contract(data, vs=vs, model=model, holdout=holdout, label=label, ignore=tuple(ignore or ()),
                            output=output, splits=splits, seed=seed, allow_paths=allow_path, allow_pickle=allow_pickle)
    from .report import emit

    emit(made.text, sys.stdout if output is None else output, "-o")
    where = "" if output is None else f" into {printable(output)}"
    broken = f"; {len(made.warned)} already broken today, written as `warn`" if made.warned else ""
    sys.stderr.write(f"suggested {made.checks} checks for {printable(data)}{where}{broken}; "
                     "the contract passes on the data it was suggested from\n")


@app.command()
def statistics() -> None:
    """List the statistics, metrics and robustness cases the language knows."""
    from .models.metrics import METRICS
    from .models.serving import ROBUSTNESS_CASES
    from .statistics import CATALOG

    console = _console()

    def line(text: str) -> None:
        console.print(text, markup=False)  # summaries contain [brackets]

    console.print("[bold]feature statistics[/bold]")
    for info in CATALOG.values():
        line(f"  {info.name:<18} {info.summary}")
    line("  pNN                any quantile, e.g. p95, p99.9")
    console.print("[bold]model metrics[/bold]")
    for metric in METRICS.values():
        line(f"  {metric.name:<18} {metric.summary}")
    console.print("[bold]robustness cases[/bold]")
    for case, summary in ROBUSTNESS_CASES.items():
        line(f"  {case:<18} {summary}")


def _progress():
    """A rich progress bar on stderr when it is a terminal (MLC_PROGRESS=1 forces it)."""
    if not (sys.stderr.isatty() or os.environ.get("MLC_PROGRESS")):
        return None
    from .progress import RichProgress

    return RichProgress()


def _report_modules(targets: dict, quiet: bool) -> list[str]:
    """What writing the reports will import: rich for the terminal's table (`--quiet`'s one line
    is written without it), pydantic for the formats that serialize the results as JSON."""
    modules = []
    if targets.get("terminal") is not None and not quiet:
        modules += ["rich.console", "rich.table"]
    if targets.get("json") is not None:
        modules.append("pydantic")
    return modules


def _import_in_background(*modules: str) -> None:
    """Import modules that are needed only once the checks ran (rich for the report, pydantic
    for the JSON results: ~0.05-0.1 s each) in a thread. The data work releases the GIL most
    of the time (Polars reads, the kernels), so they load in its shadow. A failure here is
    ignored: the regular import afterwards raises it."""
    if not modules:
        return
    import importlib
    import threading

    def load() -> None:
        for module in modules:
            try:
                importlib.import_module(module)
            except Exception:  # noqa: BLE001 - reported by the regular import
                return

    threading.Thread(target=load, name="mlc-imports", daemon=True).start()


def _engine_settings(engine: str, master: str | None, remote: str | None, conf: list[str] | None):
    """The engine's Settings from the --spark-* options (None when none is given); they are
    the Spark engine's, so with another engine they are a usage error."""
    given = {"master": master, "remote": remote, "conf": conf}
    if not any(v for v in given.values()):
        return None
    flag = next(f"--spark-{k}" for k, v in given.items() if v)
    if engine != "spark":
        raise UsageError(f"{flag} sets up the Spark engine: add --engine spark")
    if master and remote:
        raise UsageError("--spark-master and --spark-remote both say where Spark runs: give one")
    from .engines.base import Settings
    from .engines.spark import parse_conf

    options: dict[str, object] = {key: value for key, value in given.items() if value and key != "conf"}
    if conf:
        options["conf"] = parse_conf(conf)
    return Settings(options=options)


def _input_paths(inputs: list[str] | None) -> dict[str, str]:
    """`--input NAME=PATH` options → {NAME: PATH} (compile(paths=...))."""
    from .resolve.declarations import parse_input

    paths: dict[str, str] = {}
    for text in inputs or ():
        name, path = parse_input(text)
        if name in paths:
            raise UsageError(f"--input {name}=... is given twice")
        paths[name] = path
    return paths


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `mlc` command; returns the exit code instead of raising."""
    _escape_warnings()
    try:
        code = app(args=argv, standalone_mode=False)
        return code if isinstance(code, int) else EXIT_PASS
    except typer.Exit as done:
        return done.exit_code
    except ContractError as error:
        sys.stderr.write(error.render() + "\n")  # diagnostics.render escapes what it quotes
        return EXIT_INVALID
    except UsageError as error:
        sys.stderr.write(f"mlc: error: {printable(error, MESSAGE_LIMIT)}\n")
        return EXIT_INVALID
    except MlcError as error:
        sys.stderr.write(f"mlc: error: {printable(error, MESSAGE_LIMIT)}\n")
        return EXIT_FAIL
    except KeyboardInterrupt:
        sys.stderr.write("mlc: interrupted\n")
        return 130
    except Exception as error:  # the CLI library's own usage errors, and real bugs
        if _is_cli_usage_error(error):
            _show_usage_error(error)
            return EXIT_INVALID
        if type(error).__name__ == "Abort":
            return 130
        if os.environ.get("MLC_DEBUG"):
            raise
        sys.stderr.write(f"mlc: internal error: {type(error).__name__}: {printable(error, MESSAGE_LIMIT)}\n"
                         "(this is a bug in mlcontract; run with MLC_DEBUG=1 to see the traceback)\n")
        return EXIT_BUG
    except BaseException as error:  # a Rust panic of the data engine (pyo3's PanicException is no Exception)
        if type(error).__name__ != "PanicException":
            raise
        text = str(error).strip().splitlines()
        sys.stderr.write(f"mlc: error: the data engine failed: {text[0] if text else 'a panic'}\n")
        return EXIT_FAIL


def _escape_warnings() -> None:
    """Python warnings raised by libraries while data and models are handled may quote them:
    they are printed escaped, as one line each, like everything else."""
    import warnings

    if getattr(warnings.formatwarning, "mlc_escaped", False):
        return
    original = warnings.formatwarning

    def formatwarning(message, category, filename, lineno, line=None):
        return printable(original(message, category, filename, lineno, line).rstrip("\n"), MESSAGE_LIMIT) + "\n"

    formatwarning.mlc_escaped = True  # type: ignore[attr-defined]
    warnings.formatwarning = formatwarning


def _show_usage_error(error) -> None:
    """The CLI library's usage message, escaped: it quotes the arguments, which may be file
    names a pull request chose (`mlc check contracts/*.mlc`)."""
    import io

    shown = io.StringIO()
    error.show(file=shown)
    lines = shown.getvalue().rstrip("\n").split("\n")
    sys.stderr.write("".join(printable(line, MESSAGE_LIMIT) + "\n" for line in lines))


def _is_cli_usage_error(error: Exception) -> bool:
    # typer vendors click in recent versions, so match click's exception shape, not its class.
    return any(cls.__name__ == "ClickException" for cls in type(error).__mro__) and hasattr(error, "show")


def entry() -> None:  # pragma: no cover - console script shim
    # Start-up (imports, the CLI's own set-up, compiling the contract) allocates hundreds of
    # thousands of long-lived objects, and the cyclic garbage collector would walk them several
    # times to free nothing: ~50 ms of every `mlc check`. It is off until _started().
    gc.disable()
    sys.exit(main())


# What OpenBLAS reads when NumPy loads it (the first one set wins): a user's choice of any is kept.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


@contextmanager
def _one_blas_thread(narrow: bool) -> Iterator[None]:
    """For a run without models (`narrow`): NumPy's OpenBLAS loads with one thread, unless the
    user set its thread count. When NumPy loads it, OpenBLAS starts a thread per core that
    spins for a while and touches buffers it never uses: ~0.08 s of CPU on the cores the data
    is read and summarized on, for column statistics that call no BLAS routine (bench/README.md,
    issue 15). The variable is set for the run only; a process that loaded NumPy before keeps
    its threads, and one that loads it during the run keeps one thread (`mlc` is a process per
    run; main() called in-process shares the caller's NumPy)."""
    if not narrow or any(name in os.environ for name in BLAS_THREAD_VARIABLES):
        yield
        return
    os.environ[BLAS_THREAD_VARIABLES[0]] = "1"
    try:
        yield
    finally:
        os.environ.pop(BLAS_THREAD_VARIABLES[0], None)


def _started() -> None:
    """Start-up is over: its objects are frozen out of the collector's way and it is back on,
    for the data and model work (which may create reference cycles). A no-op when entry() did
    not switch it off (main() called in-process: the caller's objects are not ours to freeze)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


if __name__ == "__main__":  # pragma: no cover
    entry()
