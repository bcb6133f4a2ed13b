"""Inventory, schema drift, duplicate keys, null rates, invalid rows, layer reconciliation,
freshness boundaries, per-table overrides, `martlake check` and `martlake status`.

One 20-day sandbox (10 orders/day) is extracted, loaded and built with `dbt run` once per
module; each test copies the warehouse and dbt's manifest, plants one fault and runs the checks
on a frozen clock.
"""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from martlake.cli.app import console as cli_console
from martlake.cli.app import main
from martlake.config import Project, TableQualitySettings
from martlake.pipeline import RunOptions, StepStatus, check_states, run_pipeline
from martlake.pipeline._steps import dbt_vars
from martlake.pipeline.checks import expected_raw
from martlake.quality import CheckResult, Severity, run_quality
from martlake.quality._registry import CHECKS
from martlake.transform import run_dbt
from martlake.warehouse import DuckDBWarehouse
from tests.sandbox_project import make_sandbox_project, project

START = date(2025, 1, 1)
END = date(2025, 1, 20)
MINE = (
    "inventory",
    "schema_drift",
    "duplicate_keys",
    "null_rates",
    "invalid_rows",
    "layer_reconciliation",
)
BAD = (Severity.WARN, Severity.ERROR, Severity.CRITICAL)

pytestmark = pytest.mark.xdist_group("table_checks")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_sandbox_project(
        tmp_path_factory.mktemp("table_checks"), start=START, end=END, orders_per_day=10
    )
    proj = project(root)
    steps = run_pipeline(proj, RunOptions(only="extract"))
    assert [s.status for s in steps.steps] == [StepStatus.OK], steps.steps
    steps = run_pipeline(proj, RunOptions(only="load"))
    assert [s.status for s in steps.steps] == [StepStatus.OK], steps.steps
    dbt = run_dbt(
        "run", database=proj.warehouse_path, state_dir=proj.state_dir / "dbt", vars=dbt_vars(proj)
    )
    assert dbt.success, [n for n in dbt.failed]
    return root


@pytest.fixture
def proj(built: Path, tmp_path: Path) -> Project:
    root = tmp_path / "shop"
    target = root / ".martlake" / "dbt" / "target"
    target.mkdir(parents=True)
    shutil.copy(built / "martlake.toml", root)
    shutil.copy(built / "warehouse.duckdb", root)
    for name in ("manifest.json", "run_results.json"):
        shutil.copy(built / ".martlake" / "dbt" / "target" / name, target)
    return project(root)


def wh(proj: Project) -> DuckDBWarehouse:
    return DuckDBWarehouse(proj.warehouse_path)


def sql(proj: Project, *statements: str) -> None:
    for statement in statements:
        wh(proj).execute(statement)


def newest_orders_load(proj: Project) -> datetime:
    value: datetime = wh(proj).query("select max(_ingested_at) from raw_shopify.orders")[0][0]
    return value.astimezone(UTC)


def run(
    proj: Project, *names: str, now: datetime | None = None, **kwargs: Any
) -> dict[tuple[str, str], CheckResult]:
    now = now or newest_orders_load(proj) + timedelta(hours=1)
    results = run_quality(
        proj,
        wh(proj),
        checks={n: CHECKS[n] for n in names or MINE},
        expected_raw=expected_raw(proj),
        now=now,
        **kwargs,
    )
    keyed = {(r.check, r.table): r for r in results}
    assert len(keyed) == len(results), "one result per check and table"
    return keyed


def with_tables(proj: Project, **tables: dict[str, Any]) -> Project:
    quality = proj.settings.quality.model_copy(
        update={"tables": {k: TableQualitySettings(**v) for k, v in tables.items()}}
    )
    return dataclasses.replace(proj, settings=proj.settings.model_copy(update={"quality": quality}))


def test_clean_warehouse_is_ok_and_first_schemas_become_the_baseline(proj: Project) -> None:
    results = run(proj)
    bad = {k: r.message for k, r in results.items() if r.severity in BAD}
    assert bad == {}
    checks = {c for c, _ in results}
    assert checks == set(MINE)
    drift = [r for (c, _), r in results.items() if c == "schema_drift"]
    assert drift and {r.severity for r in drift} == {Severity.INFO}
    for name in ("inventory", "duplicate_keys", "null_rates", "invalid_rows"):
        assert results[(name, "marts.campaign_daily")].severity is Severity.OK, name
    assert results[("duplicate_keys", "raw_meta_ads.insights")].severity is Severity.OK
    layer = [r for (c, _), r in results.items() if c == "layer_reconciliation"]
    assert len(layer) >= 15 and {r.severity for r in layer} == {Severity.OK}
    again = run(proj, now=newest_orders_load(proj) + timedelta(hours=2))
    assert {r.severity for (c, _), r in again.items() if c == "schema_drift"} == {Severity.OK}
    rows = wh(proj).query(
        "select count(distinct run_id), bool_and(accepted) from martlake.dq_schema_snapshot"
    )
    assert rows == [(2, False)]


