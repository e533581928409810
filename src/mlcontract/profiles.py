"""Profiles: what contracts need of a dataset, without its rows.

`mlc profile DATA -o prod.profile.json` stores per column: the schema, counts (rows, nulls,
NaN, ±inf), the kernel summary (min, max, mean, variance — mergeable; an integer column's min
and max as exact ints), for categorical columns the count of every category, and for numeric
columns either
- the sorted finite values themselves, when there are at most GRID (2520) of them: such a
  column serves every statistic exactly, and merging such columns is exact; or
- the quantiles at every multiple of 1/2520 and the exact counts between consecutive distinct
  quantiles (the "grid").
A contract then declares `dataset production = profile("prod.profile.json")`.

Exactness (docs/profiles.md): with a profile as the `vs` reference, psi/js/hellinger/kl/linf/
chi2_pvalue use the profile's own quantile edges and exact counts, so they equal the raw-data
values (for `bins` dividing 2520: 2–10, 12, 14, 15, 18, 20, …). null_rate, mean, std, min,
max, rows, schema, unseen_rate and categorical statistics are exact. ks, ks_pvalue,
wasserstein and wasserstein_norm treat the 2521 quantiles as the reference sample: documented
approximations, |ΔD| ≤ 1/2520 + (1 + r)/n and |ΔW| ≤ (max − min)·(1/2520 + (1 + r)/n), where r
is the column's `rank_error`: 0 for a profile of raw rows, and for a merged grid the bound on
how far its counts below any point can be from the raw data's (_merge_distributions). Anything
else a profile cannot serve is a compile-time diagnostic.

A profile file is untrusted input: load_profile checks every count, sum, order and number
(_check_profile) and turns anything else into a DataError naming the file and the field.
"""
from __future__ import annotations

import datetime as _dt
import itertools
import json
import math
import operator
import sys
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .errors import CheckError, DataError
from .statistics.base import CATEGORICAL, NUMERIC
from .statistics.formulas import (
    interpolate,
    quantile_positions,
    sorted_quantiles,
)

FORMAT = "mlcontract-profile"
VERSION = 2  # 2: small columns keep their values, merged grids carry their rank_error
READABLE_VERSIONS = (1, 2)  # version 1 keeps a grid for every column, which version 2 reads as is
GRID = 2520  # divisible by 1…10, 12, 14, 15, 18, 20, 21, 24, 28, 30, …: the usual bin counts are exact


class ProfileSample(np.ndarray):
    """The quantile grid standing in for a profiled sample in KS / Wasserstein, carrying how
    many values it represents (for the KS p-value)."""

    represented: int

    @staticmethod
    def of(grid: np.ndarray, represented: int) -> ProfileSample:
        sample = np.asarray(grid, dtype=np.float64).view(ProfileSample)
        sample.represented = int(represented)
        return sample

    def __array_finalize__(self, obj):
        self.represented = getattr(obj, "represented", len(self) if self.ndim else 0)


@dataclass
class ColumnProfile:
    kind: str
    dtype: str
    rows: int
    nulls: int
    summary: dict | None = None  # NumericSummary.to_dict()
    values: list[float] | None = None  # the sorted finite values, when at most GRID (numeric)
    quantiles: list[float] | None = None  # GRID + 1 values (numeric, more than GRID finite values)
    edges: list[float] | None = None  # unique inner quantiles: the fine bin edges
    counts: list[int] | None = None  # finite values per fine bin
    rank_error: int | None = None  # merged grid: how far its counts below a point may be off
    categories: list[list] | None = None  # [[value, count], ...] (categorical)

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @property
    def error(self) -> int:
        return self.rank_error or 0

    @property
    def numeric_summary(self) -> dict:
        """The summary of a numeric column, which every numeric column has (load_profile checks it)."""
        assert self.summary is not None, "a numeric column without its summary"
        return self.summary


@dataclass
class Profile:
    name: str
    rows: int
    columns: dict[str, ColumnProfile]
    exact: bool = True
    source: str | None = None
    created: str | None = None
    parts: int = 1
    path: Path | None = field(default=None, compare=False)
    version: int = field(default=VERSION, compare=False)  # the format version it was read from

    @property
    def schema(self) -> dict[str, tuple[str, str]]:
        return {name: (c.kind, c.dtype) for name, c in self.columns.items()}

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "grid": GRID,
            "source": self.source,
            "created": self.created,
            "parts": self.parts,
            "exact": self.exact,
            "rows": self.rows,
            "columns": {name: c.to_json() for name, c in self.columns.items()},
        }


