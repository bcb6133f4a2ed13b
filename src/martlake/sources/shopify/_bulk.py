"""Backfills through a GraphQL Admin bulk operation: one query, one JSONL file, no paging.

https://shopify.dev/docs/api/usage/bulk-operations/queries: `bulkOperationRunQuery` starts the
query, `node(id:)` reports its status, and the finished JSONL file holds one object per line;
nodes of a nested connection (line items) are lines of their own pointing at their order with
`__parentId`. Lines are turned back into REST-shaped orders so that both paths share one
conversion and load the same rows. Bulk queries cannot hold a connection inside a list field
(`Order.refunds` is a list, `Refund.refundLineItems` a connection), so refunds come from REST:
orders with refunds are re-fetched by id.

Line order: child lines follow their parent only when the operation groups objects, which is
the default before API 2026-01 and asked for with `groupObjects: true` from 2025-07 on
(https://shopify.dev/changelog/bulk-operations-group-objects-default-changed-to-false). The
reader does not rely on it: the file is spooled to disk, a first pass checks the order and, when
children are not next to their parent, indexes every line as (order id, byte offset) in two
pyarrow columns (16 bytes a line, ~60 MB for 1M orders with 3 line items each); a second pass
then reads orders with their line items by seeking, sorted by order id. Grouped files are read
in one sequential pass, as before.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pyarrow as pa

from martlake.config import redact
from martlake.errors import (
    AuthError,
    MartlakeError,
    RateLimitError,
    SourceContractError,
    SourceError,
)
from martlake.sources._http import HttpClient, retry_after_seconds

logger = logging.getLogger(__name__)

FIRST_POLL_SECONDS = 0.2
RUN_MUTATION = """mutation martlakeBulkOrders($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message }
  }
}"""
RUN_GROUPED_MUTATION = """mutation martlakeBulkOrders($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: true) {
    bulkOperation { id status }
    userErrors { field message }
  }
}"""
# `groupObjects` exists from 2025-07 on; older versions refuse an unknown argument.
GROUP_OBJECTS_SINCE = "2025-07"
CANCEL_MUTATION = """mutation martlakeBulkCancel($id: ID!) {
  bulkOperationCancel(id: $id) {
    bulkOperation { id status }
    userErrors { field message }
  }
}"""
CANCEL_TIMEOUT_SECONDS = 600.0
POLL_QUERY = """query martlakeBulkStatus($id: ID!) {
  node(id: $id) {
    ... on BulkOperation { id status errorCode objectCount url partialDataUrl }
  }
}"""
CURRENT_QUERY = "query martlakeCurrentBulk { currentBulkOperation { id status } }"
RUNNING = ("CREATED", "RUNNING", "CANCELING")
_MONEY = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"
ORDERS_QUERY = (
    """{
  orders(query: %s, sortKey: ID) {
    edges {
      node {
        id name number createdAt updatedAt processedAt cancelledAt displayFinancialStatus
        currencyCode presentmentCurrencyCode email phone test sourceName discountCodes
        customerJourneySummary { lastVisit { landingPage referrerUrl } }
        customer { id email phone }
        shippingAddress { countryCodeV2 provinceCode }
        subtotalPriceSet { MONEY }
        totalDiscountsSet { MONEY }
        totalTaxSet { MONEY }
        totalPriceSet { MONEY }
        totalShippingPriceSet { MONEY }
        refunds { id }
        lineItems {
          edges {
            node {
              id title sku variantTitle quantity
              product { id }
              variant { id }
              originalUnitPriceSet { MONEY }
              discountAllocations { allocatedAmountSet { MONEY } }
            }
          }
        }
      }
    }
  }
}"""
).replace("MONEY", _MONEY)
FAILED = ("FAILED", "CANCELED", "CANCELING", "EXPIRED")


def search_query(since: datetime | None, until: datetime | None) -> str:
    """The `orders(query:)` search string for an `updated_at` range, as a GraphQL literal."""
    terms = []
    if since is not None:
        terms.append(f"updated_at:>='{_utc(since)}'")
    if until is not None:
        terms.append(f"updated_at:<='{_utc(until)}'")
    return json.dumps(" AND ".join(terms))


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def graphql_check(body: Any) -> MartlakeError | None:
    """Errors Shopify reports inside an HTTP 200 GraphQL answer."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors:
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            return SourceContractError(
                "shopify: graphql.json answered without `data`: check `api_version`"
            )
        return None
    first = errors[0] if isinstance(errors, list) and errors else {"message": str(errors)}
    message = str(first.get("message", first)) if isinstance(first, dict) else str(first)
    code = (first.get("extensions") or {}).get("code") if isinstance(first, dict) else None
    if code == "THROTTLED":
        # GraphQL Admin rate limits: a cost bucket refilled at `restoreRate` points per second.
        return RateLimitError("shopify: GraphQL cost limit reached (THROTTLED)", retry_after=2.0)
    if code == "ACCESS_DENIED":
        return AuthError(
            f"shopify: GraphQL access denied (`{message}`): grant `read_orders` and "
            "`read_all_orders` to the app and reinstall it"
        )
    return SourceContractError(
        f"shopify: GraphQL refused the query (`{message}`): check `api_version` in "
        'martlake.toml or set `sources.shopify.bulk = "never"` and report it'
    )


