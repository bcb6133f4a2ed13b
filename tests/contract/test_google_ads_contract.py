"""Google Ads connector contract: `GoogleAdsSource` against the Google Ads emulator over HTTP.

Campaign, ad group and ad streams through `googleAds:searchStream` (GAQL text, date windows,
stream batches, headers), their exact sums against the simulated business, Performance Max
without ad groups, re-runs, restatement and deletion (raw and staged by dbt), 429/5xx bursts,
an access token that expires mid-run, schema drift and auth failures.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow as pa
import pytest
from pydantic import SecretStr

from martlake.config import GoogleAdsSettings
from martlake.errors import AuthError, RateLimitError, SourceContractError
from martlake.sandbox import (
    SANDBOX_GOOGLE_CLIENT_ID,
    SANDBOX_GOOGLE_CLIENT_SECRET,
    SANDBOX_GOOGLE_DEVELOPER_TOKEN,
    SANDBOX_GOOGLE_REFRESH_TOKEN,
    Business,
    EmulatorServer,
    SimulatorConfig,
)
from martlake.sandbox._catalog import GOOGLE_CAMPAIGNS
from martlake.sources import ExtractContext, GoogleAdsSource
from martlake.transform import run_dbt
from tests.contract.support import Recorder, collect

CONFIG = SimulatorConfig(
    seed=11, start_date=date(2025, 3, 1), end_date=date(2025, 4, 15), orders_per_day=10
)
CUSTOMER = CONFIG.google_customer_id
LINEAGE = ("_extract_run_id", "_ingested_at")
STREAMS = ("campaign_stats", "ad_group_stats", "ad_stats")
METRICS = ("impressions", "clicks", "conversions", "conversions_value")
PMAX = {c.id for c in GOOGLE_CAMPAIGNS if c.channel_type == "PERFORMANCE_MAX"}
_BETWEEN = re.compile(r"WHERE segments\.date BETWEEN '(\d{4}-\d\d-\d\d)' AND '(\d{4}-\d\d-\d\d)'$")
_FROM = re.compile(r"^SELECT (?P<fields>.+) FROM (?P<resource>\w+) ")


def gaql(recorder: Recorder) -> list[str]:
    """GAQL texts of the searchStream calls a recorder saw."""
    return [
        json.loads(r.content)["query"]
        for r in recorder.requests
        if r.url.path.endswith("googleAds:searchStream")
    ]


@pytest.fixture(scope="module")
def business() -> Business:
    return Business(CONFIG)


@pytest.fixture(scope="module")
def baseline(business: Business) -> dict[str, pa.Table]:
    with EmulatorServer(business) as srv:
        return extract(google(srv))


def google(
    server: EmulatorServer,
    transport: httpx.BaseTransport | None = None,
    attempts: int = 3,
    **kw: Any,
) -> GoogleAdsSource:
    values: dict[str, Any] = {
        "customer_ids": [CUSTOMER],
        "developer_token": SecretStr(SANDBOX_GOOGLE_DEVELOPER_TOKEN),
        "client_id": SANDBOX_GOOGLE_CLIENT_ID,
        "client_secret": SecretStr(SANDBOX_GOOGLE_CLIENT_SECRET),
        "refresh_token": SecretStr(SANDBOX_GOOGLE_REFRESH_TOKEN),
        "base_url": server.google_base_url,
        "token_url": f"{server.google_base_url}/token",
        "start_date": CONFIG.start_date,
        **kw,
    }
    return GoogleAdsSource(
        GoogleAdsSettings(**values), backoff=0.0, max_attempts=attempts, transport=transport
    )


def extract(source: GoogleAdsSource, **ctx: Any) -> dict[str, pa.Table]:
    ctx.setdefault("end_date", CONFIG.end_date)
    return collect(source, **ctx)


def rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows without lineage columns, in a stable order, for exact comparisons."""
    data = table.drop_columns(list(LINEAGE)).to_pylist()
    return sorted(
        data, key=lambda r: (r["date"], r["campaign_id"], r.get("ad_group_id"), r.get("ad_id"))
    )


