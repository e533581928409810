"""A report that explains itself (issue 16): every observed value says what it is. The measure
that computes a value records what it is (`details["observed"]`, in words), how a report shows
it (`details["observed_unit"]`: `%` for a share, or what is counted) and where (`observed_at`);
report/formatting.py prints it so in every format; the messages name what the number counts.
The terminal golden (test_golden.py) shows them in a whole report."""
from __future__ import annotations

import polars as pl
import pytest

import mlcontract
from mlcontract.report.formatting import observed_text
from mlcontract.report.results import CheckResult


def _run(text: str, **datasets):
    return mlcontract.compile(text, datasets=datasets).run()


def test_schema_counts_mismatching_columns_and_names_them():
    training = pl.DataFrame({"a": [1.0], "b": [2.0], "d": [1.0], "e": ["x"]})
    production = pl.DataFrame({"c": [1.0], "d": ["text"], "e": ["y"]})
    check = _run("schema of training matches production\n", training=training, production=production).checks[0]
    # c missing in training, a and b missing in production, d retyped: 4 columns (3 problems)
    assert check.status == "fail" and check.value == 4
    assert check.message == ("4 mismatching columns: missing in training: c; missing in production: a, b; "
                             "`d` is Float64 in training but String in production")
    assert check.details["mismatching_columns"] == ["c", "a", "b", "d"]
    assert check.details["observed"] == "number of mismatching columns"
    assert observed_text(check) == "4 columns"
    one = _run("schema of training matches production\n", training=training.drop("a", "b"),
               production=production.drop("d").with_columns(d=pl.lit(2.0))).checks[0]
    assert one.value == 1 and one.message.startswith("1 mismatching column: ") and observed_text(one) == "1 column"
    same = _run("schema of training matches production\n", training=training, production=training).checks[0]
    assert same.status == "pass" and same.value == 0
    assert same.message == "0 mismatching columns: 4 feature columns with compatible types"
    assert observed_text(same) == "0 columns"


def test_between_gives_the_count_and_share_outside():
    frame = pl.DataFrame({"x": [1.0, 5.0, 12.0, None, 3.0]})
    check = _run("feature x between 0 and 10\n", t=frame).checks[0]
    assert check.status == "fail" and check.value == pytest.approx(0.25)
    assert check.message == "1 of 4 values outside [0, 10] (min 1, max 12): 25% of the non-null values"
    assert check.details == {"observed": "share of the non-null values outside [0, 10]", "observed_unit": "%",
                             "outside": 1, "values": 4, "share_outside": 0.25}
    assert observed_text(check) == "25%"
    inside = _run("feature x between 0 and 20\n", t=frame).checks[0]
    assert inside.status == "pass" and inside.value == 0
    assert inside.message == "all 4 non-null values in [0, 20]: 0 outside"
    assert inside.details["outside"] == 0 and inside.details["share_outside"] == 0
    assert observed_text(inside) == "0%"


def test_a_trend_says_its_value_is_the_largest_rise_and_where():
    history = pl.DataFrame({"epoch": [1, 2, 3], "val_loss": [1.0, 0.8, 0.7]})
    check = mlcontract.compile("val_loss not increasing\n", histories={"run": history}).run().checks[0]
    assert check.status == "pass" and check.value == pytest.approx(-0.1)
    assert "largest rise -0.1 at epoch 3: every epoch fell below the lowest before it, by at least 0.1" \
        in check.message
    assert check.details["observed"].startswith("largest rise above the lowest earlier value")
    assert observed_text(check) == "-0.1 at epoch 3"
    flat = mlcontract.compile("val_loss not increasing\n",
                              histories={"run": pl.DataFrame({"val_loss": [1.0, 1.0]})}).run().checks[0]
    assert "largest rise 0 at epoch 2: no change" in flat.message
    accuracy = mlcontract.compile("acc not decreasing\n",
                                  histories={"run": pl.DataFrame({"acc": [0.5, 0.7, 0.8]})}).run().checks[0]
    assert "largest fall -0.1 at epoch 3" in accuracy.message and observed_text(accuracy) == "-0.1 at epoch 3"
    rising = mlcontract.compile("val_loss not increasing\n",
                                histories={"run": pl.DataFrame({"val_loss": [1.0, 0.5, 0.75, 0.6]})}).run().checks[0]
    assert rising.status == "fail" and observed_text(rising) == "0.25 at epoch 3"  # no epoch column: rows from 1


def _result(**fields) -> CheckResult:
    base = dict(index=0, line=1, source="x", kind="data", status="pass", blocking=True, subject="t", statistic="s",
                value=3.0, message="")
    return CheckResult(**{**base, **fields})


