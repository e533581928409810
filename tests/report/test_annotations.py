"""GitHub Actions annotations: one `::error` per failed or errored check, `::warning` per warning,
at the contract line and column, escaped per GitHub's rules (actions/toolkit command.ts)."""
from __future__ import annotations

import re

from conftest import run_cli
from reporting import CONTROL, compare, context, fixture_result, small_contract

from mlcontract.report.formats import annotations

COMMAND = re.compile(r"^::(error|warning) ((?:[A-Za-z]+=[^,:]*)(?:,[A-Za-z]+=[^,:]*)*)::(.*)$")


def _unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(text: str) -> str:
    return _unescape_data(text.replace("%3A", ":").replace("%2C", ","))


def _commands(text: str) -> list[tuple[str, dict, str]]:
    out = []
    for line in text.splitlines():
        match = COMMAND.match(line)
        assert match, f"not one well-formed workflow command: {line!r}"
        properties = dict(item.split("=", 1) for item in match.group(2).split(","))
        out.append((match.group(1), {k: _unescape_property(v) for k, v in properties.items()}, match.group(3)))
    return out


def test_golden_fixture():
    compare(annotations.render(fixture_result(), context()), "expected.annotations.txt")


def test_one_command_per_check_that_did_not_pass_problems_first():
    result = fixture_result()
    commands = _commands(annotations.render(result, context()))
    problems = [c for c in result.checks if c.status != "pass"]
    assert len(commands) == len(problems)
    assert [kind for kind, _, _ in commands] == ["error"] * 6 + ["warning"]
    kind, props, message = commands[0]
    assert props == {"file": "contracts/churn.mlc", "line": "6", "col": "1", "endColumn": "36",
                     "title": "mlc failed: feature age psi < 0.2 vs production"}
    assert message == "psi 0.3102 is not < 0.2"


def test_escaping_newlines_percent_colons_commas_and_controls():
    text = annotations.render(fixture_result(), context())
    assert not CONTROL.search(text)  # no control character, not even one the data carried
    assert text.count("\n") == len(text.splitlines())  # one line per command: no newline from the data
    commands = _commands(text)
    errored = next(message for _, props, message in commands if "[income]" in props["title"])
    assert "%0A" in errored and "%0D" in errored and "%2525" in errored  # data: \n, \r, and a literal %25
    original = _unescape_data(errored)
    assert "bad\nline %25 100% a:b, c:" in original and "\r\\x1b[31mred\\x00" in original
    warned = next(props for kind, props, _ in commands if kind == "warning")
    raw = next(line for line in text.splitlines() if line.startswith("::warning"))
    assert "title=mlc warning%3A warn feature income ks_pvalue >= 0.001 vs production::" in raw
    assert warned["title"] == "mlc warning: warn feature income ks_pvalue >= 0.001 vs production"
    # a title with a comma and a colon in it stays one property
    assert "title=mlc failed%3A handles nulls in age%2C income::" in text


def test_escaped_pieces_directly():
    assert annotations.escape_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert annotations.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert annotations.escape_data("\x1b[2J\x00::stop-commands::x") == "\\x1b[2J\\x00:\\:stop-commands:\\:x"


def test_fail_on_warn_makes_warnings_errors():
    result = fixture_result().model_copy(update={"fail_on": "warn"})
    kinds = [kind for kind, _, _ in _commands(annotations.render(result, context()))]
    assert kinds == ["error"] * 7


def test_path_relative_to_the_github_workspace(monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    assert annotations.workspace_path(str(tmp_path / "contracts" / "churn.mlc")) == "contracts/churn.mlc"
    monkeypatch.chdir(tmp_path)
    assert annotations.workspace_path("contracts/churn.mlc") == "contracts/churn.mlc"
    assert annotations.workspace_path("/elsewhere/churn.mlc") == "/elsewhere/churn.mlc"


def test_cli_annotates_when_github_actions_is_set(tmp_path, monkeypatch):
    contract = small_contract(tmp_path)
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))

    def commands(actions: str, *extra: str) -> list[str]:
        monkeypatch.setenv("GITHUB_ACTIONS", actions)
        done = run_cli("check", str(contract), *extra)
        assert done.returncode == 1, done.stderr
        return [line for line in done.stdout.splitlines() if line.startswith("::")]

    lines = commands("true")
    assert [line.split(",")[:2] for line in lines] == [
        ["::error file=small.mlc", "line=8"], ["::error file=small.mlc", "line=11"],
        ["::warning file=small.mlc", "line=9"]]
    assert lines[0].startswith("::error file=small.mlc,line=8,col=1,endColumn=40,title=mlc failed%3A feature age psi")
    assert commands("true", "--annotations", "none") == []
    assert commands("") == []
    assert commands("", "--annotations", "github") == lines


def test_cli_refuses_an_unknown_annotations_mode(tmp_path):
    done = run_cli("check", str(small_contract(tmp_path)), "--annotations", "gitlab")
    assert done.returncode == 2 and "--annotations takes auto, github or none" in done.stderr
