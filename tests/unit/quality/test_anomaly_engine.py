"""The anomaly engine on seeded synthetic series: false alarms, zero days, halved days, promos.

Each series is a shop at 100 orders/day with weekday factors and negative-binomial noise
(a gamma-distributed daily rate, Poisson orders), and its net sales: the orders times an average
order value with its own noise. Every test evaluates the last days of 500 series.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from martlake.quality import Severity
from martlake.quality.anomaly import Thresholds, Verdict, baseline, evaluate

START = date(2025, 1, 6)
HISTORY_DAYS = 63
EVALUATED_DAYS = 14
SERIES = 500
ORDERS_PER_DAY = 100.0
WEEKDAY_FACTORS = (1.1, 1.0, 0.95, 1.0, 1.05, 0.85, 0.75)
GAMMA_SHAPE = 80.0
AOV = 85.0
AOV_CV = 0.6
FLAGGED = {Severity.WARN, Severity.CRITICAL}

Series = dict[date, float]


def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's product method (fine for λ ≈ 100: e^-λ stays well inside float range)."""
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def net_sales(rng: random.Random, orders: int) -> float:
    """Σ of `orders` order values, each with mean AOV and CV AOV_CV (normal by the CLT)."""
    if orders == 0:
        return 0.0
    return max(0.0, rng.gauss(orders * AOV, AOV * AOV_CV * math.sqrt(orders)))


def day_orders(rng: random.Random, day: date, scale: float = 1.0) -> int:
    rate = ORDERS_PER_DAY * WEEKDAY_FACTORS[day.weekday()] * scale
    return poisson(rng, rate * rng.gammavariate(GAMMA_SHAPE, 1 / GAMMA_SHAPE))


def shop(seed: int, scale: Callable[[int], float] = lambda _: 1.0) -> tuple[Series, Series]:
    """(orders, net_sales) for HISTORY_DAYS + EVALUATED_DAYS days; `scale(i)` multiplies day i."""
    rng = random.Random(seed)
    orders: Series = {}
    sales: Series = {}
    for i in range(HISTORY_DAYS + EVALUATED_DAYS):
        day = START + timedelta(days=i)
        n = day_orders(rng, day, scale(i))
        orders[day], sales[day] = float(n), net_sales(rng, n)
    return orders, sales


def evaluated_days() -> list[date]:
    return [START + timedelta(days=HISTORY_DAYS + i) for i in range(EVALUATED_DAYS)]


def flagged(verdicts: list[Verdict]) -> int:
    return sum(v.severity in FLAGGED for v in verdicts)


@pytest.fixture(scope="module")
def clean() -> list[tuple[Series, Series]]:
    return [shop(seed) for seed in range(SERIES)]


def test_false_alarms_stay_under_two_percent_per_metric_day(
    clean: list[tuple[Series, Series]],
) -> None:
    days = evaluated_days()
    for index, metric in enumerate(("orders", "net_sales")):
        alarms = sum(
            flagged(evaluate(series[index], days, count=metric == "orders")) for series in clean
        )
        rate = alarms / (len(clean) * len(days))
        assert rate <= 0.02, f"{metric}: false alarm rate {rate:.2%} over {len(clean)} series"
        print(f"{metric}: false alarm rate {rate:.3%}")


LAST = HISTORY_DAYS + EVALUATED_DAYS - 1
LAST_DAY = START + timedelta(days=LAST)


@pytest.fixture(scope="module")
def zeroed() -> list[tuple[Series, Series]]:
    return [shop(10_000 + seed, lambda i: 0.0 if i == LAST else 1.0) for seed in range(SERIES)]


@pytest.fixture(scope="module")
def halved() -> list[tuple[Series, Series]]:
    return [shop(20_000 + seed, lambda i: 0.5 if i == LAST else 1.0) for seed in range(SERIES)]


