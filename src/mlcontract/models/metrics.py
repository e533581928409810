"""Model metrics: a metric name of the language → one `sklearn.metrics` call.

Nothing here re-implements a metric. This module decides only what scikit-learn is asked:
which class is positive, how multiclass scores are averaged, and which probability column
belongs to which class. docs/model-quality.md states the same rules for users.

- Positive class (two-class labels): `positive VALUE` when given; otherwise the larger of the
  two labels when they are numbers or booleans (so 1 over 0, True over False); string labels
  have no natural order, so they need `positive`.
- Averaging: `average binary|macro|micro|weighted` when given; otherwise `binary` for two
  classes and `macro` for more (auc on more than two classes: one-vs-rest, macro).
- Probabilities: the column of the positive class, found through the model's classes (the
  order of `classes_`); a model without `predict_proba` cannot be scored on auc, pr_auc,
  logloss or brier.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import CheckError

if TYPE_CHECKING:
    import numpy as np


# ---- the metrics the language knows (the checker reads these at compile time) ----------------
@dataclass(frozen=True)
class MetricInfo:
    name: str
    task: str  # classification | regression
    needs_scores: bool  # probabilities / decision scores rather than labels
    higher_is_better: bool
    sklearn: str  # the sklearn.metrics function that computes it (the names in docs/model-quality.md)

    @property
    def summary(self) -> str:
        return f"sklearn.metrics.{self.sklearn}"


METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in [
        MetricInfo("accuracy", "classification", False, True, "accuracy_score"),
        MetricInfo("balanced_accuracy", "classification", False, True, "balanced_accuracy_score"),
        MetricInfo("precision", "classification", False, True, "precision_score"),
        MetricInfo("recall", "classification", False, True, "recall_score"),
        MetricInfo("f1", "classification", False, True, "f1_score"),
        MetricInfo("auc", "classification", True, True, "roc_auc_score"),
        MetricInfo("pr_auc", "classification", True, True, "average_precision_score"),
        MetricInfo("logloss", "classification", True, False, "log_loss"),
        MetricInfo("brier", "classification", True, False, "brier_score_loss"),
        MetricInfo("rmse", "regression", False, False, "root_mean_squared_error"),
        MetricInfo("mae", "regression", False, False, "mean_absolute_error"),
        MetricInfo("r2", "regression", False, True, "r2_score"),
        MetricInfo("mape", "regression", False, False, "mean_absolute_percentage_error"),
        MetricInfo("median_ae", "regression", False, False, "median_absolute_error"),
    ]
}

# Which of the `average` / `positive` options each metric understands (others: none).
METRIC_PARAMS: dict[str, frozenset[str]] = {
    "precision": frozenset({"average", "positive"}),
    "recall": frozenset({"average", "positive"}),
    "f1": frozenset({"average", "positive"}),
    "auc": frozenset({"average", "positive"}),
    "pr_auc": frozenset({"average", "positive"}),
    "brier": frozenset({"positive"}),
}

# The options a metric check takes (the checker refuses any other).
METRIC_OPTIONS = frozenset({"average", "positive", "min_rows", "folds", "seed", "on"})
AVERAGES = ("binary", "macro", "micro", "weighted")

# Which options each metric understands; any other given option is an error (not ignored).
_OPTIONS = {name: METRIC_PARAMS.get(name, frozenset()) for name in METRICS}
_LABEL_AVERAGED = ("precision", "recall", "f1")


@dataclass(frozen=True)
class Setup:
    """How one metric is computed on one label set: resolved once, applied to every slice
    (segments, folds) so that all of them use the same classes and positive class."""

    metric: str
    task: str
    classes: tuple = ()  # classification: every class (sorted)
    positive: Any = None  # two classes: the positive one
    average: str | None = None

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2

    def describe(self) -> dict:
        """JSON-safe summary for result details."""
        out: dict[str, Any] = {"sklearn": METRICS[self.metric].summary}
        if self.task == "classification":
            out["classes"] = [plain(c) for c in self.classes]
            if self.positive is not None:
                out["positive"] = plain(self.positive)
            if self.average is not None:
                out["average"] = self.average
        return out


def info(metric: str):
    if metric not in METRICS:
        raise CheckError(f"unknown metric `{metric}`")
    return METRICS[metric]


def needs_probabilities(metric: str) -> bool:
    return info(metric).task == "classification" and info(metric).needs_scores


def resolve(metric: str, y_true, params: tuple = (), classes=None) -> Setup:
    """Decide classes, positive class and averaging. `classes`: the model's classes when known
    (they take part so that a class the data lacks still counts)."""
    meta = info(metric)
    options = dict(params)
    if meta.task == "regression":
        if options:
            raise CheckError(f"{_names(options)} does not apply to the regression metric `{metric}`")
        return Setup(metric, "regression")
    unknown = set(options) - _OPTIONS[metric]
    if unknown:
        raise CheckError(f"{_names(unknown)} does not apply to `{metric}`")
    labels = class_set(y_true, classes)
    if len(labels) < 2:
        raise CheckError(f"`{metric}` needs at least two classes; the labels have only "
                         f"{_shown(labels) or 'none'}")
    average = options.get("average")
    positive = None
    uses_average = metric in _LABEL_AVERAGED or metric in ("auc", "pr_auc")
    uses_positive = uses_average or metric == "brier"
    if len(labels) == 2:
        if uses_average and average not in (None, "binary"):
            if metric in ("auc", "pr_auc"):
                raise CheckError(f"with two classes `{metric}` scores the positive class; "
                                 f"`average {average}` applies to more than two classes")
            if "positive" in options:
                raise CheckError(f"`positive` applies to `average binary`, not `average {average}`")
        elif uses_positive:
            positive = positive_class(labels, options.get("positive"), metric)
            average = "binary" if uses_average else None
    else:
        if "positive" in options:
            raise CheckError(f"`positive` applies to two-class labels; these have {len(labels)} classes "
                             f"({_shown(labels)})")
        if average == "binary":
            raise CheckError(f"`average binary` needs two classes; these have {len(labels)} ({_shown(labels)}); "
                             "use `average macro`, `micro` or `weighted`")
        if uses_average and average is None:
            average = "macro"
    return Setup(metric, "classification", tuple(labels), positive, average)


def class_set(y_true, classes=None) -> list:
    """Every class: the model's classes together with the label values (sorted)."""
    import numpy as np

    parts = [np.asarray(y_true).ravel()]
    if classes is not None:
        parts.append(np.asarray(classes).ravel())
    try:
        values = np.concatenate([p.astype(object) for p in parts])
        return sorted(set(values.tolist()), key=_sort_key)
    except TypeError as error:
        raise CheckError(f"the labels mix types that cannot be compared: {error}") from error


