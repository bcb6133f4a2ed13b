"""Meta Ads connector contract: `MetaAdsSource` against the Meta emulator over loopback HTTP.

Sync and async (report run) reads, the request parameters Meta documents, attribution windows,
action breakdowns, throttling codes, 5xx bursts, restatement and deletion, schema drift and
auth failures; every extraction is compared with what the simulated business serves.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pyarrow as pa
import pytest
from pydantic import SecretStr, ValidationError

from martlake.config import MetaAdsSettings, load_project
from martlake.errors import AuthError, RateLimitError, SourceContractError, SourceError
from martlake.pipeline import RunOptions, run_pipeline, simulator_config
from martlake.sandbox import SANDBOX_META_TOKEN, Business, EmulatorServer, SimulatorConfig
from martlake.sources import ExtractContext, MetaAdsSource
from martlake.sources.meta_ads.source import MIN_POLL_WAIT, _map_error
from martlake.warehouse import DuckDBWarehouse
from tests.contract.support import collect
from tests.sandbox_project import make_sandbox_project

CONFIG = SimulatorConfig(
    seed=3, start_date=date(2025, 3, 1), end_date=date(2025, 4, 15), orders_per_day=30
)
ACCOUNT = CONFIG.meta_account_id
INSIGHTS = f"/v21.0/act_{ACCOUNT}/insights"
LINEAGE = ("_extract_run_id", "_ingested_at")


@pytest.fixture(scope="module")
def business() -> Business:
    return Business(CONFIG)


def meta(
    server: EmulatorServer, token: str = SANDBOX_META_TOKEN, max_attempts: int = 3, **kw: Any
) -> MetaAdsSource:
    kw.setdefault("start_date", CONFIG.start_date)
    kw.setdefault("async_poll_interval", 0.001)
    settings = MetaAdsSettings(
        account_ids=[f"act_{ACCOUNT}"],
        access_token=SecretStr(token),
        base_url=server.meta_base_url,
        **kw,
    )
    return MetaAdsSource(settings, backoff=0.0, max_attempts=max_attempts)


def extract(source: MetaAdsSource, **ctx: Any) -> dict[str, pa.Table]:
    ctx.setdefault("end_date", CONFIG.end_date)
    return collect(source, **ctx)


def rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows without lineage columns, sorted by day and ad, for exact comparisons."""
    data = table.drop_columns(list(LINEAGE)).to_pylist()
    return sorted(data, key=lambda r: (r["date_start"], r["ad_id"]))


def spend_per_day(table: pa.Table) -> dict[date, Decimal]:
    out: dict[date, Decimal] = {}
    for day, value in zip(
        table.column("date_start").to_pylist(), table.column("spend").to_pylist(), strict=True
    ):
        out[day] = out.get(day, Decimal(0)) + (value or 0)
    return {d: v for d, v in out.items() if v}


def truth_spend(server: EmulatorServer) -> dict[date, Decimal]:
    return {d: v for d, v in server.served_spend_per_day("meta").items() if v}


def insight_calls(server: EmulatorServer) -> list[tuple[str, str, dict[str, str]]]:
    return [entry for entry in server.request_log if "/insights" in entry[1]]


@pytest.fixture(scope="module")
def baseline(business: Business) -> list[dict[str, Any]]:
    """The sync extraction of the whole business, every other read must equal it."""
    with EmulatorServer(business) as srv:
        return rows(extract(meta(srv, async_reports="never"))["insights"])


def test_sync_read_pages_through_every_row_with_documented_parameters(
    server: EmulatorServer, business: Business, baseline: list[dict[str, Any]]
) -> None:
    tables = extract(meta(server, async_reports="never", page_size=50))
    table = tables["insights"]
    assert table.num_rows == business.truth.row_counts()["insights"] == len(baseline)
    ads, days = table.column("ad_id").to_pylist(), table.column("date_start").to_pylist()
    keys = set(zip(ads, days, strict=True))
    assert len(keys) == table.num_rows
    assert spend_per_day(table) == truth_spend(server)
    calls = insight_calls(server)
    first_pages = [q for _, _, q in calls if "after" not in q]
    assert len(first_pages) == 2  # 46 days in 31-day windows
    assert len(calls) > len(first_pages)  # paging.next was followed
    for query in first_pages:
        assert query["level"] == "ad" and query["time_increment"] == "1"
        assert query["limit"] == "50"
        assert json.loads(query["action_breakdowns"]) == ["action_type"]
        assert json.loads(query["action_attribution_windows"]) == ["7d_click", "1d_view"]
        assert query["use_unified_attribution_setting"] == "true"
        assert {"attribution_setting", "spend", "actions", "ad_id"} <= set(
            query["fields"].split(",")
        )
    ranges = [json.loads(q["time_range"]) for q in first_pages]
    assert ranges == [
        {"since": "2025-03-01", "until": "2025-03-31"},
        {"since": "2025-04-01", "until": "2025-04-15"},
    ]
    windows = tables["extract_windows"].to_pylist()
    assert [(w["date_start"], w["date_end"]) for w in windows] == [
        (date(2025, 3, 1), date(2025, 3, 31)),
        (date(2025, 4, 1), date(2025, 4, 15)),
    ]


