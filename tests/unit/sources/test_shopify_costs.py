"""Shopify variant costs when the app was installed without `read_products` or
`read_inventory`: the orders still load, the costs are skipped with a warning naming both
scopes, and any other error still stops the extraction."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from martlake.config import ShopifySettings
from martlake.errors import MartlakeError
from martlake.sources import ExtractContext, ShopifySource
from tests.unit.sources.conftest import Call, Reply, RoutedServer

ORDER = {
    "id": 1,
    "name": "#1",
    "order_number": 1,
    "created_at": "2025-03-01T10:00:00Z",
    "updated_at": "2025-03-01T10:00:00Z",
    "currency": "USD",
    "total_price": "10.00",
    "subtotal_price": "10.00",
    "total_discounts": "0.00",
    "total_tax": "0.00",
    "line_items": [],
    "refunds": [],
}


def shop(forbidden: str, status: int = 403) -> RoutedServer:
    def route(call: Call) -> Reply:
        if call.path.endswith(forbidden):
            return status, {"errors": "[API] This action requires merchant approval"}
        if call.path.endswith("shop.json"):
            return 200, {"shop": {"iana_timezone": "UTC", "currency": "USD"}}
        if call.path.endswith("orders.json"):
            return 200, {"orders": [ORDER]}
        if call.path.endswith("events.json"):
            return 200, {"events": []}
        if call.path.endswith("products.json"):
            variants = [{"id": 11, "product_id": 10, "sku": "A", "inventory_item_id": 21}]
            return 200, {"products": [{"id": 10, "title": "Mug", "variants": variants}]}
        return 404, {"errors": "Not Found"}

    server = RoutedServer()
    server.route = route
    return server


def tables(server: RoutedServer) -> set[str]:
    settings = ShopifySettings(
        shop="s.myshopify.com",
        access_token=SecretStr("shpat_test"),
        base_url=server.url,
        bulk="never",
    )
    source = ShopifySource(settings, backoff=0.01, max_attempts=1)
    try:
        return {batch.table for batch in source.extract(ExtractContext(run_id="r"))}
    finally:
        source.close()


@pytest.mark.parametrize("forbidden", ["products.json", "inventory_items.json"])
def test_a_missing_cost_scope_skips_the_costs_and_keeps_the_orders(
    forbidden: str, caplog: pytest.LogCaptureFixture
) -> None:
    with shop(forbidden) as server, caplog.at_level(logging.WARNING):
        loaded = tables(server)
    assert "orders" in loaded and "variant_costs" not in loaded
    assert server.calls_to(forbidden)
    assert "`read_products` or `read_inventory` (403)" in caplog.text


def test_another_error_on_the_costs_still_stops_the_extraction() -> None:
    with shop("products.json", status=401) as server, pytest.raises(MartlakeError):
        tables(server)
