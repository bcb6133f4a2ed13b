"""Shopify connector contract: `ShopifySource` against the Shopify emulator over loopback HTTP.

REST paging and its parameters, GraphQL bulk backfills (row for row equal to REST, failures,
timeouts), refunds and refund transactions, restatement inside the lookback, deleted orders (in
raw and downstream through dbt), shop vs presentment currency, variant unit costs, throttling
and 5xx bursts, and schema drift; every extraction is compared with what the simulated business
serves.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import httpx
import pyarrow as pa
import pytest
from pydantic import SecretStr

from martlake.config import ShopifySettings
from martlake.errors import AuthError, SourceContractError, SourceError
from martlake.privacy import hash_email
from martlake.sandbox import SANDBOX_SHOPIFY_TOKEN, Business, EmulatorServer, SimulatorConfig
from martlake.sandbox._catalog import PRODUCTS, Product
from martlake.sources import ExtractContext, ShopifySource
from martlake.sources._http import retry_after_seconds
from martlake.sources.shopify._bulk import _index as bulk_index
from martlake.sources.shopify._bulk import _read_indexed as bulk_read_indexed
from martlake.sources.shopify.source import _map_error as shopify_map_error
from martlake.transform import run_dbt
from tests.contract.support import collect

CONFIG = SimulatorConfig(
    seed=3,
    start_date=date(2025, 3, 1),
    end_date=date(2025, 4, 15),
    orders_per_day=30,
    presentment_currencies={"CAD": Decimal("1.3712"), "EUR": Decimal("0.9213")},
    presentment_share=0.25,
)
SHOP = CONFIG.shop_domain
ZONE = ZoneInfo(CONFIG.timezone)
API = "/shopify/admin/api/2024-10"
LINEAGE = ["_extract_run_id", "_ingested_at"]
STAGED = ("orders", "order_lines", "refund_lines", "refund_transactions")
KEYS = {
    "orders": "id",
    "order_lines": "id",
    "refund_lines": "id",
    "refund_transactions": "id",
    "deleted_orders": "event_id",
    "variant_costs": "variant_id",
}


@pytest.fixture(scope="module")
def business() -> Business:
    return Business(CONFIG)


def small_business(**changes: Any) -> Business:
    """A fresh business to change (deletions), small enough to generate per test."""
    config = replace(CONFIG, end_date=date(2025, 3, 20), orders_per_day=15)
    return Business(replace(config, **changes))


def shopify(server: EmulatorServer, max_attempts: int = 3, **kw: Any) -> ShopifySource:
    kw.setdefault("bulk_poll_seconds", 0.01)
    settings = ShopifySettings(
        shop=SHOP,
        access_token=SecretStr(kw.pop("token", SANDBOX_SHOPIFY_TOKEN)),
        base_url=server.shopify_base_url,
        **kw,
    )
    return ShopifySource(settings, backoff=0.0, max_attempts=max_attempts)


def extract(source: ShopifySource, **ctx: Any) -> dict[str, pa.Table]:
    return collect(source, **ctx)


def rows(tables: dict[str, pa.Table], table: str) -> list[dict[str, Any]]:
    data = tables[table].drop_columns(LINEAGE).to_pylist()
    return sorted(data, key=lambda r: r[KEYS[table]])


def calls(server: EmulatorServer, resource: str) -> list[tuple[str, dict[str, str]]]:
    return [(m, q) for m, p, q in server.request_log if p.startswith(API) and resource in p]


def refund_count(business: Business) -> int:
    return sum(len(o["refunds"]) for o in business.orders)


def net_sales_per_day(tables: dict[str, pa.Table]) -> dict[date, Decimal]:
    """Gross − discounts by order date − refunded subtotals by refund date, from raw rows."""
    order_day = {
        r["id"]: r["created_at"].astimezone(ZONE).date() for r in tables["orders"].to_pylist()
    }
    out: dict[date, Decimal] = {}
    for line in tables["order_lines"].to_pylist():
        day = order_day[line["order_id"]]
        out[day] = out.get(day, Decimal(0)) + line["price"] * line["quantity"] - line["discount"]
    for refund in tables["refund_lines"].to_pylist():
        day = refund["refund_created_at"].astimezone(ZONE).date()
        out[day] = out.get(day, Decimal(0)) - refund["subtotal"]
    return {d: v for d, v in sorted(out.items()) if v}


def test_rest_pages_every_order_once_with_page_info(
    server: EmulatorServer, business: Business
) -> None:
    tables = extract(shopify(server, page_size=100, bulk="never"))
    counts = business.truth.row_counts()
    ids = tables["orders"].column("id").to_pylist()
    assert len(ids) == len(set(ids)) == counts["orders"]
    assert tables["order_lines"].num_rows == counts["order_lines"]
    assert tables["refund_lines"].num_rows == counts["refund_lines"]
    assert tables["refund_transactions"].num_rows == refund_count(business) > 0
    pages = [q for m, q in calls(server, "/orders.json")]
    assert pages[0] == {"status": "any", "limit": "100"}
    assert all(set(q) == {"limit", "page_info"} for q in pages[1:])
    assert len(pages) == -(-counts["orders"] // 100) > 3
    assert not calls(server, "/graphql.json")


def test_incremental_run_uses_rest_from_watermark_minus_lookback(server: EmulatorServer) -> None:
    watermark = datetime(2025, 4, 10, 12, tzinfo=UTC)
    tables = extract(shopify(server, lookback_days=3), watermarks={SHOP: watermark})
    first = calls(server, "/orders.json")[0][1]
    since = datetime.fromisoformat(first["updated_at_min"])
    assert since == watermark - timedelta(days=3)
    assert first["status"] == "any" and first["limit"] == "250"
    assert "updated_at_max" not in first
    updated = tables["orders"].column("updated_at").to_pylist()
    assert updated and min(updated) >= since
    events = calls(server, "/events.json")[0][1]
    assert events == {
        "filter": "Order",
        "verb": "destroy",
        "limit": "250",
        "created_at_min": since.isoformat(),
    }
    assert not calls(server, "/graphql.json")


def test_rest_backfill_bounds_updated_at_by_the_end_date(server: EmulatorServer) -> None:
    source = shopify(server, bulk="never")
    tables = extract(source, start_date=date(2025, 3, 10), end_date=date(2025, 3, 20))
    first = calls(server, "/orders.json")[0][1]
    assert datetime.fromisoformat(first["updated_at_min"]) == datetime(2025, 3, 10, tzinfo=ZONE)
    last_second = datetime(2025, 3, 21, tzinfo=ZONE) - timedelta(seconds=1)
    assert datetime.fromisoformat(first["updated_at_max"]) == last_second
    assert max(tables["orders"].column("updated_at").to_pylist()) <= last_second


@pytest.mark.parametrize("mode", ["never", "always"])
def test_rows_are_typed_stamped_and_hashed(
    server: EmulatorServer, business: Business, mode: str
) -> None:
    orders = extract(shopify(server, bulk=mode), run_id="run-42")["orders"]
    assert orders.schema.field("total_price").type == pa.decimal128(18, 2)
    assert orders.schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert set(orders.column("_extract_run_id").to_pylist()) == {"run-42"}
    assert set(orders.column("_source").to_pylist()) == {"shopify"}
    by_id = {o["id"]: o for o in business.orders}
    for row in orders.slice(0, 200).to_pylist():
        assert row["email_hash"] == hash_email(by_id[row["id"]]["email"])
        assert row["shop_timezone"] == CONFIG.timezone
    assert "@" not in " ".join(str(v) for v in orders.slice(0, 200).to_pylist())


@pytest.mark.parametrize("mode", ["never", "always"])
def test_bad_token_is_an_auth_error_naming_the_fix(server: EmulatorServer, mode: str) -> None:
    with pytest.raises(AuthError, match=r"read_orders.*secrets.toml"):
        extract(shopify(server, token="shpat_wrong", bulk=mode))


@pytest.mark.parametrize("mode", ["never", "auto"])
def test_backfill_never_moves_the_watermark_past_unread_orders(
    server: EmulatorServer, business: Business, mode: str
) -> None:
    first = extract(shopify(server, bulk=mode), end_date=date(2025, 3, 20))["orders"]
    last_second = datetime(2025, 3, 21, tzinfo=ZONE) - timedelta(seconds=1)
    updated = first.column("updated_at").to_pylist()
    assert max(updated) <= last_second
    second = extract(shopify(server, bulk=mode), watermarks={SHOP: max(updated)})["orders"]
    seen = set(first.column("id").to_pylist()) | set(second.column("id").to_pylist())
    assert seen == {o["id"] for o in business.orders}


def test_bulk_backfill_equals_rest_row_for_row(server: EmulatorServer, business: Business) -> None:
    rest = extract(shopify(server, bulk="never"))
    server.request_log.clear()
    bulk = extract(shopify(server))  # no watermark: `auto` backfills with a bulk operation
    assert set(bulk) == set(rest) == {*STAGED, "variant_costs"}
    for table in rest:
        assert rows(bulk, table) == rows(rest, table), table
    posts = calls(server, "/graphql.json")
    assert [m for m, _ in posts] == ["POST"] * len(posts) and len(posts) >= 3
    assert not [q for _, q in calls(server, "/orders.json") if "page_info" in q]
    refetched = [q for _, q in calls(server, "/orders.json")]
    assert refetched and all(q["fields"] == "id,refunds" for q in refetched)
    assert sum(len(q["ids"].split(",")) for q in refetched) == sum(
        1 for o in business.orders if o["refunds"]
    )
    assert [p for _, p, _ in server.request_log if p.startswith("/shopify/bulk-results/")]


def test_bulk_backfill_passes_the_updated_at_range_as_search_query(
    server: EmulatorServer, business: Business
) -> None:
    start, end = date(2025, 3, 10), date(2025, 3, 20)
    bulk = extract(shopify(server, bulk="always"), start_date=start, end_date=end)
    rest = extract(shopify(server, bulk="never"), start_date=start, end_date=end)
    assert rows(bulk, "orders") == rows(rest, "orders")
    low = datetime(2025, 3, 10, tzinfo=ZONE)
    high = datetime(2025, 3, 21, tzinfo=ZONE) - timedelta(seconds=1)
    updated = bulk["orders"].column("updated_at").to_pylist()
    assert low <= min(updated) and max(updated) <= high
    expected = sum(
        1 for o in business.orders if low <= datetime.fromisoformat(o["updated_at"]) <= high
    )
    assert len(updated) == expected


def test_bulk_operation_without_results_loads_no_orders(server: EmulatorServer) -> None:
    tables = extract(shopify(server, bulk="always"), start_date=date(2026, 1, 1))
    assert "orders" not in tables
    assert not [p for _, p, _ in server.request_log if "bulk-results" in p]


def test_rerun_reads_the_same_rows_on_both_paths(server: EmulatorServer) -> None:
    for mode in ("never", "always"):
        first, second = extract(shopify(server, bulk=mode)), extract(shopify(server, bulk=mode))
        for table in first:
            assert rows(first, table) == rows(second, table), (mode, table)


def test_bulk_result_download_retries_transient_failures_without_the_token(
    server: EmulatorServer, business: Business
) -> None:
    server.inject_fault("shopify", "server_error", times=2, path_contains="bulk-results")
    tables = extract(shopify(server, bulk="always"))
    assert tables["orders"].num_rows == business.truth.row_counts()["orders"]
    downloads = [p for _, p, _ in server.request_log if "bulk-results" in p]
    assert len(downloads) == 3
    assert server.shopify.bulk.leaked_tokens == 0
    server.inject_fault("shopify", "server_error", times=5, path_contains="bulk-results")
    with pytest.raises(SourceError, match=r"downloading the bulk result .* failed \(HTTP 500\)"):
        extract(shopify(server, bulk="always", max_attempts=3))


def test_failed_bulk_operation_is_a_one_line_source_error(server: EmulatorServer) -> None:
    server.shopify.bulk.fail_with = "INTERNAL_SERVER_ERROR"
    with pytest.raises(SourceError, match=r"ended FAILED.*INTERNAL_SERVER_ERROR.*bulk") as info:
        extract(shopify(server))
    assert "\n" not in str(info.value)


def test_bulk_operation_past_its_timeout_stops_with_the_setting_to_raise(
    server: EmulatorServer,
) -> None:
    server.shopify.bulk.polls_to_finish = 10_000
    with pytest.raises(SourceError, match=r"still RUNNING.*bulk_timeout_seconds"):
        extract(shopify(server, bulk_timeout_seconds=0.2))


def leave_bulk_operation_running(server: EmulatorServer) -> str:
    """Start a bulk operation the way a run killed mid-backfill leaves it; its id."""
    left = httpx.post(
        f"{server.shopify_base_url}/admin/api/2024-10/graphql.json",
        json={
            "query": 'mutation { bulkOperationRunQuery(query: """{ orders { edges { node '
            '{ id } } } }""") { bulkOperation { id } userErrors { message } } }'
        },
        headers={"X-Shopify-Access-Token": SANDBOX_SHOPIFY_TOKEN},
    ).json()["data"]["bulkOperationRunQuery"]
    assert left["userErrors"] == []
    return str(left["bulkOperation"]["id"])


def test_bulk_backfill_cancels_an_operation_left_running_then_runs_its_own(
    server: EmulatorServer, business: Business, caplog: pytest.LogCaptureFixture
) -> None:
    server.shopify.bulk.polls_to_finish = 10_000  # the orphan would never finish by itself
    orphan = leave_bulk_operation_running(server)
    server.shopify.bulk.polls_to_finish = 2
    with caplog.at_level(logging.WARNING):
        tables = extract(shopify(server, bulk_timeout_seconds=5.0))
    assert tables["orders"].num_rows == business.truth.row_counts()["orders"]
    history = {op["id"]: op["status"] for op in server.shopify.bulk.history()}
    assert history[orphan] == "CANCELED"
    assert list(history.values()).count("COMPLETED") == 1
    assert [r for r in caplog.records if "cancelling bulk operation" in r.getMessage()]


def test_bulk_operation_that_cannot_be_cancelled_says_to_wait(server: EmulatorServer) -> None:
    server.shopify.bulk.polls_to_finish = 10_000
    server.shopify.bulk.polls_to_cancel = 10_000
    orphan = leave_bulk_operation_running(server)
    with pytest.raises(SourceError, match=r"already running.*could not be cancelled.*wait") as info:
        extract(shopify(server, bulk_timeout_seconds=0.3))
    assert "\n" not in str(info.value)
    assert server.shopify.bulk.history() == [
        {"id": orphan, "status": "CANCELING", "groupObjects": None, "grouped": True}
    ]


def test_refunds_and_their_transactions_are_loaded_in_shop_and_paid_currency(
    server: EmulatorServer, business: Business
) -> None:
    tables = extract(shopify(server, bulk="never"))
    by_refund = {}
    for order in business.orders:
        for refund in order["refunds"]:
            by_refund[refund["id"]] = (order, refund)
    txns = rows(tables, "refund_transactions")
    assert len(txns) == len(by_refund)
    for txn in txns:
        order, refund = by_refund[txn["refund_id"]]
        sent = refund["transactions"][0]
        assert txn["order_id"] == order["id"]
        assert (txn["kind"], txn["status"], txn["gateway"]) == (
            "refund",
            "success",
            sent["gateway"],
        )
        assert txn["currency"] == order["presentment_currency"]
        assert txn["amount"] == Decimal(sent["amount"])
    shown = {t["currency"] for t in txns}
    assert shown > {"USD"}, "some refunds were paid in a presentment currency"


def test_presentment_orders_keep_shop_money_and_record_the_presentment_total(
    server: EmulatorServer, business: Business
) -> None:
    tables = extract(shopify(server, bulk="never"))
    assert net_sales_per_day(tables) == {
        d: v for d, v in business.truth.net_sales_per_day().items() if v
    }
    orders = {r["id"]: r for r in tables["orders"].to_pylist()}
    presented = business.truth.presentment_totals()
    assert 0.15 < len(presented) / len(orders) < 0.35
    for oid, (currency, total) in presented.items():
        row = orders[oid]
        assert (row["presentment_currency"], row["total_price_presentment"]) == (currency, total)
        assert row["currency"] == "USD" and row["total_price_presentment"] != row["total_price"]
    plain = [r for oid, r in orders.items() if oid not in presented]
    assert all(r["total_price_presentment"] == r["total_price"] for r in plain)
    sent = {o["id"]: Decimal(o["total_price"]) for o in business.orders}
    assert all(r["total_price"] == sent[r["id"]] for r in orders.values())


def test_refund_after_the_watermark_is_picked_up_inside_the_lookback() -> None:
    early = Business(replace(CONFIG, as_of=datetime(2025, 4, 1, tzinfo=ZONE)))
    late = Business(CONFIG)
    with EmulatorServer(early) as srv:
        first = extract(shopify(srv))
    watermark = max(first["orders"].column("updated_at").to_pylist())
    with EmulatorServer(late) as srv:
        second = extract(shopify(srv, lookback_days=2), watermarks={SHOP: watermark})
    since = watermark - timedelta(days=2)
    restated = {
        o["id"]
        for o in late.orders
        if o["refunds"]
        and datetime.fromisoformat(o["created_at"]) < since
        and datetime.fromisoformat(o["refunds"][0]["created_at"]) >= early.as_of
    }
    assert restated, "the window must hold refunds of older orders"
    seen = set(second["refund_lines"].column("order_id").to_pylist())
    assert restated <= seen
    assert restated <= set(second["refund_transactions"].column("order_id").to_pylist())
    first_ids = set(first["orders"].column("id").to_pylist())
    assert restated <= first_ids
    assert not restated & set(first["refund_lines"].column("order_id").to_pylist())


def test_deleted_order_is_read_from_destroy_events_and_left_out_of_orders() -> None:
    business = small_business()
    victim, other = business.orders[3]["id"], business.orders[10]["id"]
    with EmulatorServer(business) as srv:
        srv.delete_order(victim)
        srv.delete_order(other)
        tables = extract(shopify(srv, bulk="never"))
        events = calls(srv, "/events.json")
    ids = set(tables["orders"].column("id").to_pylist())
    assert victim not in ids and other not in ids
    assert len(ids) == business.truth.row_counts()["orders"]
    deleted = rows(tables, "deleted_orders")
    assert [d["order_id"] for d in deleted] == [victim, other]
    assert all(d["shop_domain"] == SHOP for d in deleted)
    assert deleted[0]["deleted_at"] < business.as_of
    assert events[0][1]["filter"] == "Order" and events[0][1]["verb"] == "destroy"


def test_destroy_events_are_paged(tmp_path: Path) -> None:
    business = small_business()
    victims = [o["id"] for o in business.orders[:5]]
    with EmulatorServer(business) as srv:
        for oid in victims:
            srv.delete_order(oid)
        response = httpx.get(
            f"{srv.shopify_base_url}/admin/api/2024-10/events.json",
            params={"filter": "Order", "verb": "destroy", "limit": 2},
            headers={"X-Shopify-Access-Token": SANDBOX_SHOPIFY_TOKEN},
        )
        seen = [e["subject_id"] for e in response.json()["events"]]
        while "next" in response.headers.get("link", ""):
            url = response.headers["link"].split(";")[0].strip("<>")
            response = httpx.get(url, headers={"X-Shopify-Access-Token": SANDBOX_SHOPIFY_TOKEN})
            seen += [e["subject_id"] for e in response.json()["events"]]
    assert seen == victims


def catalog_rows(business: Business) -> list[dict[str, Any]]:
    """The `variant_costs` rows the business's catalog must extract to, by variant id."""
    items = business.inventory_items
    out = []
    for product in business.catalog:
        for v in product.variants:
            cost = None if v.unit_cost is None else Decimal(v.unit_cost) / 100
            out.append(
                {
                    "product_id": product.id,
                    "variant_id": v.id,
                    "inventory_item_id": v.inventory_item_id,
                    "sku": v.sku,
                    "product_title": product.title,
                    "variant_title": v.title or "Default Title",
                    "unit_cost": cost,
                    "cost_updated_at": datetime.fromisoformat(
                        items[v.inventory_item_id]["updated_at"]
                    ),
                    "shop_domain": SHOP,
                    "_source": "shopify",
                }
            )
    return sorted(out, key=lambda r: r["variant_id"])


def bigger_catalog(copies: int) -> tuple[Product, ...]:
    """`copies` times the built-in catalog, with new ids and titles from the second copy on."""
    out = []
    for k in range(copies):
        shift = 10_000 * k
        for p in PRODUCTS:
            variants = tuple(
                replace(v, id=v.id + shift, inventory_item_id=v.inventory_item_id + shift)
                for v in p.variants
            )
            title = f"{p.title} {k}" if k else p.title
            out.append(replace(p, id=p.id + shift, title=title, variants=variants))
    return tuple(out)


def test_variant_costs_snapshot_every_variant_of_the_catalog_each_run(
    server: EmulatorServer, business: Business
) -> None:
    first = extract(shopify(server, bulk="never"), run_id="r1")
    watermark = max(first["orders"].column("updated_at").to_pylist())
    second = extract(shopify(server), run_id="r2", watermarks={SHOP: watermark})
    expected = catalog_rows(business)
    assert len(expected) == sum(len(p.variants) for p in PRODUCTS) > 50
    assert rows(first, "variant_costs") == rows(second, "variant_costs") == expected
    costs = first["variant_costs"]
    assert costs.schema.field("unit_cost").type == pa.decimal128(18, 2)
    assert set(costs.column("_extract_run_id").to_pylist()) == {"r1"}
    for row in expected:
        assert row["unit_cost"] is not None
        price = next(v.price for p in PRODUCTS for v in p.variants if v.id == row["variant_id"])
        assert Decimal("0.27") < row["unit_cost"] * 100 / price < Decimal("0.47")
    products = [q for _, q in calls(server, "/products.json")]
    assert products[0] == {"fields": "id,title,variants", "limit": "250"}
    items = [q for _, q in calls(server, "/inventory_items.json")]
    assert len(items) == 2 and all(q["limit"] == "250" for q in items)


def test_more_than_100_variants_are_costed_in_chunks_of_100_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    business = small_business()
    catalog = bigger_catalog(3)
    unset = catalog[0].variants[0]
    business.catalog = (
        replace(catalog[0], variants=(replace(unset, unit_cost=None), *catalog[0].variants[1:])),
        *catalog[1:],
    )
    expected = catalog_rows(business)
    assert len(expected) > 150
    dropped = catalog[-1].variants[-1].inventory_item_id
    served = Business.inventory_items.fget
    assert served is not None
    monkeypatch.setattr(
        Business,
        "inventory_items",
        property(lambda self: {k: v for k, v in served(self).items() if k != dropped}),
    )
    with EmulatorServer(business) as srv:
        tables = extract(shopify(srv, bulk="never", page_size=50))
        products = [q for _, q in calls(srv, "/products.json")]
        items = [q for _, q in calls(srv, "/inventory_items.json")]
    for row in expected:
        if row["inventory_item_id"] in (unset.inventory_item_id, dropped):
            row["unit_cost"] = None
            if row["inventory_item_id"] == dropped:
                row["cost_updated_at"] = None
    assert rows(tables, "variant_costs") == expected
    assert len(products) == -(-len(catalog) // 50) and products[0]["limit"] == "50"
    assert all(set(q) == {"limit", "fields", "page_info"} for q in products[1:])
    asked = [q["ids"].split(",") for q in items]
    assert [len(ids) for ids in asked] == [100, len(expected) - 100]
    assert sorted(int(i) for ids in asked for i in ids) == sorted(
        r["inventory_item_id"] for r in expected
    )


def test_a_cost_that_is_not_a_number_is_a_contract_error_naming_the_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = Business.inventory_items.fget
    assert served is not None

    def garbled(self: Business) -> dict[int, dict[str, Any]]:
        items = served(self)
        first = min(items)
        items[first] = {**items[first], "cost": "12,50 USD"}
        return items

    monkeypatch.setattr(Business, "inventory_items", property(garbled))
    with EmulatorServer(small_business()) as srv, pytest.raises(SourceContractError) as info:
        extract(shopify(srv, bulk="never"))
    message = str(info.value)
    assert "`variant_costs.unit_cost`" in message and "`12,50 USD`" in message
    assert "\n" not in message


def _load_raw(database: Path, tables: dict[str, pa.Table]) -> None:
    with duckdb.connect(str(database)) as con:
        con.execute("create schema if not exists raw_shopify")
        for name, table in tables.items():
            con.register("batch", table)
            con.execute(f"create table raw_shopify.{name} as select * from batch")
            con.unregister("batch")


@pytest.mark.slow
def test_deleted_orders_and_presentment_orders_reach_the_marts_exactly(tmp_path: Path) -> None:
    """Raw from the connector, then dbt: a deleted order (with its lines and refund) leaves
    staging, and net sales per day still equal the truth with presentment orders on."""
    business = small_business()
    refunded = next(o for o in business.orders if o["refunds"])
    victim = refunded["id"]
    with EmulatorServer(business) as srv:
        before = extract(shopify(srv), run_id="r1")
        srv.delete_order(victim)
        watermark = max(before["orders"].column("updated_at").to_pylist())
        after = extract(shopify(srv), run_id="r2", watermarks={SHOP: watermark})
    assert victim in set(before["orders"].column("id").to_pylist())
    merged = {
        name: pa.concat_tables([t for t in (before.get(name), after.get(name)) if t is not None])
        for name in set(before) | set(after)
    }
    database = tmp_path / "warehouse.duckdb"
    _load_raw(database, merged)
    with contextlib.chdir(tmp_path):
        staged = run_dbt(
            "build",
            database=database,
            state_dir=tmp_path / "state",
            select=[f"+stg_shopify__{name}" for name in STAGED],
        )
        marts = run_dbt(
            "run",
            database=database,
            state_dir=tmp_path / "state",
            select=["+shopify_daily_metrics"],
        )
    assert staged.success and marts.success, staged.failed + marts.failed
    assert {n.name for n in staged.tests} and {n.status for n in staged.tests} == {"pass"}
    with duckdb.connect(str(database), read_only=True) as con:
        for model, column in (
            ("stg_shopify__orders", "order_id"),
            ("stg_shopify__order_lines", "order_id"),
            ("stg_shopify__refund_lines", "order_id"),
            ("stg_shopify__refund_transactions", "order_id"),
        ):
            left = con.execute(
                f"select count(*) from staging.{model} where {column} = ?", [victim]
            ).fetchone()
            assert left == (0,), model
        daily = con.execute(
            "select date, orders, net_sales from marts.shopify_daily_metrics"
        ).fetchall()
        txns = con.execute("select count(*) from staging.stg_shopify__refund_transactions")
        assert txns.fetchone() == (refund_count(business),)
    truth = business.truth
    assert {d: n for d, n, _ in daily if n} == {
        d: n for d, n in truth.orders_per_day().items() if n
    }
    assert {d: v for d, _, v in daily if v} == {
        d: v for d, v in truth.net_sales_per_day().items() if v
    }


def test_rate_limit_with_retry_after_and_a_5xx_burst_still_load_everything(
    server: EmulatorServer, business: Business
) -> None:
    server.inject_fault("shopify", "rate_limit", times=2, retry_after=0.1)
    server.inject_fault("shopify", "server_error", times=3, path_contains="orders.json")
    source = shopify(server, max_attempts=6, bulk="never", page_size=250)
    tables = extract(source)
    assert tables["orders"].num_rows == business.truth.row_counts()["orders"]
    assert source.http_stats[1] == 5
    assert server.faults_served == 5


def test_a_5xx_burst_longer_than_the_retries_fails_with_the_status(
    server: EmulatorServer,
) -> None:
    server.inject_fault("shopify", "server_error", times=5, path_contains="orders.json")
    with pytest.raises(SourceError, match=r"shopify: .*orders\.json.* HTTP 500"):
        extract(shopify(server, max_attempts=3, bulk="never"))


def test_drift_new_field_loads_the_same_rows_and_warns_once_per_table(
    server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    baseline = extract(shopify(server, bulk="never", page_size=50))
    server.shopify.drift = frozenset({"new_field"})
    with caplog.at_level(logging.WARNING, logger="martlake.sources.shopify.source"):
        drifted = extract(shopify(server, bulk="never", page_size=50))
    for table in baseline:
        assert rows(drifted, table) == rows(baseline, table), table
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "`sales_channel_handle`" in warnings[0], warnings
    assert warnings[0].startswith("shopify: orders")


def test_drift_numbers_as_strings_loads_the_same_values(server: EmulatorServer) -> None:
    baseline = extract(shopify(server, bulk="never"))
    server.shopify.drift = frozenset({"numbers_as_strings"})
    first = httpx.get(
        f"{server.shopify_base_url}/admin/api/2024-10/orders.json",
        params={"status": "any", "limit": 1},
        headers={"X-Shopify-Access-Token": SANDBOX_SHOPIFY_TOKEN},
    ).json()["orders"][0]
    assert isinstance(first["id"], str) and isinstance(first["total_price"], float)
    assert isinstance(first["line_items"][0]["quantity"], str)
    drifted = extract(shopify(server, bulk="never"))
    for table in baseline:
        assert rows(drifted, table) == rows(baseline, table), table


def test_drift_renamed_quantity_fails_the_rest_run_before_yielding_anything(
    server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.shopify.drift = frozenset({"renamed_field"})
    yielded: list[str] = []
    with pytest.raises(SourceContractError) as info:
        for batch in shopify(server, bulk="never").extract(
            ExtractContext(run_id="r", watermarks={SHOP: datetime(2025, 4, 1, tzinfo=UTC)})
        ):
            yielded.append(batch.table)
    message = str(info.value)
    assert "\n" not in message
    for needle in ("shopify", "`order_lines`", "`quantity`", "`current_quantity`", "api_version"):
        assert needle in message
    assert yielded == []


def test_drift_renamed_quantity_fails_the_bulk_query_as_a_contract_error(
    server: EmulatorServer,
) -> None:
    server.shopify.drift = frozenset({"renamed_field"})
    with pytest.raises(SourceContractError, match=r"Field 'quantity' doesn't exist.*api_version"):
        extract(shopify(server))


def test_drift_dash_values_does_not_apply_to_shopify(server: EmulatorServer) -> None:
    """Shopify never sends "-" for a zero amount (TikTok does): the emulator ignores the
    `dash_values` drift and the connector loads exactly what it loads without it."""
    baseline = extract(shopify(server, bulk="never"))
    server.shopify.drift = frozenset({"dash_values"})
    drifted = extract(shopify(server, bulk="never"))
    for table in baseline:
        assert rows(drifted, table) == rows(baseline, table), table


def test_graphql_errors_come_in_shopifys_shapes(server: EmulatorServer) -> None:
    url = f"{server.shopify_base_url}/admin/api/2024-10/graphql.json"
    auth = {"X-Shopify-Access-Token": SANDBOX_SHOPIFY_TOKEN}
    denied = httpx.post(url, json={"query": "{ currentBulkOperation { id } }"})
    assert denied.status_code == 401 and isinstance(denied.json()["errors"], str)
    syntax = httpx.post(url, json={"query": "{ currentBulkOperation { id }"}, headers=auth)
    assert syntax.status_code == 200
    assert syntax.json()["errors"][0]["message"].startswith("syntax error")
    unknown = httpx.post(url, json={"query": "{ shopx { id } }"}, headers=auth).json()
    assert unknown["errors"][0]["message"] == "Field 'shopx' doesn't exist on type 'QueryRoot'"
    assert unknown["errors"][0]["extensions"] == {"code": "undefinedField"}
    nested = (
        "{ orders { edges { node { id refunds { refundLineItems { edges { node { id } } } } } } } }"
    )
    mutation = (
        "mutation run($q: String!) { bulkOperationRunQuery(query: $q) "
        "{ bulkOperation { id } userErrors { field message } } }"
    )
    refused = httpx.post(
        url, json={"query": mutation, "variables": {"q": nested}}, headers=auth
    ).json()["data"]["bulkOperationRunQuery"]
    assert refused["bulkOperation"] is None
    assert "connection field within a list field" in refused["userErrors"][0]["message"]
    assert httpx.post(url, content=b"not json", headers=auth).status_code == 400


def test_bulk_operation_progresses_and_serves_jsonl_with_parent_ids(
    server: EmulatorServer, business: Business
) -> None:
    url = f"{server.shopify_base_url}/admin/api/2024-10/graphql.json"
    auth = {"X-Shopify-Access-Token": SANDBOX_SHOPIFY_TOKEN}
    inner = "{ orders { edges { node { id lineItems { edges { node { id quantity } } } } } } }"
    started = httpx.post(
        url,
        json={
            "query": "mutation r($q: String!) { bulkOperationRunQuery(query: $q) "
            "{ bulkOperation { id status } userErrors { message } } }",
            "variables": {"q": inner},
        },
        headers=auth,
    ).json()["data"]["bulkOperationRunQuery"]["bulkOperation"]
    assert started["status"] == "CREATED"
    poll = "query p($id: ID!) { node(id: $id) { ... on BulkOperation { status objectCount url } } }"
    seen = []
    for _ in range(3):
        node = httpx.post(
            url, json={"query": poll, "variables": {"id": started["id"]}}, headers=auth
        ).json()["data"]["node"]
        seen.append(node["status"])
    assert seen == ["RUNNING", "COMPLETED", "COMPLETED"]
    assert httpx.get(node["url"] + "x").status_code == 403
    lines = [json.loads(x) for x in httpx.get(node["url"]).text.splitlines()]
    counts = business.truth.row_counts()
    assert len(lines) == int(node["objectCount"]) == counts["orders"] + counts["order_lines"]
    parent = None
    for line in lines:
        if "__parentId" in line:
            assert line["__parentId"] == parent and line["id"].startswith("gid://shopify/LineItem/")
        else:
            parent = line["id"]
            assert parent.startswith("gid://shopify/Order/") and "lineItems" not in line


@pytest.mark.parametrize("layout", ["children_last", "shuffled"])
def test_ungrouped_bulk_result_loads_the_same_rows_as_a_grouped_one(
    server: EmulatorServer, business: Business, layout: str
) -> None:
    grouped = extract(shopify(server, bulk="always"))
    server.shopify.bulk.group_objects = False  # an API version that stopped grouping
    server.shopify.bulk.ungrouped_layout = layout  # type: ignore[assignment]
    ungrouped = extract(shopify(server, bulk="always", page_size=50))  # 1,000-order chunks
    assert [op["grouped"] for op in server.shopify.bulk.history()] == [True, False]
    assert ungrouped["orders"].num_rows == business.truth.row_counts()["orders"] > 1000
    assert set(ungrouped) == set(grouped)
    for table in grouped:
        assert rows(ungrouped, table) == rows(grouped, table), table


@pytest.mark.parametrize(
    ("version", "sent"), [("2024-10", None), ("2025-07", True), ("2026-01", True)]
)
def test_bulk_query_asks_for_grouped_objects_where_the_version_has_the_argument(
    server: EmulatorServer, business: Business, version: str, sent: bool | None
) -> None:
    tables = extract(shopify(server, bulk="always", api_version=version))
    assert tables["orders"].num_rows == business.truth.row_counts()["orders"]
    [operation] = server.shopify.bulk.history()
    assert operation["groupObjects"] is sent and operation["grouped"] is True


def test_emulator_groups_objects_by_version_and_argument(server: EmulatorServer) -> None:
    auth = {"X-Shopify-Access-Token": SANDBOX_SHOPIFY_TOKEN}
    inner = "{ orders { edges { node { id lineItems { edges { node { id } } } } } } }"

    def run(version: str, argument: str) -> dict[str, Any]:
        answer = httpx.post(
            f"{server.shopify_base_url}/admin/api/{version}/graphql.json",
            json={
                "query": "mutation r($q: String!) { bulkOperationRunQuery(query: $q"
                f"{argument}) {{ bulkOperation {{ id }} userErrors {{ message }} }} }}",
                "variables": {"q": inner},
            },
            headers=auth,
        ).json()
        return dict(answer)

    refused = run("2024-10", ", groupObjects: true")
    assert "doesn't accept argument 'groupObjects'" in refused["errors"][0]["message"]
    run("2026-01", "")
    poll = "query p($id: ID!) { node(id: $id) { ... on BulkOperation { status url } } }"
    op_id = server.shopify.bulk.history()[0]["id"]
    node: dict[str, Any] = {}
    for _ in range(2):
        node = httpx.post(
            f"{server.shopify_base_url}/admin/api/2026-01/graphql.json",
            json={"query": poll, "variables": {"id": op_id}},
            headers=auth,
        ).json()["data"]["node"]
    lines = [json.loads(x) for x in httpx.get(node["url"]).text.splitlines()]
    parent, misplaced = None, 0
    for line in lines:
        if "__parentId" not in line:
            parent = line["id"]
        elif line["__parentId"] != parent:
            misplaced += 1
    assert server.shopify.bulk.history()[0]["grouped"] is False
    assert misplaced > len(lines) // 4  # shuffled: most children are away from their order


def test_bulk_result_download_waits_a_retry_after_given_as_a_date(
    server: EmulatorServer, business: Business
) -> None:
    server.shopify.bulk.busy_downloads = 2
    tables = extract(shopify(server, bulk="always"))
    assert tables["orders"].num_rows == business.truth.row_counts()["orders"]
    downloads = [p for _, p, _ in server.request_log if "bulk-results" in p]
    assert len(downloads) == 3 and server.shopify.bulk.busy_downloads == 0
    when = "Wed, 21 Oct 2015 07:28:10 GMT"
    assert retry_after_seconds(when, datetime(2015, 10, 21, 7, 27, 40, tzinfo=UTC)) == 30.0
    assert retry_after_seconds(when) == 0.0 and retry_after_seconds("soon") is None
    limited = shopify_map_error(
        httpx.Response(429, headers={"Retry-After": when}, request=httpx.Request("GET", "http://x"))
    )
    assert limited is not None and limited.retryable


def test_bulk_landing_site_is_the_last_visit_like_rest(
    server: EmulatorServer, business: Business
) -> None:
    bulk = extract(shopify(server, bulk="always"))["orders"]
    landing = dict(
        zip(bulk.column("id").to_pylist(), bulk.column("landing_site").to_pylist(), strict=True)
    )
    expected = {o["id"]: o.get("landing_site") for o in business.orders}
    assert landing == expected
    assert sum(1 for v in expected.values() if v) > 100  # the comparison has substance


def test_bulk_line_whose_order_is_missing_is_a_contract_error_in_either_layout(
    tmp_path: Path,
) -> None:
    order = {"id": "gid://shopify/Order/2", "name": "#2", "lineItems": []}
    item = {"id": "gid://shopify/LineItem/9", "quantity": 1}
    layouts = {
        "grouped": [{**item, "__parentId": "gid://shopify/Order/1"}, order],
        "ungrouped": [order, {**item, "__parentId": "gid://shopify/Order/1"}],
    }
    for name, lines in layouts.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(b"".join(json.dumps(x).encode() + b"\n" for x in lines))
        with path.open("rb") as spool:
            index = bulk_index(spool)
            assert index is not None  # a child before any order is never grouped
            spool.seek(0)
            with pytest.raises(SourceContractError, match=r"Order/1.*not among its orders"):
                list(bulk_read_indexed(spool, index, 10))
