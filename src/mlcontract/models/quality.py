"""Model-quality measures: holdout metrics, naive baselines, cross-validation, training curves.

The resolver (resolve/measures.py, resolve/curves.py) builds these measures from contract lines. Each measure lists the
requests it needs; the requests are computed outside the data scans by the handlers at the
end of this module (model calls, sklearn.dummy fits, cross-validation, history files), and the
planner deduplicates them: accuracy, f1 and auc of one model on one dataset call the model once
(`predict` once for the label metrics, `predict_proba` once for the probability metrics).

Metrics are computed by scikit-learn (metrics.py); histories are read by history.py. The exact
semantics are in docs/model-quality.md. Heavy libraries (numpy, sklearn, pandas) are imported
inside functions: the checker imports this module at compile time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import CheckError, DataError, ModelError
from ..escape import printable
from ..plan import requests as rq
from ..plan.measures import Measure
from ..plan.observation import Observation, fetch
from ..report.formatting import fmt
from .metrics import METRICS

if TYPE_CHECKING:
    from ..engines.base import Inputs

# The sklearn.dummy strategies a `baseline STRATEGY` names, and the task each serves.
BASELINE_STRATEGIES = {
    "most_frequent": "classification",
    "prior": "classification",
    "stratified": "classification",
    "uniform": "classification",
    "mean": "regression",
    "median": "regression",
}

# The options of a training-curve trend check.
TREND_OPTIONS = frozenset({"last", "tolerance"})


# ---- requests: the model and history work the measures need ----------------------------------
@dataclass(frozen=True)
class Truth(rq.Request):
    """The label column of a dataset."""

    data: str

    def describe(self) -> str:
        return f"labels of {self.data}"


@dataclass(frozen=True)
class Predictions(rq.Request):
    """`model.predict(features of data)`: one call, shared by every label metric."""

    model: str
    data: str

    def describe(self) -> str:
        return f"{self.model}.predict({self.data})"


@dataclass(frozen=True)
class Probabilities(rq.Request):
    """`model.predict_proba(features of data)`: one call, shared by every probability metric."""

    model: str
    data: str

    def describe(self) -> str:
        return f"{self.model}.predict_proba({self.data})"


@dataclass(frozen=True)
class SegmentRows(rq.Request):
    """The row indices of each value of a column (segments for `by COLUMN`)."""

    data: str
    by: str

    def describe(self) -> str:
        return f"segments of {self.data} by {self.by}"


@dataclass(frozen=True)
class BaselineFit(rq.Request):
    """A sklearn.dummy model fitted on `fit_on`'s labels, predicting for `data`."""

    strategy: str
    fit_on: str
    data: str

    def describe(self) -> str:
        return f"baseline {self.strategy} (sklearn.dummy, fitted on {self.fit_on}) on {self.data}"


@dataclass(frozen=True)
class CrossValidation(rq.Request):
    """Per-fold scores of a metric, refitting clones of the model's estimator."""

    model: str
    data: str
    metric: str
    params: tuple
    folds: int
    seed: int

    def describe(self) -> str:
        return f"cross_validate({self.model} on {self.data}: {self.metric}, {self.folds} folds, seed {self.seed})"


@dataclass(frozen=True)
class HistoryData(rq.Request):
    """A training history, read once."""

    history: str

    def describe(self) -> str:
        return f"history {self.history}"


@dataclass
class Predicted:
    values: Any  # numpy array, one prediction per row
    classes: Any = None  # the model's classes when it names them


@dataclass
class Proba:
    matrix: Any  # rows × classes (or one column: the positive class)
    classes: Any = None


@dataclass
class BaselineOutput:
    predicted: Predicted
    proba: Proba | None


@dataclass
class Segments:
    column: str
    keys: list  # JSON-safe segment values (None for null)
    rows: list  # numpy index arrays, one per key


