"""Robustness cases: edge-case inputs synthesised from real rows, and the validation of what a
model answers to them. Knows nothing of contracts or backends (serving.py wires it in).

A case starts from *base rows*: `rows` (default 20) rows of the reference dataset, drawn
without replacement with `numpy.random.default_rng(seed)` among the rows that have no missing
feature (all rows when fewer are complete). Only the selected feature is changed; the other
columns keep their real values. A case has one or more *variants* (e.g. nulls as None and as
NaN); each variant is a frame of rows that is sent one row per call AND as one batch.
docs/serving.md lists exactly what each case generates.

An answer passes when the call raised nothing and its output is valid by the rules every model
output obeys (models/loaded.py: one finite, non-null prediction per row, one of the model's classes
when it has classes; probabilities finite, within [0, 1], summing to 1 within
models.PROBABILITY_TOLERANCE), and it looks like the answer to the unmodified base rows: the
same type of predictions, as many probabilities per row.
"""
from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LONG_TEXT_LENGTHS = (0, 1, 10, 100, 1_000, 10_000, 100_000)
EXTREME = 1e12
UNSEEN_PREFIX = "mlc-unseen-"
_TEXT_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-'éß中"
_SHOWN_TEXT = 120  # long strings are shortened in reported rows


@dataclass
class Variant:
    """One way of presenting a case: the rows sent, and what they contain, in words."""

    name: str  # e.g. "None in an object column"
    frame: Any  # pandas DataFrame


@dataclass
class Expectation:
    """What a valid answer looks like, learnt from the model's answer to the base rows."""

    label_kind: str  # number | text | bool | other
    classes: list | None  # Python values; None for regressors and unknown classes
    proba_width: int | None  # number of probability columns, None when no probabilities


@dataclass
class Failure:
    variant: str
    mode: str  # alone | batch
    rows: int  # rows in the failing call
    row: dict  # one offending input row, JSON-ready
    exception: str | None  # exception type, or None for a wrong answer
    error: str  # the exception's message, or what was wrong with the answer


@dataclass
class Outcome:
    calls: int = 0
    rows: int = 0
    failures: list[Failure] = field(default_factory=list)
    failed_calls: int = 0
    variants: list[str] = field(default_factory=list)
    first_alone_failure: dict = field(default_factory=dict)  # variant → row index

    @property
    def passed(self) -> bool:
        return not self.failures


# ---- base rows ---------------------------------------------------------------------------------------
def base_rows(features, count: int, seed: int):
    """`count` rows of `features` (pandas), complete rows preferred, drawn with `seed`."""
    complete = features.notna().all(axis=1).to_numpy()
    pool = np.flatnonzero(complete) if complete.sum() >= min(count, len(features)) else np.arange(len(features))
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(pool, size=min(count, len(pool)), replace=False))
    return features.iloc[chosen].reset_index(drop=True).copy()


def _rng(seed: int, case: str, column: str | None) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(case.encode()), zlib.crc32((column or "").encode())])


# ---- case synthesis ----------------------------------------------------------------------------------
def synthesize(case: str, column: str, base, reference, seed: int = 0, chosen: tuple[str, ...] = ()) -> list[Variant]:
    """The variants of `case` for `column` (only the `chosen` ones when given: `nan`, `none`,
    `missing key` for nulls). `reference` is the column over the whole reference dataset (pandas
    Series): its values decide what is unseen or out of range."""
    import pandas as pd

    if column not in base.columns:
        raise KeyError(column)
    from .images import IMAGE_CASES

    if case in IMAGE_CASES:
        return _images(case, base, column, chosen)
    series = base[column]
    kind = column_type(series)
    if case == "nulls":
        return _nulls(base, column, kind, chosen)
    if case == "unseen categories":
        return [Variant("unseen categories", _with(base, column, _unseen(reference, len(base)), object))]
    if case == "out_of_range":
        values: list = out_of_range_values(reference, integer=kind == "integer")  # numbers; other cases: text
        n = max(len(base), len(values))
        frame = _cycle(base, n)
        column_values = [values[i % len(values)] for i in range(n)]
        dtype = np.int64 if kind == "integer" and all(float(v).is_integer() and abs(v) < 2**62 for v in values) else np.float64
        return [Variant("out-of-range values", _with(frame, column, column_values, dtype))]
    if case == "empty strings":
        values = ["" if i % 2 == 0 else " " for i in range(len(base))]
        return [Variant("empty strings", _with(base, column, values, object))]
    if case == "long text":
        rng = _rng(seed, case, column)
        n = max(len(base), len(LONG_TEXT_LENGTHS))
        values = [_text(rng, LONG_TEXT_LENGTHS[i % len(LONG_TEXT_LENGTHS)]) for i in range(n)]
        return [Variant("long text (0 to 100,000 characters)", _with(_cycle(base, n), column, values, object))]
    if case == "type drift":
        return _type_drift(base, column, kind, pd)
    raise ValueError(f"unknown robustness case {case!r}")


