"""Small churn-like data and real scikit-learn pipelines for the serving tests."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

NUMERIC = ["age", "income", "tenure"]
CATEGORICAL = ["plan", "country"]
FEATURES = NUMERIC + CATEGORICAL


def frame(n: int = 400, seed: int = 0, nulls: bool = True) -> pd.DataFrame:
    """customer_id, age (a few NaN), income, tenure (int), plan, country, churned."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(42, 12, n), 18, 95).round()
    if nulls:
        age[rng.random(n) < 0.03] = np.nan
    income = rng.lognormal(10.5, 0.5, n)
    tenure = rng.integers(0, 120, n).astype(np.int64)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    country = rng.choice(["US", "DE", "FR"], n, p=[0.5, 0.3, 0.2])
    logit = (-0.04 * (np.nan_to_num(age, nan=42) - 42) - 0.02 * (tenure - 60) + np.where(plan == "basic", 0.9, -0.3)
             - 0.5 * (np.log(income) - 10.5))
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return pd.DataFrame({"customer_id": np.arange(n), "age": age, "income": income, "tenure": tenure, "plan": plan,
                         "country": country, "churned": churned})


def fit(model, data: pd.DataFrame):
    return model.fit(data[FEATURES], data["churned"])


def onehot_pipeline(handle_unknown: str = "ignore"):
    """Imputed, scaled numbers and one-hot categories into a logistic regression."""
    return make_pipeline(
        ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
            ("cat", OneHotEncoder(handle_unknown=handle_unknown), CATEGORICAL),
        ]),
        LogisticRegression(max_iter=1000),
    )


def no_imputer_pipeline():
    """LogisticRegression fed raw numbers: it cannot take a NaN."""
    return make_pipeline(
        ColumnTransformer([
            ("num", StandardScaler(), NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ]),
        LogisticRegression(max_iter=1000),
    )


def hgb_pipeline():
    """HistGradientBoostingClassifier handles missing values natively."""
    return make_pipeline(
        ColumnTransformer([
            ("num", "passthrough", NUMERIC),
            ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                   encoded_missing_value=-1), CATEGORICAL),
        ]),
        HistGradientBoostingClassifier(max_iter=30, random_state=0),
    )
