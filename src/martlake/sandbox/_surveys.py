"""Fairing post-purchase survey responses of the simulated orders, and their API JSON.

Responses draw from their own random stream (the seed and `fairing`), so the orders and ad
delivery never change with `survey_rate`; draws follow the orders in time order, so extending
`end_date` only adds responses.
"""

from __future__ import annotations

import random
from bisect import bisect
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any
from urllib.parse import parse_qs

from martlake.sandbox._records import Order, SurveyResponse
from martlake.sandbox._render import money

QUESTION_ID = 1001
QUESTION = "How did you hear about us?"
CLARIFICATION_ID = 1002
CLARIFICATION = "Which podcast?"
CLARIFIED = "Podcast"
OTHER = "Other"
"""What `survey_answers` says for a customer who typed their own answer."""
ANSWER_IDS: dict[str, int] = {
    "Instagram": 7001,
    "Facebook": 7002,
    "Google": 7003,
    "YouTube": 7004,
    "TikTok": 7005,
    "Email": 7006,
    "Blog or article": 7007,
    "Pinterest": 7008,
    "Podcast": 7009,
    "Friend or family": 7010,
}
PODCAST_IDS: dict[str, int] = {"The Daily Grind": 7101, "Brand Builders": 7102}
OTHER_TEXTS = (
    "Saw a stall at the farmers market",
    "A coworker recommended it",
    "Trade show booth",
    "My running club",
)
OTHER_RATE = 0.05
LATE_RATE = 0.02
RESPONSE_ID_BASE = 810_000_000_000
# What a respondent answers, by the order's true channel.
_ANSWERS: dict[str, tuple[tuple[str, float], ...]] = {
    "meta": (("Instagram", 0.6), ("Facebook", 0.4)),
    "google": (("Google", 0.7), ("YouTube", 0.3)),
    "tiktok": (("TikTok", 1.0),),
    "email": (("Email", 1.0),),
    "referral": (("Blog or article", 1.0),),
    "other": (("Pinterest", 1.0),),
    "direct": (("Podcast", 0.4), ("Friend or family", 0.4), ("TikTok", 0.1), ("Instagram", 0.1)),
}
_CUMULATIVE = {
    channel: ([a for a, _ in shares], list(accumulate(w for _, w in shares)))
    for channel, shares in _ANSWERS.items()
}
_UTMS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _pick(rng: random.Random, channel: str) -> str:
    answers, cumulative = _CUMULATIVE[channel]
    return answers[min(bisect(cumulative, rng.random() * cumulative[-1]), len(answers) - 1)]


def survey_responses(orders: list[Order], seed: int, rate: float) -> list[SurveyResponse]:
    """The responses to the orders' post-purchase survey (question `QUESTION_ID`, and the
    podcast clarification after a "Podcast" answer); `orders` in time order, as generated."""
    if rate <= 0:
        return []
    rng = random.Random(f"martlake-sandbox:{seed}:fairing")
    rand = rng.random
    counts: dict[int, int] = {}
    out: list[SurveyResponse] = []
    for order in orders:
        count = 1
        if order.customer is not None:
            count = counts[order.customer.id] = counts.get(order.customer.id, 0) + 1
        if rand() >= rate:
            continue
        other = rand() < OTHER_RATE
        answer = rng.choice(OTHER_TEXTS) if other else _pick(rng, order.channel)
        if rand() < LATE_RATE:
            delay = rng.randint(86_400, 3 * 86_400)
        else:
            delay = rng.randint(60, 90 * 60)
        inserted = (order.ts + delay) * 1_000_000 + rng.randrange(1_000_000)
        out.append(
            SurveyResponse(
                id=str(RESPONSE_ID_BASE + len(out)),
                question_id=QUESTION_ID,
                question=QUESTION,
                question_type="single_response",
                clarification_question=False,
                referring_question_id=None,
                referring_question_response=None,
                response_id=None if other else ANSWER_IDS[answer],
                response=None if other else answer,
                other=other,
                other_response=answer if other else None,
                order=order,
                customer_order_count=count,
                inserted_us=inserted,
            )
        )
        if answer == CLARIFIED and not other:
            podcast = rng.choice(tuple(PODCAST_IDS))
            out.append(
                SurveyResponse(
                    id=str(RESPONSE_ID_BASE + len(out)),
                    question_id=CLARIFICATION_ID,
                    question=CLARIFICATION,
                    question_type="single_response",
                    clarification_question=True,
                    referring_question_id=QUESTION_ID,
                    referring_question_response=CLARIFIED,
                    response_id=PODCAST_IDS[podcast],
                    response=podcast,
                    other=False,
                    other_response=None,
                    order=order,
                    customer_order_count=count,
                    inserted_us=inserted + rng.randint(2, 30) * 1_000_000,
                )
            )
    return out


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def fairing_timestamp(micros: int) -> str:
    """Microseconds since the epoch as Fairing writes times: `2025-03-01T14:03:22.123456Z`."""
    return (_EPOCH + timedelta(microseconds=micros)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def response_json(response: SurveyResponse, currency: str) -> dict[str, Any]:
    """A record of `GET /api/responses`, every field served."""
    order = response.order
    path, _, query = (order.landing_site or "").partition("?")
    params = parse_qs(query)
    at = fairing_timestamp(response.inserted_us)
    return {
        "id": response.id,
        "question_id": response.question_id,
        "question": response.question,
        "question_type": response.question_type,
        "clarification_question": response.clarification_question,
        "referring_question_id": response.referring_question_id,
        "referring_question_response": response.referring_question_response,
        "response_id": response.response_id,
        "response": response.response,
        "other": response.other,
        "other_response": response.other_response,
        "order_id": str(order.id),
        "order_number": str(order.number),
        "order_platform": "shopify",
        "customer_id": str(order.customer.id) if order.customer is not None else None,
        "email": order.email,
        "customer_order_count": response.customer_order_count,
        "order_total": money(order.total),
        "order_currency_code": currency,
        "landing_page_path": path or None,
        "referring_site": order.referring_site,
        **{name: _first(params.get(name)) for name in _UTMS},
        "inserted_at": at,
        "updated_at": at,
        "response_provided_at": at,
    }
