"""Typed settings: one model per section of `martlake.toml`."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_FAULT_KINDS = ("rate_limit", "server_error")
DEFAULT_SANDBOX_TIMEOUT_SECONDS = 5.0
FaultKind = Literal["rate_limit", "server_error", "timeout"]
DriftKind = Literal["new_field", "renamed_field", "numbers_as_strings", "dash_values"]
AdPlatform = Literal["meta", "google", "tiktok"]
PrivacyMode = Literal["sha256", "hmac"]
PiiKind = Literal["email", "phone", "hash", "drop", "keep"]
MetaAttributionWindow = Literal[
    "1d_click", "7d_click", "28d_click", "1d_view", "7d_view", "28d_view", "1d_ev", "dda"
]
_CURRENCY = re.compile(r"[A-Z]{3}")

DEFAULT_REPORT_MODELS = (
    "shopify_daily_metrics",
    "marketing_unified",
    "facebook_unified",
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class ProjectSettings(_Section):
    """`[project]`: who this project is for."""

    name: str = "martlake"
    """Shown in reports and run logs."""


class WarehouseSettings(_Section):
    """`[warehouse]`: where the data lands."""

    engine: Literal["duckdb"] = "duckdb"
    """Only `duckdb` for now; BigQuery is planned."""
    path: Path = Path("warehouse.duckdb")
    """DuckDB file, relative to the project directory."""


class _HttpSourceSection(_Section):
    """What every source read over HTTP shares: how long to wait and how often to try."""

    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0, le=600)
    """Seconds to wait for each HTTP response before the request counts as failed and is
    retried with backoff."""
    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, le=20)
    """Tries per HTTP request, the first included: a timeout, a refused connection, a 429 or a
    5xx is retried with jittered exponential backoff from 0.5 s (8 tries wait about a minute in
    all) before the source fails the run."""


class ShopifySettings(_HttpSourceSection):
    """`[sources.shopify]`: a Shopify store read through the Admin REST API."""

    shop: str
    """The store's `*.myshopify.com` domain."""
    access_token: SecretStr | None = None
    """Admin API access token (`shpat_…`); keep it in `.martlake/secrets.toml`."""
    api_version: str = "2024-10"
    lookback_days: int = Field(default=7, ge=0)
    """Each run re-reads orders updated since the last watermark minus this many days."""
    start_date: date | None = None
    """First day to load on the very first run; default: everything."""
    page_size: int = Field(default=250, ge=1, le=250)
    base_url: str | None = None
    """Override `https://<shop>` (proxies, the sandbox)."""
    bulk: Literal["auto", "always", "never"] = "auto"
    """Read orders with a GraphQL bulk operation (one JSONL file) instead of paging REST:
    `auto` for backfills (first run, `--full-refresh`, `--start-date`), `always`, or `never`."""
    bulk_poll_seconds: float = Field(default=10.0, gt=0, le=300)
    """Longest wait between two polls of a running bulk operation (polls start faster)."""
    bulk_timeout_seconds: float = Field(default=4 * 3600.0, gt=0)
    """Give up on a bulk operation that has not finished after this many seconds."""


class MetaAdsSettings(_HttpSourceSection):
    """`[sources.meta_ads]`: Meta (Facebook/Instagram) ad accounts via the Marketing API."""

    account_ids: list[str] = Field(min_length=1)
    """Ad account ids, with or without the `act_` prefix."""
    access_token: SecretStr | None = None
    """System-user or long-lived token with `ads_read`; keep it in `.martlake/secrets.toml`."""
    api_version: str = "v21.0"
    lookback_days: int = Field(default=28, ge=0)
    """Meta restates conversions for up to 28 days, so each run re-reads that window."""
    start_date: date | None = None
    """First day to load on the very first run; default: 37 months ago (Meta's limit)."""
    page_size: int = Field(default=500, ge=1, le=5000)
    base_url: str | None = None
    """Override `https://graph.facebook.com` (proxies, the sandbox)."""
    async_reports: Literal["auto", "always", "never"] = "auto"
    """Read insights through async report runs: `auto` for windows longer than 7 days
    (backfills, the lookback), `always`, or `never` (synchronous GETs only)."""
    async_poll_interval: float = Field(default=0.1, gt=0, le=30)
    """Seconds between the first (immediate) and second status poll of a report run; the wait
    doubles after each poll, up to 30 s (and is never below 0.05 s)."""
    async_timeout: float = Field(default=3600.0, gt=0)
    """Seconds to wait for one report run to complete before failing the extraction."""
    async_retries: int = Field(default=3, ge=0)
    """How often a report run that ends `Job Failed` or `Job Skipped` is created again."""
    attribution_windows: list[MetaAttributionWindow] = ["7d_click", "1d_view"]
    """`action_attribution_windows` sent with `use_unified_attribution_setting=true`; purchases
    are still read from each action's `value`, i.e. the ad set's attribution setting."""


