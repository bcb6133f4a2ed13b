"""Reconciliation against the emulators: one simulated business is loaded once, then each test
copies the warehouse, injects one fault (or none) and reconciles it with the sources."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from martlake.cli.app import main
from martlake.config import Project, ReconciliationSettings, load_project
from martlake.pipeline import RunOptions, run_pipeline, sandbox_server, simulator_config
from martlake.pipeline._steps import dbt_vars
from martlake.quality import CheckResult, Severity
from martlake.quality.reconcile import reconcile_sources
from martlake.sandbox import Business, EmulatorServer
from martlake.transform import run_dbt
from martlake.warehouse import DuckDBWarehouse
from tests.sandbox_project import make_sandbox_project

pytestmark = pytest.mark.xdist_group("reconciliation")
START, END = date(2025, 1, 1), date(2025, 1, 20)
SETTLED_DAY = END - timedelta(days=5)
SHOP = "dtc-brand.myshopify.com"
META, GOOGLE, TIKTOK = "1234567890", "1234567890", "7000000000000000001"
TABLES = {
    "shopify": "shopify.orders",
    "meta_ads": f"meta_ads.spend:{META}",
    "google_ads": f"google_ads.spend:{GOOGLE}",
    "tiktok_ads": f"tiktok_ads.spend:{TIKTOK}",
}
# (mart, account, the column that makes a row unique within an account-day)
MARTS = {
    "meta_ads": ("facebook_unified", META, "ad_id"),
    "google_ads": ("google_ads_unified", GOOGLE, "campaign_id"),
    "tiktok_ads": ("tiktok_unified", TIKTOK, "ad_id"),
}


def urls(server: EmulatorServer) -> dict[str, dict[str, str]]:
    """Each source's settings that point it at `server`."""
    return {
        "shopify": {"base_url": server.shopify_base_url},
        "meta_ads": {"base_url": server.meta_base_url},
        "google_ads": {
            "base_url": server.google_base_url,
            "token_url": f"{server.google_base_url}/token",
        },
        "tiktok_ads": {"base_url": server.tiktok_base_url},
    }


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose warehouse holds 20 simulated days, built without reconciling."""
    root = make_sandbox_project(
        tmp_path_factory.mktemp("reconcile") / "project", start=START, end=END, orders_per_day=5
    )
    config = root / "martlake.toml"
    # Meta bills in Berlin's days; TikTok's last day has not closed in Los Angeles yet.
    config.write_text(
        config.read_text().replace(
            "[sandbox]\nenabled = true\n",
            "[sandbox]\nenabled = true\n"
            'ad_timezones = { meta = "Europe/Berlin", tiktok = "America/Los_Angeles" }\n',
        )
    )
    project = load_project(root, environ={})
    skip = frozenset({"quality", "reconcile", "publish"})
    result = run_pipeline(project, RunOptions(skip=skip))
    assert result.exit_code == 0, result.to_dict()
    return root


@pytest.fixture
def project(loaded: Path, tmp_path: Path) -> Project:
    root = tmp_path / "project"
    shutil.copytree(loaded, root)
    return load_project(root, environ={})


def warehouse(project: Project) -> DuckDBWarehouse:
    return DuckDBWarehouse(project.warehouse_path)


def reconcile(
    project: Project,
    server: EmulatorServer | None = None,
    *,
    end_date: date | None = None,
    changes: dict[str, dict[str, Any]] | None = None,
) -> dict[str, CheckResult]:
    """Reconcile the project's warehouse with `server` (default: its own sandbox)."""
    server = server or sandbox_server(project)
    settings = project.settings.sources
    with server:
        configs = {
            name: getattr(settings, name).model_copy(update=update | (changes or {}).get(name, {}))
            for name, update in urls(server).items()
        }
        results = reconcile_sources(
            warehouse(project),
            configs,
            ReconciliationSettings(),
            run_id="test",
            now=simulator_config(project).effective_as_of,
            end_date=end_date,
            http_options={"backoff": 0.01, "max_attempts": 2},
        )
    by_table = {r.table: r for r in results}
    if changes is None:
        assert set(by_table) == set(TABLES.values())
    return by_table


def comparisons(project: Project, source: str, campaigns: bool = False) -> list[tuple[Any, ...]]:
    where = "is not null" if campaigns else "is null"
    return warehouse(project).query(
        "select day, campaign_id, source_value, warehouse_value, diff, status "
        f"from martlake.dq_reconciliation where source = ? and campaign_id {where} "
        "order by day, campaign_id",
        [source],
    )


def others_ok(results: dict[str, CheckResult], bad: str) -> None:
    for source, table in TABLES.items():
        if source != bad:
            assert results[table].severity is Severity.OK, results[table].message


