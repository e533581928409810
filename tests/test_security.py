"""Every contract is harmless (docs/security.md): a contract from a pull request reads only its
repository, the working directory and the folders the invocation grants, never a special file;
everything printed that came from outside is escaped; output files never destroy anything.

The tests build a fake repository in a temporary folder (a `.git` folder marks its root) beside
an `outside` folder holding a secret, and run `mlc` with the repository as working directory
(so the temporary folder's other files are outside both the repository and the working
directory, as a CI checkout's neighbours are)."""
from __future__ import annotations

import json
import os
import random
import re
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import mlcontract

from conftest import FIXTURES, ROOT, run_cli

SECRET = "s3cr3tQ7f1d"  # what must never reach the log or the JSON (letters and digits: no renaming hides it)
ENV_FILE = f"API_KEY={SECRET}-first-line\nDB_PASSWORD={SECRET}-second-line\n"


@pytest.fixture
def repo(tmp_path) -> Path:
    """tmp/repo (a repository: it has a .git folder) with data/mine.csv; tmp/outside/.env."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "data" / "mine.csv").write_text("a,b\n1.0,x\n2.0,y\n3.0,x\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / ".env").write_text(ENV_FILE)
    return root


def check(repo: Path, text: str, *flags: str, name: str = "c.mlc"):
    """`mlc check` run in the repository: (exit code, JSON document, stdout + stderr + JSON text)."""
    (repo / name).write_text(text)
    out = repo / "out.json"
    out.unlink(missing_ok=True)
    done = run_cli("check", name, "--json", str(out), *flags, cwd=repo)
    document_text = out.read_text() if out.exists() else ""
    document = json.loads(document_text) if document_text else {}
    return done.returncode, document, done.stdout + done.stderr + document_text


# ---- 1. files ------------------------------------------------------------------------------------
# Each contract printed the first line(s) of ../outside/.env before: through a schema check's
# message, a diagnostic's hint ("its columns: API_KEY=..."), the JSON's details.categories (and the
# feature names), and a history's "unknown curve ... its columns" hint.
LEAKS = {
    "schema check": 'dataset mine = csv("data/mine.csv")\ndataset env = csv("../outside/.env")\n'
                    "schema of mine matches env\n",
    "diagnostic hint": 'dataset env = csv("../outside/.env")\nfeature nope null_rate < 0.1\n',
    "details.categories": 'dataset env = csv("../outside/.env")\nfeature * psi < 100 vs env\n',
    "history hint": 'dataset mine = csv("data/mine.csv")\nhistory run = csv("../outside/.env")\nval_loss not increasing\n',
}


@pytest.mark.slow
@pytest.mark.parametrize("channel", list(LEAKS))
def test_a_file_outside_the_repository_is_refused_and_never_printed(repo, channel):
    code, document, shown = check(repo, LEAKS[channel])
    assert SECRET not in shown, shown
    assert code == 1, shown  # refused: an `error` result that blocks, like a missing file
    errors = [c for c in document["checks"] if c["status"] == "error"]
    assert errors and all(c["blocking"] for c in errors)
    message = errors[0]["message"]
    assert "refused to read ../outside/.env" in message
    assert str((repo.parent / "outside" / ".env")) in message and "outside the contract's repository" in message
    assert "--allow-path DIR (API: allow_paths=[DIR])" in message


@pytest.mark.slow
@pytest.mark.parametrize("channel", ["details.categories", "schema check"])
def test_allow_path_grants_the_folder(repo, channel):
    """The same contracts read the file when the invocation grants its folder (which also shows
    that the test above would see the secret if it were read)."""
    code, document, shown = check(repo, LEAKS[channel], "--allow-path", str(repo.parent / "outside"))
    assert SECRET in shown
    assert all(c["status"] != "error" for c in document["checks"]), shown


@pytest.mark.slow
def test_a_symlink_in_the_repository_pointing_outside_is_refused(repo):
    (repo / "data" / "link.csv").symlink_to(repo.parent / "outside" / ".env")
    code, document, shown = check(repo, 'dataset env = csv("data/link.csv")\nfeature * psi < 100 vs env\n')
    assert code == 1 and SECRET not in shown
    assert "refused to read data/link.csv: it resolves to" in document["checks"][0]["message"]


@pytest.mark.slow
def test_a_symlink_inside_a_dataset_folder_is_refused(repo):
    """A parquet folder (a partitioned dataset) is read file by file: a symlink among its files
    (or folders) pointing outside is refused like a symlink named in the contract."""
    parts = repo / "data" / "parts"
    parts.mkdir()
    pl.DataFrame({"a": [1.0]}).write_parquet(parts / "0.parquet")
    (repo.parent / "outside" / "deep").mkdir()
    pl.DataFrame({"a": [2.0], SECRET: ["x"]}).write_parquet(repo.parent / "outside" / "deep" / "1.parquet")
    (parts / "more").symlink_to(repo.parent / "outside" / "deep")
    code, document, shown = check(repo, 'dataset t = parquet("data/parts")\nt rows >= 1\nfeature * null_rate <= 1\n')
    assert code == 1 and SECRET not in shown, shown
    assert "more, in it, resolves to" in document["checks"][0]["message"]
    (parts / "more").unlink()
    code, document, shown = check(repo, 'dataset t = parquet("data/parts")\nt rows >= 1\n')
    assert code == 0, shown


def test_glob_patterns_are_judged_by_their_matches(repo):
    from mlcontract.grants import Confinement, Grants

    (repo / "data" / "link.csv").symlink_to(repo.parent / "outside" / ".env")
    confinement = Confinement.of(repo, Grants())
    assert confinement.refusal(repo / "data" / "mine.csv") is None
    pattern = repo / "data" / "*.csv"
    assert "link.csv, in it, resolves to" in confinement.refusal(pattern, str(pattern))
    assert "link.csv, in it, resolves to" in confinement.refusal(repo / "**" / "*.csv", str(repo / "**" / "*.csv"))
    # without `glob=true` the path is literal: `*.csv` is a (missing) file, the reader reports it
    assert confinement.refusal(pattern) is None


def test_a_glob_true_dataset_is_confined_by_what_it_reads(repo):
    (repo / "data" / "link.csv").symlink_to(repo.parent / "outside" / ".env")
    code, document, shown = check(repo, 'dataset t = csv("data/*.csv", glob=true)\nt rows >= 1\n'
                                        'feature * distinct >= 0\n')
    assert code == 1 and SECRET not in shown, shown
    assert all("link.csv, in it, resolves to" in c["message"] for c in document["checks"])


@pytest.mark.slow
def test_a_git_work_tree_is_the_repository(tmp_path):
    """A contract in repo/contracts/ reads repo/data/ (its git work tree), not the folder beside
    the repository, even from another working directory."""
    root = tmp_path / "repo"
    (root / "contracts").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    pl.DataFrame({"a": [1.0, 2.0]}).write_parquet(tmp_path / "beside.parquet")
    (root / "data").mkdir()
    pl.DataFrame({"a": [1.0, 2.0]}).write_parquet(root / "data" / "t.parquet")
    (root / "contracts" / "c.mlc").write_text('dataset t = parquet("../data/t.parquet")\n'
                                              'dataset b = parquet("../../beside.parquet")\nt rows >= 1\nb rows >= 1\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_cli("check", str(root / "contracts" / "c.mlc"), cwd=elsewhere)
    assert done.returncode == 1
    assert "✔" in done.stdout and "refused to read ../../beside.parquet" in done.stdout


@pytest.mark.slow
def test_the_working_directory_is_readable(repo):
    """Files under the working directory may be read even when the contract's repository is
    elsewhere (the maintainers chose where mlc runs)."""
    (repo / "c.mlc").write_text('dataset env = csv("../outside/.env")\nenv rows >= 1\n')
    done = run_cli("check", str(repo / "c.mlc"), cwd=repo.parent)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/proc/self/environ", "/dev/stdin", "/sys/kernel/hostname"])
def test_special_files_are_never_inputs_even_when_granted(repo, path):
    folder = "/" + path.split("/")[1]
    code, document, shown = check(repo, f'dataset s = csv("{path}")\ns rows >= 1\n', "--allow-path", folder)
    assert code == 1, shown
    message = document["checks"][0]["message"]
    assert "refused to read" in message and "special files are never inputs" in message


@pytest.mark.slow
@pytest.mark.parametrize("declaration,check_line", [
    ('dataset s = csv("pipe")', "s rows >= 1"),
    ('dataset s = profile("pipe")', "s rows >= 1"),
    ('history s = csv("pipe")', "val_loss not increasing"),
])
def test_a_fifo_in_the_repository_is_refused_without_blocking(repo, declaration, check_line):
    """Opening a FIFO blocks until someone writes to it: a contract must not hang the gate."""
    os.mkfifo(repo / "pipe")
    text = 'dataset mine = csv("data/mine.csv")\n' + declaration + "\n" + check_line + "\n"
    (repo / "c.mlc").write_text(text)
    done = run_cli("check", "c.mlc", cwd=repo, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "it is a FIFO: special files are never inputs" in done.stdout


def _model_check(repo: Path, model_path: str) -> str:
    return (f'dataset mine = csv("data/mine.csv")\nmodel m = sklearn("{model_path}")\nlabel b\n'
            "accuracy on mine >= 0.5\nm p95 latency <= 1s on mine\n")


@pytest.mark.slow
def test_a_model_outside_the_repository_is_never_loaded(repo):
    """Loading a pickle runs code: a refused model file is not even opened, with --allow-pickle."""
    import joblib

    marker = repo.parent / "unpickled"

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    joblib.dump(Payload(), repo.parent / "outside" / "m.joblib")
    code, document, shown = check(repo, _model_check(repo, "../outside/m.joblib"), "--allow-pickle")
    assert not marker.exists(), "the refused model file was unpickled"
    assert code == 1 and [c["status"] for c in document["checks"]] == ["error", "error"], shown
    assert all("model `m`: refused to read ../outside/m.joblib" in c["message"] for c in document["checks"])
    plan = run_cli("plan", "c.mlc", "--allow-pickle", cwd=repo)
    assert "checks that will be errors" in plan.stdout and "refused to read ../outside/m.joblib" in plan.stdout


@pytest.mark.slow
def test_plan_shows_refused_files(repo):
    (repo / "c.mlc").write_text(LEAKS["details.categories"])
    done = run_cli("plan", "c.mlc", cwd=repo)
    assert done.returncode == 0 and SECRET not in done.stdout + done.stderr
    assert "checks that will be errors" in done.stdout and "refused to read ../outside/.env" in done.stdout
    as_json = json.loads(run_cli("plan", "c.mlc", "--json", cwd=repo).stdout)
    assert "refused to read" in as_json["checks"][0]["error"]


def test_nothing_opens_a_refused_file(repo, monkeypatch):
    """Compile, plan and run a contract whose dataset, profile, history, model and rows file are
    all outside: no reader (schema, scan, profile, history, model, rows) is ever called on them.
    Every source is read through its source kind (sources.registry()): each kind's readers are
    spied on."""
    import dataclasses

    import mlcontract.models.robustness
    import mlcontract.profiles
    from mlcontract import sources

    outside = repo.parent / "outside"
    for name in ("d.csv", "p.profile.json", "h.csv", "m.joblib", "rows.csv"):
        (outside / name).write_text("x\n1\n")
    opened = []

    def wrapped(real):
        def wrapper(*args, **kwargs):
            opened.append(repr(args))
            return real(*args, **kwargs)

        return wrapper

    def spy(module, name):
        monkeypatch.setattr(module, name, wrapped(getattr(module, name)))

    registry = sources.registry()
    for key, kind in list(registry.items()):
        readers = {name: wrapped(getattr(kind, name)) for name in ("open", "schema", "load") if getattr(kind, name)}
        monkeypatch.setitem(registry, key, dataclasses.replace(kind, **readers))
    spy(mlcontract.profiles, "load_profile")
    spy(mlcontract.models.robustness, "read_rows")
    text = ('dataset mine = csv("data/mine.csv")\ndataset d = csv("../outside/d.csv")\n'
            'dataset p = profile("../outside/p.profile.json")\nhistory h = csv("../outside/h.csv")\n'
            'model m = sklearn("../outside/m.joblib")\nlabel b\n'
            "feature a psi < 1 vs d\nfeature a psi < 1 vs p\nd rows >= 1\nval_loss not increasing\n"
            "accuracy on mine >= 0.5\nm handles rows from \"../outside/rows.csv\"\n")
    contract = mlcontract.compile(text, base_dir=repo)
    contract.explain()
    result = contract.run()
    assert [c.status for c in result.checks] == ["error"] * 6
    assert all("refused to read ../outside/" in c.message for c in result.checks)
    assert not [call for call in opened if "outside" in call], opened
    assert any("mine.csv" in call for call in opened)  # the spies see what is read


def test_api_text_contracts_are_confined_to_base_dir(repo):
    text = 'dataset env = csv("../outside/.env")\nenv rows >= 1\n'
    refused = mlcontract.compile(text, base_dir=repo).run()
    assert refused.checks[0].status == "error" and "allow_paths=[DIR]" in refused.checks[0].message
    granted = mlcontract.compile(text, base_dir=repo, allow_paths=[repo.parent / "outside"]).run()
    assert granted.checks[0].status == "pass"
    # a frame passed in stands in for the file: nothing is read, nothing refused
    framed = mlcontract.compile(text, base_dir=repo, datasets={"env": pd.DataFrame({"a": [1]})}).run()
    assert framed.checks[0].status == "pass"


@pytest.mark.slow
def test_mlc_profile_paths_come_from_the_invocation(repo):
    pl.DataFrame({"a": [1.0, 2.0]}).write_parquet(repo.parent / "outside" / "d.parquet")
    done = run_cli("profile", str(repo.parent / "outside" / "d.parquet"), "-o", "d.profile.json", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert (repo / "d.profile.json").is_file()


# ---- 2. logs -------------------------------------------------------------------------------------
NASTY = ["\x1b[31mred", "a\n::error::pwned", "b\r::add-mask::x", "\u202etxt.exe", "c\n##vso[task.setvariable]x",
         "d:::e", "z" * 10_000]
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def assert_log_safe(text: str, bounded: bool = True) -> None:
    """Nothing a terminal or a CI runner would act on: no control character but line ends, no
    line spelling a workflow command, no unbounded line (JSON keeps exact values: unbounded)."""
    assert not _CONTROL.search(text.replace("\t", " ")), repr(_CONTROL.search(text.replace("\t", " ")))
    for line in text.split("\n"):
        assert "::" not in line and "##vso[" not in line and "##[" not in line, line[:300]
        assert not bounded or len(line) < 5_000, line[:300]


@pytest.fixture
def nasty_repo(repo) -> Path:
    """Data whose column names and category values are the NASTY strings."""
    columns = {name: [name, name, "ok"] for name in NASTY}
    pl.DataFrame(columns).write_parquet(repo / "data" / "nasty.parquet")
    pl.DataFrame({"other": ["x", "y", "z"]}).write_parquet(repo / "data" / "plain.parquet")
    return repo


@pytest.mark.slow
def test_column_names_category_values_and_the_contract_name_are_escaped(nasty_repo):
    name = r'"\u001b[31m\n::error::pwned\r\u202e"'
    code, document, _ = check(nasty_repo, f"contract {name}\n"
                              'dataset n = parquet("data/nasty.parquet")\ndataset p = parquet("data/plain.parquet")\n'
                              "feature * distinct <= 1\nschema of n matches p\nfeature * psi < 100 vs n\n")
    done = run_cli("check", "c.mlc", cwd=nasty_repo)
    assert code == 1
    assert_log_safe(done.stdout + done.stderr)
    assert "\\x1b[31mred" in done.stdout and ":\\:error:\\:pwned" in done.stdout  # escaped, not dropped
    assert "more characters" in done.stdout  # the 10 kB name is cut
    # The JSON keeps the exact values (JSON escapes controls itself).
    assert document["contract"] == "\x1b[31m\n::error::pwned\r\u202e"
    assert {c["feature"] for c in document["checks"] if c["statistic"] == "distinct"} == set(NASTY)
    categories = [c["details"]["categories"] for c in document["checks"] if c["statistic"] == "psi"]
    assert all(set(NASTY[:1]) <= set(map(str, cats)) or cats for cats in categories)
    assert any(NASTY[1] in map(str, cats) for cats in categories)


@pytest.mark.slow
def test_an_error_message_quoting_data_is_escaped(repo):
    """A model that raises on a category it never saw quotes the value in its error."""
    import joblib

    from servers import churn

    joblib.dump(churn.fit(churn.onehot_pipeline("error"), churn.frame(200, 1)), repo / "strict.joblib")
    holdout = churn.frame(40, 2)
    holdout.loc[:3, "plan"] = NASTY[:4]
    holdout.loc[4, "plan"] = NASTY[-1]
    holdout.to_parquet(repo / "data" / "holdout.parquet")
    (repo / "c.mlc").write_text('dataset holdout = parquet("data/holdout.parquet")\nmodel m = sklearn("strict.joblib")\n'
                                "label churned\nignore customer_id\naccuracy on holdout >= 0\n")
    done = run_cli("check", "c.mlc", "--allow-pickle", cwd=repo)
    assert done.returncode == 1 and "unknown categor" in done.stdout.lower(), done.stdout + done.stderr
    assert_log_safe(done.stdout + done.stderr)


@pytest.mark.slow
def test_plan_text_and_json_are_escaped(nasty_repo):
    (nasty_repo / "c.mlc").write_text('contract "\\u001b[31m\\n::error::x"\ndataset n = parquet("data/nasty.parquet")\n'
                                      'dataset gone = csv("\\u202e\\n::error::missing.csv")\n'
                                      "feature * distinct <= 1\ngone rows >= 1\n")
    done = run_cli("plan", "c.mlc", cwd=nasty_repo)
    assert done.returncode == 0, done.stderr
    assert_log_safe(done.stdout + done.stderr)
    done = run_cli("plan", "c.mlc", "--json", cwd=nasty_repo)
    assert_log_safe(done.stdout, bounded=False)
    document = json.loads(done.stdout)
    assert document["contract"] == "\x1b[31m\n::error::x"  # exact once parsed
    assert any(NASTY[1] in (c["feature"] or "") for c in document["checks"])


def test_diagnostics_escape_the_quoted_line_and_keep_the_caret_under_it(repo):
    pl.DataFrame({"age": [1.0]}).write_parquet(repo / "data" / "t.parquet")
    nasty_name = "\x1b[31m\u202e::error::x"
    text = f'dataset t = parquet("data/t.parquet")\nfeature `{nasty_name}` mean < 1  # \r::add-mask::y\n'
    (repo / "c.mlc").write_text(text)
    done = run_cli("check", "c.mlc", cwd=repo)
    assert done.returncode == 2
    assert_log_safe(done.stderr)
    lines = done.stderr.split("\n")
    quoted = next(line for line in lines if line.startswith("  2 | "))
    underline = lines[lines.index(quoted) + 1]
    escaped = "`\\x1b[31m\\u202e:\\:error:\\:x`"
    assert escaped in quoted
    start = quoted.index(escaped)
    assert underline.index("^") == start and underline.rstrip().endswith("~")
    assert len(underline.rstrip()) == start + len(escaped)


@pytest.mark.slow
def test_a_long_source_line_is_cut_around_the_span(repo):
    pl.DataFrame({"age": [1.0]}).write_parquet(repo / "data" / "t.parquet")
    (repo / "c.mlc").write_text('dataset t = parquet("data/t.parquet")\n'
                                f"feature agee mean < 1  # {'x' * 10_000}\n")
    done = run_cli("check", "c.mlc", cwd=repo)
    assert done.returncode == 2
    assert_log_safe(done.stderr)
    quoted = next(line for line in done.stderr.split("\n") if line.startswith("  2 | "))
    assert quoted.endswith("…") and len(quoted) < 300
    underline = done.stderr.split("\n")[done.stderr.split("\n").index(quoted) + 1]
    assert underline.index("^") == quoted.index("agee")


@pytest.mark.slow
def test_cli_messages_are_escaped(repo):
    done = run_cli("check", "x\n::error::pwned\x1b[31m.mlc", cwd=repo)
    assert done.returncode == 2 and "contract file not found" in done.stderr
    assert_log_safe(done.stderr)
    done = run_cli("check", "a.mlc", "b\n::error::pwned\x1b[31m", cwd=repo)  # the CLI library's usage error
    assert done.returncode == 2 and "unexpected extra argument" in done.stderr
    assert_log_safe(done.stderr)
    (repo / "c.mlc").write_text('dataset t = csv("\\u001b[31m\\r::error::gone.csv")\nt rows >= 1\n')
    done = run_cli("check", "c.mlc", cwd=repo)
    assert done.returncode == 1 and "file not found" in done.stdout
    assert_log_safe(done.stdout + done.stderr)


def test_report_escapes_every_outside_field():
    """The terminal report on results whose every text field is hostile (e.g. a model server's
    error body in a message)."""
    import io

    from rich.console import Console

    from mlcontract.report.formats.terminal import render
    from mlcontract.report.results import CheckResult, RunResult

    checks = [CheckResult(index=i, line=1, source=f"feature * mean < 1 {text}", kind="data", status="error",
                          blocking=True, subject=text, feature=text, statistic="mean", message=f"HTTP 500: {text}")
              for i, text in enumerate(NASTY)]
    result = RunResult(contract=NASTY[1], path=NASTY[0], passed=False, counts={"error": len(checks)}, seconds=0.1,
                       checks=checks)
    out = io.StringIO()
    render(result, Console(file=out, width=160), verbose=True)
    assert_log_safe(out.getvalue())
    assert "HTTP 500: a\\n:\\:error:\\:pwned" in out.getvalue()


def test_progress_labels_are_escaped(monkeypatch):
    import io

    from rich.console import Console

    from mlcontract.progress import RichProgress

    progress = RichProgress()
    out = io.StringIO()
    progress._console = Console(file=out, force_terminal=False, width=200)
    progress.note("histogram of [bold]x\x1b[31m\n::error::pwned")
    assert_log_safe(out.getvalue())
    assert "[bold]" in out.getvalue()  # shown as written, not taken as rich markup


def test_printable_breaks_every_marker_and_is_idempotent():
    from mlcontract.escape import log_safe_json, printable, printable_pieces

    assert printable(":::") == ":\\:\\:"
    assert printable("##vso[x] ##[error]") == "#\\#vso[x] #\\#[error]"
    rng = random.Random(7)
    alphabet = ":#[v s o\x1b\n\r\t\u202e\u2028x\x00\x9f\\"
    for _ in range(2_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        shown = printable(text, None)
        assert printable(shown, None) == shown
        assert "".join(printable_pieces(text)) == shown
        assert "::" not in shown and "##vso[" not in shown and "##[" not in shown
        assert not _CONTROL.search(shown) and "\n" not in shown and "\t" not in shown
        document = {"k" + text: [text, {"n": text}]}
        dumped = log_safe_json(json.dumps(document, indent=2))
        assert json.loads(dumped) == document
        assert "::" not in dumped and "##vso[" not in dumped and "##[" not in dumped


# ---- 3. outputs ----------------------------------------------------------------------------------
def _special_target(tmp_path: Path, kind: str) -> Path:
    target = tmp_path / f"target-{kind}"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        try:
            os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
        except (PermissionError, OSError):
            pytest.skip("cannot create a device node here")
    elif kind == "folder":
        target.mkdir()
    elif kind == "link to a fifo":
        os.mkfifo(tmp_path / "fifo")
        target.symlink_to(tmp_path / "fifo")
    return target


def _unchanged(target: Path, kind: str) -> bool:
    mode = os.lstat(target).st_mode
    return {"fifo": stat.S_ISFIFO, "device": stat.S_ISCHR, "folder": stat.S_ISDIR,
            "link to a fifo": stat.S_ISLNK}[kind](mode)


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "link to a fifo"])
def test_json_refuses_targets_that_are_not_regular_files(tmp_path, kind):
    target = _special_target(tmp_path, kind)
    done = run_cli("check", str(ROOT / "contracts" / "demo.mlc"), "-q", "--json", str(target), timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not a regular file" in done.stderr and "--json" in done.stderr
    assert _unchanged(target, kind)


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "link to a fifo"])
def test_profile_output_refuses_targets_that_are_not_regular_files(tmp_path, kind):
    target = _special_target(tmp_path, kind)
    done = run_cli("profile", str(FIXTURES / "data" / "prod.parquet"), "-o", str(target), timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not a regular file" in done.stderr
    assert _unchanged(target, kind)


def test_outputs_under_dev_are_refused(tmp_path):
    from mlcontract.errors import UsageError
    from mlcontract.output import write_text

    for target in ("/dev/null", "/dev/stdout", "/proc/self/fd/1"):
        with pytest.raises(UsageError, match="under /"):
            write_text(target, "x", "--json")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and os.path.islink("/dev/stdout")


@pytest.mark.slow
def test_a_symlink_is_replaced_not_written_through(tmp_path):
    kept = tmp_path / "kept.json"
    kept.write_text("precious")
    (tmp_path / "results.json").symlink_to(kept)
    (tmp_path / "p.json").symlink_to(kept)
    done = run_cli("check", str(ROOT / "contracts" / "demo.mlc"), "-q", "--json", str(tmp_path / "results.json"))
    assert done.returncode == 0, done.stderr
    done = run_cli("profile", str(FIXTURES / "data" / "prod.parquet"), "-o", str(tmp_path / "p.json"))
    assert done.returncode == 0, done.stderr
    assert kept.read_text() == "precious"
    assert not (tmp_path / "results.json").is_symlink() and json.loads((tmp_path / "results.json").read_text())["passed"]
    assert not (tmp_path / "p.json").is_symlink() and json.loads((tmp_path / "p.json").read_text())["format"]


def test_concurrent_writers_never_fail_nor_mix(tmp_path):
    """Eight threads write different texts to one target through the CLI's writer while a
    reader checks that the target is always one whole text."""
    from mlcontract.report import emit

    target = tmp_path / "results.json"
    texts = [json.dumps({"writer": i, "pad": str(i) * 200_000}) for i in range(8)]
    errors, seen = [], set()
    done = threading.Event()

    def write(text):
        try:
            for _ in range(15):
                emit(text, target, "--json")
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    def read():
        while not done.is_set():
            try:
                seen.add(json.loads(target.read_text())["writer"])
            except FileNotFoundError:
                continue

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(text,)) for text in texts]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join()
    assert not errors, errors
    assert target.read_text() in texts and seen
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary file left


@pytest.mark.slow
def test_concurrent_processes_write_one_profile(tmp_path):
    target = tmp_path / "p.json"
    command = [sys.executable, "-m", "mlcontract", "profile", str(FIXTURES / "data" / "prod.parquet"), "-o", str(target)]
    running = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    codes = [p.wait(timeout=300) for p in running]
    assert codes == [0, 0, 0, 0], [p.stderr.read() for p in running]
    assert json.loads(target.read_text())["format"] == "mlcontract-profile"
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path, monkeypatch):
    from mlcontract.errors import UsageError
    from mlcontract.report import emit

    target = tmp_path / "results.json"
    target.write_text("old")

    def crash(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(UsageError, match="No space left"):
        emit("new", target, "--json")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_new_output_file_gets_the_usual_permissions(tmp_path):
    from mlcontract.output import write_text

    old = os.umask(0o027)
    try:
        write_text(tmp_path / "a.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "a.json").st_mode) == 0o640


def test_library_warnings_are_escaped():
    """A warning a library raises while handling data may quote it: printed escaped by `mlc`."""
    code = ("import sys, warnings\nfrom mlcontract import cli\ncli._escape_warnings()\n"
            "warnings.warn('column \\x1b[31m\\n::error::pwned')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONWARNINGS": "default"})
    assert "pwned" in done.stderr
    assert_log_safe(done.stderr)


def test_a_remote_uri_needs_its_host_granted(tmp_path):
    """Issue 11: the Spark engine reads URIs (s3a://BUCKET/..., hdfs://HOST/...). A contract
    cannot choose to read another bucket or cluster: the host is granted by the invocation, as
    an http() model's is (--allow-host); file: URIs are judged as paths. (No Spark needed: the
    refusal is decided when the contract compiles, on any engine.)"""
    text = 'dataset d = parquet("s3a://other-bucket/secrets/x.parquet")\nd rows >= 1\n'
    refused = mlcontract.compile(text, base_dir=tmp_path).run()
    assert refused.checks[0].status == "error" and "refused to read s3a://other-bucket" in refused.checks[0].message
    assert "--allow-host" in refused.checks[0].message
    granted = mlcontract.compile(text, base_dir=tmp_path, allow_hosts=["other-bucket"]).run()
    assert granted.checks[0].status == "error" and "refused" not in granted.checks[0].message
    outside = mlcontract.compile('dataset d = parquet("file:///etc/hostname")\nd rows >= 1\n', base_dir=tmp_path).run()
    assert "refused to read file:///etc/hostname" in outside.checks[0].message
