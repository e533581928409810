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

Where early stopping chose its best round, a history says so (`up to best epoch` reads it):
`best_iteration` (a number at the top of a dict-of-lists JSON: the 0-based row, as XGBoost's
`best_iteration` counts) or `best_epoch` (a number at the top of the JSON, or a column whose last
value counts: an epoch as the history numbers them). Neither is a curve.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import CheckError, DataError

EPOCH_COLUMN = "epoch"
# Where early stopping's best round is recorded (`up to best epoch`); never a curve.
BEST_ITERATION, BEST_EPOCH = "best_iteration", "best_epoch"
BEST_KEYS = (BEST_ITERATION, BEST_EPOCH)
# Scalars a dict-of-lists history may hold beside its curves (XGBoost's `best_score` too).
_SCALAR_KEYS = (*BEST_KEYS, "best_score")
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
    best: dict[str, Any] = field(default_factory=dict)  # best_iteration / best_epoch as recorded

    @property
    def names(self) -> list[str]:
        return [*self.curves, *(n for n in self.problems if n not in self.curves)]

    def __len__(self) -> int:
        return len(self.epochs)

    def curve(self, name: str, last: int | None = None, until: int | None = None) -> tuple[Any, Any, int]:
        """(epochs, values, offset) of a curve — only its rows up to `until` (inclusive) when
        given, then the last `last` of them; `offset` is the row of the first returned epoch.
        Raises CheckError for anything unusable."""
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
        values, epochs = self.curves[name], self.epochs
        if until is not None:
            values, epochs = values[:until + 1], epochs[:until + 1]
        offset = 0
        if last is not None:
            if len(values) < last:
                upto = f" up to its best epoch {_epoch_text(epochs[-1])}" if until is not None else ""
                raise CheckError(f"`over last {last} epochs` needs {last} epochs; history `{self.name}` has "
                                 f"{len(values)}{upto}")
            offset = len(values) - last
        epochs, values = epochs[offset:], values[offset:]
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

    def best_row(self, name: str, lowest: bool) -> tuple[int, str]:
        """The row of early stopping's best round and where it came from: `best_iteration` (a
        0-based row), else `best_epoch` (an epoch label), else the curve's own best value (its
        first minimum when `lowest`, else its first maximum). Raises CheckError when the recorded
        best is not a row of this history."""
        import numpy as np

        unusable = next((v for k, v in self.best.items() if k in BEST_KEYS and isinstance(v, Unusable)), None)
        if unusable is not None:  # only `up to best epoch` needs it: the other checks of the history run
            raise CheckError(f"history `{self.name}`: {unusable.problem}")
        if BEST_ITERATION in self.best:
            value = self.best[BEST_ITERATION]
            if not _whole(value) or not 0 <= value < len(self.epochs):
                raise CheckError(f"history `{self.name}`: `{BEST_ITERATION}` {_value_text(value)}{self._in()} is not a "
                                 f"row of its {len(self.epochs)} epochs (it counts from 0, as XGBoost's does)")
            return int(value), f"`{BEST_ITERATION}` {int(value)}"
        if BEST_EPOCH in self.best:
            value = self.best[BEST_EPOCH]
            rows = np.flatnonzero(self.epochs == value) if _number(value) else np.array([])
            if rows.size == 0:
                raise CheckError(f"history `{self.name}`: `{BEST_EPOCH}` {_value_text(value)}{self._in()} is none of "
                                 f"its epochs ({_epoch_text(self.epochs[0])}–{_epoch_text(self.epochs[-1])})"
                                 if len(self.epochs) else f"history `{self.name}` has no epochs")
            return int(rows[0]), f"`{BEST_EPOCH}` {_value_text(value)}"
        _, values, _ = self.curve(name)  # a missing value could hide the best one: an error
        row = int(np.argmin(values) if lowest else np.argmax(values))
        return row, f"the {'lowest' if lowest else 'highest'} `{name}`"


@dataclass(frozen=True)
class Unusable:
    """A recorded best round that cannot be used, and why (an error only for `up to best epoch`)."""

    problem: str


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
    if isinstance(obj, dict):  # scalars beside the curves (`best_iteration`) are not curves
        return [f"{k}.{inner}" if isinstance(v, dict) else str(k)
                for k, v in obj.items() for inner in (v if isinstance(v, dict) else [None])
                if not (str(k) in _SCALAR_KEYS and not isinstance(v, (list, tuple, dict)))]
    if hasattr(obj, "collect_schema"):
        return obj.collect_schema().names()
    return [str(c) for c in obj.columns]


def curve_names(names: list[str]) -> list[str]:
    """The curve names a history offers, from its raw column or key names (the epoch column is
    not a curve, nor is a recorded best round; names are made writable, `safe_name`)."""
    found: dict[str, None] = {}
    for name in names:
        if name.strip().lower() not in (EPOCH_COLUMN, *BEST_KEYS):
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
    best: dict[str, Any] = {}
    for key, value in document.items():
        if str(key) in _SCALAR_KEYS and not isinstance(value, (list, tuple, dict)):
            best[str(key)] = _scalar(str(key), value, where)  # beside the curves: not a curve
        elif isinstance(value, dict):  # evals_result: {"valid_0": {"l2": [...]}}
            for inner, series in value.items():
                flat[f"{key}.{inner}"] = _as_list(name, f"{key}.{inner}", series, where)
        else:
            flat[str(key)] = _as_list(name, str(key), value, where)
    length = max((len(v) for v in flat.values()), default=0)
    columns = {k: pl.Series(k, [_cell(x) for x in v] + [None] * (length - len(v)), strict=False)
               for k, v in flat.items()}
    history = from_columns(name, columns, where)
    history.best.update({k: v for k, v in best.items() if k in BEST_KEYS})
    return history


def _scalar(key: str, value: Any, where: str) -> Any:
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    if not _number(value):
        return Unusable(f"`{key}` in {where} is {_value_text(value)}, not a number")
    return value


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
    best: dict[str, Any] = {}
    for key, series in columns.items():
        if key == epoch_key:
            continue
        if key.strip().lower() in BEST_KEYS:  # a running best: its last value is the best round
            best[key.strip().lower()] = _last_value(key, series, where)
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
    return History(name, epochs, curves, problems, epoch_problem, origin, where, best)


def _last_value(key: str, series, where: str) -> Any:
    """The last non-missing value of a `best_epoch` / `best_iteration` column (or why there is none)."""
    import numpy as np

    values = _numeric(series)
    if values is None:
        return Unusable(f"the `{key}` column of {where} is not numeric")
    present = values[~np.isnan(values)]
    if present.size == 0:
        return Unusable(f"the `{key}` column of {where} has no value")
    value = float(present[-1])
    return int(value) if value.is_integer() else value


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


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value: Any) -> bool:
    return _number(value) and float(value).is_integer()


def _value_text(value: Any) -> str:
    from ..escape import printable

    return printable(repr(value), 40)


def _epoch_text(epoch) -> str:
    value = float(epoch)
    return str(int(value)) if value == int(value) else f"{value:g}"
