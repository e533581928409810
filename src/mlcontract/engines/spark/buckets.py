"""Exact order statistics, exact moments and the two-sample KS/Wasserstein walk, by bucket rounds
(docs/spark.md, "Exact numbers without collecting rows").

A round is ONE Spark query over every column that still needs work:

- each *group* — the finite values of one column (one side), or of the two columns of a KS pair
  (two sides), within an interval [low, high] — is split into equal-width buckets (GROUP BY:
  count, min, max per side, and the values' exact sums as integer digits where moments or a walk
  need them);
- window functions over the bucket table, still in Spark, keep only what the driver needs: the
  buckets that hold a wanted rank, the buckets where a walk's ECDF difference may change sign or
  reach its maximum, and the boundaries of the runs between them (with the sums before them);
  the last bucket of each group carries its totals;
- the same query copies to the driver the values of the few buckets chosen in the round before
  (`gathers`), at most GATHER_MAX a bucket and GATHER_BUDGET a round.

A bucket too large to copy becomes a group of the next round, split by its own min and max: a
bucket strictly shrinks every round, so the rounds end (skewed or heavily tied data takes a few).
Smooth data needs the first round and one copy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ...errors import CheckError
from .sql import LIMBS, ExactSum, NumericColumn, Runner, bigint, double, exponent_above, scaled

MIN_BUCKETS = 16
MAX_BUCKETS = 65_536  # buckets of one column's split for its order statistics (only those holding ranks return)
MAX_WALK_BUCKETS = 1 << 22  # buckets of a KS pair's split: few enough values each that few change sign
BUCKET_VALUES = 64  # values per bucket the first split aims at: the buckets holding wanted ranks are then copied
WALK_BUCKET_VALUES = 16  # the same for a walk: its ECDF difference then rarely changes sign inside a bucket
GATHER_MAX = 65_536  # values of one bucket copied to the driver; a larger bucket is split again
GATHER_BUDGET = 4_000_000  # values copied to the driver per round, over every column
MAX_ROUNDS = 1_000  # a bucket strictly shrinks each round; this only stops a runaway
KEY_STRIDE = 1 << 32  # > every bucket count: a branch's key = group * KEY_STRIDE + bucket
MAX_INTERVALS = 256  # groups of one family in one round (a CASE over their intervals); more wait for the next round
UNIT = 1200  # exact arithmetic of the walk in units of 2**-UNIT (below every double and digit weight)


# ---- what is asked -------------------------------------------------------------------------------
@dataclass(eq=False)
class Sample:
    """The finite values of one numeric column of one relation (read as DOUBLE): `count` of them,
    between `low` and `high`."""

    frame: Any
    column: NumericColumn
    count: int
    low: float
    high: float

    @property
    def exponent(self) -> int:
        return exponent_above(max(abs(self.low), abs(self.high))) if self.count else -1074


@dataclass
class Selection:
    """Order statistics of one sample, in ascending order (0-based ranks): `value[r]`, and
    `below[r]`, the number of values strictly below value[r]; or, when every rank was asked for,
    the sorted values themselves (`values`)."""

    value: dict[int, float] = field(default_factory=dict)
    below: dict[int, int] = field(default_factory=dict)
    values: np.ndarray | None = None

    def at(self, rank: int) -> float:
        """The value of rank `rank`."""
        return float(self.values[rank]) if self.values is not None else self.value[rank]

    def under(self, rank: int) -> int:
        """The number of values strictly below the value of rank `rank`."""
        if self.values is not None:
            return int(np.searchsorted(self.values, self.values[rank], side="left"))
        return self.below[rank]


@dataclass
class Moments:
    """The exact Σv and Σ((v − shift)·scale)² of a sample (ExactSum digits), from the first
    round. `scale` is 1, or 2**-576 for values reaching 2**448, whose squared deviations would
    overflow: then the deviations are taken on the values scaled (exactly, as the local kernel
    does), v·scale − shift·scale, and m2 is in units of 4**576 (NumericSummary's m2_exp)."""

    first: ExactSum
    shift: float
    second: ExactSum | None  # None: the squares overflow even so (m2 is inf)
    total: Fraction | None = None
    squares: Fraction | None = None
    scale: float = 1.0


@dataclass(eq=False)
class Walking:
    """One KS/Wasserstein pair (a: n values, b: m values) while it is walked: the exact integral
    of |i·m − j·n| over x found so far (in units of 2**-UNIT) and its largest value at a data point."""

    a: Sample
    b: Sample
    integral: int = 0
    best: int = 0
    floor: int = 0  # the largest |i·m − j·n| known after a bucket (what a bucket must exceed to matter)
    pending: int = 0  # copied buckets whose values have not all arrived

    @property
    def sizes(self) -> tuple[int, int]:
        return self.a.count, self.b.count


@dataclass(eq=False)
class Group:
    """The values of one or two samples (sides) in [low, high], split into `buckets` in a round."""

    family: int  # groups of one family are disjoint intervals of the same samples: one branch reads them
    sides: tuple[Sample, ...]
    low: float
    high: float
    counts: tuple[int, ...]  # each side's values in the interval
    buckets: int = 1
    below: tuple[int, ...] = (0, 0)  # each side's values under the interval
    ranks: tuple[np.ndarray | None, ...] = (None, None)  # each side's wanted ranks (absolute)
    selections: tuple[Selection | None, ...] = (None, None)  # where each side's ranks go
    moments: tuple[Moments | None, ...] = (None, None)  # first round only
    walk: Walking | None = None
    end: float | None = None  # a walk's next value after the interval (None: none)
    index: int = -1  # its number in the round's query

    def __post_init__(self) -> None:
        self.split = _Split.of(self.low, self.high, self.buckets)

    @property
    def sums(self) -> bool:
        return self.walk is not None or any(m is not None for m in self.moments)

    def digits(self, side: int) -> bool:
        """Whether the round sums this side's values (a walk: both sides; moments: that side)."""
        return self.walk is not None or (side < len(self.moments) and self.moments[side] is not None)


@dataclass(eq=False)
class Gather:
    """Copy to the driver the values of one side of a group's bucket (or of a whole sample)."""

    sample: Sample
    low: float
    high: float
    count: int
    parent: Group | None  # the group whose bucket `bucket` it is (None: the whole sample)
    bucket: int = -1
    selection: tuple[Selection, int, np.ndarray | None] | None = None  # (selection, values below, ranks: None = all)
    segment: tuple[dict, int] | None = None  # a walk's bucket (see Rounds._walk_buckets) and the side


@dataclass
class _Split:
    """How [low, high] is cut into buckets: bucket = floor(((v·h − low·h)·2**p)·scale)."""

    low: float
    high: float
    buckets: int
    half: float
    power: int
    scale: float

    @staticmethod
    def of(low: float, high: float, buckets: int) -> _Split:
        half = 1.0 if math.isfinite(high - low) else 0.5
        span = high * half - low * half
        if buckets <= 1 or not span > 0:
            return _Split(low, high, 1, half, 0, 0.0)
        power = 1 - math.frexp(span)[1]  # span·2**p in [1, 2): no overflow of the scale
        scale = buckets / math.ldexp(span, power)
        return _Split(low, high, buckets, half, power, scale)

    def bucket_sql(self, v: str) -> str:
        if self.buckets <= 1:
            return "0"
        h = double(self.half)
        offset = f"({v} * {h} - {double(self.low * self.half)})"
        position = f"({scaled(offset, self.power)} * {double(self.scale)})"
        # clamped before the cast: a value outside the interval (where the caller's filter has not
        # been applied yet) is a bucket at an end, never an overflow
        return f"CAST(FLOOR(LEAST({double(self.buckets - 1)}, GREATEST(0.0D, {position}))) AS INT)"

    def member_sql(self, v: str) -> str:
        return f"({v} >= {double(self.low)} AND {v} <= {double(self.high)})"


def _this_round(groups: list[Group]) -> list[Group]:
    """At most MAX_INTERVALS groups of a family (one branch's CASE over their intervals); the
    others wait for a later round."""
    taken: dict[int, int] = {}
    chosen = []
    for group in groups:
        if taken.get(group.family, 0) < MAX_INTERVALS:
            taken[group.family] = taken.get(group.family, 0) + 1
            chosen.append(group)
    return chosen


def bucket_count(count: int, per_bucket: int, most: int | None = None) -> int:
    return int(min(MAX_BUCKETS if most is None else most, max(MIN_BUCKETS, math.ceil(count / per_bucket))))


def walk_bucket_count(count: int) -> int:
    """A walk's buckets: WALK_BUCKET_VALUES values each, so that its ECDF difference — which wanders
    ~sqrt(n) from zero — rarely changes sign within one (they never come to the driver whole)."""
    return bucket_count(count, WALK_BUCKET_VALUES, max(MAX_BUCKETS, MAX_WALK_BUCKETS))


# ---- the rounds -------------------------------------------------------------------------------------------
class Rounds:
    """The bucket rounds of one scan. Callers say what they want — `ranks(...)` (a Selection),
    `moments(...)`, `walk(...)` — then `run()` computes all of it together."""

    def __init__(self, runner: Runner, what: str):
        self.runner, self.what = runner, what
        self.groups: list[Group] = []
        self.gathers: list[Gather] = []
        self.families = 0
        self.rank_families: dict[tuple[int, int], int] = {}
        self.walks: list[Walking] = []

    # ---- what is asked -----------------------------------------------------------------------------
    def ranks(self, sample: Sample, ranks: np.ndarray | None, moments: Moments | None = None,
              selection: Selection | None = None) -> Selection:
        """The order statistics of `sample` at `ranks` (None: every value, sorted) into `selection`
        (a new one by default), and its moments if asked."""
        selection = Selection() if selection is None else selection
        if ranks is not None:
            ranks = np.unique(np.asarray(ranks, dtype=np.int64))
        if sample.count == 0:
            selection.values = np.empty(0) if ranks is None else None
        elif ranks is None:
            self.gathers.append(Gather(sample, sample.low, sample.high, sample.count, None, selection=(selection, 0, None)))
        elif sample.low == sample.high:
            _resolve(selection, 0, ranks, np.full(sample.count, sample.low))
        elif len(ranks):
            group = self._group((sample,), bucket_count(sample.count, BUCKET_VALUES), (moments,))
            group.ranks, group.selections = (ranks,), (selection,)
            return selection
        if moments is not None:
            self.moments(sample, moments)
        return selection

    def moments(self, sample: Sample, moments: Moments) -> None:
        """Σv and Σ(v − shift)² of `sample`, exactly (filled into `moments`)."""
        if sample.count:
            self._group((sample,), 1, (moments,))

    def walk(self, a: Sample, b: Sample, selections: tuple[Selection | None, Selection | None] = (None, None),
             ranks: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
             moments: tuple[Moments | None, Moments | None] = (None, None)) -> Walking:
        """KS D and W1 of samples a and b (both non-empty), computed by `run()` (walk_result);
        also each side's order statistics at `ranks` and moments, from the same buckets."""
        if a.count * b.count >= 2 ** 62:
            raise CheckError(f"the KS statistic of samples of {a.count:,} and {b.count:,} values exceeds the exact "
                             "integer range of the Spark engine")
        pair = Walking(a, b)
        self.walks.append(pair)
        group = self._group((a, b), walk_bucket_count(a.count + b.count), moments)
        group.walk = pair
        group.ranks = tuple(None if r is None else np.unique(np.asarray(r, dtype=np.int64)) for r in ranks)
        group.selections = selections
        return pair

    def _group(self, sides: tuple[Sample, ...], buckets: int, moments: tuple) -> Group:
        low, high = min(s.low for s in sides), max(s.high for s in sides)
        group = Group(self.families, sides, low, high, tuple(s.count for s in sides), buckets if low < high else 1,
                      tuple(0 for _ in sides), tuple(None for _ in sides), tuple(None for _ in sides),
                      tuple(moments)[:len(sides)])
        self.families += 1
        self.groups.append(group)
        return group

    # ---- running ---------------------------------------------------------------------------------------
    def run(self) -> None:
        groups, gathers = self.groups, self.gathers
        waiting: list[Group] = []
        for _ in range(MAX_ROUNDS):
            if not groups and not gathers:
                break
            table = self._query(groups, gathers)
            self.budget = GATHER_BUDGET
            following: list[Group] = []
            next_gathers: list[Gather] = []
            self._take_gathered(gathers, table)
            rows = _rows_by_group(table)
            for group in groups:
                self._take_buckets(group, rows.get(group.index), following, next_gathers)
            groups, gathers = _this_round(following + waiting), next_gathers
            chosen = {id(g) for g in groups}
            waiting = [g for g in following + waiting if id(g) not in chosen]
        else:
            raise CheckError(f"the order statistics of {self.what} did not converge in {MAX_ROUNDS} rounds")
        for pair in self.walks:
            if pair.pending:
                raise CheckError(f"the values of {self.what} changed while they were read (a bucket was not copied whole)")

    def _copy(self, count: int) -> bool:
        """Whether a bucket of `count` values is copied next round (else it is split again)."""
        if count <= GATHER_MAX and count <= self.budget:
            self.budget -= count
            return True
        return False

    # ---- the query ---------------------------------------------------------------------------------------
    def _query(self, groups: list[Group], gathers: list[Gather]):
        frames: dict[int, tuple[str, Any]] = {}

        def frame_of(sample: Sample) -> str:
            if id(sample.frame) not in frames:
                frames[id(sample.frame)] = (f"f{len(frames)}", sample.frame)
            return frames[id(sample.frame)][0]

        def keys_table(keys: list[int]) -> str:
            """Many bucket keys as a small DataFrame (a semi-join) rather than a list in the text."""
            import pyarrow as pa

            table = self.runner.frame(pa.table({"k": pa.array(keys, pa.int64())}))
            frames[id(table)] = (f"k{len(frames)}", table)
            return frames[id(table)][0]

        for index, group in enumerate(groups):
            group.index = index
        summed = _summed(groups)
        columns = _result_columns(summed)
        pieces = []
        if groups:
            pieces.append(_buckets_sql(groups, frame_of, summed, columns))
        self.gathered: list[tuple[Sample, list[Gather]]] = []
        if gathers:
            by_sample: dict[int, tuple[Sample, list[Gather]]] = {}
            for gather in gathers:
                by_sample.setdefault(id(gather.sample), (gather.sample, []))[1].append(gather)
            self.gathered = list(by_sample.values())
            pieces.append(_gathers_sql(self.gathered, frame_of, columns, keys_table))
        what = f"bucket counts of {self.what}" if groups else f"the values near the wanted ranks of {self.what}"
        return self.runner.table(" UNION ALL ".join(pieces), what, **{name: frame for name, frame in frames.values()})

    # ---- reading a round's results ------------------------------------------------------------------------
    def _take_gathered(self, gathers: list[Gather], table) -> None:
        if not gathers:
            return
        import pyarrow.compute as pc

        copied = table.filter(pc.equal(table.column("kind"), 1))
        numbers = copied.column("g").to_numpy(zero_copy_only=False)
        values = copied.column("lo0").to_numpy(zero_copy_only=False).astype(np.float64)
        for number, (_, members) in enumerate(self.gathered):
            found = np.sort(values[numbers == number])
            for gather in members:
                start = int(np.searchsorted(found, gather.low, side="left"))
                stop = int(np.searchsorted(found, gather.high, side="right"))
                if stop - start != gather.count:
                    raise CheckError(f"the values of {self.what} changed while they were read "
                                     f"({stop - start} values where {gather.count} were counted)")
                mine = found[start:stop]
                if gather.selection is not None:
                    selection, below, ranks = gather.selection
                    if ranks is None:
                        selection.values = mine
                    else:
                        _resolve(selection, below, ranks, mine)
                if gather.segment is not None:
                    _segment_side(*gather.segment, mine)

    def _take_buckets(self, group: Group, rows: dict | None, following: list[Group], gathers: list[Gather]) -> None:
        if rows is None:
            raise CheckError(f"the values of {self.what} changed while they were read (a bucket round came back empty)")
        for side, expected in enumerate(group.counts):
            found = int(rows[f"c{side}"][-1]) + int(rows[f"n{side}"][-1])
            if found != expected:
                raise CheckError(f"the values of {self.what} changed while they were read "
                                 f"({found} values where {expected} were counted)")
        for side, moments in enumerate(group.moments):
            if moments is not None:
                _take_moments(moments, rows, side)
        for side, ranks in enumerate(group.ranks):
            selection = group.selections[side] if side < len(group.selections) else None
            if ranks is not None and len(ranks) and selection is not None:
                self._rank_buckets(group, side, selection, rows, following, gathers)
        if group.walk is not None:
            self._walk_buckets(group, rows, following, gathers)

    def _rank_buckets(self, group: Group, side: int, selection: Selection, rows: dict, following, gathers) -> None:
        ranks = group.ranks[side]
        assert ranks is not None
        sample = group.sides[side]
        for at in range(len(rows["k"])):
            count, before = int(rows[f"n{side}"][at]), group.below[side] + int(rows[f"c{side}"][at])
            inside = ranks[(ranks >= before) & (ranks < before + count)]
            if not len(inside):
                continue
            low, high = float(rows[f"lo{side}"][at]), float(rows[f"hi{side}"][at])
            if low == high:
                _resolve(selection, before, inside, np.full(count, low))
            elif self._copy(count):
                gathers.append(Gather(sample, low, high, count, group, int(rows["k"][at]), selection=(selection, before, inside)))
            else:
                child = Group(self._rank_family(group, side), (sample,), low, high, (count,),
                              bucket_count(count, BUCKET_VALUES), (before,), (inside,), (selection,), (None,))
                following.append(child)

    def _rank_family(self, group: Group, side: int) -> int:
        """The family of a rank bucket split again: the group's own, unless the group is a walk's
        (whose buckets are split for the walk too: the intervals of one family must not overlap)."""
        if group.walk is None:
            return group.family
        key = (group.family, side)
        if key not in self.rank_families:
            self.rank_families[key] = self.families
            self.families += 1
        return self.rank_families[key]

    # ---- a walk's buckets ---------------------------------------------------------------------------------
    def _walk_buckets(self, group: Group, rows: dict, following, gathers) -> None:
        """The runs of buckets where i·m − j·n keeps its sign (their integral from the exact sums),
        and the buckets where it may change sign or exceed the largest value known (copied, or
        split again)."""
        pair = group.walk
        assert pair is not None
        pair.floor = max(pair.floor, int(rows["lb"][0]))
        i0, j0 = group.below
        digits = (ExactSum(group.sides[0].exponent), ExactSum(group.sides[1].exponent))
        returned = len(rows["k"])
        for at in range(returned):
            n0, n1 = int(rows["n0"][at]), int(rows["n1"][at])
            low = _joint(rows["lo0"][at], rows["lo1"][at], min)
            high = _joint(rows["hi0"][at], rows["hi1"][at], max)
            end = group.end if at == returned - 1 and _is_null(rows["nxt"][at]) else float(rows["nxt"][at])
            i, j = i0 + int(rows["c0"][at]), j0 + int(rows["c1"][at])
            if int(rows["sgn"][at]) != 0 and int(rows["dmax"][at]) <= pair.floor:
                _integrate(pair, low, high if end is None else end, i, j, n0, n1,
                           _bucket_sum(digits[0], rows, "a0", at), _bucket_sum(digits[1], rows, "a1", at))
            elif low == high:  # one value: i·m − j·n after it, until the next value
                after = abs((i + n0) * pair.b.count - (j + n1) * pair.a.count)
                pair.best = max(pair.best, after)
                if end is not None:
                    pair.integral += after * (_units(end) - _units(low))
            elif self._copy(n0 + n1):
                segment = {"pair": pair, "i": i, "j": j, "end": end, "values": [None, None],
                           "waiting": (n0 > 0) + (n1 > 0)}
                pair.pending += 1
                for side, count in ((0, n0), (1, n1)):
                    if count:
                        gathers.append(Gather(group.sides[side], float(rows[f"lo{side}"][at]), float(rows[f"hi{side}"][at]),
                                              count, group, int(rows["k"][at]), segment=(segment, side)))
            else:
                child = Group(group.family, group.sides, low, high, (n0, n1), walk_bucket_count(n0 + n1),
                              (i, j), (None, None), (None, None), (None, None))
                child.walk, child.end = pair, end
                following.append(child)
            if at + 1 < returned:  # the buckets up to the next one returned: all of one sign, no maximum
                gap_i = int(rows["c0"][at + 1]) - int(rows["c0"][at]) - n0
                gap_j = int(rows["c1"][at + 1]) - int(rows["c1"][at]) - n1
                if gap_i or gap_j:
                    assert end is not None
                    _integrate(pair, end, _joint(rows["lo0"][at + 1], rows["lo1"][at + 1], min), i + n0, j + n1,
                               gap_i, gap_j, _between_sum(digits[0], rows, "a0", at), _between_sum(digits[1], rows, "a1", at))


# ---- SQL pieces --------------------------------------------------------------------------------------------
def _summed(groups: list[Group]) -> list[tuple[str, int]]:
    """The sums a round computes: ("a", side) the values' digits (moments, walks), ("q", side)
    the squared deviations' (moments); each as LIMBS digit columns and a residual."""
    found = {("a", side) for g in groups for side in range(len(g.sides)) if g.digits(side)}
    found |= {("q", side) for g in groups for side, m in enumerate(g.moments) if m is not None and m.second is not None}
    return sorted(found)


def _summed_columns(summed: list[tuple[str, int]]) -> list[str]:
    return [f"{x}{side}_{j}" for x, side in summed for j in range(LIMBS + 1)]


def _result_columns(summed: list[tuple[str, int]]) -> list[tuple[str, str]]:
    """The columns of a round's result, (name, SQL type): bucket rows (kind 0) and copied values
    (kind 1: g the sample, lo0 the value)."""
    columns = [("kind", "INT"), ("g", "INT"), ("k", "INT")]
    for side in (0, 1):
        columns += [(f"n{side}", "BIGINT"), (f"lo{side}", "DOUBLE"), (f"hi{side}", "DOUBLE"), (f"c{side}", "BIGINT")]
    columns += [("nxt", "DOUBLE"), ("sgn", "INT"), ("dmax", "BIGINT"), ("lb", "BIGINT")]
    for name in _summed_columns(summed):
        kind = "DOUBLE" if name.endswith(f"_{LIMBS}") else "BIGINT"
        columns += [(name, kind), (f"c{name}", kind)]
    return columns


def _as(expression: str, kind: str, name: str) -> str:
    return f"CAST({expression} AS {kind}) AS {name}"


def _buckets_sql(groups: list[Group], frame_of, summed: list[tuple[str, int]], columns: list[tuple[str, str]]) -> str:
    """The bucket table of every group (one GROUP BY over one branch per sample and family), its
    running sums in bucket order, and the rows the driver needs."""
    families: dict[tuple[int, int], list[Group]] = {}
    for group in groups:
        for side in range(len(group.sides)):
            families.setdefault((group.family, side), []).append(group)
    branches = [_branch_sql(members[0].sides[side], side, members, frame_of(members[0].sides[side]), summed)
                for (_, side), members in families.items()]
    aggregates = [f"CAST(gk DIV {KEY_STRIDE} AS INT) AS g", f"CAST(gk % {KEY_STRIDE} AS INT) AS k"]
    for side in (0, 1):
        aggregates += [f"count(v{side}) AS n{side}", f"min(v{side}) AS lo{side}", f"max(v{side}) AS hi{side}"]
    aggregates += [f"sum({name}) AS {name}" for name in _summed_columns(summed)]
    table = f"SELECT {', '.join(aggregates)} FROM ({' UNION ALL '.join(branches)}) GROUP BY gk"
    ordered = "PARTITION BY g ORDER BY k"
    running = f"{ordered} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    walks = [g for g in groups if g.walk is not None]
    cumulative = [f"sum(n{s}) OVER ({running}) - n{s} AS c{s}" for s in (0, 1)]
    for name in _summed_columns(summed):
        # the sums before each bucket where a walk integrates runs of buckets; else the group's
        # total less the bucket's own (what the moments read off the last bucket)
        frame = running if walks and name.startswith("a") else "PARTITION BY g"
        cumulative.append(f"sum({name}) OVER ({frame}) - {name} AS c{name}")
    level = f"SELECT b.*, {', '.join(cumulative)}, lead(least(lo0, lo1)) OVER ({ordered}) AS nxt FROM ({table}) b"
    level = _walk_status_sql(level, walks, ordered) if walks else \
        f"SELECT *, 0 AS sgn, 0L AS dmax, 0L AS lb, 0 AS keep_walk FROM ({level})"
    keep = ["nxt IS NULL", "keep_walk = 1"]
    for side in (0, 1):
        wanted = [(g, ranks) for g in groups if side < len(g.ranks) and (ranks := g.ranks[side]) is not None and len(ranks)]
        if wanted:  # the ranks within each group's interval
            cases = " ".join(f"WHEN {g.index} THEN array({', '.join(f'{int(r) - g.below[side]}L' for r in ranks)})"
                             for g, ranks in wanted)
            keep.append(f"exists(CASE g {cases} END, r -> r >= c{side} AND r < c{side} + n{side})")
    select = ", ".join(_as("0" if name == "kind" else name, kind, name) for name, kind in columns)
    return f"SELECT {select} FROM ({level}) WHERE {' OR '.join(keep)}"


def _branch_sql(sample: Sample, side: int, groups: list[Group], frame: str, summed: list[tuple[str, int]]) -> str:
    """One sample's values in the round's groups of one family: group and bucket key, value, and
    the digits of the sums the group wants (the same columns in the same order in every branch:
    UNION ALL matches them by position)."""
    if len(groups) == 1 and groups[0].low <= sample.low and groups[0].high >= sample.high:
        key = f"{groups[0].index} * {KEY_STRIDE} + {groups[0].split.bucket_sql('v')}"
    else:
        cases = " ".join(f"WHEN {g.split.member_sql('v')} THEN {g.index} * {KEY_STRIDE} + {g.split.bucket_sql('v')}"
                         for g in groups)
        key = f"CASE {cases} END"
    inner = f"SELECT CAST({key} AS BIGINT) AS gk, v FROM ({sample.column.values_sql(frame)})"
    group, other = groups[0], 1 - side
    moments = group.moments[side] if side < len(group.moments) else None
    squares = moments is not None and moments.second is not None and ("q", side) in summed
    if squares:
        assert moments is not None
        # v·scale − shift·scale (Moments): scale 1 leaves v − shift as it is, 2**-576 scales exactly
        deviation = f"(v * {double(moments.scale)} - {double(moments.shift * moments.scale)})"
        inner = f"SELECT gk, v, {deviation} * {deviation} AS w FROM ({inner})"
    values = {side: "v", other: "CAST(NULL AS DOUBLE)"}
    columns = ["gk", f"{values[0]} AS v0", f"{values[1]} AS v1"]
    found = {("a", side): ExactSum(sample.exponent).parts("v") if group.digits(side) else [],
             ("q", side): moments.second.parts("w") if squares else []}  # type: ignore[union-attr]
    for x, s in summed:
        mine = found.get((x, s), [])
        for j in range(LIMBS + 1):
            zero = "0.0D" if j == LIMBS else "0L"
            columns.append(f"{_pad(mine, j, LIMBS + 1) if mine else zero} AS {x}{s}_{j}")
    return f"SELECT {', '.join(columns)} FROM ({inner}) WHERE gk IS NOT NULL"


def _pad(found: list[str], j: int, parts: int) -> str:
    """Column j of an ExactSum with fewer digits than LIMBS (tiny values): its digits first, then 0,
    its residual last."""
    digits, residual = found[:-1], found[-1]
    if j == parts - 1:
        return residual
    return digits[j] if j < len(digits) else "0L"


def _walk_status_sql(level: str, walks: list[Group], ordered: str) -> str:
    """For walk groups: i·m − j·n before each bucket (g0) and after it (g1), its sign within the
    bucket (sgn: 1, −1, or 0 when it may change), the largest |i·m − j·n| it may reach at a data
    point (dmax), the largest after any bucket of the group (lb); which buckets the driver needs
    (keep_walk): those of sign 0 or that may hold a new maximum, and the ends of the runs between."""
    def case(values: dict[int, int]) -> str:
        return "(CASE g " + " ".join(f"WHEN {g} THEN {bigint(v)}" for g, v in values.items()) + " ELSE 0L END)"

    assert all(g.walk is not None for g in walks)
    i0 = case({g.index: g.below[0] for g in walks})
    j0 = case({g.index: g.below[1] for g in walks})
    n = case({g.index: g.walk.a.count for g in walks})  # type: ignore[union-attr]
    m = case({g.index: g.walk.b.count for g in walks})  # type: ignore[union-attr]
    floor = case({g.index: g.walk.floor for g in walks})  # type: ignore[union-attr]
    walked = f"g IN ({', '.join(str(g.index) for g in walks)})"
    level = f"SELECT *, ({i0} + c0) * {m} - ({j0} + c1) * {n} AS g0, {n} AS wn, {m} AS wm, {floor} AS wfloor FROM ({level})"
    level = (f"SELECT *, g0 + n0 * wm - n1 * wn AS g1, "
             f"CASE WHEN g0 - n1 * wn >= 0 THEN 1 WHEN g0 + n0 * wm <= 0 THEN -1 ELSE 0 END AS sgn, "
             f"CASE WHEN n0 > 0 AND n1 > 0 THEN greatest(abs(g0 - n1 * wn), abs(g0 + n0 * wm)) "
             f"ELSE greatest(abs(g0), abs(g0 + n0 * wm - n1 * wn)) END AS dmax FROM ({level})")
    level = (f"SELECT *, max(abs(g1)) OVER (PARTITION BY g) AS lb, lag(sgn) OVER ({ordered}) AS ps, "
             f"lead(sgn) OVER ({ordered}) AS ns FROM ({level})")
    keep = (f"CASE WHEN {walked} AND (sgn = 0 OR dmax > greatest(lb, wfloor) OR ps IS NULL OR ns IS NULL "
            f"OR ps != sgn OR ns != sgn) THEN 1 ELSE 0 END")
    return f"SELECT *, {keep} AS keep_walk FROM ({level})"


def _gathers_sql(gathered: list[tuple[Sample, list[Gather]]], frame_of, columns: list[tuple[str, str]],
                 keys_table) -> str:
    values = {"kind": "1", "g": "s", "lo0": "v"}
    select = ", ".join(_as(values.get(name, "NULL"), kind, name) for name, kind in columns)
    parts = [f"SELECT {number} AS s, v FROM ({sample.column.values_sql(frame_of(sample))}) "
             f"WHERE {_gather_condition(members, keys_table)}" for number, (sample, members) in enumerate(gathered)]
    return f"SELECT {select} FROM ({' UNION ALL '.join(parts)})"


MANY_KEYS = 2_000  # bucket keys beyond which a round reads them from a small DataFrame


def _gather_condition(gathers: list[Gather], keys_table) -> str:
    """The rows of the copied buckets: by value range for a few, by bucket key (a hash set) for
    many, from a small DataFrame (a semi-join) for very many."""
    if any(g.parent is None for g in gathers):
        return "TRUE"
    by_parent: dict[int, tuple[Group, list[Gather]]] = {}
    for gather in gathers:
        assert gather.parent is not None
        by_parent.setdefault(id(gather.parent), (gather.parent, []))[1].append(gather)
    conditions = []
    for parent, members in by_parent.values():
        if len(members) <= 8:
            conditions += [f"(v >= {double(g.low)} AND v <= {double(g.high)})" for g in members]
        else:
            keys = sorted({g.bucket for g in members})
            listed = f"SELECT k FROM {{{keys_table(keys)}}}" if len(keys) > MANY_KEYS else ", ".join(str(k) for k in keys)
            conditions.append(f"({parent.split.member_sql('v')} AND {parent.split.bucket_sql('v')} IN ({listed}))")
    return " OR ".join(conditions)


# ---- reading rows -------------------------------------------------------------------------------------------
def _rows_by_group(table) -> dict[int, dict[str, np.ndarray]]:
    """The bucket rows (kind 0) of each group, in bucket order, as arrays by column."""
    import pyarrow.compute as pc

    buckets = table.filter(pc.equal(table.column("kind"), 0))
    if buckets.num_rows == 0:
        return {}
    buckets = buckets.sort_by([("g", "ascending"), ("k", "ascending")])
    columns = {name: buckets.column(name).to_numpy(zero_copy_only=False) for name in buckets.column_names}
    found: dict[int, dict[str, np.ndarray]] = {}
    groups = columns["g"]
    starts = np.flatnonzero(np.concatenate([[True], groups[1:] != groups[:-1]]))
    stops = np.append(starts[1:], len(groups))
    for start, stop in zip(starts.tolist(), stops.tolist()):
        found[int(groups[start])] = {name: values[start:stop] for name, values in columns.items()}
    return found


def _is_null(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _joint(a, b, choose) -> float:
    return choose(float(x) for x in (a, b) if not _is_null(x))


def _unpad(parts: list, digits: ExactSum) -> list:
    """The padded columns back to an ExactSum's own digits and residual."""
    return [*parts[:digits.limbs], parts[LIMBS]]


def _bucket_sum(digits: ExactSum, rows: dict, prefix: str, at: int) -> Fraction:
    """The exact sum of one side's values in returned bucket `at`."""
    return digits.value(_unpad([rows[f"{prefix}_{j}"][at] for j in range(LIMBS + 1)], digits))


def _between_sum(digits: ExactSum, rows: dict, prefix: str, at: int) -> Fraction:
    """The exact sum of one side's values strictly between returned buckets `at` and `at + 1`."""
    parts: list = []
    for j in range(LIMBS + 1):
        after = rows[f"c{prefix}_{j}"][at + 1]
        before = rows[f"c{prefix}_{j}"][at] + rows[f"{prefix}_{j}"][at]
        parts.append(int(after) - int(before) if j < LIMBS else float(after) - float(before))
    return digits.value(_unpad(parts, digits))


def _take_moments(moments: Moments, rows: dict, side: int) -> None:
    def total(prefix: str, exact: ExactSum) -> Fraction:
        parts: list = []
        for j in range(LIMBS + 1):
            own, before = rows[f"{prefix}{side}_{j}"][-1], rows[f"c{prefix}{side}_{j}"][-1]
            parts.append(int(own) + int(before) if j < LIMBS else float(own) + float(before))
        return exact.value(_unpad(parts, exact))

    moments.total = total("a", moments.first)
    if moments.second is not None:
        moments.squares = total("q", moments.second)


def _resolve(selection: Selection, below: int, ranks, values: np.ndarray) -> None:
    """The sorted values of an interval (`below` values under it) are known: its wanted ranks."""
    for rank in np.asarray(ranks).tolist():
        value = float(values[rank - below])
        selection.value[rank] = value
        selection.below[rank] = below + int(np.searchsorted(values, value, side="left"))


# ---- the walk, exactly ------------------------------------------------------------------------------------
def _units(x: float) -> int:
    """x in units of 2**-UNIT, exactly."""
    numerator, denominator = float(x).as_integer_ratio()
    return numerator << (UNIT - denominator.bit_length() + 1)


def _fraction_units(value: Fraction) -> int:
    numerator, denominator = value.numerator, value.denominator
    shift = UNIT - denominator.bit_length() + 1
    if shift < 0:  # a residual below 2**-UNIT (never from doubles): round to the unit
        return round(Fraction(numerator << UNIT, denominator))
    return numerator << shift


def _integrate(pair: Walking, x_low: float, x_high: float, i: int, j: int, count_a: int, count_b: int,
               sum_a: Fraction, sum_b: Fraction) -> None:
    """Add ∫ |i(x)·m − j(x)·n| dx over [x_low, x_high], where it keeps its sign: i values of a and
    j of b lie below x_low, count_a (summing to sum_a) and count_b (sum_b) in [x_low, x_high).
    ∫ i(x) dx = i·(x_high − x_low) + count_a·x_high − sum_a, exactly (in units of 2**-UNIT)."""
    n, m = pair.sizes
    width, top = _units(x_high) - _units(x_low), _units(x_high)
    a_part = i * width + count_a * top - _fraction_units(sum_a)
    b_part = j * width + count_b * top - _fraction_units(sum_b)
    pair.integral += abs(m * a_part - n * b_part)


def _segment_side(segment: dict, side: int, values: np.ndarray) -> None:
    """One side of a copied walk bucket arrived; with both, the bucket is walked."""
    segment["values"][side] = values
    segment["waiting"] -= 1
    if segment["waiting"] == 0:
        pair = segment["pair"]
        pair.pending -= 1
        a, b = (np.empty(0) if v is None else v for v in segment["values"])
        _walk_segment(pair, a, b, segment["i"], segment["j"], segment["end"])


def _walk_segment(pair: Walking, a: np.ndarray, b: np.ndarray, i: int, j: int, end: float | None) -> None:
    """The merge walk over the copied values of one bucket (a, b sorted), i values of a and j of b
    below it: |i·m − j·n| after each distinct value (KS D), times the gap to the next value —
    the DOUBLE products the local walk forms, summed exactly."""
    n, m = pair.sizes
    distinct = np.unique(np.concatenate([a, b]))
    if not distinct.size:
        return
    after = (i + np.searchsorted(a, distinct, side="right")) * m - (j + np.searchsorted(b, distinct, side="right")) * n
    after = np.abs(after)
    pair.best = max(pair.best, int(after.max()))
    following = np.append(distinct[1:], distinct[-1] if end is None else end)
    with np.errstate(over="ignore", invalid="ignore"):
        terms = after.astype(np.float64) * (following - distinct)
    if np.all(np.isfinite(terms)):
        pair.integral += _fraction_units(Fraction(math.fsum(terms.tolist())))
    else:  # values near float64's limit: gaps or products beyond it, summed exactly in integers
        points = [_units(x) for x in np.append(distinct, following[-1]).tolist()]
        pair.integral += sum(int(g) * (points[t + 1] - points[t]) for t, g in enumerate(after.tolist()))


def walk_result(pair: Walking) -> tuple[float, Fraction]:
    """(KS D, W1 exactly) of a walked pair."""
    n, m = pair.sizes
    best = max(pair.best, pair.floor)
    return best / (float(n) * float(m)), Fraction(pair.integral, 2 ** UNIT * n * m)
