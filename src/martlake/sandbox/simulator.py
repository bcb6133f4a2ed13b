"""A seeded, deterministic DTC business: Shopify orders, ad delivery and the ground truth.

Ad delivery covers a Meta ad account, a Google Ads customer and a TikTok advertiser; customers
may answer a Fairing post-purchase survey.
"""

from __future__ import annotations

import gc
import json
import threading
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cached_property
from typing import Any, Literal, TypeVar, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from martlake.errors import ConfigError
from martlake.sandbox import _catalog
from martlake.sandbox._generate import Generator
from martlake.sandbox._records import Dataset, GoogleStat, Insight, TikTokStat
from martlake.sandbox._render import (
    OrderRenderer,
    convert,
    google_ad_rows_json,
    google_customer_json,
    google_row_json,
    insight_json,
    inventory_item_json,
    product_json,
    tiktok_row_json,
)
from martlake.sandbox._surveys import OTHER, QUESTION_ID, response_json, survey_responses

SHOP_ID = 61_234_567_890
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Platform = Literal["meta", "google", "tiktok"]
PLATFORMS: tuple[Platform, ...] = get_args(Platform)


@dataclass(frozen=True, kw_only=True)
class SimulatorConfig:
    """Parameters of a simulated business; the same config always yields the same data.

    Data for a day depends only on `seed`, `start_date` and the volume parameters, never on
    `end_date`: extending `end_date` only adds days (and makes more refunds visible).

    Args:
        seed: Seed of every random draw.
        start_date: First business day (local, in `timezone`).
        end_date: Last business day, inclusive.
        orders_per_day: Average daily orders at `start_date`, before seasonality.
        growth: Yearly compound growth of order volume and ad spend.
        timezone: IANA timezone of the shop and, unless `ad_timezones` says otherwise, of the
            ad accounts.
        currency: Shop currency and, unless `ad_currencies` says otherwise, ad account currency.
        shop_domain: The store's `*.myshopify.com` domain.
        meta_account_id: Meta ad account id, digits only (no `act_`).
        google_customer_id: Google Ads customer id, 10 digits without dashes.
        tiktok_advertiser_id: TikTok advertiser id, digits only.
        as_of: Aware instant at which the data is observed; events at or after it do not
            exist yet. Default: midnight after `end_date` in `timezone`.
        ad_timezones: IANA timezone per ad platform whose account is not in `timezone`; its
            rows are dated in that timezone's days, from `start_date` to the account's day of
            the shop's last instant.
        ad_currencies: ISO 4217 currency per ad platform whose account does not bill in
            `currency`; its amounts are the same numbers, in that currency.
        presentment_currencies: Currencies some customers pay in, each with its rate per
            unit of `currency` (e.g. `{"CAD": Decimal("1.35")}`); Shopify then sends the
            amounts in both (`*_set`), the plain price fields staying in shop currency.
        presentment_share: Share (0–1) of orders presented in one of those currencies.
        survey_rate: Share (0–1) of orders whose customer answers the Fairing post-purchase
            survey; drawn from a random stream of its own, so it changes nothing else.
    """

    seed: int = 42
    start_date: date
    end_date: date
    orders_per_day: float = 300
    growth: float = 0.25
    timezone: str = "America/New_York"
    currency: str = "USD"
    shop_domain: str = "dtc-brand.myshopify.com"
    meta_account_id: str = "1234567890"
    google_customer_id: str = "1234567890"
    tiktok_advertiser_id: str = "7000000000000000001"
    as_of: datetime | None = None
    ad_timezones: Mapping[Platform, str] = field(default_factory=dict, hash=False)
    ad_currencies: Mapping[Platform, str] = field(default_factory=dict, hash=False)
    presentment_currencies: Mapping[str, Decimal] = field(default_factory=dict, hash=False)
    presentment_share: float = 0.0
    survey_rate: float = 0.0

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not 0 <= self.presentment_share <= 1:
            problems.append(f"presentment_share `{self.presentment_share}` must be within 0–1")
        if not 0 <= self.survey_rate <= 1:
            problems.append(f"survey_rate `{self.survey_rate}` must be within 0–1")
        for code, rate in self.presentment_currencies.items():
            if len(code) != 3 or not code.isupper() or code == self.currency:
                problems.append(
                    f"presentment currency `{code}` must be an ISO 4217 code other than "
                    f"`{self.currency}`"
                )
            if Decimal(str(rate)) <= 0:
                problems.append(f"presentment rate `{rate}` of `{code}` must be positive")
        if self.end_date < self.start_date:
            problems.append(f"end_date `{self.end_date}` is before start_date `{self.start_date}`")
        if self.orders_per_day < 0:
            problems.append(f"orders_per_day `{self.orders_per_day}` is negative")
        if self.growth <= -1:
            problems.append(f"growth `{self.growth}` must be greater than -1")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"timezone `{self.timezone}` is not an IANA timezone name")
        for platform, zone in self.ad_timezones.items():
            if platform not in PLATFORMS:
                problems.append(f"ad_timezones key `{platform}` is not one of {PLATFORMS}")
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                problems.append(f"ad_timezones `{platform}` `{zone}` is not an IANA timezone")
        for platform, code in self.ad_currencies.items():
            if platform not in PLATFORMS:
                problems.append(f"ad_currencies key `{platform}` is not one of {PLATFORMS}")
            if len(code) != 3 or not code.isalpha() or not code.isupper():
                problems.append(f"ad_currencies `{platform}` `{code}` is not an ISO 4217 code")
        if not self.meta_account_id.isdigit():
            problems.append(f"meta_account_id `{self.meta_account_id}` must be digits, no `act_`")
        if not (self.google_customer_id.isdigit() and len(self.google_customer_id) == 10):
            problems.append(
                f"google_customer_id `{self.google_customer_id}` must be 10 digits, no dashes"
            )
        if not self.tiktok_advertiser_id.isdigit():
            problems.append(f"tiktok_advertiser_id `{self.tiktok_advertiser_id}` must be digits")
        if self.as_of is not None and self.as_of.utcoffset() is None:
            problems.append(f"as_of `{self.as_of.isoformat()}` must be timezone-aware")
        if problems:
            raise ConfigError(
                "Invalid sandbox SimulatorConfig: " + "; ".join(problems) + ". Fix the values."
            )

    def account_timezone(self, platform: Platform) -> str:
        """IANA timezone of `platform`'s ad account: its `ad_timezones` entry or `timezone`."""
        return self.ad_timezones.get(platform, self.timezone)

    def account_currency(self, platform: Platform) -> str:
        """Currency of `platform`'s ad account: its `ad_currencies` entry or `currency`."""
        return self.ad_currencies.get(platform, self.currency)

    @property
    def effective_as_of(self) -> datetime:
        """`as_of`, or midnight after `end_date` in the shop timezone when it is unset."""
        if self.as_of is not None:
            return self.as_of
        return datetime.combine(
            self.end_date + timedelta(days=1), time(), tzinfo=ZoneInfo(self.timezone)
        )


