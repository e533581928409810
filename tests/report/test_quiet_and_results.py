"""Issue 15: `--quiet`'s one line is written without rich when rich would write it as it is, and
the results are dataclasses that pydantic serializes on demand (neither library at start-up)."""
from __future__ import annotations

import pytest


def _rich_quiet(result, stream, width=None) -> None:
    from mlcontract.report.formats.terminal import console, summary_line

    console(stream, width).print(summary_line(result))


def _results(counts: dict, passed: bool, seconds: float = 0.1234):
    from mlcontract.report.results import RunResult

    return RunResult(passed=passed, counts=counts, seconds=seconds, checks=[])


@pytest.mark.parametrize("counts, passed", [({"pass": 1}, True), ({"pass": 0, "fail": 3, "warn": 1, "error": 2}, False),
                                            ({"pass": 123456789, "warn": 1}, True), ({}, False)])
@pytest.mark.parametrize("environment", [{}, {"COLUMNS": "200"}, {"COLUMNS": "20"}, {"FORCE_COLOR": "1"},
                                         {"TTY_COMPATIBLE": "1"}, {"TTY_COMPATIBLE": "0"}, {"FORCE_COLOR": ""},
                                         {"NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_the_quiet_line_is_what_rich_writes(monkeypatch, counts, passed, environment):
    """`--quiet` writes its one line without rich when rich would write it unstyled and unwrapped,
    and lets rich draw it otherwise (colours forced, a narrow $COLUMNS): the bytes are rich's,
    on a stream and in a file."""
    import io

    from mlcontract.report import ReportContext
    from mlcontract.report.formats.terminal import FORMAT

    for name in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    result = _results(counts, passed)
    written, drawn = io.StringIO(), io.StringIO()
    FORMAT.write(result, written, ReportContext(quiet=True))
    _rich_quiet(result, drawn)
    assert written.getvalue() == drawn.getvalue()
    assert written.getvalue().startswith("gate PASS" if passed else "gate FAIL") or "\x1b[" in written.getvalue()


def test_the_quiet_line_in_a_file_is_what_rich_writes(tmp_path, monkeypatch):
    import io

    from mlcontract.report import ReportContext
    from mlcontract.report.formats.terminal import FILE_WIDTH, FORMAT

    monkeypatch.delenv("FORCE_COLOR", raising=False)
    result = _results({"pass": 2, "fail": 1}, False)
    FORMAT.write(result, tmp_path / "out.txt", ReportContext(quiet=True))
    drawn = io.StringIO()
    _rich_quiet(result, drawn, FILE_WIDTH)
    assert (tmp_path / "out.txt").read_text(encoding="utf-8") == drawn.getvalue() == "gate FAIL  2 passed, 1 failed in 0.12s\n"


def test_a_terminal_gets_the_quiet_line_from_rich(monkeypatch):
    """On a terminal rich colours the verdict: the plain path steps aside."""
    import io

    from mlcontract.report import ReportContext
    from mlcontract.report.formats.terminal import FORMAT

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    out = Terminal()
    FORMAT.write(_results({"pass": 1}, True), out, ReportContext(quiet=True))
    assert "\x1b[" in out.getvalue() and "PASS" in out.getvalue()


def test_results_are_built_validated_and_serialized_as_the_pydantic_models_were():
    """The results are dataclasses now (no pydantic at start-up); what their pydantic models did
    still holds: a kind given as a word is the CheckKind, a wrong status or fail_on is refused,
    float fields hold floats, dicts become CheckResults, and the JSON goes both ways."""
    import json

    from mlcontract.report.results import CheckResult, RunResult
    from mlcontract.resolve.contract import CheckKind

    check = CheckResult(index=0, line=1, source="x", kind="data", status="pass", blocking=True, subject="t",
                        statistic="s", value=2**53 + 1, message="")
    assert check.kind is CheckKind.DATA
    with pytest.raises(ValueError):
        CheckResult(index=0, line=1, source="x", kind="data", status="passed", blocking=True, subject="t",
                    statistic="s", message="")
    with pytest.raises(ValueError):
        CheckResult(index=0, line=1, source="x", kind="nonsense", status="pass", blocking=True, subject="t",
                    statistic="s", message="")
    with pytest.raises(ValueError):
        RunResult(passed=True, counts={}, seconds=0, checks=[], fail_on="never")
    result = RunResult(passed=True, counts={"pass": 1}, seconds=0, durations={"compile": 1}, checks=[check.model_dump()])
    assert result.checks == [check] and isinstance(result.seconds, float) and result.durations == {"compile": 1.0}
    document = json.loads(result.to_json())
    assert document["seconds"] == 0.0 and document["checks"][0]["value"] == 2**53 + 1
    assert document["checks"][0]["kind"] == "data" and document["mlcontract_version"]
    again = RunResult.model_validate_json(result.to_json())
    assert again == result and again.to_json() == result.to_json()
    assert result.model_dump(mode="json") == document
    assert result.model_copy(update={"fail_on": "warn"}).fail_on == "warn" and result.fail_on == "fail"
    described = RunResult.model_json_schema()["properties"]
    assert described["contract_sha256"]["description"] == "sha256 of the contract's text (UTF-8) as compiled"
