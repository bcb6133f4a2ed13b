-- Every order is counted on exactly one day.
select daily.orders, unified.orders
from (select coalesce(sum(orders), 0) as orders from {{ ref('shopify_daily_metrics') }}) as daily
cross join (select count(*) as orders from {{ ref('shopify_unified') }}) as unified
where daily.orders <> unified.orders
