"""Helpers of the incremental-build tests: crafted extractions appended to a raw zone (a new
version of an order with its lines and refunds, a refund arriving with its order, an order
deletion, as the connectors write them) and a table-by-table comparison of two warehouses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb


def new_version(
    database: Path,
    order_id: int,
    ingested_at: str,
    *,
    copy_of: int | None = None,
    line_id_offset: int = 0,
    **changes: Any,
) -> None:
    """Append an extraction of `order_id`: the latest version of `copy_of` (default the order
    itself) with `changes`, its lines and its refund lines, all loaded at `ingested_at`."""
    source = copy_of or order_id
    overrides = {"id": order_id, "_ingested_at": ingested_at, "_extract_run_id": ingested_at}
    overrides.update(changes)
    replace = ", ".join(f"? as {column}" for column in overrides)
    with duckdb.connect(str(database)) as con:
        latest = con.execute(
            "select max(_ingested_at) from raw_shopify.orders where id = ?", [source]
        ).fetchone()
        assert latest is not None and latest[0] is not None
        con.execute(
            f"insert into raw_shopify.orders by name select * replace ({replace})"
            " from raw_shopify.orders where id = ? and _ingested_at = ?",
            [*overrides.values(), source, latest[0]],
        )
        for table in ("order_lines", "refund_lines"):
            con.execute(
                f"insert into raw_shopify.{table} by name select * replace ("
                " id + ? as id, ? as order_id, ? as _ingested_at, ? as _extract_run_id)"
                f" from raw_shopify.{table} where order_id = ? and _ingested_at = ?",
                [line_id_offset, order_id, ingested_at, ingested_at, source, latest[0]],
            )


def add_refund(database: Path, order_id: int, line_id: int, refunded_at: str, loaded: str) -> None:
    """A refund of one unit of `line_id`, arriving with a new version of its order."""
    new_version(database, order_id, loaded)
    with duckdb.connect(str(database)) as con:
        con.execute(
            "insert into raw_shopify.refund_lines by name"
            " select 7900 + ? as id, 8900 + ? as refund_id, ? as order_id, ? as line_item_id,"
            " 1 as quantity, price - coalesce(discount, 0) as subtotal, 0 as total_tax,"
            " cast(? as timestamptz) as refund_created_at, shop_domain, _source,"
            " ? as _extract_run_id, cast(? as timestamptz) as _ingested_at"
            " from raw_shopify.order_lines where id = ? and _ingested_at = ?",
            [line_id, line_id, order_id, line_id, refunded_at, loaded, loaded, line_id, loaded],
        )


def delete_order(database: Path, order_id: int, loaded: str) -> None:
    """A Shopify `destroy` event for `order_id`, loaded at `loaded`."""
    with duckdb.connect(str(database)) as con:
        con.execute(
            "create table if not exists raw_shopify.deleted_orders (order_id bigint,"
            " deleted_at timestamptz, event_id bigint, shop_domain varchar, _source varchar,"
            " _extract_run_id varchar, _ingested_at timestamptz)"
        )
        con.execute(
            "insert into raw_shopify.deleted_orders select ?, cast(? as timestamptz), ?,"
            " shop_domain, 'shopify', ?, cast(? as timestamptz)"
            " from raw_shopify.orders where id = ? limit 1",
            [order_id, loaded, order_id, f"delete-{loaded}", loaded, order_id],
        )


def differences(built: Path, refreshed: Path, tables: list[str]) -> dict[str, int]:
    """Rows in one warehouse and not the other, both ways, per `schema.table`."""
    out = {}
    with duckdb.connect(str(built), read_only=True) as con:
        con.execute(f"attach '{refreshed}' as refreshed (read_only)")
        for table in tables:
            a, b = table, f"refreshed.{table}"
            row = con.execute(
                f"select (select count(*) from (from {a} except all from {b})),"
                f" (select count(*) from (from {b} except all from {a}))"
            ).fetchone()
            assert row is not None
            out[table] = row[0] + row[1]
    return out
