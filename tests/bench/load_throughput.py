"""Load throughput: emulator pages → raw DuckDB, martlake's path against dlt dicts and DuckDB SQL.

Pages are fetched once over HTTP from the sandbox emulators and written to disk exactly as served
(one response body per file); every path then starts from those files, so HTTP is never counted:

- ours:   each page read and checked as the connectors check a served page (`orders_page`,
          `insights_page`) → `ShopifySource.order_batches` / `MetaAdsSource.insight_batches`,
          the connectors' production path (the SQL path of `sources/_arrow_sql.py`, the Python
          path where it misses) → the `[privacy.columns]` rules (`PiiPolicy.protect`, as the
          extract step runs them) → `martlake.pipeline._dlt.dlt_resource` (coalesced batches) →
          dlt extract/normalize/load.
- dicts:  the same rows (`Table.to_pylist()` of the same batches, one list per batch) handed to
          dlt as Python dicts; measured on the first pages holding ≥ `dict_rows` rows.
- duckdb: `read_json_auto` over the page files and the SQL in `sql/<source>.sql`, which produces
          the same tables (checked with EXCEPT ALL against ours, outside the timings).

Rows are every raw row written (Shopify: orders, order_lines, refund_lines,
refund_transactions).
"""

from __future__ import annotations

import cProfile
import io
import json
import logging
import math
import os
import pstats
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx

from martlake.config import MetaAdsSettings, PrivacySettings, ShopifySettings
from martlake.pipeline._dlt import _DLT_DEFAULTS, dlt_resource
from martlake.privacy import PiiPolicy
from martlake.sandbox import (
    SANDBOX_META_TOKEN,
    SANDBOX_SHOPIFY_TOKEN,
    Business,
    EmulatorServer,
    SimulatorConfig,
)
from martlake.sources import Batch, ExtractContext, MetaAdsSource, ShopifySource, Source
from martlake.sources.meta_ads.source import FIELDS, insights_page
from martlake.sources.shopify.source import orders_page

SQL_DIR = Path(__file__).with_name("sql")
END = date(2025, 6, 30)
RUN_ID = "bench"
SHOP = "dtc-brand.myshopify.com"
META_ACCOUNT = "1234567890"
# Sandbox averages: ~2.2 line items per order, ~19.4 Meta ads delivering per day (20 in catalog).
LINES_PER_ORDER = 2.0
ADS_PER_DAY = 19.0
# Meta: one ad-level insights row per ad and day; the catalog has 20 ads, so 1M rows need
# ~140 years of days. A small shop (few orders) keeps the simulation quick; no growth keeps
# 140 years of compounding out of the spend.
META_ORDERS_PER_DAY = 5
TARGET_FACTOR_OURS_VS_DICTS = 10.0
TARGET_FACTOR_OURS_VS_DUCKDB = 0.5


@dataclass
class Fetched:
    """Pages of one source on disk, and what fetching them cost."""

    name: str
    unit: str
    files: list[Path]
    units: int
    http_seconds: float
    simulate_seconds: float
    bytes: int
    meta: dict[str, str] = field(default_factory=dict)


@dataclass
class Measure:
    path: str
    rows: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else math.inf


def _write_page(folder: Path, index: int, body: bytes) -> Path:
    path = folder / f"page-{index:06d}.json"
    path.write_bytes(body)
    return path


