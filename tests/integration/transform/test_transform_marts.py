"""The shipped dbt project on the fixture raw zone: exact mart values, computed by hand.

The fixture (tests/fixtures/raw) is one shop in America/New_York (UTC-5 in January) and one
Meta ad account in the same timezone:

- order 1001 is extracted twice (r1, r2); the edit in r2 drops line 3, adds line 2 and doubles
  line 1; r2 also carries its refund of line 2, made at 21:00 local on 2024-01-12.
- order 1002 is created 2024-01-11 04:30 UTC = 2024-01-10 23:30 local.
- customer 501 orders three times (1001, 1003, 1009), customer 502 twice (1002, 1006).
- order 1009 is refunded on 2024-01-19, after the last order date; 1003 on 2024-01-16, a day
  without orders. Order 1010 is a test order, refunded too.
- Meta is extracted twice: meta-r2 restates 2024-01-11 (ad one 22.00 -> 21.40, ad two's 3.00
  row is gone) and has zero-spend rows on 2024-01-15 (a day with a Meta order) and 2024-01-16.
- Google Ads (customer 1234567890, and 9876543210 on 2024-01-11 only) is extracted twice:
  google-r2 restates 2024-01-11 for the first customer only (Brand 15.00 -> 14.50, PMax 20.00 ->
  20.37, the Shopping row is gone as Google omits all-zero rows) while the second customer's day
  stays as google-r1 had it. 2024-01-14 has impressions without cost and without conversion
  fields; 2024-01-15 has cost without clicks. A conversions_value of 30.004 rounds to 30.00.
  Cost is in micros, mostly not whole cents, rounded half-even once per campaign-day:
  8,665,000 is 8.66 and 6,005,000 is 6.00 (half-up would give 8.67 and 6.01).
- TikTok (advertiser 7000000000000000001) is extracted twice: tiktok-r2 restates 2024-01-13
  (Video A 8.25 -> 8.75, Video B appears); 2024-01-14 has impressions without spend; the
  2024-01-15 row has no conversion value.
- Extraction windows (`extract_windows`): r1 and r2 of Meta and Google have none, as data
  loaded before windows were recorded. meta-r3 read 2024-01-18 completely and returned nothing,
  so meta-r2's 4.00 that day is gone; google-r3 read customer 9876543210 over 2024-01-12..18
  and returned nothing, so google-r1's 4.00 on 2024-01-12 is gone while its 2024-01-11, outside
  the window, stays. tiktok-r2 records its window 2024-01-13..17, which changes nothing.

The expected marts, worked out by hand from these rows, are in tests/fixtures/raw/expected.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest

from martlake.transform import PROJECT_DIR
from tests.integration.transform.helpers import Build, build

pytestmark = pytest.mark.xdist_group("transform_marts")

D = Decimal

MODELS = {
    "stg_shopify__order_versions": "staging",
    "stg_shopify__orders": "staging",
    "stg_shopify__order_lines": "staging",
    "stg_shopify__refund_lines": "staging",
    "stg_shopify__refund_transactions": "staging",
    "stg_shopify__variant_costs": "staging",
    "stg_meta_ads__insights": "staging",
    "stg_google_ads__campaign_stats": "staging",
    "stg_google_ads__ad_group_stats": "staging",
    "stg_google_ads__ad_stats": "staging",
    "stg_tiktok_ads__ad_stats": "staging",
    "stg_fairing__responses": "staging",
    "int_order_lines__aggregated": "intermediate",
    "int_refund_lines__aggregated": "intermediate",
    "int_orders__sequenced": "intermediate",
    "int_ad_campaigns": "intermediate",
    "int_orders__attributed": "intermediate",
    "shopify_unified": "marts",
    "facebook_unified": "marts",
    "google_ads_unified": "marts",
    "tiktok_unified": "marts",
    "marketing_unified": "marts",
    "shopify_daily_metrics": "marts",
    "shopify_order_lines": "marts",
    "shopify_refund_lines": "marts",
    "campaign_daily": "marts",
    "int_product_sales__dated": "intermediate",
    "int_product_sales__by_order": "intermediate",
    "int_product_variants": "intermediate",
    "int_customers__daily_sales": "intermediate",
    "int_customers__monthly": "intermediate",
    "product_performance": "marts",
    "product_kpis": "marts",
    "premium_products": "marts",
    "sales_by_geography": "marts",
    "customer_ltv": "marts",
    "ltv_cohorts": "marts",
    "ad_performance_unified": "marts",
    "source_coverage_daily": "marts",
    "marketing_unified_with_explanations": "marts",
    "marketing_monthly_performance": "marts",
    "channel_mix": "marts",
    "executive_summary_monthly": "marts",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return build(tmp_path_factory.mktemp("transform_marts"))


def test_build_runs_every_model_and_test_successfully(built: Build) -> None:
    assert built.result.success, built.result.failed
    assert built.result.failed == []
    assert {node.name for node in built.result.models} == set(MODELS)
    assert {node.status for node in built.result.models} == {"success"}
    assert {node.status for node in built.result.tests} == {"pass"}
    singular = {node.name for node in built.result.tests if node.name.startswith("assert_")}
    assert singular == {
        "assert_daily_net_sales_match_unified",
        "assert_campaign_daily_matches_platforms",
        "assert_campaign_daily_orders_match_unified",
        "assert_daily_orders_match_unified",
        "assert_fx_rate_for_every_currency",
        "assert_marketing_revenue_matches_unified",
        "assert_marketing_spend_matches_facebook",
        "assert_marketing_spend_matches_google_ads",
        "assert_marketing_spend_matches_tiktok",
        "assert_order_lines_match_unified",
        "assert_refund_lines_match_unified",
        "assert_product_performance_net_sales_per_month",
        "assert_product_performance_units_per_month",
        "assert_product_performance_returns_per_month",
        "assert_product_kpis_net_sales_per_product",
        "assert_product_kpis_units_per_product",
        "assert_premium_products_above_threshold",
        "assert_geography_net_sales_per_month",
        "assert_geography_orders_per_month",
        "assert_geography_customers_at_most_orders",
        "assert_customer_ltv_net_sales_match_daily",
        "assert_customer_ltv_orders_match_daily",
        "assert_customer_ltv_horizons_elapse_in_order",
        "assert_ltv_cohorts_net_sales_per_month",
        "assert_ltv_cohorts_size_per_cohort",
        "assert_ltv_cohorts_month_0_is_the_whole_cohort",
        "assert_ad_performance_matches_platforms",
        "assert_ad_performance_level_matches_ids",
        "assert_ad_performance_spend_matches_marketing",
        "assert_ad_performance_impressions_match_marketing",
        "assert_ad_performance_clicks_match_marketing",
        "assert_source_coverage_status_matches_rows",
        "assert_explanations_cover_every_marketing_row",
        "assert_explanations_spend_matches_marketing",
        "assert_unexplained_spend_has_spend_and_no_orders",
        "assert_monthly_marketing_spend_matches_unified",
        "assert_monthly_marketing_revenue_matches_unified",
        "assert_monthly_marketing_orders_match_unified",
        "assert_executive_summary_orders_per_month",
        "assert_executive_summary_ad_spend_per_month",
        "assert_executive_summary_net_sales_adds_up",
    }


def test_models_land_in_their_custom_schemas_as_tables(built: Build) -> None:
    rows = built.rows(
        "select table_name, table_schema, table_type from information_schema.tables "
        "where table_schema not like 'raw\\_%' escape '\\'"
    )
    assert {name: schema for name, schema, _ in rows} == MODELS
    assert {kind for _, _, kind in rows} == {"BASE TABLE"}


def test_money_stays_decimal_18_2_in_the_marts(built: Build) -> None:
    money = {
        "gross_sales", "discounts", "returns", "net_sales", "shipping", "taxes", "total_price",
        "total_sales", "new_customer_revenue", "returning_customer_revenue", "spend",
        "purchase_value", "conversion_value", "attributed_revenue",
    }  # fmt: skip
    rows = built.rows(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'marts'"
    )
    types = {(table, column): kind for table, column, kind in rows if column in money}
    assert {
        ("shopify_unified", "net_sales"),
        ("shopify_daily_metrics", "returns"),
        ("marketing_unified", "spend"),
        ("campaign_daily", "attributed_revenue"),
        ("product_performance", "net_sales"),
        ("ltv_cohorts", "net_sales"),
    } <= set(types)
    assert set(types.values()) == {"DECIMAL(18,2)"}


@pytest.mark.parametrize(
    ("mart", "order_by"),
    [
        ("shopify_unified", "order_id"),
        ("shopify_daily_metrics", "date"),
        ("facebook_unified", "date, ad_id"),
        ("google_ads_unified", "date, account_id, campaign_id"),
        ("tiktok_unified", "date, ad_id"),
        ("marketing_unified", "date, channel"),
    ],
)
def test_mart_equals_the_hand_computed_rows(built: Build, mart: str, order_by: str) -> None:
    actual, expected = built.mart_and_expected(mart, order_by)
    assert actual == expected


def test_edited_order_keeps_the_lines_of_its_latest_extraction_only(built: Build) -> None:
    lines = built.rows(
        "select order_line_id, quantity, price, discount, _extract_run_id "
        "from staging.stg_shopify__order_lines where order_id = 1001 order by order_line_id"
    )
    assert lines == [
        (1, 2, D("40.00"), D("8.00"), "shopify-r2"),
        (2, 1, D("25.50"), D("0.00"), "shopify-r2"),
    ]
    order = built.rows(
        "select discount_codes, financial_status from marts.shopify_unified where order_id = 1001"
    )
    assert order == [("WINTER10,VIP", "partially_refunded")]


def test_order_placed_2330_local_is_dated_on_the_local_day(built: Build) -> None:
    rows = built.rows(
        "select cast(created_at at time zone 'UTC' as date), order_date "
        "from marts.shopify_unified where order_id = 1002"
    )
    assert rows == [(date(2024, 1, 11), date(2024, 1, 10))]


def test_refund_is_dated_in_the_shop_timezone(built: Build) -> None:
    rows = built.rows(
        "select refund_line_id, refund_date from staging.stg_shopify__refund_lines "
        "order by refund_line_id"
    )
    assert rows == [
        (7001, date(2024, 1, 12)),
        (7002, date(2024, 1, 16)),
        (7003, date(2024, 1, 19)),
        (7004, date(2024, 1, 14)),
    ]


def test_customers_are_new_on_their_first_order_only(built: Build) -> None:
    rows = built.rows(
        "select order_id, customer_id, is_new_customer, customer_order_number "
        "from marts.shopify_unified order by order_id"
    )
    assert rows == [
        (1001, 501, True, 1),
        (1002, 502, True, 1),
        (1003, 501, False, 2),
        (1004, 503, True, 1),
        (1005, 504, True, 1),
        (1006, 502, False, 2),
        (1007, 505, True, 1),
        (1008, 506, True, 1),
        (1009, 501, False, 3),
    ]


def test_channel_follows_the_first_matching_rule(built: Build) -> None:
    rows = built.rows(
        "select order_id, utm_source, channel, meta_campaign_id "
        "from marts.shopify_unified order by order_id"
    )
    assert rows == [
        (1001, "facebook", "meta", "23850001"),
        (1002, None, "google", None),  # gclid without utm_source
        (1003, "Klaviyo", "email", None),
        (1004, "TikTok", "tiktok", None),
        (1005, None, "referral", None),
        (1006, None, "direct", None),
        (1007, "pinterest", "other", None),
        (1008, None, "meta", None),  # fbclid without utm_source
        (1009, "ig", "meta", "23850002"),
    ]


def test_landing_site_parameters_are_url_decoded(built: Build) -> None:
    rows = built.rows(
        "select order_id, utm_medium, utm_campaign, utm_content, utm_term, fbclid, gclid, ttclid "
        "from marts.shopify_unified where order_id in (1001, 1002, 1004, 1007) order by order_id"
    )
    assert rows == [
        (1001, "paid_social", "Winter Sale", "ad one", None, "AbC123", None, None),
        (1002, None, None, None, None, None, "Cj0KCQ_abc", None),
        (1004, "paid", None, None, None, None, None, "E.C.P.xyz"),
        (1007, "cpc", None, None, "blue mug", None, None, None),
    ]


def test_test_orders_and_their_refunds_stay_out_of_the_marts(built: Build) -> None:
    assert built.rows("select count(*) from marts.shopify_unified where order_id = 1010") == [(0,)]
    returns_on_the_test_refund_day = built.rows(
        "select returns from marts.shopify_daily_metrics where date = '2024-01-14'"
    )
    assert returns_on_the_test_refund_day == [(D("0.00"),)]


def test_ratios_are_null_without_a_denominator(built: Build) -> None:
    ads = built.rows(
        "select date, spend, ctr, cpc, cpm, platform_roas from marts.facebook_unified "
        "where spend = 0 order by date"
    )
    assert ads == [
        (date(2024, 1, 15), D("0.00"), None, None, None, None),
        (date(2024, 1, 16), D("0.00"), None, None, None, None),
    ]
    marketing = built.rows(
        "select channel, spend, attributed_revenue, roas from marts.marketing_unified "
        "where date in ('2024-01-14', '2024-01-15') and channel <> 'other' order by date, channel"
    )
    assert marketing == [
        ("google", D("0.00"), D("0.00"), None),
        ("meta", D("9.99"), D("0.00"), 0.0),
        ("tiktok", D("0.00"), D("0.00"), None),
        ("google", D("3.00"), D("0.00"), 0.0),
        ("meta", D("0.00"), D("31.50"), None),
        ("tiktok", D("6.30"), D("0.00"), 0.0),
    ]


def test_without_unit_costs_cost_of_goods_and_margin_stay_empty(built: Build) -> None:
    """The fixture raw zone has no raw variant_costs: martlake does not guess a margin."""
    assert built.rows(
        "select count(*) > 0, count(cost_of_goods), count(contribution_margin)"
        " from marts.executive_summary_monthly"
    ) == [(True, 0, 0)]
    assert built.rows("select count(cost_of_goods) from marts.product_performance") == [(0,)]


def test_marketing_unified_skips_days_without_any_activity(built: Build) -> None:
    assert built.rows("select count(*) from marts.marketing_unified where date = '2024-01-16'") == [
        (0,)
    ]


@pytest.mark.parametrize(
    ("channel", "platform_mart", "spend"),
    [
        ("meta", "facebook_unified", D("119.14")),
        ("google", "google_ads_unified", D("116.58")),
        ("tiktok", "tiktok_unified", D("39.08")),
    ],
)
def test_channel_spend_in_marketing_unified_equals_its_platform_mart(
    built: Build, channel: str, platform_mart: str, spend: Decimal
) -> None:
    totals = built.rows(
        "select sum(spend), sum(impressions), sum(clicks) from marts.marketing_unified "
        f"where channel = ? union all "
        f"select sum(spend), sum(impressions), sum(clicks) from marts.{platform_mart}",
        [channel],
    )
    assert totals[0] == totals[1]
    assert totals[0][0] == spend


def test_only_ad_platform_channels_have_spend(built: Build) -> None:
    rows = built.rows(
        "select channel, sum(spend) from marts.marketing_unified group by channel order by channel"
    )
    assert rows == [
        ("direct", D("0.00")),
        ("email", D("0.00")),
        ("google", D("116.58")),
        ("meta", D("119.14")),
        ("other", D("0.00")),
        ("referral", D("0.00")),
        ("tiktok", D("39.08")),
    ]


def test_every_order_is_counted_on_one_day(built: Build) -> None:
    orders = built.rows(
        "select (select sum(orders) from marts.shopify_daily_metrics), "
        "(select count(*) from marts.shopify_unified)"
    )
    assert orders == [(9, 9)]


def test_google_restated_day_replaces_the_customer_day_as_a_whole(built: Build) -> None:
    rows = built.rows(
        "select account_id, campaign_id, spend, clicks, _extract_run_id "
        "from staging.stg_google_ads__campaign_stats where date = '2024-01-11' "
        "order by account_id, campaign_id"
    )
    assert rows == [
        ("1234567890", "21000000001", D("14.50"), 44, "google-r2"),
        ("1234567890", "21000000003", D("20.37"), 31, "google-r2"),
        ("9876543210", "21000000101", D("5.05"), 5, "google-r1"),
    ]


def test_google_campaign_types_and_statuses_come_through(built: Build) -> None:
    rows = built.rows(
        "select campaign_id, channel_type, count(*), sum(spend), "
        "string_agg(distinct campaign_status, ',' order by campaign_status) "
        "from marts.google_ads_unified group by campaign_id, channel_type order by campaign_id"
    )
    assert rows == [
        ("21000000001", "SEARCH", 5, D("47.95"), "ENABLED"),
        ("21000000002", "SHOPPING", 3, D("17.66"), "ENABLED,PAUSED"),
        ("21000000003", "PERFORMANCE_MAX", 2, D("45.92"), "ENABLED"),
        ("21000000101", "SEARCH", 1, D("5.05"), "ENABLED"),
    ]


def test_google_fractional_conversions_stay_double_and_value_rounds_to_cents(
    built: Build,
) -> None:
    rows = built.rows(
        "select date, campaign_id, conversions, conversion_value from marts.google_ads_unified "
        "where campaign_id in ('21000000002', '21000000101') and date <= '2024-01-11' "
        "order by date, campaign_id"
    )
    assert rows == [
        (date(2024, 1, 10), "21000000002", 1.0, D("30.00")),
        (date(2024, 1, 11), "21000000101", 0.333333, D("10.00")),
    ]


def test_google_zero_cost_day_has_null_ratios_on_zero_denominators(built: Build) -> None:
    rows = built.rows(
        "select date, spend, impressions, clicks, conversions, conversion_value, "
        "ctr, cpc, cpm, platform_roas from marts.google_ads_unified "
        "where date in ('2024-01-14', '2024-01-15') order by date"
    )
    assert rows == [
        (date(2024, 1, 14), D("0.00"), 150, 0, 0.0, D("0.00"), 0.0, None, 0.0, None),
        (date(2024, 1, 15), D("3.00"), 400, 0, 0.0, D("0.00"), 0.0, None, 7.5, 0.0),
    ]


def test_tiktok_restated_day_replaces_the_advertiser_day_as_a_whole(built: Build) -> None:
    rows = built.rows(
        "select ad_id, spend, _extract_run_id from staging.stg_tiktok_ads__ad_stats "
        "where date = '2024-01-13' order by ad_id"
    )
    assert rows == [
        ("1780000000000000111", D("8.75"), "tiktok-r2"),
        ("1780000000000000112", D("1.20"), "tiktok-r2"),
        ("1780000000000000211", D("4.00"), "tiktok-r2"),
    ]
    kept_from_r1 = built.rows(
        "select count(*) from staging.stg_tiktok_ads__ad_stats where _extract_run_id = 'tiktok-r1'"
    )
    assert kept_from_r1 == [(2,)]


def test_tiktok_missing_conversion_value_stays_null(built: Build) -> None:
    rows = built.rows(
        "select date, spend, conversions, conversion_value, ctr, cpc, cpm, platform_roas "
        "from marts.tiktok_unified where date in ('2024-01-14', '2024-01-15') order by date"
    )
    assert rows == [
        (date(2024, 1, 14), D("0.00"), 0, D("0.00"), 0.0, None, 0.0, None),
        (date(2024, 1, 15), D("6.30"), 1, None, 7 / 420, 6.3 / 7, 15.0, None),
    ]


def test_build_writes_only_into_the_state_dir(built: Build) -> None:
    assert built.package_after == built.package_before
    assert built.cwd_after == []
    for name in ("target", "logs", "dbt_packages", ".user.yml", "package-lock.yml"):
        assert not (PROJECT_DIR / name).exists()
    assert sorted(path.name for path in built.state_dir.iterdir()) == [
        "logs",
        "profiles.yml",
        "target",
    ]
    assert (built.state_dir / "logs" / "dbt.log").stat().st_size > 0
    assert (built.state_dir / "target" / "run_results.json").is_file()


def test_build_prints_nothing(built: Build) -> None:
    assert built.output.out == ""
    assert built.output.err == ""


def test_build_leaves_the_warehouse_file_free(built: Build) -> None:
    opener = f"import duckdb; duckdb.connect({str(built.database)!r}).close()"
    done = subprocess.run([sys.executable, "-c", opener], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("raw", "model", "account", "day"),
    [
        (
            "select count(*) from raw_meta_ads.insights where account_id = ? and date_start = ?",
            "stg_meta_ads__insights",
            "111",
            "2024-01-18",
        ),
        (
            "select count(*) from raw_google_ads.campaign_stats where customer_id = ? and date = ?",
            "stg_google_ads__campaign_stats",
            "9876543210",
            "2024-01-12",
        ),
    ],
    ids=["meta", "google"],
)
def test_a_day_the_latest_window_returned_nothing_for_is_empty(
    built: Build, raw: str, model: str, account: str, day: str
) -> None:
    assert built.rows(raw, [account, day]) == [(1,)]
    staged = f"select count(*) from staging.{model} where account_id = ? and date = ?"
    assert built.rows(staged, [account, day]) == [(0,)]


def test_days_outside_every_window_keep_the_latest_extraction_with_rows(built: Build) -> None:
    rows = built.rows(
        "select date, spend, _extract_run_id from staging.stg_google_ads__campaign_stats "
        "where account_id = '9876543210' order by date"
    )
    assert rows == [(date(2024, 1, 11), D("5.05"), "google-r1")]
    tiktok = built.rows(
        "select date, count(*), string_agg(distinct _extract_run_id, ',') "
        "from staging.stg_tiktok_ads__ad_stats group by date order by date"
    )
    assert tiktok[:2] == [(date(2024, 1, 12), 2, "tiktok-r1"), (date(2024, 1, 13), 3, "tiktok-r2")]
