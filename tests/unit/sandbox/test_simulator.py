from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from martlake.errors import ConfigError
from martlake.sandbox import Business, SimulatorConfig

from .channels import channel_of

NY = ZoneInfo("America/New_York")
CENT = Decimal("0.01")
# Fields that move when a later event (fulfilment, refund) becomes visible.
EVENT_FIELDS = ("updated_at", "closed_at", "fulfillment_status", "financial_status", "refunds")


def local_date(stamp: str) -> date:
    return datetime.fromisoformat(stamp).astimezone(NY).date()


def dump(orders: list[dict[str, Any]]) -> str:
    return json.dumps(orders, sort_keys=True)


def without_events(order: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in order.items() if k not in EVENT_FIELDS}
    out["line_items"] = [
        {k: v for k, v in line.items() if k != "fulfillment_status"} for line in order["line_items"]
    ]
    return out


def test_same_config_gives_identical_data(small_config: SimulatorConfig) -> None:
    a, b = Business(small_config), Business(small_config)
    assert dump(a.orders) == dump(b.orders)
    assert a.meta_insights == b.meta_insights


def test_another_seed_gives_other_data(small_business: Business) -> None:
    other = Business(replace(small_business.config, seed=7))
    assert dump(other.orders) != dump(small_business.orders)
    assert other.meta_insights != small_business.meta_insights


def test_extending_end_date_only_adds_a_day_and_reveals_events(
    small_business: Business,
) -> None:
    cfg = small_business.config
    longer = Business(replace(cfg, end_date=cfg.end_date + timedelta(days=1)))
    old_as_of, new_as_of = small_business.as_of, longer.as_of
    by_id = {o["id"]: o for o in longer.orders}

    for order in small_business.orders:
        again = by_id.pop(order["id"])
        assert without_events(again) == without_events(order)
        if again != order:
            moved = datetime.fromisoformat(again["updated_at"])
            assert old_as_of <= moved < new_as_of
    assert by_id, "the extra day has orders"
    assert {local_date(o["created_at"]) for o in by_id.values()} == {longer.config.end_date}
    assert min(by_id) > max(o["id"] for o in small_business.orders)

    n = len(small_business.meta_insights)
    assert longer.meta_insights[:n] == small_business.meta_insights
    assert {r["date_start"] for r in longer.meta_insights[n:]} == {str(longer.config.end_date)}
    n = len(small_business.tiktok_ad_stats)
    assert longer.tiktok_ad_stats[:n] == small_business.tiktok_ad_stats
    assert {r["dimensions"]["stat_time_day"][:10] for r in longer.tiktok_ad_stats[n:]} == {
        str(longer.config.end_date)
    }
    n = len(small_business.google_campaign_stats)

    # campaign.status is read at as_of, so compare the rest of each row.
    def unstatused(rows: list[dict[str, Any]]) -> list[Any]:
        return [(r["campaign"]["id"], r["metrics"], r["segments"]) for r in rows]

    assert unstatused(longer.google_campaign_stats[:n]) == unstatused(
        small_business.google_campaign_stats
    )
    assert {r["segments"]["date"] for r in longer.google_campaign_stats[n:]} == {
        str(longer.config.end_date)
    }


def test_short_business_is_a_prefix_of_a_longer_one(small_config: SimulatorConfig) -> None:
    shorter = Business(replace(small_config, end_date=small_config.start_date + timedelta(days=9)))
    full = Business(small_config)
    ten_days = [o for o in full.orders if o["id"] <= shorter.orders[-1]["id"]]
    assert [without_events(o) for o in ten_days] == [without_events(o) for o in shorter.orders]


