"""`make bench` (marts part): how long the shipped dbt project takes on a year of a big shop,
built from scratch and then after one more day of data.

1. Writes the raw zone of one year at 10,000 orders/day (3.65M orders, 7.3M lines, refunds,
   Meta/Google/TikTok rows) straight into DuckDB with SQL (`sql/marts_raw_zone.sql`: the raw
   contract's columns, as the connectors write them), since simulating and extracting 3.65M
   orders would time the sandbox rather than the marts.
2. Full build: `dbt build` of every model and test, as `martlake run --full-refresh` runs it.
3. Daily run: appends the next day as a new extraction, as the morning run loads it: Shopify's
   7-day lookback again (the orders placed in the last 8 days and those refunded in them, each
   with its lines and refunds) and the ad platforms' 28-day lookback, then builds again.
4. Prints each model's materialization and time in both builds (from dbt's run_results.json),
   the time of all data tests, daily ÷ full for the models alone and for the whole build
   (target < 0.1: met / NOT MET). The incremental models rebuild only the orders (customers)
   the new extraction touched; the data tests still check every row in both builds.

Run: `python tests/bench/bench_marts.py [--days N] [--orders-per-day N] [--keep]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from martlake.transform import run_dbt  # noqa: E402

RAW_CONTRACT = ROOT / "tests" / "fixtures" / "raw" / "raw_zone.sql"
GENERATOR = Path(__file__).parent / "sql" / "marts_raw_zone.sql"
TARGET_RATIO = 0.1
AD_LOOKBACK_DAYS = 28
SHOPIFY_LOOKBACK_DAYS = 7
VARS: dict[str, object] = {
    "configured_sources": ["google_ads", "meta_ads", "shopify", "tiktok_ads"],
}


def extract(database: Path, *, data_start: date, first: date, last: date, opd: int) -> float:
    """Append one extraction of the days `first`…`last` (and of the orders refunded in them)
    to the raw zone, loaded the morning after `last`; returns seconds."""
    sql = GENERATOR.read_text()
    loaded = last + timedelta(days=1)
    values = {
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "updated_from": first.isoformat(),
        "data_start": data_start.isoformat(),
        "ingested_at": f"timestamptz '{loaded.isoformat()} 06:00:00+00'",
        "ad_first_day": max(data_start, last - timedelta(days=AD_LOOKBACK_DAYS - 1)).isoformat()
        if first > data_start
        else first.isoformat(),
        "opd": str(opd),
        "run": f"bench-{last.isoformat()}",
    }
    for key, value in values.items():
        sql = sql.replace("{" + key + "}", value)
    started = time.perf_counter()
    with duckdb.connect(str(database)) as con:
        con.execute(sql)
    return time.perf_counter() - started


@dataclass
class Build:
    """One `dbt build`: wall time, each model's execution time, all tests' time."""

    seconds: float
    models: dict[str, float]
    tests: float
    materialized: dict[str, str]


def build(database: Path, state_dir: Path, *, full_refresh: bool) -> Build:
    """`dbt build` of every model and test, timed from dbt's run_results.json."""
    started = time.perf_counter()
    result = run_dbt(
        "build", database=database, state_dir=state_dir, full_refresh=full_refresh, vars=VARS
    )
    seconds = time.perf_counter() - started
    for node in result.failed:
        print(f"  ! {node.resource_type} {node.name} {node.status}: {(node.message or '')[:200]}")
    target = state_dir / "target"
    results = json.loads((target / "run_results.json").read_text())["results"]
    manifest = json.loads((target / "manifest.json").read_text())["nodes"]
    return Build(
        seconds=seconds,
        models={
            r["unique_id"].split(".")[-1]: float(r["execution_time"])
            for r in results
            if r["unique_id"].startswith("model.")
        },
        tests=sum(
            float(r["execution_time"]) for r in results if r["unique_id"].startswith("test.")
        ),
        materialized={
            node["name"]: node["config"]["materialized"]
            for node in manifest.values()
            if node["resource_type"] == "model"
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=365, help="days in the full build")
    parser.add_argument("--orders-per-day", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="martlake-bench-marts-"))
    database = workdir / "warehouse.duckdb"
    state_dir = workdir / "dbt"
    start = date(2025, 1, 1)
    last = start + timedelta(days=args.days - 1)
    opd = args.orders_per_day
    try:
        with duckdb.connect(str(database)) as con:
            con.execute(RAW_CONTRACT.read_text())
        seconds = extract(
            database, data_start=start, first=start, last=last, opd=args.orders_per_day
        )
        print(
            f"Raw zone: {args.days} days × {args.orders_per_day:,} orders/day written in"
            f" {seconds:.1f}s ({workdir})",
            flush=True,
        )
        full = build(database, state_dir, full_refresh=True)
        print(f"Full build: {full.seconds:.1f}s", flush=True)
        next_day = last + timedelta(days=1)
        lookback = max(start, next_day - timedelta(days=SHOPIFY_LOOKBACK_DAYS))
        extract(database, data_start=start, first=lookback, last=next_day, opd=opd)
        daily = build(database, state_dir, full_refresh=False)
        print(f"Daily build (+1 day): {daily.seconds:.1f}s\n")
        print(f"  {'model':<38} {'materialized':<12} {'full s':>8} {'daily s':>8} {'ratio':>6}")
        for name in sorted(full.models, key=lambda n: -full.models[n]):
            f, d = full.models[name], daily.models.get(name, 0.0)
            kind = daily.materialized.get(name, "")
            print(f"  {name:<38} {kind:<12} {f:8.2f} {d:8.2f} {d / f if f else 0.0:6.2f}")
        model_full, model_daily = sum(full.models.values()), sum(daily.models.values())
        print(f"  {'all models':<51} {model_full:8.2f} {model_daily:8.2f}")
        print(f"  {'all tests':<51} {full.tests:8.2f} {daily.tests:8.2f}")
        print(f"\nDaily ÷ full, model time only: {model_daily / model_full:.3f}")
        ratio = daily.seconds / full.seconds
        verdict = "met" if ratio < TARGET_RATIO else "NOT MET"
        print(f"Daily ÷ full build (wall): {ratio:.3f} (target < {TARGET_RATIO}): {verdict}")
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
