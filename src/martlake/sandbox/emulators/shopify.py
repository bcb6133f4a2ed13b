"""Shopify Admin API (2024-10) emulator: REST orders, orders/count, single order, shop, order
destroy events, products and inventory items (unit costs); GraphQL bulk operations over orders.

REST follows https://shopify.dev/docs/api/admin-rest/usage/pagination: results in id order, a
`Link` header with `rel="previous"`/`rel="next"` URLs whose opaque `page_info` carries the
filters, and only `limit` and `fields` allowed next to `page_info`. GraphQL (`graphql.json`) is
in `_graphql.py`. `drift` (see `DRIFT_KINDS`) changes the REST order payload the way an API
change would.
"""

from __future__ import annotations

import base64
import binascii
import json
import operator
import re
import threading
from bisect import bisect_left, bisect_right
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from martlake.sandbox.emulators._http import Request, Response, json_response
from martlake.sandbox.emulators._shopify_graphql import BulkOperations
from martlake.sandbox.simulator import Business

SANDBOX_SHOPIFY_TOKEN = "shpat_sandbox_token"
DEFAULT_LIMIT = 50
MAX_LIMIT = 250
FILTERS = (
    "status",
    "ids",
    "since_id",
    "created_at_min",
    "created_at_max",
    "updated_at_min",
    "updated_at_max",
)
_PAGE_INFO_COMPANIONS = frozenset({"page_info", "limit", "fields"})
_ROUTE = re.compile(r"^/admin/api/(?P<version>\d{4}-\d{2}|unstable)/(?P<resource>[\w/]+)\.json$")
_ORDER = re.compile(r"^orders/(?P<id>\d+)$")
_STATUSES = ("open", "closed", "cancelled", "any")
MAX_INVENTORY_IDS = 100
"""Most ids one `inventory_items.json?ids=` call accepts (Shopify "InventoryItem")."""
_EVENT_FILTERS = ("filter", "verb", "created_at_min", "created_at_max", "since_id")
DRIFT_KINDS = frozenset({"new_field", "renamed_field", "numbers_as_strings"})
"""Drift kinds the Shopify emulator acts on; `dash_values` is not something Shopify does."""
_INT_FIELDS = frozenset(
    {"id", "order_id", "order_number", "number", "product_id", "variant_id", "line_item_id",
     "quantity", "refund_id"}
)  # fmt: skip
_MONEY_FIELDS = frozenset(
    {"price", "total_price", "subtotal_price", "total_tax", "total_discounts", "amount",
     "total_line_items_price", "subtotal", "total_discount"}
)  # fmt: skip
_INVALID_TOKEN = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}


class _BadRequest(Exception):
    def __init__(self, errors: Any, status: int = 400) -> None:
        super().__init__(str(errors))
        self.errors = errors
        self.status = status


