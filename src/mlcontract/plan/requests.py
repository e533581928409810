"""Statistic requests: the units of work a backend computes and the planner deduplicates.

A request is a frozen, hashable description ("the sorted finite values of `age` in
`production`"). Measures (plan/measures.py, models/) ask for requests; a backend (engines/) fills them in.
Requests never know which checks asked for them.

Each request class also carries its algebra, the same for every engine: its `order` in a scan's
listing (`mlc plan`), whether partial results over batches merge (`mergeable`), how two partial
results combine (`merge`) and what it is over zero batches (`empty`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import CheckError


@dataclass(frozen=True)
class Request:
    """Base. `dataset` is the dataset a scan reads to compute it (None: no scan)."""

    order: ClassVar[int] = 100  # where it is listed among a column's requests in a scan

    @property
    def dataset(self) -> str | None:  # pragma: no cover - overridden
        return None

    @property
    def column(self) -> str | None:
        return None

    def depends_on(self) -> tuple[Request, ...]:
        return ()

    @property
    def mergeable(self) -> bool:
        """Partial results over batches merge into the whole result, so a scan made only of
        mergeable requests streams the dataset in bounded memory."""
        return True

    def merge(self, left: Any, right: Any) -> Any:
        """The result over two batches from the results over each (counts add up)."""
        return left + right

    def empty(self, got: dict) -> Any:
        """The result over zero batches (an empty dataset)."""
        return 0

    def describe(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


# ---- data ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowCount(Request):
    of: str

    order: ClassVar[int] = 0

    @property
    def dataset(self) -> str:
        return self.of

    def describe(self) -> str:
        return "rows"


@dataclass(frozen=True)
class SchemaOf(Request):
    of: str

    order: ClassVar[int] = 1

    @property
    def dataset(self) -> str:
        return self.of

    def describe(self) -> str:
        return "schema"


@dataclass(frozen=True)
class ColumnRequest(Request):
    of: str
    name: str

    @property
    def dataset(self) -> str:
        return self.of

    @property
    def column(self) -> str:
        return self.name


@dataclass(frozen=True)
class Summary(ColumnRequest):
    """One fused kernel pass: rows, nulls, NaN, ±inf, finite count, min, max, mean, m2."""

    order: ClassVar[int] = 2

    def merge(self, left, right):
        return left.merge(right)  # NumericSummary.merge: Chan et al.'s update

    def empty(self, got: dict):
        from .._kernels import NumericSummary

        return NumericSummary.empty()

    def describe(self) -> str:
        return f"summary({self.name})"


@dataclass(frozen=True)
class SortedValues(ColumnRequest):
    """The finite values, sorted (quantiles, KS, Wasserstein)."""

    order: ClassVar[int] = 4

    @property
    def mergeable(self) -> bool:
        return False

    def describe(self) -> str:
        return f"sorted({self.name})"


@dataclass(frozen=True)
class Counts(ColumnRequest):
    """Value counts of the non-null (and non-NaN) values, plus the null count."""

    order: ClassVar[int] = 3

    def merge(self, left, right):
        return left.merge(right)  # CountsResult.merge: counts of the same value add up

    def empty(self, got: dict):
        from .values import CountsResult

        return CountsResult.empty()

    def describe(self) -> str:
        return f"counts({self.name})"


@dataclass(frozen=True)
class Edges(ColumnRequest):
    """Inner quantile bin edges of this dataset's column: its quantiles at 1/bins … (bins−1)/bins."""

    order: ClassVar[int] = 5

    bins: int = 10

    @property
    def mergeable(self) -> bool:
        return False  # exact quantiles need every value

    def describe(self) -> str:
        return f"edges({self.name}, {self.bins} bins)"


@dataclass(frozen=True)
class Histogram(ColumnRequest):
    """Counts of this dataset's finite values on some dataset's edges (its own, or the `vs`
    dataset's). On its own edges it is computed in the same scan, after the edges."""

    order: ClassVar[int] = 6

    edges: Edges = None  # type: ignore[assignment]

    def depends_on(self) -> tuple[Request, ...]:
        return (self.edges,)

    @property
    def mergeable(self) -> bool:
        return self.edges.of != self.of

    def empty(self, got: dict):
        import numpy as np

        edges = got.get(self.edges)
        if edges is None:
            raise CheckError(f"{self.edges.describe()} was not computed")
        if isinstance(edges, BaseException):
            raise edges
        return np.zeros(len(edges) + 1, dtype=np.int64)  # one more bin than edges, all empty

    def describe(self) -> str:
        source = "own" if self.edges.of == self.of else f"{self.edges.of}'s"
        return f"histogram({self.name} on {source} {self.edges.bins}-bin edges)"


@dataclass(frozen=True)
class SampleWalk(ColumnRequest):
    """KS D and Wasserstein W1 of this dataset's column against `against`'s, from one merge
    walk over both sorted samples (computed in this dataset's scan, after `against`'s)."""

    order: ClassVar[int] = 7

    against: str = ""

    def depends_on(self) -> tuple[Request, ...]:
        return (SortedValues(self.against, self.name),)

    @property
    def mergeable(self) -> bool:
        return False

    def describe(self) -> str:
        return f"ks+wasserstein walk({self.name} vs {self.against})"


