"""What a report format needs besides the results: the contract (its path as the invocation
gave it, its text), the run's timing, the plan. Every format is `write(result, target, context)`.

`target` is a path (written atomically by output.write_text: no half-written report for the
next CI step, no symlink written through, no device) or an open text stream.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, TextIO, Union

from ...errors import UsageError

if TYPE_CHECKING:
    from ...results import RunResult

Target = Union[str, Path, TextIO]


@dataclass(frozen=True)
class ReportContext:
    contract_path: str | None = None  # as the invocation gave it (annotations point at it)
    contract_text: str = ""
    version: str = ""
    started_at: str | None = None  # ISO 8601, UTC
    durations: Mapping[str, float] = field(default_factory=dict)  # seconds per stage
    plan: Any = None  # plan.Plan, when the contract was compiled in this process

    @classmethod
    def of(cls, result: RunResult, contract: Any = None, path: str | Path | None = None) -> "ReportContext":
        """The context of a run of `contract` (an api.Contract), compiled from `path`."""
        text = contract.source.text if contract is not None else ""
        shown = str(path) if path is not None else result.path
        return cls(contract_path=shown, contract_text=text, version=result.mlcontract_version,
                   started_at=result.started_at, durations=dict(result.durations),
                   plan=getattr(contract, "plan", None))

    def line(self, number: int) -> str:
        """The contract's line `number` (1-based), or "" when the text is not known."""
        lines = self.contract_text.split("\n")
        return lines[number - 1] if 0 < number <= len(lines) else ""


def emit(text: str, target: Target, option: str) -> None:
    """Write a report to a path (atomically; a bad target is a UsageError naming `option`) or
    to an open text stream."""
    if hasattr(target, "write"):
        target.write(text)  # type: ignore[union-attr]
        return
    from ...output import write_text

    try:
        write_text(target, text, option)  # type: ignore[arg-type]
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot write {option} {target}: {getattr(error, 'strerror', None) or error}") from error
