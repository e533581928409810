"""Shared test helpers: running contracts through the API and the CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIXTURES = Path(__file__).parent / "fixtures"


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `mlc ARGS` as a separate process (the way CI runs it)."""
    env = {**os.environ, "COLUMNS": "160", "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "mlcontract", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def run_json(contract: Path, tmp_path: Path, *extra: str) -> tuple[int, dict, subprocess.CompletedProcess]:
    out = tmp_path / "results.json"
    done = run_cli("check", str(contract), "--json", str(out), *extra)
    document = json.loads(out.read_text()) if out.exists() else {}
    return done.returncode, document, done


def spec_dir() -> Path:
    """The conformance spec: ../shared/spec when this checkout sits beside it, else the copy
    vendored in tests/spec (test_conformance.py checks that the two are identical)."""
    shared = SHARED / "spec"
    return shared if (shared / "make_fixture.py").exists() else Path(__file__).parent / "spec"


@pytest.fixture(scope="session")
def conformance(tmp_path_factory) -> Path:
    """The conformance fixture built by make_fixture.py (once per session)."""
    out = tmp_path_factory.mktemp("conformance")
    subprocess.run([sys.executable, str(spec_dir() / "make_fixture.py"), str(out)], check=True, timeout=600)
    return out
