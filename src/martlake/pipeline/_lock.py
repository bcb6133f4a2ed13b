"""One run at a time per project: an OS file lock, released even when the process is killed."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from martlake.errors import LockError


class RunLock:
    """Exclusive, non-blocking lock on `<state_dir>/run.lock`.

    Raises:
        LockError: On enter, when another process holds the lock.
    """

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self._path = state_dir / "run.lock"
        self._info = state_dir / "run.lock.json"
        self._lock = FileLock(str(self._path), timeout=0)

    def __enter__(self) -> RunLock:
        try:
            self._lock.acquire()
        except Timeout:
            raise LockError(
                f"another martlake run holds the lock on this project ({self._holder()}): "
                "wait for it to finish; the lock frees itself when that process ends"
            ) from None
        self._info.write_text(
            json.dumps({"pid": os.getpid(), "since": datetime.now(UTC).isoformat()})
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._info.unlink(missing_ok=True)
        self._lock.release()

    def _holder(self) -> str:
        try:
            info = json.loads(self._info.read_text())
            return f"pid {info['pid']} since {info['since'][:19]}Z"
        except (OSError, ValueError, KeyError):
            return "another process"
