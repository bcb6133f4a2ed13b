"""Day-by-day generation of orders and ad delivery.

Each day draws from its own RNG, seeded from (seed, day), and from the state earlier days left
behind (id counters, customer pool), so the data for a day never depends on later days.
"""

from __future__ import annotations

import base64
import math
import random
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from martlake.sandbox import _catalog as cat
from martlake.sandbox._records import (
    Address,
    Customer,
    GoogleStat,
    Insight,
    Line,
    Order,
    Phone,
    Refund,
    TikTokStat,
)

if TYPE_CHECKING:
    from martlake.sandbox.simulator import Platform, SimulatorConfig

TAX_PERCENT = 8
FREE_SHIPPING_FROM = 7500
SHIPPING_FEE = 595
META_SPEND_PER_ORDER = 11.0
GOOGLE_SPEND_PER_ORDER = 4.2
TIKTOK_SPEND_PER_ORDER = 2.1

ORDER_ID_BASE = 5_000_000_000
LINE_ID_BASE = 14_210_000_000_000
CUSTOMER_ID_BASE = 7_100_000_000_000
REFUND_ID_BASE = 910_000_000_000
REFUND_LINE_ID_BASE = 520_000_000_000
TRANSACTION_ID_BASE = 6_300_000_000_000
SHIPPING_LINE_ID_BASE = 4_400_000_000_000

_WEEKDAY = (0.93, 0.91, 0.94, 0.97, 1.05, 1.15, 1.13)
_MONTH = (0.86, 0.88, 0.96, 0.99, 1.01, 0.92, 0.87, 0.89, 0.98, 1.04, 1.22, 1.30)
_HOUR_WEIGHTS = (
    1.2, 0.8, 0.5, 0.35, 0.3, 0.4, 0.8, 1.5, 2.6, 3.3, 3.8, 4.2,
    4.6, 4.5, 4.2, 4.0, 4.1, 4.4, 5.0, 5.8, 6.4, 6.1, 4.6, 2.6,
)  # fmt: skip
_HOUR_CUM = tuple(accumulate(_HOUR_WEIGHTS))
_CHANNELS = ("meta", "google", "tiktok", "email", "referral", "other", "direct")
_CHANNEL_CUM = tuple(accumulate((0.35, 0.10, 0.05, 0.10, 0.10, 0.02, 0.28)))
_LINE_COUNT_CUM = tuple(accumulate((0.30, 0.33, 0.22, 0.15)))
_QTY_CUM = tuple(accumulate((0.80, 0.15, 0.05)))
_PRODUCT_CUM = tuple(accumulate(p.weight for p in cat.PRODUCTS))
_PLACE_CUM = tuple(accumulate(p[5] for p in cat.PLACES))
_META_SOURCES = ("facebook", "fb", "ig", "instagram", "Facebook", "IG")
_META_SOURCE_CUM = tuple(accumulate((0.45, 0.15, 0.15, 0.20, 0.03, 0.02)))
_META_REFERRERS = ("https://l.facebook.com/", "https://m.facebook.com/", "https://l.instagram.com/")
# Shopping and Performance Max clicks often land with auto-tagging only (no UTM template).
_GCLID_ONLY = {"SEARCH": 0.05, "SHOPPING": 0.35, "PERFORMANCE_MAX": 0.45}
_TTCLID_ONLY = 0.35
_META_SLUGS = {c.id: c.slug for c in cat.CAMPAIGNS}
_GOOGLE = {c.id: c for c in cat.GOOGLE_CAMPAIGNS}
_TIKTOK = {c.id: c for c in cat.TIKTOK_CAMPAIGNS}
_AD_PLATFORMS: tuple[Platform, ...] = ("meta", "google", "tiktok")
_NANP_STYLES = 6
_GB_STYLES = 4


def _seeded(seed: int, kind: str, ordinal: int) -> random.Random:
    return random.Random(f"martlake-sandbox:{seed}:{kind}:{ordinal}")