# ---- measures ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelMetric(Measure):
    """`auc on holdout`, `candidate f1 on holdout average macro`, `auc on holdout by country`."""

    metric: str
    model: str
    data: str
    params: tuple = ()
    segment: str | None = None
    min_rows: int = 30

    def _output_request(self) -> rq.Request:
        from_proba = METRICS[self.metric].task == "classification" and METRICS[self.metric].needs_scores
        return (Probabilities if from_proba else Predictions)(self.model, self.data)

    def requests(self):
        needed: tuple[rq.Request, ...] = (Truth(self.data), self._output_request())
        if self.segment is not None:
            needed += (SegmentRows(self.data, self.segment),)
        return needed

    def compute(self, got):
        from . import metrics

        y_true = fetch(got, Truth(self.data))
        output = fetch(got, self._output_request())
        pred, proba, classes = _unpack(output)
        if pred is not None and output.classes is None and METRICS[self.metric].task == "classification":
            from .loaded import check_labels_known

            # The model names no classes: its labels must be values of the label column.
            check_labels_known(self.model, pred, y_true)
        setup = metrics.resolve(self.metric, y_true, self.params, classes)
        details = {"model": self.model, "dataset": self.data, "rows": int(len(y_true)), **setup.describe()}
        if self.segment is None:
            value = metrics.score(setup, y_true, pred, proba, classes)
            return Observation(value, details={**details, **_plot(self.model, setup, y_true, pred, proba, classes)})
        segments = fetch(got, SegmentRows(self.data, self.segment))
        return _segmented(self.metric, setup, segments, self.min_rows, y_true, pred, proba, classes, details)


@dataclass(frozen=True)
class CrossValidated(Measure):
    """`cv auc on training with 5 folds [seed 1]` (mean over folds) and `cv auc std ...`."""

    metric: str
    model: str
    data: str
    params: tuple = ()
    folds: int = 5
    seed: int = 0
    aggregate: str = "mean"  # mean | std

    def _request(self) -> CrossValidation:
        return CrossValidation(self.model, self.data, self.metric, self.params, self.folds, self.seed)

    def requests(self):
        return (self._request(),)

    def compute(self, got):
        import numpy as np

        result = fetch(got, self._request())
        scores = np.asarray(result["scores"], dtype=float)
        mean, std = float(scores.mean()), float(scores.std())
        value = mean if self.aggregate == "mean" else std
        fixed = result["setup"].get("early_stopping")
        return Observation(
            value,
            message=f"{self.folds} folds: mean {_number(mean)}, std {_number(std)}" + (f"; {fixed}" if fixed else ""),
            details={"model": self.model, "dataset": self.data, "folds": [float(s) for s in scores], "mean": mean,
                     "std": std, "splitter": result["splitter"], **result["setup"]},
        )


@dataclass(frozen=True)
class BaselineMetric(Measure):
    """`baseline most_frequent` on the right of `accuracy on holdout > baseline most_frequent`."""

    strategy: str
    metric: str
    fit_on: str
    data: str
    params: tuple = ()

    def requests(self):
        return (Truth(self.data), BaselineFit(self.strategy, self.fit_on, self.data))

    def compute(self, got):
        from . import metrics

        y_true = fetch(got, Truth(self.data))
        output = fetch(got, BaselineFit(self.strategy, self.fit_on, self.data))
        source = output.proba if metrics.needs_probabilities(self.metric) else output.predicted
        pred, proba, classes = _unpack(source)
        setup = metrics.resolve(self.metric, y_true, self.params, classes)
        value = metrics.score(setup, y_true, pred, proba, classes)
        return Observation(value, details={"strategy": self.strategy, "fitted_on": self.fit_on, "dataset": self.data,
                                           **setup.describe(),
                                           **_plot(f"baseline {self.strategy}", setup, y_true, pred, proba, classes)})


