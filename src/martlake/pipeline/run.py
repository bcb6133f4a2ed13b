"""`martlake run`: the steps in order, under a lock, logged to the warehouse."""

from __future__ import annotations

import difflib
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from martlake.alerts import AlertOutcome
from martlake.config import Project, redact
from martlake.errors import ConfigError, MartlakeError
from martlake.pipeline._lock import RunLock
from martlake.pipeline._progress import NullProgress, Progress
from martlake.pipeline._steps import (
    STEP_FUNCTIONS,
    STEPS,
    RunContext,
    StepResult,
    StepStatus,
    send_run_alerts,
)
from martlake.quality import CheckResult, Severity
from martlake.warehouse import DuckDBWarehouse
from martlake.warehouse.duckdb import META_SCHEMA

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """Which steps to run and over which dates.

    Attributes:
        skip: Steps to leave out.
        from_step: Start at this step (and run every later one).
        only: Run this step alone.
        start_date: Backfill: re-read sources from this day.
        end_date: Backfill: read sources up to this day.
        full_refresh: Ignore watermarks and rebuild incremental models from scratch.
        alerts: Send the checks' alerts; False sends none and leaves the alert history as it
            is (a backfill or a rerun that should not tell anyone).
    """

    skip: frozenset[str] = frozenset()
    from_step: str | None = None
    only: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    full_refresh: bool = False
    alerts: bool = True


