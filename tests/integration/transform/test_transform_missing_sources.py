"""Projects without some sources, tables or columns: the marts still build from what exists.

The main build has no Meta, Google Ads or TikTok raw schema and no refund table yet; a second one
has TikTok without the `conversion_value` column (dlt creates no column that was only ever NULL).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.integration.transform.helpers import SHIPPED_MODELS, Build, build

pytestmark = pytest.mark.xdist_group("transform_missing")

D = Decimal


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return build(
        tmp_path_factory.mktemp("transform_missing_sources"),
        omit={
            "raw_meta_ads.insights",
            "raw_meta_ads.extract_windows",
            "raw_google_ads.campaign_stats",
            "raw_google_ads.extract_windows",
            "raw_tiktok_ads.ad_stats",
            "raw_tiktok_ads.extract_windows",
            "raw_shopify.refund_lines",
        },
    )


@pytest.fixture(scope="module")
def without_value_column(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return build(
        tmp_path_factory.mktemp("transform_missing_column"),
        omit={
            "raw_meta_ads.insights",
            "raw_meta_ads.extract_windows",
            "raw_google_ads.campaign_stats",
            "raw_google_ads.extract_windows",
        },
        omit_columns={"raw_tiktok_ads.ad_stats.conversion_value"},
    )


def test_build_succeeds_without_the_ad_schemas_and_refund_table(built: Build) -> None:
    schemas = built.rows("select schema_name from information_schema.schemata")
    assert {name for (name,) in schemas}.isdisjoint(
        {"raw_meta_ads", "raw_google_ads", "raw_tiktok_ads"}
    )
    assert built.result.success, built.result.failed
    assert {n.name for n in built.result.models} == SHIPPED_MODELS
    assert {node.status for node in built.result.tests} == {"pass"}


@pytest.mark.parametrize("mart", ["facebook_unified", "google_ads_unified", "tiktok_unified"])
def test_ad_platform_mart_is_empty_with_its_columns(built: Build, mart: str) -> None:
    assert built.rows(f"select count(*) from marts.{mart}") == [(0,)]
    columns = built.rows(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name = ? "
        "and column_name in ('date', 'account_id', 'spend', 'impressions', 'ctr')",
        [mart],
    )
    assert sorted(columns) == [
        ("account_id", "VARCHAR"),
        ("ctr", "DOUBLE"),
        ("date", "DATE"),
        ("impressions", "BIGINT"),
        ("spend", "DECIMAL(18,2)"),
    ]


def test_orders_have_no_returns(built: Build) -> None:
    rows = built.rows(
        "select order_id, returns, net_sales from marts.shopify_unified "
        "where order_id in (1001, 1003, 1009) order by order_id"
    )
    assert rows == [
        (1001, D("0.00"), D("97.50")),
        (1003, D("0.00"), D("54.00")),
        (1009, D("0.00"), D("36.00")),
    ]


def test_daily_metrics_end_on_the_last_order_date(built: Build) -> None:
    rows = built.rows(
        "select min(date), max(date), count(*), sum(orders), sum(returns), sum(net_sales) "
        "from marts.shopify_daily_metrics"
    )
    assert rows == [(date(2024, 1, 10), date(2024, 1, 17), 8, 9, D("0.00"), D("395.00"))]


def test_marketing_unified_has_orders_and_no_spend(built: Build) -> None:
    rows = built.rows(
        "select channel, sum(spend), sum(attributed_orders), sum(attributed_revenue), "
        "count(roas) from marts.marketing_unified group by channel order by channel"
    )
    assert rows == [
        ("direct", D("0.00"), 1, D("49.00"), 0),
        ("email", D("0.00"), 1, D("54.00"), 0),
        ("google", D("0.00"), 1, D("30.00"), 0),
        ("meta", D("0.00"), 3, D("165.00"), 0),
        ("other", D("0.00"), 1, D("22.00"), 0),
        ("referral", D("0.00"), 1, D("45.00"), 0),
        ("tiktok", D("0.00"), 1, D("30.00"), 0),
    ]


def test_tiktok_without_value_column_builds_with_null_values(without_value_column: Build) -> None:
    assert without_value_column.result.success, without_value_column.result.failed
    rows = without_value_column.rows(
        "select count(*), count(conversion_value), count(platform_roas), sum(spend), "
        "max(typeof(conversion_value)) from marts.tiktok_unified"
    )
    assert rows == [(8, 0, 0, D("39.08"), "DECIMAL(18,2)")]
    tiktok_spend = without_value_column.rows(
        "select sum(spend) from marts.marketing_unified where channel = 'tiktok'"
    )
    assert tiktok_spend == [(D("39.08"),)]
