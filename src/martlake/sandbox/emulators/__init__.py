"""Local HTTP emulators of the vendor APIs martlake reads, served from one loopback server."""

from martlake.sandbox.emulators.meta_ads import SANDBOX_META_TOKEN, MetaAdsApp
from martlake.sandbox.emulators.server import EmulatorServer, Fault
from martlake.sandbox.emulators.shopify import SANDBOX_SHOPIFY_TOKEN, ShopifyApp

__all__ = [
    "SANDBOX_META_TOKEN",
    "SANDBOX_SHOPIFY_TOKEN",
    "EmulatorServer",
    "Fault",
    "MetaAdsApp",
    "ShopifyApp",
]
