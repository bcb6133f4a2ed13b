"""The sandbox emulators over real loopback HTTP, read the way a client reads the vendors."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import httpx
import pytest

from martlake.sandbox import (
    SANDBOX_META_TOKEN,
    SANDBOX_SHOPIFY_TOKEN,
    Business,
    EmulatorServer,
    SimulatorConfig,
)

CONFIG = SimulatorConfig(start_date=date(2025, 1, 1), end_date=date(2025, 2, 14), orders_per_day=50)
ORDERS = "/admin/api/2024-10/orders.json"
INSIGHTS = "/v21.0/act_1234567890/insights"
SHOPIFY_HEADERS = {"X-Shopify-Access-Token": SANDBOX_SHOPIFY_TOKEN}


@pytest.fixture(scope="module")
def business() -> Business:
    return Business(CONFIG)


@pytest.fixture(scope="module")
def server(business: Business) -> Iterator[EmulatorServer]:
    with EmulatorServer(business) as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as http:
        yield http


def next_url(response: httpx.Response) -> str | None:
    match = re.search(r'<([^>]+)>; rel="next"', response.headers.get("link", ""))
    return match[1] if match else None


def all_orders(
    client: httpx.Client, server: EmulatorServer, **params: Any
) -> tuple[list[dict[str, Any]], int]:
    response = client.get(
        f"{server.shopify_base_url}{ORDERS}", params=params, headers=SHOPIFY_HEADERS
    )
    pages = 1
    orders: list[dict[str, Any]] = []
    while True:
        response.raise_for_status()
        orders.extend(response.json()["orders"])
        url = next_url(response)
        if url is None:
            return orders, pages
        response = client.get(url, headers=SHOPIFY_HEADERS)
        pages += 1


def all_insights(
    client: httpx.Client, server: EmulatorServer, **params: Any
) -> tuple[list[dict[str, Any]], int]:
    params.setdefault("access_token", SANDBOX_META_TOKEN)
    response = client.get(f"{server.meta_base_url}{INSIGHTS}", params=params)
    pages = 1
    rows: list[dict[str, Any]] = []
    while True:
        response.raise_for_status()
        payload = response.json()
        rows.extend(payload["data"])
        url = payload.get("paging", {}).get("next")
        if url is None:
            return rows, pages
        response = client.get(url)
        pages += 1


def time_range(since: str, until: str) -> str:
    return json.dumps({"since": since, "until": until})


def test_shopify_link_pagination_returns_every_order_once(
    client: httpx.Client, server: EmulatorServer, business: Business
) -> None:
    orders, pages = all_orders(client, server, status="any", limit=250)
    assert [o["id"] for o in orders] == [o["id"] for o in business.orders]
    assert orders == business.orders
    assert pages == -(-len(business.orders) // 250)


def test_shopify_first_page_headers(client: httpx.Client, server: EmulatorServer) -> None:
    response = client.get(
        f"{server.shopify_base_url}{ORDERS}", params={"status": "any"}, headers=SHOPIFY_HEADERS
    )
    assert response.status_code == 200
    assert len(response.json()["orders"]) == 50
    assert response.headers["X-Shopify-Shop-Api-Call-Limit"] == "1/40"
    assert 'rel="previous"' not in response.headers["link"]
    assert str(next_url(response)).startswith(
        f"{server.shopify_base_url}{ORDERS}?limit=50&page_info="
    )


def test_shopify_limit_over_250_is_400(client: httpx.Client, server: EmulatorServer) -> None:
    response = client.get(
        f"{server.shopify_base_url}{ORDERS}", params={"limit": 251}, headers=SHOPIFY_HEADERS
    )
    assert response.status_code == 400
    assert "limit" in response.json()["errors"]


def test_shopify_page_info_with_a_filter_is_400(
    client: httpx.Client, server: EmulatorServer
) -> None:
    first = client.get(
        f"{server.shopify_base_url}{ORDERS}", params={"status": "any"}, headers=SHOPIFY_HEADERS
    )
    url = next_url(first)
    assert url is not None
    response = client.get(f"{url}&status=any", headers=SHOPIFY_HEADERS)
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "status": "status cannot be passed when page_info is present."
    }


def test_shopify_updated_at_min_filters_inclusively(
    client: httpx.Client, server: EmulatorServer, business: Business
) -> None:
    bound = business.orders[-300]["updated_at"]
    orders, _ = all_orders(client, server, status="any", limit=100, updated_at_min=bound)
    expected = [
        o["id"]
        for o in business.orders
        if datetime.fromisoformat(o["updated_at"]) >= datetime.fromisoformat(bound)
    ]
    assert [o["id"] for o in orders] == expected
    assert business.orders[-300]["id"] in expected
    refunded_late = [o for o in orders if o["refunds"] and o["created_at"] < bound]
    assert refunded_late, "refunds move old orders past the watermark"


def test_shopify_bad_token_is_401(client: httpx.Client, server: EmulatorServer) -> None:
    for headers in ({"X-Shopify-Access-Token": "shpat_wrong"}, {}):
        response = client.get(f"{server.shopify_base_url}{ORDERS}", headers=headers)
        assert response.status_code == 401
        assert response.json() == {
            "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
        }


def test_meta_paging_next_walks_all_rows(
    client: httpx.Client, server: EmulatorServer, business: Business
) -> None:
    rows, pages = all_insights(
        client,
        server,
        level="ad",
        time_increment=1,
        time_range=time_range("2025-01-01", "2025-02-14"),
        fields=",".join(
            k for k in business.meta_insights[0] if k not in ("date_start", "date_stop")
        ),
        limit=100,
    )
    assert rows == business.meta_insights
    assert pages == -(-len(rows) // 100)


def test_meta_default_limit_and_cursors(client: httpx.Client, server: EmulatorServer) -> None:
    response = client.get(
        f"{server.meta_base_url}{INSIGHTS}",
        params={"access_token": SANDBOX_META_TOKEN, "level": "ad", "time_increment": 1},
    )
    payload = response.json()
    assert len(payload["data"]) == 25
    assert set(payload["paging"]["cursors"]) == {"before", "after"}
    assert "after=" in payload["paging"]["next"]


def test_meta_fields_filtering(client: httpx.Client, server: EmulatorServer) -> None:
    rows, _ = all_insights(
        client,
        server,
        level="ad",
        time_increment=1,
        time_range=time_range("2025-01-10", "2025-01-10"),
        fields="ad_id,spend",
    )
    assert rows and all(set(r) == {"ad_id", "spend", "date_start", "date_stop"} for r in rows)


def test_meta_time_range_is_respected(
    client: httpx.Client, server: EmulatorServer, business: Business
) -> None:
    rows, _ = all_insights(
        client,
        server,
        level="ad",
        time_increment=1,
        time_range=time_range("2025-01-30", "2025-02-02"),
        fields="spend",
        limit=500,
    )
    days = {r["date_start"] for r in rows}
    assert days == {"2025-01-30", "2025-01-31", "2025-02-01", "2025-02-02"}
    expected = [
        r for r in business.meta_insights if "2025-01-30" <= r["date_start"] <= "2025-02-02"
    ]
    assert len(rows) == len(expected)
    beyond, _ = all_insights(
        client,
        server,
        level="ad",
        time_increment=1,
        time_range=time_range("2025-03-01", "2025-03-31"),
    )
    assert beyond == []


def test_meta_bad_token_is_code_190(client: httpx.Client, server: EmulatorServer) -> None:
    response = client.get(f"{server.meta_base_url}{INSIGHTS}", params={"access_token": "nope"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["type"]) == (190, "OAuthException")
    bearer = client.get(
        f"{server.meta_base_url}{INSIGHTS}",
        params={"level": "ad"},
        headers={"Authorization": f"Bearer {SANDBOX_META_TOKEN}"},
    )
    assert bearer.status_code == 200


def test_meta_account_endpoint(client: httpx.Client, server: EmulatorServer) -> None:
    response = client.get(
        f"{server.meta_base_url}/v21.0/act_1234567890",
        params={"access_token": SANDBOX_META_TOKEN, "fields": "name,currency,timezone_name"},
    )
    assert response.json()["timezone_name"] == "America/New_York"
    assert response.json()["id"] == "act_1234567890"


def test_unknown_paths_are_404_json(client: httpx.Client, server: EmulatorServer) -> None:
    for path in ("/", "/graphql", "/shopify/admin/oauth", "/meta/v21.0/me"):
        response = client.get(f"{server.base_url}{path}")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/json")
        response.json()


def test_request_log_records_method_path_and_query(
    client: httpx.Client, business: Business
) -> None:
    with EmulatorServer(business) as fresh:
        client.get(
            f"{fresh.shopify_base_url}{ORDERS}",
            params={"status": "any", "limit": 5},
            headers=SHOPIFY_HEADERS,
        )
        assert fresh.request_log == [("GET", f"/shopify{ORDERS}", {"status": "any", "limit": "5"})]


def test_injected_faults_look_like_the_vendors(client: httpx.Client, business: Business) -> None:
    with EmulatorServer(business) as fresh:
        fresh.inject_fault("shopify", times=2, retry_after=2)
        fresh.inject_fault("meta", "rate_limit")
        fresh.inject_fault("meta", "server_error", path_contains="/insights")
        url = f"{fresh.shopify_base_url}{ORDERS}"
        statuses = [client.get(url, headers=SHOPIFY_HEADERS) for _ in range(3)]
        assert [r.status_code for r in statuses] == [429, 429, 200]
        assert statuses[0].headers["Retry-After"] == "2.0"
        meta_url = f"{fresh.meta_base_url}{INSIGHTS}"
        params = {"access_token": SANDBOX_META_TOKEN}
        throttled = client.get(meta_url, params=params)
        assert throttled.status_code == 400 and throttled.json()["error"]["code"] == 80004
        assert "x-business-use-case-usage" in throttled.headers
        broken = client.get(meta_url, params=params)
        assert broken.status_code == 500 and broken.json()["error"]["is_transient"] is True
        assert client.get(meta_url, params=params).status_code == 200


def test_stop_releases_the_port(business: Business) -> None:
    server = EmulatorServer(business).start()
    base = server.base_url
    server.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/shopify{ORDERS}", timeout=2)


@pytest.mark.slow
def test_full_year_generates_and_serves_in_reasonable_time() -> None:
    started = time.perf_counter()
    business = Business(
        SimulatorConfig(
            start_date=date(2024, 1, 1), end_date=date(2024, 12, 31), orders_per_day=300
        )
    )
    with EmulatorServer(business) as server, httpx.Client(timeout=60) as client:
        generated = time.perf_counter()
        url: str | None = f"{server.shopify_base_url}{ORDERS}?status=any&limit=250"
        pages = orders = size = 0
        while url is not None:
            response = client.get(url, headers=SHOPIFY_HEADERS)
            size += len(response.content)
            orders += response.content.count(b'"admin_graphql_api_id":"gid://shopify/Order/')
            pages += 1
            url = next_url(response)
        fetched = time.perf_counter()
        rows, meta_pages = all_insights(
            client, server, level="ad", time_increment=1, date_preset="maximum", limit=500,
            fields="spend,impressions,clicks,actions,ad_id,campaign_id",
        )  # fmt: skip
        done = time.perf_counter()
    counts = business.truth.row_counts()
    assert orders == counts["orders"] and len(rows) == counts["insights"]
    print(
        f"\nfull year: {counts['orders']:,} orders / {counts['order_lines']:,} lines / "
        f"{counts['insights']:,} insight rows; generate {generated - started:.1f}s; "
        f"{pages} Shopify pages ({size / 1e6:.0f} MB, not parsed) {fetched - generated:.1f}s; "
        f"{meta_pages} Meta pages {done - fetched:.1f}s"
    )
