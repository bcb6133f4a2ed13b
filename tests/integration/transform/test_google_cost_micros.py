"""Google campaign cost through staging whatever shape the raw table has.

Raw `campaign_stats` keeps `cost_micros` as Google sends it (the main fixture, not whole cents);
warehouses loaded before that have a `cost` column in currency units instead
(tests/fixtures/raw/legacy), and the first new load makes dlt add `cost_micros` next to it.
Each shape must give the hand-computed `google_ads_unified` spend of tests/fixtures/raw/expected,
as the main fixture (micros only, test_transform_marts.py) does.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from martlake.transform import run_dbt
from tests.integration.transform.helpers import EXPECTED_MARTS, RAW_FIXTURES, load_raw_zone, query

LEGACY = RAW_FIXTURES / "legacy" / "raw_google_ads.campaign_stats.csv"
TABLE = "raw_google_ads.campaign_stats"
READ = "read_csv(?, header = true, all_varchar = true)"


def expected_spend() -> list[tuple[str, str, str, Decimal]]:
    with (EXPECTED_MARTS / "google_ads_unified.csv").open() as f:
        return sorted(
            (r["date"], r["account_id"], r["campaign_id"], Decimal(r["spend"]))
            for r in csv.DictReader(f)
        )


def _loaded_before_micros(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"delete from {TABLE}")
    con.execute(f"alter table {TABLE} drop column cost_micros")
    con.execute(f"alter table {TABLE} add column cost decimal(18, 2)")
    con.execute(f"insert into {TABLE} by name select * from {READ}", [str(LEGACY)])


def _micros_added_by_a_new_load(con: duckdb.DuckDBPyConnection) -> None:
    # dlt appends the new column; the first extraction's rows keep `cost` only.
    con.execute(f"alter table {TABLE} add column cost decimal(18, 2)")
    con.execute(f"delete from {TABLE} where _extract_run_id = 'google-r1'")
    con.execute(
        f"insert into {TABLE} by name select * from {READ} where _extract_run_id = 'google-r1'",
        [str(LEGACY)],
    )


SHAPES = {
    "cost-only-loaded-before": _loaded_before_micros,
    "cost-then-micros": _micros_added_by_a_new_load,
}


@pytest.fixture(scope="module", params=list(SHAPES))
def staged(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp(request.param)
    database = root / "warehouse.duckdb"
    load_raw_zone(database)
    with duckdb.connect(str(database)) as con:
        SHAPES[request.param](con)
    result = run_dbt(
        "run",
        database=database,
        state_dir=root / "state",
        select=["stg_google_ads__campaign_stats", "google_ads_unified"],
    )
    assert result.success, [n.message for n in result.failed]
    return database


def test_every_raw_shape_gives_the_hand_computed_spend(staged: Path) -> None:
    rows = query(
        staged,
        "select cast(date as varchar), account_id, campaign_id, spend "
        "from marts.google_ads_unified order by 1, 2, 3",
    )
    assert rows == expected_spend()


def test_staging_cost_micros_hold_what_google_sent_or_the_old_cost(staged: Path) -> None:
    columns = {
        name
        for (name,) in query(
            staged,
            "select column_name from information_schema.columns "
            "where table_schema = 'raw_google_ads' and table_name = 'campaign_stats'",
        )
    }
    rows = dict(
        query(
            staged,
            "select _extract_run_id || ' ' || cast(date as varchar) || ' ' || campaign_id, "
            "cost_micros from staging.stg_google_ads__campaign_stats",
        )
    )
    assert "cost" in columns
    # Rows with micros keep them; old rows have their cost in micros.
    new = 6_005_000 if "cost_micros" in columns else 6_000_000
    assert rows["google-r2 2024-01-12 21000000002"] == new
    assert rows["google-r1 2024-01-10 21000000001"] == 12_340_000
