"""Each connector's own totals, read from the emulators over loopback HTTP: what the
reconciliation compares the warehouse with."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr

from martlake.errors import AuthError
from martlake.quality.reconcile import Reconcilable
from martlake.sandbox import SANDBOX_SHOPIFY_TOKEN, Business, EmulatorServer, SimulatorConfig
from martlake.sources import GoogleAdsSource, MetaAdsSource, ShopifySource, TikTokAdsSource
from tests.contract.support import sandbox_settings

START, END = date(2025, 3, 1), date(2025, 3, 20)
SINCE, UNTIL = date(2025, 3, 10), date(2025, 3, 20)
SHOP = "dtc-brand.myshopify.com"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    config = SimulatorConfig(
        start_date=START,
        end_date=END,
        orders_per_day=6,
        ad_timezones={"meta": "Europe/Berlin", "tiktok": "Asia/Tokyo"},
        ad_currencies={"tiktok": "EUR"},
    )
    with EmulatorServer(Business(config)) as running:
        yield running


def _shopify(server: EmulatorServer, token: str = SANDBOX_SHOPIFY_TOKEN) -> ShopifySource:
    config = server.business.config
    access = {"access_token": SecretStr(token)}
    return ShopifySource(sandbox_settings("shopify", server, config).model_copy(update=access),
                         backoff=0.01)  # fmt: skip


def _meta(server: EmulatorServer) -> MetaAdsSource:
    return MetaAdsSource(sandbox_settings("meta", server, server.business.config), backoff=0.01)


def _google(server: EmulatorServer) -> GoogleAdsSource:
    return GoogleAdsSource(sandbox_settings("google", server, server.business.config), backoff=0.01)


def _tiktok(server: EmulatorServer) -> TikTokAdsSource:
    return TikTokAdsSource(sandbox_settings("tiktok", server, server.business.config), backoff=0.01)


def _days(source: Reconcilable) -> tuple[dict[date, Decimal], str, str | None]:
    (account,) = source.reconciliation_accounts()
    totals = source.reconciliation_totals(account, SINCE, UNTIL)
    assert {t.account_id for t in totals} == {account.id}
    assert all(t.campaign_id is None for t in totals)
    return {t.day: t.value for t in totals}, account.timezone, account.currency


def test_shopify_counts_orders_per_shop_day_and_honours_deleted_orders(
    server: EmulatorServer,
) -> None:
    business = server.business
    truth = business.truth.orders_per_day()
    source = _shopify(server)
    try:
        counted, zone, currency = _days(source)
        assert (zone, currency) == ("America/New_York", None)
        assert counted == {d: Decimal(n) for d, n in truth.items() if SINCE <= d <= UNTIL}
        victim = next(o for o in business.orders if o["created_at"].startswith("2025-03-12"))
        server.delete_order(victim["id"])
        after, _, _ = _days(source)
        assert after[date(2025, 3, 12)] == counted[date(2025, 3, 12)] - 1
        assert {d: v for d, v in after.items() if d != date(2025, 3, 12)} == {
            d: v for d, v in counted.items() if d != date(2025, 3, 12)
        }
    finally:
        source.close()


@pytest.mark.parametrize(
    ("build", "platform", "zone", "currency"),
    [
        (_meta, "meta", "Europe/Berlin", "USD"),
        (_tiktok, "tiktok", "Asia/Tokyo", "EUR"),
    ],
    ids=["meta", "tiktok"],
)
def test_ad_platforms_report_account_spend_per_local_day(
    server: EmulatorServer, build: object, platform: str, zone: str, currency: str
) -> None:
    source = build(server)  # type: ignore[operator]
    try:
        spend, got_zone, got_currency = _days(source)
        truth = server.business.truth.spend_per_day(platform)  # type: ignore[arg-type]
        assert (got_zone, got_currency) == (zone, currency)
        assert spend == {d: v for d, v in truth.items() if SINCE <= d <= UNTIL and v}
        (account,) = source.reconciliation_accounts()
        campaigns = source.campaign_totals(account, date(2025, 3, 15))
        assert all(c.campaign_id and c.day == date(2025, 3, 15) for c in campaigns)
        expected = server.business.truth.spend_per_campaign_day(platform)  # type: ignore[arg-type]
        assert {c.campaign_id: c.value for c in campaigns if c.value} == {
            campaign: v for (d, campaign), v in expected.items() if d == date(2025, 3, 15) and v
        }
    finally:
        source.close()


def test_google_customer_cost_is_the_unrounded_sum_of_its_campaigns(
    server: EmulatorServer,
) -> None:
    source = _google(server)
    try:
        spend, zone, currency = _days(source)
        assert (zone, currency) == ("America/New_York", "USD")
        micros: dict[date, int] = defaultdict(int)
        per_campaign: dict[str, int] = defaultdict(int)
        for row in server.business._dataset().google_stats:
            if SINCE <= row.day <= UNTIL:
                micros[row.day] += row.cost_micros
            if row.day == date(2025, 3, 15):
                per_campaign[row.campaign.id] += row.cost_micros
        assert spend == {d: Decimal(m).scaleb(-6) for d, m in micros.items()}
        (account,) = source.reconciliation_accounts()
        campaigns = source.campaign_totals(account, date(2025, 3, 15))
        assert {c.campaign_id: c.value for c in campaigns} == {
            c: Decimal(m).scaleb(-6) for c, m in per_campaign.items()
        }
        # Without segments.date the customer's cost is summed over the range: one row.
        (whole,) = source._search(
            account.id,
            "SELECT metrics.cost_micros FROM customer "
            f"WHERE segments.date BETWEEN '{SINCE}' AND '{UNTIL}'",
        )
        assert int(whole["metrics"]["costMicros"]) == sum(micros.values())
    finally:
        source.close()


def test_a_rejected_token_raises_auth_error(server: EmulatorServer) -> None:
    source = _shopify(server, token="shpat_wrong")
    try:
        with pytest.raises(AuthError, match="401"):
            source.reconciliation_totals(
                source.reconciliation_accounts()[0], UNTIL - timedelta(days=1), UNTIL
            )
    finally:
        source.close()