def test_order_money_adds_up(small_business: Business) -> None:
    for order in small_business.orders:
        lines = order["line_items"]
        gross = sum(Decimal(line["price"]) * line["quantity"] for line in lines)
        allocations = [Decimal(a["amount"]) for line in lines for a in line["discount_allocations"]]
        subtotal = Decimal(order["subtotal_price"])
        shipping = Decimal(order["total_shipping_price_set"]["shop_money"]["amount"])
        tax = Decimal(order["total_tax"])
        assert Decimal(order["total_line_items_price"]) == gross
        assert Decimal(order["total_discounts"]) == sum(allocations, Decimal(0))
        assert sum((Decimal(c["amount"]) for c in order["discount_codes"]), Decimal(0)) == Decimal(
            order["total_discounts"]
        )
        assert subtotal == gross - Decimal(order["total_discounts"])
        assert Decimal(order["total_price"]) == subtotal + shipping + tax
        assert shipping == sum(Decimal(s["price"]) for s in order["shipping_lines"])
        assert shipping == (Decimal(0) if subtotal >= 75 else Decimal("5.95"))
        assert tax == (subtotal * Decimal("0.08")).quantize(CENT, rounding="ROUND_HALF_UP")
        assert tax == sum(Decimal(t["price"]) for line in lines for t in line["tax_lines"])
        assert order["taxes_included"] is False and order["test"] is False
        net = {
            line["id"]: Decimal(line["price"]) * line["quantity"]
            - sum((Decimal(a["amount"]) for a in line["discount_allocations"]), Decimal(0))
            for line in lines
        }
        quantities = {line["id"]: line["quantity"] for line in lines}
        for refund in order["refunds"]:
            for item in refund["refund_line_items"]:
                subtotal_refund = Decimal(item["subtotal"])
                assert 0 < subtotal_refund <= net[item["line_item_id"]]
                assert 1 <= item["quantity"] <= quantities[item["line_item_id"]]
                assert Decimal(item["total_tax"]) == (subtotal_refund * Decimal("0.08")).quantize(
                    CENT, rounding="ROUND_HALF_UP"
                )
            (transaction,) = refund["transactions"]
            assert Decimal(transaction["amount"]) == sum(
                Decimal(i["subtotal"]) + Decimal(i["total_tax"])
                for i in refund["refund_line_items"]
            )


def test_truth_equals_what_the_json_says(small_business: Business) -> None:
    truth = small_business.truth
    orders: Counter[date] = Counter()
    gross: defaultdict[date, Decimal] = defaultdict(Decimal)
    discounts: defaultdict[date, Decimal] = defaultdict(Decimal)
    returns: defaultdict[date, Decimal] = defaultdict(Decimal)
    shipping: defaultdict[date, Decimal] = defaultdict(Decimal)
    refund_lines = 0
    for order in small_business.orders:
        day = local_date(order["created_at"])
        orders[day] += 1
        gross[day] += sum(Decimal(li["price"]) * li["quantity"] for li in order["line_items"])
        discounts[day] += Decimal(order["total_discounts"])
        shipping[day] += Decimal(order["total_shipping_price_set"]["shop_money"]["amount"])
        for refund in order["refunds"]:
            for item in refund["refund_line_items"]:
                returns[local_date(refund["created_at"])] += Decimal(item["subtotal"])
                refund_lines += 1
    days = truth.orders_per_day().keys()
    assert list(days) == sorted(days)
    assert {d: n for d, n in truth.orders_per_day().items() if n} == dict(orders)
    assert {d: v for d, v in truth.gross_sales_per_day().items() if v} == dict(gross)
    assert {d: v for d, v in truth.discounts_per_day().items() if v} == dict(discounts)
    assert {d: v for d, v in truth.returns_per_day().items() if v} == dict(returns)
    assert {d: v for d, v in truth.shipping_per_day().items() if v} == dict(shipping)
    for day, net in truth.net_sales_per_day().items():
        assert net == gross[day] - discounts[day] - returns[day]
        assert net.as_tuple().exponent == -2

    spend: defaultdict[date, Decimal] = defaultdict(Decimal)
    campaign_spend: defaultdict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for row in small_business.meta_insights:
        day = date.fromisoformat(row["date_start"])
        spend[day] += Decimal(row["spend"])
        campaign_spend[(day, row["campaign_id"])] += Decimal(row["spend"])
    assert truth.spend_per_day() == dict(spend)
    assert truth.spend_per_campaign_day() == dict(campaign_spend)
    assert truth.spend_per_day("meta") == truth.spend_per_day()
    assert truth.row_counts() == {
        "orders": len(small_business.orders),
        "order_lines": sum(len(o["line_items"]) for o in small_business.orders),
        "refund_lines": refund_lines,
        "insights": len(small_business.meta_insights),
        "google_campaign_stats": len(small_business.google_campaign_stats),
        "tiktok_ad_stats": len(small_business.tiktok_ad_stats),
    }