@pytest.mark.parametrize("metric", ["orders", "net_sales"])
def test_zero_days_are_caught_as_critical(zeroed: list[tuple[Series, Series]], metric: str) -> None:
    index = 0 if metric == "orders" else 1
    caught = 0
    for series in zeroed:
        assert series[index][LAST_DAY] == 0
        verdict = evaluate(series[index], [LAST_DAY], count=index == 0)[0]
        caught += verdict.severity is Severity.CRITICAL
    rate = caught / SERIES
    assert rate >= 0.95, f"{metric}: {rate:.1%} of zero days caught"
    print(f"{metric}: {rate:.1%} of zero days caught")


@pytest.mark.parametrize("metric", ["orders", "net_sales"])
def test_halved_days_are_caught_at_least_sixty_percent_of_the_time(
    halved: list[tuple[Series, Series]], metric: str
) -> None:
    index = 0 if metric == "orders" else 1
    caught = sum(
        flagged(evaluate(series[index], [LAST_DAY], count=index == 0)) for series in halved
    )
    rate = caught / SERIES
    assert rate >= 0.6, f"{metric}: {rate:.1%} of 50 % drops caught"
    print(f"{metric}: {rate:.1%} of 50 % drops caught")


def test_an_annotated_promo_does_not_make_the_next_normal_week_look_like_a_drop() -> None:
    promo = (START + timedelta(days=28), START + timedelta(days=HISTORY_DAYS - 1))
    alarms = {"annotated": 0, "not annotated": 0}
    for seed in range(100):
        orders, _ = shop(30_000 + seed, lambda i: 4.0 if 28 <= i < HISTORY_DAYS else 1.0)
        week = evaluated_days()[:7]
        alarms["annotated"] += flagged(evaluate(orders, week, annotations=[promo], count=True))
        alarms["not annotated"] += flagged(evaluate(orders, week, count=True))
    assert alarms["annotated"] <= 0.02 * 700, alarms
    assert alarms["not annotated"] >= 0.9 * 700, alarms


def test_annotated_days_are_not_alerted_on() -> None:
    orders, _ = shop(1, lambda i: 0.0 if i >= HISTORY_DAYS else 1.0)
    days = evaluated_days()
    outage = (days[0], days[-1])
    verdicts = evaluate(orders, days, annotations=[outage], count=True)
    assert {v.severity for v in verdicts} == {Severity.INFO}
    assert {v.severity for v in evaluate(orders, days, count=True)} == {Severity.CRITICAL}


def test_short_history_is_skipped_with_a_reason() -> None:
    orders, _ = shop(2)
    day = START + timedelta(days=13)
    verdict = evaluate(orders, [day], count=True)[0]
    assert verdict.severity is Severity.SKIPPED
    assert "13 days of history, at least 14 needed" in verdict.reason
    assert evaluate(orders, [day + timedelta(days=1)], count=True)[0].severity is Severity.OK


def test_few_same_weekdays_fall_back_to_a_trimmed_thirty_day_mean() -> None:
    orders, _ = shop(3)
    day = START + timedelta(days=16)
    history = [orders[START + timedelta(days=i)] for i in range(16)]
    found = baseline(orders, day)
    assert found is not None
    value, method = found
    assert method == "trimmed_mean"
    assert min(history) < value < max(history)
    later = START + timedelta(days=HISTORY_DAYS)
    same = sorted(orders[later - timedelta(weeks=w)] for w in range(1, 7))
    assert baseline(orders, later) == ((same[2] + same[3]) / 2, "weekday")


def test_rises_are_flagged_when_the_direction_is_rise() -> None:
    orders, _ = shop(4, lambda i: 3.0 if i == HISTORY_DAYS else 1.0)
    day = evaluated_days()[0]
    rise = Thresholds(warn=1.5, critical=2.5, direction="rise")
    assert evaluate(orders, [day], rise, count=True)[0].severity is Severity.CRITICAL
    assert evaluate(orders, [day], count=True)[0].severity is Severity.OK
    assert evaluate(orders, [day + timedelta(days=1)], rise, count=True)[0].severity is Severity.OK
