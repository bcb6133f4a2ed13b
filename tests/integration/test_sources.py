"""Connector contract tests: martlake's Shopify and Meta sources against the emulators."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from pydantic import SecretStr

from martlake.config import MetaAdsSettings, ShopifySettings
from martlake.errors import AuthError
from martlake.privacy import hash_email
from martlake.sandbox import (
    SANDBOX_META_TOKEN,
    SANDBOX_SHOPIFY_TOKEN,
    Business,
    EmulatorServer,
    SimulatorConfig,
)
from martlake.sources import ExtractContext, MetaAdsSource, ShopifySource

CONFIG = SimulatorConfig(
    seed=3, start_date=date(2025, 3, 1), end_date=date(2025, 4, 15), orders_per_day=30
)


@pytest.fixture(scope="module")
def business() -> Business:
    return Business(CONFIG)


@pytest.fixture
def server(business: Business) -> Iterator[EmulatorServer]:
    with EmulatorServer(business) as srv:
        yield srv


def shopify(server: EmulatorServer, token: str = SANDBOX_SHOPIFY_TOKEN, **kw: Any) -> ShopifySource:
    settings = ShopifySettings(
        shop=CONFIG.shop_domain,
        access_token=SecretStr(token),
        base_url=server.shopify_base_url,
        **kw,
    )
    return ShopifySource(settings, backoff=0.0, max_attempts=2)


def meta(server: EmulatorServer, token: str = SANDBOX_META_TOKEN, **kw: Any) -> MetaAdsSource:
    settings = MetaAdsSettings(
        account_ids=[f"act_{CONFIG.meta_account_id}"],
        access_token=SecretStr(token),
        base_url=server.meta_base_url,
        **kw,
    )
    return MetaAdsSource(settings, backoff=0.0, max_attempts=2)


def collect(batches: Iterator[Any]) -> dict[str, pa.Table]:
    tables: dict[str, list[pa.Table]] = {}
    for batch in batches:
        tables.setdefault(batch.table, []).append(batch.data)
    return {name: pa.concat_tables(parts) for name, parts in tables.items()}


def test_shopify_reads_every_order_once_through_page_info(
    server: EmulatorServer, business: Business
) -> None:
    tables = collect(shopify(server, page_size=100).extract(ExtractContext(run_id="r1")))
    counts = business.truth.row_counts()
    ids = tables["orders"].column("id").to_pylist()
    assert len(ids) == len(set(ids)) == counts["orders"]
    assert tables["order_lines"].num_rows == counts["order_lines"]
    assert tables["refund_lines"].num_rows == counts["refund_lines"]
    orders = [q for m, p, q in server.request_log if p.endswith("/orders.json")]
    assert orders[0]["status"] == "any" and orders[0]["limit"] == "100"
    assert "updated_at_min" not in orders[0]
    for query in orders[1:]:
        assert set(query) == {"limit", "page_info"}
    assert len(orders) == -(-counts["orders"] // 100)


def test_shopify_rows_are_typed_stamped_and_hashed(
    server: EmulatorServer, business: Business
) -> None:
    tables = collect(shopify(server).extract(ExtractContext(run_id="run-42")))
    orders = tables["orders"]
    assert orders.schema.field("total_price").type == pa.decimal128(18, 2)
    assert orders.schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert set(orders.column("_extract_run_id").to_pylist()) == {"run-42"}
    assert set(orders.column("_source").to_pylist()) == {"shopify"}
    by_id = {o["id"]: o for o in business.orders}
    for row in orders.slice(0, 200).to_pylist():
        email = by_id[row["id"]]["email"]
        assert row["email_hash"] == hash_email(email)
        assert row["shop_timezone"] == CONFIG.timezone
    text = " ".join(str(v) for v in orders.slice(0, 200).to_pylist())
    assert "@" not in text


def test_shopify_incremental_asks_from_watermark_minus_lookback(server: EmulatorServer) -> None:
    watermark = datetime(2025, 4, 10, 12, tzinfo=UTC)
    ctx = ExtractContext(run_id="r2", watermarks={CONFIG.shop_domain: watermark})
    tables = collect(shopify(server, lookback_days=3).extract(ctx))
    first = next(q for m, p, q in server.request_log if p.endswith("/orders.json"))
    since = datetime.fromisoformat(first["updated_at_min"])
    assert since == watermark - timedelta(days=3)
    updated = tables["orders"].column("updated_at").to_pylist()
    assert updated and min(updated) >= since


def test_shopify_rerun_reads_the_same_rows(server: EmulatorServer) -> None:
    ctx = ExtractContext(run_id="r")
    first = collect(shopify(server).extract(ctx))["orders"].drop_columns(["_ingested_at"])
    second = collect(shopify(server).extract(ctx))["orders"].drop_columns(["_ingested_at"])
    assert first.equals(second)


def test_shopify_bad_token_is_an_auth_error_naming_the_fix(server: EmulatorServer) -> None:
    with pytest.raises(AuthError, match=r"read_orders.*secrets.toml"):
        collect(shopify(server, token="shpat_wrong").extract(ExtractContext(run_id="r")))


def test_meta_reads_every_insight_in_windows_with_paging(
    server: EmulatorServer, business: Business
) -> None:
    source = meta(server, page_size=50, start_date=CONFIG.start_date)
    ctx = ExtractContext(run_id="m", end_date=CONFIG.end_date)
    table = collect(source.extract(ctx))["insights"]
    assert table.num_rows == business.truth.row_counts()["insights"]
    keys = list(
        zip(table.column("ad_id").to_pylist(), table.column("date_start").to_pylist(), strict=False)
    )
    assert len(keys) == len(set(keys))
    spend: dict[date, Any] = {}
    for day, value in zip(
        table.column("date_start").to_pylist(), table.column("spend").to_pylist(), strict=False
    ):
        spend[day] = spend.get(day, 0) + value
    assert {d: v for d, v in spend.items() if v} == {
        d: v for d, v in business.truth.spend_per_day().items() if v
    }
    calls = [q for m, p, q in server.request_log if p.endswith("/insights")]
    first_pages = [q for q in calls if "after" not in q]
    assert all(q["level"] == "ad" and q["time_increment"] == "1" for q in first_pages)
    assert len(first_pages) == 2  # 46 days in 31-day windows
    assert len(calls) > len(first_pages)  # paging.next was followed


def test_meta_incremental_rereads_the_lookback_window(server: EmulatorServer) -> None:
    ctx = ExtractContext(
        run_id="m2",
        watermarks={CONFIG.meta_account_id: date(2025, 4, 15)},
        end_date=CONFIG.end_date,
    )
    table = collect(meta(server, lookback_days=28).extract(ctx))["insights"]
    days = set(table.column("date_start").to_pylist())
    assert min(days) == date(2025, 3, 18) and max(days) == date(2025, 4, 15)


def test_meta_bad_token_is_an_auth_error_naming_the_fix(server: EmulatorServer) -> None:
    with pytest.raises(AuthError, match=r"ads_read.*secrets.toml"):
        collect(meta(server, token="nope").extract(ExtractContext(run_id="r")))


def test_shopify_backfill_never_moves_the_watermark_past_unread_orders(
    server: EmulatorServer, business: Business
) -> None:
    backfill = ExtractContext(run_id="b", end_date=date(2025, 3, 20))
    first = collect(shopify(server).extract(backfill))["orders"]
    last_second = datetime(2025, 3, 21, tzinfo=ZoneInfo(CONFIG.timezone)) - timedelta(seconds=1)
    updated = first.column("updated_at").to_pylist()
    assert max(updated) <= last_second
    ctx = ExtractContext(run_id="n", watermarks={CONFIG.shop_domain: max(updated)})
    second = collect(shopify(server).extract(ctx))["orders"]
    seen = set(first.column("id").to_pylist()) | set(second.column("id").to_pylist())
    assert seen == {o["id"] for o in business.orders}