def test_google_and_tiktok_truth_equals_what_the_json_says(small_business: Business) -> None:
    truth = small_business.truth
    google: defaultdict[tuple[date, str], Decimal] = defaultdict(Decimal)
    micros: dict[tuple[date, str], int] = {}
    for row in small_business.google_campaign_stats:
        key = (date.fromisoformat(row["segments"]["date"]), row["campaign"]["id"])
        micros[key] = int(row["metrics"]["costMicros"])
        # Spend is the campaign-day's micros rounded half-even to the cent, once.
        cents = (Decimal(micros[key]) / 1_000_000).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
        google[key] += cents
    assert any(m % 10_000 for m in micros.values()), "cost is not all whole cents"
    assert micros == truth.google_cost_micros_per_campaign_day()
    tiktok: defaultdict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for row in small_business.tiktok_ad_stats:
        key = (
            date.fromisoformat(row["dimensions"]["stat_time_day"][:10]),
            row["metrics"]["campaign_id"],
        )
        tiktok[key] += Decimal(row["metrics"]["spend"])
    for platform, expected in (("google", google), ("tiktok", tiktok)):
        per_campaign = truth.spend_per_campaign_day(platform)
        assert per_campaign == dict(expected)
        assert all(v.as_tuple().exponent == -2 for v in per_campaign.values())
        per_day: defaultdict[date, Decimal] = defaultdict(Decimal)
        for (day, _), value in expected.items():
            per_day[day] += value
        assert {d: v for d, v in truth.spend_per_day(platform).items() if v} == {
            d: v for d, v in per_day.items() if v
        }
        assert list(truth.spend_per_day(platform)) == list(truth.spend_per_day())
    with pytest.raises(ValueError, match="platform"):
        truth.spend_per_day("bing")


def test_new_customer_orders_are_first_orders_by_customer_id(small_business: Business) -> None:
    seen: set[int] = set()
    firsts: Counter[date] = Counter()
    for order in sorted(small_business.orders, key=lambda o: (o["created_at"], o["id"])):
        if order["customer"] and order["customer"]["id"] not in seen:
            seen.add(order["customer"]["id"])
            firsts[local_date(order["created_at"])] += 1
    truth = small_business.truth.new_customer_orders_per_day()
    assert {d: n for d, n in truth.items() if n} == dict(firsts)


def test_nothing_after_as_of_is_visible(small_config: SimulatorConfig) -> None:
    as_of = datetime(2025, 3, 20, 15, 30, tzinfo=NY)
    early, late = Business(replace(small_config, as_of=as_of)), Business(small_config)
    assert early.orders, "orders before as_of exist"
    for order in early.orders:
        for name in ("created_at", "updated_at"):
            assert datetime.fromisoformat(order[name]) < as_of
        if order["closed_at"]:
            assert datetime.fromisoformat(order["closed_at"]) < as_of
        for refund in order["refunds"]:
            assert datetime.fromisoformat(refund["created_at"]) < as_of
    late_by_id = {o["id"]: o for o in late.orders}
    revealed = [o for o in early.orders if late_by_id[o["id"]]["refunds"] and not o["refunds"]]
    assert revealed, "some refunds of early orders happen after as_of"
    for order in revealed:
        assert order["financial_status"] == "paid"
        assert late_by_id[order["id"]]["financial_status"] in ("refunded", "partially_refunded")
        assert late_by_id[order["id"]]["updated_at"] > order["updated_at"]
    truth = early.truth
    assert sum(truth.orders_per_day().values()) == len(early.orders)
    assert max(d for d, v in truth.returns_per_day().items() if v) <= as_of.date()
    assert truth.row_counts()["refund_lines"] == sum(len(o["refunds"]) for o in early.orders)