def micros_per_day(tables: dict[str, pa.Table]) -> dict[str, Counter[date]]:
    """Σ cost in micros per day: campaigns, Performance Max campaigns, ad groups, ads."""
    out: dict[str, Counter[date]] = {k: Counter() for k in ("campaign", "pmax", "group", "ad")}
    for r in tables["campaign_stats"].to_pylist():
        micros = r["cost_micros"] or 0
        out["campaign"][r["date"]] += micros
        if r["campaign_id"] in PMAX:
            out["pmax"][r["date"]] += micros
    for key, table in (("group", "ad_group_stats"), ("ad", "ad_stats")):
        for r in tables[table].to_pylist():
            out[key][r["date"]] += r["cost_micros"] or 0
    return out


def truth_micros(business: Business) -> Counter[date]:
    out: Counter[date] = Counter()
    for (day, _), micros in business.truth.google_cost_micros_per_campaign_day().items():
        out[day] += micros
    return out


def test_ads_plus_performance_max_add_up_to_campaigns_and_truth_per_day(
    baseline: dict[str, pa.Table], business: Business
) -> None:
    sums = micros_per_day(baseline)
    days = set(sums["campaign"])
    assert len(days) == (CONFIG.end_date - CONFIG.start_date).days + 1
    for day in days:
        assert sums["ad"][day] + sums["pmax"][day] == sums["campaign"][day], day
        assert sums["group"][day] == sums["ad"][day], day
    assert +sums["campaign"] == +truth_micros(business)
    assert sums["pmax"] and all(sums["ad"][d] for d in days)
    campaign_days = {
        (r["date"], r["campaign_id"]): r["cost_micros"]
        for r in baseline["campaign_stats"].to_pylist()
    }
    assert campaign_days == business.truth.google_cost_micros_per_campaign_day()
    table = baseline["campaign_stats"]
    assert set(table.column("currency_code").to_pylist()) == {CONFIG.currency}
    assert set(table.column("time_zone").to_pylist()) == {CONFIG.timezone}


def test_raw_cost_micros_are_the_apis_exactly_and_ads_add_up_per_customer_day(
    baseline: dict[str, pa.Table], business: Business
) -> None:
    served = {
        (date.fromisoformat(r["segments"]["date"]), r["campaign"]["id"]): int(
            r["metrics"]["costMicros"]
        )
        for r in business.google_campaign_stats
    }
    campaigns = baseline["campaign_stats"].to_pylist()
    assert {(r["date"], r["campaign_id"]): r["cost_micros"] for r in campaigns} == served
    assert "cost" not in baseline["campaign_stats"].schema.names
    ads = baseline["ad_stats"].to_pylist()
    assert any(r["cost_micros"] % 10_000 for r in campaigns), "some cost is not whole cents"
    assert any(r["cost_micros"] % 10_000 for r in ads), "some ad cost is not whole cents"
    sums: dict[str, Counter[tuple[str, date]]] = {k: Counter() for k in ("ad", "pmax", "other")}
    for r in campaigns:
        kind = "pmax" if r["campaign_id"] in PMAX else "other"
        sums[kind][(r["customer_id"], r["date"])] += r["cost_micros"]
    for r in ads:
        sums["ad"][(r["customer_id"], r["date"])] += r["cost_micros"]
    keys = set(sums["other"]) | set(sums["pmax"])
    assert len(keys) == (CONFIG.end_date - CONFIG.start_date).days + 1
    for key in keys:
        assert sums["ad"][key] + sums["pmax"][key] == sums["other"][key] + sums["pmax"][key], key


def test_performance_max_has_no_ad_group_or_ad_rows(baseline: dict[str, pa.Table]) -> None:
    campaigns = set(baseline["campaign_stats"].column("campaign_id").to_pylist())
    assert PMAX <= campaigns
    for table in ("ad_group_stats", "ad_stats"):
        ids = set(baseline[table].column("campaign_id").to_pylist())
        assert ids and not ids & PMAX and ids <= campaigns


def test_ad_groups_are_the_exact_sums_of_their_ads(baseline: dict[str, pa.Table]) -> None:
    def sums(table: str) -> dict[tuple[date, str], tuple[int, ...]]:
        out: dict[tuple[date, str], list[int]] = {}
        for r in baseline[table].to_pylist():
            values = [r["cost_micros"], r["impressions"], r["clicks"]]
            values += [round(r["conversions"] * 100), round(r["conversions_value"] * 100)]
            total = out.setdefault((r["date"], r["ad_group_id"]), [0] * 5)
            out[(r["date"], r["ad_group_id"])] = [a + b for a, b in zip(total, values, strict=True)]
        return {k: tuple(v) for k, v in out.items()}

    assert sums("ad_group_stats") == sums("ad_stats")
    ads = baseline["ad_stats"].to_pylist()
    assert {r["ad_type"] for r in ads} == {"RESPONSIVE_SEARCH_AD", "SHOPPING_PRODUCT_AD"}
    assert {r["ad_name"] for r in ads} == {None}  # Google leaves unnamed ads' name out
    keys = [(r["date"], r["ad_id"]) for r in ads]
    assert len(keys) == len(set(keys))
    assert all(r["ad_status"] == "ENABLED" and r["ad_group_name"] for r in ads)