@dataclass
class RunResult:
    """What a run did; `exit_code` is 0 (ok), 1 (a model or CRITICAL check failed)."""

    run_id: str
    started_at: datetime
    finished_at: datetime | None = None
    steps: list[StepResult] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    alerts: list[AlertOutcome] = field(default_factory=list)
    output_dir: Path | None = None

    @property
    def exit_code(self) -> int:
        """0 when every step passed, 1 when a model failed or a check was CRITICAL/ERROR."""
        failed = any(s.status is StepStatus.FAILED for s in self.steps)
        critical = any(c.severity in (Severity.CRITICAL, Severity.ERROR) for c in self.checks)
        return 1 if failed or critical else 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the content of `run.json`)."""
        return {
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "exit_code": self.exit_code,
            "steps": [
                {
                    "step": s.step,
                    "status": s.status.value,
                    "seconds": round(s.seconds, 3),
                    "rows": s.rows,
                    "message": s.message,
                }
                for s in self.steps
            ],
            "checks": [
                {
                    "check": c.check,
                    "table": c.table,
                    "severity": c.severity.value,
                    "observed": c.observed,
                    "message": c.message,
                }
                for c in self.checks
            ],
            "alerts": [
                {"status": a.status.value, "channel": a.channel, "subject": a.subject}
                | ({"error": a.error} if a.error else {})
                for a in self.alerts
            ],
        }


def plan_steps(options: RunOptions) -> list[str]:
    """The steps a run will execute, in order.

    Raises:
        ConfigError: An unknown step name, or `--only` combined with `--from`.
    """
    for name in [options.from_step, options.only, *options.skip]:
        if name is not None and name not in STEPS:
            close = difflib.get_close_matches(name, STEPS, n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"steps: {', '.join(STEPS)}"
            raise ConfigError(f"unknown step `{name}`: {hint}")
    if options.only and options.from_step:
        raise ConfigError("use either --only or --from, not both")
    if options.start_date and options.end_date and options.start_date > options.end_date:
        raise ConfigError(
            f"--start-date `{options.start_date}` is after --end-date `{options.end_date}`: "
            "swap them"
        )
    if options.only:
        return [options.only]
    start = STEPS.index(options.from_step) if options.from_step else 0
    return [s for s in STEPS[start:] if s not in options.skip]


def run_pipeline(
    project: Project,
    options: RunOptions | None = None,
    *,
    progress: Progress | None = None,
    http_options: dict[str, float] | None = None,
) -> RunResult:
    """Run the pipeline once.

    Args:
        project: The loaded project.
        options: Step selection and backfill dates.
        progress: Receives step and unit events (the CLI renders them).
        http_options: Passed to each source's HTTP client (`max_attempts`, `backoff`, `timeout`).

    Returns:
        The run's result, also written to `martlake.runs`/`martlake.run_log` and, when
        publish ran, to `run.json` in the output folder.

    Raises:
        LockError: Another run holds the project's lock.
        MartlakeError: A step could not complete (config, source, warehouse).
    """
    options = options or RunOptions()
    steps = plan_steps(options)
    progress = progress or NullProgress()
    started_at = datetime.now(UTC)
    run_id = f"{started_at:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    warehouse = DuckDBWarehouse(project.warehouse_path)
    with RunLock(project.state_dir):
        warehouse.ensure_meta()
        # Holding the lock, no other run is alive: a 'running' row is a run that was killed.
        warehouse.execute(
            f"update {META_SCHEMA}.runs set status = 'killed', exit_code = 2, "
            "message = 'the process ended without finishing the run' where status = 'running'"
        )
        warehouse.execute(
            f"insert into {META_SCHEMA}.runs values (?, ?, null, 'running', null, ?, null)",
            [run_id, started_at, ",".join(steps)],
        )
        rc = RunContext(
            project=project,
            warehouse=warehouse,
            run_id=run_id,
            started_at=started_at,
            progress=progress,
            start_date=options.start_date,
            end_date=options.end_date,
            full_refresh=options.full_refresh,
            send_alerts=options.alerts,
            http_options=dict(http_options or {}),
        )
        result = RunResult(run_id=run_id, started_at=started_at)
        try:
            for index, step in enumerate(steps, 1):
                if step in ("reconcile", "publish") and _transform_failed(result):
                    result.steps.append(_skip(rc, step, index, len(steps)))
                    continue
                result.steps.append(_run_step(rc, step, index, len(steps)))
        except BaseException as exc:
            if isinstance(exc, Exception):
                send_run_alerts(rc)
            _finish(warehouse, result, "failed", redact(str(exc))[:500] or type(exc).__name__)
            raise
        send_run_alerts(rc)
        result.checks = rc.checks
        result.alerts = rc.alerts
        if any(s.step == "publish" and s.status is not StepStatus.SKIPPED for s in result.steps):
            result.output_dir = rc.output_dir
        _finish(warehouse, result, "ok" if result.exit_code == 0 else "failed", None)
        if result.output_dir is not None:
            _write_run_json(result.output_dir / "run.json", result)
    return result


def _run_step(rc: RunContext, step: str, index: int, total: int) -> StepResult:
    rc.progress.step_started(step, index, total)
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    try:
        result = STEP_FUNCTIONS[step](rc)
    except MartlakeError as exc:
        seconds = time.perf_counter() - started
        message = redact(str(exc))
        _log_step(rc, StepResult(step, StepStatus.FAILED, seconds, None, message, started_at))
        rc.progress.step_finished(step, StepStatus.FAILED.value, None, seconds, message)
        raise
    result.seconds = time.perf_counter() - started
    result.started_at = started_at
    _log_step(rc, result)
    rc.progress.step_finished(
        step, result.status.value, result.rows, result.seconds, result.message
    )
    return result


def _transform_failed(result: RunResult) -> bool:
    return any(s.step == "transform" and s.status is StepStatus.FAILED for s in result.steps)


def _skip(rc: RunContext, step: str, index: int, total: int) -> StepResult:
    # Publishing, or reconciling against the sources, a mix of rebuilt and stale marts would
    # look normal and be wrong (reconcile would raise CRITICALs about the stale ones).
    rc.progress.step_started(step, index, total)
    message = "skipped: the transform failed, so the marts are not consistent"
    result = StepResult(step, StepStatus.SKIPPED, 0.0, None, message, datetime.now(UTC))
    _log_step(rc, result)
    rc.progress.step_finished(step, result.status.value, None, 0.0, message)
    return result


def _log_step(rc: RunContext, result: StepResult) -> None:
    rc.warehouse.execute(
        f"insert into {META_SCHEMA}.run_log values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            rc.run_id,
            result.step,
            result.status.value,
            result.started_at,
            datetime.now(UTC),
            result.seconds,
            result.rows,
            redact(result.message) if result.message else None,
        ],
    )


def _finish(
    warehouse: DuckDBWarehouse, result: RunResult, status: str, message: str | None
) -> None:
    result.finished_at = datetime.now(UTC)
    exit_code = result.exit_code if status != "failed" or message is None else 2
    try:
        warehouse.execute(
            f"update {META_SCHEMA}.runs set finished_at = ?, status = ?, exit_code = ?, "
            "message = ? where run_id = ?",
            [result.finished_at, status, exit_code, message, result.run_id],
        )
    except MartlakeError:
        logger.warning("could not record the end of run %s", result.run_id)


def _write_run_json(path: Path, result: RunResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")


def recent_runs(project: Project, limit: int = 10) -> list[dict[str, Any]]:
    """The last runs with their steps, newest first (for `martlake status`)."""
    warehouse = DuckDBWarehouse(project.warehouse_path)
    if not warehouse.exists(META_SCHEMA, "runs"):
        return []
    runs = warehouse.query(
        f"select run_id, started_at, finished_at, status, exit_code, steps, message "
        f"from {META_SCHEMA}.runs order by started_at desc limit ?",
        [limit],
    )
    keys = ("run_id", "started_at", "finished_at", "status", "exit_code", "steps", "message")
    return [dict(zip(keys, row, strict=True)) for row in runs]


def latest_checks(project: Project) -> list[CheckResult]:
    """Check results of the most recent run that ran checks."""
    warehouse = DuckDBWarehouse(project.warehouse_path)
    if not warehouse.exists(META_SCHEMA, "dq_check_result"):
        return []
    rows = warehouse.query(
        f"""select check_name, table_name, severity, message, observed_value, warn_threshold,
                   critical_threshold, checked_at
            from {META_SCHEMA}.dq_check_result
            where run_id = (select run_id from {META_SCHEMA}.dq_check_result
                            order by checked_at desc limit 1)
            order by table_name"""
    )
    return [CheckResult(c, t, Severity(s), m, o, w, cr, at) for c, t, s, m, o, w, cr, at in rows]


def step_log(project: Project, run_id: str) -> list[tuple[Any, ...]]:
    """(step, status, seconds, rows, message) of one run, in order."""
    return DuckDBWarehouse(project.warehouse_path).query(
        f"select step, status, seconds, rows, message from {META_SCHEMA}.run_log "
        "where run_id = ? order by started_at",
        [run_id],
    )
