"""Fairing connector contract: `FairingSource` against the Fairing emulator over HTTP.

Paging newest first through `next`, `inserted_at` windows, the lookback re-read, the email
hashed exactly as Shopify's, deleted orders, throttling and 5xx retried, a rejected token and
schema drift; every extraction is compared with what the simulated business serves.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pyarrow as pa
import pytest
from pydantic import SecretStr

from martlake.config import FairingSettings
from martlake.errors import AuthError, SourceContractError
from martlake.privacy import Hasher
from martlake.sandbox import SANDBOX_FAIRING_TOKEN, Business, EmulatorServer, SimulatorConfig
from martlake.sources import FairingSource, ShopifySource
from tests.contract.support import Recorder, collect, sandbox_settings

CONFIG = SimulatorConfig(
    seed=5, start_date=date(2025, 3, 1), end_date=date(2025, 4, 15), orders_per_day=30,
    survey_rate=0.25,
)  # fmt: skip
PATH = "/api/responses"
LINEAGE = ["_source", "_extract_run_id", "_ingested_at"]
TIMES = ("inserted_at", "updated_at", "response_provided_at")


@pytest.fixture(scope="module")
def business() -> Business:
    return Business(CONFIG)


@pytest.fixture(scope="module")
def baseline(business: Business) -> pa.Table:
    with EmulatorServer(business) as srv:
        return extract(fairing(srv))


def fairing(
    server: EmulatorServer,
    token: str = SANDBOX_FAIRING_TOKEN,
    transport: httpx.BaseTransport | None = None,
    attempts: int = 3,
    **kw: Any,
) -> FairingSource:
    kw.setdefault("start_date", CONFIG.start_date)
    settings = FairingSettings(api_token=SecretStr(token), base_url=server.fairing_base_url, **kw)
    return FairingSource(settings, backoff=0.0, max_attempts=attempts, transport=transport)


def extract(source: FairingSource, **ctx: Any) -> pa.Table:
    return collect(source, **ctx)["responses"]


def rows(table: pa.Table) -> list[dict[str, Any]]:
    return sorted(table.drop_columns(LINEAGE).to_pylist(), key=lambda r: r["id"])


def expected(business: Business) -> list[dict[str, Any]]:
    """What the raw table must hold for the served records: typed, the email hashed."""
    out = []
    for record in business.fairing_responses:
        row = dict(record)
        row["email_hash"] = Hasher().email(row.pop("email"))
        row["order_total"] = Decimal(row["order_total"])
        for name in TIMES:
            row[name] = datetime.fromisoformat(row[name])
        out.append(row)
    return sorted(out, key=lambda r: r["id"])


def pages(server: EmulatorServer) -> list[dict[str, str]]:
    return [q for _, path, q in server.request_log if path.endswith(PATH)]


def test_an_extraction_loads_exactly_the_responses_of_the_business(
    server: EmulatorServer, business: Business
) -> None:
    recorder = Recorder()
    table = extract(fairing(server, transport=recorder))
    assert table.num_rows == len(business.fairing_responses) > 200
    assert rows(table) == [
        {name: row[name] for name in table.schema.names if name not in LINEAGE}
        for row in expected(business)
    ]
    answers = {
        int(r["order_id"]): "Other" if r["other"] else r["response"]
        for r in table.to_pylist()
        if r["question_id"] == 1001
    }
    assert answers == business.truth.survey_answers()
    for request in recorder.requests:
        assert request.headers["Authorization"] == SANDBOX_FAIRING_TOKEN
        assert request.url.params["limit"] == "100"
    sent = pages(server)
    # Each window's pages follow the `after` cursor of the previous page's last response.
    assert sent[0].keys() == {"since", "until", "limit"}
    assert sent[0]["since"] == "2025-03-01T00:00:00Z"
    assert sum("after" in q for q in sent) == len(sent) - len({q["since"] for q in sent})


def test_the_email_never_lands_and_its_hash_is_shopifys(
    server: EmulatorServer, baseline: pa.Table
) -> None:
    assert "email" not in baseline.schema.names
    for column in baseline.columns:
        if pa.types.is_string(column.type):
            assert not any("@" in v for v in column.to_pylist() if v), column
    shopify = ShopifySource(sandbox_settings("shopify", server, CONFIG), backoff=0.0)
    orders = collect(shopify, end_date=CONFIG.end_date)["orders"]
    shop_hash = dict(
        zip(orders.column("id").to_pylist(), orders.column("email_hash").to_pylist(), strict=True)
    )
    pairs = [(int(r["order_id"]), r["email_hash"]) for r in baseline.to_pylist()]
    assert all(email_hash == shop_hash[order_id] for order_id, email_hash in pairs)
    assert len({h for _, h in pairs}) > 100


def test_a_second_extraction_rereads_the_lookback_window(
    server: EmulatorServer, baseline: pa.Table
) -> None:
    newest = max(baseline.column("inserted_at").to_pylist())
    again = extract(fairing(server, start_date=None), watermarks={"shopify": newest}, run_id="2")
    since = newest - timedelta(days=7)
    assert pages(server)[0]["since"] == since.isoformat().replace("+00:00", "Z")
    reread = [r for r in rows(baseline) if r["inserted_at"] >= since]
    assert 0 < len(reread) < baseline.num_rows
    assert rows(again) == reread


def test_a_rerun_reads_identical_rows(server: EmulatorServer) -> None:
    first = extract(fairing(server), run_id="a")
    second = extract(fairing(server), run_id="a")
    assert first.drop_columns(["_ingested_at"]).equals(second.drop_columns(["_ingested_at"]))


def test_an_end_date_stops_at_the_end_of_that_utc_day(server: EmulatorServer) -> None:
    table = extract(fairing(server), end_date=date(2025, 3, 10))
    times = table.column("inserted_at").to_pylist()
    assert max(times) < datetime(2025, 3, 11, tzinfo=UTC) <= max(times) + timedelta(hours=12)


def test_deleted_orders_keep_their_responses() -> None:
    business = Business(CONFIG)
    with EmulatorServer(business) as srv:
        order_id = next(iter(business.truth.survey_answers()))
        srv.delete_order(order_id)
        table = extract(fairing(srv))
    assert str(order_id) in table.column("order_id").to_pylist()


@pytest.mark.parametrize("kind", ["rate_limit", "server_error"])
def test_throttling_and_5xx_bursts_are_retried_and_data_stays_exact(
    server: EmulatorServer, baseline: pa.Table, kind: str
) -> None:
    server.inject_fault("fairing", kind, times=3, retry_after=0.0)  # type: ignore[arg-type]
    source = fairing(server, attempts=5)
    assert rows(extract(source)) == rows(baseline)
    assert server.faults_served == 3 and source.http_stats[1] == 3


def test_a_timed_out_request_is_retried_and_the_data_stays_exact(
    business: Business, baseline: pa.Table
) -> None:
    with EmulatorServer(business, timeout_hold=30.0) as srv:
        srv.inject_fault("fairing", "timeout")
        source = fairing(srv, timeout_seconds=1.0)
        started = time.perf_counter()
        table = extract(source)
        assert time.perf_counter() - started < 15  # gave up at its own timeout, not the 504
    assert rows(table) == rows(baseline)
    assert srv.faults_by_kind["timeout"] == 1 and source.http_stats[1] >= 1


def test_a_rejected_token_is_one_line_naming_the_setting_and_never_retried(
    server: EmulatorServer,
) -> None:
    with pytest.raises(AuthError, match=r"401: Unauthorized.*sources\.fairing\.api_token") as e:
        extract(fairing(server, token="stale-token-xyz"))
    assert "\n" not in str(e.value) and "stale-token-xyz" not in str(e.value)
    assert len(server.request_log) == 1


def test_a_new_field_loads_as_before_with_one_warning(
    server: EmulatorServer, baseline: pa.Table, caplog: pytest.LogCaptureFixture
) -> None:
    server.set_drift(["new_field"])
    with caplog.at_level(logging.WARNING, logger="martlake.sources.fairing.source"):
        table = extract(fairing(server))
    assert rows(table) == rows(baseline)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "`survey_version`" in warnings[0]


def test_a_renamed_inserted_at_is_a_one_line_contract_error_naming_both(
    server: EmulatorServer,
) -> None:
    server.set_drift(["renamed_field"])
    with pytest.raises(SourceContractError) as info:
        extract(fairing(server))
    message = str(info.value)
    assert "\n" not in message and message.startswith("fairing: response `")
    assert "`inserted_at`" in message and "`created_at`" in message


def test_numbers_as_strings_load_the_same_values(
    server: EmulatorServer, baseline: pa.Table
) -> None:
    server.set_drift(["numbers_as_strings", "dash_values"])
    assert rows(extract(fairing(server))) == rows(baseline)


def test_a_business_without_surveys_serves_no_responses() -> None:
    quiet = Business(SimulatorConfig(start_date=date(2025, 3, 1), end_date=date(2025, 3, 3)))
    with EmulatorServer(quiet) as srv:
        assert collect(fairing(srv)) == {}
