-- Refund lines add up to each order's returns, and per refund date to the daily returns.
select 'order' as grain, cast(unified.order_id as varchar) as key
from {{ ref('shopify_unified') }} as unified
left join (
    select order_id, sum(subtotal) as returns
    from {{ ref('shopify_refund_lines') }}
    group by order_id
) as refunds
    on unified.order_id = refunds.order_id
where coalesce(refunds.returns, 0) <> unified.returns

union all

select 'day' as grain, cast(coalesce(daily.date, refunds.refund_date) as varchar) as key
from (
    select date, returns from {{ ref('shopify_daily_metrics') }} where returns <> 0
) as daily
full outer join (
    select refund_date, sum(subtotal) as returns
    from {{ ref('shopify_refund_lines') }}
    group by refund_date
) as refunds
    on daily.date = refunds.refund_date
where coalesce(daily.returns, 0) <> coalesce(refunds.returns, 0)
