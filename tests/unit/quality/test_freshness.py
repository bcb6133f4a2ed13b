from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from martlake.config import FreshnessSettings
from martlake.quality import Severity, freshness_checks, record_results
from martlake.warehouse import DuckDBWarehouse

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EXPECTED = [("raw_shop", "orders")]


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(tmp_path / "w.duckdb")
    wh.ensure_meta()
    return wh


def load_at(wh: DuckDBWarehouse, table: str, age: timedelta | None) -> None:
    wh.execute("create schema if not exists raw_shop")
    wh.execute(f"create table raw_shop.{table} (id int, _ingested_at timestamptz)")
    if age is not None:
        wh.execute(f"insert into raw_shop.{table} values (1, ?)", [NOW - age])


@pytest.mark.parametrize(
    ("age", "severity"),
    [
        (timedelta(hours=23, minutes=59), Severity.OK),
        (timedelta(hours=24), Severity.WARN),
        (timedelta(hours=47, minutes=59), Severity.WARN),
        (timedelta(hours=48), Severity.CRITICAL),
    ],
    ids=["23h59", "24h00", "47h59", "48h00"],
)
def test_freshness_boundaries_on_a_frozen_clock(
    warehouse: DuckDBWarehouse, age: timedelta, severity: Severity
) -> None:
    load_at(warehouse, "orders", age)
    [result] = freshness_checks(warehouse, EXPECTED, FreshnessSettings(), now=NOW)
    assert result.table == "raw_shop.orders"
    assert result.severity is severity


def test_empty_and_missing_tables_are_critical(warehouse: DuckDBWarehouse) -> None:
    load_at(warehouse, "orders", None)
    results = freshness_checks(
        warehouse, [("raw_shop", "orders"), ("raw_ads", "insights")], FreshnessSettings(), now=NOW
    )
    by_table = {r.table: r for r in results}
    assert by_table["raw_shop.orders"].severity is Severity.CRITICAL
    assert "empty" in by_table["raw_shop.orders"].message
    assert by_table["raw_ads.insights"].severity is Severity.CRITICAL
    assert "does not exist" in by_table["raw_ads.insights"].message


def test_thresholds_come_from_settings(warehouse: DuckDBWarehouse) -> None:
    load_at(warehouse, "orders", timedelta(hours=3))
    settings = FreshnessSettings(warn_after_hours=1, critical_after_hours=2)
    [result] = freshness_checks(warehouse, EXPECTED, settings, now=NOW)
    assert result.severity is Severity.CRITICAL


def test_results_are_appended_to_history(warehouse: DuckDBWarehouse) -> None:
    load_at(warehouse, "orders", timedelta(hours=1))
    for run in ("r1", "r2"):
        record_results(
            warehouse, run, freshness_checks(warehouse, EXPECTED, FreshnessSettings(), NOW)
        )
    rows = warehouse.query("select run_id, severity from martlake.dq_check_result order by run_id")
    assert rows == [("r1", "OK"), ("r2", "OK")]


def test_only_expected_tables_are_checked(warehouse: DuckDBWarehouse) -> None:
    load_at(warehouse, "orders", timedelta(hours=1))
    load_at(warehouse, "refund_lines", timedelta(days=9))
    results = freshness_checks(warehouse, EXPECTED, FreshnessSettings(), now=NOW)
    assert [(r.table, r.severity) for r in results] == [("raw_shop.orders", Severity.OK)]
