"""The whole pipeline on a small sandbox business: marts equal the simulator's ground truth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest

from martlake.config import Project
from martlake.pipeline import RunOptions, RunResult, run_pipeline, simulator_config
from martlake.sandbox import Business
from martlake.warehouse import DuckDBWarehouse
from tests.sandbox_project import make_sandbox_project, project

pytestmark = pytest.mark.xdist_group("pipeline")
MARTS = (
    "shopify_unified",
    "facebook_unified",
    "google_ads_unified",
    "tiktok_unified",
    "marketing_unified",
    "shopify_daily_metrics",
)
PLATFORMS = {"meta": "facebook_unified", "google": "google_ads_unified", "tiktok": "tiktok_unified"}


def marts_snapshot(wh: DuckDBWarehouse) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the marts, without `_` columns (`_ingested_at`...): they name loads."""
    select = "select columns(lambda c: not starts_with(c, '_')) from marts.{} order by all"
    return {m: wh.query(select.format(m)) for m in MARTS}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, RunResult]]:
    root = make_sandbox_project(tmp_path_factory.mktemp("shop"))
    proj = project(root)
    yield proj, run_pipeline(proj)


@pytest.fixture(scope="module")
def business(first_run: tuple[Project, RunResult]) -> Business:
    return Business(simulator_config(first_run[0]))


def test_first_run_passes_every_step(first_run: tuple[Project, RunResult]) -> None:
    _, result = first_run
    assert [s.step for s in result.steps] == [
        "extract", "load", "transform", "quality", "reconcile", "publish"
    ]  # fmt: skip
    assert {s.status.value for s in result.steps} == {"ok"}, result.steps
    assert result.exit_code == 0


def test_orders_and_net_sales_per_day_equal_ground_truth(
    first_run: tuple[Project, RunResult], business: Business
) -> None:
    wh = DuckDBWarehouse(first_run[0].warehouse_path)
    rows = wh.query("select date, orders, net_sales from marts.shopify_daily_metrics")
    orders = {d: n for d, n, _ in rows if n}
    net = {d: v for d, _, v in rows if v}
    assert orders == business.truth.orders_per_day()
    assert net == {d: v for d, v in business.truth.net_sales_per_day().items() if v}


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_spend_per_day_and_campaign_equal_ground_truth(
    first_run: tuple[Project, RunResult], business: Business, platform: str
) -> None:
    wh = DuckDBWarehouse(first_run[0].warehouse_path)
    per_day = dict(
        wh.query("select date, spend from marts.marketing_unified where channel = ?", [platform])
    )
    truth = {d: v for d, v in business.truth.spend_per_day(platform).items() if v}
    assert truth and {d: v for d, v in per_day.items() if v} == truth
    per_campaign = wh.query(
        f"select date, campaign_id, sum(spend) from marts.{PLATFORMS[platform]} group by 1, 2"
    )
    assert {(d, c): v for d, c, v in per_campaign if v} == {
        k: v for k, v in business.truth.spend_per_campaign_day(platform).items() if v
    }


def test_raw_rows_carry_lineage_and_no_plaintext_pii(first_run: tuple[Project, RunResult]) -> None:
    proj, result = first_run
    wh = DuckDBWarehouse(proj.warehouse_path)
    for table in (
        "raw_shopify.orders",
        "raw_shopify.order_lines",
        "raw_meta_ads.insights",
        "raw_google_ads.campaign_stats",
        "raw_tiktok_ads.ad_stats",
    ):
        source, runs, missing = wh.query(
            f"select min(_source), count(distinct _extract_run_id), "
            f"count(*) filter (where _ingested_at is null) from {table}"
        )[0]
        assert source == table.split(".")[0].removeprefix("raw_") and runs >= 1 and missing == 0
    columns = {
        c
        for (c,) in wh.query(
            "select column_name from information_schema.columns where table_schema like 'raw_%'"
        )
    }
    assert not columns & {"email", "phone", "first_name", "last_name", "address1"}
    leaked = wh.query("select count(*) from raw_shopify.orders where email_hash like '%@%'")[0][0]
    assert leaked == 0


