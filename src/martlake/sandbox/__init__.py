"""A deterministic DTC business and local emulators of the APIs martlake reads.

`Business` simulates a Shopify store with Meta, Google Ads and TikTok ad accounts (and
customers answering a Fairing post-purchase survey) from a `SimulatorConfig`; `EmulatorServer`
serves it over loopback HTTP with the vendors' JSON shapes, paging and errors; `Business.truth`
holds the metrics the warehouse must reproduce.
"""

from martlake.sandbox.emulators import (
    SANDBOX_FAIRING_TOKEN,
    SANDBOX_GOOGLE_CLIENT_ID,
    SANDBOX_GOOGLE_CLIENT_SECRET,
    SANDBOX_GOOGLE_DEVELOPER_TOKEN,
    SANDBOX_GOOGLE_REFRESH_TOKEN,
    SANDBOX_META_TOKEN,
    SANDBOX_SHOPIFY_TOKEN,
    SANDBOX_TIKTOK_TOKEN,
    EmulatorServer,
)
from martlake.sandbox.simulator import Business, GroundTruth, SimulatorConfig

__all__ = [
    "SANDBOX_FAIRING_TOKEN",
    "SANDBOX_GOOGLE_CLIENT_ID",
    "SANDBOX_GOOGLE_CLIENT_SECRET",
    "SANDBOX_GOOGLE_DEVELOPER_TOKEN",
    "SANDBOX_GOOGLE_REFRESH_TOKEN",
    "SANDBOX_META_TOKEN",
    "SANDBOX_SHOPIFY_TOKEN",
    "SANDBOX_TIKTOK_TOKEN",
    "Business",
    "EmulatorServer",
    "GroundTruth",
    "SimulatorConfig",
]
