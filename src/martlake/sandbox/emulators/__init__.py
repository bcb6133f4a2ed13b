"""Local HTTP emulators of the vendor APIs martlake reads, served from one loopback server."""

from martlake.sandbox.emulators.fairing import SANDBOX_FAIRING_TOKEN, FairingApp
from martlake.sandbox.emulators.google_ads import (
    SANDBOX_GOOGLE_CLIENT_ID,
    SANDBOX_GOOGLE_CLIENT_SECRET,
    SANDBOX_GOOGLE_DEVELOPER_TOKEN,
    SANDBOX_GOOGLE_REFRESH_TOKEN,
    GoogleAdsApp,
)
from martlake.sandbox.emulators.meta_ads import SANDBOX_META_TOKEN, MetaAdsApp
from martlake.sandbox.emulators.server import EmulatorServer, Fault
from martlake.sandbox.emulators.shopify import SANDBOX_SHOPIFY_TOKEN, ShopifyApp
from martlake.sandbox.emulators.tiktok_ads import SANDBOX_TIKTOK_TOKEN, TikTokAdsApp

__all__ = [
    "SANDBOX_FAIRING_TOKEN",
    "SANDBOX_GOOGLE_CLIENT_ID",
    "SANDBOX_GOOGLE_CLIENT_SECRET",
    "SANDBOX_GOOGLE_DEVELOPER_TOKEN",
    "SANDBOX_GOOGLE_REFRESH_TOKEN",
    "SANDBOX_META_TOKEN",
    "SANDBOX_SHOPIFY_TOKEN",
    "SANDBOX_TIKTOK_TOKEN",
    "EmulatorServer",
    "FairingApp",
    "Fault",
    "GoogleAdsApp",
    "MetaAdsApp",
    "ShopifyApp",
    "TikTokAdsApp",
]
