"""Every source martlake knows by name, connectable or not yet."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceInfo:
    """A source name users may meet in docs and reports."""

    name: str
    title: str
    available: bool
    """False for sources martlake knows about but cannot read yet."""


CATALOG: tuple[SourceInfo, ...] = (
    SourceInfo("shopify", "Shopify", True),
    SourceInfo("meta_ads", "Meta Ads", True),
    SourceInfo("google_ads", "Google Ads", True),
    SourceInfo("tiktok_ads", "TikTok Ads", True),
    SourceInfo("fairing", "Fairing (post-purchase surveys)", True),
    SourceInfo("amazon_ads", "Amazon Ads", False),
    SourceInfo("ga4", "Google Analytics 4", False),
    SourceInfo("motion", "Motion (creative analytics)", False),
    SourceInfo("google_trends", "Google Trends", False),
)
