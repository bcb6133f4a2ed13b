"""Raw tables written by the Shopify source.

Money columns are in the shop currency (`*_set.shop_money` when the API sends it), except
`total_price_presentment` (in `presentment_currency`) and `refund_transactions.amount` (in the
transaction's own `currency`, the one the customer paid in).
"""

import pyarrow as pa

from martlake.sources.base import MONEY, TIMESTAMP

ORDERS = pa.schema(
    [
        ("id", pa.int64()),
        ("name", pa.string()),
        ("order_number", pa.int64()),
        ("created_at", TIMESTAMP),
        ("updated_at", TIMESTAMP),
        ("processed_at", TIMESTAMP),
        ("cancelled_at", TIMESTAMP),
        ("financial_status", pa.string()),
        ("currency", pa.string()),
        ("presentment_currency", pa.string()),
        ("total_line_items_price", MONEY),
        ("total_discounts", MONEY),
        ("subtotal_price", MONEY),
        ("total_tax", MONEY),
        ("total_shipping", MONEY),
        ("total_price", MONEY),
        ("customer_id", pa.int64()),
        ("email_hash", pa.string()),
        ("phone_hash", pa.string()),
        ("discount_codes", pa.string()),
        ("landing_site", pa.string()),
        ("referring_site", pa.string()),
        ("source_name", pa.string()),
        ("shipping_country_code", pa.string()),
        ("shipping_province_code", pa.string()),
        ("test", pa.bool_()),
        ("shop_domain", pa.string()),
        ("shop_timezone", pa.string()),
        ("total_price_presentment", MONEY),
    ]
)

ORDER_LINES = pa.schema(
    [
        ("id", pa.int64()),
        ("order_id", pa.int64()),
        ("product_id", pa.int64()),
        ("variant_id", pa.int64()),
        ("sku", pa.string()),
        ("title", pa.string()),
        ("variant_title", pa.string()),
        ("quantity", pa.int64()),
        ("price", MONEY),
        ("discount", MONEY),
        ("shop_domain", pa.string()),
    ]
)

REFUND_LINES = pa.schema(
    [
        ("id", pa.int64()),
        ("refund_id", pa.int64()),
        ("order_id", pa.int64()),
        ("line_item_id", pa.int64()),
        ("quantity", pa.int64()),
        ("subtotal", MONEY),
        ("total_tax", MONEY),
        ("refund_created_at", TIMESTAMP),
        ("shop_domain", pa.string()),
    ]
)

REFUND_TRANSACTIONS = pa.schema(
    [
        ("id", pa.int64()),
        ("refund_id", pa.int64()),
        ("order_id", pa.int64()),
        ("kind", pa.string()),
        ("status", pa.string()),
        ("gateway", pa.string()),
        ("amount", MONEY),
        ("currency", pa.string()),
        ("processed_at", TIMESTAMP),
        ("created_at", TIMESTAMP),
        ("shop_domain", pa.string()),
    ]
)

DELETED_ORDERS = pa.schema(
    [
        ("order_id", pa.int64()),
        ("deleted_at", TIMESTAMP),
        ("event_id", pa.int64()),
        ("shop_domain", pa.string()),
    ]
)

VARIANT_COSTS = pa.schema(
    [
        ("product_id", pa.int64()),
        ("variant_id", pa.int64()),
        ("inventory_item_id", pa.int64()),
        ("sku", pa.string()),
        ("product_title", pa.string()),
        ("variant_title", pa.string()),
        ("unit_cost", MONEY),
        ("cost_updated_at", TIMESTAMP),
        ("shop_domain", pa.string()),
    ]
)
"""One row per variant each run: its inventory item's unit cost (None when unset) and when the
item was last updated."""

SCHEMAS = {
    "orders": ORDERS,
    "order_lines": ORDER_LINES,
    "refund_lines": REFUND_LINES,
    "refund_transactions": REFUND_TRANSACTIONS,
    "deleted_orders": DELETED_ORDERS,
    "variant_costs": VARIANT_COSTS,
}
