-- Per (account, day), the rows of the latest extraction that covered the day (see the
-- `authoritative_rows` macro), then one row per ad and day. Performance Max campaigns have no
-- ad group ads: their cost is in stg_google_ads__campaign_stats only.
with source as (
    {{ source_or_empty('raw_google_ads', 'ad_stats') }}
),

windows as (
    {{ source_or_empty('raw_google_ads', 'extract_windows') }}
),

kept as (
    {{ authoritative_rows('source', 'windows', 'customer_id', 'date', 'ad_id') }}
)

select
    date,
    customer_id as account_id,
    customer_name as account_name,
    currency_code,
    time_zone as account_timezone,
    campaign_id,
    campaign_name,
    ad_group_id,
    ad_group_name,
    ad_id,
    ad_name,
    ad_type,
    ad_status,
    coalesce(cost_micros, 0) as cost_micros,
    {{ micros_to_money('coalesce(cost_micros, 0)', 6) }} as spend,
    coalesce(impressions, 0) as impressions,
    coalesce(clicks, 0) as clicks,
    coalesce(conversions, 0) as conversions,
    {{ money('coalesce(conversions_value, 0)') }} as conversion_value,
    _extract_run_id,
    _ingested_at
from kept
