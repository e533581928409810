"""What the native gradient-boosting kinds (lightgbm.py, xgboost.py, catboost.py) share: the
`classes=` option, importing their library, feeding the dataset's columns by the booster's
feature names, naming the classes, and building the LoadedModel.

A helper of the model kinds (no kind of its own). Light at import: NumPy, pandas and the
libraries load inside the functions.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .base import OptionType

# The `classes=` option of lightgbm(...) and xgboost(...): their files store class indices
# (0 … K-1), not the labels a model was trained on.
CLASSES_OPTION = OptionType(
    'a comma-separated string of the class labels in the booster\'s class order, e.g. "no,yes"',
    lambda value: isinstance(value, str) and bool(value.strip()),
)
EXTRA = "boosters"  # pip install 'mlcontract[boosters]'


def require_library(module: str, extra: str = EXTRA):
    """Import a booster library, or a ModelError naming the extra that installs it."""
    import importlib

    from ..errors import ModelError

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ModelError(f"{module} models need the {module} package: pip install 'mlcontract[{extra}]'") from error


def class_labels(name: str, options: dict, count: int):
    """The labels of a classifier's `count` classes: the `classes=` option, or 0 … count-1.
    Labels written as whole numbers are integers (the label column's `0,1`), others strings."""
    import numpy as np

    from ..errors import ModelError

    written = options.get("classes")
    if written is None:
        return np.arange(count)
    labels = [part.strip() for part in str(written).split(",")]
    if any(not label for label in labels) or len(set(labels)) != len(labels):
        raise ModelError(f"model `{name}`: classes= must list distinct, non-empty labels")
    if len(labels) != count:
        raise ModelError(f"model `{name}`: classes= names {len(labels)} classes, but the booster has {count}")
    if all(re.fullmatch(r"[+-]?\d+", label) for label in labels):
        return np.asarray([int(label) for label in labels])
    return np.asarray(labels, dtype=object)


def no_classes_option(name: str, options: dict, objective: str) -> None:
    from ..errors import ModelError

    if "classes" in options:
        raise ModelError(f"model `{name}`: classes= is for classifiers; this booster's objective is {objective}")


def feature_frame(name: str, frame, features: list[str] | None, count: int):
    """The columns the booster was trained on, by name and in its order (extra columns are
    left out). A booster without feature names (trained on a bare matrix) takes the dataset's
    columns in their order, and then there must be exactly as many."""
    from ..errors import ModelError
    from ..escape import printable

    if features is None:
        if frame.shape[1] != count:
            raise ModelError(f"model `{name}` was trained on {count} unnamed features, but the dataset gives "
                             f"{frame.shape[1]} columns; without feature names the columns are fed in order, so "
                             "they must match one to one")
        return frame
    missing = [feature for feature in features if feature not in frame.columns]
    if missing:
        shown = ", ".join(f"`{printable(f, 80)}`" for f in missing[:8]) + (" …" if len(missing) > 8 else "")
        raise ModelError(f"model `{name}` needs feature{'s' if len(missing) > 1 else ''} {shown}, which the dataset "
                         f"lacks (the booster was trained on {len(features)} features)")
    return frame[features]


def strings_as_categories(frame, columns=None):
    """Text (and other non-numeric) columns as pandas categoricals: how LightGBM and XGBoost
    take categorical features. The library maps the values to the categories it stored when
    it was trained (values it never saw become missing)."""
    import pandas as pd
    from pandas.api import types

    chosen = list(frame.columns if columns is None else columns)
    convert = [c for c in chosen if not (types.is_numeric_dtype(frame[c].dtype) or types.is_bool_dtype(frame[c].dtype)
                                         or isinstance(frame[c].dtype, pd.CategoricalDtype))]
    if not convert:
        return frame
    frame = frame.copy()
    for column in convert:
        frame[column] = frame[column].astype("category")
    return frame


def importance(features: list[str], values) -> dict[str, float]:
    return {feature: float(value) for feature, value in zip(features, values)}


def classifier(name: str, kind: str, probabilities: Callable[[Any], Any], classes, extra: dict):
    """A LoadedModel giving probabilities (rows × classes, columns in the order of `classes`);
    its labels are the most probable class, read from the same answer (so NaN probabilities are
    an invalid output, never a label)."""
    from ..models.loaded import wrap_object

    model = wrap_object(name, {"predict_proba": probabilities, "classes": classes})
    model.format = kind
    model.extra.update(extra)
    return model


def label_classifier(name: str, kind: str, labels: Callable[[Any], Any], classes, extra: dict):
    """A LoadedModel of a classifier that gives labels only (no probabilities)."""
    import numpy as np

    from ..models.loaded import LoadedModel

    return LoadedModel(name, kind, labels, None, np.asarray(classes), extra=dict(extra))


def regressor(name: str, kind: str, values: Callable[[Any], Any], extra: dict):
    from ..models.loaded import LoadedModel

    return LoadedModel(name, kind, values, extra=dict(extra))


def two_columns(probability):
    """A binary booster's P(second class) as the two columns [1 - p, p] (what the libraries'
    scikit-learn wrappers return from predict_proba), in the precision the booster computed
    them (XGBoost: float32; the validation's tolerance follows it)."""
    import numpy as np

    p = np.asarray(probability)
    return np.column_stack([1 - p, p]) if p.ndim == 1 else p


def loading_failed(name: str, path, error: BaseException):
    """The ModelError of a library that could not load a model file."""
    from ..errors import ModelError
    from ..escape import printable

    return ModelError(f"model `{name}`: cannot load {printable(path.name)}: {type(error).__name__}: {printable(error)}")