class GoogleAdsSettings(_HttpSourceSection):
    """`[sources.google_ads]`: Google Ads customers via the Google Ads API (REST)."""

    customer_ids: list[str] = Field(min_length=1)
    """Customer ids, `123-456-7890` or `1234567890`."""
    developer_token: SecretStr | None = None
    """An approved developer token (API Center of the manager account); keep it in secrets."""
    client_id: str | None = Field(default=None, json_schema_extra={"credential": True})
    """OAuth client id of the Google Cloud project the refresh token was issued to."""
    client_secret: SecretStr | None = None
    """OAuth client secret; keep it in `.martlake/secrets.toml`."""
    refresh_token: SecretStr | None = None
    """OAuth refresh token with the `https://www.googleapis.com/auth/adwords` scope."""
    login_customer_id: str | None = None
    """Manager account id, when the customers are reached through a manager account."""
    api_version: str = "v18"
    lookback_days: int = Field(default=14, ge=0)
    """Google restates conversions for days after a click, so each run re-reads this window."""
    start_date: date | None = None
    """First day to load on the very first run; default: 37 months ago."""
    base_url: str | None = None
    """Override `https://googleads.googleapis.com` (proxies, the sandbox)."""
    token_url: str | None = None
    """Override `https://oauth2.googleapis.com/token` (proxies, the sandbox)."""

    @field_validator("customer_ids")
    @classmethod
    def _customer_ids(cls, value: list[str]) -> list[str]:
        return [_customer_id(v) for v in value]

    @field_validator("login_customer_id")
    @classmethod
    def _login_customer_id(cls, value: str | None) -> str | None:
        return None if value is None else _customer_id(value)


def _customer_id(value: str) -> str:
    digits = value.strip().replace("-", "")
    if not digits.isdigit() or len(digits) != 10:
        raise ValueError("a Google Ads customer id is 10 digits, e.g. `123-456-7890`")
    return digits


class TikTokAdsSettings(_HttpSourceSection):
    """`[sources.tiktok_ads]`: TikTok advertisers via the TikTok API for Business."""

    advertiser_ids: list[str] = Field(min_length=1)
    """Advertiser ids (numeric strings)."""
    access_token: SecretStr | None = None
    """Long-term token of an app with the Reporting permission; keep it in secrets."""
    api_version: str = "v1.3"
    lookback_days: int = Field(default=7, ge=0)
    """TikTok restates attributed conversions for days, so each run re-reads this window."""
    start_date: date | None = None
    """First day to load on the very first run; default: 37 months ago."""
    page_size: int = Field(default=1000, ge=1, le=1000)
    base_url: str | None = None
    """Override `https://business-api.tiktok.com` (proxies, the sandbox)."""


class FairingSettings(_HttpSourceSection):
    """`[sources.fairing]`: post-purchase survey responses via the Fairing API."""

    api_token: SecretStr | None = None
    """Fairing API token (sent as the `Authorization` header); keep it in secrets."""
    base_url: str | None = None
    """Override `https://app.fairing.co` (proxies, the sandbox)."""
    start_date: date | None = None
    """First day (UTC) to load on the very first run; default: 37 months ago."""
    lookback_days: int = Field(default=7, ge=0)
    """Responses are updated and arrive late, so each run re-reads responses inserted since
    the newest one loaded minus this many days."""


class SourcesSettings(_Section):
    """`[sources.*]`: one table per connected source."""

    shopify: ShopifySettings | None = None
    meta_ads: MetaAdsSettings | None = None
    google_ads: GoogleAdsSettings | None = None
    tiktok_ads: TikTokAdsSettings | None = None
    fairing: FairingSettings | None = None


