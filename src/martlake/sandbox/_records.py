"""Compact internal records the simulator generates and the renderers turn into API JSON."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date

from martlake.sandbox._catalog import (
    GOOGLE_ADS,
    Ad,
    Campaign,
    DiscountCode,
    GoogleAd,
    GoogleCampaign,
    Product,
    TikTokAd,
    TikTokCampaign,
    Variant,
)

Address = tuple[str, str, str, str, str, str, str]
"""first_name, last_name, address1, city, province_code, country_code, zip."""
Phone = tuple[str, str, str]
"""country code, area code, subscriber number (digits only)."""


@dataclass(slots=True)
class Customer:
    id: int
    first_name: str
    last_name: str
    email: str
    email_canonical: str
    phone: Phone | None
    phone_style: int
    created_at: str
    address: Address


@dataclass(slots=True)
class Line:
    id: int
    product: Product
    variant: Variant
    quantity: int
    price: int
    gross: int
    discount: int
    tax: int


@dataclass(slots=True)
class Refund:
    id: int
    line_item_id: int
    refund_line_id: int
    transaction_id: int
    quantity: int
    subtotal: int
    tax: int
    full: bool
    ts: int
    local_date: date
    note: str | None


@dataclass(slots=True)
class Order:
    seq: int
    id: int
    number: int
    ts: int
    created_at: str
    local_date: date
    customer: Customer | None
    is_new_customer: bool
    email: str
    phone: str | None
    address: Address
    lines: list[Line]
    gross: int
    discount: int
    subtotal: int
    shipping: int
    tax: int
    total: int
    code: DiscountCode | None
    landing_site: str | None
    referring_site: str | None
    channel: str
    campaign_id: str | None
    fulfilled_ts: int
    refund: Refund | None


@dataclass(slots=True)
class Insight:
    day: date
    day_start_ts: int
    day_end_ts: int
    campaign: Campaign
    ad: Ad
    spend: int
    impressions: int
    clicks: int
    link_clicks: int
    landing_page_views: int
    add_to_carts: int
    purchases: int
    purchase_value: int

    def scaled(self, fraction: float) -> Insight:
        """This row as reported part-way through its day."""

        def part(value: int) -> int:
            return int(value * fraction)

        purchases = part(self.purchases)
        return Insight(
            self.day,
            self.day_start_ts,
            self.day_end_ts,
            self.campaign,
            self.ad,
            part(self.spend),
            part(self.impressions),
            part(self.clicks),
            part(self.link_clicks),
            part(self.landing_page_views),
            part(self.add_to_carts),
            purchases,
            self.purchase_value * purchases // self.purchases if self.purchases else 0,
        )

    def is_empty(self) -> bool:
        return not (self.spend or self.impressions)


@dataclass(slots=True)
class GoogleStat:
    """One Google Ads campaign × day; cost in micros (not whole cents, as in real accounts),
    conversions as the API's doubles."""

    day: date
    day_start_ts: int
    day_end_ts: int
    campaign: GoogleCampaign
    cost_micros: int
    impressions: int
    clicks: int
    conversions: float
    conversions_value: float

    @property
    def spend(self) -> int:
        """Cost in cents, rounded half-even once per campaign-day, as staging rounds it."""
        return micros_to_cents(self.cost_micros)

    def scaled(self, fraction: float) -> GoogleStat:
        """This row as reported part-way through its day."""
        return GoogleStat(
            self.day,
            self.day_start_ts,
            self.day_end_ts,
            self.campaign,
            int(self.cost_micros * fraction),
            int(self.impressions * fraction),
            int(self.clicks * fraction),
            round(self.conversions * fraction, 2),
            round(self.conversions_value * fraction, 2),
        )

    def is_empty(self) -> bool:
        return not (self.cost_micros or self.impressions or self.clicks or self.conversions)

    def ad_stats(self) -> list[GoogleAdStat]:
        """This campaign-day split over its ads, sums exact; none for Performance Max.

        Each ad's share is its catalog weight times a deterministic daily jitter; cost (in
        micros), counts and conversions (in hundredths) go by largest remainder. Ads left
        with no activity are absent, as in the API.
        """
        ads = GOOGLE_ADS.get(self.campaign.id, ())
        if not ads:
            return []
        day = self.day.isoformat()
        weights = [ad.weight * (750 + zlib.crc32(f"{day}:{ad.id}".encode()) % 500) for ad in ads]
        parts = zip(
            ads,
            split_exact(self.cost_micros, weights),
            split_exact(self.impressions, weights),
            split_exact(self.clicks, weights),
            split_exact(round(self.conversions * 100), weights),
            split_exact(round(self.conversions_value * 100), weights),
            strict=True,
        )
        return [
            GoogleAdStat(self, ad, micros, impressions, clicks, conversions, value)
            for ad, micros, impressions, clicks, conversions, value in parts
            if micros or impressions or clicks or conversions
        ]


