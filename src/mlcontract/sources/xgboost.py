"""`xgboost("model.json")` / `xgboost("model.ubj")`: an XGBoost booster saved in its JSON or
UBJSON format (`Booster.save_model`, `XGBClassifier().save_model`). Safe: the model is parsed,
no code runs. The legacy binary format is refused (re-save it as .json or .ubj).

- Task from the saved objective: `binary:logistic` gives P(class 1), `multi:softprob` one
  probability per class; `binary:hinge` and `multi:softmax` give labels only; anything else
  (`reg:*`, `count:*`, `survival:*`, `rank:*`, `binary:logitraw`) gives values.
- Classes: the file stores class indices 0 … K-1; `classes="no,yes"` names them.
- Features are fed by name in the booster's order (a booster trained on a bare matrix takes the
  dataset's columns in order).
- Categorical features (feature type `c`): text columns become pandas categoricals and
  XGBoost re-codes them to the categories it stored at training (XGBoost >= 3.1 saves them in
  the model); unseen values and nulls are missing. A model with categorical features saved
  without its categories (older XGBoost) is refused: its category codes cannot be recovered.
- Predictions use the trees up to `best_iteration` when the booster was early-stopped, as
  XGBoost's scikit-learn wrapper does.
- `LoadedModel.extra`: `features`, `objective`, `categorical_features`, `best_iteration`, and
  `feature_importance` = {"weight": ..., "gain": ..., "cover": ...} per feature (0 for a
  feature no tree splits on).
"""
from __future__ import annotations

import json

from .base import SourceKind
from .boosters import CLASSES_OPTION

NAME = "xgboost"
_PROBABILITIES = ("binary:logistic", "multi:softprob")
_LABELS = ("binary:hinge", "multi:softmax")
_IMPORTANCE = ("weight", "gain", "cover")


def recognise(path, head: bytes) -> str | None:
    if head.lstrip().startswith(b"{") and b'"learner"' in head:
        return "an XGBoost JSON model"
    if head.startswith(b"{") and b"learner" in head[:64]:
        return "an XGBoost UBJSON model (.ubj)"
    return None


def load(source, grants=None):
    """The kind's loader: nothing runs, so no grant is needed."""
    return load_file(source.name, source.location, dict(source.options))


def load_file(name: str, location: str, options: dict):
    """Load the booster in an XGBoost JSON/UBJSON file (also MLflow's xgboost flavor)."""
    from ..errors import ModelError
    from ..escape import printable
    from . import boosters
    from .files import model_file

    path = model_file(name, location, NAME)
    with open(path, "rb") as file:
        first = file.read(64).lstrip()[:1]
    if first != b"{":
        raise ModelError(f"model `{name}`: {printable(path.name)} is not an XGBoost JSON or UBJSON model (the legacy "
                         "binary format is not read); re-save it with save_model(\"model.json\") or \"model.ubj\"")
    xgb = boosters.require_library("xgboost")
    try:
        booster = xgb.Booster(model_file=str(path))
    except Exception as error:
        raise boosters.loading_failed(name, path, error) from error
    return from_booster(name, booster, options)


def from_booster(name: str, booster, options: dict):
    """A LoadedModel over a loaded xgboost.Booster."""
    from ..errors import ModelError
    from . import boosters

    xgb = boosters.require_library("xgboost")
    learner = json.loads(booster.save_config())["learner"]
    objective = learner["objective"]["name"]
    count = booster.num_features()
    features = list(booster.feature_names) if booster.feature_names else None
    names = features or [f"f{i}" for i in range(count)]  # XGBoost's own names for unnamed features
    types = list(booster.feature_types or [])
    categorical = [n for n, t in zip(names, types) if t == "c"]
    if categorical and not _stores_categories(booster):
        raise ModelError(f"model `{name}` has categorical features ({', '.join(categorical[:8])}) but was saved "
                         "without its categories (XGBoost before 3.1), so text values cannot be mapped to the codes "
                         "it was trained on; re-save it with XGBoost >= 3.1")
    best = booster.attr("best_iteration")
    rounds = (0, int(best) + 1) if best is not None else (0, 0)  # (0, 0): every tree
    extra = {
        "features": names,
        "objective": objective,
        "categorical_features": categorical,
        "best_iteration": None if best is None else int(best),
        "feature_importance": {kind: _importance(booster, names, kind) for kind in _IMPORTANCE},
    }

    def predict(frame):
        chosen = boosters.feature_frame(name, frame, features, count)
        if features is None:
            data = xgb.DMatrix(chosen.to_numpy())
        else:
            data = xgb.DMatrix(boosters.strings_as_categories(chosen, categorical), enable_categorical=True)
        return booster.predict(data, iteration_range=rounds)

    classes_count = max(2, int(learner["learner_model_param"].get("num_class", "0") or 0))
    if objective in _PROBABILITIES:
        classes = boosters.class_labels(name, options, classes_count)
        return boosters.classifier(name, NAME, lambda frame: boosters.two_columns(predict(frame)), classes, extra)
    if objective in _LABELS:
        classes = boosters.class_labels(name, options, classes_count)
        extra["no_probabilities"] = (f"model `{name}` was trained with the objective {objective}, which predicts "
                                     "class labels only; auc, pr_auc, logloss and brier need probabilities "
                                     "(binary:logistic or multi:softprob)")
        return boosters.label_classifier(name, NAME, lambda frame: _labels(predict(frame), classes), classes, extra)
    boosters.no_classes_option(name, options, objective)
    return boosters.regressor(name, NAME, predict, extra)


def _labels(indices, classes):
    """Class labels for the class indices a `binary:hinge` / `multi:softmax` booster predicts;
    an index that is not one (NaN, out of range) is passed on for the validation to report."""
    import numpy as np

    values = np.asarray(indices)
    whole = np.isfinite(values).all() and (values == np.round(values)).all() and \
        ((values >= 0) & (values < len(classes))).all()
    return classes[values.astype(np.int64)] if whole else values


def _stores_categories(booster) -> bool:
    try:
        return not booster.get_categories().empty()
    except Exception:  # before XGBoost 3.1 there is no get_categories: no categories are stored
        return False


def _importance(booster, names: list[str], kind: str) -> dict[str, float]:
    try:
        scores = booster.get_score(importance_type=kind)
    except Exception:  # a linear booster has no tree importance
        return {}
    return {feature: float(scores.get(feature, 0.0)) for feature in names}


KINDS = (
    SourceKind(NAME, "model", summary="an XGBoost booster saved as JSON or UBJSON (save_model); no code runs while "
               "loading", example="models/model.json", options={"classes": CLASSES_OPTION}, rank=60, load=load,
               recognise=recognise, file_type="an XGBoost JSON/UBJSON model"),
)
