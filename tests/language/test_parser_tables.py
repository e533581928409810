"""The parser's LALR tables are generated ahead of time (language/parser_tables.py, issue 15:
building them costs ~0.1 s of every start-up). They must never be stale without anyone noticing:
the committed copy is checked against the grammar here, and at run time tables generated from
another grammar, other options or another Lark version are ignored for the grammar itself."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import lark
import pytest

from mlcontract.language import parse
from mlcontract.language.parse import build_parser, current_tables, grammar_text, write_tables

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "python setup.py parser_tables (or MLC_UPDATE_GOLDEN=1 pytest tests/language/test_parser_tables.py)"


def _contracts() -> list[Path]:
    found = [*(ROOT / "contracts").rglob("*.mlc"), *(ROOT / "tests").rglob("*.mlc")]
    assert len(found) > 50
    return sorted(found)


def _shape(node) -> object:
    """A tree as plain data with every position Lark records: equal shapes, equal parses."""
    if isinstance(node, lark.Token):
        return ("token", node.type, str(node), node.start_pos, node.end_pos, node.line, node.column, node.end_line,
                node.end_column)
    if isinstance(node, lark.Tree):
        meta = node.meta
        where = tuple(getattr(meta, k, None) for k in ("line", "column", "end_line", "end_column", "start_pos",
                                                          "end_pos", "empty"))
        return ("tree", node.data, where, tuple(_shape(c) for c in node.children))
    return node  # None: a maybe_placeholders hole


def _outcome(chosen: lark.Lark, text: str) -> object:
    try:
        return _shape(chosen.parse(text))
    except lark.exceptions.UnexpectedInput as error:
        interactive = getattr(error, "interactive_parser", None)
        accepts = frozenset(interactive.accepts()) if interactive is not None else None
        return (type(error).__name__, error.line, error.column, error.pos_in_stream,
                frozenset(getattr(error, "expected", None) or getattr(error, "allowed", None) or ()), accepts)


def test_the_committed_tables_are_generated_from_the_grammar():
    import mlcontract.language.parser_tables as tables

    if os.environ.get("MLC_UPDATE_GOLDEN") and current_tables(grammar_text()) is None:
        write_tables()
        tables = importlib.reload(tables)
        parse.parser.cache_clear()

    assert tables.GRAMMAR_SHA256 == parse.grammar_sha256(grammar_text()), \
        f"grammar/mlcontract.lark changed since the parser tables were generated: run {REGENERATE}"
    assert tables.LARK_VERSION == lark.__version__, \
        f"the parser tables come from Lark {tables.LARK_VERSION}, Lark {lark.__version__} is installed: run {REGENERATE}"
    assert current_tables(grammar_text()) is tables


def test_the_parser_in_use_is_loaded_from_the_tables(monkeypatch):
    """Not built from the grammar (what the tables are for): building it is not even called."""
    def fail(grammar):
        raise AssertionError("the parser was built from the grammar although the tables are current")

    monkeypatch.setattr(parse, "build_parser", fail)
    parse.parser.cache_clear()
    try:
        assert isinstance(parse.parser(), lark.Lark)
    finally:
        parse.parser.cache_clear()


def test_tables_and_grammar_give_the_same_trees_and_the_same_errors():
    """Every contract of the repository (and each of its lines alone, which is how a file with
    syntax errors is parsed again): the same trees with the same positions, or the same error
    at the same place with the same expected tokens."""
    loaded, built = parse.parser(), build_parser(grammar_text())
    assert current_tables(grammar_text()) is not None  # `loaded` comes from the tables
    compared = 0
    for contract in _contracts():
        text = contract.read_text(encoding="utf-8")
        pieces = [text if text.endswith("\n") else text + "\n"]
        pieces += [logical.text + "\n" for logical in parse.logical_lines(text)]
        for piece in pieces:
            assert _outcome(loaded, piece) == _outcome(built, piece), (contract, piece)
            compared += 1
    assert compared > 500


@pytest.mark.parametrize("stale", ["grammar", "lark", "options", "missing"])
def test_stale_or_missing_tables_are_never_used(monkeypatch, stale):
    """Tables generated from another grammar (another helper edited it), another Lark version or
    other options: the parser is built from the grammar instead, which parses what it says."""
    import mlcontract.language.parser_tables as tables

    grammar = grammar_text()
    if stale == "grammar":
        # the edited grammar knows a comparison word the tables do not
        grammar = grammar.replace('COMPARATOR: "<=" | ">=" | "==" | "!=" | "<" | ">"',
                                  'COMPARATOR: "<=" | ">=" | "==" | "!=" | "<" | ">" | "=~"')
        assert grammar != grammar_text(), "the test's grammar edit no longer applies: update it"
    elif stale == "lark":
        monkeypatch.setattr(tables, "LARK_VERSION", "0.0.1")
    elif stale == "options":
        monkeypatch.setattr(tables, "OPTIONS", {**tables.OPTIONS, "propagate_positions": False})
    else:
        import mlcontract.language

        monkeypatch.setitem(sys.modules, "mlcontract.language.parser_tables", None)  # the import fails
        monkeypatch.delattr(mlcontract.language, "parser_tables")
    assert current_tables(grammar) is None
    monkeypatch.setattr(parse, "grammar_text", lambda: grammar)
    parse.parser.cache_clear()
    try:
        chosen = parse.parser()
        if stale == "grammar":
            chosen.parse('dataset d = parquet("d.parquet")\nd rows =~ 1\n')  # only the edited grammar parses this
        else:
            assert _outcome(chosen, "d rows >= 1\n") == _outcome(build_parser(grammar_text()), "d rows >= 1\n")
    finally:
        parse.parser.cache_clear()


def test_no_parser_is_cached_in_the_temporary_folder(monkeypatch, tmp_path):
    """Lark's `cache=True` pickles the tables into the temporary folder and unpickles whatever
    is there at the next start: a file anybody on the machine can plant. Neither way of making
    the parser reads or writes there."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    parse.parser.cache_clear()
    try:
        parse.parser()
        build_parser(grammar_text())
    finally:
        parse.parser.cache_clear()
    assert list(tmp_path.iterdir()) == []
    assert "cache" not in parse.PARSER_OPTIONS


@pytest.mark.slow
def test_a_build_generates_the_tables_from_the_grammar_it_ships(tmp_path):
    """`setup.py build_py` writes the package's tables from the grammar it copies into it, so an
    installed mlcontract never carries stale ones, whatever the checkout's copy says."""
    stale = ROOT / "src" / "mlcontract" / "language" / "parser_tables.py"
    build = tmp_path / "build"
    done = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(build)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    shipped = (build / "mlcontract" / "mlcontract.lark").read_text(encoding="utf-8")
    assert shipped == grammar_text()
    made = (build / "mlcontract" / "language" / "parser_tables.py").read_text(encoding="utf-8")
    assert f"GRAMMAR_SHA256 = {parse.grammar_sha256(shipped)!r}" in made
    assert stale.exists()  # the build wrote its own copy; the checkout's is left alone
