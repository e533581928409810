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
    })


@pytest.mark.parametrize("heading", ["4.9 Value sets", "4.10 Totals, counts beside rates, Boolean columns"])
def test_the_examples_of_each_family_in_language_md_run_and_pass(heading):
    lines = doc_examples(heading)
    checks = results("\n".join(lines), training=churn_frame())
    assert len(checks) == len(lines)
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
        assert one("feature x duplicate_count == 0", frame).status == "pass"
        assert one("feature x null_count == 0", frame).value == len(values)
        check = one("feature x distinct_rate <= 1", frame)
        assert check.status == "error" and "no non-null values" in check.message


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
