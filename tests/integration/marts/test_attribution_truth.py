"""Attribution and the order-level marts on a sandbox business, against the simulator's truth.

One pipeline run (60 days × 40 orders/day) with one discount-code rule configured: orders using
a `FRIENDS…` code go to an `affiliate` channel, every other order is attributed from its URL.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from martlake.config import Project
from martlake.pipeline import RunOptions, RunResult, run_pipeline, simulator_config
from martlake.sandbox import Business
from martlake.sandbox.simulator import Platform
from martlake.warehouse import DuckDBWarehouse
from tests.integration.marts.products_ltv_truth import MARTS_ONLY
from tests.sandbox_project import make_sandbox_project, project

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("attribution_truth")]
PLATFORMS: tuple[Platform, ...] = ("meta", "google", "tiktok")
RULES = """
[attribution]
channels = { pinterest = "pinterest" }

[[attribution.discount_codes]]
pattern = "friends%"
channel = "affiliate"
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, RunResult]]:
    root = make_sandbox_project(tmp_path_factory.mktemp("attribution_truth"))
    config = root / "martlake.toml"
    config.write_text(config.read_text() + RULES)
    proj = project(root)
    yield proj, run_pipeline(proj, RunOptions(skip=MARTS_ONLY))


@pytest.fixture(scope="module")
def business(run: tuple[Project, RunResult]) -> Business:
    return Business(simulator_config(run[0]))


@pytest.fixture(scope="module")
def wh(run: tuple[Project, RunResult]) -> DuckDBWarehouse:
    return DuckDBWarehouse(run[0].warehouse_path)


@pytest.fixture(scope="module")
def friends(business: Business) -> set[int]:
    """Orders using a FRIENDS… discount code."""
    return {
        o["id"]
        for o in business.orders
        if any(c["code"].upper().startswith("FRIENDS") for c in o["discount_codes"])
    }


def test_run_passes_with_every_dbt_test(run: tuple[Project, RunResult]) -> None:
    steps = {s.step: s for s in run[1].steps}
    assert steps["transform"].status.value == "ok", steps["transform"].message


def test_orders_whose_url_names_a_campaign_get_that_campaign(
    wh: DuckDBWarehouse, business: Business, friends: set[int]
) -> None:
    truth = business.truth.order_channels()
    tagged = {o: c for o, (_, c) in truth.items() if c is not None and o not in friends}
    got = dict(wh.query("select order_id, campaign_id from marts.shopify_unified"))
    assert len(tagged) > 500
    hits = sum(1 for order_id, campaign in tagged.items() if got[order_id] == campaign)
    assert hits / len(tagged) >= 0.99, f"{hits} of {len(tagged)}"


def test_every_other_order_gets_the_channel_the_simulator_drew(
    wh: DuckDBWarehouse, business: Business, friends: set[int]
) -> None:
    truth = business.truth.order_channels()
    rows = wh.query(
        "select order_id, channel, platform, attribution_method from marts.shopify_unified"
    )
    got = {o: (channel, platform, method) for o, channel, platform, method in rows}
    assert len(got) == len(truth)
    wrong = {
        o: (truth[o][0], got[o][0])
        for o in truth
        if o not in friends and truth[o][0] != (got[o][0] if got[o][0] != "pinterest" else "other")
    }
    assert wrong == {}
    for order_id, (channel, platform, _) in got.items():
        assert platform == (channel if channel in PLATFORMS else None), order_id
    assert {got[o] for o in friends} == {("affiliate", None, "discount_code")}
    methods = Counter(method for _, _, method in got.values())
    assert set(methods) == {"discount_code", "utm", "click_id", "referrer", "direct"}


def test_click_id_only_orders_get_the_platform_without_a_campaign(
    wh: DuckDBWarehouse, business: Business, friends: set[int]
) -> None:
    truth = business.truth.order_channels()
    click_only = {
        o for o, (ch, c) in truth.items() if ch in PLATFORMS and c is None and o not in friends
    }
    rows = wh.query(
        "select order_id, channel, campaign_id, attribution_method from marts.shopify_unified "
        "where attribution_method = 'click_id'"
    )
    assert {o for o, *_ in rows} == click_only
    assert all(campaign is None and channel == truth[o][0] for o, channel, campaign, _ in rows)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_campaign_daily_spend_equals_truth_per_campaign_day(
    wh: DuckDBWarehouse, business: Business, platform: Platform
) -> None:
    rows = wh.query(
        "select date, campaign_id, spend, spend_in_account_currency from marts.campaign_daily "
        "where platform = ?",
        [platform],
    )
    truth = {k: v for k, v in business.truth.spend_per_campaign_day(platform).items() if v}
    assert truth
    assert {(d, c): s for d, c, s, _ in rows if s} == truth
    assert {(d, c): s for d, c, _, s in rows if s} == truth


