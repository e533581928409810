"""Spark sessions for the Spark engine: started once per (master, remote, settings) in this
process, or given by the caller; and Spark's failures as one escaped line."""
from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

from ...errors import UsageError
from ...escape import printable

# pyspark warns, the first time one of its modules imports its test helpers, that it does not
# fully support the installed pandas: words about pyspark's own tests, not the report's.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

# Spark Connect: how often to retry reaching the server before the run is an error (the client's
# default retries for ten minutes).
CONNECT_RETRIES = 4


class SparkUnavailable(UsageError):
    """Spark cannot be started or reached (pyspark missing, no Java, cluster unreachable)."""


def describe_error(error: BaseException) -> str:
    """One escaped line for a Spark failure: its most telling message, without the JVM or
    server stack trace that py4j and Spark Connect append. Spark wraps a failed job's error
    ("Exception thrown in awaitResult") and the reader's cause ("… is not a Parquet file"): the
    line is the first message with an error class ([FAILED_READ_FILE…]), else the first one,
    followed by the deepest cause when that says something else."""
    text = str(error).strip()
    details = re.search(r'details = "([^"]*)"', text)  # a raw gRPC error
    if details:
        return printable(_tidy(details.group(1)), 300)
    messages = [_tidy(m) for m in _messages(text)]
    messages = [m for m in messages if m and not _WRAPPER.search(m)] or messages
    if not messages:
        return printable(type(error).__name__, 300)
    line = next((m for m in messages if _ERROR_CLASS.search(m)), messages[0])
    cause = messages[-1]
    if cause != line and cause not in line:
        line = f"{line} (caused by: {cause})"
    return printable(line, 300)


_ERROR_CLASS = re.compile(r"\[[A-Z][A-Z0-9_]*(\.[A-Z0-9_]+)*\]")
_WRAPPER = re.compile(r"^(Exception thrown in awaitResult:?|Job aborted due to stage failure.*)$")
_JAVA_CLASS = re.compile(r"^(?:Caused by:\s*)?:?\s*(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)\s*:?\s*")


def _messages(text: str) -> list[str]:
    """The messages of an error and its causes: the first line and each `Caused by:` line,
    without py4j's "An error occurred while calling …" and the stack frames."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("An error occurred while calling")]
    found = lines[:1]
    found += [line for line in lines[1:] if line.startswith("Caused by:")]
    return found


def _tidy(message: str) -> str:
    """A message without its Java exception class and Spark's SQLSTATE suffix."""
    message = _JAVA_CLASS.sub("", message.lstrip(": ").strip())
    return re.sub(r"\s*SQLSTATE: \w+\s*$", "", message).strip()


# ---- sessions -------------------------------------------------------------------------------------------
# Sessions this process started, by (master, remote, conf): compiling a contract (its schemas)
# and running it share one.
_SESSIONS: dict[tuple, Any] = {}


def start_session(master: str | None = None, remote: str | None = None, conf: dict[str, str] | None = None):
    """A Spark session: Spark Connect at `remote` (sc://HOST:PORT), else a classic session with
    `master` (default local[*]); `conf` are spark.* settings. SparkUnavailable when it cannot.
    One per (master, remote, conf) in this process."""
    key = (master, remote, tuple(sorted((conf or {}).items())))
    if key not in _SESSIONS:
        _SESSIONS[key] = _start_session(master, remote, conf)
    return _SESSIONS[key]


def _start_session(master: str | None, remote: str | None, conf: dict[str, str] | None):
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable("the Spark engine needs pyspark: pip install 'mlcontract[spark]'") from None
    settings = dict(conf or {})
    where = f"Spark Connect at {printable(remote, 120)}" if remote else f"Spark ({printable(master or 'local[*]', 120)})"
    if remote:
        _probe(remote, where)
    quiet = False
    try:
        if remote:
            builder = SparkSession.builder.remote(remote)
        else:
            builder = SparkSession.builder.master(master or "local[*]")
            settings.setdefault("spark.ui.showConsoleProgress", "false")
            quiet = _quiet_driver(settings)
        builder = builder.appName("mlcontract")
        for key, value in settings.items():
            builder = builder.config(key, value)
        # A Connect session of its own (getOrCreate could hand back another server's session).
        session = builder.create() if remote else builder.getOrCreate()
    except Exception as error:  # noqa: BLE001 - no Java, a bad master URL, a refused setting
        raise SparkUnavailable(f"cannot start {where}: {describe_error(error)}") from None
    if not remote and hasattr(session, "sparkContext") and quiet:
        session.sparkContext.setLogLevel("OFF")  # a session started before: its JVM kept its own logging
    return session


def _quiet_driver(settings: dict[str, str]) -> bool:
    """Start the driver's JVM with log4j2.properties (no log lines: Spark's errors are reported,
    escaped, as the checks' errors), unless MLC_DEBUG is set or the settings choose their own
    log4j configuration. Java takes the last of repeated -D options: the settings' own win."""
    options = settings.get("spark.driver.extraJavaOptions", "")
    if os.environ.get("MLC_DEBUG") or "log4j" in options:
        return False
    config = str(Path(__file__).with_name("log4j2.properties"))
    flag = f"-Dlog4j2.configurationFile={config}"
    settings["spark.driver.extraJavaOptions"] = (f'"{flag}"' if " " in flag else flag) + (f" {options}" if options else "")
    return True


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