def test_the_day_as_of_falls_in_is_reported_in_part(small_config: SimulatorConfig) -> None:
    as_of = datetime(2025, 3, 20, 12, 0, tzinfo=NY)
    partial = Business(replace(small_config, as_of=as_of))
    full = Business(small_config)
    day = "2025-03-20"
    partial_rows = {r["ad_id"]: r for r in partial.meta_insights if r["date_start"] == day}
    full_rows = {r["ad_id"]: r for r in full.meta_insights if r["date_start"] == day}
    assert partial_rows and set(partial_rows) <= set(full_rows)
    for ad_id, row in partial_rows.items():
        assert Decimal(row["spend"]) <= Decimal(full_rows[ad_id]["spend"])
    assert sum(Decimal(r["spend"]) for r in partial_rows.values()) < sum(
        Decimal(r["spend"]) for r in full_rows.values()
    )
    assert max(r["date_start"] for r in partial.meta_insights) == day
    for platform in ("google", "tiktok"):
        part = partial.truth.spend_per_campaign_day(platform)
        whole = full.truth.spend_per_campaign_day(platform)
        on_day = {k: v for k, v in part.items() if str(k[0]) == day}
        assert on_day and all(v <= whole[k] for k, v in on_day.items())
        assert sum(on_day.values()) < sum(v for k, v in whole.items() if str(k[0]) == day)
        assert max(str(d) for d, _ in part) == day


def test_channels_follow_the_spine_rules_and_designed_shares(small_business: Business) -> None:
    truth = small_business.truth.order_channels()
    for order in small_business.orders:
        assert truth[order["id"]] == channel_of(order["landing_site"], order["referring_site"])
    shares = Counter(channel for channel, _ in truth.values())
    n = len(truth)
    for channel, share, tolerance in (
        ("meta", 0.35, 0.04),
        ("google", 0.10, 0.025),
        ("tiktok", 0.05, 0.02),
        ("email", 0.10, 0.025),
        ("referral", 0.10, 0.025),
        ("direct", 0.28, 0.04),
    ):
        assert abs(shares[channel] / n - share) < tolerance, (channel, shares[channel] / n)


def test_meta_orders_point_at_campaigns_spending_that_day(small_business: Business) -> None:
    spend = small_business.truth.spend_per_campaign_day()
    spellings: Counter[str] = Counter()
    for order in small_business.orders:
        channel, campaign = small_business.truth.order_channels()[order["id"]]
        if channel == "meta" and campaign is not None:
            assert spend[(local_date(order["created_at"]), campaign)] > 0
            spellings[order["landing_site"].split("utm_source=")[1].split("&")[0]] += 1
    assert {"facebook", "fb", "ig", "instagram"} <= set(spellings)


def test_google_and_tiktok_orders_point_at_campaigns_spending_that_day(
    small_business: Business,
) -> None:
    truth = small_business.truth
    spend = {p: truth.spend_per_campaign_day(p) for p in ("google", "tiktok")}
    seen: Counter[tuple[str, str]] = Counter()
    for order in small_business.orders:
        channel, campaign = truth.order_channels()[order["id"]]
        if channel not in ("google", "tiktok"):
            continue
        query = order["landing_site"].split("?", 1)[1]
        if campaign is None:
            seen[(channel, "click id only")] += 1
            assert query.startswith("gclid=" if channel == "google" else "ttclid=")
            continue
        seen[(channel, "utm")] += 1
        assert spend[channel][(local_date(order["created_at"]), campaign)] > 0
        medium = "cpc" if channel == "google" else "paid_social"
        assert f"utm_source={channel}&utm_medium={medium}&utm_campaign=" in query
        assert f"&utm_id={campaign}&" in query
        assert ("&gclid=" if channel == "google" else "&ttclid=") in query
    assert all(
        seen[(c, kind)] > 10 for c in ("google", "tiktok") for kind in ("utm", "click id only")
    )


