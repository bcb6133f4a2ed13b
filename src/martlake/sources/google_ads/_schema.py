"""Raw tables written by the Google Ads source."""

import pyarrow as pa

from martlake.sources.base import EXTRACT_WINDOWS, MONEY

CAMPAIGN_STATS = pa.schema(
    [
        ("customer_id", pa.string()),
        ("customer_name", pa.string()),
        ("currency_code", pa.string()),
        ("time_zone", pa.string()),
        ("date", pa.date32()),
        ("campaign_id", pa.string()),
        ("campaign_name", pa.string()),
        ("campaign_status", pa.string()),
        ("channel_type", pa.string()),
        ("cost", MONEY),
        ("impressions", pa.int64()),
        ("clicks", pa.int64()),
        ("conversions", pa.float64()),
        ("conversions_value", pa.float64()),
    ]
)

SCHEMAS = {"campaign_stats": CAMPAIGN_STATS, "extract_windows": EXTRACT_WINDOWS}
