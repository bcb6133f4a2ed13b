"""The Shopify order models, and the marts built incrementally by day or month from them, equal
a full refresh, table by table (EXCEPT ALL both ways), after each kind of change a daily run
meets: late orders, a late refund of a two-month-old order and orders re-read unchanged; an
edited order (lines, customer, landing page) and a deleted order; a product renamed by its
latest sale, then named as before when that order is deleted; a backfill of earlier orders; a
renamed campaign (attribution matches orders against names).

Works on crafted raw rows (tests/fixtures/raw plus the extractions each stage appends, loaded
later than everything before, as real loads are); every stage runs dbt incrementally on the
warehouse and `--full-refresh` on a copy of it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from martlake.transform import run_dbt
from tests.integration.marts.incremental_helpers import (
    add_refund,
    delete_order,
    differences,
    new_version,
)
from tests.integration.transform.helpers import load_raw_zone, query

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("orders_incremental")]
MODELS = [
    "+shopify_order_lines",
    "+shopify_refund_lines",
    "+int_product_sales__dated",
    "+stg_shopify__refund_transactions",
    "+customer_ltv",
    "+shopify_daily_metrics",
    "+product_kpis",
    "+product_performance",
    "+sales_by_geography",
    "+int_customers__monthly",
]
INCREMENTAL = (
    "stg_shopify__order_versions",
    "stg_shopify__orders",
    "stg_shopify__order_lines",
    "stg_shopify__refund_lines",
    "stg_shopify__refund_transactions",
    "int_order_lines__aggregated",
    "int_refund_lines__aggregated",
    "int_orders__sequenced",
    "int_orders__attributed",
    "int_product_sales__dated",
    "int_product_variants",
    "shopify_unified",
    "shopify_order_lines",
    "shopify_refund_lines",
    "int_customers__daily_sales",
    "customer_ltv",
    "int_product_sales__by_order",
    "shopify_daily_metrics",
    "product_performance",
    "sales_by_geography",
    "int_customers__monthly",
)
PER_CUSTOMER = ("int_customers__daily_sales", "customer_ltv")
PER_VARIANT = ("int_product_variants",)
DATED = (
    "shopify_daily_metrics",
    "product_performance",
    "sales_by_geography",
    "int_customers__monthly",
)
STAGES = ("late", "edited_and_deleted", "backfill", "campaign")


def late_orders(database: Path) -> None:
    """Orders placed days ago arrive now: one between two orders of customer 501."""
    for order_id, created_at, customer in (
        (2001, "2024-01-16T15:00:00Z", 501),
        (2002, "2024-01-18T15:00:00Z", 508),
    ):
        new_version(
            database, order_id, "2024-03-01T06:00:00Z", copy_of=1002,
            line_id_offset=order_id * 100, created_at=created_at, customer_id=customer,
            email_hash=f"hash{customer}",
        )  # fmt: skip


def renamed_product(database: Path) -> None:
    """Order 2005, the latest sale of variant 9104 (order 1002's tea), names it otherwise."""
    new_version(
        database, 2005, "2024-03-01T06:00:00Z", copy_of=1002, line_id_offset=200500,
        created_at="2024-02-20T15:00:00Z",
    )  # fmt: skip
    with duckdb.connect(str(database)) as con:
        con.execute(
            "update raw_shopify.order_lines set title = 'Breakfast tea tin', sku = 'TEA-TIN'"
            " where order_id = 2005"
        )


def deleted_renaming_order(database: Path) -> None:
    """Order 2005 deleted: the variant's latest sale is an earlier order again."""
    delete_order(database, 2005, "2024-03-04T06:00:00Z")


def edited_order(database: Path) -> None:
    """Order 1004 edited: another customer, another landing page, a line's quantity doubled."""
    new_version(
        database, 1004, "2024-03-03T06:00:00Z", customer_id=502, email_hash="hash502",
        landing_site="/?utm_source=tiktok&utm_medium=paid&ttclid=t1",
    )  # fmt: skip
    with duckdb.connect(str(database)) as con:
        con.execute(
            "update raw_shopify.order_lines set quantity = quantity * 2"
            " where order_id = 1004 and _ingested_at = '2024-03-03T06:00:00Z'"
        )


def late_refund(database: Path) -> None:
    """A refund in March of January's order 1002, arriving with the order's new version."""
    add_refund(database, 1002, 4, "2024-03-01T15:00:00Z", "2024-03-02T06:00:00Z")


def reread(database: Path) -> None:
    """Shopify's lookback reads orders 1001 and 1003 again, unchanged."""
    for order_id in (1001, 1003):
        new_version(database, order_id, "2024-03-02T06:30:00Z")


def deleted_order(database: Path) -> None:
    delete_order(database, 1006, "2024-03-04T06:00:00Z")


def backfill(database: Path) -> None:
    """Earlier orders of customers 502 and 505 loaded by a backfill: their orders renumber."""
    for order_id, customer in ((2003, 502), (2004, 505)):
        new_version(
            database, order_id, "2024-03-05T06:00:00Z", copy_of=1008,
            line_id_offset=order_id * 100, created_at="2023-12-05T15:00:00Z",
            customer_id=customer, email_hash=f"hash{customer}",
        )  # fmt: skip


def campaign(database: Path) -> None:
    """Meta renames campaign 23850001 (its name on the latest day is the campaign's name)."""
    with duckdb.connect(str(database)) as con:
        con.execute(
            "insert into raw_meta_ads.insights by name select * replace ("
            " date '2024-01-25' as date_start, date '2024-01-25' as date_stop,"
            " 'Winter Sale Extended' as campaign_name, 'meta-r9' as _extract_run_id,"
            " timestamptz '2024-03-06T07:00:00Z' as _ingested_at)"
            " from raw_meta_ads.insights where campaign_id = '23850001' limit 1"
        )


CHANGES = {
    "late": [late_orders, renamed_product, late_refund, reread],
    "edited_and_deleted": [edited_order, deleted_order, deleted_renaming_order],
    "backfill": [backfill],
    "campaign": [campaign],
}


@dataclass
class Stages:
    database: Path
    differences: dict[str, dict[str, int]] = field(default_factory=dict)
    before: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    tea_names: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


def unified(database: Path) -> list[tuple[Any, ...]]:
    return query(database, "select * exclude (_ingested_at) from marts.shopify_unified order by 1")


def build(database: Path, state_dir: Path, *, full_refresh: bool = False) -> list[str]:
    """Run the order models; returns their `schema.table` names."""
    result = run_dbt(
        "run", database=database, state_dir=state_dir, select=MODELS, full_refresh=full_refresh
    )
    assert result.success, [(n.name, n.message) for n in result.failed]
    names = {node.name for node in result.models}
    rows = query(
        database,
        "select table_schema || '.' || table_name from information_schema.tables"
        " where table_schema in ('staging', 'intermediate', 'marts') order by 1",
    )
    return [row[0] for row in rows if row[0].split(".")[1] in names]


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stages]:
    root = tmp_path_factory.mktemp("orders_incremental")
    database = root / "warehouse.duckdb"
    load_raw_zone(database)
    build(database, root / "dbt")
    out = Stages(database)
    for stage in STAGES:
        out.before[stage] = unified(database)
        for change in CHANGES[stage]:
            change(database)
        tables = build(database, root / "dbt")
        out.tea_names[stage] = query(
            database,
            "select distinct product_title, sku from marts.product_performance"
            " where variant_id = 9104",
        )
        copy = root / stage / "warehouse.duckdb"
        copy.parent.mkdir()
        shutil.copy(database, copy)
        build(copy, root / stage / "dbt", full_refresh=True)
        out.differences[stage] = differences(database, copy, tables)
    yield out


