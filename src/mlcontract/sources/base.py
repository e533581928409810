"""What a source kind is: `SourceKind` (its name in contracts, its role, its keyword options and
their types, the example shown in hints, what its location is, and its behaviour), `OptionType`
(what an option takes, checked when a contract compiles), and `Schema` (a dataset's columns as
compiling reads them).

The checker (resolve/declarations.py) validates every `FORMAT("...", key=value)` against these
entries, and the engine opens and loads sources through them (sources/__init__.py). Light: no
import beyond the standard library.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["dataset", "model", "history"]
Location = Literal["path", "url", "uri"]
ROLES: tuple[Role, ...] = ("dataset", "model", "history")
LOCATIONS: tuple[Location, ...] = ("path", "url", "uri")


@dataclass(frozen=True)
class OptionType:
    """What a keyword option of a source takes: `description` completes "`key=` takes ..." in
    the diagnostic, `valid` accepts the option's plain value (an int where whole, a str, a bool)."""

    description: str
    valid: Callable[[Any], bool]

    def problem(self, value: Any) -> str | None:
        """What is wrong with `value`, or None."""
        return None if self.valid(value) else f"takes {self.description}, not {value!r}"


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# Option types several kinds share.
TRUE_OR_FALSE = OptionType("`true` or `false`", lambda value: isinstance(value, bool))
WHOLE_NUMBER = OptionType("a whole number of at least 0", _whole)
ONE_CHARACTER = OptionType("one character", lambda value: isinstance(value, str) and len(value) == 1)
TEXT = OptionType("a string", lambda value: isinstance(value, str))
TEXTS = OptionType("a string or a list of strings", lambda value: isinstance(value, str) or (
    isinstance(value, tuple) and all(isinstance(v, str) for v in value)))
TYPE_NAMES = OptionType("a comma-separated string of type names", lambda value: isinstance(value, str))


@dataclass(frozen=True)
class Schema:
    """A dataset's columns as compiling reads them (metadata only): {column: (column type,
    dtype name)}, and the columns that hold a pandas index (stored by `to_parquet` /
    `to_feather`): not features."""

    columns: dict[str, tuple[str, str]]
    index: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceKind:
    """One source kind: `dataset train = parquet("data/train.parquet")` is the dataset kind
    `parquet`. A module of the sources package defines `KINDS = (SourceKind(...), ...)`.

    Behaviour, by role (each callable is called only by sources/__init__.py's entry points):
    - dataset: `open(source) -> sources.datasets.Opened` (a lazy Polars frame over the files,
      checked for what a schema does not show, with the rows the files record) and
      `schema(source) -> Schema` (metadata only: compiling imports no more than Polars);
    - model: `load(source, grants) -> models.loaded.LoadedModel`;
    - history: `load(source) -> models.history.History` and `schema(source) -> list[str]`, the
      raw column or key names (compiling checks curve names against them).
    `source` is the DatasetSource / ModelSource / HistorySource the checker built.
    """

    name: str  # the word a contract writes: `parquet(...)`
    role: Role
    summary: str  # one line: what it reads
    example: str  # a location shown in hints: e.g. parquet("data/train.parquet")
    options: Mapping[str, OptionType] = field(default_factory=dict)
    # "path": a file or folder, resolved against the contract's folder and confined (grants.py);
    # "url": a URL starting with one of `schemes`; "uri": a URI starting with one of `schemes`
    # (not confined), or else a path.
    location: Location = "path"
    schemes: tuple[str, ...] = ()
    uri_name: str = ""  # what a URI of this kind is, in messages: "an MLflow model URI"
    # What is wrong with a written location, checked when compiling (None: nothing).
    check_location: Callable[[str], str | None] | None = None
    rank: int = 100  # its place in lists and hints (ties: by name)
    suffixes: tuple[str, ...] = ()  # file suffixes that mean this kind (datasets: `mlc profile DATA`)
    open: Callable[..., Any] | None = None
    schema: Callable[..., Any] | None = None
    load: Callable[..., Any] | None = None
    # Models: what a file of this kind looks like, read off its first bytes without loading it
    # (`recognise(path, head) -> "an ONNX model"` or None; a folder comes with an empty head),
    # and the words for its files, with their article, in "x.bin is not an ONNX file" (sniff.py).
    recognise: Callable[[Any, bytes], str | None] | None = None
    file_type: str = ""
    # Datasets: the kind holds summaries computed ahead (a profile), not rows. The checks that
    # need rows, or what its summaries do not keep, are compile-time diagnostics, and the plan
    # serves its scans from the summaries (sources.holds_summaries).
    summaries_only: bool = False
    # Datasets: a file of this kind written by pandas keeps its index as an ordinary column
    # (`to_csv` without `index=False`: a column named "" or "Unnamed: 0"), which the checker
    # asks the contract to `ignore` (resolve.declarations.unnamed_index_columns).
    index_as_column: bool = False

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"source kind {self.name!r}: role must be one of {ROLES}, not {self.role!r}")
        if self.location not in LOCATIONS:
            raise ValueError(f"source kind {self.name!r}: location must be one of {LOCATIONS}, not {self.location!r}")
        if not self.name.isidentifier():
            raise ValueError(f"source kind {self.name!r}: a name is a word a contract can write")
        if self.location != "path" and self.role != "model":
            raise ValueError(f"source kind {self.name!r}: only model kinds take a URL or URI")
        if self.location != "path" and not self.schemes:
            raise ValueError(f"source kind {self.name!r}: a {self.location} location needs its schemes")
        needed = {"dataset": ("open", "schema"), "model": ("load",), "history": ("load", "schema")}[self.role]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"source kind {self.name!r} ({self.role}) needs {', '.join(missing)}")

    @property
    def what(self) -> str:
        """What its one argument is, in messages: `parquet(...)` takes one quoted path."""
        return {"path": "path", "url": "URL", "uri": "URI or path"}[self.location]

    def claims(self, location: str) -> bool:
        """Whether `location` is one of this kind's URLs or URIs (never for a path kind)."""
        return self.location != "path" and location.startswith(self.schemes)
