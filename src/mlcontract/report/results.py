"""The result schema: what `mlc check --json` writes and `Contract.run` returns.

`CheckResult` and `RunResult` are plain dataclasses, so building them costs nothing at start-up:
as pydantic models they cost every `mlc check` ~0.1 s (pydantic's import and the models'
schemas), though only the JSON formats serialize them. Pydantic serializes and validates them
when asked, through a TypeAdapter built on first use; they keep the API of the pydantic models
they were (`model_dump`, `model_dump_json`, `model_validate`, `model_validate_json`,
`model_copy`, `model_json_schema` with the fields' descriptions), and the JSON they write is
the same, byte for byte.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from ..resolve.contract import CheckKind

Status = Literal["pass", "fail", "warn", "error"]
STATUSES = ("pass", "fail", "warn", "error")
# 1: the first versioned schema (adds schema_version, mlcontract_version, contract_sha256,
# started_at, durations, fail_on; CheckResult.column/end_column/unit/display_unit/from_selector;
# details["plot"]). A reader of version 1 reads every later version 1 file: fields are only
# ever added; a change of a field's meaning or a removal is a new version (docs/reports.md).
SCHEMA_VERSION = 1

_T = TypeVar("_T", bound="_Schema")


def _about(description: str) -> dict[str, str]:
    """A field's description, which pydantic puts in the JSON schema."""
    return {"description": description}


class _Schema:
    """What the pydantic models offered, done by pydantic on demand."""

    def model_dump(self, **options: Any) -> dict[str, Any]:
        return _adapter(type(self)).dump_python(self, **options)

    def model_dump_json(self, **options: Any) -> str:
        return _adapter(type(self)).dump_json(self, **options).decode("utf-8")

    @classmethod
    def model_validate(cls: type[_T], data: Any, **options: Any) -> _T:
        return _adapter(cls).validate_python(data, **options)

    @classmethod
    def model_validate_json(cls: type[_T], data: str | bytes, **options: Any) -> _T:
        return _adapter(cls).validate_json(data, **options)

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        """The JSON schema of this record, with the fields' descriptions."""
        return _adapter(cls).json_schema()

    def model_copy(self: _T, *, update: dict[str, Any] | None = None, deep: bool = False) -> _T:
        copied = copy.deepcopy(self) if deep else self
        return dataclasses.replace(copied, **(update or {}))  # type: ignore[type-var]


_ADAPTERS: dict[type, Any] = {}


def _adapter(cls: type) -> Any:
    """The pydantic TypeAdapter of a record class, built once."""
    if cls not in _ADAPTERS:
        from pydantic import TypeAdapter

        _ADAPTERS[cls] = TypeAdapter(cls)
    return _ADAPTERS[cls]


@dataclass(kw_only=True)
class CheckResult(_Schema):
    """One expanded check: a selector line with three features gives three results."""

    index: int
    line: int
    column: int | None = field(default=None, metadata=_about("1-based column where the check starts on its line"))
    end_column: int | None = field(default=None,
                                   metadata=_about("column just past the check, when it ends on its line"))
    source: str = field(metadata=_about("the contract line"))
    kind: CheckKind = field(metadata=_about("what the check is about: data, model, curve, robustness or latency"))
    status: Status
    blocking: bool = field(metadata=_about("false for `warn` checks: a failure does not fail the gate"))
    subject: str = field(metadata=_about("the dataset, model or history the check is about"))
    feature: str | None = None
    statistic: str
    # Carried from the checked spec so that every report format shows them without re-deriving.
    unit: str | None = field(default=None, metadata=_about('the measure\'s unit: null, "s" (a duration) or "rows/s"'))
    display_unit: str | None = field(default=None, metadata=_about(
        'the unit the contract wrote the threshold in: null, "%", "µs", "ms", "s", "min", "h", "d" or "rows/s" '
        "(value and threshold are in the measure's unit whatever it is: 1% is 0.01, 250ms is 0.25)"))
    from_selector: bool = field(default=False, metadata=_about(
        "the feature was chosen by a selector, or the line expanded into several checks"))
    # Union[int, float]: an int stays an int (an integer column's max of 2**53 + 1 keeps every digit)
    value: int | float | None = field(default=None, metadata=_about("the observed value"))
    threshold: int | float | None = field(default=None, metadata=_about("the right-hand side, evaluated"))
    comparator: str | None = None
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # What the pydantic model did on construction and the reports rely on: a kind given as
        # its word ("data") is the CheckKind (grouping looks kinds up by it), a status is one of four.
        self.kind = CheckKind(self.kind)
        if self.status not in STATUSES:
            raise ValueError(f"a check's status is one of {', '.join(STATUSES)}, not {self.status!r}")


@dataclass(kw_only=True)
class RunResult(_Schema):
    schema_version: int = SCHEMA_VERSION
    mlcontract_version: str = field(default_factory=lambda: _version())
    contract: str | None = None
    path: str | None = None
    contract_sha256: str | None = field(default=None,
                                        metadata=_about("sha256 of the contract's text (UTF-8) as compiled"))
    started_at: str | None = field(default=None, metadata=_about("when the run started, ISO 8601 in UTC"))
    passed: bool = field(metadata=_about(
        "true when no blocking check failed or errored (and no warn, with fail_on warn)"))
    fail_on: Literal["fail", "warn"] = field(default="fail", metadata=_about("`warn`: warnings block the gate too"))
    counts: dict[str, int]
    seconds: float
    durations: dict[str, float] = field(default_factory=dict,
                                        metadata=_about("seconds per stage: compile, execute, evaluate"))
    checks: list[CheckResult]

    def __post_init__(self) -> None:
        if self.fail_on not in ("fail", "warn"):
            raise ValueError(f"fail_on is `fail` or `warn`, not {self.fail_on!r}")
        # float fields hold floats, as the pydantic model made them (`0` is written `0.0`)
        self.seconds = float(self.seconds)
        self.durations = {stage: float(seconds) for stage, seconds in self.durations.items()}
        self.checks = [c if isinstance(c, CheckResult) else CheckResult(**c) for c in self.checks]

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
