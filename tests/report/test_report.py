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
