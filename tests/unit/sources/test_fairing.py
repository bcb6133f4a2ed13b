"""The Fairing connector against a scripted API: requests, paging, typed rows, errors."""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pyarrow as pa
import pytest
from pydantic import SecretStr

from martlake.config import FairingSettings
from martlake.errors import AuthError, SourceContractError, SourceError
from martlake.privacy import Hasher
from martlake.sources import SOURCES, ExtractContext, FairingSource, build_source
from martlake.sources.catalog import CATALOG
from martlake.sources.fairing._schema import RESPONSES
from tests.conftest import FIXTURES
from tests.unit.sources.conftest import Call, Reply, RoutedServer

TOKEN = "fairing-token"
PATH = "/api/responses"
PAGE: dict[str, Any] = json.loads((FIXTURES / "fairing" / "responses_page.json").read_text())
RECORDS: list[dict[str, Any]] = PAGE["data"]


def source(api: RoutedServer, token: str = TOKEN, **kw: Any) -> FairingSource:
    kw.setdefault("start_date", date(2025, 3, 1))
    cfg = FairingSettings(api_token=SecretStr(token), base_url=api.url, **kw)
    return FairingSource(cfg, backoff=0.0, max_attempts=3)


def collect(src: FairingSource, ctx: ExtractContext | None = None) -> pa.Table:
    ctx = ctx or ExtractContext("run-1", end_date=date(2025, 3, 2))
    return pa.concat_tables([b.data for b in src.extract(ctx) if b.table == "responses"])


def paged(api: RoutedServer, records: list[dict[str, Any]], size: int = 1) -> Any:
    """A route serving `records` `size` at a time, following the `after` cursor."""

    def route(call: Call) -> Reply:
        if call.headers.get("authorization") != TOKEN:
            return 401, {"error": "Unauthorized"}
        ids = [r["id"] for r in records]
        start = ids.index(call.query["after"]) + 1 if "after" in call.query else 0
        page = records[start : start + size]
        more = start + size < len(records)
        query = {k: v for k, v in call.query.items() if k != "after"}
        following = f"{api.url}{PATH}?{urlencode({**query, 'after': page[-1]['id']})}"
        return 200, {"data": page, "next": following if more else None, "prev": None}

    return route


def empty(call: Call) -> Reply:
    return 200, {"data": [], "next": None, "prev": None}


def one_record(change: dict[str, Any], drop: str | None = None) -> Any:
    record = {**copy.deepcopy(RECORDS[1]), **change}
    if drop is not None:
        record.pop(drop)
    return lambda call: (200, {"data": [record], "next": None, "prev": None})


def test_is_registered_and_available() -> None:
    assert SOURCES["fairing"] is FairingSource
    assert {info.name: info.available for info in CATALOG}["fairing"] is True


def test_follows_next_until_null_with_the_token_in_the_authorization_header(
    api: RoutedServer,
) -> None:
    api.route = paged(api, RECORDS, size=1)
    table = collect(source(api))
    assert [c.path for c in api.calls] == [PATH] * 3
    first = api.calls[0].query
    assert first == {
        "since": "2025-03-01T00:00:00Z",
        "until": "2025-03-03T00:00:00Z",
        "limit": "100",
    }
    assert [c.query.get("after") for c in api.calls] == [None, "r-0003", "r-0002"]
    assert all(c.query["since"] == first["since"] for c in api.calls)
    assert all(c.headers["authorization"] == TOKEN for c in api.calls)
    assert table.column("id").to_pylist() == ["r-0003", "r-0002", "r-0001"]


def test_rows_are_typed_with_the_email_hashed_like_shopify(api: RoutedServer) -> None:
    api.route = paged(api, RECORDS, size=3)
    table = collect(source(api))
    assert table.schema.names == [*RESPONSES.names, "_source", "_extract_run_id", "_ingested_at"]
    assert "email" not in table.schema.names
    clarification, podcast, other = table.to_pylist()
    assert podcast["email_hash"] == Hasher().email("jane.doe@example.com")
    assert other["email_hash"] == Hasher().email("guest@example.org")
    assert podcast["order_total"] == Decimal("81.00")  # "81.005", half-even to the cent
    assert other["order_total"] == Decimal("64.50")  # a JSON number
    assert podcast["inserted_at"] == datetime(2025, 3, 1, 14, 3, 22, 123456, tzinfo=UTC)
    assert podcast["updated_at"] == datetime(2025, 3, 2, 9, tzinfo=UTC)
    assert other["inserted_at"] == datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert (podcast["question_id"], podcast["response_id"], podcast["response"]) == (
        1001,
        7009,
        "Podcast",
    )
    assert clarification["clarification_question"] is True
    assert clarification["referring_question_id"] == 1001
    assert clarification["referring_question_response"] == "Podcast"
    assert (other["other"], other["response"], other["response_id"]) == (True, None, None)
    assert other["other_response"] == "A coworker recommended it"
    assert (other["customer_id"], other["customer_order_count"]) == (None, 1)
    assert (other["utm_source"], other["utm_term"]) == ("google", "trail pack")
    assert (podcast["order_id"], podcast["order_number"]) == ("5000000042", "1042")
    assert podcast["_source"] == "fairing" and podcast["_extract_run_id"] == "run-1"


