"""Project configuration: `martlake.toml` + `.martlake/secrets.toml` + `MARTLAKE__*` env vars."""

from martlake.config._loader import (
    CONFIG_FILE,
    ENV_PREFIX,
    SECRETS_FILE,
    Project,
    load_project,
    require_secrets,
)
from martlake.config._models import (
    FreshnessSettings,
    GoogleAdsSettings,
    MetaAdsSettings,
    PrivacySettings,
    PublishSettings,
    QualitySettings,
    SandboxSettings,
    Settings,
    ShopifySettings,
    SourcesSettings,
    TikTokAdsSettings,
    WarehouseSettings,
)
from martlake.config._redact import redact, register_secret

__all__ = [
    "CONFIG_FILE",
    "ENV_PREFIX",
    "SECRETS_FILE",
    "FreshnessSettings",
    "GoogleAdsSettings",
    "MetaAdsSettings",
    "PrivacySettings",
    "Project",
    "PublishSettings",
    "QualitySettings",
    "SandboxSettings",
    "Settings",
    "ShopifySettings",
    "SourcesSettings",
    "TikTokAdsSettings",
    "WarehouseSettings",
    "load_project",
    "redact",
    "register_secret",
    "require_secrets",
]