class SandboxSettings(_Section):
    """`[sandbox]`: serve a simulated business from local emulators instead of the real APIs."""

    enabled: bool = False
    seed: int = 42
    start_date: date | None = None
    """First simulated day; default: `days` before `end_date`."""
    end_date: date | None = None
    """Last simulated day; default: yesterday in the shop's timezone."""
    days: int = Field(default=365, ge=1)
    orders_per_day: float = Field(default=300, gt=0)
    growth: float = Field(default=0.25, ge=-0.9, le=10)
    timezone: str = "America/New_York"
    currency: str = "USD"
    fault_rate: float = Field(default=0.0, ge=0.0, lt=1.0)
    """Share of emulator requests that fail transiently (throttling or 500), to rehearse
    retries; 0.2 makes one request in five fail."""
    deleted_campaigns: list[str] = Field(default_factory=list)
    """Campaigns the emulators no longer report, as `platform:campaign_id` with platform `meta`,
    `google` or `tiktok`, to rehearse deletions (`["tiktok:1800000000000000001"]`)."""
    restate_last_days: int = Field(default=0, ge=0)
    """The emulators restate this many last days of every ad platform; 0 restates nothing."""
    restate_factor: Decimal = Field(default=Decimal(1), ge=0)
    """What restated days' spend, conversions and conversion value are multiplied by (in
    whole cents, half-even)."""
    fault_kinds: list[FaultKind] = Field(
        default_factory=lambda: list(DEFAULT_FAULT_KINDS),  # type: ignore[arg-type]
        min_length=1,
    )
    """Which failures `fault_rate` draws from: `rate_limit`, `server_error` and `timeout` (the
    emulator holds the response past the client's `timeout_seconds`). Timeouts are left out by
    default so a demo does not sit through them."""
    timeout_seconds: float | None = Field(default=None, gt=0, le=600)
    """HTTP timeout of every source in sandbox runs, replacing `sources.*.timeout_seconds`;
    default: the sources' own, or `DEFAULT_SANDBOX_TIMEOUT_SECONDS` when `fault_kinds`
    includes `timeout`, so that rehearsed timeouts stay quick."""

    @property
    def client_timeout(self) -> float | None:
        """The timeout sandbox runs give every source, None to keep the sources' own."""
        if self.timeout_seconds is None and "timeout" in self.fault_kinds:
            return DEFAULT_SANDBOX_TIMEOUT_SECONDS
        return self.timeout_seconds

    ad_timezones: dict[AdPlatform, str] = Field(default_factory=dict)
    """Ad account timezone per platform (`{meta = "Europe/Berlin"}`); default: `timezone`."""
    ad_currencies: dict[AdPlatform, str] = Field(default_factory=dict)
    """Ad account currency per platform (`{tiktok = "EUR"}`); default: `currency`."""
    drift: list[DriftKind] = Field(default_factory=list)
    """Schema drift the emulators serve, to rehearse API changes: `new_field`,
    `renamed_field`, `numbers_as_strings`, `dash_values`."""
    survey_rate: float = Field(default=0.25, ge=0, le=1)
    """Share of orders whose customer answers the Fairing post-purchase survey; used only
    when `[sources.fairing]` is configured (otherwise nobody answers)."""

    @field_validator("deleted_campaigns")
    @classmethod
    def _deleted_campaigns(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.fullmatch(r"(meta|google|tiktok):[0-9]+", v)]
        if bad:
            raise ValueError(
                f"`{bad[0]}` is not `platform:campaign_id` (platform meta, google or tiktok, "
                "digits after the colon)"
            )
        return value

    @field_validator("ad_timezones")
    @classmethod
    def _ad_timezones(cls, value: dict[AdPlatform, str]) -> dict[AdPlatform, str]:
        for platform, name in value.items():
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"`{name}` ({platform}) is not an IANA timezone name such as `Europe/Berlin`"
                ) from None
        return value

    @field_validator("ad_currencies")
    @classmethod
    def _ad_currencies(cls, value: dict[AdPlatform, str]) -> dict[AdPlatform, str]:
        for platform, code in value.items():
            _currency_code(code, platform)
        return value

    @field_validator("drift", "fault_kinds")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


def _currency_code(code: str, where: str) -> str:
    if not _CURRENCY.fullmatch(code):
        raise ValueError(f"`{code}` ({where}) is not a 3-letter ISO 4217 code such as `EUR`")
    return code


