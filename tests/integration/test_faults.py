"""With one request in five failing transiently, a run still loads exactly the truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from martlake.config import load_project
from martlake.pipeline import RunOptions, run_pipeline, simulator_config
from martlake.sandbox import Business
from martlake.warehouse import DuckDBWarehouse
from tests.sandbox_project import make_sandbox_project

pytestmark = pytest.mark.xdist_group("faults")
PLATFORMS = {
    "meta": ("facebook_unified", "account_id"),
    "google": ("google_ads_unified", "account_id"),
    "tiktok": ("tiktok_unified", "account_id"),
}


def test_twenty_percent_transient_failures_still_load_the_exact_truth(tmp_path: Path) -> None:
    root = make_sandbox_project(tmp_path / "flaky", orders_per_day=20)
    proj = load_project(root, environ={"MARTLAKE__SANDBOX__FAULT_RATE": "0.2"})
    result = run_pipeline(
        proj, RunOptions(skip=frozenset({"publish"})), http_options={"backoff": 0.01}
    )
    assert result.exit_code == 0
    wh = DuckDBWarehouse(proj.warehouse_path)
    log = dict(
        (source, (requests, retries))
        for source, requests, retries in wh.query(
            "select source, requests, retries from martlake.source_log"
        )
    )
    assert set(log) == {"shopify", "meta_ads", "google_ads", "tiktok_ads"}
    total_requests = sum(r for r, _ in log.values())
    total_retries = sum(r for _, r in log.values())
    assert 0.1 < total_retries / total_requests < 0.3, log

    truth = Business(simulator_config(proj)).truth
    daily = wh.query("select date, orders, net_sales from marts.shopify_daily_metrics")
    assert {d: n for d, n, _ in daily if n} == truth.orders_per_day()
    assert {d: v for d, _, v in daily if v} == {
        d: v for d, v in truth.net_sales_per_day().items() if v
    }
    for platform, (mart, account) in PLATFORMS.items():
        rows = wh.query(f"select {account}, date, sum(spend) from marts.{mart} group by 1, 2")
        assert len({a for a, _, _ in rows}) == 1
        assert {d: v for _, d, v in rows if v} == {
            d: v for d, v in truth.spend_per_day(platform).items() if v
        }, platform
