-- One row per day and channel: the platform marts give the spend, shopify_unified the orders.
with ads as (
    select
        date,
        'meta' as channel,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        max(currency_code) as currency_code
    from {{ ref('facebook_unified') }}
    group by date

    union all

    select
        date,
        'google' as channel,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        max(currency_code) as currency_code
    from {{ ref('google_ads_unified') }}
    group by date

    union all

    select
        date,
        'tiktok' as channel,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        max(currency_code) as currency_code
    from {{ ref('tiktok_unified') }}
    group by date
),

orders as (
    select
        order_date as date,
        channel,
        count(*) as attributed_orders,
        sum(net_sales) as attributed_revenue,
        max(currency_code) as currency_code
    from {{ ref('shopify_unified') }}
    group by order_date, channel
),

joined as (
    select
        coalesce(ads.date, orders.date) as date,
        coalesce(ads.channel, orders.channel) as channel,
        {{ money('coalesce(ads.spend, 0)') }} as spend,
        cast(coalesce(ads.impressions, 0) as bigint) as impressions,
        cast(coalesce(ads.clicks, 0) as bigint) as clicks,
        coalesce(orders.attributed_orders, 0) as attributed_orders,
        {{ money('coalesce(orders.attributed_revenue, 0)') }} as attributed_revenue,
        coalesce(orders.currency_code, ads.currency_code) as currency_code
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
    currency_code
from joined
where spend <> 0 or impressions <> 0 or clicks <> 0 or attributed_orders <> 0
