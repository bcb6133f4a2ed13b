"""`make demo` on a fresh copy of the repository: a new venv, one year of a ~300 orders/day shop."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from martlake.pipeline import simulator_config
from martlake.sandbox import Business
from martlake.warehouse import DuckDBWarehouse
from tests.sandbox_project import project

REPO = Path(__file__).resolve().parents[2]
MARTS = (
    "shopify_unified",
    "facebook_unified",
    "google_ads_unified",
    "tiktok_unified",
    "marketing_unified",
    "shopify_daily_metrics",
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo")]


def fresh_copy(dest: Path) -> Path:
    """The files a clone would have: tracked plus new, unignored ones."""
    files = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def make_demo(root: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARTLAKE", "VIRTUAL_ENV"))}
    return subprocess.run(
        ["make", "demo"], cwd=root, env=env, capture_output=True, text=True, timeout=1500
    )


def test_make_demo_on_a_fresh_copy_writes_outputs_equal_to_ground_truth(tmp_path: Path) -> None:
    root = fresh_copy(tmp_path / "repo")
    done = make_demo(root)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (root / ".venv" / "bin" / "martlake").exists()
    demo = root / "demo"
    proj = project(demo)
    [folder] = list((demo / "martlake_output").iterdir())
    book = openpyxl.load_workbook(folder / "report.xlsx", read_only=True)
    assert book.sheetnames == ["data_sources", *proj.settings.publish.models]
    sheets = {"data_sources", *proj.settings.publish.models}
    assert {p.stem for p in (folder / "csv").glob("*.csv")} == sheets
    summary = json.loads((folder / "run.json").read_text())
    assert summary["exit_code"] == 0

    truth = Business(simulator_config(proj)).truth
    config = simulator_config(proj)
    assert (config.end_date - config.start_date).days == 364
    wh = DuckDBWarehouse(proj.warehouse_path)
    rows = wh.query("select date, orders, net_sales from marts.shopify_daily_metrics")
    assert {d: n for d, n, _ in rows if n} == truth.orders_per_day()
    assert {d: v for d, _, v in rows if v} == {
        d: v for d, v in truth.net_sales_per_day().items() if v
    }
    average = sum(truth.orders_per_day().values()) / 365
    assert 250 <= average <= 450
    for channel in ("meta", "google", "tiktok"):
        spend = dict(
            wh.query("select date, spend from marts.marketing_unified where channel = ?", [channel])
        )
        expected = {d: v for d, v in truth.spend_per_day(channel).items() if v}
        assert expected and {d: v for d, v in spend.items() if v} == expected

    # `_` columns (`_ingested_at`, `_ingested_through`) name loads, not data.
    snapshot = "select columns(lambda c: not starts_with(c, '_')) from marts.{} order by all"
    before = {m: wh.query(snapshot.format(m)) for m in MARTS}
    again = make_demo(root)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "Created" not in again.stdout
    assert {m: wh.query(snapshot.format(m)) for m in MARTS} == before
