"""Monthly marts on a sandbox business spanning 14 months, against the simulator's truth.

One pipeline run (2024-01-01 … 2025-02-28, few orders a day): marketing_monthly_performance,
channel_mix and executive_summary_monthly must hold what the simulated records say, month over
month and year over year; shopify_daily_metrics' refund columns too.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from martlake.config import Project
from martlake.pipeline import RunOptions, RunResult, run_pipeline, simulator_config
from martlake.sandbox import Business
from martlake.sandbox._records import Dataset
from martlake.sandbox.simulator import PLATFORMS
from martlake.warehouse import DuckDBWarehouse
from tests.integration.marts.products_ltv_truth import (
    MARTS_ONLY,
    add_months,
    cents,
    month_of,
    product_months,
)
from tests.sandbox_project import make_sandbox_project, project

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("monthly_marts")]
START = date(2024, 1, 1)
END = date(2025, 2, 28)
MONTHS = [add_months(START, n) for n in range(14)]


@dataclass
class Built:
    project: Project
    run: RunResult
    warehouse: DuckDBWarehouse
    business: Business
    dataset: Dataset


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = make_sandbox_project(
        tmp_path_factory.mktemp("monthly_marts"), start=START, end=END, orders_per_day=4
    )
    proj = project(root)
    result = run_pipeline(proj, RunOptions(skip=MARTS_ONLY))
    business = Business(simulator_config(proj))
    yield Built(proj, result, DuckDBWarehouse(proj.warehouse_path), business, business._dataset())


def per_month(daily: dict[date, Decimal] | dict[date, int]) -> dict[date, Decimal]:
    out: dict[date, Decimal] = defaultdict(Decimal)
    for day, value in daily.items():
        out[month_of(day)] += Decimal(value)
    return dict(out)


def spend_per_month(business: Business) -> dict[tuple[date, str], Decimal]:
    out: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for platform in PLATFORMS:
        for day, spend in business.truth.spend_per_day(platform).items():
            out[(month_of(day), platform)] += spend
    return dict(out)


def attributed_per_month(
    ds: Dataset,
) -> tuple[Counter[tuple[date, str]], dict[tuple[date, str], Decimal]]:
    """(month, channel) → orders created in the month, and Σ their net sales."""
    orders: Counter[tuple[date, str]] = Counter()
    revenue: dict[tuple[date, str], int] = defaultdict(int)
    for o in ds.orders:
        key = (month_of(o.local_date), o.channel)
        refunded = o.refund.subtotal if o.refund is not None and o.refund.ts < ds.as_of_ts else 0
        orders[key] += 1
        revenue[key] += o.gross - o.discount - refunded
    return orders, {k: cents(v) for k, v in revenue.items()}


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> float | None:
    return None if not denominator else float(numerator) / float(denominator)


def close(actual: float | None, expected: float | None) -> bool:
    if actual is None or expected is None:
        return actual is expected
    return math.isclose(actual, expected, rel_tol=1e-9)


def test_run_passes_with_every_dbt_test(built: Built) -> None:
    steps = {s.step: s for s in built.run.steps}
    assert steps["transform"].status.value == "ok", steps["transform"].message


def test_daily_refund_columns_equal_truth(built: Built) -> None:
    ds = built.dataset
    refunded: Counter[date] = Counter(
        o.refund.local_date for o in ds.orders if o.refund is not None and o.refund.ts < ds.as_of_ts
    )
    gross = built.business.truth.gross_sales_per_day()
    returns = built.business.truth.returns_per_day()
    orders = built.business.truth.orders_per_day()
    rows = built.warehouse.query(
        "select date, refunded_orders, refund_rate, order_refund_rate "
        "from marts.shopify_daily_metrics"
    )
    assert sum(n for _, n, _, _ in rows) == sum(refunded.values()) > 20
    for day, n, rate, order_rate in rows:
        assert n == refunded[day], day
        assert close(rate, ratio(returns[day], gross[day])), day
        assert close(order_rate, ratio(refunded[day], orders[day])), day


def test_marketing_monthly_spend_and_attribution_equal_truth(built: Built) -> None:
    rows = built.warehouse.query(
        "select month, channel, spend, attributed_orders, attributed_revenue, roas, cpa "
        "from marts.marketing_monthly_performance"
    )
    spend = spend_per_month(built.business)
    orders, revenue = attributed_per_month(built.dataset)
    channels = {c for _, c in orders} | set(PLATFORMS)
    assert {(m, c) for m, c, *_ in rows} == {(m, c) for m in MONTHS for c in channels}
    for month, channel, got_spend, got_orders, got_revenue, roas, cpa in rows:
        key = (month, channel)
        assert got_spend == spend.get(key, Decimal(0)), key
        assert got_orders == orders[key], key
        assert got_revenue == revenue.get(key, Decimal("0.00")), key
        assert close(roas, ratio(got_revenue, got_spend)), key
        assert close(cpa, ratio(got_spend, got_orders)), key


def test_marketing_month_over_month_and_year_over_year(built: Built) -> None:
    spend = spend_per_month(built.business)
    rows = built.warehouse.query(
        "select month, channel, spend_prev_month, spend_mom_pct, spend_prev_year, spend_yoy_pct,"
        " attributed_orders_prev_year, is_partial_month "
        "from marts.marketing_monthly_performance where channel in ('meta', 'google', 'tiktok')"
    )
    orders, _ = attributed_per_month(built.dataset)
    assert len(rows) == 14 * 3
    for month, channel, prev, mom, prev_year, yoy, orders_prev_year, partial in rows:
        now = spend[(month, channel)]
        assert not partial
        if month == START:
            assert (prev, mom) == (None, None)
        else:
            before = spend[(add_months(month, -1), channel)]
            assert prev == before and close(mom, ratio(now - before, before)), (month, channel)
        if month < date(2025, 1, 1):
            assert (prev_year, yoy, orders_prev_year) == (None, None, None)
        else:
            last_year = add_months(month, -12)
            assert prev_year == spend[(last_year, channel)] > 0
            assert close(yoy, ratio(now - prev_year, prev_year)), (month, channel)
            assert orders_prev_year == orders[(last_year, channel)]


def test_channel_mix_shares_equal_truth_and_add_up_to_one(built: Built) -> None:
    spend = spend_per_month(built.business)
    _, revenue = attributed_per_month(built.dataset)
    rows = built.warehouse.query(
        "select month, channel, spend_share, revenue_share from marts.channel_mix"
    )
    totals: dict[date, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for month, channel, spend_share, revenue_share in rows:
        month_spend = sum(v for (m, _), v in spend.items() if m == month)
        month_revenue = sum(v for (m, _), v in revenue.items() if m == month)
        assert close(spend_share, ratio(spend.get((month, channel), 0), month_spend))
        assert close(revenue_share, ratio(revenue.get((month, channel), 0), month_revenue))
        totals[month][0] += spend_share
        totals[month][1] += revenue_share
    assert set(totals) == set(MONTHS)
    assert all(math.isclose(s, 1) and math.isclose(r, 1) for s, r in totals.values())


def test_executive_summary_equals_truth_per_month(built: Built) -> None:
    truth = built.business.truth
    ds = built.dataset
    orders = per_month(truth.orders_per_day())
    gross = per_month(truth.gross_sales_per_day())
    net = per_month(truth.net_sales_per_day())
    returns = per_month(truth.returns_per_day())
    spend = defaultdict(Decimal)
    for (month, _), value in spend_per_month(built.business).items():
        spend[month] += value
    refunded = Counter(
        month_of(o.refund.local_date)
        for o in ds.orders
        if o.refund is not None and o.refund.ts < ds.as_of_ts
    )
    goods: dict[date, Decimal] = defaultdict(Decimal)
    for (month, _, _), cell in product_months(ds).items():
        assert cell.cost is not None  # the sandbox catalog costs every variant
        goods[month] += cents(cell.cost)
    rows = built.warehouse.query(
        "select month, orders, gross_sales, net_sales, returns, ad_spend, mer,"
        " marketing_cost_ratio, new_customers, ncac, refund_rate, order_refund_rate,"
        " contribution_margin, currency_code, is_partial_month "
        "from marts.executive_summary_monthly order by month"
    )
    assert [r[0] for r in rows] == MONTHS
    for month, n, g, ns, ret, ad, mer, mcr, new, ncac, rr, orr, margin, currency, partial in rows:
        assert (n, g, ns, ret, ad) == (
            orders[month],
            gross[month],
            net[month],
            returns[month],
            spend[month],
        ), month
        assert close(mer, ratio(ns, ad)) and close(mcr, ratio(ad, ns)), month
        assert close(ncac, ratio(ad, new)) and new > 0, month
        assert close(rr, ratio(ret, g)) and close(orr, ratio(refunded[month], n)), month
        assert margin == net[month] - goods[month] - spend[month], month
        assert currency == "USD" and not partial


CustomersPerMonth = dict[date, set[object]]


def customer_months(ds: Dataset) -> tuple[Counter[date], CustomersPerMonth, CustomersPerMonth]:
    """Per month: first orders, customers who ordered, and those of them with a repeat order.

    A customer is the Shopify customer id, else the order's email (as `customer_key`)."""
    seen: set[object] = set()
    firsts: Counter[date] = Counter()
    customers: CustomersPerMonth = defaultdict(set)
    returning: CustomersPerMonth = defaultdict(set)
    for o in sorted(ds.orders, key=lambda o: (o.ts, o.id)):
        key: object = ("id", o.customer.id) if o.customer else ("email", o.email.strip().lower())
        month = month_of(o.local_date)
        customers[month].add(key)
        if key in seen:
            returning[month].add(key)
        else:
            seen.add(key)
            firsts[month] += 1
    return firsts, customers, returning


