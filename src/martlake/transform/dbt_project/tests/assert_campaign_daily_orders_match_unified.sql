-- Each order attributed to a campaign counts once in campaign_daily, on its order date; no
-- day has more attributed orders than orders.
select 'attributed' as problem, unified.orders as expected, campaigns.orders as actual
from (
    select count(*) as orders
    from {{ ref('shopify_unified') }}
    where platform is not null and campaign_id is not null
) as unified
cross join (select coalesce(sum(attributed_orders), 0) as orders from {{ ref('campaign_daily') }})
    as campaigns
where unified.orders <> campaigns.orders

union all

select 'more than orders', daily.orders, campaigns.orders
from (
    select date, sum(attributed_orders) as orders
    from {{ ref('campaign_daily') }}
    group by date
) as campaigns
left join {{ ref('shopify_daily_metrics') }} as daily
    on campaigns.date = daily.date
where campaigns.orders > coalesce(daily.orders, 0)
