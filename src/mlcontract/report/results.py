"""The result schema (pydantic): what `mlc check --json` writes and `Contract.run` returns."""
from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, Field

from ..resolve.contract import CheckKind

Status = Literal["pass", "fail", "warn", "error"]


class CheckResult(BaseModel):
    """One expanded check: a selector line with three features gives three results."""

    index: int
    line: int
    source: str = Field(description="the contract line")
    kind: CheckKind = Field(description="what the check is about: data, model, curve, robustness or latency")
    status: Status
    blocking: bool = Field(description="false for `warn` checks: a failure does not fail the gate")
    subject: str = Field(description="the dataset, model or history the check is about")
    feature: Optional[str] = None
    statistic: str
    # Carried from the checked spec so that a report formats without re-deriving. Not in the JSON
    # (its fields stay what they were): `kind` and `statistic` say the same to a JSON reader.
    unit: Optional[str] = Field(None, exclude=True, description='the measure\'s unit: None, "s" or "rows/s"')
    from_selector: bool = Field(False, exclude=True, description="the feature was chosen by a selector, or the "
                                "line expanded into several checks")
    # Union[int, float]: an int stays an int (an integer column's max of 2**53 + 1 keeps every digit)
    value: Optional[Union[int, float]] = Field(None, description="the observed value")
    threshold: Optional[Union[int, float]] = Field(None, description="the right-hand side, evaluated")
    comparator: Optional[str] = None
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class RunResult(BaseModel):
    contract: Optional[str] = None
    path: Optional[str] = None
    passed: bool = Field(description="true when no blocking check failed or errored")
    counts: dict[str, int]
    seconds: float
    checks: list[CheckResult]

    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status in ("fail", "error")]

    def to_json(self, **kwargs) -> str:
        return self.model_dump_json(indent=2, **kwargs)
