"""Dates and datetimes as values (issue 13): value sets, `most_common`, stated shares and
`min|max between` on Date and Datetime columns, through the whole pipeline (compile → plan →
Polars → evaluate), each against an oracle written out here in plain Python on integer
nanoseconds — random data and the edges: empty, all-null, time zones, units from days to
nanoseconds, a nanosecond beside a literal, batches merged, profiles."""
from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

import mlcontract
from mlcontract.engines.base import Settings
from mlcontract.errors import ContractError

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "language.md"


def results(lines: str, settings: Settings | None = None, **frames):
    return mlcontract.compile(lines + "\n", datasets=frames).run(settings=settings).checks


def one(line: str, frame: pl.DataFrame):
    (check,) = results(line, d=frame)
    return check


def diagnostic(text: str, **frames):
    with pytest.raises(ContractError) as caught:
        mlcontract.compile(text + "\n", datasets=frames)
    return caught.value.diagnostics[0]


# ---- the oracle: instants as integer nanoseconds since 1970 (UTC for aware values) -------------------
def ns_of(value) -> int:
    """A date (its midnight) or a datetime (naive: as written; aware: its instant) in nanoseconds."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000


def set_oracle(values: list, wanted: list, negated: bool = False) -> tuple[int, int]:
    """(passing, looked at) of `[not] in (wanted)` over `values` given as ns ints or None."""
    with_nulls = None in wanted
    wanted_ns = {w for w in wanted if w is not None}
    passing = looked = 0
    for v in values:
        if v is None and not with_nulls:
            continue
        looked += 1
        inside = with_nulls if v is None else v in wanted_ns
        passing += inside != negated
    return passing, looked


def random_days(rng: random.Random, rows: int) -> list:
    return [None if rng.random() < 0.1 else dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 9))
            for _ in range(rows)]


# ---- value sets of dates -----------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("negated", [False, True])
def test_value_sets_of_dates_match_the_oracle(seed, negated):
    rng = random.Random(seed)
    days = random_days(rng, 500)
    frame = pl.DataFrame({"day": pl.Series(days, dtype=pl.Date)})
    wanted = sorted({dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 12)) for _ in range(3)})
    listed = ", ".join(d.isoformat() for d in wanted)
    word = "not in" if negated else "in"
    every, share, count, with_null = results(
        f"feature day {word} ({listed})\nfeature day {word} ({listed}) >= 0%\nfeature day {word} ({listed}) count >= 0\n"
        f"feature day {word} ({listed}, null) >= 0%", d=frame)
    values = [None if d is None else ns_of(d) for d in days]
    passing, looked = set_oracle(values, [ns_of(d) for d in wanted], negated)
    assert share.value == pytest.approx(passing / looked, rel=1e-12)
    assert count.value == passing
    assert every.status == ("pass" if passing == looked else "fail")
    assert every.value == pytest.approx((looked - passing) / looked, rel=1e-12)
    passing, looked = set_oracle(values, [ns_of(d) for d in wanted] + [None], negated)
    assert with_null.value == pytest.approx(passing / looked, rel=1e-12)


def test_a_failed_date_set_names_the_dates_outside_it():
    frame = pl.DataFrame({"day": pl.Series([dt.date(2026, 1, 1)] * 3 + [dt.date(2026, 2, 1)] * 2 + [None],
                                           dtype=pl.Date)})
    check = one("feature day in (2026-01-01)", frame)
    assert check.status == "fail" and check.message == "2 of 5 values not in the set: 2026-02-01 (2)"
    check = one("feature day not in (2026-01-01, null)", frame)
    assert check.message == "4 of 6 values in the set: 2026-01-01 (3), null or NaN (1)"


UNITS = ["ns", "us", "ms"]
ZONES = [None, "UTC", "Asia/Tokyo", "America/St_Johns"]  # St John's: a half-hour offset


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("zone", ZONES)
def test_value_sets_of_datetimes_are_instants_in_any_zone_and_unit(unit, zone):
    rng = random.Random(7)
    base = 1_767_225_600 * 10**9  # 2026-01-01T00:00Z in ns
    step = {"ns": 1, "us": 1_000, "ms": 1_000_000}[unit]
    hours = [None if rng.random() < 0.1 else rng.randint(0, 5) for _ in range(400)]
    # whole hours, and a tick beside some of them: a tick more is another value
    ticks = [None if h is None else (base + h * 3_600 * 10**9) // step + (rng.random() < 0.2) for h in hours]
    column = pl.Series("ts", ticks, dtype=pl.Int64).cast(pl.Datetime(unit))
    if zone is not None:
        column = column.dt.replace_time_zone("UTC").dt.convert_time_zone(zone)
    frame = pl.DataFrame([column])
    values = [None if t is None else t * step for t in ticks]
    # the literals: 01:00Z written as 10:00+09:00, 03:00Z as 03:00Z, and 04:00 naive
    if zone is None:
        literals, wanted = "2026-01-01T01:00, 2026-01-01T03:00:00.000000", [base + 3_600 * 10**9, base + 3 * 3_600 * 10**9]
    else:
        literals, wanted = "2026-01-01T10:00+09:00, 2026-01-01T03:00Z", [base + 3_600 * 10**9, base + 3 * 3_600 * 10**9]
    got = results(f"feature ts in ({literals}) count >= 0\nfeature ts not in ({literals}) >= 0%", d=frame)
    passing, _ = set_oracle(values, wanted)
    assert got[0].value == passing
    passing, looked = set_oracle(values, wanted, negated=True)
    assert got[1].value == pytest.approx(passing / looked, rel=1e-12)


def test_a_literal_finer_than_the_column_equals_none_of_its_values():
    column = pl.Series([dt.datetime(2026, 1, 1, 12)] * 3, dtype=pl.Datetime("ms"))
    frame = pl.DataFrame({"ts": column})
    assert one("feature ts in (2026-01-01T12:00:00.000500) count >= 0", frame).value == 0
    assert one("feature ts in (2026-01-01T12:00:00.000) count >= 0", frame).value == 3


def test_value_sets_of_dates_merge_over_batches():
    rng = random.Random(3)
    days = random_days(rng, 3_000)
    stamps = [None if d is None else dt.datetime.combine(d, dt.time(rng.randint(0, 1)), tzinfo=UTC) for d in days]
    frame = pl.DataFrame({"day": pl.Series(days, dtype=pl.Date),
                          "ts": pl.Series(stamps, dtype=pl.Datetime("ns", "UTC")).dt.convert_time_zone("Europe/Paris")})
    text = ("feature day in (2026-01-02, 2026-01-05) count >= 0\nfeature ts not in (2026-01-03T01:00+01:00) count >= 0\n"
            "feature day most_common != 1999-01-01\nfeature ts most_common != 1999-01-01T00:00Z")
    contract = mlcontract.compile(text + "\n", datasets={"d": frame})
    assert {s.dataset: s.mode for s in contract.plan.scans}["d"] == "stream"
    whole = [(c.status, c.value) for c in contract.run().checks]
    batched = [(c.status, c.value) for c in contract.run(settings=Settings(chunk_rows=97)).checks]
    assert whole == batched
    day_values = [None if d is None else ns_of(d) for d in days]
    assert whole[0][1] == set_oracle(day_values, [ns_of(dt.date(2026, 1, 2)), ns_of(dt.date(2026, 1, 5))])[0]
    ts_values = [None if s is None else ns_of(s) for s in stamps]
    assert whole[1][1] == set_oracle(ts_values, [ns_of(dt.datetime(2026, 1, 3, tzinfo=UTC))], negated=True)[0]


def test_value_sets_of_dates_on_empty_and_all_null_columns_are_errors_never_passes():
    for values in ([], [None, None]):
        frame = pl.DataFrame({"day": pl.Series(values, dtype=pl.Date)})
        for line in ("feature day in (2026-01-01)", "feature day not in (2026-01-01) >= 99%",
                     "feature day most_common != 2026-01-01"):
            check = one(line, frame)
            assert check.status == "error" and "no non-null values" in check.message, (values, line)
        assert one("feature day in (2026-01-01) count == 0", frame).status == "pass"


# ---- most_common, shares, min|max between ---------------------------------------------------------------
@pytest.mark.parametrize("seed", range(3))
def test_most_common_of_dates_and_datetimes_matches_the_oracle(seed):
    rng = random.Random(seed)
    days = [rng.choice([dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 3), None]) for _ in range(41)]
    stamps = [None if d is None else dt.datetime.combine(d, dt.time(9), tzinfo=UTC) for d in days]
    frame = pl.DataFrame({"day": pl.Series(days, dtype=pl.Date),
                          "ts": pl.Series(stamps, dtype=pl.Datetime("us", "UTC")).dt.convert_time_zone("Asia/Tokyo")})
    counted = Counter(d for d in days if d is not None)
    top = max(counted.values())
    leaders = {d for d, n in counted.items() if n == top}
    candidates = [dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 3)]
    lines = [f"feature day most_common == {d}" for d in candidates] + \
            [f"feature ts most_common == {d}T18:00+09:00" for d in candidates] + \
            [f"feature ts most_common != {d}T09:00Z" for d in candidates]
    got = [(c.status, c.value) for c in results("\n".join(lines), d=frame)]
    want = [("pass" if d in leaders else "fail", top) for d in candidates] * 2 + \
           [("fail" if d in leaders else "pass", top) for d in candidates]
    assert got == want


def test_most_common_of_a_datetime_shows_it_in_iso_8601():
    frame = pl.DataFrame({"ts": pl.Series([dt.datetime(2026, 1, 1, 9, tzinfo=UTC)] * 2, dtype=pl.Datetime("ns", "UTC"))})
    check = one("feature ts most_common == 2026-01-02T00:00Z", frame)
    assert check.status == "fail" and check.message == "most common: 2026-01-01T09:00:00Z (2 of 2 values)"


def test_stated_shares_of_dates_match_the_oracle():
    rng = random.Random(4)
    days = random_days(rng, 300)
    frame = pl.DataFrame({"day": pl.Series(days, dtype=pl.Date)})
    stated = {dt.date(2026, 1, 1): 0.5, dt.date(2026, 1, 2): 0.25, dt.date(2026, 1, 3): 0.25}
    written = ", ".join(f"{d}: {w}" for d, w in stated.items())
    check = one(f"feature day shares {{{written}}} linf <= 1", frame)
    present = [d for d in days if d is not None]
    observed = Counter(present)
    keys = set(observed) | set(stated)
    linf = max(abs(observed.get(k, 0) / len(present) - stated.get(k, 0.0)) for k in keys)
    assert check.value == pytest.approx(linf, rel=1e-12)


def test_min_and_max_between_dates_match_the_oracle():
    rng = random.Random(6)
    days = random_days(rng, 200)
    stamps = [None if d is None else dt.datetime.combine(d, dt.time(23), tzinfo=UTC) for d in days]
    frame = pl.DataFrame({"day": pl.Series(days, dtype=pl.Date),
                          "ts": pl.Series(stamps, dtype=pl.Datetime("us", "UTC")).dt.convert_time_zone("Asia/Tokyo")})
    present = [d for d in days if d is not None]
    lo, hi = dt.date(2026, 1, 1), dt.date(2026, 1, 5)
    got = [c.status for c in results(
        f"feature day min between {lo} and {hi}\nfeature day max between {lo} and {hi}\n"
        f"feature ts max between {lo}T00:00Z and {hi}T23:00Z\nfeature ts min between 2026-01-02T08:00+09:00 and {hi}T23:00Z",
        d=frame)]
    newest = max(s for s in stamps if s is not None)
    oldest = min(s for s in stamps if s is not None)
    assert got == ["pass" if lo <= min(present) <= hi else "fail", "pass" if lo <= max(present) <= hi else "fail",
                   "pass" if dt.datetime(2026, 1, 1, tzinfo=UTC) <= newest <= dt.datetime(2026, 1, 5, 23, tzinfo=UTC)
                   else "fail",
                   "pass" if dt.datetime(2026, 1, 1, 23, tzinfo=UTC) <= oldest <= dt.datetime(2026, 1, 5, 23, tzinfo=UTC)
                   else "fail"]
    empty = pl.DataFrame({"day": pl.Series([None], dtype=pl.Date)})
    assert one("feature day min between 2026-01-01 and 2026-02-01", empty).status == "error"


def test_counting_statistics_of_dates_match_the_oracle():
    rng = random.Random(8)
    days = random_days(rng, 300)
    frame = pl.DataFrame({"day": pl.Series(days, dtype=pl.Date)})
    present = [d for d in days if d is not None]
    counted = Counter(present)
    got = [c.value for c in results("feature day null_rate >= 0\nfeature day null_count >= 0\nfeature day distinct >= 0\n"
                                    "feature day unique_rate >= 0\nfeature day duplicate_count >= 0", d=frame)]
    assert got == pytest.approx([(len(days) - len(present)) / len(days), len(days) - len(present), len(counted),
                                 sum(n == 1 for n in counted.values()) / len(present), len(present) - len(counted)])


# ---- profiles: a Date column's rows and nulls, never its values -------------------------------------------
def test_a_profile_serves_the_nulls_of_a_date_column_and_refuses_its_values(tmp_path):
    frame = pl.DataFrame({"day": pl.Series([dt.date(2026, 1, 1), dt.date(2026, 1, 2), None], dtype=pl.Date),
                          "plan": ["a", "b", "a"]})
    frame.write_parquet(tmp_path / "d.parquet")
    mlcontract.profile(tmp_path / "d.parquet", tmp_path / "d.profile.json")
    head = 'dataset p = profile("d.profile.json")\n'
    served = mlcontract.compile(head + "feature day null_count == 1\nfeature day null_rate <= 50%\n", base_dir=tmp_path)
    assert [c.status for c in served.run().checks] == ["pass", "pass"]
    # `distinct == 0` passed on a profile before: the profile's counts of a Date column are empty
    for line in ("feature day in (2026-01-01)", "feature day most_common == 2026-01-01", "feature day distinct == 0",
                 "feature day shares {2026-01-01: 1.0} linf <= 1"):
        with pytest.raises(ContractError) as caught:
            mlcontract.compile(head + line + "\n", base_dir=tmp_path)
        assert caught.value.diagnostics[0].message.startswith(
            "`p` is a profile, which keeps only the rows and nulls of `day` (Date)"), line


# ---- other data than the contract was compiled against: fails closed ---------------------------------------
def test_date_checks_on_other_data_are_errors_not_exceptions():
    frame = pl.DataFrame({"day": pl.Series([dt.date(2026, 1, 1)], dtype=pl.Date)})
    lines = ["feature day in (2026-01-01)", "feature day most_common == 2026-01-01",
             "feature day min between 2026-01-01 and 2026-02-01", "feature day shares {2026-01-01: 1.0} linf <= 1"]
    contract = mlcontract.compile("\n".join(lines) + "\n", datasets={"d": frame})
    assert [c.status for c in contract.run().checks] == ["pass"] * len(lines)
    for other in (pl.DataFrame({"day": ["2026-01-01"]}), pl.DataFrame({"x": [1]}),
                  pl.DataFrame({"day": pl.Series([dt.datetime(2026, 1, 1)], dtype=pl.Datetime("us"))})):
        checks = contract.run(datasets={"d": other}).checks
        assert [c.status for c in checks] == ["error"] * len(lines), [(c.source, c.message) for c in checks]


# ---- the example of docs/language.md 4.19 runs --------------------------------------------------------------
def test_the_example_of_literals_on_the_right_in_language_md_runs_and_passes():
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("### 4.19 "):]
    block = section[section.index("```mlc\n") + len("```mlc\n"):]
    lines = [line for line in block[:block.index("```")].splitlines() if line.strip()]
    frame = pl.DataFrame({"plan": ["basic", "pro", "pro"], "active": [True, True, False],
                          "signup_day": pl.Series([dt.date(2024, 5, 1)] * 3, dtype=pl.Date)})
    checks = mlcontract.compile("\n".join(lines) + "\n", datasets={"training": frame}).run().checks
    assert len(checks) == len(lines) and all(c.status == "pass" for c in checks), [(c.source, c.message) for c in checks]


# ---- diagnostics: what the column holds, what the literal is, what the left side is -------------------------
def test_a_wrong_literal_says_what_the_column_holds_never_a_kind_beside_another_dtype():
    frame = pl.DataFrame({"day": pl.Series([dt.date(2026, 1, 1)], dtype=pl.Date), "n": [1.0],
                          "ts": pl.Series([dt.datetime(2026, 1, 1)], dtype=pl.Datetime("ns", "Asia/Tokyo")),
                          "dur": pl.Series([dt.timedelta(1)]), "tm": pl.Series([dt.time(1)])})
    # `missing day = true` said "`day` holds numbers (Date)" before
    assert diagnostic("missing day = true\nd rows >= 1", d=frame).message == "`day` holds dates (Date); `true` is a boolean"
    assert diagnostic('feature day in ("2026-01-01")', d=frame).hint.startswith("write dates without quotes")
    found = diagnostic("feature ts in (2026-01-01T09:00)", d=frame)
    assert found.message == "`ts` has a time zone (Datetime(time_unit='ns', time_zone='Asia/Tokyo')); " \
        "`2026-01-01T09:00` has none"
    assert diagnostic("feature ts most_common == 2026-01-01", d=frame).hint == "write `2026-01-01T00:00Z`"
    for line in ("feature dur in (1)", "feature tm most_common == 1", "feature dur in (null)"):
        assert diagnostic(line, d=frame).message.endswith("values, and a contract writes no such value"), line
    # a statistic of numbers on a Duration column: its dtype in the hint, never the word "other"
    assert diagnostic("feature dur mean >= 1", d=frame).hint.startswith("`dur` is Duration(time_unit='us'); its statistics")
    # a date can be declared missing (issue 13); one of the wrong kind says what the column holds
    found = diagnostic("missing day = 1970-01-01T00:00\nd rows >= 1", d=frame)
    assert found.message == "`day` holds dates (Date); `1970-01-01T00:00` is a datetime"
    # a duration compares with durations (issue 13); with a number column it says what to write
    found = diagnostic("d rows where n > 1d >= 0", d=frame)
    assert found.message.startswith("`n` holds numbers (") and found.message.endswith("); `1d` is a duration")
    assert found.hint.endswith("for a number of seconds, write the number itself")


@pytest.mark.parametrize("line, message", [
    ('feature n mean <= "40"', "`mean` is a number; compare it with a number"),
    ("feature flag mean == true", "`mean` is a number; compare it with a number"),
    ("feature n null_count == null", "`null_count` is a number; compare it with a number"),
    ("d rows >= d * 2026-01-01", "`rows` is a number; compare it with a number"),
    ("freshness of d by day <= 2026-01-01", "`freshness` is a duration; compare it with a duration such as `1d` or `250ms`"),
    ('feature plan in ("a") count >= "1"', "the count of values that pass is a number; compare it with a number"),
    ('feature plan matches "a" >= false', "the share of values that pass is a number; compare it with a number"),
    ('feature plan shares {"a": 1.0} linf <= "x"', "`linf` is a number; compare it with a number"),
    ("feature day distinct <= 2026-01-01", "`distinct` is a number; compare it with a number"),
    ("feature day mean >= 2026-01-01", "`mean` adds values up, and dates do not add up: `day` holds dates (Date)"),
    ("feature day p99 <= 2026-01-01", "`p99` is computed on numbers; `day` holds dates (Date)"),
    ("feature day std <= 1", "`std` adds values up, and dates do not add up: `day` holds dates (Date)"),
    ("feature day max <= 5", "`day` holds dates (Date): compare its `max` with a date"),
    ("feature day between 1 and 5", "`day` holds dates (Date): write the range as dates"),
    ("feature n max >= 2026-01-01", "`n` holds numbers (Float64); `2026-01-01` is a date"),
    ("feature plan length max <= 2026-01-01", "`max` is a number; compare it with a number"),
    ("feature plan most_common == null", "`most_common` is the most common of the present values, never `null`"),
])
def test_a_literal_that_is_not_a_number_says_what_the_left_side_is(line, message):
    frame = pl.DataFrame({"n": [1.0], "flag": [True], "plan": ["a"],
                          "day": pl.Series([dt.date(2026, 1, 1)], dtype=pl.Date)})
    found = diagnostic(line, d=frame)
    assert found.message == message
    assert "not supported" not in found.message and "yet" not in found.message