def test_every_order_model_is_incremental(stages: Stages) -> None:
    manifest = json.loads((stages.database.parent / "dbt/target/manifest.json").read_text())
    materialized = {
        node["name"]: node["config"]["materialized"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    assert {name: materialized[name] for name in INCREMENTAL} == dict.fromkeys(
        INCREMENTAL, "incremental"
    )
    compared = {table.split(".")[1] for table in stages.differences["late"]}
    assert set(INCREMENTAL) <= compared


@pytest.mark.parametrize("stage", STAGES)
def test_incremental_build_equals_a_full_refresh(stages: Stages, stage: str) -> None:
    assert {t: n for t, n in stages.differences[stage].items() if n} == {}


def test_loads_are_told_apart_new_version_refund_only_and_unchanged(stages: Stages) -> None:
    rows = query(
        stages.database,
        "select order_id, is_new_version, changes_sale from staging.stg_shopify__order_versions"
        " where _ingested_at in ('2024-03-02T06:00:00Z', '2024-03-02T06:30:00Z',"
        " '2024-03-03T06:00:00Z') and order_id in (1001, 1002, 1003, 1004) order by 1",
    )
    assert rows == [
        (1001, False, False),  # re-read unchanged
        (1002, True, False),  # a refund: its refund day changes, not its order day
        (1003, False, False),
        (1004, True, True),  # edited lines and customer
    ]


def test_each_change_reached_shopify_unified(stages: Stages) -> None:
    snapshots = [stages.before[stage] for stage in STAGES] + [unified(stages.database)]
    assert all(old != new for old, new in zip(snapshots, snapshots[1:], strict=False))
    ids = {row[0] for row in snapshots[-1]}
    assert {2001, 2002, 2003, 2004} <= ids and 1006 not in ids
    names = query(
        stages.database,
        "select distinct campaign_name from marts.shopify_unified where campaign_id = '23850001'",
    )
    assert names == [("Winter Sale Extended",)]


def test_a_variant_is_named_by_its_latest_sale_even_when_that_sale_goes(stages: Stages) -> None:
    assert stages.tea_names["late"] == [("Breakfast tea tin", "TEA-TIN")]
    assert stages.tea_names["edited_and_deleted"] == [("Breakfast tea", "TEA")]
    kpis = query(
        stages.database, "select product_title from marts.product_kpis where product_id = 9004"
    )
    assert kpis == [("Breakfast tea",)]


def test_late_and_backfilled_orders_renumber_their_customers(stages: Stages) -> None:
    numbers = dict(
        query(
            stages.database,
            "select order_id, customer_order_number from marts.shopify_unified"
            " where customer_id in (501, 502, 505)",
        )
    )
    assert numbers[2001] == 3 and numbers[1009] == 4  # 1001, 1003, 2001 (Jan 16), 1009
    assert numbers[2003] == 1 and numbers[1002] == 2  # the backfilled December order first
    assert numbers[2004] == 1 and numbers[1007] == 2


def test_a_deleted_order_leaves_every_order_model(stages: Stages) -> None:
    keyed = query(
        stages.database,
        "select table_schema || '.' || table_name from information_schema.columns"
        " where column_name = 'order_id' and table_schema in ('staging', 'intermediate', 'marts')",
    )
    # stg_shopify__order_versions is the log of every load, the deleted order's too.
    orders = set(INCREMENTAL) - {"stg_shopify__order_versions"}
    tables = [row[0] for row in keyed if row[0].split(".")[1] in orders]
    assert len(tables) == len(orders) - len(PER_CUSTOMER) - len(PER_VARIANT) - len(DATED)
    for table in tables:
        rows = query(stages.database, f"select count(*) from {table} where order_id = 1006")
        assert rows == [(0,)], table
    ltv = query(
        stages.database, "select count(*) from marts.customer_ltv where first_order_id = 1006"
    )
    assert ltv == [(0,)]
    latest = query(
        stages.database,
        "select count(*) from intermediate.int_product_variants"
        " where latest_sale_order_id in (1006, 2005)",
    )
    assert latest == [(0,)]


def test_a_build_without_new_loads_rebuilds_no_order(stages: Stages, tmp_path: Path) -> None:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(stages.database, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("update marts.shopify_unified set units = units + 1000 where order_id = 1001")
    build(copy, tmp_path / "dbt")
    assert query(copy, "select units from marts.shopify_unified where order_id = 1001")[0][0] > 999


@pytest.mark.parametrize(
    "dropped",
    [
        ("_ingested_at", "_attribution_fingerprint", "_ingested_through"),
        ("_attribution_fingerprint",),
    ],
    ids=["before-incremental", "before-fingerprint"],
)
def test_tables_built_by_an_older_version_are_rebuilt_whole(
    stages: Stages, tmp_path: Path, dropped: tuple[str, ...]
) -> None:
    """A warehouse from before `_ingested_at` and the attribution fingerprint existed, or only
    before the fingerprint did: the next build adds the columns and rebuilds every row of the
    tables that lacked them, as a full refresh would."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(stages.database, copy)
    tables = list(stages.differences["campaign"])
    with duckdb.connect(str(copy)) as con:
        for table in tables:
            columns = {row[0] for row in con.execute(f"describe {table}").fetchall()}
            for column in dropped:
                if column in columns and not table.startswith("staging."):
                    con.execute(f"alter table {table} drop column {column}")
    build(copy, tmp_path / "dbt")
    assert {t: n for t, n in differences(stages.database, copy, tables).items() if n} == {}