def test_campaign_daily_attributed_orders_equal_truth_per_campaign_day(
    wh: DuckDBWarehouse, business: Business, friends: set[int]
) -> None:
    truth = business.truth.order_channels()
    order_dates = dict(wh.query("select order_id, order_date from marts.shopify_unified"))
    expected: Counter[tuple[date, str, str]] = Counter(
        (order_dates[o], channel, campaign)
        for o, (channel, campaign) in truth.items()
        if campaign is not None and o not in friends
    )
    rows = wh.query(
        "select date, platform, campaign_id, attributed_orders from marts.campaign_daily "
        "where attributed_orders > 0"
    )
    got = {(d, p, c): n for d, p, c, n in rows}
    assert sum(got.values()) >= 0.99 * sum(expected.values())
    assert sum(1 for k, n in expected.items() if got.get(k) == n) >= 0.99 * len(expected)
    orders = dict(wh.query("select date, orders from marts.shopify_daily_metrics"))
    per_day: Counter[date] = Counter()
    for (d, _, _), n in got.items():
        per_day[d] += n
    assert all(n <= orders[d] for d, n in per_day.items())


def test_campaign_daily_ratios_follow_their_definitions(wh: DuckDBWarehouse) -> None:
    rows = wh.query(
        "select spend, impressions, clicks, conversions, attributed_revenue, ctr, cpc, cpm, "
        "cpa, conversion_rate, roas from marts.campaign_daily"
    )
    assert rows
    for spend, imp, clicks, conv, revenue, ctr, cpc, cpm, cpa, rate, roas in rows:
        assert close(ctr, clicks / imp if imp else None)
        assert close(cpc, float(spend) / clicks if clicks else None)
        assert close(cpm, float(spend) * 1000 / imp if imp else None)
        assert close(cpa, float(spend) / conv if conv else None)
        assert close(rate, conv / clicks if clicks else None)
        assert close(roas, float(revenue) / float(spend) if spend else None)


def close(actual: float | None, expected: float | None) -> bool:
    if actual is None or expected is None:
        return actual is expected
    return math.isclose(actual, expected, rel_tol=1e-12)


def test_order_lines_add_up_to_the_truth_per_order_date(
    wh: DuckDBWarehouse, business: Business
) -> None:
    rows = wh.query(
        "select order_date, count(*), sum(gross_sales), sum(discount) "
        "from marts.shopify_order_lines group by order_date"
    )
    assert sum(n for _, n, _, _ in rows) == business.truth.row_counts()["order_lines"]
    gross = {d: v for d, v in business.truth.gross_sales_per_day().items() if v}
    discounts = {d: v for d, v in business.truth.discounts_per_day().items() if v}
    assert {d: g for d, _, g, _ in rows} == gross
    assert {d: x for d, _, _, x in rows if x} == discounts


def test_refund_lines_add_up_to_the_truth_per_refund_date(
    wh: DuckDBWarehouse, business: Business
) -> None:
    rows = wh.query(
        "select refund_date, count(*), sum(subtotal) from marts.shopify_refund_lines "
        "group by refund_date"
    )
    assert sum(n for _, n, _ in rows) == business.truth.row_counts()["refund_lines"] > 0
    returns = {d: v for d, v in business.truth.returns_per_day().items() if v}
    assert {d: s for d, _, s in rows} == returns
    [(unrefunded,)] = wh.query(
        "select count(*) from marts.shopify_order_lines l left join marts.shopify_refund_lines r "
        "using (order_line_id) where (r.order_line_id is null) <> (l.returned_quantity = 0)"
    )
    assert unrefunded == 0
    assert Decimal(0) not in {s for _, _, s in rows}
