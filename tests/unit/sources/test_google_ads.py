from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pytest
from pydantic import SecretStr, ValidationError

from martlake.config import GoogleAdsSettings
from martlake.errors import AuthError, RateLimitError, SourceContractError, SourceError
from martlake.sources import SOURCES, ExtractContext, GoogleAdsSource
from tests.unit.sources.conftest import Call, Reply, RoutedServer

CUSTOMER = "1234567890"
_BETWEEN = re.compile(r"segments\.date BETWEEN '(\d{4}-\d\d-\d\d)' AND '(\d{4}-\d\d-\d\d)'")


def settings(api: RoutedServer, **kw: Any) -> GoogleAdsSettings:
    values: dict[str, Any] = {
        "customer_ids": ["123-456-7890"],
        "developer_token": SecretStr("dev-token"),
        "client_id": "client-id",
        "client_secret": SecretStr("client-secret"),
        "refresh_token": SecretStr("refresh-token"),
        "base_url": api.url,
        "token_url": f"{api.url}/token",
        **kw,
    }
    return GoogleAdsSettings(**values)


def source(api: RoutedServer, **kw: Any) -> GoogleAdsSource:
    return GoogleAdsSource(settings(api, **kw), backoff=0.0, max_attempts=3)


def row(day: str, campaign: str = "21000000001", cost_micros: str = "1230000") -> dict[str, Any]:
    return {
        "customer": {"resourceName": f"customers/{CUSTOMER}", "id": CUSTOMER},
        "campaign": {
            "resourceName": f"customers/{CUSTOMER}/campaigns/{campaign}",
            "id": campaign,
            "name": "Search - Brand",
            "status": "ENABLED",
            "advertisingChannelType": "SEARCH",
        },
        "metrics": {
            "costMicros": cost_micros,
            "impressions": "10",
            "clicks": "2",
            "conversions": 1.5,
            "conversionsValue": 12.5,
        },
        "segments": {"date": day},
    }


def google(call: Call) -> Reply:
    if call.path == "/token":
        return 200, {"access_token": "ya29.access", "expires_in": 3599, "token_type": "Bearer"}
    query = call.json()["query"]
    if "FROM customer" in query:
        customer = {
            "resourceName": f"customers/{CUSTOMER}",
            "id": CUSTOMER,
            "descriptiveName": "Demo",
            "currencyCode": "USD",
            "timeZone": "America/New_York",
        }
        return 200, [{"results": [{"customer": customer}], "requestId": "r"}]
    if "FROM campaign" not in query:  # ad group and ad streams: no rows here
        return 200, [{"requestId": "r"}]
    since, until = (date.fromisoformat(d) for d in _BETWEEN.search(query).groups())  # type: ignore[union-attr]
    days = [since + timedelta(days=i) for i in range((until - since).days + 1)]
    results = [row(d.isoformat()) for d in days]
    # Two batches, the second without `results`, as a stream may end.
    return 200, [{"results": results, "fieldMask": "x", "requestId": "r"}, {"requestId": "r"}]


def collect(src: GoogleAdsSource, ctx: ExtractContext, table: str = "campaign_stats") -> pa.Table:
    return pa.concat_tables([b.data for b in src.extract(ctx) if b.table == table])


def test_is_registered_and_strips_dashes_from_customer_ids(api: RoutedServer) -> None:
    assert SOURCES["google_ads"] is GoogleAdsSource
    cfg = settings(api, login_customer_id="111-222-3333")
    assert cfg.customer_ids == [CUSTOMER] and cfg.login_customer_id == "1112223333"


@pytest.mark.parametrize("bad", ["123-456", "abc-def-ghij", ""], ids=["short", "letters", "empty"])
def test_rejects_customer_ids_that_are_not_ten_digits(api: RoutedServer, bad: str) -> None:
    with pytest.raises(ValidationError, match="10 digits"):
        settings(api, customer_ids=[bad])


@pytest.mark.parametrize(
    ("micros", "expected"),
    [
        ("12345678", 12_345_678),
        (8_665_000, 8_665_000),
        ("1", 1),
        ("9223372036854775807", 9_223_372_036_854_775_807),
        ("-", None),
    ],
    ids=["not-whole-cents", "json-number", "one-micro", "int64-max", "dash"],
)
def test_campaign_cost_stays_in_micros_exactly_as_sent(
    api: RoutedServer, micros: Any, expected: int | None
) -> None:
    def one_day(call: Call) -> Reply:
        status, body = google(call)
        if call.path != "/token" and "FROM campaign " in call.json()["query"]:
            body = [{"results": [row("2025-01-01", cost_micros=micros)], "requestId": "r"}]
        return status, body

    api.route = one_day
    src = source(api, start_date=date(2025, 1, 1))
    table = collect(src, ExtractContext(run_id="r", end_date=date(2025, 1, 1)))
    assert table.column("cost_micros").to_pylist() == [expected]
    assert "cost" not in table.schema.names


