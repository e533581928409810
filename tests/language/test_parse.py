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

    from mlcontract import sources
    from mlcontract.plan import plan

    contract = mlcontract.compile("training rows >= 1\n", datasets={"training": _FRAME})
    (check,) = contract.checked.checks
    contract.checked.checks = [dataclasses.replace(check, index=i) for i in range(100_000)]
    started = time.process_time()
    built = plan(contract.checked, holds_summaries=sources.holds_summaries)
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


# ---- issues 13 and 14: every new form parses into typed AST nodes ---------------------------------
def _statement(line: str, declarations: str = ""):
    from mlcontract.language.source import SourceText
    from mlcontract.language.transform import to_ast

    return to_ast(SourceText(declarations + line + "\n")).statements[-1]


def test_value_sets_parse_with_their_literals_and_rate_forms():
    import datetime

    from mlcontract.language import ast

    check = _statement('feature plan in ("basic", 3, -1.5, true, null, 2026-01-31)')
    assert isinstance(check.test, ast.InSet) and not check.test.negated and check.test.rate is None
    assert [ast.literal_value(v) for v in check.test.values.items] == [
        "basic", 3, -1.5, True, None, datetime.date(2026, 1, 31)]
    check = _statement('feature plan not in ("x",) >= 99%')
    assert check.test.negated and check.test.rate.aggregate == "rate"
    assert check.test.rate.test.rhs.value == pytest.approx(0.99)
    check = _statement('feature plan in ("x") count between 1 and 5')
    assert check.test.rate.aggregate == "count" and isinstance(check.test.rate.test, ast.Between)
    big = _statement("feature id in (9007199254740993)")  # 2^53 + 1 stays an exact int
    assert ast.literal_value(big.test.values.items[0]) == 2**53 + 1


def test_patterns_formats_types_and_lengths_parse():
    from mlcontract.language import ast

    check = _statement(r'feature email matches "^\\w+@\\w+$" >= 99%')
    assert isinstance(check.test, ast.Matches) and check.test.pattern.value == r"^\w+@\w+$"
    check = _statement('feature day is date "%Y-%m-%d"')
    assert isinstance(check.test, ast.IsFormat) and check.test.format.id == "date"
    assert check.test.argument.value == "%Y-%m-%d"
    assert _statement("feature id is uuid count == 0").test.rate.aggregate == "count"
    check = _statement('feature ts type Datetime("us", "UTC")')
    assert isinstance(check.test, ast.TypeIs) and check.test.type.name.id == "Datetime"
    assert [a.value for a in check.test.type.args] == ["us", "UTC"]
    assert _statement("feature tags type List(String)").test.type.args[0].name.id == "String"
    check = _statement("feature comment length p99 <= 500")
    assert check.length.word == "length" and check.statistic.name.id == "p99"
    assert isinstance(_statement("feature comment length between 1 and 80").test, ast.Between)


def test_row_filters_keys_and_schema_shape_parse():
    from mlcontract.language import ast

    check = _statement('feature amount of training where country == "US" and not (age < 18 or age is null) mean <= 120')
    assert check.subject.id == "training" and check.statistic.name.id == "mean"
    assert isinstance(check.where, ast.LogicCond) and check.where.op == "and"
    assert isinstance(check.where.operands[1], ast.NotCond)
    check = _statement("training rows where end_date < start_date == 0")
    assert isinstance(check, ast.CompareCheck) and check.comparison.op == "=="
    assert isinstance(check.lhs.where, ast.CompareCond) and check.lhs.where.op == "<"
    check = _statement("training rows where amount * 2 - fee > 0 and plan not in (\"x\") == 0")
    assert isinstance(check.lhs.where.operands[0].left, ast.BinOp)
    assert check.lhs.where.operands[1].negated
    check = _statement("training unique (customer_id, day) where day >= 2026-01-01")
    assert isinstance(check, ast.UniqueCheck) and [c.id for c in check.columns] == ["customer_id", "day"]
    check = _statement("training duplicate_count (a, `b c`) == 0")
    assert [c.id for c in check.lhs.columns] == ["a", "b c"]
    check = _statement("training columns include (age, plan)")
    assert isinstance(check, ast.ColumnsCheck) and check.op == "include"
    assert _statement("schema of training matches production strictly").strictly.word == "strictly"
    assert isinstance(_statement("training rows between 1 and 5"), ast.BetweenCheck)


