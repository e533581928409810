"""The report formats what the checked spec carries (its unit, whether a selector chose its
feature); it never re-derives them from the check's words."""
from __future__ import annotations

import mlcontract

from conftest import FIXTURES


def test_the_report_shows_the_feature_a_selector_chose_even_when_the_line_names_a_word_like_it(tmp_path):
    """The resolver says whether a selector chose the feature (`from_selector`); the report no
    longer guesses it from the line's words: a numeric column named `mean` chosen by `numeric`
    is shown, one the line names is not."""
    import io

    import pandas as pd
    from rich.console import Console

    from mlcontract.report.formats.terminal import render

    pd.DataFrame({"mean": [1.0, 2.0], "b": ["x", "y"]}).to_parquet(tmp_path / "d.parquet")
    text = 'dataset d = parquet("d.parquet")\nfeature numeric mean > 0\nfeature mean mean > 0\n'
    result = mlcontract.compile(text, base_dir=tmp_path).run()
    assert [(c.feature, c.from_selector) for c in result.checks] == [("mean", True), ("mean", False)]
    out = io.StringIO()
    render(result, Console(file=out, width=200))
    assert "feature numeric mean > 0  [mean]" in out.getvalue()
    assert "feature mean mean > 0  [mean]" not in out.getvalue()


def test_checks_carry_the_unit_of_their_measure(tmp_path):
    """Latency checks are durations, throughput checks rates, everything else plain numbers: the
    checked spec says so, and the report formats by it."""
    text = (f'dataset t = parquet("{FIXTURES / "data" / "train.parquet"}")\nmodel m = sklearn("m.joblib")\n'
            "m p95 latency <= 1s on t\nm throughput >= 1 rows/s on t\nt rows >= 1\n")
    checks = mlcontract.compile(text, base_dir=tmp_path).checks
    assert [c.unit for c in checks] == ["s", "rows/s", None]


def test_numbers_in_the_unit_of_the_check():
    """report/formatting.py: thresholds as the contract wrote them, shares in percent, durations
    in the unit that suits their size, rates in rows/s, plain numbers as before."""
    from mlcontract.report.formatting import fmt_percent, threshold_formatter, value_formatter

    assert fmt_percent(0.0123) == "1.23%" and fmt_percent(0.05) == "5%" and fmt_percent(0) == "0%"
    assert fmt_percent(1) == "100%" and fmt_percent(None) == "—"
    assert threshold_formatter("s", "ms")(0.25) == "250ms" and threshold_formatter("s", "µs")(0.0003) == "300µs"
    assert threshold_formatter("s", "s")(1.5) == "1.5s" and threshold_formatter("s", "min")(120.0) == "2min"
    assert threshold_formatter("s", None)(0.25) == "250ms"  # `prod * 1.1`: a duration still
    assert threshold_formatter("rows/s", "rows/s")(1000.0) == "1,000 rows/s"
    assert threshold_formatter(None, "%")(0.01) == "1%" and threshold_formatter(None, None)(0.01) == "0.01"
    assert value_formatter("s", "ms")(0.0123) == "12.3ms" and value_formatter("s", "ms")(2.5) == "2.5s"
    assert value_formatter(None, "%")(0.019) == "1.9%" and value_formatter(None, None)(0.019) == "0.019"
    assert value_formatter("rows/s")(714.2857) == "714.3 rows/s"


def test_the_report_shows_percent_thresholds_as_written(tmp_path):
    """Issue 16: `<= 1%` prints as `<= 1%` (it printed `<= 0.01`), and the observed share in %."""
    import io

    from rich.console import Console

    from mlcontract.report.formats.terminal import render

    text = (f'dataset t = parquet("{FIXTURES / "data" / "train.parquet"}")\n'
            f'dataset p = parquet("{FIXTURES / "data" / "prod.parquet"}")\n'
            "feature age null_rate <= 1%\nfeature plan unseen_rate <= 0.01 vs p\n")
    result = mlcontract.compile(text, base_dir=tmp_path).run()
    out = io.StringIO()
    render(result, Console(file=out, width=200), verbose=True)
    import re

    def row(label: str) -> str:
        return next(line.rstrip() for line in out.getvalue().splitlines() if label in line)

    assert re.search(r" 0%\s+<= 1%$", row("feature age null_rate <= 1%"))  # observed and threshold
    assert re.search(r" 0\s+<= 0.01$", row("feature plan unseen_rate <= 0.01 vs p"))  # each as written
    assert "null_rate 0% <= 1%" in out.getvalue()
