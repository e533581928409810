"""`table("catalog.schema.name")`: a catalog table (Unity Catalog, a Hive metastore, Iceberg,
Delta — what the Spark session's catalog knows), read by the Spark engine (docs/spark.md).

The Spark engine reads its schema and its rows itself (`engines.spark.SparkBackend.schema_of`,
`read_source`); on the local engine such a declaration is a compile-time diagnostic that names
`--engine spark` (resolve/declarations.py), so these are reached only through a path that
bypasses it, and fail closed."""
from __future__ import annotations

from .base import SourceKind


def _refuse(source):
    from ..errors import DataError

    raise DataError(f"dataset `{source.name}` is the catalog table {source.written}: only the Spark engine reads "
                    "tables; run with `--engine spark`")


KINDS = (
    SourceKind("table", "dataset", summary="a catalog table, read by the Spark engine (--engine spark)",
               example="main.sales.orders", rank=60, open=_refuse, schema=_refuse),
)