class BulkReader:
    """Runs one bulk query over orders and yields REST-shaped orders in chunks."""

    def __init__(
        self,
        http: HttpClient,
        api: str,
        *,
        poll_seconds: float,
        timeout_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
        download_timeout: float = 300.0,
        attempts: int = 8,
        backoff: float = 0.5,
    ) -> None:
        self._http = http
        self._api = api
        self._poll = poll_seconds
        self._timeout = timeout_seconds
        self._sleep = sleep
        self._download_timeout = download_timeout
        self._attempts = max(1, attempts)
        self._backoff = backoff

    def orders(
        self, since: datetime | None, until: datetime | None, chunk: int
    ) -> Iterator[list[dict[str, Any]]]:
        """Orders updated in `[since, until]`, without refunds, `chunk` at a time."""
        url = self._run(ORDERS_QUERY % search_query(since, until))
        if url is None:
            return
        yield from self._download(url, chunk)

    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = self._http.post_json(
            f"{self._api}/graphql.json",
            json={"query": query, "variables": variables},
            check=graphql_check,
        )
        data: dict[str, Any] = body["data"]
        return data

    def _start(self, query: str) -> dict[str, Any]:
        """Start the operation. One bulk query runs per app and shop (before 2026-01), so an
        operation still running is a killed run's orphan: cancel it, then start ours."""
        version = self._api.rstrip("/").rsplit("/", 1)[-1]
        grouped = version == "unstable" or version >= GROUP_OBJECTS_SINCE
        mutation = RUN_GROUPED_MUTATION if grouped else RUN_MUTATION
        cancelled = False
        while True:
            payload = self._graphql(mutation, {"query": query}).get("bulkOperationRunQuery")
            if not isinstance(payload, dict):
                raise SourceContractError(
                    "shopify: bulkOperationRunQuery answered no payload: check `api_version`"
                )
            errors = payload.get("userErrors") or []
            message = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
            if not errors or "already in progress" not in message:
                return payload
            if cancelled or not self._cancel_current():
                raise SourceError(
                    f"shopify: a bulk operation is already running on the shop (`{message}`) "
                    "and could not be cancelled: wait for it to finish (or cancel it) and run "
                    "again"
                )
            cancelled = True

    def _cancel_current(self) -> bool:
        """Cancel the app's running bulk operation and wait until it has stopped."""
        current = self._graphql(CURRENT_QUERY, {}).get("currentBulkOperation") or {}
        op_id = current.get("id")
        if op_id and current.get("status") in ("CREATED", "RUNNING"):
            logger.warning(
                "shopify: cancelling bulk operation %s left running (by a killed run?) to start "
                "this run's",
                op_id,
            )
            self._graphql(CANCEL_MUTATION, {"id": op_id})
        started = time.monotonic()
        wait = FIRST_POLL_SECONDS
        limit = min(self._timeout, CANCEL_TIMEOUT_SECONDS)
        while current.get("status") in RUNNING:
            if time.monotonic() - started > limit:
                return False
            self._sleep(min(wait, self._poll))
            wait *= 2
            current = self._graphql(CURRENT_QUERY, {}).get("currentBulkOperation") or {}
        return True

    def _run(self, query: str) -> str | None:
        payload = self._start(query)
        errors = payload.get("userErrors") or []
        if errors:
            message = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
            raise SourceContractError(
                f"shopify: the bulk query was refused (`{message}`): check `api_version` in "
                'martlake.toml, or set `sources.shopify.bulk = "never"` and report it'
            )
        operation = payload.get("bulkOperation") or {}
        op_id = operation.get("id")
        if not op_id:
            raise SourceContractError(
                "shopify: bulkOperationRunQuery returned no operation id: check `api_version`"
            )
        started = time.monotonic()
        wait = FIRST_POLL_SECONDS
        while True:
            self._sleep(min(wait, self._poll))
            wait *= 2
            node = self._graphql(POLL_QUERY, {"id": op_id}).get("node") or {}
            status = node.get("status")
            if status == "COMPLETED":
                logger.info(
                    "shopify: bulk operation %s completed, %s objects",
                    op_id,
                    node.get("objectCount"),
                )
                url = node.get("url")
                return str(url) if url else None
            if status in FAILED:
                raise SourceError(
                    f"shopify: bulk operation `{op_id}` ended {status} (errorCode "
                    f"`{node.get('errorCode')}`): run again, or set "
                    '`sources.shopify.bulk = "never"` to page through REST instead'
                )
            if status not in ("CREATED", "RUNNING"):
                raise SourceContractError(
                    f"shopify: bulk operation `{op_id}` has unknown status `{status}`: check "
                    "`api_version` in martlake.toml"
                )
            if time.monotonic() - started > self._timeout:
                raise SourceError(
                    f"shopify: bulk operation `{op_id}` still {status} after "
                    f"{self._timeout:.0f}s: raise `sources.shopify.bulk_timeout_seconds` or "
                    "backfill a shorter period with --start-date/--end-date"
                )

    def _fetch(self, url: str, into: Any) -> None:
        """Stream the result file into `into`, retrying transient failures from the start."""
        where = redact(url.split("?")[0])
        # The result URL is signed: it must not get the shop's access token, so a bare client.
        with httpx.Client(timeout=self._download_timeout, follow_redirects=True) as client:
            for attempt in range(1, self._attempts + 1):
                into.seek(0)
                into.truncate()
                try:
                    with client.stream("GET", url) as response:
                        status = response.status_code
                        if response.is_success:
                            for part in response.iter_bytes():
                                into.write(part)
                            into.seek(0)
                            return
                        transient = status == 429 or status >= 500
                        wait = response.headers.get("Retry-After")
                except httpx.TransportError as exc:
                    status, transient, wait = 0, True, None
                    problem = str(exc) or type(exc).__name__
                if not transient or attempt == self._attempts:
                    reason = f"HTTP {status}" if status else problem
                    raise SourceError(
                        f"shopify: downloading the bulk result `{where}` failed ({reason}): run "
                        "again; the URL expires a week after the operation finished"
                    )
                announced = retry_after_seconds(wait)
                delay = self._backoff * 2 ** (attempt - 1) if announced is None else announced
                logger.info(
                    "shopify: bulk result download failed; retry %d in %.1fs", attempt, delay
                )
                self._sleep(min(delay, 60.0))

    def _download(self, url: str, chunk: int) -> Iterator[list[dict[str, Any]]]:
        with tempfile.TemporaryFile() as spool:
            self._fetch(url, spool)
            index = _index(spool)
            spool.seek(0)
            if index is None:
                yield from _read_grouped(spool, chunk)
            else:
                yield from _read_indexed(spool, index, chunk)


