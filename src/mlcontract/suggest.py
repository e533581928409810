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
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

from .errors import UsageError
from .grants import PICKLE_GRANT

SPLITS = 199  # the 2nd largest of 199 values is exceeded by 2/200 = 1% of new values
RANK_FROM_TOP = 2
Z_99 = 2.326  # one-sided 99% normal quantile
MIN_NULL_SLACK = 0.001
MIN_UNSEEN = 0.001
FOLDS = 5
MAX_CLASSES = 20  # an integer label with at most this many values is a class label

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = frozenset((  # words of the grammar a column name is quoted against
    "contract dataset model history label ignore warn feature schema of vs between and matches on by not "
    "increasing decreasing handles in from with at over last baseline numeric categorical except").split())
_MODEL_KINDS = {".skops": "skops", ".joblib": "sklearn", ".pkl": "sklearn", ".pickle": "sklearn", ".onnx": "onnx"}


@dataclass
class Suggestion:
    """The suggested contract and what was learnt on the way."""

    text: str
    checks: int = 0
    warned: list[str] = field(default_factory=list)  # lines the source data already breaks
    skipped: list[str] = field(default_factory=list)  # columns no line could be suggested for


@dataclass
class _Data:
    path: Path
    frame: Any  # polars DataFrame
    kinds: dict[str, str]  # column -> numeric | categorical | other


def suggest(data: str | Path, *, vs: str | Path | None = None, model: str | Path | None = None,
            holdout: str | Path | None = None, label: str | None = None, ignore: tuple[str, ...] = (),
            output: str | Path | None = None, splits: int = SPLITS, seed: int = 0,
            allow_paths: list[str | Path] | None = None, allow_pickle: bool = False) -> Suggestion:
    """Suggest a contract for DATA (compared with `vs` when given; with model metrics when a
    model and a labelled holdout are given). Paths in the contract are written relative to the
    folder of `output` (default: the working directory)."""
    if (model is None) != (holdout is None):
        raise UsageError("--model and --holdout go together: the metrics are measured on the holdout")
    if splits < 2 * RANK_FROM_TOP:
        raise UsageError(f"--splits must be at least {2 * RANK_FROM_TOP}")
    folder = (Path(output).parent if output is not None else Path.cwd()).resolve()
    folder.mkdir(parents=True, exist_ok=True)  # paths are written relative to it, and verified from it
    source = _read(Path(data))
    reference = _read(Path(vs)) if vs is not None else None
    test = _read(Path(holdout)) if holdout is not None else None
    command = _invocation(data, vs, model, holdout, label, ignore, splits, seed)
    label = _label(source, reference, label, needed=model is not None)
    ignored = _ignored(source, label, ignore)
    writer = _Writer(source, reference, test, folder, label, ignored, splits, seed, allow_paths, allow_pickle,
                     command)
    if model is not None:
        writer.declare_model(Path(model))
    return writer.write()


# ---- reading ------------------------------------------------------------------------------------
def _read(path: Path) -> _Data:
    """Read a data file exactly as a contract's dataset declaration reads it."""
    from .contract import DatasetSource
    from .sources import check_rows, column_kind, kind_of_path, open_dataset

    source = DatasetSource(path.stem or "data", kind_of_path(path), path, written=str(path))
    opened = open_dataset(source)  # checks the file: missing, folder, FIFO, permissions
    frame = opened.lazy.drop(list(opened.index)).collect()
    check_rows(source, opened.rows, frame.height)
    if frame.height < 2 * RANK_FROM_TOP:
        raise UsageError(f"{path} has {frame.height} rows: too few to calibrate thresholds on")
    return _Data(path, frame, {name: column_kind(dtype) for name, dtype in frame.schema.items()})


def _label(source: _Data, reference: _Data | None, label: str | None, needed: bool) -> str | None:
    """The label column: --label, or the one column of DATA that PRODUCTION lacks."""
    if label is not None:
        if label not in source.kinds:
            raise UsageError(f"--label {label}: no such column in {source.path}")
        return label
    if reference is not None:
        only_here = [c for c in source.kinds if c not in reference.kinds]
        if len(only_here) == 1:
            return only_here[0]
        if len(only_here) > 1:
            raise UsageError(f"{len(only_here)} columns of {source.path} are not in {reference.path} "
                             f"({', '.join(only_here[:5])}): say which is the label with --label")
    if needed:
        raise UsageError("a model's metrics need the label column: give it with --label")
    return None


