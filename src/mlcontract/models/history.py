"""Training histories: per-epoch curves (losses, metrics) from what training tools write. The
files are read by the history source kinds (sources/csv.py, sources/json_history.py), which
build a History with `from_columns` / `from_object`.

Shapes (docs/model-quality.md):
- CSV, as Keras' CSVLogger writes it: an optional `epoch` column and one column per curve.
- JSON, a list of per-epoch records: `[{"epoch": 0, "loss": 0.7, "val_loss": 0.8}, ...]`.
- JSON, a dict of lists: `{"loss": [...], "val_loss": [...]}` (Keras `history.history`), or
  nested one level as LightGBM / XGBoost `evals_result` write it:
  `{"valid_0": {"l2": [...]}}` → the curve `valid_0.l2`.
- Through the API: a pandas or Polars DataFrame, or one of the JSON shapes as Python objects.

Curve names are made writable in a contract: every character other than a letter, a digit, `_`
or `.` becomes `_` (`valid_0.ndcg@5` → `valid_0.ndcg_5`), and a leading digit gets a `_` prefix.
Epochs are the `epoch` column's values when there is one (they must increase), else 1, 2, 3, ...
A missing value (an empty CSV cell, a `nan`, a key absent from a record) is recorded as NaN and
makes any check that needs that epoch an error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import CheckError, DataError

EPOCH_COLUMN = "epoch"
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


@dataclass
class History:
    """A training history: epoch labels and one float curve per metric (NaN = missing)."""

    name: str
    epochs: Any  # numpy array of epoch labels (numbers)
    curves: dict[str, Any]  # name → float64 numpy array, aligned with epochs
    problems: dict[str, str] = field(default_factory=dict)  # columns that are not usable curves
    epoch_problem: str | None = None
    origin: dict[str, str] = field(default_factory=dict)  # curve name → name in the file, when renamed
    where: str = ""  # the file it was read from (or "the history passed in"), named in errors

    @property
    def names(self) -> list[str]:
        return [*self.curves, *(n for n in self.problems if n not in self.curves)]

    def __len__(self) -> int:
        return len(self.epochs)

    def curve(self, name: str, last: int | None = None) -> tuple[Any, Any, int]:
        """(epochs, values, offset) of a curve — its last `last` epochs when given; `offset` is
        the row of the first returned epoch. Raises CheckError for anything unusable."""
        import numpy as np

        if name in self.problems:
            raise CheckError(f"curve `{name}` of history `{self.name}` {self.problems[name]}")
        if name not in self.curves:
            shown = ", ".join(self.names) or "none"
            raise CheckError(f"history `{self.name}` has no curve `{name}` (its curves: {shown})")
        if self.epoch_problem:
            raise CheckError(f"history `{self.name}`: {self.epoch_problem}")
        if len(self.epochs) == 0:
            raise CheckError(f"history `{self.name}` has no epochs")
        values = self.curves[name]
        offset = 0
        if last is not None:
            if len(values) < last:
                raise CheckError(f"`over last {last} epochs` needs {last} epochs; history `{self.name}` has "
                                 f"{len(values)}")
            offset = len(values) - last
        epochs, values = self.epochs[offset:], values[offset:]
        missing = np.flatnonzero(np.isnan(values))
        if missing.size:
            where = ", ".join(_epoch_text(epochs[i]) for i in missing[:5]) + (" …" if missing.size > 5 else "")
            raise CheckError(f"curve `{name}` of history `{self.name}` has no value at epoch {where}"
                             f"{self._in()} (a missing value, or NaN)")
        infinite = np.flatnonzero(np.isinf(values))
        if infinite.size:
            raise CheckError(f"curve `{name}` of history `{self.name}` is infinite at epoch "
                             f"{_epoch_text(epochs[infinite[0]])}{self._in()} (a diverged run)")
        return epochs, values, offset

    def _in(self) -> str:
        return f" in {self.where}" if self.where else ""


def from_object(name: str, obj: Any, where: str = "the history passed in") -> History:
    """A pandas/Polars frame, a list of per-epoch records or a dict of lists."""
    try:
        history = _from_object(name, obj, where)
    except RecursionError:  # a cell nested so deeply that turning it into text recurses too far
        raise DataError(f"history `{name}`: {where} is nested too deeply (a history is a list of per-epoch "
                        "records or a dict of lists)") from None
    return history


def _from_object(name: str, obj: Any, where: str) -> History:
    import polars as pl

    if isinstance(obj, pl.LazyFrame):
        obj = obj.collect()
    if isinstance(obj, pl.DataFrame):
        return from_columns(name, {c: obj[c] for c in obj.columns}, where)
    if type(obj).__module__.startswith("pandas") and hasattr(obj, "columns"):
        return from_columns(name, {str(c): pl.Series(str(c), obj[c].to_numpy()) for c in obj.columns}, where)
    if isinstance(obj, list):
        return _from_records(name, obj, where)
    if isinstance(obj, dict):
        return _from_dict(name, obj, where)
    raise DataError(f"history `{name}`: {where} is a {type(obj).__name__}; expected a list of per-epoch records, "
                    "a dict of lists, or a DataFrame")


def object_names(obj: Any) -> list[str]:
    """The raw curve names of a history object: the JSON shapes' keys (nested dicts as
    `outer.inner`), or a DataFrame's columns."""
    if isinstance(obj, list):
        return list(dict.fromkeys(str(k) for record in obj for k in record))
    if isinstance(obj, dict):
        return [f"{k}.{inner}" if isinstance(v, dict) else str(k)
                for k, v in obj.items() for inner in (v if isinstance(v, dict) else [None])]
    if hasattr(obj, "collect_schema"):
        return obj.collect_schema().names()
    return [str(c) for c in obj.columns]