def coarse_counts(fine_edges: np.ndarray, fine_counts: np.ndarray, coarse_edges: np.ndarray) -> np.ndarray:
    """Counts on coarse edges that are a subset of the fine edges: each fine bin [f_j-1, f_j)
    lies inside exactly one coarse bin, found by its left edge."""
    left = np.concatenate([[-np.inf], fine_edges])
    which = np.searchsorted(coarse_edges, left, side="right")
    return np.bincount(which, weights=fine_counts, minlength=len(coarse_edges) + 1).astype(np.int64)


# ---- building ---------------------------------------------------------------------------------
def profile_frame(lazy, name: str, source: str | None = None, progress=None) -> Profile:
    """Profile a Polars LazyFrame column by column (one column in memory at a time)."""
    from .sources.files import column_type, engine_failures

    columns: dict[str, ColumnProfile] = {}
    rows = None
    try:
        schema = lazy.collect_schema()
        if progress:
            progress.start(f"profiling {name}", len(schema))
        for column, dtype in schema.items():
            series = lazy.select(column).collect().to_series()
            rows = series.len()
            columns[column] = profile_column(series, column_type(dtype), str(dtype))
            if progress:
                progress.advance(1)
    except CheckError:
        raise
    except engine_failures() as error:  # polars raises many kinds of errors for unreadable data, and panics
        text = str(error).strip().splitlines()
        raise DataError(f"cannot profile {source or name}: {text[0] if text else type(error).__name__}") from error
    finally:
        if progress:
            progress.finish()
    if rows is None:
        import polars as pl

        rows = int(lazy.select(pl.len()).collect().item())
    return Profile(name, int(rows), columns, True, source, _now())


def profile_column(series, kind: str, dtype: str) -> ColumnProfile:
    from .engines import columns as col

    rows = series.len()
    if kind == NUMERIC:
        summary = col.summarize(series)
        profile = ColumnProfile(kind, dtype, rows, summary.nulls + summary.nans, summary=_summary_to_json(summary.to_dict()))
        values = col.finite_values(series)
        if values.size:
            values.sort()
            _lay_out(profile, values)
        return profile
    counts = col.value_counts(series)
    categories = [[_json_key(k), int(n)] for k, n in zip(counts.keys.tolist(), counts.counts.tolist())]
    return ColumnProfile(kind, dtype, rows, counts.nulls, categories=categories if kind == CATEGORICAL else None)


def _lay_out(column: ColumnProfile, values: np.ndarray) -> None:
    """Store a column's sorted finite values: themselves when at most GRID (every statistic
    exact, merging exact), else the quantile grid and the exact counts between its points."""
    if values.size <= GRID:
        column.values = values.tolist()
        return
    from ._kernels import searchsorted_counts

    grid = sorted_quantiles(values, np.arange(GRID + 1) / GRID)
    edges = np.unique(grid[1:GRID])
    column.quantiles, column.edges = grid.tolist(), edges.tolist()
    column.counts = searchsorted_counts(values, edges).tolist()


# ---- merging ------------------------------------------------------------------------------------
def merge_profiles(profiles: list[Profile], name: str = "merged") -> Profile:
    """Add profiles of parts of one dataset (chunks, partitions, days). Counts add up exactly;
    columns whose parts all kept their values merge exactly; others get an interpolated grid
    whose error bound is recorded (rank_error, _merge_distributions)."""
    if not profiles:
        raise DataError("nothing to merge")
    first = profiles[0]
    for other in profiles[1:]:
        if other.schema != first.schema:
            raise DataError(f"cannot merge profiles with different schemas: {first.name} and {other.name}")
    for part in profiles:
        if part.version < 2 and not part.exact:
            raise DataError(f"{part.name} is a merged profile of format version {part.version}, which does not "
                            f"record its accuracy; merge its original parts again with this mlcontract")
    if len(profiles) == 1:
        return first
    columns = {column: _merge_column([p.columns[column] for p in profiles]) for column in first.columns}
    return Profile(name, sum(p.rows for p in profiles), columns, all(c.error == 0 for c in columns.values()),
                   ", ".join(p.source or p.name for p in profiles), _now(), sum(p.parts for p in profiles))


