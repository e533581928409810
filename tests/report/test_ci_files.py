"""Where teams plug mlcontract in: the GitHub Action (action.yml) and the pre-commit hook
(.pre-commit-hooks.yaml). The Action's script runs here as a runner would run it."""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys

import yaml

from conftest import ROOT
from reporting import small_contract


def test_pre_commit_hook_lints_mlc_files():
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "mlc-lint" and hook["entry"] == "mlc lint" and hook["language"] == "python"
    assert re.search(hook["files"], "contracts/churn.mlc") and not re.search(hook["files"], "contracts/churn.mlc.bak")


def _action():
    return yaml.safe_load((ROOT / "action.yml").read_text())


def test_action_is_a_composite_that_never_splices_inputs_into_scripts():
    action = _action()
    assert action["runs"]["using"] == "composite" and action["inputs"]["contract"]["required"]
    for step in action["runs"]["steps"]:
        assert "${{" not in step.get("run", "")  # inputs arrive as environment variables
    uses = [step["uses"] for step in action["runs"]["steps"] if "uses" in step]
    assert any(u.startswith("actions/upload-artifact@") for u in uses)


def test_action_script_runs_the_gate_with_annotations_summary_and_html(tmp_path):
    step = next(s for s in _action()["runs"]["steps"] if s.get("id") == "check")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "mlc"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m mlcontract \"$@\"\n")
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    contract = small_contract(tmp_path)
    outputs, summary = tmp_path / "outputs", tmp_path / "summary.md"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "GITHUB_OUTPUT": str(outputs),
           "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_WORKSPACE": str(tmp_path),
           "MLC_CONTRACT": str(contract), "MLC_ARGS": "--quiet --fail-on fail", "MLC_HTML": str(tmp_path / "r.html"),
           "MLC_JUNIT": str(tmp_path / "j.xml")}
    done = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # the step records the verdict; the last step gates on it
    assert outputs.read_text().splitlines() == ["exit-code=1", "passed=false"]
    assert summary.read_text().startswith("### mlc check small: ❌ FAIL")
    assert "::error file=small.mlc,line=8," in done.stdout
    assert (tmp_path / "r.html").stat().st_size > 100_000 and (tmp_path / "j.xml").exists()
    assert done.stdout.strip().splitlines()[-1].startswith("gate FAIL")
