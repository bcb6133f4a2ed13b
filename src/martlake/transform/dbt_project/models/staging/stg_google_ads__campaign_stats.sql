-- The latest extraction of a (customer, day) replaces the earlier ones as a whole, so restated
-- cost wins and campaigns that vanished from a restated day (Google omits all-zero rows) drop out;
-- then one row per campaign and day.
with source as (
    {{ source_or_empty('raw_google_ads', 'campaign_stats') }}
),

latest_extraction as (
    select customer_id, date, _extract_run_id
    from source
    qualify row_number() over (
        partition by customer_id, date order by _ingested_at desc, _extract_run_id desc
    ) = 1
),

kept as (
    select source.*
    from source
    inner join latest_extraction
        on source.customer_id = latest_extraction.customer_id
        and source.date = latest_extraction.date
        and source._extract_run_id = latest_extraction._extract_run_id
    qualify row_number() over (
        partition by source.customer_id, source.campaign_id, source.date
        order by source._ingested_at desc
    ) = 1
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
    {{ money('coalesce(cost, 0)') }} as spend,
    coalesce(impressions, 0) as impressions,
    coalesce(clicks, 0) as clicks,
    coalesce(conversions, 0) as conversions,
    {{ money('coalesce(conversions_value, 0)') }} as conversion_value,
    _extract_run_id,
    _ingested_at
from kept