@dataclass(frozen=True)
class CurveValue(Measure):
    """`val_loss <= 0.5`: a curve's value at the last epoch."""

    history: str
    column: str

    def requests(self):
        return (HistoryData(self.history),)

    def compute(self, got):
        history = fetch(got, HistoryData(self.history))
        epochs, values, _ = history.curve(self.column, last=1)
        from ..report import plotdata

        plot = plotdata.curve(self.column, history.epochs, history.curves[self.column])
        return Observation(float(values[-1]), details={"history": self.history, "curve": self.column,
                                                       "epoch": _plain(epochs[-1]), "epochs": len(history), "plot": plot})


@dataclass(frozen=True)
class CurveTrend(Measure):
    """`val_loss not increasing [up to best epoch] [over last N epochs] [tolerance T]` and its
    three siblings.

    Running-best semantics (docs/model-quality.md): for `not increasing`, every epoch j of the
    window satisfies  v[j] - min(v[i] for i < j in the window) <= T; `decreasing` is the strict
    form (< T); `not decreasing` / `increasing` mirror them with the running maximum. A relative
    tolerance (`tolerance 2%`, `relative`) allows T times the running best's value instead.
    `up to best epoch` ends the curve at early stopping's best round (History.best_row) before
    the window is taken. The observed value is the largest excursion against the claim
    (positive = it went the wrong way), as a share of the running best when relative.
    """

    verdict: ClassVar[bool] = True
    history: str
    column: str
    direction: str  # increasing | decreasing
    negated: bool
    last: int | None = None
    tolerance: float = 0.0
    relative: bool = False
    up_to_best: bool = False

    @property
    def claim(self) -> str:
        return ("not " if self.negated else "") + self.direction

    def requests(self):
        return (HistoryData(self.history),)

    def compute(self, got):
        history = fetch(got, HistoryData(self.history))
        extra: dict[str, Any] = {"history": self.history, "window": self.last}
        best = None
        if self.up_to_best:
            # the claims that forbid rises (`not increasing`, `decreasing`) are about losses: best is lowest
            best, source = history.best_row(self.column, lowest=(self.direction == "increasing") == self.negated)
            extra.update({"best_epoch": _plain(history.epochs[best]), "best_row": best, "best_from": source})
        epochs, values, offset = history.curve(self.column, self.last, until=best)
        if len(values) < 2:
            upto = f" up to its best epoch ({extra['best_from']})" if best is not None else ""
            raise CheckError(f"`{self.column} {self.claim}` needs at least two epochs; history `{self.history}` "
                             f"has {len(values)}{upto}")
        observation = trend(self.column, self.claim, epochs, values, self.tolerance, offset, extra, self.relative)
        if best is not None:
            from dataclasses import replace

            observation = replace(observation, message=f"{observation.message}; up to best epoch "
                                                       f"{_plain(history.epochs[best])} (from {extra['best_from']})")
        from ..report import plotdata  # the whole curve, the window and the epoch where the claim broke

        observation.details["plot"] = plotdata.curve(
            self.column, history.epochs, history.curves[self.column], observation.details["violation_epoch"],
            _plain(epochs[0]) if self.last is not None or best is not None else None)
        return observation


