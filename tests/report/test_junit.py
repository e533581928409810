"""`mlc check --junit`: one testcase per expanded check, failures and errors as JUnit has them,
warnings visible, nothing skipped; read back by junitparser (a real consumer) and valid
against the JUnit schema of Jenkins' xUnit plugin (tests/fixtures/report/junit-10.xsd)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import junitparser
import pytest
import xmlschema

from conftest import run_cli
from reporting import CONTROL, REPORT, compare, context, fixture_result, small_contract

from mlcontract.report.formats import junit


@pytest.fixture(scope="module")
def schema():
    return xmlschema.XMLSchema(str(REPORT / "junit-10.xsd"))


def _cases(text: str, tmp_path) -> list:
    path = tmp_path / "junit.xml"
    path.write_text(text, encoding="utf-8")
    suites = junitparser.JUnitXml.fromfile(str(path))
    return [case for suite in suites for case in suite]


def test_golden_fixture():
    compare(junit.render(fixture_result(), context()), "expected.junit.xml")


def test_valid_against_the_jenkins_schema(schema):
    schema.validate(junit.render(fixture_result(), context()))


def test_one_testcase_per_check_failures_errors_and_visible_warnings(tmp_path):
    result = fixture_result()
    cases = _cases(junit.render(result, context()), tmp_path)
    assert len(cases) == len(result.checks)
    by_status = {}
    for check, case in zip(result.checks, cases):
        kinds = [type(r).__name__ for r in case.result]
        by_status.setdefault(check.status, []).append(kinds)
        assert case.classname.endswith("." + check.kind)
        assert "Skipped" not in kinds  # never used to hide a check
    assert all(k == ["Failure"] for k in by_status["fail"])
    assert all(k == ["Error"] for k in by_status["error"])
    assert all(k == [] for k in by_status["pass"] + by_status["warn"])
    warned = next(case for check, case in zip(result.checks, cases) if check.status == "warn")
    assert warned.system_out.startswith("warning (does not block the gate): ks_pvalue")


def test_names_are_the_contract_lines_with_the_feature_when_the_line_expanded(tmp_path):
    cases = _cases(junit.render(fixture_result(), context()), tmp_path)
    names = [case.name for case in cases]
    assert "feature age psi < 0.2 vs production" in names
    assert "feature numeric psi < 0.25 vs production  [income]" in names
    failed = next(case for case in cases if case.name == "feature age psi < 0.2 vs production")
    assert failed.result[0].message == "psi 0.3102 is not < 0.2"
    assert "observed 0.3102, threshold < 0.2" in failed.result[0].text


def test_escaping_no_control_character_and_parsable():
    text = junit.render(fixture_result(), context())
    assert not CONTROL.search(text)
    assert "\uffff" not in text  # not an XML character
    root = ET.fromstring(text.encode("utf-8"))
    error = root.find(".//error")
    assert "\\n" in error.get("message") and "<script>" in error.get("message")  # escaped text, intact
    assert error.get("message").count("\n") == 0


def test_fail_on_warn_makes_the_warning_a_failure(tmp_path, schema):
    result = fixture_result().model_copy(update={"fail_on": "warn"})
    text = junit.render(result, context())
    schema.validate(text)
    cases = _cases(text, tmp_path)
    warned = next(case for check, case in zip(result.checks, cases) if check.status == "warn")
    assert [type(r).__name__ for r in warned.result] == ["Failure"] and warned.result[0].type == "warn"
    assert ET.fromstring(text).get("failures") == str(result.counts["fail"] + result.counts["warn"])


def test_cli_writes_junit_for_a_real_run(tmp_path, schema):
    contract = small_contract(tmp_path)
    out = tmp_path / "reports" / "junit.xml"
    done = run_cli("check", str(contract), "--junit", str(out))
    assert done.returncode == 1, done.stderr
    schema.validate(str(out))
    suites = junitparser.JUnitXml.fromfile(str(out))
    suite = next(iter(suites))
    assert (suite.tests, suite.failures, suite.errors) == (5, 1, 1)
    names = [case.name for case in suite]
    assert names[0] == "training rows >= 100" and "gone rows >= 1" in names
    props = {p.name: p.value for p in suite.properties()}
    assert props["mlcontract_version"] and len(props["contract_sha256"]) == 64 and props["passed"] == "false"


def test_a_bad_junit_target_fails_before_the_run(tmp_path):
    contract = small_contract(tmp_path)
    done = run_cli("check", str(contract), "--junit", "/dev/null")
    assert done.returncode == 2 and "--junit" in done.stderr and "Traceback" not in done.stderr


def test_the_formats_do_not_need_rich():
    import subprocess
    import sys

    code = ("import sys\nfrom mlcontract.report.formats import annotations, html, junit, markdown\n"
            "print('rich' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
