"""Orders from the Admin REST API, incremental on `updated_at`, paged by `page_info`."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from time import sleep
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from martlake.config import ShopifySettings, redact
from martlake.errors import AuthError, MartlakeError, RateLimitError, SourceContractError
from martlake.privacy import hash_email, hash_phone
from martlake.sources._http import HttpClient
from martlake.sources.base import Batch, Cursor, ExtractContext, Source, build_table
from martlake.sources.shopify._schema import SCHEMAS

logger = logging.getLogger(__name__)

_NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="next"')
# REST Admin API rate limits (Shopify "REST Admin API rate limits"): a leaky bucket of 40
# calls (more on Plus) that drains at 2 calls/s; each answer reports `used/size`.
LEAK_PER_SECOND = 2.0
HEADROOM = 4


class ShopifySource(Source):
    """Shopify orders (with line items, refunds and the customer, PII hashed).

    Each run asks for orders with `updated_at >= watermark - lookback_days`, so edits and refunds
    on older orders are picked up; the raw zone keeps every version.
    """

    name = "shopify"
    schemas = SCHEMAS
    cursor = Cursor(table="orders", account_column="shop_domain", column="updated_at")

    def __init__(self, settings: ShopifySettings, **http: Any) -> None:
        self.settings = settings
        token = settings.access_token.get_secret_value() if settings.access_token else ""
        base = settings.base_url or f"https://{settings.shop}"
        self._api = f"/admin/api/{settings.api_version}"
        self._http = HttpClient(
            "shopify",
            base.rstrip("/"),
            headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
            map_error=_map_error,
            **http,
        )

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

    def extract(self, ctx: ExtractContext) -> Iterator[Batch]:
        shop = self._shop()
        timezone = shop.get("iana_timezone") or "UTC"
        params: dict[str, Any] | None = {"status": "any", "limit": self.settings.page_size}
        zone = ZoneInfo(timezone)
        since = self._since(ctx, zone)
        if since is not None and params is not None:
            params["updated_at_min"] = since.isoformat()
        if ctx.end_date is not None and params is not None:
            # Bounding by updated_at (not created_at) keeps a backfill from loading orders
            # updated after end_date, which would move the watermark past unread orders.
            end = datetime.combine(ctx.end_date + timedelta(days=1), time.min, zone)
            params["updated_at_max"] = (end - timedelta(seconds=1)).isoformat()
        url: str | None = f"{self._api}/orders.json"
        pages = 0
        while url is not None:
            response = self._http.get(url, params=params)
            _pace(response)
            try:
                orders = response.json()["orders"]
            except (ValueError, KeyError, TypeError):
                raise SourceContractError(
                    f"shopify: `{redact(str(response.url))}` returned no `orders` list: check "
                    "api_version in martlake.toml"
                ) from None
            pages += 1
            if orders:
                yield from self._page_to_batches(orders, timezone, ctx)
            # The next link carries page_info and limit; Shopify refuses other filters beside it.
            url, params = _next_page(response), None
        logger.debug("shopify: %d pages since %s", pages, since)

    def _since(self, ctx: ExtractContext, zone: ZoneInfo) -> datetime | None:
        if ctx.start_date is not None:
            return datetime.combine(ctx.start_date, time.min, zone)
        watermark = None if ctx.full_refresh else ctx.watermarks.get(self.settings.shop)
        if watermark is not None:
            return _as_utc(watermark) - timedelta(days=self.settings.lookback_days)
        if self.settings.start_date is not None:
            return datetime.combine(self.settings.start_date, time.min, zone)
        return None

    def _page_to_batches(
        self, orders: list[dict[str, Any]], timezone: str, ctx: ExtractContext
    ) -> Iterator[Batch]:
        shop = self.settings.shop
        country = ctx.privacy.default_phone_country_code
        o: dict[str, list[Any]] = defaultdict(list)
        lines: dict[str, list[Any]] = defaultdict(list)
        refunds: dict[str, list[Any]] = defaultdict(list)
        try:
            for order in orders:
                oid = order["id"]
                customer = order.get("customer") or {}
                address = order.get("shipping_address") or {}
                o["id"].append(oid)
                o["name"].append(order.get("name"))
                o["order_number"].append(order.get("order_number"))
                for col in ("created_at", "updated_at", "processed_at", "cancelled_at"):
                    o[col].append(order.get(col))
                for col in ("financial_status", "currency", "presentment_currency", "source_name"):
                    o[col].append(order.get(col))
                for col in (
                    "total_line_items_price",
                    "total_discounts",
                    "subtotal_price",
                    "total_tax",
                    "total_price",
                ):
                    o[col].append(_money(order.get(col)))
                o["total_shipping"].append(_shipping(order))
                o["customer_id"].append(customer.get("id"))
                o["email_hash"].append(hash_email(order.get("email") or customer.get("email")))
                phone = order.get("phone") or customer.get("phone")
                o["phone_hash"].append(hash_phone(phone, country))
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
                    lines["id"].append(item["id"])
                    lines["order_id"].append(oid)
                    for col in ("product_id", "variant_id", "sku", "title", "variant_title"):
                        lines[col].append(item.get(col))
                    lines["quantity"].append(item.get("quantity"))
                    lines["price"].append(_money(item.get("price")))
                    lines["discount"].append(_allocated(item))
                    lines["shop_domain"].append(shop)
                for refund in order.get("refunds") or []:
                    for rli in refund.get("refund_line_items") or []:
                        refunds["id"].append(rli["id"])
                        refunds["refund_id"].append(refund["id"])
                        refunds["order_id"].append(oid)
                        refunds["line_item_id"].append(rli.get("line_item_id"))
                        refunds["quantity"].append(rli.get("quantity"))
                        refunds["subtotal"].append(_money(rli.get("subtotal")))
                        refunds["total_tax"].append(_money(rli.get("total_tax")))
                        refunds["refund_created_at"].append(refund.get("created_at"))
                        refunds["shop_domain"].append(shop)
        except (KeyError, TypeError, AttributeError) as exc:
            raise SourceContractError(
                f"shopify: an order is missing `{exc}` or has the wrong shape: check api_version"
            ) from None
        stamp = datetime.now(UTC)
        for table, cols in (("orders", o), ("order_lines", lines), ("refund_lines", refunds)):
            if cols:
                yield Batch(
                    table, build_table("shopify", table, SCHEMAS[table], cols, ctx.run_id, stamp)
                )


def _money(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _shipping(order: dict[str, Any]) -> str | None:
    price_set = order.get("total_shipping_price_set")
    if isinstance(price_set, dict):
        amount = (price_set.get("shop_money") or {}).get("amount")
        if amount is not None:
            return str(amount)
    lines = order.get("shipping_lines")
    if lines:
        return str(sum(Decimal(str(line.get("price") or 0)) for line in lines))
    return "0.00"


def _allocated(item: dict[str, Any]) -> str:
    allocations = item.get("discount_allocations")
    if allocations:
        return str(sum(Decimal(str(a.get("amount") or 0)) for a in allocations))
    return str(item.get("total_discount") or "0.00")


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
            "shopify: the token lacks a permission (403): grant `read_orders` (and "
            "`read_all_orders` for orders older than 60 days) to the app and reinstall it"
        )
    if status == 404:
        return SourceContractError(
            f"shopify: `{redact(str(response.url.copy_with(query=None)))}` not found (404): check "
            "`sources.shopify.shop` and `api_version` in martlake.toml"
        )
    if status == 429:
        retry_after = response.headers.get("Retry-After")
        return RateLimitError(
            "shopify: API call limit reached (429)",
            retry_after=float(retry_after) if retry_after else 2.0,
        )
    return None
