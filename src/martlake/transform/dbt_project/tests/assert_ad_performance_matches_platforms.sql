-- Every cent of spend and conversion value, impression, click and conversion of the platform
-- marts reaches ad_performance_unified, per platform and day, in the account currency.
with platforms as (
    select
        date, 'meta' as platform, spend, impressions, clicks, purchases as conversions,
        purchase_value as conversion_value
    from {{ ref('facebook_unified') }}
    union all
    select date, 'google', spend, impressions, clicks, conversions, conversion_value
    from {{ ref('google_ads_unified') }}
    union all
    select date, 'tiktok', spend, impressions, clicks, conversions, conversion_value
    from {{ ref('tiktok_unified') }}
),

expected as (
    select
        date,
        platform,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(conversions) as conversions,
        sum(conversion_value) as conversion_value
    from platforms
    group by date, platform
),

actual as (
    select
        date,
        platform,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(conversions) as conversions,
        sum(conversion_value) as conversion_value
    from {{ ref('ad_performance_unified') }}
    group by date, platform
)

select
    coalesce(expected.date, actual.date) as date,
    coalesce(expected.platform, actual.platform) as platform,
    expected.spend as platform_spend,
    actual.spend as ad_performance_spend
from expected
full outer join actual
    on expected.date = actual.date
    and expected.platform = actual.platform
where coalesce(expected.spend, 0) <> coalesce(actual.spend, 0)
    or coalesce(expected.impressions, 0) <> coalesce(actual.impressions, 0)
    or coalesce(expected.clicks, 0) <> coalesce(actual.clicks, 0)
    or abs(coalesce(expected.conversions, 0) - coalesce(actual.conversions, 0)) > 1e-6
    or expected.conversion_value is distinct from actual.conversion_value
