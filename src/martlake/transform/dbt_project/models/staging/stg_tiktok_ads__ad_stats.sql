-- The latest extraction of an (advertiser, day) replaces the earlier ones as a whole, so restated
-- spend wins and ads that vanished from a restated day drop out; then one row per ad and day.
with source as (
    {{ source_or_empty('raw_tiktok_ads', 'ad_stats') }}
),

latest_extraction as (
    select advertiser_id, stat_date, _extract_run_id
    from source
    qualify row_number() over (
        partition by advertiser_id, stat_date order by _ingested_at desc, _extract_run_id desc
    ) = 1
),

kept as (
    select source.*
    from source
    inner join latest_extraction
        on source.advertiser_id = latest_extraction.advertiser_id
        and source.stat_date = latest_extraction.stat_date
        and source._extract_run_id = latest_extraction._extract_run_id
    qualify row_number() over (
        partition by source.advertiser_id, source.ad_id, source.stat_date
        order by source._ingested_at desc
    ) = 1
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
    conversion_value,
    _extract_run_id,
    _ingested_at
from kept
