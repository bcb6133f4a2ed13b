"""TikTok API for Business: daily ad-level reports for each advertiser."""

from martlake.sources.tiktok_ads.source import TikTokAdsSource

__all__ = ["TikTokAdsSource"]
