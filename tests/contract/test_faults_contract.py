"""Cross-cutting emulator faults against every connector: timeouts, ad accounts in another
timezone or currency, and drift selected from config."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, get_args
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from martlake.config import (
    load_project,
)
from martlake.config._models import DriftKind as ConfigDriftKind
from martlake.config._models import FaultKind as ConfigFaultKind
from martlake.errors import ConfigError, SourceError
from martlake.pipeline import simulator_config
from martlake.pipeline._sandbox import sandbox_server, source_settings
from martlake.sandbox import (
    Business,
    EmulatorServer,
    SimulatorConfig,
)
from martlake.sandbox.emulators.server import DRIFT_KINDS, FAULT_KINDS
from martlake.sandbox.simulator import Platform
from martlake.sources import ExtractContext, Source, build_source
from tests.contract.support import sandbox_settings
from tests.sandbox_project import make_sandbox_project

SHOP_TZ = "America/New_York"
CONFIG = SimulatorConfig(
    seed=11,
    start_date=date(2025, 3, 1),
    end_date=date(2025, 3, 14),
    orders_per_day=12,
    timezone=SHOP_TZ,
    ad_timezones={"meta": "Asia/Tokyo", "google": "America/Los_Angeles"},
    ad_currencies={"tiktok": "EUR"},
)
SOURCE_OF: dict[str, str] = {
    "shopify": "shopify",
    "meta": "meta_ads",
    "google": "google_ads",
    "tiktok": "tiktok_ads",
}
# (raw table, account column, day column, spend column, timezone column, currency column)
AD_TABLES: dict[Platform, tuple[str, str, str, str, str, str]] = {
    "meta": ("insights", "account_id", "date_start", "spend", "account_timezone",
             "account_currency"),
    "google": ("campaign_stats", "customer_id", "date", "cost_micros", "time_zone",
               "currency_code"),
    "tiktok": ("ad_stats", "advertiser_id", "stat_date", "spend", "timezone", "currency"),
}  # fmt: skip
DATA_PATHS = {
    "shopify": "orders.json",
    "meta": "insights",
    "google": "searchStream",
    "tiktok": "report/integrated",
}


def extract(source: Source, ctx: ExtractContext | None = None) -> dict[str, pa.Table]:
    """Every batch of one extraction, concatenated per raw table."""
    parts: dict[str, list[pa.Table]] = {}
    try:
        for batch in source.extract(ctx or ExtractContext(run_id="r1")):
            parts.setdefault(batch.table, []).append(batch.data)
    finally:
        source.close()
    return {name: pa.concat_tables(tables) for name, tables in parts.items()}


def spend_by_day(platform: Platform, tables: dict[str, pa.Table]) -> dict[date, Decimal]:
    table, _, day, spend, _, _ = AD_TABLES[platform]
    out: dict[date, Decimal] = {}
    rows = tables[table].select([day, spend]).to_pylist()
    for row in rows:
        value = row[spend]
        if spend == "cost_micros":  # Google: rounded to the cent per campaign-day, as staging does
            value = (Decimal(value) / 1_000_000).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
        out[row[day]] = out.get(row[day], Decimal(0)) + value
    return {d: v for d, v in sorted(out.items()) if v}


def nonzero(per_day: dict[date, Decimal]) -> dict[date, Decimal]:
    return {d: v for d, v in per_day.items() if v}


@pytest.fixture(scope="module")
def business() -> Business:
    return Business(CONFIG)


@pytest.fixture
def server(business: Business) -> Iterator[EmulatorServer]:
    with EmulatorServer(business, timeout_hold=60.0) as srv:
        yield srv


@pytest.mark.parametrize("api", ["shopify", "meta", "google", "tiktok"])
def test_a_timed_out_request_is_retried_and_the_data_stays_exact(
    api: str, server: EmulatorServer, business: Business
) -> None:
    server.inject_fault(api, "timeout", path_contains=DATA_PATHS[api])  # type: ignore[arg-type]
    source = build_source(
        SOURCE_OF[api], sandbox_settings(api, server, CONFIG, timeout_seconds=2.0), backoff=0.01
    )
    started = time.perf_counter()
    tables = extract(source)
    elapsed = time.perf_counter() - started

    # The server holds the answer for 60 s: finishing well before proves the client gave up
    # at its own timeout and retried, instead of waiting for the 504.
    assert elapsed < 30
    assert server.faults_by_kind["timeout"] == 1
    requests, retries = source.http_stats
    # One injected timeout, so at least one retry (a busy machine may time out another).
    assert retries >= 1, (requests, retries)
    if api == "shopify":
        ids = tables["orders"].column("id").to_pylist()
        assert sorted(ids) == [o["id"] for o in business.orders]
        assert sum(tables["orders"].column("total_price").to_pylist()) == sum(
            Decimal(o["total_price"]) for o in business.orders
        )
    else:
        platform: Platform = api  # type: ignore[assignment]
        assert spend_by_day(platform, tables) == nonzero(business.truth.spend_per_day(platform))


def test_timeouts_past_the_last_attempt_fail_naming_the_setting_to_raise(
    server: EmulatorServer,
) -> None:
    server.inject_fault("tiktok", "timeout", times=2, path_contains="report/integrated")
    source = build_source(
        "tiktok_ads",
        sandbox_settings("tiktok", server, CONFIG, timeout_seconds=0.3),
        backoff=0.01,
        max_attempts=2,
    )
    with pytest.raises(SourceError) as caught:
        extract(source)
    message = str(caught.value)
    assert "\n" not in message
    assert "within 0.3s" in message and "`sources.tiktok_ads.timeout_seconds`" in message
    assert source.http_stats[1] == 1


def test_the_client_timeout_comes_from_the_source_settings(server: EmulatorServer) -> None:
    source = build_source("meta_ads", sandbox_settings("meta", server, CONFIG, timeout_seconds=3.5))
    assert source._http.timeout == 3.5  # type: ignore[attr-defined]
    source.close()
    explicit = build_source(
        "meta_ads", sandbox_settings("meta", server, CONFIG, timeout_seconds=3.5), timeout=1.0
    )
    assert explicit._http.timeout == 1.0  # type: ignore[attr-defined]
    explicit.close()


def test_random_faults_draw_only_the_configured_kinds(business: Business) -> None:
    with EmulatorServer(
        business, fault_rate=0.5, fault_seed=3, fault_kinds=["timeout"], timeout_hold=0.0
    ) as srv:
        for _ in range(40):
            srv._respond("GET", "/tiktok/open_api/v1.3/advertiser/info/", {}, _no_headers(), "x")
    assert set(srv.faults_by_kind) == {"timeout"}
    assert 10 <= srv.faults_by_kind["timeout"] <= 30
    with pytest.raises(ValueError, match="fault kinds must be some of"):
        EmulatorServer(business, fault_kinds=["flood"])  # type: ignore[list-item]


def _no_headers() -> Any:
    from martlake.sandbox.emulators._http import Headers

    return Headers([])


@pytest.mark.parametrize("platform", ["meta", "google", "tiktok"])
def test_ad_accounts_report_their_own_timezone_and_currency_and_days(
    platform: Platform, server: EmulatorServer, business: Business
) -> None:
    source = build_source(SOURCE_OF[platform], sandbox_settings(platform, server, CONFIG))
    tables = extract(source)
    table, account, _, _, tz_column, currency_column = AD_TABLES[platform]
    raw = tables[table]
    assert set(raw.column(tz_column).to_pylist()) == {CONFIG.account_timezone(platform)}
    assert set(raw.column(currency_column).to_pylist()) == {CONFIG.account_currency(platform)}
    assert len(set(raw.column(account).to_pylist())) == 1
    truth = nonzero(business.truth.spend_per_day(platform))
    assert spend_by_day(platform, tables) == truth
    # The shop's last instant (midnight after end_date in New York) is 14:00 of the next day
    # in Tokyo: Meta reports that day so far; Los Angeles is still on end_date.
    last = max(truth)
    expected_last = {
        "meta": date(2025, 3, 15),
        "google": date(2025, 3, 14),
        "tiktok": date(2025, 3, 14),
    }
    assert last == expected_last[platform]


def test_ad_rows_are_dated_in_the_account_timezone(business: Business) -> None:
    ds = business._dataset()
    rows: dict[Platform, list[Any]] = {
        "meta": ds.insights,
        "google": ds.google_stats,
        "tiktok": ds.tiktok_stats,
    }
    for platform, platform_rows in rows.items():
        zone = ZoneInfo(CONFIG.account_timezone(platform))
        for row in platform_rows[:: max(1, len(platform_rows) // 40)]:
            start = datetime.fromtimestamp(row.day_start_ts, zone)
            assert (start.date(), start.hour, start.minute) == (row.day, 0, 0), platform


@pytest.mark.parametrize(
    ("platform", "zone"), [("meta", "Asia/Tokyo"), ("google", "America/Los_Angeles")]
)
def test_a_run_on_the_account_day_boundary_neither_drops_nor_duplicates_a_day(
    platform: Platform, zone: str
) -> None:
    boundary = datetime(2025, 3, 10, tzinfo=ZoneInfo(zone))
    later = datetime(2025, 3, 10, 15, tzinfo=ZoneInfo(zone))
    runs: list[tuple[dict[date, Decimal], set[date]]] = []
    watermarks: dict[str, Any] = {}
    truths = []
    for run, as_of in enumerate((boundary, later)):
        config = SimulatorConfig(
            seed=11,
            start_date=CONFIG.start_date,
            end_date=CONFIG.end_date,
            orders_per_day=12,
            timezone=SHOP_TZ,
            ad_timezones={platform: zone},
            as_of=as_of,
        )
        biz = Business(config)
        truths.append(nonzero(biz.truth.spend_per_day(platform)))
        with EmulatorServer(biz) as srv:
            source = build_source(
                SOURCE_OF[platform], sandbox_settings(platform, srv, config, lookback_days=0)
            )
            tables = extract(source, ExtractContext(run_id=f"r{run}", watermarks=watermarks))
        table, account, day, _, _, _ = AD_TABLES[platform]
        windows = tables["extract_windows"].to_pylist()
        covered = {d for w in windows for d in _days(w["date_start"], w["date_end"])}
        runs.append((spend_by_day(platform, tables), covered))
        watermarks = {
            tables[table].column(account)[0].as_py(): max(tables[table].column(day).to_pylist())
        }

    first, second = runs
    # At midnight in the account's timezone the new day has not begun: no empty or partial
    # row for it, and the finished day is complete.
    assert max(first[0]) == date(2025, 3, 9)
    assert first[0] == truths[0]
    # The next run starts at the watermark day, so the boundary day is read again, and the
    # day begun since is there so far: latest extraction per day = the truth at that time.
    assert min(second[1]) == date(2025, 3, 9)
    merged = {d: v for d, v in first[0].items() if d not in second[1]} | second[0]
    assert merged == truths[1]
    assert date(2025, 3, 10) in merged


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day = date.fromordinal(day.toordinal() + 1)


def test_drift_and_fault_kinds_of_config_and_emulator_agree() -> None:
    assert set(get_args(ConfigDriftKind)) == set(DRIFT_KINDS)
    assert set(get_args(ConfigFaultKind)) == set(FAULT_KINDS)


def test_set_drift_reaches_every_emulator_app(server: EmulatorServer) -> None:
    server.set_drift(["new_field", "numbers_as_strings"])
    apps = (server.shopify, server.meta, server.google, server.tiktok)
    assert {app.drift for app in apps} == {frozenset({"new_field", "numbers_as_strings"})}
    server.set_drift([])
    assert {app.drift for app in apps} == {frozenset()}
    with pytest.raises(ValueError, match="unknown drift kind `renamed`"):
        server.set_drift(["renamed"])  # type: ignore[list-item]


def test_sandbox_config_wires_faults_drift_timezones_currencies_and_timeouts(
    tmp_path: Any,
) -> None:
    root = make_sandbox_project(tmp_path / "p", orders_per_day=5)
    with (root / "martlake.toml").open("a") as fh:
        fh.write('\n[reporting]\ncurrency = "USD"\n[reporting.fx_rates]\nEUR = 1.08\n')
    environ = {
        "MARTLAKE__SANDBOX__FAULT_KINDS": '["timeout", "rate_limit"]',
        "MARTLAKE__SANDBOX__TIMEOUT_SECONDS": "0.75",
        "MARTLAKE__SANDBOX__DRIFT": '["dash_values"]',
        "MARTLAKE__SANDBOX__AD_TIMEZONES": '{"meta": "Asia/Tokyo"}',
        "MARTLAKE__SANDBOX__AD_CURRENCIES": '{"tiktok": "EUR"}',
    }
    project = load_project(root, environ=environ)
    assert project.settings.reporting.fx_rates == {"EUR": Decimal("1.08")}
    config = simulator_config(project)
    assert config.account_timezone("meta") == "Asia/Tokyo"
    assert config.account_currency("tiktok") == "EUR"
    assert config.account_currency("meta") == config.currency
    server = sandbox_server(project)
    assert server.fault_kinds == ("timeout", "rate_limit")
    assert server.timeout_hold > 0.75
    assert server.tiktok.drift == frozenset({"dash_values"})  # type: ignore[attr-defined]
    with source_settings(project) as sources:
        assert {cfg.timeout_seconds for cfg in sources.values()} == {0.75}


@pytest.mark.parametrize(
    ("environ", "client", "hold"),
    [
        ({}, 60.0, 61.0),
        ({"MARTLAKE__SANDBOX__FAULT_KINDS": '["timeout"]'}, 5.0, 6.0),
        ({"MARTLAKE__SANDBOX__TIMEOUT_SECONDS": "2"}, 2.0, 3.0),
    ],
    ids=["sources-own", "quick-when-rehearsing-timeouts", "configured"],
)
def test_sandbox_runs_keep_the_sources_timeout_unless_timeouts_are_rehearsed(
    tmp_path: Any, environ: dict[str, str], client: float, hold: float
) -> None:
    project = load_project(make_sandbox_project(tmp_path / "p", orders_per_day=5), environ=environ)
    assert sandbox_server(project).timeout_hold == hold
    with source_settings(project) as sources:
        assert {cfg.timeout_seconds for cfg in sources.values()} == {client}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("DRIFT", '["renamed"]', "drift"),
        ("FAULT_KINDS", '["flood"]', "fault_kinds"),
        ("AD_TIMEZONES", '{"meta": "Mars/Olympus"}', "Mars/Olympus"),
        ("AD_CURRENCIES", '{"tiktok": "euro"}', "euro"),
        ("AD_TIMEZONES", '{"bing": "UTC"}', "bing"),
    ],
)
def test_bad_sandbox_fault_settings_are_config_errors(
    tmp_path: Any, key: str, value: str, message: str
) -> None:
    root = make_sandbox_project(tmp_path / "p", orders_per_day=5)
    with pytest.raises(ConfigError, match=message):
        load_project(root, environ={f"MARTLAKE__SANDBOX__{key}": value})


def test_a_missing_fx_rate_or_bad_reporting_currency_is_a_config_error(tmp_path: Any) -> None:
    root = make_sandbox_project(tmp_path / "p", orders_per_day=5)
    with pytest.raises(ConfigError, match="fx_rates"):
        load_project(root, environ={"MARTLAKE__REPORTING__FX_RATES": '{"EUR": "-1"}'})
    with pytest.raises(ConfigError, match="currency"):
        load_project(root, environ={"MARTLAKE__REPORTING__CURRENCY": "dollars"})
