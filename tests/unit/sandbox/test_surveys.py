"""Simulated Fairing survey responses: who answers what, when, and what they leave unchanged."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from martlake.errors import ConfigError
from martlake.sandbox import Business, SimulatorConfig
from martlake.sandbox._surveys import ANSWER_IDS, OTHER_TEXTS, PODCAST_IDS

CONFIG = SimulatorConfig(
    seed=11, start_date=date(2025, 1, 1), end_date=date(2025, 2, 28), orders_per_day=60,
    survey_rate=0.25,
)  # fmt: skip
ANSWERS_BY_CHANNEL = {
    "meta": {"Instagram", "Facebook"},
    "google": {"Google", "YouTube"},
    "tiktok": {"TikTok"},
    "email": {"Email"},
    "referral": {"Blog or article"},
    "other": {"Pinterest"},
    "direct": {"Podcast", "Friend or family", "TikTok", "Instagram"},
}


@pytest.fixture(scope="module")
def business() -> Business:
    return Business(CONFIG)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_without_a_survey_rate_nobody_answers() -> None:
    quiet = Business(replace(CONFIG, survey_rate=0.0))
    assert quiet.fairing_responses == [] and quiet.truth.survey_answers() == {}


def test_surveys_change_nothing_else_the_sandbox_serves(business: Business) -> None:
    quiet = Business(replace(CONFIG, survey_rate=0.0))
    assert business.orders == quiet.orders
    assert business.meta_insights == quiet.meta_insights
    assert business.google_campaign_stats == quiet.google_campaign_stats
    assert business.tiktok_ad_stats == quiet.tiktok_ad_stats


def test_about_the_survey_rate_of_orders_get_an_answer(business: Business) -> None:
    share = len(business.truth.survey_answers()) / len(business.orders)
    assert 0.22 < share < 0.28


def test_answers_follow_the_true_channel(business: Business) -> None:
    channels = business.truth.order_channels()
    answers = business.truth.survey_answers()
    other = Counter(answer == "Other" for answer in answers.values())
    assert 0.02 < other[True] / len(answers) < 0.09
    for order_id, answer in answers.items():
        if answer != "Other":
            assert answer in ANSWERS_BY_CHANNEL[channels[order_id][0]], (order_id, answer)
    meta = Counter(a for o, a in answers.items() if channels[o][0] == "meta" and a != "Other")
    assert 0.5 < meta["Instagram"] / (meta["Instagram"] + meta["Facebook"]) < 0.7


def test_records_follow_the_answer(business: Business) -> None:
    by_order: dict[str, list[dict[str, object]]] = {}
    for record in business.fairing_responses:
        by_order.setdefault(str(record["order_id"]), []).append(record)
    clarified = 0
    for records in by_order.values():
        main = [r for r in records if r["question_id"] == 1001]
        assert len(main) == 1
        (first,) = main
        assert first["question"] == "How did you hear about us?"
        assert first["question_type"] == "single_response"
        assert first["clarification_question"] is False
        if first["other"]:
            assert first["response"] is None and first["response_id"] is None
            assert first["other_response"] in OTHER_TEXTS
        else:
            assert first["response_id"] == ANSWER_IDS[str(first["response"])]
        follow_ups = [r for r in records if r["question_id"] == 1002]
        assert len(follow_ups) == (first["response"] == "Podcast")
        for follow_up in follow_ups:
            clarified += 1
            assert follow_up["clarification_question"] is True
            assert follow_up["referring_question_id"] == 1001
            assert follow_up["referring_question_response"] == "Podcast"
            assert follow_up["response_id"] == PODCAST_IDS[str(follow_up["response"])]
            assert at(str(follow_up["inserted_at"])) > at(str(first["inserted_at"]))
    assert clarified > 10
    ids = [r["id"] for r in business.fairing_responses]
    assert len(ids) == len(set(ids))


def test_responses_copy_their_order_and_arrive_after_it(business: Business) -> None:
    orders = {str(o["id"]): o for o in business.orders}
    late = 0
    for record in business.fairing_responses:
        order = orders[str(record["order_id"])]
        delay = at(str(record["inserted_at"])) - at(order["created_at"])
        assert timedelta(minutes=1) <= delay <= timedelta(days=3, seconds=31)
        late += delay > timedelta(minutes=91)
        assert record["updated_at"] == record["response_provided_at"] == record["inserted_at"]
        assert record["order_number"] == str(order["order_number"])
        assert record["order_total"] == order["total_price"]
        assert record["email"] == order["email"]
        customer = order["customer"]
        assert record["customer_id"] == (str(customer["id"]) if customer else None)
        landing = order["landing_site"] or ""
        assert record["landing_page_path"] == (landing.partition("?")[0] or None)
        assert record["referring_site"] == order["referring_site"]
        if record["utm_source"] is not None:
            assert f"utm_source={record['utm_source']}" in landing
    assert 0 < late < len(business.fairing_responses) * 0.06


def test_customer_order_count_counts_the_customers_orders_so_far(business: Business) -> None:
    counts: Counter[int] = Counter()
    expected: dict[str, int] = {}
    for order in business.orders:
        if order["customer"] is not None:
            counts[order["customer"]["id"]] += 1
        expected[str(order["id"])] = counts[order["customer"]["id"]] if order["customer"] else 1
    for record in business.fairing_responses:
        assert record["customer_order_count"] == expected[str(record["order_id"])]
    assert max(r["customer_order_count"] for r in business.fairing_responses) > 1


def test_only_responses_inserted_by_as_of_exist() -> None:
    as_of = datetime(2025, 2, 10, 15, tzinfo=UTC)
    early = Business(replace(CONFIG, as_of=as_of))
    later = Business(CONFIG)
    assert early.fairing_responses
    assert all(at(str(r["inserted_at"])) <= as_of for r in early.fairing_responses)
    assert early.fairing_responses == [
        r for r in later.fairing_responses if at(str(r["inserted_at"])) <= as_of
    ]


def test_extending_the_end_date_only_adds_responses(business: Business) -> None:
    shorter = Business(replace(CONFIG, end_date=date(2025, 1, 31)))
    longer_ids = {r["id"]: r for r in business.fairing_responses}
    for record in shorter.fairing_responses:
        assert longer_ids[record["id"]] == record


def test_deleted_orders_keep_their_responses() -> None:
    shop = Business(replace(CONFIG, end_date=date(2025, 1, 10)))
    order_id = next(iter(shop.truth.survey_answers()))
    before = list(shop.fairing_responses)
    shop.delete_order(order_id)
    assert shop.fairing_responses == before
    assert order_id in shop.truth.survey_answers()
    assert order_id not in {o["id"] for o in shop.orders}


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_a_survey_rate_outside_0_to_1_is_a_config_error(rate: float) -> None:
    with pytest.raises(ConfigError, match="survey_rate"):
        replace(CONFIG, survey_rate=rate)