def test_each_window_reads_every_stream_then_records_the_window_once(
    server: EmulatorServer,
) -> None:
    source = google(server)
    order = [b.table for b in source.extract(ExtractContext(run_id="r", end_date=CONFIG.end_date))]
    windows = [i for i, t in enumerate(order) if t == "extract_windows"]
    assert len(windows) == 2  # 2025-03-01..03-31 and 04-01..04-15
    for start, stop in zip([-1, *windows], windows, strict=False):
        assert order[start + 1 : stop] == list(STREAMS)


def test_requests_send_gaql_with_dates_fields_and_the_google_headers(
    server: EmulatorServer,
) -> None:
    recorder = Recorder()
    extract(google(server, recorder, login_customer_id="987-654-3210"))
    queries = gaql(recorder)
    assert queries[0] == (
        "SELECT customer.id, customer.descriptive_name, customer.currency_code, "
        "customer.time_zone FROM customer"
    )
    parsed = [(_FROM.match(q), _BETWEEN.search(q)) for q in queries[1:]]
    assert [(m["resource"], w.groups()) for m, w in parsed if m and w] == [
        (resource, window)
        for window in (("2025-03-01", "2025-03-31"), ("2025-04-01", "2025-04-15"))
        for resource in ("campaign", "ad_group", "ad_group_ad")
    ]
    fields = {m["resource"]: m["fields"].split(", ") for m, _ in parsed if m}
    metrics = [
        "metrics.cost_micros",
        "metrics.impressions",
        "metrics.clicks",
        "metrics.conversions",
        "metrics.conversions_value",
    ]
    for selected in fields.values():
        assert selected[0] == "customer.id" and selected[-5:] == metrics
        assert "segments.date" in selected and "campaign.id" in selected
    assert {"ad_group.id", "ad_group.name", "ad_group.status"} <= set(fields["ad_group"])
    assert {"ad_group_ad.ad.id", "ad_group_ad.ad.type"} <= set(fields["ad_group_ad"])
    api = [r for r in recorder.requests if r.url.path.endswith("searchStream")]
    assert len(api) == 7
    for request in api:
        assert request.url.path == f"/google/v18/customers/{CUSTOMER}/googleAds:searchStream"
        assert request.headers["developer-token"] == SANDBOX_GOOGLE_DEVELOPER_TOKEN
        assert request.headers["login-customer-id"] == "9876543210"
        assert request.headers["authorization"].startswith("Bearer ya29.")
    token = [r for r in recorder.requests if r.url.path.endswith("/token")]
    assert len(token) == 1 and "developer-token" not in token[0].headers
    form = dict(httpx.QueryParams(token[0].content.decode()))
    assert form["grant_type"] == "refresh_token"
    assert form["refresh_token"] == SANDBOX_GOOGLE_REFRESH_TOKEN


def test_small_stream_batches_load_the_same_rows(
    server: EmulatorServer, baseline: dict[str, pa.Table]
) -> None:
    server.google.batch_size = 7
    recorder = Recorder()
    chunked = extract(google(server, recorder))
    for table in STREAMS:
        assert rows(chunked[table]) == rows(baseline[table]), table
    assert chunked["campaign_stats"].num_rows > 7 * 3  # many batches per stream


def test_incremental_run_rereads_the_lookback_window(server: EmulatorServer) -> None:
    ctx: dict[str, Any] = {"watermarks": {CUSTOMER: date(2025, 4, 15)}}
    tables = extract(google(server, lookback_days=14, start_date=None), **ctx)
    for table in STREAMS:
        days = set(tables[table].column("date").to_pylist())
        assert min(days) == date(2025, 4, 1) and max(days) == date(2025, 4, 15), table


def test_rerun_reads_identical_rows(server: EmulatorServer) -> None:
    first = extract(google(server), run_id="a")
    second = extract(google(server), run_id="a")
    for table in (*STREAMS, "extract_windows"):
        assert (
            first[table]
            .drop_columns(["_ingested_at"])
            .equals(second[table].drop_columns(["_ingested_at"]))
        )


