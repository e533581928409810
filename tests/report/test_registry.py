"""The report-format registry: every module of report/formats/ with a FORMAT is a format of
`mlc check`, its option generated from the registry (a new format is one module, no CLI
edit), any combination written in one run; the JSON keeps the fields it had and adds new ones."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest

from conftest import run_cli
from reporting import small_contract

from mlcontract.report import ReportFormat, report_formats


def test_every_format_is_registered_with_its_own_name_and_flag():
    formats = report_formats()
    assert list(formats) == ["json", "junit", "markdown", "html", "annotations", "terminal"]  # writing order
    assert all(isinstance(entry, ReportFormat) for entry in formats.values())
    assert [entry.flag for entry in formats.values()] == ["--json", "--junit", "--markdown", "--html", "--annotations",
                                                          "--terminal"]


def test_the_check_command_takes_one_option_per_format():
    done = run_cli("check", "--help")
    assert done.returncode == 0
    for entry in report_formats().values():
        assert entry.flag in done.stdout and entry.metavar in done.stdout


NEW_FORMAT = '''
"""A format written for the test: the verdict and the number of checks, one line."""
from mlcontract.report import ReportFormat, emit


def write(result, target, context):
    emit(f"{'PASS' if result.passed else 'FAIL'} {len(result.checks)} {context.contract_path}\\n", target, "--tally")


FORMAT = ReportFormat(name="tally", flag="--tally", metavar="OUT.txt", help="a one-line tally", write=write)
'''

HELPER = '''
"""A helper module of the formats: no FORMAT, so not a format."""
WORDS = ("pass", "fail")
'''


def test_a_new_format_is_one_module(tmp_path):
    """A module with a FORMAT dropped among the formats (here: a folder added to the package's
    path, so the source tree stays as it is) is an option of `mlc check`, written like the
    others; a module without FORMAT is a helper and skipped."""
    extra = tmp_path / "more_formats"
    extra.mkdir()
    (extra / "tally.py").write_text(NEW_FORMAT, encoding="utf-8")
    (extra / "_words.py").write_text(HELPER, encoding="utf-8")
    contract = small_contract(tmp_path)
    out = tmp_path / "tally.txt"
    code = textwrap.dedent(f"""
        import sys
        import mlcontract.report.formats as formats
        formats.__path__.append({str(extra)!r})
        from mlcontract import cli
        from mlcontract.report import report_formats
        assert "tally" in report_formats() and "_words" not in report_formats()
        sys.exit(cli.main(sys.argv[1:]))
    """)
    done = subprocess.run([sys.executable, "-c", code, "check", str(contract), "--tally", str(out), "--terminal", "none"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert out.read_text() == f"FAIL 5 {contract}\n" and done.stdout == ""
    helped = subprocess.run([sys.executable, "-c", code, "check", "--help"], capture_output=True, text=True, timeout=300)
    assert "--tally" in helped.stdout and "a one-line tally" in helped.stdout


def test_two_formats_cannot_claim_one_flag(tmp_path, monkeypatch):
    import mlcontract.report.formats as formats

    (tmp_path / "second_json.py").write_text(NEW_FORMAT.replace('flag="--tally"', 'flag="--json"'), encoding="utf-8")
    monkeypatch.setattr(formats, "__path__", [*formats.__path__, str(tmp_path)])
    report_formats.cache_clear()
    try:
        with pytest.raises(ValueError, match="`json` and `tally` both claim --json"):
            report_formats()
    finally:
        monkeypatch.undo()
        report_formats.cache_clear()


def test_every_format_in_one_run(tmp_path, monkeypatch):
    contract = small_contract(tmp_path)
    out = tmp_path / "reports"
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    done = run_cli("check", str(contract), "--json", str(out / "r.json"), "--junit", str(out / "r.xml"),
                   "--markdown", str(out / "r.md"), "--html", str(out / "r.html"), "--terminal", str(out / "r.txt"),
                   "--annotations", "github")
    assert done.returncode == 1, done.stderr
    assert json.loads((out / "r.json").read_text())["counts"] == {"pass": 2, "fail": 1, "warn": 1, "error": 1}
    assert (out / "r.xml").read_text().startswith("<?xml") and (out / "r.md").read_text().startswith("### mlc check")
    assert "<!DOCTYPE html>" in (out / "r.html").read_text()
    table = (out / "r.txt").read_text()
    assert "feature age psi < 0.000001 vs production" in table and "gate FAIL" in table
    assert "\x1b[" not in table  # a file gets no colours
    # the terminal report went to the file: stdout has the annotations only
    assert [line[:8] for line in done.stdout.splitlines()] == ["::error ", "::error ", "::warnin"]


def test_json_to_stdout_and_no_terminal_report(tmp_path):
    contract = small_contract(tmp_path)
    done = run_cli("check", str(contract), "--json", "-", "--terminal", "none", "--annotations", "none")
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert document["schema_version"] == 1 and len(document["checks"]) == 5
    quiet = run_cli("check", str(contract), "--terminal", "none")
    assert quiet.returncode == 1 and quiet.stdout == ""


def test_quiet_prints_the_verdict_only(tmp_path):
    done = run_cli("check", str(small_contract(tmp_path)), "--quiet")
    assert done.returncode == 1 and done.stdout.startswith("gate FAIL") and len(done.stdout.splitlines()) == 1


@pytest.mark.parametrize("flag", ["--json", "--junit", "--markdown", "--html", "--terminal"])
def test_a_wrong_target_fails_before_the_run_for_every_file_format(tmp_path, flag):
    contract = small_contract(tmp_path)
    done = run_cli("check", str(contract), flag, "/dev/null")
    assert done.returncode == 2 and flag in done.stderr and "Traceback" not in done.stderr
    assert "gate" not in done.stdout  # nothing ran


# The fields of the results JSON before it had a schema_version: every one is still there, with
# the same meaning; version 1 only adds fields (docs/reports.md).
RUN_FIELDS = {"contract", "path", "passed", "counts", "seconds", "checks"}
CHECK_FIELDS = {"index", "line", "source", "kind", "status", "blocking", "subject", "feature", "statistic", "value",
                "threshold", "comparator", "message", "details"}
ADDED_RUN_FIELDS = {"schema_version", "mlcontract_version", "contract_sha256", "started_at", "fail_on", "durations"}
ADDED_CHECK_FIELDS = {"column", "end_column", "unit", "display_unit", "from_selector"}


def test_the_json_keeps_its_fields_and_adds_new_ones(tmp_path):
    contract = small_contract(tmp_path, "feature income null_rate <= 5%\n")
    out = tmp_path / "r.json"
    run_cli("check", str(contract), "--json", str(out))
    document = json.loads(out.read_text())
    assert set(document) == RUN_FIELDS | ADDED_RUN_FIELDS
    for check in document["checks"]:
        assert set(check) == CHECK_FIELDS | ADDED_CHECK_FIELDS
    percent = document["checks"][-1]
    assert (percent["threshold"], percent["display_unit"], percent["unit"]) == (0.05, "%", None)
    assert re.fullmatch(r"null_rate \S+% <= 5%", percent["message"])
    psi = next(c for c in document["checks"] if c["statistic"] == "psi")
    assert psi["from_selector"] is False and psi["display_unit"] is None
