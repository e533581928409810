"""The suggested contract, block by block: declarations, rows and schema, missing values,
ranges, drift, unseen categories, and the model's metrics. Each line carries a comment saying
where its number came from; a line today's data already breaks is written as `warn`, with a
comment that says so (suggest/__init__.py explains the method)."""
from __future__ import annotations

from pathlib import Path

from ..errors import UsageError
from ..grants import PICKLE_GRANT
from ..report.formatting import fmt, fmt_percent
from . import literals as lit, thresholds as th
from .inputs import Table
from .runs import Runs

MAX_CLASSES = 20  # an integer label with at most this many values is a class label
_MODEL_FORMATS = {".skops": "skops", ".joblib": "sklearn", ".pkl": "sklearn", ".pickle": "sklearn", ".onnx": "onnx"}


class Writer:
    def __init__(self, source: Table, reference: Table | None, holdout: Table | None, runs: Runs,
                 features: dict[str, str], skipped: list[str], splits: int, seed: int, command: str):
        self.source, self.reference, self.holdout, self.runs = source, reference, holdout, runs
        self.features, self.skipped = features, skipped
        self.splits, self.seed, self.command = splits, seed, command
        # The subject is checked against the `vs` dataset: training against production, or new
        # data (`current`, for now the same file) against DATA (`reference`).
        self.subject, self.other = ("training", "production") if reference is not None else ("current", "reference")
        self.model_format: str | None = None
        self.lines: list[str] = []
        self.warned: list[str] = []

    @property
    def folder(self) -> Path:
        return self.runs.folder

    def declare_model(self, path: Path) -> None:
        model_format = _MODEL_FORMATS.get(path.suffix.lower())
        if model_format is None:
            raise UsageError(f"cannot tell the format of {path.name}: use a .skops, .joblib/.pkl or .onnx model")
        if not path.is_file():
            raise UsageError(f"model file not found: {path}")
        allow_pickle = self.runs.grants["allow_pickle"]
        if model_format == "sklearn" and not allow_pickle:
            raise UsageError(f"{path.name} is a pickle: loading it runs any code it holds; {PICKLE_GRANT}, "
                             "or save the model with skops")
        options = ""
        if model_format == "skops":
            trusted = _skops_types(path, allow_pickle)
            options = f", trusted={lit.string(','.join(trusted))}" if trusted else ""
        self.model_format = model_format
        self.runs.model_line = f"model   candidate  = {model_format}({lit.string(self._relative(path))}{options})"

    # ---- the contract ------------------------------------------------------------------------------
    def write(self) -> tuple[str, int]:
        """The contract's text, verified (see Runs.verify), and its number of checks."""
        halves = self.runs.halves(self.source.frame, self.features, self.splits, self.seed)
        today = self.runs.today(self.source, self.reference, self.features)
        self._header()
        self._declarations()
        self._rows_and_schema()
        self._missing_values(today)
        self._ranges(today)
        self._drift(halves, today)
        self._unseen_categories(halves, today)
        if self.model_format is not None:
            self._model_quality()
        text, checks, warned = self.runs.verify("\n".join(self.lines) + "\n")
        self.warned += warned
        return text, checks

    def _header(self) -> None:
        n, m = self.source.rows, self._reference_rows()
        sizes = f"({n:,} vs {m:,} rows)." if self.reference is not None else f"(a batch of {n:,} rows, as large as it)."
        self.lines += [
            f"# Suggested by `{self.command}`.",
            "# A starter contract: every threshold was calibrated on the data, and the comment on its line says",
            "# how. Review it, keep what matters to you, commit it. (docs/getting-started.md, `mlc suggest`)",
            f"# Drift lines: data like {self.source.path.name} crosses each one about "
            f"{fmt_percent(th.false_alarm_rate(self.splits))} of the time {sizes}",
            f"contract {lit.string('suggested for ' + self.source.path.name)}",
            "",
        ]

    def _declarations(self) -> None:
        source = f"{lit.source_format(self.source.path)}({lit.string(self._relative(self.source.path))})"
        if self.reference is not None:
            reference = f"{lit.source_format(self.reference.path)}({lit.string(self._relative(self.reference.path))})"
            self.lines += [f"dataset training   = {source}", f"dataset production = {reference}"]
        else:
            self.lines += [f"dataset current    = {source}   # the data to check: point it at each new batch",
                           f"dataset reference  = {source}   # what the thresholds were calibrated on"]
        if self.holdout is not None and self.runs.model_line is not None:
            holdout = f"{lit.source_format(self.holdout.path)}({lit.string(self._relative(self.holdout.path))})"
            self.lines.append(f"dataset holdout    = {holdout}")
            pickle = "   # a pickle: mlc check needs --allow-pickle" if self.model_format == "sklearn" else ""
            self.lines.append(self.runs.model_line + pickle)
        if self.runs.label is not None:
            self.lines.append(f"label {lit.column(self.runs.label)}")
        for name, why in self.runs.ignored.items():
            if lit.writable(name):
                self.lines.append(f"ignore {lit.column(name)}   # {why}")
        for reason in self.skipped:
            self.lines.append(f"# no check suggested for {lit.comment(reason)}")
        self.lines.append("")

    def _rows_and_schema(self) -> None:
        n, s = self.source.rows, self.subject
        self.lines += [
            "# Enough rows, and the columns the other side has",
            f"{s} rows >= {n // 2}   # {n:,} rows today: fails below half",
            f"schema of {s} matches {self.other}   # the same feature columns, compatible types "
            f"({len(self.features)} features today)",
        ]

    def _missing_values(self, today: dict) -> None:
        n = self.source.rows
        self.lines += ["", f"# Missing values: today's share + 2.33 standard errors of a difference of shares of "
                           f"{n:,} rows (at least +0.1 point)"]
        for name in self.features:
            share = today.get((name, "null_rate"))
            if share is None:
                continue
            if share >= 1:
                self.lines.append(f"# {lit.column(name)}: every value is missing today: no check suggested")
                continue
            bound = th.null_rate_bound(share, n)
            self.lines.append(f"feature {lit.column(name)} null_rate <= {lit.percent_up(bound)}   "
                              f"# {fmt_percent(share)} today")

    def _ranges(self, today: dict) -> None:
        numeric = [c for c, kind in self.features.items() if kind == "numeric"]
        if not numeric:
            return
        n = self.source.rows
        self.lines += ["", "# Ranges: new data like this has 2/(n+1) of its n values outside today's [min, max] "
                           "(n non-null values); each line allows the 99th percentile of that share"]
        for name in numeric:
            low, high = today.get((name, "min")), today.get((name, "max"))
            if low is None or high is None:
                continue
            values = n - round(n * today.get((name, "null_rate"), 0.0))  # the rate's denominator
            seen = f"[{lit.exact(low)}, {lit.exact(high)}]"
            self.lines.append(f"feature {lit.column(name)} out_of_range_rate({lit.exact(low)}, {lit.exact(high)}) <= "
                              f"{lit.percent_up(th.outside_range_bound(values))}   # seen in {seen} "
                              f"({values:,} values)")

    def _drift(self, halves: dict, today: dict) -> None:
        n, m = self.source.rows, self._reference_rows()
        a, b = n // 2, n - n // 2
        scale = th.psi_scale(n, m, a, b)
        self.lines += ["", f"# Drift against {self.other}: the 2nd largest psi of {self.splits} random halves of "
                           f"{self.source.path.name} ({a:,} vs {b:,} rows), x{scale:.3g} for {n:,} vs {m:,} rows"]
        for name in self.features:
            values = halves.get((name, "psi"))
            if not values:
                self.skipped.append(f"{name}: psi could not be computed on random halves")
                continue
            noise = th.top(values)
            if noise == 0:  # the same in every half (a constant column): any change is drift
                self._line(f"feature {lit.column(name)} psi <= 0 vs {self.other}", "0 in every half",
                           today.get((name, "psi")), 0.0, strict=False)
                continue
            bound = lit.round_up(noise * scale)
            self._line(f"feature {lit.column(name)} psi < {bound} vs {self.other}", f"halves {fmt(noise)}",
                       today.get((name, "psi")), float(bound), strict=True)

    def _unseen_categories(self, halves: dict, today: dict) -> None:
        categorical = [c for c, kind in self.features.items() if kind == "categorical"]
        if not categorical:
            return
        newer, older = (self.other, self.subject) if self.reference is not None else (self.subject, self.other)
        self.lines += ["", f"# Categories: the share of {newer}'s rows with a value {older} never has; "
                           f"allowed: the 2nd largest between the halves (rare values), at least 0.1%"]
        for name in categorical:
            values = halves.get((name, "unseen_rate"))
            if not values:
                continue
            bound = max(th.top(values), th.MIN_UNSEEN)
            subject = "" if self.reference is not None else " of reference"
            versus = self.other if self.reference is not None else self.subject
            self._line(f"feature {lit.column(name)}{subject} unseen_rate <= {lit.percent_up(bound)} vs {versus}",
                       f"halves {fmt_percent(th.top(values))}", today.get((name, "unseen_rate")), bound, strict=False,
                       percent=True)

    def _line(self, check: str, note: str, today: float | None, limit: float, strict: bool,
              percent: bool = False) -> None:
        """A drift line (`< limit`, or `<= limit` when not strict); `warn` when today's data
        already breaks it (said in the comment)."""
        shown = fmt_percent(today) if percent else fmt(today)
        if self.reference is None or today is None or (today < limit if strict else today <= limit):
            self.lines.append(f"{check}   # {note}" + ("" if self.reference is None else f"; today {shown}"))
            return
        self.warned.append(check)
        self.lines.append(f"warn {check}   # ALREADY BROKEN: {shown} today ({note}): fix the data or accept it, "
                          "then drop `warn`")

    # ---- the model ---------------------------------------------------------------------------------
    def _model_quality(self) -> None:
        assert self.holdout is not None and self.runs.label is not None
        metric, baselines = self._metrics()
        s = self.subject if self.reference is not None else "reference"
        probe = "\n".join([f"{metric} on holdout >= 0", f"cv {metric} on {s} >= 0 with {th.FOLDS} folds",
                           *baselines]) + "\n"
        holdout, cv, *compared = self.runs.run(probe, {s: self.source.frame, "holdout": self.holdout.frame}).checks
        if holdout.status == "error":
            raise UsageError(f"the model cannot be scored on {self.holdout.path}: {holdout.message}")
        self.lines += ["", "# Model quality on the holdout: a floor from the cross-validation spread, and a naive "
                           "baseline"]
        today, rows = holdout.value, self.holdout.rows
        if cv.status != "error":
            mean, sd = cv.details["mean"], cv.details["std"]
            floor = th.holdout_floor(mean, sd, today, self.source.rows / th.FOLDS, rows)
            self.lines += [
                f"{metric} on holdout >= {lit.round_down(floor)}   # today {fmt(today)}; {th.FOLDS}-fold CV on {s}: "
                f"mean {fmt(mean)}, sd {fmt(sd)}; floor: the lower of the two - {th.SPREADS} sd (scaled to the "
                f"holdout's {rows:,} rows)",
                f"cv {metric} on {s} >= {lit.round_down(th.cv_floor(mean, sd, len(cv.details['folds'])))} with "
                f"{th.FOLDS} folds   # mean {fmt(mean)} - {th.SPREADS} standard errors of a mean of {th.FOLDS} folds",
            ]
        else:
            spread = self.runs.holdout_spread(metric, self.holdout.frame, self.seed)
            self.lines.append(
                f"{metric} on holdout >= {lit.round_down(today - th.SPREADS * spread)}   # today {fmt(today)} - "
                f"{th.SPREADS} x {fmt(spread)}, the sd of the score between random halves of the holdout / sqrt 2 "
                f"(no cross-validation: {lit.comment(cv.message)[:80]})")
        for line, check in zip(baselines, compared):
            if check.status == "pass":
                reference = next(iter(check.details.get("references", {}).values()), None)
                self.lines.append(f"{line}   # today {fmt(check.value)} vs {fmt(reference)}")
            elif check.status == "fail":
                self.lines.append(f"# {line}   (not suggested: it fails today: {lit.comment(check.message)[:100]})")

    def _metrics(self) -> tuple[str, list[str]]:
        """The headline metric and the baseline comparisons for the label's kind."""
        assert self.holdout is not None
        y = self.source.frame[self.runs.label]
        values = y.drop_nulls().n_unique()
        classification = not y.dtype.is_numeric() or y.dtype.is_integer() and values <= MAX_CLASSES
        if not classification:
            return "r2", ["rmse on holdout < baseline mean"]
        if values == 2 and self.runs.has_probabilities(self.holdout.frame):
            return "auc", ["logloss on holdout < baseline prior", "accuracy on holdout > baseline most_frequent"]
        return "accuracy", ["accuracy on holdout > baseline most_frequent"]

    # ---- helpers -----------------------------------------------------------------------------------
    def _relative(self, path: Path) -> str:
        import os

        return Path(os.path.relpath(path.resolve(), self.folder)).as_posix()

    def _reference_rows(self) -> int:
        # Without a `vs` dataset, new data is assumed as large as DATA.
        return self.reference.rows if self.reference is not None else self.source.rows


def _skops_types(path: Path, allow_pickle: bool) -> list[str]:
    """The types a skops file needs trusted; those outside the safe modules need --allow-pickle."""
    try:
        import skops.io as sio
    except ImportError as error:
        raise UsageError("skops models need the skops package: pip install skops") from error
    from ..sources.skops import unsafe_skops_types

    types = list(sio.get_untrusted_types(file=path))
    unsafe = unsafe_skops_types(types)
    if unsafe and not allow_pickle:
        raise UsageError(f"{path.name} holds types outside the safe modules ({', '.join(unsafe[:5])}): trusting them "
                         f"can run code; {PICKLE_GRANT}")
    return types