class ReportingSettings(_Section):
    """`[reporting]`: the one currency `marketing_unified` adds amounts up in."""

    currency: str | None = None
    """ISO 4217 code of the reporting currency; default: the shop's currency."""
    fx_rates: dict[str, Decimal] = Field(default_factory=dict)
    """Fixed rates to the reporting currency, one per other account currency:
    `EUR = "1.08"` means 1 EUR = 1.08 of the reporting currency."""

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return None if value is None else _currency_code(value, "currency")

    @field_validator("fx_rates", mode="before")
    @classmethod
    def _exact_rates(cls, value: object) -> object:
        # TOML floats such as 1.08 are binary; their shortest repr is the rate the user wrote.
        if isinstance(value, dict):
            return {k: str(v) if isinstance(v, float) else v for k, v in value.items()}
        return value

    @field_validator("fx_rates")
    @classmethod
    def _fx_rates(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for code, rate in value.items():
            _currency_code(code, "fx_rates")
            if not rate.is_finite() or rate <= 0:
                raise ValueError(f"the rate of `{code}` must be a positive number, got `{rate}`")
        return value


_CHANNEL = re.compile(r"[a-z][a-z0-9_]*")
_AD_PLATFORMS = ("meta", "google", "tiktok")


def _channel_name(name: str, where: str) -> str:
    if not _CHANNEL.fullmatch(name):
        raise ValueError(
            f"channel `{name}` ({where}) must be lower-case letters, digits and `_`, "
            "starting with a letter, such as `meta` or `affiliate`"
        )
    return name


class DiscountCodeRule(_Section):
    """One `[[attribution.discount_codes]]` rule: orders using a matching code go to `channel`."""

    pattern: str = Field(min_length=1)
    """SQL `LIKE` pattern, matched case-insensitively against each code of the order: `%` is
    any run of characters, `_` any one character, `\\` escapes them (`TIKTOK%`, `ANNA10`)."""
    channel: str
    """Channel of the matching orders (`meta`, `google`, `tiktok`, `email`, `affiliate`, …)."""
    campaign_id: str | None = Field(default=None, min_length=1)
    """The ad platform's campaign id, only with channel `meta`, `google` or `tiktok`; without
    it the campaign comes from the order's URL when that names the same platform."""

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a discount code pattern must not be blank")
        return value.strip()

    @field_validator("campaign_id")
    @classmethod
    def _campaign_id(cls, value: str | None) -> str | None:
        return None if value is None else value.strip() or None

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        return _channel_name(value.strip(), "discount_codes")

    @model_validator(mode="after")
    def _campaign_needs_platform(self) -> DiscountCodeRule:
        if self.campaign_id is not None and self.channel not in _AD_PLATFORMS:
            raise ValueError(
                f"`campaign_id` `{self.campaign_id}` of pattern `{self.pattern}` needs channel "
                f"`meta`, `google` or `tiktok`, not `{self.channel}`: fix the channel or drop "
                "the campaign_id"
            )
        return self


class AttributionSettings(_Section):
    """`[attribution]`: how orders are attributed to channels and ad campaigns."""

    channels: dict[str, str] = Field(default_factory=dict)
    """`utm_source` spelling → channel, on top of the defaults (`facebook`, `fb`, `instagram`,
    `ig`, `meta`, `messenger`, `msg`, `audience_network`, `an` → `meta`; `google`, `adwords`,
    `google_ads`, `youtube` → `google`; `tiktok` → `tiktok`; `klaviyo`, `newsletter`, `email` →
    `email`); spellings compare case-insensitively."""
    discount_codes: list[DiscountCodeRule] = Field(default_factory=list)
    """Rules tried in order before the URL: the first rule matching any code of an order wins."""
    survey_answers: dict[str, str] = Field(default_factory=dict)
    """Post-purchase survey answer → channel, on top of the utm_source spellings above (an
    answer `Instagram` is `meta`) and the defaults `podcast` → `podcast`; `friend or family`,
    `friend`, `word of mouth` → `word_of_mouth`; `blog or article`, `blog` → `referral`.
    Answers compare case-insensitively; an answer mapped to no channel does not attribute."""
    survey_questions: list[int] = Field(default_factory=list)
    """Ids of the survey questions whose answers attribute orders; default: every question
    except follow-up (clarification) questions."""

    @field_validator("survey_answers")
    @classmethod
    def _survey_answers(cls, value: dict[str, str]) -> dict[str, str]:
        return _channel_mapping(value, "survey answer", "answers")

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: dict[str, str]) -> dict[str, str]:
        return _channel_mapping(value, "utm_source", "spellings", blank="utm_source spelling")


