"""Syntax errors: the full rendered diagnostic of each malformed contract is a golden file."""
from __future__ import annotations

import polars as pl
import pytest

import mlcontract
from mlcontract.errors import ParseError
from mlcontract.language.parse import logical_lines

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
    from mlcontract.language.transform import to_ast
    from mlcontract.language.source import SourceText

    for text, seconds in [("300us", 300e-6), ("50ms", 0.05), ("2s", 2.0), ("2min", 120.0), ("1.5s", 1.5)]:
        (check,) = to_ast(SourceText(f"p95 latency <= {text}\n")).statements
        assert check.comparison.rhs.value == pytest.approx(seconds) and check.comparison.rhs.unit == "s"


_FRAME = pl.DataFrame({"x": [1.0]})


# ---- strings: half a surrogate pair is not a character (issue 9) ------------------------------------
SURROGATE_LINES = {
    "contract-name": 'contract "\\ud800"',
    "dataset-path": 'dataset odd = csv("data/\\ud800.csv")',
    "option-value": 'dataset odd = csv("data/x.csv", separator="\\udc00")',
    "handles-from": 'handles nulls from "x\\udbff"',
    "low-then-high": 'contract "\\ude00\\ud83d"',
}


@pytest.mark.parametrize("line", SURROGATE_LINES.values(), ids=SURROGATE_LINES.keys())
def test_lone_surrogate_escapes_are_located_diagnostics(line):
    from mlcontract import ContractError

    text = f"training rows >= 1\n{line}\n"
    with pytest.raises(ContractError) as caught:
        mlcontract.compile(text, datasets={"training": _FRAME})
    (diagnostic,) = caught.value.diagnostics
    escape = line.index("\\u")  # the first \u escape of the line is a lone half here
    assert (diagnostic.span.line, diagnostic.span.column) == (2, escape + 1), diagnostic
    assert "surrogate" in diagnostic.message
    assert text[diagnostic.span.start:diagnostic.span.end] == line[escape:escape + 6]
    caught.value.render().encode("utf-8")  # nothing in it that UTF-8 cannot encode


def test_a_surrogate_pair_escape_is_the_character_it_encodes():
    assert mlcontract.compile('contract "\\ud83d\\ude00 \\u00e9"\n').name == "\U0001F600 é"


@pytest.mark.parametrize("text", ['contract "\ud800"\n', "feature `x\udc00` mean <= 1\n"], ids=["string", "quoted-name"])
def test_lone_surrogate_characters_in_text_from_the_api_are_located_diagnostics(text):
    from mlcontract import ContractError

    with pytest.raises(ContractError) as caught:
        mlcontract.compile(text, datasets={"d": _FRAME})
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.span is not None and text[diagnostic.span.start] in "\ud800\udc00"


