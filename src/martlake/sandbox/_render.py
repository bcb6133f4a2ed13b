"""Records to API JSON: Shopify Admin REST 2024-10 orders, Meta Graph v21.0 insights, Google
Ads REST `GoogleAdsRow`s and TikTok API for Business v1.3 integrated-report rows.

Orders are rendered straight to compact JSON text (a year of orders is ~120k of them, and
building dicts for `json.dumps` costs several times more); `Business.orders` parses that text,
so the dicts and the bytes the emulator serves can never disagree.
"""

from __future__ import annotations

from datetime import datetime
from json.encoder import encode_basestring
from typing import Any
from zoneinfo import ZoneInfo

from martlake.sandbox import _catalog as cat
from martlake.sandbox._generate import SHIPPING_LINE_ID_BASE, TAX_PERCENT, format_phone
from martlake.sandbox._records import Customer, Dataset, GoogleStat, Insight, Order, TikTokStat

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

    def __init__(self, ds: Dataset) -> None:
        self._ds = ds
        self._tz = ZoneInfo(ds.timezone)
        self._customers: dict[int, tuple[str, str]] = {}
        self._currency = _s(ds.currency)

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
            f'"price":"{money(line.price)}","taxable":true,"fulfillment_status":{status},'
            f'"total_discount":"0.00","discount_allocations":['
            + (
                f'{{"amount":"{money(line.discount)}","discount_application_index":0}}'
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
            refunds = (
                f'{{"id":{refund.id},"admin_graphql_api_id":"gid://shopify/Refund/{refund.id}",'
                f'"order_id":{order.id},"created_at":"{at}","processed_at":"{at}",'
                f'"note":{_s(refund.note)},"restock":true,"refund_line_items":[{{'
                f'"id":{refund.refund_line_id},"line_item_id":{refund.line_item_id},'
                f'"quantity":{refund.quantity},"restock_type":"return",'
                f'"subtotal":"{money(refund.subtotal)}","total_tax":"{money(refund.tax)}"}}],'
                f'"transactions":[{{"id":{refund.transaction_id},"order_id":{order.id},'
                f'"amount":"{money(refund.subtotal + refund.tax)}","currency":{currency},'
                '"kind":"refund","status":"success","gateway":"shopify_payments",'
                f'"created_at":"{at}"}}],"order_adjustments":[]}}'
            )
            financial = '"refunded"' if refund.full else '"partially_refunded"'
        else:
            financial = '"paid"'
        ship_title, ship_code = (
            ("Standard Shipping", "STANDARD") if order.shipping else ("Free Shipping", "FREE")
        )
        money_set = f'{{"amount":"{shipping}","currency_code":{currency}}}'
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
            ("presentment_currency", currency),
            ("financial_status", financial),
            ("fulfillment_status", status),
            ("test", "false"),
            ("taxes_included", "false"),
            ("total_line_items_price", f'"{money(order.gross)}"'),
            ("total_discounts", f'"{money(order.discount)}"'),
            ("subtotal_price", f'"{money(order.subtotal)}"'),
            ("total_tax", f'"{money(order.tax)}"'),
            ("total_price", f'"{money(order.total)}"'),
            (
                "total_shipping_price_set",
                f'{{"shop_money":{money_set},"presentment_money":{money_set}}}',
            ),
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
)


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
            "costMicros": str(row.cost * 10_000),
            "impressions": str(row.impressions),
        },
        "segments": {"date": row.day.isoformat()},
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
