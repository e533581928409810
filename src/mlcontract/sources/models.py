"""Loading declared model files: `sklearn("x.joblib" | "x.pkl")` — joblib/pickle, which EXECUTES
CODE while loading, so it needs the invocation's consent (`--allow-pickle`, grants.py);
`skops("x.skops")` — safe loading, trusting only the types the contract lists, and only types
of the safe modules (`SAFE_SKOPS_MODULES`) without that consent; `onnx("x.onnx")` —
onnxruntime; `http("http://...")` — a serving endpoint (sources/http.py). Each becomes a
models.loaded.LoadedModel, which validates every answer.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModelError
from ..escape import printable
from ..grants import PICKLE_GRANT, Grants
from ..models.loaded import LoadedModel, wrap_object

if TYPE_CHECKING:
    from ..resolve.contract import ModelSource

# skops types a contract may trust without `--allow-pickle`: those of these modules ...
SAFE_SKOPS_MODULES = ("sklearn", "numpy", "scipy")
# ... except their testing, build and foreign-code helpers (they run code or load libraries).
UNSAFE_SKOPS_PARTS = frozenset({"testing", "_testing", "tests", "conftest", "_pytesttester", "distutils", "f2py",
                                "ctypeslib", "_build_utils"})


def load_model(source: ModelSource, obj: Any = None, features: list[str] | None = None,
               grants: Grants | None = None) -> LoadedModel:
    """Load a declared model (or wrap an object passed through the API). `grants`: what the
    invocation allows (unpickling, hosts beyond loopback); the default allows nothing more."""
    grants = grants or Grants()
    if obj is not None:
        return wrap_object(source.name, obj)
    if source.format == "sklearn":
        return _load_joblib(source, grants)
    if source.format == "skops":
        return _load_skops(source, grants)
    if source.format == "onnx":
        return _load_onnx(source, features)
    if source.format == "http":
        from .http import http_model  # the HTTP client: only for http() models

        return http_model(source, grants)
    if source.format == "object":
        raise ModelError(f"model `{source.name}` was declared without a file; pass it to run(models=...)")
    raise ModelError(f"model `{source.name}`: unknown format {source.format}")


def _require_file(source: ModelSource):
    from pathlib import Path

    assert source.location is not None  # a model file's declaration names it
    path = Path(source.location)
    if not path.is_file():
        raise ModelError(f"model `{source.name}`: file not found: {printable(path)}")
    return path


def _load_joblib(source: ModelSource, grants: Grants) -> LoadedModel:
    path = _require_file(source)
    if not grants.pickle:
        raise ModelError(f"model `{source.name}`: loading {printable(path.name)} unpickles it, which runs any code the "
                         f"file holds; only the invocation can consent to that: {PICKLE_GRANT}. Better, save the "
                         "model with skops (skops(\"model.skops\")) or convert it to ONNX (onnx(\"model.onnx\")): "
                         "both load without running code")
    try:
        import joblib

        obj = joblib.load(path)  # executes code from the file: the invocation consented (--allow-pickle)
    except Exception as error:
        raise ModelError(f"model `{source.name}`: cannot load {printable(path.name)}: {type(error).__name__}: "
                         f"{printable(error)}") from error
    return wrap_object(source.name, obj)


def unsafe_skops_types(types) -> list[str]:
    """The type names that are not of a safe module (SAFE_SKOPS_MODULES, outside their testing
    and build helpers): trusting them needs `--allow-pickle`."""
    unsafe = []
    for name in types:
        parts = str(name).split(".")
        safe = len(parts) > 1 and parts[0] in SAFE_SKOPS_MODULES and not (set(parts[1:-1]) & UNSAFE_SKOPS_PARTS) \
            and all(part.isidentifier() for part in parts)
        if not safe:
            unsafe.append(str(name))
    return unsafe


def _load_skops(source: ModelSource, grants: Grants) -> LoadedModel:
    path = _require_file(source)
    try:
        import skops.io as sio
    except ImportError as error:
        raise ModelError("skops models need the skops package: pip install 'mlcontract[skops]'") from error
    trusted_text = dict(source.options).get("trusted", "")
    trusted = [t.strip() for t in str(trusted_text).split(",") if t.strip()]
    unsafe = unsafe_skops_types(trusted)
    if unsafe and not grants.pickle:
        raise ModelError(
            f"model `{source.name}`: trusted= names types outside the safe modules ({', '.join(SAFE_SKOPS_MODULES)}): "
            f"{printable(', '.join(unsafe))}; loading them can run any code, so only the invocation can consent: "
            f"{PICKLE_GRANT}")
    try:
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in trusted]
    except Exception as error:
        raise ModelError(f"model `{source.name}`: cannot read {printable(path.name)}: {printable(error)}") from error
    if untrusted:
        listed = printable(",".join(untrusted))
        consent = "" if grants.pickle or not unsafe_skops_types(untrusted) else \
            f" (types outside the safe modules also need {PICKLE_GRANT})"
        raise ModelError(
            f"model `{source.name}`: {printable(path.name)} contains types that are not trusted: "
            f"{printable(', '.join(untrusted))}; if you trust them, list them: "
            f"skops(\"{printable(path.name)}\", trusted=\"{listed}\"){consent}"
        )
    try:
        obj = sio.load(path, trusted=trusted or None)
    except Exception as error:
        raise ModelError(f"model `{source.name}`: cannot load {printable(path.name)}: {type(error).__name__}: "
                         f"{printable(error)}") from error
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
        raise ModelError(f"model `{source.name}`: cannot load {printable(path.name)}: {printable(error)}") from error
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
        """The probabilities in the precision the graph computed them (float32, usually): the
        validation's tolerance depends on it."""
        probabilities = self._run(frame)[1]
        if isinstance(probabilities, list) and probabilities and isinstance(probabilities[0], dict):
            keys = list(probabilities[0].keys())
            if self.loaded is not None and self.loaded.classes is None:
                self.loaded.classes = np.asarray(keys)
            return np.array([[row[k] for k in keys] for row in probabilities], dtype=np.float32)
        return np.asarray(probabilities)


_ONNX_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
}


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)