def trend(column: str, claim: str, epochs, values, tolerance: float, offset: int = 0, extra: dict | None = None,
          relative: bool = False):
    """Evaluate a trend claim on a curve (see CurveTrend). With `relative`, `tolerance` is a
    share of the running best value, which needs a curve of positive values."""
    import numpy as np

    negated = claim.startswith("not ")
    direction = claim.split()[-1]
    # sign +1: the claim forbids rises (`not increasing`, `decreasing`); -1: it forbids falls.
    sign = 1.0 if (direction == "increasing") == negated else -1.0
    strict = not negated
    values = np.asarray(values, dtype=float)
    if relative and not (values > 0).all():
        k = int(np.flatnonzero(values <= 0)[0])
        raise CheckError(f"a relative tolerance (`tolerance {_percent(tolerance)}`) is a share of the best value so far, "
                         f"so it needs a curve of positive values; `{column}` is {_number(values[k])} at epoch "
                         f"{_plain(epochs[k])}: write the allowed change as an absolute number "
                         f"(`tolerance {_number(tolerance)}` means {_number(tolerance)} in the curve's units)")
    w = sign * values
    n = len(w)
    excursions = np.empty(n - 1)
    best_rows = np.empty(n - 1, dtype=np.int64)
    best = 0
    for j in range(1, n):
        excursions[j - 1] = w[j] - w[best]
        best_rows[j - 1] = best
        if w[j] < w[best]:
            best = j
    # what the tolerance bounds: the excursion itself, or its share of the running best's value
    scores = excursions / values[best_rows] if relative else excursions
    bad = scores >= tolerance if strict else scores > tolerance
    worst = int(np.argmax(scores))
    rose, above, lowest = ("rose", "above", "lowest") if sign > 0 else ("fell", "below", "highest")
    show = _percent if relative else _number
    allowed = f"{_percent(tolerance)} of it" if relative else _number(tolerance)

    def at(k):
        return f"{_number(values[k])} at epoch {_plain(epochs[k])}"

    first = int(np.flatnonzero(bad)[0]) if bad.any() else None
    details = {
        # The value is the largest excursion (a share of the running best with a relative
        # tolerance): the report shows its epoch beside it.
        "observed": f"largest {'rise above the lowest' if sign > 0 else 'fall below the highest'} earlier value"
                    f"{', as a share of that value' if relative else ''} (negative: every epoch improved)",
        "observed_at": f"epoch {_plain(epochs[worst + 1])}",
        "curve": column,
        **(extra or {}),
        "claim": claim,
        "tolerance": float(tolerance),
        "tolerance_kind": "relative" if relative else "absolute",
        "epochs": int(n),
        "from_epoch": _plain(epochs[0]),
        "last_epoch": _plain(epochs[-1]),
        "last_value": float(values[-1]),
        "largest_excursion": float(excursions[worst]),
        "largest_excursion_epoch": _plain(epochs[worst + 1]),
        "violations": int(bad.sum()),
        "violation_epoch": None if first is None else _plain(epochs[first + 1]),
        "violation_row": None if first is None else int(offset + first + 1),
    }
    if relative:
        details["largest_relative_excursion"] = float(scores[worst])
        details["observed_unit"] = "%"
    if first is None:
        if strict and tolerance:
            head = f"{column} stayed less than {allowed} {above} its {lowest} earlier value"
        elif strict:
            head = f"{column} kept {'falling below its lowest' if sign > 0 else 'rising above its highest'} earlier value"
        else:
            limit = f"more than {allowed} " if tolerance else ""
            head = f"{column} never {rose} {limit}{above} its {lowest} earlier value"
        amount, where = scores[worst], _plain(epochs[worst + 1])
        # The observed value is this largest excursion: say so, also when it is negative or 0.
        largest = f"largest {'rise' if sign > 0 else 'fall'} {show(amount)} at epoch {where}"
        if amount < 0:
            note = f"{largest}: every epoch {'fell below the lowest' if sign > 0 else 'rose above the highest'} " \
                   f"before it, by at least {show(-amount)}"
        elif amount == 0:
            note = f"{largest}: no change"
        else:
            note = largest
        message = f"{head} over epochs {_plain(epochs[0])}–{_plain(epochs[-1])} ({note}); last {at(n - 1)}"
        return Observation(float(scores[worst]), True, message, details)
    j, b = worst + 1, int(best_rows[worst])
    amount = excursions[worst]
    if amount > 0:
        share = f" ({_percent(scores[worst])})" if relative else ""
        event = f"{rose} to {at(j)}, {_number(amount)}{share} {above} its {lowest} earlier value {at(b)}"
    else:
        event = f"did not {'fall' if sign > 0 else 'rise'} at epoch {_plain(epochs[j])}: {_number(values[j])} after its " \
                f"{lowest} earlier value {at(b)}"
    message = f"{column} {event} (tolerance {allowed})"
    if first != worst:
        message += f"; first at epoch {_plain(epochs[first + 1])}"
    if bad.sum() > 1:
        message += f"; {int(bad.sum())} epochs break `{claim}`"
    return Observation(float(scores[worst]), False, message, details)