def _ignored(source: _Data, label: str | None, ignore: tuple[str, ...]) -> dict[str, str]:
    """Columns that are not features, with the reason: --ignore, and identifiers (integer or
    text columns whose every value is distinct: drift between two samples is certain there)."""
    ignored = {}
    for column in ignore:
        if column not in source.kinds:
            raise UsageError(f"--ignore {column}: no such column in {source.path}")
        ignored[column] = "--ignore"
    import polars as pl

    frame = source.frame
    for column, kind in source.kinds.items():
        if column in ignored or column == label:
            continue
        dtype = frame.schema[column]
        text = kind == "categorical" and dtype != pl.Boolean
        if (dtype.is_integer() or text) and frame[column].null_count() == 0 \
                and frame[column].n_unique() == frame.height:
            ignored[column] = "every value is distinct: an identifier, not a feature"
    return ignored


# ---- writing --------------------------------------------------------------------------------------
class _Writer:
    def __init__(self, source, reference, test, folder, label, ignored, splits, seed, allow_paths, allow_pickle,
                 command):
        self.source, self.reference, self.test = source, reference, test
        self.folder, self.label, self.ignored = folder, label, ignored
        self.splits, self.seed, self.command = splits, seed, command
        self.grants = {"allow_paths": allow_paths, "allow_pickle": allow_pickle}
        # The subject is checked against the `vs` dataset: training against production, or new
        # data (`current`, for now the same file) against DATA (`reference`).
        self.subject, self.other = ("training", "production") if reference is not None else ("current", "reference")
        self.model: tuple[str, Path, str] | None = None  # (declaration, path, format)
        self.features, self.skipped = self._features()
        self.lines: list[str] = []
        self.warned: list[str] = []

    # -- features -----------------------------------------------------------------------------------
    def _features(self) -> tuple[dict[str, str], list[str]]:
        features, skipped = {}, []
        for column, kind in self.source.kinds.items():
            if column == self.label or column in self.ignored:
                continue
            if not _writable(column):
                skipped.append(f"{column!r}: a name a contract cannot quote")
            elif kind == "other":
                skipped.append(f"{column}: type {self.source.frame.schema[column]} has no suggested check")
            elif self.reference is not None and column not in self.reference.kinds:
                skipped.append(f"{column}: not in {self.reference.path}")
            else:
                features[column] = kind
        if not features:
            raise UsageError(f"{self.source.path} has no numeric or categorical feature column to suggest checks for")
        return features, skipped

    def declare_model(self, path: Path) -> None:
        kind = _MODEL_KINDS.get(path.suffix.lower())
        if kind is None:
            raise UsageError(f"cannot tell the format of {path.name}: use a .skops, .joblib/.pkl or .onnx model")
        if not path.is_file():
            raise UsageError(f"model file not found: {path}")
        options = ""
        if kind == "sklearn" and not self.grants["allow_pickle"]:
            raise UsageError(f"{path.name} is a pickle: loading it runs any code it holds; {PICKLE_GRANT}, "
                             "or save the model with skops")
        if kind == "skops":
            trusted = _skops_types(path, self.grants["allow_pickle"])
            options = f", trusted={_string(','.join(trusted))}" if trusted else ""
        self.model = (f"model   candidate  = {kind}({_string(self._relative(path))}{options})", path, kind)

    # -- the contract -------------------------------------------------------------------------------
    def write(self) -> Suggestion:
        halves = self._calibrate()
        observed = self._observe()
        self._header()
        self._declarations()
        self._data_checks(observed)
        self._drift_checks(halves, observed)
        if self.model is not None:
            self._model_checks()
        text = "\n".join(self.lines) + "\n"
        text, checks = self._verify(text)
        return Suggestion(text, checks, self.warned, self.skipped)

    def _header(self) -> None:
        n, m = self.source.frame.height, self._reference_rows()
        self.lines += [
            f"# Suggested by `{self.command}`.",
            "# A starter contract: every threshold was calibrated on the data, and the comment on its line says",
            "# how. Review it, keep what matters to you, commit it. (docs/getting-started.md, `mlc suggest`)",
            f"# Drift lines: data like {self.source.path.name} crosses each one about "
            f"{_percent(RANK_FROM_TOP / (self.splits + 1))} of the time "
            + (f"({n:,} vs {m:,} rows)." if self.reference is not None else f"(a batch of {n:,} rows, as large as it)."),
            f"contract {_string('suggested for ' + self.source.path.name)}",
            "",
        ]

    def _declarations(self) -> None:
        source = _string(self._relative(self.source.path))
        if self.reference is not None:
            self.lines += [f"dataset training   = {_kind(self.source.path)}({source})",
                           f"dataset production = {_kind(self.reference.path)}({_string(self._relative(self.reference.path))})"]
        else:
            self.lines += [f"dataset current    = {_kind(self.source.path)}({source})   # the data to check: "
                           "point it at each new batch",
                           f"dataset reference  = {_kind(self.source.path)}({source})   # what the thresholds were "
                           "calibrated on"]
        if self.model is not None:
            declaration, _, kind = self.model
            self.lines.append(f"dataset holdout    = {_kind(self.test.path)}({_string(self._relative(self.test.path))})")
            self.lines.append(declaration + ("   # a pickle: mlc check needs --allow-pickle" if kind == "sklearn" else ""))
        if self.label is not None:
            self.lines.append(f"label {_column(self.label)}")
        for column, why in self.ignored.items():
            if _writable(column):
                self.lines.append(f"ignore {_column(column)}   # {why}")
        for reason in self.skipped:
            self.lines.append(f"# no check suggested for {_comment(reason)}")
        self.lines.append("")

    def _data_checks(self, observed: dict) -> None:
        n = self.source.frame.height
        s = self.subject
        self.lines += [
            "# Enough rows, and the columns the other side has",
            f"{s} rows >= {n // 2}   # {n:,} rows today: fails below half",
            f"schema of {s} matches {self.other}   # the same feature columns, compatible types "
            f"({len(self.features)} features today)",
            "",
            f"# Missing values: today's share + 2.33 standard errors of a difference of shares of {n:,} rows "
            "(at least +0.1 point)",
        ]
        for column in self.features:
            share = observed.get((column, "null_rate"))
            if share is None:
                continue
            if share >= 1:
                self.lines.append(f"# {_column(column)}: every value is missing today: no check suggested")
                continue
            bound = min(share + max(Z_99 * math.sqrt(2 * share * (1 - share) / n), MIN_NULL_SLACK), 1.0)
            self.lines.append(f"feature {_column(column)} null_rate <= {_percent_up(bound)}   "
                              f"# {_percent(share)} today")
        numeric = [c for c in self.features if self.features[c] == "numeric"]
        if numeric:
            self.lines += ["", "# Ranges: new data like this has 2/(n+1) of its n values outside today's [min, max] "
                               "(n non-null values); each line allows the 99th percentile of that share"]
            for column in numeric:
                low, high = observed.get((column, "min")), observed.get((column, "max"))
                if low is None or high is None:
                    continue
                values = n - round(n * observed.get((column, "null_rate"), 0.0))  # the rate's denominator
                self.lines.append(f"feature {_column(column)} out_of_range_rate({_number(low)}, {_number(high)}) <= "
                                  f"{_percent_up(_outside_allowed(values))}   # seen in [{_number(low)}, "
                                  f"{_number(high)}] ({values:,} values)")

    def _drift_checks(self, halves: dict, observed: dict) -> None:
        n, m = self.source.frame.height, self._reference_rows()
        a, b = self._half_sizes()
        scale = (1 / n + 1 / m) / (1 / a + 1 / b)
        self.lines += ["", f"# Drift against {self.other}: the 2nd largest psi of {self.splits} random halves of "
                           f"{self.source.path.name} ({a:,} vs {b:,} rows), x{scale:.3g} for {n:,} vs {m:,} rows"]
        for column in self.features:
            values = halves.get((column, "psi"))
            if not values:
                self.skipped.append(f"{column}: psi could not be computed on random halves")
                continue
            noise = _top(values)
            if noise == 0:  # the same in every half (a constant column): any change is drift
                self._line(f"feature {_column(column)} psi <= 0 vs {self.other}", "0 in every half",
                           observed.get((column, "psi")), lambda v: v <= 0)
                continue
            bound = _round_up(noise * scale)
            self._line(f"feature {_column(column)} psi < {bound} vs {self.other}", f"halves {_plain(noise)}",
                       observed.get((column, "psi")), lambda v, t=float(bound): v < t)
        categorical = [c for c in self.features if self.features[c] == "categorical"]
        if not categorical:
            return
        newer, older = (self.other, self.subject) if self.reference is not None else (self.subject, self.other)
        self.lines += ["", f"# Categories: the share of {newer}'s rows with a value {older} never has; "
                           f"allowed: the 2nd largest between the halves (rare values), at least 0.1%"]
        for column in categorical:
            values = halves.get((column, "unseen_rate"))
            if not values:
                continue
            bound = max(_top(values), MIN_UNSEEN)
            subject = "" if self.reference is not None else " of reference"
            versus = self.other if self.reference is not None else self.subject
            self._line(f"feature {_column(column)}{subject} unseen_rate <= {_percent_up(bound)} vs {versus}",
                       f"halves {_percent(_top(values))}", observed.get((column, "unseen_rate")),
                       lambda v, t=bound: v <= t, percent=True)

    def _line(self, check: str, note: str, today: float | None, holds, percent: bool = False) -> None:
        """A drift line; `warn` when today's data already breaks it (said in the comment)."""
        shown = "—" if today is None else (_percent(today) if percent else _plain(today))
        if self.reference is None or today is None or holds(today):
            self.lines.append(f"{check}   # {note}" + ("" if self.reference is None else f"; today {shown}"))
            return
        self.warned.append(check)
        self.lines.append(f"warn {check}   # ALREADY BROKEN: {shown} today ({note}): fix the data or accept it, "
                          "then drop `warn`")

    def _model_checks(self) -> None:
        from .api import compile as compile_contract

        metric, baselines = self._metrics()
        s = self.subject if self.reference is not None else "reference"
        probe = "\n".join([
            f"{metric} on holdout >= 0",
            f"cv {metric} on {s} >= 0 with {FOLDS} folds",
            *[f"{line}" for line in baselines],
        ]) + "\n"
        result = self._run(probe, {s: self.source.frame, "holdout": self.test.frame}, compile_contract)
        holdout, cv, *checked = result.checks
        if holdout.status == "error":
            raise UsageError(f"the model cannot be scored on {self.test.path}: {holdout.message}")
        lines = ["", "# Model quality on the holdout: a floor from the cross-validation spread, and a naive baseline"]
        h = holdout.value
        if cv.status != "error":
            scores = cv.details["folds"]
            mean, sd = cv.details["mean"], cv.details["std"]
            fold_rows = self.source.frame.height / FOLDS
            floor = min(mean, h) - 3 * sd * math.sqrt(fold_rows / self.test.frame.height)
            cv_floor = mean - 3 * sd / math.sqrt(len(scores))
            lines += [
                f"{metric} on holdout >= {_round_down(floor)}   # today {_plain(h)}; {FOLDS}-fold CV on {s}: "
                f"mean {_plain(mean)}, sd {_plain(sd)}; floor: the lower of the two - 3 sd (scaled to the holdout's "
                f"{self.test.frame.height:,} rows)",
                f"cv {metric} on {s} >= {_round_down(cv_floor)} with {FOLDS} folds   # mean {_plain(mean)} - 3 "
                f"standard errors of a mean of {FOLDS} folds",
            ]
        else:
            spread = self._holdout_spread(metric, compile_contract)
            floor = h - 3 * spread
            lines.append(f"{metric} on holdout >= {_round_down(floor)}   # today {_plain(h)} - 3 x {_plain(spread)}, "
                         f"the sd of the score between random halves of the holdout / sqrt 2 (no cross-validation: "
                         f"{_comment(cv.message)[:80]})")
        for line, check in zip(baselines, checked):
            if check.status == "pass":
                reference = next(iter(check.details.get("references", {}).values()), None)
                lines.append(f"{line}   # today {_plain(check.value)} vs {_plain(reference)}")
            elif check.status == "fail":
                lines.append(f"# {line}   (not suggested: it fails today: {_comment(check.message)[:100]})")
        self.lines += lines

    def _metrics(self) -> tuple[str, list[str]]:
        """The headline metric and the baseline comparisons for the label's kind."""
        y = self.source.frame[self.label]
        values = y.drop_nulls().n_unique()
        classification = not y.dtype.is_numeric() or y.dtype.is_integer() and values <= MAX_CLASSES
        if not classification:
            return "r2", ["rmse on holdout < baseline mean"]
        if values == 2 and self._has_probabilities():
            return "auc", ["logloss on holdout < baseline prior", "accuracy on holdout > baseline most_frequent"]
        return "accuracy", ["accuracy on holdout > baseline most_frequent"]

    def _has_probabilities(self) -> bool:
        from .api import compile as compile_contract

        result = self._run("auc on holdout >= 0\n", {"holdout": self.test.frame}, compile_contract)
        return result.checks[0].status != "error"

    def _holdout_spread(self, metric: str, compile_contract) -> float:
        """sd of the metric over random halves of the holdout, / sqrt 2: the sd of the whole holdout's score."""
        import numpy as np

        rng = np.random.default_rng(self.seed)
        frame, values = self.test.frame, []
        contract = self._compile(f"{metric} on holdout >= 0\n", {"holdout": frame}, compile_contract)
        for _ in range(20):
            half = frame[np.sort(rng.permutation(frame.height)[: frame.height // 2])]
            check = contract.run(datasets={"holdout": half}).checks[0]
            if check.status != "error":
                values.append(check.value)
        return float(np.std(values)) / math.sqrt(2) if len(values) > 1 else 0.0

    # -- engine runs ---------------------------------------------------------------------------------
    def _preamble(self, with_model: bool = True) -> str:
        """label, ignore (and the model) for the contracts run on the halves and on today's data."""
        lines = [self.model[0]] if with_model and self.model is not None else []
        if self.label is not None:
            lines.append(f"label {_column(self.label)}")
        written = [_column(c) for c in self.ignored if _writable(c)]
        if written:
            lines.append("ignore " + ", ".join(written))
        return "\n".join(lines) + "\n"

    def _compile(self, body: str, datasets: dict, compile_contract):
        return compile_contract(self._preamble() + body, datasets=datasets, base_dir=self.folder, **self.grants)

    def _run(self, body: str, datasets: dict, compile_contract):
        return self._compile(body, datasets, compile_contract).run()

    def _calibrate(self) -> dict[tuple[str, str], list[float]]:
        """The drift statistics between `splits` random halves of DATA, computed by the engine."""
        import numpy as np

        from .api import compile as compile_contract

        body = "".join(f"feature {_column(c)} psi < 1 vs b\n" for c in self.features)
        body += "".join(f"feature {_column(c)} unseen_rate <= 1 vs b\n"
                        for c, kind in self.features.items() if kind == "categorical")
        frame = self.source.frame
        rng = np.random.default_rng(self.seed)
        a, _ = self._half_sizes()
        contract = None
        values: dict[tuple[str, str], list[float]] = {}
        for _ in range(self.splits):
            order = rng.permutation(frame.height)
            halves = {"a": frame[np.sort(order[:a])], "b": frame[np.sort(order[a:])]}
            if contract is None:
                contract = compile_contract(self._preamble(with_model=False) + body, datasets=halves,
                                            base_dir=self.folder)
                result = contract.run()
            else:
                result = contract.run(datasets=halves)
            for check in result.checks:
                if check.status != "error" and check.value is not None:
                    values.setdefault((check.feature, check.statistic), []).append(float(check.value))
        return {key: found for key, found in values.items() if len(found) >= RANK_FROM_TOP}

    def _observe(self) -> dict[tuple[str, str], float]:
        """Today's values: null shares, ranges, and (with a `vs` dataset) drift and unseen shares."""
        from .api import compile as compile_contract

        lines = []
        for column, kind in self.features.items():
            lines.append(f"feature {_column(column)} null_rate <= 1")
            if kind == "numeric":
                lines += [f"feature {_column(column)} min >= 0", f"feature {_column(column)} max >= 0"]
            if self.reference is not None:
                lines.append(f"feature {_column(column)} psi < 1 vs b")
                if kind == "categorical":
                    lines.append(f"feature {_column(column)} unseen_rate <= 1 vs b")
        datasets = {"a": self.source.frame}
        if self.reference is not None:
            datasets["b"] = self.reference.frame
        result = compile_contract(self._preamble(with_model=False) + "\n".join(lines) + "\n", datasets=datasets,
                                  base_dir=self.folder).run()
        return {(c.feature, c.statistic): c.value for c in result.checks
                if c.status != "error" and c.value is not None}

    def _verify(self, text: str) -> tuple[str, int]:
        """Compile the contract as written (no diagnostic allowed) and run it on the data it was
        suggested from: a blocking line that fails there becomes `warn`, one that cannot run is
        commented out, each with the reason."""
        from .api import compile as compile_contract

        contract = compile_contract(text, base_dir=self.folder, **self.grants)
        result = contract.run()
        lines = text.split("\n")
        for check in result.checks:
            index = check.line - 1
            if check.status == "error" and check.message.startswith(("dataset `", "model `")):
                # A declaration that cannot be read: the whole suggestion is void, not one line.
                raise UsageError(f"the suggested contract cannot run from {self.folder}: {check.message}")
            if check.status == "error" and not lines[index].startswith("#"):
                lines[index] = f"# {lines[index]}   (cannot run: {_comment(check.message)[:120]})"
            elif check.status == "fail" and not lines[index].startswith("warn "):
                self.warned.append(lines[index])
                lines[index] = f"warn {lines[index]}   # ALREADY BROKEN today: {_comment(check.message)[:120]}"
        text = "\n".join(lines)
        final = compile_contract(text, base_dir=self.folder, **self.grants)
        return text, len(final.checks)

    # -- helpers ---------------------------------------------------------------------------------------
    def _relative(self, path: Path) -> str:
        import os

        return Path(os.path.relpath(path.resolve(), self.folder)).as_posix()

    def _reference_rows(self) -> int:
        # Without a `vs` dataset, new data is assumed as large as DATA.
        return self.reference.frame.height if self.reference is not None else self.source.frame.height

    def _half_sizes(self) -> tuple[int, int]:
        n = self.source.frame.height
        return n // 2, n - n // 2


def _invocation(data, vs, model, holdout, label, ignore, splits, seed) -> str:
    """The command that suggests this contract again (for its header comment), escaped."""
    import shlex

    from .escape import printable

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


def _skops_types(path: Path, allow_pickle: bool) -> list[str]:
    """The types a skops file needs trusted; those outside the safe modules need --allow-pickle."""
    try:
        import skops.io as sio
    except ImportError as error:
        raise UsageError("skops models need the skops package: pip install 'mlcontract[skops]'") from error
    from .models import unsafe_skops_types

    types = list(sio.get_untrusted_types(file=path))
    unsafe = unsafe_skops_types(types)
    if unsafe and not allow_pickle:
        raise UsageError(f"{path.name} holds types outside the safe modules ({', '.join(unsafe[:5])}): trusting them "
                         f"can run code; {PICKLE_GRANT}")
    return types


def _outside_allowed(n: int) -> float:
    """The 99th percentile of the share of n new values outside the [min, max] of n values of the
    same continuous distribution: the count is beta-binomial(n, 2, n - 1)."""
    from scipy.stats import betabinom

    return float(betabinom(n, 2, n - 1).ppf(0.99)) / n


def _top(values: list[float]) -> float:
    return sorted(values)[-RANK_FROM_TOP]


def _writable(column: str) -> bool:
    return "`" not in column and column.isprintable() and bool(column.strip())


def _column(column: str) -> str:
    return column if _PLAIN_NAME.fullmatch(column) and column not in _KEYWORDS else f"`{column}`"


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _kind(path: Path) -> str:
    from .sources import kind_of_path

    return kind_of_path(path)


def _comment(text: str) -> str:
    """Text for a comment: one line, no control characters (escape.printable)."""
    from .escape import printable

    return printable(" ".join(str(text).split()), None)


def _round_up(x: float, digits: int = 2) -> str:
    """x rounded up to `digits` significant digits, written without an exponent."""
    if x <= 0:
        return "0"
    exponent = math.floor(math.log10(x)) - digits + 1
    return format(Decimal(repr(x)).quantize(Decimal(1).scaleb(exponent), rounding=ROUND_CEILING).normalize(), "f")


def _round_down(x: float, places: int = 3) -> str:
    return format(Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_FLOOR), "f")


def _percent_up(share: float) -> str:
    return _round_up(share * 100) + "%"


def _percent(share: float) -> str:
    return f"{share * 100:.3g}%" if share else "0%"


def _plain(value) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.2e}"


def _number(value) -> str:
    """A data value exactly, as a contract literal (no exponent the grammar would refuse in a
    percentage; ints as ints)."""
    if isinstance(value, int):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(Decimal(repr(float(value))), "f")
