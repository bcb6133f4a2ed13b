"""Static definitions of the simulated shop: products, campaigns, people, places."""

from __future__ import annotations

import unicodedata
import zlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Variant:
    id: int
    title: str | None
    sku: str
    price: int
    grams: int
    unit_cost: int | None
    """What one unit costs the shop, in cents (Shopify's `InventoryItem.cost`); None: unset."""
    inventory_item_id: int


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    title: str
    slug: str
    vendor: str
    weight: float
    variants: tuple[Variant, ...]


@dataclass(frozen=True, slots=True)
class Ad:
    id: str
    name: str
    adset_id: str
    adset_name: str
    weight: float


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    name: str
    slug: str
    share: float
    cpm: float
    ctr: float
    cvr: float
    ads: tuple[Ad, ...]
    active_from: int = 0
    paused: tuple[int, int] | None = None

    def is_active(self, day_index: int) -> bool:
        if day_index < self.active_from:
            return False
        return self.paused is None or not self.paused[0] <= day_index < self.paused[1]


@dataclass(frozen=True, slots=True)
class DiscountCode:
    code: str
    percent: int
    months: frozenset[int] | None
    returning_only: bool
    new_only: bool


_PRODUCT_SPECS: tuple[tuple[str, str, float, tuple[tuple[str | None, int], ...]], ...] = (
    ("Everyday Tee", "TEE", 9.0, (("S", 2800), ("M", 2800), ("L", 2800), ("XL", 3000))),
    ("Merino Crew Socks", "SOCK", 10.0, (("S", 1800), ("M", 1800), ("L", 1800))),
    ("Canvas Tote", "TOTE", 5.0, (("Natural", 3400), ("Black", 3400))),
    ("Insulated Bottle 750ml", "BTL", 8.0, (("Sage", 3900), ("Slate", 3900), ("Sand", 3900))),
    ("Trail Cap", "CAP", 5.0, ((None, 2900),)),
    ("Lip Balm Trio", "LIP", 7.0, ((None, 1200),)),
    ("Sticker Pack", "STK", 6.0, ((None, 900),)),
    ("Enamel Camp Mug", "MUG", 6.0, (("White", 2400), ("Navy", 2400))),
    ("Fleece Pullover", "FLC", 4.0, (("S", 8900), ("M", 8900), ("L", 8900), ("XL", 9400))),
    ("Rain Shell Jacket", "RSJ", 2.0, (("S", 15900), ("M", 15900), ("L", 15900), ("XL", 16900))),
    ("Down Vest", "VST", 2.5, (("S", 12900), ("M", 12900), ("L", 12900))),
    ("Weekender Duffel", "DUF", 1.2, (("Black", 18000), ("Olive", 18000))),
    ("Wool Beanie", "BNE", 5.0, (("Charcoal", 2600), ("Rust", 2600), ("Oat", 2600))),
    ("Hiking Shorts", "SHT", 4.0, (("30", 5400), ("32", 5400), ("34", 5400), ("36", 5400))),
    ("Linen Shirt", "LIN", 3.5, (("S", 6800), ("M", 6800), ("L", 6800), ("XL", 6800))),
    ("Organic Hoodie", "HOD", 4.5, (("S", 7400), ("M", 7400), ("L", 7400), ("XL", 7900))),
    ("Travel Pouch Set", "PCH", 4.0, ((None, 3200),)),
    ("Camp Blanket", "BLK", 2.5, (("Plaid", 9800), ("Solid", 9200))),
    ("Bamboo Utensil Kit", "UTK", 5.0, ((None, 1600),)),
    ("Sunscreen Stick SPF 50", "SPF", 7.0, ((None, 1400),)),
    ("Leather Card Wallet", "WAL", 3.0, (("Tan", 4500), ("Black", 4500))),
    ("Daypack 20L", "DPK", 2.0, (("Black", 11000), ("Forest", 11000))),
    ("Campfire Candle", "CDL", 4.5, (("8 oz", 2200), ("12 oz", 3200))),
    ("Wool Gloves", "GLV", 3.0, (("S", 3800), ("M", 3800), ("L", 3800))),
    ("Field Notebook 3-Pack", "NBK", 5.0, ((None, 1500),)),
)

VENDOR = "Northtrail Supply"


def _slugify(text: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in text.lower())
    return "-".join(part for part in out.split("-") if part)


def cost_ratio(title: str) -> float:
    """Unit cost over price of a product, in [0.28, 0.46]: fixed by its title (CRC-32, since
    `hash` of a str changes between processes).

    >>> 0.28 <= cost_ratio("Everyday Tee") <= 0.46
    True
    """
    return 0.28 + 0.18 * (zlib.crc32(title.encode()) % 1001) / 1000


