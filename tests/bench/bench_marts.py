"""`make bench` (marts part): how long the shipped dbt project takes on a year of a big shop,
built from scratch and then after one more day of data.

1. Writes the raw zone of one year at 10,000 orders/day (3.65M orders, 7.3M lines, refunds,
   Meta/Google/TikTok rows) straight into DuckDB with SQL (`sql/marts_raw_zone.sql`: the raw
   contract's columns, as the connectors write them), since simulating and extracting 3.65M
   orders would time the sandbox rather than the marts.
2. Full build: `dbt build` of every model and test, as `martlake run --full-refresh` runs it.
3. Daily run: appends the next day as a new extraction (its orders, the refunds of that day,
   the ad platforms' 28-day lookback again) and runs the build again, as the morning run does.
4. Prints each model's time in both builds (from dbt's run_results.json) and daily ÷ full
   (target < 0.1: met / NOT MET).

Run: `python tests/bench/bench_marts.py [--days N] [--orders-per-day N] [--keep]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
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
VARS: dict[str, object] = {
    "configured_sources": ["google_ads", "meta_ads", "shopify", "tiktok_ads"],
}


def extract(database: Path, *, data_start: date, first: date, last: date, opd: int) -> float:
    """Append one extraction of the days `first`…`last` to the raw zone; returns seconds."""
    sql = GENERATOR.read_text()
    values = {
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "data_start": data_start.isoformat(),
        "ad_first_day": max(data_start, last - timedelta(days=AD_LOOKBACK_DAYS - 1)).isoformat()
        if first == last
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


def build(database: Path, state_dir: Path, *, full_refresh: bool) -> tuple[float, dict[str, float]]:
    """`dbt build`; returns its wall time and each model's execution time."""
    started = time.perf_counter()
    result = run_dbt(
        "build", database=database, state_dir=state_dir, full_refresh=full_refresh, vars=VARS
    )
    seconds = time.perf_counter() - started
    for node in result.failed:
        print(f"  ! {node.resource_type} {node.name} {node.status}: {(node.message or '')[:200]}")
    results = json.loads((state_dir / "target" / "run_results.json").read_text())
    models = {
        r["unique_id"].split(".")[-1]: float(r["execution_time"])
        for r in results["results"]
        if r["unique_id"].startswith("model.")
    }
    return seconds, models


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
        full_seconds, full = build(database, state_dir, full_refresh=True)
        print(f"Full build: {full_seconds:.1f}s", flush=True)
        next_day = last + timedelta(days=1)
        extract(database, data_start=start, first=next_day, last=next_day, opd=opd)
        daily_seconds, daily = build(database, state_dir, full_refresh=False)
        print(f"Daily build (+1 day): {daily_seconds:.1f}s\n")
        print(f"  {'model':<42} {'full s':>8} {'daily s':>8} {'ratio':>6}")
        for name in sorted(full, key=lambda n: -full[n]):
            ratio = daily.get(name, 0.0) / full[name] if full[name] else 0.0
            print(f"  {name:<42} {full[name]:8.2f} {daily.get(name, 0.0):8.2f} {ratio:6.2f}")
        model_full, model_daily = sum(full.values()), sum(daily.values())
        print(f"  {'all models':<42} {model_full:8.2f} {model_daily:8.2f}")
        ratio = daily_seconds / full_seconds
        verdict = "met" if ratio < TARGET_RATIO else "NOT MET"
        print(f"\nDaily ÷ full, model time only: {model_daily / model_full:.2f}")
        print(
            f"Daily ÷ full build (wall): {ratio:.2f} (target < {TARGET_RATIO}): {verdict}"
            " — models materialized as tables rebuild in full every run; only the incremental"
            " ones (customer_ltv, ltv_cohorts) read just what changed"
        )
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
