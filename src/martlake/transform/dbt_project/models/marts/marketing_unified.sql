-- One row per day and channel: the platform marts give the spend, shopify_unified the orders.
-- Every amount is in the reporting currency (`[reporting]`): amounts in another currency are
-- converted at its fixed rate per (day, channel, currency) and rounded to the cent; without a
-- rate they stay NULL and assert_fx_rate_for_every_currency stops the run.
with fx as (
    {{ fx_rates() }}
),

ads_by_currency as (
    select
        date,
        'meta' as channel,
        currency_code,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks
    from {{ ref('facebook_unified') }}
    group by date, currency_code

    union all

    select
        date,
        'google' as channel,
        currency_code,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks
    from {{ ref('google_ads_unified') }}
    group by date, currency_code

    union all

    select
        date,
        'tiktok' as channel,
        currency_code,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks
    from {{ ref('tiktok_unified') }}
    group by date, currency_code
),

ads_converted as (
    select
        a.date,
        a.channel,
        a.currency_code,
        a.spend as spend_original,
        {{ to_reporting('a.spend', 'fx.rate') }} as spend,
        a.impressions,
        a.clicks,
        a.currency_code is distinct from ({{ reporting_currency() }}) as converted
    from ads_by_currency as a
    left join fx on a.currency_code = fx.currency_code
),

ads as (
    select
        date,
        channel,
        case when count(*) = count(spend) then sum(spend) end as spend,
        case
            when count(distinct currency_code) filter (where converted) = 1
                then sum(spend_original) filter (where converted)
        end as spend_original,
        string_agg(distinct currency_code, ',' order by currency_code) filter (where converted)
            as original_currency_code,
        sum(impressions) as impressions,
        sum(clicks) as clicks
    from ads_converted
    group by date, channel
),

orders_by_currency as (
    select
        order_date as date,
        channel,
        currency_code,
        count(*) as attributed_orders,
        sum(net_sales) as attributed_revenue
    from {{ ref('shopify_unified') }}
    group by order_date, channel, currency_code
),

orders as (
    select
        o.date,
        o.channel,
        sum(o.attributed_orders) as attributed_orders,
        case
            when count(*) = count(fx.rate)
                then sum({{ to_reporting('o.attributed_revenue', 'fx.rate') }})
        end as attributed_revenue
    from orders_by_currency as o
    left join fx on o.currency_code = fx.currency_code
    group by o.date, o.channel
),

joined as (
    select
        coalesce(ads.date, orders.date) as date,
        coalesce(ads.channel, orders.channel) as channel,
        {{ money('case when ads.date is null then 0 else ads.spend end') }} as spend,
        {{ money('ads.spend_original') }} as spend_original,
        ads.original_currency_code,
        cast(coalesce(ads.impressions, 0) as bigint) as impressions,
        cast(coalesce(ads.clicks, 0) as bigint) as clicks,
        coalesce(orders.attributed_orders, 0) as attributed_orders,
        {{ money('case when orders.date is null then 0 else orders.attributed_revenue end') }}
            as attributed_revenue
    from ads
    full outer join orders
        on ads.date = orders.date
        and ads.channel = orders.channel
)

select
    date,
    channel,
    spend,
    impressions,
    clicks,
    attributed_orders,
    attributed_revenue,
    {{ safe_divide('attributed_revenue', 'spend') }} as roas,
    cast({{ reporting_currency() }} as varchar) as currency_code,
    spend_original,
    original_currency_code
from joined
where spend is null or spend <> 0 or impressions <> 0 or clicks <> 0 or attributed_orders <> 0
