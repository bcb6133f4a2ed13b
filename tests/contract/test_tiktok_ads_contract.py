"""TikTok Ads connector contract: `TikTokAdsSource` against the TikTok emulator over HTTP.

`report/integrated/get` paging by `page_info.total_page`, the request parameters TikTok
documents, 30-day windows, re-runs, restatement and deletion, error codes inside HTTP 200
(throttling retried, auth not), 5xx bursts, schema drift including TikTok's `"-"` values, and
auth failures; every extraction is compared with what the simulated business serves.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pyarrow as pa
import pytest
from pydantic import SecretStr

from martlake.config import TikTokAdsSettings
from martlake.errors import AuthError, RateLimitError, SourceContractError
from martlake.sandbox import SANDBOX_TIKTOK_TOKEN, Business, EmulatorServer, SimulatorConfig
from martlake.sandbox._catalog import TIKTOK_CAMPAIGNS
from martlake.sources import TikTokAdsSource
from martlake.sources.tiktok_ads.source import METRICS
from tests.contract.support import Recorder, collect

CONFIG = SimulatorConfig(
    seed=5, start_date=date(2025, 3, 1), end_date=date(2025, 4, 15), orders_per_day=30
)
ADVERTISER = CONFIG.tiktok_advertiser_id
REPORT = "/report/integrated/get/"
LINEAGE = ("_extract_run_id", "_ingested_at")
NUMBERS = ("spend", "impressions", "clicks", "conversions", "conversion_value")


@pytest.fixture(scope="module")
def business() -> Business:
    return Business(CONFIG)


@pytest.fixture(scope="module")
def baseline(business: Business) -> dict[str, pa.Table]:
    with EmulatorServer(business) as srv:
        return extract(tiktok(srv))


def tiktok(
    server: EmulatorServer,
    token: str = SANDBOX_TIKTOK_TOKEN,
    transport: httpx.BaseTransport | None = None,
    attempts: int = 3,
    **kw: Any,
) -> TikTokAdsSource:
    kw.setdefault("start_date", CONFIG.start_date)
    settings = TikTokAdsSettings(
        advertiser_ids=[ADVERTISER],
        access_token=SecretStr(token),
        base_url=server.tiktok_base_url,
        **kw,
    )
    return TikTokAdsSource(settings, backoff=0.0, max_attempts=attempts, transport=transport)


def extract(source: TikTokAdsSource, **ctx: Any) -> dict[str, pa.Table]:
    ctx.setdefault("end_date", CONFIG.end_date)
    return collect(source, **ctx)


def rows(table: pa.Table) -> list[dict[str, Any]]:
    data = table.drop_columns(list(LINEAGE)).to_pylist()
    return sorted(data, key=lambda r: (r["stat_date"], r["ad_id"]))


def spend_per_day(table: pa.Table) -> dict[date, Decimal]:
    out: dict[date, Decimal] = {}
    for r in table.to_pylist():
        out[r["stat_date"]] = out.get(r["stat_date"], Decimal(0)) + (r["spend"] or 0)
    return {d: v for d, v in out.items() if v}


def truth_spend(business: Business) -> dict[date, Decimal]:
    return {d: v for d, v in business.truth.spend_per_day("tiktok").items() if v}


def reports(server: EmulatorServer) -> list[dict[str, str]]:
    return [q for _, path, q in server.request_log if path.endswith(REPORT)]


def test_every_page_up_to_total_page_is_read_once_with_the_documented_parameters(
    server: EmulatorServer, business: Business
) -> None:
    recorder = Recorder()
    table = extract(tiktok(server, transport=recorder, page_size=20))["ad_stats"]
    assert table.num_rows == business.truth.row_counts()["tiktok_ad_stats"]
    keys = [(r["ad_id"], r["stat_date"]) for r in table.to_pylist()]
    assert len(keys) == len(set(keys))
    assert spend_per_day(table) == truth_spend(business)
    by_campaign_day: dict[tuple[date, str], Decimal] = {}
    for r in table.to_pylist():
        key = (r["stat_date"], r["campaign_id"])
        by_campaign_day[key] = by_campaign_day.get(key, Decimal(0)) + r["spend"]
    expected = business.truth.spend_per_campaign_day("tiktok")
    assert {k: v for k, v in by_campaign_day.items() if v} == {
        k: v for k, v in expected.items() if v
    }
    sent = reports(server)
    windows: dict[tuple[str, str], list[int]] = {}
    for query in sent:
        windows.setdefault((query["start_date"], query["end_date"]), []).append(int(query["page"]))
        assert query["advertiser_id"] == ADVERTISER
        assert (query["report_type"], query["data_level"]) == ("BASIC", "AUCTION_AD")
        assert json.loads(query["dimensions"]) == ["ad_id", "stat_time_day"]
        assert json.loads(query["metrics"]) == list(METRICS)
        assert query["page_size"] == "20"
    assert list(windows) == [("2025-03-01", "2025-03-30"), ("2025-03-31", "2025-04-15")]
    for (start, end), pages in windows.items():
        days = (date.fromisoformat(end) - date.fromisoformat(start)).days + 1
        in_window = sum(1 for k in keys if start <= k[1].isoformat() <= end)
        assert days <= 30 and pages == list(range(1, -(-in_window // 20) + 1))
    for request in recorder.requests:
        assert request.headers["Access-Token"] == SANDBOX_TIKTOK_TOKEN
        assert request.method == "GET"


def test_a_window_without_rows_has_total_page_zero_and_is_still_recorded(
    server: EmulatorServer,
) -> None:
    tables = extract(tiktok(server, start_date=date(2025, 1, 1)), end_date=date(2025, 1, 20))
    assert "ad_stats" not in tables
    assert tables["extract_windows"].to_pylist()[0]["date_start"] == date(2025, 1, 1)
    assert len(reports(server)) == 1


def test_incremental_run_rereads_the_lookback_window(server: EmulatorServer) -> None:
    ctx: dict[str, Any] = {"watermarks": {ADVERTISER: date(2025, 4, 15)}}
    table = extract(tiktok(server, lookback_days=7, start_date=None), **ctx)["ad_stats"]
    days = set(table.column("stat_date").to_pylist())
    assert min(days) == date(2025, 4, 8) and max(days) == date(2025, 4, 15)


def test_rerun_reads_identical_rows(server: EmulatorServer) -> None:
    first = extract(tiktok(server), run_id="a")
    second = extract(tiktok(server), run_id="a")
    for table in ("ad_stats", "extract_windows"):
        assert (
            first[table]
            .drop_columns(["_ingested_at"])
            .equals(second[table].drop_columns(["_ingested_at"]))
        )


def test_restated_and_deleted_campaigns_are_what_a_rerun_reads() -> None:
    business = Business(CONFIG)
    deleted = TIKTOK_CAMPAIGNS[0].id
    with EmulatorServer(business) as srv:
        before = extract(tiktok(srv))["ad_stats"]
        srv.restate("tiktok", 7, "1.25")
        srv.delete_campaign("tiktok", deleted)
        after = extract(tiktok(srv))["ad_stats"]
    assert deleted in before.column("campaign_id").to_pylist()
    assert deleted not in after.column("campaign_id").to_pylist()
    assert spend_per_day(after) == truth_spend(business)
    old, new = spend_per_day(before), spend_per_day(after)
    assert all(new[d] != old[d] for d in new if d >= date(2025, 4, 9))


@pytest.mark.parametrize("kind", ["rate_limit", "server_error"])
def test_throttling_code_in_http_200_and_5xx_bursts_are_retried_and_data_stays_exact(
    server: EmulatorServer, baseline: dict[str, pa.Table], kind: str
) -> None:
    server.inject_fault("tiktok", kind, times=3, retry_after=0.0, path_contains="report")  # type: ignore[arg-type]
    source = tiktok(server, attempts=5)
    tables = extract(source)
    assert rows(tables["ad_stats"]) == rows(baseline["ad_stats"])
    assert server.faults_served == 3 and source.http_stats[1] == 3


def test_throttling_that_outlasts_retries_is_a_rate_limit_error(server: EmulatorServer) -> None:
    server.inject_fault("tiktok", "rate_limit", times=10, path_contains="report")
    with pytest.raises(RateLimitError, match="code 40100"):
        extract(tiktok(server), start_date=date(2025, 4, 10))
    assert len(reports(server)) == 3


def test_bad_token_is_one_line_auth_error_not_retried_without_the_token(
    server: EmulatorServer,
) -> None:
    with pytest.raises(AuthError, match=r"40105.*Reporting permission.*access_token.*secrets") as e:
        extract(tiktok(server, token="stale-token-xyz"))
    assert "\n" not in str(e.value) and "stale-token-xyz" not in str(e.value)
    assert len(server.request_log) == 1  # an auth code is final: no retry


def test_unknown_advertiser_is_an_auth_error_naming_the_fix(server: EmulatorServer) -> None:
    settings = TikTokAdsSettings(
        advertiser_ids=["7999999999999999999"],
        access_token=SecretStr(SANDBOX_TIKTOK_TOKEN),
        base_url=server.tiktok_base_url,
    )
    source = TikTokAdsSource(settings, backoff=0.0, max_attempts=2)
    with pytest.raises(AuthError, match=r"Reporting permission.*advertiser_ids"):
        extract(source)


def test_window_over_30_days_is_refused_inside_http_200(server: EmulatorServer) -> None:
    source = tiktok(server)
    with pytest.raises(SourceContractError, match="40002"):
        source._http.get_json(  # a request the source never sends: 46 days with stat_time_day
            REPORT,
            params={
                "advertiser_id": ADVERTISER,
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


def test_new_field_loads_as_before_with_one_warning(
    server: EmulatorServer, baseline: dict[str, pa.Table], caplog: pytest.LogCaptureFixture
) -> None:
    server.tiktok.drift = frozenset({"new_field"})
    with caplog.at_level(logging.WARNING, logger="martlake.sources.tiktok_ads.source"):
        tables = extract(tiktok(server, page_size=50))
    assert rows(tables["ad_stats"]) == rows(baseline["ad_stats"])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "`ad_stats`" in warnings[0] and "`metrics.billed_cost`" in warnings[0]


def test_renamed_spend_is_a_one_line_contract_error_naming_both_fields(
    server: EmulatorServer,
) -> None:
    server.tiktok.drift = frozenset({"renamed_field"})
    with pytest.raises(SourceContractError) as info:
        extract(tiktok(server))
    message = str(info.value)
    assert "\n" not in message and message.startswith("tiktok_ads: `ad_stats`")
    assert "`spend`" in message and "`metrics.cost`" in message and "api_version" in message


def test_numbers_instead_of_strings_load_the_same_values(
    server: EmulatorServer, baseline: dict[str, pa.Table]
) -> None:
    server.tiktok.drift = frozenset({"numbers_as_strings"})
    body = httpx.get(
        f"{server.tiktok_base_url}/open_api/v1.3{REPORT}",
        params={
            "advertiser_id": ADVERTISER,
            "report_type": "BASIC",
            "data_level": "AUCTION_AD",
            "dimensions": json.dumps(["ad_id", "stat_time_day"]),
            "metrics": json.dumps(["campaign_id", "spend", "impressions"]),
            "start_date": "2025-03-10",
            "end_date": "2025-03-10",
        },
        headers={"Access-Token": SANDBOX_TIKTOK_TOKEN},
    ).json()
    metrics = body["data"]["list"][0]["metrics"]
    assert isinstance(metrics["impressions"], int) and isinstance(metrics["campaign_id"], int)
    assert isinstance(metrics["spend"], int | float)
    tables = extract(tiktok(server))
    assert rows(tables["ad_stats"]) == rows(baseline["ad_stats"])


def test_dash_values_load_as_null_and_totals_stay_exact(
    server: EmulatorServer, baseline: dict[str, pa.Table]
) -> None:
    server.tiktok.drift = frozenset({"dash_values"})
    table = extract(tiktok(server))["ad_stats"]
    expected = [
        {k: None if k in NUMBERS and v == 0 else v for k, v in r.items()}
        for r in rows(baseline["ad_stats"])
    ]
    assert rows(table) == expected
    assert any(r["conversions"] is None for r in table.to_pylist())
    assert spend_per_day(table) == spend_per_day(baseline["ad_stats"])


class WithoutPageInfo(httpx.HTTPTransport):
    """The emulator's answers with `page_info` left out, as a changed API might send them."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if not request.url.path.endswith(REPORT):
            return response
        body = json.loads(response.read())
        body["data"].pop("page_info", None)
        return httpx.Response(200, json=body)


