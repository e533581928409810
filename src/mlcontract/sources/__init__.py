"""Sources: the registry of source kinds, and the entry points that open datasets and load
models and histories through it.

A source kind is what a declaration names: `dataset train = parquet("data/train.parquet")`,
`model candidate = onnx("models/candidate.onnx")`, `history run = json("runs/history.json")`.
Each is a `SourceKind` (sources/base.py) defined in one module of this package, in a tuple
`KINDS`. The registry imports every module of the package (pkgutil) and collects their KINDS;
a module without KINDS is a helper (files.py, datasets.py, ...). The checker validates each
declaration against the registry only — the kind's name (and "did you mean"), its options and
their types, the example in hints, a path or a URL — and the engine opens and loads through it.

Adding a data or model format is one module here, nothing else:

    # src/mlcontract/sources/feather.py
    from .base import TRUE_OR_FALSE, SourceKind

    def _open(source): ...          # -> datasets.Opened (datasets.FileFormat does the common part)
    def _schema(source): ...        # -> base.Schema, from metadata only

    KINDS = (SourceKind("feather", "dataset", summary="...", example="data/train.feather",
                        options={"glob": TRUE_OR_FALSE}, open=_open, schema=_schema),)

A model kind gives `load(source, grants) -> LoadedModel` instead; a history kind
`load(source) -> History` and `schema(source) -> names`. Keep the module light to import:
it is imported whenever a contract compiles, so its heavy imports go inside its functions
(compiling imports Lark and Polars only). `tests/sources/test_source_kinds.py` adds a kind this way.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeGuard

from .base import ROLES, Role, SourceKind

if TYPE_CHECKING:
    from ..grants import Grants
    from ..resolve.contract import DatasetSource, HistorySource, ModelSource

_REGISTRY: dict[tuple[str, str], SourceKind] | None = None


def registry() -> dict[tuple[str, str], SourceKind]:
    """{(role, name): kind} of every kind the modules of this package define (built once)."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = collect(package_modules())
    return _REGISTRY


def package_modules() -> list[ModuleType]:
    """Every module of this package (its __path__), imported."""
    return [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)
            if not info.ispkg]


def collect(modules: Iterable[ModuleType]) -> dict[tuple[str, str], SourceKind]:
    """The kinds the modules' KINDS define; two kinds of one role and name are an error."""
    found: dict[tuple[str, str], SourceKind] = {}
    where: dict[tuple[str, str], str] = {}
    for module in modules:
        for kind in getattr(module, "KINDS", ()):
            if not isinstance(kind, SourceKind):
                raise TypeError(f"{module.__name__}.KINDS holds {kind!r}, not a SourceKind")
            key = (kind.role, kind.name)
            if key in found:
                raise ValueError(f"the {kind.role} kind `{kind.name}` is defined twice: in {where[key]} and "
                                 f"{module.__name__}")
            found[key], where[key] = kind, module.__name__
    claimed: dict[tuple[str, str], str] = {}
    for kind in found.values():
        for suffix in kind.suffixes:
            other = claimed.setdefault((kind.role, suffix.lower()), kind.name)
            if other != kind.name:
                raise ValueError(f"the suffix {suffix} is claimed by the {kind.role} kinds `{other}` and `{kind.name}`")
    return dict(sorted(found.items(), key=lambda item: (item[1].rank, item[1].name)))


