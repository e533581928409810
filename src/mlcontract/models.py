"""Loading models and calling them the same way whatever their format.

Formats: `sklearn("x.joblib" | "x.pkl")` — joblib/pickle, which EXECUTES CODE while loading:
only for files you trust; `skops("x.skops")` — safe loading, only the types the contract
lists as trusted; `onnx("x.onnx")` — onnxruntime; `http("http://...")` — a serving endpoint
(httpmodel.py); and through the API any fitted estimator or a predict callable.

A model is fed the dataset's columns minus the label and the ignored columns, as a pandas
DataFrame with the column names kept (what scikit-learn pipelines with ColumnTransformer expect).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .contract import ModelSource
from .errors import ModelError


@dataclass
class LoadedModel:
    """A uniform face over every model kind."""

    name: str
    kind: str
    predict_fn: Callable[[Any], Any]
    proba_fn: Callable[[Any], Any] | None = None
    classes: np.ndarray | None = None
    estimator: Any = None  # the fitted sklearn object when there is one (cross-validation clones it)
    extra: dict = field(default_factory=dict)

    def predict(self, features) -> np.ndarray:
        """Labels (classifiers) or values (regressors), one per row."""
        return self._call(self.predict_fn, features, "predict")

    def predict_proba(self, features) -> np.ndarray:
        """Class probabilities, shape (rows, classes), columns in the order of `classes`."""
        if self.proba_fn is None:
            raise ModelError(f"model `{self.name}` gives no probabilities (it has no predict_proba)")
        return self._call(self.proba_fn, features, "predict_proba")

    @property
    def has_proba(self) -> bool:
        return self.proba_fn is not None

    def _call(self, function, features, what: str) -> np.ndarray:
        try:
            output = function(features)
        except ModelError:
            raise
        except Exception as error:
            raise ModelError(f"model `{self.name}` raised in {what}: {type(error).__name__}: {error}") from error
        return np.asarray(output)


def load_model(source: ModelSource, obj: Any = None, features: list[str] | None = None) -> LoadedModel:
    """Load a declared model (or wrap an object passed through the API)."""
    if obj is not None:
        return wrap_object(source.name, obj)
    if source.kind == "sklearn":
        return _load_joblib(source)
    if source.kind == "skops":
        return _load_skops(source)
    if source.kind == "onnx":
        return _load_onnx(source, features)
    if source.kind == "http":
        from .httpmodel import http_model

        return http_model(source)
    if source.kind == "object":
        raise ModelError(f"model `{source.name}` was declared without a file; pass it to run(models=...)")
    raise ModelError(f"model `{source.name}`: unknown kind {source.kind}")


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
            return _classes[np.asarray(_proba(features)).argmax(axis=1)]

    return LoadedModel(name, "callable", predict, proba, classes)


def _require_file(source: ModelSource):
    from pathlib import Path

    path = Path(source.location)
    if not path.is_file():
        raise ModelError(f"model `{source.name}`: file not found: {path}")
    return path


def _load_joblib(source: ModelSource) -> LoadedModel:
    path = _require_file(source)
    try:
        import joblib

        obj = joblib.load(path)  # executes code from the file: documented, trusted files only
    except Exception as error:
        raise ModelError(f"model `{source.name}`: cannot load {path.name}: {type(error).__name__}: {error}") from error
    return wrap_object(source.name, obj)


def _load_skops(source: ModelSource) -> LoadedModel:
    path = _require_file(source)
    try:
        import skops.io as sio
    except ImportError as error:
        raise ModelError("skops models need the skops package: pip install 'mlcontract[skops]'") from error
    trusted_text = dict(source.options).get("trusted", "")
    trusted = [t.strip() for t in str(trusted_text).split(",") if t.strip()]
    try:
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in trusted]
    except Exception as error:
        raise ModelError(f"model `{source.name}`: cannot read {path.name}: {error}") from error
    if untrusted:
        raise ModelError(
            f"model `{source.name}`: {path.name} contains types that are not trusted: {', '.join(untrusted)}; "
            f"if you trust them, list them: skops(\"{path.name}\", trusted=\"{','.join(untrusted)}\")"
        )
    try:
        obj = sio.load(path, trusted=trusted or None)
    except Exception as error:
        raise ModelError(f"model `{source.name}`: cannot load {path.name}: {type(error).__name__}: {error}") from error
    return wrap_object(source.name, obj)


def _load_onnx(source: ModelSource, features: list[str] | None) -> LoadedModel:
    path = _require_file(source)
    try:
        import onnxruntime as ort
    except ImportError as error:
        raise ModelError("onnx models need onnxruntime: pip install 'mlcontract[onnx]'") from error
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:
        raise ModelError(f"model `{source.name}`: cannot load {path.name}: {error}") from error
    runner = _OnnxRunner(source.name, session)
    model = LoadedModel(source.name, "onnx", runner.predict, runner.predict_proba if runner.has_proba else None,
                        classes=_onnx_classes(path), extra={"inputs": [i.name for i in session.get_inputs()]})
    runner.loaded = model
    return model


def _onnx_classes(path) -> np.ndarray | None:
    """The class labels a converted classifier stores in its graph (skl2onnx writes them on the
    classifier and ZipMap nodes), or None when the graph does not say."""
    try:
        import onnx

        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception:
        return None
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.name in ("classlabels_int64s", "classlabels_ints") and attribute.ints:
                return np.asarray(list(attribute.ints), dtype=np.int64)
            if attribute.name == "classlabels_strings" and attribute.strings:
                return np.asarray([s.decode("utf-8") for s in attribute.strings], dtype=object)
    return None


class _OnnxRunner:
    """Feeds a DataFrame to an ONNX graph: one input per column (skl2onnx's ColumnTransformer
    convention) or one float matrix; reads labels and probabilities from the outputs."""

    def __init__(self, name: str, session):
        self.name = name
        self.session = session
        self.inputs = session.get_inputs()
        self.outputs = [o.name for o in session.get_outputs()]
        self.has_proba = len(self.outputs) > 1
        self.loaded: LoadedModel | None = None

    def _feed(self, frame) -> dict:
        if len(self.inputs) == 1 and self.inputs[0].name not in frame.columns:
            spec = self.inputs[0]
            matrix = frame.to_numpy(dtype=_ONNX_TYPES.get(spec.type, np.float32))
            return {spec.name: matrix}
        feed = {}
        for spec in self.inputs:
            if spec.name not in frame.columns:
                raise ModelError(f"model `{self.name}` needs input `{spec.name}`, which the dataset lacks")
            column = frame[spec.name].to_numpy()
            if spec.type == "tensor(string)":
                column = np.array(["" if _missing(v) else str(v) for v in column], dtype=object)
            else:
                column = column.astype(_ONNX_TYPES.get(spec.type, np.float32))
            feed[spec.name] = column.reshape(-1, 1)
        return feed

    def _run(self, frame):
        return self.session.run(None, self._feed(frame))

    def predict(self, frame):
        return np.asarray(self._run(frame)[0]).reshape(-1)

    def predict_proba(self, frame):
        probabilities = self._run(frame)[1]
        if isinstance(probabilities, list) and probabilities and isinstance(probabilities[0], dict):
            keys = list(probabilities[0].keys())
            if self.loaded is not None and self.loaded.classes is None:
                self.loaded.classes = np.asarray(keys)
            return np.array([[row[k] for k in keys] for row in probabilities], dtype=np.float64)
        return np.asarray(probabilities, dtype=np.float64)


_ONNX_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
}


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)
