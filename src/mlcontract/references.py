"""Reference numbers from outside the data (issue 13): `metrics monitoring =
json("monitoring/prod.json")` declares a JSON document of named numbers, and `monitoring.auc`
(`monitoring.latency.p95`, `last_gate.checks.0.value`: a number part indexes a list) stands for
one of them on any right-hand side: `auc on holdout >= monitoring.auc - 0.02`.

The file is read when the contract runs, once per run (one `ReferenceFile` request however many
checks use it), by the handler below (models/handlers.py lists it). A missing file, invalid JSON,
a missing key or a value that is not a finite number makes the checks that use it `error`s.
The number is taken in the unit of the measure it is compared with (a latency in seconds).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from .errors import CheckError, DataError
from .plan.measures import Measure
from .plan.observation import Observation, fetch
from .plan.requests import Request

MAX_BYTES = 16 * 2**20  # a file of reference numbers, not a dataset


@dataclass(frozen=True)
class ReferenceFile(Request):
    """The parsed JSON document of a `metrics` declaration (`source`), read from `path`."""

    source: str
    path: str

    order: ClassVar[int] = 0

    def describe(self) -> str:
        return f"read metrics `{self.source}`"


@dataclass(frozen=True)
class ReferenceNumber(Measure):
    """One number of a `metrics` document: `keys` is the path written after the name."""

    source: str
    path: str
    keys: tuple[str, ...]

    def requests(self):
        return (ReferenceFile(self.source, self.path),)

    def compute(self, got) -> Observation:
        from .escape import printable

        node: Any = fetch(got, ReferenceFile(self.source, self.path))
        walked = self.source
        for key in self.keys:
            if isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            elif isinstance(node, dict) and key in node:
                node = node[key]
            else:
                raise CheckError(f"`{printable(walked, 120)}` has no `{printable(key, 80)}` in {printable(self.path, 200)}")
            walked += f".{key}"
        if isinstance(node, bool) or not isinstance(node, (int, float)) or not math.isfinite(node):
            raise CheckError(f"`{printable(walked, 120)}` is not a finite number in {printable(self.path, 200)}: "
                             f"{printable(repr(node), 80)}")
        return Observation(node)


def read_reference_file(request: ReferenceFile, inputs: Any, got: dict) -> Any:
    """The handler: the JSON document, read once per run (a DataError says what is wrong)."""
    import json
    from pathlib import Path

    from .escape import printable
    from .sources.files import check_readable

    path = Path(request.path)
    what = f"metrics `{request.source}`"
    check_readable(path, what)
    if path.stat().st_size > MAX_BYTES:
        raise DataError(f"{what}: {printable(request.path, 200)} is over {MAX_BYTES // 2**20} MiB")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise DataError(f"{what}: {printable(request.path, 200)} is not valid JSON: "
                        f"{printable(str(error), 200)}") from error
