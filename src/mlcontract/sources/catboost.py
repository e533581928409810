"""`catboost("model.cbm")`: a CatBoost model in its binary format (`save_model("model.cbm")`).
Safe: the model is parsed, no code runs.

- Task from the saved loss function: `Logloss` / `CrossEntropy` give two class probabilities,
  `MultiClass` one per class (`MultiClassOneVsAll` too, whose probabilities need not sum to 1:
  an invalid output); anything else gives values (as `CatBoostRegressor.predict`: `Exponent`
  for Poisson and Tweedie).
- Classes: the labels the model was trained on, which CatBoost stores (strings or numbers).
- Features are fed by name in the model's order.
- Categorical features (the model's `cat_features`) are fed as text, as CatBoost takes them: a
  null becomes the string "nan" (what pandas' `astype(str)` writes), and a whole number that
  arrives as a float (an integer column with nulls) is written without ".0" ("3", not "3.0").
- `LoadedModel.extra`: `features`, `loss_function`, `categorical_features`, and
  `feature_importance` = {"prediction_values_change": {feature: importance}} (CatBoost's
  default importance; empty for ranking losses, which need data to compute it).
"""
from __future__ import annotations

from .base import SourceKind

NAME = "catboost"
_CLASSIFICATION = ("Logloss", "CrossEntropy", "MultiClass", "MultiClassOneVsAll")


def recognise(path, head: bytes) -> str | None:
    return "a CatBoost model (.cbm)" if head.startswith(b"CBM1") else None


def load(source, grants=None):
    """The kind's loader: nothing runs, so no grant is needed."""
    return load_file(source.name, source.location)


def load_file(name: str, location: str):
    """Load the model in a CatBoost .cbm file (also MLflow's catboost flavor)."""
    from ..errors import ModelError
    from ..escape import printable
    from . import boosters
    from .files import model_file

    path = model_file(name, location, NAME)
    with open(path, "rb") as file:
        if file.read(4) != b"CBM1":
            raise ModelError(f"model `{name}`: {printable(path.name)} is not a CatBoost binary model (.cbm files start "
                             "with CBM1); save it with save_model(\"model.cbm\")")
    catboost = boosters.require_library("catboost")
    try:
        probe = catboost.CatBoost().load_model(str(path))
        loss = str(probe.get_param("loss_function") or "").split(":")[0]
        model = (catboost.CatBoostClassifier if loss in _CLASSIFICATION else catboost.CatBoostRegressor)()
        model.load_model(str(path))
    except Exception as error:
        raise boosters.loading_failed(name, path, error) from error
    return from_model(name, model, loss)


def from_model(name: str, model, loss: str):
    """A LoadedModel over a loaded CatBoostClassifier / CatBoostRegressor."""
    import numpy as np

    from . import boosters

    features = list(model.feature_names_)
    categorical = [features[i] for i in model.get_cat_feature_indices()]
    extra = {
        "features": features,
        "loss_function": loss,
        "categorical_features": categorical,
        "feature_importance": {"prediction_values_change": _importance(model, features)},
    }

    def data(frame):
        chosen = boosters.feature_frame(name, frame, features, len(features))
        if not categorical:
            return chosen
        chosen = chosen.copy()
        for column in categorical:
            chosen[column] = [_category_text(v) for v in chosen[column].tolist()]
        return chosen

    if loss in _CLASSIFICATION:
        classes = np.asarray(model.classes_)
        return boosters.classifier(name, NAME, lambda frame: model.predict_proba(data(frame)), classes, extra)
    return boosters.regressor(name, NAME, lambda frame: model.predict(data(frame)), extra)


def _category_text(value) -> str | int:
    """A categorical value as CatBoost takes it (see the module's docstring)."""
    import math

    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return "nan"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


def _importance(model, features: list[str]) -> dict[str, float]:
    from . import boosters

    try:
        return boosters.importance(features, model.get_feature_importance())
    except Exception:  # ranking losses need a dataset to compute importance
        return {}


KINDS = (
    SourceKind(NAME, "model", summary="a CatBoost model in its binary format (.cbm); no code runs while loading",
               example="models/model.cbm", rank=70, load=load, recognise=recognise, file_type="a CatBoost .cbm"),
)
