"""Progress events: the library reports, the CLI decides how to show them."""

from __future__ import annotations

import logging
from typing import Protocol

logger = logging.getLogger("martlake.run")


class Progress(Protocol):
    """Receives one call per step start, per unit of work (a stream, a model, a check) and end."""

    def step_started(self, step: str, index: int, total: int) -> None: ...

    def unit(self, step: str, name: str, status: str, rows: int | None, seconds: float) -> None: ...

    def step_finished(
        self, step: str, status: str, rows: int | None, seconds: float, message: str | None
    ) -> None: ...


class LogProgress:
    """Progress as INFO log lines (the default when no terminal is attached)."""

    def step_started(self, step: str, index: int, total: int) -> None:
        logger.info("%d/%d %s ...", index, total, step)

    def unit(self, step: str, name: str, status: str, rows: int | None, seconds: float) -> None:
        shown = f" {rows:,} rows" if rows is not None else ""
        logger.info("  %s %s.%s%s in %.1fs", status.upper(), step, name, shown, seconds)

    def step_finished(
        self, step: str, status: str, rows: int | None, seconds: float, message: str | None
    ) -> None:
        shown = f" {rows:,} rows" if rows is not None else ""
        tail = f" — {message}" if message else ""
        logger.info("%s %s%s in %.1fs%s", status.upper(), step, shown, seconds, tail)


class NullProgress:
    """Says nothing (library use, tests)."""

    def step_started(self, step: str, index: int, total: int) -> None:
        pass

    def unit(self, step: str, name: str, status: str, rows: int | None, seconds: float) -> None:
        pass

    def step_finished(
        self, step: str, status: str, rows: int | None, seconds: float, message: str | None
    ) -> None:
        pass