def _merge_column(parts: list[ColumnProfile]) -> ColumnProfile:
    head = parts[0]
    merged = ColumnProfile(head.kind, head.dtype, sum(p.rows for p in parts), sum(p.nulls for p in parts))
    if head.kind == NUMERIC:
        from ._kernels import NumericSummary

        state = NumericSummary.empty()
        for part in parts:
            state = state.merge(NumericSummary.from_dict(_summary_from_json(part.numeric_summary)))
        merged.summary = _summary_to_json(state.to_dict())
        with_values = [p for p in parts if p.numeric_summary["count"]]
        if all(p.values is not None for p in with_values):
            if with_values:  # every part kept its values: the merged column is exact
                _lay_out(merged, np.sort(np.concatenate([np.asarray(p.values, dtype=np.float64) for p in with_values])))
        else:
            merged.quantiles, merged.edges, merged.counts, merged.rank_error = _merge_distributions(with_values)
    elif head.categories is not None:
        totals: dict = {}
        for part in parts:
            for key, count in part.categories or ():  # load_profile checked every categorical part has them
                marker = json.dumps(key)
                totals[marker] = totals.get(marker, 0) + count
        merged.categories = sorted(([json.loads(k), n] for k, n in totals.items()), key=lambda kv: -kv[1])
    return merged


