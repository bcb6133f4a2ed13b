"""ltv_cohorts' incremental build on crafted raw rows: an order moving to another customer
empties a cohort, a backfilled earlier order opens an earlier one, a late refund changes an old
one. After each change the incremental build equals a full refresh, row by row."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from martlake.transform import run_dbt
from tests.integration.marts.incremental_helpers import add_refund, new_version
from tests.integration.transform.helpers import load_raw_zone, query

# One worker builds the module's warehouse once; its tests run in order on it.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ltv_edge_cases")]
UPSTREAM = ["+ltv_cohorts"]


@dataclass
class Warehouse:
    database: Path
    scratch: Path
    builds: int = 0

    def build(self) -> list[tuple[Any, ...]]:
        """Build ltv_cohorts (incrementally once it exists) and its upstream models."""
        self.builds += 1
        result = run_dbt(
            "run", database=self.database, state_dir=self.scratch / "dbt", select=UPSTREAM
        )
        assert result.success, [(n.name, n.message) for n in result.failed]
        return cohorts(self.database)

    def full_refresh(self) -> list[tuple[Any, ...]]:
        copy_dir = self.scratch / f"refresh-{self.builds}"
        copy_dir.mkdir()
        copy = copy_dir / "warehouse.duckdb"
        shutil.copy(self.database, copy)
        result = run_dbt(
            "run", database=copy, state_dir=copy_dir / "dbt", select=["ltv_cohorts"],
            full_refresh=True,
        )  # fmt: skip
        assert result.success, [(n.name, n.message) for n in result.failed]
        return cohorts(copy)


def cohorts(database: Path) -> list[tuple[Any, ...]]:
    return query(database, "select * from marts.ltv_cohorts order by all")


def sizes(rows: list[tuple[Any, ...]]) -> dict[date, int]:
    return {row[0]: row[3] for row in rows if row[1] == 0}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    root = tmp_path_factory.mktemp("ltv_edges")
    database = root / "warehouse.duckdb"
    load_raw_zone(database)
    # Customer 900 orders twice in February 2024, customer 901 once in March.
    for order_id, created_at, customer in (
        (2001, "2024-02-10T15:00:00Z", 900),
        (2003, "2024-02-20T15:00:00Z", 900),
        (2004, "2024-03-05T15:00:00Z", 901),
    ):
        new_version(
            database, order_id, "2024-03-06T06:00:00Z", copy_of=1002,
            line_id_offset=order_id * 100, created_at=created_at, customer_id=customer,
            email_hash=f"hash{customer}",
        )  # fmt: skip
    wh = Warehouse(database, root)
    first = wh.build()
    assert sizes(first) == {date(2024, 1, 1): 6, date(2024, 2, 1): 1, date(2024, 3, 1): 1}
    yield wh


def test_orders_moving_to_other_customers_shrink_or_empty_their_old_cohorts(
    warehouse: Warehouse,
) -> None:
    new_version(warehouse.database, 2001, "2024-03-07T06:00:00Z", customer_id=501)
    new_version(warehouse.database, 2004, "2024-03-07T06:00:00Z", customer_id=502)
    rows = warehouse.build()
    assert sizes(rows) == {date(2024, 1, 1): 6, date(2024, 2, 1): 1}
    february = next(r for r in rows if r[0] == date(2024, 2, 1) and r[1] == 0)
    assert february[5] == 1  # one order left to customer 900
    assert rows == warehouse.full_refresh()


def test_a_backfilled_earlier_order_moves_its_customer_to_an_earlier_cohort(
    warehouse: Warehouse,
) -> None:
    new_version(
        warehouse.database, 2002, "2024-03-08T06:00:00Z", copy_of=1004, line_id_offset=200_000,
        created_at="2023-12-20T15:00:00Z",
    )  # fmt: skip
    rows = warehouse.build()
    assert sizes(rows) == {date(2023, 12, 1): 1, date(2024, 1, 1): 5, date(2024, 2, 1): 1}
    assert rows == warehouse.full_refresh()


def test_a_late_refund_of_an_old_order_changes_its_cohort(warehouse: Warehouse) -> None:
    before = cohorts(warehouse.database)
    add_refund(warehouse.database, 1005, 7, "2024-02-09T15:00:00Z", "2024-03-09T06:00:00Z")
    rows = warehouse.build()
    assert rows != before
    assert rows == warehouse.full_refresh()


def test_a_deleted_order_leaves_its_customers_cohort(warehouse: Warehouse) -> None:
    before = cohorts(warehouse.database)
    with duckdb.connect(str(warehouse.database)) as con:
        con.execute(
            "create table if not exists raw_shopify.deleted_orders (order_id bigint,"
            " deleted_at timestamptz, event_id bigint, shop_domain varchar, _source varchar,"
            " _extract_run_id varchar, _ingested_at timestamptz)"
        )
        con.execute(
            "insert into raw_shopify.deleted_orders select 2001, '2024-03-09T12:00:00Z', 1,"
            " shop_domain, 'shopify', 'r-delete', '2024-03-10T06:00:00Z'"
            " from raw_shopify.orders where id = 2001 limit 1"
        )
    rows = warehouse.build()
    january = {r[1]: r[5] for r in rows if r[0] == date(2024, 1, 1)}
    assert january[1] == {r[1]: r[5] for r in before if r[0] == date(2024, 1, 1)}[1] - 1
    assert rows == warehouse.full_refresh()