def fetch_shopify(workdir: Path, target_lines: int, days: int) -> Fetched:
    """Simulate a shop with ≥ `target_lines` order lines; save orders pages until reached."""
    per_day = max(1, math.ceil(target_lines / (LINES_PER_ORDER * days)))
    config = SimulatorConfig(
        seed=42, start_date=END - timedelta(days=days - 1), end_date=END, orders_per_day=per_day
    )
    business = Business(config)
    started = time.perf_counter()
    _ = business.order_count
    simulate = time.perf_counter() - started
    folder = workdir / "pages" / "shopify"
    folder.mkdir(parents=True)
    files: list[Path] = []
    lines = size = 0
    started = time.perf_counter()
    with (
        EmulatorServer(business) as server,
        httpx.Client(
            base_url=server.shopify_base_url,
            headers={"X-Shopify-Access-Token": SANDBOX_SHOPIFY_TOKEN},
            timeout=120,
        ) as client,
    ):
        tz = client.get("/admin/api/2024-10/shop.json").json()["shop"]["iana_timezone"]
        url: str | None = "/admin/api/2024-10/orders.json?status=any&limit=250"
        while url and lines < target_lines:
            response = client.get(url)
            response.raise_for_status()
            body = response.content
            files.append(_write_page(folder, len(files), body))
            size += len(body)
            lines += sum(len(o.get("line_items") or []) for o in json.loads(body)["orders"])
            url = response.links.get("next", {}).get("url")
    seconds = time.perf_counter() - started
    del business
    return Fetched(
        "shopify", "order lines", files, lines, seconds, simulate, size, {"timezone": tz}
    )


def fetch_meta(workdir: Path, target_rows: int, page_size: int) -> Fetched:
    """Simulate enough days of the Meta account; save ad-level daily pages until reached."""
    days = math.ceil(target_rows / ADS_PER_DAY)
    config = SimulatorConfig(
        seed=42,
        start_date=END - timedelta(days=days - 1),
        end_date=END,
        orders_per_day=META_ORDERS_PER_DAY,
        growth=0.0,
    )
    business = Business(config)
    started = time.perf_counter()
    _ = business.meta_insights
    simulate = time.perf_counter() - started
    folder = workdir / "pages" / "meta_ads"
    folder.mkdir(parents=True)
    files: list[Path] = []
    rows = size = 0
    started = time.perf_counter()
    with (
        EmulatorServer(business) as server,
        httpx.Client(
            base_url=f"{server.meta_base_url}/{MetaAdsSettings.model_fields['api_version'].default}",
            headers={"Authorization": f"Bearer {SANDBOX_META_TOKEN}"},
            timeout=120,
        ) as client,
    ):
        info = client.get(
            f"/act_{META_ACCOUNT}", params={"fields": "name,currency,timezone_name"}
        ).json()
        # One long time range instead of the source's 31-day windows: the same page shape,
        # without re-slicing the simulator's table once per window.
        params: dict[str, Any] | None = {
            "level": "ad",
            "time_increment": 1,
            "time_range": json.dumps(
                {"since": config.start_date.isoformat(), "until": END.isoformat()}
            ),
            "fields": ",".join(FIELDS),
            "limit": page_size,
        }
        url: str | None = f"/act_{META_ACCOUNT}/insights"
        while url and rows < target_rows:
            response = client.get(url, params=params)
            response.raise_for_status()
            body = response.content
            files.append(_write_page(folder, len(files), body))
            size += len(body)
            decoded = json.loads(body)
            rows += len(decoded["data"])
            url, params = (decoded.get("paging") or {}).get("next"), None
    seconds = time.perf_counter() - started
    del business
    meta = {
        "account_name": info["name"],
        "currency": info["currency"],
        "timezone": info["timezone_name"],
        "days": str(days),
    }
    return Fetched("meta_ads", "ad rows", files, rows, seconds, simulate, size, meta)


@dataclass
class Stream:
    """How one source turns page files into batches, and how DuckDB SQL does the same."""

    fetched: Fetched
    source: Source
    batches: Callable[[list[Path]], Iterator[Batch]]
    sql_params: dict[str, str]
    tables: tuple[str, ...]
    """The raw tables built from pages (not bookkeeping tables a source may add per window)."""

    @property
    def name(self) -> str:
        return self.fetched.name

    @property
    def dataset(self) -> str:
        return self.source.dataset