def test_windows_of_30_days_cover_the_start_to_the_end_date(api: RoutedServer) -> None:
    api.route = empty
    src = source(api, start_date=date(2025, 1, 1))
    assert list(src.extract(ExtractContext("r", end_date=date(2025, 3, 5)))) == []
    assert [(c.query["since"], c.query["until"]) for c in api.calls] == [
        ("2025-01-01T00:00:00Z", "2025-01-31T00:00:00Z"),
        ("2025-01-31T00:00:00Z", "2025-03-02T00:00:00Z"),
        ("2025-03-02T00:00:00Z", "2025-03-06T00:00:00Z"),
    ]


@pytest.mark.parametrize(
    ("ctx", "since"),
    [
        pytest.param({}, "2025-03-01T00:00:00Z", id="first-run-from-start-date"),
        pytest.param(
            {"watermarks": {"shopify": datetime(2025, 4, 20, 10, 30, tzinfo=UTC)}},
            "2025-04-13T10:30:00Z",
            id="watermark-minus-lookback",
        ),
        pytest.param(
            {"watermarks": {"shopify": "2025-04-20 10:30:00+00:00"}, "full_refresh": True},
            "2025-03-01T00:00:00Z",
            id="full-refresh-ignores-watermark",
        ),
        pytest.param(
            {
                "watermarks": {"shopify": datetime(2025, 4, 20, tzinfo=UTC)},
                "start_date": date(2025, 2, 1),
            },
            "2025-02-01T00:00:00Z",
            id="backfill-start-wins",
        ),
    ],
)
def test_first_day_read(api: RoutedServer, ctx: dict[str, Any], since: str) -> None:
    api.route = empty
    list(source(api).extract(ExtractContext("r", end_date=date(2025, 4, 22), **ctx)))
    assert api.calls[0].query["since"] == since


def test_without_start_date_the_first_run_reads_37_months(api: RoutedServer) -> None:
    api.route = empty
    list(source(api, start_date=None).extract(ExtractContext("r", end_date=date(2025, 4, 22))))
    assert api.calls[0].query["since"] == "2022-04-09T00:00:00Z"  # 37 × 30 days before 04-23


def test_a_body_without_data_is_a_contract_error(api: RoutedServer) -> None:
    api.route = lambda call: (200, {"responses": [], "next": None})
    with pytest.raises(SourceContractError, match=r"without a `data` list") as info:
        collect(source(api))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("field", ["id", "order_id", "inserted_at"])
def test_a_record_without_a_required_field_is_a_contract_error_naming_it(
    api: RoutedServer, field: str
) -> None:
    api.route = one_record({}, drop=field)
    with pytest.raises(SourceContractError, match=f"required field `{field}`") as info:
        collect(source(api))
    assert str(info.value).startswith("fairing: ")


def test_a_renamed_required_field_names_what_came_instead(api: RoutedServer) -> None:
    api.route = one_record({"created_at": RECORDS[1]["inserted_at"]}, drop="inserted_at")
    with pytest.raises(SourceContractError, match=r"`inserted_at`.*seen: `created_at`"):
        collect(source(api))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"order_total": "N/A"}, "order_total", id="order-total-text"),
        pytest.param({"order_total": "NaN"}, "order_total", id="order-total-nan"),
        pytest.param({"order_total": {"amount": "1.00"}}, "order_total", id="order-total-object"),
        pytest.param({"question_id": "q1"}, "question_id", id="question-id-text"),
        pytest.param({"other": "maybe"}, "other", id="other-not-bool"),
        pytest.param({"inserted_at": "yesterday"}, "inserted_at", id="timestamp-text"),
    ],
)
def test_a_mistyped_value_is_a_contract_error_naming_the_field(
    api: RoutedServer, change: dict[str, Any], field: str
) -> None:
    api.route = one_record(change)
    with pytest.raises(SourceContractError, match=f"`{field}`") as info:
        collect(source(api))
    assert "\n" not in str(info.value)


