"""Check results and their append-only history table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from martlake.warehouse import DuckDBWarehouse
from martlake.warehouse.duckdb import META_SCHEMA


class Severity(StrEnum):
    """How bad a check result is, from best to worst. SKIPPED (the check did not run) ranks
    below OK: a clean run with a skipped table is OK, not SKIPPED."""

    SKIPPED = "SKIPPED"
    OK = "OK"
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        """Position from SKIPPED (0) and OK (1) to CRITICAL."""
        return list(Severity).index(self)


@dataclass(frozen=True)
class CheckResult:
    """One check on one table."""

    check: str
    table: str
    severity: Severity
    message: str
    observed: float | None = None
    warn_threshold: float | None = None
    critical_threshold: float | None = None
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def worst(results: Iterable[CheckResult]) -> Severity:
    """The worst severity among results (`OK` when there are none).

    >>> ok = CheckResult("c", "a", Severity.OK, "")
    >>> skipped = CheckResult("c", "b", Severity.SKIPPED, "")
    >>> worst([ok, skipped]).value, worst([skipped]).value
    ('OK', 'SKIPPED')
    """
    return max((r.severity for r in results), key=lambda s: s.rank, default=Severity.OK)


def record_results(warehouse: DuckDBWarehouse, run_id: str, results: Sequence[CheckResult]) -> None:
    """Append results to `martlake.dq_check_result`."""
    warehouse.executemany(
        f"insert into {META_SCHEMA}.dq_check_result values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                run_id,
                r.check,
                r.table,
                r.severity.value,
                r.observed,
                r.warn_threshold,
                r.critical_threshold,
                r.message,
                r.checked_at,
            )
            for r in results
        ],
    )
