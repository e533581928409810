"""Start-up cost of `mlc check` (issue 15): a contract pays for the libraries its checks use,
not for every library mlcontract can use. Guarded by the set of modules a run imports (CPU time
is too noisy for a test; bench/startup.py times it)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import polars as pl
import pytest

# What a contract of row counts and schemas never needs: NumPy, pyarrow and the kernels serve
# column statistics (~0.2 s of imports together), the others serve models and reports (html and
# its entity tables: the HTML report's escaping).
HEAVY = ("numpy", "pyarrow", "pandas", "scipy", "sklearn", "mlcontract._kernels", "xml.sax", "urllib.request", "html")


def _modules_imported_by_check(contract, *args: str, quiet: bool = True) -> set[str]:
    flags = ["-q"] if quiet else []
    code = textwrap.dedent(f"""
        import json, sys
        from mlcontract.cli import main
        code = main(["check", *{flags!r}, {str(contract)!r}, *{list(args)!r}])
        print(json.dumps({{"code": code, "modules": sorted(sys.modules)}}))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(),
                          timeout=120)
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["code"] == 0, done.stderr
    return set(answer["modules"])


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.guard
@pytest.mark.parametrize("check", ["d rows >= 1", "schema of d matches d"])
def test_a_contract_without_column_statistics_imports_no_heavy_library(tmp_path, check):
    pl.DataFrame({"x": [1.0, 2.0, 3.0], "s": ["a", "b", "c"]}).write_parquet(tmp_path / "d.parquet")
    contract = tmp_path / "one.mlc"
    contract.write_text(f'dataset d = parquet("d.parquet")\n{check}\n')
    assert _heavy(_modules_imported_by_check(contract)) == []


@pytest.mark.guard
def test_a_column_statistic_still_gets_its_kernels(tmp_path):
    """The other side of the guard: a column statistic imports what computes it (the lazy
    imports moved, they did not disappear)."""
    pl.DataFrame({"x": [1.0, 2.0, 3.0]}).write_parquet(tmp_path / "d.parquet")
    contract = tmp_path / "one.mlc"
    contract.write_text('dataset d = parquet("d.parquet")\nd rows >= 1\nfeature x mean <= 5\n')
    modules = _modules_imported_by_check(contract)
    assert {"numpy", "mlcontract._kernels"} <= modules


# What the report alone needs: `--quiet` writes its line without rich, and the results are built
# without pydantic (~0.15 s of imports together); the formats that need them still get them.
REPORT_LIBRARIES = ("rich", "pydantic", "pydantic_core")


def _one_check(tmp_path):
    pl.DataFrame({"x": [1.0, 2.0, 3.0]}).write_parquet(tmp_path / "d.parquet")
    contract = tmp_path / "one.mlc"
    contract.write_text('dataset d = parquet("d.parquet")\nd rows >= 1\n')
    return contract


def _loaded(modules: set[str], libraries) -> list[str]:
    return sorted({m.split(".")[0] for m in modules if m.split(".")[0] in libraries})


@pytest.mark.guard
def test_a_quiet_check_imports_neither_rich_nor_pydantic(tmp_path):
    assert _loaded(_modules_imported_by_check(_one_check(tmp_path)), REPORT_LIBRARIES) == []


@pytest.mark.guard
def test_the_report_formats_still_get_their_libraries(tmp_path):
    """The other side: the table of a report without --quiet is rich's, the JSON is pydantic's."""
    contract = _one_check(tmp_path)
    table = _modules_imported_by_check(contract, "--terminal", str(tmp_path / "report.txt"), quiet=False)
    assert "rich" in _loaded(table, REPORT_LIBRARIES)
    assert "Data validation" in (tmp_path / "report.txt").read_text()
    json_run = _modules_imported_by_check(contract, "--json", str(tmp_path / "results.json"))
    assert "pydantic" in _loaded(json_run, REPORT_LIBRARIES)
    assert json.loads((tmp_path / "results.json").read_text())["checks"][0]["status"] == "pass"


def test_the_parser_comes_from_the_generated_tables_in_a_check(tmp_path):
    """A check does not build the LALR tables from the grammar (~0.1 s): Lark's grammar loader is
    never asked to (GrammarBuilder is what compiles a grammar's text)."""
    code = textwrap.dedent(f"""
        import lark.load_grammar
        def refuse(*args, **kwargs):
            raise SystemExit("the grammar was compiled")
        lark.load_grammar.GrammarBuilder.load_grammar = refuse
        from mlcontract.cli import main
        raise SystemExit(main(["check", "-q", {str(_one_check(tmp_path))!r}]))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(),
                          timeout=120)
    assert done.returncode == 0, done.stderr


def _blas_threads_in_check(contract, environment: dict[str, str]) -> tuple[int, str | None]:
    """The threads NumPy's BLAS has after `mlc check` ran `contract` in a fresh process, and
    OPENBLAS_NUM_THREADS afterwards."""
    code = textwrap.dedent(f"""
        import json, os
        from mlcontract.cli import main
        main(["check", "-q", {str(contract)!r}])
        from threadpoolctl import threadpool_info
        threads = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
        print(json.dumps([threads, os.environ.get("OPENBLAS_NUM_THREADS")]))
    """)
    variables = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k not in variables} | environment)
    pools, after = json.loads(done.stdout.strip().splitlines()[-1])
    assert pools, done.stderr  # the column statistic loaded NumPy, and with it its BLAS
    return pools[0], after


@pytest.mark.guard
def test_a_contract_without_models_runs_numpy_blas_on_one_thread(tmp_path):
    """OpenBLAS's thread pool spins on the cores the data is read on (bench/README.md, issue 15):
    a data contract's run loads it with one thread, and the variable does not outlive the run
    (a later subprocess does not inherit it). The user's own setting, of any variable OpenBLAS
    reads, is kept."""
    pl.DataFrame({"x": [1.0, 2.0, 3.0]}).write_parquet(tmp_path / "d.parquet")
    contract = tmp_path / "one.mlc"
    contract.write_text('dataset d = parquet("d.parquet")\nfeature x mean <= 5\n')
    assert _blas_threads_in_check(contract, {}) == (1, None)
    assert _blas_threads_in_check(contract, {"OPENBLAS_NUM_THREADS": "2"}) == (2, "2")
    assert _blas_threads_in_check(contract, {"OMP_NUM_THREADS": "2"}) == (2, None)
    assert _blas_threads_in_check(contract, {"GOTO_NUM_THREADS": "2"}) == (2, None)


@pytest.mark.guard
def test_a_contract_with_a_model_keeps_blas_threads(tmp_path, monkeypatch):
    """A model's predictions may use BLAS: a run with a model is not narrowed (the decision is
    the contract's: its model need not even load)."""
    import contextlib

    from mlcontract import cli

    narrowed: list[bool] = []

    @contextlib.contextmanager
    def recorded(narrow):
        narrowed.append(narrow)
        yield

    monkeypatch.setattr(cli, "_one_blas_thread", recorded)
    pl.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]}).write_parquet(tmp_path / "holdout.parquet")
    contract = tmp_path / "model.mlc"
    contract.write_text('dataset holdout = parquet("holdout.parquet")\nmodel m = skops("m.skops")\nlabel y\n'
                        'accuracy on holdout >= 0.5\n')
    cli.main(["check", "-q", str(contract)])
    assert narrowed == [False]
    contract.write_text('dataset holdout = parquet("holdout.parquet")\nfeature x mean <= 5\n')
    cli.main(["check", "-q", str(contract)])
    assert narrowed == [False, True]