def test_a_mistyped_email_is_never_shown(api: RoutedServer) -> None:
    api.route = one_record({"email": ["jane.doe@example.com"]})
    with pytest.raises(SourceContractError, match="`email`") as info:
        collect(source(api))
    assert "@" not in str(info.value)


def test_numbers_sent_as_strings_load_the_same(api: RoutedServer) -> None:
    api.route = one_record({"question_id": "1001", "response_id": "7009", "other": "false"})
    row = collect(source(api)).to_pylist()[0]
    assert (row["question_id"], row["response_id"], row["other"]) == (1001, 7009, False)


def test_a_rejected_token_is_an_auth_error_naming_the_setting_and_not_retried(
    api: RoutedServer,
) -> None:
    api.route = paged(api, RECORDS)
    with pytest.raises(AuthError) as info:
        collect(source(api, token="stale-token-xyz"))
    message = str(info.value)
    assert message.startswith("fairing: the API token was rejected (401: Unauthorized)")
    assert "`sources.fairing.api_token`" in message and ".martlake/secrets.toml" in message
    assert "MARTLAKE__SOURCES__FAIRING__API_TOKEN" in message
    assert "stale-token-xyz" not in message and "\n" not in message
    assert len(api.calls) == 1


def test_a_refused_parameter_is_a_contract_error_with_the_api_message(api: RoutedServer) -> None:
    api.route = lambda call: (400, {"error": "`limit` must be between 1 and 100"})
    with pytest.raises(SourceContractError, match=r"400: `limit` must be between 1 and 100"):
        collect(source(api))
    assert len(api.calls) == 1


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_retried(api: RoutedServer, status: int) -> None:
    serve = paged(api, RECORDS, size=3)

    def flaky(call: Call) -> Reply:
        return (status, {"error": "busy"}) if len(api.calls) == 1 else serve(call)

    api.route = flaky
    src = source(api)
    assert collect(src).num_rows == 3
    assert src.http_stats == (2, 1)


def test_next_pointing_to_another_host_is_refused_without_sending_the_token(
    api: RoutedServer,
) -> None:
    elsewhere = "http://collector.example.net/api/responses?after=r-0003"
    api.route = lambda call: (200, {"data": RECORDS[:1], "next": elsewhere, "prev": None})
    with pytest.raises(SourceContractError, match=r"`next` is `http://collector\.example\.net"):
        collect(source(api))
    assert len(api.calls) == 1


def test_a_next_url_that_repeats_is_a_contract_error_not_a_loop(api: RoutedServer) -> None:
    again = f"{api.url}{PATH}?after=r-0003"
    api.route = lambda call: (200, {"data": RECORDS[:1], "next": again, "prev": None})
    with pytest.raises(SourceContractError, match="`next` repeats"):
        collect(source(api))
    assert len(api.calls) == 2


def test_unknown_fields_load_as_before_with_one_warning(
    api: RoutedServer, caplog: pytest.LogCaptureFixture
) -> None:
    records = [{**r, "survey_version": 2} for r in RECORDS]
    api.route = paged(api, records, size=1)
    with caplog.at_level(logging.WARNING, logger="martlake.sources.fairing.source"):
        table = collect(source(api))
    assert table.num_rows == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "`survey_version`" in warnings[0]


def test_check_asks_for_one_response(api: RoutedServer) -> None:
    api.route = paged(api, RECORDS)
    source(api).check()
    assert api.calls[0].query == {"limit": "1"}
    with pytest.raises(AuthError):
        source(api, token="wrong").check()


def test_contact_details_typed_into_an_other_answer_never_land(api: RoutedServer) -> None:
    typed = "my friend jane.doe@example.com told me, call her on +44 7911 123456"
    api.route = one_record({"other": True, "response": None, "other_response": typed})
    (row,) = collect(source(api)).to_pylist()
    assert row["other_response"] == "my friend [email removed] told me, call her on [phone removed]"


@pytest.mark.parametrize(("attempts", "fails"), [(1, True), (2, False)])
def test_max_attempts_of_the_section_bounds_the_retries(
    api: RoutedServer, attempts: int, fails: bool
) -> None:
    serve = paged(api, RECORDS, size=3)
    api.route = lambda call: (503, {"error": "busy"}) if len(api.calls) == 1 else serve(call)
    cfg = FairingSettings(
        api_token=SecretStr(TOKEN), base_url=api.url, start_date=date(2025, 3, 1),
        max_attempts=attempts,
    )  # fmt: skip
    src = build_source("fairing", cfg, backoff=0.0)
    if fails:
        with pytest.raises(SourceError, match="503"):
            collect(src)  # type: ignore[arg-type]
    else:
        assert collect(src).num_rows == 3  # type: ignore[arg-type]
    assert len(api.calls) == attempts
