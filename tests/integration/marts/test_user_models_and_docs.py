"""A project's own `models/` folder: new models build next to the shipped ones, a model named
like a shipped one replaces it; `martlake docs` writes dbt's site with all of them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from martlake.config import Project
from martlake.pipeline import RunResult, run_pipeline
from martlake.transform import PROJECT_DIR
from martlake.warehouse import DuckDBWarehouse
from tests.sandbox_project import cli, make_sandbox_project, project

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("user_models_docs")]
USER_MODELS = Path(__file__).parents[2] / "fixtures" / "user_models"
SHIPPED_LAST_COLUMN = "(select max(currency_code) from all_orders) as currency_code"


@dataclass
class Built:
    project: Project
    run: RunResult
    warehouse: DuckDBWarehouse


def override_daily_metrics(models: Path) -> None:
    """The shipped shopify_daily_metrics with one more column, as a user would extend it."""
    shipped = (PROJECT_DIR / "models" / "marts" / "shopify_daily_metrics.sql").read_text()
    assert SHIPPED_LAST_COLUMN in shipped
    extended = shipped.replace(
        SHIPPED_LAST_COLUMN, f"{SHIPPED_LAST_COLUMN},\n    'dtc brand' as shop_label"
    )
    (models / "shopify_daily_metrics.sql").write_text(extended)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = make_sandbox_project(
        tmp_path_factory.mktemp("user_models"),
        start=date(2025, 1, 1),
        end=date(2025, 1, 14),
        orders_per_day=10,
    )
    shutil.copytree(USER_MODELS, root / "models")
    override_daily_metrics(root / "models")
    proj = project(root)
    yield Built(proj, run_pipeline(proj), DuckDBWarehouse(proj.warehouse_path))


def test_run_passes_with_the_users_models(built: Built) -> None:
    steps = {s.step: s for s in built.run.steps}
    assert steps["transform"].status.value == "ok", steps["transform"].message


def test_user_override_is_what_lands_in_marts(built: Built) -> None:
    rows = built.warehouse.query(
        "select count(*), count(distinct shop_label), min(shop_label) "
        "from marts.shopify_daily_metrics"
    )
    assert rows == [(14, 1, "dtc brand")]
    # Marts downstream of the override read it, and its sums are still the shipped ones.
    orders = built.warehouse.query(
        "select (select sum(orders) from marts.shopify_daily_metrics),"
        " (select sum(orders) from marts.executive_summary_monthly),"
        " (select count(*) from marts.shopify_unified)"
    )
    assert orders[0][0] == orders[0][1] == orders[0][2] > 0


def test_new_user_model_builds_next_to_the_shipped_ones(built: Built) -> None:
    rows = built.warehouse.query("select sum(orders), min(shop_label) from main.weekly_orders")
    total = built.warehouse.query("select count(*) from marts.shopify_unified")[0][0]
    assert rows == [(total, "dtc brand")]


def test_users_properties_replace_the_shipped_ones_of_an_overridden_model(built: Built) -> None:
    manifest = json.loads(
        (built.project.state_dir / "dbt" / "target" / "manifest.json").read_text()
    )
    node = manifest["nodes"]["model.martlake.shopify_daily_metrics"]
    assert node["description"].startswith("The shop's own daily metrics")
    assert node["original_file_path"].startswith("user_models_0/")
    tests = {
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        and "model.martlake.shopify_daily_metrics" in n["depends_on"]["nodes"]
    }
    assert "accepted_values_shopify_daily_metrics_shop_label__dtc_brand" in tests
    # The shipped model's own column tests are gone; tests of other models that read it stay.
    assert "not_null_shopify_daily_metrics_refunded_orders" not in tests
    assert "assert_daily_orders_match_unified" in tests


def test_docs_writes_the_static_site_with_every_model(built: Built) -> None:
    done = cli(built.project.root, "docs")
    assert done.returncode == 0, done.stderr
    folder = built.project.output_dir / "docs"
    assert f"Docs: {folder / 'index.html'}" in " ".join(done.stdout.split())
    assert sorted(p.name for p in folder.iterdir()) == [
        "catalog.json",
        "index.html",
        "manifest.json",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    names = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert {"executive_summary_monthly", "channel_mix", "weekly_orders"} <= names
    catalog = json.loads((folder / "catalog.json").read_text())
    assert "model.martlake.executive_summary_monthly" in catalog["nodes"]
    page = (folder / "index.html").read_text()
    # The static page embeds both artifacts, so it works opened from disk.
    assert "model.martlake.executive_summary_monthly" in page
    assert "model.martlake.weekly_orders" in page


def test_docs_without_a_warehouse_is_a_one_line_error(tmp_path: Path) -> None:
    root = make_sandbox_project(tmp_path / "fresh")
    done = cli(root, "docs")
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "run `martlake run` first" in lines[0], done.stderr
    assert not (root / "warehouse.duckdb").exists()
