"""Values of requests that are not kernel types (the kernels' NumericSummary is the other): what
an engine computes, a statistic family reads and a profile serves, with the merge that lets a
dataset be processed batch by batch. A leaf: imports nothing of mlcontract."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class CountsResult:
    """Value counts of one column: distinct non-null (non-NaN) keys, their counts, nulls, rows."""

    keys: np.ndarray
    counts: np.ndarray
    nulls: int
    rows: int

    @property
    def values(self) -> dict:
        return dict(zip(self.keys.tolist(), self.counts.tolist()))

    def merge(self, other: CountsResult) -> CountsResult:
        merged: dict = self.values
        for key, count in zip(other.keys.tolist(), other.counts.tolist()):
            merged[key] = merged.get(key, 0) + count
        keys = list(merged)
        return CountsResult(key_array(keys), np.array([merged[k] for k in keys], dtype=np.int64),
                            self.nulls + other.nulls, self.rows + other.rows)

    @staticmethod
    def empty() -> CountsResult:
        return CountsResult(np.array([], dtype=object), np.array([], dtype=np.int64), 0, 0)


def key_array(keys: list) -> np.ndarray:
    """The keys as a NumPy object array (np.array would turn a list of tuples into a 2-D array)."""
    array = np.empty(len(keys), dtype=object)
    array[:] = keys
    return array


@dataclass
class PassCounts:
    """How many present values of a column pass a value test (`matches`, `is FORMAT`), out of
    how many, with a few that do not (for the report)."""

    passing: int
    present: int
    failing_examples: tuple = ()

    EXAMPLES = 5

    def merge(self, other: PassCounts) -> PassCounts:
        examples = tuple(dict.fromkeys(self.failing_examples + other.failing_examples))[:self.EXAMPLES]
        return PassCounts(self.passing + other.passing, self.present + other.present, examples)

    @staticmethod
    def empty() -> PassCounts:
        return PassCounts(0, 0)