def curve_names(names: list[str]) -> list[str]:
    """The curve names a history offers, from its raw column or key names (the epoch column is
    not a curve; names are made writable, `safe_name`)."""
    found: dict[str, None] = {}
    for name in names:
        if name.strip().lower() != EPOCH_COLUMN:
            found.setdefault(safe_name(name))
    return list(found)


# ---- formats ---------------------------------------------------------------------------------
def _from_records(name: str, records: list, where: str) -> History:
    import polars as pl

    keys: dict[str, None] = {}
    for number, record in enumerate(records):
        if not isinstance(record, dict):
            raise DataError(f"history `{name}`: record {number + 1} of {where} is a {type(record).__name__}, "
                            "not an object of per-epoch values")
        keys.update(dict.fromkeys(str(k) for k in record))
    columns = {k: pl.Series(k, [_cell(r.get(k)) for r in records], strict=False)
               for k in keys}
    return from_columns(name, columns, where)


def _from_dict(name: str, document: dict, where: str) -> History:
    import polars as pl

    flat: dict[str, list] = {}
    for key, value in document.items():
        if isinstance(value, dict):  # evals_result: {"valid_0": {"l2": [...]}}
            for inner, series in value.items():
                flat[f"{key}.{inner}"] = _as_list(name, f"{key}.{inner}", series, where)
        else:
            flat[str(key)] = _as_list(name, str(key), value, where)
    length = max((len(v) for v in flat.values()), default=0)
    columns = {k: pl.Series(k, [_cell(x) for x in v] + [None] * (length - len(v)), strict=False)
               for k, v in flat.items()}
    return from_columns(name, columns, where)


def _as_list(name: str, key: str, value: Any, where: str) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    if type(value).__module__ == "numpy":
        return list(value.tolist()) if hasattr(value, "tolist") else [value]
    raise DataError(f"history `{name}`: `{key}` in {where} is a {type(value).__name__}, not a list of per-epoch values")


def _cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**63:
        # Beyond int64, Polars would make it a null (a "missing value"); a float keeps it.
        try:
            return float(value)
        except OverflowError:
            return float("inf") if value > 0 else float("-inf")
    return value


def from_columns(name: str, columns: dict, where: str) -> History:
    """Turn named columns (Polars Series) into a History."""
    import numpy as np

    epoch_key = next((c for c in columns if c.strip().lower() == EPOCH_COLUMN), None)
    rows = max((len(s) for s in columns.values()), default=0)
    curves: dict[str, Any] = {}
    problems: dict[str, str] = {}
    origin: dict[str, str] = {}
    epoch_problem = None
    if epoch_key is not None:
        values = _numeric(columns[epoch_key])
        if values is None:
            epoch_problem = f"the `{epoch_key}` column of {where} is not numeric"
            epochs = np.arange(1, rows + 1)
        else:
            epochs = values
            if np.isnan(epochs).any():
                epoch_problem = f"the `{epoch_key}` column of {where} has missing values"
            elif rows > 1 and not np.all(np.diff(epochs) > 0):
                bad = int(np.flatnonzero(np.diff(epochs) <= 0)[0]) + 1
                epoch_problem = (f"epochs are not in increasing order in {where}: epoch {_epoch_text(epochs[bad])} "
                                 f"follows {_epoch_text(epochs[bad - 1])} (row {bad + 1})")
            # Whole numbers are shown as integers; only those a float64 holds exactly (|e| < 2**53)
            # convert to int64 without changing (1e20 would wrap around to a negative epoch).
            if epoch_problem is None and np.all(epochs == np.round(epochs)) and np.all(np.abs(epochs) < 2.0**53):
                epochs = epochs.astype(np.int64)
    else:
        epochs = np.arange(1, rows + 1)
    for key, series in columns.items():
        if key == epoch_key:
            continue
        safe = safe_name(key)
        if safe in curves or safe in problems:
            problems.setdefault(safe, f"is named twice in {where} (`{origin.get(safe, safe)}` and `{key}`)")
            continue
        if safe != key:
            origin[safe] = key
        values = _numeric(series)
        if values is None:
            problems[safe] = f"is not numeric ({series.dtype}) in {where}"
            continue
        if len(values) < rows:
            values = np.concatenate([values, np.full(rows - len(values), np.nan)])
        curves[safe] = values
    return History(name, epochs, curves, problems, epoch_problem, origin, where)


def _numeric(series) -> Any:
    """Float64 values with NaN for missing, or None when the column is not numeric."""
    import polars as pl

    dtype = series.dtype
    if dtype == pl.Null:
        return series.cast(pl.Float64).fill_null(float("nan")).to_numpy()
    if dtype.is_numeric() or dtype == pl.Boolean:
        return series.cast(pl.Float64).fill_null(float("nan")).to_numpy()
    if dtype == pl.String:
        text = series.str.strip_chars()
        parsed = text.cast(pl.Float64, strict=False)
        present = text.is_not_null() & (text != "")
        if (parsed.is_null() & present).any():
            return None
        return parsed.fill_null(float("nan")).to_numpy()
    return None


def safe_name(name: str) -> str:
    """A curve name a contract can write: dot-separated parts of letters, digits and `_`, the
    first starting with a letter or `_` (`valid_0.ndcg@5` → `valid_0.ndcg_5`)."""
    parts = [_UNSAFE.sub("_", part) or "_" for part in str(name).strip().split(".")]
    if not parts[0][0].isalpha() and parts[0][0] != "_":
        parts[0] = "_" + parts[0]
    return ".".join(parts)


def _epoch_text(epoch) -> str:
    value = float(epoch)
    return str(int(value)) if value == int(value) else f"{value:g}"
