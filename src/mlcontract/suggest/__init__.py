"""`mlc suggest`: a starter contract whose thresholds are calibrated on the data, not guessed.

    mlc suggest data/train.parquet --vs data/production.parquet -o contracts/churn.mlc
    mlc suggest data/train.parquet --model models/m.skops --holdout data/holdout.parquet

Every number comes from the engine itself (the same requests `mlc check` computes), and every
suggested line says in a comment where its number came from:

- drift (`psi`, one line per feature): the statistic between R = 199 random halves of DATA
  (the reference distribution), computed by running a calibration contract on the halves.
  Their 2nd largest value is exceeded by a new value of the same distribution with probability
  2/(R+1) = 1% (order statistics, any distribution); psi between two samples of a distribution
  scales as 1/n₁ + 1/n₂, so that value is rescaled from the halves' sizes to the sizes the
  contract compares. Data like DATA crosses each drift line about 1% of the time
  (bench/suggest_false_alarms.py measures it).
- unseen categories: the 2nd largest share, between the halves, of one half's rows whose value
  the other half never has (rare categories), at least 0.1%.
- missing values: today's share p plus 2.33 standard errors of the difference of two shares of
  n rows, √(2p(1−p)/n) (a one-sided 99% bound), at least p + 0.1 point.
- ranges: the share outside today's [min, max]. For n values of a continuous distribution a new
  value falls outside with probability 2/(n+1), and the count outside among m new values is
  beta-binomial(m, 2, n−1); the threshold is its 99th percentile (ties only lower it).
- model metrics: a floor from the cross-validation spread (k-fold scores on DATA), and a
  comparison with a naive baseline that holds today.

A line the source data already breaks (drift that is real, a category production sends and
training never had) is written as `warn` with a comment that says so: the suggested contract
passes on the data it was suggested from, and nothing it found is hidden.

The package: inputs.py (the data files, the label, what is not a feature), thresholds.py (the
arithmetic above), runs.py (the contracts run through the API: halves, today, the model, the
suggestion itself), literals.py (contract text), writer.py (the contract, block by block).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError
from .thresholds import RANK_FROM_TOP, SPLITS


@dataclass
class Suggestion:
    """The suggested contract and what was learnt on the way."""

    text: str
    checks: int = 0
    warned: list[str] = field(default_factory=list)  # lines the source data already breaks
    skipped: list[str] = field(default_factory=list)  # columns no line could be suggested for


def suggest(data: str | Path, *, vs: str | Path | None = None, model: str | Path | None = None,
            holdout: str | Path | None = None, label: str | None = None, ignore: tuple[str, ...] = (),
            output: str | Path | None = None, splits: int = SPLITS, seed: int = 0,
            allow_paths: Sequence[str | Path] | None = None, allow_pickle: bool = False) -> Suggestion:
    """Suggest a contract for DATA (compared with `vs` when given; with model metrics when a
    model and a labelled holdout are given). Paths in the contract are written relative to the
    folder of `output` (default: the working directory)."""
    from .inputs import choose_label, features, not_features, read
    from .runs import Runs
    from .writer import Writer

    if (model is None) != (holdout is None):
        raise UsageError("--model and --holdout go together: the metrics are measured on the holdout")
    if splits < 2 * RANK_FROM_TOP:
        raise UsageError(f"--splits must be at least {2 * RANK_FROM_TOP}")
    folder = (Path(output).parent if output is not None else Path.cwd()).resolve()
    folder.mkdir(parents=True, exist_ok=True)  # paths are written relative to it, and verified from it
    source = read(Path(data))
    reference = read(Path(vs)) if vs is not None else None
    test = read(Path(holdout)) if holdout is not None else None
    command = _invocation(data, vs, model, holdout, label, ignore, splits, seed)
    label = choose_label(source, reference, label, needed=model is not None)
    ignored = not_features(source, label, ignore)
    chosen, skipped = features(source, reference, label, ignored)
    grants = {"allow_paths": None if allow_paths is None else list(allow_paths), "allow_pickle": allow_pickle}
    runs = Runs(folder, grants, label, ignored)
    writer = Writer(source, reference, test, runs, chosen, skipped, splits, seed, command)
    if model is not None:
        writer.declare_model(Path(model))
    text, checks = writer.write()
    return Suggestion(text, checks, writer.warned, writer.skipped)


def _invocation(data, vs, model, holdout, label, ignore, splits, seed) -> str:
    """The command that suggests this contract again (for its header comment), escaped."""
    import shlex

    from ..escape import printable

    words = ["mlc", "suggest", str(data)]
    for flag, value in (("--vs", vs), ("--model", model), ("--holdout", holdout), ("--label", label)):
        if value is not None:
            words += [flag, str(value)]
    for column in ignore:
        words += ["--ignore", column]
    if splits != SPLITS:
        words += ["--splits", str(splits)]
    if seed:
        words += ["--seed", str(seed)]
    return printable(" ".join(shlex.quote(w) for w in words), None)
