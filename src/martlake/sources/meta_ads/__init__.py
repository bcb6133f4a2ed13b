"""Meta Marketing API: daily ad-level insights for each ad account."""

from martlake.sources.meta_ads.source import MetaAdsSource

__all__ = ["MetaAdsSource"]