def shopify_stream(fetched: Fetched) -> Stream:
    source = ShopifySource(ShopifySettings(shop=SHOP))
    ctx = ExtractContext(run_id=RUN_ID)
    tz = fetched.meta["timezone"]

    def batches(files: list[Path]) -> Iterator[Batch]:
        bodies = (orders_page(path.read_bytes(), str(path)) for path in files)
        yield from source.order_batches(bodies, tz, ctx)

    params = {
        "shop": SHOP,
        "timezone": tz,
        "country": ctx.privacy.default_phone_country_code,
    }
    tables = ("orders", "order_lines", "refund_lines", "refund_transactions")
    return Stream(fetched, source, batches, params, tables)


def meta_stream(fetched: Fetched) -> Stream:
    source = MetaAdsSource(MetaAdsSettings(account_ids=[META_ACCOUNT]))
    ctx = ExtractContext(run_id=RUN_ID)
    info = {"name": fetched.meta["account_name"], "currency": fetched.meta["currency"]}
    tz = fetched.meta["timezone"]

    def batches(files: list[Path]) -> Iterator[Batch]:
        pages = (insights_page(path.read_bytes(), META_ACCOUNT, str(path)) for path in files)
        yield from source.insight_batches(pages, META_ACCOUNT, info, tz, ctx)

    params = {
        "account_id": META_ACCOUNT,
        "account_name": info["name"],
        "currency": info["currency"],
        "timezone": tz,
    }
    return Stream(fetched, source, batches, params, ("insights",))


@dataclass
class DltTimes:
    extract: float = 0.0
    normalize: float = 0.0
    load: float = 0.0

    @property
    def total(self) -> float:
        return self.extract + self.normalize + self.load


def _dlt_run(workdir: Path, name: str, dataset: str, resource_: Any) -> DltTimes:
    for key, value in _DLT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    import dlt

    times = DltTimes()
    started = time.perf_counter()
    pipeline = dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(workdir / "dlt"),
        destination=dlt.destinations.duckdb(credentials=str(workdir / f"{name}.duckdb")),
        dataset_name=dataset,
    )
    pipeline.extract(resource_)
    times.extract = time.perf_counter() - started
    started = time.perf_counter()
    pipeline.normalize()
    times.normalize = time.perf_counter() - started
    started = time.perf_counter()
    pipeline.load()
    times.load = time.perf_counter() - started
    return times


def _counted(batches: Iterator[Batch], counts: list[int]) -> Iterator[Batch]:
    for batch in batches:
        counts[0] += batch.data.num_rows
        yield batch


def run_ours(workdir: Path, stream: Stream, files: list[Path], tag: str) -> tuple[int, DltTimes]:
    counts = [0]
    # As the extract step does: the PII column rules run on every batch before dlt sees it.
    policy = PiiPolicy.from_settings(PrivacySettings())
    batches = policy.protect(stream.name, stream.batches(files))
    resource_ = dlt_resource(stream.source, _counted(batches, counts))
    times = _dlt_run(workdir, f"ours_{stream.name}_{tag}", stream.dataset, resource_)
    return counts[0], times


def run_dicts(workdir: Path, stream: Stream, files: list[Path]) -> tuple[int, DltTimes]:
    import dlt

    counts = [0]

    def rows() -> Iterator[Any]:
        # One list of dicts per batch: dlt's fastest way to take Python rows for several tables.
        for batch in stream.batches(files):
            counts[0] += batch.data.num_rows
            yield dlt.mark.with_table_name(batch.data.to_pylist(), batch.table)

    resource_ = dlt.resource(rows, name=stream.name, write_disposition="append")
    # dlt warns that all-null columns (cancelled_at) cannot be typed from dicts; known, not news.
    logging.getLogger("dlt").setLevel(logging.ERROR)
    times = _dlt_run(workdir, f"dicts_{stream.name}", stream.dataset, resource_)
    return counts[0], times


def duckdb_sql(stream: Stream) -> str:
    folder = stream.fetched.files[0].parent if stream.fetched.files else Path(".")
    params = {**stream.sql_params, "pages": str(folder / "page-*.json"), "run_id": RUN_ID}
    sql = (SQL_DIR / f"{stream.name}.sql").read_text()
    for key, value in params.items():
        sql = sql.replace(f"@{key}@", value.replace("'", "''"))
    return sql


