"""The `martlake` executable: bad config, a concurrent run, an unreachable source, a killed run."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from martlake.pipeline._lock import RunLock
from martlake.warehouse import DuckDBWarehouse
from tests.conftest import free_port
from tests.sandbox_project import cli, make_sandbox_project, project

pytestmark = pytest.mark.xdist_group("cli")
DATA_SCHEMAS = ("raw_shopify", "raw_meta_ads", "staging", "marts")


def data_snapshot(root: Path) -> dict[str, Any]:
    wh = DuckDBWarehouse(project(root).warehouse_path)
    return {
        f"{s}.{t}": wh.query(f'select * from "{s}"."{t}" order by all')
        for s, t in wh.tables()
        if s in DATA_SCHEMAS and not t.startswith("_dlt")
    }


def marts(root: Path) -> dict[str, Any]:
    """Every mart row, without columns that record when rows were loaded (`_ingested_through`,
    `last_ingested_at`): those name the run, not the data."""
    wh = DuckDBWarehouse(project(root).warehouse_path)
    out = {}
    for schema, table in wh.tables():
        if schema != "marts":
            continue
        columns = [
            name
            for (name,) in wh.query(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            )
            if not (name.startswith("_") or name.endswith("ingested_at"))
        ]
        select = ", ".join(f'"{c}"' for c in columns)
        out[f"{schema}.{table}"] = wh.query(
            f'select {select} from "{schema}"."{table}" order by all'
        )
    return out


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_sandbox_project(tmp_path_factory.mktemp("loaded"), orders_per_day=8)
    done = cli(root, "run", "--skip-publish")
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def assert_one_line_error(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_bad_config_exits_2_and_leaves_the_warehouse_alone(loaded: Path) -> None:
    before = data_snapshot(loaded)
    config = loaded / "martlake.toml"
    original = config.read_text()
    try:
        config.write_text(original.replace("lookback_days = 7", 'lookback_days = "a week"'))
        done = cli(loaded, "run")
    finally:
        config.write_text(original)
    assert done.returncode == 2
    assert_one_line_error(done, "`sources.shopify.lookback_days`", "martlake.toml")
    assert data_snapshot(loaded) == before


def test_missing_secret_exits_2_naming_the_key_and_fix(loaded: Path) -> None:
    secrets = loaded / ".martlake" / "secrets.toml"
    original = secrets.read_text()
    try:
        secrets.write_text(original.replace('access_token = "shpat_sandbox_token"', ""))
        done = cli(loaded, "run")
    finally:
        secrets.write_text(original)
    assert done.returncode == 2
    assert_one_line_error(
        done, "`sources.shopify.access_token`", "MARTLAKE__SOURCES__SHOPIFY__ACCESS_TOKEN"
    )


def test_second_concurrent_run_exits_2(loaded: Path) -> None:
    before = data_snapshot(loaded)
    with RunLock(loaded / ".martlake"):
        done = cli(loaded, "run")
    assert done.returncode == 2
    assert_one_line_error(done, "another martlake run holds the lock")
    assert data_snapshot(loaded) == before


def test_unreachable_source_exits_2_and_loads_nothing(loaded: Path) -> None:
    before = data_snapshot(loaded)
    env = {
        "MARTLAKE__SANDBOX__ENABLED": "false",
        "MARTLAKE__SOURCES__SHOPIFY__BASE_URL": f"http://127.0.0.1:{free_port()}",
        "MARTLAKE__SOURCES__SHOPIFY__MAX_ATTEMPTS": "2",  # one retry, not a minute of them
    }
    done = cli(loaded, "run", env=env)
    assert done.returncode == 2
    assert_one_line_error(done, "shopify: cannot reach", "127.0.0.1")
    assert data_snapshot(loaded) == before
    status = cli(loaded, "status")
    assert "failed" in status.stdout.lower()


def test_rejected_token_exits_2_with_the_fix(loaded: Path) -> None:
    before = data_snapshot(loaded)
    done = cli(loaded, "run", env={"MARTLAKE__SOURCES__META_ADS__ACCESS_TOKEN": "expired"})
    assert done.returncode == 2
    assert_one_line_error(done, "meta_ads", "ads_read", "secrets.toml")
    assert "expired" not in done.stderr
    assert data_snapshot(loaded) == before
    listing = cli(loaded, "sources", env={"COLUMNS": "250"})
    rows = {line.split("│")[1].strip(): line for line in listing.stdout.splitlines() if "│" in line}
    assert "failing" in rows["meta_ads"] and "ads_read" in rows["meta_ads"]
    assert "connected" in rows["shopify"]
    assert "not available yet" in rows["amazon_ads"] and "not available yet" in rows["ga4"]
    assert "not configured" in rows["fairing"]


def test_critical_check_finishes_the_run_with_exit_1(loaded: Path) -> None:
    env = {
        "MARTLAKE__QUALITY__FRESHNESS__WARN_AFTER_HOURS": "0.00001",
        "MARTLAKE__QUALITY__FRESHNESS__CRITICAL_AFTER_HOURS": "0.00002",
    }
    done = cli(loaded, "run", "--only", "quality", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "CRITICAL freshness" in done.stdout
    wh = DuckDBWarehouse(project(loaded).warehouse_path)
    status, exit_code = wh.query(
        "select status, exit_code from martlake.runs order by started_at desc limit 1"
    )[0]
    assert (status, exit_code) == ("failed", 1)


def test_status_shows_runs_steps_and_checks(loaded: Path) -> None:
    done = cli(loaded, "status", env={"COLUMNS": "200"})
    assert done.returncode == 0
    for needle in ("Runs", "Steps of", "extract", "Checks", "freshness", "raw_shopify.orders"):
        assert needle in done.stdout
    assert "OK" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "kill_at",
    # Each line is printed inside its step: Shopify is done, Meta not yet.
    ["OK raw_shopify.orders", "OK shopify.orders"],
    ids=["during-load", "during-extract"],
)
def test_run_killed_then_rerun_equals_one_clean_run(
    tmp_path: Path, loaded: Path, kill_at: str
) -> None:
    root = make_sandbox_project(tmp_path / "killed", orders_per_day=8)
    exe = Path(sys.executable).with_name("martlake")
    child = subprocess.Popen(
        [str(exe), "run", "--skip-publish"], cwd=root, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    deadline = time.monotonic() + 300
    for line in child.stdout:
        if kill_at in line:
            child.send_signal(signal.SIGKILL)
            break
        assert time.monotonic() < deadline
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    # The checks and reconciliation read the marts; what is compared here is the marts.
    done = cli(root, "run", "--skip-publish", "--skip-quality", "--skip-reconcile")
    assert done.returncode == 0, done.stdout + done.stderr
    assert marts(root) == marts(loaded)
    runs = DuckDBWarehouse(project(root).warehouse_path).query(
        "select status from martlake.runs order by started_at"
    )
    assert runs == [("killed",), ("ok",)]
    shutil.rmtree(root)