def positive_class(labels: list, wanted: Any, metric: str) -> Any:
    """The positive class among two labels (see the module docstring)."""
    import numpy as np

    if wanted is not None:
        for label in labels:
            if _same(label, wanted):
                return label
        raise CheckError(f"`positive {wanted}` is not one of the classes ({_shown(labels)})")
    if all(isinstance(c, (bool, int, float, np.number, np.bool_)) for c in labels):
        return labels[-1]
    raise CheckError(f"`{metric}` needs to know the positive class; the labels are {_shown(labels)}: "
                     f"add e.g. `positive {plain(labels[-1])}` to the check")


def score(setup: Setup, y_true, y_pred=None, proba=None, proba_classes=None) -> float:
    """The metric, computed by scikit-learn. Label metrics take `y_pred`; probability metrics
    take `proba` (rows × classes) with `proba_classes` naming its columns."""
    import numpy as np
    from sklearn import metrics as skm

    y_true = np.asarray(y_true)
    if len(y_true) == 0:
        raise CheckError(f"`{setup.metric}` has no rows to score")
    function = getattr(skm, METRICS[setup.metric].sklearn)
    m = setup.metric
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = _call(function, setup, y_true, y_pred, proba, proba_classes)
    if math.isnan(value):
        said = next((str(w.message) for w in caught if "UndefinedMetric" in type(w.message).__name__
                     or "undefined" in str(w.message).lower()), None)
        raise CheckError(f"{m} is undefined on these rows" + (f": {said}" if said else ""))
    return value


def _call(function, setup: Setup, y_true, y_pred, proba, proba_classes) -> float:
    m = setup.metric
    try:
        if setup.task == "regression" or m in ("accuracy", "balanced_accuracy"):
            value = function(y_true, _labels_like(y_pred, y_true))
        elif m in _LABEL_AVERAGED:
            kwargs: dict[str, Any] = {"average": setup.average, "zero_division": 0}
            if setup.average == "binary":
                kwargs["pos_label"] = setup.positive
            else:
                kwargs["labels"] = list(setup.classes)
            value = function(y_true, _labels_like(y_pred, y_true), **kwargs)
        else:
            matrix = probability_matrix(proba, proba_classes, setup)
            _require_known_classes(y_true, proba_classes)
            value = _probability_metric(function, setup, y_true, matrix)
    except CheckError:
        raise
    except ValueError as error:
        raise CheckError(f"{m}: {error}") from error
    return float(value)