# ---- the checker's entry points ----------------------------------------------------------------
def metric_measure(metric: str, model: str, dataset: str, params: tuple, segment: str | None, min_rows: int,
                   cv: bool, aggregate: str, folds: int, seed: int):
    if cv:
        return CrossValidated(metric, model, dataset, tuple(params), folds, seed, aggregate)
    return ModelMetric(metric, model, dataset, tuple(params), segment, min_rows)


def baseline_measure(strategy: str, metric: str, fit_on: str, dataset: str, params: tuple):
    return BaselineMetric(strategy, metric, fit_on, dataset, tuple(params))


def curve_measure(history: str, column: str):
    return CurveValue(history, column)


def trend_measure(history: str, column: str, direction: str, negated: bool, last: int | None, tolerance: float,
                  relative: bool = False, up_to_best: bool = False):
    return CurveTrend(history, column, direction, negated, last, float(tolerance), relative, up_to_best)


# ---- handlers: computed outside the data scans (models/handlers.py lists them) ----------------------
def truth(request: Truth, inputs: Inputs, got):
    return inputs.labels(request.data)


def predictions(request: Predictions, inputs: Inputs, got):
    model = inputs.model(request.model)
    features = inputs.features(request.data)
    # LoadedModel validates the output: one finite, non-null prediction per row (models/loaded.py).
    return Predicted(model.predict(features), model.classes)


def probabilities(request: Probabilities, inputs: Inputs, got):
    model = inputs.model(request.model)
    if not model.has_proba:
        raise ModelError(model.extra.get("no_probabilities")  # why, when its loader knows (an MLflow pyfunc model)
                         or f"model `{request.model}` has no predict_proba, so it gives no probabilities; "
                         "auc, pr_auc, logloss and brier need them")
    features = inputs.features(request.data)
    # LoadedModel validates the output: finite, in [0, 1], one column per class, rows summing to 1.
    matrix = model.predict_proba(features)
    return Proba(matrix, model.classes)  # classes read after the call: ONNX models learn them on the way


def segment_rows(request: SegmentRows, inputs: Inputs, got):
    import numpy as np
    import polars as pl

    frame = inputs.frame(request.data)
    if request.by not in frame.columns:
        raise DataError(f"column `{request.by}` is missing in dataset `{request.data}`")
    column = frame[request.by]
    if column.dtype.is_float():
        column = column.fill_nan(None)
    table = pl.DataFrame({"key": column}).with_row_index("row")
    groups = table.group_by("key", maintain_order=True).agg(pl.col("row"))
    keys = [_plain(k) for k in groups["key"].to_list()]
    rows = [np.asarray(r, dtype=np.int64) for r in groups["row"].to_list()]
    return Segments(request.by, keys, rows)


def baseline_fit(request: BaselineFit, inputs: Inputs, got):
    import numpy as np
    from sklearn.dummy import DummyClassifier, DummyRegressor

    y_fit = inputs.labels(request.fit_on)
    rows = inputs.frame(request.data).height
    if BASELINE_STRATEGIES[request.strategy] == "classification":
        dummy = DummyClassifier(strategy=request.strategy, random_state=0)
    else:
        dummy = DummyRegressor(strategy=request.strategy)
    # A dummy model ignores the features; it needs only as many rows as the data has.
    try:
        dummy.fit(np.zeros((len(y_fit), 1)), y_fit)
    except ValueError as error:
        raise CheckError(f"baseline {request.strategy}: cannot fit on {request.fit_on}'s labels: {error}") from error
    grid = np.zeros((rows, 1))
    classes = getattr(dummy, "classes_", None)
    predicted = Predicted(np.asarray(dummy.predict(grid)), classes)
    proba = Proba(np.asarray(dummy.predict_proba(grid), dtype=np.float64), classes) if classes is not None else None
    return BaselineOutput(predicted, proba)