@dataclass(frozen=True, slots=True)
class GoogleAdStat:
    """One Google ad × day: cost in micros, conversions and their value in hundredths."""

    stat: GoogleStat
    ad: GoogleAd
    cost_micros: int
    impressions: int
    clicks: int
    conversions: int
    conversions_value: int


def micros_to_cents(micros: int) -> int:
    """Micros to whole cents, half-even (what `micros_to_money` does in staging).

    >>> micros_to_cents(8_665_000), micros_to_cents(8_675_000), micros_to_cents(12_345_678)
    (866, 868, 1235)
    """
    cents, rest = divmod(micros, 10_000)
    if rest > 5_000 or (rest == 5_000 and cents % 2):
        cents += 1
    return cents


def split_exact(total: int, weights: list[int]) -> list[int]:
    """`total` split in proportion to `weights`, largest remainder first, summing to `total`.

    >>> split_exact(10, [1, 1, 1]), split_exact(0, [3, 1])
    ([4, 3, 3], [0, 0])
    """
    whole = sum(weights)
    parts = [total * w // whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


@dataclass(slots=True)
class TikTokStat:
    """One TikTok ad × day; `spend` and `value` (complete payment value) in cents."""

    day: date
    day_start_ts: int
    day_end_ts: int
    campaign: TikTokCampaign
    ad: TikTokAd
    spend: int
    impressions: int
    clicks: int
    conversions: int
    value: int

    def scaled(self, fraction: float) -> TikTokStat:
        """This row as reported part-way through its day."""
        conversions = int(self.conversions * fraction)
        return TikTokStat(
            self.day,
            self.day_start_ts,
            self.day_end_ts,
            self.campaign,
            self.ad,
            int(self.spend * fraction),
            int(self.impressions * fraction),
            int(self.clicks * fraction),
            conversions,
            self.value * conversions // self.conversions if self.conversions else 0,
        )

    def is_empty(self) -> bool:
        return not (self.spend or self.impressions)


@dataclass(slots=True)
class SurveyResponse:
    """One Fairing response: the answer to one survey question for one order.

    `response` is None when the customer chose "Other" (`other`, with `other_response`);
    `inserted_us` is when Fairing received it, in microseconds since the epoch (UTC).
    """

    id: str
    question_id: int
    question: str
    question_type: str
    clarification_question: bool
    referring_question_id: int | None
    referring_question_response: str | None
    response_id: int | None
    response: str | None
    other: bool
    other_response: str | None
    order: Order
    customer_order_count: int
    inserted_us: int


@dataclass(slots=True)
class Dataset:
    """What exists at `as_of`: visible orders (by id), ad rows (by day, then entity id) and
    survey responses."""

    orders: list[Order]
    insights: list[Insight]
    as_of_ts: float
    timezone: str
    currency: str
    shop_domain: str
    shop_name: str
    account_id: str
    account_name: str
    google_stats: list[GoogleStat] = field(default_factory=list)
    tiktok_stats: list[TikTokStat] = field(default_factory=list)
    survey_responses: list[SurveyResponse] = field(default_factory=list)
    """Survey responses received by `as_of`, in the order they were drawn; kept when their
    order is deleted."""