def test_ad_platform_catalogs_have_the_designed_shape(small_business: Business) -> None:
    google = small_business.google_campaign_stats
    assert google == sorted(google, key=lambda r: (r["segments"]["date"], int(r["campaign"]["id"])))
    campaigns = {r["campaign"]["id"]: r["campaign"] for r in google}
    assert {c["name"]: c["advertisingChannelType"] for c in campaigns.values()} == {
        "Search - Brand": "SEARCH",
        "Search - Generic": "SEARCH",
        "Shopping - All products": "SHOPPING",
        "Performance Max - Catalog": "PERFORMANCE_MAX",
    }
    assert all(cid.isdigit() for cid in campaigns)
    customer = small_business.google_customer
    assert customer["id"] == "1234567890" and customer["resourceName"] == "customers/1234567890"
    for row in google:
        assert row["customer"] == customer
        assert (
            row["campaign"]["resourceName"]
            == f"customers/1234567890/campaigns/{row['campaign']['id']}"
        )
        metrics = row["metrics"]
        assert all(isinstance(metrics[k], str) for k in ("costMicros", "impressions", "clicks"))
        assert isinstance(metrics["conversions"], float)
        assert isinstance(metrics["conversionsValue"], float)
        assert int(metrics["costMicros"]) or int(metrics["impressions"]) or int(metrics["clicks"])
    generic = {r["segments"]["date"] for r in google if r["campaign"]["name"] == "Search - Generic"}
    assert "2025-03-31" not in generic and "2025-03-01" in generic, "paused from day 38 to 60"
    assert campaigns["21000000002"]["status"] == "PAUSED", "still paused at as_of (day 49)"
    assert campaigns["21000000001"]["status"] == "ENABLED"
    assert any(float(r["metrics"]["conversions"]) % 1 for r in google), "fractional credit"

    tiktok = small_business.tiktok_ad_stats
    assert tiktok == sorted(
        tiktok, key=lambda r: (r["dimensions"]["stat_time_day"], int(r["dimensions"]["ad_id"]))
    )
    assert len(
        {(r["dimensions"]["ad_id"], r["dimensions"]["stat_time_day"]) for r in tiktok}
    ) == len(tiktok)
    ads = {r["dimensions"]["ad_id"]: r["metrics"] for r in tiktok}
    by_campaign: defaultdict[str, set[str]] = defaultdict(set)
    for ad_id, m in ads.items():
        by_campaign[m["campaign_id"]].add(m["adgroup_id"])
        for entity in (ad_id, m["campaign_id"], m["adgroup_id"]):
            assert entity.isdigit() and len(entity) == 19
    assert len(by_campaign) == 3 and all(len(groups) == 2 for groups in by_campaign.values())
    assert len(ads) == 12
    for row in tiktok:
        assert row["dimensions"]["stat_time_day"].endswith(" 00:00:00")
        assert all(isinstance(v, str) for v in row["metrics"].values())
        assert Decimal(row["metrics"]["spend"]) > 0 or int(row["metrics"]["impressions"]) > 0
    retargeting = [
        r for r in tiktok if r["metrics"]["campaign_name"] == "Retargeting - Video Viewers"
    ]
    assert min(r["dimensions"]["stat_time_day"] for r in retargeting) == "2025-03-13 00:00:00"
    assert small_business.tiktok_advertiser["advertiser_id"] == "7000000000000000001"


def test_timestamps_carry_the_shop_offset_across_dst(small_business: Business) -> None:
    offsets = {o["created_at"][-6:] for o in small_business.orders}
    assert offsets == {"-05:00", "-04:00"}
    for order in small_business.orders:
        created = datetime.fromisoformat(order["created_at"])
        assert created.utcoffset() == created.astimezone(NY).utcoffset()
        assert created.microsecond == 0
        assert order["processed_at"] == order["created_at"]
        summer = created >= datetime(2025, 3, 9, 7, tzinfo=ZoneInfo("UTC"))
        assert (created.utcoffset() == timedelta(hours=-4)) == summer