class _PartDistribution:
    """What a part says of its finite values: how many lie below / at or below any x.

    A part that kept its values knows both exactly. A grid part knows the count below each of
    its fine edges exactly (up to its own rank_error). Inside a fine bin [e_j, e_j+1) holding
    c_j values it cannot tell where they lie, but its quantiles bound how many lie beyond the
    bin's left end: strictly between two consecutive quantiles q_k < q_k+1 (numpy's linear
    interpolation at positions k·(n−1)/2520) lie at most ceil((n−1)/2520) values, one more with
    the max (`step`). So a bin of more than `step` values holds at least c_j − step copies of
    its left end: a tied value (an age of 40). Such a bin is put on its left end whole, so the
    merged quantiles land on the tied value as the raw ones do; a bin of at most `step` values
    is spread evenly up to the next edge (the first bin starts at the min, the last ends at the
    max). Its answers are then off by at most min(c_j, step) (`error`). A merged grid part's
    quantiles carry no such guarantee: its answers are within its largest c_j plus its own
    rank_error."""

    def __init__(self, part: ColumnProfile):
        summary = _summary_from_json(part.numeric_summary)
        self.n = int(summary["count"])
        self.low, self.high = float(summary["min"]), float(summary["max"])
        self.values: np.ndarray | None
        if part.values is not None:
            self.values = np.asarray(part.values, dtype=np.float64)
            self.knots, self.error = self.values, 0
            return
        self.values = None
        low, high = self.low, self.high
        edges, counts = np.asarray(part.edges, dtype=np.float64), np.asarray(part.counts, dtype=np.int64)
        left = np.concatenate([[low], edges])  # each bin's left end
        right = np.concatenate([edges, [high]])
        below = np.concatenate([[0], np.cumsum(counts)[:-1]])
        step = -(-(self.n - 1) // GRID) + 1
        on_left = np.where((right > left) & (counts <= step), 0, counts)
        # the curve through (left_j, below_j), (left_j, below_j + on_left_j), ..., (max, n): a
        # vertical step at a repeated x (values at that point), linear in between
        self.xs = np.append(np.repeat(left, 2), high)
        self.ys = np.append(np.column_stack([below, below + on_left]).ravel(), self.n).astype(np.float64)
        self.knots = np.unique(self.xs)
        if part.error:
            self.error = int(counts.max()) + part.error
        else:
            self.error = int(np.minimum(counts, step).max())

    def count_below(self, x: np.ndarray) -> np.ndarray:
        if self.values is not None:
            return np.searchsorted(self.values, x, side="left").astype(np.float64)
        return self._curve(x, "left")

    def count_at_or_below(self, x: np.ndarray) -> np.ndarray:
        if self.values is not None:
            return np.searchsorted(self.values, x, side="right").astype(np.float64)
        return self._curve(x, "right")

    def _curve(self, x: np.ndarray, side: Literal["left", "right"]) -> np.ndarray:
        """The curve at x: at a step, its lower end (side "left": below x) or its upper end
        ("right": at or below x); 0 before the first knot and n after the last."""
        xs, ys = self.xs, self.ys
        x = np.asarray(x, dtype=np.float64)
        index = np.searchsorted(xs, x, side=side)
        upper = np.minimum(index, len(xs) - 1)
        lower = np.maximum(index - 1, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            between = ys[lower] + (ys[upper] - ys[lower]) * (x - xs[lower]) / (xs[upper] - xs[lower])
        at = xs[upper] == x if side == "left" else xs[lower] == x
        value = np.where(at, ys[upper] if side == "left" else ys[lower], between)
        return np.where(x < xs[0], 0.0, np.where(x > xs[-1], float(self.n), value))


def _merge_distributions(parts: list[ColumnProfile]):
    """The merged quantile grid and fine counts of parts some of which keep only a grid.

    The parts' counts below / at or below every knot (their values, edges, min and max) add up
    to a non-decreasing curve of the merged data, linear between knots; its virtual order
    statistics x_(i) = inf{x : count at or below x > i} give the quantiles at k/2520 (numpy's
    linear interpolation, as for raw data), and the counts below the merged edges, summed over
    the parts and rounded once, the fine counts (the total stays exact). The rank_error r is the
    sum of the parts' errors: every count below (or at or below) any x this profile implies,
    its fine counts included, is within r of the raw data's."""
    pieces = [_PartDistribution(p) for p in parts]
    n = sum(p.n for p in pieces)
    knots = np.unique(np.concatenate([p.knots for p in pieces]))
    below = sum(p.count_below(knots) for p in pieces)
    at_or_below = sum(p.count_at_or_below(knots) for p in pieces)
    xs = np.repeat(knots, 2)
    curve = np.column_stack([below, at_or_below]).ravel()
    previous, following, gamma = quantile_positions(n, np.arange(GRID + 1) / GRID)
    grid = interpolate(_virtual_order_statistics(xs, curve, previous % n),
                       _virtual_order_statistics(xs, curve, following % n), gamma)
    low, high = min(p.low for p in pieces), max(p.high for p in pieces)
    grid = np.clip(np.maximum.accumulate(grid), low, high)
    grid[0], grid[-1] = low, high
    edges = np.unique(grid[1:GRID])
    cumulative = np.clip(np.rint(sum(p.count_below(edges) for p in pieces)), 0, n).astype(np.int64)
    counts = np.diff(np.concatenate([[0], cumulative, [n]]))
    return grid.tolist(), edges.tolist(), counts.tolist(), sum(p.error for p in pieces)


def _virtual_order_statistics(xs: np.ndarray, curve: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """inf{x : curve(x) > i} for each rank i, on the piecewise-linear curve through (xs, curve)
    (a vertical step where an x repeats: values at that point)."""
    ranks = np.asarray(ranks, dtype=np.float64)
    after = np.searchsorted(curve, ranks, side="right")  # curve[after - 1] <= i < curve[after]
    before = after - 1
    rise = curve[after] - curve[before]
    return xs[before] + (ranks - curve[before]) / rise * (xs[after] - xs[before])


# ---- files --------------------------------------------------------------------------------------
def write_profile(profile: Profile, path: str | Path) -> Path:
    """Write atomically (output.write_text): a crash mid-write never leaves a truncated profile
    behind; a symlink is replaced, a device or folder refused (UsageError)."""
    from .output import write_text

    text = json.dumps(profile.to_json(), separators=(",", ":"), allow_nan=False)
    return write_text(path, text, "the profile output")


# Profiles read in this process, newest last, by (path, mtime, size): a contract's compile and
# its run read a profile once; a long-lived process (a notebook, a server) keeps only a few.
_LOADED: OrderedDict[tuple[str, int, int], Profile] = OrderedDict()
LOADED_KEPT = 4

MAX_JSON_INT_DIGITS = 40  # a profile's integers are counts and integer extremes: 39 digits at most (Int128)
_INT_BOUND = 10 ** MAX_JSON_INT_DIGITS  # the least integer of more digits


def load_profile(path: str | Path | None, name: str) -> Profile:
    """Read and validate a profile file; every problem is a DataError naming the file."""
    if path is None:
        raise DataError(f"dataset `{name}`: no profile file given")
    from .sources.files import check_readable

    path = Path(path)
    check_readable(path, f"dataset `{name}`", str(path))
    status = path.stat()
    key = (str(path.resolve()), status.st_mtime_ns, status.st_size)
    if key in _LOADED:
        _LOADED.move_to_end(key)
        return _LOADED[key]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"dataset `{name}`: {path.name} is not a readable profile "
                        f"(corrupt or truncated JSON: {error})") from error
    try:
        # json's own number parsing (half the time of the checking hooks); _from_json then
        # refuses every number that the checked parse would refuse (not finite, or an integer
        # of more than MAX_JSON_INT_DIGITS digits), or that is not a count where a count
        # belongs, in the fields it reads and in the ones it does not...
        profile = _from_json(_parse_json(text, checked=False), name, path)
    except (DataError, ValueError, RecursionError):
        # ...and on any problem the document is read again with every number checked as JSON
        # (_parse_json), so that what is reported is the same either way: the first bad number
        # of the file (1e999999 is "beyond the float range", not an `inf` somewhere), or else
        # what _from_json finds.
        profile = _from_json(_parse_checked(text, name, path), name, path)
    _LOADED[key] = profile
    while len(_LOADED) > LOADED_KEPT:
        _LOADED.popitem(last=False)  # the least recently used
    return profile


class _BadNumber(ValueError):
    pass


def _parse_checked(text: str, name: str, path: Path) -> Any:
    """The document, every number checked as it is read (_parse_json); DataError otherwise."""
    where = f"dataset `{name}`: {path.name}"
    try:
        return _parse_json(text)
    except json.JSONDecodeError as error:
        raise DataError(f"{where} is not a readable profile (corrupt or truncated JSON: {error})") from error
    except _BadNumber as error:
        raise DataError(f"{where} is not a readable profile: {error}") from error
    except RecursionError as error:
        raise DataError(f"{where} is not a readable profile: its JSON is nested too deeply") from error


def _parse_json(text: str, checked: bool = True) -> Any:
    """JSON without NaN / Infinity, with finite floats and integers of sane length: int() of a
    million digits would raise (or take seconds), and 1e999999 would be read as infinity.

    `checked=False` leaves numbers to json's own parsing, for a document that is checked
    afterwards: then 1e999999 is read as infinity, which the checks of every number a profile
    uses refuse, and an integer is read by int(), whose limit on digits (Python's
    int_max_str_digits, 4300 by default) raises ValueError; where that limit is switched off or
    raised, this parses checked anyway."""
    if checked or not 0 < sys.get_int_max_str_digits() <= _INT_DIGITS_LIMIT:
        return json.loads(text, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant)
    return json.loads(text, parse_constant=_json_constant)


# int() of this many digits takes ~0.1 ms: a whole file of them costs what checking it would
_INT_DIGITS_LIMIT = 4300


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_INT_DIGITS:
        raise _BadNumber(f"an integer of {len(text.lstrip('-')):,} digits")
    return int(text)


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _BadNumber(f"the number {text[:40]}{'…' if len(text) > 40 else ''} is beyond the float range")
    return value


def _json_constant(text: str):
    raise _BadNumber(f"{text} is not a number JSON allows")


class _Malformed(Exception):
    """A profile field that is wrong: its path in the document and what is wrong with it."""

    def __init__(self, where: str, problem: str):
        from .escape import printable

        super().__init__(f"`{printable(where, 120)}` {problem}")


def _from_json(document: Any, name: str, path: Path) -> Profile:
    where = f"dataset `{name}`: {path.name}"
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DataError(f"{where} is not an mlcontract profile (no \"format\": \"{FORMAT}\")")
    version = document.get("version")
    if not (type(version) is int and version in READABLE_VERSIONS):
        raise DataError(f"{where} has profile format version {version!r}; this mlcontract reads "
                        f"versions {', '.join(map(str, READABLE_VERSIONS))} — rebuild it with `mlc profile`")
    if document.get("grid") != GRID:
        raise DataError(f"{where} has a quantile grid of {document.get('grid')!r}, expected {GRID}")
    try:
        return _check_profile(document, name, path, version)
    except _Malformed as error:
        raise DataError(f"{where} is malformed: {error}") from error
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:  # a check not foreseen
        from .escape import printable

        raise DataError(f"{where} is malformed: {type(error).__name__}: {printable(error)}") from error


_COLUMN_FIELDS = {f.name for f in fields(ColumnProfile)}
_DOCUMENT_FIELDS = set(Profile("", 0, {}).to_json())  # the top-level keys a profile is written with


def _check_profile(document: dict, name: str, path: Path, version: int) -> Profile:
    """The Profile of a document, every number, sum and order checked (_Malformed otherwise)."""
    rows = _count_at(document, "rows", "rows")
    parts = _count_at(document, "parts", "parts", default=1)
    if parts < 1:
        raise _Malformed("parts", "is not a positive integer")
    exact = document.get("exact", True)
    if not isinstance(exact, bool):
        raise _Malformed("exact", "is not true or false")
    for key in ("source", "created"):
        if document.get(key) is not None and not isinstance(document[key], str):
            raise _Malformed(key, "is not a string")
    if not isinstance(document.get("columns"), dict):
        raise _Malformed("columns", "is not an object")
    for key in document.keys() - _DOCUMENT_FIELDS:  # not read, but refused by the checked parse alike
        if not _parses_checked(document[key]):
            raise _Malformed(key, "holds a number beyond the float range or an integer of too many digits")
    columns = {}
    for column, spec in document["columns"].items():
        at = f"columns.{column}"
        if not isinstance(spec, dict):
            raise _Malformed(at, "is not an object")
        unknown = sorted(set(spec) - _COLUMN_FIELDS)
        missing = sorted({"kind", "dtype", "rows", "nulls"} - set(spec))
        if unknown or missing:
            raise _Malformed(f"{at}.{(unknown or missing)[0]}", "is not a profile field" if unknown else "is missing")
        columns[column] = ColumnProfile(**spec)
        _check_column(columns[column], at, version)
        if columns[column].rows != rows:
            raise _Malformed(f"{at}.rows", f"is {columns[column].rows:,}, but the profile has {rows:,} rows")
    if exact and any(c.error for c in columns.values()):
        raise _Malformed("exact", "is true, but a column has a rank_error")
    return Profile(name, rows, columns, exact, document.get("source"), document.get("created"), parts, path, version)


def _check_column(spec: ColumnProfile, at: str, version: int) -> None:
    """Types, lengths, sums and orders of one column's entry."""
    if spec.kind not in (NUMERIC, CATEGORICAL, "other"):
        raise _Malformed(f"{at}.kind", f"is an unknown kind {_shown(spec.kind)}")
    if not isinstance(spec.dtype, str):
        raise _Malformed(f"{at}.dtype", "is not a string")
    _count_at(spec.__dict__, "rows", f"{at}.rows")
    _count_at(spec.__dict__, "nulls", f"{at}.nulls")
    if spec.nulls > spec.rows:
        raise _Malformed(f"{at}.nulls", f"is {spec.nulls:,}, more than its {spec.rows:,} rows")
    present = [k for k in ("summary", "values", "quantiles", "edges", "counts", "rank_error", "categories")
               if getattr(spec, k) is not None]
    allowed = {NUMERIC: {"summary", "values", "quantiles", "edges", "counts", "rank_error"},
               CATEGORICAL: {"categories"}, "other": set()}[spec.kind]
    stray = [k for k in present if k not in allowed]
    if stray:
        raise _Malformed(f"{at}.{stray[0]}", f"does not belong to a {spec.kind} column")
    if spec.kind == NUMERIC:
        _check_numeric(spec, at, version)
    elif spec.kind == CATEGORICAL:
        _check_categories(spec, at)


def _check_numeric(spec: ColumnProfile, at: str, version: int) -> None:
    from ._kernels import NumericSummary

    if not isinstance(spec.summary, dict):
        raise _Malformed(f"{at}.summary", "is missing" if spec.summary is None else "is not an object")
    for key in ("rows", "nulls", "nans", "pos_inf", "neg_inf", "count"):
        _count_at(spec.summary, key, f"{at}.summary.{key}")
    for key in ("min", "max", "mean", "mean_lo", "m2"):
        value = spec.summary.get(key, 0.0 if key == "mean_lo" else None)
        if not (value is None or value in ("inf", "-inf") or _is_number(value)):
            raise _Malformed(f"{at}.summary.{key}", "is not a number")
    try:
        summary = NumericSummary.from_dict(_summary_from_json(spec.summary))  # checks its own sums
    except (ValueError, TypeError, OverflowError) as error:
        raise _Malformed(f"{at}.summary", f"is inconsistent: {error}") from None
    if summary.rows != spec.rows or summary.nulls + summary.nans != spec.nulls:
        raise _Malformed(f"{at}.summary", f"counts {summary.rows:,} rows and {summary.nulls + summary.nans:,} "
                                          f"nulls/NaN, the column {spec.rows:,} and {spec.nulls:,}")
    count, low, high = summary.count, float(summary.min), float(summary.max)
    if count:
        for key in ("min", "max", "mean", "mean_lo"):
            if not math.isfinite(float(getattr(summary, key))):
                raise _Malformed(f"{at}.summary.{key}", "is not a finite number although there are finite values")
        if abs(summary.mean_lo) > math.ulp(summary.mean):  # the mean's rounding error: below an ulp of it
            raise _Malformed(f"{at}.summary.mean_lo", f"is {summary.mean_lo!r}, more than the rounding error of "
                                                      f"the mean {summary.mean!r}")
        # m2 is finite too (NumericSummary checks it): values beyond 2**448 keep it scaled (m2_exp)
    elif spec.summary.get("m2") != 0 or any(spec.summary.get(k) is not None for k in ("min", "max", "mean")):
        raise _Malformed(f"{at}.summary", "has extremes or moments although there are no finite values")
    if spec.values is not None:
        if any(getattr(spec, k) is not None for k in ("quantiles", "edges", "counts", "rank_error")):
            raise _Malformed(f"{at}.values", "come with a quantile grid: a column keeps one or the other")
        values = _numbers(spec.values, f"{at}.values")
        if len(values) != count or count > GRID:
            raise _Malformed(f"{at}.values", f"hold {len(values):,} values for {count:,} finite values "
                                             f"(kept only when at most {GRID})")
        if count and not (values[0] == low and values[-1] == high and _ascending(values, strict=False)):
            raise _Malformed(f"{at}.values", "are not the ascending values from min to max")
        _check_moments_of_values(summary, values, at)
        return
    if spec.quantiles is None:
        if count:
            raise _Malformed(f"{at}.quantiles", "are missing although there are finite values")
        if any(getattr(spec, k) is not None for k in ("edges", "counts", "rank_error")):
            raise _Malformed(f"{at}.edges", "are given without quantiles")
        return
    if count == 0:
        raise _Malformed(f"{at}.quantiles", "are given although there are no finite values")
    if version >= 2 and count <= GRID:
        raise _Malformed(f"{at}.quantiles", f"are given for {count:,} finite values, which are kept themselves")
    grid = _numbers(spec.quantiles, f"{at}.quantiles")
    if len(grid) != GRID + 1 or not _ascending(grid, strict=False):
        raise _Malformed(f"{at}.quantiles", f"are not {GRID + 1} ascending numbers")
    if grid[0] < low or grid[-1] > high:
        raise _Malformed(f"{at}.quantiles", f"leave the column's range [{low!r}, {high!r}]")
    edges = _numbers(spec.edges, f"{at}.edges")
    if not _ascending(edges, strict=True) or (edges and (edges[0] < grid[0] or edges[-1] > grid[-1])):
        raise _Malformed(f"{at}.edges", "are not strictly ascending numbers within the quantiles")
    if not isinstance(spec.counts, list) or len(spec.counts) != len(edges) + 1:
        raise _Malformed(f"{at}.counts", f"are not {len(edges) + 1:,} counts (one more than the edges)")
    if not _counts(spec.counts):
        for i in range(len(spec.counts)):  # the first one that is not a count, for the message
            _count_at(spec.counts, i, f"{at}.counts[{i}]")
    if sum(spec.counts) != count:
        raise _Malformed(f"{at}.counts", f"add up to {sum(spec.counts):,}, not to its {count:,} finite values")
    if spec.rank_error is not None:
        _count_at(spec.__dict__, "rank_error", f"{at}.rank_error")


# How far a summary's mean and m2 may lie from those of its kept values taken again (the same
# kernels, in sorted order instead of the data's): the mean is off by at most ~2,520 roundings
# of its largest value (a few ulps in practice), m2 by ~1e-14 of itself. Margins that refuse no
# profile mlc wrote, and any summary edited to tell another story.
MEAN_TOLERANCE = 1e-12  # of the values' largest magnitude
M2_TOLERANCE = 1e-9  # relative


def _check_moments_of_values(summary, values: list, at: str) -> None:
    """A column that keeps its values keeps everything its summary says: its mean (with its
    low part) and m2 must be theirs (`mean >= 2.9` must not pass on a summary that says 3 beside
    values around 0). An m2 of values beyond 2**448 is compared in its units (m2_exp)."""
    from ._kernels import summarize

    if summary.count < 2:  # one value: its mean is its min and max (checked)
        return
    again = summarize(np.array(values, dtype=np.float64))
    off = (summary.mean - again.mean) + (summary.mean_lo - again.mean_lo)
    if not abs(off) <= MEAN_TOLERANCE * max(abs(float(summary.min)), abs(float(summary.max))):
        raise _Malformed(f"{at}.summary.mean", f"is {summary.mean!r}, but its values' mean is {again.mean!r}")
    m2, m2_again = summary.to_dict()["m2"], again.to_dict()["m2"]  # in units of 4**m2_exp (the m2 property: inf)
    if summary.m2_exp != again.m2_exp or not abs(m2 - m2_again) <= M2_TOLERANCE * m2_again:
        raise _Malformed(f"{at}.summary.m2", f"is {m2!r}, but its values' is {m2_again!r}")


def _check_categories(spec: ColumnProfile, at: str) -> None:
    if not isinstance(spec.categories, list):
        raise _Malformed(f"{at}.categories", "is missing" if spec.categories is None else "is not a list")
    seen: set = set()
    for i, pair in enumerate(spec.categories):
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int, float, bool))):
            raise _Malformed(f"{at}.categories[{i}]", "is not a [value, count] pair")
        if not _parses_checked(pair[0]):  # 1e999 or 10**45, read by json's own parsing
            raise _Malformed(f"{at}.categories[{i}][0]", "is not a finite number or has too many digits")
        _count_at(pair, 1, f"{at}.categories[{i}][1]")
        if pair[0] in seen:  # Python equality: the counts are looked up by value
            raise _Malformed(f"{at}.categories[{i}]", "repeats a category")
        seen.add(pair[0])
    total = sum(n for _, n in spec.categories)
    if total + spec.nulls != spec.rows:
        raise _Malformed(f"{at}.categories", f"add up to {total:,} values and {spec.nulls:,} nulls, "
                                             f"not to its {spec.rows:,} rows")


