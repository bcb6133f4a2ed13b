"""Google Ads API (REST): daily campaign stats for each customer."""

from martlake.sources.google_ads.source import GoogleAdsSource

__all__ = ["GoogleAdsSource"]
