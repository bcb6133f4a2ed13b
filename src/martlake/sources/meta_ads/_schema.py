"""Raw tables written by the Meta Ads source."""

import pyarrow as pa

from martlake.sources.base import EXTRACT_WINDOWS, MONEY

INSIGHTS = pa.schema(
    [
        ("account_id", pa.string()),
        ("account_name", pa.string()),
        ("account_currency", pa.string()),
        ("account_timezone", pa.string()),
        ("date_start", pa.date32()),
        ("date_stop", pa.date32()),
        ("campaign_id", pa.string()),
        ("campaign_name", pa.string()),
        ("adset_id", pa.string()),
        ("adset_name", pa.string()),
        ("ad_id", pa.string()),
        ("ad_name", pa.string()),
        ("spend", MONEY),
        ("impressions", pa.int64()),
        ("clicks", pa.int64()),
        ("purchases", pa.int64()),
        ("purchase_value", MONEY),
        ("actions_json", pa.string()),
        ("attribution_setting", pa.string()),
    ]
)

SCHEMAS = {"insights": INSIGHTS, "extract_windows": EXTRACT_WINDOWS}
