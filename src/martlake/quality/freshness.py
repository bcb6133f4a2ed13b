"""Freshness: how long ago each raw table last received rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from martlake.config import FreshnessSettings
from martlake.quality._results import CheckResult, Severity
from martlake.warehouse import DuckDBWarehouse

CHECK = "freshness"


def freshness_severity(age_hours: float, settings: FreshnessSettings) -> Severity:
    """OK below the warn threshold, WARN from it, CRITICAL from the critical threshold.

    >>> s = FreshnessSettings()
    >>> [freshness_severity(h, s).value for h in (23.99, 24, 47.99, 48)]
    ['OK', 'WARN', 'WARN', 'CRITICAL']
    """
    if age_hours >= settings.critical_after_hours:
        return Severity.CRITICAL
    if age_hours >= settings.warn_after_hours:
        return Severity.WARN
    return Severity.OK


def freshness_checks(
    warehouse: DuckDBWarehouse,
    expected: Iterable[tuple[str, str]],
    settings: FreshnessSettings,
    now: datetime | None = None,
    per_table: Mapping[str, FreshnessSettings] | None = None,
) -> list[CheckResult]:
    """Check the `expected` raw tables: each configured source's main stream.

    `per_table` replaces `settings` for the tables it names (`schema.table`).

    Age is `now - max(_ingested_at)`. A missing or empty table is CRITICAL. Child tables (refund
    lines, say) are not checked: a quiet week legitimately adds no rows to them, and their
    parent's freshness already says whether the source was read.
    """
    now = now or datetime.now(UTC)
    present = set(warehouse.tables())
    results = []
    for schema, table in sorted(set(expected)):
        name = f"{schema}.{table}"
        if (schema, table) not in present:
            results.append(
                CheckResult(
                    CHECK,
                    name,
                    Severity.CRITICAL,
                    f"`{name}` does not exist: run `martlake run` to load it",
                    checked_at=now,
                )
            )
            continue
        rows, newest = warehouse.query(
            f'select count(*), max("_ingested_at") from "{schema}"."{table}"'
        )[0]
        if rows == 0 or newest is None:
            results.append(
                CheckResult(CHECK, name, Severity.CRITICAL, f"`{name}` is empty", checked_at=now)
            )
            continue
        age = (now - newest).total_seconds() / 3600
        limits = (per_table or {}).get(name, settings)
        severity = freshness_severity(age, limits)
        results.append(
            CheckResult(
                CHECK,
                name,
                severity,
                f"`{name}` last loaded {age:.1f} h ago",
                observed=round(age, 3),
                warn_threshold=limits.warn_after_hours,
                critical_threshold=limits.critical_after_hours,
                checked_at=now,
            )
        )
    return results
