"""Orchestration: steps, run log, lock."""

from martlake.pipeline._progress import LogProgress, NullProgress, Progress
from martlake.pipeline._sandbox import sandbox_server, simulator_config
from martlake.pipeline._steps import STEPS, StepResult, StepStatus
from martlake.pipeline.checks import CheckRun, CheckState, check_project, check_states
from martlake.pipeline.docs import build_docs
from martlake.pipeline.run import (
    RunOptions,
    RunResult,
    latest_checks,
    plan_steps,
    recent_runs,
    run_pipeline,
    step_log,
)
from martlake.pipeline.sources_status import SourceState, SourceStatus, source_statuses

__all__ = [
    "STEPS",
    "CheckRun",
    "CheckState",
    "LogProgress",
    "NullProgress",
    "Progress",
    "RunOptions",
    "RunResult",
    "SourceState",
    "SourceStatus",
    "StepResult",
    "StepStatus",
    "build_docs",
    "check_project",
    "check_states",
    "latest_checks",
    "plan_steps",
    "recent_runs",
    "run_pipeline",
    "sandbox_server",
    "simulator_config",
    "source_statuses",
    "step_log",
]
