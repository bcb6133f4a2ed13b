-- The latest extraction of an (account, day) replaces the earlier ones as a whole, so restated
-- spend wins and ads that vanished from a restated day drop out; then one row per ad and day.
with source as (
    {{ source_or_empty('raw_meta_ads', 'insights') }}
),

latest_extraction as (
    select account_id, date_start, _extract_run_id
    from source
    qualify row_number() over (
        partition by account_id, date_start order by _ingested_at desc, _extract_run_id desc
    ) = 1
),

kept as (
    select source.*
    from source
    inner join latest_extraction
        on source.account_id = latest_extraction.account_id
        and source.date_start = latest_extraction.date_start
        and source._extract_run_id = latest_extraction._extract_run_id
    qualify row_number() over (
        partition by source.account_id, source.ad_id, source.date_start
        order by source._ingested_at desc
    ) = 1
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
    {{ money('coalesce(spend, 0)') }} as spend,
    coalesce(impressions, 0) as impressions,
    coalesce(clicks, 0) as clicks,
    coalesce(purchases, 0) as purchases,
    {{ money('coalesce(purchase_value, 0)') }} as purchase_value,
    actions_json,
    _extract_run_id,
    _ingested_at
from kept
