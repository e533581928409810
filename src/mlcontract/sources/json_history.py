"""`json("runs/history.json")`: a training history in a JSON file — a list of per-epoch records
`[{"epoch": 0, "loss": 0.7, "val_loss": 0.8}, ...]`, or a dict of lists `{"loss": [...]}`
(Keras `history.history`), nested one level as LightGBM / XGBoost `evals_result` write it
(models/history.py turns either into curves).

What a training tool cannot have written is a DataError naming the file: nesting deeper than
Python's recursion allows, a number beyond float64 (`1e999999`, an integer of a million digits,
which Python would refuse to convert after scanning it). `NaN` and `Infinity`, which Python's
json writes for a diverged loss, are read as those values: a check that needs them is an error
naming the epoch.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..errors import DataError
from .base import SourceKind

# float64 holds integers up to ~1.8e308: 309 digits. Longer ones are refused before any
# conversion (int() of a huge string is quadratic, and Python refuses beyond 4,300 digits).
_MAX_INTEGER_DIGITS = 309


def read_json(name: str, path: Path) -> Any:
    """The JSON document of a history file (see the module's docstring)."""
    import json

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"history `{name}`: cannot read {path.name}: {getattr(error, 'strerror', None) or error}") \
            from error
    try:
        return json.loads(text, parse_int=_json_integer, parse_float=_json_float)
    except RecursionError:
        raise DataError(f"history `{name}`: cannot read {path.name} as JSON: it is nested too deeply (a history "
                        "is a list of per-epoch records or a dict of lists)") from None
    except _OutOfRange as error:
        raise DataError(f"history `{name}`: cannot read {path.name} as JSON: the number {error} is out of the "
                        "range of a 64-bit float") from None
    except ValueError as error:
        raise DataError(f"history `{name}`: cannot read {path.name} as JSON: {error}") from error


class _OutOfRange(ValueError):
    """A JSON number no float64 can hold; its text (shortened) is the message."""

    def __init__(self, text: str):
        super().__init__(text if len(text) <= 24 else f"{text[:12]}…{text[-8:]} ({len(text):,} characters)")


def _json_integer(text: str) -> int | float:
    digits = len(text) - text.startswith("-")
    if digits > _MAX_INTEGER_DIGITS:
        raise _OutOfRange(text)
    if digits <= 15:  # exact as a float64 too; keep the int (epoch numbers)
        return int(text)
    return _json_float(text)


def _json_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _OutOfRange(text)
    return value


def load_history(source):
    from ..models.history import from_object
    from .files import check_readable

    path = Path(source.path)
    check_readable(path, f"history `{source.name}`")  # missing, a folder, a FIFO, /proc: an error, never read
    return from_object(source.name, read_json(source.name, path), path.name)


def history_names(source) -> list[str]:
    """The document's keys (the checker's curve names)."""
    from ..models.history import object_names

    return object_names(read_json(source.name, Path(source.path)))


KINDS = (
    SourceKind("json", "history", summary="a training history in a JSON file: per-epoch records or a dict of lists",
               example="runs/history.json", rank=20, load=load_history, schema=history_names),
)
