-- Per (account, day), the rows of the latest extraction that covered the day (see the
-- `authoritative_rows` macro): restated numbers win, and ads or whole days the platform no
-- longer reports drop out; then one row per ad and day.
with source as (
    {{ source_or_empty('raw_tiktok_ads', 'ad_stats') }}
),

windows as (
    {{ source_or_empty('raw_tiktok_ads', 'extract_windows') }}
),

kept as (
    {{ authoritative_rows('source', 'windows', 'advertiser_id', 'stat_date', 'ad_id') }}
)

select
    stat_date as date,
    advertiser_id as account_id,
    advertiser_name as account_name,
    currency as currency_code,
    "timezone" as account_timezone,
    campaign_id,
    campaign_name,
    adgroup_id,
    adgroup_name,
    ad_id,
    ad_name,
    {{ money('coalesce(spend, 0)') }} as spend,
    coalesce(impressions, 0) as impressions,
    coalesce(clicks, 0) as clicks,
    coalesce(conversions, 0) as conversions,
    -- NULL when TikTok had no value ("-") or the report lacked the metric: unknown, not 0.
    conversion_value,
    _extract_run_id,
    _ingested_at
from kept
