"""suspicious_zeros, metric_drops and attribution_coverage on a real sandbox warehouse.

One 50-day sandbox (20 orders/day) is built per module; each test copies its DuckDB file,
plants one fault in the marts, and runs the checks on a frozen clock.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from martlake.config import Project, QualitySettings
from martlake.pipeline import RunOptions, StepStatus, run_pipeline
from martlake.quality import CheckResult, Severity, run_quality
from martlake.quality._registry import CHECKS
from martlake.warehouse import DuckDBWarehouse
from tests.sandbox_project import make_sandbox_project, project

START = date(2025, 1, 1)
LAST = date(2025, 2, 19)
NOW = datetime(2025, 2, 20, 12, tzinfo=UTC)
"""07:00 in New York: the shop's latest closed day is LAST."""
MINE = ("suspicious_zeros", "metric_drops", "attribution_coverage")

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("anomaly_checks")]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = make_sandbox_project(
        tmp_path_factory.mktemp("anomaly"), start=START, end=LAST, orders_per_day=20
    )
    proj = project(root)
    result = run_pipeline(proj, RunOptions(skip=frozenset({"quality", "reconcile", "publish"})))
    assert all(s.status is not StepStatus.FAILED for s in result.steps), result.steps
    return proj


@pytest.fixture
def wh(built: Project, tmp_path: Path) -> Iterator[DuckDBWarehouse]:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(built.warehouse_path, copy)
    yield DuckDBWarehouse(copy)


def with_quality(proj: Project, **quality: Any) -> Project:
    settings = QualitySettings.model_validate({**proj.settings.quality.model_dump(), **quality})
    return dataclasses.replace(
        proj, settings=proj.settings.model_copy(update={"quality": settings})
    )


def run(
    proj: Project, wh: DuckDBWarehouse, *names: str, now: datetime = NOW
) -> dict[str, CheckResult]:
    results = run_quality(proj, wh, checks={n: CHECKS[n] for n in names or MINE}, now=now)
    return {r.table: r for r in results}


def severities(results: dict[str, CheckResult]) -> dict[str, Severity]:
    return {table: r.severity for table, r in results.items()}


def test_clean_sandbox_data_is_ok(built: Project, wh: DuckDBWarehouse) -> None:
    results = run(built, wh)
    assert severities(results) == {
        "marts.marketing_unified[channel=google]": Severity.OK,
        "marts.marketing_unified[channel=meta]": Severity.OK,
        "marts.marketing_unified[channel=tiktok]": Severity.OK,
        "marts.shopify_daily_metrics:orders": Severity.OK,
        "marts.shopify_daily_metrics:net_sales": Severity.OK,
        "marts.marketing_unified:spend[channel=google]": Severity.OK,
        "marts.marketing_unified:spend[channel=meta]": Severity.OK,
        "marts.marketing_unified:spend[channel=tiktok]": Severity.OK,
        "marts.shopify_unified": Severity.OK,
    }, {t: r.message for t, r in results.items()}
    coverage = results["marts.shopify_unified"]
    assert coverage.observed is not None and coverage.observed >= 0.9
    judged = wh.query(
        "select metric, dimension, day, value from martlake.dq_metric_history "
        "where metric in ('orders', 'orders_baseline') order by metric"
    )
    assert [(m, d, day) for m, d, day, _ in judged] == [
        ("orders", "", LAST),
        ("orders_baseline", "", LAST),
    ]
    orders = wh.query("select orders from marts.shopify_daily_metrics where date = ?", [LAST])
    assert judged[0][3] == orders[0][0]


def zero_revenue(wh: DuckDBWarehouse, channel: str, *days: date) -> None:
    for day in days:
        wh.execute(
            "update marts.marketing_unified set attributed_revenue = 0, attributed_orders = 0 "
            "where channel = ? and date = ? and spend > 0",
            [channel, day],
        )


def test_a_spend_day_without_revenue_is_warn(built: Project, wh: DuckDBWarehouse) -> None:
    zero_revenue(wh, "meta", LAST)
    results = run(built, wh, "suspicious_zeros")
    meta = results["marts.marketing_unified[channel=meta]"]
    assert meta.severity is Severity.WARN, meta.message
    assert f"no attributed revenue on {LAST}" in meta.message
    assert results["marts.marketing_unified[channel=google]"].severity is Severity.OK


def test_two_spend_days_in_a_row_without_revenue_are_critical(
    built: Project, wh: DuckDBWarehouse
) -> None:
    zero_revenue(wh, "meta", LAST - timedelta(days=1), LAST)
    meta = run(built, wh, "suspicious_zeros")["marts.marketing_unified[channel=meta]"]
    assert meta.severity is Severity.CRITICAL, meta.message
    assert "2 days in a row" in meta.message


