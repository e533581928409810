"""The source-kind registry (mlcontract.sources): every kind comes from a module of the sources
package, and a new data or model format is one module and nothing else — shown by dropping a
toy module into the package's path and compiling and running a contract that uses it."""
from __future__ import annotations

import sys
import textwrap
import types

import pytest

import mlcontract
from mlcontract import sources
from mlcontract.errors import ContractError
from mlcontract.sources.base import TRUE_OR_FALSE, SourceKind


def test_the_kinds_of_each_role_in_the_order_hints_list_them():
    assert [k.name for k in sources.kinds("dataset")][:5] == ["parquet", "csv", "ipc", "ndjson", "profile"]
    assert [k.name for k in sources.kinds("model")][:4] == ["sklearn", "skops", "onnx", "http"]
    assert [k.name for k in sources.kinds("history")] == ["csv", "json"]
    assert sources.kind("history", "csv").example == "runs/history.csv"
    assert sources.kind("dataset", "csv").example == "data/train.csv"
    assert set(sources.kind("dataset", "csv").options) == {
        "separator", "has_header", "null_values", "quote_char", "skip_rows", "infer_schema_length", "decimal_comma",
        "encoding", "glob"}
    with pytest.raises(KeyError):
        sources.kind("model", "parquet")


def test_each_kind_module_defines_its_kinds_and_helpers_define_none():
    by_module: dict[str, list[str]] = {}
    for module in sources.package_modules():
        for kind in getattr(module, "KINDS", ()):
            by_module.setdefault(module.__name__.rsplit(".", 1)[1], []).append(f"{kind.role} {kind.name}")
    assert by_module["csv"] == ["dataset csv", "history csv"]
    assert by_module["json_history"] == ["history json"]
    assert by_module["http"] == ["model http"]
    for helper in ("base", "files", "datasets"):
        assert helper not in by_module


def test_two_kinds_of_one_role_and_name_are_refused():
    def module(name: str, *kinds) -> types.ModuleType:
        made = types.ModuleType(name)
        made.KINDS = kinds  # type: ignore[attr-defined]
        return made

    one = SourceKind("x", "model", summary="", example="x.bin", load=lambda source, grants: None)
    with pytest.raises(ValueError, match="the model kind `x` is defined twice: in a and b"):
        sources.collect([module("a", one), module("b", one)])
    assert list(sources.collect([module("a", one), module("helper")])) == [("model", "x")]
    with pytest.raises(TypeError, match="not a SourceKind"):
        sources.collect([module("a", "x")])
    tables = [SourceKind(name, "dataset", summary="", example="x", suffixes=(".tab",), open=print, schema=print)
              for name in ("tab", "table")]
    with pytest.raises(ValueError, match="the suffix .tab is claimed by the dataset kinds `tab` and `table`"):
        sources.collect([module("a", *tables)])


@pytest.mark.parametrize("arguments, message", [
    (dict(name="x", role="dataset", load=print), "needs open, schema"),
    (dict(name="x", role="model"), "needs load"),
    (dict(name="x", role="table", load=print), "role must be one of"),
    (dict(name="x-y", role="model", load=print), "a word a contract can write"),
    (dict(name="x", role="model", location="url", load=print), "needs its schemes"),
    (dict(name="x", role="dataset", location="url", schemes=("s3://",), open=print, schema=print), "only model kinds"),
])
def test_a_source_kind_says_what_it_lacks(arguments, message):
    with pytest.raises(ValueError, match=message):
        SourceKind(summary="", example="x", **arguments)


# ---- the recipe: one module ------------------------------------------------------------------------
TOY_MODULE = '''
"""`tsv("data/train.tsv")`: tab-separated values; `rule("models/rule.json")`: a model that
predicts 1 where one feature is above a cut. Nothing else in mlcontract names them."""
import json
from pathlib import Path

from mlcontract.sources.base import OptionType, SourceKind
from mlcontract.sources.datasets import GLOB, FileFormat, one_or_many


def _scan(files, folder, options):
    import polars as pl

    return pl.scan_csv(one_or_many(files), separator="\\t", glob=False, **options)


def _file_schema(file, options):
    return dict(_scan([file], None, options).collect_schema())


TSV = FileFormat(_scan, _file_schema)


def _load_rule(source, grants):
    import numpy as np

    from mlcontract.models.loaded import LoadedModel

    rule = json.loads(Path(source.location).read_text())
    cut = dict(source.options).get("cut", rule["cut"])
    return LoadedModel(source.name, "rule", lambda frame: (frame[rule["feature"]].to_numpy() > cut).astype(np.int64))


KINDS = (
    SourceKind("tsv", "dataset", summary="tab-separated values", example="data/train.tsv",
               options={"glob": GLOB}, suffixes=(".tab",), open=TSV.open, schema=TSV.schema),
    SourceKind("rule", "model", summary="a cut on one feature", example="models/rule.json",
               options={"cut": OptionType("a number", lambda v: isinstance(v, (int, float)))}, load=_load_rule),
)
'''


