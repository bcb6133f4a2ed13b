-- Every order's lines add up to its gross sales, discounts, returns, net sales and units.
select unified.order_id
from {{ ref('shopify_unified') }} as unified
left join (
    select
        order_id,
        sum(gross_sales) as gross_sales,
        sum(discount) as discounts,
        sum(returns) as returns,
        sum(net_sales) as net_sales,
        sum(quantity) as units
    from {{ ref('shopify_order_lines') }}
    group by order_id
) as lines
    on unified.order_id = lines.order_id
where coalesce(lines.gross_sales, 0) <> unified.gross_sales
    or coalesce(lines.discounts, 0) <> unified.discounts
    or coalesce(lines.returns, 0) <> unified.returns
    or coalesce(lines.net_sales, 0) <> unified.net_sales
    or coalesce(lines.units, 0) <> unified.units
