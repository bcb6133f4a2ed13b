"""Connector contract tests: martlake's Google Ads and TikTok sources against the emulators."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pyarrow as pa
import pytest
from pydantic import SecretStr

from martlake.config import GoogleAdsSettings, TikTokAdsSettings
from martlake.errors import AuthError, RateLimitError, SourceContractError
from martlake.sandbox import (
    SANDBOX_GOOGLE_CLIENT_ID,
    SANDBOX_GOOGLE_CLIENT_SECRET,
    SANDBOX_GOOGLE_DEVELOPER_TOKEN,
    SANDBOX_GOOGLE_REFRESH_TOKEN,
    SANDBOX_TIKTOK_TOKEN,
    Business,
    EmulatorServer,
    SimulatorConfig,
)
from martlake.sources import ExtractContext, GoogleAdsSource, TikTokAdsSource

CONFIG = SimulatorConfig(
    seed=5, start_date=date(2025, 3, 1), end_date=date(2025, 4, 15), orders_per_day=30
)
_BETWEEN = re.compile(r"segments\.date BETWEEN '(\d{4}-\d\d-\d\d)' AND '(\d{4}-\d\d-\d\d)'")


@pytest.fixture(scope="module")
def business() -> Business:
    return Business(CONFIG)


@pytest.fixture
def server(business: Business) -> Iterator[EmulatorServer]:
    with EmulatorServer(business) as srv:
        yield srv


class Recorder(httpx.HTTPTransport):
    """A real transport that keeps every request, bodies included (the request log has none)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)

    def queries(self) -> list[str]:
        return [
            json.loads(r.content)["query"]
            for r in self.requests
            if r.url.path.endswith("googleAds:searchStream")
        ]


def google(
    server: EmulatorServer, transport: httpx.BaseTransport | None = None, **kw: Any
) -> GoogleAdsSource:
    values: dict[str, Any] = {
        "customer_ids": [CONFIG.google_customer_id],
        "developer_token": SecretStr(SANDBOX_GOOGLE_DEVELOPER_TOKEN),
        "client_id": SANDBOX_GOOGLE_CLIENT_ID,
        "client_secret": SecretStr(SANDBOX_GOOGLE_CLIENT_SECRET),
        "refresh_token": SecretStr(SANDBOX_GOOGLE_REFRESH_TOKEN),
        "base_url": server.google_base_url,
        "token_url": f"{server.google_base_url}/token",
        **kw,
    }
    return GoogleAdsSource(
        GoogleAdsSettings(**values), backoff=0.0, max_attempts=3, transport=transport
    )


def tiktok(server: EmulatorServer, token: str = SANDBOX_TIKTOK_TOKEN, **kw: Any) -> TikTokAdsSource:
    settings = TikTokAdsSettings(
        advertiser_ids=[CONFIG.tiktok_advertiser_id],
        access_token=SecretStr(token),
        base_url=server.tiktok_base_url,
        **kw,
    )
    return TikTokAdsSource(settings, backoff=0.0, max_attempts=3)


def collect(batches: Iterator[Any]) -> dict[str, pa.Table]:
    tables: dict[str, list[pa.Table]] = {}
    for batch in batches:
        tables.setdefault(batch.table, []).append(batch.data)
    return {name: pa.concat_tables(parts) for name, parts in tables.items()}


def per_day(table: pa.Table, day_column: str, money_column: str) -> dict[date, Decimal]:
    out: dict[date, Decimal] = {}
    days, values = table.column(day_column).to_pylist(), table.column(money_column).to_pylist()
    for day, value in zip(days, values, strict=True):
        out[day] = out.get(day, Decimal(0)) + value
    return {d: v for d, v in out.items() if v}


def nonzero(spend: dict[date, Any]) -> dict[date, Decimal]:
    return {d: Decimal(str(v)) for d, v in spend.items() if v}


def nonzero_keys(spend: dict[Any, Any]) -> dict[Any, Decimal]:
    return {k: Decimal(str(v)) for k, v in spend.items() if v}


def calls(server: EmulatorServer, suffix: str) -> list[tuple[str, str, dict[str, str]]]:
    return [entry for entry in server.request_log if entry[1].endswith(suffix)]


