"""What one serving call gives (models.loaded.LoadedModel validates it). Its own light module:
the http() source kind subclasses it, and source kinds are imported whenever a contract
compiles, so nothing here may import NumPy."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Answer:
    """What one serving call gives: labels (or values) and, when the model sends them,
    probabilities (an HTTP answer carries both; so does a predict derived from predict_proba)."""

    labels: Any
    probabilities: Any = None