def test_clean_data_reconciles_ok_and_records_every_comparison(project: Project) -> None:
    result = run_pipeline(project, RunOptions(only="reconcile"))

    assert [(s.step, s.status.value) for s in result.steps] == [("reconcile", "ok")]
    assert result.exit_code == 0
    assert {c.table: c.severity for c in result.checks} == dict.fromkeys(
        TABLES.values(), Severity.OK
    )
    days = {d for d, *_ in comparisons(project, "shopify")}
    assert days == {END - timedelta(days=i) for i in range(7)}
    # At the sandbox's clock (midnight after END in New York) END has not ended in Los Angeles.
    tiktok = comparisons(project, "tiktok_ads")
    assert [d for d, *_ in tiktok] == [END - timedelta(days=i) for i in range(7, 0, -1)]
    rows = warehouse(project).query(
        "select source, count(*), count(*) filter (where status = 'OK'), "
        "sum(source_value) filter (where source_value > 0) "
        "from martlake.dq_reconciliation group by 1 order by 1"
    )
    assert [(s, n, ok) for s, n, ok, _ in rows] == [
        (source, 7, 7) for source in ("google_ads", "meta_ads", "shopify", "tiktok_ads")
    ]
    assert all(total > 0 for *_, total in rows)
    recorded = warehouse(project).query(
        "select table_name, severity from martlake.dq_check_result "
        "where check_name = 'reconciliation' and run_id = ?",
        [result.run_id],
    )
    assert sorted(recorded) == sorted((t, "OK") for t in TABLES.values())


@pytest.mark.parametrize("source", ["meta_ads", "google_ads", "tiktok_ads"])
def test_a_dropped_ad_row_is_critical_with_its_campaign_in_the_drill_down(
    project: Project, source: str
) -> None:
    mart, account, key = MARTS[source]
    wh = warehouse(project)
    row_key, campaign, spend = wh.query(
        f"select {key}, campaign_id, spend from marts.{mart} "
        "where account_id = ? and date = ? order by spend desc limit 1",
        [account, SETTLED_DAY],
    )[0]
    wh.execute(
        f"delete from marts.{mart} where account_id = ? and date = ? and {key} = ?",
        [account, SETTLED_DAY, row_key],
    )

    results = reconcile(project)

    check = results[TABLES[source]]
    assert check.severity is Severity.CRITICAL
    assert str(SETTLED_DAY) in check.message and str(campaign) in check.message
    assert "martlake run --start-date" in check.message
    others_ok(results, source)
    day = {d: (sv, wv, diff, status) for d, _, sv, wv, diff, status in comparisons(project, source)}
    # Google's day total is unrounded micros; the warehouse rounds each campaign to the cent.
    cent = Decimal("0.01")
    assert day[SETTLED_DAY][3] == "CRITICAL"
    assert abs(day[SETTLED_DAY][2] + spend) <= cent
    assert all(s == "OK" for d, (*_, s) in day.items() if d != SETTLED_DAY)
    drilled = comparisons(project, source, campaigns=True)
    assert [(d, c, s) for d, c, _, _, _, s in drilled] == [(SETTLED_DAY, str(campaign), "CRITICAL")]
    assert abs(drilled[0][4] + spend) <= cent


def test_an_order_shifted_across_midnight_mismatches_both_days(project: Project) -> None:
    wh = warehouse(project)
    # The last order of a settled day, moved to 00:02 of the next day (shop time).
    order_id, created = wh.query(
        "select id, created_at from raw_shopify.orders "
        "where cast(timezone('America/New_York', created_at) as date) = ? "
        "order by created_at desc limit 1",
        [SETTLED_DAY],
    )[0]
    wh.execute(
        "update raw_shopify.orders set created_at = "
        "timezone('America/New_York', cast(? as timestamp)) where id = ?",
        [f"{SETTLED_DAY + timedelta(days=1)} 00:02:00", order_id],
    )
    built = run_dbt(
        "run",
        database=project.warehouse_path,
        state_dir=project.state_dir / "dbt",
        select=["stg_shopify__orders"],
        vars=dbt_vars(project),
        full_refresh=True,
    )
    assert built.success and created is not None

    results = reconcile(project)

    check = results["shopify.orders"]
    assert check.severity is Severity.CRITICAL
    next_day = SETTLED_DAY + timedelta(days=1)
    assert str(SETTLED_DAY) in check.message and str(next_day) in check.message
    others_ok(results, "shopify")
    diffs = {d: (diff, status) for d, _, _, _, diff, status in comparisons(project, "shopify")}
    assert diffs[SETTLED_DAY] == (Decimal(-1), "CRITICAL")
    assert diffs[next_day] == (Decimal(1), "CRITICAL")
    assert {s for d, (_, s) in diffs.items() if d not in (SETTLED_DAY, next_day)} == {"OK"}


@pytest.mark.parametrize(
    ("source", "bug"),
    [
        # Orders dated by their UTC day instead of the shop's (New York) day.
        (
            "shopify",
            "update staging.stg_shopify__orders "
            "set order_date = cast(timezone('UTC', created_at) as date)",
        ),
        # A Berlin account's daily rows dated one day late, as a UTC round trip would.
        ("meta_ads", "update marts.facebook_unified set date = date + 1"),
    ],
    ids=["shop-orders-by-utc-day", "berlin-account-shifted"],
)
def test_a_utc_day_bug_is_critical(project: Project, source: str, bug: str) -> None:
    warehouse(project).execute(bug)

    results = reconcile(project)

    check = results[TABLES[source]]
    assert check.severity is Severity.CRITICAL, check.message
    others_ok(results, source)
    statuses = [status for *_, status in comparisons(project, source)]
    assert statuses.count("CRITICAL") >= 2