def test_what_a_measure_records_of_its_value_is_printed_safely():
    """The words come from measures, but a value's place (an epoch) can come from a file: no
    control character or workflow command reaches a report through them."""
    hostile = _result(details={"observed_unit": "rows\n::error::x", "observed_at": "epoch \x1b[31m7"})
    text = observed_text(hostile)
    assert "\n" not in text and "\x1b" not in text and "::" not in text
    assert text.startswith("3 rows")


def test_a_value_without_words_prints_as_before():
    assert observed_text(_result()) == "3"
    assert observed_text(_result(value=0.0125, display_unit="%")) == "1.25%"
    assert observed_text(_result(status="error", value=None)) == ""


def test_a_relative_trend_shows_its_share_and_epoch():
    """With a relative tolerance the value is the excursion as a share of the running best: the
    report shows it in percent, beside its epoch."""
    history = pl.DataFrame({"val_rmse": [900.0, 850.0, 860.0]})
    check = mlcontract.compile("val_rmse not increasing tolerance 1%\n", histories={"run": history}).run().checks[0]
    assert check.status == "fail" and check.value == pytest.approx(10 / 850)
    assert check.details["observed_unit"] == "%" and "as a share of that value" in check.details["observed"]
    assert observed_text(check) == "1.176% at epoch 3"
    absolute = mlcontract.compile("val_rmse not increasing tolerance 20\n", histories={"run": history}).run().checks[0]
    assert absolute.status == "pass" and observed_text(absolute) == "10 at epoch 3"


def test_a_strict_schema_counts_the_columns_out_of_place():
    a = pl.DataFrame({"x": [1], "y": ["a"], "z": [1.0]})
    b = pl.DataFrame({"y": ["a"], "x": [1], "z": [1.0]})
    check = _run("schema of a matches b strictly\n", a=a, b=b).checks[0]
    assert check.status == "fail" and check.value == 2 and check.details["mismatching_columns"] == ["x", "y"]
    assert check.message == "2 mismatching columns: the columns are in another order: x, y, z in a, y, x, z in b"
    assert observed_text(check) == "2 columns"
    same = _run("schema of a matches a strictly\n", a=a).checks[0]
    assert same.message == "0 mismatching columns: 3 feature columns with the same types in the same order"


def test_a_value_that_would_read_as_its_bound_is_shown_with_every_digit():
    """A Float32 column's 0.1 is 0.10000000149011612: it fails `max <= 0.1` and lies outside
    [0, 0.1], and the messages say so with the digits that differ, not "max 0.1 is not <= 0.1"."""
    from mlcontract.report.formatting import fmt, fmt_apart, fmt_percent

    x = float(pl.Series([0.1], dtype=pl.Float32).cast(pl.Float64)[0])
    assert x != 0.1 and fmt(x) == fmt(0.1) == "0.1"
    assert fmt_apart(fmt, x, 0.1) == repr(x) == "0.10000000149011612"
    assert fmt_apart(fmt_percent, 0.0123000001, 0.0123) == "1.23000001%"
    assert fmt_apart(fmt, 0.1, 0.1) == "0.1" and fmt_apart(fmt, 0.25, 0.1) == "0.25" and fmt_apart(fmt, 7, 7.0) == "7"
    frame = pl.DataFrame({"x": pl.Series([0.05, 0.1], dtype=pl.Float32)})
    result = mlcontract.compile("dataset d = parquet(\"d.parquet\")\nfeature x max <= 0.1\nfeature x between 0 and 0.1\n",
                                 datasets={"d": frame}).run()
    maximum, between = result.checks
    assert maximum.status == between.status == "fail"
    assert maximum.message == "max 0.10000000149011612 is not <= 0.1"
    assert "(min 0.05000000074505806, max 0.10000000149011612)" in between.message  # extremes: exactly


def test_bounds_and_thresholds_read_as_exactly_what_they_exclude():
    """A bound prints in the shortest form that reads back as it (1234567.5 is not 1.23457e+06,
    which reads like the max 1234568 it excludes), and a threshold that would read like the
    observed value it differs from gets every digit (`>= 1.0000001` is not `>= 1`)."""
    from mlcontract.report.formatting import fmt_exact, observed_text, threshold_text

    assert [fmt_exact(x) for x in (1234567.0, 1234571.2, 1e17, 0.1, 2 ** 53 + 1, -0.0)] == \
        ["1234567", "1234571.2", "1e+17", "0.1", "9007199254740993", "0"]
    frame = pl.DataFrame({"i": [0, 1234568], "n": [1, 1]})
    between, maximum = _run("feature i between 0 and 1234567.5\nfeature n max >= 1.0000001\n", t=frame).checks
    assert between.message == "1 of 2 values outside [0, 1234567.5] (min 0, max 1234568): 50% of the non-null values"
    assert maximum.status == "fail" and threshold_text(maximum) == ">= 1.0000001" and observed_text(maximum) == "1"
