"""Cross-validating models built with early stopping (docs/model-quality.md, "Cross-validation").

XGBoost and LightGBM stop early on a validation set given to `fit` (`eval_set`), which
cross-validation cannot give a clone: an XGBoost clone with `early_stopping_rounds` raises "Must
have at least 1 validation dataset", and a LightGBM clone, whose early-stopping callback was a
`fit` argument, silently trains all `n_estimators` rounds. So the clone's number of rounds is
**fixed at the best iteration the fitted model chose** and its early stopping is switched off:
each fold trains exactly as many rounds as the candidate kept. scikit-learn's own early stopping
(`HistGradientBoosting*(early_stopping=True)`, `GradientBoosting*(n_iter_no_change=...)`,
`MLP*(early_stopping=True)`) happens inside `fit` on a validation split of the training fold: it
is left as it is, so each fold gets its own validation split.

Knows nothing of contracts; imports neither library (the estimator's class module says which).
"""
from __future__ import annotations

from typing import Any

from ..errors import ModelError

# LightGBM's names for the number of patience rounds (its parameter aliases).
_LIGHTGBM_PATIENCE = ("early_stopping_round", "early_stopping_rounds", "early_stopping", "n_iter_no_change")


def fix_rounds(fitted: Any, clone: Any, model: str) -> str | None:
    """Set `clone` (an unfitted clone of `fitted`) to train the rounds `fitted` kept, with early
    stopping off, when `fitted` (or the last step of its Pipeline) is an XGBoost or LightGBM model
    built with early stopping. Returns what was done, in words, or None when nothing was."""
    prefix, booster = _final_step(fitted)
    library = type(booster).__module__.split(".")[0]
    if library == "xgboost":
        return _xgboost(booster, clone, prefix, model)
    if library == "lightgbm":
        return _lightgbm(booster, clone, prefix, model)
    return None


def _final_step(estimator: Any, prefix: str = "") -> tuple[str, Any]:
    """(the `set_params` prefix, the estimator) of the last step of nested Pipelines."""
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps and isinstance(steps[-1], tuple) and len(steps[-1]) == 2:
        name, step = steps[-1]
        return _final_step(step, f"{prefix}{name}__")
    return prefix, estimator


def _xgboost(booster: Any, clone: Any, prefix: str, model: str) -> str | None:
    params = booster.get_params()
    callbacks = [c for c in (params.get("callbacks") or []) if type(c).__name__ == "EarlyStopping"]
    if params.get("early_stopping_rounds") is None and not callbacks:
        return None
    try:
        best = int(booster.best_iteration)  # counts from 0
    except (AttributeError, ValueError, TypeError):
        raise ModelError(f"`{model}` is an XGBoost model built with early stopping, but it records no best iteration "
                         "(is it fitted, with an eval_set?); cross-validation fixes each fold's number of rounds at "
                         "the fitted model's best_iteration + 1") from None
    settings: dict[str, Any] = {f"{prefix}n_estimators": best + 1, f"{prefix}early_stopping_rounds": None}
    if callbacks:
        settings[f"{prefix}callbacks"] = [c for c in params["callbacks"] if c not in callbacks] or None
    clone.set_params(**settings)
    return f"XGBoost early stopping off; n_estimators fixed at best_iteration + 1 = {best + 1}"


def _lightgbm(booster: Any, clone: Any, prefix: str, model: str) -> str | None:
    try:
        best = int(booster.best_iteration_)  # counts from 1; 0 without early stopping
    except Exception:  # noqa: BLE001 - LightGBM's own not-fitted error: nothing to fix from
        best = 0
    params = booster.get_params()
    patience = {key: None for key in _LIGHTGBM_PATIENCE if params.get(key) is not None}
    if best <= 0 and not patience:
        return None
    if best <= 0:
        raise ModelError(f"`{model}` is a LightGBM model built with early stopping, but it records no best iteration "
                         "(is it fitted, with an eval_set?); cross-validation fixes each fold's number of rounds at "
                         "the fitted model's best_iteration_")
    clone.set_params(**{f"{prefix}n_estimators": best, **{f"{prefix}{k}": v for k, v in patience.items()}})
    return f"LightGBM early stopping off; n_estimators fixed at best_iteration_ = {best}"
