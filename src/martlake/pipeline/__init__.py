"""Orchestration: steps, run log, lock."""

from martlake.pipeline._progress import LogProgress, NullProgress, Progress
from martlake.pipeline._sandbox import simulator_config
from martlake.pipeline._steps import STEPS, StepResult, StepStatus
from martlake.pipeline.run import (
    RunOptions,
    RunResult,
    latest_checks,
    plan_steps,
    recent_runs,
    run_pipeline,
    step_log,
)

__all__ = [
    "STEPS",
    "LogProgress",
    "NullProgress",
    "Progress",
    "RunOptions",
    "RunResult",
    "StepResult",
    "StepStatus",
    "latest_checks",
    "plan_steps",
    "recent_runs",
    "run_pipeline",
    "simulator_config",
    "step_log",
]
