-- Every sale, discount and return of shopify_unified lands on some day.
select daily.gross_sales, daily.discounts, daily.returns, daily.net_sales
from (
    select
        coalesce(sum(gross_sales), 0) as gross_sales,
        coalesce(sum(discounts), 0) as discounts,
        coalesce(sum(returns), 0) as returns,
        coalesce(sum(net_sales), 0) as net_sales
    from {{ ref('shopify_daily_metrics') }}
) as daily
cross join (
    select
        coalesce(sum(gross_sales), 0) as gross_sales,
        coalesce(sum(discounts), 0) as discounts,
        coalesce(sum(returns), 0) as returns,
        coalesce(sum(net_sales), 0) as net_sales
    from {{ ref('shopify_unified') }}
) as unified
where daily.gross_sales <> unified.gross_sales
    or daily.discounts <> unified.discounts
    or daily.returns <> unified.returns
    or daily.net_sales <> unified.net_sales
