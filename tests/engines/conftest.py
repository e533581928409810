"""Spark sessions for the Spark engine's tests: one Spark Connect session and one classic
session, shared by the whole test run (starting Spark costs ~10-40 s).

Both live in this process: `SparkSession.builder.remote("local[2]")` starts a local Spark
Connect server inside a classic session (pyspark's `_start_connect_server`), which is the
classic session the tests use. pyspark then considers the process a Connect one
(SPARK_CONNECT_MODE_ENABLED), which is why the engine builds SQL text and never uses
`pyspark.sql.functions` (see engines/spark.py)."""
from __future__ import annotations

import os
import shutil
import warnings

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "spark: needs pyspark and Java (a local Spark and a local Spark Connect server)")


def pytest_collection_modifyitems(config, items):
    """A test that uses the Spark sessions is a `spark` test and a `slow` one (the fast inner
    loop, `-m "not slow"`, never starts Spark; CI runs them all)."""
    for item in items:
        if "spark_sessions" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def spark_sessions():
    """{"classic": session, "connect": session}. Without Java or pyspark the Spark tests are
    skipped on a developer's machine and fail in CI (.ci/run installs both)."""
    if not os.environ.get("CI"):
        if shutil.which("java") is None:
            pytest.skip("the Spark tests need Java 17+ (java is not on PATH)")
        pytest.importorskip("pyspark")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    warnings.filterwarnings("ignore", message=".*pandas >= 3.0.0.*")
    from pyspark.sql import SparkSession

    connect = (SparkSession.builder.remote("local[2]")
               .config("spark.sql.shuffle.partitions", "4")
               .getOrCreate())
    classic = SparkSession._instantiatedSession  # the classic session the Connect server runs in
    classic.sparkContext.setLogLevel("ERROR")
    classic.conf.set("spark.sql.shuffle.partitions", "4")
    yield {"classic": classic, "connect": connect}
    connect.stop()
    classic.stop()


@pytest.fixture(scope="module", params=["classic", "connect"])
def spark(request, spark_sessions):
    """Each test that takes it runs on both kinds of session."""
    return spark_sessions[request.param]


@pytest.fixture
def classic(spark_sessions):
    return spark_sessions["classic"]


@pytest.fixture
def tiny(monkeypatch):
    """The engine's bounds shrunk so that small data goes through every branch: buckets split
    over several rounds, values gathered in pieces, KS/Wasserstein walked by Spark."""
    from mlcontract.engines import spark as sp
    from mlcontract.engines import spark as sq

    monkeypatch.setattr(sq, "GATHER_MAX", 1_000)
    monkeypatch.setattr(sq, "GATHER_BUDGET", 8_000)
    monkeypatch.setattr(sq, "MIN_BUCKETS", 4)
    monkeypatch.setattr(sq, "MAX_BUCKETS", 128)
    monkeypatch.setattr(sq, "WALK_BUCKETS", 16)
    monkeypatch.setattr(sp, "WALK_COLLECT", 0)
