"""`make bench`: time each step of the demo, and load throughput against dlt's dict-row path.

1. Runs the full demo (one year, ~300 orders/day) in a temporary project and prints each step.
2. Fetches the same Shopify pages from the emulator once, then loads them into fresh DuckDB
   files twice — through martlake's path (pages → pyarrow tables → dlt) and through dlt's
   dict-row path (pages → flattened dicts → dlt) — and prints rows/s and the ratio.

Run: `python tests/bench/bench_pipeline.py [--days N] [--orders-per-day N] [--dict-orders N]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from tests.sandbox_project import make_sandbox_project, project  # noqa: E402

from martlake.config import ShopifySettings  # noqa: E402
from martlake.pipeline import run_pipeline, simulator_config  # noqa: E402
from martlake.pipeline._dlt import _DLT_DEFAULTS  # noqa: E402
from martlake.sandbox import SANDBOX_SHOPIFY_TOKEN, Business, EmulatorServer  # noqa: E402
from martlake.sources import ExtractContext, ShopifySource  # noqa: E402


class Timings:
    def __init__(self) -> None:
        self.steps: list[tuple[str, str, int | None, float]] = []

    def step_started(self, step: str, index: int, total: int) -> None:
        print(f"  {index}/{total} {step} ...", flush=True)

    def unit(self, step: str, name: str, status: str, rows: int | None, seconds: float) -> None:
        pass

    def step_finished(
        self, step: str, status: str, rows: int | None, seconds: float, message: str | None
    ) -> None:
        self.steps.append((step, status, rows, seconds))


def bench_demo(workdir: Path, days: int, orders_per_day: int) -> None:
    end = date.today() - timedelta(days=1)
    root = make_sandbox_project(
        workdir / "demo",
        start=end - timedelta(days=days - 1),
        end=end,
        orders_per_day=orders_per_day,
        seed=42,
    )
    timings = Timings()
    started = time.perf_counter()
    result = run_pipeline(project(root), progress=timings)
    total = time.perf_counter() - started
    print(f"\nDemo run: {days} days at ~{orders_per_day} orders/day, exit code {result.exit_code}")
    print(f"  {'step':<10} {'status':<7} {'rows':>12} {'seconds':>9}")
    for step, status, rows, seconds in timings.steps:
        shown = f"{rows:,}" if rows is not None else ""
        print(f"  {step:<10} {status:<7} {shown:>12} {seconds:>9.2f}")
    print(f"  {'total':<10} {'':<7} {'':>12} {total:>9.2f}")


def fetch_pages(business: Business) -> tuple[list[list[dict[str, Any]]], str]:
    """Every orders page as the emulator serves it (decoded JSON), plus the shop timezone."""
    pages = []
    with (
        EmulatorServer(business) as server,
        httpx.Client(
            base_url=server.shopify_base_url,
            headers={"X-Shopify-Access-Token": SANDBOX_SHOPIFY_TOKEN},
            timeout=60,
        ) as client,
    ):
        url: str | None = "/admin/api/2024-10/orders.json?status=any&limit=250"
        while url:
            response = client.get(url)
            pages.append(response.json()["orders"])
            nxt = response.links.get("next", {}).get("url")
            url = nxt
        tz = client.get("/admin/api/2024-10/shop.json").json()["shop"]["iana_timezone"]
    return pages, tz


def load(workdir: Path, name: str, resource: Any) -> float:
    import dlt

    for key, value in _DLT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    started = time.perf_counter()
    pipeline = dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(workdir / "dlt"),
        destination=dlt.destinations.duckdb(credentials=str(workdir / f"{name}.duckdb")),
        dataset_name="raw_shopify",
    )
    pipeline.extract(resource)
    pipeline.normalize()
    pipeline.load()
    return time.perf_counter() - started


def bench_load(workdir: Path, days: int, orders_per_day: int, dict_orders: int) -> None:
    import dlt

    end = date.today() - timedelta(days=1)
    root = make_sandbox_project(
        workdir / "pages",
        start=end - timedelta(days=days - 1),
        end=end,
        orders_per_day=orders_per_day,
        seed=42,
    )
    business = Business(simulator_config(project(root)))
    pages, tz = fetch_pages(business)
    settings = ShopifySettings(shop="dtc-brand.myshopify.com")
    source = ShopifySource(settings)
    ctx = ExtractContext(run_id="bench")

    def arrow_batches(selected: list[list[dict[str, Any]]]) -> Any:
        for page in selected:
            for batch in source._page_to_batches(page, tz, ctx):
                yield dlt.mark.with_table_name(batch.data, batch.table)

    def dict_rows(selected: list[list[dict[str, Any]]]) -> Any:
        # The same rows, flattened the same way, but handed to dlt as Python dicts.
        for page in selected:
            for batch in source._page_to_batches(page, tz, ctx):
                for row in batch.data.to_pylist():
                    yield dlt.mark.with_table_name(row, batch.table)

    def row_count(selected: list[list[dict[str, Any]]]) -> int:
        return sum(b.data.num_rows for p in selected for b in source._page_to_batches(p, tz, ctx))

    subset, count = [], 0
    for page in pages:
        if count >= dict_orders:
            break
        subset.append(page)
        count += len(page)

    all_rows = row_count(pages)
    sub_rows = row_count(subset)
    ours_all = load(workdir, "arrow_all", dlt.resource(arrow_batches(pages), name="shopify"))
    ours_sub = load(workdir, "arrow_sub", dlt.resource(arrow_batches(subset), name="shopify"))
    dicts = load(workdir, "dicts_sub", dlt.resource(dict_rows(subset), name="shopify"))
    orders = sum(len(p) for p in pages)
    print(f"\nLoad throughput (pages already fetched; {orders:,} orders, {all_rows:,} rows)")
    print(f"  martlake arrow path, all pages : {all_rows / ours_all:>10,.0f} rows/s")
    print(
        f"  martlake arrow path, subset    : {sub_rows / ours_sub:>10,.0f} rows/s "
        f"({sub_rows:,} rows)"
    )
    print(f"  dlt dict-row path, same subset : {sub_rows / dicts:>10,.0f} rows/s")
    print(f"  ratio arrow / dict (same rows) : {dicts / ours_sub:>10.1f}x  (target >= 10x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--orders-per-day", type=int, default=300)
    parser.add_argument("--dict-orders", type=int, default=30_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="martlake-bench-"))
    try:
        bench_demo(workdir, args.days, args.orders_per_day)
        bench_load(workdir, args.days, args.orders_per_day, args.dict_orders)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