class _Ids(msgspec.Struct):
    id: str | None = None
    parent: str | None = msgspec.field(default=None, name="__parentId")


_IDS = msgspec.json.Decoder(_Ids)


def _decode(raw: bytes, number: int) -> dict[str, Any]:
    try:
        line = json.loads(raw)
    except ValueError:
        line = None
    if not isinstance(line, dict):
        where = f"line {number}" if number else "a line"
        raise SourceContractError(
            f"shopify: {where} of the bulk result is not a JSON object: run again"
        )
    return line


def _index(spool: Any) -> pa.Table | None:
    """None when every child line directly follows its parent's group; otherwise each line's
    order id, whether it is a child and its byte offset, sorted by order id, order line first."""
    parts: list[pa.RecordBatch] = []
    owners: list[int] = []
    children: list[bool] = []
    offsets: list[int] = []
    grouped, last, offset = True, None, 0

    def flush() -> None:
        parts.append(pa.record_batch([owners, children, offsets], schema=_INDEX))
        owners.clear()
        children.clear()
        offsets.clear()

    for number, raw in enumerate(spool, 1):
        here, offset = offset, offset + len(raw)
        if not raw.strip():
            continue
        try:
            ids = _IDS.decode(raw)
        except msgspec.ValidationError:
            raise SourceContractError(
                f"shopify: line {number} of the bulk result has no string `id`/`__parentId`: "
                "check `api_version` and report it"
            ) from None
        except msgspec.DecodeError:
            raise SourceContractError(
                f"shopify: line {number} of the bulk result is not JSON: run again"
            ) from None
        if ids.parent is None:
            last = ids.id
        else:
            grouped = grouped and ids.parent == last
        owners.append(gid_id(ids.parent if ids.parent is not None else ids.id) or -1)
        children.append(ids.parent is not None)
        offsets.append(here)
        if len(owners) >= 65_536:  # Python lists hold ~5x what arrow columns do.
            flush()
    if grouped:
        return None
    flush()
    return pa.Table.from_batches(parts, schema=_INDEX).sort_by(
        [("owner", "ascending"), ("child", "ascending"), ("offset", "ascending")]
    )