@lru_cache(maxsize=64)
def _special_days(year: int) -> dict[date, float]:
    first = date(year, 11, 1)
    thanksgiving = first + timedelta(days=(3 - first.weekday()) % 7 + 21)
    days = {
        thanksgiving: 0.85,
        thanksgiving + timedelta(days=1): 2.4,
        thanksgiving + timedelta(days=2): 1.7,
        thanksgiving + timedelta(days=3): 1.5,
        thanksgiving + timedelta(days=4): 2.0,
        thanksgiving + timedelta(days=5): 1.2,
        date(year, 12, 24): 0.7,
        date(year, 12, 25): 0.5,
        date(year, 12, 26): 0.9,
    }
    for offset in range(18, 23):
        days.setdefault(date(year, 12, offset), 1.15)
    return days


def bfcm_window(day: date) -> bool:
    """Whether `day` is in the Black Friday to Cyber Monday sale."""
    first = date(day.year, 11, 1)
    thanksgiving = first + timedelta(days=(3 - first.weekday()) % 7 + 21)
    return thanksgiving <= day <= thanksgiving + timedelta(days=4)


def yearly_factor(day: date) -> float:
    """Smooth month-by-month seasonality with holiday spikes (1.0 = an average day)."""
    days_in_month = ((day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(1)).day
    x = day.month - 1 + (day.day - 0.5) / days_in_month - 0.5
    i = math.floor(x)
    frac = x - i
    base = _MONTH[i % 12] * (1 - frac) + _MONTH[(i + 1) % 12] * frac
    return base * _special_days(day.year).get(day, 1.0)


def expected_orders(config: SimulatorConfig, day: date) -> float:
    """Average number of orders on `day`, before noise."""
    years = (day - config.start_date).days / 365.25
    growth = math.pow(1 + config.growth, years)
    return config.orders_per_day * growth * _WEEKDAY[day.weekday()] * yearly_factor(day)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam >= 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _lognormal(rng: random.Random, sigma: float) -> float:
    return math.exp(rng.gauss(-sigma * sigma / 2, sigma))


def _token(rng: random.Random, n_bytes: int) -> str:
    return base64.urlsafe_b64encode(rng.getrandbits(n_bytes * 8).to_bytes(n_bytes, "big")).decode()


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split `total` cents proportionally to `weights`, exactly, by largest remainder."""
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [0] * len(weights)
    shares = [total * w // weight_sum for w in weights]
    short = total - sum(shares)
    if short:
        order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % weight_sum), i))
        for i in order[:short]:
            shares[i] += 1
    return shares


def percent_of(cents: int, percent: int) -> int:
    """`percent` % of `cents`, rounded half up to the cent."""
    return (cents * percent + 50) // 100


def format_phone(phone: Phone, style: int) -> str:
    """Render a phone number in one of the formats people type."""
    country, area, number = phone
    if country == "1":
        a, b, c = area, number[:3], number[3:]
        return (
            f"+1 {a}-{b}-{c}",
            f"({a}) {b} {c}",
            f"{a}.{b}.{c}",
            f"+1{a}{b}{c}",
            f"{a}-{b}-{c}",
            f"1 ({a}) {b}-{c}",
        )[style % _NANP_STYLES]
    half = len(number) // 2
    return (
        f"+{country} {area} {number[:half]} {number[half:]}",
        f"0{area} {number}",
        f"+{country}{area}{number}",
        f"(0{area}) {number[:half]} {number[half:]}",
    )[style % _GB_STYLES]


class Generated(NamedTuple):
    """Everything the generator made, before `as_of` hides the future."""

    orders: list[Order]
    insights: list[Insight]
    google: list[GoogleStat]
    tiktok: list[TikTokStat]


class _Picker:
    """Draws a campaign (and for Meta an ad) in proportion to what it spent that day."""

    def __init__(self, spend: list[tuple[str, str, int]]) -> None:
        by_campaign: dict[str, list[tuple[str, int]]] = {}
        for campaign_id, entity_id, cents in spend:
            if cents > 0:
                by_campaign.setdefault(campaign_id, []).append((entity_id, cents))
        self.ids = list(by_campaign)
        self._cum = list(accumulate(sum(c for _, c in v) for v in by_campaign.values()))
        self._entities = by_campaign

    def campaign(self, rng: random.Random) -> str | None:
        if not self.ids:
            return None
        return self.ids[bisect(self._cum, rng.random() * self._cum[-1])]

    def entity(self, rng: random.Random, campaign_id: str) -> str:
        entities = self._entities[campaign_id]
        cum = list(accumulate(c for _, c in entities))
        return entities[bisect(cum, rng.random() * cum[-1])][0]


def _daily_budget(config: SimulatorConfig, day: date, per_order: float) -> float:
    years = (day - config.start_date).days / 365.25
    return (
        config.orders_per_day
        * per_order
        * math.pow(1 + config.growth, years)
        * math.sqrt(_WEEKDAY[day.weekday()])
        * math.pow(yearly_factor(day), 0.8)
    )


@dataclass
class _State:
    order_seq: int = 0
    order_id: int = ORDER_ID_BASE
    line_seq: int = 0
    customers: list[Customer] = field(default_factory=list)


class Generator:
    """Generates a business one day at a time; `run()` returns every order and insight row."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.tz = ZoneInfo(config.timezone)
        self.ad_tz = {p: ZoneInfo(config.account_timezone(p)) for p in _AD_PLATFORMS}
        # Ad accounts in another timezone report their own days: those overlapping the shop's
        # first to last instant, so an account ahead of the shop has a (partial) extra day.
        shop_end = datetime.combine(
            config.end_date + timedelta(days=1), datetime.min.time(), self.tz
        )
        self.ad_last_day = {
            p: (shop_end - timedelta(microseconds=1)).astimezone(tz).date()
            for p, tz in self.ad_tz.items()
        }
        self.state = _State()
        self._customer_index = 0
        self._seed_customers()

    def run(self) -> Generated:
        out = Generated([], [], [], [])
        last = self.ad_last_day
        day = self.config.start_date
        while day <= max(self.config.end_date, *last.values()):
            day_insights = self._ads_day(day) if day <= last["meta"] else []
            day_google = self._google_day(day) if day <= last["google"] else []
            day_tiktok = self._tiktok_day(day) if day <= last["tiktok"] else []
            out.insights.extend(day_insights)
            out.google.extend(day_google)
            out.tiktok.extend(day_tiktok)
            if day <= self.config.end_date:
                out.orders.extend(self._orders_day(day, day_insights, day_google, day_tiktok))
            day += timedelta(days=1)
        return out

    def _day_bounds(self, day: date, tz: ZoneInfo | None = None) -> tuple[int, int]:
        zone = tz or self.tz
        start = datetime(day.year, day.month, day.day, tzinfo=zone)
        nxt = day + timedelta(days=1)
        end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
        return int(start.timestamp()), int(end.timestamp())

    def _iso(self, ts: int) -> str:
        return datetime.fromtimestamp(ts, self.tz).isoformat()

    def _seed_customers(self) -> None:
        cfg = self.config
        rng = _seeded(cfg.seed, "customers", cfg.start_date.toordinal())
        start_ts, _ = self._day_bounds(cfg.start_date)
        for _ in range(max(20, int(cfg.orders_per_day * 30))):
            created = start_ts - 86_400 - int(rng.random() * 729 * 86_400)
            self.state.customers.append(self._new_customer(rng, self._iso(created)))

    def _new_customer(self, rng: random.Random, created_at: str) -> Customer:
        rand = rng.random
        self._customer_index += 1
        n = self._customer_index
        fi, li = int(rand() * len(cat.FIRST_NAMES)), int(rand() * len(cat.LAST_NAMES))
        first, last = cat.FIRST_NAMES[fi], cat.LAST_NAMES[li]
        f, la = cat.FIRST_NAMES_ASCII[fi], cat.LAST_NAMES_ASCII[li]
        pattern = int(rand() * 4)
        sep = (".", "", "", "_")[pattern]
        head = f[0] if pattern == 2 else f
        domain = cat.EMAIL_DOMAINS[int(rand() * len(cat.EMAIL_DOMAINS))]
        canonical = f"{head}{sep}{la}{n}@{domain}"
        email = canonical
        if rand() < 0.1:
            email = f"{head.capitalize()}{sep}{la.capitalize()}{n}@{domain.capitalize()}"
        address = self._address(rand, first, last)
        phone = self._phone(rand, address) if rand() < 0.75 else None
        return Customer(
            id=CUSTOMER_ID_BASE + n * 7,
            first_name=first,
            last_name=last,
            email=email,
            email_canonical=canonical,
            phone=phone,
            phone_style=int(rand() * 12),
            created_at=created_at,
            address=address,
        )

    @staticmethod
    def _address(rand: Callable[[], float], first: str, last: str) -> Address:
        country, province, city, zip_head, _, _ = cat.PLACES[
            bisect(_PLACE_CUM, rand() * _PLACE_CUM[-1])
        ]
        digit, letter = int(rand() * 10), chr(65 + int(rand() * 26))
        if country == "US":
            zip_code = f"{zip_head}{digit}{int(rand() * 10)}"
        elif country == "CA":
            zip_code = f"{zip_head} {digit}{letter}{int(rand() * 10)}"
        else:
            zip_code = f"{zip_head} {digit}{letter}{chr(65 + int(rand() * 26))}"
        street = f"{1 + int(rand() * 9800)} {cat.STREETS[int(rand() * len(cat.STREETS))]}"
        return (first, last, street, city, province, country, zip_code)

    @staticmethod
    def _phone(rand: Callable[[], float], address: Address) -> Phone:
        area = cat.AREA_CODES[address[3]]
        if address[5] == "GB":
            width = 10 - len(area)
            return ("44", area, f"{int(rand() * 10**width):0{width}d}")
        return ("1", area, f"{2 + int(rand() * 8)}{int(rand() * 10**6):06d}")

    def _order_email(self, rng: random.Random, customer: Customer) -> str:
        if rng.random() < 0.85:
            return customer.email
        variant = int(rng.random() * 4)
        if variant == 0:
            return customer.email_canonical.upper()
        if variant == 1:
            return f" {customer.email}"
        if variant == 2:
            return f"{customer.email} "
        local, _, domain = customer.email_canonical.partition("@")
        return f"{local.title()}@{domain.title()}"

    def _ads_day(self, day: date) -> list[Insight]:
        cfg = self.config
        rng = _seeded(cfg.seed, "meta", day.toordinal())
        day_index = (day - cfg.start_date).days
        start_ts, end_ts = self._day_bounds(day, self.ad_tz["meta"])
        years = day_index / 365.25
        total = (
            cfg.orders_per_day
            * META_SPEND_PER_ORDER
            * math.pow(1 + cfg.growth, years)
            * math.sqrt(_WEEKDAY[day.weekday()])
            * yearly_factor(day) ** 0.8
        )
        peak_cpm = 1.3 if (day.month == 11 and day.day >= 15) or day.month == 12 else 1.0
        rows: list[Insight] = []
        for campaign in cat.CAMPAIGNS:
            campaign_budget = total * campaign.share * _lognormal(rng, 0.12) * 100
            cpm = campaign.cpm * peak_cpm * _lognormal(rng, 0.1)
            draws = [(rng.random(), _lognormal(rng, 0.25), rng.random()) for _ in campaign.ads]
            if not campaign.is_active(day_index):
                continue
            for ad, (dark, noise, tiny) in zip(campaign.ads, draws, strict=True):
                if dark < 0.02:
                    continue
                spend = round(campaign_budget * ad.weight * noise)
                if tiny < 0.01:
                    spend = 0
                    impressions = 1 + int(40 * noise)
                else:
                    impressions = round(spend / 100 / cpm * 1000)
                clicks = round(impressions * campaign.ctr * _lognormal(rng, 0.15))
                link_clicks = round(clicks * 0.85)
                views = round(link_clicks * 0.7)
                carts = round(link_clicks * campaign.cvr * 3.2 * _lognormal(rng, 0.2))
                purchases = round(link_clicks * campaign.cvr * _lognormal(rng, 0.3))
                value = purchases * round(9200 * _lognormal(rng, 0.15))
                rows.append(
                    Insight(
                        day,
                        start_ts,
                        end_ts,
                        campaign,
                        ad,
                        spend,
                        impressions,
                        clicks,
                        link_clicks,
                        views,
                        carts,
                        purchases,
                        value,
                    )  # fmt: skip
                )
        return rows

    def _google_day(self, day: date) -> list[GoogleStat]:
        rng = _seeded(self.config.seed, "google", day.toordinal())
        day_index = (day - self.config.start_date).days
        start_ts, end_ts = self._day_bounds(day, self.ad_tz["google"])
        total = _daily_budget(self.config, day, GOOGLE_SPEND_PER_ORDER) * 100
        peak_cpc = 1.25 if (day.month == 11 and day.day >= 15) or day.month == 12 else 1.0
        rows: list[GoogleStat] = []
        for campaign in cat.GOOGLE_CAMPAIGNS:
            budget, cpc_noise, ctr_noise, cvr_noise, aov_noise, tiny = (
                _lognormal(rng, 0.1),
                _lognormal(rng, 0.12),
                _lognormal(rng, 0.15),
                _lognormal(rng, 0.3),
                _lognormal(rng, 0.15),
                rng.random(),
            )
            if not campaign.is_active(day_index):
                continue
            # Real cost is whole micros, not whole cents: staging rounds it once per campaign-day.
            cost_micros = round(total * campaign.share * budget * 10_000)
            clicks = round(cost_micros / 10_000 / (campaign.cpc * peak_cpc * cpc_noise))
            if tiny < 0.01:
                cost_micros, clicks = 0, 0
                impressions = 1 + int(30 * ctr_noise)
            else:
                impressions = round(clicks / (campaign.ctr * ctr_noise))
            # Data-driven attribution splits credit, so conversions are fractional.
            conversions = round(clicks * campaign.cvr * cvr_noise, 2)
            value = round(conversions * 94.0 * aov_noise, 2)
            row = GoogleStat(
                day,
                start_ts,
                end_ts,
                campaign,
                cost_micros,
                impressions,
                clicks,
                conversions,
                value,
            )
            if not row.is_empty():
                rows.append(row)
        return rows

    def _tiktok_day(self, day: date) -> list[TikTokStat]:
        rng = _seeded(self.config.seed, "tiktok", day.toordinal())
        day_index = (day - self.config.start_date).days
        start_ts, end_ts = self._day_bounds(day, self.ad_tz["tiktok"])
        total = _daily_budget(self.config, day, TIKTOK_SPEND_PER_ORDER) * 100
        rows: list[TikTokStat] = []
        for campaign in cat.TIKTOK_CAMPAIGNS:
            budget, cpm = _lognormal(rng, 0.15), campaign.cpm * _lognormal(rng, 0.1)
            draws = [
                (rng.random(), _lognormal(rng, 0.3), _lognormal(rng, 0.35)) for _ in campaign.ads
            ]
            if not campaign.is_active(day_index):
                continue
            for ad, (dark, noise, cvr_noise) in zip(campaign.ads, draws, strict=True):
                if dark < 0.03:
                    continue
                spend = round(total * campaign.share * budget * ad.weight * noise)
                impressions = round(spend / 100 / cpm * 1000)
                clicks = round(impressions * campaign.ctr * noise**0.5)
                conversions = round(clicks * campaign.cvr * cvr_noise)
                value = conversions * round(8600 * _lognormal(rng, 0.15))
                if spend or impressions:
                    rows.append(
                        TikTokStat(
                            day,
                            start_ts,
                            end_ts,
                            campaign,
                            ad,
                            spend,
                            impressions,
                            clicks,
                            conversions,
                            value,
                        )  # fmt: skip
                    )
        return rows

    def _orders_day(
        self,
        day: date,
        insights: list[Insight],
        google: list[GoogleStat],
        tiktok: list[TikTokStat],
    ) -> list[Order]:
        cfg = self.config
        state = self.state
        rng = _seeded(cfg.seed, "orders", day.toordinal())
        rand = rng.random
        start_ts, end_ts = self._day_bounds(day)
        length = end_ts - start_ts
        count = _poisson(rng, expected_orders(cfg, day))
        hour_total = _HOUR_CUM[-1]
        offsets = sorted(
            int((bisect(_HOUR_CUM, rand() * hour_total) + rand()) / 24 * length)
            for _ in range(count)
        )
        pickers = {
            "meta": _Picker([(r.campaign.id, r.ad.id, r.spend) for r in insights]),
            "google": _Picker([(r.campaign.id, r.campaign.id, r.spend) for r in google]),
            "tiktok": _Picker([(r.campaign.id, r.ad.id, r.spend) for r in tiktok]),
        }
        discount_rate = 0.45 if bfcm_window(day) else 0.15
        orders: list[Order] = []
        for offset in offsets:
            ts = start_ts + offset
            created_at = self._iso(ts)
            state.order_seq += 1
            state.order_id += 1 + int(rand() * 40)
            seq = state.order_seq

            customer, is_new, email, phone, address = self._buyer(rng, created_at)
            lines = self._basket(rand)
            gross = sum(line.gross for line in lines)

            code: cat.DiscountCode | None = None
            if rand() < discount_rate:
                code = self._pick_code(rng, day, is_new, customer is not None and not is_new)
            discount = percent_of(gross, code.percent) if code else 0
            if discount:
                for line, share in zip(
                    lines, allocate(discount, [ln.gross for ln in lines]), strict=True
                ):
                    line.discount = share
            subtotal = gross - discount
            shipping = 0 if subtotal >= FREE_SHIPPING_FROM else SHIPPING_FEE
            tax = percent_of(subtotal, TAX_PERCENT)
            for line, share in zip(
                lines, allocate(tax, [ln.gross - ln.discount for ln in lines]), strict=True
            ):
                line.tax = share

            channel = _CHANNELS[bisect(_CHANNEL_CUM, rand() * _CHANNEL_CUM[-1])]
            landing, referrer, campaign_id = self._attribution(
                rng, channel, lines[0].product, pickers
            )

            refund: Refund | None = None
            if rand() < 0.07:
                refund = self._refund(rng, seq, ts, lines)
            orders.append(
                Order(
                    seq=seq,
                    id=state.order_id,
                    number=1000 + seq,
                    ts=ts,
                    created_at=created_at,
                    local_date=day,
                    customer=customer,
                    is_new_customer=is_new,
                    email=email,
                    phone=phone,
                    address=address,
                    lines=lines,
                    gross=gross,
                    discount=discount,
                    subtotal=subtotal,
                    shipping=shipping,
                    tax=tax,
                    total=subtotal + shipping + tax,
                    code=code,
                    landing_site=landing,
                    referring_site=referrer,
                    channel=channel,
                    campaign_id=campaign_id,
                    fulfilled_ts=ts + 4 * 3600 + int(rand() * 56 * 3600),
                    refund=refund,
                )
            )
        return orders

    def _buyer(
        self, rng: random.Random, created_at: str
    ) -> tuple[Customer | None, bool, str, str | None, Address]:
        """Who checks out: (customer or None for a guest, is new, email, phone, address)."""
        rand = rng.random
        r = rand()
        if r < 0.03:
            guest = self._new_customer(rng, created_at)
            phone = format_phone(guest.phone, guest.phone_style) if guest.phone else None
            return None, False, self._order_email(rng, guest), phone, guest.address
        pool = self.state.customers
        is_new = not (r < 0.33 and pool)
        if is_new:
            customer = self._new_customer(rng, created_at)
            pool.append(customer)
        else:
            n = len(pool)
            customer = pool[n - 1 - int(n * rand() ** 2.2)]
        email = self._order_email(rng, customer)
        phone = None
        if customer.phone and rand() < 0.6:
            style = customer.phone_style if rand() < 0.7 else int(rand() * 12)
            phone = format_phone(customer.phone, style)
        return customer, is_new, email, phone, customer.address

    def _basket(self, rand: Callable[[], float]) -> list[Line]:
        n_lines = bisect(_LINE_COUNT_CUM, rand() * _LINE_COUNT_CUM[-1]) + 1
        picked: list[cat.Product] = []
        picked_ids: set[int] = set()
        for _ in range(n_lines * 3):
            product = cat.PRODUCTS[bisect(_PRODUCT_CUM, rand() * _PRODUCT_CUM[-1])]
            if product.id not in picked_ids:
                picked.append(product)
                picked_ids.add(product.id)
                if len(picked) == n_lines:
                    break
        lines: list[Line] = []
        for product in picked:
            variant = product.variants[int(rand() * len(product.variants))]
            qty = bisect(_QTY_CUM, rand() * _QTY_CUM[-1]) + 1
            self.state.line_seq += 1
            lines.append(
                Line(
                    id=LINE_ID_BASE + self.state.line_seq * 3,
                    product=product,
                    variant=variant,
                    quantity=qty,
                    price=variant.price,
                    gross=variant.price * qty,
                    discount=0,
                    tax=0,
                )
            )
        return lines

    @staticmethod
    def _pick_code(
        rng: random.Random, day: date, is_new: bool, is_returning: bool
    ) -> cat.DiscountCode:
        if bfcm_window(day) and rng.random() < 0.7:
            return next(c for c in cat.DISCOUNT_CODES if c.code == "BFCM25")
        eligible = [
            c
            for c in cat.DISCOUNT_CODES
            if (c.months is None or day.month in c.months)
            and (not c.new_only or is_new)
            and (not c.returning_only or is_returning)
        ]
        return rng.choice(eligible)

    def _refund(self, rng: random.Random, seq: int, ts: int, lines: list[Line]) -> Refund:
        line = lines[int(rng.random() * len(lines))]
        qty = (
            line.quantity
            if line.quantity == 1 or rng.random() < 0.5
            else rng.randint(1, line.quantity - 1)
        )
        share = line.discount if qty == line.quantity else line.discount * qty // line.quantity
        subtotal = line.price * qty - share
        refund_ts = ts + rng.randint(3, 30) * 86_400 + rng.randrange(-6 * 3600, 6 * 3600)
        return Refund(
            id=REFUND_ID_BASE + seq * 11,
            line_item_id=line.id,
            refund_line_id=REFUND_LINE_ID_BASE + seq * 13,
            transaction_id=TRANSACTION_ID_BASE + seq * 17,
            quantity=qty,
            subtotal=subtotal,
            tax=percent_of(subtotal, TAX_PERCENT),
            full=len(lines) == 1 and qty == line.quantity,
            ts=refund_ts,
            local_date=datetime.fromtimestamp(refund_ts, self.tz).date(),
            note=rng.choice(cat.REFUND_NOTES),
        )

    @staticmethod
    def _attribution(
        rng: random.Random, channel: str, product: cat.Product, pickers: dict[str, _Picker]
    ) -> tuple[str | None, str | None, str | None]:
        r = rng.random()
        path = (
            f"/products/{product.slug}"
            if r < 0.6
            else ("/", "/collections/all", "/collections/new-arrivals")[int(r * 10) % 3]
        )
        if channel == "meta":
            source = _META_SOURCES[bisect(_META_SOURCE_CUM, rng.random() * _META_SOURCE_CUM[-1])]
            fbclid = f"IwAR{_token(rng, 30)}"
            referrer = rng.choice(_META_REFERRERS) if rng.random() < 0.5 else None
            meta = pickers["meta"]
            if not meta.ids or rng.random() < 0.12:
                return f"{path}?fbclid={fbclid}", referrer, None
            cid = meta.campaign(rng)
            assert cid is not None
            ad_id = meta.entity(rng, cid)
            medium = "paid_social" if rng.random() < 0.9 else "paid"
            query = (
                f"utm_source={source}&utm_medium={medium}&utm_campaign={_META_SLUGS[cid]}"
                f"&utm_id={cid}&utm_content={ad_id}&fbclid={fbclid}"
            )
            return f"{path}?{query}", referrer, cid
        if channel == "google":
            gclid = f"Cj0KCQjw{_token(rng, 24)}"
            referrer = "https://www.google.com/" if rng.random() < 0.5 else None
            gid = pickers["google"].campaign(rng)
            untagged = rng.random()
            if gid is None or untagged < _GCLID_ONLY[_GOOGLE[gid].channel_type]:
                return f"{path}?gclid={gclid}", referrer, None
            query = (
                f"utm_source=google&utm_medium=cpc&utm_campaign={_GOOGLE[gid].slug}"
                f"&utm_id={gid}&gclid={gclid}"
            )
            return f"{path}?{query}", referrer, gid
        if channel == "tiktok":
            ttclid = f"E.C.P.{_token(rng, 27)}"
            tid = pickers["tiktok"].campaign(rng)
            if tid is None or rng.random() < _TTCLID_ONLY:
                return f"{path}?ttclid={ttclid}", None, None
            query = (
                f"utm_source=tiktok&utm_medium=paid_social&utm_campaign={_TIKTOK[tid].slug}"
                f"&utm_id={tid}&ttclid={ttclid}"
            )
            return f"{path}?{query}", None, tid
        if channel == "email":
            flow = rng.choice(cat.EMAIL_CAMPAIGNS)
            source = "klaviyo" if rng.random() < 0.85 else "newsletter"
            return f"{path}?utm_source={source}&utm_medium=email&utm_campaign={flow}", None, None
        if channel == "referral":
            return path, rng.choice(cat.REFERRERS), None
        if channel == "other":
            return f"{path}?utm_source=pinterest&utm_medium=social", None, None
        return path, (None if rng.random() < 0.6 else ""), None