def column_type(series) -> str:
    """bool | integer | float | text, from a pandas Series' dtype."""
    from pandas.api import types

    dtype = series.dtype
    if types.is_bool_dtype(dtype):
        return "bool"
    if types.is_integer_dtype(dtype):
        return "integer"
    if types.is_float_dtype(dtype):
        return "float"
    if types.is_numeric_dtype(dtype):
        return "float"
    return "text"


def _with(frame, column: str, values: list, dtype) -> Any:
    """A copy of `frame` whose `column` holds `values` with the given dtype."""
    import pandas as pd

    out = frame.copy()
    if dtype is object:
        array = np.empty(len(values), dtype=object)
        array[:] = values
        out[column] = pd.Series(array, index=out.index, dtype=object)
    else:
        out[column] = pd.Series(np.asarray(values, dtype=dtype), index=out.index)
    return out


def _cycle(base, n: int):
    """n rows: the base rows repeated in order."""
    index = [i % len(base) for i in range(n)]
    return base.iloc[index].reset_index(drop=True).copy()


def _nulls(base, column: str, kind: str, chosen: tuple[str, ...] = ()) -> list[Variant]:
    """Without `chosen`: NaN and None (numbers: NaN first). With it: those variants, in the
    order written; `missing key` sends the rows without the column, which is what an HTTP model's
    records then lack and what `pandas.DataFrame(records)` builds when no record has the key."""
    n = len(base)
    numeric = kind in ("float", "integer")
    made = {
        "nan": Variant("NaN", _with(base, column, [np.nan] * n, np.float64 if numeric else object)),
        "none": Variant("None (an object column, as JSON null arrives)" if numeric else "None",
                        _with(base, column, [None] * n, object)),
        "missing key": Variant("missing key (no such column; HTTP records without the key)",
                               base.drop(columns=[column])),
    }
    return [made[name] for name in (chosen or (("nan", "none") if numeric else ("none", "nan")))]


def _images(case: str, base, column: str, sizes: tuple[str, ...]) -> list[Variant]:
    """The base rows with each image changed (models/images.py); `sizes` for `image sizes`."""
    from . import images

    originals = [images.pixels(cell, f"`{column}` in row {i} of the base rows") for i, cell in enumerate(base[column])]
    out = []
    for name, changed in images.variants(case, originals, sizes):
        frame = base.copy()
        cells = np.empty(len(changed), dtype=object)
        for i, image in enumerate(changed):  # one array per cell (assigning the list would broadcast)
            cells[i] = image
        import pandas as pd

        frame[column] = pd.Series(cells, index=frame.index, dtype=object)
        out.append(Variant(name, frame))
    return out


def _unseen(reference, n: int) -> list[str]:
    seen = {str(v) for v in reference.dropna().unique().tolist()}
    values: list[str] = []
    k = 0
    while len(values) < 3:
        candidate = f"{UNSEEN_PREFIX}{k}"
        if candidate not in seen:
            values.append(candidate)
        k += 1
    return [values[i % len(values)] for i in range(n)]


