"""Records to API JSON: Shopify Admin REST 2024-10 orders, Meta Graph v21.0 insights, Google
Ads REST `GoogleAdsRow`s and TikTok API for Business v1.3 integrated-report rows.

Orders are rendered straight to compact JSON text (a year of orders is ~120k of them, and
building dicts for `json.dumps` costs several times more); `Business.orders` parses that text,
so the dicts and the bytes the emulator serves can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from json.encoder import encode_basestring
from typing import Any
from zoneinfo import ZoneInfo

from martlake.sandbox import _catalog as cat
from martlake.sandbox._generate import SHIPPING_LINE_ID_BASE, TAX_PERCENT, format_phone
from martlake.sandbox._records import (
    Customer,
    Dataset,
    GoogleAdStat,
    GoogleStat,
    Insight,
    Order,
    TikTokStat,
)

PURCHASE_ACTIONS = ("offsite_conversion.fb_pixel_purchase", "purchase")
_TAX_RATE = TAX_PERCENT / 100
_MONEY: dict[int, str] = {}


def money(cents: int) -> str:
    """Cents as a Shopify/Meta money string: 1234 -> "12.34"."""
    text = _MONEY.get(cents)
    if text is None:
        sign = "-" if cents < 0 else ""
        text = f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"
        if len(_MONEY) < 500_000:
            _MONEY[cents] = text
    return text


def presentment(
    seq: int, currencies: Mapping[str, Decimal], share: float
) -> tuple[str, Decimal] | None:
    """(currency, rate per shop unit) an order is presented in, or None for the shop currency.

    Picked by a hash of the order's sequence number, so a config always picks the same orders.
    """
    if not currencies or share <= 0:
        return None
    if ((seq * 2654435761) % 2**32) / 2**32 >= share:
        return None
    code = sorted(currencies)[(seq // 7) % len(currencies)]
    return code, currencies[code]


def convert(cents: int, rate: Decimal) -> int:
    """Shop-currency cents in the presentment currency, rounded half-even to whole cents."""
    return int((Decimal(cents) * rate).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _s(text: str | None) -> str:
    return "null" if text is None else str(encode_basestring(text))


_VARIANT_JSON = {
    v.id: (
        f'"product_id":{p.id},"variant_id":{v.id},"title":{_s(p.title)},'
        f'"variant_title":{_s(v.title)},"sku":{_s(v.sku)},"vendor":{_s(p.vendor)}'
    )
    for p in cat.PRODUCTS
    for v in p.variants
}


class OrderRenderer:
    """Renders orders as `GET /admin/api/2024-10/orders.json` shows them at `as_of`."""

    def __init__(
        self,
        ds: Dataset,
        presentment_currencies: Mapping[str, Decimal] | None = None,
        presentment_share: float = 0.0,
    ) -> None:
        self._ds = ds
        self._tz = ZoneInfo(ds.timezone)
        self._customers: dict[int, tuple[str, str]] = {}
        self._currency = _s(ds.currency)
        self._currencies = dict(presentment_currencies or {})
        self._share = presentment_share

    def presentment(self, order: Order) -> tuple[str, Decimal] | None:
        """(currency, rate) the order was presented in, None when in the shop currency."""
        return presentment(order.seq, self._currencies, self._share)

    def _iso(self, ts: float) -> str:
        return datetime.fromtimestamp(ts, self._tz).isoformat()

    def _customer(self, customer: Customer) -> tuple[str, str]:
        cached = self._customers.get(customer.id)
        if cached is None:
            phone = format_phone(customer.phone, customer.phone_style) if customer.phone else None
            head = (
                f'"id":{customer.id},"email":{_s(customer.email)},"phone":{_s(phone)},'
                f'"first_name":{_s(customer.first_name)},"last_name":{_s(customer.last_name)},'
                f'"currency":{self._currency},"created_at":"{customer.created_at}"'
            )
            cached = (head, self._address(customer.address))
            self._customers[customer.id] = cached
        return cached

    @staticmethod
    def _address(address: tuple[str, str, str, str, str, str, str]) -> str:
        first, last, address1, city, province, country, zip_code = address
        return (
            f'{{"first_name":{_s(first)},"last_name":{_s(last)},"address1":{_s(address1)},'
            f'"city":{_s(city)},"province_code":"{province}","country_code":"{country}",'
            f'"zip":{_s(zip_code)}}}'
        )

    def fragments(self, order: Order) -> list[tuple[str, str]]:
        """The order's top-level fields as (name, JSON text) pairs, in Shopify's order."""
        as_of = self._ds.as_of_ts
        currency = self._currency
        shown = self.presentment(order)
        if shown is None:
            p_currency, rate = currency, None
        else:
            p_currency, rate = f'"{shown[0]}"', shown[1]

        def money_set(cents: int) -> str:
            # REST `*_set` (Shopify "Orders", multi-currency): the amount in shop and in
            # presentment currency; the plain fields next to them are in shop currency.
            shop = f'{{"amount":"{money(cents)}","currency_code":{currency}}}'
            if rate is None:
                return f'{{"shop_money":{shop},"presentment_money":{shop}}}'
            shown_cents = money(convert(cents, rate))
            return (
                f'{{"shop_money":{shop},"presentment_money":{{"amount":"{shown_cents}",'
                f'"currency_code":{p_currency}}}}}'
            )

        refund = order.refund if order.refund is not None and order.refund.ts < as_of else None
        fulfilled = order.fulfilled_ts < as_of
        closed_at = f'"{self._iso(order.fulfilled_ts)}"' if fulfilled else "null"
        if refund is not None:
            updated_at = self._iso(max(refund.ts, order.fulfilled_ts if fulfilled else 0))
        elif fulfilled:
            updated_at = closed_at[1:-1]
        else:
            updated_at = order.created_at
        status = '"fulfilled"' if fulfilled else "null"
        code = order.code
        lines = ",".join(
            f'{{"id":{line.id},{_VARIANT_JSON[line.variant.id]},"quantity":{line.quantity},'
            f'"price":"{money(line.price)}","price_set":{money_set(line.price)},'
            f'"taxable":true,"fulfillment_status":{status},'
            f'"total_discount":"0.00","total_discount_set":{money_set(0)},'
            '"discount_allocations":['
            + (
                f'{{"amount":"{money(line.discount)}","amount_set":{money_set(line.discount)},'
                '"discount_application_index":0}'
                if line.discount
                else ""
            )
            + f'],"tax_lines":[{{"price":"{money(line.tax)}","rate":{_TAX_RATE},'
            '"title":"Sales Tax"}]}'
            for line in order.lines
        )
        shipping = money(order.shipping)
        if code is not None:
            discount_codes = (
                f'[{{"code":"{code.code}","amount":"{money(order.discount)}","type":"percentage"}}]'
            )
            applications = (
                f'[{{"target_type":"line_item","type":"discount_code","value":"{code.percent}.0",'
                '"value_type":"percentage","allocation_method":"across",'
                f'"target_selection":"all","code":"{code.code}"}}]'
            )
        else:
            discount_codes = applications = "[]"
        customer = order.customer
        if customer is not None:
            head, address = self._customer(customer)
            customer_json = f'{{{head},"updated_at":"{order.created_at}"}}'
        else:
            customer_json, address = "null", self._address(order.address)
        refunds = ""
        if refund is not None:
            at = self._iso(refund.ts)
            # A refund transaction is in the currency the customer paid in (presentment).
            paid = refund.subtotal + refund.tax
            paid = paid if rate is None else convert(paid, rate)
            refunds = (
                f'{{"id":{refund.id},"admin_graphql_api_id":"gid://shopify/Refund/{refund.id}",'
                f'"order_id":{order.id},"created_at":"{at}","processed_at":"{at}",'
                f'"note":{_s(refund.note)},"restock":true,"refund_line_items":[{{'
                f'"id":{refund.refund_line_id},"line_item_id":{refund.line_item_id},'
                f'"quantity":{refund.quantity},"restock_type":"return",'
                f'"subtotal":"{money(refund.subtotal)}",'
                f'"subtotal_set":{money_set(refund.subtotal)},'
                f'"total_tax":"{money(refund.tax)}","total_tax_set":{money_set(refund.tax)}}}],'
                f'"transactions":[{{"id":{refund.transaction_id},"order_id":{order.id},'
                f'"amount":"{money(paid)}","currency":{p_currency},'
                '"kind":"refund","status":"success","gateway":"shopify_payments",'
                f'"created_at":"{at}","processed_at":"{at}"}}],"order_adjustments":[]}}'
            )
            financial = '"refunded"' if refund.full else '"partially_refunded"'
        else:
            financial = '"paid"'
        ship_title, ship_code = (
            ("Standard Shipping", "STANDARD") if order.shipping else ("Free Shipping", "FREE")
        )
        return [
            ("id", str(order.id)),
            ("admin_graphql_api_id", f'"gid://shopify/Order/{order.id}"'),
            ("name", f'"#{order.number}"'),
            ("order_number", str(order.number)),
            ("email", _s(order.email)),
            ("phone", _s(order.phone)),
            ("created_at", f'"{order.created_at}"'),
            ("updated_at", f'"{updated_at}"'),
            ("processed_at", f'"{order.created_at}"'),
            ("cancelled_at", "null"),
            ("closed_at", closed_at),
            ("currency", currency),
            ("presentment_currency", p_currency),
            ("financial_status", financial),
            ("fulfillment_status", status),
            ("test", "false"),
            ("taxes_included", "false"),
            ("total_line_items_price", f'"{money(order.gross)}"'),
            ("total_discounts", f'"{money(order.discount)}"'),
            ("subtotal_price", f'"{money(order.subtotal)}"'),
            ("total_tax", f'"{money(order.tax)}"'),
            ("total_price", f'"{money(order.total)}"'),
            ("total_line_items_price_set", money_set(order.gross)),
            ("total_discounts_set", money_set(order.discount)),
            ("subtotal_price_set", money_set(order.subtotal)),
            ("total_tax_set", money_set(order.tax)),
            ("total_price_set", money_set(order.total)),
            ("total_shipping_price_set", money_set(order.shipping)),
            ("discount_codes", discount_codes),
            ("discount_applications", applications),
            ("landing_site", _s(order.landing_site)),
            ("referring_site", _s(order.referring_site)),
            ("source_name", '"web"'),
            ("customer", customer_json),
            ("shipping_address", address),
            ("line_items", f"[{lines}]"),
            (
                "shipping_lines",
                f'[{{"id":{SHIPPING_LINE_ID_BASE + order.seq * 19},"title":"{ship_title}",'
                f'"code":"{ship_code}","price":"{shipping}"}}]',
            ),
            ("refunds", f"[{refunds}]"),
        ]

    def render(self, order: Order, fields: frozenset[str] | None = None) -> str:
        """The order's JSON text, with only the top-level `fields` when given."""
        return (
            "{"
            + ",".join(
                f'"{key}":{value}'
                for key, value in self.fragments(order)
                if fields is None or key in fields
            )
            + "}"
        )