def _build_products() -> tuple[Product, ...]:
    products: list[Product] = []
    for p_index, (title, sku_stem, weight, variant_specs) in enumerate(_PRODUCT_SPECS, start=1):
        ratio = cost_ratio(title)
        variants = tuple(
            Variant(
                id=45_120_000_000_000 + p_index * 100 + v_index,
                title=v_title,
                sku=f"{sku_stem}-{_slugify(v_title).upper() if v_title else 'OS'}",
                price=price,
                grams=150 + price // 40,
                unit_cost=round(price * ratio),
                inventory_item_id=47_230_000_000_000 + p_index * 100 + v_index,
            )
            for v_index, (v_title, price) in enumerate(variant_specs, start=1)
        )
        products.append(
            Product(
                id=8_310_000_000_000 + p_index,
                title=title,
                slug=_slugify(title),
                vendor=VENDOR,
                weight=weight,
                variants=variants,
            )
        )
    return tuple(products)


PRODUCTS = _build_products()

_CAMPAIGN_SPECS: tuple[tuple[str, float, float, float, float, int, tuple[int, int] | None], ...] = (
    ("Prospecting - Broad", 0.34, 11.0, 0.011, 0.018, 0, None),
    ("Retargeting - DPA", 0.22, 14.5, 0.019, 0.045, 0, None),
    ("Prospecting - Lookalike 1%", 0.18, 12.0, 0.013, 0.022, 0, (45, 76)),
    ("Brand - Video", 0.08, 8.5, 0.009, 0.008, 0, None),
    ("Prospecting - Advantage+ Shopping", 0.20, 10.5, 0.014, 0.027, 182, None),
)
_ADSET_SUFFIXES = (("US 25-54", "US 18-34"), ("Engaged 30d", "Viewed Product 14d"))
_AD_NAMES = ("UGC Review", "Static - Bestsellers", "Carousel - New In", "Video 15s")


def _build_campaigns() -> tuple[Campaign, ...]:
    campaigns: list[Campaign] = []
    for c, (name, share, cpm, ctr, cvr, active_from, paused) in enumerate(_CAMPAIGN_SPECS, 1):
        audiences = _ADSET_SUFFIXES[1] if name.startswith("Retargeting") else _ADSET_SUFFIXES[0]
        ads: list[Ad] = []
        for s, audience in enumerate(audiences, start=1):
            adset_id = str(120_210_000_000_001_000 + c * 10 + s)
            adset_name = f"{name} | {audience}"
            for a in range(1, 3):
                ad_name = _AD_NAMES[(c + s + a) % len(_AD_NAMES)]
                ads.append(
                    Ad(
                        id=str(120_210_000_000_010_000 + c * 100 + s * 10 + a),
                        name=f"{ad_name} v{a}",
                        adset_id=adset_id,
                        adset_name=adset_name,
                        weight=(0.58 if s == 1 else 0.42) * (0.55 if a == 1 else 0.45),
                    )
                )
        campaigns.append(
            Campaign(
                id=str(120_210_000_000_000_100 + c),
                name=name,
                slug=_slugify(name).replace("-", "_"),
                share=share,
                cpm=cpm,
                ctr=ctr,
                cvr=cvr,
                ads=tuple(ads),
                active_from=active_from,
                paused=paused,
            )
        )
    return tuple(campaigns)


CAMPAIGNS = _build_campaigns()


@dataclass(frozen=True, slots=True)
class GoogleCampaign:
    id: str
    name: str
    slug: str
    channel_type: str
    share: float
    cpc: float
    ctr: float
    cvr: float
    paused: tuple[int, int] | None = None

    def is_active(self, day_index: int) -> bool:
        return self.paused is None or not self.paused[0] <= day_index < self.paused[1]


# (name, advertising channel type, budget share, cost per click in cents, ctr, conversion rate,
#  paused day indexes)
_GOOGLE_SPECS: tuple[tuple[str, str, float, float, float, float, tuple[int, int] | None], ...] = (
    ("Search - Brand", "SEARCH", 0.14, 55.0, 0.12, 0.090, None),
    ("Search - Generic", "SEARCH", 0.24, 160.0, 0.045, 0.024, (38, 61)),
    ("Shopping - All products", "SHOPPING", 0.30, 70.0, 0.011, 0.032, None),
    ("Performance Max - Catalog", "PERFORMANCE_MAX", 0.32, 85.0, 0.009, 0.036, None),
)

GOOGLE_CAMPAIGNS = tuple(
    GoogleCampaign(
        id=str(21_000_000_000 + c),
        name=name,
        slug=_slugify(name).replace("-", "_"),
        channel_type=channel,
        share=share,
        cpc=cpc,
        ctr=ctr,
        cvr=cvr,
        paused=paused,
    )
    for c, (name, channel, share, cpc, ctr, cvr, paused) in enumerate(_GOOGLE_SPECS, 1)
)


