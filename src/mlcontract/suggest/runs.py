"""The contracts `mlc suggest` runs through the ordinary API while it suggests: the drift
statistics between random halves of DATA (calibration), today's values, the model's scores,
and finally the suggested contract itself. Every number it writes comes from the same engine
`mlc check` runs, so the suggested lines measure exactly what was calibrated.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .literals import column, comment, writable
from .thresholds import RANK_FROM_TOP


class Runs:
    def __init__(self, folder: Path, grants: dict[str, Any], label: str | None, ignored: dict[str, str]):
        self.folder, self.grants = folder, grants
        self.label, self.ignored = label, ignored
        self.model_line: str | None = None  # the model's declaration, once given

    # ---- contracts ---------------------------------------------------------------------------------
    def preamble(self, with_model: bool = True) -> str:
        """label, ignore (and the model) for the contracts run on the halves and on today's data."""
        lines = [self.model_line] if with_model and self.model_line is not None else []
        if self.label is not None:
            lines.append(f"label {column(self.label)}")
        written = [column(c) for c in self.ignored if writable(c)]
        if written:
            lines.append("ignore " + ", ".join(written))
        return "\n".join(lines) + "\n"

    def compile(self, body: str, datasets: dict | None = None, with_model: bool = True):
        from ..api import compile as compile_contract

        return compile_contract(self.preamble(with_model) + body, datasets=datasets, base_dir=self.folder,
                                **self.grants)

    def run(self, body: str, datasets: dict, with_model: bool = True):
        return self.compile(body, datasets, with_model).run()

    # ---- the data ----------------------------------------------------------------------------------
    def halves(self, frame, features: dict[str, str], splits: int, seed: int) -> dict[tuple[str, str], list[float]]:
        """{(column, statistic): values} of psi (and unseen_rate for categories) between `splits`
        random halves of `frame` (the first half has frame.height // 2 rows)."""
        import numpy as np

        body = "".join(f"feature {column(c)} psi < 1 vs b\n" for c in features)
        body += "".join(f"feature {column(c)} unseen_rate <= 1 vs b\n"
                        for c, kind in features.items() if kind == "categorical")
        rng = np.random.default_rng(seed)
        first = frame.height // 2
        contract = None
        values: dict[tuple[str, str], list[float]] = {}
        for _ in range(splits):
            order = rng.permutation(frame.height)
            halves = {"a": frame[np.sort(order[:first])], "b": frame[np.sort(order[first:])]}
            if contract is None:  # compiled once; each split runs it on other frames
                contract = self.compile(body, halves, with_model=False)
                result = contract.run()
            else:
                result = contract.run(datasets=halves)
            for check in result.checks:
                if check.status != "error" and check.value is not None:
                    values.setdefault((check.feature, check.statistic), []).append(float(check.value))
        return {key: found for key, found in values.items() if len(found) >= RANK_FROM_TOP}

    def today(self, source, reference, features: dict[str, str]) -> dict[tuple[str, str], float]:
        """Today's values: null shares, ranges, and (with a `vs` dataset) drift and unseen shares."""
        lines = []
        for name, kind in features.items():
            lines.append(f"feature {column(name)} null_rate <= 1")
            if kind == "numeric":
                lines += [f"feature {column(name)} min >= 0", f"feature {column(name)} max >= 0"]
            if reference is not None:
                lines.append(f"feature {column(name)} psi < 1 vs b")
                if kind == "categorical":
                    lines.append(f"feature {column(name)} unseen_rate <= 1 vs b")
        datasets = {"a": source.frame} if reference is None else {"a": source.frame, "b": reference.frame}
        result = self.run("\n".join(lines) + "\n", datasets, with_model=False)
        return {(c.feature, c.statistic): c.value for c in result.checks if c.status != "error" and c.value is not None}

    # ---- the model ---------------------------------------------------------------------------------
    def has_probabilities(self, holdout) -> bool:
        return self.run("auc on holdout >= 0\n", {"holdout": holdout}).checks[0].status != "error"

    def holdout_spread(self, metric: str, holdout, seed: int) -> float:
        """sd of the metric over 20 random halves of the holdout, / √2: the sd of the whole
        holdout's score (used when the model cannot be cross-validated)."""
        import numpy as np

        rng = np.random.default_rng(seed)
        contract = self.compile(f"{metric} on holdout >= 0\n", {"holdout": holdout})
        values = []
        for _ in range(20):
            half = holdout[np.sort(rng.permutation(holdout.height)[: holdout.height // 2])]
            check = contract.run(datasets={"holdout": half}).checks[0]
            if check.status != "error":
                values.append(check.value)
        return float(np.std(values)) / math.sqrt(2) if len(values) > 1 else 0.0

    # ---- the suggestion ----------------------------------------------------------------------------
    def verify(self, text: str) -> tuple[str, int, list[str]]:
        """Compile the contract as written (no diagnostic allowed) and run it on the data it was
        suggested from: a blocking line that fails there becomes `warn`, one that cannot run is
        commented out, each with the reason. Returns (text, checks, the lines made `warn`)."""
        from ..api import compile as compile_contract

        result = compile_contract(text, base_dir=self.folder, **self.grants).run()
        lines, warned = text.split("\n"), []
        for check in result.checks:
            index = check.line - 1
            if check.status == "error" and check.message.startswith(("dataset `", "model `")):
                # A declaration that cannot be read: the whole suggestion is void, not one line.
                raise UsageError(f"the suggested contract cannot run from {self.folder}: {check.message}")
            if check.status == "error" and not lines[index].startswith("#"):
                lines[index] = f"# {lines[index]}   (cannot run: {comment(check.message)[:120]})"
            elif check.status == "fail" and not lines[index].startswith("warn "):
                warned.append(lines[index])
                lines[index] = f"warn {lines[index]}   # ALREADY BROKEN today: {comment(check.message)[:120]}"
        text = "\n".join(lines)
        final = compile_contract(text, base_dir=self.folder, **self.grants)
        return text, len(final.checks), warned
