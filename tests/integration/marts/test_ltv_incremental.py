"""ltv_cohorts, and the incremental order models it reads, built incrementally equal a full
refresh after late refunds, backfills and a new month; ltv_cohorts equals the simulator's truth
once everything is loaded.

Runs on one Shopify-only sandbox project: the first run reads orders updated from February
only; then more days of March arrive (new orders and refunds of February and March orders),
then a backfill of January (earlier first orders move customers into an earlier cohort),
then April (every cohort gains a month). After each incremental run the table is compared row
by row with a `--full-refresh` build of a copy of the same warehouse.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from martlake.config import Project
from martlake.pipeline import RunOptions, run_pipeline, simulator_config
from martlake.pipeline._steps import dbt_vars
from martlake.sandbox import Business
from martlake.transform import run_dbt
from martlake.warehouse import DuckDBWarehouse
from tests.integration.marts import products_ltv_truth as truth
from tests.integration.marts.incremental_helpers import differences
from tests.sandbox_project import make_sandbox_project, project

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("marts_ltv_incremental")]
START = date(2025, 1, 1)
FIRST_LOADED = date(2025, 2, 1)
STAGES = ("first", "late_refunds", "backfill", "new_month")
ORDER_MODELS = [
    "staging.stg_shopify__orders",
    "staging.stg_shopify__order_lines",
    "staging.stg_shopify__refund_lines",
    "intermediate.int_order_lines__aggregated",
    "intermediate.int_refund_lines__aggregated",
    "intermediate.int_orders__sequenced",
    "intermediate.int_orders__attributed",
    "marts.shopify_unified",
    "intermediate.int_customers__daily_sales",
    "marts.customer_ltv",
]


def cohorts(database: Path) -> list[tuple[Any, ...]]:
    return DuckDBWarehouse(database).query("select * from marts.ltv_cohorts order by all")


def full_refresh(proj: Project, copy_dir: Path) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    """ltv_cohorts and the order models it reads rebuilt from scratch on a copy of the project's
    warehouse; with the rows of each order model that differ from the incremental build."""
    copy_dir.mkdir()
    copy = copy_dir / "warehouse.duckdb"
    shutil.copy(proj.warehouse_path, copy)
    result = run_dbt(
        "run", database=copy, state_dir=copy_dir / "dbt", select=["+ltv_cohorts"],
        full_refresh=True, vars=dbt_vars(proj),
    )  # fmt: skip
    assert result.success, [(n.name, n.message) for n in result.failed]
    return cohorts(copy), differences(proj.warehouse_path, copy, ORDER_MODELS)


@dataclass
class Stages:
    project: Project
    incremental: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    refreshed: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    differences: dict[str, dict[str, int]] = field(default_factory=dict)


def _set_end(root: Path, end: date) -> Project:
    config = root / "martlake.toml"
    text = re.sub(r'end_date = "[0-9-]+"', f'end_date = "{end.isoformat()}"', config.read_text())
    config.write_text(text)
    return project(root)


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stages]:
    root = make_sandbox_project(
        tmp_path_factory.mktemp("ltv_incremental"),
        start=START,
        end=date(2025, 3, 10),
        orders_per_day=15,
    )
    truth.shopify_only(root)
    config = root / "martlake.toml"
    config.write_text(
        config.read_text()
        .replace("[sources.shopify]\n", f'[sources.shopify]\nstart_date = "{FIRST_LOADED}"\n', 1)
        .replace(f'start_date = "{START}"\n', "", 1)
    )
    runs = {
        "first": (None, RunOptions(skip=truth.MARTS_ONLY)),
        "late_refunds": (date(2025, 3, 31), RunOptions(skip=truth.MARTS_ONLY)),
        "backfill": (
            None,
            RunOptions(skip=truth.MARTS_ONLY, start_date=START, end_date=date(2025, 1, 31)),
        ),
        "new_month": (date(2025, 4, 12), RunOptions(skip=truth.MARTS_ONLY)),
    }
    out = Stages(project(root))
    scratch = tmp_path_factory.mktemp("refreshed")
    for stage in STAGES:
        end, options = runs[stage]
        if end is not None:
            out.project = _set_end(root, end)
        result = run_pipeline(out.project, options)
        assert result.exit_code == 0, (stage, result.steps)
        out.incremental[stage] = cohorts(out.project.warehouse_path)
        out.refreshed[stage], out.differences[stage] = full_refresh(out.project, scratch / stage)
    yield out


def test_the_first_run_loaded_orders_from_february_only(stages: Stages) -> None:
    first = {row[0] for row in stages.incremental["first"]}
    assert min(first) == date(2025, 1, 1)  # January orders refunded in February
    sizes = {row[0]: row[3] for row in stages.incremental["first"] if row[1] == 0}
    assert sizes[date(2025, 2, 1)] > 5 * sizes[date(2025, 1, 1)]


@pytest.mark.parametrize("stage", STAGES)
def test_incremental_build_equals_a_full_refresh(stages: Stages, stage: str) -> None:
    assert stages.incremental[stage] == stages.refreshed[stage]


@pytest.mark.parametrize("stage", STAGES)
def test_incremental_order_models_equal_a_full_refresh(stages: Stages, stage: str) -> None:
    assert {table: n for table, n in stages.differences[stage].items() if n} == {}


def test_late_refunds_changed_cohorts_without_a_new_month(stages: Stages) -> None:
    before = {(r[0], r[1]): r for r in stages.incremental["first"]}
    after = {(r[0], r[1]): r for r in stages.incremental["late_refunds"]}
    assert set(before) == set(after)  # same as-of month: no cohort was rebuilt for a new period
    returns = {k: (before[k][7], after[k][7]) for k in before}
    assert any(old != new for old, new in returns.values())


def test_the_backfill_moved_customers_into_an_earlier_cohort(stages: Stages) -> None:
    def size(stage: str, cohort: date) -> int:
        return next(r[3] for r in stages.incremental[stage] if r[0] == cohort and r[1] == 0)

    february, january = date(2025, 2, 1), date(2025, 1, 1)
    assert size("backfill", february) < size("late_refunds", february)
    assert size("backfill", january) > size("late_refunds", january)


def test_after_all_runs_cohorts_equal_the_simulator_truth(stages: Stages) -> None:
    dataset = Business(simulator_config(stages.project))._dataset()
    rows = stages.incremental["new_month"]
    assert {(r[0], r[1]): (r[3], r[4], r[5], r[8], r[12]) for r in rows} == truth.cohorts(dataset)
    assert max(r[2] for r in rows) == date(2025, 4, 1)


def test_a_build_without_new_orders_recomputes_no_cohort(stages: Stages, tmp_path: Path) -> None:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(stages.project.warehouse_path, copy)
    marker = "update marts.ltv_cohorts set orders = orders + 1000 where cohort_month = ?"
    DuckDBWarehouse(copy).execute(marker, [date(2025, 1, 1)])
    result = run_dbt(
        "run", database=copy, state_dir=tmp_path / "dbt", select=["ltv_cohorts"],
        vars=dbt_vars(stages.project),
    )  # fmt: skip
    assert result.success
    rows = cohorts(copy)
    january = [r for r in rows if r[0] == date(2025, 1, 1)]
    assert january and all(r[5] >= 1000 for r in january)
    assert [r for r in rows if r[0] != date(2025, 1, 1)] == [
        r for r in stages.incremental["new_month"] if r[0] != date(2025, 1, 1)
    ]
