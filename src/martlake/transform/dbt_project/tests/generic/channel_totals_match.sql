-- Every cent, impression and click of a platform mart reaches the model's rows for `channel`.
{% test channel_totals_match(model, channel, platform_model) %}
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
    from {{ model }}
    where channel = '{{ channel }}'
) as marketing
cross join (
    select
        coalesce(sum(spend), 0) as spend,
        coalesce(sum(impressions), 0) as impressions,
        coalesce(sum(clicks), 0) as clicks
    from {{ ref(platform_model) }}
) as platform
where marketing.spend <> platform.spend
    or marketing.impressions <> platform.impressions
    or marketing.clicks <> platform.clicks
{% endtest %}