def cross_validation(request: CrossValidation, inputs: Inputs, got):
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import KFold, StratifiedKFold, cross_validate

    from . import metrics

    model = inputs.model(request.model)
    if model.estimator is None:
        raise ModelError(f"cross-validation refits a clone of the model, but `{request.model}` is a {model.format} "
                         "model that cannot be refitted; it needs a scikit-learn estimator "
                         "(sklearn(...)/skops(...) files or an estimator passed through the API)")
    try:
        estimator = clone(model.estimator)
    except Exception as error:
        raise ModelError(f"cross-validation cannot clone `{request.model}` ({type(model.estimator).__name__}): "
                         f"{printable(error)}") from error
    from .early_stopping import fix_rounds

    early_stopping = fix_rounds(model.estimator, estimator, request.model)  # XGBoost / LightGBM: rounds fixed
    features, labels = inputs.features(request.data), inputs.labels(request.data)
    setup = metrics.resolve(request.metric, labels, request.params)
    classification = setup.task == "classification"
    splitter_type = StratifiedKFold if classification else KFold
    splitter = splitter_type(n_splits=request.folds, shuffle=True, random_state=request.seed)
    from_proba = metrics.needs_probabilities(request.metric)

    def scorer(fitted, X, y):
        from .loaded import checked_labels, checked_probabilities

        classes = getattr(fitted, "classes_", None)
        clone_call = "{} of a clone refitted by cross-validation"
        if from_proba:
            if not hasattr(fitted, "predict_proba"):
                raise ModelError(f"`{request.metric}` needs probabilities, but `{request.model}` has no predict_proba")
            proba = checked_probabilities(request.model, fitted.predict_proba(X), len(X), classes,
                                          clone_call.format("predict_proba"), index=X.index)
            return metrics.score(setup, y, proba=proba, proba_classes=classes)
        predicted = checked_labels(request.model, fitted.predict(X), len(X), classes, clone_call.format("predict"),
                                   index=X.index)
        return metrics.score(setup, y, y_pred=predicted)

    try:
        result = cross_validate(estimator, features, labels, cv=splitter, scoring=scorer, error_score="raise")
    except CheckError:
        raise
    except ValueError as error:
        raise CheckError(f"cross-validation of `{request.model}` on {request.data}: {printable(error)}") from error
    except Exception as error:
        raise ModelError(f"cross-validation of `{request.model}` on {request.data} raised "
                         f"{type(error).__name__}: {printable(error)}") from error
    return {
        "scores": np.asarray(result["test_score"], dtype=float),
        "splitter": f"{splitter_type.__name__}(n_splits={request.folds}, shuffle=True, random_state={request.seed})",
        "setup": {**setup.describe(), **({"early_stopping": early_stopping} if early_stopping else {})},
    }


def history(request: HistoryData, inputs: Inputs, got):
    return inputs.history(request.history)


# ---- helpers -------------------------------------------------------------------------------------
def _plot(name: str, setup, y_true, pred, proba, classes) -> dict:
    """{"plot": ...} of one model's outputs, or {} when there is nothing to draw or the run draws
    no plots (plotdata.wanted: each costs passes over every row): ROC and PR curves from two
    classes' probabilities, a confusion matrix from labels (at most 20 classes), residuals for
    a regressor (report/plotdata.py)."""
    from ..report import plotdata

    if not plotdata.wanted():
        return {}
    try:
        plot = _outputs_plot(name, setup, y_true, pred, proba, classes)
    except Exception:  # noqa: BLE001 - a picture that cannot be drawn never changes a verdict
        return {}
    return {"plot": plot} if plot else {}


