"""Shopify GraphQL Admin API (2024-10) emulator: bulk query operations over orders.

Served: `bulkOperationRunQuery(query:)` with a query over `orders` (validated against the
Order/LineItem/Refund types below and against Shopify's bulk restrictions: one top-level
connection, at most five connections, nested two levels deep, none inside a list field),
`node(id:)` and `currentBulkOperation` to poll it (CREATED, then RUNNING, then COMPLETED or
FAILED, a step per poll), `bulkOperationCancel(id:)` (CANCELING, then CANCELED at the next
poll), and the JSONL result at a signed URL that needs no access token: one object per line,
nested connection nodes on lines of their own with `__parentId`
(https://shopify.dev/docs/api/usage/bulk-operations/queries). Child lines follow their parent
only when objects are grouped: `groupObjects` is accepted from 2025-07 on and defaults to false
from 2026-01 on (https://shopify.dev/changelog/bulk-operations-group-objects-default-changed-to-false);
ungrouped files list children after all parents or shuffled. Errors come as Shopify sends them:
syntax and validation errors in `errors` with HTTP 200, bulk problems in `userErrors`.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, Literal

from martlake.sandbox.emulators._http import Request, Response, json_response

if TYPE_CHECKING:
    from martlake.sandbox.emulators.shopify import ShopifyApp

MAX_CONNECTIONS = 5
MAX_DEPTH = 2
FAILURE_CODES = frozenset({"ACCESS_DENIED", "INTERNAL_SERVER_ERROR", "TIMEOUT"})

_SCALARS = frozenset({"ID", "String", "Int", "Boolean", "DateTime", "Decimal", "URL", "UInt64"})
# type -> field -> type; `[T]` is a list, `*Connection` a connection of `*Edge { node }`.
_TYPES: dict[str, dict[str, str]] = {
    "QueryRoot": {
        "orders": "OrderConnection",
        "node": "BulkOperation",
        "currentBulkOperation": "BulkOperation",
    },
    "Mutation": {
        "bulkOperationRunQuery": "BulkOperationRunQueryPayload",
        "bulkOperationCancel": "BulkOperationCancelPayload",
    },
    "BulkOperationRunQueryPayload": {
        "bulkOperation": "BulkOperation",
        "userErrors": "[BulkOperationUserError]",
    },
    "BulkOperationCancelPayload": {
        "bulkOperation": "BulkOperation",
        "userErrors": "[BulkOperationUserError]",
    },
    "BulkOperationUserError": {"field": "[String]", "message": "String", "code": "String"},
    "BulkOperation": {
        "id": "ID",
        "status": "String",
        "errorCode": "String",
        "createdAt": "DateTime",
        "completedAt": "DateTime",
        "objectCount": "UInt64",
        "rootObjectCount": "UInt64",
        "fileSize": "UInt64",
        "url": "URL",
        "partialDataUrl": "URL",
        "query": "String",
        "type": "String",
    },
    "Order": {
        "id": "ID",
        "legacyResourceId": "UInt64",
        "name": "String",
        "number": "Int",
        "createdAt": "DateTime",
        "updatedAt": "DateTime",
        "processedAt": "DateTime",
        "cancelledAt": "DateTime",
        "closedAt": "DateTime",
        "displayFinancialStatus": "String",
        "displayFulfillmentStatus": "String",
        "currencyCode": "String",
        "presentmentCurrencyCode": "String",
        "email": "String",
        "phone": "String",
        "test": "Boolean",
        "sourceName": "String",
        "discountCodes": "[String]",
        "customerJourneySummary": "CustomerJourneySummary",
        "customer": "Customer",
        "shippingAddress": "MailingAddress",
        "subtotalPriceSet": "MoneyBag",
        "totalDiscountsSet": "MoneyBag",
        "totalTaxSet": "MoneyBag",
        "totalPriceSet": "MoneyBag",
        "totalShippingPriceSet": "MoneyBag",
        "refunds": "[Refund]",
        "lineItems": "LineItemConnection",
    },
    "CustomerJourneySummary": {"firstVisit": "CustomerVisit", "lastVisit": "CustomerVisit"},
    "CustomerVisit": {"landingPage": "URL", "referrerUrl": "URL"},
    "Customer": {"id": "ID", "email": "String", "phone": "String"},
    "MailingAddress": {"countryCodeV2": "String", "provinceCode": "String"},
    "MoneyBag": {"shopMoney": "MoneyV2", "presentmentMoney": "MoneyV2"},
    "MoneyV2": {"amount": "Decimal", "currencyCode": "String"},
    "Refund": {
        "id": "ID",
        "legacyResourceId": "UInt64",
        "createdAt": "DateTime",
        "note": "String",
        "refundLineItems": "RefundLineItemConnection",
        "transactions": "OrderTransactionConnection",
    },
    "LineItem": {
        "id": "ID",
        "title": "String",
        "name": "String",
        "sku": "String",
        "variantTitle": "String",
        "quantity": "Int",
        "currentQuantity": "Int",
        "product": "Product",
        "variant": "ProductVariant",
        "originalUnitPriceSet": "MoneyBag",
        "discountAllocations": "[DiscountAllocation]",
    },
    "Product": {"id": "ID"},
    "ProductVariant": {"id": "ID"},
    "DiscountAllocation": {"allocatedAmountSet": "MoneyBag"},
    "RefundLineItem": {
        "id": "ID",
        "quantity": "Int",
        "lineItem": "LineItem",
        "subtotalSet": "MoneyBag",
        "totalTaxSet": "MoneyBag",
    },
    "OrderTransaction": {
        "id": "ID",
        "kind": "String",
        "status": "String",
        "gateway": "String",
        "createdAt": "DateTime",
        "processedAt": "DateTime",
        "amountSet": "MoneyBag",
    },
    "PageInfo": {"hasNextPage": "Boolean", "endCursor": "String"},
}
for _node in ("Order", "LineItem", "RefundLineItem", "OrderTransaction"):
    _TYPES[f"{_node}Connection"] = {"edges": f"[{_node}Edge]", "nodes": f"[{_node}]"}
    _TYPES[f"{_node}Edge"] = {"node": _node, "cursor": "String"}

_TOKEN = re.compile(
    r'(?P<skip>[\s,\ufeff]+|#[^\n]*)|(?P<block>"""(?:[^"\\]|\\.|"(?!""))*""")'
    r'|(?P<string>"(?:[^"\\\n]|\\.)*")|(?P<name>[_A-Za-z][_0-9A-Za-z]*)'
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<spread>\.\.\.)|(?P<punct>[{}()\[\]:!$=@])"
)
_SEARCH_TERM = re.compile(
    r"(?P<field>\w+):(?P<op>>=|<=|>|<)?(?:'(?P<q1>[^']*)'|\"(?P<q2>[^\"]*)\"|(?P<bare>\S+))"
)
_GID = re.compile(r"^gid://shopify/BulkOperation/(\d+)$")


class GraphQLError(Exception):
    """A query the API refuses before running it (HTTP 200 with `errors`)."""

    def __init__(self, message: str, code: str | None = None, line: int = 1, col: int = 1):
        super().__init__(message)
        self.message, self.code, self.line, self.col = message, code, line, col

    def as_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "locations": [{"line": self.line, "column": self.col}],
        }
        if self.code:
            error["extensions"] = {"code": self.code}
        return error


@dataclass
class Selection:
    name: str
    alias: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    children: list[Selection] | None = None
    on_type: str | None = None
    line: int = 1
    col: int = 1

    @property
    def key(self) -> str:
        return self.alias or self.name


class _Parser:
    def __init__(self, text: str, variables: dict[str, Any]) -> None:
        self.tokens: list[tuple[str, str, int, int]] = []
        self.variables = variables
        pos, line, line_start = 0, 1, 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None:
                raise GraphQLError(
                    f'Parse error on "{text[pos]}" at [{line}, {pos - line_start + 1}]',
                    line=line,
                    col=pos - line_start + 1,
                )
            kind = match.lastgroup or "skip"
            if kind != "skip":
                self.tokens.append((kind, match.group(), line, pos - line_start + 1))
            newlines = match.group().count("\n")
            if newlines:
                line += newlines
                line_start = pos + match.group().rindex("\n") + 1
            pos = match.end()
        self.i = 0

    def peek(self) -> tuple[str, str, int, int]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("eof", "", 0, 0)

    def take(self, text: str | None = None, kind: str | None = None) -> tuple[str, str, int, int]:
        token = self.peek()
        if (text is not None and token[1] != text) or (kind is not None and token[0] != kind):
            shown = "end of file" if token[0] == "eof" else f'{token[0].upper()} ("{token[1]}")'
            raise GraphQLError(
                f"syntax error, unexpected {shown} at [{token[2]}, {token[3]}]",
                line=token[2],
                col=token[3],
            )
        self.i += 1
        return token

    def document(self) -> tuple[str, list[Selection]]:
        operation = "query"
        if self.peek()[1] in ("query", "mutation"):
            operation = self.take()[1]
            if self.peek()[0] == "name":
                self.take()
            if self.peek()[1] == "(":
                depth = 0
                while True:
                    text = self.take()[1]
                    depth += text == "("
                    depth -= text == ")"
                    if depth == 0:
                        break
        selections = self.selection_set()
        if self.peek()[0] != "eof":
            self.take(kind="eof")
        return operation, selections

    def selection_set(self) -> list[Selection]:
        self.take("{")
        out: list[Selection] = []
        while self.peek()[1] != "}":
            if self.peek()[0] == "spread":
                self.take()
                self.take("on")
                on_type = self.take(kind="name")[1]
                out.append(Selection("...", children=self.selection_set(), on_type=on_type))
                continue
            kind, name, line, col = self.take(kind="name")
            alias = None
            if self.peek()[1] == ":":
                self.take()
                alias, name = name, self.take(kind="name")[1]
            args: dict[str, Any] = {}
            if self.peek()[1] == "(":
                self.take()
                while self.peek()[1] != ")":
                    arg = self.take(kind="name")[1]
                    self.take(":")
                    args[arg] = self.value()
                self.take(")")
            children = self.selection_set() if self.peek()[1] == "{" else None
            out.append(Selection(name, alias, args, children, line=line, col=col))
        self.take("}")
        if not out:
            token = self.peek()
            raise GraphQLError("syntax error, unexpected RCURLY", line=token[2], col=token[3])
        return out

    def value(self) -> Any:
        kind, text, line, col = self.peek()
        if text == "$":
            self.take()
            name = self.take(kind="name")[1]
            if name not in self.variables:
                raise GraphQLError(
                    f"Variable ${name} is used by anonymous query but not declared",
                    "variableNotDefined",
                    line,
                    col,
                )
            return self.variables[name]
        if text == "[":
            self.take()
            items = []
            while self.peek()[1] != "]":
                items.append(self.value())
            self.take("]")
            return items
        self.take()
        if kind == "block":
            return _dedent(text[3:-3])
        if kind == "string":
            return json.loads(text)
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(text, text)
        raise GraphQLError(
            f'syntax error, unexpected {kind.upper()} ("{text}") at [{line}, {col}]',
            None,
            line,
            col,
        )


def _dedent(text: str) -> str:
    lines = text.replace('\\"""', '"""').split("\n")
    indents = [len(x) - len(x.lstrip()) for x in lines[1:] if x.strip()]
    cut = min(indents) if indents else 0
    lines = [lines[0], *(x[cut:] for x in lines[1:])]
    return "\n".join(lines).strip("\n")


def _strip(type_ref: str) -> tuple[str, bool]:
    return (type_ref[1:-1], True) if type_ref.startswith("[") else (type_ref, False)


def _check(
    selections: list[Selection], type_name: str, hidden: frozenset[tuple[str, str]] = frozenset()
) -> None:
    fields = _TYPES[type_name]
    for sel in selections:
        if sel.name == "...":
            if sel.on_type not in _TYPES:
                raise GraphQLError(
                    f"No such type {sel.on_type}, so it can't be a fragment condition",
                    "undefinedType",
                )
            if sel.on_type == type_name:
                _check(sel.children or [], type_name, hidden)
            continue
        if sel.name == "__typename":
            continue
        target = None if (type_name, sel.name) in hidden else fields.get(sel.name)
        if target is None:
            raise GraphQLError(
                f"Field '{sel.name}' doesn't exist on type '{type_name}'",
                "undefinedField",
                sel.line,
                sel.col,
            )
        inner, _ = _strip(target)
        if inner in _SCALARS:
            if sel.children is not None:
                raise GraphQLError(
                    f"Selections can't be made on scalars (field '{sel.name}' returns {inner} "
                    "but has selections)",
                    "selectionMismatch",
                    sel.line,
                    sel.col,
                )
        elif sel.children is None:
            raise GraphQLError(
                f"Field must have selections (field '{sel.name}' returns {inner} but has no "
                f"selections. Did you mean '{sel.name} {{ ... }}'?)",
                "selectionMismatch",
                sel.line,
                sel.col,
            )
        else:
            _check(sel.children, inner, hidden)


def _bulk_problem(selections: list[Selection]) -> str | None:
    """Why Shopify would refuse this bulk query, or None."""
    top = [s for s in selections if s.name != "__typename"]
    if len(top) != 1:
        return "Bulk queries must contain exactly one top-level field."
    if top[0].name in ("node", "nodes", "currentBulkOperation"):
        return f"Bulk queries cannot contain the top-level `{top[0].name}` field."
    count = 0

    def walk(sels: list[Selection], type_name: str, depth: int, in_list: bool) -> str | None:
        nonlocal count
        for sel in sels:
            if sel.name == "...":
                problem = walk(sel.children or [], type_name, depth, in_list)
                if problem:
                    return problem
                continue
            target = _TYPES[type_name].get(sel.name)
            if target is None or sel.children is None:
                continue
            inner, is_list = _strip(target)
            if inner.endswith("Connection"):
                count += 1
                if in_list:
                    return (
                        "Queries that contain a connection field within a list field are not "
                        "currently supported."
                    )
                if depth + 1 > MAX_DEPTH:
                    return "Bulk queries cannot contain connections nested more than 2 levels deep."
                node_type = inner.removesuffix("Connection")
                for part in sel.children:
                    if part.name == "edges":
                        for edge in part.children or []:
                            if edge.name == "node":
                                problem = walk(edge.children or [], node_type, depth + 1, False)
                                if problem:
                                    return problem
                    elif part.name == "nodes":
                        problem = walk(part.children or [], node_type, depth + 1, False)
                        if problem:
                            return problem
            else:
                problem = walk(sel.children, inner, depth, in_list or is_list)
                if problem:
                    return problem
        return None

    problem = walk(selections, "QueryRoot", 0, False)
    if problem:
        return problem
    if count == 0:
        return "Bulk queries must contain at least one connection."
    if count > MAX_CONNECTIONS:
        return f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."
    return None


def _project(
    value: dict[str, Any], sels: list[Selection], type_name: str, lines: list[dict[str, Any]]
) -> dict[str, Any]:
    """`value` cut to the selection; nodes of nested connections go to `lines` (after it)."""
    out: dict[str, Any] = {}
    later: list[dict[str, Any]] = []
    for sel in sels:
        if sel.name == "...":
            if sel.on_type == type_name:
                out.update(_project(value, sel.children or [], type_name, later))
            continue
        if sel.name == "__typename":
            out[sel.key] = type_name
            continue
        inner, is_list = _strip(_TYPES[type_name][sel.name])
        raw = value.get(sel.name)
        if inner.endswith("Connection"):
            node_sels: list[Selection] = []
            for part in sel.children or []:
                if part.name == "nodes":
                    node_sels += part.children or []
                elif part.name == "edges":
                    for edge in part.children or []:
                        if edge.name == "node":
                            node_sels += edge.children or []
            for node in raw or []:
                child_lines: list[dict[str, Any]] = []
                row = _project(node, node_sels, inner.removesuffix("Connection"), child_lines)
                if value.get("id") is not None:
                    row["__parentId"] = value["id"]
                later.append(row)
                later.extend(child_lines)
            continue
        if sel.children is None or raw is None:
            out[sel.key] = raw
        elif is_list:
            out[sel.key] = [_project(item, sel.children, inner, later) for item in raw]
        else:
            out[sel.key] = _project(raw, sel.children, inner, later)
    lines.extend(later)
    return out


def _utc(text: str | None) -> str | None:
    if text is None:
        return None
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _gid(kind: str, value: Any) -> str:
    return f"gid://shopify/{kind}/{value}"


def _bag(money_set: dict[str, Any] | None, fallback: Any, currency: str) -> dict[str, Any]:
    if not money_set:
        shop = {"amount": str(fallback or "0.00"), "currencyCode": currency}
        return {"shopMoney": shop, "presentmentMoney": shop}
    return {
        side: {"amount": money_set[key]["amount"], "currencyCode": money_set[key]["currency_code"]}
        for side, key in (("shopMoney", "shop_money"), ("presentmentMoney", "presentment_money"))
    }


def _journey(order_id: int, landing: Any, referrer: Any) -> dict[str, Any]:
    """REST `landing_site`/`referring_site` belong to the session that placed the order, i.e.
    `lastVisit`; every other order's customer first came through an organic search earlier, so
    its `firstVisit` differs."""
    last = (
        {"landingPage": landing, "referrerUrl": referrer}
        if landing is not None or referrer is not None
        else None
    )
    first = last
    if last is not None and order_id % 2:
        first = {"landingPage": "/", "referrerUrl": "https://www.google.com/"}
    return {"firstVisit": first, "lastVisit": last}


def order_node(order: dict[str, Any]) -> dict[str, Any]:
    """A REST order as the GraphQL `Order` object (every field the emulator knows)."""
    currency = order["currency"]
    customer = order.get("customer")
    address = order.get("shipping_address")
    landing, referrer = order.get("landing_site"), order.get("referring_site")
    lines = []
    for item in order.get("line_items") or []:
        lines.append(
            {
                "id": _gid("LineItem", item["id"]),
                "title": item.get("title"),
                "name": " - ".join(x for x in (item.get("title"), item.get("variant_title")) if x),
                "sku": item.get("sku"),
                "variantTitle": item.get("variant_title"),
                "quantity": item.get("quantity"),
                "currentQuantity": item.get("quantity"),
                "product": {"id": _gid("Product", item["product_id"])},
                "variant": {"id": _gid("ProductVariant", item["variant_id"])},
                "originalUnitPriceSet": _bag(item.get("price_set"), item.get("price"), currency),
                "discountAllocations": [
                    {"allocatedAmountSet": _bag(a.get("amount_set"), a.get("amount"), currency)}
                    for a in item.get("discount_allocations") or []
                ],
            }
        )
    by_line = {line["id"]: line for line in lines}
    refunds = []
    for refund in order.get("refunds") or []:
        refunds.append(
            {
                "id": _gid("Refund", refund["id"]),
                "legacyResourceId": str(refund["id"]),
                "createdAt": _utc(refund.get("created_at")),
                "note": refund.get("note"),
                "refundLineItems": [
                    {
                        "id": _gid("RefundLineItem", rli["id"]),
                        "quantity": rli.get("quantity"),
                        "lineItem": by_line.get(_gid("LineItem", rli.get("line_item_id"))),
                        "subtotalSet": _bag(rli.get("subtotal_set"), rli.get("subtotal"), currency),
                        "totalTaxSet": _bag(
                            rli.get("total_tax_set"), rli.get("total_tax"), currency
                        ),
                    }
                    for rli in refund.get("refund_line_items") or []
                ],
                "transactions": [
                    {
                        "id": _gid("OrderTransaction", t["id"]),
                        "kind": str(t.get("kind", "")).upper(),
                        "status": str(t.get("status", "")).upper(),
                        "gateway": t.get("gateway"),
                        "createdAt": _utc(t.get("created_at")),
                        "processedAt": _utc(t.get("processed_at") or t.get("created_at")),
                        "amountSet": {
                            "shopMoney": {"amount": t.get("amount"), "currencyCode": currency},
                            "presentmentMoney": {
                                "amount": t.get("amount"),
                                "currencyCode": t.get("currency"),
                            },
                        },
                    }
                    for t in refund.get("transactions") or []
                ],
            }
        )
    return {
        "id": _gid("Order", order["id"]),
        "legacyResourceId": str(order["id"]),
        "name": order.get("name"),
        "number": order.get("order_number"),
        "createdAt": _utc(order.get("created_at")),
        "updatedAt": _utc(order.get("updated_at")),
        "processedAt": _utc(order.get("processed_at")),
        "cancelledAt": _utc(order.get("cancelled_at")),
        "closedAt": _utc(order.get("closed_at")),
        "displayFinancialStatus": (order.get("financial_status") or "").upper() or None,
        "displayFulfillmentStatus": (order.get("fulfillment_status") or "unfulfilled").upper(),
        "currencyCode": currency,
        "presentmentCurrencyCode": order.get("presentment_currency") or currency,
        "email": order.get("email"),
        "phone": order.get("phone"),
        "test": bool(order.get("test")),
        "sourceName": order.get("source_name"),
        "discountCodes": [d["code"] for d in order.get("discount_codes") or []],
        "customerJourneySummary": _journey(order["id"], landing, referrer),
        "customer": (
            {
                "id": _gid("Customer", customer["id"]),
                "email": customer.get("email"),
                "phone": customer.get("phone"),
            }
            if customer
            else None
        ),
        "shippingAddress": (
            {
                "countryCodeV2": address.get("country_code"),
                "provinceCode": address.get("province_code"),
            }
            if address
            else None
        ),
        **{
            name: _bag(order.get(f"{rest}_set"), order.get(rest), currency)
            for name, rest in (
                ("subtotalPriceSet", "subtotal_price"),
                ("totalDiscountsSet", "total_discounts"),
                ("totalTaxSet", "total_tax"),
                ("totalPriceSet", "total_price"),
                ("totalShippingPriceSet", "total_shipping_price"),
            )
        },
        "refunds": refunds,
        "lineItems": lines,
    }


@dataclass
class _Operation:
    id: int
    query: str
    created_at: str
    lines: bytes
    objects: int
    roots: int
    signature: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    grouped: bool = True
    group_objects: bool | None = None
    polls: int = 0
    cancel_polls: int = 0
    status: str = "CREATED"
    error_code: str | None = None
    completed_at: str | None = None


class BulkOperations:
    """The GraphQL endpoint of one `ShopifyApp`: bulk query operations and their results.

    Attributes:
        polls_to_finish: Polls an operation answers RUNNING before it finishes.
        polls_to_cancel: Polls a cancelled operation answers CANCELING before CANCELED.
        busy_downloads: Result downloads the storage host answers 503 SlowDown, with a
            `Retry-After` HTTP-date one second ahead, before serving the file.
        fail_with: When set (`ACCESS_DENIED`, `INTERNAL_SERVER_ERROR` or `TIMEOUT`), operations
            finish FAILED with this `errorCode` instead of COMPLETED.
        leaked_tokens: Result downloads that carried an `X-Shopify-Access-Token`; a client
            must not send the shop's token to the storage host the URL points to.
        group_objects: None to group objects as the API version and the `groupObjects`
            argument say; True or False to force it (an API that changed its default).
        ungrouped_layout: Where child lines go in an ungrouped file: `children_last` (after
            every parent) or `shuffled` (every line in a seeded random order).
    """

    RESULTS_PREFIX = "/bulk-results/"

    def __init__(self, app: ShopifyApp) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._ops: dict[int, _Operation] = {}
        self._current: _Operation | None = None
        self.polls_to_finish = 2
        self.polls_to_cancel = 1
        self.busy_downloads = 0
        self.fail_with: str | None = None
        self.leaked_tokens = 0
        self.group_objects: bool | None = None
        self.ungrouped_layout: Literal["children_last", "shuffled"] = "shuffled"

    def history(self) -> list[dict[str, Any]]:
        """Every operation started: id, status, the `groupObjects` argument, whether grouped."""
        return [
            {
                "id": _gid("BulkOperation", op.id),
                "status": op.status,
                "groupObjects": op.group_objects,
                "grouped": op.grouped,
            }
            for op in self._ops.values()
        ]

    def graphql(self, request: Request, version: str) -> Response:
        """Answer `POST /admin/api/<version>/graphql.json`."""
        try:
            payload = json.loads(request.body or b"null")
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return json_response(
                400, {"errors": {"query": "Required parameter missing or invalid"}}
            )
        variables = payload.get("variables") or {}
        try:
            operation, selections = _Parser(payload["query"], variables).document()
            root = "Mutation" if operation == "mutation" else "QueryRoot"
            _check(selections, root)
            data = {
                sel.key: self._resolve(sel, request, version)
                for sel in selections
                if sel.name != "..."
            }
        except GraphQLError as exc:
            return json_response(200, {"errors": [exc.as_json()]})
        cost = {
            "requestedQueryCost": 10,
            "actualQueryCost": 10,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": 1990,
                "restoreRate": 100.0,
            },
        }
        return json_response(200, {"data": data, "extensions": {"cost": cost}})

    def _resolve(self, sel: Selection, request: Request, version: str) -> Any:
        if sel.name == "bulkOperationRunQuery":
            query = sel.args.get("query")
            if not isinstance(query, str):
                raise GraphQLError(
                    "Field 'bulkOperationRunQuery' is missing required arguments: query",
                    "missingRequiredArguments",
                    sel.line,
                    sel.col,
                )
            group = sel.args.get("groupObjects")
            if "groupObjects" in sel.args and version != "unstable" and version < "2025-07":
                raise GraphQLError(
                    "Field 'bulkOperationRunQuery' doesn't accept argument 'groupObjects'",
                    "argumentNotAccepted",
                    sel.line,
                    sel.col,
                )
            if group is not None and not isinstance(group, bool):
                raise GraphQLError(
                    f"Argument 'groupObjects' on Field 'bulkOperationRunQuery' has an invalid "
                    f"value ({group}). Expected type 'Boolean!'.",
                    "argumentLiteralsIncompatible",
                    sel.line,
                    sel.col,
                )
            if group is None:
                group = version != "unstable" and version < "2026-01"
            if self.group_objects is not None:
                group = self.group_objects
            op, errors = self._start(query, request, group, sel.args.get("groupObjects"))
            value = {"bulkOperation": op, "userErrors": errors}
            return _project(value, sel.children or [], "BulkOperationRunQueryPayload", [])
        if sel.name == "bulkOperationCancel":
            value = self._cancel(sel.args.get("id"), request)
            return _project(value, sel.children or [], "BulkOperationCancelPayload", [])
        if sel.name == "node":
            gid = sel.args.get("id")
            match = _GID.match(str(gid))
            found = self._ops.get(int(match[1])) if match else None
            return self._op_field(found, sel, request)
        if sel.name == "currentBulkOperation":
            return self._op_field(self._current, sel, request)
        raise GraphQLError(
            f"Field '{sel.name}' doesn't exist on type 'QueryRoot'", "undefinedField"
        )

    def _op_field(self, op: _Operation | None, sel: Selection, request: Request) -> Any:
        if op is None:
            return None
        with self._lock:
            self._advance(op)
        return _project(self._op_json(op, request), sel.children or [], "BulkOperation", [])

    def _cancel(self, gid: Any, request: Request) -> dict[str, Any]:
        match = _GID.match(str(gid))
        with self._lock:
            op = self._ops.get(int(match[1])) if match else None
            if op is None:
                error = {"field": ["id"], "message": "Bulk operation does not exist"}
                return {"bulkOperation": None, "userErrors": [error]}
            if op.status not in ("CREATED", "RUNNING"):
                message = f"A bulk operation cannot be canceled when it is {op.status.lower()}"
                return {
                    "bulkOperation": self._op_json(op, request),
                    "userErrors": [{"field": None, "message": message}],
                }
            op.status = "CANCELING"
            return {"bulkOperation": self._op_json(op, request), "userErrors": []}

    def _advance(self, op: _Operation) -> None:
        if op.status in ("COMPLETED", "FAILED", "CANCELED"):
            return
        if op.status == "CANCELING":
            op.cancel_polls += 1
            if op.cancel_polls >= self.polls_to_cancel:
                op.status, op.completed_at = "CANCELED", _now()
            return
        op.polls += 1
        if op.polls < self.polls_to_finish:
            op.status = "RUNNING"
            return
        op.completed_at = _now()
        if self.fail_with:
            op.status, op.error_code = "FAILED", self.fail_with
        else:
            op.status = "COMPLETED"

    def _op_json(self, op: _Operation, request: Request) -> dict[str, Any]:
        done = op.status == "COMPLETED"
        url = None
        if done and op.objects:
            url = f"{request.base_url}{self.RESULTS_PREFIX}{op.id}.jsonl?sig={op.signature}"
        return {
            "id": _gid("BulkOperation", op.id),
            "status": op.status,
            "errorCode": op.error_code,
            "createdAt": op.created_at,
            "completedAt": op.completed_at,
            "objectCount": str(op.objects if done else 0),
            "rootObjectCount": str(op.roots if done else 0),
            "fileSize": str(len(op.lines)) if url else None,
            "url": url,
            "partialDataUrl": None,
            "query": op.query,
            "type": "QUERY",
        }

    def _start(
        self, query: str, request: Request, grouped: bool, group_arg: Any
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        def refuse(message: str) -> tuple[None, list[dict[str, Any]]]:
            return None, [{"field": ["query"], "message": message, "code": "INVALID"}]

        with self._lock:
            current = self._current
            if current is not None and current.status in ("CREATED", "RUNNING", "CANCELING"):
                return None, [
                    {
                        "field": None,
                        "message": "A bulk query operation for this app and shop is already in "
                        f"progress: {_gid('BulkOperation', current.id)}.",
                        "code": "OPERATION_IN_PROGRESS",
                    }
                ]
        try:
            operation, selections = _Parser(query, {}).document()
            if operation != "query":
                return refuse("Bulk queries must be queries, not mutations.")
            # Under `renamed_field` drift the API no longer knows `LineItem.quantity`.
            hidden = (
                frozenset({("LineItem", "quantity")})
                if "renamed_field" in self._app.drift
                else frozenset()
            )
            _check(selections, "QueryRoot", hidden)
        except GraphQLError as exc:
            return refuse(f"Invalid bulk query: {exc.message}")
        problem = _bulk_problem(selections)
        if problem:
            return refuse(problem)
        top = next(s for s in selections if s.name != "__typename")
        lines, roots = self._run(top)
        if not grouped:
            lines = self._ungroup(lines, len(self._ops) + 1)
        body = b"".join(json.dumps(x, separators=(",", ":")).encode() + b"\n" for x in lines)
        with self._lock:
            op = _Operation(len(self._ops) + 1, query, _now(), body, len(lines), roots)
            op.grouped, op.group_objects = grouped, group_arg
            self._ops[op.id] = op
            self._current = op
        return self._op_json(op, request), []

    def _ungroup(self, lines: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
        if self.ungrouped_layout == "children_last":
            parents = [x for x in lines if "__parentId" not in x]
            return parents + [x for x in lines if "__parentId" in x]
        shuffled = list(lines)
        random.Random(seed).shuffle(shuffled)
        return shuffled

    def _run(self, top: Selection) -> tuple[list[dict[str, Any]], int]:
        app = self._app
        search = str(top.args.get("query") or "")
        indexes = list(range(len(app._ids)))
        for term in _SEARCH_TERM.finditer(search):
            column = {"updated_at": app._updated, "created_at": app._created}.get(term["field"])
            if column is None:
                continue  # Shopify ignores search terms it does not know.
            text = term["q1"] or term["q2"] or term["bare"] or ""
            try:
                bound = app._parse_time(term["field"], text)
            except Exception:
                continue
            op = term["op"] or ":"
            indexes = [
                i
                for i in indexes
                if (
                    (op == ">=" and column[i] >= bound)
                    or (op == ">" and column[i] > bound)
                    or (op == "<=" and column[i] <= bound)
                    or (op == "<" and column[i] < bound)
                    or (op == ":" and column[i] == bound)
                )
            ]
        if top.args.get("reverse") is True:
            indexes.reverse()
        lines: list[dict[str, Any]] = []
        orders = [order_node(json.loads(app.business.order_json(i))) for i in indexes]
        _project({"id": None, top.name: orders}, [top], "QueryRoot", lines)
        return lines, len(indexes)

    def download(self, request: Request) -> Response:
        """Serve a finished operation's JSONL at its signed URL."""
        if request.headers.get("X-Shopify-Access-Token"):
            self.leaked_tokens += 1
        name = request.path[len(self.RESULTS_PREFIX) :].removesuffix(".jsonl")
        op = self._ops.get(int(name)) if name.isdigit() else None
        if self.busy_downloads > 0:
            self.busy_downloads -= 1
            # Storage hosts may announce the wait as an HTTP-date (RFC 9110 §10.2.3).
            when = format_datetime(datetime.now(UTC) + timedelta(seconds=1), usegmt=True)
            return Response(
                503,
                b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code>"
                b"<Message>Please reduce your request rate.</Message></Error>",
                [("Retry-After", when)],
            )
        if op is None or request.query.get("sig") != op.signature or op.status != "COMPLETED":
            return Response(
                403,
                b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code>"
                b"<Message>Access denied.</Message></Error>",
            )
        return Response(200, op.lines, [("X-Content-Type-Options", "nosniff")])


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