def test_async_report_runs_load_exactly_what_the_sync_path_loads(
    server: EmulatorServer, baseline: list[dict[str, Any]]
) -> None:
    server.meta.job_polls = 3
    tables = extract(meta(server, async_reports="always", page_size=40))
    assert rows(tables["insights"]) == baseline
    assert len(tables["extract_windows"]) == 2
    log = server.request_log
    posts = [(p, q) for m, p, q in log if m == "POST"]
    assert [p for p, _ in posts] == [f"/meta{INSIGHTS}"] * 2
    runs = sorted({p.split("/")[3] for m, p, _ in log if m == "GET" and "act_" not in p})
    assert len(runs) == 2
    for run in runs:
        statuses = [q for m, p, q in log if p == f"/meta/v21.0/{run}"]
        assert len(statuses) == 4  # three unfinished answers, then `Job Completed`
        assert all(q["fields"] == "async_status,async_percent_completion" for q in statuses)
        pages = [q for m, p, q in log if p == f"/meta/v21.0/{run}/insights"]
        assert len(pages) > 1 and pages[0]["limit"] == "40"
        params = server.meta.report_run_params(run)
        assert params["level"] == "ad" and params["time_increment"] == "1"
        assert json.loads(params["action_breakdowns"]) == ["action_type"]
        assert json.loads(params["action_attribution_windows"]) == ["7d_click", "1d_view"]
        assert "attribution_setting" in params["fields"].split(",")


@pytest.mark.parametrize(
    ("days", "is_async"), [(7, False), (8, True)], ids=["7-days-sync", "8-days-async"]
)
def test_auto_mode_goes_async_only_for_windows_longer_than_seven_days(
    server: EmulatorServer, days: int, is_async: bool
) -> None:
    end = date(2025, 4, 10)
    extract(meta(server), start_date=end - timedelta(days=days - 1), end_date=end)
    methods = {m for m, _, _ in insight_calls(server)}
    assert methods == ({"POST", "GET"} if is_async else {"GET"})
    if not is_async:
        assert all("act_" in p for _, p, _ in insight_calls(server))


@pytest.mark.parametrize("status", ["Job Failed", "Job Skipped"])
def test_failed_or_skipped_report_runs_are_created_again(
    server: EmulatorServer, baseline: list[dict[str, Any]], status: str, caplog: Any
) -> None:
    server.meta.fail_next_jobs(2, status)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, "martlake.sources.meta_ads"):
        tables = extract(meta(server, async_reports="always", async_retries=2))
    assert rows(tables["insights"]) == baseline
    assert sum(m == "POST" for m, _, _ in server.request_log) == 4  # 2 failed + 2 windows
    assert sum(status in r.getMessage() for r in caplog.records) == 2


def test_report_run_failing_every_time_is_one_line_error_naming_account_and_window(
    server: EmulatorServer,
) -> None:
    server.meta.fail_next_jobs(10)
    with pytest.raises(SourceError) as info:
        extract(meta(server, async_reports="always", async_retries=1))
    message = str(info.value)
    assert "\n" not in message
    assert f"act_{ACCOUNT}" in message and "2025-03-01..2025-03-31" in message
    assert "Job Failed" in message and "2 times" in message and "async_reports" in message
    assert sum(m == "POST" for m, _, _ in server.request_log) == 2


