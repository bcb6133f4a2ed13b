"""The Google Ads and TikTok emulators over real loopback HTTP, read the way a client reads them."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

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

CONFIG = SimulatorConfig(start_date=date(2025, 1, 1), end_date=date(2025, 2, 14), orders_per_day=50)
CUSTOMER = "1234567890"
ADVERTISER = "7000000000000000001"
CAMPAIGN_QUERY = (
    "SELECT customer.id, campaign.id, campaign.name, campaign.status, "
    "campaign.advertising_channel_type, segments.date, metrics.cost_micros, "
    "metrics.impressions, metrics.clicks, metrics.conversions, metrics.conversions_value "
    "FROM campaign WHERE segments.date BETWEEN '{since}' AND '{until}'"
)
TIKTOK_METRICS = [
    "spend", "impressions", "clicks", "conversion", "campaign_id", "campaign_name",
    "adgroup_id", "adgroup_name", "ad_name", "total_complete_payment_rate",
]  # fmt: skip


@pytest.fixture(scope="module")
def business() -> Business:
    return Business(CONFIG)


@pytest.fixture(scope="module")
def server(business: Business) -> Iterator[EmulatorServer]:
    with EmulatorServer(business) as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as http:
        yield http


def access_token(client: httpx.Client, server: EmulatorServer) -> str:
    response = client.post(
        f"{server.google_base_url}/token",
        data={
            "grant_type": "refresh_token",
            "client_id": SANDBOX_GOOGLE_CLIENT_ID,
            "client_secret": SANDBOX_GOOGLE_CLIENT_SECRET,
            "refresh_token": SANDBOX_GOOGLE_REFRESH_TOKEN,
        },
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def search_stream(
    client: httpx.Client, server: EmulatorServer, token: str, query: str
) -> httpx.Response:
    return client.post(
        f"{server.google_base_url}/v18/customers/{CUSTOMER}/googleAds:searchStream",
        json={"query": query},
        headers={
            "Authorization": f"Bearer {token}",
            "developer-token": SANDBOX_GOOGLE_DEVELOPER_TOKEN,
        },
    )


def tiktok_report(
    client: httpx.Client, server: EmulatorServer, since: date, until: date, page: int
) -> dict[str, Any]:
    response = client.get(
        f"{server.tiktok_base_url}/open_api/v1.3/report/integrated/get/",
        params={
            "advertiser_id": ADVERTISER,
            "report_type": "BASIC",
            "data_level": "AUCTION_AD",
            "dimensions": json.dumps(["ad_id", "stat_time_day"]),
            "metrics": json.dumps(TIKTOK_METRICS),
            "start_date": since.isoformat(),
            "end_date": until.isoformat(),
            "page": page,
            "page_size": 100,
        },
        headers={"Access-Token": SANDBOX_TIKTOK_TOKEN},
    )
    assert response.status_code == 200
    payload: dict[str, Any] = response.json()
    return payload


def test_google_token_then_search_stream_reproduces_the_truth(
    client: httpx.Client, server: EmulatorServer, business: Business
) -> None:
    token = access_token(client, server)
    response = search_stream(
        client, server, token, CAMPAIGN_QUERY.format(since="2025-01-01", until="2025-02-14")
    )
    assert response.status_code == 200
    batches = response.json()
    assert isinstance(batches, list) and all(b["requestId"] for b in batches)
    rows = [row for batch in batches for row in batch.get("results", [])]
    assert len(rows) == business.truth.row_counts()["google_campaign_stats"]
    micros: defaultdict[tuple[date, str], int] = defaultdict(int)
    for row in rows:
        assert row["customer"]["id"] == CUSTOMER
        key = (date.fromisoformat(row["segments"]["date"]), row["campaign"]["id"])
        micros[key] += int(row["metrics"]["costMicros"])
    assert dict(micros) == business.truth.google_cost_micros_per_campaign_day()
    customer = search_stream(
        client,
        server,
        token,
        "SELECT customer.id, customer.descriptive_name, customer.currency_code, "
        "customer.time_zone FROM customer",
    ).json()
    assert customer[0]["results"][0]["customer"]["timeZone"] == "America/New_York"


def test_google_rejects_a_bearer_it_did_not_issue(
    client: httpx.Client, server: EmulatorServer
) -> None:
    response = search_stream(
        client, server, "ya29.not-from-the-sandbox", "SELECT customer.id FROM customer"
    )
    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"


def test_tiktok_windows_and_pages_reproduce_the_truth(
    client: httpx.Client, server: EmulatorServer, business: Business
) -> None:
    rows: list[dict[str, Any]] = []
    since = CONFIG.start_date
    while since <= CONFIG.end_date:
        until = min(since + timedelta(days=29), CONFIG.end_date)
        page, total_page = 1, 1
        while page <= total_page:
            payload = tiktok_report(client, server, since, until, page)
            assert payload["code"] == 0, payload
            rows.extend(payload["data"]["list"])
            total_page = payload["data"]["page_info"]["total_page"]
            page += 1
        since = until + timedelta(days=1)
    assert len(rows) == business.truth.row_counts()["tiktok_ad_stats"]
    assert len({(r["dimensions"]["ad_id"], r["dimensions"]["stat_time_day"]) for r in rows}) == len(
        rows
    )
    spend: defaultdict[date, Decimal] = defaultdict(Decimal)
    for row in rows:
        spend[date.fromisoformat(row["dimensions"]["stat_time_day"][:10])] += Decimal(
            row["metrics"]["spend"]
        )
    truth = business.truth.spend_per_day("tiktok")
    assert {d: v for d, v in truth.items() if v} == dict(spend)
    info = client.get(
        f"{server.tiktok_base_url}/open_api/v1.3/advertiser/info/",
        params={"advertiser_ids": json.dumps([ADVERTISER])},
        headers={"Access-Token": SANDBOX_TIKTOK_TOKEN},
    ).json()
    assert info["code"] == 0 and info["data"]["list"][0]["currency"] == "USD"


def test_tiktok_bad_token_is_code_40105_in_http_200(
    client: httpx.Client, server: EmulatorServer
) -> None:
    response = client.get(
        f"{server.tiktok_base_url}/open_api/v1.3/advertiser/info/",
        params={"advertiser_ids": json.dumps([ADVERTISER])},
        headers={"Access-Token": "expired"},
    )
    assert response.status_code == 200 and response.json()["code"] == 40105


def test_faults_for_google_and_tiktok(client: httpx.Client, business: Business) -> None:
    with EmulatorServer(business) as fresh:
        token = access_token(client, fresh)
        fresh.inject_fault("google", "rate_limit", retry_after=2)
        fresh.inject_fault("google", "server_error")
        throttled = search_stream(client, fresh, token, "SELECT customer.id FROM customer")
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2.0"
        error = throttled.json()["error"]
        assert error["status"] == "RESOURCE_EXHAUSTED"
        assert error["details"][0]["errors"][0]["errorCode"] == {"quotaError": "RESOURCE_EXHAUSTED"}
        broken = search_stream(client, fresh, token, "SELECT customer.id FROM customer")
        assert broken.status_code == 500 and broken.json()["error"]["status"] == "INTERNAL"
        assert (
            search_stream(client, fresh, token, "SELECT customer.id FROM customer").status_code
            == 200
        )

        fresh.inject_fault("tiktok", "rate_limit", path_contains="report")
        fresh.inject_fault("tiktok", "server_error", path_contains="report")
        day = date(2025, 1, 2)
        limited = tiktok_report(client, fresh, day, day, 1)
        assert limited["code"] == 40100 and limited["data"] == {}
        failed = client.get(f"{fresh.tiktok_base_url}/open_api/v1.3/report/integrated/get/")
        assert failed.status_code == 500 and failed.json()["code"] == 50000
        assert tiktok_report(client, fresh, day, day, 1)["code"] == 0


def test_unknown_prefix_names_every_emulator(client: httpx.Client, server: EmulatorServer) -> None:
    response = client.get(f"{server.base_url}/bing/v13/reports")
    assert response.status_code == 404
    assert "/google" in response.json()["error"] and "/tiktok" in response.json()["error"]
