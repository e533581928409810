"""Rebuild everything the example contracts read (deterministic):

    python contracts/data/make_demo_data.py            # rewrites the bundled files under contracts/
    python contracts/data/make_demo_data.py --out DIR  # writes DIR/data, DIR/models, DIR/runs instead

The story: a churn model is retrained. `prod` is the model serving today (a random forest trained
last year), `candidate` the retrained model the demo accepts, `rejected` a retrained model the
gate must stop. Every model is a scikit-learn pipeline saved with skops, which loads without
running code from the file (no pickle consent needed).

data/train.parquet        3,000 customers with the label `churned` (the candidate's training data)
data/holdout.parquet      1,000 customers, labelled, never trained on (metrics are measured here)
data/production.parquet   2,000 customers production sent last week: two years older on average,
                          and 0.4% on a new plan, "enterprise", that training never saw
data/train_export.parquet the training data the rejected model was fitted on: the same customers
                          as train.parquet, but an export bug wrote `income` in thousands
models/prod.skops         last year's random forest (100 shallow trees), trained on last year's customers
models/candidate.skops    imputation, scaling, one-hot encoding (unseen categories ignored) and a
                          logistic model trained by SGD for 25 epochs on train.parquet
models/rejected.skops     AdaBoost, 150 rounds of depth-6 trees, on train_export.parquet, with a
                          one-hot encoder that raises on categories it never saw
runs/history.csv          the candidate's training run: log loss per epoch on the 80% it was
                          fitted on (train_loss) and on the 20% held out for validation (val_loss)
runs/rejected_history.csv the rejected model's run: its error rate on the fitted 80% and the
                          held-out 20% after each boosting round
"""
from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).parent
NUMERIC = ["age", "income", "tenure"]
CATEGORICAL = ["plan", "country"]
FEATURES = NUMERIC + CATEGORICAL
CANDIDATE_EPOCHS = 25
REJECTED_ROUNDS = 150
PROD_TREES = 100


def customers(n: int, seed: int, age_shift: float = 0.0, new_plan_share: float = 0.0) -> pl.DataFrame:
    """A customer table; `churned` depends on tenure, plan, income, age and country."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(41 + age_shift, 12, n), 18, 95).round()
    age[rng.random(n) < 0.02] = np.nan
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]).astype(object)
    plan[rng.random(n) < new_plan_share] = "enterprise"
    frame = pl.DataFrame({
        "customer_id": np.arange(n) + seed * 100_000,
        "age": age,
        "income": rng.lognormal(10.5, 0.5, n).round(2),
        "tenure": rng.gamma(2.0, 12.0, n).round(1),
        "plan": plan.tolist(),
        "country": rng.choice(["US", "DE", "FR", "IN", "BR"], n, p=[0.4, 0.2, 0.15, 0.15, 0.1]).tolist(),
    }, nan_to_null=True)
    return frame.with_columns(pl.Series("churned", churn(frame, np.random.default_rng(seed + 1_000))))


def churn(frame: pl.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Who churns: short tenure, the basic plan, low income, the young, and India and Brazil."""
    age = frame["age"].fill_null(41).to_numpy()
    plan = frame["plan"].to_numpy()
    country = frame["country"].to_numpy()
    logit = (-1.0 - 1.1 * (frame["tenure"].to_numpy() - 24) / 17
             - 0.6 * (frame["income"].to_numpy() - 41_000) / 22_000
             - 0.35 * (age - 41) / 12
             + 0.6 * (plan == "basic") - 0.5 * (plan == "pro")
             + 0.4 * np.isin(country, ["IN", "BR"]))
    return (rng.random(len(frame)) < 1 / (1 + np.exp(-logit))).astype(np.int64)


def split(frame: pl.DataFrame):
    return frame.select(FEATURES).to_pandas(), frame["churned"].to_numpy()


def preprocess(handle_unknown: str = "ignore"):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
        ("categorical", OneHotEncoder(handle_unknown=handle_unknown), CATEGORICAL),
    ])


def log_losses(model, parts) -> list[float]:
    from sklearn.metrics import log_loss

    return [round(float(log_loss(y, model.predict_proba(X), labels=[0, 1])), 5) for X, y in parts]