INSIGHT_FIELDS = (
    "account_id",
    "account_name",
    "account_currency",
    "campaign_id",
    "campaign_name",
    "adset_id",
    "adset_name",
    "ad_id",
    "ad_name",
    "spend",
    "impressions",
    "clicks",
    "actions",
    "action_values",
    "attribution_setting",
)
ATTRIBUTION_SETTING = "7d_click_1d_view"
"""Every simulated ad set's attribution setting (Meta's default); `value` of actions follows it."""


def insight_json(row: Insight, ds: Dataset) -> dict[str, Any]:
    """An insights row at level=ad, time_increment=1, with every field in `INSIGHT_FIELDS`."""
    day = row.day.isoformat()
    out: dict[str, Any] = {
        "account_id": ds.account_id,
        "account_name": ds.account_name,
        "account_currency": ds.currency,
        "campaign_id": row.campaign.id,
        "campaign_name": row.campaign.name,
        "adset_id": row.ad.adset_id,
        "adset_name": row.ad.adset_name,
        "ad_id": row.ad.id,
        "ad_name": row.ad.name,
        "spend": money(row.spend),
        "impressions": str(row.impressions),
        "clicks": str(row.clicks),
        "attribution_setting": ATTRIBUTION_SETTING,
    }
    actions = [
        {"action_type": kind, "value": str(value)}
        for kind, value in (
            ("link_click", row.link_clicks),
            ("landing_page_view", row.landing_page_views),
            ("offsite_conversion.fb_pixel_add_to_cart", row.add_to_carts),
            (PURCHASE_ACTIONS[0], row.purchases),
            (PURCHASE_ACTIONS[1], row.purchases),
        )
        if value
    ]
    if actions:
        out["actions"] = actions
    if row.purchases:
        value = money(row.purchase_value)
        out["action_values"] = [{"action_type": kind, "value": value} for kind in PURCHASE_ACTIONS]
    out["date_start"] = day
    out["date_stop"] = day
    return out


