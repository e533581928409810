"""What every source shares: the data engine's failures, a column's type, whether a path may be
read, resolving a contract's path, frames passed through the API. Light: Polars, pandas and the
standard library's stat are imported inside the functions."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..statistics.base import CATEGORICAL, NUMERIC, OTHER


def engine_failures() -> tuple[type[BaseException], ...]:
    """What the data engine raises: ordinary exceptions, and the Rust panics that pyo3 raises
    as PanicException — which derives from BaseException, so `except Exception` misses it.
    For `except engine_failures():` (evaluated only when something was raised)."""
    from polars.exceptions import PanicException

    return (Exception, PanicException)


def column_type(dtype: Any) -> str:
    """numeric | categorical | other, from a Polars dtype."""
    import polars as pl

    if dtype.is_numeric():
        return NUMERIC
    if dtype in (pl.String, pl.Categorical, pl.Boolean) or isinstance(dtype, (pl.Categorical, pl.Enum)):
        return CATEGORICAL
    return OTHER


# The values of each integer dtype; a decimal of scale 0 holds integers in 128 bits (its declared
# precision is no bound: a parquet writer may store 10**18 + 5 in a Decimal(18, 0)).
_INTEGER_RANGES = {f"{sign}Int{bits}": ((-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if sign == "" else (0, 2 ** bits - 1))
                   for sign in ("", "U") for bits in (8, 16, 32, 64, 128)}


def integer_bounds(dtype: Any) -> tuple[int, int] | None:
    """The smallest and largest value of an integer Polars dtype (a decimal of scale 0 is one,
    Int128's bounds); None for other dtypes."""
    if dtype.is_decimal() and dtype.scale == 0:
        return _INTEGER_RANGES["Int128"]
    return _INTEGER_RANGES.get(str(dtype))


def check_readable(path: Path, what: str, written: str | None = None, folders: bool = False) -> None:
    """Raise a DataError unless `path` is a regular file we may read (or, for parquet, a folder
    of parquet files). A FIFO would block forever; a folder given to csv() would be globbed and
    its files read as CSV text; /proc, /sys and /dev hold the machine's state, not data
    (grants.special_file). Whether a contract may read `path` at all (its repository, the
    working directory, the grants) was decided when it was compiled (resolve.declarations.confine)."""
    import stat

    from ..grants import special_file

    shown = written if written is not None else str(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise DataError(f"{what}: file not found: {shown}") from None
    except PermissionError:
        raise DataError(f"{what}: permission denied: {shown}") from None
    except OSError as error:
        raise DataError(f"{what}: cannot open {shown}: {error.strerror or error}") from None
    if stat.S_ISDIR(mode):
        if folders:
            return
        raise DataError(f"{what}: {shown} is a folder; give the path of a file")
    if not stat.S_ISREG(mode):
        raise DataError(f"{what}: {shown} is not a regular file")
    special = special_file(path)
    if special:
        raise DataError(f"{what}: refused to read {shown}: {special}")
    if not os.access(path, os.R_OK):
        raise DataError(f"{what}: permission denied: {shown}")


def is_file(path: Path | None) -> bool:
    try:
        return path is not None and path.is_file()
    except OSError:
        return False


def resolve_path(base_dir: Path, text: str) -> Path:
    path = Path(text)
    try:
        path = path.expanduser()
    except RuntimeError:  # `~user` of an unknown user: leave it; reading it reports "not found"
        pass
    return path if path.is_absolute() else (base_dir / path)


def as_polars(frame: Any, name: str):
    """Accept a Polars DataFrame/LazyFrame or a pandas DataFrame passed through the API."""
    import polars as pl

    if isinstance(frame, pl.LazyFrame):
        try:
            return frame.collect()
        except engine_failures() as error:
            raise DataError(f"dataset `{name}`: the LazyFrame passed in fails: {first_line(error)}") from error
    if isinstance(frame, pl.DataFrame):
        return frame
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(frame, pd.DataFrame):
        repeated = frame.columns[frame.columns.duplicated()]
        if len(repeated):
            raise DataError(f"dataset `{name}`: the pandas frame has the column `{repeated[0]}` more than once; "
                            "give each column its own name")
        try:
            return pl.from_pandas(frame)
        except engine_failures() as error:
            raise DataError(f"dataset `{name}`: cannot convert the pandas frame: {first_line(error)}") from error
    raise DataError(f"dataset `{name}`: expected a pandas or Polars DataFrame, got {type(frame).__name__}")


def first_line(error: BaseException) -> str:
    """The first line of an error's message (engines put a backtrace under it)."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def model_file(name: str, location: str, kind: str) -> Path:
    """The file of model `name`, declared as the model kind `kind`; a ModelError when there is
    none, or when its first bytes show another kind's file (sources/sniff.py: before anything
    loads it, so no consent is asked for a file that is no pickle)."""
    from ..errors import ModelError
    from ..escape import printable
    from .sniff import other_format

    path = Path(location)
    mismatch = other_format(name, path, kind)
    if mismatch:
        raise ModelError(mismatch)
    if not path.is_file():
        raise ModelError(f"model `{name}`: file not found: {printable(path)}")
    return path