def _channel_mapping(
    value: dict[str, str], what: str, plural: str, blank: str | None = None
) -> dict[str, str]:
    """`value` with keys trimmed and lower-cased (as the marts compare them) and channel names
    checked; one key mapped to two channels is an error."""
    out: dict[str, str] = {}
    for original, channel in value.items():
        key = original.strip().lower()
        if not key:
            raise ValueError(f"a {blank or what} must not be blank")
        name = _channel_name(channel.strip(), f"{what} `{original}`")
        if out.get(key, name) != name:
            raise ValueError(
                f"{what} `{key}` is mapped to both `{out[key]}` and `{name}` "
                f"({plural} compare case-insensitively): keep one"
            )
        out[key] = name
    return out


class MartsSettings(_Section):
    """`[marts]`: parameters of the shipped marts."""

    premium_zscore: float = Field(default=2.0, allow_inf_nan=False)
    """`premium_products` lists the products whose average unit price has a z-score (against
    every product that sold) above this."""

    attribution_lag_days: int = Field(default=7, ge=0, le=90)
    """`marketing_unified_with_explanations` explains a day's spend without attributed orders
    as `attribution_lag` when the channel has attributed orders within this many days after."""


class TransformSettings(_Section):
    """`[transform]`: the dbt project martlake builds."""

    model_paths: list[Path] = Field(default_factory=lambda: [Path("models")])
    """Folders of your own dbt models (relative to the project directory), built next to the
    shipped ones; a model named like a shipped one replaces it. The default `models` folder is
    used when it exists; a folder set here must exist."""

    threads: int = Field(default=4, ge=1, le=32)
    """dbt worker threads: models and tests that do not depend on each other are built at the
    same time, in one DuckDB process (1 builds one model at a time)."""


class FreshnessSettings(_Section):
    """`[quality.freshness]`: age of the newest load in each raw table."""

    warn_after_hours: float = Field(default=24, gt=0)
    critical_after_hours: float = Field(default=48, gt=0)


DuplicateKeysSeverity = Literal["CRITICAL", "WARN", "INFO", "off"]
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*")


class TableQualitySettings(_Section):
    """`[quality.tables."<schema>.<table>"]`: check settings of one table, over `[quality]`'s."""

    enabled: bool = True
    """False skips every check on this table (its results say SKIPPED)."""
    freshness_warn_after_hours: float | None = Field(default=None, gt=0)
    """Replaces `[quality.freshness] warn_after_hours` for this raw table."""
    freshness_critical_after_hours: float | None = Field(default=None, gt=0)
    """Replaces `[quality.freshness] critical_after_hours` for this raw table."""
    null_rate_increase: float | None = Field(default=None, gt=0, le=1)
    """Replaces `[quality] null_rate_increase` for this table."""
    duplicate_keys: DuplicateKeysSeverity | None = None
    """Replaces `[quality] duplicate_keys` for this table."""
    key: list[str] | None = Field(default=None, min_length=1)
    """Columns that identify a row, instead of the dbt grain test's (or the raw table's)."""
    invalid_rows_warn: int | None = Field(default=None, ge=1)
    """Replaces `[quality] invalid_rows_warn` for this table."""
    invalid_rows_critical: int | None = Field(default=None, ge=1)
    """Replaces `[quality] invalid_rows_critical` for this table."""


AnomalyDirection = Literal["drop", "rise"]
DEFAULT_KPIS: dict[str, dict[str, object]] = {
    "orders": {"table": "marts.shopify_daily_metrics", "count": True},
    "net_sales": {"table": "marts.shopify_daily_metrics"},
    "spend": {"table": "marts.marketing_unified", "dimension": "channel"},
}
"""The KPIs `metric_drops` watches unless `[quality.kpis.<metric>]` says otherwise."""


