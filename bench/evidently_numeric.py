"""Evidently's DataDriftPreset on the numeric columns only (ks and wasserstein do not apply to
categorical columns, and peers/peer_evidently.py passes every column). Same timing as the peer.

usage: /tmp/peer/bin/python bench/evidently_numeric.py DATA_DIR ks|wasserstein|psi
"""
import sys
import time

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

folder, method = sys.argv[1], sys.argv[2]
ref = pd.read_parquet(f"{folder}/ref.parquet")
cur = pd.read_parquet(f"{folder}/cur.parquet")
numeric = [c for c in ref.columns if c.startswith("num")]
ref, cur = ref[numeric], cur[numeric]
definition = DataDefinition(numerical_columns=numeric, categorical_columns=[])
started = time.perf_counter()
report = Report([DataDriftPreset(method=method)])
snapshot = report.run(Dataset.from_pandas(cur, data_definition=definition),
                      Dataset.from_pandas(ref, data_definition=definition))
snapshot.dict()
print(f"evidently {method} (numeric columns): {time.perf_counter() - started:.2f}s")