def google_row_json(row: GoogleStat, customer: dict[str, Any], status: str) -> dict[str, Any]:
    """A `GoogleAdsRow` of `FROM campaign` with every field the sandbox serves, in REST JSON.

    int64 values are strings and doubles are numbers (proto3 JSON mapping), names camelCase.
    """
    campaign = row.campaign
    return {
        "customer": customer,
        "campaign": {
            "resourceName": f"{customer['resourceName']}/campaigns/{campaign.id}",
            "status": status,
            "advertisingChannelType": campaign.channel_type,
            "name": campaign.name,
            "id": campaign.id,
        },
        "metrics": {
            "clicks": str(row.clicks),
            "conversionsValue": row.conversions_value,
            "conversions": row.conversions,
            "costMicros": str(row.cost_micros),
            "impressions": str(row.impressions),
        },
        "segments": {"date": row.day.isoformat()},
    }


def google_ad_rows_json(
    stats: list[GoogleAdStat], customer: dict[str, Any], status: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`GoogleAdsRow`s of `FROM ad_group` and of `FROM ad_group_ad` for one campaign-day's ads.

    An ad group's metrics are the sums of its ads', so every level adds up exactly.
    """
    groups: list[dict[str, Any]] = []
    ads: list[dict[str, Any]] = []
    by_group: dict[str, dict[str, Any]] = {}
    for s in stats:
        stat, ad = s.stat, s.ad
        campaign = google_row_json(stat, customer, status)["campaign"]
        metrics = (s.cost_micros, s.impressions, s.clicks, s.conversions, s.conversions_value)
        row = {
            "customer": customer,
            "campaign": campaign,
            "adGroup": google_ad_group_json(ad, customer, campaign),
            "adGroupAd": google_ad_group_ad_json(ad, customer),
            "metrics": _google_metrics(*metrics),
            "segments": {"date": stat.day.isoformat()},
        }
        ads.append(row)
        seen = by_group.get(ad.ad_group_id)
        if seen is None:
            by_group[ad.ad_group_id] = {"row": row, "sums": list(metrics)}
        else:
            seen["sums"] = [a + b for a, b in zip(seen["sums"], metrics, strict=True)]
    for group in by_group.values():
        row = {k: v for k, v in group["row"].items() if k != "adGroupAd"}
        row["metrics"] = _google_metrics(*group["sums"])
        groups.append(row)
    return groups, ads


def google_ad_group_json(
    ad: cat.GoogleAd, customer: dict[str, Any], campaign: dict[str, Any]
) -> dict[str, Any]:
    """The `ad_group` object of a `GoogleAdsRow` for the ad group of `ad`."""
    return {
        "resourceName": f"{customer['resourceName']}/adGroups/{ad.ad_group_id}",
        "campaign": campaign["resourceName"],
        "type": ad.ad_group_type,
        "status": "ENABLED",
        "name": ad.ad_group_name,
        "id": ad.ad_group_id,
    }


def google_ad_group_ad_json(ad: cat.GoogleAd, customer: dict[str, Any]) -> dict[str, Any]:
    """The `ad_group_ad` object of a `GoogleAdsRow`; responsive search and shopping ads have no
    name, so none is sent."""
    prefix = customer["resourceName"]
    return {
        "resourceName": f"{prefix}/adGroupAds/{ad.ad_group_id}~{ad.id}",
        "adGroup": f"{prefix}/adGroups/{ad.ad_group_id}",
        "status": "ENABLED",
        "ad": {"resourceName": f"{prefix}/ads/{ad.id}", "type": ad.ad_type, "id": ad.id},
    }


def _google_metrics(
    micros: int, impressions: int, clicks: int, conversions: int, value: int
) -> dict[str, Any]:
    return {
        "clicks": str(clicks),
        "conversionsValue": value / 100,
        "conversions": conversions / 100,
        "costMicros": str(micros),
        "impressions": str(impressions),
    }


def google_customer_json(
    customer_id: str, name: str, currency: str, timezone: str
) -> dict[str, Any]:
    """The `customer` object of a `GoogleAdsRow` with every field the sandbox serves."""
    return {
        "resourceName": f"customers/{customer_id}",
        "id": customer_id,
        "descriptiveName": name,
        "currencyCode": currency,
        "timeZone": timezone,
    }


TIKTOK_ATTRIBUTES = ("campaign_id", "campaign_name", "adgroup_id", "adgroup_name", "ad_name")
TIKTOK_METRICS = (
    "spend",
    "impressions",
    "clicks",
    "ctr",
    "cpc",
    "cpm",
    "conversion",
    "complete_payment",
    "total_complete_payment_rate",
    "value_per_complete_payment",
    "complete_payment_roas",
    "total_purchase_value",
)


def _ratio(numerator: int, denominator: int, scale: int = 1) -> str:
    if not denominator:
        return "0.00"
    return f"{numerator * scale / denominator:.2f}"


def tiktok_metrics(
    spend: int, impressions: int, clicks: int, conversions: int, value: int
) -> dict[str, str]:
    """Every served TikTok metric from the summed counts (money in cents), as API strings.

    `total_complete_payment_rate` is the value of web Complete Payment events despite its name;
    `total_purchase_value` is the value of in-app purchases, none for a web shop.
    """
    return {
        "spend": money(spend),
        "impressions": str(impressions),
        "clicks": str(clicks),
        "ctr": _ratio(clicks, impressions, 100),
        "cpc": _ratio(spend, clicks * 100),
        "cpm": _ratio(spend * 10, impressions),
        "conversion": str(conversions),
        "complete_payment": str(conversions),
        "total_complete_payment_rate": money(value),
        "value_per_complete_payment": _ratio(value, conversions * 100),
        "complete_payment_roas": _ratio(value, spend),
        "total_purchase_value": "0.00",
    }


def tiktok_row_json(row: TikTokStat) -> dict[str, Any]:
    """An integrated-report row (data_level AUCTION_AD, by ad and day) with every metric."""
    return {
        "dimensions": {
            "ad_id": row.ad.id,
            "stat_time_day": f"{row.day.isoformat()} 00:00:00",
        },
        "metrics": {
            "campaign_id": row.campaign.id,
            "campaign_name": row.campaign.name,
            "adgroup_id": row.ad.adgroup_id,
            "adgroup_name": row.ad.adgroup_name,
            "ad_name": row.ad.name,
            **tiktok_metrics(row.spend, row.impressions, row.clicks, row.conversions, row.value),
        },
    }


def product_json(product: cat.Product, created: datetime, updated: datetime) -> dict[str, Any]:
    """A product as `GET /admin/api/2024-10/products.json` shows it, with the fields martlake
    reads."""
    stamps = {"created_at": created.isoformat(), "updated_at": updated.isoformat()}
    return {
        "id": product.id,
        "title": product.title,
        "handle": product.slug,
        "vendor": product.vendor,
        "status": "active",
        **stamps,
        "variants": [
            {
                "id": v.id,
                "product_id": product.id,
                "title": v.title or "Default Title",
                "sku": v.sku,
                "price": money(v.price),
                "inventory_item_id": v.inventory_item_id,
                **stamps,
            }
            for v in product.variants
        ],
    }


def inventory_item_json(
    variant: cat.Variant, created: datetime, updated: datetime
) -> dict[str, Any]:
    """A variant's inventory item as `GET /admin/api/2024-10/inventory_items.json` shows it."""
    return {
        "id": variant.inventory_item_id,
        "sku": variant.sku,
        "cost": None if variant.unit_cost is None else money(variant.unit_cost),
        "tracked": True,
        "requires_shipping": True,
        "country_code_of_origin": None,
        "created_at": created.isoformat(),
        "updated_at": updated.isoformat(),
    }
