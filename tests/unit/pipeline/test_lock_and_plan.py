from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from martlake.errors import ConfigError, LockError
from martlake.pipeline import RunOptions, plan_steps
from martlake.pipeline._lock import RunLock


def test_second_lock_fails_with_holder_pid(tmp_path: Path) -> None:
    with RunLock(tmp_path):
        with pytest.raises(LockError, match=r"pid \d+"):
            with RunLock(tmp_path):
                pass
    with RunLock(tmp_path):
        pass


def test_lock_is_freed_when_its_process_is_killed(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from martlake.pipeline._lock import RunLock;"
        "lock = RunLock(Path(sys.argv[1])); lock.__enter__(); print('held', flush=True);"
        "time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline().strip() == b"held"
    with pytest.raises(LockError):
        RunLock(tmp_path).__enter__()
    child.kill()
    child.wait()
    with RunLock(tmp_path):
        pass


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (RunOptions(), ["extract", "load", "transform", "quality", "reconcile", "publish"]),
        (
            RunOptions(skip=frozenset({"publish", "quality", "reconcile"})),
            ["extract", "load", "transform"],
        ),
        (RunOptions(from_step="transform"), ["transform", "quality", "reconcile", "publish"]),
        (RunOptions(only="quality"), ["quality"]),
        (
            RunOptions(from_step="load", skip=frozenset({"quality"})),
            ["load", "transform", "reconcile", "publish"],
        ),
        (RunOptions(from_step="quality", skip=frozenset({"reconcile"})), ["quality", "publish"]),
    ],
    ids=["all", "skip-three", "from", "only", "from-and-skip", "skip-reconcile"],
)
def test_step_selection(options: RunOptions, expected: list[str]) -> None:
    assert plan_steps(options) == expected


def test_unknown_step_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError, match="did you mean `transform`"):
        plan_steps(RunOptions(only="transfrom"))


def test_only_and_from_together_are_refused() -> None:
    with pytest.raises(ConfigError, match="either --only or --from"):
        plan_steps(RunOptions(only="load", from_step="extract"))
