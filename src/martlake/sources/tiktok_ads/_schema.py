"""Raw tables written by the TikTok Ads source."""

import pyarrow as pa

from martlake.sources.base import EXTRACT_WINDOWS, MONEY

AD_STATS = pa.schema(
    [
        ("advertiser_id", pa.string()),
        ("advertiser_name", pa.string()),
        ("currency", pa.string()),
        ("timezone", pa.string()),
        ("stat_date", pa.date32()),
        ("campaign_id", pa.string()),
        ("campaign_name", pa.string()),
        ("adgroup_id", pa.string()),
        ("adgroup_name", pa.string()),
        ("ad_id", pa.string()),
        ("ad_name", pa.string()),
        ("spend", MONEY),
        ("impressions", pa.int64()),
        ("clicks", pa.int64()),
        ("conversions", pa.int64()),
        ("conversion_value", MONEY),
    ]
)

SCHEMAS = {"ad_stats": AD_STATS, "extract_windows": EXTRACT_WINDOWS}
