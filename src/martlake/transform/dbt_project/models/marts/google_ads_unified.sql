select
    date,
    account_id,
    account_name,
    campaign_id,
    campaign_name,
    campaign_status,
    channel_type,
    currency_code,
    spend,
    impressions,
    clicks,
    conversions,
    conversion_value,
    {{ safe_divide('clicks', 'impressions') }} as ctr,
    {{ safe_divide('spend', 'clicks') }} as cpc,
    {{ safe_divide('spend * 1000', 'impressions') }} as cpm,
    {{ safe_divide('conversion_value', 'spend') }} as platform_roas
from {{ ref('stg_google_ads__campaign_stats') }}