def test_executive_summary_customers_equal_truth(built: Built) -> None:
    rows = built.warehouse.query(
        "select month, new_customers, customers, returning_customers, returning_customer_rate "
        "from marts.executive_summary_monthly"
    )
    firsts, customers, returning = customer_months(built.dataset)
    assert sum(len(v) for v in returning.values()) > 50
    for month, new, n_customers, n_returning, rate in rows:
        assert (new, n_customers, n_returning) == (
            firsts[month],
            len(customers[month]),
            len(returning[month]),
        ), month
        assert close(rate, ratio(n_returning, n_customers)), month


def test_executive_summary_year_over_year(built: Built) -> None:
    rows = {
        r[0]: r[1:]
        for r in built.warehouse.query(
            "select month, net_sales, mer, ncac, contribution_margin, net_sales_prev_year,"
            " net_sales_yoy_pct, mer_prev_year, mer_yoy_pct, ncac_prev_year,"
            " contribution_margin_prev_year, contribution_margin_yoy_pct"
            " from marts.executive_summary_monthly"
        )
    }
    for month, (
        net,
        mer,
        ncac,
        margin,
        net_py,
        net_yoy,
        mer_py,
        mer_yoy,
        ncac_py,
        cm_py,
        cm_yoy,
    ) in rows.items():
        if month < date(2025, 1, 1):
            assert (net_py, net_yoy, mer_py, mer_yoy, ncac_py, cm_py, cm_yoy) == (None,) * 7
            continue
        last = rows[add_months(month, -12)]
        assert (net_py, mer_py, ncac_py, cm_py) == (last[0], last[1], last[2], last[3])
        assert cm_py and close(cm_yoy, ratio(margin - cm_py, cm_py)), month
        assert close(net_yoy, ratio(net - net_py, net_py))
        assert close(mer_yoy, (mer - mer_py) / mer_py)
        assert ncac is not None and ncac_py is not None
