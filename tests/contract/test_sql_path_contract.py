"""The SQL path of REST orders pages and Meta insights pages (`martlake.sources._arrow_sql`)
against the Python path it stands in for: identical tables on the emulators' pages (plain and
drifted), the same PII hashes, the same errors and drift warnings, and a fall back to the
Python path wherever the SQL path cannot vouch for a batch."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
import httpx
import pyarrow as pa
import pytest
from pydantic import SecretStr

from martlake.config import MetaAdsSettings, PrivacySettings, ShopifySettings
from martlake.errors import SourceContractError
from martlake.privacy import Hasher
from martlake.sandbox import (
    SANDBOX_META_TOKEN,
    SANDBOX_SHOPIFY_TOKEN,
    Business,
    EmulatorServer,
    SimulatorConfig,
)
from martlake.sources import Batch, ExtractContext, MetaAdsSource, ShopifySource
from martlake.sources._arrow_sql import FastPathMiss, PageSql
from martlake.sources.meta_ads._sql import PAGES, QUERY
from martlake.sources.meta_ads.source import FIELDS, insights_page
from martlake.sources.shopify.source import orders_page

CONFIG = SimulatorConfig(
    seed=5,
    start_date=date(2025, 3, 1),
    end_date=date(2025, 3, 31),
    orders_per_day=25,
    presentment_currencies={"CAD": Decimal("1.3712")},
    presentment_share=0.25,
)
SHOP = CONFIG.shop_domain
ACCOUNT = CONFIG.meta_account_id
TZ = "America/New_York"
INFO = {"name": "Acme - Meta", "currency": "USD"}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(Business(CONFIG)) as srv:
        yield srv


@pytest.fixture
def drift(server: EmulatorServer) -> Iterator[Any]:
    def set_drift(*kinds: str) -> None:
        server.shopify.drift = frozenset(kinds)
        server.meta.drift = frozenset(kinds)

    yield set_drift
    set_drift()


def order_bodies(server: EmulatorServer, limit: int = 100) -> list[bytes]:
    """Every REST orders page, as served."""
    bodies = []
    url: str | None = f"{server.shopify_base_url}/admin/api/2024-10/orders.json"
    params: dict[str, Any] | None = {"status": "any", "limit": limit}
    with httpx.Client(headers={"X-Shopify-Access-Token": SANDBOX_SHOPIFY_TOKEN}) as client:
        while url:
            response = client.get(url, params=params)
            response.raise_for_status()
            bodies.append(response.content)
            url, params = response.links.get("next", {}).get("url"), None
    return bodies


def insight_bodies(server: EmulatorServer, limit: int = 200) -> list[bytes]:
    """Every ad-level daily insights page of the month, as served."""
    bodies = []
    url: str | None = f"{server.meta_base_url}/v21.0/act_{ACCOUNT}/insights"
    params: dict[str, Any] | None = {
        "level": "ad",
        "time_increment": 1,
        "time_range": json.dumps({"since": "2025-03-01", "until": "2025-03-31"}),
        "fields": ",".join(FIELDS),
        "limit": limit,
    }
    with httpx.Client(headers={"Authorization": f"Bearer {SANDBOX_META_TOKEN}"}) as client:
        while url:
            response = client.get(url, params=params)
            response.raise_for_status()
            bodies.append(response.content)
            url, params = json.loads(response.content).get("paging", {}).get("next"), None
    return bodies


def shopify(**privacy: Any) -> tuple[ShopifySource, ExtractContext]:
    source = ShopifySource(ShopifySettings(shop=SHOP, access_token=SecretStr("x")))
    return source, ExtractContext(run_id="r", privacy=PrivacySettings(**privacy))


def meta() -> tuple[MetaAdsSource, ExtractContext]:
    source = MetaAdsSource(MetaAdsSettings(account_ids=[ACCOUNT], access_token=SecretStr("x")))
    return source, ExtractContext(run_id="r")


def tables(batches: Iterator[Batch]) -> dict[str, pa.Table]:
    parts: dict[str, list[pa.Table]] = {}
    for batch in batches:
        parts.setdefault(batch.table, []).append(batch.data)
    return {name: pa.concat_tables(t).drop_columns(["_ingested_at"]) for name, t in parts.items()}


def sql_orders(bodies: list[bytes], **privacy: Any) -> dict[str, pa.Table]:
    """The production entry point, failing instead of falling back to the Python path."""
    source, ctx = shopify(**privacy)

    def no_fallback(*args: Any) -> Iterator[Batch]:
        raise AssertionError("the SQL path fell back to the Python path")

    source._page_to_batches = no_fallback  # type: ignore[method-assign]
    return tables(source.order_batches((orders_page(b, "page") for b in bodies), TZ, ctx))


def python_orders(bodies: list[bytes], **privacy: Any) -> dict[str, pa.Table]:
    source, ctx = shopify(**privacy)
    return tables(
        batch
        for body in bodies
        for batch in source._page_to_batches(json.loads(body)["orders"], TZ, ctx)
    )


def sql_insights(bodies: list[bytes]) -> pa.Table:
    source, ctx = meta()

    def no_fallback(*args: Any) -> pa.Table:
        raise AssertionError("the SQL path fell back to the Python path")

    source._table = no_fallback  # type: ignore[method-assign]
    pages = (insights_page(b, ACCOUNT, "page") for b in bodies)
    return tables(source.insight_batches(pages, ACCOUNT, INFO, TZ, ctx))["insights"]


def python_insights(bodies: list[bytes]) -> pa.Table:
    source, ctx = meta()
    return tables(
        Batch("insights", source._table(json.loads(b)["data"], ACCOUNT, INFO, TZ, ctx))
        for b in bodies
    )["insights"]


def assert_same(fast: dict[str, pa.Table], slow: dict[str, pa.Table]) -> None:
    assert fast.keys() == slow.keys()
    for name, table in slow.items():
        assert fast[name].schema == table.schema, name
        assert fast[name].to_pylist() == table.to_pylist(), name


@pytest.mark.parametrize("kinds", [(), ("new_field",), ("numbers_as_strings",)], ids=str)
def test_orders_pages_give_identical_tables_on_both_paths(
    server: EmulatorServer, drift: Any, kinds: tuple[str, ...]
) -> None:
    drift(*kinds)
    bodies = order_bodies(server)
    fast = sql_orders(bodies)
    assert_same(fast, python_orders(bodies))
    assert fast["refund_lines"].num_rows and fast["refund_transactions"].num_rows
    presentment = fast["orders"].filter(pa.compute.field("presentment_currency") == "CAD")
    assert presentment.num_rows and presentment["total_price_presentment"].null_count == 0


@pytest.mark.parametrize(
    "kinds", [(), ("new_field",), ("numbers_as_strings",), ("dash_values",)], ids=str
)
def test_insights_pages_give_identical_tables_on_both_paths(
    server: EmulatorServer, drift: Any, kinds: tuple[str, ...]
) -> None:
    drift(*kinds)
    bodies = insight_bodies(server)
    fast = sql_insights(bodies)
    assert fast.num_rows > 400 and len(bodies) > 1
    assert_same({"insights": fast}, {"insights": python_insights(bodies)})


TRICKY_EMAILS = ["  Jane.Doe@Example.COM ", "", "ÉLODIE@exämple.fr", "a@b.c\t", None]
TRICKY_PHONES = ["(555) 123-4567", "tel: +44 (0)20 7946 0958", "0044 20 7946 0958", "", "٣٣٣", None]


def with_pii(body: bytes) -> bytes:
    """The page with emails and phones a normaliser can get wrong, on orders and customers."""
    page = json.loads(body)
    for i, order in enumerate(page["orders"]):
        order["email"] = TRICKY_EMAILS[i % len(TRICKY_EMAILS)]
        order["phone"] = TRICKY_PHONES[i % len(TRICKY_PHONES)]
        if order.get("customer"):
            order["customer"]["email"] = TRICKY_EMAILS[(i + 1) % len(TRICKY_EMAILS)]
            order["customer"]["phone"] = TRICKY_PHONES[(i + 2) % len(TRICKY_PHONES)]
    return json.dumps(page).encode()


@pytest.mark.parametrize(
    "privacy", [{}, {"mode": "hmac", "secret": "s3cret"}, {"default_phone_country_code": "33"}]
)
def test_pii_is_hashed_exactly_as_the_python_path_hashes_it(
    server: EmulatorServer, privacy: dict[str, Any]
) -> None:
    bodies = [with_pii(b) for b in order_bodies(server)[:2]]
    fast = sql_orders(bodies, **privacy)["orders"]
    assert_same({"orders": fast}, {"orders": python_orders(bodies, **privacy)["orders"]})
    hasher = Hasher.from_settings(PrivacySettings(**privacy))
    first = json.loads(bodies[0])["orders"][0]
    assert fast["email_hash"][0].as_py() == hasher.email(first["email"] or None)
    assert set(fast.column_names).isdisjoint({"email", "phone"})


def test_a_required_field_missing_on_one_row_stops_with_the_python_paths_error(
    server: EmulatorServer,
) -> None:
    bodies = order_bodies(server)
    page = json.loads(bodies[-1])
    page["orders"][-1]["line_items"][0]["current_quantity"] = page["orders"][-1]["line_items"][
        0
    ].pop("quantity")
    bodies[-1] = json.dumps(page).encode()
    source, ctx = shopify()
    with pytest.raises(SourceContractError) as info:
        list(source.order_batches(iter(bodies), TZ, ctx))
    message = str(info.value)
    assert "`order_lines`" in message and "`quantity`" in message
    assert "`current_quantity`" in message and "\n" not in message


def test_an_explicit_null_in_a_required_field_loads_what_the_python_path_loads(
    server: EmulatorServer,
) -> None:
    bodies = insight_bodies(server)[:2]
    page = json.loads(bodies[1])
    page["data"][3]["spend"] = None
    bodies[1] = json.dumps(page).encode()
    source, ctx = meta()
    loaded = tables(
        source.insight_batches(
            (insights_page(b, ACCOUNT, "p") for b in bodies), ACCOUNT, INFO, TZ, ctx
        )
    )["insights"]
    assert loaded.to_pylist() == python_insights(bodies).to_pylist()
    assert loaded["spend"].null_count >= 1


def test_a_new_field_on_a_single_row_of_a_later_page_is_logged_once(
    server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    bodies = insight_bodies(server)
    page = json.loads(bodies[-1])
    page["data"][-1]["quality_ranking"] = "ABOVE_AVERAGE"
    bodies[-1] = json.dumps(page).encode()
    source, ctx = meta()
    pages = [insights_page(b, ACCOUNT, "p") for b in bodies]
    with caplog.at_level(logging.WARNING, "martlake.sources.meta_ads"):
        list(source.insight_batches(iter(pages), ACCOUNT, INFO, TZ, ctx))
        list(source.insight_batches(iter(pages), ACCOUNT, INFO, TZ, ctx))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "`quality_ranking`" in warnings[0]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: r.update(impressions="12.7"), id="fraction-as-count"),
        pytest.param(lambda r: r.update(clicks=3.0), id="float-count"),
        pytest.param(
            lambda r: r.update(actions=[{"action_type": "purchase", "value": "ü"}]),
            id="non-ascii-actions",
        ),
    ],
)
def test_values_outside_the_strict_forms_are_left_to_the_python_path(
    server: EmulatorServer, change: Any
) -> None:
    bodies = insight_bodies(server)[:1]
    page = json.loads(bodies[0])
    change(page["data"][0])
    bodies[0] = json.dumps(page).encode()
    with pytest.raises(FastPathMiss):
        PAGES.run(bodies, {"insights": QUERY}, {"account": ACCOUNT, **INFO, "timezone": TZ})
    source, ctx = meta()
    pages = (insights_page(b, ACCOUNT, "p") for b in bodies)
    try:
        expected: Any = python_insights(bodies).to_pylist()
    except SourceContractError as exc:
        expected = str(exc)
    try:
        got: Any = tables(source.insight_batches(pages, ACCOUNT, INFO, TZ, ctx))[
            "insights"
        ].to_pylist()
    except SourceContractError as exc:
        got = str(exc)
    assert got == expected


def test_the_sql_path_keeps_pages_in_memory_and_off_the_file_system(tmp_path: Any) -> None:
    """Raw pages hold PII: the SQL path's DuckDB lives in memory and may not touch files."""
    con = PageSql({"a": "VARCHAR"})._connection()
    databases = "SELECT database_name FROM duckdb_databases() WHERE NOT internal"
    assert con.execute(databases).fetchall() == [("memory",)]
    page = tmp_path / "page.json"
    page.write_text('{"a": "x"}')
    with pytest.raises(duckdb.PermissionException):
        con.execute(f"SELECT * FROM read_json('{page}')")
