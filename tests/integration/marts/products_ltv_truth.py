"""What product_performance, sales_by_geography, customer_ltv and ltv_cohorts must hold,
computed from the simulator's records (not from anything the connectors or dbt produced)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from martlake.sandbox._records import Dataset, Order

HORIZONS = (30, 60, 90, 180, 365)
MARTS_ONLY = frozenset({"quality", "reconcile", "publish"})
"""Steps a run of the marts tests leaves out: they compare marts, not checks or outputs."""
AD_SOURCES = ("meta_ads", "google_ads", "tiktok_ads")


def shopify_only(root: Path) -> None:
    """Drop the ad sources from a sandbox project: these marts read Shopify only."""
    for config in (root / "martlake.toml", root / ".martlake" / "secrets.toml"):
        text = config.read_text()
        for source in AD_SOURCES:
            text = re.sub(rf"\[sources\.{source}\]\n(?:[^\[\n][^\n]*\n?)*\n?", "", text)
        config.write_text(text)


def cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


def month_of(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def visible_refunds(ds: Dataset) -> list[Order]:
    """Orders whose refund happened before the data's as-of instant."""
    return [o for o in ds.orders if o.refund is not None and o.refund.ts < ds.as_of_ts]


def as_of_date(ds: Dataset) -> date:
    """The latest day with an order or a refund."""
    days = [o.local_date for o in ds.orders]
    days += [o.refund.local_date for o in visible_refunds(ds) if o.refund is not None]
    return max(days)


@dataclass
class ProductMonth:
    units: int = 0
    returned_units: int = 0
    gross: int = 0
    discounts: int = 0
    returns: int = 0
    orders: set[int] = field(default_factory=set)
    cost: int | None = 0
    """Cost of goods in cents: units sold minus units returned at the catalog's unit cost;
    None when a unit has no cost."""

    def add_cost(self, units: int, unit_cost: int | None) -> None:
        self.cost = (
            None if self.cost is None or unit_cost is None else self.cost + units * unit_cost
        )

    def row(self) -> tuple[int, int, int, Decimal, Decimal, Decimal, Decimal]:
        net = self.gross - self.discounts - self.returns
        values = (self.gross, self.discounts, self.returns, net)
        return (self.units, self.returned_units, len(self.orders), *map(cents, values))


def product_months(ds: Dataset) -> dict[tuple[date, int, int], ProductMonth]:
    """(month, product id, variant id) → sales in the order's month, returns in the refund's."""
    out: dict[tuple[date, int, int], ProductMonth] = defaultdict(ProductMonth)
    for o in ds.orders:
        for line in o.lines:
            cell = out[(month_of(o.local_date), line.product.id, line.variant.id)]
            cell.units += line.quantity
            cell.gross += line.gross
            cell.discounts += line.discount
            cell.orders.add(o.id)
            cell.add_cost(line.quantity, line.variant.unit_cost)
    for o in visible_refunds(ds):
        assert o.refund is not None
        line = next(ln for ln in o.lines if ln.id == o.refund.line_item_id)
        cell = out[(month_of(o.refund.local_date), line.product.id, line.variant.id)]
        cell.returned_units += o.refund.quantity
        cell.returns += o.refund.subtotal
        cell.add_cost(-o.refund.quantity, line.variant.unit_cost)
    return dict(out)


def customer_of(o: Order) -> tuple[str, int]:
    """A registered customer by id; a guest checks out with an address of their own."""
    return ("customer", o.customer.id) if o.customer is not None else ("guest", o.id)


@dataclass
class RegionMonth:
    orders: int = 0
    customers: set[tuple[str, int]] = field(default_factory=set)
    gross: int = 0
    discounts: int = 0
    returns: int = 0

    def row(self) -> tuple[int, int, Decimal, Decimal, Decimal, Decimal]:
        net = self.gross - self.discounts - self.returns
        values = (self.gross, self.discounts, self.returns, net)
        return (self.orders, len(self.customers), *map(cents, values))


def region_months(ds: Dataset) -> dict[tuple[date, str, str], RegionMonth]:
    """(month, country, province) of the shipping address → orders, customers, sales."""
    out: dict[tuple[date, str, str], RegionMonth] = defaultdict(RegionMonth)
    for o in ds.orders:
        cell = out[(month_of(o.local_date), o.address[5], o.address[4])]
        cell.orders += 1
        cell.customers.add(customer_of(o))
        cell.gross += o.gross
        cell.discounts += o.discount
    for o in visible_refunds(ds):
        assert o.refund is not None
        cell = out[(month_of(o.refund.local_date), o.address[5], o.address[4])]
        cell.returns += o.refund.subtotal
    return dict(out)


@dataclass
class CustomerTruth:
    first_order_id: int
    first_order_date: date
    orders: int = 0
    events: list[tuple[date, int, int]] = field(default_factory=list)
    """(day, orders, net sales in cents) per order (sales after discounts) and per refund."""

    @property
    def net_sales(self) -> Decimal:
        return cents(sum(net for _, _, net in self.events))

    def ltv(self, days: int, as_of: date) -> Decimal | None:
        end = self.first_order_date + timedelta(days=days)
        if end > as_of:
            return None
        return cents(sum(net for day, _, net in self.events if day < end))


def customers(ds: Dataset) -> dict[int, CustomerTruth]:
    """First order id → the customer's orders and refunds."""
    by_key: dict[tuple[str, int], CustomerTruth] = {}
    for o in sorted(ds.orders, key=lambda o: (o.ts, o.id)):
        truth = by_key.setdefault(customer_of(o), CustomerTruth(o.id, o.local_date))
        truth.orders += 1
        truth.events.append((o.local_date, 1, o.gross - o.discount))
    for o in visible_refunds(ds):
        assert o.refund is not None
        by_key[customer_of(o)].events.append((o.refund.local_date, 0, -o.refund.subtotal))
    return {c.first_order_id: c for c in by_key.values()}


@dataclass
class CohortCell:
    cohort_size: int
    active: set[int] = field(default_factory=set)
    orders: int = 0
    net: int = 0


def cohorts(ds: Dataset) -> dict[tuple[date, int], tuple[int, int, int, Decimal, bool]]:
    """(cohort month, months since) → (size, active customers, orders, net sales, complete)."""
    as_of = as_of_date(ds)
    members = customers(ds)
    sizes: dict[date, int] = defaultdict(int)
    for c in members.values():
        sizes[month_of(c.first_order_date)] += 1
    cells = {
        (cohort, n): CohortCell(size)
        for cohort, size in sizes.items()
        for n in range(months_between(cohort, as_of) + 1)
    }
    for c in members.values():
        cohort = month_of(c.first_order_date)
        for day, orders, net in c.events:
            cell = cells[(cohort, months_between(cohort, day))]
            cell.orders += orders
            cell.net += net
            if orders:
                cell.active.add(c.first_order_id)
    out = {}
    for (cohort, n), cell in cells.items():
        period_end = add_months(cohort, n + 1) - timedelta(days=1)
        out[(cohort, n)] = (
            cell.cohort_size,
            len(cell.active),
            cell.orders,
            cents(cell.net),
            period_end < as_of,
        )
    return out
