"""The Spark engine ("spark" in engines.ENGINES): the same plan, computed by Apache Spark (docs/spark.md).

`SparkBackend(settings, progress)` computes a plan's data requests with Spark SQL (aggregates,
GROUP BY, GROUPING SETS, window functions; no Python on the executors), on a classic session or
over Spark Connect, with the numbers of the local engine:

- counts, rates, min/max (an integer column's extremes exact, also beyond 2**53), quantiles and
  quantile bin edges and histogram counts, KS D: equal to the local engine's, bit for bit;
- mean and m2 from exact sums, so mean/std agree to ~1e-15 relative; W1 within 2e-15.

The driver holds what a scan returns, never the rows: one row of aggregates, value counts of
columns with at most MAX_COUNTED_KEYS distinct values, the buckets that matter and the values of
the few buckets holding wanted order statistics. Spark's failures become CheckErrors with one
escaped line, never a JVM stack trace.

The modules, from the SQL up:
- sql.py: identifiers, exact literals, how a numeric column is read, exact sums, running queries;
- session.py: sessions (classic, Connect) and Spark's errors as one line;
- reading.py: datasets (paths, URIs, tables, frames) and Spark's types under Polars' names;
- relations.py: a dataset or a view (`where`, `length`, `missing`) as SQL over its root's frame;
- buckets.py: order statistics, exact moments and KS/Wasserstein walks by bucket rounds;
- scan.py: one scan's requests in a fixed number of queries;
- backend.py: SparkBackend (scans, profile scans, model work on the driver);
- profile.py: `mlc profile --engine spark`.
"""
from __future__ import annotations

from .backend import MAX_COLLECT_ROWS, SETTINGS, SparkBackend
from .reading import dtype_name, frame_schema
from .scan import SparkSample
from .session import CONNECT_RETRIES, SparkUnavailable, describe_error, is_spark_frame, parse_conf, start_session

__all__ = ["CONNECT_RETRIES", "MAX_COLLECT_ROWS", "SETTINGS", "SparkBackend", "SparkSample", "SparkUnavailable",
           "describe_error", "dtype_name", "frame_schema", "is_spark_frame", "parse_conf", "start_session"]
