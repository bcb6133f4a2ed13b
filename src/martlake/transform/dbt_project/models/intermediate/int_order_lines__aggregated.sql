select
    order_id,
    {{ money('sum(gross_sales)') }} as gross_sales,
    {{ money('sum(coalesce(discount, 0))') }} as discounts,
    cast(sum(quantity) as bigint) as units,
    count(*) as line_count
from {{ ref('stg_shopify__order_lines') }}
group by order_id
