"""What every engine shares: the progress it reports while it works."""
from __future__ import annotations


class Progress:
    """What the backend reports while it works (the CLI draws it with rich)."""

    def start(self, label: str, total: int | None) -> None: ...

    def advance(self, rows: int) -> None: ...

    def finish(self) -> None: ...

    def note(self, text: str) -> None: ...
