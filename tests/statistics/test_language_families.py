"""The data families of issue 13, through the whole pipeline (compile → plan → Polars → evaluate),
each against an oracle written out here in plain Python / NumPy, on random data and on the edge
cases: empty, all-null, unicode, NaN and ±inf, integers beyond 2**53."""
from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import mlcontract
from mlcontract.errors import ContractError

REL = 1e-9
DOCS = Path(__file__).resolve().parents[2] / "docs" / "language.md"


def results(lines: str, **frames):
    """The CheckResults of the contract `lines` on the frames (the first is the default subject)."""
    return mlcontract.compile(lines + "\n", datasets=frames).run().checks


def one(line: str, frame: pl.DataFrame):
    (check,) = results(line, d=frame)
    return check


def diagnostic(text: str, **frames):
    with pytest.raises(ContractError) as caught:
        mlcontract.compile(text + "\n", datasets=frames)
    return caught.value.diagnostics[0]


# ---- value sets: `in (...)`, `not in (...)`, rate and count forms ---------------------------------
def in_set_oracle(values: list, wanted: list, negated: bool = False) -> tuple[int, int]:
    """(passing, looked at), from the definition in docs/language.md: the present values
    (neither null nor NaN), and the missing ones too when the set lists null."""
    with_nulls = None in wanted
    passing = looked = 0
    for v in values:
        v = None if isinstance(v, float) and math.isnan(v) else v
        if v is None and not with_nulls:
            continue
        looked += 1
        inside = (v is None) if v is None else any(w is not None and v == w and type(w) is not bool
                                                   or (w is not None and isinstance(v, bool) and v is w)
                                                   for w in wanted)
        passing += inside != negated
    return passing, looked


STRINGS = ["basic", "pro", "plus", "élève", "日本", "", " pro", "Pro"]
SETS = [["basic", "pro"], ["élève", "日本", ""], ["nope"], ["basic", None], ["Pro", "pro", "pro"]]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("wanted", SETS, ids=str)
@pytest.mark.parametrize("negated", [False, True])
def test_value_sets_of_strings_match_the_oracle(seed, wanted, negated):
    rng = random.Random(seed)
    values = [rng.choice(STRINGS + [None]) for _ in range(500)]
    frame = pl.DataFrame({"x": pl.Series(values, dtype=pl.String)})
    literal = ", ".join("null" if w is None else f'"{w}"' for w in wanted)
    word = "not in" if negated else "in"
    passing, looked = in_set_oracle(values, wanted, negated)
    share = one(f"feature x {word} ({literal}) >= 0%", frame)
    assert share.status == "pass" and share.value == pytest.approx(passing / looked, rel=REL)
    count = one(f"feature x {word} ({literal}) count >= 0", frame)
    assert count.value == passing
    verdict = one(f"feature x {word} ({literal})", frame)
    assert verdict.status == ("pass" if passing == looked else "fail")
    assert verdict.value == pytest.approx((looked - passing) / looked, rel=REL)


@pytest.mark.parametrize("dtype", [pl.Float64, pl.Float32, pl.Int64, pl.Int8, pl.UInt64])
def test_value_sets_of_numbers_match_the_oracle_with_nan_and_inf(dtype):
    rng = np.random.default_rng(4)
    raw = rng.integers(0, 6, 400).astype(float)
    values: list = raw.tolist()
    if dtype in (pl.Float64, pl.Float32):
        values[:6] = [math.nan, math.inf, -math.inf, None, 2.5, math.nan]
    else:
        values[:2] = [None, None]
        values = [None if v is None else int(v) for v in values]
    frame = pl.DataFrame({"x": pl.Series(values, dtype=dtype, strict=False)})
    wanted = [1, 3, 2.5] if dtype in (pl.Float64, pl.Float32) else [1, 3, 5]
    literal = ", ".join(str(w) for w in wanted)
    passing, looked = in_set_oracle(values, wanted)
    assert one(f"feature x in ({literal}) count >= 0", frame).value == passing
    assert one(f"feature x in ({literal}) >= 0%", frame).value == pytest.approx(passing / looked, rel=REL)
    # NaN is missing, like null: in neither `in` nor `not in`, unless the set lists null
    assert one(f"feature x in ({literal}, null) count >= 0", frame).value == \
        in_set_oracle(values, wanted + [None])[0]
    assert one(f"feature x not in ({literal}) count >= 0", frame).value == looked - passing


def test_value_sets_keep_integers_beyond_2_to_the_53_exact():
    big = 2**53
    frame = pl.DataFrame({"x": pl.Series([big, big + 1, big + 1, None], dtype=pl.Int64)})
    assert one(f"feature x in ({big + 1}) count >= 0", frame).value == 2
    assert one(f"feature x in ({big}) count >= 0", frame).value == 1
    check = one(f"feature x in ({big})", frame)
    assert check.status == "fail" and f"{big + 1} (2)" in check.message
    # a float column cannot hold 2**53 + 1: the literal equals none of its values
    floats = pl.DataFrame({"x": pl.Series([float(big)], dtype=pl.Float64)})
    assert one(f"feature x in ({big + 1}) count >= 0", floats).value == 0


def test_value_sets_of_booleans_and_null():
    frame = pl.DataFrame({"x": pl.Series([True, True, False, None], dtype=pl.Boolean)})
    assert one("feature x in (true) count >= 0", frame).value == 2
    assert one("feature x in (true) >= 0%", frame).value == pytest.approx(2 / 3)
    assert one("feature x in (true, null) >= 0%", frame).value == pytest.approx(3 / 4)
    assert one("feature x not in (true, null) count >= 0", frame).value == 1
    assert one("feature x in (false, true)", frame).status == "pass"  # nulls are not looked at


def test_value_sets_on_empty_and_all_null_columns_are_errors_never_passes():
    for values in ([], [None, None]):
        frame = pl.DataFrame({"x": pl.Series(values, dtype=pl.String)})
        for line in ('feature x in ("a")', 'feature x in ("a") >= 99%', 'feature x not in ("a")'):
            check = one(line, frame)
            assert check.status == "error" and "no non-null values" in check.message, (values, line)
        # a count is a number even of nothing
        assert one('feature x in ("a") count == 0', frame).status == "pass"
    assert one('feature x in ("a", null) >= 0%', pl.DataFrame({"x": pl.Series([None], dtype=pl.String)})).value == 1


def test_a_failed_value_set_names_the_values_outside_it_escaped():
    frame = pl.DataFrame({"x": ["a"] * 5 + ["::error::x\n"] * 3 + ["b"]})
    check = one('feature x in ("a")', frame)
    assert check.status == "fail" and check.value == pytest.approx(4 / 9)
    assert "4 of 9 values not in the set" in check.message
    assert "::error" not in check.message and "\n" not in check.message


def test_value_sets_of_the_wrong_type_are_compile_time_diagnostics():
    frame = pl.DataFrame({"s": ["a"], "i": [1], "b": [True]})
    found = diagnostic("feature s in (3)", d=frame)
    assert found.message == "`s` holds strings (String); `3` is a number" and '`"3"`' in found.hint
    assert diagnostic("feature i in (true)", d=frame).message == "`i` holds numbers (Int64); `true` is a boolean"
    assert diagnostic("feature b in (1)", d=frame).message == "`b` holds `true` and `false` (Boolean); `1` is a number"
    assert diagnostic("feature i in (1.5)", d=frame).message.startswith("`i` holds whole numbers (Int64)")
    assert "drop `vs`" in diagnostic("feature s in (\"a\") vs e", d=frame, e=frame).message


def test_a_value_set_shares_the_value_counts_of_other_count_statistics():
    frame = pl.DataFrame({"x": ["a", "b", "b", None]})
    contract = mlcontract.compile('feature x in ("a", "b")\nfeature x distinct <= 2\nfeature x null_rate <= 50%\n',
                                  datasets={"d": frame})
    plan = contract.explain()
    assert plan.count("counts(x)") == 1
    assert all(c.status == "pass" for c in contract.run().checks)


