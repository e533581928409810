"""The `mlc` command: every example contract under contracts/ runs through it; exit codes;
the JSON results schema; no traceback for any bad input."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import mlcontract

from conftest import FIXTURES, ROOT, run_cli, run_json

EXAMPLES = sorted((ROOT / "contracts").glob("*.mlc"))
# Examples of a candidate the gate must stop (tests/test_demo.py checks each expected failure).
REJECTED_EXAMPLES = {"rejected"}


def test_there_are_example_contracts():
    assert EXAMPLES, "contracts/ must hold example contracts"


@pytest.mark.slow
@pytest.mark.parametrize("contract", EXAMPLES, ids=lambda p: p.stem)
def test_example_contract_runs_through_the_cli(contract, tmp_path):
    code, document, done = run_json(contract, tmp_path)
    assert "Traceback" not in done.stderr + done.stdout
    assert document["checks"], done.stdout + done.stderr
    blocking_problems = [c for c in document["checks"] if c["status"] in ("fail", "error")]
    assert code == (1 if blocking_problems else 0)
    assert document["passed"] == (code == 0)
    if contract.stem in REJECTED_EXAMPLES:  # it must fail, and only by measured failures, never errors
        assert blocking_problems and all(c["status"] == "fail" for c in blocking_problems), blocking_problems
        return
    # The examples are meant to pass: a failing example is a broken example.
    assert not blocking_problems, [(c["line"], c["message"]) for c in blocking_problems]


@pytest.mark.slow
def test_demo_report_shows_groups_marks_values_and_summary():
    done = run_cli("check", str(ROOT / "contracts" / "demo.mlc"))
    assert "Data validation" in done.stdout
    assert "feature numeric psi < 0.2 vs production  [age]" in done.stdout
    assert "✔" in done.stdout and "▲" in done.stdout
    assert done.stdout.strip().splitlines()[-1].startswith("gate PASS")


@pytest.mark.slow
def test_json_results_schema(tmp_path):
    code, document, _ = run_json(ROOT / "contracts" / "demo.mlc", tmp_path)
    assert set(document) >= {"passed", "checks"}
    for check in document["checks"]:
        assert set(check) >= {"line", "source", "status", "subject", "feature", "statistic", "value", "threshold",
                              "message"}
        assert check["status"] in ("pass", "fail", "warn", "error")
        assert isinstance(check["line"], int) and isinstance(check["source"], str)
        assert check["value"] is None or isinstance(check["value"], (int, float))
    warned = [c for c in document["checks"] if c["status"] == "warn"]
    assert warned and not warned[0]["blocking"]


@pytest.mark.slow
def test_a_failing_check_exits_1(tmp_path):
    contract = tmp_path / "strict.mlc"
    contract.write_text(f'dataset t = parquet("{FIXTURES / "data" / "train.parquet"}")\nt rows >= 1000000\n')
    code, document, done = run_json(contract, tmp_path)
    assert code == 1 and not document["passed"]
    assert document["checks"][0]["status"] == "fail"
    assert "rows 200 is not >= 1000000" in document["checks"][0]["message"]


@pytest.mark.slow
def test_a_warn_failure_does_not_fail_the_gate(tmp_path):
    contract = tmp_path / "soft.mlc"
    contract.write_text(f'dataset t = parquet("{FIXTURES / "data" / "train.parquet"}")\nwarn t rows >= 1000000\n')
    code, document, _ = run_json(contract, tmp_path)
    assert code == 0 and document["passed"]
    assert document["checks"][0]["status"] == "warn"


@pytest.mark.slow
def test_malformed_contract_exits_2_with_the_diagnostic_and_no_traceback():
    done = run_cli("check", "resolve/unknown_column.mlc", cwd=FIXTURES)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (FIXTURES / "resolve" / "unknown_column.txt").read_text()


@pytest.mark.slow
def test_syntax_error_exits_2():
    done = run_cli("plan", "parse/two_syntax_errors.mlc", cwd=FIXTURES)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "2 errors in parse/two_syntax_errors.mlc" in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("args", [
    ["check", "no/such/contract.mlc"],
    ["check"],
    ["plan", "--no-such-flag", "x.mlc"],
    ["frobnicate"],
])
def test_command_line_errors_exit_2_without_traceback(args):
    done = run_cli(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.slow
def test_missing_data_file_is_an_error_result_and_exit_1(tmp_path):
    contract = tmp_path / "gone.mlc"
    contract.write_text('dataset t = parquet("gone.parquet")\nfeature age null_rate <= 5%\nt rows >= 1\n')
    code, document, done = run_json(contract, tmp_path)
    assert code == 1
    assert [c["status"] for c in document["checks"]] == ["error", "error"]
    assert "file not found: gone.parquet" in document["checks"][0]["message"]
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_corrupt_data_file_is_an_error_result(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"this is not parquet")
    contract = tmp_path / "bad.mlc"
    contract.write_text('dataset t = parquet("bad.parquet")\nt rows >= 1\n')
    code, document, done = run_json(contract, tmp_path)
    assert code == 1 and document["checks"][0]["status"] == "error"
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_plan_command_prints_text_and_json():
    done = run_cli("plan", "plan/dedup.mlc", cwd=FIXTURES)
    assert done.returncode == 0
    assert done.stdout == (FIXTURES / "plan" / "dedup.txt").read_text()
    done = run_cli("plan", "plan/dedup.mlc", "--json", cwd=FIXTURES)
    assert json.loads(done.stdout)["statistics"] == 5


@pytest.mark.slow
def test_relative_paths_resolve_against_the_contract_folder(tmp_path):
    folder = tmp_path / "repo" / "contracts"
    (folder / "data").mkdir(parents=True)
    shutil.copy(FIXTURES / "data" / "train.parquet", folder / "data" / "t.parquet")
    (folder / "c.mlc").write_text('dataset t = parquet("data/t.parquet")\nt rows >= 10\n')
    done = run_cli("check", "repo/contracts/c.mlc", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_statistics_command_lists_the_language():
    done = run_cli("statistics")
    assert done.returncode == 0
    for word in ("psi", "wasserstein_norm", "unseen_rate", "auc", "nulls"):
        assert word in done.stdout


@pytest.mark.slow
def test_progress_bar_shows_the_scan_on_stderr(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "MLC_PROGRESS": "1", "COLUMNS": "160"}
    done = subprocess.run([sys.executable, "-m", "mlcontract", "check", "plan/dedup.mlc"], cwd=FIXTURES, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "scanning training" in done.stderr or "reading production" in done.stderr
    assert "gate PASS" in done.stdout


def test_garbage_collector_is_off_only_during_start_up():
    """entry() switches the cyclic GC off for start-up; _started() switches it back on (and
    freezes the start-up objects) but leaves a caller's own GC settings alone."""
    import gc

    from mlcontract import cli

    frozen = gc.get_freeze_count()
    cli._started()  # in-process, GC on: nothing to do
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    gc.disable()
    try:
        cli._started()
        assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