def test_google_reads_every_campaign_day_once_in_31_day_windows(
    server: EmulatorServer, business: Business
) -> None:
    recorder = Recorder()
    source = google(server, recorder, start_date=CONFIG.start_date)
    table = collect(source.extract(ExtractContext(run_id="g", end_date=CONFIG.end_date)))[
        "campaign_stats"
    ]
    assert table.num_rows == business.truth.row_counts()["google_campaign_stats"]
    keys = list(
        zip(table.column("campaign_id").to_pylist(), table.column("date").to_pylist(), strict=True)
    )
    assert len(keys) == len(set(keys))
    truth = business.truth
    assert per_day(table, "date", "cost") == nonzero(truth.spend_per_day(platform="google"))
    by_campaign_day = {
        (d, c): v
        for d, c, v in zip(
            table.column("date").to_pylist(),
            table.column("campaign_id").to_pylist(),
            table.column("cost").to_pylist(),
            strict=True,
        )
        if v
    }
    assert by_campaign_day == nonzero_keys(truth.spend_per_campaign_day(platform="google"))
    assert set(table.column("customer_id").to_pylist()) == {CONFIG.google_customer_id}
    assert set(table.column("currency_code").to_pylist()) == {CONFIG.currency}
    assert set(table.column("time_zone").to_pylist()) == {CONFIG.timezone}
    token_calls = [r for r in recorder.requests if r.url.path.endswith("/token")]
    assert len(token_calls) == 1 and b"grant_type=refresh_token" in token_calls[0].content
    queries = recorder.queries()
    assert queries[0].endswith("FROM customer")
    assert [_BETWEEN.search(q).groups() for q in queries[1:]] == [  # type: ignore[union-attr]
        ("2025-03-01", "2025-03-31"),
        ("2025-04-01", "2025-04-15"),
    ]
    for request in recorder.requests[1:]:
        assert request.method == "POST"
        assert request.headers["developer-token"] == SANDBOX_GOOGLE_DEVELOPER_TOKEN
        assert request.headers["authorization"].startswith("Bearer ya29.")


def test_google_incremental_rereads_the_lookback_window(server: EmulatorServer) -> None:
    ctx = ExtractContext(
        run_id="g2",
        watermarks={CONFIG.google_customer_id: date(2025, 4, 15)},
        end_date=CONFIG.end_date,
    )
    table = collect(google(server, lookback_days=14).extract(ctx))["campaign_stats"]
    days = set(table.column("date").to_pylist())
    assert min(days) == date(2025, 4, 1) and max(days) == date(2025, 4, 15)


def test_google_rerun_reads_the_same_rows(server: EmulatorServer) -> None:
    ctx = ExtractContext(run_id="g", end_date=CONFIG.end_date, start_date=date(2025, 4, 1))
    first = collect(google(server).extract(ctx))["campaign_stats"].drop_columns(["_ingested_at"])
    second = collect(google(server).extract(ctx))["campaign_stats"].drop_columns(["_ingested_at"])
    assert first.equals(second)


@pytest.mark.parametrize(
    ("override", "pattern"),
    [
        ({"refresh_token": SecretStr("expired")}, r"invalid_grant.*auth/adwords.*refresh_token"),
        ({"developer_token": SecretStr("nope")}, r"DEVELOPER_TOKEN.*developer_token.*secrets"),
        ({"customer_ids": ["9999999999"]}, r"USER_PERMISSION_DENIED.*login_customer_id"),
    ],
    ids=["refresh-token", "developer-token", "unknown-customer"],
)
def test_google_bad_credentials_are_auth_errors_naming_the_fix(
    server: EmulatorServer, override: dict[str, Any], pattern: str
) -> None:
    with pytest.raises(AuthError, match=pattern):
        collect(google(server, **override).extract(ExtractContext(run_id="r")))


def test_google_transient_faults_are_retried(server: EmulatorServer) -> None:
    server.inject_fault("google", "rate_limit", retry_after=0.0, path_contains="searchStream")
    server.inject_fault("google", "server_error", path_contains="searchStream")
    server.inject_fault("google", "server_error", path_contains="token")
    ctx = ExtractContext(run_id="g", start_date=date(2025, 4, 10), end_date=CONFIG.end_date)
    table = collect(google(server).extract(ctx))["campaign_stats"]
    assert set(table.column("date").to_pylist()) == {date(2025, 4, d) for d in range(10, 16)}
    assert len(calls(server, "/token")) == 2
    assert len(calls(server, "googleAds:searchStream")) == 2 + 2  # 2 queries + 2 faults


def test_google_quota_that_outlasts_retries_is_a_rate_limit_error(server: EmulatorServer) -> None:
    server.inject_fault("google", "rate_limit", times=10, retry_after=0.0, path_contains="search")
    with pytest.raises(RateLimitError, match="RESOURCE_EXHAUSTED"):
        google(server).check()
    assert len(calls(server, "googleAds:searchStream")) == 3


