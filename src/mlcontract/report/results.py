"""The result schema (pydantic): what `mlc check --json` writes and `Contract.run` returns."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..resolve.contract import CheckKind

Status = Literal["pass", "fail", "warn", "error"]
# 1: the first versioned schema (adds schema_version, mlcontract_version, contract_sha256,
# started_at, durations, fail_on; CheckResult.column/end_column/unit/display_unit/from_selector;
# details["plot"]). A reader of version 1 reads every later version 1 file: fields are only
# ever added; a change of a field's meaning or a removal is a new version (docs/reports.md).
SCHEMA_VERSION = 1


class CheckResult(BaseModel):
    """One expanded check: a selector line with three features gives three results."""

    index: int
    line: int
    column: int | None = Field(None, description="1-based column where the check starts on its line")
    end_column: int | None = Field(None, description="column just past the check, when it ends on its line")
    source: str = Field(description="the contract line")
    kind: CheckKind = Field(description="what the check is about: data, model, curve, robustness or latency")
    status: Status
    blocking: bool = Field(description="false for `warn` checks: a failure does not fail the gate")
    subject: str = Field(description="the dataset, model or history the check is about")
    feature: str | None = None
    statistic: str
    # Carried from the checked spec so that every report format shows them without re-deriving.
    unit: str | None = Field(None, description='the measure\'s unit: null, "s" (a duration) or "rows/s"')
    display_unit: str | None = Field(None, description='the unit the contract wrote the threshold in: null, "%", '
                                        '"µs", "ms", "s", "min", "h", "d" or "rows/s" (value and threshold are in the '
                                        'measure\'s unit whatever it is: 1% is 0.01, 250ms is 0.25)')
    from_selector: bool = Field(False, description="the feature was chosen by a selector, or the line expanded into "
                                "several checks")
    # Union[int, float]: an int stays an int (an integer column's max of 2**53 + 1 keeps every digit)
    value: int | float | None = Field(None, description="the observed value")
    threshold: int | float | None = Field(None, description="the right-hand side, evaluated")
    comparator: str | None = None
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class RunResult(BaseModel):
    schema_version: int = SCHEMA_VERSION
    mlcontract_version: str = Field(default_factory=lambda: _version())
    contract: str | None = None
    path: str | None = None
    contract_sha256: str | None = Field(None, description="sha256 of the contract's text (UTF-8) as compiled")
    started_at: str | None = Field(None, description="when the run started, ISO 8601 in UTC")
    passed: bool = Field(description="true when no blocking check failed or errored (and no warn, with fail_on warn)")
    fail_on: Literal["fail", "warn"] = Field("fail", description="`warn`: warnings block the gate too")
    counts: dict[str, int]
    seconds: float
    durations: dict[str, float] = Field(default_factory=dict,
                                        description="seconds per stage: compile, execute, evaluate")
    checks: list[CheckResult]

    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status in ("fail", "error")]

    def blocks(self, check: CheckResult) -> bool:
        """Whether this check's status fails the gate (see `blocks`)."""
        return blocks(check.status, self.fail_on)

    def to_json(self, **kwargs) -> str:
        return self.model_dump_json(indent=2, **kwargs)


def blocks(status: str, fail_on: str = "fail") -> bool:
    """Whether a check of this status fails the gate: a failure or an error always (a `warn`
    check that fails has the status `warn`), a warning when the run fails on warnings."""
    return status in ("fail", "error") or (status == "warn" and fail_on == "warn")


def _version() -> str:
    from .. import __version__

    return __version__
