"""Profiles: what contracts need of a dataset, without its rows.

`mlc profile DATA -o prod.profile.json` stores per column: the schema, counts (rows, nulls,
NaN, ±inf), the kernel summary (min, max, mean, variance — mergeable), for numeric columns the
quantiles at every multiple of 1/2520 and the exact counts between consecutive quantiles, and
for categorical columns the count of every category. A contract then declares
`dataset production = profile("prod.profile.json")`.

Exactness (docs/profiles.md): with a profile as the `vs` reference, psi/js/hellinger/kl/linf/
chi2_pvalue use the profile's own quantile edges and exact counts, so they equal the raw-data
values (for `bins` dividing 2520: 2–10, 12, 14, 15, 18, 20, …). null_rate, mean, std, min,
max, rows, schema, unseen_rate and categorical statistics are exact. ks, ks_pvalue,
wasserstein and wasserstein_norm treat the 2521 quantiles as the reference sample: documented
approximations, |ΔD| ≤ 1/2520 + 1/n and |ΔW| ≤ (max − min)·(1/2520 + 1/n). A merged profile
adds all counts exactly; its quantiles and in-between counts are interpolated (marked
`"exact": false`). Anything else a profile cannot serve is a compile-time diagnostic.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import requests as rq
from .catalog import CATEGORICAL, NUMERIC
from .errors import CheckError, DataError
from .statistics import sorted_quantiles

FORMAT = "mlcontract-profile"
VERSION = 1
GRID = 2520  # divisible by 1…10, 12, 14, 15, 18, 20, 21, 24, 28, 30, …: the usual bin counts are exact


class ProfileSample(np.ndarray):
    """The quantile grid standing in for a profiled sample in KS / Wasserstein, carrying how
    many values it represents (for the KS p-value)."""

    represented: int

    @staticmethod
    def of(grid: np.ndarray, represented: int) -> "ProfileSample":
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
    quantiles: list[float] | None = None  # GRID + 1 values (numeric, with finite values)
    edges: list[float] | None = None  # unique inner quantiles: the fine bin edges
    counts: list[int] | None = None  # finite values per fine bin
    categories: list[list] | None = None  # [[value, count], ...] (categorical)

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


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

    @property
    def schema(self) -> dict[str, tuple[str, str]]:
        return {name: (c.kind, c.dtype) for name, c in self.columns.items()}

    # ---- what a profile can serve -----------------------------------------------------------
    def cannot_serve(self, request: rq.Request) -> str | None:
        """None when `serve(request)` works; otherwise why not, for a compile-time diagnostic."""
        column = self.columns.get(request.column) if request.column else None
        if isinstance(request, (rq.RowCount, rq.SchemaOf)):
            return None
        if column is None:
            return None  # a missing column is reported like any missing column
        if isinstance(request, rq.Summary):
            return None if column.kind == NUMERIC else f"`{request.column}` is not numeric"
        if isinstance(request, rq.Counts):
            return None if column.kind != NUMERIC else "value counts of a numeric column (distinct, unique_rate, unseen_rate)"
        if isinstance(request, rq.Edges):
            return None if GRID % request.bins == 0 else f"{request.bins} bins (a profile serves bin counts dividing {GRID})"
        if isinstance(request, rq.Histogram):
            if request.edges.of != request.of:
                return "a histogram on another dataset's edges: a profile can be the `vs` reference of psi/js/…, not their subject"
            return self.cannot_serve(request.edges)
        if isinstance(request, (rq.SortedValues, rq.SampleWalk)):
            return None  # the quantile grid stands in for the sample (documented approximation)
        if isinstance(request, (rq.OutsideCount, rq.OutsideRange)):
            return "counts of values outside a range (between, out_of_range_rate)"
        return f"{request.describe()}"

    def serve(self, request: rq.Request, got: dict | None = None) -> Any:
        reason = self.cannot_serve(request)
        if reason:
            raise CheckError(f"profile `{self.name}` cannot serve {reason}")
        if isinstance(request, rq.RowCount):
            return self.rows
        if isinstance(request, rq.SchemaOf):
            return self.schema
        column = self.columns.get(request.column)
        if column is None:
            raise DataError(f"column `{request.column}` is missing in profile `{self.name}`")
        if isinstance(request, rq.Summary):
            from ._kernels import NumericSummary

            return NumericSummary.from_dict(_summary_from_json(column.summary))
        if isinstance(request, rq.Counts):
            from .columns import CountsResult, _key_array

            keys = [k for k, _ in column.categories or []]
            counts = np.array([n for _, n in column.categories or []], dtype=np.int64)
            return CountsResult(_key_array(keys), counts, column.nulls, column.rows)
        grid = self._grid(column, request.column)
        if isinstance(request, rq.Edges):
            step = GRID // request.bins
            return np.unique(grid[step:GRID:step])
        if isinstance(request, rq.Histogram):
            coarse = self.serve(request.edges)
            return coarse_counts(np.asarray(column.edges, dtype=np.float64),
                                 np.asarray(column.counts, dtype=np.int64), coarse)
        if isinstance(request, rq.SortedValues):
            return ProfileSample.of(grid, column.summary["count"])
        if isinstance(request, rq.SampleWalk):
            from .statistics import walk

            other = (got or {}).get(rq.SortedValues(request.against, request.name))
            if other is None or isinstance(other, BaseException):
                raise other or CheckError(f"the values of `{request.name}` in {request.against} were not computed")
            return walk(ProfileSample.of(grid, column.summary["count"]), other)
        raise CheckError(f"profile `{self.name}` cannot serve {request.describe()}")

    def _grid(self, column: ColumnProfile, name: str) -> np.ndarray:
        if not column.quantiles:
            raise CheckError(f"`{name}` has no finite values in profile `{self.name}`")
        return np.asarray(column.quantiles, dtype=np.float64)

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
    from .sources import column_kind

    columns: dict[str, ColumnProfile] = {}
    rows = None
    try:
        schema = lazy.collect_schema()
        if progress:
            progress.start(f"profiling {name}", len(schema))
        for column, dtype in schema.items():
            series = lazy.select(column).collect().to_series()
            rows = series.len()
            columns[column] = profile_column(series, column_kind(dtype), str(dtype))
            if progress:
                progress.advance(1)
    except CheckError:
        raise
    except Exception as error:  # polars raises many kinds of errors for unreadable data
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
    from . import columns as col

    rows = series.len()
    if kind == NUMERIC:
        summary = col.summarize(series)
        profile = ColumnProfile(kind, dtype, rows, summary.nulls + summary.nans, summary=_summary_to_json(summary.to_dict()))
        values = col.finite_values(series)
        if values.size:
            values.sort()
            grid = sorted_quantiles(values, np.arange(GRID + 1) / GRID)
            edges = np.unique(grid[1:GRID])
            profile.quantiles = grid.tolist()
            profile.edges = edges.tolist()
            profile.counts = col.histogram(series, edges).tolist()
        return profile
    counts = col.value_counts(series)
    categories = [[_json_key(k), int(n)] for k, n in zip(counts.keys.tolist(), counts.counts.tolist())]
    return ColumnProfile(kind, dtype, rows, counts.nulls, categories=categories if kind == CATEGORICAL else None)


# ---- merging ------------------------------------------------------------------------------------
def merge_profiles(profiles: list[Profile], name: str = "merged") -> Profile:
    """Add profiles of parts of one dataset (chunks, partitions, days). Counts add up exactly;
    the quantile grid and the counts between its points are interpolated (exact=False)."""
    if not profiles:
        raise DataError("nothing to merge")
    first = profiles[0]
    for other in profiles[1:]:
        if other.schema != first.schema:
            raise DataError(f"cannot merge profiles with different schemas: {first.name} and {other.name}")
    if len(profiles) == 1:
        return first
    columns = {column: _merge_column([p.columns[column] for p in profiles]) for column in first.columns}
    return Profile(name, sum(p.rows for p in profiles), columns, False,
                   ", ".join(p.source or p.name for p in profiles), _now(), sum(p.parts for p in profiles))


def _merge_column(parts: list[ColumnProfile]) -> ColumnProfile:
    head = parts[0]
    merged = ColumnProfile(head.kind, head.dtype, sum(p.rows for p in parts), sum(p.nulls for p in parts))
    if head.kind == NUMERIC:
        from ._kernels import NumericSummary

        state = NumericSummary.empty()
        for part in parts:
            state = state.merge(NumericSummary.from_dict(_summary_from_json(part.summary)))
        merged.summary = _summary_to_json(state.to_dict())
        with_values = [p for p in parts if p.quantiles]
        if with_values:
            merged.quantiles, merged.edges, merged.counts = _merge_grids(with_values)
    elif head.categories is not None:
        totals: dict = {}
        for part in parts:
            for key, count in part.categories:
                marker = json.dumps(key)
                totals[marker] = totals.get(marker, 0) + count
        merged.categories = sorted(([json.loads(k), n] for k, n in totals.items()), key=lambda kv: -kv[1])
    return merged


def _merge_grids(parts: list[ColumnProfile]):
    """Mix the parts' CDFs (piecewise linear between their quantiles), read the merged
    quantiles off the mixture, and share each part's fine counts out over the new fine bins in
    proportion to its CDF — with largest-remainder rounding, so the totals stay exact."""
    points = np.unique(np.concatenate([np.asarray(p.quantiles) for p in parts]))
    weights = np.array([sum(p.counts) for p in parts], dtype=np.float64)
    cdfs = np.array([_part_cdf(p, points) for p in parts])
    mixture = (weights[:, None] * cdfs).sum(axis=0) / weights.sum()
    levels = np.arange(GRID + 1) / GRID
    grid = np.interp(levels, mixture, points)
    grid[0], grid[-1] = points[0], points[-1]
    edges = np.unique(grid[1:GRID])
    counts = np.zeros(len(edges) + 1, dtype=np.int64)
    for part, weight in zip(parts, weights):
        bounds = np.concatenate([[-np.inf], edges, [np.inf]])
        shares = np.diff(np.clip(_part_cdf(part, bounds), 0.0, 1.0))
        counts += _round_preserving_total(shares * weight, int(weight))
    return grid.tolist(), edges.tolist(), counts.tolist()


def _part_cdf(part: ColumnProfile, x: np.ndarray) -> np.ndarray:
    grid = np.asarray(part.quantiles, dtype=np.float64)
    unique = np.unique(grid)
    # the share at or below a repeated quantile value is its last level, not its first
    levels = (np.searchsorted(grid, unique, side="right") - 1) / GRID
    return np.interp(x, unique, levels, left=0.0, right=1.0)


def _round_preserving_total(values: np.ndarray, total: int) -> np.ndarray:
    floor = np.floor(values).astype(np.int64)
    missing = total - int(floor.sum())
    if missing > 0:
        order = np.argsort(-(values - floor), kind="stable")[:missing]
        floor[order] += 1
    return floor


# ---- files --------------------------------------------------------------------------------------
def write_profile(profile: Profile, path: str | Path) -> Path:
    """Write atomically (output.write_text): a crash mid-write never leaves a truncated profile
    behind; a symlink is replaced, a device or folder refused (UsageError)."""
    from .output import write_text

    text = json.dumps(profile.to_json(), separators=(",", ":"), allow_nan=False)
    return write_text(path, text, "the profile output")


_LOADED: dict[tuple[str, float], Profile] = {}


def load_profile(path: str | Path | None, name: str) -> Profile:
    """Read and validate a profile file; every problem is a DataError naming the file."""
    if path is None:
        raise DataError(f"dataset `{name}`: no profile file given")
    from .sources import check_readable

    path = Path(path)
    check_readable(path, f"dataset `{name}`", str(path))
    key = (str(path.resolve()), path.stat().st_mtime)
    if key in _LOADED:
        return _LOADED[key]
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"dataset `{name}`: {path.name} is not a readable profile (corrupt or truncated JSON: "
                        f"{error})") from error
    profile = _from_json(document, name, path)
    _LOADED[key] = profile
    return profile


def _from_json(document: Any, name: str, path: Path) -> Profile:
    where = f"dataset `{name}`: {path.name}"
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DataError(f"{where} is not an mlcontract profile (no \"format\": \"{FORMAT}\")")
    if document.get("version") != VERSION:
        raise DataError(f"{where} has profile format version {document.get('version')!r}; this mlcontract reads "
                        f"version {VERSION} — rebuild it with `mlc profile`")
    if document.get("grid") != GRID:
        raise DataError(f"{where} has a quantile grid of {document.get('grid')!r}, expected {GRID}")
    try:
        if not isinstance(document.get("columns"), dict):
            raise ValueError("`columns` is not an object")
        columns = {c: ColumnProfile(**spec) for c, spec in document["columns"].items()}
        profile = Profile(name, int(document["rows"]), columns, bool(document.get("exact", True)),
                          document.get("source"), document.get("created"), int(document.get("parts", 1)), path)
        for column, spec in profile.columns.items():
            problem = _column_problem(spec)
            if problem:
                raise DataError(f"{where} is malformed: column `{column}` has {problem}")
    except DataError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
        raise DataError(f"{where} is malformed: {type(error).__name__}: {error}") from error
    return profile


def _column_problem(spec: ColumnProfile) -> str | None:
    """What is wrong with one column's entry, if anything (types, lengths, sums)."""
    if spec.kind not in (NUMERIC, CATEGORICAL, "other") or not isinstance(spec.dtype, str):
        return f"an unknown kind {spec.kind!r}"
    if not _count(spec.rows) or not _count(spec.nulls) or spec.nulls > spec.rows:
        return "impossible row or null counts"
    if spec.kind == NUMERIC:
        if not isinstance(spec.summary, dict):
            return "no summary"
        from ._kernels import NumericSummary

        summary = NumericSummary.from_dict(_summary_from_json(spec.summary))  # checks its own consistency
        if spec.quantiles is None:
            return None if summary.count == 0 else "no quantiles although it has finite values"
        if not (isinstance(spec.quantiles, list) and len(spec.quantiles) == GRID + 1
                and all(isinstance(q, (int, float)) and math.isfinite(q) for q in spec.quantiles)
                and all(a <= b for a, b in zip(spec.quantiles, spec.quantiles[1:]))):
            return f"a quantile grid that is not {GRID + 1} ascending finite numbers"
        if not (isinstance(spec.edges, list) and all(isinstance(e, (int, float)) for e in spec.edges)
                and all(a < b for a, b in zip(spec.edges, spec.edges[1:]))):
            return "bin edges that are not strictly ascending numbers"
        if not (isinstance(spec.counts, list) and len(spec.counts) == len(spec.edges) + 1
                and all(_count(n) for n in spec.counts)):
            return "bin counts of the wrong length or type"
        if sum(spec.counts) != summary.count:
            return "bin counts that do not add up to its count of finite values"
    elif spec.kind == CATEGORICAL:
        if not (isinstance(spec.categories, list) and all(
                isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int, float, bool))
                and _count(pair[1]) for pair in spec.categories)):
            return "category counts that are not [value, count] pairs"
        if sum(n for _, n in spec.categories) + spec.nulls != spec.rows:
            return "category counts that do not add up to its rows"
    return None


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# ---- small helpers ---------------------------------------------------------------------------------
def _summary_to_json(summary: dict) -> dict:
    """JSON has no NaN or infinity: NaN (no finite values) becomes null, an overflowing moment
    (values near 1e308) the strings "inf" / "-inf"."""
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