_INDEX = pa.schema([("owner", pa.int64()), ("child", pa.bool_()), ("offset", pa.int64())])


def _read_grouped(spool: Any, chunk: int) -> Iterator[list[dict[str, Any]]]:
    """Orders of a file whose child lines follow their parent, in one sequential pass."""
    orders: list[dict[str, Any]] = []
    for number, raw in enumerate(spool, 1):
        if not raw.strip():
            continue
        line = _decode(raw, number)
        if line.pop("__parentId", None) is None:
            if len(orders) >= chunk:
                yield orders
                orders = []
            orders.append(rest_order(line))
        else:
            orders[-1]["line_items"].append(rest_line_item(line))
    if orders:
        yield orders


def _read_indexed(spool: Any, index: pa.Table, chunk: int) -> Iterator[list[dict[str, Any]]]:
    """Orders of a file in any line order, by order id, reading each line at its offset."""
    orders: list[dict[str, Any]] = []
    owner_of_last = None
    for batch in index.to_batches(max_chunksize=65_536):
        for owner, child, offset in zip(
            batch.column(0).to_pylist(),
            batch.column(1).to_pylist(),
            batch.column(2).to_pylist(),
            strict=True,
        ):
            spool.seek(offset)
            line = _decode(spool.readline(), 0)
            parent = line.pop("__parentId", None)
            if not child:
                if len(orders) >= chunk:
                    yield orders
                    orders = []
                orders.append(rest_order(line))
                owner_of_last = owner
            elif owner != owner_of_last:
                raise SourceContractError(
                    f"shopify: a line of the bulk result belongs to `{parent}`, which is not "
                    "among its orders: run again and report it"
                )
            else:
                orders[-1]["line_items"].append(rest_line_item(line))
    if orders:
        yield orders


