"""ad_performance_unified, source_coverage_daily and marketing_unified_with_explanations.

The raw zone is tests/fixtures/raw plus the rows of tests/fixtures/explanations, each crafted so
that one day and channel of February 2024 shows one reason for spend without attributed orders:

* 2024-02-01 meta: spend, no meta order that day or in the 7 days after -> missing_utms
* 2024-02-01 tiktok: spend, a tiktok order on 2024-02-03 -> attribution_lag
* 2024-02-01 google: spend, an order with a gclid credited to email by its UTMs -> click_id_only
* 2024-02-15 google: 4.00 of 5.00 spent by a campaign reported PAUSED -> campaign_paused
* 2024-03-01 meta: spend after Shopify's synced range (latest extraction on 2024-03-01)
  -> not_yet_synced

Google's 2024-02-01 ad stats add up to Search - Brand (3 ads of 3333333/3333333/3333334 micros)
but not to Shopping (one ad of 4.00 for a 5.00 campaign), which stays at campaign level.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from martlake.config import Project
from martlake.pipeline import RunOptions, RunResult, run_pipeline, simulator_config
from martlake.pipeline._steps import dbt_vars
from martlake.sandbox import Business
from martlake.sandbox.simulator import Platform
from martlake.transform import DbtResult, run_dbt
from martlake.warehouse import DuckDBWarehouse
from tests.integration.marts.products_ltv_truth import MARTS_ONLY
from tests.integration.transform.helpers import load_raw_zone, query
from tests.sandbox_project import END, START, make_sandbox_project, project

FIXTURES = Path(__file__).parents[2] / "fixtures" / "explanations"
MY_MODELS = {
    "ad_performance_unified",
    "source_coverage_daily",
    "marketing_unified_with_explanations",
}
GOOGLE_AD_STATS = """
create table raw_google_ads.ad_stats (
    customer_id varchar, customer_name varchar, currency_code varchar, time_zone varchar,
    date date, campaign_id varchar, campaign_name varchar, ad_group_id varchar,
    ad_group_name varchar, ad_id varchar, ad_name varchar, ad_type varchar, ad_status varchar,
    cost_micros bigint, impressions bigint, clicks bigint, conversions double,
    conversions_value double, _source varchar, _extract_run_id varchar, _ingested_at timestamptz
)
"""
PLATFORMS: tuple[Platform, ...] = ("meta", "google", "tiktok")
# One worker builds the module's warehouse once; its tests run in order on it.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("explanations")]


def _raw_zone(database: Path, *, tiktok_currency: str | None = None) -> None:
    load_raw_zone(database)
    with duckdb.connect(str(database)) as con:
        con.execute(GOOGLE_AD_STATS)
        for csv in sorted(FIXTURES.glob("*.csv")):
            con.execute(
                f"insert into {csv.stem} by name "
                "select * from read_csv(?, header = true, all_varchar = true)",
                [str(csv)],
            )
        if tiktok_currency:
            con.execute("update raw_tiktok_ads.ad_stats set currency = ?", [tiktok_currency])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DbtResult]:
    root = tmp_path_factory.mktemp("explanations")
    database = root / "warehouse.duckdb"
    _raw_zone(database)
    variables = {"configured_sources": ["google_ads", "meta_ads", "shopify", "tiktok_ads"]}
    with contextlib.chdir(root):
        result = run_dbt("build", database=database, state_dir=root / "state", vars=variables)
    return database, result


@pytest.fixture(scope="module")
def explained(built: tuple[Path, DbtResult]) -> dict[tuple[str, str], tuple[Any, ...]]:
    rows = query(
        built[0],
        "select cast(date as varchar), channel, explanation_code, explanation "
        "from marts.marketing_unified_with_explanations",
    )
    return {(row[0], row[1]): row[2:] for row in rows}


def test_models_and_their_tests_pass(built: tuple[Path, DbtResult]) -> None:
    result = built[1]
    assert {n.name for n in result.models} >= MY_MODELS
    failed = [
        (n.name, n.status, n.message) for n in result.nodes if n.status not in ("success", "pass")
    ]
    assert failed == []
    tests = {n.name for n in result.tests}
    assert {
        "assert_ad_performance_matches_platforms",
        "assert_ad_performance_spend_matches_marketing",
        "assert_explanations_cover_every_marketing_row",
        "assert_explanations_spend_matches_marketing",
        "assert_source_coverage_status_matches_rows",
    } <= tests


@pytest.mark.parametrize(
    ("day", "channel", "code", "words"),
    [
        pytest.param("2024-02-01", "meta", "missing_utms", "UTM parameters", id="missing-utms"),
        pytest.param(
            "2024-02-01", "tiktok", "attribution_lag", "1 order(s) credited to tiktok", id="lag"
        ),
        pytest.param(
            "2024-02-01", "google", "click_id_only", "credited them to email", id="click-id-only"
        ),
        pytest.param(
            "2024-02-15", "google", "campaign_paused", "(Shopping - All products)", id="paused"
        ),
        pytest.param(
            "2024-03-01", "meta", "not_yet_synced", "not loaded completely", id="not-yet-synced"
        ),
        pytest.param("2024-02-01", "email", "organic", "with no ad spend", id="organic"),
        pytest.param("2024-02-03", "tiktok", "organic", "with no ad spend", id="organic-paid"),
        pytest.param("2024-01-14", "google", "no_activity", "nothing to do", id="no-activity"),
        pytest.param("2024-01-10", "meta", "ok", "same day", id="ok"),
    ],
)
def test_each_scenario_gets_its_explanation(
    explained: dict[tuple[str, str], tuple[Any, ...]],
    day: str,
    channel: str,
    code: str,
    words: str,
) -> None:
    assert explained[(day, channel)][0] == code
    assert words in explained[(day, channel)][1]


def test_every_marketing_row_has_one_explanation(built: tuple[Path, DbtResult]) -> None:
    database = built[0]
    marketing = query(database, "select date, channel, spend from marts.marketing_unified")
    explained = query(
        database,
        "select date, channel, spend from marts.marketing_unified_with_explanations "
        "where explanation_code is not null and explanation is not null",
    )
    assert sorted(explained) == sorted(marketing)


def test_google_ads_that_add_up_are_split_to_the_cent(built: tuple[Path, DbtResult]) -> None:
    # Search - Brand: 10.00 and a 10.00 conversion value over ads of 3333333, 3333333 and
    # 3333334 micros and 3.333, 3.333, 3.334 of value (3.33 each once rounded per ad).
    rows = query(
        built[0],
        "select campaign_id, level, ad_group_id, ad_id, spend, conversion_value, impressions, "
        "spend_in_reporting_currency from marts.ad_performance_unified "
        "where platform = 'google' and date = '2024-02-01' order by campaign_id, ad_id",
    )
    cents = [Decimal("3.33"), Decimal("3.34"), Decimal("3.33")]
    assert rows == [
        ("21000000001", "ad", "31000000001", f"4100000000{i}", c, c, 100, c)
        for i, c in enumerate(cents, 1)
    ] + [
        (
            "21000000002",
            "campaign",
            None,
            None,
            Decimal("5.00"),
            Decimal("0.00"),
            100,
            Decimal("5.00"),
        )
    ]


def test_ad_performance_adds_up_to_marketing_per_platform_day(
    built: tuple[Path, DbtResult],
) -> None:
    database = built[0]
    ads = query(
        database,
        "select date, platform, sum(spend_in_reporting_currency), sum(impressions), sum(clicks) "
        "from marts.ad_performance_unified group by all having sum(spend) > 0 "
        "or sum(impressions) > 0",
    )
    marketing = query(
        database,
        "select date, channel, spend, impressions, clicks from marts.marketing_unified "
        "where channel in ('meta', 'google', 'tiktok') and (spend > 0 or impressions > 0)",
    )
    assert sorted(ads) == sorted(marketing)


def test_source_coverage_tells_synced_empty_and_not_yet_synced_days(
    built: tuple[Path, DbtResult],
) -> None:
    rows = query(
        built[0],
        "select source, date, coverage_status, row_count, synced_through "
        "from marts.source_coverage_daily "
        "where date in ('2024-01-10', '2024-02-01', '2024-02-15', '2024-03-01') "
        "order by source, date",
    )
    by_key = {(r[0], r[1].isoformat()): r[2:] for r in rows}
    shop_through = date(2024, 2, 29)  # latest Shopify extraction 2024-03-01 07:00 in New York
    assert by_key[("shopify", "2024-01-10")] == ("synced", 2, shop_through)
    assert by_key[("shopify", "2024-02-01")] == ("synced", 1, shop_through)
    assert by_key[("shopify", "2024-02-15")] == ("no_data", 0, shop_through)
    assert by_key[("shopify", "2024-03-01")] == ("not_yet_synced", 0, shop_through)
    assert by_key[("meta_ads", "2024-02-15")] == ("no_data", 0, date(2024, 3, 1))
    assert by_key[("meta_ads", "2024-03-01")] == ("synced", 1, date(2024, 3, 1))
    assert by_key[("google_ads", "2024-02-15")] == ("synced", 2, date(2024, 2, 15))
    assert by_key[("google_ads", "2024-03-01")] == ("not_yet_synced", 0, date(2024, 2, 15))
    days = query(
        built[0],
        "select source, count(*), min(date), max(date) from marts.source_coverage_daily "
        "group by source order by source",
    )
    span = (date(2024, 1, 10), date(2024, 3, 1))
    assert days == [(s, 52, *span) for s in ("google_ads", "meta_ads", "shopify", "tiktok_ads")]


def test_only_configured_sources_are_covered(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    _raw_zone(database)
    with contextlib.chdir(tmp_path):
        result = run_dbt(
            "run",
            database=database,
            state_dir=tmp_path / "state",
            select=["+source_coverage_daily"],
            vars={"configured_sources": ["shopify", "tiktok_ads"]},
        )
    assert result.success
    sources = query(database, "select distinct source from marts.source_coverage_daily")
    assert sorted(sources) == [("shopify",), ("tiktok_ads",)]


def test_a_shorter_lag_turns_late_orders_into_missing_utms(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    _raw_zone(database)
    with contextlib.chdir(tmp_path):
        result = run_dbt(
            "run",
            database=database,
            state_dir=tmp_path / "state",
            select=["+marketing_unified_with_explanations"],
            vars={"attribution_lag_days": 1},
        )
    assert result.success
    rows = query(
        database,
        "select explanation_code, explanation from marts.marketing_unified_with_explanations "
        "where date = '2024-02-01' and channel = 'tiktok'",
    )
    assert rows[0][0] == "missing_utms"
    assert "within 1 day(s) after" in rows[0][1]


def test_lag_days_and_configured_sources_reach_dbt(tmp_path: Path) -> None:
    root = make_sandbox_project(tmp_path / "project")
    assert dbt_vars(project(root))["attribution_lag_days"] == 7
    config = root / "martlake.toml"
    config.write_text(config.read_text() + "\n[marts]\nattribution_lag_days = 3\n")
    variables = dbt_vars(project(root))
    assert variables["attribution_lag_days"] == 3
    assert variables["configured_sources"] == ["google_ads", "meta_ads", "shopify", "tiktok_ads"]


def test_converted_spend_adds_up_to_marketing_to_the_cent(tmp_path: Path) -> None:
    # Row by row, 8.75, 1.20 and 4.00 EUR at 1.0837 round to 9.48 + 1.30 + 4.33 = 15.11 USD;
    # marketing_unified converts the day's 13.95 EUR to 15.12.
    database = tmp_path / "warehouse.duckdb"
    _raw_zone(database, tiktok_currency="EUR")
    with contextlib.chdir(tmp_path):
        result = run_dbt(
            "build",
            database=database,
            state_dir=tmp_path / "state",
            vars={"fx_rates": {"EUR": "1.0837"}},
        )
    assert result.success, [n.message for n in result.failed]
    rows = query(
        database,
        "select spend, spend_in_reporting_currency, currency_code, reporting_currency_code "
        "from marts.ad_performance_unified where platform = 'tiktok' and date = '2024-01-13' "
        "order by ad_id",
    )
    assert sum(r[1] for r in rows) == Decimal("15.12")
    assert {r[2:] for r in rows} == {("EUR", "USD")}
    rate = Decimal("1.0837")
    assert all(abs(r[1] - r[0] * rate) < Decimal("0.01") for r in rows)
    marketing = query(
        database,
        "select spend from marts.marketing_unified where channel = 'tiktok' "
        "and date = '2024-01-13'",
    )
    assert marketing == [(Decimal("15.12"),)]


def test_amounts_without_exchange_rate_are_a_currency_mismatch(tmp_path: Path) -> None:
    # `dbt build` stops at assert_fx_rate_for_every_currency; a plain `dbt run` shows the rows.
    database = tmp_path / "warehouse.duckdb"
    _raw_zone(database, tiktok_currency="EUR")
    with contextlib.chdir(tmp_path):
        result = run_dbt(
            "run",
            database=database,
            state_dir=tmp_path / "state",
            select=["+marketing_unified_with_explanations"],
        )
    assert result.success
    codes = query(
        database,
        "select distinct explanation_code from marts.marketing_unified_with_explanations "
        "where channel = 'tiktok' and spend is null",
    )
    assert codes == [("currency_mismatch",)]
    other = query(
        database,
        "select explanation_code from marts.marketing_unified_with_explanations "
        "where date = '2024-02-01' and channel = 'meta'",
    )
    assert other == [("missing_utms",)]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, RunResult]:
    proj = project(make_sandbox_project(tmp_path_factory.mktemp("explanations_sandbox")))
    return proj, run_pipeline(proj, RunOptions(skip=MARTS_ONLY))


def test_sandbox_run_explains_every_marketing_row(sandbox: tuple[Project, RunResult]) -> None:
    proj, result = sandbox
    assert result.exit_code == 0, result.steps
    wh = DuckDBWarehouse(proj.warehouse_path)
    marketing = wh.query("select date, channel, spend from marts.marketing_unified")
    explained = wh.query(
        "select date, channel, spend, explanation_code "
        "from marts.marketing_unified_with_explanations"
    )
    assert sorted(r[:3] for r in explained) == sorted(marketing)
    codes = Counter(r[3] for r in explained)
    assert codes["ok"] > 0 and codes["organic"] > 0
    assert set(codes) <= {
        "ok",
        "no_activity",
        "organic",
        "not_yet_synced",
        "currency_mismatch",
        "campaign_paused",
        "click_id_only",
        "attribution_lag",
        "missing_utms",
    }
    unexplained = [r for r in explained if r[2] > 0 and r[3] not in ("ok",)]
    orders = dict(
        ((r[0], r[1]), r[2])
        for r in wh.query("select date, channel, attributed_orders from marts.marketing_unified")
    )
    assert all(orders[(r[0], r[1])] == 0 for r in unexplained)
    coverage = wh.query(
        "select source, count(*) filter (where coverage_status = 'synced'), count(*) "
        "from marts.source_coverage_daily group by source order by source"
    )
    days = (END - START).days + 1
    assert coverage == [
        (s, days, days) for s in ("google_ads", "meta_ads", "shopify", "tiktok_ads")
    ]


def test_sandbox_ad_performance_matches_the_simulated_spend(
    sandbox: tuple[Project, RunResult],
) -> None:
    proj, _ = sandbox
    truth = Business(simulator_config(proj)).truth
    wh = DuckDBWarehouse(proj.warehouse_path)
    for platform in PLATFORMS:
        rows = wh.query(
            "select date, sum(spend) from marts.ad_performance_unified where platform = ? "
            "group by date having sum(spend) > 0",
            [platform],
        )
        assert dict(rows) == {d: v for d, v in truth.spend_per_day(platform).items() if v}
    levels = wh.query(
        "select distinct g.channel_type, a.level from marts.ad_performance_unified as a "
        "join marts.google_ads_unified as g using (date, account_id, campaign_id) "
        "where a.platform = 'google' order by all"
    )
    assert levels == [("PERFORMANCE_MAX", "campaign"), ("SEARCH", "ad"), ("SHOPPING", "ad")]