def test_report_run_that_never_completes_times_out_with_the_setting_to_raise(
    server: EmulatorServer,
) -> None:
    server.meta.job_polls = 1_000_000
    source = meta(server, async_reports="always", async_timeout=0.3, async_poll_interval=0.02)
    started = datetime.now()
    with pytest.raises(SourceError, match=r"still `Job Running`.*async_timeout") as info:
        extract(source)
    assert (datetime.now() - started).total_seconds() < 5
    assert "\n" not in str(info.value)
    polls = [p for m, p, _ in server.request_log if m == "GET" and "act_" not in p]
    assert 3 <= len(polls) < 100  # the wait grew instead of hammering the API


def test_sync_report_meta_finds_too_large_is_read_through_a_report_run(
    server: EmulatorServer, baseline: list[dict[str, Any]]
) -> None:
    server.meta.max_sync_rows = 50
    first, last = date(2025, 4, 10), date(2025, 4, 15)
    source = meta(server)
    loaded = rows(extract(source, start_date=first, end_date=last)["insights"])
    assert loaded == [r for r in baseline if first <= r["date_start"] <= last]
    assert len(loaded) > 50
    assert sum(m == "POST" for m, _, _ in server.request_log) == 1
    assert source.http_stats[1] == 0  # not retried: Meta would refuse it again


def test_sync_report_too_large_without_async_names_the_setting(server: EmulatorServer) -> None:
    server.meta.max_sync_rows = 50
    source = meta(server, async_reports="never")
    with pytest.raises(SourceError, match=r"code 1: Please reduce.*async_reports") as info:
        extract(source, start_date=date(2025, 4, 10), end_date=date(2025, 4, 15))
    assert "\n" not in str(info.value)
    assert source.http_stats[1] == 0


def test_report_run_status_progresses_and_its_insights_wait_for_completion(
    server: EmulatorServer,
) -> None:
    server.meta.job_polls = 2
    auth = {"access_token": SANDBOX_META_TOKEN}
    base = server.meta_base_url
    with httpx.Client() as client:
        created = client.post(
            f"{base}{INSIGHTS}",
            data={
                **auth,
                "level": "ad",
                "time_increment": "1",
                "time_range": '{"since":"2025-03-01","until":"2025-03-10"}',
                "fields": "ad_id,spend",
            },
        )
        run = created.json()["report_run_id"]
        early = client.get(f"{base}/v21.0/{run}/insights", params=auth)
        assert early.status_code == 400 and early.json()["error"]["code"] == 100
        seen = [
            client.get(f"{base}/v21.0/{run}", params=auth).json()["async_status"] for _ in range(3)
        ]
        assert seen == ["Job Not Started", "Job Running", "Job Completed"]
        done = client.get(f"{base}/v21.0/{run}", params=auth).json()
        assert done["async_percent_completion"] == 100 and done["id"] == run
        data = client.get(f"{base}/v21.0/{run}/insights", params={**auth, "limit": 500}).json()
        sync = client.get(
            f"{base}{INSIGHTS}",
            params={
                **auth,
                "level": "ad",
                "time_increment": "1",
                "time_range": '{"since":"2025-03-01","until":"2025-03-10"}',
                "fields": "ad_id,spend",
                "limit": 500,
            },
        ).json()
        assert data["data"] == sync["data"] and len(data["data"]) > 100
        unknown = client.get(f"{base}/v21.0/999/insights", params=auth)
        assert unknown.json()["error"]["code"] == 100


def test_attribution_setting_is_stored_and_purchases_follow_value(
    server: EmulatorServer, business: Business, baseline: list[dict[str, Any]]
) -> None:
    assert {r["attribution_setting"] for r in baseline} == {"7d_click_1d_view"}
    actions = [json.loads(r["actions_json"]) for r in baseline if r["actions_json"]]
    purchase = [a for row in actions for a in row if a["action_type"] == "purchase"]
    assert purchase and all(
        int(a["value"]) == int(a["7d_click"]) + int(a["1d_view"]) for a in purchase
    )
    served = {
        (r["date_start"], r["ad_id"]): r for r in business.meta_insights
    }  # what Meta counts under the ad set's attribution setting
    for row in baseline:
        raw = served[(row["date_start"].isoformat(), row["ad_id"])]
        values = {a["action_type"]: a["value"] for a in raw.get("action_values", [])}
        counts = {a["action_type"]: a["value"] for a in raw.get("actions", [])}
        assert row["purchases"] == int(counts.get("offsite_conversion.fb_pixel_purchase", 0))
        assert row["purchase_value"] == Decimal(
            values.get("offsite_conversion.fb_pixel_purchase", "0")
        )
    without = rows(extract(meta(server, async_reports="never", attribution_windows=[]))["insights"])
    strip = ("actions_json",)
    assert [{k: v for k, v in r.items() if k not in strip} for r in without] == [
        {k: v for k, v in r.items() if k not in strip} for r in baseline
    ]
    plain = [q for _, _, q in insight_calls(server) if "after" not in q][-1]
    assert "action_attribution_windows" not in plain


