"""The pictures behind a verdict, as data: `details["plot"]` of a check result.

Measures compute these where they compute their observation (the same bins, the same rows,
the same model outputs), so a report draws exactly what was judged. Each plot is a small
JSON-ready dict with a `kind`; the HTML report (report/formats/html.py) draws it, the JSON
results carry it. Sizes are bounded (ROC/PR curves ≤ 200 points, training curves ≤ 500,
categories ≤ 40 bars, latency histograms 40 bins), so a contract of a thousand checks still
makes a small report. docs/reports.md documents the schema for other consumers.

kind        what                                            fields
histogram   a numeric feature's bins (drift statistics)     edges[k], subject[k+1], reference[k+1] (counts;
                                                            bin 0 is (-inf, edges[0]), bin i [edges[i-1],
                                                            edges[i]), the last [edges[-1], +inf)),
                                                            subject_name, reference_name
categories  a categorical feature's levels                  levels[], subject[], reference[] (counts),
                                                            unseen[] (levels the reference has and the
                                                            subject never saw), other {levels, subject,
                                                            reference} (levels beyond the 40 shown),
                                                            subject_name, reference_name
roc         a classifier's ROC and precision-recall curves  positive, curves {model: {fpr[], tpr[],
                                                            recall[], precision[]}}; the curves of the
                                                            models named on the right (prod, a
                                                            baseline) join the check's own (evaluate)
confusion   a classifier's confusion matrices               classes[], matrices {model: [[count]]}
                                                            (row: true class, column: predicted)
residuals   a regressor's residual distribution             curves {model: {edges[], counts[]}}
                                                            (residual = prediction - label)
segments    a metric per segment (`by COLUMN`)              by, segments[], values[], rows[] (worst first)
curve       a training curve                                curve, epochs[], values[], broke_at (the first
                                                            epoch breaking the claim, or null),
                                                            window_from (first epoch of `over last N`)
latency     per-call latencies of the models timed together unit "s", edges[] (log-spaced), curves {model:
                                                            {counts[]}}, statistic (e.g. "p95"),
                                                            lines {model: value of the statistic}
row         a robustness case's offending input row         columns[], values[], highlight[] (the
                                                            feature the case altered), variant, mode
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# Whether the results of the run under way carry plots. A run for reports that show none
# (`mlc check` writing neither --json nor --html, `Contract.run(plots=False)`) leaves them out,
# and the costly ones are never computed: a holdout's ROC and PR curves sort its scores twice
# more (~0.4 s at 1M rows), confusion matrices and residual histograms pass over every row.
# No verdict and no reported number depends on a plot.
_WANTED: ContextVar[bool] = ContextVar("mlcontract_plots", default=True)


def wanted() -> bool:
    """Whether the run under way draws plots (measures ask before computing a costly one)."""
    return _WANTED.get()


@contextmanager
def drawing(plots: bool) -> Iterator[None]:
    """Within this block, the run draws plots or not."""
    token = _WANTED.set(plots)
    try:
        yield
    finally:
        _WANTED.reset(token)


CURVE_POINTS = 200  # ROC / PR points kept (6 significant digits: they are drawn, not judged)
EPOCH_POINTS = 500  # training-curve points kept
CATEGORY_BARS = 40  # category levels shown; the others are summed into `other`
LATENCY_BINS = 40


def histogram(edges, subject, reference, subject_name: str, reference_name: str) -> dict:
    return {"kind": "histogram", "edges": [_number(e) for e in edges], "subject": _counts(subject),
            "reference": _counts(reference), "subject_name": subject_name, "reference_name": reference_name}


def categories(levels, subject, reference, subject_name: str, reference_name: str) -> dict:
    """Levels with their counts; `unseen`: the reference has them, the subject never saw them
    (unseen_rate's definition). The largest levels are shown, unseen ones first."""
    rows = [(_level(level), float(s), float(r)) for level, s, r in zip(levels, subject, reference)]
    total_s, total_r = sum(s for _, s, _ in rows) or 1.0, sum(r for _, _, r in rows) or 1.0
    unseen = [level for level, s, r in rows if s == 0 and r > 0]
    unseen_set = set(unseen)
    ranked = sorted(rows, key=lambda row: (row[0] not in unseen_set, -max(row[1] / total_s, row[2] / total_r)))
    shown, rest = ranked[:CATEGORY_BARS], ranked[CATEGORY_BARS:]
    shown_levels = {level for level, _, _ in shown}
    plot: dict[str, Any] = {"kind": "categories", "levels": [level for level, _, _ in shown],
            "subject": [_count(s) for _, s, _ in shown], "reference": [_count(r) for _, _, r in shown],
            "unseen": [level for level in unseen if level in shown_levels],
            "subject_name": subject_name, "reference_name": reference_name}
    if rest:
        plot["other"] = {"levels": len(rest), "subject": _count(sum(s for _, s, _ in rest)),
                         "reference": _count(sum(r for _, _, r in rest))}
    return plot


def roc(name: str, positive, fpr, tpr, recall, precision) -> dict:
    """A classifier's ROC and precision-recall curves (recall ascending), thinned to
    CURVE_POINTS."""
    fpr, tpr = _thin(fpr, tpr, CURVE_POINTS)
    recall, precision = _thin(recall, precision, CURVE_POINTS)
    return {"kind": "roc", "positive": _level(positive),
            "curves": {name: {"fpr": fpr, "tpr": tpr, "recall": recall, "precision": precision}}}


def confusion(name: str, classes, matrix) -> dict:
    """A classifier's confusion matrix (row: true class, column: predicted)."""
    return {"kind": "confusion", "classes": [_level(c) for c in classes],
            "matrices": {name: [[int(count) for count in row] for row in matrix]}}


def residuals(name: str, y_true, pred) -> dict | None:
    import numpy as np

    error = np.asarray(pred, dtype=np.float64).ravel() - np.asarray(y_true, dtype=np.float64).ravel()
    error = error[np.isfinite(error)]
    if error.size == 0:
        return None
    counts, edges = np.histogram(error, bins=min(40, max(1, int(math.sqrt(error.size)))))
    return {"kind": "residuals", "curves": {name: {"edges": [_drawn(e) for e in edges], "counts": _counts(counts)}}}


def segments(by: str, ranked: list[dict]) -> dict:
    shown = ranked[:CATEGORY_BARS]
    return {"kind": "segments", "by": by, "segments": [_level(s["segment"]) for s in shown],
            "values": [_number(s["value"]) for s in shown], "rows": [int(s["rows"]) for s in shown]}


def curve(name: str, epochs, values, broke_at=None, window_from=None) -> dict:
    """A training curve, thinned to EPOCH_POINTS (the epoch where it broke is always kept)."""
    epochs, values = list(epochs), list(values)
    keep = _spread(len(epochs), EPOCH_POINTS)
    if broke_at is not None:
        keep = sorted(set(keep) | {i for i, e in enumerate(epochs) if _plain(e) == broke_at})
    return {"kind": "curve", "curve": name, "epochs": [_plain(epochs[i]) for i in keep],
            "values": [_number(values[i]) for i in keep], "broke_at": broke_at, "window_from": window_from}


def latency(samples_ns: dict, statistic: str, value_of) -> dict:
    """Each model's per-call latencies on shared log-spaced bins, and each model's value of
    the check's statistic (`value_of(model)`, seconds) for the vertical lines."""
    import numpy as np

    seconds = {m: np.asarray(s, dtype=np.float64) / 1e9 for m, s in samples_ns.items() if len(s)}
    if not seconds:
        return {"kind": "latency", "unit": "s", "edges": [], "curves": {}, "statistic": statistic, "lines": {}}
    low = max(min(float(s.min()) for s in seconds.values()), 1e-9)
    high = max(max(float(s.max()) for s in seconds.values()), low * 1.01)
    edges = np.geomspace(low, high, LATENCY_BINS + 1)
    curves = {m: {"counts": _counts(np.histogram(np.clip(s, low, high), bins=edges)[0])} for m, s in seconds.items()}
    return {"kind": "latency", "unit": "s", "edges": [_drawn(e) for e in edges], "curves": curves,
            "statistic": statistic, "lines": {m: _number(value_of(m)) for m in seconds}}


def row(row_values: dict, highlight: str | None, variant: str, mode: str) -> dict:
    return {"kind": "row", "columns": [str(c) for c in row_values], "values": list(row_values.values()),
            "highlight": [highlight] if highlight else [], "variant": variant, "mode": mode}


# ---- helpers -------------------------------------------------------------------------------------
def _spread(n: int, most: int) -> list[int]:
    """At most `most` indices spread evenly over range(n), first and last included."""
    if n <= most:
        return list(range(n))
    return sorted({round(i * (n - 1) / (most - 1)) for i in range(most)})


def _thin(x, y, most: int) -> tuple[list, list]:
    keep = _spread(len(x), most)
    return [_drawn(x[i]) for i in keep], [_drawn(y[i]) for i in keep]


def _drawn(value) -> float | None:
    """A point of a picture (not a value anything is judged on): 6 significant digits."""
    value = _number(value)
    return value if value is None or isinstance(value, int) else float(f"{value:.6g}")


def _counts(values) -> list:
    return [_count(v) for v in values]


def _count(value) -> int | float:
    value = float(value)
    return int(value) if value.is_integer() else value


def _number(value) -> float | int | None:
    """A finite JSON number (None for NaN / infinity); ints stay ints."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    value = float(value)
    return value if math.isfinite(value) else None


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _level(value: Any) -> Any:
    """A category level as JSON: str, number or bool as it is; null stays null; others as text."""
    value = _plain(value)
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