@dataclass(frozen=True, slots=True)
class GoogleAd:
    id: str
    ad_type: str
    ad_group_id: str
    ad_group_name: str
    ad_group_type: str
    weight: int


# Ad groups of the campaigns that have them (Performance Max has asset groups instead):
# campaign name -> ((ad group name, weight), ...). Search ad groups hold two responsive search
# ads, the Shopping ad group one product ad.
_GOOGLE_AD_GROUPS: dict[str, tuple[tuple[str, int], ...]] = {
    "Search - Brand": (("Brand - Exact", 70), ("Brand - Misspellings", 30)),
    "Search - Generic": (("Tees & Tops", 40), ("Outerwear", 35), ("Camp Gear", 25)),
    "Shopping - All products": (("All products", 100),),
}


def _build_google_ads() -> dict[str, tuple[GoogleAd, ...]]:
    out: dict[str, tuple[GoogleAd, ...]] = {}
    for c, campaign in enumerate(GOOGLE_CAMPAIGNS, 1):
        shopping = campaign.channel_type == "SHOPPING"
        ads: list[GoogleAd] = []
        for g, (name, weight) in enumerate(_GOOGLE_AD_GROUPS.get(campaign.name, ()), 1):
            group_id = str(150_000_000_000 + c * 100 + g)
            for a, share in enumerate((100,) if shopping else (60, 40), 1):
                ads.append(
                    GoogleAd(
                        id=str(690_000_000_000 + c * 1000 + g * 10 + a),
                        ad_type="SHOPPING_PRODUCT_AD" if shopping else "RESPONSIVE_SEARCH_AD",
                        ad_group_id=group_id,
                        ad_group_name=name,
                        ad_group_type="SHOPPING_PRODUCT_ADS" if shopping else "SEARCH_STANDARD",
                        weight=weight * share,
                    )
                )
        out[campaign.id] = tuple(ads)
    return out


GOOGLE_ADS = _build_google_ads()
"""Campaign id -> its ads (with their ad groups); empty for Performance Max."""


@dataclass(frozen=True, slots=True)
class TikTokAd:
    id: str
    name: str
    adgroup_id: str
    adgroup_name: str
    weight: float


@dataclass(frozen=True, slots=True)
class TikTokCampaign:
    id: str
    name: str
    slug: str
    share: float
    cpm: float
    ctr: float
    cvr: float
    ads: tuple[TikTokAd, ...]
    active_from: int = 0

    def is_active(self, day_index: int) -> bool:
        return day_index >= self.active_from


# (name, budget share, cpm in currency units, ctr, conversion rate, first active day index)
_TIKTOK_SPECS: tuple[tuple[str, float, float, float, float, int], ...] = (
    ("Spark Ads - Creators", 0.45, 6.5, 0.009, 0.012, 0),
    ("Prospecting - Broad", 0.35, 5.0, 0.007, 0.010, 0),
    ("Retargeting - Video Viewers", 0.20, 8.0, 0.011, 0.025, 21),
)
_TIKTOK_ADGROUPS = ("US 18-34", "US 25-44")
_TIKTOK_AD_NAMES = ("Hook - Unboxing 15s", "Hook - Trail Test 9s", "Creator Review 21s")


def _build_tiktok() -> tuple[TikTokCampaign, ...]:
    campaigns: list[TikTokCampaign] = []
    for c, (name, share, cpm, ctr, cvr, active_from) in enumerate(_TIKTOK_SPECS, 1):
        ads: list[TikTokAd] = []
        for g, audience in enumerate(_TIKTOK_ADGROUPS, 1):
            adgroup_id = str(1_792_000_000_000_000_000 + c * 100 + g)
            for a in range(1, 3):
                ad_name = _TIKTOK_AD_NAMES[(c + g + a) % len(_TIKTOK_AD_NAMES)]
                ads.append(
                    TikTokAd(
                        id=str(1_793_000_000_000_000_000 + c * 1000 + g * 10 + a),
                        name=f"{ad_name} v{a}",
                        adgroup_id=adgroup_id,
                        adgroup_name=f"{name} | {audience}",
                        weight=(0.55 if g == 1 else 0.45) * (0.6 if a == 1 else 0.4),
                    )
                )
        campaigns.append(
            TikTokCampaign(
                id=str(1_791_000_000_000_000_000 + c),
                name=name,
                slug=_slugify(name).replace("-", "_"),
                share=share,
                cpm=cpm,
                ctr=ctr,
                cvr=cvr,
                ads=tuple(ads),
                active_from=active_from,
            )
        )
    return tuple(campaigns)


TIKTOK_CAMPAIGNS = _build_tiktok()

