"""The emulator apps called directly, without sockets."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from martlake.sandbox import SANDBOX_META_TOKEN, SANDBOX_SHOPIFY_TOKEN, Business
from martlake.sandbox._catalog import PRODUCTS as CATALOG
from martlake.sandbox.emulators import MetaAdsApp, ShopifyApp
from martlake.sandbox.emulators._http import Headers, Request, Response

ORDERS = "/admin/api/2024-10/orders.json"
INSIGHTS = "/v21.0/act_1234567890/insights"
PRODUCTS_BY_ID = {p.id: p for p in CATALOG}


def shopify_get(
    app: ShopifyApp, path: str, token: str = SANDBOX_SHOPIFY_TOKEN, **query: Any
) -> Response:
    headers = Headers([("X-Shopify-Access-Token", token)])
    params = {k: str(v) for k, v in query.items()}
    return app.handle(Request("GET", path, params, headers, "http://sandbox/shopify"))


def meta_get(app: MetaAdsApp, path: str = INSIGHTS, **query: Any) -> Response:
    params = {k: str(v) for k, v in query.items()}
    params.setdefault("access_token", SANDBOX_META_TOKEN)
    return app.handle(Request("GET", path, params, Headers(), "http://sandbox/meta"))


def body(response: Response) -> Any:
    return json.loads(response.body)


def next_query(response: Response) -> dict[str, str] | None:
    link = dict(response.headers).get("Link", "")
    match = re.search(r'<([^>]+)>; rel="next"', link)
    return dict(parse_qsl(urlsplit(match[1]).query)) if match else None


@pytest.fixture(scope="module")
def shopify(small_business: Business) -> ShopifyApp:
    return ShopifyApp(small_business)


@pytest.fixture(scope="module")
def meta(small_business: Business) -> MetaAdsApp:
    return MetaAdsApp(small_business)


def test_default_status_is_open_and_any_includes_closed(
    shopify: ShopifyApp, small_business: Business
) -> None:
    open_count = body(shopify_get(shopify, "/admin/api/2024-10/orders/count.json"))["count"]
    any_count = body(shopify_get(shopify, "/admin/api/2024-10/orders/count.json", status="any"))[
        "count"
    ]
    closed = body(shopify_get(shopify, "/admin/api/2024-10/orders/count.json", status="closed"))
    assert any_count == len(small_business.orders) == open_count + closed["count"]
    assert 0 < open_count < any_count
    page = body(shopify_get(shopify, ORDERS, limit=250))["orders"]
    assert page and all(o["closed_at"] is None for o in page)


def test_prev_link_walks_back_to_the_same_pages(shopify: ShopifyApp) -> None:
    first = shopify_get(shopify, ORDERS, status="any", limit=7)
    query = next_query(first)
    assert query is not None and set(query) == {"limit", "page_info"}
    second = shopify_get(shopify, ORDERS, **query)
    link = dict(second.headers)["Link"]
    assert link.index('rel="previous"') < link.index('rel="next"')
    prev = re.search(r'<([^>]+)>; rel="previous"', link)
    assert prev is not None
    back = shopify_get(shopify, ORDERS, **dict(parse_qsl(urlsplit(prev[1]).query)))
    assert body(back) == body(first)


def test_fields_keeps_only_the_requested_keys(shopify: ShopifyApp) -> None:
    response = shopify_get(shopify, ORDERS, status="any", limit=3, fields="id,updated_at,refunds")
    orders = body(response)["orders"]
    assert [set(o) for o in orders] == [{"id", "updated_at", "refunds"}] * 3
    query = next_query(response)
    assert query is not None and query["fields"] == "id,updated_at,refunds"


@pytest.mark.parametrize(
    ("query", "error_key"),
    [
        ({"limit": "251"}, "limit"),
        ({"limit": "zero"}, "limit"),
        ({"status": "weird"}, "status"),
        ({"updated_at_min": "yesterday"}, "updated_at_min"),
        ({"page_info": "not-a-cursor"}, "page_info"),
        ({"page_info": "eyJ4IjoxfQ", "status": "any"}, "status"),
    ],
    ids=["limit-too-big", "limit-not-int", "bad-status", "bad-date", "bad-cursor", "extra-param"],
)
def test_bad_order_queries_are_400(
    shopify: ShopifyApp, query: dict[str, str], error_key: str
) -> None:
    response = shopify_get(shopify, ORDERS, **query)
    assert response.status == 400
    assert error_key in body(response)["errors"]


def test_single_order_shop_and_unknown_paths(shopify: ShopifyApp, small_business: Business) -> None:
    first = small_business.orders[0]
    one = shopify_get(shopify, f"/admin/api/2024-10/orders/{first['id']}.json")
    assert body(one) == {"order": first}
    assert shopify_get(shopify, "/admin/api/2024-10/orders/1.json").status == 404
    assert shopify_get(shopify, "/admin/api/2024-10/customers.json").status == 404
    assert shopify_get(shopify, "/nope").status == 404
    shop = body(shopify_get(shopify, "/admin/api/2024-10/shop.json"))["shop"]
    assert shop["myshopify_domain"] == small_business.config.shop_domain
    assert shop["iana_timezone"] == "America/New_York" and shop["currency"] == "USD"
    denied = shopify_get(shopify, "/admin/api/2024-10/shop.json", token="shpat_wrong")
    assert denied.status == 401 and "Invalid API key" in body(denied)["errors"]


def test_since_id_created_and_updated_filters(
    shopify: ShopifyApp, small_business: Business
) -> None:
    orders = small_business.orders
    pivot = orders[len(orders) // 2]
    since = body(shopify_get(shopify, ORDERS, status="any", limit=250, since_id=pivot["id"]))
    assert since["orders"][0]["id"] == orders[len(orders) // 2 + 1]["id"]
    window = {
        "created_at_min": "2025-03-01T00:00:00-05:00",
        "created_at_max": "2025-03-01T23:59:59",
    }
    count = body(
        shopify_get(shopify, "/admin/api/2024-10/orders/count.json", status="any", **window)
    )["count"]
    assert count == small_business.truth.orders_per_day()[date(2025, 3, 1)]
    bound = "2025-04-05T12:00:00-04:00"
    updated = body(
        shopify_get(
            shopify, "/admin/api/2024-10/orders/count.json", status="any", updated_at_min=bound
        )
    )["count"]
    expected = [
        o
        for o in orders
        if datetime.fromisoformat(o["updated_at"]) >= datetime.fromisoformat(bound)
    ]
    assert updated == len(expected) > 0


PRODUCTS = "/admin/api/2024-10/products.json"
INVENTORY = "/admin/api/2024-10/inventory_items.json"


def test_products_are_paged_by_page_info_with_every_variant(shopify: ShopifyApp) -> None:
    response = shopify_get(shopify, PRODUCTS, limit=10, fields="id,title,variants")
    pages = [body(response)["products"]]
    query = next_query(response)
    assert query is not None and set(query) == {"limit", "fields", "page_info"}
    while query is not None:
        response = shopify_get(shopify, PRODUCTS, **query)
        assert 'rel="previous"' in dict(response.headers)["Link"]
        pages.append(body(response)["products"])
        query = next_query(response)
    assert [len(p) for p in pages] == [10, 10, len(PRODUCTS_BY_ID) - 20]
    seen = [p for page in pages for p in page]
    assert [p["id"] for p in seen] == sorted(PRODUCTS_BY_ID)
    assert all(set(p) == {"id", "title", "variants"} for p in seen)
    for product in seen:
        expected = PRODUCTS_BY_ID[product["id"]]
        assert product["title"] == expected.title
        assert [
            (v["id"], v["product_id"], v["sku"], Decimal(v["price"]), v["inventory_item_id"])
            for v in product["variants"]
        ] == [
            (v.id, expected.id, v.sku, Decimal(v.price) / 100, v.inventory_item_id)
            for v in expected.variants
        ]
    full = body(shopify_get(shopify, PRODUCTS))["products"][0]
    assert full["status"] == "active" and full["handle"] == "everyday-tee"
    assert full["created_at"] < full["updated_at"]
    too_many = shopify_get(shopify, PRODUCTS, limit=251)
    assert too_many.status == 400 and "limit" in body(too_many)["errors"]
    token = next_query(shopify_get(shopify, PRODUCTS, limit=5))
    assert token is not None
    extra = shopify_get(shopify, PRODUCTS, page_info=token["page_info"], title="Tee")
    assert extra.status == 400 and "title" in body(extra)["errors"]


def test_inventory_items_carry_the_unit_cost_and_skip_unknown_ids(shopify: ShopifyApp) -> None:
    variants = [v for p in PRODUCTS_BY_ID.values() for v in p.variants]
    ids = [v.inventory_item_id for v in variants[:3]] + [1, variants[0].id]
    items = body(shopify_get(shopify, INVENTORY, ids=",".join(map(str, ids))))
    assert [i["id"] for i in items["inventory_items"]] == ids[:3]
    for item, variant in zip(items["inventory_items"], variants, strict=False):
        assert variant.unit_cost is not None
        assert Decimal(item["cost"]) == Decimal(variant.unit_cost) / 100
        assert 0.28 <= variant.unit_cost / variant.price <= 0.46
        assert item["sku"] == variant.sku and item["tracked"] is True
        assert item["country_code_of_origin"] is None and item["updated_at"]


def test_inventory_items_page_past_the_limit(shopify: ShopifyApp) -> None:
    ids = [v.inventory_item_id for p in PRODUCTS_BY_ID.values() for v in p.variants]
    assert len(ids) > 50
    first = shopify_get(shopify, INVENTORY, ids=",".join(map(str, ids)))
    query = next_query(first)
    assert len(body(first)["inventory_items"]) == 50 and query is not None
    rest = body(shopify_get(shopify, INVENTORY, **query))["inventory_items"]
    assert [i["id"] for i in body(first)["inventory_items"] + rest] == sorted(ids)
    every = shopify_get(shopify, INVENTORY, ids=",".join(map(str, ids)), limit=250)
    assert next_query(every) is None and len(body(every)["inventory_items"]) == len(ids)


@pytest.mark.parametrize(
    "query",
    [{}, {"ids": ""}, {"ids": ",".join(str(i) for i in range(1, 102))}, {"ids": "1,two"}],
    ids=["no-ids", "empty-ids", "101-ids", "not-int"],
)
def test_bad_inventory_item_ids_are_422_like_shopify(
    shopify: ShopifyApp, query: dict[str, str]
) -> None:
    response = shopify_get(shopify, INVENTORY, **query)
    assert response.status == 422
    errors = body(response)["errors"]
    assert list(errors) == ["ids"] and isinstance(errors["ids"], list) and errors["ids"][0]


def test_meta_levels_aggregate_the_ad_rows(meta: MetaAdsApp, small_business: Business) -> None:
    since_until = json.dumps({"since": "2025-03-01", "until": "2025-03-31"})
    ad_rows = [r for r in small_business.meta_insights if r["date_start"].startswith("2025-03")]
    total = sum(Decimal(r["spend"]) for r in ad_rows)
    account = body(meta_get(meta, time_range=since_until, level="account", fields="spend"))
    assert account["data"] == [
        {"spend": str(total), "date_start": "2025-03-01", "date_stop": "2025-03-31"}
    ]
    campaigns = body(
        meta_get(meta, time_range=since_until, level="campaign", fields="campaign_id,spend,ad_id")
    )["data"]
    assert sum(Decimal(r["spend"]) for r in campaigns) == total
    assert all("ad_id" not in r for r in campaigns)
    daily = body(
        meta_get(meta, time_range=since_until, level="adset", time_increment=1, limit=500,
                 fields="adset_id,impressions,cpm,ctr")
    )["data"]  # fmt: skip
    assert sum(int(r["impressions"]) for r in daily) == sum(int(r["impressions"]) for r in ad_rows)
    assert all(float(r["cpm"]) > 0 for r in daily if int(r["impressions"]))


def test_meta_date_presets_are_relative_to_as_of(meta: MetaAdsApp) -> None:
    rows = body(meta_get(meta, level="ad", time_increment=1, date_preset="yesterday", limit=500))
    assert {r["date_start"] for r in rows["data"]} == {"2025-04-10"}
    last7 = body(meta_get(meta, level="account", time_increment=1, date_preset="last_7d"))
    assert [r["date_start"] for r in last7["data"]] == [f"2025-04-{d:02d}" for d in range(4, 11)]


@pytest.mark.parametrize(
    ("path", "query", "code"),
    [
        (INSIGHTS, {"access_token": "wrong"}, 190),
        (INSIGHTS, {"access_token": ""}, 104),
        ("/v21.0/act_999/insights", {}, 100),
        (INSIGHTS, {"fields": "spend,reach_estimate"}, 100),
        (INSIGHTS, {"level": "creative"}, 100),
        (INSIGHTS, {"time_range": '{"since":"2025-03-02","until":"2025-03-01"}'}, 100),
        (INSIGHTS, {"after": "%%%"}, 100),
        (INSIGHTS, {"breakdowns": "age"}, 100),
        ("/v21.0/act_1234567890", {"fields": "name,owner_secret"}, 100),
    ],
    ids=[
        "bad-token", "no-token", "unknown-account", "unknown-field", "bad-level",
        "reversed-range", "bad-cursor", "breakdowns", "unknown-account-field",
    ],
)  # fmt: skip
def test_meta_errors_are_graph_errors(
    meta: MetaAdsApp, path: str, query: dict[str, str], code: int
) -> None:
    response = meta_get(meta, path, **query)
    assert response.status == 400
    error = body(response)["error"]
    assert error["code"] == code and error["fbtrace_id"] and error["message"]


def test_meta_account_and_unknown_path(meta: MetaAdsApp) -> None:
    account = body(meta_get(meta, "/v21.0/act_1234567890", fields="name,currency,timezone_name"))
    assert account == {
        "id": "act_1234567890",
        "name": "Northtrail Supply - Meta",
        "currency": "USD",
        "timezone_name": "America/New_York",
    }
    assert meta_get(meta, "/v21.0/me/adaccounts").status == 404
