"""What every check receives, the registry of checks, and the runner that keeps their history."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from martlake.config import Project, QualitySettings
from martlake.quality._results import CheckResult, Severity, record_results, worst
from martlake.warehouse import DuckDBWarehouse
from martlake.warehouse.duckdb import META_SCHEMA

logger = logging.getLogger(__name__)

BROKEN_TABLE = "*"
"""The table of the ERROR result of a check that raised: it looked at no table."""


@dataclass(frozen=True)
class MetricPoint:
    """One observed value of a monitored metric, kept in `martlake.dq_metric_history`."""

    metric: str
    table: str
    dimension: str
    day: date | None
    value: float | None


@dataclass
class CheckContext:
    """What a check may read: the warehouse, the settings, the run and a frozen clock."""

    project: Project
    warehouse: DuckDBWarehouse
    run_id: str
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    expected_raw: list[tuple[str, str]] = field(default_factory=list)
    """The raw tables the configured sources load (schema, table)."""
    metrics: list[MetricPoint] = field(default_factory=list)
    accept_schema: bool = False
    as_of: datetime | None = None
    """The business clock when it differs from `now` (a sandbox's simulated present): which
    days have closed is judged by it."""
    """Take the current columns of every table as the accepted schema baseline."""

    @property
    def business_now(self) -> datetime:
        """The instant business days are closed against: `as_of`, else `now`."""
        return self.as_of or self.now

    @property
    def settings(self) -> QualitySettings:
        """The `[quality]` section."""
        return self.project.settings.quality

    def tables(self) -> list[tuple[str, str]]:
        """Every (schema, table) in the warehouse, martlake's own bookkeeping included."""
        return self.warehouse.tables()

    def metric(
        self,
        metric: str,
        table: str,
        value: float | None,
        dimension: str = "",
        day: date | None = None,
    ) -> None:
        """Keep one metric value for the history table (written once the checks have run)."""
        self.metrics.append(MetricPoint(metric, table, dimension, day, value))


Check = Callable[[CheckContext], list[CheckResult]]
"""A check: reads through the context, returns one result per table (or per key) it looked at."""


def run_checks(ctx: CheckContext, checks: Mapping[str, Check]) -> list[CheckResult]:
    """Run each check; one that raises gives an ERROR result instead of silently passing.

    >>> from types import SimpleNamespace
    >>> def broken(ctx): raise ValueError("no such column `x`")
    >>> [r.severity.value for r in run_checks(SimpleNamespace(now=None), {"nulls": broken})]
    ['ERROR']
    """
    results: list[CheckResult] = []
    for name, check in checks.items():
        try:
            found = check(ctx)
        except Exception as exc:  # noqa: BLE001 - check health: a broken check is a result
            logger.warning("check %s broke: %s", name, exc, exc_info=logger.isEnabledFor(10))
            found = [
                CheckResult(
                    name,
                    BROKEN_TABLE,
                    Severity.ERROR,
                    f"check `{name}` could not run: {_one_line(exc)}; fix the cause above or "
                    f"disable it in [quality] of martlake.toml",
                    checked_at=ctx.now or datetime.now(UTC),
                )
            ]
        results.extend(found)
    return results


def run_quality(
    project: Project,
    warehouse: DuckDBWarehouse,
    run_id: str | None = None,
    *,
    checks: Mapping[str, Check] | None = None,
    expected_raw: Sequence[tuple[str, str]] = (),
    now: datetime | None = None,
    accept_schema: bool = False,
    as_of: datetime | None = None,
) -> list[CheckResult]:
    """Run the registered checks and append everything to the history tables.

    Writes one `dq_run` row, the results to `dq_check_result` and the observed metrics to
    `dq_metric_history`.

    Args:
        project: The loaded project.
        warehouse: Its warehouse.
        run_id: The pipeline run the checks belong to; a fresh id when run alone.
        checks: Which checks to run (default: every registered check).
        expected_raw: The raw tables the configured sources should have loaded.
        now: The clock (tests freeze it).
        accept_schema: Accept the current columns of every table as the schema baseline.
        as_of: The business clock, when not `now` (the sandbox's simulated present).

    Returns:
        Every result, worst first within each check.
    """
    from martlake.quality._registry import CHECKS

    run_id = run_id or f"check-{uuid.uuid4().hex[:12]}"
    now = now or datetime.now(UTC)
    warehouse.ensure_meta()
    ctx = CheckContext(
        project,
        warehouse,
        run_id,
        now,
        list(expected_raw),
        accept_schema=accept_schema,
        as_of=as_of,
    )
    results = run_checks(ctx, CHECKS if checks is None else checks)
    record_results(warehouse, run_id, results)
    if ctx.metrics:
        warehouse.executemany(
            f"insert into {META_SCHEMA}.dq_metric_history values (?, ?, ?, ?, ?, ?, ?)",
            [(run_id, m.metric, m.table, m.dimension, m.day, m.value, now) for m in ctx.metrics],
        )
    warehouse.execute(
        f"insert into {META_SCHEMA}.dq_run values (?, ?, ?, ?, ?)",
        [run_id, now, datetime.now(UTC), worst(results).value, len(results)],
    )
    return results


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