def _decimal(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


class GroundTruth:
    """What the warehouse must compute from the sandbox data, per the spine definitions.

    Days are local business dates; money is `Decimal` with 2 places. Per-day dicts hold every
    day from `start_date` to `end_date` (zeros included) plus any later day with a visible refund.
    Only events before `as_of` count.
    """

    def __init__(self, dataset: Dataset, config: SimulatorConfig) -> None:
        self._ds = dataset
        self._config = config

    def _per_day(self, pairs: Iterator[tuple[date, int]]) -> dict[date, int]:
        out = dict.fromkeys(_days(self._config.start_date, self._config.end_date), 0)
        for day, value in pairs:
            out[day] = out.get(day, 0) + value
        return dict(sorted(out.items()))

    @cached_property
    def _gross(self) -> dict[date, int]:
        return self._per_day((o.local_date, o.gross) for o in self._ds.orders)

    @cached_property
    def _discounts(self) -> dict[date, int]:
        return self._per_day((o.local_date, o.discount) for o in self._ds.orders)

    @cached_property
    def _returns(self) -> dict[date, int]:
        as_of = self._ds.as_of_ts
        return self._per_day(
            (o.refund.local_date, o.refund.subtotal)
            for o in self._ds.orders
            if o.refund is not None and o.refund.ts < as_of
        )

    def orders_per_day(self) -> dict[date, int]:
        """Orders created per local day."""
        return self._per_day((o.local_date, 1) for o in self._ds.orders)

    def gross_sales_per_day(self) -> dict[date, Decimal]:
        """Σ line price × quantity of the orders created each day."""
        return {d: _decimal(v) for d, v in self._gross.items()}

    def discounts_per_day(self) -> dict[date, Decimal]:
        """Σ line discount allocations of the orders created each day."""
        return {d: _decimal(v) for d, v in self._discounts.items()}

    def returns_per_day(self) -> dict[date, Decimal]:
        """Σ refund line subtotals (excl. tax), on the refund's local date."""
        return {d: _decimal(v) for d, v in self._returns.items()}

    def net_sales_per_day(self) -> dict[date, Decimal]:
        """Gross − discounts of the day's orders − returns refunded that day."""
        days = sorted(set(self._gross) | set(self._returns))
        return {
            d: _decimal(self._gross.get(d, 0) - self._discounts.get(d, 0) - self._returns.get(d, 0))
            for d in days
        }

    def shipping_per_day(self) -> dict[date, Decimal]:
        """Σ shipping line prices of the orders created each day."""
        return {
            d: _decimal(v)
            for d, v in self._per_day((o.local_date, o.shipping) for o in self._ds.orders).items()
        }

    def taxes_per_day(self) -> dict[date, Decimal]:
        """Σ order `total_tax` of the orders created each day."""
        return {
            d: _decimal(v)
            for d, v in self._per_day((o.local_date, o.tax) for o in self._ds.orders).items()
        }

    def new_customer_orders_per_day(self) -> dict[date, int]:
        """Orders that are their customer's first in the data (by customer id; guests never)."""
        seen: set[int] = set()
        firsts: list[tuple[date, int]] = []
        for o in self._ds.orders:
            if o.customer is not None and o.customer.id not in seen:
                seen.add(o.customer.id)
                firsts.append((o.local_date, 1))
        return self._per_day(iter(firsts))

    def _ad_rows(self, platform: Platform) -> list[Insight] | list[GoogleStat] | list[TikTokStat]:
        if platform == "meta":
            return self._ds.insights
        if platform == "google":
            return self._ds.google_stats
        if platform == "tiktok":
            return self._ds.tiktok_stats
        raise ValueError(f"platform `{platform}` is not one of {', '.join(PLATFORMS)}")

    def spend_per_day(self, platform: Platform = "meta") -> dict[date, Decimal]:
        """Σ ad spend per account day of `platform` ("meta", "google" or "tiktok").

        Google spend is each campaign-day's cost micros rounded half-even to the cent, then
        summed, as staging computes it.
        """
        rows = self._ad_rows(platform)
        return {d: _decimal(v) for d, v in self._per_day((r.day, r.spend) for r in rows).items()}

    def spend_per_campaign_day(
        self, platform: Platform = "meta"
    ) -> dict[tuple[date, str], Decimal]:
        """Σ spend per (day, campaign id) of `platform`, for campaigns that delivered that day."""
        out: dict[tuple[date, str], int] = {}
        for r in self._ad_rows(platform):
            key = (r.day, r.campaign.id)
            out[key] = out.get(key, 0) + r.spend
        return {k: _decimal(v) for k, v in sorted(out.items())}

    def google_cost_micros_per_campaign_day(self) -> dict[tuple[date, str], int]:
        """Google cost in micros per (day, campaign id), exactly as the API sends it.

        Google spend (above) is each campaign-day's micros rounded half-even to the cent once,
        as staging rounds it; these are the micros before that rounding.
        """
        return {(r.day, r.campaign.id): r.cost_micros for r in self._ds.google_stats}

    def presentment_totals(self) -> dict[int, tuple[str, Decimal]]:
        """Order id → (presentment currency, `total_price` in it) of orders not in shop currency."""
        renderer = OrderRenderer(
            self._ds, self._config.presentment_currencies, self._config.presentment_share
        )
        out: dict[int, tuple[str, Decimal]] = {}
        for o in self._ds.orders:
            shown = renderer.presentment(o)
            if shown is not None:
                out[o.id] = (shown[0], _decimal(convert(o.total, Decimal(str(shown[1])))))
        return out

    def order_channels(self) -> dict[int, tuple[str, str | None]]:
        """Order id → (channel by the spine rules, the ad platform's campaign id from `utm_id`).

        The campaign id is None for orders without `utm_id` (click id only, or not paid).
        """
        return {o.id: (o.channel, o.campaign_id) for o in self._ds.orders}

    def survey_answers(self) -> dict[int, str]:
        """Order id → its answer to "How did you hear about us?" (`"Other"` for a typed
        answer), for the responses Fairing has received by `as_of`, deleted orders included."""
        return {
            r.order.id: OTHER if r.other else str(r.response)
            for r in self._ds.survey_responses
            if r.question_id == QUESTION_ID
        }

    def row_counts(self) -> dict[str, int]:
        """Rows one full extraction yields, by raw table.

        Keys: orders, order_lines, refund_lines, insights (Meta), google_campaign_stats,
        tiktok_ad_stats.
        """
        as_of = self._ds.as_of_ts
        return {
            "orders": len(self._ds.orders),
            "order_lines": sum(len(o.lines) for o in self._ds.orders),
            "refund_lines": sum(
                1 for o in self._ds.orders if o.refund is not None and o.refund.ts < as_of
            ),
            "insights": len(self._ds.insights),
            "google_campaign_stats": len(self._ds.google_stats),
            "tiktok_ad_stats": len(self._ds.tiktok_stats),
        }


_Row = TypeVar("_Row", Insight, GoogleStat, TikTokStat)


_CATALOG_IDS: dict[Platform, tuple[str, ...]] = {
    "meta": tuple(c.id for c in _catalog.CAMPAIGNS),
    "google": tuple(c.id for c in _catalog.GOOGLE_CAMPAIGNS),
    "tiktok": tuple(c.id for c in _catalog.TIKTOK_CAMPAIGNS),
}
_CENT = Decimal("0.01")


def _times(value: int, factor: Decimal) -> int:
    return int((Decimal(value) * factor).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _times_double(value: float, factor: Decimal) -> float:
    return float((Decimal(str(value)) * factor).quantize(_CENT, rounding=ROUND_HALF_EVEN))


def _restated(row: _Row, factor: Decimal) -> _Row:
    if isinstance(row, Insight):
        return replace(
            row,
            spend=_times(row.spend, factor),
            purchases=_times(row.purchases, factor),
            purchase_value=_times(row.purchase_value, factor),
        )
    if isinstance(row, GoogleStat):
        return replace(
            row,
            cost_micros=_times(row.cost_micros, factor),
            conversions=_times_double(row.conversions, factor),
            conversions_value=_times_double(row.conversions_value, factor),
        )
    return replace(
        row,
        spend=_times(row.spend, factor),
        conversions=_times(row.conversions, factor),
        value=_times(row.value, factor),
    )


def _visible(rows: list[_Row], as_of_ts: float, entity: str) -> list[_Row]:
    out: list[_Row] = []
    for row in rows:
        if row.day_end_ts <= as_of_ts:
            out.append(row)
        elif row.day_start_ts < as_of_ts:
            part = row.scaled((as_of_ts - row.day_start_ts) / (row.day_end_ts - row.day_start_ts))
            if not part.is_empty():
                out.append(part)
    out.sort(key=lambda r: (r.day, int(getattr(r, entity).id)))
    return out


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Bulk creation of millions of small objects triggers full collections that find nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Business:
    """A simulated shop with Meta, Google Ads and TikTok accounts; generated on first use, cached.

    Args:
        config: What to simulate.

    Example:
        >>> from datetime import date
        >>> b = Business(SimulatorConfig(start_date=date(2025, 1, 1), end_date=date(2025, 1, 7),
        ...                              orders_per_day=20))
        >>> b.orders[0]["name"], b.truth.row_counts()["orders"] == len(b.orders)
        ('#1001', True)
    """

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._ds: Dataset | None = None
        self._orders: list[dict[str, Any]] | None = None
        self._insights: list[dict[str, Any]] | None = None
        self._google_rows: list[dict[str, Any]] | None = None
        self._google_ad_rows: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None
        self._tiktok_rows: list[dict[str, Any]] | None = None
        self._fairing_rows: list[dict[str, Any]] | None = None
        self._order_json: list[bytes | None] = []
        self._renderer: OrderRenderer | None = None
        self._tz = ZoneInfo(config.timezone)
        self._deleted: set[tuple[Platform, str]] = set()
        self.catalog: tuple[_catalog.Product, ...] = _catalog.PRODUCTS
        """The products the Shopify emulator serves; orders always sell from the built-in
        catalog, so a test may serve a bigger one."""

    @property
    def as_of(self) -> datetime:
        """The instant the data is observed at (see `SimulatorConfig.as_of`)."""
        return self.config.effective_as_of

    def _dataset(self) -> Dataset:
        with self._lock:
            if self._ds is None:
                with _gc_paused():
                    generated = Generator(self.config).run()
                as_of_ts = self.as_of.timestamp()
                orders = generated.orders
                visible = orders[: bisect_left([o.ts for o in orders], as_of_ts)]
                as_of_us = (self.as_of - _EPOCH) // timedelta(microseconds=1)
                responses = [
                    r
                    for r in survey_responses(orders, self.config.seed, self.config.survey_rate)
                    if r.inserted_us <= as_of_us
                ]
                self._ds = Dataset(
                    orders=visible,
                    insights=_visible(generated.insights, as_of_ts, "ad"),
                    google_stats=_visible(generated.google, as_of_ts, "campaign"),
                    tiktok_stats=_visible(generated.tiktok, as_of_ts, "ad"),
                    survey_responses=responses,
                    as_of_ts=as_of_ts,
                    timezone=self.config.timezone,
                    currency=self.config.currency,
                    shop_domain=self.config.shop_domain,
                    shop_name=_catalog.VENDOR,
                    account_id=self.config.meta_account_id,
                    account_name=f"{_catalog.VENDOR} - Meta",
                )
                self._order_json = [None] * len(visible)
                self._renderer = OrderRenderer(
                    self._ds,
                    {k: Decimal(str(v)) for k, v in self.config.presentment_currencies.items()},
                    self.config.presentment_share,
                )
            return self._ds

    def delete_order(self, order_id: int) -> None:
        """From now on, the order `order_id` does not exist, as after a merchant deleted it.

        It is gone from `orders`, from every endpoint of the Shopify emulator and from `truth`
        (its sales and its refund no longer count).

        Raises:
            ConfigError: No visible order has that id.
        """
        with self._lock:
            ds = self._dataset()
            index = bisect_left([o.id for o in ds.orders], order_id)
            if index >= len(ds.orders) or ds.orders[index].id != order_id:
                raise ConfigError(
                    f"sandbox: `{order_id}` is not the id of an order of the simulated shop: "
                    "pick one from `Business.orders`"
                )
            del ds.orders[index]
            del self._order_json[index]
            self._orders = None
            self.__dict__.pop("truth", None)

    def delete_campaign(self, platform: Platform, campaign_id: str) -> None:
        """From now on, report nothing of `campaign_id` on `platform`, as after a deletion.

        The rows are gone from every report of that platform's emulator and from `truth`; a
        Google campaign is listed with status `REMOVED`.

        Raises:
            ConfigError: `campaign_id` is not a campaign of the simulated account.
        """
        known = _CATALOG_IDS[platform]
        if campaign_id not in known:
            raise ConfigError(
                f"sandbox: `{platform}:{campaign_id}` is not a campaign of the simulated "
                f"{platform} account; its campaigns are {', '.join(known)}: fix "
                "`sandbox.deleted_campaigns` in martlake.toml"
            )
        with self._lock:
            ds = self._dataset()
            self._deleted.add((platform, campaign_id))
            self._replace_rows(
                platform, [r for r in self._ad_rows(ds, platform) if r.campaign.id != campaign_id]
            )

    def restate(self, platform: Platform, last_days: int, factor: Decimal | float | str) -> None:
        """From now on, report the last `last_days` days of `platform` restated by `factor`.

        Spend (Google: cost), conversions and conversion value of those days are multiplied
        by `factor`; money stays in whole cents (Google cost in whole micros) and counts whole,
        rounded half-even (Google's fractional conversions to 2 decimals). The last day is the
        one `as_of` falls in (or the day before, when `as_of` is midnight). Restating twice
        compounds.
        """
        if last_days <= 0:
            return
        multiplier = Decimal(str(factor))
        zone = ZoneInfo(self.config.account_timezone(platform))
        last = (self.as_of - timedelta(microseconds=1)).astimezone(zone).date()
        first = last - timedelta(days=last_days - 1)
        with self._lock:
            rows = self._ad_rows(self._dataset(), platform)
            self._replace_rows(
                platform,
                [_restated(r, multiplier) if first <= r.day <= last else r for r in rows],
            )

    @staticmethod
    def _ad_rows(ds: Dataset, platform: Platform) -> list[Any]:
        if platform == "meta":
            return ds.insights
        if platform == "google":
            return ds.google_stats
        return ds.tiktok_stats

    def _replace_rows(self, platform: Platform, rows: list[Any]) -> None:
        ds = self._dataset()
        if platform == "meta":
            ds.insights, self._insights = rows, None
        elif platform == "google":
            ds.google_stats, self._google_rows, self._google_ad_rows = rows, None, None
        else:
            ds.tiktok_stats, self._tiktok_rows = rows, None

    @property
    def order_count(self) -> int:
        """How many orders exist at `as_of`."""
        return len(self._dataset().orders)

    def order_json(self, index: int, fields: frozenset[str] | None = None) -> bytes:
        """The order at `index` (0-based, in id order) as Shopify REST JSON bytes.

        Args:
            index: Position of the order in `orders`.
            fields: Top-level fields to keep (Shopify's `fields` parameter); all when None.
                Only the full rendering is cached.
        """
        data = self._order_json[index] if self._ds is not None and fields is None else None
        if data is None:
            ds = self._dataset()
            assert self._renderer is not None
            data = self._renderer.render(ds.orders[index], fields).encode()
            if fields is None:
                self._order_json[index] = data
        return data

    @property
    def orders(self) -> list[dict[str, Any]]:
        """Every order created before `as_of`, as Shopify REST JSON dicts, sorted by id."""
        with self._lock:
            if self._orders is None:
                count = self.order_count
                with _gc_paused():
                    self._orders = [json.loads(self.order_json(i)) for i in range(count)]
            return self._orders

    @property
    def meta_insights(self) -> list[dict[str, Any]]:
        """Meta insights rows (level=ad, daily), every field, sorted by (date_start, ad_id)."""
        with self._lock:
            if self._insights is None:
                ds = self._dataset()
                account = replace(ds, currency=self.config.account_currency("meta"))
                self._insights = [insight_json(r, account) for r in ds.insights]
            return self._insights

    @cached_property
    def truth(self) -> GroundTruth:
        """The metrics the warehouse must reproduce from this data."""
        return GroundTruth(self._dataset(), self.config)

    @property
    def shop(self) -> dict[str, Any]:
        """The `shop` object of `GET /admin/api/2024-10/shop.json`."""
        offset = datetime(self.config.start_date.year, 1, 1, tzinfo=self._tz).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        sign = "-" if minutes < 0 else "+"
        hours, mins = divmod(abs(minutes), 60)
        return {
            "id": SHOP_ID,
            "name": _catalog.VENDOR,
            "email": f"hello@{self.config.shop_domain}",
            "domain": self.config.shop_domain,
            "myshopify_domain": self.config.shop_domain,
            "country_code": "US",
            "currency": self.config.currency,
            "iana_timezone": self.config.timezone,
            "timezone": f"(GMT{sign}{hours:02d}:{mins:02d}) {self.config.timezone}",
            "created_at": datetime.combine(
                self.config.start_date - timedelta(days=900), time(9), tzinfo=self._tz
            ).isoformat(),
        }

    def _catalog_stamps(self, index: int) -> tuple[datetime, datetime, datetime]:
        # (product created, product updated, cost last set): fixed, and all before start_date.
        start = datetime.combine(self.config.start_date, time(10), tzinfo=self._tz)
        step = timedelta(hours=index)
        return (
            start - timedelta(days=600) + 7 * step,
            start - timedelta(days=30) + step,
            start - timedelta(days=20) + step,
        )

    @property
    def products(self) -> list[dict[str, Any]]:
        """The products of `catalog` as `GET /admin/api/2024-10/products.json` shows them,
        sorted by id."""
        out = []
        for i, product in enumerate(self.catalog):
            created, updated, _ = self._catalog_stamps(i)
            out.append(product_json(product, created, updated))
        return sorted(out, key=lambda p: int(p["id"]))

    @property
    def inventory_items(self) -> dict[int, dict[str, Any]]:
        """Inventory item id -> the item (its `cost` is the variant's unit cost) as
        `GET /admin/api/2024-10/inventory_items.json` shows it."""
        out = {}
        for i, product in enumerate(self.catalog):
            created, _, cost_set = self._catalog_stamps(i)
            for variant in product.variants:
                item = inventory_item_json(variant, created, cost_set)
                out[variant.inventory_item_id] = item
        return out

    @property
    def meta_account(self) -> dict[str, Any]:
        """The ad account object of `GET /v21.0/act_<id>` with every field martlake reads."""
        account_id = self.config.meta_account_id
        return {
            "id": f"act_{account_id}",
            "account_id": account_id,
            "name": f"{_catalog.VENDOR} - Meta",
            "currency": self.config.account_currency("meta"),
            "timezone_name": self.config.account_timezone("meta"),
            "account_status": 1,
        }

    @property
    def google_customer(self) -> dict[str, Any]:
        """The `customer` of `SELECT customer.… FROM customer` (REST JSON, camelCase)."""
        return google_customer_json(
            self.config.google_customer_id,
            f"{_catalog.VENDOR} - Google Ads",
            self.config.account_currency("google"),
            self.config.account_timezone("google"),
        )

    def google_campaign_status(self, campaign_id: str) -> str:
        """`campaign.status` at `as_of`: PAUSED inside the campaign's pause, REMOVED after
        `delete_campaign`, else ENABLED."""
        if ("google", campaign_id) in self._deleted:
            return "REMOVED"
        zone = ZoneInfo(self.config.account_timezone("google"))
        day = self.as_of.astimezone(zone).date()
        index = (day - self.config.start_date).days
        for campaign in _catalog.GOOGLE_CAMPAIGNS:
            if campaign.id == campaign_id:
                return "ENABLED" if campaign.is_active(index) else "PAUSED"
        raise KeyError(campaign_id)

    @property
    def google_campaign_stats(self) -> list[dict[str, Any]]:
        """`GoogleAdsRow`s of campaign × day with every served field, by (date, campaign id).

        Rows whose metrics are all zero do not exist, as in the API.
        """
        with self._lock:
            if self._google_rows is None:
                ds = self._dataset()
                customer = self.google_customer
                status = {
                    c.id: self.google_campaign_status(c.id) for c in _catalog.GOOGLE_CAMPAIGNS
                }
                self._google_rows = [
                    google_row_json(r, customer, status[r.campaign.id]) for r in ds.google_stats
                ]
            return self._google_rows

    @property
    def google_ad_group_stats(self) -> list[dict[str, Any]]:
        """`GoogleAdsRow`s of ad group × day, by (date, campaign id); none for Performance Max.

        Each campaign-day's metrics are split over its ads exactly (`GoogleStat.ad_stats`); an
        ad group's are the sums of its ads'.
        """
        return self._google_ad_split()[0]

    @property
    def google_ad_stats(self) -> list[dict[str, Any]]:
        """`GoogleAdsRow`s of ad (`ad_group_ad`) × day, by (date, campaign id)."""
        return self._google_ad_split()[1]

    def _google_ad_split(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with self._lock:
            if self._google_ad_rows is None:
                customer = self.google_customer
                status = {
                    c.id: self.google_campaign_status(c.id) for c in _catalog.GOOGLE_CAMPAIGNS
                }
                groups: list[dict[str, Any]] = []
                ads: list[dict[str, Any]] = []
                for r in self._dataset().google_stats:
                    more_groups, more_ads = google_ad_rows_json(
                        r.ad_stats(), customer, status[r.campaign.id]
                    )
                    groups += more_groups
                    ads += more_ads
                self._google_ad_rows = (groups, ads)
            return self._google_ad_rows

    @property
    def tiktok_advertiser(self) -> dict[str, Any]:
        """The advertiser of `GET /open_api/v1.3/advertiser/info/` with the fields served."""
        zone = self.config.account_timezone("tiktok")
        offset = datetime(self.config.start_date.year, 1, 1, tzinfo=ZoneInfo(zone)).utcoffset()
        hours = int(offset.total_seconds() // 3600) if offset is not None else 0
        return {
            "advertiser_id": self.config.tiktok_advertiser_id,
            "name": f"{_catalog.VENDOR} - TikTok",
            "company": _catalog.VENDOR,
            "status": "STATUS_ENABLE",
            "role": "ROLE_ADVERTISER",
            "country": "US",
            "currency": self.config.account_currency("tiktok"),
            "timezone": zone,
            "display_timezone": f"UTC{hours:+03d}:00",
        }

    @property
    def tiktok_ad_stats(self) -> list[dict[str, Any]]:
        """Integrated-report rows (AUCTION_AD, by ad and day) with every metric, by (day, ad id).

        Rows with zero spend and zero impressions do not exist, as in the API.
        """
        with self._lock:
            if self._tiktok_rows is None:
                self._tiktok_rows = [tiktok_row_json(r) for r in self._dataset().tiktok_stats]
            return self._tiktok_rows

    @property
    def fairing_responses(self) -> list[dict[str, Any]]:
        """Survey responses as `GET /api/responses` records, newest first (`inserted_at`,
        then `id`, descending); responses to deleted orders stay."""
        with self._lock:
            if self._fairing_rows is None:
                ds = self._dataset()
                ordered = sorted(
                    ds.survey_responses, key=lambda r: (r.inserted_us, r.id), reverse=True
                )
                self._fairing_rows = [response_json(r, self.config.currency) for r in ordered]
            return self._fairing_rows