def run_duckdb(workdir: Path, stream: Stream) -> tuple[int, float, Path]:
    path = workdir / f"duckdb_{stream.name}.duckdb"
    sql = duckdb_sql(stream)
    started = time.perf_counter()
    con = duckdb.connect(str(path))
    con.execute(f"CREATE SCHEMA {stream.dataset}")
    con.execute(sql)
    rows = sum(
        con.execute(f"SELECT count(*) FROM {stream.dataset}.{table}").fetchone()[0]  # type: ignore[index]
        for table in stream.tables
    )
    con.close()
    return rows, time.perf_counter() - started, path


def compare_tables(stream: Stream, ours_db: Path, duck_db: Path) -> list[str]:
    """Rows present in one side and not the other, per table (lineage stamps left out)."""
    con = duckdb.connect(str(duck_db), read_only=True)
    con.execute(f"ATTACH '{ours_db}' AS ours (READ_ONLY)")
    problems = []
    for table in stream.tables:
        schema = stream.source.schemas[table]
        cols = ", ".join(
            f"json({name})" if name.endswith("_json") else name for name in schema.names
        )
        ds = stream.dataset
        a = f"SELECT {cols}, _source FROM ours.{ds}.{table}"
        b = f"SELECT {cols}, _source FROM {ds}.{table}"
        only_ours = con.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchone()
        only_duck = con.execute(f"SELECT count(*) FROM ({b} EXCEPT ALL {a})").fetchone()
        if only_ours and only_duck and (only_ours[0] or only_duck[0]):
            problems.append(
                f"{table}: {only_ours[0]:,} rows only in ours, {only_duck[0]:,} only in duckdb"
            )
    con.close()
    return problems


def subset(stream: Stream, min_rows: int) -> tuple[list[Path], int]:
    """The first page files holding at least `min_rows` raw rows."""
    files: list[Path] = []
    rows = 0
    for path in stream.fetched.files:
        if rows >= min_rows:
            break
        files.append(path)
        rows += sum(b.data.num_rows for b in stream.batches([path]))
    return files, rows


def time_conversion(stream: Stream) -> float:
    """Seconds for pages→arrow (reading the files included) over every page, without dlt."""
    started = time.perf_counter()
    for _ in stream.batches(stream.fetched.files):
        pass
    return time.perf_counter() - started