def test_outputs_are_written(first_run: tuple[Project, RunResult]) -> None:
    proj, result = first_run
    folder = result.output_dir
    assert folder is not None and folder.parent == proj.output_dir
    book = openpyxl.load_workbook(folder / "report.xlsx", read_only=True)
    assert book.sheetnames == ["data_sources", *proj.settings.publish.models]
    sources = [row for row in book["data_sources"].iter_rows(min_row=2, values_only=True)]
    status = {row[0]: row[2] for row in sources}
    assert {status[s] for s in ("shopify", "meta_ads", "google_ads", "tiktok_ads")} == {"connected"}
    assert status["ga4"] == "not available yet"
    feeds = {row[0]: row[4] for row in sources}
    assert "marketing_unified" in feeds["tiktok_ads"] and "tiktok_unified" in feeds["tiktok_ads"]
    for model in proj.settings.publish.models:
        lines = (folder / "csv" / f"{model}.csv").read_text().splitlines()
        assert len(lines) > 10
    summary = json.loads((folder / "run.json").read_text())
    assert summary["run_id"] == result.run_id and summary["exit_code"] == 0
    assert [s["step"] for s in summary["steps"]][-1] == "publish"
    # INFO: the first schema snapshot becomes the accepted baseline.
    assert {c["severity"] for c in summary["checks"]} <= {"OK", "INFO"}


def test_run_log_and_check_history_are_recorded(first_run: tuple[Project, RunResult]) -> None:
    proj, result = first_run
    wh = DuckDBWarehouse(proj.warehouse_path)
    steps = wh.query(
        "select step, status, rows from martlake.run_log where run_id = ? order by started_at",
        [result.run_id],
    )
    assert [s for s, _, _ in steps] == [
        "extract", "load", "transform", "quality", "reconcile", "publish"
    ]  # fmt: skip
    assert steps[0][2] > 0 and steps[1][2] == steps[0][2]
    checks = wh.query(
        "select table_name, severity from martlake.dq_check_result where run_id = ?",
        [result.run_id],
    )
    assert ("raw_shopify.orders", "OK") in checks and ("raw_meta_ads.insights", "OK") in checks


def test_rerun_appends_raw_but_changes_no_mart_row(first_run: tuple[Project, RunResult]) -> None:
    proj, _ = first_run
    wh = DuckDBWarehouse(proj.warehouse_path)
    before = marts_snapshot(wh)
    raw_before = wh.query("select count(*) from raw_meta_ads.insights")[0][0]
    result = run_pipeline(proj, RunOptions(skip=frozenset({"publish"})))
    assert result.exit_code == 0
    assert wh.query("select count(*) from raw_meta_ads.insights")[0][0] > raw_before
    assert marts_snapshot(wh) == before


def test_failed_dbt_test_exits_1_and_skips_reconcile_and_publish(
    first_run: tuple[Project, RunResult],
) -> None:
    proj, _ = first_run
    wh = DuckDBWarehouse(proj.warehouse_path)
    wh.execute(
        "insert into raw_shopify.orders (id, created_at, updated_at, shop_domain, shop_timezone, "
        "_source, _extract_run_id, _ingested_at) select null, created_at, updated_at, "
        "shop_domain, shop_timezone, _source, 'corrupt', now() from raw_shopify.orders limit 1"
    )
    try:
        result = run_pipeline(proj, RunOptions(from_step="transform"))
    finally:
        wh.execute("delete from raw_shopify.orders where _extract_run_id = 'corrupt'")
    status = {s.step: s for s in result.steps}
    assert status["transform"].status.value == "failed"
    assert "not_null" in (status["transform"].message or "")
    assert status["publish"].status.value == "skipped"
    # Reconciling stale marts against the sources would raise spurious CRITICALs.
    assert status["reconcile"].status.value == "skipped"
    assert "the transform failed" in (status["reconcile"].message or "")
    assert not [c for c in result.checks if c.check == "reconciliation"]
    assert result.exit_code == 1 and result.output_dir is None