def _probability_metric(function, setup: Setup, y_true, matrix) -> float:
    """auc, pr_auc, logloss, brier on a probability matrix whose columns are setup.classes."""
    m, classes = setup.metric, list(setup.classes)
    if m == "logloss":
        return function(y_true, matrix, labels=classes)
    if setup.binary:
        column = matrix[:, classes.index(setup.positive)]
        if m == "auc":
            return function(is_positive(y_true, setup.positive), column)
        return function(y_true, column, pos_label=setup.positive)
    if m == "auc":
        return function(y_true, matrix, multi_class="ovr", average=setup.average, labels=classes)
    if m == "pr_auc":
        present = sorted(set(y_true.tolist()), key=_sort_key)
        if present != classes:
            raise CheckError("pr_auc on more than two classes needs every class in the labels; "
                             f"missing: {_shown([c for c in classes if c not in present])}")
        return function(y_true, matrix, average=setup.average)
    return function(y_true, matrix, labels=classes)  # brier, multiclass


def _require_known_classes(y_true, proba_classes) -> None:
    import numpy as np

    if proba_classes is None:
        return
    known = {plain(c) for c in np.asarray(proba_classes).ravel().tolist()}
    labels = np.asarray(y_true).tolist()
    try:
        labels = set(labels)  # each distinct label once: plain() per row cost ~0.6 s per 1M rows
    except TypeError:  # an unhashable label: plain() makes it a string
        pass
    unknown = sorted({plain(v) for v in labels} - known, key=_sort_key)
    if unknown:
        raise CheckError(f"the labels hold classes the model gives no probability for: {_shown(unknown)}")


def probability_matrix(proba, proba_classes, setup: Setup) -> np.ndarray:
    """The model's probabilities with one column per class of `setup.classes`, in that order.
    A class the model does not know gets probability 0."""
    import numpy as np

    if proba is None:
        raise CheckError(f"`{setup.metric}` needs probabilities")
    matrix = np.asarray(proba, dtype=np.float64)
    classes = list(setup.classes)
    if matrix.ndim == 1:
        # One score per row: the probability of the second of the two sorted classes, as
        # scikit-learn's binary convention has it (classes_[1]; 1 of 0/1, True of False).
        if not setup.binary:
            raise CheckError(f"`{setup.metric}` on {len(classes)} classes needs one probability column per class; "
                             "the model gives one column")
        return np.column_stack([1.0 - matrix, matrix])
    if matrix.ndim != 2:
        raise CheckError(f"probabilities have shape {matrix.shape}; expected rows × classes")
    if proba_classes is None:
        if matrix.shape[1] != len(classes):
            raise CheckError(f"the model gives {matrix.shape[1]} probability columns but the labels have "
                             f"{len(classes)} classes ({_shown(classes)}); the model does not say which column "
                             "is which class")
        return matrix  # columns in the sorted order of the classes, as scikit-learn orders classes_
    model_classes = [c for c in np.asarray(proba_classes).ravel().tolist()]
    if len(model_classes) != matrix.shape[1]:
        raise CheckError(f"the model names {len(model_classes)} classes but gives {matrix.shape[1]} probability columns")
    return _reorder(matrix, model_classes, classes)


def _reorder(matrix: np.ndarray, have: list, want: list) -> np.ndarray:
    import numpy as np

    out = np.zeros((matrix.shape[0], len(want)), dtype=np.float64)
    for j, label in enumerate(have):
        match = [i for i, c in enumerate(want) if _same(c, label)]
        if not match:
            raise CheckError(f"the model's class {plain(label)!r} is not among the classes {_shown(want)}")
        out[:, match[0]] = matrix[:, j]
    return out


def is_positive(y_true, positive) -> np.ndarray:
    """Boolean mask of the rows whose label is the positive class."""
    import numpy as np

    mask = np.asarray(y_true == positive)
    if mask.shape != np.shape(y_true):  # numpy could not compare elementwise
        mask = np.array([_same(v, positive) for v in np.asarray(y_true).tolist()], dtype=bool)
    return mask.astype(bool)


def _labels_like(y_pred, y_true) -> np.ndarray:
    import numpy as np

    if y_pred is None:
        raise CheckError("predictions are missing")
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2 and y_pred.shape[1] == 1:
        y_pred = y_pred.ravel()
    if y_pred.shape != np.asarray(y_true).shape:
        raise CheckError(f"the model gave {y_pred.shape[0] if y_pred.ndim else 0} predictions for "
                         f"{len(y_true)} rows")
    return y_pred


# ---- small helpers ---------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """A JSON-safe Python scalar."""
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _same(a: Any, b: Any) -> bool:
    """Label equality across the types a contract and a dataset may use (1 and "1", True and true)."""
    a, b = plain(a), plain(b)
    if isinstance(a, (bool, int, float)) and isinstance(b, (bool, int, float)):
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a).lower() == str(b).lower()
    return str(a) == str(b)


def _sort_key(value: Any):
    value = plain(value)
    if isinstance(value, (bool, int, float)):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def _shown(labels) -> str:
    labels = list(labels)
    text = ", ".join(repr(plain(c)) for c in labels[:6])
    return text + (" …" if len(labels) > 6 else "")


def _names(options) -> str:
    names = sorted(options)
    return " and ".join(f"`{n}`" for n in names)
