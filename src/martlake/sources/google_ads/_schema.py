"""Raw tables written by the Google Ads source."""

import pyarrow as pa

from martlake.sources.base import EXTRACT_WINDOWS

_CUSTOMER = [
    ("customer_id", pa.string()),
    ("customer_name", pa.string()),
    ("currency_code", pa.string()),
    ("time_zone", pa.string()),
    ("date", pa.date32()),
]
_COUNTS = [
    ("impressions", pa.int64()),
    ("clicks", pa.int64()),
    ("conversions", pa.float64()),
    ("conversions_value", pa.float64()),
]

CAMPAIGN_STATS = pa.schema(
    [
        *_CUSTOMER,
        ("campaign_id", pa.string()),
        ("campaign_name", pa.string()),
        ("campaign_status", pa.string()),
        ("channel_type", pa.string()),
        ("cost_micros", pa.int64()),
        *_COUNTS,
    ]
)
# Cost stays in micros as Google sends it, at every level: Google splits a campaign's cost over
# its ads in micros, so cents per row would not add up. Staging rounds once, per campaign-day.
AD_GROUP_STATS = pa.schema(
    [
        *_CUSTOMER,
        ("campaign_id", pa.string()),
        ("campaign_name", pa.string()),
        ("ad_group_id", pa.string()),
        ("ad_group_name", pa.string()),
        ("ad_group_status", pa.string()),
        ("ad_group_type", pa.string()),
        ("cost_micros", pa.int64()),
        *_COUNTS,
    ]
)
AD_STATS = pa.schema(
    [
        *_CUSTOMER,
        ("campaign_id", pa.string()),
        ("campaign_name", pa.string()),
        ("ad_group_id", pa.string()),
        ("ad_group_name", pa.string()),
        ("ad_id", pa.string()),
        ("ad_name", pa.string()),
        ("ad_type", pa.string()),
        ("ad_status", pa.string()),
        ("cost_micros", pa.int64()),
        *_COUNTS,
    ]
)

SCHEMAS = {
    "campaign_stats": CAMPAIGN_STATS,
    "ad_group_stats": AD_GROUP_STATS,
    "ad_stats": AD_STATS,
    "extract_windows": EXTRACT_WINDOWS,
}
