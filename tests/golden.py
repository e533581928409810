"""Golden files: `tests/fixtures/<stage>/NAME.mlc` beside the expected `NAME.txt`.

Run `MLC_UPDATE_GOLDEN=1 pytest tests/...` to (re)write the expected files after a deliberate
change — and read the diff before committing it.
"""
from __future__ import annotations

import os
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def cases(stage: str) -> list[Path]:
    return sorted((FIXTURES / stage).glob("*.mlc"))


def compare(contract: Path, actual: str) -> None:
    expected_file = contract.with_suffix(".txt")
    if os.environ.get("MLC_UPDATE_GOLDEN") or not expected_file.exists():
        if not os.environ.get("MLC_UPDATE_GOLDEN"):
            raise AssertionError(f"missing golden file {expected_file.name}; run with MLC_UPDATE_GOLDEN=1")
        expected_file.write_text(actual, encoding="utf-8")
        return
    expected = expected_file.read_text(encoding="utf-8")
    assert actual == expected, f"{contract.name}: rendered output differs from {expected_file.name}"