def test_freshness_on_a_frozen_clock_is_stored_with_its_severity(proj: Project) -> None:
    """The 24 h / 48 h boundaries themselves are in tests/unit/quality/test_freshness.py; here
    the check runs through run_quality on a sandbox warehouse and its result is kept."""
    results = run(proj, "freshness", now=newest_orders_load(proj) + timedelta(hours=48))
    assert results[("freshness", "raw_shopify.orders")].severity is Severity.CRITICAL
    stored = wh(proj).query(
        "select severity from martlake.dq_check_result where table_name = 'raw_shopify.orders'"
    )
    assert stored == [(Severity.CRITICAL.value,)]


def test_per_table_freshness_override_changes_the_severity(proj: Project) -> None:
    now = newest_orders_load(proj) + timedelta(hours=50)
    assert run(proj, "freshness", now=now)[("freshness", "raw_shopify.orders")].severity is (
        Severity.CRITICAL
    )
    relaxed = with_tables(
        proj,
        **{
            "raw_shopify.orders": {
                "freshness_warn_after_hours": 49,
                "freshness_critical_after_hours": 72,
            }
        },
    )
    results = run(relaxed, "freshness", now=now)
    assert results[("freshness", "raw_shopify.orders")].severity is Severity.WARN
    assert results[("freshness", "raw_shopify.orders")].critical_threshold == 72


def test_dropped_mart_column_is_critical_until_accepted(proj: Project) -> None:
    base = newest_orders_load(proj)
    run(proj, "schema_drift", now=base)
    sql(proj, "alter table marts.campaign_daily drop column cpa")
    drift = run(proj, "schema_drift", now=base + timedelta(hours=1))
    result = drift[("schema_drift", "marts.campaign_daily")]
    assert result.severity is Severity.CRITICAL
    assert "`cpa` dropped" in result.message and "--accept-schema" in result.message
    assert drift[("schema_drift", "marts.shopify_unified")].severity is Severity.OK
    accepted = run(proj, "schema_drift", now=base + timedelta(hours=2), accept_schema=True)
    assert accepted[("schema_drift", "marts.campaign_daily")].severity is Severity.INFO
    after = run(proj, "schema_drift", now=base + timedelta(hours=3))
    assert after[("schema_drift", "marts.campaign_daily")].severity is Severity.OK


def test_type_changes_and_added_columns_by_layer(proj: Project) -> None:
    base = newest_orders_load(proj)
    run(proj, "schema_drift", now=base)
    sql(
        proj,
        "alter table staging.stg_shopify__orders alter order_number type varchar",
        "alter table raw_meta_ads.insights alter clicks type varchar",
        "alter table raw_tiktok_ads.ad_stats add column reach bigint",
    )
    drift = run(proj, "schema_drift", now=base + timedelta(hours=1))
    staging = drift[("schema_drift", "staging.stg_shopify__orders")]
    assert staging.severity is Severity.CRITICAL
    assert "`order_number` changed type BIGINT → VARCHAR" in staging.message
    assert drift[("schema_drift", "raw_meta_ads.insights")].severity is Severity.WARN
    added = drift[("schema_drift", "raw_tiktok_ads.ad_stats")]
    assert added.severity is Severity.INFO and "`reach` added" in added.message


def test_duplicated_day_in_a_mart_and_within_one_raw_extraction_is_critical(
    proj: Project,
) -> None:
    day = "2025-01-10"
    sql(
        proj,
        f"insert into marts.campaign_daily select * from marts.campaign_daily where date = '{day}'",
        f"insert into raw_meta_ads.insights select * from raw_meta_ads.insights "
        f"where date_start = '{day}'",
        # The same day from another extraction is how restatements arrive: not a duplicate.
        f"insert into raw_tiktok_ads.ad_stats select * replace ('other-run' as _extract_run_id) "
        f"from raw_tiktok_ads.ad_stats where stat_date = '{day}'",
    )
    results = run(proj, "duplicate_keys")
    mart = results[("duplicate_keys", "marts.campaign_daily")]
    assert mart.severity is Severity.CRITICAL and mart.observed and mart.observed > 0
    assert day in mart.message
    raw = results[("duplicate_keys", "raw_meta_ads.insights")]
    assert raw.severity is Severity.CRITICAL and "_extract_run_id" in raw.message
    assert results[("duplicate_keys", "raw_tiktok_ads.ad_stats")].severity is Severity.OK
    assert results[("duplicate_keys", "marts.facebook_unified")].severity is Severity.OK

    softer = with_tables(proj, **{"marts.campaign_daily": {"duplicate_keys": "WARN"}})
    again = run(softer, "duplicate_keys")
    assert again[("duplicate_keys", "marts.campaign_daily")].severity is Severity.WARN


