"""Spark sessions for the Spark engine: started once per (master, remote, settings) in this
process, or given by the caller; and Spark's failures as one escaped line."""
from __future__ import annotations

import re
from typing import Any

from ...errors import UsageError
from ...escape import printable

# Spark Connect: how often to retry reaching the server before the run is an error (the client's
# default retries for ten minutes).
CONNECT_RETRIES = 4


class SparkUnavailable(UsageError):
    """Spark cannot be started or reached (pyspark missing, no Java, cluster unreachable)."""


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