def test_a_report_without_total_page_is_a_contract_error_not_a_silent_first_page(
    server: EmulatorServer,
) -> None:
    with pytest.raises(SourceContractError, match=r"page_info\.total_page.*api_version") as info:
        extract(tiktok(server, transport=WithoutPageInfo()))
    assert "\n" not in str(info.value)


def test_auth_and_contract_codes_on_a_5xx_are_final_but_system_errors_are_retried(
    server: EmulatorServer, baseline: dict[str, pa.Table]
) -> None:
    server.tiktok.error_http_status = 503  # TikTok's gateway during an incident
    with pytest.raises(AuthError, match="40105") as info:
        extract(tiktok(server, token="stale-token-xyz", attempts=4))
    assert len(server.request_log) == 1  # not retried: a bad token stays bad
    assert "\n" not in str(info.value)
    server.request_log.clear()
    with pytest.raises(SourceContractError, match="40002"):
        tiktok(server, attempts=4)._http.get_json(
            REPORT, params={"advertiser_id": ADVERTISER, "report_type": "BASIC", "page": 1}
        )
    assert len(server.request_log) == 1
    server.tiktok.error_http_status = 200
    server.inject_fault("tiktok", "server_error", times=2, path_contains="report")
    source = tiktok(server, attempts=4)
    assert rows(extract(source)["ad_stats"]) == rows(baseline["ad_stats"])
    assert source.http_stats[1] == 2