def train_candidate(train: pl.DataFrame):
    """SGD on the logistic loss, epoch by epoch, recording the loss on the fitted 80% and the
    held-out 20%: the pipeline shipped is the one the history describes."""
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import Pipeline

    shuffled = train.sample(fraction=1.0, shuffle=True, seed=7)
    cut = int(len(shuffled) * 0.8)
    (X_fit, y_fit), (X_val, y_val) = split(shuffled[:cut]), split(shuffled[cut:])
    prep = preprocess().fit(X_fit)
    Z_fit, Z_val = prep.transform(X_fit), prep.transform(X_val)
    classifier = SGDClassifier(loss="log_loss", alpha=1e-3, learning_rate="invscaling", eta0=0.05, power_t=0.5,
                               max_iter=CANDIDATE_EPOCHS, tol=None, average=True, random_state=0)
    rng = np.random.default_rng(0)
    rows = []
    for epoch in range(1, CANDIDATE_EPOCHS + 1):
        order = rng.permutation(len(y_fit))
        classifier.partial_fit(Z_fit[order], y_fit[order], classes=[0, 1])
        train_loss, val_loss = log_losses(classifier, [(Z_fit, y_fit), (Z_val, y_val)])
        rows.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss})
    return Pipeline([("preprocess", prep), ("classifier", classifier)]), pl.DataFrame(rows)


def train_prod(last_year: pl.DataFrame):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline

    X, y = split(last_year)
    forest = RandomForestClassifier(n_estimators=PROD_TREES, max_depth=5, min_samples_leaf=10, random_state=0)
    return Pipeline([("preprocess", preprocess()), ("classifier", forest)]).fit(X, y)


def train_rejected(export: pl.DataFrame):
    """Trees boosted for too many rounds, on the export with `income` in thousands; its encoder
    raises on unseen categories. The history is its error rate after each round."""
    from sklearn.ensemble import AdaBoostClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.tree import DecisionTreeClassifier

    shuffled = export.sample(fraction=1.0, shuffle=True, seed=7)
    cut = int(len(shuffled) * 0.8)
    (X_fit, y_fit), (X_val, y_val) = split(shuffled[:cut]), split(shuffled[cut:])
    booster = AdaBoostClassifier(DecisionTreeClassifier(max_depth=6, random_state=0), n_estimators=REJECTED_ROUNDS,
                                 learning_rate=1.0, random_state=0)
    model = Pipeline([("preprocess", preprocess(handle_unknown="error")), ("classifier", booster)]).fit(X_fit, y_fit)
    prep = model.named_steps["preprocess"]
    Z_fit, Z_val = prep.transform(X_fit), prep.transform(X_val)
    # AdaBoost fits the error rate, not a probability: its run log is the error after each round.
    curves = zip(booster.staged_predict(Z_fit), booster.staged_predict(Z_val))
    rows = [{"epoch": epoch, "train_error": round(float(np.mean(p_fit != y_fit)), 5),
             "val_error": round(float(np.mean(p_val != y_val)), 5)}
            for epoch, (p_fit, p_val) in enumerate(curves, start=1)]
    return model, pl.DataFrame(rows)


def build(out: Path) -> None:
    import skops.io as sio

    for folder in ("data", "models", "runs"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    train = customers(3000, 11)
    holdout = customers(1000, 13)
    production = customers(2000, 12, age_shift=2.0, new_plan_share=0.004).drop("churned")
    last_year = customers(3000, 10, age_shift=-1.0)
    export = train.with_columns((pl.col("income") / 1000).round(5))
    train.write_parquet(out / "data" / "train.parquet")
    holdout.write_parquet(out / "data" / "holdout.parquet")
    production.write_parquet(out / "data" / "production.parquet")
    export.write_parquet(out / "data" / "train_export.parquet")

    candidate, history = train_candidate(train)
    rejected, rejected_history = train_rejected(export)
    for name, model in (("candidate", candidate), ("prod", train_prod(last_year)), ("rejected", rejected)):
        sio.dump(model, out / "models" / f"{name}.skops", compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    history.write_csv(out / "runs" / "history.csv")
    rejected_history.write_csv(out / "runs" / "rejected_history.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE.parent, help="folder to write data/, models/, runs/ into")
    build(parser.parse_args().out)


if __name__ == "__main__":
    main()
