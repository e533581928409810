"""`lightgbm("model.txt")`: a LightGBM booster saved as text (`Booster.save_model`,
`LGBMClassifier().booster_.save_model`). Safe: the text is parsed, no code runs.

- Task from the file's `objective=` line: `binary` gives P(class 1), `multiclass` one
  probability per class (`multiclassova` too, whose probabilities need not sum to 1: an invalid
  output); anything else (regression, poisson, quantile, ranking, ...) gives values.
- Classes: the file stores class indices 0 … K-1; `classes="no,yes"` names them.
- Features are fed by name in the booster's order (LightGBM writes a name's whitespace as `_`:
  `monthly charges` is found as `monthly_charges`); a booster trained on a bare matrix
  (`Column_0`, ...) takes the dataset's columns in order.
- Categorical features: text columns become pandas categoricals, which LightGBM maps to the
  categories it stored at training (`pandas_categorical`, the end of the file); unseen values
  and nulls are missing. Integer-coded categoricals pass as numbers, as LightGBM takes them.
- Predictions use the booster's best iteration when the file has one (LightGBM's default).
- `LoadedModel.extra`: `features`, `objective`, `categorical_features`, and
  `feature_importance` = {"split": {feature: count}, "gain": {feature: total gain}}.
"""
from __future__ import annotations

import re

from .base import SourceKind
from .boosters import CLASSES_OPTION

NAME = "lightgbm"
_HEADER_LINES = 64
_CLASSIFICATION = ("binary", "multiclass", "multiclassova")


def recognise(path, head: bytes) -> str | None:
    return "a LightGBM text model" if head.startswith((b"tree\nversion=", b"tree\r\nversion=")) else None


def load(source, grants=None):
    """The kind's loader: nothing runs, so no grant is needed."""
    return load_file(source.name, source.location, dict(source.options))


def load_file(name: str, location: str, options: dict):
    """Load the booster in a LightGBM text file (also MLflow's lightgbm flavor, sources/mlflow.py)."""
    from ..errors import ModelError
    from ..escape import printable
    from . import boosters
    from .files import model_file

    path = model_file(name, location, NAME)
    header = _header(path)
    if "version" not in header:
        raise ModelError(f"model `{name}`: {printable(path.name)} is not a LightGBM text model (it does not start "
                         "with `tree` and `version=`); save it with Booster.save_model(\"model.txt\")")
    lgb = boosters.require_library("lightgbm")
    try:
        booster = lgb.Booster(model_file=str(path))
    except Exception as error:
        raise boosters.loading_failed(name, path, error) from error
    return from_booster(name, booster, options, header.get("objective", ""))


def from_booster(name: str, booster, options: dict, objective_line: str = "", classes=None):
    """A LoadedModel over a loaded lightgbm.Booster (also MLflow's lightgbm flavor; `classes`:
    the labels a scikit-learn wrapper knew, when the booster came from one)."""
    from . import boosters

    objective = (objective_line or str(booster.params.get("objective", ""))).split(" ")[0]
    names = list(booster.feature_name())
    features = None if names == [f"Column_{i}" for i in range(len(names))] else names
    categorical = [names[i] for i in _categorical_indices(booster) if i < len(names)]
    extra = {
        "features": names,
        "objective": objective,
        "categorical_features": categorical,
        "feature_importance": {kind: boosters.importance(names, booster.feature_importance(importance_type=kind))
                               for kind in ("split", "gain")},
    }

    def predict(frame):
        chosen = boosters.feature_frame(name, _named_like_lightgbm(frame, features), features, len(names))
        return booster.predict(boosters.strings_as_categories(chosen))

    if objective in _CLASSIFICATION:
        count = 2 if objective == "binary" else int(booster.params.get("num_class", booster.num_model_per_iteration()))
        classes = boosters.class_labels(name, options, count) if classes is None else classes
        return boosters.classifier(name, NAME, lambda frame: boosters.two_columns(predict(frame)), classes, extra)
    boosters.no_classes_option(name, options, objective or "not a classification")
    return boosters.regressor(name, NAME, predict, extra)


def _header(path) -> dict[str, str]:
    """The `key=value` lines a LightGBM text model starts with (after its first line, `tree`)."""
    header: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            if file.readline().strip() != "tree":
                return header
            for _ in range(_HEADER_LINES):
                line = file.readline().strip()
                if not line or "=" not in line:
                    break
                key, value = line.split("=", 1)
                header[key] = value
    except OSError:
        pass
    return header


def _categorical_indices(booster) -> list[int]:
    value = booster.params.get("categorical_feature", [])
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v.isdigit()]
    try:
        return [int(v) for v in value]
    except (TypeError, ValueError):
        return []


def _named_like_lightgbm(frame, features: list[str] | None):
    """The frame with a column renamed where LightGBM's name for it differs only by whitespace
    written as `_` (it does that to every feature name when it trains)."""
    if features is None:
        return frame
    renames = {}
    for feature in features:
        if feature in frame.columns:
            continue
        matches = [c for c in frame.columns if isinstance(c, str) and re.sub(r"\s", "_", c) == feature]
        if len(matches) == 1:
            renames[matches[0]] = feature
    return frame.rename(columns=renames) if renames else frame


KINDS = (
    SourceKind(NAME, "model", summary="a LightGBM booster saved as text (Booster.save_model); no code runs while loading",
               example="models/model.txt", options={"classes": CLASSES_OPTION}, rank=50, load=load,
               recognise=recognise, file_type="a LightGBM text model"),
)