@pytest.mark.parametrize(
    ("days", "factor", "expected"),
    [(2, "1.01", Severity.WARN), (2, "1.10", Severity.CRITICAL), (5, "1.01", Severity.CRITICAL)],
    ids=["unsettled-within-tolerance", "unsettled-beyond-tolerance", "settled-days-restated"],
)
def test_a_restatement_after_the_load_is_judged_by_settlement(
    project: Project, days: int, factor: str, expected: Severity
) -> None:
    server = sandbox_server(project)
    server.restate("meta", days, factor)

    results = reconcile(project, server)

    check = results[TABLES["meta_ads"]]
    assert check.severity is expected, check.message
    others_ok(results, "meta_ads")
    statuses = {d: status for d, *_, status in comparisons(project, "meta_ads")}
    # In Berlin the sandbox's clock already reads 06:00 on the day after END, the first of
    # the restated days, which has not closed yet.
    restated = [d for d in sorted(statuses) if d > END + timedelta(days=1 - days)]
    assert {statuses[d] for d in statuses if d not in restated} == {"OK"}
    if expected is Severity.WARN:
        assert {statuses[d] for d in restated} == {"WARN"}
        assert "may still restate" in check.message
    elif days == 5:
        assert [statuses[d] for d in restated] == ["CRITICAL"] + ["WARN"] * 3


def test_a_backfill_judges_months_old_days_as_settled(project: Project) -> None:
    server = sandbox_server(project)
    server.restate("meta", 8, "1.01")  # END - 6 … END + 1: the backfill's last two days

    results = reconcile(project, server, end_date=SETTLED_DAY)

    check = results[TABLES["meta_ads"]]
    # 1 % would be WARN on one of the 3 most recent days; these are a week old.
    assert check.severity is Severity.CRITICAL, check.message
    statuses = {d: status for d, *_, status in comparisons(project, "meta_ads")}
    assert max(statuses) == SETTLED_DAY
    assert [statuses[d] for d in sorted(statuses)][-2:] == ["CRITICAL", "CRITICAL"]
    others_ok(results, "meta_ads")


def test_a_bad_shop_timezone_is_an_error_result_not_an_aborted_run(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = Business.shop
    assert isinstance(served, property) and served.fget is not None
    bad = property(lambda b: {**served.fget(b), "iana_timezone": "Mars/Olympus_Mons"})  # type: ignore[misc]
    monkeypatch.setattr(Business, "shop", bad)  # what GET shop.json answers

    results = reconcile(project)

    check = results[TABLES["shopify"]]
    assert check.severity is Severity.ERROR, check.message
    assert "`shopify`" in check.message and "Mars/Olympus_Mons" in check.message
    assert "[sources.shopify]" in check.message
    others_ok(results, "shopify")


def test_a_source_that_cannot_be_built_is_an_error_result(project: Project) -> None:
    results = reconcile(project, changes={"meta_ads": {"base_url": "http://[::1"}})

    assert set(results) == set(TABLES.values()) - {TABLES["meta_ads"]} | {"meta_ads.spend"}
    check = results["meta_ads.spend"]
    assert check.severity is Severity.ERROR, check.message
    assert "`meta_ads`" in check.message and "[sources.meta_ads]" in check.message
    others_ok(results, "meta_ads")


def test_an_api_401_during_reconciliation_is_an_error_result(project: Project) -> None:
    rejected = load_project(
        project.root, environ={"MARTLAKE__SOURCES__META_ADS__ACCESS_TOKEN": "revoked-token"}
    )

    result = run_pipeline(rejected, RunOptions(only="reconcile"))

    checks = {c.table: c for c in result.checks}
    # The account could not even be described, so the result names the source's metric.
    meta = checks["meta_ads.spend"]
    assert meta.severity is Severity.ERROR
    assert "meta_ads" in meta.message and "access_token" in meta.message
    assert "revoked-token" not in meta.message
    assert {c.severity for t, c in checks.items() if t != "meta_ads.spend"} == {Severity.OK}
    assert [(s.step, s.status.value) for s in result.steps] == [("reconcile", "failed")]
    assert result.exit_code == 1
    assert comparisons(project, "meta_ads") == []


@pytest.mark.parametrize("how", ["flag", "env"])
def test_skip_reconciliation_runs_no_reconciliation(
    project: Project, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["run", "-p", str(project.root), "--from", "reconcile", "--skip-publish"]
    if how == "flag":
        args.append("--skip-reconciliation")
    else:
        monkeypatch.setenv("MARTLAKE_SKIP_RECONCILIATION", "1")

    assert main(args) == 0

    wh = warehouse(project)
    latest = "select steps from martlake.runs order by started_at desc limit 1"
    assert wh.query(latest) == [("",)]
    assert wh.query("select count(*) from martlake.run_log where step = 'reconcile'") == [(0,)]
    assert wh.query("select count(*) from martlake.dq_reconciliation") == [(0,)]