@pytest.mark.parametrize("command", ["check", "plan"])
def test_lone_surrogate_escapes_through_the_cli_exit_2(tmp_path, command):
    from conftest import run_cli

    (tmp_path / "c.mlc").write_text('contract "\\ud800"\ndataset d = csv("d.csv")\nd rows >= 1\n', encoding="utf-8")
    (tmp_path / "d.csv").write_text("x\n1\n")
    done = run_cli(command, "c.mlc", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "c.mlc:1:11: error:" in done.stderr, done.stderr


# ---- a continuation `\` at the end of the file (issue 9) ------------------------------------------
@pytest.mark.parametrize("tail", ["training rows >= \\", "training rows >= \\\n", "training rows >=\\\n\n",
                                  "training rows \\", "training rows >= 1 +\\  \n"])
def test_a_statement_continued_past_the_end_is_reported_on_a_real_line(tail):
    from mlcontract.language.source import SourceText

    text = 'dataset training = csv("t.csv")\n' + tail
    with pytest.raises(ParseError) as caught:
        mlcontract.compile(text)
    (diagnostic,) = caught.value.diagnostics
    quoted = SourceText(text).line(diagnostic.span.line)
    assert diagnostic.span.line == 2 and quoted.rstrip().endswith("\\"), caught.value.render()
    assert quoted[diagnostic.span.column - 1] == "\\" and "continues" in diagnostic.message


# ---- guards: compile time grows linearly with the contract (issue 9) -------------------------------
# Not performance targets (bench/big_contracts.py measures those): bounds several times what a
# linear compiler needs even on a busy CI machine, and far below what the quadratic steps these
# guard against took (minutes). A failure here means something became quadratic again.
# CPU seconds of this process, not wall time: other processes on a busy CI machine do not count.
GUARD_SECONDS = 10.0
MEGABYTES = 1_000_000
# Names a did-you-mean compares an unknown name with (it took 16 s for a 5 MB name).
_COLUMNS = pl.DataFrame({c: [1.0] for c in ["age", "income", "tenure", "plan", "country", "churned", "customer_id"]})


def _compile_seconds(text: str, **inputs) -> float:
    import time

    from mlcontract import ContractError

    started = time.process_time()
    try:
        mlcontract.compile(text, **inputs)
    except ContractError as error:
        error.render()
    return time.process_time() - started


@pytest.mark.slow
@pytest.mark.guard
@pytest.mark.parametrize("body", [
    "feature " + "a" * 5 * MEGABYTES + " mean <= 1\n",  # did-you-mean over a 5 MB name
    "training " + "a" * 5 * MEGABYTES + " >= 1\n",
    "training rows >= " + "a" * 5 * MEGABYTES + "\n",
    'contract "' + "a\\n" * 2 * MEGABYTES + 'b"\ntraining rows >= 1\n',  # a string of 6 MB, 2 million escapes
    "# " + "x" * 5 * MEGABYTES + "\ntraining rows >= 1\n",
], ids=["giant-column", "giant-measure", "giant-reference", "giant-string", "giant-comment"])
def test_guard_one_giant_token_compiles_in_linear_time(body):
    assert _compile_seconds(body, datasets={"training": _COLUMNS}) < GUARD_SECONDS


@pytest.mark.slow
@pytest.mark.guard
def test_guard_many_lines_joined_by_continuations_are_joined_in_linear_time():
    # A contract with a syntax error is parsed again statement by statement, physical lines ending
    # in `\` joined into one. 5 MB of them: joining line by line copied the statement again for
    # every line (33 s); joined once, ~1 s.
    body = "training rows >=\n" + ("# " + "x" * 96 + " \\\n") * 50_000 + "training rows >= 1\n"
    assert _compile_seconds(body, datasets={"training": _COLUMNS}) < GUARD_SECONDS


@pytest.mark.slow
@pytest.mark.guard
def test_guard_planning_many_checks_that_share_a_statistic_is_linear():
    import dataclasses
    import time

    from mlcontract.plan import plan

    contract = mlcontract.compile("training rows >= 1\n", datasets={"training": _FRAME})
    (check,) = contract.checked.checks
    contract.checked.checks = [dataclasses.replace(check, index=i) for i in range(100_000)]
    started = time.process_time()
    built = plan(contract.checked)
    assert time.process_time() - started < GUARD_SECONDS
    assert [len(v) for v in built.consumers.values()] == [100_000]


def test_did_you_mean_skips_names_no_person_wrote():
    import time

    from mlcontract.language.diagnostics import did_you_mean

    started = time.perf_counter()
    assert did_you_mean("a" * 900_000, ["a" * 899_999, "age", "income"]) is None
    assert did_you_mean("age", ["a" * 900_000 + "ge"]) is None
    assert time.perf_counter() - started < 1.0
    assert did_you_mean("agee", ["age", "income", "a" * 1000]) == "did you mean `age`?"
    assert did_you_mean("INCOME", ["age", "income"]) == "did you mean `income`?"
    assert did_you_mean("agex", ["agey", "agez", "income"]) == "did you mean `agez` or `agey`?"  # ties: reverse order


@pytest.mark.guard
def test_guard_a_diagnostic_quoting_a_5_mb_line_is_rendered_in_linear_time():
    # The quoted line is escaped character by character for the caret: only the window shown
    # may be (escaping all 5 MB took 20 CPU seconds).
    import time

    from mlcontract import ContractError

    with pytest.raises(ContractError) as caught:
        mlcontract.compile("feature " + "a" * 5 * MEGABYTES + " mean <= 1\n", datasets={"training": _COLUMNS})
    started = time.process_time()
    text = caught.value.render()
    assert time.process_time() - started < 1.0
    quoted, underline = text.splitlines()[1:3]
    assert quoted.endswith("…") and len(quoted) < 300
    assert underline.count("^") == 1 and underline.rstrip().endswith("~" * 150) and len(underline) < 300
