-- Per (account, day), the rows of the latest extraction that covered the day (see the
-- `authoritative_rows` macro): restated numbers win, and campaigns or whole days the platform no
-- longer reports drop out; then one row per campaign and day. Raw cost is in micros, rounded
-- to the cent here, once per campaign-day; rows loaded before raw kept micros have `cost` only.
with source as (
    {{ source_or_empty('raw_google_ads', 'campaign_stats') }}
),

windows as (
    {{ source_or_empty('raw_google_ads', 'extract_windows') }}
),

kept as (
    {{ authoritative_rows('source', 'windows', 'customer_id', 'date', 'campaign_id') }}
)

select
    date,
    customer_id as account_id,
    customer_name as account_name,
    currency_code,
    time_zone as account_timezone,
    campaign_id,
    campaign_name,
    campaign_status,
    channel_type,
    coalesce(kept.cost_micros, cast(kept.cost * 1000000 as bigint), 0) as cost_micros,
    coalesce({{ micros_to_money('kept.cost_micros') }}, {{ money('kept.cost') }}, 0) as spend,
    coalesce(impressions, 0) as impressions,
    coalesce(clicks, 0) as clicks,
    coalesce(conversions, 0) as conversions,
    {{ money('coalesce(conversions_value, 0)') }} as conversion_value,
    _extract_run_id,
    _ingested_at
from kept
