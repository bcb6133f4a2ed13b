"""The SQL path of orders pages, REST's or bulk orders in that shape (see
`martlake.sources._arrow_sql`): the columns `ShopifySource._page_to_batches` builds, from the
page bodies, with the same rules. Emails and phones come out as text and are hashed in Python
by the project's `Hasher`."""

from typing import Any

from martlake.sources._arrow_sql import PageSql

_T = "VARCHAR"
_SHOP = {"shop_money": {"amount": _T}}
_MONEY = ("total_line_items_price", "total_discounts", "subtotal_price", "total_tax")


def _money(*names: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        out[name] = _T
        out[f"{name}_set"] = _SHOP
    return out


ITEM = {
    "id": _T,
    "product_id": _T,
    "variant_id": _T,
    "sku": _T,
    "title": _T,
    "variant_title": _T,
    "quantity": _T,
    **_money("price", "total_discount"),
    "discount_allocations": [_money("amount")],
}
REFUND = {
    "id": _T,
    "created_at": _T,
    "refund_line_items": [
        {"id": _T, "line_item_id": _T, "quantity": _T, **_money("subtotal", "total_tax")}
    ],
    "transactions": [
        {
            name: _T
            for name in ("id kind status gateway currency amount processed_at created_at".split())
        }
    ],
}
ORDER = {
    **{
        name: _T
        for name in (
            "id name order_number created_at updated_at processed_at cancelled_at "
            "financial_status currency presentment_currency email phone landing_site "
            "referring_site source_name test total_price"
        ).split()
    },
    **_money(*_MONEY),
    "total_price_set": {"shop_money": {"amount": _T}, "presentment_money": {"amount": _T}},
    "total_shipping_price_set": _SHOP,
    "shipping_lines": [{"price": _T}],
    "customer": {"id": _T, "email": _T, "phone": _T},
    "discount_codes": [{"code": _T}],
    "shipping_address": {"country_code": _T, "province_code": _T},
    "line_items": [ITEM],
    "refunds": [REFUND],
}

MACROS = r"""
-- `_money`: '' as NULL, text as sent.
CREATE OR REPLACE TEMP MACRO ml_money(v) AS nullif(v, '');
-- `_shop_money`: `<name>_set.shop_money.amount` when sent, else the plain field.
CREATE OR REPLACE TEMP MACRO ml_shop(s, plain) AS CASE
    WHEN s.shop_money.amount IS NOT NULL THEN ml_money(s.shop_money.amount)
    ELSE ml_money(plain) END;
-- A sum of amounts as `Decimal` gives it, as text for Arrow's cast (`_allocated`, `_shipping`).
CREATE OR REPLACE TEMP MACRO ml_sum(amounts) AS
    CAST(list_sum(list_transform(amounts, lambda a: coalesce(ml_dec(a), 0))) AS VARCHAR);
CREATE OR REPLACE TEMP MACRO ml_bool(v) AS CASE
    WHEN v IS NULL OR v = 'false' THEN false WHEN v = 'true' THEN true ELSE ml_miss() END;
"""

ORDERS = """
WITH orders AS (SELECT unnest(p.orders) AS o FROM pages),
shaped AS (
    SELECT o, coalesce(nullif(o.presentment_currency, ''), o.currency) AS presented FROM orders
)
SELECT
    ml_int(o.id) AS id,
    o.name AS name,
    ml_int(o.order_number) AS order_number,
    o.created_at AS created_at,
    o.updated_at AS updated_at,
    o.processed_at AS processed_at,
    o.cancelled_at AS cancelled_at,
    o.financial_status AS financial_status,
    o.currency AS currency,
    presented AS presentment_currency,
    ml_shop(o.total_line_items_price_set, o.total_line_items_price) AS total_line_items_price,
    ml_shop(o.total_discounts_set, o.total_discounts) AS total_discounts,
    ml_shop(o.subtotal_price_set, o.subtotal_price) AS subtotal_price,
    ml_shop(o.total_tax_set, o.total_tax) AS total_tax,
    CASE
        WHEN o.total_shipping_price_set.shop_money.amount IS NOT NULL
            THEN ml_money(o.total_shipping_price_set.shop_money.amount)
        WHEN len(o.shipping_lines) > 0
            THEN ml_sum(list_transform(o.shipping_lines, lambda s: s.price))
        ELSE '0.00' END AS total_shipping,
    ml_shop(o.total_price_set, o.total_price) AS total_price,
    CASE
        WHEN o.total_price_set.presentment_money.amount IS NOT NULL
            THEN ml_money(o.total_price_set.presentment_money.amount)
        WHEN presented IS NOT DISTINCT FROM o.currency THEN ml_money(o.total_price)
        END AS total_price_presentment,
    ml_int(o.customer.id) AS customer_id,
    coalesce(nullif(o.email, ''), o.customer.email) AS email,
    coalesce(nullif(o.phone, ''), o.customer.phone) AS phone,
    nullif(array_to_string(list_filter(
        list_transform(o.discount_codes, lambda d: d.code), lambda c: coalesce(c, '') <> ''
    ), ','), '') AS discount_codes,
    o.landing_site AS landing_site,
    o.referring_site AS referring_site,
    o.source_name AS source_name,
    o.shipping_address.country_code AS shipping_country_code,
    o.shipping_address.province_code AS shipping_province_code,
    ml_bool(o.test) AS test,
    $shop AS shop_domain,
    $timezone AS shop_timezone,
    (o IS NULL OR o.id IS NULL OR o.created_at IS NULL OR o.updated_at IS NULL
        OR o.line_items IS NULL
        OR coalesce(list_bool_or(list_transform(o.refunds, lambda r: r IS NULL OR r.id IS NULL)),
            false)) AS _miss
FROM shaped
"""

ORDER_LINES = """
WITH items AS (SELECT o.id AS order_id, unnest(o.line_items) AS li
    FROM (SELECT unnest(p.orders) AS o FROM pages))
SELECT
    ml_int(li.id) AS id,
    ml_int(order_id) AS order_id,
    ml_int(li.product_id) AS product_id,
    ml_int(li.variant_id) AS variant_id,
    li.sku AS sku,
    li.title AS title,
    li.variant_title AS variant_title,
    ml_int(li.quantity) AS quantity,
    ml_shop(li.price_set, li.price) AS price,
    CASE WHEN len(li.discount_allocations) > 0
        THEN ml_sum(list_transform(
            li.discount_allocations, lambda a: ml_shop(a.amount_set, a.amount)
        ))
        ELSE coalesce(ml_shop(li.total_discount_set, li.total_discount), '0.00')
    END AS discount,
    $shop AS shop_domain,
    (li IS NULL OR li.id IS NULL OR li.quantity IS NULL OR li.price IS NULL) AS _miss
FROM items
"""

# Every refund of every order on the pages, with its order id.
_REFUNDS = """
WITH refunds AS (SELECT o.id AS order_id, unnest(o.refunds) AS r
    FROM (SELECT unnest(p.orders) AS o FROM pages))
"""

REFUND_LINES = (
    _REFUNDS
    + """,
lines AS (SELECT order_id, r, unnest(r.refund_line_items) AS rli FROM refunds)
SELECT
    ml_int(rli.id) AS id,
    ml_int(r.id) AS refund_id,
    ml_int(order_id) AS order_id,
    ml_int(rli.line_item_id) AS line_item_id,
    ml_int(rli.quantity) AS quantity,
    ml_shop(rli.subtotal_set, rli.subtotal) AS subtotal,
    ml_shop(rli.total_tax_set, rli.total_tax) AS total_tax,
    r.created_at AS refund_created_at,
    $shop AS shop_domain,
    (rli IS NULL OR rli.id IS NULL OR rli.quantity IS NULL OR rli.subtotal IS NULL) AS _miss
FROM lines
"""
)

REFUND_TRANSACTIONS = (
    _REFUNDS
    + """,
txns AS (SELECT order_id, r, unnest(r.transactions) AS t FROM refunds)
SELECT
    ml_int(t.id) AS id,
    ml_int(r.id) AS refund_id,
    ml_int(order_id) AS order_id,
    t.kind AS kind,
    t.status AS status,
    t.gateway AS gateway,
    ml_money(t.amount) AS amount,
    t.currency AS currency,
    coalesce(nullif(t.processed_at, ''), t.created_at) AS processed_at,
    t.created_at AS created_at,
    $shop AS shop_domain,
    (t IS NULL OR t.id IS NULL OR t.amount IS NULL) AS _miss
FROM txns
"""
)

QUERIES = {
    "orders": ORDERS,
    "order_lines": ORDER_LINES,
    "refund_lines": REFUND_LINES,
    "refund_transactions": REFUND_TRANSACTIONS,
}
KEYS = {"orders": "$.orders[*]", "order_lines": "$.orders[*].line_items[*]"}

PAGES = PageSql({"orders": [ORDER]}, MACROS)
"""Shared by every `ShopifySource`; each thread gets its own DuckDB connection."""
