"""Attribution precedence on crafted orders: survey answer > discount code > UTM > click id >
referrer > direct.

The raw zone is tests/fixtures/raw plus the orders 2001-2028 of tests/fixtures/attribution (one
49.00 line each, all on 2024-01-13; 2021-2028 copy earlier ones and come with Fairing survey
responses), attributed with the `[attribution]` rules of tests/fixtures/attribution/martlake.toml,
passed to dbt the way the pipeline passes them.
"""

from __future__ import annotations

import contextlib
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from martlake.config import load_project
from martlake.pipeline._steps import dbt_vars
from martlake.transform import DbtResult, run_dbt
from tests.integration.transform.helpers import load_raw_zone, query

FIXTURES = Path(__file__).parents[2] / "fixtures" / "attribution"
MY_NODES = {
    "int_ad_campaigns",
    "int_orders__attributed",
    "shopify_unified",
    "shopify_order_lines",
    "shopify_refund_lines",
    "campaign_daily",
    "stg_fairing__responses",
}
META, GOOGLE, TIKTOK = "23850001", "21000000001", "1800000000000000001"
# One worker builds the module's warehouse once; its tests run in order on it.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("attribution_rules")]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DbtResult]:
    root = tmp_path_factory.mktemp("attribution")
    database = root / "warehouse.duckdb"
    load_raw_zone(database)
    with duckdb.connect(str(database)) as con:
        con.execute("create schema raw_fairing")
        con.execute(
            "create table raw_fairing.responses as"
            " select * from read_csv(?, header = true, all_varchar = true)",
            [str(FIXTURES / "raw_fairing.responses.csv")],
        )
        for table in ("raw_shopify.orders", "raw_shopify.order_lines"):
            con.execute(
                f"insert into {table} by name "
                "select * from read_csv(?, header = true, all_varchar = true)",
                [str(FIXTURES / f"{table}.csv")],
            )
    variables = dbt_vars(load_project(FIXTURES, environ={}))
    with contextlib.chdir(root):
        result = run_dbt("build", database=database, state_dir=root / "state", vars=variables)
    return database, result


@pytest.fixture(scope="module")
def attributed(built: tuple[Path, DbtResult]) -> dict[int, tuple[Any, ...]]:
    rows = query(
        built[0],
        "select order_id, attribution_method, channel, platform, campaign_id, campaign_name "
        "from marts.shopify_unified where order_id >= 2001",
    )
    return {row[0]: row[1:] for row in rows}


def test_attribution_models_and_their_tests_pass(built: tuple[Path, DbtResult]) -> None:
    result = built[1]
    mine = [n for n in result.nodes if n.name in MY_NODES or any(m in n.name for m in MY_NODES)]
    assert {n.name for n in result.models} >= MY_NODES
    assert [(n.name, n.status) for n in mine if n.status not in ("success", "pass")] == []
    tests = {n.name for n in mine if n.resource_type == "test"}
    assert any(name.startswith("accepted_channels_shopify_unified") for name in tests)
    assert "assert_campaign_daily_matches_platforms" in {n.name for n in result.tests}


@pytest.mark.parametrize(
    ("order_id", "expected"),
    [
        pytest.param(2001, ("discount_code", "affiliate", None, None, None), id="code-beats-utm"),
        pytest.param(
            2002,
            ("discount_code", "tiktok", "tiktok", TIKTOK, "Prospecting"),
            id="code-platform-takes-url-campaign-of-same-platform",
        ),
        pytest.param(
            2003,
            ("discount_code", "meta", "meta", "23850099", None),
            id="code-rule-campaign-beats-url-of-other-platform",
        ),
        pytest.param(
            2004,
            ("utm", "google", "google", GOOGLE, "Search - Brand"),
            id="utm-beats-click-id-campaign-by-name",
        ),
        pytest.param(2005, ("click_id", "meta", "meta", None, None), id="click-id-beats-referrer"),
        pytest.param(2006, ("click_id", "google", "google", None, None), id="gbraid-is-google"),
        pytest.param(2007, ("click_id", "google", "google", None, None), id="wbraid-before-ttclid"),
        pytest.param(2008, ("utm", "meta", "meta", META, "Winter Sale"), id="IG-is-meta"),
        pytest.param(2009, ("utm", "meta", "meta", META, "Winter Sale"), id="FB-campaign-slug"),
        pytest.param(2010, ("utm", "pinterest", None, None, None), id="configured-spelling"),
        pytest.param(2011, ("utm", "crm", None, None, None), id="configured-overrides-default"),
        pytest.param(
            2012,
            ("utm", "google", "google", "21000000002", "Shopping - All products"),
            id="adwords-campaign-id-in-utm_campaign",
        ),
        pytest.param(2013, ("direct", "direct", None, None, None), id="unmapped-code-is-ignored"),
        pytest.param(2014, ("utm", "meta", "meta", None, None), id="non-id-utm_id-dropped"),
        pytest.param(
            2015, ("discount_code", "affiliate", None, None, None), id="first-rule-not-first-code"
        ),
        pytest.param(2016, ("direct", "direct", None, None, None), id="escaped-underscore"),
        pytest.param(2017, ("discount_code", "loyalty", None, None, None), id="like-pattern"),
        pytest.param(
            2018,
            ("utm", "tiktok", "tiktok", "1800000000000000999", None),
            id="unknown-id-like-utm_id-kept",
        ),
        pytest.param(2019, ("utm", "email", None, None, None), id="utm_medium-email"),
        pytest.param(
            2020, ("utm", "tiktok", "tiktok", TIKTOK, "Prospecting"), id="tiktok-campaign-by-name"
        ),
        # Copies of 2013, 2005, 2008, 2002, 2019, 2016, 2006 and 2007 with a survey response.
        pytest.param(2021, ("survey", "podcast", None, None, None), id="survey-default-answer"),
        pytest.param(2022, ("survey", "meta", "meta", None, None), id="survey-beats-click-id"),
        pytest.param(
            2023, ("survey", "meta", "meta", META, "Winter Sale"), id="survey-keeps-utm-campaign"
        ),
        pytest.param(
            2024,
            ("survey", "tiktok", "tiktok", TIKTOK, "Prospecting"),
            id="survey-beats-code-of-same-platform",
        ),
        pytest.param(2025, ("survey", "crm", None, None, None), id="configured-survey-answer"),
        pytest.param(
            2026, ("direct", "direct", None, None, None), id="other-and-clarification-ignored"
        ),
        pytest.param(
            2027, ("click_id", "google", "google", None, None), id="unlisted-question-ignored"
        ),
        pytest.param(
            2028, ("click_id", "google", "google", None, None), id="other-platform-order-ignored"
        ),
    ],
)
def test_order_is_attributed_by_the_first_level_that_applies(
    attributed: dict[int, tuple[Any, ...]], order_id: int, expected: tuple[Any, ...]
) -> None:
    assert attributed[order_id] == expected