def _count_at(container, key, where: str, default=None) -> int:
    """container[key] when it is a non-negative integer (not a bool); _Malformed otherwise."""
    value = container.get(key, default) if isinstance(container, dict) else container[key]
    if value is None:
        raise _Malformed(where, "is missing")
    if not _count(value):
        raise _Malformed(where, f"is not a non-negative integer: {_shown(value)}")
    return value


def _shown(value) -> str:
    """A value from the file, safe to print and short."""
    from .escape import printable

    return printable(json.dumps(value) if isinstance(value, (str, bool)) else value, 40)


def _count(value) -> bool:
    """A non-negative integer that fits the kernels' int64 counts."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 63


def _counts(values: list) -> bool:
    """Every item a count (_count), checked a list at a time: a profile holds ~2,500 per column."""
    return set(map(type, values)) <= {int} and (not values or (min(values) >= 0 and max(values) < 2 ** 63))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and _parses_checked(value)


def _parses_checked(value) -> bool:
    """Whether `value`, read by json's own number parsing, holds only numbers the checked parse
    (_parse_json) reads too: finite floats and integers of at most MAX_JSON_INT_DIGITS digits.
    load_profile reads a profile the first way and must accept exactly what the second does,
    whatever sys.get_int_max_str_digits() is (which decides the way it is read)."""
    if type(value) is int:
        return -_INT_BOUND < value < _INT_BOUND
    if type(value) is float:
        return math.isfinite(value)
    if isinstance(value, list):
        return all(map(_parses_checked, value))
    if isinstance(value, dict):
        return all(map(_parses_checked, value.values()))
    return True


def _numbers(values, where: str) -> list:
    """`values` when it is a list of finite numbers (ints or floats, not bools). The types are
    compared a list at a time (bool is not int's type) and math.isfinite mapped over it, which
    takes a 30th of the time of testing each item in Python."""
    types = set(map(type, values)) if isinstance(values, list) else {None}
    if not types <= {int, float} or not all(map(math.isfinite, values)) \
            or (int in types and not _parses_checked(values)):
        raise _Malformed(where, "are not a list of finite numbers")
    return values


def _ascending(values: list, strict: bool) -> bool:
    return all(map(operator.lt if strict else operator.le, values, itertools.islice(values, 1, None)))


# ---- small helpers ---------------------------------------------------------------------------------
def _summary_to_json(summary: dict) -> dict:
    """JSON has no NaN or infinity: NaN (no finite values) becomes null, an overflowing moment
    (values near 1e308) the strings "inf" / "-inf". An integer column's min and max stay ints."""
    def encode(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return value

    return {k: encode(v) for k, v in summary.items()}


def _summary_from_json(summary: dict) -> dict:
    decode = {None: math.nan, "inf": math.inf, "-inf": -math.inf}
    return {k: decode.get(v, v) if v is None or isinstance(v, str) else v for k, v in summary.items()}


def _json_key(value):
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, float):
        return value
    return str(value)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
