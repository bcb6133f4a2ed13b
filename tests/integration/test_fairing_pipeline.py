"""A sandbox project with `[sources.fairing]`: extraction and load through the pipeline, the
watermark taken from the raw zone, hashes that join Shopify's, nothing plaintext."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from martlake.config import Project
from martlake.pipeline import (
    RunOptions,
    SourceState,
    run_pipeline,
    simulator_config,
    source_statuses,
)
from martlake.privacy import scan_warehouse
from martlake.sandbox import Business
from martlake.warehouse import DuckDBWarehouse
from tests.sandbox_project import make_sandbox_project, project

pytestmark = pytest.mark.xdist_group("pipeline")
RAW_ONLY = RunOptions(skip=frozenset({"transform", "quality", "reconcile", "publish"}))


def add_fairing(root: Path) -> None:
    config, secrets = root / "martlake.toml", root / ".martlake" / "secrets.toml"
    config.write_text(config.read_text() + '\n[sources.fairing]\nstart_date = "2025-03-01"\n')
    secrets.write_text(
        secrets.read_text() + '\n[sources.fairing]\napi_token = "sandbox-fairing-token"\n'
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = make_sandbox_project(
        tmp_path_factory.mktemp("fairing"),
        start=date(2025, 3, 1),
        end=date(2025, 3, 14),
        orders_per_day=10,
    )
    add_fairing(root)
    proj = project(root)
    result = run_pipeline(proj, RAW_ONLY)
    assert result.exit_code == 0, result.steps
    yield proj


def test_the_run_loads_every_survey_response_of_the_simulated_shop(loaded: Project) -> None:
    business = Business(simulator_config(loaded))
    assert simulator_config(loaded).survey_rate == 0.25
    wh = DuckDBWarehouse(loaded.warehouse_path)
    ids = {i for (i,) in wh.query("select id from raw_fairing.responses")}
    assert ids == {r["id"] for r in business.fairing_responses} and ids
    answers = dict(
        wh.query(
            "select cast(order_id as bigint), coalesce(response, 'Other') "
            "from raw_fairing.responses where question_id = 1001"
        )
    )
    assert answers == business.truth.survey_answers()
    states = {s.name: s.state for s in source_statuses(loaded)}
    assert states["fairing"] is SourceState.CONNECTED


def test_email_hashes_join_the_shopify_orders_and_nothing_is_plaintext(loaded: Project) -> None:
    wh = DuckDBWarehouse(loaded.warehouse_path)
    [(total, joined)] = wh.query(
        "select count(*), count(o.id) from raw_fairing.responses f left join "
        "(select distinct id, email_hash from raw_shopify.orders) o "
        "on cast(o.id as varchar) = f.order_id and o.email_hash = f.email_hash"
    )
    assert total == joined > 0
    assert scan_warehouse(wh) == []


def test_the_next_run_rereads_the_lookback_before_the_newest_response(loaded: Project) -> None:
    wh = DuckDBWarehouse(loaded.warehouse_path)
    [(newest,)] = wh.query("select max(inserted_at) from raw_fairing.responses")
    assert run_pipeline(loaded, RAW_ONLY).exit_code == 0
    [(run_id,)] = wh.query(
        "select _extract_run_id from raw_fairing.responses order by _ingested_at desc limit 1"
    )
    [(oldest_reread, count)] = wh.query(
        "select min(inserted_at), count(*) from raw_fairing.responses where _extract_run_id = ?",
        [run_id],
    )
    [(expected,)] = wh.query(
        "select count(*) from raw_fairing.responses "
        "where _extract_run_id <> ? and inserted_at >= ?",
        [run_id, newest - timedelta(days=7)],
    )
    assert oldest_reread >= newest - timedelta(days=7) and count == expected > 0
