"""Dates and datetimes compared exactly at the column's resolution (issue 13): `min`/`max`
bounds and `freshness` of Datetime("ns"|"us"|"ms") columns, naive and zoned; `missing` dates and
datetimes; `where` on datetimes (a nanosecond column with a microsecond literal, a millisecond
column with a literal between two ticks) and on durations (`dur > 1d`, `end - start > 1d`).

Every expectation comes from an oracle written out here on Python ints of nanoseconds since
1970-01-01 (UTC for zoned columns and aware literals), never from Polars: Polars compares two
datetimes in the coarser of their units, and a Python datetime stops at microseconds, which is
how `feature ts max <= 2026-01-01T00:00` passed on a value 500 ns past it."""
from __future__ import annotations

import datetime as dt
import operator
import random
import zoneinfo

import polars as pl
import pytest

import mlcontract
from mlcontract.engines.base import Settings
from mlcontract.errors import ContractError

UTC = dt.timezone.utc
NS_PER = {"ns": 1, "us": 1_000, "ms": 1_000_000}
B = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z in nanoseconds
ZONES = [None, "UTC", "Asia/Tokyo", "America/St_Johns"]
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
       "!=": operator.ne}


def stamps(ns_values: list, unit: str = "ns", zone: str | None = None, name: str = "ts") -> pl.Series:
    """A Datetime column from exact nanoseconds (ints, None for null), ticks of `unit`: naive
    values as written, zoned ones as instants (UTC nanoseconds) shown in `zone`."""
    ticks = [None if v is None else v // NS_PER[unit] for v in ns_values]
    assert all(v is None or v % NS_PER[unit] == 0 for v in ns_values)
    series = pl.Series(name, ticks, dtype=pl.Int64).cast(pl.Datetime(unit))
    return series.dt.replace_time_zone("UTC").dt.convert_time_zone(zone) if zone else series


def literal(ns: int, zone: str | None) -> str:
    """The contract's text of the instant `ns` (a whole microsecond): naive for a naive column,
    with the column's own UTC offset for a zoned one (`+09:00`, `-03:30`)."""
    assert ns % 1_000 == 0
    moment = dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=ns // 1_000)
    if zone is None:
        return moment.replace(tzinfo=None).isoformat()
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).isoformat()


def checks(text: str, settings: Settings | None = None, **frames):
    return mlcontract.compile(text + "\n", datasets=frames).run(settings=settings).checks


def diagnostic(text: str, **frames):
    with pytest.raises(ContractError) as caught:
        mlcontract.compile(text + "\n", datasets=frames)
    return caught.value.diagnostics[0]


# ---- 1. min / max of a Datetime column, exact ---------------------------------------------------------
@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("unit", ["ns", "us", "ms"])
@pytest.mark.parametrize("step", [-1, 0, 1])
def test_min_and_max_compare_with_a_bound_one_tick_away_exactly(unit, zone, step):
    tick = NS_PER[unit]  # 1 ns in a ns column: the case that passed wrongly
    values = [B + step * tick, None, B - 86_400 * 10**9, B + step * tick]
    newest, oldest = max(v for v in values if v is not None), min(v for v in values if v is not None)
    lines, expected = [], []
    for statistic, observed in (("max", newest), ("min", oldest)):
        for op, holds in OPS.items():
            lines.append(f"feature ts {statistic} {op} {literal(B, zone)}")
            expected.append("pass" if holds(observed, B) else "fail")
    lines.append(f"feature ts max between {literal(B - 10**9, zone)} and {literal(B, zone)}")
    expected.append("pass" if B - 10**9 <= newest <= B else "fail")
    lines.append(f"feature ts min between {literal(B - 86_400 * 10**9, zone)} and {literal(B, zone)}")
    expected.append("pass")
    frame = pl.DataFrame([stamps(values, unit, zone)])
    got = [c.status for c in checks("\n".join(lines), d=frame)]
    assert got == expected, list(zip(lines, got, expected))


@pytest.mark.parametrize("zone", ZONES)
def test_a_nanosecond_past_the_bound_fails_max_and_before_it_fails_min(zone):
    # the cases, written out: max 500 ns past the bound, min 500 ns before it
    past = pl.DataFrame([stamps([B + 500, B - 10**9], "ns", zone)])
    (check,) = checks(f"feature ts max <= {literal(B, zone)}", d=past)
    assert check.status == "fail"
    assert ".000000500" in check.message  # shown to the nanosecond
    before = pl.DataFrame([stamps([B - 500, B + 10**9], "ns", zone)])
    assert [c.status for c in checks(f"feature ts min >= {literal(B, zone)}\n"
                                     f"feature ts min between {literal(B, zone)} and {literal(B + 10**9, zone)}\n"
                                     f"feature ts max between {literal(B, zone)} and {literal(B + 10**9, zone)}",
                                     d=before)] == ["fail", "fail", "pass"]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("seed", range(3))
