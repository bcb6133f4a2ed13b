"""`make bench`: time each step of the demo, then load throughput against dlt dicts and DuckDB.

1. Runs the full demo (one year, ~300 orders/day) in a temporary project and prints each step.
2. Fetches Shopify orders pages (1M order lines) and Meta insights pages (1M ad rows) from the
   emulators once, saves them to disk, and loads them into fresh DuckDB files through martlake's
   path, dlt's dict-row path (on a subset) and DuckDB's `read_json_auto` with SQL; see
   `load_throughput.py` for how each is measured.

Run: `python tests/bench/bench_pipeline.py [--quick] [--rows N] [--skip-demo] [--profile N]`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from load_throughput import bench_load  # noqa: E402
from tests.sandbox_project import make_sandbox_project, project  # noqa: E402

from martlake.pipeline import run_pipeline  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=365, help="demo: simulated days")
    parser.add_argument("--orders-per-day", type=int, default=300, help="demo: orders per day")
    parser.add_argument("--skip-demo", action="store_true", help="only the load throughput part")
    parser.add_argument(
        "--rows", type=int, help="set both --shopify-lines and --ad-rows (e.g. 200000)"
    )
    parser.add_argument("--shopify-lines", type=int, default=1_000_000)
    parser.add_argument("--ad-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--dict-rows", type=int, default=50_000, help="rows of the dlt dict-row subset"
    )
    parser.add_argument(
        "--only", choices=["shopify", "meta_ads"], action="append", help="one source (repeatable)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="iterate fast: 60-day demo at 100 orders/day, 100k rows, 20k dict rows",
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="cProfile ours, print top N functions"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if args.quick:
        args.days, args.orders_per_day = 60, 100
        args.shopify_lines = args.ad_rows = 100_000
        args.dict_rows = 20_000
    if args.rows:
        args.shopify_lines = args.ad_rows = args.rows
    workdir = Path(tempfile.mkdtemp(prefix="martlake-bench-"))
    started = time.perf_counter()
    try:
        if not args.skip_demo:
            bench_demo(workdir, args.days, args.orders_per_day)
        bench_load(
            workdir,
            shopify_lines=args.shopify_lines,
            ad_rows=args.ad_rows,
            dict_rows=args.dict_rows,
            shopify_days=365,
            only=args.only or ["shopify", "meta_ads"],
            profile=args.profile,
        )
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nmake bench total: {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