def test_fixture_orders_get_their_channels_and_the_meta_campaign_alias(
    built: tuple[Path, DbtResult],
) -> None:
    rows = query(
        built[0],
        "select order_id, attribution_method, channel, campaign_id, meta_campaign_id "
        "from marts.shopify_unified where order_id < 2000 order by order_id",
    )
    assert rows == [
        (1001, "utm", "meta", META, META),
        (1002, "click_id", "google", None, None),
        (1003, "utm", "email", None, None),
        (1004, "utm", "tiktok", None, None),
        (1005, "referrer", "referral", None, None),
        (1006, "direct", "direct", None, None),
        (1007, "utm", "pinterest", None, None),  # `other` without the configured spelling
        (1008, "click_id", "meta", None, None),
        (1009, "utm", "meta", "23850002", "23850002"),
    ]


def test_campaign_daily_counts_attributed_orders_on_their_campaign_day(
    built: tuple[Path, DbtResult],
) -> None:
    rows = query(
        built[0],
        "select platform, campaign_id, campaign_name, spend, impressions, attributed_orders, "
        "attributed_revenue, ctr, cpc, roas, attributed_cpa from marts.campaign_daily "
        "where date = '2024-01-13' and attributed_orders > 0 order by platform, campaign_id",
    )
    # 2004 on Search - Brand, 2012 on Shopping, 2008 + 2009 + 2023 on Winter Sale, 2003 on the
    # rule's 23850099, 2002 + 2020 + 2024 on Prospecting, 2018 on an id the ad data does not know.
    zero = Decimal("0.00")
    net = Decimal("49.00")
    assert [r[:3] + r[5:7] for r in rows] == [
        ("google", GOOGLE, "Search - Brand", 1, net),
        ("google", "21000000002", "Shopping - All products", 1, net),
        ("meta", META, "Winter Sale", 3, 3 * net),
        ("meta", "23850099", None, 1, net),
        ("tiktok", TIKTOK, "Prospecting", 3, 3 * net),
        ("tiktok", "1800000000000000999", None, 1, net),
    ]
    unknown = rows[-1]
    assert unknown[3:5] == (zero, 0)
    assert unknown[7:] == (None, None, None, 0.0)


def test_a_late_survey_answer_reattributes_its_order_and_a_reread_changes_nothing(
    built: tuple[Path, DbtResult], tmp_path: Path
) -> None:
    """Fairing's lookback re-reads every response unchanged, and a late answer about order 2020
    arrives: the next incremental build re-attributes 2020 only (2022, re-read unchanged, is
    not rebuilt: the tampered row stays), as a full refresh would."""
    incremental, refreshed = tmp_path / "incremental.duckdb", tmp_path / "refreshed.duckdb"
    shutil.copy(built[0], incremental)
    with duckdb.connect(str(incremental)) as con:
        con.execute(
            "insert into raw_fairing.responses select * replace ("
            " 'fairing-3' as _extract_run_id, '2024-06-01T06:00:00Z' as _ingested_at)"
            " from raw_fairing.responses where _extract_run_id = 'fairing-1'"
        )
        con.execute(
            "insert into raw_fairing.responses select * replace ('r-2020' as id,"
            " '2020' as order_id, 'Facebook' as response)"
            " from raw_fairing.responses where id = 'r-2022' and _extract_run_id = 'fairing-3'"
        )
    shutil.copy(incremental, refreshed)
    with duckdb.connect(str(incremental)) as con:
        con.execute("update marts.shopify_unified set units = units + 1000 where order_id = 2022")
    variables = dbt_vars(load_project(FIXTURES, environ={}))
    for database, full in ((incremental, False), (refreshed, True)):
        with contextlib.chdir(tmp_path):
            result = run_dbt(
                "run", database=database, state_dir=tmp_path / database.stem,
                full_refresh=full, vars=variables,
            )  # fmt: skip
        assert result.success, [(n.name, n.message) for n in result.failed]
    unified = (
        "select order_id, attribution_method, channel, platform, campaign_id, units"
        " from marts.shopify_unified where order_id >= 2001 order by order_id"
    )
    after = {row[0]: row[1:] for row in query(incremental, unified)}
    assert after[2020] == ("survey", "meta", "meta", None, 1)
    assert after[2022][4] > 999  # not rebuilt
    full = {row[0]: row[1:] for row in query(refreshed, unified)}
    assert {k: v for k, v in after.items() if k != 2022} == {
        k: v for k, v in full.items() if k != 2022
    }
