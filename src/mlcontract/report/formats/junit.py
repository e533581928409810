"""`mlc check --junit OUT.xml`: the results as a JUnit XML report, the format Jenkins, GitLab
(`artifacts:reports:junit`), Azure DevOps and most CI systems read.

One testsuite per run, one testcase per expanded check: classname `CONTRACT.GROUP` (Jenkins
shows the contract as the package and the group as the class), name the contract line (with
`[feature]` when the line expanded). A failed check has a <failure>, a check that could not
run an <error>; a warning that does not block is a passing testcase whose <system-out> says
so (with `--fail-on warn` it blocks, and is a <failure type="warn">). <skipped> is never
used: every check either ran or is an error. The document is valid against the JUnit schema
Jenkins' xUnit plugin uses (junit-10.xsd, tests/fixtures/report/).

Everything from outside (names, messages quoting data) goes through escape.printable: no
control character, which XML 1.0 cannot even carry, reaches the file.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from ...escape import MESSAGE_LIMIT, printable
from .. import ReportContext, ReportFormat, Target, emit
from ..formatting import check_label, observed_text, threshold_text

if TYPE_CHECKING:
    from ..results import CheckResult, RunResult

# Characters XML 1.0 cannot carry that printable() lets through (it escapes C0/C1 controls
# and surrogates): the two noncharacters U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\ufffe\uffff]")
_QUOTE = {'"': "&quot;"}
NAME_LIMIT = 600


def write(result: RunResult, target: Target, context: ReportContext) -> None:
    emit(render(result, context), target, FORMAT.flag)


def render(result: RunResult, context: ReportContext) -> str:
    suite_name = _text(result.contract or (Path(result.path).stem if result.path else "contract"))
    failures = sum(1 for c in result.checks if result.blocks(c) and c.status != "error")
    counts = _attributes(tests=len(result.checks), failures=failures, errors=result.counts.get("error", 0))
    time = _seconds(result)
    suite = _attributes(name=suite_name) + counts + ' skipped="0"' + _attributes(time=time)
    if result.started_at:
        suite += _attributes(timestamp=result.started_at[:19])  # the Ant/Jenkins form, in UTC (a property says so)
    if context.contract_path or result.path:
        suite += _attributes(file=_text(context.contract_path or result.path))
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n',
           f'<testsuites name="mlcontract"{counts}{_attributes(time=time)}>\n', f"  <testsuite{suite}>\n"]
    out += _properties(result, context)
    names = {check.index: check_label(check) for check in result.checks}
    repeated = Counter(names.values())
    for check in result.checks:
        name = names[check.index] if repeated[names[check.index]] == 1 else f"{names[check.index]} (line {check.line})"
        out += _testcase(check, result, suite_name, name)
    out.append("  </testsuite>\n</testsuites>\n")
    return "".join(out)


def _properties(result: RunResult, context: ReportContext) -> list[str]:
    values = {
        "contract": context.contract_path or result.path,
        "contract_sha256": result.contract_sha256,
        "mlcontract_version": result.mlcontract_version,
        "started_at_utc": result.started_at,
        "fail_on": result.fail_on,
        "passed": "true" if result.passed else "false",
        "warnings": str(result.counts.get("warn", 0)),
        **{f"seconds_{stage}": f"{seconds:.3f}" for stage, seconds in result.durations.items()},
    }
    shown = [f"      <property{_attributes(name=name, value=_text(value))} />\n"
             for name, value in values.items() if value is not None]
    return ["    <properties>\n", *shown, "    </properties>\n"]


def _testcase(check: CheckResult, result: RunResult, suite_name: str, name: str) -> list[str]:
    from xml.sax.saxutils import escape  # here: it loads urllib, http and ssl (~30 ms) into every run

    head = f"    <testcase{_attributes(name=_text(name, NAME_LIMIT), classname=f'{suite_name}.{check.kind}')}>\n"
    message = _text(check.message, MESSAGE_LIMIT)
    if result.blocks(check):
        tag = "error" if check.status == "error" else "failure"
        attributes = _attributes(type=check.status, message=message)
        body = f"      <{tag}{attributes}>{escape(_body(check, name, message))}</{tag}>\n"
    elif check.status == "warn":
        body = f"      <system-out>{escape('warning (does not block the gate): ' + message)}</system-out>\n"
    else:
        body = f"      <system-out>{escape(message)}</system-out>\n"
    return [head, body, "    </testcase>\n"]


def _attributes(**values) -> str:
    from xml.sax.saxutils import escape

    return "".join(f' {key}="{escape(str(value), _QUOTE)}"' for key, value in values.items())


def _body(check: CheckResult, name: str, message: str) -> str:
    lines = [f"line {check.line}: {_text(name, NAME_LIMIT)}"]
    observed, threshold = observed_text(check), threshold_text(check)
    if observed or threshold:
        lines.append(f"observed {observed or '—'}" + (f", threshold {threshold}" if threshold else ""))
    lines.append(message)
    return "\n".join(lines)


def _seconds(result: RunResult) -> str:
    total = sum(result.durations.values()) if result.durations else result.seconds
    return f"{max(total, 0.0):.3f}"  # the schema's SUREFIRE_TIME: at most three decimals


def _text(value: object, limit: int = 300) -> str:
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", printable(value, limit))


FORMAT = ReportFormat(name="junit", flag="--junit", metavar="OUT.xml",
                      help="also write a JUnit XML report (one testcase per check)", write=write, order=20)