def test_ids_are_unique_and_orders_sorted(small_business: Business) -> None:
    orders = small_business.orders
    ids = [o["id"] for o in orders]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert [o["order_number"] for o in orders] == list(range(1001, 1001 + len(orders)))
    assert all(o["name"] == f"#{o['order_number']}" for o in orders)
    line_ids = [li["id"] for o in orders for li in o["line_items"]]
    assert len(set(line_ids)) == len(line_ids)
    refunds = [r for o in orders for r in o["refunds"]]
    nested = [i["id"] for r in refunds for i in r["refund_line_items"]]
    assert len({r["id"] for r in refunds}) == len(refunds) and len(set(nested)) == len(nested)
    every_id = ids + line_ids + [r["id"] for r in refunds] + nested
    assert len(set(every_id)) == len(every_id)


def test_customers_look_like_real_checkouts(small_business: Business) -> None:
    orders = small_business.orders
    n = len(orders)
    guests = sum(o["customer"] is None for o in orders)
    assert 0.01 < guests / n < 0.06
    seen: set[int] = set()
    returning = 0
    for order in orders:
        if order["customer"]:
            returning += order["customer"]["id"] in seen
            seen.add(order["customer"]["id"])
    assert 0.15 < returning / n < 0.40
    emails = [o["email"] for o in orders]
    assert any(e != e.strip() for e in emails)
    assert any(e.strip() != e.strip().lower() for e in emails)
    phones = {o["phone"] for o in orders if o["phone"]}
    assert any(p.startswith("+1 ") for p in phones) and any(p.startswith("(") for p in phones)
    countries = Counter(o["shipping_address"]["country_code"] for o in orders)
    assert countries.most_common(1)[0][0] == "US" and {"CA", "GB"} <= set(countries)


def test_catalog_discounts_and_statuses(small_business: Business) -> None:
    orders = small_business.orders
    n = len(orders)
    prices = {Decimal(li["price"]) for o in orders for li in o["line_items"]}
    products = {li["product_id"] for o in orders for li in o["line_items"]}
    assert min(prices) == Decimal("9.00") and max(prices) == Decimal("180.00")
    assert 20 <= len(products) <= 25
    assert all(1 <= len(o["line_items"]) <= 4 for o in orders)
    assert all(1 <= li["quantity"] <= 3 for o in orders for li in o["line_items"])
    discounted = sum(bool(o["discount_codes"]) for o in orders)
    assert 0.10 < discounted / n < 0.20
    assert {c["code"] for o in orders for c in o["discount_codes"]} >= {"WELCOME10", "SPRING20"}
    assert {o["financial_status"] for o in orders} == {"paid", "partially_refunded", "refunded"}
    closed = [o for o in orders if o["closed_at"]]
    assert 0 < len(closed) < n
    assert all(o["fulfillment_status"] == "fulfilled" for o in closed)


def test_insight_rows_have_the_graph_shape(small_business: Business) -> None:
    rows = small_business.meta_insights
    assert rows == sorted(rows, key=lambda r: (r["date_start"], int(r["ad_id"])))
    keys = {(r["date_start"], r["ad_id"]) for r in rows}
    assert len(keys) == len(rows)
    campaigns = {r["campaign_id"] for r in rows}
    assert 4 <= len(campaigns) <= 5 and all(c.isdigit() and len(c) == 18 for c in campaigns)
    for row in rows:
        assert row["account_id"] == small_business.config.meta_account_id
        assert row["date_start"] == row["date_stop"]
        assert isinstance(row["spend"], str) and isinstance(row["impressions"], str)
        assert Decimal(row["spend"]) > 0 or int(row["impressions"]) > 0
        for action in row.get("actions", []):
            assert int(action["value"]) > 0
        if "action_values" in row:
            purchases = {a["action_type"]: a["value"] for a in row["actions"]}
            assert purchases["offsite_conversion.fb_pixel_purchase"] == purchases["purchase"]


