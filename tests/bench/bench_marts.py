"""`make bench` (marts part): how long the shipped dbt project takes on a year of a big shop,
built from scratch and then after one more day of data.

1. Writes the raw zone of one year at 10,000 orders/day (3.65M orders, 7.3M lines, refunds,
   Meta/Google/TikTok rows) straight into DuckDB with SQL (`sql/marts_raw_zone.sql`: the raw
   contract's columns, as the connectors write them), since simulating and extracting 3.65M
   orders would time the sandbox rather than the marts.
2. Full build: `dbt run` of every model as `martlake run --full-refresh` runs it, then
   `dbt test` of every data test, timed apart.
3. Daily run: appends the next day as a new extraction, as the morning run loads it: Shopify's
   7-day lookback again (the orders placed in the last 8 days and those refunded in them, each
   with its lines and refunds) and the ad platforms' 28-day lookback, then runs and tests
   again.
4. Prints each model's materialization and time in both builds (from dbt's run_results.json),
   the time of `dbt run` and of `dbt test`, and daily ÷ full for `dbt run` (the target,
   < 0.1: met / NOT MET) and for the tests. dbt runs with martlake's default threads, as
   `martlake run` does: models without a path between them build at the same time, so the
   models' times add up to more than the wall time. The incremental models rebuild only the orders
   (customers, days, months) the new extraction touched; the data tests still check every row
   in both builds.

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
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from martlake.transform import run_dbt  # noqa: E402
from martlake.transform.runner import DEFAULT_THREADS  # noqa: E402

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
    """One build: `dbt run` of every model, then `dbt test` of every data test; wall time of
    each, each model's execution time, all tests' execution time."""

    run_seconds: float
    test_seconds: float
    models: dict[str, float]
    tests: float
    slowest_tests: list[tuple[str, float]]
    materialized: dict[str, str]


def _results(state_dir: Path) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = json.loads(
        (state_dir / "target" / "run_results.json").read_text()
    )["results"]
    return results


def build(database: Path, state_dir: Path, *, full_refresh: bool) -> Build:
    """`dbt run` of every model, then `dbt test`, timed apart (from dbt's run_results.json)."""
    timed: dict[str, float] = {}
    results: dict[str, list[dict[str, Any]]] = {}
    for command in ("run", "test"):
        started = time.perf_counter()
        result = run_dbt(
            command,
            database=database,
            state_dir=state_dir,
            full_refresh=full_refresh and command == "run",
            vars=VARS,
        )
        timed[command] = time.perf_counter() - started
        for node in result.failed:
            print(
                f"  ! {node.resource_type} {node.name} {node.status}: {(node.message or '')[:200]}"
            )
        results[command] = _results(state_dir)
    manifest = json.loads((state_dir / "target" / "manifest.json").read_text())["nodes"]
    return Build(
        run_seconds=timed["run"],
        test_seconds=timed["test"],
        models={
            r["unique_id"].split(".")[-1]: float(r["execution_time"])
            for r in results["run"]
            if r["unique_id"].startswith("model.")
        },
        tests=sum(
            float(r["execution_time"])
            for r in results["test"]
            if r["unique_id"].startswith("test.")
        ),
        slowest_tests=sorted(
            (
                (r["unique_id"].split(".")[2][:50], float(r["execution_time"]))
                for r in results["test"]
                if r["unique_id"].startswith("test.")
            ),
            key=lambda item: -item[1],
        )[:5],
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
        print(f"dbt threads: {DEFAULT_THREADS}", flush=True)
        full = build(database, state_dir, full_refresh=True)
        print(f"Full build: dbt run {full.run_seconds:.1f}s, dbt test {full.test_seconds:.1f}s",
              flush=True)  # fmt: skip
        next_day = last + timedelta(days=1)
        lookback = max(start, next_day - timedelta(days=SHOPIFY_LOOKBACK_DAYS))
        extract(database, data_start=start, first=lookback, last=next_day, opd=opd)
        daily = build(database, state_dir, full_refresh=False)
        print(f"Daily build (+1 day): dbt run {daily.run_seconds:.1f}s,"
              f" dbt test {daily.test_seconds:.1f}s\n")  # fmt: skip
        print(f"  {'model':<38} {'materialized':<12} {'full s':>8} {'daily s':>8} {'ratio':>6}")
        for name in sorted(full.models, key=lambda n: -full.models[n]):
            f, d = full.models[name], daily.models.get(name, 0.0)
            kind = daily.materialized.get(name, "")
            print(f"  {name:<38} {kind:<12} {f:8.2f} {d:8.2f} {d / f if f else 0.0:6.2f}")
        model_full, model_daily = sum(full.models.values()), sum(daily.models.values())
        print(f"  {'all models (sum)':<51} {model_full:8.2f} {model_daily:8.2f}")
        print(f"  {'dbt run (wall)':<51} {full.run_seconds:8.2f} {daily.run_seconds:8.2f}")
        print(f"  {'all tests (sum)':<51} {full.tests:8.2f} {daily.tests:8.2f}")
        print(f"  {'dbt test (wall)':<51} {full.test_seconds:8.2f} {daily.test_seconds:8.2f}")
        slowest = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in daily.slowest_tests)
        print(f"  slowest tests (daily): {slowest}")
        print(f"\nDaily ÷ full, model time only (sum): {model_daily / model_full:.3f}")
        tests = daily.test_seconds / full.test_seconds
        print(f"Daily ÷ full, dbt test (wall): {tests:.3f} (the tests check every row each time)")
        ratio = daily.run_seconds / full.run_seconds
        verdict = "met" if ratio < TARGET_RATIO else "NOT MET"
        print(f"Daily ÷ full, dbt run (wall): {ratio:.3f} (target < {TARGET_RATIO}): {verdict}")
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
