"""`sklearn("models/model.joblib")` (or `.pkl`): a scikit-learn model saved with joblib or
pickle. Loading a pickle EXECUTES CODE from the file, so it needs the invocation's consent
(`--allow-pickle`, grants.py); skops(...) and onnx(...) load without running code."""
from __future__ import annotations

from .base import SourceKind


def load(source, grants):
    from ..errors import ModelError
    from ..escape import printable
    from ..grants import PICKLE_GRANT
    from ..models.loaded import wrap_object
    from .files import model_file

    path = model_file(source.name, source.location, "sklearn")
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


KINDS = (
    SourceKind("sklearn", "model", summary="a scikit-learn model saved with joblib or pickle (needs --allow-pickle)",
               example="models/model.joblib", rank=10, load=load, file_type="a pickle/joblib"),
)
