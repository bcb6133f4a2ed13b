-- One row per ad platform and campaign seen in the ad data, named as on its latest day.
with days as (
    select 'meta' as platform, campaign_id, campaign_name, account_id, currency_code, date
    from {{ ref('stg_meta_ads__insights') }}

    union all

    select 'google' as platform, campaign_id, campaign_name, account_id, currency_code, date
    from {{ ref('stg_google_ads__campaign_stats') }}

    union all

    select 'tiktok' as platform, campaign_id, campaign_name, account_id, currency_code, date
    from {{ ref('stg_tiktok_ads__ad_stats') }}
),

campaigns as (
    select
        platform,
        campaign_id,
        arg_max(campaign_name, date) filter (where campaign_name is not null) as campaign_name,
        arg_max(account_id, date) as account_id,
        arg_max(currency_code, date) as currency_code,
        min(date) as first_date,
        max(date) as last_date
    from days
    where campaign_id is not null
    group by platform, campaign_id
)

select
    platform,
    campaign_id,
    campaign_name,
    {{ campaign_name_key('campaign_name') }} as campaign_name_key,
    count(*) over (
        partition by platform, {{ campaign_name_key('campaign_name') }}
    ) = 1 as campaign_name_is_unique,
    account_id,
    currency_code,
    first_date,
    last_date
from campaigns