def _outputs_plot(name: str, setup, y_true, pred, proba, classes) -> dict | None:
    import numpy as np

    from ..report import plotdata
    from . import metrics

    if setup.task != "classification":
        return plotdata.residuals(name, y_true, pred) if pred is not None else None
    if proba is not None:
        if not setup.binary or setup.positive is None:
            return None  # multiclass probabilities: no single curve to draw
        from sklearn.metrics import precision_recall_curve, roc_curve

        matrix = metrics.probability_matrix(proba, classes, setup)
        score = matrix[:, list(setup.classes).index(setup.positive)]
        truth = metrics.is_positive(y_true, setup.positive)
        if truth.all() or not truth.any():
            return None  # one class only: no curve to draw
        fpr, tpr, _ = roc_curve(truth, score)
        precision, recall, _ = precision_recall_curve(truth, score)
        return plotdata.roc(name, metrics.plain(setup.positive), fpr, tpr, recall[::-1], precision[::-1])
    labels = list(setup.classes)
    if pred is None or len(labels) > 20:
        return None
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(np.asarray(y_true), np.asarray(pred).ravel(), labels=labels)
    return plotdata.confusion(name, [metrics.plain(c) for c in labels], matrix)


def _unpack(output) -> tuple:
    """(labels, probabilities, classes) from a Predicted or a Proba."""
    if isinstance(output, Proba):
        return None, output.matrix, output.classes
    classes = output.classes if output.classes is not None else output.values
    return output.values, None, classes


def _segmented(metric: str, setup, segments: Segments, min_rows: int, y_true, pred, proba, classes, details: dict):
    from . import metrics

    scored, skipped = [], []
    for key, rows in zip(segments.keys, segments.rows):
        if len(rows) < min_rows:
            skipped.append({"segment": key, "rows": int(len(rows)), "reason": f"fewer than {min_rows} rows"})
            continue
        try:
            value = metrics.score(setup, y_true[rows], None if pred is None else pred[rows],
                                  None if proba is None else proba[rows], classes)
        except CheckError as error:
            skipped.append({"segment": key, "rows": int(len(rows)), "reason": str(error)})
            continue
        scored.append({"segment": key, "rows": int(len(rows)), "value": value})
    column = segments.column
    if not scored:
        largest = max((len(r) for r in segments.rows), default=0)
        undefined = [s for s in skipped if not s["reason"].startswith("fewer than")]
        if undefined:
            reasons = "; ".join(f"{_key_text(s['segment'])}: {s['reason']}" for s in undefined[:3])
            raise CheckError(f"`{metric}` could not be computed on any segment of {details['dataset']} by {column} "
                             f"with at least {min_rows} rows ({reasons})")
        raise CheckError(f"no segment of {details['dataset']} by {column} has at least {min_rows} rows "
                         f"(the largest has {largest}); lower `min_rows`")
    higher = METRICS[metric].higher_is_better
    ranked = sorted(scored, key=lambda s: s["value"], reverse=not higher)  # worst first
    worst = ranked[0]
    shown = ", ".join(f"{column}={_key_text(s['segment'])} {_number(s['value'])} ({s['rows']:,} rows)" for s in ranked[:3])
    message = f"worst of {len(ranked)} segments: {shown}"
    small = sum(1 for s in skipped if s["reason"].startswith("fewer than"))
    if small:
        message += f"; {small} with fewer than {min_rows} rows skipped"
    undefined = [s for s in skipped if not s["reason"].startswith("fewer than")]
    if undefined:
        message += f"; `{metric}` undefined on " + ", ".join(_key_text(s["segment"]) for s in undefined[:3])
    from ..report import plotdata

    return Observation(worst["value"], message=message, details={
        **details, "by": column, "min_rows": min_rows, "worst_segment": worst["segment"],
        "segments": ranked, "skipped": skipped, "plot": plotdata.segments(column, ranked),
    })


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _key_text(key: Any) -> str:
    return "null" if key is None else str(key)


def _number(value: float) -> str:
    return fmt(float(value))


def _percent(share: float) -> str:
    return f"{float(share) * 100:.4g}%"
