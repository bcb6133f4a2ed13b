"""Google Ads API (REST): daily campaign, ad group and ad stats for each customer."""

from martlake.sources.google_ads.source import GoogleAdsSource

__all__ = ["GoogleAdsSource"]
