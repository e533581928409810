"""`mlc profile DATA --engine spark`: the profile the local engine writes (profiles.profile_frame)
for the same rows, computed by Spark: the aggregates, the value counts, and one set of bucket
rounds for every numeric column's quantile grid and exact moments."""
from __future__ import annotations

import numpy as np

from .buckets import Rounds, Sample
from .reading import column_kind, dtype_name, numeric_column
from .relations import Relation
from .scan import (
    MAX_COUNTED_KEYS,
    _count_aggregates,
    _count_at,
    _moments_of,
    _stats_aggregates,
    _stats_of,
    _summary_of,
    _too_many_keys,
    _value_counts,
    buckets_counts_below,
)
from .sql import Aggregates, Runner, double, ident


def profile_of(runner: Runner, frame, index, name: str, label: str | None):
    """profiles.profile_frame, computed by Spark: the same columns, counts, summaries, kept
    values, quantile grids and fine counts."""
    from ...profiles import GRID, ColumnProfile, Profile, _json_key, _now, _summary_to_json
    from ...statistics.base import CATEGORICAL, NUMERIC
    from ...statistics.formulas import interpolate, quantile_positions

    types = {f.name: f.dataType for f in frame.schema.fields if f.name not in index}
    relation = Relation(name, name, frame, None, {c: (ident(c), t) for c, t in types.items()}, tuple(index))
    first = Aggregates()
    rows_at = first.add("count(1)")
    stats_at, missing_at = {}, {}
    for column, spark_type in types.items():
        if column_kind(spark_type) == NUMERIC:
            stats_at[column] = _stats_aggregates(first, numeric_column(ident(column), spark_type))
        else:
            missing_at[column] = _count_aggregates(first, relation, column)
    found = first.run(runner, frame, f"the counts and extremes of {name}")
    rows = int(found[rows_at])
    stats = {c: _stats_of(found, at, rows) for c, at in stats_at.items()}
    categorical = [c for c, t in types.items() if column_kind(t) == CATEGORICAL]
    approximate = {c: int(found[estimate] or 0) for c in categorical if (estimate := missing_at[c][1]) is not None}
    too_many = {c: n for c, n in approximate.items() if n > MAX_COUNTED_KEYS * 1.25}
    if too_many:
        column = next(iter(too_many))
        raise _too_many_keys(column, name, too_many[column])
    counted = _value_counts(runner, frame, [(relation, c) for c in categorical], {name: rows}, name) if categorical else {}
    counts = {column: value for (_, column), value in counted.items()}
    for value in counts.values():
        if isinstance(value, BaseException):
            raise value
    rounds = Rounds(runner, f"the columns of {name}")
    grids, selections, moments = {}, {}, {}
    for column, value in stats.items():
        sample = Sample(frame, numeric_column(ident(column), types[column]), value.count, value.low, value.high)
        moments[column] = _moments_of(value) if value.count else None
        if value.count == 0:
            continue
        if value.count <= GRID:
            ranks = None
        else:
            previous, following, gamma = quantile_positions(value.count, np.arange(GRID + 1) / GRID)
            grids[column] = (previous % value.count, following % value.count, gamma)
            ranks = np.unique(np.concatenate([grids[column][0], grids[column][1]]))
        selections[column] = rounds.ranks(sample, ranks, moments[column])
    rounds.run()
    layouts: dict[str, tuple] = {}
    fallback = Aggregates()
    for column, (previous, following, gamma) in grids.items():
        selection = selections[column]
        low = np.array([selection.at(p) for p in previous.tolist()])
        high = np.array([selection.at(p) for p in following.tolist()])
        grid = interpolate(low, high, gamma)
        edges = np.unique(grid[1:GRID])
        first_at = {e: i for i, e in reversed(list(enumerate(grid.tolist()))) if 0 < i < GRID}
        at = [first_at[e] for e in edges.tolist()]
        known = buckets_counts_below(edges, previous[at], following[at], selection)
        column_sql = numeric_column(ident(column), types[column])
        below_sql = [f"count_if({column_sql.finite} AND {column_sql.value} < {double(e)})" for e in edges.tolist()]
        positions = [None if b is not None else fallback.add(sql) for sql, b in zip(below_sql, known)]
        layouts[column] = (grid, edges, known, positions)
    found_fallback = fallback.run(runner, frame, f"the counts below bin edges of {name}") if fallback.expressions else []
    columns: dict[str, ColumnProfile] = {}
    for column, spark_type in types.items():
        kind, dtype = column_kind(spark_type), dtype_name(spark_type)
        if kind == NUMERIC:
            summary = _summary_of(stats[column], moments[column])
            profile = ColumnProfile(kind, dtype, rows, summary.nulls + summary.nans,
                                    summary=_summary_to_json(summary.to_dict()))
            if column in layouts:
                grid, edges, known, positions = layouts[column]
                below = [b if b is not None else _count_at(found_fallback, a) for b, a in zip(known, positions)]
                profile.quantiles, profile.edges = grid.tolist(), edges.tolist()
                profile.counts = np.diff(np.array([0, *below, summary.count], dtype=np.int64)).tolist()
            elif column in selections and (kept := selections[column].values) is not None:
                profile.values = kept.tolist()
            columns[column] = profile
        elif kind == CATEGORICAL:
            result = counts[column]
            categories = [[_json_key(k), int(n)] for k, n in zip(result.keys.tolist(), result.counts.tolist())]
            columns[column] = ColumnProfile(kind, dtype, rows, result.nulls, categories=categories)
        else:
            columns[column] = ColumnProfile(kind, dtype, rows, int(found[missing_at[column][0]]))
    return Profile(name, rows, columns, True, label, _now())