@pytest.fixture
def toy_kinds(tmp_path, monkeypatch):
    """The sources package with one more module, `toy.py`, in a folder of its path: the registry
    discovers it as it discovers the package's own modules."""
    folder = tmp_path / "more_sources"
    folder.mkdir()
    (folder / "toy.py").write_text(textwrap.dedent(TOY_MODULE))
    monkeypatch.setattr(sources, "__path__", [*sources.__path__, str(folder)])
    monkeypatch.setattr(sources, "_REGISTRY", None)  # discovered again, with the new module
    yield
    sys.modules.pop("mlcontract.sources.toy", None)


def test_a_new_data_and_model_format_is_one_module(toy_kinds, tmp_path):
    (tmp_path / "train.tsv").write_text("x\ty\n1\t0\n2\t0\n3\t1\n4\t1\n")
    (tmp_path / "rule.json").write_text('{"feature": "x", "cut": 2.5}')
    text = ('dataset train = tsv("train.tsv")\nmodel m = rule("rule.json")\nlabel y\n'
            "train rows == 4\nfeature x mean == 2.5\naccuracy on train == 1\n")
    contract = mlcontract.compile(text, base_dir=tmp_path)
    assert "tsv(train.tsv)" in contract.explain()
    result = contract.run()
    assert [(c.statistic, c.status, c.value) for c in result.checks] == [
        ("rows", "pass", 4), ("mean", "pass", 2.5), ("accuracy", "pass", 1.0)]
    # the kind's options are the contract's options: an option it defines changes the answer
    cut = mlcontract.compile(text.replace('rule("rule.json")', 'rule("rule.json", cut=1.5)'), base_dir=tmp_path)
    assert cut.run().checks[2].value == 0.75
    assert sources.format_of_path(tmp_path / "train.tab") == "tsv"  # `mlc profile train.tab`


def test_a_new_kind_is_checked_like_the_others(toy_kinds, tmp_path):
    (tmp_path / "train.tsv").write_text("x\ty\n1\t0\n")
    text = ('dataset train = tsv("train.tsv", separator=",")\nmodel m = rule("a.json", "b.json")\n'
            'model n = rule("rule.json", cut="high")\ndataset other = excel("x.xlsx")\ntrain rows >= 1\n')
    with pytest.raises(ContractError) as raised:
        mlcontract.compile(text, base_dir=tmp_path)
    found = [(d.message, d.hint) for d in raised.value.diagnostics]
    assert found == [
        ("unknown option `separator` for `tsv(...)`", "it accepts `glob=`"),
        ("`rule(...)` takes one quoted path", 'e.g. rule("models/rule.json")'),
        ("`cut=` takes a number, not 'high'", None),
        ("unknown dataset source `excel(...)`",
         "one of `parquet(...)`, `csv(...)`, `ipc(...)`, `ndjson(...)`, `profile(...)`, `table(...)`, `tsv(...)`"),
    ]


def test_a_glob_is_shared_machinery_a_new_kind_gets_for_free(toy_kinds, tmp_path):
    for part in (1, 2):
        (tmp_path / f"part{part}.tsv").write_text(f"x\n{part}\n")
    (tmp_path / "odd.tsv").write_text("z\n1\n")
    result = mlcontract.compile('dataset d = tsv("part*.tsv", glob=true)\nd rows == 2\n', base_dir=tmp_path).run()
    assert result.checks[0].status == "pass"
    result = mlcontract.compile('dataset d = tsv("*.tsv", glob=true)\nd rows == 3\n', base_dir=tmp_path).run()
    assert result.checks[0].status == "error" and "its files disagree on the schema" in result.checks[0].message
    assert TRUE_OR_FALSE.problem("yes") == "takes `true` or `false`, not 'yes'"


# ---- the model kinds of issue 14, each one module -------------------------------------------------
def test_the_booster_and_mlflow_kinds_are_one_module_each():
    by_module = {module.__name__.rsplit(".", 1)[1]: [k.name for k in getattr(module, "KINDS", ())]
                 for module in sources.package_modules()}
    for name in ("lightgbm", "xgboost", "catboost", "mlflow"):
        assert by_module[name] == [name]
        kind = sources.kind("model", name)
        assert kind.recognise is not None and kind.file_type  # another kind given its file says so
    assert by_module["boosters"] == [] and by_module["sniff"] == []  # helpers
    assert sources.kind("model", "mlflow").location == "uri" and sources.kind("model", "mlflow").claims("runs:/x/m")
    assert set(sources.kind("model", "xgboost").options) == {"classes"} and not sources.kind("model", "catboost").options