class KpiSettings(_Section):
    """`[quality.kpis.<metric>]`: a daily KPI watched by `metric_drops`, and its thresholds.

    `warn` and `critical` are ratios of the day's value to its baseline (the same weekday's
    median over the last 6 weeks): for `direction = "drop"` below `warn` is WARN and below
    `critical` CRITICAL.
    """

    table: str
    """`schema.table` with one row per day (per `dimension` value)."""
    column: str | None = None
    """The value column; default: the metric's name."""
    date_column: str = "date"
    dimension: str | None = None
    """A column to split the KPI by (`channel`): one series, and one result, per value."""
    warn: float = Field(default=0.5, gt=0, allow_inf_nan=False)
    critical: float = Field(default=0.25, gt=0, allow_inf_nan=False)
    direction: AnomalyDirection = "drop"
    """`drop` flags falls below the thresholds (< 1); `rise` flags climbs above them (> 1)."""
    count: bool = False
    """The values are counts (orders), so a small count's Poisson noise never alarms."""
    enabled: bool = True

    @model_validator(mode="after")
    def _levels(self) -> KpiSettings:
        if not _TABLE_NAME.fullmatch(self.table):
            raise ValueError(f"table `{self.table}` is not `schema.table`")
        if self.direction == "drop" and not 0 < self.critical < self.warn < 1:
            raise ValueError(
                f"a drop needs 0 < critical < warn < 1, got warn = {self.warn}, "
                f"critical = {self.critical}"
            )
        if self.direction == "rise" and not 1 < self.warn < self.critical:
            raise ValueError(
                f"a rise needs 1 < warn < critical, got warn = {self.warn}, "
                f"critical = {self.critical}"
            )
        return self


def _default_kpis() -> dict[str, KpiSettings]:
    return {name: KpiSettings.model_validate(kpi) for name, kpi in DEFAULT_KPIS.items()}


class AnnotationSettings(_Section):
    """`[[quality.annotations]]`: days left out of anomaly baselines and never alerted on."""

    start: date
    end: date | None = None
    """Last day, inclusive; default: `start`."""
    kind: str = "other"
    """`promo`, `outage` or any word of yours; shown in results."""
    note: str = ""
    metrics: list[str] = Field(default_factory=list)
    """The KPIs it applies to (`["orders"]`); empty: every KPI."""

    @model_validator(mode="after")
    def _range(self) -> AnnotationSettings:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end `{self.end}` is before start `{self.start}`")
        return self

    @property
    def last(self) -> date:
        """The last annotated day."""
        return self.end or self.start


