"""Orders from the Admin API: a GraphQL bulk operation for backfills, then REST increments on
`updated_at` paged by `page_info`; deleted orders from the `destroy` events; variant unit costs
from products and their inventory items."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from time import sleep
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec

from martlake.config import ShopifySettings, redact
from martlake.errors import AuthError, MartlakeError, RateLimitError, SourceContractError
from martlake.sources._arrow_sql import FastPathMiss, batched
from martlake.sources._http import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_ATTEMPTS,
    HttpClient,
    decode_json,
    retry_after_seconds,
)
from martlake.sources.base import (
    Account,
    Batch,
    Cursor,
    DayTotal,
    ExtractContext,
    Source,
    build_table,
)
from martlake.sources.shopify._bulk import BulkReader, line_items_total
from martlake.sources.shopify._schema import SCHEMAS
from martlake.sources.shopify._sql import KEYS, PAGES, QUERIES

logger = logging.getLogger(__name__)

_NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="next"')
# REST Admin API rate limits (Shopify "REST Admin API rate limits"): a leaky bucket of 40
# calls (more on Plus) that drains at 2 calls/s; each answer reports `used/size`.
LEAK_PER_SECOND = 2.0
HEADROOM = 4
REFETCH_BATCH = 250
"""Orders re-read per `orders.json?ids=` call for their refunds (REST's maximum `limit`)."""
INVENTORY_BATCH = 100
"""Inventory items asked per `inventory_items.json?ids=` call (Shopify "InventoryItem": at most
100 ids)."""

# Fields of the REST Order and LineItem resources (2024-10). Anything else is new: loaded as
# before, and named once per run in a warning so an API change is noticed.
KNOWN_FIELDS: dict[str, frozenset[str]] = {
    "orders": frozenset(
        """id admin_graphql_api_id app_id browser_ip buyer_accepts_marketing cancel_reason
        cancelled_at cart_token checkout_id checkout_token client_details closed_at company
        confirmation_number confirmed contact_email created_at currency current_subtotal_price
        current_subtotal_price_set current_total_additional_fees_set current_total_discounts
        current_total_discounts_set current_total_duties_set current_total_price
        current_total_price_set current_total_tax current_total_tax_set customer_locale
        device_id discount_codes duties_included email estimated_taxes financial_status
        fulfillment_status landing_site landing_site_ref location_id
        merchant_business_entity_id merchant_of_record_app_id name note note_attributes number
        order_number order_status_url original_total_additional_fees_set
        original_total_duties_set payment_gateway_names phone po_number presentment_currency
        processed_at reference referring_site source_identifier source_name source_url
        subtotal_price subtotal_price_set tags tax_exempt tax_lines taxes_included test token
        total_cash_rounding_payment_adjustment_set total_cash_rounding_refund_adjustment_set
        total_discounts total_discounts_set total_line_items_price total_line_items_price_set
        total_outstanding total_price total_price_set total_shipping_price_set total_tax
        total_tax_set total_tip_received total_weight updated_at user_id billing_address
        customer discount_applications fulfillments line_items payment_terms refunds
        shipping_address shipping_lines""".split()
    ),
    "order_lines": frozenset(
        """id admin_graphql_api_id attributed_staffs current_quantity fulfillable_quantity
        fulfillment_service fulfillment_status gift_card grams name price price_set
        product_exists product_id properties quantity requires_shipping sku taxable title
        total_discount total_discount_set variant_id variant_inventory_management
        variant_title vendor tax_lines duties discount_allocations origin_location
        destination_location sales_line_item_group_id""".split()
    ),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "orders": ("id", "created_at", "updated_at", "line_items"),
    "order_lines": ("id", "quantity", "price"),
    "refund_lines": ("id", "quantity", "subtotal"),
    "refund_transactions": ("id", "amount"),
    "deleted_orders": ("id", "subject_id", "created_at"),
    "products": ("id", "variants"),
    "variants": ("id",),
    "inventory_items": ("id", "cost", "updated_at"),
}


class ShopifySource(Source):
    """Shopify orders (with line items, refunds, refund transactions and the customer, PII
    hashed), deleted orders and variant unit costs.

    A backfill (no watermark yet, `full_refresh` or a `start_date`) reads orders with one
    GraphQL bulk operation (`bulk = "auto"`); later runs ask REST for orders with
    `updated_at >= watermark - lookback_days`, so edits and refunds on older orders are picked
    up; the raw zone keeps every version. Every run also snapshots each variant's unit cost
    (`variant_costs`, from products and their inventory items: the app needs `read_products`
    and `read_inventory`). Money lands in the shop currency.
    """

    name = "shopify"
    schemas = SCHEMAS
    cursor = Cursor(table="orders", account_column="shop_domain", column="updated_at")

    def __init__(self, settings: ShopifySettings, **http: Any) -> None:
        self.settings = settings
        token = settings.access_token.get_secret_value() if settings.access_token else ""
        base = settings.base_url or f"https://{settings.shop}"
        self._api = f"/admin/api/{settings.api_version}"
        http.setdefault("timeout", getattr(settings, "timeout_seconds", 60.0))
        self._http = HttpClient(
            "shopify",
            base.rstrip("/"),
            headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
            map_error=_map_error,
            **http,
        )
        self._warned: set[str] = set()
        self._retry = {
            "attempts": int(http.get("max_attempts", DEFAULT_MAX_ATTEMPTS)),
            "backoff": float(http.get("backoff", DEFAULT_BACKOFF)),
        }

    def close(self) -> None:
        self._http.close()

    def check(self) -> None:
        self._shop()

    def _shop(self) -> dict[str, Any]:
        body = self._http.get_json(f"{self._api}/shop.json")
        shop = body.get("shop") if isinstance(body, dict) else None
        if not isinstance(shop, dict):
            raise SourceContractError("shopify: shop.json has no `shop` object: check api_version")
        return shop

    def reconciliation_accounts(self) -> list[Account]:
        """The shop, with its timezone (order counts have no currency)."""
        shop = self._shop()
        return [Account(self.settings.shop, shop.get("iana_timezone") or "UTC")]

    def reconciliation_totals(self, account: Account, since: date, until: date) -> list[DayTotal]:
        """Orders created on each shop-local day from `since` to `until`, of any status
        (`orders/count.json?status=any`): cancelled and test orders count, deleted ones not."""
        zone = ZoneInfo(account.timezone)
        out = []
        day = since
        while day <= until:
            start = datetime.combine(day, time.min, zone)
            # created_at_max is inclusive and Shopify stamps orders to the second.
            end = datetime.combine(day + timedelta(days=1), time.min, zone) - timedelta(seconds=1)
            params = {
                "status": "any",
                "created_at_min": start.isoformat(),
                "created_at_max": end.isoformat(),
            }
            response = self._http.get(f"{self._api}/orders/count.json", params=params)
            _pace(response)
            try:
                count = decode_json(response.content)["count"]
            except (ValueError, KeyError, TypeError):
                count = None
            if not isinstance(count, int) or isinstance(count, bool):
                raise SourceContractError(
                    "shopify: orders/count.json answered without an integer `count`: check "
                    "api_version in martlake.toml"
                )
            out.append(DayTotal(account.id, day, "orders", Decimal(count)))
            day += timedelta(days=1)
        return out

    def campaign_totals(self, account: Account, day: date) -> list[DayTotal]:
        """Orders have no campaigns to drill down to."""
        return []

    def extract(self, ctx: ExtractContext) -> Iterator[Batch]:
        self._warned = set()
        shop = self._shop()
        timezone = shop.get("iana_timezone") or "UTC"
        zone = ZoneInfo(timezone)
        since = self._since(ctx, zone)
        until = None
        if ctx.end_date is not None:
            # Bounding by updated_at (not created_at) keeps a backfill from loading orders
            # updated after end_date, which would move the watermark past unread orders.
            end = datetime.combine(ctx.end_date + timedelta(days=1), time.min, zone)
            until = end - timedelta(seconds=1)
        if self._bulk(ctx):
            yield from self._bulk_orders(since, until, timezone, ctx)
        else:
            yield from self._rest_orders(since, until, timezone, ctx)
        yield from self._deleted_orders(since, ctx)
        yield from self._variant_costs(ctx)

    def _bulk(self, ctx: ExtractContext) -> bool:
        mode = self.settings.bulk
        if mode != "auto":
            return mode == "always"
        watermark = None if ctx.full_refresh else ctx.watermarks.get(self.settings.shop)
        return ctx.start_date is not None or watermark is None

    def _rest_orders(
        self, since: datetime | None, until: datetime | None, timezone: str, ctx: ExtractContext
    ) -> Iterator[Batch]:
        params: dict[str, Any] = {"status": "any", "limit": self.settings.page_size}
        if since is not None:
            params["updated_at_min"] = since.isoformat()
        if until is not None:
            params["updated_at_max"] = until.isoformat()
        bodies = (
            orders_page(response.content, str(response.url))
            for response in self._responses(f"{self._api}/orders.json", params)
        )
        yield from self.order_batches(bodies, timezone, ctx)

    def order_batches(
        self, bodies: Iterable[bytes], timezone: str, ctx: ExtractContext
    ) -> Iterator[Batch]:
        """Raw-table batches of REST orders pages (checked by `orders_page`): by the SQL path
        (`_sql.py`) a few MB of pages at a time, by the Python path (`_page_to_batches`) page
        by page where the SQL path misses."""
        for group in batched(bodies):
            try:
                batches = self._sql_batches(group, timezone, ctx)
            except FastPathMiss as miss:
                logger.debug("shopify: SQL path missed (%s); Python path", miss)
                for body in group:
                    orders = decode_json(body)["orders"]
                    if orders:
                        yield from self._page_to_batches(orders, timezone, ctx)
                continue
            yield from batches

    def _sql_batches(self, bodies: list[bytes], timezone: str, ctx: ExtractContext) -> list[Batch]:
        params = {"shop": self.settings.shop, "timezone": timezone}
        keys, tables = PAGES.run(bodies, QUERIES, params, KEYS, materialize=True)
        for table in ("orders", "order_lines"):
            self._warn_keys(table, keys[table])
        hasher = ctx.hasher
        orders = tables["orders"]
        columns = {name: orders.column(name) for name in orders.column_names}
        columns["email_hash"] = hasher.email_array(columns.pop("email"))
        columns["phone_hash"] = hasher.phone_array(columns.pop("phone"))
        results = {**tables, "orders": columns}
        stamp = datetime.now(UTC)
        out = []
        for table in QUERIES:
            data = results[table]
            cols = data if isinstance(data, dict) else {n: data[n] for n in data.column_names}
            if len(cols["id"]):
                built = build_table("shopify", table, SCHEMAS[table], cols, ctx.run_id, stamp)
                out.append(Batch(table, built))
        return out

    def _responses(
        self, url: str | None, params: dict[str, Any] | None
    ) -> Iterator[httpx.Response]:
        while url is not None:
            response = self._http.get(url, params=params)
            _pace(response)
            yield response
            # The next link carries page_info and limit; Shopify refuses other filters beside it.
            url, params = _next_page(response), None

    def _pages(
        self, url: str | None, params: dict[str, Any] | None, key: str
    ) -> Iterator[list[dict[str, Any]]]:
        for response in self._responses(url, params):
            yield _items(response.content, str(response.url), key)

    def _bulk_orders(
        self, since: datetime | None, until: datetime | None, timezone: str, ctx: ExtractContext
    ) -> Iterator[Batch]:
        reader = BulkReader(
            self._http,
            self._api,
            poll_seconds=self.settings.bulk_poll_seconds,
            timeout_seconds=self.settings.bulk_timeout_seconds,
            attempts=int(self._retry["attempts"]),
            backoff=self._retry["backoff"],
        )

        def bodies() -> Iterator[bytes]:
            for chunk in reader.orders(since, until, chunk=max(self.settings.page_size, 250) * 4):
                for order in chunk:
                    order["total_line_items_price"] = line_items_total(order)
                refunded = [o for o in chunk if o["refunds"]]
                for start in range(0, len(refunded), REFETCH_BATCH):
                    part = refunded[start : start + REFETCH_BATCH]
                    self._attach_refunds(part)
                # Orders in the REST shape, as a REST page: the same conversion paths.
                yield _ENCODER.encode({"orders": chunk})

        yield from self.order_batches(bodies(), timezone, ctx)

    def _attach_refunds(self, orders: list[dict[str, Any]]) -> None:
        by_id = {order["id"]: order for order in orders}
        params = {
            "ids": ",".join(str(i) for i in by_id),
            "status": "any",
            "fields": "id,refunds",
            "limit": REFETCH_BATCH,
        }
        seen = set()
        for page in self._pages(f"{self._api}/orders.json", params, "orders"):
            for fetched in page:
                oid = _int(fetched.get("id"), "orders", "id")
                if oid in by_id:
                    by_id[oid]["refunds"] = fetched.get("refunds") or []
                    seen.add(oid)
        for oid in set(by_id) - seen:
            # Deleted between the bulk operation and now; its destroy event removes it.
            by_id[oid]["refunds"] = []

    def _deleted_orders(self, since: datetime | None, ctx: ExtractContext) -> Iterator[Batch]:
        params: dict[str, Any] = {"filter": "Order", "verb": "destroy", "limit": 250}
        if since is not None:
            params["created_at_min"] = since.isoformat()
        cols: dict[str, list[Any]] = defaultdict(list)
        for events in self._pages(f"{self._api}/events.json", params, "events"):
            for event in events:
                _require(event, "deleted_orders")
                if event.get("subject_type", "Order") != "Order":
                    continue
                cols["order_id"].append(_int(event["subject_id"], "deleted_orders", "subject_id"))
                cols["deleted_at"].append(event["created_at"])
                cols["event_id"].append(_int(event["id"], "deleted_orders", "id"))
                cols["shop_domain"].append(self.settings.shop)
        if cols:
            yield Batch(
                "deleted_orders",
                build_table(
                    "shopify", "deleted_orders", SCHEMAS["deleted_orders"], cols, ctx.run_id
                ),
            )

    def _variant_costs(self, ctx: ExtractContext) -> Iterator[Batch]:
        try:
            variants, item_ids, items = self._costed_variants()
        except AuthError as exc:
            if "(403)" not in str(exc):
                raise
            # An app installed before martlake read costs: orders still load, costs wait.
            logger.warning(
                "shopify: variant costs skipped, the app lacks `read_products` or"
                " `read_inventory` (403): grant both and reinstall it to get cost of goods"
                " and contribution margin"
            )
            return
        cols: dict[str, list[Any]] = defaultdict(list)
        for (product, variant), item_id in zip(variants, item_ids, strict=True):
            found = items.get(item_id) if item_id is not None else None
            cost, updated = (found["cost"], found["updated_at"]) if found else (None, None)
            cols["product_id"].append(_int(product["id"], "variant_costs", "product_id"))
            cols["variant_id"].append(_int(variant["id"], "variant_costs", "variant_id"))
            cols["inventory_item_id"].append(item_id)
            cols["sku"].append(variant.get("sku") or (found or {}).get("sku"))
            cols["product_title"].append(product.get("title"))
            cols["variant_title"].append(variant.get("title"))
            cols["unit_cost"].append(_number(cost, "variant_costs", "unit_cost"))
            cols["cost_updated_at"].append(updated)
            cols["shop_domain"].append(self.settings.shop)
        logger.debug("shopify: %d variants, %d inventory items", len(variants), len(items))
        if cols:
            yield Batch(
                "variant_costs",
                build_table("shopify", "variant_costs", SCHEMAS["variant_costs"], cols, ctx.run_id),
            )

    def _costed_variants(
        self,
    ) -> tuple[
        list[tuple[dict[str, Any], dict[str, Any]]],
        list[int | None],
        dict[int, dict[str, Any]],
    ]:
        """Every (product, variant), each variant's inventory item id, and the items by id."""
        params: dict[str, Any] = {
            "fields": "id,title,variants",
            "limit": min(self.settings.page_size, 250),
        }
        variants: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for products in self._pages(f"{self._api}/products.json", params, "products"):
            for product in products:
                _require(product, "products")
                for variant in product["variants"] or []:
                    _require(variant, "variants")
                    variants.append((product, variant))
        item_ids = [
            _int(v.get("inventory_item_id"), "variant_costs", "inventory_item_id")
            for _, v in variants
        ]
        wanted = list(dict.fromkeys(i for i in item_ids if i is not None))
        items: dict[int, dict[str, Any]] = {}
        for start in range(0, len(wanted), INVENTORY_BATCH):
            chunk = wanted[start : start + INVENTORY_BATCH]
            # `limit` too: Shopify pages these 50 at a time by default.
            query = {"ids": ",".join(str(i) for i in chunk), "limit": 250}
            url = f"{self._api}/inventory_items.json"
            for page in self._pages(url, query, "inventory_items"):
                for item in page:
                    _require(item, "inventory_items")
                    got = _int(item["id"], "variant_costs", "inventory_item_id")
                    if got is not None:
                        items[got] = item
        return variants, item_ids, items

    def _since(self, ctx: ExtractContext, zone: ZoneInfo) -> datetime | None:
        if ctx.start_date is not None:
            return datetime.combine(ctx.start_date, time.min, zone)
        watermark = None if ctx.full_refresh else ctx.watermarks.get(self.settings.shop)
        if watermark is not None:
            return _as_utc(watermark) - timedelta(days=self.settings.lookback_days)
        if self.settings.start_date is not None:
            return datetime.combine(self.settings.start_date, time.min, zone)
        return None

    def _warn_new(self, table: str, objects: Iterable[dict[str, Any]]) -> None:
        if table not in self._warned:
            self._warn_keys(table, {key for obj in objects for key in obj})

    def _warn_keys(self, table: str, keys: set[str]) -> None:
        if table in self._warned:
            return
        new = sorted(keys - KNOWN_FIELDS[table])
        if new:
            self._warned.add(table)
            logger.warning(
                "shopify: %s carry fields martlake does not know: %s (loaded as before; "
                "check the Admin API release notes)",
                table,
                ", ".join(f"`{name}`" for name in new),
            )

    def _page_to_batches(
        self, orders: list[dict[str, Any]], timezone: str, ctx: ExtractContext
    ) -> Iterator[Batch]:
        shop = self.settings.shop
        hasher = ctx.hasher
        items = [item for order in orders for item in order.get("line_items") or []]
        for order in orders:
            _require(order, "orders")
        for item in items:
            _require(item, "order_lines")
        self._warn_new("orders", orders)
        self._warn_new("order_lines", items)
        o: dict[str, list[Any]] = defaultdict(list)
        lines: dict[str, list[Any]] = defaultdict(list)
        refunds: dict[str, list[Any]] = defaultdict(list)
        transactions: dict[str, list[Any]] = defaultdict(list)
        try:
            for order in orders:
                oid = _int(order["id"], "orders", "id")
                customer = order.get("customer") or {}
                address = order.get("shipping_address") or {}
                o["id"].append(oid)
                o["name"].append(order.get("name"))
                o["order_number"].append(_int(order.get("order_number"), "orders", "order_number"))
                for col in ("created_at", "updated_at", "processed_at", "cancelled_at"):
                    o[col].append(order.get(col))
                for col in ("financial_status", "currency", "source_name"):
                    o[col].append(order.get(col))
                currency = order.get("currency")
                presented = order.get("presentment_currency") or currency
                o["presentment_currency"].append(presented)
                for col in (
                    "total_line_items_price",
                    "total_discounts",
                    "subtotal_price",
                    "total_tax",
                    "total_price",
                ):
                    o[col].append(_shop_money(order, col))
                o["total_price_presentment"].append(_presentment_total(order, presented, currency))
                o["total_shipping"].append(_shipping(order))
                o["customer_id"].append(_int(customer.get("id"), "orders", "customer.id"))
                o["email_hash"].append(hasher.email(order.get("email") or customer.get("email")))
                phone = order.get("phone") or customer.get("phone")
                o["phone_hash"].append(hasher.phone(phone))
                codes = [d.get("code") for d in order.get("discount_codes") or [] if d.get("code")]
                o["discount_codes"].append(",".join(codes) or None)
                o["landing_site"].append(order.get("landing_site"))
                o["referring_site"].append(order.get("referring_site"))
                o["shipping_country_code"].append(address.get("country_code"))
                o["shipping_province_code"].append(address.get("province_code"))
                o["test"].append(bool(order.get("test", False)))
                o["shop_domain"].append(shop)
                o["shop_timezone"].append(timezone)
                for item in order.get("line_items") or []:
                    lines["id"].append(_int(item["id"], "order_lines", "id"))
                    lines["order_id"].append(oid)
                    for col in ("product_id", "variant_id"):
                        lines[col].append(_int(item.get(col), "order_lines", col))
                    for col in ("sku", "title", "variant_title"):
                        lines[col].append(item.get(col))
                    lines["quantity"].append(_int(item["quantity"], "order_lines", "quantity"))
                    lines["price"].append(_shop_money(item, "price"))
                    lines["discount"].append(_allocated(item))
                    lines["shop_domain"].append(shop)
                for refund in order.get("refunds") or []:
                    refund_id = _int(refund["id"], "refund_lines", "refund_id")
                    for rli in refund.get("refund_line_items") or []:
                        _require(rli, "refund_lines")
                        refunds["id"].append(_int(rli["id"], "refund_lines", "id"))
                        refunds["refund_id"].append(refund_id)
                        refunds["order_id"].append(oid)
                        refunds["line_item_id"].append(
                            _int(rli.get("line_item_id"), "refund_lines", "line_item_id")
                        )
                        refunds["quantity"].append(
                            _int(rli["quantity"], "refund_lines", "quantity")
                        )
                        refunds["subtotal"].append(_shop_money(rli, "subtotal"))
                        refunds["total_tax"].append(_shop_money(rli, "total_tax"))
                        refunds["refund_created_at"].append(refund.get("created_at"))
                        refunds["shop_domain"].append(shop)
                    for txn in refund.get("transactions") or []:
                        _require(txn, "refund_transactions")
                        transactions["id"].append(_int(txn["id"], "refund_transactions", "id"))
                        transactions["refund_id"].append(refund_id)
                        transactions["order_id"].append(oid)
                        for col in ("kind", "status", "gateway", "currency"):
                            transactions[col].append(txn.get(col))
                        transactions["amount"].append(_money(txn.get("amount")))
                        transactions["processed_at"].append(
                            txn.get("processed_at") or txn.get("created_at")
                        )
                        transactions["created_at"].append(txn.get("created_at"))
                        transactions["shop_domain"].append(shop)
        except (KeyError, TypeError, AttributeError) as exc:
            raise SourceContractError(
                f"shopify: an order is missing `{exc}` or has the wrong shape: check api_version"
            ) from None
        stamp = datetime.now(UTC)
        for table, cols in (
            ("orders", o),
            ("order_lines", lines),
            ("refund_lines", refunds),
            ("refund_transactions", transactions),
        ):
            if cols:
                yield Batch(
                    table, build_table("shopify", table, SCHEMAS[table], cols, ctx.run_id, stamp)
                )


class _OrdersBody(msgspec.Struct):
    orders: list[msgspec.Raw]


_ORDERS_BODY = msgspec.json.Decoder(_OrdersBody)
_ENCODER = msgspec.json.Encoder()


def orders_page(body: bytes, where: str) -> bytes:
    """`body` once it is checked to hold an `orders` list (its orders are not built).

    Raises:
        SourceContractError: It does not.
    """
    try:
        _ORDERS_BODY.decode(body)
    except msgspec.DecodeError:
        _items(body, where, "orders")
    return body


def _items(body: bytes, where: str, key: str) -> list[dict[str, Any]]:
    try:
        items = decode_json(body)[key]
        if not isinstance(items, list):
            raise TypeError(key)
    except (ValueError, KeyError, TypeError):
        raise SourceContractError(
            f"shopify: `{redact(where)}` returned no `{key}` list: check api_version in "
            "martlake.toml"
        ) from None
    return items


def _require(obj: dict[str, Any], table: str) -> None:
    missing = [name for name in REQUIRED_FIELDS[table] if name not in obj]
    if not missing:
        return
    known = KNOWN_FIELDS.get(table)
    # A renamed field usually keeps the old name inside the new one (quantity -> current_quantity).
    instead = sorted(
        key
        for key in obj
        if any(name in key for name in missing) or (known is not None and key not in known)
    )
    seen = f" (fields seen instead: {', '.join(f'`{k}`' for k in instead)})" if instead else ""
    raise SourceContractError(
        f"shopify: `{table}` rows lack the required field "
        f"{', '.join(f'`{m}`' for m in missing)}{seen}: the Admin API payload changed; check "
        "`api_version` in martlake.toml or report it"
    )


def _int(value: Any, table: str, name: str) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise SourceContractError(
        f"shopify: `{table}.{name}` is `{str(value)[:40]}`, not an integer: the Admin API "
        "payload changed; check `api_version` in martlake.toml or report it"
    )


def _number(value: Any, table: str, name: str) -> str | None:
    """A money amount sent as a string or number, checked to be a number."""
    text = _money(value)
    if text is None:
        return None
    try:
        finite = Decimal(text).is_finite()
    except (InvalidOperation, ValueError):
        finite = False
    if not finite:
        raise SourceContractError(
            f"shopify: `{table}.{name}` is `{text[:40]}`, not a number: the Admin API payload "
            "changed; check `api_version` in martlake.toml or report it"
        )
    return text


def _money(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _shop_money(obj: dict[str, Any], name: str) -> str | None:
    """`<name>_set.shop_money.amount` when sent, else the plain field (also shop currency)."""
    money_set = obj.get(f"{name}_set")
    if isinstance(money_set, dict):
        amount = (money_set.get("shop_money") or {}).get("amount")
        if amount is not None:
            return _money(amount)
    return _money(obj.get(name))


def _presentment_total(order: dict[str, Any], presented: Any, currency: Any) -> str | None:
    money_set = order.get("total_price_set")
    if isinstance(money_set, dict):
        amount = (money_set.get("presentment_money") or {}).get("amount")
        if amount is not None:
            return _money(amount)
    return _money(order.get("total_price")) if presented == currency else None


def _shipping(order: dict[str, Any]) -> str | None:
    price_set = order.get("total_shipping_price_set")
    if isinstance(price_set, dict):
        amount = (price_set.get("shop_money") or {}).get("amount")
        if amount is not None:
            return _money(amount)
    lines = order.get("shipping_lines")
    if lines:
        return str(sum(Decimal(str(line.get("price") or 0)) for line in lines))
    return "0.00"


def _allocated(item: dict[str, Any]) -> str:
    allocations = item.get("discount_allocations")
    if allocations:
        total = Decimal(0)
        for allocation in allocations:
            total += Decimal(str(_shop_money(allocation, "amount") or 0))
        return str(total)
    return str(_shop_money(item, "total_discount") or "0.00")


def _pace(response: httpx.Response) -> None:
    """Wait until the call-limit bucket has `HEADROOM` free calls again, instead of hitting 429."""
    used, _, size = response.headers.get("X-Shopify-Shop-Api-Call-Limit", "").partition("/")
    try:
        excess = int(used) - (int(size) - HEADROOM)
    except ValueError:
        return
    if excess > 0:
        wait = excess / LEAK_PER_SECOND
        logger.info("shopify: call limit %s/%s, pausing %.1fs", used, size, wait)
        sleep(wait)


def _next_page(response: httpx.Response) -> str | None:
    match = _NEXT_LINK.search(response.headers.get("Link", ""))
    return match.group(1) if match else None


def _as_utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value))


def _map_error(response: httpx.Response) -> MartlakeError | None:
    # https://shopify.dev/docs/api/usage/response-codes
    status = response.status_code
    if status == 401:
        return AuthError(
            "shopify: the access token was rejected (401): create an Admin API token with "
            "`read_orders` and set it as `sources.shopify.access_token` in .martlake/secrets.toml"
        )
    if status == 403:
        return AuthError(
            "shopify: the token lacks a permission (403): grant `read_orders`, `read_products` "
            "and `read_inventory` (and `read_all_orders` for orders older than 60 days) to the "
            "app and reinstall it"
        )
    if status == 404:
        return SourceContractError(
            f"shopify: `{redact(str(response.url.copy_with(query=None)))}` not found (404): check "
            "`sources.shopify.shop` and `api_version` in martlake.toml"
        )
    if status == 429:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return RateLimitError(
            "shopify: API call limit reached (429)",
            retry_after=2.0 if retry_after is None else retry_after,
        )
    return None
