"""Regenerate the demo's bundled data (deterministic): python contracts/data/make_demo_data.py

Writes train.parquet and production.parquet (a customer table, production slightly older and
with a new subscription plan) and ../runs/history.csv (a healthy training run).
"""
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).parent


def customers(n: int, seed: int, age_shift: float = 0.0, new_plan_share: float = 0.0) -> pl.DataFrame:
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
        "churned": (rng.random(n) < 0.25).astype(np.int64),
    }, nan_to_null=True)
    return frame


def main() -> None:
    customers(3000, 11).write_parquet(HERE / "train.parquet")
    customers(2000, 12, age_shift=2.0, new_plan_share=0.004).drop("churned").write_parquet(HERE / "production.parquet")
    epochs = np.arange(1, 16)
    pl.DataFrame({
        "epoch": epochs,
        "train_loss": (0.38 + 0.30 * np.exp(-0.3 * epochs)).round(5),
        "val_loss": (0.42 + 0.28 * np.exp(-0.25 * epochs)).round(5),
    }).write_csv(HERE.parent / "runs" / "history.csv")


if __name__ == "__main__":
    main()
