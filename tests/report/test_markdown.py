"""`mlc check --markdown`: a summary for a pull-request comment or the GitHub job summary;
problems first; outside text escaped for Markdown (pipes, backticks, HTML, mentions)."""
from __future__ import annotations

import re

from conftest import run_cli
from reporting import CONTROL, compare, context, fixture_result, small_contract

from mlcontract.report.formats import markdown


def _rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| |")]


def _cells(row: str) -> list[str]:
    """A GFM table row's cells: split on the pipes no backslash escapes."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def test_golden_fixture():
    compare(markdown.render(fixture_result(), context()), "expected.md")


def test_failures_first_then_errors_warnings_and_folded_passes():
    text = markdown.render(fixture_result(), context())
    marks = [_cells(row)[0] for row in _rows(text)]
    assert marks == ["❌"] * 5 + ["❗", "⚠️"] + ["✅"] * 7
    assert text.index("<details><summary>7 passing checks</summary>") > text.index("⚠️")
    assert text.startswith("### mlc check churn-bad\\\\nline %25: ❌ FAIL\n")


def test_every_row_keeps_its_columns_whatever_the_data_says():
    text = markdown.render(fixture_result(), context())
    problems, passes = text.split("<details>")
    assert {len(_cells(row)) for row in _rows(problems)} == {7}
    assert {len(_cells(row)) for row in _rows(passes)} == {6}


def test_outside_text_is_inert():
    text = markdown.render(fixture_result(), context())
    assert not CONTROL.search(text)
    assert "<script" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&amp;amp;" in text  # an entity in the data shows as written, not as `&`
    assert "@octocat" not in text and "&#64;octocat" in text  # no mention
    assert "[x](http" not in text and "\\[x\\](http" in text  # no link
    assert "`tick`" not in text and "\\`tick\\`" in text
    assert "\\*b\\* \\_i\\_" in text


def test_markdown_escape():
    assert markdown.escape("a|b") == "a\\|b"
    assert markdown.escape("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"
    assert markdown.escape("line\nbreak") == "line\\\\nbreak"


def test_cli_markdown_file_and_step_summary(tmp_path, monkeypatch):
    contract = small_contract(tmp_path)
    out = tmp_path / "summary.md"
    done = run_cli("check", str(contract), "--markdown", str(out))
    assert done.returncode == 1
    written = out.read_text(encoding="utf-8")
    assert written.startswith("### mlc check small: ❌ FAIL")
    assert _cells(_rows(written)[0])[:3] == ["❌", "8", "feature age psi &lt; 0.000001 vs production"]

    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    done = run_cli("check", str(contract), "--markdown", "-")
    assert done.returncode == 1 and "### mlc check" not in done.stdout
    appended = summary.read_text(encoding="utf-8")
    assert appended.startswith("earlier step\n### mlc check small: ❌ FAIL")

    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "no-such-folder" / "summary.md"))
    done = run_cli("check", str(contract), "--markdown", "-")
    assert done.returncode == 2 and "cannot append to $GITHUB_STEP_SUMMARY" in done.stderr
    assert "Traceback" not in done.stderr

    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    done = run_cli("check", str(contract), "--markdown", "-")
    assert "### mlc check small: ❌ FAIL" in done.stdout
