"""`onnx("models/model.onnx")`: an ONNX graph run by onnxruntime on the CPU; no code runs while
loading. A DataFrame is fed one input per column (skl2onnx's ColumnTransformer convention) or
as one matrix; labels and probabilities are read from the outputs, and the class labels from
the graph when it stores them."""
from __future__ import annotations

from typing import Any

from .base import SourceKind

# onnxruntime input types and the NumPy dtype a column is fed as.
_ONNX_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
}


# ONNX files are protobuf ModelProto messages: field 1 (ir_version, a small varint) first, then
# the next field present among producer_name … opset_import (protobuf writes fields in order).
_ONNX_NEXT_FIELDS = frozenset({0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42})


def recognise(path, head: bytes) -> str | None:
    if len(head) > 2 and head[0] == 0x08 and 3 <= head[1] <= 15 and head[2] in _ONNX_NEXT_FIELDS:
        return "an ONNX model"
    return None


def load(source, grants=None):
    return load_file(source.name, source.location)


def load_file(name: str, location: str):
    """The LoadedModel of an ONNX file (also MLflow's onnx flavor)."""
    from ..errors import ModelError
    from ..escape import printable
    from ..models.loaded import LoadedModel
    from .files import model_file

    path = model_file(name, location, "onnx")
    try:
        import onnxruntime as ort
    except ImportError as error:
        raise ModelError("onnx models need onnxruntime: pip install 'mlcontract[onnx]'") from error
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:
        raise ModelError(f"model `{name}`: cannot load {printable(path.name)}: {printable(error)}") from error
    runner = _OnnxRunner(name, session)
    model = LoadedModel(name, "onnx", runner.predict, runner.predict_proba if runner.has_proba else None,
                        classes=_onnx_classes(path), extra={"inputs": [i.name for i in session.get_inputs()]})
    runner.loaded = model
    return model


def _onnx_classes(path) -> Any:
    """The class labels a converted classifier stores in its graph (skl2onnx writes them on the
    classifier and ZipMap nodes), or None when the graph does not say."""
    import numpy as np

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
        self.loaded: Any = None  # the LoadedModel, told the classes a ZipMap output names

    def _feed(self, frame) -> dict:
        import numpy as np

        from ..errors import ModelError

        if len(self.inputs) == 1 and self.inputs[0].name not in frame.columns:
            spec = self.inputs[0]
            matrix = frame.to_numpy(dtype=_ONNX_TYPES.get(spec.type, "float32"))
            return {spec.name: matrix}
        feed = {}
        for spec in self.inputs:
            if spec.name not in frame.columns:
                raise ModelError(f"model `{self.name}` needs input `{spec.name}`, which the dataset lacks")
            column = frame[spec.name].to_numpy()
            if spec.type == "tensor(string)":
                column = np.array(["" if _missing(v) else str(v) for v in column], dtype=object)
            else:
                column = column.astype(_ONNX_TYPES.get(spec.type, "float32"))
            feed[spec.name] = column.reshape(-1, 1)
        return feed

    def _run(self, frame):
        return self.session.run(None, self._feed(frame))

    def predict(self, frame):
        import numpy as np

        return np.asarray(self._run(frame)[0]).reshape(-1)

    def predict_proba(self, frame):
        """The probabilities in the precision the graph computed them (float32, usually): the
        validation's tolerance depends on it."""
        import numpy as np

        probabilities = self._run(frame)[1]
        if isinstance(probabilities, list) and probabilities and isinstance(probabilities[0], dict):
            keys = list(probabilities[0].keys())
            if self.loaded is not None and self.loaded.classes is None:
                self.loaded.classes = np.asarray(keys)
            return np.array([[row[k] for k in keys] for row in probabilities], dtype=np.float32)
        return np.asarray(probabilities)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


KINDS = (
    SourceKind("onnx", "model", summary="an ONNX graph, run by onnxruntime on the CPU; no code runs while loading",
               example="models/model.onnx", rank=30, load=load, recognise=recognise, file_type="an ONNX"),
)