def test_rows_without_any_actions_load_zero_purchases(baseline: list[dict[str, Any]]) -> None:
    empty = [r for r in baseline if r["actions_json"] is None]
    assert empty, "the simulated business has ad-days without conversions"
    assert all(r["purchases"] == 0 and r["purchase_value"] == Decimal(0) for r in empty)


@pytest.mark.parametrize(
    ("value", "ok"),
    [("[]", True), ('["action_type"]', True), ("action_type", True), ('["action_device"]', False)],
    ids=["empty", "action_type", "comma-list", "action_device-refused"],
)
def test_emulator_action_breakdowns(server: EmulatorServer, value: str, ok: bool) -> None:
    response = httpx.get(
        f"{server.meta_base_url}{INSIGHTS}",
        params={
            "access_token": SANDBOX_META_TOKEN,
            "level": "ad",
            "time_increment": 1,
            "fields": "ad_id,actions",
            "action_breakdowns": value,
        },
    )
    if ok:
        assert response.status_code == 200 and response.json()["data"]
    else:
        assert response.status_code == 400 and response.json()["error"]["code"] == 100


def test_incremental_run_rereads_the_lookback_window(server: EmulatorServer) -> None:
    watermark = date(2025, 4, 15)
    tables = extract(meta(server, lookback_days=28), watermarks={ACCOUNT: watermark})
    days = set(tables["insights"].column("date_start").to_pylist())
    assert min(days) == date(2025, 3, 18) and max(days) == watermark
    assert [(w["date_start"], w["date_end"]) for w in tables["extract_windows"].to_pylist()] == [
        (date(2025, 3, 18), watermark)
    ]


def test_rerun_reads_identical_rows(server: EmulatorServer) -> None:
    first = extract(meta(server, async_reports="never"), run_id="a")
    second = extract(meta(server, async_reports="never"), run_id="b")
    assert rows(first["insights"]) == rows(second["insights"])
    assert set(second["insights"].column("_extract_run_id").to_pylist()) == {"b"}


def test_restated_and_deleted_data_are_what_a_rerun_reads(business: Business) -> None:
    fresh = Business(CONFIG)
    with EmulatorServer(fresh) as server:
        before = extract(meta(server))["insights"]
        server.restate("meta", 10, "1.1")
        campaign = before.column("campaign_id")[0].as_py()
        server.delete_campaign("meta", campaign)
        after = extract(meta(server, lookback_days=28), watermarks={ACCOUNT: CONFIG.end_date})
        table = after["insights"]
        assert campaign not in set(table.column("campaign_id").to_pylist())
        cutoff = CONFIG.end_date - timedelta(days=28)
        served = {d: v for d, v in truth_spend(server).items() if d >= cutoff}
        assert spend_per_day(table) == served
        assert spend_per_day(table) != {
            d: v for d, v in spend_per_day(before).items() if d >= cutoff
        }
        window = after["extract_windows"].to_pylist()
        assert [(w["date_start"], w["date_end"]) for w in window] == [(cutoff, CONFIG.end_date)]


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80000, 80004])
def test_throttling_codes_are_retried_and_the_data_stays_exact(
    server: EmulatorServer, baseline: list[dict[str, Any]], code: int
) -> None:
    server.meta.throttle(code, times=3)
    source = meta(server, max_attempts=5)
    tables = extract(source)
    assert rows(tables["insights"]) == baseline
    assert source.http_stats[1] == 3