def out_of_range_values(reference, integer: bool = False) -> list[float]:
    """Beyond the reference's finite [min, max] by its width, ±1e12, 0 when 0 is outside, and the
    negated maximum when the reference is non-negative. Whole numbers for integer columns."""
    values = np.asarray(reference.dropna().to_numpy(), dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        raise ValueError("the reference column has no finite values, so it has no range")
    low, high = float(values.min()), float(values.max())
    width = high - low if high > low else max(abs(high), 1.0)
    found = [high + width, low - width, EXTREME, -EXTREME]
    if not low <= 0 <= high:
        found.append(0.0)
    if low >= 0 and high > 0:
        found.append(-high)
    if integer:
        found = [float(math.ceil(v)) if v > high else float(math.floor(v)) for v in found]
    unique: list[float] = []
    for v in found:
        if v not in unique and not (low <= v <= high):
            unique.append(v)
    return unique


def _text(rng: np.random.Generator, length: int) -> str:
    if length == 0:
        return ""
    picks = rng.integers(0, len(_TEXT_ALPHABET), size=length)
    alphabet = np.array(list(_TEXT_ALPHABET))
    return "".join(alphabet[picks].tolist())


def _type_drift(base, column: str, kind: str, pd) -> list[Variant]:
    values = base[column].tolist()
    n = len(base)
    if kind == "integer":
        return [
            Variant("integers as text", _with(base, column, [None if _missing(v) else str(int(v)) for v in values], object)),
            Variant("integers as floats", _with(base, column, [float(v) for v in values], np.float64)),
        ]
    if kind == "float":
        variants = [Variant("numbers as text", _with(base, column, [None if _missing(v) else repr(float(v)) for v in values],
                                                      object))]
        if all(_missing(v) or float(v).is_integer() for v in values) and not any(_missing(v) for v in values):
            variants.append(Variant("whole numbers as integers", _with(base, column, [int(v) for v in values], np.int64)))
        return variants
    if kind == "bool":
        return [
            Variant("booleans as text", _with(base, column, [None if _missing(v) else str(bool(v)).lower() for v in values],
                                              object)),
            Variant("booleans as integers", _with(base, column, [None if _missing(v) else int(bool(v)) for v in values],
                                                  object)),
        ]
    variants = []
    numeric = [_as_number(v) for v in values]
    if n and all(x is not None for x in numeric):
        variants.append(Variant("numeric text as numbers", _with(base, column, numeric, object)))
    variants.append(Variant("text as a categorical dtype", _categorical(base, column, pd)))
    if str(base[column].dtype) != "object":
        variants.append(Variant("text as an object dtype", _with(base, column, values, object)))
    return variants


def _categorical(base, column: str, pd):
    out = base.copy()
    out[column] = out[column].astype("category")
    return out


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _as_number(value):
    if not isinstance(value, str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number


# ---- user-provided rows ----------------------------------------------------------------------------
def read_rows(path: str):
    """The rows of a parquet / ndjson / csv file, as a pandas DataFrame. The path is literal:
    `*`, `?` and `[` in it are not a pattern (Polars would glob them)."""
    import io
    from pathlib import Path

    import polars as pl

    lower = path.lower()
    if lower.endswith((".parquet", ".pq")):
        frame = pl.read_parquet(path, glob=False)
    elif lower.endswith((".ndjson", ".jsonl", ".json")):
        frame = pl.read_ndjson(io.BytesIO(Path(path).read_bytes()))  # read_ndjson has no glob=False
    elif lower.endswith(".csv"):
        frame = pl.read_csv(path, glob=False)
    else:
        raise ValueError("edge-case rows are read from .parquet, .ndjson/.jsonl or .csv files")
    return frame.to_pandas()


# ---- answers ------------------------------------------------------------------------------------------
def label_kind(labels: np.ndarray) -> str:
    values = np.asarray(labels)
    if values.dtype.kind == "b":
        return "bool"
    if values.dtype.kind in "iuf":
        return "number"
    if values.dtype.kind in "US":
        return "text"
    kinds = {_value_kind(v) for v in values.ravel().tolist() if not _missing(v)}
    return kinds.pop() if len(kinds) == 1 else "other"


def _value_kind(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "number"
    if isinstance(value, str):
        return "text"
    return "other"


def expectation(labels, probabilities, classes) -> Expectation:
    """What the answers to the cases must look like, from the answer to the base rows."""
    class_list = None if classes is None else [_plain(c) for c in np.asarray(classes).tolist()]
    width = None if probabilities is None else int(np.asarray(probabilities).reshape(len(labels), -1).shape[1])
    return Expectation(label_kind(np.asarray(labels)), class_list, width)


def answer_problem(labels, probabilities, rows: int, expect: Expectation) -> tuple[str, int | None] | None:
    """What is wrong with an answer for `rows` rows (and the row it concerns), or None.

    The rules every model output obeys (one finite, non-null prediction per row, among the
    model's classes; valid probabilities) are models/loaded.py's; on top of them an answer must look
    like the answer to the unmodified rows (the same kind of labels, as many probabilities)."""
    from .loaded import label_problem, probability_problem

    problem = label_problem(labels, rows, expect.classes)
    if problem is not None:
        return problem
    labels = np.asarray(labels)
    kind = label_kind(labels)
    if expect.classes is None and kind != expect.label_kind and expect.label_kind != "other":
        return f"predicted {_kind_words(kind)} where the unmodified rows gave {_kind_words(expect.label_kind)}", 0
    if expect.proba_width is not None:
        if probabilities is None:
            return "gave no probabilities, though it does for the unmodified rows", None
        matrix = np.asarray(probabilities)
        width = 1 if matrix.ndim == 1 else matrix.shape[1] if matrix.ndim == 2 else None
        if width is not None and matrix.shape[0] == rows and width != expect.proba_width:
            return (f"returned {width} probabilities per row instead of {expect.proba_width}", 0)
        return probability_problem(matrix, rows)  # its width is compared with the unmodified rows' above
    return None


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---- running a case ------------------------------------------------------------------------------------
Serve = Callable[[Any], tuple[Any, Any]]  # frame -> (labels, probabilities or None); raises on failure


def run_case(serve: Serve, variants: list[Variant], expect: Expectation,
             transport_errors: tuple[type, ...] = ()) -> Outcome:
    """Send every variant one row per call, then as one batch; collect what went wrong.

    Exceptions in `transport_errors` (no answer at all, e.g. a refused connection) are not
    failures of the model: they propagate and the check becomes an error."""
    outcome = Outcome()
    for variant in variants:
        frame = variant.frame
        outcome.variants.append(variant.name)
        outcome.rows += len(frame)
        for i in range(len(frame)):
            if not _one_call(serve, frame.iloc[i:i + 1], expect, variant.name, "alone", outcome, transport_errors):
                outcome.first_alone_failure.setdefault(variant.name, i)
        if len(frame) > 1:
            _one_call(serve, frame, expect, variant.name, "batch", outcome, transport_errors)
    return outcome


def _one_call(serve, frame, expect, variant, mode, outcome, transport_errors) -> bool:
    """One call; False (and a recorded failure) when it failed. The offending row of a failed
    batch is the row the answer points at, else the first row that failed alone, else row 0."""
    from .loaded import ModelOutputError

    outcome.calls += 1
    rows = len(frame)
    fallback = outcome.first_alone_failure.get(variant, 0) if mode == "batch" else 0
    try:
        labels, probabilities = serve(frame)
    except transport_errors:
        raise
    except ModelOutputError as wrong:  # the call answered, but not validly: a wrong answer, not a raise
        outcome.failed_calls += 1
        row = fallback if wrong.row is None else wrong.row
        outcome.failures.append(Failure(variant, mode, rows, row_json(frame, row), None, wrong.problem))
        return False
    except Exception as error:  # noqa: BLE001 - any exception is what the check reports
        cause = _root(error)
        outcome.failed_calls += 1
        outcome.failures.append(Failure(variant, mode, rows, row_json(frame, fallback), type(cause).__name__,
                                        _short(str(cause))))
        return False
    problem = answer_problem(labels, probabilities, rows, expect)
    if problem is None:
        return True
    message, index = problem
    outcome.failed_calls += 1
    outcome.failures.append(Failure(variant, mode, rows, row_json(frame, fallback if index is None else index), None,
                                    message))
    return False


def _root(error: BaseException) -> BaseException:
    """The model's own exception, not the ModelError wrapping it (HTTP errors are their own)."""
    from ..errors import ModelError
    from ..sources.http import HttpError

    seen = 0
    while isinstance(error, ModelError) and not isinstance(error, HttpError) and error.__cause__ is not None \
            and seen < 5:
        error = error.__cause__
        seen += 1
    return error


def _short(text: str, limit: int = 300) -> str:
    """A model's exception text as one safe line (it may echo anything the rows held)."""
    from ..escape import printable

    return printable(" ".join(str(text).split()), limit)


def row_json(frame, index: int | None) -> dict:
    """One input row as JSON-ready values; long strings shortened, with their length."""
    from ..sources.http import json_value

    i = 0 if index is None or index >= len(frame) else index
    row = {}
    for column in frame.columns:
        value = frame[column].iloc[i]
        if isinstance(value, np.ndarray) and value.ndim >= 2:  # an image: its shape, not its pixels
            row[str(column)] = f"array of shape {tuple(int(n) for n in value.shape)}, {value.dtype}"
            continue
        try:
            shown = json_value(value, str(column))
        except ValueError:
            shown = str(value)
        if isinstance(shown, str) and len(shown) > _SHOWN_TEXT:
            shown = f"{shown[:_SHOWN_TEXT // 2]}… ({len(shown):,} characters)"
        row[str(column)] = shown
    return row


def _kind_words(kind: str) -> str:
    return {"number": "numbers", "text": "text", "bool": "booleans", "other": "mixed values"}[kind]
