"""Syntax errors: the full rendered diagnostic of each malformed contract is a golden file."""
from __future__ import annotations

import pytest

import mlcontract
from mlcontract.errors import ParseError
from mlcontract.parse import logical_lines

from golden import FIXTURES, cases, compare


@pytest.mark.parametrize("contract", cases("parse"), ids=lambda p: p.stem)
def test_syntax_error_diagnostics(contract, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    with pytest.raises(ParseError) as caught:
        mlcontract.compile(contract.relative_to(FIXTURES).as_posix())
    compare(contract, caught.value.render() + "\n")


def test_every_syntax_error_is_reported_in_one_run(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    with pytest.raises(ParseError) as caught:
        mlcontract.compile("parse/two_syntax_errors.mlc")
    assert [d.span.line for d in caught.value.diagnostics] == [4, 6]


def test_lark_token_names_never_reach_the_user(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    for contract in cases("parse"):
        with pytest.raises(ParseError) as caught:
            mlcontract.compile(contract.relative_to(FIXTURES).as_posix())
        text = caught.value.render()
        for token in ("COMPARATOR", "NAME", "_NL", "LPAR", "$END", "STRING", "NUMBER", "Token("):
            assert token not in text, (contract.name, token)


def test_logical_lines_join_backslash_continuations():
    lines = logical_lines("a\n\nfeature x \\\n  psi < 1\n# c\n")
    assert [(l.line, l.offset) for l in lines] == [(1, 0), (3, 3), (5, 25)]


def test_comments_and_blank_lines_are_ignored():
    contract = mlcontract.compile("# only a comment\n\n   \n# another\n")
    assert contract.checks == []


def test_backslash_continuation_allows_trailing_spaces():
    import pandas as pd

    text = "feature x \\   \n    mean <= 10\n"
    contract = mlcontract.compile(text, datasets={"d": pd.DataFrame({"x": [1.0]})})
    assert contract.checks[0].source == "feature x mean <= 10"


def test_duration_units():
    from mlcontract.transform import to_ast
    from mlcontract.errors import SourceText

    for text, seconds in [("300us", 300e-6), ("50ms", 0.05), ("2s", 2.0), ("2min", 120.0), ("1.5s", 1.5)]:
        (check,) = to_ast(SourceText(f"p95 latency <= {text}\n")).statements
        assert check.comparison.rhs.value == pytest.approx(seconds) and check.comparison.rhs.unit == "s"
