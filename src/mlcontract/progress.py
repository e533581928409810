"""A rich progress bar for scans and profiling, drawn on stderr (the report goes to stdout)."""
from __future__ import annotations

import os

from rich.console import Console
from rich.markup import escape as markup_escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from .engines.base import Progress as ProgressProtocol
from .escape import printable


def _shown(text: str) -> str:
    """Labels name datasets, files and columns: escaped for the log, and for rich's markup."""
    return markup_escape(printable(text))


class RichProgress(ProgressProtocol):
    def __init__(self) -> None:
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        # MLC_PROGRESS=1 asks for the bar even when stderr is not a terminal (CI logs, tests).
        self._console = Console(stderr=True, force_terminal=bool(os.environ.get("MLC_PROGRESS")) or None)

    def start(self, label: str, total: int | None) -> None:
        self.finish()
        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=self._console, transient=True)
        self._bar.start()
        self._task = self._bar.add_task(_shown(label), total=total)

    def advance(self, rows: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, rows)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def note(self, text: str) -> None:
        self._console.print(f"[dim]{_shown(text)}[/dim]", highlight=False)
