"""Reading datasets with Spark: paths and URIs, catalog tables, frames passed through the API;
Spark's types under the local engine's names (docs/spark.md, "Datasets, URIs and tables")."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...errors import CheckError, DataError
from ...escape import printable
from ...sources import holds_summaries
from .session import describe_error, is_spark_frame
from .sql import NumericColumn, ident

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_INDEX = re.compile(r"__index_level_\d+__")


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
    from ...statistics.base import CATEGORICAL, NUMERIC, OTHER

    name = type(spark_type).__name__
    return NUMERIC if name in _NUMERIC else CATEGORICAL if name in _CATEGORICAL else OTHER


_INTEGER_LIMITS = {"ByteType": (-(2 ** 7), 2 ** 7 - 1), "ShortType": (-(2 ** 15), 2 ** 15 - 1),
                   "IntegerType": (-(2 ** 31), 2 ** 31 - 1), "LongType": (-(2 ** 63), 2 ** 63 - 1)}


def integer_limits(spark_type) -> tuple[int, int] | None:
    """The smallest and largest value of an integer Spark type (a DECIMAL(p, 0): ±(10**p - 1),
    its precision, which Spark enforces); None for other types."""
    name = type(spark_type).__name__
    if name == "DecimalType":
        return (-(10 ** spark_type.precision - 1), 10 ** spark_type.precision - 1) if spark_type.scale == 0 else None
    return _INTEGER_LIMITS.get(name)


def numeric_column(sql: str, spark_type, where: str | None = None) -> NumericColumn:
    """How the SQL reads a numeric column: `sql` its expression, `where` the relation's rows."""
    kind = type(spark_type).__name__
    # A decimal of scale 0 is an integer type (columns.integer_range): exact extremes and bounds.
    integer = integer_limits(spark_type) is not None
    return NumericColumn(sql, floating=kind in ("FloatType", "DoubleType"), integer=integer,
                         is_double=kind == "DoubleType", where=where)


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
    kind = source.format
    if holds_summaries(source):
        raise DataError(f"{what} is a profile: it has no rows to scan")
    if kind == "ipc":
        raise DataError(f"{what}: the Spark engine cannot read Arrow IPC (Feather) files, Spark has no reader for "
                        "them; store the data as parquet, or run it on the local engine")
    if kind not in ("parquet", "csv", "ndjson", "table"):
        raise DataError(f"{what}: the Spark engine cannot read {printable(kind, 40)} datasets")
    shown = printable(table_name(source) if kind == "table" else (source.written or source.path), 200)
    if kind != "table" and not _URI.match(source.written or "") and source.path is not None:
        from ...sources.files import check_readable

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
        frame.schema  # noqa: B018 - Spark Connect reads lazily: a missing table fails here, not later
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
    return frame.selectExpr(*[f"CAST({ident(f.name)} AS BIGINT) AS {ident(f.name)}"
                              if type(f.dataType).__name__ == "IntegerType" else ident(f.name) for f in fields])


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
    if source is not None and source.format == "parquet" and source.path is not None and not _URI.match(source.written or ""):
        from ...sources import schema_of

        try:
            found = [c for c in schema_of(source).index if c in frame.columns]
        except CheckError:  # metadata that cannot be read locally: only pandas' reserved names
            found = []
    return tuple(found + [c for c in frame.columns if _INDEX.fullmatch(c) and c not in found])



def source_of(data, name: str | None):
    """A DatasetSource for a path or URI given to `mlc profile`."""
    from ...resolve.contract import DatasetSource
    from ...sources import format_of_path

    text = str(data)
    if _URI.match(text):
        stem = Path(text.rstrip("/").rsplit("/", 1)[-1])
        kind = format_of_path(stem) if stem.suffix else "parquet"  # a folder of parquet files
        return DatasetSource(name or stem.stem, kind, None, written=text)
    path = Path(text)
    kind = "parquet" if path.is_dir() else format_of_path(path)
    return DatasetSource(name or path.stem, kind, path.resolve(), written=text)