class QualitySettings(_Section):
    """`[quality]`: data-quality checks."""

    freshness: FreshnessSettings = FreshnessSettings()
    null_rate_increase: float = Field(default=0.2, gt=0, le=1)
    """A column whose share of NULLs rose by more than this (0.2 = 20 points) since the
    previous check run is WARN."""
    duplicate_keys: DuplicateKeysSeverity = "CRITICAL"
    """Severity of a table with duplicated keys; `off` skips the check."""
    invalid_rows_warn: int = Field(default=1, ge=1)
    """This many rows breaking one rule (clicks > impressions, negative spend, …) are WARN …"""
    invalid_rows_critical: int = Field(default=10, ge=1)
    """… and this many CRITICAL."""
    tables: dict[str, TableQualitySettings] = Field(default_factory=dict)
    """Per-table settings, keyed `"schema.table"` (`"marts.campaign_daily"`)."""
    kpis: dict[str, KpiSettings] = Field(default_factory=lambda: _default_kpis())
    """KPI thresholds for `metric_drops`, by metric: the defaults (`orders`, `net_sales`,
    `spend` per channel) with your `[quality.kpis.<metric>]` keys laid over them."""
    annotations: list[AnnotationSettings] = Field(default_factory=list)
    """Promotions, outages and other known unusual days."""
    anomaly_max_days: int = Field(default=7, ge=1, le=60)
    """`metric_drops` and `suspicious_zeros` judge the closed days since the previous check
    run, at most this many (always at least the latest closed day)."""
    suspicious_zeros_min_spend: float = Field(default=0.0, ge=0)
    """A channel-day with spend but no attributed revenue counts only above this spend."""
    suspicious_zeros_min_expected_orders: float = Field(default=3.0, ge=0)
    """… and only when the channel's orders per unit of spend over the previous 28 days
    predict at least this many attributed orders for the day (with 3, a zero happens by
    chance about 5 % of the time): small channels legitimately have days without orders."""
    attribution_coverage_warn: float = Field(default=0.9, ge=0, le=1)
    """`attribution_coverage` below this share is WARN."""
    attribution_coverage_critical: float | None = Field(default=None, ge=0, le=1)
    """… and below this CRITICAL (default: never)."""
    attribution_coverage_days: int = Field(default=7, ge=1, le=90)
    """How many of the latest closed days `attribution_coverage` adds up."""
    attribution_coverage_basis: Literal["signal", "all"] = "signal"
    """`signal`: net revenue of orders carrying a marketing signal (UTM, click id, discount
    code) that got a channel; `all`: every order's net revenue outside `direct`."""

    @field_validator("kpis", mode="before")
    @classmethod
    def _kpi_defaults(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        merged: dict[str, object] = dict(DEFAULT_KPIS)
        for name, kpi in value.items():
            base = DEFAULT_KPIS.get(name, {})
            merged[name] = {**base, **kpi} if isinstance(kpi, dict) else kpi
        return merged

    @field_validator("tables")
    @classmethod
    def _table_names(
        cls, value: dict[str, TableQualitySettings]
    ) -> dict[str, TableQualitySettings]:
        bad = [name for name in value if not _TABLE_NAME.fullmatch(name)]
        if bad:
            raise ValueError(
                f"`{bad[0]}` is not `schema.table` (e.g. `marts.campaign_daily`); quote it in "
                'the section name: [quality.tables."marts.campaign_daily"]'
            )
        return value

    @model_validator(mode="after")
    def _freshness_pairs(self) -> QualitySettings:
        base = self.freshness
        problems = []
        if base.warn_after_hours >= base.critical_after_hours:
            problems.append(
                f"[quality.freshness] warn_after_hours = {base.warn_after_hours:g} is not below "
                f"critical_after_hours = {base.critical_after_hours:g}: lower the first or "
                "raise the second"
            )
        for name, t in self.tables.items():
            warn = t.freshness_warn_after_hours or base.warn_after_hours
            critical = t.freshness_critical_after_hours or base.critical_after_hours
            if warn >= critical:
                problems.append(
                    f'[quality.tables."{name}"] freshness warn after {warn:g} h is not below '
                    f"critical after {critical:g} h (unset keys come from [quality.freshness]): "
                    "set freshness_critical_after_hours above freshness_warn_after_hours"
                )
        if problems:
            more = f" … and {len(problems) - 1} more" if len(problems) > 1 else ""
            raise ValueError(problems[0] + more)
        return self

    def table(self, name: str) -> TableQualitySettings:
        """The settings of `schema.table` (all defaults when it has no section)."""
        return self.tables.get(name) or TableQualitySettings()


class ReconciliationSettings(_Section):
    """`[reconciliation]`: warehouse totals against the sources' own totals, per closed day."""

    days: int = Field(default=7, ge=1, le=90)
    """How many closed days (ended in the shop's or ad account's timezone) to compare."""
    tolerance_pct: float = Field(default=0.0, ge=0, le=100)
    """Largest difference, in % of the source's value, that still counts as a match on a
    settled day; anything more is CRITICAL."""
    unsettled_days: int = Field(default=3, ge=0, le=90)
    """The most recent closed days, which platforms still restate: a difference up to
    `unsettled_tolerance_pct` is WARN there, not CRITICAL."""
    unsettled_tolerance_pct: float = Field(default=2.0, ge=0, le=100)
    """Largest difference (in %) on an unsettled day that is WARN rather than CRITICAL."""
    drill_down_days: int = Field(default=5, ge=0, le=90)
    """Per ad account, how many mismatched days are compared campaign by campaign (worst
    first); each costs one API call."""


class PublishSettings(_Section):
    """`[publish]`: the files each run writes."""

    output_dir: Path = Path("martlake_output")
    """Relative to the project directory; each run writes into `<output_dir>/<run date>/`."""
    models: list[str] = Field(default_factory=lambda: list(DEFAULT_REPORT_MODELS))
    """Marts exported as workbook sheets and CSV files."""
    formats: list[Literal["xlsx", "csv"]] = Field(default_factory=lambda: ["xlsx", "csv"])  # type: ignore[arg-type]


class PrivacySettings(_Section):
    """`[privacy]`: how PII is hashed before it reaches the warehouse."""

    default_phone_country_code: str = Field(default="1", pattern=r"^[1-9][0-9]{0,2}$")
    """Calling code assumed for phone numbers written without one (`1` = US/Canada)."""
    mode: PrivacyMode = "sha256"
    """`sha256`: SHA-256 of the normalised value, the form ad platforms accept for customer
    matching; `hmac`: HMAC-SHA256 keyed with `secret`, so hashes cannot be looked up."""
    secret: SecretStr | None = None
    """Key of `mode = "hmac"`; keep it in `.martlake/secrets.toml` (never in martlake.toml).
    Changing it changes every hash, so customers no longer match their history."""
    columns: dict[str, dict[str, PiiKind]] = Field(default_factory=dict)
    """PII columns per source (`shopify`, a files or SQL source's name, or `"*"` for every
    source): column name, `table.column` or a nested field's dotted path
    (`table.column.field`, `column.field`), to `email`, `phone`, `hash` (trimmed value),
    `drop` or `keep`. Added to the defaults (`email`, `phone` and their usual spellings in
    every source); an `email`/`phone`/`hash` column `c` is loaded as `c_hash` (in place when
    `c` already ends in `_hash`)."""

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, dict[str, PiiKind]]) -> dict[str, dict[str, PiiKind]]:
        out: dict[str, dict[str, PiiKind]] = {}
        for source, columns in value.items():
            for column in columns:
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", column):
                    raise ValueError(
                        f"`{column}` ({source}) is not a column name, `table.column` or a "
                        "dotted path to a nested field (`table.column.field`)"
                    )
            out[source.strip().lower()] = {c.lower(): kind for c, kind in columns.items()}
        return out