def test_a_small_channels_quiet_day_is_not_suspicious_unless_orders_were_expected(
    built: Project, wh: DuckDBWarehouse
) -> None:
    zero_revenue(wh, "tiktok", LAST)
    key = "marts.marketing_unified[channel=tiktok]"
    assert run(built, wh, "suspicious_zeros")[key].severity is Severity.OK
    strict = with_quality(built, suspicious_zeros_min_expected_orders=0.0)
    found = run(strict, wh, "suspicious_zeros")[key]
    assert found.severity in (Severity.WARN, Severity.CRITICAL)
    assert str(LAST) in found.message


def drop_orders(wh: DuckDBWarehouse, day: date, factor: float) -> None:
    wh.execute(
        "update marts.shopify_daily_metrics set orders = round(orders * ?), "
        "net_sales = net_sales * ? where date = ?",
        [factor, factor, day],
    )


def test_a_ninety_percent_drop_of_orders_is_critical(built: Project, wh: DuckDBWarehouse) -> None:
    drop_orders(wh, LAST, 0.1)
    results = run(built, wh, "metric_drops")
    for metric in ("orders", "net_sales"):
        found = results[f"marts.shopify_daily_metrics:{metric}"]
        assert found.severity is Severity.CRITICAL, found.message
        assert found.observed is not None and 0.05 < found.observed < 0.25
        assert (found.warn_threshold, found.critical_threshold) == (0.5, 0.25)
    assert "same-weekday median" in results["marts.shopify_daily_metrics:orders"].message


def test_kpi_thresholds_come_from_the_config(built: Project, wh: DuckDBWarehouse) -> None:
    drop_orders(wh, LAST, 0.1)
    key = "marts.shopify_daily_metrics:orders"
    assert run(built, wh, "metric_drops")[key].severity is Severity.CRITICAL
    lenient = with_quality(
        built, kpis={"orders": {"warn": 0.1, "critical": 0.05}, "net_sales": {"enabled": False}}
    )
    results = run(lenient, wh, "metric_drops")
    assert results[key].severity is Severity.OK, results[key].message
    assert (results[key].warn_threshold, results[key].critical_threshold) == (0.1, 0.05)
    assert "marts.shopify_daily_metrics:net_sales" not in results


def test_an_annotated_outage_is_not_alerted(built: Project, wh: DuckDBWarehouse) -> None:
    drop_orders(wh, LAST, 0.1)
    outage = {"start": LAST, "kind": "outage", "note": "checkout down", "metrics": ["orders"]}
    results = run(with_quality(built, annotations=[outage]), wh, "metric_drops")
    assert results["marts.shopify_daily_metrics:orders"].severity is Severity.INFO
    assert results["marts.shopify_daily_metrics:net_sales"].severity is Severity.CRITICAL


def test_a_second_run_judges_every_closed_day_since_the_first(
    built: Project, wh: DuckDBWarehouse
) -> None:
    run(built, wh, "metric_drops", now=NOW - timedelta(days=3))
    drop_orders(wh, LAST - timedelta(days=1), 0.1)
    found = run(built, wh, "metric_drops")["marts.shopify_daily_metrics:orders"]
    assert found.severity is Severity.CRITICAL
    assert f"orders on {LAST - timedelta(days=1)}" in found.message
    days = wh.query(
        "select day from martlake.dq_metric_history where metric = 'orders' order by day"
    )
    assert [d for (d,) in days] == [LAST - timedelta(days=n) for n in (3, 2, 1, 0)]


def test_short_history_and_missing_kpi_tables_are_skipped(
    built: Project, wh: DuckDBWarehouse
) -> None:
    wh.execute("delete from marts.shopify_daily_metrics where date < ?", [LAST - timedelta(10)])
    sessions = {"sessions": {"table": "marts.web_sessions"}}
    results = run(with_quality(built, kpis=sessions), wh, "metric_drops")
    orders = results["marts.shopify_daily_metrics:orders"]
    assert orders.severity is Severity.SKIPPED
    assert "10 days of history, at least 14 needed" in orders.message
    missing = results["marts.web_sessions:sessions"]
    assert missing.severity is Severity.SKIPPED
    assert "no table `marts.web_sessions`" in missing.message


def test_orders_losing_their_attribution_lower_coverage_to_warn(
    built: Project, wh: DuckDBWarehouse
) -> None:
    wh.execute(
        "update marts.shopify_unified set channel = 'direct', attribution_method = 'direct', "
        "platform = null, campaign_id = null where channel in ('meta', 'google') "
        "and order_date > ?",
        [LAST - timedelta(days=7)],
    )
    found = run(built, wh, "attribution_coverage")["marts.shopify_unified"]
    assert found.severity is Severity.WARN, found.message
    assert found.observed is not None and found.observed < 0.9
    assert found.warn_threshold == 0.9
    critical = with_quality(built, attribution_coverage_critical=0.8)
    assert run(critical, wh, "attribution_coverage")["marts.shopify_unified"].severity is (
        Severity.CRITICAL
    )
