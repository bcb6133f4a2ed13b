"""ltv_cohorts, and the incremental order models it reads, built incrementally equal a full
refresh after late refunds, backfills and a new month; ltv_cohorts equals the simulator's truth
once everything is loaded.

Runs on one sandbox project with Shopify and Fairing (post-purchase surveys): the first run
reads orders updated from February only; then more days of March arrive (new orders and refunds
of February and March orders, and survey answers, some about orders of the first run), then a
backfill of January (earlier first orders move customers into an earlier cohort), then April
(every cohort gains a month). After each incremental run the table is compared row by row with
a `--full-refresh` build of a copy of the same warehouse. The orders a customer answered about
go to the channel of the answer (`attribution_method = 'survey'`), the others keep the channel
of their landing page.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
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
from tests.integration.test_fairing_pipeline import add_fairing
from tests.sandbox_project import make_sandbox_project, project

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("marts_ltv_incremental")]
START = date(2025, 1, 1)
FIRST_LOADED = date(2025, 2, 1)
STAGES = ("first", "late_refunds", "backfill", "new_month")
# The sandbox's survey answers and the channels the default survey spellings give them;
# "Pinterest" and typed "Other" answers map to no channel and leave the order to its URL.
ANSWER_CHANNELS = {
    "Instagram": "meta",
    "Facebook": "meta",
    "Google": "google",
    "YouTube": "google",
    "TikTok": "tiktok",
    "Email": "email",
    "Blog or article": "referral",
    "Podcast": "podcast",
    "Friend or family": "word_of_mouth",
}
ORDER_MODELS = [
    "staging.stg_shopify__order_versions",
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
    answers: dict[str, dict[int, str]] = field(default_factory=dict)


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
    add_fairing(root)
    config = root / "martlake.toml"
    # Fairing from the start, and most customers answer, so answers about the last orders of a
    # run come with the next one.
    text = config.read_text().replace('start_date = "2025-03-01"\n', "", 1)
    config.write_text(text.replace("[sandbox]\n", "[sandbox]\nsurvey_rate = 0.9\n", 1))
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
        out.answers[stage] = Business(simulator_config(out.project)).truth.survey_answers()
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


def test_orders_get_the_channel_of_their_survey_answer_else_of_their_url(stages: Stages) -> None:
    business = Business(simulator_config(stages.project))
    answers = business.truth.survey_answers()
    expected = {}
    for order_id, (channel, _) in business.truth.order_channels().items():
        surveyed = ANSWER_CHANNELS.get(answers.get(order_id, ""))
        expected[order_id] = (surveyed, "survey") if surveyed else (channel, "url")
    rows = DuckDBWarehouse(stages.project.warehouse_path).query(
        "select order_id, channel, attribution_method from marts.shopify_unified"
    )
    got = {o: (ch if ch != "pinterest" else "other", m if m == "survey" else "url")
           for o, ch, m in rows}  # fmt: skip
    assert {o: (v, expected[o]) for o, v in got.items() if v != expected[o]} == {}
    surveyed = Counter(ch for ch, m in got.values() if m == "survey")
    assert {"podcast", "word_of_mouth", "meta"} <= set(surveyed)


def test_late_answers_re_attributed_orders_built_by_an_earlier_run(stages: Stages) -> None:
    first, last = stages.answers["first"], stages.answers["new_month"]
    late = {o for o, answer in last.items() if o not in first and answer in ANSWER_CHANNELS}
    built_before = {
        o for o, in DuckDBWarehouse(stages.project.warehouse_path).query(
            "select order_id from marts.shopify_unified where order_date <= '2025-03-10'"
        )
    }  # fmt: skip
    moved = late & built_before
    assert moved, "no answer arrived after its order was built"
    methods = dict(
        DuckDBWarehouse(stages.project.warehouse_path).query(
            "select order_id, attribution_method from marts.shopify_unified"
        )
    )
    assert {methods[o] for o in moved} == {"survey"}