def test_paused_and_late_campaigns_deliver_only_when_active() -> None:
    cfg = SimulatorConfig(
        start_date=date(2025, 1, 1), end_date=date(2025, 7, 31), orders_per_day=10
    )
    rows = Business(cfg).meta_insights
    days_by_campaign: dict[str, set[str]] = {}
    for row in rows:
        days_by_campaign.setdefault(row["campaign_name"], set()).add(row["date_start"])
    lookalike = days_by_campaign["Prospecting - Lookalike 1%"]
    assert "2025-02-20" not in lookalike and "2025-02-10" in lookalike
    assert min(days_by_campaign["Prospecting - Advantage+ Shopping"]) == "2025-07-02"


def test_volume_follows_growth_and_seasonality() -> None:
    cfg = SimulatorConfig(
        start_date=date(2024, 1, 1), end_date=date(2024, 12, 31), orders_per_day=40
    )
    per_day = Business(cfg).truth.orders_per_day()
    by_month: Counter[int] = Counter()
    for day, n in per_day.items():
        by_month[day.month] += n
    assert by_month[11] > by_month[10] and by_month[12] > by_month[7]
    assert per_day[date(2024, 11, 29)] > 1.6 * per_day[date(2024, 11, 15)]
    weekend = sum(n for d, n in per_day.items() if d.weekday() >= 5) / 104
    weekday = sum(n for d, n in per_day.items() if d.weekday() < 5) / 262
    assert weekend > weekday


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"end_date": date(2025, 1, 1)}, "end_date"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"meta_account_id": "act_123"}, "meta_account_id"),
        ({"google_customer_id": "123-456-7890"}, "google_customer_id"),
        ({"tiktok_advertiser_id": "adv_1"}, "tiktok_advertiser_id"),
        ({"as_of": datetime(2025, 5, 1)}, "timezone-aware"),
        ({"orders_per_day": -1}, "orders_per_day"),
    ],
    ids=[
        "end-before-start",
        "bad-timezone",
        "act-prefix",
        "google-dashes",
        "tiktok-not-digits",
        "naive-as-of",
        "negative-volume",
    ],
)
def test_bad_config_is_a_config_error(change: dict[str, Any], message: str) -> None:
    base = {"start_date": date(2025, 2, 1), "end_date": date(2025, 2, 2)}
    with pytest.raises(ConfigError, match=message):
        SimulatorConfig(**{**base, **change})


def test_default_as_of_is_midnight_after_end_date_in_shop_time() -> None:
    cfg = SimulatorConfig(
        start_date=date(2025, 6, 1), end_date=date(2025, 6, 2), timezone="Europe/Berlin"
    )
    assert cfg.effective_as_of == datetime(2025, 6, 3, tzinfo=ZoneInfo("Europe/Berlin"))
    orders = Business(replace(cfg, orders_per_day=20)).orders
    assert {o["created_at"][-6:] for o in orders} == {"+02:00"}


def test_google_ad_micros_are_not_whole_cents_and_add_up_to_their_campaign(
    small_business: Business,
) -> None:
    campaigns = {
        (r["segments"]["date"], r["campaign"]["id"]): int(r["metrics"]["costMicros"])
        for r in small_business.google_campaign_stats
    }
    pmax = {
        r["campaign"]["id"]
        for r in small_business.google_campaign_stats
        if r["campaign"]["advertisingChannelType"] == "PERFORMANCE_MAX"
    }
    for level in (small_business.google_ad_stats, small_business.google_ad_group_stats):
        sums: Counter[tuple[str, str]] = Counter()
        for r in level:
            sums[(r["segments"]["date"], r["campaign"]["id"])] += int(r["metrics"]["costMicros"])
        assert pmax and not {campaign for _, campaign in sums} & pmax
        expected = {k: v for k, v in campaigns.items() if k[1] not in pmax and v}
        assert {k: v for k, v in sums.items() if v} == expected
    ads = [int(r["metrics"]["costMicros"]) for r in small_business.google_ad_stats]
    assert sum(m % 10_000 != 0 for m in ads) > len(ads) // 2
    assert sum(m % 10_000 != 0 for m in campaigns.values()) > len(campaigns) // 2