def gid_id(value: Any) -> int | None:
    """`gid://shopify/Order/123` -> 123."""
    if value is None:
        return None
    text = str(value)
    tail = text.rsplit("/", 1)[-1]
    try:
        return int(tail)
    except ValueError:
        raise SourceContractError(
            f"shopify: `{text}` is not a Shopify global id: check `api_version`"
        ) from None


def _set(bag: dict[str, Any] | None) -> dict[str, Any] | None:
    if not bag:
        return None
    out = {}
    for side, key in (("shopMoney", "shop_money"), ("presentmentMoney", "presentment_money")):
        money = bag.get(side)
        if money:
            out[key] = {"amount": money.get("amount"), "currency_code": money.get("currencyCode")}
    return out


def rest_line_item(node: dict[str, Any]) -> dict[str, Any]:
    """A bulk `LineItem` line as a REST line item."""
    price_set = _set(node.get("originalUnitPriceSet"))
    return {
        "id": gid_id(node.get("id")),
        "product_id": gid_id((node.get("product") or {}).get("id")),
        "variant_id": gid_id((node.get("variant") or {}).get("id")),
        "sku": node.get("sku"),
        "title": node.get("title"),
        "variant_title": node.get("variantTitle"),
        "quantity": node.get("quantity"),
        "price": ((price_set or {}).get("shop_money") or {}).get("amount"),
        "price_set": price_set,
        "discount_allocations": [
            {"amount_set": _set(a.get("allocatedAmountSet"))}
            for a in node.get("discountAllocations") or []
        ],
    }


def rest_order(node: dict[str, Any]) -> dict[str, Any]:
    """A bulk `Order` line as a REST order (line items arrive on later lines)."""
    # REST `landing_site` is the landing page of the session that placed the order: the last
    # visit before it (`firstVisit` is the earliest visit in the 30-day attribution window).
    visit = (node.get("customerJourneySummary") or {}).get("lastVisit") or {}
    customer = node.get("customer")
    address = node.get("shippingAddress")
    status = node.get("displayFinancialStatus")
    order: dict[str, Any] = {
        "id": gid_id(node.get("id")),
        "name": node.get("name"),
        "order_number": node.get("number"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "processed_at": node.get("processedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "financial_status": status.lower() if isinstance(status, str) else None,
        "currency": node.get("currencyCode"),
        "presentment_currency": node.get("presentmentCurrencyCode"),
        "email": node.get("email"),
        "phone": node.get("phone"),
        "test": node.get("test"),
        "source_name": node.get("sourceName"),
        "discount_codes": [{"code": code} for code in node.get("discountCodes") or []],
        "landing_site": visit.get("landingPage"),
        "referring_site": visit.get("referrerUrl"),
        "customer": (
            {
                "id": gid_id(customer.get("id")),
                "email": customer.get("email"),
                "phone": customer.get("phone"),
            }
            if customer
            else None
        ),
        "shipping_address": (
            {
                "country_code": address.get("countryCodeV2"),
                "province_code": address.get("provinceCode"),
            }
            if address
            else None
        ),
        "subtotal_price_set": _set(node.get("subtotalPriceSet")),
        "total_discounts_set": _set(node.get("totalDiscountsSet")),
        "total_tax_set": _set(node.get("totalTaxSet")),
        "total_price_set": _set(node.get("totalPriceSet")),
        "total_shipping_price_set": _set(node.get("totalShippingPriceSet")),
        "refunds": [{"id": gid_id(r.get("id"))} for r in node.get("refunds") or []],
        "line_items": [],
    }
    return order


def line_items_total(order: dict[str, Any]) -> str:
    """Σ unit price × quantity of the order's line items, REST's `total_line_items_price`."""
    total = Decimal(0)
    for item in order.get("line_items") or []:
        price = ((item.get("price_set") or {}).get("shop_money") or {}).get("amount")
        total += Decimal(str(price or 0)) * int(item.get("quantity") or 0)
    return str(total.quantize(Decimal("0.01")))