def test_restated_and_deleted_campaigns_are_what_a_rerun_reads() -> None:
    business = Business(CONFIG)
    with EmulatorServer(business) as srv:
        before = extract(google(srv))
        deleted = "21000000002"  # Search - Generic
        srv.restate("google", 10, "1.5")
        srv.delete_campaign("google", deleted)
        after = extract(google(srv))
    for table in STREAMS:
        assert deleted in before[table].column("campaign_id").to_pylist()
        assert deleted not in after[table].column("campaign_id").to_pylist()
    sums = micros_per_day(after)
    assert +sums["campaign"] == +truth_micros(business)
    for day in sums["campaign"]:
        assert sums["ad"][day] + sums["pmax"][day] == sums["campaign"][day]
    restated = [d for d in sums["campaign"] if d >= date(2025, 4, 6)]
    old = micros_per_day(before)
    assert all(sums["pmax"][d] != old["pmax"][d] for d in restated)


def _load(database: Path, tables: dict[str, pa.Table]) -> None:
    with duckdb.connect(str(database)) as con:
        con.execute("create schema if not exists raw_google_ads")
        for name, table in tables.items():
            con.register("batch", table)
            con.execute(
                f"create table if not exists raw_google_ads.{name} as select * from batch limit 0"
            )
            con.execute(f"insert into raw_google_ads.{name} by name select * from batch")
            con.unregister("batch")


def test_staging_keeps_the_latest_extraction_and_every_level_adds_up(tmp_path: Path) -> None:
    business = Business(CONFIG)
    database = tmp_path / "warehouse.duckdb"
    with EmulatorServer(business) as srv:
        _load(database, extract(google(srv), run_id="first"))
        srv.restate("google", 10, "0.5")
        srv.delete_campaign("google", "21000000003")  # Shopping: its ads and ad groups go too
        _load(database, extract(google(srv), run_id="second", start_date=date(2025, 4, 1)))
    result = run_dbt(
        "build",
        database=database,
        state_dir=tmp_path / "dbt",
        select=[
            "stg_google_ads__campaign_stats",
            "stg_google_ads__ad_group_stats",
            "stg_google_ads__ad_stats",
        ],
    )
    assert result.success, [n.message for n in result.failed]
    with duckdb.connect(str(database), read_only=True) as con:
        per_day = con.execute(
            """
            with c as (
                select date, sum(spend) as spend, sum(cost_micros) as micros,
                       sum(cost_micros) filter (where channel_type = 'PERFORMANCE_MAX') as pmax
                from staging.stg_google_ads__campaign_stats group by 1),
            g as (select date, sum(cost_micros) as micros
                  from staging.stg_google_ads__ad_group_stats group by 1),
            a as (select date, sum(cost_micros) as micros, count(*) filter (where campaign_id =
                  '21000000003') as deleted from staging.stg_google_ads__ad_stats group by 1)
            select c.date, c.spend, c.micros, c.pmax, g.micros, a.micros, a.deleted
            from c join g using (date) join a using (date) order by 1
            """
        ).fetchall()
        rounded = con.execute(
            "select cost_micros, spend from staging.stg_google_ads__campaign_stats"
        ).fetchall()
    cent = Decimal("0.01")
    assert all(s == (Decimal(m) / 1_000_000).quantize(cent, ROUND_HALF_EVEN) for m, s in rounded)
    assert any(m % 10_000 for m, _ in rounded)
    truth = business.truth.spend_per_day("google")
    assert len(per_day) == (CONFIG.end_date - CONFIG.start_date).days + 1
    for day, spend, campaigns, pmax, groups, ads, deleted in per_day:
        assert ads + pmax == campaigns and groups == ads, day
        if day >= date(2025, 4, 1):
            assert spend == truth[day] and deleted == 0, day
        else:
            assert deleted > 0, day


def test_rate_limit_and_server_error_bursts_are_retried_and_data_stays_exact(
    server: EmulatorServer, baseline: dict[str, pa.Table]
) -> None:
    server.inject_fault("google", "rate_limit", times=2, retry_after=0.0, path_contains="search")
    server.inject_fault("google", "server_error", times=2, path_contains="search")
    server.inject_fault("google", "server_error", path_contains="token")
    source = google(server, attempts=5)
    tables = extract(source)
    for table in STREAMS:
        assert rows(tables[table]) == rows(baseline[table])
    assert server.faults_served == 5 and source.http_stats[1] == 5
    assert sum(p.endswith("/token") for _, p, _ in server.request_log) == 2


