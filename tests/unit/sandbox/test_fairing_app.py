"""The Fairing emulator app called directly, without sockets."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from martlake.sandbox import SANDBOX_FAIRING_TOKEN, Business, SimulatorConfig
from martlake.sandbox.emulators import FairingApp
from martlake.sandbox.emulators._http import Headers, Request, Response

BASE = "http://127.0.0.1:8765/fairing"
PATH = "/api/responses"
CONFIG = SimulatorConfig(
    seed=3, start_date=date(2025, 3, 1), end_date=date(2025, 3, 20), orders_per_day=30,
    survey_rate=0.3,
)  # fmt: skip


@pytest.fixture(scope="module")
def business() -> Business:
    return Business(CONFIG)


@pytest.fixture
def app(business: Business) -> FairingApp:
    return FairingApp(business)


def get(
    app: FairingApp,
    query: dict[str, str] | None = None,
    token: str | None = SANDBOX_FAIRING_TOKEN,
    path: str = PATH,
    method: str = "GET",
) -> Response:
    headers = Headers([("Authorization", token)] if token is not None else [])
    return app.handle(Request(method, path, dict(query or {}), headers, BASE))


def body(response: Response) -> Any:
    return json.loads(response.body)


def follow(app: FairingApp, url: str) -> Response:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{BASE}{PATH}"
    return get(app, dict(parse_qsl(parts.query)))


def key(record: dict[str, Any]) -> tuple[datetime, str]:
    return datetime.fromisoformat(record["inserted_at"]), record["id"]


def test_pages_come_newest_first_until_next_is_null(app: FairingApp, business: Business) -> None:
    served = business.fairing_responses
    assert len(served) > 50
    pages = [body(get(app, {"limit": "17"}))]
    while pages[-1]["next"] is not None:
        assert urlsplit(pages[-1]["next"]).query.endswith(f"after={pages[-1]['data'][-1]['id']}")
        pages.append(body(follow(app, pages[-1]["next"])))
    records = [r for page in pages for r in page["data"]]
    assert [r["id"] for r in records] == [r["id"] for r in served]
    assert [key(r) for r in records] == sorted((key(r) for r in records), reverse=True)
    assert all(len(p["data"]) == 17 for p in pages[:-1]) and 1 <= len(pages[-1]["data"]) <= 17
    assert pages[0]["prev"] is None


def test_prev_returns_the_page_before(app: FairingApp) -> None:
    first = body(get(app, {"limit": "10"}))
    second = body(follow(app, first["next"]))
    assert urlsplit(second["prev"]).query.endswith(f"before={second['data'][0]['id']}")
    assert body(follow(app, second["prev"]))["data"] == first["data"]


def test_since_is_inclusive_and_until_exclusive_on_inserted_at(
    app: FairingApp, business: Business
) -> None:
    served = business.fairing_responses
    newest, oldest = served[10]["inserted_at"], served[40]["inserted_at"]
    page = body(get(app, {"since": oldest, "until": newest}))
    assert [r["id"] for r in page["data"]] == [r["id"] for r in served[11:41]]
    assert page["next"] is None
    day = body(get(app, {"since": "2025-03-05T00:00:00Z", "until": "2025-03-06T00:00:00+00:00"}))
    assert day["data"] and all(r["inserted_at"].startswith("2025-03-05") for r in day["data"])


def test_the_limit_defaults_to_100_and_more_is_a_400(app: FairingApp) -> None:
    assert len(body(get(app))["data"]) == 100
    for limit in ("101", "0", "ten"):
        response = get(app, {"limit": limit})
        assert response.status == 400 and "limit" in body(response)["error"]


@pytest.mark.parametrize("token", [None, "", "wrong-token", f"Bearer {SANDBOX_FAIRING_TOKEN}"])
def test_a_missing_or_wrong_token_is_a_401(app: FairingApp, token: str | None) -> None:
    response = get(app, token=token)
    assert (response.status, body(response)) == (401, {"error": "Unauthorized"})


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({"after": "nope"}, id="unknown-cursor"),
        pytest.param({"after": "810000000001", "before": "810000000002"}, id="both-cursors"),
        pytest.param({"since": "last week"}, id="bad-since"),
    ],
)
def test_bad_parameters_are_a_400_with_an_error(app: FairingApp, query: dict[str, str]) -> None:
    response = get(app, query)
    assert response.status == 400 and body(response)["error"]


def test_other_paths_and_methods_are_refused(app: FairingApp) -> None:
    assert get(app, path="/api/questions").status == 404
    assert get(app, method="POST").status == 405


def test_records_have_every_documented_field(app: FairingApp) -> None:
    record = body(get(app, {"limit": "1"}))["data"][0]
    assert list(record) == [
        "id", "question_id", "question", "question_type", "clarification_question",
        "referring_question_id", "referring_question_response", "response_id", "response",
        "other", "other_response", "order_id", "order_number", "order_platform", "customer_id",
        "email", "customer_order_count", "order_total", "order_currency_code",
        "landing_page_path", "referring_site", "utm_source", "utm_medium", "utm_campaign",
        "utm_content", "utm_term", "inserted_at", "updated_at", "response_provided_at",
    ]  # fmt: skip
    assert record["order_platform"] == "shopify" and record["order_currency_code"] == "USD"
    assert record["inserted_at"].endswith("Z") and len(record["inserted_at"]) == 27


def test_drift_renames_and_retypes_fields(app: FairingApp) -> None:
    plain = body(get(app, {"limit": "1"}))["data"][0]
    app.drift = frozenset({"renamed_field", "numbers_as_strings", "new_field"})
    drifted = body(get(app, {"limit": "1"}))["data"][0]
    assert "inserted_at" not in drifted and drifted["created_at"] == plain["inserted_at"]
    assert drifted["question_id"] == str(plain["question_id"])
    assert drifted["order_total"] == float(plain["order_total"])
    assert drifted["survey_version"] == 2
