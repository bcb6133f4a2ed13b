"""`martlake check` (the checks alone) and the current state of every check."""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from martlake.alerts import AlertOutcome, dispatch
from martlake.config import Project
from martlake.errors import ConfigError
from martlake.pipeline._lock import RunLock
from martlake.pipeline._sandbox import business_clock, configured_sources
from martlake.quality import CheckResult, Severity, run_quality
from martlake.sources import source_class
from martlake.warehouse import DuckDBWarehouse
from martlake.warehouse.duckdb import META_SCHEMA


def expected_raw(project: Project) -> list[tuple[str, str]]:
    """The main raw table of each configured source (`raw_shopify`, `orders`)."""
    return [
        (f"raw_{name}", source_class(name).cursor.table) for name in configured_sources(project)
    ]


@dataclass(frozen=True)
class CheckRun:
    """What `martlake check` did: its results and the alerts they sent."""

    run_id: str
    results: list[CheckResult]
    alerts: list[AlertOutcome] = field(default_factory=list)


def check_project(
    project: Project,
    *,
    only: Sequence[str] = (),
    accept_schema: bool = False,
    alerts: bool = True,
    now: datetime | None = None,
) -> CheckRun:
    """Run the data-quality checks alone (no extraction, no dbt) under the project's lock,
    and send their alerts as a run does (CRITICAL/ERROR one message each, the warnings in one
    message, resolutions).

    Args:
        project: The loaded project.
        only: Names of the checks to run; every registered check when empty.
        accept_schema: Accept every table's current columns as the schema baseline.
        alerts: False sends no alert and leaves the alert history as it is.
        now: The clock (tests freeze it).

    Returns:
        Every result (also appended to the history tables) and the alerts sent.

    Raises:
        ConfigError: `only` names an unknown check.
        LockError: A run holds the project's lock.
    """
    from martlake.quality._registry import CHECKS

    unknown = [name for name in only if name not in CHECKS]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(CHECKS), n=1)
        hint = f"did you mean `{close[0]}`? " if close else ""
        raise ConfigError(
            f"no check named `{unknown[0]}`: {hint}the checks are {', '.join(CHECKS)}"
        )
    checks = {name: CHECKS[name] for name in only} if only else None
    warehouse = DuckDBWarehouse(project.warehouse_path)
    run_id = f"check-{uuid.uuid4().hex[:12]}"
    with RunLock(project.state_dir):
        results = run_quality(
            project,
            warehouse,
            run_id,
            checks=checks,
            expected_raw=expected_raw(project),
            now=now,
            accept_schema=accept_schema,
            as_of=business_clock(project),
        )
        sent = dispatch(project, warehouse, run_id, results, now) if alerts else []
    return CheckRun(run_id, results, sent)


@dataclass(frozen=True)
class CheckState:
    """The current result of one check on one table, and since when it has had that severity."""

    check: str
    table: str
    severity: Severity | None
    """None for a check that has not run yet."""
    message: str
    checked_at: datetime | None
    since: datetime | None


def check_states(project: Project) -> list[CheckState]:
    """Every registered check's results of the last check run that ran it, plus a row for each
    check that never ran; `since` is when the (check, table) entered its current severity."""
    from martlake.quality._registry import CHECKS

    warehouse = DuckDBWarehouse(project.warehouse_path)
    rows: list[tuple[object, ...]] = []
    if warehouse.exists(META_SCHEMA, "dq_check_result"):
        rows = warehouse.query(
            f"""with history as (select * from {META_SCHEMA}.dq_check_result),
                latest_run as (
                    select check_name, run_id from history
                    group by check_name, run_id
                    qualify row_number() over (
                        partition by check_name order by max(checked_at) desc, run_id desc) = 1
                ),
                current as (
                    select h.* from history as h join latest_run using (check_name, run_id)
                )
                select c.check_name, c.table_name, c.severity, c.message, c.checked_at, (
                    select min(h.checked_at) from history as h
                    where h.check_name = c.check_name and h.table_name = c.table_name
                      and h.checked_at > coalesce((
                        select max(d.checked_at) from history as d
                        where d.check_name = c.check_name and d.table_name = c.table_name
                          and d.severity <> c.severity), '-infinity'::timestamptz)
                ) as since
                from current as c
                order by c.check_name, c.table_name"""
        )
    states = [
        CheckState(str(c), str(t), Severity(str(s)), str(m), at, since)  # type: ignore[arg-type]
        for c, t, s, m, at, since in rows
    ]
    seen = {s.check for s in states}
    order = {name: i for i, name in enumerate(CHECKS)}
    states += [
        CheckState(name, "", None, "not run yet", None, None) for name in CHECKS if name not in seen
    ]
    return sorted(states, key=lambda s: (order.get(s.check, len(order)), s.check, s.table))
