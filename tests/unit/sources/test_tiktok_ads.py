from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from pydantic import SecretStr

from martlake.config import TikTokAdsSettings
from martlake.errors import AuthError, RateLimitError, SourceContractError, SourceError
from martlake.sources import SOURCES, ExtractContext, TikTokAdsSource
from martlake.sources.tiktok_ads.source import METRICS, VALUE_METRIC
from tests.unit.sources.conftest import Call, Reply, RoutedServer

ADVERTISER = "7000000000000000001"
ADS = ("1780000000000000111", "1780000000000000112", "1780000000000000113")


def source(api: RoutedServer, token: str = "tt-token", **kw: Any) -> TikTokAdsSource:
    cfg = TikTokAdsSettings(
        advertiser_ids=[ADVERTISER], access_token=SecretStr(token), base_url=api.url, **kw
    )
    return TikTokAdsSource(cfg, backoff=0.0, max_attempts=3)


def envelope(data: Any, code: int = 0, message: str = "OK") -> dict[str, Any]:
    return {"code": code, "message": message, "request_id": "2025010100000000", "data": data}


def tiktok(call: Call) -> Reply:
    if call.headers.get("access-token") != "tt-token":
        return 200, envelope({}, 40105, "Access token is invalid or has been revoked.")
    if call.path.endswith("/advertiser/info/"):
        info = {
            "advertiser_id": ADVERTISER,
            "name": "Demo TikTok",
            "currency": "USD",
            "timezone": "America/New_York",
        }
        return 200, envelope({"list": [info]})
    q = call.query
    since, until = date.fromisoformat(q["start_date"]), date.fromisoformat(q["end_date"])
    rows = [
        {
            "dimensions": {"ad_id": ad, "stat_time_day": f"{since + timedelta(days=i)} 00:00:00"},
            "metrics": {
                "campaign_id": "1800000000000000001",
                "campaign_name": "Prospecting",
                "adgroup_id": "1790000000000000011",
                "adgroup_name": "Broad",
                "ad_name": f"Video {ad[-1]}",
                "spend": "12.345",
                "impressions": "1000",
                "clicks": "10",
                "complete_payment": "2",
                VALUE_METRIC: "-" if ad == ADS[2] else "61.50",
            },
        }
        for i in range((until - since).days + 1)
        for ad in ADS
    ]
    size, page = int(q["page_size"]), int(q["page"])
    info = {
        "page": page,
        "page_size": size,
        "total_number": len(rows),
        "total_page": -(-len(rows) // size),
    }
    return 200, envelope({"list": rows[(page - 1) * size : page * size], "page_info": info})


def collect(src: TikTokAdsSource, ctx: ExtractContext, table: str = "ad_stats") -> pa.Table:
    return pa.concat_tables([b.data for b in src.extract(ctx) if b.table == table])


def reports(api: RoutedServer) -> list[dict[str, str]]:
    return [c.query for c in api.calls_to("/report/integrated/get/")]


def test_is_registered() -> None:
    assert SOURCES["tiktok_ads"] is TikTokAdsSource


def test_asks_for_ad_level_daily_reports_with_the_token_header(api: RoutedServer) -> None:
    api.route = tiktok
    collect(
        source(api, start_date=date(2025, 1, 1)), ExtractContext("r", end_date=date(2025, 1, 3))
    )
    info = api.calls_to("/advertiser/info/")[0]
    assert info.path == "/open_api/v1.3/advertiser/info/"
    assert json.loads(info.query["advertiser_ids"]) == [ADVERTISER]
    assert set(json.loads(info.query["fields"])) >= {"name", "currency", "timezone"}
    (query,) = reports(api)
    assert query["advertiser_id"] == ADVERTISER
    assert query["report_type"] == "BASIC" and query["data_level"] == "AUCTION_AD"
    assert json.loads(query["dimensions"]) == ["ad_id", "stat_time_day"]
    assert json.loads(query["metrics"]) == list(METRICS)
    assert (query["start_date"], query["end_date"]) == ("2025-01-01", "2025-01-03")
    assert (query["page"], query["page_size"]) == ("1", "1000")
    assert all(c.headers["access-token"] == "tt-token" for c in api.calls)


def test_reads_every_page_of_30_day_windows_into_typed_rows(api: RoutedServer) -> None:
    api.route = tiktok
    src = source(api, start_date=date(2025, 1, 1), page_size=50)
    table = collect(src, ExtractContext("run-3", end_date=date(2025, 3, 5)))
    firsts = [(q["start_date"], q["end_date"]) for q in reports(api) if q["page"] == "1"]
    assert firsts == [
        ("2025-01-01", "2025-01-30"),
        ("2025-01-31", "2025-03-01"),
        ("2025-03-02", "2025-03-05"),
    ]
    assert [q["page"] for q in reports(api)] == ["1", "2"] * 2 + ["1"]  # 90, 90, 12 rows
    assert table.num_rows == 64 * 3
    keys = set(
        zip(table.column("ad_id").to_pylist(), table.column("stat_date").to_pylist(), strict=True)
    )
    assert len(keys) == table.num_rows
    assert table.schema.field("spend").type == pa.decimal128(18, 2)
    assert table.schema.field("stat_date").type == pa.date32()
    first = table.slice(0, 1).to_pylist()[0]
    assert first["advertiser_id"] == ADVERTISER and first["advertiser_name"] == "Demo TikTok"
    assert first["currency"] == "USD" and first["timezone"] == "America/New_York"
    assert first["stat_date"] == date(2025, 1, 1)
    assert first["campaign_id"] == "1800000000000000001" and first["adgroup_name"] == "Broad"
    assert first["spend"] == Decimal("12.34")  # half-even from "12.345"
    assert (first["impressions"], first["clicks"], first["conversions"]) == (1000, 10, 2)
    assert first["conversion_value"] == Decimal("61.50")
    assert first["_source"] == "tiktok_ads" and first["_extract_run_id"] == "run-3"
    values = table.filter(pa.compute.equal(table.column("ad_id"), ADS[2]))
    assert set(values.column("conversion_value").to_pylist()) == {None}  # "-" is no value


def test_incremental_rereads_the_lookback_window(api: RoutedServer) -> None:
    api.route = tiktok
    ctx = ExtractContext(
        "r", watermarks={ADVERTISER: date(2025, 4, 20)}, end_date=date(2025, 4, 22)
    )
    table = collect(source(api), ctx)
    days = table.column("stat_date").to_pylist()
    assert min(days) == date(2025, 4, 13) and max(days) == date(2025, 4, 22)


MAPPING = [
    pytest.param(
        40105,
        "Access token is invalid",
        AuthError,
        r"40105.*access_token.*secrets.toml",
        id="bad-token",
    ),
    pytest.param(
        40102,
        "Access token has expired",
        AuthError,
        r"Reporting permission.*access_token",
        id="expired",
    ),
    pytest.param(
        40001,
        "No permission to operate advertiser",
        AuthError,
        r"40001.*Reporting permission.*advertiser_ids",
        id="no-permission",
    ),
    pytest.param(
        40002,
        "end_date is out of range",
        SourceContractError,
        r"40002.*api_version",
        id="bad-param",
    ),
    pytest.param(41000, "Something else", SourceError, r"41000", id="other-client-error"),
]


@pytest.mark.parametrize(("code", "message", "error", "pattern"), MAPPING)
def test_a_code_inside_http_200_maps_to_an_error_naming_the_fix(
    api: RoutedServer, code: int, message: str, error: type[Exception], pattern: str
) -> None:
    api.route = lambda call: (200, envelope({}, code, message))
    with pytest.raises(error, match=pattern) as info:
        source(api).check()
    assert type(info.value) is error
    assert len(api.calls) == 1  # not retried


@pytest.mark.parametrize(
    "code", [40100, 40133, 50000, 51004], ids=["qps", "advertiser-qps", "system", "internal"]
)
def test_transient_codes_inside_http_200_are_retried(api: RoutedServer, code: int) -> None:
    failures = iter([(200, envelope({}, code, "Too many requests"))] * 2)
    api.route = lambda call: next(failures, None) or tiktok(call)
    source(api).check()
    assert len(api.calls) == 3


def test_throttling_that_outlasts_retries_is_a_rate_limit_error(api: RoutedServer) -> None:
    api.route = lambda call: (200, envelope({}, 40100, "Too many requests"))
    with pytest.raises(RateLimitError, match="40100"):
        source(api).check()
    assert len(api.calls) == 3


def test_http_500_is_retried(api: RoutedServer) -> None:
    failures = iter([(500, b"<html>oops</html>")])
    api.route = lambda call: next(failures, None) or tiktok(call)
    source(api).check()
    assert len(api.calls) == 2


def test_an_advertiser_missing_from_the_answer_is_an_auth_error(api: RoutedServer) -> None:
    api.route = lambda call: (200, envelope({"list": []}))
    with pytest.raises(AuthError, match=rf"`{ADVERTISER}`.*Reporting permission"):
        source(api).check()


def test_bad_token_never_reaches_the_message(api: RoutedServer) -> None:
    api.route = tiktok
    with pytest.raises(AuthError) as info:
        source(api, token="wrong-token-123").check()
    assert "wrong-token-123" not in str(info.value)


def test_records_each_window_after_its_last_page(api: RoutedServer) -> None:
    api.route = tiktok
    src = source(api, start_date=date(2025, 1, 1), page_size=50)
    batches = list(src.extract(ExtractContext("run-9", end_date=date(2025, 3, 5))))
    tables = [b.table for b in batches]
    # Two pages of the first window, then its record.
    assert tables[:3] == ["ad_stats", "ad_stats", "extract_windows"]
    windows = pa.concat_tables([b.data for b in batches if b.table == "extract_windows"])
    assert [(r["account_id"], r["date_start"], r["date_end"]) for r in windows.to_pylist()] == [
        (ADVERTISER, date(2025, 1, 1), date(2025, 1, 30)),
        (ADVERTISER, date(2025, 1, 31), date(2025, 3, 1)),
        (ADVERTISER, date(2025, 3, 2), date(2025, 3, 5)),
    ]
    assert set(windows.column("_extract_run_id").to_pylist()) == {"run-9"}