def test_nulls_in_a_key_column_are_critical_and_a_null_rate_jump_warns(proj: Project) -> None:
    base = newest_orders_load(proj)
    assert run(proj, "null_rates", now=base)[("null_rates", "marts.shopify_unified")].severity is (
        Severity.OK
    )
    sql(
        proj,
        "update marts.facebook_unified set ad_id = null where date = '2025-01-05'",
        "update marts.shopify_unified set referring_site = null, landing_site = null",
    )
    results = run(proj, "null_rates", now=base + timedelta(hours=1))
    key = results[("null_rates", "marts.facebook_unified")]
    assert key.severity is Severity.CRITICAL and "`ad_id`" in key.message
    jump = results[("null_rates", "marts.shopify_unified")]
    assert jump.severity is Severity.WARN and "`landing_site`" in jump.message
    history = wh(proj).query(
        "select count(distinct run_id) from martlake.dq_metric_history "
        "where metric = 'null_rate' and table_name = 'marts.shopify_unified'"
    )
    assert history == [(2,)]


def test_invalid_rows_are_flagged_by_count(proj: Project) -> None:
    sql(
        proj,
        "update marts.google_ads_unified set clicks = impressions + 1 "
        "where (date, campaign_id) in (select (date, campaign_id) "
        "from marts.google_ads_unified order by all limit 1)",
        "update marts.facebook_unified set spend = -1 where date <= '2025-01-05'",
        # More conversions than clicks is normal (view-through conversions).
        "update marts.tiktok_unified set conversions = clicks + 5",
    )
    results = run(proj, "invalid_rows")
    google = results[("invalid_rows", "marts.google_ads_unified")]
    assert google.severity is Severity.WARN and "clicks > impressions" in google.message
    meta = results[("invalid_rows", "marts.facebook_unified")]
    assert meta.severity is Severity.CRITICAL and "negative spend" in meta.message
    assert results[("invalid_rows", "marts.tiktok_unified")].severity is Severity.OK

    lenient = with_tables(proj, **{"marts.facebook_unified": {"invalid_rows_critical": 100000}})
    relaxed = run(lenient, "invalid_rows")[("invalid_rows", "marts.facebook_unified")]
    assert relaxed.severity is Severity.WARN


def test_rows_removed_from_staging_only_break_layer_reconciliation(proj: Project) -> None:
    sql(
        proj,
        "delete from staging.stg_meta_ads__insights where ad_id = "
        "(select min(ad_id) from staging.stg_meta_ads__insights) and date = '2025-01-07'",
        "delete from staging.stg_shopify__orders where order_id = "
        "(select min(order_id) from staging.stg_shopify__orders)",
    )
    results = run(proj, "layer_reconciliation")
    meta = results[("layer_reconciliation", "staging.stg_meta_ads__insights")]
    assert meta.severity is Severity.CRITICAL
    assert "spend" in meta.message and "`raw_meta_ads.insights`" in meta.message
    downstream = results[("layer_reconciliation", "marts.facebook_unified")]
    assert downstream.severity is Severity.CRITICAL
    orders = results[("layer_reconciliation", "staging.stg_shopify__orders")]
    assert orders.severity is Severity.CRITICAL and "orders" in orders.message
    tiktok = results[("layer_reconciliation", "staging.stg_tiktok_ads__ad_stats")]
    assert tiktok.severity is Severity.OK