@dataclass(frozen=True)
class OutsideCount(ColumnRequest):
    """Number of non-null, non-NaN values outside [low, high] (±inf included)."""

    order: ClassVar[int] = 8

    low: float = float("-inf")
    high: float = float("inf")

    def describe(self) -> str:
        return f"outside({self.name}, [{self.low:g}, {self.high:g}])"


@dataclass(frozen=True)
class OutsideRange(ColumnRequest):
    """Number of non-null, non-NaN values outside another dataset's finite [min, max]."""

    order: ClassVar[int] = 9

    bounds: Summary = None  # type: ignore[assignment]

    def depends_on(self) -> tuple[Request, ...]:
        return (self.bounds,)

    @property
    def mergeable(self) -> bool:
        return self.bounds.of != self.of  # its own range (`vs` itself): after its summary, in the same scan

    def describe(self) -> str:
        return f"outside({self.name}, {self.bounds.of}'s range)"



@dataclass(frozen=True)
class KeyDuplicates(Request):
    """How often the rows' keys (the values of `key`, several columns) repeat: (rows, distinct
    keys, the most repeated keys with their counts). Missing values equal each other, as in a
    GROUP BY. It needs every row at once, so its scan is read in memory."""

    of: str
    key: tuple[str, ...]

    order: ClassVar[int] = 10

    @property
    def dataset(self) -> str:
        return self.of

    @property
    def mergeable(self) -> bool:
        return False

    def describe(self) -> str:
        return f"duplicates({', '.join(self.key)})"


@dataclass(frozen=True)
class ValueTest(ColumnRequest):
    """How many present values of a string column pass a value test (values.PassCounts):
    `test` is ("matches", REGEX) or ("format", NAME, ARGUMENT or "")."""

    order: ClassVar[int] = 11

    test: tuple = ()

    def merge(self, left, right):
        return left.merge(right)

    def empty(self, got: dict):
        from .values import PassCounts

        return PassCounts.empty()

    def describe(self) -> str:
        if self.test[0] == "matches":
            return f"matches({self.name}, {self.test[1]!r})"
        return f"is {self.test[1]}({self.name}{', ' + repr(self.test[2]) if self.test[2] else ''})"


# Nanoseconds per tick of a Datetime column's time unit.
NS_PER_UNIT = {"ns": 1, "us": 1_000, "ms": 1_000_000}


@dataclass(frozen=True, order=True)
class Moment:
    """A value of a Datetime column, exact at the column's resolution (a Python datetime stops at
    microseconds, so a nanosecond past a bound would compare equal to it): `ns` nanoseconds since
    1970-01-01 (in UTC when the column has a time zone), with the column's `unit` and `zone` for
    showing it. Moments compare and are equal by their instant alone."""

    ns: int
    unit: str = field(default="ns", compare=False)
    zone: str | None = field(default=None, compare=False)

    @classmethod
    def of(cls, ticks: int, unit: str, zone: str | None = None) -> Moment:
        """`ticks` of `unit` since the epoch (the physical value of a Datetime column)."""
        return cls(int(ticks) * NS_PER_UNIT[unit], unit, zone)

    def isoformat(self) -> str:
        """ISO 8601 in the column's zone (with its offset), down to the nanosecond when there is one."""
        import datetime

        micro, nano = divmod(self.ns, 1_000)
        utc = datetime.timezone.utc
        try:
            moment = datetime.datetime(1970, 1, 1, tzinfo=utc) + datetime.timedelta(microseconds=micro)
            moment = moment.astimezone(_zone_info(self.zone)) if self.zone else moment.replace(tzinfo=None)
        except (OverflowError, ValueError):  # beyond the years 1-9999 of Python's datetime
            return f"{self.ns} ns since 1970-01-01" + (f" ({self.zone})" if self.zone else "")
        if not nano:
            return moment.isoformat()
        text = moment.isoformat(timespec="microseconds")
        offset = text[26:]  # after YYYY-MM-DDTHH:MM:SS.ffffff
        return f"{text[:26]}{nano:03d}{offset}"

    def __str__(self) -> str:
        return self.isoformat()


def _zone_info(zone: str):
    """The tzinfo of a column's time zone (Polars names them as the tz database does)."""
    import datetime
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # not a tz database name: shown in UTC
        return datetime.timezone.utc


@dataclass(frozen=True)
class TemporalRange(ColumnRequest):
    """(oldest, newest, present values) of a Date or Datetime column: a Date column's as Python
    dates, a Datetime column's as `Moment`s (exact in its unit). An engine may hand over Python
    datetimes instead (microseconds; aware ones compared as instants, naive ones as written):
    measures read either (`plan.measures._instant_ns`)."""

    order: ClassVar[int] = 12

    def merge(self, left, right):
        def pick(a, b, choose):
            return a if b is None else b if a is None else choose(a, b)

        return (pick(left[0], right[0], min), pick(left[1], right[1], max), left[2] + right[2])

    def empty(self, got: dict):
        return (None, None, 0)

    def describe(self) -> str:
        return f"range({self.name})"


@dataclass(frozen=True)
class TemporalOutside(ColumnRequest):
    """(values outside [low, high], present values) of a Date or Datetime column; the bounds
    are dates or datetimes (an aware one compared as an instant)."""

    order: ClassVar[int] = 13

    low: Any = None
    high: Any = None

    def merge(self, left, right):
        return (left[0] + right[0], left[1] + right[1])

    def empty(self, got: dict):
        return (0, 0)

    def describe(self) -> str:
        return f"outside({self.name}, [{self.low}, {self.high}])"