def kinds(role: Role) -> tuple[SourceKind, ...]:
    """The kinds of a role, in the order lists and hints show them."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    return tuple(kind for (of, _), kind in registry().items() if of == role)


def kind(role: Role, name: str) -> SourceKind:
    """The kind `name` of a role; a KeyError when there is none (the checker refuses such a
    declaration, so the engine never meets one)."""
    return registry()[(role, name)]


def holds_summaries(source: DatasetSource | None) -> TypeGuard[DatasetSource]:
    """Whether a dataset (or a view of one) is of a kind that holds summaries, not rows (a
    profile: SourceKind.summaries_only). A frame passed to run() holds rows."""
    if source is None:
        return False
    found = registry().get(("dataset", source.format))
    return found is not None and found.summaries_only


def _behaviour(role: Role, name: str, what: str) -> Callable[..., Any]:
    """The kind's `open`, `schema` or `load` (SourceKind made sure its role's are given)."""
    function = getattr(kind(role, name), what)
    assert function is not None
    return function


# ---- the entry points: a source declared in the contract, or an object passed through the API ----
def open_dataset(source: DatasetSource, frame: Any = None):
    """The dataset opened for a run: a `datasets.Opened` (its lazy frame, the rows its files
    record, the pandas index columns), over the frame passed in when there is one."""
    from .datasets import Opened, declared_without_data
    from .files import as_polars

    if source.missing:  # values the contract declares missing are null to the data checks
        from dataclasses import replace

        from .conditions import with_missing

        opened = open_dataset(replace(source, missing=()), frame)
        return Opened(with_missing(opened.lazy, source.missing), opened.rows, opened.index)
    if source.inner is not None:  # a view: the inner source's rows where the condition holds, or its lengths
        from .conditions import derived

        opened = open_dataset(source.inner, frame)
        return Opened(derived(opened.lazy, source), None, opened.index)
    if frame is not None:
        return Opened(as_polars(frame, source.name).lazy(), None)
    if source.format == "frame":
        raise declared_without_data(source)
    return _behaviour("dataset", source.format, "open")(source)


def schema_of(source: DatasetSource, frame: Any = None):
    """The dataset's `Schema` without reading its data (compiling calls this)."""
    from .base import Schema
    from .datasets import declared_without_data, lazy_schema
    from .files import as_polars

    if frame is not None:
        return Schema(lazy_schema(source, as_polars(frame, source.name).lazy()))
    if source.format == "frame":
        raise declared_without_data(source)
    return _behaviour("dataset", source.format, "schema")(source)


def load_model(source: ModelSource, obj: Any = None, grants: Grants | None = None):
    """The model as a models.loaded.LoadedModel (it validates every answer). `grants`: what the
    invocation allows (unpickling, hosts beyond loopback); the default allows nothing more."""
    from ..errors import ModelError
    from ..grants import Grants
    from ..models.loaded import wrap_object

    if obj is not None:
        return wrap_object(source.name, obj)
    if source.format == "object":
        raise ModelError(f"model `{source.name}` was declared without a file; pass it to run(models=...)")
    return _behaviour("model", source.format, "load")(source, grants or Grants())


def load_history(source: HistorySource, obj: Any = None):
    """The training history as a models.history.History."""
    from ..errors import DataError
    from ..models.history import from_object

    if obj is not None:
        return from_object(source.name, obj)
    if source.format == "frame" or source.path is None:
        raise DataError(f"history `{source.name}` was declared without a file; pass it to run(histories=...)")
    return _behaviour("history", source.format, "load")(source)


def history_curves(source: HistorySource, obj: Any = None) -> list[str] | None:
    """The curve names a history offers, or None when they cannot be read. Reads only the names
    (a CSV's header, a JSON document's keys): the checker calls this when compiling."""
    from ..models.history import curve_names, object_names

    try:
        if obj is not None:
            names = object_names(obj)
        else:
            names = _behaviour("history", source.format, "schema")(source)
    except Exception:  # noqa: BLE001 - unreadable now: its checks say why when they run
        return None
    return curve_names(names)


def format_of_path(path) -> str:
    """The dataset kind a data file's suffix names (for `mlc profile DATA`)."""
    from ..errors import UsageError

    suffix = path.suffix.lower()
    for candidate in kinds("dataset"):
        if suffix in candidate.suffixes:
            return candidate.name
    shown = ["/".join(k.suffixes) for k in kinds("dataset") if k.suffixes]
    listed = ", ".join(shown[:-1]) + f" or {shown[-1]}" if len(shown) > 1 else "".join(shown)
    raise UsageError(f"cannot tell the format of {path.name}: use a {listed} file")