def test_dates_freshness_missing_shares_and_metrics_parse():
    import datetime

    from mlcontract.language import ast

    check = _statement("freshness of production <= 1d as of 2026-01-31T12:00Z")
    assert [w.id for w in check.lhs.words] == ["production", "freshness"]
    assert check.comparison.rhs.value == 86400.0 and check.comparison.rhs.unit == "s"
    (as_of,) = check.options
    assert as_of.key == "as_of" and as_of.value.value == datetime.datetime(2026, 1, 31, 12, tzinfo=datetime.timezone.utc)
    assert _statement("p95 latency <= 12h").comparison.rhs.value == 12 * 3600.0
    check = _statement('missing income, age = (-1, "NA")')
    assert isinstance(check, ast.MissingDecl) and [c.id for c in check.columns] == ["income", "age"]
    assert [ast.literal_value(v) for v in check.values.items] == [-1, "NA"]
    assert [ast.literal_value(v) for v in _statement("missing age = -1").values.items] == [-1]
    check = _statement('dataset d = csv("x.csv", null_values=["NA", "?", ""])')
    assert [ast.literal_value(v) for v in check.source.kwargs[0][1].items] == ["NA", "?", ""]
    check = _statement('feature plan shares {"basic": 0.6, "pro": 0.4} chi2_pvalue >= 0.01')
    assert [(ast.literal_value(i.key), ast.literal_value(i.value)) for i in check.shares.items] == [
        ("basic", 0.6), ("pro", 0.4)]
    declared = 'metrics monitoring = json("monitoring/prod.json")\n'
    check = _statement("auc on holdout >= monitoring.model.auc - 0.02", declared)
    ref = check.comparison.rhs.left
    assert isinstance(ref, ast.MetricRef) and ref.source.id == "monitoring"
    assert [p.id for p in ref.path] == ["model", "auc"] and ref.path[1].span.column == 36
    # without the declaration a dotted name stays a reference (the resolver reports it)
    assert isinstance(_statement("auc on holdout >= monitoring.auc").comparison.rhs, ast.Ref)


def test_issue_14_model_forms_parse():
    from mlcontract.language import ast

    check = _statement("val_loss not increasing up to best epoch tolerance 2%")
    assert check.up_to_best.word == "up to best epoch"
    assert check.options[0].value.unit == "%" and check.options[0].value.value == pytest.approx(0.02)
    assert _statement("val_loss not increasing tolerance 0.02").options[0].value.unit is None
    check = _statement("candidate handles nulls as nan, none, missing key")
    assert [tuple(w.id for w in v.words) for v in check.variants] == [("nan",), ("none",), ("missing", "key")]
    check = _statement("candidate handles image sizes 8x8, 224x224, 1024x768")
    assert [(s.width, s.height) for s in check.sizes] == [(8, 8), (224, 224), (1024, 768)]
    assert [w.id for w in _statement("handles grayscale").case] == ["grayscale"]
    assert isinstance(_statement("candidate handles rgba"), ast.HandlesCheck)


def test_an_impossible_date_is_a_located_diagnostic():
    with pytest.raises(mlcontract.errors.ContractError) as caught:
        mlcontract.compile("dataset d = parquet(\"x.parquet\")\nfeature day between 2026-02-30 and 2026-03-01\n")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.span.line == 2 and diagnostic.span.column == 21
    assert "`2026-02-30` is not a date" in diagnostic.message
