-- Per (account, day), the rows of the latest extraction that covered the day (see the
-- `authoritative_rows` macro): restated numbers win, and ads or whole days the platform no
-- longer reports drop out; then one row per ad and day.
with source as (
    {{ source_or_empty('raw_meta_ads', 'insights') }}
),

windows as (
    {{ source_or_empty('raw_meta_ads', 'extract_windows') }}
),

kept as (
    {{ authoritative_rows('source', 'windows', 'account_id', 'date_start', 'ad_id') }}
)

select
    date_start as date,
    account_id,
    account_name,
    account_currency as currency_code,
    account_timezone,
    campaign_id,
    campaign_name,
    adset_id,
    adset_name,
    ad_id,
    ad_name,
    -- Meta shows `-` for metrics it does not report; raw keeps NULL, staging counts them as 0.
    {{ money('coalesce(spend, 0)') }} as spend,
    coalesce(impressions, 0) as impressions,
    coalesce(clicks, 0) as clicks,
    coalesce(purchases, 0) as purchases,
    {{ money('coalesce(purchase_value, 0)') }} as purchase_value,
    attribution_setting,
    actions_json,
    _extract_run_id,
    _ingested_at
from kept