def test_throttling_waits_what_meta_announces(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr("martlake.sources._http.time.sleep", waits.append)
    server.meta.throttle(80004, times=1, regain_minutes=1)
    server.meta.throttle(4, times=1)
    source = meta(server, async_reports="never", max_attempts=5)
    extract(source, start_date=date(2025, 4, 1))
    assert waits[:2] == [60.0, 0.0]  # BUC header: 1 minute; x-app-usage: backoff (0 in tests)
    ad_account = httpx.Response(
        400,
        json={"error": {"code": 17, "message": "(#17) User request limit reached"}},
        headers={"x-ad-account-usage": '{"acc_id_util_pct":100,"reset_time_duration":42}'},
    )
    error = _map_error(ad_account)
    assert isinstance(error, RateLimitError) and error.retry_after == 42.0


def test_throttling_that_never_ends_is_one_line_rate_limit_error(server: EmulatorServer) -> None:
    server.meta.throttle(613, times=10)
    with pytest.raises(RateLimitError, match=r"code 613") as info:
        extract(meta(server, max_attempts=3))
    assert "\n" not in str(info.value)


def test_server_error_burst_is_retried(
    server: EmulatorServer, baseline: list[dict[str, Any]]
) -> None:
    server.inject_fault("meta", "server_error", times=4, path_contains="/insights")
    source = meta(server, max_attempts=6)
    assert rows(extract(source)["insights"]) == baseline
    assert source.http_stats[1] == 4


def test_new_field_loads_as_before_with_one_warning(
    server: EmulatorServer, baseline: list[dict[str, Any]], caplog: Any
) -> None:
    server.meta.drift = frozenset({"new_field"})
    with caplog.at_level(logging.WARNING, "martlake.sources.meta_ads"):
        table = extract(meta(server, page_size=50))["insights"]
    assert rows(table) == baseline
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "`quality_ranking`" in warnings[0]


def test_renamed_spend_is_a_contract_error_naming_the_field(server: EmulatorServer) -> None:
    server.meta.drift = frozenset({"renamed_field"})
    batches = meta(server).extract(ExtractContext(run_id="r", end_date=CONFIG.end_date))
    loaded = []
    with pytest.raises(SourceContractError) as info:
        loaded.extend(b.table for b in batches)
    message = str(info.value)
    assert "\n" not in message
    assert "meta_ads" in message and "`spend`" in message and "amount_spent" in message
    assert "api_version" in message
    assert "insights" not in loaded  # not a single row of that extraction was yielded


def test_numbers_instead_of_strings_load_the_same_values(
    server: EmulatorServer, baseline: list[dict[str, Any]]
) -> None:
    server.meta.drift = frozenset({"numbers_as_strings"})
    page = httpx.get(
        f"{server.meta_base_url}{INSIGHTS}",
        params={"access_token": SANDBOX_META_TOKEN, "level": "ad", "fields": "ad_id,spend,clicks"},
    ).json()["data"][0]
    assert isinstance(page["clicks"], int) and isinstance(page["spend"], float)
    loaded = rows(extract(meta(server))["insights"])
    assert [without_actions_json(r) for r in loaded] == [without_actions_json(r) for r in baseline]
    assert [as_text(r["actions_json"]) for r in loaded] == [
        as_text(r["actions_json"]) for r in baseline
    ]


def without_actions_json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "actions_json"}


def as_text(actions_json: str | None) -> list[dict[str, str]] | None:
    """Raw `actions` JSON with numbers as Meta's usual strings (money keeps two decimals)."""
    if actions_json is None:
        return None
    return [{k: str(v) for k, v in a.items()} for a in json.loads(actions_json)]


def test_dash_values_load_as_null_and_totals_stay_exact(
    server: EmulatorServer, baseline: list[dict[str, Any]]
) -> None:
    server.meta.drift = frozenset({"dash_values"})
    table = extract(meta(server))["insights"]
    loaded = rows(table)
    dashed = [
        (new, old)
        for new, old in zip(loaded, baseline, strict=True)
        if new["clicks"] is None or new["spend"] is None
    ]
    assert dashed, "the simulated business has ad-days with zero clicks or spend"
    for new, old in dashed:
        assert (new["clicks"] is None) == (old["clicks"] == 0)
        assert (new["spend"] is None) == (old["spend"] == 0)
    assert spend_per_day(table) == truth_spend(server)
    assert sum(r["clicks"] or 0 for r in loaded) == sum(r["clicks"] for r in baseline)


def test_bad_token_is_one_line_auth_error_without_the_token(server: EmulatorServer) -> None:
    with pytest.raises(AuthError, match=r"ads_read.*secrets.toml") as info:
        extract(meta(server, token="EAAB-not-the-token"))
    assert "\n" not in str(info.value) and "EAAB-not-the-token" not in str(info.value)