@pytest.mark.slow
def test_a_report_of_thousands_of_passes_lists_what_did_not_pass():
    """Past 500 passing checks in a group the report lists the others and counts the passes;
    --verbose lists every check."""
    import io

    from rich.console import Console

    from mlcontract.report.formats.terminal import render

    data = f'dataset t = parquet("{FIXTURES / "data" / "train.parquet"}")\n'
    text = data + "t rows >= 1000000\n" + "".join(f"t rows >= -{i}\n" for i in range(600))
    result = mlcontract.compile(text).run()

    def shown(verbose: bool) -> str:
        out = io.StringIO()
        render(result, Console(file=out, width=200), verbose)
        return out.getvalue()

    compact = shown(False)
    assert "600 passing checks not listed" in compact and "t rows >= 1000000" in compact
    assert "t rows >= -599" not in compact
    full = shown(True)
    assert "t rows >= -599" in full and "not listed" not in full


@pytest.mark.slow
def test_heavy_libraries_load_only_when_a_contract_needs_them(tmp_path):
    """Start-up counts in CI: compiling imports Lark and Polars and nothing heavier, and a data
    contract (histograms, summaries, counts, KS on large samples) runs without scipy.stats,
    scikit-learn or pandas."""
    import subprocess
    import sys

    data = FIXTURES / "data"
    contract = tmp_path / "data.mlc"
    contract.write_text(f'dataset train = parquet("{data / "train.parquet"}")\n'
                        f'dataset prod = parquet("{data / "prod.parquet"}")\n'
                        "feature age, income, plan psi < 10 vs prod\nfeature * null_rate <= 1\nfeature age mean >= 0\n"
                        "feature age ks <= 1 vs prod\nfeature age between 0 and 200\n")
    heavy = "('lark', 'polars', 'pydantic', 'numpy', 'scipy.stats', 'sklearn', 'pandas', 'pyarrow', 'rich')"
    code = ("import sys, mlcontract\n"
            f"contract = mlcontract.compile({str(contract)!r})\n"
            f"print(sorted(m for m in {heavy} if m in sys.modules))\n"
            "contract.run()\n"
            f"print(sorted(m for m in {heavy} if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "['lark', 'polars']"
    assert out[1] == "['lark', 'numpy', 'polars', 'pyarrow']"  # the results are dataclasses: no pydantic


# ---- issue 12: --version, --fail-on, --input, lint, the JSON's run facts ----------------------------
def _gate(folder: Path, lines: str, declarations: str | None = None) -> Path:
    data = FIXTURES / "data"
    contract = folder / "gate.mlc"
    contract.write_text((declarations if declarations is not None else
                         f'dataset training = parquet("{data / "train.parquet"}")\n'
                         f'dataset production = parquet("{data / "prod.parquet"}")\n') + lines, encoding="utf-8")
    return contract


def test_version():
    done = run_cli("--version")
    assert done.returncode == 0 and done.stdout == f"mlc (mlcontract) {mlcontract.__version__}\n"


def test_fail_on_warn_makes_warnings_block(tmp_path):
    contract = _gate(tmp_path, "training rows >= 100\nwarn feature age mean <= 1\n")
    code, document, _ = run_json(contract, tmp_path)
    assert code == 0 and document["passed"] and document["fail_on"] == "fail" and document["counts"]["warn"] == 1
    code, document, done = run_json(contract, tmp_path, "--fail-on", "warn")
    assert code == 1 and not document["passed"] and document["fail_on"] == "warn"
    assert done.stdout.strip().splitlines()[-1].startswith("gate FAIL")
    done = run_cli("check", str(contract), "--fail-on", "error")
    assert done.returncode == 2 and "--fail-on takes `fail` or `warn`" in done.stderr


def test_results_json_carries_the_run_facts(tmp_path):
    import datetime
    import hashlib

    contract = _gate(tmp_path, "training rows >= 100\n  feature age psi < 10 vs production\n")
    code, document, _ = run_json(contract, tmp_path)
    assert code == 0
    assert document["schema_version"] == 1 and document["mlcontract_version"] == mlcontract.__version__
    assert document["contract_sha256"] == hashlib.sha256(contract.read_bytes()).hexdigest()
    started = datetime.datetime.fromisoformat(document["started_at"])
    assert started.tzinfo is not None
    assert abs(datetime.datetime.now(datetime.timezone.utc) - started).total_seconds() < 600
    assert set(document["durations"]) == {"compile", "execute", "evaluate"}
    assert all(v >= 0 for v in document["durations"].values())
    rows, psi = document["checks"]
    assert (rows["column"], rows["end_column"]) == (1, 21)
    assert (psi["column"], psi["end_column"]) == (3, 37)  # the check's span, past its indentation


def test_input_points_a_declaration_at_another_file(tmp_path):
    """The invocation chose the file: it is read wherever it lies (the contract could not name
    it), keeping the declared format and options."""
    import polars as pl

    elsewhere = tmp_path / "pipeline-output"
    elsewhere.mkdir()
    produced = elsewhere / "train;semi.csv"
    pl.read_parquet(FIXTURES / "data" / "train.parquet").drop("signup").write_csv(produced, separator=";")
    folder = tmp_path / "repo"
    folder.mkdir()
    contract = _gate(folder, "training rows >= 150\nfeature age null_rate <= 50%\n",
                     'dataset training = csv("data/train.csv", separator=";")\n')
    code, document, _ = run_json(contract, tmp_path)
    assert code == 1 and {c["status"] for c in document["checks"]} == {"error"}  # the declared file does not exist
    code, document, done = run_json(contract, tmp_path, "--input", f"training={produced}")
    assert code == 0, done.stdout + done.stderr
    assert document["checks"][0]["value"] == 200
    # the same path written in the contract is outside its repository and the working directory: refused
    named = _gate(folder, "training rows >= 150\n", f'dataset training = csv("{produced}", separator=";")\n')
    code, document, _ = run_json(named, tmp_path)
    assert code == 1 and "refused to read" in document["checks"][0]["message"]


def test_input_replaces_a_history_too(tmp_path):
    contract = _gate(tmp_path, "val_loss not increasing\n", 'history run = csv("runs/missing.csv")\n')
    code, document, done = run_json(contract, tmp_path, "--input", f"run={FIXTURES / 'data' / 'history.csv'}")
    assert document["checks"][0]["status"] in ("pass", "fail"), done.stderr
    assert document["checks"][0]["details"]["epochs"] > 1


def test_input_refuses_special_files_unknown_names_and_urls(tmp_path):
    import os

    contract = _gate(tmp_path, "training rows >= 1\n", 'dataset training = parquet("train.parquet")\n'
                     'model api = http("http://127.0.0.1:9/predict")\n')
    done = run_cli("check", str(contract), "--input", "training=/dev/zero")
    assert done.returncode == 2 and "--input training=/dev/zero: it is /dev/zero, under /dev" in done.stderr
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    done = run_cli("check", str(contract), "--input", f"training={fifo}")
    assert done.returncode == 2 and "it is a FIFO: special files are never inputs" in done.stderr
    code, document, _ = run_json(contract, tmp_path, "--input", f"training={tmp_path / 'not-produced.parquet'}")
    assert code == 1 and document["checks"][0]["status"] == "error"  # the pipeline produced nothing: the gate fails
    done = run_cli("check", str(contract), "--input", "trainig=x.parquet")
    assert done.returncode == 2 and "did you mean `training`?" in done.stderr and "Traceback" not in done.stderr
    done = run_cli("check", str(contract), "--input", "api=model.joblib")
    assert done.returncode == 2 and "http() model" in done.stderr
    for bad in ("training", "=x.parquet", "training="):
        done = run_cli("check", str(contract), "--input", bad)
        assert done.returncode == 2 and "--input takes NAME=PATH" in done.stderr
    done = run_cli("check", str(contract), "--input", "training=a.parquet", "--input", "training=b.parquet")
    assert done.returncode == 2 and "given twice" in done.stderr


def test_lint_compiles_without_running(tmp_path):
    good = _gate(tmp_path, "training rows >= 100\n")
    bad = tmp_path / "bad.mlc"
    bad.write_text("dataset d = parquet(\"x.parquet\")\nd rows >= \n", encoding="utf-8")
    done = run_cli("lint", str(good))
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    done = run_cli("lint", str(good), str(bad), str(tmp_path / "missing.mlc"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{bad}:2:" in done.stderr and "contract file not found" in done.stderr
    # a missing data file is not the contract's fault: lint passes, check reports an error
    missing_data = tmp_path / "data.mlc"
    missing_data.write_text('dataset d = parquet("nothing.parquet")\nd rows >= 1\n', encoding="utf-8")
    assert run_cli("lint", str(missing_data)).returncode == 0


def test_table_on_the_local_engine_is_a_diagnostic(tmp_path):
    """The Spark engine's `table(...)` on the local engine (issue 11; no Spark needed): a compile-time diagnostic, located, naming the flag; `mlc check` exits 2."""
    from mlcontract.cli import main
    from mlcontract.errors import ContractError

    (tmp_path / "t.mlc").write_text('dataset cur = table("main.sales.orders")\ncur rows >= 1\n')
    with pytest.raises(ContractError) as raised:
        mlcontract.compile(tmp_path / "t.mlc")
    rendered = raised.value.render()
    assert "t.mlc:1:15" in rendered and "--engine spark" in rendered and "catalog table" in rendered
    assert main(["check", str(tmp_path / "t.mlc")]) == 2

def test_spark_options_without_the_spark_engine_are_usage_errors(tmp_path, capsys):
    """Issue 11, no Spark needed: --spark-* without --engine spark, a --spark-conf without `=`: exit 2."""
    from mlcontract.cli import main

    (tmp_path / "c.mlc").write_text('dataset d = parquet("d.parquet")\nd rows >= 1\n')
    import polars as pl

    pl.DataFrame({"x": [1.0]}).write_parquet(tmp_path / "d.parquet")
    assert main(["check", str(tmp_path / "c.mlc"), "--spark-master", "local[2]"]) == 2
    assert "--engine spark" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "c.mlc"), "--engine", "spark", "--spark-conf", "novalue"]) == 2
    assert "key=value" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "c.mlc"), "--engine", "spark", "--spark-master", "local[1]",
                 "--spark-remote", "sc://localhost:15002"]) == 2
    assert main(["profile", str(tmp_path / "d.parquet"), "--spark-remote", "sc://x:1"]) == 2