def _encode_cursor(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode_cursor(token: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _BadRequest({"page_info": "Invalid value."}) from exc
    if (
        not isinstance(payload, dict)
        or payload.get("direction") not in ("next", "prev")
        or not isinstance(payload.get("last_id"), int)
        or not isinstance(payload.get("filters"), dict)
    ):
        raise _BadRequest({"page_info": "Invalid value."})
    return payload


class ShopifyApp:
    """Serves one `Business` as a Shopify store.

    Args:
        business: The simulated shop.
        token: The only access token accepted in `X-Shopify-Access-Token`.
    """

    def __init__(self, business: Business, token: str = SANDBOX_SHOPIFY_TOKEN) -> None:
        self.business = business
        self.token = token
        self._tz = ZoneInfo(business.config.timezone)
        self._lock = threading.Lock()
        self._ids: list[int] = []
        self._created: list[float] = []
        self._updated: list[float] = []
        self._closed: list[bool] = []
        self._index: dict[int, int] = {}
        self._prepared = False
        self._selections: dict[tuple[str, ...], list[int]] = {}
        self._partial: dict[frozenset[str], dict[int, bytes]] = {}
        self.events: list[dict[str, Any]] = []
        self.drift: frozenset[str] = frozenset()
        self.bulk = BulkOperations(self)

    def delete_order(self, order_id: int) -> None:
        """Delete an order: it leaves every endpoint, and a `destroy` event records it.

        Shopify drops deleted orders from `orders.json` and GraphQL; only
        `events.json?filter=Order&verb=destroy` tells a client they are gone. The event is
        stamped one second before the business's `as_of`.

        Raises:
            ConfigError: No visible order has that id.
        """
        self.prepare()
        with self._lock:
            index = self._index.get(order_id)
            name = None if index is None else json.loads(self.business.order_json(index))["name"]
            self.business.delete_order(order_id)
            at = datetime.fromtimestamp(self.business.as_of.timestamp() - 1, self._tz)
            event_id = 1_000_000_000 + len(self.events) + 1
            self.events.append(
                {
                    "id": event_id,
                    "subject_id": order_id,
                    "created_at": at.isoformat(),
                    "subject_type": "Order",
                    "verb": "destroy",
                    "arguments": [name],
                    "body": None,
                    "message": f"Shopify deleted order {name}.",
                    "author": "Shopify",
                    "description": f"Shopify deleted order {name}.",
                    "path": f"/admin/orders/{order_id}",
                }
            )
            self._ids, self._created, self._updated, self._closed = [], [], [], []
            self._index = {}
            self._selections.clear()
            self._partial.clear()
            self._prepared = False

    def prepare(self) -> None:
        """Generate the business and the per-order filter columns (done on first use)."""
        with self._lock:
            if self._prepared:
                return
            ds = self.business._dataset()
            as_of = ds.as_of_ts
            for i, o in enumerate(ds.orders):
                fulfilled = o.fulfilled_ts < as_of
                refunded = o.refund is not None and o.refund.ts < as_of
                self._ids.append(o.id)
                self._created.append(o.ts)
                self._updated.append(
                    max(
                        o.ts,
                        o.fulfilled_ts if fulfilled else 0,
                        o.refund.ts if refunded and o.refund is not None else 0,
                    )
                )
                self._closed.append(fulfilled)
                self._index[o.id] = i
            self._prepared = True

    def handle(self, request: Request) -> Response:
        """Answer one request addressed to `/shopify/...`."""
        if request.path.startswith(self.bulk.RESULTS_PREFIX):
            # A signed download URL: like Shopify's storage links, it needs no access token.
            self.prepare()
            return self.bulk.download(request)
        match = _ROUTE.match(request.path)
        if match is None:
            return json_response(404, {"errors": "Not Found"})
        if request.headers.get("X-Shopify-Access-Token") != self.token:
            return json_response(401, _INVALID_TOKEN)
        version, resource = match["version"], match["resource"]
        self.prepare()
        if resource == "graphql" and request.method == "POST":
            return self.bulk.graphql(request, version)
        if request.method != "GET":
            return json_response(406, {"errors": "Not Acceptable"})
        headers = [("X-Shopify-Shop-Api-Call-Limit", "1/40"), ("X-Shopify-API-Version", version)]
        try:
            if resource == "events":
                return self._events(request, version, headers)
            if resource == "orders":
                return self._orders(request, version, headers)
            if resource == "orders/count":
                selection = self._select(self._filters(request.query))
                return json_response(200, {"count": len(selection)}, headers)
            if resource == "shop":
                return json_response(200, {"shop": self.business.shop}, headers)
            if resource == "products":
                return self._products(request, version, headers)
            if resource == "inventory_items":
                return self._inventory_items(request, version, headers)
            order = _ORDER.match(resource)
            if order is not None:
                index = self._index.get(int(order["id"]))
                if index is None:
                    return json_response(404, {"errors": "Not Found"}, headers)
                body = b'{"order":' + self._order_bytes(index, request.query) + b"}"
                return Response(200, body, headers)
        except _BadRequest as exc:
            return json_response(exc.status, {"errors": exc.errors}, headers)
        return json_response(404, {"errors": "Not Found"}, headers)

    def _fields(self, query: dict[str, str]) -> frozenset[str] | None:
        raw = query.get("fields")
        if not raw:
            return None
        return frozenset(f.strip() for f in raw.split(",") if f.strip())

    def _order_bytes(self, index: int, query: dict[str, str]) -> bytes:
        fields = self._fields(query)
        if fields is None:
            data = self.business.order_json(index)
        else:
            cache = self._partial.setdefault(fields, {})
            cached = cache.get(index)
            if cached is None:
                cached = cache[index] = self.business.order_json(index, fields)
            data = cached
        drift = self.drift & DRIFT_KINDS
        if drift:
            data = json.dumps(_drifted(json.loads(data), drift), separators=(",", ":")).encode()
        return data

    def _events(self, request: Request, version: str, headers: list[tuple[str, str]]) -> Response:
        # REST Event resource: newest last here (id order), paged like orders by page_info.
        query = request.query
        limit = self._limit(query)
        if "page_info" in query:
            extra = sorted(set(query) - _PAGE_INFO_COMPANIONS)
            if extra:
                raise _BadRequest(
                    {k: f"{k} cannot be passed when page_info is present." for k in extra}
                )
            cursor = _decode_cursor(query["page_info"])
            filters = {str(k): str(v) for k, v in cursor["filters"].items()}
            after = int(cursor["last_id"])
        else:
            filters = {name: query[name] for name in _EVENT_FILTERS if query.get(name)}
            after = self._int(filters, "since_id") if "since_id" in filters else 0
        selected = []
        for event in self.events:
            if event["id"] <= after:
                continue
            if "filter" in filters and event["subject_type"] not in filters["filter"].split(","):
                continue
            if "verb" in filters and event["verb"] != filters["verb"]:
                continue
            stamp = datetime.fromisoformat(event["created_at"]).timestamp()
            if "created_at_min" in filters and stamp < self._parse_time(
                "created_at_min", filters["created_at_min"]
            ):
                continue
            if "created_at_max" in filters and stamp > self._parse_time(
                "created_at_max", filters["created_at_max"]
            ):
                continue
            selected.append(event)
        page = selected[:limit]
        if len(selected) > limit:
            token = _encode_cursor(
                {"direction": "next", "last_id": page[-1]["id"], "filters": filters}
            )
            url = f"{request.base_url}/admin/api/{version}/events.json"
            params = urlencode({"limit": limit, "page_info": token})
            headers = [*headers, ("Link", f'<{url}?{params}>; rel="next"')]
        return json_response(200, {"events": page}, headers)

    def _products(self, request: Request, version: str, headers: list[tuple[str, str]]) -> Response:
        filters, cursor = self._page_filters(request.query, ())
        products = self.business.products
        return self._id_page(request, version, "products", products, filters, cursor, headers)

    def _inventory_items(
        self, request: Request, version: str, headers: list[tuple[str, str]]
    ) -> Response:
        filters, cursor = self._page_filters(request.query, ("ids",))
        raw = [part.strip() for part in filters.get("ids", "").split(",") if part.strip()]
        if not raw:
            raise _BadRequest({"ids": ["can't be blank"]}, 422)
        if len(raw) > MAX_INVENTORY_IDS:
            raise _BadRequest({"ids": [f"exceeds the maximum of {MAX_INVENTORY_IDS} ids"]}, 422)
        if not all(part.isdigit() for part in raw):
            raise _BadRequest({"ids": ["must be a comma-separated list of integers"]}, 422)
        known = self.business.inventory_items
        items = [known[i] for i in sorted({int(part) for part in raw}) if i in known]
        return self._id_page(request, version, "inventory_items", items, filters, cursor, headers)

    def _page_filters(
        self, query: dict[str, str], names: tuple[str, ...]
    ) -> tuple[dict[str, str], dict[str, Any] | None]:
        if "page_info" not in query:
            return {name: query[name] for name in names if query.get(name)}, None
        extra = sorted(set(query) - _PAGE_INFO_COMPANIONS)
        if extra:
            raise _BadRequest(
                {k: f"{k} cannot be passed when page_info is present." for k in extra}
            )
        cursor = _decode_cursor(query["page_info"])
        return {str(k): str(v) for k, v in cursor["filters"].items()}, cursor

    def _id_page(
        self,
        request: Request,
        version: str,
        key: str,
        objects: list[dict[str, Any]],
        filters: dict[str, str],
        cursor: dict[str, Any] | None,
        headers: list[tuple[str, str]],
    ) -> Response:
        # `objects` sorted by id; the page and its links the way `_orders` pages orders.
        query = request.query
        limit = self._limit(query)
        ids = [int(o["id"]) for o in objects]
        if cursor is None:
            start, end = 0, limit
        elif cursor["direction"] == "next":
            start = bisect_right(ids, cursor["last_id"])
            end = start + limit
        else:
            end = bisect_left(ids, cursor["last_id"])
            start = max(0, end - limit)
        page = objects[start:end]
        fields = self._fields(query)
        body = page if fields is None else [{k: o[k] for k in o if k in fields} for o in page]
        links = _page_links(
            f"{request.base_url}/admin/api/{version}/{key}.json",
            query,
            limit,
            filters,
            previous=ids[start] if page and cursor is not None and start > 0 else None,
            following=ids[start + len(page) - 1]
            if page and start + len(page) < len(objects)
            else None,
        )
        if links:
            headers = [*headers, ("Link", ", ".join(links))]
        return json_response(200, {key: body}, headers)

    def _parse_time(self, name: str, value: str) -> float:
        try:
            # An unencoded "+" in the offset arrives as a space.
            text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", value.strip()).replace(" ", "T")
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise _BadRequest({name: "Invalid value."}) from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self._tz)
        return parsed.timestamp()

    def _filters(self, query: dict[str, str]) -> dict[str, str]:
        filters = {name: query[name] for name in FILTERS if query.get(name)}
        filters.setdefault("status", "open")
        return filters

    def _select(self, filters: dict[str, str]) -> list[int]:
        key = tuple(f"{name}={filters.get(name, '')}" for name in FILTERS)
        cached = self._selections.get(key)
        if cached is not None:
            return cached
        status = filters["status"]
        if status not in _STATUSES:
            raise _BadRequest({"status": "Invalid value."})
        indexes: list[int] = list(range(len(self._ids)))
        if status == "cancelled":
            indexes = []
        elif status != "any":
            want_closed = status == "closed"
            indexes = [i for i in indexes if self._closed[i] == want_closed]
        for name, column, compare in (
            ("created_at_min", self._created, operator.ge),
            ("created_at_max", self._created, operator.le),
            ("updated_at_min", self._updated, operator.ge),
            ("updated_at_max", self._updated, operator.le),
        ):
            if name in filters:
                bound = self._parse_time(name, filters[name])
                indexes = [i for i in indexes if compare(column[i], bound)]
        if "since_id" in filters:
            since = self._int(filters, "since_id")
            indexes = [i for i in indexes if self._ids[i] > since]
        if "ids" in filters:
            try:
                wanted = {int(part) for part in filters["ids"].split(",") if part.strip()}
            except ValueError as exc:
                raise _BadRequest({"ids": "Invalid value."}) from exc
            indexes = [i for i in indexes if self._ids[i] in wanted]
        if len(self._selections) > 256:
            self._selections.clear()
        self._selections[key] = indexes
        return indexes

    @staticmethod
    def _int(query: dict[str, str], name: str) -> int:
        try:
            return int(query[name])
        except ValueError as exc:
            raise _BadRequest({name: "Invalid value."}) from exc

    def _limit(self, query: dict[str, str]) -> int:
        if "limit" not in query:
            return DEFAULT_LIMIT
        try:
            limit = int(query["limit"])
        except ValueError as exc:
            raise _BadRequest({"limit": "Invalid value."}) from exc
        if not 1 <= limit <= MAX_LIMIT:
            raise _BadRequest({"limit": f"must be between 1 and {MAX_LIMIT}, got {limit}"})
        return limit

    def _orders(self, request: Request, version: str, headers: list[tuple[str, str]]) -> Response:
        query = request.query
        limit = self._limit(query)
        cursor: dict[str, Any] | None = None
        if "page_info" in query:
            extra = sorted(set(query) - _PAGE_INFO_COMPANIONS)
            if extra:
                raise _BadRequest(
                    {k: f"{k} cannot be passed when page_info is present." for k in extra}
                )
            cursor = _decode_cursor(query["page_info"])
            filters = {str(k): str(v) for k, v in cursor["filters"].items()}
        else:
            filters = self._filters(query)
        selection = self._select(filters)
        if cursor is None:
            start, end = 0, limit
        elif cursor["direction"] == "next":
            start = bisect_left(selection, bisect_right(self._ids, cursor["last_id"]))
            end = start + limit
        else:
            end = bisect_left(selection, bisect_left(self._ids, cursor["last_id"]))
            start = max(0, end - limit)
        page = selection[start:end]
        body = b'{"orders":[' + b",".join(self._order_bytes(i, query) for i in page) + b"]}"
        links = _page_links(
            f"{request.base_url}/admin/api/{version}/orders.json",
            query,
            limit,
            filters,
            previous=self._ids[page[0]] if page and cursor is not None and start > 0 else None,
            following=self._ids[page[-1]] if page and start + len(page) < len(selection) else None,
        )
        if links:
            headers = [*headers, ("Link", ", ".join(links))]
        return Response(200, body, headers)


def _page_links(
    url: str,
    query: dict[str, str],
    limit: int,
    filters: dict[str, str],
    *,
    previous: int | None,
    following: int | None,
) -> list[str]:
    """Shopify's `Link` header entries around a page: `page_info` cursors after the id of the
    page's first object (previous) or last object (next), carrying `limit` and `fields`."""
    extra = {"fields": query["fields"]} if query.get("fields") else {}

    def link(direction: str, last_id: int, rel: str) -> str:
        token = _encode_cursor({"direction": direction, "last_id": last_id, "filters": filters})
        params = urlencode({"limit": limit, **extra, "page_info": token})
        return f'<{url}?{params}>; rel="{rel}"'

    links = [] if previous is None else [link("prev", previous, "previous")]
    return links if following is None else [*links, link("next", following, "next")]


def _drifted(order: dict[str, Any], drift: frozenset[str]) -> dict[str, Any]:
    if "new_field" in drift:
        # A field a later API version adds, unknown to clients built before it.
        order["sales_channel_handle"] = "online_store"
    if "renamed_field" in drift:
        for item in order.get("line_items") or []:
            if "quantity" in item:
                item["current_quantity"] = item.pop("quantity")
    if "numbers_as_strings" in drift:
        _swap_number_types(order)
    return order


def _swap_number_types(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _swap_number_types(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in _INT_FIELDS and isinstance(value, int) and not isinstance(value, bool):
            node[key] = str(value)
        elif key in _MONEY_FIELDS and isinstance(value, str):
            node[key] = float(value)
        else:
            _swap_number_types(value)
