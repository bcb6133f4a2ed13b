-- Every order is attributed to exactly one channel.
select marketing.revenue, unified.revenue
from (
    select coalesce(sum(attributed_revenue), 0) as revenue, coalesce(sum(attributed_orders), 0) as orders
    from {{ ref('marketing_unified') }}
) as marketing
cross join (
    select coalesce(sum(net_sales), 0) as revenue, count(*) as orders
    from {{ ref('shopify_unified') }}
) as unified
where marketing.revenue <> unified.revenue or marketing.orders <> unified.orders
