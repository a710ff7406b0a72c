"""What the client commands print: JSON and tables on stdout, notes and progress on stderr."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from typing import Any


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def short_time(value: Any) -> str:
    return text(value)[:19].replace("T", " ")


def clip(value: str | None, limit: int = 200) -> str:
    """A long text's start, on one line, for a table cell."""
    flat = " ".join((value or "").split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def page_caption(page: int, per_page: int, filtered: int, total: int, what: str) -> str:
    """"page 1 of 3, 25 agents (40 in all)": where a list page stands."""
    pages = max(1, -(-filtered // per_page)) if per_page > 0 else 1
    caption = f"page {page} of {pages}, {filtered} {what}"
    return caption + (f" ({total} in all)" if total != filtered else "")


def stderr():
    from rich.console import Console

    return Console(stderr=True)


def note(message: str) -> None:
    stderr().print(message, highlight=False)


def table(headers: list[str], rows: list[list[str]], caption: str | None = None) -> None:
    """A readable table on stdout (plain columns when stdout is not a terminal)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(*headers, caption=caption, box=None, header_style="bold", pad_edge=False)
    for row in rows:
        table.add_row(*row)
    Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200).print(table)


class Progress(contextlib.AbstractContextManager):
    """Progress on stderr: a byte bar while uploading, then a spinner with the job's state
    while waiting. Silent with ``--json`` and when stderr is not a terminal."""

    def __init__(self, quiet: bool):
        self.console = stderr()
        self.enabled = not quiet and self.console.is_terminal
        self.bar = None
        self.status = None

    def __exit__(self, *exc_info) -> None:
        self._stop()

    def _stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        if self.status is not None:
            self.status.stop()
            self.status = None

    def upload(self, name: str) -> Callable[[int, int], None] | None:
        if not self.enabled:
            return None
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._stop()
        self.bar = Progress(TextColumn(f"uploading {name}"), BarColumn(), DownloadColumn(),
                            TransferSpeedColumn(), TimeRemainingColumn(), console=self.console,
                            transient=True)
        self.bar.start()
        task = self.bar.add_task("upload", total=None)

        def advance(sent: int, total: int) -> None:
            if self.bar is not None:
                self.bar.update(task, completed=sent, total=total or None)
        return advance

    def spinner(self, what: str) -> Callable[[Any], None] | None:
        """Show ``what`` with a spinner; the returned callback shows a job's state beside it."""
        if not self.enabled:
            return None
        self._stop()
        self.status = self.console.status(what)
        self.status.start()

        def show(job: Any) -> None:  # a job, or anything with a status (a KB item)
            if self.status is not None:
                state = getattr(job, "state", None) or str(job.status).lower()
                self.status.update(f"{what} ({state})")
        return show
