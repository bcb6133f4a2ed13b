-- Every cent, impression and click of Google Ads reaches marketing_unified's google channel.
select
    marketing.spend as marketing_spend,
    platform.spend as platform_spend,
    marketing.impressions as marketing_impressions,
    platform.impressions as platform_impressions,
    marketing.clicks as marketing_clicks,
    platform.clicks as platform_clicks
from (
    select
        coalesce(sum(spend), 0) as spend,
        coalesce(sum(impressions), 0) as impressions,
        coalesce(sum(clicks), 0) as clicks
    from {{ ref('marketing_unified') }}
    where channel = 'google'
) as marketing
cross join (
    select
        coalesce(sum(spend), 0) as spend,
        coalesce(sum(impressions), 0) as impressions,
        coalesce(sum(clicks), 0) as clicks
    from {{ ref('google_ads_unified') }}
) as platform
where marketing.spend <> platform.spend
    or marketing.impressions <> platform.impressions
    or marketing.clicks <> platform.clicks
