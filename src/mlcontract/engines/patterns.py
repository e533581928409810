"""Value tests of string columns (issue 13): `matches "REGEX"` and the named formats of
`is FORMAT`, each a Polars expression over the column (no text of the contract is evaluated;
a regex is Rust-regex syntax, compiled by Polars and checked when the contract is compiled).

The named formats, as docs/language.md defines them:
- `uuid`: 8-4-4-4-12 hexadecimal digits (either case), hyphenated, nothing around them.
- `email`: one `@`, something without spaces or `@` on each side, a dot in the domain part.
- `integer`, `number`: what Polars parses as an Int64 / a Float64 (`str.to_integer`, `cast`).
- `date "FORMAT"`, `datetime "FORMAT"`: what Polars' strptime parses with that format
  (chrono's directives: `%Y-%m-%d`, `%d/%m/%Y %H:%M`, ...); the format defaults to ISO 8601.
- `json`: a complete JSON document (Python's json.loads), checked once per distinct value.
"""
from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..plan.values import PassCounts

FORMATS = ("uuid", "email", "integer", "number", "date", "datetime", "json")
FORMATS_WITH_ARGUMENT = ("date", "datetime")
UUID = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MAX_PATTERN = 1_000  # characters of a regex; Polars also bounds its compiled size (10 MiB)


@functools.lru_cache(maxsize=4096)
def regex_problem(pattern: str) -> str | None:
    """Why Polars cannot use `pattern` as a regex (None: it can), found by compiling it."""
    import polars as pl

    if len(pattern) > MAX_PATTERN:
        return f"this regex has {len(pattern):,} characters; the limit is {MAX_PATTERN:,}"
    try:
        pl.Series([""]).str.contains(pattern)  # eager: ~1 ms, where a lazy select costs ~4 ms
    except pl.exceptions.PolarsError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        detail = next((line for line in lines if line.startswith("error:")), lines[0] if lines else "invalid")
        return f"invalid regex: {detail.removeprefix('error:').strip()}"
    return None


def pass_counts(series: Any, test: tuple) -> PassCounts:
    """The present (non-null) values of a string column that pass `test`, and a few that fail."""
    import polars as pl

    from ..plan.values import PassCounts  # NumPy: not when a contract is compiled

    if series.dtype == pl.Categorical or isinstance(series.dtype, pl.Enum):
        series = series.cast(pl.String)
    if series.dtype != pl.String:
        from ..errors import DataError

        raise DataError(f"column `{series.name}` is {series.dtype}, not a string column")
    present = series.drop_nulls()
    if test[0] == "matches":
        passed = present.str.contains(test[1])
    else:
        passed = _format(present, test[1], test[2])
    failing = present.filter(~passed)
    return PassCounts(int(passed.sum()), present.len(), tuple(failing.head(PassCounts.EXAMPLES).to_list()))


def _format(values: Any, name: str, argument: str) -> Any:
    import polars as pl

    if name == "uuid":
        return values.str.contains(UUID)
    if name == "email":
        return values.str.contains(EMAIL)
    if name == "integer":
        return values.str.to_integer(strict=False).is_not_null()
    if name == "number":
        return values.cast(pl.Float64, strict=False).is_not_null()
    if name in ("date", "datetime"):
        dtype = pl.Date if name == "date" else pl.Datetime("us")
        return values.str.strptime(dtype, argument or None, strict=False).is_not_null()
    if name == "json":
        distinct = values.unique()
        valid = {value for value in distinct.to_list() if _is_json(value)}
        return values.is_in(pl.Series(list(valid), dtype=pl.String).implode())
    raise ValueError(f"unknown format {name!r}")  # pragma: no cover - the resolver allows FORMATS only


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True
