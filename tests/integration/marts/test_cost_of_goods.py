"""Cost of goods and contribution margin from the unit costs Shopify snapshots into raw
variant_costs, on the crafted raw zone (tests/fixtures/raw, all orders in January 2024).

Each order is costed at the unit cost its variant had when the order was placed; a cost
change applies to later orders only; a unit without a cost leaves the month's margin empty;
an incremental build after a cost change equals a full refresh."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from martlake.transform import run_dbt
from tests.integration.marts.incremental_helpers import differences, new_version
from tests.integration.transform.helpers import load_raw_zone, query

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cost_of_goods")]
JANUARY = date(2024, 1, 1)
VARIANTS = range(9101, 9113)
COMPARED = [
    "marts.product_performance",
    "marts.executive_summary_monthly",
    "staging.stg_shopify__variant_costs",
]


def unit_cost(variant: int) -> Decimal:
    return Decimal(5) + (variant - 9100)


def add_snapshot(database: Path, loaded: str, costs: dict[int, Decimal | None]) -> None:
    """Append one extraction of raw variant_costs, loaded at `loaded`."""
    with duckdb.connect(str(database)) as con:
        con.execute(
            "create table if not exists raw_shopify.variant_costs (product_id bigint,"
            " variant_id bigint, inventory_item_id bigint, sku varchar, product_title varchar,"
            " variant_title varchar, unit_cost decimal(18,2), cost_updated_at timestamptz,"
            " shop_domain varchar, _source varchar, _extract_run_id varchar,"
            " _ingested_at timestamptz)"
        )
        con.executemany(
            "insert into raw_shopify.variant_costs values"
            " (?, ?, ?, null, null, null, ?, ?, 'martlake-demo.myshopify.com', 'shopify', ?, ?)",
            [
                [variant - 200, variant, variant + 80_000, cost, loaded, f"costs-{loaded}", loaded]
                for variant, cost in costs.items()
            ],
        )


def build(database: Path, state_dir: Path, *, full_refresh: bool = False) -> None:
    result = run_dbt("run", database=database, state_dir=state_dir, full_refresh=full_refresh)
    assert result.success, [(n.name, n.message) for n in result.failed]


def refreshed_copy(database: Path, scratch: Path) -> Path:
    scratch.mkdir()
    copy = scratch / "warehouse.duckdb"
    shutil.copy(database, copy)
    build(copy, scratch / "dbt", full_refresh=True)
    return copy


@dataclass
class Warehouse:
    database: Path
    root: Path


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    root = tmp_path_factory.mktemp("cost_of_goods")
    database = root / "warehouse.duckdb"
    load_raw_zone(database)
    add_snapshot(database, "2024-01-12T06:00:00Z", {v: unit_cost(v) for v in VARIANTS})
    build(database, root / "dbt")
    yield Warehouse(database, root)


def test_cost_of_goods_is_units_net_of_returns_at_their_unit_cost(warehouse: Warehouse) -> None:
    rows = query(
        warehouse.database,
        "select variant_id, units, returned_units, net_sales, cost_of_goods, gross_margin"
        " from marts.product_performance where month = ?",
        [JANUARY],
    )
    assert {r[0] for r in rows} <= set(VARIANTS) and len(rows) >= 8
    assert any(r[2] > 0 for r in rows)  # returns are costed too
    for variant, units, returned, net, cost, margin in rows:
        assert cost == (units - returned) * unit_cost(variant), variant
        assert margin == net - cost, variant
    [(cogs, margin, net, spend)] = query(
        warehouse.database,
        "select cost_of_goods, contribution_margin, net_sales, ad_spend"
        " from marts.executive_summary_monthly where month = ?",
        [JANUARY],
    )
    assert cogs == sum(r[4] for r in rows) and cogs > 0
    assert margin == net - cogs - spend


def test_a_cost_change_costs_later_orders_only_and_equals_a_full_refresh(
    warehouse: Warehouse,
) -> None:
    before = query(
        warehouse.database,
        "select units, cost_of_goods from marts.product_performance where variant_id = 9101",
    )
    [(mugs, cost)] = before
    assert mugs > 0 and cost == mugs * unit_cost(9101)
    # Mug 9101 costs 50.00 from 13 January; a copy of order 1001 (its mugs) is placed on the
    # 14th and loaded on the 21st.
    add_snapshot(
        warehouse.database,
        "2024-01-13T00:00:00Z",
        {v: Decimal(50) if v == 9101 else unit_cost(v) for v in VARIANTS},
    )
    new_version(
        warehouse.database, 2001, "2024-01-21T06:00:00Z", copy_of=1001,
        line_id_offset=200_000, created_at="2024-01-14T15:00:00Z", name="#2001",
    )  # fmt: skip
    with duckdb.connect(str(warehouse.database)) as con:  # the copy has no refund
        con.execute("delete from raw_shopify.refund_lines where order_id = 2001")
    build(warehouse.database, warehouse.root / "dbt")
    after = query(
        warehouse.database,
        "select units, cost_of_goods from marts.product_performance where variant_id = 9101",
    )
    assert after == [(2 * mugs, mugs * (unit_cost(9101) + 50))]
    periods = query(
        warehouse.database,
        "select cost_period, unit_cost, valid_from is null, valid_to is null"
        " from staging.stg_shopify__variant_costs where variant_id = 9101 order by 1",
    )
    assert periods == [(1, unit_cost(9101), True, False), (2, Decimal(50), False, True)]
    refreshed = refreshed_copy(warehouse.database, warehouse.root / "refresh")
    assert {
        t: n for t, n in differences(warehouse.database, refreshed, COMPARED).items() if n
    } == {}


def test_a_unit_without_a_cost_leaves_the_months_margin_empty_until_it_gets_one(
    tmp_path: Path,
) -> None:
    database = tmp_path / "warehouse.duckdb"
    load_raw_zone(database)
    add_snapshot(
        database,
        "2024-01-12T06:00:00Z",
        {v: None if v == 9104 else unit_cost(v) for v in VARIANTS},
    )
    build(database, tmp_path / "dbt")
    costs = dict(query(database, "select variant_id, cost_of_goods from marts.product_performance"))
    assert costs[9104] is None
    assert all(cost is not None for variant, cost in costs.items() if variant != 9104)
    summary = (
        "select cost_of_goods, contribution_margin, net_sales is not null"
        " from marts.executive_summary_monthly where month = ?"
    )
    assert query(database, summary, [JANUARY]) == [(None, None, True)]
    # The shop sets the tea's cost later, with no new order: its first known cost also costs
    # the sales before it, and the incremental build recomputes the month for it.
    add_snapshot(database, "2024-02-01T06:00:00Z", {v: unit_cost(v) for v in VARIANTS})
    build(database, tmp_path / "dbt")
    [(units, cost)] = query(
        database,
        "select units - returned_units, cost_of_goods from marts.product_performance"
        " where variant_id = 9104",
    )
    assert cost == units * unit_cost(9104) and cost > 0
    [(cogs, margin, _)] = query(database, summary, [JANUARY])
    assert cogs is not None and margin is not None
    refreshed = refreshed_copy(database, tmp_path / "refresh")
    assert {t: n for t, n in differences(database, refreshed, COMPARED).items() if n} == {}