def test_exchanges_the_refresh_token_once_and_sends_both_tokens(api: RoutedServer) -> None:
    api.route = google
    src = source(api, login_customer_id="1112223333", start_date=date(2025, 1, 1))
    collect(src, ExtractContext(run_id="r", end_date=date(2025, 1, 5)))
    tokens = api.calls_to("/token")
    assert len(tokens) == 1
    assert tokens[0].form() == {
        "grant_type": "refresh_token",
        "client_id": "client-id",
        "client_secret": "client-secret",
        "refresh_token": "refresh-token",
    }
    assert "developer-token" not in tokens[0].headers
    streams = api.calls_to("googleAds:searchStream")
    assert {c.path for c in streams} == {f"/v18/customers/{CUSTOMER}/googleAds:searchStream"}
    for call in streams:
        assert call.method == "POST"
        assert call.headers["authorization"] == "Bearer ya29.access"
        assert call.headers["developer-token"] == "dev-token"
        assert call.headers["login-customer-id"] == "1112223333"


def test_reads_windows_of_31_days_into_typed_rows(api: RoutedServer) -> None:
    api.route = google
    src = source(api, start_date=date(2025, 1, 1))
    table = collect(src, ExtractContext(run_id="run-7", end_date=date(2025, 3, 15)))
    queries = [
        c.json()["query"]
        for c in api.calls_to("googleAds:searchStream")
        if "FROM campaign" in c.json()["query"]
    ]
    windows = [tuple(_BETWEEN.search(q).groups()) for q in queries]  # type: ignore[union-attr]
    assert windows == [
        ("2025-01-01", "2025-01-31"),
        ("2025-02-01", "2025-03-03"),
        ("2025-03-04", "2025-03-15"),
    ]
    assert queries[0].startswith(
        "SELECT customer.id, campaign.id, campaign.name, campaign.status, "
        "campaign.advertising_channel_type, segments.date, metrics.cost_micros, "
        "metrics.impressions, metrics.clicks, metrics.conversions, metrics.conversions_value "
        "FROM campaign WHERE segments.date BETWEEN"
    )
    assert table.num_rows == 31 + 28 + 3 + 12
    assert table.schema.field("cost_micros").type == pa.int64()
    assert table.schema.field("date").type == pa.date32()
    first = table.slice(0, 1).to_pylist()[0]
    assert first["customer_id"] == CUSTOMER and first["customer_name"] == "Demo"
    assert first["currency_code"] == "USD" and first["time_zone"] == "America/New_York"
    assert first["campaign_id"] == "21000000001" and first["channel_type"] == "SEARCH"
    assert first["cost_micros"] == 1_230_000 and first["impressions"] == 10
    assert first["conversions"] == 1.5 and first["conversions_value"] == 12.5
    assert first["_source"] == "google_ads" and first["_extract_run_id"] == "run-7"


def test_incremental_rereads_the_lookback_window(api: RoutedServer) -> None:
    api.route = google
    ctx = ExtractContext(
        run_id="r", watermarks={CUSTOMER: date(2025, 4, 20)}, end_date=date(2025, 4, 25)
    )
    table = collect(source(api, lookback_days=14), ctx)
    days = table.column("date").to_pylist()
    assert min(days) == date(2025, 4, 6) and max(days) == date(2025, 4, 25)


def _error(status: int, grpc: str, code: dict[str, str] | None = None, **extra: Any) -> Any:
    failure = {"errors": [{"errorCode": code, "message": "m", **extra}]} if code else None
    return {
        "error": {
            "code": status,
            "message": "Request had a problem.",
            "status": grpc,
            "details": [failure] if failure else [],
        }
    }