def profile_ours(workdir: Path, stream: Stream, top: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    run_ours(workdir, stream, stream.fetched.files, "profile")
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    dump = Path(tempfile.gettempdir()) / f"martlake-bench-{stream.name}.prof"
    stats.dump_stats(str(dump))
    return f"(saved to {dump})\n{out.getvalue()}"


def _fmt_rate(rate: float) -> str:
    return f"{rate:,.0f}"


def bench_stream(workdir: Path, stream: Stream, dict_rows: int, profile: int) -> None:
    f = stream.fetched
    print(
        f"\n{stream.name}: {f.units:,} {f.unit} in {len(f.files):,} pages, "
        f"{f.bytes / 1e6:,.0f} MB of JSON on disk",
        flush=True,
    )
    print(
        f"  fetch (not counted in any path): simulate {f.simulate_seconds:.1f}s, "
        f"HTTP {f.http_seconds:.1f}s ({f.units / f.http_seconds:,.0f} {f.unit}/s)",
        flush=True,
    )

    convert = time_conversion(stream)
    rows, ours_t = run_ours(workdir, stream, f.files, "all")
    ours = Measure("martlake (arrow → dlt)", rows, ours_t.total)
    print(
        f"  ours: {rows:,} rows in {ours_t.total:.1f}s = dlt extract {ours_t.extract:.1f}s "
        f"(of which pages→arrow ~{convert:.1f}s, timed alone) "
        f"+ normalize {ours_t.normalize:.1f}s + load {ours_t.load:.1f}s",
        flush=True,
    )

    files, _ = subset(stream, dict_rows)
    sub_rows, sub_t = run_ours(workdir, stream, files, "subset")
    ours_sub = Measure("martlake, dict subset", sub_rows, sub_t.total)
    d_rows, d_t = run_dicts(workdir, stream, files)
    extrapolated = d_t.total * rows / d_rows if d_rows else math.inf
    dicts = Measure(
        "(a) dlt dict rows",
        d_rows,
        d_t.total,
        f"measured on {d_rows:,} rows ({len(files)} pages); {rows:,} rows would take "
        f"~{extrapolated:,.0f}s",
    )
    print(
        f"  dicts: {d_rows:,} rows in {d_t.total:.1f}s = extract {d_t.extract:.1f}s "
        f"+ normalize {d_t.normalize:.1f}s + load {d_t.load:.1f}s",
        flush=True,
    )

    d_rows_b, d_seconds, duck_path = run_duckdb(workdir, stream)
    duck = Measure("(b) duckdb read_json_auto", d_rows_b, d_seconds, f"sql/{stream.name}.sql")
    ours_db = workdir / f"ours_{stream.name}_all.duckdb"
    problems = compare_tables(stream, ours_db, duck_path)
    same = "identical" if not problems else "DIFFERENT: " + "; ".join(problems)
    if d_rows_b != rows:
        same += f" (row counts differ: ours {rows:,}, duckdb {d_rows_b:,})"
    print(f"  duckdb tables vs ours (EXCEPT ALL, lineage stamps excluded): {same}")

    print(f"\n  {'path':<28} {'rows':>11} {'seconds':>9} {'rows/s':>11} {'vs ours':>8}  note")
    for m in (ours, ours_sub, dicts, duck):
        ratio = m.rate / ours.rate
        print(
            f"  {m.path:<28} {m.rows:>11,} {m.seconds:>9.2f} {_fmt_rate(m.rate):>11} "
            f"{ratio:>7.2f}x  {m.note}"
        )
    vs_dicts = ours.rate / dicts.rate
    vs_duck = ours.rate / duck.rate
    print(
        f"  target ours ≥ {TARGET_FACTOR_OURS_VS_DICTS:g} × (a): {vs_dicts:.1f}x "
        f"(rows/s of (a) extrapolated from its subset) "
        f"{'met' if vs_dicts >= TARGET_FACTOR_OURS_VS_DICTS else 'NOT MET'}"
    )
    print(
        f"  target ours ≥ {TARGET_FACTOR_OURS_VS_DUCKDB:g} × (b): {vs_duck:.2f}x "
        f"{'met' if vs_duck >= TARGET_FACTOR_OURS_VS_DUCKDB else 'NOT MET'}",
        flush=True,
    )
    if profile:
        print(f"\n  cProfile of ours ({stream.name}, all pages):")
        print(profile_ours(workdir, stream, profile))


def bench_load(
    workdir: Path,
    *,
    shopify_lines: int,
    ad_rows: int,
    dict_rows: int,
    shopify_days: int,
    only: list[str],
    profile: int,
) -> None:
    print(
        f"\nLoad throughput: emulator pages → raw DuckDB. Pages are fetched once over HTTP and "
        f"saved as served; every path reads the same files (page cache warm). Rows = every raw "
        f"row written. (a) is measured on the first pages holding ≥ {dict_rows:,} rows and its "
        f"rows/s is used as-is (extrapolated) for the full volume.",
        flush=True,
    )
    if "shopify" in only:
        fetched = fetch_shopify(workdir, shopify_lines, shopify_days)
        bench_stream(workdir, shopify_stream(fetched), dict_rows, profile)
    if "meta_ads" in only:
        fetched = fetch_meta(workdir, ad_rows, MetaAdsSettings.model_fields["page_size"].default)
        print(
            f"\n(meta_ads simulated over {fetched.meta['days']} days at "
            f"{META_ORDERS_PER_DAY} orders/day, no growth: the catalog has 20 ads, so 1M rows "
            f"need ~140 years; no replication was needed)"
        )
        bench_stream(workdir, meta_stream(fetched), dict_rows, profile)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nPeak RSS of the benchmark process: {peak:,.0f} MiB")
