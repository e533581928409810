"""Calling models the same way whatever their format, and validating what they answer before
any metric sees it. The model files and endpoints are loaded by the model source kinds
(sources/sklearn.py, skops.py, onnx.py, http.py, ...); through the API any fitted estimator or
a predict callable is wrapped here (`wrap_object`).

A model is fed the dataset's columns minus the label and the ignored columns, as a pandas
DataFrame with the column names kept (what scikit-learn pipelines with ColumnTransformer expect).

Every answer goes through `LoadedModel` (predict / predict_proba / answer), which validates it
(`checked_labels`, `checked_probabilities`; docs/model-quality.md, "Model outputs"): one
prediction per row, no null or non-finite prediction, labels among the model's classes;
probabilities finite, in [0, 1], one column per class, each row summing to 1 within
`tolerance()`. A violation is a `ModelOutputError` naming the model, the row and the problem.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ModelError
from ..escape import printable
from .answer import Answer

# Probability rows must sum to 1 and lie in [0, 1] within this much (float64 outputs) ...
PROBABILITY_TOLERANCE = 1e-6
# ... or this much when the model computed them in lower precision (float32: ONNX graphs).
LOW_PRECISION_TOLERANCE = 1e-4

_SHOWN = 80  # characters of one predicted value shown in a message


class ModelOutputError(ModelError):
    """A model answered, but not with valid outputs. `problem` says what is wrong (e.g.
    "predicted NaN"), `row` which input row it concerns (0-based; None: the whole answer)."""

    def __init__(self, message: str, problem: str, row: int | None = None):
        super().__init__(message)
        self.problem = problem
        self.row = row


@dataclass
class LoadedModel:
    """A uniform face over every model format; every output it returns has been validated."""

    name: str
    format: str  # sklearn | skops | onnx | http | object | callable
    predict_fn: Callable[[Any], Any]
    proba_fn: Callable[[Any], Any] | None = None
    classes: np.ndarray | None = None
    estimator: Any = None  # the fitted sklearn object when there is one (cross-validation clones it)
    extra: dict = field(default_factory=dict)

    def predict(self, features) -> np.ndarray:
        """Labels (classifiers) or values (regressors), one per row."""
        return self.check_answer(self._call(self.predict_fn, features, "predict"), len(features)).labels

    def predict_proba(self, features) -> np.ndarray:
        """Class probabilities, shape (rows, classes), columns in the order of `classes` (or one
        column: the probability of the second of two classes)."""
        if self.proba_fn is None:
            raise ModelError(f"model `{self.name}` gives no probabilities (it has no predict_proba)")
        output = self._call(self.proba_fn, features, "predict_proba")
        if isinstance(output, Answer):
            output = output.probabilities
        return checked_probabilities(self.name, output, len(features), self.classes, "predict_proba", self._where)

    def answer(self, features) -> Answer:
        """Labels and, when the model gives them, probabilities, as a serving call returns them:
        one request for an HTTP model, predict then predict_proba in process."""
        rows = len(features)
        answer = self.check_answer(self._call(self.predict_fn, features, "predict"), rows)
        if answer.probabilities is None and self.has_proba and self.format != "http":
            answer.probabilities = self.predict_proba(features)
        return answer

    def check_answer(self, output, rows: int, call: str = "predict") -> Answer:
        """Validate a raw output of `predict_fn` (labels, or an Answer) for `rows` input rows."""
        probabilities = None
        if isinstance(output, Answer):
            if output.probabilities is not None:
                probabilities = checked_probabilities(self.name, output.probabilities, rows, self.classes, call,
                                                      self._where)
            output = output.labels
        labels = checked_labels(self.name, output, rows, self.classes, call, self._where)
        return Answer(labels, probabilities)

    @property
    def has_proba(self) -> bool:
        return self.proba_fn is not None

    @property
    def _where(self) -> str:
        url = self.extra.get("url")  # a model served over the network (sources/http.py) says where
        return f" ({printable(url)})" if url else ""

    def _call(self, function, features, what: str):
        try:
            return function(features)
        except ModelError:
            raise
        except Exception as error:
            raise ModelError(f"model `{self.name}` raised in {what}: {type(error).__name__}: "
                             f"{printable(error)}") from error


# ---- validation of outputs ---------------------------------------------------------------------------
class _Invalid(Exception):
    def __init__(self, problem: str, row: int | None = None):
        super().__init__(problem)
        self.problem = problem
        self.row = row


def checked_labels(model: str, labels, rows: int, classes=None, call: str = "predict", where: str = "",
                   index=None) -> np.ndarray:
    """`labels` as a 1-D array of `rows` valid predictions, or a ModelOutputError. `index`: the
    dataset row number of each input row, when the rows are a subset (a cross-validation fold)."""
    try:
        return _labels(labels, rows, classes)
    except _Invalid as bad:
        raise _output_error(model, call, where, rows, bad, index) from None


def checked_probabilities(model: str, matrix, rows: int, classes=None, call: str = "predict_proba",
                          where: str = "", index=None) -> np.ndarray:
    """`matrix` as valid float64 probabilities (rows × classes, or one column for two classes),
    clipped to [0, 1] (they are within the tolerance of it), or a ModelOutputError."""
    try:
        return _probabilities(matrix, rows, classes)
    except _Invalid as bad:
        raise _output_error(model, call, where, rows, bad, index) from None


def check_labels_known(model: str, labels, known, call: str = "predict", where: str = "") -> None:
    """Labels of a model that names no classes must be values of the label column (`known`)."""
    allowed = {_plain(v) for v in np.asarray(known, dtype=object).ravel().tolist() if not _is_null(v)}
    bad = _first_outside(np.asarray(labels), allowed)
    if bad is not None:
        row, value = bad
        problem = (f"predicted {_show(value)}, which is not one of the label column's values {_show_list(allowed)} "
                   "(the model names no classes; give it `classes` to predict others)")
        raise _output_error(model, call, where, len(labels), _Invalid(problem, row))


def label_problem(labels, rows: int, classes=None) -> tuple[str, int | None] | None:
    """What is wrong with `labels` as an answer for `rows` rows (problem, row), or None."""
    try:
        _labels(labels, rows, classes)
    except _Invalid as bad:
        return bad.problem, bad.row
    return None


def probability_problem(matrix, rows: int, classes=None) -> tuple[str, int | None] | None:
    """What is wrong with `matrix` as probabilities for `rows` rows (problem, row), or None."""
    try:
        _probabilities(matrix, rows, classes)
    except _Invalid as bad:
        return bad.problem, bad.row
    return None


def tolerance(matrix) -> float:
    """How far probabilities may stray from [0, 1] and their row sums from 1."""
    dtype = getattr(matrix, "dtype", None)
    if dtype is not None and dtype.kind == "f" and dtype.itemsize < 8:
        return LOW_PRECISION_TOLERANCE
    return PROBABILITY_TOLERANCE


def _output_error(model: str, call: str, where: str, rows: int, bad: _Invalid, index=None) -> ModelOutputError:
    row = bad.row if bad.row is None or index is None else int(index[bad.row])
    if row is None:
        at = ""
    elif index is None:
        at = f" at row {row:,} (of {rows:,}, counted from 0)"
    else:
        at = f" at row {row:,} of the dataset (counted from 0)"
    return ModelOutputError(f"model `{model}`{where}: invalid output from {call}{at}: {bad.problem}", bad.problem, row)


def _labels(labels, rows: int, classes) -> np.ndarray:
    values = _array(labels, "predictions")
    if values.ndim == 2 and values.shape[1] == 1:
        values = values.ravel()
    if values.ndim == 0 or values.shape[0] != rows:
        got = 1 if values.ndim == 0 else values.shape[0]
        raise _Invalid(f"returned {got} prediction{'s' if got != 1 else ''} for {rows} row{'s' if rows != 1 else ''} "
                       "(expected one prediction per row)")
    if values.ndim != 1:
        raise _Invalid(f"returned predictions of shape {tuple(values.shape)}; expected one per row")
    _require_valid_values(values)
    if classes is not None:
        allowed = {_plain(c) for c in np.asarray(classes, dtype=object).ravel().tolist()}
        bad = _first_outside(values, allowed)
        if bad is not None:
            row, value = bad
            raise _Invalid(f"predicted {_show(value)}, which is not one of its classes {_show_list(allowed)}", row)
    return values


def _require_valid_values(values: np.ndarray) -> None:
    """No null, NaN or ±inf prediction; nothing that is not a label or a number."""
    kind = values.dtype.kind
    if kind == "f":
        finite = np.isfinite(values)
        if not finite.all():
            row = int(np.argmin(finite))
            raise _Invalid(f"predicted {_show(values[row])}", row)
    elif kind == "c":
        raise _Invalid("predicted complex numbers", 0 if len(values) else None)
    elif kind in "mM":
        missing = np.isnat(values)
        if missing.any():
            raise _Invalid("predicted NaT", int(np.argmax(missing)))
    elif kind == "O":
        items = values.tolist()
        if set(map(type, items)) <= {str, bool}:  # text labels, the usual case: nothing to look at
            return
        for row, value in enumerate(items):
            problem = _value_problem(value)
            if problem is not None:
                raise _Invalid(problem, row)


def _value_problem(value) -> str | None:
    if _is_null(value):
        return f"predicted {_show(value)}"
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return None
    if isinstance(value, (int, np.integer)):
        try:
            float(value)
        except OverflowError:
            return f"predicted an integer of {len(str(abs(int(value)))):,} digits, too large for a number"
        return None
    if isinstance(value, (float, np.floating)):
        return None if math.isfinite(value) else f"predicted {_show(value)}"
    if isinstance(value, (list, tuple, dict, set, np.ndarray)):
        return f"predicted a {type(value).__name__} ({_show(value)}), not a label or a value"
    try:
        hash(value)
    except TypeError:
        return f"predicted a {type(value).__name__}, not a label or a value"
    return None


def _probabilities(matrix, rows: int, classes) -> np.ndarray:
    if matrix is None:
        raise _Invalid("returned no probabilities")
    values = _array(matrix, "probabilities")
    if values.dtype.kind not in "fiub":
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError, OverflowError):
            raise _Invalid("returned probabilities that are not numbers") from None
    allowed = tolerance(values)
    values = values.astype(np.float64, copy=False)
    class_count = None if classes is None else len(np.asarray(classes, dtype=object).ravel())
    if values.ndim == 2 and values.shape[1] == 1 and class_count != 1:
        values = values.ravel()  # one column: the probability of the second of two classes
    if values.ndim == 0 or values.shape[0] != rows or values.ndim > 2:
        raise _Invalid(f"returned probabilities of shape {tuple(values.shape)} for {rows} row{'s' if rows != 1 else ''}"
                       "; expected one row of probabilities per input row")
    if values.ndim == 1 and class_count is not None and class_count != 2:
        raise _Invalid(f"returned one probability per row, but the model has {class_count} classes")
    if values.ndim == 2:
        if values.shape[1] == 0 and rows:
            raise _Invalid("returned no probability columns")
        if class_count is not None and values.shape[1] != class_count:
            raise _Invalid(f"returned {values.shape[1]} probability columns for its {class_count} classes "
                           f"{_show_list(np.asarray(classes, dtype=object).ravel().tolist())}")
    table = values.reshape(rows, -1)
    finite = np.isfinite(table).all(axis=1)
    if not finite.all():
        row = int(np.argmin(finite))
        raise _Invalid(f"returned non-finite probabilities {_show_list(table[row].tolist())}", row)
    inside = ((table >= -allowed) & (table <= 1 + allowed)).all(axis=1)
    if not inside.all():
        row = int(np.argmin(inside))
        raise _Invalid(f"returned probabilities outside [0, 1]: {_show_list(table[row].tolist())}", row)
    if values.ndim == 2:
        sums = table.sum(axis=1)
        summing = np.abs(sums - 1.0) <= allowed
        if not summing.all():
            row = int(np.argmin(summing))
            raise _Invalid(f"returned probabilities that sum to {float(sums[row]):.9g}, not 1 "
                           f"(tolerance {allowed:g}): {_show_list(table[row].tolist())}", row)
    return np.clip(values, 0.0, 1.0)


def _array(output, what: str) -> np.ndarray:
    try:
        return np.asarray(output)
    except (ValueError, TypeError) as error:
        raise _Invalid(f"returned {what} that do not form an array ({printable(error, _SHOWN)})") from None


def _first_outside(values: np.ndarray, allowed: set) -> tuple[int, Any] | None:
    """(row, value) of the first prediction not in `allowed`, or None."""
    if values.dtype.kind in "iufb" and len(values) > 64 and all(isinstance(a, (bool, int, float)) for a in allowed):
        inside = np.isin(values, np.asarray(sorted(allowed, key=float), dtype=np.float64)) if allowed \
            else np.zeros(len(values), dtype=bool)
        if inside.all():
            return None
        row = int(np.argmin(inside))
        return row, values[row]
    plain = values.tolist()  # Python values (an object array may still hold NumPy scalars)
    if values.dtype.kind == "O":
        plain = [_plain(v) for v in plain]
    try:
        outside = {v for v in set(plain) if v not in allowed}
    except TypeError:
        outside = {i for i, v in enumerate(plain) if not _hashable(v) or v not in allowed}
        row = min(outside)
        return row, plain[row]
    if not outside:
        return None
    row = next(i for i, v in enumerate(plain) if v in outside)
    return row, plain[row]


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _is_null(value) -> bool:
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _show(value) -> str:
    value = _plain(value)
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return "null"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return printable(repr(value), _SHOWN)
    return printable(repr(value), _SHOWN)


def _show_list(values) -> str:
    values = list(values)
    try:
        values = sorted(values, key=lambda v: (isinstance(v, str), v))
    except TypeError:
        pass
    shown = [f"{v:.6g}" if isinstance(v, float) and math.isfinite(v) else _show(v) for v in values[:8]]
    return "[" + ", ".join(shown) + (", …" if len(values) > 8 else "") + "]"


# ---- models passed through the API -----------------------------------------------------------------
def wrap_object(name: str, obj: Any) -> LoadedModel:
    """What the API accepts as a model:
    - a fitted estimator (anything with `predict`; `predict_proba` and `classes_` when it has them);
    - a plain callable `X -> predictions`;
    - a dict `{"predict": f, "predict_proba": g, "classes": [...]}` (any of the functions may be
      left out, but not both; without `predict`, labels are the most probable class)."""
    if isinstance(obj, dict):
        return _wrap_functions(name, obj)
    if hasattr(obj, "predict") and callable(obj.predict):
        proba = getattr(obj, "predict_proba", None)
        classes = getattr(obj, "classes_", None)
        return LoadedModel(name, "object", obj.predict, proba if callable(proba) else None,
                           None if classes is None else np.asarray(classes), estimator=obj)
    if callable(obj):
        return LoadedModel(name, "callable", obj)
    raise ModelError(f"model `{name}`: expected a fitted estimator, a callable or a dict of callables, "
                     f"got {type(obj).__name__}")


def _wrap_functions(name: str, functions: dict) -> LoadedModel:
    unknown = set(functions) - {"predict", "predict_proba", "classes"}
    if unknown:
        raise ModelError(f"model `{name}`: unknown keys {', '.join(sorted(map(str, unknown)))}; "
                         "a model dict takes `predict`, `predict_proba` and `classes`")
    predict, proba = functions.get("predict"), functions.get("predict_proba")
    for key, function in (("predict", predict), ("predict_proba", proba)):
        if function is not None and not callable(function):
            raise ModelError(f"model `{name}`: `{key}` must be callable, got {type(function).__name__}")
    classes = functions.get("classes")
    classes = None if classes is None else np.asarray(classes)
    if predict is None:
        if proba is None:
            raise ModelError(f"model `{name}`: a model dict needs `predict` or `predict_proba`")
        if classes is None:
            raise ModelError(f"model `{name}`: with only `predict_proba`, say which column is which class: "
                             "add `classes`")

        def predict(features, _proba=proba, _classes=classes):
            # The labels come from the probabilities: the answer carries both, so that
            # LoadedModel validates the probabilities too (the argmax of NaN is a label).
            probabilities = _proba(features)
            try:
                matrix = np.asarray(probabilities, dtype=np.float64)
                if matrix.ndim == 1:  # one column: the probability of the second of two classes
                    matrix = np.column_stack([1.0 - matrix, matrix])
                labels = _classes[matrix.argmax(axis=1)]
            except (ValueError, TypeError, IndexError, np.exceptions.AxisError):
                labels = None  # the validation of the probabilities says what is wrong with them
            return Answer(labels, probabilities)

    return LoadedModel(name, "callable", predict, proba, classes)
