-- Every cent, impression and click of a platform mart reaches the model's rows for `channel`;
-- spend compared in the reporting currency, converted per day and currency as the model does.
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
        coalesce(sum({{ to_reporting('daily.spend', 'fx.rate') }}), 0) as spend,
        coalesce(sum(daily.impressions), 0) as impressions,
        coalesce(sum(daily.clicks), 0) as clicks
    from (
        select
            date,
            currency_code,
            sum(spend) as spend,
            sum(impressions) as impressions,
            sum(clicks) as clicks
        from {{ ref(platform_model) }}
        group by date, currency_code
    ) as daily
    left join ({{ fx_rates() }}) as fx on daily.currency_code = fx.currency_code
) as platform
where marketing.spend <> platform.spend
    or marketing.impressions <> platform.impressions
    or marketing.clicks <> platform.clicks
{% endtest %}