AlertSeverity = Literal["WARN", "ERROR", "CRITICAL"]


class SlackAlertSettings(_Section):
    """`[alerts.slack]`: a Slack incoming webhook."""

    webhook_url: SecretStr
    """`https://hooks.slack.com/services/…` of an incoming webhook; keep it in
    `.martlake/secrets.toml`."""
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """Seconds to wait for Slack's answer before the alert counts as failed."""


class EmailAlertSettings(_Section):
    """`[alerts.email]`: an SMTP server that relays alert emails."""

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    """Login name; without it no `AUTH` is attempted."""
    password: SecretStr | None = None
    """Login password; keep it in `.martlake/secrets.toml`."""
    from_address: str = Field(min_length=3)
    to: list[str] = Field(min_length=1)
    starttls: bool = True
    """Upgrade the connection with `STARTTLS` (port 587)."""
    ssl: bool = False
    """Connect with implicit TLS (port 465) instead."""
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    @model_validator(mode="after")
    def _one_tls_mode(self) -> EmailAlertSettings:
        if self.ssl and self.starttls:
            raise ValueError(
                "`ssl` (implicit TLS, port 465) and `starttls` (port 587) exclude each other: "
                "set `starttls = false` with `ssl = true`"
            )
        return self


class AlertsSettings(_Section):
    """`[alerts]`: where failing checks are announced, and how often."""

    min_severity: AlertSeverity = "WARN"
    """Results at least this bad are alerted: CRITICAL/ERROR at once, WARN in one message per
    run."""
    suppress_hours: float = Field(default=24.0, ge=0)
    """An alert already sent at the same or a worse severity within this many hours is not
    sent again."""
    slack: SlackAlertSettings | None = None
    email: EmailAlertSettings | None = None


class Settings(_Section):
    """The whole configuration of one martlake project."""

    project: ProjectSettings = ProjectSettings()
    warehouse: WarehouseSettings = WarehouseSettings()
    sources: SourcesSettings = SourcesSettings()
    sandbox: SandboxSettings = SandboxSettings()
    reporting: ReportingSettings = ReportingSettings()
    attribution: AttributionSettings = AttributionSettings()
    marts: MartsSettings = MartsSettings()
    transform: TransformSettings = TransformSettings()
    quality: QualitySettings = QualitySettings()
    reconciliation: ReconciliationSettings = ReconciliationSettings()
    publish: PublishSettings = PublishSettings()
    privacy: PrivacySettings = PrivacySettings()
    alerts: AlertsSettings = AlertsSettings()