def test_until_is_today_in_the_account_timezone() -> None:
    zone = "Pacific/Kiritimati"  # UTC+14: its today is tomorrow in UTC for 10 hours a day
    today = datetime.now(ZoneInfo(zone)).date()
    config = SimulatorConfig(
        seed=1, start_date=today - timedelta(days=5), end_date=today, timezone=zone
    )
    with EmulatorServer(Business(config)) as server:
        source = meta(server, lookback_days=2)
        for _ in source.extract(
            ExtractContext(run_id="tz", watermarks={ACCOUNT: today - timedelta(days=1)})
        ):
            pass
        until = {json.loads(q["time_range"])["until"] for _, _, q in insight_calls(server)}
    assert until == {datetime.now(ZoneInfo(zone)).date().isoformat()}


def meta_only_project(root: Path) -> Path:
    """The sandbox example project with Meta as its only source."""
    make_sandbox_project(root, start=date(2025, 1, 1), end=date(2025, 2, 15), orders_per_day=20)
    secrets = root / ".martlake" / "secrets.toml"
    secrets.write_text(f'[sources.meta_ads]\naccess_token = "{SANDBOX_META_TOKEN}"\n')
    config = root / "martlake.toml"
    text = config.read_text()
    for name in ("shopify", "google_ads", "tiktok_ads"):
        text = re.sub(rf"\[sources\.{name}\]\n(?:.+\n)*\n", "", text)
    config.write_text(text)
    return root


@pytest.mark.slow
def test_pipeline_loads_nothing_of_a_renamed_field_run_and_counts_dashes_as_zero(
    tmp_path: Path,
) -> None:
    root = meta_only_project(tmp_path / "meta")
    clean = load_project(root, environ={})
    raw_only = RunOptions(skip=frozenset({"transform", "quality", "reconcile", "publish"}))
    assert run_pipeline(clean, raw_only).exit_code == 0
    wh = DuckDBWarehouse(clean.warehouse_path)
    count = "select count(*), count(distinct _extract_run_id) from raw_meta_ads.insights"
    before = wh.query(count)
    assert before[0][0] > 0

    renamed = load_project(root, environ={"MARTLAKE__SANDBOX__DRIFT": '["renamed_field"]'})
    with pytest.raises(SourceContractError, match=r"`spend`.*`amount_spent`"):
        run_pipeline(renamed, raw_only)
    assert wh.query(count) == before

    dashed = load_project(root, environ={"MARTLAKE__SANDBOX__DRIFT": '["dash_values"]'})
    assert run_pipeline(dashed, RunOptions(skip=frozenset({"publish"}))).exit_code == 0
    nulls = wh.query(
        "select count(*) from raw_meta_ads.insights where spend is null or clicks is null"
    )
    assert nulls[0][0] > 0
    staged = wh.query(
        "select date, sum(spend), count(*), count(attribution_setting), count(*) filter "
        "(where spend is null or clicks is null) from staging.stg_meta_ads__insights group by 1"
    )
    assert all(n == with_setting and no_nulls == 0 for _, _, n, with_setting, no_nulls in staged)
    truth = Business(simulator_config(dashed)).truth.spend_per_day("meta")
    assert {d: v for d, v, *_ in staged if v} == {d: v for d, v in truth.items() if v}


def test_app_limit_answered_with_403_is_retried_as_throttling_not_auth(
    server: EmulatorServer, baseline: list[dict[str, Any]]
) -> None:
    server.meta.throttle(4, times=2, status=403)  # Meta sends code 4 with 403 too
    source = meta(server, max_attempts=5)
    assert rows(extract(source)["insights"]) == baseline
    assert source.http_stats[1] == 2
    denied = httpx.Response(
        403,
        json={"error": {"code": 200, "message": "(#200) Requires ads_read permission"}},
    )
    assert isinstance(_map_error(denied), AuthError)
    unknown_403 = httpx.Response(403, json={"error": {"code": 3, "message": "No capability"}})
    assert isinstance(_map_error(unknown_403), AuthError)


def test_report_run_polls_never_spin_and_a_zero_interval_is_refused(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValidationError, match="async_poll_interval"):
        MetaAdsSettings(account_ids=["act_1"], async_poll_interval=0)
    waits: list[float] = []
    monkeypatch.setattr("martlake.sources.meta_ads.source.time.sleep", waits.append)
    server.meta.job_polls = 6
    source = meta(server, async_reports="always", async_poll_interval=0.001)
    extract(source, start_date=date(2025, 4, 1))
    assert waits[0] == 0.0 and len(waits) >= 6  # the first poll is immediate
    assert min(waits[1:]) >= MIN_POLL_WAIT == 0.05