def test_a_profile_serves_value_sets_of_categories_and_refuses_numeric_ones(tmp_path):
    rng = random.Random(3)
    values = [rng.choice(STRINGS + [None]) for _ in range(300)]
    frame = pl.DataFrame({"s": values, "n": list(range(300))})
    frame.write_parquet(tmp_path / "d.parquet")
    mlcontract.profile(tmp_path / "d.parquet", tmp_path / "d.profile.json")
    text = 'dataset p = profile("d.profile.json")\nfeature s in ("basic", "日本") >= 0%\n'
    (check,) = mlcontract.compile(text, base_dir=tmp_path).run().checks
    passing, looked = in_set_oracle(values, ["basic", "日本"])
    assert check.value == pytest.approx(passing / looked, rel=REL)
    with pytest.raises(ContractError) as caught:
        mlcontract.compile('dataset p = profile("d.profile.json")\nfeature n in (1, 2)\n', base_dir=tmp_path)
    assert "is a profile, which cannot serve" in caught.value.diagnostics[0].message


# ---- the examples of docs/language.md run ------------------------------------------------------
def doc_examples(heading: str) -> list[str]:
    """The lines of the `mlc` example block of the docs/language.md section `heading`."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index(f"### {heading}\n"):]
    block = section[section.index("```mlc\n") + len("```mlc\n"):]
    return [line for line in block[:block.index("```")].splitlines() if line.strip()]


def churn_frame(rows: int = 400) -> pl.DataFrame:
    rng = random.Random(0)
    return pl.DataFrame({
        "plan": [rng.choice(["basic", "pro", "plus"]) for _ in range(rows)],
        "country": [rng.choice(["US", "FR", None]) for _ in range(rows)],
        "churned": [rng.choice([0, 1]) for _ in range(rows)],
        "age": [rng.uniform(18, 90) for _ in range(rows)],
        "customer_id": list(range(rows)),
        "active": [i % 4 != 0 for i in range(rows)],
        "email": [f"user{i}@example.com" for i in range(rows)],
        "customer_key": [f"123e4567-e89b-12d3-a456-{i:012d}" for i in range(rows)],
        "signup_text": [f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(rows)],
        "payload": ['{"n": %d}' % i for i in range(rows)],
        "comment": ["é" * (i % 100) for i in range(rows)],
        "updated_at": pl.Series([_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(hours=i) for i in range(rows)],
                                dtype=pl.Datetime("us", "UTC")),
    })


@pytest.mark.parametrize("heading", ["4.9 Value sets", "4.10 Totals, counts beside rates, Boolean columns",
                                     "4.11 Row filters: `where`", "4.12 Keys: `unique (...)` and `duplicate_count (...)`",
                                     "4.13 Patterns, formats and lengths of strings", "4.14 Types and schema shape",
                                     "4.15 Dates and freshness", "4.16 Reference numbers: `metrics NAME = json(\"PATH\")`",
                                     "4.17 Shares against stated weights",
                                     "4.18 Missing values as a team defines them: `missing`"])
def test_the_examples_of_each_family_in_language_md_run_and_pass(heading, tmp_path):
    lines = doc_examples(heading)
    (tmp_path / "monitoring").mkdir()
    (tmp_path / "monitoring" / "prod.json").write_text(
        _json.dumps({"rows": 400, "features": {"age": {"mean": 54.0}}, "plan_known_rate": 0.995}))
    contract = mlcontract.compile("\n".join(lines) + "\n", base_dir=tmp_path,
                                  datasets={"training": churn_frame(), "production": churn_frame()})
    checks = contract.run().checks
    wanted = {line for line in lines if not line.startswith(("metrics ", "missing "))}  # declarations give none
    assert {c.source for c in checks} == wanted  # a selector of two columns gives two results
    assert all(c.status == "pass" for c in checks), [(c.source, c.message) for c in checks if c.status != "pass"]


# ---- more aggregates: sum, null_count, duplicate_count, distinct_rate, true_rate, mean of booleans --
def numeric_column(seed: int) -> list:
    rng = np.random.default_rng(seed)
    values: list = rng.normal(10, 3, 800).tolist()
    for i in rng.choice(800, 60, replace=False).tolist():
        values[i] = rng.choice([math.nan, None])
    return values


def oracle_sum(values) -> float:
    finite = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    return math.fsum(finite.tolist())


def oracle_missing(values) -> int:
    return sum(v is None or (isinstance(v, float) and math.isnan(v)) for v in values)


def oracle_present(values) -> list:
    return [v for v in values if not (v is None or (isinstance(v, float) and math.isnan(v)))]


@pytest.mark.parametrize("seed", range(3))
def test_sum_and_null_count_of_numbers_match_the_oracle(seed):
    values = numeric_column(seed)
    frame = pl.DataFrame({"x": pl.Series(values, dtype=pl.Float64)})
    assert one("feature x sum != -1", frame).value == pytest.approx(oracle_sum(values), rel=REL)
    assert one("feature x null_count != -1", frame).value == oracle_missing(values)


def test_sum_of_integers_beyond_2_to_the_53_and_of_infinities():
    big = [2**60 + 1, 2**60 + 3, -5, None]
    frame = pl.DataFrame({"x": pl.Series(big, dtype=pl.Int64)})
    assert one("feature x sum != -1", frame).value == pytest.approx(float(sum(v for v in big if v)), rel=REL)
    check = one("feature x sum <= 1", pl.DataFrame({"x": [1.0, math.inf]}))
    assert check.status == "error" and "infinite" in check.message
    for values in ([], [None, None], [math.nan]):
        check = one("feature x sum <= 1", pl.DataFrame({"x": pl.Series(values, dtype=pl.Float64)}))
        assert check.status == "error" and "no finite values" in check.message


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("dtype", [pl.String, pl.Int64, pl.Float64])
def test_duplicate_count_distinct_rate_and_null_count_match_the_oracle(seed, dtype):
    rng = random.Random(seed)
    pool = {pl.String: STRINGS, pl.Int64: [0, 1, 2**53, 2**53 + 1, -7], pl.Float64: [0.5, -0.0, 0.0, math.inf, math.nan]}
    values = [rng.choice(pool[dtype] + [None]) for _ in range(300)]
    frame = pl.DataFrame({"x": pl.Series(values, dtype=dtype, strict=False)})
    present = oracle_present(values)
    distinct = len(set(present))  # -0.0 == 0.0 in Python, as in Polars' value counts
    assert one("feature x duplicate_count != -1", frame).value == len(present) - distinct
    assert one("feature x distinct_rate != -1", frame).value == pytest.approx(distinct / len(present), rel=REL)
    assert one("feature x null_count != -1", frame).value == oracle_missing(values)


def test_duplicate_count_and_distinct_rate_on_empty_and_all_null_columns():
    for values in ([], [None, None]):
        frame = pl.DataFrame({"x": pl.Series(values, dtype=pl.String)})
        check = one("feature x distinct_rate <= 1", frame)
        assert check.status == "error" and "no non-null values" in check.message
    # all null: the counts are computed on rows that exist
    nulls = pl.DataFrame({"x": pl.Series([None, None], dtype=pl.String)})
    assert one("feature x duplicate_count == 0", nulls).status == "pass"
    assert one("feature x null_count == 2", nulls).status == "pass"
    # empty: a count of no rows checked nothing, so it is an error, never a pass
    for dtype in (pl.String, pl.Int64, pl.Float64):
        empty = pl.DataFrame({"x": pl.Series([], dtype=dtype)})
        for line in ("feature x duplicate_count == 0", "feature x null_count == 0"):
            check = one(line, empty)
            assert check.status == "error" and "has no rows" in check.message, (line, dtype)


@pytest.mark.parametrize("seed", range(3))
def test_true_rate_and_the_mean_of_a_boolean_column_match_the_oracle(seed):
    rng = random.Random(seed)
    values = [rng.choice([True, False, None]) for _ in range(400)]
    frame = pl.DataFrame({"x": pl.Series(values, dtype=pl.Boolean)})
    present = [v for v in values if v is not None]
    want = sum(present) / len(present)
    assert one("feature x true_rate != -1", frame).value == pytest.approx(want, rel=REL)
    assert one("feature x mean != -1", frame).value == pytest.approx(want, rel=REL)
    check = one("feature x mean <= 1", pl.DataFrame({"x": pl.Series([None], dtype=pl.Boolean)}))
    assert check.status == "error"


def test_true_rate_and_mean_of_strings_are_diagnostics():
    frame = pl.DataFrame({"s": ["a"], "b": [True]})
    assert diagnostic("feature s true_rate <= 1", d=frame).message == "`true_rate` needs Boolean columns: `s` (String)"
    assert diagnostic("feature s mean <= 1", d=frame).message == "`mean` needs numeric or Boolean columns: `s` (String)"


def test_a_profile_serves_sums_from_moments_and_counts(tmp_path):
    values = numeric_column(5)
    pl.DataFrame({"x": pl.Series(values, dtype=pl.Float64), "s": [str(i % 7) for i in range(800)]}) \
        .write_parquet(tmp_path / "d.parquet")
    mlcontract.profile(tmp_path / "d.parquet", tmp_path / "d.profile.json")
    text = ('dataset p = profile("d.profile.json")\nfeature x sum != -1\nfeature x null_count != -1\n'
            'feature s duplicate_count != -1\n')
    got = [c.value for c in mlcontract.compile(text, base_dir=tmp_path).run().checks]
    assert got[0] == pytest.approx(oracle_sum(values), rel=REL)
    assert got[1:] == [oracle_missing(values), 800 - 7]


# ---- row filters: `where` --------------------------------------------------------------------------
# The oracle evaluates a condition on each row in Python with SQL's three-valued logic (None is
# unknown); NaN is missing, like null. A row is kept when the condition is True.
def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def o_cmp(op):
    def f(a, b):
        if a is None or b is None:
            return None
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]
    return f


def o_and(*xs):
    return False if any(x is False for x in xs) else (None if any(x is None for x in xs) else True)


def o_or(*xs):
    return True if any(x is True for x in xs) else (None if any(x is None for x in xs) else False)


def o_not(x):
    return None if x is None else not x


def o_in(v, values):
    if v is None:
        return True if None in values else None
    return v in [w for w in values if w is not None]


def where_frame(seed: int, rows: int = 600) -> tuple[pl.DataFrame, list[dict]]:
    rng = random.Random(seed)
    age = [rng.choice([None, math.nan, math.inf, -3.0]) if rng.random() < 0.1 else rng.uniform(0, 90) for _ in range(rows)]
    big = [rng.choice([2**53, 2**53 + 1, 2**60, -1, None]) for _ in range(rows)]
    country = [rng.choice(["US", "FR", "日本", "", None]) for _ in range(rows)]
    start = [rng.randint(0, 100) for _ in range(rows)]
    end = [s + rng.randint(-10, 50) if rng.random() > 0.05 else None for s in start]
    flag = [rng.choice([True, False, None]) for _ in range(rows)]
    frame = pl.DataFrame({"age": pl.Series(age, dtype=pl.Float64), "big": pl.Series(big, dtype=pl.Int64),
                          "country": pl.Series(country, dtype=pl.String), "start": start,
                          "end": pl.Series(end, dtype=pl.Int64), "flag": pl.Series(flag, dtype=pl.Boolean)})
    records = [{k: (None if _missing(v) else v) for k, v in row.items()} for row in frame.to_dicts()]
    return frame, records


WHERE_CASES = {  # condition: its oracle on a row (None: missing)
    "age < 18": lambda r: o_cmp("<")(r["age"], 18),
    "end < start": lambda r: o_cmp("<")(r["end"], r["start"]),
    'country == "日本" or country is null': lambda r: o_or(o_cmp("==")(r["country"], "日本"), r["country"] is None),
    'not (country in ("US", "") and age >= 30)': lambda r: o_not(o_and(o_in(r["country"], ["US", ""]),
                                                                    o_cmp(">=")(r["age"], 30))),
    'country not in ("FR", null)': lambda r: o_not(o_in(r["country"], ["FR", None])),
    "big == 9007199254740993": lambda r: o_cmp("==")(r["big"], 2**53 + 1),
    "big > 9007199254740992 and flag == true": lambda r: o_and(o_cmp(">")(r["big"], 2**53), o_cmp("==")(r["flag"], True)),
    "(end - start) * 2 >= -age / 10": lambda r: o_cmp(">=")(
        None if r["end"] is None else (r["end"] - r["start"]) * 2, None if r["age"] is None else -r["age"] / 10),
    "age is not null and flag != false": lambda r: o_and(r["age"] is not None, o_cmp("!=")(r["flag"], False)),
}


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("condition", WHERE_CASES)
def test_where_picks_the_rows_the_oracle_picks(condition, seed):
    frame, records = where_frame(seed)
    kept = [r for r in records if WHERE_CASES[condition](r) is True]
    rows, null_count, mean = results(f"d rows where {condition} >= 0\nfeature age where {condition} null_count >= 0\n"
                                     f"feature start where {condition} mean != -1", d=frame)
    assert rows.value == len(kept)
    assert null_count.value == sum(r["age"] is None for r in kept)
    if kept:
        assert mean.value == pytest.approx(sum(r["start"] for r in kept) / len(kept), rel=REL)
    else:
        assert mean.status == "error"


def test_where_on_value_sets_and_the_right_hand_side_keeps_the_condition():
    frame, records = where_frame(3)
    other, other_records = where_frame(4)
    kept = [r for r in records if r["flag"] is True]
    check = one('feature country where flag == true in ("US") count >= 0', frame)
    assert check.value == sum(r["country"] == "US" for r in kept)
    # a dataset named on the right means the same rows of it: the same `where`
    (rows,) = results("d rows where flag == true <= e", d=frame, e=other)
    assert rows.threshold == sum(r["flag"] is True for r in other_records)


def test_where_on_empty_and_all_null_data():
    empty = pl.DataFrame({"x": pl.Series([], dtype=pl.Float64)})
    assert one("d rows where x > 0 == 0", empty).status == "pass"
    assert one("feature x where x > 0 mean <= 1", empty).status == "error"
    nulls = pl.DataFrame({"x": pl.Series([None, math.nan], dtype=pl.Float64)})
    assert one("d rows where x > 0 or x <= 0 == 0", nulls).status == "pass"
    assert one("d rows where x is null == 2", nulls).status == "pass"


def test_views_share_a_scan_per_condition():
    frame, _ = where_frame(0)
    contract = mlcontract.compile('d rows where age < 18 >= 0\nfeature start where age < 18 mean >= 0\n'
                                  'feature   end   where age  <  18 max >= 0\nd rows >= 0\n', datasets={"d": frame})
    plan = contract.explain()
    # one scan of d: the view's rows are derived from it, the three checks on them listed under it
    assert plan.count("\nscan ") == 1 and plan.count("\n  view d where age < 18  (from the rows read)") == 1
    assert [s.views for s in contract.plan.scans] == [["d where age < 18"]]


def test_where_diagnostics():
    frame, _ = where_frame(0)
    cases = {
        "d rows where agee < 1 == 0": "unknown column `agee` in dataset `d`",
        'd rows where age == "x" == 0': '`age` holds numbers (Float64); `"x"` is a string',
        "d rows where country < 3 == 0": "`country` holds strings (String); `3` is a number",
        'd rows where country < "b" == 0': "`<` compares numbers, dates and times; strings take `==` or `!=`",
        "d rows where age == null == 0": "a comparison with `null` is never true",
        'd rows where country + 1 > 0 == 0': "arithmetic takes numbers; this is a string",
        "d rows where flag in (1) == 0": "`flag` holds `true` and `false` (Boolean); `1` is a number",
        "d rows where start < 2026-01-01 == 0": "`start` holds numbers (Int64); `2026-01-01` is a date",
    }
    for line, message in cases.items():
        assert diagnostic(line, d=frame).message == message, line


def test_where_in_mixes_integer_columns_and_float_values():
    frame = pl.DataFrame({"i": pl.Series([1, 2, None, 3], dtype=pl.Int64), "u": pl.Series([1, 2, 3, 4], dtype=pl.UInt8)})
    assert one("d rows where i in (1.5, 2.0) == 1", frame).status == "pass"
    assert one("d rows where u in (1, -1, 4) == 2", frame).status == "pass"
    assert one("d rows where i not in (1) == 2", frame).status == "pass"  # the null row is unknown


def test_where_on_a_profile_is_a_compile_time_diagnostic(tmp_path):
    pl.DataFrame({"x": [1.0, 2.0]}).write_parquet(tmp_path / "d.parquet")
    mlcontract.profile(tmp_path / "d.parquet", tmp_path / "d.profile.json")
    with pytest.raises(ContractError) as caught:
        mlcontract.compile('dataset p = profile("d.profile.json")\np rows where x > 1 == 0\n', base_dir=tmp_path)
    assert caught.value.diagnostics[0].message == "`p` is a profile: it has no rows for `where`"


def test_where_reads_parquet_files_and_a_missing_file_is_an_error(tmp_path):
    frame, records = where_frame(7)
    frame.write_parquet(tmp_path / "d.parquet")
    text = 'dataset d = parquet("d.parquet")\nd rows where country == "US" == {}\n'
    want = sum(r["country"] == "US" for r in records)
    (check,) = mlcontract.compile(text.format(want), base_dir=tmp_path).run().checks
    assert check.status == "pass"
    contract = mlcontract.compile(text.format(want), base_dir=tmp_path)
    (tmp_path / "d.parquet").unlink()
    (check,) = contract.run().checks
    assert check.status == "error"


# ---- keys: `unique (a, b)`, `duplicate_count (a, b)` -------------------------------------------------
def oracle_key_duplicates(records: list[dict], key: list[str]) -> int:
    """rows − distinct keys, missing values (null, NaN) equal to each other, -0.0 equal to 0.0."""
    from collections import Counter

    counted = Counter(tuple("<missing>" if _missing(r[c]) else r[c] for c in key) for r in records)
    return sum(counted.values()) - len(counted)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("key", [["country"], ["country", "flag"], ["big", "country", "flag"], ["age"]])
def test_duplicate_count_of_a_key_matches_the_oracle(seed, key):
    frame, records = where_frame(seed, rows=300)
    frame = frame.with_columns(pl.col("age").round(0))  # some repeats among the floats, NaN and inf kept
    records = [{**r, "age": None if r["age"] is None else (r["age"] if math.isinf(r["age"]) else float(round(r["age"])))}
               for r in records]
    names = ", ".join(key)
    want = oracle_key_duplicates(records, key)
    check = one(f"d duplicate_count ({names}) >= 0", frame)
    assert check.value == want
    verdict = one(f"d unique ({names})", frame)
    assert verdict.status == ("pass" if want == 0 else "fail")


def test_unique_keys_pass_and_name_the_repeated_keys_escaped():
    frame = pl.DataFrame({"id": [1, 2, 3, 2**53 + 1, 2**53], "day": ["a", "b", "a", "日", "日"]})
    assert one("d unique (id)", frame).status == "pass"
    assert one("d unique (id, day)", frame).status == "pass"
    check = one("d unique (day)", frame)
    assert check.status == "fail" and check.value == 2 and "('a') × 2" in check.message and "('日') × 2" in check.message
    bad = pl.DataFrame({"k": ["::error::x\n", "::error::x\n"]})
    check = one("d unique (k)", bad)
    assert check.status == "fail" and "::error" not in check.message and "\n" not in check.message


def test_keys_on_empty_and_all_null_data():
    empty = pl.DataFrame({"a": pl.Series([], dtype=pl.Int64), "b": pl.Series([], dtype=pl.String)})
    assert one("d unique (a, b)", empty).status == "error"
    assert one("d duplicate_count (a, b) == 0", empty).status == "error"  # nothing checked, as for unique
    nulls = pl.DataFrame({"a": pl.Series([None, None, None], dtype=pl.Int64), "b": pl.Series([None] * 3, dtype=pl.String)})
    assert one("d duplicate_count (a, b) == 2", nulls).status == "pass"  # missing values equal each other


def test_keys_with_where_on_parquet_files_read_string_keys(tmp_path):
    frame, records = where_frame(9)
    frame.write_parquet(tmp_path / "d.parquet")
    text = ('dataset d = parquet("d.parquet")\nd duplicate_count (country, flag) >= 0\nfeature country distinct >= 0\n'
            'd unique (start, end) where flag == true\n')
    got = mlcontract.compile(text, base_dir=tmp_path).run().checks
    assert got[0].value == oracle_key_duplicates(records, ["country", "flag"])
    kept = [r for r in records if r["flag"] is True]
    assert got[2].value == oracle_key_duplicates(kept, ["start", "end"])


def test_key_diagnostics(tmp_path):
    frame = pl.DataFrame({"a": [1], "b": ["x"]})
    assert diagnostic("d unique (a, aa)", d=frame).message == "unknown column `aa` in dataset `d`"
    assert diagnostic("d unique (a, a)", d=frame).message == "`a` is twice in the key"
    assert diagnostic("d rows (a) >= 1", d=frame).message == "a key `(a, b)` follows `duplicate_count` only"
    frame.write_parquet(tmp_path / "d.parquet")
    mlcontract.profile(tmp_path / "d.parquet", tmp_path / "d.profile.json")
    with pytest.raises(ContractError) as caught:
        mlcontract.compile('dataset p = profile("d.profile.json")\np unique (a, b)\n', base_dir=tmp_path)
    assert "is a profile, which cannot serve duplicates(a, b)" in caught.value.diagnostics[0].message


# ---- patterns: `matches`, `is FORMAT`, `length` --------------------------------------------------------
import datetime as _dt  # noqa: E402
import json as _json  # noqa: E402
import re as _re  # noqa: E402

TEXTS = ["alice@example.com", "bob@ex", "not an email", "é@ü.fr", "", "日本語", "123", "-7", "1.5e3", "x1",
         "2026-01-31", "2026-02-30", "31/01/2026", '{"a": [1, 2]}', "[1,", "null", "true",
         "123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-42661417400Z", "👍🏽", "e\u0301", "  pad  "]


def text_column(seed: int, rows: int = 400) -> list:
    rng = random.Random(seed)
    return [rng.choice(TEXTS + [None]) for _ in range(rows)]


def oracle_pass(values: list, passes) -> tuple[int, int]:
    present = [v for v in values if v is not None]
    return sum(bool(passes(v)) for v in present), len(present)


def _parses(text: str, fmt: str) -> bool:
    try:
        _dt.datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def _json_ok(text: str) -> bool:
    try:
        _json.loads(text)
    except ValueError:
        return False
    return True


def _int_ok(text: str) -> bool:
    return _re.fullmatch(r"[+-]?\d+", text) is not None


PATTERN_CASES = {  # the test as written: the oracle of one present value
    'matches "^[a-z]+@[a-z]+\\\\.[a-z]+$"': lambda v: _re.search(r"^[a-z]+@[a-z]+\.[a-z]+$", v),
    'matches "\\\\d"': lambda v: _re.search(r"\d", v),  # a search, not a full match
    'matches "^$"': lambda v: v == "",
    "is email": lambda v: _re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v),
    "is uuid": lambda v: _re.fullmatch(r"[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}", v),
    "is json": _json_ok,
    "is integer": _int_ok,
    'is date "%Y-%m-%d"': lambda v: _parses(v, "%Y-%m-%d"),
    'is date "%d/%m/%Y"': lambda v: _parses(v, "%d/%m/%Y"),
}


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("test", PATTERN_CASES)
def test_value_tests_of_strings_match_the_oracle(test, seed):
    values = text_column(seed)
    frame = pl.DataFrame({"x": pl.Series(values, dtype=pl.String)})
    passing, present = oracle_pass(values, PATTERN_CASES[test])
    share, count, verdict = results(f"feature x {test} >= 0%\nfeature x {test} count >= 0\nfeature x {test}", d=frame)
    assert share.value == pytest.approx(passing / present, rel=REL)
    assert count.value == passing
    assert verdict.status == ("pass" if passing == present else "fail")


def test_value_tests_on_empty_all_null_and_categorical_columns():
    for values in ([], [None]):
        frame = pl.DataFrame({"x": pl.Series(values, dtype=pl.String)})
        assert one('feature x matches "a"', frame).status == "error"
        assert one("feature x is uuid count == 0", frame).status == "pass"
    cats = pl.DataFrame({"x": pl.Series(["a1", "b", "a2", None], dtype=pl.Categorical)})
    assert one('feature x matches "^a" count == 2', cats).status == "pass"


def test_a_failed_value_test_shows_failing_values_escaped():
    frame = pl.DataFrame({"x": ["ok"] * 3 + ["::warning::bad\r\n"]})
    check = one('feature x matches "^ok$"', frame)
    assert check.status == "fail" and "1 of 4 values do not match" in check.message
    assert "::warning" not in check.message and "\r" not in check.message


def test_value_test_diagnostics():
    frame = pl.DataFrame({"s": ["a"], "n": [1.0], "b": [True]})
    assert diagnostic('feature s matches "(a"', d=frame).message == "invalid regex: unclosed group"
    assert "the limit is 1,000" in diagnostic(f'feature s matches "{"a" * 1001}"', d=frame).message
    assert "exceeds size limit" in diagnostic('feature s matches "a{1000}{1000}"', d=frame).message
    assert diagnostic("feature s is uid", d=frame).hint == "did you mean `uuid`?"
    assert diagnostic('feature s is json "x"', d=frame).message == "`is json` takes no argument"
    assert diagnostic('feature b matches "a"', d=frame).message == "`matches` needs string columns; `b` is Boolean"
    assert diagnostic('feature n matches "a"', d=frame).message.startswith("`matches` needs categorical columns")


@pytest.mark.parametrize("seed", range(2))
def test_length_statistics_match_the_oracle(seed):
    values = text_column(seed)
    frame = pl.DataFrame({"x": pl.Series(values, dtype=pl.String), "y": pl.Series(values[::-1], dtype=pl.String)})
    lengths = np.array([len(v) for v in values if v is not None], dtype=np.float64)  # code points, as Polars counts
    mx, p99, mean, between = results("feature x length max != -1\nfeature x length p99 != -1\n"
                                     "feature x length mean <= d\nfeature x length between 2 and 20", d=frame)
    assert mx.value == lengths.max() and p99.value == pytest.approx(np.quantile(lengths, 0.99), rel=REL)
    assert mean.value == pytest.approx(lengths.mean(), rel=REL) and mean.status == "pass"
    assert between.value == pytest.approx(np.mean((lengths < 2) | (lengths > 20)), rel=REL)
    other = np.array([len(v) for v in values[::-1][:200] if v is not None], dtype=np.float64)
    # a dataset on the right means the lengths of the same column there
    (against,) = results("feature x length mean <= e", d=frame, e=frame.reverse().head(200))
    assert against.threshold == pytest.approx(other.mean(), rel=REL)


def test_length_diagnostics_and_empty_columns():
    frame = pl.DataFrame({"n": [1.0], "s": ["ab"]})
    assert diagnostic("feature n length max <= 3", d=frame).message == "`length` is the length of strings; `n` is Float64"
    empty = pl.DataFrame({"s": pl.Series([None, None], dtype=pl.String)})
    assert one("feature s length max <= 3", empty).status == "error"


# ---- types and schema shape ----------------------------------------------------------------------------
TYPED = pl.DataFrame({
    "i8": pl.Series([1], dtype=pl.Int8), "u64": pl.Series([2**64 - 1], dtype=pl.UInt64),
    "f32": pl.Series([1.5], dtype=pl.Float32), "s": ["日本"], "c": pl.Series(["a"], dtype=pl.Categorical),
    "b": [True], "d": [_dt.date(2026, 1, 31)],
    "ts": pl.Series([_dt.datetime(2026, 1, 31, 12)], dtype=pl.Datetime("ms", "UTC")),
    "l": [[1, 2]], "dec": pl.Series([1], dtype=pl.Decimal(10, 2)),
})
# The oracle: which written types each column has, by hand.
TYPE_ORACLE = {
    "i8": {"Int8", "integer", "numeric"}, "u64": {"UInt64", "integer", "numeric"},
    "f32": {"Float32", "float", "numeric"}, "s": {"String", "string"}, "c": {"Categorical", "string"},
    "b": {"Boolean", "boolean"}, "d": {"Date", "date", "temporal"},
    "ts": {"Datetime", 'Datetime("ms", "UTC")', "datetime", "temporal"}, "l": {"List", "List(Int64)", "list"},
    "dec": {"Decimal", "Decimal(10, 2)", "numeric"},
}
WRITTEN = sorted({t for ts in TYPE_ORACLE.values() for t in ts} | {'Datetime("us", "UTC")', "List(String)", "Int64"})


@pytest.mark.parametrize("column", TYPE_ORACLE)
def test_types_and_families_match_the_oracle(column):
    checks = results("\n".join(f"feature {column} type {t}" for t in WRITTEN), d=TYPED)
    got = {t for t, c in zip(WRITTEN, checks) if c.status == "pass"}
    assert got == TYPE_ORACLE[column]
    assert all(c.status in ("pass", "fail") for c in checks)


def test_types_are_read_when_the_contract_runs(tmp_path):
    pl.DataFrame({"x": [1, 2]}).write_parquet(tmp_path / "d.parquet")
    contract = mlcontract.compile('dataset d = parquet("d.parquet")\nfeature x type Int64\n', base_dir=tmp_path)
    pl.DataFrame({"x": [1.5]}).write_parquet(tmp_path / "d.parquet")
    (check,) = contract.run().checks
    assert check.status == "fail" and check.message == "`x` is Float64, not Int64"


def test_columns_count_include_exclude_and_strict_schemas():
    a = pl.DataFrame({"x": [1], "y": ["a"], "z": [1.0]})
    b = pl.DataFrame({"y": ["a"], "x": [1], "z": [1.0]})
    c = pl.DataFrame({"x": pl.Series([1], dtype=pl.Int32), "y": ["a"], "z": [1.0]})
    got = {r.source: (r.status, r.value) for r in results(
        "a columns == 3\nb columns <= a\na columns include (x, z)\na columns include (x, w, v)\n"
        "a columns exclude (w)\na columns exclude (x, y)\nschema of a matches b\nschema of a matches b strictly\n"
        "schema of a matches c\nschema of a matches c strictly\nschema of a matches a strictly", a=a, b=b, c=c)}
    assert got == {
        "a columns == 3": ("pass", 3), "b columns <= a": ("pass", 3),
        "a columns include (x, z)": ("pass", 0), "a columns include (x, w, v)": ("fail", 2),
        "a columns exclude (w)": ("pass", 0), "a columns exclude (x, y)": ("fail", 2),
        "schema of a matches b": ("pass", 0), "schema of a matches b strictly": ("fail", 2),  # x and y out of place
        "schema of a matches c": ("pass", 0), "schema of a matches c strictly": ("fail", 1),
        "schema of a matches a strictly": ("pass", 0),
    }
    empty = pl.DataFrame()
    assert one("d columns == 0", empty).status == "pass"


def test_type_and_columns_diagnostics():
    frame = pl.DataFrame({"x": [1]})
    assert diagnostic("feature x type Int46", d=frame).hint == "did you mean `Int64` or `Int16`?"
    assert diagnostic("feature x type integer(3)", d=frame).message == "the type family `integer` takes no parameters"
    assert diagnostic('feature x type Datetime("xs")', d=frame).message.startswith("`Datetime` does not take")
    assert diagnostic("d rows include (x)", d=frame).message == "`include` follows `[DATASET] columns`"


# ---- `MEASURE between LO and HI` (the `rows between 1 and 5` diagnostic of issue 13) -----------------
def test_between_after_a_measure_is_an_inclusive_range():
    frame = pl.DataFrame({"x": list(range(5)), "y": ["a"] * 5})
    got = {c.source: c.status for c in results(
        "d rows between 1 and 5\nd rows between 5 and 5\nd rows between 6 and 9\nd columns between 1 and 2\n"
        "d duplicate_count (y) between 0 and 3\nd rows where x >= 3 between 2 and 2", d=frame)}
    assert got == {"d rows between 1 and 5": "pass", "d rows between 5 and 5": "pass", "d rows between 6 and 9": "fail",
                   "d columns between 1 and 2": "pass", "d duplicate_count (y) between 0 and 3": "fail",
                   "d rows where x >= 3 between 2 and 2": "pass"}
    assert diagnostic("d rows between 9 and 5", d=frame).message == "the range [9, 5] is empty"
    assert diagnostic("d rows between 10ms and 5", d=frame).message == \
        "the low end of `between`: expected a plain number, got a duration"


# ---- dates and freshness -----------------------------------------------------------------------------
UTC = _dt.timezone.utc


def test_freshness_matches_the_oracle_across_time_zones():
    rng = random.Random(1)
    base = _dt.datetime(2026, 1, 1, tzinfo=UTC)
    stamps = [base + _dt.timedelta(seconds=rng.randint(0, 10**7)) for _ in range(300)]
    stamps[::17] = [None] * len(stamps[::17])
    newest = max(s for s in stamps if s is not None)
    frame = pl.DataFrame({
        "tokyo": pl.Series(stamps, dtype=pl.Datetime("us", "UTC")).dt.convert_time_zone("Asia/Tokyo"),
        "naive": pl.Series([None if s is None else s.replace(tzinfo=None) for s in stamps], dtype=pl.Datetime("ms")),
        "day": pl.Series([None if s is None else s.date() for s in stamps], dtype=pl.Date),
    })
    clock = "2026-06-01T12:00+02:00"
    now = _dt.datetime.fromisoformat(clock)
    got = {c.feature: c.value for c in results(
        f"d freshness by tokyo <= 365d as of {clock}\nd freshness by naive <= 365d as of {clock}\n"
        f"d freshness by day <= 365d as of {clock}", d=frame)}
    assert got["tokyo"] == pytest.approx((now - newest).total_seconds(), rel=REL)
    assert got["naive"] == pytest.approx((now - newest).total_seconds(), rel=REL)  # naive is UTC
    midnight = _dt.datetime.combine(newest.date(), _dt.time(), tzinfo=UTC)
    assert got["day"] == pytest.approx((now - midnight).total_seconds(), rel=REL)


def test_freshness_against_the_clock_empty_and_all_null():
    now = _dt.datetime.now(UTC)
    frame = pl.DataFrame({"ts": pl.Series([now - _dt.timedelta(hours=3)], dtype=pl.Datetime("us", "UTC"))})
    check = one("freshness of d <= 4h", frame)
    assert check.status == "pass" and 3 * 3600 <= check.value < 3 * 3600 + 60
    assert one("freshness of d <= 2h", frame).status == "fail"
    for values in ([], [None]):
        check = one("freshness of d <= 1d", pl.DataFrame({"ts": pl.Series(values, dtype=pl.Datetime("us"))}))
        assert check.status == "error" and "no non-null values" in check.message


def test_freshness_diagnostics():
    frame = pl.DataFrame({"a": [_dt.date(2026, 1, 1)], "b": [_dt.date(2026, 1, 1)], "n": [1]})
    assert diagnostic("freshness of d <= 1d", d=frame).message.startswith("say which column dates `d`'s rows")
    assert diagnostic("freshness of d by n <= 1d", d=frame).message == \
        "`freshness` reads a Date or Datetime column; `n` is Int64"
    assert diagnostic("freshness of d by a <= 0.5", d=frame).message == "expected a duration, got a plain number"
    assert diagnostic("d rows >= 1 as of 2026-01-01", d=frame).message == \
        "`as of` sets the clock of `freshness` checks only"


def test_dates_and_datetimes_in_where_match_the_oracle():
    rng = random.Random(2)
    base = _dt.datetime(2026, 1, 1, tzinfo=UTC)
    stamps = [None if rng.random() < 0.1 else base + _dt.timedelta(hours=rng.randint(0, 2000)) for _ in range(400)]
    frame = pl.DataFrame({"ts": pl.Series(stamps, dtype=pl.Datetime("us", "UTC")).dt.convert_time_zone("Asia/Tokyo"),
                          "naive": pl.Series([s and s.replace(tzinfo=None) for s in stamps], dtype=pl.Datetime("us")),
                          "day": pl.Series([s and s.date() for s in stamps], dtype=pl.Date)})
    cut = _dt.datetime.fromisoformat("2026-02-01T12:00+02:00")
    want_aware = sum(s is not None and s >= cut for s in stamps)
    want_naive = sum(s is not None and s.replace(tzinfo=None) < _dt.datetime(2026, 2, 1, 12) for s in stamps)
    want_day = sum(s is not None and s.date() in (_dt.date(2026, 1, 5), _dt.date(2026, 2, 1)) for s in stamps)
    got = [c.value for c in results("d rows where ts >= 2026-02-01T12:00+02:00 >= 0\n"
                                    "d rows where naive < 2026-02-01T12:00 >= 0\n"
                                    "d rows where day in (2026-01-05, 2026-02-01) >= 0", d=frame)]
    assert got == [want_aware, want_naive, want_day]
    assert diagnostic("d rows where naive < 2026-02-01T12:00Z == 0", d=frame).message.startswith(
        "cannot compare a column without a time zone")
    assert diagnostic("d rows where ts < 2026-02-01T12:00 == 0", d=frame).message.startswith(
        "cannot compare a column with a time zone")
    assert diagnostic("d rows where day < 2026-02-01T12:00 == 0", d=frame).message == \
        "`day` holds dates (Date); `2026-02-01T12:00` is a datetime"


# ---- reference numbers: `metrics NAME = json(...)` --------------------------------------------------
def test_reference_numbers_from_json_on_right_hand_sides(tmp_path):
    doc = {"rows": 2**53 + 1, "model": {"auc": 0.8125}, "runs": [{"p95": 0.25}, {"p95": 0.5}], "flag": True,
           "nan": float("nan"), "text": "12", "x_1": {"x": 3}}
    (tmp_path / "m.json").write_text(_json.dumps(doc, allow_nan=True))
    pl.DataFrame({"x": [0.5, 1.0, 1.5]}).write_parquet(tmp_path / "d.parquet")
    lines = {
        "d rows <= m.rows": ("pass", 2**53 + 1),
        "feature x mean >= m.model.auc - 0.0625": ("pass", 0.75),
        "feature x max <= m.runs.1.p95 * 3": ("pass", 1.5),
        "d rows == m.x_1.x": ("pass", 3),
        "d rows >= m.missing": ("error", None),
        "d rows >= m.runs.2.p95": ("error", None),
        "d rows >= m.flag": ("error", None),
        "d rows >= m.nan": ("error", None),
        "d rows >= m.text": ("error", None),
    }
    text = 'dataset d = parquet("d.parquet")\nmetrics m = json("m.json")\n' + "\n".join(lines) + "\n"
    contract = mlcontract.compile(text, base_dir=tmp_path)
    got = contract.run().checks
    for check, (line, (status, threshold)) in zip(got, lines.items()):
        assert check.status == status, (line, check.message)
        if threshold is not None:
            assert check.threshold == pytest.approx(threshold, rel=REL)
    assert contract.explain().count("read metrics `m`") == 1  # one read, however many checks use it
    (tmp_path / "m.json").write_text("{not json")
    assert all(c.status == "error" and "not valid JSON" in c.message for c in contract.run().checks)
    (tmp_path / "m.json").unlink()
    assert all(c.status == "error" and "file not found" in c.message for c in contract.run().checks)


def test_reference_number_diagnostics_and_grants(tmp_path):
    frame = pl.DataFrame({"x": [1]})
    assert diagnostic('metrics m = csv("m.csv")', d=frame).message == "unknown metrics source `csv(...)`"
    assert diagnostic('dataset e = parquet("e.parquet")\nmetrics e = json("m.json")').message.startswith(
        "`e` is already declared")
    outside = tmp_path.parent / "elsewhere.json"
    text = f'dataset d = parquet("d.parquet")\nmetrics m = json("{outside.as_posix()}")\nd rows >= m.rows\n'
    frame.write_parquet(tmp_path / "d.parquet")
    (check,) = mlcontract.compile(text, base_dir=tmp_path).run().checks
    assert check.status == "error" and "refused to read" in check.message and "--allow-path" in check.message


# ---- shares against stated weights ---------------------------------------------------------------------
def oracle_stated(values: list, stated: dict):
    """Observed counts and stated shares over the stated values plus the unstated ones seen."""
    present = [v for v in values if v is not None]
    keys = list(dict.fromkeys([*stated, *present]))
    observed = np.array([present.count(k) for k in keys], dtype=np.float64)
    weights = np.array([stated.get(k, 0.0) for k in keys], dtype=np.float64)
    return observed, weights


def oracle_share_statistic(name: str, observed, weights) -> float:
    import scipy.stats

    p = observed / observed.sum()
    q = weights / weights.sum()
    if name == "linf":
        return float(np.max(np.abs(p - q)))
    if name == "psi":
        pc, qc = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
        return float(np.sum((pc - qc) * np.log(pc / qc)))
    if name == "hellinger":
        return float(np.sqrt(max(0.0, 1 - np.sum(np.sqrt(p * q)))))
    if name == "js":
        from scipy.spatial.distance import jensenshannon

        return float(jensenshannon(p, q, base=2))
    assert name == "chi2_pvalue"
    if observed[weights == 0].sum():
        return 0.0
    keep = weights > 0
    return float(scipy.stats.chisquare(observed[keep], weights[keep] * observed.sum()).pvalue)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("statistic", ["linf", "psi", "hellinger", "js", "chi2_pvalue"])
def test_shares_against_stated_weights_match_the_oracle(statistic, seed):
    rng = random.Random(seed)
    pool = ["basic"] * 5 + ["pro"] * 3 + ["日本"] * 2 + ([None] if seed else []) + (["rare"] if seed == 2 else [])
    values = [rng.choice(pool) for _ in range(500)]
    stated = {"basic": 0.5, "pro": 0.3, "日本": 0.2}
    frame = pl.DataFrame({"x": pl.Series(values, dtype=pl.String)})
    literal = ", ".join(f'"{k}": {v}' for k, v in stated.items())
    got = one(f"feature x shares {{{literal}}} {statistic} >= 0", frame).value
    want = oracle_share_statistic(statistic, *oracle_stated(values, stated))
    assert got == pytest.approx(want, rel=1e-6 if statistic == "chi2_pvalue" else REL, abs=1e-15)


def test_shares_of_booleans_integers_and_empty_columns():
    frame = pl.DataFrame({"b": [True, True, False, None], "i": pl.Series([2**53 + 1, 2**53 + 1, 7, 7], dtype=pl.Int64)})
    assert one("feature b shares {true: 0.5, false: 0.5} linf >= 0", frame).value == pytest.approx(1 / 6)
    assert one(f"feature i shares {{{2**53 + 1}: 0.5, 7: 0.5}} linf >= 0", frame).value == 0
    empty = pl.DataFrame({"x": pl.Series([None], dtype=pl.String)})
    assert one('feature x shares {"a": 1} psi <= 1', empty).status == "error"


def test_shares_diagnostics():
    frame = pl.DataFrame({"x": ["a"]})
    assert diagnostic('feature x shares {"a": 0.3} psi < 1', d=frame).message == "the shares add up to 0.3, not 1"
    assert diagnostic('feature x shares {"a": 0.5, "a": 0.5} psi < 1', d=frame).message == "this value is stated twice"
    found = diagnostic("feature x shares {1: 1} psi < 1", d=frame)
    assert found.message == "`x` holds strings (String); `1` is a number" and '`"1"`' in found.hint
    assert diagnostic('feature x shares {"a": 1} mean < 1', d=frame).message.startswith("stated shares are compared by")
    assert diagnostic('feature x shares {"a": 1} psi < 1 vs e', d=frame, e=frame).message == \
        "stated shares stand for the reference: drop `vs`"
    assert diagnostic('feature x shares {null: 1} psi < 1', d=frame).message.startswith("`null` has no share")


# ---- missing values as teams define them: `missing COLUMNS = VALUES` -----------------------------------
@pytest.mark.parametrize("seed", range(2))
def test_declared_missing_values_are_null_to_data_checks(seed, tmp_path):
    rng = random.Random(seed)
    codes = [rng.choice([-1, 0, 5, 2**53 + 1, None]) for _ in range(300)]
    labels = [rng.choice(["NA", "?", "", "ok", "日本", None]) for _ in range(300)]
    amounts = [rng.choice([-1.0, 1.5, math.nan, None]) for _ in range(300)]
    pl.DataFrame({"code": pl.Series(codes, dtype=pl.Int64), "label": labels,
                  "amount": pl.Series(amounts, dtype=pl.Float64)}).write_parquet(tmp_path / "d.parquet")
    text = ('dataset d = parquet("d.parquet")\nmissing code, amount = (-1, 9007199254740993)\n'
            'missing label = ("NA", "?", "")\nfeature code null_count >= 0\nfeature label null_count >= 0\n'
            'feature amount null_count >= 0\nfeature label distinct >= 0\nd rows where code is null >= 0\n'
            'feature code in (0, 5) >= 0%\n')
    got = [c.value for c in mlcontract.compile(text, base_dir=tmp_path).run().checks]
    missing_code = sum(v is None or v in (-1, 2**53 + 1) for v in codes)
    missing_label = sum(v is None or v in ("NA", "?", "") for v in labels)
    missing_amount = sum(v is None or v == -1.0 or (isinstance(v, float) and math.isnan(v)) for v in amounts)
    present_codes = [v for v in codes if v is not None and v not in (-1, 2**53 + 1)]
    assert got[:3] == [missing_code, missing_label, missing_amount]
    assert got[3] == len({v for v in labels if v not in (None, "NA", "?", "")})  # dictionary counts too
    assert got[4] == missing_code
    assert got[5] == pytest.approx(sum(v in (0, 5) for v in present_codes) / len(present_codes), rel=REL)


def test_models_are_fed_the_data_as_it_is(tmp_path):
    from mlcontract.engines.base import Inputs

    pl.DataFrame({"x": [-1, 2, 3]}).write_parquet(tmp_path / "d.parquet")
    contract = mlcontract.compile('dataset d = parquet("d.parquet")\nmissing x = -1\nfeature x null_count == 1\n',
                                  base_dir=tmp_path)
    assert contract.run().checks[0].status == "pass"
    inputs = Inputs.of(contract.checked)
    assert inputs.frame("d")["x"].to_list() == [-1, 2, 3]


def test_missing_diagnostics(tmp_path):
    frame = pl.DataFrame({"s": ["a"], "n": [1]})
    assert diagnostic("missing s = (1)", d=frame).message == "`s` holds strings (String); `1` is a number"
    assert diagnostic('missing n = ("x")', d=frame).message == '`n` holds numbers (Int64); `"x"` is a string'
    assert diagnostic("missing zz = (1)", d=frame).message == "no dataset has a column `zz`"
    frame.write_parquet(tmp_path / "d.parquet")
    mlcontract.profile(tmp_path / "d.parquet", tmp_path / "d.profile.json")
    with pytest.raises(ContractError) as caught:
        mlcontract.compile('dataset p = profile("d.profile.json")\nmissing n = -1\np rows >= 1\n', base_dir=tmp_path)
    assert caught.value.diagnostics[0].message.startswith("`p` is a profile, computed without")


# ---- most_common -------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(3))
def test_most_common_matches_the_oracle(seed):
    from collections import Counter

    rng = random.Random(seed)
    values = [rng.choice(STRINGS[:4] + [None] * 3) for _ in range(301)]
    frame = pl.DataFrame({"x": pl.Series(values, dtype=pl.String)})
    counted = Counter(v for v in values if v is not None)
    top = max(counted.values())
    leaders = {k for k, c in counted.items() if c == top}
    lines = [f'feature x most_common == "{k}"' for k in STRINGS[:4]] + [f'feature x most_common != "{k}"' for k in STRINGS[:4]]
    got = {c.source: (c.status, c.value) for c in results("\n".join(lines), d=frame)}
    for k in STRINGS[:4]:
        assert got[f'feature x most_common == "{k}"'] == ("pass" if k in leaders else "fail", top)
        assert got[f'feature x most_common != "{k}"'][0] == ("fail" if k in leaders else "pass")


def test_most_common_of_numbers_booleans_ties_and_empty_columns():
    assert one("feature x most_common == 9007199254740993", pl.DataFrame(
        {"x": pl.Series([2**53 + 1, 2**53 + 1, 2**53], dtype=pl.Int64)})).status == "pass"
    ties = pl.DataFrame({"x": ["a", "b", "b", "a", None, None, None]})
    assert one('feature x most_common == "a"', ties).status == "pass"
    assert one('feature x most_common == "b"', ties).status == "pass"
    assert one("feature x most_common == true", pl.DataFrame({"x": [True, False, True]})).status == "pass"
    empty = pl.DataFrame({"x": pl.Series([None], dtype=pl.String)})
    assert one('feature x most_common == "a"', empty).status == "error"
    assert diagnostic('feature x most_common <= "a"', d=ties).message == "`most_common` is compared with a value by `==` or `!=`"
    assert diagnostic("feature x most_common == 3", d=ties).message == "`x` holds strings (String); `3` is a number"


# ---- other data than the contract was compiled against: every new check fails closed -------------------
def test_new_checks_on_other_data_are_errors_not_exceptions(tmp_path):
    frame = pl.DataFrame({"x": [1, -1], "y": [1.0, 2.0], "s": ["a", "b"]})
    lines = ["d rows where x > 0 >= 1", "feature y where x > 0 mean >= 0", "feature y where x > 0 in (1.0)",
             "d unique (x, y)", "feature x null_count >= 0", 'feature s matches "a" >= 0%', "feature x type Int64",
             "feature s length max <= 3"]
    contract = mlcontract.compile("\n".join(lines) + "\n", datasets={"d": frame})
    assert all(c.status == "pass" for c in contract.run().checks)
    checks = contract.run(datasets={"d": pl.DataFrame({"y": [1.0, 2.0]})}).checks
    assert [c.status for c in checks] == ["error"] * len(lines), [(c.source, c.message) for c in checks]
    # a file that lost the column after the contract was compiled
    frame.write_parquet(tmp_path / "d.parquet")
    compiled = mlcontract.compile('dataset d = parquet("d.parquet")\nd rows where x > 0 >= 1\n', base_dir=tmp_path)
    pl.DataFrame({"y": [1.0]}).write_parquet(tmp_path / "d.parquet")
    (check,) = compiled.run().checks
    assert check.status == "error"


def test_lists_in_csv_options_name_the_null_values(tmp_path):
    rows = [rng_row for rng_row in (["NA", "1"], ["?", "2"], ["x", ""], ["", "3"], ["n/a", "4"], ["日本", "NA"])]
    (tmp_path / "n.csv").write_text("a,b\n" + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    text = ('dataset d = csv("n.csv", null_values=["NA", "?", "n/a"])\ndataset e = csv("n.csv", null_values="NA")\n'
            "feature a null_count >= 0\nfeature a of e null_count >= 0\nfeature b null_count >= 0\n")
    got = [c.value for c in mlcontract.compile(text, base_dir=tmp_path).run().checks]
    # Polars reads an empty field as null; the listed strings are null too, in every column
    assert got == [sum(r[0] in ("", "NA", "?", "n/a") for r in rows), sum(r[0] in ("", "NA") for r in rows),
                   sum(r[1] in ("", "NA", "?", "n/a") for r in rows)]
    with pytest.raises(ContractError) as caught:
        mlcontract.compile('dataset d = csv("n.csv", null_values=[1])\nd rows >= 1\n', base_dir=tmp_path)
    assert caught.value.diagnostics[0].message.startswith("`null_values=` takes a string or a list of strings")


def test_dates_in_between_min_and_max_match_the_oracle():
    rng = random.Random(5)
    days = [None if rng.random() < 0.1 else _dt.date(2026, 1, 1) + _dt.timedelta(days=rng.randint(0, 120))
            for _ in range(300)]
    stamps = [d and _dt.datetime.combine(d, _dt.time(6), tzinfo=UTC) for d in days]
    frame = pl.DataFrame({"day": pl.Series(days, dtype=pl.Date),
                          "ts": pl.Series(stamps, dtype=pl.Datetime("us", "UTC")).dt.convert_time_zone("Europe/Paris")})
    present = [d for d in days if d is not None]
    lo, hi = _dt.date(2026, 1, 15), _dt.date(2026, 3, 31)
    outside = sum(d < lo or d > hi for d in present)
    between, mx, mn, ts_between = results(
        "feature day between 2026-01-15 and 2026-03-31\nfeature day max >= 2026-04-01\n"
        "feature day min > 2026-01-01\nfeature ts between 2026-01-15T07:00+01:00 and 2026-03-31T06:00Z", d=frame)
    assert between.value == pytest.approx(outside / len(present), rel=REL)
    assert between.status == ("pass" if outside == 0 else "fail")
    assert mx.status == ("pass" if max(present) >= _dt.date(2026, 4, 1) else "fail")
    assert mn.status == ("pass" if min(present) > _dt.date(2026, 1, 1) else "fail")
    t_lo, t_hi = _dt.datetime(2026, 1, 15, 6, tzinfo=UTC), _dt.datetime(2026, 3, 31, 6, tzinfo=UTC)
    t_outside = sum(s < t_lo or s > t_hi for s in stamps if s is not None)
    assert ts_between.value == pytest.approx(t_outside / len(present), rel=REL)
    empty = pl.DataFrame({"day": pl.Series([None], dtype=pl.Date)})
    assert one("feature day max >= 2026-01-01", empty).status == "error"
    assert one("feature day between 2026-01-01 and 2026-02-01", empty).status == "error"


def test_date_diagnostics():
    frame = pl.DataFrame({"day": [_dt.date(2026, 1, 1)], "n": [1.0],
                          "ts": pl.Series([_dt.datetime(2026, 1, 1)], dtype=pl.Datetime("us"))})
    assert diagnostic("feature day between 2026-01-01T00:00 and 2026-02-01", d=frame).message == \
        "`day` holds dates (Date); `2026-01-01T00:00` is a datetime"
    assert diagnostic("feature day between 2026-02-01 and 2026-01-01", d=frame).message == "the range is empty"
    assert diagnostic("feature n max >= 2026-01-01", d=frame).message == "`n` holds numbers (Float64); `2026-01-01` is a date"
    assert diagnostic("feature ts max >= 2026-01-01T00:00Z", d=frame).message.startswith("`ts` has no time zone")
    assert diagnostic("feature day mean >= 2026-01-01", d=frame).message == \
        "`mean` adds values up, and dates do not add up: `day` holds dates (Date)"