def test_quota_that_outlasts_retries_is_a_rate_limit_error(server: EmulatorServer) -> None:
    server.inject_fault("google", "rate_limit", times=10, retry_after=0.0, path_contains="search")
    with pytest.raises(RateLimitError, match="RESOURCE_EXHAUSTED") as info:
        google(server).check()
    assert "\n" not in str(info.value)
    assert sum(p.endswith("searchStream") for _, p, _ in server.request_log) == 3


def test_access_token_expired_mid_run_is_refreshed_once_and_nothing_is_lost(
    server: EmulatorServer, baseline: dict[str, pa.Table]
) -> None:
    seen = Counter[str]()

    def expire_before_the_fourth_query(request: httpx.Request) -> None:
        if request.url.path.endswith("searchStream"):
            seen["search"] += 1
            if seen["search"] == 4:
                server.google.expire_tokens()

    recorder = Recorder(expire_before_the_fourth_query)
    tables = extract(google(server, recorder))
    for table in STREAMS:
        assert rows(tables[table]) == rows(baseline[table])
    assert sum(r.url.path.endswith("/token") for r in recorder.requests) == 2
    assert len(gaql(recorder)) == 7 + 1  # the refused query is sent again


def test_access_token_refused_after_a_refresh_is_one_line_auth_error(
    server: EmulatorServer,
) -> None:
    recorder = Recorder(lambda request: server.google.expire_tokens())
    with pytest.raises(AuthError) as info:
        google(server, recorder).check()
    message = str(info.value)
    assert "\n" not in message and "access token was rejected" in message
    assert "refresh_token" in message and SANDBOX_GOOGLE_REFRESH_TOKEN not in message
    assert sum(r.url.path.endswith("/token") for r in recorder.requests) == 2
    assert len(gaql(recorder)) == 2


def test_new_field_loads_as_before_with_one_warning_per_table(
    server: EmulatorServer, baseline: dict[str, pa.Table], caplog: pytest.LogCaptureFixture
) -> None:
    server.google.drift = frozenset({"new_field"})
    with caplog.at_level(logging.WARNING, logger="martlake.sources.google_ads.source"):
        tables = extract(google(server))
    for table in STREAMS:
        assert rows(tables[table]) == rows(baseline[table])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    for table, message in zip(STREAMS, warnings, strict=True):
        assert f"`{table}`" in message and "`metrics.interactionRate`" in message


def test_renamed_cost_is_a_one_line_contract_error_naming_both_fields(
    server: EmulatorServer,
) -> None:
    server.google.drift = frozenset({"renamed_field"})
    with pytest.raises(SourceContractError) as info:
        extract(google(server))
    message = str(info.value)
    assert "\n" not in message and message.startswith("google_ads: `campaign_stats`")
    assert "`metrics.costMicros`" in message and "`metrics.costAmountMicros`" in message
    assert "api_version" in message


def test_numbers_and_strings_flipped_load_the_same_values(
    server: EmulatorServer, baseline: dict[str, pa.Table]
) -> None:
    server.google.drift = frozenset({"numbers_as_strings"})
    body = httpx.post(
        f"{server.google_base_url}/v18/customers/{CUSTOMER}/googleAds:searchStream",
        json={
            "query": "SELECT campaign.id, metrics.cost_micros, metrics.conversions, "
            "segments.date FROM campaign WHERE segments.date = '2025-03-02'"
        },
        headers={
            "developer-token": SANDBOX_GOOGLE_DEVELOPER_TOKEN,
            "Authorization": f"Bearer {_token(server)}",
        },
    ).json()
    row = body[0]["results"][0]
    assert isinstance(row["metrics"]["costMicros"], int)
    assert isinstance(row["metrics"]["conversions"], str)
    assert isinstance(row["campaign"]["id"], int)
    tables = extract(google(server))
    for table in STREAMS:
        assert rows(tables[table]) == rows(baseline[table])


