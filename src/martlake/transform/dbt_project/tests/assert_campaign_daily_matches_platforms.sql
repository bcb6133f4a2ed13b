-- Every cent, impression, click and conversion of the platform marts reaches campaign_daily,
-- per platform and day (spend before conversion, in the account currency).
with platforms as (
    select date, 'meta' as platform, spend, impressions, clicks, purchases as conversions
    from {{ ref('facebook_unified') }}
    union all
    select date, 'google', spend, impressions, clicks, conversions
    from {{ ref('google_ads_unified') }}
    union all
    select date, 'tiktok', spend, impressions, clicks, conversions
    from {{ ref('tiktok_unified') }}
),

expected as (
    select
        date,
        platform,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(conversions) as conversions
    from platforms
    group by date, platform
),

actual as (
    select
        date,
        platform,
        sum(spend_in_account_currency) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(conversions) as conversions
    from {{ ref('campaign_daily') }}
    group by date, platform
)

select coalesce(expected.date, actual.date) as date, coalesce(expected.platform, actual.platform)
from expected
full outer join actual
    on expected.date = actual.date
    and expected.platform = actual.platform
where coalesce(expected.spend, 0) <> coalesce(actual.spend, 0)
    or coalesce(expected.impressions, 0) <> coalesce(actual.impressions, 0)
    or coalesce(expected.clicks, 0) <> coalesce(actual.clicks, 0)
    or abs(coalesce(expected.conversions, 0) - coalesce(actual.conversions, 0)) > 1e-6
