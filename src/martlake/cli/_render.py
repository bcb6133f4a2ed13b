"""Terminal rendering: progress lines, tables, one-line errors."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.status import Status

STATUS_STYLE = {
    "ok": "green",
    "success": "green",
    "pass": "green",
    "warn": "yellow",
    "skipped": "dim",
    "failed": "bold red",
    "error": "bold red",
    "fail": "bold red",
    "critical": "bold red",
    "running": "cyan",
}


def styled(status: str) -> str:
    """`status` upper-cased with its colour markup."""
    style = STATUS_STYLE.get(status.lower(), "")
    return f"[{style}]{status.upper()}[/]" if style else status.upper()


class RichProgress:
    """Prints `3/12 OK shopify.orders ... 12,408 rows in 1.9s` lines, with a spinner on a TTY."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._status: Status | None = None
        self._index = ""

    def step_started(self, step: str, index: int, total: int) -> None:
        self._index = f"{index}/{total}"
        self.console.print(f"[bold]{self._index} {step}[/] ...", highlight=False)
        self.console.file.flush()
        if self.console.is_terminal:
            self._status = self.console.status(f"{step} ...")
            self._status.start()

    def unit(self, step: str, name: str, status: str, rows: int | None, seconds: float) -> None:
        shown = f" {rows:,} rows" if rows is not None else ""
        self.console.print(
            f"    {styled(status)} {escape(name)}{shown} in {seconds:.1f}s", highlight=False
        )
        self.console.file.flush()

    def step_finished(
        self, step: str, status: str, rows: int | None, seconds: float, message: str | None
    ) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        shown = f" {rows:,} rows" if rows is not None else ""
        tail = f" — {escape(message)}" if message else ""
        self.console.print(
            f"{self._index} {styled(status)} {step}{shown} in {seconds:.1f}s{tail}",
            highlight=False,
        )


def fmt_seconds(value: Any) -> str:
    """`12.3s` or an empty string."""
    return f"{value:.1f}s" if isinstance(value, int | float) else ""