def test_dash_values_load_as_null_and_totals_stay_exact(
    server: EmulatorServer, baseline: dict[str, pa.Table]
) -> None:
    server.google.drift = frozenset({"dash_values"})
    tables = extract(google(server))
    for table in STREAMS:
        expected = [
            {k: None if k in ("cost_micros", *METRICS) and v == 0 else v for k, v in r.items()}
            for r in rows(baseline[table])
        ]
        assert rows(tables[table]) == expected
    assert any(r["conversions"] is None for r in tables["ad_stats"].to_pylist())
    assert micros_per_day(tables) == micros_per_day(baseline)


@pytest.mark.parametrize(
    ("override", "pattern"),
    [
        ({"refresh_token": SecretStr("stale-xyz")}, r"refresh token was rejected.*refresh_token"),
        ({"developer_token": SecretStr("nope")}, r"developer token was refused"),
        ({"customer_ids": ["9999999999"]}, r"USER_PERMISSION_DENIED.*login_customer_id"),
    ],
    ids=["refresh-token", "developer-token", "unknown-customer"],
)
def test_bad_credentials_are_one_line_auth_errors_without_secrets(
    server: EmulatorServer, override: dict[str, Any], pattern: str
) -> None:
    with pytest.raises(AuthError, match=pattern) as info:
        extract(google(server, **override))
    message = str(info.value)
    assert "\n" not in message and "stale-xyz" not in message and "nope" not in message


def _token(server: EmulatorServer) -> str:
    body = httpx.post(
        f"{server.google_base_url}/token",
        data={
            "grant_type": "refresh_token",
            "client_id": SANDBOX_GOOGLE_CLIENT_ID,
            "client_secret": SANDBOX_GOOGLE_CLIENT_SECRET,
            "refresh_token": SANDBOX_GOOGLE_REFRESH_TOKEN,
        },
    ).json()
    return str(body["access_token"])


def _search(server: EmulatorServer, query: str) -> httpx.Response:
    return httpx.post(
        f"{server.google_base_url}/v18/customers/{CUSTOMER}/googleAds:searchStream",
        json={"query": query},
        headers={
            "developer-token": SANDBOX_GOOGLE_DEVELOPER_TOKEN,
            "Authorization": f"Bearer {_token(server)}",
        },
    )


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("SELECT ad_group.id FROM campaign", "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"),
        ("SELECT ad_group_ad.ad.id FROM ad_group", "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"),
        ("SELECT ad_group.no_such_field FROM ad_group", "UNRECOGNIZED_FIELD"),
        ("SELECT ad_group.id, segments.date FROM ad_group", "EXPECTED_FILTERS_ON_DATE_RANGE"),
        ("SELECT asset_group.id FROM asset_group", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
    ],
    ids=["ad-group-from-campaign", "ad-from-ad-group", "unknown-field", "no-dates", "asset-group"],
)
def test_emulator_refuses_gaql_google_refuses(
    server: EmulatorServer, query: str, code: str
) -> None:
    response = _search(server, query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["details"][0]["errors"][0]["errorCode"] == {"queryError": code}


def test_emulator_answers_ad_rows_in_camel_case_with_resource_names(
    server: EmulatorServer, business: Business
) -> None:
    body = _search(
        server,
        "SELECT ad_group.id, ad_group_ad.ad.id, ad_group_ad.ad.name, metrics.cost_micros, "
        "segments.date FROM ad_group_ad WHERE segments.date = '2025-03-05' "
        "ORDER BY metrics.cost_micros DESC LIMIT 3",
    ).json()
    assert body[0]["fieldMask"] == (
        "adGroup.id,adGroupAd.ad.id,adGroupAd.ad.name,metrics.costMicros,segments.date"
    )
    results = body[0]["results"]
    assert len(results) == 3
    first = results[0]
    ad_id, group_id = first["adGroupAd"]["ad"]["id"], first["adGroup"]["id"]
    assert first["adGroupAd"] == {
        "resourceName": f"customers/{CUSTOMER}/adGroupAds/{group_id}~{ad_id}",
        "ad": {"resourceName": f"customers/{CUSTOMER}/ads/{ad_id}", "id": ad_id},
    }
    assert first["adGroup"]["resourceName"] == f"customers/{CUSTOMER}/adGroups/{group_id}"
    costs = [int(r["metrics"]["costMicros"]) for r in results]
    assert all(isinstance(r["metrics"]["costMicros"], str) for r in results)
    assert costs == sorted(costs, reverse=True)
    listed = _search(server, "SELECT ad_group.id, ad_group.name FROM ad_group").json()
    names = {r["adGroup"]["name"] for r in listed[0]["results"]}
    assert len(names) == 6 and "Brand - Exact" in names