def test_tiktok_reads_every_ad_day_once_with_paging(
    server: EmulatorServer, business: Business
) -> None:
    source = tiktok(server, start_date=CONFIG.start_date, page_size=20)
    table = collect(source.extract(ExtractContext(run_id="t", end_date=CONFIG.end_date)))[
        "ad_stats"
    ]
    assert table.num_rows == business.truth.row_counts()["tiktok_ad_stats"]
    keys = list(
        zip(table.column("ad_id").to_pylist(), table.column("stat_date").to_pylist(), strict=True)
    )
    assert len(keys) == len(set(keys))
    truth = nonzero(business.truth.spend_per_day(platform="tiktok"))
    assert per_day(table, "stat_date", "spend") == truth
    by_campaign_day: dict[tuple[date, str], Decimal] = {}
    for day, campaign, spend in zip(
        table.column("stat_date").to_pylist(),
        table.column("campaign_id").to_pylist(),
        table.column("spend").to_pylist(),
        strict=True,
    ):
        by_campaign_day[(day, campaign)] = by_campaign_day.get((day, campaign), Decimal(0)) + spend
    expected = nonzero_keys(business.truth.spend_per_campaign_day(platform="tiktok"))
    assert nonzero_keys(by_campaign_day) == expected
    assert set(table.column("advertiser_id").to_pylist()) == {CONFIG.tiktok_advertiser_id}
    reports = [q for _, _, q in calls(server, "/report/integrated/get/")]
    first_pages = [q for q in reports if q["page"] == "1"]
    assert [(q["start_date"], q["end_date"]) for q in first_pages] == [
        ("2025-03-01", "2025-03-30"),
        ("2025-03-31", "2025-04-15"),
    ]
    for query in reports:
        assert query["advertiser_id"] == CONFIG.tiktok_advertiser_id
        assert (query["report_type"], query["data_level"]) == ("BASIC", "AUCTION_AD")
        assert json.loads(query["dimensions"]) == ["ad_id", "stat_time_day"]
        assert query["page_size"] == "20"
    assert len(reports) > len(first_pages)  # later pages were read


def test_tiktok_incremental_rereads_the_lookback_window(server: EmulatorServer) -> None:
    ctx = ExtractContext(
        run_id="t2",
        watermarks={CONFIG.tiktok_advertiser_id: date(2025, 4, 15)},
        end_date=CONFIG.end_date,
    )
    table = collect(tiktok(server, lookback_days=7).extract(ctx))["ad_stats"]
    days = set(table.column("stat_date").to_pylist())
    assert min(days) == date(2025, 4, 8) and max(days) == date(2025, 4, 15)


def test_tiktok_bad_token_is_an_auth_error_naming_the_fix(server: EmulatorServer) -> None:
    with pytest.raises(AuthError, match=r"40105.*Reporting permission.*access_token.*secrets"):
        collect(tiktok(server, token="nope").extract(ExtractContext(run_id="r")))


def test_tiktok_unknown_advertiser_is_an_auth_error_naming_the_fix(server: EmulatorServer) -> None:
    settings = TikTokAdsSettings(
        advertiser_ids=["7999999999999999999"],
        access_token=SecretStr(SANDBOX_TIKTOK_TOKEN),
        base_url=server.tiktok_base_url,
    )
    source = TikTokAdsSource(settings, backoff=0.0, max_attempts=2)
    with pytest.raises(AuthError, match=r"Reporting permission.*advertiser_ids"):
        collect(source.extract(ExtractContext(run_id="r")))


def test_tiktok_window_over_30_days_is_refused_inside_http_200(server: EmulatorServer) -> None:
    source = tiktok(server)
    with pytest.raises(SourceContractError, match="40002"):
        source._http.get_json(  # a request the source never sends: 46 days with stat_time_day
            "/report/integrated/get/",
            params={
                "advertiser_id": CONFIG.tiktok_advertiser_id,
                "report_type": "BASIC",
                "data_level": "AUCTION_AD",
                "dimensions": json.dumps(["ad_id", "stat_time_day"]),
                "metrics": json.dumps(["spend"]),
                "start_date": CONFIG.start_date.isoformat(),
                "end_date": CONFIG.end_date.isoformat(),
                "page": 1,
                "page_size": 10,
            },
        )


def test_tiktok_transient_faults_are_retried(server: EmulatorServer) -> None:
    server.inject_fault("tiktok", "rate_limit", times=2, path_contains="report")
    server.inject_fault("tiktok", "server_error", path_contains="advertiser")
    ctx = ExtractContext(run_id="t", start_date=date(2025, 4, 10), end_date=CONFIG.end_date)
    table = collect(tiktok(server).extract(ctx))["ad_stats"]
    assert set(table.column("stat_date").to_pylist()) == {date(2025, 4, d) for d in range(10, 16)}
    assert len(calls(server, "/advertiser/info/")) == 2
    assert len(calls(server, "/report/integrated/get/")) == 1 + 2


def test_tiktok_code_40100_in_http_200_that_outlasts_retries_raises(
    server: EmulatorServer,
) -> None:
    server.inject_fault("tiktok", "rate_limit", times=10, path_contains="report")
    ctx = ExtractContext(run_id="t", start_date=date(2025, 4, 10), end_date=CONFIG.end_date)
    with pytest.raises(RateLimitError, match="code 40100"):
        collect(tiktok(server).extract(ctx))
    assert len(calls(server, "/report/integrated/get/")) == 3