DISCOUNT_CODES = (
    DiscountCode("WELCOME10", 10, None, returning_only=False, new_only=True),
    DiscountCode("SPRING20", 20, frozenset({3, 4, 5}), returning_only=False, new_only=False),
    DiscountCode("VIP15", 15, None, returning_only=True, new_only=False),
    DiscountCode("SUMMER15", 15, frozenset({6, 7, 8}), returning_only=False, new_only=False),
    DiscountCode("BFCM25", 25, frozenset({11}), returning_only=False, new_only=False),
    DiscountCode("FRIENDS10", 10, None, returning_only=False, new_only=False),
)

FIRST_NAMES = (
    "Jane", "John", "Maria", "James", "Olivia", "Liam", "Emma", "Noah", "Ava", "Lucas",
    "Sophia", "Mason", "Isabella", "Ethan", "Mia", "Logan", "Amelia", "Elijah", "Harper", "Aiden",
    "Zoë", "José", "Renée", "Łukasz", "Chloé", "Siobhan", "Priya", "Wei", "Fatima", "Mateo",
    "Grace", "Henry", "Nora", "Leo", "Hannah", "Owen", "Aaliyah", "Samuel", "Leah", "Daniel",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "O'Brien", "Müller", "Nguyen", "Kowalski", "Patel", "Kim", "Dubois", "Rossi",
    "Svensson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")

# (country, province, city, zip prefix or pattern, area code, weight)
PLACES: tuple[tuple[str, str, str, str, str, float], ...] = (
    ("US", "NY", "New York", "100", "212", 9.0),
    ("US", "NY", "Brooklyn", "112", "718", 5.0),
    ("US", "CA", "Los Angeles", "900", "213", 8.0),
    ("US", "CA", "San Francisco", "941", "415", 5.0),
    ("US", "TX", "Austin", "787", "512", 5.0),
    ("US", "TX", "Houston", "770", "713", 4.0),
    ("US", "IL", "Chicago", "606", "312", 6.0),
    ("US", "WA", "Seattle", "981", "206", 5.0),
    ("US", "CO", "Denver", "802", "303", 4.0),
    ("US", "MA", "Boston", "021", "617", 4.0),
    ("US", "FL", "Miami", "331", "305", 4.0),
    ("US", "GA", "Atlanta", "303", "404", 3.0),
    ("US", "OR", "Portland", "972", "503", 4.0),
    ("US", "PA", "Philadelphia", "191", "215", 3.0),
    ("US", "MN", "Minneapolis", "554", "612", 3.0),
    ("US", "NC", "Charlotte", "282", "704", 2.0),
    ("US", "AZ", "Phoenix", "850", "602", 3.0),
    ("US", "VT", "Burlington", "054", "802", 1.0),
    ("CA", "ON", "Toronto", "M5V", "416", 3.0),
    ("CA", "BC", "Vancouver", "V6B", "604", 2.5),
    ("CA", "QC", "Montréal", "H2X", "514", 1.0),
    ("GB", "ENG", "London", "SW1A", "20", 2.5),
    ("GB", "ENG", "Manchester", "M1", "161", 1.0),
    ("GB", "SCT", "Edinburgh", "EH1", "131", 0.8),
)
STREETS = (
    "Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Park Rd", "Elm St", "Pine St", "Lake View Rd",
    "Hillcrest Ave", "River Rd", "Sunset Blvd", "High St", "Church Rd", "Station Rd",
)  # fmt: skip

REFERRERS = (
    "https://www.reddit.com/",
    "https://www.reddit.com/r/onebag/comments/1abc2de/",
    "https://www.outdoorgearlab.com/topics/camping-and-hiking/best-daypack",
    "https://www.pinterest.com/",
    "https://duckduckgo.com/",
    "https://www.bing.com/",
    "https://www.nytimes.com/wirecutter/reviews/best-water-bottle/",
    "https://blog.example.org/gift-guide",
)
EMAIL_CAMPAIGNS = (
    "welcome_flow",
    "weekly_newsletter",
    "abandoned_cart",
    "winback_60d",
    "vip_early",
)
REFUND_NOTES = ("Customer return", "Wrong size", "Damaged in transit", None, None)


def ascii_fold(text: str) -> str:
    """Lower-case ASCII form of a name, for email local parts."""
    folded = unicodedata.normalize("NFKD", text.replace("Ł", "L").replace("ł", "l"))
    return "".join(c for c in folded if c.isascii() and c.isalpha()).lower()


FIRST_NAMES_ASCII = tuple(ascii_fold(name) for name in FIRST_NAMES)
LAST_NAMES_ASCII = tuple(ascii_fold(name) for name in LAST_NAMES)
AREA_CODES = {place[2]: place[4] for place in PLACES}
