"""`martlake sources`: Fairing's state follows its configuration and its raw zone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from martlake.config import load_project
from martlake.pipeline import SourceState, source_statuses
from martlake.warehouse import DuckDBWarehouse
from tests.unit.config.test_loader import make_project


def states(root: Path) -> dict[str, SourceState]:
    return {s.name: s.state for s in source_statuses(load_project(root, environ={}))}


def test_fairing_is_not_configured_until_its_section_exists(tmp_path: Path) -> None:
    found = states(make_project(tmp_path))
    assert found["fairing"] is SourceState.NOT_CONFIGURED
    assert found["amazon_ads"] is SourceState.NOT_AVAILABLE


def test_a_configured_fairing_is_never_loaded_then_connected(tmp_path: Path) -> None:
    root = make_project(tmp_path, "[sources.fairing]\n")
    assert states(root)["fairing"] is SourceState.NEVER_LOADED
    loaded = datetime(2025, 3, 2, 6, tzinfo=UTC)
    warehouse = DuckDBWarehouse(root / "warehouse.duckdb")
    warehouse.execute("create schema raw_fairing")
    warehouse.execute(
        "create table raw_fairing.responses (id varchar, inserted_at timestamptz, "
        "_ingested_at timestamptz)"
    )
    warehouse.execute(
        "insert into raw_fairing.responses values ('r1', ?, ?)",
        [datetime(2025, 3, 1, tzinfo=UTC), loaded],
    )
    statuses = {s.name: s for s in source_statuses(load_project(root, environ={}))}
    assert statuses["fairing"].state is SourceState.CONNECTED
    assert statuses["fairing"].last_load == loaded
    assert [s.name for s in statuses.values()][:2] == ["shopify", "fairing"]  # configured first