def test_inventory_finds_missing_empty_new_and_stale_tables(proj: Project) -> None:
    base = newest_orders_load(proj)
    run(proj, "inventory", now=base)
    built_at = base + timedelta(days=1)
    sql(
        proj,
        "drop table marts.channel_mix",
        "delete from marts.premium_products",
        "create table marts.brand_new as select 1 as id",
        "delete from raw_shopify.orders",
        # A load after the last dbt build: marts built from Meta do not show it yet.
        "insert into raw_meta_ads.insights select * replace "
        f"('late-run' as _extract_run_id, '{built_at.isoformat()}'::timestamptz as _ingested_at)"
        " from raw_meta_ads.insights limit 1",
    )
    strange = with_tables(proj, **{"marts.no_such_table": {"enabled": False}})
    results = run(strange, "inventory", now=base + timedelta(hours=1))
    assert results[("inventory", "marts.channel_mix")].severity is Severity.CRITICAL
    assert "missing" in results[("inventory", "marts.channel_mix")].message
    assert results[("inventory", "marts.premium_products")].severity is Severity.WARN
    assert results[("inventory", "raw_shopify.orders")].severity is Severity.CRITICAL
    assert results[("inventory", "marts.brand_new")].severity is Severity.INFO
    stale = results[("inventory", "marts.facebook_unified")]
    assert stale.severity is Severity.WARN and "raw_meta_ads.insights" in stale.message
    assert results[("inventory", "marts.tiktok_unified")].severity is Severity.OK
    unknown = results[("inventory", "marts.no_such_table")]
    assert unknown.severity is Severity.WARN and "no table" in unknown.message


def test_a_check_that_breaks_is_error_not_ok(proj: Project) -> None:
    def broken(ctx: object) -> list[CheckResult]:
        raise RuntimeError("lost the connection")

    results = run_quality(proj, wh(proj), checks={"null_rates": broken})
    assert [(r.check, r.severity) for r in results] == [("null_rates", Severity.ERROR)]
    sql(proj, "alter table marts.facebook_unified drop column clicks")
    invalid = run(proj, "invalid_rows")
    broke = invalid[("invalid_rows", "marts.facebook_unified")]
    assert broke.severity is Severity.ERROR and "clicks" in broke.message
    assert invalid[("invalid_rows", "marts.tiktok_unified")].severity is Severity.OK


def test_a_disabled_table_is_skipped(proj: Project) -> None:
    sql(
        proj,
        "insert into marts.campaign_daily select * from marts.campaign_daily "
        "where date = '2025-01-10'",
    )
    off = with_tables(proj, **{"marts.campaign_daily": {"enabled": False}})
    results = run(off, "duplicate_keys", "null_rates")
    assert results[("duplicate_keys", "marts.campaign_daily")].severity is Severity.SKIPPED
    assert results[("null_rates", "marts.campaign_daily")].severity is Severity.SKIPPED


def test_check_command_exit_codes_and_status_shows_every_check(
    proj: Project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MARTLAKE_CHECK_ONLY", raising=False)
    monkeypatch.setattr(cli_console, "width", 250)
    root = str(proj.root)
    args = ["check", "-p", root, "--only", "duplicate_keys", "--only", "invalid_rows"]
    assert main(args) == 0
    assert "OK" in capsys.readouterr().out
    sql(
        proj,
        "insert into marts.campaign_daily select * from marts.campaign_daily "
        "where date = '2025-01-10'",
    )
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "CRITICAL" in out and "marts.campaign_daily" in out
    assert main(["check", "-p", root, "--only", "duplicate_key"]) == 2
    assert "did you mean `duplicate_keys`" in capsys.readouterr().err

    states = check_states(proj)
    assert {s.check for s in states} == set(CHECKS)
    current = {(s.check, s.table): s for s in states}
    dup = current[("duplicate_keys", "marts.campaign_daily")]
    assert dup.severity is Severity.CRITICAL and dup.since == dup.checked_at
    ok = current[("duplicate_keys", "marts.facebook_unified")]
    assert ok.severity is Severity.OK and ok.since is not None and ok.since < ok.checked_at  # type: ignore[operator]
    assert current[("schema_drift", "")].severity is None
    assert main(["status", "-p", root]) == 0
    out = capsys.readouterr().out
    assert "Checks (current state)" in out
    for name in CHECKS:
        assert name in out


def test_a_vanished_table_stays_critical_until_accepted(proj: Project) -> None:
    base = newest_orders_load(proj)
    sql(proj, "create table raw_shopify.gift_cards as select 1 as id")
    run(proj, "inventory", now=base)
    sql(proj, "drop table raw_shopify.gift_cards")
    key = ("inventory", "raw_shopify.gift_cards")
    for hours in (1, 2):
        results = run(proj, "inventory", now=base + timedelta(hours=hours))
        assert results[key].severity is Severity.CRITICAL
    accepted = run(proj, "inventory", now=base + timedelta(hours=3), accept_schema=True)
    assert accepted[key].severity is Severity.INFO
    assert key not in run(proj, "inventory", now=base + timedelta(hours=4))