MAPPING = [
    pytest.param(
        "token",
        400,
        {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
        AuthError,
        r"invalid_grant.*auth/adwords.*refresh_token.*secrets.toml",
        id="oauth-invalid-grant",
    ),
    pytest.param(
        "token",
        401,
        {"error": "invalid_client", "error_description": "Unauthorized"},
        AuthError,
        r"client_id.*client_secret",
        id="oauth-invalid-client",
    ),
    pytest.param(
        "stream",
        401,
        _error(401, "UNAUTHENTICATED"),
        AuthError,
        r"access token was rejected.*auth/adwords",
        id="bad-bearer",
    ),
    pytest.param(
        "stream",
        403,
        _error(403, "PERMISSION_DENIED", {"authorizationError": "DEVELOPER_TOKEN_NOT_APPROVED"}),
        AuthError,
        r"DEVELOPER_TOKEN_NOT_APPROVED.*developer_token.*secrets.toml",
        id="developer-token",
    ),
    pytest.param(
        "stream",
        401,
        _error(401, "UNAUTHENTICATED", {"authenticationError": "DEVELOPER_TOKEN_INVALID"}),
        AuthError,
        r"DEVELOPER_TOKEN_INVALID.*developer_token.*secrets.toml",
        id="developer-token-v19",
    ),
    pytest.param(
        "stream",
        403,
        _error(403, "PERMISSION_DENIED", {"authorizationError": "USER_PERMISSION_DENIED"}),
        AuthError,
        r"USER_PERMISSION_DENIED.*login_customer_id",
        id="customer-permission",
    ),
    pytest.param(
        "stream",
        400,
        _error(400, "INVALID_ARGUMENT", {"queryError": "UNRECOGNIZED_FIELD"}),
        SourceContractError,
        r"queryError=UNRECOGNIZED_FIELD.*api_version",
        id="bad-gaql",
    ),
]


@pytest.mark.parametrize(("where", "status", "body", "error", "pattern"), MAPPING)
def test_maps_vendor_errors_to_martlake_errors_naming_the_fix(
    api: RoutedServer,
    where: str,
    status: int,
    body: Any,
    error: type[Exception],
    pattern: str,
) -> None:
    def route(call: Call) -> Reply:
        hit = call.path == "/token" if where == "token" else call.path != "/token"
        return (status, body) if hit else google(call)

    api.route = route
    with pytest.raises(error, match=pattern) as info:
        source(api).check()
    assert type(info.value) is error
    assert "refresh-token" not in str(info.value) and "client-secret" not in str(info.value)
    # Never retried, except a refused access token: refreshed and tried once more.
    refused = "access token was rejected" in str(info.value)
    assert len(api.calls_to("googleAds:searchStream")) <= (2 if refused else 1)


def test_quota_errors_are_retried_after_the_announced_delay(api: RoutedServer) -> None:
    quota = _error(
        429,
        "RESOURCE_EXHAUSTED",
        {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
        details={"quotaErrorDetails": {"retryDelay": "0s"}},
    )
    replies = iter([(429, quota), (500, {"error": {"code": 500, "status": "INTERNAL"}})])

    def route(call: Call) -> Reply:
        return next(replies, None) or google(call) if call.path != "/token" else google(call)

    api.route = route
    src = source(api, start_date=date(2025, 1, 1))
    table = collect(src, ExtractContext(run_id="r", end_date=date(2025, 1, 2)))
    assert table.num_rows == 2
    # customer, 429, 500, campaigns, then the ad group and ad streams
    assert len(api.calls_to("googleAds:searchStream")) == 6


def test_quota_error_is_a_rate_limit_error_when_retries_run_out(api: RoutedServer) -> None:
    quota = _error(429, "RESOURCE_EXHAUSTED", {"quotaError": "RESOURCE_EXHAUSTED"})
    api.route = lambda call: google(call) if call.path == "/token" else (429, quota)
    with pytest.raises(RateLimitError, match="RESOURCE_EXHAUSTED"):
        source(api).check()
    assert len(api.calls_to("googleAds:searchStream")) == 3


def test_an_error_at_the_end_of_a_stream_is_raised(api: RoutedServer) -> None:
    def route(call: Call) -> Reply:
        status, body = google(call)
        if call.path != "/token" and "FROM campaign" in call.json()["query"]:
            body.append({"error": {"code": 500, "message": "boom", "status": "INTERNAL"}})
        return status, body

    api.route = route
    src = source(api, start_date=date(2025, 1, 1))
    with pytest.raises(SourceError, match="INTERNAL"):
        collect(src, ExtractContext(run_id="r", end_date=date(2025, 1, 2)))
    assert len(api.calls_to("googleAds:searchStream")) == 1 + 3  # retried as transient


def test_a_response_that_is_not_an_array_is_a_contract_error(api: RoutedServer) -> None:
    api.route = lambda call: google(call) if call.path == "/token" else (200, {"results": []})
    with pytest.raises(SourceContractError, match="not a JSON array"):
        source(api).check()


def test_a_token_endpoint_outage_is_retried(api: RoutedServer) -> None:
    failures = iter([(503, {"error": "temporarily_unavailable"})])

    def route(call: Call) -> Reply:
        return (next(failures, None) or google(call)) if call.path == "/token" else google(call)

    api.route = route
    source(api).check()
    assert len(api.calls_to("/token")) == 2


def test_records_each_window_after_its_last_page(api: RoutedServer) -> None:
    api.route = google
    src = source(api, start_date=date(2025, 1, 1))
    batches = list(src.extract(ExtractContext("run-9", end_date=date(2025, 3, 15))))
    assert [b.table for b in batches][-1] == "extract_windows"
    windows = pa.concat_tables([b.data for b in batches if b.table == "extract_windows"])
    assert [(r["account_id"], r["date_start"], r["date_end"]) for r in windows.to_pylist()] == [
        (CUSTOMER, date(2025, 1, 1), date(2025, 1, 31)),
        (CUSTOMER, date(2025, 2, 1), date(2025, 3, 3)),
        (CUSTOMER, date(2025, 3, 4), date(2025, 3, 15)),
    ]
    assert set(windows.column("_extract_run_id").to_pylist()) == {"run-9"}
