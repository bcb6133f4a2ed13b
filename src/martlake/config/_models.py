"""Typed settings: one model per section of `martlake.toml`."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

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


class ShopifySettings(_Section):
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


class MetaAdsSettings(_Section):
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


class GoogleAdsSettings(_Section):
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


class TikTokAdsSettings(_Section):
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


class SourcesSettings(_Section):
    """`[sources.*]`: one table per connected source."""

    shopify: ShopifySettings | None = None
    meta_ads: MetaAdsSettings | None = None
    google_ads: GoogleAdsSettings | None = None
    tiktok_ads: TikTokAdsSettings | None = None


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


class FreshnessSettings(_Section):
    """`[quality.freshness]`: age of the newest load in each raw table."""

    warn_after_hours: float = Field(default=24, gt=0)
    critical_after_hours: float = Field(default=48, gt=0)


class QualitySettings(_Section):
    """`[quality]`: data-quality checks."""

    freshness: FreshnessSettings = FreshnessSettings()


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


class Settings(_Section):
    """The whole configuration of one martlake project."""

    project: ProjectSettings = ProjectSettings()
    warehouse: WarehouseSettings = WarehouseSettings()
    sources: SourcesSettings = SourcesSettings()
    sandbox: SandboxSettings = SandboxSettings()
    quality: QualitySettings = QualitySettings()
    publish: PublishSettings = PublishSettings()
    privacy: PrivacySettings = PrivacySettings()