@pytest.mark.slow
def test_compiling_imports_no_model_library(tmp_path):
    """Every kind module is imported when a contract compiles: their libraries load only when a
    model of theirs does."""
    import subprocess

    code = ("import sys, mlcontract; mlcontract.compile('dataset d = csv(\"d.csv\")\\nd rows >= 1\\n', "
            f"base_dir={str(tmp_path)!r}); from mlcontract import sources; sources.registry(); "
            "print(sorted(m for m in ('lightgbm', 'xgboost', 'catboost', 'mlflow', 'onnxruntime', 'skops', 'sklearn', "
            "'pandas', 'pyarrow') if m in sys.modules))")
    (tmp_path / "d.csv").write_text("x\n1\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_ipc_rows_are_counted_without_count_rows(tmp_path, monkeypatch):
    """pyarrow < 26 (which mlflow pins) has no RecordBatchFileReader.count_rows: the rows an IPC
    file records are added up from its batches' headers instead."""
    import polars as pl
    import pyarrow as pa
    import pyarrow.ipc as ipc

    frame = pl.DataFrame({"x": list(range(10))})
    table = frame.to_arrow()
    with pa.OSFile(str(tmp_path / "d.arrow"), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        for start in (0, 3, 7):
            writer.write_table(table.slice(start, {0: 3, 3: 4, 7: 3}[start]))

    class OldReader:
        """A reader as pyarrow 25 gives it: everything but count_rows."""

        def __init__(self, reader):
            self._reader = reader

        def __getattr__(self, name):
            if name == "count_rows":
                raise AttributeError(name)
            return getattr(self._reader, name)

    real = ipc.open_file
    monkeypatch.setattr(ipc, "open_file", lambda source, *a, **k: OldReader(real(source, *a, **k)))
    result = mlcontract.compile('dataset d = ipc("d.arrow")\nd rows == 10\nfeature x of d mean == 4.5\n',
                                base_dir=tmp_path).run()
    assert [(c.status, c.value) for c in result.checks] == [("pass", 10), ("pass", 4.5)], result.checks[0].message


def test_recognising_a_model_file_never_reads_a_fifo(tmp_path):
    """A FIFO given as a model file is not opened to read its first bytes (the read would block
    the gate forever): the loader says it is not a file."""
    import os
    import threading

    from mlcontract.errors import ModelError
    from mlcontract.resolve.contract import ModelSource

    os.mkfifo(tmp_path / "m.txt")
    outcome: list = []

    def load():
        try:
            sources.load_model(ModelSource("m", "lightgbm", str(tmp_path / "m.txt")))
        except ModelError as error:
            outcome.append(str(error))

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock the reader, then fail
        with open(tmp_path / "m.txt", "wb"):
            pass
        pytest.fail("reading the FIFO blocked")
    assert outcome and "file not found" in outcome[0]


def test_a_new_kind_and_its_options_get_did_you_mean(toy_kinds, tmp_path):
    text = 'dataset d = tsvv("train.tsv")\nmodel m = rule("rule.json", cutt=2)\nd rows >= 1\n'
    with pytest.raises(ContractError) as raised:
        mlcontract.compile(text, base_dir=tmp_path)
    hints = [d.hint or "" for d in raised.value.diagnostics]
    assert hints == ["did you mean `tsv`?", "did you mean `cut`?"]


SNAPSHOT_MODULE = '''
from mlcontract.sources import profile
from mlcontract.sources.base import SourceKind

KINDS = (SourceKind("snapshot", "dataset", summary="a profile under another name", example="prod.snapshot.json",
                    open=profile._open, schema=profile._schema, summaries_only=True),)
'''


def test_a_kind_that_holds_summaries_is_served_like_a_profile(tmp_path, monkeypatch):
    """What a profile is comes from its kind (SourceKind.summaries_only), not from the name
    `profile`: a new kind that holds summaries is planned as served from them, answers from
    them, and refuses the checks that need rows."""
    import polars as pl

    folder = tmp_path / "more_sources"
    folder.mkdir()
    (folder / "snapshot.py").write_text(SNAPSHOT_MODULE)
    monkeypatch.setattr(sources, "__path__", [*sources.__path__, str(folder)])
    monkeypatch.setattr(sources, "_REGISTRY", None)
    try:
        pl.DataFrame({"x": [1.0, 2.0, 4.0, 9.0]}).write_parquet(tmp_path / "d.parquet")
        mlcontract.profile(tmp_path / "d.parquet", tmp_path / "d.json")
        contract = mlcontract.compile('dataset s = snapshot("d.json")\nfeature x of s mean <= 5\n', base_dir=tmp_path)
        assert [scan.mode for scan in contract.plan.scans] == ["profile"]
        assert [(c.status, c.value) for c in contract.run().checks] == [("pass", 4.0)]
        with pytest.raises(ContractError, match="is a profile"):
            mlcontract.compile('dataset s = snapshot("d.json")\nmissing x = (-1)\nfeature x of s mean <= 5\n',
                               base_dir=tmp_path)
    finally:
        sys.modules.pop("mlcontract.sources.snapshot", None)
