"""A project without Meta and without any refund yet: the marts still build from what exists."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.integration.transform.helpers import Build, build

D = Decimal


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return build(
        tmp_path_factory.mktemp("transform_missing_sources"),
        omit={"raw_meta_ads.insights", "raw_shopify.refund_lines"},
    )


def test_build_succeeds_without_the_meta_schema_and_refund_table(built: Build) -> None:
    schemas = built.rows("select schema_name from information_schema.schemata")
    assert "raw_meta_ads" not in {name for (name,) in schemas}
    assert built.result.success, built.result.failed
    assert len(built.result.models) == 11


def test_facebook_unified_is_empty_with_its_columns(built: Build) -> None:
    assert built.rows("select count(*) from marts.facebook_unified") == [(0,)]
    columns = built.rows(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name = 'facebook_unified' "
        "and column_name in ('date', 'spend', 'impressions', 'ctr')"
    )
    assert sorted(columns) == [
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