def test_min_and_max_of_streamed_batches_match_the_oracle(zone, seed):
    rng = random.Random(seed)
    values = [None if rng.random() < 0.2 else B + rng.randint(-5_000, 5_000) for _ in range(1_000)]
    present = [v for v in values if v is not None]
    bounds = sorted({rng.choice(present) // 1_000 * 1_000 + k * 1_000 for k in (-1, 0, 1)})
    lines, expected = [], []
    for bound in bounds:
        for statistic, observed in (("max", max(present)), ("min", min(present))):
            for op in ("<", "<=", ">", ">=", "=="):
                lines.append(f"feature ts {statistic} {op} {literal(bound, zone)}")
                expected.append("pass" if OPS[op](observed, bound) else "fail")
    frame = pl.DataFrame([stamps(values, "ns", zone)])
    contract = mlcontract.compile("\n".join(lines) + "\n", datasets={"d": frame})
    assert {s.dataset: s.mode for s in contract.plan.scans}["d"] == "stream"
    for settings in (None, Settings(chunk_rows=37)):  # merged batches (TemporalRange.merge) stay exact
        got = [c.status for c in contract.run(settings=settings).checks]
        assert got == expected, [(line, g, e) for line, g, e in zip(lines, got, expected) if g != e][:3]


@pytest.mark.parametrize("zone", ZONES)
def test_min_max_and_freshness_of_empty_and_all_null_columns_are_errors(zone):
    for values in ([], [None, None]):
        frame = pl.DataFrame([stamps(values, "ns", zone)])
        lines = (f"feature ts max <= {literal(B, zone)}\nfeature ts min between {literal(B, zone)} and "
                 f"{literal(B, zone)}\nfreshness of d by ts <= 1d as of 2026-01-01T00:00Z")
        for check in checks(lines, d=frame):
            assert check.status == "error" and "no non-null values" in check.message, check.message


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("offset", [-1, 1, -500, 1_000])
def test_freshness_is_exact_to_the_nanosecond(zone, offset):
    frame = pl.DataFrame([stamps([B + offset, B - 10**9, None], "ns", zone)])
    (check,) = checks("freshness of d by ts <= 0s as of 2026-01-01T00:00Z", d=frame)
    assert check.value == (B - (B + offset)) / 10**9  # the oracle: integer nanoseconds, then seconds
    assert check.status == ("pass" if offset > 0 else "fail")


def test_a_python_datetime_from_another_engine_still_compares():
    """An engine may hand TemporalRange Python datetimes (Spark's timestamps are microseconds):
    the measures read them as instants (aware) or as written (naive)."""
    from mlcontract.plan import measures as ms, requests as rq

    request = rq.TemporalRange("d", "ts")
    aware = dt.datetime(2026, 1, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    got = {request: (aware - dt.timedelta(days=1), aware, 2)}
    bound = dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert ms.TemporalBound("d", "ts", "max", "<=", bound).compute(got).passed
    assert not ms.TemporalBound("d", "ts", "max", "<", bound).compute(got).passed
    assert ms.Freshness("d", "ts", as_of=bound).compute(got).value == 0.0
    mixed = request.merge((rq.Moment(B - 1, "ns", "UTC"), rq.Moment(B + 1, "ns", "UTC"), 2), (None, None, 0))
    assert mixed == (rq.Moment(B - 1), rq.Moment(B + 1), 2)
    assert str(rq.Moment(B + 1, "ns", "Asia/Tokyo")) == "2026-01-01T09:00:00.000000001+09:00"
    assert str(rq.Moment(B + 1_000, "us")) == "2026-01-01T00:00:00.000001"


# ---- 2. `missing` dates and datetimes -------------------------------------------------------------------
def test_missing_dates_are_null_to_every_data_check():
    days = [dt.date(1970, 1, 1), dt.date(2026, 1, 1), None, dt.date(1970, 1, 1), dt.date(1970, 1, 2)]
    frame = pl.DataFrame({"day": pl.Series(days, dtype=pl.Date)})
    sentinel = dt.date(1970, 1, 1)
    nulls = sum(d is None or d == sentinel for d in days)  # the oracle
    got = checks(f"missing day = 1970-01-01\nfeature day null_count == {nulls}\nfeature day min == 1970-01-02\n"
                 "d rows where day is null == 3", d=frame)
    assert [c.status for c in got] == ["pass", "pass", "pass"]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("unit", ["ns", "us"])
def test_missing_datetimes_match_exactly_as_instants(unit, zone):
    tick = NS_PER[unit]
    sentinel = B - 86_400 * 10**9  # 2025-12-31T00:00Z
    values = [sentinel, sentinel + tick, sentinel - tick, None, B, sentinel]
    frame = pl.DataFrame([stamps(values, unit, zone)])
    listed = {sentinel, B + 5_000}  # the second one is in no row
    nulls = sum(v is None or v in listed for v in values)  # the oracle: 1 null + 2 sentinels
    text = f"missing ts = ({literal(sentinel, zone)}, {literal(B + 5_000, zone)})\nfeature ts null_count == {nulls}"
    assert [c.status for c in checks(text, d=frame)] == ["pass"]
    assert nulls == 3


def test_a_missing_datetime_of_the_wrong_zone_or_kind_is_a_diagnostic():
    frame = pl.DataFrame([stamps([B], "ns", "Asia/Tokyo"), pl.Series("day", [dt.date(2026, 1, 1)]),
                          stamps([B], "ns", None, name="naive")])
    found = diagnostic("missing ts = 2026-01-01T00:00\nd rows >= 1", d=frame)
    assert found.message.endswith("`2026-01-01T00:00` has none")
    found = diagnostic("missing naive = 2026-01-01T00:00Z\nd rows >= 1", d=frame)
    assert found.message.endswith("`2026-01-01T00:00Z` has one")
    found = diagnostic("missing day = 2026-01-01T00:00\nd rows >= 1", d=frame)
    assert found.message == "`day` holds dates (Date); `2026-01-01T00:00` is a datetime"


# ---- `where` on datetimes: exact at the column's unit ----------------------------------------------------
def count(values: list, test) -> int:
    """Rows for which the condition is true (SQL: a null is never kept)."""
    return sum(1 for v in values if v is not None and test(v))


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("unit", ["ns", "us", "ms"])
def test_where_compares_a_datetime_column_with_a_literal_exactly(unit, zone):
    tick = NS_PER[unit]
    values = [B - tick, B, B + tick, None, B + 7 * tick]
    frame = pl.DataFrame([stamps(values, unit, zone)])
    lines, expected = [], []
    bounds = [B, B + 500_000] if unit == "ms" else [B]  # in a ms column, a literal between two ticks too
    for bound in bounds:
        for op, holds in OPS.items():
            lines.append(f"d rows where ts {op} {literal(bound, zone)} >= 0")
            expected.append(count(values, lambda v, h=holds, b=bound: h(v, b)))
            lines.append(f"d rows where {literal(bound, zone)} {op} ts >= 0")  # the literal on the left
            expected.append(count(values, lambda v, h=holds, b=bound: h(b, v)))
        lines.append(f"d rows where ts in ({literal(bound, zone)}, null) >= 0")
        expected.append(count(values, lambda v, b=bound: v == b) + values.count(None))
    got = [c.value for c in checks("\n".join(lines), d=frame)]
    assert got == expected, [(line, g, e) for line, g, e in zip(lines, got, expected) if g != e][:4]


def test_where_compares_datetime_columns_of_two_units_in_the_finer_one():
    nanos = [B + 500, B, B - 1, None, B + 2 * 10**6]
    millis = [B, B, B, B, None]
    frame = pl.DataFrame([stamps(nanos, "ns", "UTC", "fine"), stamps(millis, "ms", "Asia/Tokyo", "coarse")])
    pairs = list(zip(nanos, millis))
    lines = [f"d rows where fine {op} coarse >= 0" for op in OPS]
    expected = [count(pairs, lambda p, h=holds: p[0] is not None and p[1] is not None and h(p[0], p[1]))
                for holds in OPS.values()]
    assert [c.value for c in checks("\n".join(lines), d=frame)] == expected


# ---- 3. durations in `where` ------------------------------------------------------------------------------
DAY = 86_400 * 10**9


@pytest.mark.parametrize("unit", ["ns", "us", "ms"])
def test_where_compares_a_duration_column_with_a_duration_exactly(unit):
    tick = NS_PER[unit]
    values = [DAY - tick, DAY, DAY + tick, None, 100 * 10**6, -DAY, 90 * 60 * 10**9]
    frame = pl.DataFrame({"dur": pl.Series([None if v is None else v // tick for v in values],
                                           dtype=pl.Int64).cast(pl.Duration(unit))})
    literals = {"1d": DAY, "24h": DAY, "0.1s": 10**8, "100ms": 10**8, "90min": 90 * 60 * 10**9, "-1d": -DAY,
                "1.5us": 1_500}
    lines, expected = [], []
    for text, ns in literals.items():
        for op, holds in OPS.items():
            lines.append(f"d rows where dur {op} {text} >= 0")
            expected.append(count(values, lambda v, h=holds, n=ns: h(v, n)))
    lines.append("d rows where dur in (1d, 100ms) >= 0")
    expected.append(count(values, lambda v: v in (DAY, 10**8)))
    got = [c.value for c in checks("\n".join(lines), d=frame)]
    assert got == expected, [(line, g, e) for line, g, e in zip(lines, got, expected) if g != e][:4]


@pytest.mark.parametrize("zone", [None, "UTC", "America/St_Johns"])
@pytest.mark.parametrize("seed", range(2))
def test_where_end_minus_start_compares_with_a_duration(zone, seed):
    rng = random.Random(seed)
    starts = [None if rng.random() < 0.1 else B + rng.randint(-10, 10) * 1_000_000 for _ in range(300)]
    ends = [None if s is None or rng.random() < 0.1 else s + DAY + rng.randint(-3, 3) * 500 for s in starts]
    frame = pl.DataFrame([stamps(starts, "ms", zone, "start"), stamps(ends, "ns", zone, "end")])
    pairs = [(e - s) if e is not None and s is not None else None for s, e in zip(starts, ends)]
    lines = [f"d rows where end - start {op} 1d >= 0" for op in OPS]
    expected = [count(pairs, lambda v, h=holds: h(v, DAY)) for holds in OPS.values()]
    lines.append("d rows where end - start > 1d or start is null >= 0")
    expected.append(count(pairs, lambda v: v > DAY) + starts.count(None))
    assert [c.value for c in checks("\n".join(lines), d=frame)] == expected


def test_where_date_minus_date_is_a_duration_of_days():
    first = [dt.date(2026, 1, 1), dt.date(2026, 1, 1), None, dt.date(2026, 3, 1)]
    last = [dt.date(2026, 1, 2), dt.date(2026, 1, 9), dt.date(2026, 1, 1), dt.date(2026, 1, 1)]
    frame = pl.DataFrame({"first": pl.Series(first, dtype=pl.Date), "last": pl.Series(last, dtype=pl.Date)})
    gaps = [None if a is None else (b - a).days for a, b in zip(first, last)]
    (check,) = checks("d rows where last - first > 1d >= 0", d=frame)
    assert check.value == count(gaps, lambda g: g > 1)


@pytest.mark.parametrize("line, message", [
    ("d rows where n > 1d >= 0", "`n` holds numbers (Int64); `1d` is a duration"),
    ("d rows where day > 1d >= 0", "`day` holds dates (Date); `1d` is a duration"),
    ("d rows where ts - day > 1d >= 0", "`-` of two dates or two datetimes gives a duration; this is a datetime "
                                        "minus a date"),
    ("d rows where ts - n > 1d >= 0", "`-` of two dates or two datetimes gives a duration; this is a datetime "
                                      "minus a number"),
    ("d rows where ts - zoned > 1d >= 0", "cannot compare a column without a time zone"),
    ("d rows where dur > 5 >= 0", "`dur` holds durations (Duration(time_unit='us')); `5` is a number"),
])
def test_durations_of_the_wrong_kind_are_diagnostics(line, message):
    frame = pl.DataFrame({"n": [1], "day": [dt.date(2026, 1, 1)], "dur": [dt.timedelta(1)]})
    frame = frame.with_columns(stamps([B], "ns", None), stamps([B], "ns", "UTC", "zoned"))
    assert diagnostic(line, d=frame).message.startswith(message)


@pytest.mark.parametrize("zone", ZONES)
def test_between_on_a_millisecond_column_with_bounds_between_two_ticks(zone):
    ms = NS_PER["ms"]
    values = [B - ms, B, B + ms, B + 2 * ms, None]
    frame = pl.DataFrame([stamps(values, "ms", zone)])
    low, high = B + 500_000, B + 1_500_000  # 0.5 ms and 1.5 ms past B: only B + 1 ms is inside
    (check,) = checks(f"feature ts between {literal(low, zone)} and {literal(high, zone)}", d=frame)
    present = [v for v in values if v is not None]
    assert check.value == sum(not low <= v <= high for v in present) / len(present)  # the oracle: 3 of 4
