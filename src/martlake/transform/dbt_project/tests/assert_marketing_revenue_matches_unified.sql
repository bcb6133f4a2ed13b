-- Every order is attributed to exactly one channel; revenue compared in the reporting
-- currency, converted per day, channel and currency as marketing_unified does.
select marketing.revenue, unified.revenue
from (
    select coalesce(sum(attributed_revenue), 0) as revenue, coalesce(sum(attributed_orders), 0) as orders
    from {{ ref('marketing_unified') }}
) as marketing
cross join (
    select
        coalesce(sum({{ to_reporting('daily.revenue', 'fx.rate') }}), 0) as revenue,
        coalesce(sum(daily.orders), 0) as orders
    from (
        select order_date, channel, currency_code, sum(net_sales) as revenue, count(*) as orders
        from {{ ref('shopify_unified') }}
        group by order_date, channel, currency_code
    ) as daily
    left join ({{ fx_rates() }}) as fx on daily.currency_code = fx.currency_code
) as unified
where marketing.revenue <> unified.revenue or marketing.orders <> unified.orders
