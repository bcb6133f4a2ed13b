"""The Google Ads and TikTok emulator apps called directly, without sockets."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest

from martlake.sandbox import (
    SANDBOX_GOOGLE_CLIENT_ID,
    SANDBOX_GOOGLE_CLIENT_SECRET,
    SANDBOX_GOOGLE_DEVELOPER_TOKEN,
    SANDBOX_GOOGLE_REFRESH_TOKEN,
    SANDBOX_TIKTOK_TOKEN,
    Business,
)
from martlake.sandbox.emulators import GoogleAdsApp, TikTokAdsApp
from martlake.sandbox.emulators import google_ads as google_module
from martlake.sandbox.emulators._http import Headers, Request, Response

STREAM = "/v18/customers/1234567890/googleAds:searchStream"
CUSTOMER_QUERY = (
    "SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone "
    "FROM customer"
)
CAMPAIGN_FIELDS = (
    "customer.id, campaign.id, campaign.name, campaign.status, campaign.advertising_channel_type, "
    "segments.date, metrics.cost_micros, metrics.impressions, metrics.clicks, "
    "metrics.conversions, metrics.conversions_value"
)
REPORT = "/open_api/v1.3/report/integrated/get/"
INFO = "/open_api/v1.3/advertiser/info/"
TIKTOK_METRICS = [
    "spend",
    "impressions",
    "clicks",
    "conversion",
    "campaign_id",
    "campaign_name",
    "adgroup_id",
    "adgroup_name",
    "ad_name",
    "total_complete_payment_rate",
]


def body(response: Response) -> Any:
    return json.loads(response.body)


def campaign_query(since: str, until: str, fields: str = CAMPAIGN_FIELDS) -> str:
    return f"SELECT {fields} FROM campaign WHERE segments.date BETWEEN '{since}' AND '{until}'"


def token_request(app: GoogleAdsApp, **form: str) -> Response:
    fields = {
        "grant_type": "refresh_token",
        "client_id": SANDBOX_GOOGLE_CLIENT_ID,
        "client_secret": SANDBOX_GOOGLE_CLIENT_SECRET,
        "refresh_token": SANDBOX_GOOGLE_REFRESH_TOKEN,
        **form,
    }
    headers = Headers([("Content-Type", "application/x-www-form-urlencoded")])
    return app.handle(
        Request("POST", "/token", {}, headers, "http://sandbox/google", urlencode(fields).encode())
    )


@pytest.fixture(scope="module")
def google(small_business: Business) -> GoogleAdsApp:
    return GoogleAdsApp(small_business)


@pytest.fixture(scope="module")
def access_token(google: GoogleAdsApp) -> str:
    return str(body(token_request(google))["access_token"])


def search(
    app: GoogleAdsApp,
    token: str,
    query: str,
    path: str = STREAM,
    developer_token: str = SANDBOX_GOOGLE_DEVELOPER_TOKEN,
) -> Response:
    headers = Headers(
        [
            ("Authorization", f"Bearer {token}"),
            ("developer-token", developer_token),
            ("Content-Type", "application/json"),
        ]
    )
    payload = json.dumps({"query": query}).encode()
    return app.handle(Request("POST", path, {}, headers, "http://sandbox/google", payload))


def rows_of(response: Response) -> list[dict[str, Any]]:
    assert response.status == 200, response.body
    return [row for batch in body(response) for row in batch.get("results", [])]


def failure(response: Response) -> tuple[int, str, dict[str, str] | None]:
    error = body(response)["error"]
    details = error.get("details")
    code = details[0]["errors"][0]["errorCode"] if details else None
    return response.status, error["status"], code


def test_token_endpoint_exchanges_the_refresh_token(google: GoogleAdsApp) -> None:
    response = token_request(google)
    assert response.status == 200
    payload = body(response)
    assert payload["token_type"] == "Bearer" and payload["expires_in"] == 3599
    assert payload["scope"] == "https://www.googleapis.com/auth/adwords"
    assert payload["access_token"] in google.access_tokens


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"refresh_token": "revoked"}, 400, "invalid_grant"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "other-app"}, 401, "invalid_client"),
        ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
    ],
    ids=["revoked-refresh-token", "wrong-secret", "wrong-client", "wrong-grant"],
)
def test_token_endpoint_errors_follow_oauth(
    google: GoogleAdsApp, form: dict[str, str], status: int, error: str
) -> None:
    response = token_request(google, **form)
    assert response.status == status
    assert body(response)["error"] == error and body(response)["error_description"]


def test_customer_query_returns_one_row(
    google: GoogleAdsApp, access_token: str, small_business: Business
) -> None:
    response = search(google, access_token, CUSTOMER_QUERY)
    (batch,) = body(response)
    assert batch["fieldMask"] == (
        "customer.id,customer.descriptiveName,customer.currencyCode,customer.timeZone"
    )
    assert batch["requestId"]
    assert batch["results"] == [{"customer": small_business.google_customer}]


def test_campaign_stream_serves_every_row_with_the_rest_shape(
    google: GoogleAdsApp, access_token: str, small_business: Business
) -> None:
    rows = rows_of(search(google, access_token, campaign_query("2025-02-20", "2025-04-10")))
    customer = {"resourceName": "customers/1234567890", "id": "1234567890"}
    assert rows == [{**r, "customer": customer} for r in small_business.google_campaign_stats]
    batch = body(search(google, access_token, campaign_query("2025-03-01", "2025-03-01")))[0]
    assert batch["fieldMask"].split(",")[-5:] == [
        "metrics.costMicros",
        "metrics.impressions",
        "metrics.clicks",
        "metrics.conversions",
        "metrics.conversionsValue",
    ]
    assert {r["segments"]["date"] for r in batch["results"]} == {"2025-03-01"}


def test_stream_batches_hold_at_most_the_batch_size(
    google: GoogleAdsApp,
    access_token: str,
    small_business: Business,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(google_module, "BATCH_SIZE", 7)
    batches = body(search(google, access_token, campaign_query("2025-02-20", "2025-02-28")))
    sizes = [len(b["results"]) for b in batches]
    assert all(size <= 7 for size in sizes) and sizes[:-1] == [7] * (len(sizes) - 1)
    expected = [
        r for r in small_business.google_campaign_stats if r["segments"]["date"] <= "2025-02-28"
    ]
    assert sum(sizes) == len(expected) and len(batches) == -(-len(expected) // 7)


def test_a_range_without_activity_is_one_batch_without_results(
    google: GoogleAdsApp, access_token: str
) -> None:
    batches = body(search(google, access_token, campaign_query("2024-01-01", "2024-01-31")))
    assert len(batches) == 1 and "results" not in batches[0] and batches[0]["fieldMask"]


def test_metrics_without_segments_are_summed_per_campaign(
    google: GoogleAdsApp, access_token: str, small_business: Business
) -> None:
    query = (
        "SELECT campaign.id, metrics.cost_micros FROM campaign "
        "WHERE segments.date >= '2025-03-01' AND segments.date <= '2025-03-07' "
        "ORDER BY metrics.cost_micros DESC LIMIT 3"
    )
    rows = rows_of(search(google, access_token, query))
    expected: defaultdict[str, int] = defaultdict(int)
    truth = small_business.truth.google_cost_micros_per_campaign_day()
    for (day, campaign), micros in truth.items():
        if date(2025, 3, 1) <= day <= date(2025, 3, 7):
            expected[campaign] += micros
    top = sorted(expected.items(), key=lambda kv: -kv[1])[:3]
    assert [(r["campaign"]["id"], int(r["metrics"]["costMicros"])) for r in rows] == top
    assert set(rows[0]) == {"campaign", "metrics"}


def test_where_filters_on_campaign_fields(google: GoogleAdsApp, access_token: str) -> None:
    query = campaign_query("2025-03-01", "2025-03-05", "campaign.id, segments.date")
    query += " AND campaign.advertising_channel_type IN ('SHOPPING', 'PERFORMANCE_MAX')"
    rows = rows_of(search(google, access_token, query))
    assert {r["campaign"]["id"] for r in rows} == {"21000000003", "21000000004"}
    assert len(rows) == 10


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("SELECT campaign.id, segments.date FROM campaign", "EXPECTED_FILTERS_ON_DATE_RANGE"),
        ("SELECT campaign.bidding_strategy FROM campaign", "UNRECOGNIZED_FIELD"),
        ("SELECT asset_group.id FROM asset_group", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
        ("SELECT campaign.id FROM customer", "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"),
        ("SELECT campaign.id", "EXPECTED_FROM"),
        (
            "SELECT segments.date FROM campaign WHERE segments.date BETWEEN '2025-03-01' AND "
            "'March 3'",
            "INVALID_VALUE_WITH_BETWEEN_OPERATOR",
        ),
        (
            "SELECT campaign.id FROM campaign WHERE campaign.status = 'ENABLED' OR campaign.id = 1",
            "UNEXPECTED_INPUT",
        ),
    ],
    ids=["date-unbounded", "unknown-field", "unknown-resource", "wrong-resource", "no-from",
         "bad-date", "or"],
)  # fmt: skip
def test_bad_gaql_is_a_query_error(
    google: GoogleAdsApp, access_token: str, query: str, code: str
) -> None:
    response = search(google, access_token, query)
    assert failure(response) == (400, "INVALID_ARGUMENT", {"queryError": code})


def test_bad_bearer_is_401_without_ads_details(google: GoogleAdsApp) -> None:
    for token in ("ya29.forged", ""):
        response = search(google, token, CUSTOMER_QUERY)
        assert failure(response) == (401, "UNAUTHENTICATED", None)
        assert body(response)["error"]["code"] == 401


def test_developer_token_errors_depend_on_the_version(
    google: GoogleAdsApp, access_token: str
) -> None:
    v18 = search(google, access_token, CUSTOMER_QUERY, developer_token="nope")
    assert failure(v18) == (
        403,
        "PERMISSION_DENIED",
        {"authorizationError": "DEVELOPER_TOKEN_NOT_APPROVED"},
    )
    assert "v18.errors.GoogleAdsFailure" in body(v18)["error"]["details"][0]["@type"]
    v19 = search(
        google,
        access_token,
        CUSTOMER_QUERY,
        path=STREAM.replace("v18", "v19"),
        developer_token="nope",
    )
    assert failure(v19) == (
        401,
        "UNAUTHENTICATED",
        {"authenticationError": "DEVELOPER_TOKEN_INVALID"},
    )


def test_other_customers_are_permission_denied(google: GoogleAdsApp, access_token: str) -> None:
    response = search(google, access_token, CUSTOMER_QUERY, path=STREAM.replace("1234", "9999"))
    assert failure(response) == (
        403,
        "PERMISSION_DENIED",
        {"authorizationError": "USER_PERMISSION_DENIED"},
    )


def test_unknown_versions_and_methods_are_404(google: GoogleAdsApp, access_token: str) -> None:
    assert (
        search(google, access_token, CUSTOMER_QUERY, path=STREAM.replace("v18", "v9")).status == 404
    )
    headers = Headers([("Authorization", f"Bearer {access_token}")])
    get = google.handle(Request("GET", STREAM, {}, headers, "http://sandbox/google"))
    assert get.status == 404 and body(get)["error"]["status"] == "NOT_FOUND"


@pytest.fixture(scope="module")
def tiktok(small_business: Business) -> TikTokAdsApp:
    return TikTokAdsApp(small_business)


def tiktok_get(
    app: TikTokAdsApp, path: str, token: str = SANDBOX_TIKTOK_TOKEN, **query: Any
) -> dict[str, Any]:
    params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in query.items()}
    response = app.handle(
        Request("GET", path, params, Headers([("Access-Token", token)]), "http://sandbox/tiktok")
    )
    assert response.status == 200, "TikTok answers errors with HTTP 200"
    payload: dict[str, Any] = body(response)
    assert payload["request_id"]
    return payload


def report(app: TikTokAdsApp, **query: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "advertiser_id": "7000000000000000001",
        "report_type": "BASIC",
        "data_level": "AUCTION_AD",
        "dimensions": ["ad_id", "stat_time_day"],
        "metrics": TIKTOK_METRICS,
        "start_date": "2025-03-01",
        "end_date": "2025-03-31",
        "page_size": "1000",
        **query,
    }
    return tiktok_get(app, REPORT, **params)


def test_advertiser_info(tiktok: TikTokAdsApp) -> None:
    payload = tiktok_get(
        tiktok,
        INFO,
        advertiser_ids=["7000000000000000001"],
        fields=["advertiser_id", "name", "currency", "timezone"],
    )
    assert (payload["code"], payload["message"]) == (0, "OK")
    assert payload["data"]["list"] == [
        {
            "advertiser_id": "7000000000000000001",
            "name": "Northtrail Supply - TikTok",
            "currency": "USD",
            "timezone": "America/New_York",
        }
    ]


def test_report_pages_walk_every_row_once(tiktok: TikTokAdsApp, small_business: Business) -> None:
    expected = [
        r
        for r in small_business.tiktok_ad_stats
        if "2025-03-01" <= r["dimensions"]["stat_time_day"][:10] <= "2025-03-31"
    ]
    rows: list[dict[str, Any]] = []
    page, total_page = 1, 1
    while page <= total_page:
        data = report(tiktok, page=str(page), page_size="50")["data"]
        info = data["page_info"]
        assert info["page"] == page and info["page_size"] == 50
        assert info["total_number"] == len(expected)
        total_page = info["total_page"]
        rows.extend(data["list"])
        page += 1
    assert total_page == -(-len(expected) // 50)
    assert [r["dimensions"] for r in rows] == [r["dimensions"] for r in expected]
    assert [r["metrics"] for r in rows] == [
        {k: r["metrics"][k] for k in TIKTOK_METRICS} for r in expected
    ]
    assert all(isinstance(v, str) for r in rows for v in r["metrics"].values())


def test_campaign_level_sums_match_the_truth(
    tiktok: TikTokAdsApp, small_business: Business
) -> None:
    data = report(
        tiktok,
        data_level="AUCTION_CAMPAIGN",
        dimensions=["campaign_id", "stat_time_day"],
        metrics=["spend", "campaign_name"],
    )["data"]
    got = {
        (
            date.fromisoformat(r["dimensions"]["stat_time_day"][:10]),
            r["dimensions"]["campaign_id"],
        ): (Decimal(r["metrics"]["spend"]))
        for r in data["list"]
    }
    truth = small_business.truth.spend_per_campaign_day("tiktok")
    assert got == {k: v for k, v in truth.items() if date(2025, 3, 1) <= k[0] <= date(2025, 3, 31)}


@pytest.mark.parametrize(
    ("query", "token", "code"),
    [
        ({}, "wrong-token", 40105),
        ({}, "", 40104),
        ({"advertiser_id": "7000000000000000002"}, SANDBOX_TIKTOK_TOKEN, 40001),
        ({"end_date": "2025-04-01"}, SANDBOX_TIKTOK_TOKEN, 40002),
        ({"end_date": "2025-02-27"}, SANDBOX_TIKTOK_TOKEN, 40002),
        ({"page_size": "1001"}, SANDBOX_TIKTOK_TOKEN, 40002),
        ({"metrics": ["spend", "roas_magic"]}, SANDBOX_TIKTOK_TOKEN, 40002),
        ({"dimensions": "ad_id"}, SANDBOX_TIKTOK_TOKEN, 40002),
    ],
    ids=["bad-token", "no-token", "other-advertiser", "31-days-apart", "end-before-start",
         "page-size", "unknown-metric", "dimensions-not-json"],
)  # fmt: skip
def test_report_errors_are_codes_inside_http_200(
    tiktok: TikTokAdsApp, query: dict[str, Any], token: str, code: int
) -> None:
    params: dict[str, Any] = {
        "advertiser_id": "7000000000000000001",
        "report_type": "BASIC",
        "data_level": "AUCTION_AD",
        "dimensions": ["ad_id", "stat_time_day"],
        "metrics": TIKTOK_METRICS,
        "start_date": "2025-03-01",
        "end_date": "2025-03-31",
        **query,
    }
    payload = tiktok_get(tiktok, REPORT, token=token, **params)
    assert payload["code"] == code and payload["message"] and payload["data"] == {}


def test_thirty_days_apart_is_the_longest_daily_range(tiktok: TikTokAdsApp) -> None:
    start = date(2025, 3, 1)
    ok = report(tiktok, end_date=(start + timedelta(days=30)).isoformat())
    assert ok["code"] == 0


def test_a_range_without_delivery_is_an_empty_page(tiktok: TikTokAdsApp) -> None:
    data = report(tiktok, start_date="2024-01-01", end_date="2024-01-30")["data"]
    assert data["list"] == []
    assert data["page_info"] == {"page": 1, "page_size": 1000, "total_number": 0, "total_page": 0}


def test_unknown_tiktok_paths_are_404(tiktok: TikTokAdsApp) -> None:
    response = tiktok.handle(
        Request("GET", "/open_api/v1.2/report/integrated/get/", {}, Headers(), "http://x")
    )
    assert response.status == 404
